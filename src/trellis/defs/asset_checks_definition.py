"""``@asset_check``, ``@multi_asset_check`` and ``AssetChecksDefinition``: asset checks
that run as steps of their own, after the assets they check.

A check's function receives an ``AssetCheckExecutionContext`` (when its first parameter
is the context), the checked asset's value when it has a parameter for it (loaded through
the asset's IO manager), ``additional_ins``, config and resources, and returns or yields
``AssetCheckResult``s. Its op is named ``<asset>_<check name>`` (``@multi_asset_check``:
the function's name), as in Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError, InvalidSubsetError
from trellis.defs.asset_check_spec import AssetCheckSpec, coerce_target_key, refuse_unsupported
from trellis.defs.ins_outs import AssetIn, In
from trellis.defs.op import OpDefinition
from trellis.defs.retry import RetryPolicy
from trellis.defs.signature import analyse_function

CHECK_KIND = "asset_check"
"""``OpDefinition.kind`` of a check's op (and so of its step)."""


class AssetChecksDefinition:
    """One or more asset checks and the op that evaluates them.

    ``check_specs_by_key`` describes each check; ``keys_by_input_name`` maps each op
    input to the asset it reads; ``selected_check_keys`` are the checks a run evaluates
    (all of them unless a selection picked some); ``resource_defs`` are resources bound
    to it (``resource_defs=`` or ``with_resources``)."""

    # Checks take no hooks (Dagster's @asset_check has none); the resource checks of
    # Definitions read this alike for assets and checks.
    hook_defs: tuple[Any, ...] = ()

    def __init__(
        self,
        op: OpDefinition,
        check_specs_by_key: Mapping[AssetCheckKey, AssetCheckSpec],
        keys_by_input_name: Mapping[str, AssetKey],
        *,
        can_subset: bool = False,
        selected_check_keys: Iterable[AssetCheckKey] | None = None,
        resource_defs: Mapping[str, Any] | None = None,
    ) -> None:
        self.op = op
        self.node_name = op.name
        self.check_specs_by_key = dict(check_specs_by_key)
        self.keys_by_input_name = dict(keys_by_input_name)
        self.can_subset = can_subset
        self.selected_check_keys: frozenset[AssetCheckKey] = (
            frozenset(selected_check_keys)
            if selected_check_keys is not None
            else frozenset(self.check_specs_by_key)
        )
        self.resource_defs: dict[str, Any] = dict(resource_defs or {})

    # -- identity ----------------------------------------------------------------------
    @property
    def node_def(self) -> OpDefinition:
        """The op that evaluates these checks (as ``AssetsDefinition.node_def``)."""
        return self.op

    @property
    def op_defs(self) -> list[OpDefinition]:
        """The ops that run to evaluate these checks: the one op."""
        return [self.op]

    @property
    def check_specs(self) -> list[AssetCheckSpec]:
        """The specs of the checks this definition evaluates (those selected)."""
        return [s for k, s in self.check_specs_by_key.items() if k in self.selected_check_keys]

    @property
    def check_keys(self) -> set[AssetCheckKey]:
        """The keys of the checks this definition evaluates (those selected)."""
        return set(self.selected_check_keys)

    @property
    def check_key(self) -> AssetCheckKey:
        """The key of a definition of one check."""
        if len(self.check_specs_by_key) != 1:
            raise InvalidDefinitionError(
                f"'{self.node_name}' evaluates {len(self.check_specs_by_key)} checks; use "
                ".check_keys instead of .check_key."
            )
        return next(iter(self.check_specs_by_key))

    @property
    def asset_keys(self) -> set[AssetKey]:
        """The assets its checks are for."""
        return {k.asset_key for k in self.check_specs_by_key}

    @property
    def dependency_keys(self) -> set[AssetKey]:
        """Every asset it runs after: the checked assets, the inputs, additional deps."""
        keys = set(self.keys_by_input_name.values()) | self.asset_keys
        for spec in self.check_specs_by_key.values():
            keys.update(spec.additional_deps)
        return keys

    def get_spec_for_check_key(self, key: AssetCheckKey) -> AssetCheckSpec:
        """The spec of one of its checks."""
        return self.check_specs_by_key[key]

    # -- copies ------------------------------------------------------------------------
    def subset_for_checks(self, keys: Iterable[AssetCheckKey]) -> AssetChecksDefinition:
        """This definition restricted to ``keys`` (a ``@multi_asset_check`` with
        ``can_subset=True``; another must run all of its checks)."""
        keys = frozenset(keys) & frozenset(self.check_specs_by_key)
        if keys == self.selected_check_keys:
            return self
        if not self.can_subset and keys != frozenset(self.check_specs_by_key):
            left_out = sorted(k.to_user_string() for k in frozenset(self.check_specs_by_key) - keys)
            raise InvalidSubsetError(
                f"Asset checks '{self.node_name}' cannot be subset (can_subset=False), but the "
                f"selection leaves out {left_out}. Select all of its checks."
            )
        return self._copy(selected_check_keys=keys)

    def with_attributes(
        self,
        *,
        asset_key_replacements: Mapping[AssetKey, AssetKey] | None = None,
        resource_defs: Mapping[str, Any] | None = None,
    ) -> AssetChecksDefinition:
        """A copy whose asset keys are renamed (the checked assets, the inputs, additional
        deps: what ``load_asset_checks_from_modules(asset_key_prefix=...)`` does) or with
        ``resource_defs`` bound."""
        replacements = dict(asset_key_replacements or {})
        specs = [
            s.with_asset_key_replacements(replacements) for s in self.check_specs_by_key.values()
        ]
        renamed = dict(zip(self.check_specs_by_key, (s.key for s in specs), strict=True))
        op_def = self.op
        if replacements:
            op_def = _renamed_op(self.op, replacements, self.check_specs_by_key, specs)
        return self._copy(
            op=op_def,
            check_specs_by_key={s.key: s for s in specs},
            keys_by_input_name={
                n: replacements.get(k, k) for n, k in self.keys_by_input_name.items()
            },
            selected_check_keys=[renamed[k] for k in self.selected_check_keys],
            resource_defs=self.resource_defs if resource_defs is None else resource_defs,
        )

    def _copy(self, **changes: Any) -> AssetChecksDefinition:
        values: dict[str, Any] = {
            "op": self.op,
            "check_specs_by_key": self.check_specs_by_key,
            "keys_by_input_name": self.keys_by_input_name,
            "can_subset": self.can_subset,
            "selected_check_keys": self.selected_check_keys,
            "resource_defs": self.resource_defs,
        }
        values.update(changes)
        return AssetChecksDefinition(**values)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the check function directly (for tests): the asset's value and other inputs
        are passed as arguments; returns what the function returns."""
        from trellis.api.invocation import invoke_directly

        return invoke_directly(self.op, args, kwargs, checks_def=self)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.check_specs_by_key)
        return f"<AssetChecksDefinition {keys}>"


def _renamed_op(
    op_def: OpDefinition,
    replacements: Mapping[AssetKey, AssetKey],
    old_specs: Mapping[AssetCheckKey, AssetCheckSpec],
    new_specs: Sequence[AssetCheckSpec],
) -> OpDefinition:
    """A copy of a check's op whose inputs read the renamed assets (and, for an
    ``@asset_check``, named after its renamed asset)."""
    import copy

    renamed = copy.copy(op_def)
    renamed.ins = {}
    for name, in_def in op_def.ins.items():
        in_copy = copy.copy(in_def)
        if in_def.asset_key is not None:
            in_copy.asset_key = replacements.get(in_def.asset_key, in_def.asset_key)
        renamed.ins[name] = in_copy
    if len(new_specs) == 1:
        (old,) = old_specs.values()
        if op_def.name == old.get_python_identifier():
            renamed.name = new_specs[0].get_python_identifier()
    return renamed


def _asset_in(key: AssetKey, asset_in: AssetIn | None) -> In:
    asset_in = asset_in or AssetIn()
    return In(
        dagster_type=asset_in.dagster_type,
        metadata=asset_in.metadata,
        input_manager_key=asset_in.input_manager_key,
        asset_key=key,
    )


def _key_of_asset_in(name: str, asset_in: AssetIn) -> AssetKey:
    if asset_in.key is not None:
        return asset_in.key
    return AssetKey([*(asset_in.key_prefix or []), name])


def _check_tags(op_tags: Mapping[str, Any] | None, compute_kind: str | None) -> dict[str, Any]:
    tags = dict(op_tags or {})
    if compute_kind:
        tags.setdefault("trellis/compute_kind", compute_kind)
    return tags


def asset_check(
    *,
    asset: Any,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    additional_deps: Iterable[Any] | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config_schema: Any = None,
    compute_kind: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    metadata: Mapping[str, Any] | None = None,
    automation_condition: Any = None,
    partitions_def: Any = None,
    pool: str | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Define a check of ``asset`` from the function that evaluates it:
    ``@asset_check(asset=orders)`` over ``def orders_has_rows(orders): return
    AssetCheckResult(passed=len(orders) > 0)``.

    A parameter that is not the context, config, a resource nor in ``additional_ins``
    receives the asset's value (whatever its name); without one the check only runs after
    the asset. ``blocking=True``: when it fails (severity ``ERROR``) the assets
    downstream of ``asset`` are skipped. The check is named after the function unless
    ``name`` is given. ``pool=`` names the concurrency pool its step takes a slot of."""

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name = name or fn.__name__
        owner = f"@asset_check '{check_name}'"
        refuse_unsupported(owner, automation_condition, partitions_def)
        spec = AssetCheckSpec(
            check_name,
            asset=coerce_target_key(asset, owner),
            description=description,
            additional_deps=additional_deps,
            blocking=blocking,
            metadata=metadata,
        )
        target = spec.asset_key
        extra = dict(additional_ins or {})
        params = list(analyse_function(fn, owner).input_params)
        unknown = [n for n in extra if n not in params]
        if unknown:
            raise InvalidDefinitionError(
                f"{owner}: additional_ins names {unknown}, which are not parameters of "
                f"{fn.__name__}."
            )
        ins: dict[str, In] = {}
        keys_by_input: dict[str, AssetKey] = {}
        for input_name, asset_in in extra.items():
            key = _key_of_asset_in(input_name, asset_in)
            if key == target:
                raise InvalidDefinitionError(
                    f"{owner}: asset '{target.to_user_string()}' is the asset checked and "
                    f"also in additional_ins ('{input_name}'); pass it once, as asset=."
                )
            ins[input_name] = _asset_in(key, asset_in)
            keys_by_input[input_name] = key
        rest = [p for p in params if p not in extra]
        if len(rest) > 1:
            raise InvalidDefinitionError(
                f"{owner}: parameters {rest} would all read asset '{target.to_user_string()}'; "
                "one parameter receives the checked asset, the others must be in "
                "additional_ins (or be the context, config or resources)."
            )
        if rest:
            ins[rest[0]] = _asset_in(target, None)
            keys_by_input[rest[0]] = target
        op_def = OpDefinition(
            fn,
            name=spec.get_python_identifier(),
            ins=ins,
            outs={},
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            tags=_check_tags(op_tags, compute_kind),
            description=description,
            retry_policy=retry_policy,
            kind=CHECK_KIND,
            pool=pool,
        )
        return AssetChecksDefinition(
            op_def, {spec.key: spec}, keys_by_input, resource_defs=resource_defs
        )

    return decorate


def multi_asset_check(
    *,
    specs: Sequence[AssetCheckSpec],
    name: str | None = None,
    description: str | None = None,
    can_subset: bool = False,
    compute_kind: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    config_schema: Any = None,
    ins: Mapping[str, AssetIn | Any] | None = None,
    pool: str | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Define several checks evaluated by one function, which yields an
    ``AssetCheckResult`` (with ``asset_key``/``check_name``) for each of ``specs``.

    Its parameters read assets: those in ``ins`` as declared there, the others the asset
    (checked or in a spec's ``additional_deps``) whose key's last part is the parameter's
    name. ``can_subset=True`` lets a selection run some of its checks (the function reads
    ``context.selected_asset_check_keys``). ``pool=`` as on ``@asset_check``."""

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        op_name = name or fn.__name__
        owner = f"@multi_asset_check '{op_name}'"
        by_key: dict[AssetCheckKey, AssetCheckSpec] = {}
        for spec in specs:
            if not isinstance(spec, AssetCheckSpec):
                raise InvalidDefinitionError(f"{owner}: specs= takes AssetCheckSpec objects.")
            if spec.key in by_key:
                raise InvalidDefinitionError(
                    f"{owner}: check '{spec.key.to_user_string()}' is declared twice."
                )
            by_key[spec.key] = spec
        if not by_key:
            raise InvalidDefinitionError(f"{owner}: specs= needs at least one AssetCheckSpec.")
        deps: list[AssetKey] = []
        for spec in by_key.values():
            for key in (spec.asset_key, *spec.additional_deps):
                if key not in deps:
                    deps.append(key)
        declared = {
            n: v if isinstance(v, AssetIn) else AssetIn(key=v) for n, v in (ins or {}).items()
        }
        params = list(analyse_function(fn, owner).input_params)
        unknown = [n for n in declared if n not in params]
        if unknown:
            raise InvalidDefinitionError(
                f"{owner}: ins names {unknown}, which are not parameters of {fn.__name__}."
            )
        op_ins: dict[str, In] = {}
        keys_by_input: dict[str, AssetKey] = {}
        for param in params:
            if param in declared:
                key = _key_of_asset_in(param, declared[param])
                op_ins[param] = _asset_in(key, declared[param])
            else:
                matches = [k for k in deps if param in (k.parts[-1], k.to_python_identifier())]
                if len(matches) != 1:
                    names = [k.to_user_string() for k in deps]
                    raise InvalidDefinitionError(
                        f"{owner}: parameter '{param}' names none of the assets its checks "
                        f"depend on {names}; declare it in ins={{'{param}': AssetIn(...)}}."
                    )
                key = matches[0]
                op_ins[param] = _asset_in(key, None)
            keys_by_input[param] = key
        op_def = OpDefinition(
            fn,
            name=op_name,
            ins=op_ins,
            outs={},
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            tags=_check_tags(op_tags, compute_kind),
            description=description,
            retry_policy=retry_policy,
            kind=CHECK_KIND,
            pool=pool,
        )
        return AssetChecksDefinition(
            op_def, by_key, keys_by_input, can_subset=can_subset, resource_defs=resource_defs
        )

    return decorate
