"""Build a user's class named in ``trellis.yaml`` (``module`` + ``class`` + ``config``, as
Dagster's ``run_launcher`` and ``run_coordinator`` sections name them), with errors that
name the section and the file."""

from __future__ import annotations

import importlib
from typing import Any

from trellis.core.errors import InstanceError


def build_user_class(
    section: str,
    where: str,
    module_name: str,
    class_name: str,
    base: type,
    config: dict[str, Any],
) -> Any:
    """``module_name.class_name(**config)``, which must be a ``base`` subclass; raises
    ``InstanceError`` starting ``"{section} in {where}: "`` saying what went wrong."""
    prefix = f"{section} in {where}: "
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise InstanceError(
            f"{prefix}cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise InstanceError(f"{prefix}module {module_name!r} has no class {class_name!r}.")
    if not isinstance(cls, type) or not issubclass(cls, base):
        raise InstanceError(
            f"{prefix}{module_name}.{class_name} is not a {base.__name__} subclass "
            f"({base.__module__}.{base.__qualname__})."
        )
    try:
        return cls(**config)
    except Exception as exc:
        raise InstanceError(
            f"{prefix}{class_name}(**config) failed: {type(exc).__name__}: {exc}"
        ) from exc


def config_file_of(instance: Any) -> str:
    """The ``trellis.yaml`` the instance was configured from, for error messages."""
    try:
        source = instance.get_ref().config_file
    except InstanceError:
        source = None
    return source or f"the instance config of {instance.root_directory}"
