"""Runs with dynamic outputs and graph-backed assets stored on SQLite and PostgreSQL: the
mapping keys of a run's items come back from storage in the order they were yielded (and
re-execution from failure rebuilds the parent's mapped steps from them); a graph asset's
materialization is indexed under its key, made by the inner op's step."""

from __future__ import annotations

from trellis import (
    DynamicOut,
    DynamicOutput,
    EventType,
    FilesystemIOManager,
    OpExecutionContext,
    asset,
    graph_asset,
    job,
    materialize,
    op,
)
from trellis.api.reexecution import reexecute_run

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
FAILING: set[str] = set()


@op(out=DynamicOut())
def letters():
    for letter in "cab":
        yield DynamicOutput(letter, mapping_key=letter)


@op
def shout(context: OpExecutionContext, letter: str) -> str:
    if context.get_mapping_key() in FAILING:
        raise ValueError(f"cannot shout {letter}")
    return letter.upper()


@op
def joined(parts: list[str]) -> str:
    return "".join(parts)


def _job(base_dir):
    @job(name="letters_job", resource_defs={"io_manager": FilesystemIOManager(base_dir=base_dir)})
    def letters_job():
        joined(letters().map(shout).collect())

    return letters_job


def test_mapping_keys_are_stored_and_rebuild_the_mapped_steps_on_reexecution(instance, tmp_path):
    letters_job = _job(str(tmp_path / "storage"))
    FAILING.add("a")
    try:
        first = letters_job.execute_in_process(
            run_config=QUIET, instance=instance, raise_on_error=False
        )
    finally:
        FAILING.clear()
    assert not first.success
    stored = instance.all_logs(first.run_id)
    outputs = [e for e in stored if e.event_type is EventType.STEP_OUTPUT]
    assert [(e.step_key, e.data.mapping_key) for e in outputs[:3]] == [
        ("letters", "c"),
        ("letters", "a"),
        ("letters", "b"),
    ]
    handled = [e for e in stored if e.event_type is EventType.HANDLED_OUTPUT]
    assert [e.data.mapping_key for e in handled[:3]] == ["c", "a", "b"]
    assert {e.step_key for e in stored if e.event_type is EventType.STEP_FAILURE} == {"shout[a]"}

    second = reexecute_run(letters_job, first.run_id, instance=instance, from_failure=True)
    assert second.success
    started = [e.step_key for e in second.all_events if e.event_type is EventType.STEP_START]
    assert started == ["shout[a]", "joined"]
    assert second.output_for_node("joined") == "CAB"
    assert instance.get_run(second.run_id).step_keys_to_execute == ["shout[a]", "joined"]


@asset
def words() -> list[str]:
    return ["graph", "backed"]


@op
def lengths(items: list[str]) -> list[int]:
    return [len(w) for w in items]


@op
def longest(items: list[int]) -> int:
    return max(items)


@graph_asset
def longest_word(words):
    return longest(lengths(words))


def test_a_graph_asset_is_indexed_under_its_key(instance, tmp_path):
    result = materialize(
        [words, longest_word],
        instance=instance,
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "storage"))},
        run_config=QUIET,
    )
    assert result.success
    record = instance.get_latest_materialization_event("longest_word")
    assert record is not None and record.step_key == "longest_word.longest"
    steps = [
        e.step_key
        for e in instance.all_logs(result.run_id)
        if e.event_type is EventType.STEP_SUCCESS
    ]
    assert steps == ["words", "longest_word.lengths", "longest_word.longest"]
