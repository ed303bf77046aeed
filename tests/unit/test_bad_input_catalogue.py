"""Bad input, catalogued: every refused call names its argument and changes nothing.

One row per bad call, across the public API: ``wl.*`` functions and ``Session`` methods,
hyperparameter edits, the signal decorator, tracking (``wl.init``/``wl.log``/``wl.plot`` and
media), per-sample metrics, panels (messages sent to real panel objects), the CLI command table
(``serving.commands.execute``) and files (YAML hyperparameters, exports). Each row runs against a
session trained four steps on the real digits data (shared by consecutive rows while each row
proves it unchanged; rebuilt after a row with a setup or a failure), and asserts that

(a) the call raises the package's error (a :class:`~weightslab_nb.errors.WeightslabError`, of
    the class that refines the right builtin); a panel also answers ``ok: false``; a CLI
    refusal carries the session's own error as its cause;
(b) the message names the argument (or the message field): ``"<argument>:"``,
    ``"<argument>["``, ``"<argument>="`` or ``'<argument>'`` appears in it;
(c) nothing the call could have changed did: the sample table (``session.dataframe``), tags,
    categorical values, discards, the selection, hyperparameters (applied, requested, pending,
    change log), watched objects, signals, evaluations, training state, the experiment hash,
    history row counts of every layer, the tracking run, the journaled edits, and the files of
    the run directory and of the export directory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas.testing as pdt
import pytest
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp
from weightslab_nb.errors import (ArgumentError, InvalidTypeError, InvalidValueError,
                                  MissingFileError, StateError, UnknownNameError,
                                  UnknownSampleError, WeightslabError)
from weightslab_nb.ledger.registry import KINDS
from weightslab_nb.persistence import JOURNAL_DIR
from weightslab_nb.panels import (HyperParameterEditor, LossCurves, SampleGrid, TagEditor,
                                  TrainingControls)
from weightslab_nb.panels.messages import MessageError
from weightslab_nb.serving.commands import CommandError, execute
from weightslab_nb.session import Session, current_session
from weightslab_nb.tracking import plot

from tests.panel_capture import Capture

LOSS = "train-loss"
#: Files the session maintains by itself (their content changes while it runs).
INTERNAL_FILES = ("history.duckdb", "history.duckdb.wal", "ledger.json", "ledger.parquet",
                  "manifest.json", "hyperparameters.jsonl")
#: A tracking run's own files (appended by its flushes); its media files are compared.
RUN_FILES = ("run.json", "history.jsonl", "summary.json")


# ---------------------------------------------------------------- the fixture session
def _build(root, digits) -> SimpleNamespace:
    """A current session trained four steps on digits, with a boolean tag ``hard`` on samples
    1 and 2, a categorical tag ``weather`` (``sunny`` on sample 3), sample 4 discarded, and a
    selection of samples 1 and 2. ``exports`` is an empty directory for export paths."""
    session = Session(root_log_dir=root / "run")
    session.__enter__()
    e = SimpleNamespace(session=session, tmp=root, exports=root / "exports", panels=[],
                        others=[], reply=None, run=None, clean=False)
    e.hp = session.watch_or_edit({"experiment_name": "catalogue", "optimizer": {"lr": 1e-2},
                                  "batch_size": 64, "augment": True}, flag="hp")
    e.model = session.watch_or_edit(digits_mlp(hidden=16), flag="model")
    e.loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                     batch_size=64, shuffle=False)
    e.opt = session.watch_or_edit(torch.optim.Adam(e.model.parameters(), lr=1e-2),
                                  flag="optimizer")
    e.loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                   signal_name=LOSS, per_sample=True)
    for step, (inputs, targets, ids) in enumerate(e.loader):
        e.opt.zero_grad()
        e.loss(e.model(inputs), targets, batch_ids=ids).mean().backward()
        e.opt.step()
        if step == 3:
            break
    session.tag_samples([1, 2], "hard")
    session.register_categorical_tag("weather", ["rainy", "sunny"])
    session.set_categorical_tag([3], "weather", "sunny")
    session.discard_samples([4])
    session.selection.set([1, 2])
    e.exports.mkdir()
    return e


def _close(e, tolerate: bool) -> None:
    """Close the panels, the sessions a row created and the session. A row that failed may
    have let bad values in (an int origin breaks the history flush, for one): with
    ``tolerate`` their errors on closing are ignored."""
    closeables = [*e.panels, *e.others, e.session] if tolerate else [*e.panels, *e.others]
    e.panels.clear()
    e.others.clear()
    for closeable in closeables:
        try:
            closeable.close()
        except Exception:
            if not tolerate:
                raise


@pytest.fixture(scope="module")
def shared(tmp_path_factory, digits):
    """The module's session, rebuilt only after a row that may have changed it."""
    holder = SimpleNamespace(env=None, make=lambda: _build(tmp_path_factory.mktemp("cat"),
                                                           digits))
    yield holder
    if holder.env is not None:
        _close(holder.env, tolerate=not holder.env.clean)
        if holder.env.clean:
            holder.env.session.close()


@pytest.fixture
def env(shared):
    """The shared session when the previous row proved it unchanged (it passed and had no
    setup), else a fresh one. A row sets ``env.clean`` as its last step."""
    if shared.env is None or not shared.env.clean:
        if shared.env is not None:
            _close(shared.env, tolerate=True)
        shared.env = shared.make()
    e = shared.env
    e.clean, e.reply = False, None
    e.session.activate()
    yield e
    _close(e, tolerate=not e.clean)


def _files(root) -> set[str]:
    """Files under ``root`` that a refused call could have left, relative to it."""
    if not root.exists():
        return set()
    out = set()
    for path in root.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(root)
        name = path.name
        if rel.parts[0] == "runs" and len(rel.parts) == 3 and name in RUN_FILES:
            continue
        if rel.parts[0] == JOURNAL_DIR:  # segments rotate with snapshots: edits are counted
            continue
        if name in INTERNAL_FILES or (name.startswith(".") and name.endswith(".tmp") and
                                      name[1:].startswith(INTERNAL_FILES + RUN_FILES)):
            continue  # (background writers' files, and their atomic writes in progress)
        out.add(str(rel))
    return out


def snapshot(e) -> dict:
    """Everything a refused call must leave as it was (the sample table is compared apart)."""
    s = e.session
    handles = s.registry.all("hyperparameters")
    run = s.run
    return {
        "tags": s.tag_summary(),
        "discarded": s.get_discarded_samples(origin=None),
        "counts": s.counts(),
        "origins": list(s.table.origins),
        "selection": s.selection.get(),
        "hyperparameters": {name: (h.to_dict(), h.to_dict(requested=True), h.pending(),
                                   len(h.history())) for name, h in handles.items()},
        "watched": {kind: sorted(s.registry.all(kind)) for kind in KINDS},
        "signals": s.signals.names(),
        "evaluations": (len(s.evaluation.queued()), len(s.evaluation.history),
                        s.evaluation.running is not None),
        "training": (s.controller.state, s.controller.step, s.controller.epoch),
        "experiment_hash": s.get_current_experiment_hash(),
        "history": {layer: len(s.history_frame(layer)) for layer in ("global", "sample",
                                                                      "instance")},
        "loss_history": len(s.query_signal_history(LOSS)),
        "run": None if run is None else (run.id, run.state, run.step, run.log_counts(),
                                         run.summary.to_dict(), run.config.to_dict()),
        "current_session": current_session(create=False) is s,
        "files": (_files(s.root_log_dir), _files(e.exports)),
        "journaled edits": s.files.journaled_edits,
    }


# ---------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    call: Callable  # (env) -> anything; must raise
    argument: str  # what the message must name
    error: type = WeightslabError  # the class expected
    setup: Callable | None = None  # (env) -> None, before the "before" snapshot


def case(name: str, call, argument: str, error: type = WeightslabError, *, setup=None):
    return pytest.param(Case(call, argument, error, setup), id=name)


def panel(cls, msg: dict, **kwargs):
    """Send ``msg`` to a real ``cls`` panel: its reply must be ``ok: false``; then run the
    message's handler directly so the test sees the exception it raises."""
    def call(e):
        widget = cls(e.session, **kwargs)
        e.panels.append(widget)
        cap = Capture(widget)
        widget._handle_custom_msg({"req": 1, **msg}, [])
        reply = cap.reply(1)[0]
        assert reply["ok"] is False, f"the panel accepted {msg!r}: {reply!r}"
        e.reply = reply["message"]
        widget._dispatch[msg["type"]](dict(msg))
    return call


def command(name: str, **args):
    """Run one CLI command; a refusal by the session must carry the session's own error."""
    def call(e):
        try:
            return execute(e.session, {"command": name, "args": args})
        except CommandError as exc:
            cause = exc.__cause__
            assert cause is None or isinstance(cause, WeightslabError), \
                f"the session raised {type(cause).__name__}: {cause}"
            raise
    return call


def request(payload):
    """A raw CLI request (malformed ones included)."""
    return lambda e: execute(e.session, payload)


def new_session(**kwargs):
    def call(e):
        made = Session(**{"root_log_dir": e.tmp / "other", **kwargs})
        e.others.append(made)  # accepted today: closed after the test
        return made
    return call


def watch(obj, **kwargs):
    return lambda e: e.session.watch_or_edit(obj, **kwargs)


def val_loader(**kwargs):
    """Watch digits again (as ``val_loader``, ids ``val_<i>``, unless ``kwargs`` say
    otherwise)."""
    from weightslab_nb.demo import digits_dataset

    kwargs = {"loader_name": "val_loader", "id_prefix": "val_", **kwargs}
    return lambda e: e.session.watch_or_edit(digits_dataset(), flag="data", **kwargs)


def set_hp(path: str, value):
    def call(e):
        node = e.hp
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return call


def write_yaml(name: str, text: str):
    def setup(e):
        (e.tmp / name).write_text(text)
    return setup


def yaml_hp(name: str, **kwargs):
    return lambda e: e.session.watch_or_edit(str(e.tmp / name), flag="hp", obj_name="config",
                                             **kwargs)


def start_run(e):
    e.run = wl.init(project="catalogue", id="r1")
    wl.log({"acc": 0.5})


def a_file(e):
    (e.exports / "a_file").write_text("not a directory")


def collector(batch, predictions):
    return {"score": predictions.max(1).values}


def digits_signal(fn=None, **options):
    def call(e):
        return wl.signal(**options)(fn if fn is not None else (lambda ctx: 0.0))
    return call


CASES = [
    # ------------------------------------------------------------ watch_or_edit
    case("watch/loss-per_sample-no", watch(nn.MSELoss(reduction="none"), flag="loss",
                                           signal_name="mse", per_sample="no"),
         "per_sample", InvalidTypeError),
    case("watch/loss-log-no", watch(nn.MSELoss(reduction="none"), flag="loss",
                                    signal_name="mse", log="no"), "log", InvalidTypeError),
    case("watch/loss-per_instance-1", watch(nn.MSELoss(reduction="none"), flag="loss",
                                            signal_name="mse", per_instance=1),
         "per_instance", InvalidTypeError),
    case("watch/loss-per_sample-and-per_instance",
         watch(nn.MSELoss(reduction="none"), flag="loss", signal_name="mse", per_sample=True,
               per_instance=True), "per_instance", InvalidValueError),
    case("watch/loss-signal_name-empty", watch(nn.MSELoss(reduction="none"), flag="loss",
                                               signal_name=""), "signal_name", InvalidValueError),
    case("watch/loss-two-names", watch(nn.MSELoss(reduction="none"), flag="loss",
                                       signal_name="a", name="b"), "name", InvalidValueError),
    case("watch/loss-unknown-keyword", watch(nn.MSELoss(reduction="none"), flag="loss",
                                             signal_name="mse", reduce_to=1),
         "reduce_to", InvalidTypeError),
    case("watch/flag-unknown", watch(nn.MSELoss(), flag="lossy"), "flag", InvalidValueError),
    case("watch/obj_name-not-a-string", watch(nn.MSELoss(), obj_name=5, flag="loss"),
         "obj_name", InvalidTypeError),
    case("watch/model-not-a-module", watch(5, flag="model"), "obj", InvalidTypeError),
    case("watch/model-unknown-device",
         lambda e: e.session.watch_or_edit(digits_mlp(hidden=8), "m2", flag="model",
                                           device="nodevice"), "device", InvalidValueError),
    case("watch/optimizer-not-an-optimizer", watch("adam", flag="optimizer"), "obj",
         InvalidTypeError),
    case("watch/logger-log_dir-not-a-path", watch(object(), flag="logger", log_dir=5),
         "log_dir", InvalidTypeError),
    case("watch/data-loader_name-not-a-string",
         lambda e: e.session.watch_or_edit(e.loader.dataset, flag="data", loader_name=5,
                                           id_prefix="val_"), "loader_name", InvalidTypeError),
    case("watch/data-loader_name-empty",
         lambda e: e.session.watch_or_edit(e.loader.dataset, flag="data", loader_name="",
                                           id_prefix="val_"), "loader_name", InvalidValueError),
    case("watch/data-class_names-a-string", val_loader(class_names="cat dog"), "class_names",
         InvalidTypeError),
    case("watch/data-class_names-empty-name", val_loader(class_names=["zero", " "]),
         "class_names", InvalidValueError),
    case("watch/data-class_names-key-a-string", val_loader(class_names={"0": "zero"}),
         "class_names", InvalidTypeError),
    case("watch/data-not-a-dataset", watch(5, flag="data", loader_name="val_loader"), "obj",
         InvalidTypeError),
    case("watch/data-duplicate-sample_ids",
         lambda e: e.session.watch_or_edit(e.loader.dataset, flag="data",
                                           loader_name="val_loader",
                                           sample_ids=["v"] * len(e.loader.dataset)),
         "sample_ids", InvalidValueError),
    case("watch/data-batch_size-0", val_loader(batch_size=0), "batch_size", InvalidValueError),
    case("watch/data-batch_size-string", val_loader(batch_size="8"), "batch_size",
         InvalidTypeError),
    case("watch/data-batch_size-float", val_loader(batch_size=1.5), "batch_size",
         InvalidTypeError),
    case("watch/data-shuffle-no", val_loader(shuffle="no"), "shuffle", InvalidTypeError),
    case("watch/data-is_training-no", val_loader(is_training="no"), "is_training",
         InvalidTypeError),
    case("watch/data-origin-not-a-string", val_loader(origin=5), "origin", InvalidTypeError),
    case("watch/data-seed-not-an-int", val_loader(seed="x"), "seed", InvalidTypeError),
    case("watch/data-id_prefix-not-a-string", val_loader(id_prefix=5), "id_prefix",
         InvalidTypeError),
    case("watch/data-unknown-keyword", val_loader(batchsize=8), "batchsize", InvalidTypeError),
    case("watch/hp-name-keyword", watch({"a": 1}, flag="hp", name="other"), "name",
         InvalidTypeError),
    case("watch/hp-dict-with-poll_interval", watch({"a": 1}, flag="hp", poll_interval=1.0),
         "poll_interval", InvalidTypeError),
    case("watch/hp-not-a-dict", watch(5, flag="hp"), "obj", InvalidTypeError),

    # ------------------------------------------------------------ hyperparameter edits
    case("hp/lr-fast", set_hp("optimizer.lr", "fast"), "optimizer.lr", InvalidTypeError),
    case("hp/lr-negative", set_hp("optimizer.lr", -1.0), "optimizer.lr", InvalidValueError),
    case("hp/lr-nan", set_hp("optimizer.lr", math.nan), "optimizer.lr", InvalidValueError),
    case("hp/lr-bool", set_hp("optimizer.lr", True), "optimizer.lr", InvalidTypeError),
    case("hp/batch_size-0", set_hp("batch_size", 0), "batch_size", InvalidValueError),
    case("hp/batch_size-float", set_hp("batch_size", 1.5), "batch_size", InvalidTypeError),
    case("hp/bool-yes", set_hp("augment", "yes"), "augment", InvalidTypeError),
    case("hp/section-to-leaf", set_hp("optimizer", 5), "optimizer", InvalidTypeError),
    case("hp/set_path-empty-part", lambda e: e.hp.set_path("optimizer..lr", 0.1), "path",
         InvalidValueError),
    case("hp/update-all-or-nothing",
         lambda e: e.hp.update({"optimizer": {"lr": 0.5}, "experiment_name": 5}),
         "experiment_name", InvalidTypeError),
    case("hp/update-not-a-mapping", lambda e: e.hp.update(5), "other", InvalidTypeError),
    case("hp/request-create-not-a-bool",
         lambda e: e.hp.request("new_key", 1, source="panel", create="yes"), "create",
         InvalidTypeError),
    case("hp/read-unknown-key", lambda e: e.hp["nope"], "nope", UnknownNameError),
    case("hp/request-source-empty", lambda e: e.hp.request("optimizer.lr", 0.1, source=""),
         "source", InvalidValueError),

    # ------------------------------------------------------------ tags and discards
    case("tag_samples/name-with-NUL", lambda e: wl.tag_samples([1], "a\x00b"), "tag",
         InvalidValueError),
    case("tag_samples/name-100000-chars", lambda e: wl.tag_samples([1], "a" * 100_000), "tag",
         InvalidValueError),
    case("tag_samples/name-with-equals", lambda e: wl.tag_samples([1], "k=v"), "tag",
         InvalidValueError),
    case("tag_samples/name-with-tag-prefix", lambda e: wl.tag_samples([1], "tag:a"), "tag",
         InvalidValueError),
    case("tag_samples/name-not-a-string", lambda e: wl.tag_samples([1], 5), "tag",
         InvalidTypeError),
    case("tag_samples/name-padded", lambda e: wl.tag_samples([1], " hard "), "tag",
         InvalidValueError),
    case("tag_samples/mode-unknown", lambda e: wl.tag_samples([1], "hard", mode="toggle"),
         "mode", InvalidValueError),
    case("tag_samples/unknown-id", lambda e: wl.tag_samples([5, 99999], "hard"), "sample_ids",
         UnknownSampleError),
    case("tag_samples/float-id", lambda e: wl.tag_samples([1.5], "hard"), "sample_ids",
         InvalidTypeError),
    case("tag_samples/remove-unknown-tag",
         lambda e: wl.tag_samples([1], "never", mode="remove"), "tag", InvalidValueError),
    case("tag_samples/categorical-name", lambda e: wl.tag_samples([1], "weather"), "tag",
         InvalidValueError),
    case("register_categorical_tag/name-with-equals",
         lambda e: wl.register_categorical_tag("a=b", ["x"]), "name", InvalidValueError),
    case("register_categorical_tag/values-a-string",
         lambda e: wl.register_categorical_tag("size", "small"), "values", InvalidTypeError),
    case("register_categorical_tag/value-with-NUL",
         lambda e: wl.register_categorical_tag("size", ["small", "a\x00"]), "values",
         InvalidValueError),
    case("register_categorical_tag/value-padded",
         lambda e: wl.register_categorical_tag("size", [" small"]), "values",
         InvalidValueError),
    case("register_categorical_tag/value-empty",
         lambda e: wl.register_categorical_tag("size", [""]), "values", InvalidValueError),
    case("register_categorical_tag/boolean-tag-name",
         lambda e: wl.register_categorical_tag("hard", ["x"]), "name", InvalidValueError),
    case("set_categorical_tag/value-not-a-string",
         lambda e: wl.set_categorical_tag([1], "weather", 3), "value", InvalidTypeError),
    case("set_categorical_tag/value-with-newline",
         lambda e: wl.set_categorical_tag([1], "weather", "sun\nny"), "value",
         InvalidValueError),
    case("set_categorical_tag/value-padded",
         lambda e: wl.set_categorical_tag([1], "weather", " sunny"), "value",
         InvalidValueError),
    case("set_categorical_tag/unknown-id-new-value",
         lambda e: wl.set_categorical_tag([3, 99999], "weather", "foggy"), "sample_ids",
         UnknownSampleError),
    case("set_categorical_tag/boolean-tag",
         lambda e: wl.set_categorical_tag([1], "hard", "x"), "tag", InvalidValueError),
    case("discard_samples/discarded-yes", lambda e: wl.discard_samples([1], discarded="yes"),
         "discarded", InvalidTypeError),
    case("discard_samples/unknown-id", lambda e: wl.discard_samples([1, 99999]), "sample_ids",
         UnknownSampleError),
    case("discard_samples/ids-None", lambda e: wl.discard_samples(None), "sample_ids",
         InvalidTypeError),
    case("get_samples_by_tag/tag-not-a-string", lambda e: wl.get_samples_by_tag(5), "tag",
         InvalidTypeError),
    case("get_samples_by_tag/unknown-tag", lambda e: wl.get_samples_by_tag("never"), "tag",
         InvalidValueError),
    case("get_samples_by_tag/unknown-value",
         lambda e: wl.get_samples_by_tag("weather=foggy"), "tag", InvalidValueError),
    case("get_samples_by_tag/limit-bool", lambda e: wl.get_samples_by_tag("hard", limit=True),
         "limit", InvalidTypeError),
    case("get_samples_by_tag/limit-negative",
         lambda e: wl.get_samples_by_tag("hard", limit=-1), "limit", InvalidValueError),
    case("get_discarded_samples/unknown-origin",
         lambda e: wl.get_discarded_samples(origin="test"), "origin", InvalidValueError),

    # ------------------------------------------------------------ history queries
    case("query_signal_history/name-not-a-string", lambda e: wl.query_signal_history(123),
         "signal_name", InvalidTypeError),
    case("query_signal_history/exp_hash-not-a-string",
         lambda e: wl.query_signal_history(LOSS, exp_hash=5), "exp_hash", InvalidTypeError),
    case("query_sample_history/unknown-id", lambda e: wl.query_sample_history(99999),
         "sample_id", UnknownSampleError),
    case("query_sample_history/signal_name-not-a-string",
         lambda e: wl.query_sample_history(1, signal_name=5), "signal_name", InvalidTypeError),
    case("query_instance_history/annotation_id-string",
         lambda e: wl.query_instance_history(1, "1"), "annotation_id", InvalidTypeError),

    # ------------------------------------------------------------ recording
    case("save_signals/not-a-dict", lambda e: wl.save_signals([1.0, 2.0], [1, 2]), "signals",
         InvalidTypeError),
    case("save_signals/wrong-length", lambda e: wl.save_signals({"x": [1.0, 2.0, 3.0]}, [1, 2]),
         "signals", InvalidValueError),
    case("save_signals/name-not-a-string", lambda e: wl.save_signals({5: [1.0]}, [1]),
         "signals", InvalidTypeError),
    case("save_signals/values-not-numbers", lambda e: wl.save_signals({"x": ["a"]}, [1]),
         "signals", InvalidTypeError),
    case("save_signals/log-no", lambda e: wl.save_signals({"x": [1.0]}, [1], log="no"), "log",
         InvalidTypeError),
    case("save_signals/step-negative", lambda e: wl.save_signals({"x": [1.0]}, [1], step=-1),
         "step", InvalidValueError),
    case("save_signals/step-string", lambda e: wl.save_signals({"x": [1.0]}, [1], step="3"),
         "step", InvalidTypeError),
    case("save_instance_signals/batch_idx-out-of-range",
         lambda e: wl.save_instance_signals({"iou": [0.5]}, [1, 2], [5]), "batch_idx",
         InvalidValueError),
    case("save_instance_signals/log-no",
         lambda e: wl.save_instance_signals({"iou": [0.5]}, [1, 2], [0], log="no"), "log",
         InvalidTypeError),
    case("save_instance_signals/origin-not-a-string",
         lambda e: wl.save_instance_signals({"iou": [0.5]}, ["new_1"], [0], origin=5),
         "origin", InvalidTypeError),

    # ------------------------------------------------------------ exports
    case("write_history/format-xml",
         lambda e: wl.write_history(e.exports / "h.json", format="xml"), "format",
         InvalidValueError),
    case("write_history/extension-contradicts-format",
         lambda e: wl.write_history(e.exports / "h.csv", format="json"), "path",
         InvalidValueError),
    case("write_history/type_of_history-unknown",
         lambda e: wl.write_history(e.exports / "h.json", type_of_history="daily"),
         "type_of_history", InvalidValueError),
    case("write_history/graph_name-not-a-string",
         lambda e: wl.write_history(e.exports / "h.json", graph_name=5), "graph_name",
         InvalidTypeError),
    case("write_history/instance_id-string",
         lambda e: wl.write_history(e.exports / "h.json", instance_id="a"), "instance_id",
         InvalidTypeError),
    case("write_history/experiment_hash-not-a-string",
         lambda e: wl.write_history(e.exports / "h.json", experiment_hash=5), "experiment_hash",
         InvalidTypeError),
    case("write_history/path-not-a-path", lambda e: wl.write_history(5), "path",
         InvalidTypeError),
    case("write_history/directory-is-a-file",
         lambda e: wl.write_history(e.exports / "a_file" / "h.json"), "path",
         InvalidValueError, setup=a_file),
    case("write_dataframe/format-xlsx",
         lambda e: wl.write_dataframe(e.exports / "d.json", format="xlsx"), "format",
         InvalidValueError),
    case("write_dataframe/extension-contradicts-format",
         lambda e: wl.write_dataframe(e.exports / "d.parquet", format="csv"), "path",
         InvalidValueError),
    case("write_dataframe/unknown-column",
         lambda e: wl.write_dataframe(e.exports / "d.json", columns=["nope"]), "columns",
         InvalidValueError),
    case("write_dataframe/columns-not-strings",
         lambda e: wl.write_dataframe(e.exports / "d.json", columns=5), "columns",
         InvalidTypeError),
    case("write_dataframe/instance_id-negative",
         lambda e: wl.write_dataframe(e.exports / "d.json", instance_id=-1), "instance_id",
         InvalidValueError),

    # ------------------------------------------------------------ evaluation
    case("request_evaluation/unknown-loader", lambda e: wl.request_evaluation("test_loader"),
         "loader_name", UnknownNameError),
    case("request_evaluation/unknown-tag",
         lambda e: wl.request_evaluation("train_loader", tags=["never"]), "tags",
         InvalidValueError),
    case("request_evaluation/tags-not-a-list",
         lambda e: wl.request_evaluation("train_loader", tags=5), "tags", InvalidTypeError),
    case("request_evaluation/timeout-string",
         lambda e: wl.request_evaluation("train_loader", timeout="1"), "timeout",
         InvalidTypeError),
    case("request_evaluation/timeout-negative",
         lambda e: wl.request_evaluation("train_loader", timeout=-1), "timeout",
         InvalidValueError),
    case("request_evaluation/resume-yes",
         lambda e: wl.request_evaluation("train_loader", resume="yes"), "resume",
         InvalidTypeError),

    # ------------------------------------------------------------ signals and loss shapes
    case("signal/name-not-a-string", digits_signal(name=5), "name", InvalidTypeError),
    case("signal/every-0", digits_signal(name="s", subscribe_to=LOSS, compute_every_n_steps=0),
         "compute_every_n_steps", InvalidValueError),
    case("signal/every-float",
         digits_signal(name="s", subscribe_to=LOSS, compute_every_n_steps=1.5),
         "compute_every_n_steps", InvalidTypeError),
    case("signal/include_history-yes",
         digits_signal(name="s", subscribe_to=LOSS, include_history="yes"), "include_history",
         InvalidTypeError),
    case("signal/metadata-without-history",
         digits_signal(name="s", subscribe_to=LOSS, include_history_metadata=True),
         "include_history_metadata", InvalidValueError),
    case("signal/subscribe_to-not-a-string", digits_signal(name="s", subscribe_to=5),
         "subscribe_to", InvalidTypeError),
    case("signal/not-callable", digits_signal(fn=5, name="s"), "fn", InvalidTypeError),
    case("compute_signals/origin-not-a-string",
         lambda e: wl.compute_signals(e.loader, origin=5), "origin", InvalidTypeError),
    case("compute_signals/unknown-signal",
         lambda e: wl.compute_signals(e.loader, signals=["nope"]), "signals",
         InvalidValueError),
    case("auto_tag_loss_shapes/every-float",
         lambda e: wl.auto_tag_loss_shapes(LOSS, every_n_steps=2.5), "every_n_steps",
         InvalidTypeError),
    case("auto_tag_loss_shapes/tag-with-equals",
         lambda e: wl.auto_tag_loss_shapes(LOSS, tag="shape=x"), "tag", InvalidValueError),
    case("auto_tag_loss_shapes/boolean-tag",
         lambda e: wl.auto_tag_loss_shapes(LOSS, tag="hard"), "tag", InvalidValueError),

    # ------------------------------------------------------------ tracking and media
    case("init/reinit-yes", lambda e: wl.init(reinit="yes"), "reinit", InvalidTypeError,
         setup=start_run),
    case("init/dir-not-a-path", lambda e: wl.init(dir=5), "dir", InvalidTypeError),
    case("init/project-empty", lambda e: wl.init(project=""), "project", InvalidValueError),
    case("init/id-with-slash", lambda e: wl.init(id="a/b"), "id", InvalidValueError),
    case("init/tags-a-string", lambda e: wl.init(tags="abc"), "tags", InvalidValueError),
    case("log/not-a-dict", lambda e: wl.log(5), "data", InvalidTypeError, setup=start_run),
    case("log/step-negative", lambda e: wl.log({"acc": 1.0}, step=-1), "step",
         InvalidValueError, setup=start_run),
    case("log/step-string", lambda e: wl.log({"acc": 1.0}, step="1"), "step", InvalidTypeError,
         setup=start_run),
    case("log/commit-no", lambda e: wl.log({"acc": 1.0}, commit="no"), "commit",
         InvalidTypeError, setup=start_run),
    case("log/key-underscore", lambda e: wl.log({"_acc": 1.0}), "data", InvalidValueError,
         setup=start_run),
    case("log/value-object", lambda e: wl.log({"acc": 1.0, "x": object()}), "data",
         InvalidTypeError, setup=start_run),
    case("log/mixed-media-list",
         lambda e: wl.log({"m": [wl.Image(np.zeros((4, 4))), wl.Html("<b>x</b>")]}), "data",
         InvalidValueError, setup=start_run),
    case("log/no-run", lambda e: wl.log({"acc": 1.0}), "wl.log", StateError),
    case("finish/exit_code-string", lambda e: wl.finish(exit_code="x"), "exit_code",
         InvalidTypeError, setup=start_run),
    case("summary/key-not-a-string", lambda e: e.run.summary.__setitem__(5, 1.0), "key",
         InvalidTypeError, setup=start_run),
    case("plot/line_series-string-number", lambda e: plot.line_series([1, 2], [[1, "2"]]),
         "ys", InvalidTypeError),
    case("plot/line-unknown-column",
         lambda e: plot.line(wl.Table(columns=["a", "b"], data=[[1, 2]]), "a", "c"), "y",
         InvalidValueError),
    case("plot/confusion_matrix-lengths",
         lambda e: plot.confusion_matrix(preds=[0], y_true=[0, 1]), "y_true",
         InvalidValueError),
    case("plot/pr_curve-labels-not-a-list",
         lambda e: plot.pr_curve([0, 1], [[0.6, 0.4], [0.2, 0.8]], labels=5), "labels",
         InvalidTypeError),
    case("media/Histogram-num_bins-0", lambda e: wl.Histogram([1, 2, 3], num_bins=0),
         "num_bins", InvalidValueError),
    case("media/Image-4d", lambda e: wl.Image(np.zeros((2, 2, 2, 2))), "data_or_path",
         InvalidValueError),
    case("media/Histogram-num_bins-string", lambda e: wl.Histogram([1, 2, 3], num_bins="8"),
         "num_bins", InvalidTypeError),
    case("media/Video-fps-string",
         lambda e: wl.Video(np.zeros((2, 3, 4, 4), dtype=np.uint8), fps="4"), "fps",
         InvalidTypeError),
    case("media/Audio-no-sample_rate", lambda e: wl.Audio(np.zeros(100)), "sample_rate",
         InvalidValueError),
    case("media/Table-row-length", lambda e: wl.Table(columns=["a"], data=[[1, 2]]), "data",
         InvalidValueError),

    # ------------------------------------------------------------ per-sample metrics
    case("collect_metrics/exclude_zero_weights-no",
         lambda e: wl.collect_metrics(e.loader, [collector], exclude_zero_weights="no",
                                      progress=False), "exclude_zero_weights", InvalidTypeError),
    case("collect_metrics/collect_aggregates-no",
         lambda e: wl.collect_metrics(e.loader, [collector], collect_aggregates="no",
                                      progress=False), "collect_aggregates", InvalidTypeError),
    case("collect_metrics/batch_size-0",
         lambda e: wl.collect_metrics(e.loader, [collector], dataloader_args={"batch_size": 0},
                                      progress=False), "dataloader_args", InvalidValueError),
    case("collect_metrics/constant-not-a-number",
         lambda e: wl.collect_metrics(e.loader, [collector], constants={"epoch": "x"},
                                      progress=False), "constants", InvalidTypeError),

    # ------------------------------------------------------------ Session
    case("Session/flush_interval-None", new_session(flush_interval=None), "flush_interval",
         InvalidTypeError),
    case("Session/flush_interval-string", new_session(flush_interval="0.5"), "flush_interval",
         InvalidTypeError),
    case("Session/flush_interval-0", new_session(flush_interval=0), "flush_interval",
         InvalidValueError),
    case("Session/checkpoint_every-string", new_session(checkpoint_every="abc"),
         "checkpoint_every", InvalidTypeError),
    case("Session/checkpoint_every-float", new_session(checkpoint_every=1.5),
         "checkpoint_every", InvalidTypeError),
    case("Session/root_log_dir-not-a-path", new_session(root_log_dir=5), "root_log_dir",
         InvalidTypeError),

    # ------------------------------------------------------------ files: YAML hyperparameters
    case("yaml/invalid-syntax", yaml_hp("bad.yaml"), "bad.yaml", InvalidValueError,
         setup=write_yaml("bad.yaml", "optimizer: [unclosed\n")),
    case("yaml/top-level-list", yaml_hp("list.yaml"), "list.yaml", InvalidTypeError,
         setup=write_yaml("list.yaml", "- 1\n- 2\n")),
    case("yaml/lr-fast", yaml_hp("lr.yaml", defaults={"optimizer": {"lr": 0.1}}),
         "optimizer.lr", InvalidTypeError, setup=write_yaml("lr.yaml", "optimizer:\n  lr: fast\n")),
    case("yaml/missing-file", yaml_hp("missing.yaml"), "obj", MissingFileError),
    case("yaml/poll_interval-0", yaml_hp("ok.yaml", poll_interval=0), "poll_interval",
         InvalidValueError, setup=write_yaml("ok.yaml", "optimizer:\n  lr: 0.1\n")),
    case("yaml/defaults-not-a-dict", yaml_hp("ok.yaml", defaults=5), "defaults",
         InvalidTypeError, setup=write_yaml("ok.yaml", "optimizer:\n  lr: 0.1\n")),
    case("yaml/path-is-a-directory",
         lambda e: e.session.watch_or_edit(str(e.exports), flag="hp", obj_name="config"),
         "obj", InvalidValueError),

    # ------------------------------------------------------------ panels
    case("TagEditor/create-NUL", panel(TagEditor, {"type": "create_tag", "name": "a\x00b"}),
         "name", ArgumentError),
    case("TagEditor/create-equals", panel(TagEditor, {"type": "create_tag", "name": "k=v"}),
         "name", ArgumentError),
    case("TagEditor/create-tag-prefix",
         panel(TagEditor, {"type": "create_tag", "name": "tag:hard"}), "name", ArgumentError),
    case("TagEditor/create-257-chars",
         panel(TagEditor, {"type": "create_tag", "name": "a" * 257}), "name", ArgumentError),
    case("TagEditor/create-line-separator",
         panel(TagEditor, {"type": "create_tag", "name": "a\u2028b"}), "name", ArgumentError),
    case("TagEditor/create-not-a-string", panel(TagEditor, {"type": "create_tag", "name": 5}),
         "name", ArgumentError),
    case("TagEditor/categorical-name-equals",
         panel(TagEditor, {"type": "create_categorical", "name": "a=b", "values": ["x"]}),
         "name", ArgumentError),
    case("TagEditor/categorical-value-NUL",
         panel(TagEditor, {"type": "create_categorical", "name": "size",
                           "values": ["small", "a\x00"]}), "values", ArgumentError),
    case("TagEditor/categorical-values-a-string",
         panel(TagEditor, {"type": "create_categorical", "name": "size", "values": "a,b"}),
         "values", ArgumentError),
    case("TagEditor/apply-unknown-action",
         panel(TagEditor, {"type": "apply", "action": "explode"}), "action", MessageError),
    case("TagEditor/apply-unknown-tag",
         panel(TagEditor, {"type": "apply", "action": "add_tag", "tag": "never"}), "tag",
         UnknownNameError),
    case("TagEditor/apply-unknown-value",
         panel(TagEditor, {"type": "apply", "action": "set_categorical", "tag": "weather",
                           "value": "foggy"}), "value", InvalidValueError),
    case("TagEditor/apply-value-newline",
         panel(TagEditor, {"type": "apply", "action": "set_categorical", "tag": "weather",
                           "value": "sun\nny"}), "value", ArgumentError),
    case("SampleGrid/action-ids-a-string",
         panel(SampleGrid, {"type": "action", "action": "discard", "sample_ids": "1"}),
         "sample_ids", ArgumentError),
    case("SampleGrid/action-unknown-id",
         panel(SampleGrid, {"type": "action", "action": "discard", "sample_ids": [1, 99999]}),
         "sample_ids", UnknownSampleError),
    case("SampleGrid/page-limit-0", panel(SampleGrid, {"type": "page", "limit": 0}), "limit",
         InvalidValueError),
    case("SampleGrid/page-unknown-tag", panel(SampleGrid, {"type": "page", "tags": ["never"]}),
         "tags", UnknownNameError),
    case("SampleGrid/page-tag-NUL", panel(SampleGrid, {"type": "page", "tags": ["a\x00"]}),
         "tags", ArgumentError),
    case("SampleGrid/page-unknown-sort", panel(SampleGrid, {"type": "page", "sort_by": "nope"}),
         "sort_by", InvalidValueError),
    case("SampleGrid/flagged-no-origin",
         panel(SampleGrid, {"type": "flagged", "action": "discard"}), "origin", ArgumentError),
    case("SampleGrid/flagged-unknown-origin",
         panel(SampleGrid, {"type": "flagged", "action": "discard", "origin": "test"}),
         "origin", InvalidValueError),
    case("SampleGrid/flagged-changed-flag-set",
         panel(SampleGrid, {"type": "flagged", "action": "tag", "origin": "train",
                            "expect": "0000000000000000"}), "expect", StateError),
    case("SampleGrid/undo-unknown-token",
         panel(SampleGrid, {"type": "undo", "token": "u1"}), "token", StateError),
    case("SampleGrid/select-unknown-id",
         panel(SampleGrid, {"type": "select", "sample_ids": [99999]}), "sample_ids",
         UnknownSampleError),
    case("SampleGrid/detail-ref-a-number", panel(SampleGrid, {"type": "detail", "ref": 5}), "ref",
         MessageError),
    case("SampleGrid/detail-unknown-sample",
         panel(SampleGrid, {"type": "detail", "ref": ["train", 99999]}), "sample_id",
         UnknownSampleError),
    case("show_sample/unknown-id", lambda e: wl.show_sample(99999, session=e.session),
         "sample_id", UnknownSampleError),
    case("show_sample/unknown-origin",
         lambda e: wl.show_sample(1, origin="test", session=e.session), "origin",
         InvalidValueError),
    case("TrainingControls/evaluate-unknown-loader",
         panel(TrainingControls, {"type": "evaluate", "loader": "test_loader"}), "loader",
         UnknownNameError),
    case("TrainingControls/evaluate-timeout-negative",
         panel(TrainingControls, {"type": "evaluate", "loader": "train_loader",
                                  "timeout": -1}), "timeout", ArgumentError),
    case("TrainingControls/evaluate-resume-yes",
         panel(TrainingControls, {"type": "evaluate", "loader": "train_loader",
                                  "resume": "yes"}), "resume", ArgumentError),
    case("TrainingControls/evaluate-tag-prefix",
         panel(TrainingControls, {"type": "evaluate", "loader": "train_loader",
                                  "tags": ["tag:hard"]}), "tags", ArgumentError),
    case("HyperParameterEditor/lr-fast",
         panel(HyperParameterEditor, {"type": "set", "path": "optimizer.lr", "value": "fast"}),
         "optimizer.lr", InvalidTypeError),
    case("HyperParameterEditor/unknown-path",
         panel(HyperParameterEditor, {"type": "set", "path": "optimizer.beta", "value": 0.9}),
         "path", MessageError),
    case("HyperParameterEditor/section-value",
         panel(HyperParameterEditor, {"type": "set", "path": "optimizer.lr",
                                      "value": {"lr": 1}}), "value", MessageError),
    case("LossCurves/step_click-unknown-signal",
         panel(LossCurves, {"type": "step_click", "signal": "nope", "step": 1}), "signal",
         MessageError),

    # ------------------------------------------------------------ CLI command table
    case("cli/tag_add-NUL", command("tag_add", tag="a\x00b", ids=[1]), "tag", CommandError),
    case("cli/tag_add-equals", command("tag_add", tag="k=v", ids=[1]), "tag", CommandError),
    case("cli/tag_add-not-a-string", command("tag_add", tag=5, ids=[1]), "tag", CommandError),
    case("cli/tag_remove-unknown-tag", command("tag_remove", tag="never", ids=[1]), "tag",
         CommandError),
    case("cli/discard-no-ids", command("discard", ids=[]), "ids", CommandError),
    case("cli/discard_flagged-no-origin", command("discard_flagged"), "origin", CommandError),
    case("cli/tag_flagged-tag-prefix", command("tag_flagged", origin="train", tag="tag:x"),
         "tag", CommandError),
    case("cli/discard-float-id", command("discard", ids=[1.5]), "ids", CommandError),
    case("cli/discard-unknown-id", command("discard", ids=[1, 99999]), "sample_ids",
         CommandError),
    case("cli/cat_set-value-newline",
         command("cat_set", tag="weather", value="a\nb", ids=[1]), "value", CommandError),
    case("cli/cat_set-value-not-a-string", command("cat_set", tag="weather", value=3, ids=[1]),
         "value", CommandError),
    case("cli/hp_set-lr-fast", command("hp_set", path="optimizer.lr", value="fast"),
         "optimizer.lr", CommandError),
    case("cli/hp_set-unknown-path", command("hp_set", path="optimizer.beta", value=0.9),
         "optimizer.beta", CommandError),
    case("cli/hp_set-empty-part", command("hp_set", path="optimizer..lr", value=0.1), "path",
         CommandError),
    case("cli/evaluate-unknown-loader", command("evaluate", loader="test_loader"), "loader",
         CommandError),
    case("cli/evaluate-wait-negative", command("evaluate", loader="train_loader", wait=-1),
         "wait", CommandError),
    case("cli/evaluate-tags-a-string", command("evaluate", loader="train_loader", tags="hard"),
         "tags", CommandError),
    case("cli/evaluate-tag-NUL", command("evaluate", loader="train_loader", tags=["a\x00"]),
         "tags", CommandError),
    case("cli/export-relative-path", command("export_history", path="h.json"), "path",
         CommandError),
    case("cli/export-format-xml",
         lambda e: command("export_history", path=str(e.exports / "h.json"), format="xml")(e),
         "format", CommandError),
    case("cli/export-extension-contradicts-format",
         lambda e: command("export_history", path=str(e.exports / "h.csv"), format="json")(e),
         "path", CommandError),
    case("cli/unknown-command", request({"command": "shutdown"}), "command", CommandError),
    case("cli/unexpected-argument", request({"command": "pause", "args": {"force": True}}),
         "force", CommandError),
    case("cli/missing-argument", request({"command": "tag_add", "args": {"ids": [1]}}), "tag",
         CommandError),
    case("cli/request-not-an-object", request(["tag_add"]), "request", CommandError),
]


def names_argument(message: str, argument: str) -> bool:
    """True when ``message`` names ``argument``: ``argument:``, ``argument[`` or ``argument=``
    at the start of the message (or of an item of a list of arguments), or the argument in
    quotes."""
    arg = re.escape(argument)
    pattern = rf"(?:^|, |\(){arg}(?=[:\[=])|'{arg}'"
    return re.search(pattern, message) is not None


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_refused_naming_the_argument_and_changes_nothing(env, bad: Case):
    if bad.setup is not None:
        bad.setup(env)
    before = snapshot(env)
    frame = env.session.dataframe
    with pytest.raises(WeightslabError) as info:
        bad.call(env)
    exc = info.value
    assert isinstance(exc, bad.error), f"expected {bad.error.__name__}, got {type(exc).__name__}"
    message = str(exc)
    assert names_argument(message, bad.argument), \
        f"the message does not name {bad.argument!r}: {message}"
    if env.reply is not None:  # a panel: its reply says the same
        assert names_argument(env.reply, bad.argument), env.reply
    pdt.assert_frame_equal(env.session.dataframe, frame)
    assert snapshot(env) == before
    env.clean = bad.setup is None  # proven unchanged: the next row may reuse the session


def test_the_catalogue_is_large_and_every_row_is_checked():
    ids = [p.id for p in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 70
    assert all(not p.marks for p in CASES)  # no row is expected to fail


def test_names_argument_is_strict():
    assert names_argument("tag: no tag named 'x'", "tag")
    assert names_argument("signals['x']: first dimension is 3", "signals")
    assert names_argument("hyperparameter 'optimizer.lr': expected a float", "optimizer.lr")
    assert not names_argument("name: 'hard' is already a boolean tag", "tag")
    assert not names_argument("tags: 'foggy' is not a value", "tag")
    assert not names_argument("loader_name: no watched loader", "loader")
    assert not names_argument("tag: no tag named 'x'; known tags: ['a']", "tags")
    assert names_argument("per_sample, per_instance: choose one", "per_instance")
