"""``Definitions`` defers problems in the definitions to their first use, as Dagster does,
and still finds every one: ``validate_loadable`` lists them, ``trellis defs validate``
reports them with the line that built the definitions."""

import pytest

from trellis import (
    AssetKey,
    AssetSpec,
    DagsterInvalidDefinitionError,
    Definitions,
    asset,
    define_asset_job,
    job,
    op,
    sensor,
)


@asset
def base() -> int:
    return 1


@asset
def needs_db(db: object) -> int:  # an input named db: there is no such asset
    return 1


def test_wrong_kinds_of_arguments_raise_at_construction():
    with pytest.raises(DagsterInvalidDefinitionError, match="expected @asset"):
        Definitions(assets=[42])
    with pytest.raises(DagsterInvalidDefinitionError, match="expected @job"):
        Definitions(jobs=["not a job"])


def test_a_problem_is_raised_by_every_lookup_until_fixed():
    broken = Definitions(assets=[base, needs_db])
    assert broken.assets == [base, needs_db]  # what was given is there
    for use in (
        broken.resolve_implicit_global_asset_job_def,
        broken.resolve_all_job_defs,
        broken.resolve_asset_graph,
        lambda: broken.resolve_assets_def("base"),
        lambda: broken.jobs,
        lambda: broken.asset_graph,
        lambda: broken.get_schedule_def("nope"),
    ):
        with pytest.raises(DagsterInvalidDefinitionError, match="db"):
            use()


def test_validate_loadable_lists_every_problem_at_once():
    @asset(name="dup")
    def one() -> int:
        return 1

    @asset(name="dup")
    def two() -> int:
        return 2

    @op(required_resource_keys={"mailer"})
    def notify(context) -> None: ...

    @job
    def notify_job():
        notify()

    @asset(required_resource_keys={"warehouse"})
    def stored() -> int:
        return 1

    broken = Definitions(assets=[one, two, stored], jobs=[notify_job])
    with pytest.raises(DagsterInvalidDefinitionError) as info:
        Definitions.validate_loadable(broken)
    message = str(info.value)
    assert message.startswith("3 problems in these Definitions:")
    assert "dup" in message and "'warehouse'" in message and "'mailer'" in message


def test_valid_definitions_pass_validate_loadable_and_resolve():
    defs = Definitions(assets=[base, AssetSpec("external")], jobs=[define_asset_job("all_assets")])
    Definitions.validate_loadable(defs)
    assert defs.has_implicit_global_asset_job_def()
    assert [j.name for j in defs.resolve_all_job_defs()] == ["__ASSET_JOB", "all_assets"]
    assert defs.resolve_all_asset_keys() == [AssetKey("base"), AssetKey("external")]


def test_a_sensor_parameter_that_is_neither_context_nor_resource_is_an_error():
    with pytest.raises(DagsterInvalidDefinitionError, match="requires the parameter"):

        @sensor(job_name="x")
        def watches(context, db: object): ...


def test_definitions_without_assets_have_no_implicit_job():
    @op
    def hello() -> None: ...

    @job
    def greet():
        hello()

    defs = Definitions(jobs=[greet])
    assert not defs.has_implicit_global_asset_job_def()
    assert [j.name for j in defs.resolve_all_job_defs()] == ["greet"]
