import { describe, expect, it } from "vitest";
import {
  allowedMime, binLabel, Debounce, describeEntry, diffEntries, entriesOf, entryFromMedia, entryOf,
  fileName, formatCell, formatMetric, FrameBatch, histogramBars, histogramRange, itemsNote,
  LatestRequest, loggedCount, newStepNote, NO_REPLY, noReply, otherText, parseMediaReply,
  parseValueReply, PendingReplies, pinAt, repin, replyMatches, REPLY_TIMEOUT_MS, requestFields,
  runOf, runSummary, sameOrder, selectorIndex, seriesDot, seriesPoints, shownStep, stepAria,
  stepLabel, stepPlan, tableCount, thumbSize, type MediaEntry, type Timers,
  cardSize, cellIndex, isCardList, listSummaries, mediaAt, confusionFields, imageCell, isMediaCell, needsBytes, parseConfusionReply,
} from "./media";
import type { Message } from "./model";

const entry = (key: string, kind: string, step: number, more: Partial<MediaEntry> = {}): MediaEntry =>
  ({ key, kind, step, rev: "", steps: [step], value: null, series: null, ...more });
const shown = (entries: MediaEntry[]) => new Map(entries.map((e) => [e.key, { kind: e.kind, step: e.step, rev: e.rev }]));

/** Timers driven by hand: `tick(ms)` runs what is due. */
function manualTimers(): Timers & { tick: (ms: number) => void; count: () => number } {
  let now = 0, next = 1;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    set: (fn, ms) => { const id = next++; due.set(id, { at: now + ms, fn }); return id; },
    clear: (id) => { due.delete(id as number); },
    tick(ms) {
      now += ms;
      for (const [id, t] of [...due].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && due.has(id)) { due.delete(id); t.fn(); }
      }
    },
    count: () => due.size,
  };
}

describe("the run and its entries", () => {
  it("reads no run from an empty trait, and a run's header line", () => {
    expect(runOf({})).toBeNull();
    expect(runOf(null)).toBeNull();
    expect(runOf([])).toBeNull();
    const run = runOf({ id: "ab12", name: "digits-3", project: "wl", path: "wl/digits-3", state: "running", step: 1200 })!;
    expect(run).toEqual({ id: "ab12", name: "digits-3", project: "wl", path: "wl/digits-3", state: "running", step: 1200 });
    expect(runSummary(run)).toBe("digits-3 · running · step 1,200");
    expect(runSummary({ ...run, step: null, state: "finished" })).toBe("digits-3 · finished");
  });

  it("keeps the trait's order, drops malformed entries and repeated keys", () => {
    const es = entriesOf([
      { key: "loss", kind: "number", step: 3, steps: [1, 2, 3], value: 0.5, series: [[1, 0.9], [2, null], [3, 0.5]] },
      { key: "", kind: "text", step: 1 },
      { kind: "text", step: 1 },
      { key: "note", kind: "text", step: "x" },
      { key: "img", step: 2, value: { count: 1 } },
      { key: "loss", kind: "text", step: 9 },
    ]);
    expect(es.map((e) => e.key)).toEqual(["loss", "img"]);
    expect(es[0].series).toEqual([[1, 0.9], [2, null], [3, 0.5]]);
    expect(es[1].kind).toBe("other"); // no kind given
    expect(es[1].steps).toEqual([2]); // no steps: the entry's own
    expect(entriesOf("nope")).toEqual([]);
  });

  it("reads each entry's rev (a string; none sent reads as empty)", () => {
    expect(entryOf({ key: "loss", kind: "number", step: 3, rev: "run1:7" })!.rev).toBe("run1:7");
    expect(entryOf({ key: "loss", kind: "number", step: 3, rev: 7 })!.rev).toBe("7");
    expect(entryOf({ key: "loss", kind: "number", step: 3 })!.rev).toBe("");
    expect(entryOf({ key: "loss", kind: "number", step: 3, rev: { a: 1 } })!.rev).toBe("");
  });
});

describe("which cards a trait update re-renders", () => {
  it("re-renders only keys whose step or kind changed, and new keys", () => {
    const before = [entry("loss", "number", 10), entry("img", "image", 10), entry("note", "text", 2)];
    const after = [entry("loss", "number", 11), entry("img", "images", 10), entry("note", "text", 2), entry("hist", "histogram", 11)];
    const d = diffEntries(shown(before), after);
    expect(d.added).toEqual(["hist"]);
    expect(d.changed).toEqual(["loss", "img"]);
    expect(d.removed).toEqual([]);
    expect(d.order).toEqual(["loss", "img", "note", "hist"]);
  });

  it("leaves every card alone when nothing new was logged, and lists removed keys", () => {
    const es = [entry("loss", "number", 10, { value: 0.1 }), entry("note", "text", 2)];
    const same = [entry("loss", "number", 10, { value: 0.2 }), entry("note", "text", 2)];
    expect(diffEntries(shown(es), same)).toEqual({ added: [], changed: [], removed: [], order: ["loss", "note"] });
    expect(diffEntries(shown(es), [es[1]]).removed).toEqual(["loss"]);
  });

  it("re-renders a key logged again at the same step, and every key of a new run with the same keys and steps", () => {
    const before = [entry("loss", "number", 10, { rev: "runA:1" }), entry("img", "image", 10, { rev: "runA:1" })];
    const again = [entry("loss", "number", 10, { rev: "runA:2" }), entry("img", "image", 10, { rev: "runA:1" })];
    expect(diffEntries(shown(before), again).changed).toEqual(["loss"]);
    const newRun = [entry("loss", "number", 10, { rev: "runB:1" }), entry("img", "image", 10, { rev: "runB:1" })];
    expect(diffEntries(shown(before), newRun).changed).toEqual(["loss", "img"]);
    expect(diffEntries(shown(before), before).changed).toEqual([]);
  });

  it("moves cards only when the order changed", () => {
    expect(sameOrder(["a", "b"], ["a", "b"])).toBe(true);
    expect(sameOrder(["a", "b"], ["b", "a"])).toBe(false);
    expect(sameOrder(["a"], ["a", "b"])).toBe(false);
  });
});

describe("the step selector", () => {
  const steps = [10, 20, 30, 40];

  it("starts at the last index and follows the latest step", () => {
    expect(selectorIndex(steps, null)).toBe(3);
    expect(shownStep(entry("x", "number", 40, { steps }), null)).toBe(40);
    expect(selectorIndex([], null)).toBe(0);
  });

  it("pins an older step and unpins at the last index", () => {
    expect(pinAt(steps, 1)).toBe(20);
    expect(pinAt(steps, 3)).toBeNull();
    expect(pinAt(steps, 7)).toBeNull(); // clamped to the last index
    expect(pinAt(steps, -2)).toBe(10);
    expect(selectorIndex(steps, 20)).toBe(1);
    expect(shownStep(entry("x", "number", 40, { steps }), 20)).toBe(20);
  });

  it("keeps a pinned step when newer steps arrive", () => {
    const grown = [10, 20, 30, 40, 50, 60];
    expect(repin(grown, 20)).toBe(20);
    expect(selectorIndex(grown, 20)).toBe(1);
    expect(repin(grown, null)).toBeNull(); // following the latest stays so
  });

  it("moves a pin that left the window to the oldest step still listed, or unpins", () => {
    expect(repin([30, 40, 50], 10)).toBe(30);
    expect(repin([30, 40, 50], 35)).toBe(40);
    expect(repin([50], 10)).toBeNull(); // only the latest is left
    expect(repin([10, 20], 20)).toBeNull();
    expect(repin([], 20)).toBeNull();
  });

  it("labels the step shown, with the latest when it is older", () => {
    expect(stepLabel(1200, 1200)).toBe("step 1,200");
    expect(stepLabel(20, 1200)).toBe("step 20 · latest 1,200");
  });

  it("names the selector after its key and reads its value as a step", () => {
    expect(stepAria("loss", 40)).toEqual({ label: "loss step", valuetext: "step 40" });
  });

  it("offers a newer step to a playing player instead of swapping it", () => {
    expect(newStepNote(1200)).toBe("new step 1,200 available");
  });
});

describe("value and media requests", () => {
  it("builds the request fields", () => {
    expect(requestFields("samples", 40)).toEqual({ key: "samples", step: 40 });
    expect(() => requestFields("", 1)).toThrow(/key/);
    expect(() => requestFields("x", 1.5)).toThrow(/integer/);
  });

  it("asks images for bytes only, audio and video for their descriptor then bytes, others for the value", () => {
    expect(stepPlan("image")).toEqual(["media"]);
    expect(stepPlan("images")).toEqual(["media"]);
    expect(stepPlan("audio")).toEqual(["value", "media"]);
    expect(stepPlan("video")).toEqual(["value", "media"]);
    expect(stepPlan("table")).toEqual(["value", "media"]); // the bytes only when it has image cells
    for (const k of ["number", "text", "histogram", "html", "object3d", "other"]) expect(stepPlan(k)).toEqual(["value"]);
  });

  it("reads a value reply, or its failure message", () => {
    const ok = parseValueReply({ type: "value_result", req: 3, ok: true, entry: { key: "loss", kind: "number", step: 20, steps: [10, 20, 30], value: 0.7 } }, "loss");
    expect(ok.ok && ok.entry.value).toBe(0.7);
    expect(parseValueReply({ type: "value_result", req: 3, ok: false, message: "no value of loss at step 21" }, "loss"))
      .toEqual({ ok: false, error: "no value of loss at step 21" });
    expect(parseValueReply({ type: "value_result", ok: true, entry: { key: "acc", step: 1 } }, "loss").ok).toBe(false);
    expect(parseValueReply({ type: "value_result", ok: true }, "loss").ok).toBe(false);
  });

  it("takes PNG, GIF, JPEG, WebP, BMP, WAV and video bytes only", () => {
    for (const m of ["image/png", "image/gif", "image/jpeg", "IMAGE/JPEG", "image/webp", "image/bmp", "audio/wav", "audio/x-wav",
      "audio/wave", "video/mp4", "video/webm", "video/ogg"]) expect(allowedMime(m), m).toBe(true);
    for (const m of ["image/svg+xml", "text/html", "application/octet-stream", "image/tiff", "audio/mpeg", "video/", "", null, 3]) {
      expect(allowedMime(m), String(m)).toBe(false);
    }
  });

  it("takes JSON, SVG, text and download-only files for the card kinds only", () => {
    for (const m of ["application/json", "image/svg+xml", "text/plain", "application/octet-stream"]) {
      expect(allowedMime(m, "molecule"), m).toBe(true);
      expect(allowedMime(m, "image"), m).toBe(false);
    }
    expect(allowedMime("text/html", "json")).toBe(false);
  });

  it("drops replies for another key or step than the one asked for", () => {
    expect(replyMatches({ key: "samples", step: 40 }, { key: "samples", step: 40 })).toBe(true);
    expect(replyMatches({ key: "samples", step: 20 }, { key: "samples", step: 40 })).toBe(false);
    expect(replyMatches({ key: "other", step: 40 }, { key: "samples", step: 40 })).toBe(false);
    expect(replyMatches({ key: "samples", step: NaN }, { key: "samples", step: 40 })).toBe(false);
  });

  it("stands in for a reply that never came with a failure the card can show", () => {
    expect(parseMediaReply(noReply("media"), [])).toEqual({ ok: false, error: NO_REPLY });
    expect(parseValueReply(noReply("value"), "loss")).toEqual({ ok: false, error: NO_REPLY });
    expect(NO_REPLY).toBe("no reply from the kernel; move the selector to retry");
  });
});

describe("media replies", () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const reply = (items: object[]) => ({ type: "media_result", req: 5, ok: true, key: "samples", step: 40, kind: "images", items });

  it("pairs each item with its buffer", () => {
    const r = parseMediaReply(reply([{ caption: "7", mime: "image/png", width: 28, height: 28 }, { caption: null, mime: "image/png" }]),
      [png.buffer, new DataView(png.buffer)]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.media.key).toBe("samples");
    expect(r.media.step).toBe(40);
    expect(r.media.items.map((i) => [i.caption, i.width, i.height])).toEqual([["7", 28, 28], [null, null, null]]);
    expect(Array.from(r.media.items[1].bytes)).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it("rejects a reply whose items and buffers do not match", () => {
    const r = parseMediaReply(reply([{ caption: null, mime: "image/png" }, { caption: null, mime: "image/png" }]), [png]);
    expect(r).toEqual({ ok: false, error: "media reply: 2 items but 1 buffer" });
    expect(parseMediaReply(reply([]), [png]).ok).toBe(false);
  });

  it("rejects bytes of an unsupported type and shows failure messages", () => {
    const r = parseMediaReply(reply([{ caption: null, mime: "text/html" }]), [png]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/unsupported type "text\/html"/);
    expect(parseMediaReply({ type: "media_result", req: 5, ok: false, message: "file missing" }, [])).toEqual({ ok: false, error: "file missing" });
    expect(parseMediaReply({ type: "media_result", req: 5, ok: false }, [])).toEqual({ ok: false, error: "media request failed" });
    expect(parseMediaReply({ type: "value_result", ok: true, items: [] }, []).ok).toBe(false);
  });

  it("builds an older image step's entry from its media reply", () => {
    const latest = entry("samples", "images", 40, { steps: [20, 40], value: { count: 3, captions: ["a", "b", "c"], width: 28, height: 28 } });
    const r = parseMediaReply({ ...reply([{ caption: "x", mime: "image/png", width: 32, height: 16 }]), step: 20 }, [png]);
    if (!r.ok) throw new Error(r.error);
    const e = entryFromMedia(latest, r.media, 20);
    expect(e.step).toBe(20);
    expect(e.steps).toEqual([20, 40]);
    expect(e.value).toEqual({ count: 1, captions: ["x"], width: 32, height: 16 });
    const more = parseMediaReply({ ...reply([{ caption: "x", mime: "image/png" }]), step: 20, count: 40 }, [png]);
    if (!more.ok) throw new Error(more.error);
    expect(entryFromMedia(latest, more.media, 20).value.count).toBe(40); // the reply says how many were logged
  });

  it("reads how many items were logged at the step, when the reply says", () => {
    const r = parseMediaReply({ ...reply([{ caption: null, mime: "image/jpeg" }]), count: 40 }, [png]);
    expect(r.ok && r.media.count).toBe(40);
    const none = parseMediaReply(reply([{ caption: null, mime: "image/png" }]), [png]);
    expect(none.ok && none.media.count).toBeNull();
    const less = parseMediaReply({ ...reply([{ caption: null, mime: "image/png" }]), count: 0 }, [png]);
    expect(less.ok && less.media.count).toBeNull(); // fewer than sent: not believed
  });

  it("reads an empty media reply as no items", () => {
    const r = parseMediaReply(reply([]), []);
    expect(r.ok && r.media.items).toEqual([]);
  });

  it("says when fewer items came than were logged", () => {
    expect(itemsNote(16, 40)).toBe("showing 16 of 40");
    expect(itemsNote(16, 1000)).toBe("showing 16 of 1,000");
    expect(itemsNote(3, 3)).toBe("");
    expect(itemsNote(3, null)).toBe("");
    expect(loggedCount({ count: 40, items: [1, 2] }, { count: 3 })).toBe(40);
    expect(loggedCount({ count: null, items: new Array(16) }, { count: 40 })).toBe(40); // the latest entry's descriptor
    expect(loggedCount({ count: null, items: [1, 2] }, { count: 1 })).toBe(2);
    expect(loggedCount({ count: null, items: [1] }, null)).toBe(1);
  });
});

describe("one request in flight per card, the latest wins", () => {
  it("sends at once when idle, keeps only the latest waiting job, sends it on the reply", () => {
    const slot = new LatestRequest<number>();
    expect(slot.submit(1)).toBe(1);
    expect(slot.busy).toBe(true);
    expect(slot.submit(2)).toBeNull();
    expect(slot.submit(3)).toBeNull();
    expect(slot.done()).toBe(3); // 2 was superseded
    expect(slot.busy).toBe(true);
    expect(slot.done()).toBeNull();
    expect(slot.busy).toBe(false);
    expect(slot.submit(4)).toBe(4);
    slot.reset();
    expect(slot.busy).toBe(false);
  });
});

describe("requests that get no reply", () => {
  it("completes a request with its reply once; a late duplicate finds nothing", () => {
    const timers = manualTimers();
    const replies = new PendingReplies<string>(REPLY_TIMEOUT_MS, timers);
    const got: [Message, boolean][] = [];
    replies.add("m1:1", noReply("media"), (msg, _b, synthetic) => got.push([msg, synthetic]));
    expect(replies.reply("m1:1", { type: "media_result", ok: true }, [])).toBe(true);
    expect(replies.reply("m1:1", { type: "media_result", ok: true }, [])).toBe(false);
    timers.tick(REPLY_TIMEOUT_MS);
    expect(got).toEqual([[{ type: "media_result", ok: true }, false]]);
    expect(timers.count()).toBe(0); // its timer was cleared
    expect(replies.size).toBe(0);
  });

  it("fails a request without a reply after 30 s, and ignores the reply if it comes later", () => {
    const timers = manualTimers();
    const replies = new PendingReplies<string>(REPLY_TIMEOUT_MS, timers);
    const got: [Message, boolean][] = [];
    replies.add("m1:2", noReply("value"), (msg, _b, synthetic) => got.push([msg, synthetic]));
    timers.tick(REPLY_TIMEOUT_MS - 1);
    expect(got).toEqual([]);
    timers.tick(1);
    expect(got).toEqual([[{ type: "value_result", ok: false, message: NO_REPLY }, true]]);
    expect(replies.reply("m1:2", { type: "value_result", ok: true }, [])).toBe(false);
    expect(got.length).toBe(1);
  });

  it("fails a request given up by the Channel at once, and forgets all on disposal", () => {
    const timers = manualTimers();
    const replies = new PendingReplies<string>(REPLY_TIMEOUT_MS, timers);
    const got: string[] = [];
    replies.add("a", noReply("media"), (msg) => got.push(`a ${msg.ok}`));
    replies.add("b", noReply("media"), (msg) => got.push(`b ${msg.ok}`));
    expect(replies.fail("a")).toBe(true);
    expect(replies.fail("a")).toBe(false);
    expect(replies.fail("nope")).toBe(false);
    replies.clear();
    timers.tick(REPLY_TIMEOUT_MS);
    expect(got).toEqual(["a false"]);
    expect(timers.count()).toBe(0);
  });

  it("never leaves a card's one-request slot busy when its reply is lost", () => {
    const timers = manualTimers();
    const replies = new PendingReplies<number>(REPLY_TIMEOUT_MS, timers);
    const slot = new LatestRequest<number>();
    const sent: number[] = [];
    let req = 0;
    const send = (step: number) => {
      sent.push(step);
      replies.add(++req, noReply("media"), () => {
        const next = slot.done();
        if (next !== null) send(next);
      });
    };
    send(slot.submit(10)!);
    expect(slot.submit(20)).toBeNull(); // waits behind 10
    timers.tick(REPLY_TIMEOUT_MS); // 10 never answered: 20 goes out
    expect(sent).toEqual([10, 20]);
    expect(replies.fail(2)).toBe(true); // dropped by the Channel
    expect(slot.busy).toBe(false);
  });
});

describe("redraws batched per frame", () => {
  it("runs once per frame however many updates came", () => {
    const frames: (() => void)[] = [];
    let runs = 0;
    const batch = new FrameBatch(() => { runs += 1; }, (cb) => frames.push(cb), () => {});
    batch.schedule();
    batch.schedule();
    batch.schedule();
    expect(frames.length).toBe(1);
    expect(batch.scheduled).toBe(true);
    frames.shift()!();
    expect(runs).toBe(1);
    expect(batch.scheduled).toBe(false);
    batch.schedule();
    expect(frames.length).toBe(1); // a later update asks for a new frame
  });

  it("runs at once on flush and not again when the frame asked for is cancelled", () => {
    const cancelled: unknown[] = [];
    let runs = 0;
    const batch = new FrameBatch(() => { runs += 1; }, () => 7, (h) => cancelled.push(h));
    batch.schedule();
    batch.flush();
    expect(runs).toBe(1);
    expect(cancelled).toEqual([7]);
    batch.cancel();
    expect(cancelled).toEqual([7]); // nothing asked for any more
  });

  it("debounces resize redraws: the latest runs once resizing pauses", () => {
    const timers = manualTimers();
    const d = new Debounce(100, timers);
    const widths: number[] = [];
    d.call(() => widths.push(300));
    timers.tick(60);
    d.call(() => widths.push(320));
    timers.tick(60);
    expect(widths).toEqual([]);
    timers.tick(40);
    expect(widths).toEqual([320]);
    d.call(() => widths.push(340));
    d.cancel();
    timers.tick(200);
    expect(widths).toEqual([320]);
  });
});

describe("histograms", () => {
  it("draws bottom-aligned bars, the tallest filling the height", () => {
    const bars = histogramBars([1, 4, 2, 0], 40, 20);
    expect(bars).toEqual([
      { x: 0.5, y: 15, width: 9, height: 5 },
      { x: 10.5, y: 0, width: 9, height: 20 },
      { x: 20.5, y: 10, width: 9, height: 10 },
      { x: 30.5, y: 20, width: 9, height: 0 }, // a zero count: an empty bar, still one per bin
    ]);
  });

  it("handles all-zero counts, a single bin and bad sizes", () => {
    expect(histogramBars([0, 0], 20, 10).map((b) => b.height)).toEqual([0, 0]);
    expect(histogramBars([0, NaN, -3], 30, 10).every((b) => b.height === 0 && Number.isFinite(b.y))).toBe(true);
    expect(histogramBars([7], 100, 50)).toEqual([{ x: 0.5, y: 0, width: 99, height: 50 }]);
    expect(histogramBars([1, 2, 3], 0, 10)).toEqual([]);
    expect(histogramBars([], 10, 10)).toEqual([]);
  });

  it("drops the gap between bars too narrow for it", () => {
    const bars = histogramBars(new Array(100).fill(1), 100, 10);
    expect(bars[1]).toEqual({ x: 1, y: 0, width: 1, height: 10 });
  });

  it("labels the outer edges and each bin", () => {
    expect(histogramRange([-1.5, 0, 2.25])).toEqual(["-1.5", "2.25"]);
    expect(histogramRange([])).toBeNull();
    expect(binLabel([0, 0.5, 1], [3, 4], 0)).toBe("[0, 0.5): 3");
    expect(binLabel([0, 0.5, 1], [3, 4], 1)).toBe("[0.5, 1]: 4");
    expect(binLabel([0, 1], [3, 4], 1)).toBe("bin 2: 4"); // edges that do not match the bins
  });
});

describe("tables, numbers and descriptions", () => {
  it("formats table cells", () => {
    expect(formatCell("[image]")).toBe("[image]");
    expect(formatCell("[media]")).toBe("[media]");
    expect(formatCell(null)).toBe("–");
    expect(formatCell(undefined)).toBe("–");
    expect(formatCell(0.123456)).toBe("0.1235");
    expect(formatCell(12345)).toBe("12,345");
    expect(formatCell("cat")).toBe("cat");
    expect(formatCell(true)).toBe("True");
    expect(tableCount(20, 1000)).toBe("showing 20 of 1,000 rows");
    expect(tableCount(1, 1)).toBe("showing 1 of 1 row");
  });

  it("formats logged numbers, NaN arriving as null", () => {
    expect(formatMetric(0.693147)).toBe("0.69315");
    expect(formatMetric(3)).toBe("3");
    expect(formatMetric(null)).toBe("NaN");
    expect(formatMetric(Infinity)).toBe("∞");
  });

  it("describes media without a view by kind, file name and a few fields", () => {
    expect(fileName("runs/x/media/clip_3.wav")).toBe("clip_3.wav");
    expect(fileName("C:\\runs\\page.html")).toBe("page.html");
    expect(fileName(null)).toBe("");
    expect(describeEntry("audio", { path: "media/clip.wav", sample_rate: 16000, caption: "dog" })).toBe("audio · clip.wav · sample_rate 16,000 · caption dog");
    expect(describeEntry("html", { path: null })).toBe("html");
    expect(describeEntry("object3d", { path: "a/b.glb", a: 1, b: 2, c: 3, d: 4 })).toBe("object3d · b.glb · a 1 · b 2 · c 3");
  });

  it("shows the text of any other object, however long", () => {
    const long = JSON.stringify({ a: "x".repeat(150) });
    expect(otherText({ path: null, text: long })).toBe(long);
    expect(otherText({ path: null, text: "{}" })).toBe("{}");
    expect(otherText("plain")).toBe("plain");
    expect(otherText({ a: 1 })).toBe('{"a":1}');
    expect(otherText(null)).toBe("");
  });
});

describe("thumbnails and sparklines", () => {
  it("scales small images up by a whole factor to at least 64 px, pixelated", () => {
    expect(thumbSize(28, 28)).toEqual({ width: 84, height: 84, pixelated: true });
    expect(thumbSize(32, 8)).toEqual({ width: 64, height: 16, pixelated: true });
    expect(thumbSize(100, 50)).toEqual({ width: 100, height: 50, pixelated: false });
    expect(thumbSize(768, 384)).toEqual({ width: 192, height: 96, pixelated: false });
    expect(thumbSize(null, 10)).toBeNull();
    expect(thumbSize(0, 0)).toBeNull();
  });

  it("draws a polyline of the series by step, skipping NaN, a lone point as a dash", () => {
    expect(seriesPoints([[0, 0], [10, 2], [20, 1]], 24, 12, 2)).toBe("2,10 12,2 22,6");
    expect(seriesPoints([[0, 1], [5, null], [10, 3]], 24, 12, 2)).toBe("2,10 22,2");
    expect(seriesPoints([[4, 1]], 24, 12, 2)).toBe("10,6 14,6");
    expect(seriesPoints([[4, null]], 24, 12)).toBe("");
    expect(seriesPoints(null, 24, 12)).toBe("");
  });

  it("marks the shown step on the sparkline", () => {
    expect(seriesDot([[0, 0], [10, 2], [20, 1]], 10, 24, 12, 2)).toEqual([12, 2]);
    expect(seriesDot([[0, 0], [10, 2]], 5, 24, 12, 2)).toBeNull();
    expect(seriesDot([[0, null]], 0, 24, 12, 2)).toBeNull();
  });
});

describe("entryOf", () => {
  it("keeps the value as sent and null for a missing one", () => {
    expect(entryOf({ key: "t", kind: "table", step: 1, value: { columns: ["a"], rows: [[1]], nrows: 1 } })!.value.nrows).toBe(1);
    expect(entryOf({ key: "n", kind: "number", step: 1 })!.value).toBeNull();
  });
});

describe("table image cells", () => {
  it("reads an image cell, and nothing else as one", () => {
    expect(imageCell({ kind: "image", width: 8, height: 8, caption: "7" })).toEqual({ width: 8, height: 8, caption: "7" });
    expect(imageCell({ kind: "image", width: -1, height: "8" })).toEqual({ width: null, height: null, caption: null });
    for (const v of ["[image]", null, 3, [], { kind: "audio" }, { width: 8 }]) expect(imageCell(v)).toBeNull();
    expect(formatCell({ kind: "image", width: 8, height: 8 })).toBe("[image]");
    expect(isMediaCell({ kind: "image" })).toBe(true);
    expect(isMediaCell("[media]")).toBe(true);
    expect(isMediaCell("image")).toBe(false);
  });

  it("asks for a table's bytes only when its rows hold image cells", () => {
    expect(needsBytes("table", { columns: ["a"], rows: [], images: 3 })).toBe(true);
    expect(needsBytes("table", { columns: ["a"], rows: [], images: 0 })).toBe(false);
    expect(needsBytes("table", { columns: ["a"], rows: [] })).toBe(false); // an older panel's preview
    expect(needsBytes("table", null)).toBe(false);
    for (const k of ["image", "images", "audio", "video"]) expect(needsBytes(k, null)).toBe(true);
    expect(needsBytes("plot", { images: 3 })).toBe(false);
  });

  it("finds each cell's bytes among the reply's items; the first item of a cell wins", () => {
    const at = cellIndex([{ row: 0, col: 1 }, { row: 2, col: 1 }, { row: null, col: 1 }, { row: 0, col: 1 }]);
    expect([...at]).toEqual([["0,1", 0], ["2,1", 1]]);
  });

  it("keeps a media reply's row and column (a table's cell) and drops bad ones", () => {
    const png = new Uint8Array([1, 2]);
    const r = parseMediaReply({ type: "media_result", ok: true, key: "t", step: 1, kind: "table", count: 2,
      items: [{ row: 0, col: 1, mime: "image/png" }, { row: -1, col: "x", mime: "image/png" }] }, [png, png]);
    if (!r.ok) throw new Error(r.error);
    expect(r.media.items.map((i) => [i.row, i.col])).toEqual([[0, 1], [null, null]]);
  });
});

describe("confusion click-through", () => {
  it("builds the request of a cell inside the matrix only", () => {
    expect(confusionFields("val/cm", 96, 3, 5, 10)).toEqual({ key: "val/cm", step: 96, row: 3, col: 5 });
    expect(() => confusionFields("cm", 1, 10, 0, 10)).toThrow(/row 10/);
    expect(() => confusionFields("cm", 1, 0, -1, 10)).toThrow(/col -1/);
    expect(() => confusionFields("cm", 1, 0.5, 0, 10)).toThrow(/row/);
    expect(() => confusionFields("", 1, 0, 0, 10)).toThrow(/key/);
  });

  it("reads the reply: the count and the sentence the card shows, or the failure", () => {
    expect(parseConfusionReply({ type: "confusion_result", ok: true, count: 12, label: "label 3 → predicted 5", origin: "val", message: "12 samples" }))
      .toEqual({ ok: true, count: 12, label: "label 3 → predicted 5", origin: "val", message: "12 samples" });
    const empty = parseConfusionReply({ type: "confusion_result", ok: true, count: 0, label: "label 1 → predicted 2", origin: null });
    expect(empty).toEqual({ ok: true, count: 0, label: "label 1 → predicted 2", origin: null, message: "label 1 → predicted 2: no samples" });
    expect(parseConfusionReply({ type: "confusion_result", ok: false, message: "row: must be in 0..9, got 12" }))
      .toEqual({ ok: false, error: "row: must be in 0..9, got 12" });
    expect(parseConfusionReply({ type: "confusion_result", ok: true }).ok).toBe(false);
    expect(parseConfusionReply({ type: "media_result", ok: true, count: 1 }).ok).toBe(false);
  });
});

describe("card size", () => {
  it("widens a card whose content does not fit, unless the user chose", () => {
    expect(cardSize(null, 600, 278)).toBe("wide");
    expect(cardSize(null, 278, 278)).toBe("normal");
    expect(cardSize(null, 278.5, 278)).toBe("normal"); // sub-pixel rounding is not overflow
    expect(cardSize("normal", 600, 278)).toBe("normal");
    expect(cardSize("wide", 10, 278)).toBe("wide");
  });
});

describe("lists of card values", () => {
  it("splits a media reply by the index of the value each item belongs to", () => {
    const item = (index: number, role: string) => ({ caption: null, mime: "text/plain", width: null, height: null, row: null, col: null, extra: { index, role } });
    const media = { step: 3, count: 2, items: [item(0, "depiction"), item(0, "file"), item(1, "file")], urls: ["a", "b", "c"] };
    expect(isCardList({ list: true, count: 2, items: [{}, {}] })).toBe(true);
    expect(isCardList({ count: 2 })).toBe(false);
    expect(listSummaries({ list: true, count: 5, items: [{ f: 1 }] })).toEqual([{ f: 1 }]);
    const second = mediaAt(media, 1);
    expect(second.urls).toEqual(["c"]);
    expect(second.items.map((i) => i.extra.role)).toEqual(["file"]);
    expect(mediaAt(media, 0).urls).toEqual(["a", "b"]);
    expect(mediaAt(media, 2).urls).toEqual([]);
  });
});
