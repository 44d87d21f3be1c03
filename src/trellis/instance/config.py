"""``trellis.yaml``: the instance's configuration, validated with Trellis's own config system.

::

    storage:
      sqlite:
        path: trellis.db            # relative to $TRELLIS_HOME (the default)
    # or
    storage:
      postgres:
        url: postgresql://user:pw@host:5432/db     # or the parts:
        # host: db.internal
        # port: 5432
        # db: trellis
        # user: trellis
        # password: {env: TRELLIS_PG_PASSWORD}
        # connect_timeout: 5
        # retry_timeout: 30         # keep retrying while the server is unreachable
    run_monitoring:
      heartbeat_interval: 5         # seconds between a run's heartbeats
      heartbeat_timeout: 60         # a run silent for longer is dead (see liveness.py)
      start_timeout_seconds: 180    # the daemon fails a run STARTING for longer
    permissions: private            # or umask (see below)
    concurrency:
      pools:
        default_limit: 1            # pools without a limit of their own (unset: unlimited)
    run_retries:                    # run-level retries (trellis.api.run_retries)
      enabled: true
      max_retries: 3                # for runs without a dagster/max_retries tag
      retry_on_asset_or_op_failure: true   # false: retry only runs whose process died
    run_queue: ...                  # the daemon's sections: see daemon_config.py

``permissions: private`` (the default) creates the home, the SQLite database (with its
``-wal`` and ``-shm``) and the filesystem IO manager's directories and files readable by
their owner only (0700 / 0600); ``umask`` creates them as the process's umask says, for
a home or storage shared with a group.

Any string or number may be ``{env: VAR}``. A bad file raises ``InvalidConfigError`` with
every problem and its path, under a header that names the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.config.types import (
    Bool,
    Enum,
    EnumValue,
    Field,
    Float,
    IntSource,
    Selector,
    Shape,
    StringSource,
)
from trellis.config.validate import ConfigError, ConfigErrorReason, process_config
from trellis.core.errors import InstanceError, InvalidConfigError
from trellis.instance.daemon_config import DaemonSettings, daemon_config_fields, daemon_settings

TRELLIS_HOME_ENV = "TRELLIS_HOME"
DEFAULT_HOME = ".trellis"
CONFIG_FILE = "trellis.yaml"
DEFAULT_SQLITE_FILE = "trellis.db"
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_RETRY_TIMEOUT = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_HEARTBEAT_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 180.0
PRIVATE = "private"
UMASK = "umask"

_PG_PARTS = ("host", "port", "db", "user", "password")


def instance_config_schema() -> Shape:
    """The schema of ``trellis.yaml``."""
    sqlite = Shape(
        {
            "path": Field(
                StringSource,
                is_required=False,
                description=f"The database file, relative to the home ({DEFAULT_SQLITE_FILE}).",
            )
        }
    )
    postgres = Shape(
        {
            "url": Field(StringSource, is_required=False, description="postgresql://..."),
            "host": Field(StringSource, is_required=False),
            "port": Field(IntSource, default_value=5432),
            "db": Field(StringSource, is_required=False),
            "user": Field(StringSource, is_required=False),
            "password": Field(StringSource, is_required=False),
            "connect_timeout": Field(
                IntSource,
                default_value=DEFAULT_CONNECT_TIMEOUT,
                description="Seconds to wait for the server before giving up.",
            ),
            "retry_timeout": Field(
                Float,
                default_value=DEFAULT_RETRY_TIMEOUT,
                description="Seconds a read or write keeps retrying (with backoff) while a "
                "server that was reachable is not; then the run fails.",
            ),
        }
    )
    storage = Selector({"sqlite": Field(sqlite), "postgres": Field(postgres)})
    monitoring = Shape(
        {
            "heartbeat_interval": Field(
                Float,
                default_value=DEFAULT_HEARTBEAT_INTERVAL,
                description="Seconds between the heartbeats a running run writes.",
            ),
            "heartbeat_timeout": Field(
                Float,
                default_value=DEFAULT_HEARTBEAT_TIMEOUT,
                description="A run whose last heartbeat is older than this is dead, when its "
                "process cannot be checked directly (another host or PID namespace).",
            ),
            "start_timeout_seconds": Field(
                Float,
                default_value=DEFAULT_START_TIMEOUT,
                description="The daemon fails a launched run whose process has not taken "
                "it (still STARTING) after this many seconds.",
            ),
        }
    )
    permissions = Enum(
        "Permissions",
        [
            EnumValue(PRIVATE, description="0700 directories, 0600 files"),
            EnumValue(UMASK, description="as the process's umask says"),
        ],
    )
    pools = Shape(
        {
            "default_limit": Field(
                IntSource,
                is_required=False,
                description="The limit of concurrency pools that have none of their own "
                "(unset: unlimited).",
            )
        }
    )
    run_retries = Shape(
        {
            "enabled": Field(Bool, default_value=False),
            "max_retries": Field(
                IntSource,
                default_value=0,
                description="Retries of a failed run without a dagster/max_retries tag.",
            ),
            "retry_on_asset_or_op_failure": Field(
                Bool,
                default_value=True,
                description="Retry runs that failed because a step failed (false: only "
                "runs whose process died).",
            ),
        }
    )
    return Shape(
        {
            "storage": Field(storage, default_value={"sqlite": {}}),
            "run_monitoring": Field(monitoring, is_required=False),
            "permissions": Field(permissions, default_value=PRIVATE),
            "concurrency": Field(
                Shape({"pools": Field(pools, is_required=False)}), is_required=False
            ),
            "run_retries": Field(run_retries, is_required=False),
            **daemon_config_fields(),
        }
    )


@dataclass(frozen=True)
class StorageSpec:
    """Where an instance keeps its data, resolved from the config: ``kind`` is ``sqlite``
    (``path``) or ``postgres`` (``url``, or the parts in ``params``)."""

    kind: str
    path: Path | None = None
    url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    retry_timeout: float = DEFAULT_RETRY_TIMEOUT
    private: bool = True


@dataclass(frozen=True)
class RunRetrySettings:
    """``run_retries`` of ``trellis.yaml``: whether failed runs are retried at all, how
    many times by default, and whether a step's failure is reason enough (else only a
    run whose process died is retried)."""

    enabled: bool = False
    max_retries: int = 0
    retry_on_asset_or_op_failure: bool = True


@dataclass(frozen=True)
class InstanceSettings:
    """Everything ``trellis.yaml`` says: where data lives (``storage``), how often a run
    writes its heartbeat and when a silent run is dead, how long a launched run may stay
    STARTING, whether files are private, the
    default limit of concurrency pools, the run retry policy, and the daemon's settings
    (``daemon``: the run queue, schedules, sensors, retention)."""

    storage: StorageSpec
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    start_timeout: float = DEFAULT_START_TIMEOUT
    private: bool = True
    pool_default_limit: int | None = None
    run_retries: RunRetrySettings = field(default_factory=RunRetrySettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)


def _postgres_errors(raw: Any) -> list[ConfigError]:
    """Checks a Shape cannot express: ``url`` or the parts, not both, not neither."""
    storage = raw.get("storage") if isinstance(raw, dict) else None
    if not isinstance(storage, dict) or "postgres" not in storage:
        return []
    pg = storage["postgres"] if storage["postgres"] is not None else {}
    if not isinstance(pg, dict):
        return []
    path = ("root", "storage", "postgres")
    where = "root:storage:postgres"
    parts = [p for p in _PG_PARTS if p in pg]
    if "url" in pg and parts:
        return [
            ConfigError(
                path,
                ConfigErrorReason.FIELDS_NOT_DEFINED,
                f"PostgreSQL storage at path {where} takes either 'url' or the parts "
                f"(host, port, db, user, password), not both; got url and {parts}.",
            )
        ]
    if "url" in pg:
        return []
    missing = [p for p in ("host", "db", "user") if p not in pg]
    if not missing:
        return []
    return [
        ConfigError(
            path,
            ConfigErrorReason.MISSING_REQUIRED_FIELDS,
            f"PostgreSQL storage at path {where} needs 'url', or 'host', 'db' and 'user' "
            f"(with optional 'port' and 'password'); missing {missing}.",
        )
    ]


def _duration_errors(value: dict[str, Any]) -> list[ConfigError]:
    """Durations are positive; the heartbeat comes more often than its timeout, and the
    storage's retry ends before it (else a run still retrying would be declared dead by
    other processes)."""
    monitoring = value.get("run_monitoring") or {}
    pg = value["storage"].get("postgres") or {}
    durations = {
        ("run_monitoring", "heartbeat_interval"): monitoring.get(
            "heartbeat_interval", DEFAULT_HEARTBEAT_INTERVAL
        ),
        ("run_monitoring", "heartbeat_timeout"): monitoring.get(
            "heartbeat_timeout", DEFAULT_HEARTBEAT_TIMEOUT
        ),
        ("storage", "postgres", "retry_timeout"): pg.get("retry_timeout", DEFAULT_RETRY_TIMEOUT),
        ("run_monitoring", "start_timeout_seconds"): monitoring.get(
            "start_timeout_seconds", DEFAULT_START_TIMEOUT
        ),
    }
    errors = []
    for path, seconds in durations.items():
        if seconds <= 0:
            where = ":".join(("root", *path))
            message = f"{path[-1]} at path {where} must be a positive number of seconds"
            errors.append(
                ConfigError(
                    ("root", *path),
                    ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
                    f"{message}, got {seconds:g}.",
                )
            )
    errors.extend(_count_errors(value))
    if errors:
        return errors
    interval, timeout, retry, _ = durations.values()
    if interval >= timeout:
        errors.append(
            ConfigError(
                ("root", "run_monitoring"),
                ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
                f"run_monitoring: heartbeat_interval ({interval:g} s) must be shorter than "
                f"heartbeat_timeout ({timeout:g} s).",
            )
        )
    if pg and retry >= timeout:
        errors.append(
            ConfigError(
                ("root", "storage", "postgres", "retry_timeout"),
                ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
                f"storage: postgres: retry_timeout ({retry:g} s) must be shorter than "
                f"run_monitoring: heartbeat_timeout ({timeout:g} s): a run still retrying "
                "would be declared dead by other processes.",
            )
        )
    return errors


def _count_errors(value: dict[str, Any]) -> list[ConfigError]:
    """Counts that cannot be negative: the default pool limit and the retries."""
    counts = {
        ("concurrency", "pools", "default_limit"): (
            (value.get("concurrency") or {}).get("pools") or {}
        ).get("default_limit"),
        ("run_retries", "max_retries"): (value.get("run_retries") or {}).get("max_retries"),
    }
    errors = []
    for path, count in counts.items():
        if count is not None and count < 0:
            where = ":".join(("root", *path))
            errors.append(
                ConfigError(
                    ("root", *path),
                    ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
                    f"{path[-1]} at path {where} must be 0 or more, got {count}.",
                )
            )
    return errors


def resolve_settings(home: Path, config: Any, source: str | None = None) -> InstanceSettings:
    """Validate an instance config (every error at once) and say what it sets.

    ``source`` names where the config came from (the yaml file) in the error header.
    """
    header = f"Invalid instance config in {source}" if source else "Invalid instance config"
    raw = {} if config is None else config
    result = process_config(instance_config_schema(), raw)
    errors = list(result.errors) + _postgres_errors(raw)
    daemon = DaemonSettings()
    if not errors:
        errors = _duration_errors(result.value)
        daemon, daemon_errors = daemon_settings(result.value)
        errors += daemon_errors
    if errors:
        raise InvalidConfigError(header, errors, raw)
    value = result.value
    private = value.get("permissions", PRIVATE) == PRIVATE
    monitoring = value.get("run_monitoring") or {}
    pools = (value.get("concurrency") or {}).get("pools") or {}
    retries = value.get("run_retries") or {}
    return InstanceSettings(
        _storage_spec(home, value["storage"], private),
        heartbeat_interval=float(monitoring.get("heartbeat_interval", DEFAULT_HEARTBEAT_INTERVAL)),
        heartbeat_timeout=float(monitoring.get("heartbeat_timeout", DEFAULT_HEARTBEAT_TIMEOUT)),
        start_timeout=float(monitoring.get("start_timeout_seconds", DEFAULT_START_TIMEOUT)),
        private=private,
        pool_default_limit=pools.get("default_limit"),
        run_retries=RunRetrySettings(
            enabled=bool(retries.get("enabled", False)),
            max_retries=int(retries.get("max_retries", 0)),
            retry_on_asset_or_op_failure=bool(retries.get("retry_on_asset_or_op_failure", True)),
        ),
        daemon=daemon,
    )


def resolve_storage(home: Path, config: Any, source: str | None = None) -> StorageSpec:
    """Validate an instance config (every error at once) and say where data lives."""
    return resolve_settings(home, config, source).storage


def _storage_spec(home: Path, storage: dict[str, Any], private: bool) -> StorageSpec:
    if "sqlite" in storage:
        given = (storage["sqlite"] or {}).get("path") or DEFAULT_SQLITE_FILE
        path = Path(given).expanduser()
        return StorageSpec(
            "sqlite", path=path if path.is_absolute() else home / path, private=private
        )
    pg = storage["postgres"]
    timeout = pg.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    retry = float(pg.get("retry_timeout", DEFAULT_RETRY_TIMEOUT))
    if pg.get("url"):
        return StorageSpec("postgres", url=pg["url"], connect_timeout=timeout, retry_timeout=retry)
    params = {k: pg.get(k) for k in _PG_PARTS}
    return StorageSpec("postgres", params=params, connect_timeout=timeout, retry_timeout=retry)


def home_from_env() -> Path:
    """``$TRELLIS_HOME`` (default ``./.trellis``) as an absolute path."""
    return Path(os.environ.get(TRELLIS_HOME_ENV) or DEFAULT_HOME).expanduser().absolute()


def ensure_home(home: Path, private: bool = True) -> Path:
    """Create the home directory if missing (readable by its owner only when
    ``private``: a new home has no ``trellis.yaml`` yet to say otherwise); raise
    ``InstanceError`` if it cannot be created or written to."""
    if home.exists() and not home.is_dir():
        raise InstanceError(
            f"The Trellis home {home} is not a directory. "
            f"Set {TRELLIS_HOME_ENV} to a directory you can write to."
        )
    try:
        if not home.is_dir():
            home.parent.mkdir(parents=True, exist_ok=True)
            home.mkdir(mode=0o700 if private else 0o777, exist_ok=True)
    except OSError as exc:
        raise InstanceError(
            f"Cannot create the Trellis home directory {home}: {exc.strerror or exc}. "
            f"Set {TRELLIS_HOME_ENV} to a directory you can write to."
        ) from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise InstanceError(
            f"The Trellis home directory {home} is not writable by this user. "
            f"Fix its permissions, or set {TRELLIS_HOME_ENV} to a directory you can write to."
        )
    return home


def load_config_file(home: Path) -> tuple[dict[str, Any], Path | None]:
    """The parsed ``trellis.yaml`` of ``home`` and its path, or ``({}, None)`` without one.

    A file that is not valid YAML, or not a mapping, raises ``InvalidConfigError``
    naming the file.
    """
    path = home / CONFIG_FILE
    if not path.exists():
        return {}, None
    import yaml

    from trellis.config.yaml_loader import load_yaml

    header = f"Invalid instance config in {path}"
    try:
        text = path.read_text()
    except OSError as exc:
        raise InstanceError(f"Cannot read the instance config {path}: {exc}") from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise InvalidConfigError(header, [f"{path} is not valid YAML: {exc}"]) from None
    if data is None:
        return {}, path
    if not isinstance(data, dict):
        raise InvalidConfigError(
            header,
            [
                f"{path} must hold a mapping such as 'storage: {{sqlite: {{}}}}', got a "
                f"{type(data).__name__}."
            ],
            data,
        )
    return data, path
