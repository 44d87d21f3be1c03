// The router: every page is rendered here from the path, links navigate without reload.
import { closeStream, get, openStream, subscribe } from "./api.js";
import { clear, h } from "./dom.js";
import { renderGraph } from "./graph.js";
import { renderAsset, renderCatalog } from "./catalog.js";
import { renderRuns } from "./runs.js";
import { renderRun } from "./run.js";
import { renderLaunchpad } from "./launchpad.js";
import { renderAutomation } from "./automation.js";
import { renderOverview } from "./overview.js";
import { renderBackfill, renderBackfills } from "./backfills.js";

const app = document.getElementById("app");
let cleanup = null;

function showBanner(error) {
  const banner = document.getElementById("banner");
  clear(banner);
  banner.hidden = !error;
  if (error) banner.append(h("strong", {}, "Definitions failed to load: "), h("pre", {}, error));
}

async function refreshWorkspace() {
  try {
    const ws = await get("/api/workspace");
    showBanner(ws.error);
    const status = document.getElementById("workspace-status");
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    clear(status).append(`${ws.target} · ${plural(ws.asset_count, "asset")} · ${plural(ws.jobs.length, "job")}`);
  } catch (err) {
    showBanner(String(err.message || err));
  }
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  closeStream();
  const path = decodeURI(location.pathname);
  for (const a of document.querySelectorAll("header nav a")) {
    const href = a.getAttribute("href");
    a.classList.toggle("active", href === "/" ? path === "/" : path.startsWith(href));
  }
  clear(app);
  let runId = null;
  if (path.startsWith("/runs/")) runId = location.pathname.slice("/runs/".length);
  openStream(runId ? decodeURIComponent(runId) : null);
  subscribe("workspace", () => refreshWorkspace());
  try {
    if (path === "/") cleanup = await renderGraph(app);
    else if (path === "/assets") cleanup = await renderCatalog(app);
    else if (path.startsWith("/assets/")) {
      const key = location.pathname.slice("/assets/".length).split("/").map(decodeURIComponent).join("/");
      cleanup = await renderAsset(app, key);
    } else if (path === "/runs") cleanup = await renderRuns(app);
    else if (runId) cleanup = await renderRun(app, decodeURIComponent(runId));
    else if (path === "/launchpad") cleanup = await renderLaunchpad(app);
    else if (path === "/automation") cleanup = await renderAutomation(app);
    else if (path === "/overview") cleanup = await renderOverview(app);
    else if (path === "/backfills") cleanup = await renderBackfills(app);
    else if (path.startsWith("/backfills/")) cleanup = await renderBackfill(app, decodeURIComponent(location.pathname.slice("/backfills/".length)));
    else app.append(h("p", {}, "No such page."));
  } catch (err) {
    app.append(h("p", { class: "error" }, String(err.message || err)));
  }
}

export function navigate(href) {
  history.pushState(null, "", href);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-nav]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
refreshWorkspace();
route();
