"""The world's record as model inputs: what changed outside the model, by date, from 2010.

Tables in ``configs/history/`` (each row with its source, or ``interpolated`` /
``assumption``), read and checked once (:func:`load_record`):

============================  =================================  ===================
table                         what                               applied
============================  =================================  ===================
``city_wages.csv``            average wage by city and year      each January: the
                              (CNY a year)                       year's growth
``city_gdp.csv``              GDP by city and year (100 M CNY,   each January: the
                              current prices)                    tradable jobs follow
                                                                 the city's growth
                                                                 against its province's
``city_house_prices.csv``     house price by city and year       each January: rents'
                              (CNY per m2)                       anchor moves with it
``rest_of_china.csv``         the basket's wage and price        each January
``minimum_wages.csv``         monthly minimum wage, first tier,  from its month
                              by province and effective month
``retirement_ages.csv``       statutory ages by year             each January
``higher_education.csv``      national graduates a year          each September: the
                                                                 universities' intake
``rail_openings.csv``         opening month of each rail link    from its month
``events.csv``                dated changes of a city input      from its month
============================  =================================  ===================

After the last year of a table the scenario's growth assumptions apply (for
wages ``labour.wage_growth_year``, for GDP no city moving apart from its province,
for house prices no change, for the
universities ``demography.university_intake_growth_year``).  A scenario with
``time_varying_inputs: false`` reads none of this: every input stays at its
start value (the steady-state audit).

Every bad value is a :class:`~migrants.errors.ConfigError` naming the file, the
line, the column, the value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import MONTH, month_index, read_table
from .errors import ConfigError

# ----------------------------------------------------------------- checking
def _table(path: Path, what: str, columns: list[str]) -> pd.DataFrame:
    df = read_table(path, what)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(f"{what} file {path}: column(s) {missing} missing; expected columns {columns}")
    if len(df) == 0:
        raise ConfigError(f"{what} file {path}: no rows")
    return df


def _bad(path, what, i, col, value, expected) -> ConfigError:
    value = value.item() if hasattr(value, "item") else value
    return ConfigError(f"{what} file {path}: line {i + 2}, column `{col}`: {value!r}; expected {expected}")


def _numbers(df, col, path, what, lo=0.0, hi=np.inf) -> np.ndarray:
    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    for i, v in enumerate(vals):
        if not np.isfinite(v) or v < lo or v > hi:
            raise _bad(path, what, i, col, df[col].iloc[i],
                       f"a number >= {lo:g}" if hi == np.inf else f"a number from {lo:g} to {hi:g}")
    return vals


def _years(df, path, what) -> np.ndarray:
    vals = pd.to_numeric(df["year"], errors="coerce").to_numpy(float)
    for i, v in enumerate(vals):
        if not np.isfinite(v) or v != int(v) or not 1950 <= v <= 2100:
            raise _bad(path, what, i, "year", df["year"].iloc[i], "a calendar year such as 2015")
    return vals.astype(int)


def _dates(df, col, path, what) -> np.ndarray:
    out = []
    for i, v in enumerate(df[col].astype(str)):
        if not MONTH.fullmatch(v.strip()):
            raise _bad(path, what, i, col, df[col].iloc[i], "a month as YYYY-MM, e.g. 2012-12")
        out.append(month_index(v.strip()))
    return np.array(out, np.int64)


def _names(df, col, known, path, what) -> None:
    for i, v in enumerate(df[col].astype(str)):
        if v not in known:
            raise _bad(path, what, i, col, df[col].iloc[i], f"one of {sorted(known)}")


def _sources(df, path, what) -> None:
    if "source" not in df.columns:
        raise ConfigError(f"{what} file {path}: column `source` missing; every value needs its source")
    for i, v in enumerate(df["source"]):
        if not isinstance(v, str) or len(v.strip()) < 3:
            raise _bad(path, what, i, "source", v, "where the value comes from (or `interpolated`, `assumption`)")


def _by_year(df, key, col, names, path, what, lo=0.0, hi=np.inf):
    """A (len(names), Y) array of ``col`` by name and year; every name needs every year of the table."""
    _sources(df, path, what)
    years = _years(df, path, what)
    if key is not None:
        _names(df, key, set(names), path, what)
    vals = _numbers(df, col, path, what, lo=lo, hi=hi)
    y0, y1 = int(years.min()), int(years.max())
    table = np.full((len(names), y1 - y0 + 1), np.nan)
    keys = df[key].astype(str).to_numpy() if key is not None else np.full(len(df), names[0])
    row = {n: k for k, n in enumerate(names)}
    for i, (n, y, v) in enumerate(zip(keys, years, vals)):
        if np.isfinite(table[row[n], y - y0]):
            raise _bad(path, what, i, "year", int(y), f"one row per {key or 'year'} and year ({n} {y} twice)")
        table[row[n], y - y0] = v
    for k, n in enumerate(names):
        gap = np.flatnonzero(np.isnan(table[k]))
        if gap.size:
            raise ConfigError(f"{what} file {path}: {n + ': ' if key else ''}year {y0 + int(gap[0])} missing; "
                              f"expected every year from {y0} to {y1}")
    return y0, table


# ----------------------------------------------------------------- the record
@dataclass
class Record:
    """The inputs of the world by date, for the C cities of one scenario.

    Each by-year table is ``(first year, array)``; the accessors return ``None`` outside its years.
    """

    wage_years: tuple[int, np.ndarray]          # (first year, (C, Y) CNY a year)
    gdp_years: tuple[int, np.ndarray]           # (first year, (C, Y) 100 M CNY, current prices)
    price_years: tuple[int, np.ndarray]         # (first year, (C, Y) CNY per m2)
    roc_wage_years: tuple[int, np.ndarray]      # (first year, (1, Y))
    roc_price_years: tuple[int, np.ndarray]
    retirement_years: tuple[int, np.ndarray]    # (first year, (2, Y)) men, women
    graduates_years: tuple[int, np.ndarray]     # (first year, (1, Y)) persons a year
    min_wage_changes: list[tuple[int, np.ndarray]]  # (month index, (C,) CNY/month), sorted
    link_opened: np.ndarray                     # (L,) month index each link opens (-1: always open)
    events: list[tuple[int, int, str, float]] = field(default_factory=list)  # (month, city, input, value)

    @staticmethod
    def _at(years, year):
        y0, table = years
        k = year - y0
        return table[:, k] if 0 <= k < table.shape[1] else None

    def wage(self, year: int):
        """Average wage (C,) CNY a year in ``year``, or None outside the table."""
        return self._at(self.wage_years, year)

    def wage_growth(self, year: int):
        """This year's recorded wage growth (C,) ``W(y)/W(y-1) - 1``, or None outside the table."""
        a, b = self.wage(year), self.wage(year - 1)
        return None if a is None or b is None else a / b - 1

    def gdp_growth(self, year: int):
        """This year's recorded log GDP growth (C,) ``log Y(y)/Y(y-1)``, or None outside the table."""
        a, b = self._at(self.gdp_years, year), self._at(self.gdp_years, year - 1)
        return None if a is None or b is None else np.log(a / b)

    def gdp(self, year: int):
        """GDP (C,) 100 M CNY at current prices in ``year``, or None outside the table."""
        return self._at(self.gdp_years, year)

    def house_price(self, year: int):
        return self._at(self.price_years, year)

    def house_price_ratio(self, year: int):
        """``P(y)/P(y-1)`` per city (C,), or None outside the table (prices then held)."""
        a, b = self.house_price(year), self.house_price(year - 1)
        return None if a is None or b is None else a / b

    def roc(self, year: int):
        """(wage CNY a year, price CNY/m2) of the rest of China, or None outside the table."""
        w, p = self._at(self.roc_wage_years, year), self._at(self.roc_price_years, year)
        return None if w is None or p is None else (float(w[0]), float(p[0]))

    def retirement_ages(self, year: int):
        """(men, women) statutory ages in years (fractional during the reform), or None."""
        a = self._at(self.retirement_years, year)
        return None if a is None else (float(a[0]), float(a[1]))

    def graduates_index(self, year: int, base_year: int = 2020):
        """National graduates in ``year`` relative to ``base_year`` (the cities' table year), or None."""
        a, b = self._at(self.graduates_years, year), self._at(self.graduates_years, base_year)
        return None if a is None or b is None else float(a[0] / b[0])

    def min_wage(self, month: int):
        """Minimum wage (C,) in force in month index ``month``, or None before the first change."""
        cur = None
        for m, v in self.min_wage_changes:
            if m > month:
                break
            cur = v
        return cur

    def min_wage_changes_at(self, month: int) -> bool:
        return any(m == month for m, _ in self.min_wage_changes)

    def open_links(self, month: int) -> np.ndarray:
        """(L,) bool: links open in month index ``month``."""
        return self.link_opened <= month

    def links_open_at(self, month: int) -> bool:
        return bool((self.link_opened == month).any())

    def events_at(self, month: int):
        return [e for e in self.events if e[0] == month]

    def events_until(self, month: int):
        return [e for e in self.events if e[0] <= month]


def record_of(cfg, geo) -> "Record | None":
    """The scenario's record of the years (``data.history``) for its geography
    (``cities.load_geography``), or None when its inputs are held at their start values."""
    if not cfg.time_varying_inputs:
        return None
    return load_record(cfg.resolve(cfg.data.history), geo.cities, geo.links, geo.rest_of_china["name_en"],
                       set(geo.all_cities["name_en"]), set(geo.provinces.index))


def load_record(folder: Path, cities: pd.DataFrame, links: pd.DataFrame, roc_name: str,
                known_cities: set[str], known_provinces: set[str]) -> Record:
    """Read and check every table of ``folder`` (configs/history) for these cities and links.

    cities : the scenario's cities (``name_en``, ``province``); links : the scenario's
    transport links (``a``, ``b``, ``mode``), in the order the model uses them;
    known_cities, known_provinces : every name of the cities and provinces files (rows
    about places a subset scenario leaves out are checked, then skipped).
    """
    names = list(cities["name_en"])
    provinces = list(cities["province"])
    f = lambda name: folder / name  # noqa: E731

    def by_city(fname, col, what):
        df = _table(f(fname), what, ["city", "year", col])
        _names(df, "city", known_cities, f(fname), what)
        df = df[df["city"].isin(names)].reset_index(drop=True)
        return _by_year(df, "city", col, names, f(fname), what, lo=1e-9)

    wage = by_city("city_wages.csv", "avg_wage_cny", "city wages")
    gdp = by_city("city_gdp.csv", "gdp_100m_cny", "city GDP")
    price = by_city("city_house_prices.csv", "house_price_cny_m2", "city house prices")
    roc = _table(f("rest_of_china.csv"), "rest of China", ["year", "wage_cny_year", "house_price_cny_m2"])
    roc_wage = _by_year(roc, None, "wage_cny_year", ["rest of China"], f("rest_of_china.csv"), "rest of China", 1e-9)
    roc_price = _by_year(roc, None, "house_price_cny_m2", ["rest of China"], f("rest_of_china.csv"),
                         "rest of China", 1e-9)
    ret = _table(f("retirement_ages.csv"), "retirement ages", ["year", "retirement_age_men", "retirement_age_women"])
    y_m, men = _by_year(ret, None, "retirement_age_men", ["men"], f("retirement_ages.csv"), "retirement ages", 40, 75)
    _, women = _by_year(ret, None, "retirement_age_women", ["women"], f("retirement_ages.csv"), "retirement ages",
                        40, 75)
    grads = _table(f("higher_education.csv"), "higher education", ["year", "graduates"])
    graduates = _by_year(grads, None, "graduates", ["national"], f("higher_education.csv"), "higher education", 1)

    mw = _table(f("minimum_wages.csv"), "minimum wages", ["province", "effective", "min_wage_cny_month"])
    _sources(mw, f("minimum_wages.csv"), "minimum wages")
    _names(mw, "province", known_provinces, f("minimum_wages.csv"), "minimum wages")
    eff = _dates(mw, "effective", f("minimum_wages.csv"), "minimum wages")
    val = _numbers(mw, "min_wage_cny_month", f("minimum_wages.csv"), "minimum wages", lo=1)
    changes = []
    months = sorted(set(eff.tolist()))
    prov_arr = mw["province"].astype(str).to_numpy()
    current = {}
    for m in months:
        for p, v in zip(prov_arr[eff == m], val[eff == m]):
            current[p] = v
        missing = [p for p in set(provinces) if p not in current]
        vec = np.array([current.get(p, np.nan) for p in provinces])
        changes.append((m, vec, missing))
    # a city's minimum wage is defined from the first month every province of the scenario has one
    first = next((k for k, (_, _, miss) in enumerate(changes) if not miss), None)
    if first is None:
        lacking = sorted(set(provinces) - set(prov_arr))
        raise ConfigError(f"minimum wages file {f('minimum_wages.csv')}: no row for province(s) {lacking}; "
                          f"expected one or more rows for every province of the scenario's cities")
    min_wage_changes = [(m, vec) for m, vec, _ in changes[first:]]

    rail = _table(f("rail_openings.csv"), "rail openings", ["a", "b", "opened"])
    _sources(rail, f("rail_openings.csv"), "rail openings")
    places = known_cities | {roc_name}
    _names(rail, "a", places, f("rail_openings.csv"), "rail openings")
    _names(rail, "b", places, f("rail_openings.csv"), "rail openings")
    opened_at = _dates(rail, "opened", f("rail_openings.csv"), "rail openings")
    when = {frozenset((a, b)): m for a, b, m in zip(rail["a"], rail["b"], opened_at)}
    link_opened = np.array([when.get(frozenset((a, b)), -1) if mode in ("hsr", "rail") else -1
                            for a, b, mode in zip(links["a"], links["b"], links["mode"])], np.int64)

    ev = _table(f("events.csv"), "events", ["date", "city", "input", "value"])
    _sources(ev, f("events.csv"), "events")
    _names(ev, "city", known_cities, f("events.csv"), "events")
    _names(ev, "input", set(EVENT_INPUTS), f("events.csv"), "events")
    ev_month = _dates(ev, "date", f("events.csv"), "events")
    ev_val = pd.to_numeric(ev["value"], errors="coerce").to_numpy(float)
    for i, (inp, v) in enumerate(zip(ev["input"], ev_val)):
        lo, hi = EVENT_INPUTS[inp]
        if not np.isfinite(v) or not lo <= v <= hi:
            raise _bad(f("events.csv"), "events", i, "value", ev["value"].iloc[i], f"a number from {lo:g} to {hi:g}")
    row = {n: k for k, n in enumerate(names)}
    events = sorted((int(m), row[c], str(inp), float(v))
                    for m, c, inp, v in zip(ev_month, ev["city"], ev["input"], ev_val) if c in row)
    return Record(wage, gdp, price, roc_wage, roc_price, (y_m, np.vstack([men, women])), graduates,
                  min_wage_changes, link_opened, events)


#: city inputs an event may set, with the range a value must lie in
EVENT_INPUTS = {
    "housing_stock_growth_year": (-0.5, 0.5),  # yearly growth of the city's housing stock
}

