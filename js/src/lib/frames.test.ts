import { describe, expect, it } from "vitest";
import { FrameTimes } from "./frames";

describe("FrameTimes", () => {
  it("gives the 95th percentile of the recent frames", () => {
    const t = new FrameTimes(100);
    expect(t.percentile(0.95)).toBeNaN();
    for (let i = 1; i <= 100; i++) t.add(i);
    expect(t.percentile(0.95)).toBe(95);
    expect(t.percentile(1)).toBe(100);
    t.add(-1); // ignored
    expect(t.count).toBe(100);
  });

  it("keeps only the last `capacity` frames", () => {
    const t = new FrameTimes(4);
    for (const ms of [100, 100, 1, 2, 3, 4]) t.add(ms);
    expect(t.percentile(1)).toBe(4);
    expect(t.count).toBe(6);
    expect(t.recent()).toEqual([1, 2, 3, 4]);
  });
});
