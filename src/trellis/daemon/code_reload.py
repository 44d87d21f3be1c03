"""``CodeReloader``: ``trellis daemon --reload``. A thread looks at the code location's
source files every ``interval`` seconds (``SourceWatch``: the user's modules the load
imported, the same rule as ``trellis dev``) and, when one changed, asks the daemon to
reload; the daemon reloads between two rounds of its loops (``reload_if_changed``), so
no tick sees half-old, half-new definitions.

A reload imports the code afresh and swaps ``CodeLocation.definitions``; the run
launcher is told (``RunLauncher.code_changed``: the forked launcher starts its zygote
again from the new code). A load that fails keeps the last good definitions and logs
the error; the next change is tried again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trellis.daemon.code_location import CodeLocation
from trellis.daemon.user_code import error_text
from trellis.execution.remote.code_pointer import CodePointer
from trellis.execution.remote.source_watch import SourceWatch

log = logging.getLogger("trellis.daemon.reload")

DEFAULT_RELOAD_INTERVAL = 0.5


def code_root(pointer: CodePointer) -> Path:
    """The folder whose modules count as the user's code: the file's folder, the
    working directory, or the folder the module's top-level package is in."""
    if pointer.file is not None:
        return Path(pointer.file).resolve().parent
    if pointer.working_directory:
        return Path(pointer.working_directory).resolve()
    import importlib

    assert pointer.module is not None
    top = importlib.import_module(pointer.module.split(".")[0])
    file = Path(getattr(top, "__file__", None) or ".").resolve()
    return file.parent.parent if file.name == "__init__.py" else file.parent


class CodeReloader:
    """Reloads ``location`` when its files change (see the module docstring);
    ``on_change`` is called (from the watching thread) when a change is seen; ``report``
    gets a line for each reload and the error of each failed one (default: the log)."""

    def __init__(
        self,
        location: CodeLocation,
        on_change: Callable[[], None],
        interval: float = DEFAULT_RELOAD_INTERVAL,
        report: Callable[[str], None] | None = None,
    ) -> None:
        if location.pointer is None:
            raise ValueError("--reload needs code loaded from a file or a module.")
        self.location = location
        self.pointer: CodePointer = location.pointer
        target = Path(self.pointer.file) if self.pointer.file is not None else None
        self.watch = SourceWatch(code_root(self.pointer), target)
        self.watch.after_load()  # what the daemon's first load imported
        self.on_change = on_change
        self.interval = interval
        self.report = report or log.warning
        self.reloads = 0
        self.last_error: str | None = None
        self._pending = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        """Whether a change was seen and not reloaded yet."""
        return self._pending.is_set()

    def start(self) -> None:
        """Look at the files on a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                if not self._pending.is_set() and self.watch.changed_files():
                    self._pending.set()
                    self.on_change()

        self._thread = threading.Thread(target=loop, name="trellis-daemon-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop looking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def reload_if_changed(self, launcher: Any = None, instance: Any = None) -> bool:
        """Reload if a change was seen; whether new definitions are in place. Called by
        the daemon between rounds."""
        if not self._pending.is_set():
            return False
        self._pending.clear()
        changed = self.watch.changed_files()
        self.watch.before_load()
        try:
            definitions = CodeLocation.load(self.pointer).definitions
        except Exception as exc:
            self.watch.after_load()  # watch the failed import's files: a fix is seen
            self.last_error = error_text(exc)
            self.report(
                f"Reloading {self.pointer.describe()} failed; the daemon keeps the "
                f"definitions it had:\n{self.last_error}"
            )
            return False
        self.watch.after_load()
        self.location.definitions = definitions
        self.reloads += 1
        self.last_error = None
        self.report(f"Reloaded {self.pointer.describe()} (changed: {', '.join(changed)}).")
        if launcher is not None and instance is not None:
            launcher.code_changed(instance)
        return True
