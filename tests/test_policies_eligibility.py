"""Exact eligibility: who is paid, housed or settled, and who is not, on hand-made people.

A ``tiny`` model is built at a scale so large it has almost no agents; its
population is replaced by a few crafted rows and the lever functions are
called directly, so every outcome can be checked person by person.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from migrants import MigrationModel
from migrants.policy import talent
from migrants.population import OWNER, RENTER, SUBSIDISED, Population

SHENYANG, DALIAN = 0, 7
SCALE = 500_000  # the coarsest scale that leaves every tiny city a working-age agent (cities._check_scale)


def card(tmp_path, name, **fields):
    c = {"name": name, "source": "test card", "target": "Shenyang", "start": "2020-12", **fields}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(c))
    return str(p)


def model_with(refs, rows: list[dict], month=10):
    m = MigrationModel(scenario="tiny", rng=1, overrides={"policies": refs, "scale": SCALE, "months": 0})
    P = Population(64)
    defaults = dict(age=30, female=0, education=3, status=0, housing=RENTER, children=0, city=SHENYANG,
                    hukou_city=SHENYANG, origin_city=SHENYANG, months_in_city=24, grad_month=-1, uni_city=-1,
                    wage=8000.0)
    keys = list(dict.fromkeys([*defaults, *(k for r in rows for k in r)]))
    cols = {k: np.array([{**defaults, **r}.get(k, 0) for r in rows]) for k in keys}
    P.append(**cols)
    m.people = P
    m.month = month
    return m


def talent_levers(m):
    return [lv for lv in m.policy.levers if isinstance(lv, talent.TalentLever)]


def booked(m, name, col="spend_cny"):
    lv = [lv for lv in m.policy.levers if lv.name == name][0]
    return lv.booked[col].copy()


def test_living_subsidy_pays_exactly_the_eligible(tmp_path):
    ref = card(tmp_path, "living", lever="talent_subsidy",
               eligibility={"education": ["bachelor", "master", "phd"], "graduated_within_months": 24},
               living_subsidy={"by_degree": {"phd": 2500, "master": 1500, "bachelor": 1000}, "months": 3})
    rows = [
        dict(education=5, grad_month=5),                      # 0 PhD, employed, recent: paid 2500
        dict(education=5, grad_month=5, status=-1),           # 1 unemployed: not enrolled
        dict(education=4, grad_month=5),                      # 2 master: paid 1500
        dict(education=3, grad_month=-20),                    # 3 graduated 30 months ago: no
        dict(education=5, grad_month=5, city=DALIAN),         # 4 lives in Dalian: no
        dict(education=2, grad_month=5),                      # 5 college: not a listed degree
        dict(education=3, grad_month=-1),                     # 6 never graduated in the run: no
        dict(education=5, grad_month=5, subsidy_months_left=-1),  # 7 had a programme already: no
        dict(education=3, grad_month=5),                      # 8 bachelor: paid 1000
    ]
    m = model_with([ref], rows)
    talent.pay_living(m.policy.ctx, talent_levers(m))
    P = m.people
    code = m.policy.levers[0].code
    paid = {0, 2, 8}
    assert set(np.flatnonzero(P.subsidy_card == code)) == paid
    assert list(P.subsidy_months_left) == [2, 0, 2, 0, 0, 0, 0, -1, 2]
    spend = booked(m, "living")
    assert spend[SHENYANG] == (2500 + 1500 + 1000) * SCALE and spend.sum() == spend[SHENYANG]
    assert booked(m, "living", "beneficiaries")[SHENYANG] == 3 * SCALE
    # next month: the PhD moves to Dalian (forfeits), the master loses the job (paused), the bachelor is paid
    m.policy.levers[0].take_month(m.policy.ctx.t)
    P.city[0] = DALIAN
    P.status[2] = -1
    m.month += 1
    talent.pay_living(m.policy.ctx, talent_levers(m))
    assert P.subsidy_months_left[0] == -1 and P.subsidy_card[0] == 0
    assert P.subsidy_months_left[2] == 2 and P.subsidy_months_left[8] == 1
    assert booked(m, "living")[SHENYANG] == 1000 * SCALE
    # third month: the bachelor's last month; afterwards done, never enrolled again
    m.policy.levers[0].take_month(m.policy.ctx.t)
    talent.pay_living(m.policy.ctx, talent_levers(m))
    assert P.subsidy_months_left[8] == -1 and P.subsidy_card[8] == 0
    m.policy.levers[0].take_month(m.policy.ctx.t)
    talent.pay_living(m.policy.ctx, talent_levers(m))
    assert booked(m, "living")[SHENYANG] == 0


def test_most_generous_card_wins_and_hukou_gates(tmp_path):
    a = card(tmp_path, "a_small", lever="talent_subsidy", living_subsidy={"by_degree": {"bachelor": 100}})
    b = card(tmp_path, "b_large", lever="talent_subsidy", eligibility={"hukou": "local"},
             living_subsidy={"by_degree": {"bachelor": 900}})
    rows = [dict(), dict(hukou_city=DALIAN)]  # a local and a migrant bachelor
    m = model_with([b, a], rows)
    talent.pay_living(m.policy.ctx, talent_levers(m))
    codes = {lv.name: lv.code for lv in m.policy.levers}
    assert list(m.people.subsidy_card) == [codes["b_large"], codes["a_small"]]
    assert booked(m, "b_large")[SHENYANG] == 900 * SCALE and booked(m, "a_small")[SHENYANG] == 100 * SCALE


def test_home_purchase_paid_only_to_eligible_new_owners(tmp_path):
    ref = card(tmp_path, "home", lever="talent_subsidy", eligibility={"graduated_within_months": 24},
               home_purchase={"by_degree": {"phd": 70000, "master": 40000, "bachelor": 20000},
                              "purchase_elasticity": {"value": 0.0, "basis": "assumption", "source": "test"}})
    rows = [
        dict(education=5, grad_month=5),                  # 0 buys: 70,000
        dict(education=3, grad_month=5),                  # 1 buys: 20,000
        dict(education=4, grad_month=5),                  # 2 does not buy: nothing
        dict(education=4, grad_month=5, housing=OWNER),   # 3 already an owner: not a candidate
        dict(education=2, grad_month=5),                  # 4 buys, but college is not listed: nothing
        dict(education=4, grad_month=5, city=DALIAN),     # 5 buys in Dalian: nothing
        dict(education=4, grad_month=5, policy_flags=1),  # 6 buys, subsidy already used: nothing
    ]
    m = model_with([ref], rows)
    talent.subsidy_purchases(m.policy.ctx, talent_levers(m))
    P = m.people
    P.housing[[0, 1, 4, 5, 6]] = OWNER  # the month's purchases
    talent.pay_home(m.policy.ctx, talent_levers(m))
    assert booked(m, "home")[SHENYANG] == (70000 + 20000) * SCALE
    assert booked(m, "home").sum() == (70000 + 20000) * SCALE
    assert list(P.policy_flags) == [1, 1, 0, 0, 0, 0, 1]
    # once paid, never again
    P.housing[[0, 1]] = RENTER
    talent.subsidy_purchases(m.policy.ctx, talent_levers(m))
    P.housing[[0, 1]] = OWNER
    m.policy.levers[0].take_month(m.policy.ctx.t)
    talent.pay_home(m.policy.ctx, talent_levers(m))
    assert booked(m, "home").sum() == 0


def test_units_first_come_first_served_within_capacity(tmp_path):
    ref = card(tmp_path, "units", lever="affordable_housing", eligibility={"age": [18, 35]},
               units=2 * SCALE, rent_discount=0.25,
               tenants_per_unit={"value": 1.0, "basis": "assumption", "source": "test"},
               apply_month={"value": 1.0, "basis": "assumption", "source": "test"})
    rows = [
        dict(age=30),                                # 0 joins the queue this month (since 10)
        dict(age=30, unit_card=1, unit_since=4),     # 1 waiting since month 4: housed
        dict(age=30, unit_card=1, unit_since=2),     # 2 waiting since month 2: housed first
        dict(age=40),                                # 3 too old: never queues
        dict(age=30, housing=OWNER),                 # 4 owner: never queues
        dict(age=30, city=DALIAN),                   # 5 not a target city
        dict(age=40, unit_card=1, unit_since=1),     # 6 queued earlier but no longer eligible: leaves the queue
    ]
    m = model_with([ref], rows)
    lv = m.policy.levers[0]
    assert lv.code == 1
    m.policy.subsidised_housing()
    P = m.people
    assert list(P.housing) == [RENTER, SUBSIDISED, SUBSIDISED, RENTER, OWNER, RENTER, RENTER]
    assert list(P.unit_card) == [1, -1, -1, 0, 0, 0, 0]
    b = lv.booked
    assert b["allocated"][SHENYANG] == 2 * SCALE
    assert b["wait_months_sum"][SHENYANG] / b["allocated"][SHENYANG] == ((10 - 4) + (10 - 2)) / 2
    assert b["queue"][SHENYANG] == 1 * SCALE
    assert b["spend_cny"][SHENYANG] == pytest.approx(2 * SCALE * 0.25 * m.housing_market.rent[SHENYANG])
    # a tenant who moves loses the unit, and the next in line gets it
    lv.take_month(m.policy.ctx.t)
    P.city[1], P.housing[1] = DALIAN, RENTER  # what apply_moves does to a moving tenant
    m.month += 1
    m.policy.subsidised_housing()
    assert P.unit_card[1] == 0 and P.housing[0] == SUBSIDISED and P.unit_card[0] == -1
    # considerers' own rent: tenants pay 75% of the market rent
    share = m.policy.rent_share(np.arange(P.n))
    assert list(share) == [0.75, 1.0, 0.75, 1.0, 1.0, 1.0, 1.0]


def test_points_settlement_exact(tmp_path):
    ref = card(tmp_path, "points", lever="hukou", rule="points",
               points={"per_year_in_city": 1.0, "per_education_level": 0.0, "employed": 0.0, "owner": 0.0,
                       "threshold": 5.0},
               take_up_month={"value": 1.0, "basis": "assumption", "source": "test"})
    rows = [
        dict(hukou_city=DALIAN, months_in_city=60),   # 0 five years: settles
        dict(hukou_city=DALIAN, months_in_city=59),   # 1 not yet
        dict(months_in_city=100),                     # 2 already local
        dict(hukou_city=SHENYANG, city=DALIAN, months_in_city=100),  # 3 lives in Dalian
    ]
    m = model_with([ref], rows)
    m.policy.settle_hukou()
    assert list(m.people.hukou_city) == [SHENYANG, DALIAN, SHENYANG, SHENYANG]
    assert booked(m, "points", "beneficiaries")[SHENYANG] == 1 * SCALE


def test_family_allowance_cost_follows_eligible_births(tmp_path):
    ref = card(tmp_path, "fam", lever="family", eligibility={"hukou": "local"}, maternity_allowance_cny=1000,
               childcare_allowance_cny_month=100, allowance_from_child=3, allowance_months=2)
    rows = [dict(female=1, age=30, children=2), dict(female=1, age=30, hukou_city=DALIAN),
            dict(female=1, age=30), dict(female=1, age=30, children=2)]
    m = model_with([ref], rows)
    lv = m.policy.levers[0]
    mult = lv.fertility_factor(m.policy.ctx)
    assert lv.eligible_share[SHENYANG] == 0.75 and lv.third_share[SHENYANG] == pytest.approx(2 / 3)
    assert mult[SHENYANG] > 1 and mult[DALIAN] == 1
    births = np.zeros(m.C)
    births[SHENYANG] = 300
    lv.pay(m.policy.ctx, births)
    eligible = 300 * 0.75
    third = eligible * 2 / 3
    assert lv.booked["spend_cny"][SHENYANG] == pytest.approx(eligible * 1000 + third * 100)
    lv.take_month(m.policy.ctx.t)
    lv.pay(m.policy.ctx, np.zeros(m.C))  # the allowance keeps being paid for two months, then stops
    assert lv.booked["spend_cny"][SHENYANG] == pytest.approx(third * 100)
    lv.take_month(m.policy.ctx.t)
    lv.pay(m.policy.ctx, np.zeros(m.C))
    assert lv.booked["spend_cny"][SHENYANG] == pytest.approx(0)


def test_commuters_count_at_work_and_the_dead_are_dropped(tmp_path):
    ref = "metro_shared_employment[start=2020-12]"
    rows = [dict(status=0, commute_to=3),            # 0 lives in Shenyang, works in Fushun (2)
            dict(status=1, city=-1, commute_to=3),   # 1 died this month: no longer a commuter
            dict(status=0)]                          # 2 works at home
    m = model_with([ref], rows)
    employed = np.zeros((m.C, 4))
    employed[SHENYANG, 0] = 2  # the residence census: rows 0 and 2
    m.policy.end_commutes_of_the_departed()
    out = m.policy.by_workplace(employed)
    assert out[SHENYANG, 0] == 1 and out[2, 0] == 1 and out.sum() == 2
    assert list(m.people.commute_to) == [3, 0, 0]
    assert list(m.policy.work_city()) == [2, -1, SHENYANG]
    rec = m.policy.city_record()
    assert rec["commuters_out"][SHENYANG] == SCALE and rec["commuters_in"][2] == SCALE
    # losing the job ends the commute, and the job-seeker counts at home
    m.people.status[0] = -1
    corr = m.policy.end_commutes_of_job_losers()
    assert corr[SHENYANG] == 1 and corr[2] == -1 and m.people.commute_to[0] == 0
