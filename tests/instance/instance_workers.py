"""Child processes of the instance tests, run as ``python instance_workers.py ROLE ...``
with a base64-pickled ``InstanceRef`` as the first argument after the role."""

from __future__ import annotations

import base64
import os
import pickle
import sys
import time
from pathlib import Path

from trellis.core.events import Event, EventType
from trellis.core.run import Run
from trellis.instance.instance import Instance


def encode_ref(ref) -> str:
    """The argument form of an ``InstanceRef``."""
    return base64.b64encode(pickle.dumps(ref)).decode()


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise SystemExit("start signal never came")
        time.sleep(0.001)


def write_events(instance: Instance, run_id: str, count: int, batch: int, go: str) -> None:
    """Add a run, wait for ``go`` to exist, then store ``count`` numbered events in
    batches of ``batch``."""
    run = instance.add_run(Run(run_id, "writer"))
    print("ready", flush=True)
    _wait_for(go)
    instance.handle_new_events([Event(EventType.RUN_START, run_id, "writer")], run)
    sent = 0
    while sent < count:
        size = min(batch, count - sent)
        events = [
            Event(EventType.LOG_MESSAGE, run_id, "writer", message=str(sent + k))
            for k in range(size)
        ]
        instance.handle_new_events(events, run)
        sent += size
    instance.handle_new_events([Event(EventType.RUN_SUCCESS, run_id, "writer")], run)


def start_and_hang(instance: Instance, run_id: str, batch: int) -> None:
    """Start a run, say so, then write batches of ``batch`` events until killed."""
    run = instance.add_run(Run(run_id, "doomed"))
    instance.handle_new_events([Event(EventType.RUN_START, run_id, "doomed")], run)
    print("started", flush=True)
    n = 0
    while True:
        if batch:
            events = [
                Event(EventType.LOG_MESSAGE, run_id, "doomed", step_key="s", message=str(n + k))
                for k in range(batch)
            ]
            instance.handle_new_events(events, run)
            n += batch
        else:
            time.sleep(0.05)


def main(argv: list[str]) -> None:
    """Dispatch on the role."""
    role, ref = argv[0], pickle.loads(base64.b64decode(argv[1]))
    instance = Instance.from_ref(ref)
    if role == "write":
        write_events(instance, argv[2], int(argv[3]), int(argv[4]), argv[5])
    elif role == "hang":
        start_and_hang(instance, argv[2], int(argv[3]))
    elif role == "open":
        run = instance.add_run(Run(argv[2], "opener"))
        instance.handle_new_events([Event(EventType.RUN_START, argv[2], "opener")], run)
        print(instance.storage.opened["created"], flush=True)
    elif role == "info":
        print(os.getpid(), instance.info()["runs"], flush=True)
    instance.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
