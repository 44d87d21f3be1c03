"""``HookContext``: what a hook function receives after a step ends.

In a run, ``HookContext.for_step`` makes one per hook per step attempt
(``trellis.execution.hooks``), in the process that ran the step: the step's node, key,
config, logger and outputs, what it raised, and the resources the hook declared (built for
the step, in that process). ``build_hook_context(...)`` (``trellis.api.hooks_and_loggers``)
makes one for tests, with only what it is given; reading anything else says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.contexts.compute import NodeInfo
from trellis.contexts.resources_view import ResourcesView
from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError

if TYPE_CHECKING:
    from trellis.contexts.log_manager import LogManager
    from trellis.contexts.system import StepExecutionContext
    from trellis.defs.hook import HookDefinition

_UNSET: Any = object()


class HookContext:
    """The context of one hook run: ``op`` (the node: ``op.name``), ``step_key``,
    ``run_id``, ``job_name``, ``resources`` (those the hook declared in
    ``required_resource_keys``), ``op_exception`` (what a failed step raised, else None),
    ``op_output_values`` and ``op_output_metadata`` (by output name), ``op_config``,
    ``log`` (lines tagged with the step), ``instance`` and ``hook_def``."""

    __slots__ = (
        "__weakref__",
        "_close",
        "_hook_def",
        "_instance",
        "_job_name",
        "_log",
        "_op",
        "_op_config",
        "_op_exception",
        "_output_metadata",
        "_output_values",
        "_resources",
        "_run_id",
        "_step_key",
    )

    def __init__(
        self,
        *,
        hook_def: HookDefinition | None,
        resources: ResourcesView,
        log: LogManager,
        op: NodeInfo | None = _UNSET,
        step_key: str | None = _UNSET,
        run_id: str | None = _UNSET,
        job_name: str | None = _UNSET,
        instance: Any = _UNSET,
        op_exception: BaseException | None = None,
        op_config: Any = _UNSET,
        op_output_values: Mapping[str, Any] | None = _UNSET,
        op_output_metadata: Mapping[str, Any] | None = _UNSET,
        close: Callable[[], None] | None = None,
    ) -> None:
        self._hook_def = hook_def
        self._resources = resources
        self._log = log
        self._op = op
        self._step_key = step_key
        self._run_id = run_id
        self._job_name = job_name
        self._instance = instance
        self._op_exception = op_exception
        self._op_config = op_config
        self._output_values = op_output_values
        self._output_metadata = op_output_metadata
        self._close = close

    @classmethod
    def for_step(
        cls,
        step_context: StepExecutionContext,
        hook_def: HookDefinition,
        op_exception: BaseException | None,
    ) -> HookContext:
        """The context of ``hook_def`` after an attempt of ``step_context``'s step."""
        step = step_context.step
        plan_context = step_context.plan_context
        run = plan_context.run
        resources = plan_context.resources
        keys = hook_def.required_resource_keys
        values = {k: resources[k] for k in keys if k in resources}
        captured = step_context.output_capture or {}
        return cls(
            hook_def=hook_def,
            resources=ResourcesView(values, owner=f"hook '{hook_def.name}'"),
            log=step_context.log,
            op=NodeInfo(step.handle.rsplit(".", 1)[-1], step.handle, step.tags),
            step_key=step.key,
            run_id=run.run_id,
            job_name=run.job_name,
            instance=plan_context.instance,
            op_exception=op_exception,
            op_config=step_context.op_config,
            op_output_values={name: value for name, (value, _) in captured.items()},
            op_output_metadata={name: meta for name, (_, meta) in captured.items()},
        )

    def _given(self, value: Any, name: str, parameter: str | None = None) -> Any:
        if value is _UNSET or (parameter is not None and value is None):
            how = (
                f"pass {parameter}= to build_hook_context"
                if parameter
                else "it is only set in a run"
            )
            raise InvalidInvocationError(
                f"HookContext.{name} is not set on a context built by build_hook_context ({how})."
            )
        return value

    # -- identity ----------------------------------------------------------------------
    @property
    def hook_def(self) -> HookDefinition:
        """The hook this context belongs to."""
        if self._hook_def is None:
            raise InvalidInvocationError(
                "HookContext.hook_def is set once the context is passed to a hook (my_hook(ctx))."
            )
        return self._hook_def

    @property
    def required_resource_keys(self) -> frozenset[str]:
        """The resource keys the hook declared."""
        return self.hook_def.required_resource_keys

    @property
    def op(self) -> NodeInfo:
        """The node whose step ended (``op.name``, ``op.handle``, ``op.tags``)."""
        value: NodeInfo = self._given(self._op, "op", "op")
        return value

    @property
    def step_key(self) -> str:
        """The key of the step that ended."""
        value: str = self._given(self._step_key, "step_key")
        return value

    @property
    def run_id(self) -> str:
        """The run's id."""
        value: str = self._given(self._run_id, "run_id", "run_id")
        return value

    @property
    def job_name(self) -> str:
        """The job's name."""
        value: str = self._given(self._job_name, "job_name", "job_name")
        return value

    @property
    def instance(self) -> Any:
        """The instance the run is recorded in."""
        return self._given(self._instance, "instance", "instance")

    # -- what the step did -------------------------------------------------------------
    @property
    def op_exception(self) -> BaseException | None:
        """What the failed step raised (the user's own exception); None after a success."""
        return self._op_exception

    @property
    def op_output_values(self) -> Mapping[str, Any]:
        """The values the step produced, by output name."""
        value: Mapping[str, Any] = self._given(self._output_values, "op_output_values")
        return value

    @property
    def op_output_metadata(self) -> Mapping[str, Any]:
        """The metadata of each output the step produced, by output name."""
        value: Mapping[str, Any] = self._given(self._output_metadata, "op_output_metadata")
        return value

    @property
    def op_config(self) -> Any:
        """The step's op config (``ops.<name>.config``), processed."""
        return self._given(self._op_config, "op_config")

    # -- services ----------------------------------------------------------------------
    @property
    def resources(self) -> ResourcesView:
        """The resources the hook declared in ``required_resource_keys``."""
        return self._resources

    @property
    def log(self) -> LogManager:
        """The step's logger: lines are events of the run, tagged with the step."""
        return self._log

    # -- tests ---------------------------------------------------------------------------
    def bind(self, hook_def: HookDefinition) -> HookContext:
        """This context for ``hook_def`` (a direct call ``my_hook(context)``): raises when
        a resource the hook declared was not given."""
        missing = sorted(k for k in hook_def.required_resource_keys if k not in self._resources)
        if missing:
            raise InvalidDefinitionError(
                f"Hook '{hook_def.name}' requires resource '{missing[0]}', which was not "
                f"given: pass it in build_hook_context(resources={{'{missing[0]}': ...}})."
            )
        bound = HookContext.__new__(HookContext)
        for name in HookContext.__slots__[1:]:
            object.__setattr__(bound, name, getattr(self, name))
        bound._hook_def = hook_def
        bound._close = None  # resources stay owned by this context
        return bound

    def close(self) -> None:
        """Tear down the resources a test context built (``with`` does it too)."""
        close, self._close = self._close, None
        if close is not None:
            close()

    def __enter__(self) -> HookContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        hook = self._hook_def.name if self._hook_def is not None else "unbound"
        step = self._step_key if self._step_key is not _UNSET else "-"
        return f"<HookContext {hook} {step}>"
