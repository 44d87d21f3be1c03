"""JSON-safe forms of events and runs, for storage and for crossing process boundaries.

``event_to_dict`` / ``event_from_dict`` round-trip an ``Event`` exactly (its typed payload,
stored as a dict of its fields, with its ``ErrorInfo``, ``MetadataValue`` and
``AssetMaterialization`` objects included);
``run_to_dict`` / ``run_from_dict`` do the same for a ``Run``. Values that JSON cannot
hold are kept as their ``repr`` (tagged), never silently dropped.
"""

from __future__ import annotations

from typing import Any

from trellis.core import metadata_kinds
from trellis.core.asset_checks import (
    AssetCheckEvaluation,
    AssetCheckEvaluationTargetMaterializationData,
)
from trellis.core.asset_key import AssetKey
from trellis.core.event_payloads import payload_from_dict, payload_to_dict
from trellis.core.events import ErrorInfo, Event, EventType
from trellis.core.metadata import MetadataValue
from trellis.core.outputs import AssetMaterialization, AssetObservation
from trellis.core.run import Run, RunStatus

_TAG = "__t"
# Exact types that are already JSON values (subclasses take the general path below).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_jsonable(value: Any) -> Any:
    """A structure of dicts, lists, strings, numbers, bools and None for ``value``."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    if cls is dict and _TAG not in value:  # the common payload: a dict with str keys
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                break
            out[k] = v if type(v) in _PLAIN else to_jsonable(v)
        else:
            return out
    elif cls is list:
        return [v if type(v) in _PLAIN else to_jsonable(v) for v in value]
    return _to_jsonable(value)


def _to_jsonable(value: Any) -> Any:
    """``to_jsonable`` for every kind of value (the general path)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, MetadataValue):
        structured, encoded = metadata_kinds.encode(value)
        stored = encoded if structured else to_jsonable(value.value)
        return {_TAG: "mv", "type": value.type_name, "value": stored}
    if isinstance(value, ErrorInfo):
        return {
            _TAG: "error",
            "message": value.message,
            "stack": value.stack,
            "cls_name": value.cls_name,
            "cause": to_jsonable(value.cause),
        }
    if isinstance(value, AssetKey):
        return {_TAG: "key", "path": list(value.path)}
    if isinstance(value, (AssetMaterialization, AssetObservation)):
        return {
            _TAG: "mat" if isinstance(value, AssetMaterialization) else "obs",
            "asset_key": list(value.asset_key.parts),
            "description": value.description,
            "metadata": to_jsonable(value.metadata),
            "partition": value.partition,
            "tags": value.tags,
        }
    if isinstance(value, AssetCheckEvaluation):
        target = value.target_materialization_data
        return {
            _TAG: "check",
            "asset_key": list(value.asset_key.parts),
            "check_name": value.check_name,
            "passed": value.passed,
            "metadata": to_jsonable(value.metadata),
            "target": list(target) if target is not None else None,
            "severity": value.severity.value,
            "description": value.description,
            "blocking": value.blocking,
            "partition": value.partition,
        }
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: to_jsonable(v) for k, v in value.items()}
        items = [[to_jsonable(k), to_jsonable(v)] for k, v in value.items()]
        return {_TAG: "items", "items": items}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return {_TAG: "repr", "repr": repr(value)}


def from_jsonable(value: Any) -> Any:
    """The inverse of ``to_jsonable`` (``repr``-kept values come back as strings)."""
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: from_jsonable(v) for k, v in value.items()}
    if tag == "mv":
        kind = metadata_kinds.decode(value["type"], value["value"])
        if kind is not None:
            return kind
        return MetadataValue.of_type(from_jsonable(value["value"]), value["type"])
    if tag == "error":
        cause = value.get("cause")
        return ErrorInfo(
            value["message"],
            list(value["stack"]),
            value["cls_name"],
            from_jsonable(cause) if cause is not None else None,
        )
    if tag == "key":
        return AssetKey(value["path"])
    if tag in ("mat", "obs"):
        cls = AssetMaterialization if tag == "mat" else AssetObservation
        return cls(
            AssetKey(value["asset_key"]),
            value.get("description"),
            from_jsonable(value.get("metadata") or {}),
            value.get("partition"),
            value.get("tags"),
        )
    if tag == "check":
        target = value.get("target")
        return AssetCheckEvaluation(
            AssetKey(value["asset_key"]),
            value["check_name"],
            value["passed"],
            from_jsonable(value.get("metadata") or {}),
            AssetCheckEvaluationTargetMaterializationData(*target) if target else None,
            value.get("severity", "ERROR"),
            value.get("description"),
            value.get("blocking"),
            value.get("partition"),
        )
    if tag == "items":
        return {from_jsonable(k): from_jsonable(v) for k, v in value["items"]}
    if tag == "repr":
        return value["repr"]
    raise ValueError(f"Unknown serialized value tag {tag!r}")


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event as a JSON-safe dict."""
    return {
        "event_type": event.event_type._value_,
        "run_id": event.run_id,
        "job_name": event.job_name,
        "step_key": event.step_key,
        "message": event.message,
        "level": event.level,
        "data": to_jsonable(payload_to_dict(event.data)),
        "asset_key": list(event.asset_key.parts) if event.asset_key is not None else None,
        "partition": event.partition,
        "timestamp": event.timestamp,
        "pid": event.pid,
        "thread": event.thread,
    }


def event_from_dict(data: dict[str, Any]) -> Event:
    """The ``Event`` a dict from ``event_to_dict`` describes."""
    event_type = EventType(data["event_type"])
    event = Event(
        event_type,
        data["run_id"],
        data["job_name"],
        step_key=data.get("step_key"),
        message=data.get("message", ""),
        level=data.get("level", 10),
        data=payload_from_dict(event_type, from_jsonable(data.get("data") or {})),
        asset_key=AssetKey(data["asset_key"]) if data.get("asset_key") else None,
        partition=data.get("partition"),
        timestamp=data["timestamp"],
    )
    event.pid = data.get("pid", event.pid)
    event.thread = data.get("thread", event.thread)
    return event


def run_to_dict(run: Run) -> dict[str, Any]:
    """A run record as a JSON-safe dict."""
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "run_config": to_jsonable(run.run_config),
        "tags": dict(run.tags),
        "status": run.status.value,
        "op_selection": run.op_selection,
        "asset_selection": to_jsonable(run.asset_selection),
        "asset_check_selection": run.asset_check_selection,
        "step_keys_to_execute": run.step_keys_to_execute,
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "create_time": run.create_time,
        "start_time": run.start_time,
        "end_time": run.end_time,
    }


def run_from_dict(data: dict[str, Any]) -> Run:
    """The ``Run`` a dict from ``run_to_dict`` describes."""
    run = Run(
        run_id=data["run_id"],
        job_name=data["job_name"],
        run_config=from_jsonable(data.get("run_config") or {}),
        tags=data.get("tags") or {},
        status=RunStatus(data.get("status", RunStatus.NOT_STARTED.value)),
        op_selection=data.get("op_selection"),
        asset_selection=from_jsonable(data.get("asset_selection")),
        asset_check_selection=data.get("asset_check_selection"),
        step_keys_to_execute=data.get("step_keys_to_execute"),
        parent_run_id=data.get("parent_run_id"),
        root_run_id=data.get("root_run_id"),
    )
    run.create_time = data.get("create_time", run.create_time)
    run.start_time = data.get("start_time")
    run.end_time = data.get("end_time")
    return run
