import { describe, expect, it } from "vitest";
import { extent, logTicks, makeScale, nearestIndex, niceTicks, pad } from "./scale";

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
