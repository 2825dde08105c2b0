"""Scenario discovery: where in the uncertainties a lever combination fails, and which factors matter.

* ``prim_boxes``: for each lever combination against the reference combination
  (``levers.py``), the uncertainty samples in which it does not add residents
  (its gain in ``population_kpi``, the mean over replicates, is 0 or less)
  are the cases of interest; PRIM (Friedman and Fisher 1999, as implemented in
  EMA Workbench, ``ema_workbench.analysis.prim``) peels the uncertainty space
  down to boxes that hold them.  Each box is reported with its coverage (share
  of all failures inside it), density (share of the box's samples that fail),
  mass (share of all samples inside it) and its limits on the uncertainties it
  restricts.  The box taken from each peeling trajectory is the one with the
  largest coverage whose density reaches ``density_threshold``.
* ``feature_scores``: for each KPI, how much each factor explains of its
  variation across runs (extra-trees feature scoring,
  ``ema_workbench.analysis.feature_scoring``): a screening that needs no
  special design.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .levers import LEVER, SAMPLE

MIN_SAMPLES = 20  # fewer uncertainty samples than this: PRIM's boxes would be noise


def _ema():
    with warnings.catch_warnings():  # "ipyparallel not installed": not needed here
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import feature_scoring, prim
        from ema_workbench.analysis import scenario_discovery_util as sdutil
    return prim, feature_scoring, sdutil


def find_boxes(x: pd.DataFrame, y: np.ndarray, density_threshold: float = 0.8, max_boxes: int = 2,
               mass_min: float = 0.05) -> list[dict]:
    """PRIM boxes of the cases ``y`` (bool, (n,)) in the space ``x`` (n rows, one column per uncertainty).

    Returns one dict per box: ``coverage``, ``density``, ``mass``, ``cases`` (of interest
    in the box) and ``limits`` {uncertainty: (low, high)} for the restricted dimensions.
    """
    prim, _, sdutil = _ema()
    y = np.asarray(y, bool)
    if y.sum() == 0 or y.all():
        return []
    x = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y, peel_alpha=0.05, mass_min=mass_min)
        out = []
        for _ in range(max_boxes):
            box = p.find_box()
            if box is None:
                break
            traj = box.peeling_trajectory
            reach = traj[traj["density"] >= density_threshold]
            i = int(reach.index[0]) if len(reach) else int(traj["density"].idxmax())
            box.select(i)
            lims = box.box_lims[i]
            dims = sdutil._determine_restricted_dims(lims, box.box_lims[0])
            inside = np.ones(len(x), bool)
            for d in x.columns:
                inside &= (x[d] >= lims.loc[0, d]) & (x[d] <= lims.loc[1, d])
            out.append({"coverage": float(traj.loc[i, "coverage"]), "density": float(traj.loc[i, "density"]),
                        "mass": float(traj.loc[i, "mass"]), "cases": int((y & inside).sum()),
                        "limits": {d: (float(lims.loc[0, d]), float(lims.loc[1, d])) for d in dims}})
            if traj.loc[i, "coverage"] >= 0.999:
                break
    return out


def prim_boxes(d: pd.DataFrame, uncertain: list[str], reference: str, pop_kpi: str,
               density_threshold: float = 0.8) -> tuple[pd.DataFrame, list[str]]:
    """One row per (lever combination, box, restricted uncertainty); notes on what was skipped."""
    notes, rows = [], []
    cells = d.pivot_table(index=SAMPLE, columns=LEVER, values=pop_kpi, aggfunc="mean")
    x = d.drop_duplicates(SAMPLE).set_index(SAMPLE).loc[cells.index, uncertain]
    if len(cells) < MIN_SAMPLES:
        notes.append(f"scenario discovery: {len(cells)} uncertainty samples, fewer than {MIN_SAMPLES}: no PRIM boxes "
                     "(use a Latin hypercube of the uncertainties with more samples)")
        return pd.DataFrame(), notes
    for combo in cells.columns:
        if combo == reference:
            continue
        fails = (cells[combo] - cells[reference]).to_numpy(float) <= 0
        if not fails.any():
            notes.append(f"scenario discovery: {combo} adds residents in every uncertainty sample")
            continue
        if fails.all():
            notes.append(f"scenario discovery: {combo} adds no residents in any uncertainty sample")
            continue
        for b, box in enumerate(find_boxes(x, fails, density_threshold)):
            for unc, (lo, hi) in (box["limits"].items() or [("(none)", (np.nan, np.nan))]):
                rows.append({"levers": combo, "reference": reference, "kpi": pop_kpi, "box": b,
                             "failures": int(fails.sum()), "samples": int(fails.size), "coverage": box["coverage"],
                             "density": box["density"], "mass": box["mass"], "uncertainty": unc, "low": lo,
                             "high": hi})
    return pd.DataFrame(rows), notes


def feature_scores(design: pd.DataFrame, factors: list[str], kpis: list[str]) -> pd.DataFrame:
    """Extra-trees feature scores: one row per factor, one column per KPI (each column sums to 1)."""
    _, fs, _ = _ema()
    x = pd.DataFrame({f: pd.factorize(design[f].astype(str))[0] if not pd.api.types.is_numeric_dtype(design[f])
                      else design[f].astype(float) for f in factors})
    y = {k: design[k].to_numpy(float) for k in kpis if design[k].notna().all() and design[k].nunique() > 1}
    if not y or len(design) < 10:
        return pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = fs.get_feature_scores_all(x, y, mode=fs.RuleInductionType.REGRESSION, random_state=0)
    return scores.rename_axis("factor").reset_index()
