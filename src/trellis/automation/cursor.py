"""``AutomationCursor``: what one evaluation leaves for the next, as versioned JSON.

The daemon keeps it in the instigator state of the automation sensor that made it. The
JSON (``to_json``) is::

    {"version": 1,
     "evaluation_id": 7,                 # increases by one per evaluation
     "evaluation_time": 1717171717.5,    # when the evaluation looked (seconds since epoch)
     "storage_ids": {"[\\"orders\\"]": 42},  # per asset read: newest materialization seen
     "assets": {"[\\"orders\\"]": {         # per evaluated asset
         "partitioned": false,
         "requested": true,              # what the evaluation requested (a subset)
         "record": "3f2a...",            # digest of the last evaluation tree recorded
         "nodes": {"0.1": {"true": ..., "cursor": ...}}}}}

Asset keys are their parts as a JSON list. A subset is ``true``/``false`` for an
unpartitioned asset, else a list of partition keys and ``[first, last]`` runs of
consecutive keys. ``nodes`` holds the state of the condition nodes that keep one
(``since``, ``newly_true``, ``code_version_changed``, custom conditions), by node id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError

CURSOR_VERSION = 1

_compact = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def key_to_json(key: AssetKey) -> str:
    """An asset key as a JSON object key: its parts as a compact JSON list."""
    return _compact(list(key.parts))


def key_from_json(text: str) -> AssetKey:
    """The inverse of ``key_to_json``."""
    return AssetKey(json.loads(text))


@dataclass
class AssetCursor:
    """The state one evaluation of an asset leaves: what it requested, whether the asset
    was partitioned, the digest of the last recorded evaluation, and the node states."""

    requested: Any = False
    partitioned: bool = False
    record: str | None = None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        found: dict[str, Any] = {"partitioned": self.partitioned, "requested": self.requested}
        if self.record is not None:
            found["record"] = self.record
        if self.nodes:
            found["nodes"] = self.nodes
        return found

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> AssetCursor:
        """The inverse of ``to_dict``."""
        return cls(
            requested=value.get("requested", False),
            partitioned=bool(value.get("partitioned", False)),
            record=value.get("record"),
            nodes=dict(value.get("nodes") or {}),
        )


@dataclass
class AutomationCursor:
    """The state of an automation sensor between evaluations (see the module docstring
    for its JSON). ``AutomationCursor()`` is the empty cursor of a first evaluation."""

    evaluation_id: int = 0
    evaluation_time: float | None = None
    storage_ids: dict[AssetKey, int] = field(default_factory=dict)
    assets: dict[AssetKey, AssetCursor] = field(default_factory=dict)

    @staticmethod
    def empty() -> AutomationCursor:
        """The cursor before any evaluation."""
        return AutomationCursor()

    @property
    def is_empty(self) -> bool:
        """Whether no evaluation has happened yet."""
        return self.evaluation_time is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, with its version."""
        return {
            "version": CURSOR_VERSION,
            "evaluation_id": self.evaluation_id,
            "evaluation_time": self.evaluation_time,
            "storage_ids": {key_to_json(k): v for k, v in sorted(self.storage_ids.items())},
            "assets": {key_to_json(k): v.to_dict() for k, v in sorted(self.assets.items())},
        }

    def to_json(self) -> str:
        """The cursor as a JSON string (what the daemon stores)."""
        return _compact(self.to_dict())

    @classmethod
    def from_json(cls, text: str | None) -> AutomationCursor:
        """Read a cursor written by ``to_json`` (``None`` or ``""``: the empty cursor).

        A cursor that is not one, or one of a version this Trellis does not know, is
        refused with ``InvalidInvocationError`` saying so (reset the sensor's cursor)."""
        if not text:
            return cls()
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InvalidInvocationError(
                f"Not an automation cursor (invalid JSON: {exc}); reset the automation "
                "sensor's cursor to start from a fresh evaluation."
            ) from None
        return cls.from_dict(value)

    @classmethod
    def from_dict(cls, value: Any) -> AutomationCursor:
        """The inverse of ``to_dict``."""
        if not isinstance(value, dict) or "version" not in value:
            raise InvalidInvocationError(
                "Not an automation cursor (no 'version'); reset the automation sensor's "
                "cursor to start from a fresh evaluation."
            )
        version = value["version"]
        if version != CURSOR_VERSION:
            raise InvalidInvocationError(
                f"Automation cursor version {version!r} is not one this Trellis reads (it "
                f"reads version {CURSOR_VERSION}); it was probably written by another "
                "version. Reset the automation sensor's cursor to start afresh."
            )
        return cls(
            evaluation_id=int(value.get("evaluation_id") or 0),
            evaluation_time=value.get("evaluation_time"),
            storage_ids={
                key_from_json(k): int(v) for k, v in (value.get("storage_ids") or {}).items()
            },
            assets={
                key_from_json(k): AssetCursor.from_dict(v)
                for k, v in (value.get("assets") or {}).items()
            },
        )

    def __str__(self) -> str:
        return self.to_json()
