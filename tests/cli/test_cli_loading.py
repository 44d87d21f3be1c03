"""Loading definitions: ``-f``, ``-m``, ``-a``, ``[tool.trellis]``, and every way it fails
(exit 2, naming the file, with the user's traceback)."""

from __future__ import annotations

import textwrap

from cli_fixture_paths import FIXTURES, FLAKY


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_file_lists_jobs_and_assets(invoke):
    jobs = invoke("job", "list", "-f", FLAKY)
    assert jobs.exit_code == 0, jobs.output
    assert "chain_job" in jobs.stdout and "configured_job" in jobs.stdout
    assert "__ASSET_JOB" not in jobs.stdout
    assets = invoke("asset", "list", "-f", FLAKY)
    assert assets.exit_code == 0, assets.output
    rows = {line.split()[1]: line for line in assets.stdout.splitlines() if line.startswith("│")}
    assert "chain" in rows["doubled"] and "numbers" in rows["doubled"]  # group, upstream
    assert "python" in rows["numbers"]  # kinds


def test_module_is_imported_from_the_working_directory(invoke, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    result = invoke("job", "list", "-m", "flaky_defs")
    assert result.exit_code == 0, result.output
    assert "chain_job" in result.stdout


def test_unknown_module_is_exit_2(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("job", "list", "-m", "no_such_module_here")
    assert result.exit_code == 2
    assert "No module named 'no_such_module_here'" in result.stderr


def test_pyproject_table_names_the_code(invoke, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.trellis]\nfile = "{FLAKY}"\nattribute = "defs"\n'
    )
    monkeypatch.chdir(tmp_path)
    result = invoke("job", "list")
    assert result.exit_code == 0, result.output
    assert "chain_job" in result.stdout


def test_pyproject_with_a_module(invoke, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.trellis]\nmodule = "loose_defs"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(FIXTURES))
    result = invoke("job", "list")
    assert result.exit_code == 0, result.output
    assert "hello_job" in result.stdout


def test_no_code_and_no_pyproject_is_exit_2(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("job", "list")
    assert result.exit_code == 2
    assert "-f FILE or -m MODULE" in result.stderr


def test_bad_pyproject_table_is_exit_2(invoke, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.trellis]\nmodul = "x"\n')
    monkeypatch.chdir(tmp_path)
    result = invoke("job", "list")
    assert result.exit_code == 2
    assert "unknown key 'modul'" in result.stderr and "Did you mean 'module'" in result.stderr


def test_file_and_module_together_is_exit_2(invoke):
    result = invoke("job", "list", "-f", FLAKY, "-m", "flaky_defs")
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_missing_file_is_exit_2(invoke, tmp_path):
    missing = tmp_path / "nope.py"
    result = invoke("job", "list", "-f", str(missing))
    assert result.exit_code == 2
    assert f"No such file: {missing}" in result.stderr


def test_import_error_shows_the_users_traceback(invoke, tmp_path):
    path = _write(
        tmp_path / "broken_defs.py",
        """\
        import trellis


        def helper():
            return {}["missing_key"]


        VALUE = helper()
        """,
    )
    result = invoke("asset", "list", "-f", path)
    assert result.exit_code == 2
    err = result.stderr
    assert f"Could not load definitions from {path}" in err
    assert f'File "{path}", line 8, in <module>' in err
    assert f'File "{path}", line 5, in helper' in err
    assert "KeyError: 'missing_key'" in err
    assert "importlib" not in err and "trellis/cli" not in err and "click" not in err


def test_definition_error_at_import_points_at_the_users_line(invoke, tmp_path):
    path = _write(
        tmp_path / "dup_defs.py",
        """\
        from trellis import Definitions, asset


        @asset(name="same")
        def first() -> int:
            return 1


        @asset(name="same")
        def second() -> int:
            return 2


        defs = Definitions(assets=[first, second])
        """,
    )
    result = invoke("job", "list", "-f", path)
    assert result.exit_code == 2
    assert f'File "{path}", line 14, in <module>' in result.stderr
    assert "DuplicateKeyError" in result.stderr
    assert "src/trellis/defs" not in result.stderr


def test_syntax_error_names_file_and_line(invoke, tmp_path):
    path = _write(tmp_path / "syntax_defs.py", "x = 1\ndef broken(:\n    pass\n")
    result = invoke("job", "list", "-f", path)
    assert result.exit_code == 2
    assert f'File "{path}", line 2' in result.stderr
    assert "SyntaxError" in result.stderr


def test_loose_assets_and_jobs_make_a_definitions(invoke):
    result = invoke("job", "list", "-f", str(FIXTURES / "loose_defs.py"))
    assert result.exit_code == 0, result.output
    assert "hello_job" in result.stdout
    assets = invoke("asset", "list", "-f", str(FIXTURES / "loose_defs.py"))
    assert "lonely" in assets.stdout


def test_several_definitions_need_an_attribute(invoke, tmp_path):
    path = _write(
        tmp_path / "two_defs.py",
        """\
        from trellis import Definitions, asset


        @asset
        def a() -> int:
            return 1


        first = Definitions(assets=[a])
        second = Definitions()
        """,
    )
    result = invoke("asset", "list", "-f", path)
    assert result.exit_code == 2
    assert "several Definitions (first, second)" in result.stderr
    chosen = invoke("asset", "list", "-f", path, "-a", "second")
    assert chosen.exit_code == 0, chosen.output
    assert "0 assets" in chosen.stdout
    typo = invoke("asset", "list", "-f", path, "-a", "firts")
    assert typo.exit_code == 2
    assert "no attribute 'firts'" in typo.stderr and "Did you mean 'first'" in typo.stderr


def test_attribute_may_be_a_function_returning_definitions(invoke, tmp_path):
    path = _write(
        tmp_path / "factory_defs.py",
        """\
        from trellis import Definitions, asset


        @asset
        def made() -> int:
            return 1


        def build():
            return Definitions(assets=[made])
        """,
    )
    result = invoke("asset", "list", "-f", path, "-a", "build")
    assert result.exit_code == 0, result.output
    assert "made" in result.stdout


def test_file_with_nothing_to_load_is_exit_2(invoke, tmp_path):
    path = _write(tmp_path / "empty_defs.py", "X = 1\n")
    result = invoke("job", "list", "-f", path)
    assert result.exit_code == 2
    assert "defines no Definitions object" in result.stderr
    assert path in result.stderr


def test_file_directory_is_importable_like_python_does(invoke, tmp_path):
    (tmp_path / "helpers_mod.py").write_text("ANSWER = 42\n")
    path = _write(
        tmp_path / "uses_helper.py",
        """\
        from helpers_mod import ANSWER
        from trellis import Definitions, asset


        @asset
        def answer() -> int:
            return ANSWER


        defs = Definitions(assets=[answer])
        """,
    )
    result = invoke("asset", "list", "-f", path)
    assert result.exit_code == 0, result.output
    assert "answer" in result.stdout
