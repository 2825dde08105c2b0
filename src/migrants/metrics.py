"""What is counted each month, and the output tables.

``census`` makes one parallel pass over the agents and returns per-city
counts; ``Recorder`` keeps one row per (month, city) and per (month, origin,
destination) with a nonzero flow, and turns them into the DESIGN.md tables:
``city_month`` and ``flows``.  It is a Mesa ``DataCollector`` (so
``mesa.batch_run`` and the SolaraViz page read its model reporters, the
headline figures of ``MODEL_REPORTERS``) that also keeps the per-city rows as
numpy arrays, since a Python dict per city and month would cost more than the
month itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from mesa import DataCollector
from numba import njit, prange

from .config import month_label
from .kernels import NCHUNK
from .labour import index_wage
from .outcomes import month_value

AGE_BANDS = (18, 25, 35, 45, 55)  # lower edges: 18-24, 25-34, 35-44, 45-54, 55+
AGE_BAND_OF = (np.searchsorted(np.array(AGE_BANDS), np.arange(128), side="right") - 1).clip(0).astype(np.int64)


#: the census counts each row once in a combined cell of its place: status (6 codes, -2..3) x age band (5)
#: x owner x local hukou; the per-city counts are sums over the cells (``census_counts``)
N_CELLS = 6 * 5 * 2 * 2


@njit(inline="always", cache=True)
def count_row(i, c, C, J, month, status, age, housing, hukou, children, origin, wage, grad_month, uni_city,
              cells, kids, origins, wage_sum, grads):
    """Count living row ``i`` (in place ``c``) into one chunk's census arrays: its cell (status, age
    band, owner, local hukou), its children, its origin, its wage (employed in a simulated city)
    and, in its month of graduation, its university city (``census``)."""
    s = status[i]
    cells[c, (((s + 2) * 5 + AGE_BAND_OF[age[i]]) * 2 + (housing[i] == 2)) * 2 + (hukou[i] == c)] += 1
    kids[c] += children[i]
    origins[origin[i] * J + c] += 1
    if s >= 0 and c < C:
        wage_sum[c] += wage[i]
    if grad_month[i] == month and c < C:
        u = uni_city[i]
        grads[u, 0] += 1
        grads[u, 1] += u == c


@njit(cache=True)
def census_arrays(n, C):
    """Per-chunk arrays of a census (``count_row``): cells, children, origins, wage sums, graduates."""
    J = C + 1
    return (np.zeros((NCHUNK, J, N_CELLS), np.int64), np.zeros((NCHUNK, J), np.int64),
            np.zeros((NCHUNK, J * J), np.int64), np.zeros((NCHUNK, C), np.float64),
            np.zeros((NCHUNK, C, 2), np.int64))


@njit(cache=True)
def census_counts(cells, kids, origins, wage_sum, grads, C):
    """The census's per-city counts from its per-chunk arrays (chunks summed in order)."""
    J = C + 1
    cell = cells.sum(0).reshape((J, 6, 5, 2, 2))
    status = cell.sum(4).sum(3).sum(2)  # (J, 6): -2..3
    emp = np.ascontiguousarray(status[:C, 2:])
    bands = cell[:C].sum(4).sum(3).sum(1)
    owners = cell[:C, :, :, 1, :].sum(3).sum(2).sum(1)
    local = cell[:C, :, :, :, 1].sum(3).sum(2).sum(1)
    g = grads.sum(0)
    return (status.sum(1), emp, np.ascontiguousarray(status[:, 1]), np.ascontiguousarray(status[:, 0]),
            wage_sum.sum(0), kids.sum(0), origins.sum(0).reshape((J, J)), bands, owners, local,
            np.ascontiguousarray(g[:, 0]), np.ascontiguousarray(g[:, 1]))


@njit(inline="always", cache=True)
def head_row(i, c, J, status, origin, by_status, origins):
    """Count living row ``i`` (in place ``c``) into one chunk's headcount: by status and by origin."""
    by_status[c, status[i] + 2] += 1
    origins[origin[i] * J + c] += 1


@njit(cache=True)
def headcount_arrays(C):
    """Per-chunk arrays of a headcount (``head_row``): by status (J, 6: -2..3) and by origin (J * J)."""
    J = C + 1
    return np.zeros((NCHUNK, J, 6), np.int64), np.zeros((NCHUNK, J * J), np.int64)


@njit(cache=True)
def headcount_counts(by_status, origins, C):
    """The headcount's per-place counts from its per-chunk arrays (chunks summed in order): agents (J,),
    employed (C, 4), unemployed (J,), inactive (J,), origin_city (J, J) [origin, city]."""
    J = C + 1
    st = by_status.sum(0)
    return (st.sum(1), np.ascontiguousarray(st[:C, 2:]), np.ascontiguousarray(st[:, 1]),
            np.ascontiguousarray(st[:, 0]), origins.sum(0).reshape((J, J)))


@njit(parallel=True, cache=True)
def census(people, month, C, wage_factor, wage_floor, month_end):
    """Per-city counts in agents (one pass over ``people``, ``Population.columns()``).

    With ``month_end`` the same pass first ends the month of each row (``labour.index_wage``:
    wages follow ``wage_factor`` (C,), floored at ``wage_floor`` (C,); months in the city + 1),
    so the month's last census costs no pass of its own.

    Returns
    -------
    agents (J,), employed (C, 4), unemployed (J,), inactive (J,), wage_sum (C,) CNY,
    children (J,), origin_city (J, J) [origin, city], age_bands (C, 5), owners (C,),
    local_hukou (C,), grads_now (C,) and grads_stayed (C,) by university city
    """
    city, status, age, origin, hukou = people.city, people.status, people.age, people.origin_city, people.hukou_city
    housing, wage, children, grad_month, uni_city = (people.housing, people.wage, people.children, people.grad_month,
                                                      people.uni_city)
    months_in_city = people.months_in_city
    J = C + 1
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    cells, kids, origins, wage_sum, grads = census_arrays(n, C)
    for ch in prange(NCHUNK):
        cells_ch, kids_ch, origins_ch, wage_ch, grads_ch = cells[ch], kids[ch], origins[ch], wage_sum[ch], grads[ch]
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c < 0:
                continue
            if month_end:
                index_wage(i, c, status, wage, months_in_city, wage_factor, wage_floor, C)
            count_row(i, c, C, J, month, status, age, housing, hukou, children, origin, wage, grad_month, uni_city,
                      cells_ch, kids_ch, origins_ch, wage_ch, grads_ch)
    return census_counts(cells, kids, origins, wage_sum, grads, C)


class Census(NamedTuple):
    """A month's counts per city in agents, one field per array ``census`` returns, in its order.
    Fields also read as ``cen["employed"]``."""

    agents: np.ndarray        # (J,)
    employed: np.ndarray      # (C, 4) by sector
    unemployed: np.ndarray    # (J,)
    inactive: np.ndarray      # (J,)
    wage_sum: np.ndarray      # (C,) CNY a month
    children: np.ndarray      # (J,) persons (children are counted in persons)
    origin_city: np.ndarray   # (J, J) [origin, city]
    age_bands: np.ndarray     # (C, 5) 18-24, 25-34, 35-44, 45-54, 55+
    owners: np.ndarray        # (C,)
    local_hukou: np.ndarray   # (C,)
    grads_now: np.ndarray     # (C,) by university city
    grads_stayed: np.ndarray  # (C,) by university city

    def __getitem__(self, key):
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


def take_census(P, month: int, C: int, wage_factor=None, wage_floor=None) -> Census:
    """Census of the population (see ``census``); with ``wage_factor`` and ``wage_floor`` (C,) it
    ends the month first in the same pass (wages indexed, months in the city + 1)."""
    end = wage_factor is not None
    ones = np.ones(C)
    return Census(*census(P.columns(), month, C, wage_factor if end else ones, wage_floor if end else ones, end))


class Headcount(NamedTuple):
    """The mid-month counts the month's decisions read, in agents (``demography.deaths_births_headcount``):
    the fields of the same name of a ``Census``, which can stand in for it."""

    agents: np.ndarray        # (J,)
    employed: np.ndarray      # (C, 4) by sector
    unemployed: np.ndarray    # (J,)
    inactive: np.ndarray      # (J,)
    origin_city: np.ndarray   # (J, J) [origin, city]

    def __getitem__(self, key):
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


class MonthTally(NamedTuple):
    """What the month's record is read from: the model after the month, its census, its
    flows (J, J) persons, and the month's events per city (persons)."""

    model: object
    census: Census
    flows: np.ndarray
    births: np.ndarray
    deaths: np.ndarray
    graduates: np.ndarray
    job_led: np.ndarray


def _rate(num, den):
    return np.where(den > 0, num / np.maximum(den, 1), 0.0)


def _employed(t):
    return t.census.employed.sum(1) * t.model.scale


def _unemployed(t):
    return t.census.unemployed[: t.model.C] * t.model.scale


def _inflow(t):
    C = t.model.C
    return t.flows[:, :C].sum(0) - np.diag(t.flows)[:C]


def _outflow(t):
    C = t.model.C
    return t.flows[:C, :].sum(1) - np.diag(t.flows)[:C]


def _band(k):
    return lambda t: t.census.age_bands[:, k] * t.model.scale


#: The ``city_month`` columns: name -> the month's (C,) values, read from a ``MonthTally``.
#: Counts are persons (agents x scale); ``FLOAT_COLUMNS`` are rates and CNY.
CITY_RECORD = {
    "population": lambda t: t.model.city_population(t.census),
    "working_age": lambda t: t.census.agents[: t.model.C] * t.model.scale,
    "employed": _employed,
    "unemployed": _unemployed,
    "unemployment_rate": lambda t: _rate(_unemployed(t), _employed(t) + _unemployed(t)),
    "mean_wage": lambda t: _rate(t.census.wage_sum, t.census.employed.sum(1)),
    "rent": lambda t: t.model.housing_market.rent,
    "in_migrants": _inflow,
    "out_migrants": _outflow,
    "net_migration": lambda t: _inflow(t) - _outflow(t),
    "graduates": lambda t: t.graduates,
    "graduates_stayed": lambda t: t.census.grads_stayed * t.model.scale,
    "births": lambda t: t.births,
    "deaths": lambda t: t.deaths,
    "subsidy_spend_cny": lambda t: t.model.services.subsidy_spend,
    "jobs": lambda t: t.model.labour_market.jobs.sum(1),
    "vacancies": lambda t: np.maximum(t.model.labour_market.jobs.sum(1) - _employed(t), 0),
    "minors": lambda t: t.model.cohorts.minors.sum(1),
    "students": lambda t: t.model.cohorts.students.sum((1, 2)),
    "retirees": lambda t: t.model.cohorts.retirees.sum(1),
    "owners": lambda t: t.census.owners * t.model.scale,
    "local_hukou": lambda t: t.census.local_hukou * t.model.scale,
    "age_18_24": _band(0), "age_25_34": _band(1), "age_35_44": _band(2), "age_45_54": _band(3),
    "age_55_plus": _band(4),
    "job_led_arrivals": lambda t: t.job_led,
    "arrivals_from_outside": lambda t: t.flows[t.model.C, : t.model.C],
    "departures_to_outside": lambda t: t.flows[: t.model.C, t.model.C],
}
#: columns the policy engine adds (``PolicyEngine.city_record``): shared employment, subsidised units
POLICY_RECORD = ("commuters_out", "commuters_in", "subsidised_tenants")
CITY_COLUMNS = (*CITY_RECORD, *POLICY_RECORD)
FLOAT_COLUMNS = frozenset({"mean_wage", "rent", "unemployment_rate"})  # the rest: persons, rounded


def month_record(tally: MonthTally) -> dict:
    """The month's ``city_month`` values: every column of ``CITY_RECORD``, then the policy columns."""
    return {**{k: f(tally) for k, f in CITY_RECORD.items()}, **tally.model.policy.city_record()}


def _month(model) -> int:
    return int(model.month)


def _reporter(kpi: str):
    def report(model) -> float:
        return month_value(model.month_record, kpi)

    report.__name__ = kpi
    return report


#: the model-level reporters: this month's value of a KPI (``migrants.outcomes``) for all simulated cities
MODEL_REPORTERS = {"month": _month, **{k: _reporter(k) for k in ("population", "unemployment_rate",
                                                                   "graduate_retention", "net_migration",
                                                                   "subsidy_spend_cny")}}


class Recorder(DataCollector):
    """Monthly records of a run: a Mesa DataCollector with the per-city tables beside.

    ``collect(model)`` reads ``model.month_record`` (a dict of (C,) arrays
    named as ``CITY_COLUMNS``) and ``model.month_flows`` ((J, J) persons), and
    the model reporters (``MODEL_REPORTERS``) through Mesa's own collect.
    """

    def __init__(self, city_names, provinces, labels, start_index: int):
        super().__init__(model_reporters=MODEL_REPORTERS)
        self.city_names = list(city_names)
        self.provinces = list(provinces)
        self.labels = list(labels)  # J names incl. rest of China
        self.start_index = start_index
        self.months: list[int] = []
        self.rows: dict[str, list[np.ndarray]] = {k: [] for k in CITY_COLUMNS}
        self.flow_parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def record(self, model, tally: MonthTally) -> None:
        """The month's record (``month_record``) onto the model, then collected: the one place
        a month is recorded."""
        model.month_flows = tally.flows
        model.month_record = month_record(tally)
        self.collect(model)

    def collect(self, model) -> None:
        super().collect(model)
        rec = model.month_record
        m = model.month
        self.months.append(m)
        for k in CITY_COLUMNS:
            self.rows[k].append(np.asarray(rec[k], dtype=float).copy())
        o, d = np.nonzero(model.month_flows)
        self.flow_parts.append((m, o, d, model.month_flows[o, d].copy()))

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """The model reporters, one row per month (index ``month``)."""
        return super().get_model_vars_dataframe().set_index("month")

    def date_of(self, month: np.ndarray) -> np.ndarray:
        return np.array([month_label(i) for i in self.start_index + np.asarray(month)])

    def city_frame(self) -> pd.DataFrame:
        """One row per (month, city); counts in persons."""
        C = len(self.city_names)
        T = len(self.months)
        month = np.repeat(np.array(self.months, np.int32), C)
        df = pd.DataFrame({
            "month": month,
            "date": self.date_of(month),
            "city": np.tile(np.array(self.city_names, dtype=object), T),
            "province": np.tile(np.array(self.provinces, dtype=object), T),
        })
        for k in CITY_COLUMNS:
            v = np.concatenate(self.rows[k]) if T else np.zeros(0)
            df[k] = v if k in FLOAT_COLUMNS else np.rint(v).astype(np.int64)
        return df

    def flows_frame(self) -> pd.DataFrame:
        """One row per (month, origin, destination) with movers > 0 (persons)."""
        if not self.flow_parts:
            return pd.DataFrame({"month": np.zeros(0, np.int32), "origin": [], "destination": [],
                                 "movers": np.zeros(0, np.int64)})
        lab = np.array(self.labels, dtype=object)
        m = np.concatenate([np.full(len(o), mm, np.int32) for mm, o, _, _ in self.flow_parts])
        o = np.concatenate([o for _, o, _, _ in self.flow_parts])
        d = np.concatenate([d for _, _, d, _ in self.flow_parts])
        v = np.concatenate([v for _, _, _, v in self.flow_parts]).astype(np.int64)
        return pd.DataFrame({"month": m, "date": self.date_of(m), "origin": lab[o], "destination": lab[d], "movers": v})
