// The runs list: filters (status, job, tag, backfill, created after/before; a filter
// given in the address, e.g. /runs?backfill=ID, starts set), keyset pagination ("Older
// runs"), and new runs and status changes pushed by the server.
import { get, subscribe } from "./api.js";
import { clear, fmtDuration, fmtTime, h, link, runPath, statusBadge } from "./dom.js";

const STATUSES = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED"];

function duration(run) {
  if (!run.start_time) return "-";
  return fmtDuration((run.end_time || Date.now() / 1000) - run.start_time);
}

function userTags(tags) {
  return Object.entries(tags).filter(([k]) => !k.startsWith("trellis/"));
}

export function runRow(run) {
  return h("tr", { "data-run-id": run.run_id, class: `run-row status-${run.status.toLowerCase()}` },
    h("td", {}, link(runPath(run.run_id), run.run_id.slice(0, 8), { class: "mono" })),
    h("td", {}, statusBadge(run.status)),
    h("td", {}, run.job_name),
    h("td", {}, fmtTime(run.create_time)),
    h("td", {}, duration(run)),
    h("td", {}, userTags(run.tags).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))));
}

export async function renderRuns(root) {
  const ws = await get("/api/workspace");
  const status = h("select", { id: "runs-status", "aria-label": "Status" }, h("option", { value: "" }, "Status: all"), STATUSES.map((v) => h("option", { value: v }, v)));
  const job = h("select", { id: "runs-job", "aria-label": "Job" }, h("option", { value: "" }, "Job: all"),
    ["__ASSET_JOB", ...ws.jobs.map((j) => j.name)].map((v) => h("option", { value: v }, v)));
  const tag = h("input", { type: "search", id: "runs-tag", placeholder: "tag KEY=VALUE" });
  const backfill = h("input", { type: "search", id: "runs-backfill", placeholder: "backfill id", size: 12, "aria-label": "Backfill" });
  const after = h("input", { type: "datetime-local", id: "runs-after", "aria-label": "Created after" });
  const before = h("input", { type: "datetime-local", id: "runs-before", "aria-label": "Created before" });
  const params = new URLSearchParams(location.search);
  if (params.get("backfill")) backfill.value = params.get("backfill");
  if (params.get("status")) status.value = params.get("status");
  if (params.get("tag")) tag.value = params.get("tag");
  const tbody = h("tbody", { id: "runs-body" });
  const more = h("button", { id: "runs-more", hidden: true }, "Older runs");
  const error = h("p", { class: "error" });
  let cursor = null;
  // The browser's local time of a datetime-local input, as epoch seconds.
  const seconds = (input) => (input.value ? new Date(input.value).getTime() / 1000 : "");
  const filters = () => ({
    status: status.value, job: job.value, tag: tag.value.includes("=") ? tag.value : "",
    backfill: backfill.value.trim(), created_after: seconds(after), created_before: seconds(before),
  });

  async function load(append) {
    clear(error);
    try {
      const page = await get("/api/runs", { ...filters(), limit: 50, cursor: append ? cursor : "" });
      if (!append) clear(tbody);
      for (const run of page.runs) tbody.append(runRow(run));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      tbody.dataset.loaded = "1";
    } catch (err) {
      error.append(err.message);
    }
  }
  function matches(run) {
    const f = filters();
    if (f.status && run.status !== f.status) return false;
    if (f.job && run.job_name !== f.job) return false;
    if (f.tag) { const [k, ...v] = f.tag.split("="); if (run.tags[k] !== v.join("=")) return false; }
    if (f.backfill && run.tags["dagster/backfill"] !== f.backfill) return false;
    if (f.created_after && run.create_time <= f.created_after) return false;
    if (f.created_before && run.create_time >= f.created_before) return false;
    return true;
  }
  subscribe("run", ({ run }) => {
    const existing = tbody.querySelector(`tr[data-run-id="${CSS.escape(run.run_id)}"]`);
    if (existing) existing.replaceWith(runRow(run));
    else if (matches(run)) tbody.prepend(runRow(run));
  });
  for (const el of [status, job, after, before]) el.addEventListener("change", () => load(false));
  for (const el of [tag, backfill]) el.addEventListener("change", () => load(false));
  more.addEventListener("click", () => load(true));
  root.append(h("h1", {}, "Runs"), h("div", { class: "toolbar" }, status, job, tag, backfill,
    h("label", {}, "after ", after), h("label", {}, "before ", before)), error,
    h("table", { class: "grid", id: "runs" },
      h("thead", {}, h("tr", {}, ["Run", "Status", "Job", "Created", "Duration", "Tags"].map((c) => h("th", {}, c)))), tbody),
    more);
  await load(false);
}
