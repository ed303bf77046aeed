"""Shared fixtures: an isolated Session per test, small real data sets, the real digits data.

Every test gets its own ``Session(root_log_dir=tmp_path / "run")``, made current for the
module-level ``wl.*`` functions and closed afterwards (which stops any training thread and the
history writer). Torch runs on one thread so the suite behaves the same on a 2-core CI runner.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from weightslab_nb.session import Session

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Keep torch on one intra-op thread (some code paths reset it)."""
    torch.set_num_threads(1)
    yield


@pytest.fixture
def make_session(tmp_path):
    """Create sessions under ``tmp_path`` (made current); all are closed after the test."""
    made: list[Session] = []

    def make(name: str = "run", **kwargs) -> Session:
        session = Session(root_log_dir=tmp_path / name, **kwargs)
        session.__enter__()
        made.append(session)
        return session

    yield make
    for session in reversed(made):
        session.__exit__(None, None, None)


@pytest.fixture
def session(make_session) -> Session:
    """An isolated, current Session writing under ``tmp_path / "run"``; closed after the test."""
    return make_session()


@pytest.fixture
def small_dataset() -> TensorDataset:
    """20 samples of 4 features with labels 0, 1, 2, 0, 1, 2, ..."""
    gen = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(20, 4, generator=gen), torch.arange(20) % 3)


@pytest.fixture(scope="session")
def digits():
    """The real digits data set (1,797 8x8 images), loaded once."""
    from weightslab_nb.demo import digits_dataset

    return digits_dataset()


@pytest.fixture
def digits_run(session, digits):
    """Make the tutorial setup on digits: ``digits_run(signal_name="train-loss")`` watches
    hyperparameters, an MLP, a shuffled loader (batch 64, seed 0), Adam and a per-sample loss,
    and returns them in a namespace (``session, hp, model, loader, opt, loss, digits``, and an
    empty ``yielded`` list for tests that record batches)."""
    from types import SimpleNamespace

    from torch import nn

    from weightslab_nb.demo import digits_mlp

    def make(signal_name: str = "train-loss", experiment_name: str = "it"):
        hp = session.watch_or_edit({"experiment_name": experiment_name,
                                    "optimizer": {"lr": 1e-2}}, flag="hp")
        model = session.watch_or_edit(digits_mlp(hidden=32), flag="model", device="cpu")
        loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                       batch_size=64, shuffle=True, seed=0)
        opt = session.watch_or_edit(torch.optim.Adam(model.parameters(),
                                                     lr=hp["optimizer"]["lr"]), flag="optimizer")
        loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                     signal_name=signal_name, per_sample=True)
        return SimpleNamespace(session=session, hp=hp, model=model, loader=loader, opt=opt,
                               loss=loss, digits=digits, yielded=[])

    return make
