import { describe, expect, it } from "vitest";
import {
  asFigure, cardLayout, DEFAULT_HEIGHT, figureSummary, mapTraceTypes, mergeDeep, PLOTLY_CONFIG, plotHeight,
  themedTemplate, TRANSPARENT, withoutRemoteImages, type Theme,
} from "./plotly-figure";

const DARK: Theme = { text: "#eee", muted: "#aaa", grid: "#333", line: "#555", font: "Inter" };

describe("a plotly figure fitted to a card", () => {
  it("accepts plotly.py's JSON and says what is wrong with anything else", () => {
    expect(asFigure({ data: [{ type: "bar" }], layout: {} })).toEqual({ data: [{ type: "bar" }], layout: {}, frames: undefined });
    expect(asFigure({})).toEqual({ data: [], layout: {}, frames: undefined });
    expect(asFigure([1, 2])).toMatch(/not a plotly figure/);
    expect(asFigure({ data: {} })).toMatch(/"data" is not a list/);
    expect(asFigure({ data: [], layout: [] })).toMatch(/"layout" is not an object/);
  });

  it("draws on a transparent background in the theme's colours, keeping what the figure sets itself", () => {
    const template = { layout: { plot_bgcolor: "#E5ECF6", colorway: ["#636efa"], xaxis: { gridcolor: "white", ticks: "" } } };
    const layout = cardLayout({ template, title: { text: "scores" }, paper_bgcolor: "#123456", width: 900, height: 500 }, DARK);
    const t = (layout.template as any).layout;
    expect(t.plot_bgcolor).toBe(TRANSPARENT);
    expect(t.paper_bgcolor).toBe(TRANSPARENT);
    expect(t.font).toEqual({ color: "#eee", family: "Inter" });
    expect(t.xaxis).toMatchObject({ gridcolor: "#333", ticks: "" });
    expect(t.colorway).toEqual(["#636efa"]);
    expect(layout.paper_bgcolor).toBe("#123456"); // the figure's own choice wins over the theme
    expect(layout.width).toBeUndefined();
    expect(layout.height).toBeUndefined();
    expect(layout.autosize).toBe(true);
    expect((layout.margin as any).t).toBe(48);
    expect(template.layout.plot_bgcolor).toBe("#E5ECF6"); // the input is not changed
  });

  it("re-themes a template for a theme switch", () => {
    const light = { ...DARK, text: "#111" };
    expect((themedTemplate({ data: { bar: [] } }, light) as any).layout.font.color).toBe("#111");
    expect((themedTemplate(undefined, light) as any).layout.paper_bgcolor).toBe(TRANSPARENT);
  });

  it("keeps the figure's height within the card's bounds", () => {
    expect(plotHeight({})).toBe(DEFAULT_HEIGHT);
    expect(plotHeight({ height: 450 })).toBe(450);
    expect(plotHeight({ height: 5000 })).toBe(720);
    expect(plotHeight({ height: 50 })).toBe(200);
  });

  it("never asks plotly.js for anything on the internet", () => {
    expect(PLOTLY_CONFIG).toMatchObject({ displaylogo: false, showSendToCloud: false, showEditInChartStudio: false, typesetMath: false });
    expect(String(PLOTLY_CONFIG.topojsonURL)).not.toMatch(/^https?:/);
    expect(mapTraceTypes([{ type: "scatter" }, { type: "scattergeo" }, { type: "choroplethmap" }, { type: "scattergeo" }]))
      .toEqual(["scattergeo", "choroplethmap"]);
    expect(mapTraceTypes([{}, { type: "bar" }])).toEqual([]);
    const images = [{ source: "https://example.com/logo.png" }, { source: "data:image/png;base64,AAAA" }];
    const { layout, dropped } = withoutRemoteImages({ images });
    expect(dropped).toBe(1);
    expect(layout.images).toEqual([images[1]]);
  });

  it("merges objects key by key", () => {
    expect(mergeDeep({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] })).toEqual({ a: { b: 1, c: 3 }, d: [2] });
  });

  it("sums the figure up in one line", () => {
    expect(figureSummary({ traces: 3, trace_types: ["scatter", "bar"], points: 1200, size: 46080 }))
      .toBe("3 traces (scatter, bar) · 1,200 points · 45 kB");
    expect(figureSummary({ traces: 1, trace_types: ["scatter"], points: 1, size: 2_500_000 }))
      .toBe("1 trace (scatter) · 1 point · 2.4 MB");
    expect(figureSummary({ size: 300 })).toBe("300 B");
    expect(figureSummary({ traces: 1, trace_types: ["scatter"], points: 200_000 })).toMatch(/Scattergl draws this many points much faster$/);
    expect(figureSummary({ traces: 1, trace_types: ["scattergl"], points: 200_000 })).not.toMatch(/Scattergl/);
    expect(figureSummary(null)).toBe("");
  });
});
