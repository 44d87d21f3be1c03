"""``InstigatorDefinition``: what schedules and sensors share (name, target, default
status, description, required resources, tags, metadata)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.run_request import check_tags


def check_selection_strings(owner: str, selection: Any) -> None:
    """Parse the selection strings in a ``target`` / ``asset_selection`` (one string, or
    strings in a list) now, so that a malformed one is an error where it is written, with
    its position; what they select is resolved when the selection runs."""
    strings = [selection] if isinstance(selection, str) else []
    if isinstance(selection, (list, tuple)):
        strings = [item for item in selection if isinstance(item, str)]
    if not strings:
        return
    from trellis.defs.selection_syntax import selection_from_string

    for text in strings:
        try:
            selection_from_string(text)
        except InvalidDefinitionError as exc:
            raise InvalidDefinitionError(f"{owner}: {exc}") from None


class InstigatorDefinition:
    """The base of ``ScheduleDefinition`` and ``SensorDefinition``: something that starts
    runs, and the attributes both kinds have."""

    _name: str
    _target: Any

    def _init_common(
        self,
        owner: str,
        default_status: Enum,
        status_type: type[Enum],
        description: str | None,
        required_resource_keys: Iterable[str] | None,
        tags: Mapping[str, str] | None,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        if not isinstance(default_status, status_type):
            raise InvalidDefinitionError(
                f"{owner}: default_status must be a {status_type.__name__}, got {default_status!r}."
            )
        self._default_status = default_status
        self._description = description
        self._required_resource_keys = frozenset(required_resource_keys or ())
        self._tags = check_tags(owner, tags, InvalidDefinitionError)
        self._metadata = dict(metadata or {})

    @property
    def name(self) -> str:
        """The unique name of the schedule or sensor."""
        return self._name

    @property
    def target(self) -> Any:
        """The ``target`` as given (a job or an asset selection), or None."""
        return self._target

    @property
    def description(self) -> str | None:
        """A human description."""
        return self._description

    @property
    def default_status(self) -> Enum:
        """Whether it starts running as soon as it is loaded."""
        return self._default_status

    @property
    def required_resource_keys(self) -> frozenset[str]:
        """The resources it reads from ``context.resources``."""
        return self._required_resource_keys

    @property
    def tags(self) -> dict[str, str]:
        """Its tags (a schedule attaches them to the runs of its run_config form)."""
        return dict(self._tags)

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form metadata about it."""
        return dict(self._metadata)
