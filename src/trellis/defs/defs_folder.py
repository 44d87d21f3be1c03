"""The ``defs/`` folder of a Dagster 1.11+ project: ``load_from_defs_folder`` and
``load_defs`` collect every Python module below the project's defs package into one
``Definitions``, as Dagster does:

- the project is found from a path inside it: the nearest folder upwards with a
  ``dg.toml`` (table ``[project]``) or a ``pyproject.toml`` with a ``[tool.dg]`` table
  (``[tool.dg.project]``); its ``defs_module`` (default ``<root_module>.defs``) is the
  package whose folder is walked;
- every ``.py`` file below it is imported (``__init__.py`` as its package), folders in
  name order, ``__pycache__`` and hidden entries skipped, other files ignored;
- a module that holds a ``Definitions`` object contributes that object (at most one per
  module); one with ``@definitions`` functions contributes what they return; any other
  module contributes the assets, asset specs, jobs, schedules and sensors at its top
  level (``load_definitions_from_module``);
- ``load_defs`` (deprecated in Dagster for ``load_from_defs_folder``) also stops at a
  folder that has a ``definitions.py`` (and no ``component.py``) and loads only that file.

YAML components (``defs.yaml``, ``defs.yml``, ``component.yaml``) are Dagster components,
which Trellis does not have: a folder holding one is refused with an error naming it.
The project's package need not be installed: when it cannot be imported, the project's
``src/`` folder (or the project folder) is put on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.lazy_definitions import LazyDefinitions
from trellis.defs.loading import (
    LOADABLE_TYPES,
    collect_objects,
    definitions_arguments,
    objects_in_module,
)

if TYPE_CHECKING:
    from trellis.defs.definitions import Definitions

YAML_COMPONENT_FILES = ("defs.yaml", "defs.yml", "component.yaml")
DEFAULT_DEFS_SUBMODULE = "defs"


@dataclass(frozen=True)
class DgProject:
    """A project's ``dg`` settings: the file they came from and its ``project`` table."""

    config_path: Path
    table: dict[str, Any]

    @property
    def root(self) -> Path:
        """The project folder (where the config file is)."""
        return self.config_path.parent

    @property
    def root_module(self) -> str | None:
        """``root_module``: the project's top-level package."""
        value = self.table.get("root_module")
        return str(value) if value else None

    @property
    def defs_module(self) -> str:
        """``defs_module``, or ``<root_module>.defs``."""
        value = self.table.get("defs_module")
        if value:
            return str(value)
        if self.root_module is None:
            raise InvalidDefinitionError(
                f"{self.config_path}: the dg project table sets neither 'root_module' nor "
                "'defs_module'."
            )
        return f"{self.root_module}.{DEFAULT_DEFS_SUBMODULE}"


def read_dg_project(config_path: Path) -> DgProject | None:
    """The dg project settings of ``dg.toml`` or of ``pyproject.toml``'s ``[tool.dg]``
    (None when that file has no dg table)."""
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidDefinitionError(f"Cannot read {config_path}: {exc}") from None
    if config_path.name in ("dg.toml", ".dg.toml"):
        node: Any = data
    else:
        node = data.get("tool", {}).get("dg")
        if not isinstance(node, dict):
            return None
    project = node.get("project", {})
    if not isinstance(project, dict):
        raise InvalidDefinitionError(f"{config_path}: the dg 'project' entry must be a table.")
    return DgProject(config_path, project)


def find_dg_project(path_within_project: Path) -> DgProject:
    """The dg project that ``path_within_project`` belongs to: the nearest folder at or
    above it with a ``dg.toml`` or a ``pyproject.toml`` holding ``[tool.dg]``."""
    start = path_within_project.resolve()
    for folder in [start, *start.parents]:
        for name in ("dg.toml", "pyproject.toml"):
            candidate = folder / name
            if candidate.is_file():
                project = read_dg_project(candidate)
                if project is not None:
                    return project
    raise InvalidDefinitionError(
        f"No dg.toml, and no pyproject.toml with a [tool.dg] table, in {start} or any "
        "folder above it. load_from_defs_folder reads the project's root_module (or "
        "defs_module) from [tool.dg.project]."
    )


def import_project_module(name: str, project_root: Path) -> ModuleType:
    """Import ``name``; when its top-level package is not importable, retry with the
    project's ``src/`` folder (or the project folder) on ``sys.path``."""
    top = name.split(".")[0]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != top:
            raise
    for folder in (project_root / "src", project_root):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module(name)
    raise InvalidDefinitionError(
        f"Cannot import the project's module '{name}': '{top}' is neither installed nor a "
        f"folder in {project_root / 'src'} or {project_root}."
    )


def _module_files(folder: Path, package: str, stop_at_keyword_files: bool) -> list[str]:
    """The module names under ``folder`` (the folder of ``package``), walk order."""
    for name in YAML_COMPONENT_FILES:
        if (folder / name).is_file():
            raise InvalidDefinitionError(
                f"{folder / name}: YAML component files are Dagster components, which "
                "Trellis does not support. Define these assets in a Python module in the "
                "defs folder instead."
            )
    keyword_file = (folder / "definitions.py").is_file() and not (folder / "component.py").exists()
    if stop_at_keyword_files and keyword_file:
        return [f"{package}.definitions"]
    names: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name == "__pycache__" or entry.name.startswith("."):
            continue
        if entry.is_dir():
            names.extend(_module_files(entry, f"{package}.{entry.name}", stop_at_keyword_files))
        elif entry.suffix == ".py":
            names.append(package if entry.name == "__init__.py" else f"{package}.{entry.stem}")
    return names


def _module_arguments(module: ModuleType) -> list[dict[str, Any]]:
    """What one module of a defs folder contributes, as ``Definitions`` arguments."""
    from trellis.defs.definitions import Definitions

    where = getattr(module, "__file__", None) or module.__name__
    found = list(objects_in_module(module, (Definitions,)))
    lazy = list(objects_in_module(module, (LazyDefinitions,)))
    if found and lazy:
        raise InvalidDefinitionError(
            f"{where} has both @definitions functions and Definitions objects; keep one kind."
        )
    if len({id(d) for d in found}) > 1:
        raise InvalidDefinitionError(
            f"{where} has {len(found)} Definitions objects; a defs-folder module may have one."
        )
    if found:
        return [found[0].merge_arguments()]
    if lazy:
        return [fn().merge_arguments() for fn in lazy]
    return [definitions_arguments(collect_objects([module], LOADABLE_TYPES))]


def load_defs_package(package: ModuleType, *, stop_at_keyword_files: bool) -> Definitions:
    """Every module below the folder of ``package`` merged into one ``Definitions``."""
    from trellis.defs.definitions import Definitions, merge_arguments

    path = list(getattr(package, "__path__", None) or [])
    if not path:
        raise InvalidDefinitionError(
            f"'{package.__name__}' is a module, not a package: a defs folder is a package "
            "(a folder of Python files)."
        )
    parts: list[dict[str, Any]] = []
    labels: list[str] = []
    for name in _module_files(Path(path[0]), package.__name__, stop_at_keyword_files):
        module = importlib.import_module(name)
        for arguments in _module_arguments(module):
            parts.append(arguments)
            labels.append(f"module '{name}'")
    return Definitions(**merge_arguments(parts, labels))


def load_from_defs_folder(
    *,
    path_within_project: Path | str | None = None,
    project_root: Path | str | None = None,
) -> Definitions:
    """The ``Definitions`` of every module in the project's defs folder; the project is
    the one ``path_within_project`` (or, its older name, ``project_root``) lies in."""
    start = path_within_project if path_within_project is not None else project_root
    if start is None:
        raise InvalidDefinitionError(
            "load_from_defs_folder() needs path_within_project= (a path inside the project)."
        )
    project = find_dg_project(Path(start))
    package = import_project_module(project.defs_module, project.root)
    return load_defs_package(package, stop_at_keyword_files=False)


def load_defs(
    defs_root: ModuleType,
    project_root: Path | str | None = None,
    terminate_autoloading_on_keyword_files: bool = True,
) -> Definitions:
    """Deprecated (as in Dagster): the ``Definitions`` of every module below the package
    ``defs_root``; use ``load_from_defs_folder``."""
    warnings.warn(
        "load_defs is deprecated; use load_from_defs_folder(path_within_project=...) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return load_defs_package(
        defs_root, stop_at_keyword_files=terminate_autoloading_on_keyword_files
    )
