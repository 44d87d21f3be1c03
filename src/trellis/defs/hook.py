"""Hooks: ``@success_hook``, ``@failure_hook`` and ``HookDefinition``.

A hook is a function of a ``HookContext`` that runs after a step ends, in the process that
ran the step: a success hook after ``STEP_SUCCESS``, a failure hook after ``STEP_FAILURE``.
Hooks are attached to a job (``@job(hooks={...})``, ``job.with_hooks``, decorating the job
with the hook), to one use of an op or graph in a graph body (``my_op.with_hooks({...})()``),
to an asset (``@asset(hooks={...})``) or to an asset job (``define_asset_job(hooks=...)``).
What a hook does is recorded as ``HOOK_COMPLETED``, ``HOOK_SKIPPED`` or ``HOOK_ERRORED``; a
hook that raises never changes the step's result (``trellis.execution.hooks``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.core.events import Event

SUCCESS = "success"
FAILURE = "failure"

_CONTEXT_NAMES = frozenset({"context", "_context", "context_", "_"})


class HookExecutionResult(NamedTuple):
    """What a hook function reports: its name, and whether it was skipped (its condition
    was not met, e.g. a success hook of a step that failed)."""

    hook_name: str
    is_skipped: bool = False


class HookDefinition:
    """A hook: ``hook_fn(context, event_list)`` runs after each step it is attached to, with
    the step's ending event in ``event_list``; it returns a ``HookExecutionResult`` (None
    counts as completed). ``required_resource_keys`` are built for the step that runs it.

    ``@success_hook`` and ``@failure_hook`` make one from a function of the context alone
    (``decorated_fn``). Calling the definition with a job, graph or asset returns it with
    this hook attached (``@my_hook`` over ``@job``); calling it with a ``HookContext``
    (``build_hook_context(...)``) runs the decorated function directly, for tests.
    """

    def __init__(
        self,
        *,
        name: str,
        hook_fn: Callable[..., Any],
        required_resource_keys: Iterable[str] | None = None,
        decorated_fn: Callable[..., Any] | None = None,
    ) -> None:
        if not callable(hook_fn):
            raise InvalidDefinitionError(f"Hook '{name}': hook_fn must be callable.")
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidDefinitionError(
                f"Hook name {name!r} is not valid: use letters, digits and underscores."
            )
        if isinstance(required_resource_keys, str):
            raise InvalidDefinitionError(
                f"Hook '{name}': required_resource_keys must be a set of keys, not the "
                f"string {required_resource_keys!r}."
            )
        self.name = name
        self.hook_fn = hook_fn
        self.required_resource_keys = frozenset(required_resource_keys or ())
        self.decorated_fn = decorated_fn
        self.trigger: str | None = None  # SUCCESS or FAILURE for the decorators' hooks
        self.__doc__ = getattr(decorated_fn, "__doc__", None) or type(self).__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Attach this hook to a job, graph or asset given as the only argument; or run the
        decorated function with a ``HookContext`` (see the class docstring)."""
        from trellis.defs.asset import AssetsDefinition
        from trellis.defs.graph import GraphDefinition
        from trellis.defs.job import JobDefinition

        if len(args) == 1 and not kwargs:
            target = args[0]
            if isinstance(target, (JobDefinition, GraphDefinition, AssetsDefinition)):
                return target.with_hooks({self})
        from trellis.api.hooks_and_loggers import invoke_hook

        return invoke_hook(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<HookDefinition {self.name}>"


def _check_context_param(fn: Callable[..., Any], decorator: str) -> None:
    """The hook function must take the context as its first positional parameter."""
    params = list(inspect.signature(fn).parameters.values())
    first = params[0] if params else None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if first is None or first.name not in _CONTEXT_NAMES or first.kind not in kinds:
        name = getattr(fn, "__name__", repr(fn))
        raise InvalidDefinitionError(
            f"{decorator} on '{name}': the function must take the hook's context as its first "
            "positional parameter, named 'context' (or '_')."
        )


def _make_hook(
    fn: Callable[..., Any],
    name: str | None,
    required_resource_keys: Iterable[str] | None,
    trigger: str,
) -> HookDefinition:
    decorator = f"@{trigger}_hook"
    if not callable(fn):
        raise InvalidDefinitionError(f"{decorator} decorates a function, got {fn!r}.")
    _check_context_param(fn, decorator)
    hook_name = name or fn.__name__
    wanted = "is_step_success" if trigger == SUCCESS else "is_step_failure"

    def run_on_trigger(context: Any, event_list: Sequence[Event]) -> HookExecutionResult:
        for event in event_list:
            if getattr(event, wanted, False):
                fn(context)
                return HookExecutionResult(hook_name, is_skipped=False)
        return HookExecutionResult(hook_name, is_skipped=True)

    hook = HookDefinition(
        name=hook_name,
        hook_fn=run_on_trigger,
        required_resource_keys=required_resource_keys,
        decorated_fn=fn,
    )
    hook.trigger = trigger
    return hook


HookFn = Callable[[Any], Any]


@overload
def success_hook(hook_fn: HookFn) -> HookDefinition: ...
@overload
def success_hook(
    hook_fn: None = None,
    *,
    name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Callable[[HookFn], HookDefinition]: ...


def success_hook(
    hook_fn: HookFn | None = None,
    *,
    name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> HookDefinition | Callable[[HookFn], HookDefinition]:
    """A hook that runs after each successful step it is attached to: ``@success_hook`` or
    ``@success_hook(name=..., required_resource_keys={...})`` over ``def h(context)``."""
    if hook_fn is not None:
        return _make_hook(hook_fn, name, required_resource_keys, SUCCESS)
    return lambda fn: _make_hook(fn, name, required_resource_keys, SUCCESS)


@overload
def failure_hook(name: HookFn) -> HookDefinition: ...
@overload
def failure_hook(
    name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Callable[[HookFn], HookDefinition]: ...


def failure_hook(
    name: HookFn | str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> HookDefinition | Callable[[HookFn], HookDefinition]:
    """A hook that runs after each failed step it is attached to (a step that will be
    retried has not failed yet): ``@failure_hook`` or ``@failure_hook(name=...,
    required_resource_keys={...})``; ``context.op_exception`` is what the step raised."""
    if callable(name):
        return _make_hook(name, None, required_resource_keys, FAILURE)
    given = name
    return lambda fn: _make_hook(fn, given, required_resource_keys, FAILURE)


def coerce_hooks(hooks: Any, owner: str) -> frozenset[HookDefinition]:
    """``hooks=`` as a frozenset of ``HookDefinition`` (a set, list or tuple of them);
    anything else is an error naming ``owner``."""
    if hooks is None:
        return frozenset()
    if isinstance(hooks, HookDefinition):
        hooks = [hooks]
    if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Iterable):
        raise InvalidDefinitionError(
            f"{owner}: hooks must be a set of hook definitions (@success_hook, "
            f"@failure_hook), got {hooks!r}."
        )
    found = frozenset(hooks)
    bad = [h for h in found if not isinstance(h, HookDefinition)]
    if bad:
        raise InvalidDefinitionError(
            f"{owner}: hooks must be hook definitions (@success_hook, @failure_hook), got "
            f"{bad[0]!r}."
        )
    return found


def ordered_hooks(*groups: Iterable[HookDefinition]) -> tuple[HookDefinition, ...]:
    """The hooks of ``groups``, each once, in the order they run: by name (sets have no
    order of their own, and every process must run a step's hooks in the same order)."""
    unique = {id(h): h for group in groups for h in group}
    return tuple(sorted(unique.values(), key=lambda h: h.name))
