"""The warm forked worker (Linux and other POSIX systems with ``os.fork``):
``python -m trellis.daemon.zygote [CODE_LOCATION_TAG]`` with ``TRELLIS_INSTANCE_REF`` set.

It imports Trellis's execution machinery and the instance's storage modules, and the
code location the tag names (the daemon's own), then says ``ready`` on stdout and waits.
For each line ``RUN_ID<TAB>LOG_FILE`` on stdin it forks a child and writes the child's
pid back; the child starts a new session, sends its output to ``LOG_FILE``, opens the
instance afresh (no connection crosses the fork: the zygote never opens one) and runs
the run as ``run_worker`` does (``execute_launched_run``). The zygote stays
single-threaded, so forking it is safe; it ignores ``SIGCHLD`` so the kernel reaps its
children. It exits when stdin closes (the daemon stopped or died).

Code changes need a daemon restart: the zygote keeps the code it imported.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback


def _child(run_id: str, log_file: str) -> None:
    """In the forked child: run ``run_id`` with output to ``log_file``; never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        from trellis.daemon.run_worker import _instance_from_env, execute_launched_run

        instance = _instance_from_env()
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


def main(argv: list[str] | None = None) -> int:
    """Preload, say ``ready``, then fork one child per run id read on stdin."""
    args = sys.argv[1:] if argv is None else argv
    import importlib

    for module in (
        "trellis.api.execute",
        "trellis.instance.instance",
        "trellis.instance.sqlite.storage",
    ):
        importlib.import_module(module)  # once, before any run

    if args and args[0]:
        try:
            from trellis.daemon.code_location import pointer_from_tag

            pointer_from_tag(args[0]).load_definitions()
        except Exception:  # the child reports it on the run, with the run's own load
            traceback.print_exc()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    stdout = sys.stdout
    stdout.write("ready\n")
    stdout.flush()
    for line in sys.stdin:
        run_id, _, log_file = line.rstrip("\n").partition("\t")
        if not run_id or not log_file:
            continue
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(run_id, log_file)
        stdout.write(f"{pid}\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
