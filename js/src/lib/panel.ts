// What every panel view shares: the error bar (the `error` trait), request ids and replies.

import { h } from "./dom";
import type { AnyModel, Buffer, Message } from "./model";

/**
 * Tell Python that a front-end draws this panel (`{type: "view"}`, no reply): a panel that no
 * view announced gets its live output replaced by its static fallback when training stops
 * (weightslab_nb/panels/fallback/display.py); one that did keeps its live view.
 */
export function announceView(model: AnyModel): void {
  model.send({ type: "view" });
}

/**
 * The error bar: shows the `error` trait; "dismiss" asks Python to clear it. Every view builds
 * one when it renders, so this also announces the view (`announceView`).
 */
export function errorBar(model: AnyModel): { el: HTMLElement; dispose: () => void } {
  announceView(model);
  const text = h("span", { class: "wl-error-text" });
  const dismiss = h("button", {
    class: "wl-btn wl-error-dismiss", title: "Dismiss", text: "×",
    onclick: () => model.send({ type: "clear_error" }),
  });
  const el = h("div", { class: "wl-error", role: "alert" }, text, dismiss);
  const sync = () => {
    const msg = String(model.get("error") ?? "");
    text.textContent = msg;
    el.hidden = msg === "";
  };
  model.on("change:error", sync);
  sync();
  return { el, dispose: () => model.off("change:error", sync) };
}

type ReplyHandler = (msg: Message, buffers: Buffer[]) => void;

/** A request id: a number (the default), or a string `"<prefix>:<n>"` unique to one view. */
export type ReqId = number | string;

/** The most replies a Channel waits for; beyond it the oldest request is given up. */
export const MAX_PENDING = 200;

export interface ChannelOptions<R extends ReqId> {
  /**
   * Ids become `"<prefix>:<n>"` strings (Python takes string ids up to 64 characters), so a
   * widget displayed twice does not route one view's replies to the other: every view receives
   * every reply. Give one with `Channel<string>`; see `viewPrefix()`.
   */
  prefix?: R extends string ? string : never;
  /** Called with the id of a request given up (more than MAX_PENDING waiting): no reply will reach it. */
  onDrop?: (req: R) => void;
}

let views = 0;

/** A prefix for request ids unlikely to be shared by two views of the same model ("m7f3k1"). */
export function viewPrefix(letter = "m"): string {
  views += 1;
  return `${letter}${Math.random().toString(36).slice(2, 7)}${views.toString(36)}`;
}

/**
 * Sends requests with increasing `req` ids and routes replies to their callbacks; other custom
 * messages go to `onOther`. Ids are numbers from 1 unless `options.prefix` is given.
 */
export class Channel<R extends ReqId = number> {
  private next = 1;
  private pending = new Map<ReqId, ReplyHandler>();
  private listener: (msg: Message, buffers?: Buffer[]) => void;
  private prefix: string | null;
  private onDrop: ((req: R) => void) | null;

  constructor(private model: AnyModel, onOther: ReplyHandler, options: ChannelOptions<R> = {}) {
    this.prefix = typeof options.prefix === "string" ? options.prefix : null;
    this.onDrop = options.onDrop ?? null;
    this.listener = (msg, buffers = []) => {
      if (!msg || typeof msg !== "object") return;
      const req = msg.req;
      if ((typeof req === "number" || typeof req === "string") && this.pending.has(req)) {
        const cb = this.pending.get(req)!;
        this.pending.delete(req);
        cb(msg, buffers);
        return;
      }
      onOther(msg, buffers);
    };
    model.on("msg:custom", this.listener);
  }

  /** Send `{type, req, ...fields}`; `onReply` gets the reply carrying the same req. */
  request(type: string, fields: object = {}, onReply?: ReplyHandler): R {
    const n = this.next++;
    const req = (this.prefix === null ? n : `${this.prefix}:${n}`) as R;
    if (onReply) this.pending.set(req, onReply);
    if (this.pending.size > MAX_PENDING) {
      // replies to requests of a closed kernel never come: do not grow without bound
      const oldest = this.pending.keys().next().value as R;
      this.pending.delete(oldest);
      this.onDrop?.(oldest);
    }
    this.model.send({ ...fields, type, req });
    return req;
  }

  /** Stop waiting for the reply to `req` (it then goes to `onOther`, if it ever comes). */
  forget(req: R): void {
    this.pending.delete(req);
  }

  /** How many replies are awaited. */
  get waiting(): number {
    return this.pending.size;
  }

  send(type: string, fields: object = {}): void {
    this.model.send({ ...fields, type });
  }

  dispose(): void {
    this.model.off("msg:custom", this.listener);
    this.pending.clear();
  }
}

/** Read a CSS custom property (JupyterLab theme variable) with a fallback. */
export function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

/** Distinct line colours for light backgrounds (the curves choose by theme: `paletteFor`). */
export { PALETTE_LIGHT as PALETTE } from "./contrast";
