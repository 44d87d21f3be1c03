"""``trellis asset freshness [KEY...]``: the freshness state of assets with a freshness
policy, from their latest materialization in the instance; the FRESHNESS column of
``trellis asset list``."""

from __future__ import annotations

import json

from cli_fixture_paths import FIXTURES

FRESHNESS = str(FIXTURES / "freshness_defs.py")


def test_states_of_every_asset_with_a_policy(invoke):
    assert (
        invoke("asset", "materialize", "-f", FRESHNESS, "--select", "hourly,instant").exit_code == 0
    )
    result = invoke("asset", "freshness", "-f", FRESHNESS, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["asset_key"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert {k: r["state"] for k, r in rows.items()} == {
        "daily": "UNKNOWN",  # never materialized
        "hourly": "PASS",
        "instant": "FAIL",  # a lag of 0 minutes: already too old
    }
    assert rows["hourly"]["policy"] == "updated within 1:00:00"
    assert (
        rows["daily"]["reason"] == "never updated"
        and rows["daily"]["last_updated_timestamp"] is None
    )

    table = invoke("asset", "freshness", "-f", FRESHNESS, "hourly", "daily")
    assert table.exit_code == 0
    assert "Freshness of 2 assets" in table.stdout
    assert "PASS" in table.stdout and "UNKNOWN" in table.stdout and "instant" not in table.stdout

    listing = invoke("asset", "list", "-f", FRESHNESS)
    assert "FRESHNESS" in listing.stdout
    lines = {line.split()[1]: line for line in listing.stdout.splitlines() if line.startswith("│")}
    assert "FAIL" in lines["instant"] and lines["plain"].rstrip("│ ").endswith("-")


def test_an_asset_without_a_policy_or_unknown_is_an_error(invoke):
    result = invoke("asset", "freshness", "-f", FRESHNESS, "plain")
    assert result.exit_code == 2
    assert "'plain' has no freshness policy (give freshness_policy=" in result.stderr
    result = invoke("asset", "freshness", "-f", FRESHNESS, "nope")
    assert result.exit_code == 2 and "No asset 'nope' in these definitions." in result.stderr
