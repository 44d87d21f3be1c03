"""Live progress of a run on a terminal: steps done / total, the step(s) running, and the
time elapsed. Off a terminal it shows nothing (the run's log lines say it all)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from trellis.core.events import STEP_END_EVENTS, Event, EventType


class RunProgress:
    """A context manager whose ``on_event`` is given to the run: it counts finished steps
    and shows the running ones. ``total`` is the number of steps, or None when unknown."""

    def __init__(
        self, console: Console, total: int | None, title: str, enabled: bool | None = None
    ) -> None:
        self.console = console
        self.total = total
        self.title = title
        self.enabled = console.is_terminal if enabled is None else enabled
        self.done = 0
        self.running: list[str] = []
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}"),
                console=self.console,
                redirect_stderr=True,
                redirect_stdout=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.total, current="")
        return self

    def on_event(self, event: Event) -> None:
        """Update the counts from one event of the run."""
        if event.step_key is None:
            return
        if event.event_type in (EventType.STEP_START, EventType.STEP_RESTARTED):
            if event.step_key not in self.running:
                self.running.append(event.step_key)
        elif event.event_type in STEP_END_EVENTS:
            if event.step_key in self.running:
                self.running.remove(event.step_key)
            self.done += 1
            if self.total is not None and self.done > self.total:
                self.total = self.done
        else:
            return
        self._refresh()

    @property
    def current(self) -> str:
        """The running step(s), as the progress line shows them."""
        if not self.running:
            return ""
        shown = ", ".join(self.running[:3])
        return f"running {shown}" + (
            f" (+{len(self.running) - 3})" if len(self.running) > 3 else ""
        )

    def _refresh(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, completed=self.done, total=self.total, current=self.current
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.update(self._task, current="")  # type: ignore[arg-type]
            self._progress.stop()
            self._progress = None
