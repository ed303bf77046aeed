"""The RunMedia card of a Graph: node and edge counts at once, the graph's JSON (nodes with
their names, classes and parameter counts; edges as id pairs) with the media request."""

from __future__ import annotations

import json

from torch import nn

import weightslab_nb as wl
from tests.panel_capture import ask
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)


def small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 10))


def test_a_model_graph_card_has_its_counts_and_sends_its_nodes_and_edges(session, panel):
    widget, cap = panel
    run = wl.init(project="cards")
    graph = wl.Graph.from_torch(small_cnn())
    wl.log({"model/graph": graph}, step=0)
    assert widget.flush()
    entry = next(e for e in widget.entries if e["key"] == "model/graph")
    summary = entry["value"]
    assert entry["kind"] == "graph"
    assert summary["format"] == "torch-fx"
    assert (summary["nodes"], summary["edges"]) == (9, 8)  # input, 7 layers, output: a chain
    reply, buffers = ask(widget, cap, 1, type="media", key="model/graph", step=0)
    assert reply["ok"] and reply["kind"] == "graph" and reply["count"] == 1
    assert reply["items"][0]["mime"] == "application/json"
    assert buffers[0] == (run.dir / summary["path"]).read_bytes()
    content = json.loads(buffers[0])
    assert content == graph.to_dict()
    conv = next(n for n in content["nodes"] if n["name"] == "0")
    assert conv["class_name"] == "Conv2d" and conv["num_parameters"] == 8 * 9 + 8
    assert [content["nodes"][0]["id"], "_0"] in content["edges"]  # the input feeds layer 0


def test_a_hand_built_graph_card(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    graph = wl.Graph(format="custom")
    a = graph.add_node(id="a", name="input", class_name="Input")
    b = graph.add_node(id="b", name="dense", class_name="Dense", num_parameters=40)
    graph.add_edge(a, b)
    wl.log({"g": graph}, step=2)
    assert widget.flush()
    assert next(e for e in widget.entries if e["key"] == "g")["value"]["nodes"] == 2
    reply, buffers = ask(widget, cap, 2, type="media", key="g", step=2)
    assert reply["ok"] and json.loads(buffers[0])["edges"] == [["a", "b"]]
