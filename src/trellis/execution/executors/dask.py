"""``DaskExecutor``: steps on a Dask distributed cluster, an existing one (by scheduler
address) or a ``LocalCluster`` started for the run.

The orchestration loop stays here: it launches only ready steps, in plan order, so Dask
needs no dependency futures. Each launch submits ``dask_task.run_step`` (a module-level
function, pickled by reference) with the step's ``StepRequest``; the worker loads the
job's code by its ``CodePointer``, builds the plan and the step's resources once per run
and runs the step with the same step code as in process. Its events are streamed back
while the step runs, through the scheduler's event topic (``dask_task.TOPIC``), and
emitted here in order, so this process stays the single writer of the event log.

A worker that dies mid-step fails that step as crashed (``StepWorkerCrashedError``), or
retries it when the step's ``RetryPolicy`` allows: noticed from the scheduler's
``remove-worker`` event, from a re-run of the task that finds the attempt already
claimed (``dask_task.run_step`` never runs an attempt's user code twice), or from a
``KilledWorker`` error. Steps may ask for Dask worker resources with the step tag
``trellis-dask/resources`` (a JSON object, e.g. ``{"GPU": 1}``; Dagster's
``dagster-dask/resource_requirements`` is read too).

A canceled run's running attempts are canceled on the cluster and their threads
interrupted at their next Python instruction (``dask_task.interrupt_steps``, which also
keeps a step that cannot stop at once from storing an output or succeeding). On the
``LocalCluster`` started for the run, whose workers ignore SIGINT (a terminal's Ctrl-C
reaches the whole process group: the run handles it), a worker still running such a step
a second later is killed before the cluster is closed.

Dask is imported only here and in ``dask_task``: ``import trellis`` never imports it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.errors import InvalidDefinitionError, StepWorkerCrashedError
from trellis.core.events import ErrorInfo
from trellis.core.serialization import event_from_dict
from trellis.execution.executors.base import Executor, crash_outcome
from trellis.execution.remote.worker import request_for
from trellis.execution.step import StepOutcome, StepStatus

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext

WAIT_SECONDS = 0.25
"""The longest ``wait`` blocks without a step ending (the loop then checks for a cancel)."""

RELEASE_SECONDS = 2.0
"""How often the results of ended attempts are released on the cluster, at most."""

BLOCKED_STEP_SECONDS = 1.0
"""How long ``stop`` lets a terminated step of the run's local cluster reach its next
Python instruction (and its ``finally`` blocks) before its worker process is killed."""

RESOURCE_TAGS = ("trellis-dask/resources", "dagster-dask/resource_requirements")
"""Step tags holding the Dask worker resources a step needs, as a JSON object."""


class DaskExecutor(Executor):
    """Runs steps on a Dask distributed cluster, at most one per worker thread at once.

    ``cluster``: ``{"existing": {"address": "tcp://host:8786"}}`` or
    ``{"local": {"n_workers": 2, "threads_per_worker": 1}}`` (a ``LocalCluster`` of
    worker processes, started in ``start`` and closed in ``stop``).
    ``timeout``: seconds to wait for the scheduler and for a first worker.
    """

    name = "dask"
    crosses_processes = True

    def __init__(self, cluster: dict[str, Any] | None = None, timeout: float = 60.0) -> None:
        cluster = dict(cluster or {"local": {}})
        if len(cluster) != 1 or next(iter(cluster)) not in ("existing", "local"):
            raise ValueError("cluster must be {'existing': {'address': ...}} or {'local': {...}}")
        self.cluster = cluster
        self.timeout = timeout
        self.client: Any = None
        self._cluster: Any = None
        self._run_id = ""
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._running: dict[str, _Attempt] = {}  # by Dask key
        self._to_release: list[Any] = []
        self._released_at = 0.0
        self._resources: dict[str, dict[str, float]] = {}
        self._threads = 1
        self._threads_checked = 0.0
        self._abandoned: list[str] = []  # Dask keys of attempts terminated

    # -- starting --------------------------------------------------------------------------
    def start(self, plan_context: PlanOrchestrationContext) -> None:
        """Connect to the cluster (starting a local one if asked) and subscribe to the
        step events and to the cluster's worker events."""
        plan = plan_context.plan
        self._resources = {
            key: parsed
            for key in plan.step_keys_to_execute
            if (parsed := step_resources(key, plan.steps[key].tags)) is not None
        }
        self._run_id = plan_context.run.run_id
        self._abandoned = []
        import distributed

        from trellis.execution.executors.dask_task import TOPIC

        kind, options = next(iter(self.cluster.items()))
        try:
            if kind == "local":
                # Ctrl-C in a terminal signals the whole process group: the run's own
                # workers ignore it (they inherit SIG_IGN), and are closed by ``stop``
                # once the run's cancellation has torn their resources down.
                self._cluster = start_local_cluster(
                    options.get("n_workers", 2), options.get("threads_per_worker", 1)
                )
                address = self._cluster.scheduler_address
            else:
                address = options["address"]
            try:
                self.client = distributed.Client(
                    address, timeout=self.timeout, set_as_default=False
                )
                self.client.wait_for_workers(1, timeout=self.timeout)
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(
                    f"The Dask executor could not use the cluster at {address}: {exc}. Start "
                    "a scheduler and workers (`dask scheduler`, `dask worker ADDRESS`) or "
                    "check the address in execution config."
                ) from exc
            self.client.subscribe_topic(TOPIC, self._on_step_message)
            self.client.subscribe_topic("all", self._on_cluster_event)
            self._threads = max(1, sum(self.client.nthreads().values()))
            self._threads_checked = time.monotonic()
            if self._resources:
                self._warn_unmet_resources(plan_context)
        except BaseException:
            self._close()
            raise

    def _warn_unmet_resources(self, plan_context: PlanOrchestrationContext) -> None:
        """Warn about steps whose Dask resources no worker offers now: they wait until
        a worker that offers them joins the cluster."""
        offered = [
            info.get("resources") or {} for info in self.client.scheduler_info()["workers"].values()
        ]
        unmet = sorted(
            key
            for key, needs in self._resources.items()
            if not any(all(o.get(n, 0) >= v for n, v in needs.items()) for o in offered)
        )
        if unmet:
            run = plan_context.run
            plan_context.emit(
                event_factory.engine_event(
                    run.run_id,
                    run.job_name,
                    f"No Dask worker offers the resources that step(s) {unmet} ask "
                    f"for (tag {RESOURCE_TAGS[0]}); they wait until such a worker joins.",
                    level=logging.WARNING,
                )
            )

    def _on_step_message(self, event: tuple[float, Any]) -> None:
        """Called on the client's thread for each message on the step topic."""
        message = event[1]
        if isinstance(message, dict) and message.get("run") == self._run_id:
            self._inbox.put(("message", message))

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        message = event[1]
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            self._inbox.put(("removed", message.get("worker")))

    # -- launching -------------------------------------------------------------------------
    def free_slots(self) -> int:
        """Worker threads of the cluster (looked up at most once a second) minus the
        steps running."""
        now = time.monotonic()
        if now - self._threads_checked > 1.0 and self.client is not None:
            self._threads_checked = now
            try:
                self._threads = max(1, sum(self.client.nthreads().values()))
            except Exception:
                pass
        return self._threads - len(self._running)

    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Submit one step attempt to the cluster."""
        from trellis.execution.executors.dask_task import run_step

        request = request_for(plan_context, step_key, retry_number)
        dask_key = f"trellis-{self._run_id}-{step_key}-{retry_number}"
        attempt = _Attempt(dask_key, step_key, retry_number)
        self._running[dask_key] = attempt
        attempt.future = self.client.submit(
            run_step,
            request,
            dask_key,
            key=dask_key,
            pure=False,
            resources=self._step_resources(plan_context, step_key),
        )
        attempt.future.add_done_callback(lambda _: self._inbox.put(("done", dask_key)))
        now = time.monotonic()
        if self._to_release and now - self._released_at > RELEASE_SECONDS:
            # Ended attempts' results are dropped in batches: each message the client
            # sends delays its next one (the next submission) by up to 10 ms.
            self._released_at = now
            for future in self._to_release:
                future.release()
            self._to_release.clear()

    def _step_resources(
        self, plan_context: PlanOrchestrationContext, step_key: str
    ) -> dict[str, float] | None:
        """The Dask resources a step asks for (a mapped step ``op[k]``: its node's tag)."""
        found = self._resources.get(step_key)
        if found is None and plan_context.plan.dynamic is not None and step_key.endswith("]"):
            found = step_resources(step_key, plan_context.plan.steps[step_key].tags)
        return found

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Emit the events that arrive and return the attempts that ended (none after a
        quarter of a second, so the loop can look for a cancellation)."""
        outcomes: list[StepOutcome] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while not outcomes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._inbox.get(timeout=remaining)
            except queue.Empty:
                break
            self._handle(plan_context, item, outcomes)
            self._drain(plan_context, outcomes)
        return outcomes

    def _drain(self, plan_context: PlanOrchestrationContext, outcomes: list[StepOutcome]) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(plan_context, item, outcomes)

    def _handle(
        self, plan_context: PlanOrchestrationContext, item: tuple[str, Any], outcomes: list
    ) -> None:
        kind, payload = item
        if kind == "message":
            attempt = self._running.get(payload.get("key"))
            if attempt is None:
                return  # an attempt that has ended (or another run's)
            attempt.worker = payload.get("worker") or attempt.worker
            if "crashed" in payload:
                outcomes.append(self._crash(plan_context, attempt, payload["crashed"]))
                return
            attempt.pending[payload["seq"]] = payload
            while attempt.next_seq in attempt.pending:
                message = attempt.pending.pop(attempt.next_seq)
                attempt.next_seq += 1
                if "event" in message:
                    plan_context.emit(event_from_dict(message["event"]))
                else:
                    outcomes.append(self._end(attempt, pickle.loads(message["reply"])))
        elif kind == "removed":
            for attempt in list(self._running.values()):
                if attempt.worker is not None and attempt.worker == payload:
                    outcomes.append(self._crash(plan_context, attempt, payload))
        elif kind == "done":
            attempt = self._running.get(payload)
            if attempt is not None:
                outcomes.append(self._on_done(plan_context, attempt))

    def _on_done(self, plan_context: PlanOrchestrationContext, attempt: _Attempt) -> StepOutcome:
        """The task ended before its last streamed message arrived: take the events and
        the reply from its result, or turn its error into the step's failure."""
        future = attempt.future
        status = future.status
        if status == "finished":
            try:
                result = future.result(timeout=self.timeout)
            except Exception as exc:
                return self._crash(plan_context, attempt, attempt.worker, exc)
            if "crashed" in result:
                return self._crash(plan_context, attempt, result["crashed"])
            for event in result["events"][attempt.next_seq :]:
                plan_context.emit(event_from_dict(event))
            return self._end(attempt, pickle.loads(result["reply"]))
        exception: BaseException | None = None
        if status == "error":
            try:
                exception = future.exception(timeout=self.timeout)
            except Exception as exc:
                exception = exc
            if type(exception).__name__ != "KilledWorker":
                return self._framework_failure(plan_context, attempt, exception)
        elif status == "cancelled":
            exception = RuntimeError("its Dask task was canceled by the cluster or another client")
        return self._crash(plan_context, attempt, attempt.worker, exception)

    def _end(self, attempt: _Attempt, reply: Any) -> StepOutcome:
        self._forget(attempt)
        return reply.to_outcome()

    def _forget(self, attempt: _Attempt) -> None:
        self._running.pop(attempt.dask_key, None)
        if attempt.future is not None:
            self._to_release.append(attempt.future)

    def _crash(
        self,
        plan_context: PlanOrchestrationContext,
        attempt: _Attempt,
        worker: str | None,
        cause: BaseException | None = None,
    ) -> StepOutcome:
        """End an attempt whose worker died: a retry if the step's ``RetryPolicy`` still
        allows one, else a failure."""
        self._forget(attempt)
        if attempt.future is not None and not attempt.future.done():
            self.client.cancel([attempt.future], force=True)
        where = f" ({worker})" if worker else ""
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        exc = StepWorkerCrashedError(
            f"The Dask worker{where} running step '{attempt.step_key}' died before the step "
            f"ended (killed, segfault or out of memory){detail}."
        )
        return crash_outcome(plan_context, attempt.step_key, attempt.retry_number, exc)

    def _framework_failure(
        self,
        plan_context: PlanOrchestrationContext,
        attempt: _Attempt,
        exception: BaseException | None,
    ) -> StepOutcome:
        self._forget(attempt)
        run = plan_context.run
        exc = exception or RuntimeError("the Dask task failed")
        plan_context.emit(
            event_factory.step_failure(
                run.run_id,
                run.job_name,
                attempt.step_key,
                f"Step '{attempt.step_key}' failed: its Dask task failed: "
                f"{type(exc).__name__}: {exc}",
                error=ErrorInfo.from_exception(exc),
                error_source="FRAMEWORK_ERROR",
            )
        )
        return StepOutcome(attempt.step_key, StepStatus.FAILURE, exception=exc)

    # -- the end ---------------------------------------------------------------------------
    def terminate(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Stop the running steps now: emit what has arrived, cancel their tasks, and
        interrupt the threads running them (at their next Python instruction; a local
        cluster's workers are closed in ``stop``, which ends a step blocked in a C call
        too). Return the outcomes of attempts that ended meanwhile."""
        ended: list[StepOutcome] = []
        self._drain(plan_context, ended)
        self._abandon(list(self._running.values()))
        return ended

    def _abandon(self, attempts: list[_Attempt]) -> None:
        """Cancel these attempts' tasks and interrupt the threads running them."""
        from trellis.execution.executors.dask_task import interrupt_steps

        if not attempts:
            return
        for attempt in attempts:
            self._forget(attempt)
            self._abandoned.append(attempt.dask_key)
        try:
            self.client.cancel([a.future for a in attempts if a.future is not None], force=True)
        except Exception:  # a cluster that is going away
            pass
        workers = sorted({a.worker for a in attempts if a.worker is not None})
        if workers:
            try:
                self.client.run(
                    interrupt_steps,
                    [a.dask_key for a in attempts],
                    self._run_id,
                    workers=workers,
                    on_error="ignore",
                )
            except Exception:
                pass

    def stop(self, plan_context: PlanOrchestrationContext) -> None:
        """Ask every worker to tear down what it built for the run (emitting any
        teardown failure), then disconnect, and close the local cluster if there is one."""
        if self.client is None:
            return
        from trellis.execution.executors.dask_task import CLAIMS, finish_run

        run = plan_context.run
        self._abandon(list(self._running.values()))
        try:
            results = self.client.run(finish_run, run.run_id, on_error="return")
        except Exception as exc:
            results = {"cluster": exc}
        for worker, result in sorted(results.items()):
            if isinstance(result, BaseException):
                plan_context.emit(
                    event_factory.engine_event(
                        run.run_id,
                        run.job_name,
                        f"Could not ask Dask worker {worker} to tear down the run's "
                        f"resources: {type(result).__name__}: {result}",
                        level=logging.WARNING,
                    )
                )
                continue
            for event in result:
                plan_context.emit(event_from_dict(event))
        try:
            self.client.set_metadata([CLAIMS, run.run_id], None)
        except Exception:
            pass
        self._kill_blocked_workers()
        self._close()

    def _kill_blocked_workers(self) -> None:
        """The run's own local cluster only: kill the worker processes still running a
        terminated step after ``BLOCKED_STEP_SECONDS`` (blocked in a C call; its resources
        are torn down already), so that closing the cluster ends that step now, not after
        the workers' own timeouts."""
        if self._cluster is None or not self._abandoned:
            return
        from trellis.execution.executors.dask_task import still_running

        deadline = time.monotonic() + BLOCKED_STEP_SECONDS
        while True:
            try:
                found = self.client.run(still_running, self._abandoned, on_error="return")
            except Exception:
                return
            pids = [p for p in found.values() if isinstance(p, int) and p != os.getpid()]
            if not pids or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _close(self) -> None:
        from trellis.execution.executors.dask_task import TOPIC

        client, cluster = self.client, self._cluster
        self.client = self._cluster = None
        self._to_release.clear()
        if client is not None:
            for topic in (TOPIC, "all"):
                try:
                    client.unsubscribe_topic(topic)
                except Exception:
                    pass
            client.close()
        if cluster is not None:
            cluster.close()


def start_local_cluster(n_workers: int, threads_per_worker: int) -> Any:
    """A ``LocalCluster`` of ``n_workers`` worker processes on 127.0.0.1 (no dashboard),
    whose workers ignore SIGINT: a terminal's Ctrl-C, which reaches the whole process
    group, is for the process that started them to handle (the Dask run launcher uses it
    too)."""
    import distributed

    with _sigint_ignored():
        return distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # No dashboard; its HTTP server (health checks) on a free port.
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this process while the block runs (on the main thread only), so
    that the processes started meanwhile ignore it for good (an ignored signal stays
    ignored across ``exec``). A Ctrl-C in that second is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Attempt:
    """One submitted step attempt: its Dask key and future, the worker running it, and
    the streamed messages not yet emitted (kept in sequence order)."""

    __slots__ = ("dask_key", "future", "next_seq", "pending", "retry_number", "step_key", "worker")

    def __init__(self, dask_key: str, step_key: str, retry_number: int) -> None:
        self.dask_key = dask_key
        self.step_key = step_key
        self.retry_number = retry_number
        self.future: Any = None
        self.worker: str | None = None
        self.next_seq = 0
        self.pending: dict[int, dict[str, Any]] = {}


def step_resources(step_key: str, tags: dict[str, str]) -> dict[str, float] | None:
    """The Dask worker resources a step asks for in its tags (``trellis-dask/resources``,
    a JSON object of names to amounts), or None; a malformed tag is a definition error."""
    for tag in RESOURCE_TAGS:
        raw = tags.get(tag)
        if raw is None:
            continue
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            value = exc
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            raise InvalidDefinitionError(
                f"Tag '{tag}' of step '{step_key}' must be a JSON object of Dask resource "
                f"names to amounts, e.g. '{{\"GPU\": 1}}', not {raw!r}."
            )
        return {k: float(v) for k, v in value.items()}
    return None
