// SweepView view: the trials of a sweep as a live table (parameters, metric, state, duration;
// best row marked) and an SVG scatter of the metric against one parameter chosen in a select.
// Clicking a row asks Python for the trial's run and shows it in the status line.
// Protocol: weightslab_nb/panels/sweeps.py.

import "./lib/base.css";
import "./styles/sweeps.css";
import { h, setOptions, svg } from "./lib/dom";
import type { RenderProps } from "./lib/model";
import { Channel, errorBar } from "./lib/panel";
import { durationText, paramText, scatterOf, trialsOf, wantsLogX, type TrialRow } from "./lib/sweeps";

const W = 420;
const H = 220;
const PAD = { l: 52, r: 12, t: 10, b: 34 };

function metricText(r: TrialRow): string {
  if (r.value === null) return "–";
  const text = paramText(r.value);
  return r.intermediate ? `${text}*` : text;
}

function render({ model, el }: RenderProps) {
  const errors = errorBar(model);
  const title = h("span", { class: "wl-title", text: "Sweep" });
  const summary = h("span", { class: "wl-sweeps-summary wl-muted" });
  const head = h("thead");
  const body = h("tbody");
  const table = h("table", { class: "wl-sweeps-table" }, head, body);
  const empty = h("div", { class: "wl-sweeps-empty wl-muted", text: "No trials yet: start an agent with wl.agent(sweep_id, train)." });
  const select = h("select", { class: "wl-sweeps-param", "aria-label": "parameter of the x axis" });
  const plot = svg("svg", { class: "wl-sweeps-scatter", viewBox: `0 0 ${W} ${H}`, width: String(W), height: String(H), role: "img" });
  const note = h("div", { class: "wl-sweeps-note wl-muted", text: "* last reported value (trial running or pruned)" });
  const status = h("span", { class: "wl-status wl-sweeps-status" });
  const root = h("div", { class: "wl-panel wl-sweeps", "data-trials": "0" },
    errors.el,
    h("div", { class: "wl-row" }, title, summary),
    h("div", { class: "wl-sweeps-body" },
      h("div", { class: "wl-sweeps-table-wrap" }, table, empty, note),
      h("div", { class: "wl-sweeps-plot" },
        h("label", { class: "wl-sweeps-axis" }, h("span", { class: "wl-muted", text: "metric vs " }), select),
        plot)),
    h("div", { class: "wl-row" }, status));
  el.appendChild(root);

  const channel = new Channel(model, () => {});
  let selected: number | null = null;

  function params(): string[] {
    const p = model.get("parameters");
    return Array.isArray(p) ? p.map(String) : [];
  }

  function metric(): { name: string; goal: string } {
    const m = (model.get("metric") ?? {}) as Record<string, unknown>;
    return { name: String(m.name ?? ""), goal: String(m.goal ?? "minimize") };
  }

  function pick(r: TrialRow): void {
    selected = r.number;
    sync();
    status.textContent = `trial ${r.number}…`;
    channel.request("trial", { number: r.number }, (reply) => {
      if (reply.ok) {
        status.textContent = reply.run ? `trial ${r.number}: run ${reply.run} (${reply.run_dir})` : `trial ${r.number}: no run yet`;
        status.classList.remove("is-error");
      } else {
        status.textContent = String(reply.message ?? "refused");
        status.classList.add("is-error");
      }
    });
  }

  function drawTable(rows: TrialRow[], names: string[], best: number | null): void {
    const m = metric();
    const arrow = m.goal === "maximize" ? "↑" : "↓";
    head.replaceChildren(h("tr", {},
      h("th", { text: "#" }), h("th", { text: "state" }),
      ...names.map((n) => h("th", { text: n, title: n })),
      h("th", { text: m.name ? `${m.name} ${arrow}` : "metric", class: "wl-sweeps-metric" }),
      h("th", { text: "duration" }), h("th", { text: "run" })));
    body.replaceChildren(...rows.map((r) => {
      const tr = h("tr", {
        class: `wl-sweeps-row is-${r.state}${r.number === best ? " is-best" : ""}${r.number === selected ? " is-selected" : ""}`,
        "data-number": String(r.number), "data-state": r.state, tabindex: 0,
        title: r.number === best ? "best trial" : "",
        onclick: () => pick(r),
        onkeydown: (e: KeyboardEvent) => { if (e.key === "Enter") pick(r); },
      },
        h("td", { text: r.number === best ? `★ ${r.number}` : String(r.number) }),
        h("td", {}, h("span", { class: "wl-sweeps-state", text: r.state })),
        ...names.map((n) => h("td", { class: "wl-num", text: paramText(r.params[n]) })),
        h("td", { class: "wl-num wl-sweeps-metric", text: metricText(r) }),
        h("td", { class: "wl-num", text: durationText(r.duration) }),
        h("td", { class: "wl-sweeps-run", text: r.run || "–" }));
      return tr;
    }));
    empty.hidden = rows.length > 0;
    note.hidden = !rows.some((r) => r.intermediate);
  }

  function drawScatter(rows: TrialRow[], best: number | null): void {
    const param = select.value;
    const { points, categories } = scatterOf(rows, param);
    plot.replaceChildren();
    plot.dataset.points = String(points.length);
    const iw = W - PAD.l - PAD.r;
    const ih = H - PAD.t - PAD.b;
    plot.append(svg("rect", { x: String(PAD.l), y: String(PAD.t), width: String(iw), height: String(ih), class: "wl-sweeps-frame" }));
    const label = svg("text", { x: String(PAD.l + iw / 2), y: String(H - 4), "text-anchor": "middle", class: "wl-sweeps-label" });
    label.textContent = param || "no parameter";
    plot.append(label);
    if (points.length === 0) return;
    const log = categories === null && wantsLogX(points);
    const fx = (x: number) => (log ? Math.log10(x) : x);
    let x0 = Math.min(...points.map((p) => fx(p.x)));
    let x1 = Math.max(...points.map((p) => fx(p.x)));
    if (categories) { x0 = -0.5; x1 = categories.length - 0.5; }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    let y0 = Math.min(...points.map((p) => p.y));
    let y1 = Math.max(...points.map((p) => p.y));
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    const mx = categories ? 0 : (x1 - x0) * 0.05;
    const my = (y1 - y0) * 0.08;
    const [ax0, ax1, ay0, ay1] = [x0 - mx, x1 + mx, y0 - my, y1 + my];
    const px = (x: number) => PAD.l + ((fx(x) - ax0) / (ax1 - ax0)) * iw;
    const py = (y: number) => PAD.t + ih - ((y - ay0) / (ay1 - ay0)) * ih;
    const tick = (text: string, x: number, y: number, anchor: string) => {
      const t = svg("text", { x: String(x), y: String(y), "text-anchor": anchor, class: "wl-sweeps-tick" });
      t.textContent = text;
      plot.append(t);
    };
    tick(paramText(y1), PAD.l - 4, py(y1) + 4, "end");
    tick(paramText(y0), PAD.l - 4, py(y0) + 4, "end");
    if (categories) categories.forEach((c, i) => tick(c, px(i), PAD.t + ih + 14, "middle"));
    else {
      const lo = log ? 10 ** x0 : x0;
      const hi = log ? 10 ** x1 : x1;
      tick(paramText(lo), px(lo), PAD.t + ih + 14, "middle");
      tick(paramText(hi), px(hi), PAD.t + ih + 14, "middle");
    }
    for (const p of points) {
      const dot = svg("circle", {
        cx: String(px(p.x)), cy: String(py(p.y)), r: p.number === best ? "6" : "4",
        class: `wl-sweeps-dot is-${p.state}${p.number === best ? " is-best" : ""}`, "data-number": String(p.number),
      });
      const tip = svg("title");
      tip.textContent = `trial ${p.number}: ${param}=${p.label}, ${metric().name}=${paramText(p.y)}`;
      dot.append(tip);
      plot.append(dot);
    }
  }

  function sync(): void {
    const rows = trialsOf(model.get("trials"));
    const names = params();
    const bestRaw = model.get("best");
    const best = typeof bestRaw === "number" ? bestRaw : null;
    setOptions(select, names.map((n) => [n, n]));
    drawTable(rows, names, best);
    drawScatter(rows, best);
    const sw = (model.get("sweep") ?? {}) as Record<string, unknown>;
    title.textContent = `Sweep ${String(sw.name ?? "")}`;
    const done = rows.filter((r) => r.state !== "running" && r.state !== "queued").length;
    const running = rows.filter((r) => r.state === "running").length;
    const expected = typeof sw.expected === "number" ? ` of ${sw.expected}` : "";
    summary.textContent = `${String(sw.method ?? "")} · ${rows.length}${expected} trials · ${done} done · ${running} running`;
    root.dataset.trials = String(rows.length);
    root.dataset.best = best === null ? "" : String(best);
  }

  select.addEventListener("change", sync);
  const names = ["trials", "best", "parameters", "metric", "sweep"];
  for (const n of names) model.on(`change:${n}`, sync);
  sync();

  return () => {
    for (const n of names) model.off(`change:${n}`, sync);
    channel.dispose();
    errors.dispose();
  };
}

export default { render };
