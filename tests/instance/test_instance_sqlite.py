"""SQLite storage on the standard library's ``sqlite3``: the schema it creates is the one
SQLAlchemy compiles from ``trellis.instance.sql.schema`` (and the one the Alembic
migrations build), opening a home needs no SQLAlchemy, the Alembic path accepts and
upgrades what it creates, and threads write and read one file at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from instance_helpers import event, make_run

from trellis.core.asset_key import AssetKey
from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.instance.config import StorageSpec
from trellis.instance.instance import Instance
from trellis.instance.sqlite.schema import CREATE_STATEMENTS, SCHEMA_REVISION, TRELLIS_TABLES


def _probe_value(column: tuple, n: int):
    """A value for a probe row: the id left to SQLite (an INTEGER primary key), a number,
    or an unused string."""
    _cid, _name, declared, _notnull, _default, pk = column
    kind = declared.upper()
    if "INT" in kind:
        return None if pk and kind == "INTEGER" else n
    if "FLOAT" in kind or "REAL" in kind:
        return float(n)
    return f"probe-{n}"


def _structure(path: Path) -> dict:
    """What a schema is, read back from SQLite (never the text of its statements): every
    table's columns (name, declared type, not null, default, primary key), its indexes
    (name, unique, origin, partial, columns in order with sort order and collation),
    and which tables count their ids in ``sqlite_sequence`` (AUTOINCREMENT)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name"
            )
        ]
        tables = {}
        for name in names:
            columns = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            indexes = {}
            for _seq, index, unique, origin, partial in conn.execute(
                f'PRAGMA index_list("{name}")'
            ).fetchall():
                info = conn.execute(f'PRAGMA index_xinfo("{index}")').fetchall()
                indexes[index] = (unique, origin, partial, info)
            tables[name] = {"columns": columns, "indexes": indexes}
        # One row in every table tells which ones keep an AUTOINCREMENT counter.
        conn.execute("BEGIN")
        for name in names:
            columns = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            values = [_probe_value(col, i + 1) for i, col in enumerate(columns)]
            marks = ", ".join("?" * len(values))
            conn.execute(f'INSERT INTO "{name}" VALUES ({marks})', values)
        counted = sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_sequence"))
        conn.execute("ROLLBACK")
        master = sorted(
            (row[0], row[1], row[2])
            for row in conn.execute("SELECT type, name, tbl_name FROM sqlite_master")
        )
        return {"tables": tables, "autoincrement": counted, "objects": master}
    finally:
        conn.close()


def _ddl_compiled_by_sqlalchemy() -> list[str]:
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    from trellis.instance.sql.schema import metadata

    dialect = sqlite_dialect.dialect()
    statements = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: i.name):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)))
    return statements


def _build(path: Path, statements: list[str] | tuple[str, ...]) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return path


def test_stored_ddl_creates_the_schema_sqlalchemy_compiles(tmp_path):
    compiled = _structure(_build(tmp_path / "compiled.db", _ddl_compiled_by_sqlalchemy()))
    stored = _structure(_build(tmp_path / "stored.db", CREATE_STATEMENTS))
    assert stored == compiled
    assert set(stored["tables"]) == TRELLIS_TABLES
    assert stored["autoincrement"] == [
        "dynamic_partitions",
        "event_logs",
        "instigator_ticks",
        "runs",
    ]
    assert "idx_events_run_id" in stored["tables"]["event_logs"]["indexes"]


def test_a_new_home_has_the_schema_of_the_alembic_migrations(tmp_path):
    """What ``SqliteStorage`` creates (with its revision table) equals what Alembic's
    migrations build from an empty file, and what ``create_at_head`` builds."""
    import sqlalchemy as sa

    from trellis.instance.sql import migrate as migrations

    with Instance.from_config(tmp_path / "home", {}) as created:
        assert created.storage.opened["created"] is True
    ours = _structure(tmp_path / "home" / "trellis.db")
    for name, build in [("migrated", migrations.upgrade), ("at_head", migrations.create_at_head)]:
        engine = sa.create_engine(f"sqlite:///{tmp_path / name}.db")
        with engine.begin() as conn:
            build(conn) if build is migrations.create_at_head else build(conn, "head")
        engine.dispose()
        assert _structure(tmp_path / f"{name}.db") == ours, name


def test_opening_a_fresh_home_does_not_import_sqlalchemy(tmp_path):
    code = (
        "import sys\n"
        "import trellis\n"
        "from trellis.instance.instance import Instance\n"
        "i = Instance.get(); runs = i.get_runs(); i.info(); i.dispose()\n"
        "print(len(runs), i.storage.opened['created'], "
        "','.join(m for m in ('sqlalchemy', 'alembic') if m in sys.modules) or '-')"
    )
    env = {**os.environ, "TRELLIS_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["0", "True", "-"]
    # Reopening the home it created: still none.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["0", "False", "-"]


def test_the_alembic_path_accepts_a_database_created_without_it(tmp_path, monkeypatch):
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from click.testing import CliRunner

    from trellis.cli.main import cli
    from trellis.instance.sql import migrate as migrations
    from trellis.instance.sql.schema import metadata
    from trellis.instance.sql.storage import SqlStorage

    home = tmp_path / "home"
    with Instance.from_config(home, {}) as instance:
        run = instance.add_run(make_run("r1", tags={"t": "1"}))
        instance.handle_new_events([event(run, EventType.RUN_START)], run)
    db = home / "trellis.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert migrations.current_revision(conn) == migrations.head_revision()
    engine.dispose()
    sql_storage = SqlStorage(StorageSpec("sqlite", path=db))
    try:
        assert sql_storage.opened == {
            "from_revision": SCHEMA_REVISION,
            "to_revision": SCHEMA_REVISION,
            "created": False,
            "upgraded": False,
        }
        described = sql_storage.describe()
        assert described["schema_revision"] == migrations.head_revision()
        assert (described["runs"], described["events"]) == (1, 1)
        assert sql_storage.migrate()["upgraded"] is False
        assert sql_storage.get_run("r1").status is RunStatus.STARTED
    finally:
        sql_storage.dispose()
    monkeypatch.setenv("TRELLIS_HOME", str(home))
    result = CliRunner().invoke(cli, ["instance", "migrate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"up to date (revision {SCHEMA_REVISION})" in result.output
    with Instance.get() as again:
        assert again.migrate() == {
            "from_revision": SCHEMA_REVISION,
            "to_revision": SCHEMA_REVISION,
            "upgraded": False,
        }
        assert again.info()["schema_revision"] == SCHEMA_REVISION


def test_a_database_at_revision_0001_is_upgraded_on_open(tmp_path):
    """A file an older Trellis wrote (revision 0001, built here by Alembic) is upgraded
    in place when opened, its runs kept."""
    import sqlalchemy as sa

    from trellis.instance.sql import migrate as migrations

    home = tmp_path / "home"
    home.mkdir()
    db = home / "trellis.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        migrations.upgrade(conn, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_id, job_name, status, body, create_timestamp, "
                "update_timestamp) VALUES ('old', 'job', 'SUCCESS', :body, 1.0, 1.0)"
            ),
            {"body": '{"run_id": "old", "job_name": "job", "status": "SUCCESS"}'},
        )
    engine.dispose()
    with Instance.from_config(home, {}) as instance:
        assert instance.storage.opened == {
            "from_revision": "0001",
            "to_revision": SCHEMA_REVISION,
            "created": False,
            "upgraded": True,
        }
        assert instance.info()["schema_revision"] == SCHEMA_REVISION
        assert instance.get_run("old").status is RunStatus.SUCCESS
        assert "idx_runs_status_create" in _structure(db)["tables"]["runs"]["indexes"]
    with Instance.from_config(home, {}) as reopened:
        assert reopened.storage.opened["upgraded"] is False


def test_threads_write_and_read_one_file_at_once(tmp_path):
    """Steps on threads store their batches concurrently while another thread reads:
    nothing lost, storage ids unique and in each batch's order."""
    with Instance.from_config(tmp_path / "home", {}) as instance:
        runs = [instance.add_run(make_run(f"r{n}")) for n in range(4)]
        key = AssetKey("shared")
        errors: list[BaseException] = []
        stop = threading.Event()

        def write(run) -> None:
            try:
                for b in range(40):
                    batch = [
                        event(run, EventType.STEP_START, step_key=f"s{b}"),
                        event(run, EventType.LOG_MESSAGE, step_key=f"s{b}", message=str(b)),
                        event(
                            run, EventType.ASSET_MATERIALIZATION, step_key=f"s{b}", asset_key=key
                        ),
                        event(run, EventType.STEP_SUCCESS, step_key=f"s{b}"),
                    ]
                    instance.handle_new_events(batch, run)
            except BaseException as exc:  # reported below
                errors.append(exc)

        def read() -> None:
            try:
                while not stop.is_set():
                    instance.get_runs()
                    instance.get_records("r0")
                    instance.get_latest_materialization_event(key)
            except BaseException as exc:
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        writers = [threading.Thread(target=write, args=(run,)) for run in runs]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        stop.set()
        reader.join()
        assert errors == []
        every = []
        for run in runs:
            records = instance.get_records(run.run_id)
            assert [
                r.event.message for r in records if r.event.event_type is EventType.LOG_MESSAGE
            ] == [str(b) for b in range(40)]
            every.extend(r.storage_id for r in records)
        assert len(every) == len(set(every)) == 4 * 40 * 4
        newest = max(r.storage_id for r in instance.get_materialization_records(key, limit=1))
        latest = instance.storage.get_latest_materialization_record(key)
        assert latest is not None and latest.storage_id == newest


def test_storage_modules_import_no_sqlalchemy():
    code = (
        "import sys\n"
        "import trellis.instance.sqlite.storage\n"
        "print(','.join(m for m in ('sqlalchemy', 'alembic') if m in sys.modules) or '-')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "-"


def test_a_batch_larger_than_one_insert_is_stored_whole_and_in_order(tmp_path):
    """A batch above SQLite's limit on bound variables is split into several INSERTs of
    the same transaction, in order."""
    with Instance.from_config(tmp_path / "home", {}) as instance:
        run = instance.add_run(make_run("big"))
        count = instance.storage.events_per_insert * 2 + 3
        batch = [event(run, EventType.LOG_MESSAGE, message=str(n)) for n in range(count)]
        instance.handle_new_events(batch, run)
        records = instance.get_records("big")
        assert [r.event.message for r in records] == [str(n) for n in range(count)]
        ids = [r.storage_id for r in records]
        assert ids == sorted(ids) and len(set(ids)) == count


def test_rows_are_the_ones_the_sqlalchemy_storage_writes(tmp_path):
    """The same calls on ``SqliteStorage`` and on ``SqlStorage`` (SQLAlchemy) over SQLite
    leave the same rows: JSON bodies, copied columns, tags and the asset index."""
    from trellis.core.metadata import MetadataValue
    from trellis.core.outputs import AssetMaterialization
    from trellis.instance.sql.storage import SqlStorage
    from trellis.instance.sqlite.storage import SqliteStorage

    run = make_run("r1", tags={"team": "data"}, run_config={"ops": {"a": {"config": 1}}})
    key = AssetKey(["warehouse", "orders"])
    metadata = {"rows": MetadataValue(3, "int"), "odd": {1: {"x"}}}
    mat = AssetMaterialization(key, "d", metadata, "2024-01-01")
    batches = [
        [event(run, EventType.RUN_START, timestamp=1.0)],
        [
            event(run, EventType.STEP_START, step_key="a", timestamp=2.0),
            event(
                run,
                EventType.ASSET_MATERIALIZATION,
                step_key="a",
                asset_key=key,
                partition="2024-01-01",
                data={"materialization": mat},
                timestamp=3.0,
            ),
            event(run, EventType.ASSET_OBSERVATION, asset_key=AssetKey("seen"), timestamp=4.0),
            event(run, EventType.STEP_SUCCESS, step_key="a", message="ünï", timestamp=5.0),
        ],
    ]
    dumps = {}
    for name, cls in [("new", SqliteStorage), ("old", SqlStorage)]:
        storage = cls(StorageSpec("sqlite", path=tmp_path / f"{name}.db"))
        storage.add_run(run)
        for batch in batches:
            storage.store_events(batch, run)
        storage.dispose()
        conn = sqlite3.connect(tmp_path / f"{name}.db")
        dumps[name] = {
            "events": conn.execute("SELECT * FROM event_logs ORDER BY id").fetchall(),
            "runs": conn.execute(
                "SELECT id, run_id, job_name, status, body, parent_run_id, root_run_id, "
                "create_timestamp, start_time, end_time FROM runs"
            ).fetchall(),
            "tags": conn.execute(
                'SELECT run_id, "key", value FROM run_tags ORDER BY id'
            ).fetchall(),
            "assets": conn.execute("SELECT * FROM asset_keys ORDER BY asset_key").fetchall(),
        }
        conn.close()
    assert dumps["new"] == dumps["old"]
    assert len(dumps["new"]["events"]) == 5 and len(dumps["new"]["assets"]) == 2
