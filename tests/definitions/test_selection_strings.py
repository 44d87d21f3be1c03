"""Selection strings: the grammar (precedence, keywords, the two dialects of layers),
each filter's meaning, and errors that name the column."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trellis import AssetKey, AssetSelection, AssetSpec, Definitions, asset
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_selection import coerce_selection
from trellis.defs.selection_grammar import SelectionSyntaxError
from trellis.defs.selection_syntax import selection_from_string

#   a -> b -> c -> d          (chain, group "line")
#        b -> side            (group "branch")
#   android -> order          (keys that contain keywords)
#   ext (external spec, owner ops@x.io) -> b


@asset(group_name="line", kinds={"python"}, tags={"pii": "", "tier": "gold"})
def a() -> None: ...


@asset(deps=[a, "ext"], group_name="line", owners=["team:line"], tags={"tier": "silver"})
def b() -> None: ...


@asset(deps=[b], group_name="line", kinds={"sql"}, metadata={"dagster/table_name": "db.c"})
def c() -> None: ...


@asset(deps=[c], key_prefix="warehouse", group_name="line")
def d() -> None: ...


@asset(deps=[b], group_name="branch")
def side() -> None: ...


@asset
def android() -> None: ...


@asset(deps=[android])
def order() -> None: ...


EXT = AssetSpec("ext", owners=["ops@x.io"], group_name="line")
GRAPH = Definitions(assets=[a, b, c, d, side, android, order, EXT]).asset_graph


def keys(text: str, **kwargs) -> set[str]:
    return {k.to_user_string() for k in selection_from_string(text, **kwargs).resolve(GRAPH)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # precedence: layers, then not, then and, then or, then the comma
        ("not key:a and group:line", {"b", "c", "warehouse/d"}),
        ("key:a or key:b and key:c", {"a"}),
        ("(key:a or key:b) and key:b", {"b"}),
        ("not key:b+", {"a", "android", "order"}),
        ("key:a, key:side or key:c", {"a", "side", "c"}),
        ("NOT group:line AND NOT key:side OR key:a", {"a", "android", "order"}),
        # words that contain keywords are keys; keyword values are values
        ("android or order", {"android", "order"}),
        ("key:android+", {"android", "order"}),
        ("group:default and not order", {"android"}),
        # layers around a filter: + alone is every layer, N+ that many
        ("+key:c", {"a", "b", "c"}),
        ("1+key:c", {"b", "c"}),
        ("key:b+", {"b", "c", "side", "warehouse/d"}),
        ("key:b+1", {"b", "c", "side"}),
        ("1+key:c+1", {"b", "c", "warehouse/d"}),
        ("(key:a or key:android)+1", {"a", "b", "android", "order"}),
        ("+ key:c", {"a", "b", "c"}),
        ("2 +key:warehouse/d", {"b", "c", "warehouse/d"}),
        # the older clause form: one layer per +, every layer for *
        ("+c", {"b", "c"}),
        ("++c", {"a", "b", "c"}),
        ("*c", {"a", "b", "c"}),
        ("b+", {"b", "c", "side"}),
        ("b*", {"b", "c", "side", "warehouse/d"}),
        ("+b+", {"a", "b", "c", "side"}),
        ("a,warehouse/d", {"a", "warehouse/d"}),
        (" a , c ", {"a", "c"}),
        # filters
        ("*", {"a", "b", "c", "warehouse/d", "side", "android", "order"}),
        ("key:warehouse/d", {"warehouse/d"}),
        ('key:"warehouse/d"', {"warehouse/d"}),
        ("key:*d", {"warehouse/d", "android"}),
        ("key:*/*", {"warehouse/d"}),
        ("key:e*", {"ext"}),  # key: sees external assets, as in Dagster
        ("key:zz*", set()),
        ("tag:pii", {"a"}),
        ("tag:tier", set()),  # tag:k matches key-only tags, not every value
        ("tag:tier=gold or tag:tier=silver", {"a", "b"}),
        ('tag:"dagster/kind/sql"', {"c"}),
        ("kind:python or kind:sql", {"a", "c"}),
        ('owner:"team:line"', {"b"}),
        ('owner:"ops@x.io"', {"ext"}),
        ("group:line", {"a", "b", "c", "warehouse/d"}),  # materializable assets only
        ("table_name:db.c", {"c"}),
        ("roots(*)", {"a", "android"}),
        ("sinks(*)", {"warehouse/d", "side", "order"}),
        ("roots(key:b or key:c)", {"b"}),
        ("sinks(key:a or key:c or key:side)", {"c", "side"}),
        ("roots(group:line)+1", {"a", "b"}),
        ('owner : "team:line"', {"b"}),
    ],
)
def test_selection_strings(text, expected):
    assert keys(text) == expected


def test_code_location_selects_everything_of_the_loaded_location():
    assert keys("code_location:proj", code_locations=("proj",)) == keys("*") | {"ext"}
    assert keys("code_location:other", code_locations=("proj",)) == set()
    with pytest.raises(SelectionSyntaxError, match="needs a loaded code location"):
        AssetSelection.from_string("code_location:proj")


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("group:a and (kind:b", 20, "expected ')'"),
        ("key:a key:b", 7, "unexpected 'key:'"),
        ("key:a and", 10, "expected a filter such as key:NAME"),
        ("key:a and and key:b", 11, "unexpected 'and'"),
        ("+", 2, "expected"),
        ("**key:a", 2, "unexpected"),
        ("tag:foo=", 9, "expected a value"),
        ("2+a", 3, "unexpected 'a'"),
        ("a+2", 3, "unexpected '2'"),
        ("key:a)", 6, "unexpected ')'"),
        ('key:"open', 5, "unexpected character '\"'"),
        ("key:a & key:b", 7, "unexpected character '&'"),
        ("status:MISSING", 1, "'status:' is not supported by Trellis"),
        ("key:a or changed_in_branch:ANY", 10, "'changed_in_branch:' is not supported"),
        ("kindd:x", 1, "unknown filter 'kindd:'; did you mean 'kind:'?"),
        ("owner:x or gruop:y", 12, "did you mean 'group:'?"),
        ("parents(*)", 1, "unknown function 'parents(...)'"),
        ("key:a=b", 1, "only tag: takes a '=value' part"),
        ("group:raw_*", 1, "'*' wildcards work in key: values only"),
        ('key:""', 1, "'key:' needs a value"),
        ("", 1, "the selection is empty"),
        (" , ", 1, "the selection is empty"),
    ],
)
def test_errors_name_the_column(text, column, problem):
    with pytest.raises(SelectionSyntaxError) as raised:
        AssetSelection.from_string(text)
    error = raised.value
    assert (error.column, problem in error.problem) == (column, True), error.problem
    assert isinstance(error, InvalidDefinitionError)
    first, shown, caret = str(error).split("\n")
    assert first.startswith(f"Invalid selection '{text}': ")
    assert shown == f"  {text}" and caret == "  " + " " * (column - 1) + "^"


def test_unknown_keys_and_groups_fail_when_resolved_with_a_hint():
    selection = AssetSelection.from_string("key:androd or b")  # parses
    with pytest.raises(InvalidDefinitionError, match=r"No asset with key 'androd'\. Did you mean"):
        selection.resolve(GRAPH)
    with pytest.raises(InvalidDefinitionError, match="Groups: branch, default, line"):
        AssetSelection.from_string("group:lines").resolve(GRAPH)


def test_strings_everywhere_a_selection_is_coerced():
    assert coerce_selection("b+").resolve(GRAPH) == {AssetKey("b"), AssetKey("c"), AssetKey("side")}
    both = coerce_selection(["key:a", "roots(group:branch)"]).resolve(GRAPH)
    assert both == {AssetKey("a"), AssetKey("side")}
    assert coerce_selection("warehouse/d").resolve(GRAPH) == {AssetKey(["warehouse", "d"])}


def test_roots_and_sinks_of_a_long_chain():
    chain = [asset(name="n0")(lambda: None)]
    for i in range(1, 3000):
        chain.append(asset(name=f"n{i}", deps=[chain[-1]])(lambda: None))
    graph = Definitions(assets=chain).asset_graph
    assert AssetSelection.from_string("roots(*)").resolve(graph) == {AssetKey("n0")}
    assert AssetSelection.from_string("sinks(*)").resolve(graph) == {AssetKey("n2999")}


def test_the_parser_loads_only_when_a_string_is_parsed():
    code = (
        "import sys\n"
        "from trellis import Definitions, AssetSelection, asset, define_asset_job\n"
        "@asset\n"
        "def x() -> None: ...\n"
        "Definitions(assets=[x], jobs=[define_asset_job('j', selection=[x])])\n"
        "print('lark' in sys.modules)\n"
        "AssetSelection.from_string('key:x')\n"
        "print('lark' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_schedule_and_sensor_targets_are_parsed_where_they_are_written():
    from trellis import ScheduleDefinition, SensorDefinition

    with pytest.raises(InvalidDefinitionError, match=r"sensor 'watch': Invalid selection"):
        SensorDefinition("watch", evaluation_fn=lambda: None, asset_selection="key:a and")
    with pytest.raises(InvalidDefinitionError, match=r"schedule 'daily': .*column 3"):
        ScheduleDefinition("daily", "0 0 * * *", target=["key:a", "a b"])
    ok = ScheduleDefinition("fine", "0 0 * * *", target="group:line and not key:a")
    assert ok.target == "group:line and not key:a"
