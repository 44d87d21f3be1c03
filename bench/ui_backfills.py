"""What the backfill pages of ``trellis dev`` cost, measured against a real ``trellis
dev`` process (its daemon in the process) and Debian's chromium driven by Playwright,
and the reads behind them in-process on SQLite. Run on demand (never a timed unit test):

    .venv/bin/python bench/ui_backfills.py [--repeat N]

Figures (medians over the repeats, one JSON line each, then a table):

- ``first_run_shown``: ``POST /api/backfills`` of one partition → its run's row is in the
  open backfill page (the daemon's backfill loop, once a second, launches it: this is
  mostly that loop's wait);
- ``run_end_shown``: the backfill's run finished (its ``end_time``) → the open page
  shows it succeeded (pushed: the hub's run message, then the page's refetch);
- ``hub_look_ms``: one look of the hub at the backfills when none changed (50 stored
  backfills of 1,826 one-partition runs each: the biggest plans), which the hub does
  at most every 0.5 s; ``hub_look_changed_ms``: the same when one of them changed (its
  record is read and pushed);
- ``progress_ms``: a 1,826-partition backfill's progress (counts, ranges per state) as
  ``GET /api/backfills/{id}`` computes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui import ARGS, CHROMIUM, Server, _get, _post

AT = """selector => {
    window.__at = window.__at || {};
    const look = () => {
        if (!(selector in window.__at) && document.querySelector(selector)) {
            window.__at[selector] = Date.now() / 1000;
        }
    };
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
    look();
}"""


def _seen(page, selector: str) -> float:
    """When ``selector`` first matched in the page, by the page's clock (a mutation
    observer installed by ``AT``, so Playwright's polling adds nothing)."""
    page.wait_for_selector(selector, state="attached", timeout=60000)
    return float(page.evaluate("s => window.__at[s]", selector))


DEFS = """
from trellis import DailyPartitionsDefinition, Definitions, asset

days = DailyPartitionsDefinition(start_date="2019-01-01", end_date="2024-01-01")


@asset(partitions_def=days)
def daily(context) -> int:
    return 1


defs = Definitions(assets=[daily])
"""


def browser_figures(repeat: int, folder: Path) -> dict[str, list[float]]:
    """The figures timed in the browser against ``trellis dev``."""
    from playwright.sync_api import sync_playwright

    (folder / "defs.py").write_text(DEFS)
    server = Server(folder / "defs.py", folder / "home")
    server.wait("/api/workspace")
    found: dict[str, list[float]] = {"first_run_shown": [], "run_end_shown": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(server.url + "/backfills")
            page.wait_for_selector("#backfill-daemon")
            for i in range(repeat):
                key = f"2020-01-{i + 1:02d}"
                start = time.time()
                body = {"selection": "daily", "partition_keys": [key]}
                made = _post(f"{server.url}/api/backfills", body)
                page.goto(f"{server.url}/backfills/{made['backfill_id']}")
                page.wait_for_selector("#backfill")
                row, done = "#backfill-runs tr.run-row", "#backfill-runs tr.status-success"
                page.evaluate(AT, row)
                page.evaluate(AT, done)
                found["first_run_shown"].append(_seen(page, row) - start)
                seen = _seen(page, done)
                run_id = page.get_attribute("#backfill-runs tr.run-row", "data-run-id")
                run = _get(f"{server.url}/api/runs/{run_id}")
                found["run_end_shown"].append(seen - run["end_time"])
            browser.close()
    finally:
        server.stop()
    return found


def read_figures(repeat: int, folder: Path) -> dict[str, list[float]]:
    """The in-process figures: the hub's look at big backfills, one's progress."""
    import os

    os.environ["TRELLIS_HOME"] = str(folder / "home_reads")
    (folder / "defs_reads.py").write_text(DEFS)
    from trellis.api.backfill import launch_backfill
    from trellis.api.backfill_progress import backfill_progress
    from trellis.cli.code_target import CodeTarget
    from trellis.cli.loader import load_definitions
    from trellis.instance.instance import Instance
    from trellis.web.hub import Hub

    defs = load_definitions(CodeTarget(file=folder / "defs_reads.py"))
    instance = Instance.get()
    records = [launch_backfill(instance, defs, ["daily"], all_partitions=True) for _ in range(50)]
    hub = Hub(instance)
    found: dict[str, list[float]] = {
        "hub_look_ms": [],
        "hub_look_changed_ms": [],
        "progress_ms": [],
    }
    hub.backfill_interval = 0.0
    hub.poll_once(publish=False)
    for _ in range(repeat):
        started = time.perf_counter()
        hub.poll_once()
        found["hub_look_ms"].append((time.perf_counter() - started) * 1000)
        record = instance.get_backfill(records[-1].backfill_id)
        record.update_timestamp = time.time()
        instance.update_backfill(record)
        started = time.perf_counter()
        hub.poll_once()
        found["hub_look_changed_ms"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        progress = backfill_progress(instance.get_backfill(records[0].backfill_id), instance, defs)
        found["progress_ms"].append((time.perf_counter() - started) * 1000)
        assert progress.total == 1826
    instance.dispose()
    return found


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = {**browser_figures(repeat, folder), **read_figures(repeat, folder)}
    rows = []
    for name, values in figures.items():
        median = statistics.median(values)
        print(json.dumps({"figure": name, "median": round(median, 4), "values": values}))
        rows.append((name, median))
    print()
    print("| figure | median |")
    print("|---|---|")
    for name, median in rows:
        unit = "ms" if name.endswith("_ms") else "s"
        print(f"| {name} | {median:.3f} {unit} |")


if __name__ == "__main__":
    main()
