"""``RunStatusSensorContext`` and ``RunFailureSensorContext``: what a run status sensor's
function receives, once per run that reached the status it watches."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.tick import as_resources_view


class RunStatusSensorContext:
    """Given to a ``@run_status_sensor`` function for one run: the run
    (``dagster_run``), the event that moved it to the watched status
    (``dagster_event``), the instance, the sensor's resources and a logger."""

    def __init__(
        self,
        sensor_name: str,
        dagster_run: Any,
        dagster_event: Any,
        instance: Any,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        logger: logging.Logger | None = None,
        partition_key: str | None = None,
        repository_def: Any = None,
    ) -> None:
        self._sensor_name = sensor_name
        self._run = dagster_run
        self._event = dagster_event
        self._instance = instance
        self._resources = as_resources_view(resources, f"sensor '{sensor_name}'")
        self._log = logger or logging.getLogger(f"trellis.sensor.{sensor_name}")
        self._partition_key = partition_key
        self._repository_def = repository_def

    @property
    def sensor_name(self) -> str:
        """The name of the sensor."""
        return self._sensor_name

    @property
    def dagster_run(self) -> Any:
        """The run that reached the status (a ``Run``)."""
        return self._run

    @property
    def dagster_event(self) -> Any:
        """The run's event for that status (``RUN_SUCCESS``, ``RUN_FAILURE``, ...)."""
        return self._event

    @property
    def instance(self) -> Any:
        """The instance the run is stored in."""
        return self._instance

    @property
    def resources(self) -> ResourcesView:
        """The sensor's resources."""
        return self._resources

    @property
    def log(self) -> logging.Logger:
        """A logger for messages about this evaluation."""
        return self._log

    @property
    def partition_key(self) -> str | None:
        """The partition the run ran, if any."""
        if self._partition_key is not None:
            return self._partition_key
        tags = getattr(self._run, "tags", None) or {}
        return tags.get("trellis/partition")

    @property
    def repository_def(self) -> Any:
        """The code location's definitions, when known."""
        return self._repository_def

    def for_run_failure(self) -> RunFailureSensorContext:
        """The same context as a ``RunFailureSensorContext``."""
        return RunFailureSensorContext(
            self._sensor_name,
            self._run,
            self._event,
            self._instance,
            self._resources,
            self._log,
            self._partition_key,
            self._repository_def,
        )

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._sensor_name} run={getattr(self._run, 'run_id', '?')}>"
        )


class RunFailureSensorContext(RunStatusSensorContext):
    """Given to a ``@run_failure_sensor`` function for one failed run: adds the failure
    event and the failures of its steps."""

    @property
    def failure_event(self) -> Any:
        """The run's ``RUN_FAILURE`` event (its message says why)."""
        return self.dagster_event

    def get_step_failure_events(self) -> list[Any]:
        """The ``STEP_FAILURE`` events of the run, in order."""
        from trellis.core.events import EventType

        return list(self._instance.all_logs(self._run.run_id, of_type=EventType.STEP_FAILURE))
