"""Running a job from the command line: live progress while it runs, then a summary
table, a closing verdict line that always says why a run did not succeed, and the exit
code (0 success, 1 the run failed or could not be recorded, 130 or 143 canceled by Ctrl-C
or SIGTERM: the run's steps were terminated and its resources torn down first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from trellis.cli.check_display import run_checks_table
from trellis.cli.display import format_duration, run_duration, status_text, steps_table
from trellis.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, CliError
from trellis.cli.progress import RunProgress
from trellis.cli.step_summary import run_end_reason, summarize_steps
from trellis.core.events import Event

Starter = Callable[[Callable[[Event], None]], Any]


def config_sources(config_files: Sequence[str], config_json: str | None) -> list[str]:
    """Where a run's config came from, as ``config_error`` names it."""
    return [*config_files, *(["--config-json"] if config_json is not None else [])]


def config_error(exc: Exception, config_files: Sequence[str]) -> CliError:
    """A ``CliError`` for run config that failed validation, naming the files it came
    from; the message lists every error with its path."""
    source = f" (from {', '.join(config_files)})" if config_files else ""
    return CliError(f"Invalid run config{source}.\n{exc}")


def run_with_progress(
    console: Console,
    start: Starter,
    *,
    title: str,
    total_steps: int | None,
    config_files: Sequence[str] = (),
) -> int:
    """Call ``start(on_event)`` (which runs the job and returns its result) under a live
    progress display, print the summary, and return the exit code. A run canceled by
    Ctrl-C or SIGTERM has ended (CANCELED) when its signal reaches here: 130 or 143. A run
    whose storage became unavailable (the database server down past its retry bound, the
    disk full) failed: its reason is printed and the exit code is 1."""
    from trellis.core.errors import InvalidConfigError, RunTerminated, StorageUnavailableError

    events: list[Event] = []
    interrupted: KeyboardInterrupt | RunTerminated | None = None
    unrecorded: StorageUnavailableError | None = None
    with RunProgress(console, total_steps, title) as progress:

        def on_event(event: Event) -> None:
            events.append(event)
            progress.on_event(event)

        try:
            result = start(on_event)
        except InvalidConfigError as exc:
            raise config_error(exc, config_files) from exc
        except StorageUnavailableError as exc:
            unrecorded = exc
        except (KeyboardInterrupt, RunTerminated) as exc:
            interrupted = exc
    if unrecorded is not None:
        line = status_text("FAILURE")
        line.append(f"  {title}  the run could not be recorded: {unrecorded}")
        console.print(line)
        return EXIT_RUN_FAILED
    if interrupted is not None:
        return print_canceled(console, events, interrupted)
    print_summary(console, result.run, result.all_events)
    return EXIT_OK if result.success else EXIT_RUN_FAILED


def print_canceled(
    console: Console, events: list[Event], signal: KeyboardInterrupt | SystemExit
) -> int:
    """The summary of a run that a signal canceled; the exit code to end with."""
    code = EXIT_INTERRUPTED if isinstance(signal, KeyboardInterrupt) else int(signal.code or 1)
    if events:
        console.print(steps_table(summarize_steps(events, run_finished=True)))
        first, last = events[0], events[-1]
        line = status_text("CANCELED")
        line.append(
            f"  run {first.run_id}  job {first.job_name}  "
            f"{format_duration(last.timestamp - first.timestamp)}  "
        )
        line.append(last.message or "")
        console.print(line)
    else:
        console.print(status_text("CANCELED"), "before the run started")
    return code


def print_summary(console: Console, run: Any, events: list[Event]) -> None:
    """The summary table of a finished run and its closing line."""
    steps = summarize_steps(events, run_finished=True)
    console.print(steps_table(steps))
    checks = run_checks_table(events)
    if checks is not None:
        console.print(checks)
    for step in steps:
        if step.error:
            console.print(Text.assemble((f"step {step.step_key} failed: ", "red"), step.error))
    line = status_text(run.status)
    line.append(f"  run {run.run_id}  job {run.job_name}  {format_duration(run_duration(run))}")
    reason = None if run.is_success else run_end_reason(events)
    if reason:
        line.append(f"  {reason}")
    console.print(line)
