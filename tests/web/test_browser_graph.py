"""In a real browser (chromium via Playwright) against real ``trellis dev`` processes:
the asset graph past the collapse threshold (groups drawn as nodes, one expanded on
click or Enter, a search drawn asset by asset, keyboard navigation along the edges),
and an asset's automation evaluations drawn as trees, pushed as the daemon records them.

Screenshots as in ``test_browser.py`` (``TRELLIS_SCREENSHOTS`` copies them)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser import _dev_server, _shot, page, server  # noqa: F401  (fixtures)
from ui_helpers import many_assets_source


@pytest.fixture(scope="module")
def many_server(tmp_path_factory):
    """``trellis dev`` over 1,600 assets in four groups of 400."""
    folder = tmp_path_factory.mktemp("ui_many")
    yield from _dev_server(folder, "many_defs.py", many_assets_source(), ready="/api/assets")


@pytest.fixture
def many_page(browser, many_server):
    """A fresh tab on the many-assets server; a script error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def _groups(tab) -> list[str]:
    return tab.eval_on_selector_all("g.group-node", "gs => gs.map(g => g.dataset.group)")


def _focused(tab) -> str | None:
    return tab.evaluate("document.activeElement && document.activeElement.dataset.id || null")


def test_past_the_threshold_groups_collapse_and_expand(many_page, many_server, tmp_path):
    tab = many_page
    tab.goto(many_server + "/")
    tab.wait_for_selector("g.group-node")
    assert sorted(_groups(tab)) == ["g0", "g1", "g2", "g3"]
    assert tab.locator("g.node[data-key]").count() == 0
    assert "400 assets" in tab.text_content("g.group-node[data-group='g1']")
    assert "400 never" in tab.text_content("g.group-node[data-group='g1']")
    assert tab.locator("g.group-node.status-never").count() == 4
    assert tab.text_content(".location-label") == "code location: many_defs"
    assert tab.locator("path.group-edge").count() == 3
    assert "1600 assets" in tab.inner_text("#graph-collapsed-note")
    _shot(tab, tmp_path, "asset-graph-collapsed")
    tab.click("g.group-node[data-group='g1']")
    tab.wait_for_selector("g.node[data-key='a00400']")
    assert tab.locator("g.node[data-key]").count() == 400
    assert sorted(_groups(tab)) == ["g0", "g2", "g3"]
    keys = tab.eval_on_selector_all("g.node[data-key]", "gs => gs.map(g => g.dataset.key)")
    assert all(400 <= int(k[1:]) < 800 for k in keys)
    _shot(tab, tmp_path, "asset-graph-expanded")
    # Collapse it again from its box's label; then expand g2 with the keyboard.
    tab.click(".group-label.collapsible[data-group='g1']")
    tab.wait_for_function("document.querySelectorAll('g.node[data-key]').length === 0")
    tab.focus("#asset-graph")
    tab.keyboard.press("Tab")  # into the graph: its first node
    assert _focused(tab) == "group:g0"
    tab.keyboard.press("ArrowRight")  # downstream
    assert _focused(tab) == "group:g1"
    tab.keyboard.press("ArrowRight")
    assert _focused(tab) == "group:g2"
    tab.keyboard.press("Enter")
    tab.wait_for_selector("g.node[data-key='a00800']")
    assert tab.locator("g.node[data-key]").count() == 400


def test_a_search_draws_its_selection_asset_by_asset(many_page, many_server):
    tab = many_page
    tab.goto(many_server + "/")
    tab.wait_for_selector("g.group-node")
    tab.fill("#graph-search", "a00410 or a00411")
    tab.wait_for_selector("g.node[data-key='a00410']")
    keys = tab.eval_on_selector_all("g.node[data-key]", "gs => gs.map(g => g.dataset.key)")
    assert sorted(keys) == ["a00410", "a00411"]
    assert tab.locator("g.node.lit[data-key]").count() == 2
    assert "398 assets" in tab.text_content("g.group-node[data-group='g1']")
    assert tab.inner_text("#graph-message") == "2 selected"
    # Keyboard: from a selected asset, left goes upstream into g0's node; Enter on an
    # asset opens its tab.
    tab.focus("g.node[data-key='a00410']")
    tab.keyboard.press("ArrowLeft")
    assert _focused(tab) == "group:g0"
    tab.focus("g.node[data-key='a00410']")
    tab.keyboard.press("ArrowRight")  # its downstream assets are in g1's node
    assert _focused(tab) == "group:g1"
    tab.focus("g.node[data-key='a00411']")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("h1 .key")
    assert tab.inner_text("h1 .key") == "a00411"


def test_the_whole_small_graph_keyboard_navigation(page, server):  # noqa: F811
    page.goto(server + "/")
    page.wait_for_selector("g.node[data-key='numbers']")
    assert page.locator("g.group-node").count() == 0  # below the threshold: every asset
    assert page.text_content(".location-label") == "code location: ui_defs"
    page.focus("g.node[data-key='numbers']")
    page.keyboard.press("ArrowRight")
    assert _focused(page) == "asset:scaled"
    page.keyboard.press("ArrowRight")
    assert _focused(page) == "asset:total"
    page.keyboard.press("ArrowLeft")
    assert _focused(page) == "asset:scaled"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1 .key")
    assert page.inner_text("h1 .key") == "scaled"


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Origin": url.split("/api/")[0]},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_an_assets_automation_evaluations_are_drawn_as_trees(page, server, tmp_path):  # noqa: F811
    page.goto(server + "/assets/total")
    page.wait_for_selector("#automation-evaluations")
    # The page is open when the daemon of `trellis dev` evaluates: the tree is pushed.
    _post(server + "/api/automation/default_automation_condition_sensor/status", {"running": True})
    page.wait_for_selector("#evaluations details.evaluation", timeout=45000)
    first = page.locator("#evaluations details.evaluation").first
    assert first.get_attribute("open") is not None
    assert "Evaluation" in first.inner_text() and "requested" in first.inner_text()
    root = first.locator(".eval-tree > details.eval-node").first
    assert "eager (AND)" in root.locator("summary").first.inner_text()
    assert page.locator("#evaluations .eval-node").count() > 3  # the operands below it
    assert page.locator("#evaluations .eval-true, #evaluations .eval-false").count() > 3
    _shot(page, tmp_path, "asset-automation", full_page=True)
    # Collapse the root: its operands are hidden.
    root.locator("summary").first.click()
    assert root.get_attribute("open") is None
    _post(server + "/api/automation/default_automation_condition_sensor/status", {"running": False})
