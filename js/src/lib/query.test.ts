import { afterEach, describe, expect, it, vi } from "vitest";
import { clampOffset, defaultGridState, orderLabel, pageLabel, pageRequest, parseBound, resortLabel, sameKeys, Throttle } from "./query";

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
        highlight: false, spark_points: 32, resort: false,
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

describe("the held order's controls", () => {
  it("asks for the fresh order only when told to", () => {
    const held = pageRequest(defaultGridState());
    const fresh = pageRequest(defaultGridState(), true);
    expect(held.ok && held.fields.resort).toBe(false);
    expect(fresh.ok && fresh.fields.resort).toBe(true);
  });

  it("shows no direction for the recorded order, and names which end comes first otherwise", () => {
    const none = orderLabel(null, true);
    expect(none.disabled).toBe(true);
    expect(none.text).not.toMatch(/desc|asc|↓|↑/);
    expect(orderLabel("signals//loss", true)).toMatchObject({ text: "↓ high first", disabled: false });
    expect(orderLabel("signals//loss", false)).toMatchObject({ text: "↑ low first", disabled: false });
    expect(orderLabel("suspects", true).text).toBe("↓ most suspect first");
    expect(orderLabel("signals//loss", true).title).toMatch(/discarded samples last/);
  });

  it("offers a re-sort only when something would move, with the count", () => {
    expect(resortLabel(0)).toBeNull();
    expect(resortLabel(Number.NaN)).toBeNull();
    expect(resortLabel(1234)).toBe("re-sort (1,234 changed)");
    expect(resortLabel(12, 1771)).toBe("re-sort (12 changed)");
    expect(resortLabel(0, 1771)).toBe("re-sort (1,771 changed on other pages)");
    expect(resortLabel(0, 0)).toBeNull();
  });

  it("updates cells in place only when the page holds the same samples in the same places", () => {
    expect(sameKeys(["a", "b"], ["a", "b"])).toBe(true);
    expect(sameKeys(["a", "b"], ["b", "a"])).toBe(false);
    expect(sameKeys(["a"], ["a", "b"])).toBe(false);
  });
});
