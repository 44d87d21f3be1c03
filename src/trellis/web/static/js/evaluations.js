// Declarative automation evaluations drawn as trees: each condition with whether it was
// true (for a partitioned asset, for how many partitions and which), its label and
// description, its operands below it (expandable). The asset page lists an asset's
// evaluations, newest first, updated when the server pushes new ones.
import { get, subscribe } from "./api.js";
import { clear, fmtTime, h } from "./dom.js";

export function conditionTree(node, depth = 0) {
  const mark = h("span", { class: node.true ? "eval-true" : "eval-false" }, node.true ? "✓ true" : "✗ false");
  const count = node.partitioned
    ? h("span", { class: "muted" }, ` [${node.num_true} of ${node.num_candidates}${node.true_keys ? `: ${node.true_keys}` : ""}]`)
    : null;
  const parts = [mark, " ", h("strong", { class: "eval-title" }, node.title), count,
    node.description ? h("span", { class: "eval-label" }, ` — ${node.description}`) : null];
  if (!node.children.length) return h("div", { class: "eval-node eval-leaf", "data-true": String(node.true) }, parts);
  return h("details", { class: "eval-node", open: depth < 3, "data-true": String(node.true) },
    h("summary", {}, parts), node.children.map((child) => conditionTree(child, depth + 1)));
}

export function evaluationItem(view, open) {
  const requested = view.num_requested
    ? `requested ${view.num_requested}${view.requested_keys ? ` (${view.requested_keys})` : ""}`
    : "requested nothing";
  return h("details", { class: "evaluation", open, "data-evaluation-id": view.evaluation_id },
    h("summary", {}, h("strong", {}, `Evaluation ${view.evaluation_id}`), " at ", fmtTime(view.timestamp), " · ", requested),
    h("div", { class: "eval-tree" }, conditionTree(view.tree)));
}

export function evaluationSection(key) {
  const list = h("div", { id: "evaluations" });
  const more = h("button", { id: "evaluations-more", hidden: true }, "Older evaluations");
  const section = h("section", { id: "automation-evaluations" }, h("h2", {}, "Automation evaluations"), list, more);
  const path = `/api/asset-evaluations/${key.split("/").map(encodeURIComponent).join("/")}`;
  let oldest = null;
  async function load(append) {
    const params = { limit: 10 };
    if (append && oldest !== null) params.before = oldest;
    const body = await get(path, params);
    if (!append) clear(list);
    if (!body.evaluations.length && !append) {
      list.append(h("p", { class: "muted" }, body.has_condition
        ? "Not evaluated yet (an automation sensor evaluates it when it is running)."
        : "No automation condition."));
    }
    body.evaluations.forEach((v, i) => list.append(evaluationItem(v, !append && i === 0)));
    if (body.evaluations.length) oldest = body.evaluations[body.evaluations.length - 1].evaluation_id;
    more.hidden = body.evaluations.length < params.limit;
  }
  more.addEventListener("click", () => load(true));
  subscribe("evaluation", () => load(false));
  load(false);
  return section;
}
