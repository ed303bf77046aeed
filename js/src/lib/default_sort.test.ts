import { describe, expect, it } from "vitest";
import { defaultSortMessage, nextDefaultSort, type DefaultSortInput } from "./default_sort";

const LOSS = "signals//train-loss";
const base: DefaultSortInput = {
  explicit: false, sortBy: null, lossColumn: LOSS, suspectsReady: false, pointerInside: false, focused: false, offset: 0, busy: false,
};

describe("the default sort", () => {
  it("keeps the recorded order until a per-sample loss is recorded", () => {
    expect(nextDefaultSort({ ...base, lossColumn: null })).toBe(null);
  });

  it("sorts by the loss once one exists, then by the suspects once they are ready", () => {
    expect(nextDefaultSort(base)).toBe(LOSS);
    expect(nextDefaultSort({ ...base, sortBy: LOSS })).toBe(null); // already there
    expect(nextDefaultSort({ ...base, sortBy: LOSS, suspectsReady: true })).toBe("suspects"); // the loss gives way
    expect(nextDefaultSort({ ...base, suspectsReady: true })).toBe("suspects"); // straight from recorded order
    expect(nextDefaultSort({ ...base, lossColumn: null, suspectsReady: true })).toBe("suspects");
    expect(nextDefaultSort({ ...base, sortBy: "suspects", suspectsReady: false })).toBe(null); // never back
  });

  it("never overrides the user's choice", () => {
    expect(nextDefaultSort({ ...base, explicit: true })).toBe(null); // even "recorded order" chosen
    expect(nextDefaultSort({ ...base, explicit: true, sortBy: LOSS, suspectsReady: true })).toBe(null);
    expect(nextDefaultSort({ ...base, sortBy: "sample_id" })).toBe(null); // not a default of the grid
    expect(nextDefaultSort({ ...base, sortBy: "sample_id", suspectsReady: true })).toBe(null);
  });

  it("never switches under the user's hands", () => {
    for (const busy of [{ pointerInside: true }, { focused: true }, { offset: 48 }, { busy: true }]) {
      expect(nextDefaultSort({ ...base, ...busy })).toBe(null);
      expect(nextDefaultSort({ ...base, ...busy, sortBy: LOSS, suspectsReady: true })).toBe(null);
    }
  });

  it("says why it switched", () => {
    expect(defaultSortMessage("suspects")).toBe("sorted by suspects: enough history to rank the samples");
    expect(defaultSortMessage(LOSS)).toBe("sorted by loss, highest first: a per-sample loss is recorded");
  });
});
