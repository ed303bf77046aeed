import { describe, expect, it } from "vitest";
import { diffSummary, savedStates, stateNameProblem } from "./datastates";

describe("data states", () => {
  it("summarises a diff in one line, tags by name", () => {
    expect(diffSummary({ discards: { added: 3, removed: 1 },
      tags: { "weather=sunny": { added: 2, removed: 0 }, blurry: { added: 0, removed: 4 } } }))
      .toBe("discards +3 −1 · blurry −4 · weather=sunny +2");
    expect(diffSummary({ discards: { added: 0, removed: 0 }, tags: { a: { added: 0, removed: 0 } } }))
      .toBe("same as now");
    expect(diffSummary(null)).toBe("no diff");
  });

  it("caps the number of tag terms shown", () => {
    const tags = Object.fromEntries(["a", "b", "c", "d", "e", "f"].map((t) => [t, { added: 1, removed: 0 }]));
    expect(diffSummary({ discards: { added: 0, removed: 0 }, tags }, 2)).toBe("a +1 · b +1 · +4 more");
  });

  it("accepts the state names Python accepts", () => {
    expect(stateNameProblem("curated-v1.2_x")).toBe("");
    expect(stateNameProblem("")).toMatch(/type a state name/);
    expect(stateNameProblem("../etc")).toMatch(/letters, digits/);
    expect(stateNameProblem(".hidden")).toMatch(/letters, digits/);
    expect(stateNameProblem("a".repeat(101))).toMatch(/letters, digits/);
  });

  it("keeps well-formed states, sorted by name", () => {
    expect(savedStates([{ name: "b", samples: 1, discarded: 0, diff: null }, { nope: 1 }, null,
      { name: "a", samples: 2, discarded: 1, diff: null }]).map((s) => s.name)).toEqual(["a", "b"]);
    expect(savedStates("x")).toEqual([]);
  });
});
