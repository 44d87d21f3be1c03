"""``AssetKey``: the name of an asset, a path of strings."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

_INTERNED: weakref.WeakValueDictionary[tuple[str, ...], AssetKey] = weakref.WeakValueDictionary()


class AssetKey:
    """The key of an asset: a non-empty path of strings, e.g. ``AssetKey(["raw", "orders"])``.

    Immutable and hashable. ``path`` is the parts as a list (as in Dagster; a new list each
    time, so changing it changes no key), ``parts`` the same as a tuple.
    ``to_user_string()`` joins the parts with ``/``; step keys and op names join them
    with ``__``.
    """

    __slots__ = ("__weakref__", "_hash", "parts")

    parts: tuple[str, ...]
    _hash: int

    def __new__(cls, path: str | Sequence[str]) -> AssetKey:
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            raise ValueError("An AssetKey needs at least one part")
        for part in parts:
            if not isinstance(part, str) or not part:
                raise ValueError(f"AssetKey parts must be non-empty strings, got {parts!r}")
        existing = _INTERNED.get(parts) if cls is AssetKey else None
        if existing is not None:
            return existing
        key = object.__new__(cls)
        object.__setattr__(key, "parts", parts)
        object.__setattr__(key, "_hash", hash(parts))
        if cls is AssetKey:
            # One object per key while it is in use: dict and set lookups then match by
            # identity and never call the Python-level __eq__.
            _INTERNED[parts] = key
        return key

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AssetKey is immutable")

    @property
    def path(self) -> list[str]:
        """The parts of the key, as a list: ``AssetKey("a/b").path == ["a", "b"]``."""
        return list(self.parts)

    @classmethod
    def from_user_string(cls, value: str) -> AssetKey:
        """Parse ``"a/b/c"`` into ``AssetKey(["a", "b", "c"])``."""
        return cls(value.split("/"))

    @classmethod
    def from_coercible(cls, value: CoercibleToAssetKey) -> AssetKey:
        """Accept an ``AssetKey``, a ``"a/b"`` user string (split on ``/``: Trellis reads a
        slash as a path separator everywhere) or a sequence of parts."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return cls.from_user_string(value)
        return cls(value)

    def to_user_string(self) -> str:
        """The key as users write it: parts joined with ``/``."""
        return "/".join(self.parts)

    def to_python_identifier(self, suffix: str | None = None) -> str:
        """The key as an op or step name: parts joined with ``__``, with ``.`` and ``-``
        replaced by ``_`` (a ``.`` in a step key would read as a graph path)."""
        name = "__".join(self.parts).replace(".", "_").replace("-", "_").replace("/", "_")
        return f"{name}_{suffix}" if suffix else name

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        """A new key with ``prefix`` in front."""
        parts = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        return AssetKey((*parts, *self.parts))

    @property
    def parent(self) -> AssetKey:
        """The key without its last part."""
        return AssetKey(self.parts[:-1])

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, AssetKey) and other.parts == self.parts)

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: AssetKey) -> bool:
        return self.parts < other.parts

    def __repr__(self) -> str:
        return f"AssetKey({list(self.parts)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetKey, (self.parts,))


CoercibleToAssetKey = AssetKey | str | Sequence[str]
