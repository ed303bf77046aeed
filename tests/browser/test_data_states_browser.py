"""Data states in the tag editor, in a real JupyterLab + Chromium: save the curation under a
name, see the state listed with its diff against the session once the session changes, apply
it with the button, and read back in the kernel that the discards are the state's and that the
session records the state it trains on."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "data_states.ipynb"

CELLS = [
    """\
import torch
from torch.utils.data import TensorDataset

import weightslab_nb as wl

torch.set_num_threads(1)
session = wl.current_session()
loader = wl.watch_or_edit(TensorDataset(torch.randn(200, 4), torch.arange(200) % 3),
                          flag="data", loader_name="train_loader", batch_size=16)
wl.discard_samples([1, 2, 3])
wl.tag_samples([4, 5], "blurry")
wl.TagEditor()""",
    """\
# once the state 'curated' is saved, undo its discards here (the panel's diff shows them);
# once a state is applied, report the session's discards and recorded state to applied.json
import json, pathlib, threading, time
import weightslab_nb.data_state as ds

def follow(path=pathlib.Path("applied.json")):
    while not ds.list_states(session) and not session.closed:
        time.sleep(0.1)
    session.discard_samples([1, 2, 3], discarded=False)
    while session.data_state is None and not session.closed:
        time.sleep(0.1)
    path.write_text(json.dumps({"discarded": session.get_discarded_samples(),
                                "state": session.data_state}))

threading.Thread(target=follow, daemon=True).start()""",
]


def test_save_list_diff_and_apply_a_data_state_from_the_tag_editor(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)

    tags = page.locator(".wl-tags").first
    expect(tags.locator(".wl-tags-states .wl-tags-empty")).to_have_text("none saved",
                                                                        timeout=60_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()

    tags.locator(".wl-tags-state-name").fill("../bad")
    tags.locator(".wl-tags-save-state").click()
    expect(tags.locator(".wl-tags-status")).to_contain_text("a state name is letters")

    tags.locator(".wl-tags-state-name").fill("curated")
    tags.locator(".wl-tags-save-state").click()
    expect(tags.locator(".wl-tags-status")).to_have_text(
        "saved data state 'curated': 200 samples, 3 discarded", timeout=10_000)
    row = tags.locator(".wl-tags-state[data-state='curated']")
    expect(row.locator(".wl-tags-count")).to_have_text("200 samples, 3 discarded")
    # the kernel restores 1, 2, 3 once the state exists: applying would discard them again
    expect(row.locator(".wl-tags-state-diff")).to_have_text("vs now: discards +3",
                                                            timeout=10_000)

    ARTIFACTS.mkdir(exist_ok=True)
    tags.scroll_into_view_if_needed()
    tags.screenshot(path=str(ARTIFACTS / "data-states-diff.png"))

    row.locator(".wl-tags-apply-state").click()
    expect(tags.locator(".wl-tags-status")).to_contain_text(
        "applied data state 'curated': 3 discarded, 0 restored", timeout=10_000)
    expect(row.locator(".wl-tags-state-diff")).to_have_text("vs now: same as now",
                                                            timeout=10_000)
    applied = root / "applied.json"
    for _ in range(100):
        if applied.exists() and applied.read_text():
            break
        page.wait_for_timeout(100)
    got = json.loads(applied.read_text())
    assert got["discarded"] == [1, 2, 3]
    assert got["state"]["name"] == "curated" and len(got["state"]["digest"]) == 64
    tags.screenshot(path=str(ARTIFACTS / "data-states-applied.png"))
    assert not page.errors, page.errors
