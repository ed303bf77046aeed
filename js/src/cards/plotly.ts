// Plotly: the figure drawn by plotly.js, loaded from the kernel the first time a figure is
// shown (ctx.vendor: the bundle of src/vendor/plotly.ts, never a CDN). The plot follows the
// card's width and JupyterLab's theme (live), and is freed with Plotly.purge once the card is
// drawn again (a new step) or removed (ctx.onDispose).

import "../styles/cards/plotly.css";
import type PlotlyLib from "plotly.js-dist-min";
import { h } from "../lib/dom";
import { cssVar } from "../lib/panel";
import {
  asFigure, cardLayout, figureSummary, mapTraceTypes, PLOTLY_CONFIG, plotHeight, themedTemplate,
  withoutRemoteImages, type Theme,
} from "./plotly-figure";
import { jsonAt, type CardContext, type CardView } from "./types";

type Plotly = typeof PlotlyLib;

const THEME_ATTRIBUTES = ["data-jp-theme-light", "data-jp-theme-name"];

function themeOf(el: Element): Theme {
  return {
    text: cssVar(el, "--jp-ui-font-color1", "#222"),
    muted: cssVar(el, "--jp-ui-font-color2", "#666"),
    grid: cssVar(el, "--jp-border-color2", "#e0e0e0"),
    line: cssVar(el, "--jp-border-color1", "#bdbdbd"),
    font: cssVar(el, "--jp-ui-font-family", "sans-serif"),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Keeps a drawn plot sized to the card and themed; purges it once the card moved on. */
function follow(ctx: CardContext, plotly: Plotly, gd: HTMLElement, template: unknown): void {
  let frame = 0;
  const resize = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      // a plot hidden (display: none) at that moment cannot be resized: it is, when shown
      if (ctx.alive() && gd.isConnected) Promise.resolve().then(() => plotly.Plots.resize(gd)).catch(() => undefined);
    });
  });
  const watch = new MutationObserver(() => {
    plotly.relayout(gd, { template: themedTemplate(template, themeOf(gd)) } as never).catch(() => undefined);
  });
  resize.observe(gd);
  ctx.onDispose(() => {
    watch.disconnect();
    resize.disconnect();
    cancelAnimationFrame(frame);
    plotly.purge(gd);
  });
  watch.observe(document.body, { attributes: true, attributeFilter: THEME_ATTRIBUTES });
}

function draw(ctx: CardContext, box: HTMLElement, note: HTMLElement, plotly: Plotly, json: unknown): void {
  const figure = asFigure(json);
  if (typeof figure === "string") return failed(ctx, box, figure);
  const maps = mapTraceTypes(figure.data);
  if (maps.length) {
    return failed(ctx, box, `${maps.join(", ")} traces need map data from the internet, which this panel never fetches: ` +
      "view the figure with figure.write_html() or log it as an image");
  }
  const { layout, dropped } = withoutRemoteImages(figure.layout);
  const gd = h("div", { class: "wl-plotly-plot" });
  gd.style.setProperty("--wl-plotly-height", `${plotHeight(layout)}px`);
  box.append(gd);
  const drawn = { data: figure.data, layout: cardLayout(layout, themeOf(box)), frames: figure.frames, config: { ...PLOTLY_CONFIG } };
  plotly.newPlot(gd, drawn as never).then(() => {
    if (!ctx.alive()) return plotly.purge(gd);
    note.textContent = dropped ? `${dropped} image${dropped === 1 ? "" : "s"} from URLs not shown (nothing is fetched from the internet)` : "";
    note.hidden = !dropped;
    box.dataset.state = "ready";
    follow(ctx, plotly, gd, layout.template);
  }, (err) => {
    plotly.purge(gd);
    gd.remove();
    if (ctx.alive()) failed(ctx, box, `plotly.js cannot draw this figure: ${errorText(err)}`);
  });
}

function failed(ctx: CardContext, box: HTMLElement, text: string): void {
  box.dataset.state = "error";
  box.replaceChildren();
  ctx.fail(text);
}

export const plotlyView: CardView = (ctx) => {
  const note = h("div", { class: "wl-plotly-note wl-muted", text: "loading the figure…" });
  const box = h("div", { class: "wl-plotly", "data-state": "loading" }, note);
  const info = h("div", { class: "wl-plotly-info wl-muted", text: figureSummary(ctx.entry.value) });
  const url = ctx.media?.urls[0];
  if (!url) return [box, info];
  const library = ctx.vendor<{ default: Plotly }>("plotly").then((m) => m.default,
    (err) => Promise.reject(new Error(`plotly.js could not be loaded: ${errorText(err)}`)));
  const json = jsonAt(url).catch((err) => Promise.reject(new Error(`the figure's JSON cannot be read: ${errorText(err)}`)));
  note.textContent = "loading plotly.js…";
  Promise.all([library, json]).then(([plotly, content]) => {
    if (ctx.alive()) draw(ctx, box, note, plotly, content);
  }, (err) => ctx.alive() && failed(ctx, box, errorText(err)));
  return [box, info];
};
