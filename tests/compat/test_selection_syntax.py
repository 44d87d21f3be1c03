"""Dagster's asset selection syntax, used the way its documentation shows: in
``define_asset_job(selection=...)``, ``AssetSelection.from_string``, ``materialize(...,
selection=...)`` and schedule targets, with ``dagster`` changed to ``trellis``.

The project is a small company's pipeline: raw data in a sensitive group, combined data
and summaries in a public group, and reports for sales. Assets depend on each other with
``deps=`` so that any subset runs on its own.
"""

import pytest

from trellis import (
    AssetSelection,
    Definitions,
    InvalidDefinitionError,
    ScheduleDefinition,
    asset,
    define_asset_job,
    materialize_to_memory,
)


@asset(group_name="sensitive_data", kinds={"s3"}, tags={"private": ""}, owners=["team:sales"])
def raw_data_a() -> None: ...


@asset(
    group_name="sensitive_data",
    kinds={"csv"},
    tags={"private": "", "customer_data": ""},
    owners=["nora@example.com"],
)
def raw_data_b() -> None: ...


@asset(group_name="public_data", kinds={"csv"}, owners=["nora@example.com"])
def raw_data_c() -> None: ...


@asset(key_prefix="my_prefix", group_name="public_data", kinds={"python"})
def raw_data_d() -> None: ...


@asset(deps=[raw_data_a, raw_data_b], group_name="sensitive_data", kinds={"python"})
def a_b_data() -> None: ...


@asset(deps=[a_b_data, raw_data_c], group_name="public_data", kinds={"csv"})
def combo_a_b_c_data() -> None: ...


@asset(deps=[combo_a_b_c_data], group_name="public_data", tags={"public": ""}, kinds={"csv"})
def summary_stats_1() -> None: ...


@asset(
    deps=[combo_a_b_c_data, raw_data_d],
    group_name="public_data",
    tags={"public": "", "tier": "gold"},
    owners=["nora@example.com"],
)
def summary_stats_2() -> None: ...


@asset(deps=[combo_a_b_c_data], group_name="sales", owners=["team:sales"], kinds={"csv"})
def a_b_c_for_sales() -> None: ...


@asset(deps=[raw_data_b, raw_data_c], group_name="sales", owners=["team:sales"])
def b_c_for_sales() -> None: ...


all_assets = [
    raw_data_a,
    raw_data_b,
    raw_data_c,
    raw_data_d,
    a_b_data,
    combo_a_b_c_data,
    summary_stats_1,
    summary_stats_2,
    a_b_c_for_sales,
    b_c_for_sales,
]

EXAMPLES = {
    # the assets on the path between two assets
    'key:"raw_data_b"+ and +key:"summary_stats_2"': {
        "raw_data_b",
        "a_b_data",
        "combo_a_b_c_data",
        "summary_stats_2",
    },
    # ... between two sets of assets
    '(key:"raw_data_a" or key:"raw_data_b")+ and +(key:"a_b_c_for_sales" or key:"b_c_for_sales")': {
        "raw_data_a",
        "raw_data_b",
        "a_b_data",
        "combo_a_b_c_data",
        "a_b_c_for_sales",
        "b_c_for_sales",
    },
    # ... between assets tagged private and assets tagged public
    'tag:"private"+ and +tag:"public"': {
        "raw_data_a",
        "raw_data_b",
        "a_b_data",
        "combo_a_b_c_data",
        "summary_stats_1",
        "summary_stats_2",
    },
    # ... between two groups
    'group:"sensitive_data"+ and +group:"public_data"': {
        "raw_data_a",
        "raw_data_b",
        "a_b_data",
        "combo_a_b_c_data",
        "summary_stats_1",
        "summary_stats_2",
    },
    # through a middle asset
    'key:"raw_data_c"+ and +key:"combo_a_b_c_data"+ and +key:"summary_stats_1"': {
        "raw_data_c",
        "combo_a_b_c_data",
        "summary_stats_1",
    },
    'key:"my_prefix/raw_data_d"': {"my_prefix/raw_data_d"},
    'key:"summary_stats_1" or key:"summary_stats_2"': {"summary_stats_1", "summary_stats_2"},
    'key:"combo_a_b_c_data"+1 and kind:"csv"': {
        "combo_a_b_c_data",
        "summary_stats_1",
        "a_b_c_for_sales",
    },
    'owner:"nora@example.com" and not tag:"customer_data"': {"raw_data_c", "summary_stats_2"},
    '(owner:"team:sales" and kind:"csv") or group:"sensitive_data"': {
        "raw_data_a",
        "raw_data_b",
        "a_b_data",
        "a_b_c_for_sales",
    },
    'not (kind:"s3" or kind:"csv") and key:"*raw*"': {"my_prefix/raw_data_d"},
    'key:"*raw*"': {"raw_data_a", "raw_data_b", "raw_data_c", "my_prefix/raw_data_d"},
    # roots and sinks: nothing above (below) them in the selection, at any distance
    'roots(group:"public_data")': {"raw_data_c", "my_prefix/raw_data_d"},
    'sinks(group:"public_data")': {"summary_stats_1", "summary_stats_2"},
    'roots(+group:"public_data")': {
        "raw_data_a",
        "raw_data_b",
        "raw_data_c",
        "my_prefix/raw_data_d",
    },
    'sinks(group:"public_data"+)': {
        "summary_stats_1",
        "summary_stats_2",
        "a_b_c_for_sales",
        "b_c_for_sales",
    },
    "tag:tier=gold": {"summary_stats_2"},
    "2+key:summary_stats_1": {"summary_stats_1", "combo_a_b_c_data", "a_b_data", "raw_data_c"},
    "1+key:a_b_data+1": {"raw_data_a", "raw_data_b", "a_b_data", "combo_a_b_c_data"},
    "sinks(*)": {"summary_stats_1", "summary_stats_2", "a_b_c_for_sales", "b_c_for_sales"},
    "group:sales AND NOT owner:nora@example.com": {"a_b_c_for_sales", "b_c_for_sales"},
    # the older clause form, still accepted
    "*a_b_data": {"raw_data_a", "raw_data_b", "a_b_data"},
    "raw_data_c+": {"raw_data_c", "combo_a_b_c_data", "b_c_for_sales"},
    "++summary_stats_1": {"summary_stats_1", "combo_a_b_c_data", "a_b_data", "raw_data_c"},
    "summary_stats_1,my_prefix/raw_data_d": {"summary_stats_1", "my_prefix/raw_data_d"},
}


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


@pytest.mark.parametrize(("selection", "expected"), list(EXAMPLES.items()))
def test_define_asset_job_runs_the_selected_assets(selection, expected):
    defs = Definitions(
        assets=all_assets, jobs=[define_asset_job("selected_job", selection=selection)]
    )
    result = defs.get_job_def("selected_job").execute_in_process()
    assert result.success
    assert _materialized(result) == expected


def test_from_string_resolves_like_the_python_selection():
    defs = Definitions(assets=all_assets)
    graph = defs.asset_graph
    parsed = AssetSelection.from_string('group:"public_data" and not kind:"csv"')
    built = AssetSelection.groups("public_data") - AssetSelection.kind("csv")
    assert parsed.resolve(graph) == built.resolve(graph)
    tagged = AssetSelection.from_string('tag:"private" or owner:"team:sales"')
    by_methods = AssetSelection.tag("private", "") | AssetSelection.owner("team:sales")
    assert tagged.resolve(graph) == by_methods.resolve(graph)
    roots = AssetSelection.from_string("roots(*)").resolve(graph)
    assert roots == AssetSelection.all().roots().resolve(graph)


def test_materialize_takes_a_selection_string():
    result = materialize_to_memory(all_assets, selection='group:"sales" or key:raw_data_a')
    assert _materialized(result) == {"a_b_c_for_sales", "b_c_for_sales", "raw_data_a"}


def test_a_malformed_selection_is_an_error_where_it_is_written():
    with pytest.raises(InvalidDefinitionError) as raised:
        define_asset_job("broken", selection='group:"public_data" and (kind:"csv"')
    assert str(raised.value) == (
        "Invalid selection 'group:\"public_data\" and (kind:\"csv\"': expected ')' at the end\n"
        '  group:"public_data" and (kind:"csv"\n'
        "                                     ^"
    )
    with pytest.raises(InvalidDefinitionError, match="unknown filter 'gruop:'; did you mean"):
        AssetSelection.from_string("gruop:sales")
    at_column_17 = r"schedule 'nightly'.*unexpected 'and'.*column 17"
    with pytest.raises(InvalidDefinitionError, match=at_column_17):
        ScheduleDefinition(
            name="nightly", cron_schedule="0 0 * * *", target="group:sales and and kind:csv"
        )


def test_unknown_names_are_reported_when_the_job_is_resolved():
    job = define_asset_job("typo_job", selection="key:summary_stat_1 or group:sales")
    with pytest.raises(InvalidDefinitionError, match="Did you mean 'summary_stats_1'"):
        Definitions(assets=all_assets, jobs=[job]).get_job_def("typo_job")
    grouped = define_asset_job("group_job", selection="group:public")
    with pytest.raises(InvalidDefinitionError, match="Did you mean 'public_data'"):
        Definitions(assets=all_assets, jobs=[grouped]).get_job_def("group_job")


def test_what_trellis_cannot_select_by_is_refused_clearly():
    with pytest.raises(InvalidDefinitionError, match="'status:' is not supported by Trellis"):
        AssetSelection.from_string("status:MISSING and group:sales")
    with pytest.raises(InvalidDefinitionError, match="'column:' is not supported"):
        AssetSelection.from_string('column:"price"')
