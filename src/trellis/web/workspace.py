"""The workspace of ``trellis dev``: the code target, the definitions loaded from it, and
their reloading when the user's source files change.

The definitions are loaded in the server's process (the pages need the asset graph, the
jobs and their config schemas); runs never execute here. The files watched are those of
the modules the load imported from the target's folder (never the standard library or
installed packages; ``execution/remote/source_watch.py``, which ``trellis daemon
--reload`` uses too); a change purges those modules and loads again. A load that fails
keeps the previous definitions and records the error, which the UI shows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.cli.errors import CliError
from trellis.cli.loader import load_definitions, module_search_path
from trellis.execution.remote.source_watch import SourceWatch


@dataclass
class LoadState:
    """One load of the definitions: the result (or the error), when, and a generation
    number that grows with every load."""

    generation: int
    definitions: Any
    error: str | None
    loaded_at: float
    files: dict[str, float] = field(default_factory=dict)


def _root_of(target: CodeTarget) -> Path:
    if target.file is not None:
        return target.file.resolve().parent
    assert target.module is not None
    return Path(module_search_path(target.module, target.working_directory)).resolve()


class Workspace:
    """The loaded definitions of one code target, reloaded when their files change."""

    def __init__(self, target: CodeTarget) -> None:
        self.target = target
        self.root = _root_of(target)
        self._lock = threading.Lock()
        self._watch = SourceWatch(self.root, target.file)
        self._listeners: list[Any] = []
        self.state = LoadState(0, None, None, 0.0)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def definitions(self) -> Any:
        """The definitions of the last successful load (None if none succeeded)."""
        return self.state.definitions

    def load(self) -> LoadState:
        """Load (or reload) the definitions; returns the new state. A failure keeps the
        previous definitions and records the error message."""
        with self._lock:
            self._watch.before_load()  # a reload imports the user's modules afresh
            try:
                defs = load_definitions(self.target)
                error = None
            except CliError as exc:
                defs, error = self.state.definitions, str(exc)
            except Exception as exc:  # the user's code raised outside the import
                defs, error = self.state.definitions, f"{type(exc).__name__}: {exc}"
            stamps = self._watch.after_load()  # the failed import's files too
            self.state = LoadState(self.state.generation + 1, defs, error, time.time(), stamps)
            state = self.state
        for listener in list(self._listeners):
            listener(state)
        return state

    def on_reload(self, listener: Any) -> None:
        """Call ``listener(state)`` after every load."""
        self._listeners.append(listener)

    def changed_files(self) -> list[str]:
        """The watched files whose modification time differs from the last load's."""
        return self._watch.changed_files()

    def start_watching(self, interval: float = 0.5) -> None:
        """Poll the watched files every ``interval`` seconds in a daemon thread; reload
        when one changed."""

        def loop() -> None:
            while not self._stop.wait(interval):
                if self.changed_files():
                    self.load()

        self._watcher = threading.Thread(target=loop, name="trellis-dev-reload", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
