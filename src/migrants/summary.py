"""The end-of-run summary of ``migrants run``: by city and by province, the KPIs of
``migrants.outcomes`` over the whole run."""

from __future__ import annotations

import pandas as pd

from .outcomes import PROVINCE_PREFIX, evaluate, region_members

COLUMNS = ("population", "net_migration", "births", "deaths", "graduates", "graduate_retention", "unemployment_rate")


def region_summary(city_month: pd.DataFrame, cities: pd.DataFrame, regions: list[str]) -> pd.DataFrame:
    """One row per region: population at the start, and ``COLUMNS`` at the run's last month
    (``population`` then is the end), with the change in percent."""
    last = evaluate(city_month, {f"{k}@{r}": f"{k}@{r}" for r in regions for k in COLUMNS}, cities).iloc[-1]
    first = city_month[city_month["month"] == city_month["month"].min()].groupby("city")["population"].sum()
    rows = []
    for r in regions:
        start = float(first.reindex(region_members(r, cities)).sum())
        row = {"region": r.removeprefix(PROVINCE_PREFIX), "population_start": start}
        row.update({k: float(last[f"{k}@{r}"]) for k in COLUMNS})
        row["change_pct"] = 100 * (row["population"] / start - 1) if start else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).set_index("region").rename(columns={"population": "population_end"})


def format_summary(city_month: pd.DataFrame, title: str, cities: pd.DataFrame) -> str:
    """Plain-text tables for the terminal: by city, then by province (its simulated cities)."""
    names = list(cities["name_en"])
    provinces = [f"{PROVINCE_PREFIX}{p}" for p in dict.fromkeys(cities["province"])]

    def fmt(df: pd.DataFrame) -> str:
        d = df[["population_start", "population_end", "change_pct", "net_migration", "births", "deaths",
                "graduates", "graduate_retention", "unemployment_rate"]].copy()
        for c in ("population_start", "population_end", "net_migration", "births", "deaths", "graduates"):
            d[c] = d[c].map(lambda x: f"{x:,.0f}")
        d["change_pct"] = d["change_pct"].map(lambda x: f"{x:+.2f}%")
        d["unemployment_rate"] = d["unemployment_rate"].map(lambda x: f"{100 * x:.1f}%")
        d["graduate_retention"] = d["graduate_retention"].map(lambda x: "-" if pd.isna(x) else f"{100 * x:.0f}%")
        return d.rename(columns={"unemployment_rate": "unemployment_12m"}).to_string()

    return (f"{title}\n\nBy city\n{fmt(region_summary(city_month, cities, names))}\n\n"
            f"By province (simulated cities)\n{fmt(region_summary(city_month, cities, provinces))}\n")
