// The sample detail view's data: the `detail` reply of Python (weightslab_nb/panels/
// sample_detail.py) read defensively, and the pure geometry and texts of its view
// (lib/detail_view.ts draws them).

import { formatNumber } from "./format";
import type { Buffer, Message } from "./model";
import { asRef, type SampleId, type SampleRef } from "./selection";
import { sparkDomain } from "./spark";
import { decodeArray, decodeArrays, toBytes, type ArrayMeta } from "./wire";

export interface TopClass {
  cls: number;
  name: string | null;
  prob: number;
}

export interface Box {
  x0: number; // fractions of the image's width / height
  y0: number;
  x1: number;
  y1: number;
  label: number | string | null;
}

export type InputView =
  | { kind: "image"; png: Uint8Array; mask: Uint8Array | null; boxes: Box[]; width: number | null; height: number | null }
  | { kind: "vector"; values: Float64Array; length: number }
  | { kind: "text"; text: string }
  | { kind: "none"; error: string };

export interface SignalHistory {
  signal: string;
  steps: Float64Array;
  values: Float64Array;
}

export interface Detail {
  ref: SampleRef;
  sampleId: SampleId;
  origin: string;
  target: number | null;
  prediction: number | null;
  targetName: string | null;
  predictionName: string | null;
  discarded: boolean;
  tags: string[];
  categorical: Record<string, string>;
  tagNames: string[];
  categoricalValues: Record<string, string[]>;
  signals: Record<string, number | null>;
  top: { signal: string; classes: TopClass[] } | null;
  input: InputView;
  history: SignalHistory[];
  thinned: boolean;
  markers: number[]; // evaluation steps, ascending
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

function readInput(v: unknown, buffers: Buffer[]): InputView {
  const o = (v ?? {}) as Record<string, unknown>;
  const buf = (i: unknown): Buffer | null => (typeof i === "number" && Number.isInteger(i) && buffers[i] ? buffers[i] : null);
  if (o.kind === "image") {
    const png = buf(o.buffer);
    if (!png) return { kind: "none", error: "the image did not arrive" };
    const mask = buf(o.mask_buffer);
    const boxes = (Array.isArray(o.boxes) ? o.boxes : []).flatMap((b): Box[] => {
      const x0 = num(b?.x0), y0 = num(b?.y0), x1 = num(b?.x1), y1 = num(b?.y1);
      if (x0 === null || y0 === null || x1 === null || y1 === null) return [];
      const label = typeof b.label === "number" || typeof b.label === "string" ? b.label : null;
      return [{ x0, y0, x1, y1, label }];
    });
    return { kind: "image", png: toBytes(png), mask: mask ? toBytes(mask) : null, boxes, width: num(o.width), height: num(o.height) };
  }
  if (o.kind === "vector") {
    const b = buf(o.buffer);
    if (!b || !o.array) return { kind: "none", error: "the values did not arrive" };
    const values = decodeArray(o.array as ArrayMeta, b);
    return { kind: "vector", values, length: num(o.length) ?? values.length };
  }
  if (o.kind === "text") return { kind: "text", text: String(o.text ?? "") };
  return { kind: "none", error: String(o.error ?? "no input") };
}

function readHistory(v: unknown, buffers: Buffer[]): SignalHistory[] {
  const o = (v ?? {}) as Record<string, unknown>;
  const names = strings(o.signals);
  const metas = o.arrays as ArrayMeta[] | undefined;
  const start = Number(o.buffer_start);
  if (!names.length || !Array.isArray(metas) || !Number.isInteger(start)) return [];
  const a = decodeArrays(metas, buffers.slice(start, start + metas.length));
  if (a.offsets.length !== names.length + 1) throw new Error("history: offsets do not match the signals");
  return names.map((signal, i) => ({
    signal,
    steps: a.steps.subarray(a.offsets[i], a.offsets[i + 1]),
    values: a.values.subarray(a.offsets[i], a.offsets[i + 1]),
  }));
}

/** The detail reply read into a Detail; throws (with a reason) when it is not one. */
export function readDetail(msg: Message, buffers: Buffer[]): Detail {
  const ref = asRef(msg.ref);
  if (!ref) throw new Error(`detail: no sample ref in the reply (${JSON.stringify(msg.ref)})`);
  const topRaw = msg.top as { signal?: unknown; classes?: unknown } | null | undefined;
  const top = topRaw && Array.isArray(topRaw.classes)
    ? {
      signal: String(topRaw.signal ?? ""),
      classes: topRaw.classes.flatMap((c: any): TopClass[] => {
        const cls = num(c?.class), prob = num(c?.prob);
        return cls === null || prob === null ? [] : [{ cls, prob, name: str(c.name) }];
      }),
    }
    : null;
  const cats: Record<string, string[]> = {};
  if (msg.categorical_values && typeof msg.categorical_values === "object") {
    for (const [k, vs] of Object.entries(msg.categorical_values)) cats[k] = strings(vs);
  }
  const signals: Record<string, number | null> = {};
  if (msg.signals && typeof msg.signals === "object") for (const [k, v] of Object.entries(msg.signals)) signals[k] = num(v);
  const markers = (Array.isArray(msg.markers) ? msg.markers : []).map((m: any) => num(m?.step)).filter((s): s is number => s !== null);
  return {
    ref, sampleId: ref[1], origin: ref[0],
    target: num(msg.target), prediction: num(msg.prediction),
    targetName: str(msg.target_name), predictionName: str(msg.prediction_name),
    discarded: msg.discarded === true, tags: strings(msg.tags), categorical: stringMap(msg.categorical),
    tagNames: strings(msg.tag_names), categoricalValues: cats, signals, top,
    input: readInput(msg.input, buffers),
    history: readHistory(msg.history, buffers),
    thinned: (msg.history as { thinned?: unknown } | undefined)?.thinned === true,
    markers: markers.sort((a, b) => a - b),
  };
}

/** "3 · cat" with a class name, else "3"; "–" when unknown. */
export function classText(value: number | null, name: string | null): string {
  if (value === null) return "–";
  return name ? `${formatNumber(value)} · ${name}` : formatNumber(value);
}

/** "12.3 %" (probabilities), "<0.1 %" for tiny ones. */
export function percent(p: number): string {
  const v = p * 100;
  if (v > 0 && v < 0.1) return "<0.1 %";
  return `${v >= 99.95 ? v.toFixed(0) : v.toFixed(1)} %`;
}

/** [min, max] of the finite values (a constant series gets a band around it); null if none. */
export function valueDomain(values: ArrayLike<number>): [number, number] | null {
  const domain = sparkDomain(values);
  if (domain === null || domain[0] !== domain[1]) return domain;
  const [v] = domain;
  const d = v === 0 ? 1 : Math.abs(v) * 0.1;
  return [v - d, v + d];
}

/** [first, last] step shown on every plot of a sample: its points and its evaluation markers. */
export function stepDomain(history: readonly SignalHistory[], markers: readonly number[]): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const h of history) {
    if (h.steps.length === 0) continue;
    lo = Math.min(lo, h.steps[0]);
    hi = Math.max(hi, h.steps[h.steps.length - 1]);
  }
  if (lo > hi) return null;
  for (const m of markers) {
    const near = (hi - lo) * 0.25; // an evaluation just past the points stretches the axis; a far one does not
    if (m >= lo - near && m <= hi + near) { lo = Math.min(lo, m); hi = Math.max(hi, m); }
  }
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

export interface PlotBox {
  width: number;
  height: number;
  left: number; // room for the y labels
  right: number;
  top: number;
  bottom: number; // room for the x labels
}

/** Pixel x of a step. */
export function xOf(step: number, xs: [number, number], box: PlotBox): number {
  const w = box.width - box.left - box.right;
  return box.left + ((step - xs[0]) / (xs[1] - xs[0])) * w;
}

/** Pixel y of a value (larger values higher). */
export function yOf(value: number, ys: [number, number], box: PlotBox): number {
  const h = box.height - box.top - box.bottom;
  return box.top + (1 - (value - ys[0]) / (ys[1] - ys[0])) * h;
}

/** The points of a series in pixels (non-finite values skipped), rounded to 0.1 px. */
export function plotPoints(h: SignalHistory, xs: [number, number], ys: [number, number], box: PlotBox): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < h.steps.length; i++) {
    const v = h.values[i];
    if (!Number.isFinite(v)) continue;
    out.push([Math.round(xOf(h.steps[i], xs, box) * 10) / 10, Math.round(yOf(v, ys, box) * 10) / 10]);
  }
  return out;
}
