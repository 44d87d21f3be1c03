"""``CodeTarget``: where the ``trellis`` command loads definitions from, and how a run
records it (the ``trellis/code_location`` tag) so that ``trellis run reexecute RUN_ID``
finds the code again without ``-f``/``-m``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trellis.cli.errors import CliError
from trellis.core.run import CODE_LOCATION_TAG


@dataclass(frozen=True)
class CodeTarget:
    """A Python file or an importable module, an optional attribute, and where it came
    from. ``defs_folder`` marks a module that is a Dagster ``defs/`` package (loaded as
    ``load_defs`` does, from ``[tool.dg.project] autoload_defs``); ``working_directory``
    is the folder a module is imported from; ``source`` names the pyproject table the
    target was read from (empty for ``-f``/``-m``)."""

    file: Path | None = None
    module: str | None = None
    attribute: str | None = None
    defs_folder: bool = False
    working_directory: str | None = None
    source: str = ""

    @property
    def description(self) -> str:
        """How messages name the target: the file path or ``module <name>``."""
        what = "defs folder" if self.defs_folder else "module"
        where = str(self.file) if self.file is not None else f"{what} '{self.module}'"
        return f"{where} (from {self.source})" if self.source else where

    def to_tag(self) -> str:
        """The target as the JSON text of the ``trellis/code_location`` run tag."""
        data: dict[str, Any] = {}
        if self.file is not None:
            data["file"] = str(self.file.resolve())
        else:
            data["module"] = self.module
            data["working_directory"] = self.working_directory or str(Path.cwd())
        if self.attribute:
            data["attribute"] = self.attribute
        if self.defs_folder:
            data["defs_folder"] = True
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_tag(cls, text: str, run_id: str) -> CodeTarget:
        """The target a run recorded in its ``trellis/code_location`` tag."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not (data.get("file") or data.get("module")):
                raise ValueError("needs 'file' or 'module'")
        except ValueError as exc:
            raise CliError(
                f"Run {run_id} has an unreadable {CODE_LOCATION_TAG} tag ({exc}); pass -f/-m."
            ) from None
        return cls(
            file=Path(data["file"]) if data.get("file") else None,
            module=data.get("module"),
            attribute=data.get("attribute"),
            defs_folder=bool(data.get("defs_folder")),
            working_directory=data.get("working_directory"),
            source=f"run {run_id[:8]}",
        )
