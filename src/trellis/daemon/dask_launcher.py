"""``DaskRunLauncher``: launches each claimed run as a task on a Dask distributed cluster,
an existing one (by scheduler address) or a ``LocalCluster`` the launcher starts (with
the Dask executor's settings: ``start_local_cluster``).

The task (``run_on_worker``, a module-level function, pickled by reference) opens the
instance from its reference and runs the same entry as ``run_worker.py``
(``execute_launched_run``): it takes the run (``begin_launched_run``) and executes it in
the Dask worker's process, writing to the same instance. A run therefore runs on a worker
thread; the worker's output holds what it prints. The task is not retried by Dask (a run
launched twice still runs once, but a worker lost mid-run is the run monitor's to fail).

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
from typing import Any

from trellis.core.errors import InstanceError
from trellis.core.run import Run
from trellis.daemon.launcher import LaunchExit, RunLauncher, encode_instance_ref

TASK_PREFIX = "trellis-run-"
"""The Dask key of a run's task is this prefix and the run id."""


def run_on_worker(instance_ref: str, run_id: str) -> int:
    """On a Dask worker: open the instance ``instance_ref`` (``encode_instance_ref``) and
    run the launched run ``run_id`` there; the entry's exit code."""
    from trellis.daemon.run_worker import execute_launched_run
    from trellis.instance.instance import Instance
    from trellis.instance.ref import InstanceRef

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
            run_on_worker, ref, run.run_id, key=f"{TASK_PREFIX}{run.run_id}", pure=False
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
