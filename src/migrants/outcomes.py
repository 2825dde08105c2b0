"""Outcomes: every KPI the tools report, defined once, for any region.

A KPI is written ``KPI@REGION`` (``population@Dalian``, ``graduate_retention@Shenyang``,
``net_migration@Liaoning``); ``KPI`` alone is ``KPI@all``.  REGION is a simulated
city (its ``name_en``), a province (``Liaoning`` or ``province:Liaoning``: its
simulated cities), ``shenyang_metro`` (the cities with ``in_shenyang_metro``) or
``all`` (every simulated city).  Each KPI describes a run from its start to the
end of a period (month ``t``):

=====================  =========================================================================
``population``         residents at month t (persons)
``net_migration``      arrivals minus departures over months 1..t (moves between the region's own
                       cities cancel), persons
``births``, ``deaths``  over months 1..t, persons
``graduates``          graduates of the region's universities over months 1..t, persons
``graduates_stayed``   those of them still in their university's city at graduation, persons
``graduate_retention`` graduates_stayed / graduates (NaN with no graduates yet)
``unemployment_rate``  the region's unemployed / labour force, mean of the 12 months to t
                       (fewer at the start)
``subsidy_spend_cny``  policy spend booked in the region over months 1..t, CNY
=====================  =========================================================================

``run``'s summary, ``compare``, sweeps and their report read them from here
(``evaluate``: from the start of a run to a month); the page and the model's
DataCollector read the same KPIs for a single month (``month_value``: the
stock at the month, the month's flow, its graduates' retention, its
unemployment rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError

METRO, ALL, PROVINCE_PREFIX = "shenyang_metro", "all", "province:"


@dataclass(frozen=True)
class Outcome:
    label: str  # what a reader sees in tables and plots
    unit: str  # persons, CNY or share
    kind: str  # stock (value at t), flow (sum over 1..t), ratio (of two flows), rate (mean of the last 12)
    column: str = ""  # city_month column of a stock or flow
    share: bool = False  # a share in 0..1: intervals are clipped to it
    better: str = "higher"  # which way a policy aims: higher or lower


OUTCOMES: dict[str, Outcome] = {
    "population": Outcome("residents", "persons", "stock", "population"),
    "net_migration": Outcome("net migration", "persons", "flow", "net_migration"),
    "births": Outcome("births", "persons", "flow", "births"),
    "deaths": Outcome("deaths", "persons", "flow", "deaths", better="lower"),
    "graduates": Outcome("graduates", "persons", "flow", "graduates"),
    "graduates_stayed": Outcome("graduates retained", "persons", "flow", "graduates_stayed"),
    "graduate_retention": Outcome("graduate retention", "share", "ratio", share=True),
    "unemployment_rate": Outcome("unemployment (mean of 12 months)", "share", "rate", share=True, better="lower"),
    "subsidy_spend_cny": Outcome("policy spend", "CNY", "flow", "subsidy_spend_cny", better="lower"),
}


def month_value(record: dict, kpi: str, cities=None) -> float:
    """One month's value of a KPI over some cities (``cities``: indices into the (C,) arrays, None: all).

    record : a month's per-city arrays (``model.month_record`` or a row of the recorder),
    with the city_month columns.  NaN for a ratio or rate with nothing to divide
    (no graduates this month, nobody in the labour force).
    """
    def total(col):
        a = np.asarray(record[col], float)
        return float(a.sum() if cities is None else a[cities].sum())

    o = OUTCOMES[kpi]
    if o.kind in ("stock", "flow"):
        return total(o.column)
    if kpi == "graduate_retention":
        g = total("graduates")
        return total("graduates_stayed") / g if g > 0 else float("nan")
    une, lf = total("unemployed"), total("unemployed") + total("employed")
    return une / lf if lf > 0 else float("nan")


def parse_kpi(text: str) -> tuple[str, str]:
    """``"population@Dalian"`` -> ``("population", "Dalian")``; ``"population"`` -> ``("population", "all")``.

    Raises ValueError naming the KPI and the ones that exist (the region is checked
    against a scenario's cities by ``region_members``).
    """
    kpi, _, region = str(text).partition("@")
    if kpi not in OUTCOMES:
        raise ValueError(f"KPI {text!r}: unknown KPI {kpi!r}; expected KPI@REGION with KPI one of "
                         f"{', '.join(OUTCOMES)}")
    if "@" in str(text) and not region.strip():
        raise ValueError(f"KPI {text!r}: no region after @; expected a city, a province, {METRO} or {ALL}")
    return kpi, region.strip() or ALL


def metro_flags(cities: pd.DataFrame) -> np.ndarray:
    """(C,) bool: the cities of the Shenyang metropolitan area (``in_shenyang_metro``)."""
    col = cities["in_shenyang_metro"]
    if col.dtype == bool:
        return col.to_numpy(bool)
    return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy(bool)


def region_members(region: str, cities: pd.DataFrame) -> list[str]:
    """The simulated cities (``name_en``) of a region; ConfigError for a region the cities do not have."""
    names = list(cities["name_en"])
    if region == ALL:
        return names
    if region == METRO:
        return [n for n, m in zip(names, metro_flags(cities)) if m]
    if region in names:
        return [region]
    province = region[len(PROVINCE_PREFIX):] if region.startswith(PROVINCE_PREFIX) else region
    members = list(cities.loc[cities["province"] == province, "name_en"])
    if members:
        return members
    provinces = list(dict.fromkeys(cities["province"]))
    raise ConfigError(f"region {region!r}: not a simulated city or province of this scenario; expected one of "
                      f"{', '.join(names)}; a province ({', '.join(provinces)}); {METRO}; or {ALL}")


def all_regions(cities: pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(region, region_type, members) of every region: each city, each province, the metro area, all."""
    names = list(cities["name_en"])
    out = [(n, "city", [n]) for n in names]
    for p in dict.fromkeys(cities["province"]):
        out.append((f"{PROVINCE_PREFIX}{p}", "province", region_members(p, cities)))
    metro = region_members(METRO, cities)
    if metro:
        out.append((METRO, "metro", metro))
    out.append((ALL, "all", names))
    return out


def period_months(last: int, granularity: str) -> list[int]:
    """Months at which rows are taken: every month, the end of each year and the last, or the last."""
    if last <= 0:
        return [0]
    if granularity == "monthly":
        return list(range(1, last + 1))
    if granularity == "yearly":
        return sorted(set(range(12, last + 1, 12)) | {last})
    return [last]


def evaluate(city_month: pd.DataFrame, kpis: dict[str, str] | list[str], cities: pd.DataFrame,
             granularity: str = "final") -> pd.DataFrame:
    """KPIs of one run: one row per period (``month``, ``date``) and one column per KPI.

    city_month : the run's ``city_month`` table (months from 0, the start);
    kpis : ``KPI@REGION`` texts, or a mapping column name -> ``KPI@REGION``;
    cities : the scenario's cities (``name_en``, ``province``, ``in_shenyang_metro``).
    """
    named = dict(kpis) if isinstance(kpis, dict) else {k: k for k in kpis}
    cm = city_month
    months, first, idx = np.unique(cm["month"].to_numpy(), return_index=True, return_inverse=True)
    n = len(months)
    city = cm["city"].to_numpy()
    after0 = (months > 0).astype(float)  # month 0 is the initial state: no flows yet
    masks: dict[str, np.ndarray] = {}

    def total(col: str, mask: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=cm[col].to_numpy(float) * mask, minlength=n)

    def cum(col: str, mask: np.ndarray) -> np.ndarray:
        return np.cumsum(total(col, mask) * after0)

    cols: dict[str, np.ndarray] = {}
    for name, text in named.items():
        kpi, region = parse_kpi(text)
        if region not in masks:
            masks[region] = np.isin(city, region_members(region, cities)).astype(float)
        mask, o = masks[region], OUTCOMES[kpi]
        if o.kind == "stock":
            cols[name] = total(o.column, mask)
        elif o.kind == "flow":
            cols[name] = cum(o.column, mask)
        elif kpi == "graduate_retention":
            grads, stayed = cum("graduates", mask), cum("graduates_stayed", mask)
            cols[name] = np.where(grads > 0, stayed / np.where(grads > 0, grads, 1), np.nan)
        else:  # unemployment_rate
            une, emp = total("unemployed", mask), total("employed", mask)
            lf = une + emp
            rate = np.where(lf > 0, une / np.where(lf > 0, lf, 1), np.nan)
            if n and months[-1] == 0:
                cols[name] = rate  # nothing simulated: the initial rate
            else:
                cols[name] = pd.Series(np.where(months > 0, rate, np.nan)).rolling(12, min_periods=1).mean().to_numpy()
    out = pd.DataFrame({"month": months.astype(np.int64),
                        "date": pd.Series(cm["date"].to_numpy()[first], dtype="str"), **cols})
    keep = period_months(int(months[-1]) if n else 0, granularity)
    return out[out["month"].isin(keep)].reset_index(drop=True)
