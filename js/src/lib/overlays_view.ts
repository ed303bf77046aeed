// Boxes and masks drawn over an image (or in a frame of their own), and the legend whose chips
// switch a class off and on everywhere in the card: boxes are an SVG layer (an outline per
// class colour over a halo in the theme's background colour, "class score" inside when it
// fits), a mask is a canvas of the mask's own size, coloured per labelled class and scaled with
// the thumbnail. Every layer reads the same ClassToggles; a chip click re-applies them to the
// card (boxes hidden by attribute, masks repainted from their decoded class ids). Under the
// legend, the card's BoxFilter: a score threshold slider (when boxes have scores) and a labels
// toggle (labels on by default up to 40 boxes an image), both kept across steps.
// Pure parts: overlays.ts.

import "../styles/overlays.css";
import { paletteFor } from "./contrast";
import { h, svg } from "./dom";
import type { ShownMedia } from "./media";
import {
  BoxFilter, boxesFrame, boxesShown, boxGroupsOf, boxLabel, boxRect, boxScore, cappedNote, classColours, className, ClassToggles,
  colourMask, isMaskItem, LABELS_UP_TO, labelFits, legendRows, MASK_ALPHA, maskRefsOf, redChannel, rgbOf, scorePasses, scoreRange,
  shownText, thresholdText, type BoxGroup, type Frame, type LegendRow, type MaskRef, type Rect, type ScoreRange,
} from "./overlays";
import { cssVar } from "./panel";

const LABEL_H = 13;
const SOLO_MASK_ALPHA = 210; // a mask alone: no image shows through
const GREY = "#888888"; // a class missing from the legend (not expected)
const LABEL_CHAR_W = 6; // px per character of the 10 px label font (a safe over-estimate)

/** The colours a card draws with: a class colour per id, and the ink (the theme's background)
 * of halos and label text, which reads on every class colour of the theme's palette. */
export interface OverlayStyle {
  colours: Map<string, string>; // by class name
  ink: string;
}

/** Colours for the classes of `rows`, from the palette that reads on the current theme. */
export function overlayStyle(rows: readonly LegendRow[]): OverlayStyle {
  const ink = cssVar(document.body, "--jp-layout-color1", "#ffffff");
  const names = rows.flatMap((r) => r.classes.map((c) => c.name));
  return { colours: classColours(names, paletteFor(ink)), ink };
}

/** The toggles a card keeps across redraws (new steps) in its memo. */
export function togglesIn(memo: Map<string, unknown>): ClassToggles {
  let t = memo.get("classToggles");
  if (!(t instanceof ClassToggles)) memo.set("classToggles", t = new ClassToggles());
  return t as ClassToggles;
}

/** The score threshold and label choice a card keeps across redraws in its memo. */
export function filterIn(memo: Map<string, unknown>): BoxFilter {
  let f = memo.get("boxFilter");
  if (!(f instanceof BoxFilter)) memo.set("boxFilter", f = new BoxFilter());
  return f as BoxFilter;
}

/** The SVG layer of box groups drawn at `width` × `height` over `frame` (`data-boxes`: how
 * many, `data-shown`: how many the toggles and the score `threshold` keep; `data-labels`:
 * "on" or "off", per `filter`). */
export function boxesLayer(groups: readonly BoxGroup[], frame: Frame, width: number, height: number, style: OverlayStyle, toggles: ClassToggles,
  filter: BoxFilter = new BoxFilter(), threshold = -Infinity): SVGSVGElement {
  const layer = svg("svg", { class: "wl-ov-boxes", viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true" });
  let n = 0, shown = 0;
  for (const g of groups) {
    for (const b of g.boxes) {
      const score = boxScore(b);
      const r = boxRect(b, frame, width, height);
      const colour = style.colours.get(className(g.labels, b.classId)) ?? GREY;
      const text = boxLabel(b, g.labels);
      const el = svg("g", { class: "wl-ov-box", "data-group": g.group, "data-class": String(b.classId) });
      if (score !== null) el.setAttribute("data-score", String(score));
      const at = { x: r.x.toFixed(1), y: r.y.toFixed(1), width: Math.max(0.5, r.width).toFixed(1), height: Math.max(0.5, r.height).toFixed(1) };
      el.append(svg("rect", { class: "wl-ov-halo", ...at, stroke: style.ink }), svg("rect", { class: "wl-ov-outline", ...at, stroke: colour, fill: colour }));
      const place = labelPlace(text, r, width);
      if (place) {
        const label = svg("text", { class: "wl-ov-label", x: (place.x + 2).toFixed(1), y: (place.y + 10).toFixed(1), fill: style.ink });
        label.textContent = text;
        el.append(svg("rect", { class: "wl-ov-label-bg", x: place.x.toFixed(1), y: place.y.toFixed(1), width: place.width.toFixed(1), height: String(LABEL_H), fill: colour }), label);
      }
      const tip = svg("title", {});
      tip.textContent = `${g.group}: ${text}`;
      el.append(tip);
      const on = toggles.shown("box", g.group, b.classId) && scorePasses(score, threshold);
      if (!on) el.setAttribute("data-hidden", "");
      layer.append(el);
      n += 1;
      shown += on ? 1 : 0;
    }
  }
  layer.dataset.boxes = String(n);
  layer.dataset.shown = String(shown);
  layer.dataset.labels = filter.labelsOn(shown) ? "on" : "off";
  return layer;
}

/** Where a box's label goes: inside its top-left corner when it fits there, else just above
 * the box when the box is at least half the label's width and there is room; null: no label. */
function labelPlace(text: string, r: Rect, width: number): Rect | null {
  const w = text.length * LABEL_CHAR_W + 4;
  if (labelFits(text, r, LABEL_CHAR_W, LABEL_H)) return { x: r.x, y: r.y, width: w, height: LABEL_H };
  if (r.y >= LABEL_H && r.width >= w / 2 && w <= width) return { x: Math.min(r.x, width - w), y: r.y - LABEL_H, width: w, height: LABEL_H };
  return null;
}

// a mask canvas -> repaint it with the current toggles (once its class ids are decoded)
const painters = new WeakMap<HTMLCanvasElement, () => void>();

/**
 * A mask as a canvas of its own size (CSS scales it with its frame), coloured per class of
 * `labels` once its PNG is decoded. `data-state` is "loading", "ready" or "error";
 * `data-painted` the pixels drawn.
 */
export function maskLayer(url: string, group: string, labels: ReadonlyMap<number, string>, style: OverlayStyle, toggles: ClassToggles,
  alive: () => boolean = () => true, alpha = MASK_ALPHA): HTMLCanvasElement {
  const canvas = h("canvas", { class: "wl-ov-mask", "data-group": group, "data-state": "loading", "aria-hidden": "true" });
  const rgb = new Map([...labels].map(([id, name]) => [id, rgbOf(style.colours.get(name) ?? GREY)] as [number, [number, number, number]]));
  decodeIds(url).then(({ ids, width, height }) => {
    if (!alive()) return;
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas");
    const paint = () => {
      const image = ctx.createImageData(width, height);
      const n = colourMask(ids, image.data, rgb, (id) => toggles.shown("mask", group, id), alpha);
      ctx.putImageData(image, 0, 0);
      canvas.dataset.painted = String(n);
    };
    paint();
    painters.set(canvas, paint);
    canvas.dataset.state = "ready";
  }).catch(() => {
    canvas.dataset.state = "error";
    canvas.title = `the mask "${group}" could not be decoded`;
  });
  return canvas;
}

/** A mask PNG's class ids (exact values: no colour conversion). */
async function decodeIds(url: string): Promise<{ ids: Uint8Array; width: number; height: number }> {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const { width, height } = bitmap;
  const scratch = document.createElement("canvas");
  scratch.width = width;
  scratch.height = height;
  const ctx = scratch.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("no 2D canvas");
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { ids: redChannel(ctx.getImageData(0, 0, width, height).data), width, height };
}

/** Show what `toggles`, the score `threshold` and `filter`'s label choice keep in `root`:
 * boxes hidden or shown, their labels on or off per image, masks repainted. */
export function applyToggles(root: ParentNode, toggles: ClassToggles, filter: BoxFilter = new BoxFilter(), threshold = -Infinity): void {
  for (const layer of root.querySelectorAll<SVGSVGElement>("svg.wl-ov-boxes")) {
    let shown = 0;
    for (const g of layer.querySelectorAll<SVGGElement>("g.wl-ov-box")) {
      const score = g.dataset.score === undefined ? null : Number(g.dataset.score);
      const on = toggles.shown("box", g.dataset.group ?? "", Number(g.dataset.class)) && scorePasses(score, threshold);
      g.toggleAttribute("data-hidden", !on);
      if (on) shown += 1;
    }
    layer.dataset.shown = String(shown);
    layer.dataset.labels = filter.labelsOn(shown) ? "on" : "off";
  }
  for (const canvas of root.querySelectorAll<HTMLCanvasElement>("canvas.wl-ov-mask")) painters.get(canvas)?.();
}

/** The legend: a row per box or mask group, a chip per class (a toggle button, pressed while
 * the class is shown); a click switches the class, then `apply()` redraws the card. */
export function legendView(rows: readonly LegendRow[], style: OverlayStyle, toggles: ClassToggles, apply: () => void): HTMLElement | null {
  if (rows.length === 0) return null;
  const legend = h("div", { class: "wl-ov-legend", role: "group", "aria-label": "classes shown" });
  for (const row of rows) {
    const what = row.layer === "box" ? "boxes" : "mask";
    const line = h("div", { class: "wl-ov-legend-row", "data-layer": row.layer, "data-group": row.group },
      h("span", { class: "wl-ov-legend-group", text: row.group, title: `${what} "${row.group}"` }),
      h("span", { class: "wl-ov-legend-layer wl-muted", text: what }));
    for (const c of row.classes) {
      const colour = style.colours.get(c.name) ?? GREY;
      const on = toggles.shown(row.layer, row.group, c.id);
      const count = c.boxes === null ? "" : ` (${c.boxes})`;
      const chip = h("button", {
        type: "button", class: "wl-ov-chip", "data-layer": row.layer, "data-group": row.group, "data-class": String(c.id),
        "aria-pressed": String(on), title: `${what} "${row.group}", class ${c.id}: ${c.name}${count} (click: hide or show it on every image)`,
      }, h("span", { class: `wl-ov-swatch wl-ov-swatch-${row.layer}`, style: `--wl-ov-colour:${colour}` }), h("span", { class: "wl-ov-chip-name", text: c.name }));
      chip.addEventListener("click", () => {
        const now = toggles.toggle(row.layer, row.group, c.id);
        chip.setAttribute("aria-pressed", String(now));
        apply();
      });
      line.append(chip);
    }
    legend.append(line);
  }
  return legend;
}

/** What boxControls gives: its element, and `sync(root)`, which shows the counts and the
 * labels state of the boxes drawn in `root`. */
export interface BoxControls {
  el: HTMLElement;
  sync: (root: ParentNode) => void;
}

/**
 * Under the legend of a card with boxes: a "labels" toggle (a button, pressed while every
 * image shows its labels) and, when `range` is given (boxes have scores), a "score ≥ 0.62"
 * slider (step 0.01) with "N of M boxes". Both change `filter`, then call `apply()`.
 */
export function boxControls(range: ScoreRange | null, filter: BoxFilter, apply: () => void): BoxControls {
  const labels = h("button", { type: "button", class: "wl-ov-toggle wl-ov-labels", "aria-pressed": "true" },
    h("span", { class: "wl-ov-labels-icon", text: "Aa", "aria-hidden": "true" }), h("span", { text: "labels" }));
  labels.addEventListener("click", () => {
    filter.labels = labels.getAttribute("aria-pressed") !== "true";
    apply();
  });
  const el = h("div", { class: "wl-ov-controls", role: "group", "aria-label": "boxes shown" }, labels);
  const count = h("span", { class: "wl-ov-count wl-muted", "aria-live": "polite" });
  if (range) {
    const start = Math.max(filter.at(range), range.min);
    const text = h("span", { class: "wl-ov-score-text", text: thresholdText(start) });
    const slider = h("input", {
      type: "range", class: "wl-ov-score", min: String(range.min), max: String(range.max), step: "0.01", value: String(start),
      "aria-label": "lowest box score shown", "aria-valuetext": thresholdText(start), "data-lm-suppress-shortcuts": "true",
    });
    slider.addEventListener("input", () => {
      filter.threshold = Number(slider.value);
      text.textContent = thresholdText(filter.threshold);
      slider.setAttribute("aria-valuetext", text.textContent);
      apply();
    });
    el.append(h("label", { class: "wl-ov-score-label", title: "hide the boxes scored below this, on every image (boxes without a score stay)" },
      text, slider), count);
  }
  const sync = (root: ParentNode) => {
    let shown = 0, total = 0, layers = 0, on = 0;
    for (const layer of root.querySelectorAll<SVGSVGElement>("svg.wl-ov-boxes")) {
      shown += Number(layer.dataset.shown) || 0;
      total += Number(layer.dataset.boxes) || 0;
      layers += 1;
      if (layer.dataset.labels === "on") on += 1;
    }
    count.textContent = shownText(shown, total);
    const pressed = layers > 0 && on === layers;
    labels.setAttribute("aria-pressed", String(pressed));
    labels.title = (filter.labels === null ? `labels shown on images of at most ${LABELS_UP_TO} boxes; ` : "")
      + `click: ${pressed ? "hide" : "show"} the box labels on every image`;
  };
  return { el, sync };
}

/** The boxes and masks of an image card's `media` reply, drawn over each thumbnail. */
export class ImageOverlays {
  readonly rows: LegendRow[];
  readonly style: OverlayStyle;
  private boxes: BoxGroup[][];
  private masks: MaskRef[][];
  private range: ScoreRange | null;

  constructor(private media: ShownMedia, private toggles: ClassToggles, private alive: () => boolean, private filter = new BoxFilter()) {
    const images = media.items.filter((it) => !isMaskItem(it));
    this.boxes = images.map((it) => boxGroupsOf(it.extra.boxes));
    this.masks = images.map((it) => maskRefsOf(it.extra.masks).filter((m) => m.item < media.items.length && isMaskItem(media.items[m.item])));
    this.rows = legendRows(this.boxes, this.masks);
    this.style = overlayStyle(this.rows);
    this.range = scoreRange(this.boxes);
  }

  /** Whether the i-th image has boxes or masks. */
  has(i: number): boolean {
    return (this.boxes[i]?.length ?? 0) + (this.masks[i]?.length ?? 0) > 0;
  }

  /** `pic` (the i-th thumbnail, shown at `size`) in a frame with its masks and boxes; `pic`
   * alone when it has none or its size is not known. */
  wrap(i: number, pic: HTMLElement, size: { width: number; height: number } | null, natural: { width: number; height: number } | null): HTMLElement {
    const boxes = this.boxes[i] ?? [], masks = this.masks[i] ?? [];
    if (!size || !natural || (boxes.length === 0 && masks.length === 0)) return pic;
    const frame = h("div", { class: "wl-ov-frame", style: `width:${size.width}px;height:${size.height}px` }, pic);
    for (const m of masks) frame.append(maskLayer(this.media.urls[m.item], m.group, m.labels, this.style, this.toggles, this.alive));
    if (boxes.length) {
      const threshold = this.filter.at(this.range);
      frame.append(boxesLayer(boxes, { ...natural, pixel: true }, size.width, size.height, this.style, this.toggles, this.filter, threshold));
    }
    return frame;
  }

  /** Under the thumbnails (`root()`): the legend, the score threshold and labels toggle when
   * there are boxes, and, when the kernel capped a group, how many came. */
  footer(root: () => ParentNode | null): (Node | null)[] {
    const note = cappedNote(this.boxes);
    const controls = this.boxes.some((gs) => gs.length > 0) ? boxControls(this.range, this.filter, () => apply()) : null;
    const apply = () => {
      const r = root();
      if (!r) return;
      applyToggles(r, this.toggles, this.filter, this.filter.at(this.range));
      controls?.sync(r);
    };
    const r = root();
    if (r) controls?.sync(r);
    return [legendView(this.rows, this.style, this.toggles, apply), controls?.el ?? null, note ? h("div", { class: "wl-ov-note wl-muted", text: note }) : null];
  }
}

/** Boxes logged alone, in their own frame (see overlays.ts boxesFrame), at most `maxWidth` ×
 * `maxHeight` px. */
export function boxesFrameView(group: BoxGroup, toggles: ClassToggles, filter: BoxFilter = new BoxFilter(), maxWidth = 240, maxHeight = 200): HTMLElement {
  const frame = boxesFrame(group.boxes);
  const k = Math.min(maxWidth / frame.width, maxHeight / frame.height);
  const width = Math.max(1, Math.round(frame.width * k)), height = Math.max(1, Math.round(frame.height * k));
  const rows = legendRows([[group]], []);
  const style = overlayStyle(rows);
  const range = scoreRange([[group]]);
  const layer = boxesLayer([group], frame, width, height, style, toggles, filter, filter.at(range));
  const controls = boxControls(range, filter, () => apply());
  const apply = () => {
    applyToggles(root, toggles, filter, filter.at(range));
    controls.sync(root);
  };
  const area = h("div", { class: "wl-ov-frame wl-ov-standalone", style: `width:${width}px;height:${height}px` }, layer);
  const domain = frame.pixel ? `pixels, 0–${fmt(frame.width)} × 0–${fmt(frame.height)}` : "fractions of the image (unit square)";
  const root: HTMLElement = h("div", { class: "wl-ov-card", "data-boxes": String(group.boxes.length) }, area,
    h("div", { class: "wl-ov-note wl-muted", text: domain }),
    legendView(rows, style, toggles, apply),
    controls.el,
    cappedNote([[group]]) ? h("div", { class: "wl-ov-note wl-muted", text: cappedNote([[group]]) }) : null);
  controls.sync(root);
  return root;
}

/** A mask logged alone: coloured per class (nearly opaque) on a neutral ground, with its legend. */
export function maskFrameView(url: string, group: string, labels: ReadonlyMap<number, string>, size: { width: number; height: number } | null, toggles: ClassToggles, alive: () => boolean): HTMLElement {
  const rows = legendRows([], [[{ group, labels, item: 0 }]]);
  const style = overlayStyle(rows);
  const canvas = maskLayer(url, group, labels, style, toggles, alive, SOLO_MASK_ALPHA);
  const area = h("div", { class: "wl-ov-frame wl-ov-standalone", style: size ? `width:${size.width}px;height:${size.height}px` : "" }, canvas);
  const root: HTMLElement = h("div", { class: "wl-ov-card" }, area, legendView(rows, style, toggles, () => applyToggles(root, toggles)));
  return root;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
