"""What the web UI tests share: the definitions they load (written to a file of each
test's own), the application served in-process, and waiting for a run."""

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


BACKFILL_SOURCE = """
import time
from pathlib import Path

from trellis import (
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    define_asset_job,
    op,
    job,
)

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
FAIL_KEYS = Path(__file__).parent / "fail_keys.txt"


@asset(partitions_def=days, group_name="daily")
def events(context) -> int:
    if FAIL_KEYS.exists() and context.partition_key in FAIL_KEYS.read_text().split():
        raise RuntimeError(f"no data for {context.partition_key} <script>window.__xss = 5</script>")
    return 1


@asset(partitions_def=days, group_name="daily", backfill_policy=BackfillPolicy.multi_run(4))
def rollup(context) -> int:
    return len(context.partition_keys)


@asset(partitions_def=days, group_name="slow")
def slow_days(context) -> int:
    time.sleep(30)
    return 1


@asset(group_name="other")
def lookup() -> int:
    return 1


@op
def noop():
    return 1


@job(partitions_def=days)
def ops_only():
    noop()


events_job = define_asset_job("events_job", selection=["events"], partitions_def=days)

defs = Definitions(assets=[events, rollup, slow_days, lookup], jobs=[events_job, ops_only])
"""
"""Partitioned assets the backfill tests launch: ``events`` (a run per partition; fails
on the keys listed in ``fail_keys.txt`` beside the file), ``rollup`` (runs of at most 4
partitions), ``slow_days`` (30 s a partition, to cancel), ``lookup`` (unpartitioned)."""


def wait_for(predicate, timeout: float = 60.0, what: str = "the condition"):
    """``predicate()``'s first true value, looked at every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen in {timeout} s")


def serve_in_process(defs_file, with_daemon: bool = False):
    """Yield ``(client, state)``: the application over ``defs_file`` (Starlette's
    TestClient; its lifespan starts the hub and, ``with_daemon``, the daemon of ``trellis
    dev`` on its thread); then wait for its launched runs and close the instance."""
    from starlette.testclient import TestClient

    from trellis.cli.code_target import CodeTarget
    from trellis.instance.instance import Instance
    from trellis.web.app import build_state, create_app
    from trellis.web.workspace import Workspace

    workspace = Workspace(CodeTarget(file=defs_file))
    workspace.load()
    instance = Instance.get()
    state = build_state(workspace, instance, hub_interval=0.05)
    if with_daemon:
        from trellis.web.dev_daemon import DevDaemon

        state.daemon = DevDaemon(instance, workspace)
    app = create_app(state, watch=False)
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        yield client, state
    state.launcher.wait_all()
    instance.dispose()
