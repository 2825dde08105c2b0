"""The end-of-run summary: population and net migration by city and province,
unemployment and graduate retention over the run."""

from __future__ import annotations

import numpy as np
import pandas as pd


def city_summary(city_month: pd.DataFrame) -> pd.DataFrame:
    """One row per city: population at start and end, change, cumulative net
    migration, births, deaths, final unemployment rate, graduate retention."""
    first, last = city_month["month"].min(), city_month["month"].max()
    g = city_month[city_month["month"] > first].groupby("city", sort=False)
    start = city_month[city_month["month"] == first].set_index("city")
    end = city_month[city_month["month"] == last].set_index("city")
    out = pd.DataFrame({
        "province": start["province"],
        "population_start": start["population"],
        "population_end": end["population"],
    })
    out["change_pct"] = 100 * (out["population_end"] / out["population_start"] - 1)
    out["net_migration"] = g["net_migration"].sum()
    out["births"] = g["births"].sum()
    out["deaths"] = g["deaths"].sum()
    out["unemployment_rate_end"] = end["unemployment_rate"]
    grads = g["graduates"].sum().reindex(out.index)
    stayed = g["graduates_stayed"].sum().reindex(out.index)
    out["graduates"] = grads
    out["graduate_retention"] = (stayed / grads.where(grads > 0)).to_numpy()
    return out.fillna({"net_migration": 0, "births": 0, "deaths": 0, "graduates": 0})


def province_summary(city_month: pd.DataFrame) -> pd.DataFrame:
    """Same as ``city_summary`` aggregated over the simulated cities of each province."""
    cs = city_summary(city_month)
    lf = city_month[city_month["month"] == city_month["month"].max()].groupby("province")[["unemployed", "employed"]].sum()
    p = cs.groupby("province", sort=False)[["population_start", "population_end", "net_migration", "births", "deaths", "graduates"]].sum()
    p["change_pct"] = 100 * (p["population_end"] / p["population_start"] - 1)
    p["unemployment_rate_end"] = lf["unemployed"] / (lf["unemployed"] + lf["employed"])
    stayed = city_month.groupby("province")["graduates_stayed"].sum().reindex(p.index)
    p["graduate_retention"] = stayed / p["graduates"].where(p["graduates"] > 0)
    return p


def format_summary(city_month: pd.DataFrame, title: str) -> str:
    """Plain-text tables for the terminal."""
    cs = city_summary(city_month)
    ps = province_summary(city_month)

    def fmt(df: pd.DataFrame) -> str:
        d = df.copy()
        for c in ("population_start", "population_end", "net_migration", "births", "deaths", "graduates"):
            if c in d:
                d[c] = d[c].map(lambda x: f"{x:,.0f}")
        d["change_pct"] = d["change_pct"].map(lambda x: f"{x:+.2f}%")
        d["unemployment_rate_end"] = d["unemployment_rate_end"].map(lambda x: f"{100 * x:.1f}%")
        d["graduate_retention"] = d["graduate_retention"].map(lambda x: "-" if pd.isna(x) else f"{100 * x:.0f}%")
        return d.to_string()

    return f"{title}\n\nBy city\n{fmt(cs.drop(columns=['province']))}\n\nBy province (simulated cities)\n{fmt(ps)}\n"
