"""The ``trellis`` command in Dagster projects, run from the project folder as a Dagster
user runs ``dagster``: no ``-f``, the code found through ``[tool.dagster]`` or
``[tool.dg]`` in ``pyproject.toml``, ``.env`` read first. The projects are the compat
fixtures (``tests/compat/projects``), copied to a temporary folder."""

from __future__ import annotations

import csv
import shutil

import pytest
from cli_fixture_paths import REPO

PROJECTS = REPO / "tests" / "compat" / "projects"


@pytest.fixture
def in_project(tmp_path, monkeypatch):
    """``in_project("university")``: a copy of the project, made the working directory."""

    def enter(name: str):
        root = tmp_path / name
        shutil.copytree(PROJECTS / name, root)
        monkeypatch.chdir(root)
        return root

    return enter


def _borough_counts(path) -> dict[str, int]:
    with open(path) as f:
        return {row["borough"]: int(row["num_trips"]) for row in csv.DictReader(f)}


def test_university_runs_from_tool_dagster_with_its_env_file(invoke, in_project, monkeypatch):
    monkeypatch.delenv("DUCKDB_DATABASE", raising=False)
    root = in_project("university")

    listed = invoke("asset", "list")
    assert listed.exit_code == 0, listed.output
    assert "trips_by_borough" in listed.stdout and "metrics" in listed.stdout

    result = invoke("asset", "materialize", "--select", "*")

    assert result.exit_code == 0, result.output
    assert (root / "data" / "staging" / "data.duckdb").is_file()  # the path from .env
    counts = _borough_counts(root / "data" / "outputs" / "trips_by_borough.csv")
    assert counts == {"Brooklyn": 2, "Manhattan": 3, "Queens": 1}


def test_the_real_environment_wins_over_the_env_file(invoke, in_project, tmp_path):
    root = in_project("university")
    elsewhere = tmp_path / "elsewhere.duckdb"

    result = invoke(
        "job", "execute", "-j", "trip_update_job", env={"DUCKDB_DATABASE": str(elsewhere)}
    )

    assert result.exit_code == 0, result.output
    assert elsewhere.is_file()
    assert not (root / "data" / "staging" / "data.duckdb").exists()


def test_quickstart_etl_job_from_tool_dagster_module_name(invoke, in_project):
    in_project("quickstart_etl")

    result = invoke("job", "execute", "-j", "all_assets_job")

    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.stdout


def test_scaffold_project_from_tool_dg(invoke, in_project):
    in_project("scaffold")

    listed = invoke("job", "list")
    assert listed.exit_code == 0, listed.output
    assert "crunch_job" in listed.stdout and "orders_job" in listed.stdout

    result = invoke("job", "execute", "-j", "orders_job")
    assert result.exit_code == 0, result.output


def test_a_defs_folder_job_runs_on_the_multiprocess_executor(invoke, in_project, instance):
    in_project("scaffold")

    result = invoke("job", "execute", "-j", "crunch_job")

    assert result.exit_code == 0, result.output
    [run] = instance.get_runs()
    assert run.tags["trellis/executor"] == "multiprocess"
    assert run.status.value == "SUCCESS"


def test_autoload_defs_loads_the_defs_folder_itself(invoke, in_project, instance):
    root = in_project("scaffold")
    (root / "src" / "scaffold_proj" / "definitions.py").unlink()  # not needed any more
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "autoload_defs = true\n")

    listed = invoke("asset", "list")
    assert listed.exit_code == 0, listed.output
    assert "daily_visits" in listed.stdout
    result = invoke("job", "execute", "-j", "crunch_job")  # workers load the defs folder too
    assert result.exit_code == 0, result.output


def test_module_flag_finds_a_src_layout_package(invoke, in_project):
    in_project("scaffold")

    result = invoke("job", "list", "-m", "scaffold_proj.definitions")

    assert result.exit_code == 0, result.output
    assert "orders_job" in result.stdout


def test_file_flag_loads_a_definitions_function(invoke, in_project):
    root = in_project("scaffold")

    result = invoke("job", "list", "-f", str(root / "src" / "scaffold_proj" / "definitions.py"))

    assert result.exit_code == 0, result.output
    assert "crunch_job" in result.stdout


def test_a_yaml_component_is_exit_2_naming_the_file(invoke, in_project):
    root = in_project("scaffold")
    (root / "src" / "scaffold_proj" / "defs" / "defs.yaml").write_text("type: x.Y\n")

    result = invoke("asset", "list")

    assert result.exit_code == 2
    assert "defs.yaml: YAML component files are Dagster components" in result.stderr


def test_tool_trellis_comes_before_tool_dagster(invoke, in_project):
    root = in_project("quickstart_etl")
    (root / "other.py").write_text(
        "from trellis import Definitions, asset\n\n\n@asset\ndef only() -> int:\n"
        "    return 1\n\n\ndefs = Definitions(assets=[only])\n"
    )
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.trellis]\nfile = "other.py"\n')

    result = invoke("asset", "list")

    assert result.exit_code == 0, result.output
    assert "only" in result.stdout and "hackernews" not in result.stdout


def test_several_dagster_code_locations_are_refused(invoke, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dagster]\nmodules = [{type = "module", name = "a"}, {type = "module", name = "b"}]\n'
    )
    monkeypatch.chdir(tmp_path)

    result = invoke("job", "list")

    assert result.exit_code == 2
    assert "lists 2 code locations (a, b)" in result.stderr
    assert "-m MODULE" in result.stderr


def test_no_table_at_all_names_the_three_tables(invoke, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(tmp_path)

    result = invoke("job", "list")

    assert result.exit_code == 2
    assert "[tool.trellis] (or [tool.dagster] / [tool.dg])" in result.stderr
