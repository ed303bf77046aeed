"""The RunMedia card of a Molecule: format, caption, size, atoms and formula at once; with the
media request a 2-D drawing made by RDKit (an SVG) and the molecule file itself to download;
without RDKit, or for a structure RDKit cannot or should not draw, the file and the reason."""

from __future__ import annotations

import io
import re
import sys
from pathlib import PurePosixPath

import pytest

import weightslab_nb as wl
from tests.panel_capture import ask, card
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)
from weightslab_nb.panels.media_cards.molecule import MAX_HEAVY_ATOMS, depiction

pytest.importorskip("rdkit", reason="the chem extra is not installed")

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
WATER_SDF = ("water\n  hand-written\n\n"
             "  3  2  0  0  0  0  0  0  0  0999 V2000\n"
             "    0.0000    0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
             "    0.9572    0.0000    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
             "   -0.2400    0.9266    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
             "  1  2  1  0\n  1  3  1  0\nM  END\n$$$$\n")


def chain_pdb(n: int, tag: str) -> str:
    """A chain of ``n`` carbon atoms 1.5 Å apart (bonded by distance), as a pdb file."""
    lines = [f"REMARK {tag}"]
    for i in range(n):
        lines.append(f"HETATM{i + 1:5d}  C{i % 100:<2d} UNL     1    {i * 1.5:8.3f}   0.000   "
                     f"0.000  1.00  0.00           C")
    return "\n".join(lines) + "\nEND\n"


def test_a_molecule_card_shows_its_facts_then_a_drawing_and_the_file(session, panel):
    widget, cap = panel
    run = wl.init(project="cards")
    wl.log({"chem/caffeine": wl.Molecule.from_smiles(CAFFEINE, caption="caffeine")}, step=3)
    assert widget.flush()
    entry = card(widget, "chem/caffeine")
    summary = entry["value"]
    assert entry["kind"] == "molecule" and entry["step"] == 3
    assert (summary["format"], summary["caption"]) == ("pdb", "caffeine")
    assert summary["atoms"] == 24 and summary["formula"] == "C8H10N4O2"  # with its hydrogens
    stored = (run.dir / summary["path"]).read_bytes()
    assert summary["size"] == len(stored)

    reply, buffers = ask(widget, cap, 1, type="media", key="chem/caffeine", step=3)
    assert reply["ok"] and reply["kind"] == "molecule" and reply["count"] == 2
    drawing, file = reply["items"]
    assert drawing["mime"] == "image/svg+xml" and drawing["role"] == "depiction"
    assert drawing["caption"] == "caffeine"
    svg = buffers[0]
    assert svg.lstrip().startswith((b"<?xml", b"<svg")) and b"</svg>" in svg
    drawn = set(re.findall(rb"atom-(\d+)", svg))  # bonds and labels name their atoms
    assert len(drawn) == 14  # the heavy atoms (hydrogens implicit)
    assert svg.count(b"fill='#0000FF'") >= 4 and svg.count(b"fill='#FF0000'") >= 2  # N and O
    assert b"<rect" not in svg.split(b"END OF HEADER")[1][:400]  # no background: theme-neutral
    assert file["role"] == "file" and file["mime"] == "text/plain" and file["note"] is None
    assert file["name"] == PurePosixPath(summary["path"]).name and file["name"].endswith(".pdb")
    assert buffers[1] == stored


def test_each_format_rdkit_reads_is_drawn_and_others_say_why(session, panel, tmp_path):
    widget, cap = panel
    wl.init(project="cards")
    cif = ("data_HOH\nloop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n"
           "HETATM 1 O\nHETATM 2 H\nHETATM 3 H\n")
    wl.log({"sdf": wl.Molecule(io.StringIO(WATER_SDF), file_type="sdf"),
            "cif": wl.Molecule(io.StringIO(cif), file_type="cif")}, step=0)
    assert widget.flush()
    assert card(widget, "sdf")["value"]["formula"] == "H2O"
    reply, buffers = ask(widget, cap, 2, type="media", key="sdf", step=0)
    assert [i["mime"] for i in reply["items"]] == ["image/svg+xml", "text/plain"]
    assert buffers[1] == WATER_SDF.encode()
    reply, buffers = ask(widget, cap, 3, type="media", key="cif", step=0)
    assert [i["role"] for i in reply["items"]] == ["file"]
    assert "no 2D drawing of cif files" in reply["items"][0]["note"]
    assert buffers == [cif.encode()]


def test_a_structure_too_large_to_draw_still_offers_its_file(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    text = chain_pdb(MAX_HEAVY_ATOMS + 20, "large")
    wl.log({"protein": wl.Molecule(io.StringIO(text), file_type="pdb")}, step=0)
    assert widget.flush()
    assert card(widget, "protein")["value"]["atoms"] == MAX_HEAVY_ATOMS + 20
    reply, buffers = ask(widget, cap, 4, type="media", key="protein", step=0)
    (file,) = reply["items"]
    assert f"{MAX_HEAVY_ATOMS + 20} heavy atoms: too large" in file["note"]
    assert buffers == [text.encode()]


def test_without_rdkit_the_card_offers_the_file_and_names_the_extra(session, panel,
                                                                    monkeypatch):
    widget, cap = panel
    wl.init(project="cards")
    text = chain_pdb(6, "no rdkit")
    wl.log({"hexane": wl.Molecule(io.StringIO(text), file_type="pdb", caption="chain")}, step=0)
    assert widget.flush()
    for name in [m for m in sys.modules if m == "rdkit" or m.startswith("rdkit.")]:
        monkeypatch.setitem(sys.modules, name, None)  # `import rdkit` now fails
    reply, buffers = ask(widget, cap, 5, type="media", key="hexane", step=0)
    assert reply["ok"] and reply["count"] == 1
    (file,) = reply["items"]
    assert file["note"] == "install weightslab-nb[chem] for a 2D drawing"
    assert file["caption"] == "chain" and file["name"].endswith(".pdb")
    assert buffers == [text.encode()]
    monkeypatch.undo()  # RDKit back: the same file is drawn
    reply, buffers = ask(widget, cap, 6, type="media", key="hexane", step=0)
    assert [i["role"] for i in reply["items"]] == ["depiction", "file"]


def test_a_drawing_is_made_once_per_file_content():
    text = chain_pdb(5, "cached").encode()
    first = depiction(text, "pdb", "sha-of-the-chain")
    assert first[0] is not None and first[1] is None
    assert depiction(text, "pdb", "sha-of-the-chain")[0] is first[0]  # from the cache
