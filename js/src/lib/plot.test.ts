import { PALETTE_DARK } from "./contrast";
import { describe, expect, it } from "vitest";
import {
  axisLabels, barGeometry, clipLabel, confusionCells, confusionShade, domainOf, histogramGeometry,
  labelStride, linePath, lineSegments, MAX_CLASSES, confusionShown, plotBox, plotLayout, plotOf, plotScales, rangeTicks,
  scatterDots, seriesColor, type PlotSpec,
} from "./plot";

const spec = (value: Record<string, unknown>): PlotSpec => plotOf({ title: null, x_label: null, y_label: null, ...value })!;
const box = { x: 10, y: 0, width: 100, height: 50 };
const id = (v: number) => v;

describe("the plot value", () => {
  it("reads series, dropping points without a number x and keeping null y as a gap", () => {
    const s = spec({ chart: "line", title: "loss", x_label: "epoch", series: [
      { name: "train", points: [[0, 1], [1, null], ["x", 3], [2, 0.5], [3]] },
      { points: [] },
    ] });
    expect(s.chart).toBe("line");
    expect(s.title).toBe("loss");
    expect(s.xLabel).toBe("epoch");
    expect(s.yLabel).toBeNull();
    expect(s.series).toEqual([{ name: "train", points: [[0, 1], [1, null], [2, 0.5]] }, { name: "series 2", points: [] }]);
  });

  it("is null for an unknown chart or a value that is not an object", () => {
    expect(plotOf({ chart: "pie" })).toBeNull();
    expect(plotOf(null)).toBeNull();
    expect(plotOf([1, 2])).toBeNull();
    expect(plotOf("line")).toBeNull();
  });

  it("reads bars, a histogram and a confusion matrix (missing cells are null)", () => {
    expect(spec({ chart: "bar", bars: [{ label: "a", value: 2 }, { label: 3, value: "x" }] }).bars)
      .toEqual([{ label: "a", value: 2 }, { label: "3", value: null }]);
    const hist = spec({ chart: "histogram", bins: [0, 1, 2], values: [3, 4] });
    expect([hist.bins, hist.values]).toEqual([[0, 1, 2], [3, 4]]);
    expect(spec({ chart: "histogram", bins: [0, 1], values: [3, 4] }).bins).toEqual([]); // not n+1 edges
    const cm = spec({ chart: "confusion_matrix", labels: ["cat", "dog"], counts: [[5, 1], [2]] });
    expect(cm.labels).toEqual(["cat", "dog"]);
    expect(cm.counts).toEqual([[5, 1], [2, null]]);
    expect(spec({ chart: "confusion_matrix", counts: [[1, 0], [0, 1]] }).labels).toEqual(["0", "1"]);
  });

  it("labels the axes of PR and ROC curves and confusion matrices when the value does not", () => {
    expect(axisLabels({ chart: "pr_curve", xLabel: null, yLabel: null })).toEqual({ x: "recall", y: "precision" });
    expect(axisLabels({ chart: "roc_curve", xLabel: "FPR", yLabel: null })).toEqual({ x: "FPR", y: "true positive rate" });
    expect(axisLabels({ chart: "confusion_matrix", xLabel: null, yLabel: null })).toEqual({ x: "predicted", y: "actual" });
    expect(axisLabels({ chart: "line", xLabel: null, yLabel: null })).toEqual({ x: null, y: null });
  });
});

describe("plot geometry", () => {
  it("takes the domain over finite numbers, widening equal values and defaulting to [0, 1]", () => {
    expect(domainOf([3, -1, null, NaN, 2])).toEqual([-1, 3]);
    expect(domainOf([5, 5])).toEqual([4.5, 5.5]);
    expect(domainOf([0])).toEqual([-1, 1]);
    expect(domainOf([])).toEqual([0, 1]);
    expect(domainOf([null, NaN])).toEqual([0, 1]);
  });

  it("maps data into the box, y upwards, inset from the edges, without dividing by zero", () => {
    const { sx, sy } = plotScales(box, [0, 10], [0, 1]);
    expect([sx(0), sx(10)]).toEqual([14, 106]);
    expect([sy(0), sy(1)]).toEqual([46, 4]);
    const flat = plotScales(box, [2, 2], [7, 7]);
    expect([flat.sx(2), flat.sy(7)].every(Number.isFinite)).toBe(true);
  });

  it("leaves room for the labels and keeps a positive box in a tiny SVG", () => {
    const b = plotBox(300, 180, { yTicks: ["0", "1,000"], xLabel: true, yLabel: true });
    expect(b.x).toBeGreaterThan(30);
    expect(b.x + b.width).toBeLessThan(300);
    expect(b.y + b.height).toBeLessThan(180 - 28);
    const tiny = plotBox(10, 10, { yTicks: [], xLabel: true, yLabel: true });
    expect(tiny.width).toBeGreaterThan(0);
    expect(tiny.height).toBeGreaterThan(0);
  });

  it("labels the min and max of an axis, once when they read the same", () => {
    expect(rangeTicks([0, 0.5], (v) => v * 100)).toEqual([
      { pos: 0, label: "0", anchor: "start" }, { pos: 50, label: "0.5", anchor: "end" }]);
    expect(rangeTicks([-2, 1e6], id, true).map((t) => [t.label, t.anchor])).toEqual([["-2", "end"], ["1M", "end"]]);
    expect(rangeTicks([1, 1.00001], id)).toHaveLength(1);
  });

  it("breaks lines at null y values and draws a lone point as a dash", () => {
    const pts: [number, number | null][] = [[0, 1], [1, 2], [2, null], [3, 4], [4, null], [5, 6], [6, 7]];
    expect(lineSegments(pts)).toEqual([[[0, 1], [1, 2]], [[3, 4]], [[5, 6], [6, 7]]]);
    expect(linePath(pts, id, id)).toBe("M0,1L1,2M1,4h4M5,6L6,7");
    expect(linePath([[3, 9]], id, id)).toBe("M1,9h4");
    expect(linePath([], id, id)).toBe("");
    expect(linePath([[0, null], [1, null]], id, id)).toBe("");
  });

  it("places scatter dots, skipping points without a y", () => {
    expect(scatterDots([[1, 2], [3, null], [4, -5]], (v) => v * 2, (v) => -v)).toEqual([[2, -2], [8, 5]]);
    expect(scatterDots([], id, id)).toEqual([]);
  });

  it("colours series from a fixed palette, wrapping around", () => {
    expect(seriesColor(0)).toMatch(/^#[0-9a-f]{6}$/);
    expect(seriesColor(1)).not.toBe(seriesColor(0));
    expect(seriesColor(10)).toBe(seriesColor(0));
    expect(seriesColor(-1)).toBe(seriesColor(9));
    expect(seriesColor(0, PALETTE_DARK)).toBe(PALETTE_DARK[0]);
    const dark = plotLayout(spec({ chart: "line", series: [{ name: "a", points: [[0, 1], [1, 2]] }] }),
      300, 200, PALETTE_DARK);
    expect(dark.series[0].color).toBe(PALETTE_DARK[0]);
  });

  it("draws bars from the zero line, negative ones downwards", () => {
    const g = barGeometry([{ label: "a", value: 2 }, { label: "b", value: -2 }, { label: "c", value: null }], { x: 0, y: 0, width: 30, height: 40 });
    expect(g.domain).toEqual([-2, 2]);
    expect(g.zero).toBe(20);
    expect(g.rects[0]).toMatchObject({ x: 0.5, y: 0, width: 9, height: 20, title: "a: 2" });
    expect(g.rects[1]).toMatchObject({ x: 10.5, y: 20, height: 20 });
    expect(g.rects[2]).toMatchObject({ y: 20, height: 0, title: "c: –" });
  });

  it("keeps all-zero and all-positive bars on a baseline at the bottom", () => {
    const zeros = barGeometry([{ label: "a", value: 0 }, { label: "b", value: 0 }], box);
    expect(zeros.domain).toEqual([0, 1]);
    expect(zeros.rects.every((r) => r.height === 0 && r.y === 50)).toBe(true);
    const pos = barGeometry([{ label: "a", value: 4 }, { label: "b", value: 1 }], box);
    expect(pos.zero).toBe(50);
    expect(pos.rects.map((r) => r.height)).toEqual([50, 12.5]);
    expect(barGeometry([], box).rects).toEqual([]);
  });

  it("reuses the histogram geometry inside the box, with bin tooltips", () => {
    const rects = histogramGeometry([0, 1, 2], [2, 4], box);
    expect(rects.map((r) => [r.x, r.y, r.height])).toEqual([[10.5, 25, 25], [60.5, 0, 50]]);
    expect(rects[1].title).toBe("[1, 2]: 4");
  });

  it("thins and clips category labels that would overlap", () => {
    expect(labelStride(5, 400)).toBe(1);
    expect(labelStride(200, 200)).toBe(40);
    expect(labelStride(0, 100)).toBe(1);
    expect(clipLabel("airplane", 5)).toBe("airp…");
    expect(clipLabel("cat", 5)).toBe("cat");
  });
});

describe("chart layouts", () => {
  it("draws one path per line series, a legend with several, and the ROC chance diagonal", () => {
    const roc = plotLayout(spec({ chart: "roc_curve", series: [
      { name: "cat", points: [[0, 0], [0.2, 0.8], [1, 1]] }, { name: "dog", points: [[0, 0], [1, 1]] }] }), 300);
    expect(roc.series.map((s) => s.name)).toEqual(["cat", "dog"]);
    expect(roc.series.every((s) => s.path!.startsWith("M") && s.dots === null)).toBe(true);
    expect(roc.legend).toBe(true);
    expect(roc.xTicks.map((t) => t.label)).toEqual(["0", "1"]);
    const [x1, y1, x2, y2] = roc.chance!;
    expect(x1).toBeLessThan(x2);
    expect(y1).toBeGreaterThan(y2); // up and to the right
    expect(roc.xLabel).toBe("false positive rate");
  });

  it("draws scatter series as dots, one point and all-equal values included", () => {
    const l = plotLayout(spec({ chart: "scatter", series: [{ name: "s", points: [[2, 3]] }] }), 300);
    expect(l.legend).toBe(false);
    expect(l.series[0]).toMatchObject({ name: "s", path: null, points: 1 });
    expect(l.series[0].dots).toHaveLength(1);
    expect(l.series[0].dots![0].every(Number.isFinite)).toBe(true);
    const flat = plotLayout(spec({ chart: "line", series: [{ name: "f", points: [[0, 1], [1, 1], [2, 1]] }] }), 300);
    expect(flat.series[0].path).not.toMatch(/NaN|Infinity/);
  });

  it("draws axes for an empty series or a chart without data", () => {
    const l = plotLayout(spec({ chart: "line_series", series: [{ name: "empty", points: [] }] }), 300);
    expect(l.series).toEqual([expect.objectContaining({ name: "empty", path: "", points: 0 })]);
    expect(l.yTicks.map((t) => t.label)).toEqual(["0", "1"]);
    expect(plotLayout(spec({ chart: "line" }), 300).series).toEqual([]);
  });

  it("lays out bars with a zero line only for negative values, and histograms with edge labels", () => {
    const bars = plotLayout(spec({ chart: "bar", bars: [{ label: "a", value: -1 }, { label: "b", value: 3 }] }), 300);
    expect(bars.rects).toHaveLength(2);
    expect(bars.zero).not.toBeNull();
    expect(bars.xTicks.map((t) => t.label)).toEqual(["a", "b"]);
    expect(bars.yTicks.map((t) => t.label)).toEqual(["-1", "3"]);
    expect(plotLayout(spec({ chart: "bar", bars: [{ label: "a", value: 1 }] }), 300).zero).toBeNull();
    const hist = plotLayout(spec({ chart: "histogram", bins: [-1, 0, 1], values: [0, 0] }), 300);
    expect(hist.rects.map((r) => r.height)).toEqual([0, 0]);
    expect(hist.xTicks.map((t) => t.label)).toEqual(["-1", "1"]);
  });
});

describe("confusion matrix", () => {
  it("shades cells by count over the largest count and marks the diagonal", () => {
    const cells = confusionCells([[8, 2], [0, 4]]);
    expect(cells.map((r) => r.map((c) => c.intensity))).toEqual([[1, 0.25], [0, 0.5]]);
    expect(cells.map((r) => r.map((c) => c.diagonal))).toEqual([[true, false], [false, true]]);
    expect(cells[0][1].count).toBe(2);
  });

  it("shades nothing in an all-zero matrix, and treats missing counts as empty", () => {
    expect(confusionCells([[0, 0], [0, 0]]).flat().every((c) => c.intensity === 0)).toBe(true);
    const holes = confusionCells([[null, 3], [1, null]]);
    expect(holes[0][0]).toEqual({ count: null, intensity: 0, diagonal: true });
    expect(confusionCells([])).toEqual([]);
  });

  it("mixes the brand colour in proportion to the intensity", () => {
    expect(confusionShade(0.5)).toBe("color-mix(in srgb, var(--jp-brand-color1, #1976d2) 25%, transparent)");
    expect(confusionShade(2)).toContain(" 50%"); // at most half: the text keeps AA contrast
    expect(confusionShade(NaN)).toContain(" 0%");
  });
});

describe("large confusion matrices", () => {
  const square = (k: number) => ({
    labels: Array.from({ length: k }, (_, i) => `c${i}`),
    counts: Array.from({ length: k }, (_, i) => Array.from({ length: k }, (__, j) => i * k + j)),
  });

  it("shows at most the first 50 x 50 classes, saying how many there are", () => {
    const part = confusionShown(square(120));
    expect(part.labels.length).toBe(50);
    expect(part.labels[49]).toBe("c49");
    expect(part.counts.length).toBe(50);
    expect(part.counts.every((r) => r.length === 50)).toBe(true);
    expect(part.counts[1][0]).toBe(120); // row 1 (actual c1), column 0 of the full matrix
    expect(part.note).toBe("showing 50 of 120 classes");
    expect(MAX_CLASSES).toBe(50);
  });

  it("shows a matrix of 50 classes or fewer whole, without a note", () => {
    expect(confusionShown(square(50))).toEqual({ ...square(50), note: "" });
    expect(confusionShown(square(3), 2).note).toBe("showing 2 of 3 classes");
    expect(confusionShown({ labels: [], counts: [] })).toEqual({ labels: [], counts: [], note: "" });
  });
});
