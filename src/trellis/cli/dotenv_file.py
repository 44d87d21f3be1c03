"""``.env``: the variables of a ``.env`` file in the working directory, set before any
code is loaded (as ``dagster dev`` does), so that ``EnvVar("DUCKDB_DATABASE")`` and
``{env: VAR}`` config read them.

Precedence: a variable already set in the real environment wins over the file (so
``VAR=x trellis ...`` overrides it for one command); Dagster's ``dagster dev`` lets the
file win instead. Parsing is python-dotenv's (``KEY=value``, quotes, ``export``,
comments, ``${OTHER}`` expansion).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FILE = ".env"


def load_env_file(directory: Path | None = None) -> list[str]:
    """Set each variable of ``directory/.env`` (default: the working directory) that the
    environment does not have yet; the names that were set."""
    path = (directory or Path.cwd()) / ENV_FILE
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    added = []
    for name, value in dotenv_values(path).items():
        if value is None or name in os.environ:
            continue
        os.environ[name] = value
        added.append(name)
    return added
