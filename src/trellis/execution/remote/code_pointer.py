"""``CodePointer``: where a job's code lives (a file or an importable module, and an
attribute), so another process can load it by reference instead of receiving pickled
functions. The CLI's ``-f/-m/-a`` options and the Python API give the same pointer."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from trellis.core.errors import InvalidInvocationError


def import_file(path: Path) -> ModuleType:
    """Import a Python file as Python would run it (its directory first on ``sys.path``),
    registered in ``sys.modules`` under its stem so its objects pickle by reference."""
    path = path.resolve()
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = path.stem if path.stem.isidentifier() else "trellis_user_code"
    existing = sys.modules.get(name)
    if existing is not None:
        if Path(getattr(existing, "__file__", "") or "").resolve() == path:
            return existing
        name = f"trellis_user_code_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInvocationError(f"Cannot import {path}: not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


_CALLED: dict[tuple[Any, ...], Any] = {}  # a pointer with ``calls`` -> what it returned


@dataclass(frozen=True)
class CodePointer:
    """A file (or module) and, optionally, the attribute that holds a ``Definitions``, an
    ``@definitions`` function or a job; without an attribute, the module's definitions
    are found as the CLI finds them. ``defs_folder`` marks a module that is a Dagster
    ``defs/`` package (loaded as ``load_defs`` does); ``working_directory`` goes on
    ``sys.path`` before a module is imported."""

    file: str | None = None
    module: str | None = None
    attribute: str | None = None
    working_directory: str | None = None
    defs_folder: bool = False
    # The attribute is a function that returns the job, called with these arguments
    # (``reconstructable`` / ``build_reconstructable_job``).
    calls: bool = False
    call_args: tuple[Any, ...] = ()
    call_kwargs: tuple[tuple[str, Any], ...] = ()

    def load_module(self) -> ModuleType:
        """Import the module the pointer names (once per process)."""
        if self.working_directory and self.working_directory not in sys.path:
            sys.path.insert(0, self.working_directory)
        if self.module is not None:
            try:
                return importlib.import_module(self.module)
            except ImportError:
                if self.file is None:
                    raise
        if self.file is None:
            raise InvalidInvocationError("A code pointer needs a file or a module.")
        return import_file(Path(self.file))

    def load_definitions(self) -> Any:
        """The ``Definitions`` the pointer names (None when it names a job itself)."""
        from trellis.defs.defs_folder import load_defs_package
        from trellis.defs.job import JobDefinition
        from trellis.defs.module_definitions import (
            definitions_from_value,
            find_module_definitions,
        )

        module = self.load_module()
        if self.defs_folder:
            return load_defs_package(module, stop_at_keyword_files=True)
        if self.attribute:
            target = self._attribute_value(module)
            if isinstance(target, JobDefinition):
                return None
            return definitions_from_value(target, self.describe())
        return find_module_definitions(module, self.describe())[0]

    def load_job(self, job_name: str) -> Any:
        """The job called ``job_name`` from the pointed-to object: a job itself, or the
        ``Definitions`` (asset jobs, op jobs and the implicit asset job)."""
        defs = self.load_definitions()
        if defs is None:
            return self._attribute_value(self.load_module())
        return defs.get_job_def(job_name)

    def _attribute_value(self, module: ModuleType) -> Any:
        """The attribute's value; with ``calls``, what the function returns (once per
        process for a given pointer)."""
        try:
            target = getattr(module, str(self.attribute))
        except AttributeError:
            raise InvalidInvocationError(
                f"{self.describe()}: the module has no attribute '{self.attribute}'."
            ) from None
        if not self.calls:
            return target
        key = (self.file, self.module, self.attribute, repr(self.call_args), repr(self.call_kwargs))
        made = _CALLED.get(key)
        if made is None:
            made = _CALLED[key] = target(*self.call_args, **dict(self.call_kwargs))
        return made

    def describe(self) -> str:
        """How messages name the pointer."""
        where = self.file or f"module {self.module}"
        return f"{where}:{self.attribute}" if self.attribute else where


def module_pointer(module: ModuleType, attribute: str) -> CodePointer:
    """The pointer to ``attribute`` of ``module``: by module name when it can be imported
    again, else by its file."""
    name = module.__name__
    file = getattr(module, "__file__", None)
    importable = name != "__main__" and importlib.util.find_spec(name) is not None
    return CodePointer(file=file, module=name if importable else None, attribute=attribute)


def _is_user_module(module: ModuleType) -> bool:
    file = getattr(module, "__file__", None) or ""
    return (
        bool(file)
        and not file.startswith((sys.prefix, sys.base_prefix))
        and ("trellis" not in module.__name__.split(".")[0])
    )


def _holds(defs: Any, job: Any) -> bool:
    """Whether ``defs`` (a Definitions) can hand out ``job`` by its name."""
    if job.asset_graph is not None and job.asset_graph is defs.asset_graph:
        return True
    graph = getattr(job, "graph_def", None)
    return graph is not None and any(j.name == job.name and j.graph_def is graph for j in defs.jobs)


def find_code_pointer(job: Any) -> CodePointer | None:
    """Where ``job`` can be loaded from in another process: a module attribute that is
    the job itself, or a ``Definitions`` that holds a job of that name (None if there
    is no such attribute, e.g. a job built inside a function)."""
    from trellis.defs.definitions import Definitions

    pointer = getattr(job, "code_pointer", None)
    if pointer is not None:
        return pointer
    found: CodePointer | None = None
    for module in list(sys.modules.values()):
        if module is None or not _is_user_module(module):
            continue
        for attribute, value in list(vars(module).items()):
            if value is job:
                return module_pointer(module, attribute)
            if found is None and isinstance(value, Definitions) and _holds(value, job):
                found = module_pointer(module, attribute)
    return found
