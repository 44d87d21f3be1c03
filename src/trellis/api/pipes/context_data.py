"""The context a Pipes session hands the external process: what the running step knows
(run, job, attempt, asset keys and code versions, partitions) plus the user's extras, as
the JSON object of the protocol (``trellis_pipes.PipesContextData``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trellis.contexts.direct import DIRECT_JOB_NAME
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError
from trellis_pipes import (
    PipesContextData,
    PipesPartitionKeyRange,
    PipesTimeWindow,
    to_escaped_asset_key,
)


def escaped_key(key: AssetKey) -> str:
    """An asset key as the protocol writes it (``a/b``, a ``/`` inside a part escaped)."""
    return to_escaped_asset_key(key.parts)


def check_extras(extras: Mapping[str, Any] | None) -> dict[str, Any]:
    """The extras as a plain dict, or a clear error when JSON cannot carry them."""
    if extras is None:
        return {}
    if not isinstance(extras, Mapping):
        raise InvalidInvocationError(
            f"Pipes extras must be a mapping of names to JSON values, got {type(extras).__name__}."
        )
    try:
        json.dumps(dict(extras))
    except (TypeError, ValueError) as exc:
        raise InvalidInvocationError(
            f"Pipes extras travel as JSON to the external process and these cannot: {exc}."
        ) from exc
    return dict(extras)


def build_context_data(context: Any, extras: Mapping[str, Any] | None) -> PipesContextData:
    """The context data for the step ``context`` (an ``AssetExecutionContext`` or
    ``OpExecutionContext``, of a run or built for a test) runs."""
    step_context = context.get_step_execution_context()
    assets_def = step_context.step.assets_def
    asset_keys = code_versions = provenance = None
    if assets_def is not None:
        keys = sorted(context.selected_asset_keys)
        asset_keys = [escaped_key(key) for key in keys]
        code_versions = {escaped_key(k): assets_def.specs_by_key[k].code_version for k in keys}
        provenance = {escaped_key(k): _provenance(context, k) for k in keys}
    partitions = step_context.partitions
    key_range: PipesPartitionKeyRange | None = None
    window = None
    if partitions.has_partition_key_range:
        start, end = partitions.partition_key_range
        key_range = {"start": start, "end": end}
        window = _time_window(partitions)
    job_name = step_context.job_name
    return {
        "asset_keys": asset_keys,
        "code_version_by_asset_key": code_versions,
        "provenance_by_asset_key": provenance,
        "partition_key": partitions.partition_key if partitions.has_partition_key else None,
        "partition_key_range": key_range,
        "partition_time_window": window,
        "run_id": step_context.run_id,
        "job_name": None if job_name == DIRECT_JOB_NAME else job_name,
        "retry_number": step_context.retry_number,
        "extras": check_extras(extras),
    }


def _provenance(context: Any, key: Any) -> Any:
    """The data provenance of the asset's newest materialization, as Pipes sends it (code
    version, input data versions by key, whether the version was given), or None."""
    found = context.get_asset_provenance(key)
    if found is None:
        return None
    return {
        "code_version": found.code_version,
        "input_data_versions": {
            escaped_key(k): v.value for k, v in sorted(found.input_data_versions.items())
        },
        "is_user_provided": found.is_user_provided,
    }


def _time_window(partitions: Any) -> PipesTimeWindow | None:
    if not hasattr(partitions.partitions_def, "time_window_for_partition_key"):
        return None
    window = partitions.partition_time_window
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}
