"""Demography: ageing, retirement, deaths, births, school leavers, graduate cohorts.

Agents (working age) are handled by numba kernels over the columns; minors,
students and the retired are city cohorts (``population.Cohorts``).  Every
function returns the persons it moved so the month's accounts balance:
``population_end = start + births - deaths + arrivals - departures``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .population import (
    EDUCATION,
    INACTIVE,
    MINOR_AGES,
    RETIREE_AGE0,
    RETIREE_AGES,
    RENTER,
    UNEMPLOYED,
)
from .kernels import NCHUNK
from .rng import uniform

DEGREE_SHARES = np.array([0.43, 0.48, 0.08, 0.01])  # college, bachelor, master, PhD: MoE 2020 graduates
DEGREE_AGE = np.array([21, 22, 25, 28], np.int8)  # age at graduation (assumption)


def annual_mortality(ages: np.ndarray, q30: float, slope: float, male_factor: float, female: bool) -> np.ndarray:
    """Gompertz death probability a year: ``q30 * exp(slope * (age - 30))``, capped at 0.5.

    Children below 16 take a flat 0.0004 (assumption); men are ``male_factor``
    times women with the mean fixed (so q30 is the both-sexes rate).
    """
    q = q30 * np.exp(slope * (np.asarray(ages, float) - 30))
    sex = 2 * male_factor / (1 + male_factor) if not female else 2 / (1 + male_factor)
    q = np.minimum(q * sex, 0.5)
    return np.where(np.asarray(ages) < 16, 0.0004, q)


def mortality_table(dem) -> np.ndarray:
    """Monthly death probability of agents, shape (128 ages, 2 sexes: 0 man, 1 woman)."""
    a = np.arange(128)
    t = np.empty((128, 2))
    for f in (0, 1):
        t[:, f] = 1 - (1 - annual_mortality(a, dem.mortality_q30.value, dem.mortality_gompertz_slope.value,
                                            dem.male_mortality_factor.value, bool(f))) ** (1 / 12)
    return t


def fertility_table(tfr: np.ndarray) -> np.ndarray:
    """Monthly births per woman by province-of-city and age, shape (C, 128).

    The age schedule (assumption): ages 20-44, peaking at 27-31, scaled so the
    sum over ages is the city's province TFR.
    """
    a = np.arange(128)
    shape = np.where((a >= 20) & (a <= 44), np.exp(-0.5 * ((a - 29) / 5.0) ** 2), 0.0)
    shape /= shape.sum()
    return np.asarray(tfr, float)[:, None] * shape[None, :] / 12.0


@njit(parallel=True, cache=True)
def deaths_and_births(city, age, female, children, mort, fert, scale, key_death, key_birth, C):
    """One pass: who dies (row removed: city = -1) and how many babies are born to whom.

    mort : (128, 2) monthly death probability; fert : (C, 128) monthly births per woman.
    Returns deaths (C+1,) and births (C,) in persons; a mother's ``children``
    grows by one with probability births / scale (each agent is ``scale`` women).
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    dead = np.zeros((NCHUNK, C + 1), np.int64)
    born = np.zeros((NCHUNK, C), np.int64)
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c < 0:
                continue
            if uniform(key_death, i) < mort[age[i], female[i]]:
                dead[ch, c] += scale
                city[i] = -1
                continue
            if c < C and female[i] == 1:
                lam = scale * fert[c, age[i]]
                if lam > 0.0:
                    # Poisson by inversion from one uniform (lam is small)
                    u = uniform(key_birth, i)
                    k = 0
                    p = np.exp(-lam)
                    cdf = p
                    while u > cdf and k < 50:
                        k += 1
                        p *= lam / k
                        cdf += p
                    if k > 0:
                        born[ch, c] += k
                        if uniform(key_birth ^ np.uint64(0x5BD1E995), i) * scale < k and children[i] < 100:
                            children[i] += 1
    return dead.sum(0), born.sum(0)


@njit(parallel=True, cache=True)
def age_and_retire(city, age, female, children, retire_men, retire_women, C, key_child):
    """January: everyone a year older; those at retirement age leave the agents.

    Returns retired (C+1, 46) agents by city and retiree age bucket (55..100).
    A child leaves a parent's ``children`` with probability 1/18 a year (turns 18).
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    out = np.zeros((NCHUNK, C + 1, 46), np.int64)
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c < 0:
                continue
            if age[i] < 127:
                age[i] += 1
            k = children[i]
            for _ in range(k):
                if uniform(key_child, i * 8 + _) < 1.0 / 18.0:
                    children[i] -= 1
            limit = retire_women if female[i] == 1 else retire_men
            if age[i] >= limit:
                b = min(max(age[i] - 55, 0), 45)
                out[ch, c, b] += 1
                city[i] = -1
    return out.sum(0)


def age_cohorts(cohorts) -> None:
    """January: minors and retirees move up one year; bucket 18 keeps unplaced leavers."""
    m = cohorts.minors
    m[:, 18] += m[:, 17]
    m[:, 1:18] = m[:, 0:17].copy()
    m[:, 0] = 0
    r = cohorts.retirees
    r[:, 45] += r[:, 44]
    r[:, 1:45] = r[:, 0:44].copy()
    r[:, 0] = 0


def cohort_deaths(cohorts, dem, rng) -> np.ndarray:
    """Deaths among minors and retirees this month (binomial per cell), persons (C,)."""
    m_q = 1 - (1 - 0.0004) ** (1 / 12)
    dm = rng.binomial(cohorts.minors, m_q)
    ages = RETIREE_AGE0 + np.arange(RETIREE_AGES)
    q = 1 - (1 - 0.5 * (annual_mortality(ages, dem.mortality_q30.value, dem.mortality_gompertz_slope.value,
                                         dem.male_mortality_factor.value, False)
                        + annual_mortality(ages, dem.mortality_q30.value, dem.mortality_gompertz_slope.value,
                                           dem.male_mortality_factor.value, True))) ** (1 / 12)
    dr = rng.binomial(cohorts.retirees, q[None, :])
    cohorts.minors -= dm
    cohorts.retirees -= dr
    return dm.sum(1) + dr.sum(1)


def school_leavers(cohorts, cities_province, dem, scale, rng, uni_capacity):
    """September: the 18-year-olds leave school.

    A share ``tertiary_entry_rate`` enrol at a university: in a simulated city
    (by capacity, favouring the home city and province) or in the rest of China
    (``study_rest_of_china_share``); the others enter the labour force as
    agents in their home city.  Whole agents only: a remainder of fewer than
    ``scale`` persons waits in bucket 18 for next year.

    Returns
    -------
    study_moves : (C, C) persons, [origin, university city] (diagonal: stayed home)
    to_roc : (C,) persons leaving to study in the rest of China (become emigrant agents)
    new_workers : (C,) agents entering the labour force
    """
    C = cohorts.minors.shape[0]
    leavers = cohorts.minors[:, 18].copy()
    uni = rng.binomial(leavers, dem.tertiary_entry_rate.value)
    roc = rng.binomial(uni, dem.study_rest_of_china_share.value)
    roc_agents = roc // scale
    roc = roc_agents * scale
    domestic = uni - roc
    same_prov = cities_province[:, None] == cities_province[None, :]
    w = uni_capacity[None, :] * np.where(same_prov, dem.study_home_province_weight.value, 1 - dem.study_home_province_weight.value - dem.study_home_city_weight.value)
    w[np.arange(C), np.arange(C)] += uni_capacity * dem.study_home_city_weight.value * 10
    w /= w.sum(1, keepdims=True)
    study = np.zeros((C, C), np.int64)
    for o in range(C):
        if domestic[o] > 0:
            study[o] = rng.multinomial(domestic[o], w[o])
    cohorts.students[:, :, 3] += study.T
    workers = leavers - uni
    new_agents = workers // scale
    cohorts.minors[:, 18] = workers - new_agents * scale
    return study, roc, new_agents, roc_agents


def new_school_leaver_agents(counts: np.ndarray, city_value: np.ndarray, origin: np.ndarray, education_high_share: float,
                             inactive_share: float, rng, month: int, education: int | None = None):
    """Columns for ``counts[i]`` new agents aged 18 placed in ``city_value[i]`` (origin ``origin[i]``)."""
    n = int(counts.sum())
    city = np.repeat(city_value, counts).astype(np.int16)
    orig = np.repeat(origin, counts).astype(np.int16)
    female = (rng.random(n) < 0.5).astype(np.int8)
    if education is None:
        edu = (rng.random(n) < education_high_share).astype(np.int8)
    else:
        edu = np.full(n, education, np.int8)
    status = np.where(rng.random(n) < inactive_share, INACTIVE, UNEMPLOYED).astype(np.int8)
    return dict(age=np.full(n, 18, np.int8), female=female, education=edu, status=status,
                housing=np.full(n, RENTER, np.int8), city=city, hukou_city=orig, origin_city=orig,
                months_in_city=np.zeros(n, np.int16))


def graduate_cohort(cohorts, scale, rng, month: int):
    """July: the final-year students graduate and become agents in their university city.

    Degrees follow the 2020 national mix of graduates (``DEGREE_SHARES``);
    ages by degree; hukou and origin = the student's home city.  Whole agents
    only: a remainder of fewer than ``scale`` persons per (university, origin)
    graduates next year.  Returns the agent columns and persons graduating per
    university city (C,).
    """
    final = cohorts.students[:, :, 0]
    agents = final // scale
    cohorts.students[:, :, 0] = final - agents * scale
    # the others move up a year; leftovers stay in the final year
    s = cohorts.students
    s[:, :, 0] += s[:, :, 1]
    s[:, :, 1] = s[:, :, 2]
    s[:, :, 2] = s[:, :, 3]
    s[:, :, 3] = 0
    C = final.shape[0]
    uni, orig = np.nonzero(agents)
    counts = agents[uni, orig]
    n = int(counts.sum())
    degree = rng.choice(4, size=n, p=DEGREE_SHARES)
    cols = dict(
        age=DEGREE_AGE[degree], female=(rng.random(n) < 0.5).astype(np.int8),
        education=(2 + degree).astype(np.int8), status=np.full(n, UNEMPLOYED, np.int8),
        housing=np.full(n, RENTER, np.int8), city=np.repeat(uni, counts).astype(np.int16),
        hukou_city=np.repeat(orig, counts).astype(np.int16), origin_city=np.repeat(orig, counts).astype(np.int16),
        months_in_city=np.full(n, 48, np.int16), grad_month=np.full(n, month, np.int16),
        uni_city=np.repeat(uni, counts).astype(np.int16),
    )
    grads = np.bincount(cols["uni_city"], minlength=C) * scale
    return cols, grads


def transfer_children(minors: np.ndarray, kids_od: np.ndarray) -> np.ndarray:
    """Move children between cities' minor cohorts with their parents.

    kids_od : (C+1, C+1) persons requested, [from, to]; index C is the rest of
    China, whose children are not counted in any cohort (they appear or vanish
    there).  Each move takes ages in proportion to the origin's age profile and
    never more than the origin has.  Returns the persons actually moved (C+1, C+1).
    """
    C = minors.shape[0]
    moved = np.zeros_like(kids_od)
    for o, d in zip(*np.nonzero(kids_od)):
        want = int(kids_od[o, d])
        if o < C:
            avail = minors[o, :18]
            tot = int(avail.sum())
            take_n = min(want, tot)
            if take_n == 0:
                continue
            take = np.floor(avail * (take_n / tot)).astype(np.int64)
            rest = take_n - int(take.sum())
            order = np.argsort(-(avail * (take_n / tot) - take), kind="stable")
            take[order[:rest]] += 1
            take = np.minimum(take, avail)
            minors[o, :18] -= take
        else:
            take = np.full(18, want // 18, np.int64)
            take[: want - 18 * (want // 18)] += 1
        if d < C:
            minors[d, :18] += take
        moved[o, d] = int(take.sum())
    return moved
