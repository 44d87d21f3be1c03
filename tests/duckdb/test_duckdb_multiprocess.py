"""Two assets on the multiprocess executor write to one DuckDB file at the same time:
DuckDB lets one process at a time hold the file, and the loser retries until the lock is
free (both through ``DuckDBResource`` and through the IO manager)."""

from __future__ import annotations

import duckdb
import duckdb_mp_jobs

from trellis import EventType


def test_two_processes_write_one_database(tmp_path):
    database = str(tmp_path / "shared.duckdb")
    config = {"config": {"database": database}}
    result = duckdb_mp_jobs.defs.get_job_def("duckdb_both").execute_in_process(
        run_config={"resources": {"io_manager": config, "duckdb": config}}
    )
    assert result.success

    pids = {e.step_key: e.pid for e in result.all_events if e.event_type is EventType.STEP_START}
    assert len(set(pids.values())) == 2, pids  # really two processes

    with duckdb.connect(database) as conn:
        rows = conn.execute(
            "SELECT side, pid, asked, got FROM mp.left UNION ALL "
            "SELECT side, pid, asked, got FROM mp.right ORDER BY got"
        ).fetchall()
        logged = conn.execute(
            "SELECT pid FROM main.left_log UNION ALL SELECT pid FROM main.right_log"
        ).fetchall()
    assert [side for side, *_ in rows] in (["left", "right"], ["right", "left"])
    assert {pid for (pid,) in logged} == {pid for _, pid, _, _ in rows} == set(pids.values())
    (_, _, _, first_got), (_, _, second_asked, second_got) = rows
    # The second connection was asked for while the first was held, and was only granted
    # after the first had been released: it waited out the lock.
    assert second_asked < first_got + duckdb_mp_jobs.HOLD_SECONDS
    assert second_got - first_got >= duckdb_mp_jobs.HOLD_SECONDS * 0.9
