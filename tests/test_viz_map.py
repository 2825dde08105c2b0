"""The map (viz/geo.py) without a browser: boundary data, polygons, colours, flows, label layout."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("solara")
from migrants.viz import geo  # noqa: E402
from migrants.viz.presets import VizModel  # noqa: E402


@pytest.fixture(scope="module")
def baseline():
    m = VizModel(preset="baseline", scale="20000")
    for _ in range(13):
        m.step()
    return m


@pytest.fixture(scope="module")
def lesson():
    m = VizModel(preset="wage_gap")
    for _ in range(3):
        m.step()
    return m


def test_boundary_data_ships_in_the_package_small_and_complete():
    path = Path(str(geo.geodata_path()))
    assert path.is_relative_to(ROOT / "src" / "migrants" / "geodata") or "site-packages" in str(path)
    assert path.stat().st_size < 2_000_000
    kinds = {f["properties"]["kind"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}
    assert {"prefecture", "country", "coast", "border", "province_line"} <= kinds
    assert (path.parent / "README.md").read_text(encoding="utf-8").count("licence") >= 1


def test_every_simulated_city_has_its_polygon(baseline):
    idx = geo.city_feature_index(baseline)
    assert all(i is not None for i in idx), [baseline.names[c] for c, i in enumerate(idx) if i is None]
    assert len(set(idx)) == baseline.C  # no two cities share a polygon
    feats = geo.features()
    for c, i in enumerate(idx):
        # the city's seat lies in (or within 0.15 degrees of) its polygon's bounding box
        pts = np.vstack(feats[i]["rings"])
        lon, lat = float(baseline.cities["lon"].iloc[c]), float(baseline.cities["lat"].iloc[c])
        assert pts[:, 0].min() - 0.15 <= lon <= pts[:, 0].max() + 0.15, baseline.names[c]
        assert pts[:, 1].min() - 0.15 <= lat <= pts[:, 1].max() + 0.15, baseline.names[c]


@pytest.mark.parametrize("which", ["main", "inset"])
def test_base_svg_has_polygons_and_boundaries(baseline, which):
    svg = geo.base_svg(baseline, "en", which)
    cities = set(re.findall(r'<path class="m-city" data-city="([^"]+)"', svg))
    expected = {baseline.names[c] for c in geo.map_geom(baseline, "en", which).xy}
    assert cities == expected
    if which == "main":
        assert cities == set(baseline.names[: baseline.C])
        for cls in ("m-coast", "m-border", "m-province-line", "m-context", "m-country", "m-locator", "m-roc"):
            assert f'class="{cls}"' in svg, cls
    else:
        assert 'class="m-province-line"' in svg or 'class="m-context"' in svg
    # every path has data
    assert 'd=""' not in svg


@pytest.mark.parametrize("measure", geo.MEASURE_KEYS)
def test_layer_fills_every_city_with_its_measures_colour(baseline, measure):
    layer = geo.layer(baseline, "en", "main", measure)
    values = geo.measure_values(baseline, measure)
    cols, (lo, hi) = geo.colours(measure, values)
    assert set(layer["fills"]) == set(baseline.names[: baseline.C])
    for c in range(baseline.C):
        assert layer["fills"][baseline.names[c]] == cols[c]
        if np.isfinite(values[c]):
            assert lo <= values[c] <= hi
    assert geo.t(geo.MEASURES[measure][0], "en") in layer["legend"]


def test_switching_the_measure_recolours(baseline):
    fills = {m: geo.layer(baseline, "en", "main", m)["fills"] for m in geo.MEASURE_KEYS}
    for a in geo.MEASURE_KEYS:
        for b in geo.MEASURE_KEYS:
            if a < b:
                assert fills[a] != fills[b], (a, b)
    # a diverging measure's colour says the sign: losing cities red, gaining ones blue
    v = geo.measure_values(baseline, "net_rate")
    f = fills["net_rate"]
    for c in range(baseline.C):
        rgb = geo._hex(f[baseline.names[c]])
        if v[c] < -0.5:
            assert rgb[0] > rgb[2], baseline.names[c]
        elif v[c] > 0.5:
            assert rgb[2] > rgb[0], baseline.names[c]


@pytest.mark.parametrize("n", [0, 5, 20])
def test_flow_arcs_are_the_largest_n_with_width_by_movers(baseline, n):
    layer = geo.layer(baseline, "en", "main", n_flows=n)
    movers = [int(x) for x in re.findall(r'data-movers="(\d+)"', layer["arcs"])]
    widths = [float(x) for x in re.findall(r'stroke-width="([\d.]+)"', layer["arcs"])]
    assert len(movers) == min(n, len(movers)) <= n
    if n:
        assert len(movers) == n  # twelve months of a 31-city run have more than 20 flows
        assert movers == sorted(movers, reverse=True)
        assert widths == sorted(widths, reverse=True)
        flows = geo.window_flows(baseline)
        assert movers[0] == int(round(flows.max()))


def _boxes(geom):
    return [lab.box for lab in geom.labels]


@pytest.mark.parametrize("preset_fixture", ["baseline", "lesson"])
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("which", ["main", "inset"])
def test_labels_never_overlap_and_every_city_is_named(request, preset_fixture, language, which):
    m = request.getfixturevalue(preset_fixture)
    if which == "inset" and not geo.has_inset(m):
        pytest.skip("no inset")
    g = geo.map_geom(m, language, which)
    labels = g.labels + g.context
    boxes = [lab.box for lab in labels]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not geo._overlap(boxes[i], boxes[j], gap=0), (labels[i].text, labels[j].text)
        x0, y0, x1, y1 = boxes[i]
        assert 0 <= x0 and x1 <= g.view.width and 0 <= y0 and y1 <= g.view.height
    named = {lab.city for lab in g.labels}
    metro = geo.is_metro(m)
    if which == "inset":
        assert named == {c for c in range(m.C) if metro[c]}
    else:
        expected = {c for c in range(m.C) if not (g.metro_box is not None and metro[c])}
        if g.metro_box is not None:
            expected.add(int(np.argmax(np.where(metro, np.asarray(m.month_record["population"]), -1))))
        assert named == expected, [m.names[c] for c in expected - named]


def test_label_layout_uses_leaders_when_crowded():
    # ten cities on one spot: every label is placed, none overlaps, some need a leader line
    items = [(i, f"City {i}", 200.0, 150.0 + i * 0.5, 10 - i) for i in range(10)]
    labels = geo.layout_labels(items, 400, 300, [], [(200.0, 150.0 + i * 0.5) for i in range(10)])
    assert len(labels) == 10
    assert any(lab.leader for lab in labels)
    for i in range(10):
        for j in range(i + 1, 10):
            assert not geo._overlap(labels[i].box, labels[j].box, gap=0)


def test_chinese_names_on_the_map(baseline):
    svg = geo.base_svg(baseline, "zh", "main")
    assert ">沈阳<" in svg and ">哈尔滨<" in svg and ">俄罗斯<" in svg and ">黑龙江<" in svg
    assert ">Shenyang<" not in svg


def test_page_font_covers_every_chinese_character_of_the_page():
    """The served font (scripts/install_cjk_font.py, run by setup) is not stale: it has every character."""
    css = ROOT / "src" / "migrants" / "viz" / "public" / "fonts" / "noto-sans-sc.css"
    if not css.exists():
        pytest.skip("run scripts/install_cjk_font.py (scripts/setup.sh does)")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import install_cjk_font as f
    finally:
        sys.path.pop(0)
    covered = set()
    for rng in re.findall(r"unicode-range:\s*([^;]+);", css.read_text(encoding="utf-8")):
        for a, b in f.parse_ranges(rng):
            covered |= set(range(a, b + 1))
    missing = sorted(ch for ch in f.used_characters() if ord(ch) not in covered)
    assert not missing, f"font stale, rerun scripts/install_cjk_font.py: {''.join(missing)[:60]}"
