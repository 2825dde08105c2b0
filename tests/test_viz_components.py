"""The browser page without a browser: its data, specs and components (solara.render).

Runs on a teaching preset (two cities, fast).  The browser tests in
tests/browser/test_viz_page.py drive the same page in headless chromium.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402

from viz import specs  # noqa: E402
from viz.i18n import lang  # noqa: E402
from viz.presets import (  # noqa: E402
    VizModel, catalogue, default_preset, lessons, levers_for, parse_scale, parse_seed, policies_available,
)

PRESET = "wage_gap"  # Qiqihar and Daqing: the fastest preset
TEACHING = ("wage_gap", "talent_race", "platform", "hukou_reform")


@pytest.fixture(scope="module")
def model():
    m = VizModel(preset="tiny", seed="7")
    for _ in range(14):
        m.step()
    return m


# ------------------------------------------------------------------ presets
def test_teaching_presets_exist_with_lessons_in_both_languages():
    cat = catalogue()
    les = lessons()
    for key in TEACHING:
        assert cat[key].kind == "teaching"
        lesson = les[key]
        for field in ("title", "summary", "try", "watch"):
            assert lesson[field]["en"] and lesson[field]["zh"], (key, field)
        assert len(lesson["try"]["en"]) == len(lesson["try"]["zh"])
        # the lesson's cities are in the preset
        cities = set(VizModel(preset=key, scale="100000").names)
        assert set(lesson["chart_cities"]) <= cities and lesson["city"] in cities


@pytest.mark.parametrize("key", TEACHING)
def test_teaching_presets_are_small(key):
    m = VizModel(preset=key)
    assert m.C <= 7 and m.people.n < 60_000, (m.C, m.people.n)
    assert m.config.months <= 60


def test_default_preset_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MIGRANTS_VIZ_SCENARIO", raising=False)
    assert default_preset() == "baseline"
    monkeypatch.setenv("MIGRANTS_VIZ_SCENARIO", "talent_race")
    assert default_preset() == "talent_race"
    path = ROOT / "configs" / "scenarios" / "tiny.yaml"
    monkeypatch.setenv("MIGRANTS_VIZ_SCENARIO", str(path))
    assert default_preset() == "tiny"  # a known scenario's file is the scenario itself
    monkeypatch.setenv("MIGRANTS_VIZ_SCENARIO", str(ROOT / "configs" / "teaching" / "wage_gap.yaml"))
    assert default_preset() == "wage_gap"
    other = tmp_path / "data_viz_custom.yaml"
    other.write_text("extends: tiny\nname: custom\ncities: [Shenyang, Dalian]\n")
    monkeypatch.setenv("MIGRANTS_VIZ_SCENARIO", str(other))
    key = default_preset()
    assert key == "custom:data_viz_custom" and catalogue()[key].kind == "custom"
    assert VizModel(preset=key).C == 2


def test_seed_and_scale_parsing():
    assert parse_seed("") is None and parse_seed("  ") is None and parse_seed(None) is None
    assert parse_seed("42") == 42
    assert parse_seed("lesson one") == parse_seed("lesson one") != parse_seed("lesson two")
    assert parse_scale("1000") == 1000 and parse_scale("") is None and parse_scale("x") is None


def test_viz_model_accepts_what_solaraviz_passes_on_reset():
    from mesa.experimental.scenarios import Scenario

    # SolaraViz's Reset passes Mesa's own scenario object: it must not replace the preset
    m = VizModel(preset=PRESET, seed="3", scale="1000", scenario=Scenario(), decisions__beta_income=2.0)
    assert m.preset == PRESET and m.config.name == "wage_gap"
    assert m.config.decisions.beta_income.value == 2.0 and m.scale == 1000 and m.seed == 3
    assert m.lever_values["decisions.beta_income"] == 2.0


def test_viz_model_stops_at_the_horizon_and_when_retired():
    m = VizModel(preset=PRESET, scale="5000")
    m.config.months = 2  # the schema allows assignment; a short horizon for the test
    m.step()
    assert m.running
    m.step()
    assert not m.running and m.month == 2
    m2 = VizModel(preset=PRESET, scale="5000")
    m2.retire()
    m2.step()
    assert m2.month == 0 and not m2.running


@pytest.mark.skipif(not policies_available(), reason="policy module not installed")
def test_policy_switches_and_amounts_reach_the_model():
    m = VizModel(preset="talent_race", scale="5000", policy__shenyang_talent_3_0=True, amount__talent=2.0)
    refs = " ".join(m.config.policies)
    assert "shenyang_talent_3_0[" in refs and "start=2020-11" in refs
    assert "home_purchase.by_degree.phd=140000" in refs
    assert m.lever_values["policy:shenyang_talent_3_0"] is True and m.lever_values["amount:talent"] == 2.0
    off = VizModel(preset="talent_race", scale="5000", policy__shenyang_talent_3_0=False)
    assert not any("shenyang_talent_3_0" in p for p in off.config.policies)
    # the preset's own cards (the baseline's, in force in 2020) stay unless switched off
    own = list(VizModel(preset="talent_race", scale="5000").config.policies)
    kept = VizModel(preset="talent_race", scale="5000", **{f"policy__{p.split('[')[0]}": False for p in own})
    assert kept.config.policies == []
    refs = [lv.ref for lv in levers_for("platform")]
    assert refs[0] == "policy:metro_shared_employment"


# ------------------------------------------------------------------ map
def test_map_data_has_every_city_and_consistent_rates(model):
    data = specs.map_data(model, "en")
    nodes = data["nodes"]["columns"]
    assert nodes["city"] == list(model.names[: model.C])
    net, flows = specs.window_sums(model)
    pop = np.asarray(model.month_record["population"], float)
    assert np.allclose(nodes["rate"], np.round(1000 * net / pop, 2))
    # net migration of the window equals arrivals minus departures (cities and the rest of China)
    assert np.allclose(net, flows[:, : model.C].sum(0) - flows[: model.C, :].sum(1))
    # arrows: at most 8 between cities and 4 with the rest of China, largest first
    heads = data["heads"]["columns"]
    assert 0 < len(heads["movers"]) <= specs.N_FLOWS + specs.N_FLOWS_OUTSIDE
    assert all(0 <= a < 360 for a in heads["angle"])
    fl = data["flows"]["columns"]
    assert sorted(set(fl["fid"])) == list(range(len(heads["movers"])))
    # labels sit above their circles; the inset has its own arrows, metro to metro
    assert all(ll > la for ll, la in zip(nodes["label_lat"], nodes["lat"]))
    metro = set(np.flatnonzero(model.cities["in_shenyang_metro"].to_numpy(bool)))
    names = list(model.names)
    for label in data["heads_inset"]["columns"]["label"]:
        a, b = label.split(":")[0].split(" → ")
        assert names.index(a) in metro and names.index(b) in metro
    zh = specs.map_data(model, "zh")["nodes"]["columns"]["name"]
    assert zh[0] == "沈阳" and zh != nodes["name"]


def test_top_flows_keeps_cities_and_outside_apart():
    C = 3
    f = np.zeros((4, 4))
    f[0, 1], f[1, 2], f[3, 0], f[2, 3] = 5, 1, 100, 50
    got = specs.top_flows(f, C, n_cities=1, n_outside=1)
    assert got == [(3, 0, 100.0), (0, 1, 5.0)]


def test_regions_are_closed_clockwise_rings():
    ring = specs.blob([123.4, 122.9, 123.9], [41.8, 41.1, 41.9], 0.4)
    assert ring[0] == ring[-1] and len(ring) > 4
    x, y = np.array(ring).T
    area2 = np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])
    assert area2 < 0  # clockwise: d3-geo fills the inside, not the rest of the globe


def test_south_is_squeezed_and_north_untouched():
    assert specs.display_lat(41.8) == 41.8
    assert specs.SOUTH_LINE - 3 < specs.display_lat(28.1) < specs.display_lat(31.2) < specs.SOUTH_LINE


def test_arrows_run_from_edge_to_edge():
    scale = 2000.0  # px per Mercator unit
    curve, (hx, hy, angle) = specs.arrow(123.4, 41.8, 121.6, 38.9, r0=10, r1=20, head_px=12, scale=scale)
    def px(lon, lat):
        return np.array([np.radians(lon), specs.merc(lat)]) * scale
    start, end, dest = px(*curve[0]), px(*curve[-1]), px(121.6, 38.9)
    assert np.hypot(*(start - px(123.4, 41.8))) >= 10
    assert np.hypot(*(end - dest)) >= 20 + 12 - 1e-6
    assert 180 < angle < 270  # heading south-west
    assert np.hypot(*(px(hx, hy) - dest)) < np.hypot(*(end - dest))  # the head is past the line's end


def test_map_spec_is_json_with_named_monthly_sources(model):
    spec = specs.map_spec(model, "en")
    text = json.dumps(spec)  # no NaN, numpy types or objects
    assert '"name": "nodes"' in text and '"name": "flows"' in text and '"name": "heads"' in text
    assert "Shenyang metropolitan area" in text
    inset = specs.map_spec(model, "zh", "inset")
    assert specs.has_inset(model) and "沈阳都市圈" in json.dumps(inset, ensure_ascii=False)


# ------------------------------------------------------------------ charts and details
def test_series_buffer_grows_by_one_month_at_a_time():
    m = VizModel(preset=PRESET, scale="2000")
    chosen = [0, 1]
    buf = specs.SeriesBuffer(specs.chart_rows("unemployment", m, chosen, "en"))
    buf.extend(m)
    assert len(buf.columns["value"]) == 3  # month 0: two cities and all cities
    for _ in range(3):
        m.step()
    before = buf.dataset()["series"]["columns"]
    buf.extend(m)
    after = buf.dataset()["series"]["columns"]
    assert len(after["value"]) == 12 and after["value"][:3] == before["value"][:3]
    # the same rows as building from scratch
    fresh = specs.SeriesBuffer(specs.chart_rows("unemployment", m, chosen, "en")).extend(m)
    assert fresh.columns == buf.columns
    assert set(after["series"]) == set(specs.chart_series("unemployment", m, chosen, "en"))


def test_chart_rows_every_kind(model):
    for kind, *_ in specs.CHARTS:
        buf = specs.SeriesBuffer(specs.chart_rows(kind, model, [0, 7], "en")).extend(model)
        cols = buf.columns
        assert len(cols["date"]) == len(cols["series"]) == len(cols["value"])
        assert all(np.isfinite(cols["value"]))
        if kind in ("population", "provinces", "unemployment"):
            assert len(cols["value"]) > 0
    prov = specs.SeriesBuffer(specs.chart_rows("provinces", model, [], "en")).extend(model).columns
    last = {s: v for s, v in zip(prov["series"], prov["value"])}
    assert sum(last.values()) == pytest.approx(float(np.sum(model.month_record["population"])))


def test_city_details_match_the_records(model):
    c = list(model.names).index("Dalian")
    d = specs.city_details(model, c, "en")
    rec = model.month_record
    assert d["name"] == "Dalian" and d["population"] == rec["population"][c]
    _, flows = specs.window_sums(model)
    assert d["arrivals_12"] == flows[:, c].sum() and d["departures_12"] == flows[c, :].sum()
    assert [n for n, _ in d["arrivals"]] == [model.names[o] for o in np.argsort(flows[:, c])[::-1][: len(d["arrivals"])]]
    assert set(d["ages"]) == set(specs.AGE_GROUPS)
    assert d["retained"] is None or 0 <= d["retained"] <= 1


# ------------------------------------------------------------------ components
@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("MIGRANTS_VIZ_SCENARIO", PRESET)
    lang.set("en")
    from viz.app import Page

    box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    yield rc
    rc.close()


def _text(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def test_page_steps_and_shows_the_month(page):
    assert _text(page, "migrants-month").startswith("Month 0 of 60 · 2020-11")
    page.find(v.Btn, children=["Step"]).widget.click()
    assert _text(page, "migrants-month").startswith("Month 1 of 60 · 2020-12")


def test_page_lever_and_reset_make_a_new_model(page):
    from migrants.config import CONFIG_DIR, load_scenario

    value = load_scenario(str(CONFIG_DIR / "teaching" / f"{PRESET}.yaml")).decisions.beta_income.value
    slider = page.find(v.Slider, label=f"Weight of expected income ({value:g})").widget
    assert slider.v_model == value
    page.find(v.Btn, children=["Step"]).widget.click()
    slider.v_model = 0.5
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert _text(page, "migrants-month").startswith("Month 0 of 60")
    assert "Weight of expected income = 0.5" in _text(page, "migrants-settings")
    page.find(v.Slider, label="Weight of expected income (0.5)").assert_single()


def test_language_toggle_switches_the_session_language():
    from viz.components import LanguageToggle

    lang.set("en")
    box, rc = solara.render(LanguageToggle(), handle_error=False)
    toggle = rc.find(v.BtnToggle).widget
    toggle.v_model = "中文"
    assert lang.value == "zh"
    toggle.v_model = "English"
    assert lang.value == "en"
    rc.close()


def test_page_labels_follow_the_language(page):
    assert "Month" in _text(page, "migrants-month")
    lang.set("zh")
    try:
        assert _text(page, "migrants-month").startswith("月份 0 / 60")
        assert "课程" in _text(page, "migrants-settings")
        select = page.find(v.Select, class_="migrants-city-select").widget
        assert sorted(i["title"] for i in select.items) == sorted(["齐齐哈尔", "大庆"])
    finally:
        lang.set("en")


def _lesson(rc) -> str:
    from solara.widgets import HTML

    return rc.find(HTML, attributes={"class": "migrants-lesson-body"}).widget.unsafe_innerHTML


def test_page_shows_the_lesson_and_loads_another_preset(page):
    assert "Daqing pays about a third more" in _lesson(page)
    select = page.find(v.Select, class_="migrants-preset-select").widget
    assert select.v_model == PRESET
    page.find(v.Btn, children=["Step"]).widget.click()
    select.v_model = "platform"
    assert "shared-employment" in _lesson(page)
    assert "7 cities" in _text(page, "migrants-settings")
    assert _text(page, "migrants-month").startswith("Month 0 of 48")
    if policies_available():  # the levers follow the preset: the lesson's switch is there
        page.find(v.Checkbox, label="Policy: Shared-employment platform (metro)").assert_single()
    # Reset rebuilds the new preset with its own scale, not the previous preset's
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert _text(page, "migrants-month").startswith("Month 0 of 48")
    assert "7 cities" in _text(page, "migrants-settings") and "Persons per agent 1,000" in _text(page, "migrants-settings")
