"""``trellis defs validate``: every definition-time error at once, exit 2; or a summary."""

from __future__ import annotations

import textwrap

from cli_fixture_paths import FIXTURES, FLAKY, QUICKSTART

import trellis
from trellis.defs import definitions as definitions_module


def test_valid_definitions_are_summarised(invoke):
    result = invoke("defs", "validate", "-f", QUICKSTART)
    assert result.exit_code == 0, result.output
    assert "Valid:" in result.stdout
    assert "3 assets, 2 jobs" in result.stdout


def test_every_error_is_reported_at_once(invoke):
    path = str(FIXTURES / "bad_defs.py")
    result = invoke("defs", "validate", "-f", path)
    assert result.exit_code == 2
    err = result.stderr
    assert "4 errors" in err
    assert f"bad_defs.py:{31}" in err  # where the failing Definitions(...) call is
    assert "Asset 'orders'" in err and "'warehouse'" in err
    assert "Asset 'customers'" in err and "'lake'" in err
    assert "'typo_job'" in err and "Did you mean 'orders'?" in err
    assert "'mail_job'" in err and "'mailer'" in err


def test_validation_restores_definitions(invoke):
    before = trellis.Definitions
    invoke("defs", "validate", "-f", str(FIXTURES / "bad_defs.py"))
    assert trellis.Definitions is before
    assert definitions_module.Definitions is before


def test_an_import_error_is_reported_as_such(invoke, tmp_path):
    path = tmp_path / "raises_defs.py"
    path.write_text("raise RuntimeError('config server down')\n")
    result = invoke("defs", "validate", "-f", str(path))
    assert result.exit_code == 2
    assert "1 error" in result.stderr
    assert "RuntimeError: config server down" in result.stderr
    assert f'File "{path}", line 1' in result.stderr


def test_graph_errors_and_job_errors_together(invoke, tmp_path):
    path = tmp_path / "cycle_defs.py"
    path.write_text(
        textwrap.dedent(
            """\
            from trellis import AssetIn, Definitions, asset, define_asset_job


            @asset(ins={"b": AssetIn("b")})
            def a(b):
                return b


            @asset(ins={"a": AssetIn("a")})
            def b(a):
                return a


            defs = Definitions(
                assets=[a, b], jobs=[define_asset_job("j", selection=["nope"])]
            )
            """
        )
    )
    result = invoke("defs", "validate", "-f", str(path))
    assert result.exit_code == 2
    assert "cycle" in result.stderr
    assert "2 errors" in result.stderr


def test_validate_with_a_module(invoke, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    result = invoke("defs", "validate", "-m", "flaky_defs")
    assert result.exit_code == 0, result.output
    assert "module 'flaky_defs'" in result.stdout


def test_validate_unknown_file(invoke, tmp_path):
    result = invoke("defs", "validate", "-f", str(tmp_path / "missing.py"))
    assert result.exit_code == 2
    assert "No such file" in result.stderr


def test_validate_loaded_flaky_project(invoke):
    result = invoke("defs", "validate", "-f", FLAKY)
    assert result.exit_code == 0, result.output


def test_loose_definitions_are_validated_in_full(invoke, tmp_path):
    path = tmp_path / "loose_bad_defs.py"
    path.write_text(
        textwrap.dedent(
            """\
            from trellis import asset


            @asset(required_resource_keys={"db"})
            def one() -> int:
                return 1


            @asset(required_resource_keys={"api"})
            def two() -> int:
                return 2
            """
        )
    )
    result = invoke("defs", "validate", "-f", str(path))
    assert result.exit_code == 2
    assert "2 errors" in result.stderr
    assert "'db'" in result.stderr and "'api'" in result.stderr
    assert "src/trellis" not in result.stderr
