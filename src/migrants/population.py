"""The people: working-age persons stored column-wise, and the synthetic population.

Every agent is one row of a set of numpy arrays (struct of arrays) and stands
for ``scale`` persons.  Minors, university students and the retired are not
agents: they are counted per city in cohorts (``Cohorts``), which keeps a
city's ``population`` comparable with the census resident count while only the
people who work, search and move are simulated one by one.

Codes
-----
education : 0 below high school, 1 high school / secondary vocational,
            2 college (大专), 3 bachelor, 4 master, 5 PhD
status    : 0..3 employed in sector (see ``SECTORS``), -1 unemployed, -2 inactive
housing   : 0 market renter, 1 subsidised tenant, 2 owner
city      : 0..C-1 simulated cities, C = rest of China (emigrants), -1 removed
subsidy_months_left : living subsidy (policies): 0 never enrolled, >0 months left, -1 used or forfeited
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .rng import choice

EDUCATION = ("below_high_school", "high_school", "college", "bachelor", "master", "phd")
SECTORS = ("manufacturing", "services", "public", "hightech")
UNEMPLOYED, INACTIVE = -1, -2
RENTER, SUBSIDISED, OWNER = 0, 1, 2
MINOR_AGES = 19  # buckets 0..17 and 18 = school leavers not yet placed
RETIREE_AGE0, RETIREE_AGES = 55, 46  # buckets 55..100

#: (name, dtype) of every per-agent column; ~33 bytes an agent
COLUMNS = (
    ("age", np.int8),
    ("female", np.int8),
    ("education", np.int8),
    ("status", np.int8),
    ("housing", np.int8),
    ("children", np.int8),
    ("city", np.int16),
    ("hukou_city", np.int16),
    ("origin_city", np.int16),
    ("months_in_city", np.int16),
    ("grad_month", np.int16),
    ("uni_city", np.int16),
    ("subsidy_months_left", np.int16),
    ("wage", np.float32),
    # policy state (migrants.policy; all 0 = none): living-subsidy card, flags (bit 0: home-purchase
    # subsidy used), subsidised-unit card (+k queued, -k housed), month queued/housed, work city + 1
    ("subsidy_card", np.int8),
    ("policy_flags", np.int8),
    ("unit_card", np.int8),
    ("unit_since", np.int16),
    ("commute_to", np.int16),
)


#: The live columns of every agent, by name, as numba kernels take them (``Population.columns``).
Columns = NamedTuple("Columns", [(name, np.ndarray) for name, _ in COLUMNS])


class Population:
    """Column store of agents with room to grow.

    Attributes are numpy views of length ``n`` (live rows); ``_cols`` holds the
    full-capacity arrays.  Rows are removed by ``compact`` (stable order of the
    survivors), so row order is a deterministic function of the history.
    """

    def __init__(self, capacity: int):
        self.n = 0
        self._cols = {name: np.zeros(max(capacity, 16), dtype) for name, dtype in COLUMNS}
        self._used = 0  # rows from here on have never been written: still np.zeros' zeros

    def __getattr__(self, name):
        cols = self.__dict__.get("_cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def columns(self) -> Columns:
        """The live columns (views of length ``n``) as one named tuple: kernels read and write
        ``people.city[i]`` instead of taking a dozen positional arrays.  Take it anew after an
        ``append`` or ``compact`` (they may reallocate)."""
        return Columns(**{name: a[: self.n] for name, a in self._cols.items()})

    @property
    def capacity(self) -> int:
        return len(self._cols["age"])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._cols.values())

    def grow(self, k: int) -> slice:
        """Add ``k`` rows with every column at its default (0; -1 for ``grad_month`` and
        ``uni_city``), making room if needed; returns their slice of the columns."""
        if self.n + k > self.capacity:
            new_cap = max(int(self.capacity * 1.25), self.n + k)
            for name, a in self._cols.items():
                b = np.zeros(new_cap, a.dtype)
                b[: self.n] = a[: self.n]
                self._cols[name] = b
        rows = slice(self.n, self.n + k)
        stale = slice(self.n, min(self.n + k, self._used))  # rows compact freed keep their old values
        for name, a in self._cols.items():
            if name in ("grad_month", "uni_city"):
                a[rows] = -1
            elif stale.stop > stale.start:
                a[stale] = 0
        self.n += k
        self._used = max(self._used, self.n)
        return rows

    def append(self, **columns: np.ndarray) -> slice:
        """Add rows; ``columns`` maps column name to equal-length arrays (others at their default)."""
        rows = self.grow(len(next(iter(columns.values()))))
        for name, a in columns.items():
            self._cols[name][rows] = a
        return rows

    def compact(self, min_share: float = 0.0) -> int:
        """Drop rows whose ``city`` is -1; return how many were dropped.

        With ``min_share`` > 0 nothing happens until at least that share of the
        rows is dead: every kernel skips ``city < 0``, and rewriting all columns
        for a few deaths a month would cost more than the month's other passes.
        """
        keep_n = _compact_order(self._cols["city"][: self.n])
        removed = self.n - keep_n
        if removed and removed >= min_share * self.n:
            city = self._cols["city"][: self.n]
            # `city` is the mask, so it is compacted last
            for name, a in self._cols.items():
                if name != "city":
                    _compact_column(a[: self.n], city)
            _compact_column(city, city)
            self.n = keep_n
            return removed
        return 0


@njit(cache=True)
def _compact_order(city):
    k = 0
    for i in range(city.size):
        if city[i] >= 0:
            k += 1
    return k


@njit(cache=True)
def _compact_column(a, city):
    # in place, survivors keep their order (k <= i, so nothing unread is overwritten)
    k = 0
    for i in range(a.size):
        if city[i] >= 0:
            a[k] = a[i]
            k += 1


@dataclass
class Cohorts:
    """Persons who are not agents, counted per city (all int64, persons).

    minors   : (C, 19) ages 0..17, bucket 18 = school leavers still to be placed
    students : (C, C+1, 4) by university city, origin city (C: outside the simulated
               cities), years to graduation (1..4)
    retirees : (C, 46) ages 55..100 (100 = 100 and over)
    """

    minors: np.ndarray
    students: np.ndarray
    retirees: np.ndarray

    def totals(self) -> np.ndarray:
        """Persons per city, shape (C,)."""
        return self.minors.sum(1) + self.students.sum((1, 2)) + self.retirees.sum(1)


def education_shares(college_per_100k: float, high_school_per_100k: float, working_share: float):
    """Shares of the six education levels among working-age adults.

    Census counts per 100,000 residents are divided by the working-age share
    (assumption: almost all degree holders are of working age).  The split of
    college-or-above into college/bachelor/master/PhD is the national stock
    ratio (assumption, docs/ODD.md).
    """
    tertiary = min(college_per_100k / 1e5 / working_share, 0.8)
    high = min(high_school_per_100k / 1e5 / working_share, 1 - tertiary)
    split = np.array([0.50, 0.43, 0.06, 0.01])
    return np.concatenate([[1 - tertiary - high, high], tertiary * split])


AGES = 101  # single years 0..100 (100 = 100 and over) of the census pyramids
BAND_STARTS = np.array([0, 1] + list(range(5, 90, 5)))  # the census's age bands: 0, 1-4, 5-9, ..., 85+


def census_pyramid(bands: np.ndarray) -> np.ndarray:
    """Persons by single year of age from the census's age bands.

    bands : (..., 19) persons aged 0, 1-4, 5-9, ..., 80-84, 85+ (configs/census_cities.csv).
    Returns (..., 101) persons aged 0..100: each band spread evenly over its
    years, 85+ over 85..100 falling by a quarter a year (assumption: the
    survival of the very old, about China's 2020 life table).
    """
    bands = np.asarray(bands, float)
    out = np.zeros(bands.shape[:-1] + (AGES,))
    ends = list(BAND_STARTS[1:]) + [AGES]
    for b, (lo, hi) in enumerate(zip(BAND_STARTS, ends)):
        w = np.ones(hi - lo) if hi < AGES else 0.75 ** np.arange(hi - lo)
        out[..., lo:hi] = bands[..., b, None] * (w / w.sum())
    return out


def stylised_pyramid(pop, share_0_14, share_15_59, share_60_plus) -> np.ndarray:
    """Persons by sex and single year (C, 2, 101) from a province's three census age shares.

    The pyramid of a city without its own census rows (``data.census_cities: null``,
    e.g. the steady-state audit): minors evenly over 0..17, working ages 18..59
    with the older North-East pyramid (assumption: 45+ weighted 1.2, under 25
    0.8), 60+ survival-shaped (``retiree_age_weights``), half of each age women.
    """
    pop = np.asarray(pop, float)
    kids = pop * np.asarray(share_0_14, float) * 18 / 15
    old = pop * np.asarray(share_60_plus, float)
    work = pop - kids - old
    a = np.arange(18, 60)
    w_work = np.where(a < 25, 0.8, np.where(a >= 45, 1.2, 1.0))
    both = np.zeros((pop.size, AGES))
    both[:, :18] = kids[:, None] / 18
    both[:, 18:60] = work[:, None] * (w_work / w_work.sum())
    both[:, 60:] = old[:, None] * retiree_age_weights()
    return np.repeat(both[:, None, :] / 2, 2, axis=1)


def build_population(cities, pyramid, education, scenario, graduates_per_year, rng, travel_hours):
    """Synthetic population at a census (November 2010 or 2020), at ``scenario.scale`` persons an agent.

    One builder for both censuses: the caller passes the census's numbers.

    Parameters
    ----------
    cities : DataFrame, C rows (configs/cities.csv) with ``census_population`` (the census
        count, ``pop2010`` or ``pop2020``) and ``avg_wage_cny`` of the start year
    pyramid : (C, 2, 101) persons by sex (0 men, 1 women) and single year of age at the
        census (``census_pyramid`` of configs/census_cities.csv, or ``stylised_pyramid``);
        rescaled so each city sums to its ``census_population``
    education : (C, 2) college and high-school graduates per 100,000 residents at the census
    scenario : Scenario
    graduates_per_year : (C,) persons graduating a year from the city's universities
    rng : numpy Generator (initialisation stream)
    travel_hours : (C+1, C+1) shortest travel time, hours

    Returns
    -------
    (Population, Cohorts, base) where ``base`` holds per-city facts the other
    modules start from: ``sector_shares`` (C, 4), ``mean_wage`` (C,) CNY/month
    (the statistic), ``wage_level`` (C,) CNY/month (offer = level x education
    premium x sector premium x noise; set so the mean wage matches the statistic).
    """
    dem, lab, hou = scenario.demography, scenario.labour, scenario.housing
    scale = scenario.scale
    C = len(cities)
    pop = cities["census_population"].to_numpy(np.int64)
    pyramid = np.asarray(pyramid, float)
    pyramid = pyramid * (pop / np.maximum(pyramid.sum((1, 2)), 1.0))[:, None, None]
    retire_at = (int(dem.retirement_age_men.value), int(dem.retirement_age_women.value))

    minors = np.zeros((C, MINOR_AGES), np.int64)
    retirees = np.zeros((C, RETIREE_AGES), np.int64)
    minors[:, :18] = np.floor(pyramid[:, :, :18].sum(1)).astype(np.int64)
    students = initial_students(minors[:, 17], cities["province"].to_numpy(), graduates_per_year, dem)
    # working ages by sex: what is left of 18..retirement once the students are counted apart
    working = np.zeros((C, 2, AGES))
    for s, r in enumerate(retire_at):
        working[:, s, 18:r] = pyramid[:, s, 18:r]
        old = pyramid[:, s, r:]
        buckets = np.maximum(np.arange(r, AGES), RETIREE_AGE0) - RETIREE_AGE0
        np.add.at(retirees, (slice(None), buckets), np.floor(old).astype(np.int64))
    at_university = working[:, :, 18:22].sum((1, 2))
    take = np.minimum(students.sum((1, 2)) / np.maximum(at_university, 1.0), 1.0)
    working[:, :, 18:22] *= (1 - take)[:, None, None]

    n_work = np.zeros(C, np.int64)
    for c in range(C):
        rest = pop[c] - minors[c].sum() - students[c].sum() - retirees[c].sum()
        n_work[c] = rest // scale
        retirees[c, 5] += rest - n_work[c] * scale  # remainder persons (a few, put at 60): keeps totals exact

    N = int(n_work.sum())
    P = Population(int(N * 1.1) + 1024)
    sector_shares = initial_sector_shares(cities)
    mean_wage = cities["avg_wage_cny"].to_numpy(float) / 12.0
    wage_level = mean_wage.copy()
    migrant_share = initial_migrant_share(cities)
    gravity = np.asarray(pop, float)[None, :] * np.exp(-travel_hours[:C, :C] / 6.0)
    np.fill_diagonal(gravity, 0.0)

    for c in range(C):
        n = int(n_work[c])
        if n == 0:
            continue
        # numpy draws each attribute for all n people at once, in this order (the order fixes the
        # population for a seed); kernels turn the draws into the columns in place
        rows = P.grow(n)
        col = {name: a[rows] for name, a in P._cols.items()}
        age, female, edu, status = col["age"], col["female"], col["education"], col["status"]
        w = working[c].ravel()
        _age_and_sex(choice(rng, w / w.sum(), n), age, female)
        wshare = pyramid[c, :, 15:60].sum() / pop[c]
        edu[:] = draw_education(rng, age, education_shares(education[c, 0], education[c, 1], wshare))
        migrant = rng.random(n) < migrant_share[c]
        hukou = col["hukou_city"]
        hukou[:] = c
        k = int(migrant.sum())
        if k:
            hukou[migrant] = choice(rng, gravity[c] / gravity[c].sum(), k)
        del migrant  # a migrant is now one whose hukou is elsewhere (gravity's diagonal is 0)
        _months_in_city(rng.integers(0, 121, n), age, hukou, c, col["months_in_city"])
        _inactive(rng.random(n), female, dem.inactive_share_women.value, dem.inactive_share_men.value, status)
        _unemployed(rng.random(n), lab.initial_unemployment_rate.value, status)
        _sector(choice(rng, sector_shares[c], n), edu, status)
        wage = col["wage"]
        _offered_wage(np.float32(mean_wage[c]), edu, status, wage_noise(rng, n, lab.wage_dispersion_sd.value), wage)
        employed = status >= 0
        # the level is set so the city's mean wage of the employed equals the statistic
        norm = mean_wage[c] / max(float(wage[employed].mean()), 1.0) if employed.any() else 1.0
        del employed
        wage_level[c] = mean_wage[c] * norm
        _scale_wages(np.float32(norm), status, wage)
        _housing(rng.random(n), age, hukou, c, hou.ownership_rate_settled.value,
                 hou.ownership_rate_young_or_migrant.value, col["housing"])
        parents = _count_parents(age)
        lam = minors[c, :18].sum() / scale / max(parents, 1)
        _children(rng.poisson(lam, n), age, col["children"])
        col["city"][:] = c
        col["origin_city"][:] = hukou
    base = {"sector_shares": sector_shares, "mean_wage": mean_wage, "wage_level": wage_level}
    return P, Cohorts(minors, students, retirees), base


def initial_students(cohort_size, provinces, graduates_per_year, dem) -> np.ndarray:
    """University students in November 2020, persons (C university, C+1 origin, 4 years to graduation).

    Each year-group is the intake the September rule gives for one cohort of
    ``cohort_size`` (C,) 18-year-olds per city at the 2020 seats (expected
    values, ``demography.admit_students``): applicants from the simulated
    cities by ``application_weights``, the rest of the seats filled from
    outside (origin index C).  So the initial stock is the stationary stock of
    the rule, and it holds still while cohorts and seats do (tests/test_steady_state.py).
    """
    from .demography import admit_students, application_weights, university_seats

    C = cohort_size.size
    seats = university_seats(graduates_per_year)
    enrol = cohort_size * dem.tertiary_entry_rate.value * (1 - dem.study_rest_of_china_share.value)
    applications = np.floor(enrol[:, None] * application_weights(provinces, seats.astype(float), dem)).astype(np.int64)
    admitted, _, outside = admit_students(applications, seats)
    students = np.zeros((C, C + 1, 4), np.int64)
    students[:, :C, :] = admitted.T[:, :, None]
    students[:, C, :] = outside[:, None]
    return students


def retiree_age_weights() -> np.ndarray:
    """Shares of the 60+ population by single year 60..100 (assumption: survival-shaped)."""
    a = np.arange(60, 101)
    w = np.exp(-0.075 * (a - 60)) * (1 - 1 / (1 + np.exp(-(a - 82) / 4)))
    return w / w.sum()


def draw_education(rng, age: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Education codes; the young are more educated (assumption: tertiary odds x1.6 under 35, x0.6 from 45).

    Draws, in order: one uniform a person (tertiary or not), the degree of the tertiary
    (``choice`` over ``shares[2:]``), one uniform for each of the others (high school or not).
    """
    tilt = _education_tilt(age)
    tert = shares[2:].sum()
    edu = np.empty(age.size, np.int8)
    n_tert = _tertiary(rng.random(age.size), tilt, tert, np.average(tilt), edu)
    del tilt
    degree = choice(rng, shares[2:] / tert, n_tert)
    _degree_or_high_school(degree, rng.random(age.size - n_tert), shares[1] / (1 - tert), edu)
    return edu


@njit(cache=True)
def _education_tilt(age):
    tilt = np.empty(age.size)
    for i in range(age.size):
        tilt[i] = 1.6 if age[i] < 35 else (0.6 if age[i] >= 45 else 1.0)
    return tilt


@njit(cache=True)
def _tertiary(u, tilt, tert, mean_tilt, edu):
    # 2 (tertiary, degree to come) with probability clip(tert * tilt / mean tilt, 0, 0.95), else 0
    k = 0
    for i in range(u.size):
        p = min(max(tert * tilt[i] / mean_tilt, 0.0), 0.95)
        if u[i] < p:
            edu[i] = 2
            k += 1
        else:
            edu[i] = 0
    return k


@njit(cache=True)
def _degree_or_high_school(degree, u_high, p_high, edu):
    # the tertiary take their degrees in row order (2 + 0..3), the others high school with p_high
    j = 0
    m = 0
    for i in range(edu.size):
        if edu[i] == 2:
            edu[i] = 2 + degree[j]
            j += 1
        else:
            edu[i] = 1 if u_high[m] < p_high else 0
            m += 1


@njit(cache=True)
def _age_and_sex(cell, age, female):
    # a pyramid cell is sex * AGES + age
    for i in range(cell.size):
        female[i] = cell[i] // AGES
        age[i] = cell[i] % AGES


@njit(cache=True)
def _months_in_city(draw, age, hukou, c, months):
    # migrants (hukou elsewhere) came 0..120 months ago; the locals have lived there since 18
    for i in range(age.size):
        months[i] = draw[i] if hukou[i] != c else (age[i] - 18) * 12


@njit(cache=True)
def _inactive(u, female, p_women, p_men, status):
    for i in range(u.size):
        status[i] = INACTIVE if u[i] < (p_women if female[i] == 1 else p_men) else 0


@njit(cache=True)
def _unemployed(u, rate, status):
    for i in range(u.size):
        if status[i] != INACTIVE and u[i] < rate:
            status[i] = UNEMPLOYED


@njit(cache=True)
def _sector(sector, education, status):
    # the employed take their drawn sector if their education allows it: high-tech jobs need a
    # bachelor degree (else manufacturing), public-sector jobs college (else services)
    for i in range(sector.size):
        if status[i] == 0:
            s = sector[i]
            if s == 3 and education[i] < 3:
                s = 0
            elif s == 2 and education[i] < 2:
                s = 1
            status[i] = s


@njit(cache=True)
def _offered_wage(city_wage, education, status, noise, wage):
    # monthly offer, CNY: city level x education x sector x noise (the unemployed and inactive: manufacturing)
    for i in range(noise.size):
        wage[i] = city_wage * EDU_PREMIUM[education[i]] * SECTOR_PREMIUM[max(status[i], 0)] * noise[i]


@njit(cache=True)
def _scale_wages(norm, status, wage):
    for i in range(wage.size):
        wage[i] = wage[i] * norm if status[i] >= 0 else np.float32(0.0)


@njit(cache=True)
def _housing(u, age, hukou, c, p_settled, p_other, housing):
    # the settled (local hukou, aged 30+) own more often than the young and the migrants
    for i in range(u.size):
        settled = hukou[i] == c and age[i] >= 30
        housing[i] = OWNER if u[i] < (p_settled if settled else p_other) else RENTER


@njit(cache=True)
def _count_parents(age):
    k = 0
    for i in range(age.size):
        if 22 <= age[i] <= 50:
            k += 1
    return k


@njit(cache=True)
def _children(draw, age, children):
    # children at home for those aged 22-50, at most 4
    for i in range(age.size):
        children[i] = min(draw[i], 4) if 22 <= age[i] <= 50 else 0


EDU_PREMIUM = np.array([0.75, 0.9, 1.1, 1.35, 1.7, 2.0], np.float32)  # assumption ~8%/school year (Mincer)
SECTOR_PREMIUM = np.array([1.0, 0.9, 1.1, 1.4], np.float32)  # assumption


def wage_noise(rng, shape, sd: float) -> np.ndarray:
    """Lognormal wage noise of mean 1 and log-sd ``sd``, float32 of ``shape``."""
    return np.exp(rng.normal(-sd * sd / 2, sd, shape)).astype(np.float32)


def initial_sector_shares(cities) -> np.ndarray:
    """Jobs by sector, (C, 4): manufacturing 28%, public 12%, high tech 4-12% rising
    with universities per resident, services the rest (assumption)."""
    hei = cities["hei_count_2017"].fillna(0).to_numpy(float)
    per_m = hei / (cities["census_population"].to_numpy(float) / 1e6)
    tech = 0.04 + 0.08 * per_m / per_m.max()
    s = np.column_stack([np.full_like(tech, 0.28), 1 - 0.28 - 0.12 - tech, np.full_like(tech, 0.12), tech])
    return s


def initial_migrant_share(cities) -> np.ndarray:
    """Share of working-age residents with hukou elsewhere (assumption: 10%, +10 points in
    provincial capitals and Dalian, +25 in Beijing and Tianjin)."""
    name = cities["name_en"].to_numpy()
    s = np.full(len(cities), 0.10)
    s[np.isin(name, ["Shenyang", "Dalian", "Changchun", "Harbin", "Shijiazhuang"])] += 0.10
    s[np.isin(name, ["Beijing", "Tianjin"])] += 0.25
    return s
