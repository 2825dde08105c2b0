"""Lever combinations across the uncertainties (EMA Workbench's policies x scenarios).

A sweep's factors are levers (what a government chooses: cards, card fields)
or uncertainties (what it does not: behavioural parameters); see
``spec.Factor.role``.  A *lever combination* is one set of lever values; an
*uncertainty sample* one set of uncertainty values (with no uncertainty
factors there is one sample, the scenario's values).  In a factorial design,
and in a Latin hypercube crossed with the levers (``design.crossed``), every
combination runs on every sample with the same seeds, so they are compared
on equal terms:

* ``lever_table``: per combination and KPI, the mean over samples and
  replicates with its t interval (over the samples' means, or over
  replicates with one sample), the worst sample's mean, and the regret: in each
  sample, how far the combination falls short of the best combination in that
  sample (the largest shortfall over samples, and the mean);
* ``lever_rankings``: per KPI, the best combination and ``p_best``, the share
  of (sample, replicate) cells in which it was best or tied;
* ``lever_frontier``: per combination, extra spend and population gain against
  the reference combination (every card lever off, other levers at their first
  level) in the same sample and replicate, and the cost per extra resident
  where the gain is told from zero (``compare.cost_per_gain``).

Which way is better comes from ``migrants.outcomes`` (``Outcome.better``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .kpis import outcome_of

BASELINE_POINT = -1
LEVER, SAMPLE = "levers", "sample"


def roles(manifest: dict) -> tuple[list[str], list[str]]:
    """(lever factor names, uncertainty factor names) of a sweep (``manifest["design"]["roles"]``)."""
    given = manifest["design"].get("roles") or {}
    levers, uncertain = [], []
    for f in manifest["spec"]["factors"]:
        role = given.get(f["name"]) or ("lever" if f.get("card") or str(f.get("path", "")).startswith("policies.")
                                        else "uncertainty")
        (levers if role == "lever" else uncertain).append(f["name"])
    return levers, uncertain


def higher_is_better(kpi_column: str) -> bool:
    """Is more of this KPI column better (population) or less (spend, unemployment)?"""
    o = outcome_of(kpi_column)
    return o is None or o.better == "higher"


def with_keys(summary: pd.DataFrame, manifest: dict, uncertain: list[str]) -> pd.DataFrame:
    """The design runs (not the baseline arm) with their ``levers`` label (the manifest's, by
    design point) and a ``sample`` id (one per distinct set of uncertainty values)."""
    d = summary[summary["point"] != BASELINE_POINT].copy()
    labels = {p["point"]: p.get("levers", p["arm"]) for p in manifest["design"]["points"]}
    d[LEVER] = d["point"].map(labels)
    if uncertain and len(d):
        keys = d[uncertain].astype(str).agg("|".join, axis=1)
        d[SAMPLE] = pd.factorize(keys)[0]
    else:
        d[SAMPLE] = 0
    return d


def is_share(kpi_column: str) -> bool:
    """Is this KPI column a share in [0, 1] (retention, unemployment)?"""
    o = outcome_of(kpi_column)
    return o is not None and o.share


def _cells(d: pd.DataFrame, k: str) -> pd.DataFrame:
    """Mean over replicates: rows samples, columns lever combinations (design order)."""
    order = list(dict.fromkeys(d[LEVER]))
    return d.pivot_table(index=SAMPLE, columns=LEVER, values=k, aggfunc="mean", dropna=False).reindex(columns=order)


def lever_table(d: pd.DataFrame, levers: list[str], kpis: list[str], confidence: float) -> pd.DataFrame:
    from ..stats import t_interval

    order = list(dict.fromkeys(d[LEVER]))
    first = d.drop_duplicates(LEVER).set_index(LEVER)
    out = pd.DataFrame({LEVER: order})
    for n in levers:
        out[n] = [first.loc[c, n] for c in order]
    out["samples"] = [int(d.loc[d[LEVER] == c, SAMPLE].nunique()) for c in order]
    out["runs"] = [int((d[LEVER] == c).sum()) for c in order]
    for k in kpis:
        cells = _cells(d, k)
        hi = higher_is_better(k)
        best = cells.max(axis=1) if hi else cells.min(axis=1)
        regret = (best.to_numpy()[:, None] - cells.to_numpy()) if hi else (cells.to_numpy() - best.to_numpy()[:, None])
        stats = []
        for j, c in enumerate(order):
            x = cells[c].to_numpy(float) if len(cells) > 1 else d.loc[d[LEVER] == c, k].to_numpy(float)
            mean, _, lo, high, _ = t_interval(x, confidence)
            col = cells[c].to_numpy(float)
            with warnings.catch_warnings():  # a KPI with no value yet (no graduates): NaN, quietly
                warnings.simplefilter("ignore", RuntimeWarning)
                stats.append((mean, lo, high, np.nanmin(col) if hi else np.nanmax(col),
                              np.nanmax(regret[:, j]), np.nanmean(regret[:, j])))
        s = np.array(stats, float)
        if is_share(k):
            s[:, 1:3] = np.clip(s[:, 1:3], 0.0, 1.0)
        out[f"{k}_mean"], out[f"{k}_ci_low"], out[f"{k}_ci_high"] = s[:, 0], s[:, 1], s[:, 2]
        out[f"{k}_worst"], out[f"{k}_regret_max"], out[f"{k}_regret_mean"] = s[:, 3], s[:, 4], s[:, 5]
    return out


def lever_rankings(d: pd.DataFrame, table: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    rows = []
    for k in kpis:
        t = table.dropna(subset=[f"{k}_mean"])
        if t.empty:
            continue
        hi = higher_is_better(k)
        best = t.loc[t[f"{k}_mean"].idxmax() if hi else t[f"{k}_mean"].idxmin()]
        wide = d.pivot_table(index=[SAMPLE, "replicate"], columns=LEVER, values=k, aggfunc="first").dropna()
        p_best = np.nan
        if len(wide) and wide.shape[1] > 1:
            top = wide.max(axis=1) if hi else wide.min(axis=1)
            p_best = float((wide[best[LEVER]] == top).mean())  # ties count as best
        rows.append({"kpi": k, "direction": "higher" if hi else "lower", "best_arm": best[LEVER],
                     "mean": best[f"{k}_mean"], "ci_low": best[f"{k}_ci_low"], "ci_high": best[f"{k}_ci_high"],
                     "worst": best[f"{k}_worst"], "regret_max": best[f"{k}_regret_max"], "p_best": p_best,
                     "replicates_compared": len(wide), "arms": len(t)})
    return pd.DataFrame(rows)


def lever_frontier(d: pd.DataFrame, reference: str, pop_kpi: str, spend_kpi: str, confidence: float) -> pd.DataFrame:
    """Gain and extra spend of each combination against ``reference``, paired on (sample, replicate)."""

    from ..compare import cost_per_gain
    from ..stats import t_interval, t_quantile
    from .analysis import _pareto

    wide = {k: d.pivot_table(index=[SAMPLE, "replicate"], columns=LEVER, values=k, aggfunc="first")
            for k in (pop_kpi, spend_kpi)}
    rows = []
    for c in dict.fromkeys(d[LEVER]):
        if c == reference:
            continue
        pair = pd.concat([wide[k][[c, reference]] for k in (pop_kpi, spend_kpi)], axis=1).dropna()
        gain = (pair.iloc[:, 0] - pair.iloc[:, 1]).to_numpy(float)
        spend = (pair.iloc[:, 2] - pair.iloc[:, 3]).to_numpy(float)
        g, _, g_lo, g_hi, n = t_interval(gain, confidence)
        s, _, s_lo, s_hi, _ = t_interval(spend, confidence)
        tq = t_quantile(confidence, n)
        cost, c_lo, c_hi = cost_per_gain(spend, gain, tq)
        rows.append({"arm": c, "pairs": n, "spend_extra": s, "spend_extra_ci_low": s_lo, "spend_extra_ci_high": s_hi,
                     "population_gain": g, "population_gain_ci_low": g_lo, "population_gain_ci_high": g_hi,
                     "cost_per_extra_resident": cost, "cost_ci_low": c_lo, "cost_ci_high": c_hi,
                     "distinguishable": bool(np.isfinite(cost))})
    fr = pd.DataFrame(rows)
    if len(fr):
        fr["on_frontier"] = _pareto(fr["spend_extra"].to_numpy(float), fr["population_gain"].to_numpy(float),
                                    (0.0, 0.0))
        fr.insert(1, "reference", reference)
    return fr
