// Number and text formatting shared by the panels.

/** A compact number: integers as is (with thin grouping), others with `digits` significant digits. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return formatCount(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(+v.toPrecision(digits));
}

/** An integer count with thousands separators: 12345 -> "12,345". */
export function formatCount(n: number): string {
  const s = String(Math.trunc(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 ? `-${s}` : s;
}

/** Steps per second, e.g. "12.3 steps/s"; "–" when not running. */
export function formatRate(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r) || r <= 0) return "–";
  return `${r >= 100 ? Math.round(r) : +r.toPrecision(3)} steps/s`;
}

/** Axis tick label: short, exponent form for very small/large values. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  // large ticks keep enough digits to tell neighbours apart (120000 -> "120k", not "1e5")
  for (const [unit, suffix] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e5, "k"]] as const) {
    if (a >= unit && a < 1e15) return `${+(v / (suffix === "k" ? 1e3 : unit)).toPrecision(4)}${suffix}`;
  }
  if (a >= 1e15 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  return String(+v.toPrecision(4));
}

/**
 * Labels for the ticks of one axis, in one unit: once the largest tick reaches 10,000 every tick
 * is written in thousands (or millions...), so "90k" sits beside "100k", not "90000".
 */
export function formatTicks(ticks: (number | null)[]): string[] {
  const top = Math.max(0, ...ticks.map((v) => (v == null || !Number.isFinite(v) ? 0 : Math.abs(v))));
  const unit = ([[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e4, "k"]] as const).find(([u]) => top >= u && top < 1e15);
  return ticks.map((v) => {
    if (v == null) return "";
    if (!unit || v === 0 || !Number.isInteger(v)) return formatTick(v);
    const [u, suffix] = unit;
    return `${+((v / (suffix === "k" ? 1e3 : u)).toPrecision(4))}${suffix}`;
  });
}

/** How a history statistic (`<column>@<stat>`) reads in the sort menu. */
export const HISTORY_STAT_LABELS: Record<string, string> = {
  mean: "mean over history",
  last: "last in history",
  max: "max over history",
  min: "min over history",
  count: "points in history",
};

/** Split "signals//loss@mean" into ["signals//loss", "mean"]; stat null for a plain column. */
export function splitHistoryColumn(column: string): [string, string | null] {
  const at = column.lastIndexOf("@");
  if (at <= 0 || !column.startsWith("signals//")) return [column, null];
  return [column.slice(0, at), column.slice(at + 1)];
}

/**
 * A column name for people: without its "signals//" prefix, and a history statistic spelt out:
 * "signals//train-loss@mean" -> "train-loss · mean over history".
 */
export function columnLabel(column: string): string {
  const [base, stat] = splitHistoryColumn(column);
  const name = base.startsWith("signals//") ? base.slice("signals//".length) : base;
  if (stat === null) return name;
  return `${name} · ${HISTORY_STAT_LABELS[stat] ?? `${stat} over history`}`;
}

/** Split "a, b ,c,,a" into distinct non-empty trimmed values, in order: ["a", "b", "c"]. */
export function parseValueList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}
