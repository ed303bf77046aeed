import { describe, expect, it } from "vitest";
import { columnLabel, splitHistoryColumn, formatCount, formatNumber, formatRate, formatTick, formatTicks, parseValueList } from "./format";

describe("format", () => {
  it("formats numbers compactly", () => {
    expect(formatNumber(1797)).toBe("1,797");
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(2.5e-5)).toBe("2.5e-5");
    expect(formatNumber(null)).toBe("–");
    expect(formatNumber(NaN)).toBe("–");
    expect(formatNumber(-Infinity)).toBe("-∞");
  });

  it("formats counts, rates and ticks", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(-1000)).toBe("-1,000");
    expect(formatRate(0)).toBe("–");
    expect(formatRate(12.345)).toBe("12.3 steps/s");
    expect(formatRate(250.4)).toBe("250 steps/s");
    expect(formatTick(0.0001)).toBe("1e-4");
    expect(formatTick(2.5)).toBe("2.5");
    // neighbouring step ticks of a long run stay distinct (they all read "1e5" / "2e5" before)
    expect([100_000, 120_000, 140_000, 160_000, 180_000, 200_000].map(formatTick))
      .toEqual(["100k", "120k", "140k", "160k", "180k", "200k"]);
    expect(formatTick(80_000)).toBe("80000");
    expect(formatTick(1_250_000)).toBe("1.25M");
    expect(formatTick(3e9)).toBe("3G");
    expect(formatTick(2.5e-5)).toBe("2.5e-5");
  });

  it("strips the signals// prefix and parses value lists", () => {
    expect(columnLabel("signals//train-loss")).toBe("train-loss");
    expect(columnLabel("target")).toBe("target");
    expect(parseValueList(" a, b ,c,,a ")).toEqual(["a", "b", "c"]);
  });

  it("spells out history statistics", () => {
    expect(columnLabel("signals//train-loss@mean")).toBe("train-loss · mean over history");
    expect(columnLabel("signals//train-loss@last")).toBe("train-loss · last in history");
    expect(columnLabel("signals//train-loss@max")).toBe("train-loss · max over history");
    expect(columnLabel("signals//a@b@median")).toBe("a@b · median over history");
    expect(splitHistoryColumn("signals//x@min")).toEqual(["signals//x", "min"]);
    expect(splitHistoryColumn("signals//x")).toEqual(["signals//x", null]);
    expect(splitHistoryColumn("target")).toEqual(["target", null]);
  });
});

describe("formatTicks", () => {
  it("writes every tick of an axis in one unit once it reaches 10k", () => {
    expect(formatTicks([0, 10_000, 20_000, 90_000, 100_000])).toEqual(["0", "10k", "20k", "90k", "100k"]);
    expect(formatTicks([0, 500_000, 1_000_000, 1_500_000])).toEqual(["0", "0.5M", "1M", "1.5M"]);
    expect(formatTicks([0, 2000, 4000])).toEqual(["0", "2000", "4000"]);
    expect(formatTicks([0.25, 0.5, null])).toEqual(["0.25", "0.5", ""]);
  });
});

