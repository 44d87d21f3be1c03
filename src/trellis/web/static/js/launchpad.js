// The launchpad: a job or an asset selection, run config as YAML (a scaffold of the
// schema's defaults to start from), validated as you type with each error's config
// path, tags, partitions (one key: a run; a range, a list or all: a backfill), and Launch.
import { get, post } from "./api.js";
import { clear, h, runPath } from "./dom.js";
import { go } from "./nav.js";
import { partitionPicker } from "./partitions.js";
import { backfillPath } from "./backfills.js";

export async function renderLaunchpad(root) {
  const ws = await get("/api/workspace");
  const params = new URLSearchParams(location.search);
  const mode = h("select", { id: "launch-mode", "aria-label": "What to run" },
    h("option", { value: "job" }, "A job"), h("option", { value: "selection" }, "An asset selection"));
  const job = h("select", { id: "launch-job", "aria-label": "Job" }, ws.jobs.map((j) => h("option", { value: j.name }, j.name)));
  const selection = h("input", { type: "text", id: "launch-selection", size: 50, placeholder: "key:orders+ or group:sales or *" });
  const config = h("textarea", { id: "launch-config", rows: 16, cols: 80, spellcheck: "false", "aria-label": "Run config (YAML)" });
  const tags = h("textarea", { id: "launch-tags", rows: 3, cols: 40, placeholder: "team=data (one KEY=VALUE per line)", "aria-label": "Tags" });
  const plan = h("span", { class: "muted", id: "launch-backfill-plan" });
  const partition = partitionPicker("launch", ["one", "range", "list", "all"], () => { syncButton(); later(); });
  const errors = h("div", { id: "launch-errors", "aria-live": "polite" });
  const launch = h("button", { id: "launch-button", class: "primary" }, "Launch run");
  const scaffoldButton = h("button", { id: "scaffold-button" }, "Scaffold config");

  if (params.get("selection")) { mode.value = "selection"; selection.value = params.get("selection"); }
  else if (params.get("job")) job.value = params.get("job");

  function request() {
    const body = { config_yaml: config.value };
    if (mode.value === "job") body.job = job.value; else body.selection = selection.value;
    const parsed = {};
    for (const line of tags.value.split("\n")) {
      const i = line.indexOf("=");
      if (line.trim() && i > 0) parsed[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    body.tags = parsed;
    return { ...body, ...partition.value() };
  }
  function showErrors(err) {
    clear(errors);
    if (!err) return;
    const body = err.body || {};
    errors.append(h("p", { class: "error" }, body.message || err.message));
    if (body.errors && body.errors.length) {
      errors.append(h("ul", { class: "config-errors" }, body.errors.map((e) =>
        h("li", {}, h("code", { class: "config-path" }, e.path), " ", e.message))));
    }
  }
  let checked = 0;
  async function validate() {
    const mine = ++checked;  // only the answer to the latest check is shown
    clear(plan);
    if (partition.isBackfill()) {  // a backfill: its plan, or what is wrong with it
      const problem = partition.check();
      if (problem) { showErrors({ message: problem }); return; }
      try {
        const { config_yaml, ...body } = request();
        const found = await post("/api/backfills/preview", body);
        if (mine !== checked) return;
        showErrors(null);
        plan.append(`A backfill of ${found.num_partitions} partition(s) in ${found.num_runs} run(s) (${found.policy}); its runs use the assets' default config.`);
      } catch (err) { if (mine === checked) showErrors(err); }
      return;
    }
    try { await post("/api/launch/validate", request()); if (mine === checked) showErrors(null); }
    catch (err) { if (mine === checked) showErrors(err); }
  }
  function syncButton() {
    launch.textContent = partition.isBackfill() ? "Launch backfill" : "Launch run";
  }
  // Each scaffold request has a number: an answer that comes back after the user picked
  // something else is dropped.
  let asked = 0;
  async function scaffold() {
    const mine = ++asked;
    const q = mode.value === "job" ? { job: job.value } : { selection: selection.value };
    if (!q.job && !q.selection) return;
    partition.load(q);
    try {
      const { yaml } = await get("/api/scaffold", q);
      if (mine !== asked) return;
      config.value = yaml; showErrors(null); validate();
    } catch (err) { if (mine === asked) showErrors(err); }
  }
  function sync() {
    job.hidden = mode.value !== "job";
    selection.hidden = mode.value !== "selection";
  }
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(validate, 300); };
  for (const el of [config, tags, selection]) el.addEventListener("input", later);
  mode.addEventListener("change", () => { config.value = ""; showErrors(null); sync(); scaffold(); });
  job.addEventListener("change", scaffold);
  selection.addEventListener("change", scaffold);
  scaffoldButton.addEventListener("click", scaffold);
  launch.addEventListener("click", async () => {
    launch.disabled = true;
    try {
      if (partition.isBackfill()) {
        const problem = partition.check();
        if (problem) throw new Error(problem);
        const { config_yaml, ...body } = request();
        const made = await post("/api/backfills", body);
        go(backfillPath(made.backfill_id));
        return;
      }
      const { run_id } = await post("/api/launch", request());
      go(runPath(run_id));
    } catch (err) { showErrors(err); }
    finally { launch.disabled = false; }
  });
  root.append(h("h1", {}, "Launchpad"),
    h("div", { class: "toolbar" }, mode, job, selection, scaffoldButton),
    h("label", { class: "block" }, "Run config (YAML)", config),
    h("div", { class: "toolbar" }, h("label", {}, "Tags ", tags), partition.element),
    errors, plan, h("div", {}, launch));
  sync();
  await scaffold();
}
