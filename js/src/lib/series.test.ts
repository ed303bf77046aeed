import { describe, expect, it } from "vitest";
import { Series } from "./series";

const arr = (...v: number[]) => Float64Array.from(v);
function pts(start: number, n: number) {
  const step = Float64Array.from({ length: n }, (_, i) => start + i);
  return { step, mean: step.map((s) => s * 2), min: step.map((s) => s * 2 - 1), max: step.map((s) => s * 2 + 1) };
}

describe("Series", () => {
  it("appends consecutive messages and counts covered points", () => {
    const s = new Series("loss");
    expect(s.apply({ signal: "loss", start: 0, n: 3, downsampled: false, reset: true }, pts(0, 3))).toBe("replaced");
    expect(s.apply({ signal: "loss", start: 3, n: 2, downsampled: false }, pts(3, 2))).toBe("appended");
    expect(s.covered).toBe(5);
    expect(Array.from(s.rows().step)).toEqual([0, 1, 2, 3, 4]);
    expect(s.last()).toEqual({ step: 4, mean: 8 });
  });

  it("reports a gap and keeps its data", () => {
    const s = new Series("loss");
    s.apply({ signal: "loss", start: 0, n: 2, downsampled: false, reset: true }, pts(0, 2));
    expect(s.apply({ signal: "loss", start: 5, n: 1, downsampled: false }, pts(5, 1))).toBe("gap");
    expect(s.covered).toBe(2);
  });

  it("trims an overlap and drops duplicates", () => {
    const s = new Series("loss");
    s.apply({ signal: "loss", start: 0, n: 4, downsampled: false, reset: true }, pts(0, 4));
    expect(s.apply({ signal: "loss", start: 1, n: 2, downsampled: false }, pts(1, 2))).toBe("duplicate");
    expect(s.apply({ signal: "loss", start: 2, n: 4, downsampled: false }, pts(2, 4))).toBe("appended");
    expect(Array.from(s.rows().step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.covered).toBe(6);
  });

  it("accepts a downsampled snapshot whose rows are fewer than its points", () => {
    const s = new Series("loss");
    const r = s.apply(
      { signal: "loss", start: 0, n: 100, downsampled: true, reset: true },
      { step: arr(0, 50, 99), mean: arr(1, 2, 3), min: arr(0, 1, 3), max: arr(2, 3, 3), weight: arr(50, 49, 1) },
    );
    expect(r).toBe("replaced");
    expect(s.covered).toBe(100);
    expect(s.length).toBe(3);
    expect(s.downsampled).toBe(true);
    s.apply({ signal: "loss", start: 100, n: 1, downsampled: false }, pts(100, 1));
    expect(s.length).toBe(4);
  });

  it("keeps at most its target rows, extremes and the last point", () => {
    const s = new Series("loss", 100);
    s.apply({ signal: "loss", start: 0, n: 1000, downsampled: false, reset: true }, pts(0, 1000));
    expect(s.length).toBeLessThanOrEqual(100);
    expect(s.width).toBe(16);
    expect(s.downsampled).toBe(true);
    const rows = s.rows();
    expect(Math.max(...rows.max)).toBe(1999);
    expect(Math.min(...rows.min)).toBe(-1);
    expect(s.last()).toEqual({ step: 999, mean: 1998 });
    expect(s.covered).toBe(1000);
  });
});
