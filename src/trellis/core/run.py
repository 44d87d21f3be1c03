"""``Run`` and ``RunStatus``: the record of one execution of a job."""

from __future__ import annotations

import os
import time
from enum import StrEnum
from typing import Any

# Run tags Trellis sets itself (Dagster's ``dagster/`` tags become ``trellis/``).
PARTITION_TAG = "trellis/partition"
PARTITION_SET_TAG = "trellis/partition_set"
PARTITION_RANGE_START_TAG = "trellis/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "trellis/asset_partition_range_end"
PID_TAG = "trellis/pid"  # the process running the run (dead-run detection)
HOST_TAG = "trellis/host"
# Where the pid means that process: the PID namespace and the boot of the kernel. A pid
# is checked only from the same one (two containers share a host name, not their pids).
PID_NAMESPACE_TAG = "trellis/pid_namespace"
EXECUTOR_TAG = "trellis/executor"  # which executor ran the run's steps
PARENT_RUN_ID_TAG = "trellis/parent_run_id"
ROOT_RUN_ID_TAG = "trellis/root_run_id"
SENSOR_NAME_TAG = "trellis/sensor_name"  # the sensor whose tick requested the run
CODE_LOCATION_TAG = "trellis/code_location"  # where the trellis command loaded the code (JSON)
DAGSTER_TAG_ALIASES = {
    "dagster/partition": PARTITION_TAG,
    "dagster/partition_set": PARTITION_SET_TAG,
    "dagster/asset_partition_range_start": PARTITION_RANGE_START_TAG,
    "dagster/asset_partition_range_end": PARTITION_RANGE_END_TAG,
}
"""Dagster's names of the run tags Trellis names ``trellis/...``: a run given Dagster's
(code ported from Dagster) reads as if given Trellis' (``with_dagster_tag_aliases``)."""


def with_dagster_tag_aliases(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` plus, for each of Dagster's partition tags it holds whose Trellis name it
    does not, the Trellis name with the same value (Dagster's name is kept too)."""
    extra = {
        ours: tags[theirs]
        for theirs, ours in DAGSTER_TAG_ALIASES.items()
        if theirs in tags and ours not in tags
    }
    return {**tags, **extra} if extra else tags


MAX_RUNTIME_SECONDS_TAG = "dagster/max_runtime"
"""A run tag (Dagster's name and meaning): the most seconds the run may run; a run still
running after that is stopped and ends FAILURE (``execution/run_monitor.py``)."""


def max_runtime_seconds(tags: dict[str, str]) -> float | None:
    """The run's ``dagster/max_runtime`` in seconds, or None when the tag is absent.
    Raises ``ValueError`` naming the tag for a value that is not a positive number."""
    text = tags.get(MAX_RUNTIME_SECONDS_TAG)
    if text is None:
        return None
    try:
        seconds = float(text)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(
            f"Run tag '{MAX_RUNTIME_SECONDS_TAG}' must be a positive number of seconds, "
            f"got {text!r}."
        )
    return seconds


def new_run_id() -> str:
    """A fresh run id: a random (version 4) UUID string, made without importing ``uuid``
    (which pulls in ``platform`` on the first run of every process)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RunStatus(StrEnum):
    """Where a run is in its life."""

    QUEUED = "QUEUED"
    NOT_STARTED = "NOT_STARTED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_finished(self) -> bool:
        """Success, failure or canceled."""
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)


class Run:
    """One run of a job: identity, config, tags, selection, lineage and status.

    ``context.run`` is this object; storage persists it.
    """

    __slots__ = (
        "asset_check_selection",
        "asset_selection",
        "create_time",
        "end_time",
        "job_name",
        "op_selection",
        "parent_run_id",
        "root_run_id",
        "run_config",
        "run_id",
        "start_time",
        "status",
        "step_keys_to_execute",
        "tags",
    )

    def __init__(
        self,
        run_id: str,
        job_name: str,
        run_config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        status: RunStatus = RunStatus.NOT_STARTED,
        op_selection: list[str] | None = None,
        asset_selection: list[Any] | None = None,
        step_keys_to_execute: list[str] | None = None,
        parent_run_id: str | None = None,
        root_run_id: str | None = None,
        asset_check_selection: list[str] | None = None,
    ) -> None:
        self.run_id = run_id
        self.job_name = job_name
        self.run_config = dict(run_config or {})
        self.tags = dict(tags or {})
        self.status = status
        self.op_selection = op_selection
        self.asset_selection = asset_selection
        # The asset checks the run evaluates, as "asset/key:name" strings (None: those
        # of the selected assets, or of the whole job).
        self.asset_check_selection = asset_check_selection
        self.step_keys_to_execute = step_keys_to_execute
        self.parent_run_id = parent_run_id
        self.root_run_id = root_run_id
        self.create_time = time.time()
        self.start_time: float | None = None
        self.end_time: float | None = None

    @property
    def is_finished(self) -> bool:
        """Whether the run has ended."""
        return self.status.is_finished

    @property
    def is_success(self) -> bool:
        """Whether the run ended successfully."""
        return self.status is RunStatus.SUCCESS

    def __repr__(self) -> str:
        return f"<Run {self.run_id} {self.job_name} {self.status.value}>"
