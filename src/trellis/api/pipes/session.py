"""``open_pipes_session`` and ``PipesSession``: one external process's connection to the
step that launches it, for code that starts the process itself (``PipesSubprocessClient``
is built on them).

    @asset
    def report(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=PipesTempFileMessageReader(),
            extras={"day": "2024-01-01"},
        ) as session:
            subprocess.run(["python", "report.py"], env={**os.environ,
                           **session.get_bootstrap_env_vars()}, check=True)
        yield from session.get_results()

The session's messages are handled on the step's thread when ``get_results`` (or
``process_messages``) is called and when the session closes; log lines reach the run
then, not while the process runs (``PipesSubprocessClient`` handles them as they come).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict

from trellis.api.pipes.context_data import build_context_data
from trellis.api.pipes.errors import PipesExecutionError
from trellis.api.pipes.message_handler import PipesMessageHandler
from trellis.api.pipes.readers import PipesContextInjector, PipesMessageReader
from trellis.core.asset_checks import AssetCheckResult
from trellis.core.metadata import MetadataValue, normalize_metadata
from trellis.core.outputs import MaterializeResult
from trellis_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    PipesContextData,
    PipesParams,
    encode_param,
)

PipesExecutionResult = MaterializeResult | AssetCheckResult
"""What a Pipes session's results are: materializations and asset check results."""


class PipesLaunchedData(TypedDict):
    """What the launcher of an external process learned once it started it
    (``PipesSession.report_launched``)."""

    extras: Mapping[str, Any]


class PipesSession:
    """An open Pipes connection: the context handed to the external process, the
    parameters that tell it where that context is and where to write
    (``get_bootstrap_env_vars``), and what it has reported so far (``get_results``,
    ``get_custom_messages``)."""

    def __init__(
        self,
        context_data: PipesContextData,
        message_handler: PipesMessageHandler,
        context_injector_params: PipesParams,
        message_reader_params: PipesParams,
        context: Any,
    ) -> None:
        self.context_data = context_data
        self.message_handler = message_handler
        self.context_injector_params = context_injector_params
        self.message_reader_params = message_reader_params
        self.context = context
        self.created_at = time.time()

    def get_bootstrap_params(self) -> dict[str, Any]:
        """The two parameters by variable name, not yet encoded."""
        return {
            DAGSTER_PIPES_CONTEXT_ENV_VAR: self.context_injector_params,
            DAGSTER_PIPES_MESSAGES_ENV_VAR: self.message_reader_params,
        }

    def get_bootstrap_env_vars(self) -> dict[str, str]:
        """The environment variables to start the external process with:
        ``DAGSTER_PIPES_CONTEXT`` and ``DAGSTER_PIPES_MESSAGES``, each JSON compressed with
        zlib and encoded in base64."""
        return {name: encode_param(value) for name, value in self.get_bootstrap_params().items()}

    def get_bootstrap_cli_arguments(self) -> dict[str, str]:
        """The same as command-line arguments: ``--dagster-pipes-context`` and
        ``--dagster-pipes-messages`` to their encoded values (read by
        ``PipesCliArgsParamsLoader`` in the process)."""
        return {
            "--" + name.lower().replace("_", "-"): value
            for name, value in self.get_bootstrap_env_vars().items()
        }

    def process_messages(self) -> None:
        """Handle the messages received so far (their log lines reach the run now)."""
        self.message_handler.process_pending()

    def get_results(
        self,
        *,
        implicit_materializations: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> Sequence[PipesExecutionResult]:
        """What the process reported, as results for the step to return or yield: one
        ``MaterializeResult`` per reported materialization, plus (with
        ``implicit_materializations``) a bare one for each asset of the step it did not
        report, then one ``AssetCheckResult`` per reported check. ``metadata`` is added
        to each materialization."""
        self.process_messages()
        raise_problems(self.message_handler)
        extra = normalize_metadata(metadata)
        results: list[PipesExecutionResult] = [
            _with_metadata(r, extra) for r in self.message_handler.results
        ]
        if implicit_materializations:
            reported = {r.asset_key for r in self.message_handler.results}
            for key in sorted(self.context.selected_asset_keys):
                if key not in reported:
                    results.append(MaterializeResult(asset_key=key, metadata=extra))
        results.extend(self.message_handler.check_results)
        return tuple(results)

    def get_reported_results(self) -> Sequence[PipesExecutionResult]:
        """Only what the process reported itself (materializations, then checks)."""
        self.process_messages()
        return [*self.message_handler.results, *self.message_handler.check_results]

    def get_custom_messages(self) -> Sequence[Any]:
        """The payloads the process sent with ``report_custom_message``, in order."""
        self.process_messages()
        return list(self.message_handler.custom_messages)

    def report_launched(self, launched_payload: PipesLaunchedData) -> None:
        """Tell the message reader what the launcher learned once the process started."""
        self.message_handler.message_reader.on_launched(launched_payload)

    def __repr__(self) -> str:
        return f"<PipesSession {self.context.get_step_execution_context().step.key}>"


def _with_metadata(
    result: MaterializeResult, metadata: dict[str, MetadataValue]
) -> MaterializeResult:
    if not metadata:
        return result
    return MaterializeResult(
        asset_key=result.asset_key,
        metadata={**result.metadata, **metadata},
        check_results=result.check_results,
        data_version=result.data_version,
        tags=result.tags,
        value=result.value,
    )


def raise_problems(handler: PipesMessageHandler) -> None:
    """Fail the step when the process reported what the step cannot accept."""
    if handler.problems:
        raise PipesExecutionError(
            " ".join(handler.problems), {"problems": MetadataValue.json(list(handler.problems))}
        )


@contextmanager
def open_pipes_session(
    context: Any,
    context_injector: PipesContextInjector,
    message_reader: PipesMessageReader,
    extras: Mapping[str, Any] | None = None,
) -> Iterator[PipesSession]:
    """Open a Pipes session for the step ``context`` runs: inject the context (with
    ``extras``), start receiving messages, yield the ``PipesSession``; when the block
    ends, receive and handle every message left, then clean up. Start the external
    process inside the block with ``session.get_bootstrap_env_vars()`` in its
    environment, and return or yield ``session.get_results()`` from the asset.

    Logs a warning when the process never opened its connection (it did not call
    ``open_dagster_pipes``) or never closed it; raises ``PipesExecutionError`` when it
    reported an asset the step does not make."""
    context_data = build_context_data(context, extras)
    handler = PipesMessageHandler(context, message_reader)
    try:
        with (
            context_injector.inject_context(context_data) as injector_params,
            handler.handle_messages() as reader_params,
        ):
            yield PipesSession(context_data, handler, injector_params, reader_params, context)
    except BaseException:
        _finish(context, handler, context_injector, message_reader)
        raise
    _finish(context, handler, context_injector, message_reader)
    raise_problems(handler)


def _finish(
    context: Any,
    handler: PipesMessageHandler,
    injector: PipesContextInjector,
    reader: PipesMessageReader,
) -> None:
    handler.process_pending()
    if not handler.received_opened_message:
        context.log.warning(
            "[pipes] the external process sent no message: it did not call "
            "open_dagster_pipes(), or could not write where it was told. "
            f"{type(injector).__name__}: {injector.no_messages_debug_text()} "
            f"{type(reader).__name__}: {reader.no_messages_debug_text()}"
        )
    elif not handler.received_closed_message:
        context.log.warning(
            "[pipes] the external process did not close its Pipes connection: use "
            "open_dagster_pipes() in a with block (or call close()) so that it does; "
            "messages it buffered may be lost."
        )
