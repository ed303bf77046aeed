// LossCurves view: every global signal as a per-step mean line with its min/max band, drawn on
// a canvas. Python sends only new points; see weightslab_nb/panels/curves.py for the protocol.
// A click on the plot picks the nearest point of the nearest curve and sends `step_click`: that
// step's batch becomes the session's highlight (the grid shows it; a vertical marker here).
// Evaluation markers (one glyph per evaluation and signal at (step, mean)) come in `markers`
// messages; hovering one shows its marker hash and value; a legend entry shows or hides them.

import "./lib/base.css";
import "./styles/curves.css";
import { ema } from "./lib/downsample";
import { h } from "./lib/dom";
import { formatCount, formatNumber, formatTick } from "./lib/format";
import type { AnyModel, Buffer, Message, RenderProps } from "./lib/model";
import { Channel, cssVar, errorBar } from "./lib/panel";
import { PALETTE_LIGHT, paletteFor } from "./lib/contrast";
import {
  appendMarkers, countBySignal, drawableMarkers, glyphOf, glyphPoints, markerReadout, nearestMarker,
  parseMarkers, type Glyph, type Marker,
} from "./lib/markers";
import { pickPoint, type PickSeries, type PlotFrame } from "./lib/pick";
import { curveRange, extent, logTicks, makeScale, nearestIndex, niceTicks, pad } from "./lib/scale";
import { Series, type PointsHeader } from "./lib/series";
import { decodeArrays, type ArrayMeta } from "./lib/wire";
import { Throttle } from "./lib/query";

const MARGIN = { left: 58, right: 14, top: 10, bottom: 26 };
const MARKER_RADIUS = 6;
const SVG = "http://www.w3.org/2000/svg";

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

function render({ model, el }: RenderProps) {
  const series = new Map<string, Series>();
  const colors = new Map<string, number>(); // signal -> palette index
  let palette = PALETTE_LIGHT; // follows the theme's background at each draw
  const hidden = new Set<string>();
  const markers: Marker[] = [];
  let hoverX: number | null = null;
  let hoverY: number | null = null;
  let synced = false;
  let frameOf: PlotFrame | null = null; // the plot area of the last draw (for clicks)
  let pickable: PickSeries[] = [];

  const errors = errorBar(model);
  const logBox = h("input", { type: "checkbox", class: "wl-curves-log" });
  const bandBox = h("input", { type: "checkbox", class: "wl-curves-band", checked: true });
  const fitBandBox = h("input", { type: "checkbox", class: "wl-curves-fit-band" });
  const smoothing = h("input", { type: "range", class: "wl-curves-smoothing", min: "0", max: "0.99", step: "0.01", value: "0" });
  const smoothingValue = h("span", { class: "wl-curves-smoothing-value wl-muted", text: "0" });
  const status = h("span", { class: "wl-curves-status wl-muted" });
  const highlightText = h("span", { class: "wl-curves-highlight-text" });
  const highlightClear = h("button", { class: "wl-btn wl-curves-highlight-clear", text: "×", title: "Clear the step highlight" });
  const highlightChip = h("span", { class: "wl-curves-highlight", hidden: true }, highlightText, highlightClear);
  const canvas = h("canvas", { class: "wl-curves-canvas" });
  const readout = h("div", { class: "wl-curves-readout" });
  const empty = h("div", { class: "wl-curves-empty", text: "No curves yet: they appear when training records a signal." });
  const plot = h("div", { class: "wl-curves-plot" }, canvas, readout, empty);
  const legend = h("div", { class: "wl-curves-legend" });
  const markersBox = h("input", { type: "checkbox", class: "wl-curves-markers-toggle", checked: true });
  const markersText = h("span", { class: "wl-curves-markers-text" });
  const markersItem = h("label", { class: "wl-curves-legend-markers", "data-markers": "0", hidden: true,
    title: "Evaluation markers: one glyph per evaluation and signal at (step, mean); hover one for its marker hash" },
  markersBox, glyphIcon("diamond", "currentColor", "wl-curves-legend-glyph"), markersText);
  const root = h("div", { class: "wl-panel wl-curves", "data-points": "0", "data-markers": "0" },
    errors.el,
    h("div", { class: "wl-row wl-curves-toolbar" },
      h("span", { class: "wl-title", text: "Curves" }),
      h("label", {}, logBox, " log scale"),
      h("label", {}, bandBox, " min/max band"),
      h("label", { title: "Fit the y-range to the whole min/max band (by default the mean lines and the band's 1st-99th percentile)" },
        fitBandBox, " fit band"),
      h("label", {}, "smoothing ", smoothing, " ", smoothingValue),
      highlightChip,
      status),
    plot, legend);
  el.appendChild(root);

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
        synced = true;
      } else if (msg.type === "points") {
        if (!synced) return; // the snapshot that is on its way covers these points
        applyPoints(msg as unknown as PointsHeader, msg.arrays, buffers);
      } else if (msg.type === "markers") {
        if (!synced) return;
        if (appendMarkers(markers, Number(msg.start), parseMarkers(msg.markers)) === "gap") requestSync();
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
  function highlightOf(): { step: number; count: number; signal: string } | null {
    const hl = model.get("highlight") ?? {};
    const fromCurve = (hl.source ?? "step") === "step"; // other highlights (a confusion cell) have no step
    return fromCurve && typeof hl.step === "number" ? { step: hl.step, count: Number(hl.count) || 0, signal: String(hl.signal ?? "") } : null;
  }

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
      let item = legend.querySelector<HTMLElement>(`[data-signal="${CSS.escape(name)}"]`);
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
    markersItem.hidden = markers.length === 0;
    markersItem.dataset.markers = String(markers.length);
    markersText.textContent = `evaluations (${formatCount(markers.length)})`;
    legend.replaceChildren(...items, markersItem);
    root.dataset.points = String(total);
    root.dataset.markers = String(markers.length);
    const evalStatus = markers.length ? ` · ${formatCount(markers.length)} markers` : "";
    status.textContent = `${formatCount(total)} points${evalStatus}`;
    empty.hidden = series.size > 0 || markers.length > 0;
  }

  // ------------------------------------------------------------------ drawing
  let frame = 0;
  function schedule(): void {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  function draw(): void {
    followTheme();
    const width = plot.clientWidth || 600;
    const height = Math.max(120, Number(model.get("height")) || 260);
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const log = logBox.checked;
    const band = bandBox.checked;
    const k = Number(smoothing.value);
    const visible = [...series.values()].filter((s) => !hidden.has(s.name) && s.length > 0);
    const fg = cssVar(root, "--jp-ui-font-color2", "#666");
    const grid = cssVar(root, "--jp-border-color2", "#ddd");
    const font = `${cssVar(root, "--jp-ui-font-size0", "11px")} ${cssVar(root, "--jp-ui-font-family", "sans-serif")}`;
    readout.textContent = "";
    delete root.dataset.hoverMarker;
    const shown = drawableMarkers(markers, hidden, markersBox.checked, log);
    if (visible.length === 0 && shown.length === 0) return;

    const rows = visible.map((s) => s.rows());
    const xs = extent([...rows.map((r) => r.step), shown.map((m) => m.step)]);
    const ys = curveRange(rows, { band, fitBand: fitBandBox.checked, log, extra: [shown.map((m) => m.mean as number)] });
    if (!xs || !ys) return;
    const xd: [number, number] = xs[0] === xs[1] ? [xs[0] - 1, xs[1] + 1] : xs;
    const yd = pad(ys, log);
    const x0 = MARGIN.left, x1 = width - MARGIN.right, y0 = height - MARGIN.bottom, y1 = MARGIN.top;
    const sx = makeScale(xd, [x0, x1]);
    const sy = makeScale(yd, [y0, y1], log);
    frameOf = { x0, x1, y0, y1, xDomain: xd, yDomain: yd, log };
    pickable = visible.map((s, i) => ({ name: s.name, step: rows[i].step, mean: rows[i].mean }));

    // axes and grid
    ctx.font = font;
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of log ? logTicks(yd[0], yd[1]) : niceTicks(yd[0], yd[1], 5)) {
      const y = Math.round(sy(t)) + 0.5;
      if (!(y >= y1 - 1 && y <= y0 + 1)) continue;
      ctx.beginPath(); ctx.moveTo(x0, y); ctx.lineTo(x1, y); ctx.stroke();
      ctx.fillText(formatTick(t), x0 - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of niceTicks(xd[0], xd[1], Math.max(2, Math.floor((x1 - x0) / 90)))) {
      if (!Number.isInteger(t)) continue;
      const x = Math.round(sx(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, y0); ctx.lineTo(x, y0 + 4); ctx.stroke();
      ctx.fillText(formatTick(t), x, y0 + 6);
    }
    ctx.beginPath(); ctx.moveTo(x0, y1); ctx.lineTo(x0, y0); ctx.lineTo(x1, y0); ctx.stroke();

    ctx.save();
    ctx.beginPath(); ctx.rect(x0, y1, x1 - x0, y0 - y1); ctx.clip();
    const floor = (v: number) => (log && !(v > 0) ? yd[0] : v);
    visible.forEach((s, i) => {
      const r = rows[i];
      const color = colorOf(s.name);
      const n = r.step.length;
      if (band) {
        ctx.globalAlpha = 0.18;
        ctx.fillStyle = color;
        ctx.beginPath();
        let open = false;
        const flush = (end: number, start: number) => {
          for (let j = end; j >= start; j--) ctx.lineTo(sx(r.step[j]), sy(floor(r.min[j])));
          ctx.closePath();
        };
        let segStart = 0;
        for (let j = 0; j < n; j++) {
          const ok = Number.isFinite(r.max[j]) && Number.isFinite(r.min[j]);
          if (!ok) {
            if (open) { flush(j - 1, segStart); open = false; }
            continue;
          }
          const x = sx(r.step[j]), y = sy(floor(r.max[j]));
          if (!open) { ctx.moveTo(x, y); open = true; segStart = j; } else ctx.lineTo(x, y);
        }
        if (open) flush(n - 1, segStart);
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      const line = (values: ArrayLike<number>, alpha: number, widthPx: number) => {
        ctx.globalAlpha = alpha;
        ctx.strokeStyle = color;
        ctx.lineWidth = widthPx;
        ctx.beginPath();
        let pen = false;
        for (let j = 0; j < n; j++) {
          const y = sy(values[j]);
          if (!Number.isFinite(y)) { pen = false; continue; }
          const x = sx(r.step[j]);
          if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
        }
        if (n === 1 && pen) ctx.arc(sx(r.step[0]), sy(values[0]), 1.5, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.globalAlpha = 1;
      };
      if (k > 0) {
        line(r.mean, 0.3, 1);
        line(ema(r.mean, k), 1, 1.6);
      } else {
        line(r.mean, 1, 1.4);
      }
    });

    // evaluation markers: one glyph per marker, the signal's colour and shape, outlined
    const outline = cssVar(root, "--jp-layout-color1", "#fff");
    const hovered = hoverX !== null && hoverY !== null
      ? nearestMarker(frameOf, shown, hoverX, hoverY, MARKER_RADIUS + 4) : null;
    for (const m of shown) {
      const x = sx(m.step), y = sy(m.mean as number);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const r = m === hovered ? MARKER_RADIUS + 2 : MARKER_RADIUS;
      const pts = glyphPoints(glyphFor(m.signal), x, y, r);
      ctx.beginPath();
      if (pts === null) ctx.arc(x, y, r * 0.85, 0, 2 * Math.PI);
      else { ctx.moveTo(pts[0][0], pts[0][1]); for (const [px, py] of pts.slice(1)) ctx.lineTo(px, py); ctx.closePath(); }
      ctx.fillStyle = colorOf(m.signal);
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = m === hovered ? fg : outline;
      ctx.stroke();
    }
    ctx.restore();

    const hl = highlightOf();
    if (hl && hl.step >= xd[0] && hl.step <= xd[1]) {
      const x = Math.round(sx(hl.step)) + 0.5;
      const accent = cssVar(root, "--jp-warn-color0", "#e65100");
      ctx.strokeStyle = accent;
      ctx.fillStyle = accent;
      ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x, y1); ctx.lineTo(x, y0); ctx.stroke();
      ctx.lineWidth = 1;
      ctx.textAlign = x > (x0 + x1) / 2 ? "right" : "left";
      ctx.textBaseline = "top";
      ctx.fillText(`step ${formatCount(hl.step)}`, x + (ctx.textAlign === "right" ? -4 : 4), y1 + 2);
    }

    if (hovered) {
      readout.textContent = markerReadout(hovered);
      root.dataset.hoverMarker = hovered.experiment_hash ?? "";
    } else if (hoverX !== null && hoverX >= x0 && hoverX <= x1) {
      const step = xd[0] + ((hoverX - x0) / (x1 - x0)) * (xd[1] - xd[0]);
      const lines: string[] = [];
      let at: number | null = null;
      visible.forEach((s, i) => {
        const r = rows[i];
        const j = nearestIndex(r.step, step);
        if (j < 0) return;
        at ??= r.step[j];
        const mean = k > 0 ? ema(r.mean, k)[j] : r.mean[j];
        const range = band && r.min[j] !== r.max[j] ? ` [${formatNumber(r.min[j])}, ${formatNumber(r.max[j])}]` : "";
        lines.push(`${s.name}: ${formatNumber(mean)}${range}`);
      });
      if (at !== null) {
        const x = Math.round(sx(at)) + 0.5;
        ctx.strokeStyle = fg;
        ctx.setLineDash([3, 3]);
        ctx.beginPath(); ctx.moveTo(x, y1); ctx.lineTo(x, y0); ctx.stroke();
        ctx.setLineDash([]);
        readout.textContent = [`step ${formatCount(at)}`, ...lines].join("\n");
      }
    }
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
  smoothing.addEventListener("input", onControls);
  canvas.addEventListener("mousemove", (e) => {
    const rect = canvas.getBoundingClientRect();
    hoverX = e.clientX - rect.left;
    hoverY = e.clientY - rect.top;
    schedule();
  });
  canvas.addEventListener("mouseleave", () => { hoverX = null; hoverY = null; schedule(); });
  canvas.addEventListener("click", (e) => {
    if (!frameOf) return;
    const rect = canvas.getBoundingClientRect();
    const picked = pickPoint(frameOf, pickable, e.clientX - rect.left, e.clientY - rect.top);
    if (!picked) return;
    status.textContent = `step ${formatCount(picked.step)}…`;
    channel.request("step_click", { signal: picked.signal, step: picked.step }, (reply) => {
      status.textContent = String(reply.message ?? (reply.ok ? "" : "step click failed"));
    });
  });
  highlightClear.addEventListener("click", () => {
    channel.request("clear_highlight", {}, (reply) => { status.textContent = String(reply.message ?? ""); });
  });
  const onHighlight = () => {
    const hl = highlightOf();
    highlightChip.hidden = hl === null;
    if (hl) {
      highlightText.textContent = `step ${formatCount(hl.step)} · ${formatCount(hl.count)} samples`;
      highlightChip.title = `${hl.signal} at step ${hl.step}: the batch is highlighted in the sample grid`;
      root.dataset.highlightStep = String(hl.step);
    } else {
      delete root.dataset.highlightStep;
    }
    schedule();
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
    model.off("change:height", onHeight);
    model.off("change:max_points", onMaxPoints);
    model.off("change:highlight", onHighlight);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
export type { AnyModel };
