"""Solara components of the page.

``Dashboard`` reads Mesa's ``update_counter`` (bumped by SolaraViz after every
Step / Play tick) and passes the month down, so one month costs one render
pass.  The map and the charts are ``VegaView``s: embedded once per model and
language, then fed only the new month's data.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Callable

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from . import geo, specs
from .i18n import LANGS, fmt_int, fmt_pct, lang, names_for, t
from .presets import catalogue, config_value, lesson_text, lessons, levers_for, preset_scenario

VUE = str(Path(__file__).with_name("vega_view.vue"))


@solara.component_vue(VUE, vuetify=False)
def _VegaViewVue(spec: str, datasets: str, view_id: str = "", stamp: str = "", name: str = "",
                 event_click: Callable = None):
    pass


def to_json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def VegaView(spec: dict | str, datasets: dict | str, view_id: str = "", stamp: str = "", name: str = "",
             on_click: Callable | None = None):
    """A Vega-Lite view embedded once per (spec, view_id) and then fed new rows only.

    Spec and data travel as JSON text: reacton walks dict and list props
    looking for child elements on every render, which for a few thousand
    numbers costs more than the month's simulation.
    """
    kwargs = {}
    if on_click is not None:
        kwargs["event_click"] = on_click
    spec = spec if isinstance(spec, str) else to_json(spec)
    datasets = datasets if isinstance(datasets, str) else to_json(datasets)
    return _VegaViewVue(spec=spec, datasets=datasets, view_id=view_id, stamp=stamp, name=name, **kwargs)


def model_uid(model) -> str:
    """Identifies one model instance for the views (a Reset gives a new one)."""
    return f"{id(model):x}"


# ---------------------------------------------------------------- header
@solara.component
def LanguageToggle():
    """English / 中文 toggle (per browser session)."""
    labels = {"en": "English", "zh": "中文"}
    solara.ToggleButtonsSingle(
        value=labels[lang.value],
        values=[labels[x] for x in LANGS],
        on_value=lambda v: lang.set("zh" if v == "中文" else "en"),
        dense=True,
        classes=["migrants-lang"],
    )


@solara.component
def MonthBadge(model, month: int):
    """The month shown: date and month number of the scenario's horizon."""
    language = lang.value
    total = model.config.months
    text = f"{t('month', language)} {model.month} {t('of', language)} {total} · {model.date}"
    solara.Text(text, classes=["migrants-month"], style={"font-size": "1.3em", "font-weight": "600"})


@solara.component
def RunSettings(model):
    """One line with what this run is: preset, cities, scale, seed, lever values."""
    language = lang.value
    entry = getattr(model, "preset_entry", None)
    title = entry.title(language) if entry else model.config.name
    bits = [
        title,
        f"{model.C} {t('cities_n', language)}",
        f"{t('scale', language)} {model.scale:,}",
        f"{t('seed', language)} {model.seed}",
    ]
    preset = getattr(model, "preset", "")
    values = getattr(model, "lever_values", {})
    lesson_refs = set(lessons().get(preset, {}).get("levers", []))
    base = preset_scenario(preset) if preset else None
    for lv in levers_for(preset):
        if lv.ref not in values:
            continue
        v = values[lv.ref]
        default = config_value(base, lv.ref) if base is not None else v
        if lv.ref not in lesson_refs and v == default:
            continue  # only the lesson's levers and what differs from the preset
        if lv.is_policy:
            shown = t("on", language) if v else t("off", language)
        else:
            shown = f"{v:g}"
        bits.append(f"{lv.label(language)} = {shown}")
    solara.Text(" · ".join(bits), classes=["migrants-settings"], style={"font-size": "0.85em", "color": "#555"})


# ---------------------------------------------------------------- lesson
@solara.component
def LessonCard(model):
    preset = getattr(model, "preset", None)
    lesson = lessons().get(preset or "")
    if not lesson:
        return
    language = lang.value
    title = lesson_text(lesson, "title", language) or preset
    summary = lesson_text(lesson, "summary", language) or ""
    tries = lesson_text(lesson, "try", language) or []
    watch = lesson_text(lesson, "watch", language) or []

    def items(xs):
        return "".join(f"<li>{html.escape(str(x))}</li>" for x in xs)

    body = (
        f"<p>{html.escape(summary)}</p>"
        f"<div class='migrants-lesson-cols'>"
        f"<div><b>{html.escape(t('try', language))}</b><ol>{items(tries)}</ol></div>"
        f"<div><b>{html.escape(t('watch', language))}</b><ul>{items(watch)}</ul></div>"
        f"</div>"
    )
    with solara.Card(f"{t('lesson', language)}: {title}", classes=["migrants-lesson"], margin=0):
        solara.HTML(tag="div", unsafe_innerHTML=body, classes=["migrants-lesson-body"])


# ---------------------------------------------------------------- map
SVG_VUE = str(Path(__file__).with_name("svg_map.vue"))


@solara.component_vue(SVG_VUE, vuetify=False)
def _SvgMapVue(base: str, layer: str, stamp: str = "", name: str = "", event_click: Callable = None):
    pass


FLOW_CHOICES = (0, 5, 10, 20, 40)


@solara.component
def MapControls(measure: str, on_measure: Callable[[str], None], n_flows: int, on_n_flows: Callable[[int], None]):
    language = lang.value
    items = [{"title": t(geo.MEASURES[k][0], language), "value": k} for k in geo.MEASURE_KEYS]
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "8px"}):
        solara.v.Select(label=t("measure", language), items=items, v_model=measure, on_v_model=on_measure,
                        dense=True, hide_details=True, class_="migrants-measure-select",
                        style_="max-width: 330px; min-width: 240px")
        solara.v.Select(label=t("n_flows", language), items=[{"title": str(n), "value": n} for n in FLOW_CHOICES],
                        v_model=n_flows, on_v_model=lambda v: on_n_flows(int(v)), dense=True, hide_details=True,
                        class_="migrants-flows-select", style_="max-width: 150px; min-width: 130px")


@solara.component
def MapView(model, month: int, measure: str = "net_rate", n_flows: int = 10,
            on_city: Callable[[int], None] | None = None, which: str = "main"):
    """One view of the map (viz/geo.py): its static SVG once per model and language, its layer each month."""
    language = lang.value
    base = solara.use_memo(lambda: geo.base_svg(model, language, which), [model, language, which])
    layer = to_json(geo.layer(model, language, which, measure, n_flows))

    def on_click(datum):
        if on_city is None or not datum or "city" not in datum:
            return
        names = list(model.names)
        if datum["city"] in names[: model.C]:
            on_city(names.index(datum["city"]))

    _SvgMapVue(base=base, layer=layer, stamp=f"{model.month}", name="map" if which == "main" else "inset",
               event_click=on_click)


# ---------------------------------------------------------------- city details
def _table(rows: list[tuple[str, str]], head: tuple[str, str] | None = None, cls: str = "") -> str:
    h = ""
    if head:
        h = f"<thead><tr><th>{html.escape(head[0])}</th><th class='num'>{html.escape(head[1])}</th></tr></thead>"
    body = "".join(f"<tr><td>{html.escape(a)}</td><td class='num'>{html.escape(b)}</td></tr>" for a, b in rows)
    return f"<table class='migrants-table {cls}'>{h}<tbody>{body}</tbody></table>"


@solara.component
def CityDetails(model, month: int, city: int, on_city: Callable[[int], None]):
    language = lang.value
    names = names_for(model, language)
    c = min(max(int(city), 0), model.C - 1)
    d = specs.city_details(model, c, language)

    items = [{"title": names[i], "text": names[i], "value": i} for i in range(model.C)]
    solara.v.Select(label=t("choose_city", language), items=items, v_model=c, on_v_model=lambda v: on_city(int(v)),
                    dense=True, hide_details=True, class_="migrants-city-select", style_="max-width: 260px")
    retained = t("no_cohort", language) if d["retained"] is None else fmt_pct(d["retained"])
    facts = [
        (t("province", language), d["province"]),
        (t("population", language), fmt_int(d["population"])),
        (t("working_age", language), fmt_int(d["working_age"])),
        (t("unemployment", language), fmt_pct(d["unemployment"])),
        (t("wage", language), fmt_int(d["wage"])),
        (t("rent", language), fmt_int(d["rent"])),
        (t("grads_retained", language), retained),
        (t("arrivals_12", language), fmt_int(d["arrivals_12"])),
        (t("departures_12", language), fmt_int(d["departures_12"])),
        (t("net_12", language), f"{int(round(d['net_12'])):+,}"),
    ]
    solara.HTML(tag="div", unsafe_innerHTML=f"<h3 class='migrants-city-name'>{html.escape(d['name'])}</h3>"
                + _table(facts, cls="migrants-facts"))
    VegaView(specs.bars_spec(t("age_structure", language), t("persons", language)), specs.age_bars(d, language),
             view_id=f"age-{model_uid(model)}-{language}", stamp=str(model.month), name="ages")
    none = [(t("none_yet", language), "")]
    with solara.Columns([1, 1]):
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(t('arrivals_from', language))}</b>" + _table(
            [(n, fmt_int(v)) for n, v in d["arrivals"]] or none, (t("origin", language), t("persons", language)),
            cls="migrants-arrivals"))
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(t('departures_to', language))}</b>" + _table(
            [(n, fmt_int(v)) for n, v in d["departures"]] or none, (t("destination", language), t("persons", language)),
            cls="migrants-departures"))


# ---------------------------------------------------------------- charts
@solara.component
def SeriesChart(model, month: int, kind: str, chosen: tuple[int, ...]):
    """One time-series chart; its rows grow by one month per step (see specs.SeriesBuffer)."""
    language = lang.value
    title_key, y_key, fmt, points, y_union = next(c[1:] for c in specs.CHARTS if c[0] == kind)
    buf = solara.use_memo(lambda: specs.SeriesBuffer(specs.chart_rows(kind, model, list(chosen), language)),
                          [model, language, chosen])
    buf.extend(model)
    spec = solara.use_memo(
        lambda: to_json(specs.series_spec(
            t(title_key, language), t(y_key, language), fmt, points, model=model, y_union=y_union,
            series=specs.chart_series(kind, model, list(chosen), language), all_label=t("all_cities", language))),
        [model, language, chosen])
    VegaView(spec, buf.dataset(), view_id=f"{kind}-{model_uid(model)}-{language}-{','.join(map(str, chosen))}",
             stamp=str(model.month), name=kind)


@solara.component
def Charts(model, month: int, chosen: tuple[int, ...], on_chosen: Callable[[tuple[int, ...]], None]):
    language = lang.value
    names = names_for(model, language)
    items = [{"title": names[i], "text": names[i], "value": i} for i in range(model.C)]
    solara.v.Select(label=t("chart_cities", language), items=items, v_model=list(chosen), multiple=True, chips=True,
                    small_chips=True, deletable_chips=True, dense=True, hide_details=True,
                    on_v_model=lambda v: on_chosen(tuple(sorted(int(x) for x in v))),
                    class_="migrants-chart-cities")
    with solara.ColumnsResponsive(default=12, medium=6, large=6):
        for kind, *_ in specs.CHARTS:
            with solara.Div(style={"min-width": "300px"}):
                SeriesChart(model, month, kind, chosen)


DEFAULT_CHART_CITIES = ("Shenyang", "Dalian", "Changchun", "Harbin")


def default_chart_cities(model, k: int = 4) -> tuple[int, ...]:
    """The lesson's cities, else the four big cities of the Northeast, else the k largest."""
    lesson = lessons().get(getattr(model, "preset", "") or "", {})
    names = list(model.names[: model.C])
    chosen = [names.index(n) for n in lesson.get("chart_cities", DEFAULT_CHART_CITIES) if n in names]
    if not chosen:
        pop = np.asarray(model.month_record["population"])
        chosen = list(np.argsort(pop)[::-1][:k])
    return tuple(sorted(int(c) for c in chosen))


def default_city(model) -> int:
    lesson = lessons().get(getattr(model, "preset", "") or "", {})
    names = list(model.names[: model.C])
    for name in (lesson.get("city"), DEFAULT_CHART_CITIES[0]):
        if name in names:
            return names.index(name)
    return int(np.argmax(np.asarray(model.month_record["population"])))


# ---------------------------------------------------------------- presets
@solara.component
def PresetPicker(current: str, on_pick: Callable[[str], None]):
    language = lang.value
    items = [{"title": p.title(language), "text": p.title(language), "value": k} for k, p in catalogue().items()]
    with solara.Card(t("scenario", language), margin=0, classes=["migrants-presets"]):
        solara.v.Select(label=t("scenario", language), items=items, v_model=current, on_v_model=on_pick,
                        dense=True, hide_details=True, class_="migrants-preset-select")
        solara.Text(t("scenario_hint", language), style={"font-size": "0.8em", "color": "#666"})


CSS = """
.migrants-table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
.migrants-table td, .migrants-table th { padding: 1px 6px; border-bottom: 1px solid #eee; text-align: left; }
.migrants-table .num { text-align: right; font-variant-numeric: tabular-nums; }
.migrants-city-name { margin: 6px 0 2px 0; }
.migrants-lesson p { margin-bottom: 6px; }
.migrants-lesson { font-size: 0.92em; }
.migrants-map-plot svg { max-height: calc(100vh - 150px); }
.migrants-map-card .v-card-text, .migrants-map-card { padding: 4px !important; }
.migrants-lesson-cols { display: flex; gap: 24px; flex-wrap: wrap; }
.migrants-lesson-cols > div { flex: 1 1 320px; }
.migrants-lesson ol, .migrants-lesson ul { margin: 2px 0 0 0; }
/* sliders in the sidebar: the label on its own line, so long labels leave the track its width */
.v-navigation-drawer .v-slider.v-input--horizontal {
    grid-template-areas: "prepend" "control" "messages"; grid-template-columns: 1fr;
}
.v-navigation-drawer .v-slider.v-input--horizontal > .v-input__prepend { margin-inline-end: 0; margin-bottom: -6px; }
.v-navigation-drawer .v-slider .v-slider__label { font-size: 0.9em; white-space: normal; }
.v-navigation-drawer .v-slider.v-input--horizontal > .v-input__append { display: none; }
"""


@solara.component
def Dashboard(model_reactive):
    """Everything right of the sidebar: month, lesson, map, city details, charts.

    The only component that listens to Mesa's ``update_counter``: the month is
    passed down, so one Step costs one render pass, not one per chart.
    """
    update_counter.get()
    model = model_reactive.value
    month = model.month
    language = lang.value
    # a Reset keeps the user's choice of cities (a new preset mounts a new Dashboard)
    city, set_city = solara.use_state(default_city(model))
    measure, set_measure = solara.use_state("net_rate")
    n_flows, set_n_flows = solara.use_state(10)
    chosen, set_chosen = solara.use_state(default_chart_cities(model))
    if city >= model.C:
        city = default_city(model)
    chosen = tuple(c for c in chosen if c < model.C) or default_chart_cities(model)

    solara.Style(CSS)
    with solara.Column(gap="8px", style={"padding": "4px 10px"}):
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}):
            MonthBadge(model, month)
            RunSettings(model)
        with solara.ColumnsResponsive(default=12, large=[8, 4]):
            with solara.Card(margin=0, classes=["migrants-map-card"]):
                MapControls(measure, set_measure, n_flows, set_n_flows)
                MapView(model, month, measure, n_flows, on_city=set_city)
                if geo.has_inset(model):
                    MapView(model, month, measure, n_flows, on_city=set_city, which="inset")
            with solara.Column(gap="8px"):
                LessonCard(model)
                with solara.Card(t("details", language), margin=0):
                    CityDetails(model, month, city, set_city)
        with solara.Card(t("charts", language), margin=0):
            Charts(model, month, chosen, set_chosen)
