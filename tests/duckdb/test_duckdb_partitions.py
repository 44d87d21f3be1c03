"""Partitioned assets in DuckDB: each write replaces only its partitions' rows (selected
with ``partition_expr``), and reads select the partitions the input covers: time windows
as ``expr >= start AND expr < end``, static partitions as ``expr in (...)``."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from trellis import (
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from trellis_duckdb import MissingPartitionExprError
from trellis_duckdb_pandas import DuckDBPandasIOManager

COLORS = StaticPartitionsDefinition(["red", "blue", "green"])
DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")


def _range(start: str, end: str) -> dict[str, str]:
    return {
        "trellis/asset_partition_range_start": start,
        "trellis/asset_partition_range_end": end,
    }


def _read(database, sql):
    with duckdb.connect(str(database)) as conn:
        return conn.execute(sql).fetchall()


def _static_assets(version: dict[str, int], seen: dict[str, pd.DataFrame]):
    @asset(partitions_def=COLORS, metadata={"partition_expr": "color"})
    def paint(context) -> pd.DataFrame:
        color = context.partition_key
        return pd.DataFrame({"color": [color, color], "coat": [1, 2], "v": [version[color]] * 2})

    @asset(partitions_def=COLORS, metadata={"partition_expr": "color"})
    def paint_copy(context, paint: pd.DataFrame) -> pd.DataFrame:
        seen[",".join(context.partition_keys)] = paint
        return paint

    @asset
    def every_color(paint: pd.DataFrame) -> pd.DataFrame:
        seen["all"] = paint
        return paint

    return paint, paint_copy, every_color


def test_static_partitions_write_rewrite_and_read(tmp_path):
    database = tmp_path / "db.duckdb"
    io = {"io_manager": DuckDBPandasIOManager(database=str(database))}
    version = {"red": 1, "blue": 1, "green": 1}
    seen: dict[str, pd.DataFrame] = {}
    paint, paint_copy, every_color = _static_assets(version, seen)

    for color in ("red", "blue"):
        assert materialize([paint], resources=io, partition_key=color).success
    version["red"] = 2
    result = materialize([paint], resources=io, partition_key="red")
    assert result.success

    rows = _read(database, "SELECT color, v, count(*) FROM public.paint GROUP BY ALL ORDER BY ALL")
    assert rows == [("blue", 1, 2), ("red", 2, 2)]  # red replaced, blue kept
    (mat,) = result.asset_materializations_for_node("paint")
    assert mat.metadata["dagster/partition_row_count"].value == 2
    assert "dagster/row_count" not in mat.metadata  # the slice's rows, not the table's
    assert [c.name for c in mat.metadata["dagster/column_schema"].schema.columns] == [
        "color",
        "coat",
        "v",
    ]
    assert mat.metadata["Query"].value == (
        'SELECT * FROM "db"."public"."paint" WHERE\ncolor in (\'red\')'
    )

    # One partition of the downstream asset reads the same partition upstream.
    assert materialize(
        [paint, paint_copy], resources=io, partition_key="blue", selection=[paint_copy]
    ).success
    assert seen["blue"]["color"].unique().tolist() == ["blue"]

    # A range run reads the range: red..blue covers both stored colors.
    assert materialize(
        [paint, paint_copy], resources=io, tags=_range("red", "blue"), selection=[paint_copy]
    ).success
    assert sorted(seen["red,blue"]["color"].unique()) == ["blue", "red"]
    assert _read(database, "SELECT count(*) FROM public.paint_copy") == [(4,)]

    # An unpartitioned downstream asset reads the whole table.
    assert materialize([paint, every_color], resources=io, selection=[every_color]).success
    assert len(seen["all"]) == 4


def _daily_assets(version: dict[str, int], seen: dict[str, pd.DataFrame]):
    @asset(partitions_def=DAYS, metadata={"partition_expr": "day"})
    def events(context) -> pd.DataFrame:
        start = context.partition_time_window.start.replace(tzinfo=None)
        hours = pd.date_range(start, periods=24, freq="h")
        return pd.DataFrame({"day": hours, "v": [version[context.partition_key]] * 24})

    @asset(partitions_def=DAYS, metadata={"partition_expr": "day"})
    def daily_summary(context, events: pd.DataFrame) -> pd.DataFrame:
        seen[",".join(context.partition_keys)] = events
        return events.assign(day=events["day"].dt.floor("D")).groupby("day", as_index=False).sum()

    return events, daily_summary


def test_daily_partitions_write_rewrite_and_read(tmp_path):
    database = tmp_path / "db.duckdb"
    io = {"io_manager": DuckDBPandasIOManager(database=str(database))}
    version = {"2024-01-01": 1, "2024-01-02": 1, "2024-01-03": 1}
    seen: dict[str, pd.DataFrame] = {}
    events, daily_summary = _daily_assets(version, seen)

    for day in ("2024-01-01", "2024-01-02"):
        assert materialize([events], resources=io, partition_key=day).success
    version["2024-01-01"] = 7
    result = materialize([events], resources=io, partition_key="2024-01-01")
    assert result.success

    rows = _read(
        database, "SELECT day::DATE, v, count(*) FROM public.events GROUP BY ALL ORDER BY ALL"
    )
    assert [(str(d), v, n) for d, v, n in rows] == [("2024-01-01", 7, 24), ("2024-01-02", 1, 24)]
    (mat,) = result.asset_materializations_for_node("events")
    assert mat.metadata["Query"].value == (
        'SELECT * FROM "db"."public"."events" WHERE\n'
        "day >= '2024-01-01 00:00:00' AND day < '2024-01-02 00:00:00'"
    )

    # Read one partition.
    assert materialize(
        [events, daily_summary], resources=io, partition_key="2024-01-02", selection=[daily_summary]
    ).success
    one = seen["2024-01-02"]
    assert len(one) == 24
    assert one["day"].min() == datetime(2024, 1, 2)
    assert one["day"].max() == datetime(2024, 1, 2, 23)

    # Read a range of partitions: one time window from the first start to the last end.
    assert materialize(
        [events, daily_summary],
        resources=io,
        tags=_range("2024-01-01", "2024-01-03"),
        selection=[daily_summary],
    ).success
    both = seen["2024-01-01,2024-01-02,2024-01-03"]
    assert len(both) == 48  # nothing stored yet for the 3rd
    assert sorted(both["v"].unique()) == [1, 7]
    rows = _read(database, "SELECT day::DATE, v FROM public.daily_summary ORDER BY day")
    assert [(str(d), v) for d, v in rows] == [("2024-01-01", 7 * 24), ("2024-01-02", 24)]


def test_partitioned_asset_without_partition_expr_is_a_clear_error(tmp_path):
    @asset(partitions_def=COLORS)
    def unlabeled(context) -> pd.DataFrame:
        return pd.DataFrame({"color": [context.partition_key]})

    io = {"io_manager": DuckDBPandasIOManager(database=str(tmp_path / "db.duckdb"))}
    result = materialize([unlabeled], resources=io, partition_key="red", raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "Asset unlabeled is partitioned but has no 'partition_expr' metadata" in failure.message

    with pytest.raises(MissingPartitionExprError, match="unlabeled"):
        materialize([unlabeled], resources=io, partition_key="red")


def test_a_failed_partition_write_keeps_the_old_rows(tmp_path):
    database = tmp_path / "db.duckdb"
    io = {"io_manager": DuckDBPandasIOManager(database=str(database))}
    extra = {"column": False}

    @asset(partitions_def=COLORS, metadata={"partition_expr": "color"})
    def paint(context) -> pd.DataFrame:
        frame = pd.DataFrame({"color": [context.partition_key], "v": [1]})
        return frame.assign(unknown=[0]) if extra["column"] else frame

    assert materialize([paint], resources=io, partition_key="red").success
    extra["column"] = True  # the insert fails: the table has no such column
    result = materialize([paint], resources=io, partition_key="red", raise_on_error=False)

    assert not result.success
    assert _read(database, "SELECT color, v FROM public.paint") == [("red", 1)]
