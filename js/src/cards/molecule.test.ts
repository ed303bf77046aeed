import { describe, expect, it } from "vitest";
import { downloadLabel, formatBytes, moleculeFacts } from "./molecule";

describe("molecule card text", () => {
  it("says the format, atoms, formula and size the summary has", () => {
    expect(moleculeFacts({ format: "pdb", atoms: 24, formula: "C8H10N4O2", size: 1934 }))
      .toBe("pdb · 24 atoms · C8H10N4O2 · 1.9 kB");
    expect(moleculeFacts({ format: "cif", atoms: null, formula: null, size: 120 })).toBe("cif · 120 B");
    expect(moleculeFacts({ format: "xyz", atoms: 1 })).toBe("xyz · 1 atom");
  });

  it("names the download by the file's extension", () => {
    expect(downloadLabel("caffeine_0_1a2b3c4d.sdf")).toBe("download .sdf");
    expect(downloadLabel("molecule")).toBe("download");
    expect(formatBytes(3_200_000)).toBe("3.2 MB");
  });
});
