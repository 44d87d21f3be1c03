"""The DuckDB extra stays optional: ``import trellis`` loads neither duckdb nor pandas, and
the README's DuckDB example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb

README = Path(__file__).resolve().parents[2] / "README.md"


def test_import_trellis_loads_neither_duckdb_nor_pandas():
    code = (
        "import sys, trellis\n"
        "from trellis import asset, materialize, Definitions, ConfigurableResource\n"
        "print(','.join(m for m in ('duckdb', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_readme_example_runs(tmp_path, monkeypatch):
    section = README.read_text().split("## DuckDB", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)

    result = namespace["defs"].get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        assert conn.execute("SELECT total FROM public.total").fetchall() == [(5.5,)]
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchall() == [(2,)]
