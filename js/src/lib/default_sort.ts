// The grid's default sort: what the grid sorts by when the user never chose a sort.
//   1. recorded order, until a per-sample loss is recorded;
//   2. the loss, highest first (discarded samples last, as every sort), once one exists;
//   3. the "★ suspects" preset once there is enough history to rank (lib/suspects.ts).
// A sort or direction the user chose always wins, and the grid never switches while the user
// works in it (the pointer over it, the keyboard cursor in use, a page other than the first, a
// confirmation or the detail view open): it waits for the pointer (or the focus) to leave.

import { SUSPECTS_SORT } from "./suspects";

export interface DefaultSortInput {
  explicit: boolean; // the user chose a sort or an order
  sortBy: string | null; // the current sort (null: recorded order)
  lossColumn: string | null; // the per-sample loss the grid sorts by ("signals//<name>"), once recorded
  suspectsReady: boolean; // suspectsReady(...) for the origin shown
  pointerInside: boolean; // the pointer is over the panel
  focused: boolean; // the keyboard focus is on the cells or the detail view (the cursor in use)
  offset: number; // first row shown
  busy: boolean; // a confirmation (or the detail view) is open
}

/** The default the grid would show now, ignoring who is looking: suspects, else the loss. */
export function wantedDefault(s: Pick<DefaultSortInput, "lossColumn" | "suspectsReady">): string | null {
  if (s.suspectsReady) return SUSPECTS_SORT;
  return s.lossColumn || null;
}

/**
 * The sort to switch to now (always descending), or null to keep the current one: only while
 * the sort is one the grid chose itself (recorded order, or an earlier default: the loss gives
 * way to the suspects), and never under the user's hands.
 */
export function nextDefaultSort(s: DefaultSortInput): string | null {
  if (s.explicit) return null;
  const wanted = wantedDefault(s);
  if (wanted === null || wanted === s.sortBy) return null;
  const isDefault = s.sortBy === null || s.sortBy === s.lossColumn; // not (yet) the suspects
  if (!isDefault) return null;
  if (s.pointerInside || s.focused || s.offset !== 0 || s.busy) return null;
  return wanted;
}

/** The status line after the grid switched to `sort` by itself. */
export function defaultSortMessage(sort: string): string {
  return sort === SUSPECTS_SORT
    ? "sorted by suspects: enough history to rank the samples"
    : "sorted by loss, highest first: a per-sample loss is recorded";
}
