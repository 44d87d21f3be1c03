"""The OpenAPI 3.1 description of ``/api``, served at ``/api/openapi.json``. A test keeps
it equal to the routes the application serves."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "A bad request value, named in `error`."}
_NOT_FOUND = {"description": "No such run, asset or job."}
_FORBIDDEN = {"description": "A cross-site request (its Origin is not this server)."}
_CONFLICT = {"description": "The run is not in a state that allows this."}
_INVALID = {
    "description": "The request cannot run: `message`, and `errors` as {path, message} "
    "(config errors with their config path, e.g. root:ops:orders:config:limit)."
}


def _q(name: str, description: str, schema: str = "string", repeat: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"type": schema}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "array", "items": item} if repeat else item,
        **({"explode": True} if repeat else {}),
    }


def _p(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _json_body(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_RUN = _p("run_id", "The run's id.")
_LAUNCH_BODY = _json_body(
    {
        "job": {"type": "string", "description": "A job name (or give selection)."},
        "selection": {"type": "string", "description": "An asset selection."},
        "config_yaml": {"type": "string", "description": "Run config as YAML."},
        "run_config": {"type": "object", "description": "Run config as JSON."},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "partition": {"type": "string"},
    }
)
_BACKFILL = _p("backfill_id", "The backfill's id.")
_BACKFILL_BODY = _json_body(
    {
        "selection": {"type": "string", "description": "An asset selection (or give job)."},
        "job": {"type": "string", "description": "A partitioned asset job."},
        "from": {"type": "string", "description": "The range's first key (with to)."},
        "to": {"type": "string", "description": "The range's last key, included."},
        "partition_keys": {"type": "array", "items": {"type": "string"}},
        "all_partitions": {"type": "boolean"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)


def _get(summary: str, params: list[Any] | None = None, **codes: Any) -> dict[str, Any]:
    responses = {"200": {"description": "OK (JSON)."}, "400": _ERROR, **codes}
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _post(summary: str, params: list[Any] | None, body: Any, **codes: Any) -> dict[str, Any]:
    responses = {"400": _ERROR, "403": _FORBIDDEN, **codes}
    operation = {"summary": summary, "parameters": params or [], "responses": responses}
    if body is not None:
        operation["requestBody"] = body
    return {"post": operation}


PATHS: dict[str, Any] = {
    "/api/workspace": _get("The code target, its load generation and error, the jobs."),
    "/api/assets": _get(
        "Every asset: key, group, kinds, owners, deps, layer/row of the graph layout, "
        "latest materialization, checks, status (never, materialized, running, failed, "
        "check_failed); groups, location, collapse_at."
    ),
    "/api/assets/select": _get(
        "The keys an asset selection selects.", [_q("q", "The selection string.")]
    ),
    "/api/asset-graph": _get(
        "The asset graph collapsed by group (past collapse_at assets): nodes (kind asset "
        "or group, layer, row; a group's count of assets), edges (from, to, count of the "
        "asset edges they stand for), collapsed, location (the code location's name).",
        [
            _q("expand", "A group drawn asset by asset.", repeat=True),
            _q("select", "An asset selection drawn asset by asset (if small enough)."),
        ],
    ),
    "/api/asset-evaluations/{key}": _get(
        "An asset's declarative automation evaluations, newest first: evaluation_id, "
        "timestamp, num_requested, requested_keys, tree (each node: title, true, "
        "num_true, num_candidates, true_keys, description, children).",
        [
            _p("key", "The asset key, parts joined by '/'."),
            _q("limit", "At most this many (1-200, default 20).", "integer"),
            _q("before", "Only evaluations with a smaller evaluation_id.", "integer"),
        ],
        **{"404": _NOT_FOUND},
    ),
    "/api/assets/{key}": _get(
        "One asset: definition, materializations (newest first, with metadata), checks.",
        [
            _p("key", "The asset key, parts joined by '/'."),
            _q("limit", "Materializations.", "integer"),
        ],
        **{"404": _NOT_FOUND},
    ),
    "/api/scaffold": _get(
        "The run config scaffold (YAML) of a job or an asset selection.",
        [_q("job", "A job name."), _q("selection", "An asset selection.")],
        **{"404": _NOT_FOUND},
    ),
    "/api/jobs/{name}/diagram": _get(
        "The job's call diagram (steps, inputs, outputs, edges).",
        [_p("name", "The job.")],
        **{"404": _NOT_FOUND},
    ),
    "/api/jobs/{name}/diagram.svg": _get(
        "The job's call diagram as SVG.", [_p("name", "The job.")], **{"404": _NOT_FOUND}
    ),
    "/api/runs": _get(
        "Runs, newest first, one page; next_cursor continues (keyset pagination).",
        [
            _q("status", "A run status (repeatable).", repeat=True),
            _q("job", "A job name."),
            _q("tag", "KEY=VALUE (repeatable; all must match).", repeat=True),
            _q("backfill", "Only the runs of this backfill (tag dagster/backfill)."),
            _q(
                "created_after",
                "Created after this time (ISO 8601, UTC unless given, or epoch seconds).",
            ),
            _q("created_before", "Created before this time (as created_after)."),
            _q("limit", "Page size (1-500, default 50).", "integer"),
            _q("cursor", "The next_cursor of the previous page."),
        ],
    ),
    "/api/runs/{run_id}": _get("One run record.", [_RUN], **{"404": _NOT_FOUND}),
    "/api/runs/{run_id}/events": _get(
        "A run's events, oldest first.",
        [
            _RUN,
            _q("after", "Only events with a larger storage_id.", "integer"),
            _q("step", "Only this step key."),
            _q("level", "At least this level (DEBUG, INFO, WARNING, ERROR, CRITICAL)."),
            _q("type", "An event type (repeatable).", repeat=True),
            _q("limit", "At most this many (the oldest that match).", "integer"),
        ],
        **{"404": _NOT_FOUND},
    ),
    "/api/runs/{run_id}/trace": _get(
        "The run's trace tree (kind, label, start_offset_ms, duration_ms, pid, thread, "
        "attrs, children).",
        [_RUN],
        **{"404": _NOT_FOUND},
    ),
    "/api/runs/{run_id}/reexecute": _post(
        "Re-execute a finished run in a new process: mode all, from_failure or selected.",
        [_RUN],
        _json_body(
            {
                "mode": {"enum": ["all", "from_failure", "selected"]},
                "steps": {"type": "array", "items": {"type": "string"}},
            }
        ),
        **{"201": {"description": "Started: {run_id}."}, "404": _NOT_FOUND, "409": _CONFLICT},
    ),
    "/api/runs/{run_id}/cancel": _post(
        "Ask a running run to stop.",
        [_RUN],
        None,
        **{"200": {"description": "Canceling."}, "404": _NOT_FOUND, "409": _CONFLICT},
    ),
    "/api/launch": _post(
        "Validate, then start a run of a job or an asset selection in a new process.",
        None,
        _LAUNCH_BODY,
        **{"201": {"description": "Started: {run_id}."}, "422": _INVALID},
    ),
    "/api/launch/validate": _post(
        "Validate a launch request without starting it.",
        None,
        _LAUNCH_BODY,
        **{"200": {"description": "{ok: true}"}, "422": _INVALID},
    ),
    "/api/automation": _get(
        "Schedules and sensors (status, from_default, cursor, next_tick, latest ticks with "
        "run_ids, skip_reason, error), evaluations (the latest automation evaluation of "
        "each asset with a condition, its tree), queue (queued runs), pools (limit, "
        "in_use, slots, waiting), daemon (its loops' heartbeats)."
    ),
    "/api/automation/{name}/ticks": _get(
        "A schedule's or sensor's ticks, newest first.",
        [
            _p("name", "The schedule or sensor."),
            _q("limit", "At most this many (1-500, default 50).", "integer"),
            _q("before", "Only ticks with a smaller tick_id.", "integer"),
        ],
        **{"404": _NOT_FOUND},
    ),
    "/api/automation/{name}/status": _post(
        "Turn a schedule or sensor on or off.",
        [_p("name", "The schedule or sensor.")],
        _json_body({"running": {"type": "boolean"}}),
        **{
            "200": {"description": "The schedule or sensor, as in /api/automation."},
            "404": _NOT_FOUND,
        },
    ),
    "/api/overview": _get(
        "The last hours: runs (oldest first, for a timeline), failing (assets whose latest "
        "run failed or checks fail, jobs whose latest run failed, schedules and sensors "
        "whose latest tick failed), stale assets with their causes, counts.",
        [_q("hours", "The span (1-336, default 24).", "integer")],
    ),
    "/api/backfills": {
        **_get(
            "Backfills, newest first (status, assets, partitions, counts per partition "
            "state, runs planned and launched, policy, times), and the daemon's state "
            "(backfills wait for a daemon).",
            [
                _q("status", "A backfill status (repeatable).", repeat=True),
                _q("limit", "At most this many (1-500, default 50).", "integer"),
            ],
        ),
        **_post(
            "Store a backfill for the daemon: its runs are cut by the assets' backfill "
            "policies. A bad value is a 400 whose `field` names it.",
            None,
            _BACKFILL_BODY,
            **{"201": {"description": "The backfill, as listed."}},
        ),
    },
    "/api/backfills/preview": _post(
        "What a backfill request would store, not stored: assets, num_partitions, "
        "num_runs, policy; or the 400 the launch would get.",
        None,
        _BACKFILL_BODY,
        **{"200": {"description": "The plan's summary."}},
    ),
    "/api/backfills/{backfill_id}": _get(
        "One backfill: counts per partition state read from its runs, ranges (per state, "
        "consecutive keys with their assets), runs (in plan order), retried_by, daemon.",
        [_BACKFILL],
        **{"404": _NOT_FOUND},
    ),
    "/api/backfills/{backfill_id}/cancel": _post(
        "Cancel a backfill in progress: no more runs, its queued and running runs stop.",
        [_BACKFILL],
        None,
        **{
            "200": {"description": "The backfill (CANCELING)."},
            "404": _NOT_FOUND,
            "409": _CONFLICT,
        },
    ),
    "/api/backfills/{backfill_id}/retry": _post(
        "A new backfill of the partitions a finished backfill did not materialize.",
        [_BACKFILL],
        None,
        **{"201": {"description": "The new backfill."}, "404": _NOT_FOUND, "409": _CONFLICT},
    ),
    "/api/partitions": _get(
        "The partition keys of a job or an asset selection, in order (the range "
        "pickers' choices; at most 50,000, then truncated).",
        [_q("job", "A job name."), _q("selection", "An asset selection.")],
    ),
    "/api/stream": _get(
        "Server-sent events: run (a run appeared or changed), events (new events of a "
        "live run), launch_failed, workspace (definitions reloaded), tick (a schedule's "
        "or sensor's tick began or ended: name, tick), evaluation (new automation "
        "evaluations were recorded: evaluation_id, the highest), backfill (a backfill "
        "appeared or changed).",
        [_q("run_id", "Only the events of this run (run messages always come).")],
    ),
    "/api/openapi.json": _get("This document."),
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trellis dev API",
            "version": "1",
            "description": "The JSON API the pages of `trellis dev` use. State-changing "
            "requests take JSON bodies and refuse other origins.",
        },
        "paths": PATHS,
    }
