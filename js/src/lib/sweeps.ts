// SweepView helpers: the trial rows read from the `trials` trait, cell text, and the points of
// the metric-against-parameter scatter. Protocol: weightslab_nb/panels/sweeps.py.

export type TrialState = "running" | "finished" | "pruned" | "failed" | "queued";

export interface TrialRow {
  number: number;
  run: string;
  state: TrialState | string;
  params: Record<string, unknown>;
  value: number | null;
  intermediate: boolean;
  duration: number | null;
}

function finite(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** The rows of the `trials` trait; malformed entries are skipped. */
export function trialsOf(raw: unknown): TrialRow[] {
  if (!Array.isArray(raw)) return [];
  const out: TrialRow[] = [];
  for (const r of raw) {
    if (!r || typeof r !== "object" || typeof (r as any).number !== "number") continue;
    const t = r as Record<string, unknown>;
    out.push({
      number: t.number as number,
      run: typeof t.run === "string" ? t.run : "",
      state: typeof t.state === "string" ? t.state : "unknown",
      params: t.params && typeof t.params === "object" ? (t.params as Record<string, unknown>) : {},
      value: finite(t.value),
      intermediate: t.intermediate === true,
      duration: finite(t.duration),
    });
  }
  return out;
}

/** A parameter value as table text: numbers to 4 significant digits, others as given. */
export function paramText(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  return String(v);
}

/** "0.4 s", "12 s", "3 m 05 s", "1 h 02 m"; "–" when unknown. */
export function durationText(s: number | null): string {
  if (s === null || !Number.isFinite(s) || s < 0) return "–";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.round(s - m * 60)).padStart(2, "0")} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${String(m - hrs * 60).padStart(2, "0")} m`;
}

export interface ScatterPoint { number: number; x: number; y: number; label: string; state: string }

export interface Scatter {
  points: ScatterPoint[];
  /** The x categories when the parameter is not numeric (x is then the index), else null. */
  categories: string[] | null;
}

/**
 * The points (parameter value, metric) of the trials that have a metric. A numeric parameter
 * gives its value as x; any other gives the index of its value among the sorted distinct ones.
 */
export function scatterOf(rows: TrialRow[], param: string): Scatter {
  const have = rows.filter((r) => r.value !== null && param in r.params);
  const numeric = have.every((r) => typeof r.params[param] === "number");
  const categories = numeric ? null : [...new Set(have.map((r) => paramText(r.params[param])))].sort();
  const points = have.map((r) => {
    const raw = r.params[param];
    const x = numeric ? (raw as number) : categories!.indexOf(paramText(raw));
    return { number: r.number, x, y: r.value as number, label: paramText(raw), state: r.state };
  });
  return { points, categories };
}

/** Whether the numeric x values span more than two decades of positive numbers (use a log axis). */
export function wantsLogX(points: ScatterPoint[]): boolean {
  if (points.length < 2 || points.some((p) => p.x <= 0)) return false;
  const xs = points.map((p) => p.x);
  return Math.max(...xs) / Math.min(...xs) >= 100;
}
