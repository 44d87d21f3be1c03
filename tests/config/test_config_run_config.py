"""RunConfig and config_dict_from_value."""

import pytest

import trellis
from trellis.config.pythonic import Config
from trellis.config.run_config import RunConfig, config_dict_from_value
from trellis.core.errors import InvalidInvocationError


class LoadCfg(Config):
    limit: int = 10
    table: str


class DbCfg(Config):
    url: str


def test_to_config_dict_uses_the_dagster_layout():
    run_config = RunConfig(
        ops={"load": LoadCfg(table="t"), "raw": {"config": {"x": 1}, "inputs": {"a": 1}}},
        resources={"db": DbCfg(url=trellis.EnvVar("DB_URL")), "plain": {"config": 3}},
        execution={"config": {"in_process": {}}},
        loggers={"console": {"config": {"log_level": "INFO"}}},
    )
    assert run_config.to_config_dict() == {
        "ops": {
            "load": {"config": {"limit": 10, "table": "t"}},
            "raw": {"config": {"x": 1}, "inputs": {"a": 1}},
        },
        "resources": {"db": {"config": {"url": {"env": "DB_URL"}}}, "plain": {"config": 3}},
        "execution": {"config": {"in_process": {}}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }


def test_sections_left_out_are_omitted():
    assert RunConfig().to_config_dict() == {}
    assert RunConfig(ops={"a": LoadCfg(table="x")}).to_config_dict() == {
        "ops": {"a": {"config": {"limit": 10, "table": "x"}}}
    }


def test_bad_entry_is_rejected():
    with pytest.raises(InvalidInvocationError, match="Config instances or dicts"):
        RunConfig(ops={"a": 3}).to_config_dict()


def test_config_dict_from_value_accepts_none_dict_and_run_config():
    assert config_dict_from_value(None) == {}
    original = {"ops": {}}
    copied = config_dict_from_value(original)
    assert copied == original and copied is not original
    assert config_dict_from_value(RunConfig(ops={"a": LoadCfg(table="x")})) == {
        "ops": {"a": {"config": {"limit": 10, "table": "x"}}}
    }
    with pytest.raises(InvalidInvocationError, match="run_config must be a dict or a RunConfig"):
        config_dict_from_value(["ops"])


def test_public_names_resolve():
    for name in [
        "Config",
        "PermissiveConfig",
        "RunConfig",
        "EnvVar",
        "Field",
        "Shape",
        "Selector",
        "StringSource",
        "InvalidConfigError",
        "Noneable",
        "Map",
    ]:
        assert getattr(trellis, name) is not None
    assert trellis.Field is trellis.Field  # resolved once, cached
    assert trellis.Config is Config
