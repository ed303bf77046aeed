"""The ``weightslab-nb`` command.

``weightslab-nb demo``
    Copy the quickstart notebook into a work directory and start JupyterLab there (on
    127.0.0.1, with a token); prints the URL. Ctrl-C stops the server.
``weightslab-nb demo --headless``
    Run the same training without a browser (digits, MLP, per-sample loss in a background
    thread), discard the highest-loss samples after the first epoch and print a summary.
    Exits non-zero when a discarded sample was still trained on, or training failed.
``weightslab-nb cli [--dir ROOT_LOG_DIR | --port P --token T] [--json] [COMMAND ARGS...]``
    The console client of a backend started with ``wl.serve(serving_cli=True)``: status,
    pause, resume, stop, evaluate, hp get/set, tag add/remove, cat set/clear, discard, restore
    (``--origin`` says which origin's ids), tags, export-history; without a command, an
    interactive prompt. Exit status 0 ok, 1 refused or
    failed, 2 usage (see :mod:`weightslab_nb.serving.client`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from weightslab_nb import argtypes
from weightslab_nb.errors import WeightslabError

NOTEBOOK_NAME = "01_quickstart.ipynb"
DEFAULT_WORKDIR = "weightslab-demo"

EXIT_OK = 0
EXIT_FAILED = 1  # training failed, or the discard check found violations
EXIT_USAGE = 2  # argparse's code for bad arguments
VALUE_OPTIONS = ("--token",)  # options whose value may start with "-"


# ---------------------------------------------------------------- argument parsing


def build_parser() -> argparse.ArgumentParser:
    """The ``weightslab-nb`` parser with its ``demo`` and ``cli`` sub-commands."""
    parser = argparse.ArgumentParser(
        prog="weightslab-nb",
        description="Inspect and steer PyTorch training from inside a Jupyter notebook.",
        epilog="Run 'weightslab-nb demo --help' or 'weightslab-nb cli --help' for their options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="the quickstart: JupyterLab with live panels, or --headless",
        description=(
            "Copy the quickstart notebook into WORKDIR and start JupyterLab there on 127.0.0.1 "
            "with a random token; the URL to open is printed. Ctrl-C stops the server. "
            "With --headless, run the same training (digits, MLP, per-sample loss) in a "
            "background thread without a browser, discard the highest-loss samples after the "
            "first epoch and print a summary; the exit status is 1 if a discarded sample was "
            "still trained on or training failed."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--workdir", type=Path, default=Path(DEFAULT_WORKDIR),
                      help="directory for the notebook (and, with --headless, the run's files)")
    lab = demo.add_argument_group("JupyterLab (default mode)")
    lab.add_argument("--port", type=argtypes.port, default=None,
                     help="port to listen on (default: a free port)")
    lab.add_argument("--no-browser", action="store_true",
                     help="do not open a web browser; just print the URL")
    lab.add_argument("--token", default=None,
                     help="the server's access token (default: a random one)")
    lab.add_argument("--overwrite", action="store_true",
                     help="replace a notebook already in WORKDIR with a fresh copy")
    headless = demo.add_argument_group("headless run (--headless)")
    headless.add_argument("--headless", action="store_true",
                          help="train in this terminal without a browser and print a summary")
    headless.add_argument("--epochs", type=argtypes.positive_int, default=3, help="epochs to train")
    headless.add_argument("--batch-size", type=argtypes.positive_int, default=64, help="batch size")
    headless.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    headless.add_argument("--discard", type=argtypes.non_negative_int, default=20,
                          help="how many highest-loss samples to discard after the first epoch")
    headless.add_argument("--seed", type=int, default=0, help="seed of the model and shuffling")
    headless.add_argument("--no-progress", action="store_true",
                          help="no progress bar (it goes to stderr)")
    demo.set_defaults(func=_demo)

    from weightslab_nb.serving.client import add_cli_arguments

    console = sub.add_parser(
        "cli", help="console client of a backend started with wl.serve(serving_cli=True)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Send a command to the console backend of a training process (started there with\n"
            "wl.serve(serving_cli=True)) and print the reply; without a command, read commands\n"
            "from stdin ('help' lists them, 'quit' leaves). The backend's port and token are\n"
            "read from ROOT_LOG_DIR/serving.json.\n"
            "Exit status: 0 ok, 1 refused or failed, 2 usage error."),
        epilog=("examples:\n"
                "  weightslab-nb cli --dir RUN status\n"
                "  weightslab-nb cli --dir RUN pause        (then: resume)\n"
                "  weightslab-nb cli --dir RUN evaluate val_loader --tags hard\n"
                "  weightslab-nb cli --dir RUN hp get optimizer.lr\n"
                "  weightslab-nb cli --dir RUN hp set optimizer.lr 0.001\n"
                "  weightslab-nb cli --dir RUN tag add hard 1 2 3   (tag remove hard 3)\n"
                "  weightslab-nb cli --dir RUN tag add hard 0 --origin val   (ids of val)\n"
                "  weightslab-nb cli --dir RUN cat set weather rainy 4 5\n"
                "  weightslab-nb cli --dir RUN discard 1 2          (restore 1 2)\n"
                "  weightslab-nb cli --dir RUN tags\n"
                "  weightslab-nb cli --dir RUN export-history out.csv --format csv\n"
                "  weightslab-nb cli --dir RUN                      (interactive)"))
    add_cli_arguments(console)
    console.set_defaults(func=_console)
    return parser


def _version() -> str:
    try:
        from weightslab_nb import __version__

        return __version__
    except Exception:  # pragma: no cover - only when the package itself cannot be imported
        return "unknown"


def attach_option_values(argv: list[str], options=VALUE_OPTIONS) -> list[str]:
    """``["--token", "-x1"]`` -> ``["--token=-x1"]`` for each of ``options``: the argument after
    such an option is its value whatever it starts with, as getopt reads it (argparse alone
    would take a token such as ``-x1`` for an unknown option). Nothing after ``--`` changes."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            out += [arg, *args]
            break
        if arg in options:
            value = next(args, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weightslab-nb`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(attach_option_values(sys.argv[1:] if argv is None else argv))
    if args.command == "cli":
        from weightslab_nb.serving.client import check_cli_arguments

        check_cli_arguments(parser, args)
        return args.func(args)
    if args.epochs < 2 and args.headless and args.discard:
        parser.error("--epochs: the headless demo discards after the first epoch, so it needs "
                     "at least 2 epochs (or pass --discard 0)")
    if args.headless and (args.port is not None or args.token is not None):
        parser.error("--port/--token start JupyterLab; they cannot be combined with --headless")
    if not math.isfinite(args.lr) or args.lr <= 0:
        parser.error(f"--lr: expected a positive number, got {args.lr}")
    try:
        return args.func(args)
    except CliError as exc:
        print(f"weightslab-nb: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


class CliError(WeightslabError):
    """A failure to report in one line (no traceback)."""


def _console(args) -> int:
    from weightslab_nb.serving.client import run_console

    return run_console(args)


def _demo(args) -> int:
    if args.headless:
        return run_headless(args)
    return run_lab(args)


# ---------------------------------------------------------------- the notebook
def find_quickstart() -> Path | None:
    """The repository's ``notebooks/01_quickstart.ipynb`` (editable installs), or None."""
    import weightslab_nb

    path = Path(weightslab_nb.__file__).resolve().parents[1] / "notebooks" / NOTEBOOK_NAME
    return path if path.is_file() else None


def fallback_notebook() -> dict:
    """A small quickstart notebook (nbformat 4), written when the repository copy is absent."""

    def md(text):
        return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}

    def code(text):
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": text.strip("\n")}

    cells = [
        md("""
# weightslab_nb quickstart

Wrap the model, data, optimizer and a per-sample loss with `wl.watch_or_edit`, start the
ordinary training loop in a background thread, and steer it from the panels and from cells.
"""),
        code("""
import torch
from torch import nn
import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp
from weightslab_nb.errors import WeightslabError

torch.set_num_threads(1)
hp = wl.watch_or_edit({"experiment_name": "quickstart", "optimizer": {"lr": 1e-2}}, flag="hp")
model = wl.watch_or_edit(digits_mlp(), flag="model")
train_loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                                batch_size=64, shuffle=True)
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2), flag="optimizer")
loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                           signal_name="train-loss", per_sample=True)
"""),
        code("""
def train(epochs=30):
    for _ in range(epochs):
        for inputs, targets, ids in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets, batch_ids=ids)
            loss.mean().backward()
            optimizer.step()

handle = wl.start_training(train)
wl.dashboard()
"""),
        code("""
assert handle.wait_for_step(600, timeout=120), handle
suspects = wl.suspects()   # ranked by how strongly training disagreed with each label
ids = suspects.loc[suspects.flagged, "sample_id"].tolist()
wl.tag_samples(ids, "suspect")
wl.discard_samples(ids)
print(len(wl.get_discarded_samples()), "samples discarded; training continues without them")
"""),
        code("""
handle.stop()
print(handle)
"""),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"quickstart-{i:02d}"
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def prepare_workdir(workdir: Path, overwrite: bool = False) -> tuple[Path, str]:
    """Create ``workdir`` and put the quickstart notebook in it.

    Returns the notebook's path and where it came from (``"repository"``, ``"generated"`` or
    ``"kept"`` when a notebook of that name was already there and ``overwrite`` is False).
    """
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise CliError(f"--workdir: {workdir} exists and is not a directory")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--workdir: cannot create {workdir}: {exc}") from None
    target = workdir / NOTEBOOK_NAME
    if target.exists() and not overwrite:
        return target, "kept"
    source = find_quickstart()
    if source is not None:
        shutil.copyfile(source, target)
        return target, "repository"
    target.write_text(json.dumps(fallback_notebook(), indent=1) + "\n", encoding="utf-8")
    return target, "generated"


# ---------------------------------------------------------------- JupyterLab
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_command(workdir: Path, port: int, token: str, open_browser: bool) -> list[str]:
    """The ``jupyter lab`` command line the demo runs."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={Path(workdir).resolve()}",
           f"--LabApp.default_url=/lab/tree/{NOTEBOOK_NAME}"]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # jupyter refuses to start as root otherwise
    return cmd


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f"jupyter lab exited with status {proc.returncode} before it "
                           "answered; see its messages above")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)  # poll the HTTP endpoint; nothing to wait on in-process
    raise CliError(f"jupyter lab did not answer {url.split('?')[0]} within {timeout:.0f} s")


def _stop_process_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_lab(args) -> int:
    """``weightslab-nb demo``: copy the quickstart into ``args.workdir``, start JupyterLab on
    127.0.0.1 with a token, print the URL, and wait until Ctrl-C / SIGTERM; returns the exit
    code."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise CliError("jupyterlab is not installed: pip install jupyterlab (it comes with "
                       "pip install -e \".[dev]\"), or run 'weightslab-nb demo --headless'")
    notebook, origin = prepare_workdir(args.workdir, args.overwrite)
    if origin == "kept":
        print(f"Keeping the notebook already in {notebook} (pass --overwrite for a fresh copy)")
    else:
        print(f"Wrote {notebook}" + (" (generated)" if origin == "generated" else ""))
    port = args.port or free_port()
    token = args.token or secrets.token_hex(24)
    cmd = lab_command(args.workdir, port, token, open_browser=not args.no_browser)
    # Own process group: Ctrl-C reaches only this process, which stops the server with SIGTERM
    # (jupyter's own Ctrl-C handler would ask for a confirmation).
    proc = subprocess.Popen(cmd, cwd=args.workdir, start_new_session=True)
    handlers = _interrupt_on_signals()
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/api/status?token={token}", proc, timeout=120)
        url = f"{base}/lab/tree/{NOTEBOOK_NAME}?token={token}"
        print("\nJupyterLab is running. Open this URL in a browser:\n")
        print(f"    {url}\n")
        print("Run all cells to start training and see the live panels. Press Ctrl-C to stop.",
              flush=True)
        status = proc.wait()
        print(f"jupyter lab exited with status {status}", file=sys.stderr)
        return EXIT_OK if status == 0 else EXIT_FAILED
    except KeyboardInterrupt:
        print("\nStopping JupyterLab...", flush=True)
        _stop_process_group(proc)
        print("Stopped.", flush=True)
        return EXIT_OK
    finally:
        _stop_process_group(proc)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _interrupt_on_signals() -> dict:
    """Make Ctrl-C (even where the parent shell ignores SIGINT) and SIGTERM raise
    KeyboardInterrupt; returns the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
            signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)}


# ---------------------------------------------------------------- headless run
def run_headless(args) -> int:
    """``weightslab-nb demo --headless``: train digits in a background thread, discard the
    highest-loss samples after the first epoch, print the summary; returns 0, or 1 when
    training failed or a discarded sample was trained on."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest and leaves a core free
    try:
        return _run_headless(args)
    finally:
        torch.set_num_threads(threads)


def _run_headless(args) -> int:
    import torch
    from torch import nn

    import weightslab_nb as wl
    from weightslab_nb.demo import digits_dataset, digits_mlp

    workdir = Path(args.workdir)
    root = workdir / "weightslab_runs" / f"headless-{time.strftime('%Y%m%d-%H%M%S')}-" \
                                         f"{secrets.token_hex(2)}"
    discard_event = threading.Event()
    discarded_set: set = set()
    yielded_after: list = []  # discarded ids the loader yielded after the discard

    with wl.Session(root_log_dir=root) as session:
        wl.watch_or_edit({"experiment_name": "headless-demo", "epochs": args.epochs,
                          "batch_size": args.batch_size, "optimizer": {"lr": args.lr}},
                         flag="hp")
        model = wl.watch_or_edit(digits_mlp(seed=args.seed), flag="model")
        loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                                  batch_size=args.batch_size, shuffle=True, seed=args.seed)
        optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=args.lr),
                                     flag="optimizer")
        loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                   signal_name="train-loss", per_sample=True)

        def train(epochs: int) -> int:
            steps = 0
            for epoch in range(epochs):
                if epoch == 1 and args.discard:
                    # hold the loop at the first batch boundary of epoch 2, as the pause button
                    # does; the main thread discards, then resumes
                    session.controller.pause()
                for inputs, targets, ids in loader:
                    if discard_event.is_set():
                        yielded_after.extend(i for i in ids.tolist() if i in discarded_set)
                    optimizer.zero_grad()
                    loss = loss_fn(model(inputs), targets, batch_ids=ids)
                    loss.mean().backward()
                    optimizer.step()
                    steps += 1
            return steps

        steps_per_epoch = len(loader)
        print(f"Training {loader.origin!r}: {session.counts()[0]} digits, batch {args.batch_size}, "
              f"{args.epochs} epochs ({steps_per_epoch} steps each), "
              f"run directory {root}", flush=True)
        started = time.perf_counter()
        handle = wl.start_training(train, args.epochs)
        bar = _progress(args, total=args.epochs * steps_per_epoch)
        discard_step = None
        discarded: list = []
        try:
            if args.discard:
                # after the first epoch the loop waits at its pause gate: discard, then resume
                while not handle.wait_paused(timeout=0.2):
                    _advance(bar, handle)
                _advance(bar, handle)
                if handle.state == "paused":
                    discard_step = handle.step
                    discarded = _highest_loss(session.dataframe, args.discard)
                    discarded_set.update(discarded)
                    wl.tag_samples(discarded, "high_loss")
                    wl.discard_samples(discarded)
                    discard_event.set()
                    bar.total = discard_step + (args.epochs - 1) * len(loader)
                    bar.write(f"step {discard_step}: discarded the {len(discarded)} "
                              f"highest-loss samples; training continues without them")
                handle.resume()
            while not handle.wait(timeout=0.1):
                _advance(bar, handle)
            _advance(bar, handle)
        except KeyboardInterrupt:
            bar.write("Interrupted: stopping training...")
            handle.stop(timeout=30)
            return 130
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        if handle.error is not None:
            print(f"weightslab-nb: error: training failed after {handle.step} steps:\n"
                  f"{handle.traceback}", file=sys.stderr)
            return EXIT_FAILED
        return _summary(session, handle, discarded, discard_step, yielded_after, elapsed,
                        len(loader))


class _NoBar:
    total = 0
    n = 0

    def update(self, k):
        self.n += k

    def write(self, text):
        print(text, flush=True)

    def close(self):
        pass


def _progress(args, total: int):
    if args.no_progress:
        return _NoBar()
    from tqdm.auto import tqdm

    # time-rate-limited: at most ~4 redraws a second, whatever the step rate
    return tqdm(total=total, unit="step", mininterval=0.25, maxinterval=1.0, file=sys.stderr,
                dynamic_ncols=True, leave=True)


def _advance(bar, handle) -> None:
    step = handle.step
    if step > bar.n:
        if bar.total and step > bar.total:
            bar.total = step
        bar.update(step - bar.n)


def _highest_loss(df, n: int) -> list:
    """Ids of the ``n`` samples with the highest latest loss (active samples only)."""
    active = df[~df["discarded"]]
    worst = active.sort_values("signals//train-loss", ascending=False).head(n)
    return [sid for sid, _ in worst.index]


def _summary(session, handle, discarded, discard_step, yielded_after, elapsed,
             steps_per_epoch: int) -> int:
    import numpy as np

    series = session.global_series("train-loss")
    means = series["mean"]
    last = means[-steps_per_epoch:] if len(means) else np.array([np.nan])
    df = session.dataframe
    active = df[~df["discarded"]]
    known = active.dropna(subset=["prediction"])
    accuracy = float((known["prediction"] == known["target"]).mean()) if len(known) else math.nan
    worst = active.sort_values("signals//train-loss", ascending=False).head(10)

    # Cross-check with the recorded history: no discarded sample has a loss after the discard.
    history_violations = 0
    if discard_step is not None:
        gone = set(discarded)
        history_violations = sum(1 for sid, step, _, _ in
                                 session.query_signal_history("train-loss")
                                 if sid in gone and step > discard_step)
    violations = len(yielded_after) + history_violations

    print("\n=== weightslab-nb headless demo: summary ===")
    print(f"steps:              {handle.step} in {handle.epoch} epochs "
          f"({elapsed:.1f} s, {handle.step / max(elapsed, 1e-9):.0f} steps/s)")
    print(f"final mean loss:    {float(np.mean(last)):.4f} "
          f"(mean of the last {len(last)} batch losses)")
    print(f"train accuracy:     {accuracy:.3f} (latest prediction of each active sample)")
    print(f"discarded:          {len(discarded)} samples at step {discard_step} "
          f"(active now: {session.counts()[1]} of {session.counts()[0]})")
    print("highest-loss active samples:")
    print(f"  {'sample_id':>9}  {'label':>5}  {'prediction':>10}  {'loss':>8}")
    for (sid, _), row in worst.iterrows():
        print(f"  {sid!s:>9}  {_fmt_int(row['target']):>5}  {_fmt_int(row['prediction']):>10}  "
              f"{row['signals//train-loss']:>8.4f}")
    print(f"discarded samples yielded after the discard: {len(yielded_after)}")
    print(f"discarded samples with a loss recorded after step {discard_step}: "
          f"{history_violations}")
    print(f"violations: {violations}")
    print(f"history: {session.root_log_dir / 'history.duckdb'}")
    if violations:
        print("weightslab-nb: error: discarded samples were still trained on", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _fmt_int(value) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "-"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
