"""The asset page's data (``asset_detail_json``) carries the asset's freshness state when
it has a freshness policy (the page shows it as its "Freshness" field)."""

from __future__ import annotations

from datetime import timedelta

from trellis import Definitions, FreshnessPolicy, asset, instance_for_test, materialize
from trellis.web.assets import asset_detail_json


@asset(freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=1)))
def watched(): ...


@asset
def unwatched(): ...


def test_the_asset_detail_has_the_freshness_state():
    defs = Definitions(assets=[watched, unwatched])
    with instance_for_test() as instance:
        before = asset_detail_json(defs, instance, watched.key, 10)["freshness"]
        assert before["state"] == "UNKNOWN" and before["policy"] == "updated within 1:00:00"
        materialize([watched], instance=instance)
        after = asset_detail_json(defs, instance, watched.key, 10)["freshness"]
        assert after["state"] == "PASS" and after["last_updated_timestamp"] is not None
        assert asset_detail_json(defs, instance, unwatched.key, 10)["freshness"] is None
