"""Migration decisions: logit shares against the analytic formula, and the
direction of every term of the utility."""

import numpy as np
import pytest

from migrants.config import load_scenario
from migrants import decisions
from migrants.population import EDU_PREMIUM

J = 4  # three cities and the rest of China
N = 200_000


def params(**over):
    """The baseline's decision parameters; the rest of China valued like a city unless a test says
    otherwise (the rules under test here are about the places' observed terms)."""
    over = {"rest_of_china_constant": 0.0, **over}
    sc = load_scenario("baseline", {f"decisions.{k}": v for k, v in over.items()})
    return sc.decisions


def tables(p, wage=None, p_emp=None, rent=None, subsidy=None, access=None, childcare=None, hours=None, cross=None,
           share=None):
    wage = np.full(J, 8000.0) if wage is None else np.asarray(wage, float)
    p_emp = np.full(J, 0.95) if p_emp is None else np.asarray(p_emp, float)
    rent = np.full(J, 500.0) if rent is None else np.asarray(rent, float)
    subsidy = np.zeros((decisions.N_TYPES, J)) if subsidy is None else subsidy
    access = np.full(J, 0.8) if access is None else np.asarray(access, float)
    childcare = np.full(J, 3.0) if childcare is None else np.asarray(childcare, float)
    hours = np.full((J, J), 2.0) if hours is None else hours
    np.fill_diagonal(hours, 0.0)
    cross = np.zeros((J, J)) if cross is None else cross
    share = np.full((J, J), 0.05) if share is None else share
    return decisions.utility_tables(p, wage, p_emp, rent, subsidy, access, childcare, hours, cross, share)


def choose(tabs, k=12, city=0, hukou=0, origin=0, stay=1.0, n=N, seed=1):
    EA, EB, EN, EH, ret, _ = tabs
    rows = np.arange(n, dtype=np.int64)
    c = np.full(n, city, np.int16)
    h = np.full(n, hukou, np.int16)
    o = np.full(n, origin, np.int16)
    key = np.uint64(0x1234 + seed)
    dest = decisions.choose_destinations(rows, np.full(n, k, np.int64), c, h, o, np.full(n, stay), EA,
                                         decisions.pair_table(EB, EN), EH, ret, key)
    return np.bincount(dest, minlength=J) / n


def analytic(p, k, wage, p_emp, rent, hours, cross, share, city, hukou, origin, access, stay=1.0):
    """exp(U) written out from the module docstring, term by term."""
    edu, kids, _ = decisions.type_table()
    e, ch = edu[k], kids[k]
    U = np.zeros(J)
    for j in range(J):
        exp_inc = wage[j] * EDU_PREMIUM[e] * p_emp[j]
        net = max(exp_inc - rent[j], p.income_floor_share.value * exp_inc)
        u = p.beta_income.value * np.log(net)
        u += ch * (p.beta_school.value * access[j] + p.beta_childcare.value * 3.0)
        if j == J - 1:
            u += p.rest_of_china_constant.value  # the last place is the rest of China
        if j != origin:
            u += p.beta_network.value * np.log(1 + share[origin, j] / 0.01)
        if j == hukou:
            u += p.hukou_value.value + ch * p.beta_school.value * (1 - access[j])
        if j != city:
            u -= p.move_cost_fixed.value + p.move_cost_per_log_hour.value * np.log1p(hours[city, j]) + \
                p.move_cost_province.value * cross[city, j]
            if j in (hukou, origin):
                u += p.return_bonus.value
        else:
            u += np.log(stay)
        U[j] = u
    w = np.exp(U - U.max())
    return w / w.sum()


def test_logit_shares_match_analytic_formula():
    """Sampled destination shares equal the closed-form multinomial-logit probabilities."""
    p = params(move_cost_fixed=0.5)
    wage = np.array([7000.0, 9000.0, 6000.0, 13000.0])
    p_emp = np.array([0.9, 0.95, 0.85, 0.95])
    rent = np.array([300.0, 600.0, 200.0, 1500.0])
    hours = np.array([[0, 1, 3, 6], [1, 0, 2, 5], [3, 2, 0, 7], [6, 5, 7, 0]], float)
    cross = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]], float)
    share = np.array([[0.8, 0.1, 0.02, 0.001], [0.05, 0.7, 0.03, 0.001], [0.05, 0.1, 0.9, 0.001],
                      [0.0, 0.0, 0.0, 0.0]])
    access = np.array([0.7, 0.8, 0.9, 0.5])
    tabs = tables(p, wage, p_emp, rent, access=access, hours=hours.copy(), cross=cross, share=share)
    for k, city, hukou, origin, stay in [(12, 0, 0, 0, 1.0), (14, 0, 2, 2, 1.3), (6, 1, 0, 2, 0.7), (23, 2, 1, 1, 1.0)]:
        got = choose(tabs, k=k, city=city, hukou=hukou, origin=origin, stay=stay)
        want = analytic(p, k, wage, p_emp, rent, hours, cross, share, city, hukou, origin, access, stay)
        se = np.sqrt(want * (1 - want) / N)
        assert np.all(np.abs(got - want) <= 5 * se + 1e-9), (k, got, want)


def test_two_city_symmetric_equilibrium():
    """Two identical cities: as many choose each one from either side (zero expected net flow)."""
    p = params(move_cost_fixed=0.0, move_cost_per_log_hour=0.0, move_cost_province=0.0, hukou_value=0.0,
               return_bonus=0.0, beta_network=0.0)
    tabs = tables(p)
    a = choose(tabs, city=0, hukou=0, origin=0)
    b = choose(tabs, city=1, hukou=1, origin=1, seed=2)
    # with no costs and identical cities every destination is equally likely
    assert np.allclose(a, 1 / J, atol=5 * np.sqrt(0.25 / N))
    assert abs(a[1] - b[0]) < 5 * np.sqrt(2 * 0.25 / N)


def share_to(term_tables, dest=1, **kw):
    return choose(term_tables, **kw)[dest]


@pytest.mark.parametrize("name, low, high, sign", [
    ("wage", dict(wage=[8000, 8000, 8000, 8000.0]), dict(wage=[8000, 10000, 8000, 8000.0]), +1),
    ("employment", dict(p_emp=[0.95, 0.8, 0.95, 0.95]), dict(p_emp=[0.95, 0.95, 0.95, 0.95]), +1),
    ("rent", dict(rent=[500, 500, 500, 500.0]), dict(rent=[500, 2000, 500, 500.0]), -1),
    ("school", dict(access=[0.8, 0.2, 0.8, 0.8]), dict(access=[0.8, 1.0, 0.8, 0.8]), +1),
    ("childcare", dict(childcare=[3, 1, 3, 3.0]), dict(childcare=[3, 8, 3, 3.0]), +1),
])
def test_city_terms_move_choices_the_right_way(name, low, high, sign):
    p = params()
    k = 3 * 4 + 2  # bachelor with children
    lo = share_to(tables(p, **low), k=k)
    hi = share_to(tables(p, **high), k=k)
    assert sign * (hi - lo) > 5 * np.sqrt(lo / N), (name, lo, hi)


def test_subsidy_attracts_its_target_type_only():
    p = params()
    sub = np.zeros((decisions.N_TYPES, J))
    sub[13, 1] = 3000.0  # recent bachelor graduates without children, in city 1
    base, pol = tables(p), tables(p, subsidy=sub)
    lo = share_to(base, k=13)
    assert share_to(pol, k=13) > lo + 5 * np.sqrt(lo / N)
    assert share_to(pol, k=12) == share_to(base, k=12)  # same draws, same tables for other types


def test_distance_province_network_and_return_terms():
    p = params(move_cost_fixed=1.0)  # moves common enough for each term's effect to show
    h_near = np.full((J, J), 1.0)
    h_far = np.full((J, J), 1.0)
    h_far[0, 1] = h_far[1, 0] = 10.0
    assert share_to(tables(p, hours=h_near)) > share_to(tables(p, hours=h_far)) + 0.005
    cross = np.zeros((J, J))
    cross[0, 1] = cross[1, 0] = 1
    assert share_to(tables(p)) > share_to(tables(p, cross=cross)) + 0.005
    share = np.full((J, J), 0.01)
    share[0, 1] = 0.3  # many from origin 0 live in city 1
    assert share_to(tables(p, share=share)) > share_to(tables(p)) + 0.005
    # returning to the hukou city is cheaper and worth the hukou
    assert share_to(tables(p), hukou=1, origin=0) > share_to(tables(p), hukou=0) + 0.005


def test_stay_factor_keeps_the_well_paid():
    p = params(move_cost_fixed=1.0)
    t = tables(p)
    assert choose(t, stay=2.0)[0] > choose(t, stay=1.0)[0] + 0.01


def test_a_place_where_nobody_is_employed_draws_no_newcomers_and_its_employed_weigh_their_own_wage():
    """p_emp = 0 in city 0: newcomers all but never choose it (its net income is the 1 CNY floor), and
    a resident whose stay factor is own income / that floor gets finite weights, staying as a
    resident of an ordinary city with that income would (no division by zero, no NaN)."""
    p = params(move_cost_fixed=1.0)
    p_emp = np.full(J, 0.95)
    p_emp[0] = 0.0
    t = tables(p, p_emp=p_emp)
    assert np.all(np.isfinite(t[0])) and t[0][12, 0] < 1e-9 * t[0][12, 1]
    assert choose(t, city=1, hukou=1, origin=1)[0] < 1e-3  # newcomers
    net_ordinary = tables(p)[5][12, 0]
    stayed = choose(t, stay=(net_ordinary / 1.0) ** p.beta_income.value)[0]  # own income: an ordinary city's
    assert stayed == pytest.approx(choose(tables(p), stay=1.0)[0], abs=0.01)


def test_infinite_moving_cost_means_nobody_moves():
    p = params(move_cost_fixed=1e3)
    assert choose(tables(p))[0] == 1.0


def test_choice_does_not_depend_on_row_order_or_batch():
    """A person's draw depends on their row, not on who else chooses this month."""
    p = params()
    EA, EB, EN, EH, ret, _ = tables(p)
    rows = np.arange(1000, dtype=np.int64)
    args = (np.zeros(1000, np.int16), np.zeros(1000, np.int16), np.zeros(1000, np.int16))
    pair = decisions.pair_table(EB, EN)
    full = decisions.choose_destinations(rows, np.full(1000, 12), *args, np.ones(1000), EA, pair, EH, ret,
                                         np.uint64(9))
    part = decisions.choose_destinations(rows[500:], np.full(500, 12), *args, np.ones(500), EA, pair, EH, ret,
                                         np.uint64(9))
    assert np.array_equal(full[500:], part)


def test_bigger_cities_draw_more_with_the_size_term():
    p = params()
    args = (np.full(J, 8000.0), np.full(J, 0.95), np.full(J, 500.0), np.zeros((decisions.N_TYPES, J)),
            np.full(J, 0.8), np.full(J, 3.0), np.where(np.eye(J) > 0, 0.0, 2.0), np.zeros((J, J)),
            np.full((J, J), 0.05))
    small = decisions.utility_tables(p, *args, residents=np.array([1e6, 1e6, 1e6, 1e6]))
    big = decisions.utility_tables(p, *args, residents=np.array([1e6, 8e6, 1e6, 1e6]))
    lo, hi = share_to(small), share_to(big)
    assert hi > lo + 5 * np.sqrt(lo / N)
    # with equal sizes the size term changes nothing
    assert share_to(small) == share_to(tables(p))


def test_newcomers_from_outside_choose_by_the_logit_seen_from_the_rest_of_china():
    """``outsider_choices``: shares equal w_j / sum(w) with w_j = EA[4e, j] EB[C, j] EN[C, j]
    and staying outside (place C) at EA[4e, C]; nothing else enters."""
    rng = np.random.default_rng(1)
    J = 4
    EA = rng.uniform(0.5, 2.0, (decisions.N_TYPES, J))
    EB = rng.uniform(0.01, 0.2, (J, J))
    np.fill_diagonal(EB, 1.0)
    EN = rng.uniform(1.0, 3.0, (J, J))
    np.fill_diagonal(EN, 1.0)
    n = 2_000_000
    got = decisions.outsider_choices(EA, EB, EN, np.full(6, n), np.random.default_rng(2))
    assert (got.sum(1) == n).all()
    for e in range(6):
        w = EA[4 * e] * EB[J - 1] * EN[J - 1]
        p = w / w.sum()
        assert np.all(np.abs(got[e] / n - p) < 5 * np.sqrt(p * (1 - p) / n))


def test_newcomers_from_outside_arrive_with_hukou_elsewhere_and_scale_with_the_hazard():
    from migrants.model import MigrationModel

    def arrivals(factor):
        m = MigrationModel(scenario="tiny", rng=4, scale=500, months=6,
                           overrides={"decisions.outside_consider_factor": factor,
                                      "decisions.rest_of_china_constant": 0.0})
        m.run()
        C = m.C
        new = (m.people.origin_city == C) & (m.people.city >= 0) & (m.people.city < C)
        return int(m.flows_frame().query("origin == 'Rest of China'")["movers"].sum()), int(new.sum()), m

    none, none_agents, _ = arrivals(0.0)
    one, one_agents, m = arrivals(1.0)
    two, two_agents, _ = arrivals(2.0)
    assert none_agents == 0 and one_agents > 0  # only newcomers have their origin outside
    assert (m.people.hukou_city[(m.people.origin_city == m.C) & (m.people.city >= 0)] == m.C).all()
    extra1, extra2 = one - none, two - none  # returns and students from outside are common to all three
    assert extra1 > 0 and 1.6 < extra2 / extra1 < 2.4


def test_amenities_and_the_rest_of_chinas_constant_scale_the_odds_by_exp_of_their_value():
    """An amenity a_j (province, provincial seat) multiplies j's logit weight by exp(a_j) for every
    type, and the rest of China's constant does the same for the last place: odds against a
    neutral place change by exactly that factor."""
    p = params(rest_of_china_constant=0.7)
    args = (np.full(J, 8000.0), np.full(J, 0.95), np.full(J, 500.0), np.zeros((decisions.N_TYPES, J)),
            np.full(J, 0.8), np.full(J, 3.0), np.where(np.eye(J) > 0, 0.0, 2.0), np.zeros((J, J)),
            np.full((J, J), 0.05))
    plain = decisions.utility_tables(params(), *args)[0]
    EA = decisions.utility_tables(p, *args, amenity=np.array([0.0, -0.4, 0.3]))[0]
    ratio = (EA / EA[:, [0]]) / (plain / plain[:, [0]])  # odds against city 0, which has no amenity
    assert np.allclose(ratio, np.exp([0.0, -0.4, 0.3, 0.7])[None, :])


def test_the_model_gives_each_city_its_provinces_and_its_seats_amenity():
    from migrants.model import MigrationModel

    m = MigrationModel(scenario="tiny", overrides={"months": 0, "decisions.province_amenity.Jilin": -0.5,
                                                   "decisions.province_amenity.Liaoning": 0.0,
                                                   "decisions.province_amenity.Heilongjiang": 0.0,
                                                   "decisions.seat_amenity": 0.25})
    a = dict(zip(m.cities["name_en"], m.amenity))
    assert a["Changchun"] == pytest.approx(-0.25)  # Jilin's capital: both
    assert a["Harbin"] == pytest.approx(0.25) and a["Benxi"] == 0.0 and a["Beijing"] == pytest.approx(0.25)
