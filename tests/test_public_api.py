"""The public surface is ``trellis/__init__.py``; these tests pin it."""

import ast
import subprocess
import sys
from pathlib import Path

import trellis


def test_all_is_sorted_and_unique():
    assert trellis.__all__ == sorted(set(trellis.__all__))


def test_every_public_name_resolves_to_an_object_with_a_docstring():
    for name in trellis.__all__:
        obj = getattr(trellis, name)
        assert obj is not None, name
        if callable(obj) and not isinstance(obj, (str, int)):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_unknown_name_raises_attribute_error():
    try:
        trellis.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_trellis_is_light():
    heavy = ["pydantic", "sqlalchemy", "dask", "distributed", "croniter", "yaml", "rich", "lark"]
    code = f"import sys, trellis\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import trellis pulled in: {out.stdout.strip()}"


def test_all_matches_the_lazy_export_table():
    assert set(trellis.__all__) == set(trellis._EXPORTS)


# The public surface, pinned: adding or removing a name is a deliberate change here.
EXPECTED_PUBLIC_NAMES = [
    "Array",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetObservation",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "Backoff",
    "BoolSource",
    "Config",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableResource",
    "DailyPartitionsDefinition",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DuplicateKeyError",
    "Enum",
    "EnumValue",
    "EnvVar",
    "Event",
    "EventType",
    "ExecuteInProcessResult",
    "ExecutionPlan",
    "ExecutionStep",
    "Executor",
    "ExecutorDefinition",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "GraphDefinition",
    "GraphOut",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IOManagerDefinition",
    "In",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "InputManager",
    "Instance",
    "InstanceError",
    "IntSource",
    "InvalidConfigError",
    "InvalidDefinitionError",
    "InvalidInvocationError",
    "InvariantViolationError",
    "Jitter",
    "JobDefinition",
    "Map",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "Noneable",
    "Nothing",
    "OpDefinition",
    "OpExecutionContext",
    "Out",
    "Output",
    "OutputContext",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "Permissive",
    "PermissiveConfig",
    "PlanOrchestrationContext",
    "ResourceDefinition",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "Run",
    "RunConfig",
    "RunRequest",
    "RunStatus",
    "ScalarUnion",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "Selector",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "Shape",
    "SkipReason",
    "StaticPartitionsDefinition",
    "StepExecutionContext",
    "StepOutputHandle",
    "StringSource",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "TrellisError",
    "TypeCheckError",
    "UnknownResourceError",
    "UserCodeExecutionError",
    "WeeklyPartitionsDefinition",
    "asset",
    "build_asset_context",
    "build_init_resource_context",
    "build_input_context",
    "build_op_context",
    "build_output_context",
    "build_resources",
    "build_schedule_context",
    "build_sensor_context",
    "components",
    "dask_executor",
    "define_asset_job",
    "definitions",
    "fs_io_manager",
    "graph",
    "in_process_executor",
    "io_manager",
    "job",
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
    "load_definitions_from_current_module",
    "load_definitions_from_module",
    "load_definitions_from_modules",
    "load_definitions_from_package_module",
    "load_definitions_from_package_name",
    "load_defs",
    "load_from_defs_folder",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "multi_asset",
    "multiprocess_executor",
    "multithread_executor",
    "op",
    "resource",
    "schedule",
    "sensor",
    "with_resources",
]


def test_public_names_are_exactly_the_pinned_list():
    assert trellis.__all__ == EXPECTED_PUBLIC_NAMES


def test_type_checking_imports_match_the_lazy_export_table():
    # Type checkers read the `if TYPE_CHECKING:` imports of trellis/__init__.py; the runtime
    # reads _EXPORTS. Both must name the same names from the same modules.
    tree = ast.parse(Path(trellis.__file__).read_text())
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected one `if TYPE_CHECKING:` block in trellis/__init__.py"
    imported: dict[str, str] = {}
    for node in ast.walk(blocks[0]):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                assert alias.asname in (None, alias.name), f"{alias.name} is renamed"
                assert alias.name not in imported, f"{alias.name} is imported twice"
                imported[alias.name] = node.module or ""
        else:
            assert not isinstance(node, ast.Import), "use `from module import Name` there"
    assert imported == trellis._EXPORTS


def test_no_internal_subpackage_takes_a_public_name():
    # Importing trellis.<sub> sets the attribute trellis.<sub> to the subpackage, hiding a
    # public name of the same spelling (trellis.definitions was the layer once, so
    # `from trellis import definitions` gave a module instead of the decorator).
    package = Path(trellis.__file__).parent
    subpackages = {p.parent.name for p in package.glob("*/__init__.py")}
    public_subpackages = {"components"}
    assert not (subpackages - public_subpackages) & set(trellis.__all__)


def test_from_trellis_import_definitions_is_the_decorator_after_every_import():
    code = (
        "import pkgutil, importlib, trellis\n"
        "for m in pkgutil.walk_packages(trellis.__path__, 'trellis.'):\n"
        "    if '.cli' not in m.name and 'migrations' not in m.name:\n"
        "        importlib.import_module(m.name)\n"
        "from trellis import definitions, components\n"
        "print(type(definitions).__name__, components.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["function", "trellis.components"]
