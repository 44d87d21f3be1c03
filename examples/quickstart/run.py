"""Run the quickstart project end to end and print what happened.

    make run        (or: .venv/bin/python examples/quickstart/run.py)

Materializes the sales assets, then runs the report job that reads the summary back
through the custom IO manager, and prints each run's steps, materializations and result.
Both runs persist to the instance under ``$TRELLIS_HOME`` (default ``./.trellis``, SQLite):
``trellis run list`` shows them afterwards. The summary is written as JSON under
``$QUICKSTART_OUTPUT_DIR`` (default ``examples/quickstart/output/``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from definitions import defs
from trellis import EventType, Instance


def describe(result) -> None:
    """Print a run's steps and materializations, from its event stream."""
    print(
        f"\nrun {result.run_id[:8]} of job '{result.run.job_name}': "
        f"{'SUCCESS' if result.success else 'FAILURE'}"
    )
    durations = {
        e.step_key: e.data.duration_ms
        for e in result.all_events
        if e.event_type is EventType.STEP_SUCCESS
    }
    for step_key, ms in durations.items():
        print(f"  step {step_key:<20} {ms:8.2f} ms")
    for event in result.get_asset_materialization_events():
        meta = ", ".join(f"{k}={v.value}" for k, v in event.metadata.items())
        print(f"  materialized {event.asset_key.to_user_string():<18} {meta}")


def trellis_command() -> str:
    """How to start the ``trellis`` command from here: the script next to this Python
    (``.venv/bin/trellis`` after ``make run``; the virtualenv need not be activated),
    else ``python -m trellis``."""
    script = Path(sys.executable).parent / "trellis"
    if not script.exists():
        return f"{sys.executable} -m trellis"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def definitions_path() -> str:
    """This example's definitions file, relative to the working directory when it is
    below it."""
    path = Path(__file__).parent / "definitions.py"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main() -> int:
    """Run both jobs; exit non-zero when one fails."""
    sys.stdout.reconfigure(line_buffering=True)  # keep prints in order with the log lines
    with Instance.get() as instance:
        sales = defs.get_job_def("sales_job").execute_in_process(instance=instance)
        describe(sales)
        print(f"  revenue_by_region = {sales.asset_value('revenue_by_region')}")
        report = defs.get_job_def("report_job").execute_in_process(instance=instance)
        describe(report)
        print("\n" + report.output_for_node("format_report"))
        home = instance.root_directory
        print(f"\nBoth runs are stored in {home}: try `{trellis_command()} run list`.")
        print(
            f"Open the web UI (asset graph, runs, launchpad) with `{trellis_command()} dev "
            f"-f {definitions_path()}`, then http://127.0.0.1:3000/"
        )
    return 0 if sales.success and report.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
