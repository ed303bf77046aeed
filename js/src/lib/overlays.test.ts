import { describe, expect, it } from "vitest";
import {
  BoxFilter, boxesFrame, boxesShown, boxGroupOf, boxGroupsOf, boxLabel, boxOf, boxRect, cappedNote, classColours, className, ClassToggles,
  colourMask, isMaskItem, LABELS_UP_TO, labelFits, labelsOf, legendRows, maskRefsOf, redChannel, rgbOf, scorePasses, scoreRange,
  shownText, thresholdText,
} from "./overlays";
import { entryFromMedia, type MediaEntry, type MediaResult } from "./media";

const corners = (x0: number, y0: number, x1: number, y1: number, cls: number, more = {}) =>
  ({ position: { minX: x0, maxX: x1, minY: y0, maxY: y1 }, class_id: cls, ...more });

describe("boxes as the kernel sends them", () => {
  it("reads both position forms, the pixel domain, the caption and the scores", () => {
    expect(boxOf(corners(0.1, 0.2, 0.5, 0.6, 1))).toMatchObject({ x0: 0.1, y0: 0.2, x1: 0.5, y1: 0.6, pixel: false, classId: 1 });
    const mid = boxOf({ position: { middle: [50, 40], width: 20, height: 10 }, class_id: 2, domain: "pixel", box_caption: "car", scores: { score: 0.5, bad: "x" } });
    expect(mid).toMatchObject({ x0: 40, x1: 60, y0: 35, y1: 45, pixel: true, caption: "car", scores: { score: 0.5 } });
  });

  it("drops boxes it cannot draw and keeps the group's size when it was capped", () => {
    expect(boxOf({ position: { minX: 0 }, class_id: 1 })).toBeNull();
    expect(boxOf({ position: { minX: 0, maxX: 1, minY: 0, maxY: 1 } })).toBeNull();
    const g = boxGroupOf({ group: "p", class_labels: { "1": "cat", x: "no" }, box_data: [corners(0, 0, 1, 1, 1), null], count: 900 });
    expect(g?.boxes).toHaveLength(1);
    expect(g?.count).toBe(900);
    expect([...g!.labels]).toEqual([[1, "cat"]]);
    expect(boxGroupsOf("nope")).toEqual([]);
    expect(labelsOf({ "0": "bg", "": "x", "1.5": "y" })).toEqual(new Map([[0, "bg"]]));
  });

  it("reads an image's mask references", () => {
    expect(maskRefsOf([{ group: "seg", class_labels: { "4": "road" }, item: 3 }, { group: "x", item: -1 }, 7]))
      .toEqual([{ group: "seg", labels: new Map([[4, "road"]]), item: 3 }]);
  });
});

describe("box geometry", () => {
  const image = { width: 200, height: 100 };
  it("scales fractional boxes by the display size", () => {
    const b = boxOf(corners(0.25, 0.5, 0.75, 1, 1))!;
    expect(boxRect(b, image, 100, 50)).toEqual({ x: 25, y: 25, width: 50, height: 25 });
    // logged partly outside the image: drawn up to its edges
    expect(boxRect(boxOf(corners(0.5, -0.2, 1.7, 0.5, 1))!, image, 100, 50)).toEqual({ x: 50, y: 0, width: 50, height: 25 });
  });

  it("scales pixel boxes by display size over the image size", () => {
    const b = boxOf(corners(20, 10, 120, 60, 1, { domain: "pixel" }))!;
    expect(boxRect(b, image, 100, 50)).toEqual({ x: 10, y: 5, width: 50, height: 25 });
  });

  it("frames boxes logged alone in the unit square, or the pixel boxes' extent", () => {
    expect(boxesFrame([boxOf(corners(0.1, 0.1, 0.2, 0.2, 1))!])).toEqual({ width: 1, height: 1, pixel: false });
    const px = [corners(10, 20, 50, 60, 1, { domain: "pixel" }), corners(70, 5, 120, 40, 2, { domain: "pixel" })].map((b) => boxOf(b)!);
    const frame = boxesFrame(px);
    expect(frame).toEqual({ width: 120, height: 60, pixel: true });
    expect(boxRect(px[1], frame, 240, 120)).toEqual({ x: 140, y: 10, width: 100, height: 70 });
    expect(boxesFrame([])).toEqual({ width: 1, height: 1, pixel: false });
  });

  it("labels a box with its class (or caption) and score, when the label fits", () => {
    const labels = new Map([[1, "cat"]]);
    expect(boxLabel(boxOf(corners(0, 0, 1, 1, 1, { scores: { score: 0.912 } }))!, labels)).toBe("cat 0.91");
    expect(boxLabel(boxOf(corners(0, 0, 1, 1, 3, { scores: { a: 0.1, b: 0.2 } }))!, labels)).toBe("class_3");
    expect(boxLabel(boxOf(corners(0, 0, 1, 1, 1, { box_caption: "tabby 0.50", scores: { p: 0.5 } }))!, labels)).toBe("tabby 0.50");
    expect(labelFits("cat 0.91", { x: 0, y: 0, width: 60, height: 20 })).toBe(true);
    expect(labelFits("cat 0.91", { x: 0, y: 0, width: 30, height: 20 })).toBe(false);
    expect(labelFits("cat", { x: 0, y: 0, width: 60, height: 8 })).toBe(false);
  });
});

describe("mask colouring", () => {
  it("paints labelled classes that are shown, leaves the rest transparent", () => {
    // 2 x 3 pixels: ids 0 0 4 / 4 5 9 (9 has no label, 0 has none either)
    const rgba = new Uint8ClampedArray([0, 0, 0, 255, 0, 0, 0, 255, 4, 4, 4, 255, 4, 4, 4, 255, 5, 5, 5, 255, 9, 9, 9, 255]);
    const ids = redChannel(rgba);
    expect([...ids]).toEqual([0, 0, 4, 4, 5, 9]);
    const colours = new Map<number, [number, number, number]>([[4, [10, 20, 30]], [5, [200, 100, 0]]]);
    const out = new Uint8ClampedArray(rgba.length).fill(77);
    expect(colourMask(ids, out, colours, () => true, 100)).toBe(3);
    expect([...out.slice(8, 12)]).toEqual([10, 20, 30, 100]);
    expect([...out.slice(16, 20)]).toEqual([200, 100, 0, 100]);
    expect([0, 1, 5].map((p) => out[p * 4 + 3])).toEqual([0, 0, 0]);
    // class 4 switched off: only class 5's pixel stays
    expect(colourMask(ids, out, colours, (id) => id !== 4, 100)).toBe(1);
    expect(out[8 + 3]).toBe(0);
  });

  it("draws class 0 when it is labelled", () => {
    const ids = new Uint8Array([0, 1]);
    const out = new Uint8ClampedArray(8);
    expect(colourMask(ids, out, new Map([[0, [1, 2, 3] as [number, number, number]]]), () => true)).toBe(1);
  });
});

describe("class colours, legend and toggles", () => {
  it("gives every class name one colour for the whole card, cycling the palette", () => {
    const c = classColours(["cat", "dog", "cat", "road", "sky"], ["a", "b", "c"]);
    expect([...c]).toEqual([["cat", "a"], ["dog", "b"], ["road", "c"], ["sky", "a"]]);
    expect(className(new Map([[1, "cat"]]), 1)).toBe("cat");
    expect(className(new Map(), 4)).toBe("class_4");
    expect(rgbOf("#1f77b4")).toEqual([31, 119, 180]);
    expect(rgbOf("#fff")).toEqual([255, 255, 255]);
  });

  it("lists a row per box group (the classes used, with counts) and per mask group (its labels)", () => {
    const pred = boxGroupOf({ group: "pred", class_labels: { "1": "cat", "2": "dog", "3": "car" }, box_data: [corners(0, 0, 1, 1, 2), corners(0, 0, 1, 1, 1), corners(0, 0, 1, 1, 2)] })!;
    const pred2 = boxGroupOf({ group: "pred", class_labels: {}, box_data: [corners(0, 0, 1, 1, 7)] })!;
    const rows = legendRows([[pred], [pred2]], [[{ group: "seg", labels: new Map([[4, "road"], [0, "bg"]]), item: 2 }]]);
    expect(rows).toEqual([
      { layer: "box", group: "pred", classes: [{ id: 1, name: "cat", boxes: 1 }, { id: 2, name: "dog", boxes: 2 }, { id: 7, name: "class_7", boxes: 1 }] },
      { layer: "mask", group: "seg", classes: [{ id: 0, name: "bg", boxes: null }, { id: 4, name: "road", boxes: null }] },
    ]);
  });

  it("switches a class off in one group and layer only, and back on", () => {
    const t = new ClassToggles();
    expect(t.toggle("box", "pred", 2)).toBe(false);
    expect(t.shown("box", "pred", 2)).toBe(false);
    expect(t.shown("box", "truth", 2)).toBe(true);
    expect(t.shown("mask", "pred", 2)).toBe(true);
    expect(t.toggle("box", "pred", 2)).toBe(true);
    expect(t.size).toBe(0);
  });

  it("says which groups were capped", () => {
    const g = boxGroupOf({ group: "truth", class_labels: {}, box_data: [corners(0, 0, 1, 1, 1)], count: 1200 })!;
    expect(cappedNote([[g]])).toBe("showing truth: 1 of 1,200 boxes");
    expect(cappedNote([[boxGroupOf({ group: "p", box_data: [] })!]])).toBe("");
  });
});

describe("an image card's reply with masks", () => {
  it("takes an older step's captions and count from the images, not their masks", () => {
    const item = (caption: string | null, role?: string) => ({ caption, mime: "image/png", width: 8, height: 8, row: null, col: null, extra: role ? { role } : {}, bytes: new Uint8Array() });
    const media: MediaResult = { key: "k", step: 1, kind: "images", count: 2, items: [item("a"), item("b"), item(null, "mask")] };
    const latest: MediaEntry = { key: "k", kind: "images", step: 2, steps: [1, 2], rev: "r", series: null, value: { count: 2 } } as MediaEntry;
    expect(entryFromMedia(latest, { ...media, count: null }, 1).value).toMatchObject({ count: 2, captions: ["a", "b"] });
    expect(isMaskItem(media.items[2])).toBe(true);
  });
});

describe("score threshold and labels", () => {
  const scored = (cls: number, scores: Record<string, unknown>) => corners(0, 0, 1, 1, cls, { scores });
  const group = (name: string, boxes: unknown[]) => boxGroupOf({ group: name, class_labels: { "1": "cat", "2": "dog" }, box_data: boxes })!;

  it("slides over 0..1 for usual scores, else over the scores present, and not at all without scores", () => {
    const a = group("p", [scored(1, { score: 0.3 }), scored(2, { confidence: 0.9 }), scored(1, {})]);
    expect(scoreRange([[a], []])).toEqual({ min: 0, max: 1 });
    const logits = group("p", [scored(1, { logit: -2.345 }), scored(2, { logit: 7.5 })]);
    expect(scoreRange([[logits]])).toEqual({ min: -2.35, max: 7.5 });
    expect(scoreRange([[group("p", [scored(1, { logit: 3 })])]])).toEqual({ min: 3, max: 3.01 });
    // several scores and none named "score": no score shown, no slider
    expect(scoreRange([[group("p", [scored(1, { a: 0.1, b: 0.2 }), scored(2, {})])]])).toBeNull();
    expect(scoreRange([])).toBeNull();
  });

  it("keeps a box whose score reaches the threshold, and every box without a score", () => {
    expect(scorePasses(0.61, 0.61)).toBe(true);
    expect(scorePasses(0.1 + 0.2, 0.3)).toBe(true);
    expect(scorePasses(0.6, 0.61)).toBe(false);
    expect(scorePasses(null, 0.99)).toBe(true);
    expect(scorePasses(-5, -Infinity)).toBe(true);
  });

  it("counts the boxes shown by class toggles and score together", () => {
    const g = group("p", [scored(1, { score: 0.9 }), scored(1, { score: 0.4 }), scored(2, { score: 0.95 }), scored(2, {})]);
    const toggles = new ClassToggles();
    expect(boxesShown([g], toggles, -Infinity)).toEqual({ shown: 4, total: 4 });
    expect(boxesShown([g], toggles, 0.5)).toEqual({ shown: 3, total: 4 });
    toggles.toggle("box", "p", 2);
    expect(boxesShown([g], toggles, 0.5)).toEqual({ shown: 1, total: 4 }); // the dogs are off, the low cat below
  });

  it("keeps the user's threshold inside the slider's range, and none until one is chosen", () => {
    const f = new BoxFilter();
    expect(f.at({ min: 0, max: 1 })).toBe(-Infinity);
    f.threshold = 0.7;
    expect(f.at({ min: 0, max: 1 })).toBe(0.7);
    expect(f.at({ min: 2, max: 5 })).toBe(2);
    expect(f.at({ min: -1, max: 0.5 })).toBe(0.5);
    expect(f.at(null)).toBe(-Infinity);
  });

  it("shows labels up to 40 boxes an image unless the user chose", () => {
    const f = new BoxFilter();
    expect(LABELS_UP_TO).toBe(40);
    expect(f.labelsOn(40)).toBe(true);
    expect(f.labelsOn(41)).toBe(false);
    expect(f.labelsOn(300)).toBe(false);
    f.labels = true;
    expect(f.labelsOn(300)).toBe(true);
    f.labels = false;
    expect(f.labelsOn(3)).toBe(false);
  });

  it("words the slider and the count", () => {
    expect(thresholdText(0)).toBe("score \u2265 0.00");
    expect(thresholdText(0.615)).toMatch(/^score \u2265 0\.6[12]$/);
    expect(shownText(1234, 1500)).toBe("1,234 of 1,500 boxes");
    expect(shownText(0, 1)).toBe("0 of 1 box");
  });
});
