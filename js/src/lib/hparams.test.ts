import { describe, expect, it } from "vitest";
import { changeText, formatValue, inputText, parseValue, rowsOf } from "./hparams";

describe("hyperparameter edits are checked by type", () => {
  it("reads floats, ints too, but not words or non-finite numbers", () => {
    expect(parseValue("0.001", "float")).toEqual({ ok: true, value: 0.001 });
    expect(parseValue(" 1e-4 ", "float")).toEqual({ ok: true, value: 1e-4 });
    expect(parseValue("3", "float")).toEqual({ ok: true, value: 3 });
    for (const bad of ["fast", "", "1e999", "Infinity", "NaN", "0x10", "1,5"]) {
      expect(parseValue(bad, "float").ok, bad).toBe(false);
    }
  });

  it("reads ints as whole numbers only", () => {
    expect(parseValue("64", "int")).toEqual({ ok: true, value: 64 });
    expect(parseValue("-3", "int")).toEqual({ ok: true, value: -3 });
    for (const bad of ["2.5", "1e3", "sixty", "", "true", "99999999999999999999"]) {
      expect(parseValue(bad, "int").ok, bad).toBe(false);
    }
  });

  it("reads bools as true/false and strings as typed", () => {
    expect(parseValue("True", "bool")).toEqual({ ok: true, value: true });
    expect(parseValue("false", "bool")).toEqual({ ok: true, value: false });
    expect(parseValue("1", "bool").ok).toBe(false);
    expect(parseValue(" adam ", "str")).toEqual({ ok: true, value: " adam " });
  });

  it("reads lists whose items have the current items' types", () => {
    expect(parseValue("[0.9, 0.99]", "list", ["float", "float"])).toEqual({ ok: true, value: [0.9, 0.99] });
    expect(parseValue("[1, 2, 3]", "tuple", ["int"])).toEqual({ ok: true, value: [1, 2, 3] });
    expect(parseValue("[1, 2.5]", "list", ["int", "int"])).toEqual({ ok: false, error: "item 1: expected an int" });
    expect(parseValue('["a"]', "list", ["float"]).ok).toBe(false);
    expect(parseValue("0.9", "list", ["float"]).ok).toBe(false);
    expect(parseValue("[0.9", "list", ["float"]).ok).toBe(false);
  });

  it("takes anything where the value is None, and refuses other types", () => {
    expect(parseValue("", "NoneType")).toEqual({ ok: true, value: null });
    expect(parseValue("12", "NoneType")).toEqual({ ok: true, value: 12 });
    expect(parseValue("cosine", "NoneType")).toEqual({ ok: true, value: "cosine" });
    expect(parseValue('{"a": 1}', "NoneType").ok).toBe(false);
    expect(parseValue("x", "dict").ok).toBe(false);
  });
});

describe("hyperparameter rows", () => {
  it("formats values and editor text so that parsing reads them back", () => {
    expect(formatValue(1, "float")).toBe("1.0");
    expect(formatValue(0.001, "float")).toBe("0.001");
    expect(formatValue(true, "bool")).toBe("True");
    expect(formatValue(null, "NoneType")).toBe("None");
    expect(formatValue([0.9, 0.99], "list")).toBe("[0.9,0.99]");
    for (const [value, type] of [[0.001, "float"], [2, "float"], [64, "int"], [false, "bool"], ["adam", "str"], [[1, 2], "list"]] as const) {
      const back = parseValue(inputText(value as never, type), type, type === "list" ? ["int"] : null);
      expect(back).toEqual({ ok: true, value });
    }
  });

  it("normalises the trait and describes the last change", () => {
    const [row] = rowsOf([{ path: "optimizer.lr", type: "float", requested: 0.001, applied: 0.01, pending: true,
      editable: true, item_types: null, error: null, changed: { step: 120, source: "panel", old: 0.1 } }, { nope: 1 }]);
    expect(row.pending).toBe(true);
    expect(changeText(row)).toBe("applied at step 120 (panel), was 0.1");
    expect(changeText({ ...row, changed: null })).toBe("");
    expect(rowsOf(undefined)).toEqual([]);
  });
});
