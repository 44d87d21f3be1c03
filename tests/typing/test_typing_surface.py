"""The public API as a type checker sees it: one mypy run (with the project's configuration)
over user-style code, checked line by line.

- ``user_code.py`` must type-check cleanly; each ``reveal_type(x)  # Name`` line must reveal
  the class ``Name`` (so a decorator that went back to returning ``Any`` fails here, as do
  its ``assert_type`` lines); each ``reveal_type(trellis.f)  # signature of trellis.f`` line
  must show every keyword argument of ``f`` by name, and no ``**kwargs``.
- ``user_errors.py`` must get exactly the errors its ``# error: CODE`` comments name.
- ``contracts.py`` must type-check cleanly: both run contexts provide ``PlanContext``.

mypy follows the imports into the package silently: the package's own errors are
``make typecheck``'s business. The cache lives in ``.mypy_cache/tests-typing`` (a cold run
takes some seconds, a warm one about one).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import re
import runpy
from pathlib import Path

import pytest
from mypy import api as mypy_api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
USER_CODE = HERE / "user_code.py"
USER_ERRORS = HERE / "user_errors.py"
CONTRACTS = HERE / "contracts.py"

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")
ERROR_CODE = re.compile(r"\s+\[(?P<code>[a-z-]+)\]$")
REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
VAR_KEYWORD = re.compile(r"\*\*\w+:")  # a named **kwargs (a Callable[..., Any] shows "**Any")


@pytest.fixture(scope="module")
def mypy_output() -> dict[str, list[tuple[int, str, str]]]:
    """``{file name: [(line, "error" or "note", text)]}`` from one mypy run over both files."""
    stdout, stderr, _status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "tests-typing"),
            "--follow-imports=silent",
            "--no-warn-unused-configs",
            "--no-error-summary",
            "--no-pretty",
            "--show-error-codes",
            str(USER_CODE),
            str(USER_ERRORS),
            str(CONTRACTS),
        ]
    )
    assert not stderr.strip(), stderr
    found: dict[str, list[tuple[int, str, str]]] = {
        USER_CODE.name: [],
        USER_ERRORS.name: [],
        CONTRACTS.name: [],
    }
    for raw in stdout.splitlines():
        match = LINE.match(raw)
        assert match, f"unexpected mypy output: {raw}"
        name = Path(match["file"]).name
        assert name in found, f"mypy reported on another file: {raw}"
        found[name].append((int(match["line"]), match["kind"], match["text"]))
    return found


def _source_lines(path: Path) -> dict[int, str]:
    return dict(enumerate(path.read_text().splitlines(), start=1))


def _comment(line: str) -> str | None:
    return line.split("  # ", 1)[1].strip() if "  # " in line else None


def test_both_run_contexts_provide_the_plan_context(mypy_output):
    errors = [f"{n}: {text}" for n, kind, text in mypy_output[CONTRACTS.name] if kind == "error"]
    assert not errors, "\n".join(errors)


def test_user_code_type_checks_cleanly(mypy_output):
    errors = [f"{n}: {text}" for n, kind, text in mypy_output[USER_CODE.name] if kind == "error"]
    assert not errors, "\n".join(errors)


def test_decorated_functions_reveal_their_definition_types(mypy_output):
    source = _source_lines(USER_CODE)
    revealed = {
        n: m["type"]
        for n, kind, text in mypy_output[USER_CODE.name]
        if kind == "note" and (m := REVEALED.match(text))
    }
    expected = {
        n: _comment(line)
        for n, line in source.items()
        if line.startswith("reveal_type(") and not (_comment(line) or "").startswith("signature")
    }
    assert len(expected) >= 20, "the reveal_type lines of user_code.py were not found"
    wrong = [
        f"line {n}: {source[n]!r} revealed {revealed.get(n)!r}"
        for n, name in expected.items()
        if revealed.get(n) is None or revealed[n].rsplit(".", 1)[-1] != name
    ]
    assert not wrong, "\n".join(wrong)


def test_decorator_signatures_show_every_keyword_argument(mypy_output):
    source = _source_lines(USER_CODE)
    revealed = {
        n: m["type"]
        for n, kind, text in mypy_output[USER_CODE.name]
        if kind == "note" and (m := REVEALED.match(text))
    }
    checked = []
    for n, line in source.items():
        comment = _comment(line) or ""
        if not (line.startswith("reveal_type(") and comment.startswith("signature of ")):
            continue
        dotted = comment.removeprefix("signature of ")
        module_name, _, attr = dotted.rpartition(".")
        function = getattr(importlib.import_module(module_name), attr)
        shown = revealed.get(n, "")
        assert shown.startswith(("Overload(", "def ")), f"{dotted}: {shown}"
        assert not VAR_KEYWORD.search(shown), f"{dotted} takes **kwargs: {shown}"
        for param in inspect.signature(function).parameters.values():
            if param.kind is param.KEYWORD_ONLY:
                assert f"{param.name}: " in shown, f"{dotted} hides '{param.name}': {shown}"
        checked.append(dotted)
    assert len(checked) >= 9, checked


def test_user_mistakes_are_type_errors(mypy_output):
    expected = {}
    for n, line in _source_lines(USER_ERRORS).items():
        comment = _comment(line) or ""
        if comment.startswith("error: "):
            expected[n] = comment.removeprefix("error: ").split()[0]
    got = {}
    for n, kind, text in mypy_output[USER_ERRORS.name]:
        if kind == "error":
            code = ERROR_CODE.search(text)
            got[n] = code["code"] if code else text
    assert got == expected


def test_user_code_also_runs():
    # The typed forms are the runtime forms: the file defines (and runs one job) without error.
    with contextlib.redirect_stderr(io.StringIO()):  # reveal_type prints at runtime
        namespace = runpy.run_path(str(USER_CODE))
    assert type(namespace["orders"]).__name__ == "AssetsDefinition"
