// The asset catalog (a table with filters) and the page of one asset.
import { get, subscribe } from "./api.js";
import { assetPath, clear, fmtTime, h, link, runPath, s, statusBadge } from "./dom.js";
import { go } from "./nav.js";
import { backfillSection } from "./backfills.js";
import { freshnessBadge, partitionBar, partitionText, sizePartitionBars, staleCauses } from "./health.js";
import { evaluationSection } from "./evaluations.js";

export async function renderCatalog(root) {
  const { assets, groups } = await get("/api/assets");
  const uniq = (f) => [...new Set(assets.flatMap(f))].sort();
  const select = (id, label, values) =>
    h("select", { id, "aria-label": label }, h("option", { value: "" }, `${label}: all`), values.map((v) => h("option", { value: v }, v)));
  const text = h("input", { type: "search", id: "catalog-text", placeholder: "Filter by key or description" });
  const group = select("catalog-group", "Group", groups);
  const kind = select("catalog-kind", "Kind", uniq((a) => a.kinds));
  const owner = select("catalog-owner", "Owner", uniq((a) => a.owners));
  const status = select("catalog-status", "Status", ["never", "materialized", "running", "failed", "check_failed"]);
  const freshness = select("catalog-freshness", "Freshness", ["never", "fresh", "stale"]);
  const tbody = h("tbody");
  const count = h("span", { class: "muted" });
  const table = h("table", { class: "grid", id: "catalog" },
    h("thead", {}, h("tr", {}, ["Asset", "Group", "Kinds", "Owners", "Status", "Freshness", "Partitions", "Checks", "Last materialized"].map((c) => h("th", {}, c)))),
    tbody);
  function renderRows() {
    clear(tbody);
    const q = text.value.toLowerCase();
    const shown = assets.filter((a) =>
      (!q || a.key.toLowerCase().includes(q) || (a.description || "").toLowerCase().includes(q)) &&
      (!group.value || a.group === group.value) &&
      (!kind.value || a.kinds.includes(kind.value)) &&
      (!owner.value || a.owners.includes(owner.value)) &&
      (!status.value || a.status === status.value) &&
      (!freshness.value || a.staleness.status === freshness.value));
    for (const a of shown) {
      const m = a.latest_materialization;
      tbody.append(h("tr", { "data-key": a.key },
        h("td", {}, link(assetPath(a.key), a.key)),
        h("td", {}, a.group), h("td", {}, a.kinds.join(", ")), h("td", {}, a.owners.join(", ")),
        h("td", {}, statusBadge(a.status)),
        h("td", { class: "freshness" }, freshnessBadge(a.staleness)),
        h("td", { class: "partitions" }, a.partition_health ? [partitionBar(a.partition_health), partitionText(a.partition_health)] : ""),
        h("td", {}, a.checks.map((c) => `${c.name}: ${c.status}`).join(", ")),
        h("td", {}, m ? link(runPath(m.run_id), fmtTime(m.timestamp)) : "never")));
    }
    clear(count).append(`${shown.length} of ${assets.length} assets`);
    sizePartitionBars(tbody);
  }
  for (const el of [text, group, kind, owner, status, freshness]) el.addEventListener("input", renderRows);
  root.append(h("h1", {}, "Asset catalog"), h("div", { class: "toolbar" }, text, group, kind, owner, status, freshness, count), table);
  renderRows();
}

function metadataValue(entry) {
  const v = entry.value;
  if (entry.type === "url" && typeof v === "string" && /^https?:\/\//.test(v)) {
    return h("a", { href: v, rel: "noopener noreferrer", target: "_blank" }, v);
  }
  if (entry.type === "table_schema" && v && Array.isArray(v.columns)) {
    return h("table", { class: "grid small" }, h("tr", {}, h("th", {}, "column"), h("th", {}, "type")),
      v.columns.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.type))));
  }
  if (typeof v === "object" && v !== null) return h("code", {}, JSON.stringify(v));
  return String(v);
}

export function metadataList(entries) {
  if (!entries || !entries.length) return h("span", { class: "muted" }, "none");
  return h("dl", { class: "metadata" }, entries.map((e) => [h("dt", {}, e.label), h("dd", {}, metadataValue(e))]));
}

function plots(materializations) {
  // Numeric metadata over time, one small line chart per label.
  const series = new Map();
  for (const m of [...materializations].reverse()) {
    const entries = (m.data && m.data.materialization && m.data.materialization.metadata) || [];
    for (const e of entries) {
      if (typeof e.value === "number" && ["int", "float", "json"].includes(e.type)) {
        if (!series.has(e.label)) series.set(e.label, []);
        series.get(e.label).push([m.timestamp, e.value]);
      }
    }
  }
  const out = [];
  for (const [label, points] of series) {
    if (points.length < 2) continue;
    const w = 260, hgt = 60;
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1, y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => ((x - x0) / (x1 - x0 || 1)) * (w - 10) + 5;
    const sy = (y) => hgt - 5 - ((y - y0) / (y1 - y0 || 1)) * (hgt - 10);
    const d = points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join("");
    out.push(h("figure", { class: "plot" }, s("svg", { width: w, height: hgt, class: "sparkline" }, s("path", { d })),
      h("figcaption", {}, `${label}: ${ys[ys.length - 1]} (min ${y0}, max ${y1})`)));
  }
  return out;
}

export async function renderAsset(root, key) {
  const a = await get(`/api/assets/${key.split("/").map(encodeURIComponent).join("/")}`);
  const materialize = h("button", { id: "materialize" }, "Materialize");
  materialize.addEventListener("click", () => go(`/launchpad?selection=${encodeURIComponent(`key:"${a.key}"`)}`));
  const field = (label, value) => [h("dt", {}, label), h("dd", {}, value || h("span", { class: "muted" }, "-"))];
  root.append(
    h("h1", {}, "Asset ", h("span", { class: "key" }, a.key), " ", statusBadge(a.status), " ", freshnessBadge(a.staleness)),
    h("div", { id: "asset-health" }, staleCauses(a.staleness),
      a.partition_health ? h("p", { id: "partition-health" }, partitionBar(a.partition_health), partitionText(a.partition_health)) : null),
    h("div", { class: "toolbar" }, materialize, a.running_run ? link(runPath(a.running_run.run_id), "running now") : null),
    a.partitions ? backfillSection(a.key) : null,
    h("section", {}, h("h2", {}, "Definition"), h("dl", { class: "fields" },
      field("Description", a.description), field("Group", a.group), field("Kinds", a.kinds.join(", ")),
      field("Owners", a.owners.join(", ")), field("Code version", a.code_version), field("Op", a.op),
      field("Partitions", a.partitions),
      field("Freshness", a.freshness && `${a.freshness.state}: ${a.freshness.policy} (${a.freshness.reason})`),
      field("Tags", Object.entries(a.tags).map(([k, v]) => `${k}=${v}`).join(", ")),
      field("Upstream", a.deps.map((d) => [link(assetPath(d), d), " "])),
      field("Downstream", a.downstream.map((d) => [link(assetPath(d), d), " "])),
      field("Metadata", metadataList(a.metadata)))),
    h("section", {}, h("h2", {}, "Materializations"), h("div", { class: "plots" }, plots(a.materializations)),
      h("table", { class: "grid", id: "materializations" },
        h("thead", {}, h("tr", {}, ["When", "Run", "Partition", "Metadata"].map((c) => h("th", {}, c)))),
        h("tbody", {}, a.materializations.map((m) => h("tr", {},
          h("td", {}, fmtTime(m.timestamp)), h("td", {}, link(runPath(m.run_id), m.run_id.slice(0, 8))),
          h("td", {}, m.partition || "-"),
          h("td", {}, metadataList(m.data && m.data.materialization && m.data.materialization.metadata))))))),
    h("section", {}, h("h2", {}, "Checks"), a.checks.length ? a.checks.map((c) => h("div", {},
      h("h3", {}, c.name), h("ul", {}, c.history.map((e) => {
        const ev = e.data.evaluation || {};
        return h("li", {}, fmtTime(e.timestamp), " ", ev.passed ? "passed" : "failed", " ", metadataList(ev.metadata));
      })))) : h("p", { class: "muted" }, "No checks.")),
  );
  if (a.has_automation) root.append(evaluationSection(a.key));
  sizePartitionBars(root);
  subscribe("run", (msg) => {
    // The page is rebuilt when a run ends, to show its materialization.
    if (["SUCCESS", "FAILURE"].includes(msg.run.status)) go(location.pathname, true);
  });
}
