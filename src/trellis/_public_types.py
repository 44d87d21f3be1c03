"""What type checkers and editors see behind each lazy public name of ``trellis``: the
real objects, imported from their modules (``trellis/__init__.py`` star-imports this under
``if TYPE_CHECKING:``; nothing imports it at run time). The same names from the same
modules as ``_exports.EXPORTS`` (``tests/test_public_api.py`` checks that)."""

from __future__ import annotations

from trellis import components
from trellis.api.asset_value import AssetValueLoader
from trellis.api.execute import materialize, materialize_to_memory
from trellis.api.execute_job import (
    JobExecutionResult,
    ReexecutionOptions,
    build_reconstructable_job,
    execute_job,
    reconstructable,
)
from trellis.api.hooks_and_loggers import build_hook_context, build_init_logger_context
from trellis.api.pipes.blob_store import PipesBlobStoreMessageReader, PipesDirectoryMessageReader
from trellis.api.pipes.client import PipesClient, PipesClientCompletedInvocation
from trellis.api.pipes.errors import PipesExecutionError
from trellis.api.pipes.log_readers import PipesChunkedLogReader, PipesFileLogReader, PipesLogReader
from trellis.api.pipes.message_handler import PipesMessageHandler
from trellis.api.pipes.readers import (
    PipesCompositeMessageReader,
    PipesContextInjector,
    PipesEnvContextInjector,
    PipesFileContextInjector,
    PipesFileMessageReader,
    PipesMessageReader,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
)
from trellis.api.pipes.session import (
    PipesExecutionResult,
    PipesLaunchedData,
    PipesSession,
    open_pipes_session,
)
from trellis.api.pipes.subprocess_client import PipesSubprocessClient
from trellis.api.result import ExecuteInProcessResult
from trellis.api.testing import (
    build_asset_check_context,
    build_asset_context,
    build_init_resource_context,
    build_input_context,
    build_multi_asset_sensor_context,
    build_op_context,
    build_output_context,
    build_resources,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
)
from trellis.api.validate_config import validate_run_config
from trellis.automation.condition import AutomationCondition
from trellis.automation.context import AutomationContext, AutomationResult
from trellis.automation.legacy_policy import AutoMaterializePolicy
from trellis.automation.legacy_rules import (
    AutoMaterializeAssetPartitionsFilter,
    AutoMaterializeRule,
)
from trellis.automation.testing import (
    EvaluateAutomationConditionsResult,
    evaluate_automation_conditions,
)
from trellis.config.env_var import EnvVar
from trellis.config.files import (
    config_from_files,
    config_from_pkg_resources,
    config_from_yaml_strings,
    file_relative_path,
)
from trellis.config.pythonic import Config, PermissiveConfig
from trellis.config.run_config import RunConfig
from trellis.config.types import (
    Any,
    Array,
    Bool,
    BoolSource,
    ConfigSchema,
    Enum,
    EnumValue,
    Field,
    Float,
    Int,
    IntSource,
    Map,
    Noneable,
    Permissive,
    ScalarUnion,
    Selector,
    Shape,
    String,
    StringSource,
)
from trellis.contexts.asset_check import AssetCheckExecutionContext
from trellis.contexts.compute import AssetExecutionContext, OpExecutionContext
from trellis.contexts.hook import HookContext
from trellis.contexts.init_logger import InitLoggerContext
from trellis.contexts.init_resource import InitResourceContext
from trellis.contexts.io import InputContext, OutputContext
from trellis.contexts.log_manager import LogManager as DagsterLogManager
from trellis.contexts.multi_asset_sensor import MultiAssetSensorEvaluationContext
from trellis.contexts.run_status_sensor import RunFailureSensorContext, RunStatusSensorContext
from trellis.contexts.schedule import ScheduleEvaluationContext
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.contexts.system import PlanOrchestrationContext, StepExecutionContext
from trellis.contexts.user_logger import get_dagster_logger
from trellis.core.asset_checks import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetOrCheckKey,
)
from trellis.core.asset_key import AssetKey
from trellis.core.data_version import (
    DataProvenance,
    DataVersion,
    DataVersionsByPartition,
)
from trellis.core.deprecation import (
    BetaWarning,
    ConfigArgumentWarning,
    PreviewWarning,
    SupersessionWarning,
)
from trellis.core.dynamic_output import DynamicOutput
from trellis.core.errors import (
    ConfigMappingFunctionError as DagsterConfigMappingFunctionError,
    DuplicateKeyError,
    ExecutionStepExecutionError as DagsterExecutionStepExecutionError,
    ExecutionStepNotFoundError as DagsterExecutionStepNotFoundError,
    Failure,
    InstanceError,
    InvalidConfigDefinitionError as DagsterInvalidConfigDefinitionError,
    InvalidConfigError,
    InvalidConfigError as DagsterInvalidConfigError,
    InvalidDefinitionError,
    InvalidDefinitionError as DagsterInvalidDefinitionError,
    InvalidInvocationError,
    InvalidInvocationError as DagsterInvalidInvocationError,
    InvalidSubsetError as DagsterInvalidSubsetError,
    InvariantViolationError,
    InvariantViolationError as DagsterInvariantViolationError,
    ResourceFunctionError as DagsterResourceFunctionError,
    RetryRequested,
    RunNotFoundError as DagsterRunNotFoundError,
    StepOutputNotFoundError as DagsterStepOutputNotFoundError,
    StepWorkerCrashedError as DagsterSubprocessError,
    TrellisError,
    TrellisError as DagsterError,
    TypeCheckError,
    TypeCheckError as DagsterTypeCheckDidNotPass,
    UnknownPartitionError as DagsterUnknownPartitionError,
    UnknownResourceError,
    UnknownResourceError as DagsterUnknownResourceError,
    UnmetExecutorRequirementsError as DagsterUnmetExecutorRequirementsError,
    UserCodeExecutionError,
    UserCodeExecutionError as DagsterUserCodeExecutionError,
)
from trellis.core.events import (
    Event,
    Event as DagsterEvent,
    Event as EventLogEntry,
    EventType,
    EventType as DagsterEventType,
)
from trellis.core.metadata import (
    BoolMetadataValue,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MarkdownMetadataValue,
    MetadataValue,
    NullMetadataValue,
    PathMetadataValue,
    PoolMetadataValue,
    TextMetadataValue,
    TimestampMetadataValue,
    UrlMetadataValue,
)
from trellis.core.metadata_kinds import (
    CodeReferencesMetadataValue,
    DagsterAssetMetadataValue,
    DagsterJobMetadataValue,
    DagsterRunMetadataValue,
    LocalFileCodeReference,
    NotebookMetadataValue,
    PythonArtifactMetadataValue,
    TableColumnLineageMetadataValue,
    TableMetadataSet,
    TableMetadataValue,
    TableSchemaMetadataValue,
    UrlCodeReference,
)
from trellis.core.outputs import (
    AssetMaterialization,
    AssetObservation,
    MaterializeResult,
    ObserveResult,
    Output,
)
from trellis.core.run import (
    MAX_RUNTIME_SECONDS_TAG,
    Run,
    Run as DagsterRun,
    RunStatus,
    RunStatus as DagsterRunStatus,
)
from trellis.core.table_metadata import (
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
)
from trellis.daemon.launcher import SubprocessRunLauncher as DefaultRunLauncher
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_check_factories import (
    build_column_schema_change_checks,
    build_last_update_freshness_checks,
    build_metadata_bounds_checks,
    build_time_partition_freshness_checks,
)
from trellis.defs.asset_check_spec import AssetCheckSpec
from trellis.defs.asset_checks_definition import (
    AssetChecksDefinition,
    asset_check,
    multi_asset_check,
)
from trellis.defs.asset_decorators import asset, map_asset_specs, multi_asset
from trellis.defs.asset_job import define_asset_job
from trellis.defs.asset_selection import AssetSelection
from trellis.defs.asset_sensor import AssetSensorDefinition, asset_sensor
from trellis.defs.asset_spec import AssetDep, AssetSpec
from trellis.defs.automation_sensor import AutomationConditionSensorDefinition
from trellis.defs.backfill_policy import BackfillPolicy
from trellis.defs.bound_resources import with_resources
from trellis.defs.builtin_io_managers import (
    FilesystemIOManager,
    InMemoryIOManager,
    custom_path_fs_io_manager,
    fs_io_manager,
    mem_io_manager,
)
from trellis.defs.builtin_loggers import (
    JsonLogFormatter,
    colored_console_logger,
    default_loggers,
    default_system_loggers,
    json_console_logger,
)
from trellis.defs.code_references import (
    AnchorBasedFilePathMapping,
    FilePathMapping,
    link_code_references_to_git,
    with_source_code_references,
)
from trellis.defs.composition import PendingInvocation as PendingNodeInvocation
from trellis.defs.config_mapping import ConfigMapping, config_mapping
from trellis.defs.configurable_resource import (
    ConfigurableIOManager,
    ConfigurableIOManagerFactory,
    ConfigurableLegacyIOManagerAdapter,
    ConfigurableResource,
    ResourceDependency,
    ResourceParam,
)
from trellis.defs.configured import configured
from trellis.defs.dagster_type import (
    DagsterType,
    DagsterTypeCheckError,
    DagsterTypeLoader,
    DagsterTypeLoaderContext,
    Dict,
    List,
    Optional,
    PythonObjectDagsterType,
    Set,
    Tuple,
    TypeCheck,
    TypeCheckContext,
    check_dagster_type,
    dagster_type_loader,
    make_python_type_usable_as_dagster_type,
    usable_as_dagster_type,
)
from trellis.defs.definitions import Definitions
from trellis.defs.defs_folder import load_defs, load_from_defs_folder
from trellis.defs.dynamic import DynamicOut
from trellis.defs.dynamic_partitions import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsDefinition,
)
from trellis.defs.email_on_failure import make_email_on_run_failure_sensor
from trellis.defs.executor import (
    ExecutorDefinition,
    dask_executor,
    in_process_executor,
    multi_or_in_process_executor,
    multiprocess_executor,
    multithread_executor,
)
from trellis.defs.explicit_graph import (
    DependencyDefinition,
    GraphIn,
    InputMapping,
    MultiDependencyDefinition,
    NodeUse as NodeInvocation,
    OutputMapping,
)
from trellis.defs.freshness_policy import (
    FreshnessPolicy,
    LegacyFreshnessPolicy,
    apply_freshness_policy,
)
from trellis.defs.freshness_sensor import build_sensor_for_freshness_checks
from trellis.defs.graph import GraphDefinition, GraphOut, graph
from trellis.defs.graph_asset import graph_asset, graph_multi_asset
from trellis.defs.hook import HookDefinition, HookExecutionResult, failure_hook, success_hook
from trellis.defs.ins_outs import AssetIn, AssetOut, In, Nothing, Out
from trellis.defs.io_manager import (
    InputManager,
    InputManagerDefinition,
    IOManager,
    IOManagerDefinition,
    input_manager,
    io_manager,
)
from trellis.defs.job import JobDefinition, job
from trellis.defs.lazy_definitions import definitions
from trellis.defs.loading import (
    load_asset_checks_from_current_module,
    load_asset_checks_from_modules,
    load_asset_checks_from_package_module,
    load_asset_checks_from_package_name,
    load_assets_from_current_module,
    load_assets_from_modules,
    load_assets_from_package_module,
    load_assets_from_package_name,
    load_definitions_from_current_module,
    load_definitions_from_module,
    load_definitions_from_modules,
    load_definitions_from_package_module,
    load_definitions_from_package_name,
)
from trellis.defs.logger import LoggerDefinition, logger
from trellis.defs.multi_asset_sensor import MultiAssetSensorDefinition, multi_asset_sensor
from trellis.defs.multi_observable_source_asset import multi_observable_source_asset
from trellis.defs.multi_partition_mapping import (
    DimensionPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
)
from trellis.defs.multi_partitions import MultiPartitionKey, MultiPartitionsDefinition
from trellis.defs.observable_source_asset import (
    observable_source_asset,
)
from trellis.defs.op import OpDefinition, op
from trellis.defs.partition_loading import partition_loading_context
from trellis.defs.partition_mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
)
from trellis.defs.partitioned_config import (
    Partition,
    PartitionedConfig,
    daily_partitioned_config,
    hourly_partitioned_config,
    monthly_partitioned_config,
    partitioned_config,
    static_partitioned_config,
    weekly_partitioned_config,
)
from trellis.defs.partitioned_schedule import build_schedule_from_partitioned_job
from trellis.defs.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)
from trellis.defs.resource import (
    IAttachDifferentObjectToOpContext,
    ResourceDefinition,
    make_values_resource,
    resource,
)
from trellis.defs.retry import Backoff, Jitter, RetryPolicy
from trellis.defs.run_request import (
    RunRequest,
    SensorResult,
    SensorReturnTypesUnion,
    SkipReason,
)
from trellis.defs.run_status_sensor import (
    RunStatusSensorDefinition,
    run_failure_sensor,
    run_status_sensor,
)
from trellis.defs.schedule import DefaultScheduleStatus, ScheduleDefinition, schedule
from trellis.defs.selectors import CodeLocationSelector, JobSelector, RepositorySelector
from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition, sensor
from trellis.defs.source_asset import SourceAsset
from trellis.defs.time_partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from trellis.execution.executors.base import Executor
from trellis.instance.for_test import instance_for_test
from trellis.instance.instance import Instance, Instance as DagsterInstance
from trellis.instance.partition_status import AssetPartitionStatus
from trellis.instance.queries import (
    AssetRecordsFilter,
    EventLogRecord,
    EventRecordsFilter,
    EventRecordsResult,
    PaginatedResults,
    RunRecord,
    RunsFilter,
    RunShardedEventsCursor,
    RunStatusChangeRecordsFilter,
)
from trellis.instance.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from trellis.plan.plan import ExecutionPlan
from trellis.plan.steps import ExecutionStep, StepOutputHandle
