"""The map's and the charts' Vega-Lite specs, and the data that feed them.

Pure functions of a model (no Solara), so they are tested without a browser.

Data are sent to the browser as columns (``{field: [values]}``) for named
Vega-Lite sources; ``viz/vega_view.vue`` turns them into rows.  Specs are
built once per model and language; month by month only the data change.

Map conventions
---------------
* Positions are real longitude/latitude (Mercator).  Yuhuan (Zhejiang), the
  only city south of 36°N, is pulled north with its distance to 36°N shrunk by
  ``SOUTH_SQUEEZE``, below a dashed line that says so, so the Northeast is not
  squeezed into a corner.  The rest of China (not simulated) is a grey square
  placed schematically south of the cities (towards Shanghai).
* Node area is proportional to population (linear size scale from zero).
* Fill: net migration of the last 12 months per 1,000 residents, a diverging
  red-blue scale centred on zero (red: losing people, blue: gaining).
* Stroke and a light shaded region: the province.  The Shenyang metropolitan
  area is a dashed outline with its name, and a second panel zooms on it when
  other cities are on the map too.
* Arrows: the largest flows of the last 12 months between cities, and apart
  the largest to or from the rest of China; width by movers, curved to the
  right of their direction so that A->B and B->A do not overlap, ending at
  the edge of the destination's circle.

To put labels above circles and arrowheads at their edge, the map's pixel
scale is worked out here as Vega-Lite's projection fit does it (Mercator,
fitted to everything drawn), see ``MapFrame``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from migrants.outcomes import metro_flags, month_value

from .i18n import names_for, province_name, t

SOUTH_LINE = 36.0  # degrees north; south of it positions are squeezed
SOUTH_SQUEEZE = 0.3
N_FLOWS = 8  # arrows between cities on the map
N_FLOWS_OUTSIDE = 4  # arrows to or from the rest of China
ROC_LON_SHIFT = 1.2  # the rest of China's square: this far east of Shanghai, clear of Yuhuan
ROC_GAP = 2.0  # ... and at least this far (degrees) south of the southernmost city
ROC_RADIUS_PX = 9.0
HULL_RADIUS = 0.45  # degrees around each city for province regions
METRO_RADIUS = 0.35
MAP_WIDTH, MAP_HEIGHT = 600, 470
INSET_WIDTH, INSET_HEIGHT = 600, 230

PROVINCE_COLOURS = {
    "Liaoning": "#1b9e77",
    "Jilin": "#d95f02",
    "Heilongjiang": "#7570b3",
    "Inner Mongolia": "#a6761d",
    "Beijing": "#e7298a",
    "Tianjin": "#66a61e",
    "Hebei": "#e6ab02",
    "Zhejiang": "#1f78b4",
    "Rest of China": "#888888",
}
CHART_HEIGHT = 170
CHART_FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"  # the page serves Noto Sans SC (viz/public/fonts)


# ------------------------------------------------------------------ geometry
def display_lat(lat: float) -> float:
    """Latitude as drawn: unchanged north of SOUTH_LINE, squeezed south of it."""
    return lat if lat >= SOUTH_LINE else SOUTH_LINE - (SOUTH_LINE - lat) * SOUTH_SQUEEZE


def merc(lat_deg):
    """Mercator y of a latitude (radians of the unit sphere)."""
    phi = np.radians(np.clip(lat_deg, -85.0, 85.0))
    return np.log(np.tan(np.pi / 4 + phi / 2))


def inv_merc(y):
    return np.degrees(2 * np.arctan(np.exp(y)) - np.pi / 2)


def positions(model) -> tuple[np.ndarray, np.ndarray]:
    """Drawn (lon, lat) of the J places: the C cities and the rest of China."""
    layout = {n: d for n, d in model.graph.nodes(data=True)}
    lon = np.array([float(layout[i]["lon"]) for i in range(model.J)])
    lat = np.array([display_lat(float(layout[i]["lat"])) for i in range(model.J)])
    C = model.C
    lon[C] += ROC_LON_SHIFT
    lat[C] = max(lat[C], float(lat[:C].min()) - ROC_GAP)
    return lon, lat


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (Andrew's monotone chain), counter-clockwise in (lon, lat)."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def blob(lons, lats, radius: float, n: int = 20) -> list[list[float]]:
    """A closed ring around the points: the hull of a circle around each.

    Clockwise, as d3-geo (Vega) wants a polygon's outer ring (a counter-clockwise
    ring would cover the rest of the globe).
    """
    pts = []
    for lo, la in zip(lons, lats):
        k = 1.0 / max(math.cos(math.radians(la)), 0.2)  # round on the map, not on the sphere
        for i in range(n):
            a = 2 * math.pi * i / n
            pts.append((round(lo + radius * k * math.cos(a), 4), round(la + radius * math.sin(a), 4)))
    ring = _hull(pts)[::-1]  # counter-clockwise -> clockwise
    ring.append(ring[0])
    return [[x, y] for x, y in ring]


def _feature(ring, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _fit_scale(lons, lats, width: float, height: float) -> float:
    """Pixels per unit of Mercator x/y when everything at (lons, lats) is fitted into width x height."""
    x = np.radians(np.asarray(lons, float))
    y = merc(np.asarray(lats, float))
    dx, dy = float(np.ptp(x)) or 1e-6, float(np.ptp(y)) or 1e-6
    return min(width / dx, height / dy)


@dataclass
class MapFrame:
    """What stays fixed for one model: positions, regions, size scale, the views' pixel scales."""

    lon: np.ndarray
    lat: np.ndarray
    provinces: list[str]
    regions: list[tuple[str, list]]
    metro: np.ndarray  # (J,) bool
    metro_ring: list | None
    south: bool
    pop_max: float  # top of the size scale's domain
    size_max: float  # px^2 at pop_max
    scale_main: float
    scale_inset: float | None

    def radius_px(self, pop) -> np.ndarray:
        size = np.clip(np.asarray(pop, float) / self.pop_max, 0, None) * self.size_max
        return np.sqrt(size / np.pi)


def map_frame(model) -> MapFrame:
    """The model's MapFrame (computed once, kept on the model)."""
    frame = model.__dict__.get("_viz_map_frame")
    if frame is not None:
        return frame
    lon, lat = positions(model)
    C = model.C
    provinces = list(model.cities["province"])
    regions = []
    for p in dict.fromkeys(provinces):
        idx = [i for i, q in enumerate(provinces) if q == p]
        regions.append((p, blob(lon[idx], lat[idx], HULL_RADIUS)))
    metro = np.append(metro_flags(model.cities), False)
    metro_idx = np.flatnonzero(metro)
    metro_ring = blob(lon[metro_idx], lat[metro_idx], METRO_RADIUS) if len(metro_idx) >= 2 else None
    south = bool(any(float(d["lat"]) < SOUTH_LINE for n, d in model.graph.nodes(data=True) if n < C))
    # everything the main map draws, as Vega-Lite fits its projection to it
    pts = [(x, y) for _, ring in regions for x, y in ring] + list(zip(lon, lat))
    if metro_ring:
        pts += [(x, y) for x, y in metro_ring]
    if south:
        pts += [(float(lon.min()) - 1.0, SOUTH_LINE + 0.1), (float(lon.max()) + 1.0, SOUTH_LINE + 0.1)]
    xs, ys = zip(*pts)
    scale_main = _fit_scale(xs, ys, MAP_WIDTH, MAP_HEIGHT)
    scale_inset = None
    if has_inset(model) and metro_ring:
        xs, ys = zip(*metro_ring)
        scale_inset = _fit_scale(xs, ys, INSET_WIDTH, INSET_HEIGHT)
    pop0 = float(np.max(model.recorder.rows["population"][0])) if model.recorder.rows["population"] else 1.0
    frame = MapFrame(lon, lat, provinces, regions, metro, metro_ring, south, pop_max=pop0 * 1.25,
                     size_max=1500.0 if C > 12 else 2200.0, scale_main=scale_main, scale_inset=scale_inset)
    model.__dict__["_viz_map_frame"] = frame
    return frame


def has_inset(model) -> bool:
    """A second, zoomed panel for the metro area: when it has 3+ cities and others are on the map too."""
    metro = int(np.sum(metro_flags(model.cities)))
    return metro >= 3 and model.C > metro


# ------------------------------------------------------------------ map data
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


def top_flows(flows: np.ndarray, C: int, n_cities: int = N_FLOWS, n_outside: int = N_FLOWS_OUTSIDE) -> list[tuple[int, int, float]]:
    """The largest flows between cities and, apart, those to or from the rest of China (index C)."""
    out = []
    inner = flows[:C, :C]
    for k in np.argsort(inner, axis=None)[::-1][:n_cities]:
        o, d = divmod(int(k), C)
        if inner[o, d] > 0:
            out.append((o, d, float(inner[o, d])))
    J = C + 1
    outer = np.zeros_like(flows)
    outer[C, :] = flows[C, :]
    outer[:, C] = flows[:, C]
    for k in np.argsort(outer, axis=None)[::-1][:n_outside]:
        o, d = divmod(int(k), J)
        if outer[o, d] > 0:
            out.append((o, d, float(outer[o, d])))
    return sorted(out, key=lambda x: -x[2])


def arrow(lon0, lat0, lon1, lat1, r0: float, r1: float, head_px: float, scale: float,
          bend: float = 0.18, n: int = 10) -> tuple[list[tuple[float, float]], tuple[float, float, float]]:
    """A curved arrow from one circle's edge to another's, in a view of ``scale`` px per Mercator unit.

    Returns the curve as (lon, lat) points and the arrowhead (lon, lat, angle in
    degrees clockwise from north).  The curve is a quadratic Bezier bent to the
    right of its direction; it leaves the origin circle (radius ``r0`` px) and
    stops where the arrowhead (``head_px`` long) touches the destination's (``r1``).
    """
    p0 = np.array([math.radians(lon0), float(merc(lat0))]) * scale
    p2 = np.array([math.radians(lon1), float(merc(lat1))]) * scale
    d = p2 - p0
    ctrl = (p0 + p2) / 2 + bend * np.array([d[1], -d[0]])  # right-hand normal (y points north)
    tt = np.linspace(0.0, 1.0, 81)[:, None]
    pts = (1 - tt) ** 2 * p0 + 2 * (1 - tt) * tt * ctrl + tt**2 * p2
    keep = (np.hypot(*(pts - p0).T) >= r0 + 1.5) & (np.hypot(*(pts - p2).T) >= r1 + head_px)
    idx = np.flatnonzero(keep)
    if len(idx) < 2:  # circles touch or overlap: a short straight stub
        idx = np.array([0, len(pts) - 1])
    pts = pts[idx[0]: idx[-1] + 1]
    sel = np.unique(np.linspace(0, len(pts) - 1, n).round().astype(int))
    pts = pts[sel]
    tail = pts[-1] - pts[-2]
    angle = math.degrees(math.atan2(tail[0], tail[1])) % 360
    lons = np.degrees(pts[:, 0] / scale)
    lats = inv_merc(pts[:, 1] / scale)
    head_at = pts[-1] + tail / (np.hypot(*tail) or 1.0) * head_px * 0.45
    head = (float(np.degrees(head_at[0] / scale)), float(inv_merc(head_at[1] / scale)), angle)
    return list(zip(lons.tolist(), lats.tolist())), head


def _arrows(frame: MapFrame, chosen, radius: np.ndarray, names: list[str], scale: float) -> tuple[dict, dict]:
    fl = {"fid": [], "i": [], "lon": [], "lat": [], "movers": [], "width": [], "label": []}
    hd = {"lon": [], "lat": [], "angle": [], "movers": [], "size": [], "label": []}
    if not chosen:
        return fl, hd
    vmax = max(v for _, _, v in chosen)
    for fid, (o, d, v) in enumerate(chosen):
        label = f"{names[o]} → {names[d]}: {int(v):,}"
        size = 45.0 + 200.0 * v / vmax  # arrowhead area, px^2
        curve, (hx, hy, ang) = arrow(frame.lon[o], frame.lat[o], frame.lon[d], frame.lat[d], radius[o], radius[d],
                                     math.sqrt(size) * 1.1, scale)
        for i, (x, y) in enumerate(curve):
            fl["fid"].append(fid)
            fl["i"].append(i)
            fl["lon"].append(round(x, 4))
            fl["lat"].append(round(y, 4))
            fl["movers"].append(int(v))
            fl["width"].append(round(1.0 + 6.0 * v / vmax, 2))
            fl["label"].append(label)
        hd["lon"].append(round(hx, 4))
        hd["lat"].append(round(hy, 4))
        hd["angle"].append(round(ang, 1))
        hd["movers"].append(int(v))
        hd["size"].append(round(size, 1))
        hd["label"].append(label)
    return fl, hd


def map_data(model, language: str) -> dict:
    """The map's data for the model's current month: nodes, flow curves and arrowheads (main and inset)."""
    frame = map_frame(model)
    C = model.C
    names = names_for(model, language)
    rec = model.month_record
    pop = np.asarray(rec["population"], float)
    net, flows = window_sums(model)
    rate = np.where(pop > 0, 1000.0 * net / np.maximum(pop, 1), 0.0)
    radius = np.append(frame.radius_px(pop), ROC_RADIUS_PX)
    metro = frame.metro
    biggest_metro = int(np.argmax(np.where(metro[:C], pop, -1))) if metro.any() else -1

    def label_lat(scale):
        return [round(float(inv_merc(merc(frame.lat[c]) + (radius[c] + 2.0) / scale)), 4) for c in range(C)]

    nodes = {
        "city": list(model.names[:C]),
        "name": names[:C],
        "lon": [round(float(x), 4) for x in frame.lon[:C]],
        "lat": [round(float(x), 4) for x in frame.lat[:C]],
        "label_lat": label_lat(frame.scale_main),
        "population": [int(round(x)) for x in pop],
        "rate": [round(float(x), 2) for x in rate],
        "net": [int(round(x)) for x in net],
        "unemployment": [round(float(x), 4) for x in rec["unemployment_rate"]],
        "province": [province_name(p, language) for p in frame.provinces],
        "metro": [bool(m) for m in metro[:C]],
        "label_main": [n if (frame.scale_inset is None or not metro[c] or c == biggest_metro) else ""
                       for c, n in enumerate(names[:C])],
    }
    chosen = top_flows(flows, C)
    fl, hd = _arrows(frame, chosen, radius, names, frame.scale_main)
    out = {
        "nodes": {"columns": nodes, "mode": "replace"},
        "flows": {"columns": fl, "mode": "replace"},
        "heads": {"columns": hd, "mode": "replace"},
    }
    if frame.scale_inset is not None:
        # the zoomed metro panel: its own label offsets and arrows (metro to metro only);
        # circles keep their pixel size there, the map is zoomed
        nodes["label_lat_inset"] = label_lat(frame.scale_inset)
        inner = np.where(np.outer(metro, metro), flows, 0)
        fl2, hd2 = _arrows(frame, top_flows(inner, C, n_outside=0), radius, names, frame.scale_inset)
        out["flows_inset"] = {"columns": fl2, "mode": "replace"}
        out["heads_inset"] = {"columns": hd2, "mode": "replace"}
    return out


# ------------------------------------------------------------------ map spec
def _geo(extra: dict | None = None, lat: str = "lat") -> dict:
    enc = {"longitude": {"field": "lon", "type": "quantitative"}, "latitude": {"field": lat, "type": "quantitative"}}
    enc.update(extra or {})
    return enc


def map_spec(model, language: str, which: str = "main") -> dict:
    """The map's Vega-Lite spec: static layers inline, monthly layers as named sources.

    ``which="inset"`` gives the zoomed panel of the Shenyang metropolitan area
    (no legends); with an inset the main map labels only the largest metro city.
    """
    frame = map_frame(model)
    C = model.C
    present = list(dict.fromkeys(frame.provinces))
    prov_labels = [province_name(p, language) for p in present]
    prov_colours = [PROVINCE_COLOURS.get(p, "#999999") for p in present]
    inset = which == "inset"
    suffix = "_inset" if inset else ""

    region_layer = {
        "data": {"values": {"type": "FeatureCollection",
                            "features": [_feature(r, province=province_name(p, language)) for p, r in frame.regions]},
                 "format": {"type": "json", "property": "features"}},
        "mark": {"type": "geoshape", "fillOpacity": 0.08, "strokeOpacity": 0.5, "strokeWidth": 1},
        "encoding": {
            "fill": {"field": "properties.province", "type": "nominal", "legend": None,
                     "scale": {"domain": prov_labels, "range": prov_colours}},
            "stroke": {"field": "properties.province", "type": "nominal", "legend": None,
                       "scale": {"domain": prov_labels, "range": prov_colours}},
        },
    }
    metro_layers: list[dict] = []
    if frame.metro_ring:
        idx = np.flatnonzero(frame.metro[:C])
        metro_layers.append({
            "data": {"values": {"type": "FeatureCollection", "features": [_feature(frame.metro_ring, name=t("metro", language))]},
                     "format": {"type": "json", "property": "features"}},
            "mark": {"type": "geoshape", "fill": "#444444", "fillOpacity": 0.05, "stroke": "#333333",
                     "strokeDash": [5, 3], "strokeWidth": 1.5},
        })
        if not inset:
            top = float(max(y for _, y in frame.metro_ring))
            metro_layers.append({
                "data": {"values": [{"lon": float(np.mean(frame.lon[idx])), "lat": top, "text": t("metro", language)}]},
                "mark": {"type": "text", "fontSize": 11, "fontStyle": "italic", "fill": "#333333", "baseline": "bottom",
                         "dy": -2},
                "encoding": _geo({"text": {"field": "text"}}),
            })
    legends = not inset

    def legend(spec: dict):
        return spec if legends else None

    flow_tooltip = [{"field": "label", "type": "nominal", "title": t("flows", language)}]
    only_metro = [{"filter": "datum.metro"}] if inset else []
    dynamic = [
        {   # flow curves
            "data": {"name": "flows" + suffix},
            "mark": {"type": "line", "interpolate": "monotone", "stroke": "#3b3b3b", "strokeOpacity": 0.55,
                     "strokeCap": "round"},
            "encoding": _geo({
                "detail": {"field": "fid", "type": "nominal"},
                "order": {"field": "i", "type": "quantitative"},
                "strokeWidth": {"field": "width", "type": "quantitative", "legend": None, "scale": None},
                "tooltip": flow_tooltip,
            }),
        },
        {   # arrowheads
            "data": {"name": "heads" + suffix},
            "mark": {"type": "point", "shape": "triangle-up", "filled": True, "fill": "#3b3b3b", "opacity": 0.8},
            "encoding": _geo({
                "angle": {"field": "angle", "type": "quantitative", "scale": None},
                "size": {"field": "size", "type": "quantitative", "legend": None, "scale": None},
                "tooltip": flow_tooltip,
            }),
        },
        {   # cities
            "data": {"name": "nodes"},
            "transform": only_metro,
            "mark": {"type": "circle", "strokeWidth": 2.2, "opacity": 0.92, "cursor": "pointer"},
            "encoding": _geo({
                "size": {"field": "population", "type": "quantitative", "title": t("population", language),
                         "scale": {"type": "linear", "zero": True, "domain": [0, frame.pop_max],
                                   "range": [0, frame.size_max]},
                         "legend": legend({"format": ",.2s", "symbolFillColor": "#cccccc",
                                           "symbolStrokeColor": "#888888", "tickCount": 3})},
                "fill": {"field": "rate", "type": "quantitative", "title": t("net_rate", language),
                         "scale": {"scheme": "redblue", "domainMid": 0, "domain": {"unionWith": [-4, 4]}},
                         "legend": legend({"format": ".1f", "gradientLength": 160, "titleLimit": 300,
                                           "direction": "horizontal"})},
                "stroke": {"field": "province", "type": "nominal", "title": t("province", language),
                           "scale": {"domain": prov_labels, "range": prov_colours},
                           "legend": legend({"symbolType": "circle", "symbolFillColor": "white",
                                             "direction": "horizontal", "columns": 4})},
                "tooltip": [
                    {"field": "name", "type": "nominal", "title": t("choose_city", language)},
                    {"field": "province", "type": "nominal", "title": t("province", language)},
                    {"field": "population", "type": "quantitative", "format": ",.0f", "title": t("population", language)},
                    {"field": "net", "type": "quantitative", "format": ",.0f", "title": t("net_12", language)},
                    {"field": "rate", "type": "quantitative", "format": ".1f", "title": t("net_rate", language)},
                    {"field": "unemployment", "type": "quantitative", "format": ".1%", "title": t("unemployment", language)},
                ],
            }),
        },
        {   # city names, just above their circles
            "data": {"name": "nodes"},
            "transform": only_metro,
            "mark": {"type": "text", "baseline": "bottom", "fontSize": 10.5, "fill": "#222222", "fontWeight": 500},
            "encoding": _geo({"text": {"field": "name" if inset else "label_main"}},
                             lat="label_lat_inset" if inset else "label_lat"),
        },
    ]
    base = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "config": {"view": {"stroke": None}, "font": "sans-serif",
                       "legend": {"labelFontSize": 10, "titleFontSize": 11, "orient": "bottom"}}}
    # regions, flows and cities use the same channels differently: keep their scales apart
    independent = {"scale": {k: "independent" for k in ("fill", "stroke", "size", "strokeWidth")}}
    if inset:
        return {**base, "title": {"text": t("metro", language), "fontSize": 12, "anchor": "start"},
                "width": INSET_WIDTH, "height": INSET_HEIGHT, "projection": {"type": "mercator"},
                "layer": [*metro_layers, *dynamic], "resolve": independent}

    lon_lo, lon_hi = float(frame.lon.min()) - 1.0, float(frame.lon.max()) + 1.0
    places = [{"lon": float(frame.lon[C]), "lat": float(frame.lat[C]), "name": names_for(model, language)[C],
               "note": t("rest_of_china_note", language)}]
    main: list[dict] = [region_layer, *metro_layers]
    if frame.south:
        main += [
            {
                "data": {"values": [{"lon": lon_lo, "lat": SOUTH_LINE + 0.1}, {"lon": lon_hi, "lat": SOUTH_LINE + 0.1}]},
                "mark": {"type": "line", "stroke": "#777777", "strokeDash": [2, 4], "strokeWidth": 1},
                "encoding": _geo(),
            },
            {
                "data": {"values": [{"lon": lon_lo + 0.2, "lat": SOUTH_LINE - 0.35, "text": "↓ " + t("south_break", language)}]},
                "mark": {"type": "text", "align": "left", "fontSize": 10, "fill": "#666666"},
                "encoding": _geo({"text": {"field": "text"}}),
            },
        ]
    main += [
        {   # the rest of China (not simulated): a grey square
            "data": {"values": places},
            "mark": {"type": "point", "shape": "square", "size": (2 * ROC_RADIUS_PX) ** 2 * 0.8, "filled": True,
                     "fill": "#bbbbbb", "stroke": "#666666", "strokeWidth": 1},
            "encoding": _geo({"tooltip": [{"field": "name", "type": "nominal"}, {"field": "note", "type": "nominal"}]}),
        },
        {
            "data": {"values": places},
            "mark": {"type": "text", "dx": ROC_RADIUS_PX + 4, "align": "left", "baseline": "middle", "fontSize": 11,
                     "fill": "#444444"},
            "encoding": _geo({"text": {"field": "name"}}),
        },
        *dynamic,
    ]
    return {**base, "width": MAP_WIDTH, "height": MAP_HEIGHT, "projection": {"type": "mercator"}, "layer": main,
            "resolve": independent}


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
