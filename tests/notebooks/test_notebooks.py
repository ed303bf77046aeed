"""Checks on the tutorial notebooks as stored (nbval executes them: see README, Development).

Every notebook under ``notebooks/`` must be valid nbformat 4, stored without outputs, and
written the way nbval can run it unattended: no bare sleeps, one torch thread, and a last code
cell that stops the training it started.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request) -> tuple[Path, dict]:
    return request.param, json.loads(request.param.read_text(encoding="utf-8"))


def _code(nb: dict) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


def test_valid_nbformat(notebook):
    nbformat = pytest.importorskip("nbformat")
    path, _ = notebook
    nbformat.validate(nbformat.read(path, as_version=4))


def test_stored_without_outputs(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{path.name}: strip outputs before committing"


def test_written_for_unattended_runs(notebook):
    path, nb = notebook
    code = _code(nb)
    source = "\n".join(code)
    assert "time.sleep(" not in source, f"{path.name}: wait on a condition with a timeout"
    assert "torch.set_num_threads(1)" in source
    if "start_training(" in source:
        assert ".stop(" in code[-1], f"{path.name}: the last code cell must stop training"
    for i, cell in enumerate(code):
        compile(cell, f"{path.name}[{i}]", "exec")
