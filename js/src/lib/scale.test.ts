import { describe, expect, it } from "vitest";
import { curveRange, extent, logTicks, makeScale, nearestIndex, niceTicks, pad, quantile } from "./scale";

describe("scale", () => {
  it("extent skips NaN and, on a log axis, non-positive values", () => {
    expect(extent([[3, NaN, -1], [7]])).toEqual([-1, 7]);
    expect(extent([[0, -2, 0.5, 4]], true)).toEqual([0.5, 4]);
    expect(extent([[NaN]])).toBeNull();
  });

  it("pads degenerate ranges", () => {
    expect(pad([2, 2])).toEqual([1.8, 2.2]);
    expect(pad([0, 0])).toEqual([-1, 1]);
  });

  it("gives round ticks inside the range", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3, 17, 4)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(0.013, 0.0471, 3)).toEqual([0.02, 0.03, 0.04]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it("gives powers of ten on a wide log axis", () => {
    expect(logTicks(0.005, 20)).toEqual([0.01, 0.1, 1, 10]);
    expect(logTicks(2, 8).every((t) => t > 0)).toBe(true);
  });

  it("maps linearly and logarithmically", () => {
    const lin = makeScale([0, 10], [100, 0]);
    expect(lin(5)).toBe(50);
    const log = makeScale([1, 100], [0, 200], true);
    expect(log(10)).toBeCloseTo(100);
    expect(log(0)).toBeNaN();
  });

  it("finds the nearest step", () => {
    const s = [0, 10, 20, 30];
    expect(nearestIndex(s, 14)).toBe(1);
    expect(nearestIndex(s, 16)).toBe(2);
    expect(nearestIndex(s, -5)).toBe(0);
    expect(nearestIndex(s, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});

describe("curveRange (the default y-range)", () => {
  const rowsOf = (mean: number[], min: number[], max: number[]) => ({
    mean: Float64Array.from(mean), min: Float64Array.from(min), max: Float64Array.from(max),
  });
  // the issue: a mean near 0 and a band whose max reaches 13 in a few buckets
  const n = 1000;
  const mean = Array.from({ length: n }, (_, i) => 0.1 + 0.01 * Math.sin(i));
  const min = mean.map((m) => m - 0.05);
  const max = mean.map((m, i) => (i % 250 === 0 ? 13 : m + 0.05));

  it("keeps the mean line and the band's 1st-99th percentile, not its few extreme maxima", () => {
    const r = curveRange([rowsOf(mean, min, max)], { band: true })!;
    expect(r[1]).toBeLessThan(0.2);
    expect(r[0]).toBeLessThanOrEqual(Math.min(...min) + 1e-3);
    expect(r[1]).toBeGreaterThanOrEqual(Math.max(...mean));
  });

  it("fits the whole band on request, and only the means without a band", () => {
    expect(curveRange([rowsOf(mean, min, max)], { band: true, fitBand: true })![1]).toBe(13);
    const means = curveRange([rowsOf(mean, min, max)], { band: false })!;
    expect(means).toEqual([Math.min(...mean), Math.max(...mean)]);
  });

  it("never cuts the mean line or extra values (markers), even when the band is narrower", () => {
    const r = curveRange([rowsOf([0, 100], [0, 100], [0, 100])], { band: true, extra: [[-5]] })!;
    expect(r).toEqual([-5, 100]);
  });

  it("on a log scale ignores values <= 0 and is null when nothing is finite", () => {
    const r = curveRange([rowsOf([1, 10], [-1, 0], [2, 20])], { band: true, fitBand: true, log: true })!;
    expect(r).toEqual([1, 20]);
    expect(curveRange([rowsOf([NaN], [NaN], [NaN])], { band: true })).toBeNull();
  });

  it("quantile takes the lower nearest rank", () => {
    expect(quantile([[5, 1, 3, 2, 4]], 0)).toBe(1);
    expect(quantile([[5, 1, 3, 2, 4]], 0.5)).toBe(3);
    expect(quantile([[5, 1, 3, 2, 4]], 1)).toBe(5);
    expect(quantile([[]], 0.5)).toBeNaN();
  });
});
