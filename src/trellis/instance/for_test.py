"""``instance_for_test``: a persistent instance in a temporary home, for tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from trellis.instance.config import TRELLIS_HOME_ENV
from trellis.instance.instance import Instance


@contextmanager
def instance_for_test(
    overrides: Mapping[str, Any] | None = None,
    set_dagster_home: bool = True,
    temp_dir: str | None = None,
) -> Iterator[Instance]:
    """A durable instance (SQLite unless ``overrides`` says otherwise, e.g.
    ``{"storage": {"postgres": {...}}}``) in a fresh temporary home, or in ``temp_dir``.

    While the block runs, ``$TRELLIS_HOME`` points at that home (``set_dagster_home``, named
    as in Dagster), so ``Instance.get()`` and the CLI see the same instance; the home is
    removed afterwards unless it was ``temp_dir``.
    """
    with tempfile.TemporaryDirectory(prefix="trellis-test-") as made:
        home = temp_dir if temp_dir is not None else made
        previous = os.environ.get(TRELLIS_HOME_ENV)
        if set_dagster_home:
            os.environ[TRELLIS_HOME_ENV] = home
        instance = Instance.from_config(home, dict(overrides or {}))
        try:
            yield instance
        finally:
            instance.dispose()
            if set_dagster_home:
                if previous is None:
                    os.environ.pop(TRELLIS_HOME_ENV, None)
                else:
                    os.environ[TRELLIS_HOME_ENV] = previous
