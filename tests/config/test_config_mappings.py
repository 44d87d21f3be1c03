"""Config mappings and ``configured``, as Dagster's docs use them: a job whose run config
is a simpler schema mapped to its ops' config; a graph inside a job (and a graph-backed
asset) with a mapping of its own; pythonic ``Config`` parameters; the run records the
config as given, so a run whose steps run in other processes maps it again there;
``configured`` resources, ops and loggers; and every way they go wrong."""

from __future__ import annotations

import pytest

from trellis import (
    AssetKey,
    Config,
    ConfigMapping,
    DagsterConfigMappingFunctionError,
    Field,
    Instance,
    InvalidConfigError,
    InvalidDefinitionError,
    RunConfig,
    config_mapping,
    configured,
    graph,
    graph_asset,
    job,
    logger,
    materialize,
    multiprocess_executor,
    op,
    resource,
)


@op(config_schema={"config_param": str})
def do_something(context) -> str:
    return context.op_config["config_param"]


@config_mapping(config_schema={"simplified_param": str})
def simplified_config(val):
    return {"ops": {"do_something": {"config": {"config_param": val["simplified_param"]}}}}


@job(config=simplified_config)
def do_it_all_with_simplified_config():
    do_something()


def test_a_job_config_mapping_maps_the_run_config_and_the_run_records_what_was_given(tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    result = do_it_all_with_simplified_config.execute_in_process(
        run_config={"simplified_param": "stuff"}, instance=instance
    )
    assert result.success
    assert result.output_for_node("do_something") == "stuff"
    assert instance.get_run(result.run_id).run_config == {"simplified_param": "stuff"}


def test_the_mapping_gets_defaults_filled_unless_it_asks_for_the_values_as_given():
    seen = []

    def keep(config):
        seen.append(dict(config))
        return {"ops": {"do_something": {"config": {"config_param": "x"}}}}

    schema = {"a": Field(int, default_value=3), "b": Field(str, is_required=False)}

    @job(config=ConfigMapping(keep, config_schema=schema))
    def processed():
        do_something()

    @job(config=ConfigMapping(keep, config_schema=schema, receive_processed_config_values=False))
    def as_given():
        do_something()

    processed.execute_in_process(run_config={"b": "y"})
    as_given.execute_in_process(run_config={"b": "y"})
    assert seen == [{"a": 3, "b": "y"}, {"b": "y"}]


def test_config_that_does_not_fit_and_functions_that_fail_are_named():
    with pytest.raises(InvalidConfigError) as info:
        do_it_all_with_simplified_config.execute_in_process(run_config={"simplified": "x"})
    text = str(info.value)
    assert "config mapping 'simplified_config'" in text and "job 'do_it_all" in text
    assert "simplified_param" in text

    @config_mapping(config_schema={"n": int})
    def divides(config):
        return {"ops": {"do_something": {"config": {"config_param": str(1 / config["n"])}}}}

    @job(config=divides)
    def dividing():
        do_something()

    with pytest.raises(DagsterConfigMappingFunctionError, match=r"'divides'.*ZeroDivisionError"):
        dividing.execute_in_process(run_config={"n": 0})

    @config_mapping
    def wrong_key(config):
        return {"ops": {"do_something": {"config": {"config_parm": "x"}}}}

    @job(config=wrong_key)
    def mistyped():
        do_something()

    with pytest.raises(InvalidConfigError, match="config_parm"):
        mistyped.execute_in_process()

    @config_mapping
    def not_config(config):
        return 42

    @job(config=not_config)
    def returns_int():
        do_something()

    with pytest.raises(DagsterConfigMappingFunctionError, match="returned int 42"):
        returns_int.execute_in_process()


class Simplified(Config):
    param: str
    times: int = 2


def test_a_mapping_may_take_a_config_class_and_return_run_config():
    @config_mapping
    def typed(config: Simplified) -> RunConfig:
        return RunConfig(
            ops={"do_something": {"config": {"config_param": config.param * config.times}}}
        )

    @job(config=typed)
    def typed_job():
        do_something()

    result = typed_job.execute_in_process(run_config={"param": "ab"})
    assert result.output_for_node("do_something") == "abab"
    with pytest.raises(InvalidDefinitionError, match="Config parameter"):
        ConfigMapping(typed.config_fn, config_schema={"x": int})


@op(config_schema={"rate": float})
def apply_rate(context) -> float:
    return 100 * context.op_config["rate"]


@graph(
    config=ConfigMapping(
        lambda c: {"apply_rate": {"config": {"rate": c["percent"] / 100}}}, {"percent": int}
    )
)
def pricing():
    return apply_rate()


@job
def with_pricing():
    pricing()


def test_a_graph_inside_a_job_maps_its_own_config():
    result = with_pricing.execute_in_process(
        run_config={"ops": {"pricing": {"config": {"percent": 7}}}}
    )
    assert result.success
    assert result.output_for_node("pricing.apply_rate") == pytest.approx(7.0)
    with pytest.raises(InvalidConfigError, match="percent"):
        with_pricing.execute_in_process(run_config={"ops": {"pricing": {"config": {}}}})
    # A graph turned into a job: its mapping is the job's.
    assert pricing.to_job().execute_in_process(run_config={"percent": 50}).success


def test_a_graph_backed_asset_maps_its_config():
    @graph_asset(
        config=ConfigMapping(
            lambda c: {"apply_rate": {"config": {"rate": c["pct"] / 100}}}, {"pct": int}
        )
    )
    def priced():
        return apply_rate()

    result = materialize([priced], run_config={"ops": {"priced": {"config": {"pct": 25}}}})
    assert result.success
    assert result.output_for_node("priced.apply_rate") == pytest.approx(25.0)
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == AssetKey("priced")


@job(config=simplified_config, executor_def=multiprocess_executor)
def mapped_in_workers():
    do_something()


@pytest.mark.slow
def test_steps_in_other_processes_map_the_recorded_config_again(tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    result = mapped_in_workers.execute_in_process(
        run_config={"simplified_param": "from-worker"}, instance=instance
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert result.output_for_node("do_something") == "from-worker"


def test_configured_resources_fixed_or_computed_from_their_own_config():
    @resource(config_schema={"bucket": str, "region": Field(str, default_value="eu")})
    def s3(init_context):
        return dict(init_context.resource_config)

    dev_s3 = configured(s3)({"bucket": "dev"})

    @configured(s3, config_schema={"env": str})
    def s3_for_env(config):
        return {"bucket": f"{config['env']}-bucket"}

    @op(required_resource_keys={"a", "b"})
    def read(context) -> tuple:
        return context.resources.a, context.resources.b

    @job(resource_defs={"a": dev_s3, "b": s3_for_env})
    def reads():
        read()

    result = reads.execute_in_process(run_config={"resources": {"b": {"config": {"env": "qa"}}}})
    assert result.output_for_node("read") == (
        {"bucket": "dev", "region": "eu"},
        {"bucket": "qa-bucket", "region": "eu"},
    )
    with pytest.raises(InvalidConfigError, match="env"):
        reads.execute_in_process()
    bad = configured(s3)({"bucket": 3})

    @job(resource_defs={"a": bad, "b": dev_s3})
    def bad_reads():
        read()

    with pytest.raises(InvalidConfigError, match="configured config of resource"):
        bad_reads.execute_in_process()


def test_configured_ops_fixed_or_computed_and_named():
    fixed = do_something.configured({"config_param": "fixed"}, name="fixed_something")

    @configured(do_something, config_schema={"word": str})
    def shouted(config):
        return {"config_param": config["word"].upper()}

    @job
    def both():
        fixed()
        shouted()

    result = both.execute_in_process(run_config={"ops": {"shouted": {"config": {"word": "hi"}}}})
    assert result.output_for_node("fixed_something") == "fixed"
    assert result.output_for_node("shouted") == "HI"
    with pytest.raises(InvalidDefinitionError, match="needs a name"):
        do_something.configured({"config_param": "x"})

    wrong = do_something.configured({"config_param": 5}, name="wrong")

    @job
    def with_wrong():
        wrong()

    with pytest.raises(InvalidConfigError, match="configured config of op 'wrong'"):
        with_wrong.execute_in_process()


def test_configured_loggers_and_what_cannot_be_configured():
    records = []

    @logger(config_schema={"prefix": str})
    def collecting(init_context):
        import logging

        prefix = init_context.logger_config["prefix"]

        class Collect(logging.Handler):
            def emit(self, record):
                records.append(prefix + record.getMessage())

        log = logging.getLogger(f"collect-{id(records)}")
        log.setLevel(logging.INFO)
        log.addHandler(Collect())
        return log

    tagged = configured(collecting)({"prefix": "> "})

    @op
    def says(context) -> None:
        context.log.info("hello")

    @job(logger_defs={"collect": tagged})
    def logs():
        says()

    assert logs.execute_in_process(run_config={"loggers": {"collect": {}}}).success
    assert any(r.startswith("> ") and r.endswith("says - hello") for r in records), records
    with pytest.raises(InvalidDefinitionError, match="takes a resource, op"):
        configured(42)
    with pytest.raises(InvalidDefinitionError, match="needs a function"):
        configured(do_something, config_schema={"x": int})({"config_param": "x"})


def test_the_launchpad_scaffold_of_a_mapped_job_is_the_mappings_schema():
    from trellis.web.scaffold import config_scaffold

    @config_mapping(config_schema={"date": str, "limit": Field(int, default_value=10)})
    def by_date(config):
        return {"ops": {"do_something": {"config": {"config_param": config["date"]}}}}

    @job(config=by_date)
    def dated():
        do_something()

    scaffold = config_scaffold(dated)
    assert set(scaffold) == {"date", "limit"} and scaffold["limit"] == 10
    assert dated.execute_in_process(run_config=scaffold).success
