// plotly.js as an ES module, for the Plotly card (cards/plotly.ts). esbuild wraps the CommonJS
// distribution (its UMD header takes the `module.exports` branch, so require.js's
// `window.define` is never looked at) and build.mjs writes it to static/vendor-plotly.js; the
// kernel sends it with an `asset` request and lib/vendor.ts imports it from a Blob URL.
// Nothing here fetches from the network: the card turns off what would (see cards/plotly.ts).

import { restorePlotlyGlobal } from "./plotly-global"; // first: notes window.Plotly
import Plotly from "plotly.js-dist-min";

restorePlotlyGlobal();

export default Plotly;
