// Keeps a bar (the grid's actions) in view at the top of the scrolling notebook while the
// cells below it scroll. CSS `position: sticky` cannot do it inside JupyterLab: the widget
// boxes and output areas around a panel have `overflow: auto`, so the bar would stick to a
// box that never scrolls. The view measures instead and moves the bar with a transform.

/**
 * How far down (px) to move the bar: 0 while its own place is in view; otherwise enough to sit
 * at `viewTop` (the scroller's top edge), but never below `limitBottom` (the end of the cells:
 * the bar does not leave the grid).
 *
 * @param viewTop top of the scrolling area, viewport px
 * @param barTop where the bar is drawn now (viewport px, with `current` applied)
 * @param current the offset applied now
 * @param barHeight
 * @param limitBottom bottom of the area the bar may cover (viewport px)
 */
export function stickyOffset(viewTop: number, barTop: number, current: number, barHeight: number, limitBottom: number): number {
  const natural = barTop - current; // where the bar sits without an offset
  const wanted = Math.max(0, viewTop - natural);
  const most = Math.max(0, limitBottom - barHeight - natural);
  return Math.round(Math.min(wanted, most));
}
