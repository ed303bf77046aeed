// The curve downsampler keeps the true envelope at any length (issue 10, item 1): bucketRows and
// the live Series against a brute-force reference written with plain loops over the raw points.
import { describe, expect, it } from "vitest";
import { bucketRows, type Rows } from "./downsample";
import { Series } from "./series";
// bucket_series' rows for these series, written by tests/unit/test_panels_curves_fixture.py
import fixture from "./buckets.fixture.json";

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function make(step: ArrayLike<number>, mean: ArrayLike<number>, spread?: ArrayLike<number>): Rows {
  const n = step.length;
  return {
    step: Float64Array.from(step), mean: Float64Array.from(mean),
    min: Float64Array.from({ length: n }, (_, i) => mean[i] - (spread ? spread[i] : 0)),
    max: Float64Array.from({ length: n }, (_, i) => mean[i] + (spread ? spread[i] : 0)),
    weight: new Float64Array(n).fill(1),
  };
}

function adversarial(n: number, seed: number): Record<string, Rows> {
  const r = rng(seed);
  const steps = Array.from({ length: n }, (_, i) => i);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
  const spike = new Array(n).fill(0); spike[Math.floor(r() * n)] = 1e6;
  const first48 = steps.map((i) => (i === 0 ? 48 : 0.01));
  const plateau = steps.map((i) => Math.floor(i / 500) % 3);
  const alternating = steps.map((i) => (i % 2 ? 1e3 : -1e3));
  const gaps = steps.map((i) => (r() < 0.3 || (i > n / 3 && i < n / 2) ? NaN : normal()));
  let acc = 0;
  const sparse = steps.map(() => (acc += 1 + Math.floor(r() * 49)));
  const repeated = steps.map(() => Math.floor(r() * (n / 3 + 1))).sort((a, b) => a - b);
  return {
    random: make(steps, steps.map(normal), steps.map(() => r())),
    "single spike": make(steps, spike),
    "48 at step 0 then flat (the issue)": make(steps, first48),
    plateaus: make(steps, plateau),
    "alternating extremes": make(steps, alternating),
    "NaN gaps": make(steps, gaps, gaps.map((g) => Math.abs(g))),
    "sparse steps": make(sparse, steps.map(normal)),
    "repeated steps": make(repeated, steps.map(normal)),
  };
}

interface RefRow { step: number; mean: number; min: number; max: number; weight: number }

/** Brute force: the smallest power-of-two width with <= target - 1 runs, then plain loops. */
function reference(rows: Rows, target: number): { width: number; rows: RefRow[] } {
  const n = rows.step.length, body = Math.max(n - 1, 0);
  const runs = (w: number) => {
    let c = 0;
    for (let i = 0; i < body; i++) if (i === 0 || Math.floor(rows.step[i] / w) !== Math.floor(rows.step[i - 1] / w)) c++;
    return c;
  };
  let width = 1;
  while (runs(width) > target - 1) width *= 2;
  const out: RefRow[] = [];
  for (let i = 0; i < body;) {
    let j = i;
    while (j < body && Math.floor(rows.step[j] / width) === Math.floor(rows.step[i] / width)) j++;
    const ms: number[] = [], los: number[] = [], his: number[] = [];
    for (let k = i; k < j; k++) {
      if (!Number.isNaN(rows.mean[k])) ms.push(rows.mean[k]);
      if (!Number.isNaN(rows.min[k])) los.push(rows.min[k]);
      if (!Number.isNaN(rows.max[k])) his.push(rows.max[k]);
    }
    out.push({
      step: rows.step[i], mean: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : NaN,
      min: los.length ? los.reduce((a, b) => Math.min(a, b)) : NaN,
      max: his.length ? his.reduce((a, b) => Math.max(a, b)) : NaN, weight: j - i,
    });
    i = j;
  }
  if (n) out.push({ step: rows.step[body], mean: rows.mean[body], min: rows.min[body], max: rows.max[body], weight: 1 });
  return { width, rows: out };
}

function closeTo(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

/** Every row equals the reference: step, min, max and weight exactly, mean within 1e-9. */
function expectReference(got: Rows, ref: { rows: RefRow[] }, label: string): void {
  expect(got.step.length, label).toBe(ref.rows.length);
  ref.rows.forEach((r, i) => {
    const row = `${label} row ${i}`;
    expect(got.step[i], row).toBe(r.step);
    expect(got.min[i], row).toBe(r.min);
    expect(got.max[i], row).toBe(r.max);
    expect(got.weight[i], row).toBe(r.weight);
    if (!closeTo(got.mean[i], r.mean)) expect(got.mean[i], row).toBe(r.mean);
  });
}

function slice(rows: Rows, a: number, b: number): Record<string, Float64Array> {
  return { step: rows.step.slice(a, b), mean: rows.mean.slice(a, b), min: rows.min.slice(a, b), max: rows.max.slice(a, b) };
}

describe("bucketRows keeps the true envelope", () => {
  for (const [n, target] of [[2, 2], [3, 2], [17, 4], [1000, 16], [5000, 100], [20001, 400]]) {
    it(`matches the brute-force reference: ${n} points, target ${target}`, () => {
      for (const [name, rows] of Object.entries(adversarial(n, n + target))) {
        const ref = reference(rows, target);
        const got = bucketRows(rows, target);
        expect(got.width, name).toBe(ref.width);
        expect(got.step.length).toBeLessThanOrEqual(target);
        expectReference(got, ref, name);
      }
    });
  }
});

describe("Series (the live copy) equals bucketing everything at once", () => {
  it("appended one point at a time, for every adversarial series", () => {
    for (const [name, rows] of Object.entries(adversarial(20_000, 3))) {
      const s = new Series(name, 64);
      for (let i = 0; i < rows.step.length; i++) {
        s.apply({ signal: name, start: i, n: 1, downsampled: false, reset: i === 0 }, slice(rows, i, i + 1));
        expect(s.length).toBeLessThanOrEqual(64);
      }
      const ref = reference(rows, 64);
      expect(s.width, name).toBe(ref.width);
      expectReference(s.rows(), ref, name);
    }
  });

  it("from a downsampled snapshot, then appended in chunks", () => {
    for (const [name, rows] of Object.entries(adversarial(30_000, 5))) {
      const head = bucketRows({ ...rows, ...slice(rows, 0, 12_345), weight: new Float64Array(12_345).fill(1) }, 64);
      const s = new Series(name, 64);
      s.apply({ signal: name, start: 0, n: 12_345, downsampled: true, width: head.width, reset: true },
        { step: head.step, mean: head.mean, min: head.min, max: head.max, weight: head.weight, mean_weight: head.meanWeight });
      for (let i = 12_345; i < 30_000; i += 777) {
        const j = Math.min(i + 777, 30_000);
        expect(s.apply({ signal: name, start: i, n: j - i, downsampled: false }, slice(rows, i, j))).toBe("appended");
      }
      expectReference(s.rows(), reference(rows, 64), name);
      expect(s.covered).toBe(30_000);
    }
  });

  it("a million steps appended one at a time keep every bucket's envelope (the 92k-step bug)", () => {
    const n = 1_000_000, target = 4000;
    const r = rng(42);
    const step = new Float64Array(n), mean = new Float64Array(n);
    let walk = 0;
    for (let i = 0; i < n; i++) { step[i] = i; walk += r() - 0.5; mean[i] = i === 0 ? 48 : walk * 1e-3; }
    mean[654_321] = 1e9;
    const rows = make(step, mean, Array.from({ length: n }, () => r()));
    const s = new Series("loss", target);
    const one = { step: new Float64Array(1), mean: new Float64Array(1), min: new Float64Array(1), max: new Float64Array(1) };
    let widest = 0;
    for (let i = 0; i < n; i++) {
      one.step[0] = rows.step[i]; one.mean[0] = rows.mean[i]; one.min[0] = rows.min[i]; one.max[0] = rows.max[i];
      s.apply({ signal: "loss", start: i, n: 1, downsampled: false, reset: i === 0 }, one);
      if (i === 92_000) {
        // at 92k steps no bucket is wider than the width: step 0..49k is not one segment
        const got = s.rows();
        for (let k = 0; k + 2 < got.step.length; k++) widest = Math.max(widest, got.step[k + 1] - got.step[k]);
        expect(widest).toBeLessThanOrEqual(s.width);
        expect(s.width).toBe(32);
        expect(got.max[0]).toBe(rows.max[0]);
        expect(got.weight[0]).toBe(32);
      }
    }
    expect(s.length).toBeLessThanOrEqual(target);
    expect(s.width).toBe(256);
    const all = bucketRows(rows, target);
    expect(all.width).toBe(256);
    const got = s.rows();
    // each row against its own slice of the raw points
    let a = 0;
    for (let k = 0; k < got.step.length - 1; k++) {
      const b = a + got.weight[k];
      let lo = Infinity, hi = -Infinity, sum = 0;
      for (let i = a; i < b; i++) { lo = Math.min(lo, rows.min[i]); hi = Math.max(hi, rows.max[i]); sum += rows.mean[i]; }
      expect(rows.step[a]).toBe(got.step[k]);
      expect(got.min[k]).toBe(lo);
      expect(got.max[k]).toBe(hi);
      expect(closeTo(got.mean[k], sum / (b - a))).toBe(true);
      expect(all.step[k]).toBe(got.step[k]);
      expect(all.max[k]).toBe(got.max[k]);
      a = b;
    }
    expect(a).toBe(n - 1);
    expect(Math.max(...got.max)).toBe(rows.max[654_321]);
  }, 60_000);
});

describe("the same rule as Python's bucket_series (shared fixture)", () => {
  const num = (a: (number | null)[]) => Float64Array.from(a, (v) => (v === null ? NaN : v));
  for (const c of fixture as any[]) {
    it(`${c.name}: bucketRows and a live Series give Python's rows`, () => {
      const rows = make(num(c.input.step), num(c.input.mean));
      rows.min = num(c.input.min); rows.max = num(c.input.max);
      for (const run of c.runs) {
        const want = run.output;
        const label = `${c.name} target ${run.target}`;
        const got = bucketRows(rows, run.target);
        const s = new Series(c.name, run.target);
        for (let i = 0; i < rows.step.length; i += 7) {
          s.apply({ signal: c.name, start: i, n: Math.min(7, rows.step.length - i), downsampled: false, reset: i === 0 },
            slice(rows, i, i + 7));
        }
        for (const out of [got, s.rows()]) {
          expect(got.width, label).toBe(run.width);
          expect(s.width, label).toBe(run.width);
          for (const [k, col] of [["step", "step"], ["min", "min"], ["max", "max"], ["weight", "weight"], ["meanWeight", "mean_weight"]]) {
            expect(Array.from((out as any)[k] as Float64Array), `${label} ${k}`).toEqual(Array.from(num(want[col])));
          }
          const m = num(want.mean);
          out.mean.forEach((v, i) => { if (!closeTo(v, m[i])) expect(v, `${label} mean ${i}`).toBe(m[i]); });
        }
      }
    });
  }
});
