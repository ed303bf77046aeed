// RunMedia view: the session's tracking run (wl.init() / wl.log({...})): a header with its name,
// path, state and step, then one card per logged key in the order of the `entries` trait. A card
// shows the value at its step (a number with a sparkline, text, a histogram, a table, a chart
// from wl.plot.*, image thumbnails, audio, a description) and, when the key was logged at
// several steps, a selector
// that pins an older step. Image, audio and video bytes are asked for with `media` requests;
// older steps' values with `value` requests. Protocol: weightslab_nb/panels/media.py.

import "./lib/base.css";
import "./styles/media.css";
import { h } from "./lib/dom";
import { formatCount, formatNumber } from "./lib/format";
import {
  BINARY_KINDS, binLabel, describeEntry, diffEntries, entriesOf, entryFromMedia, formatCell,
  formatMetric, histogramBars, histogramRange, isMediaCell, LatestRequest, parseMediaReply,
  parseValueReply, pinAt, repin, requestFields, runOf, runSummary, sameOrder, selectorIndex,
  seriesDot, seriesPoints, shownStep, stepLabel, stepPlan, tableCount, thumbSize,
  type MediaEntry, type MediaItem, type MediaResult, type RequestType,
} from "./lib/media";
import { axisLabels, confusionCells, confusionShade, PLOT_HEIGHT, plotLayout, plotOf, type PlotSpec } from "./lib/plot";
import type { Buffer, Message, RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";
import { Throttle } from "./lib/query";

const SVG = "http://www.w3.org/2000/svg";
const SPARK_W = 120;
const SPARK_H = 28;
const HIST_W = 240;
const HIST_H = 64;
const PLOT_W = 300; // a plot's width until its card has been laid out
const STEP_INTERVAL_MS = 120; // selector requests at most this often per card

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

interface Job {
  type: RequestType;
  step: number;
}

interface Card {
  key: string;
  kind: string; // the trait's kind: a new kind for the key rebuilds the card
  entry: MediaEntry; // the latest, from the trait
  shown: MediaEntry | null; // what the body shows
  next: MediaEntry | null; // a descriptor waiting for its bytes
  media: (MediaResult & { urls: string[] }) | null; // bytes of the shown step
  pinned: number | null; // the step the user chose; null follows the latest
  asked: number | null; // the step last brought in (or asked for)
  slot: LatestRequest<Job>;
  throttle: Throttle;
  dead: boolean;
  el: HTMLElement;
  kindEl: HTMLElement;
  stepEl: HTMLElement;
  latestBtn: HTMLButtonElement;
  body: HTMLElement;
  message: HTMLElement;
  selectorRow: HTMLElement;
  selector: HTMLInputElement;
  resize: ResizeObserver | null; // plot cards: redraw the chart at the body's width
  plotWidth: number; // the width the chart was last drawn at (0: none yet)
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const runName = h("span", { class: "wl-media-run-name" });
  const runState = h("span", { class: "wl-media-run-state" });
  const runStep = h("span", { class: "wl-media-run-step" });
  const runPath = h("span", { class: "wl-media-run-path wl-muted" });
  const header = h("div", { class: "wl-row wl-media-run" },
    h("span", { class: "wl-title", text: "Run" }), runName, runState, runStep, runPath);
  const list = h("div", { class: "wl-media-cards" });
  const empty = h("div", { class: "wl-media-empty wl-muted" });
  const root = h("div", { class: "wl-panel wl-media", "data-entries": "0" }, errors.el, header, empty, list);
  el.appendChild(root);

  const channel = new Channel(model, () => {});
  const cards = new Map<string, Card>();

  const wanted = (card: Card) => shownStep(card.entry, card.pinned);

  function showMessage(card: Card, text: string): void {
    card.message.textContent = text;
    card.message.hidden = text === "";
    card.el.classList.toggle("has-error", text !== "");
  }

  // -- requests ------------------------------------------------------------------------------

  function ask(card: Card, type: RequestType, step: number): void {
    const now = card.slot.submit({ type, step });
    if (now) send(card, now);
  }

  function send(card: Card, job: Job): void {
    card.el.classList.add("is-loading");
    channel.request(job.type, requestFields(card.key, job.step), (msg, buffers) => onReply(card, job, msg, buffers));
  }

  function onReply(card: Card, job: Job, msg: Message, buffers: Buffer[]): void {
    if (card.dead) return;
    const current = job.step === wanted(card);
    // an answer dropped because the selector moved on: asking that step again must send again
    if (!current && job.step === card.asked) card.asked = null;
    let follow: Job | null = null;
    if (job.type === "value") {
      const r = parseValueReply(msg, card.key);
      if (!r.ok) {
        if (current) showMessage(card, r.error);
      } else if (current && BINARY_KINDS.has(card.kind)) {
        card.next = r.entry; // its bytes next
        follow = { type: "media", step: job.step };
      } else if (current) {
        card.shown = r.entry;
        showMessage(card, "");
        renderBody(card);
      }
    } else {
      const r = parseMediaReply(msg, buffers);
      if (!r.ok) {
        if (current) {
          card.next = null;
          showMessage(card, r.error);
        }
      } else if (current) {
        const base = card.next && card.next.step === job.step ? card.next
          : job.step === card.entry.step ? card.entry : entryFromMedia(card.entry, r.media, job.step);
        card.next = null;
        card.shown = base;
        setMedia(card, { ...r.media, step: job.step });
        showMessage(card, "");
        renderBody(card);
      }
    }
    let next = card.slot.done();
    if (follow && next === null) next = card.slot.submit(follow);
    if (next) send(card, next);
    else card.el.classList.remove("is-loading");
  }

  /** Bring the card to the step it should show (its pin, else the latest). */
  function bringToStep(card: Card): void {
    const step = wanted(card);
    if (card.asked === step) return;
    card.asked = step;
    const binary = BINARY_KINDS.has(card.kind);
    if (step === card.entry.step) {
      if (binary) {
        card.next = card.entry;
        ask(card, "media", step);
        if (!card.shown) {
          card.shown = card.entry; // placeholders until the bytes come
          renderBody(card);
        }
      } else {
        card.shown = card.entry;
        showMessage(card, "");
        renderBody(card);
      }
    } else {
      ask(card, stepPlan(card.kind)[0], step);
    }
    updateHead(card);
  }

  // -- media bytes ---------------------------------------------------------------------------

  function revoke(card: Card): void {
    for (const u of card.media?.urls ?? []) URL.revokeObjectURL(u);
    card.media = null;
  }

  function setMedia(card: Card, media: MediaResult): void {
    revoke(card);
    const urls = media.items.map((it) => URL.createObjectURL(new Blob([it.bytes.slice()], { type: it.mime })));
    card.media = { ...media, urls };
  }

  /** The bytes of the shown step, when they are here. */
  function mediaOf(card: Card): { items: MediaItem[]; urls: string[] } | null {
    const m = card.media;
    return m && card.shown && m.step === card.shown.step ? m : null;
  }

  // -- card rendering ------------------------------------------------------------------------

  function makeCard(entry: MediaEntry): Card {
    const card: Card = {
      key: entry.key,
      kind: entry.kind,
      entry,
      shown: null,
      next: null,
      media: null,
      pinned: null,
      asked: null,
      slot: new LatestRequest<Job>(),
      throttle: new Throttle(STEP_INTERVAL_MS),
      dead: false,
      el: h("div", { class: "wl-media-card", "data-key": entry.key, "data-kind": entry.kind }),
      kindEl: h("span", { class: "wl-media-kind" }),
      stepEl: h("span", { class: "wl-media-card-step" }),
      latestBtn: h("button", { class: "wl-btn wl-media-latest", text: "latest", title: "Follow the latest step", hidden: true }),
      body: h("div", { class: "wl-media-body" }),
      message: h("div", { class: "wl-media-message", role: "alert", hidden: true }),
      selectorRow: h("div", { class: "wl-media-selector" }),
      selector: h("input", { type: "range", class: "wl-media-step", min: "0", step: "1" }),
      resize: null,
      plotWidth: 0,
    };
    if (entry.kind === "plot" && typeof ResizeObserver !== "undefined") {
      card.resize = new ResizeObserver(() => {
        const w = bodyWidth(card);
        if (w > 0 && w !== card.plotWidth && !card.dead) renderBody(card);
      });
      card.resize.observe(card.body);
    }
    card.el.append(
      h("div", { class: "wl-media-card-head" },
        h("span", { class: "wl-media-key", text: entry.key, title: entry.key }), card.kindEl, card.stepEl, card.latestBtn),
      card.body, card.message);
    card.selectorRow.append(card.selector);
    card.selector.addEventListener("input", () => {
      card.pinned = pinAt(card.entry.steps, Number(card.selector.value));
      updateHead(card);
      card.throttle.call(() => bringToStep(card));
    });
    card.latestBtn.addEventListener("click", () => {
      card.pinned = null;
      updateSelector(card);
      card.throttle.cancel();
      bringToStep(card);
    });
    return card;
  }

  function disposeCard(card: Card): void {
    card.dead = true;
    card.throttle.cancel();
    card.slot.reset();
    card.resize?.disconnect();
    revoke(card);
    card.el.remove();
  }

  function updateSelector(card: Card): void {
    const steps = card.entry.steps;
    if (steps.length > 1) {
      card.selector.max = String(steps.length - 1);
      card.selector.value = String(selectorIndex(steps, card.pinned));
      card.selector.title = `step ${steps[selectorIndex(steps, card.pinned)]} (${steps.length} logged)`;
      if (!card.selectorRow.isConnected) card.el.insertBefore(card.selectorRow, card.message);
    } else if (card.selectorRow.isConnected) {
      card.selectorRow.remove();
    }
  }

  function updateHead(card: Card): void {
    const shown = card.shown?.step ?? card.entry.step;
    const want = wanted(card);
    card.stepEl.textContent = stepLabel(shown, card.entry.step) + (want !== shown ? " …" : "");
    card.el.dataset.step = String(shown);
    const v = card.shown?.value ?? card.entry.value;
    const count = card.kind === "images" && v && typeof v.count === "number" ? ` ×${v.count}` : "";
    card.kindEl.textContent = card.kind + count;
    card.latestBtn.hidden = card.pinned === null;
    card.el.classList.toggle("is-pinned", card.pinned !== null);
  }

  function renderBody(card: Card): void {
    const e = card.shown;
    if (!e) return;
    let parts: (Node | null)[];
    switch (e.kind) {
      case "number": parts = numberView(card, e); break;
      case "text": parts = [h("div", { class: "wl-media-text", text: typeof e.value === "string" ? e.value : formatCell(e.value) })]; break;
      case "histogram": parts = histogramView(e); break;
      case "table": parts = tableView(e); break;
      case "plot": parts = plotView(card, e); break;
      case "image": case "images": parts = imagesView(card, e); break;
      case "audio": case "video": parts = playerView(card, e); break;
      default: parts = [description(e)];
    }
    card.body.replaceChildren(...parts.filter((p): p is Node => p !== null));
    updateHead(card);
  }

  function description(e: MediaEntry): HTMLElement {
    return h("div", { class: "wl-media-desc wl-muted", text: describeEntry(e.kind, e.value) });
  }

  function numberView(card: Card, e: MediaEntry): (Node | null)[] {
    const series = e.series ?? card.entry.series;
    const line = seriesPoints(series, SPARK_W, SPARK_H);
    let spark: SVGSVGElement | null = null;
    if (line) {
      spark = svg("svg", { class: "wl-media-spark", viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: "none", "data-points": String(series!.length) });
      spark.append(svg("polyline", { class: "wl-media-spark-line", points: line }));
      const dot = seriesDot(series, e.step, SPARK_W, SPARK_H);
      if (dot) spark.append(svg("circle", { class: "wl-media-spark-dot", cx: String(dot[0]), cy: String(dot[1]), r: "2" }));
    }
    return [h("span", { class: "wl-media-number", text: formatMetric(e.value), title: String(e.value ?? "NaN") }), spark];
  }

  function histogramView(e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const values: number[] = Array.isArray(v.values) ? v.values : [];
    const bins: number[] = Array.isArray(v.bins) ? v.bins : [];
    if (values.length === 0) return [h("div", { class: "wl-media-desc wl-muted", text: "histogram: no bins" })];
    const chart = svg("svg", { class: "wl-media-hist", viewBox: `0 0 ${HIST_W} ${HIST_H}`, preserveAspectRatio: "none", "data-bins": String(values.length) });
    histogramBars(values, HIST_W, HIST_H).forEach((b, i) => {
      const rect = svg("rect", { class: "wl-media-bar", x: String(b.x), y: String(b.y), width: String(b.width), height: String(b.height) });
      const title = svg("title", {});
      title.textContent = binLabel(bins, values, i);
      rect.append(title);
      chart.append(rect);
    });
    const range = histogramRange(bins);
    const axis = range
      ? h("div", { class: "wl-media-hist-axis wl-muted" },
        h("span", { class: "wl-media-hist-min", text: range[0] }), h("span", { class: "wl-media-hist-max", text: range[1] }))
      : null;
    return [chart, axis];
  }

  function tableView(e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const columns: unknown[] = Array.isArray(v.columns) ? v.columns : [];
    const rows: unknown[][] = Array.isArray(v.rows) ? v.rows.filter(Array.isArray) : [];
    const table = h("table", { class: "wl-media-table" },
      h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: String(c) })))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...columns.map((_, j) => {
        const cell = r[j];
        const cls = isMediaCell(cell) ? "wl-media-cell-media" : typeof cell === "number" ? "wl-media-cell-num" : null;
        return h("td", { class: cls, text: formatCell(cell) });
      })))));
    const nrows = typeof v.nrows === "number" ? v.nrows : rows.length;
    return [h("div", { class: "wl-media-table-wrap" }, table), h("div", { class: "wl-media-table-count wl-muted", text: tableCount(rows.length, nrows) })];
  }

  function bodyWidth(card: Card): number {
    return Math.floor(card.body.clientWidth);
  }

  function plotView(card: Card, e: MediaEntry): (Node | null)[] {
    const spec = plotOf(e.value);
    if (!spec) {
      const chart = e.value && typeof e.value === "object" ? String(e.value.chart ?? "none") : "none";
      return [h("div", { class: "wl-media-desc wl-muted", text: `plot: unknown chart ${JSON.stringify(chart)}` })];
    }
    const title = spec.title ? h("div", { class: "wl-media-plot-title", text: spec.title, title: spec.title }) : null;
    if (spec.chart === "confusion_matrix") return [title, ...confusionView(spec)];
    const width = bodyWidth(card) || card.plotWidth || PLOT_W;
    card.plotWidth = width;
    const l = plotLayout(spec, width, PLOT_HEIGHT);
    const chart = svg("svg", {
      class: "wl-media-plot", "data-chart": spec.chart, viewBox: `0 0 ${l.width} ${l.height}`,
      width: String(l.width), height: String(l.height), role: "img", "aria-label": spec.title ?? card.key,
    });
    const { box } = l;
    const bottom = box.y + box.height, right = box.x + box.width;
    chart.append(svg("path", { class: "wl-media-plot-axis", d: `M${box.x},${box.y}V${bottom}H${right}` }));
    const label = (cls: string, x: number, y: number, anchor: string, content: string, more: Record<string, string> = {}) => {
      const t = svg("text", { class: cls, x: String(x), y: String(y), "text-anchor": anchor, ...more });
      t.textContent = content;
      chart.append(t);
    };
    for (const t of l.xTicks) label("wl-media-plot-tick wl-media-plot-xtick", t.pos, bottom + 12, t.anchor, t.label);
    for (const t of l.yTicks) label("wl-media-plot-tick wl-media-plot-ytick", box.x - 4, t.pos, t.anchor, t.label, { "dominant-baseline": "middle" });
    if (l.xLabel) label("wl-media-plot-xlabel", box.x + box.width / 2, l.height - 3, "middle", l.xLabel);
    if (l.yLabel) {
      const cy = box.y + box.height / 2;
      label("wl-media-plot-ylabel", 10, cy, "middle", l.yLabel, { transform: `rotate(-90 10 ${cy})`, "dominant-baseline": "middle" });
    }
    if (l.zero !== null) chart.append(svg("line", { class: "wl-media-plot-zero", x1: String(box.x), x2: String(right), y1: String(l.zero), y2: String(l.zero) }));
    for (const r of l.rects) {
      const rect = svg("rect", { class: "wl-media-plot-bar", x: String(r.x), y: String(r.y), width: String(r.width), height: String(r.height) });
      const tip = svg("title", {});
      tip.textContent = r.title;
      rect.append(tip);
      chart.append(rect);
    }
    if (l.chance) {
      const [x1, y1, x2, y2] = l.chance;
      chart.append(svg("path", { class: "wl-media-plot-chance", d: `M${x1},${y1}L${x2},${y2}` }));
    }
    for (const s of l.series) {
      if (s.dots) {
        const g = svg("g", { class: "wl-media-plot-series", "data-name": s.name, "data-points": String(s.points), fill: s.color });
        for (const [cx, cy] of s.dots) g.append(svg("circle", { class: "wl-media-plot-point", cx: String(cx), cy: String(cy), r: s.dots.length > 500 ? "1.5" : "2.5" }));
        chart.append(g);
      } else {
        chart.append(svg("path", { class: "wl-media-plot-series", "data-name": s.name, "data-points": String(s.points), d: s.path ?? "", stroke: s.color }));
      }
    }
    const legend = l.legend
      ? h("div", { class: "wl-media-plot-legend" }, ...l.series.map((s) =>
        h("span", { class: "wl-media-plot-legend-item", "data-name": s.name, title: s.name },
          h("span", { class: "wl-media-plot-swatch", style: `background:${s.color}` }), s.name)))
      : null;
    return [title, legend, chart];
  }

  function confusionView(spec: PlotSpec): (Node | null)[] {
    const k = spec.labels.length;
    if (k === 0) return [h("div", { class: "wl-media-desc wl-muted", text: "confusion matrix: no classes" })];
    const axes = axisLabels(spec);
    const cells = confusionCells(spec.counts);
    const table = h("table", { class: "wl-media-confusion", "data-chart": "confusion_matrix", "data-classes": String(k) },
      h("thead", {}, h("tr", {},
        h("th", { class: "wl-media-confusion-corner", text: `${axes.y} ╲ ${axes.x}`, title: `rows: ${axes.y}, columns: ${axes.x}` }),
        ...spec.labels.map((c) => h("th", { class: "wl-media-confusion-predicted", text: c, title: `${axes.x}: ${c}` })))),
      h("tbody", {}, ...cells.map((row, i) => h("tr", {},
        h("th", { class: "wl-media-confusion-actual", text: spec.labels[i], title: `${axes.y}: ${spec.labels[i]}` }),
        ...row.map((c, j) => {
          const td = h("td", {
            class: `wl-media-confusion-cell${c.diagonal ? " is-diagonal" : ""}${c.intensity >= 0.6 ? " is-strong" : ""}`,
            "data-count": c.count === null ? "" : String(c.count),
            text: formatNumber(c.count),
            title: `${axes.y} ${spec.labels[i]}, ${axes.x} ${spec.labels[j]}: ${formatNumber(c.count)}`,
          });
          td.style.background = confusionShade(c.intensity);
          return td;
        })))));
    return [h("div", { class: "wl-media-confusion-wrap" }, table)];
  }

  function sizeImage(img: HTMLImageElement | HTMLElement, w: number | null, hgt: number | null): void {
    const size = thumbSize(w, hgt);
    if (!size) return;
    img.style.width = `${size.width}px`;
    img.style.height = `${size.height}px`;
    img.classList.toggle("is-pixelated", size.pixelated);
  }

  function thumb(url: string, w: number | null, hgt: number | null, alt: string, extra = ""): HTMLImageElement {
    const img = h("img", { class: `wl-media-thumb${extra}`, src: url, alt, draggable: false });
    if (w && hgt) sizeImage(img, w, hgt);
    else img.addEventListener("load", () => sizeImage(img, img.naturalWidth, img.naturalHeight), { once: true });
    return img;
  }

  function imagesView(card: Card, e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const media = mediaOf(card);
    const captions: (string | null)[] = Array.isArray(v.captions) ? v.captions : [];
    const count = media ? media.items.length : Math.max(1, Math.min(Number(v.count) || 1, 64));
    const figures: HTMLElement[] = [];
    for (let i = 0; i < count; i++) {
      const it = media?.items[i];
      const caption = it ? it.caption : captions[i] ?? null;
      const w = it?.width ?? (Number(v.width) || null), hgt = it?.height ?? (Number(v.height) || null);
      let pic: HTMLElement;
      if (media) {
        pic = thumb(media.urls[i], w, hgt, caption ?? `${card.key} ${i + 1}`);
      } else {
        pic = h("div", { class: "wl-media-placeholder" });
        sizeImage(pic, w, hgt);
      }
      figures.push(h("figure", { class: "wl-media-figure" }, pic,
        caption ? h("figcaption", { class: "wl-media-caption", text: caption, title: caption }) : null));
    }
    return [h("div", { class: "wl-media-thumbs" }, ...figures)];
  }

  function playerView(card: Card, e: MediaEntry): (Node | null)[] {
    const media = mediaOf(card);
    const players: HTMLElement[] = [];
    media?.items.forEach((it, i) => {
      const url = media.urls[i];
      let el: HTMLElement;
      if (it.mime.startsWith("audio/")) el = h("audio", { class: "wl-media-audio", controls: true, src: url, preload: "metadata" });
      else if (it.mime.startsWith("video/")) el = h("video", { class: "wl-media-video", controls: true, src: url, preload: "metadata" });
      else el = thumb(url, it.width, it.height, it.caption ?? card.key, " wl-media-video");
      players.push(h("figure", { class: "wl-media-figure" }, el,
        it.caption ? h("figcaption", { class: "wl-media-caption", text: it.caption, title: it.caption }) : null));
    });
    return [description(e), players.length ? h("div", { class: "wl-media-thumbs" }, ...players) : null];
  }

  // -- traits --------------------------------------------------------------------------------

  function syncRun(): void {
    const run = runOf(model.get("run"));
    header.hidden = run === null;
    root.dataset.runState = run?.state ?? "none";
    if (run) {
      runName.textContent = run.name;
      runName.title = run.id ? `id ${run.id}` : "";
      runState.textContent = run.state;
      runState.dataset.state = run.state;
      runStep.textContent = run.step === null ? "" : `step ${formatCount(run.step)}`;
      runPath.textContent = run.path || run.project;
      runPath.title = run.project ? `project ${run.project}` : "";
      header.title = runSummary(run);
    }
    syncEmpty();
  }

  function syncEmpty(): void {
    const run = runOf(model.get("run"));
    const text = run === null ? "No run: start one with wl.init() and log with wl.log({...})."
      : cards.size === 0 ? "Nothing logged yet." : "";
    empty.textContent = text;
    empty.hidden = text === "";
  }

  function syncEntries(): void {
    const entries = entriesOf(model.get("entries"));
    const prev = new Map([...cards].map(([k, c]) => [k, { kind: c.kind, step: c.entry.step }]));
    const diff = diffEntries(prev, entries);
    for (const k of diff.removed) {
      disposeCard(cards.get(k)!);
      cards.delete(k);
    }
    const changed = new Set([...diff.added, ...diff.changed]);
    for (const entry of entries) {
      let card = cards.get(entry.key);
      if (card && card.kind !== entry.kind) {
        disposeCard(card);
        card = undefined;
      }
      if (!card) {
        card = makeCard(entry);
        cards.set(entry.key, card);
        changed.add(entry.key);
      }
      card.entry = entry;
      if (!changed.has(entry.key)) continue; // nothing new logged for this key
      card.pinned = repin(entry.steps, card.pinned);
      updateSelector(card);
      bringToStep(card);
      updateHead(card);
    }
    const order = [...list.children].map((c) => (c as HTMLElement).dataset.key ?? "");
    if (!sameOrder(order, diff.order)) list.replaceChildren(...diff.order.map((k) => cards.get(k)!.el));
    root.dataset.entries = String(entries.length);
    syncEmpty();
  }

  model.on("change:run", syncRun);
  model.on("change:entries", syncEntries);
  syncRun();
  syncEntries();

  return () => {
    model.off("change:run", syncRun);
    model.off("change:entries", syncEntries);
    for (const card of cards.values()) disposeCard(card);
    cards.clear();
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
