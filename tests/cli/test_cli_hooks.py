"""Hooks in the ``trellis`` command: ``run show`` lists what each hook did and the error
of a hook that raised; ``run trace`` shows the hooks under the step, with their logs."""

from __future__ import annotations

from cli_fixture_paths import FIXTURES

from trellis.core.events import EventType

HOOKED = str(FIXTURES / "hooked_defs.py")


def test_run_show_and_trace_show_the_hooks_of_each_step(invoke, instance):
    executed = invoke("job", "execute", "-f", HOOKED, "-j", "hooked_job")
    assert executed.exit_code == 1, executed.output
    (run,) = instance.get_runs()
    stored = instance.all_logs(run.run_id, of_type=EventType.HOOK_ERRORED)
    assert [(e.step_key, e.data.hook_name) for e in stored] == [("publish", "broken_pager")]

    shown = invoke("run", "show", run.run_id[:8])
    assert shown.exit_code == 0, shown.output
    hooks_part = shown.stdout.split("Hooks", 1)[1]
    rows = [line.split("│") for line in hooks_part.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row[1:-1]] for row in rows]
    by_hook = {(c[0], c[1]): c for c in cells if c[0]}
    assert by_hook["load", "announce"][2] == "COMPLETED"
    assert by_hook["load", "page_someone"][2] == "SKIPPED"
    assert "the step succeeded" in " ".join(c[4] for c in cells)
    assert by_hook["publish", "page_someone"][2] == "COMPLETED"
    assert by_hook["publish", "broken_pager"][2] == "ERRORED"
    assert "pager service unreachable" in by_hook["publish", "broken_pager"][4]
    assert "Error in hook 'broken_pager' of publish:" in shown.stdout
    assert "ConnectionError: pager service unreachable" in shown.stdout

    traced = invoke("run", "trace", run.run_id, "--step", "load")
    assert traced.exit_code == 0, traced.output
    lines = traced.stdout.splitlines()
    success = next(i for i, line in enumerate(lines) if "STEP_SUCCESS" in line)
    hook = next(i for i, line in enumerate(lines) if "HookContext announce → announce()" in line)
    assert hook > success and "log INFO: load is loaded" in lines[hook + 1]
    errors = invoke("run", "trace", run.run_id, "--only-errors")
    assert "HookContext broken_pager → broken_pager() HOOK_ERRORED" in errors.stdout
    assert "HookContext announce" not in errors.stdout
