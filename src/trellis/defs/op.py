"""``@op`` and ``OpDefinition``: a unit of computation with inputs, outputs and config."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from trellis.config.detect import is_config_class
from trellis.core.deprecation import warn_deprecated
from trellis.core.errors import InvalidConfigDefinitionError, InvalidDefinitionError
from trellis.core.outputs import MaterializeResult, Output
from trellis.defs.composition import current_composition, record_invocation
from trellis.defs.ins_outs import NO_VALUE, In, Nothing, Out
from trellis.defs.node import NodeDefinition
from trellis.defs.retry import RetryPolicy
from trellis.defs.signature import FunctionSpec, analyse_function, type_from_annotation

if TYPE_CHECKING:
    from trellis.config.pythonic import Config
    from trellis.defs.configured import ConfiguredConfig


def _is_result_wrapper(annotation: Any) -> bool:
    """Whether a return annotation names what the function returns (a
    ``MaterializeResult``, a bare ``Output``) rather than the type of its output's value."""
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1] in ("MaterializeResult", "Output")
    return annotation is MaterializeResult or annotation is Output


def normalize_op_config_schema(config_schema: Any, owner: str) -> tuple[Any, type[Config] | None]:
    """``(Field or None, Config class or None)`` for an op's ``config_schema`` argument."""
    if config_schema is None:
        return None, None
    if is_config_class(config_schema):
        return config_schema.to_config_schema(), config_schema
    from trellis.config.types import normalize_config_schema

    try:
        return normalize_config_schema(config_schema), None
    except InvalidDefinitionError as exc:
        raise InvalidConfigDefinitionError(f"Bad config_schema on {owner}: {exc}") from None


# Dagster's op tag naming a concurrency pool, from before ``pool=`` existed; honoured.
CONCURRENCY_KEY_TAG = "dagster/concurrency_key"


def resolve_pool(pool: str | None, tags: Mapping[str, Any] | None, owner: str) -> str | None:
    """The concurrency pool of an op: ``pool=``, else its ``dagster/concurrency_key`` tag;
    both, naming different pools, is an error."""
    tagged = (tags or {}).get(CONCURRENCY_KEY_TAG)
    for value, where in ((pool, "pool="), (tagged, f"the tag '{CONCURRENCY_KEY_TAG}'")):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidDefinitionError(
                f"{owner}: {where} must name a concurrency pool (a non-empty string), "
                f"got {value!r}."
            )
    if pool is not None and tagged is not None and pool != tagged:
        raise InvalidDefinitionError(
            f"{owner} sets pool='{pool}' and the tag '{CONCURRENCY_KEY_TAG}': '{tagged}'; "
            "they name the same thing, pass one (pool= is the current name)."
        )
    return pool if pool is not None else tagged


class OpDefinition(NodeDefinition):
    """An op: a function the engine calls with a context, its inputs, config and
    resources, and whose return value becomes its outputs.

    Build one with ``@op``. Inside a ``@graph`` body, calling it wires it into the graph;
    outside, calling it runs the function directly (for tests).
    """

    def __init__(
        self,
        compute_fn: Callable[..., Any],
        name: str | None = None,
        ins: Mapping[str, In] | None = None,
        outs: Mapping[str, Out] | Out | None = None,
        config_schema: Any = None,
        required_resource_keys: Sequence[str] | set[str] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        retry_policy: RetryPolicy | None = None,
        code_version: str | None = None,
        *,
        kind: str = "op",
        pool: str | None = None,
    ) -> None:
        self.compute_fn = compute_fn
        self.name = name or compute_fn.__name__
        self.kind = kind
        owner = f"{kind} '{self.name}'"
        self.description = description if description is not None else inspect.getdoc(compute_fn)
        self.tags = dict(tags or {})
        # The concurrency pool its steps take a slot of (across the runs of an instance).
        self.pool = resolve_pool(pool, self.tags, owner)
        self.retry_policy = retry_policy
        self.code_version = code_version
        self.required_resource_keys = frozenset(required_resource_keys or ())
        spec = analyse_function(compute_fn, owner)
        # An op annotated AssetExecutionContext is valid inside a graph-backed asset (or
        # AssetsDefinition.from_op); the plan refuses it anywhere else.
        self.spec: FunctionSpec = spec
        self.ins = self._build_ins(spec, dict(ins or {}), owner)
        self.outs = self._build_outs(spec, outs)
        self.has_dynamic_outputs = any(o.is_dynamic for o in self.outs.values())
        self.asks_for_asset_context = spec.context_annotation == "AssetExecutionContext"
        schema, config_class = normalize_op_config_schema(config_schema, owner)
        if spec.config_class is not None:
            if schema is not None and config_class is not spec.config_class:
                raise InvalidDefinitionError(
                    f"{owner} takes a Config parameter '{spec.config_param}' and also has a "
                    "config_schema; use one or the other."
                )
            schema, config_class = spec.config_class.to_config_schema(), spec.config_class
        self.config_schema = schema
        self.config_class = config_class
        # Set on a ``configured`` copy: how its run config becomes this op's config.
        self.configured_config: ConfiguredConfig | None = None
        # Every resource key the body can read: declared keys plus typed parameters.
        self.resource_keys = self.required_resource_keys | frozenset(spec.resource_params)

    # -- construction helpers ----------------------------------------------------------
    def _build_ins(self, spec: FunctionSpec, ins: dict[str, In], owner: str) -> dict[str, In]:
        params = spec.input_params
        unknown = [
            n
            for n in ins
            if n not in params and ins[n].dagster_type is not Nothing and not spec.accepts_kwargs
        ]
        if unknown:
            raise InvalidDefinitionError(
                f"{owner} declares ins {unknown} that are not parameters of its function "
                f"{self.compute_fn.__name__}{inspect.signature(self.compute_fn)}."
            )
        built: dict[str, In] = {}
        for pname, param in params.items():
            declared = ins.get(pname)
            if declared is None:
                declared = In(
                    dagster_type=type_from_annotation(param.annotation),
                    default_value=(
                        param.default if param.default is not inspect.Parameter.empty else NO_VALUE
                    ),
                )
            else:
                if declared.dagster_type is None:
                    declared.dagster_type = type_from_annotation(param.annotation)
                if not declared.has_default and param.default is not inspect.Parameter.empty:
                    declared.default_value = param.default
            built[pname] = declared
        for name, declared in ins.items():  # Nothing inputs, and inputs given in **kwargs
            if name not in built:
                built[name] = declared
        return built

    def _build_outs(
        self, spec: FunctionSpec, outs: Mapping[str, Out] | Out | None
    ) -> dict[str, Out]:
        if outs is None:
            outs = {"result": Out()}
        elif isinstance(outs, Out):
            outs = {"result": outs}
        outs = dict(outs)
        if len(outs) == 1:
            (out,) = outs.values()
            if out.dagster_type is None and not spec.is_generator and not out.is_dynamic:
                annotation = spec.return_annotation
                if annotation is None or annotation is type(None):
                    out.dagster_type = Nothing
                elif not _is_result_wrapper(annotation):  # "-> MaterializeResult": any value
                    out.dagster_type = type_from_annotation(annotation)
        return outs

    # -- NodeDefinition ----------------------------------------------------------------
    @property
    def input_names(self) -> tuple[str, ...]:
        """The names of the inputs, in declaration order."""
        return tuple(self.ins)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of the outputs, in declaration order."""
        return tuple(self.outs)

    def is_dynamic_output(self, output_name: str) -> bool:
        """Whether output ``output_name`` is a ``DynamicOut``."""
        out = self.outs.get(output_name)
        return out is not None and out.is_dynamic

    @property
    def output_defs(self) -> list[Out]:
        """The ``Out`` of each output, in order."""
        return list(self.outs.values())

    def configured(
        self,
        config_or_config_fn: Any,
        name: str | None = None,
        config_schema: Any = None,
        description: str | None = None,
    ) -> OpDefinition:
        """A copy named ``name`` whose config is fixed to ``config_or_config_fn``, or, given
        a function, computed by it from the copy's own config (``config_schema``, which the
        run config fills): ``fn(config) -> config of this op``."""
        from trellis.defs.configured import ConfiguredConfig

        if not isinstance(name, str) or not name:
            raise InvalidDefinitionError(
                f"op '{self.name}'.configured(...) needs a name= for the new op (a job cannot "
                "hold two ops of one name)."
            )
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.name = name
        copy.configured_config, copy.config_schema = ConfiguredConfig.of(
            f"op '{name}'", self.config_schema, config_or_config_fn, config_schema
        )
        if description is not None:
            copy.description = description
        return copy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_composition() is not None:
            return record_invocation(self, args, kwargs)
        # Direct invocation (tests): run the function with a context built for it.
        from trellis.api.invocation import invoke_directly

        return invoke_directly(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<OpDefinition {self.name}>"


@overload
def op(fn: Callable[..., Any]) -> OpDefinition: ...
@overload
def op(
    fn: None = None,
    *,
    name: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    version: str | None = None,
    pool: str | None = None,
) -> Callable[[Callable[..., Any]], OpDefinition]: ...


def op(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    version: str | None = None,
    pool: str | None = None,
) -> OpDefinition | Callable[[Callable[..., Any]], OpDefinition]:
    """Turn a function into an op: ``@op`` or ``@op(name=..., ins=..., out=..., ...)``.

    The first parameter, if named ``context`` (or annotated with a context type), receives
    the ``OpExecutionContext``; a parameter typed with a ``Config`` class receives config;
    parameters typed with a ``ConfigurableResource`` receive that resource; the rest are
    inputs. ``version=`` (deprecated in Dagster) is taken as ``code_version=`` with a
    ``DeprecationWarning``. ``pool=`` names the concurrency pool whose limit its steps
    share with every run of the instance (``trellis instance concurrency set``).
    """
    if version is not None:
        warn_deprecated("@op(version=...)", "code_version=...")
        if code_version is not None and code_version != version:
            raise InvalidDefinitionError("@op: pass code_version or version, not both.")
        code_version = version

    def decorate(f: Callable[..., Any]) -> OpDefinition:
        return OpDefinition(
            f,
            name=name,
            ins=ins,
            outs=out,
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            tags=tags,
            description=description,
            retry_policy=retry_policy,
            code_version=code_version,
            pool=pool,
        )

    if fn is not None:
        return decorate(fn)
    return decorate
