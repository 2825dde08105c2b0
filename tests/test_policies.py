"""Policy cards: schema, composition, switched-off identity, accounting, quotas and budget caps.

Lever directions are in ``test_policies_levers.py``; exact eligibility in
``test_policies_eligibility.py``.  Runs use the ``tiny`` preset (11 cities,
1,000 persons an agent) for a few months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from migrants import MigrationModel
from migrants.config import load_scenario
from migrants.errors import ConfigError
from migrants.policies import POLICY_COLUMNS, available_cards, load_card, load_cards
from migrants.policy.cards import effective_end, month_index

SCENARIOS = ["shenyang_talent_3_0", "metro_shared_employment", "affordable_housing_75k", "zero_threshold_hukou",
             "family_support", "dalian_vouchers_2024", "jobs_programmes", "all_levers"]


def write_card(tmp_path, name, **fields):
    card = {"name": name, "source": "test card", "target": "Shenyang", **fields}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(card, allow_unicode=True))
    return str(p)


def run(policies, months=8, seed=11, **ov):
    m = MigrationModel(scenario="tiny", rng=seed, overrides={"policies": list(policies), **ov})
    m.run(months)
    return m


@pytest.fixture(scope="module")
def plain():
    return run([], months=8)


# ------------------------------------------------------------------ schema
@pytest.mark.parametrize("name", available_cards())
def test_shipped_cards_load_with_sources(name):
    card = load_card(name)
    assert card.name == name
    assert len(card.source) > 10
    assert card.enabled


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_packages_build(name):
    cfg = load_scenario(name)
    assert cfg.policies, name
    m = MigrationModel(scenario=name, overrides={"scale": 200_000, "months": 0})
    assert len(m.policy.levers) == len(load_cards(cfg.policies))


def test_shenyang_3_0_amounts_are_the_documented_ones():
    c = load_card("shenyang_talent_3_0")
    assert c.living_subsidy.by_degree["phd"] == 2500 and c.living_subsidy.months == 36
    assert c.home_purchase.by_degree == {"phd": 70000, "master": 40000, "bachelor": 20000}
    d = load_card("dalian_vouchers_2024")
    assert d.home_purchase.by_degree == {"phd": 100000, "master": 50000, "bachelor": 30000, "college": 30000}
    h = load_card("shenyang_affordable_housing_75k")
    assert h.units.at(month_index("2025-12")) == 75000


@pytest.mark.parametrize("fields, words", [
    ({"lever": "talent"}, ["`lever`", "'talent'", "talent_subsidy"]),
    ({"lever": "talent_subsidy", "start": "2021-13", "living_subsidy": {"by_degree": {"phd": 1}}},
     ["`start`", "2021-13", "YYYY-MM"]),
    ({"lever": "talent_subsidy", "living_subsidy": {"by_degree": {"phd": -5}}},
     ["living_subsidy.by_degree", "-5", ">= 0"]),
    ({"lever": "talent_subsidy", "living_subsidy": {"by_degree": {"doctor": 5}}}, ["doctor"]),
    ({"lever": "affordable_housing", "units": 100, "rent_discount": 1.5}, ["`rent_discount`", "1.5"]),
    ({"lever": "hukou", "rule": "points"}, ["points"]),
    ({"lever": "family", "bogus": 1}, ["`bogus`", "not a known field"]),
    ({"lever": "jobs_programme", "minimum_wage": {"factor": 1.1, "cny_month": 2000}}, ["exactly one"]),
])
def test_bad_cards_name_file_field_value(tmp_path, fields, words):
    path = write_card(tmp_path, "bad", **fields)
    with pytest.raises(ConfigError) as e:
        load_card(path)
    msg = str(e.value)
    assert "bad.yaml" in msg
    for w in words:
        assert w in msg, msg


def test_unknown_target_city_is_a_config_error(tmp_path):
    path = write_card(tmp_path, "bad_city", lever="hukou", rule="zero_threshold", target="Shenyan")
    with pytest.raises(ConfigError, match="Shenyan.*not a city"):
        run([path], months=0)


def test_unknown_card_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="no_such_card.*shenyang_talent_3_0"):
        load_card("no_such_card")


def test_bracket_overrides():
    c = load_card("shenyang_talent_3_0[living_subsidy.by_degree.master=1500; start=2022-01]")
    assert c.living_subsidy.by_degree["master"] == 1500 and c.start == "2022-01"
    with pytest.raises(ConfigError, match="unknown path"):
        load_card("shenyang_talent_3_0[living_subsidy.nope=1]")


def test_composition_sorted_deduplicated_and_disabled_dropped(tmp_path):
    off = write_card(tmp_path, "off", lever="hukou", rule="zero_threshold", enabled=False)
    cards = load_cards(["shenyang_talent_3_0", "dalian_vouchers_2024", off, "shenyang_talent_3_0"])
    assert [c.name for c in cards] == ["dalian_vouchers_2024", "shenyang_talent_3_0"]
    other = write_card(tmp_path, "dalian_vouchers_2024", lever="hukou", rule="closed")
    with pytest.raises(ConfigError, match="same name"):
        load_cards(["dalian_vouchers_2024", other])


def test_supersedes_ends_the_older_card():
    cards = load_cards(["shenyang_graduate_hukou_2018", "zero_threshold_hukou"])
    old = [c for c in cards if c.name == "shenyang_graduate_hukou_2018"][0]
    assert effective_end(old, cards) == month_index("2020-12")
    assert effective_end(old, [old]) is None


def test_packages_keep_the_baseline_cards():
    base = set(load_scenario("baseline").policies)
    for name in SCENARIOS:
        assert base <= set(load_scenario(name).policies), name


def test_two_hukou_rules_for_one_city_are_an_error(tmp_path):
    a = write_card(tmp_path, "a", lever="hukou", rule="zero_threshold")
    b = write_card(tmp_path, "b", lever="hukou", rule="closed", start="2021-06")
    with pytest.raises(ConfigError, match="both set `rule` for Shenyang"):
        run([a, b], months=0)
    c = write_card(tmp_path, "c", lever="hukou", childcare_places_per_1000=4.5)  # a different field: fine
    run([a, c], months=0)


# --------------------------------------------------------- switched off
def frames(m):
    return m.city_frame(), m.flows_frame()


def test_no_card_disabled_card_and_future_card_give_identical_output(tmp_path, plain):
    off = write_card(tmp_path, "off", lever="talent_subsidy", enabled=False,
                     living_subsidy={"by_degree": {"bachelor": 5000}})
    later = write_card(tmp_path, "later", lever="talent_subsidy", start="2030-01",
                       living_subsidy={"by_degree": {"bachelor": 5000}}, home_purchase={"by_degree": {"phd": 1e5}},
                       talent_apartments={"units": 1e5, "rent_discount": 0.5})
    elsewhere = write_card(tmp_path, "elsewhere", lever="hukou", rule="zero_threshold", target="Harbin",
                           start="2030-01")
    a, fa = frames(plain)
    for refs in ([off], [later], [later, elsewhere, off]):
        b, fb = frames(run(refs, months=8))
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(fa, fb)
    assert plain.policy_frame().empty
    assert plain.policy_totals() == {"total_spend_cny": 0.0, "policies": {}}


def test_card_order_does_not_matter():
    refs = ["shenyang_talent_3_0[start=2020-12]", "metro_shared_employment[start=2020-12]",
            "shenyang_affordable_housing_75k", "liaoning_wage_arrears_clearing"]
    a = run(refs, months=9)
    b = run(list(reversed(refs)), months=9)
    pd.testing.assert_frame_equal(a.city_frame(), b.city_frame())
    pd.testing.assert_frame_equal(a.flows_frame(), b.flows_frame())
    pd.testing.assert_frame_equal(a.policy_frame(), b.policy_frame())


def test_same_seed_same_policy_output():
    refs = ["shenyang_affordable_housing_75k", "metro_shared_employment[start=2020-12]"]
    a, b = run(refs, months=6), run(refs, months=6)
    pd.testing.assert_frame_equal(a.policy_frame(), b.policy_frame())
    pd.testing.assert_frame_equal(a.city_frame(), b.city_frame())


# -------------------------------------------------------------- accounts
@pytest.fixture(scope="module")
def busy():
    refs = ["shenyang_talent_3_0[start=2020-12;living_subsidy.by_degree.bachelor=1000]",
            "shenyang_affordable_housing_75k", "metro_shared_employment[start=2020-12]",
            "zero_threshold_hukou", "shenyang_third_child_allowance[start=2020-12]",
            "shenyang_campus_job_fairs[start=2020-12]", "liaoning_industrial_clusters[start=2020-12]"]
    return run(refs, months=14)


def test_policy_month_table_and_city_spend_agree(busy):
    pf, cm = busy.policy_frame(), busy.city_frame()
    assert list(pf.columns) == list(POLICY_COLUMNS)
    assert (pf["spend_cny"] >= 0).all()
    by_month_city = pf.groupby(["month", "city"])["spend_cny"].sum()
    cm_spend = cm.set_index(["month", "city"])["subsidy_spend_cny"]
    joined = cm_spend.to_frame().join(by_month_city.rename("p")).fillna(0)
    assert (joined["subsidy_spend_cny"] - joined["p"]).abs().max() <= 1.0  # city_month rounds to CNY
    totals = busy.policy_totals()
    assert totals["total_spend_cny"] == pytest.approx(pf["spend_cny"].sum())
    for name, t in totals["policies"].items():
        assert t["spend_cny"] == pytest.approx(pf.loc[pf["policy"] == name, "spend_cny"].sum())
    assert set(totals["policies"]) == {c.name for c in busy.policy.cards}


def test_living_subsidy_spend_is_amount_times_persons_paid(tmp_path):
    card = write_card(tmp_path, "flat", lever="talent_subsidy", start="2020-12",
                      eligibility={"education": ["bachelor"], "graduated_within_months": 24},
                      living_subsidy={"by_degree": {"bachelor": 1234}, "months": 36})
    m = run([card], months=10)
    pf = m.policy_frame()
    assert pf["beneficiaries"].sum() > 0
    assert pf["spend_cny"].sum() == pytest.approx(1234 * pf["beneficiaries"].sum())


def test_units_never_exceed_capacity_and_queue_is_recorded(busy):
    pf = busy.policy_frame()
    h = pf[pf["policy"] == "shenyang_affordable_housing_75k"]
    tpu = load_card("shenyang_affordable_housing_75k").tenants_per_unit.value
    assert (h["beneficiaries"] <= h["capacity_units"] * tpu + 1e-6).all()
    assert h["queue"].max() > 0 and h["allocated"].sum() > 0
    assert h["mean_wait_months"].dropna().ge(0).all()
    cm = busy.city_frame()
    last = cm[cm["month"] == cm["month"].max()].set_index("city")
    assert last.loc["Shenyang", "subsidised_tenants"] > 0
    assert last.drop("Shenyang")["subsidised_tenants"].sum() == 0


def test_budget_cap_is_never_exceeded(tmp_path):
    cap = 3_000_000.0
    cards = [
        write_card(tmp_path, "capped_living", lever="talent_subsidy", start="2020-12", budget_cap_cny=cap,
                   living_subsidy={"by_degree": {"bachelor": 2000, "master": 2000, "phd": 2000}}),
        write_card(tmp_path, "capped_units", lever="affordable_housing", budget_cap_cny=cap,
                   units=200000, rent_discount=0.5),
        write_card(tmp_path, "capped_family", lever="family", budget_cap_cny=cap, maternity_allowance_cny=5000),
        write_card(tmp_path, "capped_jobs", lever="jobs_programme", budget_cap_cny=cap,
                   cluster_jobs=[{"sector": "services", "jobs_per_year": 12000, "cost_cny_per_job": 1000}]),
    ]
    m = run(cards, months=10)
    spent = m.policy_frame().groupby("policy")["spend_cny"].sum()
    for name in ("capped_living", "capped_units", "capped_family", "capped_jobs"):
        assert 0 < spent[name] <= cap + 1e-6, name


def test_quotas_are_never_exceeded(tmp_path):
    q = 5000  # persons = 5 agents at scale 1000
    cards = [
        write_card(tmp_path, "q_living", lever="talent_subsidy", start="2020-12", quota=q,
                   living_subsidy={"by_degree": {"bachelor": 100, "master": 100, "phd": 100}}),
        write_card(tmp_path, "q_settle", lever="hukou", rule="zero_threshold", quota=q,
                   take_up_month={"value": 0.5, "basis": "assumption", "source": "test"}),
        write_card(tmp_path, "q_units", lever="affordable_housing", target="Dalian", quota=q, units=200000,
                   rent_discount=0.3, apply_month={"value": 1.0, "basis": "assumption", "source": "test"}),
    ]
    m = run(cards, months=10)
    news = {lv.name: lv.newly for lv in m.policy.levers}
    assert news == {"q_living": q, "q_settle": q, "q_units": q}
    enrolled = (m.people.subsidy_card == m.policy.levers[[lv.name for lv in m.policy.levers].index("q_living")].code)
    assert enrolled.sum() * m.scale <= q


# ---------------------------------------------------------------- compare
def test_compare_identical_policy_reports_exactly_zero():
    from migrants.compare import KPIS, compare

    table, meta, reps = compare("tiny", "tiny", replicates=2, months=3)
    plain_kpis = table[table["kpi"].isin(KPIS)].dropna(subset=["difference"])
    assert len(plain_kpis) > 0
    assert (plain_kpis["difference"] == 0).all()
    assert (plain_kpis["ci_low"] == 0).all() and (plain_kpis["ci_high"] == 0).all()
    assert set(table["region_type"]) == {"city", "province", "metro", "all"}
    assert meta["seeds"] == [meta["seeds"][0], meta["seeds"][0] + 1]


def test_compare_card_against_base_uses_common_random_numbers(tmp_path):
    from migrants.compare import compare

    card = write_card(tmp_path, "spend_only", lever="jobs_programme", start="2020-12",
                      wage_arrears={"enforcement_cost_cny_month": 1000, "cleared_share": 0.0})
    table, meta, _ = compare("tiny", card, replicates=2, months=4)
    t = table.set_index(["region", "kpi"])
    # the card only books spend (its arrears effect is 0): no behaviour changes, so only spend differs
    assert t.loc[("Shenyang", "subsidy_spend_cny"), "difference"] == 4 * 1000
    assert t.loc[("all", "population"), "difference"] == 0
    assert meta["policy_cards"][-1] == card


def _kpi_frames(gains, spends):
    """Per-replicate KPI frames of both arms for one region: the policy adds ``gains`` residents
    and graduates and spends ``spends`` CNY more (one value per replicate)."""
    from migrants.compare import KPIS

    base, policy = [], []
    for g, sp in zip(gains, spends):
        b = pd.DataFrame([{"region": "all", "region_type": "all", **{k: 1000.0 for k in KPIS}}])
        q = b.copy()
        q[["population", "graduates_stayed"]] += g
        q["subsidy_spend_cny"] += sp
        base.append(b)
        policy.append(q)
    return base, policy


@pytest.mark.parametrize("gains, spends, reported", [
    ([100, 110, 90, 105, 95], [1e6] * 5, True),  # a clear gain at a clear cost: 10,000 CNY a resident
    ([100, -120, 90, -105, 40], [1e6] * 5, False),  # the gain's interval includes zero
    ([-100, -110, -90, -105, -95], [1e6] * 5, False),  # residents lost: never a negative cost
    ([100, 110, 90, 105, 95], [-1e6] * 5, False),  # a saving is not a cost
    ([100], [1e6], False),  # one replicate: no interval, no cost
])
def test_compare_gives_a_cost_only_where_the_gain_is_told_from_zero(gains, spends, reported):
    from migrants.compare import summarise

    t = summarise(*_kpi_frames(gains, spends)).set_index("kpi")
    for kpi in ("cost_per_additional_resident", "cost_per_additional_retained_graduate"):
        row = t.loc[kpi]
        assert bool(row["distinguishable"]) is reported
        if reported:
            assert row["difference"] == pytest.approx(1e6 / np.mean(gains))
            assert 0 < row["ci_low"] < row["difference"] < row["ci_high"]
        else:
            assert np.isnan(row["difference"]) and np.isnan(row["ci_low"])


def test_fieller_interval_of_a_cost_covers_the_true_cost_95_percent_of_the_time():
    from migrants.compare import cost_per_gain
    from migrants.stats import t_quantile

    rng = np.random.default_rng(7)
    hits = shown = 0
    for _ in range(2000):
        gain = rng.normal(50, 20, 10)
        spend = 100 * gain + rng.normal(0, 500, 10)  # true cost: 100 CNY per unit of gain
        est, lo, hi = cost_per_gain(spend, gain, t_quantile(0.95, 10))
        if np.isfinite(est):
            shown += 1
            hits += lo <= 100 <= hi
    assert shown > 1900 and 0.93 < hits / shown < 0.97


def test_a_sum_of_cards_is_cards_whatever_else_bears_their_names():
    from migrants.compare import arm_spec
    from migrants.config import load_scenario

    # shenyang_talent_3_0 is a card and a scenario; in a sum it is the card
    scen, ov = arm_spec("tiny", "dalian_vouchers_2024+shenyang_talent_3_0", {})
    assert scen == "tiny"
    assert ov["policies"][-2:] == ["dalian_vouchers_2024", "shenyang_talent_3_0"]
    assert list(load_scenario("tiny").policies) == ov["policies"][:-2]
    with pytest.raises(ConfigError, match="'tiny' is not a policy card"):
        arm_spec("tiny", "dalian_vouchers_2024+tiny", {})


def test_compare_table_is_compact_focused_and_warns_with_few_replicates():
    from migrants.compare import compare, format_table

    table, meta, _ = compare("tiny", "liaoning_wage_arrears_clearing", replicates=2, months=2)
    assert meta["focus"][:1] == ["province:Liaoning"] and meta["focus"][-2:] == ["shenyang_metro", "all"]
    text = format_table(table, meta)
    assert max(map(len, text.splitlines()[3:])) <= 100
    assert "warning: 2 replicate(s)" in text
    assert "\nShenyang\n" not in text  # cities only with --by city
    assert "\nShenyang\n" in format_table(table, meta, by="city")


# -------------------------------------------------------------------- CLI
def cli(*args):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "migrants.cli", *args], capture_output=True, text=True, cwd=root,
                          timeout=600)


def test_cli_run_with_policy_writes_policy_month(tmp_path):
    import json

    out = tmp_path / "res"
    r = cli("run", "tiny", "--months", "3", "--quiet", "--out", str(out),
            "--policy", "shenyang_affordable_housing_75k", "--policy", "metro_shared_employment[start=2020-12]")
    assert r.returncode == 0, r.stderr
    pf = pd.read_parquet(out / "policy_month.parquet")
    assert list(pf.columns) == list(POLICY_COLUMNS)
    assert {"shenyang_affordable_housing_75k", "metro_shared_employment"} <= set(pf["policy"])
    meta = json.loads((out / "run.json").read_text())
    names = set(meta["config"]["policies"])
    assert "shenyang_affordable_housing_75k" in names
    assert meta["policy_totals"]["total_spend_cny"] == pytest.approx(pf["spend_cny"].sum())


@pytest.mark.parametrize("args, words", [
    (["run", "tiny", "--months", "1", "--policy", "no_such_card"], ["no_such_card"]),
    (["run", "tiny", "--months", "1", "--policy", "shenyang_talent_3_0[living_subsidy.by_degree.phd=.nan]"],
     ["living_subsidy.by_degree.phd", "finite"]),
    (["run", "tiny", "--months", "1", "--policy", "shenyang_talent_3_0[living_subsidy.months=-1]"],
     ["living_subsidy.months", "-1"]),
    (["compare", "tiny", "tiny", "--replicates", "0"], ["--replicates", "0"]),
    (["compare", "tiny", "no_such_policy", "--months", "1"], ["no_such_policy"]),
])
def test_cli_bad_policy_input_exits_2(tmp_path, args, words):
    r = cli(*args, "--out", str(tmp_path / "o"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_cli_compare_writes_table(tmp_path):
    out = tmp_path / "cmp"
    r = cli("compare", "tiny", "liaoning_wage_arrears_clearing", "--replicates", "2", "--months", "2",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    t = pd.read_parquet(out / "compare.parquet")
    assert {"region", "kpi", "base_mean", "policy_mean", "difference", "ci_low", "ci_high"} <= set(t.columns)
    assert {"shenyang_metro", "province:Liaoning", "all", "Shenyang"} <= set(t["region"])
    assert "cost_per_additional_resident" in set(t["kpi"])
    assert "difference = policy - base" in r.stdout
