"""The KPIs a sweep keeps (spec ``outputs.kpis``), from one run's ``city_month`` table.

Every KPI is defined once, in ``migrants.outcomes``: a spec names them as
``KPI@REGION`` (``population@Dalian``, ``graduate_retention@Shenyang``; the
summary column is named exactly so) or by the group names of earlier specs,
which stand for:

==================================  ============================================================
``population_by_province``          ``population@<province>`` for each simulated province, as
                                    columns ``population_<province>``
``population_shenyang_metro``       ``population@shenyang_metro``
``population_total``                ``population@all``
``net_migration_total``             ``net_migration@all``
``net_migration_shenyang_metro``    ``net_migration@shenyang_metro``
``graduates``, ``graduates_stayed``, ``graduate_retention``, ``subsidy_spend_cny``   ``...@all``
``unemployment_rate_last12``        ``unemployment_rate@all``
==================================  ============================================================
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import outcomes

NAMED = {
    "population_shenyang_metro": "population@shenyang_metro",
    "population_total": "population@all",
    "net_migration_total": "net_migration@all",
    "net_migration_shenyang_metro": "net_migration@shenyang_metro",
    "graduates": "graduates@all",
    "graduates_stayed": "graduates_stayed@all",
    "graduate_retention": "graduate_retention@all",
    "unemployment_rate_last12": "unemployment_rate@all",
    "subsidy_spend_cny": "subsidy_spend_cny@all",
}
BY_PROVINCE = "population_by_province"
#: the group names a spec may use besides KPI@REGION (the default ``outputs.kpis``)
KPI_GROUPS = (BY_PROVINCE, *NAMED)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def check_kpi(name: str) -> None:
    """ValueError unless ``name`` is a group name or a well-formed ``KPI@REGION``."""
    if name not in KPI_GROUPS:
        try:
            outcomes.parse_kpi(name)
        except ValueError as e:
            raise ValueError(f"{e}; or a group name: {', '.join(KPI_GROUPS)}") from None


def kpi_map(names: list[str], provinces: list[str]) -> dict[str, str]:
    """Summary column -> ``KPI@REGION`` for the spec's ``outputs.kpis`` (in order)."""
    out: dict[str, str] = {}
    for name in names:
        if name == BY_PROVINCE:
            out.update({f"population_{slug(p)}": f"population@{outcomes.PROVINCE_PREFIX}{p}" for p in provinces})
        else:
            out[name] = NAMED.get(name, name)
    return out


def outcome_of(column: str) -> outcomes.Outcome | None:
    """The registry's Outcome behind a summary column (``population_<province>``, a group name or
    ``KPI@REGION``), or None for a column that is none of them."""
    if column.startswith("population_") and column not in NAMED:
        return outcomes.OUTCOMES["population"]
    try:
        return outcomes.OUTCOMES[outcomes.parse_kpi(NAMED.get(column, column))[0]]
    except ValueError:
        return None


def kpi_columns(names: list[str], provinces: list[str]) -> list[str]:
    """The KPI column names for the chosen KPIs (spec ``outputs.kpis``)."""
    return list(kpi_map(names, provinces))


def compute_kpis(city_month: pd.DataFrame, cities: pd.DataFrame, names: list[str], provinces: list[str],
                 granularity: str = "final") -> pd.DataFrame:
    """One row per period: ``month``, ``date`` and the KPI columns (``outcomes.evaluate``).

    A province of ``provinces`` without cities in this run gets NaN (sweeps over city sets).
    """
    wanted = kpi_map(names, provinces)
    simulated = set(cities["province"])
    present = {c: t for c, t in wanted.items()
               if not (c.startswith("population_") and t.startswith(f"population@{outcomes.PROVINCE_PREFIX}")
                       and t.split(":", 1)[1] not in simulated)}
    table = outcomes.evaluate(city_month, present, cities, granularity)
    for c in wanted:
        if c not in table:
            table[c] = np.nan
    return table[["month", "date", *wanted]]
