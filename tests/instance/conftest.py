"""Instances for the storage tests: ``instance`` is SQLite or PostgreSQL (each test in a
fresh home / schema); ``any_instance`` adds the in-memory back end, for the contract that
every back end keeps."""

from __future__ import annotations

import pytest

from trellis.instance.instance import Instance


def _open(kind: str, request, tmp_path) -> Instance:
    if kind == "memory":
        return Instance.ephemeral()
    if kind == "sqlite":
        return Instance.from_config(tmp_path / "home", {})
    url = request.getfixturevalue("pg_url")
    return Instance.from_config(tmp_path / "home", {"storage": {"postgres": {"url": url}}})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def instance(request, tmp_path):
    """A persistent instance: SQLite in a temporary home, or PostgreSQL in a fresh schema."""
    inst = _open(request.param, request, tmp_path)
    yield inst
    inst.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_instance(request, tmp_path):
    """An instance of every back end, in-memory included."""
    inst = _open(request.param, request, tmp_path)
    yield inst
    inst.dispose()
