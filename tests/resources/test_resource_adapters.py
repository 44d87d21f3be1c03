"""Resource adapters from Dagster: ``ConfigurableLegacyIOManagerAdapter`` gives an IO
manager written with ``@io_manager`` typed fields (their values are its config), and
``IAttachDifferentObjectToOpContext`` makes ``context.resources.<key>`` another object
than the resource a typed parameter receives."""

from __future__ import annotations

from pathlib import Path

import pytest

from trellis import (
    ConfigurableLegacyIOManagerAdapter,
    ConfigurableResource,
    Definitions,
    IAttachDifferentObjectToOpContext,
    InvalidConfigError,
    IOManager,
    IOManagerDefinition,
    asset,
    io_manager,
    materialize,
)

torn_down: list[str] = []


class TextIOManager(IOManager):
    def __init__(self, base: str, suffix: str) -> None:
        self.base = Path(base)
        self.suffix = suffix

    def _path(self, context) -> Path:
        return self.base / (context.asset_key.to_user_string() + self.suffix)

    def handle_output(self, context, obj) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self._path(context).write_text(str(obj))

    def load_input(self, context):
        return self._path(context).read_text()


@io_manager(config_schema={"base_dir": str, "suffix": str})
def legacy_text_io_manager(init_context):
    yield TextIOManager(
        init_context.resource_config["base_dir"], init_context.resource_config["suffix"]
    )
    torn_down.append("legacy")


class TextIOManagerAdapter(ConfigurableLegacyIOManagerAdapter):
    base_dir: str
    suffix: str = ".txt"

    @property
    def wrapped_io_manager(self) -> IOManagerDefinition:
        return legacy_text_io_manager


@asset
def greeting() -> str:
    return "hello"


@asset
def shout(greeting: str) -> str:
    return greeting.upper()


def test_the_adapter_configures_the_legacy_io_manager_from_its_fields(tmp_path):
    torn_down.clear()
    result = materialize(
        [greeting, shout], resources={"io_manager": TextIOManagerAdapter(base_dir=str(tmp_path))}
    )
    assert result.success
    assert (tmp_path / "greeting.txt").read_text() == "hello"
    assert (tmp_path / "shout.txt").read_text() == "HELLO"
    assert torn_down == ["legacy"]  # its generator finished when the run ended


def test_field_values_the_wrapped_schema_refuses_are_reported(tmp_path):
    class WrongTypes(ConfigurableLegacyIOManagerAdapter):
        base_dir: int

        @property
        def wrapped_io_manager(self) -> IOManagerDefinition:
            return legacy_text_io_manager

    with pytest.raises(InvalidConfigError, match="WrongTypes's wrapped IO manager"):
        materialize([greeting], resources={"io_manager": WrongTypes(base_dir=3)})


class Client:
    def __init__(self, token: str) -> None:
        self.token = token


class ApiResource(ConfigurableResource, IAttachDifferentObjectToOpContext):
    token: str

    def get_object_to_set_on_execution_context(self) -> Client:
        return Client(self.token)


def test_context_resources_get_the_attached_object_and_typed_parameters_the_resource():
    seen = {}

    @asset(required_resource_keys={"api"})
    def through_context(context) -> None:
        seen["context"] = context.resources.api
        seen["dict"] = context.resources._asdict()["api"]

    @asset
    def through_parameter(api: ApiResource) -> None:
        seen["parameter"] = api

    defs = Definitions(
        assets=[through_context, through_parameter], resources={"api": ApiResource(token="t")}
    )
    assert defs.get_implicit_global_asset_job_def().execute_in_process().success
    assert isinstance(seen["context"], Client) and seen["context"].token == "t"
    assert isinstance(seen["dict"], Client)
    assert isinstance(seen["parameter"], ApiResource)
