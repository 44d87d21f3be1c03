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
    "AddDynamicPartitionsRequest",
    "AllPartitionMapping",
    "AnchorBasedFilePathMapping",
    "Any",
    "Array",
    "AssetCheckEvaluation",
    "AssetCheckExecutionContext",
    "AssetCheckKey",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetObservation",
    "AssetOrCheckKey",
    "AssetOut",
    "AssetPartitionStatus",
    "AssetRecordsFilter",
    "AssetSelection",
    "AssetSensorDefinition",
    "AssetSpec",
    "AssetValueLoader",
    "AssetsDefinition",
    "AutoMaterializeAssetPartitionsFilter",
    "AutoMaterializePolicy",
    "AutoMaterializeRule",
    "AutomationCondition",
    "AutomationConditionSensorDefinition",
    "AutomationContext",
    "AutomationResult",
    "BackfillPolicy",
    "Backoff",
    "BetaWarning",
    "Bool",
    "BoolMetadataValue",
    "BoolSource",
    "CodeLocationSelector",
    "CodeReferencesMetadataValue",
    "Config",
    "ConfigArgumentWarning",
    "ConfigMapping",
    "ConfigSchema",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableLegacyIOManagerAdapter",
    "ConfigurableResource",
    "DagsterAssetMetadataValue",
    "DagsterConfigMappingFunctionError",
    "DagsterError",
    "DagsterEvent",
    "DagsterEventType",
    "DagsterExecutionStepExecutionError",
    "DagsterExecutionStepNotFoundError",
    "DagsterInstance",
    "DagsterInvalidConfigDefinitionError",
    "DagsterInvalidConfigError",
    "DagsterInvalidDefinitionError",
    "DagsterInvalidInvocationError",
    "DagsterInvalidSubsetError",
    "DagsterInvariantViolationError",
    "DagsterJobMetadataValue",
    "DagsterLogManager",
    "DagsterResourceFunctionError",
    "DagsterRun",
    "DagsterRunMetadataValue",
    "DagsterRunNotFoundError",
    "DagsterRunStatus",
    "DagsterStepOutputNotFoundError",
    "DagsterSubprocessError",
    "DagsterType",
    "DagsterTypeCheckDidNotPass",
    "DagsterTypeCheckError",
    "DagsterTypeLoader",
    "DagsterTypeLoaderContext",
    "DagsterUnknownPartitionError",
    "DagsterUnknownResourceError",
    "DagsterUnmetExecutorRequirementsError",
    "DagsterUserCodeExecutionError",
    "DailyPartitionsDefinition",
    "DataProvenance",
    "DataVersion",
    "DataVersionsByPartition",
    "DefaultRunLauncher",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DeleteDynamicPartitionsRequest",
    "DependencyDefinition",
    "Dict",
    "DimensionPartitionMapping",
    "DuplicateKeyError",
    "DynamicOut",
    "DynamicOutput",
    "DynamicPartitionsDefinition",
    "Enum",
    "EnumValue",
    "EnvVar",
    "EvaluateAutomationConditionsResult",
    "Event",
    "EventLogEntry",
    "EventLogRecord",
    "EventRecordsFilter",
    "EventRecordsResult",
    "EventType",
    "ExecuteInProcessResult",
    "ExecutionPlan",
    "ExecutionStep",
    "Executor",
    "ExecutorDefinition",
    "Failure",
    "Field",
    "FilePathMapping",
    "FilesystemIOManager",
    "Float",
    "FloatMetadataValue",
    "FreshnessPolicy",
    "GraphDefinition",
    "GraphIn",
    "GraphOut",
    "HookContext",
    "HookDefinition",
    "HookExecutionResult",
    "HourlyPartitionsDefinition",
    "IAttachDifferentObjectToOpContext",
    "IOManager",
    "IOManagerDefinition",
    "IdentityPartitionMapping",
    "In",
    "InMemoryIOManager",
    "InitLoggerContext",
    "InitResourceContext",
    "InputContext",
    "InputManager",
    "InputManagerDefinition",
    "InputMapping",
    "Instance",
    "InstanceError",
    "Int",
    "IntMetadataValue",
    "IntSource",
    "InvalidConfigError",
    "InvalidDefinitionError",
    "InvalidInvocationError",
    "InvariantViolationError",
    "Jitter",
    "JobDefinition",
    "JobExecutionResult",
    "JobSelector",
    "JsonLogFormatter",
    "JsonMetadataValue",
    "LastPartitionMapping",
    "LegacyFreshnessPolicy",
    "List",
    "LocalFileCodeReference",
    "LoggerDefinition",
    "MAX_RUNTIME_SECONDS_TAG",
    "Map",
    "MarkdownMetadataValue",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiAssetSensorDefinition",
    "MultiAssetSensorEvaluationContext",
    "MultiDependencyDefinition",
    "MultiPartitionKey",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "NodeInvocation",
    "Noneable",
    "NotebookMetadataValue",
    "Nothing",
    "NullMetadataValue",
    "ObserveResult",
    "OpDefinition",
    "OpExecutionContext",
    "Optional",
    "Out",
    "Output",
    "OutputContext",
    "OutputMapping",
    "PaginatedResults",
    "Partition",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionedConfig",
    "PartitionsDefinition",
    "PathMetadataValue",
    "PendingNodeInvocation",
    "Permissive",
    "PermissiveConfig",
    "PipesBlobStoreMessageReader",
    "PipesChunkedLogReader",
    "PipesClient",
    "PipesClientCompletedInvocation",
    "PipesCompositeMessageReader",
    "PipesContextInjector",
    "PipesDirectoryMessageReader",
    "PipesEnvContextInjector",
    "PipesExecutionError",
    "PipesExecutionResult",
    "PipesFileContextInjector",
    "PipesFileLogReader",
    "PipesFileMessageReader",
    "PipesLaunchedData",
    "PipesLogReader",
    "PipesMessageHandler",
    "PipesMessageReader",
    "PipesSession",
    "PipesSubprocessClient",
    "PipesTempFileContextInjector",
    "PipesTempFileMessageReader",
    "PlanOrchestrationContext",
    "PoolMetadataValue",
    "PreviewWarning",
    "PythonArtifactMetadataValue",
    "PythonObjectDagsterType",
    "QueuedRunCoordinator",
    "ReexecutionOptions",
    "RepositorySelector",
    "ResourceDefinition",
    "ResourceDependency",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "Run",
    "RunConfig",
    "RunFailureSensorContext",
    "RunRecord",
    "RunRequest",
    "RunShardedEventsCursor",
    "RunStatus",
    "RunStatusChangeRecordsFilter",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
    "RunsFilter",
    "ScalarUnion",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "Selector",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SensorReturnTypesUnion",
    "Set",
    "Shape",
    "SkipReason",
    "SourceAsset",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "StepExecutionContext",
    "StepOutputHandle",
    "String",
    "StringSource",
    "SubmitRunContext",
    "SupersessionWarning",
    "TableColumn",
    "TableColumnConstraints",
    "TableColumnDep",
    "TableColumnLineage",
    "TableColumnLineageMetadataValue",
    "TableConstraints",
    "TableMetadataSet",
    "TableMetadataValue",
    "TableRecord",
    "TableSchema",
    "TableSchemaMetadataValue",
    "TextMetadataValue",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "TimestampMetadataValue",
    "TrellisError",
    "Tuple",
    "TypeCheck",
    "TypeCheckContext",
    "TypeCheckError",
    "UnknownResourceError",
    "UrlCodeReference",
    "UrlMetadataValue",
    "UserCodeExecutionError",
    "WeeklyPartitionsDefinition",
    "apply_freshness_policy",
    "asset",
    "asset_check",
    "asset_sensor",
    "build_asset_check_context",
    "build_asset_context",
    "build_column_schema_change_checks",
    "build_hook_context",
    "build_init_logger_context",
    "build_init_resource_context",
    "build_input_context",
    "build_last_update_freshness_checks",
    "build_metadata_bounds_checks",
    "build_multi_asset_sensor_context",
    "build_op_context",
    "build_output_context",
    "build_reconstructable_job",
    "build_resources",
    "build_run_status_sensor_context",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "build_sensor_for_freshness_checks",
    "build_time_partition_freshness_checks",
    "check_dagster_type",
    "colored_console_logger",
    "components",
    "config_from_files",
    "config_from_pkg_resources",
    "config_from_yaml_strings",
    "config_mapping",
    "configured",
    "custom_path_fs_io_manager",
    "dagster_type_loader",
    "daily_partitioned_config",
    "dask_executor",
    "default_loggers",
    "default_system_loggers",
    "define_asset_job",
    "definitions",
    "evaluate_automation_conditions",
    "execute_job",
    "failure_hook",
    "file_relative_path",
    "fs_io_manager",
    "get_dagster_logger",
    "graph",
    "graph_asset",
    "graph_multi_asset",
    "hourly_partitioned_config",
    "in_process_executor",
    "input_manager",
    "instance_for_test",
    "io_manager",
    "job",
    "json_console_logger",
    "link_code_references_to_git",
    "load_asset_checks_from_current_module",
    "load_asset_checks_from_modules",
    "load_asset_checks_from_package_module",
    "load_asset_checks_from_package_name",
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
    "logger",
    "make_email_on_run_failure_sensor",
    "make_python_type_usable_as_dagster_type",
    "make_values_resource",
    "map_asset_specs",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "monthly_partitioned_config",
    "multi_asset",
    "multi_asset_check",
    "multi_asset_sensor",
    "multi_observable_source_asset",
    "multi_or_in_process_executor",
    "multiprocess_executor",
    "multithread_executor",
    "observable_source_asset",
    "op",
    "open_pipes_session",
    "partition_loading_context",
    "partitioned_config",
    "reconstructable",
    "resource",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
    "static_partitioned_config",
    "success_hook",
    "usable_as_dagster_type",
    "validate_run_config",
    "weekly_partitioned_config",
    "with_resources",
    "with_source_code_references",
]


def test_public_names_are_exactly_the_pinned_list():
    assert trellis.__all__ == EXPECTED_PUBLIC_NAMES


def test_type_checking_imports_match_the_lazy_export_table():
    # Type checkers read trellis/_public_types.py (star-imported by trellis/__init__.py under
    # `if TYPE_CHECKING:`); the runtime reads _EXPORTS. Both must name the same names from
    # the same modules.
    package = Path(trellis.__file__).parent
    init = ast.parse((package / "__init__.py").read_text())
    blocks = [
        node
        for node in init.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected one `if TYPE_CHECKING:` block in trellis/__init__.py"
    assert ast.unparse(blocks[0].body[0]) == "from trellis._public_types import *"
    imported: dict[str, str] = {}
    for node in ast.parse((package / "_public_types.py").read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                public = alias.asname or alias.name
                assert public not in imported, f"{public} is imported twice"
                # `from m import Instance as DagsterInstance` is "m:Instance" in _EXPORTS
                renamed = alias.asname not in (None, alias.name)
                imported[public] = f"{node.module}:{alias.name}" if renamed else node.module or ""
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


def test_dagster_names_are_the_same_objects_as_trellis_names():
    assert trellis.DagsterInstance is trellis.Instance
    assert trellis.DagsterRun is trellis.Run
    assert trellis.DagsterRunStatus is trellis.RunStatus
    assert trellis.DagsterEvent is trellis.Event
    assert trellis.DagsterEventType is trellis.EventType
    assert trellis.DagsterError is trellis.TrellisError
    assert trellis.DagsterInvalidDefinitionError is trellis.InvalidDefinitionError
    assert trellis.DagsterTypeCheckDidNotPass is trellis.TypeCheckError
    for name in trellis.__all__:
        if name.startswith("Dagster") and name.endswith("Error"):
            assert issubclass(getattr(trellis, name), trellis.TrellisError), name
