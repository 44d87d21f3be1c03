"""``trellis job execute`` and ``trellis asset materialize``: runs recorded in the home, a
summary table, exit 0 / 1 / 2, config files, tags, partitions, and bad input."""

from __future__ import annotations

import pytest
from cli_fixture_paths import FIXTURES, FLAKY

from trellis.core.events import EventType
from trellis.core.run import PARTITION_TAG, RunStatus

PARTITIONED = str(FIXTURES / "partitioned_defs.py")


def _materialized(instance, run):
    return {
        e.asset_key.to_user_string()
        for e in instance.all_logs(run.run_id)
        if e.event_type is EventType.ASSET_MATERIALIZATION
    }


def _config(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_job_execute_records_a_successful_run(invoke, instance):
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for step in ("numbers", "doubled", "total"):
        assert step in out
    assert "SUCCESS" in out and "STEP" in out and "MATERIALIZATIONS" in out
    (run,) = instance.get_runs()
    assert run.job_name == "chain_job" and run.status is RunStatus.SUCCESS
    assert run.run_id in out


def test_failed_run_is_exit_1_with_the_error(invoke, instance, monkeypatch):
    monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert result.exit_code == 1
    assert "FAILURE" in result.stdout and "SKIPPED" in result.stdout
    assert "doubled was told to fail" in result.stdout
    (run,) = instance.get_runs()
    assert run.status is RunStatus.FAILURE


def test_unknown_job_suggests_the_closest(invoke):
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_jobs")
    assert result.exit_code == 2
    assert "No job named 'chain_jobs'. Did you mean 'chain_job'?" in result.stderr
    assert "configured_job" in result.stderr  # the jobs that exist are listed


def test_job_may_be_omitted_when_there_is_only_one(invoke):
    result = invoke("job", "execute", "-f", str(FIXTURES / "loose_defs.py"))
    assert result.exit_code == 0, result.output
    assert "hello_job" in result.stdout
    several = invoke("job", "execute", "-f", FLAKY)
    assert several.exit_code == 2
    assert "Choose a job with -j" in several.stderr


def test_config_files_merge_in_order(invoke, instance, tmp_path):
    first = _config(
        tmp_path, "a.yaml", "ops:\n  configured_op:\n    config:\n      count: 1\n      label: a\n"
    )
    second = _config(tmp_path, "b.yaml", "ops:\n  configured_op:\n    config:\n      count: 7\n")
    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "configured_job", "-c", first, "-c", second
    )
    assert result.exit_code == 0, result.output
    (run,) = instance.get_runs()
    assert run.run_config["ops"]["configured_op"]["config"] == {"count": 7, "label": "a"}


def test_bad_config_lists_every_error_with_its_path(invoke, instance, tmp_path):
    bad = _config(
        tmp_path,
        "bad.yaml",
        "ops:\n  configured_op:\n    config:\n      count: not-a-number\n      extra: 1\n",
    )
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job", "-c", bad)
    assert result.exit_code == 2
    err = result.stderr
    assert bad in err
    assert "3 errors" in err
    assert "root:ops:configured_op:config:count" in err
    assert "'extra'" in err and "'label'" in err
    assert instance.get_runs() == []  # nothing ran


def test_missing_required_config_is_exit_2(invoke):
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job")
    assert result.exit_code == 2
    assert "Missing required config entry 'ops'" in result.stderr


def test_yaml_syntax_error_names_file_and_line(invoke, tmp_path):
    broken = _config(tmp_path, "broken.yaml", "ops:\n  configured_op:\n    config: [1, 2\n  x: 3\n")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job", "-c", broken)
    assert result.exit_code == 2
    assert f"Invalid YAML in config file {broken}, line 4" in result.stderr


def test_config_that_is_not_a_mapping_is_exit_2(invoke, tmp_path):
    listed = _config(tmp_path, "list.yaml", "- 1\n- 2\n")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job", "-c", listed)
    assert result.exit_code == 2
    assert "must hold a mapping" in result.stderr


def test_missing_config_file_is_a_usage_error(invoke, tmp_path):
    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "chain_job", "-c", str(tmp_path / "x.yaml")
    )
    assert result.exit_code == 2
    assert "x.yaml" in result.stderr


def test_tags_are_stored_with_the_run(invoke, instance):
    result = invoke(
        "job", "execute", "-f", FLAKY, "-j", "chain_job", "--tags", '{"team": "data", "n": 3}'
    )
    assert result.exit_code == 0, result.output
    (run,) = instance.get_runs()
    assert run.tags["team"] == "data" and run.tags["n"] == "3"


def test_bad_tags_are_a_usage_error(invoke):
    for tags in ("{not json", '["a"]'):
        result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job", "--tags", tags)
        assert result.exit_code == 2, tags
        assert "--tags" in result.stderr


def test_materialize_a_selection(invoke, instance):
    result = invoke("asset", "materialize", "-f", FLAKY, "--select", "doubled,numbers")
    assert result.exit_code == 0, result.output
    assert "total" not in result.stdout.split("STEP", 1)[1]
    (run,) = instance.get_runs()
    assert run.status is RunStatus.SUCCESS
    assert _materialized(instance, run) == {"numbers", "doubled"}


def test_materialize_upstream_and_downstream_operators(invoke, instance):
    up = invoke("asset", "materialize", "-f", FLAKY, "--select", "+doubled")
    assert up.exit_code == 0, up.output
    down = invoke("asset", "materialize", "-f", FLAKY, "--select", "doubled+")
    assert down.exit_code == 0, down.output
    group = invoke("asset", "materialize", "-f", FLAKY, "--select", "group:report")
    assert group.exit_code == 0, group.output
    everything = invoke("asset", "materialize", "-f", FLAKY, "--select", "*")
    assert everything.exit_code == 0, everything.output
    runs = list(reversed(instance.get_runs()))
    materialized = [_materialized(instance, r) for r in runs]
    assert materialized[0] == {"numbers", "doubled"}
    assert materialized[1] == {"doubled", "total"}
    assert materialized[2] == {"total"}
    assert materialized[3] == {"numbers", "doubled", "total"}


def test_materialize_unknown_asset_suggests(invoke):
    result = invoke("asset", "materialize", "-f", FLAKY, "--select", "numbers,dubled")
    assert result.exit_code == 2
    assert "No asset with key 'dubled'" in result.stderr
    assert "Did you mean 'doubled'?" in result.stderr
    group = invoke("asset", "materialize", "-f", FLAKY, "--select", "group:chian")
    assert group.exit_code == 2
    assert "Did you mean 'chain'?" in group.stderr


def test_materialize_failure_is_exit_1(invoke, monkeypatch):
    monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    result = invoke("asset", "materialize", "-f", FLAKY, "--select", "*")
    assert result.exit_code == 1
    assert "FAILURE" in result.stdout


def test_materialize_a_partition(invoke, instance):
    result = invoke(
        "asset", "materialize", "-f", PARTITIONED, "--select", "paint", "--partition", "red"
    )
    assert result.exit_code == 0, result.output
    (run,) = instance.get_runs()
    assert run.tags[PARTITION_TAG] == "red"
    assert "paint [red]" in result.stdout


def test_unknown_partition_is_exit_2(invoke, instance):
    result = invoke(
        "asset", "materialize", "-f", PARTITIONED, "--select", "paint", "--partition", "rde"
    )
    assert result.exit_code == 2
    assert "rde" in result.stderr and "red" in result.stderr
    assert instance.get_runs() == []


def test_partition_of_an_unpartitioned_job_is_exit_2(invoke):
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job", "--partition", "x")
    assert result.exit_code == 2
    assert "is not partitioned; drop --partition" in result.stderr


def test_live_progress_on_a_terminal(invoke, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    assert result.exit_code == 0, result.output
    assert "3/3" in result.stdout and "steps" in result.stdout


def _alias_bomb(levels: int = 9) -> str:
    """A ~500-byte run config whose aliases expand to 9**9 (387 million) values."""
    lines = ["loggers:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_alias_bomb(), "expand to more than 1,000,000 values"),
        ("loggers: &a [*a]\n", "alias refers to a value that contains it"),
        ("loggers: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than 100 levels"),
    ],
    ids=["alias-bomb", "self-reference", "deep-nesting"],
)
def test_config_files_that_expand_without_bound_are_refused_fast(invoke, tmp_path, text, problem):
    import time

    assert len(text) < 7000
    path = _config(tmp_path, "bomb.yaml", text)
    started = time.monotonic()
    result = invoke("job", "execute", "-f", FLAKY, "-j", "configured_job", "-c", path)
    assert time.monotonic() - started < 30  # bounded, not seconds: an unbounded read never ends
    assert result.exit_code == 2
    assert f"Invalid YAML in config file {path}" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("code", ["0", "3"])
def test_sys_exit_in_an_op_is_a_step_failure_not_an_exit(invoke, instance, monkeypatch, code):
    monkeypatch.setenv("TRELLIS_TEST_EXIT_CODE", code)
    result = invoke("job", "execute", "-f", str(FIXTURES / "exit_defs.py"), "-j", "exiting_job")
    assert result.exit_code == 1, result.output
    (run,) = instance.get_runs()
    assert run.status is RunStatus.FAILURE
    events = instance.all_logs(run.run_id)
    (failure,) = [e for e in events if e.event_type is EventType.STEP_FAILURE]
    assert failure.step_key == "quits" and "SystemExit" in failure.message
    assert failure.data.error_source == "USER_CODE_ERROR"
    (skipped,) = [e for e in events if e.event_type is EventType.STEP_SKIPPED]
    assert skipped.step_key == "after" and "quits" in skipped.message


@pytest.mark.parametrize("level", ["CRITICAL", "INFO"])
def test_the_verdict_line_always_says_why_a_run_failed(invoke, monkeypatch, level):
    """With the log quiet, the closing line is all a user sees: it carries the reason."""
    monkeypatch.setenv("TRELLIS_LOG_LEVEL", level)
    defs = str(FIXTURES / "resource_failure_defs.py")
    result = invoke("asset", "materialize", "-f", defs, "--select", "orders")
    assert result.exit_code == 1
    verdict = [line for line in result.stdout.splitlines() if line.startswith("FAILURE")]
    assert len(verdict) == 1
    assert "cannot reach db.internal:5432" in verdict[0]
    assert "warehouse" in verdict[0]


def test_the_verdict_line_of_failed_steps_names_them(invoke, monkeypatch):
    monkeypatch.setenv("TRELLIS_LOG_LEVEL", "CRITICAL")
    monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    (verdict,) = [line for line in result.stdout.splitlines() if line.startswith("FAILURE")]
    assert "Steps failed: ['doubled']" in verdict
