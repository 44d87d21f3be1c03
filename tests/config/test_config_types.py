"""Schema types: construction, shorthands, required/default rules, and the type printer."""

import enum
import typing

import pytest

from trellis.config.printer import example_value, print_type
from trellis.config.types import (
    Any,
    Array,
    Bool,
    BoolSource,
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
    convert_potential_field,
    normalize_config_schema,
    resolve_config_type,
)
from trellis.core.errors import InvalidDefinitionError, InvariantViolationError


@pytest.mark.parametrize(
    ("shorthand", "expected"),
    [
        (int, Int),
        (float, Float),
        (str, String),
        (bool, Bool),
        (typing.Any, Any),
        (object, Any),
        (Int, Int),
    ],
)
def test_python_scalars_convert_to_config_scalars(shorthand, expected):
    assert convert_potential_field(shorthand).config_type is expected


def test_list_and_dict_shorthands():
    assert print_type(resolve_config_type([int])) == "[Int]"
    assert print_type(resolve_config_type(list)) == "[Any]"
    assert print_type(resolve_config_type(list[str])) == "[String]"
    assert print_type(resolve_config_type(dict)) == "{ ... }"
    assert print_type(resolve_config_type(dict[str, int])) == "{ [String]: Int }"
    assert print_type(resolve_config_type(int | None)) == "Int?"


def test_dict_literal_becomes_a_nested_shape():
    field = convert_potential_field(
        {"a": int, "b": Field(str, default_value="x"), "c": {"d": [bool]}}
    )
    shape = field.config_type
    assert isinstance(shape, Shape)
    assert shape.fields["b"].default_value == "x"
    assert isinstance(shape.fields["c"].config_type, Shape)
    assert print_type(shape) == "{ a: Int b?: String c: { d: [Bool] } }"


def test_convert_potential_field_returns_a_field_unchanged():
    field = Field(int, default_value=3)
    assert convert_potential_field(field) is field


def test_normalize_config_schema_none_means_no_config():
    assert normalize_config_schema(None) is None
    assert normalize_config_schema(int).config_type is Int


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (3, "got 3"),
        ([int, str], "exactly one type"),
        ({"a": 3}, "config schema['a']"),
        ({"a": {"b": "nope"}}, "config schema['a']['b']"),
        ({1: int}, "non-empty strings"),
        (None, "None is not a type"),
    ],
)
def test_bad_schema_objects_raise_invalid_definition_error(bad, fragment):
    with pytest.raises(InvalidDefinitionError) as info:
        convert_potential_field(bad)
    assert fragment in str(info.value)


def test_where_names_the_definition_in_schema_errors():
    with pytest.raises(InvalidDefinitionError, match="config_schema of op 'load'"):
        normalize_config_schema(3.5, where="config_schema of op 'load'")


def test_field_inside_a_type_slot_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="not Array\\(Field"):
        Array(Field(int))
    with pytest.raises(InvalidDefinitionError, match="another Field"):
        Field(Field(int))


@pytest.mark.parametrize(
    ("field", "required"),
    [
        (Field(int), True),
        (Field(int, default_value=1), False),
        (Field(Noneable(int)), False),
        (Field({"a": Field(int, default_value=1)}), False),
        (Field({"a": int}), True),
        (Field(Permissive()), False),
        (Field(Selector({"only": Field({"x": Field(int, default_value=1)})})), False),
        (Field(Selector({"a": int, "b": int})), True),
        (Field(int, is_required=False), False),
    ],
)
def test_is_required_rules(field, required):
    assert field.is_required is required


def test_implicit_defaults_are_provided_and_computed():
    assert Field(Noneable(int)).default_provided
    assert Field(Noneable(int)).default_value is None
    nested = Field({"a": Field(int, default_value=1), "b": {"c": Field(str, default_value="z")}})
    assert nested.default_provided
    assert nested.default_value == {"a": 1, "b": {"c": "z"}}


def test_field_without_default_has_no_default_value():
    field = Field(int, is_required=False)
    assert not field.default_provided
    with pytest.raises(InvariantViolationError):
        _ = field.default_value


def test_default_with_is_required_true_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="cannot also be is_required=True"):
        Field(int, default_value=1, is_required=True)


def test_default_value_of_the_wrong_type_is_rejected():
    with pytest.raises(InvalidDefinitionError, match=r"Invalid default_value 'x' .* Int"):
        Field(int, default_value="x")
    with pytest.raises(InvalidDefinitionError, match="Invalid default_value"):
        Field({"a": int}, default_value={"b": 1})


def test_env_source_default_is_not_resolved_at_definition_time():
    field = Field(StringSource, default_value={"env": "TRELLIS_SURELY_UNSET_VAR"})
    assert field.default_value == {"env": "TRELLIS_SURELY_UNSET_VAR"}


def test_field_exposes_description_and_type():
    field = Field(int, description="how many")
    assert field.description == "how many"
    assert field.config_type is Int
    assert not field.default_provided


def test_enum_values_and_python_enum():
    class Color(enum.Enum):
        RED = 1
        GREEN = 2

    enum_type = Enum.from_python_enum(Color)
    assert enum_type.name == "Color"
    assert enum_type.config_values == ["RED", "GREEN"]
    assert enum_type.to_python_value("GREEN") is Color.GREEN
    plain = Enum("Mode", [EnumValue("fast"), EnumValue("slow", python_value=2)])
    assert plain.to_python_value("fast") == "fast"
    assert plain.to_python_value("slow") == 2


def test_enum_definition_errors():
    with pytest.raises(InvalidDefinitionError, match="twice"):
        Enum("E", [EnumValue("a"), EnumValue("a")])
    with pytest.raises(InvalidDefinitionError, match="EnumValue objects"):
        Enum("E", ["a"])
    with pytest.raises(InvalidDefinitionError, match=r"enum\.Enum class"):
        Enum.from_python_enum(int)


def test_map_key_must_be_scalar():
    assert Map(int, str).key_type is Int
    with pytest.raises(InvalidDefinitionError, match="key type of Map must be a scalar"):
        Map([int], str)


def test_scalar_union_checks_its_parts():
    union = ScalarUnion(str, {"path": str})
    assert print_type(union) == "(String | { path: String })"
    with pytest.raises(InvalidDefinitionError, match="scalar type first"):
        ScalarUnion([int], {"a": int})
    with pytest.raises(InvalidDefinitionError, match="dict or list schema second"):
        ScalarUnion(int, str)


def test_selector_needs_fields():
    with pytest.raises(InvalidDefinitionError, match="at least one field"):
        Selector({})


def test_print_type_layouts():
    shape = Shape(
        {
            "x": int,
            "name": Field(str, is_required=False),
            "mode": Enum("M", [EnumValue("A")]),
            "tags": Noneable([str]),
            "sel": Selector({"a": int, "b": {"c": bool}}),
            "extra": Permissive({"k": int}),
            "m": Map(str, float, key_label_name="name"),
            "src": IntSource,
            "flag": BoolSource,
        }
    )
    assert print_type(shape) == (
        "{ extra: { k: Int ... } flag: BoolSource m: { [name: String]: Float } mode: M "
        "name?: String sel: { a: Int | b: { c: Bool } } src: IntSource tags?: [String]? x: Int }"
    )


def test_print_type_caps_fields():
    shape = Shape({f"f{i:02}": int for i in range(12)})
    printed = print_type(shape, max_fields=3)
    assert printed == "{ f00: Int f01: Int f02: Int (9 more) }"


def test_example_value_covers_required_fields_only():
    shape = Shape(
        {
            "mode": Enum("M", [EnumValue("A"), EnumValue("B")]),
            "name": Field(str, default_value="n"),
            "x": int,
            "xs": [float],
            "src": StringSource,
            "sel": Selector({"b": int, "a": bool}),
        }
    )
    assert example_value(shape) == {
        "mode": "A",
        "sel": {"a": True},
        "src": "...",
        "x": 0,
        "xs": [0.0],
    }
