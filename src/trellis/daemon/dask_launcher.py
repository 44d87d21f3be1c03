"""``DaskRunLauncher``: launches each claimed run as a task on a Dask distributed cluster,
an existing one (by scheduler address) or a ``LocalCluster`` the launcher starts (with
the Dask executor's settings: ``start_local_cluster``).

The task (``run_on_worker``, a module-level function, pickled by reference) opens the
instance from its reference and runs the same entry as ``run_worker.py``
(``execute_launched_run``): it takes the run (``begin_launched_run``) and executes it in
the Dask worker's process, writing to the same instance. A run therefore runs on a worker
thread; the worker's output holds what it prints. The task is not retried by Dask (a run
launched twice still runs once, but a worker lost mid-run is the run monitor's to fail).

A worker imports a code location once and keeps it, but looks at the files of the user's
modules before each run (``SourceWatch``, the rule of ``trellis daemon --reload``): when
one changed, it imports the code afresh, so a run runs the code on disk when it starts,
as under the subprocess launcher's new interpreter per run.

A task that ends calls ``on_exit`` (from the client's thread) and is reported by ``poll``
with the code the entry returned, or -1 when the task raised or was lost, so the queue
fails a run still STARTING. ``dispose`` closes the client (runs on an existing cluster go
on); a ``LocalCluster`` the launcher started is closed once the runs on it have ended, so
a daemon that stops waits for them.

Dask is imported only when the launcher connects: ``import trellis`` never imports it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from trellis.core.errors import InstanceError
from trellis.core.run import CODE_LOCATION_TAG, Run
from trellis.daemon.launcher import LaunchExit, RunLauncher, encode_instance_ref

TASK_PREFIX = "trellis-run-"
"""The Dask key of a run's task is this prefix and the run id."""


_WATCHES: dict[str, Any] = {}  # code location tag -> its SourceWatch, in a worker
_WATCHES_LOCK = threading.Lock()


def _current_code(tag: str | None) -> None:
    """In a worker: import the code location ``tag`` afresh when a file of its user's
    modules changed since this worker imported it (first use: import it and watch it).
    Under a lock: runs on the worker's other threads import at the same moment."""
    if not tag:
        return  # the run has no code location: execute_launched_run says so
    from trellis.daemon.code_location import pointer_from_tag
    from trellis.daemon.code_reload import code_root
    from trellis.execution.remote.source_watch import SourceWatch

    with _WATCHES_LOCK:
        pointer = pointer_from_tag(tag)
        watch = _WATCHES.get(tag)
        if watch is not None and not watch.changed_files():
            return
        if watch is None:
            target = Path(pointer.file) if pointer.file is not None else None
            watch = _WATCHES[tag] = SourceWatch(code_root(pointer), target)
        watch.before_load()
        try:
            pointer.load_definitions()
        except Exception:  # the run's own load reports it on the run
            pass
        finally:
            watch.after_load()


def run_on_worker(instance_ref: str, run_id: str, code_location: str | None = None) -> int:
    """On a Dask worker: open the instance ``instance_ref`` (``encode_instance_ref``) and
    run the launched run ``run_id`` there, with the code of ``code_location`` (its tag)
    as it is on disk now; the entry's exit code."""
    from trellis.daemon.run_worker import execute_launched_run
    from trellis.instance.instance import Instance
    from trellis.instance.ref import InstanceRef

    _current_code(code_location)
    instance = Instance.from_ref(InstanceRef(**json.loads(instance_ref)))
    try:
        return execute_launched_run(instance, run_id)
    finally:
        instance.dispose()


class DaskRunLauncher(RunLauncher):
    """Launches runs on a Dask cluster (see the module docstring).

    ``address``: a scheduler address (``tcp://host:8786``); without one the launcher starts
    a ``LocalCluster`` of ``n_workers`` processes with ``threads_per_worker`` threads each
    (how many runs run at once on it). ``timeout``: seconds to wait for the scheduler and a
    first worker.
    """

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        timeout: float = 60.0,
    ) -> None:
        if address is not None and not address.strip():
            raise ValueError("DaskRunLauncher: address is empty (give tcp://host:port or None)")
        if n_workers < 1 or threads_per_worker < 1:
            raise ValueError(
                f"DaskRunLauncher: n_workers ({n_workers}) and threads_per_worker "
                f"({threads_per_worker}) must be at least 1"
            )
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.timeout = timeout
        self.client: Any = None
        self._cluster: Any = None
        self._running: dict[str, Any] = {}  # run id -> its task's future
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        """The client, connecting (and starting the local cluster) on first use."""
        if self.client is not None:
            return self.client
        import distributed

        from trellis.execution.executors.dask import start_local_cluster

        address = self.address
        if address is None:
            if self._cluster is None:
                self._cluster = start_local_cluster(self.n_workers, self.threads_per_worker)
            address = self._cluster.scheduler_address
        try:
            client = distributed.Client(address, timeout=self.timeout, set_as_default=False)
            client.wait_for_workers(1, timeout=self.timeout)
        except (OSError, TimeoutError) as exc:
            raise InstanceError(
                f"The Dask run launcher could not use the cluster at {address}: {exc}. Start "
                "a scheduler and workers (`dask scheduler`, `dask worker ADDRESS`) or check "
                "`--dask-address`."
            ) from exc
        self.client = client
        return client

    def prepare(self, instance: Any) -> None:
        """Connect to the cluster now (the daemon does, at start)."""
        encode_instance_ref(instance)  # an ephemeral instance cannot be reached: say so now
        self._connect()

    def launch_run(self, run: Run, instance: Any) -> None:
        """Submit the run's task to the cluster and return."""
        ref = encode_instance_ref(instance)
        client = self._connect()
        future = client.submit(
            run_on_worker,
            ref,
            run.run_id,
            run.tags.get(CODE_LOCATION_TAG),
            key=f"{TASK_PREFIX}{run.run_id}",
            pure=False,
        )
        with self._lock:
            self._running[run.run_id] = future
        callback = self.on_exit
        if callback is not None:
            future.add_done_callback(lambda _future: callback())

    def poll(self) -> list[LaunchExit]:
        """The run tasks that ended: the entry's exit code, or -1 when the task failed."""
        ended: list[LaunchExit] = []
        with self._lock:
            for run_id, future in list(self._running.items()):
                if not future.done():
                    continue
                del self._running[run_id]
                code = -1
                if future.status == "finished":
                    try:
                        code = int(future.result(timeout=self.timeout))
                    except Exception:
                        code = -1
                future.release()
                ended.append(LaunchExit(run_id, code))
        return ended

    @property
    def running(self) -> int:
        """How many launched run tasks have not ended (or not been reported) yet."""
        with self._lock:
            return len(self._running)

    def dispose(self) -> None:
        """Close the client; the ``LocalCluster`` the launcher started is closed once the
        runs launched on it have ended (they cannot go on without it)."""
        with self._lock:
            futures = list(self._running.values())
            self._running.clear()
        if self._cluster is not None and self.client is not None and futures:
            self.client.gather(futures, errors="skip")  # wait for the runs to end
        client, self.client = self.client, None
        if client is not None:
            client.close()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()
