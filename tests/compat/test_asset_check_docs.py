"""Asset checks the way Dagster's documentation writes them: checks next to their assets,
checks in the asset's own step, blocking checks, several checks in one function, checks
with resources and config, jobs that run checks alone, and checks called in unit tests.
Only the import changed (``dagster`` → ``trellis``); each example also runs on Dagster
1.13 with the import switched back."""

import trellis as dg

# -- a check next to its asset ------------------------------------------------------------


@dg.asset
def orders() -> list[dict]:
    return [
        {"order_id": 1, "item_id": "shoe", "price": 80.0},
        {"order_id": 2, "item_id": "sock", "price": 5.0},
        {"order_id": None, "item_id": "hat", "price": 25.0},
    ]


@dg.asset_check(asset=orders)
def orders_id_has_no_nulls(orders: list[dict]) -> dg.AssetCheckResult:
    missing = sum(1 for row in orders if row["order_id"] is None)
    return dg.AssetCheckResult(passed=missing == 0, metadata={"num_null_order_ids": missing})


def test_a_check_reports_its_result_with_metadata():
    result = dg.materialize([orders, orders_id_has_no_nulls])
    assert result.success  # a failed check that does not block is reported, not fatal
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey("orders")
    assert evaluation.check_name == "orders_id_has_no_nulls"
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["num_null_order_ids"].value == 1


def test_a_check_is_tested_by_calling_it():
    clean = [{"order_id": 1, "item_id": "shoe", "price": 80.0}]
    assert orders_id_has_no_nulls(clean).passed
    assert not orders_id_has_no_nulls(orders()).passed


# -- severity and blocking ----------------------------------------------------------------


@dg.asset_check(asset=orders)
def prices_are_plausible(orders: list[dict]) -> dg.AssetCheckResult:
    expensive = [row["item_id"] for row in orders if row["price"] > 50]
    return dg.AssetCheckResult(
        passed=not expensive,
        severity=dg.AssetCheckSeverity.WARN,
        description="Unusually expensive items",
        metadata={"items": ", ".join(expensive)},
    )


@dg.asset
def items() -> list[str]:
    return ["shoe", "sock", ""]


@dg.asset_check(asset=items, blocking=True)
def items_have_names(items: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=all(items))


@dg.asset
def item_report(items: list[str]) -> str:
    return ", ".join(items)


def test_a_warning_does_not_fail_the_run():
    result = dg.materialize([orders, prices_are_plausible])
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.description == "Unusually expensive items"


def test_a_failed_blocking_check_stops_the_assets_downstream():
    result = dg.materialize([items, items_have_names, item_report], raise_on_error=False)
    assert not result.success
    assert result.is_node_failed("items_items_have_names")
    assert not result.is_node_success("item_report")
    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]


# -- checks in the asset's step -----------------------------------------------------------


@dg.asset(check_specs=[dg.AssetCheckSpec(name="has_no_nulls", asset="customers")])
def customers():
    rows = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bo"}]
    yield dg.Output(rows)
    yield dg.AssetCheckResult(passed=all(r["name"] for r in rows))


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec(name="not_empty", asset="shipments"),
        dg.AssetCheckSpec(name="weights_positive", asset="shipments"),
    ]
)
def shipments() -> dg.MaterializeResult:
    weights = [1.5, 2.0]
    return dg.MaterializeResult(
        metadata={"count": len(weights)},
        check_results=[
            dg.AssetCheckResult(check_name="not_empty", passed=len(weights) > 0),
            dg.AssetCheckResult(check_name="weights_positive", passed=min(weights) > 0),
        ],
    )


def test_checks_declared_on_the_asset_run_with_it():
    result = dg.materialize([customers, shipments])
    assert result.success
    checks = {(e.asset_key.path[-1], e.check_name) for e in result.get_asset_check_evaluations()}
    assert checks == {
        ("customers", "has_no_nulls"),
        ("shipments", "not_empty"),
        ("shipments", "weights_positive"),
    }
    assert {e.passed for e in result.get_asset_check_evaluations()} == {True}
    assert [spec.name for spec in shipments.check_specs] == ["not_empty", "weights_positive"]


# -- several checks in one function -------------------------------------------------------


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name="no_negative_prices", asset="orders"),
        dg.AssetCheckSpec(name="no_empty_items", asset="orders"),
    ]
)
def orders_sanity(orders: list[dict]):
    yield dg.AssetCheckResult(
        check_name="no_negative_prices", passed=all(r["price"] >= 0 for r in orders)
    )
    yield dg.AssetCheckResult(check_name="no_empty_items", passed=all(r["item_id"] for r in orders))


def test_a_multi_asset_check_answers_each_of_its_checks():
    result = dg.materialize([orders, orders_sanity])
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "no_negative_prices": True,
        "no_empty_items": True,
    }


# -- resources and config -----------------------------------------------------------------


class Thresholds(dg.ConfigurableResource):
    max_price: float


class PriceCheckConfig(dg.Config):
    allowed_outliers: int = 0


@dg.asset_check(asset=orders, description="No order is pricier than the limit")
def prices_below_limit(
    context: dg.AssetCheckExecutionContext,
    orders: list[dict],
    thresholds: Thresholds,
    config: PriceCheckConfig,
) -> dg.AssetCheckResult:
    outliers = [r for r in orders if r["price"] > thresholds.max_price]
    context.log.info(f"{len(outliers)} outliers")
    return dg.AssetCheckResult(passed=len(outliers) <= config.allowed_outliers)


def test_checks_use_resources_and_config():
    defs = dg.Definitions(
        assets=[orders],
        asset_checks=[prices_below_limit],
        resources={"thresholds": Thresholds(max_price=50.0)},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    strict = job.execute_in_process()
    assert [e.passed for e in strict.get_asset_check_evaluations()] == [False]
    lenient = job.execute_in_process(
        run_config=dg.RunConfig(
            ops={"orders_prices_below_limit": PriceCheckConfig(allowed_outliers=1)}
        )
    )
    assert [e.passed for e in lenient.get_asset_check_evaluations()] == [True]


def test_a_check_with_a_context_is_tested_with_a_built_context():
    context = dg.build_asset_check_context()
    result = prices_below_limit(context, orders(), Thresholds(max_price=100.0), PriceCheckConfig())
    assert result.passed


# -- jobs that run checks -----------------------------------------------------------------

orders_job = dg.define_asset_job("orders_job", selection=dg.AssetSelection.assets(orders))
orders_without_checks = dg.define_asset_job(
    "orders_without_checks", selection=dg.AssetSelection.assets(orders).without_checks()
)
orders_checks_only = dg.define_asset_job(
    "orders_checks_only", selection=dg.AssetSelection.checks_for_assets(orders)
)


def test_jobs_select_checks_with_their_assets_or_alone(tmp_path):
    defs = dg.Definitions(
        assets=[orders],
        asset_checks=[orders_id_has_no_nulls, prices_are_plausible],
        jobs=[orders_job, orders_without_checks, orders_checks_only],
        resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path))},
    )
    with dg.instance_for_test() as instance:
        full = defs.resolve_job_def("orders_job").execute_in_process(instance=instance)
        assert len(full.get_asset_check_evaluations()) == 2
        bare = defs.resolve_job_def("orders_without_checks").execute_in_process(instance=instance)
        assert bare.get_asset_check_evaluations() == []
        alone = defs.resolve_job_def("orders_checks_only").execute_in_process(instance=instance)
        assert alone.get_asset_materialization_events() == []
        assert {e.check_name for e in alone.get_asset_check_evaluations()} == {
            "orders_id_has_no_nulls",
            "prices_are_plausible",
        }
        latest = instance.get_latest_materialization_event(dg.AssetKey("orders"))
        assert latest.run_id == bare.run_id  # the checks ran against that materialization


def test_check_keys_name_checks():
    key = dg.AssetCheckKey(dg.AssetKey(["sales", "orders"]), "has_rows")
    assert key.to_user_string() == "sales/orders:has_rows"
    assert dg.AssetCheckKey.from_user_string("sales/orders:has_rows") == key
    assert orders_id_has_no_nulls.check_key == dg.AssetCheckKey(
        dg.AssetKey("orders"), "orders_id_has_no_nulls"
    )
