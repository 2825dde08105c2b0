"""Labour market: jobs, separations, search and matching, wages.

Jobs are counted per city and sector (persons).  Each month:

* jobs follow a sector trend times a city shock (AR(1) in logs), the
  tradable sectors (manufacturing, high tech) also the city's recorded GDP
  growth against its province's (``output_trend``), and the local sectors
  (services, public) follow the resident population;
* jobs follow people (``post_vacancies``): posts open where unemployment is
  above its 2020 rate and close where it is below, so the labour market
  closes: after an inflow or a shock unemployment returns to its 2020 level;
* the employed separate at ``separation_rate_month``, plus lay-offs where a
  city-sector has more workers than jobs;
* job-seekers meet vacancies through a Cobb-Douglas matching function per city,
  ``M = mu_c * U**a * V**(1-a)``, capped so that hires never exceed either the
  seekers or the vacancies (``matches``);
* the city wage level moves with tightness ``V/U`` against its initial value,
  above a minimum-wage floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from .population import EDU_PREMIUM, RENTER, SECTOR_PREMIUM, UNEMPLOYED
from .kernels import NCHUNK, rows_of_bits, selection_bits
from .rng import SALT_HIRE_OFFER, SALT_NOISE_PAIR, SALT_OJS_OFFER, uniform

@dataclass
class LabourMarket:
    """The labour markets of the C cities (model state; ``MigrationModel.labour_market``)."""

    jobs: np.ndarray = None                  # (C, 4) posts by sector, persons
    job_shock: np.ndarray = None             # (C,) log deviation of jobs from their trend (AR(1))
    wage_level: np.ndarray = None            # (C,) the city's wage level, CNY a month
    wage_growth: np.ndarray = None           # (C,) this year's wage growth (the record, else the scenario's)
    normal_unemployment: np.ndarray = None   # (C,) the rate firms return unemployment to
    mu: np.ndarray = None                    # (C,) matching efficiency
    tight0: np.ndarray = None                # (C,) vacancies per unemployed at the start (the wage reference)
    job_finding: np.ndarray = None           # (C,) last month's job-finding rate of seekers
    statutory_min_wage: np.ndarray = None    # (C,) the record's minimum wage, CNY a month
    min_wage: np.ndarray = None              # (C,) the minimum wage in force (cards may raise it)
    jobs_population: np.ndarray = None       # (C,) residents that local jobs last followed, persons
    output_trend: np.ndarray = None          # (C,) this year's monthly log change of tradable jobs from GDP


SECTOR_MIN_EDUCATION = np.array([0, 0, 2, 3], np.int8)  # public: college, high tech: bachelor
SECTOR_MIN_EDUCATION_NB = SECTOR_MIN_EDUCATION.astype(np.int64)
EDU_PREMIUM_NB = EDU_PREMIUM.astype(np.float64)


@njit(inline="always", cache=True)
def qualifies(education, sector):
    """Can a person of this education code work in this sector (public: college, high tech: bachelor)?"""
    return education >= SECTOR_MIN_EDUCATION_NB[sector]


@njit(inline="always", cache=True)
def draw_sector(vacancies, c, education, u):
    """The hiring rule's draw: a sector of city ``c`` in proportion to the posts (whole vacancies,
    ``vacancies[c, s] >= 1`` agents) a person of ``education`` qualifies for, with the uniform
    ``u``; -1 if there is none."""
    tot = 0.0
    for s in range(4):
        if qualifies(education, s) and vacancies[c, s] >= 1.0:
            tot += vacancies[c, s]
    if tot < 1.0:
        return -1
    x = u * tot
    acc = 0.0
    last = -1
    for s in range(4):
        if qualifies(education, s) and vacancies[c, s] >= 1.0:
            acc += vacancies[c, s]
            last = s
            if x < acc:
                return s
    return last


@njit(inline="always", cache=True)
def hire(i, c, s, status, wage, education, vacancies, sector_wage, min_wage, noise):
    """Person ``i`` takes a post of sector ``s`` in city ``c``: the post comes off ``vacancies``, and
    the wage is the offer (the sector's wage level x the education premium x ``noise``), at
    least the city's minimum wage."""
    vacancies[c, s] -= 1.0
    status[i] = s
    wage[i] = max(sector_wage[c, s] * EDU_PREMIUM_NB[education[i]] * noise, min_wage[c])


@njit(inline="always", cache=True)
def relocate(i, d, city, months_in_city, housing):
    """Person ``i`` moves to place ``d``: a newcomer there, and a renter (an owner sells)."""
    city[i] = d
    months_in_city[i] = 0
    if housing[i] != RENTER:
        housing[i] = RENTER


@njit(inline="always", cache=True)
def offer_noise(key, i):
    """Lognormal factor of a wage offer (sd 0.3, mean 1) for row ``i``, from two uniforms (Box-Muller)."""
    u1 = max(uniform(key, i), 1e-12)
    u2 = uniform(key ^ SALT_NOISE_PAIR, i)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)
    return np.exp(0.3 * z - 0.045)


def job_trends(lab) -> np.ndarray:
    """Monthly log trend of jobs by sector, (4,)."""
    yearly = np.array([lab.job_trend_manufacturing_year.value, lab.job_trend_services_year.value,
                       lab.job_trend_public_year.value, lab.job_trend_hightech_year.value])
    return np.log1p(yearly) / 12.0


TRADABLE_SECTORS = np.array([0, 3])  # manufacturing and high tech: they sell beyond the city


def output_trend(gdp, gdp_before, province, elasticity):
    """Monthly log change (C,) of a city's tradable jobs from its recorded output:
    ``elasticity * (g_c - g_P) / 12``, where ``g_c = log(Y_c / Y_c_before)`` is the city's
    GDP growth of the year and ``g_P`` the same for the sum of its province's cities in the
    scenario.

    Against its own province, because the record's level breaks are provincial (Liaoning's
    2016-2017 restatement, the 2018 economic census): they cancel as far as they hit the
    province's cities alike, while a city that grows
    apart from its neighbours (Benxi's steel, Panjin's oil and chemicals) gains or loses
    export jobs.  A province with one city in the scenario gets 0; the province's own path is
    in its amenity and wages.  GDP-weighted, the cities of a province sum to about 0.

    gdp, gdp_before : (C,) 100 M CNY at current prices (deflators cancel in the difference);
    province : (C,) labels; elasticity : jobs' elasticity to output (``labour.job_output_elasticity``).
    """
    gdp, gdp_before = np.asarray(gdp, float), np.asarray(gdp_before, float)
    _, p = np.unique(np.asarray(province), return_inverse=True)
    g_province = np.log(np.bincount(p, gdp) / np.bincount(p, gdp_before))
    return elasticity * (np.log(gdp / gdp_before) - g_province[p]) / 12.0


def update_jobs(jobs, shock, lab, rng, output=None):
    """Jobs (C, 4) persons follow the sector trend times ``exp(shock_c)``, and the tradable
    sectors also ``exp(output_c)`` (``output_trend``, (C,) log a month; None: none).

    ``shock`` (C,) is the city's log deviation from trend, AR(1):
    ``shock' = rho * shock + eps``, ``eps ~ N(0, sd)``; jobs change by the
    trend plus the change of the shock.
    """
    eps = rng.normal(0.0, lab.job_shock_sd_month.value, shock.shape)
    new = lab.job_shock_persistence.value * shock + eps
    change = job_trends(lab)[None, :] + (new - shock)[:, None]
    if output is not None:
        change[:, TRADABLE_SECTORS] += output[:, None]
    jobs *= np.exp(change)
    shock[:] = new
    return jobs


LOCAL_SECTORS = np.array([1, 2])  # services and public: they serve the residents (non-tradable)


def follow_population(jobs, population, population_before, elasticity):
    """Local demand: jobs in services and public (C, 2 of 4 columns) scale with the
    resident population, ``(pop / pop_before) ** elasticity``, so in-migration
    brings the demand for the shops, schools and clinics that serve the newcomers.

    jobs : (C, 4) persons, changed in place;  population, population_before : (C,) persons.
    """
    ratio = np.where(population_before > 0, population / np.maximum(population_before, 1.0), 1.0)
    jobs[:, LOCAL_SECTORS] *= ratio[:, None] ** elasticity
    return jobs


def post_vacancies(jobs, employed, unemployed, normal_rate, rate):
    """Jobs follow people: firms open posts where unemployment is above its normal rate
    and close vacant posts where it is below, ``rate`` of the gap a month.

    The gap is ``unemployed - normal_rate x labour force`` (persons): a pool of
    idle workers draws new firms and branches (cheap, available labour), a
    labour market tighter than normal loses the posts it cannot fill.  New
    posts are split over sectors like the city's jobs, closed ones like its
    vacancies.  In a steady state (unemployment at its normal rate) nothing
    changes; after an inflow or a shock unemployment returns to normal with
    a half-life of about ``log 2 / rate`` months plus the matching lag.

    jobs, employed : (C, 4) persons (jobs changed in place);  unemployed : (C,) persons;
    normal_rate : (C,) unemployment rate the city returns to (its 2020 rate).
    """
    vac = np.maximum(jobs - employed, 0.0)
    labour_force = employed.sum(1) + unemployed
    gap = rate * (unemployed - normal_rate * labour_force)
    gap = np.maximum(gap, -vac.sum(1))  # close vacant posts only
    tot_jobs = np.maximum(jobs.sum(1, keepdims=True), 1e-12)
    tot_vac = np.maximum(vac.sum(1, keepdims=True), 1e-12)
    share = np.where(gap[:, None] > 0, jobs / tot_jobs, vac / tot_vac)
    jobs += gap[:, None] * share
    return jobs


def matches(mu, seekers, vacancies, alpha):
    """Hires this month by the matching function, never above seekers or vacancies.

    Parameters
    ----------
    mu : (C,) matching efficiency; seekers, vacancies : (C,) counts (any unit)
    alpha : elasticity of matches with respect to seekers
    """
    seekers = np.maximum(np.asarray(seekers, float), 0)
    vacancies = np.maximum(np.asarray(vacancies, float), 0)
    m = mu * seekers**alpha * vacancies ** (1 - alpha)
    return np.minimum(m, np.minimum(seekers, vacancies))


def calibrate_matching_efficiency(sep_rate, employed, seekers, vacancies, alpha):
    """mu_c that makes the initial state a steady state: hires = separations."""
    denom = np.maximum(seekers, 1e-9) ** alpha * np.maximum(vacancies, 1e-9) ** (1 - alpha)
    return sep_rate * employed / denom


@njit(parallel=True, cache=True)
def separate(city, status, wage, education, layoff, sep_rate, ojs_rate, sector_wage, C, key_sep, key_ojs):
    """Separations and on-the-job search within the city, in one pass.

    layoff : (C, 4) extra separation probability where workers exceed jobs.
    sector_wage : (C, 4) offer level (city wage level x sector premium), CNY/month;
    an offer is that times the education premium times lognormal noise (sd 0.3).
    An employed person searching on the job takes a new offer in the same city
    if it pays more.  Returns separations (C, 4) in agents.

    Rows go by blocks of 64: each row's two draws are tested branch-free (the rates are 0 for
    those not employed in a simulated city; employment is random across rows, so a branch on
    it mispredicts) into a bit each, then the separations and offers are made for the bits set.
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    out = np.zeros((NCHUNK, C, 4), np.int64)
    one = np.uint64(1)
    for ch in prange(NCHUNK):
        lo = ch * step
        hi = min(n, lo + step)
        for b0 in range(lo, hi, 64):
            w_sep = np.uint64(0)
            w_ojs = np.uint64(0)
            for i in range(b0, min(hi, b0 + 64)):
                c = city[i]
                s = status[i]
                ok = (c >= 0) & (c < C) & (s >= 0)
                sep = np.uint64(uniform(key_sep, i) < (sep_rate + layoff[min(max(c, 0), C - 1), max(s, 0)]) * ok)
                ojs = np.uint64(uniform(key_ojs, i) < ojs_rate * ok) & (one - sep)  # searches if not separated
                w_sep |= sep << np.uint64(i - b0)
                w_ojs |= ojs << np.uint64(i - b0)
            while w_sep != 0:
                i = b0 + trailing_zeros(w_sep)
                w_sep &= w_sep - one
                out[ch, city[i], status[i]] += 1
                status[i] = UNEMPLOYED
                wage[i] = 0.0
            while w_ojs != 0:
                i = b0 + trailing_zeros(w_ojs)
                w_ojs &= w_ojs - one
                c, s = city[i], status[i]
                offer = sector_wage[c, s] * EDU_PREMIUM_NB[education[i]] * offer_noise(key_ojs ^ SALT_OJS_OFFER, i)
                if offer > wage[i]:
                    wage[i] = offer
    return out.sum(0)


@njit(parallel=True, cache=True)
def select_seekers(city, status, p_city, C, key):
    """Rows of unemployed agents in simulated cities who meet a vacancy this month.

    Each seeker in city c is drawn with probability ``p_city[c]`` (= expected
    matches / seekers); the sectors are assigned by ``assign_jobs`` which caps
    hires at the vacancies.  One pass, a bit per row (``kernels.selection_bits``).
    """
    n = city.size
    bits, counts, step, words = selection_bits(n, 1)
    for ch in prange(NCHUNK):
        k = 0
        lo = ch * step
        hi = min(n, lo + step)
        for wi in range(words):
            s = lo + wi * 64
            e = min(hi, s + 64)
            w = np.uint64(0)
            for i in range(s, e):
                c = city[i]
                # branch-free: the probability is 0 for those who are not unemployed in a simulated city
                p = p_city[min(max(c, 0), C - 1)] * ((c >= 0) & (c < C) & (status[i] == -1))
                hit = uniform(key, i) < p
                w |= np.uint64(hit) << np.uint64(i - s)
                k += hit
            bits[0, ch * words + wi] = w
        counts[0, ch] = k
    return rows_of_bits(bits[0], counts[0], step, words)


@njit(cache=True)
def assign_jobs(rows, city, status, wage, education, vacancies, sector_wage, min_wage, key):
    """Give each selected seeker a job in their city, by the hiring rule (``draw_sector``:
    a sector in proportion to the posts they qualify for; ``hire``: the offer, at least the
    minimum wage), in row order.  ``vacancies`` (C, 4, agents) loses the posts taken, so hires
    never exceed vacancies.  Returns hires (C, 4) in agents.
    """
    C = vacancies.shape[0]
    hires = np.zeros((C, 4), np.int64)
    for t in range(rows.size):
        i = rows[t]
        c = city[i]
        s = draw_sector(vacancies, c, education[i], uniform(key, i))
        if s < 0:
            continue
        hire(i, c, s, status, wage, education, vacancies, sector_wage, min_wage, offer_noise(key ^ SALT_HIRE_OFFER, i))
        hires[c, s] += 1
    return hires


@njit(inline="always", cache=True)
def index_wage(i, c, status, wage, months_in_city, factor, floor, C):
    """Month end for a living row ``i`` in place ``c``: an incumbent's wage follows the city's wage
    level (``wage *= factor[c]``, floored) and ``months_in_city`` grows by one."""
    m = months_in_city[i]
    months_in_city[i] = m + (m < 32000)
    # branch-free (employment is random across rows): the wage is written back unchanged otherwise
    k = min(c, C - 1)
    w = wage[i]
    wage[i] = max(w * factor[k], floor[k]) if (c < C) & (status[i] >= 0) else w


@njit(parallel=True, cache=True)
def index_wages(city, status, wage, months_in_city, factor, floor, C):
    """Month end, one pass: ``index_wage`` for every living row (``metrics.census`` does the
    same in the month-end census's pass)."""
    n = city.size
    for i in prange(n):
        c = city[i]
        if c < 0:
            continue
        index_wage(i, c, status, wage, months_in_city, factor, floor, C)


def wage_level_update(level, tight, tight0, growth, lab, min_wage):
    """New city wage level (C,) CNY/month: trend growth times tightness response.

    ``level * (1+g)^(1/12) * exp(phi * clip(log(tight/tight0), -1, 1) / 12)``:
    ``growth`` g (C,) or scalar, a year, is the recorded wage growth of the year
    (configs/history/city_wages.csv) or, after the record, ``wage_growth_year``;
    wages grow faster than that while the market is tighter than at the start,
    by at most ``phi`` a year, and the level stays above the minimum wage.
    """
    ratio = np.where(tight0 > 0, tight / np.maximum(tight0, 1e-12), 1.0)
    gap = np.clip(np.log(np.maximum(ratio, 1e-12)), -1.0, 1.0)
    new = level * (1 + np.asarray(growth, float)) ** (1 / 12) * np.exp(lab.wage_tightness_elasticity_year.value * gap / 12)
    return np.maximum(new, min_wage)


def sector_wage_levels(level) -> np.ndarray:
    """Offer level by city and sector (C, 4), before the education premium."""
    return level[:, None] * SECTOR_PREMIUM[None, :].astype(np.float64)
