import { describe, expect, it } from "vitest";
import {
  classColour, CLASS_COLOURS, edgePath, graphFacts, layoutGraph, nodeSize, parseGraph, shortName,
  subtitle, tipPlace, tooltipLines,
} from "./graph_model";

// what Graph.from_torch stores for a small CNN (torch.fx: input, layers, output)
const CNN = {
  format: "torch-fx",
  nodes: [
    { id: "input_1", name: "input_1", class_name: "input", num_parameters: 0 },
    { id: "_0", name: "0", class_name: "Conv2d", num_parameters: 80, parameters: [["weight", [8, 1, 3, 3]], ["bias", [8]]] },
    { id: "_1", name: "1", class_name: "ReLU", num_parameters: 0 },
    { id: "_2", name: "2", class_name: "Linear", num_parameters: 650, size: [64, 10], output_shape: [1, 10] },
    { id: "output", name: "output", class_name: "output", num_parameters: 0, is_output: true },
  ],
  edges: [["input_1", "_0"], ["_0", "_1"], ["_1", "_2"], ["_2", "output"]],
};

describe("parseGraph", () => {
  it("keeps nodes in order with their fields, and the edges between them", () => {
    const g = parseGraph(CNN);
    expect(g.nodes.map((n) => n.id)).toEqual(["input_1", "_0", "_1", "_2", "output"]);
    expect(g.nodes[1]).toMatchObject({ name: "0", cls: "Conv2d", params: 80 });
    expect(g.nodes[4].isOutput).toBe(true);
    expect(g.edges).toEqual(CNN.edges);
    expect([g.totalNodes, g.totalEdges, g.format]).toEqual([5, 4, "torch-fx"]);
  });

  it("caps the nodes laid out and drops edges to nodes left out, duplicates and self loops", () => {
    const g = parseGraph({ ...CNN, edges: [...CNN.edges, ["_0", "_1"], ["_1", "_1"], ["_2", "nowhere"]] }, 3);
    expect(g.nodes.map((n) => n.id)).toEqual(["input_1", "_0", "_1"]);
    expect(g.edges).toEqual([["input_1", "_0"], ["_0", "_1"]]);
    expect(graphFacts(g)).toBe("data flow (torch.fx) · 5 nodes · 7 edges · showing 3 of 5 nodes");
    expect(graphFacts({ ...g, format: "torch-modules" })).toMatch(/^module tree \(torch.fx could not trace it\)/);
  });

  it("takes numeric ids (hand-built graphs) and names nodes by their id by default", () => {
    const g = parseGraph({ format: "custom", nodes: [{ id: 0 }, { id: 1, name: "b" }], edges: [[0, 1]] });
    expect(g.nodes.map((n) => [n.id, n.name, n.cls])).toEqual([["0", "0", null], ["1", "b", null]]);
    expect(g.edges).toEqual([["0", "1"]]);
  });

  it("refuses JSON that is not a graph", () => {
    expect(() => parseGraph([1, 2])).toThrow("not a graph");
    expect(() => parseGraph({ nodes: [] })).toThrow("nodes and edges");
  });
});

describe("node details", () => {
  it("lists name, class, parameter count, sizes and each own parameter's shape", () => {
    const [, conv, , linear, out] = parseGraph(CNN).nodes;
    expect(tooltipLines(conv)).toEqual(["0", "class: Conv2d", "parameters: 80", "weight: [8, 1, 3, 3]", "bias: [8]"]);
    expect(tooltipLines(linear)).toEqual(["2", "class: Linear", "parameters: 650", "size: [64, 10]", "output shape: [1, 10]"]);
    expect(tooltipLines(out)).toContain("output of the graph");
  });

  it("cuts long names on the box, sizes boxes to their text, colours classes stably", () => {
    const long = "encoder.layers.11.attention.output.dense";
    expect(shortName(long)).toHaveLength(28);
    expect(shortName(long).endsWith("…")).toBe(true);
    const [input, conv] = parseGraph(CNN).nodes;
    expect(nodeSize(conv).width).toBeGreaterThanOrEqual(56);
    expect(nodeSize({ ...conv, name: long }).width).toBeGreaterThan(nodeSize(conv).width);
    expect(nodeSize({ ...input, cls: null }).height).toBeLessThan(nodeSize(input).height);
    expect(classColour("Conv2d")).toBe(classColour("Conv2d"));
    expect(classColour("Conv2d")).toBeGreaterThanOrEqual(0);
    expect(classColour("Conv2d")).toBeLessThan(CLASS_COLOURS);
    expect(classColour(null)).toBe(-1);
  });
});

describe("layoutGraph", () => {
  it("lays a chain out top to bottom, each edge from its source down to its target", () => {
    const layout = layoutGraph(parseGraph(CNN));
    const ys = layout.nodes.map((p) => p.y);
    expect(ys).toEqual([...ys].sort((a, b) => a - b));
    expect(new Set(ys).size).toBe(5);
    const at = new Map(layout.nodes.map((p) => [p.node.id, p]));
    for (const e of layout.edges) {
      const first = e.points[0], last = e.points[e.points.length - 1];
      expect(first.y).toBeGreaterThanOrEqual(at.get(e.from)!.y);
      expect(last.y).toBeLessThanOrEqual(at.get(e.to)!.y);
    }
    expect(layout.height).toBeGreaterThan(5 * 24);
    for (const p of layout.nodes) expect(p.x + p.width / 2).toBeLessThanOrEqual(layout.width);
  });

  it("lays out the 500 nodes of the cap (a wide tree) within seconds", () => {
    const nodes = Array.from({ length: 500 }, (_, i) => ({ id: i, name: `n${i}`, class_name: i % 3 ? "Linear" : "ReLU" }));
    const edges = nodes.slice(1).map((n) => [Math.floor((n.id - 1) / 3), n.id]);
    const t0 = performance.now();
    const layout = layoutGraph(parseGraph({ format: "tree", nodes, edges }));
    expect(layout.nodes).toHaveLength(500);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it("draws edges through their points", () => {
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 20 }])).toBe("M0,0 L10,20");
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 10 }, { x: 20, y: 30 }])).toBe("M0,0 Q10,10 15,20 L20,30");
    expect(edgePath([])).toBe("");
  });
});

describe("tipPlace", () => {
  const area = { width: 320, height: 400 };
  const tip = { width: 120, height: 80 };
  it("puts the details beside the node, right first, then left", () => {
    expect(tipPlace({ left: 100, top: 50, right: 160, bottom: 86 }, tip, area)).toEqual({ left: 166, top: 50 });
    expect(tipPlace({ left: 180, top: 50, right: 240, bottom: 86 }, tip, area)).toEqual({ left: 54, top: 50 });
  });
  it("goes below (or above, near the bottom) a node too wide for either side, inside the area", () => {
    expect(tipPlace({ left: 20, top: 50, right: 300, bottom: 86 }, tip, area)).toEqual({ left: 20, top: 92 });
    expect(tipPlace({ left: 20, top: 350, right: 300, bottom: 386 }, tip, area)).toEqual({ left: 20, top: 264 });
    expect(tipPlace({ left: 100, top: 380, right: 160, bottom: 396 }, tip, area).top).toBe(320);
  });
});

describe("subtitle", () => {
  it("shows the class under the name unless they are the same word", () => {
    const [input, conv] = parseGraph(CNN).nodes;
    expect(subtitle(conv)).toBe("Conv2d");
    expect(subtitle({ ...input, name: "relu", cls: "relu" })).toBeNull();
    expect(nodeSize({ ...input, name: "relu", cls: "relu" }).height).toBeLessThan(nodeSize(conv).height);
  });
});
