"""Finding flipped labels in the real digits data set with wl.suspects.

20 % of a stratified 70 % training split get a wrong label (seeded); an MLP wide and fast
enough to memorise them trains through a watched loader and loss. The suspects ranking and flag
set must find the flipped labels, suggest their true class, and keep doing so when training
goes on long enough for the network to memorise the wrong labels (where the latest loss stops
telling them apart).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import TensorDataset

RATE = 0.2


@pytest.fixture
def noisy_run(session):
    digits = load_digits()
    x = digits.images.reshape(-1, 64).astype(np.float32) / 16
    x_train, _, y_train, _ = train_test_split(x, digits.target, test_size=0.3,
                                              stratify=digits.target, random_state=0)
    rng = np.random.default_rng(0)
    flipped = rng.choice(len(y_train), round(RATE * len(y_train)), replace=False)
    given = y_train.copy()
    given[flipped] = (y_train[flipped] + rng.integers(1, 10, len(flipped))) % 10
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loader = session.watch_or_edit(TensorDataset(torch.tensor(x_train), torch.tensor(given)),
                                   flag="data", loader_name="train_loader", batch_size=64,
                                   shuffle=True)
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="train-loss", per_sample=True)

    def train(epochs):
        for _ in range(epochs):
            for inputs, labels, ids in loader:
                optimizer.zero_grad()
                loss_fn(model(inputs), labels, batch_ids=ids).mean().backward()
                optimizer.step()

    is_flipped = np.zeros(len(given), dtype=bool)
    is_flipped[flipped] = True
    return session, train, is_flipped, y_train


def _quality(frame, is_flipped):
    ids = frame["sample_id"].to_numpy().astype(int)
    truth = is_flipped[ids]
    k = int(is_flipped.sum())
    flags = frame["flagged"].to_numpy()
    return {"auroc": roc_auc_score(truth, frame["score"]), "p@k": truth[:k].mean(),
            "precision": truth[flags].mean(), "recall": truth[flags].sum() / k}


def _latest_loss_precision(session, is_flipped):
    latest = session.table.signals["signals//train-loss"][: len(is_flipped)]
    k = int(is_flipped.sum())
    return is_flipped[np.argsort(-latest, kind="stable")[:k]].mean()


def test_the_flipped_labels_are_found_and_their_class_suggested(noisy_run):
    session, train, is_flipped, true_labels = noisy_run
    train(30)
    frame = session.suspects()
    quality = _quality(frame, is_flipped)
    assert quality["auroc"] >= 0.99, quality
    assert quality["p@k"] >= 0.93, quality
    assert quality["precision"] >= 0.9 and quality["recall"] >= 0.8, quality
    found = frame[frame.flagged & is_flipped[frame["sample_id"].to_numpy().astype(int)]]
    suggested_right = (found["suggested_class"].to_numpy()
                       == true_labels[found["sample_id"].to_numpy().astype(int)]).mean()
    assert suggested_right >= 0.9
    assert (found["label"].to_numpy() != found["suggested_class"].to_numpy()).all()


def test_the_ranking_holds_when_the_network_memorises_the_wrong_labels(noisy_run):
    session, train, is_flipped, _ = noisy_run
    train(30)
    early = _quality(session.suspects(), is_flipped)
    early_latest = _latest_loss_precision(session, is_flipped)
    train(90)   # 120 epochs: most wrong labels are now fitted
    late = _quality(session.suspects(), is_flipped)
    late_latest = _latest_loss_precision(session, is_flipped)
    assert late_latest < early_latest - 0.15        # the latest loss stopped telling them apart
    assert late["p@k"] >= early["p@k"] - 0.02, (early, late)
    assert late["precision"] >= 0.9 and late["recall"] >= 0.85, late
