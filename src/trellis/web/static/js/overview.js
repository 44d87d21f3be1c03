// The overview: what ran in the last 24 hours on a timeline (one row per job, a bar per
// run from its start to its end, coloured by status), what is failing now, what is
// stale. Rebuilt when the server pushes a run change.
import { get, subscribe } from "./api.js";
import { assetPath, clear, fmtTime, h, link, runPath, s, statusBadge } from "./dom.js";

const WIDTH = 1100, LABEL = 180, ROW = 22, AXIS = 24;

function timeline(data) {
  const jobs = [...new Set(data.runs.map((r) => r.job_name))];
  if (!jobs.length) return h("p", { class: "muted", id: "timeline" }, `No runs in the last ${data.hours} h.`);
  const span = data.now - data.since;
  const x = (t) => LABEL + ((Math.max(t, data.since) - data.since) / span) * (WIDTH - LABEL - 10);
  const height = AXIS + jobs.length * ROW + 6;
  const svg = s("svg", { class: "timeline", id: "timeline", viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height });
  for (let i = 0; i <= 6; i++) {
    const t = data.since + (span * i) / 6;
    svg.append(s("line", { x1: x(t), x2: x(t), y1: AXIS - 4, y2: height, class: "tick-line" }),
      s("text", { x: x(t), y: 14, class: "axis", "text-anchor": i === 0 ? "start" : i === 6 ? "end" : "middle" },
        new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  }
  jobs.forEach((job, row) => {
    const y = AXIS + row * ROW;
    svg.append(s("text", { x: 4, y: y + 15, class: "gantt-label" }, job.length > 24 ? `${job.slice(0, 23)}…` : job));
    for (const run of data.runs.filter((r) => r.job_name === job)) {
      const start = run.start_time || run.create_time;
      const end = run.end_time || data.now;
      const bar = s("rect", {
        x: x(start), y: y + 4, width: Math.max(3, x(end) - x(start)), height: ROW - 8, rx: 2,
        class: `run-bar run-${run.status.toLowerCase()}`, "data-run-id": run.run_id,
      }, s("title", {}, `${run.job_name} ${run.run_id.slice(0, 8)} ${run.status}\n${fmtTime(start)}`));
      const a = s("a", { href: runPath(run.run_id), "data-nav": true }, bar);
      svg.append(a);
    }
  });
  return svg;
}

function list(id, items, empty, render) {
  if (!items.length) return h("p", { class: "muted", id }, empty);
  return h("ul", { id, class: "overview-list" }, items.map((item) => h("li", {}, render(item))));
}

export async function renderOverview(root) {
  const body = h("div", { id: "overview" });
  root.append(h("h1", {}, "Overview"), body);
  async function load() {
    const data = await get("/api/overview");
    const c = data.counts;
    clear(body).append(
      h("p", { class: "muted", id: "overview-counts" },
        `${c.assets} assets: ${c.fresh} fresh, ${c.stale} stale, ${c.never} never materialized · ${data.runs.length} runs in the last ${data.hours} h`),
      h("h2", {}, `Last ${data.hours} hours`),
      timeline(data),
      h("h2", {}, "Failing now"),
      list("failing-assets", data.failing.assets, "No failing assets.", (a) =>
        [link(assetPath(a.key), a.key), " ", statusBadge(a.status)]),
      list("failing-jobs", data.failing.jobs, "No job's latest run failed.", (r) =>
        [h("strong", {}, r.job_name), " ", link(runPath(r.run_id), r.run_id.slice(0, 8), { class: "mono" }), " ", fmtTime(r.create_time)]),
      list("failing-ticks", data.failing.ticks, "No schedule or sensor is failing.", (t) =>
        [link("/automation", t.name), ` (${t.kind}) `, fmtTime(t.timestamp), h("pre", { class: "tick-error" }, t.error.trim().split("\n").pop())]),
      h("h2", {}, "Stale"),
      list("stale-assets", data.stale, "Nothing is stale.", (a) =>
        [link(assetPath(a.key), a.key), h("span", { class: "muted" }, ` — ${a.causes.map((x) => x.text).join("; ")}`)]),
    );
  }
  let pending = null;
  subscribe("run", () => {
    clearTimeout(pending);
    pending = setTimeout(() => load().catch(() => {}), 200);
  });
  await load();
  return () => clearTimeout(pending);
}
