"""The command's small helpers: selection strings, ages, tags, config merging, did-you-mean,
live progress, step summaries, user tracebacks."""

from __future__ import annotations

import io
import subprocess
import sys

import click
import pytest
from rich.console import Console

from trellis import AssetKey, Definitions, asset
from trellis.cli.config_files import deep_merge
from trellis.cli.errors import CliError
from trellis.cli.options import parse_age, parse_tags
from trellis.cli.progress import RunProgress
from trellis.cli.selection import parse_selection
from trellis.cli.step_summary import summarize_steps
from trellis.cli.suggest import did_you_mean, unknown_name_message
from trellis.cli.user_traceback import format_user_traceback
from trellis.core.event_payloads import payload_from_dict
from trellis.core.events import Event, EventType


@asset(group_name="g1")
def a() -> int:
    return 1


@asset(group_name="g1")
def b(a: int) -> int:
    return a


@asset(group_name="g2")
def c(b: int) -> int:
    return b


@asset(key=["nested", "d"])
def d(c: int) -> int:
    return c


GRAPH = Definitions(assets=[a, b, c, d]).asset_graph


def _keys(text: str) -> set[str]:
    return {k.to_user_string() for k in parse_selection(text, GRAPH).resolve(GRAPH)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", {"a", "b", "c", "nested/d"}),
        ("b", {"b"}),
        ("a, nested/d", {"a", "nested/d"}),
        ("+c", {"b", "c"}),
        ("++c", {"a", "b", "c"}),
        ("*c", {"a", "b", "c"}),
        ("b+", {"b", "c"}),
        ("b*", {"b", "c", "nested/d"}),
        ("+b+", {"a", "b", "c"}),
        ("group:g1", {"a", "b"}),
    ],
)
def test_selection_strings(text, expected):
    assert _keys(text) == expected


def test_selection_errors():
    with pytest.raises(CliError, match="Did you mean 'nested/d'"):
        parse_selection("nested/e", GRAPH)
    with pytest.raises(CliError, match="empty"):
        parse_selection(" , ", GRAPH)
    with pytest.raises(CliError, match="Groups: default, g1, g2"):
        parse_selection("group:zzz", GRAPH)


def test_ages():
    assert parse_age("30d") == 30 * 86400
    assert parse_age("12h") == 12 * 3600
    assert parse_age("90m") == 5400
    assert parse_age("2w") == 14 * 86400
    assert parse_age("45") == 45
    with pytest.raises(click.BadParameter):
        parse_age("yesterday")


def test_tags():
    assert parse_tags(None) == {}
    assert parse_tags('{"a": "x", "n": 1, "l": [1]}') == {"a": "x", "n": "1", "l": "[1]"}
    with pytest.raises(click.BadParameter, match="JSON object"):
        parse_tags("[1, 2]")


def test_deep_merge():
    base = {"ops": {"x": {"config": {"a": 1, "b": 2}}}, "keep": True}
    over = {"ops": {"x": {"config": {"b": 3}}, "y": {}}}
    assert deep_merge(base, over) == {
        "ops": {"x": {"config": {"a": 1, "b": 3}}, "y": {}},
        "keep": True,
    }
    assert base["ops"]["x"]["config"]["b"] == 2  # inputs untouched


def test_did_you_mean():
    assert did_you_mean("sales_jb", ["sales_job", "report_job"]) == " Did you mean 'sales_job'?"
    assert did_you_mean("zzz", ["sales_job"]) == ""
    message = unknown_name_message("job", "x", [])
    assert "There are no jobs" in message


def _event(kind: EventType, step: str | None = None, **data) -> Event:
    return Event(kind, "run-1", "job", step_key=step, data=payload_from_dict(kind, data))


def test_progress_counts_steps_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with RunProgress(console, total=2, title="job") as progress:
        progress.on_event(_event(EventType.RUN_START))
        progress.on_event(_event(EventType.STEP_START, "one"))
        assert progress.current == "running one"
        progress.on_event(_event(EventType.STEP_SUCCESS, "one"))
        progress.on_event(_event(EventType.STEP_START, "two"))
        progress.on_event(_event(EventType.STEP_FAILURE, "two"))
        assert progress.done == 2 and progress.current == ""
    assert "2/2" in out.getvalue()


def test_progress_is_silent_off_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with RunProgress(console, total=None, title="job") as progress:
        progress.on_event(_event(EventType.STEP_START, "one"))
        progress.on_event(_event(EventType.STEP_SUCCESS, "one"))
        progress.on_event(_event(EventType.STEP_SKIPPED, "extra"))
    assert out.getvalue() == ""
    assert progress.done == 2


def test_step_summaries():
    events = [
        _event(EventType.STEP_START, "s1"),
        _event(EventType.STEP_UP_FOR_RETRY, "s1"),
        _event(EventType.STEP_RESTARTED, "s1"),
        _event(EventType.STEP_SUCCESS, "s1", duration_ms=1500.0),
        _event(EventType.STEP_START, "s2"),
    ]
    events.insert(
        3,
        Event(
            EventType.ASSET_MATERIALIZATION,
            "run-1",
            "job",
            step_key="s1",
            asset_key=AssetKey("x"),
            partition="p1",
        ),
    )
    s1, s2 = summarize_steps(events)
    assert (s1.status, s1.attempts, s1.duration_seconds) == ("SUCCESS", 2, 1.5)
    assert s1.materializations == ["x [p1]"]
    assert s2.status == "RUNNING"
    assert summarize_steps(events, run_finished=True)[1].status == "INTERRUPTED"


def test_user_traceback_drops_trellis_frames():
    def user_function():
        Definitions(assets=[object()])

    try:
        user_function()
    except Exception as exc:
        text = format_user_traceback(exc)
    assert "user_function" in text
    assert "InvalidDefinitionError" in text
    assert "src/trellis/defs" not in text


def test_import_trellis_does_not_load_the_cli():
    code = (
        "import sys, trellis\n"
        "print([m for m in ('click', 'rich', 'trellis.cli') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
