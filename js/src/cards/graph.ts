// Graph (e.g. Graph.from_torch): the nodes laid out in layers, top to bottom (dagre), as rounded
// boxes coloured by class and labelled with name and class; edges with arrowheads. The drawing
// fits the card's width (a tall model graph scrolls); −/+ zoom, ⤢ fits again, a drag pans,
// ctrl + wheel zooms. Hovering (or focusing: tab to the graph, then the arrow keys) a node
// shows its details in a tooltip.

import "../styles/cards/graph.css";
import { h, svg } from "../lib/dom";
import { formatCount } from "../lib/format";
import {
  classColour, edgePath, formatLabel, graphFacts, layoutGraph, parseGraph, shortName, subtitle, tooltipLines,
  tipPlace, type GraphData, type GraphLayout, type PlacedNode,
} from "./graph_model";
import { jsonAt, type CardView } from "./types";

const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.1;
const MAX_SCALE = 4;
let markers = 0; // arrowhead marker ids, unique in the page

/** Layouts by media reply: a card drawn again (a new size, a trait update) lays out once. */
const laidOut = new WeakMap<object, Promise<{ data: GraphData; layout: GraphLayout }>>();

function nodeElement(p: PlacedNode): SVGGElement {
  const colour = classColour(p.node.cls);
  const g = svg("g", {
    class: `wl-graph-node${colour >= 0 ? ` wl-graph-c${colour}` : ""}`,
    "data-id": p.node.id,
    transform: `translate(${(p.x - p.width / 2).toFixed(1)},${(p.y - p.height / 2).toFixed(1)})`,
    tabindex: "-1", // one tab stop per graph: the first node; arrows move between nodes
    role: "img",
    "aria-label": tooltipLines(p.node).join(", "),
  });
  g.append(svg("rect", { width: String(p.width), height: String(p.height), rx: "6", ry: "6" }));
  const sub = subtitle(p.node);
  const name = svg("text", { class: "wl-graph-name", x: String(p.width / 2), y: sub ? "15" : String(p.height / 2 + 4) });
  name.textContent = shortName(p.node.name);
  g.append(name);
  if (sub) {
    const cls = svg("text", { class: "wl-graph-class", x: String(p.width / 2), y: "28" });
    cls.textContent = sub;
    g.append(cls);
  }
  return g;
}

function drawing(layout: GraphLayout): SVGSVGElement {
  const id = `wl-graph-arrow-${++markers}`;
  const root = svg("svg", {
    class: "wl-graph-svg",
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: String(layout.width),
    height: String(layout.height),
  });
  const marker = svg("marker", { id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  marker.append(svg("path", { class: "wl-graph-arrow", d: "M0,0 L10,5 L0,10 z" }));
  const defs = svg("defs");
  defs.append(marker);
  const edges = svg("g", { class: "wl-graph-edges" });
  for (const e of layout.edges) {
    edges.append(svg("path", { class: "wl-graph-edge", d: edgePath(e.points), "marker-end": `url(#${id})`, "data-from": e.from, "data-to": e.to }));
  }
  const nodes = svg("g", { class: "wl-graph-nodes" });
  for (const p of layout.nodes) nodes.append(nodeElement(p));
  root.append(defs, edges, nodes);
  return root;
}

/** Zoom, fit and pan of the drawing inside its scrolling box. */
function viewControls(wrap: HTMLElement, picture: SVGSVGElement, layout: GraphLayout): HTMLElement {
  let scale: number | null = null; // null: fit the box's width (never enlarged)
  const apply = () => {
    const fit = scale === null;
    picture.classList.toggle("is-fit", fit);
    picture.setAttribute("width", String(fit ? layout.width : Math.round(layout.width * scale!)));
    picture.setAttribute("height", String(fit ? layout.height : Math.round(layout.height * scale!)));
  };
  const shown = () => (layout.width ? picture.getBoundingClientRect().width / layout.width : 1);
  const zoom = (factor: number, at?: { x: number; y: number }) => {
    const before = shown();
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, before * factor));
    const box = wrap.getBoundingClientRect();
    const px = at ? at.x - box.left : wrap.clientWidth / 2, py = at ? at.y - box.top : wrap.clientHeight / 2;
    const gx = (wrap.scrollLeft + px) / before, gy = (wrap.scrollTop + py) / before; // drawing point kept in place
    scale = next;
    apply();
    wrap.scrollLeft = gx * next - px;
    wrap.scrollTop = gy * next - py;
  };
  wrap.addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey) return; // a plain wheel scrolls
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, { x: ev.clientX, y: ev.clientY });
  }, { passive: false });
  let drag: { x: number; y: number; left: number; top: number; id: number } | null = null;
  wrap.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, left: wrap.scrollLeft, top: wrap.scrollTop, id: ev.pointerId };
  });
  wrap.addEventListener("pointermove", (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!wrap.classList.contains("is-panning") && Math.hypot(dx, dy) < 4) return;
    if (!wrap.classList.contains("is-panning")) {
      wrap.classList.add("is-panning");
      wrap.setPointerCapture(ev.pointerId);
    }
    wrap.scrollLeft = drag.left - dx;
    wrap.scrollTop = drag.top - dy;
  });
  const stop = () => {
    drag = null;
    wrap.classList.remove("is-panning");
  };
  wrap.addEventListener("pointerup", stop);
  wrap.addEventListener("pointercancel", stop);
  apply();
  const button = (text: string, title: string, act: () => void) =>
    h("button", { class: "wl-btn wl-graph-zoom", text, title, "aria-label": title, onclick: act });
  return h("div", { class: "wl-graph-tools" },
    button("−", "Zoom out (ctrl + wheel)", () => zoom(1 / ZOOM_STEP)),
    button("+", "Zoom in (ctrl + wheel)", () => zoom(ZOOM_STEP)),
    button("fit", "Fit the width of the card", () => { scale = null; apply(); }));
}

/** The tooltip of the node under the pointer or focused: its details, beside the node. */
function hoverDetails(box: HTMLElement, picture: SVGSVGElement, data: GraphData): HTMLElement {
  const tip = h("div", { class: "wl-graph-tip", role: "tooltip", hidden: true });
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const show = (g: Element) => {
    const node = byId.get((g as SVGGElement).dataset.id ?? "");
    if (!node) return;
    const [title, ...rest] = tooltipLines(node);
    tip.replaceChildren(h("div", { class: "wl-graph-tip-title", text: title }),
      ...rest.map((line) => h("div", { text: line })));
    tip.dataset.id = node.id;
    tip.hidden = false;
    const at = g.getBoundingClientRect(), outer = box.getBoundingClientRect();
    const spot = tipPlace(
      { left: at.left - outer.left, top: at.top - outer.top, right: at.right - outer.left, bottom: at.bottom - outer.top },
      { width: tip.offsetWidth, height: tip.offsetHeight }, { width: outer.width, height: outer.height });
    tip.style.left = `${Math.round(spot.left)}px`;
    tip.style.top = `${Math.round(spot.top)}px`;
  };
  const hide = () => { tip.hidden = true; };
  const nodeOf = (t: EventTarget | null) => (t instanceof Element ? t.closest(".wl-graph-node") : null);
  picture.addEventListener("pointerover", (ev) => { const g = nodeOf(ev.target); if (g) show(g); });
  picture.addEventListener("pointerout", (ev) => { if (nodeOf(ev.target) && !nodeOf(ev.relatedTarget)) hide(); });
  picture.addEventListener("focusin", (ev) => { const g = nodeOf(ev.target); if (g) show(g); });
  picture.addEventListener("focusout", hide);
  const all = [...picture.querySelectorAll<SVGGElement>(".wl-graph-node")];
  all[0]?.setAttribute("tabindex", "0");
  picture.addEventListener("keydown", (ev) => {
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[ev.key];
    const g = nodeOf(ev.target);
    if (!step || !g) return;
    ev.preventDefault();
    const next = all[Math.max(0, Math.min(all.length - 1, all.indexOf(g as SVGGElement) + step))];
    g.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  });
  return tip;
}

export const graphView: CardView = (ctx) => {
  const v = (ctx.entry.value ?? {}) as Record<string, unknown>;
  const counts = [formatLabel(typeof v.format === "string" ? v.format : null),
    typeof v.nodes === "number" ? `${formatCount(v.nodes)} nodes` : null,
    typeof v.edges === "number" ? `${formatCount(v.edges)} edges` : null].filter(Boolean).join(" · ");
  const facts = h("div", { class: "wl-graph-facts wl-muted", text: counts });
  const foot = h("div", { class: "wl-graph-foot" }, facts);
  const box = h("div", { class: "wl-graph", "data-state": "loading" });
  const media = ctx.media;
  const url = media?.urls[0];
  if (!media || !url) return [box, foot];
  let work = laidOut.get(media);
  if (!work) {
    work = jsonAt(url).then((content) => {
      const data = parseGraph(content);
      return { data, layout: layoutGraph(data) };
    });
    laidOut.set(media, work);
  }
  work.then(({ data, layout }) => {
    if (!ctx.alive()) return;
    const picture = drawing(layout);
    const wrap = h("div", { class: "wl-graph-wrap" }, picture);
    const tools = viewControls(wrap, picture, layout);
    box.replaceChildren(wrap, hoverDetails(box, picture, data));
    foot.append(tools);
    facts.textContent = graphFacts(data);
    box.dataset.state = "ready";
    box.dataset.nodes = String(data.nodes.length);
  }, (err) => ctx.alive() && ctx.fail(`cannot draw the graph: ${err instanceof Error ? err.message : err}`));
  return [box, foot];
};
