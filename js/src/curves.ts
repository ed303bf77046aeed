// LossCurves view: every global signal as a per-step mean line with its min/max band, drawn by
// uPlot. Python sends only new points; see weightslab_nb/panels/curves.py for the protocol. The
// data model stays ours (lib/series.ts: bucketed live copies); uPlot only draws what
// lib/chartdata.ts lays out. A drag on x zooms (Python sends the finer series of that step
// range), a double-click resets. A click picks the nearest point of the nearest curve and sends
// `step_click`: that step's batch becomes the session's highlight (a vertical line here).
// Evaluation markers (glyphs at (step, mean)) and hyperparameter changes (thin vertical lines)
// are drawn in uPlot's draw hook; hovering one shows its readout. "compare" overlays the mean
// lines of an earlier experiment or run, dashed.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./lib/base.css";
import "./styles/curves.css";
import { buildChart, type ChartData, type CurvePart } from "./lib/chartdata";
import { h, setOptions } from "./lib/dom";
import type { Rows } from "./lib/downsample";
import { formatCount, formatNumber, formatTicks } from "./lib/format";
import { FrameTimes } from "./lib/frames";
import { hpChangesAt, hpReadout, parseHpChanges, placedHpChanges, type HpChange } from "./lib/hpmarkers";
import type { AnyModel, Buffer, Message, RenderProps } from "./lib/model";
import { Channel, cssVar, errorBar } from "./lib/panel";
import { PALETTE_LIGHT, paletteFor } from "./lib/contrast";
import {
  appendMarkers, countBySignal, drawableMarkers, glyphOf, glyphPoints, markerReadout, nearestMarker,
  parseMarkers, type Glyph, type Marker,
} from "./lib/markers";
import { pickPoint, type PickSeries, type PlotFrame } from "./lib/pick";
import { curveRange, extent, nearestIndex, pad, type CurveRows } from "./lib/scale";
import { Series, type PointsHeader } from "./lib/series";
import { decodeArrays, type ArrayMeta } from "./lib/wire";
import { Throttle } from "./lib/query";
import { selectionSteps, Zoom } from "./lib/zoom";

const MARKER_RADIUS = 6;
const SVG = "http://www.w3.org/2000/svg";

type Curves = Map<string, Rows>;

/** A small inline SVG of a marker glyph (for the legend). */
function glyphIcon(glyph: Glyph, color: string, cls: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("width", "12");
  svg.setAttribute("height", "12");
  svg.setAttribute("viewBox", "0 0 12 12");
  const pts = glyphPoints(glyph, 6, 6, 5);
  const shape = pts === null ? document.createElementNS(SVG, "circle") : document.createElementNS(SVG, "polygon");
  if (pts === null) {
    shape.setAttribute("cx", "6"); shape.setAttribute("cy", "6"); shape.setAttribute("r", "4");
  } else {
    shape.setAttribute("points", pts.map(([x, y]) => `${x},${y}`).join(" "));
  }
  shape.setAttribute("fill", color);
  svg.appendChild(shape);
  return svg;
}

/** The curves of a snapshot-shaped message (`series` entries with their buffers). */
function curvesOf(msg: Message, buffers: Buffer[]): Curves {
  const out: Curves = new Map();
  let at = 0;
  for (const entry of (msg.series ?? []) as any[]) {
    const metas = entry.arrays as ArrayMeta[];
    const a = decodeArrays(metas, buffers.slice(at, at + metas.length));
    at += metas.length;
    const n = a.step.length;
    out.set(String(entry.signal), {
      step: a.step, mean: a.mean, min: a.min ?? a.mean, max: a.max ?? a.mean,
      weight: a.weight ?? new Float64Array(n).fill(1), meanWeight: a.mean_weight,
    });
  }
  return out;
}

/** "#rrggbb" (or any CSS colour uPlot accepts) with an alpha, for the band's fill. */
function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const v = parseInt(m[1], 16);
  return `rgba(${v >> 16},${(v >> 8) & 255},${v & 255},${alpha})`;
}

function render({ model, el }: RenderProps) {
  const series = new Map<string, Series>();
  const colors = new Map<string, number>(); // signal -> palette index
  let palette = PALETTE_LIGHT; // follows the theme's background at each draw
  const hidden = new Set<string>();
  const markers: Marker[] = [];
  const hpChanges: HpChange[] = [];
  const zoom = new Zoom<Curves>();
  const overlays = new Map<string, { label: string; curves: Curves }>();
  const frames = new FrameTimes();
  let synced = false;
  let plotU: uPlot | null = null;
  let structure = "";
  let chart: ChartData | null = null;
  let parts: CurvePart[] = [];
  let shownMarkers: Marker[] = [];
  let shownHp: HpChange[] = [];
  let frameStart: number | null = null;

  const errors = errorBar(model);
  const logBox = h("input", { type: "checkbox", class: "wl-curves-log" });
  const bandBox = h("input", { type: "checkbox", class: "wl-curves-band", checked: true });
  const fitBandBox = h("input", { type: "checkbox", class: "wl-curves-fit-band" });
  const smoothing = h("input", { type: "range", class: "wl-curves-smoothing", min: "0", max: "0.99", step: "0.01", value: "0" });
  const smoothingValue = h("span", { class: "wl-curves-smoothing-value wl-muted", text: "0" });
  const compare = h("select", { class: "wl-curves-compare", title: "Overlay the mean lines of an earlier experiment of this run, or of another run beside it (dashed)" });
  const resetZoom = h("button", { class: "wl-btn wl-curves-reset-zoom", text: "reset zoom", hidden: true, title: "Show every step again (or double-click the plot)" });
  const rangeToGrid = h("button", { class: "wl-btn wl-curves-range-grid", text: "these steps in the grid", hidden: true,
    title: "Show the samples of the training batches of the zoomed steps in the sample grid" });
  const status = h("span", { class: "wl-curves-status wl-muted" });
  const highlightText = h("span", { class: "wl-curves-highlight-text" });
  const highlightClear = h("button", { class: "wl-btn wl-curves-highlight-clear", text: "×", title: "Clear the step highlight" });
  const highlightChip = h("span", { class: "wl-curves-highlight", hidden: true }, highlightText, highlightClear);
  const chartEl = h("div", { class: "wl-curves-chart" });
  const readout = h("div", { class: "wl-curves-readout" });
  const empty = h("div", { class: "wl-curves-empty", text: "No curves yet: they appear when training records a signal." });
  const plot = h("div", { class: "wl-curves-plot", title: "Drag across to zoom into steps; double-click to show them all; click a point to highlight its batch" }, chartEl, readout, empty);
  const legend = h("div", { class: "wl-curves-legend" });
  const markersBox = h("input", { type: "checkbox", class: "wl-curves-markers-toggle", checked: true });
  const markersText = h("span", { class: "wl-curves-markers-text" });
  const markersItem = h("label", { class: "wl-curves-legend-markers", "data-markers": "0", hidden: true,
    title: "Evaluation markers: one glyph per evaluation and signal at (step, mean); hover one for its marker hash" },
  markersBox, glyphIcon("diamond", "currentColor", "wl-curves-legend-glyph"), markersText);
  const hpBox = h("input", { type: "checkbox", class: "wl-curves-hp-toggle", checked: true });
  const hpText = h("span", { class: "wl-curves-hp-text" });
  const hpItem = h("label", { class: "wl-curves-legend-hp", "data-changes": "0", hidden: true,
    title: "Hyperparameter changes: a thin vertical line at the first step run with the new value; hover one for the change" },
  hpBox, h("span", { class: "wl-curves-hp-swatch" }), hpText);
  const root = h("div", { class: "wl-panel wl-curves", "data-points": "0", "data-markers": "0", "data-zoomed": "false" },
    errors.el,
    h("div", { class: "wl-row wl-curves-toolbar" },
      h("span", { class: "wl-title", text: "Curves" }),
      h("label", {}, logBox, " log scale"),
      h("label", {}, bandBox, " min/max band"),
      h("label", { title: "Fit the y-range to the whole min/max band (by default the mean lines and the band's 1st-99th percentile)" },
        fitBandBox, " fit band"),
      h("label", {}, "smoothing ", smoothing, " ", smoothingValue),
      compare,
      resetZoom, rangeToGrid,
      highlightChip,
      status),
    plot, legend);
  el.appendChild(root);
  setOptions(compare, [["", "compare with…"]]);

  // ------------------------------------------------------------------ data
  const bound = () => Math.max(16, Number(model.get("max_points")) || 4000);
  const resync = new Throttle(1000);
  const requestSync = () => resync.call(() => channel.send("sync"));

  /** The glyph of a signal's markers (its index among the coloured signals). */
  function glyphFor(name: string): Glyph {
    colorOf(name);
    return glyphOf([...colors.keys()].indexOf(name));
  }

  function colorOf(name: string): string {
    let i = colors.get(name);
    if (i === undefined) {
      i = colors.size;
      colors.set(name, i);
    }
    return palette[i % palette.length];
  }

  /** Take the palette that reads on the theme's background; recolour the legend if it changed. */
  function followTheme(): void {
    const next = paletteFor(cssVar(root, "--jp-layout-color1", "#fff"));
    if (next === palette) return;
    palette = next;
    for (const item of root.querySelectorAll<HTMLElement>(".wl-curves-legend-item")) {
      const color = colorOf(item.dataset.signal ?? "");
      item.querySelector<HTMLElement>(".wl-curves-swatch")!.style.background = color;
      item.querySelector(".wl-curves-legend-glyph *")?.setAttribute("fill", color);
    }
  }

  function applyPoints(h0: PointsHeader, metas: ArrayMeta[], buffers: Buffer[]): void {
    let s = series.get(h0.signal);
    if (!s) {
      s = new Series(h0.signal, bound());
      series.set(h0.signal, s);
      colorOf(h0.signal);
    }
    if (h0.reset) s.target = bound();
    const result = s.apply(h0, decodeArrays(metas, buffers));
    if (result === "gap") requestSync();
  }

  function onMessage(msg: Message, buffers: Buffer[]): void {
    try {
      if (msg.type === "snapshot") {
        series.clear();
        let at = 0;
        for (const entry of msg.series as any[]) {
          const metas = entry.arrays as ArrayMeta[];
          applyPoints({ ...entry, reset: true }, metas, buffers.slice(at, at + metas.length));
          at += metas.length;
        }
        markers.length = 0;
        markers.push(...parseMarkers(msg.markers));
        hpChanges.length = 0;
        hpChanges.push(...parseHpChanges(msg.hp_markers));
        synced = true;
      } else if (msg.type === "points") {
        if (!synced) return; // the snapshot that is on its way covers these points
        applyPoints(msg as unknown as PointsHeader, msg.arrays, buffers);
      } else if (msg.type === "markers") {
        if (!synced) return;
        if (appendMarkers(markers, Number(msg.start), parseMarkers(msg.markers)) === "gap") requestSync();
      } else if (msg.type === "hp_markers") {
        if (!synced) return;
        if (Number(msg.start) !== hpChanges.length) requestSync();
        else hpChanges.push(...parseHpChanges(msg.markers));
      } else {
        return;
      }
      updateLegend();
      schedule();
    } catch (err) {
      status.textContent = `could not read curve data: ${(err as Error).message}`;
    }
  }

  const channel = new Channel(model, onMessage);

  /** The session's step highlight (the `highlight` trait), or null. */
  function highlightOf(): { step: number; stepEnd: number | null; count: number; signal: string; label: string } | null {
    const hl = model.get("highlight") ?? {};
    const source = hl.source ?? "step"; // other highlights (a confusion cell) have no step
    if ((source !== "step" && source !== "steps") || typeof hl.step !== "number") return null;
    const stepEnd = source === "steps" && typeof hl.step_end === "number" ? hl.step_end : null;
    return { step: hl.step, stepEnd, count: Number(hl.count) || 0, signal: String(hl.signal ?? ""),
      label: typeof hl.label === "string" && hl.label ? hl.label : `step ${formatCount(hl.step)}` };
  }

  // ------------------------------------------------------------------ zoom and compare
  function zoomTo(range: [number, number]): void {
    const req = channel.request("range", { lo: range[0], hi: range[1] }, (reply, buffers) => {
      if (!reply.ok) {
        status.textContent = String(reply.message ?? "zoom failed");
        return;
      }
      if (zoom.accept(reply.req, curvesOf(reply, buffers))) schedule();
    });
    zoom.start(range, req);
    resetZoom.hidden = false;
    rangeToGrid.hidden = false;
    schedule();
  }

  function unzoom(): void {
    if (!zoom.active) return;
    zoom.reset();
    resetZoom.hidden = true;
    rangeToGrid.hidden = true;
    schedule();
  }

  function refreshChoices(): void {
    channel.request("runs", {}, (reply) => {
      if (!reply.ok) return;
      const choices = (reply.choices as any[]) ?? [];
      const options: [string, string][] = [["", choices.length ? "compare with…" : "compare: no other experiment or run"]];
      for (const c of choices) {
        if (!overlays.has(String(c.id))) options.push([String(c.id), String(c.label)]);
      }
      setOptions(compare, options, false);
      compare.dataset.choices = String(choices.length);
    });
  }

  compare.addEventListener("mousedown", refreshChoices);
  compare.addEventListener("focus", refreshChoices);
  compare.addEventListener("change", () => {
    const id = compare.value;
    compare.value = "";
    if (!id) return;
    status.textContent = "reading…";
    channel.request("compare", { run: id }, (reply, buffers) => {
      if (!reply.ok) {
        status.textContent = String(reply.message ?? "compare failed");
        return;
      }
      overlays.set(id, { label: String(reply.label ?? id), curves: curvesOf(reply, buffers) });
      updateLegend();
      schedule();
    });
  });

  // ------------------------------------------------------------------ legend
  function updateLegend(): void {
    followTheme();
    let total = 0;
    const items: HTMLElement[] = [];
    const perSignal = countBySignal(markers);
    const names = [...series.keys(), ...[...perSignal.keys()].filter((n) => !series.has(n))];
    for (const name of names) {
      const s = series.get(name);
      const covered = s ? s.covered : 0;
      const evals = perSignal.get(name) ?? 0;
      total += covered;
      let item = legend.querySelector<HTMLElement>(`.wl-curves-legend-item[data-signal="${CSS.escape(name)}"]`);
      if (!item) {
        const box = h("input", { type: "checkbox", checked: !hidden.has(name) });
        box.addEventListener("change", () => {
          if (box.checked) hidden.delete(name);
          else hidden.add(name);
          item!.classList.toggle("is-hidden", !box.checked);
          schedule();
        });
        item = h("label", { class: "wl-curves-legend-item", "data-signal": name, title: name },
          box,
          h("span", { class: "wl-curves-swatch", style: `background:${colorOf(name)}` }),
          h("span", { class: "wl-curves-name", text: name }),
          h("span", { class: "wl-curves-last" }),
          h("span", { class: "wl-curves-count" }));
      }
      item.dataset.points = String(covered);
      item.dataset.rows = String(s ? s.length : 0); // rows held: buckets + the last point
      item.dataset.width = String(s ? s.width : 1); // bucket width in steps
      item.dataset.markers = String(evals);
      const glyph = item.querySelector(".wl-curves-legend-glyph");
      if (evals > 0 && !glyph) {
        item.querySelector(".wl-curves-swatch")!.after(glyphIcon(glyphFor(name), colorOf(name), "wl-curves-legend-glyph"));
      }
      const last = s?.last();
      item.querySelector(".wl-curves-last")!.textContent = last ? formatNumber(last.mean) : "";
      const evalText = evals > 0 ? ` · ${formatCount(evals)} eval${evals === 1 ? "" : "s"}` : "";
      item.querySelector(".wl-curves-count")!.textContent = `(${formatCount(covered)} pts${evalText})`;
      items.push(item);
    }
    for (const [id, o] of overlays) {
      let item = legend.querySelector<HTMLElement>(`.wl-curves-legend-overlay[data-run="${CSS.escape(id)}"]`);
      if (!item) {
        const remove = h("button", { class: "wl-btn wl-curves-overlay-remove", text: "×", title: "Stop comparing with this one" });
        remove.addEventListener("click", (e) => {
          e.preventDefault();
          overlays.delete(id);
          updateLegend();
          schedule();
        });
        item = h("span", { class: "wl-curves-legend-overlay", "data-run": id, title: `${o.label}: its mean lines, dashed, in each signal's colour` },
          h("span", { class: "wl-curves-dash-swatch" }),
          h("span", { class: "wl-curves-overlay-name", text: o.label }),
          h("span", { class: "wl-curves-count", text: `(${[...o.curves.keys()].join(", ") || "no curves"})` }),
          remove);
      }
      item.dataset.signals = String(o.curves.size);
      items.push(item);
    }
    const placed = placedHpChanges(hpChanges);
    hpItem.hidden = placed.length === 0;
    hpItem.dataset.changes = String(placed.length);
    hpText.textContent = `hyperparameter changes (${formatCount(placed.length)})`;
    markersItem.hidden = markers.length === 0;
    markersItem.dataset.markers = String(markers.length);
    markersText.textContent = `evaluations (${formatCount(markers.length)})`;
    legend.replaceChildren(...items, markersItem, hpItem);
    root.dataset.points = String(total);
    root.dataset.markers = String(markers.length);
    root.dataset.hpMarkers = String(placed.length);
    const evalStatus = markers.length ? ` · ${formatCount(markers.length)} markers` : "";
    status.textContent = `${formatCount(total)} points${evalStatus}`;
    empty.hidden = series.size > 0 || markers.length > 0;
  }

  // ------------------------------------------------------------------ drawing
  let frame = 0;
  function schedule(): void {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  /** The parts to draw: each shown signal (the zoomed rows when Python sent them), then the overlays. */
  function currentParts(): CurvePart[] {
    const out: CurvePart[] = [];
    for (const s of series.values()) {
      if (hidden.has(s.name) || s.length === 0) continue;
      const rows = zoom.rows?.get(s.name) ?? s.rows();
      out.push({ name: s.name, step: rows.step, mean: rows.mean, min: rows.min, max: rows.max });
    }
    for (const [id, o] of overlays) {
      for (const [name, rows] of o.curves) {
        if (hidden.has(name)) continue;
        out.push({ name, step: rows.step, mean: rows.mean, min: rows.min, max: rows.max, overlay: id });
      }
    }
    return out;
  }

  function destroyPlot(): void {
    plotU?.destroy();
    plotU = null;
    structure = "";
  }

  function draw(): void {
    const t0 = performance.now();
    followTheme();
    const log = logBox.checked;
    const band = bandBox.checked;
    const k = Number(smoothing.value);
    parts = currentParts();
    shownMarkers = drawableMarkers(markers, hidden, markersBox.checked, log);
    shownHp = hpBox.checked ? placedHpChanges(hpChanges) : [];
    readout.textContent = "";
    delete root.dataset.hoverMarker;
    if (parts.length === 0 && shownMarkers.length === 0) {
      destroyPlot();
      chart = null;
      return;
    }
    const range = zoom.range;
    chart = buildChart(parts, { band, smoothing: k, log, xRange: range });
    const inRange = (step: number) => !range || (step >= range[0] && step <= range[1]);
    const xs = range ?? extent([chart.x, shownMarkers.map((m) => m.step)]);
    const rowsForRange: CurveRows[] = parts.map((p, i) => {
      const col = (role: string) => {
        const j = chart!.columns.findIndex((c) => c.part === i && c.role === role);
        return (j >= 0 ? chart!.values[j] : []) as unknown as ArrayLike<number>;
      };
      const mean = col("mean");
      return p.overlay === undefined && band ? { mean, min: col("min"), max: col("max") } : { mean, min: [], max: [] };
    });
    const ys = curveRange(rowsForRange, {
      band, fitBand: fitBandBox.checked, log,
      extra: [shownMarkers.filter((m) => inRange(m.step)).map((m) => m.mean as number)],
    });
    if (!xs) return;
    const xd: [number, number] = xs[0] === xs[1] ? [xs[0] - 1, xs[1] + 1] : xs;
    const yd = pad(ys ?? [0, 1], log);

    const signals = new Set(parts.filter((p) => p.overlay === undefined).map((p) => p.name));
    const yLabel = signals.size === 1 ? [...signals][0] : "value";
    const width = Math.max(200, plot.clientWidth || 600);
    const height = Math.max(120, Number(model.get("height")) || 260);
    const key = JSON.stringify([parts.map((p) => [p.name, p.overlay ?? ""]), chart.columns, log, palette, yLabel, height]);
    const data = [chart.x, ...chart.values] as unknown as uPlot.AlignedData;
    frameStart = t0;
    if (plotU === null || key !== structure) {
      destroyPlot();
      structure = key;
      plotU = new uPlot(plotOptions(width, height, log, yLabel), data, chartEl);
      plotU.over.classList.add("wl-curves-over");
      bindPointer(plotU);
    } else {
      if (plotU.width !== width || plotU.height !== height) plotU.setSize({ width, height });
      plotU.setData(data, false);
    }
    const u = plotU;
    u.batch(() => {
      u.setScale("x", { min: xd[0], max: xd[1] });
      u.setScale("y", { min: yd[0], max: yd[1] });
    });
    root.dataset.xDomain = `${xd[0]},${xd[1]}`;
    root.dataset.yDomain = `${yd[0]},${yd[1]}`;
    root.dataset.axisTitles = `step|${yLabel}`; // drawn by uPlot on its canvas
    root.dataset.zoomed = String(zoom.active);
    root.dataset.zoomFine = String(zoom.rows !== null);
    for (const item of legend.querySelectorAll<HTMLElement>(".wl-curves-legend-item")) {
      const i = parts.findIndex((p) => p.overlay === undefined && p.name === item.dataset.signal);
      item.dataset.drawn = String(i >= 0 ? chart.drawn[i] : 0);
    }
  }

  function plotOptions(width: number, height: number, log: boolean, yLabel: string): uPlot.Options {
    const fg = cssVar(root, "--jp-ui-font-color2", "#666");
    const grid = cssVar(root, "--jp-border-color2", "#ddd");
    // uPlot scales the first number of a font by the pixel ratio: give it pixels (the theme's
    // size is in em), as the readout computes it
    const px = Math.round(parseFloat(getComputedStyle(readout).fontSize)) || 11;
    const family = cssVar(root, "--jp-ui-font-family", "sans-serif");
    const font = `${px}px ${family}`;
    const cols = chart!.columns;
    const useries: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    cols.forEach((c, j) => {
      const p = parts[c.part];
      const color = colorOf(p.name);
      if (c.role === "min" || c.role === "max") {
        useries.push({ label: `${p.name} ${c.role}`, stroke: "rgba(0,0,0,0)", width: 0, points: { show: false }, spanGaps: true });
        if (c.role === "min") bands.push({ series: [j, j + 1], fill: withAlpha(color, 0.18) });
      } else if (c.role === "raw") {
        useries.push({ label: `${p.name} raw`, stroke: withAlpha(color, 0.3), width: 1, points: { show: false }, spanGaps: true });
      } else {
        const dashed = p.overlay !== undefined;
        useries.push({
          label: dashed ? `${p.name} (${overlays.get(p.overlay!)?.label ?? p.overlay})` : p.name,
          stroke: color, width: dashed ? 1.3 : 1.5, dash: dashed ? [6, 4] : undefined,
          points: { show: false }, spanGaps: true,
        });
      }
    });
    const axis = (label: string, side: number): uPlot.Axis => ({
      label, side, stroke: fg, font, labelFont: font, labelSize: 16,
      grid: { show: side === 3, stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 },
      values: (_u: uPlot, splits: number[]) => formatTicks(splits),
    });
    return {
      width, height,
      legend: { show: false },
      scales: { x: { time: false, auto: false }, y: { auto: false, distr: log ? 3 : 1, log: 10 } },
      axes: [axis("step", 2), { ...axis(yLabel, 3), size: 52 }],
      series: useries,
      bands,
      cursor: {
        drag: { x: true, y: false, setScale: false, dist: 5 },
        points: { show: false },
        bind: { dblclick: () => () => { unzoom(); return null; } },
      },
      hooks: {
        setSelect: [(u) => {
          const sel = u.select;
          if (sel.width >= 5) {
            const steps = selectionSteps(u.posToVal(sel.left, "x"), u.posToVal(sel.left + sel.width, "x"));
            if (steps) zoomTo(steps);
          }
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        }],
        setCursor: [(u) => showReadout(u)],
        draw: [(u) => drawOverlay(u)],
      },
    };
  }

  /** Markers, hyperparameter changes and the highlight, on uPlot's canvas (device pixels). */
  function drawOverlay(u: uPlot): void {
    const ctx = u.ctx;
    const dpr = uPlot.pxRatio;
    const { left, top, width, height } = u.bbox;
    const fg = cssVar(root, "--jp-ui-font-color2", "#666");
    ctx.save();
    ctx.beginPath(); ctx.rect(left, top, width, height); ctx.clip();
    // hyperparameter changes: thin dashed vertical lines
    ctx.strokeStyle = fg;
    ctx.lineWidth = dpr;
    ctx.setLineDash([2 * dpr, 3 * dpr]);
    for (const c of shownHp) {
      const x = Math.round(u.valToPos(c.step as number, "x", true)) + 0.5;
      if (x < left || x > left + width) continue;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
    }
    ctx.setLineDash([]);
    // evaluation markers: one glyph per marker, the signal's colour and shape, outlined
    const outline = cssVar(root, "--jp-layout-color1", "#fff");
    for (const m of shownMarkers) {
      const x = u.valToPos(m.step, "x", true), y = u.valToPos(m.mean as number, "y", true);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const r = MARKER_RADIUS * dpr;
      const pts = glyphPoints(glyphFor(m.signal), x, y, r);
      ctx.beginPath();
      if (pts === null) ctx.arc(x, y, r * 0.85, 0, 2 * Math.PI);
      else { ctx.moveTo(pts[0][0], pts[0][1]); for (const [px, py] of pts.slice(1)) ctx.lineTo(px, py); ctx.closePath(); }
      ctx.fillStyle = colorOf(m.signal);
      ctx.fill();
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = outline;
      ctx.stroke();
    }
    ctx.restore();
    const hl = highlightOf();
    if (hl && hl.stepEnd !== null) {
      // a step range in the grid: a faint band over those steps
      const xa = Math.max(left, u.valToPos(hl.step, "x", true));
      const xb = Math.min(left + width, u.valToPos(hl.stepEnd, "x", true));
      if (xb >= xa) {
        ctx.save();
        ctx.globalAlpha = 0.14;
        ctx.fillStyle = cssVar(root, "--jp-warn-color0", "#e65100");
        ctx.fillRect(xa, top, Math.max(1, xb - xa), height);
        ctx.restore();
      }
    } else if (hl) {
      const x = Math.round(u.valToPos(hl.step, "x", true)) + 0.5;
      if (x >= left && x <= left + width) {
        const accent = cssVar(root, "--jp-warn-color0", "#e65100");
        ctx.save();
        ctx.strokeStyle = accent;
        ctx.fillStyle = accent;
        ctx.lineWidth = 1.5 * dpr;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        ctx.font = `${11 * dpr}px ${cssVar(root, "--jp-ui-font-family", "sans-serif")}`;
        const right = x > left + width / 2;
        ctx.textAlign = right ? "right" : "left";
        ctx.textBaseline = "top";
        ctx.fillText(`step ${formatCount(hl.step)}`, x + (right ? -4 : 4) * dpr, top + 2 * dpr);
        ctx.restore();
      }
    }
    const b = u.bbox;
    root.dataset.plotBox = [b.left, b.top, b.width, b.height].map((v) => Math.round(v / dpr)).join(",");
    if (frameStart !== null) {
      frames.add(performance.now() - frameStart);
      frameStart = null;
      root.dataset.frames = String(frames.count);
      root.dataset.frameP95 = frames.percentile(0.95).toFixed(2);
      root.dataset.frameTimes = frames.recent().map((ms) => ms.toFixed(2)).join(",");
    }
  }

  /** The plot area in CSS pixels relative to uPlot's `over` element (for picking). */
  function frameOf(u: uPlot): PlotFrame {
    const w = u.over.clientWidth, hgt = u.over.clientHeight;
    const xs = u.scales.x, ys = u.scales.y;
    return { x0: 0, x1: w, y0: hgt, y1: 0, xDomain: [xs.min ?? 0, xs.max ?? 1], yDomain: [ys.min ?? 0, ys.max ?? 1], log: logBox.checked };
  }

  function showReadout(u: uPlot): void {
    const left = u.cursor.left ?? -1, top = u.cursor.top ?? -1;
    delete root.dataset.hoverMarker;
    delete root.dataset.hoverHp;
    if (left < 0 || top < 0 || !chart) {
      readout.textContent = "";
      return;
    }
    const f = frameOf(u);
    const marker = nearestMarker(f, shownMarkers, left, top, MARKER_RADIUS + 4);
    if (marker) {
      readout.textContent = markerReadout(marker);
      root.dataset.hoverMarker = marker.experiment_hash ?? "";
      return;
    }
    const changes = hpChangesAt(shownHp, (step) => u.valToPos(step, "x"), left, 4);
    if (changes.length) {
      readout.textContent = hpReadout(changes);
      root.dataset.hoverHp = String(changes[0].step);
      return;
    }
    const step = u.posToVal(left, "x");
    const k = Number(smoothing.value);
    const lines: string[] = [];
    let at: number | null = null;
    parts.forEach((p, i) => {
      const j = nearestIndex(p.step, step);
      if (j < 0) return;
      at ??= p.step[j];
      const col = chart!.columns.findIndex((c) => c.part === i && c.role === "mean");
      const xi = nearestIndex(chart!.x, p.step[j]);
      const mean = k > 0 && col >= 0 ? chart!.values[col][xi] : p.mean[j];
      const range = p.overlay === undefined && bandBox.checked && p.min[j] !== p.max[j] ? ` [${formatNumber(p.min[j])}, ${formatNumber(p.max[j])}]` : "";
      const who = p.overlay === undefined ? p.name : `${p.name} (${overlays.get(p.overlay)?.label ?? p.overlay})`;
      lines.push(`${who}: ${formatNumber(mean)}${range}`);
    });
    readout.textContent = at === null ? "" : [`step ${formatCount(at)}`, ...lines].join("\n");
  }

  function bindPointer(u: uPlot): void {
    u.over.addEventListener("click", (e) => {
      const pickable: PickSeries[] = parts.filter((p) => p.overlay === undefined).map((p) => ({ name: p.name, step: p.step, mean: p.mean }));
      const picked = pickPoint(frameOf(u), pickable, e.offsetX, e.offsetY);
      if (!picked) return;
      status.textContent = `step ${formatCount(picked.step)}…`;
      channel.request("step_click", { signal: picked.signal, step: picked.step }, (reply) => {
        status.textContent = String(reply.message ?? (reply.ok ? "" : "step click failed"));
      });
    });
  }

  // ------------------------------------------------------------------ events
  const onControls = () => {
    smoothingValue.textContent = Number(smoothing.value).toFixed(2);
    schedule();
  };
  logBox.addEventListener("change", onControls);
  bandBox.addEventListener("change", onControls);
  fitBandBox.addEventListener("change", onControls);
  markersBox.addEventListener("change", () => {
    markersItem.classList.toggle("is-hidden", !markersBox.checked);
    schedule();
  });
  hpBox.addEventListener("change", () => {
    hpItem.classList.toggle("is-hidden", !hpBox.checked);
    schedule();
  });
  smoothing.addEventListener("input", onControls);
  resetZoom.addEventListener("click", unzoom);
  rangeToGrid.addEventListener("click", () => {
    const range = zoom.range;
    if (!range) return;
    const [lo, hi] = [Math.max(0, Math.ceil(range[0])), Math.max(0, Math.floor(range[1]))];
    const first = [...series.keys()].find((n) => !hidden.has(n));
    channel.request("steps_highlight", { lo, hi: Math.max(lo, hi), ...(first ? { signal: first } : {}) },
      (reply) => { status.textContent = String(reply.message ?? ""); });
  });
  highlightClear.addEventListener("click", () => {
    channel.request("clear_highlight", {}, (reply) => { status.textContent = String(reply.message ?? ""); });
  });
  const onHighlight = () => {
    const hl = highlightOf();
    highlightChip.hidden = hl === null;
    if (hl) {
      highlightText.textContent = hl.stepEnd === null
        ? `step ${formatCount(hl.step)} · ${formatCount(hl.count)} samples`
        : `${hl.label} · ${formatCount(hl.count)} samples`;
      highlightChip.title = hl.stepEnd === null
        ? `${hl.signal} at step ${hl.step}: the batch is highlighted in the sample grid`
        : `${hl.signal}, ${hl.label}: these batches are highlighted in the sample grid`;
      root.dataset.highlightStep = String(hl.step);
    } else {
      delete root.dataset.highlightStep;
    }
    plotU?.redraw(false, false);
  };
  model.on("change:highlight", onHighlight);
  const resize = new ResizeObserver(() => schedule());
  resize.observe(plot);
  const onHeight = () => schedule();
  model.on("change:height", onHeight);
  // a new max_points: the copy's buckets follow the snapshot's (the rule of bucket_series)
  const onMaxPoints = () => requestSync();
  model.on("change:max_points", onMaxPoints);

  updateLegend();
  onHighlight();
  channel.send("sync");

  return () => {
    resize.disconnect();
    resync.cancel();
    if (frame) cancelAnimationFrame(frame);
    destroyPlot();
    model.off("change:height", onHeight);
    model.off("change:max_points", onMaxPoints);
    model.off("change:highlight", onHighlight);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
export type { AnyModel };
