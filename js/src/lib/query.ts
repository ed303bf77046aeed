// Grid query state -> the `page` message fields Python validates (GridQuery), and paging math.

export type DiscardedFilter = "all" | "active" | "discarded";

export interface GridState {
  offset: number;
  limit: number;
  sortBy: string | null;
  descending: boolean;
  tags: string[];
  discarded: DiscardedFilter;
  origin: string | null;
  signal: string | null;
  signalMin: string; // raw input text
  signalMax: string;
  highlight: boolean; // restrict to the step highlight (when there is one)
  sparkPoints: number; // loss-history points per row, 0: no sparklines
}

export const SPARK_POINTS = 32;
export const MAX_SPARK_POINTS = 256;

export const MAX_PAGE = 500;

export function defaultGridState(limit = 48): GridState {
  return {
    offset: 0, limit, sortBy: null, descending: true, tags: [], discarded: "all", origin: null,
    signal: null, signalMin: "", signalMax: "", highlight: false, sparkPoints: SPARK_POINTS,
  };
}

/** Parse a range bound typed by the user: "" -> null, a finite number, or undefined when invalid. */
export function parseBound(text: string): number | null | undefined {
  const t = text.trim();
  if (t === "") return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

export interface PageRequest {
  offset: number;
  limit: number;
  sort_by: string | null;
  descending: boolean;
  tags: string[];
  discarded: DiscardedFilter;
  origin: string | null;
  signal: string | null;
  signal_min: number | null;
  signal_max: number | null;
  highlight: boolean;
  spark_points: number;
  resort: boolean;
}

/** The message fields for a state, or an error text naming the bad input. `resort`: take the
 * fresh order instead of the grid's held one (Python holds the order still while values change). */
export function pageRequest(s: GridState, resort = false): { ok: true; fields: PageRequest } | { ok: false; error: string } {
  const lo = parseBound(s.signalMin);
  const hi = parseBound(s.signalMax);
  if (lo === undefined) return { ok: false, error: `minimum: "${s.signalMin}" is not a number` };
  if (hi === undefined) return { ok: false, error: `maximum: "${s.signalMax}" is not a number` };
  if (lo !== null && hi !== null && lo > hi) return { ok: false, error: "minimum is larger than maximum" };
  const limit = Math.min(Math.max(1, Math.trunc(s.limit)), MAX_PAGE);
  const ranged = s.signal !== null && (lo !== null || hi !== null);
  return {
    ok: true,
    fields: {
      offset: Math.max(0, Math.trunc(s.offset)),
      limit,
      sort_by: s.sortBy,
      descending: s.descending,
      tags: [...s.tags],
      discarded: s.discarded,
      origin: s.origin,
      signal: ranged ? s.signal : null,
      signal_min: ranged ? lo : null,
      signal_max: ranged ? hi : null,
      highlight: s.highlight,
      spark_points: Math.min(Math.max(0, Math.trunc(s.sparkPoints) || 0), MAX_SPARK_POINTS),
      resort,
    },
  };
}

/** What the direction control shows for a sort: "recorded order" has no direction, so the
 * control is disabled and says so; otherwise it names which end comes first. */
export function orderLabel(sortBy: string | null, descending: boolean): { text: string; title: string; disabled: boolean } {
  if (sortBy === null || sortBy === "") {
    return { text: "as recorded", title: "Recorded order has no direction: choose a sort first", disabled: true };
  }
  if (sortBy === "suspects") {
    return descending
      ? { text: "↓ most suspect first", title: "Most suspect first (click: least suspect first)", disabled: false }
      : { text: "↑ least suspect first", title: "Least suspect first (click: most suspect first)", disabled: false };
  }
  return descending
    ? { text: "↓ high first", title: "Highest values first; discarded samples last (click: lowest first)", disabled: false }
    : { text: "↑ low first", title: "Lowest values first; discarded samples last (click: highest first)", disabled: false };
}

/** The re-sort control's text, or null when nothing would move. `changedPage`: cells of this
 * page that would show another sample; `changed`: positions of all matched samples that would
 * move (the page reply's `order.changed_page` and `order.changed`). */
export function resortLabel(changedPage: number, changed = changedPage): string | null {
  const n = (v: number) => (Number.isFinite(v) && v > 0 ? v : 0);
  if (n(changedPage) > 0) return `re-sort (${n(changedPage).toLocaleString("en-US")} changed)`;
  if (n(changed) > 0) return `re-sort (${n(changed).toLocaleString("en-US")} changed on other pages)`;
  return null;
}

/** Keys of two pages, in order, are the same: the cells can be updated in place. */
export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Offset after clamping to the matched rows (the last page stays in view when rows vanish). */
export function clampOffset(offset: number, limit: number, matched: number): number {
  if (matched <= 0) return 0;
  const lastPage = Math.floor((matched - 1) / limit) * limit;
  return Math.min(Math.max(0, offset), lastPage);
}

/** "49–96 of 1,797" style label data: 1-based first and last row shown. */
export function pageLabel(offset: number, shown: number, matched: number): string {
  if (matched === 0 || shown === 0) return `0 of ${matched.toLocaleString("en-US")}`;
  return `${(offset + 1).toLocaleString("en-US")}–${(offset + shown).toLocaleString("en-US")} of ${matched.toLocaleString("en-US")}`;
}

/** Rate limiter with a trailing call: run `fn` at most once per `interval` ms. */
export class Throttle {
  private last = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: (() => void) | null = null;
  constructor(private interval: number, private now: () => number = () => Date.now()) {}

  /** Run now if allowed, else once at the end of the interval (the latest `fn` wins). */
  call(fn: () => void): boolean {
    const t = this.now();
    const wait = this.last + this.interval - t;
    if (wait <= 0 && this.timer === null) {
      this.last = t;
      fn();
      return true;
    }
    this.pending = fn;
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.last = this.now();
        const f = this.pending;
        this.pending = null;
        if (f) f();
      }, Math.max(0, wait));
    }
    return false;
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
