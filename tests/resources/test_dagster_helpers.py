"""Dagster's small helpers that Trellis offers under their names: ``make_values_resource``,
``custom_path_fs_io_manager``, ``multi_or_in_process_executor``, ``instance_for_test``,
``get_dagster_logger``, ``config_from_files`` and friends, ``ResourceDependency``."""

import logging
import os
from unittest import mock

import pytest

from trellis import (
    ConfigurableResource,
    DagsterInvalidConfigError,
    Definitions,
    Field,
    ResourceDependency,
    asset,
    build_op_context,
    config_from_files,
    config_from_pkg_resources,
    config_from_yaml_strings,
    custom_path_fs_io_manager,
    file_relative_path,
    get_dagster_logger,
    instance_for_test,
    job,
    make_values_resource,
    materialize,
    multi_or_in_process_executor,
    op,
)


def test_make_values_resource_hands_over_its_config():
    @op(required_resource_keys={"settings"})
    def read(context) -> dict:
        return context.resources.settings

    @job(
        resource_defs={
            "settings": make_values_resource(table=str, limit=Field(int, default_value=5))
        }
    )
    def reading():
        read()

    result = reading.execute_in_process(
        run_config={"resources": {"settings": {"config": {"table": "orders"}}}}
    )
    assert result.output_for_node("read") == {"table": "orders", "limit": 5}
    with pytest.raises(DagsterInvalidConfigError, match="table"):
        reading.execute_in_process(run_config={"resources": {"settings": {"config": {}}}})
    anything = build_op_context(resources={"settings": make_values_resource()})
    assert anything.resources.settings is None


def test_custom_path_fs_io_manager_writes_under_its_base_dir(tmp_path):
    @asset
    def numbers() -> list[int]:
        return [1, 2]

    result = materialize(
        [numbers],
        resources={"io_manager": custom_path_fs_io_manager.configured({"base_dir": str(tmp_path)})},
    )
    assert result.asset_value("numbers") == [1, 2]
    assert (tmp_path / "numbers").exists()


def test_multi_or_in_process_executor_lets_the_run_config_choose():
    @op
    def where() -> int:
        return os.getpid()

    @job(executor_def=multi_or_in_process_executor)
    def choose():
        where()

    assert choose.execute_in_process().output_for_node("where") == os.getpid()
    threads = {"execution": {"config": {"multithread": {"max_concurrent": 2}}}}
    result = choose.execute_in_process(run_config=threads)
    assert result.run.tags["trellis/executor"] == "multithread"


def test_instance_for_test_sets_and_restores_the_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "before"))
    with instance_for_test() as instance:
        home = os.environ["TRELLIS_HOME"]
        assert str(instance.root_directory) == home
        assert not instance.is_ephemeral
    assert os.environ["TRELLIS_HOME"] == str(tmp_path / "before")
    assert not os.path.exists(home)


def test_get_dagster_logger_records_in_a_step_and_logs_outside(caplog):
    @asset
    def chatty() -> int:
        get_dagster_logger("mine").warning("inside the step")
        return 1

    result = materialize([chatty])
    assert any(e.message == "inside the step" for e in result.event_log)
    with caplog.at_level(logging.INFO):
        get_dagster_logger().info("outside any step")
    assert "outside any step" in caplog.text


def test_config_from_yaml_files_strings_and_packages(tmp_path):
    (tmp_path / "base.yaml").write_text("ops:\n  load:\n    config: {rows: 1, table: t}\n")
    (tmp_path / "prod.yaml").write_text("ops:\n  load:\n    config: {rows: 5}\n")
    merged = config_from_files([str(tmp_path / "base.yaml"), str(tmp_path / "prod.yaml")])
    assert merged == {"ops": {"load": {"config": {"rows": 5, "table": "t"}}}}
    assert config_from_files([str(tmp_path / "*.yaml")]) == merged
    with pytest.raises(DagsterInvalidConfigError, match=r"missing\.yaml"):
        config_from_files([str(tmp_path / "missing.yaml")])
    assert config_from_yaml_strings(["a: 1", "b: {c: 2}"]) == {"a": 1, "b": {"c": 2}}
    with pytest.raises(DagsterInvalidConfigError, match="YAML string 0"):
        config_from_yaml_strings(["a: [1"])
    packaged = config_from_pkg_resources([("trellis", "py.typed")])
    assert packaged == {}  # an empty file is an empty config
    assert file_relative_path("/a/b/defs.py", "data/x.csv") == "/a/b/data/x.csv"


def test_a_resource_dependency_may_be_a_mock_or_a_pythonic_resource():
    class Inner(ConfigurableResource):
        name: str = "inner"

    class Outer(ConfigurableResource):
        inner: ResourceDependency[Inner]

    @asset
    def joined(outer: Outer) -> str:
        return outer.inner.name

    defs = Definitions(assets=[joined], resources={"outer": Outer(inner=Inner(name="real"))})
    assert (
        defs.resolve_implicit_global_asset_job_def().execute_in_process().output_for_node("joined")
        == "real"
    )
    fake = mock.Mock()
    fake.name = "fake"
    assert materialize([joined], resources={"outer": Outer(inner=fake)}).asset_value("joined") == (
        "fake"
    )
