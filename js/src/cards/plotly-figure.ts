// The pure part of the Plotly card: a figure's JSON checked and fitted to the card (the
// JupyterLab theme's colours on a transparent background, the card's size, nothing fetched
// from the network), the plotly.js options, and the summary line. cards/plotly.ts draws it.

import { formatCount } from "../lib/format";

type Obj = Record<string, unknown>;

export interface Figure {
  data: Obj[];
  layout: Obj;
  frames?: Obj[];
}

/** The theme's colours and font, read from JupyterLab's CSS variables. */
export interface Theme {
  text: string; // --jp-ui-font-color1
  muted: string; // --jp-ui-font-color2
  grid: string; // --jp-border-color2
  line: string; // --jp-border-color1
  font: string; // --jp-ui-font-family
}

export const TRANSPARENT = "rgba(0,0,0,0)";
export const DEFAULT_HEIGHT = 320;
const MIN_HEIGHT = 200;
const MAX_HEIGHT = 720;

/** Trace types whose base map plotly.js downloads (topojson outlines, map tiles and styles). */
export const MAP_TRACES: ReadonlySet<string> = new Set([
  "scattergeo", "choropleth", "scattermap", "choroplethmap", "densitymap",
  "scattermapbox", "choroplethmapbox", "densitymapbox",
]);

/** plotly.js options: no logo, no "edit in Chart Studio" / send-to-cloud button, no link out,
 * no MathJax typesetting (the page's MathJax is JupyterLab's business), and no topojson CDN
 * (plotly.js refuses an empty URL: a data: URL fails locally if a map ever slipped through). */
export const PLOTLY_CONFIG: Readonly<Obj> = Object.freeze({
  displaylogo: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
  showLink: false,
  plotlyServerURL: "",
  typesetMath: false,
  topojsonURL: "data:,",
  responsive: false, // the card follows its own width (a ResizeObserver), not the window's
});

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `base` with `over` merged in, objects key by key (`over` wins); neither is changed. */
export function mergeDeep(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObj(v) && isObj(out[k]) ? mergeDeep(out[k] as Obj, v) : v;
  }
  return out;
}

/** plotly.py's JSON of a figure, checked: an error text when it is not a figure. */
export function asFigure(json: unknown): Figure | string {
  if (!isObj(json)) return "the file is not a plotly figure (no JSON object)";
  const data = json.data ?? [];
  if (!Array.isArray(data) || !data.every(isObj)) return "the figure's \"data\" is not a list of traces";
  const layout = json.layout ?? {};
  if (!isObj(layout)) return "the figure's \"layout\" is not an object";
  const frames = Array.isArray(json.frames) && json.frames.every(isObj) ? json.frames : undefined;
  return { data, layout, frames };
}

/** The types of the traces that need a base map from the internet, each once. */
export function mapTraceTypes(data: readonly Obj[]): string[] {
  return [...new Set(data.map((t) => String(t.type ?? "scatter")).filter((t) => MAP_TRACES.has(t)))];
}

/** The layout without its images from URLs (kept: inline data: images), and how many went. */
export function withoutRemoteImages(layout: Obj): { layout: Obj; dropped: number } {
  if (!Array.isArray(layout.images)) return { layout, dropped: 0 };
  const kept = layout.images.filter((im) => !isObj(im) || typeof im.source !== "string" || im.source.startsWith("data:"));
  const dropped = layout.images.length - kept.length;
  return { layout: dropped ? { ...layout, images: kept } : layout, dropped };
}

/** The theme's part of the figure's template: transparent backgrounds, the theme's text,
 * grid and axis colours. The figure's own layout keeps what it sets itself. */
export function themeLayout(theme: Theme): Obj {
  const axis = { gridcolor: theme.grid, linecolor: theme.line, zerolinecolor: theme.line, tickcolor: theme.line };
  const sceneAxis = { ...axis, backgroundcolor: TRANSPARENT };
  return {
    paper_bgcolor: TRANSPARENT,
    plot_bgcolor: TRANSPARENT,
    font: { color: theme.text, family: theme.font },
    xaxis: axis,
    yaxis: axis,
    polar: { bgcolor: TRANSPARENT, angularaxis: axis, radialaxis: axis },
    ternary: { bgcolor: TRANSPARENT, aaxis: axis, baxis: axis, caxis: axis },
    scene: { xaxis: sceneAxis, yaxis: sceneAxis, zaxis: sceneAxis },
    legend: { bgcolor: TRANSPARENT },
    annotationdefaults: { arrowcolor: theme.text },
    modebar: { bgcolor: TRANSPARENT, color: theme.muted, activecolor: theme.text },
  };
}

/** The figure's template with the theme merged over its layout part. */
export function themedTemplate(template: unknown, theme: Theme): Obj {
  const t = isObj(template) ? template : {};
  return { ...t, layout: mergeDeep(isObj(t.layout) ? t.layout : {}, themeLayout(theme)) };
}

/** The height the plot gets in a card: the figure's own, within 200-720 px, else 320. */
export function plotHeight(layout: Obj): number {
  const h = layout.height;
  if (typeof h !== "number" || !Number.isFinite(h)) return DEFAULT_HEIGHT;
  return Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, h)));
}

/** The layout drawn in the card: sized by the card (no fixed width or height), small margins
 * where the figure sets none, and the theme in its template. */
export function cardLayout(layout: Obj, theme: Theme): Obj {
  const { width: _w, height: _h, ...rest } = layout;
  const title = isObj(rest.title) ? rest.title.text : rest.title;
  const margin = { l: 48, r: 16, t: title ? 48 : 24, b: 40, ...(isObj(rest.margin) ? rest.margin : {}) };
  return { ...rest, autosize: true, margin, template: themedTemplate(rest.template, theme) };
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The summary line under the plot: "3 traces (scatter, bar) · 1,200 points · 45 kB". */
export function figureSummary(value: unknown): string {
  if (!isObj(value)) return "";
  const parts: string[] = [];
  if (typeof value.traces === "number") {
    const types = Array.isArray(value.trace_types) ? value.trace_types.map(String) : [];
    parts.push(`${formatCount(value.traces)} trace${value.traces === 1 ? "" : "s"}${types.length ? ` (${types.join(", ")})` : ""}`);
  }
  if (typeof value.points === "number") parts.push(`${formatCount(value.points)} point${value.points === 1 ? "" : "s"}`);
  if (typeof value.size === "number") parts.push(formatSize(value.size));
  const types = Array.isArray(value.trace_types) ? value.trace_types.map(String) : [];
  if (typeof value.points === "number" && value.points > SVG_POINTS && types.includes("scatter")) {
    parts.push("go.Scattergl draws this many points much faster"); // SVG: seconds per 100k points
  }
  return parts.join(" · ");
}

/** Points past which an SVG scatter (plotly's "scatter" traces) takes seconds to draw. */
export const SVG_POINTS = 50_000;
