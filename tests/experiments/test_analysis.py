"""Statistics of a sweep on synthetic summaries with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from migrants.experiments.analysis import _pareto, analyse, t_interval
from migrants.experiments.plan import make_plan

from .conftest import tiny_dict


def test_t_interval():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, sd, lo, hi, n = t_interval(x, 0.95)
    ref = stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x))
    assert (m, n) == (3.5, 4) and (lo, hi) == pytest.approx(ref)
    assert np.isnan(t_interval([5.0], 0.95)[2]) and t_interval([np.nan], 0.95)[4] == 0


def summary_from(plan, kpi_fn):
    """A summary table with each run's KPIs from ``kpi_fn(values, replicate)``."""
    rows = []
    for r in plan.runs:
        rows.append({"run_id": r.run_id, "arm": r.arm, "point": r.point, "replicate": r.replicate,
                     **r.values, **kpi_fn(r.values, r.replicate)})
    return pd.DataFrame(rows)


def test_factorial_arms_contrasts_effects_frontier():
    spec = {**tiny_dict(), "replicates": 4, "factors": [  # two choices, as levers
        {"name": "a", "path": "decisions.beta_income", "levels": [0.0, 1.0], "role": "lever"},
        {"name": "b", "path": "decisions.move_cost_fixed", "levels": [0.0, 1.0], "role": "lever"}],
        "baseline": {"name": "base"}}
    plan = make_plan(spec)
    noise = [0.0, 1.0, -1.0, 3.0]  # same per replicate in every arm: common random numbers

    def kpis(v, r):
        a, b = (0.0, 0.0) if v == plan.baseline_values else (v["a"], v["b"])  # the baseline arm: the scenario's values
        pop = 100 + 10 * a + 4 * b + 2 * a * b + noise[r]
        return {"population_shenyang_metro": pop, "subsidy_spend_cny": 1000 * a + 100 * b,
                "graduates_stayed": 5 + a, "unemployment_rate_last12": 0.05 - 0.01 * b}

    s = summary_from(plan, kpis)
    man = plan.manifest({})
    man["kpi_columns"] = ["population_shenyang_metro", "subsidy_spend_cny", "graduates_stayed",
                          "unemployment_rate_last12"]
    t, notes = analyse(s, man)
    con = t["contrasts"].set_index(["arm", "kpi"])
    c = con.loc[("a=1, b=1", "population_shenyang_metro")]
    assert c["difference"] == pytest.approx(16) and c["sd"] == pytest.approx(0)  # noise cancels (CRN)
    arms = t["arms"].set_index(["arm", "kpi"])
    assert arms.loc[("a=1, b=1", "population_shenyang_metro"), "mean"] == pytest.approx(116.75)
    assert arms.loc[("base", "population_shenyang_metro"), "sd"] > 0
    me = t["main_effects"]
    e = me[(me.factor == "a") & (me.kpi == "population_shenyang_metro")].set_index("level")["effect"]
    assert e["1.0"] - e["0.0"] == pytest.approx(10 + 2 * 0.5)  # main effect of a, averaged over b
    it = t["interactions"]
    i = it[(it.kpi == "population_shenyang_metro")].set_index(["level_a", "level_b"])["interaction"]
    assert i[("1.0", "1.0")] == pytest.approx(2 / 4)  # (y11 - y10 - y01 + y00) / 4
    rk = t["rankings"].set_index("kpi")
    assert rk.loc["population_shenyang_metro", "best_arm"] == "a=1, b=1"
    assert rk.loc["population_shenyang_metro", "p_best"] == 1.0
    assert rk.loc["unemployment_rate_last12", "direction"] == "lower"
    fr = t["frontier"].set_index("arm")  # against a=0, b=0, the first combination (no card levers)
    assert fr.loc["a=0, b=1", "cost_per_extra_resident"] == pytest.approx(100 / 4)
    assert fr.loc["a=0, b=1", "cost_ci_low"] == pytest.approx(25) and fr.loc["a=0, b=1", "reference"] == "a=0, b=0"
    assert fr["on_frontier"].to_dict() == {"a=0, b=1": True, "a=1, b=0": True, "a=1, b=1": True}
    assert set(t["levers"]["levers"]) == {"a=0, b=0", "a=0, b=1", "a=1, b=0", "a=1, b=1"}
    assert any("no Sobol" in n for n in notes)


def test_levers_are_ranked_across_uncertainties_with_worst_case_and_regret():
    """Two subsidy levels (lever) under two values of an uncertain elasticity: the high subsidy
    wins on average, but under the low elasticity the low subsidy wins, so the high one has regret."""
    spec = {**tiny_dict(), "replicates": 2, "baseline": None, "factors": [
        {"name": "subsidy", "path": "policies.shenyang_talent_3_0.living_subsidy.months", "levels": [12, 36]},
        {"name": "elasticity", "path": "decisions.beta_income", "levels": [1.0, 3.0]}],
        "policies": ["shenyang_talent_3_0"]}
    plan = make_plan(spec)
    assert plan.spec.levers()[0].name == "subsidy" and plan.spec.uncertainties()[0].name == "elasticity"
    pop = {(12, 1.0): 100.0, (36, 1.0): 96.0, (12, 3.0): 100.0, (36, 3.0): 120.0}
    s = summary_from(plan, lambda v, r: {"population_shenyang_metro": pop[(v["subsidy"], v["elasticity"])] + r,
                                         "subsidy_spend_cny": 10.0 * v["subsidy"]})
    man = plan.manifest({})
    man["kpi_columns"] = ["population_shenyang_metro", "subsidy_spend_cny"]
    t, notes = analyse(s, man)
    lv = t["levers"].set_index("levers")
    assert list(lv.index) == ["subsidy=12", "subsidy=36"]  # lever rows only, no uncertainty in the labels
    hi = lv.loc["subsidy=36"]
    assert hi["population_shenyang_metro_mean"] == pytest.approx(108.5)
    assert hi["population_shenyang_metro_worst"] == pytest.approx(96.5)  # under elasticity 1
    assert hi["population_shenyang_metro_regret_max"] == pytest.approx(4.0)  # 100 - 96 under elasticity 1
    assert lv.loc["subsidy=12", "population_shenyang_metro_regret_max"] == pytest.approx(20.0)
    assert lv.loc["subsidy=12", "subsidy_spend_cny_regret_max"] == 0  # least spend in every sample
    rk = t["rankings"].set_index("kpi")
    assert rk.loc["population_shenyang_metro", "best_arm"] == "subsidy=36"
    assert rk.loc["population_shenyang_metro", "p_best"] == pytest.approx(0.5)  # best under one elasticity of two
    fr = t["frontier"].set_index("arm")
    assert fr.loc["subsidy=36", "reference"] == "subsidy=12" and fr.loc["subsidy=36", "population_gain"] == 8.0
    assert not fr.loc["subsidy=36", "distinguishable"]  # +24 in one sample, -4 in the other: not told from zero


def test_a_sweep_of_uncertainties_only_ranks_nothing():
    plan = make_plan(tiny_dict())  # beta_income and move_cost_fixed: behaviour, not choices
    s = summary_from(plan, lambda v, r: {"population_shenyang_metro": 10 * v["beta_income"], "subsidy_spend_cny": 0.0})
    t, notes = analyse(s, plan.manifest({}))
    assert "rankings" not in t and "levers" not in t and "frontier" not in t
    assert any("no lever factors" in n for n in notes)


def test_lhs_of_uncertainties_is_crossed_with_every_lever_combination():
    spec = {**tiny_dict(), "replicates": 1, "baseline": None, "design": {"type": "lhs", "samples": 5},
            "factors": [{"name": "card", "card": "shenyang_talent_3_0"},
                        {"name": "beta", "path": "decisions.beta_income", "bounds": [1.0, 3.0]}]}
    plan = make_plan(spec)
    vals = plan.design.values
    assert len(vals) == 2 * 5
    off = sorted(v["beta"] for v in vals if not v["card"])
    on = sorted(v["beta"] for v in vals if v["card"])
    assert off == on and len(set(off)) == 5  # the same five uncertainty samples for both combinations


def test_pareto():
    spend = np.array([0.0, 1, 2, 3, 2, np.nan])
    gain = np.array([0.0, 5, 4, 9, 6, 1])
    assert _pareto(spend, gain, None).tolist() == [True, True, False, True, True, False]
    assert _pareto(np.array([1.0]), np.array([-1.0]), (0.0, 0.0)).tolist() == [False]  # worse than doing nothing


def ishigami(x1, x2, x3, a=7.0, b=0.1):
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)


def test_sobol_indices_of_the_ishigami_function():
    pi = math.pi
    spec = {**tiny_dict(), "replicates": 1, "baseline": None, "design": {"type": "sobol", "samples": 1024},
            "factors": [{"name": n, "path": p, "bounds": [-pi, pi]} for n, p in
                        (("x1", "decisions.beta_income"), ("x2", "decisions.beta_network"),
                         ("x3", "decisions.move_cost_fixed"))],
            "analysis": {"population_kpi": "population_total"}}
    plan = make_plan(spec)
    s = summary_from(plan, lambda v, r: {"population_total": ishigami(v["x1"], v["x2"], v["x3"]),
                                         "subsidy_spend_cny": 0.0})
    man = plan.manifest({})
    man["kpi_columns"] = ["population_total", "subsidy_spend_cny"]
    t, notes = analyse(s, man)
    so = t["sobol"].set_index("factor")
    # analytic values: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    assert so["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.06)
    assert so["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.06)
    assert any("subsidy_spend_cny: skipped, the KPI does not vary" in n for n in notes)


def test_morris_ranks_factors():
    spec = {**tiny_dict(), "replicates": 1, "baseline": None, "design": {"type": "morris", "samples": 20},
            "factors": [{"name": n, "path": p, "bounds": [0, 1]} for n, p in
                        (("big", "decisions.beta_income"), ("small", "decisions.beta_network"),
                         ("none", "decisions.move_cost_fixed"))]}
    plan = make_plan(spec)
    s = summary_from(plan, lambda v, r: {"population_shenyang_metro": 10 * v["big"] + v["small"] ** 2,
                                         "subsidy_spend_cny": 0.0})
    man = plan.manifest({})
    man["kpi_columns"] = ["population_shenyang_metro"]
    t, _ = analyse(s, man)
    mo = t["morris"].set_index("factor")
    assert mo.loc["big", "mu_star"] == pytest.approx(10)  # linear: every elementary effect is 10
    assert mo.loc["big", "sigma"] == pytest.approx(0, abs=1e-9)
    assert mo.loc["big", "mu_star"] > mo.loc["small", "mu_star"] > mo.loc["none", "mu_star"] == 0
    assert mo.loc["small", "sigma"] > 0  # non-linear


def test_partial_results_are_noted():
    plan = make_plan(tiny_dict())
    s = summary_from(plan, lambda v, r: {"population_shenyang_metro": 1.0, "subsidy_spend_cny": 0.0})
    s = s[s.run_id != "p0001-r01"]
    t, notes = analyse(s, plan.manifest({}))
    assert "9 of 10 runs finished" in notes[0]
    assert set(t["arms"]["arm"]) == {"scenario_default", "beta_income=1, move_cost_fixed=2",
                                     "beta_income=1, move_cost_fixed=4", "beta_income=2, move_cost_fixed=2",
                                     "beta_income=2, move_cost_fixed=4"}


def test_prim_finds_the_region_where_a_lever_fails():
    """A card adds residents except where the income elasticity is high and moving is cheap
    (beta > 3, cost < 2.5 of [1, 5] x [1, 5]): PRIM's box should be about that corner."""
    spec = {**tiny_dict(), "replicates": 1, "baseline": None, "design": {"type": "lhs", "samples": 300},
            "factors": [{"name": "card", "card": "shenyang_talent_3_0"},
                        {"name": "beta", "path": "decisions.beta_income", "bounds": [1.0, 5.0]},
                        {"name": "cost", "path": "decisions.move_cost_fixed", "bounds": [1.0, 5.0]},
                        {"name": "noise", "path": "decisions.beta_network", "bounds": [0.0, 1.0]}]}
    plan = make_plan(spec)

    def kpis(v, r):
        fails = v["beta"] > 3.0 and v["cost"] < 2.5
        return {"population_shenyang_metro": 100.0 + (0.0 if not v["card"] else (-1.0 if fails else 5.0)),
                "subsidy_spend_cny": 10.0 * v["card"]}

    s = summary_from(plan, kpis)
    man = plan.manifest({})
    man["kpi_columns"] = ["population_shenyang_metro", "subsidy_spend_cny"]
    t, notes = analyse(s, man)
    box = t["prim"]
    box = box[(box["levers"] == "card=on") & (box["box"] == 0)].set_index("uncertainty")
    assert set(box.index) == {"beta", "cost"}  # the irrelevant uncertainty is not restricted
    assert box.loc["beta", "low"] == pytest.approx(3.0, abs=0.25) and box.loc["beta", "high"] == pytest.approx(5.0, abs=0.05)
    assert box.loc["cost", "high"] == pytest.approx(2.5, abs=0.25)
    assert box["density"].iloc[0] >= 0.8 and box["coverage"].iloc[0] >= 0.8
    fs = t["feature_scores"].set_index("factor")["population_shenyang_metro"]
    assert fs["card"] > fs["noise"] and fs["beta"] > fs["noise"] and fs["cost"] > fs["noise"]


def test_report_labels_are_rounded_unique_and_shares_stay_within_0_and_1():
    from migrants.experiments.analysis import arm_stats, factor_levels_column
    from migrants.experiments.report import _human_formatter

    d = pd.DataFrame({"beta": np.linspace(1.0, 5.0, 40) + 1e-9})
    labels = list(factor_levels_column(d, "beta").cat.categories)
    assert len(labels) == 4 and all(len(part) <= 4 for lab in labels for part in lab.split("-"))
    ticks = _human_formatter().format_ticks([9_056_000, 9_058_000, 9_060_000, 9_062_000])
    assert len(set(ticks)) == 4 and ticks[0] == "9.056M"  # never two "9.06M"
    s = pd.DataFrame({"arm": "a", "point": 0, "graduate_retention": [0.99, 1.0],
                      "unemployment_rate": [0.001, 0.0]})
    a = arm_stats(s, ["graduate_retention", "unemployment_rate"], 0.95).set_index("kpi")
    assert a.loc["graduate_retention", "ci_high"] == 1.0 and a.loc["unemployment_rate", "ci_low"] == 0.0


def test_a_small_sobol_sample_is_noted():
    spec = {**tiny_dict(), "replicates": 1, "baseline": None, "design": {"type": "sobol", "samples": 8},
            "factors": [{"name": n, "path": p, "bounds": [0, 1]} for n, p in
                        (("x1", "decisions.beta_income"), ("x2", "decisions.beta_network"))]}
    plan = make_plan(spec)
    s = summary_from(plan, lambda v, r: {"population_shenyang_metro": v["x1"] + v["x2"] ** 2, "subsidy_spend_cny": 0.0})
    man = plan.manifest({})
    man["kpi_columns"] = ["population_shenyang_metro"]
    _, notes = analyse(s, man)
    assert any("N = 8 base samples" in n and "unstable" in n for n in notes)
