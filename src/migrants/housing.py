"""Housing: market rents per city and moves from renting to owning.

Rent (CNY per person per month) starts at ``price * rental_yield / 12 *
floor_area`` and moves towards ``rent0 * ((D/S) / (D0/S0)) ** elasticity``,
where D is the resident population and S the housing stock (persons it can
house), which grows at ``housing_stock_growth_year``.  The adjustment is
partial (``rent_adjustment_month`` of the gap a month), since rents are
sticky.  Policy units (affordable rental housing, talent apartments) live in
``policies``; here is the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from .population import OWNER, RENTER
from .kernels import NCHUNK
from .rng import uniform


@dataclass
class HousingMarket:
    """The housing markets of the C cities (model state; ``MigrationModel.housing_market``)."""

    rent: np.ndarray = None          # (C,) market rent, CNY per person a month
    rent0: np.ndarray = None         # (C,) the rent anchor (follows recorded house prices)
    stock: np.ndarray = None         # (C,) housing stock, persons it can house
    stock0: np.ndarray = None        # (C,) the stock at the start
    demand0: np.ndarray = None       # (C,) residents at the start, persons
    stock_growth: np.ndarray = None  # (C,) a year (dated events may change it)


def initial_rent(house_price_cny_m2: np.ndarray, hou) -> np.ndarray:
    """Monthly market rent per person, CNY (C,)."""
    return np.asarray(house_price_cny_m2, float) * hou.rental_yield_year.value / 12.0 * hou.floor_area_m2_per_person.value


def initial_stock(population: np.ndarray, hou) -> np.ndarray:
    """Housing stock in persons it can house (C,): residents plus the vacant share."""
    return np.asarray(population, float) / (1 - hou.initial_vacancy_share.value)


def update_rents(rent, rent0, demand, stock, demand0, stock0, hou):
    """Partial adjustment of rents (C,) toward the demand-supply target; returns the new rents."""
    pressure = (demand / stock) / (demand0 / stock0)
    target = rent0 * np.clip(pressure, 0.2, 5.0) ** hou.rent_demand_elasticity.value
    return rent + hou.rent_adjustment_month.value * (target - rent)


@njit(parallel=True, cache=True)
def buy_homes(city, status, housing, age, months_in_city, hazard, C, key):
    """Settled, employed renters aged 25+ buy a home at ``hazard`` a month.

    Rows go by blocks of 64: the test of each row is branch-free (the hazard is 0 for those who
    cannot buy; the attributes are random across rows, so branches on them mispredict) and gives
    a bit, and the purchases are made for the bits set, in row order.
    Returns the number of new owners per city (C,) in agents.
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    out = np.zeros((NCHUNK, C), np.int64)
    for ch in prange(NCHUNK):
        lo = ch * step
        hi = min(n, lo + step)
        for s in range(lo, hi, 64):
            w = np.uint64(0)
            for i in range(s, min(hi, s + 64)):
                c = city[i]
                h = hazard * ((c >= 0) & (c < C) & (housing[i] == RENTER) & (status[i] >= 0) & (age[i] >= 25)
                              & (months_in_city[i] >= 12))
                w |= np.uint64(uniform(key, i) < h) << np.uint64(i - s)
            while w != 0:
                i = s + trailing_zeros(w)
                w &= w - np.uint64(1)
                housing[i] = OWNER
                out[ch, city[i]] += 1
    return out.sum(0)
