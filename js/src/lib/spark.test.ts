import { describe, expect, it } from "vitest";
import { indexOfStep, pageSparkDomain, sparkDomain, sparkPath, sparkXY, splitSpark } from "./spark";

const f = (xs: number[]) => Float64Array.from(xs);

describe("sparklines", () => {
  it("splits the page arrays per row by offsets", () => {
    const rows = splitSpark([0, 2, 2, 5], f([1, 2, 3, 4, 5]), f([0.5, 0.4, 1, 2, 3]), 3);
    expect(rows.map((r) => Array.from(r.values))).toEqual([[0.5, 0.4], [], [1, 2, 3]]);
    expect(Array.from(rows[2].steps)).toEqual([3, 4, 5]);
  });

  it("rejects offsets that do not describe the arrays", () => {
    expect(() => splitSpark([0, 2], f([1, 2, 3]), f([1, 2, 3]), 1)).toThrow(/cover/);
    expect(() => splitSpark([0, 3, 2, 3], f([1, 2, 3]), f([1, 2, 3]), 3)).toThrow(/decrease/);
    expect(() => splitSpark([0, 1], f([1]), f([1]), 2)).toThrow(/offsets for 2 rows/);
    expect(() => splitSpark([0, 1], f([1, 2]), f([1]), 1)).toThrow(/steps/);
  });

  it("maps values into the box: x by index, larger values higher", () => {
    expect(sparkXY(0, 3, 0, 62, 22, [0, 2])).toEqual([1, 21]);
    expect(sparkXY(2, 3, 2, 62, 22, [0, 2])).toEqual([61, 1]);
    expect(sparkXY(1, 3, 1, 62, 22, [0, 2])).toEqual([31, 11]);
    expect(sparkXY(0, 1, 5, 62, 22, [5, 5])).toEqual([31, 11]); // one point, flat domain
  });

  it("builds the path, breaking at NaN and drawing a lone point as a dash", () => {
    expect(sparkPath(f([2, 1, 0]), 62, 22)).toBe("M1 1L31 11L61 21");
    expect(sparkPath(f([0, NaN, 1, 2]), 32, 12, 1, [0, 2])).toBe("M-0.5 11L2.5 11M21 6L31 1");
    expect(sparkPath(f([]), 60, 20)).toBe("");
    expect(sparkPath(f([NaN]), 60, 20)).toBe("");
    expect(sparkDomain(f([3, NaN, -1, Infinity]))).toEqual([-1, 3]);
  });

  it("finds a step in a row", () => {
    expect(indexOfStep(f([1, 5, 9, 12]), 9)).toBe(2);
    expect(indexOfStep(f([1, 5, 9, 12]), 6)).toBe(-1);
    expect(indexOfStep(f([]), 1)).toBe(-1);
  });
});

describe("one scale per page", () => {
  it("spans every row's finite values and skips rows without any", () => {
    const row = (...v: number[]) => ({ steps: new Float64Array(v.map((_, i) => i)), values: new Float64Array(v) });
    expect(pageSparkDomain([row(1, 2), null, row(Number.NaN), row(0.5, 3)])).toEqual([0.5, 3]);
    expect(pageSparkDomain([null, row(Number.NaN)])).toBeNull();
    expect(pageSparkDomain([])).toBeNull();
  });
});
