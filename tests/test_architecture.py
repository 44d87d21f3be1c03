"""The package layout is the architecture: each layer imports (at module level) only from
the layers before it. See ARCHITECTURE.md for the layers and the few call-time imports
that entry-point conveniences make (``job.execute_in_process`` and friends)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "trellis"
LAYERS = [
    "core",
    "config",
    "defs",
    "plan",
    "contexts",
    "instance",
    "automation",
    "views",
    "execution",
    "api",
    "daemon",
    "cli",
    "web",
]
MAX_MODULE_LINES = 800


def _module_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue  # type-only imports
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []:
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                found.append(sub.module)
            elif isinstance(sub, ast.Import):
                found.extend(alias.name for alias in sub.names)
    return found


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "trellis" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_only_from_earlier_layers(layer):
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        own = LAYERS.index(layer)
        for module in _module_level_imports(path):
            other = _layer_of(module)
            if other is not None and other > own:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_every_module_stays_small():
    big = [
        f"{p.relative_to(PACKAGE)}: {n} lines"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not big, big


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                overload = any("overload" in ast.unparse(d) for d in node.decorator_list)
                if not overload and not ast.get_docstring(node):
                    missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not missing, "\n".join(missing)
