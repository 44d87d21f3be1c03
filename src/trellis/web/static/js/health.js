// Staleness and partition health, drawn the same way on the graph, the catalog, the
// asset page and the overview: a badge (never / fresh / stale, its causes as a tooltip
// and a list) and a bar of partition counts (materialized / failed / in progress /
// missing).
import { h, s } from "./dom.js";

const WORDS = { never: "never materialized", fresh: "fresh", stale: "stale", observed: "observed", never_observed: "never observed" };
const PARTS = ["materialized", "failed", "in_progress", "missing"];

export function freshnessWord(staleness) {
  return WORDS[staleness.status] || staleness.status;
}

export function freshnessBadge(staleness) {
  const title = staleness.causes.map((c) => c.text).join("\n");
  return h("span", { class: `badge fresh-${staleness.status}`, title: title || null, "data-freshness": staleness.status }, freshnessWord(staleness));
}

export function staleCauses(staleness) {
  if (!staleness.causes.length) return null;
  return h("ul", { class: "stale-causes" }, staleness.causes.map((c) => h("li", {}, c.text)));
}

export function partitionText(health) {
  return PARTS.filter((p) => health[p]).map((p) => `${health[p]} ${p.replace("_", " ")}`).join(" · ");
}

// An HTML bar: one segment per status, as wide as its share of the partitions.
export function partitionBar(health) {
  if (!health || !health.total) return null;
  return h("span", { class: "partition-bar", title: partitionText(health), "data-total": health.total },
    PARTS.filter((p) => health[p]).map((p) =>
      h("span", { class: `part part-${p}`, style: null, "data-count": health[p], "data-part": p })));
}

// Widths are set after creation (the policy forbids inline style attributes from markup,
// and a style property set from script is allowed).
export function sizePartitionBars(root) {
  for (const bar of root.querySelectorAll(".partition-bar")) {
    const total = Number(bar.dataset.total);
    for (const seg of bar.querySelectorAll(".part")) seg.style.width = `${(100 * Number(seg.dataset.count)) / total}%`;
  }
}

// The same bar inside a graph node (SVG), ``width`` wide at ``y``.
export function partitionBarSvg(health, x, y, width) {
  if (!health || !health.total) return null;
  const g = s("g", { class: "partition-bar-svg" }, s("title", {}, partitionText(health)));
  let at = x;
  for (const p of PARTS) {
    if (!health[p]) continue;
    const w = (width * health[p]) / health.total;
    g.append(s("rect", { x: at, y, width: w, height: 4, class: `part part-${p}` }));
    at += w;
  }
  return g;
}
