"""User-style mistakes that mypy must report (tests/typing/test_typing_surface.py): each line
that ends in ``# error: CODE`` must get exactly that error, and no other line any error.

Never imported: the mistakes would fail at runtime as well.
"""

from __future__ import annotations

import trellis
from trellis import RunRequest, asset, job, op, schedule, sensor

trellis.NoSuchThing  # error: attr-defined  # noqa: B018


@asset(nme="typo")  # error: call-overload
def typo() -> int:
    return 1


@op(out=3)  # error: call-overload
def bad_out() -> int:
    return 1


@schedule  # error: arg-type
def no_cron() -> RunRequest:
    return RunRequest()


@sensor(job="not_a_job")  # error: call-overload
def wrong_job() -> None:
    return None


@job
def etl() -> None:
    bad_out()


etl.execute_in_process().no_such_attribute  # error: attr-defined  # noqa: B018
