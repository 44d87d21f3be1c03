"""``/api/backfills``: the backfills (status, counts per partition state, when), one
backfill (its progress by partition state, its runs, its partitions per state as
ranges), and the actions: launch (an asset selection or a partitioned asset job over a
range, a list of keys or every partition, cut into runs by the assets' backfill
policies), preview, cancel and retry-failed; ``/api/partitions``, the keys the range
pickers offer.

The work is ``trellis.api.backfill``'s, as for ``trellis asset backfill`` and
``trellis backfill cancel|retry``: this module only reads the request. A bad value is a
400 whose ``error`` names the body field and whose ``field`` says which."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trellis.core.errors import TrellisError
from trellis.instance.backfills import PARTITION_STATES, BackfillRecord, BackfillStatus
from trellis.web.api_assets import definitions, ui_state
from trellis.web.launch_checks import LaunchError, parse_tags
from trellis.web.requests import bad_request, choice_params, int_param, json_body, text_param
from trellis.web.serialize import run_json

BACKFILL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELD_NAMES = {
    "from": "'from'",
    "to": "'to'",
    "partition_keys": "'partition_keys'",
    "all_partitions": "'all_partitions'",
    "selection": "'selection'",
}
MAX_KEYS = 100_000  # partition keys in one request
PICKER_KEYS = 50_000  # partition keys /api/partitions lists
HEARTBEAT_FRESH = 60.0  # a daemon loop seen this recently is running


class FieldError(Exception):
    """A request body field that cannot be used (answered with a 400 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def response(self) -> Response:
        """The 400 answer."""
        text = f"Body field '{self.field}': {self.message}"
        return JSONResponse({"error": text, "field": self.field}, status_code=400)


def backfill_summary(record: BackfillRecord) -> dict[str, Any]:
    """A backfill as the list shows it (counts as the daemon last stored them)."""
    keys = record.partition_keys
    return {
        "backfill_id": record.backfill_id,
        "status": record.status.value,
        "assets": record.asset_selection,
        "num_partitions": len(keys),
        "first_partition": keys[0] if keys else None,
        "last_partition": keys[-1] if keys else None,
        "num_runs_planned": len(record.chunks),
        "num_runs_launched": len(record.launched),
        "counts": {state: record.counts.get(state, 0) for state in PARTITION_STATES},
        "policy": record.policy_text,
        "tags": record.tags,
        "parent_backfill_id": record.parent_backfill_id,
        "error": record.error,
        "create_timestamp": record.create_timestamp,
        "update_timestamp": record.update_timestamp,
        "end_timestamp": record.end_timestamp,
    }


def daemon_json(state: Any, instance: Any) -> dict[str, Any]:
    """Whether a daemon moves backfills along: the one of ``trellis dev`` (``in_process``,
    ``waiting_for`` another that holds the instance) or another process whose backfill
    loop beat lately (``backfill_loop_seen``: the time of its latest heartbeat)."""
    import time

    beats = [b for b in instance.get_daemon_heartbeats() if b.daemon_type == "backfill"]
    seen = max((b.timestamp for b in beats), default=None)
    return {
        "in_process": state.daemon is not None,
        "waiting_for": getattr(state.daemon, "waiting_for", None),
        "backfill_loop_seen": seen,
        "backfill_loop_running": seen is not None and time.time() - seen < HEARTBEAT_FRESH,
    }


def _list(state: Any, statuses: list[str], limit: int) -> dict[str, Any]:
    wanted = [BackfillStatus(s) for s in statuses] or None
    records = state.instance.get_backfills(statuses=wanted, limit=limit)
    return {
        "backfills": [backfill_summary(r) for r in records],
        "daemon": daemon_json(state, state.instance),
    }


async def list_backfills(request: Request) -> Response:
    """Backfills, newest first: ``status`` (repeatable), ``limit``; and the daemon's
    state (backfills wait for a daemon)."""
    statuses = choice_params(request, "status", [s.value for s in BackfillStatus])
    limit = int_param(request, "limit", 50, 1, 500)
    body = await run_in_threadpool(_list, ui_state(request), statuses, limit)
    return JSONResponse(body)


def _record(request: Request) -> BackfillRecord:
    backfill_id = request.path_params["backfill_id"]
    if not BACKFILL_ID.match(backfill_id):
        raise bad_request(f"'{backfill_id[:80]}' is not a backfill id.")
    from trellis.api.backfill import get_backfill_or_raise

    try:
        return get_backfill_or_raise(ui_state(request).instance, backfill_id)
    except TrellisError as exc:
        raise bad_request(str(exc), 404) from None


def _detail(state: Any, record: BackfillRecord) -> dict[str, Any]:
    from trellis.api.backfill_progress import backfill_progress

    progress = backfill_progress(record, state.instance, state.workspace.definitions)
    item = backfill_summary(record)
    runs = []
    for run in progress.runs:
        out = run_json(run)
        out["chunk"] = int(run.tags.get("trellis/backfill_chunk", -1))
        runs.append(out)
    children = [
        r.backfill_id
        for r in state.instance.get_backfills(limit=200)
        if r.parent_backfill_id == record.backfill_id
    ]
    item.update(
        {
            "counts": progress.counts,
            "total": progress.total,
            "ranges": {s: [r.to_dict() for r in rs] for s, rs in progress.ranges.items()},
            "runs": runs,
            "retried_by": children,
            "daemon": daemon_json(state, state.instance),
        }
    )
    return item


async def get_backfill(request: Request) -> Response:
    """One backfill: its progress by partition state (read from its runs), its runs in
    the order of its plan, its partitions per state as key ranges."""
    record = _record(request)
    return JSONResponse(await run_in_threadpool(_detail, ui_state(request), record))


def _string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 1000:
        raise FieldError(name, "must be a non-empty string (at most 1000 characters).")
    return value.strip()


def _keys_field(body: dict[str, Any]) -> list[str] | None:
    value = body.get("partition_keys")
    if value is None:
        return None
    if isinstance(value, str):  # "a, b, c" as typed in a text box
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise FieldError("partition_keys", "must be a list of partition keys (strings).")
    if len(value) > MAX_KEYS:
        raise FieldError("partition_keys", f"at most {MAX_KEYS} keys in one backfill request.")
    return value


def _job_assets(defs: Any, name: str) -> list[Any]:
    """The assets a partitioned asset job materializes (what its backfill selects)."""
    from trellis.cli.job_commands import user_jobs
    from trellis.cli.suggest import unknown_name_message

    jobs = user_jobs(defs)
    if name not in jobs:
        raise FieldError("job", unknown_name_message("job", name[:200], jobs))
    job = jobs[name]
    if job.partitions_def is None:
        raise FieldError("job", f"Job '{name}' is not partitioned: there is nothing to backfill.")
    keys = {
        key
        for node in job.flat_nodes
        if getattr(node, "assets_def", None) is not None
        for key in node.assets_def.selected_keys
    } & defs.asset_graph.materializable_keys
    if not keys:
        raise FieldError(
            "job",
            f"Job '{name}' materializes no asset: a backfill materializes asset partitions "
            "(launch its partitions one by one from the launchpad).",
        )
    return sorted(keys)


def _selection(defs: Any, target: Any, body: dict[str, Any]) -> list[Any]:
    """The asset keys a request selects: ``selection`` (the selection syntax) or
    ``job`` (a partitioned asset job), exactly one."""
    from trellis.cli.errors import CliError
    from trellis.cli.selection import code_location_names, selected_keys

    text, job = _string(body, "selection"), _string(body, "job")
    if (text is None) == (job is None):
        raise FieldError("selection", "give either 'selection' (an asset selection) or 'job'.")
    if job is not None:
        return _job_assets(defs, job)
    assert text is not None
    try:
        return sorted(selected_keys(text, defs.asset_graph, code_location_names(target)))
    except CliError as exc:
        raise FieldError("selection", str(exc.message).replace("--select", "selection")) from None


def _plan_request(state: Any, body: dict[str, Any]) -> tuple[list[Any], Any, dict[str, str]]:
    """The checked request: the selected asset keys, the partitions chosen, the tags."""
    from trellis.api.backfill import choose_backfill_partitions

    defs = state.workspace.definitions
    keys = _selection(defs, state.workspace.target, body)
    all_partitions = body.get("all_partitions", False)
    if not isinstance(all_partitions, bool):
        raise FieldError("all_partitions", "must be true or false.")
    choice = choose_backfill_partitions(
        _string(body, "from"), _string(body, "to"), _keys_field(body), all_partitions, FIELD_NAMES
    )
    try:
        tags = parse_tags(body.get("tags"))
    except LaunchError as exc:
        raise FieldError("tags", exc.message) from None
    return keys, choice, tags


def _checked(call: Any, instance: Any) -> Any:
    """Run ``call`` (dynamic partitions read from ``instance``); an engine error about
    the request becomes a ``FieldError``."""
    from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

    try:
        with using_dynamic_partitions_store(instance):
            return call()
    except TrellisError as exc:
        raise FieldError(getattr(exc, "field", "selection"), str(exc)) from None


def _preview(state: Any, body: dict[str, Any]) -> dict[str, Any]:
    from trellis.api.backfill import preview_backfill

    def plan() -> BackfillRecord:
        keys, choice, _tags = _plan_request(state, body)
        return preview_backfill(state.workspace.definitions, keys, **choice.as_kwargs())

    record = _checked(plan, state.instance)
    return {
        "assets": record.asset_selection,
        "num_partitions": len(record.partition_keys),
        "first_partition": record.partition_keys[0],
        "last_partition": record.partition_keys[-1],
        "num_runs": len(record.chunks),
        "policy": record.policy_text,
    }


def _launch(state: Any, body: dict[str, Any]) -> BackfillRecord:
    from trellis.api.backfill import launch_backfill
    from trellis.core.run import CODE_LOCATION_TAG

    def launch() -> BackfillRecord:
        keys, choice, tags = _plan_request(state, body)
        tags = {**tags, CODE_LOCATION_TAG: state.workspace.target.to_tag()}
        return launch_backfill(
            state.instance, state.workspace.definitions, keys, **choice.as_kwargs(), tags=tags
        )

    return _checked(launch, state.instance)  # type: ignore[no-any-return]


async def preview(request: Request) -> Response:
    """What a launch request would store, not stored: the assets, how many partitions
    and runs (the policy's cut), or the 400 the launch would get."""
    definitions(request)
    body = await json_body(request)
    try:
        answer = await run_in_threadpool(_preview, ui_state(request), body)
    except FieldError as exc:
        return exc.response()
    return JSONResponse(answer)


async def launch(request: Request) -> Response:
    """Store a backfill for the daemon: ``selection`` or ``job``; ``from`` and ``to``,
    ``partition_keys`` or ``all_partitions``; ``tags``. 201 with the backfill."""
    definitions(request)
    body = await json_body(request)
    state = ui_state(request)
    try:
        record = await run_in_threadpool(_launch, state, body)
    except FieldError as exc:
        return exc.response()
    if state.daemon is not None:
        state.daemon.daemon.wake()
    return JSONResponse(backfill_summary(record), status_code=201)


async def cancel(request: Request) -> Response:
    """Cancel a backfill in progress (``trellis backfill cancel``); 409 once it ended."""
    from trellis.api.backfill import cancel_backfill

    record = _record(request)
    state = ui_state(request)
    try:
        record = await run_in_threadpool(cancel_backfill, state.instance, record.backfill_id)
    except TrellisError as exc:
        raise bad_request(str(exc), 409) from None
    if state.daemon is not None:
        state.daemon.daemon.wake()
    return JSONResponse(backfill_summary(record))


async def retry(request: Request) -> Response:
    """A new backfill of what a finished backfill did not materialize (``trellis
    backfill retry``); 409 while it runs or when everything materialized."""
    from trellis.api.backfill import retry_backfill
    from trellis.core.run import CODE_LOCATION_TAG

    record = _record(request)
    defs = definitions(request)
    state = ui_state(request)
    tags = {CODE_LOCATION_TAG: state.workspace.target.to_tag()}
    try:
        new = await run_in_threadpool(
            retry_backfill, state.instance, defs, record.backfill_id, tags
        )
    except TrellisError as exc:
        raise bad_request(str(exc), 409) from None
    if state.daemon is not None:
        state.daemon.daemon.wake()
    return JSONResponse(backfill_summary(new), status_code=201)


def _partitions_def(defs: Any, target: Any, request: Request) -> Any:
    """The assets and the partitions definition of the ``job`` (any partitioned job,
    its assets if it has some) or ``selection`` query parameter."""
    from trellis.cli.job_commands import user_jobs
    from trellis.cli.partition_choice import selection_partitions_def
    from trellis.cli.suggest import unknown_name_message

    job, text = text_param(request, "job", 256), text_param(request, "selection")
    if (job is None) == (text is None):
        raise bad_request("Give one of the query parameters 'job' and 'selection'.")
    if job is not None:
        jobs = user_jobs(defs)
        if job not in jobs:
            raise bad_request(f"Query parameter 'job': {unknown_name_message('job', job, jobs)}")
        try:
            keys = _job_assets(defs, job)
        except FieldError:  # an op job, or not partitioned: its own partitions, if any
            keys = []
        return keys, jobs[job].partitions_def
    try:
        keys = _selection(defs, target, {"selection": text})
    except FieldError as exc:
        raise bad_request(f"Query parameter '{exc.field}': {exc.message}") from None
    return keys, selection_partitions_def(defs.asset_graph, set(keys))


def _keys_of(pdef: Any, instance: Any) -> list[str]:
    from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

    with using_dynamic_partitions_store(instance):
        return list(pdef.get_partition_keys())


async def partitions(request: Request) -> Response:
    """The partition keys a job's or a selection's runs take (the range pickers'
    choices), in order; ``truncated`` when there are more than the pickers list."""
    defs = definitions(request)
    state = ui_state(request)
    keys, pdef = _partitions_def(defs, state.workspace.target, request)
    if pdef is None:
        return JSONResponse({"partitioned": False, "keys": [], "truncated": False})
    try:
        found = await run_in_threadpool(_keys_of, pdef, state.instance)
    except TrellisError as exc:
        raise bad_request(str(exc)) from None
    return JSONResponse(
        {
            "partitioned": True,
            "partitions_def": repr(pdef),
            "assets": [k.to_user_string() for k in keys],
            "num_keys": len(found),
            "keys": list(found[:PICKER_KEYS]),
            "truncated": len(found) > PICKER_KEYS,
        }
    )


ROUTES = [
    Route("/api/backfills", list_backfills),
    Route("/api/backfills", launch, methods=["POST"]),
    Route("/api/backfills/preview", preview, methods=["POST"]),
    Route("/api/backfills/{backfill_id}", get_backfill),
    Route("/api/backfills/{backfill_id}/cancel", cancel, methods=["POST"]),
    Route("/api/backfills/{backfill_id}/retry", retry, methods=["POST"]),
    Route("/api/partitions", partitions),
]
