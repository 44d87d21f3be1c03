"""Is the process that runs a run still alive? (dead-run detection)"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

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
