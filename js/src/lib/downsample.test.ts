import { describe, expect, it } from "vitest";
import { bucketRows, ema, type Rows } from "./downsample";

function raw(values: number[], spread = 0): Rows {
  const n = values.length;
  return {
    step: Float64Array.from({ length: n }, (_, i) => i),
    mean: Float64Array.from(values),
    min: Float64Array.from(values, (v) => v - spread),
    max: Float64Array.from(values, (v) => v + spread),
    weight: new Float64Array(n).fill(1),
  };
}

describe("bucketRows", () => {
  it("returns small inputs as they are (width 1)", () => {
    const r = raw([1, 2, 3]);
    const b = bucketRows(r, 10);
    expect(b.width).toBe(1);
    expect(Array.from(b.mean)).toEqual([1, 2, 3]);
    expect(Array.from(b.weight)).toEqual([1, 1, 1]);
  });

  it("keeps the global min/max and the exact last point", () => {
    const values = Array.from({ length: 10001 }, (_, i) => Math.sin(i / 37) * 5 + (i === 4242 ? 100 : 0));
    const r = raw(values, 0.5);
    const b = bucketRows(r, 500);
    expect(b.step.length).toBeLessThanOrEqual(500);
    expect(Math.max(...b.max)).toBe(Math.max(...r.max));
    expect(Math.min(...b.min)).toBe(Math.min(...r.min));
    const last = b.step.length - 1;
    expect(b.step[last]).toBe(10000);
    expect(b.mean[last]).toBe(values[10000]);
    expect(b.weight.reduce((a, c) => a + c, 0)).toBe(10001);
  });

  it("weights means by the points each row stands for", () => {
    const r: Rows = {
      step: Float64Array.from([0, 10, 11, 12]),
      mean: Float64Array.from([1, 4, 0, 9]),
      min: Float64Array.from([0, 4, 0, 9]),
      max: Float64Array.from([2, 4, 0, 9]),
      weight: Float64Array.from([10, 1, 1, 1]),
    };
    const b = bucketRows(r, 2); // one bucket of 3 rows + last
    expect(b.step[0]).toBe(0);
    expect(b.mean[0]).toBeCloseTo((1 * 10 + 4 + 0) / 12);
    expect(b.weight[0]).toBe(12);
  });

  it("ignores NaN inside a bucket", () => {
    const b = bucketRows(raw([NaN, 2, NaN, 4, 5]), 3);
    expect(b.mean[0]).toBe(2);
    expect(b.mean[1]).toBe(4);
  });
});

describe("ema", () => {
  it("is the identity without smoothing", () => {
    expect(Array.from(ema([1, 5, 2], 0))).toEqual([1, 5, 2]);
  });

  it("is debiased: a constant series stays constant", () => {
    expect(Array.from(ema([3, 3, 3, 3], 0.9)).map((v) => +v.toFixed(12))).toEqual([3, 3, 3, 3]);
  });

  it("lags behind a step change and carries over NaN", () => {
    const s = ema([0, 0, 10, NaN], 0.5);
    expect(s[2]).toBeGreaterThan(0);
    expect(s[2]).toBeLessThan(10);
    expect(s[3]).toBe(s[2]);
  });
});
