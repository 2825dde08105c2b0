"""A scenario's tables of the world, read and checked once: the provinces, and the census the
population is built from (each city's own pyramid, or its province's shares on a stylised one).

The places themselves (cities, links, the rest of China) are loaded by
``cities.load_geography``; the record of the years by ``history.load_record``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import read_table
from .errors import ConfigError
from .population import census_pyramid, stylised_pyramid


CENSUS_STRUCTURE = ["share_0_14", "share_15_59", "share_60_plus", "college_per_100k", "high_school_per_100k"]


def census_structure(provinces: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``provinces`` with the age and education columns of another census (configs/provinces_2010.csv)."""
    df = read_table(path, "census provinces")
    for col in ["province", *CENSUS_STRUCTURE, "source"]:
        if col not in df.columns:
            raise ConfigError(f"census provinces file {path}: column `{col}` is missing")
    df = df.set_index("province")
    lacking = sorted(set(provinces.index) - set(df.index))
    if lacking:
        raise ConfigError(f"census provinces file {path}: no row for province(s) {lacking}")
    out = provinces.copy()
    for col in CENSUS_STRUCTURE:
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals[vals.isna() | (vals < 0) | ((vals > 1) & col.startswith("share"))]
        if len(bad):
            raise ConfigError(f"census provinces file {path}: province {bad.index[0]}, column `{col}`: "
                              f"{df.loc[bad.index[0], col]!r}; expected a share from 0 to 1 or a count per 100,000")
        out[col] = vals.loc[out.index].to_numpy(float)
    return out


CENSUS_BANDS = ["age_0", "age_1_4"] + [f"age_{i}_{i + 4}" for i in range(5, 85, 5)] + ["age_85_plus"]


def load_census_cities(path: Path, names, census: int):
    """Each city's census pyramid and education (configs/census_cities.csv, source S8).

    names : the C cities' ``name_en``; census : 2010 or 2020.
    Returns (pyramid (C, 2, 101) persons by sex (0 men, 1 women) and single year,
    education (C, 2) college and high-school graduates per 100,000 residents).
    """
    df = read_table(path, "census cities")
    for col in ["city", "census", "sex", *CENSUS_BANDS, "college", "high_school", "source"]:
        if col not in df.columns:
            raise ConfigError(f"census cities file {path}: column `{col}` is missing")
    for col in [*CENSUS_BANDS, "college", "high_school"]:
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals.fillna(0)) | (vals < 0)
        if bad.any():
            r = df[bad].iloc[0]
            raise ConfigError(f"census cities file {path}: {r['city']} {r['census']} {r['sex']}, column `{col}`: "
                              f"{r[col]!r}; expected a count of persons (a whole number, 0 or more)")
        df[col] = vals
    df = df[pd.to_numeric(df["census"], errors="coerce") == census]
    bands = np.zeros((len(names), 2, len(CENSUS_BANDS)))
    edu = np.zeros((len(names), 2))
    for c, name in enumerate(names):
        rows = df[df["city"] == name].set_index("sex")
        if sorted(rows.index) != ["f", "m"]:
            raise ConfigError(f"census cities file {path}: city {name!r} needs one row per sex (m, f) for census "
                              f"{census}, found {sorted(rows.index)}; add them, or set `data.census_cities: null` "
                              "to use its province's age shares")
        bands[c] = rows.loc[["m", "f"], CENSUS_BANDS].to_numpy(float)
        persons = bands[c].sum()
        edu[c] = rows[["college", "high_school"]].sum().to_numpy(float) / max(persons, 1.0) * 1e5
    return census_pyramid(bands), edu


def load_provinces(path: Path) -> pd.DataFrame:
    """configs/provinces.csv indexed by province, with its columns checked."""
    need = ["province", "share_0_14", "share_15_59", "share_60_plus", "tfr_2020", "college_per_100k",
            "high_school_per_100k", "min_wage_cny_month"]
    df = read_table(path, "provinces")
    for col in need:
        if col not in df.columns:
            raise ConfigError(f"provinces file {path}: column `{col}` is missing")
        if col != "province":
            vals = pd.to_numeric(df[col], errors="coerce")
            bad = df[col][vals.isna() | (vals < 0) | ~np.isfinite(vals.fillna(0))]
            if len(bad):
                raise ConfigError(f"provinces file {path}: column `{col}` has {bad.iloc[0]!r}; expected a finite "
                                  "non-negative number")
    return df.set_index("province")


def census_inputs(cfg, geo) -> tuple[np.ndarray, np.ndarray]:
    """The pyramid (C, 2, 101) persons and education (C, 2) per 100,000 the population is built from:
    each city's own census (``data.census_cities``, S8), or else its province's age and education
    shares (of ``cfg.census``) on a stylised pyramid at the city's census count."""
    cities = geo.cities
    if cfg.data.census_cities:
        return load_census_cities(cfg.resolve(cfg.data.census_cities), cities["name_en"], cfg.census)
    provinces = geo.provinces
    if cfg.census == 2010:
        provinces = census_structure(provinces, cfg.resolve(cfg.data.provinces_2010))
    shares = provinces.loc[cities["province"]]
    pyramid = stylised_pyramid(cities[f"pop{cfg.census}"], shares.share_0_14, shares.share_15_59,
                               shares.share_60_plus)
    return pyramid, shares[["college_per_100k", "high_school_per_100k"]].to_numpy(float)
