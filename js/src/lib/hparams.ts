// The hyperparameter editor's rows and typed parsing of edits, checked in the browser before a
// `set` message is sent (Python checks again: weightslab_nb/panels/hparams.py).

export type JsonValue = null | boolean | number | string | JsonValue[];

export interface HparamRow {
  path: string;
  type: string;
  requested: JsonValue;
  applied: JsonValue;
  pending: boolean;
  editable: boolean;
  item_types: string[] | null;
  error: string | null;
  changed: { step: number | null; source: string | null; old: JsonValue } | null;
}

export type Parsed = { ok: true; value: JsonValue } | { ok: false; error: string };

/** Normalise the `rows` trait (malformed entries are dropped). */
export function rowsOf(raw: unknown): HparamRow[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((r) => r && typeof r === "object" && typeof r.path === "string")
    .map((r) => ({
      path: r.path,
      type: typeof r.type === "string" ? r.type : "object",
      requested: r.requested ?? null,
      applied: r.applied ?? null,
      pending: Boolean(r.pending),
      editable: Boolean(r.editable),
      item_types: Array.isArray(r.item_types) ? r.item_types.map(String) : null,
      error: typeof r.error === "string" && r.error ? r.error : null,
      changed: r.changed && typeof r.changed === "object" ? r.changed : null,
    }));
}

const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INT = /^[+-]?\d+$/;

/** How a value reads in the panel: Python-like for None and booleans, JSON for lists. */
export function formatValue(value: JsonValue, type = ""): string {
  if (value === null) return type === "NoneType" || type === "" ? "None" : "–";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return type === "float" && Number.isInteger(value) ? value.toFixed(1) : String(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The text an editor starts with for a value (what `parseValue` reads back to it). */
export function inputText(value: JsonValue, type: string): string {
  if (type === "bool") return value ? "true" : "false";
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatValue(value, type);
  return JSON.stringify(value);
}

function checkItem(item: unknown, type: string, where: string): string | null {
  switch (type) {
    case "float":
      return typeof item === "number" && Number.isFinite(item) ? null : `${where}: expected a float`;
    case "int":
      return typeof item === "number" && Number.isSafeInteger(item) ? null : `${where}: expected an int`;
    case "bool":
      return typeof item === "boolean" ? null : `${where}: expected true or false`;
    case "str":
      return typeof item === "string" ? null : `${where}: expected a string`;
    case "NoneType":
      return null;
    default:
      return Array.isArray(item) || (item !== null && typeof item === "object")
        ? `${where}: nested values cannot be edited here` : null;
  }
}

/**
 * Read what the user typed for a value of `type` (the requested value's Python type name).
 * A float takes any finite number (an int too); an int a whole number; a bool true/false; a
 * str any text; a list (or tuple) a JSON list whose items have the current items' types
 * (`itemTypes`); None anything (JSON, else the text as a string).
 */
export function parseValue(text: string, type: string, itemTypes: string[] | null = null): Parsed {
  const t = text.trim();
  switch (type) {
    case "float": {
      const v = Number(t);
      return FLOAT.test(t) && Number.isFinite(v) ? { ok: true, value: v }
        : { ok: false, error: `expected a float (e.g. 0.001 or 1e-4), got ${JSON.stringify(text)}` };
    }
    case "int": {
      const v = Number(t);
      if (!INT.test(t)) return { ok: false, error: `expected an int (a whole number), got ${JSON.stringify(text)}` };
      return Number.isSafeInteger(v) ? { ok: true, value: v } : { ok: false, error: "int: out of range" };
    }
    case "bool": {
      const v = t.toLowerCase();
      if (v === "true") return { ok: true, value: true };
      if (v === "false") return { ok: true, value: false };
      return { ok: false, error: `expected true or false, got ${JSON.stringify(text)}` };
    }
    case "str":
      return { ok: true, value: text };
    case "list":
    case "tuple": {
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch {
        return { ok: false, error: `expected a list such as [0.9, 0.999], got ${JSON.stringify(text)}` };
      }
      if (!Array.isArray(v)) return { ok: false, error: "expected a list such as [0.9, 0.999]" };
      const types = itemTypes ?? [];
      for (let i = 0; i < v.length; i++) {
        const ref = types.length ? types[Math.min(i, types.length - 1)] : "NoneType";
        const err = checkItem(v[i], ref, `item ${i}`);
        if (err) return { ok: false, error: err };
      }
      return { ok: true, value: v as JsonValue[] };
    }
    case "NoneType": {
      if (t === "" || t === "None" || t === "null") return { ok: true, value: null };
      try {
        const v = JSON.parse(t);
        if (v !== null && typeof v === "object" && !Array.isArray(v)) return { ok: false, error: "a section cannot be set here" };
        return { ok: true, value: v as JsonValue };
      } catch {
        return { ok: true, value: text };
      }
    }
    default:
      return { ok: false, error: `a ${type} value cannot be edited in the panel` };
  }
}

/** "applied at step 120 (panel)" for the last applied change of a row; "" when none. */
export function changeText(row: HparamRow): string {
  const c = row.changed;
  if (!c) return "";
  const at = c.step === null || c.step === undefined ? "applied" : `applied at step ${c.step}`;
  const source = c.source ? ` (${c.source})` : "";
  return `${at}${source}, was ${formatValue(c.old, row.type)}`;
}
