// The pure part of the Graph card: the logged graph's JSON checked and capped, node sizes,
// colours and tooltip text, and the layered layout (dagre, top to bottom). No DOM here.

import { graphlib, layout } from "@dagrejs/dagre";
import { formatCount } from "../lib/format";

/** Nodes laid out at most: a larger graph shows its first MAX_NODES and says so. */
export const MAX_NODES = 500;
/** Classes coloured apart (the CSS has one colour per index, for each theme). */
export const CLASS_COLOURS = 10;
const NAME_CHARS = 28; // a longer name is cut with "…" on its box (the tooltip has it whole)
const NODE_H = 36;
const NODE_H_ONE_LINE = 24;

export interface GraphNode {
  id: string;
  name: string;
  cls: string | null;
  params: number | null;
  size: unknown;
  outputShape: unknown;
  parameters: [string, unknown][];
  isOutput: boolean;
}

export interface GraphData {
  format: string | null;
  nodes: GraphNode[];
  edges: [string, string][]; // between shown nodes, no duplicates, no self loops
  totalNodes: number;
  totalEdges: number;
}

export interface PlacedNode { node: GraphNode; x: number; y: number; width: number; height: number }
export interface PlacedEdge { from: string; to: string; points: { x: number; y: number }[] }
export interface GraphLayout { nodes: PlacedNode[]; edges: PlacedEdge[]; width: number; height: number }

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" && Number.isFinite(v) ? String(v) : null);

/** The graph of a Graph's JSON (`{"format", "nodes": [...], "edges": [[from, to], ...]}`), its
 * first `maxNodes` nodes and the edges between them; throws on JSON that is not a graph. */
export function parseGraph(content: unknown, maxNodes = MAX_NODES): GraphData {
  if (!content || typeof content !== "object" || Array.isArray(content)) throw new Error("not a graph: expected an object");
  const c = content as Record<string, unknown>;
  if (!Array.isArray(c.nodes) || !Array.isArray(c.edges)) throw new Error("not a graph: expected nodes and edges lists");
  const nodes: GraphNode[] = [];
  const seen = new Set<string>();
  for (const raw of c.nodes) {
    if (nodes.length >= maxNodes) break;
    if (!raw || typeof raw !== "object") continue;
    const n = raw as Record<string, unknown>;
    const id = str(n.id);
    if (id === null || seen.has(id)) continue;
    seen.add(id);
    const params = typeof n.num_parameters === "number" && Number.isFinite(n.num_parameters) ? n.num_parameters : null;
    nodes.push({
      id,
      name: str(n.name) ?? id,
      cls: str(n.class_name),
      params,
      size: n.size ?? null,
      outputShape: n.output_shape ?? null,
      parameters: Array.isArray(n.parameters)
        ? n.parameters.filter((p): p is unknown[] => Array.isArray(p) && p.length === 2).map((p) => [String(p[0]), p[1]])
        : [],
      isOutput: n.is_output === true,
    });
  }
  const edges: [string, string][] = [];
  const pairs = new Set<string>();
  for (const e of c.edges) {
    if (!Array.isArray(e) || e.length !== 2) continue;
    const from = str(e[0]), to = str(e[1]);
    if (from === null || to === null || from === to || !seen.has(from) || !seen.has(to)) continue;
    const pair = JSON.stringify([from, to]);
    if (pairs.has(pair)) continue;
    pairs.add(pair);
    edges.push([from, to]);
  }
  return { format: str(c.format), nodes, edges, totalNodes: c.nodes.length, totalEdges: c.edges.length };
}

/** The name as written on a node's box (cut to NAME_CHARS characters). */
export function shortName(name: string): string {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}

/** The second line of a node's box: its class, unless the name says it already ("relu"). */
export function subtitle(n: GraphNode): string | null {
  return n.cls && n.cls !== n.name ? shortName(n.cls) : null;
}

/** A node box's size: wide enough for its name (11 px bold) and class (10 px). */
export function nodeSize(n: GraphNode): { width: number; height: number } {
  const sub = subtitle(n);
  const text = Math.max(shortName(n.name).length * 7, (sub?.length ?? 0) * 6);
  return { width: Math.round(Math.min(220, Math.max(56, text + 20))), height: sub ? NODE_H : NODE_H_ONE_LINE };
}

/** A stable colour index (0..CLASS_COLOURS-1) per class name; -1 for a node without one. */
export function classColour(cls: string | null): number {
  if (!cls) return -1;
  let hash = 0;
  for (let i = 0; i < cls.length; i++) hash = (hash * 31 + cls.charCodeAt(i)) >>> 0;
  return hash % CLASS_COLOURS;
}

function shape(v: unknown): string {
  return Array.isArray(v) ? `[${v.map((x) => (Array.isArray(x) ? shape(x) : String(x))).join(", ")}]` : String(v);
}

/** What hovering a node shows: its name, then "label: value" lines (class, parameters,
 * size, output shape, each own parameter's shape: at most 6 listed). */
export function tooltipLines(n: GraphNode): string[] {
  const lines = [n.name];
  if (n.cls) lines.push(`class: ${n.cls}`);
  if (n.params !== null) lines.push(`parameters: ${n.params.toLocaleString("en-US")}`);
  if (n.size !== null) lines.push(`size: ${shape(n.size)}`);
  if (n.outputShape !== null) lines.push(`output shape: ${shape(n.outputShape)}`);
  for (const [name, s] of n.parameters.slice(0, 6)) lines.push(`${name}: ${shape(s)}`);
  if (n.parameters.length > 6) lines.push(`… ${n.parameters.length - 6} more parameters`);
  if (n.isOutput) lines.push("output of the graph");
  return lines;
}

/** What a Graph's format means for its edges (Graph.from_torch's two kinds). */
export function formatLabel(format: string | null): string {
  if (format === "torch-fx") return "data flow (torch.fx)";
  if (format === "torch-modules") return "module tree (torch.fx could not trace it): edges go from a module to its parts";
  return format ?? "graph";
}

/** The line under the drawing: the format, node and edge counts, and what was left out. */
export function graphFacts(g: GraphData): string {
  const parts = [
    formatLabel(g.format),
    `${formatCount(g.totalNodes)} node${g.totalNodes === 1 ? "" : "s"}`,
    `${formatCount(g.totalEdges)} edge${g.totalEdges === 1 ? "" : "s"}`,
  ];
  if (g.nodes.length < g.totalNodes) parts.push(`showing ${formatCount(g.nodes.length)} of ${formatCount(g.totalNodes)} nodes`);
  return parts.join(" · ");
}

/** Lay the graph out in layers, top to bottom (dagre); coordinates are node centres. */
export function layoutGraph(g: GraphData): GraphLayout {
  const dg = new graphlib.Graph();
  dg.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 26, edgesep: 8, marginx: 8, marginy: 8 });
  dg.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) dg.setNode(n.id, nodeSize(n));
  for (const [from, to] of g.edges) dg.setEdge(from, to);
  layout(dg);
  const nodes = g.nodes.map((node) => {
    const p = dg.node(node.id) as { x: number; y: number; width: number; height: number };
    return { node, x: p.x, y: p.y, width: p.width, height: p.height };
  });
  const edges = g.edges.map(([from, to]) => ({ from, to, points: (dg.edge(from, to) as { points?: { x: number; y: number }[] }).points ?? [] }));
  const graph = dg.graph() as { width?: number; height?: number };
  return { nodes, edges, width: Math.ceil(graph.width ?? 0), height: Math.ceil(graph.height ?? 0) };
}

/** An SVG path through an edge's points: straight ends, rounded through the middle points. */
export function edgePath(points: readonly { x: number; y: number }[]): string {
  if (points.length === 0) return "";
  const f = (v: number) => Math.round(v * 10) / 10;
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
    d += ` Q${f(points[i].x)},${f(points[i].y)} ${f(mid.x)},${f(mid.y)}`;
  }
  const last = points[points.length - 1];
  return `${d} L${f(last.x)},${f(last.y)}`;
}

type Box = { left: number; top: number; right: number; bottom: number };

/** Where a `tip`-sized tooltip goes in an `area` for a node at `node` (all in the area's
 * pixels): beside the node (right, else left) so it hides no neighbour above or below; below
 * or above it when the sides are too narrow; always inside the area where it fits. */
export function tipPlace(node: Box, tip: { width: number; height: number }, area: { width: number; height: number }, gap = 6): { left: number; top: number } {
  const clampTop = (t: number) => Math.max(0, Math.min(t, area.height - tip.height));
  const clampLeft = (l: number) => Math.max(0, Math.min(l, area.width - tip.width));
  if (node.right + gap + tip.width <= area.width) return { left: node.right + gap, top: clampTop(node.top) };
  if (node.left - gap - tip.width >= 0) return { left: node.left - gap - tip.width, top: clampTop(node.top) };
  const below = node.bottom + gap;
  const top = below + tip.height > area.height && node.top - gap - tip.height >= 0 ? node.top - gap - tip.height : below;
  return { left: clampLeft(node.left), top };
}
