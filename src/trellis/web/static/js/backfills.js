// Backfills: the list (/backfills), one backfill (/backfills/{id}: a progress bar by
// partition state, the counts, its partitions per state as ranges, its runs, Cancel and
// Retry failed), and the "Backfill" section of a partitioned asset's page. Changes are
// pushed by the server ("backfill" and "run" messages); nothing polls.
import { get, post, subscribe } from "./api.js";
import { clear, fmtDuration, fmtTime, h, link, runPath, statusBadge } from "./dom.js";
import { go } from "./nav.js";
import { partitionPicker } from "./partitions.js";

const STATES = ["materialized", "in_progress", "pending", "failed", "canceled"];
const FINISHED = ["COMPLETED", "FAILED", "CANCELED"];

export function backfillPath(id) {
  return `/backfills/${encodeURIComponent(id)}`;
}

// What moves backfills along: the daemon of this process, another one, or none.
export function daemonNotice(daemon) {
  let text;
  let waiting = false;
  if (daemon.in_process && daemon.waiting_for) text = `Another daemon (${daemon.waiting_for}) holds this instance and launches backfill runs.`;
  else if (daemon.in_process) text = "The daemon runs in this process: it launches the runs of backfills.";
  else if (daemon.backfill_loop_running) text = "A daemon outside this process launches the runs of backfills.";
  else { text = "No daemon is running: backfills wait for a daemon (start 'trellis daemon', or 'trellis dev' without --no-daemon)."; waiting = true; }
  return h("p", { id: "backfill-daemon", class: waiting ? "notice error" : "muted", "data-waiting": waiting ? "1" : null }, text);
}

function total(counts) {
  return STATES.reduce((n, s) => n + (counts[s] || 0), 0);
}

export function progressBar(counts) {
  const all = total(counts);
  const bar = h("span", { class: "partition-bar backfill-bar", title: countsText(counts), "data-total": all });
  for (const state of STATES) {
    if (!counts[state]) continue;
    const seg = h("span", { class: `part part-${state}`, "data-part": state, "data-count": counts[state] });
    seg.style.width = `${(100 * counts[state]) / (all || 1)}%`;
    bar.append(seg);
  }
  return bar;
}

function countsText(counts) {
  return STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replace("_", " ")}`).join(" · ") || "nothing yet";
}

function partitionsText(b) {
  if (!b.num_partitions) return "-";
  return b.num_partitions === 1 ? b.first_partition : `${b.num_partitions}: ${b.first_partition} … ${b.last_partition}`;
}

function backfillRow(b) {
  return h("tr", { "data-backfill-id": b.backfill_id, class: "backfill-row" },
    h("td", {}, link(backfillPath(b.backfill_id), b.backfill_id, { class: "mono" })),
    h("td", {}, statusBadge(b.status)),
    h("td", {}, b.assets.join(", ")),
    h("td", {}, partitionsText(b)),
    h("td", { class: "progress" }, progressBar(b.counts), countsText(b.counts)),
    h("td", {}, `${b.num_runs_launched} / ${b.num_runs_planned}`),
    h("td", {}, fmtTime(b.create_timestamp)));
}

export async function renderBackfills(root) {
  const data = await get("/api/backfills", { limit: 100 });
  const tbody = h("tbody", { id: "backfills-body" }, data.backfills.map(backfillRow));
  const empty = h("p", { class: "muted", hidden: data.backfills.length > 0 },
    "No backfills yet: launch one from a partitioned asset's page or the launchpad.");
  subscribe("backfill", ({ backfill }) => {
    const row = tbody.querySelector(`tr[data-backfill-id="${CSS.escape(backfill.backfill_id)}"]`);
    if (row) row.replaceWith(backfillRow(backfill));
    else tbody.prepend(backfillRow(backfill));
    empty.hidden = true;
  });
  root.append(h("h1", {}, "Backfills"), daemonNotice(data.daemon),
    h("table", { class: "grid", id: "backfills" },
      h("thead", {}, h("tr", {}, ["Backfill", "Status", "Assets", "Partitions", "Progress", "Runs", "Created"].map((c) => h("th", {}, c)))),
      tbody),
    empty);
}

// A run of the backfill: its partition (or range of partitions), status and times.
function backfillRunRow(run) {
  const t = run.tags;
  const start = t["trellis/asset_partition_range_start"], end = t["trellis/asset_partition_range_end"];
  const keys = start ? (start === end ? start : `${start} … ${end}`) : (t["trellis/partition"] || "-");
  const took = run.start_time ? fmtDuration((run.end_time || Date.now() / 1000) - run.start_time) : "-";
  return h("tr", { "data-run-id": run.run_id, class: `run-row status-${run.status.toLowerCase()}` },
    h("td", {}, link(runPath(run.run_id), run.run_id.slice(0, 8), { class: "mono" })),
    h("td", {}, statusBadge(run.status)),
    h("td", {}, keys),
    h("td", {}, (run.asset_selection || []).join(", ")),
    h("td", {}, fmtTime(run.create_time)),
    h("td", {}, took));
}

function rangesTable(ranges) {
  const rows = [];
  for (const state of STATES) {
    for (const r of ranges[state] || []) {
      rows.push(h("tr", { "data-state": state },
        h("td", {}, h("span", { class: `badge state-${state}` }, state.replace("_", " "))),
        h("td", {}, r.assets.join(", ")),
        h("td", {}, r.count === 1 ? r.start : `${r.start} … ${r.end}`),
        h("td", {}, String(r.count))));
    }
  }
  return h("table", { class: "grid", id: "backfill-ranges" },
    h("thead", {}, h("tr", {}, ["State", "Assets", "Partitions", "Count"].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows));
}

export async function renderBackfill(root, id) {
  const body = h("div", { id: "backfill" });
  const error = h("p", { class: "error", id: "backfill-error", "aria-live": "polite" });
  root.append(body, error);
  let latest = null;

  function render(b) {
    latest = b;
    const cancel = h("button", { id: "backfill-cancel", disabled: b.status !== "REQUESTED" }, "Cancel");
    const retry = h("button", { id: "backfill-retry", class: "primary", disabled: !FINISHED.includes(b.status) || (b.counts.failed + b.counts.canceled + b.counts.pending) === 0 }, "Retry failed");
    cancel.addEventListener("click", async () => {
      cancel.disabled = true; clear(error);
      try { render({ ...latest, ...(await post(`/api/backfills/${encodeURIComponent(id)}/cancel`)) }); } catch (err) { error.append(err.message); cancel.disabled = false; }
    });
    retry.addEventListener("click", async () => {
      retry.disabled = true; clear(error);
      try { const made = await post(`/api/backfills/${encodeURIComponent(id)}/retry`); go(backfillPath(made.backfill_id)); } catch (err) { error.append(err.message); retry.disabled = false; }
    });
    const field = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
    clear(body).append(
      h("h1", {}, "Backfill ", h("span", { class: "mono" }, b.backfill_id), " ", statusBadge(b.status)),
      daemonNotice(b.daemon),
      h("div", { class: "toolbar" }, cancel, retry,
        link(`/runs?backfill=${encodeURIComponent(b.backfill_id)}`, "Its runs in the runs list")),
      h("p", { id: "backfill-progress" }, progressBar(b.counts), " ", h("span", { id: "backfill-counts" }, countsText(b.counts)),
        h("span", { class: "muted" }, ` of ${b.total} asset partitions`)),
      h("dl", { class: "fields" },
        field("Assets", b.assets.join(", ")),
        field("Partitions", partitionsText(b)),
        field("Policy", `${b.policy}: ${b.num_runs_planned} run(s) planned, ${b.num_runs_launched} launched`),
        field("Created", fmtTime(b.create_timestamp)),
        field("Ended", fmtTime(b.end_timestamp)),
        field("Tags", Object.entries(b.tags).filter(([k]) => !k.startsWith("trellis/")).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))),
        b.parent_backfill_id ? field("Retry of", link(backfillPath(b.parent_backfill_id), b.parent_backfill_id)) : null,
        b.retried_by.length ? field("Retried by", b.retried_by.map((r) => [link(backfillPath(r), r), " "])) : null),
      h("h2", {}, "Partitions by state"), rangesTable(b.ranges),
      h("h2", {}, "Runs"),
      b.runs.length
        ? h("table", { class: "grid", id: "backfill-runs" },
          h("thead", {}, h("tr", {}, ["Run", "Status", "Partitions", "Assets", "Created", "Duration"].map((c) => h("th", {}, c)))),
          h("tbody", {}, b.runs.map(backfillRunRow)))
        : h("p", { class: "muted", id: "backfill-no-runs" }, "No run launched yet."));
    body.dataset.status = b.status;
  }

  // One fetch at a time; a change pushed meanwhile asks for one more.
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try { render(await get(`/api/backfills/${encodeURIComponent(id)}`)); }
    catch (err) { clear(error).append(err.message); }
    finally { busy = false; if (again) { again = false; refresh(); } }
  }
  subscribe("backfill", ({ backfill }) => { if (backfill.backfill_id === id) refresh(); });
  subscribe("run", ({ run }) => { if (run.tags["dagster/backfill"] === id) refresh(); });
  render(await get(`/api/backfills/${encodeURIComponent(id)}`));
}

// The "Backfill" section of a partitioned asset's page: a range, a list or all, a
// preview of the plan (partitions and runs), and Launch backfill.
export function backfillSection(assetKey) {
  const selection = `key:"${assetKey}"`;
  const preview = h("span", { class: "muted", id: "asset-backfill-preview" });
  const error = h("p", { class: "error", id: "asset-backfill-error", "aria-live": "polite" });
  const launch = h("button", { id: "asset-backfill-launch", class: "primary" }, "Launch backfill");
  let asked = 0;
  const picker = partitionPicker("asset-backfill", ["range", "list", "all"], async () => {
    const mine = ++asked;
    clear(preview); clear(error);
    if (picker.check()) return;
    try {
      const plan = await post("/api/backfills/preview", { selection, ...picker.value() });
      if (mine === asked) preview.append(`${plan.num_partitions} partition(s) in ${plan.num_runs} run(s) (${plan.policy})`);
    } catch (err) { if (mine === asked) error.append(err.message); }
  });
  launch.addEventListener("click", async () => {
    const problem = picker.check();
    clear(error);
    if (problem) { error.append(problem); return; }
    launch.disabled = true;
    try {
      const made = await post("/api/backfills", { selection, ...picker.value() });
      go(backfillPath(made.backfill_id));
    } catch (err) { error.append(err.message); launch.disabled = false; }
  });
  const section = h("section", { id: "asset-backfill" }, h("h2", {}, "Backfill"),
    h("div", { class: "toolbar" }, picker.element, launch), preview, error);
  picker.load({ selection });
  return section;
}
