// What every panel view shares: the error bar (the `error` trait), request ids and replies.

import { h } from "./dom";
import type { AnyModel, Buffer, Message } from "./model";

/** The error bar: shows the `error` trait; "dismiss" asks Python to clear it. */
export function errorBar(model: AnyModel): { el: HTMLElement; dispose: () => void } {
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

/**
 * Sends requests with increasing `req` ids and routes replies to their callbacks; other custom
 * messages go to `onOther`.
 */
export class Channel {
  private next = 1;
  private pending = new Map<number, ReplyHandler>();
  private listener: (msg: Message, buffers?: Buffer[]) => void;

  constructor(private model: AnyModel, onOther: ReplyHandler) {
    this.listener = (msg, buffers = []) => {
      if (!msg || typeof msg !== "object") return;
      const req = msg.req;
      if (typeof req === "number" && this.pending.has(req)) {
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
  request(type: string, fields: object = {}, onReply?: ReplyHandler): number {
    const req = this.next++;
    if (onReply) this.pending.set(req, onReply);
    if (this.pending.size > 200) {
      // replies to requests of a closed kernel never come: do not grow without bound
      const oldest = this.pending.keys().next().value as number;
      this.pending.delete(oldest);
    }
    this.model.send({ ...fields, type, req });
    return req;
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

/** Distinct line colours readable on light and dark backgrounds. */
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];
