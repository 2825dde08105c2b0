"""Demography: ageing, retirement, deaths, births, school leavers, graduate cohorts.

Agents (working age) are handled by numba kernels over the columns; minors,
students and the retired are city cohorts (``population.Cohorts``).  Every
function returns the persons it moved so the month's accounts balance:
``population_end = start + births - deaths + arrivals - departures``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from .population import (
    INACTIVE,
    RETIREE_AGE0,
    RETIREE_AGES,
    RENTER,
    UNEMPLOYED,
)
from .kernels import NCHUNK
from .metrics import head_row, headcount_arrays, headcount_counts
from .rng import SALT_BIRTH_ORDER, choice, uniform

DEGREE_SHARES = np.array([0.43, 0.48, 0.08, 0.01])  # college, bachelor, master, PhD: MoE 2020 graduates
DEGREE_AGE = np.array([21, 22, 25, 28], np.int8)  # age at graduation (assumption)
MINOR_MORTALITY_YEAR = 0.0004  # under-18 deaths a year (assumption: order of China's 2020 life table)


def annual_mortality(ages: np.ndarray, q30: float, slope: float, male_factor: float, female: bool) -> np.ndarray:
    """Gompertz death probability a year: ``q30 * exp(slope * (age - 30))``, capped at 0.5.

    Children below 16 take a flat ``MINOR_MORTALITY_YEAR`` (assumption); men are ``male_factor``
    times women with the mean fixed (so q30 is the both-sexes rate).
    """
    q = q30 * np.exp(slope * (np.asarray(ages, float) - 30))
    sex = 2 * male_factor / (1 + male_factor) if not female else 2 / (1 + male_factor)
    q = np.minimum(q * sex, 0.5)
    return np.where(np.asarray(ages) < 16, MINOR_MORTALITY_YEAR, q)


def annual_mortality_table(dem) -> np.ndarray:
    """Annual death probability of agents at the unscaled schedule, (128 ages, 2 sexes: 0 man, 1 woman)."""
    a = np.arange(128)
    return np.column_stack([annual_mortality(a, dem.mortality_q30.value, dem.mortality_gompertz_slope.value,
                                             dem.male_mortality_factor.value, bool(f)) for f in (0, 1)])


def monthly_probability(q_year):
    """Monthly probability of an event whose annual probability is ``q_year`` (capped at 0.5)."""
    return 1 - (1 - np.minimum(q_year, 0.5)) ** (1 / 12)


def mortality_table(dem, factor=None) -> np.ndarray:
    """Monthly death probability of agents, (P places, 128 ages, 2 sexes).

    ``factor`` (P,) multiplies each place's annual probabilities (capped at
    0.5); None gives one place at the unscaled schedule.
    """
    f = np.ones(1) if factor is None else np.asarray(factor, float)
    return monthly_probability(annual_mortality_table(dem)[None, :, :] * f[:, None, None])


@njit(parallel=True, cache=True)
def age_sex_counts(city, age, female, C):
    """Agents by simulated city, age and sex, (C, 128, 2) (one pass, fixed chunks)."""
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    out = np.zeros((NCHUNK, C, 128, 2), np.int64)
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c >= 0 and c < C:
                out[ch, c, age[i], female[i]] += 1
    return out.sum(0)


def exposures(counts, cohorts, dem, scale):
    """What the yearly vital rates are scaled against, per city (C,) each:

    women_exposure : births a year per unit of total fertility, ``scale x sum shape(age)`` over women agents;
    expected_deaths : deaths a year at the unscaled schedules (agents, minors, students, retirees).
    """
    women = (counts[:, :, 1] * fertility_shape()[None, :]).sum(1) * scale
    q = annual_mortality_table(dem)
    deaths = (counts * q[None, :, :]).sum((1, 2)) * scale
    deaths = deaths + cohorts.minors.sum(1) * MINOR_MORTALITY_YEAR
    deaths = deaths + cohorts.students.sum((1, 2)) * student_mortality(dem)
    deaths = deaths + (cohorts.retirees * retiree_mortality(dem)[None, :]).sum(1)
    return women, deaths


def fertility_shape() -> np.ndarray:
    """Age schedule of fertility (128,), summing to 1 (assumption): ages 20-44, Gaussian
    around 29 with sd 5 (China's 2020 mean age at birth was about 29)."""
    a = np.arange(128)
    shape = np.where((a >= 20) & (a <= 44), np.exp(-0.5 * ((a - 29) / 5.0) ** 2), 0.0)
    return shape / shape.sum()


def relative_fertility(pyramid: np.ndarray, province, weight: float) -> np.ndarray:
    """Each city's fertility relative to its province's simulated cities (C,), from its census.

    pyramid : (C, 2, 101) persons by sex (1 women) and single year; province : (C,) names;
    weight : exponent (``demography.city_fertility_weight``; 0 gives 1 everywhere).
    The child-woman ratio (children aged 0-4 per woman aged 15-49; a standard indirect
    measure of fertility where births are not recorded by city) over the province's pooled
    ratio, to the power ``weight``.  The provinces record births, not their cities: this
    shares a province's births among its cities as the census saw them born.
    """
    province = np.asarray(province)
    children = pyramid[:, :, 0:5].sum((1, 2))
    women = pyramid[:, 1, 15:50].sum(1)
    rel = np.ones(len(province))
    for p in dict.fromkeys(province):
        c = province == p
        pooled = children[c].sum() / max(women[c].sum(), 1.0)
        if pooled > 0:
            rel[c] = np.where(women[c] > 0, children[c] / np.maximum(women[c], 1.0) / pooled, 1.0)
    return rel ** float(weight)


def fertility_table(tfr: np.ndarray) -> np.ndarray:
    """Monthly births per woman by city and age, shape (C, 128): ``tfr`` (C,) times the
    age schedule (``fertility_shape``), so the sum over ages is ``tfr``."""
    return np.asarray(tfr, float)[:, None] * fertility_shape()[None, :] / 12.0


@njit(inline="always", cache=True)
def death_or_births(i, c, city, age, female, children, mort, fert, none_born, scale, key_death, key_birth, C):
    """Living row ``i`` in place ``c`` this month: dies (``city`` = -1; returns -1) or, a woman in a
    simulated city, gives birth to the returned number of babies (persons; Poisson by inversion
    from one uniform), her ``children`` + 1 with probability births / scale (each agent is ``scale``
    women).  ``none_born`` = ``exp(-scale * fert)``."""
    if uniform(key_death, i) < mort[c, age[i], female[i]]:
        city[i] = -1
        return -1
    # Poisson by inversion from one uniform (lam is small).  Branch-free for men and women alike (sex is
    # random across rows): P(no birth) is 1 for those who cannot give birth, so the draw gives 0.
    a = age[i]
    cc = min(c, C - 1)
    p = none_born[cc, a] if (c < C) & (female[i] == 1) else 1.0
    k = poisson_by_inversion(uniform(key_birth, i), p, scale * fert[cc, a])
    if k > 0:
        count_child(i, k, children, scale, key_birth)
    return k


@njit(inline="always", cache=True)
def poisson_by_inversion(u, p0, lam):
    """A Poisson count of mean ``lam`` (small) from the uniform ``u``: ``p0`` = exp(-lam) is P(0); at most 50."""
    k = 0
    p = p0
    cdf = p0
    while u > cdf and k < 50:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(inline="always", cache=True)
def count_child(i, k, children, scale, key_birth):
    """A mother's ``children`` + 1 with probability births ``k`` / ``scale`` (each agent is ``scale`` women)."""
    if uniform(key_birth ^ SALT_BIRTH_ORDER, i) * scale < k and children[i] < 100:
        children[i] += 1


@njit(parallel=True, cache=True)
def deaths_and_births(city, age, female, children, mort, fert, scale, key_death, key_birth, C):
    """One pass: who dies (row removed: city = -1) and how many babies are born to whom
    (``death_or_births``).

    mort : (C+1, 128, 2) monthly death probability by city (C: the rest of China), age and sex;
    fert : (C, 128) monthly births per woman.
    Returns deaths (C+1,) and births (C,) in persons.
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    dead = np.zeros((NCHUNK, C + 1), np.int64)
    born = np.zeros((NCHUNK, C), np.int64)
    none_born = np.exp(-scale * fert)  # (C, 128) P(no birth) of an agent: once per city and age, not per woman
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c < 0:
                continue
            k = death_or_births(i, c, city, age, female, children, mort, fert, none_born, scale, key_death,
                                key_birth, C)
            if k < 0:
                dead[ch, c] += scale
            elif k > 0:
                born[ch, c] += k
    return dead.sum(0), born.sum(0)


@njit(parallel=True, cache=True)
def deaths_births_headcount(people, mort, fert, scale, key_death, key_birth, C):
    """``deaths_and_births`` and then the headcount of the survivors (``metrics.Headcount``: agents by
    place and status, and by origin), in one pass.

    Rows go by blocks of 64.  First, branch-free over the block, each living row's death draw
    and birth draw (as in ``death_or_births``: the same uniforms and probabilities) give a bit
    for "dies" and one for "gives birth" (the uniform is above P(no birth), so the Poisson count
    by inversion is at least 1; never for those who die).  Then the deaths are made, the births
    counted (``poisson_by_inversion`` from the same uniform, ``count_child``), and the survivors
    counted (``metrics.head_row``).  Each row's draws are keyed by its index and its counts are
    integers, so deaths, births and counts are those of ``deaths_and_births`` followed by a census.
    Returns deaths (C+1,), births (C,) persons, and the headcount's arrays (``metrics.headcount_counts``).
    """
    city, age, female, children = people.city, people.age, people.female, people.children
    status, origin = people.status, people.origin_city
    J = C + 1
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    dead = np.zeros((NCHUNK, C + 1), np.int64)
    born = np.zeros((NCHUNK, C), np.int64)
    none_born = np.exp(-scale * fert)
    by_status, origins = headcount_arrays(C)
    one = np.uint64(1)
    for ch in prange(NCHUNK):
        status_ch, origins_ch = by_status[ch], origins[ch]
        lo = ch * step
        hi = min(n, lo + step)
        for b0 in range(lo, hi, 64):
            e = min(hi, b0 + 64)
            w_dies = np.uint64(0)
            w_gives = np.uint64(0)
            for i in range(b0, e):
                c = city[i]
                a = age[i]
                f = female[i]
                alive = np.uint64(c >= 0)
                dies = alive & np.uint64(uniform(key_death, i) < mort[max(c, 0), a, f])
                cc = min(max(c, 0), C - 1)
                p = none_born[cc, a] if (c < C) & (f == 1) else 1.0
                gives = alive & (one - dies) & np.uint64(uniform(key_birth, i) > p)
                w_dies |= dies << np.uint64(i - b0)
                w_gives |= gives << np.uint64(i - b0)
            while w_dies != 0:
                i = b0 + trailing_zeros(w_dies)
                w_dies &= w_dies - one
                dead[ch, city[i]] += scale
                city[i] = -1
            while w_gives != 0:
                i = b0 + trailing_zeros(w_gives)
                w_gives &= w_gives - one
                c, a = city[i], age[i]
                k = poisson_by_inversion(uniform(key_birth, i), none_born[c, a], scale * fert[c, a])
                born[ch, c] += k
                count_child(i, k, children, scale, key_birth)
            for i in range(b0, e):
                c = city[i]
                if c >= 0:
                    head_row(i, c, J, status, origin, status_ch, origins_ch)
    return dead.sum(0), born.sum(0), headcount_counts(by_status, origins, C)


@njit(parallel=True, cache=True)
def age_one_year(city, age, children, key_child):
    """January: everyone a year older; a child leaves a parent's ``children`` with
    probability 1/18 a year (turns 18)."""
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            if city[i] < 0:
                continue
            if age[i] < 127:
                age[i] += 1
            k = children[i]
            for _ in range(k):
                if uniform(key_child, i * 8 + _) < 1.0 / 18.0:
                    children[i] -= 1


@njit(inline="always")
def retirement_hazard(age, limit, month0):
    """Probability that an agent of whole age ``age`` (counted up each January) retires in
    calendar month ``month0`` (0 = January) under statutory age ``limit`` years.

    Birthdays are spread evenly over the year, so with ``limit = k + d/12`` (d whole
    months, 0 <= d < 12) those counted ``k`` retire in months d..11 and those counted
    ``k + 1`` (born late in the year) in months 0..d-1, evenly: the hazards below
    empty each group by the end of its window, and a cohort's mean age at
    retirement is ``limit``.  Nobody retires in one lump in January.
    """
    k = np.floor(limit)
    d = int(np.round((limit - k) * 12.0))
    if d == 12:
        k += 1.0
        d = 0
    if age > k + 1 or (age == k + 1 and month0 >= d):
        return 1.0
    if age == k + 1:
        return 1.0 / (d - month0)
    if age == k and month0 >= d:
        return 1.0 / (12 - month0)
    return 0.0


@njit(parallel=True, cache=True)
def retire(city, age, female, retire_men, retire_women, month0, C, key):
    """Agents reaching the statutory age this month leave the agents (``retirement_hazard``).

    ``retire_men``, ``retire_women``: statutory ages in years, fractional while the
    2025 reform raises them a month at a time; ``month0``: calendar month, 0 = January.
    Returns retired (C+1, 46) agents by city and retiree age bucket (55..100).
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    out = np.zeros((NCHUNK, C + 1, 46), np.int64)
    hazard = np.empty((2, 128))  # (man, woman) x age: the hazard once per sex and age, not per row
    for a in range(128):
        hazard[0, a] = retirement_hazard(np.int8(a), retire_men, month0)
        hazard[1, a] = retirement_hazard(np.int8(a), retire_women, month0)
    for ch in prange(NCHUNK):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            c = city[i]
            if c < 0:
                continue
            h = hazard[1 if female[i] == 1 else 0, age[i]]
            if h > 0.0 and (h >= 1.0 or uniform(key, i) < h):
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


def cohort_deaths(cohorts, dem, rng, factor=None) -> np.ndarray:
    """Deaths among minors, students and retirees this month (binomial per cell), persons (C,).

    ``factor`` (C,) scales the annual death probabilities of each city (the
    province's year, ``VitalRates``); None is 1.
    """
    C = cohorts.minors.shape[0]
    f = np.ones(C) if factor is None else np.asarray(factor, float)
    dm = rng.binomial(cohorts.minors, monthly_probability(MINOR_MORTALITY_YEAR * f)[:, None])
    ds = rng.binomial(cohorts.students, monthly_probability(student_mortality(dem) * f)[:, None, None])
    dr = rng.binomial(cohorts.retirees, monthly_probability(retiree_mortality(dem)[None, :] * f[:, None]))
    cohorts.minors -= dm
    cohorts.students -= ds
    cohorts.retirees -= dr
    return dm.sum(1) + ds.sum((1, 2)) + dr.sum(1)


def mean_inactive_share(dem) -> float:
    """Share of new labour-market entrants (school leavers, graduates) out of the labour force:
    the mean of the women's and men's shares (entrants are half women)."""
    return 0.5 * (dem.inactive_share_women.value + dem.inactive_share_men.value)


def student_mortality(dem) -> float:
    """Annual death probability of a university student (age 20, both sexes)."""
    return float(annual_mortality_table(dem)[20].mean())


def retiree_mortality(dem) -> np.ndarray:
    """Annual death probability of the retired by age bucket 55..100, both sexes (46,)."""
    return annual_mortality_table(dem)[RETIREE_AGE0:RETIREE_AGE0 + RETIREE_AGES].mean(1)


def application_weights(provinces: np.ndarray, seats: np.ndarray, dem) -> np.ndarray:
    """Where a simulated city's university entrants apply: (C origin, C university), rows sum to 1.

    In proportion to the universities' seats, times ``study_home_city_weight``
    x 10 for the home city, ``study_home_province_weight`` for the rest of the
    home province and the remainder for other provinces (provincial admission
    quotas favour home-province applicants; the weights are assumptions).
    """
    C = seats.size
    same_prov = provinces[:, None] == provinces[None, :]
    home, prov_w = dem.study_home_city_weight.value, dem.study_home_province_weight.value
    w = seats[None, :] * np.where(same_prov, prov_w, 1 - prov_w - home)
    w[np.arange(C), np.arange(C)] += seats * home * 10
    tot = w.sum(1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.0)


def university_seats(graduates_per_year: np.ndarray, intake_index: float = 1.0) -> np.ndarray:
    """First-year places of each city's universities this year, persons (C,).

    The 2020 intake is taken equal to the city's graduates a year (a stock of
    four year-groups of that size is stationary), times ``intake_index``: the
    national graduates of the year relative to 2020 where the record has them
    (configs/history/higher_education.csv), else ``university_intake_growth_year``
    compounded from 2020 (``MigrationModel._intake_index``).  Places are planned
    quotas (招生计划) filled every year: the seats the simulated cities' school
    leavers do not take are filled from outside (``admit_students``).
    """
    return np.floor(np.asarray(graduates_per_year, float) * intake_index).astype(np.int64)


def admit_students(applications: np.ndarray, seats: np.ndarray, rng=None):
    """Fill each university's seats: applicants from the simulated cities first, then outsiders.

    applications : (C origin, C university) persons applying;  seats : (C,) places.
    Where applicants exceed the places, a random subset is admitted (all
    applicants equal; with ``rng=None`` the expected shares, for the initial
    stock).  Returns admitted (C, C) persons [origin, university], rejected
    (C,) persons by origin, and from_outside (C,) persons by university: the
    boundary flow of students recruited outside the simulated cities (the rest
    of China and the parts of each province that are not simulated).
    """
    applications = np.asarray(applications, np.int64)
    C = seats.size
    admitted = np.zeros_like(applications)
    for u in range(C):
        col = applications[:, u]
        tot = int(col.sum())
        if tot <= seats[u]:
            admitted[:, u] = col
        elif rng is None:
            admitted[:, u] = np.floor(col * (seats[u] / tot)).astype(np.int64)
        else:
            admitted[:, u] = rng.multivariate_hypergeometric(col, int(seats[u]))
    rejected = applications.sum(1) - admitted.sum(1)
    from_outside = np.maximum(seats - admitted.sum(0), 0)
    return admitted, rejected, from_outside


def school_leavers(cohorts, cities_province, dem, scale, rng, seats):
    """September: the 18-year-olds leave school.

    A share ``tertiary_entry_rate`` enrol at a university: a share
    ``study_rest_of_china_share`` of them outside the simulated cities, the
    others apply to the simulated universities (``application_weights``) and
    take up to their ``seats``; rejected applicants study outside too.  The
    places left are filled from outside (origin index C of ``students``).
    The others enter the labour force as agents in their home city.  Whole
    agents only: a remainder of fewer than ``scale`` persons waits in bucket
    18 for next year.

    Returns
    -------
    study_moves : (C, C) persons, [origin, university city] (diagonal: stayed home)
    to_roc : (C,) persons leaving to study in the rest of China (become emigrant agents)
    new_workers : (C,) agents entering the labour force
    roc_agents : (C,) agents studying in the rest of China, by home city
    from_outside : (C,) persons arriving from outside to study, by university city
    """
    C = cohorts.minors.shape[0]
    leavers = cohorts.minors[:, 18].copy()
    uni = rng.binomial(leavers, dem.tertiary_entry_rate.value)
    away = rng.binomial(uni, dem.study_rest_of_china_share.value)
    w = application_weights(cities_province, seats.astype(float), dem)
    applications = np.zeros((C, C), np.int64)
    for o in range(C):
        if uni[o] - away[o] > 0 and w[o].sum() > 0:
            applications[o] = rng.multinomial(uni[o] - away[o], w[o])
    admitted, rejected, from_outside = admit_students(applications, seats, rng)
    away = away + (uni - away - applications.sum(1)) + rejected  # no seat in a simulated city: study away
    roc_agents = away // scale
    workers = leavers - admitted.sum(1) - roc_agents * scale  # the remainder of `away` works at home
    cohorts.students[:, :C, 3] += admitted.T
    cohorts.students[:, C, 3] += from_outside
    new_agents = workers // scale
    cohorts.minors[:, 18] = workers - new_agents * scale
    return admitted, roc_agents * scale, new_agents, roc_agents, from_outside


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


def graduate_cohort(cohorts, scale, rng, month: int, inactive_share: float = 0.0):
    """July: the final-year students graduate and become agents in their university city.

    Degrees follow the 2020 national mix of graduates (``DEGREE_SHARES``);
    ages by degree; hukou and origin = the student's home city (C: outside the
    simulated cities).  Whole agents only: each university graduates
    ``final // scale`` agents; an origin with fewer than ``scale`` persons
    left shares agents with the others (each such agent takes the origin of
    one of its persons, drawn by size), so fewer than ``scale`` persons per
    university wait for next year.  A share ``inactive_share`` stays out of the
    labour force, as in the initial population and among school leavers (so
    participation holds still).  Returns the agent columns and persons
    graduating per university city (C,).
    """
    final = cohorts.students[:, :, 0]
    agents = final // scale
    rest = final - agents * scale
    for u in range(final.shape[0]):
        extra = int(rest[u].sum()) // scale
        if extra:
            agents[u] += rng.multinomial(extra, rest[u] / rest[u].sum())
            rest[u] -= rng.multivariate_hypergeometric(rest[u], extra * scale)
    cohorts.students[:, :, 0] = rest
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
    degree = choice(rng, DEGREE_SHARES, n)
    cols = dict(
        age=DEGREE_AGE[degree], female=(rng.random(n) < 0.5).astype(np.int8),
        education=(2 + degree).astype(np.int8),
        status=np.where(rng.random(n) < inactive_share, INACTIVE, UNEMPLOYED).astype(np.int8),
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
