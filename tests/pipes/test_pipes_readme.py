"""The README's Pipes example runs as written: the asset, and ``orders.py`` next to it."""

from __future__ import annotations

import re
from pathlib import Path

from trellis import EventType

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch):
    section = README.read_text().split("## Pipes", 1)[1].split("\n## ", 1)[0]
    asset_code, script_code = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    (tmp_path / "orders.py").write_text(script_code)
    monkeypatch.chdir(tmp_path)  # the command names orders.py relative to here
    namespace: dict = {}
    exec(compile(asset_code, str(README), "exec"), namespace)

    result = namespace["defs"].get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    (mat,) = result.get_asset_materialization_events()
    assert mat.metadata["rows"].value == 42
    assert mat.tags["dagster/data_version"] == "2024-06-01"
    assert mat.tags["dagster/data_version_is_user_provided"] == "true"
    messages = [e.message for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert "loading orders for north" in messages
