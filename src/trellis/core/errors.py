"""The errors Trellis raises, as one hierarchy.

::

    TrellisError
    ├── InvalidDefinitionError        a definition is wrong (cycle, missing upstream, bad signature)
    │   ├── DuplicateKeyError         two definitions claim the same asset key or name
    │   ├── InvalidConfigDefinitionError   a config schema itself is malformed
    │   └── InvalidSubsetError        a selection leaves out part of an asset that cannot be split
    ├── InvalidConfigError            run or resource config does not match its schema
    ├── InstanceError                 the instance's home or database cannot be used
    │   └── StorageUnavailableError   a write or read failed for a while: server down, disk full
    ├── StepWorkerCrashedError        the process running a step died (killed, segfault, OOM)
    ├── InvalidInvocationError        a definition is called the wrong way
    │   ├── RunNotFoundError          no run has the given id
    │   ├── ExecutionStepNotFoundError     a step key names no step of the job
    │   └── UnmetExecutorRequirementsError the executor cannot run this job as set up
    ├── InvariantViolationError       an API is used where it does not apply
    │   ├── UnknownPartitionError     a partition key the partitions definition does not have
    │   └── StepOutputNotFoundError   an output that the run did not produce
    ├── UnknownResourceError          a step reads an undeclared resource
    ├── TypeCheckError                a value does not match its declared type
    └── UserCodeExecutionError        user code raised; ``__cause__`` is the user's exception
        ├── ExecutionStepExecutionError   in an op or asset body
        ├── ExecutionLoadInputError       in ``IOManager.load_input``
        ├── ExecutionHandleOutputError    in ``IOManager.handle_output``
        ├── ResourceFunctionError         while a resource was initialised
        ├── ScheduleExecutionError        in a schedule's evaluation (or run_config) function
        └── SensorExecutionError          in a sensor's evaluation function

``Failure`` and ``RetryRequested`` are raised *by user code* to steer the engine; they
are plain exceptions, outside the tree. ``StepTerminated`` is raised *into* a step whose
run was canceled; a ``BaseException``, like ``KeyboardInterrupt``.

Dagster's names for these classes (``DagsterError``, ``DagsterInvalidDefinitionError``,
``DagsterTypeCheckDidNotPass``, ...) are the same classes under another name, exported by
``trellis/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.core.metadata import normalize_metadata


class TrellisError(Exception):
    """Root of every error Trellis raises itself."""


class InvalidDefinitionError(TrellisError):
    """A definition is malformed: the message names the definition and what is wrong."""


class DuplicateKeyError(InvalidDefinitionError):
    """Two definitions claim the same asset key, job name or resource key."""


class InvalidConfigDefinitionError(InvalidDefinitionError):
    """A config schema is malformed (``config_schema={"x": 3}``): the message names the
    definition and the bad part."""


class InvalidSubsetError(InvalidDefinitionError):
    """A selection leaves out part of a multi-asset that cannot be subset, or names steps
    that cannot be selected together."""


class InvalidConfigError(TrellisError):
    """Config does not match its schema; ``errors`` lists every problem, each with its path."""

    def __init__(self, header: str, errors: list[Any], config_value: Any = None) -> None:
        self.header = header
        self.errors = list(errors)
        self.config_value = config_value
        count = len(self.errors)
        lines = [f"{header}: {count} error{'' if count == 1 else 's'}"]
        for i, err in enumerate(self.errors, 1):
            lines.append(f"    Error {i}: {getattr(err, 'message', err)}")
        super().__init__("\n".join(lines))


class InvalidInvocationError(TrellisError):
    """A definition was called with arguments it does not accept."""


class RunNotFoundError(InvalidInvocationError):
    """No run with the given id exists in the instance (re-executing an unknown run)."""


class ExecutionStepNotFoundError(InvalidInvocationError):
    """A step key given to select or re-execute steps names no step of the job."""


class UnmetExecutorRequirementsError(InvalidInvocationError):
    """The executor cannot run the job as set up: steps in other processes need outputs
    stored where every process can read them, and a job loadable by reference."""


class InvariantViolationError(TrellisError):
    """An API was used where it does not apply (for example ``partition_key`` of an
    unpartitioned run)."""


class UnknownPartitionError(InvariantViolationError):
    """A partition key that the partitions definition does not have."""


class StepOutputNotFoundError(InvariantViolationError):
    """An output was asked of a run's result that the run did not produce."""


class UnknownResourceError(TrellisError, AttributeError):
    """A step read a resource key that it did not declare."""


class UserCodeExecutionError(TrellisError):
    """User code raised; ``__cause__`` holds the user's own exception."""

    def __init__(self, message: str, user_exception: BaseException | None = None) -> None:
        super().__init__(message)
        self.user_exception = user_exception


class ConfigMappingFunctionError(UserCodeExecutionError):
    """The function of a config mapping raised, or returned something other than run
    config (Dagster's ``DagsterConfigMappingFunctionError``)."""


class ExecutionStepExecutionError(UserCodeExecutionError):
    """The body of an op or asset raised."""


class ExecutionLoadInputError(UserCodeExecutionError):
    """``load_input`` of an IO manager raised."""


class ExecutionHandleOutputError(UserCodeExecutionError):
    """``handle_output`` of an IO manager raised."""


class ResourceFunctionError(UserCodeExecutionError):
    """A resource raised while it was being initialised."""


class ScheduleExecutionError(UserCodeExecutionError):
    """A schedule's evaluation function (or ``run_config_fn`` / ``should_execute``) raised."""


class SensorExecutionError(UserCodeExecutionError):
    """A sensor's evaluation function raised."""


class Failure(Exception):
    """Raise from an op or asset to fail the step with a description and metadata,
    without retrying. ``metadata`` values become ``MetadataValue``s, as on outputs."""

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata: dict[str, Any] = normalize_metadata(metadata)
        self.allow_retries = allow_retries


class RetryRequested(Exception):
    """Raise from an op or asset to ask the engine to run the step again.

    ``max_retries`` bounds the attempts; ``seconds_to_wait`` delays the next one.
    """

    def __init__(self, max_retries: int = 1, seconds_to_wait: float = 0) -> None:
        super().__init__(f"Retry requested (max_retries={max_retries})")
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait


class TypeCheckError(TrellisError):
    """A value passed between steps does not match its declared type."""


class InstanceError(TrellisError):
    """The instance cannot be used: its home directory is not writable, its database is
    corrupt, foreign, at an unknown schema revision, or unreachable. The message names the
    file or server and what to do."""


class StorageUnavailableError(InstanceError):
    """The instance's storage could not be used when a run needed it: the database server
    stayed unreachable past the retry bound (``retry_timeout``), or the disk holding the
    database is full. The run cannot be recorded; the CLI ends it with exit code 1."""


class StepWorkerCrashedError(TrellisError):
    """The worker process running a step died before the step ended (killed, segfault,
    out of memory); the step fails as crashed, with its own retry budget."""


class StepTerminated(BaseException):
    """Raised in the thread running a step whose run was canceled (``trellis run cancel``,
    SIGTERM), at the step's next Python instruction. A ``BaseException``, like
    ``KeyboardInterrupt``: ``except Exception`` in user code does not swallow it."""


class RunTerminated(SystemExit):
    """Raised to the caller of a run that SIGTERM canceled, once the run has ended
    (resources torn down, the run CANCELED): the process was asked to terminate. Uncaught,
    it ends the process with status 128 + the signal's number (143 for SIGTERM)."""

    def __init__(self, run_id: str, signum: int) -> None:
        super().__init__(128 + signum)
        self.run_id = run_id
        self.signum = signum


USER_CODE_ERRORS: tuple[type[BaseException], ...] = (Exception, SystemExit)
"""What user code may raise that fails the step (or resource) it ran in, like any error:
``sys.exit()`` inside an op is a failure of that op, not an exit of the orchestrator.
``KeyboardInterrupt`` is not among them: it cancels the run."""
