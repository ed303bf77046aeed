// Molecule: its 2-D drawing (an SVG made by RDKit in the kernel, shown in an <img>, where it
// runs no script), its caption, format, atoms and formula, and a link that downloads the
// molecule file (its 3-D structure, for a viewer). Without a drawing, the card says why.

import "../styles/cards/molecule.css";
import { h } from "../lib/dom";
import { formatCount } from "../lib/format";
import type { CardView } from "./types";

/** A size in bytes for people: "512 B", "1.9 kB", "3.2 MB". */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** The facts line: format, atom count, formula and file size, from the card's summary. */
export function moleculeFacts(v: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof v.format === "string") parts.push(v.format);
  if (typeof v.atoms === "number") parts.push(`${formatCount(v.atoms)} atom${v.atoms === 1 ? "" : "s"}`);
  if (typeof v.formula === "string" && v.formula) parts.push(v.formula);
  if (typeof v.size === "number") parts.push(formatBytes(v.size));
  return parts.join(" · ");
}

/** The download link's text: "download .pdb" (the file name's extension). */
export function downloadLabel(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `download ${name.slice(dot)}` : "download";
}

export const moleculeView: CardView = (ctx) => {
  const v = (ctx.entry.value ?? {}) as Record<string, unknown>;
  const figure = h("div", { class: "wl-mol-figure", "data-state": "loading" });
  const caption = typeof v.caption === "string" && v.caption
    ? h("div", { class: "wl-mol-caption", text: v.caption }) : null;
  const foot = h("div", { class: "wl-mol-foot" }, h("span", { class: "wl-mol-facts wl-muted", text: moleculeFacts(v) }));
  const media = ctx.media;
  if (!media) return [figure, caption, foot];
  const at = (role: string) => media.items.findIndex((it) => it.extra.role === role);
  const drawn = at("depiction"), file = at("file");
  if (drawn >= 0) {
    const item = media.items[drawn];
    const img = h("img", {
      class: "wl-mol-img",
      src: media.urls[drawn],
      alt: `2D drawing of ${item.caption ?? "the molecule"}`,
      width: item.width ?? undefined,
      height: item.height ?? undefined,
    });
    img.addEventListener("error", () => ctx.alive() && ctx.fail("the drawing could not be shown"));
    figure.replaceChildren(img);
    figure.dataset.state = "drawn";
  } else {
    const note = file >= 0 ? media.items[file].extra.note : null;
    figure.replaceChildren(h("div", { class: "wl-mol-note", text: typeof note === "string" && note ? note : "no 2D drawing" }));
    figure.dataset.state = "none";
  }
  if (file >= 0) {
    const name = media.items[file].extra.name;
    const fileName = typeof name === "string" && name ? name : `molecule.${typeof v.format === "string" ? v.format : "txt"}`;
    foot.append(h("a", {
      class: "wl-mol-download",
      href: media.urls[file],
      download: fileName,
      text: downloadLabel(fileName),
      title: `${fileName}: the 3D structure, for a molecule viewer`,
    }));
  }
  return [figure, caption, foot];
};
