"""The workspace of ``trellis dev``: the code target, the definitions loaded from it, and
their reloading when the user's source files change.

The definitions are loaded in the server's process (the pages need the asset graph, the
jobs and their config schemas); runs never execute here. The files watched are those of
the modules the load imported from the target's folder (never the standard library or
installed packages); a change purges those modules and loads again. A load that fails
keeps the previous definitions and records the error, which the UI shows.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.cli.errors import CliError
from trellis.cli.loader import load_definitions, module_search_path


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


def _excluded_roots() -> list[Path]:
    """Folders never watched: the interpreter's and the installed packages'."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(Path(__file__).resolve().parents[1])  # the trellis package itself
    return sorted(roots)


def user_module_files(root: Path) -> dict[str, str]:
    """``{module name: file}`` of the imported modules whose file lies under ``root``
    (and not under the interpreter's folders)."""
    excluded = _excluded_roots()
    found: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(root) or any(path.is_relative_to(e) for e in excluded):
            continue
        found[name] = str(path)
    return found


def _mtimes(files: Any) -> dict[str, float]:
    stamps: dict[str, float] = {}
    for file in files:
        try:
            stamps[file] = Path(file).stat().st_mtime_ns / 1e9
        except OSError:
            stamps[file] = -1.0
    return stamps


class Workspace:
    """The loaded definitions of one code target, reloaded when their files change."""

    def __init__(self, target: CodeTarget) -> None:
        self.target = target
        self.root = _root_of(target)
        self._lock = threading.Lock()
        self._modules: dict[str, str] = {}
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
            for name in self._modules:  # a reload imports the user's modules afresh
                sys.modules.pop(name, None)
            before = set(sys.modules)
            try:
                defs = load_definitions(self.target)
                error = None
            except CliError as exc:
                defs, error = self.state.definitions, str(exc)
            except Exception as exc:  # the user's code raised outside the import
                defs, error = self.state.definitions, f"{type(exc).__name__}: {exc}"
            modules = user_module_files(self.root)
            if error is not None:  # watch the files of the failed import too
                modules.update(
                    {n: m for n, m in user_module_files(self.root).items() if n not in before}
                )
            if self.target.file is not None:
                modules.setdefault("__trellis_target__", str(self.target.file.resolve()))
            self._modules = modules
            self.state = LoadState(
                self.state.generation + 1,
                defs,
                error,
                time.time(),
                _mtimes(modules.values()),
            )
            state = self.state
        for listener in list(self._listeners):
            listener(state)
        return state

    def on_reload(self, listener: Any) -> None:
        """Call ``listener(state)`` after every load."""
        self._listeners.append(listener)

    def changed_files(self) -> list[str]:
        """The watched files whose modification time differs from the last load's."""
        old = self.state.files
        new = _mtimes(old)
        return sorted(f for f in old if new[f] != old[f])

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
