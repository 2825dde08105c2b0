"""The browser page without a browser: its data, specs and components (solara.render).

Runs on a teaching preset (two cities, fast).  The browser tests in
tests/browser/test_viz_page.py drive the same page in headless chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402

from migrants.viz import specs  # noqa: E402
from migrants.viz.i18n import lang  # noqa: E402
from migrants.viz.presets import (  # noqa: E402
    VizModel, catalogue, default_preset, lessons, levers_for, parse_scale, parse_seed,
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


def test_policy_switches_and_amounts_reach_the_model():
    m = VizModel(preset="talent_race", scale="5000", policy__shenyang_talent_3_0=True, amount__talent=2.0)
    refs = " ".join(m.config.policies)
    assert "shenyang_talent_3_0[" in refs and 'start="2020-11"' in refs
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
    from migrants.viz.app import Page

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
    slider = page.find(v.Slider, label=f"Weight of expected income: {value:g}").widget
    assert slider.v_model == value
    def lever_box():
        return page.find(v.Html, attributes={"data-lever": "decisions__beta_income"}).widget

    assert "migrants-pending" not in lever_box().class_
    page.find(v.Btn, children=["Step"]).widget.click()
    slider.v_model = 0.5
    # the moved lever is marked as waiting for Reset; the run on the page keeps its value
    assert "migrants-pending" in lever_box().class_
    assert "now: 1.5 · applies on Reset" in str(lever_box().children[-1].children)
    assert "1 lever(s) waiting for Reset" in str([w.children for w in page.find(v.Html, class_="migrants-pending-note").widgets])
    assert f"Weight of expected income = {value:g}" in _text(page, "migrants-settings")
    page.find(v.Slider, label="Weight of expected income: 0.5").assert_single()
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert _text(page, "migrants-month").startswith("Month 0 of 60")
    assert "Weight of expected income = 0.5" in _text(page, "migrants-settings")
    page.find(v.Slider, label="Weight of expected income: 0.5").assert_single()
    assert "migrants-pending" not in lever_box().class_


def test_page_controls_are_its_own_in_both_languages(page):
    labels = {str(w.children[0]) for w in page.find(v.Btn).widgets if w.children and isinstance(w.children[0], str)}
    assert {"▶ Play", "Step", "Reset", "Slow", "Normal", "Fast"} <= labels
    for mesa_internal in ("Play Interval", "Render Interval", "Use Threads"):
        assert page.find(v.Slider, label=mesa_internal).widgets == []
        assert page.find(v.Checkbox, label=mesa_internal).widgets == []
    lang.set("zh")
    try:
        labels = {str(w.children[0]) for w in page.find(v.Btn).widgets if w.children and isinstance(w.children[0], str)}
        assert {"▶ 播放", "单步", "重置", "慢", "中", "快"} <= labels
    finally:
        lang.set("en")


def test_page_shows_only_the_lessons_levers(page):
    boxes = [w.label for w in page.find(v.Checkbox).widgets]
    assert not any("Shenyang" in b or "Dalian" in b for b in boxes), boxes


def test_language_toggle_switches_the_session_language():
    from migrants.viz.components import LanguageToggle

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
    # the levers follow the preset: the lesson's switch is there
    page.find(v.Checkbox, label="Policy: Shared-employment platform (metro)").assert_single()
    # Reset rebuilds the new preset with its own scale, not the previous preset's
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert _text(page, "migrants-month").startswith("Month 0 of 48")
    assert "7 cities" in _text(page, "migrants-settings") and "Persons per agent 1,000" in _text(page, "migrants-settings")
