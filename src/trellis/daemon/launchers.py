"""Which ``RunLauncher`` a daemon uses: ``trellis daemon --launcher NAME`` first, else the
``run_launcher`` section of ``trellis.yaml`` (``LauncherSpec``: Trellis's launchers by
class name, Dagster's ``DefaultRunLauncher``, or a user's ``RunLauncher`` subclass by
``module`` and ``class``, built with its ``config`` as keyword arguments), else the
default: the forked launcher on Linux, the subprocess launcher elsewhere (the portable
one: a new interpreter per run, one started ahead)."""

from __future__ import annotations

import os
import sys
from typing import Any

from trellis.core.errors import InstanceError
from trellis.daemon.launcher import RunLauncher, SubprocessRunLauncher
from trellis.instance.daemon_config import LauncherSpec
from trellis.instance.user_class import build_user_class, config_file_of

LAUNCHER_NAMES = ("fork", "subprocess", "dask")
"""The names ``trellis daemon --launcher`` takes."""
_BY_CLASS = {
    "ForkRunLauncher": "fork",
    "SubprocessRunLauncher": "subprocess",
    "DaskRunLauncher": "dask",
}


def default_launcher_name() -> str:
    """``fork`` on Linux (a warm zygote's children start in milliseconds), else
    ``subprocess`` (no ``fork``, or a platform where forking a process that has imported
    arbitrary libraries is not safe, such as macOS)."""
    return "fork" if sys.platform.startswith("linux") and hasattr(os, "fork") else "subprocess"


def launcher_by_name(
    name: str, code_location_tag: str | None, config: dict[str, Any] | None = None
) -> RunLauncher:
    """The launcher ``name`` (one of ``LAUNCHER_NAMES``, or ``default``) built with
    ``config`` (keyword arguments); the forked one preloads ``code_location_tag``."""
    config = dict(config or {})
    if name == "default":
        name = default_launcher_name()
    if name == "fork":
        from trellis.daemon.fork_launcher import ForkRunLauncher

        return ForkRunLauncher(code_location_tag, **config)
    if name == "subprocess":
        return SubprocessRunLauncher(**config)
    if name == "dask":
        from trellis.daemon.dask_launcher import DaskRunLauncher

        return DaskRunLauncher(**config)
    raise InstanceError(
        f"Unknown run launcher {name!r}: choose one of {', '.join(LAUNCHER_NAMES)}."
    )


def _user_launcher(spec: LauncherSpec, where: str) -> RunLauncher:
    return build_user_class(
        "run_launcher", where, spec.module or "", spec.class_name, RunLauncher, spec.config
    )


def launcher_from_spec(
    spec: LauncherSpec, code_location_tag: str | None, where: str
) -> RunLauncher:
    """The launcher the ``run_launcher`` section ``spec`` describes (``where``: the file,
    for errors)."""
    if not spec.is_builtin:
        return _user_launcher(spec, where)
    name = _BY_CLASS.get(spec.class_name, "default")  # DefaultRunLauncher: the default
    try:
        return launcher_by_name(name, code_location_tag, spec.config)
    except (TypeError, ValueError) as exc:
        raise InstanceError(f"run_launcher in {where}: {spec.class_name}: {exc}") from exc


def choose_launcher(
    instance: Any,
    code_location_tag: str | None,
    name: str | None = None,
    dask_address: str | None = None,
) -> RunLauncher:
    """The daemon's launcher: ``name`` (``--launcher``) if given, else ``trellis.yaml``'s
    ``run_launcher``, else the default (see the module docstring)."""
    if name is not None:
        config = {"address": dask_address} if name == "dask" else None
        return launcher_by_name(name, code_location_tag, config)
    spec = instance.settings.daemon.run_launcher
    if spec is not None:
        return launcher_from_spec(spec, code_location_tag, config_file_of(instance))
    return launcher_by_name("default", code_location_tag)
