import { afterEach, describe, expect, it, vi } from "vitest";
import { clampOffset, defaultGridState, pageLabel, pageRequest, parseBound, Throttle } from "./query";

describe("grid query", () => {
  it("parses range bounds", () => {
    expect(parseBound("")).toBeNull();
    expect(parseBound(" 0.5 ")).toBe(0.5);
    expect(parseBound("-1e3")).toBe(-1000);
    expect(parseBound("abc")).toBeUndefined();
  });

  it("builds the page message fields", () => {
    const s = { ...defaultGridState(), sortBy: "signals//loss", signal: "signals//loss", signalMin: "0.5", tags: ["bad"] };
    const r = pageRequest(s);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.fields).toEqual({
        offset: 0, limit: 48, sort_by: "signals//loss", descending: true, tags: ["bad"],
        discarded: "all", origin: null, signal: "signals//loss", signal_min: 0.5, signal_max: null,
        highlight: false, spark_points: 32,
      });
    }
  });

  it("drops a signal without bounds and rejects bad bounds", () => {
    const r = pageRequest({ ...defaultGridState(), signal: "signals//loss" });
    expect(r.ok && r.fields.signal).toBeNull();
    expect(pageRequest({ ...defaultGridState(), signal: "x", signalMin: "a" })).toEqual({ ok: false, error: 'minimum: "a" is not a number' });
    expect(pageRequest({ ...defaultGridState(), signal: "x", signalMin: "2", signalMax: "1" }).ok).toBe(false);
  });

  it("passes the highlight restriction and clamps the sparkline points", () => {
    const r = pageRequest({ ...defaultGridState(), highlight: true, sparkPoints: 1000 });
    expect(r.ok && [r.fields.highlight, r.fields.spark_points]).toEqual([true, 256]);
    const off = pageRequest({ ...defaultGridState(), sparkPoints: -5 });
    expect(off.ok && off.fields.spark_points).toBe(0);
  });

  it("clamps the limit and offset", () => {
    const r = pageRequest({ ...defaultGridState(), limit: 9999, offset: -3 });
    expect(r.ok && [r.fields.limit, r.fields.offset]).toEqual([500, 0]);
    expect(clampOffset(96, 48, 50)).toBe(48);
    expect(clampOffset(48, 48, 0)).toBe(0);
    expect(clampOffset(48, 48, 1797)).toBe(48);
  });

  it("labels pages", () => {
    expect(pageLabel(48, 48, 1797)).toBe("49–96 of 1,797");
    expect(pageLabel(0, 0, 0)).toBe("0 of 0");
  });
});

describe("Throttle", () => {
  afterEach(() => vi.useRealTimers());

  it("runs at once, then once at the end of the interval with the latest call", () => {
    vi.useFakeTimers();
    const t = new Throttle(1000, () => Date.now());
    const calls: string[] = [];
    expect(t.call(() => calls.push("a"))).toBe(true);
    expect(t.call(() => calls.push("b"))).toBe(false);
    expect(t.call(() => calls.push("c"))).toBe(false);
    expect(calls).toEqual(["a"]);
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual(["a", "c"]);
  });
});
