"""write_history / write_dataframe: where the file goes, what it holds in each format, which
rows and columns the filters keep, and that a failed export never leaves a partial file."""

from __future__ import annotations

import hashlib
import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import weightslab_nb as wl
from weightslab_nb.history import export

GLOBAL_KEYS = ["graph_name", "experiment_hash", "step", "metric_value"]
# the contract's keys, in its order, plus "origin" (samples of two origins may share an id)
SAMPLE_KEYS = ["graph_name", "experiment_hash", "sample_id", "step", "metric_value", "origin"]
INSTANCE_KEYS = ["graph_name", "experiment_hash", "sample_id", "annotation_id", "step",
                 "metric_value", "origin"]
CSV_HEADER = "type,graph_name,experiment_hash,step,metric_value,sample_id,annotation_id,origin"


@pytest.fixture
def run(session):
    """Two experiments on samples 1, 2, "img" (mixed id types) and instances of "img" and 1.

    Under h1 (lr=0.1), step 1: loss and acc for the three samples; iou for img#1, img#2, 1#1.
    Under h2 (lr=0.01), step 2: loss for 1 and "img"; iou for img#1.
    """
    hp = session.watch_or_edit({"lr": 0.1}, flag="hp")
    h1 = session.get_current_experiment_hash()
    session.save_signals({"loss": torch.tensor([0.5, 1.5, 2.5]), "acc": [1.0, 0.0, 1.0]},
                         [1, 2, "img"], step=1)
    session.save_instance_signals({"iou": [0.8, 0.6, 0.9]}, ["img", 1], [0, 0, 1], step=1)
    hp["lr"] = 0.01
    h2 = session.get_current_experiment_hash()
    assert h1 != h2
    session.save_signals({"loss": np.array([0.25, 0.125])}, [1, "img"], step=2)
    session.save_instance_signals({"iou": [0.85]}, ["img"], [0], step=2)
    return SimpleNamespace(s=session, h1=h1, h2=h2)


def _load(path):
    return json.loads(path.read_text())


def _files(directory):
    return sorted(p.name for p in directory.iterdir())


def _exports(tmp_path):
    """What tests wrote under tmp_path (the session's own "run" directory left out)."""
    return [name for name in _files(tmp_path) if name != "run"]


# ---------------------------------------------------------------- contract shapes
def test_history_json_has_the_documented_shape(session, tmp_path):
    session.watch_or_edit({"experiment_name": "shape"}, flag="hp")
    h = session.get_current_experiment_hash()
    session.record_scalar("loss", 0.42, step=1)
    session.save_signals({"loss": [0.38]}, ["img0"], step=1, log=False)
    session.save_instance_signals({"iou": [0.81]}, ["img0"], [0], step=1, log=False)

    path = session.write_history(tmp_path / "history.json")

    assert path == tmp_path / "history.json"
    data = _load(path)
    assert data == {
        "global": [{"graph_name": "loss", "experiment_hash": h, "step": 1, "metric_value": 0.42}],
        "sample": [{"graph_name": "loss", "experiment_hash": h, "sample_id": "img0", "step": 1,
                    "metric_value": 0.38, "origin": "unassigned"}],
        "instance": [{"graph_name": "iou", "experiment_hash": h, "sample_id": "img0",
                      "annotation_id": 1, "step": 1, "metric_value": 0.81,
                      "origin": "unassigned"}],
    }
    assert list(data) == ["global", "sample", "instance"]
    assert list(data["global"][0]) == GLOBAL_KEYS
    assert list(data["sample"][0]) == SAMPLE_KEYS
    assert list(data["instance"][0]) == INSTANCE_KEYS


def test_history_csv_has_the_documented_shape(session, tmp_path):
    session.watch_or_edit({"experiment_name": "shape"}, flag="hp")
    h = session.get_current_experiment_hash()
    session.record_scalar("loss", 0.42, step=1)
    session.save_signals({"loss": [0.38]}, ["img0"], step=1, log=False)
    session.save_instance_signals({"iou": [0.81]}, ["img0"], [0], step=1, log=False)

    path = session.write_history(tmp_path / "history.csv", format="csv")

    assert path.read_text().splitlines() == [
        CSV_HEADER,
        f"global,loss,{h},1,0.42,,,",
        f"sample,loss,{h},1,0.38,img0,,unassigned",
        f"instance,iou,{h},1,0.81,img0,1,unassigned",
    ]


def test_dataframe_json_and_csv_have_the_documented_shape(session, tmp_path):
    session.save_signals({"loss": [0.42]}, ["img0"], step=0)
    session.save_instance_signals({"iou": [0.81]}, ["img0"], [0], step=0)
    session.set_categorical_tag(["img0"], "loss_shape", "monotonic")
    columns = ["discarded", "tag:loss_shape", "signals"]

    rows = _load(session.write_dataframe(tmp_path / "df.json", columns=columns))
    text = session.write_dataframe(tmp_path / "df.csv", format="csv", columns=columns).read_text()

    assert rows == [
        {"sample_id": "img0", "annotation_id": 0, "discarded": False,
         "tag:loss_shape": "monotonic", "signals//loss": 0.42, "signals//iou": None},
        {"sample_id": "img0", "annotation_id": 1, "discarded": None,
         "tag:loss_shape": None, "signals//loss": None, "signals//iou": 0.81},
    ]
    assert [list(r) for r in rows] == [["sample_id", "annotation_id", "discarded",
                                        "tag:loss_shape", "signals//loss", "signals//iou"]] * 2
    assert text.splitlines() == [
        "sample_id,annotation_id,discarded,tag:loss_shape,signals//loss,signals//iou",
        "img0,0,False,monotonic,0.42,",
        "img0,1,,,,0.81",
    ]


def test_module_functions_export_the_current_session(session, tmp_path):
    session.save_signals({"loss": [1.0]}, [3], step=0)
    assert wl.write_history(tmp_path / "h.json", experiment_hash="all") == tmp_path / "h.json"
    assert _load(wl.write_dataframe(tmp_path / "d.json"))[0]["sample_id"] == 3


# ---------------------------------------------------------------- where the file goes
def test_no_path_writes_into_root_log_dir_under_a_digest_name(run):
    history = run.s.write_history()
    frame = run.s.write_dataframe()
    assert history.parent == run.s.root_log_dir and frame.parent == run.s.root_log_dir
    assert re.fullmatch(r"[0-9a-f]{8}_history\.json", history.name)
    assert re.fullmatch(r"[0-9a-f]{8}_dataframe\.json", frame.name)
    assert history.is_file() and frame.is_file()


def test_a_path_with_an_extension_is_the_file_and_its_parents_are_created(run, tmp_path):
    target = tmp_path / "a" / "b" / "run1_samples.csv"
    assert run.s.write_history(target, format="csv", type_of_history="sample") == target
    assert target.read_text().startswith(CSV_HEADER + "\n")
    other = tmp_path / "c" / "table.txt"  # an extension naming no format is taken as given
    assert run.s.write_dataframe(other, format="csv") == other and other.is_file()


def test_a_directory_path_is_created_and_named_by_the_filters(run, tmp_path):
    directory = tmp_path / "new" / "myrun"
    first = run.s.write_history(directory)
    assert first.parent == directory and directory.is_dir()
    first.write_text("stale")
    again = run.s.write_history(directory)
    assert again == first and json.loads(again.read_text())  # overwritten, same name
    assert run.s.write_history(directory, experiment_hash="all") != first
    assert len(_files(directory)) == 2
    dotted = tmp_path / "runs.v2"  # an existing directory, even with a dot in its name
    dotted.mkdir()
    assert run.s.write_dataframe(dotted).parent == dotted
    slash = run.s.write_history(str(tmp_path / "out.d") + "/", format="csv")
    assert slash.parent == tmp_path / "out.d" and slash.name.endswith("_history.csv")


def test_equal_filters_give_the_same_name_and_different_filters_another(run, tmp_path):
    d = tmp_path / "exports"

    def name(**kw):
        return run.s.write_history(d, **kw).name

    assert name() == name(type_of_history="all") == name(experiment_hash=run.h2)
    assert name(graph_name="loss") == name(graph_name=["loss"]) == name(graph_name="signals//loss")
    assert name(graph_name=["loss", "acc"]) == name(graph_name=["acc", "loss", "acc"])
    assert name(sample_id=1) == name(sample_id=[1]) == name(sample_id=np.int64(1))
    assert name(sample_id=[1, "img"]) == name(sample_id=["img", 1])
    assert name(type_of_history="instance") == name(type_of_history="instances")
    assert name(type_of_history="global", sample_id=1) == name(type_of_history="global")
    assert name(type_of_history="sample", instance_id=1) == name(type_of_history="sample")
    different = {name(), name(experiment_hash="all"), name(experiment_hash=run.h1),
                 name(sample_id=1), name(sample_id="1"), name(instance_id=1),
                 name(graph_name="loss"), name(type_of_history="global")}
    assert len(different) == 8
    # the format is not in the digest: only the extension differs
    assert run.s.write_history(d, format="csv").stem == run.s.write_history(d).stem

    def df_name(**kw):
        return run.s.write_dataframe(d, **kw).name

    assert df_name() == df_name(columns="all") == df_name(columns=["signals", "all"])
    assert df_name(columns="tags") == df_name(columns=["tags", "sample_id", "tags"])
    assert df_name(instance_id=0) == df_name(instance_id=[0, 0])
    assert len({df_name(), df_name(columns="tags"), df_name(columns=["signals", "discarded"]),
                df_name(columns=["discarded", "signals"]), df_name(sample_id=1),
                df_name(instance_id=0)}) == 6


def test_the_name_is_the_md5_prefix_of_the_normalised_filters(run, tmp_path):
    path = run.s.write_history(tmp_path, graph_name=["signals//loss", "acc"], sample_id=2)
    canonical = json.dumps({"type_of_history": "all", "graph_name": ["acc", "loss"],
                            "experiment_hash": run.h2, "sample_id": [2], "instance_id": None},
                           sort_keys=True, separators=(",", ":"))
    assert path.name == hashlib.md5(canonical.encode()).hexdigest()[:8] + "_history.json"


def test_an_extension_naming_another_format_is_refused(run, tmp_path):
    with pytest.raises(ValueError, match="path"):
        run.s.write_history(tmp_path / "h.csv")  # format defaults to json
    with pytest.raises(ValueError, match="path"):
        run.s.write_dataframe(tmp_path / "d.parquet", format="csv")
    assert _exports(tmp_path) == []


@pytest.mark.parametrize("call", ["write_history", "write_dataframe"])
def test_an_unsupported_format_raises_before_anything_is_written(run, tmp_path, call):
    with pytest.raises(ValueError, match=r"format.*'json', 'csv', 'parquet'.*'xlsx'"):
        getattr(run.s, call)(tmp_path / "out", format="xlsx")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_a_failure_mid_write_leaves_no_partial_file_and_the_old_file_intact(
        run, tmp_path, monkeypatch, fmt):
    target = tmp_path / "out" / f"history.{fmt}"
    run.s.write_history(target, format=fmt)
    before = target.read_bytes()

    def json_fails_midway(con, out, table, raw):
        out.write(b'[{"graph_name": ')
        raise OSError("disk full")

    def parquet_fails_midway(table, where, **kwargs):
        with open(where, "wb") as f:
            f.write(b"PAR1 partial")
        raise OSError("disk full")

    if fmt == "json":
        monkeypatch.setattr(export, "_write_json_records", json_fails_midway)
    else:
        monkeypatch.setattr(pq, "write_table", parquet_fails_midway)
    with pytest.raises(OSError, match="disk full"):
        run.s.write_history(target, format=fmt, experiment_hash="all")
    assert target.read_bytes() == before
    assert _files(target.parent) == [target.name]
    with pytest.raises(OSError, match="disk full"):
        run.s.write_history(tmp_path / "fresh" / f"h.{fmt}", format=fmt)
    assert _files(tmp_path / "fresh") == []


def test_a_dataframe_csv_failure_leaves_nothing(run, tmp_path, monkeypatch):
    def broken(self, path, **kwargs):
        with open(path, "w") as f:
            f.write("sample_id,annot")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        run.s.write_dataframe(tmp_path / "d.csv", format="csv")
    assert _exports(tmp_path) == []


def test_a_directory_in_the_way_of_the_target_fails_cleanly(run, tmp_path):
    d = tmp_path / "exports"
    path = run.s.write_history(d, format="csv")
    path.unlink()
    path.mkdir()  # a directory now sits where the file goes
    with pytest.raises(OSError):
        run.s.write_history(d, format="csv")
    assert _files(d) == [path.name] and path.is_dir() and not any(path.iterdir())


# ---------------------------------------------------------------- history: round trips
def test_history_json_round_trips_the_recorded_values(run, tmp_path):
    data = _load(run.s.write_history(tmp_path / "h.json", experiment_hash="all"))
    g = run.s.history_frame("global")
    assert [(r["graph_name"], r["experiment_hash"], r["step"], r["metric_value"])
            for r in data["global"]] == list(zip(g.graph_name, g.experiment_hash, g.step,
                                                 g.metric_value))
    h1, h2 = run.h1, run.h2
    sample = [tuple(r.values()) for r in data["sample"]]
    assert sample == list(run.s.history_frame("sample").itertuples(index=False, name=None))
    u = "unassigned"  # the origin of ids first seen in save_signals
    assert sorted(sample, key=str) == sorted([
        ("acc", h1, 1, 1, 1.0, u), ("loss", h1, 1, 1, 0.5, u), ("loss", h2, 1, 2, 0.25, u),
        ("acc", h1, 2, 1, 0.0, u), ("loss", h1, 2, 1, 1.5, u),
        ("acc", h1, "img", 1, 1.0, u), ("loss", h1, "img", 1, 2.5, u),
        ("loss", h2, "img", 2, 0.125, u)], key=str)
    assert sorted((tuple(r.values()) for r in data["instance"]), key=str) == sorted([
        ("iou", h1, "img", 1, 1, 0.8, u), ("iou", h2, "img", 1, 2, 0.85, u),
        ("iou", h1, "img", 2, 1, 0.6, u), ("iou", h1, 1, 1, 1, 0.9, u)], key=str)
    assert all(type(r["sample_id"]) is int for r in data["sample"] if r["sample_id"] != "img")


def test_history_csv_round_trips_and_leaves_na_fields_empty(run, tmp_path):
    path = run.s.write_history(tmp_path / "h.csv", format="csv", experiment_hash="all")
    lines = path.read_text().splitlines()
    assert lines[0] == CSV_HEADER
    assert all(line.endswith(",,") for line in lines if line.startswith("global,"))
    assert all(not line.endswith(",") for line in lines if line.startswith("instance,"))
    back = pd.read_csv(path, dtype={"sample_id": str})
    assert back["type"].tolist() == ["global"] * 5 + ["sample"] * 8 + ["instance"] * 4
    sample = back[back["type"] == "sample"]
    expected = run.s.history_frame("sample")
    assert sample["sample_id"].tolist() == [str(s) for s in expected["sample_id"]]
    assert sample["metric_value"].tolist() == expected["metric_value"].tolist()
    assert sample["step"].tolist() == expected["step"].tolist()
    inst = back[back["type"] == "instance"]
    assert inst["annotation_id"].tolist() == run.s.history_frame("instance")[
        "annotation_id"].tolist()


def test_history_parquet_has_the_csv_columns_typed(run, tmp_path):
    path = run.s.write_history(tmp_path / "h.parquet", format="parquet", experiment_hash="all")
    table = pq.read_table(path)
    assert table.column_names == CSV_HEADER.split(",")
    assert table.schema.field("step").type == pa.int64()
    assert table.schema.field("metric_value").type == pa.float64()
    assert table.schema.field("annotation_id").type == pa.int64()
    assert table.schema.field("sample_id").type == pa.string()  # ids 1, 2 and "img" are mixed
    back = table.to_pandas()
    glob = back[back["type"] == "global"]
    assert glob["sample_id"].isna().all() and glob["annotation_id"].isna().all()
    inst = back[back["type"] == "instance"]
    assert sorted(zip(inst["sample_id"], inst["annotation_id"], inst["metric_value"])) == [
        ("1", 1, 0.9), ("img", 1, 0.8), ("img", 1, 0.85), ("img", 2, 0.6)]


def test_parquet_sample_ids_stay_ints_when_all_ids_are_ints(session, tmp_path):
    session.save_signals({"loss": [0.5, 0.25]}, [10, 11], step=3)
    table = pq.read_table(session.write_history(tmp_path / "h.parquet", format="parquet"))
    assert table.schema.field("sample_id").type == pa.int64()
    assert table.column("sample_id").to_pylist() == [None, 10, 11]


def test_floats_round_trip_exactly_and_non_finite_values_follow_each_format(session, tmp_path):
    values = [0.1 + 0.2, 1.2345678901234567e-8, 1e-300, float("inf"), float("nan")]
    session.save_signals({"loss": values}, list(range(5)), step=0, log=False)
    data = _load(session.write_history(tmp_path / "h.json", type_of_history="sample"))
    assert [r["metric_value"] for r in data["sample"]] == values[:3] + [None, None]
    back = pd.read_csv(session.write_history(tmp_path / "h.csv", format="csv"))
    assert back["metric_value"].tolist()[:4] == values[:4] and math.isnan(back["metric_value"][4])
    table = pq.read_table(session.write_history(tmp_path / "h.parquet", format="parquet"))
    assert table.column("metric_value").to_pylist()[:4] == values[:4]


def test_an_empty_history_exports_empty_sections(session, tmp_path):
    assert _load(session.write_history(tmp_path / "h.json")) == {
        "global": [], "sample": [], "instance": []}
    assert session.write_history(tmp_path / "h.csv", format="csv").read_text() == CSV_HEADER + "\n"
    assert pq.read_table(session.write_history(tmp_path / "h.parquet", format="parquet")
                         ).num_rows == 0


# ---------------------------------------------------------------- history: filters
@pytest.mark.parametrize("kind, sections", [
    (None, ["global", "sample", "instance"]), ("all", ["global", "sample", "instance"]),
    ("global", ["global"]), ("sample", ["sample"]), ("instance", ["instance"]),
    ("instances", ["instance"])])
def test_type_of_history_selects_the_sections(run, tmp_path, kind, sections):
    data = _load(run.s.write_history(tmp_path / "h.json", type_of_history=kind))
    assert list(data) == sections and all(data[s] for s in sections)
    back = pd.read_csv(run.s.write_history(tmp_path / "h.csv", format="csv",
                                           type_of_history=kind))
    assert sorted(set(back["type"])) == sorted(sections)


def test_an_unknown_type_of_history_raises(run, tmp_path):
    with pytest.raises(ValueError, match="type_of_history.*'samples'"):
        run.s.write_history(tmp_path / "h.json", type_of_history="samples")
    assert _exports(tmp_path) == []


def test_experiment_hash_none_is_the_current_run_and_all_is_every_run(run, tmp_path):
    def hashes(**kw):
        data = _load(run.s.write_history(tmp_path / "h.json", **kw))
        return {layer: {r["experiment_hash"] for r in rows} for layer, rows in data.items()}

    assert hashes() == {"global": {run.h2}, "sample": {run.h2}, "instance": {run.h2}}
    every = {run.h1, run.h2}
    assert hashes(experiment_hash="all") == {"global": every, "sample": every, "instance": every}
    assert hashes(experiment_hash=run.h1) == {"global": {run.h1}, "sample": {run.h1},
                                              "instance": {run.h1}}
    assert hashes(experiment_hash="0" * 24) == {"global": set(), "sample": set(),
                                                "instance": set()}
    current = _load(run.s.write_history(tmp_path / "h.json"))["sample"]
    assert [(r["sample_id"], r["metric_value"]) for r in current] == [(1, 0.25), ("img", 0.125)]


def test_rows_recorded_without_an_experiment(make_session, tmp_path):
    s = make_session("plain")
    s.save_signals({"loss": [1.0, 2.0]}, ["a", "b"], step=0)
    assert s.get_current_experiment_hash() is None
    rows = _load(s.write_history(tmp_path / "h.json"))["sample"]
    assert [(r["sample_id"], r["experiment_hash"]) for r in rows] == [("a", None), ("b", None)]
    s.watch_or_edit({"lr": 1}, flag="hp")  # from now on rows belong to an experiment
    s.save_signals({"loss": [3.0]}, ["a"], step=1)
    data = _load(s.write_history(tmp_path / "h.json"))
    assert [r["metric_value"] for r in data["sample"]] == [3.0]
    every = _load(s.write_history(tmp_path / "h.json", experiment_hash="all"))["sample"]
    assert [r["experiment_hash"] for r in every] == [None, s.get_current_experiment_hash(), None]


def test_graph_name_keeps_those_signals(run, tmp_path):
    def names(graph_name):
        data = _load(run.s.write_history(tmp_path / "h.json", graph_name=graph_name,
                                         experiment_hash="all"))
        return {layer: sorted({r["graph_name"] for r in rows}) for layer, rows in data.items()}

    assert names("loss") == {"global": ["loss"], "sample": ["loss"], "instance": []}
    assert names(["signals//iou", "acc"]) == {"global": ["acc", "iou"], "sample": ["acc"],
                                              "instance": ["iou"]}
    assert names([]) == {"global": [], "sample": [], "instance": []}
    assert names("nope") == {"global": [], "sample": [], "instance": []}


def test_sample_id_and_instance_id_filter_their_layers_only(run, tmp_path):
    data = _load(run.s.write_history(tmp_path / "h.json", sample_id="img", instance_id=[2],
                                     experiment_hash="all"))
    assert len(data["global"]) == 5  # no effect on the global layer
    assert {r["sample_id"] for r in data["sample"]} == {"img"}
    assert [(r["sample_id"], r["annotation_id"]) for r in data["instance"]] == [("img", 2)]
    data = _load(run.s.write_history(tmp_path / "h.json", sample_id=[1, 2], instance_id=1,
                                     experiment_hash="all"))
    assert {r["sample_id"] for r in data["sample"]} == {1, 2}
    assert [(r["sample_id"], r["annotation_id"]) for r in data["instance"]] == [(1, 1)]
    none = _load(run.s.write_history(tmp_path / "h.json", sample_id="1", experiment_hash="all"))
    assert none["sample"] == [] and none["instance"] == []  # "1" is not the int id 1


def test_bad_filter_types_raise(run, tmp_path):
    with pytest.raises(TypeError, match="sample_id"):
        run.s.write_history(tmp_path / "h.json", sample_id=1.5)
    with pytest.raises(TypeError, match="instance_id"):
        run.s.write_history(tmp_path / "h.json", instance_id="1")
    with pytest.raises(ValueError, match="instance_id"):
        run.s.write_history(tmp_path / "h.json", instance_id=-1)
    with pytest.raises(TypeError, match="graph_name"):
        run.s.write_history(tmp_path / "h.json", graph_name=[1])
    with pytest.raises(TypeError, match="experiment_hash"):
        run.s.write_history(tmp_path / "h.json", experiment_hash=5)
    assert _exports(tmp_path) == []


# ---------------------------------------------------------------- dataframe
@pytest.fixture
def tagged(run):
    run.s.tag_samples([1], "hard")
    run.s.set_categorical_tag([2], "shape", "flat")
    run.s.discard_samples(["img"])
    return run


def test_dataframe_json_has_one_typed_row_per_sample_and_instance(tagged, tmp_path):
    rows = _load(tagged.s.write_dataframe(tmp_path / "d.json"))
    df = tagged.s.dataframe
    assert [(r["sample_id"], r["annotation_id"]) for r in rows] == df.index.tolist()
    assert list(rows[0]) == ["sample_id", "annotation_id", *df.columns]
    first = rows[0]
    assert first["origin"] == "unassigned" and first["discarded"] is False
    assert first["tag:hard"] is True and first["tag:shape"] is None
    assert first["signals//loss"] == 0.25 and first["signals//iou"] is None
    assert type(first["sample_id"]) is int and type(first["annotation_id"]) is int
    by_key = {(r["sample_id"], r["annotation_id"]): r for r in rows}
    assert by_key[(2, 0)]["tag:shape"] == "flat" and by_key[("img", 0)]["discarded"] is True
    assert by_key[("img", 1)]["discarded"] is None and by_key[("img", 1)]["signals//iou"] == 0.85


def test_dataframe_csv_round_trips(tagged, tmp_path):
    path = tagged.s.write_dataframe(tmp_path / "d.csv", format="csv")
    lines = path.read_text().splitlines()
    df = tagged.s.dataframe
    assert lines[0].split(",") == ["sample_id", "annotation_id", *df.columns]
    back = pd.read_csv(path, dtype={"sample_id": str})
    assert list(zip(back["sample_id"], back["annotation_id"])) == [
        (str(s), a) for s, a in df.index]
    assert back["signals//loss"].tolist()[:3] == [0.25, 1.5, 0.125]
    assert lines[1].split(",")[df.columns.get_loc("tag:hard") + 2] == "True"
    assert lines[2].split(",")[df.columns.get_loc("tag:hard") + 2] == "False"


def test_dataframe_parquet_is_typed(tagged, tmp_path):
    table = pq.read_table(tagged.s.write_dataframe(tmp_path / "d.parquet", format="parquet"))
    df = tagged.s.dataframe
    assert table.column_names == ["sample_id", "annotation_id", *df.columns]
    assert table.schema.field("sample_id").type == pa.string()  # 1, 2 and "img"
    assert table.schema.field("signals//loss").type == pa.float64()
    assert table.schema.field("discarded").type == pa.bool_()
    assert table.column("discarded").to_pylist() == df["discarded"].astype(object).where(
        df["discarded"].notna(), None).tolist()
    assert table.column("tag:shape").to_pylist()[:3] == [None, "flat", None]


def test_columns_select_groups_and_exact_names_in_the_order_asked(tagged, tmp_path):
    def keys(columns):
        return list(_load(tagged.s.write_dataframe(tmp_path / "d.json", columns=columns))[0])

    ids = ["sample_id", "annotation_id"]
    assert keys("tags") == ids + ["tag:hard", "tag:shape"]
    assert keys("signals") == ids + ["signals//loss", "signals//acc", "signals//iou"]
    assert keys("discarded") == ids + ["discarded"]
    assert keys(["discarded", "signals//acc", "origin"]) == ids + [
        "discarded", "signals//acc", "origin"]
    assert keys(["signals//acc", "signals"]) == ids + [
        "signals//acc", "signals//loss", "signals//iou"]
    assert keys(["sample_id"]) == keys([]) == ids
    assert keys(None) == keys("all") == ids + list(tagged.s.dataframe.columns)


def test_an_unknown_column_raises_listing_the_available_ones(tagged, tmp_path):
    with pytest.raises(ValueError, match=r"columns.*'tag:nope'.*'tags'.*'signals//loss'"):
        tagged.s.write_dataframe(tmp_path / "d.json", columns=["signals", "tag:nope"])
    assert _exports(tmp_path) == []


def test_dataframe_sample_id_and_instance_id_filters(tagged, tmp_path):
    def keys(**kw):
        rows = _load(tagged.s.write_dataframe(tmp_path / "d.json", **kw))
        return [(r["sample_id"], r["annotation_id"]) for r in rows]

    assert keys(instance_id=0) == [(1, 0), (2, 0), ("img", 0)]
    assert keys(instance_id=[1, 2]) == [("img", 1), (1, 1), ("img", 2)]
    assert keys(sample_id="img") == [("img", 0), ("img", 1), ("img", 2)]
    assert keys(sample_id=["img", 1], instance_id=1) == [("img", 1), (1, 1)]
    assert keys(sample_id="unknown") == []


def test_dataframe_sees_everything_recorded_before_the_call(session, tmp_path):
    for step in range(5):
        session.save_signals({"loss": torch.full((3,), float(step))}, [0, 1, 2], step=step)
    rows = _load(session.write_dataframe(tmp_path / "d.json", columns="signals"))
    assert [r["signals//loss"] for r in rows] == [4.0, 4.0, 4.0]


def test_tag_columns_differing_only_by_case_stay_apart(session, tmp_path):
    session.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=0)
    session.tag_samples([0], "Hard")
    session.tag_samples([1], "hard")
    rows = _load(session.write_dataframe(tmp_path / "d.json", columns="tags"))
    assert rows == [{"sample_id": 0, "annotation_id": 0, "tag:Hard": True, "tag:hard": False},
                    {"sample_id": 1, "annotation_id": 0, "tag:Hard": False, "tag:hard": True}]


# ---------------------------------------------------------------- JSON written in chunks
@pytest.mark.parametrize("n", [6, 7, 8, 14, 15])
def test_a_json_export_of_several_chunks_parses_whole_with_every_row(session, tmp_path,
                                                                     monkeypatch, n):
    """JSON is written _JSON_CHUNK_ROWS rows at a time (7 here): one chunk less one row,
    exactly one, one and a row, exactly two, two and a row. ``json.load`` reads the whole file
    and every row is there, in order, with its values."""
    monkeypatch.setattr(export, "_JSON_CHUNK_ROWS", 7)
    session.watch_or_edit({"experiment_name": "chunks"}, flag="hp")
    h = session.get_current_experiment_hash()
    ids = [f"s{i}" for i in range(n)]
    for step in (1, 2):  # global: 2 rows; sample: 2 n rows
        session.save_signals({"loss": [step + i / 8 for i in range(n)]}, ids, step=step)
    session.save_instance_signals({"iou": [i / 4 for i in range(n)]}, ids, list(range(n)),
                                  step=1, log=False)  # instance: n rows, one per sample

    with open(session.write_history(tmp_path / "h.json"), encoding="utf-8") as f:
        data = json.load(f)
    assert [(r["step"], r["metric_value"]) for r in data["global"]] == [
        (1, 1 + (n - 1) / 16), (2, 2 + (n - 1) / 16)]  # the batch means
    assert sorted((r["sample_id"], r["step"], r["metric_value"]) for r in data["sample"]) == \
        sorted((f"s{i}", step, step + i / 8) for step in (1, 2) for i in range(n))
    assert [tuple(r.values()) for r in data["sample"]] == list(
        session.history_frame("sample").itertuples(index=False, name=None))
    assert sorted((r["sample_id"], r["annotation_id"], r["metric_value"])
                  for r in data["instance"]) == sorted((f"s{i}", 1, i / 4) for i in range(n))
    assert {r["experiment_hash"] for s in data.values() for r in s} == {h}

    with open(session.write_dataframe(tmp_path / "d.json", columns="signals"),
              encoding="utf-8") as f:
        rows = json.load(f)
    assert rows == [{"sample_id": f"s{i}", "annotation_id": a, "signals//loss":
                     2 + i / 8 if a == 0 else None, "signals//iou": i / 4 if a == 1 else None}
                    for a in (0, 1) for i in range(n)]  # the table's order: samples, instances


def test_a_json_export_over_262144_rows_is_written_in_chunks_and_parses_whole(session,
                                                                             tmp_path):
    """The real chunk size: 300,000 history rows and 270,000 sample rows are two chunks each."""
    assert export._JSON_CHUNK_ROWS == 262_144
    n, steps = 100_000, (1, 2, 3)
    ids = np.arange(n)
    for step in steps:
        session.save_signals({"loss": ids / n + step}, ids, step=step, log=False)
    with open(session.write_history(tmp_path / "h.json", type_of_history="sample"),
              encoding="utf-8") as f:
        rows = json.load(f)["sample"]
    assert len(rows) == len(steps) * n > export._JSON_CHUNK_ROWS
    got = np.array([(r["sample_id"], r["step"], r["metric_value"]) for r in rows])
    got = got[np.lexsort((got[:, 0], got[:, 1]))]  # by step, then sample id
    want = np.array([(i, step, i / n + step) for step in steps for i in range(n)])
    np.testing.assert_array_equal(got, want)  # every row, every value, exactly

    m = 270_000
    session.save_signals({"acc": np.arange(m) % 2}, np.arange(m), step=4, log=False)
    with open(session.write_dataframe(tmp_path / "d.json", columns=["signals//acc"]),
              encoding="utf-8") as f:
        frame = json.load(f)
    assert len(frame) == m > export._JSON_CHUNK_ROWS
    assert [(r["sample_id"], r["annotation_id"], r["signals//acc"]) for r in frame] == [
        (i, 0, float(i % 2)) for i in range(m)]
