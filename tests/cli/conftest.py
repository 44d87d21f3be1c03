"""Fixtures for the ``trellis`` command tests: a fresh ``$TRELLIS_HOME`` (and quickstart
output directory) per test, a click runner, and imports of user code undone after each
test."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_fixture_paths import FIXTURES, REPO
from click.testing import CliRunner, Result

from trellis.cli.main import cli
from trellis.instance.instance import Instance

_USER_CODE_DIRS = (str(FIXTURES), str(REPO / "examples"), tempfile.gettempdir())
_INSTALLED = (sys.prefix, sys.base_prefix, str(REPO / "src"))


@pytest.fixture(autouse=True)
def _isolate_user_imports():
    """The loader puts user directories on ``sys.path`` and user modules in
    ``sys.modules``; each test starts without the previous test's."""
    saved_path = list(sys.path)
    saved_env = dict(os.environ)  # the command sets the variables of a project's .env
    before = set(sys.modules)
    yield
    sys.path[:] = saved_path
    os.environ.clear()
    os.environ.update(saved_env)
    doomed = []
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        file = str(getattr(module, "__file__", "") or "")
        if not file:  # a namespace package (a defs/ subfolder without __init__.py)
            try:
                file = next(iter(getattr(module, "__path__", None) or []), "")
            except (KeyError, AttributeError):
                file = ""
        # Never drop installed packages or Trellis itself (the checkout may live under
        # the temp dir, as CI's clean clone can): re-importing them would split classes.
        if file.startswith(_INSTALLED) or not file.startswith(_USER_CODE_DIRS):
            continue
        doomed.append(name)
    for name in doomed:
        sys.modules.pop(name, None)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh Trellis home in ``$TRELLIS_HOME``, the quickstart's JSON output in
    ``$QUICKSTART_OUTPUT_DIR`` next to it; the failure switch of the fixtures off."""
    path = tmp_path / "home"
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    monkeypatch.setenv("QUICKSTART_OUTPUT_DIR", str(tmp_path / "quickstart-output"))
    monkeypatch.delenv("TRELLIS_CLI_TEST_FAIL", raising=False)
    monkeypatch.delenv("TRELLIS_CLI_TEST_SLEEP", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    return path


@pytest.fixture
def invoke(home) -> Callable[..., Result]:
    """``invoke("job", "list", "-f", FILE)``: run the command in-process and return the
    click result (``exit_code``, ``stdout``, ``stderr``, ``output``)."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def instance(home):
    """The instance of the test's home, as the command sees it."""
    inst = Instance.get()
    yield inst
    inst.dispose()
