"""The README's table metadata example runs as printed, and its values read back from a
SQLite instance."""

from __future__ import annotations

import re
from pathlib import Path

import trellis as dg

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_metadata_example(tmp_path):
    section = README.read_text().split("## Table metadata", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    with dg.DagsterInstance.from_config(tmp_path / "home", {}) as instance:
        assert dg.materialize([namespace["users"]], instance=instance).success
        event = instance.get_latest_materialization_event(dg.AssetKey("users"))
    metadata = event.asset_materialization.metadata
    schema = metadata["dagster/column_schema"].schema
    assert [(c.name, c.type, c.constraints.nullable) for c in schema.columns] == [
        ("id", "int", False),
        ("name", "string", True),
    ]
    lineage = metadata["dagster/column_lineage"].column_lineage
    assert lineage.deps_by_column["name"] == (
        dg.TableColumnDep(dg.AssetKey("raw_users"), "full_name"),
    )
    assert metadata["preview"].schema == dg.TableSchema(
        [dg.TableColumn("id", "int"), dg.TableColumn("name", "string")]
    )
    assert metadata["dagster/row_count"].value == 2
