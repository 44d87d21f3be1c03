"""Fixtures of the web UI tests: a definitions file, a private instance home, the
application served in-process (Starlette's TestClient; its lifespan starts the hub), and
the browser the end-to-end tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import SOURCE, many_assets_source, serve_in_process

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole session (the browser tests' modules share
    it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


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


@pytest.fixture
def many_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``(client, state)`` over 1,600 assets in four groups (past the collapse
    threshold)."""
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "many_defs.py"
    path.write_text(many_assets_source())
    yield from serve_in_process(path)
