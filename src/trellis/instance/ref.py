"""``InstanceRef``: a small picklable recipe to rebuild an instance in another process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InstanceRef:
    """The home directory and the instance config (as written, so ``{env: VAR}`` values
    are read again by the process that rebuilds it); ``Instance.from_ref`` rebuilds the
    instance. ``config_file`` names the yaml file the config came from, for errors."""

    home: str
    config: dict[str, Any] = field(default_factory=dict)
    config_file: str | None = None

    def __hash__(self) -> int:
        return hash((self.home, self.config_file))
