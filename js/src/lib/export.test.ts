import { describe, expect, it } from "vitest";
import { exportFileName, exportOf, fileSafe } from "./export";

describe("exportFileName", () => {
  it("names the origin and the row count", () => {
    expect(exportFileName(["train"], 3)).toBe("weightslab-train-3.csv");
  });
  it("joins a few origins, in order, once each", () => {
    expect(exportFileName(["train", "val", "train"], 12)).toBe("weightslab-train+val-12.csv");
  });
  it("counts many origins instead of listing them", () => {
    expect(exportFileName(["a", "b", "c", "d"], 4)).toBe("weightslab-4origins-4.csv");
  });
  it("says when the export was cut", () => {
    expect(exportFileName(["train"], 50000, 60000)).toBe("weightslab-train-50000of60000.csv");
  });
  it("names an empty export 'selection'", () => {
    expect(exportFileName([], 0)).toBe("weightslab-selection-0.csv");
  });
  it("keeps path separators and odd characters out of the name", () => {
    expect(exportFileName(["../x/y z"], 1)).toBe("weightslab-x_y_z-1.csv");
    expect(fileSafe("///")).toBe("samples");
    expect(fileSafe("a".repeat(100))).toHaveLength(40);
  });
});

describe("exportOf", () => {
  it("reads a good reply", () => {
    expect(exportOf({ ok: true, csv: "h\n1\n", rows: 1, total: 2, origins: ["val", 3] }))
      .toEqual({ csv: "h\n1\n", rows: 1, total: 2, origins: ["val"] });
  });
  it("refuses a failed or malformed reply", () => {
    expect(exportOf({ ok: false, message: "no" })).toBeNull();
    expect(exportOf({ ok: true, rows: 1 })).toBeNull();
  });
});
