"""``Instance.get()`` and ``trellis.yaml``: the home, the default SQLite, PostgreSQL settings
with environment variables, and bad files (every error with its path, the file named)."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trellis.core.errors import InstanceError, InvalidConfigError
from trellis.instance.config import resolve_storage
from trellis.instance.instance import Instance
from trellis.instance.ref import InstanceRef


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh ``$TRELLIS_HOME``."""
    path = tmp_path / "home"
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    return path


def write_yaml(home: Path, text: str) -> Path:
    """Write ``trellis.yaml`` into ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "trellis.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_get_without_file_uses_sqlite_in_the_home(home):
    with Instance.get() as instance:
        assert home.is_dir() and (home / "trellis.db").is_file()
        assert instance.root_directory == home
        assert instance.storage_directory() == home / "storage"
        assert not instance.is_ephemeral
        info = instance.info()
        assert info["backend"] == "sqlite" and info["url"] == f"sqlite:///{home}/trellis.db"
        assert info["config_file"] is None


def test_default_home_is_dot_trellis_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("TRELLIS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    with Instance.get() as instance:
        assert instance.root_directory == tmp_path / ".trellis"
        assert (tmp_path / ".trellis" / "trellis.db").is_file()


def test_sqlite_path_relative_to_home_and_from_env(home, tmp_path, monkeypatch):
    write_yaml(home, "storage:\n  sqlite:\n    path: data/runs.db\n")
    with Instance.get() as instance:
        assert (home / "data" / "runs.db").is_file()
        assert instance.info()["config_file"] == str(home / "trellis.yaml")
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "elsewhere.db"))
    write_yaml(home, "storage:\n  sqlite:\n    path: {env: RUNS_DB}\n")
    with Instance.get():
        assert (tmp_path / "elsewhere.db").is_file()


def test_empty_yaml_and_empty_sqlite_block_mean_defaults(home):
    write_yaml(home, "")
    Instance.get().dispose()
    write_yaml(home, "storage:\n  sqlite:\n")
    Instance.get().dispose()
    assert (home / "trellis.db").is_file()


def test_postgres_settings_from_parts_and_env_vars(tmp_path, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "s3cret")
    monkeypatch.setenv("PG_PORT", "6543")
    config = {
        "storage": {
            "postgres": {
                "host": "db.internal",
                "port": {"env": "PG_PORT"},
                "db": "trellis",
                "user": "me",
                "password": {"env": "PG_PASSWORD"},
            }
        }
    }
    spec = resolve_storage(tmp_path, config)
    assert spec.kind == "postgres" and spec.connect_timeout == 5
    assert spec.params == {
        "host": "db.internal",
        "port": 6543,
        "db": "trellis",
        "user": "me",
        "password": "s3cret",
    }
    from trellis.instance.sql.database import postgres_url

    url = postgres_url(spec)
    assert url.render_as_string(hide_password=False) == (
        "postgresql+psycopg://me:s3cret@db.internal:6543/trellis"
    )
    assert "s3cret" not in url.render_as_string(hide_password=True)


@pytest.mark.postgres
def test_postgres_url_from_an_env_var_in_yaml(home, pg_url, monkeypatch):
    monkeypatch.setenv("MY_PG_URL", pg_url)
    write_yaml(home, "storage:\n  postgres:\n    url: {env: MY_PG_URL}\n")
    with Instance.get() as instance:
        info = instance.info()
        assert info["backend"] == "postgres"
        assert info["url"].startswith("postgresql+psycopg://postgres@")
        assert info["schema_revision"] == info["head_revision"]
        assert not (home / "trellis.db").exists()


def test_bad_yaml_reports_every_error_with_its_path_and_names_the_file(home, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = write_yaml(
        home,
        """\
        storage:
          postgres:
            host: {env: NOT_SET_ANYWHERE}
            port: "not a number"
            db: trellis
            pasword: typo
        unknown_section: 30
        """,
    )
    with pytest.raises(InvalidConfigError) as info:
        Instance.get()
    text = str(info.value)
    assert str(path) in text
    assert info.value.header.endswith(str(path))
    paths = sorted(e.path_str for e in info.value.errors)
    assert paths == [
        "root",
        "root:storage:postgres",
        "root:storage:postgres",
        "root:storage:postgres:host",
        "root:storage:postgres:port",
    ], text
    assert "NOT_SET_ANYWHERE" in text and "pasword" in text and "unknown_section" in text
    assert "'user'" in text  # neither url nor user given
    assert not (home / "trellis.db").exists()


def test_url_and_parts_together_are_refused(tmp_path):
    config = {"storage": {"postgres": {"url": "postgresql://x/y", "host": "h"}}}
    with pytest.raises(InvalidConfigError, match="not both"):
        Instance.from_config(tmp_path, config)


def test_empty_postgres_block_is_refused(tmp_path):
    with pytest.raises(InvalidConfigError, match="root:storage:postgres needs 'url'"):
        Instance.from_config(tmp_path, {"storage": {"postgres": None}})


def test_two_storages_at_once_are_refused(tmp_path):
    config = {"storage": {"sqlite": {}, "postgres": {"url": "postgresql://x/y"}}}
    with pytest.raises(InvalidConfigError, match="root:storage"):
        Instance.from_config(tmp_path, config)


def test_yaml_syntax_error_and_non_mapping_name_the_file(home):
    path = write_yaml(home, "storage: [unclosed\n")
    with pytest.raises(InvalidConfigError, match="not valid YAML") as info:
        Instance.get()
    assert str(path) in str(info.value)
    write_yaml(home, "- just\n- a list\n")
    with pytest.raises(InvalidConfigError, match="must hold a mapping") as info:
        Instance.get()
    assert str(path) in str(info.value)


def test_home_that_is_a_file_is_refused(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TRELLIS_HOME", str(blocker))
    with pytest.raises(InstanceError, match="not a directory"):
        Instance.get()
    monkeypatch.setenv("TRELLIS_HOME", str(blocker / "home"))
    with pytest.raises(InstanceError, match="Cannot create the Trellis home"):
        Instance.get()


def _without_root_powers() -> list[str]:
    """A command prefix under which this user obeys file permissions (root drops the
    capabilities that override them), or skip."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is not installed to drop CAP_DAC_OVERRIDE")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_home_without_write_permission_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    code = textwrap.dedent(
        """
        import sys
        from trellis.core.errors import InstanceError
        from trellis.instance.instance import Instance
        try:
            Instance.get()
        except InstanceError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    try:
        out = subprocess.run(
            [*_without_root_powers(), sys.executable, "-c", code],
            env={**os.environ, "TRELLIS_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 3, out.stdout + out.stderr
        assert "not writable" in out.stdout and str(home) in out.stdout
        assert list(home.iterdir()) == []
    finally:
        home.chmod(0o755)


def test_ref_is_small_and_picklable(home):
    with Instance.get() as instance:
        ref = instance.get_ref()
        assert ref == InstanceRef(str(home), {}, None)
        data = pickle.dumps(ref)
        assert len(data) < 500
        with Instance.from_ref(pickle.loads(data)) as again:
            assert again.root_directory == home


def test_ephemeral_instance_has_no_ref():
    with pytest.raises(InstanceError, match="ephemeral instance"):
        Instance.ephemeral().get_ref()


def test_ephemeral_instance_does_not_load_sqlalchemy():
    code = (
        "import sys\n"
        "from trellis.instance.instance import Instance\n"
        "i = Instance.ephemeral(); i.get_runs(); i.info()\n"
        "print(','.join(m for m in ('sqlalchemy', 'alembic', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_an_instance_config_with_an_alias_bomb_is_refused_naming_the_file(tmp_path):
    from trellis.core.errors import InvalidConfigError
    from trellis.instance.config import load_config_file

    levels = ["storage: &l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp_path / "trellis.yaml").write_text("\n".join(levels) + "\n")
    with pytest.raises(InvalidConfigError) as info:
        load_config_file(tmp_path)
    assert "trellis.yaml" in str(info.value) and "more than 1,000,000 values" in str(info.value)


def test_monitoring_retry_and_permissions_settings(tmp_path):
    from trellis.instance.config import resolve_settings

    defaults = resolve_settings(tmp_path, {})
    assert (defaults.heartbeat_interval, defaults.heartbeat_timeout) == (5.0, 60.0)
    assert defaults.start_timeout == 180.0
    assert defaults.private and defaults.storage.private
    config = {
        "storage": {"postgres": {"url": "postgresql://u@h/db", "retry_timeout": 10}},
        "run_monitoring": {
            "heartbeat_interval": 2,
            "heartbeat_timeout": 30,
            "start_timeout_seconds": 20,
        },
        "permissions": "umask",
    }
    settings = resolve_settings(tmp_path, config)
    assert settings.storage.retry_timeout == 10.0
    assert (settings.heartbeat_interval, settings.heartbeat_timeout) == (2.0, 30.0)
    assert settings.start_timeout == 20.0
    assert not settings.private


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"run_monitoring": {"heartbeat_timeout": 0}}, "must be a positive number of seconds"),
        ({"run_monitoring": {"heartbeat_interval": 60}}, "must be shorter than heartbeat_timeout"),
        (
            {"run_monitoring": {"start_timeout_seconds": -1}},
            "start_timeout_seconds at path root:run_monitoring:start_timeout_seconds must be a "
            "positive number of seconds, got -1",
        ),
        (
            {
                "storage": {"postgres": {"url": "postgresql://u@h/db", "retry_timeout": 90}},
            },
            "retry_timeout (90 s) must be shorter than run_monitoring: heartbeat_timeout (60 s)",
        ),
        ({"permissions": "public"}, "allowed values are 'private', 'umask'"),
    ],
)
def test_bad_monitoring_and_permissions_settings_are_refused(tmp_path, config, problem):
    with pytest.raises(InvalidConfigError) as caught:
        resolve_storage(tmp_path, config)
    assert problem in str(caught.value)
