"""``ResourcesView``: the ``context.resources`` object, attribute access over a mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trellis.core.errors import UnknownResourceError
from trellis.defs.resource import IAttachDifferentObjectToOpContext


class ResourcesView:
    """Initialised resources, read as attributes: ``context.resources.warehouse``.

    A thin view over a dict (no class is built per step). Reading a key that is not in
    the view raises ``UnknownResourceError`` (an ``AttributeError``, so ``hasattr``
    works) naming the key, who asked (``owner``) and the keys that are available.
    """

    __slots__ = ("_owner", "_values")

    def __init__(self, values: Mapping[str, Any], owner: str | None = None) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_owner", owner)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            where = f" by {self._owner}" if self._owner else ""
            available = ", ".join(sorted(self._values)) or "none"
            raise UnknownResourceError(
                f"Unknown resource '{name}' requested{where}. Declare it in "
                f"required_resource_keys (or as a typed parameter). "
                f"Available here: {available}."
            ) from None
        if isinstance(value, IAttachDifferentObjectToOpContext):
            return value.get_object_to_set_on_execution_context()
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("context.resources is read-only")

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def _asdict(self) -> dict[str, Any]:
        """The resources as a plain dict (namedtuple-style, as Dagster offers), each as
        ``context.resources.<key>`` gives it."""
        return {name: self.__getattr__(name) for name in self._values}

    def __repr__(self) -> str:
        return f"ResourcesView({sorted(self._values)})"
