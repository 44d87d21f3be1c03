"""Resource lifetimes: build the resources a run needs, in dependency order, each with
its ``InitResourceContext``; tear them down in reverse order whatever happens."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from trellis.contexts.init_resource import InitResourceContext
from trellis.contexts.log_manager import LogManager
from trellis.contexts.resources_view import ResourcesView
from trellis.core.errors import (
    USER_CODE_ERRORS,
    InvalidConfigError,
    InvalidDefinitionError,
    ResourceFunctionError,
)
from trellis.defs.resource import ResourceDefinition, resource_init_order


def _enter(result: Any, stack: contextlib.ExitStack, key: str) -> Any:
    """The resource value of what a resource function returned: a generator is run to
    its single ``yield`` and finished at teardown; a ``@contextmanager`` is entered. Any
    other value is the resource itself (a ``MagicMock`` too, which answers ``send``)."""
    if inspect.isgenerator(result):
        generator = result
        try:
            value = next(generator)
        except StopIteration:
            raise InvalidDefinitionError(
                f"Resource '{key}' is a generator that never yielded; it must yield exactly once."
            ) from None

        def finish() -> None:
            try:
                next(generator)
            except StopIteration:
                return
            raise InvalidDefinitionError(
                f"Resource '{key}' yielded more than once; a resource must yield exactly once."
            )

        stack.callback(finish)
        return value
    if isinstance(result, contextlib._GeneratorContextManager):
        return stack.enter_context(result)
    return result


def build_resource(
    key: str,
    definition: ResourceDefinition,
    config: Any,
    built: Mapping[str, Any],
    stack: contextlib.ExitStack,
    instance: Any = None,
    run: Any = None,
    log: LogManager | None = None,
) -> Any:
    """Build one resource; its teardown is registered on ``stack``. Errors raised by the
    resource function are wrapped in ``ResourceFunctionError`` naming the key."""
    deps = {k: built[k] for k in definition.required_resource_keys if k in built}
    context = InitResourceContext(
        resource_config=config,
        resources=ResourcesView(deps, owner=f"resource '{key}'"),
        resource_def=definition,
        instance=instance,
        run=run,
        log=log,
    )
    try:
        result = (
            definition.resource_fn(context)
            if definition.takes_context
            else (definition.resource_fn())
        )
        return _enter(result, stack, key)
    except (InvalidDefinitionError, InvalidConfigError):
        raise
    except USER_CODE_ERRORS as exc:
        raise ResourceFunctionError(
            f"Error while initializing resource '{key}': {type(exc).__name__}: {exc}", exc
        ) from exc


class BuiltResources:
    """Initialised resources and their teardown: ``values`` by key, ``timings`` in
    seconds by key, ``close()`` tears down in reverse order of set-up."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.stack = contextlib.ExitStack()

    def close(self) -> None:
        """Tear every resource down (reverse order); errors propagate after all ran."""
        self.stack.close()


def init_resources(
    resource_defs: Mapping[str, ResourceDefinition],
    keys: set[str] | frozenset[str],
    config_for: Callable[[str], Any],
    *,
    instance: Any = None,
    run: Any = None,
    log: LogManager | None = None,
) -> BuiltResources:
    """Build ``keys`` (and what they need) in dependency order. On failure, resources
    already built are torn down before the error propagates."""
    built = BuiltResources()
    try:
        for key in resource_init_order(resource_defs, keys):
            started = time.perf_counter()
            built.values[key] = build_resource(
                key,
                resource_defs[key],
                config_for(key),
                built.values,
                built.stack,
                instance,
                run,
                log.with_step(None) if log else None,
            )
            built.timings[key] = time.perf_counter() - started
    except BaseException:
        built.close()
        raise
    return built
