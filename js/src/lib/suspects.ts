// The grid's suspects: the "suspects" sort preset (when it becomes the default sort:
// lib/default_sort.ts), the
// evidence of a cell (tooltip lines, the suggested-class badge), and the texts of the "tag
// flagged" / "discard flagged" actions. Python side: weightslab_nb/panels/suspect_ranking.py.

import { formatCount, formatNumber } from "./format";

/** The `sort_by` of the preset: the suspects score, most suspect first (descending). */
export const SUSPECTS_SORT = "suspects";
export const SUSPECTS_LABEL = "★ suspects";

/** One origin's ranking (the `suspects` trait). */
export interface OriginSuspects {
  ready: boolean; // enough history for the preset to be the default sort
  scored: number;
  flagged: number;
  samples: number; // active samples of the origin
  ready_share: number;
  method: string; // "margin" or "loss"
}

export interface SuspectsInfo {
  version: number;
  origins: Record<string, OriginSuspects>;
}

/** A row's evidence (`rows[i].suspect`). */
export interface Evidence {
  score: number | null;
  flagged: boolean;
  label: number | null;
  predicted_class: number | null;
  suggested_class: number | null;
  mean_loss: number | null;
  mean_margin: number | null;
  forgetting: number | null;
  presentations: number | null;
  loss_shape: string | null;
  origin: string;
  rank: number;
  scored: number;
  method: string;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** The `suspects` trait read defensively (malformed origins are dropped). */
export function suspectsInfo(value: unknown): SuspectsInfo {
  const v = (value ?? {}) as { version?: unknown; origins?: unknown };
  const origins: Record<string, OriginSuspects> = {};
  if (v.origins && typeof v.origins === "object") {
    for (const [name, o] of Object.entries(v.origins as Record<string, Record<string, unknown>>)) {
      if (!o || typeof o !== "object") continue;
      origins[name] = {
        ready: o.ready === true, scored: num(o.scored), flagged: num(o.flagged), samples: num(o.samples),
        ready_share: num(o.ready_share), method: String(o.method ?? "margin"),
      };
    }
  }
  return { version: num(v.version), origins };
}

/** Whether the grid, showing `origin` (null: every origin), has a ranking ready to sort by. */
export function suspectsReady(info: SuspectsInfo, origin: string | null): boolean {
  if (origin !== null) return info.origins[origin]?.ready === true;
  return Object.values(info.origins).some((o) => o.ready);
}

/**
 * The origin the flagged actions act on: the grid's origin filter when it has a ranking, else
 * the only ranked origin, else "train" when ranked, else the ranked origin with most flags.
 */
export function flaggedOrigin(info: SuspectsInfo, filter: string | null): string | null {
  const names = Object.keys(info.origins);
  if (filter !== null) return names.includes(filter) ? filter : null;
  if (names.length <= 1) return names[0] ?? null;
  if (names.includes("train")) return "train";
  return names.reduce((best, o) => (info.origins[o].flagged > info.origins[best].flagged ? o : best));
}

/** "271 flagged of 1,797 in train" (the suspects bar), or a note while history is short. */
export function flaggedSummary(info: SuspectsInfo, origin: string | null): string {
  const o = origin === null ? undefined : info.origins[origin];
  if (!o) return "no suspects ranking yet";
  const flagged = `${formatCount(o.flagged)} flagged of ${formatCount(o.scored)} in ${origin}`;
  return o.ready ? flagged : `${flagged} (short history: ${Math.round(o.ready_share * 100)}% of samples seen twice)`;
}

/** The suggested-class badge of a flagged cell ("→ 7"), or null. */
export function suggestionBadge(ev: Evidence | null | undefined): string | null {
  if (!ev || !ev.flagged || ev.suggested_class === null || ev.suggested_class === undefined) return null;
  return `→ ${formatNumber(ev.suggested_class)}`;
}

/** The evidence lines of a cell's tooltip. */
export function evidenceLines(ev: Evidence | null | undefined): string[] {
  if (!ev) return [];
  const lines = [
    `suspect #${formatCount(ev.rank)} of ${formatCount(ev.scored)} in ${ev.origin}${ev.flagged ? " — flagged: the label looks wrong" : ""}`,
    `score ${formatNumber(ev.score, 3)} (${ev.method === "margin" ? "mean margin deficit" : "mean loss"})`,
  ];
  const label = `label ${formatNumber(ev.label)}`;
  if (ev.suggested_class !== null && ev.suggested_class !== undefined) {
    lines.push(`${label} → suggested class ${formatNumber(ev.suggested_class)} (predicted ${formatNumber(ev.predicted_class)})`);
  } else {
    lines.push(label);
  }
  lines.push(`mean loss ${formatNumber(ev.mean_loss, 3)} · mean margin ${formatNumber(ev.mean_margin, 3)}`);
  lines.push(`forgetting events ${formatNumber(ev.forgetting)} · ${formatNumber(ev.presentations)} presentations`);
  if (ev.loss_shape) lines.push(`loss shape ${ev.loss_shape}`);
  return lines;
}

/** A `flagged_result` reply (a preview or a run). */
export interface FlaggedReply {
  action: "tag" | "discard";
  origin: string;
  flagged: number;
  count: number;
  already: number;
  digest: string;
  tag?: string | null;
}

const samples = (n: number): string => `${formatCount(n)} ${n === 1 ? "sample" : "samples"}`;

/**
 * The question of the confirmation: what the action will touch, and where; `ranking` (the
 * origin's entry of the `suspects` trait) adds a warning while its history is short.
 */
export function confirmText(p: FlaggedReply, ranking?: OriginSuspects): string {
  const short = ranking && !ranking.ready
    ? ` The ranking rests on a short history (${Math.round(ranking.ready_share * 100)}% of samples seen twice).`
    : "";
  const already = p.already
    ? ` (${formatCount(p.already)} flagged ${p.action === "tag" ? `already ${p.already === 1 ? "has" : "have"} it` : `${p.already === 1 ? "is" : "are"} discarded already`})`
    : "";
  const what = `${formatCount(p.count)} flagged ${p.count === 1 ? "sample" : "samples"} of origin ${p.origin}`;
  if (p.action === "tag") return `Tag ${what} as '${p.tag ?? "suspect"}'?${already}${short}`;
  return `Discard ${what}?${already} They are skipped from the next batch on.${short}`;
}

/** The undo button's label after an action ran. */
export function undoLabel(p: FlaggedReply): string {
  return p.action === "tag" ? `undo (untag ${samples(p.count)})` : `undo (restore ${samples(p.count)})`;
}
