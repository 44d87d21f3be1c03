// The asset graph: the server's layered layout (layer = column, row within it), one SVG
// node per asset with its status, group boxes inside the code location's frame, search
// with the selection syntax, pan and zoom (drag, wheel, arrow keys, + and -), keyboard
// navigation between nodes (Tab into the graph, arrows along the edges, Enter opens),
// click to open an asset. Past the server's threshold (collapse_at assets) each group
// is one node until expanded (graph_groups.js).
import { get, subscribe } from "./api.js";
import { assetPath, clear, h, s } from "./dom.js";
import { go } from "./nav.js";
import { partitionBarSvg } from "./health.js";
import { STATUS_ORDER, collapsedGraph, groupSummary, summaryText, wholeGraph } from "./graph_groups.js";

const W = 200, H = 44, COL = 280, ROW = 60, PAD = 60;

function computeOffsets(items) {
  // Groups within a column are separated by a gap, so their boxes do not touch.
  const offsets = new Map();
  const byLayer = new Map();
  for (const a of items) {
    if (!byLayer.has(a.layer)) byLayer.set(a.layer, []);
    byLayer.get(a.layer).push(a);
  }
  for (const [layer, list] of byLayer) {
    list.sort((a, b) => a.row - b.row);
    let shift = 0, last = null;
    for (const a of list) {
      if (last !== null && a.group !== last) shift += 30;
      offsets.set(`${layer}|${a.group}`, shift);
      last = a.group;
    }
  }
  return offsets;
}

function assetNode(a, p) {
  const label = a.key.length > 28 ? `…${a.key.slice(-27)}` : a.key;
  const g = s(
    "g",
    { class: `node status-${a.status}`, transform: `translate(${p.x},${p.y})`, "data-key": a.key, "data-id": `asset:${a.key}`, tabindex: -1, role: "link", "aria-label": `Asset ${a.key}, ${a.status.replace("_", " ")}` },
    s("title", {}, `${a.key}\n${a.description || ""}`),
    s("rect", { width: W, height: H, rx: 6 }),
    s("rect", { width: 6, height: H, rx: 3, class: "status-bar" }),
    s("text", { x: 12, y: 18, class: "node-key" }, label),
    s("text", { x: 12, y: 35, class: "node-sub" }, subText(a)),
    partitionBarSvg(a.partition_health, 10, H - 6, W - 16),
  );
  if (a.staleness.status === "stale") g.classList.add("stale");
  return g;
}

function statusBarSvg(summary) {
  // The group's assets by status, as a stacked bar.
  const bar = s("g", { class: "group-status-bar" });
  let x = 10;
  for (const st of STATUS_ORDER) {
    const n = summary.counts[st];
    if (!n) continue;
    const w = ((W - 16) * n) / Math.max(1, summary.total);
    bar.append(s("rect", { x, y: H - 6, width: w, height: 3, class: `seg-${st}` }));
    x += w;
  }
  return bar;
}

function groupNode(item, p, summary) {
  const g = s(
    "g",
    { class: `node group-node status-${summary.status}`, transform: `translate(${p.x},${p.y})`, "data-group": item.group, "data-id": item.id, tabindex: -1, role: "button", "aria-label": `Group ${item.group}, ${summaryText(summary)}; Enter expands it` },
    s("title", {}, `Group ${item.group}: ${summaryText(summary)}\nClick or press Enter to expand`),
    s("rect", { width: W, height: H, rx: 6 }),
    s("rect", { width: 6, height: H, rx: 3, class: "status-bar" }),
    s("text", { x: 12, y: 18, class: "node-key" }, `▸ ${item.group.length > 24 ? `${item.group.slice(0, 23)}…` : item.group}`),
    s("text", { x: 12, y: 33, class: "node-sub group-count" }, summaryText(summary)),
    statusBarSvg(summary),
  );
  if (summary.stale) g.classList.add("stale");
  return g;
}

export async function renderGraph(root) {
  const data = await get("/api/assets");
  let assets = data.assets;
  let byKey = new Map(assets.map((a) => [a.key, a]));
  const collapsing = assets.length > data.collapse_at;
  const bar = h("div", { class: "toolbar" });
  const search = h("input", {
    type: "search", id: "graph-search", placeholder: "Search: key:orders+ · group:sales · kind:csv",
    size: 50, "aria-label": "Asset selection",
  });
  const message = h("span", { class: "muted", id: "graph-message" });
  const materialize = h("button", { id: "materialize-selected", disabled: true }, "Materialize selected…");
  bar.append(search, materialize, message);
  const svg = s("svg", { id: "asset-graph", class: "graph", tabindex: 0, "aria-label": "Asset graph: arrow keys pan, Tab moves to the nodes" });
  const viewport = s("g", { id: "viewport" });
  svg.append(viewport);
  const note = collapsing
    ? h("p", { class: "muted", id: "graph-collapsed-note" },
      `${assets.length} assets: each group is one node (click or Enter expands it; a search draws its selection asset by asset).`)
    : null;
  root.append(h("h1", {}, "Asset graph"), bar, note, svg, legend());

  let view = { x: 0, y: 0, k: 1 };
  const apply = () => viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
  let nodes = new Map(); // id -> element
  let graph = { items: [], edges: [] };
  let pos = new Map();
  let selected = null;
  let expanded = new Set();
  let selection = "";
  let current = null; // the node id Tab enters the graph at

  function draw(next) {
    graph = next;
    clear(viewport);
    nodes = new Map();
    const offsets = computeOffsets(graph.items);
    pos = new Map(graph.items.map((a) => [a.id, {
      x: PAD + a.layer * COL, y: PAD + a.row * ROW + (offsets.get(`${a.layer}|${a.group}`) || 0),
    }]));
    const drawn = new Set(graph.items.filter((i) => i.kind === "asset").map((i) => i.asset.key));
    // Group boxes: one per group and column, around the assets drawn one by one.
    const boxes = new Map();
    for (const a of graph.items) {
      if (a.kind !== "asset") continue;
      const id = `${a.layer}|${a.group}`;
      const p = pos.get(a.id);
      const b = boxes.get(id) || { group: a.group, x: p.x, y1: p.y, y2: p.y };
      b.y1 = Math.min(b.y1, p.y); b.y2 = Math.max(b.y2, p.y);
      boxes.set(id, b);
    }
    const groupLayer = s("g", { class: "groups" });
    for (const b of boxes.values()) {
      const label = s("text", { x: b.x - 4, y: b.y1 - 9, class: "group-label", "data-group": b.group }, b.group);
      if (expanded.has(b.group)) {
        label.classList.add("collapsible");
        label.append(" ▾ collapse");
        label.addEventListener("click", () => { expanded.delete(b.group); redraw(); });
      }
      groupLayer.append(
        s("rect", { x: b.x - 10, y: b.y1 - 24, width: W + 20, height: b.y2 - b.y1 + H + 32, rx: 8, class: "group-box" }),
        label,
      );
    }
    // The code location's frame around everything (one location under `trellis dev`).
    let x2 = PAD, y2 = PAD;
    for (const p of pos.values()) { x2 = Math.max(x2, p.x + W); y2 = Math.max(y2, p.y + H); }
    const frame = s("g", { class: "location", "data-location": data.location },
      s("rect", { x: PAD - 30, y: PAD - 50, width: x2 - PAD + 60, height: y2 - PAD + 80, rx: 10, class: "location-box" }),
      s("text", { x: PAD - 22, y: PAD - 34, class: "location-label" }, `code location: ${data.location}`));
    const edgeLayer = s("g", { class: "edges" });
    const paths = [];
    for (const e of graph.edges) {
      const f = pos.get(e.from), t = pos.get(e.to);
      if (!f || !t) continue;
      const x1 = f.x + W, y1 = f.y + H / 2, xe = t.x, ye = t.y + H / 2;
      const d = `M${x1} ${y1}C${x1 + 60} ${y1} ${xe - 60} ${ye} ${xe} ${ye}`;
      if (e.count > 1) {
        const path = s("path", { d, class: "edge group-edge" }, s("title", {}, `${e.count} dependencies`));
        path.style.strokeWidth = String(Math.min(6, 1 + Math.log2(e.count)));
        edgeLayer.append(path);
        if (e.from.startsWith("group:") && e.to.startsWith("group:")) {
          edgeLayer.append(s("text", { x: (x1 + xe) / 2, y: (y1 + ye) / 2 - 6, class: "edge-count" }, String(e.count)));
        }
      } else paths.push(d);
    }
    edgeLayer.append(s("path", { d: paths.join(""), class: "edge" }));
    const nodeLayer = s("g", { class: "nodes" });
    for (const item of graph.items) {
      const p = pos.get(item.id);
      const g = item.kind === "asset" ? assetNode(item.asset, p) : groupNode(item, p, groupSummary(item.group, assets, drawn));
      g.addEventListener("click", () => { if (!moved) open(item); });
      if (selected) light(g, item);
      nodes.set(item.id, g);
      nodeLayer.append(g);
    }
    viewport.append(frame, groupLayer, edgeLayer, nodeLayer);
    if (!nodes.has(current)) current = graph.items.length ? graph.items[0].id : null;
    if (current) nodes.get(current).setAttribute("tabindex", 0);
    apply();
  }

  function open(item) {
    if (item.kind === "asset") go(assetPath(item.asset.key));
    else { expanded.add(item.group); current = null; redraw(); }
  }

  function light(g, item) {
    const on = item.kind === "asset"
      ? selected.has(item.asset.key)
      : assets.some((a) => a.group === item.group && selected.has(a.key));
    g.classList.toggle("dim", !on); g.classList.toggle("lit", on);
  }

  async function redraw() {
    if (!collapsing) return draw(wholeGraph(assets));
    draw(await collapsedGraph(byKey, expanded, selection));
  }

  await redraw();
  // Fit the graph's height to the view at first.
  const box = svg.getBoundingClientRect();
  const rows = Math.max(1, ...graph.items.map((a) => a.row + 1));
  const cols = Math.max(1, ...graph.items.map((a) => a.layer + 1));
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

  // Keyboard: on the graph itself arrows pan; on a node they move along the edges
  // (right: downstream, left: upstream, up/down: the column's neighbours).
  function neighbour(id, key) {
    const me = graph.items.find((i) => i.id === id);
    const here = pos.get(id);
    let ids = [];
    if (key === "ArrowRight") ids = graph.edges.filter((e) => e.from === id).map((e) => e.to);
    else if (key === "ArrowLeft") ids = graph.edges.filter((e) => e.to === id).map((e) => e.from);
    else {
      const down = key === "ArrowDown";
      ids = graph.items.filter((i) => i.layer === me.layer && (down ? pos.get(i.id).y > here.y : pos.get(i.id).y < here.y)).map((i) => i.id);
    }
    let best = null, dist = Infinity;
    for (const other of ids) {
      const p = pos.get(other);
      if (!p) continue;
      const d = Math.abs(p.y - here.y) + Math.abs(p.x - here.x) / 10;
      if (d < dist) { dist = d; best = other; }
    }
    return best;
  }
  function focusNode(id) {
    const g = nodes.get(id);
    if (!g) return;
    if (current && nodes.has(current)) nodes.get(current).setAttribute("tabindex", -1);
    current = id;
    g.setAttribute("tabindex", 0);
    const p = pos.get(id), r = svg.getBoundingClientRect();
    const sx = p.x * view.k + view.x, sy = p.y * view.k + view.y;
    if (sx < 0 || sy < 0 || sx + W * view.k > r.width || sy + H * view.k > r.height) {
      view.x = r.width / 2 - (p.x + W / 2) * view.k; view.y = r.height / 2 - (p.y + H / 2) * view.k; apply();
    }
    g.focus({ preventScroll: true });
  }
  svg.addEventListener("keydown", (e) => {
    const node = e.target.closest && e.target.closest("[data-id]");
    if (node) {
      const id = node.dataset.id;
      if (e.key === "Enter" || e.key === " ") {
        const item = graph.items.find((i) => i.id === id);
        e.preventDefault();
        if (item) open(item);
        return;
      }
      if (e.key === "Escape") { e.preventDefault(); svg.focus(); return; }
      if (e.key.startsWith("Arrow")) {
        e.preventDefault();
        const next = neighbour(id, e.key);
        if (next) focusNode(next);
        return;
      }
    }
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
  svg.addEventListener("focusin", (e) => {
    const node = e.target.closest && e.target.closest("[data-id]");
    if (node && node.dataset.id !== current) focusNode(node.dataset.id);
  });

  // Search with the selection syntax: the selected nodes stay lit, the rest dim; past
  // the threshold the selection is drawn asset by asset (when it is small enough).
  let timer = null;
  const unlight = () => { for (const g of nodes.values()) g.classList.remove("dim", "lit"); };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      clear(message);
      materialize.disabled = true;
      if (!q) {
        selected = null;
        if (collapsing && selection) { selection = ""; await redraw(); }
        unlight();
        return;
      }
      try {
        const { keys } = await get("/api/assets/select", { q });
        selected = new Set(keys);
        if (collapsing) { selection = q; await redraw(); }
        for (const item of graph.items) light(nodes.get(item.id), item);
        message.append(`${keys.length} selected`);
        materialize.disabled = keys.length === 0;
      } catch (err) {
        selected = null;
        unlight();
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
      assets = fresh.assets;
      byKey = new Map(assets.map((a) => [a.key, a]));
      const drawn = new Set(graph.items.filter((i) => i.kind === "asset").map((i) => i.asset.key));
      for (const item of graph.items) {
        const g = nodes.get(item.id);
        if (!g) continue;
        const keep = ["dim", "lit"].filter((c) => g.classList.contains(c));
        let next;
        if (item.kind === "asset") {
          const a = byKey.get(item.asset.key);
          if (!a) continue;
          item.asset = a;
          next = assetNode(a, pos.get(item.id));
        } else next = groupNode(item, pos.get(item.id), groupSummary(item.group, assets, drawn));
        next.classList.add(...keep);
        next.setAttribute("tabindex", item.id === current ? 0 : -1);
        next.addEventListener("click", () => { if (!moved) open(item); });
        const focused = document.activeElement === g;
        g.replaceWith(next);
        nodes.set(item.id, next);
        if (focused) next.focus({ preventScroll: true });
      }
    }, 200);
  });
  svg.focus();
  return () => clearTimeout(pending);
}

function subText(a) {
  const checks = a.checks.length ? ` · checks ${a.checks.filter((c) => c.status === "passed").length}/${a.checks.length}` : "";
  return `${a.status.replace("_", " ")}${a.staleness.status === "stale" ? " · stale" : ""}${checks}`;
}

function legend() {
  const items = ["never", "materialized", "running", "failed", "check_failed"];
  return h("div", { class: "legend" }, items.map((st) => h("span", { class: `legend-item status-${st}` }, st.replace("_", " "))));
}
