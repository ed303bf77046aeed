import { describe, expect, it } from "vitest";
import {
  PALETTE_DARK, PALETTE_LIGHT, contrastRatio, luminance, paletteFor, parseColor, type RGBA,
} from "./contrast";

const c = (s: string): RGBA => parseColor(s)!;
// JupyterLab 4's own backgrounds (--jp-layout-color1, --jp-layout-color2)
const LIGHT_BG = ["#ffffff", "#eeeeee"];
const DARK_BG = ["#212121", "#424242", "#111111"];

describe("contrast", () => {
  it("parses the colours getComputedStyle returns", () => {
    expect(parseColor("rgb(33, 33, 33)")).toEqual([33, 33, 33, 1]);
    expect(parseColor("rgba(255, 255, 255, 0.87)")).toEqual([255, 255, 255, 0.87]);
    expect(parseColor("rgba(0, 0, 0, 0)")).toEqual([0, 0, 0, 0]);
    expect(parseColor("#abc")).toEqual([170, 187, 204, 1]);
    expect(parseColor("color(srgb 1 0 0)")).toBeNull();
  });

  it("gives the WCAG ratios of known pairs", () => {
    expect(contrastRatio(c("#000"), c("#fff"))).toBeCloseTo(21, 5);
    expect(contrastRatio(c("#fff"), c("#fff"))).toBeCloseTo(1, 5);
    expect(contrastRatio(c("#767676"), c("#fff"))).toBeCloseTo(4.54, 2);
    // JupyterLab light's secondary text, rgba(0,0,0,.54) on white: just above AA
    expect(contrastRatio(c("rgba(0,0,0,0.54)"), c("#fff"))).toBeGreaterThan(4.5);
    expect(luminance(c("#fff"))).toBeCloseTo(1, 5);
  });

  it("picks a palette whose every line stands out (>= 4:1) on the theme's backgrounds", () => {
    for (const col of PALETTE_LIGHT) expect(contrastRatio(c(col), c("#fff"))).toBeGreaterThanOrEqual(4.5);
    for (const bg of LIGHT_BG) {
      expect(paletteFor(bg)).toBe(PALETTE_LIGHT);
      for (const col of PALETTE_LIGHT) expect(contrastRatio(c(col), c(bg))).toBeGreaterThanOrEqual(4);
    }
    for (const bg of DARK_BG) {
      expect(paletteFor(bg)).toBe(PALETTE_DARK);
      for (const col of PALETTE_DARK) expect(contrastRatio(c(col), c(bg))).toBeGreaterThanOrEqual(4);
    }
    expect(paletteFor("not a colour")).toBe(PALETTE_LIGHT);
    expect(new Set(PALETTE_DARK).size).toBe(PALETTE_DARK.length);
  });
});
