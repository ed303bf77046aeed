// Pure helpers of the "vega" card (cards/vega.ts): the spec fitted to the card's width, the
// Vega config built from the JupyterLab theme's colours, and the note on rows left out.

import { formatCount } from "../lib/format";

export type Spec = Record<string, unknown>;

/** Height of a single or layered chart whose spec gives none (px, axes included). */
export const CHART_HEIGHT = 240;

/** The theme colours a chart is drawn with (CSS colours read from JupyterLab's variables). */
export interface ThemeColors {
  text: string; // --jp-ui-font-color1
  muted: string; // --jp-ui-font-color2
  grid: string; // --jp-border-color2
  domain: string; // --jp-border-color1
  font: string; // --jp-ui-font-family
  palette: string[]; // series colours that read on the background (lib/contrast.ts)
  dark: boolean;
}

/** Whether the spec is one view (a mark or layers), whose width the card may set. */
export function isSingleView(spec: Spec): boolean {
  return "mark" in spec || "layer" in spec;
}

/** The spec drawn `width` px wide (axes and legend included) when it is a single view that sets
 * no width of its own, and `CHART_HEIGHT` high when it sets no height; other specs as they are. */
export function fitSpec(spec: Spec, width: number): Spec {
  if (!isSingleView(spec)) return spec;
  const out: Spec = { ...spec };
  let fitted = false;
  if (out.width === undefined && width > 0) {
    out.width = Math.floor(width);
    fitted = true;
  }
  if (out.height === undefined) {
    out.height = CHART_HEIGHT;
    fitted = true;
  }
  if (fitted && out.autosize === undefined) out.autosize = { type: "fit", contains: "padding" };
  return out;
}

/** The Vega config that makes a chart match the theme: transparent background, text, axes,
 * grid and legend in the theme's colours, series in `palette`. */
export function themeConfig(c: ThemeColors): Record<string, unknown> {
  const axis = { labelColor: c.muted, titleColor: c.text, gridColor: c.grid, domainColor: c.domain, tickColor: c.domain, labelFont: c.font, titleFont: c.font };
  return {
    background: "transparent",
    font: c.font,
    title: { color: c.text, subtitleColor: c.muted, font: c.font },
    axis,
    legend: { labelColor: c.muted, titleColor: c.text, labelFont: c.font, titleFont: c.font },
    header: { labelColor: c.muted, titleColor: c.text },
    view: { stroke: c.grid },
    mark: { color: c.palette[0] },
    text: { color: c.text },
    range: { category: c.palette },
  };
}

/** What the card says when the kernel sent fewer rows than the table holds; null otherwise. */
export function rowsNote(sent: unknown, total: unknown): string | null {
  if (typeof sent !== "number" || typeof total !== "number" || sent >= total) return null;
  return `${formatCount(sent)} of ${formatCount(total)} rows drawn (evenly spaced)`;
}

/** "12 rows" (or "1 row"); null when the count is unknown. */
export function rowsCount(total: unknown): string | null {
  if (typeof total !== "number") return null;
  return `${formatCount(total)} row${total === 1 ? "" : "s"}`;
}
