"""The Dask worker's side of the Dask executor: the module-level functions the
orchestrator submits (``run_step``) or runs on workers (``finish_run``,
``interrupt_steps``). They are pickled by reference, never user functions: a worker
imports this module and loads the job's code itself, by its ``CodePointer``.

``run_step`` runs one step attempt with ``trellis.execution.remote.worker.WORKER`` (the same
step code as every other executor) and streams each event to the orchestrator as it is
emitted, through the scheduler's event topic ``TOPIC`` (``Worker.log_event``: batched,
ordered, fire-and-forget). Each message names the run, the attempt's Dask key, the
worker's address and a sequence number; the last one carries the pickled ``StepReply``.
The task also returns every event and the reply, so the orchestrator can recover them if
a streamed message were ever missing.

Dask re-runs a task elsewhere when the worker running it dies. A step must not run its
user code twice for one attempt, so ``run_step`` first claims the attempt in the
scheduler's metadata (``CLAIMS``): a re-run that finds the claim taken does not run the
step, it reports that the worker of the first run died (the orchestrator fails the step
as crashed, or retries it as its ``RetryPolicy`` allows).
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading
from typing import Any

from trellis.core.errors import StepTerminated
from trellis.core.run import RunStatus
from trellis.execution.cancellation import set_async_exception
from trellis.execution.remote.worker import WORKER, StepReply, StepRequest, failed_reply
from trellis.execution.step import StepStatus

TOPIC = "trellis-step-events"
"""The scheduler event topic that carries step events (one topic for every run, so the
scheduler keeps a bounded log; each orchestrator keeps the messages of its own run)."""

CLAIMS = "trellis-step-claims"
"""Scheduler metadata path prefix: ``[CLAIMS, run_id, dask_key]`` holds the address of the
worker that started that attempt."""


__all__ = [
    "CLAIMS",
    "TOPIC",
    "StepTerminated",
    "finish_run",
    "interrupt_steps",
    "run_step",
    "still_running",
]

_running: dict[str, int] = {}  # dask key of a running attempt -> the thread running it
_running_lock = threading.Lock()


def run_step(request: StepRequest, dask_key: str) -> dict[str, Any]:
    """Run one step attempt on this Dask worker (the task the executor submits)."""
    from distributed import get_worker

    worker = get_worker()
    address = worker.address
    base = {"run": request.run_id, "key": dask_key, "worker": address}
    previous = _claim(worker, request.run_id, dask_key, address)
    if previous is not None:  # a re-run after the worker of the first run died
        message = {**base, "crashed": str(previous)}
        worker.log_event(TOPIC, message)
        return message
    events: list[dict[str, Any]] = []
    seq = itertools.count()

    def send(event: dict[str, Any]) -> None:
        events.append(event)
        worker.log_event(TOPIC, {**base, "seq": next(seq), "event": event})

    with _running_lock:
        _running[dask_key] = threading.get_ident()
    try:
        try:
            reply = WORKER.execute(request, send)
        except StepTerminated:
            reply = StepReply(request.step_key, StepStatus.FAILURE.value, [])
        except Exception as exc:  # the code or the plan could not be loaded here
            reply = failed_reply(
                request,
                exc,
                send,
                f"Step '{request.step_key}' failed: the Dask worker could not prepare it: "
                f"{type(exc).__name__}: {exc}",
            )
    finally:
        _unregister(dask_key)
    blob = pickle.dumps(reply)
    worker.log_event(TOPIC, {**base, "seq": next(seq), "reply": blob})
    return {**base, "events": events, "reply": blob}


def _claim(worker: Any, run_id: str, dask_key: str, address: str) -> Any:
    """Record in the scheduler that this attempt has started here; return the address
    recorded by an earlier run of the same attempt, if any (attempts run one after
    another, so a read then a write is enough)."""
    from distributed.utils import sync

    return sync(worker.loop, _claim_on_loop, worker.scheduler, [CLAIMS, run_id, dask_key], address)


async def _claim_on_loop(scheduler: Any, path: list[str], address: str) -> Any:
    previous = await scheduler.get_metadata(keys=path, default=None)
    if previous is None:
        await scheduler.set_metadata(keys=path, value=address)
    return previous


def _unregister(dask_key: str) -> None:
    """Forget the running attempt, and drop a ``StepTerminated`` that ``interrupt_steps``
    sent just before: it must not surface in Dask's own code after the task."""
    while True:
        try:
            with _running_lock:
                _running.pop(dask_key, None)
            set_async_exception(threading.get_ident(), None)
            return
        except StepTerminated:
            continue


def interrupt_steps(dask_keys: list[str], run_id: str | None = None) -> list[str]:
    """Raise ``StepTerminated`` in the threads running these attempts on this worker, if
    they are still running (it takes effect at each step's next Python instruction); return
    the keys interrupted. The run (``run_id``) is marked canceled here first, so that a
    step that cannot be interrupted at once (blocked in a C call) or that swallows the
    interruption can no longer store an output nor succeed. Run on workers by the
    executor's ``terminate``."""
    state = WORKER.runs.get(run_id) if run_id is not None else None
    if state is not None:
        state.run.status = RunStatus.CANCELING
    interrupted = []
    with _running_lock:
        for dask_key in dask_keys:
            ident = _running.get(dask_key)
            if ident is not None:
                set_async_exception(ident, StepTerminated)
                interrupted.append(dask_key)
    return interrupted


def still_running(dask_keys: list[str]) -> int | None:
    """This worker's process id if it still runs one of these attempts (a terminated step
    blocked in a C call), else None. Run on workers by the executor's ``stop``."""
    with _running_lock:
        if any(key in _running for key in dask_keys):
            return os.getpid()
    return None


def finish_run(run_id: str) -> list[dict[str, Any]]:
    """Tear down what this worker built for the run; return events (as dicts) for the
    orchestrator to emit: a ``RESOURCE_TEARDOWN_FAILURE`` if the teardown raised."""
    return WORKER.finish_run(run_id, f" in Dask worker process {os.getpid()}")
