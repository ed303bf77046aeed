"""Finding mislabeled training samples: ``wl.suspects`` against the latest loss, the mean loss,
AUM and cleanlab, on digits with flipped labels.

Data: scikit-learn's digits, ``images / 16`` flattened to 64 float32 features, split 70/30 with
``train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)`` (1,257 train, 540 test).
Noise: symmetric, on the train part only: ``k = round(rate * n)`` samples chosen by
``rng = np.random.default_rng(seed); idx = rng.choice(n, k, replace=False)`` get the label
``(y[idx] + rng.integers(1, 10, k)) % 10`` (always a different class). Rates ``--rates``
(0.1 0.2), noise seeds ``--seeds`` (0 1 2).

Regimes (``--regimes``): ``memorise``, Linear(64, 256)-ReLU-Linear(256, 10), Adam lr 5e-3 (the
network fits the flipped labels within the run), and ``gentle``, hidden 128, Adam lr 1e-3.
Every training: batch 64, ``--epochs`` (30) epochs, per-sample
``CrossEntropyLoss(reduction="none")`` and ``loss.mean().backward()``, model initialised after
``torch.manual_seed(0)``, one torch thread, a seeded shuffle (seed 0).

Per configuration (regime, rate, noise seed), ONE run through the package: a fresh
``wl.Session(root_log_dir=<tmp>)`` with the watched model, optimizer, loader
(``flag="data"``, ``loader_name="train_loader"``, batch 64, ``shuffle=True``, ``seed=0``: the
watched loader shuffles with its own generator and ignores ``torch.manual_seed``) and per-sample
loss (``signal_name="train-loss"``), trained by the ordinary ``for x, y, ids in loader`` loop.
From that run, ranked and scored against the flipped samples (positives):

* ``wl.suspects``: ``session.suspects()`` (method ``"auto"``), its score and its flag set;
* latest loss: the sample table's ``signals//train-loss`` (what sorting the grid by loss shows);
* mean loss: ``session.suspects(method="loss")`` (its flag set: the same two-means split);
* AUM: minus the mean over epochs of ``logit[label] - max other logit``, from logits the bench
  records itself in the loop (checked against ``method="aum"``: the max difference is printed);

and, outside the run, cleanlab's self-confidence ranking (``cleanlab.rank.
get_label_quality_scores``) and flag set (``cleanlab.filter.find_label_issues``, default
settings) from 5-fold cross-validated predicted probabilities (``StratifiedKFold(5,
shuffle=True, random_state=0)`` on the noisy labels) of a ``LogisticRegression(max_iter=2000)``
and of the same MLP trained ``--epochs`` epochs per fold in plain torch. ``--oracle`` adds the
same MLP cross-validated on the *clean* labels, its probabilities scored against the noisy
labels: a ceiling for any ranking built on this model's predictions, not a baseline.

Metrics: AUROC (``roc_auc_score``), precision@k with k the number of flipped labels (the share
of flipped samples among the k highest scores), and for a flag set its size, precision and
recall. Test accuracy of the same MLP trained in plain torch (same seeds) on the clean train
labels, the noisy labels, the noisy labels minus the samples ``wl.suspects`` flagged, and (for
reference) minus exactly the flipped samples; the share of the clean-vs-noisy gap recovered is
``(fixed - noisy) / (clean - noisy)``, not computed (n/a) when the gap is under one test sample
(540 test samples: one is 0.19 points, so a single seed's share is coarse); the table gives the
median of the per-seed shares and the share of the accuracies averaged over the seeds (pooled),
and the same two for discarding exactly the flipped samples (what perfect flags would give).

Prints one table of medians over the noise seeds per (regime, rate), with the accuracies and a
line saying whether ``wl.suspects``' precision@k is >= every baseline's (the oracle is not a
baseline), on the medians and per seed. ``--verbose`` also prints the per-seed rows;
``--json out.json`` writes everything. Progress goes to stderr. Everything is seeded: two runs
print the same numbers (the times on the last line aside). cleanlab is a bench-only extra (``pip install -e ".[bench]"``); the
bench exits with status 2 when it is missing. A benchmark, not a test: it asserts nothing.

    python bench/mislabel.py [--epochs 30] [--seeds 0 1 2] [--rates 0.1 0.2]
                             [--regimes memorise gentle] [--oracle] [--verbose] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

try:
    import weightslab_nb as wl
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import weightslab_nb as wl

BATCH = 64
FOLDS = 5
REGIMES = {
    "memorise": {"hidden": 256, "lr": 5e-3},
    "gentle": {"hidden": 128, "lr": 1e-3},
}
# Rankings, in table order. "wl" is wl.suspects; the oracle is not a baseline.
METHODS = {
    "wl": "wl.suspects (auto)",
    "latest_loss": "latest loss (grid sort)",
    "mean_loss": "mean loss (method='loss')",
    "aum": "AUM (bench's logits)",
    "cleanlab_logreg": "cleanlab, LogReg 5-fold CV",
    "cleanlab_mlp": "cleanlab, MLP 5-fold CV",
    "oracle": "oracle: MLP CV on clean labels",
}
BASELINES = ("latest_loss", "mean_loss", "aum", "cleanlab_logreg", "cleanlab_mlp")


# ----------------------------------------------------------------------------- data and models
def load_split():
    """Digits as 64 float32 features in [0, 1], split 70/30 (stratified, seed 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).reshape(len(digits.images), -1).astype(np.float32)
    return train_test_split(x, digits.target.astype(np.int64), test_size=0.3,
                            stratify=digits.target, random_state=0)


def flip_labels(y: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric noise: (noisy labels, boolean mask of the flipped samples)."""
    n = len(y)
    k = round(rate * n)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, k, replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, 10, k)) % 10
    flipped = np.zeros(n, dtype=bool)
    flipped[idx] = True
    return noisy, flipped


def make_mlp(hidden: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_plain(x: np.ndarray, y: np.ndarray, regime: dict, epochs: int) -> nn.Module:
    """The regime's MLP trained in plain torch (seeded init and shuffle)."""
    model = make_mlp(regime["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=regime["lr"])
    loss_fn = nn.CrossEntropyLoss(reduction="none")
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                        batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).mean().backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def predict_proba(model: nn.Module, x: np.ndarray) -> np.ndarray:
    return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy().astype(np.float64)


def test_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict_proba(model, x).argmax(1) == y).mean())


# ----------------------------------------------------------------------------- the watched run
def watched_run(x: np.ndarray, y: np.ndarray, regime: dict, epochs: int, root: Path) -> dict:
    """Train once through the package; every ranking the run gives, as arrays over 0..n-1."""
    n = len(y)
    logit_margin_sum = np.zeros(n)
    presentations = np.zeros(n)
    with wl.Session(root_log_dir=root) as s:
        model = s.watch_or_edit(make_mlp(regime["hidden"]), flag="model")
        optimizer = s.watch_or_edit(torch.optim.Adam(model.parameters(), lr=regime["lr"]),
                                    flag="optimizer")
        loader = s.watch_or_edit(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                 flag="data", loader_name="train_loader", batch_size=BATCH,
                                 shuffle=True, seed=0)
        loss_fn = s.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                  signal_name="train-loss", per_sample=True)
        t0 = time.perf_counter()
        model.train()
        for _ in range(epochs):
            for inputs, targets, ids in loader:
                optimizer.zero_grad()
                logits = model(inputs)
                loss = loss_fn(logits, targets, batch_ids=ids)
                loss.mean().backward()
                optimizer.step()
                # AUM's margin, from the logits of this forward pass (before the step)
                z = logits.detach().double()
                given = z.gather(1, targets[:, None]).squeeze(1)
                other = z.scatter(1, targets[:, None], -math.inf).max(1).values
                np.add.at(logit_margin_sum, ids.numpy(), (given - other).numpy())
                np.add.at(presentations, ids.numpy(), 1)
        train_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        auto = s.suspects()
        suspects_s = time.perf_counter() - t0
        by_loss = s.suspects(method="loss")
        by_aum = s.suspects(method="aum")
        table = s.dataframe
        train_rows = table[table["origin"] == "train"]
        latest = spread(train_rows.index.get_level_values("sample_id"),
                        train_rows["signals//train-loss"].to_numpy(), n)

    aum = -logit_margin_sum / presentations
    wl_aum = spread(by_aum["sample_id"], by_aum["score"].to_numpy(), n)
    return {
        "scores": {"wl": spread(auto["sample_id"], auto["score"].to_numpy(), n),
                   "latest_loss": latest,
                   "mean_loss": spread(by_loss["sample_id"], by_loss["score"].to_numpy(), n),
                   "aum": aum},
        "flags": {"wl": spread(auto["sample_id"], auto["flagged"].to_numpy(), n, False),
                  "mean_loss": spread(by_loss["sample_id"], by_loss["flagged"].to_numpy(), n,
                                      False)},
        "aum_max_abs_diff": float(np.nanmax(np.abs(aum - wl_aum))),
        "presentations": (int(presentations.min()), int(presentations.max())),
        "train_s": train_s, "suspects_s": suspects_s,
        "suggested": spread(auto["sample_id"], auto["suggested_class"].to_numpy(
            dtype=float, na_value=np.nan), n),
    }


def spread(sample_ids, values: np.ndarray, n: int, fill=np.nan) -> np.ndarray:
    """``values`` keyed by sample id (the dataset index here) as an array over 0..n-1."""
    out = np.full(n, fill, dtype=np.asarray(values).dtype if fill is False else float)
    out[np.asarray(list(sample_ids), dtype=np.int64)] = values
    return out


# ----------------------------------------------------------------------------- cleanlab
def cv_pred_probs(x: np.ndarray, y: np.ndarray, fit_predict) -> np.ndarray:
    """Out-of-fold predicted probabilities, 5 stratified folds (seed 0)."""
    from sklearn.model_selection import StratifiedKFold

    probs = np.zeros((len(y), 10))
    for fit_idx, held_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(x, y):
        probs[held_idx] = fit_predict(x[fit_idx], y[fit_idx], x[held_idx])
    return probs


def logreg_fit_predict(x_fit, y_fit, x_held):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000).fit(x_fit, y_fit).predict_proba(x_held)


def mlp_fit_predict(regime: dict, epochs: int):
    return lambda x_fit, y_fit, x_held: predict_proba(train_plain(x_fit, y_fit, regime, epochs),
                                                      x_held)


def cleanlab_ranking(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, higher = more suspect; cleanlab's flag set) from out-of-fold probabilities."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    return -quality, find_label_issues(labels, probs)


# ----------------------------------------------------------------------------- metrics
def ranking_metrics(score: np.ndarray, flipped: np.ndarray, flags=None) -> dict:
    from sklearn.metrics import roc_auc_score

    k = int(flipped.sum())
    top = np.argsort(-score, kind="stable")[:k]
    out = {"auroc": float(roc_auc_score(flipped, score)), "p_at_k": float(flipped[top].mean())}
    if flags is not None:
        out["flagged"] = int(flags.sum())
        out["flag_precision"] = float(flipped[flags].mean()) if flags.any() else math.nan
        out["flag_recall"] = float(flags[flipped].mean())
    return out


def median(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


# ----------------------------------------------------------------------------- printing
def fmt(value, spec: str, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:{width}{spec}}"


HEADER = (f"{'regime':<9}{'noise':>6} {'seed':>5}  {'method':<32}{'AUROC':>7}{'p@k':>7}"
          f"{'flagged':>9}{'f.prec':>8}{'f.rec':>7}")


def method_row(regime: str, rate: float, seed: str, method: str, m: dict) -> str:
    return (f"{regime:<9}{rate:>6.0%} {seed:>5}  {METHODS[method]:<32}"
            f"{fmt(m.get('auroc'), '.4f', 7)}{fmt(m.get('p_at_k'), '.3f', 7)}"
            f"{fmt(m.get('flagged'), '.0f', 9)}{fmt(m.get('flag_precision'), '.3f', 8)}"
            f"{fmt(m.get('flag_recall'), '.3f', 7)}")


def share(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.0%}"


def accuracy_line(acc: dict, pooled: dict | None = None) -> str:
    """The test accuracies and the shares of the gap recovered (``pooled``: over seeds)."""
    more = "" if pooled is None else f" (pooled over seeds {share(pooled['recovered'])})"
    ideal = "" if pooled is None else f" (pooled {share(pooled['recovered_minus_flipped'])})"
    return (f"{'':22}test accuracy: clean {acc['clean']:.4f}, noisy {acc['noisy']:.4f}, "
            f"minus flagged {acc['fixed']:.4f}: gap recovered {share(acc['recovered'])}{more}; "
            f"minus exactly the flipped {acc['minus_flipped']:.4f}: "
            f"{share(acc['recovered_minus_flipped'])}{ideal}")


def recovered(clean: float, noisy: float, fixed: float, min_gap: float) -> float:
    """Share of the clean-vs-noisy gap that ``fixed`` recovers; NaN for a gap under
    ``min_gap``."""
    gap = clean - noisy
    return (fixed - noisy) / gap if gap >= min_gap - 1e-12 else math.nan


def beats_line(med: dict, per_seed: list[dict]) -> str:
    best = max(BASELINES, key=lambda b: med[b]["p_at_k"])
    ok_med = all(med["wl"]["p_at_k"] >= med[b]["p_at_k"] for b in BASELINES)
    ok_seeds = sum(all(r["methods"]["wl"]["p_at_k"] >= r["methods"][b]["p_at_k"]
                       for b in BASELINES) for r in per_seed)
    return (f"{'':22}wl.suspects p@k >= every baseline's: {'yes' if ok_med else 'NO'} on the "
            f"medians ({med['wl']['p_at_k']:.3f} vs best baseline {METHODS[best]} "
            f"{med[best]['p_at_k']:.3f}); in {ok_seeds} of {len(per_seed)} seeds")


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30, help="epochs of every training")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="noise seeds")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2],
                        help="shares of train labels flipped")
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument("--oracle", action="store_true",
                        help="add the MLP cross-validated on the clean labels (a ceiling)")
    parser.add_argument("--verbose", action="store_true", help="also print per-seed rows")
    parser.add_argument("--json", type=Path, default=None, help="also write everything here")
    args = parser.parse_args(argv)
    if args.epochs < 1 or any(not 0 < r < 1 for r in args.rates):
        parser.error("--epochs must be >= 1 and every rate in (0, 1)")
    try:
        import cleanlab
    except ImportError:
        print("bench/mislabel.py needs cleanlab for its baselines: pip install 'cleanlab>=2.6' "
              "(or pip install -e '.[bench]')", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    torch.set_num_threads(1)
    x_train, x_test, y_train, y_test = load_split()
    n = len(y_train)
    started = time.perf_counter()
    configs = [(g, r, s) for g in args.regimes for r in args.rates for s in args.seeds]
    bar = tqdm(total=len(configs), desc="mislabel bench", unit="run", file=sys.stderr)
    results: dict = {}
    clean_acc, oracle_probs = {}, {}
    with tempfile.TemporaryDirectory(prefix="wl-mislabel-") as tmp:
        for i, (name, rate, seed) in enumerate(configs):
            regime = REGIMES[name]
            bar.set_postfix_str(f"{name} {rate:.0%} seed {seed}")
            if name not in clean_acc:  # per regime: the clean reference (and the oracle)
                clean_acc[name] = test_accuracy(train_plain(x_train, y_train, regime,
                                                            args.epochs), x_test, y_test)
                if args.oracle:
                    oracle_probs[name] = cv_pred_probs(x_train, y_train,
                                                       mlp_fit_predict(regime, args.epochs))
            noisy, flipped = flip_labels(y_train, rate, seed)
            t0 = time.perf_counter()
            run = watched_run(x_train, noisy, regime, args.epochs, Path(tmp) / f"run{i}")
            methods = {
                "wl": ranking_metrics(run["scores"]["wl"], flipped, run["flags"]["wl"]),
                "latest_loss": ranking_metrics(run["scores"]["latest_loss"], flipped),
                "mean_loss": ranking_metrics(run["scores"]["mean_loss"], flipped,
                                             run["flags"]["mean_loss"]),
                "aum": ranking_metrics(run["scores"]["aum"], flipped),
            }
            wl_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            score, flags = cleanlab_ranking(noisy, cv_pred_probs(x_train, noisy,
                                                                 logreg_fit_predict))
            methods["cleanlab_logreg"] = ranking_metrics(score, flipped, flags)
            logreg_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            score, flags = cleanlab_ranking(noisy, cv_pred_probs(
                x_train, noisy, mlp_fit_predict(regime, args.epochs)))
            methods["cleanlab_mlp"] = ranking_metrics(score, flipped, flags)
            mlp_cv_s = time.perf_counter() - t0
            if args.oracle:
                score, flags = cleanlab_ranking(noisy, oracle_probs[name])
                methods["oracle"] = ranking_metrics(score, flipped, flags)

            wl_flags = run["flags"]["wl"]
            acc = {"clean": clean_acc[name],
                   "noisy": test_accuracy(train_plain(x_train, noisy, regime, args.epochs),
                                          x_test, y_test),
                   "fixed": test_accuracy(train_plain(x_train[~wl_flags], noisy[~wl_flags],
                                                      regime, args.epochs), x_test, y_test),
                   "minus_flipped": test_accuracy(train_plain(
                       x_train[~flipped], noisy[~flipped], regime, args.epochs), x_test, y_test)}
            one_sample = 1 / len(y_test)
            acc["recovered"] = recovered(acc["clean"], acc["noisy"], acc["fixed"], one_sample)
            acc["recovered_minus_flipped"] = recovered(acc["clean"], acc["noisy"],
                                                       acc["minus_flipped"], one_sample)
            suggested = run["suggested"][flipped & wl_flags]
            results.setdefault((name, rate), []).append({
                "regime": name, "rate": rate, "seed": seed, "n_train": n,
                "flipped": int(flipped.sum()), "methods": methods, "accuracy": acc,
                "aum_max_abs_diff_vs_wl": run["aum_max_abs_diff"],
                "presentations_min_max": run["presentations"],
                # flagged flipped samples whose suggested class is their true label
                "suggested_is_true_label": float((suggested == y_train[flipped & wl_flags])
                                                 .mean()) if len(suggested) else math.nan,
                "seconds": {"wl_train": run["train_s"], "wl_suspects": run["suspects_s"],
                            "wl_run_total": wl_s, "cleanlab_logreg_cv": logreg_s,
                            "cleanlab_mlp_cv": mlp_cv_s},
            })
            bar.update()
    bar.close()
    total_s = time.perf_counter() - started
    one_sample = 1 / len(y_test)

    shown = [m for m in METHODS if args.oracle or m != "oracle"]
    summary = []
    print(f"digits, {n} train / {len(y_test)} test samples, batch {BATCH}, {args.epochs} epochs,"
          f" torch {torch.__version__}, cleanlab {cleanlab.__version__}, "
          f"{torch.get_num_threads()} torch thread; medians over noise seeds "
          f"{', '.join(map(str, args.seeds))}; k = number of flipped labels")
    if args.verbose:
        print("\nper seed")
        print(HEADER)
        for (name, rate), runs in results.items():
            for r in runs:
                for m in shown:
                    print(method_row(name, rate, str(r["seed"]), m, r["methods"][m]))
                print(accuracy_line(r["accuracy"]))
                print(f"{'':22}AUM from the bench's logits vs method='aum': max |diff| "
                      f"{r['aum_max_abs_diff_vs_wl']:.2e}; flagged flipped samples whose "
                      f"suggested class is the true label: {r['suggested_is_true_label']:.3f}")
        print("\nmedians")
    print(HEADER)
    for (name, rate), runs in results.items():
        med = {m: {key: median([r["methods"][m].get(key, math.nan) for r in runs])
                   for key in runs[0]["methods"][m]} for m in shown}
        acc = {key: median([r["accuracy"][key] for r in runs]) for key in runs[0]["accuracy"]}
        mean = {key: statistics.fmean(r["accuracy"][key] for r in runs)
                for key in ("clean", "noisy", "fixed", "minus_flipped")}
        pooled = {"recovered": recovered(mean["clean"], mean["noisy"], mean["fixed"],
                                         one_sample / len(runs)),
                  "recovered_minus_flipped": recovered(mean["clean"], mean["noisy"],
                                                       mean["minus_flipped"],
                                                       one_sample / len(runs))}
        for m in shown:
            print(method_row(name, rate, "med", m, med[m]))
        print(accuracy_line(acc, pooled))
        print(beats_line(med, runs))
        print(f"{'':22}AUM from the bench's logits vs method='aum': max |diff| "
              f"{max(r['aum_max_abs_diff_vs_wl'] for r in runs):.2e}")
        summary.append({"regime": name, "rate": rate, "median_methods": med,
                        "median_accuracy": acc, "pooled_recovered": pooled, "runs": runs})
    runs = [r for c in summary for r in c["runs"]]
    seconds = {key: median([r["seconds"][key] for r in runs]) for key in runs[0]["seconds"]}
    print(f"\ntimes (median per configuration; they vary between runs): watched run "
          f"{seconds['wl_run_total']:.1f} s (training {seconds['wl_train']:.1f} s), "
          f"wl.suspects {seconds['wl_suspects'] * 1e3:.0f} ms; cleanlab CV: LogReg "
          f"{seconds['cleanlab_logreg_cv']:.1f} s, MLP {seconds['cleanlab_mlp_cv']:.1f} s; "
          f"total {total_s:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "torch": torch.__version__, "cleanlab": cleanlab.__version__,
            "n_train": n, "n_test": len(y_test), "total_s": total_s,
            "configurations": summary}, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
