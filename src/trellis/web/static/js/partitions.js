// The partition picker of the launchpad and the asset page: one key (a run), or a range
// (from/to), a list of keys or all of them (a backfill). The keys come from
// /api/partitions; a range whose ends are unknown or out of order is refused here, and
// the server checks everything again (its error names the field).
import { get } from "./api.js";
import { clear, h } from "./dom.js";

const PICKER_SELECT_LIMIT = 5000;  // more keys than this: text inputs with suggestions

export const MODES = { one: "One partition", range: "A range", list: "A list", all: "All partitions" };

// ``modes``: which of MODES to offer (the first is the default). ``onChange`` is called
// whenever the choice changes.
export function partitionPicker(prefix, modes, onChange) {
  const mode = h("select", { id: `${prefix}-partition-mode`, "aria-label": "Partitions" },
    modes.map((m) => h("option", { value: m }, MODES[m])));
  const list = h("datalist", { id: `${prefix}-partition-keys` });
  const one = h("input", { type: "text", id: `${prefix}-partition`, list: list.id, placeholder: "partition key", "aria-label": "Partition" });
  const from = h("select", { id: `${prefix}-from`, "aria-label": "From" });
  const to = h("select", { id: `${prefix}-to`, "aria-label": "To (included)" });
  const fromText = h("input", { type: "text", id: `${prefix}-from-text`, list: list.id, placeholder: "first key", "aria-label": "From" });
  const toText = h("input", { type: "text", id: `${prefix}-to-text`, list: list.id, placeholder: "last key (included)", "aria-label": "To (included)" });
  const keysBox = h("textarea", { id: `${prefix}-partition-list`, rows: 2, cols: 40, placeholder: "keys, separated by commas or lines", "aria-label": "Partition keys" });
  const info = h("span", { class: "muted", id: `${prefix}-partition-info` });
  const problem = h("span", { class: "error", id: `${prefix}-partition-error`, "aria-live": "polite" });
  const root = h("span", { class: "partition-picker", id: `${prefix}-picker`, hidden: true },
    mode, one, h("span", { class: "range" }, from, fromText, " to ", to, toText), keysBox, list, info, " ", problem);
  let keys = [];
  let index = new Map();
  let useSelects = false;
  let asked = 0;

  function sync() {
    const m = mode.value;
    one.hidden = m !== "one";
    from.hidden = to.hidden = !(m === "range" && useSelects);
    fromText.hidden = toText.hidden = !(m === "range" && !useSelects);
    root.querySelector(".range").hidden = m !== "range";
    keysBox.hidden = m !== "list";
    clear(problem).append(check() || "");
    if (onChange) onChange();
  }

  // Load the keys of a job ({job}) or an asset selection ({selection}); an unpartitioned
  // target hides the picker.
  async function load(query) {
    const mine = ++asked;
    let data = { partitioned: false, keys: [] };
    try { if (query.job || query.selection) data = await get("/api/partitions", query); } catch { data = { partitioned: false, keys: [] }; }
    if (mine !== asked) return;
    keys = data.keys; index = new Map(keys.map((k, i) => [k, i]));
    useSelects = !data.truncated && keys.length <= PICKER_SELECT_LIMIT;
    clear(list); clear(from); clear(to);
    if (keys.length <= PICKER_SELECT_LIMIT) for (const k of keys) list.append(h("option", { value: k }));
    if (useSelects) {
      for (const k of keys) { from.append(h("option", { value: k }, k)); to.append(h("option", { value: k }, k)); }
      if (keys.length) to.value = keys[keys.length - 1];
    }
    root.hidden = !data.partitioned;
    clear(info).append(data.partitioned ? `${data.num_keys} partitions (${keys[0] || ""} … ${keys[keys.length - 1] || ""})` : "");
    sync();
  }

  function listed() {
    return keysBox.value.split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
  }

  // What is wrong with the choice, or null (only keys this page knows are checked).
  function check() {
    const known = (k) => !keys.length || index.has(k);
    const m = mode.value;
    if (m === "one") return one.value.trim() && !known(one.value.trim()) ? `'${one.value.trim()}' is not a partition.` : null;
    if (m === "range") {
      const [a, b] = useSelects ? [from.value, to.value] : [fromText.value.trim(), toText.value.trim()];
      if (!a || !b) return "Give both ends of the range.";
      if (!known(a)) return `'${a}' (from) is not a partition.`;
      if (!known(b)) return `'${b}' (to) is not a partition.`;
      if (index.has(a) && index.has(b) && index.get(a) > index.get(b)) return `The range's start '${a}' comes after its end '${b}'.`;
      return null;
    }
    if (m === "list") {
      const chosen = listed();
      if (!chosen.length) return "Give at least one partition key.";
      const unknown = chosen.filter((k) => !known(k));
      return unknown.length ? `Not partitions: ${unknown.slice(0, 5).join(", ")}.` : null;
    }
    return null;
  }

  // The request fields of the choice: {partition} for one key, else the backfill's.
  function value() {
    const m = mode.value;
    if (root.hidden) return {};
    if (m === "one") return one.value.trim() ? { partition: one.value.trim() } : {};
    if (m === "range") return useSelects ? { from: from.value, to: to.value } : { from: fromText.value.trim(), to: toText.value.trim() };
    if (m === "list") return { partition_keys: listed() };
    return { all_partitions: true };
  }

  for (const el of [mode, from, to]) el.addEventListener("change", sync);
  for (const el of [one, fromText, toText, keysBox]) el.addEventListener("input", sync);
  return {
    element: root,
    load,
    value,
    check,
    partitioned: () => !root.hidden,
    isBackfill: () => !root.hidden && mode.value !== "one",
  };
}
