// TrainingControls view: state, step, epoch, steps/s; pause / resume / stop.
// Protocol: weightslab_nb/panels/controls.py.

import "./lib/base.css";
import "./styles/controls.css";
import { h } from "./lib/dom";
import { formatCount, formatRate } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";

/** Which buttons make sense in a state: [pause, resume, stop]. */
export function buttonStates(state: string, pauseRequested: boolean): [boolean, boolean, boolean] {
  const live = state === "running" || state === "paused" || state === "idle";
  const paused = state === "paused" || (pauseRequested && live);
  return [live && !paused, paused, state === "running" || state === "paused"];
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const stateEl = h("span", { class: "wl-controls-state" });
  const stepEl = h("dd", { class: "wl-controls-step" });
  const epochEl = h("dd", { class: "wl-controls-epoch" });
  const rateEl = h("dd", { class: "wl-controls-rate" });
  const message = h("div", { class: "wl-controls-message" });
  const status = h("span", { class: "wl-status wl-controls-status" });
  const pauseBtn = h("button", { class: "wl-btn wl-btn-pause", text: "pause" });
  const resumeBtn = h("button", { class: "wl-btn wl-btn-resume", text: "resume" });
  const stopBtn = h("button", { class: "wl-btn wl-btn-stop", text: "stop" });

  const root = h("div", { class: "wl-panel wl-controls" },
    errors.el,
    h("div", { class: "wl-row" }, h("span", { class: "wl-title", text: "Training" }), stateEl),
    h("dl", { class: "wl-controls-grid" },
      h("dt", { text: "step" }), stepEl,
      h("dt", { text: "epoch" }), epochEl,
      h("dt", { text: "speed" }), rateEl),
    message,
    h("div", { class: "wl-row" }, pauseBtn, resumeBtn, stopBtn),
    h("div", { class: "wl-row" }, status));
  el.appendChild(root);

  const channel = new Channel(model, () => {});
  const command = (type: string) => {
    status.textContent = `${type}…`;
    channel.request(type, {}, (reply) => {
      status.textContent = String(reply.message ?? "");
      status.classList.toggle("is-error", reply.ok === false);
    });
  };
  pauseBtn.addEventListener("click", () => command("pause"));
  resumeBtn.addEventListener("click", () => command("resume"));
  stopBtn.addEventListener("click", () => command("stop"));

  function sync(): void {
    const state = String(model.get("state") ?? "idle");
    const pauseRequested = Boolean(model.get("pause_requested"));
    stateEl.textContent = pauseRequested && state === "running" ? "pausing…" : state;
    stateEl.dataset.state = state;
    root.dataset.state = state;
    const step = Number(model.get("step")) || 0;
    stepEl.textContent = formatCount(step);
    stepEl.dataset.value = String(step);
    epochEl.textContent = formatCount(Number(model.get("epoch")) || 0);
    rateEl.textContent = formatRate(Number(model.get("steps_per_second")));
    const text = String(model.get("message") ?? "");
    message.textContent = text;
    message.hidden = text === "";
    message.classList.toggle("is-error", state === "error");
    const [p, r, s] = buttonStates(state, pauseRequested);
    pauseBtn.disabled = !p;
    resumeBtn.disabled = !r;
    stopBtn.disabled = !s;
  }
  const names = ["state", "step", "epoch", "steps_per_second", "message", "pause_requested"];
  for (const n of names) model.on(`change:${n}`, sync);
  sync();

  return () => {
    for (const n of names) model.off(`change:${n}`, sync);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
