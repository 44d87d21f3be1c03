"""What the web UI tests share: the definitions they load (written to a file of each
test's own) and waiting for a run."""

import time

SOURCE = """
import time

from trellis import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
    sensor,
)


class Scale(Config):
    factor: int = 2


@asset(group_name="raw", kinds={"csv"}, owners=["data@example.com"], description="Some numbers.")
def numbers(context: AssetExecutionContext) -> list:
    context.log.info("<script>window.__xss = 1</script> loaded <b>bold</b>")
    context.add_output_metadata({"note": "<img src=x onerror=window.__xss=2>", "rows": 3})
    return [1, 2, 3]


@asset(group_name="marts")
def scaled(config: Scale, numbers: list) -> list:
    return [n * config.factor for n in numbers]


@asset(group_name="marts", automation_condition=AutomationCondition.eager())
def total(scaled: list) -> int:
    return sum(scaled)


@asset(group_name="other")
def broken() -> None:
    raise ValueError("boom <script>window.__xss = 3</script>")


@asset(group_name="other")
def slow() -> int:
    time.sleep(30)
    return 1


numbers_job = define_asset_job("numbers_job", selection=["numbers", "scaled", "total"])


@sensor(job=numbers_job, minimum_interval_seconds=30)
def numbers_sensor(context):
    return SkipReason("no new files <script>window.__xss = 4</script>")


@schedule(job=numbers_job, cron_schedule="0 * * * *")
def hourly_numbers(context):
    return RunRequest()


defs = Definitions(
    assets=[numbers, scaled, total, broken, slow],
    jobs=[numbers_job],
    sensors=[numbers_sensor],
    schedules=[hourly_numbers],
)
"""


def wait_for_run(instance, run_id: str, timeout: float = 30.0):
    """The run once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


MANY_ASSETS = """
from trellis import Definitions, asset

N, WIDTH, PER_GROUP = {n}, {width}, {per_group}


def make(i):
    above = i // WIDTH - 1
    ups = [f"a{{j:05d}}" for j in (i - WIDTH, i - WIDTH + 1) if j >= 0 and j // WIDTH == above]

    @asset(name=f"a{{i:05d}}", group_name=f"g{{i // PER_GROUP}}", deps=ups)
    def body() -> None:
        return None

    return body


defs = Definitions(assets=[make(i) for i in range(N)])
"""


def many_assets_source(n: int = 1600, width: int = 100, per_group: int = 400) -> str:
    """Definitions of ``n`` assets in rows of ``width`` (each depends on two of the row
    above), ``per_group`` assets a group: past the graph's collapse threshold."""
    return MANY_ASSETS.format(n=n, width=width, per_group=per_group)
