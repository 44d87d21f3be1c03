"""Trellis: a fast, light orchestrator for data pipelines.

This module is the whole public API. Every name is loaded lazily on first use (module
``__getattr__``), so ``import trellis`` stays cheap; ``__all__`` lists the names, sorted,
and ``tests/test_public_api.py`` pins it.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it. Keep sorted by name.
_EXPORTS: dict[str, str] = {
    "AssetKey": "trellis.core.asset_key",
    "TrellisError": "trellis.core.errors",
}

__all__ = [
    "AssetKey",
    "TrellisError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'trellis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

