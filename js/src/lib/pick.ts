// Point picking on the curves canvas: which (signal, step) a click at a pixel means.

import { makeScale, nearestIndex } from "./scale";

/** Where the plot area is and what it shows (pixels: y0 is the bottom edge, y1 the top one). */
export interface PlotFrame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  xDomain: [number, number];
  yDomain: [number, number];
  log: boolean;
}

export interface PickSeries {
  name: string;
  step: ArrayLike<number>;
  mean: ArrayLike<number>;
}

export interface Picked {
  signal: string;
  step: number;
  index: number;
}

/** The step (data x) under pixel column `px`, or null outside the plot area (± `slack` px). */
export function stepAtPixel(frame: PlotFrame, px: number, slack = 0): number | null {
  if (!(px >= frame.x0 - slack && px <= frame.x1 + slack) || frame.x1 <= frame.x0) return null;
  const [a, b] = frame.xDomain;
  const x = Math.min(Math.max(px, frame.x0), frame.x1);
  return a + ((x - frame.x0) / (frame.x1 - frame.x0)) * (b - a);
}

/**
 * The point a click at (`px`, `py`) picks: in each series the point whose step is nearest to
 * the pointer's x, and of those the one drawn nearest to the pointer's y. Null outside the plot
 * area (± `slack` px) or when no series has a finite point there.
 */
export function pickPoint(frame: PlotFrame, series: PickSeries[], px: number, py: number, slack = 4): Picked | null {
  const x = stepAtPixel(frame, px, slack);
  if (x === null || !(py >= frame.y1 - slack && py <= frame.y0 + slack)) return null;
  const sy = makeScale(frame.yDomain, [frame.y0, frame.y1], frame.log);
  let best: Picked | null = null;
  let bestDy = Infinity;
  for (const s of series) {
    const j = nearestIndex(s.step, x);
    if (j < 0) continue;
    const y = sy(s.mean[j]);
    const dy = Number.isFinite(y) ? Math.abs(y - py) : Infinity;
    if (best === null || dy < bestDy) {
      best = { signal: s.name, step: Math.round(s.step[j]), index: j };
      bestDy = dy;
    }
  }
  return best;
}
