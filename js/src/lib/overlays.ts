// Bounding boxes and segmentation masks (wl.Image(boxes=..., masks=...), BoundingBoxes2D and
// ImageMask logged alone): reading them from a `media` reply, their geometry, the class colours,
// the colouring of a mask's class ids, and which classes the user switched off. Pure helpers;
// the DOM side is overlays_view.ts. Protocol: weightslab_nb/panels/media.py.

export interface Box {
  /** Corners in the box's own units: fractions of the image, or pixels when `pixel`. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  pixel: boolean;
  classId: number;
  caption: string | null;
  scores: Record<string, number>;
}

export interface BoxGroup {
  group: string;
  labels: Map<number, string>;
  boxes: Box[];
  /** Boxes the group has (more than `boxes.length` when the kernel capped it). */
  count: number;
}

export interface MaskRef {
  group: string;
  labels: ReadonlyMap<number, string>;
  /** Index of the mask's own item in the reply. */
  item: number;
}

export type Layer = "box" | "mask";

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Class labels `{"<id>": name}` with integer ids (other keys are dropped). */
export function labelsOf(raw: unknown): Map<number, string> {
  const out = new Map<number, string>();
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const id = Number(k);
    if (Number.isInteger(id) && k.trim() !== "") out.set(id, String(v));
  }
  return out;
}

/** One logged box, or null when its position is not understood. */
export function boxOf(raw: unknown): Box | null {
  if (!raw || typeof raw !== "object") return null;
  const b = raw as Record<string, unknown>;
  const p = b.position as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object" || !finite(b.class_id)) return null;
  let x0: number, y0: number, x1: number, y1: number;
  if (finite(p.minX) && finite(p.maxX) && finite(p.minY) && finite(p.maxY)) {
    [x0, x1, y0, y1] = [p.minX, p.maxX, p.minY, p.maxY];
  } else if (Array.isArray(p.middle) && finite(p.middle[0]) && finite(p.middle[1]) && finite(p.width) && finite(p.height)) {
    const [mx, my] = p.middle as number[];
    [x0, x1, y0, y1] = [mx - p.width / 2, mx + p.width / 2, my - p.height / 2, my + p.height / 2];
  } else {
    return null;
  }
  const scores: Record<string, number> = {};
  if (b.scores && typeof b.scores === "object") {
    for (const [k, v] of Object.entries(b.scores as Record<string, unknown>)) if (finite(v)) scores[k] = v;
  }
  return {
    x0: Math.min(x0, x1), y0: Math.min(y0, y1), x1: Math.max(x0, x1), y1: Math.max(y0, y1),
    pixel: b.domain === "pixel", classId: b.class_id, caption: typeof b.box_caption === "string" ? b.box_caption : null, scores,
  };
}

/** A box group as the kernel sends it (`{group, class_labels, box_data, count}`), or null. */
export function boxGroupOf(raw: unknown): BoxGroup | null {
  if (!raw || typeof raw !== "object") return null;
  const g = raw as Record<string, unknown>;
  if (typeof g.group !== "string" || !Array.isArray(g.box_data)) return null;
  const boxes = g.box_data.map(boxOf).filter((b): b is Box => b !== null);
  return { group: g.group, labels: labelsOf(g.class_labels), boxes, count: finite(g.count) && g.count >= boxes.length ? g.count : boxes.length };
}

/** An image item's `boxes` field. */
export function boxGroupsOf(raw: unknown): BoxGroup[] {
  return Array.isArray(raw) ? raw.map(boxGroupOf).filter((g): g is BoxGroup => g !== null) : [];
}

/** An image item's `masks` field. */
export function maskRefsOf(raw: unknown): MaskRef[] {
  if (!Array.isArray(raw)) return [];
  const out: MaskRef[] = [];
  for (const m of raw) {
    if (!m || typeof m !== "object") continue;
    const r = m as Record<string, unknown>;
    if (typeof r.group === "string" && Number.isInteger(r.item) && (r.item as number) >= 0) {
      out.push({ group: r.group, labels: labelsOf(r.class_labels), item: r.item as number });
    }
  }
  return out;
}

// -- geometry ---------------------------------------------------------------------------------

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The frame boxes are drawn in: the image's size in pixels, or for boxes logged alone the
 * unit square (fractions), or the pixel boxes' extent from 0 (at least 1 × 1). */
export interface Frame {
  width: number;
  height: number;
  pixel: boolean;
}

/** The frame of boxes logged alone (fractional boxes then count as fractions of it). */
export function boxesFrame(boxes: readonly Box[]): Frame {
  const pixel = boxes.filter((b) => b.pixel);
  if (pixel.length === 0) return { width: 1, height: 1, pixel: false };
  return { width: Math.max(1, ...pixel.map((b) => b.x1)), height: Math.max(1, ...pixel.map((b) => b.y1)), pixel: true };
}

/** A box drawn at `width` × `height` display pixels over a `frame`, cut to the frame (a box
 * logged partly outside the image is drawn up to its edge, never over the card around it). */
export function boxRect(b: Box, frame: { width: number; height: number }, width: number, height: number): Rect {
  const sx = b.pixel ? width / frame.width : width;
  const sy = b.pixel ? height / frame.height : height;
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const x0 = clamp(b.x0 * sx, width), x1 = clamp(b.x1 * sx, width);
  const y0 = clamp(b.y0 * sy, height), y1 = clamp(b.y1 * sy, height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The score shown beside a box's class: "score" or "confidence" when logged, else its only one. */
export function boxScore(b: Box): number | null {
  for (const k of ["score", "confidence"]) if (k in b.scores) return b.scores[k];
  const values = Object.values(b.scores);
  return values.length === 1 ? values[0] : null;
}

/** The box's caption as logged (wandb shows it as it is: it often holds the score already),
 * else "cat 0.91": its class name and its score. */
export function boxLabel(b: Box, labels: ReadonlyMap<number, string>): string {
  if (b.caption !== null) return b.caption;
  const s = boxScore(b);
  const name = className(labels, b.classId);
  return s === null ? name : `${name} ${s.toFixed(2)}`;
}

/** Whether a label of `text` (about `charWidth` px a character, `lineHeight` tall) fits in `r`. */
export function labelFits(text: string, r: Rect, charWidth = 6, lineHeight = 13): boolean {
  return r.width >= text.length * charWidth + 4 && r.height >= lineHeight + 2;
}

// -- colours ----------------------------------------------------------------------------------

/** A colour per class name, the same in every group of a card (a class "cat" of the
 * predictions and of the ground truth match): the names in the order given, cycling. */
export function classColours(names: Iterable<string>, palette: readonly string[]): Map<string, string> {
  return new Map([...new Set(names)].map((name, i) => [name, palette[i % palette.length]]));
}

/** The name a box's class goes by: its label, else "class_<id>". */
export function className(labels: ReadonlyMap<number, string>, id: number): string {
  return labels.get(id) ?? `class_${id}`;
}

/** `#rrggbb` (or `#rgb`) as [r, g, b]; black for anything else. */
export function rgbOf(colour: string): [number, number, number] {
  let m = /^#([0-9a-f]{6})$/i.exec(colour);
  if (!m) {
    const s = /^#([0-9a-f]{3})$/i.exec(colour);
    if (s) m = [s[0], [...s[1]].map((c) => c + c).join("")] as unknown as RegExpExecArray;
  }
  if (!m) return [0, 0, 0];
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export const MASK_ALPHA = 115; // of 255: the image stays readable under the mask

/**
 * Colour a mask: `ids` holds one class id per pixel (the red channel of the decoded PNG);
 * `out` (RGBA, 4 bytes a pixel) gets each pixel of a class in `colours` that `shown(id)` keeps, at `alpha`, and
 * transparency elsewhere (ids without a label, class 0 unless labelled). Returns the pixels painted.
 */
export function colourMask(ids: ArrayLike<number>, out: Uint8ClampedArray, colours: ReadonlyMap<number, [number, number, number]>,
  shown: (id: number) => boolean, alpha = MASK_ALPHA): number {
  const lut = new Int16Array(256).fill(-1); // id -> index into rgb, -1: not drawn
  const rgb: number[] = [];
  for (const [id, c] of colours) {
    if (id < 0 || id > 255 || !shown(id)) continue;
    lut[id] = rgb.length;
    rgb.push(...c);
  }
  let painted = 0;
  for (let p = 0; p < out.length; p += 4) {
    const k = lut[ids[p >> 2]];
    if (k < 0) {
      out[p + 3] = 0;
      continue;
    }
    out[p] = rgb[k];
    out[p + 1] = rgb[k + 1];
    out[p + 2] = rgb[k + 2];
    out[p + 3] = alpha;
    painted += 1;
  }
  return painted;
}

// -- legend and toggles -----------------------------------------------------------------------

export interface LegendClass {
  id: number;
  name: string;
  /** Boxes of the class in the card (null for a mask: not counted). */
  boxes: number | null;
}

export interface LegendRow {
  layer: Layer;
  group: string;
  classes: LegendClass[];
}

/**
 * The legend of a card: one row per box group (the classes its boxes use, on any image) and per
 * mask group (its labelled classes), in the order first met.
 */
export function legendRows(boxGroups: readonly (readonly BoxGroup[])[], masks: readonly (readonly MaskRef[])[]): LegendRow[] {
  const rows = new Map<string, { layer: Layer; group: string; names: Map<number, string>; boxes: Map<number, number> | null }>();
  for (const groups of boxGroups) {
    for (const g of groups) {
      const key = `box\u0000${g.group}`;
      let row = rows.get(key);
      if (!row) rows.set(key, row = { layer: "box", group: g.group, names: new Map(), boxes: new Map() });
      for (const b of g.boxes) {
        row.boxes!.set(b.classId, (row.boxes!.get(b.classId) ?? 0) + 1);
        if (!row.names.has(b.classId)) row.names.set(b.classId, className(g.labels, b.classId));
      }
    }
  }
  for (const refs of masks) {
    for (const m of refs) {
      const key = `mask\u0000${m.group}`;
      let row = rows.get(key);
      if (!row) rows.set(key, row = { layer: "mask", group: m.group, names: new Map(), boxes: null });
      for (const [id, name] of m.labels) if (!row.names.has(id)) row.names.set(id, name);
    }
  }
  return [...rows.values()].map((r) => ({
    layer: r.layer,
    group: r.group,
    classes: [...r.names].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name, boxes: r.boxes ? r.boxes.get(id) ?? 0 : null })),
  }));
}

/** The classes the user switched off, per layer and group; kept while a card shows other steps. */
export class ClassToggles {
  private hidden = new Set<string>();

  private static key(layer: Layer, group: string, id: number): string {
    return `${layer}\u0000${group}\u0000${id}`;
  }

  shown(layer: Layer, group: string, id: number): boolean {
    return !this.hidden.has(ClassToggles.key(layer, group, id));
  }

  /** Switch a class off (or back on); returns whether it is shown now. */
  toggle(layer: Layer, group: string, id: number): boolean {
    const k = ClassToggles.key(layer, group, id);
    if (this.hidden.delete(k)) return true;
    this.hidden.add(k);
    return false;
  }

  get size(): number {
    return this.hidden.size;
  }
}

// -- score threshold and labels ----------------------------------------------------------------

/** Above this many boxes shown on an image its labels are hidden, unless the user asks for them. */
export const LABELS_UP_TO = 40;

/** The score threshold slider's bounds (step 0.01). */
export interface ScoreRange {
  min: number;
  max: number;
}

/**
 * The range of the score slider of a card whose images hold `groups`: 0..1 when every shown
 * score (boxScore) lies in it, else from the lowest to the highest score, rounded outwards to
 * 0.01 (at least 0.01 wide); null when no box has a score (no slider then).
 */
export function scoreRange(groups: readonly (readonly BoxGroup[])[]): ScoreRange | null {
  let lo = Infinity, hi = -Infinity;
  for (const gs of groups) {
    for (const g of gs) {
      for (const b of g.boxes) {
        const s = boxScore(b);
        if (s === null) continue;
        lo = Math.min(lo, s);
        hi = Math.max(hi, s);
      }
    }
  }
  if (lo === Infinity) return null;
  if (lo >= 0 && hi <= 1) return { min: 0, max: 1 };
  const min = Math.floor(lo * 100 + 1e-9) / 100;
  const max = Math.max(Math.ceil(hi * 100 - 1e-9) / 100, min + 0.01);
  return { min, max: Math.round(max * 100) / 100 };
}

/** Whether a box of `score` passes `threshold` (a box without a score always does). */
export function scorePasses(score: number | null, threshold: number): boolean {
  return score === null || score >= threshold - 1e-9; // the slider's 0.61 keeps a box of 0.61
}

/** The score threshold and the label choice of a card; kept while it shows other steps. */
export class BoxFilter {
  /** The threshold the user chose (null: none, every box passes). */
  threshold: number | null = null;
  /** Whether the user asked for labels (true), against them (false), or left it (null: shown
   * on an image of at most LABELS_UP_TO boxes shown). */
  labels: boolean | null = null;

  /** The threshold in force over `range`: the user's, kept inside it; -Infinity when there is
   * no range or no choice. */
  at(range: ScoreRange | null): number {
    if (range === null || this.threshold === null) return -Infinity;
    return Math.min(Math.max(this.threshold, range.min), range.max);
  }

  /** Whether an image showing `shown` boxes shows their labels. */
  labelsOn(shown: number, limit = LABELS_UP_TO): boolean {
    return this.labels ?? shown <= limit;
  }
}

/** How many of the boxes in `groups` are shown (their class on, their score passing
 * `threshold`), of how many. */
export function boxesShown(groups: readonly BoxGroup[], toggles: ClassToggles, threshold: number): { shown: number; total: number } {
  let shown = 0, total = 0;
  for (const g of groups) {
    for (const b of g.boxes) {
      total += 1;
      if (toggles.shown("box", g.group, b.classId) && scorePasses(boxScore(b), threshold)) shown += 1;
    }
  }
  return { shown, total };
}

/** "score ≥ 0.62" */
export function thresholdText(threshold: number): string {
  return `score \u2265 ${threshold.toFixed(2)}`;
}

/** "3 of 5 boxes" */
export function shownText(shown: number, total: number): string {
  const f = (n: number) => n.toLocaleString("en-US");
  return `${f(shown)} of ${f(total)} box${total === 1 ? "" : "es"}`;
}

/** "ground_truth: 498 of 1,200 boxes sent" for the groups the kernel capped ("" when none). */
export function cappedNote(groups: readonly (readonly BoxGroup[])[]): string {
  const parts: string[] = [];
  for (const gs of groups) {
    for (const g of gs) {
      if (g.count > g.boxes.length) parts.push(`${g.group}: ${g.boxes.length.toLocaleString("en-US")} of ${g.count.toLocaleString("en-US")} boxes`);
    }
  }
  return parts.length ? `showing ${[...new Set(parts)].slice(0, 3).join(", ")}${parts.length > 3 ? "…" : ""}` : "";
}

/** One class id per pixel: the red channel of a decoded mask (RGBA). */
export function redChannel(rgba: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(rgba.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4];
  return out;
}

/** Whether an item of a `media` reply is a mask (it follows the images it belongs to). */
export function isMaskItem(item: { extra: Record<string, unknown> }): boolean {
  return item.extra.role === "mask";
}
