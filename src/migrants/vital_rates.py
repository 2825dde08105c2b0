"""Births and deaths by province and year: the record, and the model's rates after it.

``configs/history/vital_rates.csv`` holds each province's crude birth and
death rates (per 1,000 residents) for 2010-2020 from its statistical
communiqués and yearbooks, each row with its source.  The model keeps the age
*shapes* of fertility and mortality (``demography.fertility_shape``, the
Gompertz schedule) and, each January, scales them per province so that the
year's expected births and deaths at the current age structure equal the
recorded rates, sharing the province's births among its cities by their census
fertility ``r_c`` (``demography.relative_fertility``: 1 for every city if the
cities' censuses are not used):

    F_c(y) = r_c x CBR_p(y) x pop_p / (1000 x sum over women agents in p of r x scale x shape(age))
    M_p(y) = CDR_p(y) x pop_p / (1000 x expected deaths at the unscaled schedule)

``F`` is then the total fertility of the simulated women and ``M`` a
multiplier on every death probability of the province.  After the table's
last year the rates are the last year's age-specific ones, changed each year
by ``fertility_change_after_table_year`` and ``mortality_change_after_table_year``
(scenario parameters, each with its basis): the crude rates then move with
the age structure.  A province with no rows in the table keeps its 2020 TFR
(``configs/provinces.csv``) and the unscaled mortality schedule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import read_table
from .errors import ConfigError

COLUMNS = ("province", "year", "births_per_1000", "deaths_per_1000", "tfr", "source")


def load_vital_rates(path: Path) -> pd.DataFrame:
    """The table, checked: one row per (province, year), rates finite and in 0..60 per 1,000."""
    df = read_table(path, "vital rates")
    for col in COLUMNS:
        if col not in df.columns:
            raise ConfigError(f"vital rates file {path}: column `{col}` is missing; expected columns {list(COLUMNS)}")
    years = pd.to_numeric(df["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        bad = df["year"][years.isna() | (years % 1 != 0)].iloc[0]
        raise ConfigError(f"vital rates file {path}: column `year` has {bad!r}; expected a whole year such as 2015")
    df["year"] = years.astype(int)
    for col in ("births_per_1000", "deaths_per_1000", "tfr"):
        vals = pd.to_numeric(df[col], errors="coerce")
        given = df[col].notna() & (df[col].astype(str).str.strip() != "")
        bad = given & (vals.isna() | ~np.isfinite(vals.fillna(0)) | (vals < 0) | (vals > 60))
        if bad.any():
            raise ConfigError(f"vital rates file {path}: column `{col}` has {df[col][bad].iloc[0]!r} "
                              f"({df['province'][bad].iloc[0]}, {df['year'][bad].iloc[0]}); expected a number from 0 to 60")
        df[col] = vals
    dup = df.duplicated(["province", "year"])
    if dup.any():
        r = df[dup].iloc[0]
        raise ConfigError(f"vital rates file {path}: two rows for ({r['province']}, {r['year']}); expected one")
    return df


class VitalRates:
    """Per-city birth and death scaling for each year (see the module docstring).

    Parameters
    ----------
    table : DataFrame from ``load_vital_rates``
    city_province : (C,) province of each city
    tfr_2020 : (C,) fallback fertility of cities whose province has no rows
    fertility_change, mortality_change : yearly relative change after the table
    relative_fertility : (C,) each city's fertility relative to its province's (default 1)
    """

    def __init__(self, table: pd.DataFrame, city_province, tfr_2020, fertility_change: float,
                 mortality_change: float, relative_fertility=None):
        self.city_province = np.asarray(city_province)
        self.provinces = list(dict.fromkeys(self.city_province))
        self.fertility_change = float(fertility_change)
        self.mortality_change = float(mortality_change)
        self.cbr: dict[tuple[str, int], float] = {}
        self.cdr: dict[tuple[str, int], float] = {}
        for r in table.itertuples(index=False):
            if np.isfinite(r.births_per_1000):
                self.cbr[(r.province, int(r.year))] = float(r.births_per_1000)
            if np.isfinite(r.deaths_per_1000):
                self.cdr[(r.province, int(r.year))] = float(r.deaths_per_1000)
        C = self.city_province.size
        self.relative_fertility = np.ones(C) if relative_fertility is None else np.asarray(relative_fertility, float)
        self.tfr = np.asarray(tfr_2020, float) * self.relative_fertility  # F by city (total fertility of the agents)
        self.mortality = np.ones(C)  # M by city
        self.year: int | None = None

    def update(self, year: int, population, women_exposure, expected_deaths) -> None:
        """Set F and M for ``year``.

        population : (C,) residents;  women_exposure : (C,) sum over women agents of
        ``scale x shape(age)`` (births a year per unit of F);  expected_deaths : (C,)
        deaths a year at M = 1.  Up to the table's last year a province takes the
        rate of the year (or, in a gap, of the latest year before it) at the
        current age structure; after it, the last year's age-specific rates
        carry on with the yearly change.
        """
        prev = self.year
        for p in self.provinces:
            c = self.city_province == p
            pop = float(np.sum(population[c]))
            for rates, current, per_unit, share, change in (
                    (self.cbr, self.tfr, women_exposure, self.relative_fertility, self.fertility_change),
                    (self.cdr, self.mortality, expected_deaths, np.ones_like(self.mortality), self.mortality_change)):
                years = sorted(y for (q, y) in rates if q == p)
                if not years or years[0] > year:
                    continue  # no record yet: the fallback
                last = years[-1]
                if year > last and prev is not None and prev >= last:
                    current[c] *= (1 + change) ** (year - prev)
                    continue
                ry = max(y for y in years if y <= year)
                unit = float(np.sum(per_unit[c] * share[c]))
                if unit > 0:
                    current[c] = share[c] * rates[(p, ry)] * pop / 1000.0 / unit * (1 + change) ** max(year - last, 0)
        self.year = year
