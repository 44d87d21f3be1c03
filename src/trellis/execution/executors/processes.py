"""``MultiprocessExecutor``: steps on a warm pool of worker processes.

The pool (``max_concurrent`` processes, started with the configured start method) is
started once per run and reused for all its steps: a worker loads the job's code by
reference once, builds the plan once per run and the resources its steps need once per
run (``trellis.execution.remote.worker``), and tears them down when the run ends.

Each worker talks to the orchestrator over a pipe of its own (not a queue shared by all
workers: a worker killed while holding a shared queue's write lock would block the
others forever). The orchestrator sends ``("step", StepRequest)`` and
``("finish", run_id)``; the worker sends back ``("event", event_dict)`` for each event
while the step runs, then ``("reply", StepReply)``. The orchestrator emits the events
into the run as they arrive, so it stays the single writer of the event log and progress
stays live. A worker that dies mid-step (its ``Process.sentinel`` becomes ready) fails
that step as crashed, or retries it when its ``RetryPolicy`` allows, and is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection, wait as wait_for_ready
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.errors import StepTerminated, StepWorkerCrashedError
from trellis.core.run import RunStatus
from trellis.core.serialization import event_from_dict
from trellis.execution.executors.base import Executor, crash_outcome
from trellis.execution.remote.worker import (
    WORKER,
    failed_reply,
    request_for,
)
from trellis.execution.step import StepOutcome

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext

WAIT_SECONDS = 0.25
"""The longest ``wait`` blocks without a step ending (the loop then checks for a cancel)."""

START_METHODS = ("spawn", "forkserver", "fork")

DRAIN_LIMIT = 1000


class MultiprocessExecutor(Executor):
    """Runs up to ``max_concurrent`` steps at once on a pool of worker processes that is
    started once per run and reused for its steps.

    ``start_method``: ``spawn`` (default), ``forkserver`` or ``fork``.
    ``shutdown_timeout``: seconds ``stop`` waits for workers to tear their resources
    down before killing them.
    """

    name = "multiprocess"
    crosses_processes = True

    def __init__(
        self,
        max_concurrent: int | None = None,
        start_method: str = "spawn",
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        max_concurrent = max_concurrent or os.cpu_count() or 2
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if start_method not in START_METHODS:
            raise ValueError(f"start_method must be one of {START_METHODS}, not {start_method!r}")
        self.max_concurrent = max_concurrent
        self.start_method = start_method
        self.tag_concurrency_limits = list(tag_concurrency_limits or [])
        self.shutdown_timeout = shutdown_timeout
        self._context: Any = None
        self._workers: list[_Worker] = []
        self._next_index = 0

    # -- the pool ----------------------------------------------------------------------
    def start(self, plan_context: PlanOrchestrationContext) -> None:
        """Start the pool's worker processes (they boot in parallel)."""
        self._context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # Workers fork from a server that has imported Trellis already.
            self._context.set_forkserver_preload(["trellis.execution.remote.worker"])
        steps = len(plan_context.plan.step_keys_to_execute)
        for _ in range(max(1, min(self.max_concurrent, steps))):
            self._spawn()

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        index = self._next_index
        self._next_index += 1
        process = self._context.Process(
            target=worker_main,
            args=(child_end, index),
            name=f"trellis-worker-{index}",
        )
        process.start()
        child_end.close()  # the worker's end lives in the worker: its death means EOF
        worker = _Worker(index, process, parent_end)
        self._workers.append(worker)
        return worker

    def free_slots(self) -> int:
        """Workers not busy with a step."""
        return self.max_concurrent - sum(1 for w in self._workers if w.step_key is not None)

    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Hand one step attempt to an idle worker (starting one if a worker died)."""
        request = request_for(plan_context, step_key, retry_number)
        while True:
            worker = next((w for w in self._workers if w.idle), None)
            if worker is None:
                worker = self._spawn()
            try:
                worker.conn.send(("step", request))
            except OSError:  # the worker died while idle: drop it, use another
                self._discard(worker)
                continue
            worker.step_key = step_key
            worker.retry_number = retry_number
            return

    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Emit the events that arrive and return the attempts that ended (none after a
        quarter of a second, so the loop can look for a cancellation)."""
        outcomes: list[StepOutcome] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while not outcomes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._poll(plan_context, outcomes, remaining)
        return outcomes

    def _poll(
        self, plan_context: PlanOrchestrationContext, outcomes: list[StepOutcome], timeout: float
    ) -> None:
        """Wait up to ``timeout`` for messages or deaths, and handle what is ready."""
        workers = [w for w in self._workers if not w.gone]
        if not workers:
            time.sleep(timeout)
            return
        by_object: dict[Any, _Worker] = {}
        for worker in workers:
            by_object[worker.conn] = worker
            by_object[worker.process.sentinel] = worker
        ready = wait_for_ready(list(by_object), timeout)
        for worker in {id(by_object[r]): by_object[r] for r in ready}.values():
            self._drain(plan_context, worker, outcomes)

    def _drain(
        self, plan_context: PlanOrchestrationContext, worker: _Worker, outcomes: list[StepOutcome]
    ) -> None:
        """Read the messages the worker has sent (at most ``DRAIN_LIMIT``, so a chatty
        step cannot starve the others); notice when it has died."""
        conn = worker.conn
        alive = worker.process.is_alive()  # first: what a dead worker sent is all buffered
        try:
            for _ in range(DRAIN_LIMIT):
                if not conn.poll():
                    break
                self._handle(plan_context, worker, conn.recv(), outcomes)
            else:
                return  # more to read: the pipe stays ready for the next poll
        except (EOFError, OSError):
            alive = False
        if not alive:
            self._on_death(plan_context, worker, outcomes)

    def _handle(
        self,
        plan_context: PlanOrchestrationContext,
        worker: _Worker,
        message: tuple[str, Any],
        outcomes: list[StepOutcome],
    ) -> None:
        kind, payload = message
        if kind == "event":
            if worker.terminating and payload.get("step_key") is not None:
                return  # the loop has already recorded the terminated step's end
            plan_context.emit(event_from_dict(payload))
        elif kind == "reply":
            if worker.step_key is not None and not worker.terminating:
                outcomes.append(payload.to_outcome())
            worker.step_key = None

    def _on_death(
        self, plan_context: PlanOrchestrationContext, worker: _Worker, outcomes: list[StepOutcome]
    ) -> None:
        worker.process.join(1.0)
        if worker.step_key is not None and not worker.terminating:
            outcomes.append(
                _crash_outcome(plan_context, worker.step_key, worker.retry_number, worker.process)
            )
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.gone = True
        if worker in self._workers:
            self._workers.remove(worker)
        worker.conn.close()
        process = worker.process
        if process.exitcode is None:
            process.kill()
            process.join(1.0)
        if process.exitcode is not None:
            process.close()  # its sentinel's file descriptor

    # -- the end -----------------------------------------------------------------------
    def terminate(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Stop the running steps now: emit what their workers have sent so far, then
        ask each busy worker to abort (SIGTERM: the step is interrupted and the worker
        tears its resources down in ``stop``; ``stop`` kills it if it does not exit).
        Return the outcomes of steps that ended meanwhile."""
        outcomes: list[StepOutcome] = []
        for worker in list(self._workers):
            if worker.step_key is not None:
                self._drain(plan_context, worker, outcomes)
        for worker in self._workers:
            if worker.step_key is not None:
                worker.terminating = True
                worker.step_key = None
                _signal(worker.process, signal.SIGTERM)
        return outcomes

    def stop(self, plan_context: PlanOrchestrationContext) -> None:
        """Tell every worker the run is over (each tears its resources down and exits),
        emit what they send meanwhile, kill those that have not exited after
        ``shutdown_timeout`` seconds, and close the pipes."""
        run_id = plan_context.run.run_id
        for worker in list(self._workers):
            if worker.step_key is not None:  # a step left running (a framework error)
                worker.terminating = True
                worker.step_key = None
                _signal(worker.process, signal.SIGTERM)
            elif not worker.terminating:
                try:
                    worker.conn.send(("finish", run_id))
                except OSError:
                    pass
        deadline = time.monotonic() + self.shutdown_timeout
        ignored: list[StepOutcome] = []
        while self._workers and time.monotonic() < deadline:
            self._poll(plan_context, ignored, min(WAIT_SECONDS, deadline - time.monotonic()))
        for worker in list(self._workers):
            if worker.process.is_alive():
                plan_context.emit(
                    event_factory.engine_event(
                        run_id,
                        plan_context.run.job_name,
                        f"Worker process {worker.process.pid} did not exit within "
                        f"{self.shutdown_timeout:g}s after the run ended; killed it.",
                        level=logging.WARNING,
                    )
                )
            self._discard(worker)


class _Worker:
    """The orchestrator's handle on one worker process."""

    __slots__ = ("conn", "gone", "index", "process", "retry_number", "step_key", "terminating")

    def __init__(self, index: int, process: Any, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.step_key: str | None = None
        self.retry_number = 0
        self.terminating = False
        self.gone = False

    @property
    def idle(self) -> bool:
        return self.step_key is None and not self.terminating and not self.gone


def _signal(process: Any, signum: int) -> None:
    if process.pid is None or process.exitcode is not None:
        return
    try:
        os.kill(process.pid, signum)
    except ProcessLookupError:
        pass


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, for messages: a signal's name or an exit code."""
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = "; the out-of-memory killer sends SIGKILL" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}, exit code {exitcode}{hint}"
    return f"exit code {exitcode}"


def _crash_outcome(
    plan_context: PlanOrchestrationContext, step_key: str, retry_number: int, process: Any
) -> StepOutcome:
    """The outcome of a step whose worker process died (see ``crash_outcome``)."""
    what = f"its worker process (pid {process.pid}) died unexpectedly"
    what += f" ({describe_exit(process.exitcode)})"
    exc = StepWorkerCrashedError(f"Step '{step_key}' crashed: {what}.")
    return crash_outcome(plan_context, step_key, retry_number, exc, process.exitcode)


# -- the worker process --------------------------------------------------------------------


class _Terminated(BaseException):
    """Raised in a worker by SIGTERM: the orchestrator canceled the step."""


class _Channel:
    """The worker's end of its pipe. A SIGTERM that arrives while a message is being
    written takes effect once it is written, so the pipe never holds half a message."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sending = False
        self.terminate_pending = False
        self.orphaned = False  # the orchestrator is gone: nobody reads any more

    def send(self, message: tuple[str, Any]) -> None:
        if self.orphaned:
            return
        self.sending = True
        try:
            self.conn.send(message)
        finally:
            self.sending = False
        if self.terminate_pending:
            self.terminate_pending = False
            raise _Terminated

    def on_sigterm(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the first one interrupts
        for state in list(WORKER.runs.values()):  # a step that swallows the interruption
            state.run.status = RunStatus.CANCELING  # can no longer store nor succeed
        if self.sending and not self.orphaned:
            self.terminate_pending = True
        else:
            raise _Terminated

    def watch_parent(self) -> None:
        """In a thread: when the orchestrator dies, stop the step (a SIGTERM to this
        process), so that no step outlives its run."""
        parent = multiprocessing.parent_process()
        if parent is None or parent.sentinel is None:
            return
        wait_for_ready([parent.sentinel])
        self.orphaned = True
        os.kill(os.getpid(), signal.SIGTERM)


def worker_main(conn: Connection, index: int) -> None:
    """A worker's loop: run the steps it is sent until the run is finished (or its
    step is terminated), then tear the run's resources down and exit."""
    channel = _Channel(conn)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    signal.signal(signal.SIGTERM, channel.on_sigterm)
    threading.Thread(target=channel.watch_parent, name="trellis-parent-watch", daemon=True).start()

    def send_event(event: dict[str, Any]) -> None:
        channel.send(("event", event))

    try:
        while True:
            kind, payload = conn.recv()
            if kind == "finish":
                break
            try:
                reply = WORKER.execute(payload, send_event)
            except Exception as exc:  # the code or the plan could not be loaded
                reply = failed_reply(
                    payload,
                    exc,
                    send_event,
                    f"Step '{payload.step_key}' failed: the worker process could not prepare "
                    f"it: {type(exc).__name__}: {exc}",
                )
            channel.send(("reply", reply))
    except (_Terminated, StepTerminated):
        pass
    except (EOFError, OSError):  # the orchestrator is gone
        channel.orphaned = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _finish_runs(send_event)
    conn.close()


def _finish_runs(send_event: Any) -> None:
    for run_id in list(WORKER.runs):
        try:
            for event in WORKER.finish_run(run_id, f" in worker process {os.getpid()}"):
                send_event(event)
        except Exception:
            pass
