// BoundingBoxes2D logged alone: its boxes in their own frame (a unit square for fractions, the
// boxes' extent for pixels), "class score" labels, a legend chip per class that hides or shows
// the class, a score threshold and a labels toggle (all kept while the card moves to other steps).

import { h } from "../lib/dom";
import { boxGroupOf } from "../lib/overlays";
import { boxesFrameView, filterIn, togglesIn } from "../lib/overlays_view";
import { jsonAt, type CardView } from "./types";

export const boxesView: CardView = (ctx) => {
  const box = h("div", { class: "wl-ov-holder", "data-state": "loading" });
  const url = ctx.media?.urls[0];
  if (!url) return [box];
  jsonAt(url).then((content) => {
    if (!ctx.alive()) return;
    const group = boxGroupOf(content);
    if (!group) throw new Error("not a box group");
    box.replaceChildren(boxesFrameView(group, togglesIn(ctx.memo), filterIn(ctx.memo)));
    box.dataset.state = "ready";
  }).catch((err) => ctx.alive() && ctx.fail(`cannot read the boxes: ${err}`));
  return [box];
};
