// HyperParameterEditor view: one row per hyperparameter (dotted path) with its requested and
// applied values, its type and an editor checked by type before it is sent.
// Protocol: weightslab_nb/panels/hparams.py.

import "./lib/base.css";
import "./styles/hparams.css";
import { h } from "./lib/dom";
import { changeText, formatValue, inputText, parseValue, rowsOf, type HparamRow } from "./lib/hparams";
import type { RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";

interface RowView {
  el: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement;
  requested: HTMLElement;
  applied: HTMLElement;
  type: HTMLElement;
  error: HTMLElement;
  meta: HTMLElement;
  set: HTMLButtonElement;
  row: HparamRow;
  dirty: boolean;
  localError: string | null;
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const nameEl = h("span", { class: "wl-hparams-name wl-muted" });
  const pendingEl = h("span", { class: "wl-hparams-pending-count", hidden: true });
  const configEl = h("div", { class: "wl-hparams-config wl-muted", hidden: true });
  const configError = h("div", { class: "wl-hparams-config-error", role: "alert", hidden: true });
  const list = h("div", { class: "wl-hparams-rows" });
  const empty = h("div", { class: "wl-hparams-empty wl-muted",
    text: "No hyperparameters watched: wl.watch_or_edit({...}, flag=\"hyperparameters\")." });
  const status = h("span", { class: "wl-status wl-hparams-status" });
  const root = h("div", { class: "wl-panel wl-hparams", "data-rows": "0" },
    errors.el,
    h("div", { class: "wl-row" }, h("span", { class: "wl-title", text: "Hyperparameters" }), nameEl, pendingEl),
    configEl, configError, list, empty,
    h("div", { class: "wl-row" }, status));
  el.appendChild(root);

  const channel = new Channel(model, () => {});
  const views = new Map<string, RowView>();

  function setStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
  }

  function showError(v: RowView): void {
    const text = v.localError ?? v.row.error ?? "";
    v.error.textContent = text;
    v.error.hidden = text === "";
    v.el.classList.toggle("has-error", text !== "");
  }

  function submit(v: RowView): void {
    const parsed = parseValue(v.input.value, v.row.type, v.row.item_types);
    if (!parsed.ok) {
      v.localError = parsed.error;
      showError(v);
      setStatus(`${v.row.path}: ${parsed.error}`, "error");
      return;
    }
    v.localError = null;
    showError(v);
    setStatus(`${v.row.path}…`);
    v.set.disabled = true;
    channel.request("set", { path: v.row.path, value: parsed.value }, (reply) => {
      v.set.disabled = !v.row.editable;
      if (reply.ok) {
        v.dirty = false;
        v.localError = null;
        setStatus(String(reply.message ?? "set"), "ok");
      } else {
        v.localError = String(reply.message ?? "refused");
        setStatus(`${v.row.path}: ${v.localError}`, "error");
      }
      showError(v);
    });
  }

  function makeRow(row: HparamRow): RowView {
    const input: HTMLInputElement | HTMLSelectElement = row.type === "bool"
      ? h("select", { class: "wl-hparams-input" }, h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }))
      : h("input", { type: "text", class: "wl-hparams-input", spellcheck: false });
    const v: RowView = {
      el: h("div", { class: "wl-hparams-row", "data-path": row.path }),
      input,
      requested: h("span", { class: "wl-hparams-requested" }),
      applied: h("span", { class: "wl-hparams-applied" }),
      type: h("span", { class: "wl-hparams-type" }),
      error: h("div", { class: "wl-hparams-error", role: "alert", hidden: true }),
      meta: h("div", { class: "wl-hparams-meta wl-muted" }),
      set: h("button", { class: "wl-btn wl-hparams-set", text: "set" }),
      row,
      dirty: false,
      localError: null,
    };
    v.el.append(
      h("div", { class: "wl-hparams-head" }, h("span", { class: "wl-hparams-path", text: row.path, title: row.path }), v.type),
      h("div", { class: "wl-hparams-values" },
        h("span", { class: "wl-muted", text: "requested " }), v.requested,
        h("span", { class: "wl-muted", text: " · applied " }), v.applied),
      h("div", { class: "wl-hparams-edit" }, input, v.set),
      v.error, v.meta);
    input.addEventListener("input", () => { v.dirty = true; v.localError = null; showError(v); });
    input.addEventListener("change", () => { v.dirty = true; });
    input.addEventListener("keydown", (e) => {
      const key = (e as KeyboardEvent).key;
      if (key === "Enter") submit(v);
      if (key === "Escape") {
        v.dirty = false;
        v.localError = null;
        input.value = inputText(v.row.requested, v.row.type);
        showError(v);
      }
    });
    v.set.addEventListener("click", () => submit(v));
    return v;
  }

  function updateRow(v: RowView, row: HparamRow): void {
    v.row = row;
    v.el.dataset.type = row.type;
    v.el.dataset.pending = String(row.pending);
    v.el.classList.toggle("is-pending", row.pending);
    v.type.textContent = row.pending ? `${row.type} · pending` : row.type;
    v.requested.textContent = formatValue(row.requested, row.type);
    v.applied.textContent = formatValue(row.applied, row.type);
    v.meta.textContent = changeText(row);
    v.meta.hidden = v.meta.textContent === "";
    v.input.disabled = !row.editable;
    v.set.disabled = !row.editable;
    v.input.title = row.editable ? `a ${row.type}` : `a ${row.type} value cannot be edited in the panel`;
    if (!v.dirty && document.activeElement !== v.input) v.input.value = inputText(row.requested, row.type);
    showError(v);
  }

  function sync(): void {
    const rows = rowsOf(model.get("rows"));
    const seen = new Set<string>();
    const els: HTMLElement[] = [];
    for (const row of rows) {
      let v = views.get(row.path);
      if (v && (v.row.type === "bool") !== (row.type === "bool")) v = undefined; // editor kind changed
      if (!v) {
        v = makeRow(row);
        views.set(row.path, v);
      }
      updateRow(v, row);
      seen.add(row.path);
      els.push(v.el);
    }
    for (const path of [...views.keys()]) if (!seen.has(path)) views.delete(path);
    list.replaceChildren(...els);
    root.dataset.rows = String(rows.length);
    empty.hidden = rows.length > 0;
    const name = String(model.get("name") ?? "");
    nameEl.textContent = name;
    const pending = Number(model.get("pending")) || 0;
    pendingEl.textContent = `${pending} pending`;
    pendingEl.hidden = pending === 0;
    root.dataset.pending = String(pending);
    const path = String(model.get("config_path") ?? "");
    configEl.textContent = path ? `file: ${path}` : "";
    configEl.hidden = path === "";
    const cfgErr = String(model.get("config_error") ?? "");
    configError.textContent = cfgErr ? `config file: ${cfgErr}` : "";
    configError.hidden = cfgErr === "";
  }

  const names = ["rows", "name", "pending", "config_path", "config_error"];
  for (const n of names) model.on(`change:${n}`, sync);
  sync();

  return () => {
    for (const n of names) model.off(`change:${n}`, sync);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
