"""The wandb sweep config a user writes is checked before anything is created: a bad one is
refused with a message naming the key and what is accepted; a good one becomes the search
space Optuna draws from (real Optuna study, real SQLite in tmp_path)."""

from __future__ import annotations

import math
import sys

import pytest

import weightslab_nb as wl
from weightslab_nb.tracking.sweeps.config import parse_sweep_config

GOOD = {"method": "random", "metric": {"name": "loss"}, "parameters": {"lr": {"min": 0.001,
                                                                             "max": 0.1}}}


def with_(**changes):
    config = {**GOOD, **changes}
    return {k: v for k, v in config.items() if v is not None}


def params(**spec):
    return with_(parameters=spec)


BAD = [
    ("not a dict", [1, 2], TypeError, "sweep config: expected a dict"),
    ("unknown top key", with_(programm="train.py"), ValueError,
     "unknown key 'programm'; accepted: method, metric, parameters"),
    ("no method", with_(method=None), ValueError, "method: expected one of"),
    ("bad method", with_(method="hyperopt"), ValueError,
     r"method: expected one of \['grid', 'random', 'bayes'\], got 'hyperopt'"),
    ("no parameters", with_(parameters=None), ValueError, "parameters: required"),
    ("empty parameters", with_(parameters={}), ValueError, "parameters: expected at least one"),
    ("bayes without metric", with_(method="bayes", metric=None), ValueError,
     "metric: method 'bayes' needs a metric"),
    ("metric without name", with_(metric={"goal": "minimize"}), ValueError, "metric.name"),
    ("bad goal", with_(metric={"name": "loss", "goal": "lower"}), ValueError,
     r"metric.goal: expected one of \['minimize', 'maximize'\], got 'lower'"),
    ("unknown metric key", with_(metric={"name": "loss", "mode": "min"}), ValueError,
     "metric: unknown key 'mode'; accepted: name, goal, target"),
    ("unknown parameter key", params(lr={"min": 0.1, "max": 1, "step": 2}), ValueError,
     "parameters.lr: unknown key 'step'"),
    ("min above max", params(lr={"min": 1.0, "max": 0.1}), ValueError,
     "parameters.lr: expected min < max, got min=1.0, max=0.1"),
    ("min without max", params(lr={"min": 1.0}), ValueError,
     "parameters.lr: expected 'value', 'values', 'min' and 'max'"),
    ("max not a number", params(lr={"min": 0.0, "max": "1"}), ValueError,
     "parameters.lr.max: expected a finite number, got '1'"),
    ("infinite bound", params(lr={"min": 0.0, "max": math.inf}), ValueError,
     "parameters.lr.max: expected a finite number"),
    ("empty values", params(act={"values": []}), ValueError,
     "parameters.act.values: expected a non-empty list"),
    ("values not a list", params(act={"values": "relu"}), ValueError,
     "parameters.act.values: expected a non-empty list"),
    ("unsupported distribution", params(lr={"distribution": "normal", "mu": 0, "sigma": 1}),
     ValueError, "unknown key 'mu'"),
    ("unsupported distribution name", params(lr={"distribution": "normal"}), ValueError,
     "parameters.lr.distribution: 'normal' is not supported; accepted: constant, categorical"),
    ("log uniform values from zero",
     params(lr={"distribution": "log_uniform_values", "min": 0.0, "max": 1.0}), ValueError,
     "parameters.lr.min: distribution 'log_uniform_values' needs min > 0"),
    ("int range of floats", params(n={"distribution": "int_uniform", "min": 1.5, "max": 4}),
     ValueError, "needs int min and max"),
    ("q without q_uniform", params(lr={"min": 0.0, "max": 1.0, "q": 0.1}), ValueError,
     "parameters.lr.q: only distribution 'q_uniform' takes 'q'"),
    ("q too large", params(lr={"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 2}),
     ValueError, r"parameters.lr.q: expected 0 < q <= max - min"),
    ("values with a range", params(lr={"values": [1, 2], "distribution": "categorical",
                                       "min": 0}),
     ValueError, "parameters.lr.min: not used by distribution 'categorical'"),
    ("grid over a continuous range", with_(method="grid"), ValueError,
     "parameters.lr: method 'grid' needs finite choices"),
    ("nested group with extras", params(opt={"parameters": {"lr": {"value": 1}}, "value": 2}),
     ValueError, "parameters.opt: a nested group holds only 'parameters'"),
    ("bad nested leaf", params(opt={"parameters": {"lr": {"min": 2.0, "max": 1.0}}}),
     ValueError, "parameters.opt.parameters.lr: expected min < max"),
    ("dotted name", params(**{"opt.lr": {"value": 1}}), ValueError,
     "must not hold '.' or '/'"),
    ("early terminate not hyperband", with_(early_terminate={"type": "median"}), ValueError,
     "early_terminate.type: expected 'hyperband', got 'median'"),
    ("hyperband without metric", with_(metric=None,
                                       early_terminate={"type": "hyperband", "min_iter": 1}),
     ValueError, "early_terminate: needs a metric"),
    ("hyperband bad eta", with_(early_terminate={"type": "hyperband", "min_iter": 1,
                                                 "eta": 1}),
     ValueError, "early_terminate.eta: expected a number > 1"),
    ("hyperband min above max", with_(early_terminate={"type": "hyperband", "min_iter": 9,
                                                       "max_iter": 3}),
     ValueError, "early_terminate: expected min_iter < max_iter"),
    ("hyperband unknown key", with_(early_terminate={"type": "hyperband", "brackets": 3}),
     ValueError, "early_terminate: unknown key 'brackets'"),
    ("run cap zero", with_(run_cap=0), ValueError, "run_cap: expected an int >= 1, got 0"),
    ("grid too large", {"method": "grid", "parameters": {
        "a": {"min": 0, "max": 999}, "b": {"min": 0, "max": 999}}}, ValueError,
     "the grid has 1000000 points"),
]


@pytest.mark.parametrize("config,error,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_sweep_config_is_refused_naming_the_key(config, error, message):
    with pytest.raises(error, match=message):
        parse_sweep_config(config)


BY_NAME = {b[0]: b[1:] for b in BAD}


@pytest.mark.parametrize("name", ["unknown top key", "min above max",
                                  "grid over a continuous range"])
def test_wl_sweep_refuses_a_bad_config_and_creates_nothing(session, name):
    config, error, message = BY_NAME[name]
    with pytest.raises(error, match=message):
        wl.sweep(config)
    assert not (session.root_log_dir / "sweeps").exists()


def test_the_wandb_forms_are_read_with_their_defaults():
    spec = parse_sweep_config({
        "method": "bayes", "name": "lr search", "metric": {"name": "val/loss"},
        "parameters": {
            "epochs": {"value": 3},
            "hidden": {"values": [16, 32, 64]},
            "layers": {"min": 1, "max": 4},
            "dropout": {"min": 0.0, "max": 0.5},
            "lr": {"distribution": "log_uniform", "min": math.log(1e-4), "max": math.log(1e-1)},
            "wd": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-2},
            "optimizer": {"parameters": {"momentum": {"distribution": "q_uniform", "min": 0.5,
                                                      "max": 0.9, "q": 0.1}}},
        },
        "early_terminate": {"type": "hyperband", "min_iter": 3},
    })
    kinds = {p.name: p.kind for p in spec.parameters}
    assert kinds == {"hidden": "categorical", "layers": "int_uniform", "dropout": "uniform",
                     "lr": "log_uniform", "wd": "log_uniform_values",
                     "optimizer.momentum": "q_uniform"}
    lr = next(p for p in spec.parameters if p.name == "lr")
    assert lr.low == pytest.approx(1e-4) and lr.high == pytest.approx(1e-1)  # exp of the logs
    assert spec.goal == "minimize" and spec.name == "lr search"
    assert spec.constants == {("epochs",): 3}
    assert spec.hyperband == {"min_iter": 3, "max_iter": None, "eta": 3}
    assert spec.expected_run_count is None


def test_a_grid_counts_its_points_and_expands_int_ranges():
    spec = parse_sweep_config({"method": "grid", "parameters": {
        "a": {"values": [1, 2, 3]}, "n": {"min": 1, "max": 4}, "c": {"value": "x"}}})
    assert spec.grid_size == 12 and spec.expected_run_count == 12
    capped = parse_sweep_config({**spec.config, "run_cap": 5})
    assert capped.expected_run_count == 5


def test_drawn_values_lie_in_their_ranges_and_nest_like_the_config(session):
    config = {"method": "random", "run_cap": 12, "parameters": {
        "hidden": {"values": [[8, 8], [16]]},  # list values are picked whole
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "optimizer": {"parameters": {"momentum": {"distribution": "q_uniform", "min": 0.5,
                                                  "max": 0.9, "q": 0.1},
                                     "name": {"value": "sgd"}}},
        "layers": {"min": 1, "max": 3}}}
    sweep_id = wl.sweep(config)
    seen = []

    def train():
        run = wl.init()
        seen.append(run.config.to_dict())

    assert wl.agent(sweep_id, train) == 12
    for cfg in seen:
        assert cfg["hidden"] in ([8, 8], [16])
        assert 1e-4 <= cfg["lr"] <= 1e-1 and cfg["layers"] in (1, 2, 3)
        assert cfg["optimizer"]["name"] == "sgd"
        assert round(cfg["optimizer"]["momentum"] * 10) in (5, 6, 7, 8, 9)
    assert len({c["lr"] for c in seen}) == 12


def test_importing_the_package_does_not_import_optuna():
    import subprocess

    from tests.children import child_env

    code = "import sys, weightslab_nb as wl; wl.sweep; wl.agent; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
