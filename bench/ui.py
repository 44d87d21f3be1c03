"""What the web UI of ``trellis dev`` costs, measured against a real ``trellis dev``
process and Debian's chromium driven by Playwright. Run on demand (never a timed unit
test):

    .venv/bin/python bench/ui.py [--repeat N] [--only-10000]

Figures (medians over the repeats, one JSON line each, then a table):

- ``start_10`` / ``start_1000``: ``trellis dev`` started → ``GET /`` answers 200, with 10
  and 1,000 assets (and → ``GET /api/assets`` 200: ``assets_api_*``);
- ``memory_mib``: the server's resident memory after start and one ``/api/assets``, at
  1,000 assets (the whole UI: runs launched from it are child processes that end);
- ``start_10000`` / ``assets_api_10000`` / ``memory_mib_10000``: the same at 10,000
  assets (50 groups of 200);
- ``graph_10000``: a fresh browser context opens the asset graph of 10,000 assets → every
  group's node is drawn (collapsed: past 1,500 assets a group is one node);
  ``graph_10000_expand``: then a click on a group → its 200 assets drawn;
- ``graph_1000``: a fresh browser context opens the asset graph → all 1,000 nodes are in
  the page (from the start of the navigation, by the page's clock);
- ``run_listed``: a run created (its ``create_time``) → its row is in an open runs list;
- ``run_finished``: a run finished (its ``end_time``) → its open run page shows SUCCESS
  (both timed by the page's own clock, when the element is added);
- ``materialize_10``: on the launchpad, click Launch for 10 trivial assets → the run
  page shows SUCCESS;
- ``run_page_10000``: a fresh browser context opens the page of a run with 10,000 log
  events → its Gantt chart and first log rows are drawn (``..._all_rows``: the last
  event's row is in the log too).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

DEFS = """
import time
from trellis import Definitions, asset

N = {n}
LAYER = {layer}
assets = []
for i in range(N):
    above = i // LAYER - 1
    ups = [f"a{{j:04d}}" for j in (i - LAYER, i - LAYER + 1) if j >= 0 and j // LAYER == above]

    def body() -> None:
        return None

    assets.append(asset(name=f"a{{i:04d}}", group_name=f"g{{i // (LAYER * 2)}}", deps=ups)(body))


@asset(group_name="timed")
def pause() -> None:
    time.sleep(1.0)


@asset(group_name="timed")
def chatty(context) -> None:
    for i in range(10_000):
        context.log.info(f"line {{i}}")


defs = Definitions(assets=[*assets, pause, chatty])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_defs(folder: Path, n: int) -> Path:
    layer = max(1, min(100, n // 10))
    path = folder / f"defs_{n}.py"
    path.write_text(DEFS.format(n=n, layer=layer))
    return path


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # no abandoned requests
            response.read()
            return int(response.status)
    except OSError:
        return None


class Server:
    """A ``trellis dev`` process; ``started`` is when it was spawned."""

    def __init__(self, defs: Path, home: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TRELLIS_HOME": str(home)}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trellis", "dev", "-f", str(defs), "--port", str(self.port)],
            cwd=defs.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait(self, path: str) -> float:
        """Seconds from spawn until ``path`` answers 200."""
        while _status(self.url + path) != 200:
            if self.process.poll() is not None:
                raise RuntimeError("trellis dev exited")
            time.sleep(0.005)
        return time.perf_counter() - self.started

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


WATCH = """selector => {
    window.__seen = null;
    const look = () => {
        if (!window.__seen && document.querySelector(selector)) window.__seen = Date.now() / 1000;
    };
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
    look();
}"""


ROWS = """() => {
    window.__rows = {};
    const look = () => {
        for (const tr of document.querySelectorAll("tr[data-run-id]")) {
            const id = tr.dataset.runId;
            if (!(id in window.__rows)) window.__rows[id] = Date.now() / 1000;
        }
    };
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
    look();
}"""


MARKS = """(() => {
    const wanted = %s;
    window.__marks = {};
    const look = () => {
        for (const s of wanted) {
            if (!(s in window.__marks) && document.querySelector(s)) {
                window.__marks[s] = performance.now() / 1000;
            }
        }
    };
    new MutationObserver(look).observe(document, {subtree: true, childList: true});
})();"""


def _fresh_page(browser, selectors: list[str]):
    """A page in a new context (nothing cached) that records, from the start of its
    navigation, when each of ``selectors`` first matched (``window.__marks``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(MARKS % json.dumps(selectors))
    return context, context.new_page()


def _mark(page, selector: str) -> float:
    page.wait_for_selector(selector, state="attached", timeout=30000)
    return float(page.evaluate("s => window.__marks[s]", selector))


def _seen_at(page, selector: str) -> float:
    """When ``selector`` first matched in the page (the page's clock, read by a mutation
    observer installed by ``WATCH``): Playwright's own waiting polls, and would add its
    polling interval to the figure."""
    page.wait_for_selector(selector, state="attached", timeout=30000)
    return float(page.evaluate("window.__seen"))


def _wait_run(server: Server, run_id: str) -> dict:
    while True:
        run = _get(f"{server.url}/api/runs/{run_id}")
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only-10000", action="store_true", help="Only the 10,000-asset figures.")
    options = parser.parse_args()
    repeat = options.repeat
    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _ten_thousand(folder, repeat, record)
        if options.only_10000:
            _print(results)
            return
        for n in (10, 1000):
            defs = _write_defs(folder, n)
            for i in range(repeat):
                server = Server(defs, folder / f"home_{n}_{i}")
                try:
                    record(f"start_{n}", server.wait("/"))
                    record(f"assets_api_{n}", server.wait("/api/assets"))
                    if n == 1000:
                        record("memory_mib", server.rss_mib())
                finally:
                    server.stop()
        server = Server(_write_defs(folder, 1000), folder / "home_browser")
        server.wait("/api/assets")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=ARGS, headless=True
                )
                for _ in range(repeat):
                    last_node = "g.node[data-key='a0999']"
                    context, fresh = _fresh_page(browser, [last_node])
                    fresh.goto(server.url + "/")
                    record("graph_1000", _mark(fresh, last_node))
                    assert fresh.locator("g.node").count() == 1002
                    context.close()
                page = browser.new_page()
                for _ in range(repeat):
                    page.goto(server.url + "/runs")
                    page.wait_for_selector("#runs")
                    page.evaluate(ROWS)
                    run_id = _post(server.url + "/api/launch", {"selection": "pause"})["run_id"]
                    page.wait_for_selector(f"tr[data-run-id='{run_id}']", state="attached")
                    seen = page.evaluate("id => window.__rows[id]", run_id)
                    created = _get(f"{server.url}/api/runs/{run_id}")["create_time"]
                    record("run_listed", seen - created)
                    page.goto(f"{server.url}/runs/{run_id}")
                    page.wait_for_selector("#run-actions button")
                    page.evaluate(WATCH, "#run-header .badge.status-success")
                    seen = _seen_at(page, "#run-header .badge.status-success")
                    run = _wait_run(server, run_id)
                    record("run_finished", seen - run["end_time"])
                for _ in range(repeat):
                    page.goto(server.url + "/launchpad")
                    page.select_option("#launch-mode", "selection")
                    page.fill(
                        "#launch-selection",
                        "a0000 or a0001 or a0002 or a0003 or a0004 "
                        "or a0005 or a0006 or a0007 or a0008 or a0009",
                    )
                    page.press("#launch-selection", "Tab")
                    page.wait_for_timeout(300)  # the selection's scaffold is in
                    page.evaluate(WATCH, "#run-header .badge.status-success")
                    started = page.evaluate("Date.now() / 1000")
                    page.click("#launch-button")
                    seen = _seen_at(page, "#run-header .badge.status-success")
                    record("materialize_10", seen - started)
                run_id = _post(server.url + "/api/launch", {"selection": "chatty"})["run_id"]
                _wait_run(server, run_id)
                first_row, bar = "#log-body tr", "#gantt rect.bar-success"
                last_row = "#log-body tr[data-type='RUN_SUCCESS']"
                for _ in range(repeat):
                    context, fresh = _fresh_page(browser, [first_row, bar, last_row])
                    fresh.goto(f"{server.url}/runs/{run_id}")
                    record("run_page_10000", max(_mark(fresh, first_row), _mark(fresh, bar)))
                    record("run_page_10000_all_rows", _mark(fresh, last_row))
                    context.close()
                browser.close()
        finally:
            server.stop()
    _print(results)


def _ten_thousand(folder: Path, repeat: int, record) -> None:
    """Start, memory and the collapsed asset graph at 10,000 assets."""
    from playwright.sync_api import sync_playwright

    defs = _write_defs(folder, 10_000)
    for i in range(repeat):
        server = Server(defs, folder / f"home_10000_{i}")
        try:
            record("start_10000", server.wait("/"))
            record("assets_api_10000", server.wait("/api/assets"))
            record("memory_mib_10000", server.rss_mib())
        finally:
            server.stop()
    server = Server(defs, folder / "home_browser_10000")
    server.wait("/api/assets")
    groups = len(_get(server.url + "/api/asset-graph")["nodes"])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            last_group = "g.group-node[data-group='g49']"
            expanded = "g.node[data-key='a1399']"
            for _ in range(repeat):
                context, fresh = _fresh_page(browser, [last_group])
                fresh.goto(server.url + "/")
                record("graph_10000", _mark(fresh, last_group))
                assert fresh.locator("g.group-node").count() == groups
                fresh.evaluate(WATCH, expanded)
                started = fresh.evaluate("Date.now() / 1000")
                fresh.click("g.group-node[data-group='g6']")
                record("graph_10000_expand", _seen_at(fresh, expanded) - started)
                assert fresh.locator("g.node[data-key]").count() == 200
                context.close()
            browser.close()
    finally:
        server.stop()


def _print(results: dict[str, list[float]]) -> None:
    for name, values in results.items():
        print(
            json.dumps(
                {
                    "figure": name,
                    "median": round(statistics.median(values), 3),
                    "min": round(min(values), 3),
                    "max": round(max(values), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
