"""Statistics of a finished (or partly finished) sweep, as tables.

``analyse(summary, manifest)`` returns a dict of DataFrames:

* ``arms``: per arm and KPI, n, mean, sd and a t confidence interval;
* ``levers``: per lever combination, each KPI's mean, interval, worst case and
  regret across the uncertainties (``levers.py``; also ``report/levers.parquet``);
* ``rankings``: per KPI, the best *lever combination* (highest, or lowest for
  unemployment and spend), its interval, worst case and regret, and ``p_best``:
  the share of (uncertainty sample, replicate) cells in which it was best or
  tied (a paired comparison with common random numbers).  A sweep without
  levers ranks nothing: its factors are uncertainties, not choices;
* ``contrasts``: per arm and KPI, the paired difference to the baseline arm
  (same replicate = same random numbers) with its interval;
* ``main_effects`` and ``interactions``: mean KPI per factor level (and per
  pair of levels), the effect against the grand mean and the two-way
  interaction residual (cell - row - column + grand mean); numeric factors
  with many values are cut into quartiles;
* ``sobol`` (Saltelli designs): first-order S1 and total ST indices with
  bootstrap intervals (``sobol_s2`` with second order), from the mean over
  replicates of each design point;
* ``morris`` (Morris designs): mu, mu* and sigma of the elementary effects;
* ``prim``: scenario discovery (``discovery.py``): for each lever combination,
  PRIM boxes of the uncertainty samples in which it adds no residents against
  the reference combination (also ``report/prim.parquet``);
* ``feature_scores``: extra-trees feature scores of every factor for every KPI;
* ``frontier``: per lever combination, extra spend and population gain against
  the reference combination (card levers off) in the same uncertainty sample
  and replicate, the cost per extra resident where the gain is told from zero,
  and whether the combination is on the cost-effectiveness frontier (no other
  gains more for less).

``notes`` (a list of strings) says what was skipped and why.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from ..stats import t_interval  # noqa: F401  (re-exported: sweeps' tables)

from .levers import LEVER, lever_frontier, lever_rankings, lever_table, roles, with_keys

MAX_LEVELS = 6  # numeric factors with more distinct values are cut into quartiles
SOBOL_MIN_N = 512  # base samples below which Sobol indices are noted as unstable
MORRIS_MIN_R = 10  # Morris trajectories below which the screening is noted as coarse
BASELINE_POINT = -1


def _stat_rows(groups, kpis, confidence, keys: dict) -> list[dict]:
    rows = []
    for k in kpis:
        m, sd, lo, hi, n = t_interval(groups[k].to_numpy(), confidence)
        rows.append({**keys, "kpi": k, "n": n, "mean": m, "sd": sd, "ci_low": lo, "ci_high": hi})
    return rows


def arm_stats(summary: pd.DataFrame, kpis: list[str], confidence: float) -> pd.DataFrame:
    rows = []
    for (arm, point), g in summary.groupby(["arm", "point"], sort=False):
        rows += _stat_rows(g, kpis, confidence, {"arm": arm, "point": int(point)})
    return clip_shares(pd.DataFrame(rows))


def contrasts(summary: pd.DataFrame, kpis: list[str], confidence: float) -> pd.DataFrame:
    base = summary[summary["point"] == BASELINE_POINT].set_index("replicate")
    rows = []
    for (arm, point), g in summary[summary["point"] != BASELINE_POINT].groupby(["arm", "point"], sort=False):
        g = g.set_index("replicate")
        common = g.index.intersection(base.index)
        for k in kpis:
            d = (g.loc[common, k] - base.loc[common, k]).to_numpy(float)
            m, sd, lo, hi, n = t_interval(d, confidence)
            rows.append({"arm": arm, "point": int(point), "kpi": k, "n_pairs": n, "base_mean": base.loc[common, k].mean(),
                         "arm_mean": g.loc[common, k].mean(), "difference": m, "sd": sd, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def factor_levels_column(design: pd.DataFrame, name: str) -> pd.Series:
    """The factor as ordered levels: its values (labels, on/off for cards: ``display_levels``), or
    quartile bins of a many-valued numeric factor labelled with rounded bounds (``2.1-2.7``)."""
    col = design[name]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and col.nunique() > MAX_LEVELS:
        x = col.astype(float)
        bins = pd.qcut(x, 4, duplicates="drop")
        span = x.groupby(bins, observed=False).agg(["min", "max"])  # the values in each bin, not qcut's edges
        names = [f"{lo:.3g}-{hi:.3g}" for lo, hi in zip(span["min"], span["max"])]
        return bins.cat.rename_categories(names)
    values = list(dict.fromkeys(col.sort_values(kind="stable").astype(str)))
    return pd.Categorical(col.astype(str), categories=values, ordered=True)


def display_levels(design: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """``design`` with each discrete factor's values as a reader knows them: the spec's
    ``labels``, ``on``/``off`` for a card without labels (the tables keep the raw values)."""
    import json

    out = design.copy()
    for f in manifest["spec"]["factors"]:
        name = f["name"]
        if name not in out or f.get("levels") is None:
            continue
        labels = f.get("labels") or (["off" if v is False else "on" for v in f["levels"]] if f.get("card") else None)
        if labels is None:
            continue
        kind = manifest["design"]["kinds"].get(name)
        keys = [json.dumps(v, sort_keys=True, ensure_ascii=False) if kind == "json" else str(v) for v in f["levels"]]
        order = pd.CategoricalDtype(labels, ordered=True)
        out[name] = out[name].astype(str).map(dict(zip(keys, labels))).astype(order)
    return out


def clip_shares(df: pd.DataFrame, kpi_col: str = "kpi", cols=("ci_low", "ci_high")) -> pd.DataFrame:
    """Intervals of share KPIs (retention, unemployment) held within [0, 1] (a t interval from
    few replicates can reach past them)."""
    from .levers import is_share

    share = df[kpi_col].map(is_share).to_numpy(bool)
    for c in cols:
        if c in df:
            df.loc[share, c] = df.loc[share, c].clip(0.0, 1.0)
    return df


def main_effects(design: pd.DataFrame, factors: list[str], kpis: list[str], confidence: float) -> pd.DataFrame:
    rows = []
    for f in factors:
        lv = factor_levels_column(design, f)
        for k in kpis:
            grand = design[k].mean()
            for level, g in design.groupby(lv, sort=True, observed=True):
                m, sd, lo, hi, n = t_interval(g[k].to_numpy(), confidence)
                rows.append({"factor": f, "level": str(level), "kpi": k, "n": n, "mean": m, "ci_low": lo,
                             "ci_high": hi, "effect": m - grand})
    return clip_shares(pd.DataFrame(rows))


def interactions(design: pd.DataFrame, factors: list[str], kpis: list[str]) -> pd.DataFrame:
    rows = []
    lv = {f: factor_levels_column(design, f) for f in factors}
    for i, a in enumerate(factors):
        for b in factors[i + 1:]:
            for k in kpis:
                cell = design.groupby([lv[a], lv[b]], observed=True)[k].agg(["mean", "count"])
                grand = design[k].mean()
                ra = design.groupby(lv[a], observed=True)[k].mean()
                rb = design.groupby(lv[b], observed=True)[k].mean()
                for (la, lb), r in cell.iterrows():
                    rows.append({"factor_a": a, "level_a": str(la), "factor_b": b, "level_b": str(lb), "kpi": k,
                                 "n": int(r["count"]), "mean": r["mean"],
                                 "interaction": r["mean"] - ra[la] - rb[lb] + grand})
    return pd.DataFrame(rows)


def _point_means(design: pd.DataFrame, k: str, n_points: int) -> np.ndarray | None:
    y = design.groupby("point")[k].mean().reindex(range(n_points))
    return None if y.isna().any() else y.to_numpy(float)


def sobol_indices(design: pd.DataFrame, manifest: dict, kpis: list[str], confidence: float, notes: list[str]):
    from SALib.analyze import sobol

    d = manifest["design"]
    spec_d = manifest["spec"]["design"]
    problem, P = _problem(d), len(d["points"])
    if spec_d["samples"] < SOBOL_MIN_N:
        notes.append(f"Sobol design with N = {spec_d['samples']} base samples: indices from fewer than "
                     f"{SOBOL_MIN_N} are unstable (their bootstrap intervals below show how much); use "
                     f"samples: {SOBOL_MIN_N} or more (Saltelli et al. 2010)")
    rows, rows2 = [], []
    for k in kpis:
        y = _point_means(design, k, P)
        if y is None:
            notes.append(f"Sobol indices of {k}: skipped, some design points have no finished run")
            continue
        if np.ptp(y) == 0:
            notes.append(f"Sobol indices of {k}: skipped, the KPI does not vary")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = sobol.analyze(problem, y, calc_second_order=spec_d["second_order"], conf_level=confidence,
                               seed=manifest["root_seed"])
        for j, f in enumerate(problem["names"]):
            rows.append({"kpi": k, "factor": f, "S1": si["S1"][j], "S1_conf": si["S1_conf"][j],
                         "ST": si["ST"][j], "ST_conf": si["ST_conf"][j]})
        if spec_d["second_order"]:
            for a in range(len(problem["names"])):
                for b in range(a + 1, len(problem["names"])):
                    rows2.append({"kpi": k, "factor_a": problem["names"][a], "factor_b": problem["names"][b],
                                  "S2": si["S2"][a, b], "S2_conf": si["S2_conf"][a, b]})
    return pd.DataFrame(rows), pd.DataFrame(rows2)


def morris_indices(design: pd.DataFrame, manifest: dict, kpis: list[str], confidence: float, notes: list[str]):
    from SALib.analyze import morris

    d = manifest["design"]
    problem, P = _problem(d), len(d["points"])
    X = np.array([p["unit"] for p in d["points"]], float)
    rows = []
    for k in kpis:
        y = _point_means(design, k, P)
        if y is None:
            notes.append(f"Morris indices of {k}: skipped, some design points have no finished run")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = morris.analyze(problem, X, y, num_levels=manifest["spec"]["design"]["levels"],
                                conf_level=confidence, seed=manifest["root_seed"])
        for j, f in enumerate(problem["names"]):
            rows.append({"kpi": k, "factor": f, "mu": si["mu"][j], "mu_star": si["mu_star"][j],
                         "sigma": si["sigma"][j], "mu_star_conf": si["mu_star_conf"][j]})
    return pd.DataFrame(rows)


def _problem(d: dict) -> dict:
    p = d["problem"]
    return {"num_vars": p["num_vars"], "names": list(p["names"]), "bounds": [list(b) for b in p["bounds"]]}


def _pareto(spend: np.ndarray, gain: np.ndarray, origin) -> np.ndarray:
    """Not dominated: no other point (nor ``origin``) with spend <= and gain >=, one strictly."""
    n = len(spend)
    ok = np.isfinite(spend) & np.isfinite(gain)
    out = np.zeros(n, bool)
    pts = [(spend[i], gain[i]) for i in range(n)] + ([origin] if origin else [])
    for i in np.flatnonzero(ok):
        s, g = spend[i], gain[i]
        out[i] = not any((s2 <= s and g2 >= g and (s2 < s or g2 > g)) for s2, g2 in pts
                         if np.isfinite(s2) and np.isfinite(g2))
    return out


def analyse(summary: pd.DataFrame, manifest: dict) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """All tables of the module docstring, and notes on what was skipped."""
    spec = manifest["spec"]
    conf = spec["analysis"]["confidence"]
    kpis = [k for k in manifest["kpi_columns"] if k in summary.columns]
    factors = manifest["design"]["factors"]
    notes: list[str] = []
    planned = len(manifest["runs"])
    if len(summary) < planned:
        notes.append(f"{len(summary)} of {planned} runs finished; statistics use the finished runs only")
    out: dict[str, pd.DataFrame] = {}
    if summary.empty:
        notes.append("no finished runs")
        return out, notes
    summary = display_levels(summary, manifest)
    out["arms"] = arm_stats(summary, kpis, conf)
    lever_names, uncertain = roles(manifest)
    d = with_keys(summary, manifest, uncertain)
    if not lever_names:
        notes.append("no lever factors (role: lever; cards and policies.* paths are levers by default): the sweep "
                     "explores uncertainties, so nothing is ranked or costed")
    elif len(d):
        out["levers"] = lever_table(d, lever_names, kpis, conf)
        out["rankings"] = lever_rankings(d, out["levers"], kpis)
    has_base = (summary["point"] == BASELINE_POINT).any()
    if has_base:
        out["contrasts"] = contrasts(summary, kpis, conf)
    elif manifest.get("baseline"):
        notes.append("the baseline arm has no finished run: no contrasts")
    else:
        notes.append("no baseline arm in the spec: no policy-minus-baseline contrasts; the frontier uses levels")
    design = summary[summary["point"] != BASELINE_POINT]
    if len(design):
        out["main_effects"] = main_effects(design, factors, kpis, conf)
        if len(factors) > 1:
            out["interactions"] = interactions(design, factors, kpis)
        dtype = manifest["design"]["type"]
        if dtype == "sobol":
            out["sobol"], s2 = sobol_indices(design, manifest, kpis, conf, notes)
            if len(s2):
                out["sobol_s2"] = s2
        elif dtype == "morris":
            if spec["design"]["samples"] < MORRIS_MIN_R:
                notes.append(f"Morris design with {spec['design']['samples']} trajectories: fewer than "
                             f"{MORRIS_MIN_R} give a coarse ranking (Campolongo et al. 2007 use 10 to 50)")
            out["morris"] = morris_indices(design, manifest, kpis, conf, notes)
        else:
            notes.append(f"{dtype} design: no Sobol or Morris indices (use design type sobol or morris)")
        pop, spend = spec["analysis"]["population_kpi"], spec["analysis"]["spend_kpi"]
        if spend is None:
            notes.append("analysis.spend_kpi is null: no cost-effectiveness frontier")
        elif lever_names and d[LEVER].nunique() > 1:
            ref = manifest["design"].get("reference_levers") or d[LEVER].iloc[0]
            out["frontier"] = lever_frontier(d, ref, pop, spend, conf)
            notes.append(f"frontier: each lever combination against {ref} in the same uncertainty sample and "
                         "replicate; a cost only where the gain's interval excludes zero")
        from .discovery import feature_scores, prim_boxes

        if lever_names and uncertain and d[LEVER].nunique() > 1:
            ref = manifest["design"].get("reference_levers") or d[LEVER].iloc[0]
            boxes, more = prim_boxes(d, uncertain, ref, pop)
            notes += more
            if len(boxes):
                out["prim"] = boxes
        scores = feature_scores(design, factors, kpis)
        if len(scores):
            out["feature_scores"] = scores
    return out, notes
