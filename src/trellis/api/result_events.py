"""The event queries of ``ExecuteInProcessResult`` (Dagster's ``ExecutionResult`` API):
events by node, by type, the run's end event, failures and retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckEvaluation
from trellis.core.errors import InvariantViolationError, TrellisError
from trellis.core.event_payloads import AssetCheckEvaluationData
from trellis.core.events import Event, EventType
from trellis.defs.dynamic_scope import parse_step_key

if TYPE_CHECKING:
    from trellis.defs.job import JobDefinition


def _mapped_in(step_key: str | None, handles: set[str]) -> bool:
    """Whether ``step_key`` is a step (``op[key]``) of a node among ``handles``."""
    return (
        step_key is not None and step_key.endswith("]") and parse_step_key(step_key)[0] in handles
    )


class ResultEvents:
    """Queries over a run's framework events (``all_events``). A node is named by its op
    (or asset op) name or its dotted handle; a graph's name covers the ops inside it."""

    job_def: JobDefinition

    if TYPE_CHECKING:  # provided by ExecuteInProcessResult

        @property
        def all_events(self) -> list[Event]: ...

    def _node_step_keys(self, node_name: str) -> list[str]:
        handles = [node.handle for node in self.job_def.flat_nodes]
        inside = [h for h in handles if h == node_name or h.startswith(node_name + ".")]
        if inside:
            return inside
        by_op = [h for h in handles if h.rsplit(".", 1)[-1] == node_name]
        if len(by_op) == 1:
            return by_op
        handle, keys = parse_step_key(node_name)  # one step of a mapped node: op[key]
        if keys and any(h == handle or h.rsplit(".", 1)[-1] == handle for h in handles):
            return [node_name]
        raise InvariantViolationError(
            f"No single node named '{node_name}' in job '{self.job_def.name}'; nodes: {handles}."
        )

    def filter_events(self, event_filter: Callable[[Event], bool]) -> list[Event]:
        """The run's events for which ``event_filter(event)`` is true, in order."""
        return [event for event in self.all_events if event_filter(event)]

    def events_for_node(self, node_name: str) -> list[Event]:
        """The events of one node: an op, an asset's op, or a graph (every op inside); a
        node mapped over a dynamic output: each of its steps (``op[key]``), or one of them
        by its step key."""
        keys = set(self._node_step_keys(node_name))
        return [e for e in self.all_events if e.step_key in keys or _mapped_in(e.step_key, keys)]

    compute_events_for_handle = events_for_node

    @property
    def all_node_events(self) -> list[Event]:
        """Every event of a step (those of the run itself left out), in order."""
        return [e for e in self.all_events if e.step_key is not None]

    def is_node_success(self, node_name: str) -> bool:
        """Whether a node's step succeeded (every step, for a graph)."""
        return any(e.is_step_success for e in self.events_for_node(node_name))

    def is_node_failed(self, node_name: str) -> bool:
        """Whether a node's step failed."""
        return any(e.is_step_failure for e in self.events_for_node(node_name))

    def is_node_skipped(self, node_name: str) -> bool:
        """Whether a node's step was skipped."""
        return any(e.is_step_skipped for e in self.events_for_node(node_name))

    def is_node_untouched(self, node_name: str) -> bool:
        """Whether the run did nothing with the node (not selected, or never reached)."""
        return not self.events_for_node(node_name)

    def _run_end(self, event_type: EventType) -> Event:
        for event in self.all_events:
            if event.event_type is event_type:
                return event
        raise TrellisError(f"The run has no {event_type.value} event.")

    def get_job_success_event(self) -> Event:
        """The ``RUN_SUCCESS`` event (Dagster's name); ``TrellisError`` (``DagsterError``)
        when the run did not succeed."""
        return self._run_end(EventType.RUN_SUCCESS)

    def get_job_failure_event(self) -> Event:
        """The ``RUN_FAILURE`` event (Dagster's name); ``TrellisError`` (``DagsterError``)
        when the run did not fail."""
        return self._run_end(EventType.RUN_FAILURE)

    get_run_success_event = get_job_success_event  # Trellis' earlier names
    get_run_failure_event = get_job_failure_event

    def get_step_success_events(self) -> list[Event]:
        """``STEP_SUCCESS`` events."""
        return [e for e in self.all_events if e.event_type is EventType.STEP_SUCCESS]

    def get_step_failure_events(self) -> list[Event]:
        """``STEP_FAILURE`` events."""
        return [e for e in self.all_events if e.event_type is EventType.STEP_FAILURE]

    def get_step_skipped_events(self) -> list[Event]:
        """``STEP_SKIPPED`` events."""
        return [e for e in self.all_events if e.event_type is EventType.STEP_SKIPPED]

    def get_failed_step_keys(self) -> set[str]:
        """The keys of the steps that failed, or whose resources failed to initialise."""
        failed = (EventType.STEP_FAILURE, EventType.RESOURCE_INIT_FAILURE)
        return {e.step_key for e in self.all_events if e.event_type in failed and e.step_key}

    def asset_materializations_for_node(self, node_name: str) -> list[Any]:
        """The ``AssetMaterialization``s a node produced."""
        return [
            e.materialization
            for e in self.events_for_node(node_name)
            if e.event_type is EventType.ASSET_MATERIALIZATION
        ]

    def asset_observations_for_node(self, node_name: str) -> list[Any]:
        """The ``AssetObservation``s a node logged."""
        return [
            getattr(e.data, "observation", None)
            for e in self.events_for_node(node_name)
            if e.event_type is EventType.ASSET_OBSERVATION
        ]

    def get_asset_materialization_events(self) -> list[Event]:
        """Every ``ASSET_MATERIALIZATION`` event."""
        return [e for e in self.all_events if e.event_type is EventType.ASSET_MATERIALIZATION]

    def get_asset_observation_events(self) -> list[Event]:
        """Every ``ASSET_OBSERVATION`` event."""
        return [e for e in self.all_events if e.event_type is EventType.ASSET_OBSERVATION]

    def get_asset_materialization_planned_events(self) -> list[Event]:
        """Not recorded by Trellis: it emits no ``ASSET_MATERIALIZATION_PLANNED`` events
        (the run's plan is ``result.run.asset_selection`` and its steps)."""
        raise InvariantViolationError(
            "Trellis records no ASSET_MATERIALIZATION_PLANNED events; the assets a run "
            "planned are its steps' outputs (see result.get_asset_materialization_events())."
        )

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        """The ``AssetCheckEvaluation`` of every asset check the run evaluated, in order
        (from its ``ASSET_CHECK_EVALUATION`` events)."""
        return [
            e.data.evaluation
            for e in self.all_events
            if e.event_type is EventType.ASSET_CHECK_EVALUATION
            and isinstance(e.data, AssetCheckEvaluationData)
            and e.data.evaluation is not None
        ]

    def expectation_results_for_node(self, node_name: str) -> list[Any]:
        """Expectation results (deprecated in Dagster): none are recorded by Trellis."""
        self._node_step_keys(node_name)  # the node must exist
        return []

    def retry_attempts_for_node(self, node_name: str) -> int:
        """How many times the node's step was retried (``STEP_RESTARTED`` events)."""
        return sum(
            1 for e in self.events_for_node(node_name) if e.event_type is EventType.STEP_RESTARTED
        )

    def failure_data_for_node(self, node_name: str) -> Any:
        """The payload of the node's ``STEP_FAILURE`` (``.error``, ``.error_source``,
        ``.metadata``), or None when it did not fail."""
        for event in self.events_for_node(node_name):
            if event.event_type is EventType.STEP_FAILURE:
                return event.data
        return None
