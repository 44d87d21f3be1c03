"""End to end in a real browser: Debian's chromium, driven by Playwright, against a real
``trellis dev`` process. Open the asset graph, launch a run from the launchpad (after an
inline config error), watch it finish live, open its Gantt chart and trace, see it in the
runs list, and check that markup in metadata, logs and errors never runs.

Screenshots go to the test's folder (checked non-empty); with ``TRELLIS_SCREENSHOTS`` set
to a folder they are written there too (how ``docs/screenshots/`` is made)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ui_helpers import BACKFILL_SOURCE, SOURCE


def _dev_server(
    folder: Path, file_name: str, source: str, *options: str, ready: str = "/api/workspace"
):
    """Start ``trellis dev`` over ``source`` (written to ``folder/file_name``), its home of
    its own; yields its URL once ``ready`` answers (``/api/assets``: the definitions are
    loaded), then stops it."""
    (folder / file_name).write_text(source)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TRELLIS_HOME": str(folder / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "trellis", "dev", "-f", file_name, "--port", str(port), *options],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # bounds a loaded machine only
    while True:
        try:
            urllib.request.urlopen(f"{url}{ready}", timeout=10).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "trellis dev did not start"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A ``trellis dev`` process over the test definitions, its home of its own."""
    yield from _dev_server(tmp_path_factory.mktemp("ui_e2e"), "ui_defs.py", SOURCE)


@pytest.fixture
def page(browser, server):
    """A fresh page; any script error on it fails the test. The server's Content
    Security Policy is bypassed: Playwright's waits evaluate strings, and the markup
    tests then check the pages' own escaping, without the policy's second line."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def _shot(page, tmp_path: Path, name: str, full_page: bool = False) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, f"{name}.png is empty"
    target = os.environ.get("TRELLIS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / f"{name}.png")


def test_asset_graph_draws_every_asset_and_searches(page, server, tmp_path):
    page.goto(server + "/")
    page.wait_for_selector("g.node")
    keys = page.eval_on_selector_all("g.node", "nodes => nodes.map(n => n.dataset.key)")
    assert sorted(keys) == ["broken", "numbers", "scaled", "slow", "total"]
    assert page.locator(".group-label").all_text_contents().count("marts") == 2  # two columns
    page.fill("#graph-search", "key:numbers+")
    page.wait_for_function("document.querySelectorAll('g.node.lit').length === 3")
    assert sorted(
        page.eval_on_selector_all("g.node.dim", "nodes => nodes.map(n => n.dataset.key)")
    ) == ["broken", "slow"]
    page.fill("#graph-search", "key:(")
    page.wait_for_selector("#graph-message .error")
    _shot(page, tmp_path, "asset-graph")
    page.fill("#graph-search", "")
    page.click("g.node[data-key='total']")
    page.wait_for_selector("h1 .key")
    assert page.inner_text("h1 .key") == "total"


def test_launch_from_launchpad_watch_it_finish_then_gantt_and_trace(page, server, tmp_path):
    page.goto(server + "/launchpad?job=numbers_job")
    page.wait_for_selector("#launch-config")
    page.wait_for_function("document.querySelector('#launch-config').value.includes('factor: 2')")
    page.fill("#launch-config", "ops:\n  scaled:\n    config:\n      factor: lots\n")
    page.wait_for_selector(".config-errors .config-path")
    assert page.inner_text(".config-errors .config-path") == "root:ops:scaled:config:factor"
    _shot(page, tmp_path, "launchpad")
    page.fill("#launch-config", "ops:\n  scaled:\n    config:\n      factor: 3\n")
    page.fill("#launch-tags", "team=ui")
    page.wait_for_function("!document.querySelector('.config-errors')")
    page.click("#launch-button")
    page.wait_for_url("**/runs/*")
    # The page was open while the run went on: the end arrives pushed, not reloaded.
    page.wait_for_selector("#run-header .badge.status-success", timeout=20000)
    assert page.locator("#gantt rect.bar-success").count() == 3
    assert page.locator("#log-body tr[data-type='RUN_SUCCESS']").count() == 1
    page.wait_for_selector("#trace details.trace-node")
    assert "StepExecutionContext scaled" in page.inner_text("#trace")
    assert "team" in page.inner_text("#run-tags")
    page.select_option("#log-step", "scaled")
    steps = page.eval_on_selector_all(
        "#log-body tr td:nth-child(3)", "cells => cells.map(c => c.textContent)"
    )
    assert steps and set(steps) == {"scaled"}
    _shot(page, tmp_path, "run", full_page=True)
    page.click("a[href='/runs']")
    page.wait_for_selector("tr.run-row")
    assert page.locator("tr.run-row .status-success").count() >= 1
    _shot(page, tmp_path, "runs")


def test_runs_list_shows_new_runs_pushed(page, server, browser):
    page.goto(server + "/runs")
    page.wait_for_selector("#runs-body[data-loaded]")  # the first page of runs is in
    before = page.locator("tr.run-row").count()
    other = browser.new_page()
    other.goto(server + "/launchpad")
    other.select_option("#launch-mode", "selection")
    other.fill("#launch-selection", "numbers")
    other.press("#launch-selection", "Tab")  # the selection's scaffold: no config
    other.click("#launch-button")
    other.wait_for_url("**/runs/*")
    run_id = other.url.rsplit("/", 1)[1]
    other.close()
    # Pushed (bench/ui.py measures how fast); the timeout only bounds a loaded machine.
    page.wait_for_selector(f"tr[data-run-id='{run_id}']", timeout=15000)
    assert page.locator("tr.run-row").count() == before + 1


def test_markup_in_metadata_logs_and_errors_never_runs(page, server, tmp_path):
    page.goto(server + "/launchpad")
    page.select_option("#launch-mode", "selection")
    page.fill("#launch-selection", "numbers or broken")
    page.press("#launch-selection", "Tab")
    page.click("#launch-button")
    page.wait_for_selector("#run-header .badge.status-failure", timeout=20000)
    page.select_option("#log-level", "INFO")
    log = page.inner_text("#event-log")
    assert "<script>window.__xss = 1</script>" in log  # shown as text
    page.select_option("#log-level", "DEBUG")
    assert "boom <script>window.__xss = 3</script>" in page.inner_text("#event-log")
    page.goto(server + "/assets/numbers")
    page.wait_for_selector("#materializations dd")
    assert "<img src=x onerror=window.__xss=2>" in page.inner_text("#materializations")
    _shot(page, tmp_path, "asset", full_page=True)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#materializations img").count() == 0
    page.goto(server + "/assets")
    page.wait_for_selector("#catalog tbody tr")
    page.select_option("#catalog-group", "marts")
    assert page.locator("#catalog tbody tr").count() == 2
    _shot(page, tmp_path, "catalog")
    page.goto(server + "/")
    page.wait_for_selector("g.node.status-failed[data-key='broken']")
    assert page.locator("g.node.status-materialized[data-key='numbers']").count() == 1
    _shot(page, tmp_path, "asset-graph-statuses")


def test_toggle_a_sensor_then_the_daemon_ticks_it(page, server, tmp_path):
    page.goto(server + "/automation")
    toggle = page.locator("input[data-toggle='numbers_sensor']")
    toggle.wait_for()
    assert not toggle.is_checked()
    card = "section[data-instigator='numbers_sensor']"
    assert page.inner_text(f"{card} .badge") == "STOPPED"
    toggle.click()
    page.wait_for_selector(f"{card} .badge.status-running")
    assert page.locator("input[data-toggle='numbers_sensor']").is_checked()
    # The daemon of `trellis dev` ticks the started sensor; the tick is pushed to the
    # open page (no reload) as it starts and again when it has ended, with its skip
    # reason as text. The timeout only bounds a loaded machine.
    page.wait_for_selector(f"{card} tr.tick.status-skipped", timeout=45000)
    assert "no new files <script>window.__xss = 4</script>" in page.inner_text(f"{card} tr.tick")
    assert page.evaluate("window.__xss") is None
    assert page.inner_text("#daemon-state") == "The daemon runs in this process."
    _shot(page, tmp_path, "automation", full_page=True)
    page.locator("input[data-toggle='numbers_sensor']").click()
    page.wait_for_selector(f"{card} .badge.status-stopped")


def test_overview_shows_the_days_runs_and_what_fails(page, server, tmp_path):
    page.goto(server + "/overview")
    page.wait_for_selector("#timeline rect.run-bar")
    bars = page.eval_on_selector_all(
        "#timeline rect.run-bar", "bars => bars.map(b => b.dataset.runId)"
    )
    assert len(bars) >= 3  # the runs the tests above launched
    assert page.locator("#timeline rect.run-failure").count() >= 1
    assert "broken" in page.inner_text("#failing-assets")
    assert page.locator("#failing-jobs li").count() >= 1
    _shot(page, tmp_path, "overview", full_page=True)
    page.click(f"#timeline rect[data-run-id='{bars[0]}']")
    page.wait_for_url(f"**/runs/{bars[0]}")
    page.goto(server + "/assets")
    page.wait_for_selector("#catalog tbody tr")
    assert page.inner_text("#catalog tr[data-key='numbers'] td.freshness") == "fresh"
    assert page.inner_text("#catalog tr[data-key='slow'] td.freshness") == "never materialized"


@pytest.fixture(scope="module")
def backfill_folder(tmp_path_factory):
    """The folder of the partitioned definitions (its ``fail_keys.txt`` makes
    ``events`` fail on the keys it lists)."""
    return tmp_path_factory.mktemp("ui_backfills")


@pytest.fixture(scope="module")
def backfill_server(backfill_folder):
    """``trellis dev`` over the partitioned definitions, with its daemon."""
    yield from _dev_server(backfill_folder, "backfill_defs.py", BACKFILL_SOURCE)


def _status(page, status: str, timeout: float = 60000) -> None:
    """Wait, without reloading, until the open backfill page shows ``status``."""
    page.wait_for_selector(f"#backfill[data-status='{status}']", timeout=timeout)


def test_backfill_from_the_asset_page_watched_live_then_retry_and_cancel(
    browser, backfill_server, backfill_folder, tmp_path
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    (backfill_folder / "fail_keys.txt").write_text("2024-01-03\n")
    page.goto(backfill_server + "/assets/events")
    page.wait_for_selector("#asset-backfill-picker:not([hidden])")
    # A range out of order is refused on the page, before any request stores anything.
    page.select_option("#asset-backfill-from", "2024-01-05")
    page.select_option("#asset-backfill-to", "2024-01-02")
    assert "comes after its end" in page.inner_text("#asset-backfill-partition-error")
    page.click("#asset-backfill-launch")
    assert "comes after its end" in page.inner_text("#asset-backfill-error")
    assert page.url.endswith("/assets/events")
    page.select_option("#asset-backfill-from", "2024-01-02")
    page.select_option("#asset-backfill-to", "2024-01-04")
    page.wait_for_function(
        "document.querySelector('#asset-backfill-preview').textContent"
        ".startsWith('3 partition(s) in 3 run(s)')"
    )
    page.click("#asset-backfill-launch")
    page.wait_for_url("**/backfills/*")
    first = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#backfill-daemon").startswith("The daemon runs in this process")
    # The page stays open while the daemon launches and the runs end: pushed, not reloaded.
    page.evaluate("window.__not_reloaded = true")
    _status(page, "FAILED")
    assert page.evaluate("window.__not_reloaded") is True
    assert page.inner_text("#backfill-counts") == "2 materialized · 1 failed"
    cells = page.locator("#backfill-runs tr.run-row td:nth-child(3)").all_text_contents()
    assert sorted(cells) == ["2024-01-02", "2024-01-03", "2024-01-04"]  # a run per partition
    failed = page.locator("#backfill-ranges tr[data-state='failed'] td").all_text_contents()
    assert failed == ["failed", "events", "2024-01-03", "1"]
    assert page.locator("#backfill-progress .part-failed").count() == 1
    _shot(page, tmp_path, "backfill", full_page=True)
    # Fixed upstream: "Retry failed" backfills the one failed partition, and it succeeds.
    (backfill_folder / "fail_keys.txt").write_text("")
    page.click("#backfill-retry")
    page.wait_for_url(lambda url: "/backfills/" in url and not url.endswith(first))
    _status(page, "COMPLETED")
    assert page.inner_text("#backfill-counts") == "1 materialized"
    assert first in page.inner_text("#backfill")  # "Retry of" links its parent
    # The runs list filtered by the first backfill: its three runs.
    page.goto(f"{backfill_server}/runs?backfill={first}")
    page.wait_for_selector("#runs-body[data-loaded]")
    assert page.locator("tr.run-row").count() == 3
    assert page.input_value("#runs-backfill") == first
    # From the launchpad: a range of the slow asset, canceled while it runs.
    page.goto(backfill_server + "/launchpad")
    page.select_option("#launch-mode", "selection")
    page.fill("#launch-selection", "slow_days")
    page.press("#launch-selection", "Tab")
    page.wait_for_selector("#launch-picker:not([hidden])")
    page.select_option("#launch-partition-mode", "range")
    page.select_option("#launch-from", "2024-01-01")
    page.select_option("#launch-to", "2024-01-02")
    assert page.inner_text("#launch-button") == "Launch backfill"
    page.wait_for_function(
        "document.querySelector('#launch-backfill-plan').textContent.includes('2 partition(s)')"
    )
    page.click("#launch-button")
    page.wait_for_url("**/backfills/*")
    page.wait_for_selector("#backfill-runs .status-started", timeout=60000)
    page.click("#backfill-cancel")
    _status(page, "CANCELED")
    assert "materialized" not in page.inner_text("#backfill-counts")
    page.click("a[href='/backfills']")
    page.wait_for_selector("#backfills tr.backfill-row")
    assert page.locator("#backfills tr.backfill-row").count() == 3
    _shot(page, tmp_path, "backfills")
    context.close()
    assert not errors, errors


def test_without_a_daemon_the_backfills_page_says_they_wait(browser, tmp_path_factory, tmp_path):
    folder = tmp_path_factory.mktemp("ui_no_daemon")
    for url in _dev_server(folder, "backfill_defs.py", BACKFILL_SOURCE, "--no-daemon"):
        context = browser.new_context(bypass_csp=True)  # for wait_for_function
        page = context.new_page()
        page.goto(url + "/assets/events")
        page.select_option("#asset-backfill-partition-mode", "all")
        page.wait_for_function(
            "document.querySelector('#asset-backfill-preview').textContent.startsWith('10 ')"
        )
        page.click("#asset-backfill-launch")
        page.wait_for_url("**/backfills/*")
        notice = page.locator("#backfill-daemon[data-waiting]")
        assert "backfills wait for a daemon" in notice.inner_text()
        assert page.inner_text("#backfill-no-runs") == "No run launched yet."
        page.goto(url + "/backfills")
        assert "backfills wait for a daemon" in page.inner_text("#backfill-daemon")
        context.close()
