"""``trellis instance concurrency set|get|list|delete``, bad input to them (exit 2 with
what was wrong), and ``trellis run show`` saying how long a step waited for a slot of
its pool."""

from __future__ import annotations

import threading
import time

from trellis import Instance, job, op


def test_set_get_list_and_delete_a_pool_limit(invoke, home):
    result = invoke("instance", "concurrency", "set", "warehouse", "2")
    assert result.exit_code == 0, result.output
    assert "Set the limit of concurrency pool 'warehouse' to 2." in result.stdout
    with Instance.get() as instance:
        assert instance.get_concurrency_limit("warehouse").limit == 2
        instance.add_run(_run("run-1"))
        assert instance.claim_concurrency_slot("warehouse", "run-1", "load").granted
        assert instance.claim_concurrency_slot("warehouse", "run-1", "save").granted
        assert not instance.claim_concurrency_slot("warehouse", "run-1", "index").granted

    got = invoke("instance", "concurrency", "get", "warehouse")
    assert got.exit_code == 0, got.output
    row = next(line for line in got.stdout.splitlines() if "warehouse" in line and "│" in line)
    # pool, limit, in use, free, waiting
    assert [c.strip() for c in row.strip("│ ").split("│")] == ["warehouse", "2", "2", "0", "1"]
    steps = {
        line.split("│")[2].strip(): line.split("│")[3].strip()
        for line in got.stdout.splitlines()
        if "run-1" in line
    }
    assert steps == {"load": "holds a slot", "save": "holds a slot", "index": "waiting"}

    listed = invoke("instance", "concurrency", "list")
    assert listed.exit_code == 0
    assert "warehouse" in listed.stdout
    assert "Pools without a limit of their own: unlimited" in listed.stdout

    deleted = invoke("instance", "concurrency", "delete", "warehouse")
    assert deleted.exit_code == 0
    assert "Removed the limit of concurrency pool 'warehouse'." in deleted.stdout
    again = invoke("instance", "concurrency", "delete", "warehouse")
    assert "had no limit of its own" in again.stdout
    unset = invoke("instance", "concurrency", "get", "warehouse")
    assert "unlimited" in unset.stdout


def test_the_default_limit_of_trellis_yaml_is_shown(invoke, home):
    home.mkdir(parents=True)
    (home / "trellis.yaml").write_text("concurrency:\n  pools:\n    default_limit: 3\n")
    got = invoke("instance", "concurrency", "get", "anything")
    assert got.exit_code == 0, got.output
    assert "3 (default)" in got.stdout
    listed = invoke("instance", "concurrency", "list")
    assert "No concurrency pool has a limit, a slot in use or a step waiting." in listed.stdout
    assert "Pools without a limit of their own: 3" in listed.stdout


def test_bad_limits_and_names_are_exit_2(invoke, home):
    negative = invoke("instance", "concurrency", "set", "db", "--", "-1")
    assert negative.exit_code == 2
    assert "-1 is not in the range x>=0" in negative.stderr
    words = invoke("instance", "concurrency", "set", "db", "many")
    assert words.exit_code == 2 and "'many' is not a valid integer" in words.stderr
    empty = invoke("instance", "concurrency", "set", "", "1")
    assert empty.exit_code == 2
    assert "pool must be a non-empty string" in empty.stderr
    assert "Traceback" not in empty.output


def _run(run_id: str):
    from trellis.core.run import Run

    return Run(run_id=run_id, job_name="job")


def test_run_show_says_which_pool_a_step_waited_for(invoke, home):
    with Instance.get() as instance:
        instance.set_concurrency_limit("db", 0)

        @op(pool="db")
        def query() -> None: ...

        @job
        def pooled():
            query()

        done = []
        worker = threading.Thread(
            target=lambda: done.append(pooled.execute_in_process(instance=instance))
        )
        worker.start()
        time.sleep(1.0)  # the step has waited, and the wait is stored
        waiting_id = instance.get_runs()[0].run_id
        shown = invoke("run", "show", waiting_id)
        assert shown.exit_code == 0, shown.output
        assert "WAITING" in shown.stdout and "db (waiting)" in shown.stdout
        instance.set_concurrency_limit("db", 1)
        worker.join(10)
        run_id = done[0].run_id
    shown = invoke("run", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "POOL" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if "query" in line)
    assert "SUCCESS" in row and "db (waited " in row
