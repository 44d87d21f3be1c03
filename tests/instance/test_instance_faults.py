"""Databases Trellis must refuse or repair: corrupt and foreign files, unknown schema
revisions, an unreachable server; and migrations (upgrade in place, ``migrate()``, the
migrated schema equal to the tables the code uses)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from instance_helpers import event, make_run

from trellis.core.errors import InstanceError
from trellis.core.events import EventType
from trellis.instance.config import StorageSpec
from trellis.instance.instance import Instance
from trellis.instance.sql import migrate as migrations
from trellis.instance.sql.database import Database


def _sqlite_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home, home / "trellis.db"


def test_random_bytes_are_refused_untouched(tmp_path):
    home, db = _sqlite_home(tmp_path)
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    with pytest.raises(InstanceError, match="not an SQLite database") as info:
        Instance.from_config(home, {})
    assert str(db) in str(info.value)
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in home.iterdir()) == ["trellis.db"]


def test_corrupt_sqlite_pages_are_refused_untouched(tmp_path):
    home, db = _sqlite_home(tmp_path)
    with Instance.from_config(home, {}) as instance:
        instance.add_run(make_run("r1"))
    data = bytearray(db.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)  # keep the header, wreck the schema page
    db.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (home / f"trellis.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(InstanceError) as info:
        Instance.from_config(home, {})
    assert str(db) in str(info.value)
    assert "corrupt" in str(info.value) or "not a Trellis database" in str(info.value)
    assert db.read_bytes() == bytes(data)


def test_foreign_sqlite_database_is_refused_untouched(tmp_path):
    home, db = _sqlite_home(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(InstanceError, match="not a Trellis database") as info:
        Instance.from_config(home, {})
    assert "invoices" in str(info.value) and str(db) in str(info.value)
    assert db.read_bytes() == before
    assert not (home / "trellis.db-wal").exists()


def test_database_path_that_is_a_directory(tmp_path):
    home, db = _sqlite_home(tmp_path)
    db.mkdir()
    with pytest.raises(InstanceError, match="is a directory"):
        Instance.from_config(home, {})


@contextmanager
def _through_sqlalchemy(instance: Instance):
    """The instance's database as SQLAlchemy (and so Alembic) reaches it: SQLite storage
    runs on ``sqlite3``, migrations still go through Alembic."""
    if instance.storage.backend != "sqlite":
        yield instance.storage.db
        return
    db = Database(StorageSpec("sqlite", path=instance.storage.db.path))
    try:
        yield db
    finally:
        db.dispose()


def _execute(instance: Instance, statement: str, params: dict | None = None) -> None:
    with _through_sqlalchemy(instance) as db:
        db.write(lambda conn: conn.execute(sa.text(statement), params or {}))


def _downgrade(instance: Instance, revision: str) -> None:
    with _through_sqlalchemy(instance) as db:
        db.write(lambda conn: migrations.downgrade(conn, revision))


def _run_indexes(instance: Instance) -> set[str]:
    with _through_sqlalchemy(instance) as db:
        return db.read(lambda conn: {i["name"] for i in sa.inspect(conn).get_indexes("runs")})


def _stamp(instance: Instance, revision: str) -> None:
    _execute(instance, "UPDATE alembic_version SET version_num = :v", {"v": revision})


def test_unknown_revision_names_the_migrate_command(instance, tmp_path):
    _stamp(instance, "9999_from_the_future")
    instance.dispose()
    with pytest.raises(InstanceError) as info:
        Instance.from_ref(instance.get_ref())
    text = str(info.value)
    assert "9999_from_the_future" in text and "trellis instance migrate" in text
    with pytest.raises(InstanceError, match="trellis instance migrate"):
        instance.migrate()


def test_trellis_tables_without_a_revision_are_refused(instance):
    _execute(instance, "DROP TABLE alembic_version")
    instance.dispose()
    with pytest.raises(InstanceError, match="no schema revision"):
        Instance.from_ref(instance.get_ref())


def test_older_revision_is_upgraded_in_place_on_open(instance):
    run = instance.add_run(make_run("kept"))
    instance.handle_new_events([event(run, EventType.RUN_START)], run)
    _downgrade(instance, "0001")
    assert instance.info()["schema_revision"] == "0001"
    instance.dispose()
    with Instance.from_ref(instance.get_ref()) as reopened:
        assert reopened.storage.opened["upgraded"] is True
        assert reopened.storage.opened["from_revision"] == "0001"
        assert reopened.info()["schema_revision"] == migrations.head_revision()
        assert reopened.get_run("kept") is not None
        assert len(reopened.all_logs("kept")) == 1


def test_migrate_upgrades_a_database_at_the_base_revision(instance):
    _downgrade(instance, "0001")
    assert "idx_runs_status_create" not in _run_indexes(instance)
    assert instance.migrate() == {
        "from_revision": "0001",
        "to_revision": migrations.head_revision(),
        "upgraded": True,
    }
    indexes = _run_indexes(instance)
    assert {"idx_runs_status_create", "idx_runs_job_create", "idx_runs_create"} <= indexes
    assert instance.migrate()["upgraded"] is False


def test_migrations_create_exactly_the_tables_the_code_uses(tmp_path):
    """A new home is created from ``schema.py`` without Alembic; running the Alembic
    migrations on an empty database must give exactly that schema and revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from trellis.instance.sql.schema import SCHEMA_REVISION, metadata

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    with engine.begin() as conn:
        migrations.upgrade(conn, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert migrations.current_revision(conn) == SCHEMA_REVISION
    engine.dispose()
    with Instance.from_config(tmp_path / "home", {}) as created:
        assert created.storage.opened["created"] is True
        assert created.info()["schema_revision"] == SCHEMA_REVISION


def test_concurrent_first_opens_create_the_schema_once(tmp_path):
    """Several instances (threads here; processes in test_instance_processes) opening one
    new home at once."""
    from concurrent.futures import ThreadPoolExecutor

    home = tmp_path / "home"
    with ThreadPoolExecutor(4) as pool:
        instances = list(pool.map(lambda _: Instance.from_config(home, {}), range(4)))
    created = [i.storage.opened["created"] for i in instances]
    assert created.count(True) == 1
    for i in instances:
        i.dispose()


def test_unreachable_postgres_fails_fast_with_a_clear_error(tmp_path):
    started = time.monotonic()
    config = {"storage": {"postgres": {"url": "postgresql://trellis:pw@127.0.0.1:1/nowhere"}}}
    with pytest.raises(InstanceError) as info:
        Instance.from_config(tmp_path, config)
    assert time.monotonic() - started < 10
    text = str(info.value)
    assert "Cannot connect to PostgreSQL at" in text and "127.0.0.1:1" in text
    assert "pw" not in text.replace("postgresql+psycopg://trellis:***@", "")


def test_postgres_connect_timeout_bounds_the_wait(tmp_path):
    # A loopback port that accepts TCP connections but never answers: the client waits
    # for the server's reply until connect_timeout, then gives a clear error (no hang).
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        config = {
            "storage": {
                "postgres": {
                    "host": "127.0.0.1",
                    "port": port,
                    "db": "x",
                    "user": "u",
                    "connect_timeout": 1,
                }
            }
        }
        started = time.monotonic()
        with pytest.raises(InstanceError, match="Cannot connect to PostgreSQL"):
            Instance.from_config(tmp_path, config)
        assert time.monotonic() - started < 8


def test_schema_revision_constant_is_the_migrations_head():
    from trellis.instance.sql.schema import SCHEMA_REVISION

    assert migrations.head_revision() == SCHEMA_REVISION
    assert migrations.known_revisions()[-1] == SCHEMA_REVISION


def test_opening_an_up_to_date_database_does_not_import_alembic(tmp_path):
    Instance.from_config(tmp_path, {}).dispose()
    code = (
        "import sys\n"
        "from trellis.instance.instance import Instance\n"
        f"i = Instance.from_config({str(tmp_path)!r}, {{}}); i.get_runs(); i.dispose()\n"
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.postgres
def test_postgres_search_path_naming_a_missing_schema(pg_url, tmp_path):
    url = pg_url.split("?")[0] + "?options=-csearch_path%3Dno_such_schema_here"
    with pytest.raises(InstanceError, match="does not exist"):
        Instance.from_config(tmp_path, {"storage": {"postgres": {"url": url}}})
