// What `window.Plotly` was before plotly.js's bundle ran: the bundle assigns its module to it,
// and a page may already hold another plotly.js there (plotly.py's notebook renderer, say).
// Imported by plotly.ts before plotly.js, so this module runs first.

const g = globalThis as unknown as Record<string, unknown>;

export const hadPlotly = Object.prototype.hasOwnProperty.call(g, "Plotly");
export const previousPlotly = g.Plotly;

/** Puts `window.Plotly` back as it was. */
export function restorePlotlyGlobal(): void {
  if (hadPlotly) g.Plotly = previousPlotly;
  else delete g.Plotly;
}
