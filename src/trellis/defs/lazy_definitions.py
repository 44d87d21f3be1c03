"""``@definitions``: a function that builds the ``Definitions`` when a tool loads the
code, instead of at import (Dagster 1.11+)::

    import trellis as dg

    @dg.definitions
    def defs():
        return dg.Definitions(assets=[...])

The CLI, the workers of other processes and the defs-folder loader call it; tests may
call ``defs()`` themselves.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.definitions import Definitions


class LazyDefinitions:
    """A function marked with ``@definitions``; calling it builds and returns its
    ``Definitions`` (checked to be one)."""

    def __init__(self, load_fn: Callable[[], Definitions]) -> None:
        self.load_fn = load_fn
        functools.update_wrapper(self, load_fn)

    @property
    def name(self) -> str:
        """The function's name."""
        return str(getattr(self.load_fn, "__name__", "definitions"))

    def __call__(self) -> Definitions:
        """Build the ``Definitions``."""
        from trellis.defs.definitions import Definitions

        result = self.load_fn()
        if not isinstance(result, Definitions):
            raise InvalidDefinitionError(
                f"@definitions function '{self.name}' returned {type(result).__name__}, "
                "not a Definitions object."
            )
        return result

    def __repr__(self) -> str:
        return f"<@definitions {self.name}>"


def definitions(fn: Callable[[], Definitions]) -> Callable[[], Definitions]:
    """Mark ``fn`` (no parameters, returns a ``Definitions``) as the entry point that
    builds a code location's definitions when they are loaded."""
    if not callable(fn):
        raise InvalidDefinitionError(f"@definitions decorates a function, not {fn!r}.")
    params = list(inspect.signature(fn).parameters.values())
    if params:
        raise InvalidDefinitionError(
            f"@definitions function '{getattr(fn, '__name__', fn)}' takes parameters "
            f"({', '.join(p.name for p in params)}); Trellis calls it with none. A "
            "ComponentLoadContext parameter belongs to Dagster components, which Trellis "
            "does not have."
        )
    return LazyDefinitions(fn)


def is_lazy_definitions(value: Any) -> bool:
    """Whether ``value`` is a function marked with ``@definitions``."""
    return isinstance(value, LazyDefinitions)
