// JSONMetadata: the file's content as a tree of <details> (objects and arrays fold; the first
// two levels open), with at most MAX_CHILDREN children listed per node.

import "../styles/cards/json.css";
import { h } from "../lib/dom";
import { formatCount } from "../lib/format";
import { jsonAt, type CardView } from "./types";

const MAX_CHILDREN = 200;
const OPEN_DEPTH = 2;

function leaf(value: unknown): HTMLElement {
  const type = value === null ? "null" : typeof value;
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return h("span", { class: `wl-json-value wl-json-${type}`, text });
}

/** One node of the tree: a leaf, or a folding object/array. */
export function jsonTree(value: unknown, name: string | null, depth = 0): HTMLElement {
  const label = name === null ? null : h("span", { class: "wl-json-key", text: `${name}: ` });
  if (value === null || typeof value !== "object") {
    return h("div", { class: "wl-json-row" }, label, leaf(value));
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const open = Array.isArray(value) ? "[" : "{";
  const size = Array.isArray(value) ? `${formatCount(entries.length)} items` : `${formatCount(entries.length)} keys`;
  const node = h("details", { class: "wl-json-node" },
    h("summary", { class: "wl-json-row" }, label, h("span", { class: "wl-muted", text: `${open} ${size}` })));
  if (depth < OPEN_DEPTH) node.open = true;
  for (const [k, v] of entries.slice(0, MAX_CHILDREN)) node.append(jsonTree(v, k, depth + 1));
  if (entries.length > MAX_CHILDREN) {
    node.append(h("div", { class: "wl-json-row wl-muted", text: `… ${formatCount(entries.length - MAX_CHILDREN)} more` }));
  }
  return node;
}

export const jsonView: CardView = (ctx) => {
  const box = h("div", { class: "wl-json", "data-state": "loading" });
  const url = ctx.media?.urls[0];
  if (!url) return [box];
  jsonAt(url).then((content) => {
    if (!ctx.alive()) return;
    box.replaceChildren(jsonTree(content, null));
    box.dataset.state = "ready";
  }, (err) => ctx.alive() && ctx.fail(`cannot read the JSON: ${err}`));
  return [box];
};
