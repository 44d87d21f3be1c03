"""The daemon tests' ``harness``: a daemon over ``daemon_defs.py`` on an in-memory,
SQLite or PostgreSQL instance (``daemon_helpers.Harness``); ``daemon_instance``, that
instance alone."""

from __future__ import annotations

import pytest
from daemon_helpers import Harness

from trellis.instance.instance import Instance


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def daemon_instance(request, tmp_path):
    """An in-memory, SQLite or PostgreSQL instance, disposed of at the end."""
    if request.param == "memory":
        instance = Instance.ephemeral()
    elif request.param == "sqlite":
        instance = Instance.from_config(tmp_path / "home", {})
    else:
        url = request.getfixturevalue("pg_url")
        instance = Instance.from_config(tmp_path / "home", {"storage": {"postgres": {"url": url}}})
    yield instance
    instance.dispose()


@pytest.fixture
def harness(daemon_instance):
    return Harness(daemon_instance)
