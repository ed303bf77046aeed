import { describe, expect, it } from "vitest";
import { durationText, paramText, scatterOf, trialsOf, wantsLogX } from "./sweeps";

const rows = trialsOf([
  { number: 0, run: "p/a", state: "finished", params: { lr: 0.1, opt: "sgd" }, value: 0.2, intermediate: false, duration: 1.5 },
  { number: 1, run: "p/b", state: "running", params: { lr: 0.001, opt: "adam" }, value: null, intermediate: false, duration: 0.3 },
  { number: 2, run: "", state: "pruned", params: { lr: 0.01, opt: "adam" }, value: 0.5, intermediate: true, duration: null },
  { bad: true },
  null,
]);

describe("sweep trials", () => {
  it("reads rows and skips malformed ones", () => {
    expect(rows.map((r) => r.number)).toEqual([0, 1, 2]);
    expect(rows[2].intermediate).toBe(true);
    expect(trialsOf("nope")).toEqual([]);
  });

  it("formats parameter values and durations", () => {
    expect(paramText(0.000123456)).toBe("0.0001235");
    expect(paramText(3)).toBe("3");
    expect(paramText(null)).toBe("–");
    expect(durationText(1.25)).toBe("1.3 s");
    expect(durationText(125)).toBe("2 m 05 s");
    expect(durationText(3720)).toBe("1 h 02 m");
    expect(durationText(null)).toBe("–");
  });

  it("places numeric parameters by value and others by category, only trials with a metric", () => {
    const lr = scatterOf(rows, "lr");
    expect(lr.categories).toBeNull();
    expect(lr.points.map((p) => [p.number, p.x, p.y])).toEqual([[0, 0.1, 0.2], [2, 0.01, 0.5]]);
    expect(wantsLogX(lr.points)).toBe(false);
    const opt = scatterOf(rows, "opt");
    expect(opt.categories).toEqual(["adam", "sgd"]);
    expect(opt.points.map((p) => p.x)).toEqual([1, 0]);
    expect(wantsLogX([{ number: 0, x: 0.001, y: 1, label: "", state: "" }, { number: 1, x: 0.1, y: 1, label: "", state: "" }])).toBe(true);
  });
});
