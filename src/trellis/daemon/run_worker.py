"""The process a run launcher starts for one queued run:
``python -m trellis.daemon.run_worker RUN_ID`` with ``TRELLIS_INSTANCE_REF`` set; or
started ahead with ``--standby``: it opens the instance and imports the execution
machinery, then waits for the run id on its stdin (it exits when stdin closes first).

It loads the code the run names (its ``trellis/code_location`` tag), takes the run
(``begin_launched_run``: STARTING -> STARTED; if another process launched for the same
run took it first, it exits without running anything), and executes it with the run's
config, tags, partition and asset selection (a queued re-execution, such as a run
retry the daemon enqueued, is planned here against its parent run). Code that cannot be
loaded fails the run with the error, so no run stays STARTING. Exit code 0 whether the
run succeeded or failed (the run records that); 1 when the run could not be started.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from trellis.core import event_factory
from trellis.core.run import CODE_LOCATION_TAG, PARTITION_TAG, RunStatus
from trellis.daemon.code_location import pointer_from_tag
from trellis.daemon.launcher import INSTANCE_REF_ENV, STANDBY_ARG
from trellis.daemon.user_code import error_text


def _instance_from_env() -> Any:
    from trellis.instance.instance import Instance
    from trellis.instance.ref import InstanceRef

    raw = os.environ.get(INSTANCE_REF_ENV)
    if not raw:
        return Instance.get()
    return Instance.from_ref(InstanceRef(**json.loads(raw)))


def execute_launched_run(instance: Any, run_id: str) -> int:
    """Run the launched run ``run_id`` in this process (see the module docstring); the
    exit code."""
    from trellis.api.execute import execute_job_in_process

    run = instance.get_run(run_id)
    if run is None:
        print(f"Run {run_id} does not exist in the instance.", file=sys.stderr)
        return 1
    if run.status is RunStatus.CANCELING and instance.cancel_unstarted_run(run_id):
        print(f"Run {run_id} was canceled before it started: not running it.")
        return 0
    if run.status is not RunStatus.STARTING:
        print(f"Run {run_id} is {run.status.value}, not STARTING: nothing to do.")
        return 0
    try:
        tag = run.tags.get(CODE_LOCATION_TAG)
        if not tag:
            raise ValueError(f"the run has no {CODE_LOCATION_TAG} tag, so its code cannot be found")
        job = pointer_from_tag(tag).load_job(run.job_name)
    except Exception as exc:
        message = f"Could not load the code of run {run_id}: {error_text(exc)}"
        instance.fail_unlaunched_run(run_id, message)
        print(message, file=sys.stderr)
        return 1
    taken = instance.begin_launched_run(run_id)
    if taken is None:
        # Canceled while this process loaded the code (STARTING -> CANCELING): end it here,
        # else it was taken by another launch of the same run.
        if instance.cancel_unstarted_run(run_id):
            print(f"Run {run_id} was canceled before it started: not running it.")
        else:
            print(f"Run {run_id} was taken by another process: not running it twice.")
        return 0
    try:
        execute_job_in_process(
            job,
            instance=instance,
            partition_key=taken.tags.get(PARTITION_TAG),
            raise_on_error=False,
            queued_run=taken,
            **_run_arguments(instance, job, taken),
        )
    except Exception as exc:  # before the run began (its config, its selection): end it
        message = f"Run {run_id} could not start: {error_text(exc)}"
        if not taken.status.is_finished:
            event = event_factory.run_failure(run_id, taken.job_name, message)
            instance.handle_new_events([event], taken)
        print(message, file=sys.stderr)
        return 1
    return 0


def _run_arguments(instance: Any, job: Any, run: Any) -> dict[str, Any]:
    """What to execute for the queued ``run``: its config, tags and selection; for a
    queued re-execution (a run retry, ``trellis/reexecution``), the plan that re-executes
    its parent (only the steps that did not succeed, for ``FROM_FAILURE``)."""
    from trellis.api.run_retries import REEXECUTION_TAG, RetryStrategy
    from trellis.core.asset_checks import AssetCheckKey

    strategy = run.tags.get(REEXECUTION_TAG)
    if strategy is None or not run.parent_run_id:
        arguments = {
            "run_config": run.run_config,
            "tags": run.tags,
            "asset_selection": run.asset_selection,
        }
        if run.asset_check_selection is not None:  # a request that named its checks
            arguments["asset_check_selection"] = [
                AssetCheckKey.from_user_string(k) for k in run.asset_check_selection
            ]
        return arguments
    from trellis.api.reexecution import reexecution_arguments

    parent = instance.get_run(run.parent_run_id)
    if parent is None:
        raise ValueError(f"its parent run {run.parent_run_id} does not exist any more")
    return reexecution_arguments(
        job,
        parent,
        instance=instance,
        from_failure=strategy == RetryStrategy.FROM_FAILURE.value,
        run_config=run.run_config,
        tags=run.tags,
    )


def _standby_run_id() -> str | None:
    """In standby: import what a run needs, then wait for the run id on stdin (None: the
    launcher went away without sending one)."""
    import trellis.api.execute  # noqa: F401 - imported now, before a run is waiting

    line = sys.stdin.readline().strip()
    return line or None


def main(argv: list[str] | None = None) -> int:
    """The entry point: ``python -m trellis.daemon.run_worker RUN_ID``, or
    ``--standby`` (the launcher's warm spare: the run id comes on stdin)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m trellis.daemon.run_worker RUN_ID | {STANDBY_ARG}", file=sys.stderr)
        return 2
    instance = _instance_from_env()
    try:
        run_id = _standby_run_id() if args[0] == STANDBY_ARG else args[0]
        if run_id is None:
            return 0
        return execute_launched_run(instance, run_id)
    finally:
        instance.dispose()


if __name__ == "__main__":
    sys.exit(main())
