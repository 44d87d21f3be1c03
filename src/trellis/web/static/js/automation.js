// The automation page: schedules and sensors (on/off toggles, next tick, cursor, tick
// history with skip reasons, errors and the runs each tick made), the declarative
// automation evaluations per asset, the run queue and the concurrency pools. Ticks are
// pushed by the server as they begin and end and go into their table in place; new
// evaluations and run changes (the queue) reload the page's data; never on a timer.
import { get, post, subscribe } from "./api.js";
import { assetPath, clear, fmtTime, h, link, runPath, statusBadge } from "./dom.js";
import { evaluationItem } from "./evaluations.js";

const TICKS_SHOWN = 5;

function tickRow(tick) {
  const detail = tick.error
    ? h("details", { class: "tick-error" }, h("summary", {}, tick.error.trim().split("\n").pop()), h("pre", {}, tick.error))
    : tick.skip_reason || "";
  return h("tr", { class: `tick status-${tick.status.toLowerCase()}`, "data-tick-id": tick.tick_id },
    h("td", {}, fmtTime(tick.timestamp)),
    h("td", {}, statusBadge(tick.status)),
    h("td", {}, tick.run_ids.map((id) => link(runPath(id), id.slice(0, 8), { class: "mono run-link" }))),
    h("td", {}, detail),
    h("td", { class: "mono" }, tick.cursor ?? ""));
}

function instigatorCard(item, onToggle) {
  const running = item.status === "RUNNING";
  const toggle = h("input", {
    type: "checkbox", role: "switch", checked: running, "aria-label": `Run ${item.name}`,
    "data-toggle": item.name,
  });
  toggle.addEventListener("change", () => onToggle(item, toggle));
  const when = item.kind === "schedule" ? `${item.cron} (${item.timezone})` : `every ${item.interval_seconds} s`;
  return h("section", { class: "instigator", "data-instigator": item.name },
    h("div", { class: "toolbar" },
      h("label", { class: "switch" }, toggle, h("strong", {}, item.name)),
      statusBadge(item.status), h("span", { class: "muted" }, when),
      item.from_default ? h("span", { class: "muted" }, "(default status)") : null),
    item.description ? h("p", { class: "muted" }, item.description) : null,
    h("dl", { class: "fields" },
      h("dt", {}, "Next tick"), h("dd", { class: "next-tick" }, item.next_tick ? fmtTime(item.next_tick) : "— (stopped)"),
      h("dt", {}, "Cursor"), h("dd", { class: "mono" }, item.cursor ?? "—")),
    item.ticks.length
      ? h("table", { class: "grid ticks" },
        h("thead", {}, h("tr", {}, ["Tick", "Status", "Runs", "Skip reason / error", "Cursor"].map((c) => h("th", {}, c)))),
        h("tbody", {}, item.ticks.map(tickRow)))
      : h("p", { class: "muted" }, "No ticks yet."));
}

function evaluationRow(evaluation) {
  const tree = evaluation.tree
    ? evaluationItem(evaluation, false)
    : h("span", { class: "muted" }, "not evaluated yet");
  return h("tr", {},
    h("td", {}, link(assetPath(evaluation.key), evaluation.key)),
    h("td", {}, fmtTime(evaluation.timestamp)),
    h("td", {}, evaluation.num_requested ?? "-"),
    h("td", {}, tree));
}

function poolRow(pool) {
  const limit = pool.limit === null ? "unlimited" : String(pool.limit);
  return h("tr", { "data-pool": pool.pool },
    h("td", { class: "mono" }, pool.pool),
    h("td", {}, limit + (pool.from_default ? " (default)" : "")),
    h("td", {}, String(pool.in_use)),
    h("td", {}, pool.slots.map((s) => h("div", {}, link(runPath(s.run_id), s.run_id.slice(0, 8), { class: "mono" }), ` ${s.step_key}`))),
    h("td", {}, String(pool.waiting.length)));
}

function table(id, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "muted", id }, empty);
  return h("table", { class: "grid", id }, h("thead", {}, h("tr", {}, headers.map((c) => h("th", {}, c)))), h("tbody", {}, rows));
}

export async function renderAutomation(root) {
  const body = h("div", { id: "automation" });
  const error = h("p", { class: "error" });
  root.append(h("h1", {}, "Automation"), error, body);

  async function onToggle(item, toggle) {
    clear(error);
    toggle.disabled = true;
    try {
      const updated = await post(`/api/automation/${encodeURIComponent(item.name)}/status`, { running: toggle.checked });
      body.querySelector(`section[data-instigator="${CSS.escape(item.name)}"]`).replaceWith(instigatorCard(updated, onToggle));
    } catch (err) {
      toggle.checked = !toggle.checked;
      toggle.disabled = false;
      error.append(err.message);
    }
  }

  async function load() {
    const data = await get("/api/automation");
    const daemon = data.daemon.in_process
      ? (data.daemon.waiting_for ? `Another daemon (${data.daemon.waiting_for}) holds this instance.` : "The daemon runs in this process.")
      : "No daemon in this process: start 'trellis daemon' to tick schedules and sensors.";
    clear(body).append(
      h("p", { class: "muted", id: "daemon-state" }, daemon),
      h("h2", {}, "Schedules"),
      ...(data.schedules.length ? data.schedules.map((i) => instigatorCard(i, onToggle)) : [h("p", { class: "muted" }, "No schedules.")]),
      h("h2", {}, "Sensors"),
      ...(data.sensors.length ? data.sensors.map((i) => instigatorCard(i, onToggle)) : [h("p", { class: "muted" }, "No sensors.")]),
      h("h2", {}, "Declarative automation"),
      table("evaluations", ["Asset", "Evaluated", "Requested", "Evaluation"], data.evaluations.map(evaluationRow), "No asset has an automation condition."),
      h("h2", {}, "Run queue"),
      table("queue", ["Run", "Job", "Queued"], data.queue.map((r) => h("tr", {},
        h("td", {}, link(runPath(r.run_id), r.run_id.slice(0, 8), { class: "mono" })), h("td", {}, r.job_name), h("td", {}, fmtTime(r.create_time)))), "No queued runs."),
      h("h2", {}, "Concurrency pools"),
      table("pools", ["Pool", "Limit", "In use", "Slots", "Waiting"], data.pools.map(poolRow), "No pools in use or limited."));
  }
  // A tick pushed by the server: its row replaced, or added on top of its table.
  function onTick({ name, tick }) {
    const card = body.querySelector(`section[data-instigator="${CSS.escape(name)}"]`);
    if (!card) return;
    const row = tickRow(tick);
    const old = card.querySelector(`tr[data-tick-id="${tick.tick_id}"]`);
    if (old) { old.replaceWith(row); return; }
    let tbody = card.querySelector("table.ticks tbody");
    if (!tbody) {
      tbody = h("tbody");
      const empty = [...card.children].find((el) => el.tagName === "P" && el.textContent === "No ticks yet.");
      const table = h("table", { class: "grid ticks" },
        h("thead", {}, h("tr", {}, ["Tick", "Status", "Runs", "Skip reason / error", "Cursor"].map((c) => h("th", {}, c)))), tbody);
      if (empty) empty.replaceWith(table); else card.append(table);
    }
    tbody.prepend(row);
    while (tbody.children.length > TICKS_SHOWN) tbody.lastElementChild.remove();
    if (tick.cursor !== null && tick.cursor !== undefined) {
      const cursor = card.querySelector("dd.mono");
      if (cursor) cursor.textContent = tick.cursor;
    }
  }
  const reload = () => load().catch((err) => { clear(error).append(err.message); });
  subscribe("tick", onTick);
  subscribe("run", reload);
  subscribe("evaluation", reload);
  await load();
}
