"""An ``@asset_sensor`` called with a context alone evaluates like a tick (Dagster's way of
testing one): a ``SkipReason`` until the asset is materialized after the cursor, then what
the function yields for the newest materialization, with ``context.cursor`` already that
materialization's storage id (so ``run_key=context.cursor`` names it), here and in the
daemon's ticks."""

from __future__ import annotations

from trellis import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    SkipReason,
    asset,
    asset_sensor,
    build_sensor_context,
    job,
    materialize,
    op,
)


@op
def noop() -> None:
    pass


@job
def refresh():
    noop()


@asset
def scores() -> int:
    return 1


@asset_sensor(asset_key=AssetKey("scores"), job=refresh)
def on_scores(context, asset_event):
    yield RunRequest(run_key=context.cursor, tags={"run": asset_event.run_id})


def test_called_with_a_context_alone_it_evaluates_like_a_tick():
    instance = DagsterInstance.ephemeral()
    context = build_sensor_context(instance)
    [skip] = on_scores(context)
    assert isinstance(skip, SkipReason)
    first = materialize([scores], instance=instance).run_id
    [request] = on_scores(context)
    assert isinstance(request, RunRequest) and request.tags["run"] == first
    assert request.run_key == context.cursor and context.cursor is not None
    [again] = on_scores(context)  # nothing newer than the cursor
    assert isinstance(again, SkipReason)
    second = materialize([scores], instance=instance).run_id
    [later] = on_scores(context)
    assert later.tags["run"] == second and int(later.run_key) > int(request.run_key)


def test_a_tick_moves_the_cursor_before_the_function_runs():
    instance = DagsterInstance.ephemeral()
    materialize([scores], instance=instance)
    result = on_scores.evaluate_tick(build_sensor_context(instance))
    [request] = result.run_requests
    assert request.run_key == result.cursor and result.cursor_updated


def test_called_with_a_context_and_an_event_it_is_the_function():
    instance = DagsterInstance.ephemeral()
    run_id = materialize([scores], instance=instance).run_id
    event = instance.get_latest_materialization_record(AssetKey("scores")).event
    context = build_sensor_context(instance, cursor="7")
    [request] = list(on_scores(context, event))
    assert request.tags["run"] == run_id and request.run_key == "7"  # the cursor untouched
