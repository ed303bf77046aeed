// SampleView view (`wl.show_sample(sample_id)`): one sample's detail view in its own panel
// (lib/detail_view.ts, as in the grid's overlay). Previous / next walk the sample's origin in
// the grid's default order, kept by Python. Keys: ← → previous / next, d / r discard / restore;
// they stay in the panel (no JupyterLab shortcut fires). Protocol: panels/sample_view.py.

import "./lib/base.css";
import "./styles/detail.css";
import { h } from "./lib/dom";
import { readDetail } from "./lib/detail";
import { renderDetail, UrlBag } from "./lib/detail_view";
import { formatCount } from "./lib/format";
import { passesToLab } from "./lib/keys";
import type { Buffer, Message, RenderProps } from "./lib/model";
import { Channel, errorBar, viewPrefix } from "./lib/panel";
import { Throttle } from "./lib/query";

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const status = h("span", { class: "wl-status wl-sample-status", role: "status" });
  const body = h("div", { class: "wl-sample-body", tabindex: 0, "data-lm-suppress-shortcuts": "true" },
    h("div", { class: "wl-muted", text: "loading the sample…" }));
  const root = h("div", { class: "wl-panel wl-sample" }, errors.el, body, status);
  el.appendChild(root);
  const channel = new Channel<string>(model, () => undefined, { prefix: viewPrefix("s") });
  let urls = new UrlBag();
  let latest = "";
  let lastSig = "";
  let discarded = false;

  function setStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
  }

  function ask(move = 0): void {
    latest = channel.request("detail", { move }, (reply, buffers) => {
      if (reply.req !== latest) return; // a newer request is on its way
      if (reply.ok === false) {
        setStatus(String(reply.message ?? "could not load the sample"), "error");
        return;
      }
      draw(reply, buffers);
    });
  }

  function draw(reply: Message, buffers: Buffer[]): void {
    const sig = JSON.stringify({ ...reply, req: 0 }) + buffers.map((b) => (b as ArrayBufferView).byteLength ?? 0).join(",");
    if (sig === lastSig) return;
    lastSig = sig;
    const bag = new UrlBag();
    try {
      const d = readDetail(reply, buffers);
      const position = Number(reply.position), count = Number(reply.count);
      discarded = d.discarded;
      const view = renderDetail(d, bag, {
        act,
        prev: position > 0 ? () => ask(-1) : null,
        next: position + 1 < count ? () => ask(1) : null,
        position: count ? `${formatCount(position + 1)} of ${formatCount(count)} in ${d.origin}` : "",
      });
      const hadFocus = root.contains(document.activeElement);
      body.replaceChildren(view);
      if (hadFocus) body.focus({ preventScroll: true });
    } catch (err) {
      bag.revoke();
      setStatus(`could not show the sample: ${(err as Error).message}`, "error");
      return;
    }
    urls.revoke();
    urls = bag;
  }

  function act(action: string, fields: Record<string, unknown> = {}): void {
    setStatus(`${action}…`);
    channel.request("action", { action, ...fields }, (reply) => {
      setStatus(String(reply.message ?? (reply.ok ? "done" : "failed")), reply.ok ? "ok" : "error");
      if (reply.ok) ask();
    });
  }

  const onKey = (e: KeyboardEvent) => {
    const press = { key: e.key, shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey, alt: e.altKey };
    const t = e.target as HTMLElement;
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName) || t.isContentEditable;
    const button = t instanceof HTMLButtonElement && (e.key === "Enter" || e.key === " ");
    let handled = false;
    if (!typing && !button && !press.ctrl && !press.alt) {
      handled = true;
      if (e.key === "ArrowLeft") root.querySelector<HTMLButtonElement>(".wl-detail-prev:not(:disabled)")?.click();
      else if (e.key === "ArrowRight") root.querySelector<HTMLButtonElement>(".wl-detail-next:not(:disabled)")?.click();
      else if (e.key === "d" && !discarded) act("discard");
      else if (e.key === "r" && discarded) act("restore");
      else handled = false;
    }
    if (handled) e.preventDefault();
    if (handled || !passesToLab(press)) e.stopPropagation();
  };
  root.addEventListener("keydown", onKey);

  const refresh = new Throttle(1000);
  const onVersion = () => refresh.call(() => ask());
  model.on("change:version", onVersion);
  model.on("change:ref", onVersion);
  ask();

  return () => {
    refresh.cancel();
    model.off("change:version", onVersion);
    model.off("change:ref", onVersion);
    root.removeEventListener("keydown", onKey);
    urls.revoke();
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
