"""Cities, the transport graph and the distances between cities.

The geography of the model is C simulated cities (``configs/cities.csv``,
C = 31) plus one boundary region, "Rest of China" (``configs/rest_of_china.yaml``),
which people can move to but which is not simulated. Node ids are integers:
``0 .. C-1`` are the cities in the order of ``city_id`` and ``C`` is the Rest of
China. Every matrix in this module is indexed by those node ids, so it has
shape ``(C+1, C+1)``.

Typical use::

    geo = load_geography(load_scenario("baseline"))   # every input file of the scenario, once
    geo.travel_hours[0, 25]        # Shenyang -> Beijing, hours
    network, cities = place_cities(model, geo.graph)

Nothing here knows about people, jobs or rents: the model sets the city state
on the :class:`City` agents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import FixedAgent, Network

from migrants.errors import ConfigError, clip, describe

REST_OF_CHINA = "Rest of China"
"""Name (``name_en``) and province of the boundary region node."""

LINK_MODES = ("road", "hsr", "rail", "air", "sea")
"""Transport modes a link may have."""

CITY_COLUMNS: dict[str, str] = {
    "city_id": "city_id",
    "name_en": "name",
    "name_zh": "name",
    "province": "name",
    "in_shenyang_metro": "bool",
    "lat": "lat",
    "lon": "lon",
    "pop2010": "pos_int",
    "pop2020": "pos_int",
    "avg_wage_cny": "pos_float",
    "house_price_cny_m2": "pos_float",
    "graduates_per_year": "nonneg_int",
}
"""Required columns of cities.csv and the kind of value each holds."""

OPTIONAL_CITY_COLUMNS: dict[str, str] = {
    "avg_wage_year": "opt_int",
    "hei_count_2017": "opt_nonneg_int",
    "gc_km_from_shenyang": "opt_nonneg_float",
    "admin_level": "admin_level",
}
"""Optional columns that are typed when present; any other column is kept as text."""

LINK_COLUMNS = ("a", "b", "mode", "km", "hours")
"""Required columns of transport_links.csv (``source`` is optional)."""

_EXPECTED = {
    "city_id": "the integers 0, 1, 2, ... in file order",
    "name": "a non-empty name",
    "bool": "true or false",
    "lat": "a latitude between -90 and 90 (degrees)",
    "lon": "a longitude between -180 and 180 (degrees)",
    "pos_int": "a positive integer",
    "nonneg_int": "a non-negative integer",
    "pos_float": "a positive number",
    "opt_int": "an integer or an empty cell",
    "opt_nonneg_int": "a non-negative integer or an empty cell",
    "opt_nonneg_float": "a non-negative number or an empty cell",
    "admin_level": "one of municipality, sub-provincial, provincial capital, prefecture, county-level",
}
#: administrative levels of cities.csv; the first three are the provinces' seats of government
ADMIN_LEVELS = ("municipality", "sub-provincial", "provincial capital", "prefecture", "county-level")
SEAT_LEVELS = ("municipality", "sub-provincial", "provincial capital")
#: largest value a numeric column may hold (a city of at most 100 M persons, ...): beyond it the
#: synthetic population would not fit in memory, or the number is a typo
COLUMN_MAX: dict[str, float] = {
    "pop2010": 100_000_000, "pop2020": 100_000_000, "graduates_per_year": 10_000_000,
    "avg_wage_cny": 10_000_000, "house_price_cny_m2": 1_000_000, "hei_count_2017": 10_000,
    "gc_km_from_shenyang": 20_000, "avg_wage_year": 2100,
}
#: most agents a scenario may ask for: a run peaks at about 40 bytes an agent (benchmarks/bench_month.py
#: --full: 37.5 at scale 1, 78.6 M agents), so 6 GB at this count; the 31 cities at scale 1 make 79 M
MAX_AGENTS = 150_000_000
#: the least and the largest share of a city's residents of working age, the agents (census 2010 and
#: 2020: 62-78% aged 15-64; the agents are 18 to retirement, 54% of the 31 cities' residents in 2020;
#: assumptions with a margin), for the one-agent-per-city and the memory checks of ``scale``
WORKING_AGE_SHARE_MIN = 0.5
WORKING_AGE_SHARE_MAX = 0.8
#: largest ten-year change of a city's population, either way (pop2020 / pop2010); shipped: 0.76 to 1.12
POP_RATIO_MAX = 3.0
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


# ----------------------------------------------------------------------------
# cities.csv
# ----------------------------------------------------------------------------
def _parse_number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _parse_cell(kind: str, text: str) -> tuple[bool, Any]:
    """Parse one cell of kind ``kind``; return (ok, value)."""
    t = text.strip()
    if kind == "name":
        return bool(t), t
    if kind == "admin_level":
        return t in ADMIN_LEVELS, t
    if kind == "bool":
        low = t.lower()
        if low in _TRUE:
            return True, True
        if low in _FALSE:
            return True, False
        return False, None
    if kind.startswith("opt_") and t == "":
        return True, None
    x = _parse_number(t)
    if x is None:
        return False, None
    if kind in ("lat", "lon"):
        bound = 90.0 if kind == "lat" else 180.0
        return -bound <= x <= bound, x
    if kind == "pos_float":
        return x > 0, x
    if kind == "opt_nonneg_float":
        return x >= 0, x
    # integer kinds
    if x != int(x):
        return False, None
    n = int(x)
    if kind == "pos_int":
        return n > 0, n
    if kind in ("nonneg_int", "opt_nonneg_int", "city_id"):
        return n >= 0, n
    return True, n  # opt_int


def load_cities(path: str | Path) -> pd.DataFrame:
    """Read and validate ``configs/cities.csv``.

    Parameters
    ----------
    path : str or Path
        The CSV file: one row per city with at least the columns of
        :data:`CITY_COLUMNS` (see ``configs/SOURCES.md`` for their meaning).

    Returns
    -------
    pandas.DataFrame
        C rows (C = 31 for the shipped file) in ``city_id`` order, index
        ``0 .. C-1`` equal to ``city_id``. Types: ``city_id``, ``pop2010``,
        ``pop2020`` (persons) and ``graduates_per_year`` (persons per year) are
        int64; ``lat``, ``lon`` (degrees), ``avg_wage_cny`` (CNY per year) and
        ``house_price_cny_m2`` (CNY per m2) are float64; ``in_shenyang_metro``
        is bool; ``hei_count_2017`` and ``avg_wage_year`` are nullable Int64;
        ``gc_km_from_shenyang`` is float64 (NaN if empty); every other column
        is text.

    Raises
    ------
    ConfigError
        If the file cannot be read, a required column is missing, a name is
        duplicated, or a cell does not hold what its column needs. The
        message names the file, the line and city, the column, the bad value
        and what was expected.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: city table not found (expected a CSV file with one row per city)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read as a UTF-8 CSV file ({describe(exc)})") from None

    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in CITY_COLUMNS if c not in raw.columns]
    if missing:
        raise ConfigError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)}; "
            f"the file has {', '.join(repr(c) for c in raw.columns)}"
        )
    if raw.empty:
        raise ConfigError(f"{path}: has a header but no city rows")

    kinds = dict(CITY_COLUMNS)
    kinds.update({c: k for c, k in OPTIONAL_CITY_COLUMNS.items() if c in raw.columns})
    parsed: dict[str, list[Any]] = {c: [] for c in kinds}
    for i, row in raw.iterrows():
        line = int(i) + 2  # header is line 1
        who = row["name_en"].strip() or "?"
        for col, kind in kinds.items():
            ok, value = _parse_cell(kind, row[col])
            if ok and kind == "city_id" and value != i:
                ok = False
            if ok and value is not None and col in COLUMN_MAX and not value <= COLUMN_MAX[col]:
                raise ConfigError(
                    f"{path}: line {line} (city {clip(who)}), column {col!r}: value {clip(row[col])} is out of "
                    f"range; expected {_EXPECTED[kind]} of at most {COLUMN_MAX[col]:,}"
                )
            if not ok:
                raise ConfigError(
                    f"{path}: line {line} (city {clip(who)}), column {col!r}: value {clip(row[col])} is not valid; "
                    f"expected {_EXPECTED[kind]}"
                )
            parsed[col].append(value)

    for col in ("name_en", "name_zh"):
        seen: dict[str, int] = {}
        for i, name in enumerate(parsed[col]):
            if name in seen:
                raise ConfigError(
                    f"{path}: column {col!r}: duplicate city {name!r} on lines {seen[name] + 2} and {i + 2}; "
                    "expected each city once"
                )
            seen[name] = i
    if REST_OF_CHINA in parsed["name_en"]:
        i = parsed["name_en"].index(REST_OF_CHINA)
        raise ConfigError(
            f"{path}: line {i + 2}, column 'name_en': value {REST_OF_CHINA!r} is reserved for the boundary "
            "region (configs/rest_of_china.yaml); expected a city name"
        )

    for i, (p10, p20) in enumerate(zip(parsed["pop2010"], parsed["pop2020"])):
        if not 1 / POP_RATIO_MAX <= p20 / p10 <= POP_RATIO_MAX:
            raise ConfigError(
                f"{path}: line {i + 2} (city {clip(parsed['name_en'][i])}), columns 'pop2010', 'pop2020': values "
                f"{p10:,} and {p20:,}; expected a ten-year change of at most {POP_RATIO_MAX:g} times either way "
                "(a typo in one of them?)"
            )

    out = raw.copy()
    for col, kind in kinds.items():
        values = parsed[col]
        if kind in ("city_id", "pos_int", "nonneg_int"):
            out[col] = pd.Series(values, dtype="int64")
        elif kind in ("opt_int", "opt_nonneg_int"):
            out[col] = pd.Series(values, dtype="Int64")
        elif kind in ("lat", "lon", "pos_float", "opt_nonneg_float"):
            out[col] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "bool":
            out[col] = pd.Series(values, dtype="bool")
        else:
            out[col] = pd.Series(values, dtype="object")
    out.index = pd.RangeIndex(len(out))
    return out


# ----------------------------------------------------------------------------
# transport_links.csv and rest_of_china.yaml
# ----------------------------------------------------------------------------
def scenario_cities(cfg, all_cities: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cities a scenario simulates: its ``cities`` list (all of the file when empty), in the
    file's order, with ``city_id`` 0..C-1.  ConfigError for a name the file does not have."""
    if all_cities is None:
        all_cities = load_cities(cfg.resolve(cfg.data.cities))
    if not cfg.cities:
        return _check_scale(cfg, all_cities)
    unknown = sorted(set(cfg.cities) - set(all_cities["name_en"]))
    if unknown:
        raise ConfigError(f"scenario {cfg.name}: field `cities` names unknown cities {unknown}; "
                          f"expected names from {cfg.data.cities} (name_en)")
    cities = all_cities[all_cities["name_en"].isin(cfg.cities)].reset_index(drop=True)
    cities["city_id"] = np.arange(len(cities))
    return _check_scale(cfg, cities)


def _check_scale(cfg, cities: pd.DataFrame) -> pd.DataFrame:
    """The scenario's ``scale`` makes at most ``MAX_AGENTS`` agents (at most ``WORKING_AGE_SHARE_MAX``
    of the residents are agents), and leaves every simulated city
    at least one working-age agent (a city without one would have no jobs, no unemployment and no
    movers: silently wrong).  At least half of a city's residents are of working age
    (``WORKING_AGE_SHARE_MIN``), so its census count / scale x that share must reach 1."""
    scale = getattr(cfg, "scale", None)
    col = f"pop{getattr(cfg, 'census', 2020)}"
    if scale is not None and col in cities.columns and len(cities):
        small = int(np.argmin(cities[col].to_numpy()))
        least = int(cities[col].iloc[small])
        if least * WORKING_AGE_SHARE_MIN / scale < 1:
            raise ConfigError(f"scenario {cfg.name}: field `scale` = {scale:,}: {cities['name_en'].iloc[small]} "
                              f"({least:,} persons) would have no working-age agent; expected a scale of at most "
                              f"{int(least * WORKING_AGE_SHARE_MIN):,} persons an agent")
        total = int(cities[col].sum())
        agents = int(total * WORKING_AGE_SHARE_MAX / scale)
        if agents > MAX_AGENTS:
            raise ConfigError(f"scenario {cfg.name}: field `scale` = {scale:,}: {total:,} persons would make up to "
                              f"{agents:,} agents, more than memory allows ({MAX_AGENTS:,}); expected a scale of "
                              f"at least {-(-int(total * WORKING_AGE_SHARE_MAX) // MAX_AGENTS):,} persons an agent")
    return cities


def load_links(path: str | Path) -> pd.DataFrame:
    """Read and validate ``configs/transport_links.csv`` (made by scripts/build_transport_links.py).

    Parameters
    ----------
    path : str or Path
        CSV with columns ``a, b, mode, km, hours`` and optionally ``source``.

    Returns
    -------
    pandas.DataFrame
        One row per link: ``a``, ``b`` (names), ``mode`` (one of
        :data:`LINK_MODES`), ``km`` (float64, km along that mode), ``hours``
        (float64), ``source`` (text). Endpoint names are checked against the
        cities later, by :func:`build_transport_graph`.

    Raises
    ------
    ConfigError
        If the file cannot be read, a column is missing, or a value is bad.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: transport link table not found (expected a CSV made by scripts/build_transport_links.py)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read as a UTF-8 CSV file ({describe(exc)})") from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in LINK_COLUMNS if c not in raw.columns]
    if missing:
        raise ConfigError(f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)}")
    if "source" not in raw.columns:
        raw["source"] = ""
    return _validate_links(raw, str(path))


def _validate_links(links: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in LINK_COLUMNS if c not in links.columns]
    if missing:
        raise ConfigError(f"{where}: missing required column(s) {', '.join(repr(c) for c in missing)}")
    out = links.copy()
    km, hours = [], []
    for i, row in enumerate(out.itertuples(index=False)):
        line = i + 2
        for col in ("a", "b"):
            if not str(getattr(row, col)).strip():
                raise ConfigError(f"{where}: line {line}, column {col!r}: empty endpoint; expected a city name")
        mode = str(row.mode).strip()
        if mode not in LINK_MODES:
            raise ConfigError(
                f"{where}: line {line}, column 'mode': value {row.mode!r} is not valid; "
                f"expected one of {', '.join(LINK_MODES)}"
            )
        for col, store in (("km", km), ("hours", hours)):
            x = _parse_number(str(getattr(row, col)).strip())
            if x is None or x <= 0:
                raise ConfigError(
                    f"{where}: line {line} ({row.a}-{row.b}), column {col!r}: value {getattr(row, col)!r} "
                    "is not valid; expected a positive number"
                )
            store.append(x)
    out["a"] = out["a"].astype(str).str.strip()
    out["b"] = out["b"].astype(str).str.strip()
    out["mode"] = out["mode"].astype(str).str.strip()
    out["km"] = pd.Series(km, index=out.index, dtype="float64")
    out["hours"] = pd.Series(hours, index=out.index, dtype="float64")
    if "source" not in out.columns:
        out["source"] = ""
    return out


def load_rest_of_china(path: str | Path) -> dict:
    """Read and validate ``configs/rest_of_china.yaml``.

    Parameters
    ----------
    path : str or Path
        The YAML file describing the boundary region.

    Returns
    -------
    dict
        The YAML mapping. Guaranteed keys: ``name_en`` (str), ``name_zh``
        (str), ``province`` (str, default "Rest of China"),
        ``representative_point`` with float ``lat``/``lon`` (degrees),
        ``wage_cny_year.value`` (CNY per year, > 0),
        ``house_price_cny_m2.value`` (CNY per m2, > 0),
        ``employment_probability.value`` (in (0, 1]) and ``gateways`` (list
        of mappings with ``city``, ``mode``, ``km``, ``hours``).

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or a field is missing or bad.
    """
    path = Path(path)
    from .config import read_yaml

    if not path.exists():
        raise ConfigError(f"{path}: boundary-region file not found")
    data = read_yaml(path, "boundary-region file")  # bounded: size, nesting, aliases

    def need(mapping: Any, key: str, where: str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping or mapping[key] is None:
            raise ConfigError(f"{path}: missing field {where}")
        return mapping[key]

    def number(mapping: Any, key: str, where: str, lo: float, hi: float, expected: str) -> float:
        """A number in [lo, hi], or in (lo, hi] when lo is 0 (all such fields must be positive)."""
        value = need(mapping, key, where)
        x = _parse_number(str(value))
        if x is None or not (lo <= x <= hi) or (lo == 0 and x == 0):
            raise ConfigError(f"{path}: field {where}: value {value!r} is not valid; expected {expected}")
        return x

    for key in ("name_en", "name_zh"):
        if not str(need(data, key, key)).strip():
            raise ConfigError(f"{path}: field {key}: empty; expected a name")
    data.setdefault("province", REST_OF_CHINA)
    point = need(data, "representative_point", "representative_point")
    point["lat"] = number(point, "lat", "representative_point.lat", -90, 90, "a latitude in degrees")
    point["lon"] = number(point, "lon", "representative_point.lon", -180, 180, "a longitude in degrees")
    for key in ("wage_cny_year", "house_price_cny_m2"):
        block = need(data, key, key)
        block["value"] = number(block, "value", f"{key}.value", 0, math.inf, "a positive number")
    emp = need(data, "employment_probability", "employment_probability")
    emp["value"] = number(emp, "value", "employment_probability.value", 0, 1, "a positive probability (0, 1]")
    gateways = need(data, "gateways", "gateways")
    if not isinstance(gateways, list) or not gateways:
        raise ConfigError(f"{path}: field gateways: expected a non-empty list of links")
    for k, g in enumerate(gateways):
        where = f"gateways[{k}]"
        need(g, "city", f"{where}.city")
        mode = need(g, "mode", f"{where}.mode")
        if mode not in LINK_MODES:
            raise ConfigError(
                f"{path}: field {where}.mode: value {mode!r} is not valid; expected one of {', '.join(LINK_MODES)}"
            )
        number(g, "km", f"{where}.km", 0, math.inf, "a positive number of km")
        number(g, "hours", f"{where}.hours", 0, math.inf, "a positive number of hours")
    return data


# ----------------------------------------------------------------------------
# The graph and its matrices
# ----------------------------------------------------------------------------
def build_transport_graph(
    cities: pd.DataFrame,
    links: pd.DataFrame,
    rest_of_china: Mapping[str, Any],
    *,
    links_name: str = "transport links",
) -> nx.Graph:
    """Build the transport graph of the C cities and the Rest of China.

    Parameters
    ----------
    cities : pandas.DataFrame
        As returned by :func:`load_cities` (C rows, ``city_id`` 0..C-1).
    links : pandas.DataFrame
        Columns ``a, b, mode, km, hours`` (and optionally ``source``), as
        returned by :func:`load_links`; endpoints are ``name_en`` of a city
        or the ``name_en`` of the Rest of China.
    rest_of_china : mapping
        As returned by :func:`load_rest_of_china`; ``name_en``, ``name_zh``,
        ``province`` and ``representative_point`` are used.
    links_name : str
        How error messages call the link table (e.g. its file name).

    Returns
    -------
    networkx.Graph
        Nodes ``0 .. C-1`` (the cities, by ``city_id``) and ``C`` (the Rest of
        China), with attributes ``name_en``, ``name_zh``, ``province``,
        ``in_shenyang_metro`` (bool), ``lat``, ``lon`` (degrees) and
        ``simulated`` (False only for the Rest of China). One edge per linked
        pair, the fastest of its links, with attributes ``mode``, ``km`` (km
        along that mode), ``hours``, ``source``, and ``road_km`` /
        ``road_hours`` of the pair's road link (None if the pair has no road
        link). The graph's ``graph["rest_node"]`` is C.

    Raises
    ------
    ConfigError
        If a link names an unknown place, links a place to itself, has a bad
        mode, km or hours, or if some node cannot be reached at all.
    """
    links = _validate_links(links, links_name)
    C = len(cities)
    G = nx.Graph(rest_node=C)
    for row in cities.itertuples(index=False):
        G.add_node(
            int(row.city_id),
            name_en=row.name_en,
            name_zh=row.name_zh,
            province=row.province,
            in_shenyang_metro=bool(row.in_shenyang_metro),
            lat=float(row.lat),
            lon=float(row.lon),
            simulated=True,
        )
    point = rest_of_china.get("representative_point", {}) or {}
    rest_name = str(rest_of_china.get("name_en", REST_OF_CHINA))
    G.add_node(
        C,
        name_en=rest_name,
        name_zh=str(rest_of_china.get("name_zh", "其他地区")),
        province=str(rest_of_china.get("province", REST_OF_CHINA)),
        in_shenyang_metro=False,
        lat=float(point.get("lat", float("nan"))),
        lon=float(point.get("lon", float("nan"))),
        simulated=False,
    )
    ids = {name: int(i) for i, name in zip(cities["city_id"], cities["name_en"])}
    ids[rest_name] = C

    best: dict[tuple[int, int], dict] = {}
    road: dict[tuple[int, int], tuple[float, float]] = {}
    for i, row in enumerate(links.itertuples(index=False)):
        line = i + 2
        for col in ("a", "b"):
            name = getattr(row, col)
            if name not in ids:
                raise ConfigError(
                    f"{links_name}: line {line}, column {col!r}: value {name!r} is not a city of cities.csv "
                    f"nor {rest_name!r}; expected one of the name_en values"
                )
        u, v = ids[row.a], ids[row.b]
        if u == v:
            raise ConfigError(f"{links_name}: line {line}: link from {row.a!r} to itself; expected two places")
        key = (min(u, v), max(u, v))
        attrs = dict(mode=row.mode, km=float(row.km), hours=float(row.hours), source=str(row.source))
        if key not in best or attrs["hours"] < best[key]["hours"]:
            best[key] = attrs
        if row.mode == "road" and (key not in road or row.hours < road[key][1]):
            road[key] = (float(row.km), float(row.hours))
    for (u, v), attrs in sorted(best.items()):
        r = road.get((u, v))
        G.add_edge(u, v, **attrs, road_km=None if r is None else r[0], road_hours=None if r is None else r[1])

    if not nx.is_connected(G):
        parts = sorted(nx.connected_components(G), key=len, reverse=True)
        cut_off = sorted(G.nodes[n]["name_en"] for part in parts[1:] for n in part)
        raise ConfigError(
            f"{links_name}: the transport graph is not connected: {', '.join(cut_off)} cannot be reached "
            f"from {G.nodes[min(parts[0])]['name_en']}; expected every place to have a route to every other"
        )
    return G


def _all_pairs(G: nx.Graph, weight: str) -> np.ndarray:
    """Shortest-path lengths on edge attribute ``weight``; edges where it is None/NaN are not used."""
    n = G.number_of_nodes()
    if sorted(G.nodes) != list(range(n)):
        raise ValueError("graph nodes must be the integers 0 .. n-1")

    def w(u: int, v: int, d: dict) -> float | None:
        x = d.get(weight)
        return None if x is None or not math.isfinite(x) else x

    out = np.full((n, n), np.inf)
    for src, lengths in nx.all_pairs_dijkstra_path_length(G, weight=w):
        for dst, x in lengths.items():
            out[src, dst] = x
    out = np.minimum(out, out.T)  # exact symmetry despite summation order
    np.fill_diagonal(out, 0.0)
    return out.astype(np.float32)


def travel_time_matrix(G: nx.Graph) -> np.ndarray:
    """Hours of the fastest route between every two places, any mode.

    Parameters
    ----------
    G : networkx.Graph
        From :func:`build_transport_graph` (nodes ``0 .. C``).

    Returns
    -------
    numpy.ndarray, shape (C+1, C+1), float32
        ``T[i, j]`` = hours of the shortest-time path from node i to node j
        (all-pairs Dijkstra on edge attribute ``hours``). Symmetric, zero
        diagonal; ``inf`` where no route exists.
    """
    return _all_pairs(G, "hours")


def road_km_matrix(G: nx.Graph) -> np.ndarray:
    """Road distance between every two places, km.

    Parameters
    ----------
    G : networkx.Graph
        From :func:`build_transport_graph` (nodes ``0 .. C``).

    Returns
    -------
    numpy.ndarray, shape (C+1, C+1), float32
        ``D[i, j]`` = km of the shortest path over road links only (edge
        attribute ``road_km``; an edge whose pair has no road link, such as an
        air link, is not used). Symmetric, zero diagonal.
    """
    return _all_pairs(G, "road_km")


def road_time_matrix(G: nx.Graph) -> np.ndarray:
    """Hours of the fastest route by road only, shape (C+1, C+1), float32 (edge attribute ``road_hours``)."""
    return _all_pairs(G, "road_hours")


def province_matrix(cities: pd.DataFrame) -> np.ndarray:
    """Which pairs of places lie in different provinces.

    Parameters
    ----------
    cities : pandas.DataFrame
        From :func:`load_cities` (C rows, column ``province``).

    Returns
    -------
    numpy.ndarray, shape (C+1, C+1), bool
        ``P[i, j]`` is True where node i and node j are in different
        provinces; node C (the Rest of China) is a province of its own, so
        ``P[C, j]`` is True for every city j. The diagonal is False.
    """
    codes = pd.factorize(cities["province"].astype(str))[0]
    codes = np.append(codes, codes.max(initial=-1) + 1)  # the Rest of China: a province of its own
    return codes[:, None] != codes[None, :]


# ----------------------------------------------------------------------------
# Mesa agents
# ----------------------------------------------------------------------------
class City(FixedAgent):
    """A city (or the Rest of China) as a Mesa agent fixed to a cell of a :class:`mesa.discrete_space.Network`.

    The cell's ``coordinate`` is the node id of the transport graph, equal to
    ``city_id``. This class holds identity only; the model attaches the city
    state (jobs, wages, rents, ...) to these agents.

    Parameters
    ----------
    model : mesa.Model
        The model the agent belongs to.
    cell : mesa.discrete_space.Cell
        The network cell of node ``city_id``.
    city_id : int
        Node id, ``0 .. C-1`` for cities, ``C`` for the Rest of China.
    name_en, name_zh, province : str
        Names and province.
    in_metro : bool
        Member of the Shenyang metropolitan area.
    simulated : bool
        False for the Rest of China (no residents are simulated there).
    """

    def __init__(
        self,
        model,
        cell,
        *,
        city_id: int,
        name_en: str,
        name_zh: str,
        province: str,
        in_metro: bool,
        simulated: bool = True,
    ) -> None:
        super().__init__(model)
        self.city_id = int(city_id)
        self.name_en = name_en
        self.name_zh = name_zh
        self.province = province
        self.in_metro = bool(in_metro)
        self.simulated = bool(simulated)
        self.cell = cell

    def __repr__(self) -> str:
        return f"City({self.city_id}, {self.name_en!r})"


def place_cities(model, G: nx.Graph) -> tuple[Network, list[City]]:
    """Make the Mesa network space of the transport graph and one :class:`City` per node.

    Parameters
    ----------
    model : mesa.Model
        The model; its ``random`` seeds the network space.
    G : networkx.Graph
        From :func:`build_transport_graph` (nodes ``0 .. C``, with ``lat``/``lon``).

    Returns
    -------
    network : mesa.discrete_space.Network
        Cells keyed by node id; cell positions are ``(lon, lat)`` in degrees
        (for maps; no random layout is drawn).
    cities : list of City
        ``cities[i]`` sits on cell ``i``; length C+1, the last one being the
        Rest of China with ``simulated=False``.
    """
    layout = {n: (float(d["lon"]), float(d["lat"])) for n, d in G.nodes(data=True)}
    network = Network(G, random=model.random, layout=layout)
    agents = []
    for node in sorted(G.nodes):
        d = G.nodes[node]
        agents.append(
            City(
                model,
                network[node],
                city_id=node,
                name_en=d["name_en"],
                name_zh=d["name_zh"],
                province=d["province"],
                in_metro=d["in_shenyang_metro"],
                simulated=d.get("simulated", True),
            )
        )
    return network, agents


# ----------------------------------------------------------------------------
# Everything at once
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Geography:
    """A scenario's places, loaded once: tables, graph and (C+1, C+1) matrices indexed by node id."""

    all_cities: pd.DataFrame
    """Every row of the cities file (policy targets may name cities the scenario does not simulate)."""
    cities: pd.DataFrame
    """The C simulated cities (:func:`scenario_cities`), ``city_id`` 0..C-1."""
    rest_of_china: dict
    """From :func:`load_rest_of_china` (each value with its source)."""
    links: pd.DataFrame
    """Transport links among the simulated places (:func:`subset_links` for a subset)."""
    provinces: pd.DataFrame
    """The provinces file, indexed by province (``inputs.load_provinces``)."""
    graph: nx.Graph
    """From :func:`build_transport_graph` over every link; node C is the Rest of China."""
    travel_hours: np.ndarray
    """(C+1, C+1) float32, hours of the fastest route, any mode, over every link."""
    road_km: np.ndarray
    """(C+1, C+1) float32, km by road."""
    cross_province: np.ndarray
    """(C+1, C+1) bool, True where the two places are in different provinces."""

    @property
    def n_cities(self) -> int:
        """C, the number of simulated cities (node C is the Rest of China)."""
        return len(self.cities)

    @property
    def names(self) -> list[str]:
        """``name_en`` of nodes 0 .. C."""
        return [self.graph.nodes[n]["name_en"] for n in range(self.n_cities + 1)]


def load_geography(cfg="baseline") -> Geography:
    """Load a scenario's cities, the Rest of China, the links and the provinces, and compute
    the matrices: the one place the model, its policy engine and the page read them from.

    Parameters
    ----------
    cfg : Scenario, or anything ``config.load_scenario`` takes (a name, a path)
        Its ``data`` section names the files; its ``cities`` the subset simulated.

    Raises
    ------
    ConfigError
        From any of the loaders, or for a province the cities use that the provinces file lacks.
    """
    from .config import Scenario, load_scenario
    from .inputs import load_provinces

    if not isinstance(cfg, Scenario):
        cfg = load_scenario(cfg)
    all_cities = load_cities(cfg.resolve(cfg.data.cities))
    cities = scenario_cities(cfg, all_cities)
    rest = load_rest_of_china(cfg.resolve(cfg.data.rest_of_china))
    links = load_links(cfg.resolve(cfg.data.transport_links))
    if cfg.cities:
        links = subset_links(cities, links, rest)
    links = links.reset_index(drop=True)
    provinces = load_provinces(cfg.resolve(cfg.data.provinces))
    missing = sorted(set(cities["province"]) - set(provinces.index))
    if missing:
        raise ConfigError(f"{cfg.data.provinces}: no row for province(s) {missing} used in {cfg.data.cities}")
    G = build_transport_graph(cities, links, rest, links_name=str(cfg.data.transport_links))
    return Geography(all_cities=all_cities, cities=cities, rest_of_china=rest, links=links, provinces=provinces,
                     graph=G, travel_hours=travel_time_matrix(G), road_km=road_km_matrix(G),
                     cross_province=province_matrix(cities))


def travel_hours(geo: Geography, open_links: np.ndarray | None = None) -> np.ndarray:
    """Fastest travel time (J, J) hours over the links open (``open_links``, a mask over
    ``geo.links``; None: every link)."""
    links = geo.links if open_links is None else geo.links[open_links]
    graph = build_transport_graph(geo.cities, links, geo.rest_of_china)
    return travel_time_matrix(graph).astype(float)


def great_circle_km(lat1, lon1, lat2, lon2):
    """Haversine distance in km (arrays broadcast)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def subset_links(cities: pd.DataFrame, links: pd.DataFrame, rest_of_china: dict) -> pd.DataFrame:
    """Links among a chosen subset of cities, kept connected.

    The shipped links that join two chosen places are kept; every pair of
    chosen cities also gets a direct road link (1.25 x great-circle km at
    80 km/h, the rule of configs/transport_links.csv), so that dropping a city
    never cuts the network.  If no link to the rest of China survives, the
    first city gets a road link to it.
    """
    roc_name = rest_of_china["name_en"]
    keep = set(cities["name_en"]) | {roc_name}
    links = links[links["a"].isin(keep) & links["b"].isin(keep)]
    lat, lon, name = cities["lat"].to_numpy(float), cities["lon"].to_numpy(float), cities["name_en"].to_numpy()
    extra = []
    for a in range(len(cities)):
        for b in range(a + 1, len(cities)):
            km = 1.25 * float(great_circle_km(lat[a], lon[a], lat[b], lon[b]))
            extra.append({"a": name[a], "b": name[b], "mode": "road", "km": km, "hours": km / 80.0,
                          "source": "assumption: 1.25 x great-circle at 80 km/h (subset scenario)"})
    if not ((links["a"] == roc_name) | (links["b"] == roc_name)).any():
        pt = rest_of_china["representative_point"]
        km = 1.25 * float(great_circle_km(lat[0], lon[0], pt["lat"], pt["lon"]))
        extra.append({"a": name[0], "b": roc_name, "mode": "road", "km": km, "hours": km / 80.0,
                      "source": "assumption: 1.25 x great-circle at 80 km/h (subset scenario)"})
    return pd.concat([links, pd.DataFrame(extra)], ignore_index=True)
