"""``SourceWatch``: which of the user's source files a load of their code imported, and
whether any changed since; the reload rule shared by ``trellis dev`` (the web UI's
workspace) and ``trellis daemon --reload``.

The files watched are those of the modules the load imported from the code's folder
(never the standard library, installed packages or Trellis itself); on a failed load,
the modules imported before the failure too, so fixing the file is noticed. Before a
reload the watched modules are dropped from ``sys.modules``, so the user's code is
imported afresh.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

TARGET_MODULE = "__trellis_target__"
"""The key under which the target file itself is watched (it may not be in sys.modules)."""


def excluded_roots() -> list[Path]:
    """Folders never watched: the interpreter's, the installed packages' and Trellis's."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(Path(__file__).resolve().parents[2])  # the trellis package itself
    return sorted(roots)


def user_module_files(root: Path) -> dict[str, str]:
    """``{module name: file}`` of the imported modules whose file lies under ``root``
    (and not under the interpreter's folders)."""
    excluded = excluded_roots()
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


def file_stamps(files: Iterable[str]) -> dict[str, float]:
    """The modification time of each file (-1 for one that is gone)."""
    stamps: dict[str, float] = {}
    for file in files:
        try:
            stamps[file] = Path(file).stat().st_mtime_ns / 1e9
        except OSError:
            stamps[file] = -1.0
    return stamps


class SourceWatch:
    """The user's modules under ``root`` that the last load imported, and their files'
    modification times then (see the module docstring). Not thread-safe: the caller
    holds its own lock around a load."""

    def __init__(self, root: Path, target_file: Path | None = None) -> None:
        self.root = root
        self.target_file = str(target_file.resolve()) if target_file is not None else None
        self.modules: dict[str, str] = {}
        self.stamps: dict[str, float] = {}

    def before_load(self) -> None:
        """Drop the watched modules from ``sys.modules``: the load imports them afresh."""
        for name in self.modules:
            sys.modules.pop(name, None)

    def after_load(self) -> dict[str, float]:
        """Record what the load imported (a failed load: what it imported before failing,
        and the target file); the watched files' modification times."""
        modules = user_module_files(self.root)
        if self.target_file is not None:
            modules.setdefault(TARGET_MODULE, self.target_file)
        self.modules = modules
        self.stamps = file_stamps(modules.values())
        return self.stamps

    def changed_files(self) -> list[str]:
        """The watched files whose modification time differs from the last load's."""
        new = file_stamps(self.stamps)
        return sorted(f for f, stamp in self.stamps.items() if new[f] != stamp)
