"""wandb-style run logging and the local query API, on a real session, real files and real
digits training: ``wl.init``, ``wl.log``, ``run.summary``/``run.config``, ``wl.Api``."""

from __future__ import annotations

import json
import logging
import threading

import numpy as np
import pytest

import weightslab_nb as wl
from weightslab_nb.tracking.run import HISTORY_FILE, RUN_FILE, SUMMARY_FILE

WAIT = 60.0


def read_events(run) -> list[dict]:
    run.flush()
    path = run.dir / HISTORY_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---------------------------------------------------------------- init
def test_init_writes_the_run_record_with_the_watched_hyperparameters_as_config(session):
    session.watch_or_edit({"experiment_name": "mnist-ish", "optimizer": {"lr": 0.01}},
                          flag="hp")
    run = wl.init(project="digits", tags=["baseline"], notes="first try")
    meta = json.loads((run.dir / RUN_FILE).read_text())
    assert run.dir == session.root_log_dir / "runs" / run.id and len(run.id) == 8
    assert meta["name"] == "mnist-ish" and meta["project"] == "digits"
    assert meta["state"] == "running" and meta["tags"] == ["baseline"]
    assert meta["config"] == {"experiment_name": "mnist-ish", "optimizer": {"lr": 0.01}}
    assert run.path == f"digits/{run.id}" and wl.tracking.active_run(wl.current_session()) is run
    assert wl.init() is run  # a second init returns the running run
    other = wl.init(reinit=True, name="second", config={"lr": 0.1})
    assert run.state == "finished" and other is not run and other.config.lr == 0.1


@pytest.mark.parametrize("kwargs,error,words", [
    ({"project": ""}, ValueError, "project"),
    ({"tags": "one"}, ValueError, "tags"),
    ({"config": [1, 2]}, TypeError, "config"),
    ({"config": {"f": object()}}, TypeError, "JSON"),
    ({"id": "a b"}, ValueError, "id"),
])
def test_init_refuses_bad_arguments_and_starts_nothing(session, kwargs, error, words):
    with pytest.raises(error, match=words):
        wl.init(**kwargs)
    assert wl.tracking.active_run(wl.current_session()) is None and not (session.root_log_dir / "runs").exists()


def test_log_without_a_run_says_to_call_init(session):
    with pytest.raises(RuntimeError, match=r"wl\.init\(\)"):
        wl.log({"loss": 1.0})


# ---------------------------------------------------------------- log
def test_without_training_steps_count_log_calls_and_commit_false_stays(session):
    run = wl.init()
    wl.log({"a": 1})
    wl.log({"b": 2}, commit=False)
    wl.log({"c": 3})
    wl.log({"d": 4}, step=10)
    wl.log({"e": 5})
    assert [e["_step"] for e in read_events(run)] == [0, 1, 1, 10, 11]
    rows = list(wl.Api(root=session.root_log_dir).run(run.path).scan_history())
    assert [(r["_step"], sorted(k for k in r if not k.startswith("_"))) for r in rows] == [
        (0, ["a"]), (1, ["b", "c"]), (10, ["d"]), (11, ["e"])]


def test_a_step_lower_than_the_last_is_ignored_with_a_warning(session, caplog):
    run = wl.init()
    wl.log({"a": 1}, step=5)
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.tracking.run"):
        wl.log({"a": 2}, step=3)
    assert "lower than the last step logged (5)" in caplog.text
    assert [(e["_step"], e["a"]) for e in read_events(run)] == [(5, 1.0)]


def test_values_are_converted_and_bad_ones_refused_without_storing_anything(session):
    import torch

    run = wl.init()
    wl.log({"val": {"acc": np.float32(0.5), "n": 3}, "flag": True, "text": "ok",
            "t": torch.tensor(2.5), "skip": None, "pair": [1, 2]})
    (event,) = read_events(run)
    assert {k: v for k, v in event.items() if not k.startswith("_")} == {
        "val/acc": 0.5, "val/n": 3.0, "flag": 1.0, "text": "ok", "t": 2.5, "pair": [1, 2]}
    picture = wl.Image(np.zeros((2, 2), dtype=np.uint8))
    for bad, words in [({"_private": 1}, "keys"), ({"": 1}, "keys"), ({"x": object()}, "'x'"),
                       ([("a", 1)], "dict"), ({"image": picture, "bad": object()}, "'bad'")]:
        with pytest.raises((TypeError, ValueError), match=words):
            wl.log(bad)
    with pytest.raises(ValueError, match="step"):
        wl.log({"a": 1}, step=-1)
    assert len(read_events(run)) == 1
    assert not (run.dir / "media").exists()  # the refused image was never written


def test_numbers_become_curves_of_the_session_history(session):
    wl.init()
    for step in range(3):
        wl.log({"val/acc": 0.5 + step / 10}, step=step)
    series = session.global_series("val/acc")
    assert series["step"].tolist() == [0, 1, 2]
    assert np.allclose(series["mean"], [0.5, 0.6, 0.7])


def test_during_training_values_go_to_the_training_step(session, digits_run):
    r = digits_run()
    run = wl.init()
    logged = []

    def train(epochs):
        for _ in range(epochs):
            for x, y, ids in r.loader:
                r.opt.zero_grad()
                loss = r.loss(r.model(x), y, batch_ids=ids).mean()
                loss.backward()
                r.opt.step()
                wl.log({"batch_loss": loss.item()})
                logged.append(session.controller.step)

    handle = wl.start_training(train, 1)
    assert handle.wait(WAIT) and handle.error is None, handle
    steps = [e["_step"] for e in read_events(run)]
    assert steps == logged == list(range(1, 30))  # 29 batches of digits
    curve = session.global_series("batch_loss")
    assert curve["step"].tolist() == steps


def test_summary_keeps_the_last_value_unless_set_and_is_written_to_disk(session):
    run = wl.init()
    wl.log({"acc": 0.7})
    wl.log({"acc": 0.9})
    wl.log({"acc": 0.8})
    assert run.summary["acc"] == 0.8
    run.summary["acc"] = 0.9  # the best, not the last
    run.summary.update({"note": "best of 3"})
    run.flush()
    assert json.loads((run.dir / SUMMARY_FILE).read_text()) == {"acc": 0.9, "note": "best of 3"}
    wl.log({"acc": 0.1})
    assert run.summary.acc == 0.1


def test_finish_marks_the_state_and_closing_the_session_finishes_the_run(make_session):
    first = make_session("one")
    run = wl.init()
    wl.log({"a": 1})
    wl.finish(exit_code=1)
    assert run.state == "failed" and wl.tracking.active_run(wl.current_session()) is None
    with pytest.raises(RuntimeError, match="failed"):
        run.log({"a": 2})
    with pytest.raises(ZeroDivisionError):
        with wl.init(reinit=True) as failing:
            1 / 0
    assert failing.state == "failed"
    kept = wl.init()
    wl.log({"b": 2})
    first.close()
    meta = json.loads((kept.dir / RUN_FILE).read_text())
    assert meta["state"] == "finished" and meta["finished_at"] is not None
    assert read_events(kept)[0]["b"] == 2.0


def test_the_history_writer_appends_the_rows_without_any_flush_call(session):
    run = wl.init()
    flushed = threading.Event()
    session.add_flush_hook(flushed.set)  # runs after the run's own hook, in the writer thread
    wl.log({"a": 1})
    history = run.dir / HISTORY_FILE
    for _ in range(100):  # a flush cycle that started before the log call may not have it yet
        assert flushed.wait(WAIT), "the history writer did not flush"
        flushed.clear()
        if history.exists() and history.read_text():
            break
    assert json.loads(history.read_text().splitlines()[0])["a"] == 1.0


# ---------------------------------------------------------------- rich values
def test_arrays_become_histograms_and_images_are_files_read_back_by_the_api(session):
    run = wl.init()
    values = np.random.default_rng(0).normal(size=1000)
    picture = np.zeros((6, 8, 3), dtype=np.uint8)
    picture[:, :4] = 255
    wl.log({"weights": values, "sample": wl.Image(picture, caption="half white")})
    (event,) = read_events(run)
    assert event["weights"]["_type"] == "histogram" and sum(event["weights"]["values"]) == 1000
    assert event["sample"]["_type"] == "image-file"
    api_run = wl.Api(root=session.root_log_dir).run(run.path)
    image = api_run.load_media(api_run.summary["sample"])
    assert image.caption == "half white" and np.array_equal(image.to_numpy()[..., :3], picture)
    names = [f.name for f in api_run.files()]
    assert {RUN_FILE, HISTORY_FILE, SUMMARY_FILE} <= set(names)
    assert any(n.startswith("media/") and n.endswith(".png") for n in names)
    # a key of the summary reads its last value; another key says which ones are rich values
    assert api_run.load_media("sample") == image
    known = r"'smaple' is not a key .* rich values: \['sample', 'weights'\]"
    with pytest.raises(KeyError, match=known):
        api_run.load_media("smaple")


# ---------------------------------------------------------------- the query API
@pytest.fixture
def three_runs(make_session, tmp_path):
    """Three finished runs of two projects under tmp_path (one session each)."""
    made = []
    for i, (project, lr, acc) in enumerate([("a", 0.1, 0.5), ("a", 0.01, 0.9),
                                             ("b", 0.001, 0.7)]):
        s = make_session(f"run{i}")
        run = wl.init(project=project, name=f"r{i}", config={"lr": lr, "arch": "mlp"})
        for step in range(20):
            wl.log({"loss": 1.0 / (step + 1), "acc": acc * step / 19}, step=step)
        run.finish()
        s.close()
        made.append(run)
    return made


def test_runs_are_filtered_and_ordered_like_mongodb_queries(three_runs, tmp_path):
    api = wl.Api(root=tmp_path)
    assert sorted(r.name for r in api.runs()) == ["r0", "r1", "r2"]
    assert [r.name for r in api.runs("a")] in (["r1", "r0"], ["r0", "r1"])
    assert [r.name for r in api.runs("entity/a", order="+config.lr")] == ["r1", "r0"]
    assert [r.name for r in api.runs(filters={"config.lr": {"$lt": 0.05}},
                                     order="-summary_metrics.acc")] == ["r1", "r2"]
    assert [r.name for r in api.runs(filters={"$or": [{"config.lr.value": 0.1},
                                                      {"project": "b"}]},
                                     order="+name")] == ["r0", "r2"]
    assert api.runs(filters={"state": "running"}).length == 0
    table = api.runs(order="+name").dataframe()
    assert table["name"].tolist() == ["r0", "r1", "r2"]
    assert table["config.lr"].tolist() == [0.1, 0.01, 0.001]
    assert table["summary.acc"].round(2).tolist() == [0.5, 0.9, 0.7]
    assert "<table" in api.runs()._repr_html_()
    assert [(p.name, p.run_count) for p in api.projects()] == [("a", 2), ("b", 1)]
    with pytest.raises(ValueError, match="filters"):
        api.runs(filters={"config.lr": {"$nope": 1}})
    with pytest.raises(ValueError, match="order"):
        api.runs(order="+")


def test_one_run_by_path_with_history_sampling_keys_and_steps(three_runs, tmp_path):
    api = wl.Api(root=tmp_path)
    run = api.run(three_runs[1].path)
    assert run.id == three_runs[1].id and api.run(three_runs[1].id).name == "r1"
    assert run.state == "finished" and run.config == {"lr": 0.01, "arch": "mlp"}
    assert run.summary["acc"] == pytest.approx(0.9) and run.last_history_step == 19
    assert run.history_keys == ["loss", "acc"]
    frame = run.history()
    assert list(frame["_step"]) == list(range(20)) and {"loss", "acc"} <= set(frame.columns)
    sampled = run.history(samples=5, keys=["loss"], pandas=False)
    assert [r["_step"] for r in sampled] == [0, 5, 10, 14, 19]
    assert set(sampled[0]) == {"_step", "loss"}
    window = list(run.scan_history(keys=["acc"], min_step=3, max_step=6))
    assert [r["_step"] for r in window] == [3, 4, 5] and set(window[0]) == {"_step", "acc"}
    assert run.history(stream="system").empty
    with pytest.raises(ValueError, match="no run"):
        api.run("a/zzzzzzzz")
    with pytest.raises(ValueError, match="samples"):
        run.history(samples=0)


def test_files_download_and_update_of_a_finished_run(three_runs, tmp_path):
    run = wl.Api(root=tmp_path).run(three_runs[0].path)
    target = run.file(HISTORY_FILE).download(tmp_path / "copy")
    assert target.read_text() == (run.dir / HISTORY_FILE).read_text()
    with pytest.raises(FileExistsError):
        run.file(HISTORY_FILE).download(tmp_path / "copy")
    with pytest.raises(FileNotFoundError):
        run.file("nope.txt")
    run.name = "renamed"
    run.tags = ["kept"]
    run.summary["best_acc"] = 0.5
    run.update()
    again = wl.Api(root=tmp_path).run(three_runs[0].path)
    assert again.name == "renamed" and again.tags == ["kept"] and again.summary["best_acc"] == 0.5


def test_a_live_run_is_flushed_before_it_is_read(session):
    run = wl.init(project="live")
    wl.log({"a": 1})
    api_run = wl.Api().run(run.path)  # default roots include the session's root_log_dir
    assert api_run.state == "running" and [r["a"] for r in api_run.scan_history()] == [1.0]
    with pytest.raises(RuntimeError, match="running"):
        api_run.update()


def test_a_history_line_cut_off_by_a_killed_process_is_skipped(three_runs, tmp_path):
    run = wl.Api(root=tmp_path).run(three_runs[2].path)
    history = run.dir / HISTORY_FILE
    with open(history, "a", encoding="utf-8") as f:
        f.write('{"_step": 20, "loss": 0.0')  # no closing brace, no newline
    assert run.last_history_step == 19 and len(run.history()) == 20
    history.write_text(history.read_text().replace('{"_step": 20, "loss": 0.0', "") +
                       "not json\n")
    with pytest.raises(ValueError, match=r"line 21 is not JSON"):
        run.history()


def test_applied_hyperparameter_changes_reach_the_config_and_the_history(session):
    hp = session.watch_or_edit({"experiment_name": "steer", "optimizer": {"lr": 0.01}},
                               flag="hp")
    run = wl.init()
    wl.log({"a": 1}, step=4)
    hp["optimizer"]["lr"] = 0.002  # no training thread: applied at once
    assert run.config["optimizer"] == {"lr": 0.002}
    run.flush()
    assert json.loads((run.dir / RUN_FILE).read_text())["config"]["optimizer"]["lr"] == 0.002
    events = read_events(run)
    assert [(e["_step"], e.get("hp/optimizer.lr")) for e in events] == [(4, None), (5, 0.002)]


def test_a_running_run_without_heartbeats_reads_as_crashed(session, tmp_path):
    import shutil
    import time

    run = wl.init(project="live")
    wl.log({"a": 1})
    run.flush()
    copy = tmp_path / "elsewhere" / "runs" / run.id  # as another process left it
    shutil.copytree(run.dir, copy)
    meta = json.loads((copy / RUN_FILE).read_text())
    meta["heartbeat_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - 600))
    (copy / RUN_FILE).write_text(json.dumps(meta))
    old = wl.Api(root=tmp_path / "elsewhere").run(run.id)
    assert old.state == "crashed" and old.record()["state"] == "crashed"
    assert [r.id for r in wl.Api(root=tmp_path / "elsewhere").runs(
        filters={"state": "crashed"})] == [run.id]
    meta["heartbeat_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (copy / RUN_FILE).write_text(json.dumps(meta))
    assert wl.Api(root=tmp_path / "elsewhere").run(run.id).state == "running"
    meta["heartbeat_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - 600))
    (run.dir / RUN_FILE).write_text(json.dumps(meta))  # an old heartbeat, but live here
    assert wl.Api(root=session.root_log_dir).run(run.path).state == "running"


# ---------------------------------------------------------------- robustness (review fixes)
class _SlowHtml(wl.Html):
    """An Html whose file write waits for ``release`` (to hold a log call mid-way)."""

    def __init__(self, started, release):
        super().__init__("<b>slow</b>")
        self.started, self.release = started, release

    def to_json(self, run_dir, key, step):
        self.started.set()
        assert self.release.wait(WAIT)
        return super().to_json(run_dir, key, step)


def test_finish_waits_for_a_log_call_in_progress_and_keeps_its_row(session):
    run = wl.init()
    started, release = threading.Event(), threading.Event()
    logger = threading.Thread(target=run.log, args=({"loss": 1.0,
                                                     "page": _SlowHtml(started, release)},))
    logger.start()
    assert started.wait(WAIT)
    finisher = threading.Thread(target=run.finish)
    finisher.start()
    release.set()
    logger.join(WAIT)
    finisher.join(WAIT)
    assert run.state == "finished"
    (row,) = [json.loads(line) for line in (run.dir / HISTORY_FILE).read_text().splitlines()]
    assert row["loss"] == 1.0 and row["page"]["_type"] == "html-file"
    assert json.loads((run.dir / SUMMARY_FILE).read_text())["loss"] == 1.0


def test_a_hyperparameter_change_never_waits_for_a_log_call_writing_media(session):
    hp = session.watch_or_edit({"experiment_name": "wait", "lr": 0.1}, flag="hp")
    run = wl.init()
    started, release = threading.Event(), threading.Event()
    logger = threading.Thread(target=run.log, args=({"page": _SlowHtml(started, release)},))
    logger.start()
    assert started.wait(WAIT)
    hp["lr"] = 0.05  # applied at once (no training thread), while the log call holds its lock
    assert run.config["lr"] == 0.05
    release.set()
    logger.join(WAIT)
    (row,) = read_events(run)
    assert row["hp/lr"] == 0.05 and row["page"]["_type"] == "html-file"


def test_config_and_summary_keep_ints_and_bools_and_are_final_after_finish(session):
    run = wl.init(config={"epochs": 10})
    run.config.update({"epochs": 5, "amp": True})
    run.summary["best_epoch"] = np.int64(3)
    assert run.config.to_dict() == {"epochs": 5, "amp": True}
    assert run.summary["best_epoch"] == 3 and isinstance(run.summary["best_epoch"], int)
    run.finish()
    with pytest.raises(RuntimeError, match="update"):
        run.summary["late"] = 1
    assert json.loads((run.dir / RUN_FILE).read_text())["config"] == {"epochs": 5, "amp": True}


def test_reinit_with_bad_arguments_leaves_the_running_run_alone(session):
    run = wl.init()
    with pytest.raises(ValueError, match="tags"):
        wl.init(reinit=True, tags="oops")
    assert run.state == "running" and wl.tracking.active_run(wl.current_session()) is run


def test_a_failed_flush_keeps_the_rows_for_the_next_one(session):
    run = wl.init()
    wl.log({"x": 1})
    (run.dir / HISTORY_FILE).mkdir()  # the append fails
    with pytest.raises(OSError):
        run.flush()
    (run.dir / HISTORY_FILE).rmdir()
    wl.log({"x": 2})
    assert [e["x"] for e in read_events(run)] == [1.0, 2.0]


def test_files_are_strict_json_and_bad_numbers_name_their_key(session):
    run = wl.init()
    wl.log({"x": float("nan"), "y": float("inf"), "z": 1.0})
    run.flush()

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))

    (event,) = [strict(line) for line in (run.dir / HISTORY_FILE).read_text().splitlines()]
    assert (event["x"], event["y"], event["z"]) == (None, None, 1.0)
    assert strict((run.dir / SUMMARY_FILE).read_text())["x"] is None
    with pytest.raises(ValueError, match=r"data\['big'\]: .* too large"):
        wl.log({"big": 10**400})
    picture = wl.Image(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"data\['mixed'\]: a list of rich values"):
        wl.log({"first": picture, "mixed": [picture, wl.Html("<p>")]})
    assert not (run.dir / "media").exists()  # nothing of the refused call was written


def test_a_damaged_run_folder_is_skipped_and_paths_stay_inside_the_run(three_runs, tmp_path):
    broken = tmp_path / "run0" / "runs" / "broken"
    broken.mkdir()
    (broken / RUN_FILE).write_text("{")
    api = wl.Api(root=tmp_path)
    assert sorted(r.name for r in api.runs()) == ["r0", "r1", "r2"]
    run = api.run(three_runs[0].path)
    for name in ("../../../../etc/passwd", "/etc/hostname"):
        with pytest.raises(ValueError, match="inside the run's folder"):
            run.file(name)
    with pytest.raises(TypeError, match="names"):
        run.files("run.json")


# ---------------------------------------------------------------- symbolic links in a run folder
@pytest.fixture
def logged_image(session, tmp_path):
    """A finished run that logged one image, its ApiRun, the image's descriptor, and a copy of
    the image in a folder outside the run (what a planted link would point at)."""
    run = wl.init()
    wl.log({"sample": wl.Image(np.full((4, 4, 3), 200, dtype=np.uint8))})
    run.finish()
    api_run = wl.Api(root=session.root_log_dir).run(run.path)
    descriptor = api_run.summary["sample"]
    inside = api_run.dir / descriptor["path"]
    outside = tmp_path / "elsewhere" / inside.name
    outside.parent.mkdir()
    outside.write_bytes(inside.read_bytes())
    return api_run, descriptor, inside, outside


def test_load_media_refuses_a_file_that_is_a_link_out_of_the_run(logged_image):
    from weightslab_nb.errors import InvalidValueError, WeightslabError

    api_run, descriptor, inside, outside = logged_image
    assert api_run.load_media(descriptor).to_numpy()[0, 0, 0] == 200  # a plain file: read
    inside.unlink()
    inside.symlink_to(outside)
    with pytest.raises(WeightslabError) as info:
        api_run.load_media(descriptor)
    assert isinstance(info.value, InvalidValueError) and isinstance(info.value, ValueError)
    root = api_run.dir.resolve()
    assert str(info.value) == (f"descriptor: {descriptor['path']!r} in run folder {root} is a "
                               "symbolic link; a run's files are read only as plain files "
                               "inside its folder")
    names = [f.name for f in api_run.files()]
    assert descriptor["path"] not in names and "summary.json" in names
    with pytest.raises(InvalidValueError, match="is a symbolic link"):
        api_run.file(descriptor["path"])


def test_load_media_refuses_a_folder_that_is_a_link_out_of_the_run(logged_image):
    from weightslab_nb.errors import InvalidValueError

    api_run, descriptor, inside, outside = logged_image
    kind_dir = inside.parent
    for file in kind_dir.iterdir():
        file.unlink()
    kind_dir.rmdir()
    kind_dir.symlink_to(outside.parent, target_is_directory=True)
    assert (api_run.dir / descriptor["path"]).is_file()  # reachable through the link
    folder = kind_dir.relative_to(api_run.dir).as_posix()
    with pytest.raises(InvalidValueError) as info:
        api_run.load_media(descriptor)
    assert str(info.value).startswith(f"descriptor: {folder!r} in run folder ")
    assert str(info.value).endswith(" is a symbolic link; a run's files are read only as plain "
                                    "files inside its folder")
    with pytest.raises(InvalidValueError, match="is a symbolic link"):
        api_run.file(descriptor["path"])


def test_a_run_folder_reached_through_a_link_still_reads_its_media(logged_image, tmp_path):
    api_run, descriptor, _, _ = logged_image
    alias = tmp_path / "alias-of-the-run"
    alias.symlink_to(api_run.dir, target_is_directory=True)
    image = wl.tracking.api.ApiRun(alias).load_media(descriptor)
    assert image.to_numpy()[0, 0, 0] == 200 and image.path == alias / descriptor["path"]


def test_a_library_imported_just_after_init_gets_a_whole_pandas(tmp_path):
    """wl.init's first flush round on the recorder thread makes pyarrow import pandas; a user's
    import of plotly (which imports pandas) at that moment must not get a half-initialised
    module: wl.init imports pandas on the caller's thread first."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import weightslab_nb as wl\n"
        "assert 'pandas' not in sys.modules\n"
        f"wl.Session(root_log_dir={str(tmp_path)!r}).activate()\n"
        "wl.init(project='p')\n"
        "assert 'pandas' in sys.modules and hasattr(sys.modules['pandas'], 'DataFrame')\n"
        "import pandas as pd\n"
        "wl.log({'t': wl.Table(dataframe=pd.DataFrame({'a': [1, 2]}))})\n"
        "wl.finish()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
