"""The trace of a run: the run's stored events as a tree of the contexts and calls made.

``build_trace(events)`` turns a run's event log (``instance.all_logs(run_id)`` or
``result.event_log``) into a ``TraceNode`` tree in the shape of the framework's hierarchy::

    run                      Run <id> (job)
    └─ orchestration         PlanOrchestrationContext (run config, executor when known)
       ├─ resource_init      resource initialisation
       │  └─ init_resource   InitResourceContext <key> (duration from ``timings_ms``)
       ├─ step               StepExecutionContext <step key> (status, attempts)
       │  └─ attempt         attempt N (STEP_START / STEP_RESTARTED)
       │     ├─ load_input   InputContext <input> → load_input (manager, upstream, duration)
       │     ├─ compute      <AssetExecutionContext|AssetCheckExecutionContext|
       │     │  │            OpExecutionContext> → compute <op>
       │     │  ├─ log       context.log lines, in place
       │     │  ├─ handle_output  OutputContext <output> → handle_output (manager, asset, ...)
       │     │  │  └─ materialization / observation (data version; attrs: tags with
       │     │  │                   the code version and the input data versions)
       │     │  ├─ materialization / observation (logged by user code)
       │     │  └─ check_evaluation  ASSET_CHECK_EVALUATION <asset:check> passed | failed
       │     │                  (severity, blocking, metadata, the materialization checked)
       │     ├─ step_success | retry | step_failure (with the user's traceback)
       │     └─ hook | hook_error  HookContext <hook> → <hook>() after the step ended
       │        └─ log          the hook's context.log lines
       ├─ checks_planned  the asset checks the run planned (ASSET_CHECK_EVALUATION_PLANNED)
       ├─ step_skipped / engine / log / resource_failure nodes for run-level events
    └─ run_end               RUN_SUCCESS | RUN_FAILURE | RUN_CANCELED

Because the trace is derived from the stored events only, it costs nothing while the run
executes and works for any stored run from any executor.

``render_trace(node, format)`` (``trellis.views.trace_render``) renders the tree:
``"text"`` (a terminal tree, durations right-aligned, slow steps marked, colour only on a
terminal), ``"json"`` or ``"mermaid"``.

JSON schema (``format="json"``): one object per node, nested::

    {
      "kind": str,               # one of the kinds above
      "label": str,              # a one-line human description
      "start_offset_ms": float,  # milliseconds since the run started (RUN_START)
      "duration_ms": float|null, # when known
      "pid": int|null,           # process of the event(s) the node comes from
      "thread": int|null,        # thread ident of those events
      "attrs": {str: any},       # kind-specific details: step_key, manager_key, asset_key,
                                 # metadata, tags (of materializations and observations),
                                 # error (the traceback text), status, ...
      "children": [node, ...]
    }

Filters (arguments of ``render_trace`` and ``filter_trace``): ``step`` keeps one step
(key or op name), ``only_errors`` keeps failure nodes and their ancestors, ``depth`` cuts
the tree that many levels below the root.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trellis.core import metadata_kinds
from trellis.core.data_version import DATA_VERSION_TAG
from trellis.core.event_payloads import (
    HandledOutputData,
    HookCompletedData,
    HookErroredData,
    HookSkippedData,
    LoadedInputData,
    ResourceInitStartedData,
    ResourceInitSuccessData,
    ResourceTeardownData,
    StepFailureData,
    StepOutputData,
    StepStartData,
)
from trellis.core.events import ErrorInfo, Event, EventType
from trellis.core.run import EXECUTOR_TAG
from trellis.defs.dynamic_scope import parse_step_key

ERROR_KINDS = frozenset(
    {"step_failure", "retry", "resource_failure", "teardown_failure", "engine_error", "hook_error"}
)
_HOOK_EVENTS = frozenset({EventType.HOOK_COMPLETED, EventType.HOOK_SKIPPED, EventType.HOOK_ERRORED})
_RUN_END = {
    EventType.RUN_SUCCESS: "RUN_SUCCESS",
    EventType.RUN_FAILURE: "RUN_FAILURE",
    EventType.RUN_CANCELED: "RUN_CANCELED",
}


@dataclass
class TraceNode:
    """One node of a run's trace: a context created or a call made, with its timing."""

    kind: str
    label: str
    start_offset_ms: float = 0.0
    duration_ms: float | None = None
    pid: int | None = None
    thread: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[TraceNode] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        """Whether this node records a failure (a failed step, a retry, a run failure, an
        asset check that failed with severity ERROR...)."""
        if self.kind == "check_evaluation":
            return self.attrs.get("status") == "failed"
        return self.kind in ERROR_KINDS or (
            self.kind == "run_end" and self.attrs.get("status") != "RUN_SUCCESS"
        )

    def add(self, child: TraceNode) -> TraceNode:
        """Append ``child`` and return it."""
        self.children.append(child)
        return child

    def walk(self) -> Iterable[TraceNode]:
        """This node and all its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, kind: str) -> list[TraceNode]:
        """Every node of ``kind`` in this subtree, depth first."""
        return [node for node in self.walk() if node.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """The node and its subtree as JSON-ready data (the documented schema)."""
        return {
            "kind": self.kind,
            "label": self.label,
            "start_offset_ms": round(self.start_offset_ms, 3),
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms, 3),
            "pid": self.pid,
            "thread": self.thread,
            "attrs": {k: _jsonable(v) for k, v in self.attrs.items()},
            "children": [child.to_dict() for child in self.children],
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, ErrorInfo):
        return value.to_string()
    structured, encoded = metadata_kinds.encode(value)
    if structured:  # a table, schema, lineage or reference: its stored JSON form
        return encoded
    inner = getattr(value, "value", None)
    if inner is not None and inner is not value:
        return _jsonable(inner)
    to_user_string = getattr(value, "to_user_string", None)
    if callable(to_user_string):
        return to_user_string()
    return str(value)


# -- building ------------------------------------------------------------------------------


class _Builder:
    def __init__(self, events: list[Event], run: Any = None) -> None:
        self.events = events
        starts = [e for e in events if e.event_type is EventType.RUN_START]
        self.t0 = (starts[0] if starts else events[0]).timestamp if events else 0.0
        first = starts[0] if starts else (events[0] if events else None)
        run_id = first.run_id if first else (getattr(run, "run_id", "") or "")
        job = first.job_name if first else (getattr(run, "job_name", "") or "")
        self.root = TraceNode(
            "run",
            f"Run {run_id} ({job})",
            0.0,
            pid=first.pid if first else None,
            thread=first.thread if first else None,
            attrs={"run_id": run_id, "job_name": job},
        )
        orch_attrs: dict[str, Any] = {}
        if run is not None:
            orch_attrs["run_config"] = getattr(run, "run_config", {})
            tags = getattr(run, "tags", {}) or {}
            executor = tags.get(EXECUTOR_TAG)
            if executor:
                orch_attrs["executor"] = executor
        self.orch = self.root.add(
            TraceNode(
                "orchestration",
                "PlanOrchestrationContext"
                + (f" (executor: {orch_attrs['executor']})" if "executor" in orch_attrs else ""),
                0.0,
                pid=self.root.pid,
                thread=self.root.thread,
                attrs=orch_attrs,
            )
        )
        self.steps: dict[str, TraceNode] = {}
        self.attempt: dict[str, TraceNode] = {}
        self.compute: dict[str, TraceNode] = {}
        self.output: dict[str, TraceNode] = {}
        self.ended: dict[str, TraceNode] = {}  # attempts that ended: their hooks come next
        self.hook_logs: dict[str, list[TraceNode]] = {}  # a running hook's log lines
        self.resource_init: TraceNode | None = None
        self.checks_planned: TraceNode | None = None

    def off(self, event: Event) -> float:
        return (event.timestamp - self.t0) * 1000

    def node(self, kind: str, label: str, event: Event, **attrs: Any) -> TraceNode:
        duration = attrs.pop("duration_ms", None)
        return TraceNode(
            kind, label, self.off(event), duration, event.pid, event.thread, attrs=attrs
        )

    def build(self) -> TraceNode:
        for event in self.events:
            if event.step_key is not None:
                self.step_event(event)
            else:
                self.run_event(event)
        last = self.events[-1] if self.events else None
        if last is not None:
            self.root.duration_ms = self.off(last)
            self.orch.duration_ms = self.off(last)
        return self.root

    # -- run-level ---------------------------------------------------------------------
    def run_event(self, event: Event) -> None:
        et = event.event_type
        data = event.data
        if et is EventType.RUN_START:
            return
        if et is EventType.RESOURCE_INIT_STARTED:
            assert isinstance(data, ResourceInitStartedData)
            keys = list(data.keys)
            self.resource_init = self.orch.add(
                self.node("resource_init", f"initialise resources [{', '.join(keys)}]", event)
            )
            self.resource_init.attrs["keys"] = keys
        elif et is EventType.RESOURCE_INIT_SUCCESS:
            init = self.resource_init or self.orch.add(
                self.node("resource_init", "initialise resources", event)
            )
            init.duration_ms = self.off(event) - init.start_offset_ms
            assert isinstance(data, ResourceInitSuccessData)
            timings = data.timings_ms or {}
            for key in init.attrs.get("keys") or list(timings):
                init.add(
                    TraceNode(
                        "init_resource",
                        f"InitResourceContext {key}",
                        init.start_offset_ms,
                        timings.get(key),
                        event.pid,
                        event.thread,
                        attrs={"resource_key": key},
                    )
                )
        elif et is EventType.RESOURCE_INIT_FAILURE:
            self.orch.add(
                self.node(
                    "resource_failure", "resource initialisation failed", event, error=_err(event)
                )
            )
        elif et is EventType.RESOURCE_TEARDOWN:
            assert isinstance(data, ResourceTeardownData)
            key_list = ", ".join(data.keys or [])
            duration = data.duration_ms
            node = self.node(
                "teardown", f"tear down resources [{key_list}]", event, duration_ms=duration
            )
            if duration is not None:  # the event is stamped when teardown ended
                node.start_offset_ms = max(0.0, node.start_offset_ms - duration)
            self.orch.add(node)
        elif et is EventType.RESOURCE_TEARDOWN_FAILURE:
            self.orch.add(
                self.node("teardown_failure", "resource teardown failed", event, error=_err(event))
            )
        elif et is EventType.ENGINE_EVENT:
            kind = "engine_error" if event.error is not None else "engine"
            attrs = {"error": _err(event)} if kind == "engine_error" else {}
            self.orch.add(self.node(kind, f"engine: {_first_line(event.message)}", event, **attrs))
        elif et is EventType.LOG_MESSAGE:
            self.orch.add(_log_node(self, event))
        elif et is EventType.ASSET_CHECK_EVALUATION_PLANNED:
            self.check_planned(event)
        elif et in _RUN_END:
            self.root.add(
                self.node(
                    "run_end", _RUN_END[et], event, status=_RUN_END[et], message=event.message
                )
            )

    # -- steps -------------------------------------------------------------------------
    def step_node(self, event: Event) -> TraceNode:
        key = event.step_key
        assert key is not None
        step = self.steps.get(key)
        if step is None:
            step = self.orch.add(
                self.node(
                    "step",
                    f"StepExecutionContext {key}",
                    event,
                    step_key=key,
                    status="STARTED",
                    attempts=0,
                )
            )
            handle, mapping_keys = parse_step_key(key)
            if mapping_keys:  # one step of a node mapped over a dynamic output
                step.attrs["node_handle"] = handle
                step.attrs["mapping_key"] = ",".join(mapping_keys)
            self.steps[key] = step
        return step

    def step_event(self, event: Event) -> None:
        et = event.event_type
        key = event.step_key
        assert key is not None
        step = self.step_node(event)
        data = event.data
        if et in (EventType.STEP_START, EventType.STEP_RESTARTED):
            assert isinstance(data, StepStartData)
            retry_number = data.retry_number
            step.attrs["attempts"] = step.attrs["attempts"] + 1
            attempt = step.add(
                self.node(
                    "attempt",
                    f"attempt {retry_number + 1}",
                    event,
                    retry_number=retry_number,
                    event_type=et.value,
                )
            )
            self.attempt[key] = attempt
            self.compute.pop(key, None)
            self.output.pop(key, None)
            self.ended.pop(key, None)
            context_type = data.context_type
            if context_type:
                attempt.attrs["context_type"] = context_type
                step.attrs["context_type"] = context_type
            return
        if et is EventType.STEP_SKIPPED:
            step.attrs["status"] = "SKIPPED"
            step.add(self.node("step_skipped", "STEP_SKIPPED", event, message=event.message))
            return
        attempt = self.attempt.get(key) or step
        if et in _HOOK_EVENTS:
            self.hook_node(key, self.ended.get(key) or attempt, event)
            return
        if key in self.ended and et is EventType.LOG_MESSAGE:  # logged by a hook
            self.hook_logs.setdefault(key, []).append(_log_node(self, event))
            return
        if et is EventType.LOADED_INPUT:
            assert isinstance(data, LoadedInputData)
            upstream = data.upstream_step_key
            source = f" from {upstream}.{data.upstream_output_name}" if upstream else ""
            item = data.upstream_mapping_key
            if item is not None:  # one item of a dynamic output
                source += f"[{item}]"
            manager = data.manager_key
            attempt.add(
                self.node(
                    "load_input",
                    f"InputContext {data.input_name} → load_input [{manager}]{source}",
                    event,
                    input_name=data.input_name,
                    manager_key=manager,
                    upstream_step_key=upstream,
                    upstream_output_name=data.upstream_output_name,
                    upstream_mapping_key=item,
                    asset_key=event.asset_key,
                    metadata=data.metadata or {},
                    duration_ms=data.duration_ms,
                )
            )
            return
        if et in (EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_UP_FOR_RETRY):
            self.end_attempt(step, attempt, event)
            return
        compute = self.compute_node(key, attempt, event)
        if et is EventType.STEP_OUTPUT:
            assert isinstance(data, StepOutputData)
            name = _output_label(data.output_name, data.mapping_key)
            handled = compute.add(
                self.node(
                    "handle_output",
                    f"OutputContext {name} → handle_output",
                    event,
                    output_name=data.output_name,
                    metadata=data.metadata or {},
                )
            )
            if data.mapping_key is not None:
                handled.attrs["mapping_key"] = data.mapping_key
            self.output[key] = handled
        elif et is EventType.HANDLED_OUTPUT:
            assert isinstance(data, HandledOutputData)
            name = _output_label(data.output_name, data.mapping_key)
            out = self.output.get(key)
            if (
                out is None
                or out.attrs.get("output_name") != data.output_name
                or out.attrs.get("mapping_key") != data.mapping_key
            ):
                out = compute.add(
                    self.node(
                        "handle_output",
                        f"OutputContext {name} → handle_output",
                        event,
                        output_name=data.output_name,
                    )
                )
            manager = data.manager_key
            out.label = f"OutputContext {name} → handle_output [{manager}]"
            if event.asset_key is not None:
                out.label += f" {event.asset_key.to_user_string()}"
                out.attrs["asset_key"] = event.asset_key
            out.attrs["manager_key"] = manager
            if data.metadata:
                out.attrs["handled_metadata"] = data.metadata
            out.duration_ms = data.duration_ms
            self.output.pop(key, None)
        elif et in (EventType.ASSET_MATERIALIZATION, EventType.ASSET_OBSERVATION):
            is_mat = et is EventType.ASSET_MATERIALIZATION
            kind = "materialization" if is_mat else "observation"
            asset = event.asset_key.to_user_string() if event.asset_key else "?"
            out = self.output.get(key)
            parent = out if out is not None else compute
            tags = event.tags
            version = tags.get(DATA_VERSION_TAG)
            label = f"{et.value} {asset}" + (f" [{event.partition}]" if event.partition else "")
            if version is not None:
                label += f" data version {version[:12]}"
            parent.add(
                self.node(
                    kind,
                    label,
                    event,
                    asset_key=event.asset_key,
                    partition=event.partition,
                    metadata=event.metadata,
                    tags=dict(tags),
                )
            )
        elif et is EventType.LOG_MESSAGE:
            compute.add(_log_node(self, event))
        elif et is EventType.ASSET_CHECK_EVALUATION:
            compute.add(check_evaluation_node(self, event))
        else:
            compute.add(self.node("event", f"{et.value}: {_first_line(event.message)}", event))

    def check_planned(self, event: Event) -> None:
        """One node for the checks the run planned, listing them (and their steps)."""
        data = event.data
        key = getattr(data, "asset_check_key", None)
        name = key.to_user_string() if key is not None else "?"
        node = self.checks_planned
        if node is None:
            node = self.checks_planned = self.orch.add(
                self.node("checks_planned", "asset checks planned", event, checks={})
            )
        node.attrs["checks"][name] = getattr(data, "step_key", None)
        count = len(node.attrs["checks"])
        node.label = f"asset checks planned ({count}): {', '.join(node.attrs['checks'])}"

    def compute_node(self, key: str, attempt: TraceNode, event: Event) -> TraceNode:
        compute = self.compute.get(key)
        if compute is None:
            context_type = attempt.attrs.get("context_type", "context")
            handle, mapping_keys = parse_step_key(key)
            op_name = handle.rsplit(".", 1)[-1]
            item = f" for mapping key {','.join(mapping_keys)}" if mapping_keys else ""
            compute = attempt.add(
                self.node(
                    "compute",
                    f"{context_type} → compute {op_name}(){item}",
                    event,
                    context_type=context_type,
                    op_name=op_name,
                )
            )
            if attempt.kind == "attempt":  # the call starts once the inputs are loaded
                start = attempt.start_offset_ms
                for child in attempt.children:
                    if child.kind == "load_input":
                        start = child.start_offset_ms + (child.duration_ms or 0.0)
                compute.start_offset_ms = min(start, compute.start_offset_ms)
                compute.pid, compute.thread = attempt.pid, attempt.thread
            self.compute[key] = compute
        return compute

    def end_attempt(self, step: TraceNode, attempt: TraceNode, event: Event) -> None:
        et = event.event_type
        key = event.step_key
        assert key is not None
        data = event.data
        if key not in self.compute and attempt is not step:  # failed before any output
            self.compute_node(key, attempt, event)
        compute = self.compute.get(key)
        if compute is not None:
            compute.duration_ms = max(0.0, self.off(event) - compute.start_offset_ms)
        duration = getattr(data, "duration_ms", None)  # success and failure carry it
        if duration is None and attempt is not step:
            duration = self.off(event) - attempt.start_offset_ms
        if attempt is not step:
            attempt.duration_ms = duration
        if et is EventType.STEP_SUCCESS:
            attempt.attrs["outcome"] = step.attrs["status"] = "SUCCESS"
            attempt.add(self.node("step_success", "STEP_SUCCESS", event))
        elif et is EventType.STEP_UP_FOR_RETRY:
            attempt.attrs["outcome"] = "RETRY"
            attempt.add(
                self.node(
                    "retry",
                    f"STEP_UP_FOR_RETRY: {_first_line(event.message)}",
                    event,
                    error=_err(event),
                    seconds_to_wait=getattr(data, "seconds_to_wait", None),
                )
            )
        else:
            attempt.attrs["outcome"] = step.attrs["status"] = "FAILURE"
            attrs: dict[str, Any] = {"error": _err(event)}
            assert isinstance(data, StepFailureData)
            if data.error_source:
                attrs["error_source"] = data.error_source
            if data.metadata:
                attrs["metadata"] = data.metadata
            attempt.add(
                self.node(
                    "step_failure", f"STEP_FAILURE: {_first_line(event.message)}", event, **attrs
                )
            )
        step.duration_ms = self.off(event) - step.start_offset_ms
        self.compute.pop(key, None)
        self.output.pop(key, None)
        self.ended[key] = attempt

    def hook_node(self, key: str, attempt: TraceNode, event: Event) -> None:
        """A hook that ran (or was skipped) after the attempt ended, with its log lines."""
        data = event.data
        assert isinstance(data, (HookCompletedData, HookSkippedData, HookErroredData))
        name = data.hook_name
        logs = self.hook_logs.pop(key, [])
        status = event.event_type.value
        if isinstance(data, HookSkippedData):
            node = self.node(
                "hook",
                f"HookContext {name}: {status} ({data.reason})",
                event,
                hook_name=name,
                status=status,
                reason=data.reason,
            )
        else:
            kind = "hook_error" if isinstance(data, HookErroredData) else "hook"
            label = f"HookContext {name} → {name}()"
            attrs: dict[str, Any] = {"hook_name": name, "status": status}
            if isinstance(data, HookErroredData):
                label += f" {status}: {_first_line(data.error.message if data.error else '')}"
                attrs["error"] = _err(event)
            node = self.node(kind, label, event, duration_ms=data.duration_ms, **attrs)
            if data.duration_ms is not None:  # stamped when the hook ended
                node.start_offset_ms = max(0.0, node.start_offset_ms - data.duration_ms)
        node.children.extend(logs)
        attempt.add(node)  # after the attempt's end: hooks run once the step has ended


def _err(event: Event) -> str | None:
    error = event.error
    return error.to_string() if error is not None else None


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def check_evaluation_node(builder: _Builder, event: Event) -> TraceNode:
    """The node of an ``ASSET_CHECK_EVALUATION``: the check, its outcome and details."""
    evaluation = getattr(event.data, "evaluation", None)
    if evaluation is None:
        return builder.node("check_evaluation", f"{event.event_type.value}", event)
    name = evaluation.asset_check_key.to_user_string()
    status = evaluation.status
    severity = evaluation.severity.value
    label = f"ASSET_CHECK_EVALUATION {name} {status}"
    if not evaluation.passed:
        label += f" ({severity}{', blocking' if evaluation.blocking else ''})"
    target = evaluation.target_materialization_data
    return builder.node(
        "check_evaluation",
        label,
        event,
        check=name,
        asset_key=evaluation.asset_key,
        check_name=evaluation.check_name,
        passed=evaluation.passed,
        status=status,
        severity=severity,
        blocking=bool(evaluation.blocking),
        description=evaluation.description,
        metadata=evaluation.metadata,
        target_run_id=target.run_id if target is not None else None,
        target_storage_id=target.storage_id if target is not None else None,
    )


def _log_node(builder: _Builder, event: Event) -> TraceNode:
    level = logging.getLevelName(event.level)
    return builder.node(
        "log",
        f"log {level}: {_first_line(event.message)}",
        event,
        level=level,
        message=event.message,
    )


def build_trace(events: Iterable[Event], run: Any = None) -> TraceNode:
    """The trace tree of a run from its events (in stored order). ``run``, the run record
    when available, adds the run config and executor to the ``PlanOrchestrationContext``."""
    return _Builder(list(events), run).build()


# -- filtering -----------------------------------------------------------------------------


def _copy(node: TraceNode, children: list[TraceNode]) -> TraceNode:
    return TraceNode(
        node.kind,
        node.label,
        node.start_offset_ms,
        node.duration_ms,
        node.pid,
        node.thread,
        dict(node.attrs),
        children,
    )


def _keep_step(node: TraceNode, step: str) -> TraceNode:
    children = []
    for child in node.children:
        if child.kind == "step":
            key = child.attrs.get("step_key", "")
            handle = parse_step_key(key)[0]  # a mapped step (op[k]) is kept for its op
            if step in (key, handle) or step in (key.rsplit(".", 1)[-1], handle.rsplit(".", 1)[-1]):
                children.append(child)
        elif child.kind == "orchestration":
            children.append(_keep_step(child, step))
    return _copy(node, children)


def _keep_errors(node: TraceNode) -> TraceNode | None:
    if node.is_error:
        return node
    children = [kept for c in node.children if (kept := _keep_errors(c)) is not None]
    if children or node.kind == "run":
        return _copy(node, children)
    return None


def _cut(node: TraceNode, depth: int) -> TraceNode:
    if depth <= 0:
        return _copy(node, [])
    return _copy(node, [_cut(c, depth - 1) for c in node.children])


def _output_label(output_name: str, mapping_key: str | None) -> str:
    """An output as the trace names it: ``result``, or ``result[k]`` for an item of a
    dynamic output."""
    return output_name if mapping_key is None else f"{output_name}[{mapping_key}]"


def filter_trace(
    node: TraceNode, *, step: str | None = None, only_errors: bool = False, depth: int | None = None
) -> TraceNode:
    """A copy of the tree with the filters applied: ``step`` (a step key or op name: only
    that step under the orchestration), ``only_errors`` (failure nodes and their
    ancestors), ``depth`` (at most that many levels below the root)."""
    if step is not None:
        node = _keep_step(node, step)
    if only_errors:
        node = _keep_errors(node) or _copy(node, [])
    if depth is not None:
        node = _cut(node, depth)
    return node


def trace_of_run(instance: Any, run_id: str) -> TraceNode:
    """The trace of a run stored in ``instance`` (raises ``InstanceError`` for an unknown
    id)."""
    from trellis.core.errors import InstanceError

    run = instance.get_run(run_id)
    if run is None:
        raise InstanceError(f"No run with id '{run_id}'.")
    return build_trace(instance.all_logs(run_id), run)
