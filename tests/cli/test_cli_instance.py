"""``trellis instance info | migrate``, and instances that cannot be used: a corrupt
database, a bad ``trellis.yaml``, PostgreSQL unreachable (exit 2, a clear message, no
hang), and the same commands against a real PostgreSQL server."""

from __future__ import annotations

import time

import pytest
from cli_fixture_paths import FLAKY


def test_info_describes_the_home(invoke, home):
    result = invoke("instance", "info")
    assert result.exit_code == 0, result.output
    assert "sqlite" in result.stdout
    assert str(home) in result.stdout
    assert "runs" in result.stdout


def test_migrate_is_idempotent(invoke):
    first = invoke("instance", "migrate")
    assert first.exit_code == 0, first.output
    again = invoke("instance", "migrate")
    assert again.exit_code == 0
    assert "up to date" in again.stdout


def test_corrupt_database_is_exit_2_naming_the_file(invoke, home):
    home.mkdir(parents=True)
    db = home / "trellis.db"
    db.write_bytes(b"this is not a database, just some bytes" * 10)
    result = invoke("run", "list")
    assert result.exit_code == 2
    assert str(db) in result.stderr
    assert "Traceback" not in result.output
    assert db.read_bytes().startswith(b"this is not a database")  # left untouched


def test_bad_instance_yaml_is_exit_2_with_the_path(invoke, home):
    home.mkdir(parents=True)
    (home / "trellis.yaml").write_text("storage:\n  sqlit: {}\n")
    result = invoke("run", "list")
    assert result.exit_code == 2
    assert "trellis.yaml" in result.stderr
    assert "root:storage" in result.stderr and "Did you mean 'sqlite'" in result.stderr


def test_unreachable_postgres_is_exit_2_quickly(invoke, home):
    home.mkdir(parents=True)
    (home / "trellis.yaml").write_text(
        "storage:\n  postgres:\n    url: postgresql://nobody@127.0.0.1:9/nowhere\n"
        "    connect_timeout: 2\n"
    )
    started = time.monotonic()
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert time.monotonic() - started < 15
    assert result.exit_code == 2
    assert "PostgreSQL" in result.stderr and "127.0.0.1" in result.stderr


@pytest.mark.postgres
def test_commands_against_postgres(invoke, home, pg_url):
    home.mkdir(parents=True)
    (home / "trellis.yaml").write_text(f"storage:\n  postgres:\n    url: '{pg_url}'\n")
    run = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert run.exit_code == 0, run.output
    listed = invoke("run", "list")
    assert "chain_job" in listed.stdout and "SUCCESS" in listed.stdout
    info = invoke("instance", "info")
    assert "postgres" in info.stdout
