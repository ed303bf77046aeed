import { describe, expect, it } from "vitest";
import {
  SelectionSync,
  asRef, clickSelect, countByOrigin, emptySelection, extendTo, isSelected, rangeBetween, refKey, rowRef,
  selectAll, toggleOne, selectedRefs, selectionLabel, selectionOf, type SampleRef,
} from "./selection";

const t = (id: number | string): SampleRef => ["train", id];
const v = (id: number | string): SampleRef => ["val", id];
const page = [t(5), t(3), t(9), t(1), t(7)];

describe("selection", () => {
  it("a plain click selects one, a second click on it clears", () => {
    let s = clickSelect(emptySelection(), page, t(9));
    expect(selectedRefs(s)).toEqual([t(9)]);
    s = clickSelect(s, page, t(3));
    expect(selectedRefs(s)).toEqual([t(3)]);
    s = clickSelect(s, page, t(3));
    expect(selectedRefs(s)).toEqual([]);
  });

  it("shift-click selects the range in page order, both directions", () => {
    let s = clickSelect(emptySelection(), page, t(3));
    s = clickSelect(s, page, t(1), { shift: true });
    expect(selectedRefs(s)).toEqual([t(3), t(9), t(1)]);
    s = clickSelect(s, page, t(5), { shift: true });
    expect(selectedRefs(s)).toEqual([t(5), t(3)]);
  });

  it("ctrl/cmd-click toggles and keeps the rest", () => {
    let s = clickSelect(emptySelection(), page, t(5));
    s = clickSelect(s, page, t(7), { toggle: true });
    expect(selectedRefs(s)).toEqual([t(5), t(7)]);
    s = clickSelect(s, page, t(5), { toggle: true });
    expect(selectedRefs(s)).toEqual([t(7)]);
  });

  it("ctrl+shift adds a range to the selection", () => {
    let s = clickSelect(emptySelection(), page, t(5));
    s = clickSelect(s, page, t(9), { toggle: true });
    s = clickSelect(s, page, t(7), { shift: true, toggle: true });
    expect(selectedRefs(s)).toEqual([t(5), t(9), t(1), t(7)]);
  });

  it("keeps int and string ids apart", () => {
    expect(rangeBetween([t(1), t("1"), t(2)], t("1"), t(2))).toEqual([t("1"), t(2)]);
    let s = clickSelect(emptySelection(), [t(1), t("1")], t(1));
    s = clickSelect(s, [t(1), t("1")], t("1"), { toggle: true });
    expect(selectedRefs(s)).toEqual([t(1), t("1")]);
  });

  it("a range anchor off the page selects just the clicked sample", () => {
    expect(rangeBetween(page, t(42), t(9))).toEqual([t(9)]);
    expect(selectedRefs(selectAll(emptySelection(), page))).toEqual(page);
  });
});

describe("refs: train and val samples that share an id", () => {
  const shared = [t(0), v(0), t(1), v(1)];

  it("selecting val 0 does not select train 0", () => {
    const s = clickSelect(emptySelection(), shared, v(0));
    expect(selectedRefs(s)).toEqual([v(0)]);
    expect(isSelected(s, v(0))).toBe(true);
    expect(isSelected(s, t(0))).toBe(false);
  });

  it("a second click on train 0 replaces val 0; toggling keeps both apart", () => {
    let s = clickSelect(emptySelection(), shared, v(0));
    s = clickSelect(s, shared, t(0));
    expect(selectedRefs(s)).toEqual([t(0)]);
    s = clickSelect(s, shared, v(0), { toggle: true });
    expect(selectedRefs(s)).toEqual([t(0), v(0)]);
    s = clickSelect(s, shared, t(0), { toggle: true });
    expect(selectedRefs(s)).toEqual([v(0)]);
  });

  it("ranges and select-page are by ref, not by id", () => {
    let s = clickSelect(emptySelection(), shared, v(0));
    s = clickSelect(s, shared, v(1), { shift: true });
    expect(selectedRefs(s)).toEqual([v(0), t(1), v(1)]);
    expect(rangeBetween(shared, t(0), v(0))).toEqual([t(0), v(0)]);
    expect(selectedRefs(selectAll(emptySelection(), shared))).toHaveLength(4);
  });

  it("keys differ for the same id in two origins and for 1 vs '1'", () => {
    expect(refKey(t(0))).not.toEqual(refKey(v(0)));
    expect(refKey(v(1))).not.toEqual(refKey(v("1")));
    expect(refKey(["val", 0])).toEqual(refKey(v(0)));
  });

  it("the shared selection from Python becomes a selection of refs", () => {
    const s = selectionOf([["val", 0], ["train", 0], ["val", 0], [0], "x", ["", 1], ["val", 1.5]]);
    expect(selectedRefs(s)).toEqual([v(0), t(0)]);
    expect(s.anchor).toBeNull();
  });

  it("reads refs and rows strictly", () => {
    expect(asRef(["val", 3])).toEqual(v(3));
    expect(asRef(["val", "a/3"])).toEqual(v("a/3"));
    for (const bad of [3, "val", ["val"], ["val", 1, 2], [1, 1], ["val", null], ["val", true]]) {
      expect(asRef(bad)).toBeNull();
    }
    expect(rowRef({ ref: ["val", 0], origin: "val", sample_id: 0 })).toEqual(v(0));
    expect(rowRef({ origin: "val", sample_id: 7 })).toEqual(v(7)); // no ref: built from the row
  });

  it("counts a selection by origin for its label", () => {
    expect(countByOrigin([t(0), v(0), v(1)])).toEqual([["train", 1], ["val", 2]]);
    expect(selectionLabel(countByOrigin([t(0), v(0), v(1)]))).toBe("3 (train 1, val 2)");
    expect(selectionLabel(countByOrigin([v(0), v(1)]))).toBe("2 (val)");
    expect(selectionLabel([])).toBe("0");
  });
});

describe("keyboard selection", () => {
  const page = [0, 1, 2, 3, 4, 5].map(t);
  const ids = (s: ReturnType<typeof emptySelection>) => selectedRefs(s).map((r) => r[1]);

  it("shift+arrows: the range from the anchor to the cursor, the first cursor as the anchor", () => {
    let s = extendTo(emptySelection(), page, t(1), t(2));
    expect(ids(s)).toEqual([1, 2]);
    s = extendTo(s, page, t(2), t(3));
    expect(ids(s)).toEqual([1, 2, 3]);
    s = extendTo(s, page, t(3), t(0)); // back past the anchor: the range turns around
    expect(ids(s)).toEqual([0, 1]);
  });

  it("shift+arrows extend from the last plainly clicked cell", () => {
    const clicked = clickSelect(emptySelection(), page, t(4));
    expect(ids(extendTo(clicked, page, t(4), t(5)))).toEqual([4, 5]);
  });

  it("space toggles the cursor's sample and keeps the others", () => {
    let s = toggleOne(emptySelection(), t(2));
    s = toggleOne(s, t(4));
    expect(ids(s)).toEqual([2, 4]);
    s = toggleOne(s, t(2));
    expect(ids(s)).toEqual([4]);
    expect(isSelected(s, t(4))).toBe(true);
  });
});

describe("SelectionSync", () => {
  it("drops what the kernel sends while the view's own selection is unanswered", () => {
    const sync = new SelectionSync();
    expect(sync.accepts(3)).toBe(true);
    sync.sent();
    expect(sync.accepts(9)).toBe(false); // a push sent before the kernel saw the click
    sync.answered(10);
    expect(sync.accepts(9)).toBe(false); // older than the click
    expect(sync.accepts(10)).toBe(true);
    expect(sync.accepts(11)).toBe(true); // a later change elsewhere
  });

  it("waits for every select in flight and accepts pushes without a version once idle", () => {
    const sync = new SelectionSync();
    sync.sent();
    sync.sent();
    sync.answered(4);
    expect(sync.accepts(5)).toBe(false);
    sync.answered(5);
    expect(sync.accepts(5)).toBe(true);
    expect(sync.accepts(undefined)).toBe(true);
    sync.answered(8, false); // an action's reply moves the version without a select
    expect(sync.accepts(7)).toBe(false);
  });
});

describe("SelectionSync timeout", () => {
  it("stops holding pushes back when a select got no reply in time", () => {
    let t = 0;
    const sync = new SelectionSync(1000, () => t);
    sync.sent();
    t = 999;
    expect(sync.accepts(1)).toBe(false);
    t = 1001;
    expect(sync.accepts(1)).toBe(true);
  });
});
