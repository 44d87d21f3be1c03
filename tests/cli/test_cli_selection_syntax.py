"""``--select`` takes Dagster's selection syntax (filters, ``and``/``or``/``not``,
parentheses, layers, ``roots``/``sinks``) as well as the older forms; a malformed string
is exit 2 with the column and a caret, before any run."""

from __future__ import annotations

from cli_fixture_paths import FLAKY

from trellis.core.events import EventType


def _materialized(instance) -> list[set[str]]:
    return [
        {
            e.asset_key.to_user_string()
            for e in instance.all_logs(run.run_id)
            if e.event_type is EventType.ASSET_MATERIALIZATION
        }
        for run in reversed(instance.get_runs())
    ]


def test_select_takes_dagster_selection_syntax(invoke, instance):
    selections = [
        "group:chain and kind:python",
        "group:chain and not kind:python",
        'key:"doubled"+',
        "1+key:total",
        "sinks(*) or roots(*)",
        "(group:report or key:numbers) and not key:doubled",
        "key:*ub*",
        "NOT group:report",
    ]
    for text in selections:
        result = invoke("asset", "materialize", "-f", FLAKY, "--select", text)
        assert result.exit_code == 0, (text, result.output)
    assert _materialized(instance) == [
        {"numbers"},
        {"doubled"},
        {"doubled", "total"},
        {"doubled", "total"},
        {"numbers", "total"},
        {"numbers", "total"},
        {"doubled"},
        {"numbers", "doubled"},
    ]


def test_code_location_is_the_loaded_file_or_module(invoke, instance):
    by_stem = invoke("asset", "materialize", "-f", FLAKY, "--select", "code_location:flaky_defs")
    assert by_stem.exit_code == 0, by_stem.output
    by_name = invoke(
        "asset", "materialize", "-f", FLAKY, "--select", 'code_location:"flaky_defs.py"'
    )
    assert by_name.exit_code == 0, by_name.output
    assert _materialized(instance) == [{"numbers", "doubled", "total"}] * 2
    other = invoke("asset", "materialize", "-f", FLAKY, "--select", "code_location:elsewhere")
    assert other.exit_code == 2
    assert "selects no asset" in other.stderr


def test_a_malformed_selection_is_exit_2_with_its_position(invoke, instance):
    result = invoke("asset", "materialize", "-f", FLAKY, "--select", "group:chain and (kind:b")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid --select 'group:chain and (kind:b': expected ')' at the end\n"
        "  group:chain and (kind:b\n"
        "                         ^\n"
    )
    unknown = invoke("asset", "materialize", "-f", FLAKY, "--select", "kind:python and stauts:x")
    assert unknown.exit_code == 2
    assert "unknown filter 'stauts:'" in unknown.stderr and "column 17" in unknown.stderr
    refused = invoke("asset", "materialize", "-f", FLAKY, "--select", "status:MISSING")
    assert refused.exit_code == 2 and "not supported by Trellis" in refused.stderr
    assert instance.get_runs() == []


def test_the_selection_that_used_to_be_one_group_name(invoke, instance):
    """``group:a and kind:b`` once read as the group named 'a and kind:b'."""
    result = invoke("asset", "materialize", "-f", FLAKY, "--select", "group:chian and kind:b")
    assert result.exit_code == 2
    assert "No asset group named 'chian'. Did you mean 'chain'?" in result.stderr
    assert "(in --select 'group:chian and kind:b')" in result.stderr


def test_diagram_takes_the_same_syntax(invoke):
    result = invoke("asset", "diagram", "--select", "roots(*)+1", "-f", FLAKY)
    assert result.exit_code == 0, result.output
    assert "numbers" in result.stdout and "doubled" in result.stdout
    assert "total" not in result.stdout
