import { describe, expect, it } from "vitest";
import { CHART_HEIGHT, fitSpec, rowsCount, rowsNote, themeConfig } from "./vega_config";

describe("vega card helpers", () => {
  it("fits a single view without a size of its own to the card's width", () => {
    const spec = { mark: "point", encoding: {} };
    expect(fitSpec(spec, 320.7)).toEqual({ mark: "point", encoding: {}, width: 320, height: CHART_HEIGHT, autosize: { type: "fit", contains: "padding" } });
    expect(spec).toEqual({ mark: "point", encoding: {} }); // not changed in place
  });

  it("keeps the sizes a spec sets, and leaves compositions alone", () => {
    expect(fitSpec({ layer: [], width: 500, height: 100 }, 300)).toEqual({ layer: [], width: 500, height: 100 });
    const concat = { hconcat: [{ mark: "bar" }, { mark: "bar" }] };
    expect(fitSpec(concat, 300)).toBe(concat);
  });

  it("draws with the theme's colours on a transparent background", () => {
    const config = themeConfig({ text: "#eee", muted: "#bbb", grid: "#444", domain: "#666", font: "sans", palette: ["#6cb4f0", "#ffa04d"], dark: true });
    expect(config.background).toBe("transparent");
    expect(config.axis).toMatchObject({ labelColor: "#bbb", titleColor: "#eee", gridColor: "#444" });
    expect(config.range).toEqual({ category: ["#6cb4f0", "#ffa04d"] });
    expect(config.mark).toEqual({ color: "#6cb4f0" });
  });

  it("says how many rows were drawn when the kernel thinned the table", () => {
    expect(rowsNote(10000, 25000)).toBe("10,000 of 25,000 rows drawn (evenly spaced)");
    expect(rowsNote(12, 12)).toBeNull();
    expect(rowsNote(undefined, 3)).toBeNull();
    expect(rowsCount(12000)).toBe("12,000 rows");
    expect(rowsCount(1)).toBe("1 row");
    expect(rowsCount(null)).toBeNull();
  });
});
