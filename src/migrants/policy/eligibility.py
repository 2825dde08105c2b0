"""Who qualifies for a card: vectorised masks over the agent columns, and the
matching mask over the 24 decision types (for expected benefits in utilities).

A card's ``eligibility`` is a list of blocks; a person qualifies if every
condition of at least one block holds.  No block: everyone in the target
cities qualifies.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..decisions import RECENT_GRAD_MONTHS, type_table
from ..rng import uniform
from .cards import EDUCATION_CODES, Eligibility


def person_mask(blocks: list[Eligibility], P, month: int, start_index: int, rows=None) -> np.ndarray:
    """Boolean mask (n,) or (len(rows),): who satisfies at least one block.

    ``month`` is the model month (``grad_month`` is on the same scale);
    ``start_index`` the absolute index of month 0 (for graduation years).
    """
    def col(name):
        a = getattr(P, name)
        return a if rows is None else a[rows]

    n = P.n if rows is None else len(rows)
    if not blocks:
        return np.ones(n, bool)
    out = np.zeros(n, bool)
    for b in blocks:
        m = np.ones(n, bool)
        if b.education is not None:
            m &= np.isin(col("education"), [EDUCATION_CODES[e] for e in b.education])
        if b.age is not None:
            a = col("age")
            m &= (a >= b.age[0]) & (a <= b.age[1])
        if b.hukou != "any":
            local = col("hukou_city") == col("city")
            m &= local if b.hukou == "local" else ~local
        if b.new_arrival_months is not None:
            m &= col("months_in_city") < b.new_arrival_months
        if b.graduated_within_months is not None or b.graduation_years is not None:
            g = col("grad_month").astype(np.int64)
            m &= g >= 0
            if b.graduated_within_months is not None:
                m &= (month - g) < b.graduated_within_months
            if b.graduation_years is not None:
                year = (start_index + g) // 12
                m &= (year >= b.graduation_years[0]) & (year <= b.graduation_years[1])
        if b.employed is not None:
            m &= (col("status") >= 0) == b.employed
        if b.has_children is not None:
            m &= (col("children") > 0) == b.has_children
        if b.min_children is not None:
            m &= col("children") >= b.min_children
        if b.female is not None:
            m &= (col("female") == 1) == b.female
        out |= m
    return out


def type_mask(blocks: list[Eligibility]) -> np.ndarray:
    """(24,) bool: decision types (education x children x recent graduate) that can qualify.

    Conditions the type does not know (age, hukou, arrival, employment) are
    treated as met by a newcomer, the person weighing a move to the city.
    """
    edu, kids, recent = type_table()
    if not blocks:
        return np.ones(edu.size, bool)
    out = np.zeros(edu.size, bool)
    for b in blocks:
        m = np.ones(edu.size, bool)
        if b.education is not None:
            m &= np.isin(edu, [EDUCATION_CODES[e] for e in b.education])
        if b.has_children is not None:
            m &= (kids == 1) == b.has_children
        if b.min_children is not None and b.min_children > 0:
            m &= kids == 1
        if b.graduation_years is not None or (
                b.graduated_within_months is not None and b.graduated_within_months <= RECENT_GRAD_MONTHS):
            m &= recent == 1
        out |= m
    return out


@njit(parallel=True, cache=True)
def uniforms_at(key, rows):
    """``uniform(key, i)`` for each row ``i`` of ``rows`` (counter-based: independent of threads)."""
    out = np.empty(rows.size, np.float64)
    for t in prange(rows.size):
        out[t] = uniform(key, rows[t])
    return out


@njit(cache=True)
def migrants_in(lut, city, hukou):
    """Rows living in a place of ``lut`` (``city_lookup``) whose hukou is elsewhere, ascending:
    ``np.flatnonzero(lut[city] & (hukou != city))`` in compiled passes (count, then fill)."""
    k = 0
    for i in range(city.size):
        k += lut[city[i]] & (hukou[i] != city[i])
    rows = np.empty(k, np.int64)
    k = 0
    for i in range(city.size):
        if lut[city[i]] & (hukou[i] != city[i]):
            rows[k] = i
            k += 1
    return rows


@njit(cache=True)
def zero_in(lut, city, col):
    """Rows living in a place of ``lut`` where ``col`` is 0, ascending:
    ``np.flatnonzero(lut[city] & (col == 0))`` in compiled passes (count, then fill)."""
    k = 0
    for i in range(city.size):
        k += lut[city[i]] & (col[i] == 0)
    rows = np.empty(k, np.int64)
    k = 0
    for i in range(city.size):
        if lut[city[i]] & (col[i] == 0):
            rows[k] = i
            k += 1
    return rows


@njit(cache=True)
def coded_positive(codes, code, left):
    """Rows with ``codes == code`` and ``left > 0``, ascending:
    ``np.flatnonzero((codes == code) & (left > 0))`` in compiled passes (count, then fill)."""
    k = 0
    for i in range(codes.size):
        k += (codes[i] == code) & (left[i] > 0)
    rows = np.empty(k, np.int64)
    k = 0
    for i in range(codes.size):
        if (codes[i] == code) & (left[i] > 0):
            rows[k] = i
            k += 1
    return rows


def city_lookup(target: np.ndarray) -> np.ndarray:
    """(C+2,) bool lookup indexed by ``city`` (C = rest of China and -1 = removed are False)."""
    lut = np.zeros(target.size + 2, bool)
    lut[: target.size] = target
    return lut


def ration(amount: np.ndarray, priority: np.ndarray, remaining: float) -> np.ndarray:
    """Which payments fit in ``remaining`` CNY: take them in ``priority`` order
    (lowest first) while the running total stays within the budget.  Returns a mask."""
    if amount.size == 0 or float(amount.sum()) <= remaining:
        return np.ones(amount.size, bool)
    order = np.argsort(priority, kind="stable")
    ok = np.zeros(amount.size, bool)
    ok[order] = np.cumsum(amount[order]) <= remaining + 1e-6
    return ok


def take_first(n_allowed: int, priority: np.ndarray) -> np.ndarray:
    """Mask of the ``n_allowed`` lowest-priority entries (a quota)."""
    ok = np.zeros(priority.size, bool)
    if n_allowed <= 0:
        return ok
    order = np.argsort(priority, kind="stable")
    ok[order[:n_allowed]] = True
    return ok
