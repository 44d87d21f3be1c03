// The asset graph past the collapse threshold: each group drawn as one node with its
// asset count and an aggregate status (the server lays the collapsed graph out:
// /api/asset-graph), groups expanded on click or Enter, a search's selection drawn
// asset by asset. Also the items the whole graph is drawn from below the threshold.
import { get } from "./api.js";

export const STATUS_ORDER = ["running", "failed", "check_failed", "materialized", "never"];

// Items to draw: {id, kind: "asset"|"group", layer, row, group, asset?, count?} and
// edges {from, to, count}.
export function wholeGraph(assets) {
  const items = assets.map((a) => ({ id: `asset:${a.key}`, kind: "asset", layer: a.layer, row: a.row, group: a.group, asset: a }));
  const edges = [];
  for (const a of assets) for (const dep of a.deps) edges.push({ from: `asset:${dep}`, to: `asset:${a.key}`, count: 1 });
  return { items, edges, collapsed: false };
}

export async function collapsedGraph(byKey, expanded, selection) {
  const params = { expand: [...expanded] };
  if (selection) params.select = selection;
  const layout = await get("/api/asset-graph", params);
  const items = layout.nodes.map((n) => (n.kind === "asset"
    ? { id: n.id, kind: "asset", layer: n.layer, row: n.row, group: n.group, asset: byKey.get(n.key) }
    : { id: n.id, kind: "group", layer: n.layer, row: n.row, group: n.group, count: n.count }))
    .filter((item) => item.kind === "group" || item.asset);
  return { items, edges: layout.edges, collapsed: layout.collapsed };
}

// The statuses of a group node's assets (those of the group not drawn one by one).
export function groupSummary(group, assets, drawn) {
  const counts = Object.fromEntries(STATUS_ORDER.map((st) => [st, 0]));
  let stale = 0, total = 0;
  for (const a of assets) {
    if (a.group !== group || drawn.has(a.key)) continue;
    counts[a.status] = (counts[a.status] || 0) + 1;
    if (a.staleness.status === "stale") stale += 1;
    total += 1;
  }
  let status = "materialized";
  if (counts.running) status = "running";
  else if (counts.failed) status = "failed";
  else if (counts.check_failed) status = "check_failed";
  else if (counts.never === total) status = "never";
  else if (counts.never) status = "partial";
  return { counts, stale, total, status };
}

export function summaryText(summary) {
  const parts = [`${summary.total} assets`];
  for (const st of ["running", "failed", "check_failed", "never"]) {
    if (summary.counts[st]) parts.push(`${summary.counts[st]} ${st.replace("_", " ")}`);
  }
  if (summary.stale) parts.push(`${summary.stale} stale`);
  return parts.join(" · ");
}
