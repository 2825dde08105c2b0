"""``migrants compare BASE POLICY``: a policy package against a base, with common random numbers.

Both arms run ``R`` replicates; replicate ``r`` of both arms uses the same
seed (``seed + r``), so every random decision the policy does not touch is
drawn identically in both (common random numbers) and the difference measures
the policy, not the luck of the draw.  ``POLICY`` is a scenario (name or
path) or a policy card (name in ``configs/policies`` or a card YAML), or
several cards joined with ``+``, which are then added to ``BASE``'s cards.

KPIs per region (each city, each province of simulated cities, the Shenyang
metro area, all cities), per run:

==================================  ===============================================================
``population``                      residents in the last month (persons)
``net_migration``                   net migration summed over the run (persons; moves between
                                    cities of the region cancel)
``graduates_retained``              graduates still in their university city at the end of their
                                    graduation month, summed over the run (persons)
``graduate_retention``              graduates_retained / graduates
``unemployment_rate``               unemployed / labour force, mean of the last 12 months
``spend_cny``                       policy spend booked in the region over the run (CNY)
``cost_per_additional_resident``    difference in spend / difference in population
``cost_per_additional_retained_graduate``  difference in spend / difference in graduates_retained
==================================  ===============================================================

For the first six, ``difference`` is the mean over replicates of (policy -
base) and the 95% interval is ``mean +- t(0.975, R-1) x sd / sqrt(R)``
(NaN with one replicate).  The two cost KPIs are ratios of mean differences
(``base_mean`` and ``policy_mean`` are NaN); their interval is the delta
method's, and NaN when the denominator's own interval includes zero (the
policy adds no residents or graduates that can be told from zero).

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
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd

from .ensemble import draw_overrides, draw_parameters, sign_holds, spread
from .errors import ConfigError

KPIS = ("population", "net_migration", "graduates_retained", "graduate_retention", "unemployment_rate", "spend_cny")
RATIOS = {"cost_per_additional_resident": "population",
          "cost_per_additional_retained_graduate": "graduates_retained"}
COMPARE_COLUMNS = ("region", "region_type", "kpi", "base_mean", "policy_mean", "difference", "ci_low", "ci_high",
                   "replicates", "spread_low", "spread_high", "sign_holds")


def regions(cities: pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(region, region_type, city names): each city, each province, the metro area, all."""
    names = list(cities["name_en"])
    out = [(n, "city", [n]) for n in names]
    for p in dict.fromkeys(cities["province"]):
        out.append((f"province:{p}", "province", list(cities.loc[cities["province"] == p, "name_en"])))
    metro = list(cities.loc[cities["in_shenyang_metro"].astype(bool), "name_en"])
    if metro:
        out.append(("shenyang_metro", "metro", metro))
    out.append(("all", "all", names))
    return out


def run_kpis(city_month: pd.DataFrame, regs) -> pd.DataFrame:
    """KPIs of one run: one row per region, one column per KPI."""
    last = city_month["month"].max()
    run = city_month[city_month["month"] > city_month["month"].min()] if last > 0 else city_month
    tail = city_month[city_month["month"] > max(last - 12, 0)] if last > 0 else city_month
    by = run.groupby("city")[["net_migration", "graduates", "graduates_stayed", "subsidy_spend_cny"]].sum()
    end = city_month[city_month["month"] == last].set_index("city")["population"]
    t = tail.groupby(["month", "city"])[["unemployed", "employed"]].sum()
    rows = []
    for name, kind, members in regs:
        g = by.reindex(members).fillna(0).sum()
        tu = t[t.index.get_level_values("city").isin(members)].groupby(level="month").sum()
        lf = tu["unemployed"] + tu["employed"]
        urate = float((tu["unemployed"] / lf.where(lf > 0)).mean()) if len(tu) else float("nan")
        rows.append({
            "region": name, "region_type": kind,
            "population": float(end.reindex(members).fillna(0).sum()),
            "net_migration": float(g["net_migration"]),
            "graduates_retained": float(g["graduates_stayed"]),
            "graduate_retention": float(g["graduates_stayed"] / g["graduates"]) if g["graduates"] > 0 else float("nan"),
            "unemployment_rate": urate,
            "spend_cny": float(g["subsidy_spend_cny"]),
        })
    return pd.DataFrame(rows)


def _t975(df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def summarise(base: list[pd.DataFrame], policy: list[pd.DataFrame]) -> pd.DataFrame:
    """The compare table from per-replicate KPI frames of both arms (same regions, same order)."""
    R = len(base)
    tq = _t975(R - 1) if R > 1 else float("nan")
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
            rows.append((region, kind, kpi, float(B[:, ri, ki].mean()), float(Pm[:, ri, ki].mean()), mean, lo, hi, R,
                         s_lo, s_hi, sign_holds(d)))
        ds = D[:, ri, KPIS.index("spend_cny")]
        for kpi, den in RATIOS.items():
            dd = D[:, ri, KPIS.index(den)]
            est, lo, hi = _ratio(ds, dd, tq)
            rows.append((region, kind, kpi, float("nan"), float("nan"), est, lo, hi, R, float("nan"), float("nan"),
                         float("nan")))
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))


def _ratio(num: np.ndarray, den: np.ndarray, tq: float) -> tuple[float, float, float]:
    """Ratio of means with a delta-method interval (NaN where the denominator is not told from 0)."""
    R = num.size
    mn, md = float(num.mean()), float(den.mean())
    if md == 0:
        return float("nan"), float("nan"), float("nan")
    est = mn / md
    if R < 2:
        return est, float("nan"), float("nan")
    sd_d = float(den.std(ddof=1))
    if abs(md) <= tq * sd_d / math.sqrt(R):
        return est, float("nan"), float("nan")
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * est * cov[0, 1] + est * est * cov[1, 1]) / (md * md) / R
    half = tq * math.sqrt(max(var, 0.0))
    return est, est - half, est + half


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
    """Scenario and overrides of the policy arm (a card is added to the base's cards)."""
    from .config import load_scenario

    parts = [p.strip() for p in policy.split("+")] if "+" in policy else [policy]
    if all(_is_card(p) for p in parts):
        cfg = load_scenario(base, {k: v for k, v in overrides.items() if k != "policies"})
        return base, {**overrides, "policies": list(cfg.policies) + parts}
    return policy, dict(overrides)


def _one_run(scenario: str, seed: int, overrides: dict) -> tuple[pd.DataFrame, float]:
    from .model import MigrationModel

    t0 = time.perf_counter()
    m = MigrationModel(scenario=scenario, rng=seed, overrides=overrides)
    m.run()
    kp = run_kpis(m.city_frame(), regions(m.cities))
    return kp, time.perf_counter() - t0


def compare(base: str, policy: str, replicates: int = 5, months: int | None = None, scale: int | None = None,
            seed: int | None = None, sets: dict | None = None, jobs: int = 1, progress=None,
            ensemble: int | None = None, posterior: pd.DataFrame | None = None):
    """Run both arms with common random numbers; returns (compare table, metadata).

    ``sets`` are dotted overrides applied to both arms (``--set``).  With ``ensemble=K``
    there are K replicates and replicate k of both arms takes posterior draw k (of
    ``posterior``, default the shipped one).
    """
    from .config import load_scenario
    from .policy.cards import card_path

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
        pol_scenario, pol_ov = base, {**ov, "policies": list(base_cfg.policies) + [policy]}
        pol_cfg = load_scenario(pol_scenario, pol_ov)
    if base_cfg.cities != pol_cfg.cities:
        raise ConfigError(f"compare: {base!r} and {policy!r} simulate different cities; expected the same set")
    from .model import MigrationModel

    for scen, o in ((base, ov), (pol_scenario, pol_ov)):  # check every card resolves before the long runs
        MigrationModel(scenario=scen, overrides={**o, "scale": 10**7, "months": 0})
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
        return scen, seeds[r], o

    if draws is not None:
        for a, r in tasks:
            scen, _, o = task_args(a, r)
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
    meta = {"base": base, "policy": policy, "policy_scenario": pol_scenario,
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


def format_table(table: pd.DataFrame, meta: dict, cities: bool = False) -> str:
    """Plain-text summary: per region, each KPI's difference with its 95% interval."""
    t = table if cities else table[table["region_type"] != "city"]

    def fmt(row):
        d, lo, hi, k = row["difference"], row["ci_low"], row["ci_high"], row["kpi"]
        if pd.isna(d):
            return "-"
        f = (lambda x: f"{100 * x:+.2f}pp") if k in ("graduate_retention", "unemployment_rate") else (lambda x: f"{x:+,.0f}")
        return f(d) if pd.isna(lo) else f"{f(d)} [{f(lo)}, {f(hi)}]"

    w = t.assign(cell=t.apply(fmt, axis=1)).pivot(index="region", columns="kpi", values="cell")
    order = list(dict.fromkeys(t["region"]))
    cols = [k for k in (*KPIS, *RATIOS) if k in w.columns]
    head = (f"compare: {meta['policy']} vs {meta['base']}, {meta['replicates']} replicate(s) "
            f"(seeds {meta['seeds'][0]}..{meta['seeds'][-1]}), {meta['months']} months from {meta['start']}, "
            f"scale {meta['scale']}\ndifference = policy - base, mean over replicates [95% CI]")
    text = head + "\n\n" + w.loc[order, cols].T.to_string() + "\n"
    if meta.get("ensemble"):
        pop = t[t["kpi"] == "population"].set_index("region")["sign_holds"]
        text += ("\nparameter ensemble of " + str(meta["ensemble"]["members"]) + " posterior draws: the interval "
                 "includes parameter uncertainty.\nsign of the population difference holds in: "
                 + (", ".join(f"{r} {100 * v:.0f}%" for r, v in pop.loc[order].items() if pd.notna(v))
                    or "no region's population differs") + "\n")
    return text


def register(app) -> None:
    """Add the ``compare`` command to the ``migrants`` Typer app."""
    import typer

    @app.command("compare")
    def compare_cmd(
        base: str = typer.Argument(..., help="Base scenario (name in configs/scenarios or YAML path)."),
        policy: str = typer.Argument(..., help="Policy scenario, or policy card(s) to add to BASE (a+b+c)."),
        replicates: int = typer.Option(5, "--replicates", "-r", help="Replicates per arm (seeds seed..seed+R-1)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for compare.parquet and compare.json."),
        months: Optional[int] = typer.Option(None, "--months", help="Months to simulate (default: the scenario's)."),
        scale: Optional[int] = typer.Option(None, "--scale", help="Persons per agent (default: the scenario's)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="First seed (default: BASE's seed)."),
        set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field in both arms: path=value."),
        jobs: int = typer.Option(1, "--jobs", help="Runs in parallel (joblib)."),
        ensemble: Optional[int] = typer.Option(None, "--ensemble", help="K replicates, replicate k with posterior "
                                               "draw k (parameter uncertainty); replaces --replicates."),
        cities: bool = typer.Option(False, "--cities", help="Print city rows too (always written to the file)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress or table."),
    ):
        """Compare a policy with a base: differences per city, province and metro area, with 95% CIs."""
        import sys

        from tqdm import tqdm

        from .cli import fail, parse_sets
        from .io import write_json, write_parquet

        if replicates < 1:
            fail(f"--replicates {replicates}: expected a whole number >= 1")
        if months is not None and months < 1:
            fail(f"--months {months}: expected a whole number of months >= 1")
        if scale is not None and scale < 1:
            fail(f"--scale {scale}: expected a whole number of persons per agent >= 1")
        if jobs < 1:
            fail(f"--jobs {jobs}: expected a whole number >= 1")
        if ensemble is not None and ensemble < 1:
            fail(f"--ensemble {ensemble}: expected a whole number of parameter draws >= 1")
        try:
            n_runs = 2 * (ensemble or replicates)
            with tqdm(total=n_runs, unit="run", disable=quiet, file=sys.stderr) as bar:
                table, meta, reps = compare(base, policy, replicates, months, scale, seed, parse_sets(set_), jobs,
                                            progress=lambda i, n: bar.update(1), ensemble=ensemble)
        except ConfigError as e:
            fail(str(e))
        if out is not None:
            write_parquet(reps, out / "compare_replicates.parquet")
            write_json(meta, out / "compare.json")
            write_parquet(table, out / "compare.parquet")
        if not quiet:
            typer.echo(format_table(table, meta, cities))
            if out is not None:
                typer.echo(f"wrote {out}/compare.parquet, compare_replicates.parquet, compare.json")
