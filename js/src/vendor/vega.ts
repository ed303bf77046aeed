// The Vega libraries a "vega" card (cards/vega.ts) loads on first use: vega-embed with vega and
// vega-lite bundled in (built into static/vendor-vega.js, sent by the kernel with an `asset`
// request; nothing comes from a CDN). `offlineLoader` refuses every load: a chart's data is
// inline, and no URL a spec names (data, images) is fetched.

import embed from "vega-embed";
import type { Loader } from "vega";

export { embed };

/** A Vega loader that fetches nothing: every load or sanitize is refused with a clear error. */
export function offlineLoader(): Loader {
  const refuse = (uri: unknown): Promise<never> =>
    Promise.reject(new Error(`not loaded (the chart works offline): ${String(uri).slice(0, 120)}`));
  return {
    options: {},
    load: refuse,
    sanitize: refuse,
    http: refuse,
    file: refuse,
  } as unknown as Loader;
}
