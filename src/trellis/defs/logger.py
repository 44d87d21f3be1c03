"""``@logger`` and ``LoggerDefinition``: a run's own Python loggers.

A logger definition is a function of an ``InitLoggerContext`` that returns a
``logging.Logger``. A job lists its loggers by key (``@job(logger_defs={...})``, or
``Definitions(loggers={...})`` for the jobs that list none); a run uses the ones its run
config names under ``loggers:`` (``loggers: {json: {config: {log_level: INFO}}}``), and, when
it names none, the console alone. Each is built once per run in every process that runs
the run's steps (``trellis.execution.run_loggers``), and is handed every event of the run
that happens in that process, ``context.log`` lines included.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    import logging

    InitLoggerFunction = Callable[[Any], logging.Logger]


class LoggerDefinition:
    """A logger: ``logger_fn(init_context)`` returns the ``logging.Logger`` a run hands its
    events to; ``config_schema`` describes ``init_context.logger_config`` (any config when
    None). Calling the definition with ``build_init_logger_context(...)`` builds the logger
    directly, for tests."""

    def __init__(
        self,
        logger_fn: InitLoggerFunction,
        config_schema: Any = None,
        description: str | None = None,
    ) -> None:
        from trellis.defs.op import normalize_op_config_schema

        if not callable(logger_fn):
            raise InvalidDefinitionError(
                f"LoggerDefinition: logger_fn must be callable, got {logger_fn!r}."
            )
        self.logger_fn = logger_fn
        self.name: str = getattr(logger_fn, "__name__", "logger")
        self.config_schema, self.config_class = normalize_op_config_schema(
            config_schema, f"logger '{self.name}'"
        )
        self.description = description
        self._fixed: tuple[Any, Any] | None = None  # (config, schema) when ``configured``
        self.__doc__ = getattr(logger_fn, "__doc__", None) or description or type(self).__doc__

    def process_config(self, config: Any, key: str) -> Any:
        """``config`` validated against the schema (defaults filled); a ``configured``
        definition uses its fixed config instead. Raises ``InvalidConfigError``."""
        from trellis.config.validate import validate_config

        schema = self.config_schema
        if self._fixed is not None:
            config, schema = self._fixed
        if schema is None:
            return config
        return validate_config(schema, config, header=f"Error in config for logger '{key}'")

    def configured(self, config: Any, name: str | None = None) -> LoggerDefinition:
        """A copy of this definition with its config fixed to ``config`` (validated when
        the logger is built); its own run config is then empty."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._fixed = (config, self.config_schema)
        copy.name = name or self.name
        copy.config_schema = None
        return copy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Build the logger with an ``InitLoggerContext`` (``build_init_logger_context``)."""
        from trellis.api.hooks_and_loggers import invoke_logger

        return invoke_logger(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<LoggerDefinition {self.name}>"


@overload
def logger(config_schema: InitLoggerFunction) -> LoggerDefinition: ...
@overload
def logger(
    config_schema: Any = None, description: str | None = None
) -> Callable[[InitLoggerFunction], LoggerDefinition]: ...


def logger(
    config_schema: Any = None, description: str | None = None
) -> LoggerDefinition | Callable[[InitLoggerFunction], LoggerDefinition]:
    """Define a logger from a function of its ``InitLoggerContext`` that returns a
    ``logging.Logger``: ``@logger`` or ``@logger(config_schema, description=...)``."""
    if inspect.isfunction(config_schema) or inspect.ismethod(config_schema):
        return LoggerDefinition(config_schema)  # bare @logger

    def decorate(fn: InitLoggerFunction) -> LoggerDefinition:
        return LoggerDefinition(fn, config_schema=config_schema, description=description)

    return decorate


def coerce_loggers(loggers: Any, owner: str) -> dict[str, LoggerDefinition]:
    """``logger_defs=`` / ``loggers=`` as a dict of ``LoggerDefinition`` by key; anything
    else is an error naming ``owner`` and the key."""
    if loggers is None:
        return {}
    if not isinstance(loggers, Mapping):
        raise InvalidDefinitionError(
            f"{owner}: loggers must be a mapping of keys to logger definitions (@logger), "
            f"got {loggers!r}."
        )
    for key, value in loggers.items():
        if not isinstance(value, LoggerDefinition):
            raise InvalidDefinitionError(
                f"{owner}: logger '{key}' must be a logger definition (@logger), got {value!r}."
            )
    return dict(loggers)
