"""``AssetCheckExecutionContext``: the context an ``@asset_check`` (or
``@multi_asset_check``) function receives. Like the asset context it is a small facade
over the step's ``StepExecutionContext``, made in ``execution/step.py``
(``make_user_context``); ``op_execution_context`` reaches the op-level view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trellis.contexts.compute import OpExecutionContext, current_context
from trellis.core.errors import InvariantViolationError

if TYPE_CHECKING:
    from trellis.contexts.log_manager import LogManager
    from trellis.contexts.resources_view import ResourcesView
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.asset_checks import AssetCheckKey
    from trellis.core.run import Run
    from trellis.defs.asset_check_spec import AssetCheckSpec


def step_check_specs(step_context: StepExecutionContext) -> list[AssetCheckSpec]:
    """The specs of the checks a step evaluates (those selected), in declaration order."""
    step = step_context.step
    owner = step.node.checks_def if step.node.checks_def is not None else step.assets_def
    if owner is None:
        return []
    keys = step.check_keys
    return [spec for key, spec in owner.check_specs_by_key.items() if key in keys]


class AssetCheckExecutionContext:
    """The context a check function receives: ``log``, ``resources``, the run
    (``run``, ``run_id``, ``instance``, ``job_def``), the checks it evaluates
    (``check_specs``, ``selected_asset_check_keys``), partitions of a partitioned run,
    and ``op_execution_context`` for everything op-level (``op_config``, tags, ...)."""

    __slots__ = ("_step_context",)

    def __init__(self, step_context: StepExecutionContext) -> None:
        self._step_context = step_context

    @classmethod
    def get(cls) -> AssetCheckExecutionContext:
        """The context of the check running in this thread or task."""
        current = current_context()
        if not isinstance(current, AssetCheckExecutionContext):
            raise InvariantViolationError(
                "AssetCheckExecutionContext.get() was called outside a running asset check."
            )
        return current

    def __enter__(self) -> AssetCheckExecutionContext:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self._step_context, "close", None)
        if close is not None:
            close()

    def get_step_execution_context(self) -> StepExecutionContext:
        """The system context underneath (for framework authors)."""
        return self._step_context

    @property
    def op_execution_context(self) -> OpExecutionContext:
        """The op-level view of the same step."""
        return OpExecutionContext(self._step_context)

    # -- the checks --------------------------------------------------------------------
    @property
    def check_specs(self) -> list[AssetCheckSpec]:
        """The specs of the checks this step evaluates."""
        return step_check_specs(self._step_context)

    @property
    def selected_asset_check_keys(self) -> set[AssetCheckKey]:
        """The keys of the checks this run evaluates in this step."""
        return set(self._step_context.step.check_keys)

    @property
    def is_subset(self) -> bool:
        """Whether the step evaluates only some of its definition's checks."""
        step = self._step_context.step
        owner = step.node.checks_def
        return owner is not None and len(step.check_keys) < len(owner.check_specs_by_key)

    # -- the run -----------------------------------------------------------------------
    @property
    def log(self) -> LogManager:
        """The logger: each message becomes an event of the run."""
        return self._step_context.log

    @property
    def resources(self) -> ResourcesView:
        """The resources this check declared, as attributes."""
        return self._step_context.resources

    @property
    def run(self) -> Run:
        """The run record."""
        return self._step_context.run

    dagster_run = run

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._step_context.run_id

    @property
    def instance(self) -> Any:
        """The instance the run belongs to."""
        return self._step_context.instance

    @property
    def job_def(self) -> Any:
        """The job definition."""
        return self._step_context.job_def

    @property
    def op_def(self) -> Any:
        """The check's op definition."""
        return self._step_context.op_def

    @property
    def op_config(self) -> Any:
        """The check's config (``ops.<op name>.config``), processed."""
        return self._step_context.op_config

    @property
    def retry_number(self) -> int:
        """0 on the first attempt, 1 on the first retry, ..."""
        return self._step_context.retry_number

    def describe_op(self) -> str:
        """``asset_check 'name'`` for messages."""
        op_def = self._step_context.op_def
        return f"{op_def.kind} '{op_def.name}'"

    # -- partitions --------------------------------------------------------------------
    @property
    def has_partition_key(self) -> bool:
        """Whether the run covers a single partition."""
        return self._step_context.partitions.has_partition_key

    @property
    def has_partition_key_range(self) -> bool:
        """Whether the run covers a partition range."""
        return self._step_context.partitions.has_partition_key_range

    @property
    def partition_key(self) -> str:
        """The run's partition key; raises with a clear message when there is none."""
        return self._step_context.partitions.partition_key

    @property
    def partition_key_range(self) -> Any:
        """The run's partition key range."""
        return self._step_context.partitions.partition_key_range

    @property
    def partition_keys(self) -> list[str]:
        """Every partition key the run covers."""
        return self._step_context.partitions.partition_keys

    @property
    def partition_time_window(self) -> Any:
        """The time window the run covers (time partitions only)."""
        return self._step_context.partitions.partition_time_window

    def __repr__(self) -> str:
        return f"<AssetCheckExecutionContext {self._step_context.step.key}>"
