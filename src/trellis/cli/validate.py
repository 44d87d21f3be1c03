"""``trellis defs validate``: every definition-time error at once.

Resolving ``Definitions(...)`` stops at its first error (which ``Definitions`` raises on
first use, not when it is built). To report them all, the definitions file is imported
while every ``Definitions`` call is recorded (``trellis.defs.validation``); when a
call's definitions fail, their parts are checked one by one and every distinct error is
kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.cli.errors import CliError
from trellis.cli.loader import CodeTarget, ImportFailure, find_definitions, import_target
from trellis.defs.validation import collect_errors, recording_definitions

_TRELLIS_DIR = str(Path(__file__).resolve().parents[1])


@dataclass
class ValidationReport:
    """What ``defs validate`` found: the definitions (when they load) or the errors."""

    definitions: Any = None
    errors: list[str] = field(default_factory=list)
    location: str | None = None


def validate_target(target: CodeTarget) -> ValidationReport:
    """Load the target and report every definition-time error found."""
    with recording_definitions() as calls:
        try:
            module = import_target(target)
            defs = find_definitions(module, target)
            defs.get_implicit_global_asset_job_def()
        except ImportFailure as failure:
            error: BaseException = failure.exception
            fallback = failure.format_message()
        except CliError as exc:
            return ValidationReport(errors=[exc.format_message()])
        except Exception as exc:
            error, fallback = exc, f"{type(exc).__name__}: {exc}"
        else:
            return ValidationReport(definitions=defs)
    failed = [c for c in calls if c.error is error]
    if not failed:
        return ValidationReport(errors=[fallback])
    location: str | None = failed[0].location
    if location is not None and location.startswith(_TRELLIS_DIR):
        location = None  # built by the loader from loose definitions, not by the user
    return ValidationReport(
        errors=collect_errors(failed[0].arguments) or [fallback], location=location
    )
