"""``configured``: a copy of a definition whose config is fixed, or computed by a function
from a simpler config of its own (Dagster's ``configured`` and the ``.configured``
methods).

``configured(resource)({"bucket": "dev"})`` fixes a resource's config;
``@configured(resource, config_schema={"env": str})`` over ``fn(config) -> config``
gives a resource whose run config is ``{"env": ...}`` and whose original config is what
``fn`` returns (validated against the original schema when the resource is built). Ops
work the same (``op.configured(config_or_fn, name=...)``: the copy needs a name of its
own); loggers and executors take fixed config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trellis.config.validate import validate_config
from trellis.core.errors import ConfigMappingFunctionError, InvalidDefinitionError


class ConfiguredConfig:
    """How a ``configured`` copy of ``owner`` (``"op 'x'"``, ``"resource 'x'"``) gets the
    original's config: ``fixed``, or ``config_fn`` of the copy's validated config; either
    is validated against ``original_schema`` when the run uses it."""

    def __init__(
        self, owner: str, original_schema: Any, fixed: Any = None, config_fn: Any = None
    ) -> None:
        self.owner = owner
        self.original_schema = original_schema
        self.fixed = fixed
        self.config_fn = config_fn

    @classmethod
    def of(
        cls, owner: str, original_schema: Any, config_or_config_fn: Any, config_schema: Any
    ) -> tuple[ConfiguredConfig, Any]:
        """``(how, schema of the copy)`` for ``.configured(config_or_config_fn,
        config_schema=...)``: a function's copy takes ``config_schema``; fixed config
        leaves the copy nothing to configure (and takes no ``config_schema``)."""
        if not callable(config_or_config_fn):
            if config_schema is not None:
                raise InvalidDefinitionError(
                    f"{owner}: configured(...) with fixed config takes no config_schema "
                    "(give a function of the new config instead)."
                )
            return cls(owner, original_schema, fixed=config_or_config_fn), None
        from trellis.config.types import normalize_config_schema

        schema = normalize_config_schema(config_schema, where=owner)
        return cls(owner, original_schema, config_fn=config_or_config_fn), schema

    def resolve(self, config: Any, where: str = "") -> Any:
        """The original's config for a run whose (processed) config of the copy is
        ``config``; ``where`` (a node's handle) is added to errors."""
        owner = self.owner + (f" (node '{where}')" if where else "")
        value = self.fixed
        if self.config_fn is not None:
            try:
                value = self.config_fn(config)
            except Exception as exc:
                raise ConfigMappingFunctionError(
                    f"The configured function of {owner} raised {type(exc).__name__}: {exc}",
                    exc,
                ) from exc
        if self.original_schema is None:
            return value
        header = f"Error in the configured config of {owner}"
        return validate_config(self.original_schema, value, header=header)


def configured(configurable: Any, config_schema: Any = None, **kwargs: Any) -> Callable[[Any], Any]:
    """``configured(definition, config_schema=None, **kwargs)(config_or_config_fn)``: the
    definition's ``.configured(...)`` copy. Used as a decorator over a function, the copy
    is named after the function unless ``name=`` is given."""
    method = getattr(configurable, "configured", None)
    if method is None:
        raise InvalidDefinitionError(
            f"configured() takes a resource, op, logger or executor definition, got "
            f"{configurable!r}."
        )

    def apply(config_or_config_fn: Any) -> Any:
        options = dict(kwargs)
        if callable(config_or_config_fn):
            options.setdefault("name", getattr(config_or_config_fn, "__name__", None))
            options["config_schema"] = config_schema
        elif config_schema is not None:
            raise InvalidDefinitionError(
                "configured(..., config_schema=...) needs a function of the new config, "
                "not fixed config."
            )
        try:
            return method(config_or_config_fn, **options)
        except TypeError as exc:
            raise InvalidDefinitionError(
                f"configured(): {type(configurable).__name__} does not take "
                f"{sorted(options)} ({exc})."
            ) from exc

    return apply
