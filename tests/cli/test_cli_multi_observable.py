"""``trellis asset observe`` on a ``@multi_observable_source_asset``: the selected assets
are observed in one run, each version recorded, and ``asset list`` shows the downstream
asset stale when one of them reports a new version."""

from __future__ import annotations

from cli_fixture_paths import FIXTURES

MULTI = str(FIXTURES / "multi_observed_defs.py")


def _row(listing: str, key: str) -> str:
    (line,) = [line for line in listing.splitlines() if line.startswith(f"│ {key} ")]
    return " ".join(line.replace("│", " ").split())


def test_observe_records_each_selected_asset_and_list_follows_the_versions(
    invoke, instance, monkeypatch
):
    listed = invoke("asset", "list", "-f", MULTI).stdout
    assert "never observed" in _row(listed, "orders_file")
    observed = invoke("asset", "observe", "-f", MULTI, "--select", "*")
    assert observed.exit_code == 0, observed.output
    (run,) = instance.get_runs()
    assert sorted(run.asset_selection) == ["orders_file", "users_file"]
    assert invoke("asset", "materialize", "-f", MULTI, "--select", "orders").exit_code == 0
    listed = invoke("asset", "list", "-f", MULTI).stdout
    assert _row(listed, "orders_file").endswith("observed 1 -")
    assert " fresh " in _row(listed, "orders")

    monkeypatch.setenv("TRELLIS_CLI_TEST_USERS_VERSION", "2")  # not upstream of orders
    assert invoke("asset", "observe", "-f", MULTI, "--select", "users_file").exit_code == 0
    listed = invoke("asset", "list", "-f", MULTI).stdout
    assert _row(listed, "users_file").endswith("observed 2 -")
    assert _row(listed, "orders_file").endswith("observed 1 -")  # not observed again
    assert " fresh " in _row(listed, "orders")

    monkeypatch.setenv("TRELLIS_CLI_TEST_ORDERS_VERSION", "2")
    assert invoke("asset", "observe", "-f", MULTI, "--select", "orders_file").exit_code == 0
    row = _row(invoke("asset", "list", "-f", MULTI).stdout, "orders")
    assert " stale " in row and row.endswith("orders_file has a new data version"), row
