"""A watched loader shuffles repeatably the ways PyTorch users make a DataLoader repeatable:
``seed=``, ``torch.manual_seed`` before iterating, or a ``generator=``."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from weightslab_nb.errors import InvalidTypeError

DATA = TensorDataset(torch.arange(40.0)[:, None], torch.zeros(40, dtype=torch.long))


def _orders(loader, passes=2):
    return [[int(i) for _, _, ids in loader for i in ids] for _ in range(passes)]


def _loader(session, name, **kwargs):
    return session.watch_or_edit(DATA, flag="data", loader_name=name, batch_size=8,
                                 shuffle=True, **kwargs)


def test_torch_manual_seed_makes_the_order_repeatable(session):
    first, second, other = (_loader(session, f"l{i}_loader") for i in range(3))
    torch.manual_seed(0)
    a = _orders(first)
    torch.manual_seed(0)
    b = _orders(second)
    torch.manual_seed(1)
    c = _orders(other)
    assert a == b and a != c
    assert a[0] != a[1] and sorted(a[0]) == list(range(40))   # a new order every pass


def test_a_generator_makes_the_order_repeatable(session):
    a = _orders(_loader(session, "a_loader", generator=torch.Generator().manual_seed(3)))
    torch.manual_seed(123)   # the global generator plays no part then
    b = _orders(_loader(session, "b_loader", generator=torch.Generator().manual_seed(3)))
    c = _orders(_loader(session, "c_loader", generator=torch.Generator().manual_seed(4)))
    assert a == b and a != c


def test_a_watched_dataloader_keeps_its_generator(session):
    plain = DataLoader(DATA, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(5))
    a = _orders(session.watch_or_edit(plain, flag="data", loader_name="a_loader"))
    again = DataLoader(DATA, batch_size=8, shuffle=True,
                       generator=torch.Generator().manual_seed(5))
    b = _orders(session.watch_or_edit(again, flag="data", loader_name="b_loader"))
    assert a == b


def test_seed_wins_over_torch(session):
    torch.manual_seed(0)
    a = _orders(_loader(session, "a_loader", seed=7))
    torch.manual_seed(1)
    b = _orders(_loader(session, "b_loader", seed=7))
    assert a == b


@pytest.mark.parametrize("generator", [3, "g", object()])
def test_generator_must_be_a_torch_generator(session, generator):
    with pytest.raises(InvalidTypeError, match="generator: expected a torch.Generator"):
        _loader(session, "a_loader", generator=generator)
    assert "a_loader" not in session.registry.all("data")
