"""``migrants compare BASE POLICY``: a policy package against a base, with common random numbers.

Both arms run ``R`` replicates; replicate ``r`` of both arms uses the same
seed (``seed + r``), so every random decision the policy does not touch is
drawn identically in both (common random numbers) and the difference measures
the policy, not the luck of the draw.  ``POLICY`` is a scenario (name or
path) or a policy card (name in ``configs/policies`` or a card YAML), or
several cards joined with ``+``, which are then added to ``BASE``'s cards.

KPIs per region (each city, each province of simulated cities, the Shenyang
metro area, all cities), per run, as ``migrants.outcomes`` defines them at the
run's last month: ``population``, ``net_migration``, ``graduates_stayed``,
``graduate_retention``, ``unemployment_rate``, ``subsidy_spend_cny``; and

==========================================  ===========================================================
``cost_per_additional_resident``            difference in spend / difference in population
``cost_per_additional_retained_graduate``   difference in spend / difference in graduates_stayed
==========================================  ===========================================================

For the first six, ``difference`` is the mean over replicates of (policy -
base) and the 95% interval is ``mean +- t(0.975, R-1) x sd / sqrt(R)``
(NaN with one replicate).  The two cost KPIs are ratios of mean differences
(``base_mean`` and ``policy_mean`` are NaN), with Fieller's interval
(``cost_per_gain``).  A cost is given only where it means something: the
gain (residents or retained graduates) is positive with a 95% interval that
excludes zero, and the policy spends more than the base.  Elsewhere it is
NaN and ``distinguishable`` is false (never a negative cost per resident).
``distinguishable`` of the other KPIs says whether their interval excludes 0.

The printed table is compact: the regions the policy targets (its cards'
``target`` and their provinces), the Shenyang metro area and all cities;
``--by province`` or ``--by city`` prints those rows instead.  The file
(``--out``) always holds every region.

``spread_low`` and ``spread_high`` are the central 90% of the replicates'
differences (what one run could show), ``sign_holds`` the share of replicates
whose difference has the sign of the mean.  With ``--ensemble K`` replicate
``k`` of both arms runs posterior draw ``k`` (``migrants.ensemble``) with seed
``seed + k``: the interval and the spread then carry the parameter
uncertainty, and ``sign_holds`` says how often the policy's sign holds across
parameter sets.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from .ensemble import draw_overrides, draw_parameters, sign_holds, spread
from .errors import ConfigError
from .outcomes import OUTCOMES, all_regions, evaluate
from .stats import t_quantile

KPIS = ("population", "net_migration", "graduates_stayed", "graduate_retention", "unemployment_rate",
        "subsidy_spend_cny")  # defined in migrants.outcomes
RATIOS = {"cost_per_additional_resident": "population",
          "cost_per_additional_retained_graduate": "graduates_stayed"}
COMPARE_COLUMNS = ("region", "region_type", "kpi", "base_mean", "policy_mean", "difference", "ci_low", "ci_high",
                   "distinguishable", "replicates", "spread_low", "spread_high", "sign_holds")
FEW_REPLICATES = 5  # below this the t intervals are wide and unstable: the table says so


def run_kpis(city_month: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """KPIs of one run (``migrants.outcomes``, at its last month): one row per region, one column per KPI."""
    regs = all_regions(cities)
    names = {f"{k}@{r}": f"{k}@{r}" for r, _, _ in regs for k in KPIS}
    last = evaluate(city_month, names, cities).iloc[-1]
    return pd.DataFrame([{"region": r, "region_type": kind, **{k: float(last[f"{k}@{r}"]) for k in KPIS}}
                         for r, kind, _ in regs])


def summarise(base: list[pd.DataFrame], policy: list[pd.DataFrame]) -> pd.DataFrame:
    """The compare table from per-replicate KPI frames of both arms (same regions, same order)."""
    R = len(base)
    tq = t_quantile(0.95, R)
    B = np.stack([b[list(KPIS)].to_numpy(float) for b in base])  # (R, regions, kpis)
    Pm = np.stack([p[list(KPIS)].to_numpy(float) for p in policy])
    D = Pm - B
    regs = base[0][["region", "region_type"]]
    rows = []
    for ri, (region, kind) in enumerate(regs.itertuples(index=False)):
        for ki, kpi in enumerate(KPIS):
            d = D[:, ri, ki]
            mean = float(d.mean())
            if R > 1:
                half = tq * float(d.std(ddof=1)) / math.sqrt(R)
                lo, hi = mean - half, mean + half
            else:
                lo = hi = float("nan")
            _, s_lo, s_hi = spread(d)
            told = bool(R > 1 and (lo > 0 or hi < 0))
            rows.append((region, kind, kpi, float(B[:, ri, ki].mean()), float(Pm[:, ri, ki].mean()), mean, lo, hi,
                         told, R, s_lo, s_hi, sign_holds(d)))
        ds = D[:, ri, KPIS.index("subsidy_spend_cny")]
        for kpi, den in RATIOS.items():
            dd = D[:, ri, KPIS.index(den)]
            est, lo, hi = cost_per_gain(ds, dd, tq)
            rows.append((region, kind, kpi, float("nan"), float("nan"), est, lo, hi, bool(np.isfinite(est)), R,
                         float("nan"), float("nan"), float("nan")))
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))


def cost_per_gain(spend: np.ndarray, gain: np.ndarray, tq: float) -> tuple[float, float, float]:
    """CNY of extra spend per unit of gain from per-replicate differences (R,): the ratio of
    the means and Fieller's interval (Fieller 1954; paired replicates, ``tq`` the t quantile).

    NaN (all three) unless the extra spend is positive and the gain is positive and told
    from zero (its ``tq`` interval excludes 0, which needs two replicates or more): a
    ratio over a gain that may be zero, or negative, or a saving, is not a cost.  With
    the gain told from zero Fieller's interval is bounded; unlike the delta method's it
    is not symmetric and does not reach below zero while the spend is told from zero.
    """
    nan = (float("nan"),) * 3
    R = spend.size
    a, b = float(spend.mean()), float(gain.mean())
    if R < 2 or a <= 0 or b <= 0:
        return nan
    (saa, sab), (_, sbb) = np.cov(spend, gain, ddof=1) / R  # variances of the means
    q = tq * tq
    A = b * b - q * sbb
    if A <= 0:  # the gain's interval includes zero
        return nan
    B = a * b - q * sab
    disc = B * B - A * (a * a - q * saa)
    root = math.sqrt(max(disc, 0.0))
    return a / b, (B - root) / A, (B + root) / A


# ------------------------------------------------------------------ runs
def _is_card(ref: str) -> bool:
    """Is ``ref`` a policy card (rather than a scenario)?"""
    from .config import scenario_path, read_yaml
    from .policy.cards import card_path, split_reference

    base, _ = split_reference(ref)
    if "[" in ref:
        return True  # bracket overrides exist for cards only
    sp = scenario_path(base)
    if sp.exists() and sp.suffix in (".yaml", ".yml"):
        try:
            return "lever" in read_yaml(sp, "file")  # a path: a card has a lever, a scenario has none
        except ConfigError:
            return False
    if sp.exists():
        return False
    return card_path(base).exists()


def arm_spec(base: str, policy: str, overrides: dict) -> tuple[str, dict]:
    """Scenario and overrides of the policy arm (a card is added to the base's cards).

    ``a+b+c`` is a sum of cards, each part taken as a card whatever else bears its name
    (scenarios cannot be summed); one name is a card or a scenario (``_is_card``).
    """
    from .policy.cards import card_path, split_reference
    from .policy.policyset import PolicySet

    parts = [p.strip() for p in policy.split("+")] if "+" in policy else [policy]
    if len(parts) > 1:
        for part in parts:
            if not part or not card_path(split_reference(part)[0]).exists():
                from .policy.cards import available_cards

                raise ConfigError(f"policy {policy!r}: part {part!r} is not a policy card; expected card names "
                                  f"joined with +, from {', '.join(available_cards())}")
    if len(parts) > 1 or _is_card(policy):
        return base, {**overrides, "policies": PolicySet.of(base, overrides).plus(parts).refs}
    return policy, dict(overrides)


def _one_run(scenario: str, seed: int, overrides: dict, threads: int | None = None) -> tuple[pd.DataFrame, float]:
    from .kernels import set_threads
    from .model import MigrationModel

    set_threads(threads)
    t0 = time.perf_counter()
    m = MigrationModel(scenario=scenario, rng=seed, overrides=overrides)
    m.run()
    kp = run_kpis(m.city_frame(), m.cities)
    return kp, time.perf_counter() - t0


def compare(base: str, policy: str, replicates: int = 5, months: int | None = None, scale: int | None = None,
            seed: int | None = None, sets: dict | None = None, jobs: int = 1, progress=None,
            ensemble: int | None = None, posterior: pd.DataFrame | None = None, threads: int | None = None):
    """Run both arms with common random numbers; returns (compare table, metadata).

    ``sets`` are dotted overrides applied to both arms (``--set``).  ``threads``: numba threads
    per run (default: one per run when ``jobs`` > 1, numba's default otherwise).  With ``ensemble=K``
    there are K replicates and replicate k of both arms takes posterior draw k (of
    ``posterior``, default the shipped one).
    """
    from .config import load_scenario
    from .policy.cards import card_path, load_card
    from .policy.policyset import PolicySet

    if replicates < 1:
        raise ConfigError(f"--replicates {replicates}: expected a whole number >= 1")
    ov = dict(sets or {})
    if months is not None:
        ov["months"] = int(months)
    if scale is not None:
        ov["scale"] = int(scale)
    base_cfg = load_scenario(base, ov)  # validates BASE (and the overrides) before anything runs
    pol_scenario, pol_ov = arm_spec(base, policy, ov)
    pol_cfg = load_scenario(pol_scenario, pol_ov)
    if base_cfg.cities != pol_cfg.cities and pol_scenario == policy and card_path(policy).exists():
        # a package and a card share the name (e.g. shenyang_talent_3_0): on another city set, take the card
        pol_scenario, pol_ov = base, {**ov, "policies": PolicySet.parse(base_cfg.policies).plus([policy]).refs}
        pol_cfg = load_scenario(pol_scenario, pol_ov)
    if base_cfg.cities != pol_cfg.cities:
        raise ConfigError(f"compare: {base!r} and {policy!r} simulate different cities; expected the same set")
    from .model import check_scenario

    for scen, o in ((base, ov), (pol_scenario, pol_ov)):  # check every card resolves before the long runs
        check_scenario(scen, o)
    if threads is None:
        from .kernels import default_threads

        threads = default_threads(jobs)
    seed0 = base_cfg.seed if seed is None else int(seed)
    draws = None
    if ensemble is not None:
        draws = draw_parameters(ensemble, seed0, posterior)
        replicates = ensemble
    seeds = [seed0 + r for r in range(replicates)]
    tasks = [(arm, r) for r in range(replicates) for arm in ("base", "policy")]
    spec = {"base": (base, ov), "policy": (pol_scenario, pol_ov)}

    def task_args(arm, r):
        scen, o = spec[arm]
        if draws is not None:  # the draw under the arm's own overrides (--set and the cards win)
            o = {**draw_overrides(draws, r), **o}
        return scen, seeds[r], o, threads

    if draws is not None:
        for a, r in tasks:
            scen, _, o, _ = task_args(a, r)
            load_scenario(scen, o)  # a draw outside the schema fails now
    t0 = time.perf_counter()
    if jobs > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs)(delayed(_one_run)(*task_args(a, r)) for a, r in tasks)
    else:
        results = []
        for i, (a, r) in enumerate(tasks):
            results.append(_one_run(*task_args(a, r)))
            if progress is not None:
                progress(i + 1, len(tasks))
    out = {"base": [], "policy": []}
    for (a, _), (kp, _) in zip(tasks, results):
        out[a].append(kp)
    table = summarise(out["base"], out["policy"])
    changed = sorted(set(pol_cfg.policies) ^ set(base_cfg.policies))
    targets = []
    for ref in changed:
        tg = load_card(ref).target
        targets += [tg] if isinstance(tg, str) else list(tg)
    from .cities import scenario_cities

    meta = {"base": base, "policy": policy, "policy_scenario": pol_scenario,
            "focus": focus_regions(table, targets, scenario_cities(base_cfg)),
            "policy_cards": list(pol_cfg.policies), "base_cards": list(base_cfg.policies),
            "replicates": replicates, "seeds": seeds, "months": base_cfg.months, "scale": base_cfg.scale,
            "start": base_cfg.start, "wall_s": time.perf_counter() - t0,
            "method": "common random numbers: replicate r of both arms uses seed + r; 95% t intervals"
                      + ("; parameter ensemble: replicate r of both arms uses posterior draw r" if draws is not None
                         else ""),
            "ensemble": None if draws is None else {"members": int(ensemble), "draws": draws.to_dict("list")}}
    reps = pd.concat([pd.concat(out[a], keys=seeds, names=["seed", "row"]).reset_index(level=0).assign(arm=a)
                      for a in ("base", "policy")], ignore_index=True)
    return table, meta, reps


def focus_regions(table: pd.DataFrame, targets: list[str], cities: pd.DataFrame | None = None) -> list[str]:
    """The regions a reader of a comparison looks at first: the policy's targets, their
    provinces, the Shenyang metro area and all cities (those of them in ``table``)."""
    out = []
    prov = {} if cities is None else dict(zip(cities["name_en"], cities["province"]))
    for t in targets:
        out.append(t)
        if t in prov:
            out.append(f"province:{prov[t]}")
    out += ["shenyang_metro", "all"]
    have = set(table["region"])
    return [r for r in dict.fromkeys(out) if r in have]


LABELS = {**{k: OUTCOMES[k].label for k in KPIS}, "population": "residents at the end",
          "cost_per_additional_resident": "CNY per extra resident",
          "cost_per_additional_retained_graduate": "CNY per extra retained graduate"}
SHARES = tuple(k for k in KPIS if OUTCOMES[k].share)


def format_table(table: pd.DataFrame, meta: dict, by: str | None = None) -> str:
    """Plain-text summary, one block per region: each KPI's difference with its 95% interval.

    ``by``: None (the focus regions, ``meta["focus"]``), "province" or "city".
    """
    if by in ("city", "province"):
        t = table[table["region_type"] == by]
    else:
        focus = meta.get("focus") or list(dict.fromkeys(table.loc[table["region_type"] != "city", "region"]))
        t = table[table["region"].isin(focus)]
        t = t.assign(_o=t["region"].map({r: i for i, r in enumerate(focus)})).sort_values("_o", kind="stable")

    def num(x, k):
        if pd.isna(x):
            return ""
        return f"{100 * x:+.2f}pp" if k in SHARES else f"{x:+,.0f}"

    lines = []
    for region, g in t.groupby("region", sort=False):
        lines.append(f"{region}")
        for _, r in g.iterrows():
            k = r["kpi"]
            if k in RATIOS and not r["distinguishable"]:
                cell = "- (gain not told from zero, or no extra spend)"
            elif pd.isna(r["difference"]):
                cell = "-"
            else:
                ci = "" if pd.isna(r["ci_low"]) else f"  [{num(r['ci_low'], k)}, {num(r['ci_high'], k)}]"
                if k in RATIOS:
                    ci = ci.replace("+", "")
                    cell = f"{r['difference']:,.0f}{ci}"
                else:
                    cell = num(r["difference"], k) + ci + ("" if r["distinguishable"] else "  (n.s.)")
            lines.append(f"  {LABELS.get(k, k):<34}{cell}")
    head = (f"compare: {meta['policy']} vs {meta['base']}, {meta['replicates']} replicate(s) "
            f"(seeds {meta['seeds'][0]}..{meta['seeds'][-1]}), {meta['months']} months from {meta['start']}, "
            f"scale {meta['scale']}\ndifference = policy - base, mean over replicates [95% CI]; "
            "n.s.: the interval includes 0")
    if meta["replicates"] < FEW_REPLICATES:
        head += (f"\nwarning: {meta['replicates']} replicate(s): intervals from fewer than {FEW_REPLICATES} are "
                 "wide and unstable; use -r 5 or more")
    text = head + "\n\n" + "\n".join(lines) + "\n"
    if meta.get("ensemble"):
        pop = t[t["kpi"] == "population"].set_index("region")["sign_holds"]
        text += ("\nparameter ensemble of " + str(meta["ensemble"]["members"]) + " posterior draws: the interval "
                 "includes parameter uncertainty.\nsign of the population difference holds in: "
                 + (", ".join(f"{r} {100 * v:.0f}%" for r, v in pop.loc[list(dict.fromkeys(t["region"]))].items()
                              if pd.notna(v))
                    or "no region's population differs") + "\n")
    return text
