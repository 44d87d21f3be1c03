"""The errors Trellis raises, as one hierarchy.

::

    TrellisError
    ├── InvalidDefinitionError        a definition is wrong (cycle, missing upstream, bad signature)
    │   └── DuplicateKeyError         two definitions claim the same asset key or name
    ├── InvalidConfigError            run or resource config does not match its schema
    ├── InstanceError                 the instance's home or database cannot be used
    ├── StepWorkerCrashedError        the process running a step died (killed, segfault, OOM)
    ├── InvalidInvocationError        a definition is called the wrong way
    ├── InvariantViolationError       an API is used where it does not apply
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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TrellisError(Exception):
    """Root of every error Trellis raises itself."""


class InvalidDefinitionError(TrellisError):
    """A definition is malformed: the message names the definition and what is wrong."""


class DuplicateKeyError(InvalidDefinitionError):
    """Two definitions claim the same asset key, job name or resource key."""


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


class InvariantViolationError(TrellisError):
    """An API was used where it does not apply (for example ``partition_key`` of an
    unpartitioned run)."""


class UnknownResourceError(TrellisError, AttributeError):
    """A step read a resource key that it did not declare."""


class UserCodeExecutionError(TrellisError):
    """User code raised; ``__cause__`` holds the user's own exception."""

    def __init__(self, message: str, user_exception: BaseException | None = None) -> None:
        super().__init__(message)
        self.user_exception = user_exception


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
    without retrying."""

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})
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
