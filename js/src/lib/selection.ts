// Selection of grid cells: click, shift-click (range on the current page) and ctrl/cmd-click.
// A sample is its ref [origin, sample_id]: train and val sets may both index from 0, so an id
// alone can name two samples. Refs are keyed by JSON, so 1 and "1" stay distinct too.

export type SampleId = number | string;
/** The identity of a sample: [origin, sample_id] (what Python sends in rows' `ref`). */
export type SampleRef = [origin: string, sampleId: SampleId];

export const refKey = (ref: SampleRef): string => JSON.stringify([ref[0], ref[1]]);

export const sameRef = (a: SampleRef | null, b: SampleRef | null): boolean =>
  a !== null && b !== null && refKey(a) === refKey(b);

/** A ref read from a message ([origin, sample_id]), or null when it is not one. */
export function asRef(value: unknown): SampleRef | null {
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [origin, id] = value;
  if (typeof origin !== "string" || origin === "") return null;
  if (typeof id !== "string" && !(typeof id === "number" && Number.isInteger(id))) return null;
  return [origin, id];
}

/** The ref of a grid row: its `ref`, else built from its `origin` and `sample_id`. */
export function rowRef(row: { ref?: unknown; origin: string; sample_id: SampleId }): SampleRef {
  return asRef(row.ref) ?? [row.origin, row.sample_id];
}

export interface SelectionState {
  /** Selected refs by key, in selection order. */
  refs: Map<string, SampleRef>;
  /** Last plainly clicked or toggled sample: the start of a shift-click range. */
  anchor: SampleRef | null;
}

export function emptySelection(): SelectionState {
  return { refs: new Map(), anchor: null };
}

/** A selection holding `refs` (e.g. the shared selection Python sent); malformed ones skipped. */
export function selectionOf(refs: unknown[]): SelectionState {
  const out = new Map<string, SampleRef>();
  for (const v of refs) {
    const r = asRef(v);
    if (r) out.set(refKey(r), r);
  }
  return { refs: out, anchor: null };
}

export interface ClickModifiers {
  shift?: boolean;
  toggle?: boolean; // ctrl or cmd
}

/** Refs between `a` and `b` (inclusive) in `order`; just [b] when `a` is not in `order`. */
export function rangeBetween(order: SampleRef[], a: SampleRef | null, b: SampleRef): SampleRef[] {
  const keys = order.map(refKey);
  const j = keys.indexOf(refKey(b));
  const i = a === null ? -1 : keys.indexOf(refKey(a));
  if (j < 0) return [];
  if (i < 0) return [b];
  const [lo, hi] = i <= j ? [i, j] : [j, i];
  return order.slice(lo, hi + 1);
}

/** The selection after clicking `ref` on a page whose cells are `order`. */
export function clickSelect(state: SelectionState, order: SampleRef[], ref: SampleRef, mods: ClickModifiers = {}): SelectionState {
  const refs = new Map(state.refs);
  if (mods.shift && state.anchor !== null) {
    const range = rangeBetween(order, state.anchor, ref);
    if (!mods.toggle) refs.clear();
    for (const r of range) refs.set(refKey(r), r);
    return { refs, anchor: state.anchor };
  }
  const k = refKey(ref);
  if (mods.toggle) {
    if (refs.has(k)) refs.delete(k);
    else refs.set(k, ref);
    return { refs, anchor: ref };
  }
  const only = refs.size === 1 && refs.has(k);
  refs.clear();
  if (!only) refs.set(k, ref);
  return { refs, anchor: only ? null : ref };
}

/**
 * Shift+arrow: the selection becomes the range from its anchor to `to` (the new cursor). With no
 * anchor yet, `from` (the cursor before the move) becomes the anchor, so the range holds both.
 */
export function extendTo(state: SelectionState, order: SampleRef[], from: SampleRef | null, to: SampleRef): SelectionState {
  const anchor = state.anchor ?? from ?? to;
  const refs = new Map<string, SampleRef>();
  const range = rangeBetween(order, anchor, to);
  for (const r of range.length ? range : [to]) refs.set(refKey(r), r);
  return { refs, anchor };
}

/** Space: select or unselect `ref`; it becomes the anchor of the next range. */
export function toggleOne(state: SelectionState, ref: SampleRef): SelectionState {
  return clickSelect(state, [], ref, { toggle: true });
}

/** Add every ref of `order` (the "select page" action). */
export function selectAll(state: SelectionState, order: SampleRef[]): SelectionState {
  const refs = new Map(state.refs);
  for (const r of order) refs.set(refKey(r), r);
  return { refs, anchor: state.anchor };
}

export function isSelected(state: SelectionState, ref: SampleRef): boolean {
  return state.refs.has(refKey(ref));
}

/** The selected refs, in selection order (what the `select` and `action` messages send). */
export function selectedRefs(state: SelectionState): SampleRef[] {
  return Array.from(state.refs.values());
}

/** How many selected samples each origin holds, in order of first appearance. */
export function countByOrigin(refs: SampleRef[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const [origin] of refs) counts.set(origin, (counts.get(origin) ?? 0) + 1);
  return Array.from(counts.entries());
}

/** "3 (train 2, val 1)", "2 (val)", "0": a selection's size with its origins. */
export function selectionLabel(counts: [string, number][]): string {
  const total = counts.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return "0";
  if (counts.length === 1) return `${total} (${counts[0][0]})`;
  return `${total} (${counts.map(([o, c]) => `${o} ${c}`).join(", ")})`;
}

/**
 * Orders a view's own selection changes against what the kernel says the selection is. The
 * kernel numbers the session's selection (`version`, only growing) in its pushes and replies.
 * A push or a `get_selection` reply can be on its way while the user clicks: applied after the
 * click, it would undo it. So a view drops what the kernel sends while one of its own `select`
 * messages is unanswered, and anything numbered below the version its last change got.
 */
export class SelectionSync {
  private pending: number[] = []; // when each unanswered select was sent (ms)
  private version = -1;

  /** `timeoutMs`: a select unanswered this long (a lost reply) stops holding pushes back. */
  constructor(private readonly timeoutMs = 10_000, private readonly now: () => number = () => performance.now()) {}

  /** The view sent its selection (a `select` request). */
  sent(): void {
    this.pending.push(this.now());
  }

  /** The kernel answered a `select` (or an action that set the selection) with `version`. */
  answered(version: unknown, ownRequest = true): void {
    if (ownRequest) this.pending.shift();
    if (typeof version === "number" && Number.isFinite(version)) this.version = Math.max(this.version, version);
  }

  /** Whether a selection the kernel sent (numbered `version`) may replace the view's. */
  accepts(version: unknown): boolean {
    const cutoff = this.now() - this.timeoutMs;
    while (this.pending.length && this.pending[0] < cutoff) this.pending.shift();
    if (this.pending.length > 0) return false;
    if (typeof version !== "number" || !Number.isFinite(version)) return true; // an older kernel
    return version >= this.version;
  }
}
