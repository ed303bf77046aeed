// SampleGrid view: one page of samples (thumbnail, label, prediction, loss, loss-history
// sparkline, tags), sorted and filtered by Python; selection with click / shift-click /
// ctrl-click; actions on the selection; the session's step highlight (a click on a curve) as a
// chip that restricts the page to that step's batch; an order that holds still while training
// records (Python serves pages in the order of the query's snapshot; "re-sort (N changed)" or the
// "auto" box takes the fresh order; cells of the same samples are updated in place); the suspects ranking: a sort preset (the
// default once there is enough history), its evidence in each cell's tooltip, a suggested-class
// badge on flagged cells, and "tag flagged" / "discard flagged" with a confirmation and an undo.
// The default sort: recorded order, then the loss once recorded, then the suspects preset
// (lib/default_sort.ts). The keyboard (lib/keys.ts): keys pressed in the grid stay in it (no
// JupyterLab shortcut fires); arrows move a cursor, shift+arrows extend the selection, space
// toggles, Esc clears, Enter (or a double-click) opens the sample's detail view
// (lib/detail_view.ts), `t` types a new tag, `d`/`r` discard/restore, `?` lists the keys.
// Protocol: see weightslab_nb/panels/grid.py.

import "./lib/base.css";
import "./styles/grid.css";
import "./styles/detail.css";
import { h, setOptions, svg } from "./lib/dom";
import { columnLabel, formatCount, formatNumber, splitHistoryColumn } from "./lib/format";
import { downloadText, exportFileName, exportOf } from "./lib/export";
import type { Buffer, Message, RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";
import {
  clampOffset, defaultGridState, orderLabel, pageLabel, pageRequest, resortLabel, sameKeys, SPARK_POINTS, Throttle, type DiscardedFilter,
} from "./lib/query";
import {
  asRef, clickSelect, countByOrigin, emptySelection, extendTo, isSelected, refKey, rowRef, sameRef, selectAll, selectedRefs,
  selectionLabel, selectionOf, SelectionSync, toggleOne, type SampleId, type SampleRef, type SelectionState,
} from "./lib/selection";
import { columnsOf, KEY_HELP, keyCommand, moveCursor, passesToLab, stepInOrder, type KeyCommand } from "./lib/keys";
import { defaultSortMessage, nextDefaultSort } from "./lib/default_sort";
import { readDetail } from "./lib/detail";
import { renderDetail, UrlBag } from "./lib/detail_view";
import { indexOfStep, pageSparkDomain, sparkDomain, sparkPath, sparkXY, splitSpark, type SparkRow } from "./lib/spark";
import {
  confirmText, evidenceLines, flaggedOrigin, flaggedSummary, suggestionBadge, suspectsInfo,
  suspectsReady, SUSPECTS_LABEL, SUSPECTS_SORT, undoLabel, type Evidence, type FlaggedReply,
} from "./lib/suspects";
import { stickyOffset } from "./lib/sticky";
import { decodeArrays, toBytes, type ArrayMeta } from "./lib/wire";

const SPARK_W = 80;
const SPARK_H = 18;

interface HighlightInfo {
  version: number;
  signal: string;
  step: number | null; // the step of a "step" highlight (a sparkline marker), else null
  count: number;
  label: string;
  source: string;
}

interface Row {
  sample_id: SampleId;
  origin: string;
  ref?: SampleRef; // [origin, sample_id]: the sample's identity (ids may repeat across origins)
  target: number | null;
  prediction: number | null;
  loss: number | null;
  discarded: boolean;
  tags: string[];
  categorical: Record<string, string>;
  signals: Record<string, number | null>;
  highlighted?: boolean;
  suspect?: Evidence | null;
}

function render({ model, el }: RenderProps) {
  const state = defaultGridState(Number(model.get("page_size")) || 48);
  let selection: SelectionState = emptySelection();
  const selectionSync = new SelectionSync(); // drops kernel selections older than a click
  let rows: Row[] = [];
  let sparks: (SparkRow | null)[] = [];
  let sparkSignal = "";
  let urls = new Map<string, string>(); // thumbnail object URLs by ref key (kept while shown)
  let latestSort = ""; // the sort of the latest page request (shown as data-page-sort)
  let freshNext = true;
  let freshPages = 0; // the next page request takes the fresh order (a new query)
  let latestReq = -1;
  let matched = 0;
  let columns: string[] = ["sample_id", "target", "prediction"];
  let explicitSort = false; // the user chose a sort or an order: the default never changes it
  let pointerInside = false;
  let pending: FlaggedReply | null = null; // the preview a confirmation shows
  let cursor: SampleRef | null = null; // the keyboard's cursor: a sample of the page
  let pendingCursor: number | null = null; // where the cursor goes when the next page arrives
  let detailRef: SampleRef | null = null; // the sample the detail view shows (null: closed)
  let detailSig = ""; // what the detail view shows, to redraw only on a change
  let pendingDetail: number | null = null; // open the detail of this row of the next page
  let detailUrls = new UrlBag(); // the image URLs of the detail view shown
  let classNames: Record<string, Record<string, string>> = {}; // origin -> class -> name

  const errors = errorBar(model);
  const num = (cls: string) => h("span", { class: `wl-grid-num ${cls}`, text: "0" });
  const total = num("wl-grid-total");
  const active = num("wl-grid-active");
  const matchedEl = num("wl-grid-matched");
  const selectedEl = num("wl-grid-selected");

  const sortSel = h("select", { class: "wl-grid-sort", title: "Sort by" });
  const orderBtn = h("button", { class: "wl-btn wl-grid-order", title: "Sort direction" });
  const discardedSel = h("select", { class: "wl-grid-discarded", title: "Discarded samples" });
  setOptions(discardedSel, [["all", "all samples"], ["active", "active only"], ["discarded", "discarded only"]]);
  const originSel = h("select", { class: "wl-grid-origin", title: "Origin (split)" });
  const tagFilterSel = h("select", { class: "wl-grid-tag-filter", title: "Require a tag" });
  const tagChips = h("span", { class: "wl-grid-filter-chips" });
  const signalSel = h("select", { class: "wl-grid-signal", title: "Filter by a signal range" });
  const minInput = h("input", { type: "text", class: "wl-grid-signal-min", placeholder: "min", size: 6 });
  const maxInput = h("input", { type: "text", class: "wl-grid-signal-max", placeholder: "max", size: 6 });

  const prevBtn = h("button", { class: "wl-btn wl-grid-prev", text: "‹ prev" });
  const nextBtn = h("button", { class: "wl-btn wl-grid-next", text: "next ›" });
  const pageEl = h("span", { class: "wl-grid-page wl-muted" });
  const sizeSel = h("select", { class: "wl-grid-page-size", title: "Samples per page" });
  setOptions(sizeSel, ["24", "48", "96", "192"].map((v) => [v, `${v} / page`]));
  sizeSel.value = String(state.limit);
  if (sizeSel.value !== String(state.limit)) {
    sizeSel.append(h("option", { value: String(state.limit), text: `${state.limit} / page` }));
    sizeSel.value = String(state.limit);
  }

  const sparkBox = h("input", { type: "checkbox", class: "wl-grid-spark-toggle", checked: true });
  const sparkShared = h("input", { type: "checkbox", class: "wl-grid-spark-shared", checked: true });
  const sparkScale = h("span", { class: "wl-grid-spark-scale wl-muted" });
  let pageDomain: [number, number] | null = null; // the page's shared sparkline scale

  const highlightText = h("span", { class: "wl-grid-highlight-text" });
  const highlightOnly = h("input", { type: "checkbox", class: "wl-grid-highlight-only", checked: true });
  const highlightClear = h("button", { class: "wl-btn wl-grid-highlight-clear", text: "×", title: "Clear the step highlight" });
  const highlightChip = h("span", { class: "wl-grid-highlight", hidden: true },
    highlightText, h("label", { title: "Show only these samples" }, highlightOnly, " only"), highlightClear);

  // keys pressed here stay in the grid: Lumino skips shortcuts under data-lm-suppress-shortcuts
  // and onKey stops them before JupyterLab's document listener (see lib/keys.ts)
  const cells = h("div", {
    class: "wl-grid-cells", tabindex: 0, role: "listbox", "aria-multiselectable": "true",
    "aria-label": "Samples (press ? for the keys)", "data-lm-suppress-shortcuts": "true",
  });
  const detailPane = h("div", {
    class: "wl-grid-detail-pane", hidden: true, tabindex: -1, role: "dialog", "aria-label": "Sample detail",
    "data-lm-suppress-shortcuts": "true",
  });
  const keysBtn = h("button", { class: "wl-btn wl-grid-keys-btn", text: "keys ?", title: "Keyboard shortcuts of the grid" });
  const keysOverlay = h("div", { class: "wl-grid-keys", role: "dialog", "aria-label": "Keyboard shortcuts", hidden: true },
    h("div", { class: "wl-row" }, h("span", { class: "wl-title", text: "Keys, when the grid has focus" }),
      h("button", { class: "wl-btn wl-grid-keys-close", text: "×", title: "Close (Esc or ?)", onclick: () => showKeys(false) })),
    h("table", {}, ...KEY_HELP.map(([k, what]) => h("tr", {}, h("td", {}, h("kbd", { text: k })), h("td", { text: what })))));
  const resortBtn = h("button", { class: "wl-btn wl-grid-resort", hidden: true,
    title: "Training changed the values: apply the new order (the cells hold still until then)" });
  const autoResortBox = h("input", { type: "checkbox", class: "wl-grid-auto-resort" });

  const suspectsText = h("span", { class: "wl-grid-suspects-text" });
  const flaggedTagInput = h("input", {
    type: "text", class: "wl-grid-flagged-tag", value: "suspect", size: 9, title: "The tag \"tag flagged\" adds (created if new)",
  });
  const tagFlaggedBtn = h("button", { class: "wl-btn wl-grid-tag-flagged", text: "tag flagged", title: "Tag every flagged sample of this origin" });
  const discardFlaggedBtn = h("button", { class: "wl-btn wl-grid-discard-flagged", text: "discard flagged", title: "Discard every flagged sample of this origin" });
  const confirmTextEl = h("span", { class: "wl-grid-confirm-text" });
  const confirmOk = h("button", { class: "wl-btn wl-grid-confirm-ok", text: "confirm" });
  const confirmCancel = h("button", { class: "wl-btn wl-grid-confirm-cancel", text: "cancel" });
  const confirmBox = h("span", { class: "wl-grid-confirm", role: "alertdialog", hidden: true }, confirmTextEl, confirmOk, confirmCancel);
  const undoBtn = h("button", { class: "wl-btn wl-grid-undo", hidden: true });
  const flaggedStatus = h("span", { class: "wl-status wl-grid-flagged-status", role: "status" });
  const suspectsBar = h("div", { class: "wl-row wl-grid-suspects", hidden: true },
    h("span", { class: "wl-grid-suspects-title", text: "Suspects:" }), suspectsText,
    flaggedTagInput, tagFlaggedBtn, discardFlaggedBtn, confirmBox, undoBtn, flaggedStatus);

  const actionTagSel = h("select", { class: "wl-grid-action-tag", title: "Boolean tag" });
  const addTagBtn = h("button", { class: "wl-btn wl-grid-add-tag", text: "add tag" });
  const newTagInput = h("input", { type: "text", class: "wl-grid-new-tag", placeholder: "new tag", size: 9, title: "A new boolean tag for the selection" });
  const addNewTagBtn = h("button", { class: "wl-btn wl-grid-add-new-tag", text: "+ new tag", title: "Create the tag and add it to the selection" });
  const removeTagBtn = h("button", { class: "wl-btn wl-grid-remove-tag", text: "remove tag" });
  const catSel = h("select", { class: "wl-grid-cat-value", title: "Categorical tag value" });
  const setCatBtn = h("button", { class: "wl-btn wl-grid-set-cat", text: "set" });
  const clearCatBtn = h("button", { class: "wl-btn wl-grid-clear-cat", text: "clear" });
  const discardBtn = h("button", { class: "wl-btn wl-grid-discard", text: "discard" });
  const restoreBtn = h("button", { class: "wl-btn wl-grid-restore", text: "restore" });
  const selectPageBtn = h("button", { class: "wl-btn wl-grid-select-page", text: "select page" });
  const clearSelBtn = h("button", { class: "wl-btn wl-grid-clear-selection", text: "clear selection" });
  const exportBtn = h("button", { class: "wl-btn wl-grid-export", text: "export", title: "Download the selected samples as CSV (grid.selection_frame() in Python)" });
  const status = h("span", { class: "wl-status wl-grid-status", role: "status" });
  const actionCount = h("span", { class: "wl-grid-action-count", text: "0 selected" });

  const actionsBar = h("div", { class: "wl-row wl-grid-actions" },
    actionCount,
    actionTagSel, addTagBtn, removeTagBtn, newTagInput, addNewTagBtn,
    catSel, setCatBtn, clearCatBtn,
    discardBtn, restoreBtn, exportBtn, selectPageBtn, clearSelBtn, status);

  const root = h("div", { class: "wl-panel wl-grid" },
    errors.el,
    h("div", { class: "wl-row wl-grid-counters" },
      h("span", { class: "wl-title", text: "Samples" }),
      h("span", { class: "wl-grid-counter" }, "total ", total),
      h("span", { class: "wl-grid-counter" }, "active ", active),
      h("span", { class: "wl-grid-counter" }, "matched ", matchedEl),
      h("span", { class: "wl-grid-counter" }, "selected ", selectedEl)),
    h("div", { class: "wl-row wl-grid-filters" },
      h("label", {}, "sort ", sortSel), orderBtn,
      discardedSel, originSel, tagFilterSel, tagChips,
      h("label", {}, signalSel, " ", minInput, "–", maxInput),
      highlightChip),
    suspectsBar,
    h("div", { class: "wl-row wl-grid-pager" }, prevBtn, nextBtn, pageEl, sizeSel,
      h("label", { title: "Draw each sample's recent loss history" }, sparkBox, " loss history"),
      h("label", { title: "One scale for every sparkline of the page (else each is scaled to itself)" }, sparkShared, " one scale"),
      sparkScale,
      resortBtn,
      h("label", { title: "Apply the new order whenever training changes it (cells move under the pointer)" }, autoResortBox, " auto re-sort"),
      keysBtn),
    actionsBar,
    detailPane,
    cells,
    keysOverlay);
  el.appendChild(root);

  const channel = new Channel(model, onOther);

  // ------------------------------------------------------------------ the action bar in view
  let barOffset = 0;
  let barFrame = 0;
  function placeBar(scroller: Element): void {
    barFrame = 0;
    if (!root.isConnected) return;
    const view = scroller.getBoundingClientRect();
    const bar = actionsBar.getBoundingClientRect();
    const end = cells.getBoundingClientRect().bottom;
    const next = stickyOffset(view.top, bar.top, barOffset, bar.height, end);
    if (next === barOffset) return;
    barOffset = next;
    actionsBar.style.transform = next ? `translateY(${next}px)` : "";
    actionsBar.classList.toggle("is-floating", next > 0);
  }
  const onAnyScroll = (e: Event) => {
    const t = e.target;
    if (!(t instanceof Element) || !t.contains(root) || barFrame) return;
    barFrame = requestAnimationFrame(() => placeBar(t));
  };
  document.addEventListener("scroll", onAnyScroll, { capture: true, passive: true });

  // ------------------------------------------------------------------ requests
  function requestPage(): void {
    const q = pageRequest(state, freshNext || autoResortBox.checked);
    freshNext = false;
    if (!q.ok) {
      setStatus(q.error, "error");
      return;
    }
    latestReq = channel.request("page", q.fields, onPage);
    latestSort = q.fields.sort_by ?? "";
  }
  const refresh = new Throttle(1000);
  const filterDebounce = { t: 0 as ReturnType<typeof setTimeout> | 0 };
  function requery(resetOffset = true): void {
    if (resetOffset) state.offset = 0;
    freshNext = true; // a new query (sort, filter, page size, origin): a fresh order
    requestPage();
  }

  function onPage(msg: Message, buffers: Buffer[]): void {
    if (msg.req !== latestReq) return; // a newer request is on its way
    if (msg.ok === false) {
      setStatus(String(msg.message ?? "page request failed"), "error");
      return;
    }
    matched = Number(msg.matched) || 0;
    const fixed = clampOffset(state.offset, state.limit, matched);
    if (fixed !== state.offset) {
      state.offset = fixed;
      requestPage();
      return;
    }
    total.textContent = String(Number(msg.total) || 0);
    active.textContent = String(Number(msg.active) || 0);
    matchedEl.textContent = String(matched);
    if (Array.isArray(msg.columns)) {
      columns = msg.columns;
      updateColumnSelects();
    }
    rows = (msg.rows as Row[]) ?? [];
    classNames = readClassNames(msg.class_names);
    sparks = readSparks(msg, buffers);
    drawSparkScale();
    const kept = new Map<string, string>();
    const thumbs = rows.map((r, i) => {
      const key = JSON.stringify(rowRef(r));
      const old = urls.get(key); // the same sample's image: the cell keeps its <img> source
      if (old) {
        kept.set(key, old);
        return old;
      }
      const b = buffers[i];
      if (!b) return "";
      const bytes = toBytes(b);
      const u = URL.createObjectURL(new Blob([bytes.slice()], { type: "image/png" }));
      kept.set(key, u);
      return u;
    });
    for (const [k, u] of urls) if (!kept.has(k)) URL.revokeObjectURL(u);
    urls = kept;
    drawCells(thumbs);
    drawOrder(msg.order);
    root.dataset.pageSort = latestSort;
    pageEl.textContent = pageLabel(state.offset, rows.length, matched);
    prevBtn.disabled = state.offset === 0;
    nextBtn.disabled = state.offset + rows.length >= matched;
    if (pendingCursor !== null) {
      const i = Math.min(pendingCursor, rows.length - 1);
      pendingCursor = null;
      setCursor(i >= 0 ? rowRef(rows[i]) : null, false);
    }
    if (pendingDetail !== null) {
      const i = Math.min(pendingDetail, rows.length - 1);
      pendingDetail = null;
      if (i >= 0) openDetail(i);
    } else if (detailRef) {
      requestDetail(detailRef); // the sample's values may have moved: redrawn only if they did
    }
  }

  /** The page reply's `class_names` ({origin: {class: name}}), malformed entries dropped. */
  function readClassNames(v: unknown): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    if (!v || typeof v !== "object") return out;
    for (const [origin, names] of Object.entries(v as Record<string, unknown>)) {
      if (!names || typeof names !== "object") continue;
      out[origin] = {};
      for (const [k, n] of Object.entries(names as Record<string, unknown>)) if (typeof n === "string") out[origin][k] = n;
    }
    return out;
  }
  const classOf = (origin: string, v: number | null): string => {
    const name = v === null ? undefined : classNames[origin]?.[String(v)];
    return name ? `${formatNumber(v)} (${name})` : formatNumber(v);
  };

  function drawSparkScale(): void {
    pageDomain = pageSparkDomain(sparks);
    const shown = sparkShared.checked && pageDomain !== null && state.sparkPoints > 0;
    sparkScale.hidden = !shown;
    sparkScale.textContent = shown ? `scale ${formatNumber(pageDomain![0], 3)}–${formatNumber(pageDomain![1], 3)}` : "";
    if (shown) {
      sparkScale.dataset.min = String(pageDomain![0]);
      sparkScale.dataset.max = String(pageDomain![1]);
    }
  }

  /** The page's loss-history arrays split per row (nulls when absent or unreadable). */
  function readSparks(msg: Message, buffers: Buffer[]): (SparkRow | null)[] {
    const none = rows.map(() => null);
    if (msg.spark_error) setStatus(`loss history unavailable: ${msg.spark_error}`, "error");
    const sp = msg.spark;
    if (!sp || !Array.isArray(sp.arrays)) return none;
    try {
      const metas = sp.arrays as ArrayMeta[];
      const start = Number(sp.buffer_start);
      const a = decodeArrays(metas, buffers.slice(start, start + metas.length));
      sparkSignal = String(sp.signal ?? "loss");
      return splitSpark(a.offsets, a.steps, a.values, rows.length);
    } catch (err) {
      setStatus(`could not read the loss history: ${(err as Error).message}`, "error");
      return none;
    }
  }

  function sparkline(sp: SparkRow, hl: HighlightInfo | null): SVGSVGElement {
    const n = sp.values.length;
    const el = svg("svg", {
      class: "wl-grid-spark", viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: "none",
      "data-points": String(n), "aria-hidden": "true",
    });
    const domain = sparkShared.checked ? pageDomain : sparkDomain(sp.values);
    const d = sparkPath(sp.values, SPARK_W, SPARK_H, 2, domain);
    if (d) el.append(svg("path", { d, class: "wl-grid-spark-line" }));
    const j = hl && hl.step !== null && domain ? indexOfStep(sp.steps, hl.step) : -1;
    if (j >= 0 && domain && Number.isFinite(sp.values[j])) {
      const [x, y] = sparkXY(j, n, sp.values[j], SPARK_W, SPARK_H, domain, 2);
      el.append(svg("line", { class: "wl-grid-spark-step", x1: String(x), x2: String(x), y1: "0", y2: String(SPARK_H) }));
      el.append(svg("circle", { class: "wl-grid-spark-dot", cx: String(x), cy: String(y), r: "1.8" }));
    }
    return el;
  }

  function sparkTitle(sp: SparkRow | null): string {
    if (!sp || sp.values.length === 0) return "";
    const n = sp.values.length;
    return `${sparkSignal} history: ${n} point${n === 1 ? "" : "s"}, steps ${formatCount(sp.steps[0])}–${formatCount(sp.steps[n - 1])}`;
  }

  /** The held order: "re-sort (N changed)" when a fresh order would move N samples. */
  function drawOrder(order: unknown): void {
    const o = (order ?? {}) as { changed?: number; changed_page?: number; fresh?: boolean; snapshot?: number };
    const changed = Number(o.changed) || 0;
    const onPage = Number(o.changed_page) || 0;
    const label = resortLabel(onPage, changed);
    resortBtn.hidden = label === null;
    resortBtn.textContent = label ?? "";
    resortBtn.dataset.changed = String(changed);
    resortBtn.dataset.changedPage = String(onPage);
    resortBtn.title = `Training changed the values: a re-sort would change ${formatCount(onPage)} cells of this page `
      + `(${formatCount(changed)} positions in all). The cells hold still until then.`;
    root.dataset.order = o.fresh ? "fresh" : "held";
    root.dataset.snapshot = String(Number(o.snapshot) || 0); // grows with every fresh order
  }

  function onOther(msg: Message): void {
    if (msg.type === "selection" && Array.isArray(msg.sample_ids) && selectionSync.accepts(msg.version)) {
      // the shared selection (refs) changed elsewhere (tag editor, user code) or was asked for
      selection = selectionOf(msg.sample_ids);
      updateSelection(false);
    }
  }
  const askSelection = () => channel.request("get_selection", {}, (reply) => { if (reply.ok) onOther(reply); });

  // ------------------------------------------------------------------ cells
  function drawCells(thumbs: string[]): void {
    if (rows.length === 0) {
      cells.replaceChildren(h("div", { class: "wl-grid-empty", text: "No samples match." }));
      return;
    }
    const hl = highlightOf();
    const manyOrigins = ((model.get("origins") as string[] | undefined) ?? []).length > 1;
    const fresh = rows.map((r, i) => {
      const mismatch = r.prediction !== null && r.target !== null && r.prediction !== r.target;
      const chips = [
        ...r.tags.map((t) => h("span", { class: "wl-grid-chip", "data-tag": t, text: t, title: t })),
        ...Object.entries(r.categorical ?? {}).map(([k, v]) =>
          h("span", { class: "wl-grid-chip wl-grid-chip-cat", "data-tag": k, text: `${k}=${v}`, title: `${k}=${v}` })),
      ];
      const title = [
        `sample ${r.sample_id} (${r.origin})`,
        `target ${classOf(r.origin, r.target)}  prediction ${classOf(r.origin, r.prediction)}`,
        sparkTitle(sparks[i]),
        ...Object.entries(r.signals ?? {}).map(([c, v]) => `${columnLabel(c)}: ${formatNumber(v)}`),
        r.discarded ? "discarded" : "",
        r.highlighted && hl ? (hl.step !== null ? `in the batch of step ${hl.step}` : `highlighted: ${hl.label}`) : "",
        ...evidenceLines(r.suspect),
      ].filter(Boolean).join("\n");
      const badge = suggestionBadge(r.suspect);
      const cell = h("div", {
        class: "wl-grid-cell", "data-sample-id": String(r.sample_id), "data-origin": r.origin,
        "data-ref": JSON.stringify(rowRef(r)), "data-index": String(i), title, role: "option",
      },
        thumbs[i] ? h("img", { class: "wl-grid-thumb", src: thumbs[i], alt: `sample ${r.sample_id}`, draggable: false }) : h("div", { class: "wl-grid-thumb" }),
        badge ? h("span", { class: "wl-grid-suggest", text: badge, title: `flagged: suggested class ${r.suspect?.suggested_class}` }) : null,
        h("div", { class: "wl-grid-meta" },
          h("span", { class: "wl-grid-id", text: `#${r.sample_id}` },
            manyOrigins ? h("span", { class: "wl-grid-origin-label", text: r.origin }) : null),
          h("span", { class: "wl-grid-loss", title: "loss", text: formatNumber(r.loss, 3) })),
        h("div", { class: "wl-grid-meta" },
          h("span", { class: "wl-grid-target", text: `y=${formatNumber(r.target)}` }),
          h("span", { class: `wl-grid-prediction${mismatch ? " wl-grid-mismatch" : ""}`, text: `ŷ=${formatNumber(r.prediction)}` })),
        sparks[i] ? sparkline(sparks[i]!, r.highlighted ? hl : null) : null,
        chips.length ? h("div", { class: "wl-grid-chips" }, ...chips) : null);
      cell.classList.toggle("is-discarded", r.discarded);
      cell.classList.toggle("is-highlighted", r.highlighted === true);
      cell.classList.toggle("is-flagged", r.suspect?.flagged === true);
      if (r.suspect) {
        cell.dataset.flagged = String(r.suspect.flagged);
        cell.dataset.suspectRank = String(r.suspect.rank);
      }
      cell.dataset.discarded = String(r.discarded);
      return cell;
    });
    const shown = [...cells.querySelectorAll<HTMLElement>(":scope > .wl-grid-cell")];
    if (sameKeys(shown.map((c) => c.dataset.ref ?? ""), fresh.map((c) => c.dataset.ref ?? ""))) {
      // the same samples in the same places: update each cell in place (a click in progress,
      // the hover and the focus stay on their element)
      shown.forEach((old, i) => morphInto(old, fresh[i]));
    } else {
      cells.replaceChildren(...fresh);
    }
    updateSelection(false);
  }

  /** Give `old` the attributes and content of `next`, keeping the element itself. */
  function morphInto(old: HTMLElement, next: HTMLElement): void {
    for (const a of [...old.attributes]) if (!next.hasAttribute(a.name)) old.removeAttribute(a.name);
    for (const a of [...next.attributes]) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
    const oldImg = old.querySelector<HTMLImageElement>(":scope > img.wl-grid-thumb");
    const newImg = next.querySelector<HTMLImageElement>(":scope > img.wl-grid-thumb");
    if (oldImg && newImg && oldImg.src === newImg.src) newImg.replaceWith(oldImg); // no reload
    old.replaceChildren(...next.childNodes);
  }

  function updateSelection(report: boolean): void {
    for (const cell of cells.querySelectorAll<HTMLElement>(".wl-grid-cell")) {
      const r = rows[Number(cell.dataset.index)];
      const on = r !== undefined && isSelected(selection, rowRef(r));
      cell.classList.toggle("is-selected", on);
      cell.setAttribute("aria-selected", String(on));
      const here = r !== undefined && sameRef(cursor, rowRef(r));
      cell.classList.toggle("is-cursor", here);
      if (here) cells.setAttribute("aria-activedescendant", cell.id = `wl-cursor-${refKey(rowRef(r))}`);
    }
    cells.dataset.cursor = String(cursorIndex());
    const n = selection.refs.size;
    selectedEl.textContent = String(n);
    selectedEl.title = selectionLabel(countByOrigin(selectedRefs(selection)));
    actionCount.textContent = `${formatCount(n)} selected`;
    actionCount.title = selectedEl.title;
    actionCount.dataset.count = String(n);
    for (const b of [addTagBtn, removeTagBtn, setCatBtn, clearCatBtn, discardBtn, restoreBtn, exportBtn, clearSelBtn]) b.disabled = n === 0;
    addTagBtn.disabled ||= !actionTagSel.value;
    addNewTagBtn.disabled = n === 0 || !newTagInput.value.trim();
    removeTagBtn.disabled ||= !actionTagSel.value;
    setCatBtn.disabled ||= !catSel.value;
    clearCatBtn.disabled ||= !catSel.value;
    if (report) {
      selectionSync.sent();
      channel.request("select", { sample_ids: selectedRefs(selection) }, (reply) => selectionSync.answered(reply.version));
    }
  }

  /** The sample a cell shows (its data-ref): a click selects what the user saw, even when a
   * page that arrived meanwhile put another row at that index. */
  function cellRef(cell: HTMLElement): SampleRef | null {
    try {
      const shown = asRef(JSON.parse(cell.dataset.ref ?? "null"));
      if (shown) return shown;
    } catch {
      // a cell without a readable ref: its row by index
    }
    const r = rows[Number(cell.dataset.index)];
    return r ? rowRef(r) : null;
  }

  // selection on press, not on click: the grid redraws its cells' content while training runs,
  // and a click whose press and release land on two versions of a thumbnail never fires
  cells.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    const cell = (e.target as HTMLElement).closest<HTMLElement>(".wl-grid-cell");
    if (!cell) return;
    const ref = cellRef(cell);
    if (!ref) return;
    cells.focus({ preventScroll: true }); // the keys now go to the grid
    cursor = ref;
    selection = clickSelect(selection, rows.map(rowRef), ref, {
      shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey,
    });
    updateSelection(true);
  });
  cells.addEventListener("dblclick", (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>(".wl-grid-cell");
    const i = Number(cell?.dataset.index);
    if (cell && rows[i]) openDetail(i);
  });

  // ------------------------------------------------------------------ keyboard
  const cursorIndex = (): number => (cursor === null ? -1 : rows.findIndex((r) => sameRef(cursor, rowRef(r))));

  function setCursor(ref: SampleRef | null, scroll = true): void {
    cursor = ref;
    updateSelection(false);
    if (scroll) cells.querySelector<HTMLElement>(".wl-grid-cell.is-cursor")?.scrollIntoView({ block: "nearest" });
  }

  /** Cells per row, as the browser laid them out. */
  function cellsPerRow(): number {
    return columnsOf([...cells.querySelectorAll<HTMLElement>(":scope > .wl-grid-cell")].map((c) => c.offsetTop));
  }

  function showKeys(on: boolean): void {
    keysOverlay.hidden = !on;
    root.dataset.keys = String(on);
    if (!on && !detailRef) cells.focus({ preventScroll: true });
  }
  keysBtn.addEventListener("click", () => showKeys(keysOverlay.hidden));

  function onGridKey(cmd: KeyCommand): void {
    const order = rows.map(rowRef);
    switch (cmd.kind) {
      case "move": {
        const from = cursorIndex();
        const to = moveCursor(from, cmd.key, rows.length, cellsPerRow());
        if (to < 0) return;
        if (cmd.extend) {
          selection = extendTo(selection, order, from >= 0 ? order[from] : null, order[to]);
          updateSelection(true);
        }
        setCursor(order[to]);
        return;
      }
      case "toggle":
        if (cursor === null) setCursor(order[0] ?? null);
        if (cursor === null) return;
        selection = toggleOne(selection, cursor);
        updateSelection(true);
        return;
      case "selectAll":
        selection = selectAll(selection, order);
        updateSelection(true);
        return;
      case "clear":
        if (!keysOverlay.hidden) showKeys(false);
        else {
          selection = emptySelection();
          updateSelection(true);
          setStatus("selection cleared");
        }
        return;
      case "open": {
        const i = cursorIndex();
        const first = rows.findIndex((r) => isSelected(selection, rowRef(r)));
        const at = i >= 0 ? i : Math.max(0, first);
        if (rows[at]) openDetail(at);
        return;
      }
      case "tag":
        newTagInput.focus();
        return;
      case "discard":
      case "restore":
        if (selection.refs.size === 0) setStatus(`nothing to ${cmd.kind}: select samples first (space, shift+arrows)`, "error");
        else act(cmd.kind);
        return;
      case "help":
        showKeys(keysOverlay.hidden);
        return;
      case "nextPage":
        if (!nextBtn.disabled) { pendingCursor = 0; nextBtn.click(); }
        return;
      case "prevPage":
        if (!prevBtn.disabled) { pendingCursor = 0; prevBtn.click(); }
        return;
    }
  }

  /** Keys in the detail view: ← → walk the order, Esc closes, d / r act on its sample. */
  function onDetailKey(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (e.key === "ArrowLeft") stepDetail(-1);
    else if (e.key === "ArrowRight") stepDetail(1);
    else if (e.key === "Escape") closeDetail();
    else if ((e.key === "d" || e.key === "r") && detailRef) detailAct(e.key === "d" ? "discard" : "restore");
    else if (e.key === "?") showKeys(keysOverlay.hidden);
    else return false;
    return true;
  }

  const typing = (t: EventTarget | null): boolean =>
    t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName));

  function onKey(e: KeyboardEvent): void {
    const press = { key: e.key, shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey, alt: e.altKey };
    if (typing(e.target)) {
      if (e.key === "Escape") (detailRef ? detailPane : cells).focus({ preventScroll: true });
      else if (e.key === "Enter" && e.target === newTagInput && !addNewTagBtn.disabled) addNewTagBtn.click();
      if (!passesToLab(press)) e.stopPropagation(); // typing is not a notebook command
      return;
    }
    if (e.target instanceof HTMLButtonElement && (e.key === "Enter" || e.key === " ")) {
      e.stopPropagation(); // the button's own click, not a notebook command
      return;
    }
    let handled = false;
    if (detailRef !== null && detailPane.contains(e.target as Node)) handled = onDetailKey(e);
    else {
      const cmd = keyCommand(press);
      if (cmd) {
        onGridKey(cmd);
        handled = true;
      }
    }
    if (handled) e.preventDefault();
    if (handled || !passesToLab(press)) e.stopPropagation();
  }
  root.addEventListener("keydown", onKey);

  // ------------------------------------------------------------------ detail view
  function openDetail(i: number): void {
    const r = rows[i];
    if (!r) return;
    setCursor(rowRef(r));
    detailRef = rowRef(r);
    detailSig = "";
    root.dataset.detail = "open";
    requestDetail(detailRef, true);
  }

  function requestDetail(ref: SampleRef, focus = false): void {
    channel.request("detail", { ref }, (reply, buffers) => {
      if (!detailRef || !sameRef(detailRef, ref)) return; // closed, or another sample meanwhile
      if (reply.ok === false) {
        setStatus(String(reply.message ?? "could not load the sample"), "error");
        return;
      }
      const sig = JSON.stringify({ ...reply, req: 0 }) + buffers.map((b) => (b as ArrayBufferView).byteLength ?? 0).join(",");
      if (sig === detailSig && !detailPane.hidden) return;
      detailSig = sig;
      let view: HTMLElement;
      const bag = new UrlBag();
      try {
        view = drawDetail(reply, buffers, bag);
      } catch (err) {
        bag.revoke();
        setStatus(`could not show the sample: ${(err as Error).message}`, "error");
        return;
      }
      detailUrls.revoke();
      detailUrls = bag;
      detailPane.replaceChildren(view);
      detailPane.hidden = false;
      cells.hidden = true;
      if (focus || !root.contains(document.activeElement)) detailPane.focus({ preventScroll: true });
    });
  }

  function drawDetail(reply: Message, buffers: Buffer[], bag: UrlBag): HTMLElement {
    const d = readDetail(reply, buffers);
    const i = cursorIndex();
    const can = (delta: number) => i >= 0 && stepInOrder(state.offset, i, delta, state.limit, matched) !== null;
    return renderDetail(d, bag, {
      act: detailAct,
      prev: can(-1) ? () => stepDetail(-1) : null,
      next: can(1) ? () => stepDetail(1) : null,
      close: closeDetail,
      position: i >= 0 ? `${formatCount(state.offset + i + 1)} of ${formatCount(matched)}` : "",
    });
  }

  /** Previous / next sample in the grid's order (the grid pages along). */
  function stepDetail(delta: number): void {
    const i = cursorIndex();
    const to = stepInOrder(state.offset, i, delta, state.limit, matched);
    if (to === null) return;
    if (to.page === state.offset) openDetail(to.index);
    else {
      state.offset = to.page;
      pendingDetail = to.index;
      requestPage();
    }
  }

  function detailAct(action: string, fields: Record<string, unknown> = {}): void {
    const ref = detailRef;
    if (!ref) return;
    setStatus(`${action}…`);
    channel.request("action", { action, sample_ids: [ref], ...fields }, (reply) => {
      setStatus(String(reply.message ?? (reply.ok ? "done" : "failed")), reply.ok ? "ok" : "error");
      if (reply.ok && Array.isArray(reply.sample_ids)) {
        selectionSync.answered(reply.version, false);
        selection = selectionOf(reply.sample_ids);
        updateSelection(false);
      }
      if (reply.ok) requestPage(); // the page, then the detail, show the change
    });
  }

  function closeDetail(): void {
    detailRef = null;
    detailSig = "";
    delete root.dataset.detail;
    detailPane.hidden = true;
    detailPane.replaceChildren();
    detailUrls.revoke();
    cells.hidden = false;
    cells.focus({ preventScroll: true });
    setCursor(cursor);
    if (maybeAdoptDefault()) requery();
  }

  // ------------------------------------------------------------------ actions
  function setStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
  }

  function act(action: string, extra: Record<string, unknown> = {}): void {
    const refs = selectedRefs(selection);
    if (refs.length === 0) return;
    setStatus(`${action}…`);
    channel.request("action", { action, sample_ids: refs, ...extra }, (reply) => {
      setStatus(String(reply.message ?? (reply.ok ? "done" : "failed")), reply.ok ? "ok" : "error");
      if (reply.ok && Array.isArray(reply.sample_ids)) {
        selectionSync.answered(reply.version, false);
        selection = selectionOf(reply.sample_ids); // a discard drops the samples from it
        updateSelection(false);
      }
      if (reply.ok) requestPage();
    });
  }
  const catParts = (): [string, string] => {
    const v = catSel.value;
    const i = v.indexOf("=");
    return [v.slice(0, i), v.slice(i + 1)];
  };
  addTagBtn.addEventListener("click", () => act("add_tag", { tag: actionTagSel.value }));
  removeTagBtn.addEventListener("click", () => act("remove_tag", { tag: actionTagSel.value }));
  addNewTagBtn.addEventListener("click", () => {
    const tag = newTagInput.value.trim();
    if (tag) act("add_tag", { tag, create: true });
  });
  newTagInput.addEventListener("input", () => updateSelection(false));
  setCatBtn.addEventListener("click", () => { const [t, v] = catParts(); act("set_categorical", { tag: t, value: v }); });
  clearCatBtn.addEventListener("click", () => { const [t] = catParts(); act("clear_categorical", { tag: t }); });
  discardBtn.addEventListener("click", () => act("discard"));
  restoreBtn.addEventListener("click", () => act("restore"));
  exportBtn.addEventListener("click", () => {
    const refs = selectedRefs(selection);
    if (refs.length === 0) return;
    setStatus("export…");
    channel.request("export", { sample_ids: refs }, (reply) => {
      const got = exportOf(reply);
      if (!got) {
        setStatus(String(reply.message ?? "export failed"), "error");
        return;
      }
      const name = exportFileName(got.origins, got.rows, got.total);
      downloadText(el.ownerDocument, got.csv, name);
      exportBtn.dataset.file = name;
      setStatus(`${String(reply.message ?? "exported")} → ${name}`, "ok");
    });
  });
  selectPageBtn.addEventListener("click", () => {
    selection = selectAll(selection, rows.map(rowRef));
    updateSelection(true);
  });
  clearSelBtn.addEventListener("click", () => {
    selection = emptySelection();
    updateSelection(true);
  });
  actionTagSel.addEventListener("change", () => updateSelection(false));
  catSel.addEventListener("change", () => updateSelection(false));

  // ------------------------------------------------------------------ filters and paging
  function updateColumnSelects(): void {
    const label = (c: string): string => (c === SUSPECTS_SORT ? SUSPECTS_LABEL : columnLabel(c));
    // the sort shown stays listed while the page's columns do not name it yet (the suspects
    // preset before its ranking, the loss before its first page)
    const sortable = state.sortBy === null || columns.includes(state.sortBy) ? columns : [state.sortBy, ...columns];
    setOptions(sortSel, [["", "recorded order"], ...sortable.map((c): [string, string] => [c, label(c)])]);
    sortSel.value = state.sortBy ?? "";
    const signalCols = columns.filter((c) => c !== "sample_id" && c !== SUSPECTS_SORT && splitHistoryColumn(c)[1] === null);
    setOptions(signalSel, [["", "signal range…"], ...signalCols.map((c): [string, string] => [c, columnLabel(c)])]);
    signalSel.value = state.signal ?? "";
  }

  function updateTagSelects(): void {
    const tags: string[] = model.get("tags") ?? [];
    const cats: Record<string, string[]> = model.get("categorical") ?? {};
    const catValues = Object.entries(cats).flatMap(([k, vs]) => vs.map((v): [string, string] => [`${k}=${v}`, `${k}=${v}`]));
    setOptions(actionTagSel, tags.length ? tags.map((t): [string, string] => [t, t]) : [["", "(no tags)"]]);
    setOptions(catSel, catValues.length ? catValues : [["", "(no categorical tags)"]]);
    setOptions(tagFilterSel, [["", "+ tag filter"], ...tags.map((t): [string, string] => [t, t]), ...catValues], false);
    tagFilterSel.value = "";
    const origins: string[] = model.get("origins") ?? [];
    setOptions(originSel, [["", "all origins"], ...origins.map((o): [string, string] => [o, o])]);
    originSel.value = state.origin ?? "";
    updateSelection(false);
  }

  function drawTagChips(): void {
    tagChips.replaceChildren(...state.tags.map((t) =>
      h("span", { class: "wl-grid-filter-chip", "data-tag": t, title: "remove this filter", text: `${t} ×`,
        onclick: () => { state.tags = state.tags.filter((x) => x !== t); drawTagChips(); requery(); } })));
  }

  function updateOrder(): void {
    const o = orderLabel(state.sortBy, state.descending);
    orderBtn.textContent = o.text;
    orderBtn.title = o.title;
    orderBtn.disabled = o.disabled;
  }

  sortSel.addEventListener("change", () => { explicitSort = true; state.sortBy = sortSel.value || null; updateOrder(); requery(); });
  orderBtn.addEventListener("click", () => { explicitSort = true; state.descending = !state.descending; updateOrder(); requery(); });
  discardedSel.addEventListener("change", () => { state.discarded = discardedSel.value as DiscardedFilter; requery(); });
  originSel.addEventListener("change", () => { state.origin = originSel.value || null; drawSuspects(); requery(); });
  tagFilterSel.addEventListener("change", () => {
    const t = tagFilterSel.value;
    tagFilterSel.value = "";
    if (t && !state.tags.includes(t)) {
      state.tags.push(t);
      drawTagChips();
      requery();
    }
  });
  signalSel.addEventListener("change", () => { state.signal = signalSel.value || null; requery(); });
  const onBound = () => {
    state.signalMin = minInput.value;
    state.signalMax = maxInput.value;
    if (filterDebounce.t) clearTimeout(filterDebounce.t);
    filterDebounce.t = setTimeout(() => { filterDebounce.t = 0; if (state.signal) requery(); }, 300);
  };
  minInput.addEventListener("input", onBound);
  maxInput.addEventListener("input", onBound);
  prevBtn.addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); requestPage(); });
  nextBtn.addEventListener("click", () => {
    if (state.offset + state.limit < matched) { state.offset += state.limit; requestPage(); }
  });
  sizeSel.addEventListener("change", () => { state.limit = Number(sizeSel.value); requery(); });
  resortBtn.addEventListener("click", () => { freshNext = true; requestPage(); });
  autoResortBox.addEventListener("change", () => { if (autoResortBox.checked) requestPage(); });
  sparkShared.addEventListener("change", () => {
    drawSparkScale();
    drawCells(rows.map((r) => urls.get(JSON.stringify(rowRef(r))) ?? "")); // redraw, same images
  });
  sparkBox.addEventListener("change", () => {
    state.sparkPoints = sparkBox.checked ? SPARK_POINTS : 0;
    root.classList.toggle("wl-grid-no-spark", !sparkBox.checked);
    requery(false);
  });

  // ------------------------------------------------------------------ step highlight
  /** The session's step highlight (the `highlight` trait), or null. */
  function highlightOf(): HighlightInfo | null {
    const v = model.get("highlight") ?? {};
    if (typeof v.count !== "number") return null;
    const step = v.source === "step" && typeof v.step === "number" ? v.step : null;
    const label = typeof v.label === "string" && v.label ? v.label : step !== null ? `step ${formatCount(step)} batch` : "highlight";
    return { version: Number(v.version) || 0, signal: String(v.signal ?? ""), step, count: v.count,
      label, source: String(v.source ?? "step") };
  }

  function drawHighlight(): void {
    const hl = highlightOf();
    highlightChip.hidden = hl === null;
    if (hl) {
      highlightText.textContent = `${hl.label}: ${formatCount(hl.count)} samples`;
      highlightChip.title = hl.step !== null ? `${hl.signal} at step ${hl.step} (clicked on the curve)` : hl.label;
      highlightChip.dataset.step = hl.step === null ? "" : String(hl.step);
      highlightChip.dataset.source = hl.source;
      highlightChip.dataset.count = String(hl.count);
    }
    highlightOnly.checked = state.highlight;
  }

  const onHighlight = () => {
    // a new highlight restricts the page to its batch; a cleared one shows everything again
    state.highlight = highlightOf() !== null;
    drawHighlight();
    requery();
  };
  highlightOnly.addEventListener("change", () => {
    state.highlight = highlightOnly.checked && highlightOf() !== null;
    requery();
  });
  highlightClear.addEventListener("click", () => {
    channel.request("clear_highlight", {}, (reply) => {
      if (reply.ok === false) setStatus(String(reply.message ?? "could not clear the highlight"), "error");
    });
  });

  // ------------------------------------------------------------------ suspects
  const info = () => suspectsInfo(model.get("suspects"));

  /** The suspects bar's own status line (the grid's status sits below the cells). */
  function setFlaggedStatus(text: string, kind: "ok" | "error" | "" = ""): void {
    flaggedStatus.textContent = text;
    flaggedStatus.classList.toggle("is-error", kind === "error");
    flaggedStatus.classList.toggle("is-ok", kind === "ok");
  }
  const actionOrigin = () => flaggedOrigin(info(), state.origin);

  /** Switch to the default sort the grid may take now, if any (lib/default_sort.ts): the loss
   * once recorded, the suspects preset once ready; never a sort the user chose, never while the
   * user works in the grid. True when it switched (the caller asks for the page). */
  function maybeAdoptDefault(): boolean {
    const next = nextDefaultSort({
      explicit: explicitSort, sortBy: state.sortBy, lossColumn: String(model.get("loss_column") ?? "") || null,
      suspectsReady: suspectsReady(info(), state.origin), pointerInside,
      // the keyboard's cursor in use (a focused checkbox of the bars does not hold the sort)
      focused: cells.contains(document.activeElement) || detailPane.contains(document.activeElement),
      offset: state.offset, busy: pending !== null || detailRef !== null,
    });
    if (next === null) return false;
    state.sortBy = next;
    state.descending = true;
    updateOrder();
    updateColumnSelects();
    root.dataset.sortDefault = next;
    if (next === SUSPECTS_SORT) {
      setFlaggedStatus(defaultSortMessage(next));
      // the loss default's line (if still shown) no longer tells the sort
      if (status.textContent?.startsWith("sorted by ")) setStatus("");
    } else {
      setStatus(defaultSortMessage(next));
    }
    return true;
  }

  function drawSuspects(): void {
    const i = info();
    const origin = actionOrigin();
    suspectsBar.hidden = Object.keys(i.origins).length === 0;
    suspectsText.textContent = flaggedSummary(i, origin);
    const flagged = origin === null ? 0 : i.origins[origin]?.flagged ?? 0;
    suspectsBar.dataset.origin = origin ?? "";
    suspectsBar.dataset.flagged = String(flagged);
    tagFlaggedBtn.disabled = flagged === 0 || pending !== null || !flaggedTagInput.value.trim();
    discardFlaggedBtn.disabled = flagged === 0 || pending !== null;
  }

  function closeConfirm(): void {
    pending = null;
    confirmBox.hidden = true;
    delete confirmBox.dataset.action;
    drawSuspects();
  }

  function flaggedFields(action: "tag" | "discard", origin: string): Record<string, unknown> {
    return action === "tag" ? { action, origin, tag: flaggedTagInput.value.trim() } : { action, origin };
  }

  /** Preview the action (dry run): the confirmation says how many samples of which origin. */
  function preview(action: "tag" | "discard"): void {
    const origin = actionOrigin();
    if (origin === null) return;
    setFlaggedStatus(`counting the flagged samples of ${origin}…`);
    tagFlaggedBtn.disabled = discardFlaggedBtn.disabled = true;
    channel.request("flagged", { ...flaggedFields(action, origin), dry_run: true }, (reply) => {
      if (!reply.ok) {
        setFlaggedStatus(String(reply.message ?? "failed"), "error");
        drawSuspects();
        return;
      }
      const p = reply as unknown as FlaggedReply;
      if (p.count === 0) {
        setFlaggedStatus(String(reply.message ?? "nothing to change"), "ok");
        drawSuspects();
        return;
      }
      pending = p;
      confirmTextEl.textContent = confirmText(p, info().origins[p.origin]);
      confirmBox.dataset.action = p.action;
      confirmBox.dataset.origin = p.origin;
      confirmBox.dataset.count = String(p.count);
      confirmBox.hidden = false;
      setFlaggedStatus("");
      drawSuspects();
      confirmOk.focus();
    });
  }

  function confirmPending(): void {
    const p = pending;
    if (!p) return;
    confirmOk.disabled = true;
    setFlaggedStatus(`${p.action === "tag" ? "tagging" : "discarding"} ${p.count} samples of ${p.origin}…`);
    const fields = p.action === "tag" ? { action: p.action, origin: p.origin, tag: p.tag } : { action: p.action, origin: p.origin };
    channel.request("flagged", { ...fields, expect: p.digest }, (reply) => {
      confirmOk.disabled = false;
      closeConfirm();
      setFlaggedStatus(String(reply.message ?? (reply.ok ? "done" : "failed")), reply.ok ? "ok" : "error");
      if (!reply.ok) return;
      const done = reply as unknown as FlaggedReply & { undo: string | null };
      undoBtn.hidden = !done.undo;
      if (done.undo) {
        undoBtn.dataset.token = done.undo;
        undoBtn.textContent = undoLabel(done);
      }
      requestPage();
    });
  }

  tagFlaggedBtn.addEventListener("click", () => preview("tag"));
  discardFlaggedBtn.addEventListener("click", () => preview("discard"));
  flaggedTagInput.addEventListener("input", drawSuspects);
  confirmOk.addEventListener("click", confirmPending);
  confirmCancel.addEventListener("click", () => { closeConfirm(); setFlaggedStatus("cancelled"); });
  undoBtn.addEventListener("click", () => {
    const token = undoBtn.dataset.token;
    if (!token) return;
    undoBtn.disabled = true;
    channel.request("undo", { token }, (reply) => {
      undoBtn.disabled = false;
      setFlaggedStatus(String(reply.message ?? (reply.ok ? "undone" : "undo failed")), reply.ok ? "ok" : "error");
      if (!reply.ok) return;
      undoBtn.hidden = true;
      delete undoBtn.dataset.token;
      requestPage();
    });
  });
  root.addEventListener("pointerenter", () => { pointerInside = true; });
  root.addEventListener("pointerleave", () => {
    pointerInside = false;
    if (maybeAdoptDefault()) requery();
  });
  root.addEventListener("focusout", (e) => {
    if (e.relatedTarget instanceof Node && root.contains(e.relatedTarget)) return;
    setTimeout(() => { if (maybeAdoptDefault()) requery(); }, 0); // once the focus has left
  });
  const onLossColumn = () => { if (maybeAdoptDefault()) requery(); };
  const onSuspects = () => {
    drawSuspects();
    if (maybeAdoptDefault()) requery();
  };

  // ------------------------------------------------------------------ traits
  const onVersion = () => refresh.call(requestPage);
  const onCounts = () => {
    total.textContent = String(Number(model.get("total")) || 0);
    active.textContent = String(Number(model.get("active")) || 0);
  };
  model.on("change:version", onVersion);
  model.on("change:total", onCounts);
  model.on("change:active", onCounts);
  model.on("change:tags", updateTagSelects);
  model.on("change:categorical", updateTagSelects);
  model.on("change:origins", updateTagSelects);
  model.on("change:highlight", onHighlight);
  model.on("change:suspects", onSuspects);
  model.on("change:loss_column", onLossColumn);

  state.highlight = highlightOf() !== null;
  drawHighlight();
  onCounts();
  updateOrder();
  updateColumnSelects();
  updateTagSelects();
  drawTagChips();
  drawSuspects();
  maybeAdoptDefault(); // a loss (or enough history) already: the first page comes sorted by it
  askSelection();
  requestPage();

  return () => {
    document.removeEventListener("scroll", onAnyScroll, { capture: true });
    if (barFrame) cancelAnimationFrame(barFrame);
    refresh.cancel();
    if (filterDebounce.t) clearTimeout(filterDebounce.t);
    for (const u of urls.values()) URL.revokeObjectURL(u);
    model.off("change:version", onVersion);
    model.off("change:total", onCounts);
    model.off("change:active", onCounts);
    model.off("change:tags", updateTagSelects);
    model.off("change:categorical", updateTagSelects);
    model.off("change:origins", updateTagSelects);
    model.off("change:highlight", onHighlight);
    model.off("change:suspects", onSuspects);
    model.off("change:loss_column", onLossColumn);
    root.removeEventListener("keydown", onKey);
    detailUrls.revoke();
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
