"""Fixtures shared by the whole suite.

``pg_url``: a PostgreSQL URL whose connections work in a fresh schema of their own
(``trellis_test_<hex>``, set as the ``search_path``), dropped after the test. The server
comes from ``TRELLIS_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Without a reachable server the test is skipped with the reason, unless
``TRELLIS_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    url = os.environ.get("TRELLIS_TEST_PG_URL") or DEFAULT_PG_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("TRELLIS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (TRELLIS_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture
def pg_url():
    """A PostgreSQL URL (``postgresql://...``) confined to a fresh schema."""
    psycopg = pytest.importorskip("psycopg")
    admin = _admin_url()
    schema = f"trellis_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(admin, connect_timeout=3, autocommit=True)
    except Exception as exc:  # any failure to reach the server
        _unavailable(f"cannot connect to {admin.split('@')[-1]}: {str(exc).strip()}")
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in admin else "?"
    options = quote(f"-csearch_path={schema}", safe="")
    try:
        yield f"{admin}{sep}options={options}"
    finally:
        with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
