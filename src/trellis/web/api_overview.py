"""``/api/overview``: what ran in the last hours (the runs, for a timeline), what is
failing now (assets whose latest run failed or whose checks fail, jobs whose latest run
failed, schedules and sensors whose latest tick failed) and what is stale."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trellis.web.api_assets import definitions, ui_state
from trellis.web.api_automation import instigators
from trellis.web.assets import assets_json
from trellis.web.requests import int_param
from trellis.web.serialize import run_json

MAX_TIMELINE_RUNS = 1000


def overview_json(defs: Any, instance: Any, hours: int) -> dict[str, Any]:
    """The overview over the last ``hours`` hours."""
    now = time.time()
    since = now - hours * 3600
    runs = instance.get_runs(created_after=since, limit=MAX_TIMELINE_RUNS)
    assets = assets_json(defs, instance)
    latest_by_job: dict[str, Any] = {}
    for run in runs:  # newest first
        latest_by_job.setdefault(run.job_name, run)
    failing_ticks = []
    for kind, definition in instigators(defs):
        ticks = instance.get_ticks(definition.name, limit=1)
        if ticks and ticks[0].error:
            failing_ticks.append(
                {
                    "name": definition.name,
                    "kind": kind.value.lower(),
                    "timestamp": ticks[0].timestamp,
                    "error": ticks[0].error,
                }
            )
    return {
        "now": now,
        "since": since,
        "hours": hours,
        "runs": [run_json(r) for r in reversed(runs)],
        "failing": {
            "assets": [
                {"key": a["key"], "status": a["status"], "checks": a["checks"]}
                for a in assets
                if a["status"] in ("failed", "check_failed")
            ],
            "jobs": [
                run_json(run) for run in latest_by_job.values() if run.status.value == "FAILURE"
            ],
            "ticks": failing_ticks,
        },
        "stale": [
            {"key": a["key"], "causes": a["staleness"]["causes"]}
            for a in assets
            if a["staleness"]["status"] == "stale"
        ],
        "counts": {
            "assets": len(assets),
            "never": sum(1 for a in assets if a["staleness"]["status"] == "never"),
            "fresh": sum(1 for a in assets if a["staleness"]["status"] == "fresh"),
            "stale": sum(1 for a in assets if a["staleness"]["status"] == "stale"),
        },
    }


async def overview(request: Request) -> Response:
    """The overview page's data (``hours``: the timeline's span, default 24)."""
    defs = definitions(request)
    hours = int_param(request, "hours", 24, 1, 24 * 14)
    body = await run_in_threadpool(overview_json, defs, ui_state(request).instance, hours)
    return JSONResponse(body)


ROUTES = [Route("/api/overview", overview)]
