"""``trellis asset automation KEY``: the latest recorded evaluations of an asset's
automation condition, as a tree (``--history N``, ``--json``)."""

from __future__ import annotations

import json

from trellis import (
    AutomationCondition,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from trellis.automation.loop import AutomationLoop

LETTERS = StaticPartitionsDefinition(["a", "b", "c"])


@asset(key_prefix=["shop"])
def orders(): ...


@asset(deps=[orders], key_prefix=["shop"], automation_condition=AutomationCondition.eager())
def revenue(): ...


@asset(partitions_def=LETTERS)
def raw(): ...


@asset(deps=[raw], partitions_def=LETTERS, automation_condition=AutomationCondition.eager())
def clean(): ...


def _evaluate_twice(instance, defs, *assets, **kwargs):
    loop = AutomationLoop()
    first = loop.run_once(instance, defs, 1_700_000_000.0, None)
    materialize(list(assets), instance=instance, **kwargs)
    return loop.run_once(instance, defs, 1_700_000_060.0, first.cursor)


def test_the_latest_evaluation_is_printed_as_a_tree(invoke, instance):
    tick = _evaluate_twice(instance, Definitions(assets=[orders, revenue]), orders)
    assert len(tick.run_requests) == 1
    result = invoke("asset", "automation", "shop/revenue")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "shop/revenue  evaluation 2 at 2023-11-14 22:14:20 UTC  requested 1"
    assert lines[1] == "✓ eager (AND)"
    assert "├─ ✓ in_latest_time_window" in lines
    assert any("└─ ✓ shop/orders" in line for line in lines)  # the dependency's own node
    assert any("✓ newly_updated" in line for line in lines)
    assert "evaluation 1" not in result.stdout


def test_history_shows_older_evaluations_newest_first(invoke, instance):
    _evaluate_twice(instance, Definitions(assets=[orders, revenue]), orders)
    result = invoke("asset", "automation", '["shop", "revenue"]', "--history", "5")
    headers = [line for line in result.stdout.splitlines() if line.startswith("shop/revenue")]
    assert [h.split()[2] for h in headers] == ["2", "1"]
    assert "requested 0" in headers[1]
    assert "✗ eager (AND)" in result.stdout


def test_partitions_are_shown_with_counts_and_keys(invoke, instance):
    _evaluate_twice(instance, Definitions(assets=[raw, clean]), raw, partition_key="b")
    result = invoke("asset", "automation", "clean")
    lines = result.stdout.splitlines()
    assert lines[0].endswith("requested 1 (b)")
    assert lines[1] == "✓ eager (AND)  [1 of 3: b]"
    assert any("✓ in_latest_time_window  [3 of 3: a...c]" in line for line in lines)


def test_json_lines(invoke, instance):
    _evaluate_twice(instance, Definitions(assets=[raw, clean]), raw, partition_key="c")
    result = invoke("asset", "automation", "clean", "--json", "--history", "2")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["evaluation_id"] for r in records] == [2, 1]
    assert records[0]["requested"] == ["c"] and records[0]["num_requested"] == 1
    assert records[0]["tree"]["label"] == "eager"


def test_an_asset_without_evaluations_says_so(invoke, instance):
    result = invoke("asset", "automation", "nothing/here")
    assert result.exit_code == 0
    assert "No automation evaluation of 'nothing/here' is recorded" in result.stdout
    assert invoke("asset", "automation", "x", "--history", "0").exit_code == 2
