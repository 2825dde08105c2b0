"""Experimental designs: which factor values each design point gets.

* ``factorial``: every combination of the factors' levels (the first factor
  varies slowest).
* ``lhs``: a Latin hypercube (``scipy.stats.qmc.LatinHypercube``) of ``samples`` points.
  When the spec has levers with levels and uncertainties, the hypercube is over
  the uncertainties only and every lever combination runs on every one of its
  ``samples`` points (EMA Workbench's policies x scenarios), so lever
  combinations are compared on the same uncertainty sample.
* ``sobol``: Saltelli's sampling for Sobol indices (``SALib.sample.sobol``):
  ``samples * (D + 2)`` points, or ``samples * (2D + 2)`` with second order.
* ``morris``: Morris trajectories (``SALib.sample.morris``): ``samples * (D + 1)`` points.

Sampled designs draw in the unit hypercube; a coordinate ``u`` in [0, 1]
becomes a value through the factor's bounds and distribution (uniform,
loguniform, integer) or, for a factor with ``levels``, the level
``floor(u * k)``.  The unit coordinates are kept (Morris analysis needs them).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np

from .spec import Factor, Spec


@dataclass
class DesignPoints:
    """The design: ``values[p]`` maps factor name to value for point ``p``."""

    type: str
    names: list[str]
    values: list[dict]
    unit: np.ndarray | None = None  # (P, D) coordinates in [0, 1] for sampled designs
    problem: dict | None = None  # SALib problem over the unit cube
    kinds: dict[str, str] = field(default_factory=dict)  # column kind per factor

    def __len__(self) -> int:
        return len(self.values)


def factor_levels(f: Factor) -> list:
    """Levels of a factor in a factorial design (explicit, or evenly spaced in its bounds)."""
    if f.levels is not None:
        return list(f.levels)
    lo, hi = f.bounds
    if f.distribution == "loguniform":
        vals = np.exp(np.linspace(math.log(lo), math.log(hi), f.n_levels))
    else:
        vals = np.linspace(lo, hi, f.n_levels)
    vals[0], vals[-1] = lo, hi  # exactly the bounds
    if f.distribution == "integer":
        return sorted({int(round(v)) for v in vals})
    return [float(v) for v in vals]


def n_levels(f: Factor) -> int:
    """How many levels ``factor_levels(f)`` gives (at most: an integer factor's evenly spaced
    levels may round to the same number), without making them."""
    if f.levels is not None:
        return len(f.levels)
    if f.n_levels is None:
        return 1
    if f.distribution == "integer":
        return min(f.n_levels, int(f.bounds[1] - f.bounds[0]) + 1)
    return f.n_levels


def column_kind(f: Factor) -> str:
    """How a factor's values are stored in the tables: bool, int, float, str or json."""
    if f.levels is None:
        return "int" if f.distribution == "integer" else "float"
    lv = f.levels
    if all(isinstance(x, bool) for x in lv):
        return "bool"
    if all(isinstance(x, int) and not isinstance(x, bool) for x in lv):
        return "int"
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in lv):
        return "float"
    if all(isinstance(x, str) for x in lv):
        return "str"
    return "json"


def encode(value, kind: str):
    """A factor value as stored in a table column of the given kind."""
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "str":
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def from_unit(f: Factor, u: float):
    """Map a unit coordinate to a factor value."""
    u = min(max(float(u), 0.0), 1.0)
    if f.levels is not None:
        return f.levels[min(int(u * len(f.levels)), len(f.levels) - 1)]
    lo, hi = f.bounds
    if f.distribution == "integer":
        return int(min(math.floor(lo + u * (hi - lo + 1)), hi))
    if f.distribution == "loguniform":
        v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        v = lo + u * (hi - lo)
    return float(min(max(v, lo), hi))  # no rounding past a bound


def unit_problem(spec: Spec) -> dict:
    return {"num_vars": len(spec.factors), "names": spec.factor_names(),
            "bounds": [[0.0, 1.0]] * len(spec.factors)}


def expected_points(spec: Spec) -> int:
    """Number of design points the spec's design produces (without the baseline arm)."""
    d, D = spec.design, len(spec.factors)
    if d.type == "factorial":
        return math.prod(n_levels(f) for f in spec.factors)
    if d.type == "lhs":
        return d.samples * (math.prod(n_levels(f) for f in spec.levers()) if crossed(spec) else 1)
    if d.type == "sobol":
        return d.samples * (2 * D + 2 if d.second_order else D + 2)
    return d.samples * (D + 1)


def crossed(spec: Spec) -> bool:
    """A Latin hypercube of the uncertainties crossed with every lever combination?"""
    discrete = all(f.levels is not None or f.n_levels is not None for f in spec.levers())
    return spec.design.type == "lhs" and bool(spec.levers()) and bool(spec.uncertainties()) and discrete


def build_design(spec: Spec) -> DesignPoints:
    """The design points of a spec (deterministic given the spec)."""
    d = spec.design
    names = spec.factor_names()
    kinds = {f.name: column_kind(f) for f in spec.factors}
    seed = spec.seed if d.seed is None else d.seed
    if d.type == "factorial":
        combos = itertools.product(*(factor_levels(f) for f in spec.factors))
        return DesignPoints("factorial", names, [dict(zip(names, c)) for c in combos], kinds=kinds)
    problem = unit_problem(spec)
    D = len(spec.factors)
    if crossed(spec):
        from scipy.stats import qmc

        unc, lev = spec.uncertainties(), spec.levers()
        sampler = qmc.LatinHypercube(d=len(unc), scramble=d.scramble, optimization=d.optimization,
                                     rng=np.random.default_rng(seed))
        u_unc = sampler.random(d.samples)
        values, unit = [], []
        idx = itertools.product(*(range(len(factor_levels(f))) for f in lev))
        for combo in idx:
            for row in u_unc:
                v = {f.name: factor_levels(f)[i] for f, i in zip(lev, combo)}
                v.update({f.name: from_unit(f, u) for f, u in zip(unc, row)})
                values.append({n: v[n] for n in names})
                coords = {f.name: (i + 0.5) / len(factor_levels(f)) for f, i in zip(lev, combo)}
                coords.update({f.name: u for f, u in zip(unc, row)})
                unit.append([coords[n] for n in names])
        return DesignPoints(d.type, names, values, unit=np.asarray(unit), problem=problem, kinds=kinds)
    if d.type == "lhs":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=D, scramble=d.scramble, optimization=d.optimization,
                                     rng=np.random.default_rng(seed))
        unit = sampler.random(d.samples)
    elif d.type == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(problem, d.samples, calc_second_order=d.second_order, scramble=d.scramble, seed=seed)
    else:
        from SALib.sample import morris

        unit = morris.sample(problem, d.samples, num_levels=d.levels, seed=seed)
    unit = np.asarray(unit, dtype=float)
    values = [{f.name: from_unit(f, u) for f, u in zip(spec.factors, row)} for row in unit]
    return DesignPoints(d.type, names, values, unit=unit, problem=problem, kinds=kinds)
