"""process_config / validate_config: accepted values, processing, and every error kind."""

import copy

import pytest

from trellis.config.env_var import EnvVar
from trellis.config.types import (
    Any,
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
from trellis.config.validate import ConfigErrorReason, process_config, validate_config
from trellis.core.errors import InvalidConfigError

MODE = Enum("M", [EnumValue("A"), EnumValue("B", python_value=2)])
OP_CONFIG = {"mode": MODE, "name": Field(str, default_value="n"), "x": int}
RUN_SCHEMA = Shape(
    {"ops": {"one": {"config": OP_CONFIG}, "two": Field({"config": int}, is_required=False)}}
)


def only_error(schema, value):
    result = process_config(schema, value)
    assert not result.success
    assert result.value is None
    assert len(result.errors) == 1, [e.message for e in result.errors]
    return result.errors[0]


# --- scalars -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "value"),
    [(int, 3), (float, 2.5), (float, 2), (str, "s"), (bool, False), (Any, None), (Any, [1])],
)
def test_scalars_accept_good_values(schema, value):
    result = process_config(schema, value)
    assert result.success and result.errors == []
    assert result.value == value


@pytest.mark.parametrize(
    ("schema", "value", "type_name"),
    [
        (int, True, "Int"),
        (int, 1.0, "Int"),
        (int, "1", "Int"),
        (float, False, "Float"),
        (str, 3, "String"),
        (bool, "true", "Bool"),
        (int, None, "Int"),
    ],
)
def test_scalars_reject_bad_values(schema, value, type_name):
    err = only_error({"a": schema}, {"a": value})
    assert err.reason is ConfigErrorReason.RUNTIME_TYPE_MISMATCH
    assert err.path == ("root", "a")
    assert err.message == (
        f"Invalid scalar at path root:a: value {value!r} of Python type "
        f"'{type(value).__name__}' is not valid for expected type {type_name}."
    )


# --- shapes --------------------------------------------------------------------------


def test_defaults_are_filled_nested_and_enum_is_mapped():
    result = process_config(RUN_SCHEMA, {"ops": {"one": {"config": {"mode": "B", "x": 1}}}})
    assert result.success
    assert result.value == {"ops": {"one": {"config": {"mode": 2, "x": 1, "name": "n"}}}}


def test_absent_all_optional_shapes_are_filled_with_their_defaults():
    schema = Shape(
        {
            "outer": {
                "inner": {"a": Field(int, default_value=1), "b": Noneable(str)},
                "c": Field([int], default_value=[1, 2]),
            },
            "free": Field(int, is_required=False),
        }
    )
    assert process_config(schema, {}).value == {
        "outer": {"inner": {"a": 1, "b": None}, "c": [1, 2]}
    }
    assert process_config(schema, None).value == process_config(schema, {}).value


def test_missing_required_entry_names_key_path_and_example():
    err = only_error(RUN_SCHEMA, {"ops": {"one": {}}})
    assert err.reason is ConfigErrorReason.MISSING_REQUIRED_FIELD
    assert err.path_str == "root:ops:one"
    assert err.message == (
        "Missing required config entry 'config' at path root:ops:one. It must be supplied, "
        "for example: {'config': {'mode': 'A', 'x': 0}}."
    )


def test_several_missing_entries_are_one_error():
    err = only_error(Shape({"a": int, "b": str, "c": Field(int, default_value=1)}), {})
    assert err.reason is ConfigErrorReason.MISSING_REQUIRED_FIELDS
    assert "['a', 'b']" in err.message
    assert "{'a': 0, 'b': '...'}" in err.message


def test_unexpected_entry_prints_expected_shape():
    err = only_error(RUN_SCHEMA, {"ops": {"one": {"config": {"mode": "A", "x": 1, "zzz": 2}}}})
    assert err.reason is ConfigErrorReason.FIELD_NOT_DEFINED
    assert err.path_str == "root:ops:one:config"
    assert err.message == (
        "Received unexpected config entry 'zzz' at path root:ops:one:config. "
        "Expected: { mode: M name?: String x: Int }."
    )


def test_several_unexpected_entries_are_one_error():
    err = only_error(Shape({"a": int}), {"a": 1, "qqq": 1, "www": 2})
    assert err.reason is ConfigErrorReason.FIELDS_NOT_DEFINED
    assert "['qqq', 'www']" in err.message


def test_typo_gives_one_error_with_did_you_mean():
    err = only_error(RUN_SCHEMA, {"ops": {"onee": {"config": {"mode": "A", "x": 1}}}})
    assert err.reason is ConfigErrorReason.FIELD_NOT_DEFINED
    assert err.path_str == "root:ops"
    assert "'onee'" in err.message
    assert "Did you mean 'one'?" in err.message


def test_unrelated_key_gives_unexpected_and_missing_errors_without_hint():
    result = process_config(RUN_SCHEMA, {"ops": {"zzzz": {}}})
    reasons = sorted(e.reason for e in result.errors)
    assert reasons == [
        ConfigErrorReason.FIELD_NOT_DEFINED,
        ConfigErrorReason.MISSING_REQUIRED_FIELD,
    ]
    assert all("Did you mean" not in e.message for e in result.errors)


def test_did_you_mean_only_suggests_fields_not_already_given():
    err = only_error(Shape({"one": int, "two": Field(int, default_value=2)}), {"one": 1, "onee": 1})
    assert "Did you mean" not in err.message


def test_every_error_is_reported_at_once():
    value = {
        "ops": {
            "one": {"config": {"mode": "C", "x": "bad", "extra": 1}},
            "two": {"config": "nope"},
            "three": {},
        }
    }
    result = process_config(RUN_SCHEMA, value)
    assert not result.success
    found = {(e.path_str, e.reason) for e in result.errors}
    assert found == {
        ("root:ops:one:config:mode", ConfigErrorReason.RUNTIME_TYPE_MISMATCH),
        ("root:ops:one:config:x", ConfigErrorReason.RUNTIME_TYPE_MISMATCH),
        ("root:ops:one:config", ConfigErrorReason.FIELD_NOT_DEFINED),
        ("root:ops:two:config", ConfigErrorReason.RUNTIME_TYPE_MISMATCH),
        ("root:ops", ConfigErrorReason.FIELD_NOT_DEFINED),
    }


def test_non_dict_for_shape_is_a_type_mismatch():
    err = only_error(Shape({"a": {"b": int}}), {"a": [1]})
    assert err.reason is ConfigErrorReason.RUNTIME_TYPE_MISMATCH
    assert err.message == (
        "Invalid value at path root:a: value [1] of Python type 'list' is not valid for "
        "expected type { b: Int }."
    )


def test_permissive_passes_extra_keys_and_checks_declared_ones():
    schema = Permissive({"a": Field(int, default_value=1)})
    assert process_config(schema, {"z": [1]}).value == {"z": [1], "a": 1}
    err = only_error(schema, {"a": "x", "z": 1})
    assert err.path_str == "root:a"


def test_input_is_not_mutated_and_output_is_fresh():
    value = {"ops": {"one": {"config": {"mode": "A", "x": 1}}}}
    before = copy.deepcopy(value)
    result = process_config(RUN_SCHEMA, value)
    assert value == before
    assert result.value["ops"]["one"] is not value["ops"]["one"]


# --- containers ----------------------------------------------------------------------


def test_array_items_are_checked_with_index_in_path():
    assert process_config([int], [1, 2]).value == [1, 2]
    result = process_config({"xs": [int]}, {"xs": [1, "a", None]})
    assert [e.path_str for e in result.errors] == ["root:xs[1]", "root:xs[2]"]
    err = only_error({"xs": [int]}, {"xs": 3})
    assert "expected type [Int]" in err.message


def test_noneable_accepts_none_and_checks_inner():
    assert process_config(Noneable(int), None).value is None
    assert process_config(Noneable(int), 4).value == 4
    err = only_error(Noneable(int), "x")
    assert err.path_str == "root"


def test_map_checks_keys_and_values():
    schema = Map(int, Array(str))
    assert process_config(schema, {1: ["a"], 2: []}).value == {1: ["a"], 2: []}
    result = process_config(schema, {"k": ["a"], 3: [1]})
    assert len(result.errors) == 2
    key_error, value_error = result.errors
    assert key_error.path_str == "root"
    assert key_error.message == (
        "Invalid map key at path root: key 'k' of Python type 'str' is not valid for the "
        "key type Int."
    )
    assert value_error.path_str == "root:3[0]"


def test_enum_miss_names_path_enum_value_and_allowed_values():
    err = only_error({"mode": MODE}, {"mode": "C"})
    assert err.reason is ConfigErrorReason.RUNTIME_TYPE_MISMATCH
    assert err.message == (
        "Invalid value at path root:mode for enum M: received 'C'; allowed values are 'A', 'B'."
    )
    assert only_error({"mode": MODE}, {"mode": 1}).path_str == "root:mode"


def test_scalar_union_picks_the_branch_by_value_shape():
    schema = ScalarUnion(str, {"path": str, "mode": Field(str, default_value="r")})
    assert process_config(schema, "a.txt").value == "a.txt"
    assert process_config(schema, {"path": "a"}).value == {"path": "a", "mode": "r"}
    assert only_error(schema, 3).message.endswith("expected type String.")
    assert only_error(schema, {}).reason is ConfigErrorReason.MISSING_REQUIRED_FIELD


# --- selectors -----------------------------------------------------------------------

SELECTOR = Selector({"in_process": {}, "multiprocess": {"max": Field(int, default_value=4)}})


def test_selector_with_one_key_processes_it():
    assert process_config(SELECTOR, {"multiprocess": {}}).value == {"multiprocess": {"max": 4}}
    assert process_config(SELECTOR, {"multiprocess": None}).value == {"multiprocess": {"max": 4}}


def test_selector_with_zero_keys_is_an_error():
    err = only_error(SELECTOR, {})
    assert err.reason is ConfigErrorReason.SELECTOR_FIELD_ERROR
    assert "['in_process', 'multiprocess']" in err.message
    assert "none was given" in err.message


def test_selector_with_two_keys_is_an_error():
    err = only_error({"execution": SELECTOR}, {"execution": {"in_process": {}, "multiprocess": {}}})
    assert err.reason is ConfigErrorReason.SELECTOR_FIELD_ERROR
    assert err.path_str == "root:execution"
    assert "received 2" in err.message


def test_selector_unknown_key_gets_a_hint():
    err = only_error(SELECTOR, {"in_proces": {}})
    assert err.reason is ConfigErrorReason.FIELD_NOT_DEFINED
    assert "Did you mean 'in_process'?" in err.message


def test_single_optional_selector_field_is_chosen_when_empty():
    schema = Shape({"log": Selector({"console": {"level": Field(str, default_value="INFO")}})})
    assert process_config(schema, {}).value == {"log": {"console": {"level": "INFO"}}}


# --- env sources ---------------------------------------------------------------------


def test_sources_accept_the_scalar_or_an_env_var(monkeypatch):
    monkeypatch.setenv("TRELLIS_T_STR", "hello")
    monkeypatch.setenv("TRELLIS_T_INT", " 42 ")
    monkeypatch.setenv("TRELLIS_T_BOOL", "False")
    schema = {"s": StringSource, "i": IntSource, "b": BoolSource, "d": StringSource}
    value = {
        "s": {"env": "TRELLIS_T_STR"},
        "i": {"env": "TRELLIS_T_INT"},
        "b": {"env": "TRELLIS_T_BOOL"},
        "d": "direct",
    }
    assert process_config(schema, value).value == {"s": "hello", "i": 42, "b": False, "d": "direct"}


def test_env_var_objects_are_read_by_sources(monkeypatch):
    monkeypatch.setenv("TRELLIS_T_PORT", "8080")
    schema = {"p": IntSource, "h": StringSource}
    value = {"p": EnvVar.int("TRELLIS_T_PORT"), "h": EnvVar("TRELLIS_T_PORT")}
    assert process_config(schema, value).value == {"p": 8080, "h": "8080"}


def test_missing_env_var_names_the_variable_and_the_path(monkeypatch):
    monkeypatch.delenv("TRELLIS_T_MISSING", raising=False)
    err = only_error(
        {"db": {"password": StringSource}}, {"db": {"password": {"env": "TRELLIS_T_MISSING"}}}
    )
    assert err.reason is ConfigErrorReason.FAILED_POST_PROCESSING
    assert err.path_str == "root:db:password"
    assert "'TRELLIS_T_MISSING'" in err.message
    assert "root:db:password" in err.message


def test_unparsable_env_var_is_an_error(monkeypatch):
    monkeypatch.setenv("TRELLIS_T_INT", "forty")
    monkeypatch.setenv("TRELLIS_T_BOOL", "maybe")
    result = process_config(
        {"i": IntSource, "b": BoolSource},
        {"i": {"env": "TRELLIS_T_INT"}, "b": {"env": "TRELLIS_T_BOOL"}},
    )
    assert [e.reason for e in result.errors] == [ConfigErrorReason.FAILED_POST_PROCESSING] * 2
    assert "cannot be parsed as Int" in result.errors[0].message
    assert "forty" not in result.errors[0].message  # values may be secrets


def test_bad_env_dict_and_bad_scalar_for_sources():
    err = only_error({"s": StringSource}, {"s": {"env": "X", "other": 1}})
    assert err.reason is ConfigErrorReason.FIELD_NOT_DEFINED
    assert err.path_str == "root:s"
    assert only_error({"i": IntSource}, {"i": "3"}).message.endswith("expected type Int.")


def test_env_default_is_resolved_at_processing_time(monkeypatch):
    schema = {"s": Field(StringSource, default_value={"env": "TRELLIS_T_DEFAULT"})}
    monkeypatch.setenv("TRELLIS_T_DEFAULT", "v1")
    assert process_config(schema, {}).value == {"s": "v1"}
    monkeypatch.delenv("TRELLIS_T_DEFAULT")
    assert only_error(schema, {}).reason is ConfigErrorReason.FAILED_POST_PROCESSING


# --- top level and validate_config ---------------------------------------------------


def test_top_level_field_default_applies_to_none():
    assert process_config(Field(int, default_value=7), None).value == 7
    assert process_config(Field(int, default_value=7), 3).value == 3


def test_validate_config_returns_value_or_raises_with_every_error():
    assert validate_config({"a": int}, {"a": 1}, header="h") == {"a": 1}
    bad = {"a": "x", "b": 1}
    with pytest.raises(InvalidConfigError) as info:
        validate_config({"a": int}, bad, header="Error in config for job 'etl'")
    exc = info.value
    assert exc.header == "Error in config for job 'etl'"
    assert exc.config_value is bad
    assert len(exc.errors) == 2
    lines = str(exc).splitlines()
    assert lines[0] == "Error in config for job 'etl': 2 errors"
    assert lines[1].startswith("    Error 1: Invalid scalar at path root:a")
    assert lines[2].startswith("    Error 2: Received unexpected config entry 'b'")


def test_a_thousand_op_run_config_validates():
    ops = {
        f"op_{i}": {"config": {"x": int, "name": Field(str, default_value="n"), "tags": [str]}}
        for i in range(1000)
    }
    schema = Shape({"ops": ops, "resources": Field(Permissive(), is_required=False)})
    value = {"ops": {f"op_{i}": {"config": {"x": i, "tags": ["t"]}} for i in range(1000)}}
    result = process_config(schema, value)
    assert result.success
    assert result.value["ops"]["op_999"] == {"config": {"x": 999, "tags": ["t"], "name": "n"}}
    assert result.value["resources"] == {}
    value["ops"]["op_500"]["config"]["x"] = "bad"
    del value["ops"]["op_7"]
    paths = sorted(e.path_str for e in process_config(schema, value).errors)
    assert paths == ["root:ops", "root:ops:op_500:config:x"]
