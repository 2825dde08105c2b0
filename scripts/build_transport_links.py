#!/usr/bin/env python3
"""Build configs/transport_links.csv, the edge list of the transport graph.

Run from anywhere::

    python scripts/build_transport_links.py            # writes configs/transport_links.csv
    python scripts/build_transport_links.py --check    # exit 1 if the file on disk differs

It reads ``configs/cities.csv`` and ``configs/rest_of_china.yaml`` and writes
one row per link with the columns ``a,b,mode,km,hours,source``:

(a) road links (generated): every city is joined to its 3 nearest neighbours
    by great-circle distance (pairs separated by the sea, ``NO_DIRECT_ROAD``,
    excluded); if that leaves the graph in pieces, the closest pair of cities
    across two pieces is joined until it is connected.
    ``km = 1.25 x great-circle`` (configs/SOURCES.md: road is typically
    1.2-1.3 times the great-circle distance) and ``hours = km / 80`` (an
    expressway average speed; assumption).
(b) high-speed-rail links (mode ``hsr``): the table ``HSR`` below, each row
    with its source key (listed in configs/SOURCES.md) or marked as an
    assumption.
(c) links of the boundary region "Rest of China" to its gateway cities: the
    table ``GATEWAYS`` below names them; their mode, km and hours are read
    from configs/rest_of_china.yaml, plus a road row where the yaml gives a
    ``road_km``.

Only the standard library, numpy, pandas and pyyaml are used, so the script
runs without the migrants package being installed.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
CITIES = ROOT / "configs" / "cities.csv"
REST = ROOT / "configs" / "rest_of_china.yaml"
OUT = ROOT / "configs" / "transport_links.csv"

REST_NAME = "Rest of China"
K_NEAREST = 3
ROAD_FACTOR = 1.25  # road km / great-circle km (SOURCES.md: typically 1.2-1.3)
ROAD_KMH = 80.0  # expressway average speed, assumption
RAIL_FACTOR = 1.10  # rail km / great-circle km where the line km is unknown, assumption
HSR_KMH = 250.0  # time rule where no timetable figure is known, assumption
EARTH_RADIUS_KM = 6371.0088

# Pairs whose straight line crosses the sea (Liaodong Bay / Bohai Sea / Yellow
# Sea) have no direct road, so they are never taken as road neighbours: the
# next nearest city is used instead (assumption; checked by eye on a map).
NO_DIRECT_ROAD = {
    frozenset(("Dalian", other))
    for other in ("Qinhuangdao", "Huludao", "Jinzhou", "Panjin", "Tangshan", "Tianjin", "Yuhuan")
}

ROAD_SOURCE = "assumption: km = 1.25 x great-circle (SOURCES.md 1.2-1.3x); hours = km/80 km/h"
KM250 = "assumption: km/250 km/h"

# --------------------------------------------------------------------------
# (b) High-speed rail.
#
# Kinds of row:
#   ("pair", a, b, km, hours, source)
#       a timetable (or design) figure for the pair; km None -> RAIL_FACTOR x gc.
#   ("line", [stations], total_km, total_hours, weights, source)
#       consecutive segments of one line whose end-to-end time is known: each
#       segment gets the share of total_km and total_hours given by `weights`
#       (station kilometre posts when known, else None -> great-circle shares).
#   ("km250", a, b, km, source)
#       no time known: hours = km / 250; km None -> RAIL_FACTOR x gc.
# --------------------------------------------------------------------------
HSR = [
    # Beijing-Shenyang HSR (T2): 2 h 44 min end to end (SOURCES.md); line km posts
    # Beijing 0, Liaoning Chaoyang 417, Fuxin 535, Shenyang 686 (T2 route map).
    ("pair", "Shenyang", "Beijing", 686.0, 2 + 44 / 60,
     "SOURCES.md + T2: Beijing-Shenyang HSR, 2 h 44 min fastest since 2021-01-22; 686 km"),
    ("line", ["Beijing", "Chaoyang", "Fuxin", "Shenyang"], 686.0, 2 + 44 / 60, [0, 417, 535, 686],
     "T2 line km posts; assumption: segment time = share of 2 h 44 min by line km"),
    # Chifeng joins at Niuheliang (km 313 of T2) by the Chifeng-Kazuo HSR (T15).
    ("pair", "Chifeng", "Beijing", 470.0, 116.7 / 60,
     "T15: design time Beijing-Chifeng 116.7 min; km approx. 313 (T2 Niuheliang) + 157 (assumption)"),
    ("km250", "Chifeng", "Chaoyang", 261.0,
     "assumption: km/250 km/h; km approx. 157 (assumption) + 104 (T2 km posts 313-417)"),
    # Tongliao-Xinmin North HSR (T16) joins T2 at Xinmin North (km 634, 52 km from Shenyang).
    ("pair", "Tongliao", "Shenyang", 249.0, 1.5 + 52 / HSR_KMH,
     "T16: Tongliao-Xinmin 197 km, planned 1.5 h; + 52 km Xinmin North-Shenyang at 250 km/h (assumption)"),
    # Harbin-Dalian HSR (T3).
    ("pair", "Harbin", "Dalian", 921.0, 3.5,
     "T3: Harbin-Dalian HSR 921 km, fastest 3 h 30 min (summer schedule)"),
    ("pair", "Shenyang", "Dalian", None, 2.0,
     "SOURCES.md: Shenyang, Changchun and Dalian within about 2 h; km = 1.1 x great-circle (assumption)"),
    ("line", ["Dalian", "Yingkou", "Anshan", "Liaoyang", "Shenyang"], None, 2.0, None,
     "T3 stations; assumption: Shenyang-Dalian 2 h split by great-circle share; km = 1.1 x great-circle"),
    ("pair", "Shenyang", "Changchun", None, 1.2,
     "approx. fastest timetable ~1 h 12 min (unverified), consistent with SOURCES.md 'within about 2 h'; km = 1.1 x gc"),
    ("line", ["Shenyang", "Tieling", "Siping", "Changchun"], None, 1.2, None,
     "T3 stations; assumption: Shenyang-Changchun 1.2 h split by great-circle share; km = 1.1 x great-circle"),
    ("pair", "Changchun", "Harbin", None, 1.0,
     "approx. fastest timetable ~1 h (unverified); km = 1.1 x great-circle (assumption)"),
    # Changchun-Jilin ICR (T14).
    ("pair", "Changchun", "Jilin City", 111.0, 29 / 60,
     "T14: Changchun-Jilin ICR 111 km, about 29 min"),
    # Harbin-Qiqihar ICR (T4), via Daqing.
    ("pair", "Harbin", "Qiqihar", 281.5, 85 / 60,
     "T4: Harbin-Qiqihar ICR 281.5 km, fastest 1 h 25 min"),
    ("line", ["Harbin", "Daqing", "Qiqihar"], 281.5, 85 / 60, None,
     "T4 stations; assumption: 1 h 25 min and 281.5 km split by great-circle share"),
    # Harbin-Mudanjiang ICR (T5).
    ("pair", "Harbin", "Mudanjiang", 293.2, 1 + 28 / 60,
     "T5: Harbin-Mudanjiang ICR 293.2 km, 1 h 28 min"),
    # Shenyang-Dandong ICR (T6), via Benxi.
    ("pair", "Shenyang", "Dandong", 224.0, 1.1,
     "T6: Shenyang-Dandong ICR 224 km, 'just over one hour' (1.1 h)"),
    ("line", ["Shenyang", "Benxi", "Dandong"], 224.0, 1.1, None,
     "T6 stations; assumption: 1.1 h and 224 km split by great-circle share"),
    # Qinhuangdao-Shenyang PDL (T7): km posts Qinhuangdao 0, Huludao North 138,
    # Jinzhou South 181, Panjin North 250, Shenyang North 404; no time -> km/250.
    ("km250", "Qinhuangdao", "Huludao", 138.0, "T7 line km; " + KM250),
    ("km250", "Huludao", "Jinzhou", 43.0, "T7 line km; " + KM250),
    ("km250", "Jinzhou", "Panjin", 69.0, "T7 line km; " + KM250),
    ("km250", "Panjin", "Shenyang", 154.0, "T7 line km; " + KM250),
    # Panjin-Yingkou HSR (T8).
    ("km250", "Panjin", "Yingkou", 89.4, "T8 line km; " + KM250),
    # Tianjin-Qinhuangdao HSR (T9) via Tangshan.
    ("pair", "Tianjin", "Qinhuangdao", 287.0, 71 / 60,
     "T9: Tianjin-Qinhuangdao HSR 287 km, fastest 1 h 11 min"),
    ("line", ["Tianjin", "Tangshan", "Qinhuangdao"], 287.0, 71 / 60, None,
     "T9 stations; assumption: 1 h 11 min and 287 km split by great-circle share"),
    # Beijing-Tangshan ICR (T13), Beijing-Tianjin ICR (T11), Beijing-Shijiazhuang HSR (T12).
    ("pair", "Beijing", "Tangshan", 173.0, 1.0, "T13: Beijing-Tangshan ICR route 173 km, 60 min (since 2022-12-30)"),
    ("pair", "Beijing", "Tianjin", 117.0, 0.5, "T11: Beijing-Tianjin ICR 117 km, about 30 min"),
    ("pair", "Beijing", "Shijiazhuang", 281.0, 1.1, "T12: Beijing-Shijiazhuang HSR 281 km, 'about 1 hour' (1.1 h)"),
]

# (c) Gateways of the Rest of China: which cities; mode, km and hours come from
# configs/rest_of_china.yaml (the single home of those numbers).
GATEWAYS = ["Beijing", "Tianjin", "Yuhuan", "Dalian"]


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km on a sphere of radius 6,371.0088 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _components(n: int, edges: set[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in edges:
        parent[find(i)] = find(j)
    return [find(i) for i in range(n)]


def road_links(cities: pd.DataFrame) -> list[dict]:
    """(a) k-nearest-neighbour road links, made connected."""
    n = len(cities)
    lat, lon = cities["lat"].to_numpy(float), cities["lon"].to_numpy(float)
    gc = [[great_circle_km(lat[i], lon[i], lat[j], lon[j]) for j in range(n)] for i in range(n)]
    names = cities["name_en"].tolist()
    allowed = [[j != i and frozenset((names[i], names[j])) not in NO_DIRECT_ROAD for j in range(n)] for i in range(n)]
    edges: set[tuple[int, int]] = set()
    for i in range(n):
        nearest = sorted((gc[i][j], j) for j in range(n) if allowed[i][j])[:K_NEAREST]
        for _, j in nearest:
            edges.add((min(i, j), max(i, j)))
    while len(set(comp := _components(n, edges))) > 1:
        _, i, j = min(
            (gc[i][j], i, j) for i in range(n) for j in range(i + 1, n) if comp[i] != comp[j] and allowed[i][j]
        )
        edges.add((i, j))
    rows = []
    for i, j in sorted(edges):
        km = round(ROAD_FACTOR * gc[i][j], 1)
        rows.append(dict(a=names[i], b=names[j], mode="road", km=km, hours=round(km / ROAD_KMH, 3), source=ROAD_SOURCE))
    return rows


def hsr_links(cities: pd.DataFrame) -> list[dict]:
    """(b) the HSR table expanded to one row per pair."""
    pos = {r.name_en: (float(r.lat), float(r.lon)) for r in cities.itertuples()}

    def gc(a: str, b: str) -> float:
        if a not in pos or b not in pos:
            raise SystemExit(f"HSR table names an unknown city: {a!r} or {b!r}")
        return great_circle_km(*pos[a], *pos[b])

    rows = []
    for entry in HSR:
        kind = entry[0]
        if kind == "pair":
            _, a, b, km, hours, source = entry
            km = RAIL_FACTOR * gc(a, b) if km is None else km
            rows.append(dict(a=a, b=b, mode="hsr", km=round(km, 1), hours=round(hours, 3), source=source))
        elif kind == "km250":
            _, a, b, km, source = entry
            km = RAIL_FACTOR * gc(a, b) if km is None else km
            rows.append(dict(a=a, b=b, mode="hsr", km=round(km, 1), hours=round(km / HSR_KMH, 3), source=source))
        elif kind == "line":
            _, stations, total_km, total_hours, posts, source = entry
            segs = list(zip(stations[:-1], stations[1:]))
            if posts is None:
                lengths = [gc(a, b) for a, b in segs]
            else:
                lengths = [posts[k + 1] - posts[k] for k in range(len(segs))]
            total = sum(lengths)
            for (a, b), length in zip(segs, lengths):
                share = length / total
                km = RAIL_FACTOR * gc(a, b) if total_km is None else total_km * share
                rows.append(dict(a=a, b=b, mode="hsr", km=round(km, 1), hours=round(total_hours * share, 3),
                                 source=source))
        else:  # pragma: no cover - table typo
            raise SystemExit(f"unknown HSR row kind {kind!r}")
    return rows


def gateway_links(rest: dict, city_names: set[str]) -> list[dict]:
    """(c) links of the Rest of China, numbers from the yaml."""
    by_city = {g["city"]: g for g in rest["gateways"]}
    rows = []
    for city in GATEWAYS:
        if city not in city_names:
            raise SystemExit(f"gateway {city!r} is not in {CITIES}")
        if city not in by_city:
            raise SystemExit(f"{REST}: no entry for gateway {city!r} under 'gateways'")
        g = by_city[city]
        rows.append(dict(a=REST_NAME, b=city, mode=g["mode"], km=round(float(g["km"]), 1),
                         hours=round(float(g["hours"]), 3), source=f"rest_of_china.yaml: {g['source']}"))
        if g.get("road_km") is not None and g["mode"] != "road":
            km = round(float(g["road_km"]), 1)
            rows.append(dict(a=REST_NAME, b=city, mode="road", km=km, hours=round(km / ROAD_KMH, 3),
                             source=f"rest_of_china.yaml road_km ({g['road_basis']}); hours = km/80 km/h"))
    return rows


def build() -> str:
    cities = pd.read_csv(CITIES)
    rest = yaml.safe_load(REST.read_text(encoding="utf-8"))
    rows = road_links(cities) + hsr_links(cities) + gateway_links(rest, set(cities["name_en"]))
    seen = set()
    for r in rows:
        key = (frozenset((r["a"], r["b"])), r["mode"])
        if key in seen:
            raise SystemExit(f"duplicate link {r['a']}-{r['b']} ({r['mode']}) in the tables")
        seen.add(key)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["a", "b", "mode", "km", "hours", "source"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the file on disk is stale")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = build()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python scripts/build_transport_links.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} links)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
