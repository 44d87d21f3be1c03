"""The command's own error: a message, printed to stderr, and an exit code.

Exit codes scripts can rely on: 0 success, 1 a run failed, 2 bad usage, bad config or
bad definitions (click's own usage errors are 2 as well), 130 a run canceled by Ctrl-C
(SIGINT), 143 a run canceled by SIGTERM (128 + the signal's number, as a shell reports a
process killed by it).
"""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """Bad input that is not a click usage error: a file that does not load, an unknown job
    or run, config that does not validate. Exits with 2 unless told otherwise."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        # click declares exit_code a ClassVar, but reads it from the instance: each error
        # carries its own code.
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``Error: <message>`` to stderr (in red on a terminal)."""
        click.secho(f"Error: {self.format_message()}", file=file, err=True, fg="red")
