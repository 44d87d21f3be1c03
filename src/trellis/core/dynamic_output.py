"""``DynamicOutput``: one item of an op's dynamic output (``DynamicOut``), under its own
mapping key. Each item becomes its own run of every op mapped over the output
(``.map()``); ``.collect()`` gathers the mapped results back into a list."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from trellis.core.errors import InvalidDefinitionError
from trellis.core.metadata import MetadataValue, normalize_metadata

T = TypeVar("T")

MAPPING_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
"""What a mapping key may contain (as in Dagster): letters, digits and underscores, so
that ``op[key]`` step keys and the paths built from them stay unambiguous."""


def check_mapping_key(mapping_key: Any) -> str:
    """``mapping_key`` when it is a valid mapping key, else ``InvalidDefinitionError``
    saying what is allowed."""
    if not isinstance(mapping_key, str) or not MAPPING_KEY_PATTERN.match(mapping_key):
        raise InvalidDefinitionError(
            f"{mapping_key!r} is not a valid mapping key for a DynamicOutput: mapping keys "
            "may contain only letters, digits and underscores (regex ^[A-Za-z0-9_]+$)."
        )
    return mapping_key


class DynamicOutput(Generic[T]):
    """One item of a dynamic output: ``yield DynamicOutput(value, mapping_key="a")``.

    ``mapping_key`` names the item (unique within the output; it appears in the step keys
    of the ops mapped over it, ``op[a]``); ``output_name`` names the op's ``DynamicOut``
    (``"result"`` for an op with one output); ``metadata`` lands on its ``STEP_OUTPUT``.
    """

    __slots__ = ("mapping_key", "metadata", "output_name", "value")

    def __init__(
        self,
        value: T,
        mapping_key: str,
        output_name: str | None = "result",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.value = value
        self.mapping_key = check_mapping_key(mapping_key)
        self.output_name = output_name or "result"
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DynamicOutput):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # holds any value

    def __repr__(self) -> str:
        return (
            f"DynamicOutput(value={self.value!r}, mapping_key={self.mapping_key!r}, "
            f"output_name={self.output_name!r})"
        )
