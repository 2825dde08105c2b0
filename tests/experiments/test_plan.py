"""From a spec to runs: ids, arms, overrides (incl. policy cards), baseline values, manifest."""

from __future__ import annotations

import pytest

from migrants.config import load_scenario
from migrants.errors import ConfigError
from migrants.experiments import plan as plan_mod
from migrants.experiments.plan import make_plan
from migrants.policy.policyset import card_key
from migrants.experiments.seeds import BASELINE_POINT

from .conftest import TINY, tiny_dict


def test_tiny_plan():
    p = make_plan(TINY)
    ids = [r.run_id for r in p.runs]
    assert ids == ["base-r00", "base-r01", "p0000-r00", "p0000-r01", "p0001-r00", "p0001-r01",
                   "p0002-r00", "p0002-r01", "p0003-r00", "p0003-r01"]
    assert len(set(ids)) == len(ids)
    base = p.by_id["base-r01"]
    assert base.point == BASELINE_POINT and base.arm == "scenario_default"
    cfg = load_scenario("tiny").decisions
    assert base.values == {"beta_income": cfg.beta_income.value, "move_cost_fixed": cfg.move_cost_fixed.value}
    assert p.overrides(base) == {"months": 12}
    run = p.by_id["p0002-r01"]
    assert run.arm == "beta_income=2, move_cost_fixed=2"
    assert p.overrides(run) == {"months": 12, "decisions.beta_income": 2.0, "decisions.move_cost_fixed": 2.0}
    assert run.seed == base.seed == p.by_id["p0000-r01"].seed  # common random numbers
    assert p.provinces == ["Liaoning", "Jilin", "Heilongjiang", "Beijing"]
    m = p.manifest({"migrants": "x"})
    assert m["spec_hash"] == make_plan(TINY).manifest({})["spec_hash"]
    assert len(m["runs"]) == 10 and m["runs"][0]["seed_spawn_key"] == [0]
    ids = p.id_frame(run, 3)
    assert list(ids.columns) == ["run_id", "arm", "point", "replicate", "beta_income", "move_cost_fixed", "seed",
                                 "seed_entropy", "seed_spawn_key"]
    assert len(ids) == 3 and ids["seed_entropy"].iloc[0] == "20240601"


def test_spec_hash_ignores_description_and_analysis():
    a = make_plan({**tiny_dict(), "description": "other words"}).manifest({})["spec_hash"]
    b = make_plan(TINY).manifest({})["spec_hash"]
    c = make_plan({**tiny_dict(), "replicates": 3}).manifest({})["spec_hash"]
    d = make_plan({**tiny_dict(), "analysis": {"confidence": 0.9}}).manifest({})["spec_hash"]
    assert a == b == d != c  # the analysis settings change no run: a sweep may resume with others


def test_policy_cards_become_references(monkeypatch):
    """Card factors switch cards on/off or set their fields through ``card[field=value; ...]``."""
    monkeypatch.setattr(plan_mod, "_card_loader", lambda: None)  # the cards themselves are the policy code's
    spec = {**tiny_dict(), "overrides": {"policies": []},  # without the scenario's own cards
            "policies": ["family_support[births.fertility_elasticity=0.3]"], "factors": [
        {"name": "talent", "card": "shenyang_talent", "levels": [False, True, {"living_subsidy.months": 60}],
         "labels": ["off", "on", "long"]},
        {"name": "platform", "card": "configs/policies/metro_platform.yaml"},
        {"name": "speedup", "path": "policies.metro_platform.matching_speedup", "levels": [0.1, 0.4]},
        {"path": "decisions.beta_income", "levels": [1.5]},
    ], "baseline": {"name": "none"}}
    p = make_plan(spec)
    assert len(p.design) == 3 * 2 * 2
    runs = {r.arm: r for r in p.runs if r.replicate == 0}
    ov = p.overrides(runs["talent=long, platform=on, speedup=0.4, beta_income=1.5"])
    assert ov["policies"] == ["family_support[births.fertility_elasticity=0.3]",
                              "shenyang_talent[living_subsidy.months=60]",
                              "configs/policies/metro_platform.yaml[matching_speedup=0.4]"]
    assert ov["decisions.beta_income"] == 1.5 and ov["months"] == 12 and "policies" not in list(ov)[1:]
    ov = p.overrides(runs["talent=off, platform=off, speedup=0.1, beta_income=1.5"])
    assert ov["policies"] == ["family_support[births.fertility_elasticity=0.3]"]  # field factor of an off card
    ov = p.overrides(runs["talent=on, platform=off, speedup=0.1, beta_income=1.5"])
    assert ov["policies"] == ["family_support[births.fertility_elasticity=0.3]", "shenyang_talent"]
    base = p.overrides(next(r for r in p.runs if r.point == BASELINE_POINT))
    assert base["policies"] == ["family_support[births.fertility_elasticity=0.3]"]
    assert p.baseline_values["talent"] is False and p.baseline_values["platform"] is False
    assert p.kinds == {"talent": "json", "platform": "bool", "speedup": "float", "beta_income": "float"}
    assert card_key("configs/policies/x.yaml") == card_key("x") == "x"


def test_card_preflight_uses_the_policy_loader(monkeypatch):
    seen = []

    def loader():
        def load_cards(refs):
            seen.append(list(refs))
            if any("bad" in r for r in refs):
                raise ConfigError("policy card 'bad_card': no such file")
        return load_cards

    monkeypatch.setattr(plan_mod, "_card_loader", loader)
    spec = {**tiny_dict(), "overrides": {"policies": []}, "factors": [{"card": "good_card"}, {"card": "bad_card"}]}
    with pytest.raises(ConfigError, match=r"factor `bad_card` \(card `bad_card`\) = True: policy card 'bad_card'"):
        make_plan(spec)
    assert seen == [["good_card"], ["bad_card"]]  # each level alone; an empty list is not loaded


def test_baseline_overrides_and_fixed_overrides():
    spec = {**tiny_dict(), "overrides": {"labour.separation_rate_month": 0.02}, "scale": 2000,
            "baseline": {"name": "low_income_pull", "overrides": {"decisions.beta_income": 0.5}}}
    p = make_plan(spec)
    base = next(r for r in p.runs if r.point == BASELINE_POINT)
    assert p.overrides(base) == {"labour.separation_rate_month": 0.02, "months": 12, "scale": 2000,
                                 "decisions.beta_income": 0.5}
    assert base.values["beta_income"] == 0.5


def test_fixed_policies_override_is_kept():
    p = make_plan({**tiny_dict(), "overrides": {"policies": []}})
    assert all(p.overrides(r)["policies"] == [] for r in p.runs)
    p = make_plan(tiny_dict())
    assert all("policies" not in p.overrides(r) for r in p.runs)  # the scenario's own cards, untouched


@pytest.mark.skipif(not __import__("migrants.ensemble", fromlist=["POSTERIOR"]).POSTERIOR.exists(),
                    reason="no shipped posterior")
def test_an_ensemble_sweep_runs_every_point_under_every_draw():
    from migrants.ensemble import draw_parameters

    p = make_plan({**tiny_dict(), "ensemble": 3, "replicates": 2})
    assert p.replicates == 6 and len(p.runs) == 5 * 6
    draws = draw_parameters(3, tiny_dict()["seed"])
    run = p.by_id["p0002-r05"]  # replicate 5: draw 5 // 2 = 2
    assert p.draw_of(run) == 2
    ov = p.overrides(run)
    free = [c for c in draws.columns if c.startswith("decisions.") and c not in
            ("decisions.beta_income", "decisions.move_cost_fixed")]
    assert all(ov[c] == draws.at[2, c] for c in free)  # the draw's parameters
    assert ov["decisions.beta_income"] == 2.0  # a factor wins over the draw
    base = p.by_id["base-r05"]
    assert p.overrides(base)["decisions.beta_income"] == draws.at[2, "decisions.beta_income"]
    assert len({r.seed.seed for r in p.runs if r.point == 2}) == 6  # each run its own stream
    assert "draw" in p.id_frame(run).columns and p.manifest({})["ensemble"]["members"] == 3
