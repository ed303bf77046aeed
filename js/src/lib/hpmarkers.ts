// Markers of applied hyperparameter changes on the curves: the list kept in step with Python
// (`hp_markers` messages, see weightslab_nb/panels/curves.py), which of them a plot can place,
// the one under the pointer and its readout ("lr 0.01 → 0.001 at step 1,200").

import { formatCount, formatNumber } from "./format";

export interface HpChange {
  key: string;
  step: number | null;
  old: unknown;
  new: unknown;
  source: string;
  deleted: boolean;
  experiment_hash: string | null;
}

/** Changes from a message (malformed entries are dropped). */
export function parseHpChanges(raw: unknown): HpChange[] {
  if (!Array.isArray(raw)) return [];
  const out: HpChange[] = [];
  for (const c of raw) {
    if (!c || typeof c !== "object" || typeof c.key !== "string") continue;
    const step = typeof c.step === "number" && Number.isFinite(c.step) ? c.step : null;
    out.push({
      key: c.key, step, old: c.old, new: c.new, source: typeof c.source === "string" ? c.source : "",
      deleted: c.deleted === true, experiment_hash: typeof c.experiment_hash === "string" ? c.experiment_hash : null,
    });
  }
  return out;
}

/** The changes a plot can place: with a step, not deletions. */
export function placedHpChanges(list: HpChange[]): HpChange[] {
  return list.filter((c) => c.step !== null && !c.deleted);
}

/** A hyperparameter value as the readout shows it. */
export function formatHpValue(v: unknown): string {
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "–";
  if (Array.isArray(v)) return `[${v.map(formatHpValue).join(", ")}]`;
  return JSON.stringify(v);
}

/** "lr 0.01 → 0.001 at step 1,200" (several changes of one step: one line each). */
export function hpReadout(changes: HpChange[]): string {
  return changes.map((c) => `${c.key} ${formatHpValue(c.old)} → ${formatHpValue(c.new)} at step ${formatCount(c.step ?? 0)}`).join("\n");
}

/**
 * The changes whose line is nearest to pixel column `px` (within `radius` px): every change of
 * that step. `toPx` maps a step to its pixel column.
 */
export function hpChangesAt(list: HpChange[], toPx: (step: number) => number, px: number, radius = 4): HpChange[] {
  let best: number | null = null, bestD = radius;
  for (const c of list) {
    if (c.step === null) continue;
    const d = Math.abs(toPx(c.step) - px);
    if (Number.isFinite(d) && d <= bestD) { best = c.step; bestD = d; }
  }
  return best === null ? [] : list.filter((c) => c.step === best);
}
