"""Graph, Node and Edge: built by hand or from a torch module (traced with torch.fx, or the
module tree when tracing fails), stored as JSON and rebuilt by from_json."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.tracking.media import Edge, Graph, Node


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class Gated(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.small = nn.Linear(4, 4)
        self.block = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU())

    def forward(self, x):
        if x.sum() > 0:
            return self.small(x)
        return self.block(x)


def test_a_graph_built_by_hand():
    graph = Graph()
    a = graph.add_node(id="in", name="input", class_name="Input", size=4)
    b = graph.add_node(Node(name="dense", class_name="Linear", num_parameters=20,
                            parameters=[("weight", [4, 4]), ("bias", [4])], output_shape=[4]))
    edge = graph.add_edge(a, b)
    assert b.id == 1 and graph.nodes_by_id == {"in": a, 1: b} and graph.root is a
    assert tuple(edge) == (a, b) and graph.edges == [Edge(a, b)]
    assert Node(node=b) == b and Node(node=b) is not b
    assert graph.to_dict()["edges"] == [["in", 1]]


@pytest.mark.parametrize("build, error, words", [
    (lambda g: g.add_node(id=1.5), TypeError, "id: expected a str or int"),
    (lambda g: g.add_node(name=3), TypeError, "name: expected a str"),
    (lambda g: g.add_node(num_parameters=-1), ValueError, "num_parameters: expected >= 0"),
    (lambda g: g.add_node(is_output="yes"), TypeError, "is_output"),
    (lambda g: g.add_node(size={1, 2}), TypeError, "JSON-able"),
    (lambda g: [g.add_node(id="a"), g.add_node(id="a")], ValueError, "already has a node"),
    (lambda g: g.add_edge(g.add_node(), Node(id="stranger")), ValueError, "to_node: node "),
    (lambda g: g.add_edge("a", "b"), TypeError, "from_node: expected a Node"),
    (lambda g: g.add_node(node="a"), TypeError, "node: expected a Node"),
    (lambda g: Graph(format=""), TypeError, "format"),
])
def test_bad_nodes_and_edges_are_rejected_naming_the_argument(build, error, words):
    with pytest.raises(error, match=words):
        build(Graph())


def test_an_fx_traceable_model_gives_its_data_flow():
    graph = Graph.from_torch(MLP())
    assert graph.format == "torch-fx" and graph.loaded
    summary = {n.id: (n.class_name, n.num_parameters) for n in graph.nodes}
    assert summary == {"x": ("input", 0), "hidden": ("Linear", 4 * 8 + 8), "relu": ("relu", 0),
                       "out": ("Linear", 8 * 3 + 3), "output": ("output", 0)}
    assert graph.nodes_by_id["hidden"].parameters == [["weight", [8, 4]], ["bias", [8]]]
    assert graph.to_dict()["edges"] == [["x", "hidden"], ["hidden", "relu"], ["relu", "out"],
                                        ["out", "output"]]
    assert graph.nodes_by_id["output"].is_output


class LastStep(nn.Module):
    """An LSTM whose final states are unpacked and left unused (a common classifier)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1])


def test_results_nothing_uses_are_left_out_of_the_data_flow():
    graph = Graph.from_torch(LastStep())
    ids = [n.id for n in graph.nodes]
    # every node but the output feeds another one: no dead end for the unused h and c
    feeding = {e.from_node.id for e in graph.edges}
    assert [i for i in ids if i not in feeding] == ["output"]
    assert ids[:2] == ["x", "lstm"] and "head" in ids


def test_a_model_with_data_dependent_control_flow_falls_back_to_the_module_tree():
    graph = Graph.from_torch(Gated())
    assert graph.format == "torch-modules"
    summary = {n.id: (n.class_name, n.num_parameters) for n in graph.nodes}
    assert summary == {"model": ("Gated", 20 + 16), "small": ("Linear", 20),
                       "block": ("Sequential", 16), "block.0": ("Linear", 16),
                       "block.1": ("ReLU", 0)}
    assert graph.to_dict()["edges"] == [["model", "small"], ["model", "block"],
                                        ["block", "block.0"], ["block", "block.1"]]
    assert Graph.from_torch(MLP(), trace=False).format == "torch-modules"


def test_from_torch_needs_a_module():
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module"):
        Graph.from_torch(lambda x: x)


def test_a_graph_is_stored_as_json_and_read_back_by_the_api(session):
    graph = Graph.from_torch(MLP())
    run_dir, descriptor, back = log_and_read_back(session, "model/graph", graph)
    assert descriptor["_type"] == "graph-file"
    assert (descriptor["format"], descriptor["nodes"], descriptor["edges"]) == ("torch-fx", 5, 4)
    assert descriptor["path"].startswith("media/graph/model_graph_0_")
    assert json.loads((run_dir / descriptor["path"]).read_text()) == graph.to_dict()
    assert back == graph and back.loaded and back.nodes_by_id["out"].num_parameters == 27
    assert Graph.from_json(descriptor, run_dir) == graph


def test_equality_follows_nodes_and_edges():
    assert Graph.from_torch(MLP()) == Graph.from_torch(MLP())
    assert Graph.from_torch(MLP()) != Graph.from_torch(MLP(), trace=False)
    assert Graph.from_torch(MLP()) != Graph.from_torch(Gated())


def test_the_package_exports_the_classes():
    assert (wl.Graph, wl.Node, wl.Edge) == (Graph, Node, Edge)
