import { describe, expect, it } from "vitest";
import { classText, percent, plotPoints, readDetail, stepDomain, valueDomain, type PlotBox } from "./detail";

function f4(values: number[]): ArrayBuffer {
  return new Float32Array(values).buffer;
}

/** A detail reply as Python sends it: a PNG buffer, then the history arrays. */
function reply() {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const offsets = new Int32Array([0, 3, 5]).buffer;
  const steps = new BigInt64Array([1n, 21n, 41n, 1n, 21n]).buffer;
  const msg = {
    type: "detail", req: 3, ok: true, ref: ["train", 7], sample_id: 7, origin: "train",
    target: 3, prediction: 5, target_name: "three", prediction_name: null, discarded: false,
    tags: ["hard"], categorical: { quality: "ok", bad: 3 }, tag_names: ["hard", "suspect"],
    categorical_values: { quality: ["ok", "blurry"] }, signals: { "signals//loss": 0.5, x: "no" },
    top: { signal: "loss", classes: [{ class: 5, name: null, prob: 0.6 }, { class: 3, name: "three", prob: 0.3 }, { class: "x" }] },
    input: { kind: "image", width: 8, height: 8, buffer: 0, mask_buffer: null, boxes: [{ x0: 0.1, y0: 0.2, x1: 0.5, y1: 0.6, label: 2 }, { x0: "a" }] },
    history: {
      signals: ["loss", "loss/margin"], points: [3, 2], thinned: false, buffer_start: 1,
      arrays: [{ name: "offsets", dtype: "<i4", shape: [3] }, { name: "steps", dtype: "<i8", shape: [5] }, { name: "values", dtype: "<f4", shape: [5] }],
    },
    markers: [{ step: 40, signals: ["val-loss"] }, { step: 20, signals: ["val-loss"] }, { step: "bad" }],
  };
  return { msg, buffers: [png, offsets, steps, f4([2, 1, 0.5, -1, 2])] };
}

describe("reading the detail reply", () => {
  it("reads the sample, its labels, top-k, tags, image and history", () => {
    const { msg, buffers } = reply();
    const d = readDetail(msg, buffers);
    expect(d.ref).toEqual(["train", 7]);
    expect([d.target, d.targetName, d.prediction, d.predictionName]).toEqual([3, "three", 5, null]);
    expect(d.categorical).toEqual({ quality: "ok" }); // malformed values dropped
    expect(d.signals).toEqual({ "signals//loss": 0.5, x: null });
    expect(d.top?.classes).toEqual([{ cls: 5, name: null, prob: 0.6 }, { cls: 3, name: "three", prob: 0.3 }]);
    expect(d.input.kind).toBe("image");
    if (d.input.kind === "image") expect(d.input.boxes).toEqual([{ x0: 0.1, y0: 0.2, x1: 0.5, y1: 0.6, label: 2 }]);
    expect(d.history.map((h) => [h.signal, Array.from(h.steps), Array.from(h.values)])).toEqual([
      ["loss", [1, 21, 41], [2, 1, 0.5]], ["loss/margin", [1, 21], [-1, 2]],
    ]);
    expect(d.markers).toEqual([20, 40]);
  });

  it("refuses a reply without a sample, and shows an input that did not arrive as missing", () => {
    const { msg, buffers } = reply();
    expect(() => readDetail({ ...msg, ref: [1, 2] }, buffers)).toThrow(/no sample ref/);
    expect(readDetail({ ...msg, input: { kind: "image", buffer: 9 } }, buffers).input).toEqual({ kind: "none", error: "the image did not arrive" });
    expect(readDetail({ ...msg, history: { signals: [] } }, buffers).history).toEqual([]);
  });
});

describe("detail texts and plot geometry", () => {
  it("names classes and probabilities", () => {
    expect(classText(3, "cat")).toBe("3 · cat");
    expect(classText(3, null)).toBe("3");
    expect(classText(null, "cat")).toBe("–");
    expect(percent(0.1234)).toBe("12.3 %");
    expect(percent(0.0004)).toBe("<0.1 %");
    expect(percent(1)).toBe("100 %");
  });

  it("scales to the finite values, with a band around a constant", () => {
    expect(valueDomain([1, NaN, 3, Infinity])).toEqual([1, 3]);
    expect(valueDomain([2, 2])).toEqual([1.8, 2.2]);
    expect(valueDomain([0])).toEqual([-1, 1]);
    expect(valueDomain([NaN])).toBe(null);
  });

  it("spans every signal's steps and the evaluations among them", () => {
    const h = (steps: number[]) => ({ signal: "s", steps: Float64Array.from(steps), values: Float64Array.from(steps) });
    expect(stepDomain([h([10, 20]), h([5, 15])], [])).toEqual([5, 20]);
    expect(stepDomain([h([10, 20])], [22])).toEqual([10, 22]);
    expect(stepDomain([h([10, 20])], [1000])).toEqual([10, 20]); // far away: not stretched to it
    expect(stepDomain([h([10])], [])).toEqual([9, 11]);
    expect(stepDomain([h([])], [3])).toBe(null);
  });

  it("places one point per finite value, the largest value on top", () => {
    const box: PlotBox = { width: 110, height: 60, left: 10, right: 0, top: 0, bottom: 10 };
    const pts = plotPoints({ signal: "s", steps: Float64Array.from([0, 5, 10]), values: Float64Array.from([0, NaN, 1]) }, [0, 10], [0, 1], box);
    expect(pts).toEqual([[10, 50], [110, 0]]);
  });
});
