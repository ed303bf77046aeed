import { describe, expect, it } from "vitest";
import { buttonStates } from "./controls";

describe("controls buttons", () => {
  it("offers pause and stop while running, resume and stop while paused", () => {
    expect(buttonStates("running", false)).toEqual([true, false, true]);
    expect(buttonStates("paused", true)).toEqual([false, true, true]);
  });

  it("shows resume as soon as a pause was requested", () => {
    expect(buttonStates("running", true)).toEqual([false, true, true]);
  });

  it("allows pausing before the run starts, nothing after it ended", () => {
    expect(buttonStates("idle", false)).toEqual([true, false, false]);
    expect(buttonStates("stopped", false)).toEqual([false, false, false]);
    expect(buttonStates("error", false)).toEqual([false, false, false]);
  });

  it("keeps resume off while an evaluation is running or queued", () => {
    expect(buttonStates("paused", true, true)).toEqual([false, false, true]);
    expect(buttonStates("paused", true, false)).toEqual([false, true, true]);
  });
});
