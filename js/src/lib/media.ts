// The RunMedia panel's logic, without the DOM: the `run` / `entries` traits normalised, which
// cards a trait update re-renders, the step selector's pinning rule, the `value` / `media`
// requests and their replies (matching, time-outs, one in flight per card), redraw batching,
// histogram bars, table cells, thumbnail sizes and sparklines.
// Protocol: weightslab_nb/panels/media.py.

import { formatCount, formatNumber } from "./format";
import type { Buffer, Message } from "./model";
import { isMaskItem } from "./overlays";
import { toBytes } from "./wire";

// ---------------------------------------------------------------------------------------------
// Traits

export interface RunInfo {
  id: string;
  name: string;
  project: string;
  path: string;
  state: string; // "running" | "finished" | "failed"
  step: number | null;
}

const str = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
const int = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : null);

/** The `run` trait, or null when there is no run (`{}` or anything malformed). */
export function runOf(raw: unknown): RunInfo | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (Object.keys(r).length === 0) return null;
  return {
    id: str(r.id),
    name: str(r.name) || str(r.id) || "run",
    project: str(r.project),
    path: str(r.path),
    state: str(r.state) || "running",
    step: int(r.step),
  };
}

/** The header line of a run: "name · running · step 1,200". */
export function runSummary(run: RunInfo): string {
  const parts = [run.name, run.state];
  if (run.step !== null) parts.push(`step ${formatCount(run.step)}`);
  return parts.join(" · ");
}

/** Kinds drawn by a view of `cards/` (the wandb data types beyond images, tables and charts):
 * the trait holds a summary, the `media` reply what the view draws (JSON, an SVG...). */
export const CARD_KINDS: ReadonlySet<string> = new Set(["json", "molecule", "graph", "plotly", "vega", "boxes", "mask"]);

/** Kinds whose bytes come with a `media` request (they are never in the trait). */
export const BINARY_KINDS: ReadonlySet<string> = new Set(["image", "images", "audio", "video", ...CARD_KINDS]);

/** Kinds whose value may need bytes: the binary kinds, and tables (their image cells). */
export const BYTES_KINDS: ReadonlySet<string> = new Set([...BINARY_KINDS, "table"]);

/** Whether a card showing `value` of `kind` asks for bytes: always for the binary kinds, for a
 * table only when its shown rows hold image cells (`value.images > 0`). */
export function needsBytes(kind: string, value: unknown): boolean {
  if (BINARY_KINDS.has(kind)) return true;
  if (kind !== "table" || !value || typeof value !== "object") return false;
  const n = (value as Record<string, unknown>).images;
  return typeof n === "number" && n > 0;
}

export type SeriesPoint = [step: number, value: number | null];

export interface MediaEntry {
  key: string;
  kind: string;
  step: number;
  rev: string; // changes whenever the key's shown value may have changed (a new run, a value logged again)
  steps: number[]; // ascending, the steps this key was logged at (the last 500)
  value: any;
  series: SeriesPoint[] | null; // numbers only
}

/** One entry of the `entries` trait (or of a `value_result` reply), or null when malformed. */
export function entryOf(raw: unknown): MediaEntry | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const r = raw as Record<string, any>;
  if (typeof r.key !== "string" || r.key === "") return null;
  const step = int(r.step);
  if (step === null) return null;
  let steps = Array.isArray(r.steps) ? r.steps.filter((s: unknown) => int(s) !== null).map((s: number) => Math.trunc(s)) : [];
  if (steps.length === 0) steps = [step];
  let series: SeriesPoint[] | null = null;
  if (Array.isArray(r.series)) {
    series = r.series
      .filter((p: unknown) => Array.isArray(p) && p.length >= 2 && int(p[0]) !== null)
      .map((p: any[]) => [Math.trunc(p[0]), typeof p[1] === "number" && Number.isFinite(p[1]) ? p[1] : null] as SeriesPoint);
  }
  return {
    key: r.key,
    kind: typeof r.kind === "string" && r.kind ? r.kind : "other",
    step,
    rev: typeof r.rev === "string" ? r.rev : typeof r.rev === "number" && Number.isFinite(r.rev) ? String(r.rev) : "",
    steps,
    value: r.value ?? null,
    series,
  };
}

/** The `entries` trait, in its order; malformed entries and repeated keys are dropped. */
export function entriesOf(raw: unknown): MediaEntry[] {
  if (!Array.isArray(raw)) return [];
  const seen = new Set<string>();
  const out: MediaEntry[] = [];
  for (const r of raw) {
    const e = entryOf(r);
    if (!e || seen.has(e.key)) continue;
    seen.add(e.key);
    out.push(e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Which cards a trait update touches

/** What a card was built from: a trait update re-renders it when any of these changed. */
export interface CardKey {
  kind: string;
  step: number;
  rev: string;
}

export interface EntryDiff {
  added: string[]; // keys without a card yet
  changed: string[]; // keys whose step, kind or rev changed
  removed: string[]; // cards whose key is gone
  order: string[]; // the keys, in the trait's order
}

/**
 * Compare the cards shown (key -> the kind, latest step and rev they were built from) with the
 * new entries: only (key, kind, step, rev) matter, so a trait update that logs nothing new for a
 * key leaves its card alone, while a value logged again at the same step (or by a new run with
 * the same keys and steps) changes the rev and re-renders it.
 */
export function diffEntries(prev: ReadonlyMap<string, CardKey>, next: MediaEntry[]): EntryDiff {
  const diff: EntryDiff = { added: [], changed: [], removed: [], order: [] };
  const keys = new Set<string>();
  for (const e of next) {
    keys.add(e.key);
    diff.order.push(e.key);
    const p = prev.get(e.key);
    if (!p) diff.added.push(e.key);
    else if (p.kind !== e.kind || p.step !== e.step || p.rev !== e.rev) diff.changed.push(e.key);
  }
  for (const k of prev.keys()) if (!keys.has(k)) diff.removed.push(k);
  return diff;
}

/** Whether two key lists are in the same order (the cards need not move when they are). */
export function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

// ---------------------------------------------------------------------------------------------
// The step selector: a range over the indices of `steps`. `pinned` is the step the user chose
// (null: follow the latest step as the trait updates).

/** The selector's index for a pin: the pinned step's index, else the last. */
export function selectorIndex(steps: readonly number[], pinned: number | null): number {
  if (steps.length === 0) return 0;
  if (pinned === null) return steps.length - 1;
  const i = steps.indexOf(pinned);
  return i >= 0 ? i : steps.length - 1;
}

/** The pin after the user moves the selector to `index`: the last index unpins. */
export function pinAt(steps: readonly number[], index: number): number | null {
  if (steps.length === 0) return null;
  const i = Math.min(Math.max(0, Math.round(index)), steps.length - 1);
  return i === steps.length - 1 ? null : steps[i];
}

/**
 * The pin after a trait update: kept while its step is still listed (new steps do not move it);
 * a step that left the window (only the last 500 are listed) moves to the oldest step listed at
 * or after it; it unpins when that is the latest step.
 */
export function repin(steps: readonly number[], pinned: number | null): number | null {
  if (pinned === null || steps.length === 0) return null;
  const last = steps[steps.length - 1];
  if (pinned >= last) return null;
  if (steps.includes(pinned)) return pinned;
  const next = steps.find((s) => s >= pinned);
  return next === undefined || next === last ? null : next;
}

/** The step a card shows: its pin, else the entry's latest step. */
export function shownStep(entry: MediaEntry, pinned: number | null): number {
  return pinned ?? entry.step;
}

/** The selector's accessible name and value: "loss step", "step 40". */
export function stepAria(key: string, step: number): { label: string; valuetext: string } {
  return { label: `${key} step`, valuetext: `step ${step}` };
}

/** The card's step line: "step 40", or "step 40 · latest 120" when it shows an older step. */
export function stepLabel(shown: number, latest: number): string {
  return shown === latest ? `step ${formatCount(shown)}` : `step ${formatCount(shown)} · latest ${formatCount(latest)}`;
}

// ---------------------------------------------------------------------------------------------
// Requests and replies

export type RequestType = "value" | "media";

/**
 * What a card asks for when the step it shows moves: images only need their bytes (the `media`
 * reply carries captions and sizes); audio and video their descriptor (file name) and then the
 * bytes; every other kind its value.
 */
export function stepPlan(kind: string): RequestType[] {
  if (kind === "image" || kind === "images") return ["media"];
  if (kind === "audio" || kind === "video" || kind === "table" || CARD_KINDS.has(kind)) return ["value", "media"]; // a table: only when it has image cells
  return ["value"];
}

export interface StepRequest {
  key: string;
  step: number;
}

/** The fields of a `value` / `media` request (Channel adds `type` and `req`). */
export function requestFields(key: string, step: number): StepRequest {
  if (typeof key !== "string" || key === "") throw new Error("media: a request needs a key");
  if (!Number.isSafeInteger(step)) throw new Error(`media: step ${step} is not an integer`);
  return { key, step };
}

/** A failed reply's message. */
function failure(msg: Message, what: string): string {
  return typeof msg.message === "string" && msg.message ? msg.message : `${what} failed`;
}

/** The text a card shows when no reply came (time-out, or the request was given up). */
export const NO_REPLY = "no reply from the kernel; move the selector to retry";

/** How long a card waits for a reply before it gives up on it. */
export const REPLY_TIMEOUT_MS = 30_000;

/** The failed reply a card gets in place of one that never came. */
export function noReply(type: RequestType): Message {
  return { type: `${type}_result`, ok: false, message: NO_REPLY };
}

/** Whether a reply is for the key and step the card asked for (else it is dropped). */
export function replyMatches(got: StepRequest, asked: StepRequest): boolean {
  return got.key === asked.key && got.step === asked.step;
}

/** A `value_result` reply: the entry at the asked step, or the error to show in the card. */
export function parseValueReply(msg: Message, key: string): { ok: true; entry: MediaEntry } | { ok: false; error: string } {
  if (!msg || msg.type !== "value_result") return { ok: false, error: "unexpected reply" };
  if (msg.ok !== true) return { ok: false, error: failure(msg, "value request") };
  const entry = entryOf(msg.entry);
  if (!entry) return { ok: false, error: "value reply without a readable entry" };
  if (entry.key !== key) return { ok: false, error: `value reply for "${entry.key}", not "${key}"` };
  return { ok: true, entry };
}

export interface MediaItem {
  caption: string | null;
  mime: string;
  width: number | null;
  height: number | null;
  row: number | null; // a table's image cell: its row and column in the rows shown
  col: number | null;
  extra: Record<string, unknown>; // the item's other fields, for the card's view (cards/)
  bytes: Uint8Array;
}

/** The bytes of the step a card shows, as Blob URLs (the bytes themselves are not kept). */
export interface ShownMedia {
  step: number;
  count: number | null;
  items: Omit<MediaItem, "bytes">[];
  urls: string[];
}

export interface MediaResult {
  key: string;
  step: number;
  kind: string;
  count: number | null; // items logged at that step, when the reply says (it sends at most 16)
  items: MediaItem[];
}

const IMAGES = new Set(["image/png", "image/gif", "image/jpeg", "image/webp", "image/bmp"]);
const WAV = new Set(["audio/wav", "audio/x-wav", "audio/wave"]);
/** What the views of `cards/` are sent: JSON, an SVG depiction (shown in an <img>, where it
 * runs no script), text files (a molecule's), and files only offered for download. */
const CARD_MIMES = new Set(["application/json", "image/svg+xml", "text/plain", "application/octet-stream"]);
const KNOWN_FIELDS = new Set(["caption", "mime", "width", "height", "row", "col"]);

/** Whether the panel shows bytes of this type: PNG, GIF, JPEG, WebP, BMP, WAV or a video. */
export function allowedMime(mime: unknown, kind = ""): boolean {
  if (typeof mime !== "string") return false;
  const m = mime.toLowerCase();
  return IMAGES.has(m) || WAV.has(m) || /^video\/[a-z0-9.+-]+$/.test(m) || (CARD_KINDS.has(kind) && CARD_MIMES.has(m));
}

/** A `media_result` reply with one buffer per item, checked; or the error to show in the card. */
export function parseMediaReply(msg: Message, buffers: readonly Buffer[]): { ok: true; media: MediaResult } | { ok: false; error: string } {
  if (!msg || msg.type !== "media_result") return { ok: false, error: "unexpected reply" };
  if (msg.ok !== true) return { ok: false, error: failure(msg, "media request") };
  const items = msg.items;
  if (!Array.isArray(items)) return { ok: false, error: "media reply without items" };
  const bufs = buffers ?? [];
  if (items.length !== bufs.length) {
    return { ok: false, error: `media reply: ${items.length} item${items.length === 1 ? "" : "s"} but ${bufs.length} buffer${bufs.length === 1 ? "" : "s"}` };
  }
  const out: MediaItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (!it || typeof it !== "object") return { ok: false, error: `media reply: item ${i} is not an object` };
    if (!allowedMime(it.mime, str(msg.kind))) return { ok: false, error: `media reply: item ${i} has unsupported type ${JSON.stringify(it.mime ?? null)}` };
    const w = int(it.width), hgt = int(it.height);
    out.push({
      caption: typeof it.caption === "string" ? it.caption : null,
      mime: String(it.mime).toLowerCase(),
      width: w !== null && w > 0 ? w : null,
      height: hgt !== null && hgt > 0 ? hgt : null,
      row: int(it.row) !== null && int(it.row)! >= 0 ? int(it.row) : null,
      col: int(it.col) !== null && int(it.col)! >= 0 ? int(it.col) : null,
      extra: Object.fromEntries(Object.entries(it).filter(([k]) => !KNOWN_FIELDS.has(k))),
      bytes: toBytes(bufs[i]),
    });
  }
  const count = int(msg.count);
  return {
    ok: true,
    media: { key: str(msg.key), step: int(msg.step) ?? NaN, kind: str(msg.kind), count: count !== null && count >= out.length ? count : null, items: out },
  };
}

/** "showing 16 of 40" when fewer items came than were logged; "" when all came. */
export function itemsNote(shown: number, logged: number | null): string {
  if (logged === null || !Number.isFinite(logged) || logged <= shown) return "";
  return `showing ${formatCount(shown)} of ${formatCount(logged)}`;
}

/** How many items were logged at a step: the reply's count, else the descriptor's when it is that step's. */
export function loggedCount(media: { count: number | null; items: readonly unknown[] }, value: unknown): number {
  if (media.count !== null) return media.count;
  const v = value && typeof value === "object" ? (value as Record<string, unknown>).count : null;
  return typeof v === "number" && Number.isFinite(v) && v > media.items.length ? v : media.items.length;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Done = (msg: Message, buffers: Buffer[], synthetic: boolean) => void;

/**
 * The requests awaiting a reply, each completed exactly once: with its reply, or with a
 * synthetic failure when none came within `ms` or when it was given up (`fail`, e.g. when the
 * Channel drops it). `synthetic` tells the two apart.
 */
export class PendingReplies<R> {
  private waiting = new Map<R, { done: Done; failure: Message; timer: unknown }>();

  constructor(private ms = REPLY_TIMEOUT_MS, private timers: Timers = realTimers) {}

  get size(): number {
    return this.waiting.size;
  }

  add(req: R, failure: Message, done: Done): void {
    const timer = this.timers.set(() => this.complete(req, failure, [], true), this.ms);
    this.waiting.set(req, { done, failure, timer });
  }

  /** The reply to `req` came; false when it was completed already (a late reply). */
  reply(req: R, msg: Message, buffers: Buffer[]): boolean {
    return this.complete(req, msg, buffers, false);
  }

  /** Give up on `req`: it completes with its synthetic failure; false when completed already. */
  fail(req: R): boolean {
    const w = this.waiting.get(req);
    return w ? this.complete(req, w.failure, [], true) : false;
  }

  /** Forget every request without completing it (the view is going away). */
  clear(): void {
    for (const w of this.waiting.values()) this.timers.clear(w.timer);
    this.waiting.clear();
  }

  private complete(req: R, msg: Message, buffers: Buffer[], synthetic: boolean): boolean {
    const w = this.waiting.get(req);
    if (!w) return false;
    this.waiting.delete(req);
    this.timers.clear(w.timer);
    w.done(msg, buffers, synthetic);
    return true;
  }
}

/**
 * Runs `fn` once per frame at most: `schedule` asks for a frame unless one is asked for already,
 * so a burst of trait updates redraws once, from the latest traits. `request` defaults to
 * requestAnimationFrame (a 16 ms timer where there is none).
 */
export class FrameBatch {
  private handle: unknown = null;
  private request: (cb: () => void) => unknown;
  private cancelRequest: (handle: unknown) => void;

  constructor(private fn: () => void, request?: (cb: () => void) => unknown, cancel?: (handle: unknown) => void) {
    const raf = typeof requestAnimationFrame === "function";
    this.request = request ?? (raf ? (cb) => requestAnimationFrame(cb) : (cb) => setTimeout(cb, 16));
    this.cancelRequest = cancel ?? (raf ? (h) => cancelAnimationFrame(h as number) : (h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  get scheduled(): boolean {
    return this.handle !== null;
  }

  schedule(): void {
    if (this.handle !== null) return;
    this.handle = this.request(() => {
      this.handle = null;
      this.fn();
    });
  }

  /** Run now (and drop the frame asked for, if any). */
  flush(): void {
    this.cancel();
    this.fn();
  }

  cancel(): void {
    if (this.handle !== null) this.cancelRequest(this.handle);
    this.handle = null;
  }
}

/** Runs `fn` once calls have stopped for `ms` (the latest `fn` wins); `now` runs it at once. */
export class Debounce {
  private handle: unknown = null;
  private pending: (() => void) | null = null;

  constructor(private ms: number, private timers: Timers = realTimers) {}

  call(fn: () => void): void {
    this.pending = fn;
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = this.timers.set(() => {
      this.handle = null;
      const f = this.pending;
      this.pending = null;
      f?.();
    }, this.ms);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
    this.pending = null;
  }
}

/**
 * At most one request in flight, the latest wins: `submit` returns the job to send now, or null
 * when one is in flight (the job then waits, replacing any job waiting before it); `done`, on the
 * reply, returns the waiting job to send next.
 */
export class LatestRequest<T> {
  private inFlight = false;
  private queued: T | null = null;

  get busy(): boolean {
    return this.inFlight;
  }

  submit(job: T): T | null {
    if (this.inFlight) {
      this.queued = job;
      return null;
    }
    this.inFlight = true;
    return job;
  }

  done(): T | null {
    const next = this.queued;
    this.queued = null;
    this.inFlight = next !== null;
    return next;
  }

  reset(): void {
    this.inFlight = false;
    this.queued = null;
  }
}

/**
 * The entry an image card shows at an older step, from the `media` reply alone (it carries the
 * captions and sizes): the latest entry's key, kind and steps with that step's descriptor.
 */
export function entryFromMedia(latest: MediaEntry, media: MediaResult, step: number): MediaEntry {
  const images = media.items.filter((it) => !isMaskItem(it)); // masks follow their images
  const first = images[0];
  const v = latest.value && typeof latest.value === "object" ? latest.value : {};
  return {
    ...latest,
    step,
    series: null,
    value: {
      ...v,
      count: media.count ?? images.length,
      captions: images.map((it) => it.caption),
      width: first?.width ?? v.width ?? null,
      height: first?.height ?? v.height ?? null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers

/** A logged number: NaN arrives as null. */
export function formatMetric(v: unknown): string {
  if (v === null || v === undefined) return "NaN";
  if (typeof v !== "number") return String(v);
  return formatNumber(v, 5);
}

export interface ImageCell {
  width: number | null;
  height: number | null;
  caption: string | null;
}

/** A table's image cell (`{kind: "image", width, height, caption}`), or null for any other cell. */
export function imageCell(v: unknown): ImageCell | null {
  if (!v || typeof v !== "object" || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  if (r.kind !== "image") return null;
  const w = int(r.width), hgt = int(r.height);
  return {
    width: w !== null && w > 0 ? w : null,
    height: hgt !== null && hgt > 0 ? hgt : null,
    caption: typeof r.caption === "string" ? r.caption : null,
  };
}

/** A table cell: numbers formatted, null as "–", an image cell as "[image]" (until its bytes
 * come), "[media]" and other text as is. */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (imageCell(v)) return "[image]";
  return JSON.stringify(v);
}

/** Whether a table cell stands for a media object rather than a value. */
export function isMediaCell(v: unknown): boolean {
  return v === "[image]" || v === "[media]" || imageCell(v) !== null;
}

/** Where each image cell's bytes are among a media reply's items: "row,col" -> item index. */
export function cellIndex(items: readonly { row: number | null; col: number | null }[]): Map<string, number> {
  const out = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.row !== null && it.col !== null && !out.has(`${it.row},${it.col}`)) out.set(`${it.row},${it.col}`, i);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Confusion-matrix click-through

/** The fields of a `confusion` request for cell (row, col) of a `k`-class matrix. */
export function confusionFields(key: string, step: number, row: number, col: number, k: number): StepRequest & { row: number; col: number } {
  const base = requestFields(key, step);
  for (const [name, v] of [["row", row], ["col", col]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v >= k) throw new Error(`media: ${name} ${v} is not a class of a ${k}-class matrix`);
  }
  return { ...base, row, col };
}

export type ConfusionReply =
  | { ok: true; count: number; label: string; origin: string | null; message: string }
  | { ok: false; error: string };

/** A `confusion_result` reply: how many samples the grid now shows, and the sentence to show. */
export function parseConfusionReply(msg: Message): ConfusionReply {
  if (!msg || msg.type !== "confusion_result") return { ok: false, error: "unexpected reply" };
  if (msg.ok !== true) return { ok: false, error: failure(msg, "confusion click") };
  const count = int(msg.count);
  if (count === null || count < 0) return { ok: false, error: "confusion reply without a count" };
  const label = str(msg.label);
  const message = str(msg.message) || (count > 0 ? `${label}: ${formatCount(count)} samples highlighted` : `${label}: no samples`);
  return { ok: true, count, label, origin: typeof msg.origin === "string" && msg.origin ? msg.origin : null, message };
}

// ---------------------------------------------------------------------------------------------
// Card size

/** A card's width in the card grid: one column, or the whole row. */
export type CardSize = "normal" | "wide";

/**
 * The size a card takes: the user's choice when made, else "wide" for a table or confusion
 * matrix wider than its card (so it is not clipped to a few columns), else "normal".
 */
export function cardSize(chosen: CardSize | null, contentWidth: number, cardWidth: number): CardSize {
  if (chosen !== null) return chosen;
  return contentWidth > cardWidth + 1 ? "wide" : "normal";
}

/** "showing 20 of 1,000 rows". */
export function tableCount(shown: number, nrows: number): string {
  const n = Math.max(shown, Number.isFinite(nrows) ? nrows : shown);
  return `showing ${formatCount(shown)} of ${formatCount(n)} row${n === 1 ? "" : "s"}`;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The bars of a histogram of `values` (one per bin) in a `width` x `height` box, bottom-aligned,
 * the tallest bar filling the height; zero, negative or non-finite counts give empty bars, and
 * bars keep a `gap` between them while they are wider than twice the gap.
 */
export function histogramBars(values: readonly number[], width: number, height: number, gap = 1): Bar[] {
  const n = values.length;
  if (n === 0 || !(width > 0) || !(height > 0)) return [];
  const counts = values.map((v) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0));
  const top = Math.max(...counts);
  const slot = width / n;
  const g = slot > 2 * gap ? gap : 0;
  return counts.map((c, i) => {
    const hgt = top > 0 ? (c / top) * height : 0;
    return { x: r2(i * slot + g / 2), y: r2(height - hgt), width: r2(slot - g), height: r2(hgt) };
  });
}

/** The histogram's outer edge labels [min, max], or null without edges. */
export function histogramRange(bins: readonly number[]): [string, string] | null {
  if (!Array.isArray(bins) || bins.length === 0) return null;
  return [formatNumber(bins[0]), formatNumber(bins[bins.length - 1])];
}

/** The tooltip of bar i: "[0.1, 0.2): 12". */
export function binLabel(bins: readonly number[], values: readonly number[], i: number): string {
  const count = formatNumber(values[i] ?? null);
  if (bins.length !== values.length + 1) return `bin ${i + 1}: ${count}`;
  const close = i === values.length - 1 ? "]" : ")";
  return `[${formatNumber(bins[i])}, ${formatNumber(bins[i + 1])}${close}: ${count}`;
}

/**
 * The displayed size of a thumbnail of a `width` x `height` image: small images scaled up by a
 * whole factor until the longer side is at least `min` pixels (drawn pixelated), large ones
 * scaled down to `max`.
 */
export function thumbSize(width: number | null, height: number | null, min = 64, max = 192): { width: number; height: number; pixelated: boolean } | null {
  if (!width || !height || !(width > 0) || !(height > 0)) return null;
  const long = Math.max(width, height);
  if (long < min) {
    const k = Math.ceil(min / long);
    return { width: width * k, height: height * k, pixelated: true };
  }
  if (long > max) {
    const k = max / long;
    return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)), pixelated: false };
  }
  return { width, height, pixelated: false };
}

/** The "new step 120 available" offer of a player card that is playing (it is not swapped). */
export function newStepNote(step: number): string {
  return `new step ${formatCount(step)} available`;
}

/** The text of an "other" value (JSON of the logged object), whatever its length. */
export function otherText(value: unknown): string {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const t = (value as Record<string, unknown>).text;
    if (typeof t === "string") return t;
  }
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The last part of a path ("runs/x/media/clip_3.wav" -> "clip_3.wav"). */
export function fileName(path: unknown): string {
  if (typeof path !== "string" || path === "") return "";
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : "";
}

/**
 * The description line of a media entry without a view of its own: its kind, the file name and
 * up to three other scalar fields of the descriptor ("audio · clip.wav · sample_rate 16000").
 */
export function describeEntry(kind: string, value: unknown): string {
  const parts = [kind];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    const name = fileName(v.path);
    if (name) parts.push(name);
    let extra = 0;
    for (const [k, x] of Object.entries(v)) {
      if (k === "path" || k === "captions" || extra >= 3) continue;
      if (typeof x === "number" && Number.isFinite(x)) parts.push(`${k} ${formatNumber(x)}`);
      else if (typeof x === "string" && x && x.length <= 40) parts.push(`${k} ${x}`);
      else continue;
      extra += 1;
    }
  } else if (typeof value === "string" && value) {
    parts.push(value);
  }
  return parts.join(" · ");
}

/** Pixel positions of a number's series in a `width` x `height` box: x by step, larger higher. */
export function seriesXY(series: readonly SeriesPoint[], width: number, height: number, pad = 2): (step: number, value: number) => [number, number] {
  let s0 = Infinity, s1 = -Infinity, lo = Infinity, hi = -Infinity;
  for (const [s, v] of series) {
    if (v === null) continue;
    if (s < s0) s0 = s;
    if (s > s1) s1 = s;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const w = Math.max(0, width - 2 * pad), hgt = Math.max(0, height - 2 * pad);
  const r1 = (v: number) => Math.round(v * 10) / 10;
  return (step, value) => {
    const x = s1 > s0 ? pad + ((step - s0) / (s1 - s0)) * w : pad + w / 2;
    const y = hi > lo ? pad + (1 - (value - lo) / (hi - lo)) * hgt : pad + hgt / 2;
    return [r1(x), r1(y)];
  };
}

/**
 * The `points` of a sparkline polyline ("x,y x,y ..."); NaN values (null) are skipped and a lone
 * point becomes a short dash. "" when there is nothing to draw.
 */
export function seriesPoints(series: readonly SeriesPoint[] | null, width: number, height: number, pad = 2): string {
  if (!series) return "";
  const pts = series.filter(([, v]) => v !== null) as [number, number][];
  if (pts.length === 0) return "";
  const xy = seriesXY(series, width, height, pad);
  const out = pts.map(([s, v]) => xy(s, v));
  if (out.length === 1) {
    const [x, y] = out[0];
    return `${x - 2},${y} ${x + 2},${y}`;
  }
  return out.map(([x, y]) => `${x},${y}`).join(" ");
}

/** Where the shown step sits on the sparkline, or null when its value is not in the series. */
export function seriesDot(series: readonly SeriesPoint[] | null, step: number, width: number, height: number, pad = 2): [number, number] | null {
  if (!series) return null;
  const p = series.find(([s]) => s === step);
  if (!p || p[1] === null) return null;
  return seriesXY(series, width, height, pad)(step, p[1]);
}

/** Whether a card kind's value is a list of values (`{"list": true, "count", "items"}`: the
 * summaries of the first 16 of `count` values logged together, e.g. molecules). */
export function isCardList(value: unknown): boolean {
  return !!value && typeof value === "object" && (value as Record<string, unknown>).list === true
    && Array.isArray((value as Record<string, unknown>).items);
}

/** The summaries of a card list's values (see isCardList). */
export function listSummaries(value: unknown): unknown[] {
  return isCardList(value) ? ((value as Record<string, unknown>).items as unknown[]) : [];
}

/** The part of a card list's media reply for its value `index` (items marked with it). */
export function mediaAt(media: ShownMedia, index: number): ShownMedia {
  const keep = media.items.map((it, i) => [it, i] as const).filter(([it]) => it.extra.index === index);
  return { step: media.step, count: null, items: keep.map(([it]) => it), urls: keep.map(([, i]) => media.urls[i]) };
}
