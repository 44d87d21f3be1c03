"""The assets of the loaded definitions as the API shows them: each asset's definition
(group, kinds, owners, tags, deps, description, code version), its place in the layered
layout of the graph, and its status read from the instance (latest materialization,
checks, a run of it in progress or failed since)."""

from __future__ import annotations

from typing import Any

from trellis.cli.check_display import check_status_by_asset
from trellis.core.asset_key import AssetKey
from trellis.core.run import RunStatus
from trellis.views.layout import layered_positions
from trellis.web.health import partition_health, staleness_by_asset
from trellis.web.serialize import event_json, metadata_entries, run_json

RECENT_RUNS = 200  # the runs looked at for "running" and "failed" statuses
LIVE = (RunStatus.QUEUED, RunStatus.NOT_STARTED, RunStatus.STARTING, RunStatus.STARTED)


def spec_of(graph: Any, key: AssetKey) -> Any:
    """The ``AssetSpec`` of a key (its producer's, or the external spec)."""
    producer = graph.producer.get(key)
    return producer.specs_by_key[key] if producer is not None else graph.external_specs[key]


def find_key(graph: Any, text: str) -> AssetKey | None:
    """The asset key ``a/b`` names in the graph, or None."""
    key = AssetKey.from_user_string(text)
    return key if key in graph.all_keys else None


def definition_json(graph: Any, key: AssetKey) -> dict[str, Any]:
    """What the definitions say about one asset."""
    spec = spec_of(graph, key)
    producer = graph.producer.get(key)
    partitions_def = getattr(producer, "partitions_def", None) if producer else None
    return {
        "key": key.to_user_string(),
        "group": graph.group_of(key),
        "kinds": sorted(getattr(spec, "kinds", ()) or ()),
        "owners": list(getattr(spec, "owners", ()) or ()),
        "tags": dict(getattr(spec, "tags", {}) or {}),
        "description": getattr(spec, "description", None),
        "code_version": getattr(spec, "code_version", None),
        "metadata": metadata_entries(getattr(spec, "metadata", None)),
        "deps": sorted(k.to_user_string() for k in graph.upstream.get(key, ())),
        "downstream": sorted(k.to_user_string() for k in graph.downstream.get(key, ())),
        "op": producer.node_name if producer is not None else None,
        "external": producer is None,
        "partitions": type(partitions_def).__name__ if partitions_def is not None else None,
        "checks": sorted(k.name for k in graph.check_specs if k.asset_key == key),
        "has_automation": getattr(spec, "automation_condition", None) is not None,
    }


def _runs_by_asset(instance: Any, defs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The newest live run and the newest failed run of each asset key string, from the
    recent runs (a run's assets: its asset selection, else its job's assets)."""
    jobs = {job.name: job for job in defs.jobs}
    running: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    for run in instance.get_runs(limit=RECENT_RUNS):  # newest first
        keys = run.asset_selection
        if keys is None:
            job = jobs.get(run.job_name)
            graph = getattr(job, "asset_graph", None)
            keys = [k.to_user_string() for k in graph.materializable_keys] if graph else []
        for text in keys:
            text = text if isinstance(text, str) else AssetKey.from_coercible(text).to_user_string()
            if run.status in LIVE:
                running.setdefault(text, run)
            elif run.status is RunStatus.FAILURE:
                failed.setdefault(text, run)
    return running, failed


def asset_status(latest: Any, running: Any, failed: Any, checks: list[str]) -> str:
    """One word for a node: ``running``, ``failed`` (a run failed since the latest
    materialization), ``check_failed``, ``materialized`` or ``never``."""
    if running is not None:
        return "running"
    if failed is not None and (latest is None or failed.create_time > latest.timestamp):
        return "failed"
    if "failed" in checks:
        return "check_failed"
    return "materialized" if latest is not None else "never"


def assets_json(defs: Any, instance: Any) -> list[dict[str, Any]]:
    """Every asset with its definition, layout position and status, in topological
    order."""
    graph = defs.asset_graph
    order = list(graph.toposorted_keys)
    groups = {key: graph.group_of(key) for key in order}
    positions = layered_positions(order, graph.upstream, groups)
    checks_by_asset = {
        key: [{"name": name, "status": status} for name, status in pairs]
        for key, pairs in check_status_by_asset(graph, instance).items()
    }
    running, failed = _runs_by_asset(instance, defs)
    staleness = staleness_by_asset(instance, graph, order)
    partitions = partition_health(instance, defs, order)
    recorded = set(instance.get_asset_keys())
    out = []
    for key in order:
        text = key.to_user_string()
        record = instance.get_latest_materialization_record(key) if key in recorded else None
        checks = checks_by_asset.get(key, [])
        item = definition_json(graph, key)
        layer, row = positions[key]
        item.update(
            {
                "layer": layer,
                "row": row,
                "checks": checks,
                "latest_materialization": (
                    {
                        "timestamp": record.timestamp,
                        "run_id": record.run_id,
                        "storage_id": record.storage_id,
                    }
                    if record is not None
                    else None
                ),
                "status": asset_status(
                    record,
                    running.get(text),
                    failed.get(text),
                    [c["status"] for c in checks],
                ),
                "running_run_id": running[text].run_id if text in running else None,
                "staleness": staleness[key],
                "partition_health": partitions.get(key),
            }
        )
        out.append(item)
    return out


def asset_detail_json(defs: Any, instance: Any, key: AssetKey, limit: int) -> dict[str, Any]:
    """One asset: its definition, its materializations (newest first, with metadata),
    and the history of its checks; its freshness state when it has a freshness policy."""
    graph = defs.asset_graph
    item = definition_json(graph, key)
    records = instance.get_materialization_records(key, limit=limit)
    item["materializations"] = [event_json(r.storage_id, r.event) for r in records]
    checks = []
    for check in sorted(k for k in graph.check_specs if k.asset_key == key):
        history = instance.get_asset_check_evaluation_records(check, limit=20)
        checks.append(
            {"name": check.name, "history": [event_json(r.storage_id, r.event) for r in history]}
        )
    item["checks"] = checks
    running, failed = _runs_by_asset(instance, defs)
    text = key.to_user_string()
    item["running_run"] = run_json(running[text]) if text in running else None
    item["status"] = asset_status(
        records[0] if records else None, running.get(text), failed.get(text), []
    )
    item["staleness"] = staleness_by_asset(instance, graph, [key])[key]
    from trellis.instance.freshness import get_freshness

    freshness = get_freshness(instance, graph, key)
    item["freshness"] = freshness.to_dict() if freshness is not None else None
    item["partition_health"] = partition_health(instance, defs, [key]).get(key)
    return item
