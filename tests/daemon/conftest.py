"""The daemon tests' ``harness``: a daemon over ``daemon_defs.py`` on an in-memory or
SQLite instance (``daemon_helpers.Harness``)."""

from __future__ import annotations

import pytest
from daemon_helpers import Harness

from trellis.instance.instance import Instance


@pytest.fixture(params=["memory", "sqlite"])
def harness(request, tmp_path):
    if request.param == "memory":
        instance = Instance.ephemeral()
    else:
        instance = Instance.from_config(tmp_path / "home", {})
    yield Harness(instance)
    instance.dispose()
