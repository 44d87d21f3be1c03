"""What a Dagster user types at the ``trellis`` command: ``--partition-range A...B``,
partitioned runs refused up front without a partition, ``--config-json``, ``run
reexecute`` without ``-f``, ``asset wipe``, ``.env``, and examples in every ``--help``."""

from __future__ import annotations

import json

import click
import pytest
from cli_fixture_paths import FIXTURES, FLAKY

from trellis.cli.main import cli

PARTITIONED = str(FIXTURES / "partitioned_defs.py")

RANGE_PROJECT = """
from trellis import (
    AssetExecutionContext, DailyPartitionsDefinition, Definitions, asset, define_asset_job
)

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


@asset(partitions_def=days)
def visits(context: AssetExecutionContext) -> None:
    first, last = context.partition_key_range
    context.add_output_metadata({"days": len(context.partition_keys), "first": first, "last": last})


daily_job = define_asset_job("daily_job", selection="*", partitions_def=days)
defs = Definitions(assets=[visits], jobs=[daily_job])
"""


@pytest.fixture
def range_defs(tmp_path) -> str:
    path = tmp_path / "range_defs.py"
    path.write_text(RANGE_PROJECT)
    return str(path)


# -- partitions -------------------------------------------------------------------------


def test_a_partitioned_selection_without_partition_is_refused_before_any_run(invoke, instance):
    result = invoke("asset", "materialize", "-f", PARTITIONED, "--select", "paint")

    assert result.exit_code == 2
    assert "--partition KEY" in result.stderr and "--partition-range" in result.stderr
    assert "Valid keys (3): red, green, blue" in result.stderr
    assert instance.get_runs() == []


def test_a_partitioned_job_without_partition_is_refused_naming_the_flag(
    invoke, range_defs, instance
):
    result = invoke("job", "execute", "-f", range_defs, "-j", "daily_job")

    assert result.exit_code == 2
    assert "Job 'daily_job' is partitioned" in result.stderr
    assert "2024-01-01, 2024-01-02, 2024-01-03, ..., 2024-01-10" in result.stderr
    assert instance.get_runs() == []


def test_partition_range_runs_the_range_as_one_run(invoke, range_defs, instance):
    result = invoke(
        "asset", "materialize", "-f", range_defs, "--select", "visits",
        "--partition-range", "2024-01-02...2024-01-05",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [run] = instance.get_runs()
    assert run.tags["trellis/asset_partition_range_start"] == "2024-01-02"
    assert run.tags["trellis/asset_partition_range_end"] == "2024-01-05"
    materializations = [
        e for e in instance.all_logs(run.run_id) if e.event_type.value == "ASSET_MATERIALIZATION"
    ]  # one per partition of the range, as in Dagster
    assert [e.partition for e in materializations] == [f"2024-01-0{d}" for d in range(2, 6)]
    assert all(e.data.metadata["days"].value == 4 for e in materializations)


def test_partition_range_on_job_execute(invoke, range_defs):
    result = invoke(
        "job", "execute", "-f", range_defs, "-j", "daily_job",
        "--partition-range", "2024-01-08...2024-01-10",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-01-02..2024-01-05", "is not a range; write START...END"),
        ("2024-01-05...2024-01-02", "comes after its end"),
        ("2024-01-02...2030-01-01", "'2030-01-01' is not a partition"),
    ],
)
def test_a_bad_partition_range_is_exit_2(invoke, range_defs, value, message):
    result = invoke(
        "job", "execute", "-f", range_defs, "-j", "daily_job", "--partition-range", value
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_partition_and_partition_range_together_is_a_usage_error(invoke):
    result = invoke(
        "asset", "materialize", "-f", PARTITIONED, "--select", "paint",
        "--partition", "red", "--partition-range", "red...blue",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not both" in result.stderr


# -- --config-json ----------------------------------------------------------------------


def test_config_json_is_merged_over_config_files(invoke, tmp_path, instance):
    config = tmp_path / "run.yaml"
    config.write_text("ops:\n  configured_op:\n    config:\n      count: 1\n      label: yaml\n")
    override = json.dumps({"ops": {"configured_op": {"config": {"label": "json"}}}})

    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "configured_job",
        "-c", str(config), "--config-json", override,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [run] = instance.get_runs()
    assert run.run_config["ops"]["configured_op"]["config"] == {"count": 1, "label": "json"}


def test_config_json_alone(invoke):
    config = {"ops": {"configured_op": {"config": {"count": 2, "label": "x"}}}}
    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "configured_job", "--config-json", json.dumps(config)
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [("{ops:", "is not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_bad_config_json_is_exit_2(invoke, text, message):
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job", "--config-json", text)
    assert result.exit_code == 2
    assert message in result.stderr


def test_invalid_config_from_json_names_its_source(invoke):
    config = {"ops": {"configured_op": {"config": {"count": "many", "label": "x"}}}}
    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "configured_job", "--config-json", json.dumps(config)
    )
    assert result.exit_code == 2
    assert "(from --config-json)" in result.stderr


# -- run reexecute without -f -----------------------------------------------------------


def test_reexecute_finds_the_code_the_run_recorded(invoke, instance, tmp_path, monkeypatch):
    first = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert first.exit_code == 0, first.output
    [run] = instance.get_runs()
    assert json.loads(run.tags["trellis/code_location"])["file"].endswith("flaky_defs.py")
    monkeypatch.chdir(tmp_path)  # somewhere without a pyproject.toml

    again = invoke("run", "reexecute", run.run_id[:8])

    assert again.exit_code == 0, again.output
    newest = instance.get_runs()[0]
    assert newest.parent_run_id == run.run_id


def test_reexecute_of_a_module_target_from_elsewhere(invoke, instance, tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text(
        "from trellis import Definitions, asset\n\n\n@asset\ndef stock() -> int:\n"
        "    return 5\n\n\ndefs = Definitions(assets=[stock])\n"
    )
    monkeypatch.chdir(project)
    assert invoke("asset", "materialize", "-m", "shop", "--select", "*").exit_code == 0
    [run] = instance.get_runs()
    monkeypatch.chdir(tmp_path)

    again = invoke("run", "reexecute", run.run_id)

    assert again.exit_code == 0, again.output


def test_reexecute_of_a_run_without_a_recorded_location_asks_for_code(
    invoke, instance, tmp_path, monkeypatch
):
    from trellis import Definitions, asset

    @asset
    def thing() -> int:
        return 1

    result = (
        Definitions(assets=[thing])
        .get_implicit_global_asset_job_def()
        .execute_in_process(instance=instance)
    )
    monkeypatch.chdir(tmp_path)

    again = invoke("run", "reexecute", result.run_id)

    assert again.exit_code == 2
    assert "Pass -f FILE or -m MODULE" in again.stderr


# -- asset wipe -------------------------------------------------------------------------


def test_asset_wipe_forgets_the_history_after_confirmation(invoke, instance):
    assert invoke("asset", "materialize", "-f", FLAKY, "--select", "*").exit_code == 0
    assert "numbers" in [k.to_user_string() for k in instance.get_asset_keys()]

    declined = CliRunnerWithInput(invoke).run(["asset", "wipe", "numbers"], "no\n")
    assert declined.exit_code == 0 and "Nothing wiped." in declined.output
    assert instance.get_latest_materialization_event("numbers") is not None

    confirmed = CliRunnerWithInput(invoke).run(["asset", "wipe", "numbers"], "DELETE\n")

    assert confirmed.exit_code == 0, confirmed.output
    assert "Wiped the materialization history of 1 asset(s): numbers." in confirmed.output
    assert instance.get_latest_materialization_event("numbers") is None
    assert "numbers" not in [k.to_user_string() for k in instance.get_asset_keys()]
    assert len(instance.get_runs()) == 1  # the run and its log stay


def test_asset_wipe_all_with_yes(invoke, instance):
    assert invoke("asset", "materialize", "-f", FLAKY, "--select", "*").exit_code == 0

    result = invoke("asset", "wipe", "--all", "--yes")

    assert result.exit_code == 0, result.output
    assert instance.get_asset_keys() == []


def test_asset_wipe_of_an_unknown_key_is_exit_2_with_a_suggestion(invoke):
    assert invoke("asset", "materialize", "-f", FLAKY, "--select", "*").exit_code == 0

    result = invoke("asset", "wipe", "numbrs", "--yes")

    assert result.exit_code == 2
    assert "Did you mean 'numbers'?" in result.stderr


def test_asset_wipe_needs_keys_or_all(invoke):
    assert invoke("asset", "wipe").exit_code == 2
    assert invoke("asset", "wipe", "a", "--all").exit_code == 2


class CliRunnerWithInput:
    """Run the command with text on standard input (the confirmation prompt)."""

    def __init__(self, invoke) -> None:
        self.invoke = invoke

    def run(self, args: list[str], text: str):
        from click.testing import CliRunner

        return CliRunner().invoke(cli, args, input=text, catch_exceptions=False)


# -- .env and --help --------------------------------------------------------------------


def test_env_file_variables_reach_the_code(invoke, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text('export GREETING="hello from .env"\n# a comment\n')
    (tmp_path / "defs.py").write_text(
        "import os\nfrom trellis import Definitions, asset\n\n\n@asset\ndef greeting() -> str:\n"
        "    return os.environ['GREETING']\n\n\ndefs = Definitions(assets=[greeting])\n"
    )
    monkeypatch.delenv("GREETING", raising=False)
    monkeypatch.chdir(tmp_path)

    result = invoke("asset", "materialize", "-f", "defs.py", "--select", "*")

    assert result.exit_code == 0, result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("command", list(_commands(cli)), ids=" ".join)
def test_every_command_help_ends_with_examples(invoke, command):
    result = invoke(*command, "--help")

    assert result.exit_code == 0
    examples = result.stdout.split("Examples:", 1)[1]
    assert f"trellis {' '.join(command)}" in examples
