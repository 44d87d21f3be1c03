"""Cheap checks for Pythonic ``Config`` classes and instances.

They never import pydantic: if ``trellis.config.pythonic`` has not been imported yet, no
``Config`` subclass can exist, so the answer is False.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from trellis.config.pythonic import Config

_PYTHONIC = "trellis.config.pythonic"


def is_config_class(obj: Any) -> TypeGuard[type[Config]]:
    """True when ``obj`` is a subclass of ``trellis.Config`` (including ``Config`` itself)."""
    module = sys.modules.get(_PYTHONIC)
    if module is None or not isinstance(obj, type):
        return False
    return issubclass(obj, module.Config)


def is_config_instance(obj: Any) -> TypeGuard[Config]:
    """True when ``obj`` is an instance of a ``trellis.Config`` subclass."""
    module = sys.modules.get(_PYTHONIC)
    return module is not None and isinstance(obj, module.Config)
