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

Any string or number may be ``{env: VAR}``. A bad file raises ``InvalidConfigError`` with
every problem and its path, under a header that names the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.config.types import Field, IntSource, Selector, Shape, StringSource
from trellis.config.validate import ConfigError, ConfigErrorReason, process_config
from trellis.core.errors import InstanceError, InvalidConfigError

TRELLIS_HOME_ENV = "TRELLIS_HOME"
DEFAULT_HOME = ".trellis"
CONFIG_FILE = "trellis.yaml"
DEFAULT_SQLITE_FILE = "trellis.db"
DEFAULT_CONNECT_TIMEOUT = 5

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
        }
    )
    storage = Selector({"sqlite": Field(sqlite), "postgres": Field(postgres)})
    return Shape({"storage": Field(storage, default_value={"sqlite": {}})})


@dataclass(frozen=True)
class StorageSpec:
    """Where an instance keeps its data, resolved from the config: ``kind`` is ``sqlite``
    (``path``) or ``postgres`` (``url``, or the parts in ``params``)."""

    kind: str
    path: Path | None = None
    url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT


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


def resolve_storage(home: Path, config: Any, source: str | None = None) -> StorageSpec:
    """Validate an instance config (every error at once) and say where data lives.

    ``source`` names where the config came from (the yaml file) in the error header.
    """
    header = f"Invalid instance config in {source}" if source else "Invalid instance config"
    raw = {} if config is None else config
    result = process_config(instance_config_schema(), raw)
    errors = list(result.errors) + _postgres_errors(raw)
    if errors:
        raise InvalidConfigError(header, errors, raw)
    storage = result.value["storage"]
    if "sqlite" in storage:
        given = (storage["sqlite"] or {}).get("path") or DEFAULT_SQLITE_FILE
        path = Path(given).expanduser()
        return StorageSpec("sqlite", path=path if path.is_absolute() else home / path)
    pg = storage["postgres"]
    timeout = pg.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    if pg.get("url"):
        return StorageSpec("postgres", url=pg["url"], connect_timeout=timeout)
    params = {k: pg.get(k) for k in _PG_PARTS}
    return StorageSpec("postgres", params=params, connect_timeout=timeout)


def home_from_env() -> Path:
    """``$TRELLIS_HOME`` (default ``./.trellis``) as an absolute path."""
    return Path(os.environ.get(TRELLIS_HOME_ENV) or DEFAULT_HOME).expanduser().absolute()


def ensure_home(home: Path) -> Path:
    """Create the home directory if missing; raise ``InstanceError`` if it cannot be
    created or written to."""
    if home.exists() and not home.is_dir():
        raise InstanceError(
            f"The Trellis home {home} is not a directory. "
            f"Set {TRELLIS_HOME_ENV} to a directory you can write to."
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
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
