"""A process that keeps an SQLite instance open keeps its locks on the file: opening the
instance (or a second one on the same file) never opens and closes the file outside
SQLite, since closing any descriptor of a file drops all of a process's POSIX locks on
it; another process closing its last connection would then checkpoint and delete the
WAL under the first one, losing its writes and corrupting the file (what a long-lived
daemon with short-lived run processes ran into)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

from trellis.core.run import Run
from trellis.instance.instance import Instance

_OTHER = textwrap.dedent(
    """
    import sys
    from trellis.core.run import Run
    from trellis.instance.instance import Instance
    instance = Instance.from_config(sys.argv[1], {})
    if sys.argv[2] == "write":
        instance.add_run(Run(sys.argv[3], "job"))
    else:
        print(",".join(sorted(r.run_id for r in instance.get_runs())))
    instance.dispose()
    """
)


def _other(home, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _OTHER, str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_long_lived_instance_loses_no_write_to_processes_that_come_and_go(tmp_path):
    home = tmp_path / "home"
    Instance.from_config(home, {}).dispose()  # the file exists, in WAL mode
    kept = Instance.from_config(home, {})
    kept.add_run(Run("kept-1", "job"))
    also = Instance.from_config(home, {})  # a second one in this process, then gone
    also.dispose()
    for n in range(3):
        _other(home, "write", f"other-{n}")  # opens, writes, closes its last connection
        kept.add_run(Run(f"kept-{n + 2}", "job"))
    seen = _other(home, "read").split(",")
    assert seen == sorted([*(f"kept-{n}" for n in range(1, 5)), *(f"other-{n}" for n in range(3))])
    kept.dispose()
    conn = sqlite3.connect(home / "trellis.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
