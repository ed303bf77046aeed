import { describe, expect, it } from "vitest";
import { buildChart, chartColumns, rowSpan, unionSteps, type CurvePart } from "./chartdata";

const f = (a: number[]) => Float64Array.from(a);
const part = (name: string, step: number[], mean: number[], extra: Partial<CurvePart> = {}): CurvePart => ({
  name, step: f(step), mean: f(mean), min: f(mean.map((v) => v - 1)), max: f(mean.map((v) => v + 1)), ...extra,
});

describe("buildChart", () => {
  it("puts two curves with different steps on one x axis, nulls where a curve has no row", () => {
    const got = buildChart([part("a", [0, 2, 4], [1, 2, 3]), part("b", [1, 2], [5, 6])], { band: false, smoothing: 0, log: false });
    expect(got.x).toEqual([0, 1, 2, 4]);
    expect(got.columns).toEqual([{ part: 0, role: "mean" }, { part: 1, role: "mean" }]);
    expect(got.values).toEqual([[1, null, 2, 3], [null, 5, 6, null]]);
    expect(got.drawn).toEqual([3, 2]);
  });

  it("draws the band below the lines, and the unsmoothed mean faintly when smoothing", () => {
    expect(chartColumns([part("a", [0], [1])], { band: true, smoothing: 0.5 }).map((c) => c.role))
      .toEqual(["max", "min", "raw", "mean"]);
    const got = buildChart([part("a", [0, 1], [0, 10])], { band: false, smoothing: 0.5, log: false });
    expect(got.values[0]).toEqual([0, 10]); // raw
    expect(got.values[1][0]).toBe(0);
    expect(got.values[1][1]).toBeCloseTo(20 / 3); // TensorBoard-debiased EMA
  });

  it("leaves NaN and, on a log scale, values <= 0 undrawn", () => {
    const got = buildChart([part("a", [0, 1, 2], [NaN, 0, 2])], { band: false, smoothing: 0, log: true });
    expect(got.values[0]).toEqual([null, null, 2]);
  });

  it("keeps only the zoomed range plus one neighbour each side, and counts the rows inside", () => {
    const steps = [0, 10, 20, 30, 40, 50];
    const got = buildChart([part("a", steps, steps)], { band: false, smoothing: 0, log: false, xRange: [15, 35] });
    expect(got.x).toEqual([10, 20, 30, 40]);
    expect(got.drawn).toEqual([2]);
    expect(rowSpan(f(steps), null)).toEqual([0, 6]);
  });

  it("draws a compared run's mean only", () => {
    const got = buildChart([part("a", [0], [1]), part("a", [0], [2], { overlay: "run:x" })], { band: true, smoothing: 0, log: false });
    expect(got.columns.map((c) => `${c.part}:${c.role}`)).toEqual(["0:max", "0:min", "0:mean", "1:mean"]);
  });

  it("merges sorted step arrays without duplicates", () => {
    expect(unionSteps([f([0, 3, 5]), f([1, 3, 6])])).toEqual([0, 1, 3, 5, 6]);
  });
});
