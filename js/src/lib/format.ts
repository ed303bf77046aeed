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
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(+v.toPrecision(4));
}

/** A signal column name shown without its "signals//" prefix. */
export function columnLabel(column: string): string {
  return column.startsWith("signals//") ? column.slice("signals//".length) : column;
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
