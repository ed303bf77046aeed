import { describe, expect, it } from "vitest";
import { pickPoint, stepAtPixel, type PlotFrame } from "./pick";

const frame: PlotFrame = { x0: 50, x1: 150, y0: 110, y1: 10, xDomain: [0, 100], yDomain: [0, 10], log: false };
const loss = { name: "loss", step: [0, 10, 20, 50, 100], mean: [9, 7, 5, 3, 1] };
const acc = { name: "acc", step: [0, 50, 100], mean: [1, 5, 9] };

describe("curve point picking", () => {
  it("maps a pixel column to a step inside the plot only", () => {
    expect(stepAtPixel(frame, 50)).toBe(0);
    expect(stepAtPixel(frame, 100)).toBe(50);
    expect(stepAtPixel(frame, 150)).toBe(100);
    expect(stepAtPixel(frame, 49)).toBeNull();
    expect(stepAtPixel(frame, 152, 4)).toBe(100); // clamped within the slack
  });

  it("picks the nearest step of the curve nearest to the pointer", () => {
    // x = 63 px -> step 13: loss's nearest step is 10 (value 7 -> y 40); acc's is 0 (y 100)
    expect(pickPoint(frame, [loss, acc], 63, 42)).toEqual({ signal: "loss", step: 10, index: 1 });
    expect(pickPoint(frame, [loss, acc], 63, 98)).toEqual({ signal: "acc", step: 0, index: 0 });
    // x = 73 px -> step 23: nearest step 20
    expect(pickPoint(frame, [loss], 73, 200 - 140)).toEqual({ signal: "loss", step: 20, index: 2 });
  });

  it("gives nothing outside the plot or without points", () => {
    expect(pickPoint(frame, [loss], 20, 50)).toBeNull();
    expect(pickPoint(frame, [loss], 100, 200)).toBeNull();
    expect(pickPoint(frame, [], 100, 50)).toBeNull();
    expect(pickPoint(frame, [{ name: "e", step: [], mean: [] }], 100, 50)).toBeNull();
  });

  it("prefers a finite point and breaks ties by the series order", () => {
    const gap = { name: "gap", step: [0, 50], mean: [NaN, NaN] };
    expect(pickPoint(frame, [gap, acc], 100, 60)?.signal).toBe("acc");
    expect(pickPoint(frame, [gap], 100, 60)).toEqual({ signal: "gap", step: 50, index: 1 });
    const twin = { ...loss, name: "twin" };
    expect(pickPoint(frame, [loss, twin], 100, 80)?.signal).toBe("loss");
  });

  it("works on a log axis", () => {
    const logFrame: PlotFrame = { ...frame, yDomain: [0.1, 10], log: true };
    // y of 1 on a log axis [0.1, 10] is the middle: 60 px
    expect(pickPoint(logFrame, [loss, acc], 150, 60)).toEqual({ signal: "loss", step: 100, index: 4 });
  });
});
