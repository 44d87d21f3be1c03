"""Pythonic Config classes: schema compilation, equivalence with classic schemas, EnvVar."""

import enum
import subprocess
import sys
from typing import Literal

import pydantic
import pytest

from trellis.config.detect import is_config_class, is_config_instance
from trellis.config.env_var import EnvVar, IntEnvVar
from trellis.config.printer import print_type
from trellis.config.pythonic import Config, PermissiveConfig, config_to_dict
from trellis.config.types import (
    Field,
    IntSource,
    Permissive,
    Shape,
    StringSource,
    convert_potential_field,
)
from trellis.config.validate import process_config
from trellis.core.errors import InvalidDefinitionError


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Inner(Config):
    depth: int = 1


class Job(Config):
    """Settings of the job."""

    limit: int = 10
    name: str
    ratio: float | None = None
    tags: list[str] = pydantic.Field(default_factory=list, description="labels")
    weights: dict[str, float] = {}
    mode: Literal["fast", "slow"] = "fast"
    color: Color = Color.RED
    inner: Inner = Inner()


def test_schema_is_compiled_from_annotations():
    schema = Job.to_config_schema()
    assert schema.is_required
    assert print_type(schema.config_type) == (
        "{ color?: Color inner?: { depth?: IntSource } limit?: IntSource mode?: Job.mode "
        "name: StringSource ratio?: Float? tags?: [StringSource] weights?: { [String]: Float } }"
    )
    fields = schema.config_type.fields
    assert fields["limit"].default_value == 10
    assert fields["tags"].description == "labels"
    assert fields["tags"].default_value == []
    assert fields["color"].default_value == "RED"
    assert fields["inner"].default_value == {"depth": 1}
    assert schema.config_type.description == "Settings of the job."


def test_schema_is_cached_per_class():
    assert Job.to_config_schema() is Job.to_config_schema()
    assert Inner.to_config_schema() is not Job.to_config_schema()


def test_processed_config_builds_the_model():
    result = process_config(Job.to_config_schema(), {"name": "n", "color": "GREEN", "mode": "slow"})
    assert result.success
    job = Job.model_validate(result.value)
    assert job == Job(name="n", color=Color.GREEN, mode="slow")
    assert job.color is Color.GREEN
    assert job.inner == Inner(depth=1)


def test_config_class_is_a_schema_shorthand():
    field = convert_potential_field({"job": Job})
    assert field.config_type.fields["job"].config_type is Job.to_config_schema().config_type
    assert convert_potential_field(Job).config_type is Job.to_config_schema().config_type


def test_same_messages_as_the_equivalent_classic_schema():
    classic = Shape({"limit": Field(IntSource, default_value=10), "name": StringSource})

    class Small(Config):
        limit: int = 10
        name: str

    mistakes = [{}, {"limit": "ten", "name": "n"}, {"name": "n", "limti": 3}, {"name": 5}]
    for value in mistakes:
        pythonic_errors = process_config(Small.to_config_schema(), value).errors
        classic_errors = process_config(classic, value).errors
        assert pythonic_errors, value
        assert [e.message for e in pythonic_errors] == [e.message for e in classic_errors]


def test_bad_scalar_message_matches_a_plain_int_schema():
    class Small(Config):
        limit: int

    plain = process_config({"limit": int}, {"limit": "ten"}).errors
    pythonic = process_config(Small.to_config_schema(), {"limit": "ten"}).errors
    assert [e.message for e in pythonic] == [e.message for e in plain]


def test_config_instances_are_frozen_and_strict():
    job = Job(name="n")
    with pytest.raises(pydantic.ValidationError):
        job.name = "m"
    with pytest.raises(pydantic.ValidationError):
        Job(name="n", unknown=1)


def test_permissive_config_keeps_extra_keys():
    class Loose(PermissiveConfig):
        a: int = 1

    assert isinstance(Loose.to_config_schema().config_type, Permissive)
    result = process_config(Loose.to_config_schema(), {"b": "x"})
    assert result.value == {"b": "x", "a": 1}
    assert config_to_dict(Loose(b="x")) == {"a": 1, "b": "x"}


def test_classic_field_inside_a_config_class_is_a_definition_error():
    with pytest.raises(InvalidDefinitionError, match=r"use pydantic\.Field for the default"):

        class Annotated(Config):
            x: int = Field(int)

    with pytest.raises(InvalidDefinitionError, match="'Unannotated' sets field 'y'"):

        class Unannotated(Config):
            y = Field(str)


def test_unsupported_annotation_names_class_and_field():
    class Weird(Config):
        model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
        when: complex

    with pytest.raises(InvalidDefinitionError, match="field 'when' of Config class 'Weird'"):
        Weird.to_config_schema()

    class Union(Config):
        v: int | str

    with pytest.raises(InvalidDefinitionError, match=r"`T \| None`"):
        Union.to_config_schema()


def test_optional_annotation_is_an_optional_noneable_field():
    class Opt(Config):
        v: int | None

    schema = Opt.to_config_schema()
    assert not schema.is_required
    assert process_config(schema, {}).value == {"v": None}
    assert Opt.model_validate(process_config(schema, {}).value).v is None


def test_env_var_reads_the_environment(monkeypatch):
    monkeypatch.setenv("TRELLIS_T_NAME", "from-env")
    monkeypatch.setenv("TRELLIS_T_PORT", "99")
    assert EnvVar("TRELLIS_T_NAME").get_value() == "from-env"
    assert EnvVar("TRELLIS_T_UNSET_X").get_value("dflt") == "dflt"
    port = EnvVar.int("TRELLIS_T_PORT")
    assert isinstance(port, IntEnvVar)
    assert port.get_value() == 99
    assert port.env_var_name == "TRELLIS_T_PORT"


def test_env_var_fields_become_env_sources_and_resolve(monkeypatch):
    monkeypatch.setenv("TRELLIS_T_NAME", "real-name")
    monkeypatch.setenv("TRELLIS_T_LIMIT", "5")
    job = Job(name=EnvVar("TRELLIS_T_NAME"), limit=EnvVar.int("TRELLIS_T_LIMIT"))
    as_dict = config_to_dict(job)
    assert as_dict["name"] == {"env": "TRELLIS_T_NAME"}
    assert as_dict["limit"] == {"env": "TRELLIS_T_LIMIT"}
    assert as_dict["color"] == "RED"
    assert as_dict["inner"] == {"depth": 1}
    processed = process_config(Job.to_config_schema(), as_dict).value
    assert processed["name"] == "real-name"
    assert processed["limit"] == 5


def test_env_var_default_in_a_config_class(monkeypatch):
    class WithDefault(Config):
        token: str = EnvVar("TRELLIS_T_TOKEN")

    assert WithDefault.to_config_schema().config_type.fields["token"].default_value == {
        "env": "TRELLIS_T_TOKEN"
    }
    monkeypatch.setenv("TRELLIS_T_TOKEN", "t0k")
    assert process_config(WithDefault.to_config_schema(), {}).value == {"token": "t0k"}


def test_invalid_pydantic_default_is_reported_with_the_field():
    class BadDefault(Config):
        n: int = "x"

    with pytest.raises(InvalidDefinitionError, match="field 'n' of Config class 'BadDefault'"):
        BadDefault.to_config_schema()


def test_is_config_class_and_instance():
    assert is_config_class(Job)
    assert is_config_class(Config)
    assert not is_config_class(Job(name="n"))
    assert not is_config_class(pydantic.BaseModel)
    assert not is_config_class(dict)
    assert is_config_instance(Job(name="n"))
    assert not is_config_instance(Job)


def test_detect_and_classic_config_do_not_import_pydantic():
    code = (
        "import sys\n"
        "from trellis.config.detect import is_config_class\n"
        "from trellis.config.validate import process_config\n"
        "from trellis import EnvVar, Field, RunConfig, Shape\n"
        "assert not is_config_class(int)\n"
        "assert process_config({'a': int}, {'a': 1}).success\n"
        "RunConfig(ops={'a': {'config': 1}}).to_config_dict()\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
