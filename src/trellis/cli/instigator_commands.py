"""``trellis schedule list|start|stop|preview|logs`` and ``trellis sensor
list|start|stop|preview|cursor|logs``: the schedules and sensors of a code location,
their state in the instance and their tick history. The daemon runs them; these
commands turn them on and off and show what they did or would do."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from trellis.cli.display import format_time, make_console, simple_table, status_text
from trellis.cli.errors import CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, definitions_from
from trellis.cli.suggest import did_you_mean
from trellis.instance.daemon_records import InstigatorStatus, InstigatorTick, InstigatorType

_SCHEDULE, _SENSOR = InstigatorType.SCHEDULE, InstigatorType.SENSOR


def _instigators(defs: Any, kind: InstigatorType) -> list[Any]:
    if kind is _SCHEDULE:
        return list(defs.schedules)
    from trellis.daemon.code_location import CodeLocation

    return CodeLocation(defs).sensors


def _find(defs: Any, kind: InstigatorType, name: str) -> Any:
    found = {i.name: i for i in _instigators(defs, kind)}
    if name not in found:
        what = kind.value.lower()
        known = ", ".join(sorted(found)) or "none"
        raise CliError(
            f"No {what} named '{name}' in the definitions (they have: {known})."
            f"{did_you_mean(name, list(found))}"
        )
    return found[name]


def _status(instance: Any, definition: Any) -> str:
    state = instance.get_instigator_state(definition.name)
    if state is not None:
        return state.status.value
    return f"{definition.default_status.value} (default)"


def _first_line(text: str | None) -> str:
    if not text:
        return "-"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "-"


def _ticks_table(name: str, ticks: list[InstigatorTick]) -> Any:
    rows = [
        (
            t.tick_id,
            format_time(t.timestamp),
            status_text(t.status.value),
            ", ".join(r[:8] for r in t.run_ids) or "-",
            t.skip_reason or _first_line(t.error),
        )
        for t in ticks
    ]
    title = f"{len(rows)} tick{'' if len(rows) == 1 else 's'} of {name}"
    return simple_table(title, ("TICK", "TIME", "STATUS", "RUNS", "REASON / ERROR"), rows)


def _set_status(
    kind: InstigatorType, defs_args: tuple[Any, ...], name: str, status: InstigatorStatus
) -> None:
    defs = definitions_from(*defs_args)
    definition = _find(defs, kind, name)
    with open_instance() as instance:
        instance.set_instigator_status(definition.name, kind, status)
    verb = "Started" if status is InstigatorStatus.RUNNING else "Stopped"
    make_console().print(
        f"{verb} {kind.value.lower()} '{name}'. "
        + ("The daemon (trellis daemon) ticks it." if verb == "Started" else "")
    )


def _logs(name: str, limit: int) -> None:
    with open_instance() as instance:
        ticks = instance.get_ticks(name, limit=limit or None)
    console = make_console()
    console.print(_ticks_table(name, ticks))
    failed = [t for t in ticks if t.error]
    if failed:
        console.print(f"\nThe latest error (tick {failed[0].tick_id}):\n{failed[0].error}")


def _make_group(kind: InstigatorType, extra: Callable[[click.Group], None]) -> click.Group:
    what = kind.value.lower()

    @click.group(what)
    def group() -> None:
        pass

    group.help = f"List, start, stop and preview {what}s, and read their ticks."

    @group.command("list", epilog=examples(f"trellis {what} list -f defs.py"))
    @code_options
    def list_cmd(python_file: str | None, module_name: str | None, attribute: str | None) -> None:
        defs = definitions_from(python_file, module_name, attribute)
        items = _instigators(defs, kind)
        with open_instance() as instance:
            rows = []
            for item in items:
                latest = instance.get_ticks(item.name, limit=1)
                last = (
                    f"{latest[0].status.value} {format_time(latest[0].timestamp)}"
                    if latest
                    else "-"
                )
                if kind is _SCHEDULE:
                    crons = item.cron_schedule
                    when = crons if isinstance(crons, str) else ", ".join(crons)
                    detail = f"{when} ({item.execution_timezone or 'UTC'})"
                else:
                    detail = f"every {item.minimum_interval_seconds} s"
                rows.append((item.name, status_text(_status(instance, item)), detail, last))
        title = f"{len(rows)} {what}{'' if len(rows) == 1 else 's'}"
        head = "SCHEDULE" if kind is _SCHEDULE else "INTERVAL"
        make_console().print(simple_table(title, ("NAME", "STATUS", head, "LAST TICK"), rows))

    list_cmd.help = f"The {what}s of the definitions, with their status and last tick."

    @group.command("start", epilog=examples(f"trellis {what} start NAME -f defs.py"))
    @click.argument("name")
    @code_options
    def start(
        name: str, python_file: str | None, module_name: str | None, attribute: str | None
    ) -> None:
        _set_status(kind, (python_file, module_name, attribute), name, InstigatorStatus.RUNNING)

    start.help = f"Turn a {what} on (the daemon ticks it from now on)."

    @group.command("stop", epilog=examples(f"trellis {what} stop NAME -f defs.py"))
    @click.argument("name")
    @code_options
    def stop(
        name: str, python_file: str | None, module_name: str | None, attribute: str | None
    ) -> None:
        _set_status(kind, (python_file, module_name, attribute), name, InstigatorStatus.STOPPED)

    stop.help = f"Turn a {what} off."

    @group.command("logs", epilog=examples(f"trellis {what} logs NAME --limit 10"))
    @click.argument("name")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0))
    def logs(name: str, limit: int) -> None:
        _logs(name, limit)

    logs.help = f"A {what}'s ticks, newest first, with the latest error's traceback."
    extra(group)
    return group


def _preview_schedule(group: click.Group) -> None:
    @group.command(
        "preview", epilog=examples("trellis schedule preview hourly -f defs.py --ticks 3")
    )
    @click.argument("name")
    @code_options
    @click.option("--ticks", "count", default=5, show_default=True, type=click.IntRange(1))
    def preview(
        name: str,
        python_file: str | None,
        module_name: str | None,
        attribute: str | None,
        count: int,
    ) -> None:
        """The next tick times of a schedule, and the runs its next tick would request
        (its function is called; nothing is launched)."""
        from zoneinfo import ZoneInfo

        from trellis.api.testing import build_schedule_context
        from trellis.daemon.scheduler import cron_strings, ticks_between
        from trellis.daemon.sensor_loop import resources_for

        defs = definitions_from(python_file, module_name, attribute)
        schedule = _find(defs, _SCHEDULE, name)
        now = time.time()
        times: list[float] = []
        after = now
        for _ in range(count):
            _, following = ticks_between(
                cron_strings(schedule), schedule.execution_timezone, after, after, 1
            )
            times.append(following)
            after = following
        tz = ZoneInfo(schedule.execution_timezone or "UTC")
        console = make_console()
        console.print(f"Next ticks of '{name}':")
        for t in times:
            console.print(f"  {datetime.fromtimestamp(t, tz).isoformat()}")
        with open_instance() as instance:
            context = build_schedule_context(
                instance=instance,
                scheduled_execution_time=datetime.fromtimestamp(times[0], tz),
                resources=resources_for(defs, schedule.required_resource_keys),
                repository_def=defs,
            )
            with context:
                result = schedule.evaluate_tick(context)
        _print_requests(console, result.run_requests, result.skip_message)


def _print_requests(console: Any, requests: list[Any], skip: str | None) -> None:
    if not requests:
        console.print(f"It would request no run: {skip or 'no reason given'}.")
        return
    console.print(f"It would request {len(requests)} run(s):")
    for request in requests:
        console.print(f"  {request!r}")


def _sensor_extras(group: click.Group) -> None:
    @group.command(
        "preview", epilog=examples("trellis sensor preview my_sensor -f defs.py --cursor 10")
    )
    @click.argument("name")
    @code_options
    @click.option("--cursor", help="Evaluate from this cursor (default: the stored one).")
    def preview(
        name: str,
        python_file: str | None,
        module_name: str | None,
        attribute: str | None,
        cursor: str | None,
    ) -> None:
        """Evaluate a sensor once and show what it would request and its new cursor
        (nothing is launched, the cursor is not stored)."""
        from trellis.automation.loop import AutomationLoop
        from trellis.defs.automation_sensor import AutomationConditionSensorDefinition

        defs = definitions_from(python_file, module_name, attribute)
        sensor = _find(defs, _SENSOR, name)
        console = make_console()
        with open_instance() as instance:
            state = instance.get_instigator_state(name)
            start_cursor = cursor if cursor is not None else (state.cursor if state else None)
            if isinstance(sensor, AutomationConditionSensorDefinition):
                tick = AutomationLoop(record_evaluations=False).run_once(
                    instance, defs, datetime.now(UTC), start_cursor, sensor=sensor
                )
                _print_requests(console, tick.run_requests, tick.skip_reason)
                return
            from trellis.api.testing import build_sensor_context
            from trellis.daemon.sensor_loop import resources_for

            context = build_sensor_context(
                instance=instance,
                cursor=start_cursor,
                repository_def=defs,
                sensor_name=name,
                resources=resources_for(defs, sensor.required_resource_keys),
            )
            with context:
                result = sensor.evaluate_tick(context)
        _print_requests(console, result.run_requests, result.skip_message)
        console.print(f"Cursor after the tick: {result.cursor!r}")

    @group.command(
        "cursor",
        epilog=examples(
            "trellis sensor cursor my_sensor",
            "trellis sensor cursor my_sensor --set 42",
            "trellis sensor cursor my_sensor --delete",
        ),
    )
    @click.argument("name")
    @click.option("--set", "value", help="Store this cursor.")
    @click.option("--delete", is_flag=True, help="Forget the cursor (the next tick starts over).")
    def cursor_cmd(name: str, value: str | None, delete: bool) -> None:
        """Show, set or delete a sensor's stored cursor."""
        if value is not None and delete:
            raise CliError("Pass --set VALUE or --delete, not both.")
        with open_instance() as instance:
            if value is not None or delete:
                instance.set_instigator_cursor(name, _SENSOR, None if delete else value)
            state = instance.get_instigator_state(name)
        shown = state.cursor if state is not None else None
        make_console().print(f"Cursor of '{name}': {shown!r}")


schedule_group = _make_group(_SCHEDULE, _preview_schedule)
sensor_group = _make_group(_SENSOR, _sensor_extras)
