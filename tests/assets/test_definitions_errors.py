"""``Definitions`` reports what is wrong when it is first used (a job resolved, a run,
``validate_loadable``), with a message naming it: cycles, missing upstream assets,
duplicate asset keys, duplicate job names, unknown resource keys, selections naming
unknown assets. As in Dagster, building it raises only for arguments of the wrong kind.
``materialize`` checks the same things."""

import pytest

from trellis import (
    AssetIn,
    AssetOut,
    AssetSelection,
    AssetSpec,
    Definitions,
    DuplicateKeyError,
    InvalidDefinitionError,
    Out,
    ScheduleDefinition,
    asset,
    define_asset_job,
    job,
    materialize_to_memory,
    multi_asset,
    op,
    resource,
)


@asset
def base():
    return 1


def resolved(**kwargs):
    """Build the definitions and use them (resolve every job): where their problems show."""
    return Definitions(**kwargs).resolve_all_job_defs()


# -- cycles ------------------------------------------------------------------------------


def test_cycle_through_data_inputs_shows_the_path():
    @asset
    def first(third):
        return third

    @asset
    def second(first):
        return first

    @asset
    def third(second):
        return second

    @asset
    def outside(base):
        return base

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[base, outside, first, second, third])
    message = str(info.value)
    assert "cycle" in message
    assert "first -> second -> third -> first" in message
    assert "outside" not in message and "base" not in message


def test_cycle_through_non_data_deps():
    @asset(deps=["pong"])
    def ping():
        return 1

    @asset(deps=[ping])
    def pong():
        return 2

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[ping, pong])
    assert "ping -> pong -> ping" in str(info.value)


def test_self_dependency_through_a_multi_asset_is_a_cycle():
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def ab(c):
        return c, c

    @asset
    def c(a):
        return a

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[ab, c])
    message = str(info.value)
    assert "a -> c -> a" in message or "c -> a -> c" in message
    assert "b ->" not in message  # b reads c but is not on the cycle


def test_materialize_detects_the_same_cycle():
    @asset(deps=["b2"])
    def a2():
        return 1

    @asset(deps=[a2])
    def b2():
        return 1

    with pytest.raises(InvalidDefinitionError, match="cycle"):
        materialize_to_memory([a2, b2])


# -- missing upstream --------------------------------------------------------------------


def test_missing_upstream_data_input_suggests_the_closest_asset():
    @asset
    def orders():
        return []

    @asset
    def summary(oders):
        return len(oders)

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[orders, summary])
    message = str(info.value)
    assert "summary" in message
    assert "oders" in message
    assert "Did you mean 'orders'?" in message
    assert "AssetSpec" in message  # says how to declare an external asset


def test_missing_upstream_via_asset_in_key():
    @asset(ins={"src": AssetIn(key=["raw", "events"])})
    def cleaned(src):
        return src

    with pytest.raises(InvalidDefinitionError) as info:
        materialize_to_memory([cleaned])
    assert "raw/events" in str(info.value) and "cleaned" in str(info.value)


def test_missing_upstream_is_fine_once_declared_as_spec():
    @asset
    def uses_external(external):
        return external

    defs = Definitions(assets=[AssetSpec("external"), uses_external])
    assert defs.get_assets_def("uses_external") is uses_external


# -- duplicates --------------------------------------------------------------------------


def test_duplicate_asset_keys_name_both_definitions():
    @asset(name="base")
    def base_again():
        return 2

    with pytest.raises(DuplicateKeyError) as info:
        resolved(assets=[base, base_again])
    message = str(info.value)
    assert "'base'" in message
    assert "base_again" in message  # the second function
    assert ".base " in message or ".base)" in message  # the first function


def test_duplicate_key_between_multi_asset_and_asset():
    @multi_asset(outs={"base": AssetOut(), "other": AssetOut()})
    def makes_base():
        return 1, 2

    with pytest.raises(DuplicateKeyError) as info:
        resolved(assets=[base, makes_base])
    assert "makes_base" in str(info.value)


def test_duplicate_key_between_spec_and_asset():
    with pytest.raises(DuplicateKeyError) as info:
        resolved(assets=[base, AssetSpec("base")])
    message = str(info.value)
    assert "AssetSpec('base')" in message and "function" in message


def test_duplicate_asset_job_names():
    with pytest.raises(DuplicateKeyError) as info:
        resolved(
            assets=[base],
            jobs=[
                define_asset_job("daily"),
                define_asset_job("daily", AssetSelection.keys("base")),
            ],
        )
    assert "daily" in str(info.value)


def test_duplicate_op_job_and_asset_job_names():
    @op
    def step():
        return 1

    @job(name="daily")
    def daily_ops():
        step()

    with pytest.raises(DuplicateKeyError, match="daily"):
        resolved(assets=[base], jobs=[daily_ops, define_asset_job("daily")])


def test_schedule_targeting_another_job_with_a_taken_name():
    schedule = ScheduleDefinition(job=define_asset_job("daily"), cron_schedule="0 0 * * *")
    with pytest.raises(DuplicateKeyError, match="daily"):
        resolved(assets=[base], jobs=[define_asset_job("daily")], schedules=[schedule])


def test_duplicate_schedule_names():
    target = define_asset_job("j")
    one = ScheduleDefinition(name="nightly", job=target, cron_schedule="0 0 * * *")
    two = ScheduleDefinition(name="nightly", job=target, cron_schedule="0 1 * * *")
    with pytest.raises(DuplicateKeyError, match="nightly"):
        resolved(assets=[base], schedules=[one, two])


# -- resources ---------------------------------------------------------------------------


def test_unknown_resource_key_names_the_asset_and_lists_available_keys():
    @asset(required_resource_keys={"warehouse"})
    def facts(context):
        return context.resources.warehouse

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[facts], resources={"lake": 1, "api": 2})
    message = str(info.value)
    assert "facts" in message
    assert "'warehouse'" in message
    assert "['api', 'io_manager', 'lake']" in message


def test_unknown_io_manager_key_of_an_asset():
    @asset(io_manager_key="s3_io")
    def stored():
        return 1

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[stored])
    assert "stored" in str(info.value) and "s3_io" in str(info.value)


def test_unknown_io_manager_key_of_an_upstream_spec():
    @asset
    def reader(ext):
        return ext

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[AssetSpec("ext").with_io_manager_key("ext_io"), reader])
    assert "reader" in str(info.value) and "ext_io" in str(info.value)


def test_unknown_resource_key_in_an_op_job():
    @op(required_resource_keys={"mailer"})
    def send(context):
        return context.resources.mailer

    @job
    def notify():
        send()

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(jobs=[notify], resources={"db": 1})
    message = str(info.value)
    assert "send" in message and "'mailer'" in message and "db" in message


def test_resource_depending_on_an_unknown_resource():
    @resource(required_resource_keys={"creds"})
    def client(init_context):
        return init_context.resources.creds

    @asset(required_resource_keys={"client"})
    def fetched(context):
        return context.resources.client

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[fetched], jobs=[define_asset_job("all")], resources={"client": client})
    assert "client" in str(info.value) and "creds" in str(info.value)


def test_materialize_checks_resources_too():
    @asset(required_resource_keys={"warehouse"})
    def facts(context):
        return 1

    with pytest.raises(InvalidDefinitionError) as info:
        materialize_to_memory([facts])
    assert "facts" in str(info.value) and "warehouse" in str(info.value)


def test_bound_resources_satisfy_the_check():
    @asset(required_resource_keys={"warehouse"}, io_manager_key="store")
    def facts(context):
        return context.resources.warehouse

    defs = Definitions(assets=[facts], resources={"warehouse": "wh", "store": _NullIO()})
    assert defs.get_assets_def("facts") is facts


class _NullIO:
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return None


# -- selections --------------------------------------------------------------------------


def test_asset_job_selecting_an_unknown_asset_names_job_and_asset():
    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[base], jobs=[define_asset_job("nightly", AssetSelection.keys("bse"))])
    message = str(info.value)
    assert "nightly" in message and "'bse'" in message and "Did you mean 'base'?" in message


def test_asset_job_selecting_part_of_a_non_subsettable_multi_asset():
    @multi_asset(outs={"left": AssetOut(), "right": AssetOut()})
    def split():
        return 1, 2

    with pytest.raises(InvalidDefinitionError) as info:
        resolved(assets=[split], jobs=[define_asset_job("half", "left")])
    message = str(info.value)
    assert "split" in message and "right" in message and "can_subset" in message


def test_materialize_selection_naming_an_unknown_asset():
    with pytest.raises(InvalidDefinitionError, match="'nothing_here'"):
        materialize_to_memory([base], selection=["nothing_here"])


def test_definitions_rejects_non_assets():
    @op(out=Out())
    def not_an_asset():
        return 1

    with pytest.raises(InvalidDefinitionError, match="not_an_asset"):
        Definitions(assets=[not_an_asset])


def test_two_asset_definitions_running_as_the_same_op():
    def make(prefix):
        @multi_asset(outs={f"{prefix}1": AssetOut(), f"{prefix}2": AssetOut()})
        def build():
            return 1, 2

        return build

    with pytest.raises(DuplicateKeyError) as info:
        resolved(assets=[make("a"), make("b")])
    message = str(info.value)
    assert "'build'" in message and "make.<locals>.build" in message
    assert "name=" in message
    with pytest.raises(DuplicateKeyError, match="'build'"):
        materialize_to_memory([make("a"), make("b")])
