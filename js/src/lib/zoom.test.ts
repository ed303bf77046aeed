import { describe, expect, it } from "vitest";
import { selectionSteps, Zoom } from "./zoom";

describe("zoom", () => {
  it("turns a drag into whole steps, refusing less than one step", () => {
    expect(selectionSteps(120.4, 80.2)).toEqual([80, 121]);
    expect(selectionSteps(-5, 3.5)).toEqual([0, 4]);
    expect(selectionSteps(3, 3)).toBeNull();
    expect(selectionSteps(NaN, 3)).toBeNull();
  });

  it("takes only the reply to the current range request", () => {
    const z = new Zoom<string>();
    expect(z.accept(1, "late")).toBe(false);
    z.start([10, 20], 1);
    z.start([12, 14], 2);
    expect(z.accept(1, "stale")).toBe(false);
    expect(z.rows).toBeNull();
    expect(z.accept(2, "fine")).toBe(true);
    expect([z.active, z.range, z.rows]).toEqual([true, [12, 14], "fine"]);
    z.reset();
    expect(z.accept(2, "after reset")).toBe(false);
    expect([z.active, z.rows]).toEqual([false, null]);
  });
});
