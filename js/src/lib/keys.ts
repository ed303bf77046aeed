// The grid's keyboard: which key does what, and where the focus cursor goes in a page laid out
// in rows of N cells. Pure logic; grid.ts reads the layout and applies the result.

/** What a key press asks the grid to do (null: not a grid key, the browser keeps it). */
export type KeyCommand =
  | { kind: "move"; key: MoveKey; extend: boolean }
  | { kind: "toggle" | "clear" | "open" | "tag" | "discard" | "restore" | "help" | "selectAll" | "nextPage" | "prevPage" };

export type MoveKey = "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" | "Home" | "End";

const MOVES: readonly string[] = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];

export interface KeyPress {
  key: string;
  shift?: boolean;
  ctrl?: boolean; // ctrl or cmd
  alt?: boolean;
}

/** The grid's command for a key press on the cells (not in a text box), or null. */
export function keyCommand(e: KeyPress): KeyCommand | null {
  if (e.alt) return null;
  if (e.ctrl) return e.key === "a" || e.key === "A" ? { kind: "selectAll" } : null;
  if (MOVES.includes(e.key)) return { kind: "move", key: e.key as MoveKey, extend: e.shift === true };
  switch (e.key) {
    case " ":
    case "Spacebar":
      return { kind: "toggle" };
    case "Escape":
      return { kind: "clear" };
    case "Enter":
      return { kind: "open" };
    case "t":
      return { kind: "tag" };
    case "d":
      return { kind: "discard" };
    case "r":
      return { kind: "restore" };
    case "?":
      return { kind: "help" };
    case "PageDown":
      return { kind: "nextPage" };
    case "PageUp":
      return { kind: "prevPage" };
    default:
      return null;
  }
}

/**
 * Whether a key press inside the grid goes on to JupyterLab. Every key without ctrl/cmd/alt
 * stays in the grid (a single letter is a notebook command in command mode: `a`, `b`, `x`,
 * `d d`...); ctrl/cmd combinations other than the grid's own (ctrl+A) go on, so that ctrl+S
 * still saves the notebook.
 */
export function passesToLab(e: KeyPress): boolean {
  if (!e.ctrl && !e.alt) return false;
  return keyCommand(e) === null;
}

/** The key list the `?` overlay shows: [keys, what they do]. */
export const KEY_HELP: readonly [string, string][] = [
  ["← → ↑ ↓", "move the cursor (row by row, as the cells are laid out)"],
  ["Home / End", "first / last cell of the page"],
  ["Shift + arrows", "extend the selection from its anchor to the cursor"],
  ["Space", "select or unselect the cell under the cursor"],
  ["Ctrl/⌘ + A", "select every cell of the page"],
  ["Esc", "clear the selection (close this list or the detail view first)"],
  ["Enter / double-click", "open the detail view of the cell"],
  ["t", "type a new tag for the selection"],
  ["d / r", "discard / restore the selection"],
  ["PageDown / PageUp", "next / previous page"],
  ["?", "show or hide this list"],
];

/**
 * Cells per row of a page: how many of the cells' top edges (in page order) equal the first
 * one's, within `tolerance` pixels. 1 for an empty or single-column page.
 */
export function columnsOf(tops: readonly number[], tolerance = 2): number {
  if (tops.length === 0) return 1;
  const n = tops.findIndex((t) => Math.abs(t - tops[0]) > tolerance);
  return n === -1 ? tops.length : Math.max(1, n);
}

/**
 * The cursor after a move key on a page of `count` cells in rows of `columns`: left/right step
 * through the page order; up/down move one row in the same column (down to a shorter last row
 * lands on its last cell); at an edge the cursor stays. No cursor yet (-1): the first cell.
 */
export function moveCursor(index: number, key: MoveKey, count: number, columns: number): number {
  if (count <= 0) return -1;
  const cols = Math.max(1, Math.trunc(columns) || 1);
  if (index < 0 || index >= count) return key === "End" ? count - 1 : 0;
  const lastRow = Math.floor((count - 1) / cols);
  const row = Math.floor(index / cols);
  switch (key) {
    case "ArrowLeft":
      return Math.max(0, index - 1);
    case "ArrowRight":
      return Math.min(count - 1, index + 1);
    case "ArrowUp":
      return row > 0 ? index - cols : index;
    case "ArrowDown":
      return row < lastRow ? Math.min(count - 1, index + cols) : index;
    case "Home":
      return 0;
    case "End":
      return count - 1;
  }
}

/**
 * Where "next"/"previous" in the detail view goes, in the grid's order: the position `delta`
 * cells on from `index` on a page starting at `offset`, `matched` rows in all. `page` is the
 * offset of the page that holds it (the same `offset` when it is on this page), `index` its
 * place on that page; null at either end of the order.
 */
export function stepInOrder(offset: number, index: number, delta: number, limit: number, matched: number):
  { page: number; index: number } | null {
  const at = offset + index + delta;
  if (index < 0 || at < 0 || at >= matched) return null;
  if (at >= offset && at < offset + limit) return { page: offset, index: at - offset };
  // the neighbouring page in the grid's own paging (its offset need not be a multiple of limit)
  const page = at > offset
    ? offset + limit * Math.floor((at - offset) / limit)
    : Math.max(0, offset - limit * Math.ceil((offset - at) / limit));
  return { page, index: at - page };
}
