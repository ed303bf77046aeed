import { describe, expect, it } from "vitest";
import {
  addTag, categoryOf, defaultLoader, evalButtons, evaluationOf, progressFraction, progressText,
  pruneTags, resultHeading, resultRows, stateLabel, tagOptions,
} from "./evaluation";

const summary = {
  boolean: { flagged: 3, high_loss: 1200 },
  categorical: { quality: { values: ["clean", "noisy"], counts: { clean: 5, noisy: 0 } } },
};

describe("evaluation tag subset", () => {
  it("offers boolean tags, then every categorical value as name=value, with counts", () => {
    expect(tagOptions(summary)).toEqual([
      { value: "flagged", label: "flagged (3)", count: 3, category: null },
      { value: "high_loss", label: "high_loss (1,200)", count: 1200, category: null },
      { value: "quality=clean", label: "quality=clean (5)", count: 5, category: "quality" },
      { value: "quality=noisy", label: "quality=noisy (0)", count: 0, category: "quality" },
    ]);
    expect(tagOptions(null)).toEqual([]);
    expect(tagOptions({})).toEqual([]);
  });

  it("adds terms once and keeps one value per categorical tag", () => {
    expect(categoryOf("quality=clean")).toBe("quality");
    expect(categoryOf("flagged")).toBeNull();
    let chosen = addTag([], "flagged");
    chosen = addTag(chosen, "quality=clean");
    expect(addTag(chosen, "flagged")).toBe(chosen);
    expect(addTag(chosen, "")).toBe(chosen);
    expect(addTag(chosen, "quality=noisy")).toEqual(["flagged", "quality=noisy"]);
  });

  it("drops chosen terms that are no longer offered", () => {
    const options = tagOptions(summary);
    const chosen = ["flagged", "quality=clean"];
    expect(pruneTags(chosen, options)).toBe(chosen);
    expect(pruneTags(["gone", "flagged", "quality=dirty"], options)).toEqual(["flagged"]);
  });
});

describe("evaluation state", () => {
  const loaders = [
    { name: "train_loader", origin: "train", size: 1400, is_training: true },
    { name: "val_loader", origin: "val", size: 397, is_training: false },
  ];

  it("preselects an evaluation loader and keeps a valid choice", () => {
    expect(defaultLoader(loaders)).toBe("val_loader");
    expect(defaultLoader(loaders, "train_loader")).toBe("train_loader");
    expect(defaultLoader(loaders, "gone")).toBe("val_loader");
    expect(defaultLoader([loaders[0]])).toBe("train_loader");
    expect(defaultLoader([])).toBe("");
  });

  it("normalises the trait with defaults", () => {
    const none = evaluationOf(undefined);
    expect(none.state).toBe("none");
    expect(none.progress).toEqual([0, 0]);
    expect(none.last).toBeNull();
    expect(stateLabel(none)).toBe("not run");
    expect(evaluationOf({ state: "timed_out", error: "timed out" }).error).toBe("timed out");
  });

  it("enables evaluate with a loader and room in the queue, cancel while live", () => {
    const running = evaluationOf({ id: 3, state: "running", queued: 0, progress: [2, 7] });
    expect(evalButtons(running, "val_loader")).toEqual([true, true]);
    expect(evalButtons(running, "")).toEqual([false, true]);
    expect(evalButtons(evaluationOf({ state: "pending", queued: 4 }), "val_loader")).toEqual([false, true]);
    expect(evalButtons(evaluationOf({ state: "done" }), "val_loader")).toEqual([true, false]);
  });

  it("describes progress in batches", () => {
    expect(progressText(evaluationOf({ state: "running", progress: [2, 7] }))).toBe("2 / 7 batches");
    expect(progressFraction(evaluationOf({ state: "running", progress: [2, 8] }))).toBe(0.25);
    expect(progressText(evaluationOf({ state: "running", progress: [0, 0] }))).toBe("starting…");
    expect(progressText(evaluationOf({ state: "pending", queued: 1 }))).toBe("queued");
    expect(progressText(evaluationOf({ state: "pending", queued: 3 }))).toBe("queued (3 waiting)");
    expect(progressFraction(evaluationOf({ state: "done", progress: [0, 0] }))).toBe(1);
  });

  it("formats the last result", () => {
    const last = { id: 1, loader: "val_loader", tags: ["flagged"], step: 1200,
      result: { loss: 0.23141, accuracy: 0.912 }, summary: "s", marker_hash: "abc_1" };
    expect(resultHeading(last)).toBe("val_loader @ step 1,200 · flagged");
    expect(resultRows(last)).toEqual([["loss", "0.2314"], ["accuracy", "0.912"]]);
    expect(resultRows(null)).toEqual([]);
    expect(resultHeading(null)).toBe("");
  });
});
