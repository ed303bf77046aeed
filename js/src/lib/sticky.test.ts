import { describe, expect, it } from "vitest";
import { stickyOffset } from "./sticky";

describe("the action bar stays in view while the cells scroll", () => {
  it("stays in its place while that place is in view", () => {
    expect(stickyOffset(90, 300, 0, 40, 1200)).toBe(0);
  });
  it("follows the top of the scroller once its place has scrolled past it", () => {
    expect(stickyOffset(90, -500, 0, 40, 1200)).toBe(590); // moved to y = 90
    expect(stickyOffset(90, 90, 590, 40, 1200)).toBe(590); // already there: stays
  });
  it("never leaves the grid: stops at the end of the cells", () => {
    expect(stickyOffset(90, -500, 0, 40, 60)).toBe(520); // bottom at 60: bar top at 20
  });
  it("goes back to its place when scrolled up again", () => {
    expect(stickyOffset(90, 590, 500, 40, 1200)).toBe(0);
  });
});
