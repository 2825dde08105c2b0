"""Tests of the geography: cities.csv, the Rest of China, the transport graph and the City agents."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import mesa
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml

from migrants.cities import (
    REST_OF_CHINA,
    City,
    build_transport_graph,
    load_cities,
    load_geography,
    load_links,
    load_rest_of_china,
    place_cities,
    province_matrix,
    road_km_matrix,
    road_time_matrix,
    travel_time_matrix,
)
from migrants.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
CITIES_CSV = CONFIGS / "cities.csv"
N_CITIES = 31
LIAONING_2020 = 42_591_407  # census total, shared/data/SOURCES.md
LIAONING_2010 = 43_746_323


@pytest.fixture(scope="module")
def geo():
    return load_geography("baseline")  # every city, every link


def node(geo, name: str) -> int:
    return geo.names.index(name)


def great_circle_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


# --------------------------------------------------------------------------
# cities.csv
# --------------------------------------------------------------------------
def test_31_cities_plus_rest_of_china(geo):
    assert len(geo.cities) == N_CITIES
    assert list(geo.cities["city_id"]) == list(range(N_CITIES))
    assert geo.graph.number_of_nodes() == N_CITIES + 1
    rest = geo.graph.nodes[N_CITIES]
    assert rest["name_en"] == REST_OF_CHINA
    assert rest["simulated"] is False
    assert all(geo.graph.nodes[i]["simulated"] for i in range(N_CITIES))
    assert geo.graph.graph["rest_node"] == N_CITIES


def test_liaoning_populations_add_up_to_census_totals(geo):
    ln = geo.cities[geo.cities["province"] == "Liaoning"]
    assert len(ln) == 14
    assert int(ln["pop2020"].sum()) == LIAONING_2020
    assert int(ln["pop2010"].sum()) == LIAONING_2010


def test_column_types(geo):
    c = geo.cities
    for col in ("city_id", "pop2010", "pop2020", "graduates_per_year"):
        assert c[col].dtype == np.int64, col
    for col in ("lat", "lon", "avg_wage_cny", "house_price_cny_m2"):
        assert c[col].dtype == np.float64, col
    assert c["in_shenyang_metro"].dtype == bool
    metro = set(c.loc[c["in_shenyang_metro"], "name_en"])
    assert metro == {"Shenyang", "Anshan", "Fushun", "Benxi", "Fuxin", "Liaoyang", "Tieling"}
    assert (c["avg_wage_cny"] > 0).all() and (c["house_price_cny_m2"] > 0).all()


def test_graduates_estimate_shares_liaoning_370k(geo):
    c = geo.cities
    ln = c["province"] == "Liaoning"
    assert int(c.loc[ln, "graduates_per_year"].sum()) == 370_000
    # other provinces: the same graduates per institution
    ratio = 370_000 / c.loc[ln, "hei_count_2017"].sum()
    other = c[~ln & c["hei_count_2017"].notna()]
    expected = (other["hei_count_2017"].astype(float) * ratio).round()
    assert (other["graduates_per_year"] == expected.astype(int)).all()
    assert c["graduates_source"].str.len().gt(0).all()


def test_yuhuan_gaps_are_filled_and_marked(geo):
    y = geo.cities.set_index("name_en").loc["Yuhuan"]
    assert y["avg_wage_cny"] > 0 and y["house_price_cny_m2"] > 0
    assert "assumption" in y["wage_source"] and "assumption" in y["price_source"]
    assert "ASSUMPTION" in y["notes"]
    assert pd.isna(y["hei_count_2017"]) and y["graduates_per_year"] == 0


def test_shipped_cities_match_shared_data():
    """configs/cities.csv keeps the facts of shared/data/cities.csv unchanged (where that file is present)."""
    shared = ROOT.parent / "shared" / "data" / "cities.csv"
    if not shared.exists():
        shared = Path("/work/shared/data/cities.csv")
    if not shared.exists():
        pytest.skip("shared/data/cities.csv not available")
    orig = pd.read_csv(shared, dtype=str, keep_default_na=False)
    ours = pd.read_csv(CITIES_CSV, dtype=str, keep_default_na=False)
    assert list(ours["name_en"]) == list(orig["name_en"])
    for col in ("name_zh", "province", "in_shenyang_metro", "lat", "lon", "pop2010", "pop2020", "hei_count_2017"):
        assert list(ours[col]) == list(orig[col]), col
    filled = orig["avg_wage_cny"] != ""
    assert list(ours.loc[filled, "avg_wage_cny"]) == list(orig.loc[filled, "avg_wage_cny"])


# --------------------------------------------------------------------------
# bad cities.csv files
# --------------------------------------------------------------------------
def _rows():
    with open(CITIES_CSV, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(tmp_path, rows, fieldnames=None, name="cities.csv"):
    path = tmp_path / name
    fieldnames = fieldnames or list(rows[0].keys())
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def test_good_file_loads_from_a_copy(tmp_path):
    assert len(load_cities(_write(tmp_path, _rows()))) == N_CITIES


def test_missing_column_is_named(tmp_path):
    rows = _rows()
    fields = [c for c in rows[0] if c != "pop2020"]
    path = _write(tmp_path, rows, fields)
    with pytest.raises(ConfigError) as e:
        load_cities(path)
    msg = str(e.value)
    assert "pop2020" in msg and "missing" in msg and str(path) in msg


def test_duplicate_city_is_named(tmp_path):
    rows = _rows()
    rows[2]["name_en"] = rows[1]["name_en"]  # Fushun -> Anshan
    path = _write(tmp_path, rows)
    with pytest.raises(ConfigError) as e:
        load_cities(path)
    msg = str(e.value)
    assert "duplicate" in msg and "'name_en'" in msg and "'Anshan'" in msg and str(path) in msg


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("pop2020", "-5", "positive integer"),
        ("pop2020", "0", "positive integer"),
        ("pop2020", "12.5", "positive integer"),
        ("pop2010", "", "positive integer"),
        ("avg_wage_cny", "abc", "positive number"),
        ("avg_wage_cny", "-100", "positive number"),
        ("house_price_cny_m2", "n/a", "positive number"),
        ("lat", "95", "latitude"),
        ("lon", "east", "longitude"),
        ("in_shenyang_metro", "maybe", "true or false"),
        ("admin_level", "capital-ish", "one of municipality"),
        ("graduates_per_year", "-1", "non-negative integer"),
        ("city_id", "7", "0, 1, 2"),
        ("name_zh", "", "non-empty name"),
    ],
)
def test_bad_cell_names_column_value_and_city(tmp_path, column, value, expected):
    rows = _rows()
    rows[2][column] = value  # Fushun, line 4 of the file
    path = _write(tmp_path, rows)
    with pytest.raises(ConfigError) as e:
        load_cities(path)
    msg = str(e.value)
    assert f"'{column}'" in msg, msg
    assert repr(value) in msg, msg
    assert expected in msg, msg
    assert "line 4" in msg and str(path) in msg, msg
    if column != "name_en":
        assert "Fushun" in msg, msg


def test_rest_of_china_is_not_a_city_name(tmp_path):
    rows = _rows()
    rows[5]["name_en"] = REST_OF_CHINA
    with pytest.raises(ConfigError, match="reserved"):
        load_cities(_write(tmp_path, rows))


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_cities(tmp_path / "nope.csv")
    rows = _rows()
    path = _write(tmp_path, [], list(rows[0].keys()))
    with pytest.raises(ConfigError, match="no city rows"):
        load_cities(path)


# --------------------------------------------------------------------------
# Rest of China and the links
# --------------------------------------------------------------------------
def test_rest_of_china_values(geo):
    r = geo.rest_of_china
    assert r["wage_cny_year"]["value"] > geo.cities.set_index("name_en").loc["Shenyang", "avg_wage_cny"]
    assert r["house_price_cny_m2"]["value"] > 0
    assert 0 < r["employment_probability"]["value"] <= 1
    for block in ("wage_cny_year", "house_price_cny_m2", "employment_probability", "representative_point"):
        assert r[block]["source"] and r[block]["basis"] in ("data", "derived", "assumption"), block
    for g in r["gateways"]:
        assert g["source"] and g["basis"] in ("data", "derived", "assumption")
    # the basket mean is what the file says it is
    b = r["basket"]
    w = np.array([x["resident_pop_10k_2021"] for x in b], dtype=float)
    wage = np.array([x["avg_wage_cny_2021"] for x in b], dtype=float)
    assert abs((w * wage).sum() / w.sum() - r["wage_cny_year"]["value"]) < 1


def test_bad_rest_of_china_yaml(tmp_path):
    data = yaml.safe_load((CONFIGS / "rest_of_china.yaml").read_text(encoding="utf-8"))
    data["employment_probability"]["value"] = 1.5
    path = tmp_path / "rest.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_rest_of_china(path)
    assert "employment_probability.value" in str(e.value) and "1.5" in str(e.value)
    del data["representative_point"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="representative_point"):
        load_rest_of_china(path)


def test_links_file_is_what_the_script_builds():
    spec = importlib.util.spec_from_file_location("build_transport_links", ROOT / "scripts" / "build_transport_links.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (CONFIGS / "transport_links.csv").read_text(encoding="utf-8") == mod.build(), (
        "configs/transport_links.csv is stale: run python scripts/build_transport_links.py"
    )


def test_every_link_has_a_source():
    links = load_links(CONFIGS / "transport_links.csv")
    assert links["source"].str.strip().str.len().gt(0).all()
    assert set(links["mode"]) <= {"road", "hsr", "rail", "air"}
    # every city has at least 3 road links, and the road network alone is connected
    road = links[links["mode"] == "road"]
    g = nx.from_pandas_edgelist(road, "a", "b")
    assert nx.is_connected(g)
    cities = [n for n in g.nodes if n != REST_OF_CHINA]
    assert len(cities) == N_CITIES and all(g.degree(n) >= 3 for n in cities)


def _links():
    return load_links(CONFIGS / "transport_links.csv")


def test_unknown_link_endpoint_is_named(geo):
    links = _links()
    links.loc[3, "b"] = "Atlantis"
    with pytest.raises(ConfigError) as e:
        build_transport_graph(geo.cities, links, geo.rest_of_china, links_name="links.csv")
    msg = str(e.value)
    assert "'Atlantis'" in msg and "links.csv" in msg and "line 5" in msg


@pytest.mark.parametrize("column, value", [("hours", "-1"), ("km", "far"), ("mode", "teleport")])
def test_bad_link_values(geo, column, value):
    links = _links().astype({"km": object, "hours": object})
    links.loc[0, column] = value
    with pytest.raises(ConfigError) as e:
        build_transport_graph(geo.cities, links, geo.rest_of_china)
    assert f"'{column}'" in str(e.value) and repr(value) in str(e.value)


def test_disconnected_graph_is_refused(geo):
    links = _links()
    keep = (links["a"] != "Hulunbuir") & (links["b"] != "Hulunbuir")
    with pytest.raises(ConfigError, match="Hulunbuir"):
        build_transport_graph(geo.cities, links[keep], geo.rest_of_china)


def test_fastest_edge_kept_and_road_remembered(geo):
    e = geo.graph.edges[node(geo, "Shenyang"), node(geo, "Fushun")]
    assert e["mode"] == "road" and e["road_km"] == e["km"]
    e = geo.graph.edges[node(geo, "Shenyang"), node(geo, "Tieling")]
    assert e["mode"] == "hsr" and e["road_hours"] is not None and e["hours"] < e["road_hours"]
    e = geo.graph.edges[N_CITIES, node(geo, "Dalian")]
    assert e["mode"] == "air" and e["road_km"] is None


# --------------------------------------------------------------------------
# the matrices
# --------------------------------------------------------------------------
def test_graph_connected(geo):
    assert nx.is_connected(geo.graph)
    assert sorted(geo.graph.nodes) == list(range(N_CITIES + 1))


@pytest.mark.parametrize("which", ["travel_hours", "road_km"])
def test_matrix_metric_properties(geo, which):
    M = getattr(geo, which)
    n = N_CITIES + 1
    assert M.shape == (n, n) and M.dtype == np.float32
    assert np.isfinite(M).all()
    assert np.array_equal(M, M.T)
    assert (np.diag(M) == 0).all()
    off = ~np.eye(n, dtype=bool)
    assert (M[off] > 0).all()
    # triangle inequality: M[i, k] <= M[i, j] + M[j, k] for every i, j, k
    via = (M[:, :, None].astype(np.float64) + M[None, :, :]).min(axis=1)
    assert (M <= via + 1e-3).all()


def test_matrices_agree_with_networkx(geo):
    G = geo.graph
    assert np.array_equal(travel_time_matrix(G), geo.travel_hours)
    assert np.array_equal(road_km_matrix(G), geo.road_km)
    s, d = node(geo, "Shenyang"), node(geo, "Mudanjiang")
    assert geo.travel_hours[s, d] == pytest.approx(nx.dijkstra_path_length(G, s, d, weight="hours"), abs=1e-4)


def test_road_km_not_shorter_than_great_circle(geo):
    G = geo.graph
    lat = np.array([G.nodes[i]["lat"] for i in range(N_CITIES + 1)])
    lon = np.array([G.nodes[i]["lon"] for i in range(N_CITIES + 1)])
    gc = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert (geo.road_km >= gc - 1e-3).all()
    s = node(geo, "Shenyang")
    assert geo.road_km[s, node(geo, "Anshan")] == pytest.approx(
        1.25 * geo.cities.loc[node(geo, "Anshan"), "gc_km_from_shenyang"], rel=0.3
    )


def test_shenyang_beijing_by_hsr(geo):
    s, b = node(geo, "Shenyang"), node(geo, "Beijing")
    assert geo.travel_hours[s, b] <= 2.8
    assert geo.graph.edges[s, b]["mode"] == "hsr"
    road_hours = road_time_matrix(geo.graph)
    assert geo.travel_hours[s, b] < road_hours[s, b]
    assert road_hours[s, b] > 6  # some 700-900 km of expressway


def test_dalian_harbin_under_4_5_hours(geo):
    assert geo.travel_hours[node(geo, "Dalian"), node(geo, "Harbin")] < 4.5


def test_plausible_travel_times(geo):
    T = geo.travel_hours
    s = node(geo, "Shenyang")
    for name in ("Anshan", "Fushun", "Benxi", "Liaoyang", "Tieling"):  # the metro area
        assert T[s, node(geo, name)] < 1.0, name
    assert T[s, node(geo, "Changchun")] <= 1.5
    assert T[s, node(geo, "Harbin")] < 3.0
    assert T[node(geo, "Beijing"), node(geo, "Tianjin")] <= 0.6
    assert 3 < T[s, N_CITIES] < 10  # the Rest of China is far but reachable
    assert T[node(geo, "Yuhuan"), N_CITIES] < T[s, N_CITIES]


def test_province_matrix(geo):
    P = province_matrix(geo.cities)
    n = N_CITIES + 1
    assert P.shape == (n, n) and P.dtype == bool
    assert np.array_equal(P, P.T) and not P.diagonal().any()
    assert P[N_CITIES, :N_CITIES].all()
    s = node(geo, "Shenyang")
    assert not P[s, node(geo, "Dalian")]
    assert P[s, node(geo, "Changchun")] and P[s, node(geo, "Beijing")]
    same = geo.cities["province"].to_numpy()
    assert np.array_equal(P[:N_CITIES, :N_CITIES], same[:, None] != same[None, :])


# --------------------------------------------------------------------------
# City agents on the Mesa network
# --------------------------------------------------------------------------
def test_city_agents_sit_on_network_cells(geo):
    model = mesa.Model(rng=42)
    network, cities = place_cities(model, geo.graph)
    assert isinstance(network, mesa.discrete_space.Network)
    assert network.G is geo.graph
    assert len(cities) == N_CITIES + 1 == len(model.agents)
    for i, city in enumerate(cities):
        assert isinstance(city, City)
        assert isinstance(city.cell.coordinate, int) and city.cell.coordinate == i == city.city_id
        assert city in city.cell.agents and network[i] is city.cell
        assert city.name_en == geo.graph.nodes[i]["name_en"]
        assert city.name_zh == geo.graph.nodes[i]["name_zh"]
        assert city.province == geo.graph.nodes[i]["province"]
        assert city.in_metro == geo.graph.nodes[i]["in_shenyang_metro"]
        assert set(city.cell.connections) == set(geo.graph.neighbors(i))
    assert cities[-1].name_en == REST_OF_CHINA and cities[-1].simulated is False
    assert all(c.simulated for c in cities[:-1])
    assert sum(c.in_metro for c in cities) == 7
    # positions are (lon, lat), not a random layout
    assert np.allclose(network[0].position, (geo.graph.nodes[0]["lon"], geo.graph.nodes[0]["lat"]))
    with pytest.raises(ValueError):
        cities[0].cell = network[1]  # fixed agents do not move


def test_place_cities_is_deterministic(geo):
    a = place_cities(mesa.Model(rng=1), geo.graph)[0]
    b = place_cities(mesa.Model(rng=2), geo.graph)[0]
    for i in range(N_CITIES + 1):
        assert np.array_equal(a[i].position, b[i].position)


def test_km_and_hours_are_consistent_per_mode():
    links = _links()
    road = links[links["mode"] == "road"]
    assert np.allclose(road["hours"], road["km"] / 80, atol=1e-3)
    hsr = links[links["mode"] == "hsr"]
    speed = hsr["km"] / hsr["hours"]
    assert speed.between(120, 360).all(), hsr[~speed.between(120, 360)]  # Tongliao line: ~146 km/h
    assert not math.isnan(speed.mean())
