// RunMedia view: the session's tracking run (wl.init() / wl.log({...})): a header with its name,
// path, state and step, then one card per logged key in the order of the `entries` trait. A card
// shows the value at its step (a number with a sparkline, text, a histogram, a table, a chart
// from wl.plot.*, image thumbnails, audio, a description) and, when the key was logged at
// several steps, a selector that pins an older step. Image, audio and video bytes are asked for
// with `media` requests (once the card is at least partly visible); older steps' values with
// `value` requests. Request ids carry a prefix unique to this view, since every view of the
// widget receives every reply; a request without a reply after 30 s completes as a failure.
// Trait updates redraw once per animation frame; a new run rebuilds every card.
// An image logged with boxes or masks shows them over its thumbnail, with a legend of class
// toggles that the card keeps across steps (lib/overlays_view.ts).
// A table's image cells are thumbnails of the PNG bytes a `media` request brings. A card spans
// the whole row when asked (↔), or by itself when its table or matrix is wider than one column;
// the corners button shows one card over the notebook (Esc, × or a click beside it returns). A click on a confusion-matrix cell sends a
// `confusion` request: the kernel highlights that (label, prediction) pair's samples for the
// sample grid, and the card says how many.
// Protocol: weightslab_nb/panels/media.py.

import "./lib/base.css";
import "./styles/media.css";
import { h, svg } from "./lib/dom";
import { formatCount, formatNumber } from "./lib/format";
import {
  binLabel, BYTES_KINDS, cardSize, cellIndex, confusionFields, Debounce, describeEntry,
  diffEntries, entriesOf, entryFromMedia, formatCell, formatMetric, FrameBatch, histogramBars,
  histogramRange, imageCell, isMediaCell, itemsNote, LatestRequest, loggedCount, needsBytes,
  newStepNote, noReply, otherText, parseConfusionReply, parseMediaReply, parseValueReply,
  PendingReplies, pinAt, repin, replyMatches, requestFields, runOf, runSummary, sameOrder,
  selectorIndex, seriesDot, isCardList, listSummaries, mediaAt, seriesPoints, shownStep, stepAria, stepLabel, stepPlan, tableCount,
  thumbSize, type CardKey, type CardSize, type MediaEntry, type MediaResult,
  type RequestType, type ShownMedia,
} from "./lib/media";
import {
  axisLabels, confusionCells, confusionShade, confusionShown, PLOT_HEIGHT, plotLayout, plotOf,
  type PlotSpec,
} from "./lib/plot";
import type { Buffer, Message, RenderProps } from "./lib/model";
import { Channel, cssVar, errorBar, viewPrefix } from "./lib/panel";
import { paletteFor } from "./lib/contrast";
import { Throttle } from "./lib/query";
import { loadVendor } from "./lib/vendor";
import { isMaskItem } from "./lib/overlays";
import { filterIn, ImageOverlays, togglesIn } from "./lib/overlays_view";
import { CARD_VIEWS } from "./cards";
import type { CardContext, CardView } from "./cards/types";

const SPARK_W = 120;
const SPARK_H = 28;
const HIST_W = 240;
const HIST_H = 64;
const PLOT_W = 300; // a plot's width until its card has been laid out
const STEP_INTERVAL_MS = 120; // selector requests at most this often per card
const RESIZE_DEBOUNCE_MS = 100; // a plot redraws at its new width once resizing pauses this long
const MAX_PLACEHOLDERS = 16; // the most items a media reply carries
const MISMATCH = "ignored a reply for another key or step; move the selector to retry";
const CELL_THUMB_MIN = 32; // a table's image cells: small images scaled up to this side...
const CELL_THUMB_MAX = 96; // ...large ones down to this one
const OVERLAY_THUMB_MAX = 240; // an image with boxes or masks: the longer side (fits one column)

interface Job {
  type: RequestType;
  step: number;
  rev: string | null; // the latest entry's rev when asked for the latest step (a newer rev makes the reply stale)
}

interface Card {
  key: string;
  kind: string; // the trait's kind: a new kind for the key rebuilds the card
  entry: MediaEntry; // the latest, from the trait
  shown: MediaEntry | null; // what the body shows
  next: MediaEntry | null; // a descriptor waiting for its bytes
  media: ShownMedia | null; // bytes of the shown step
  pinned: number | null; // the step the user chose; null follows the latest
  asked: number | null; // the step last brought in (or asked for)
  slot: LatestRequest<Job>;
  throttle: Throttle;
  dead: boolean;
  visible: boolean; // at least partly in view (always, without IntersectionObserver)
  deferred: boolean; // a media card waiting to be visible before it asks for its bytes
  offer: number | null; // a newer step not swapped in because the card's player is playing
  el: HTMLElement;
  kindEl: HTMLElement;
  stepEl: HTMLElement;
  latestBtn: HTMLButtonElement;
  body: HTMLElement;
  message: HTMLElement;
  offerRow: HTMLElement;
  offerText: HTMLElement;
  selectorRow: HTMLElement;
  selector: HTMLInputElement;
  resize: ResizeObserver | null; // plot cards: redraw the chart at the body's width
  resizeLater: Debounce;
  bodyWidth: number; // the body's width from the ResizeObserver (0: not measured yet)
  plotWidth: number; // the width the chart was last drawn at (0: none yet)
  size: CardSize | null; // the width the user chose (null: automatic)
  autoWide: boolean; // its table or matrix did not fit one column (automatic size only)
  sizeBtn: HTMLButtonElement;
  fullBtn: HTMLButtonElement;
  clickNote: HTMLElement; // what a click on a confusion-matrix cell did
  renders: number; // bodies drawn so far: a view of cards/ drawing late checks it is still current
  disposers: (() => void)[]; // what the views of cards/ free when the body is drawn again or removed
  memo: Map<string, unknown>; // what its views keep across redraws (the classes switched off, the score threshold)
}

/** The full-screen button's icon: four corners (drawn, as fonts may lack a glyph for it). */
function expandIcon(): SVGSVGElement {
  const icon = svg("svg", { class: "wl-media-icon", viewBox: "0 0 12 12", width: "11", height: "11", "aria-hidden": "true" });
  icon.append(svg("path", { d: "M1 4.5V1h3.5M7.5 1H11v3.5M11 7.5V11H7.5M4.5 11H1V7.5" }));
  return icon;
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const runName = h("span", { class: "wl-media-run-name" });
  const runState = h("span", { class: "wl-media-run-state" });
  const runStep = h("span", { class: "wl-media-run-step" });
  const runPath = h("span", { class: "wl-media-run-path wl-muted" });
  const header = h("div", { class: "wl-row wl-media-run" },
    h("span", { class: "wl-title", text: "Run" }), runName, runState, runStep, runPath);
  const list = h("div", { class: "wl-media-cards" });
  const empty = h("div", { class: "wl-media-empty wl-muted" });
  const root = h("div", { class: "wl-panel wl-media", "data-entries": "0" }, errors.el, header, empty, list);
  el.appendChild(root);

  // every request completes once: its reply, or a failure after 30 s or when the Channel drops it
  const replies = new PendingReplies<string>();
  const channel = new Channel<string>(model, () => {}, { prefix: viewPrefix("m"), onDrop: (req) => replies.fail(req) });
  const cards = new Map<string, Card>();
  let cardsRun: string | null = null; // the run id the cards were built for

  // media cards ask for their bytes once they are (about to be) visible
  const byEl = new WeakMap<Element, Card>();
  const visibility = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((seen) => {
      for (const e of seen) {
        const card = byEl.get(e.target);
        if (!card || card.dead) continue;
        card.visible = e.isIntersecting;
        if (card.visible && card.deferred) bringToStep(card, true);
      }
    }, { rootMargin: "200px 0px" })
    : null;

  const wanted = (card: Card) => shownStep(card.entry, card.pinned);

  function showMessage(card: Card, text: string): void {
    card.message.textContent = text;
    card.message.hidden = text === "";
    card.el.classList.toggle("has-error", text !== "");
  }

  function setLoading(card: Card, on: boolean): void {
    card.el.classList.toggle("is-loading", on);
    if (on) card.el.setAttribute("aria-busy", "true");
    else card.el.removeAttribute("aria-busy");
  }

  // -- requests ------------------------------------------------------------------------------

  function ask(card: Card, type: RequestType, step: number): void {
    const rev = step === card.entry.step ? card.entry.rev : null;
    const now = card.slot.submit({ type, step, rev });
    if (now) send(card, now);
  }

  function send(card: Card, job: Job): void {
    setLoading(card, true);
    const req = channel.request(job.type, requestFields(card.key, job.step), (msg, buffers) => replies.reply(req, msg, buffers));
    replies.add(req, noReply(job.type), (msg, buffers, synthetic) => {
      if (synthetic) channel.forget(req); // a late reply then finds nothing waiting for it
      onReply(card, job, msg, buffers);
    });
  }

  /** The step asked for failed: say why, and let the same step be asked for again. */
  function failed(card: Card, error: string): void {
    card.next = null;
    card.asked = null;
    showMessage(card, error);
  }

  function onReply(card: Card, job: Job, msg: Message, buffers: Buffer[]): void {
    if (card.dead) return;
    let follow: Job | null = null;
    try {
      follow = handleReply(card, job, msg, buffers);
    } finally {
      // the slot never stays busy: whatever the reply, the next job (if any) goes out
      let next = card.slot.done();
      if (follow && next === null) next = card.slot.submit(follow);
      if (next) send(card, next);
      else setLoading(card, false);
      updateHead(card);
    }
  }

  /** Show a reply if it is still wanted; returns the request that must follow it, if any. */
  function handleReply(card: Card, job: Job, msg: Message, buffers: Buffer[]): Job | null {
    const wantedStep = job.step === wanted(card);
    // a reply for the latest step, overtaken by a value logged again at that step
    const stale = wantedStep && job.rev !== null && job.step === card.entry.step && job.rev !== card.entry.rev;
    const current = wantedStep && !stale;
    // an answer dropped because the selector moved on: asking that step again must send again
    if (!wantedStep && job.step === card.asked) card.asked = null;
    const asked = { key: card.key, step: job.step };
    if (job.type === "value") {
      const r = parseValueReply(msg, card.key);
      if (!current) return null;
      if (!r.ok) {
        failed(card, r.error);
      } else if (!replyMatches(r.entry, asked)) {
        failed(card, MISMATCH);
      } else if (needsBytes(card.kind, r.entry.value)) {
        card.next = r.entry; // its bytes next
        if (card.kind === "table") {
          card.shown = r.entry; // its text at once, the thumbnails when the bytes come
          showMessage(card, "");
          renderBody(card);
        }
        return { type: "media", step: job.step, rev: job.rev };
      } else {
        card.shown = r.entry;
        showMessage(card, "");
        renderBody(card);
      }
      return null;
    }
    const r = parseMediaReply(msg, buffers);
    if (!current) return null;
    if (!r.ok) {
      failed(card, r.error);
    } else if (!replyMatches(r.media, asked)) {
      failed(card, MISMATCH);
    } else {
      const base = card.next && card.next.step === job.step ? card.next
        : job.step === card.entry.step ? card.entry : entryFromMedia(card.entry, r.media, job.step);
      card.next = null;
      card.shown = base;
      setMedia(card, r.media);
      showMessage(card, "");
      renderBody(card);
    }
    return null;
  }

  function playing(card: Card): boolean {
    return [...card.body.querySelectorAll("audio, video")].some((m) => !(m as HTMLMediaElement).paused);
  }

  function setOffer(card: Card, step: number | null): void {
    card.offer = step;
    card.offerRow.hidden = step === null;
    card.offerText.textContent = step === null ? "" : newStepNote(step);
  }

  /**
   * Bring the card to the step it should show (its pin, else the latest). `auto`: a trait
   * update (or the card coming into view) asks, not the user; a playing player is then kept.
   */
  function bringToStep(card: Card, auto = false): void {
    const step = wanted(card);
    if (card.asked === step) return;
    // the latest value says whether bytes are needed; an older step's value tells once it came
    const binary = step === card.entry.step ? needsBytes(card.kind, card.entry.value) : BYTES_KINDS.has(card.kind);
    if (binary && !card.visible) {
      card.deferred = true; // asked for once the card scrolls into view
      if ((!card.shown || card.kind === "table") && step === card.entry.step) {
        card.shown = card.entry; // placeholders until then (a table's text at once)
        renderBody(card);
      }
      updateHead(card);
      return;
    }
    if (auto && binary && card.pinned === null && card.shown && playing(card)) {
      setOffer(card, card.entry.step); // do not cut the playback: offer the new step instead
      updateHead(card);
      return;
    }
    card.deferred = false;
    setOffer(card, null);
    card.asked = step;
    if (step === card.entry.step) {
      if (binary) {
        card.next = card.entry;
        ask(card, "media", step);
        if (!card.shown || card.kind === "table") {
          card.shown = card.entry; // placeholders until the bytes come
          renderBody(card);
        }
      } else {
        card.shown = card.entry;
        showMessage(card, "");
        renderBody(card);
      }
    } else {
      ask(card, stepPlan(card.kind)[0], step);
    }
    updateHead(card);
  }

  // -- media bytes ---------------------------------------------------------------------------

  function revoke(card: Card): void {
    for (const u of card.media?.urls ?? []) URL.revokeObjectURL(u);
    card.media = null;
  }

  function setMedia(card: Card, media: MediaResult): void {
    revoke(card);
    // the Blob copies the bytes; nothing else keeps them
    const urls = media.items.map((it) => URL.createObjectURL(new Blob([it.bytes as Uint8Array<ArrayBuffer>], { type: it.mime })));
    const items = media.items.map(({ bytes: _bytes, ...rest }) => rest);
    card.media = { step: media.step, count: media.count, items, urls };
  }

  /** The bytes of the shown step, when they are here. */
  function mediaOf(card: Card): ShownMedia | null {
    const m = card.media;
    return m && card.shown && m.step === card.shown.step ? m : null;
  }

  // -- card rendering ------------------------------------------------------------------------

  function makeCard(entry: MediaEntry): Card {
    const card: Card = {
      key: entry.key,
      kind: entry.kind,
      entry,
      shown: null,
      next: null,
      media: null,
      pinned: null,
      asked: null,
      slot: new LatestRequest<Job>(),
      throttle: new Throttle(STEP_INTERVAL_MS),
      dead: false,
      visible: visibility === null,
      deferred: false,
      offer: null,
      el: h("div", { class: "wl-media-card", "data-key": entry.key, "data-kind": entry.kind }),
      kindEl: h("span", { class: "wl-media-kind" }),
      stepEl: h("span", { class: "wl-media-card-step" }),
      latestBtn: h("button", { class: "wl-btn wl-media-latest", text: "latest", title: "Follow the latest step", hidden: true }),
      body: h("div", { class: "wl-media-body" }),
      message: h("div", { class: "wl-media-message", role: "status", hidden: true }),
      offerRow: h("div", { class: "wl-media-offer", role: "status", hidden: true }),
      offerText: h("span", { class: "wl-media-offer-text" }),
      selectorRow: h("div", { class: "wl-media-selector" }),
      selector: h("input", { type: "range", class: "wl-media-step", min: "0", step: "1" }),
      resize: null,
      resizeLater: new Debounce(RESIZE_DEBOUNCE_MS),
      bodyWidth: 0,
      plotWidth: 0,
      size: null,
      autoWide: false,
      sizeBtn: h("button", { class: "wl-btn wl-media-size", text: "↔", title: "Span the whole row", "aria-pressed": "false" }),
      fullBtn: h("button", { class: "wl-btn wl-media-full", title: "Show this card over the notebook (Esc returns)", "aria-label": "full screen", "aria-pressed": "false" }, expandIcon()),
      clickNote: h("div", { class: "wl-media-click-note", role: "status", hidden: true }),
      renders: 0,
      disposers: [],
      memo: new Map(),
    };
    if (entry.kind === "plot" && typeof ResizeObserver !== "undefined") {
      card.resize = new ResizeObserver((seen) => {
        const last = seen[seen.length - 1];
        const w = last ? Math.floor(last.contentRect.width) : 0;
        if (w <= 0 || card.dead) return;
        const first = card.bodyWidth === 0;
        card.bodyWidth = w;
        if (w === card.plotWidth) {
          card.resizeLater.cancel();
        } else if (first) {
          renderBody(card); // the first measured width: draw at it at once
        } else {
          card.resizeLater.call(() => {
            if (!card.dead && card.bodyWidth !== card.plotWidth) renderBody(card);
          });
        }
      });
      card.resize.observe(card.body);
    }
    const loadBtn = h("button", { class: "wl-btn wl-media-load", text: "load", title: "Show the newest step (stops the playback)" });
    loadBtn.addEventListener("click", () => {
      setOffer(card, null);
      card.asked = null;
      bringToStep(card);
    });
    card.offerRow.append(card.offerText, loadBtn);
    card.sizeBtn.addEventListener("click", () => {
      card.size = card.el.dataset.size === "wide" ? "normal" : "wide";
      applySize(card);
    });
    card.fullBtn.addEventListener("click", () => (fullCard === card ? closeFull() : openFull(card)));
    card.el.append(
      h("div", { class: "wl-media-card-head" },
        h("span", { class: "wl-media-key", text: entry.key, title: entry.key }), card.kindEl, card.stepEl, card.latestBtn,
        card.sizeBtn, card.fullBtn),
      card.body, card.offerRow, card.message);
    card.selectorRow.append(card.selector);
    card.selector.setAttribute("aria-label", stepAria(entry.key, entry.step).label);
    card.selector.addEventListener("input", () => {
      card.pinned = pinAt(card.entry.steps, Number(card.selector.value));
      updateSelectorValue(card);
      updateHead(card);
      card.throttle.call(() => bringToStep(card));
    });
    card.latestBtn.addEventListener("click", () => {
      card.pinned = null;
      updateSelector(card);
      card.throttle.cancel();
      bringToStep(card);
    });
    if (visibility && BYTES_KINDS.has(entry.kind)) {
      byEl.set(card.el, card);
      visibility.observe(card.el);
    }
    return card;
  }

  function disposeCard(card: Card): void {
    if (fullCard === card) closeFull();
    card.dead = true;
    runDisposers(card);
    card.throttle.cancel();
    card.resizeLater.cancel();
    card.slot.reset();
    card.resize?.disconnect();
    visibility?.unobserve(card.el);
    revoke(card);
    card.el.remove();
  }

  function disposeCards(): void {
    for (const card of cards.values()) disposeCard(card);
    cards.clear();
  }

  function updateSelectorValue(card: Card): void {
    const steps = card.entry.steps;
    const step = steps[selectorIndex(steps, card.pinned)];
    const aria = stepAria(card.key, step);
    card.selector.setAttribute("aria-valuetext", aria.valuetext);
    card.selector.title = `step ${step} (${steps.length} logged)`;
  }

  function updateSelector(card: Card): void {
    const steps = card.entry.steps;
    if (steps.length > 1) {
      card.selector.max = String(steps.length - 1);
      card.selector.value = String(selectorIndex(steps, card.pinned));
      updateSelectorValue(card);
      if (!card.selectorRow.isConnected) card.el.insertBefore(card.selectorRow, card.offerRow);
    } else if (card.selectorRow.isConnected) {
      card.selectorRow.remove();
    }
  }

  function updateHead(card: Card): void {
    const shown = card.shown?.step ?? card.entry.step;
    const want = wanted(card);
    // "…" while the wanted step is on its way; a failure (the message says why) clears it
    const coming = want !== shown && (card.slot.busy || card.deferred);
    card.stepEl.textContent = stepLabel(shown, card.entry.step) + (coming ? " …" : "");
    card.el.dataset.step = String(shown);
    const v = card.shown?.value ?? card.entry.value;
    const count = card.kind === "images" && v && typeof v.count === "number" ? ` ×${v.count}` : "";
    card.kindEl.textContent = card.kind + count;
    card.latestBtn.hidden = card.pinned === null;
    card.el.classList.toggle("is-pinned", card.pinned !== null);
  }

  function renderBody(card: Card): void {
    const e = card.shown;
    if (!e) return;
    runDisposers(card); // the body's drawings are replaced
    let parts: (Node | null)[];
    switch (e.kind) {
      case "number": parts = numberView(card, e); break;
      case "text": parts = [h("div", { class: "wl-media-text", text: typeof e.value === "string" ? e.value : formatCell(e.value) })]; break;
      case "histogram": parts = histogramView(e); break;
      case "table": parts = tableView(card, e); break;
      case "plot": parts = plotView(card, e); break;
      case "image": case "images": parts = imagesView(card, e); break;
      case "audio": case "video": parts = playerView(card, e); break;
      case "other": parts = [otherView(e)]; break;
      default: {
        const view = CARD_VIEWS[e.kind];
        if (!view) parts = [description(e)];
        else if (isCardList(e.value)) parts = cardList(card, e, view);
        else parts = view(cardContext(card, e, mediaOf(card)));
      }
    }
    card.body.replaceChildren(...parts.filter((p): p is Node => p !== null));
    updateHead(card);
    if (e.kind === "table" || e.kind === "plot") measureLater(card);
  }

  // -- card size and full screen -------------------------------------------------------------

  function applySize(card: Card): void {
    const wrap = card.body.querySelector<HTMLElement>(".wl-media-table-wrap, .wl-media-confusion-wrap");
    if (card.size === null && !card.autoWide && wrap) card.autoWide = cardSize(null, wrap.scrollWidth, wrap.clientWidth) === "wide";
    const size = card.size ?? (card.autoWide ? "wide" : "normal");
    card.el.dataset.size = size;
    card.sizeBtn.setAttribute("aria-pressed", String(size === "wide"));
    card.sizeBtn.title = size === "wide" ? "Back to one column" : "Span the whole row";
  }

  /** Once laid out, widen a card whose table or matrix does not fit (one layout read per render). */
  const measured = new Set<Card>();
  const measureFrame = new FrameBatch(() => {
    for (const card of measured) if (!card.dead) applySize(card);
    measured.clear();
  });
  function measureLater(card: Card): void {
    measured.add(card);
    measureFrame.schedule();
  }

  let fullCard: Card | null = null;
  const backdrop = h("div", { class: "wl-media-backdrop", hidden: true });
  backdrop.addEventListener("click", () => closeFull());
  root.append(backdrop);
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key !== "Escape" || fullCard === null) return;
    ev.preventDefault();
    ev.stopPropagation(); // the notebook does not get this Esc
    closeFull();
  };

  function openFull(card: Card): void {
    if (fullCard) closeFull();
    fullCard = card;
    card.el.classList.add("is-fullscreen");
    card.el.setAttribute("role", "dialog");
    card.el.setAttribute("aria-label", `${card.key} (full screen)`);
    card.fullBtn.replaceChildren("×");
    card.fullBtn.title = "Close the full-screen view (Esc)";
    card.fullBtn.setAttribute("aria-label", "close full screen");
    card.fullBtn.setAttribute("aria-pressed", "true");
    backdrop.hidden = false;
    root.classList.add("has-fullscreen");
    document.addEventListener("keydown", onKey, true);
    card.fullBtn.focus();
  }

  function closeFull(): void {
    const card = fullCard;
    if (!card) return;
    fullCard = null;
    card.el.classList.remove("is-fullscreen");
    card.el.removeAttribute("role");
    card.el.removeAttribute("aria-label");
    card.fullBtn.replaceChildren(expandIcon());
    card.fullBtn.title = "Show this card over the notebook (Esc returns)";
    card.fullBtn.setAttribute("aria-label", "full screen");
    card.fullBtn.setAttribute("aria-pressed", "false");
    backdrop.hidden = true;
    root.classList.remove("has-fullscreen");
    document.removeEventListener("keydown", onKey, true);
    if (!card.dead) card.fullBtn.focus();
  }

  /** Bundled libraries come with an `asset` request (once per page: lib/vendor.ts). */
  function fetchAsset(name: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const req = channel.request("asset", { name }, (msg, buffers) => replies.reply(req, msg, buffers));
      replies.add(req, { type: "asset_result", ok: false, message: "no reply from the kernel" }, (msg, buffers, synthetic) => {
        if (synthetic) channel.forget(req);
        if (msg && msg.ok === true && buffers && buffers.length === 1) {
          const b = buffers[0];
          resolve(b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        } else {
          reject(new Error(typeof msg?.message === "string" ? msg.message : `${name} could not be loaded`));
        }
      });
    });
  }

  function runDisposers(card: Card): void {
    const cleanups = card.disposers.splice(0);
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch (err) {
        console.warn("weightslab_nb: a card's cleanup failed", err);
      }
    }
  }

  function cardContext(card: Card, e: MediaEntry, media: ShownMedia | null, drawn = ++card.renders): CardContext {
    const alive = () => !card.dead && card.renders === drawn;
    return {
      key: card.key,
      entry: e,
      media,
      vendor: <T,>(name: string) => loadVendor<T>(name, fetchAsset),
      alive,
      onDispose: (cleanup: () => void) => {
        if (alive()) card.disposers.push(cleanup);
        else cleanup();
      },
      memo: card.memo,
      fail: (text: string) => showMessage(card, text),
    };
  }

  /** A list of values of one card kind: the view draws each value in a figure of its own. */
  function cardList(card: Card, e: MediaEntry, view: CardView): (Node | null)[] {
    const drawn = ++card.renders;
    const media = mediaOf(card);
    const figures = listSummaries(e.value).map((summary, i) => {
      const own = media ? mediaAt(media, i) : null;
      const parts = view(cardContext(card, { ...e, value: summary }, own, drawn));
      return h("div", { class: "wl-media-list-item", "data-index": String(i) }, ...parts.filter((p): p is Node => p !== null));
    });
    const count = (e.value as { count: number }).count;
    const note = itemsNote(figures.length, count);
    return [h("div", { class: "wl-media-list" }, ...figures), note ? h("div", { class: "wl-media-items wl-muted", text: note }) : null];
  }

  function description(e: MediaEntry): HTMLElement {
    return h("div", { class: "wl-media-desc wl-muted", text: describeEntry(e.kind, e.value) });
  }

  /** Any other logged object: its JSON text, clipped by CSS, in full in the tooltip. */
  function otherView(e: MediaEntry): HTMLElement {
    const text = otherText(e.value);
    return h("div", { class: "wl-media-desc wl-media-other", text, title: text });
  }

  /** "no items" (an empty reply), or "showing 16 of 40" when fewer came than were logged. */
  function itemsLine(media: ShownMedia, value: unknown): HTMLElement | null {
    if (media.items.length === 0) return h("div", { class: "wl-media-items-note wl-muted", text: "no items" });
    const note = itemsNote(media.items.length, loggedCount(media, value));
    return note ? h("div", { class: "wl-media-items-note wl-muted", text: note }) : null;
  }

  function numberView(card: Card, e: MediaEntry): (Node | null)[] {
    const series = e.series ?? card.entry.series;
    const line = seriesPoints(series, SPARK_W, SPARK_H);
    let spark: SVGSVGElement | null = null;
    if (line) {
      spark = svg("svg", { class: "wl-media-spark", viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: "none", "data-points": String(series!.length) });
      spark.append(svg("polyline", { class: "wl-media-spark-line", points: line }));
      const dot = seriesDot(series, e.step, SPARK_W, SPARK_H);
      if (dot) spark.append(svg("circle", { class: "wl-media-spark-dot", cx: String(dot[0]), cy: String(dot[1]), r: "2" }));
    }
    return [h("span", { class: "wl-media-number", text: formatMetric(e.value), title: String(e.value ?? "NaN") }), spark];
  }

  function histogramView(e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const values: number[] = Array.isArray(v.values) ? v.values : [];
    const bins: number[] = Array.isArray(v.bins) ? v.bins : [];
    if (values.length === 0) return [h("div", { class: "wl-media-desc wl-muted", text: "histogram: no bins" })];
    const chart = svg("svg", { class: "wl-media-hist", viewBox: `0 0 ${HIST_W} ${HIST_H}`, preserveAspectRatio: "none", "data-bins": String(values.length) });
    histogramBars(values, HIST_W, HIST_H).forEach((b, i) => {
      const rect = svg("rect", { class: "wl-media-bar", x: String(b.x), y: String(b.y), width: String(b.width), height: String(b.height) });
      const title = svg("title", {});
      title.textContent = binLabel(bins, values, i);
      rect.append(title);
      chart.append(rect);
    });
    const range = histogramRange(bins);
    const axis = range
      ? h("div", { class: "wl-media-hist-axis wl-muted" },
        h("span", { class: "wl-media-hist-min", text: range[0] }), h("span", { class: "wl-media-hist-max", text: range[1] }))
      : null;
    return [chart, axis];
  }

  /** A table's image cell: the thumbnail once its bytes came, else a placeholder of its size. */
  function imageCellView(card: Card, media: ShownMedia | null, at: Map<string, number>, i: number, j: number, w: number | null, hgt: number | null, caption: string | null): HTMLElement {
    const k = at.get(`${i},${j}`);
    const size = thumbSize(w, hgt, CELL_THUMB_MIN, CELL_THUMB_MAX);
    let pic: HTMLElement;
    if (media && k !== undefined) {
      pic = h("img", { class: "wl-media-thumb wl-media-cell-thumb", src: media.urls[k], alt: caption ?? `${card.key} row ${i + 1}`, draggable: false });
      pic.addEventListener("load", () => {
        if (size) return;
        const s = thumbSize((pic as HTMLImageElement).naturalWidth, (pic as HTMLImageElement).naturalHeight, CELL_THUMB_MIN, CELL_THUMB_MAX);
        if (s) sizeTo(pic, s);
      }, { once: true });
    } else {
      pic = h("div", { class: "wl-media-placeholder wl-media-cell-thumb", title: media ? "image not sent" : "loading" });
    }
    if (size) sizeTo(pic, size);
    return pic;
  }

  function tableView(card: Card, e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const columns: unknown[] = Array.isArray(v.columns) ? v.columns : [];
    const rows: unknown[][] = Array.isArray(v.rows) ? v.rows.filter(Array.isArray) : [];
    const media = mediaOf(card);
    const at = cellIndex(media?.items ?? []);
    const table = h("table", { class: "wl-media-table" },
      h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: String(c), title: String(c) })))),
      h("tbody", {}, ...rows.map((r, i) => h("tr", {}, ...columns.map((_, j) => {
        const cell = r[j];
        const image = imageCell(cell);
        if (image) {
          return h("td", { class: "wl-media-cell-image", title: image.caption ?? "" },
            imageCellView(card, media, at, i, j, image.width, image.height, image.caption));
        }
        const cls = isMediaCell(cell) ? "wl-media-cell-media" : typeof cell === "number" ? "wl-media-cell-num" : null;
        return h("td", { class: cls, text: formatCell(cell) });
      })))));
    const nrows = typeof v.nrows === "number" ? v.nrows : rows.length;
    return [h("div", { class: "wl-media-table-wrap" }, table), h("div", { class: "wl-media-table-count wl-muted", text: tableCount(rows.length, nrows) })];
  }

  function plotView(card: Card, e: MediaEntry): (Node | null)[] {
    const spec = plotOf(e.value);
    if (!spec) {
      const chart = e.value && typeof e.value === "object" ? String(e.value.chart ?? "none") : "none";
      return [h("div", { class: "wl-media-desc wl-muted", text: `plot: unknown chart ${JSON.stringify(chart)}` })];
    }
    const title = spec.title ? h("div", { class: "wl-media-plot-title", text: spec.title, title: spec.title }) : null;
    // the width comes from the ResizeObserver: no layout read here
    const width = card.bodyWidth || card.plotWidth || PLOT_W;
    card.plotWidth = width;
    if (spec.chart === "confusion_matrix") return [title, ...confusionView(card, e.step, spec)];
    const l = plotLayout(spec, width, PLOT_HEIGHT, paletteFor(cssVar(root, "--jp-layout-color1", "#fff")));
    const chart = svg("svg", {
      class: "wl-media-plot", "data-chart": spec.chart, viewBox: `0 0 ${l.width} ${l.height}`,
      width: String(l.width), height: String(l.height), role: "img", "aria-label": spec.title ?? card.key,
    });
    const { box } = l;
    const bottom = box.y + box.height, right = box.x + box.width;
    chart.append(svg("path", { class: "wl-media-plot-axis", d: `M${box.x},${box.y}V${bottom}H${right}` }));
    const label = (cls: string, x: number, y: number, anchor: string, content: string, more: Record<string, string> = {}) => {
      const t = svg("text", { class: cls, x: String(x), y: String(y), "text-anchor": anchor, ...more });
      t.textContent = content;
      chart.append(t);
    };
    for (const t of l.xTicks) label("wl-media-plot-tick wl-media-plot-xtick", t.pos, bottom + 12, t.anchor, t.label);
    for (const t of l.yTicks) label("wl-media-plot-tick wl-media-plot-ytick", box.x - 4, t.pos, t.anchor, t.label, { "dominant-baseline": "middle" });
    if (l.xLabel) label("wl-media-plot-xlabel", box.x + box.width / 2, l.height - 3, "middle", l.xLabel);
    if (l.yLabel) {
      const cy = box.y + box.height / 2;
      label("wl-media-plot-ylabel", 10, cy, "middle", l.yLabel, { transform: `rotate(-90 10 ${cy})`, "dominant-baseline": "middle" });
    }
    if (l.zero !== null) chart.append(svg("line", { class: "wl-media-plot-zero", x1: String(box.x), x2: String(right), y1: String(l.zero), y2: String(l.zero) }));
    for (const r of l.rects) {
      const rect = svg("rect", { class: "wl-media-plot-bar", x: String(r.x), y: String(r.y), width: String(r.width), height: String(r.height) });
      const tip = svg("title", {});
      tip.textContent = r.title;
      rect.append(tip);
      chart.append(rect);
    }
    if (l.chance) {
      const [x1, y1, x2, y2] = l.chance;
      chart.append(svg("path", { class: "wl-media-plot-chance", d: `M${x1},${y1}L${x2},${y2}` }));
    }
    for (const s of l.series) {
      if (s.dots) {
        const g = svg("g", { class: "wl-media-plot-series", "data-name": s.name, "data-points": String(s.points), fill: s.color });
        for (const [cx, cy] of s.dots) g.append(svg("circle", { class: "wl-media-plot-point", cx: String(cx), cy: String(cy), r: s.dots.length > 500 ? "1.5" : "2.5" }));
        chart.append(g);
      } else {
        chart.append(svg("path", { class: "wl-media-plot-series", "data-name": s.name, "data-points": String(s.points), d: s.path ?? "", stroke: s.color }));
      }
    }
    const legend = l.legend
      ? h("div", { class: "wl-media-plot-legend" }, ...l.series.map((s) =>
        h("span", { class: "wl-media-plot-legend-item", "data-name": s.name, title: s.name },
          h("span", { class: "wl-media-plot-swatch", style: `background:${s.color}` }), s.name)))
      : null;
    return [title, legend, chart];
  }

  /** What a click on a confusion cell did, under the matrix ("" hides the line). */
  function setClickNote(card: Card, text: string, state: "busy" | "ok" | "empty" | "error"): void {
    card.clickNote.textContent = text;
    card.clickNote.hidden = text === "";
    card.clickNote.dataset.state = state;
  }

  function clickCell(card: Card, step: number, row: number, col: number, k: number, td: HTMLElement): void {
    let fields;
    try {
      fields = confusionFields(card.key, step, row, col, k);
    } catch (err) {
      setClickNote(card, String((err as Error).message ?? err), "error");
      return;
    }
    for (const c of card.body.querySelectorAll(".wl-media-confusion-cell.is-picked")) c.classList.remove("is-picked");
    td.classList.add("is-picked");
    setClickNote(card, "finding the samples…", "busy");
    const req = channel.request("confusion", fields, (msg, buffers) => replies.reply(req, msg, buffers));
    replies.add(req, { type: "confusion_result", ok: false, message: "no reply from the kernel; click the cell again to retry" }, (msg, _buffers, synthetic) => {
      if (synthetic) channel.forget(req);
      if (card.dead) return;
      const r = parseConfusionReply(msg);
      if (!r.ok) setClickNote(card, r.error, "error");
      else setClickNote(card, r.message, r.count > 0 ? "ok" : "empty");
    });
  }

  function confusionView(card: Card, step: number, spec: PlotSpec): (Node | null)[] {
    const k = spec.labels.length;
    if (k === 0) return [h("div", { class: "wl-media-desc wl-muted", text: "confusion matrix: no classes" })];
    const axes = axisLabels(spec);
    const part = confusionShown(spec); // at most 50 x 50 cells in the DOM
    const labels = part.labels;
    const cells = confusionCells(part.counts);
    const table = h("table", { class: "wl-media-confusion", "data-chart": "confusion_matrix", "data-classes": String(k) },
      h("thead", {}, h("tr", {},
        h("th", { class: "wl-media-confusion-corner", text: `${axes.y} ╲ ${axes.x}`, title: `rows: ${axes.y}, columns: ${axes.x}` }),
        ...labels.map((c) => h("th", { class: "wl-media-confusion-predicted", text: c, title: `${axes.x}: ${c}` })))),
      h("tbody", {}, ...cells.map((row, i) => h("tr", {},
        h("th", { class: "wl-media-confusion-actual", text: labels[i], title: `${axes.y}: ${labels[i]}` }),
        ...row.map((c, j) => {
          const td = h("td", {
            class: `wl-media-confusion-cell${c.diagonal ? " is-diagonal" : ""}`,
            "data-count": c.count === null ? "" : String(c.count),
            "data-row": String(i),
            "data-col": String(j),
            tabindex: "0",
            text: formatNumber(c.count),
            title: `${axes.y} ${labels[i]}, ${axes.x} ${labels[j]}: ${formatNumber(c.count)} (click: show these samples in the sample grid)`,
          });
          td.style.background = confusionShade(c.intensity);
          td.addEventListener("click", () => clickCell(card, step, i, j, k, td));
          td.addEventListener("keydown", (ev) => {
            if (ev.key !== "Enter" && ev.key !== " ") return;
            ev.preventDefault();
            ev.stopPropagation();
            clickCell(card, step, i, j, k, td);
          });
          return td;
        })))));
    const note = part.note ? h("div", { class: "wl-media-confusion-note wl-muted", text: part.note }) : null;
    return [h("div", { class: "wl-media-confusion-wrap" }, table), note, card.clickNote];
  }

  function sizeTo(el: HTMLElement, size: { width: number; height: number; pixelated: boolean }): void {
    el.style.width = `${size.width}px`;
    el.style.height = `${size.height}px`;
    el.classList.toggle("is-pixelated", size.pixelated);
  }

  function sizeImage(img: HTMLImageElement | HTMLElement, w: number | null, hgt: number | null): void {
    const size = thumbSize(w, hgt);
    if (size) sizeTo(img, size);
  }

  function thumb(url: string, w: number | null, hgt: number | null, alt: string, extra = ""): HTMLImageElement {
    const img = h("img", { class: `wl-media-thumb${extra}`, src: url, alt, draggable: false });
    if (w && hgt) sizeImage(img, w, hgt);
    else img.addEventListener("load", () => sizeImage(img, img.naturalWidth, img.naturalHeight), { once: true });
    return img;
  }

  function imagesView(card: Card, e: MediaEntry): (Node | null)[] {
    const v = e.value ?? {};
    const media = mediaOf(card);
    const captions: (string | null)[] = Array.isArray(v.captions) ? v.captions : [];
    // the images' items come first, their masks' items after them
    const images = media ? { ...media, items: media.items.filter((it) => !isMaskItem(it)) } : null;
    const count = images ? images.items.length : Math.max(1, Math.min(Number(v.count) || 1, MAX_PLACEHOLDERS));
    const drawn = ++card.renders;
    const overlays = media ? new ImageOverlays(media, togglesIn(card.memo), () => !card.dead && card.renders === drawn, filterIn(card.memo)) : null;
    const figures: HTMLElement[] = [];
    for (let i = 0; i < count; i++) {
      const it = images?.items[i];
      const caption = it ? it.caption : captions[i] ?? null;
      const w = it?.width ?? (Number(v.width) || null), hgt = it?.height ?? (Number(v.height) || null);
      let pic: HTMLElement;
      if (media) {
        pic = thumb(media.urls[i], w, hgt, caption ?? `${card.key} ${i + 1}`);
        const big = w && hgt && overlays!.has(i) ? thumbSize(w, hgt, CELL_THUMB_MIN * 2, OVERLAY_THUMB_MAX) : null;
        if (big) {
          sizeTo(pic, big); // boxes and their labels need room: larger than a plain thumbnail
          pic = overlays!.wrap(i, pic, big, { width: w!, height: hgt! });
        }
      } else {
        pic = h("div", { class: "wl-media-placeholder" });
        sizeImage(pic, w, hgt);
      }
      figures.push(h("figure", { class: "wl-media-figure" }, pic,
        caption ? h("figcaption", { class: "wl-media-caption", text: caption, title: caption }) : null));
    }
    const thumbs = figures.length ? h("div", { class: "wl-media-thumbs" }, ...figures) : null;
    return [thumbs, ...(overlays?.footer(() => thumbs) ?? []), images ? itemsLine(images, v) : null];
  }

  function playerView(card: Card, e: MediaEntry): (Node | null)[] {
    const media = mediaOf(card);
    const players: HTMLElement[] = [];
    media?.items.forEach((it, i) => {
      const url = media.urls[i];
      let el: HTMLElement;
      if (it.mime.startsWith("audio/")) el = h("audio", { class: "wl-media-audio", controls: true, src: url, preload: "metadata" });
      else if (it.mime.startsWith("video/")) el = h("video", { class: "wl-media-video", controls: true, src: url, preload: "metadata" });
      else el = thumb(url, it.width, it.height, it.caption ?? card.key, " wl-media-video");
      players.push(h("figure", { class: "wl-media-figure" }, el,
        it.caption ? h("figcaption", { class: "wl-media-caption", text: it.caption, title: it.caption }) : null));
    });
    return [description(e), players.length ? h("div", { class: "wl-media-thumbs" }, ...players) : null, media ? itemsLine(media, e.value) : null];
  }

  // -- traits --------------------------------------------------------------------------------

  function syncRun(): void {
    const run = runOf(model.get("run"));
    const id = run ? run.id : null;
    if (id !== cardsRun) {
      // another run: nothing of the cards (pins, steps asked, bytes) carries over
      disposeCards();
      cardsRun = id;
    }
    header.hidden = run === null;
    root.dataset.runState = run?.state ?? "none";
    if (run) {
      runName.textContent = run.name;
      runName.title = run.id ? `id ${run.id}` : "";
      runState.textContent = run.state;
      runState.dataset.state = run.state;
      runStep.textContent = run.step === null ? "" : `step ${formatCount(run.step)}`;
      runPath.textContent = run.path || run.project;
      runPath.title = run.project ? `project ${run.project}` : "";
      header.title = runSummary(run);
    }
  }

  function syncEmpty(): void {
    const run = runOf(model.get("run"));
    const text = run === null ? "No run: start one with wl.init() and log with wl.log({...})."
      : cards.size === 0 ? "Nothing logged yet." : "";
    empty.textContent = text;
    empty.hidden = text === "";
  }

  function syncEntries(): void {
    const entries = entriesOf(model.get("entries"));
    const prev = new Map<string, CardKey>([...cards].map(([k, c]) => [k, { kind: c.kind, step: c.entry.step, rev: c.entry.rev }]));
    const diff = diffEntries(prev, entries);
    for (const k of diff.removed) {
      disposeCard(cards.get(k)!);
      cards.delete(k);
    }
    const changed = new Set([...diff.added, ...diff.changed]);
    for (const entry of entries) {
      let card = cards.get(entry.key);
      if (card && card.kind !== entry.kind) {
        disposeCard(card);
        card = undefined;
      }
      if (!card) {
        card = makeCard(entry);
        cards.set(entry.key, card);
        changed.add(entry.key);
      }
      card.entry = entry;
      if (!changed.has(entry.key)) continue; // nothing new logged for this key
      card.pinned = repin(entry.steps, card.pinned);
      // following the latest: a new value (even at the same step) is shown again
      if (card.pinned === null) card.asked = null;
      updateSelector(card);
      bringToStep(card, true);
      updateHead(card);
    }
    const order = [...list.children].map((c) => (c as HTMLElement).dataset.key ?? "");
    if (!sameOrder(order, diff.order)) list.replaceChildren(...diff.order.map((k) => cards.get(k)!.el));
    root.dataset.entries = String(entries.length);
  }

  /** Both traits, once per frame however many updates came (only the latest matter). */
  function sync(): void {
    syncRun();
    syncEntries();
    syncEmpty();
  }

  const frame = new FrameBatch(sync);
  const schedule = () => frame.schedule();
  model.on("change:run", schedule);
  model.on("change:entries", schedule);
  frame.flush();

  return () => {
    model.off("change:run", schedule);
    model.off("change:entries", schedule);
    frame.cancel();
    measureFrame.cancel();
    closeFull();
    visibility?.disconnect();
    disposeCards();
    replies.clear();
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
