// The page of one run: status and actions (re-execute all, from failure, selected
// steps; cancel), the Gantt chart of its steps, the live event log with filters, the
// trace tree with timings, the config and tags, the job's call diagram.
import { get, post, subscribe } from "./api.js";
import { clear, fmtDuration, fmtTime, h, link, runPath, s, statusBadge } from "./dom.js";
import { go } from "./nav.js";

const STEP_END = { STEP_SUCCESS: "success", STEP_FAILURE: "failure", STEP_UP_FOR_RETRY: "retry" };

// Segments per step from the events: one per attempt, open while it runs.
export function stepSegments(events) {
  const steps = new Map();
  for (const e of events) {
    if (!e.step_key) continue;
    if (!steps.has(e.step_key)) steps.set(e.step_key, { key: e.step_key, segments: [], status: "pending" });
    const step = steps.get(e.step_key);
    if (e.type === "STEP_START" || e.type === "STEP_RESTARTED") {
      step.segments.push({ start: e.timestamp, end: null, status: "running", pid: e.pid });
      step.status = "running";
    } else if (STEP_END[e.type]) {
      const open = step.segments.findLast((g) => g.end === null);
      if (open) { open.end = e.timestamp; open.status = STEP_END[e.type]; }
      step.status = STEP_END[e.type];
    } else if (e.type === "STEP_SKIPPED") step.status = "skipped";
  }
  return [...steps.values()];
}

function gantt(events, run) {
  const steps = stepSegments(events);
  const t0 = run.start_time || (events[0] && events[0].timestamp) || 0;
  const now = run.end_time || Math.max(t0, ...events.map((e) => e.timestamp));
  const span = Math.max(now - t0, 0.001);
  const labelW = 220, barW = 640, rowH = 24;
  const svg = s("svg", { id: "gantt", width: labelW + barW + 20, height: steps.length * rowH + 30, class: "gantt" });
  svg.append(s("text", { x: labelW, y: 14, class: "axis" }, "0"), s("text", { x: labelW + barW, y: 14, class: "axis", "text-anchor": "end" }, fmtDuration(span)));
  steps.forEach((step, i) => {
    const y = 22 + i * rowH;
    svg.append(s("text", { x: 4, y: y + 14, class: "gantt-label" }, step.key.length > 30 ? `…${step.key.slice(-29)}` : step.key));
    for (const seg of step.segments) {
      const x = labelW + ((seg.start - t0) / span) * barW;
      const w = Math.max(2, (((seg.end || now) - seg.start) / span) * barW);
      svg.append(s("rect", { x: x.toFixed(1), y, width: w.toFixed(1), height: rowH - 6, rx: 3, class: `bar bar-${seg.status}`, "data-step": step.key },
        s("title", {}, `${step.key} ${seg.status} ${fmtDuration((seg.end || now) - seg.start)} pid ${seg.pid}`)));
    }
    if (step.status === "skipped") svg.append(s("text", { x: labelW + 4, y: y + 14, class: "axis" }, "skipped"));
  });
  return { svg, steps };
}

// Children of a closed node are built when it is first opened: a run of 10,000 events
// has a trace of as many nodes.
function traceNode(node, depth) {
  const timing = node.duration_ms === null ? "" : ` ${node.duration_ms.toFixed(1)} ms`;
  const summary = h("summary", { class: node.kind.includes("fail") || node.kind === "error" ? "error" : "" },
    h("span", { class: "trace-kind" }, node.kind), " ", node.label,
    h("span", { class: "muted" }, ` +${node.start_offset_ms.toFixed(1)} ms${timing}`));
  const attrs = Object.entries(node.attrs || {}).filter(([, v]) => v !== null && v !== "");
  const details = h("details", { class: "trace-node", open: depth < 2 }, summary,
    attrs.length ? h("div", { class: "trace-attrs" }, attrs.map(([k, v]) => h("div", {}, `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`))) : null);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    details.append(...node.children.map((c) => traceNode(c, depth + 1)));
  };
  if (depth < 2) build(); else details.addEventListener("toggle", build);
  return details;
}

const STEP_TYPES = ["STEP_START", "STEP_RESTARTED", "STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "STEP_SKIPPED"];
const FIRST_PAGE = 1000;
const PAGE = 5000;

export async function renderRun(root, runId) {
  // The first page of the log and the step events (for the Gantt chart) come first; a
  // long run's other events load in the background while the page is already drawn.
  const eventsPath = `/api/runs/${encodeURIComponent(runId)}/events`;
  let [run, { events }, { events: stepEvents }, ws] = await Promise.all([
    get(`/api/runs/${encodeURIComponent(runId)}`),
    get(eventsPath, { limit: FIRST_PAGE }),
    get(eventsPath, { type: STEP_TYPES }),
    get("/api/workspace"),
  ]);
  let complete = events.length < FIRST_PAGE;
  const seen = new Set(events.map((e) => e.storage_id));

  const header = h("div", { id: "run-header" });
  const actions = h("div", { class: "toolbar", id: "run-actions" });
  const actionError = h("span", { class: "error", id: "action-error" });
  const ganttBox = h("section", { id: "gantt-box" });
  const traceBox = h("section", { id: "trace-box" });
  const logBody = h("tbody", { id: "log-body" });
  const stepFilter = h("select", { id: "log-step", "aria-label": "Step" });
  const levelFilter = h("select", { id: "log-level", "aria-label": "Level" }, ["DEBUG", "INFO", "WARNING", "ERROR"].map((l) => h("option", { value: l }, `level ≥ ${l}`)));
  const typeFilter = h("select", { id: "log-type", "aria-label": "Type" });
  const textFilter = h("input", { type: "search", id: "log-text", placeholder: "Filter messages" });
  const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };
  let selectedSteps = new Set();

  function renderHeader() {
    clear(header).append(
      h("h1", {}, "Run ", h("span", { class: "mono" }, run.run_id), " ", statusBadge(run.status)),
      h("dl", { class: "fields" },
        h("dt", {}, "Job"), h("dd", {}, run.job_name),
        h("dt", {}, "Created"), h("dd", {}, fmtTime(run.create_time)),
        h("dt", {}, "Duration"), h("dd", { id: "run-duration" }, run.start_time ? fmtDuration((run.end_time || Date.now() / 1000) - run.start_time) : "-"),
        run.parent_run_id ? [h("dt", {}, "Parent"), h("dd", {}, link(runPath(run.parent_run_id), run.parent_run_id.slice(0, 8)))] : null));
    clear(actions);
    const finished = ["SUCCESS", "FAILURE", "CANCELED"].includes(run.status);
    const reexec = (mode) => async () => {
      clear(actionError);
      try {
        const res = await post(`/api/runs/${encodeURIComponent(run.run_id)}/reexecute`, { mode, steps: [...selectedSteps] });
        go(runPath(res.run_id));
      } catch (err) { actionError.append(err.message); }
    };
    if (finished) {
      actions.append(h("button", { id: "reexecute-all", onclick: reexec("all") }, "Re-execute all"));
      if (run.status === "FAILURE") actions.append(h("button", { id: "reexecute-failure", onclick: reexec("from_failure") }, "Re-execute from failure"));
      actions.append(h("button", { id: "reexecute-selected", onclick: reexec("selected"), disabled: selectedSteps.size === 0 }, `Re-execute selected (${selectedSteps.size})`));
    } else {
      actions.append(h("button", { id: "cancel-run", onclick: async () => {
        clear(actionError);
        try { await post(`/api/runs/${encodeURIComponent(run.run_id)}/cancel`); } catch (err) { actionError.append(err.message); }
      } }, "Cancel"));
    }
    actions.append(actionError);
  }

  function renderGantt() {
    const { svg, steps } = gantt(complete ? events : stepEvents, run);
    for (const rect of svg.querySelectorAll("rect.bar")) {
      rect.addEventListener("click", () => {
        const key = rect.dataset.step;
        if (selectedSteps.has(key)) selectedSteps.delete(key); else selectedSteps.add(key);
        renderHeader(); renderGantt();
      });
      if (selectedSteps.has(rect.dataset.step)) rect.classList.add("selected");
    }
    clear(ganttBox).append(h("h2", {}, "Steps"), h("p", { class: "muted" }, "Click a bar to select its step for re-execution."), svg);
    const current = stepFilter.value;
    clear(stepFilter).append(h("option", { value: "" }, "Step: all"), ...steps.map((st) => h("option", { value: st.key }, st.key)));
    stepFilter.value = current;
    const types = [...new Set(events.map((e) => e.type))].sort();
    const currentType = typeFilter.value;
    clear(typeFilter).append(h("option", { value: "" }, "Type: all"), ...types.map((t) => h("option", { value: t }, t)));
    typeFilter.value = currentType;
  }

  function visible(e) {
    return (!stepFilter.value || e.step_key === stepFilter.value) &&
      (LEVELS[e.level] || 0) >= LEVELS[levelFilter.value] &&
      (!typeFilter.value || e.type === typeFilter.value) &&
      (!textFilter.value || e.message.toLowerCase().includes(textFilter.value.toLowerCase()));
  }
  function logRow(e) {
    const err = e.data && e.data.error;
    return h("tr", { class: `level-${e.level.toLowerCase()}`, "data-type": e.type },
      h("td", { class: "mono" }, new Date(e.timestamp * 1000).toLocaleTimeString()),
      h("td", {}, e.type), h("td", {}, e.step_key || ""), h("td", {}, e.level),
      h("td", { class: "message" }, e.message, err && err.stack ? h("pre", {}, `${err.cls_name}: ${err.message}\n${err.stack.join("")}`) : null));
  }
  // The log is built in chunks, so that the first rows paint at once and the page
  // stays responsive for runs of many thousands of events; events that arrive later
  // (pages loading in the background, live ones) go through the same loop.
  const CHUNK = 300;
  let generation = 0;
  let rendered = 0;
  let rendering = false;
  function pump() {
    if (rendering) return;
    rendering = true;
    const mine = generation;
    const tick = () => {
      if (mine !== generation) return;
      const rows = [];
      const stop = Math.min(events.length, rendered + CHUNK);
      for (; rendered < stop; rendered++) if (visible(events[rendered])) rows.push(logRow(events[rendered]));
      logBody.append(...rows);
      if (rendered < events.length) setTimeout(tick, 0);
      else rendering = false;
    };
    tick();
  }
  function renderLog() {
    clear(logBody);
    generation += 1;
    rendered = 0;
    rendering = false;
    pump();
  }
  function add(fresh) {
    if (!fresh.length) return;
    const late = events.length && fresh[0].storage_id < events[events.length - 1].storage_id;
    for (const e of fresh) { seen.add(e.storage_id); events.push(e); }
    if (late) { events.sort((a, b) => a.storage_id - b.storage_id); renderLog(); } else pump();
  }
  async function renderTrace() {
    try {
      const tree = await get(`/api/runs/${encodeURIComponent(run.run_id)}/trace`);
      clear(traceBox).append(h("h2", {}, "Trace"), h("div", { id: "trace" }, traceNode(tree, 0)));
    } catch (err) {
      clear(traceBox).append(h("p", { class: "error" }, err.message));
    }
  }

  for (const el of [stepFilter, levelFilter, typeFilter]) el.addEventListener("change", renderLog);
  textFilter.addEventListener("input", renderLog);
  const isUserJob = ws.jobs.some((j) => j.name === run.job_name);
  const userTags = Object.entries(run.tags);
  root.append(header, actions, ganttBox,
    h("section", {}, h("h2", {}, "Event log"), h("div", { class: "toolbar" }, stepFilter, levelFilter, typeFilter, textFilter),
      h("div", { class: "log-scroll" }, h("table", { class: "grid log", id: "event-log" },
        h("thead", {}, h("tr", {}, ["Time", "Type", "Step", "Level", "Message"].map((c) => h("th", {}, c)))), logBody))),
    traceBox,
    h("section", {}, h("h2", {}, "Config and tags"),
      h("pre", { id: "run-config" }, JSON.stringify(run.run_config, null, 2)),
      h("ul", { id: "run-tags" }, userTags.map(([k, v]) => h("li", {}, h("code", {}, k), " = ", v)))),
    isUserJob ? h("section", {}, h("h2", {}, "Call diagram"),
      h("img", { src: `/api/jobs/${encodeURIComponent(run.job_name)}/diagram.svg`, alt: `Call diagram of ${run.job_name}`, class: "diagram" })) : null);
  renderHeader(); renderGantt(); renderLog(); renderTrace();

  subscribe("events", (msg) => {
    if (msg.run_id !== run.run_id) return;
    for (const e of msg.events) if (STEP_TYPES.includes(e.type)) stepEvents.push(e);
    if (!complete) return;  // the background pages will bring them, in order
    const fresh = msg.events.filter((e) => !seen.has(e.storage_id));
    if (!fresh.length) return;
    add(fresh);
    renderGantt();
  });
  function onRun(latest) {
    run = latest;
    renderHeader(); renderGantt();
    if (["SUCCESS", "FAILURE", "CANCELED"].includes(run.status)) renderTrace();
  }
  subscribe("run", (msg) => { if (msg.run.run_id === run.run_id) onRun(msg.run); });
  // The rest of the log, page by page; then what happened while the page loaded,
  // before its listeners were in place (live events from then on are in order).
  const last = () => (events.length ? events[events.length - 1].storage_id : -1);
  const paged = !complete;
  while (!complete) {
    const page = await get(eventsPath, { after: last(), limit: PAGE });
    add(page.events.filter((e) => !seen.has(e.storage_id)));
    complete = page.events.length < PAGE;
  }
  const [latest, missed] = await Promise.all([
    get(`/api/runs/${encodeURIComponent(runId)}`),
    get(eventsPath, { after: last() }),
  ]);
  const fresh = missed.events.filter((e) => !seen.has(e.storage_id));
  add(fresh);
  if (latest.status !== run.status || fresh.length) onRun(latest);
  else if (paged) renderGantt();
}
