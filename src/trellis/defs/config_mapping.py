"""Config mappings: a simpler config for a job or a graph, turned into the full one by a
function.

``@job(config=simplified)`` with ``@config_mapping(config_schema={"date": str})`` makes
the job's run config exactly that schema: the run config given at launch is validated
against it (defaults filled in, unless ``receive_processed_config_values=False``), and
the function's result is the run config the job runs with (``ops``, ``resources``,
``execution``, ...), validated as usual. On a ``@graph`` used inside a job (or a
graph-backed asset), the mapping turns the node's ``config`` entry into its inner ops'
config; a graph made a job (``graph.to_job()``) takes the graph's config as its run
config, mapped to ``ops``. The function may take a ``Config`` subclass instead of a schema
(``def fn(config: MyConfig)``) and may return a ``RunConfig``.

A function that raises is reported as ``ConfigMappingFunctionError`` (Dagster's
``DagsterConfigMappingFunctionError``) naming the mapping and its owner; config that does
not fit the mapping's schema as ``InvalidConfigError`` with its paths.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

from trellis.config.detect import is_config_class
from trellis.config.types import normalize_config_schema
from trellis.config.validate import validate_config
from trellis.core.errors import ConfigMappingFunctionError, InvalidDefinitionError


def _config_class_param(fn: Callable[..., Any]) -> type[Any] | None:
    """The ``Config`` class the function's first parameter is annotated with, if any."""
    try:
        params = list(inspect.signature(fn).parameters.values())
        hints = inspect.get_annotations(fn, eval_str=True)
    except (TypeError, ValueError, NameError):
        return None
    if not params:
        return None
    annotation = hints.get(params[0].name)
    return annotation if is_config_class(annotation) else None


class ConfigMapping:
    """``config_fn(config) -> run config`` over ``config_schema`` (see the module
    docstring)."""

    def __init__(
        self,
        config_fn: Callable[[Any], Any],
        config_schema: Any = None,
        receive_processed_config_values: bool | None = None,
    ) -> None:
        if not callable(config_fn):
            raise InvalidDefinitionError(f"ConfigMapping needs a function, got {config_fn!r}.")
        self.config_fn = config_fn
        self.config_class = _config_class_param(config_fn)
        if self.config_class is not None:
            if config_schema is not None:
                raise InvalidDefinitionError(
                    f"Config mapping '{self.name}' takes a Config parameter; it has no "
                    "config_schema as well."
                )
            if receive_processed_config_values is False:
                raise InvalidDefinitionError(
                    f"Config mapping '{self.name}' takes a Config parameter, which is built "
                    "from processed values: receive_processed_config_values=False cannot hold."
                )
            config_schema = self.config_class.to_config_schema()
        self.config_schema = normalize_config_schema(
            config_schema, where=f"config mapping '{self.name}'"
        )
        self.receive_processed_config_values = receive_processed_config_values is not False
        self.under_ops = False  # a graph's mapping made a job's: its result goes under ops

    def for_job_of_graph(self) -> ConfigMapping:
        """This graph mapping as the mapping of the job the graph becomes
        (``graph.to_job()``): the run config is the graph's config, and what the function
        returns (its inner ops' config) goes under ``ops``."""
        copy = ConfigMapping.__new__(ConfigMapping)
        copy.__dict__.update(self.__dict__)
        copy.under_ops = True
        return copy

    @property
    def name(self) -> str:
        """The mapping function's name, for messages."""
        return getattr(self.config_fn, "__name__", None) or repr(self.config_fn)

    def resolve_from_unvalidated_config(self, config: Any, owner: str = "") -> dict[str, Any]:
        """Validate ``config`` against the schema, then map it (``owner`` names the job or
        graph in errors)."""
        where = f"config mapping '{self.name}'" + (f" of {owner}" if owner else "")
        value = config
        if self.config_schema is not None:
            processed = validate_config(
                self.config_schema, config, header=f"Error in config for {where}"
            )
            if self.receive_processed_config_values:
                value = processed
        return self.resolve_from_validated_config(value, where)

    def resolve_from_validated_config(self, config: Any, where: str = "") -> dict[str, Any]:
        """Call the function on validated ``config`` and return its run config dict."""
        where = where or f"config mapping '{self.name}'"
        argument = config
        if self.config_class is not None:
            argument = self.config_class(**(config or {}))
        try:
            result = self.config_fn(argument)
        except Exception as exc:
            raise ConfigMappingFunctionError(
                f"The function of {where} raised {type(exc).__name__}: {exc}", exc
            ) from exc
        from trellis.config.run_config import RunConfig

        if isinstance(result, RunConfig):
            result = result.to_config_dict()
        if not isinstance(result, Mapping):
            raise ConfigMappingFunctionError(
                f"The function of {where} returned {type(result).__name__} {result!r}; it "
                "must return a run config dict."
            )
        return {"ops": dict(result)} if self.under_ops else dict(result)

    def __repr__(self) -> str:
        return f"<ConfigMapping {self.name}>"


@overload
def config_mapping(config_fn: Callable[[Any], Any]) -> ConfigMapping: ...
@overload
def config_mapping(
    config_fn: None = None,
    *,
    config_schema: Any = None,
    receive_processed_config_values: bool | None = None,
) -> Callable[[Callable[[Any], Any]], ConfigMapping]: ...


def config_mapping(
    config_fn: Callable[[Any], Any] | None = None,
    *,
    config_schema: Any = None,
    receive_processed_config_values: bool | None = None,
) -> ConfigMapping | Callable[[Callable[[Any], Any]], ConfigMapping]:
    """Make a ``ConfigMapping`` of the decorated function: ``@config_mapping`` or
    ``@config_mapping(config_schema=...)``."""
    if config_fn is not None:
        return ConfigMapping(config_fn)

    def decorate(fn: Callable[[Any], Any]) -> ConfigMapping:
        return ConfigMapping(fn, config_schema, receive_processed_config_values)

    return decorate
