"""How the daemon keeps time, on a SQLite instance in a temporary home. Run on demand
(never a timed unit test):

    .venv/bin/python bench/daemon.py [WORKLOAD ...]

Workloads (one JSON line each; all by default, ``schedule_to_run`` waits for two minute
boundaries):

- ``sensor_interval``: a real ``trellis daemon`` process with one sensor,
  ``minimum_interval_seconds=1``, that skips; the time between its ticks (from the
  ticks' stored times) over ~15 s.
- ``sensor_to_run``: the same sensor requesting a run at each tick; the time from the
  tick's start to the run's process taking it (``begin_launched_run``: STARTED) and to
  its ``RUN_START`` event.
- ``schedule_to_run``: a ``* * * * *`` schedule; the time from the scheduled minute to
  the run STARTED and to ``RUN_START``, over two ticks.
- ``memory``: an in-process daemon with 50 schedules (every minute) and 50 sensors
  (every second; half skip, half request nothing) on a clock moved by hand, 10,000
  ticks; the resident memory after 1,000 ticks and after 10,000 (runs are not launched).
- ``idle_cpu``: a real ``trellis daemon`` process with 5 hourly schedules and 5 sensors
  ticking every 30 s; its CPU time over 30 s, as a share of one core.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")

_DEFS = {
    "sensor": """
        import os

        from trellis import (DefaultSensorStatus, Definitions, RunRequest, SkipReason, job, op,
                             sensor)

        @op
        def noop() -> None:
            pass

        @job
        def work():
            noop()

        @sensor(job=work, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
        def every_second(context):
            n = int(context.cursor or "0") + 1
            context.update_cursor(str(n))
            if os.environ.get("BENCH_REQUEST") == "1":
                return RunRequest(run_key=str(n))
            return SkipReason("idle")

        defs = Definitions(jobs=[work], sensors=[every_second])
    """,
    "schedule": """
        from trellis import DefaultScheduleStatus, Definitions, job, op, schedule, RunRequest

        @op
        def noop() -> None:
            pass

        @job
        def work():
            noop()

        @schedule("* * * * *", job=work, default_status=DefaultScheduleStatus.RUNNING)
        def minutely(context):
            return RunRequest()

        defs = Definitions(jobs=[work], schedules=[minutely])
    """,
    "idle": """
        from trellis import (DefaultScheduleStatus, DefaultSensorStatus, Definitions, job, op,
                             schedule, sensor, SkipReason)

        @op
        def noop() -> None:
            pass

        @job
        def work():
            noop()

        def make_schedule(i):
            @schedule("0 * * * *", job=work, name=f"hourly_{i}",
                      default_status=DefaultScheduleStatus.RUNNING)
            def fn(context):
                return {}
            return fn

        def make_sensor(i):
            @sensor(job=work, name=f"poll_{i}", minimum_interval_seconds=30,
                    default_status=DefaultSensorStatus.RUNNING)
            def fn(context):
                return SkipReason("nothing new")
            return fn

        defs = Definitions(jobs=[work], schedules=[make_schedule(i) for i in range(5)],
                           sensors=[make_sensor(i) for i in range(5)])
    """,
}


def _project(kind: str, tmp: Path) -> Path:
    path = tmp / f"bench_{kind}_defs.py"
    path.write_text(textwrap.dedent(_DEFS[kind]))
    return path


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TRELLIS_HOME": str(tmp / "home"), **extra}


def _start_daemon(defs: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "trellis", "daemon", "-f", str(defs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def _instance(tmp: Path):  # type: ignore[no-untyped-def]
    from trellis.instance.instance import Instance

    return Instance.from_config(tmp / "home", {})


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_s": round(statistics.median(values), 4),
        "min_s": round(min(values), 4),
        "max_s": round(max(values), 4),
        "mean_s": round(statistics.fmean(values), 4),
    }


def sensor_interval() -> dict[str, object]:
    """Gaps between the ticks of a 1-second sensor in a real daemon process."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc = _start_daemon(_project("sensor", tmp), _env(tmp))
        time.sleep(16)
        _stop(proc)
        with _instance(tmp) as instance:
            ticks = sorted(t.timestamp for t in instance.get_ticks("every_second"))
    gaps = [b - a for a, b in itertools.pairwise(ticks[1:])]  # after the first tick
    return {"workload": "sensor_interval", **_summary(gaps)}


def _run_latencies(instance, origin_of) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from trellis.core.events import EventType

    taken: list[float] = []
    started: list[float] = []
    for run in instance.get_runs(statuses=["SUCCESS"]):
        origin = origin_of(run)
        if origin is None:
            continue
        events = instance.all_logs(
            run.run_id, of_type={EventType.ENGINE_EVENT, EventType.RUN_START}
        )
        for event in events:
            if event.event_type is EventType.ENGINE_EVENT and event.message.startswith(
                "Run process"
            ):
                taken.append(event.timestamp - origin)  # the run's process took the run
            elif event.event_type is EventType.RUN_START:
                started.append(event.timestamp - origin)
    return {"to_run_process": _summary(taken), "to_run_start_event": _summary(started)}


def sensor_to_run() -> dict[str, object]:
    """From a sensor's tick to its run's process taking the run, and to RUN_START."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc = _start_daemon(_project("sensor", tmp), _env(tmp, BENCH_REQUEST="1"))
        time.sleep(16)
        _stop(proc)
        time.sleep(2)  # the last runs finish
        with _instance(tmp) as instance:
            tick_times = {}
            for tick in instance.get_ticks("every_second"):
                for run_id in tick.run_ids:
                    tick_times[run_id] = tick.timestamp
            result = _run_latencies(instance, lambda run: tick_times.get(run.run_id))
    return {"workload": "sensor_to_run", **result}


def schedule_to_run() -> dict[str, object]:
    """From a schedule's minute to its run's process taking the run, and to RUN_START."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc = _start_daemon(_project("schedule", tmp), _env(tmp))
        deadline = (int(time.time() // 60) + 2) * 60 + 5  # two minute boundaries
        time.sleep(deadline - time.time())
        _stop(proc)
        time.sleep(2)
        with _instance(tmp) as instance:

            def origin(run):  # type: ignore[no-untyped-def]
                text = run.tags.get("trellis/scheduled_execution_time")
                return float(text) if text else None

            result = _run_latencies(instance, origin)
    return {"workload": "schedule_to_run", **result}


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def memory(total_ticks: int = 10_000) -> dict[str, object]:
    """Resident memory of an in-process daemon over ``total_ticks`` ticks."""
    import gc

    from trellis import Definitions, SkipReason, job, op, schedule, sensor
    from trellis.daemon.clock import ManualClock
    from trellis.daemon.code_location import CodeLocation
    from trellis.daemon.daemon import TrellisDaemon
    from trellis.daemon.launcher import RunLauncher
    from trellis.instance.daemon_config import DaemonSettings
    from trellis.instance.daemon_records import InstigatorStatus, InstigatorType

    class NoLaunch(RunLauncher):
        def launch_run(self, run, instance) -> None:  # type: ignore[no-untyped-def]
            pass

    @op
    def noop() -> None:
        pass

    @job
    def work() -> None:
        noop()

    def make_schedule(i: int):  # type: ignore[no-untyped-def]
        @schedule("* * * * *", job=work, name=f"minutely_{i}", should_execute=lambda: False)
        def fn(context):  # type: ignore[no-untyped-def]
            return {}

        return fn

    def make_sensor(i: int):  # type: ignore[no-untyped-def]
        @sensor(job=work, name=f"poll_{i}", minimum_interval_seconds=1)
        def fn(context):  # type: ignore[no-untyped-def]
            n = int(context.cursor or "0") + 1
            context.update_cursor(str(n))
            return SkipReason("nothing new") if i % 2 else None

        return fn

    schedules = [make_schedule(i) for i in range(50)]
    sensors = [make_sensor(i) for i in range(50)]
    defs = Definitions(jobs=[work], schedules=schedules, sensors=sensors)
    with tempfile.TemporaryDirectory() as name:
        instance = _instance(Path(name))
        for s in schedules:
            instance.set_instigator_status(
                s.name, InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, 0.0
            )
        for s in sensors:
            instance.set_instigator_status(
                s.name, InstigatorType.SENSOR, InstigatorStatus.RUNNING, 0.0
            )
        clock = ManualClock(0.0)
        settings = DaemonSettings(
            sensor_tick_retention_seconds=600, schedule_tick_retention_seconds=600
        )
        daemon = TrellisDaemon(
            instance, CodeLocation(defs), clock=clock, launcher=NoLaunch(), settings=settings
        )
        loops = {loop.name: loop for loop in daemon.loops}
        marks: dict[int, float] = {}
        step = 0
        started = time.perf_counter()
        while True:
            ticks = loops["scheduler"].ticks + loops["sensors"].ticks
            if ticks >= 1000 and 1000 not in marks:
                gc.collect()
                marks[1000] = _rss_mb()
            if ticks >= total_ticks:
                break
            step += 1
            clock.set(step * 60.0)  # a minute per step: every schedule and sensor ticks
            daemon.step()
        seconds = time.perf_counter() - started
        gc.collect()
        marks[total_ticks] = _rss_mb()
        instance.dispose()
    return {
        "workload": "memory",
        "ticks": ticks,
        "rss_mb_after_1000": round(marks[1000], 1),
        f"rss_mb_after_{total_ticks}": round(marks[total_ticks], 1),
        "growth_mb": round(marks[total_ticks] - marks[1000], 1),
        "ticks_per_second": round(ticks / seconds),
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(seconds: float = 30.0) -> dict[str, object]:
    """CPU share of an idle daemon (schedules hourly, sensors every 30 s)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc = _start_daemon(_project("idle", tmp), _env(tmp))
        time.sleep(5)  # imports and first ticks
        before = _cpu_seconds(proc.pid)
        time.sleep(seconds)
        used = _cpu_seconds(proc.pid) - before
        _stop(proc)
    return {
        "workload": "idle_cpu",
        "seconds": seconds,
        "cpu_percent": round(100 * used / seconds, 2),
    }


WORKLOADS = {
    "sensor_interval": sensor_interval,
    "sensor_to_run": sensor_to_run,
    "schedule_to_run": schedule_to_run,
    "memory": memory,
    "idle_cpu": idle_cpu,
}


def main(argv: list[str]) -> None:
    names = argv or list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
        print(json.dumps(WORKLOADS[name]()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
