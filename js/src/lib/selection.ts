// Selection of grid cells: click, shift-click (range on the current page) and ctrl/cmd-click.
// Ids are ints or strings; they are keyed by JSON so 1 and "1" stay distinct.

export type SampleId = number | string;

export const idKey = (id: SampleId): string => JSON.stringify(id);

export interface SelectionState {
  /** Selected ids by key, in selection order. */
  ids: Map<string, SampleId>;
  /** Last plainly clicked or toggled id: the start of a shift-click range. */
  anchor: SampleId | null;
}

export function emptySelection(): SelectionState {
  return { ids: new Map(), anchor: null };
}

export interface ClickModifiers {
  shift?: boolean;
  toggle?: boolean; // ctrl or cmd
}

/** Ids between `a` and `b` (inclusive) in `order`; just [b] when `a` is not in `order`. */
export function rangeBetween(order: SampleId[], a: SampleId | null, b: SampleId): SampleId[] {
  const keys = order.map(idKey);
  const j = keys.indexOf(idKey(b));
  const i = a === null ? -1 : keys.indexOf(idKey(a));
  if (j < 0) return [];
  if (i < 0) return [b];
  const [lo, hi] = i <= j ? [i, j] : [j, i];
  return order.slice(lo, hi + 1);
}

/** The selection after clicking `id` on a page whose cells are `order`. */
export function clickSelect(state: SelectionState, order: SampleId[], id: SampleId, mods: ClickModifiers = {}): SelectionState {
  const ids = new Map(state.ids);
  if (mods.shift && state.anchor !== null) {
    const range = rangeBetween(order, state.anchor, id);
    if (!mods.toggle) ids.clear();
    for (const r of range) ids.set(idKey(r), r);
    return { ids, anchor: state.anchor };
  }
  if (mods.toggle) {
    const k = idKey(id);
    if (ids.has(k)) ids.delete(k);
    else ids.set(k, id);
    return { ids, anchor: id };
  }
  const only = ids.size === 1 && ids.has(idKey(id));
  ids.clear();
  if (!only) ids.set(idKey(id), id);
  return { ids, anchor: only ? null : id };
}

/** Add every id of `order` (the "select page" action). */
export function selectAll(state: SelectionState, order: SampleId[]): SelectionState {
  const ids = new Map(state.ids);
  for (const id of order) ids.set(idKey(id), id);
  return { ids, anchor: state.anchor };
}

export function selectedIds(state: SelectionState): SampleId[] {
  return Array.from(state.ids.values());
}
