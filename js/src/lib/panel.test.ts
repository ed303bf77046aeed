import { describe, expect, it } from "vitest";
import type { AnyModel, Message } from "./model";
import { announceView, Channel, MAX_PENDING, viewPrefix } from "./panel";

/** A model whose custom messages reach every listener, like one widget shown in several views. */
function fakeModel() {
  const listeners = new Set<(msg: Message, buffers?: unknown[]) => void>();
  const sent: Message[] = [];
  const model: AnyModel = {
    get: () => undefined,
    set: () => {},
    save_changes: () => {},
    on: (_event, cb) => { listeners.add(cb); },
    off: (_event, cb) => { if (cb) listeners.delete(cb); },
    send: (content) => { sent.push(content as Message); },
  };
  const reply = (msg: Message) => { for (const cb of [...listeners]) cb(msg, []); };
  return { model, sent, reply, listeners };
}

describe("request ids", () => {
  it("numbers requests from 1 by default, as the other panels expect", () => {
    const { model, sent, reply } = fakeModel();
    const got: unknown[] = [];
    const other: unknown[] = [];
    const channel = new Channel(model, (msg) => other.push(msg.req));
    expect(channel.request("page", { offset: 0 }, (msg) => got.push(msg.ok))).toBe(1);
    expect(channel.request("page", {}, () => {})).toBe(2);
    expect(sent).toEqual([{ offset: 0, type: "page", req: 1 }, { type: "page", req: 2 }]);
    reply({ type: "page_result", req: 1, ok: true });
    reply({ type: "page_result", req: 1, ok: true }); // answered already: goes to onOther
    expect(got).toEqual([true]);
    expect(other).toEqual([1]);
  });

  it("gives each view its own string ids, so one view never takes another's reply", () => {
    const { model, sent, reply } = fakeModel();
    const a: unknown[] = [], b: unknown[] = [];
    const one = new Channel<string>(model, () => {}, { prefix: "ma" });
    const two = new Channel<string>(model, () => {}, { prefix: "mb" });
    expect(one.request("media", { key: "x", step: 1 }, (msg) => a.push(msg.step))).toBe("ma:1");
    expect(two.request("media", { key: "x", step: 2 }, (msg) => b.push(msg.step))).toBe("mb:1");
    expect(sent.map((m) => m.req)).toEqual(["ma:1", "mb:1"]);
    reply({ type: "media_result", req: "mb:1", ok: true, step: 2 });
    reply({ type: "media_result", req: "ma:1", ok: true, step: 1 });
    expect(a).toEqual([1]);
    expect(b).toEqual([2]);
  });

  it("makes view prefixes that differ and fit Python's 64-character ids", () => {
    const p = new Set(Array.from({ length: 50 }, () => viewPrefix("m")));
    expect(p.size).toBe(50);
    for (const x of p) {
      expect(x).toMatch(/^m[a-z0-9]+$/);
      expect(`${x}:${Number.MAX_SAFE_INTEGER}`.length).toBeLessThanOrEqual(64);
    }
  });
});

describe("replies that never come", () => {
  it("gives up the oldest request beyond the limit and says which", () => {
    const { model, reply } = fakeModel();
    const dropped: string[] = [];
    const answered: unknown[] = [];
    const channel = new Channel<string>(model, () => {}, { prefix: "m1", onDrop: (req) => dropped.push(req) });
    for (let i = 0; i < MAX_PENDING; i++) channel.request("media", {}, (msg) => answered.push(msg.req));
    expect(dropped).toEqual([]);
    channel.request("media", {}, (msg) => answered.push(msg.req));
    expect(dropped).toEqual(["m1:1"]);
    expect(channel.waiting).toBe(MAX_PENDING);
    reply({ type: "media_result", req: "m1:1" }); // too late: nobody waits for it
    reply({ type: "media_result", req: "m1:2" });
    expect(answered).toEqual(["m1:2"]);
  });

  it("forgets a request on demand, and everything on dispose", () => {
    const { model, reply, listeners } = fakeModel();
    const answered: unknown[] = [];
    const other: unknown[] = [];
    const channel = new Channel(model, (msg) => other.push(msg.req));
    const req = channel.request("value", {}, (msg) => answered.push(msg.req));
    channel.forget(req);
    reply({ type: "value_result", req });
    expect(answered).toEqual([]);
    expect(other).toEqual([req]);
    channel.dispose();
    expect(listeners.size).toBe(0);
    expect(channel.waiting).toBe(0);
  });
});

describe("view announcement", () => {
  it("sends one {type: 'view'} message, without a req (Python answers nothing)", () => {
    const { model, sent } = fakeModel();
    announceView(model);
    expect(sent).toEqual([{ type: "view" }]);
  });
});
