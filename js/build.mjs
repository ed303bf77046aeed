// Builds one ESM bundle (plus its CSS) per panel into ../weightslab_nb/static/, and one ES
// module per bundled library a card loads on first use (src/vendor/<name>.ts ->
// static/vendor-<name>.js, sent by the kernel with an `asset` request: see js/src/lib/vendor.ts).
// Usage: node build.mjs [--watch]
import * as esbuild from "esbuild";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const panels = ["curves", "grid", "tags", "controls", "hparams", "media", "sample", "sweeps"];

const options = {
  entryPoints: panels.map((p) => path.join(here, "src", `${p}.ts`)),
  outdir: path.join(here, "..", "weightslab_nb", "static"),
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  logLevel: "info",
  legalComments: "none",
};

const vendors = ["plotly", "vega"].filter((v) => existsSync(path.join(here, "src", "vendor", `${v}.ts`)));
const vendorOptions = {
  ...options,
  entryPoints: Object.fromEntries(vendors.map((v) => [`vendor-${v}`, path.join(here, "src", "vendor", `${v}.ts`)])),
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
  if (vendors.length) await esbuild.build(vendorOptions);
}
