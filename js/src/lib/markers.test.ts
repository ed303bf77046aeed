import { describe, expect, it } from "vitest";
import {
  appendMarkers, countBySignal, drawableMarkers, glyphOf, glyphPoints, markerReadout, nearestMarker,
  parseMarkers, type Marker,
} from "./markers";
import type { PlotFrame } from "./pick";

const m = (signal: string, step: number, mean: number | null, hash = "h_1"): Marker =>
  ({ signal, step, mean, min: mean, max: mean, count: 397, experiment_hash: hash });

describe("evaluation markers", () => {
  it("parses markers and drops malformed entries", () => {
    const raw = [
      { signal: "loss", step: 10, mean: 0.5, min: 0.1, max: 2, count: 397, experiment_hash: "abc_1" },
      { signal: "loss", step: "x" }, null, { step: 3 },
      { signal: "acc", step: 10, mean: null, min: null, max: null, count: 5, experiment_hash: null },
    ];
    expect(parseMarkers(raw)).toEqual([
      { signal: "loss", step: 10, mean: 0.5, min: 0.1, max: 2, count: 397, experiment_hash: "abc_1" },
      { signal: "acc", step: 10, mean: null, min: null, max: null, count: 5, experiment_hash: null },
    ]);
    expect(parseMarkers(undefined)).toEqual([]);
  });

  it("appends only contiguous batches", () => {
    const list: Marker[] = [];
    expect(appendMarkers(list, 0, [m("loss", 1, 1)])).toBe("ok");
    expect(appendMarkers(list, 2, [m("loss", 3, 1)])).toBe("gap");
    expect(list.length).toBe(1);
    expect(appendMarkers(list, 1, [m("loss", 2, 1), m("acc", 2, 0.9)])).toBe("ok");
    expect(list.map((x) => x.step)).toEqual([1, 2, 2]);
    expect([...countBySignal(list)]).toEqual([["loss", 2], ["acc", 1]]);
  });

  it("gives each signal its own glyph shape", () => {
    expect(glyphOf(0)).toBe("diamond");
    expect(glyphOf(1)).toBe("triangle");
    expect(glyphOf(5)).toBe("diamond");
    expect(glyphPoints("diamond", 10, 10, 5)).toEqual([[10, 5], [15, 10], [10, 15], [5, 10]]);
    expect(glyphPoints("circle", 10, 10, 5)).toBeNull();
  });

  it("draws only shown markers of visible signals with a drawable mean", () => {
    const list = [m("loss", 1, 0.5), m("acc", 1, 0.9), m("loss", 2, null), m("loss", 3, -1)];
    expect(drawableMarkers(list, new Set(), false)).toEqual([]);
    expect(drawableMarkers(list, new Set(["acc"]), true).map((x) => x.step)).toEqual([1, 3]);
    expect(drawableMarkers(list, new Set(), true, true).map((x) => x.signal)).toEqual(["loss", "acc"]);
  });

  it("finds the marker under the pointer", () => {
    const frame: PlotFrame = { x0: 0, x1: 100, y0: 100, y1: 0, xDomain: [0, 100], yDomain: [0, 1], log: false };
    const a = m("loss", 50, 0.5, "a_1"), b = m("acc", 52, 0.9, "a_1");
    expect(nearestMarker(frame, [a, b], 51, 51)).toBe(a);   // a is drawn at (50, 50)
    expect(nearestMarker(frame, [a, b], 52, 12)).toBe(b);   // b at (52, 10)
    expect(nearestMarker(frame, [a, b], 80, 80)).toBeNull();
  });

  it("reads out the marker hash, value, range and count", () => {
    const x: Marker = { signal: "loss", step: 1200, mean: 0.2314, min: 0.01, max: 2.5, count: 397, experiment_hash: "abc_2" };
    expect(markerReadout(x)).toBe("evaluation abc_2 · step 1,200\nloss: 0.2314 [0.01, 2.5] · 397 samples");
    expect(markerReadout({ ...x, min: 1, max: 1, count: 1 })).toBe("evaluation abc_2 · step 1,200\nloss: 0.2314 · 1 sample");
  });
});
