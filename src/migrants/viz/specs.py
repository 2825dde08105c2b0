"""The charts' Vega-Lite specs and the data that feed them, and the city details.

Pure functions of a model (no Solara), so they are tested without a browser.
(The map is drawn by viz/geo.py.)

Data are sent to the browser as columns (``{field: [values]}``) for named
Vega-Lite sources; ``viz/vega_view.vue`` turns them into rows.  Specs are
built once per model and language; month by month only the data change.
"""

from __future__ import annotations

import numpy as np
from migrants.outcomes import month_value

from .i18n import names_for, province_name, t


CHART_HEIGHT = 170
CHART_FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"  # the page serves Noto Sans SC (viz/public/fonts)

# ------------------------------------------------------------------ windows
def window_sums(model, months: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Net migration per city (C,) and the flow matrix (J, J), summed over the last ``months`` months."""
    rec = model.recorder
    C, J = model.C, model.J
    rows = rec.rows["net_migration"][-months:]
    net = np.sum(rows, axis=0) if rows else np.zeros(C)
    flows = np.zeros((J, J))
    for m, o, d, v in rec.flow_parts[-months:]:
        if m > 0:  # month 0 is the initial state, nobody moved
            np.add.at(flows, (o, d), v)
    np.fill_diagonal(flows, 0)
    return np.asarray(net, float), flows



# ------------------------------------------------------------------ charts
def month_date(model, month: int) -> str:
    """Model month as YYYY-MM-15 (mid-month: no time zone moves it into another month)."""
    idx = model.start_index + int(month)
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}-15"


def _datetime(model, month: int) -> dict:
    idx = model.start_index + int(month)
    return {"year": idx // 12, "month": idx % 12 + 1, "date": 15}


PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6",
           "#9d755d", "#bab0ac")
ALL_COLOUR = "#333333"



def panel_head(title: str, font_size: int, height: int, source: str) -> dict:
    """The part every full-width chart spec shares: schema, title, size, and its named data source."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "fontSize": font_size, "anchor": "start"},
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"name": source},
    }

def series_spec(title: str, y_title: str, y_format: str = ",.0f", points: bool = False,
                height: int = CHART_HEIGHT, model=None, y_union: list | None = None,
                series: list[str] | None = None, all_label: str | None = None) -> dict:
    """A time-series chart fed by the named source ``series`` (fields date, series, value).

    With ``model`` the time axis spans the scenario's whole horizon, so lines
    grow from left to right; ``y_union`` and ``series`` (the names of the lines,
    which also fixes their colours) keep an empty chart drawable.
    """
    mark = {"type": "line", "point": {"size": 30} if points else False, "strokeWidth": 2, "interpolate": "linear"}
    x_scale = {}
    if model is not None:
        x_scale = {"domain": [_datetime(model, 0), _datetime(model, max(model.config.months, 1))]}
    y_scale: dict = {"zero": False}
    if y_union:
        y_scale["domain"] = {"unionWith": y_union}
    colour: dict = {"field": "series", "type": "nominal", "title": None,
                    "legend": {"orient": "bottom", "columns": 4, "labelLimit": 140}}
    if series:
        colour["scale"] = {"domain": list(series),
                           "range": [ALL_COLOUR if s == all_label else PALETTE[i % len(PALETTE)]
                                     for i, s in enumerate(series)]}
    return {
        **panel_head(title, 13, height, "series"),
        "mark": mark,
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": None, "scale": x_scale,
                  "axis": {"format": "%Y-%m", "labelAngle": 0, "tickCount": 5}},
            "y": {"field": "value", "type": "quantitative", "title": y_title, "axis": {"format": y_format},
                  "scale": y_scale},
            "color": colour,
            "tooltip": [
                {"field": "series", "type": "nominal", "title": " "},
                {"field": "date", "type": "temporal", "format": "%Y-%m", "title": " "},
                {"field": "value", "type": "quantitative", "format": ",.0f" if y_format == "~s" else y_format,
                 "title": y_title},
            ],
        },
        "config": {"view": {"stroke": None}, "font": CHART_FONT},
    }


def bars_spec(title: str, x_title: str, x_format: str = ",.0f", height: int = 150) -> dict:
    """Horizontal bars fed by the named source ``bars`` (fields label, value, order)."""
    return {
        **panel_head(title, 12, height, "bars"),
        "mark": {"type": "bar", "color": "#4c78a8"},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "title": None, "sort": {"field": "order"}},
            "x": {"field": "value", "type": "quantitative", "title": x_title, "axis": {"format": x_format, "tickCount": 4}},
            "tooltip": [{"field": "label", "type": "nominal", "title": " "},
                        {"field": "value", "type": "quantitative", "format": x_format, "title": x_title}],
        },
        "config": {"view": {"stroke": None}, "font": CHART_FONT},
    }


def date_of(model, i: int) -> str:
    """The i-th recorded month as a date for a temporal axis."""
    return month_date(model, model.recorder.months[i])


class SeriesBuffer:
    """Rows of one chart, grown month by month from the model's recorder.

    ``rows_of(model, i)`` gives ``[(series, value), ...]`` for the i-th recorded
    month; ``extend(model)`` adds the months not yet seen, so each month costs
    one month's rows however long the run.
    """

    def __init__(self, rows_of):
        self.rows_of = rows_of
        self.n_months = 0
        self.columns: dict[str, list] = {"date": [], "series": [], "value": []}

    def extend(self, model) -> "SeriesBuffer":
        n = len(model.recorder.months)
        for i in range(self.n_months, n):
            date = date_of(model, i)
            for series, value in self.rows_of(model, i):
                if value is None or not np.isfinite(value):
                    continue
                self.columns["date"].append(date)
                self.columns["series"].append(series)
                self.columns["value"].append(float(value))
        self.n_months = n
        return self

    def dataset(self) -> dict:
        # new lists each time: the browser gets a changed value and appends the new rows
        return {"series": {"columns": {k: list(v) for k, v in self.columns.items()}, "mode": "append"}}


def chart_series(kind: str, model, chosen: list[int], language: str) -> list[str]:
    """Names of the lines of a chart, in legend order."""
    names = names_for(model, language)
    if kind == "provinces":
        return list(dict.fromkeys(province_name(p, language) for p in model.cities["province"]))
    out = [names[c] for c in chosen]
    if kind != "population":
        out.append(t("all_cities", language))
    return out


def chart_rows(kind: str, model, chosen: list[int], language: str):
    """The ``rows_of`` function of a chart kind for the chosen city indices."""
    names = names_for(model, language)
    all_label = t("all_cities", language)
    rows = model.recorder.rows

    if kind == "population":
        return lambda m, i: [(names[c], rows["population"][i][c]) for c in chosen]
    if kind == "provinces":
        provinces = list(model.cities["province"])
        groups = {}
        for c, p in enumerate(provinces):
            groups.setdefault(province_name(p, language), []).append(c)
        return lambda m, i: [(p, float(np.sum(rows["population"][i][idx]))) for p, idx in groups.items()]
    def month(i):  # the recorder's per-city arrays of month i (the columns month_value reads)
        return {k: rows[k][i] for k in ("unemployed", "employed", "graduates", "graduates_stayed")}

    def shown(x):
        return None if np.isnan(x) else x

    if kind == "unemployment":
        def unemp(m, i):
            rec = month(i)
            out = [(names[c], shown(month_value(rec, "unemployment_rate", [c]))) for c in chosen]
            out.append((all_label, shown(month_value(rec, "unemployment_rate"))))
            return out
        return unemp
    if kind == "retention":
        def retention(m, i):
            rec = month(i)
            if np.isnan(month_value(rec, "graduate_retention")):
                return []  # no cohort this month
            out = [(names[c], month_value(rec, "graduate_retention", [c])) for c in chosen if rows["graduates"][i][c] > 0]
            out.append((all_label, month_value(rec, "graduate_retention")))
            return out
        return retention
    if kind == "subsidy":
        def subsidy(m, i):
            sp = rows["subsidy_spend_cny"][i]
            if m.recorder.months[i] == 0:
                return []
            out = [(names[c], sp[c] / 1e6) for c in chosen]
            out.append((all_label, float(np.sum(sp)) / 1e6))
            return out
        return subsidy
    raise ValueError(f"unknown chart {kind!r}")


CHARTS = (
    # kind, title key, y-axis key, format, points, y domain always included
    # "~s" without a precision: Vega picks the digits from the tick step, so close ticks stay distinct
    ("population", "pop_cities", "population", "~s", False, None),
    ("provinces", "pop_provinces", "population", "~s", False, None),
    ("unemployment", "unemp_chart", "share", ".1%", False, [0.0, 0.06]),
    ("retention", "retention_chart", "share", ".0%", True, [0.0, 1.0]),
    ("subsidy", "subsidy_chart", "million_cny", ",.1f", False, [0.0, 1.0]),
)


# ------------------------------------------------------------------ details
AGE_GROUPS = ("minors", "students", "age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_plus", "retirees")


def city_details(model, c: int, language: str, top: int = 6) -> dict:
    """What the details panel shows for city ``c`` at the current month."""
    rec = model.month_record
    names = names_for(model, language)
    net, flows = window_sums(model)
    rows = model.recorder.rows
    # retention of the latest July cohort of this city's universities
    retained = None
    for i in range(len(model.recorder.months) - 1, -1, -1):
        if rows["graduates"][i][c] > 0:
            retained = month_value({k: rows[k][i] for k in ("graduates", "graduates_stayed")}, "graduate_retention", [c])
            break
    ages = {k: float(rec[k][c]) for k in AGE_GROUPS}
    arrivals = [(names[o], int(flows[o, c])) for o in np.argsort(flows[:, c])[::-1][:top] if flows[o, c] > 0]
    departures = [(names[d], int(flows[c, d])) for d in np.argsort(flows[c, :])[::-1][:top] if flows[c, d] > 0]
    return {
        "name": names[c],
        "province": province_name(model.cities["province"].iloc[c], language),
        "population": float(rec["population"][c]),
        "working_age": float(rec["working_age"][c]),
        "unemployment": float(rec["unemployment_rate"][c]),
        "wage": float(rec["mean_wage"][c]),
        "rent": float(rec["rent"][c]),
        "retained": retained,
        "arrivals_12": float(flows[:, c].sum()),
        "departures_12": float(flows[c, :].sum()),
        "net_12": float(net[c]),
        "ages": ages,
        "arrivals": arrivals,
        "departures": departures,
    }


def age_bars(details: dict, language: str) -> dict:
    labels = [t(k, language) for k in AGE_GROUPS]
    return {"bars": {"columns": {"label": labels, "value": [details["ages"][k] for k in AGE_GROUPS],
                                 "order": list(range(len(AGE_GROUPS)))}, "mode": "replace"}}
