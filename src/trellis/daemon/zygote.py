"""The warm forked worker (Linux and other POSIX systems with ``os.fork``):
``python -m trellis.daemon.zygote [CODE_LOCATION_TAG]`` with ``TRELLIS_INSTANCE_REF`` set.

It imports what a run's process needs (``PRELOADED``) and the code location the tag
names (the daemon's own), then says ``ready`` on stdout and waits. For each line
``RUN_ID<TAB>LOG_FILE`` on stdin it hands the run to a child and writes the child's pid
back. The child is forked *ahead*: a spare child that has already started its own
session and opened the instance (no connection crosses the fork: the zygote never opens
one) waits on a pipe for its run; given one, it sends its output to ``LOG_FILE`` and
runs the run as ``run_worker`` does (``execute_launched_run``), and the zygote forks the
next spare. A spare that died is replaced by a child forked there and then.

The zygote stays single-threaded, so forking it is safe; it freezes its objects out of
the garbage collector before forking (the children's collections leave the shared pages
alone) and ignores ``SIGCHLD`` so the kernel reaps its children. It exits when stdin
closes (the daemon stopped or died); its spare then exits too.

The zygote keeps the code it imported: the daemon starts a new zygote after reloading
its code location (``trellis daemon --reload``).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import traceback
from typing import Any, NamedTuple

PRELOADED = (
    "trellis.api.execute",
    "trellis.api.reexecution",
    "trellis.api.run_retries",
    "trellis.daemon.run_worker",
    "trellis.instance.instance",
    "trellis.instance.sqlite.storage",
)
"""What every run's process needs, imported once in the zygote."""


class _Spare(NamedTuple):
    pid: int
    pipe: int  # the write end: "RUN_ID<TAB>LOG_FILE\n" starts the run


def _become_run_process() -> None:
    """In a forked child: its own session, default signals, stdin from /dev/null and
    stdout to the zygote's log until it has a run (never the daemon's pipes)."""
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)


def _output_to(log_file: str) -> None:
    out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def _run_and_exit(instance: Any, run_id: str) -> None:
    """Run ``run_id`` on ``instance`` and exit the process with the run's exit code."""
    from trellis.daemon.run_worker import execute_launched_run

    code = 1
    try:
        try:
            code = execute_launched_run(instance, run_id)
        finally:
            instance.dispose()
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _read_line(fd: int) -> str:
    """One line from the pipe ``fd`` ("" at end of file)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:
            return ""
        data += chunk
    return data.decode()


def _spare_child(pipe: int) -> None:
    """In a spare child: open the instance, wait for the run, run it; never returns."""
    instance = None
    try:
        _become_run_process()
        from trellis.daemon.run_worker import _instance_from_env

        instance = _instance_from_env()
        instance.get_run("")  # the first query's set-up, done ahead
        line = _read_line(pipe)
        run_id, _, log_file = line.rstrip("\n").partition("\t")
        if not run_id or not log_file:  # the zygote went away: nothing to run
            instance.dispose()
            os._exit(0)
        _output_to(log_file)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    _run_and_exit(instance, run_id)


def _fresh_child(run_id: str, log_file: str) -> None:
    """In a child forked for a run (no spare was ready): run it; never returns."""
    try:
        _become_run_process()
        _output_to(log_file)
        from trellis.daemon.run_worker import _instance_from_env

        instance = _instance_from_env()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    _run_and_exit(instance, run_id)


def _fork_spare() -> _Spare | None:
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        _spare_child(read_end)
    os.close(read_end)
    return _Spare(pid, write_end)


def _hand_over(spare: _Spare | None, line: str) -> int | None:
    """Give the run of ``line`` to ``spare``: its pid, or None when it is gone."""
    if spare is None:
        return None
    try:
        os.write(spare.pipe, line.encode())
        return spare.pid
    except OSError:  # it died (a broken pipe): fork a child for the run instead
        return None
    finally:
        os.close(spare.pipe)


def main(argv: list[str] | None = None) -> int:
    """Preload, say ``ready``, then start one child per run id read on stdin."""
    args = sys.argv[1:] if argv is None else argv
    import importlib

    for module in PRELOADED:
        importlib.import_module(module)  # once, before any run

    if args and args[0]:
        try:
            from trellis.daemon.code_location import pointer_from_tag

            definitions = pointer_from_tag(args[0]).load_definitions()
            # The implicit asset job (of runs that materialize an asset selection: the UI's,
            # `trellis asset materialize`'s) is built on first use; built here, before the
            # forks, no run's process builds it again (5-7 ms each time for the 1,000
            # assets of bench/ui.py, timing get_implicit_global_asset_job_def in process).
            if definitions is not None and definitions.assets:
                definitions.get_implicit_global_asset_job_def()
        except Exception:  # the child reports it on the run, with the run's own load
            traceback.print_exc()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    gc.freeze()
    spare = _fork_spare()
    stdout = sys.stdout
    stdout.write("ready\n")
    stdout.flush()
    for line in sys.stdin:
        run_id, _, log_file = line.rstrip("\n").partition("\t")
        if not run_id or not log_file:
            continue
        pid = _hand_over(spare, f"{run_id}\t{log_file}\n")
        if pid is None:
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _fresh_child(run_id, log_file)
        stdout.write(f"{pid}\n")
        stdout.flush()
        spare = _fork_spare()
    if spare is not None:
        os.close(spare.pipe)  # it exits without running anything
    return 0


if __name__ == "__main__":
    sys.exit(main())
