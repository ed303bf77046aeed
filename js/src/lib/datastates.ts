// Data states in the tag editor: the saved states (the `states` trait of panels/tags.py) and
// the one-line diff each shows against the session now.

export interface StateDiff {
  discards: { added: number; removed: number };
  tags: Record<string, { added: number; removed: number }>;
}

export interface SavedState {
  name: string;
  digest?: string;
  samples: number;
  discarded: number;
  origins?: string[];
  diff: StateDiff | null;
  error?: string;
}

const STATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether `name` is a valid state name (what panels/tags.py accepts); "" when valid, else why. */
export function stateNameProblem(name: string): string {
  if (!name) return "type a state name first";
  if (!STATE_NAME.test(name)) return "a state name is letters, digits, '.', '_' or '-' (at most 100)";
  return "";
}

function counts(added: number, removed: number): string {
  const parts: string[] = [];
  if (added) parts.push(`+${added}`);
  if (removed) parts.push(`−${removed}`);
  return parts.join(" ");
}

/** "discards +3 −1 · blurry +2 · weather=sunny +2", or "same as now"; terms sorted by name,
 * at most `maxTerms` tags (then "· +N more"). */
export function diffSummary(diff: StateDiff | null | undefined, maxTerms = 4): string {
  if (!diff) return "no diff";
  const parts: string[] = [];
  const d = diff.discards ?? { added: 0, removed: 0 };
  if (d.added || d.removed) parts.push(`discards ${counts(d.added, d.removed)}`);
  const terms = Object.entries(diff.tags ?? {})
    .filter(([, c]) => c.added || c.removed)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [term, c] of terms.slice(0, maxTerms)) parts.push(`${term} ${counts(c.added, c.removed)}`);
  if (terms.length > maxTerms) parts.push(`+${terms.length - maxTerms} more`);
  return parts.length ? parts.join(" · ") : "same as now";
}

/** The states of the trait, checked (a malformed entry is dropped), in name order. */
export function savedStates(value: unknown): SavedState[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((s): s is SavedState => !!s && typeof s === "object" && typeof (s as SavedState).name === "string")
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
