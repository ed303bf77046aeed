// The Evaluate section of the controls panel: tag-subset choices, button states, progress and
// result text. Pure functions over the traits of weightslab_nb/panels/controls.py.

import { formatCount, formatNumber } from "./format";

export interface TagSummary {
  boolean?: Record<string, number>;
  categorical?: Record<string, { values: string[]; counts: Record<string, number> }>;
}

export interface LoaderInfo {
  name: string;
  origin: string;
  size: number;
  is_training: boolean;
}

export interface TagOption {
  /** What the request carries: a boolean tag name or "name=value". */
  value: string;
  label: string;
  count: number;
  /** The categorical tag this value belongs to (null for a boolean tag). */
  category: string | null;
}

export interface EvaluationLast {
  id: number;
  loader: string;
  tags: string[];
  step: number | null;
  result: Record<string, number | null>;
  summary: string | null;
  marker_hash: string | null;
}

export interface EvaluationState {
  id: number | null;
  state: string;
  loader: string | null;
  tags: string[];
  resume: boolean;
  progress: [number, number];
  step: number | null;
  result: Record<string, number | null>;
  summary: string | null;
  marker_hash: string | null;
  error: string | null;
  queued: number;
  last: EvaluationLast | null;
}

/** The states in which a request can still be cancelled. */
export const LIVE_STATES = new Set(["pending", "running"]);

/** Normalise the `evaluation` trait (absent fields get their defaults). */
export function evaluationOf(raw: unknown): EvaluationState {
  const e = (raw && typeof raw === "object" ? raw : {}) as Record<string, any>;
  const p = Array.isArray(e.progress) ? e.progress : [0, 0];
  return {
    id: typeof e.id === "number" ? e.id : null,
    state: typeof e.state === "string" && e.state ? e.state : "none",
    loader: typeof e.loader === "string" ? e.loader : null,
    tags: Array.isArray(e.tags) ? e.tags.map(String) : [],
    resume: Boolean(e.resume),
    progress: [Number(p[0]) || 0, Number(p[1]) || 0],
    step: typeof e.step === "number" ? e.step : null,
    result: e.result && typeof e.result === "object" ? e.result : {},
    summary: typeof e.summary === "string" ? e.summary : null,
    marker_hash: typeof e.marker_hash === "string" ? e.marker_hash : null,
    error: typeof e.error === "string" && e.error ? e.error : null,
    queued: Number(e.queued) || 0,
    last: e.last && typeof e.last === "object" ? (e.last as EvaluationLast) : null,
  };
}

/** Boolean tags, then every value of every categorical tag as "name=value", with counts. */
export function tagOptions(summary: TagSummary | null | undefined): TagOption[] {
  const out: TagOption[] = [];
  for (const [name, count] of Object.entries(summary?.boolean ?? {})) {
    out.push({ value: name, label: `${name} (${formatCount(count)})`, count, category: null });
  }
  for (const [name, cat] of Object.entries(summary?.categorical ?? {})) {
    for (const v of cat.values ?? []) {
      const count = Number(cat.counts?.[v]) || 0;
      out.push({ value: `${name}=${v}`, label: `${name}=${v} (${formatCount(count)})`, count, category: name });
    }
  }
  return out;
}

/** The categorical tag of a "name=value" term (null for a boolean tag name). */
export function categoryOf(term: string): string | null {
  const at = term.indexOf("=");
  return at > 0 ? term.slice(0, at) : null;
}

/**
 * Add `term` to the chosen subset (a sample must have every tag). Another value of the same
 * categorical tag is replaced (no sample has two); a term already chosen is left as is.
 */
export function addTag(chosen: string[], term: string): string[] {
  if (!term || chosen.includes(term)) return chosen;
  const cat = categoryOf(term);
  const kept = cat === null ? chosen : chosen.filter((t) => categoryOf(t) !== cat);
  return [...kept, term];
}

/** Drop chosen terms that are no longer offered (a tag or value that went away). */
export function pruneTags(chosen: string[], options: TagOption[]): string[] {
  const offered = new Set(options.map((o) => o.value));
  const kept = chosen.filter((t) => offered.has(t));
  return kept.length === chosen.length ? chosen : kept;
}

/** The loader to preselect: the current choice if still watched, else the first evaluation
 * (non-training) loader, else the first one; "" when none is watched. */
export function defaultLoader(loaders: LoaderInfo[], current = ""): string {
  if (current && loaders.some((l) => l.name === current)) return current;
  return (loaders.find((l) => !l.is_training) ?? loaders[0])?.name ?? "";
}

/** [evaluate enabled, cancel enabled]. */
export function evalButtons(ev: EvaluationState, loader: string, maxQueued = 4): [boolean, boolean] {
  const live = LIVE_STATES.has(ev.state);
  return [loader !== "" && ev.queued < maxQueued, live];
}

/** "3 / 7 batches" (or "queued" before the pass starts). */
export function progressText(ev: EvaluationState): string {
  const [done, total] = ev.progress;
  if (ev.state === "pending") return ev.queued > 1 ? `queued (${ev.queued} waiting)` : "queued";
  if (total <= 0) return ev.state === "running" ? "starting…" : "";
  return `${formatCount(done)} / ${formatCount(total)} batches`;
}

/** Fraction of the pass done, in [0, 1]. */
export function progressFraction(ev: EvaluationState): number {
  const [done, total] = ev.progress;
  if (ev.state === "done") return 1;
  return total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
}

/** What the state badge says. */
export function stateLabel(ev: EvaluationState): string {
  switch (ev.state) {
    case "none": return "not run";
    case "pending": return "queued";
    case "timed_out": return "timed out";
    default: return ev.state;
  }
}

/** The result lines of the latest successful evaluation: [signal, formatted mean]. */
export function resultRows(last: EvaluationLast | null): [string, string][] {
  if (!last) return [];
  return Object.entries(last.result ?? {}).map(([k, v]) => [k, formatNumber(v as number | null)]);
}

/** "val_loader @ step 1,200 · tags a, q=x". */
export function resultHeading(last: EvaluationLast | null): string {
  if (!last) return "";
  const at = last.step === null || last.step === undefined ? "" : ` @ step ${formatCount(last.step)}`;
  const tags = last.tags?.length ? ` · ${last.tags.join(", ")}` : "";
  return `${last.loader}${at}${tags}`;
}
