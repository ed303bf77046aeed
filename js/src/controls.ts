// TrainingControls view: state, step, epoch, steps/s; pause / resume / stop; evaluate a watched
// loader (optionally a tag subset) with progress and the last result.
// Protocol: weightslab_nb/panels/controls.py.

import "./lib/base.css";
import "./styles/controls.css";
import { h, setOptions } from "./lib/dom";
import {
  addTag, defaultLoader, evalButtons, evaluationOf, LIVE_STATES, progressFraction, progressText,
  pruneTags, resultHeading, resultRows, stateLabel, tagOptions,
  type LoaderInfo, type TagOption,
} from "./lib/evaluation";
import { formatCount, formatRate } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";

/** Which buttons make sense in a state: [pause, resume, stop]. Resume waits for an evaluation
 * that is running or queued (the pass needs the model to itself). */
export function buttonStates(state: string, pauseRequested: boolean, evaluating = false): [boolean, boolean, boolean] {
  const live = state === "running" || state === "paused" || state === "idle";
  const paused = state === "paused" || (pauseRequested && live);
  return [live && !paused, paused && !evaluating, state === "running" || state === "paused"];
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

  // evaluate section
  const loaderSel = h("select", { class: "wl-controls-eval-loader", title: "Watched loader to evaluate" });
  const tagSel = h("select", { class: "wl-controls-eval-tags", title: "Evaluate only samples having every chosen tag" });
  const tagChips = h("span", { class: "wl-controls-eval-chips" });
  const resumeBox = h("input", { type: "checkbox", class: "wl-controls-eval-resume" });
  const evalBtn = h("button", { class: "wl-btn wl-btn-primary wl-btn-evaluate", text: "evaluate" });
  const cancelBtn = h("button", { class: "wl-btn wl-btn-cancel-eval", text: "cancel" });
  const evalState = h("span", { class: "wl-controls-eval-state", "data-state": "none" });
  const progressBar = h("progress", { class: "wl-controls-eval-bar", max: 1, value: 0 });
  const progressLabel = h("span", { class: "wl-controls-eval-progress-text wl-muted" });
  const progressEl = h("div", { class: "wl-controls-eval-progress" }, progressBar, progressLabel);
  const evalError = h("div", { class: "wl-controls-eval-error", role: "alert", hidden: true });
  const resultHead = h("div", { class: "wl-controls-eval-result-head" });
  const resultList = h("div", { class: "wl-controls-eval-values" });
  const hashEl = h("div", { class: "wl-controls-eval-hash wl-muted" });
  const result = h("div", { class: "wl-controls-eval-result", hidden: true }, resultHead, resultList, hashEl);
  const evalStatus = h("span", { class: "wl-status wl-controls-eval-status" });

  const root = h("div", { class: "wl-panel wl-controls" },
    errors.el,
    h("div", { class: "wl-row" }, h("span", { class: "wl-title", text: "Training" }), stateEl),
    h("dl", { class: "wl-controls-grid" },
      h("dt", { text: "step" }), stepEl,
      h("dt", { text: "epoch" }), epochEl,
      h("dt", { text: "speed" }), rateEl),
    message,
    h("div", { class: "wl-row" }, pauseBtn, resumeBtn, stopBtn),
    h("div", { class: "wl-row" }, status),
    h("div", { class: "wl-controls-eval" },
      h("div", { class: "wl-row" }, h("span", { class: "wl-title", text: "Evaluate" }), evalState),
      h("div", { class: "wl-row" }, loaderSel),
      h("div", { class: "wl-row" }, tagSel, tagChips),
      h("div", { class: "wl-row" },
        h("label", { title: "Resume training after a successful evaluation" }, resumeBox, " resume after")),
      h("div", { class: "wl-row" }, evalBtn, cancelBtn),
      progressEl,
      evalError,
      result,
      h("div", { class: "wl-row" }, evalStatus)));
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

  // ------------------------------------------------------------------ evaluate
  let chosen: string[] = [];
  let options: TagOption[] = [];
  let requested: number | null = null; // the id of the evaluation this view asked for last

  function setEvalStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    evalStatus.textContent = text;
    evalStatus.classList.toggle("is-error", kind === "error");
    evalStatus.classList.toggle("is-ok", kind === "ok");
  }

  function syncLoaders(): void {
    const loaders = (model.get("loaders") ?? []) as LoaderInfo[];
    const choice = defaultLoader(loaders, loaderSel.value);
    setOptions(loaderSel, loaders.map((l): [string, string] =>
      [l.name, `${l.name} (${l.origin}, ${formatCount(l.size)} samples)`]), false);
    if (loaders.length === 0) setOptions(loaderSel, [["", "no watched loader"]], false);
    loaderSel.value = choice;
    syncEvaluation();
  }

  function renderChips(): void {
    tagChips.replaceChildren(...chosen.map((t) => {
      const chip = h("span", { class: "wl-controls-eval-chip", "data-tag": t, title: "remove from the subset", text: `${t} ×` });
      chip.addEventListener("click", () => {
        chosen = chosen.filter((c) => c !== t);
        renderChips();
      });
      return chip;
    }));
  }

  function syncTags(): void {
    options = tagOptions(model.get("tag_summary"));
    chosen = pruneTags(chosen, options);
    const label = options.length ? "+ tag subset (all samples)" : "no tags: all samples";
    setOptions(tagSel, [["", label], ...options.map((o): [string, string] => [o.value, o.label])], false);
    tagSel.value = "";
    tagSel.disabled = options.length === 0;
    renderChips();
  }

  tagSel.addEventListener("change", () => {
    const t = tagSel.value;
    tagSel.value = "";
    chosen = addTag(chosen, t);
    renderChips();
  });

  function syncEvaluation(): void {
    const ev = evaluationOf(model.get("evaluation"));
    const live = LIVE_STATES.has(ev.state);
    evalState.textContent = stateLabel(ev) + (ev.loader && ev.state !== "none" ? ` · ${ev.loader}` : "");
    evalState.dataset.state = ev.state;
    root.dataset.evalState = ev.state;
    if (ev.id !== null) evalState.dataset.id = String(ev.id);
    const [canEval, canCancel] = evalButtons(ev, loaderSel.value);
    evalBtn.disabled = !canEval;
    cancelBtn.disabled = !canCancel;
    progressEl.hidden = !live && ev.state !== "done";
    progressBar.value = progressFraction(ev);
    progressLabel.textContent = progressText(ev);
    const err = ev.state === "none" || ev.state === "done" || live ? null : (ev.error ?? ev.state);
    evalError.textContent = err ? `evaluation ${ev.id} ${stateLabel(ev)}: ${err}` : "";
    evalError.hidden = !err;
    if (requested !== null && ev.id === requested && !live) {
      requested = null; // finished: the badge, the error or the result say how
      setEvalStatus("");
    }
    const last = ev.last;
    result.hidden = last === null;
    if (last) {
      resultHead.textContent = resultHeading(last);
      resultList.replaceChildren(...resultRows(last).map(([k, v]) => h("div", { class: "wl-controls-eval-row" },
        h("span", { class: "wl-controls-eval-name", text: k, title: k }),
        h("span", { class: "wl-controls-eval-value", "data-signal": k, text: v }))));
      if (!resultList.childElementCount) resultList.append(h("div", { class: "wl-muted", text: "no watched loss or metric was called" }));
      hashEl.textContent = last.marker_hash ? `marker ${last.marker_hash}` : "";
      result.dataset.markerHash = last.marker_hash ?? "";
      result.dataset.id = String(last.id);
      result.title = last.summary ?? "";
    }
    syncRun();
  }

  evalBtn.addEventListener("click", () => {
    const loader = loaderSel.value;
    if (!loader) return;
    setEvalStatus("evaluate…");
    channel.request("evaluate", { loader, tags: chosen, resume: resumeBox.checked }, (reply) => {
      setEvalStatus(String(reply.message ?? (reply.ok ? "queued" : "failed")), reply.ok ? "ok" : "error");
      if (reply.ok && typeof reply.id === "number") {
        requested = reply.id;
        syncEvaluation(); // it may have finished before this reply arrived
      }
    });
  });
  cancelBtn.addEventListener("click", () => {
    const ev = evaluationOf(model.get("evaluation"));
    setEvalStatus("cancel…");
    channel.request("cancel_evaluation", ev.id !== null && LIVE_STATES.has(ev.state) ? { id: ev.id } : {}, (reply) => {
      setEvalStatus(String(reply.message ?? ""), reply.ok ? "" : "error");
    });
  });
  loaderSel.addEventListener("change", syncEvaluation);

  // ------------------------------------------------------------------ run state
  function syncRun(): void {
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
    const evaluating = LIVE_STATES.has(evaluationOf(model.get("evaluation")).state);
    const [p, r, s] = buttonStates(state, pauseRequested, evaluating);
    pauseBtn.disabled = !p;
    resumeBtn.disabled = !r;
    resumeBtn.title = evaluating && !r ? "an evaluation is running or queued" : "";
    stopBtn.disabled = !s;
  }

  const runNames = ["state", "step", "epoch", "steps_per_second", "message", "pause_requested"];
  for (const n of runNames) model.on(`change:${n}`, syncRun);
  model.on("change:loaders", syncLoaders);
  model.on("change:tag_summary", syncTags);
  model.on("change:evaluation", syncEvaluation);
  syncTags();
  syncLoaders();

  return () => {
    for (const n of runNames) model.off(`change:${n}`, syncRun);
    model.off("change:loaders", syncLoaders);
    model.off("change:tag_summary", syncTags);
    model.off("change:evaluation", syncEvaluation);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
