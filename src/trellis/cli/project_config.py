"""The code target of a project without ``-f``/``-m``: read from the working directory's
``pyproject.toml``, the first of these tables that exists:

- ``[tool.trellis]``: ``module`` or ``file``, optional ``attribute``;
- ``[tool.dagster]``: ``module_name`` (or a one-entry ``modules`` list), as ``dagster
  dev`` reads it; ``code_location_name`` is accepted and not needed;
- ``[tool.dg.project]`` (projects made by ``create-dagster``): with ``autoload_defs =
  true`` the ``defs_module`` package (default ``<root_module>.defs``) is loaded as a
  defs folder; otherwise ``code_location_target_module`` (default
  ``<root_module>.definitions``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.cli.errors import CliError
from trellis.cli.suggest import did_you_mean

TRELLIS_KEYS = ["module", "file", "attribute"]


def target_from_pyproject(path: Path, attribute: str | None) -> CodeTarget:
    """The target in ``path`` (a ``pyproject.toml``); ``CliError`` naming the file when
    there is none or a table is wrong."""
    hint = "Pass -f FILE or -m MODULE"
    tables = "a [tool.trellis] (or [tool.dagster] / [tool.dg]) table"
    if not path.is_file():
        raise CliError(f"No code to load. {hint}, or add {tables} to pyproject.toml.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"Cannot read {path}: {exc}") from None
    tool = data.get("tool", {})
    if isinstance(tool.get("trellis"), dict):
        return _trellis_table(path, tool["trellis"], attribute)
    if isinstance(tool.get("dagster"), dict) and (
        "module_name" in tool["dagster"] or "modules" in tool["dagster"]
    ):
        return _dagster_table(path, tool["dagster"], attribute)
    dg = tool.get("dg", {})
    if isinstance(dg, dict) and isinstance(dg.get("project"), dict):
        return _dg_table(path, dg["project"], attribute)
    raise CliError(f"No code to load. {hint}, or add {tables} to {path}.")


def _trellis_table(path: Path, table: dict[str, Any], attribute: str | None) -> CodeTarget:
    unknown = sorted(set(table) - set(TRELLIS_KEYS))
    if unknown:
        raise CliError(
            f"{path}: [tool.trellis] has unknown key '{unknown[0]}'."
            f"{did_you_mean(unknown[0], TRELLIS_KEYS)}"
        )
    module, file = table.get("module"), table.get("file")
    if bool(module) == bool(file):
        raise CliError(f"{path}: [tool.trellis] needs exactly one of 'module' or 'file'.")
    attr = attribute or table.get("attribute")
    source = f"{path.name} [tool.trellis]"
    if file:
        return CodeTarget(file=path.parent / str(file), attribute=attr, source=source)
    return CodeTarget(module=str(module), attribute=attr, source=source)


def _dagster_table(path: Path, table: dict[str, Any], attribute: str | None) -> CodeTarget:
    module = table.get("module_name")
    modules = table.get("modules")
    if module is not None and modules:
        raise CliError(f"{path}: [tool.dagster] sets both 'module_name' and 'modules'; keep one.")
    if modules is not None:
        if not isinstance(modules, list) or not modules:
            raise CliError(f"{path}: [tool.dagster] 'modules' must be a non-empty list.")
        names = [
            m.get("name") for m in modules if isinstance(m, dict) and m.get("type") == "module"
        ]
        if len(names) != 1:
            listing = ", ".join(str(n) for n in names) or "none of type 'module'"
            raise CliError(
                f"{path}: [tool.dagster] lists {len(names)} code locations ({listing}); "
                "Trellis loads one: choose it with -m MODULE."
            )
        module = names[0]
    if not isinstance(module, str) or not module:
        raise CliError(f"{path}: [tool.dagster] 'module_name' must be a module name.")
    return CodeTarget(module=module, attribute=attribute, source=f"{path.name} [tool.dagster]")


def _dg_table(path: Path, table: dict[str, Any], attribute: str | None) -> CodeTarget:
    root = table.get("root_module")
    source = f"{path.name} [tool.dg.project]"
    if table.get("autoload_defs"):
        defs_module = table.get("defs_module") or (f"{root}.defs" if root else None)
        if not defs_module:
            raise CliError(f"{path}: [tool.dg.project] needs 'root_module' or 'defs_module'.")
        return CodeTarget(module=str(defs_module), defs_folder=True, source=source)
    target = table.get("code_location_target_module") or (f"{root}.definitions" if root else None)
    if not target:
        raise CliError(
            f"{path}: [tool.dg.project] needs 'root_module' (or 'code_location_target_module')."
        )
    return CodeTarget(module=str(target), attribute=attribute, source=source)
