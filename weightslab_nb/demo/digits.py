"""Digits data set and a small MLP: the default workload of the tutorials, demo and benchmarks."""

from __future__ import annotations


def digits_dataset():
    """All 1,797 digits as a ``TensorDataset`` of ``[1, 8, 8]`` float images in [0, 1] and
    int64 labels 0-9 (``sklearn.datasets.load_digits``, bundled with scikit-learn)."""
    import torch
    from sklearn.datasets import load_digits
    from torch.utils.data import TensorDataset

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.int64)
    return TensorDataset(images, labels)


def digits_mlp(hidden: int = 64, seed: int = 0):
    """``Flatten -> Linear(64, hidden) -> ReLU -> Linear(hidden, 10)``, seeded."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_digits(loader, model, optimizer, loss_fn, epochs: int = 1, max_steps: int | None = None):
    """The ordinary loop over a watched loader: forward, per-sample loss, mean, backward, step.

    Returns the number of steps run. ``loss_fn`` must be a watched per-sample loss.
    """
    steps = 0
    for _ in range(epochs):
        for inputs, targets, ids in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets, batch_ids=ids)
            loss.mean().backward()
            optimizer.step()
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return steps
    return steps
