"""``PipesClient`` (what a Pipes client offers) and ``PipesClientCompletedInvocation``
(what a finished ``run`` returns: the session's results)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from trellis.api.pipes.errors import PipesExecutionError
from trellis.api.pipes.session import PipesSession
from trellis.core.asset_checks import AssetCheckResult
from trellis.core.metadata import MetadataValue, normalize_metadata
from trellis.core.outputs import MaterializeResult
from trellis.defs.signature import TreatAsResourceParam


class PipesClient(ABC, TreatAsResourceParam):
    """A way to run code outside Trellis with Pipes. Give an instance as a resource
    (``Definitions(resources={"pipes_client": MyClient()})``) and take it as a parameter
    annotated with its class; ``run(context=..., extras=..., ...)`` runs the external
    code and returns a ``PipesClientCompletedInvocation``."""

    @abstractmethod
    def run(
        self, *, context: Any, extras: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> PipesClientCompletedInvocation:
        """Run the external code for the step ``context`` runs and wait for it."""


class PipesClientCompletedInvocation:
    """The end of a Pipes client's ``run``: what the external process reported.

    Return ``get_materialize_result()`` from an asset with one key, or
    ``yield from get_results()`` from a multi-asset. ``metadata`` (given by the client)
    is added to every result."""

    def __init__(self, session: PipesSession, metadata: Mapping[str, Any] | None = None) -> None:
        self._session = session
        self._metadata = normalize_metadata(metadata)

    @property
    def metadata(self) -> Mapping[str, MetadataValue]:
        """Metadata the client attached to every result."""
        return self._metadata

    @property
    def session(self) -> PipesSession:
        """The session the process ran in."""
        return self._session

    def get_results(self, *, implicit_materializations: bool = True) -> Sequence[Any]:
        """One ``MaterializeResult`` per asset the process reported materialized, plus (with
        ``implicit_materializations``) one for each asset of the step it did not report."""
        return self._session.get_results(
            implicit_materializations=implicit_materializations, metadata=self._metadata
        )

    def get_materialize_result(self, *, implicit_materialization: bool = True) -> MaterializeResult:
        """The one materialization of a single-asset step, carrying the asset check results
        the process reported (an error when it reported no materialization, with
        ``implicit_materialization=False``, or several)."""
        results = [
            r
            for r in self.get_results(implicit_materializations=implicit_materialization)
            if isinstance(r, MaterializeResult)
        ]
        if not results:
            raise PipesExecutionError(
                "The external process reported no materialization (and implicit "
                "materializations are off)."
            )
        if len(results) > 1:
            keys = sorted(r.asset_key.to_user_string() for r in results if r.asset_key)
            raise PipesExecutionError(
                f"The external process materialized several assets {keys}: return "
                "get_results() (or yield from it) instead of get_materialize_result()."
            )
        result = results[0]
        checks = [r for r in self._session.message_handler.check_results]
        if not checks:
            return result
        return MaterializeResult(  # the reported checks ride with the materialization
            asset_key=result.asset_key,
            metadata=result.metadata,
            check_results=[*result.check_results, *checks],
            data_version=result.data_version,
            tags=result.tags,
            value=result.value,
        )

    def get_asset_check_result(self) -> AssetCheckResult:
        """The one asset check result the process reported (``report_asset_check``): return
        it from an ``@asset_check``. An error when it reported none or several."""
        results = [
            r for r in self._session.get_reported_results() if isinstance(r, AssetCheckResult)
        ]
        if len(results) != 1:
            named = ", ".join(str(r.check_name) for r in results)
            raise PipesExecutionError(
                "The external process reported no asset check result."
                if not results
                else f"The external process reported several asset check results ({named}): "
                "return get_results() instead of get_asset_check_result()."
            )
        return results[0]

    def get_custom_messages(self) -> Sequence[Any]:
        """The payloads the process sent with ``report_custom_message``, in order."""
        return self._session.get_custom_messages()

    def __repr__(self) -> str:
        return f"<PipesClientCompletedInvocation {self._session!r}>"
