"""``CodeLocation``: the definitions the daemon runs, and how the runs it creates find
them again (the ``trellis/code_location`` tag, read by the run's own process)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trellis.execution.remote.code_pointer import CodePointer


def pointer_tag(pointer: CodePointer) -> str:
    """The ``trellis/code_location`` tag of runs created from ``pointer`` (the JSON the
    CLI writes for its own runs)."""
    data: dict[str, Any] = {}
    if pointer.file is not None:
        data["file"] = pointer.file
    if pointer.module is not None:
        data["module"] = pointer.module
    if pointer.working_directory:
        data["working_directory"] = pointer.working_directory
    if pointer.attribute:
        data["attribute"] = pointer.attribute
    if pointer.defs_folder:
        data["defs_folder"] = True
    return json.dumps(data, sort_keys=True)


def pointer_from_tag(text: str) -> CodePointer:
    """The ``CodePointer`` a run's ``trellis/code_location`` tag names."""
    data = json.loads(text)
    if not isinstance(data, dict) or not (data.get("file") or data.get("module")):
        raise ValueError(f"a code location needs 'file' or 'module', got {text!r}")
    return CodePointer(
        file=data.get("file"),
        module=data.get("module"),
        attribute=data.get("attribute"),
        working_directory=data.get("working_directory"),
        defs_folder=bool(data.get("defs_folder")),
    )


@dataclass
class CodeLocation:
    """Loaded definitions and the pointer they came from (None for definitions handed
    over in this process, whose runs only an in-process launcher can run)."""

    definitions: Any
    pointer: CodePointer | None = None

    @classmethod
    def load(cls, pointer: CodePointer) -> CodeLocation:
        """Import the code ``pointer`` names and find its ``Definitions``."""
        definitions = pointer.load_definitions()
        if definitions is None:
            raise ValueError(
                f"{pointer.describe()} names a job, not Definitions: the daemon needs the "
                "Definitions that hold the schedules and sensors."
            )
        return cls(definitions, pointer)

    @property
    def tag(self) -> str | None:
        """The ``trellis/code_location`` tag of the runs this location creates."""
        return pointer_tag(self.pointer) if self.pointer is not None else None

    @property
    def schedules(self) -> list[Any]:
        """The schedules of the location."""
        return list(getattr(self.definitions, "schedules", None) or [])

    @property
    def sensors(self) -> list[Any]:
        """The sensors of the location, the automation sensors (the default one
        included) among them."""
        from trellis.automation.loop import AutomationLoop

        sensors = list(getattr(self.definitions, "sensors", None) or [])
        names = {s.name for s in sensors}
        extra = [s for s in AutomationLoop.sensors(self.definitions) if s.name not in names]
        return sensors + extra
