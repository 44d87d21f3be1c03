"""Fixtures of the web UI tests: a definitions file, a private instance home, and the
application served in-process (Starlette's TestClient; its lifespan starts the hub)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import SOURCE, serve_in_process


@pytest.fixture
def defs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test definitions in a file; the instance home in the test's folder."""
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ui_defs.py"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def ui(defs_file: Path):
    """``(client, state)``: the application over ``defs_file``, its hub running."""
    yield from serve_in_process(defs_file)
