// TagEditor view: create boolean and categorical tags, apply them to the shared selection
// (`session.selection`, set by the sample grid: refs [origin, sample_id], so a val sample is
// tagged as a val sample even when a train sample has its id), counts per tag.
// A "Data states" section lists the saved states with their diff against now, saves and applies.
// Protocol: panels/tags.py.

import "./lib/base.css";
import "./styles/tags.css";
import { diffSummary, savedStates, stateNameProblem } from "./lib/datastates";
import { h } from "./lib/dom";
import { parseValueList } from "./lib/format";
import type { Message, RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";
import { selectionLabel } from "./lib/selection";

interface Summary {
  boolean: Record<string, number>;
  categorical: Record<string, { values: string[]; counts: Record<string, number> }>;
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const selectionEl = h("span", { class: "wl-tags-selection", text: "0" });
  const originsEl = h("span", { class: "wl-muted wl-tags-selection-origins" });
  const clearSelBtn = h("button", { class: "wl-btn wl-tags-clear-selection", text: "clear selection" });
  const nameInput = h("input", { type: "text", class: "wl-tags-new-name", placeholder: "new tag" });
  const createBtn = h("button", { class: "wl-btn wl-tags-create", text: "create tag" });
  const catName = h("input", { type: "text", class: "wl-tags-new-cat-name", placeholder: "categorical tag" });
  const catValues = h("input", { type: "text", class: "wl-tags-new-cat-values", placeholder: "values, comma separated" });
  const createCatBtn = h("button", { class: "wl-btn wl-tags-create-cat", text: "create / extend" });
  const boolList = h("div", { class: "wl-tags-list wl-tags-boolean" });
  const catList = h("div", { class: "wl-tags-list wl-tags-categorical" });
  const status = h("span", { class: "wl-status wl-tags-status" });
  const stateName = h("input", { type: "text", class: "wl-tags-state-name", placeholder: "state name" });
  const saveStateBtn = h("button", { class: "wl-btn wl-tags-save-state", text: "save state", title: "save the tags and discards of every sample as a data state" });
  const stateList = h("div", { class: "wl-tags-list wl-tags-states" });

  const root = h("div", { class: "wl-panel wl-tags" },
    errors.el,
    h("div", { class: "wl-row" },
      h("span", { class: "wl-title", text: "Tags" }),
      h("span", {}, "selected: ", selectionEl, originsEl), clearSelBtn),
    h("div", { class: "wl-row" }, nameInput, createBtn),
    h("div", { class: "wl-row" }, catName, catValues, createCatBtn),
    h("div", { class: "wl-tags-section" }, h("h4", { text: "Boolean tags" }), boolList),
    h("div", { class: "wl-tags-section" }, h("h4", { text: "Categorical tags" }), catList),
    h("div", { class: "wl-tags-section wl-tags-data-states" }, h("h4", { text: "Data states" }),
      h("div", { class: "wl-row" }, stateName, saveStateBtn), stateList),
    h("div", { class: "wl-row" }, status));
  el.appendChild(root);

  const channel = new Channel(model, () => {});

  function setStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
  }

  function request(type: string, fields: object, after?: () => void): void {
    setStatus("…");
    channel.request(type, fields, (reply: Message) => {
      setStatus(String(reply.message ?? (reply.ok ? "done" : "failed")), reply.ok ? "ok" : "error");
      if (reply.ok && after) after();
    });
  }

  const selectionSize = () => Number(model.get("selection_size")) || 0;
  /** [origin, count] of the selection (the `selection_origins` trait), in trait order. */
  const selectionOrigins = (): [string, number][] =>
    Object.entries((model.get("selection_origins") ?? {}) as Record<string, number>)
      .map(([o, n]): [string, number] => [o, Number(n) || 0]);
  const apply = (action: string, tag: string, value?: string) =>
    request("apply", value === undefined ? { action, tag } : { action, tag, value });

  function draw(): void {
    const s: Summary = model.get("summary") ?? { boolean: {}, categorical: {} };
    const none = selectionSize() === 0;
    const bools = Object.entries(s.boolean ?? {});
    boolList.replaceChildren(...(bools.length ? bools.map(([name, count]) =>
      h("div", { class: "wl-tags-row", "data-tag": name },
        h("span", { class: "wl-tags-name", text: name }),
        h("span", { class: "wl-tags-count", text: String(count) }),
        h("button", { class: "wl-btn wl-tags-add", text: "+ selection", disabled: none, title: "tag the selected samples", onclick: () => apply("add_tag", name) }),
        h("button", { class: "wl-btn wl-tags-remove", text: "− selection", disabled: none, title: "untag the selected samples", onclick: () => apply("remove_tag", name) })))
      : [h("span", { class: "wl-tags-empty", text: "none yet" })]));
    const cats = Object.entries(s.categorical ?? {});
    catList.replaceChildren(...(cats.length ? cats.map(([name, cat]) =>
      h("div", { class: "wl-tags-cat", "data-tag": name },
        h("div", { class: "wl-tags-row" },
          h("span", { class: "wl-tags-name", text: name }),
          h("button", { class: "wl-btn wl-tags-clear", text: "clear on selection", disabled: none, onclick: () => apply("clear_categorical", name) })),
        ...cat.values.map((v) =>
          h("div", { class: "wl-tags-value", "data-tag": name, "data-value": v },
            h("span", { class: "wl-tags-value-name", text: v }),
            h("span", { class: "wl-tags-count", text: String(cat.counts?.[v] ?? 0) }),
            h("button", { class: "wl-btn wl-tags-set", text: "set on selection", disabled: none, onclick: () => apply("set_categorical", name, v) })))))
      : [h("span", { class: "wl-tags-empty", text: "none yet" })]));
    selectionEl.textContent = String(selectionSize());
    selectionEl.title = selectionLabel(selectionOrigins());
    selectionEl.dataset.origins = selectionOrigins().map(([o]) => o).join(",");
    originsEl.textContent = selectionOrigins().length ? ` (${selectionOrigins().map(([o, n]) => `${o} ${n}`).join(", ")})` : "";
    clearSelBtn.disabled = none;
  }

  function drawStates(): void {
    const states = savedStates(model.get("states"));
    stateList.replaceChildren(...(states.length ? states.map((st) =>
      h("div", { class: "wl-tags-state", "data-state": st.name },
        h("div", { class: "wl-tags-row" },
          h("span", { class: "wl-tags-name", text: st.name, title: st.digest ? `digest ${st.digest.slice(0, 12)}` : "" }),
          h("span", { class: "wl-tags-count", text: `${st.samples} samples, ${st.discarded} discarded` }),
          h("button", { class: "wl-btn wl-tags-apply-state", text: "apply", title: "make the tags and discards of its samples equal to this state (before training)", onclick: () => request("apply_state", { name: st.name }) })),
        h("div", { class: "wl-muted wl-tags-state-diff", text: st.error ? st.error : `vs now: ${diffSummary(st.diff)}` })))
      : [h("span", { class: "wl-tags-empty", text: "none saved" })]));
  }

  saveStateBtn.addEventListener("click", () => {
    const name = stateName.value.trim();
    const problem = stateNameProblem(name);
    if (problem) return setStatus(problem, "error");
    request("save_state", { name }, () => { stateName.value = ""; });
  });
  stateName.addEventListener("keydown", (e) => { if (e.key === "Enter") saveStateBtn.click(); });

  createBtn.addEventListener("click", () => {
    const name = nameInput.value.trim();
    if (!name) return setStatus("type a tag name first", "error");
    request("create_tag", { name }, () => { nameInput.value = ""; });
  });
  nameInput.addEventListener("keydown", (e) => { if (e.key === "Enter") createBtn.click(); });
  createCatBtn.addEventListener("click", () => {
    const name = catName.value.trim();
    const values = parseValueList(catValues.value);
    if (!name || values.length === 0) return setStatus("type a name and at least one value", "error");
    request("create_categorical", { name, values }, () => { catName.value = ""; catValues.value = ""; });
  });
  clearSelBtn.addEventListener("click", () => request("clear_selection", {}));

  model.on("change:summary", draw);
  model.on("change:selection_size", draw);
  model.on("change:selection_origins", draw);
  model.on("change:states", drawStates);
  draw();
  drawStates();

  return () => {
    model.off("change:summary", draw);
    model.off("change:selection_size", draw);
    model.off("change:selection_origins", draw);
    model.off("change:states", drawStates);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
