"""Definitions for the freshness sensor tests: ``orders`` must have been materialized in
the last 6 hours; ``customers`` by 1 hour before each 09:00 UTC deadline; a sensor that
evaluates both checks when due, every 10 minutes."""

from datetime import timedelta

import trellis as dg


@dg.asset
def orders() -> int:
    return 1


@dg.asset
def customers() -> int:
    return 2


orders_checks = dg.build_last_update_freshness_checks(
    assets=[orders], lower_bound_delta=timedelta(hours=6)
)
customers_checks = dg.build_last_update_freshness_checks(
    assets=[customers], lower_bound_delta=timedelta(hours=1), deadline_cron="0 9 * * *"
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=[*orders_checks, *customers_checks],
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    tags={"team": "data"},
)

defs = dg.Definitions(
    assets=[orders, customers],
    asset_checks=[*orders_checks, *customers_checks],
    sensors=[freshness_sensor],
)
