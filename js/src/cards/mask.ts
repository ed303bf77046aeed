// ImageMask logged alone: its class ids coloured per labelled class (class ids without a label
// stay transparent), with a legend chip per class that hides or shows it (kept across steps).

import { thumbSize } from "../lib/media";
import { labelsOf } from "../lib/overlays";
import { maskFrameView, togglesIn } from "../lib/overlays_view";
import type { CardView } from "./types";

export const maskView: CardView = (ctx) => {
  const item = ctx.media?.items[0];
  const url = ctx.media?.urls[0];
  const v = ctx.entry.value && typeof ctx.entry.value === "object" ? ctx.entry.value : {};
  if (!item || !url) return [];
  const group = typeof item.extra.group === "string" ? item.extra.group : String(v.group ?? "mask");
  const size = thumbSize(item.width, item.height, 96, 240);
  return [maskFrameView(url, group, labelsOf(item.extra.class_labels), size, togglesIn(ctx.memo), ctx.alive)];
};
