"""Jobs run in process: ``@job`` and ``execute_in_process`` arguments, ``op_selection``,
the result accessors, and the errors a job meets before its first step."""

import pytest

from trellis import (
    Config,
    EventType,
    Field,
    InvalidConfigError,
    InvalidDefinitionError,
    InvariantViolationError,
    Out,
    Output,
    RunConfig,
    in_process_executor,
    job,
    op,
    resource,
)


def _types(events):
    return [e.event_type for e in events]


def _user_tags(tags):
    """Run tags without the ones Trellis sets itself (``trellis/...``)."""
    return {k: v for k, v in tags.items() if not k.startswith("trellis/")}


# -- @job and execute_in_process -----------------------------------------------------------


@op(config_schema={"greeting": str, "punctuation": Field(str, default_value="!")})
def greet(context) -> str:
    return context.op_config["greeting"] + context.op_config["punctuation"]


@op
def shout(text: str) -> str:
    return text.upper()


@op
def whisper(text: str) -> str:
    return text.lower()


def test_job_config_is_the_default_run_config_merged_with_the_given_one():
    @job(config={"ops": {"greet": {"config": {"greeting": "hello", "punctuation": "?"}}}})
    def greeting():
        shout(greet())

    assert greeting.execute_in_process().output_for_node("shout") == "HELLO?"
    # the given run config is laid over the job's, key by key
    result = greeting.execute_in_process(
        run_config={"ops": {"greet": {"config": {"greeting": "hi"}}}}
    )
    assert result.output_for_node("shout") == "HI?"
    assert result.run.run_config["ops"]["greet"]["config"] == {"greeting": "hi", "punctuation": "?"}


def test_job_tags_and_run_tags_land_on_the_run():
    seen = {}

    @op
    def read_tags(context):
        seen["tags"] = dict(context.run.tags)
        seen["has_team"] = context.has_tag("team")
        seen["owner"] = context.get_tag("owner")
        seen["missing"] = context.get_tag("nope")
        seen["has_missing"] = context.has_tag("nope")

    @job(tags={"team": "data", "owner": "job"})
    def tagged():
        read_tags()

    result = tagged.execute_in_process(tags={"owner": "run", "extra": "1"})
    expected = {"team": "data", "owner": "run", "extra": "1"}
    assert _user_tags(result.run.tags) == expected
    assert seen == {
        "tags": result.run.tags,
        "has_team": True,
        "owner": "run",
        "missing": None,
        "has_missing": False,
    }


def test_execute_in_process_accepts_run_id_resources_and_input_values():
    @op(required_resource_keys={"prefix"})
    def prefixed(context, name: str) -> str:
        return context.resources.prefix + name

    @job
    def prefixing():
        prefixed()

    result = prefixing.execute_in_process(
        resources={"prefix": "user:"}, input_values={"name": "ada"}, run_id="run-123"
    )
    assert result.success
    assert result.run_id == "run-123"
    assert result.run.run_id == "run-123"
    assert result.output_for_node("prefixed") == "user:ada"
    assert all(e.run_id == "run-123" for e in result.all_events)


def test_execute_in_process_accepts_a_run_config_object():
    class Greeting(Config):
        greeting: str
        punctuation: str = "."

    @op
    def typed_greet(config: Greeting) -> str:
        return config.greeting + config.punctuation

    @job
    def greeting():
        typed_greet()
        greet()

    result = greeting.execute_in_process(
        run_config=RunConfig(
            ops={"typed_greet": Greeting(greeting="hey"), "greet": {"config": {"greeting": "yo"}}}
        )
    )
    assert result.output_for_node("typed_greet") == "hey."
    assert result.output_for_node("greet") == "yo!"


def test_job_with_executor_def_and_resource_defs_runs_in_process():
    events = []

    @resource
    def tracker():
        events.append("setup")
        yield "tracked"
        events.append("teardown")

    @op(required_resource_keys={"tracker"})
    def use_tracker(context) -> str:
        return context.resources.tracker

    @job(executor_def=in_process_executor, resource_defs={"tracker": tracker})
    def tracked():
        use_tracker()

    assert tracked.executor_def is in_process_executor
    result = tracked.execute_in_process()
    assert result.output_for_node("use_tracker") == "tracked"
    assert events == ["setup", "teardown"]


def test_resources_passed_at_execution_override_the_jobs():
    @op(required_resource_keys={"name"})
    def who(context) -> str:
        return context.resources.name

    @job(resource_defs={"name": "from-job"})
    def naming():
        who()

    assert naming.execute_in_process().output_for_node("who") == "from-job"
    assert naming.execute_in_process(resources={"name": "given"}).output_for_node("who") == "given"


def test_raise_on_error_false_returns_an_unsuccessful_result():
    @op
    def fails():
        raise ValueError("nope")

    @job
    def failing():
        fails()

    result = failing.execute_in_process(raise_on_error=False)
    assert result.success is False
    assert result.is_node_failed("fails")


# -- op_selection -------------------------------------------------------------------------


@op
def extract() -> int:
    return 1


@op
def transform(x: int) -> int:
    return x + 1


@op
def load(x: int) -> int:
    return x * 10


@job
def etl():
    load(transform(extract()))


def _ran(result):
    return [e.step_key for e in result.get_step_success_events()]


def test_op_selection_star_selects_an_op_and_everything_upstream():
    result = etl.execute_in_process(op_selection=["*transform"])
    assert _ran(result) == ["extract", "transform"]
    assert result.run.op_selection == ["*transform"]


def test_op_selection_plus_selects_one_level_downstream():
    assert _ran(etl.execute_in_process(op_selection=["extract+"])) == ["extract", "transform"]
    assert _ran(etl.execute_in_process(op_selection=["extract*"])) == [
        "extract",
        "transform",
        "load",
    ]
    one_up = etl.execute_in_process(
        op_selection=["+load"], run_config={"ops": {"transform": {"inputs": {"x": 5}}}}
    )
    assert _ran(one_up) == ["transform", "load"]
    assert one_up.output_for_node("load") == 60


def test_op_selection_by_name_needs_values_for_cut_inputs():
    with pytest.raises(InvalidDefinitionError, match=r"ops\.load\.inputs\.x"):
        etl.execute_in_process(op_selection=["load"])
    result = etl.execute_in_process(
        op_selection=["load"], run_config={"ops": {"load": {"inputs": {"x": 4}}}}
    )
    assert _ran(result) == ["load"]
    assert result.output_for_node("load") == 40


def test_op_selection_unknown_op_suggests_the_closest_name():
    with pytest.raises(InvalidDefinitionError) as info:
        etl.execute_in_process(op_selection=["*transfrom"])
    message = str(info.value)
    assert "'transfrom'" in message
    assert "job 'etl'" in message
    assert "Did you mean 'transform'?" in message


# -- result accessors ---------------------------------------------------------------------


def test_result_accessors():
    @op(out={"left": Out(), "right": Out()})
    def pair(context):
        context.log.info("making a pair")
        return "L", "R"

    @op
    def join(left: str, right: str) -> str:
        return left + right

    @job
    def joined():
        left, right = pair()
        join(left, right)

    result = joined.execute_in_process(run_id="r1")
    assert result.success is True
    assert result.run_id == "r1"
    assert result.all_events[0].event_type is EventType.RUN_START
    assert result.all_events[-1].event_type is EventType.RUN_SUCCESS
    assert result.output_for_node("pair", "left") == "L"
    assert result.output_for_node("pair", "right") == "R"
    assert result.output_for_node("join") == "LR"
    assert [e.step_key for e in result.get_step_success_events()] == ["pair", "join"]
    assert all(e.step_key == "join" for e in result.events_for_node("join"))
    assert _types(result.events_for_node("join"))[0] is EventType.STEP_START
    assert result.asset_materializations_for_node("join") == []


def test_output_for_node_errors_are_clear():
    @op(out={"kept": Out(), "dropped": Out(is_required=False)})
    def partial():
        yield Output(1, "kept")

    @job
    def partial_job():
        partial()

    result = partial_job.execute_in_process()
    with pytest.raises(
        InvariantViolationError, match="'dropped' of step 'partial' was not produced"
    ):
        result.output_for_node("partial", "dropped")
    with pytest.raises(InvariantViolationError, match=r"no output 'nope'.*kept"):
        result.output_for_node("partial", "nope")
    with pytest.raises(InvariantViolationError, match="No single step named 'ghost'"):
        result.output_for_node("ghost")


def test_output_of_a_failed_step_is_not_produced():
    @op
    def broken() -> int:
        raise ValueError("x")

    @job
    def breaking():
        broken()

    result = breaking.execute_in_process(raise_on_error=False)
    with pytest.raises(InvariantViolationError, match="not produced"):
        result.output_for_node("broken")


# -- definition-time errors ---------------------------------------------------------------


def test_unconnected_input_without_value_names_the_op_input_and_config_path():
    @op
    def needs(value):
        return value

    @job
    def unwired():
        needs()

    with pytest.raises(InvalidDefinitionError) as info:
        unwired.execute_in_process()
    message = str(info.value)
    assert "Input 'value'" in message
    assert "op 'needs'" in message
    assert "run_config ops.needs.inputs.value" in message
    result = unwired.execute_in_process(run_config={"ops": {"needs": {"inputs": {"value": 9}}}})
    assert result.output_for_node("needs") == 9


def test_missing_resource_names_the_op_and_the_key():
    @op(required_resource_keys={"db"})
    def query(context):
        return context.resources.db

    @job
    def querying():
        query()

    with pytest.raises(InvalidDefinitionError) as info:
        querying.execute_in_process()
    message = str(info.value)
    assert "'query'" in message and "'db'" in message and "querying" in message


def test_bad_config_reports_every_problem_with_paths_and_hints():
    @op(config_schema={"n": int, "name": Field(str, default_value="x")})
    def configured(context):
        return context.op_config

    @job
    def configuring():
        configured()

    with pytest.raises(InvalidConfigError) as info:
        configuring.execute_in_process(
            run_config={"ops": {"configured": {"config": {"n": "five", "nmae": "y"}}}}
        )
    message = str(info.value)
    assert 'job "configuring"' in message
    assert "2 errors" in message
    assert "root:ops:configured:config:n" in message
    assert "'five'" in message and "Int" in message
    assert "'nmae'" in message and "Did you mean 'name'?" in message
    assert len(info.value.errors) == 2

    with pytest.raises(InvalidConfigError) as missing:
        configuring.execute_in_process()
    assert "configured" in str(missing.value)
    assert "root" in str(missing.value)
