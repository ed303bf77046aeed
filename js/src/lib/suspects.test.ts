import { describe, expect, it } from "vitest";
import {
  confirmText, evidenceLines, flaggedOrigin, flaggedSummary, suggestionBadge, suspectsInfo,
  suspectsReady, undoLabel, type Evidence,
} from "./suspects";

const origin = (ready: boolean, flagged = 10, scored = 100) =>
  ({ ready, scored, flagged, samples: scored, ready_share: ready ? 1 : 0.25, method: "margin" });

const evidence = (over: Partial<Evidence> = {}): Evidence => ({
  score: 6.8864, flagged: true, label: 6, predicted_class: 7, suggested_class: 7, mean_loss: 7.0746,
  mean_margin: -6.8864, forgetting: 0, presentations: 10, loss_shape: null, origin: "train", rank: 3,
  scored: 1257, method: "margin", ...over,
});

describe("suspects trait", () => {
  it("reads the trait and drops malformed origins", () => {
    const info = suspectsInfo({ version: 3, origins: { train: { ready: true, scored: 5, flagged: 2, samples: 5, ready_share: 1, method: "margin" }, bad: null } });
    expect(info.version).toBe(3);
    expect(Object.keys(info.origins)).toEqual(["train"]);
    expect(info.origins.train.flagged).toBe(2);
    expect(suspectsInfo(undefined)).toEqual({ version: 0, origins: {} });
    expect(suspectsInfo({ origins: { x: { ready: "yes", scored: "7" } } }).origins.x).toMatchObject({ ready: false, scored: 0 });
  });

  it("is ready for the origin shown, or for any origin when the grid shows all", () => {
    const info = suspectsInfo({ version: 1, origins: { train: origin(true), val: origin(false) } });
    expect(suspectsReady(info, null)).toBe(true);
    expect(suspectsReady(info, "train")).toBe(true);
    expect(suspectsReady(info, "val")).toBe(false);
    expect(suspectsReady(info, "test")).toBe(false);
    expect(suspectsReady(suspectsInfo({}), null)).toBe(false);
  });
});

describe("flagged actions", () => {
  it("act on the filtered origin, else the only ranked one, else train, else the most flagged", () => {
    const two = suspectsInfo({ origins: { val: origin(true, 50), train: origin(true, 3) } });
    expect(flaggedOrigin(two, "val")).toBe("val");
    expect(flaggedOrigin(two, "test")).toBeNull();
    expect(flaggedOrigin(two, null)).toBe("train");
    expect(flaggedOrigin(suspectsInfo({ origins: { a: origin(true, 1), b: origin(true, 9) } }), null)).toBe("b");
    expect(flaggedOrigin(suspectsInfo({ origins: { val: origin(false) } }), null)).toBe("val");
    expect(flaggedOrigin(suspectsInfo({}), null)).toBeNull();
  });

  it("summarise the flag set, and say when the history is short", () => {
    const info = suspectsInfo({ origins: { train: origin(true, 271, 1797), val: origin(false, 4, 400) } });
    expect(flaggedSummary(info, "train")).toBe("271 flagged of 1,797 in train");
    expect(flaggedSummary(info, "val")).toBe("4 flagged of 400 in val (short history: 25% of samples seen twice)");
    expect(flaggedSummary(info, null)).toBe("no suspects ranking yet");
  });

  it("ask with the count and the origin they touch", () => {
    const reply = { action: "discard" as const, origin: "train", flagged: 271, count: 270, already: 1, digest: "d" };
    expect(confirmText(reply)).toBe("Discard 270 flagged samples of origin train? (1 flagged is discarded already) They are skipped from the next batch on.");
    expect(confirmText({ ...reply, already: 0, count: 1 })).toBe("Discard 1 flagged sample of origin train? They are skipped from the next batch on.");
    expect(confirmText({ ...reply, action: "tag", tag: "suspect", already: 2 })).toBe("Tag 270 flagged samples of origin train as 'suspect'? (2 flagged already have it)");
    expect(confirmText({ ...reply, already: 0 }, origin(false))).toBe(
      "Discard 270 flagged samples of origin train? They are skipped from the next batch on. The ranking rests on a short history (25% of samples seen twice).");
    expect(confirmText({ ...reply, already: 0 }, origin(true))).toBe(
      "Discard 270 flagged samples of origin train? They are skipped from the next batch on.");
    expect(undoLabel(reply)).toBe("undo (restore 270 samples)");
    expect(undoLabel({ ...reply, action: "tag", count: 1 })).toBe("undo (untag 1 sample)");
  });
});

describe("cell evidence", () => {
  it("badges flagged cells with the suggested class", () => {
    expect(suggestionBadge(evidence())).toBe("→ 7");
    expect(suggestionBadge(evidence({ flagged: false }))).toBeNull();
    expect(suggestionBadge(evidence({ suggested_class: null }))).toBeNull();
    expect(suggestionBadge(null)).toBeNull();
  });

  it("spells out the evidence in the tooltip", () => {
    expect(evidenceLines(evidence({ loss_shape: "flat_high" }))).toEqual([
      "suspect #3 of 1,257 in train — flagged: the label looks wrong",
      "score 6.89 (mean margin deficit)",
      "label 6 → suggested class 7 (predicted 7)",
      "mean loss 7.07 · mean margin -6.89",
      "forgetting events 0 · 10 presentations",
      "loss shape flat_high",
    ]);
    const plain = evidenceLines(evidence({ flagged: false, suggested_class: null, method: "loss", mean_margin: null }));
    expect(plain[0]).toBe("suspect #3 of 1,257 in train");
    expect(plain[1]).toBe("score 6.89 (mean loss)");
    expect(plain[2]).toBe("label 6");
    expect(plain[3]).toBe("mean loss 7.07 · mean margin –");
    expect(evidenceLines(null)).toEqual([]);
  });
});
