import { describe, expect, it } from "vitest";
import { hpChangesAt, hpReadout, parseHpChanges, placedHpChanges } from "./hpmarkers";

const raw = [
  { key: "lr", step: 1200, old: 0.01, new: 0.001, source: "panel", deleted: false, experiment_hash: "ab" },
  { key: "batch_size", step: 1200, old: 32, new: 64, source: "code" },
  { key: "note", step: null, old: "a", new: "b" },
  { key: "gone", step: 50, old: 1, new: null, deleted: true },
  { step: 3 }, null,
];

describe("hyperparameter markers", () => {
  it("parses changes, placing those with a step that are not deletions", () => {
    const all = parseHpChanges(raw);
    expect(all.map((c) => c.key)).toEqual(["lr", "batch_size", "note", "gone"]);
    expect(placedHpChanges(all).map((c) => c.key)).toEqual(["lr", "batch_size"]);
  });

  it("reads out every change of the step under the pointer", () => {
    const placed = placedHpChanges(parseHpChanges(raw));
    const px = (step: number) => step / 10; // step 1200 at pixel 120
    expect(hpChangesAt(placed, px, 123)).toHaveLength(2);
    expect(hpChangesAt(placed, px, 130)).toEqual([]);
    expect(hpReadout(hpChangesAt(placed, px, 120))).toBe("lr 0.01 → 0.001 at step 1,200\nbatch_size 32 → 64 at step 1,200");
  });
});
