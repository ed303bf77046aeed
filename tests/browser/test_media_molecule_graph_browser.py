"""The Molecule and Graph cards of RunMedia in a real JupyterLab + Chromium: a molecule logged
from SMILES is drawn in 2-D (an SVG image RDKit made in the kernel) with a link that downloads
exactly the logged file; a CNN's graph (Graph.from_torch) is drawn with one box per node, and
hovering a box shows that layer's class and parameter count."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, run_notebook, write_notebook

pytestmark = pytest.mark.browser
pytest.importorskip("rdkit", reason="the chem extra is not installed")

NOTEBOOK = "media_molecule_graph.ipynb"

CELLS = [
    """\
import json

import torch
from torch import nn

import weightslab_nb as wl


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = x + self.block(x)  # a residual branch: not a plain chain
        return self.head(torch.flatten(self.pool(x), 1))


run = wl.init(project="browser")
graph = wl.Graph.from_torch(SmallCNN())
caffeine = wl.Molecule.from_smiles("CN1C=NC2=C1C(=O)N(C(=O)N2C)C", caption="caffeine")
wl.log({"chem/caffeine": caffeine, "model/graph": graph}, step=0)
path = run.recent("chem/caffeine")[-1][1]["path"]
with open("expected.json", "w") as f:
    json.dump({"file": path.rsplit("/", 1)[-1], "text": (run.dir / path).read_text(),
               "nodes": [n.id for n in graph.nodes]}, f)""",
    "wl.RunMedia()",
]




def test_a_molecule_drawing_with_its_file_and_a_model_graph_with_details_on_hover(
        lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    run_notebook(page, base, token, NOTEBOOK)
    expected = json.loads((root / "expected.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    panel = page.locator(".wl-media").first

    # 1. the molecule: a decoded 2-D drawing, and a link that downloads the logged file
    molecule = panel.locator(".wl-media-card[data-key='chem/caffeine']")
    molecule.scroll_into_view_if_needed()
    img = molecule.locator("img.wl-mol-img")
    expect(img).to_have_count(1, timeout=30_000)
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(),
                           timeout=20_000)
    expect(molecule.locator(".wl-mol-caption")).to_have_text("caffeine")
    expect(molecule.locator(".wl-mol-facts")).to_contain_text("pdb · 24 atoms · C8H10N4O2")
    link = molecule.locator("a.wl-mol-download")
    expect(link).to_have_attribute("download", expected["file"])
    expect(link).to_have_text("download .pdb")
    downloaded = link.evaluate("a => fetch(a.href).then(r => r.text())")
    assert downloaded == expected["text"]  # the very file that was logged
    molecule.screenshot(path=str(ARTIFACTS / "media-molecule.png"))

    # 2. the graph: one box per node, details of a layer on hover
    card = panel.locator(".wl-media-card[data-key='model/graph']")
    card.scroll_into_view_if_needed()
    nodes = card.locator("svg.wl-graph-svg g.wl-graph-node")
    expect(nodes).to_have_count(len(expected["nodes"]), timeout=30_000)
    ids = nodes.evaluate_all("gs => gs.map(g => g.dataset.id)")
    assert sorted(ids) == sorted(expected["nodes"])
    assert card.locator("path.wl-graph-edge").count() >= len(expected["nodes"]) - 1
    tip = card.locator(".wl-graph-tip")
    head = card.locator("g.wl-graph-node[data-id='head']")
    head.scroll_into_view_if_needed()  # the last layer, below the card's fold
    head.hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("class: Linear")
    expect(tip).to_contain_text("parameters: 90")
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    stem = card.locator("g.wl-graph-node[data-id='stem']")
    stem.scroll_into_view_if_needed()
    stem.hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("class: Conv2d")
    expect(tip).to_contain_text("parameters: 80")
    expect(tip).to_contain_text("weight: [8, 1, 3, 3]")
    card.screenshot(path=str(ARTIFACTS / "media-graph.png"))
    # zoom in, then fit the card's width again
    picture = card.locator("svg.wl-graph-svg")
    fitted = picture.bounding_box()["width"]
    card.get_by_role("button", name="Zoom in (ctrl + wheel)").click()
    assert picture.bounding_box()["width"] == pytest.approx(fitted * 1.25, abs=2)
    card.get_by_role("button", name="Fit the width of the card").click()
    assert picture.bounding_box()["width"] == pytest.approx(fitted, abs=1)
    assert page.errors == [], page.errors
