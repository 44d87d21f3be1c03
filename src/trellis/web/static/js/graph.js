// The asset graph: the server's layered layout (layer = column, row within it), one SVG
// node per asset with its status, group boxes, search with the selection syntax, pan
// and zoom (drag, wheel, arrow keys, + and -), click to open an asset.
import { get, subscribe } from "./api.js";
import { assetPath, clear, h, s } from "./dom.js";
import { go } from "./nav.js";
import { partitionBarSvg } from "./health.js";

const W = 200, H = 44, COL = 280, ROW = 60, PAD = 40;

function place(asset) {
  return { x: PAD + asset.layer * COL, y: PAD + asset.row * ROW + groupOffset(asset) };
}
let offsets = new Map();
function groupOffset(asset) {
  return offsets.get(`${asset.layer}|${asset.group}`) || 0;
}

function computeOffsets(assets) {
  // Groups within a column are separated by a gap, so their boxes do not touch.
  offsets = new Map();
  const byLayer = new Map();
  for (const a of assets) {
    if (!byLayer.has(a.layer)) byLayer.set(a.layer, []);
    byLayer.get(a.layer).push(a);
  }
  for (const [layer, items] of byLayer) {
    items.sort((a, b) => a.row - b.row);
    let shift = 0, last = null;
    for (const a of items) {
      if (last !== null && a.group !== last) shift += 30;
      offsets.set(`${layer}|${a.group}`, shift);
      last = a.group;
    }
  }
}

export async function renderGraph(root) {
  const data = await get("/api/assets");
  const bar = h("div", { class: "toolbar" });
  const search = h("input", {
    type: "search", id: "graph-search", placeholder: "Search: key:orders+ · group:sales · kind:csv",
    size: 50, "aria-label": "Asset selection",
  });
  const message = h("span", { class: "muted", id: "graph-message" });
  const materialize = h("button", { id: "materialize-selected", disabled: true }, "Materialize selected…");
  bar.append(search, materialize, message);
  const svg = s("svg", { id: "asset-graph", class: "graph", tabindex: 0 });
  const viewport = s("g", { id: "viewport" });
  svg.append(viewport);
  root.append(h("h1", {}, "Asset graph"), bar, svg, legend());

  let view = { x: 0, y: 0, k: 1 };
  const apply = () => viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
  let nodes = new Map();
  let selected = null;

  function draw(assets) {
    clear(viewport);
    nodes = new Map();
    computeOffsets(assets);
    const pos = new Map(assets.map((a) => [a.key, place(a)]));
    // Group boxes: one per group and column.
    const boxes = new Map();
    for (const a of assets) {
      const id = `${a.layer}|${a.group}`;
      const p = pos.get(a.key);
      const b = boxes.get(id) || { group: a.group, x: p.x, y1: p.y, y2: p.y };
      b.y1 = Math.min(b.y1, p.y); b.y2 = Math.max(b.y2, p.y);
      boxes.set(id, b);
    }
    const groupLayer = s("g", { class: "groups" });
    for (const b of boxes.values()) {
      groupLayer.append(
        s("rect", { x: b.x - 10, y: b.y1 - 24, width: W + 20, height: b.y2 - b.y1 + H + 32, rx: 8, class: "group-box" }),
        s("text", { x: b.x - 4, y: b.y1 - 9, class: "group-label" }, b.group),
      );
    }
    const edgeLayer = s("g", { class: "edges" });
    const paths = [];
    for (const a of assets) {
      const t = pos.get(a.key);
      for (const dep of a.deps) {
        const f = pos.get(dep);
        if (!f) continue;
        const x1 = f.x + W, y1 = f.y + H / 2, x2 = t.x, y2 = t.y + H / 2;
        paths.push(`M${x1} ${y1}C${x1 + 60} ${y1} ${x2 - 60} ${y2} ${x2} ${y2}`);
      }
    }
    edgeLayer.append(s("path", { d: paths.join(""), class: "edge" }));
    const nodeLayer = s("g", { class: "nodes" });
    for (const a of assets) {
      const p = pos.get(a.key);
      const label = a.key.length > 28 ? `…${a.key.slice(-27)}` : a.key;
      const checks = a.checks.length ? ` · checks ${a.checks.filter((c) => c.status === "passed").length}/${a.checks.length}` : "";
      const g = s(
        "g",
        { class: `node status-${a.status}`, transform: `translate(${p.x},${p.y})`, "data-key": a.key, tabindex: -1 },
        s("title", {}, `${a.key}\n${a.description || ""}`),
        s("rect", { width: W, height: H, rx: 6 }),
        s("rect", { width: 6, height: H, rx: 3, class: "status-bar" }),
        s("text", { x: 12, y: 18, class: "node-key" }, label),
        s("text", { x: 12, y: 35, class: "node-sub" }, `${a.status.replace("_", " ")}${stale(a)}${checks}`),
        partitionBarSvg(a.partition_health, 10, H - 6, W - 16),
      );
      if (a.staleness.status === "stale") g.classList.add("stale");
      g.addEventListener("click", () => { if (!moved) go(assetPath(a.key)); });
      nodes.set(a.key, g);
      nodeLayer.append(g);
    }
    viewport.append(groupLayer, edgeLayer, nodeLayer);
    apply();
  }

  draw(data.assets);
  // Fit the graph's height to the view at first.
  const box = svg.getBoundingClientRect();
  const rows = Math.max(1, ...data.assets.map((a) => a.row + 1));
  const cols = Math.max(1, ...data.assets.map((a) => a.layer + 1));
  view.k = Math.min(1, Math.max(0.15, Math.min(box.height / (rows * ROW + 2 * PAD), box.width / (cols * COL + PAD))));
  apply();

  // Pan and zoom.
  let drag = null;
  let moved = false;
  svg.addEventListener("pointerdown", (e) => { drag = { x: e.clientX - view.x, y: e.clientY - view.y, moved: false }; });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    view.x = e.clientX - drag.x; view.y = e.clientY - drag.y; drag.moved = true; apply();
  });
  svg.addEventListener("pointerup", () => { moved = drag && drag.moved; drag = null; });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const mx = e.clientX - r.left, my = e.clientY - r.top;
    const k = Math.min(3, Math.max(0.05, view.k * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
    view.x = mx - ((mx - view.x) * k) / view.k; view.y = my - ((my - view.y) * k) / view.k; view.k = k;
    apply();
  }, { passive: false });
  svg.addEventListener("keydown", (e) => {
    const step = 60;
    if (e.key === "ArrowLeft") view.x += step;
    else if (e.key === "ArrowRight") view.x -= step;
    else if (e.key === "ArrowUp") view.y += step;
    else if (e.key === "ArrowDown") view.y -= step;
    else if (e.key === "+" || e.key === "=") view.k = Math.min(3, view.k * 1.2);
    else if (e.key === "-") view.k = Math.max(0.05, view.k / 1.2);
    else return;
    e.preventDefault(); apply();
  });

  // Search with the selection syntax: the selected nodes stay lit, the rest dim.
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      clear(message);
      materialize.disabled = true;
      if (!q) { selected = null; for (const g of nodes.values()) g.classList.remove("dim", "lit"); return; }
      try {
        const { keys } = await get("/api/assets/select", { q });
        selected = new Set(keys);
        for (const [key, g] of nodes) { g.classList.toggle("dim", !selected.has(key)); g.classList.toggle("lit", selected.has(key)); }
        message.append(`${keys.length} selected`);
        materialize.disabled = keys.length === 0;
      } catch (err) {
        selected = null;
        for (const g of nodes.values()) g.classList.remove("dim", "lit");
        message.append(h("span", { class: "error" }, err.message));
      }
    }, 250);
  });
  materialize.addEventListener("click", () => go(`/launchpad?selection=${encodeURIComponent(search.value.trim())}`));

  // Statuses follow the runs, pushed by the server.
  let pending = null;
  subscribe("run", () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const fresh = await get("/api/assets");
      for (const a of fresh.assets) {
        const g = nodes.get(a.key);
        if (!g) continue;
        g.setAttribute("class", `node status-${a.status}${a.staleness.status === "stale" ? " stale" : ""}${g.classList.contains("dim") ? " dim" : ""}${g.classList.contains("lit") ? " lit" : ""}`);
        g.querySelector(".node-sub").textContent = `${a.status.replace("_", " ")}${stale(a)}`;
        const bar = g.querySelector(".partition-bar-svg");
        const next = partitionBarSvg(a.partition_health, 10, H - 6, W - 16);
        if (bar && next) bar.replaceWith(next);
      }
    }, 200);
  });
  svg.focus();
  return () => clearTimeout(pending);
}

function stale(asset) {
  return asset.staleness.status === "stale" ? " · stale" : "";
}

function legend() {
  const items = ["never", "materialized", "running", "failed", "check_failed"];
  return h("div", { class: "legend" }, items.map((st) => h("span", { class: `legend-item status-${st}` }, st.replace("_", " "))));
}
