"""The public names of Dagster 1.13 that Trellis does not offer, and why.

``trellis/__init__.py`` looks a name up here only when it is not one of Trellis' own
(``from trellis import AutomationCondition``), to raise an ``ImportError`` that says whether the
feature is planned (``PLANNED``, by feature group) or out of scope (``OUT_OF_SCOPE``, with
the reason), instead of Python's bare "cannot import name". Every other public Dagster
name is a Trellis name; ``tests/compat/test_names.py`` checks the three sets against the
list of Dagster's names in ``tests/compat/dagster_public_names.txt``.
"""

from __future__ import annotations

# Feature group -> what the error says about it. Empty: every name of Dagster 1.13 that
# is in scope is a Trellis name. A name a later Dagster adds is planned here first.
PLANNED_GROUPS: dict[str, str] = {}

# Name -> its feature group in PLANNED_GROUPS.
PLANNED: dict[str, str] = {}

_COMPONENTS = (
    "Dagster Components (YAML-defined component types, scaffolding and the dg tool) are not "
    "part of Trellis; Python definitions in a defs/ folder load with load_from_defs_folder"
)
_STEP_LAUNCHERS = (
    "step launchers are deprecated in Dagster in favour of Pipes; Trellis runs steps on its "
    "executors (in process, threads, a process pool, Dask)"
)
_REPOSITORY = "the legacy repository API; use Definitions"

# Name -> why Trellis does not offer it.
OUT_OF_SCOPE: dict[str, str] = {
    **dict.fromkeys(
        [
            "AssetAttributesModel",
            "Component",
            "ComponentFormConfig",
            "ComponentLoadContext",
            "ComponentTree",
            "ComponentTypeSpec",
            "DefinitionsComponent",
            "DefsFolderComponent",
            "FunctionComponent",
            "Injected",
            "Model",
            "PythonScriptComponent",
            "ResolutionContext",
            "Resolvable",
            "ResolvedAssetCheckSpec",
            "ResolvedAssetKey",
            "ResolvedAssetSpec",
            "Resolver",
            "ScaffoldRequest",
            "Scaffolder",
            "SqlComponent",
            "StateBackedComponent",
            "TemplatedSqlComponent",
            "UPathDefsStateStorage",
            "UvRunComponent",
            "build_component_defs",
            "build_defs_for_component",
            "component_defs",
            "component_instance",
            "get_all_components_defs_within_project",
            "get_component_defs_within_project",
            "resources",
            "scaffold_component",
            "scaffold_with",
            "template_var",
        ],
        _COMPONENTS,
    ),
    **dict.fromkeys(
        [
            "StepLauncher",
            "StepRunRef",
            "external_instance_from_step_run_ref",
            "run_step_from_ref",
            "step_context_to_step_run_ref",
            "step_run_ref_to_step_context",
        ],
        _STEP_LAUNCHERS,
    ),
    **dict.fromkeys(
        [
            "BindResourcesToJobs",
            "RepositoryData",
            "RepositoryDefinition",
            "create_repository_using_definitions_args",
            "repository",
        ],
        _REPOSITORY,
    ),
    "AssetJobKey": "an internal key of Dagster's asset jobs; Trellis jobs are named by strings",
    "DagsterEventLogInvalidForRun": "raised by Dagster's own event-log storage; Trellis "
    "reports storage problems as InstanceError",
    "DagsterExecutionInterruptedError": "Trellis stops a canceled step by interrupting it "
    "(KeyboardInterrupt); there is no separate class to catch",
    "ExecutorRequirement": "Dagster's executor plug-in interface; a Trellis executor "
    "implements trellis.Executor (four methods)",
    "InitExecutorContext": "Dagster's executor plug-in interface; a Trellis executor "
    "implements trellis.Executor (four methods)",
    "executor": "Dagster's executor plug-in interface; a Trellis executor implements "
    "trellis.Executor (four methods)",
    "multiple_process_executor_requirements": "Dagster's executor plug-in interface; "
    "Trellis checks a run that crosses processes before it starts",
    "ExpectationResult": "deprecated in Dagster; use asset checks (@asset_check) or metadata",
    "MetadataEntry": "deprecated in Dagster; pass metadata as a dict",
    "FileHandle": "Dagster's legacy file manager; use an IO manager",
    "LocalFileHandle": "Dagster's legacy file manager; use an IO manager",
    "local_file_manager": "Dagster's legacy file manager; use an IO manager",
    "MigrateIOStorageResult": "a tool for moving Dagster's own IO manager storage",
    "migrate_io_storage": "a tool for moving Dagster's own IO manager storage",
    "UPathIOManager": "built on universal-pathlib for remote stores; subclass IOManager, or "
    "use FilesystemIOManager for local files",
    "deserialize_value": "Dagster's serialization of its own record types; Trellis stores "
    "events as JSON (trellis.core.serialization)",
    "serialize_value": "Dagster's serialization of its own record types; Trellis stores "
    "events as JSON (trellis.core.serialization)",
    "dynamic_partitioned_config": "built on partitions computed by a function "
    "(DynamicPartitionsDefinition(partition_fn=...)), deprecated in Dagster; use "
    "@partitioned_config(partitions_def=DynamicPartitionsDefinition(name=...))",
    "raise_execution_interrupts": "Trellis handles interrupts itself; there is no "
    "interrupt-masking context to leave",
}


def missing_name_error(name: str) -> ImportError | None:
    """The ``ImportError`` for a public Dagster name that Trellis does not offer (saying
    whether it is planned or out of scope, and why), or None for any other name."""
    group = PLANNED.get(name)
    if group is not None:
        return ImportError(
            f"trellis does not have {name!r} yet ({PLANNED_GROUPS[group]}); see README "
            "'Dagster names'",
            name=name,
        )
    reason = OUT_OF_SCOPE.get(name)
    if reason is not None:
        return ImportError(
            f"trellis does not provide {name!r}: {reason}; see README 'Dagster names'",
            name=name,
        )
    return None
