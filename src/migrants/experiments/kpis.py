"""The KPIs of one run, computed from its ``city_month`` table.

A KPI row describes the run from its start to the end of a period (a month,
the end of each simulated year, or the last month):

* ``population_<province>``, ``population_shenyang_metro``, ``population_total``:
  residents (persons) at the end of the period;
* ``net_migration_total``, ``net_migration_shenyang_metro``: arrivals minus
  departures summed from month 1 to the end of the period (moves among the
  area's own cities cancel);
* ``graduates``, ``graduates_stayed``: graduates of the area's universities, and
  those still in their university city at graduation, summed over the same months;
  ``graduate_retention`` = graduates_stayed / graduates (NaN with no graduates);
* ``unemployment_rate_last12``: the mean over the last 12 months (or fewer, at
  the start) of the area's unemployment rate (unemployed / labour force);
* ``subsidy_spend_cny``: total policy spend from month 1.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def kpi_columns(groups: list[str], provinces: list[str]) -> list[str]:
    """The KPI column names for the chosen groups (spec ``outputs.kpis``)."""
    cols = []
    for g in groups:
        cols += [f"population_{slug(p)}" for p in provinces] if g == "population_by_province" else [g]
    return cols


def period_months(last: int, granularity: str) -> list[int]:
    """Months at which KPI rows are taken."""
    if last <= 0:
        return [0]
    if granularity == "monthly":
        return list(range(1, last + 1))
    if granularity == "yearly":
        return sorted(set(range(12, last + 1, 12)) | {last})
    return [last]


def metro_cities(cities: pd.DataFrame) -> set[str]:
    col = cities["in_shenyang_metro"]
    flag = col if col.dtype == bool else col.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    return set(cities.loc[flag.to_numpy(bool), "name_en"])


def compute_kpis(city_month: pd.DataFrame, metro: set[str], groups: list[str], provinces: list[str],
                 granularity: str = "final") -> pd.DataFrame:
    """One row per period: ``month``, ``date`` and the KPI columns (see module docstring)."""
    cm = city_month
    months, first, idx = np.unique(cm["month"].to_numpy(), return_index=True, return_inverse=True)
    n = len(months)
    in_metro = cm["city"].isin(metro).to_numpy()
    province = cm["province"].to_numpy()

    def total(col: str, mask: np.ndarray | None = None) -> np.ndarray:
        w = cm[col].to_numpy(float)
        return np.bincount(idx, weights=w if mask is None else w * mask, minlength=n)

    after0 = (months > 0).astype(float)  # month 0 is the initial state: no flows yet

    def cum(col: str, mask: np.ndarray | None = None) -> np.ndarray:
        return np.cumsum(total(col, mask) * after0)

    cols: dict[str, np.ndarray] = {}
    for g in groups:
        if g == "population_by_province":
            for p in provinces:
                present = province == p
                cols[f"population_{slug(p)}"] = total("population", present) if present.any() else np.full(n, np.nan)
        elif g == "population_shenyang_metro":
            cols[g] = total("population", in_metro)
        elif g == "population_total":
            cols[g] = total("population")
        elif g == "net_migration_total":
            cols[g] = cum("net_migration")
        elif g == "net_migration_shenyang_metro":
            cols[g] = cum("net_migration", in_metro)
        elif g in ("graduates", "graduates_stayed"):
            cols[g] = cum(g)
        elif g == "graduate_retention":
            grads, stayed = cum("graduates"), cum("graduates_stayed")
            cols[g] = np.where(grads > 0, stayed / np.where(grads > 0, grads, 1), np.nan)
        elif g == "unemployment_rate_last12":
            une, emp = total("unemployed"), total("employed")
            lf = une + emp
            rate = np.where(lf > 0, une / np.where(lf > 0, lf, 1), np.nan)
            if n and months[-1] == 0:
                cols[g] = rate  # nothing simulated: the initial rate
            else:
                cols[g] = pd.Series(np.where(months > 0, rate, np.nan)).rolling(12, min_periods=1).mean().to_numpy()
        elif g == "subsidy_spend_cny":
            cols[g] = cum("subsidy_spend_cny")
        else:  # the spec validates the names; this is a bug
            raise KeyError(g)
    out = pd.DataFrame({"month": months.astype(np.int64),
                        "date": pd.Series(cm["date"].to_numpy()[first], dtype="str"), **cols})
    keep = period_months(int(months[-1]) if n else 0, granularity)
    return out[out["month"].isin(keep)].reset_index(drop=True)
