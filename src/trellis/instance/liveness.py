"""Is the process that runs a run still alive? (dead-run detection)

Two signs, used in this order:

- **The pid**, only where it is certain to name the run's process: the run was started
  on this host name *and* in this PID namespace of this boot of the kernel (the
  ``trellis/pid_namespace`` tag). Two containers with the same host name (host
  networking) have different PID namespaces, so a pid recorded in one says nothing in the
  other. The answer is immediate: alive, or dead (gone, a zombie, or a newer process that
  reused the pid).
- **The heartbeat** otherwise: a running run's process writes a timestamp to its run row
  every few seconds (``heartbeat.py``); a run whose last sign of life (heartbeat, else its
  start) is older than the timeout is dead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trellis.core import event_factory
from trellis.core.events import Event
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, Run, RunStatus

# A process that started later than the run, by more than this, cannot be the run's one:
# its pid was reused. (Boot time is known to the second, process start to 10 ms.)
_START_SLACK_SECONDS = 2.0


@cache
def this_host() -> str:
    """The name of this machine, as recorded in the ``trellis/host`` run tag (the same
    name ``socket.gethostname()`` gives, read without importing ``socket`` on POSIX)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return uname().nodename
    import socket  # lazily: Windows has no os.uname

    return socket.gethostname()


@cache
def this_pid_namespace() -> str | None:
    """Where a pid of this process means this process: its PID namespace and the boot of
    the kernel (``pid:[4026531836]@<boot id>``), or None where Linux's ``/proc`` does not
    say (no PID namespaces to tell apart)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{namespace}@{boot}"


@dataclass(frozen=True)
class DeadRun:
    """Why a run is judged dead: ``reason`` (``process died`` or ``heartbeat timed
    out``), a sentence saying it, and the pid and host when they were checked."""

    reason: str
    detail: str
    pid: int | None
    host: str | None


def pid_is_checkable(tags: dict[str, str]) -> int | None:
    """The run's pid when this process can check it with certainty (same host name, same
    PID namespace and boot), else None."""
    pid_text = tags.get(PID_TAG)
    if not pid_text or not pid_text.isdigit() or tags.get(HOST_TAG) != this_host():
        return None
    if tags.get(PID_NAMESPACE_TAG) != this_pid_namespace():
        return None  # another container (or an older Trellis that did not record it)
    return int(pid_text)


def judge_run(
    tags: dict[str, str],
    started_at: float | None,
    heartbeat: float | None,
    now: float,
    timeout: float,
) -> DeadRun | None:
    """Whether a run in progress is dead: its pid checked where that is certain, else its
    last sign of life (heartbeat, else start) compared with ``timeout``. None: alive (or
    not known to be dead)."""
    host = tags.get(HOST_TAG)
    pid = pid_is_checkable(tags)
    if pid is not None:
        if process_is_alive(pid, started_at):
            return None
        return DeadRun("process died", f"its process {pid} died on {host}", pid, host)
    last = heartbeat if heartbeat is not None else started_at
    if last is None or now - last <= timeout:
        return None
    where = f"process {tags[PID_TAG]} on {host}" if tags.get(PID_TAG) else "process"
    silent = "sent no heartbeat" if heartbeat is None else "stopped its heartbeat"
    return DeadRun(
        "heartbeat timed out",
        f"its {where} {silent} for {now - last:.0f} s (timeout {timeout:g} s)",
        int(tags[PID_TAG]) if (tags.get(PID_TAG) or "").isdigit() else None,
        host,
    )


def end_of_dead_run(run: Run, dead: DeadRun) -> Event:
    """The event that ends a dead run: ``RUN_CANCELED`` for a run that was being
    canceled (the cancellation is what was asked), else ``RUN_FAILURE`` with the
    reason, pid and host."""
    who = f"Run {run.run_id} of '{run.job_name}'"
    if run.status is RunStatus.CANCELING:
        return event_factory.run_canceled(
            run.run_id,
            run.job_name,
            f"{who} was marked canceled: {dead.detail} while the run was being canceled.",
        )
    return event_factory.run_failure(
        run.run_id,
        run.job_name,
        f"{who} was marked failed: {dead.detail} without ending the run.",
        reason=dead.reason,
        pid=dead.pid,
        host=dead.host,
    )


@cache
def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _linux_state(pid: int) -> tuple[str, float | None] | None:
    """The process state letter and its start time (epoch seconds), from ``/proc``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ("X", None)
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    boot = _boot_time()
    started = None
    if boot is not None and len(fields) > 19:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return fields[0], started


def process_is_alive(pid: int, run_started_at: float | None = None) -> bool:
    """Whether ``pid`` is a live process on this host that could be the one that started a
    run at ``run_started_at``: not gone, not a zombie, and not a newer process that reused
    the pid."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    state = _linux_state(pid)
    if state is None:
        return True
    letter, started = state
    if letter in ("Z", "X", "x"):
        return False
    return not (
        run_started_at is not None
        and started is not None
        and started > run_started_at + _START_SLACK_SECONDS
    )
