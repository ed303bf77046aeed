"""Loss shapes during real training: digits with 20 % of the labels flipped, an MLP that
memorises them, the auto-tagger running beside the training thread. The ``likely_mislabel``
tag must find the flipped labels, and every sample must carry a shape.

Waits use the training handle, never sleeps.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.loss_shapes import (LOSS_SHAPE_LABELS, classify_loss_shapes,
                                       tag_loss_shapes_now)
from weightslab_nb.signals import signal_registry

WAIT = 120.0
EPOCHS = 30


def flipped_digits(digits, rate: float, seed: int = 0):
    """The digits with ``rate`` of the labels moved to another class (symmetric noise)."""
    images, labels = digits.tensors
    rng = np.random.default_rng(seed)
    n = len(labels)
    idx = rng.choice(n, round(rate * n), replace=False)
    noisy = labels.clone()
    noisy[idx] = torch.as_tensor((labels[idx].numpy() + rng.integers(1, 10, len(idx))) % 10)
    return TensorDataset(images, noisy), set(idx.tolist())


def test_likely_mislabel_finds_flipped_labels_while_training_runs(session, digits):
    data, flipped = flipped_digits(digits, 0.2)
    loader = session.watch_or_edit(data, flag="data", loader_name="train_loader",
                                   batch_size=64, shuffle=True, seed=0)
    model = session.watch_or_edit(digits_mlp(hidden=256), flag="model", device="cpu")
    opt = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=5e-3), flag="optimizer")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    sig = wl.auto_tag_loss_shapes("train-loss")      # the default: checked every 25 batches

    handle = wl.start_training(train_digits, loader, model, opt, loss, epochs=EPOCHS)
    assert handle.wait(WAIT) and handle.error is None, handle
    session.drain()
    auto = session.dataframe["tag:loss_shape"]
    assert auto.notna().all()                         # every sample, not just fired batches
    # checked every 25 batches, run once a pass's worth of values (29 batches) came in: every
    # 50 batches here, never more often than once per pass
    assert EPOCHS // 2 <= sig.fn.classifications <= EPOCHS
    assert signal_registry(session).errors == []

    tag_loss_shapes_now(session, "train-loss")        # include the last values
    df = session.dataframe
    tags = df["tag:loss_shape"].astype(str)
    ids = df.index.get_level_values("sample_id").tolist()
    trajectories = {}
    for sid, _, value, _ in session.query_signal_history("train-loss"):
        trajectories.setdefault(sid, []).append(value)
    assert {len(v) for v in trajectories.values()} == {EPOCHS}
    assert tags.tolist() == classify_loss_shapes([trajectories[s] for s in ids])
    assert set(tags) <= set(LOSS_SHAPE_LABELS)

    suspects = set(wl.get_samples_by_tag("loss_shape=likely_mislabel"))
    precision = len(suspects & flipped) / len(suspects)
    recall = len(suspects & flipped) / len(flipped)
    assert precision >= 0.9 and recall >= 0.5, (precision, recall)
    # the model learned the clean samples: their loss fell, it did not jitter
    clean = tags[[s not in flipped for s in ids]]
    assert (clean == "monotonic").mean() > 0.6 and (clean == "high_variance").mean() < 0.05
