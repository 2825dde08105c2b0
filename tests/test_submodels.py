"""Submodels one by one: matching, wages, rents, demography, the column store, the RNG."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from migrants import demography, housing, labour
from migrants.config import load_scenario
from migrants.population import Population
from migrants.rng import choice, stream_key, uniforms

SC = load_scenario("baseline")

counts = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=8)


@given(counts, counts, st.floats(0.01, 5), st.floats(0.05, 0.95))
def test_matches_never_exceed_seekers_or_vacancies(u, v, mu, alpha):
    n = min(len(u), len(v))
    u, v = np.array(u[:n]), np.array(v[:n])
    m = labour.matches(np.full(n, mu), u, v, alpha)
    assert np.all(m <= u + 1e-9) and np.all(m <= v + 1e-9) and np.all(m >= 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 400), st.lists(st.integers(0, 30), min_size=4, max_size=4))
def test_assign_jobs_respects_vacancies_and_education(seed, n, vac):
    rng = np.random.default_rng(seed)
    C = 2
    city = rng.integers(0, C, n).astype(np.int16)
    status = np.full(n, -1, np.int8)
    wage = np.zeros(n, np.float32)
    education = rng.integers(0, 6, n).astype(np.int8)
    vacancies = np.array([vac, vac[::-1]], float)
    before = vacancies.copy()
    hires = labour.assign_jobs(np.arange(n, dtype=np.int64), city, status, wage, education, vacancies,
                               np.full((C, 4), 5000.0), np.full(C, 1800.0), np.uint64(seed))
    assert np.all(hires <= before) and np.all(vacancies >= 0)
    assert np.array_equal(before - vacancies, hires)
    hired = status >= 0
    assert hires.sum() == hired.sum()
    # high-tech jobs need a bachelor, public-sector jobs college
    assert np.all(education[status == 3] >= 3) and np.all(education[status == 2] >= 2)
    assert np.all(wage[hired] >= 1800.0)


def test_matching_is_calibrated_to_a_steady_state():
    E, U, V, sep, a = np.array([1000.0]), np.array([55.0]), np.array([20.0]), 0.012, 0.5
    mu = labour.calibrate_matching_efficiency(sep, E, U, V, a)
    assert np.allclose(labour.matches(mu, U, V, a), sep * E)


def test_tradable_jobs_follow_output_against_the_province():
    """Two cities of province A grow by +10% and -10% while A's total holds; B is alone.
    Over a year (no shocks) A's tradable jobs move by elasticity x their log growth against A's,
    B's not at all, and the local sectors (services, public) only by their trend."""
    e = 1.2
    trend = labour.output_trend([110, 90, 60], [100, 100, 50], ["A", "A", "B"], e)
    assert np.allclose(trend * 12, e * np.log([1.1, 0.9, 1.0]))  # A's cities sum to 200 both years
    assert trend[2] == 0.0  # a province's only city: its own growth is the province's
    # a province-wide level break (a restatement) cancels
    assert np.allclose(labour.output_trend([80, 80], [100, 100], ["A", "A"], e), 0.0)
    lab = load_scenario("baseline", {"labour.job_shock_sd_month": 0.0}).labour
    jobs = np.full((3, 4), 1000.0)
    shock = np.zeros(3)
    rng = np.random.default_rng(0)
    for _ in range(12):
        labour.update_jobs(jobs, shock, lab, rng, trend)
    sector = np.exp(12 * labour.job_trends(lab))
    expected = 1000.0 * sector[None, :] * np.ones((3, 1))
    expected[:, labour.TRADABLE_SECTORS] *= np.exp(12 * trend)[:, None]
    assert np.allclose(jobs, expected)
    assert np.allclose(jobs[:, labour.LOCAL_SECTORS], 1000.0 * sector[labour.LOCAL_SECTORS])
    # without a record (None) the jobs follow the trend and shocks alone, as with a zero trend
    a, b = np.full((3, 4), 1000.0), np.full((3, 4), 1000.0)
    labour.update_jobs(a, np.zeros(3), SC.labour, np.random.default_rng(1))
    labour.update_jobs(b, np.zeros(3), SC.labour, np.random.default_rng(1), np.zeros(3))
    assert np.array_equal(a, b)


def test_wage_level_rises_with_tightness_and_keeps_the_floor():
    lab = SC.labour
    lvl = np.array([5000.0, 5000.0, 5000.0, 1000.0])
    new = labour.wage_level_update(lvl, np.array([0.2, 0.4, 0.8, 0.4]), np.full(4, 0.4), lab.wage_growth_year.value, lab,
                                     np.full(4, 1800.0))
    assert new[0] < new[1] < new[2]
    assert new[3] == 1800.0
    g = (1 + lab.wage_growth_year.value) ** (1 / 12)
    assert np.isclose(new[1], 5000.0 * g)  # at the 2020 tightness: trend growth only


def test_index_wages_applies_factor_floor_and_counts_months():
    city = np.array([0, 1, -1, 2], np.int16)  # 2 = rest of China when C = 2
    status = np.array([0, 1, 0, 0], np.int8)
    wage = np.array([3000, 1000, 500, 9000], np.float32)
    months = np.array([5, 0, 7, 32000], np.int16)
    labour.index_wages(city, status, wage, months, np.array([1.1, 1.0]), np.array([1800.0, 1800.0]), 2)
    assert np.allclose(wage, [3300, 1800, 500, 9000])
    assert list(months) == [6, 1, 7, 32000]


def test_rents_follow_demand_against_supply():
    hou = SC.housing
    r0 = np.array([500.0, 500.0, 500.0])
    r = housing.update_rents(r0.copy(), r0, np.array([90.0, 100.0, 110.0]), np.full(3, 110.0), np.full(3, 100.0),
                             np.full(3, 110.0), hou)
    assert r[0] < r[1] == 500.0 < r[2]


def test_separations_lay_off_where_workers_exceed_jobs():
    n = 20000
    city = np.zeros(n, np.int16)
    status = np.zeros(n, np.int8)
    wage = np.full(n, 5000, np.float32)
    edu = np.full(n, 3, np.int8)
    out = labour.separate(city, status, wage, edu, np.array([[0.2, 0, 0, 0]]), 0.01, 0.0, np.full((1, 4), 5000.0), 1,
                          np.uint64(1), np.uint64(2))
    assert abs(out[0, 0] / n - 0.21) < 0.02
    assert np.all(wage[status == -1] == 0)


def test_mortality_rises_with_age_and_fertility_sums_to_tfr():
    t = demography.mortality_table(SC.demography)[0]
    assert np.all(np.diff(t[30:100, 0]) > 0) and np.all(t[40:90, 0] > t[40:90, 1])  # men die younger
    scaled = demography.mortality_table(SC.demography, np.array([1.0, 2.0]))
    assert np.allclose(scaled[0], t) and np.all(scaled[1, 18:80] > 1.9 * t[18:80])  # a province's factor scales it
    f = demography.fertility_table(np.array([0.92, 1.31]))
    assert np.allclose(f.sum(1) * 12, [0.92, 1.31])
    assert f[:, :20].sum() == 0 and f[:, 45:].sum() == 0


def test_births_go_to_women_of_childbearing_age_only():
    n = 50000
    rng = np.random.default_rng(0)
    age = rng.integers(18, 60, n).astype(np.int8)
    female = rng.integers(0, 2, n).astype(np.int8)
    city = np.zeros(n, np.int16)
    children = np.zeros(n, np.int8)
    mort = np.zeros((2, 128, 2))  # (C+1 places, ages, sexes)
    fert = demography.fertility_table(np.array([1.0]))
    dead, born = demography.deaths_and_births(city, age, female, children, mort, fert, 1, np.uint64(3), np.uint64(4), 1)
    mothers = children > 0
    assert dead.sum() == 0 and born[0] > 0
    assert np.all(female[mothers] == 1) and np.all((age[mothers] >= 20) & (age[mothers] <= 44))
    expect = fert[0, age[female == 1]].sum()
    assert abs(born[0] - expect) < 5 * np.sqrt(expect)


def test_children_move_with_parents_without_creating_people():
    minors = np.array([[10] * 18 + [0], [0] * 19], np.int64)
    req = np.zeros((3, 3), np.int64)
    req[0, 1] = 100
    req[0, 2] = 50  # to the rest of China: leave the cohorts
    before = minors.sum()
    moved = demography.transfer_children(minors, req)
    assert moved[0, 1] + moved[0, 2] == 150 and minors.sum() == before - moved[0, 2]
    req2 = np.zeros((3, 3), np.int64)
    req2[0, 1] = 10_000  # more than there are: capped
    moved2 = demography.transfer_children(minors, req2)
    assert moved2[0, 1] == 30 and minors[0].sum() == 0 and np.all(minors >= 0)


def test_population_compaction_keeps_survivors_in_order():
    P = Population(4)
    P.append(age=np.arange(20, 30), city=np.array([0, -1, 1, 1, -1, 0, 2, -1, 0, 0]))
    P.compact()
    assert list(P.age) == [20, 22, 23, 25, 26, 28, 29] and list(P.city) == [0, 1, 1, 0, 2, 0, 0]
    # rows freed by the compaction come back at their defaults, not with the dead rows' values
    rows = P.grow(3)
    assert list(P.age[rows]) == [0, 0, 0] and list(P.city[rows]) == [0, 0, 0] and list(P.grad_month[rows]) == [-1] * 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=300).filter(lambda w: sum(w) > 0),
       st.integers(0, 2**32 - 1), st.integers(0, 5000))
def test_guide_table_choice_is_numpys_choice(weights, seed, n):
    """rng.choice picks from the CDF by binary search; the guide table must give the same index for
    every uniform (zero weights included) and use the same random numbers."""
    p = np.asarray(weights) / np.sum(weights)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    assert np.array_equal(a.choice(p.size, size=n, p=p), choice(b, p, n))
    assert a.random() == b.random()


def test_counter_rng_is_uniform_and_streams_are_independent():
    u = uniforms(stream_key(1, 3, "death"), 200_000)
    v = uniforms(stream_key(1, 3, "birth"), 200_000)
    hist = np.histogram(u, bins=20, range=(0, 1))[0]
    assert np.all(np.abs(hist - 10_000) < 5 * 100)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert stream_key(1, 3, "death") != stream_key(1, 4, "death") != stream_key(2, 3, "death")
