import { describe, expect, it } from "vitest";
import { clickSelect, emptySelection, rangeBetween, selectAll, selectedIds } from "./selection";

const page = [5, 3, 9, 1, 7];

describe("selection", () => {
  it("a plain click selects one, a second click on it clears", () => {
    let s = clickSelect(emptySelection(), page, 9);
    expect(selectedIds(s)).toEqual([9]);
    s = clickSelect(s, page, 3);
    expect(selectedIds(s)).toEqual([3]);
    s = clickSelect(s, page, 3);
    expect(selectedIds(s)).toEqual([]);
  });

  it("shift-click selects the range in page order, both directions", () => {
    let s = clickSelect(emptySelection(), page, 3);
    s = clickSelect(s, page, 1, { shift: true });
    expect(selectedIds(s)).toEqual([3, 9, 1]);
    s = clickSelect(s, page, 5, { shift: true });
    expect(selectedIds(s)).toEqual([5, 3]);
  });

  it("ctrl/cmd-click toggles and keeps the rest", () => {
    let s = clickSelect(emptySelection(), page, 5);
    s = clickSelect(s, page, 7, { toggle: true });
    expect(selectedIds(s)).toEqual([5, 7]);
    s = clickSelect(s, page, 5, { toggle: true });
    expect(selectedIds(s)).toEqual([7]);
  });

  it("ctrl+shift adds a range to the selection", () => {
    let s = clickSelect(emptySelection(), page, 5);
    s = clickSelect(s, page, 9, { toggle: true });
    s = clickSelect(s, page, 7, { shift: true, toggle: true });
    expect(selectedIds(s)).toEqual([5, 9, 1, 7]);
  });

  it("keeps int and string ids apart", () => {
    expect(rangeBetween([1, "1", 2], "1", 2)).toEqual(["1", 2]);
    let s = clickSelect(emptySelection(), [1, "1"], 1);
    s = clickSelect(s, [1, "1"], "1", { toggle: true });
    expect(selectedIds(s)).toEqual([1, "1"]);
  });

  it("a range anchor off the page selects just the clicked id", () => {
    expect(rangeBetween(page, 42, 9)).toEqual([9]);
    expect(selectedIds(selectAll(emptySelection(), page))).toEqual(page);
  });
});
