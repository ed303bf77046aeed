// The sample detail view's DOM: the input large (with mask and boxes), label and prediction
// with class names, the top-k probabilities, one history plot per signal with evaluation
// markers, the tags (editable), previous / next. Used by the grid (an overlay) and by the
// `wl.show_sample` panel (js/src/sample.ts). Styles: js/src/styles/detail.css.

import { h, svg } from "./dom";
import { classText, percent, plotPoints, stepDomain, valueDomain, xOf, yOf, type Detail, type PlotBox, type SignalHistory } from "./detail";
import { formatCount, formatNumber, formatTick } from "./format";

export interface DetailHandlers {
  /** Run a grid action on this sample: add_tag, remove_tag, set_categorical, clear_categorical, discard, restore. */
  act(action: string, fields?: Record<string, unknown>): void;
  prev?: (() => void) | null; // null: no previous sample (the button is disabled)
  next?: (() => void) | null;
  close?: () => void;
  /** "12 of 1,797": where the sample sits in the order prev/next walk. */
  position?: string;
}

const PLOT: PlotBox = { width: 420, height: 110, left: 52, right: 10, top: 8, bottom: 20 };
const MAX_DOTS = 300; // more points: a line only

/** Object URLs made for a view; revoke them when the view goes. */
export class UrlBag {
  private urls: string[] = [];
  make(bytes: Uint8Array, type = "image/png"): string {
    const u = URL.createObjectURL(new Blob([bytes.slice()], { type }));
    this.urls.push(u);
    return u;
  }
  revoke(): void {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }
}

function inputEl(d: Detail, urls: UrlBag): HTMLElement {
  const v = d.input;
  if (v.kind === "image") {
    const layers: (Node | null)[] = [
      h("img", { class: "wl-detail-image", src: urls.make(v.png), alt: `sample ${d.sampleId}`, draggable: false }),
      v.mask ? h("img", { class: "wl-detail-mask", src: urls.make(v.mask), alt: "mask", draggable: false }) : null,
    ];
    if (v.boxes.length) {
      const s = svg("svg", { class: "wl-detail-boxes", viewBox: "0 0 1 1", preserveAspectRatio: "none" });
      for (const b of v.boxes) {
        const r = svg("rect", {
          x: String(b.x0), y: String(b.y0), width: String(Math.max(0, b.x1 - b.x0)), height: String(Math.max(0, b.y1 - b.y0)),
          "vector-effect": "non-scaling-stroke",
        });
        if (b.label !== null) r.append(Object.assign(svg("title"), { textContent: `class ${b.label}` }));
        s.append(r);
      }
      layers.push(s);
    }
    const size = v.width && v.height ? `${v.width}×${v.height}` : "";
    return h("figure", { class: "wl-detail-input", "data-kind": "image", "data-boxes": String(v.boxes.length), "data-mask": String(v.mask !== null) },
      h("div", { class: "wl-detail-stack" }, ...layers),
      h("figcaption", { class: "wl-muted", text: [size, v.mask ? "mask" : "", v.boxes.length ? `${v.boxes.length} boxes` : ""].filter(Boolean).join(" · ") }));
  }
  if (v.kind === "vector") {
    const hist: SignalHistory = { signal: "values", steps: Float64Array.from(v.values, (_, i) => i), values: v.values };
    return h("figure", { class: "wl-detail-input", "data-kind": "vector" },
      plot(hist, [0, Math.max(1, v.values.length - 1)], [], "index"),
      h("figcaption", { class: "wl-muted", text: `a vector of ${formatCount(v.length)} values${v.length > v.values.length ? ` (first ${formatCount(v.values.length)} shown)` : ""}` }));
  }
  if (v.kind === "text") return h("figure", { class: "wl-detail-input", "data-kind": "text" }, h("pre", { class: "wl-detail-text", text: v.text }));
  return h("figure", { class: "wl-detail-input", "data-kind": "none" }, h("div", { class: "wl-muted", text: `no input to show: ${v.error}` }));
}

/** One signal's history: a line (dots when few), evaluation markers, min/max and step labels. */
function plot(hist: SignalHistory, xs: [number, number], markers: readonly number[], xTitle = "step"): SVGSVGElement {
  const ys = valueDomain(hist.values) ?? [0, 1];
  const pts = plotPoints(hist, xs, ys, PLOT);
  const s = svg("svg", {
    class: "wl-detail-plot", viewBox: `0 0 ${PLOT.width} ${PLOT.height}`, width: String(PLOT.width), height: String(PLOT.height),
    "data-signal": hist.signal, "data-points": String(pts.length), role: "img",
    "aria-label": `${hist.signal}: ${pts.length} points`,
  });
  const bottom = PLOT.height - PLOT.bottom;
  s.append(svg("rect", { class: "wl-detail-plot-frame", x: String(PLOT.left), y: String(PLOT.top),
    width: String(PLOT.width - PLOT.left - PLOT.right), height: String(bottom - PLOT.top) }));
  for (const m of markers) {
    if (m < xs[0] || m > xs[1]) continue;
    const x = String(xOf(m, xs, PLOT));
    const line = svg("line", { class: "wl-detail-marker", x1: x, x2: x, y1: String(PLOT.top), y2: String(bottom) });
    line.append(Object.assign(svg("title"), { textContent: `evaluation at step ${formatCount(m)}` }));
    s.append(line);
  }
  if (pts.length > 1) s.append(svg("polyline", { class: "wl-detail-line", points: pts.map((p) => p.join(",")).join(" ") }));
  if (pts.length <= MAX_DOTS) {
    pts.forEach(([x, y], i) => {
      const c = svg("circle", { class: "wl-detail-dot", cx: String(x), cy: String(y), r: "2.2" });
      c.append(Object.assign(svg("title"), { textContent: `${xTitle} ${formatCount(hist.steps[i])}: ${formatNumber(hist.values[i])}` }));
      s.append(c);
    });
  }
  const text = (x: number, y: number, t: string, anchor: string, cls = "wl-detail-tick") => {
    const e = svg("text", { class: cls, x: String(x), y: String(y), "text-anchor": anchor });
    e.textContent = t;
    s.append(e);
  };
  text(PLOT.left - 4, PLOT.top + 8, formatTick(ys[1]), "end");
  text(PLOT.left - 4, bottom, formatTick(ys[0]), "end");
  text(PLOT.left, PLOT.height - 5, `${xTitle} ${formatCount(Math.round(xs[0]))}`, "start");
  text(PLOT.width - PLOT.right, PLOT.height - 5, formatCount(Math.round(xs[1])), "end");
  return s;
}

function historyEl(d: Detail): HTMLElement {
  const box = h("div", { class: "wl-detail-history", "data-signals": String(d.history.length) });
  const xs = stepDomain(d.history, d.markers);
  if (!xs) {
    box.append(h("div", { class: "wl-muted", text: "no per-sample history recorded for this sample yet" }));
    return box;
  }
  for (const hist of d.history) {
    const n = hist.values.length;
    const last = n ? hist.values[n - 1] : null;
    box.append(h("div", { class: "wl-detail-signal", "data-signal": hist.signal },
      h("div", { class: "wl-detail-signal-title" },
        h("span", { class: "wl-detail-signal-name", text: hist.signal }),
        h("span", { class: "wl-muted", text: ` ${formatCount(n)} point${n === 1 ? "" : "s"} · latest ${formatNumber(last)}` })),
      plot(hist, xs, d.markers)));
  }
  const notes = [
    d.markers.length ? `│ evaluation (${d.markers.length})` : "",
    d.thinned ? "long histories thinned to 5,000 points" : "",
  ].filter(Boolean).join(" · ");
  if (notes) box.append(h("div", { class: "wl-detail-legend wl-muted", text: notes }));
  return box;
}

function tagsEl(d: Detail, on: DetailHandlers): HTMLElement {
  const chips = d.tags.map((t) =>
    h("span", { class: "wl-detail-chip", "data-tag": t }, t,
      h("button", { class: "wl-detail-chip-remove", title: `remove '${t}'`, text: "×", onclick: () => on.act("remove_tag", { tag: t }) })));
  const free = d.tagNames.filter((t) => !d.tags.includes(t));
  const addSel = h("select", { class: "wl-detail-add-tag", title: "Add a tag" },
    h("option", { value: "", text: free.length ? "+ tag…" : "(no other tags)" }),
    ...free.map((t) => h("option", { value: t, text: t })));
  addSel.addEventListener("change", () => { if (addSel.value) on.act("add_tag", { tag: addSel.value }); });
  const newTag = h("input", { type: "text", class: "wl-detail-new-tag", placeholder: "new tag ⏎", size: 10 });
  newTag.addEventListener("keydown", (e) => {
    const t = newTag.value.trim();
    if (e.key === "Enter" && t) on.act("add_tag", { tag: t, create: true });
  });
  const cats = Object.entries(d.categoricalValues).map(([name, values]) => {
    const sel = h("select", { class: "wl-detail-cat", "data-tag": name, title: `categorical tag ${name}` },
      h("option", { value: "", text: "–" }), ...values.map((v) => h("option", { value: v, text: v })));
    sel.value = d.categorical[name] ?? "";
    sel.addEventListener("change", () =>
      sel.value ? on.act("set_categorical", { tag: name, value: sel.value }) : on.act("clear_categorical", { tag: name }));
    return h("label", { class: "wl-detail-cat-label" }, `${name} `, sel);
  });
  const toggle = h("button", {
    class: "wl-btn wl-detail-discard", text: d.discarded ? "restore" : "discard",
    title: d.discarded ? "Train on this sample again" : "Skip this sample from the next batch on",
    onclick: () => on.act(d.discarded ? "restore" : "discard"),
  });
  return h("div", { class: "wl-detail-tags" },
    h("div", { class: "wl-detail-chips" }, ...chips, addSel, newTag), cats.length ? h("div", { class: "wl-row" }, ...cats) : null, toggle);
}

function labelsEl(d: Detail): HTMLElement {
  const wrong = d.target !== null && d.prediction !== null && d.target !== d.prediction;
  const rows: (HTMLElement | null)[] = [
    h("div", { class: "wl-detail-field" }, h("span", { class: "wl-muted", text: "label " }),
      h("span", { class: "wl-detail-target", text: classText(d.target, d.targetName) })),
    h("div", { class: "wl-detail-field" }, h("span", { class: "wl-muted", text: "prediction " }),
      h("span", { class: `wl-detail-prediction${wrong ? " wl-grid-mismatch" : ""}`, text: classText(d.prediction, d.predictionName) })),
  ];
  if (d.top && d.top.classes.length) {
    rows.push(h("table", { class: "wl-detail-top", title: `latest softmax of ${d.top.signal}'s logits` },
      h("caption", { class: "wl-muted", text: `top ${d.top.classes.length} (latest logits)` }),
      ...d.top.classes.map((c) => h("tr", { class: c.cls === d.target ? "is-label" : "" },
        h("td", { class: "wl-detail-top-class", text: classText(c.cls, c.name) }),
        h("td", { class: "wl-detail-top-bar" }, h("span", { style: `width:${Math.max(1, Math.round(c.prob * 100))}%` })),
        h("td", { class: "wl-detail-top-prob", text: percent(c.prob) })))));
  }
  return h("div", { class: "wl-detail-labels" }, ...rows);
}

/** The detail view of `d`; image URLs go to `urls` (revoke them when it is replaced). */
export function renderDetail(d: Detail, urls: UrlBag, on: DetailHandlers): HTMLElement {
  const btn = (cls: string, text: string, title: string, fn: (() => void) | null | undefined) =>
    h("button", { class: `wl-btn ${cls}`, text, title, disabled: !fn, onclick: fn ? () => fn() : undefined });
  return h("div", {
    class: "wl-detail", "data-sample-id": String(d.sampleId), "data-origin": d.origin, "data-ref": JSON.stringify(d.ref),
    "data-discarded": String(d.discarded),
  },
    h("div", { class: "wl-row wl-detail-header" },
      h("span", { class: "wl-title wl-detail-title", text: `sample #${d.sampleId} (${d.origin})${d.discarded ? " — discarded" : ""}` }),
      btn("wl-detail-prev", "‹ prev", "Previous sample in the grid's order", on.prev),
      btn("wl-detail-next", "next ›", "Next sample in the grid's order", on.next),
      on.position ? h("span", { class: "wl-muted wl-detail-position", text: on.position }) : null,
      on.close ? btn("wl-detail-close", "×", "Close (Esc)", on.close) : null),
    h("div", { class: "wl-detail-body" },
      h("div", { class: "wl-detail-left" }, inputEl(d, urls), labelsEl(d), tagsEl(d, on)),
      historyEl(d)));
}
