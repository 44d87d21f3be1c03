"""Trellis: a fast, light orchestrator for data pipelines.

This module is the whole public API. Every name is loaded lazily on first use (module
``__getattr__``), so ``import trellis`` stays cheap; ``__all__`` lists the names, sorted,
and ``tests/test_public_api.py`` pins it. Type checkers and editors read the
``if TYPE_CHECKING:`` imports instead, which name the same objects as ``_EXPORTS`` (a test
keeps the two in step): add a public name to ``_EXPORTS``, ``__all__`` and those imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # What type checkers and editors see: the real objects behind every lazy name (the same
    # names from the same modules as _EXPORTS; tests/test_public_api.py checks that).
    from trellis import components
    from trellis.api.execute import materialize, materialize_to_memory
    from trellis.api.result import ExecuteInProcessResult
    from trellis.api.testing import (
        build_asset_context,
        build_init_resource_context,
        build_input_context,
        build_op_context,
        build_output_context,
        build_resources,
        build_schedule_context,
        build_sensor_context,
    )
    from trellis.config.env_var import EnvVar
    from trellis.config.pythonic import Config, PermissiveConfig
    from trellis.config.run_config import RunConfig
    from trellis.config.types import (
        Array,
        BoolSource,
        Enum,
        EnumValue,
        Field,
        IntSource,
        Map,
        Noneable,
        Permissive,
        ScalarUnion,
        Selector,
        Shape,
        StringSource,
    )
    from trellis.contexts.compute import AssetExecutionContext, OpExecutionContext
    from trellis.contexts.init_resource import InitResourceContext
    from trellis.contexts.io import InputContext, OutputContext
    from trellis.contexts.schedule import ScheduleEvaluationContext
    from trellis.contexts.sensor import SensorEvaluationContext
    from trellis.contexts.system import PlanOrchestrationContext, StepExecutionContext
    from trellis.core.asset_key import AssetKey
    from trellis.core.errors import (
        DuplicateKeyError,
        Failure,
        InstanceError,
        InvalidConfigError,
        InvalidDefinitionError,
        InvalidInvocationError,
        InvariantViolationError,
        RetryRequested,
        TrellisError,
        TypeCheckError,
        UnknownResourceError,
        UserCodeExecutionError,
    )
    from trellis.core.events import Event, EventType
    from trellis.core.metadata import MetadataValue
    from trellis.core.outputs import (
        AssetMaterialization,
        AssetObservation,
        MaterializeResult,
        Output,
    )
    from trellis.core.run import Run, RunStatus
    from trellis.defs.asset import AssetsDefinition, asset, multi_asset
    from trellis.defs.asset_job import define_asset_job
    from trellis.defs.asset_selection import AssetSelection
    from trellis.defs.asset_spec import AssetSpec
    from trellis.defs.bound_resources import with_resources
    from trellis.defs.builtin_io_managers import (
        FilesystemIOManager,
        InMemoryIOManager,
        fs_io_manager,
        mem_io_manager,
    )
    from trellis.defs.configurable_resource import (
        ConfigurableIOManager,
        ConfigurableIOManagerFactory,
        ConfigurableResource,
        ResourceParam,
    )
    from trellis.defs.definitions import Definitions
    from trellis.defs.defs_folder import load_defs, load_from_defs_folder
    from trellis.defs.executor import (
        ExecutorDefinition,
        dask_executor,
        in_process_executor,
        multiprocess_executor,
        multithread_executor,
    )
    from trellis.defs.graph import GraphDefinition, GraphOut, graph
    from trellis.defs.ins_outs import AssetIn, AssetOut, In, Nothing, Out
    from trellis.defs.io_manager import (
        InputManager,
        IOManager,
        IOManagerDefinition,
        io_manager,
    )
    from trellis.defs.job import JobDefinition, job
    from trellis.defs.lazy_definitions import definitions
    from trellis.defs.loading import (
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
    from trellis.defs.op import OpDefinition, op
    from trellis.defs.partitions import (
        PartitionKeyRange,
        PartitionsDefinition,
        StaticPartitionsDefinition,
    )
    from trellis.defs.resource import ResourceDefinition, resource
    from trellis.defs.retry import Backoff, Jitter, RetryPolicy
    from trellis.defs.run_request import RunRequest, SensorResult, SkipReason
    from trellis.defs.schedule import DefaultScheduleStatus, ScheduleDefinition, schedule
    from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition, sensor
    from trellis.defs.time_partitions import (
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        MonthlyPartitionsDefinition,
        TimeWindow,
        TimeWindowPartitionsDefinition,
        WeeklyPartitionsDefinition,
    )
    from trellis.execution.executors.base import Executor
    from trellis.instance.instance import Instance
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import ExecutionStep, StepOutputHandle

# name -> module that defines it. Keep sorted by name.
_EXPORTS: dict[str, str] = {
    "Array": "trellis.config.types",
    "AssetExecutionContext": "trellis.contexts.compute",
    "AssetIn": "trellis.defs.ins_outs",
    "AssetKey": "trellis.core.asset_key",
    "AssetMaterialization": "trellis.core.outputs",
    "AssetObservation": "trellis.core.outputs",
    "AssetOut": "trellis.defs.ins_outs",
    "AssetSelection": "trellis.defs.asset_selection",
    "AssetSpec": "trellis.defs.asset_spec",
    "AssetsDefinition": "trellis.defs.asset",
    "Backoff": "trellis.defs.retry",
    "BoolSource": "trellis.config.types",
    "Config": "trellis.config.pythonic",
    "ConfigurableIOManager": "trellis.defs.configurable_resource",
    "ConfigurableIOManagerFactory": "trellis.defs.configurable_resource",
    "ConfigurableResource": "trellis.defs.configurable_resource",
    "DailyPartitionsDefinition": "trellis.defs.time_partitions",
    "DefaultScheduleStatus": "trellis.defs.schedule",
    "DefaultSensorStatus": "trellis.defs.sensor",
    "Definitions": "trellis.defs.definitions",
    "DuplicateKeyError": "trellis.core.errors",
    "Enum": "trellis.config.types",
    "EnumValue": "trellis.config.types",
    "EnvVar": "trellis.config.env_var",
    "Event": "trellis.core.events",
    "EventType": "trellis.core.events",
    "ExecuteInProcessResult": "trellis.api.result",
    "ExecutionPlan": "trellis.plan.plan",
    "ExecutionStep": "trellis.plan.steps",
    "Executor": "trellis.execution.executors.base",
    "ExecutorDefinition": "trellis.defs.executor",
    "Failure": "trellis.core.errors",
    "Field": "trellis.config.types",
    "FilesystemIOManager": "trellis.defs.builtin_io_managers",
    "GraphDefinition": "trellis.defs.graph",
    "GraphOut": "trellis.defs.graph",
    "HourlyPartitionsDefinition": "trellis.defs.time_partitions",
    "IOManager": "trellis.defs.io_manager",
    "IOManagerDefinition": "trellis.defs.io_manager",
    "In": "trellis.defs.ins_outs",
    "InMemoryIOManager": "trellis.defs.builtin_io_managers",
    "InitResourceContext": "trellis.contexts.init_resource",
    "InputContext": "trellis.contexts.io",
    "InputManager": "trellis.defs.io_manager",
    "Instance": "trellis.instance.instance",
    "InstanceError": "trellis.core.errors",
    "IntSource": "trellis.config.types",
    "InvalidConfigError": "trellis.core.errors",
    "InvalidDefinitionError": "trellis.core.errors",
    "InvalidInvocationError": "trellis.core.errors",
    "InvariantViolationError": "trellis.core.errors",
    "Jitter": "trellis.defs.retry",
    "JobDefinition": "trellis.defs.job",
    "Map": "trellis.config.types",
    "MaterializeResult": "trellis.core.outputs",
    "MetadataValue": "trellis.core.metadata",
    "MonthlyPartitionsDefinition": "trellis.defs.time_partitions",
    "Noneable": "trellis.config.types",
    "Nothing": "trellis.defs.ins_outs",
    "OpDefinition": "trellis.defs.op",
    "OpExecutionContext": "trellis.contexts.compute",
    "Out": "trellis.defs.ins_outs",
    "Output": "trellis.core.outputs",
    "OutputContext": "trellis.contexts.io",
    "PartitionKeyRange": "trellis.defs.partitions",
    "PartitionsDefinition": "trellis.defs.partitions",
    "Permissive": "trellis.config.types",
    "PermissiveConfig": "trellis.config.pythonic",
    "PlanOrchestrationContext": "trellis.contexts.system",
    "ResourceDefinition": "trellis.defs.resource",
    "ResourceParam": "trellis.defs.configurable_resource",
    "RetryPolicy": "trellis.defs.retry",
    "RetryRequested": "trellis.core.errors",
    "Run": "trellis.core.run",
    "RunConfig": "trellis.config.run_config",
    "RunRequest": "trellis.defs.run_request",
    "RunStatus": "trellis.core.run",
    "ScalarUnion": "trellis.config.types",
    "ScheduleDefinition": "trellis.defs.schedule",
    "ScheduleEvaluationContext": "trellis.contexts.schedule",
    "Selector": "trellis.config.types",
    "SensorDefinition": "trellis.defs.sensor",
    "SensorEvaluationContext": "trellis.contexts.sensor",
    "SensorResult": "trellis.defs.run_request",
    "Shape": "trellis.config.types",
    "SkipReason": "trellis.defs.run_request",
    "StaticPartitionsDefinition": "trellis.defs.partitions",
    "StepExecutionContext": "trellis.contexts.system",
    "StepOutputHandle": "trellis.plan.steps",
    "StringSource": "trellis.config.types",
    "TimeWindow": "trellis.defs.time_partitions",
    "TimeWindowPartitionsDefinition": "trellis.defs.time_partitions",
    "TrellisError": "trellis.core.errors",
    "TypeCheckError": "trellis.core.errors",
    "UnknownResourceError": "trellis.core.errors",
    "UserCodeExecutionError": "trellis.core.errors",
    "WeeklyPartitionsDefinition": "trellis.defs.time_partitions",
    "asset": "trellis.defs.asset",
    "build_asset_context": "trellis.api.testing",
    "build_init_resource_context": "trellis.api.testing",
    "build_input_context": "trellis.api.testing",
    "build_op_context": "trellis.api.testing",
    "build_output_context": "trellis.api.testing",
    "build_resources": "trellis.api.testing",
    "build_schedule_context": "trellis.api.testing",
    "build_sensor_context": "trellis.api.testing",
    "components": "trellis",
    "dask_executor": "trellis.defs.executor",
    "define_asset_job": "trellis.defs.asset_job",
    "definitions": "trellis.defs.lazy_definitions",
    "fs_io_manager": "trellis.defs.builtin_io_managers",
    "graph": "trellis.defs.graph",
    "in_process_executor": "trellis.defs.executor",
    "io_manager": "trellis.defs.io_manager",
    "job": "trellis.defs.job",
    "load_assets_from_current_module": "trellis.defs.loading",
    "load_assets_from_modules": "trellis.defs.loading",
    "load_assets_from_package_module": "trellis.defs.loading",
    "load_assets_from_package_name": "trellis.defs.loading",
    "load_definitions_from_current_module": "trellis.defs.loading",
    "load_definitions_from_module": "trellis.defs.loading",
    "load_definitions_from_modules": "trellis.defs.loading",
    "load_definitions_from_package_module": "trellis.defs.loading",
    "load_definitions_from_package_name": "trellis.defs.loading",
    "load_defs": "trellis.defs.defs_folder",
    "load_from_defs_folder": "trellis.defs.defs_folder",
    "materialize": "trellis.api.execute",
    "materialize_to_memory": "trellis.api.execute",
    "mem_io_manager": "trellis.defs.builtin_io_managers",
    "multi_asset": "trellis.defs.asset",
    "multiprocess_executor": "trellis.defs.executor",
    "multithread_executor": "trellis.defs.executor",
    "op": "trellis.defs.op",
    "resource": "trellis.defs.resource",
    "schedule": "trellis.defs.schedule",
    "sensor": "trellis.defs.sensor",
    "with_resources": "trellis.defs.bound_resources",
}

__all__ = [
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
__version__ = "0.1.0"


def _load(name: str) -> object:
    """The public object ``name``, imported from its module on first use."""
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'trellis' has no attribute {name!r}")
    if module_name == __name__:  # a public subpackage (trellis.components)
        value: object = importlib.import_module(f"{__name__}.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


if not TYPE_CHECKING:
    # Hidden from type checkers: they see the imports above, so a name that is not public is
    # an error for them rather than an Any.
    __getattr__ = _load


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
