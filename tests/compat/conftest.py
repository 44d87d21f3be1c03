"""Fixtures of the compat tests: Dagster-style projects copied to a temporary folder
(``project``) and small packages written on the fly (``write_package``), importable while
the test runs and forgotten after it (``sys.path`` and ``sys.modules`` restored)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECTS = Path(__file__).resolve().parent / "projects"


@pytest.fixture
def forget_user_modules(tmp_path: Path) -> Iterator[None]:
    """Undo the ``sys.path`` entries and the imports of modules under ``tmp_path``."""
    saved = list(sys.path)
    yield
    sys.path[:] = saved
    root = str(tmp_path)
    doomed = []
    for name, module in list(sys.modules.items()):
        file = str(getattr(module, "__file__", "") or "")
        try:  # a namespace package's path is recomputed from its parent's
            paths = [str(p) for p in getattr(module, "__path__", []) or []]
        except (KeyError, AttributeError):
            paths = []
        if file.startswith(root) or any(p.startswith(root) for p in paths):
            doomed.append(name)
    for name in doomed:
        sys.modules.pop(name, None)


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_user_modules: None
) -> Callable[[str], Path]:
    """``project("university")``: a copy of ``tests/compat/projects/university`` in
    ``tmp_path``, made the working directory and importable (its folder and its ``src/``
    on ``sys.path``, as an editable install would make it)."""

    def copy(name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(PROJECTS / name, root)
        monkeypatch.chdir(root)
        for folder in (root / "src", root):
            if folder.is_dir():
                sys.path.insert(0, str(folder))
        return root

    return copy


@pytest.fixture
def write_package(
    tmp_path: Path, forget_user_modules: None
) -> Callable[[str, dict[str, str]], Path]:
    """``write_package("shop", {"assets.py": "..."})``: a package ``shop`` under
    ``tmp_path`` with those modules (dedented), importable."""

    def write(name: str, files: dict[str, str]) -> Path:
        base = tmp_path / "packages"
        root = base / name
        root.mkdir(parents=True, exist_ok=True)
        (root / "__init__.py").touch()
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        if str(base) not in sys.path:
            sys.path.insert(0, str(base))
        return root

    return write
