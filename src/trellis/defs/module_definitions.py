"""The ``Definitions`` of an imported module, found the way the ``trellis`` command and
the workers of other processes both need: the CLI's ``-f``/``-m`` target and a job's
``CodePointer`` name a module (and maybe an attribute), and this turns it into one
``Definitions``.

Without an attribute: ``defs`` if it is a ``Definitions`` or an ``@definitions``
function; else the only ``@definitions`` function; else the only ``Definitions``; else
one built from the assets, jobs, schedules and sensors at the module's top level.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.definitions import Definitions
from trellis.defs.lazy_definitions import LazyDefinitions
from trellis.defs.loading import LOADABLE_TYPES, collect_objects, definitions_arguments

DEFAULT_ATTRIBUTE = "defs"


def definitions_from_value(value: Any, where: str) -> Definitions:
    """A ``Definitions`` from what an attribute holds: a ``Definitions``, an
    ``@definitions`` function (or a plain function returning one), or a single asset,
    job, schedule or sensor (or a list of them)."""
    if isinstance(value, Definitions):
        return value
    if isinstance(value, LazyDefinitions):
        return value()
    if inspect.isfunction(value):
        result = value()
        if isinstance(result, Definitions):
            return result
        value = result
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(item, LOADABLE_TYPES) for item in items):
        return Definitions(**definitions_arguments(items))
    raise InvalidDefinitionError(f"{where} is a {type(value).__name__}, not a Definitions object.")


def _named(module: ModuleType, kind: type) -> dict[str, Any]:
    return {n: v for n, v in vars(module).items() if isinstance(v, kind)}


def find_module_definitions(module: ModuleType, where: str) -> tuple[Definitions, str | None]:
    """The module's ``Definitions`` and the attribute it came from (None when it was
    built from the module's loose assets and jobs); ``where`` names the module in
    errors."""
    default = vars(module).get(DEFAULT_ATTRIBUTE)
    if isinstance(default, (Definitions, LazyDefinitions)):
        return definitions_from_value(default, where), DEFAULT_ATTRIBUTE
    for kind, label in ((LazyDefinitions, "@definitions functions"), (Definitions, "Definitions")):
        found = _named(module, kind)
        if len(found) > 1:
            raise InvalidDefinitionError(
                f"{where} has several {label} ({', '.join(sorted(found))}); choose one "
                "with -a/--attribute."
            )
        if found:
            ((name, value),) = found.items()
            return definitions_from_value(value, f"{where}: '{name}'"), name
    objects = collect_objects([module], LOADABLE_TYPES)
    if not objects:
        raise InvalidDefinitionError(
            f"{where} defines no Definitions object (looked for '{DEFAULT_ATTRIBUTE}', an "
            "@definitions function and any Definitions), and no jobs or assets to build one "
            "from."
        )
    return Definitions(**definitions_arguments(objects)), None
