// Builds one ESM bundle (plus its CSS) per panel into ../weightslab_nb/static/.
// Usage: node build.mjs [--watch]
import * as esbuild from "esbuild";
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

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
