// wl.plot_table custom charts: the Vega-Lite spec of the `media` reply (rows inline) drawn by
// the bundled vega-embed (vendor/vega.ts), fitted to the card's width, in the theme's colours,
// with tooltips; nothing is fetched (an offline loader) and there is no actions menu (no link
// to the online editor). The Vega view is finalized once the card is drawn again or removed.

import "../styles/cards/vega.css";
import type { Result } from "vega-embed";
import { h } from "../lib/dom";
import { luminance, over, paletteFor, parseColor } from "../lib/contrast";
import { cssVar } from "../lib/panel";
import { jsonAt, type CardContext, type CardView } from "./types";
import { fitSpec, isSingleView, rowsCount, rowsNote, themeConfig, type Spec, type ThemeColors } from "./vega_config";

interface VegaModule {
  embed: (el: HTMLElement, spec: Spec, opts: Record<string, unknown>) => Promise<Result>;
  offlineLoader: () => unknown;
}

/** Views still drawn; each is finalized once its card's drawing is replaced or removed
 * (ctx.onDispose). Shared by the page's panels, and readable by tests under a global symbol. */
type Live = Set<{ result: Result; observer: ResizeObserver | null }>;
const LIVE = Symbol.for("weightslab_nb.vega.views");
const live: Live = ((globalThis as unknown as Record<symbol, Live>)[LIVE] ??= new Set());

function colors(el: Element): ThemeColors {
  const background = cssVar(el, "--jp-layout-color1", "#fff");
  const bg = parseColor(background);
  return {
    text: cssVar(el, "--jp-ui-font-color1", "#222"),
    muted: cssVar(el, "--jp-ui-font-color2", "#555"),
    grid: cssVar(el, "--jp-border-color2", "#e0e0e0"),
    domain: cssVar(el, "--jp-border-color1", "#bdbdbd"),
    font: cssVar(el, "--jp-ui-font-family", "sans-serif"),
    palette: paletteFor(background),
    dark: bg !== null && luminance(over(bg, [255, 255, 255, 1])) < 0.18,
  };
}

async function draw(ctx: CardContext, box: HTMLElement, chart: HTMLElement, url: string): Promise<void> {
  const [spec, vega] = await Promise.all([jsonAt(url), ctx.vendor<VegaModule>("vega")]);
  if (!ctx.alive()) return;
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) throw new Error("the spec is not a JSON object");
  const theme = colors(box);
  const width = chart.clientWidth || box.clientWidth;
  const result = await vega.embed(chart, fitSpec(spec as Spec, width), {
    mode: "vega-lite",
    renderer: "svg",
    actions: false,
    loader: vega.offlineLoader(),
    tooltip: { theme: theme.dark ? "dark" : "light" },
    config: themeConfig(theme),
  });
  const entry = { result, observer: null as ResizeObserver | null };
  live.add(entry);
  ctx.onDispose(() => {
    entry.observer?.disconnect();
    result.finalize();
    live.delete(entry);
  });
  if (!ctx.alive()) return;
  box.dataset.state = "ready";
  if (typeof ResizeObserver === "undefined") return;
  let drawnWidth = width;
  const fits = isSingleView(spec as Spec) && (spec as Spec).width === undefined;
  entry.observer = new ResizeObserver(() => {
    if (!ctx.alive()) return;
    const w = chart.clientWidth;
    if (!fits || w <= 0 || Math.abs(w - drawnWidth) < 4) return;
    drawnWidth = w;
    result.view.width(Math.floor(w)).runAsync().catch((err: unknown) => ctx.alive() && ctx.fail(`cannot redraw the chart: ${err}`));
  });
  entry.observer.observe(chart);
}

export const vegaView: CardView = (ctx) => {
  const title = typeof ctx.entry.value?.spec_name === "string" ? ctx.entry.value.spec_name : "";
  const chart = h("div", { class: "wl-vega-chart" });
  const box = h("div", { class: "wl-vega", "data-state": "loading" }, chart);
  const item = ctx.media?.items[0];
  const url = ctx.media?.urls[0];
  if (!item || !url) return [box];
  const note = [title, rowsNote(item.extra.rows, item.extra.nrows) ?? rowsCount(item.extra.nrows)];
  box.append(h("div", { class: "wl-vega-note wl-muted", text: note.filter(Boolean).join(" · ") }));
  draw(ctx, box, chart, url).catch((err: unknown) => {
    if (!ctx.alive()) return;
    box.dataset.state = "error";
    const spec = title ? ` (spec ${title})` : "";
    ctx.fail(`cannot draw the chart${spec}: ${err instanceof Error ? err.message : String(err)}`);
  });
  return [box];
};
