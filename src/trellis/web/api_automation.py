"""``/api/automation``: schedules and sensors (their state, next tick, cursor, recent
ticks with skip reasons, errors and runs), turning them on and off, the declarative
automation evaluations per asset, the run queue and the concurrency pools."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trellis.instance.daemon_records import InstigatorStatus, InstigatorTick, InstigatorType
from trellis.views.automation_tree import evaluation_view
from trellis.web.api_assets import definitions, path_asset_key, ui_state
from trellis.web.assets import spec_of
from trellis.web.requests import NAME, bad_request, int_param, json_body
from trellis.web.serialize import run_json

RECENT_TICKS = 5


def tick_json(tick: InstigatorTick) -> dict[str, Any]:
    """One tick: when, its status, the runs it made, why it skipped or how it failed."""
    return {
        "tick_id": tick.tick_id,
        "timestamp": tick.timestamp,
        "end_timestamp": tick.end_timestamp,
        "status": tick.status.value,
        "run_ids": list(tick.run_ids),
        "run_keys": list(tick.run_keys),
        "skip_reason": tick.skip_reason,
        "error": tick.error,
        "cursor": tick.cursor,
    }


def instigators(defs: Any) -> list[tuple[InstigatorType, Any]]:
    """The schedules, then the sensors (automation sensors among them), with their kind."""
    from trellis.daemon.code_location import CodeLocation

    location = CodeLocation(defs)
    return [(InstigatorType.SCHEDULE, s) for s in location.schedules] + [
        (InstigatorType.SENSOR, s) for s in location.sensors
    ]


def _next_tick(kind: InstigatorType, definition: Any, running: bool, last: float | None) -> Any:
    """When the daemon next ticks it (None: it is stopped)."""
    if not running:
        return None
    now = time.time()
    if kind is InstigatorType.SCHEDULE:
        from trellis.daemon.scheduler import cron_strings, ticks_between

        _, following = ticks_between(
            cron_strings(definition), definition.execution_timezone, now, now, 1
        )
        return following
    interval = float(definition.minimum_interval_seconds)
    return now if last is None else max(now, last + interval)


def instigator_json(instance: Any, kind: InstigatorType, definition: Any) -> dict[str, Any]:
    """A schedule or sensor: status (stored, else its default), cursor, next tick and
    its latest ticks."""
    stored = instance.get_instigator_state(definition.name)
    default = getattr(definition.default_status, "value", "STOPPED")
    status = stored.status.value if stored is not None else default
    ticks = instance.get_ticks(definition.name, limit=RECENT_TICKS)
    last = ticks[0].timestamp if ticks else None
    out: dict[str, Any] = {
        "name": definition.name,
        "kind": kind.value.lower(),
        "status": status,
        "from_default": stored is None,
        "cursor": stored.cursor if stored is not None else None,
        "next_tick": _next_tick(kind, definition, status == "RUNNING", last),
        "ticks": [tick_json(t) for t in ticks],
        "description": (getattr(definition, "description", None) or "").strip(),
    }
    if kind is InstigatorType.SCHEDULE:
        out["cron"] = definition.cron_schedule
        out["timezone"] = definition.execution_timezone or "UTC"
    else:
        out["interval_seconds"] = definition.minimum_interval_seconds
    return out


def _evaluations(defs: Any, instance: Any) -> list[dict[str, Any]]:
    """The latest stored evaluation of each asset with an automation condition (its
    condition tree as ``views/automation_tree.py`` builds it)."""
    graph = defs.asset_graph
    out = []
    for key in graph.toposorted_keys:
        if getattr(spec_of(graph, key), "automation_condition", None) is None:
            continue
        records = instance.get_automation_evaluations(key, limit=1)
        if records:
            out.append(evaluation_view(records[0]))
        else:
            out.append(
                {
                    "key": key.to_user_string(),
                    "evaluation_id": None,
                    "timestamp": None,
                    "num_requested": None,
                    "tree": None,
                }
            )
    return out


async def evaluations(request: Request) -> Response:
    """One asset's automation evaluations, newest first (``before`` an evaluation id
    pages on), each with its condition tree: what was true, for which partitions, and
    what was requested."""
    defs = definitions(request)
    key = path_asset_key(request, defs)
    limit = int_param(request, "limit", 20, 1, 200)
    before = int_param(request, "before", 0, 0, 2**62) or None
    instance = ui_state(request).instance
    records = await run_in_threadpool(
        instance.get_automation_evaluations, key, limit=limit, before_evaluation_id=before
    )
    has_condition = getattr(spec_of(defs.asset_graph, key), "automation_condition", None)
    return JSONResponse(
        {
            "key": key.to_user_string(),
            "has_condition": has_condition is not None,
            "evaluations": [evaluation_view(r) for r in records],
        }
    )


def _pools(instance: Any) -> list[dict[str, Any]]:
    return [
        {
            "pool": p.pool,
            "limit": p.limit,
            "from_default": p.from_default,
            "in_use": p.in_use,
            "free": p.free,
            "slots": [{"run_id": s.run_id, "step_key": s.step_key} for s in p.slots],
            "waiting": [{"run_id": s.run_id, "step_key": s.step_key} for s in p.waiting],
        }
        for p in instance.get_concurrency_limits()
    ]


def _overview(defs: Any, instance: Any, daemon: Any) -> dict[str, Any]:
    items = [instigator_json(instance, k, d) for k, d in instigators(defs)]
    beats = instance.get_daemon_heartbeats()
    return {
        "schedules": [i for i in items if i["kind"] == "schedule"],
        "sensors": [i for i in items if i["kind"] == "sensor"],
        "evaluations": _evaluations(defs, instance),
        "queue": [run_json(r) for r in instance.get_queued_runs()],
        "pools": _pools(instance),
        "daemon": {
            "in_process": daemon is not None,
            "waiting_for": getattr(daemon, "waiting_for", None),
            "heartbeats": [
                {"loop": b.daemon_type, "timestamp": b.timestamp, "error": b.info.get("error")}
                for b in beats
            ],
        },
    }


async def automation(request: Request) -> Response:
    """Schedules, sensors, evaluations, the run queue, the pools, the daemon's loops."""
    defs = definitions(request)
    state = ui_state(request)
    body = await run_in_threadpool(_overview, defs, state.instance, state.daemon)
    return JSONResponse(body)


def _instigator(request: Request) -> tuple[InstigatorType, Any]:
    name = request.path_params["name"]
    if not NAME.match(name):
        raise bad_request(f"'{name[:80]}' is not a schedule or sensor name.")
    for kind, definition in instigators(definitions(request)):
        if definition.name == name:
            return kind, definition
    raise bad_request(f"No schedule or sensor named '{name}'.", 404)


async def ticks(request: Request) -> Response:
    """A schedule's or sensor's ticks, newest first (``before`` pages on)."""
    _kind, definition = _instigator(request)
    limit = int_param(request, "limit", 50, 1, 500)
    before = int_param(request, "before", 0, 0, 2**62) or None
    instance = ui_state(request).instance
    found = await run_in_threadpool(
        instance.get_ticks, definition.name, limit=limit, before_id=before
    )
    return JSONResponse({"name": definition.name, "ticks": [tick_json(t) for t in found]})


async def set_status(request: Request) -> Response:
    """Turn a schedule or sensor on (``{"running": true}``) or off; the daemon is woken
    so that a started sensor ticks at once."""
    kind, definition = _instigator(request)
    body = await json_body(request)
    running = body.get("running")
    if not isinstance(running, bool):
        raise bad_request("Body field 'running' must be true or false.")
    state = ui_state(request)
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    await run_in_threadpool(state.instance.set_instigator_status, definition.name, kind, status)
    if state.daemon is not None:
        state.daemon.daemon.wake()
    item = await run_in_threadpool(instigator_json, state.instance, kind, definition)
    return JSONResponse(item)


ROUTES = [
    Route("/api/automation", automation),
    Route("/api/asset-evaluations/{key:path}", evaluations),
    Route("/api/automation/{name}/ticks", ticks),
    Route("/api/automation/{name}/status", set_status, methods=["POST"]),
]
