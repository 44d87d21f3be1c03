"""Runs, events and metadata as the JSON the API returns: plain values a page renders
(metadata as ``{label, type, value}`` entries, errors with their stack, asset keys as
``a/b`` strings), built from the storage's own JSON forms (``core/serialization.py``)."""

from __future__ import annotations

import logging
from typing import Any

from trellis.core.event_payloads import payload_to_dict
from trellis.core.run import Run
from trellis.core.serialization import to_jsonable

_TAG = "__t"


def plain(value: Any) -> Any:
    """A JSON value for the browser: the tagged forms of ``to_jsonable`` untagged."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: plain(v) for k, v in value.items()}
    if tag == "mv":
        return {"type": value["type"], "value": plain(value["value"])}
    if tag == "key":
        return "/".join(value["path"])
    if tag == "items":
        return {str(plain(k)): plain(v) for k, v in value["items"]}
    if tag == "repr":
        return value["repr"]
    rest = {k: plain(v) for k, v in value.items() if k != _TAG}
    if "asset_key" in rest and isinstance(rest["asset_key"], list):
        rest["asset_key"] = "/".join(rest["asset_key"])
    return rest


def metadata_entries(metadata: Any) -> list[dict[str, Any]]:
    """A metadata mapping as ``[{label, type, value}]`` in its own order."""
    if not metadata:
        return []
    return _entries_from_plain({str(k): plain(to_jsonable(v)) for k, v in dict(metadata).items()})


def run_json(run: Run) -> dict[str, Any]:
    """A run record for the API."""
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "tags": dict(run.tags),
        "run_config": plain(to_jsonable(run.run_config)),
        "asset_selection": plain(to_jsonable(run.asset_selection)),
        "asset_check_selection": run.asset_check_selection,
        "step_keys_to_execute": run.step_keys_to_execute,
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "create_time": run.create_time,
        "start_time": run.start_time,
        "end_time": run.end_time,
    }


def event_json(storage_id: int, event: Any) -> dict[str, Any]:
    """A stored event for the API: its storage id (the cursor of the live stream), type,
    step, level name, message, time, asset and payload."""
    data = plain(to_jsonable(payload_to_dict(event.data)))
    if isinstance(data, dict):
        for name in ("materialization", "observation", "evaluation"):
            inner = data.get(name)
            if isinstance(inner, dict) and isinstance(inner.get("metadata"), dict):
                inner["metadata"] = _entries_from_plain(inner["metadata"])
        if isinstance(data.get("metadata"), dict):
            data["metadata"] = _entries_from_plain(data["metadata"])
    return {
        "storage_id": storage_id,
        "run_id": event.run_id,
        "type": event.event_type.value,
        "step_key": event.step_key,
        "level": logging.getLevelName(event.level),
        "message": event.message,
        "timestamp": event.timestamp,
        "asset_key": event.asset_key.to_user_string() if event.asset_key is not None else None,
        "partition": event.partition,
        "pid": event.pid,
        "data": data,
    }


def _entries_from_plain(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for label, value in metadata.items():
        if isinstance(value, dict) and set(value) == {"type", "value"}:
            entries.append({"label": label, "type": value["type"], "value": value["value"]})
        else:
            entries.append({"label": label, "type": "json", "value": value})
    return entries
