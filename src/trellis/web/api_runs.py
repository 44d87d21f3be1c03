"""``/api/runs``: the runs list (filters, keyset pagination), a run, its events
(filtered), its trace; and the actions on runs: launch, validate, re-execute, cancel."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.web.api_assets import definitions, ui_state
from trellis.web.launch_checks import LaunchError, check_launch
from trellis.web.requests import (
    bad_request,
    choice_params,
    int_param,
    json_body,
    run_id_param,
    text_param,
)
from trellis.web.serialize import event_json, run_json

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REEXECUTE_MODES = ("all", "from_failure", "selected")
START_TIMEOUT = 30.0  # how long a launch waits for its child to record the run
NOT_YET_STARTED = (RunStatus.QUEUED, RunStatus.NOT_STARTED)


async def started(request: Request, launch: Any) -> Response:
    """Wait until the child has recorded its run (so the run's page and the runs list
    show it at once): 201 with the run id; a child that exits first is a 422 with the
    end of its output (bad input its command found, a crash)."""
    instance = ui_state(request).instance
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline:
        if await run_in_threadpool(instance.get_run, launch.run_id) is not None:
            break
        if launch.process.poll() is not None:
            if await run_in_threadpool(instance.get_run, launch.run_id) is not None:
                break
            launch.reported = True
            return JSONResponse(
                {
                    "message": "The run's process exited before the run started.",
                    "errors": [],
                    "log": launch.log_tail(),
                },
                status_code=422,
            )
        await asyncio.sleep(0.01)
    return JSONResponse({"run_id": launch.run_id}, status_code=201)


def _cursor(text: str | None) -> tuple[float, str] | None:
    """A keyset cursor ``<create_time>:<run_id>``."""
    if not text:
        return None
    time_part, _, run_id = text.partition(":")
    try:
        return float(time_part), run_id
    except ValueError:
        raise bad_request(f"Query parameter 'cursor' is not a cursor: '{text[:60]}'.") from None


def _tag_filters(request: Request) -> dict[str, str]:
    tags: dict[str, str] = {}
    for raw in request.query_params.getlist("tag"):
        key, sep, value = raw.partition("=")
        if not sep or not key or len(raw) > 1000:
            raise bad_request(f"Query parameter 'tag' must be KEY=VALUE, not '{raw[:60]}'.")
        tags[key] = value
    return tags


def _time_param(request: Request, name: str) -> float | None:
    """A time query parameter: seconds since the epoch, or an ISO 8601 date or time
    (UTC unless it names its offset)."""
    from datetime import UTC, datetime

    raw = text_param(request, name, 64)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(
            f"Query parameter '{name}' must be a time (ISO 8601, e.g. 2024-05-01T12:00, or "
            f"seconds since the epoch), not '{raw[:40]}'."
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _backfill_filter(request: Request) -> dict[str, str]:
    from trellis.instance.backfills import BACKFILL_TAG

    backfill_id = text_param(request, "backfill", 64)
    if not backfill_id:
        return {}
    if not backfill_id.replace("-", "").replace("_", "").isalnum():
        raise bad_request(f"Query parameter 'backfill' is not a backfill id: '{backfill_id}'.")
    return {BACKFILL_TAG: backfill_id}


def list_runs(request: Request) -> Response:
    """Runs, newest first: ``status`` (repeatable), ``job``, ``tag`` (``k=v``,
    repeatable), ``backfill`` (the runs a backfill launched), ``created_after`` and
    ``created_before`` (times), ``limit``, and ``cursor`` (the ``next_cursor`` of the
    previous page)."""
    statuses = choice_params(request, "status", [s.value for s in RunStatus])
    job = text_param(request, "job", 256) or None
    limit = int_param(request, "limit", 50, 1, 500)
    cursor = _cursor(text_param(request, "cursor", 200))
    tags = {**_tag_filters(request), **_backfill_filter(request)}
    after, before = _time_param(request, "created_after"), _time_param(request, "created_before")
    if after is not None and before is not None and after >= before:
        raise bad_request("Query parameter 'created_after' must come before 'created_before'.")
    if cursor is not None:
        before = min(cursor[0] + 1e-6, before) if before is not None else cursor[0] + 1e-6
    instance = ui_state(request).instance
    runs = instance.get_runs(
        statuses=statuses or None,
        job_name=job,
        tags=tags or None,
        created_after=after,
        created_before=before,
        limit=limit + 50 if cursor else limit + 1,
    )
    if cursor is not None:  # keyset: strictly after the cursor in (time, id) order
        runs = [r for r in runs if (r.create_time, r.run_id) < cursor]
    page = runs[:limit]
    more = len(runs) > limit
    last = page[-1] if page else None
    next_cursor = f"{last.create_time!r}:{last.run_id}" if more and last is not None else None
    return JSONResponse({"runs": [run_json(r) for r in page], "next_cursor": next_cursor})


def _run(request: Request) -> Any:
    run_id = run_id_param(request)
    run = ui_state(request).instance.get_run(run_id)
    if run is None:
        raise bad_request(f"No run with id '{run_id}'.", 404)
    return run


def get_run(request: Request) -> Response:
    """One run record."""
    return JSONResponse(run_json(_run(request)))


def run_events(request: Request) -> Response:
    """A run's events, oldest first: ``after`` (a storage id), ``step`` (a step key),
    ``level`` (at least this level), ``type`` (repeatable event types), ``limit`` (at
    most this many, the oldest that match)."""
    run = _run(request)
    after = int_param(request, "after", -1, -1, 2**62)
    step = text_param(request, "step", 300)
    level_names = choice_params(request, "level", LEVELS)
    min_level = logging.getLevelName(level_names[0]) if level_names else 0
    types = choice_params(request, "type", [t.value for t in EventType])
    limit = int_param(request, "limit", 0, 0, 1_000_000) or None
    filtered = step is not None or min_level > 0
    records = ui_state(request).instance.storage.get_records(
        run.run_id,
        after,
        None if filtered else limit,
        {EventType(t) for t in types} if types else None,
    )
    events = [
        event_json(r.storage_id, r.event)
        for r in records
        if (step is None or r.event.step_key == step) and r.event.level >= min_level
    ][:limit]
    return JSONResponse({"run_id": run.run_id, "events": events})


def run_trace(request: Request) -> Response:
    """The run's trace (``views/trace.py``), the documented JSON schema."""
    from trellis.views.trace import build_trace

    run = _run(request)
    events = ui_state(request).instance.all_logs(run.run_id)
    return JSONResponse(build_trace(events, run).to_dict())


async def _checked(request: Request) -> Any:
    body = await json_body(request)
    defs = definitions(request)
    return check_launch(defs, ui_state(request).workspace.target, body)


async def validate_launch(request: Request) -> Response:
    """Check a launch request without starting it: ``{"ok": true}`` or a 422 with the
    message and the config errors with their paths."""
    try:
        await _checked(request)
    except LaunchError as exc:
        return JSONResponse({"message": exc.message, "errors": exc.errors}, status_code=422)
    return JSONResponse({"ok": True})


async def launch(request: Request) -> Response:
    """Check, then start a run in a child process: 201 with its ``run_id``."""
    try:
        checked = await _checked(request)
    except LaunchError as exc:
        return JSONResponse({"message": exc.message, "errors": exc.errors}, status_code=422)
    return await started(request, ui_state(request).launcher.launch(checked))


async def reexecute(request: Request) -> Response:
    """Re-execute a run: ``mode`` ``all``, ``from_failure`` or ``selected`` (with
    ``steps``); 201 with the new run's id."""
    body = await json_body(request)
    parent = _run(request)
    mode = body.get("mode", "all")
    if mode not in REEXECUTE_MODES:
        raise bad_request(f"'mode' must be one of {', '.join(REEXECUTE_MODES)}.")
    steps = body.get("steps") or []
    if not isinstance(steps, list) or not all(isinstance(s, str) and s for s in steps):
        raise bad_request("'steps' must be a list of step keys.")
    if mode == "selected" and not steps:
        raise bad_request("Re-executing selected steps needs 'steps'.")
    if mode == "from_failure" and parent.status is not RunStatus.FAILURE:
        raise bad_request(f"Run {parent.run_id} is {parent.status}; nothing failed.", 409)
    if not parent.is_finished:
        raise bad_request(f"Run {parent.run_id} is {parent.status}; wait for it to end.", 409)
    if mode == "selected":
        known = {
            e.step_key
            for e in ui_state(request).instance.all_logs(parent.run_id)
            if e.step_key is not None
        }
        unknown = [s for s in steps if s not in known]
        if unknown:
            raise bad_request(f"Run {parent.run_id} has no step {', '.join(unknown)[:300]}.")
    launch = ui_state(request).launcher.reexecute(parent.run_id, mode, steps)
    return await started(request, launch)


async def cancel(request: Request) -> Response:
    """Ask a running run to stop (``trellis run cancel``); 409 when it has ended. A run
    recorded but not started yet (its process is still starting) is canceled once it
    has started, waited for up to ``START_TIMEOUT``."""
    run = _run(request)
    instance = ui_state(request).instance
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while run.status in NOT_YET_STARTED and loop.time() < deadline:
        await asyncio.sleep(0.02)
        run = await run_in_threadpool(instance.get_run, run.run_id)
    if not await run_in_threadpool(instance.request_cancel, run.run_id):
        raise bad_request(
            f"Run {run.run_id} is {run.status}; only a running run can be canceled.", 409
        )
    return JSONResponse({"run_id": run.run_id, "status": "CANCELING"})


ROUTES = [
    Route("/api/runs", list_runs),
    Route("/api/runs/{run_id}", get_run),
    Route("/api/runs/{run_id}/events", run_events),
    Route("/api/runs/{run_id}/trace", run_trace),
    Route("/api/runs/{run_id}/reexecute", reexecute, methods=["POST"]),
    Route("/api/runs/{run_id}/cancel", cancel, methods=["POST"]),
    Route("/api/launch", launch, methods=["POST"]),
    Route("/api/launch/validate", validate_launch, methods=["POST"]),
]
