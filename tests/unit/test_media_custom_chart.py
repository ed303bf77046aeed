"""wl.plot_table custom charts: Vega-Lite specs (presets and registered ones) bound to a Table's
columns, their checks, storage and read-back by wl.Api."""

from __future__ import annotations

import json

import pytest

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.tracking.media import CustomChart, vega_specs

BAND = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "title": "${string:title} (${string:unit})",
    "layer": [
        {"mark": "area", "encoding": {"x": {"field": "${field:step}", "type": "quantitative"},
                                      "y": {"field": "${field:low}", "type": "quantitative"},
                                      "y2": {"field": "${field:high}"}}},
        {"mark": "line", "encoding": {"x": {"field": "${field:step}", "type": "quantitative"},
                                      "y": {"field": "${field:mid}", "type": "quantitative"}}},
    ],
}


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch):
    """Each test starts with the presets only (the registry lives for the Python process)."""
    monkeypatch.setattr(vega_specs, "_registered", {})


def loss_table(n=5):
    return wl.Table(columns=["step", "val.loss", "who"],
                    data=[[i, 1 / (i + 1), "a" if i % 2 else "b"] for i in range(n)])


def test_a_preset_binds_the_fields_of_its_wl_plot_kind_and_inlines_the_rows():
    chart = wl.plot_table("wl/line", loss_table(), {"x": "step", "y": "val.loss"},
                          {"title": "Validation loss"})
    spec = chart.to_vega_lite()
    assert spec["title"] == chart.title == "Validation loss"
    assert spec["encoding"]["x"]["field"] == "step"
    # a dot in a column name is escaped where Vega-Lite reads a field, kept in titles
    assert spec["encoding"]["y"]["field"] == "val\\.loss"
    assert spec["encoding"]["y"]["title"] == "val.loss"
    assert spec["data"]["values"][1] == {"step": 1, "val.loss": 0.5, "who": "a"}
    assert "${" not in json.dumps(spec)


@pytest.mark.parametrize("name, fields", [
    ("wl/line", {"x": "step", "y": "val.loss"}),
    ("wl/line_series", {"x": "step", "y": "val.loss", "series": "who"}),
    ("wl/scatter", {"x": "step", "y": "val.loss"}),
    ("wl/bar", {"label": "who", "value": "val.loss"}),
    ("wl/histogram", {"value": "val.loss"}),
    ("wl/confusion_matrix", {"actual": "who", "predicted": "who", "value": "step"}),
])
def test_every_preset_builds_without_a_title(name, fields):
    chart = wl.plot_table(name, loss_table(), fields)
    assert chart.title is None and chart.string_fields == {"title": ""}
    assert "${" not in json.dumps(chart.bound_spec())


@pytest.mark.parametrize("call, error, words", [
    (lambda t: wl.plot_table("me/nothing", t, {}), ValueError,
     r"vega_spec_name: no spec named 'me/nothing'; known: wl/bar, .*wl/scatter"),
    (lambda t: wl.plot_table(3, t, {}), TypeError, "vega_spec_name: expected a string"),
    (lambda t: wl.plot_table("wl/line", [[1, 2]], {"x": "a", "y": "b"}), TypeError,
     "data_table: expected a wl.Table"),
    (lambda t: wl.plot_table("wl/line", t, {"x": "step"}), ValueError,
     r"fields: spec 'wl/line' needs \['x', 'y'\]; missing \['y'\]"),
    (lambda t: wl.plot_table("wl/line", t, {"x": "step", "y": "loss"}), ValueError,
     "fields: 'y' names column 'loss', which the table lacks"),
    (lambda t: wl.plot_table("wl/line", t, {"x": "step", "y": "step", "z": "who"}), ValueError,
     r"fields: \['z'\] are not placeholders of spec 'wl/line'; it takes \['x', 'y'\]"),
    (lambda t: wl.plot_table("wl/line", t, {"x": "step", "y": 1}), TypeError,
     "fields: expected a dict of strings"),
    (lambda t: wl.plot_table("wl/line", t, {"x": "step", "y": "step"}, {"subtitle": "s"}),
     ValueError, r"string_fields: \['subtitle'\] are not placeholders"),
])
def test_bad_arguments_are_refused_naming_the_argument_and_what_is_accepted(call, error, words):
    with pytest.raises(error, match=words):
        call(loss_table())


def test_a_table_with_media_cells_is_refused():
    table = wl.Table(columns=["x", "h"], data=[[0, wl.Histogram([1, 2, 3])]])
    with pytest.raises(ValueError, match="data_table: row 0, column 'h' holds a Histogram"):
        wl.plot_table("wl/histogram", table, {"value": "x"})


def test_the_chart_keeps_its_rows_when_the_users_table_changes():
    table = loss_table(3)
    chart = wl.plot_table("wl/scatter", table, {"x": "step", "y": "val.loss"})
    table.add_data(9, 9.0, "c")
    assert len(chart.table.data) == 3


def test_a_registered_spec_is_used_by_name_with_its_string_defaults():
    wl.register_vega_spec("me/band", BAND, string_defaults={"unit": "nats"})
    table = wl.Table(columns=["step", "lo", "mid", "hi"], data=[[0, 1, 2, 3], [1, 0.5, 1, 1.5]])
    fields = {"step": "step", "low": "lo", "mid": "mid", "high": "hi"}
    chart = wl.plot_table("me/band", table, fields, {"title": "Loss"})
    assert chart.title == "Loss (nats)"
    assert chart.bound_spec()["layer"][0]["encoding"]["y2"] == {"field": "hi"}
    with pytest.raises(ValueError, match=r"string_fields: spec 'me/band' needs \['title', "
                                         r"'unit'\]; missing \['title'\]"):
        wl.plot_table("me/band", table, fields)
    assert "me/band" in vega_specs.vega_spec_names()


def test_a_spec_file_is_read_when_registered(tmp_path):
    path = tmp_path / "band.vl.json"
    path.write_text(json.dumps(BAND))
    wl.register_vega_spec("me/band", path)
    path.unlink()  # read at registration
    assert vega_specs.vega_spec("me/band")[0] == BAND


@pytest.mark.parametrize("name, spec, error, words", [
    ("wl/line", BAND, ValueError, "name: .*not starting with 'wl/'"),
    ("", BAND, ValueError, "name: expected 1-100"),
    (7, BAND, TypeError, "name: expected a string"),
    ("me/x", [1], TypeError, "spec: expected a dict or the path"),
    ("me/x", {"encoding": {}}, ValueError, r"spec: a Vega-Lite spec needs one of \['mark'"),
    ("me/x", {"$schema": "https://vega.github.io/schema/vega/v6.json", "marks": []},
     ValueError, "spec: this is a Vega spec"),
    ("me/x", {"mark": "point", "data": {"values": [{"a": 1}]}}, ValueError,
     "spec: the top-level data is the logged table's rows"),
    ("me/x", {"mark": "point", "data": {"url": "https://example.com/d.csv"}}, ValueError,
     "spec: the top-level data"),
    ("me/x", {"layer": [{"mark": "rule", "data": {"url": "https://example.com/d.json"}}]},
     ValueError, r"spec.layer\[0\].data.url: remote data is never loaded"),
    ("me/x", {"mark": "point", "width": float("nan")}, TypeError, "spec: expected JSON values"),
    ("me/x", {"layer": [{"mark": "bar"}, {"mark": {"type": "blob"}}]}, ValueError,
     r"spec.layer\[1\].mark: unknown mark type 'blob'; Vega-Lite's are arc, area, bar"),
])
def test_bad_specs_are_refused_when_registered(name, spec, error, words):
    with pytest.raises(error, match=words):
        wl.register_vega_spec(name, spec)


def test_bad_spec_files_and_defaults_are_refused(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "spec.yaml").write_text("mark: point")
    with pytest.raises(ValueError, match="spec: bad.json is not valid JSON"):
        wl.register_vega_spec("me/x", tmp_path / "bad.json")
    with pytest.raises(ValueError, match="spec: expected a .json or .vl.json file"):
        wl.register_vega_spec("me/x", str(tmp_path / "spec.yaml"))
    with pytest.raises(ValueError, match="spec: no file"):
        wl.register_vega_spec("me/x", tmp_path / "missing.vl.json")
    with pytest.raises(ValueError, match=r"string_defaults: \['colour'\] are not"):
        wl.register_vega_spec("me/x", BAND, string_defaults={"colour": "red"})


def test_a_chart_is_stored_and_read_back_by_the_api_as_logged(session):
    wl.register_vega_spec("me/band", BAND, string_defaults={"unit": "nats"})
    table = wl.Table(columns=["step", "lo", "mid", "hi"], data=[[0, 1, 2, 3], [1, 0.5, 1, None]])
    chart = wl.plot_table("me/band", table, {"step": "step", "low": "lo", "mid": "mid",
                                             "high": "hi"}, {"title": "Loss"})
    # registering the name again changes later charts, not the logged one
    run_dir, descriptor, back = log_and_read_back(session, "charts/band", chart)
    wl.register_vega_spec("me/band", {"mark": "point"})
    assert descriptor["_type"] == "custom-chart" and descriptor["spec_name"] == "me/band"
    assert descriptor["title"] == "Loss (nats)" and descriptor["table"]["nrows"] == 2
    assert descriptor["path"].startswith("media/vega/charts_band_0_")
    assert descriptor["path"].endswith(".vl.json")
    assert json.loads((run_dir / descriptor["path"]).read_text()) == BAND
    assert isinstance(back, CustomChart) and back == chart
    assert back.to_vega_lite() == chart.to_vega_lite()
    assert CustomChart.from_json(descriptor, run_dir) == chart


def test_a_changed_spec_file_is_refused_when_read_back(session):
    chart = wl.plot_table("wl/scatter", loss_table(), {"x": "step", "y": "val.loss"})
    run_dir, descriptor, _ = log_and_read_back(session, "s", chart)
    (run_dir / descriptor["path"]).write_text('{"mark": "bar"}')
    with pytest.raises(ValueError, match="changed since it was logged"):
        CustomChart.from_json(descriptor, run_dir)


def test_equality_follows_the_spec_fields_and_rows():
    fields = {"x": "step", "y": "val.loss"}
    assert wl.plot_table("wl/line", loss_table(), fields) == wl.plot_table("wl/line",
                                                                           loss_table(), fields)
    assert wl.plot_table("wl/line", loss_table(), fields) != wl.plot_table("wl/scatter",
                                                                           loss_table(), fields)
    assert wl.plot_table("wl/line", loss_table(4), fields) != wl.plot_table("wl/line",
                                                                            loss_table(5), fields)
    assert len({wl.plot_table("wl/line", loss_table(), fields),
                wl.plot_table("wl/line", loss_table(), fields)}) == 1


def test_the_package_exports_the_functions():
    from weightslab_nb.tracking.media import plot_table, register_vega_spec

    assert wl.plot_table is plot_table and wl.register_vega_spec is register_vega_spec
    assert {"plot_table", "register_vega_spec"} <= set(wl.__all__)
