"""Jobs for the executor tests. They live in a module of their own so that pool and Dask
workers load them by reference, as they would a user's project. Most jobs have no
executor of their own: run config picks one. Each test gives the filesystem IO manager
its own ``base_dir`` in run config; files in that directory record what happened where."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from trellis import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    Definitions,
    Field,
    FilesystemIOManager,
    MaterializeResult,
    Out,
    Output,
    PipesSubprocessClient,
    RetryPolicy,
    asset,
    asset_check,
    dask_executor,
    define_asset_job,
    failure_hook,
    job,
    logger,
    mem_io_manager,
    multiprocess_executor,
    op,
    resource,
    success_hook,
)


def _dir(context) -> Path:
    return Path(context.resources.io_manager_dir)


def _mark(directory: Path, name: str) -> None:
    """Leaves ``<name>-<pid>-<id>`` in ``directory``: what ran, in which process."""
    (directory / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()


@resource(config_schema={"base_dir": str})
def io_manager_dir(init_context):
    """Where the test's files go (the same directory as the IO manager's)."""
    return init_context.resource_config["base_dir"]


@resource(config_schema={"base_dir": str})
def tracked(init_context):
    """Records its set-up and teardown as files named by process and a unique id."""
    base = Path(init_context.resource_config["base_dir"])
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (base / f"setup-{token}").touch()
    try:
        yield token
    finally:
        (base / f"teardown-{token}").touch()


RESOURCES = {
    "io_manager": FilesystemIOManager(),
    "io_manager_dir": io_manager_dir,
    "tracked": tracked,
}


# -- results and events -----------------------------------------------------------------------
@op
def source() -> int:
    return 2


@op
async def left(x: int) -> int:
    """An async op: runs on the event loop of whatever runs the step."""
    await asyncio.sleep(0.01)
    return x + 1


@op
def right(x: int) -> int:
    return x * 10


@op(out={"total": Out(), "pids": Out()})
def combine(context, a: int, b: int):
    context.log.info("combining")
    return a + b, os.getpid()


@op
async def async_double(x: int) -> int:
    """Another async op, ready at the same time as ``left``."""
    await asyncio.sleep(0.01)
    return 2 * x


@op
def after_async(x: int) -> int:
    return x + 1


@op(config_schema={"seconds": Field(float, default_value=1.5)})
def slow(context) -> int:
    """Logs, then takes a while: its events visibly arrive while the run goes."""
    context.log.info("slow step started")
    time.sleep(context.op_config["seconds"])
    return 30


def _arithmetic() -> None:
    """source -> (left, right via source_2) -> combine, and source -> async_double ->
    after_async; left and async_double are async ops."""
    value = source()
    combine(left(value), right(source.alias("source_2")()))
    after_async(async_double(value))


@job(resource_defs=RESOURCES)
def diamond():
    """The results every executor must agree on, next to a slow independent step."""
    _arithmetic()
    slow()


@job(
    resource_defs=RESOURCES,
    executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
)
def pooled():
    """The arithmetic on a pool of two worker processes of its own."""
    _arithmetic()


@job(resource_defs=RESOURCES, executor_def=dask_executor)
def on_dask():
    """The arithmetic on the Dask executor of its own (the cluster comes from run config)."""
    _arithmetic()


@asset
def numbers() -> list[int]:
    return [1, 2, 3, 4]


@asset
def numbers_total(numbers: list[int]) -> int:
    return sum(numbers)


# -- Pipes: code outside Trellis, run by a step as a subprocess ---------------------------------
EXTERNAL = Path(__file__).resolve().parents[1] / "pipes" / "external"


@asset(code_version="2")
def piped_orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
    """Runs an external script that logs and reports this asset materialized."""
    return pipes.run(
        command=[sys.executable, str(EXTERNAL / "materialize.py")],
        context=context,
        extras={"rows": 7, "step_pid": os.getpid()},
    ).get_materialize_result()


@asset
def piped_crash(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
    """Runs an external script that raises."""
    return pipes.run(
        command=[sys.executable, str(EXTERNAL / "crash.py")], context=context
    ).get_materialize_result()


@asset(required_resource_keys={"io_manager_dir"})
def piped_slow(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
    """Runs an external script that waits 30 s, and asks for its run's cancellation once
    the script has started (asking before it starts raced the script's start against the
    orchestrator's next look for cancellations)."""
    marks = Path(context.resources.io_manager_dir)
    instance, run_id = context.instance, context.run_id

    def cancel_once_started() -> None:
        deadline = time.monotonic() + 20
        while not any(marks.glob("started-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        instance.request_cancel(run_id)

    threading.Thread(target=cancel_once_started, daemon=True).start()
    return pipes.run(
        command=[sys.executable, str(EXTERNAL / "slow.py")],
        context=context,
        extras={"marks": context.resources.io_manager_dir},
    ).get_materialize_result()


assets_job = define_asset_job("assets_job", selection=[numbers, numbers_total])
pipes_job = define_asset_job("pipes_job", selection=[piped_orders])
pipes_crash_job = define_asset_job("pipes_crash_job", selection=[piped_crash])
pipes_cancel_job = define_asset_job("pipes_cancel_job", selection=[piped_slow])

defs = Definitions(
    assets=[numbers, numbers_total, piped_orders, piped_crash, piped_slow],
    jobs=[assets_job, pipes_job, pipes_crash_job, pipes_cancel_job],
    resources={**RESOURCES, "pipes": PipesSubprocessClient(termination_timeout_seconds=5)},
)


# -- asset checks: steps of their own, in the asset's step, blocking ---------------------------
@asset
def readings() -> list[int]:
    return [4, 8, 15]


@asset_check(asset=readings, blocking=True)
def readings_positive(readings: list[int]) -> AssetCheckResult:
    """A blocking check in a step of its own, reading the asset through its IO manager."""
    return AssetCheckResult(passed=min(readings) > 0, metadata={"smallest": min(readings)})


@asset
def readings_total(readings: list[int]) -> int:
    return sum(readings)


@asset_check(asset=readings_total, additional_ins={"raw": AssetIn("readings")})
def readings_total_matches(context, readings_total: int, raw: list[int]) -> AssetCheckResult:
    """Reads two assets; reports the process it ran in."""
    return AssetCheckResult(
        passed=readings_total == sum(raw),
        severity=AssetCheckSeverity.WARN,
        metadata={"pid": os.getpid(), "context": type(context).__name__},
    )


@asset(check_specs=[AssetCheckSpec("bounded", asset="readings_count")])
def readings_count(readings: list[int]):
    """A check evaluated in the asset's own step."""
    yield Output(len(readings))
    yield AssetCheckResult(passed=len(readings) < 10, metadata={"pid": os.getpid()})


@asset
def faulty_readings() -> list[int]:
    return [3, -1]


@asset_check(asset=faulty_readings, blocking=True)
def faulty_readings_positive(faulty_readings: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=min(faulty_readings) > 0)


@asset
def faulty_total(faulty_readings: list[int]) -> int:
    return sum(faulty_readings)


checks_job = define_asset_job("checks_job", selection=[readings, readings_total, readings_count])
blocked_job = define_asset_job("blocked_job", selection=[faulty_readings, faulty_total])

checks_defs = Definitions(
    assets=[readings, readings_total, readings_count, faulty_readings, faulty_total],
    asset_checks=[readings_positive, readings_total_matches, faulty_readings_positive],
    jobs=[checks_job, blocked_job],
    resources=RESOURCES,
)


# -- failures and retries ----------------------------------------------------------------------
class UserCodeError(ValueError):
    """Raised by user code; crosses back to the orchestrator by reference."""


def raise_from_user_code(value: int) -> None:
    raise UserCodeError(f"broken on purpose: rejected {value}")


@op
def broken() -> int:
    raise_from_user_code(42)
    return 0


@op
def after_broken(x: int) -> int:
    return x


@op
def independent() -> int:
    """Succeeds whatever else happens."""
    return 1


@job(resource_defs=RESOURCES)
def failing():
    """broken -> after_broken, and an independent op."""
    after_broken(broken())
    independent()


@op(required_resource_keys={"io_manager_dir"}, retry_policy=RetryPolicy(max_retries=2))
def flaky(context) -> int:
    """Fails on its first two attempts (counted with files), then returns its retry number."""
    attempts = len(list(_dir(context).glob("flaky-*")))
    _mark(_dir(context), "flaky")
    if attempts < 2:
        raise ConnectionError(f"transient failure {attempts + 1}")
    return context.retry_number


@op
def chained(x: int) -> int:
    return x + 1


@job(resource_defs=RESOURCES)
def retrying():
    """flaky -> chained."""
    chained(flaky())


# -- steps that kill their own process ---------------------------------------------------------
@op(required_resource_keys={"io_manager_dir"})
def kills_itself(context) -> int:
    """Kills the process it runs in, every time."""
    _mark(_dir(context), "killer")
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)
    return 0


@op
def slowly_independent() -> int:
    """Runs next to the crashing step and must still succeed."""
    time.sleep(0.2)
    return 1


@job(resource_defs=RESOURCES)
def crashing():
    """kills_itself (no retry) -> chained, and an independent op."""
    chained(kills_itself())
    slowly_independent()


@op(required_resource_keys={"io_manager_dir"}, out={"value": Out(), "pid": Out()})
def suicidal(context):
    """Kills its own process on the first attempt (a crash), succeeds on the second; also
    returns the pid of the process that succeeded."""
    if not list(_dir(context).glob("killer-*")):
        _mark(_dir(context), "killer")
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
    return 7, os.getpid()


@job(resource_defs=RESOURCES, op_retry_policy=RetryPolicy(max_retries=1))
def crashing_once():
    """suicidal (one retry, from the job's policy) -> chained."""
    value, _pid = suicidal()
    chained(value)


# -- resources: set up and torn down once per process ------------------------------------------
def _user(index: int):
    @op(name=f"uses_{index}", required_resource_keys={"tracked"})
    def uses(context) -> dict:
        time.sleep(0.1)
        return {
            "pid": os.getpid(),
            "thread": threading.get_ident(),
            "token": context.resources.tracked,
        }

    return uses


_USERS = [_user(i) for i in range(6)]


@job(resource_defs=RESOURCES)
def resourceful():
    """Six ops that need the tracked resource."""
    for use in _USERS:
        use()


# -- cancellation ------------------------------------------------------------------------------
@op(
    required_resource_keys={"io_manager_dir", "tracked"},
    config_schema={
        "seconds": Field(float, default_value=0.8),
        "cancel": Field(bool, default_value=True),
        "wait": Field(str, default_value="small_sleeps"),
    },
)
def long_step(context) -> int:
    """Asks for its run's cancellation (unless told not to), then waits ``seconds``:
    ``wait`` is ``small_sleeps`` (Python code between sleeps of 50 ms), ``one_sleep`` (one
    C call, which no exception interrupts in a thread other than the main one), or
    ``swallow`` (small sleeps, then the interruption is caught and the step returns as if
    nothing happened). Leaves ``long-started``, then ``long-interrupted`` (or
    ``long-swallowed``), or ``long-finished``."""
    _mark(_dir(context), "long-started")
    if context.op_config["cancel"]:
        assert context.instance.request_cancel(context.run_id)
    seconds, wait = context.op_config["seconds"], context.op_config["wait"]
    deadline = time.monotonic() + seconds
    try:
        if wait == "one_sleep":
            time.sleep(seconds)
        while time.monotonic() < deadline:
            time.sleep(0.05)
    except BaseException:
        if wait == "swallow":
            _mark(_dir(context), "long-swallowed")
            return 1
        _mark(_dir(context), "long-interrupted")
        raise
    _mark(_dir(context), "long-finished")
    return 1


@op(required_resource_keys={"io_manager_dir"})
def never_runs(context, x: int) -> int:
    _mark(_dir(context), "never-runs-ran")
    return x


@job(resource_defs=RESOURCES)
def cancelled():
    """long_step -> never_runs."""
    never_runs(long_step())


# -- tag concurrency limits --------------------------------------------------------------------
def _query(index: int):
    @op(name=f"query_{index}", tags={"database": "warehouse"})
    def query() -> int:
        time.sleep(0.2)
        return os.getpid()

    return query


_QUERIES = [_query(i) for i in range(3)]


@job(resource_defs=RESOURCES)
def tag_limited():
    """Three ops tagged database=warehouse (run config limits them)."""
    for query in _QUERIES:
        query()


# -- hooks and loggers: where the step ran ------------------------------------------------------
@success_hook(required_resource_keys={"io_manager_dir", "tracked"})
def mark_success(context):
    """Leaves ``hook-success-<step>-<pid>`` with the token of the tracked resource it got."""
    _mark(_dir(context), f"hook-success-{context.step_key}")
    (_dir(context) / f"hook-token-{context.resources.tracked}").touch()
    context.log.info(f"success hook of {context.op.name} saw {context.op_output_values}")


@failure_hook(required_resource_keys={"io_manager_dir"})
def mark_failure(context):
    """Leaves ``hook-failure-<step>-<pid>``."""
    _mark(_dir(context), f"hook-failure-{context.step_key}")


@failure_hook
def hook_that_raises(context):
    raise RuntimeError(f"the hook of {context.step_key} broke")


@op
def hooked_source() -> int:
    return 4


@op
def hooked_double(context, x: int) -> int:
    context.log.info("doubling")
    return 2 * x


@op
def hooked_rejects(x: int) -> int:
    raise_from_user_code(x)
    return 0


class _LinesInFiles(logging.Handler):
    """Appends each record's message, one line, to ``logger-<pid>.log`` in ``base``."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.dagster_meta['step_key']}|{record.getMessage().splitlines()[0]}"
        with open(self.base / f"logger-{os.getpid()}.log", "a") as out:
            out.write(line + "\n")


@logger(config_schema={"base_dir": str})
def file_logger(init_context):
    """Writes the records of each process into a file of its own (``logger-<pid>.log``);
    leaves ``logger-built-<pid>-<id>`` each time it is built."""
    base = Path(init_context.logger_config["base_dir"])
    _mark(base, "logger-built")
    built = logging.Logger("file_logger", logging.INFO)
    built.addHandler(_LinesInFiles(base))
    return built


@job(
    resource_defs=RESOURCES,
    hooks={mark_failure, hook_that_raises},
    logger_defs={"files": file_logger},
)
def hooked():
    """hooked_source -> hooked_double (with a success hook) -> hooked_rejects (fails); the
    job's failure hooks on every step, one of which raises; a logger writing files."""
    hooked_rejects(hooked_double.with_hooks({mark_success})(hooked_source()))


# -- the in-memory IO manager cannot cross processes -------------------------------------------
@job(resource_defs={"io_manager": mem_io_manager})
def in_memory():
    """Keeps its output in memory: refused before any step runs on another process."""
    source()


# -- Dask only: steps that ask for Dask worker resources ---------------------------------------
@op(tags={"trellis-dask/resources": '{"slots": 1}'})
def needs_slot() -> int:
    return 7


@job(resource_defs=RESOURCES)
def dask_tagged():
    needs_slot()


@op(tags={"trellis-dask/resources": "not json"})
def dask_bad_tag() -> int:
    return 0


@job(resource_defs=RESOURCES)
def dask_bad_tagged():
    dask_bad_tag()
