"""From a spec to the list of runs: design points x replicates (+ the baseline arm).

Each run has an id (``p0003-r01``; the baseline arm ``base-r01``), an arm
label, the factor values, its seed stream and the overrides that build its
model.  Before anything runs, every factor level (or both bounds), the fixed
overrides and the baseline's overrides are checked against the scenario
schema, so a typo in a path fails at once with a clear message instead of in
every run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import load_scenario, read_scenario_dict
from ..errors import ConfigError
from .design import DesignPoints, build_design, column_kind, encode, expected_points, factor_levels
from ..cities import scenario_cities
from ..outcomes import parse_kpi, region_members
from .kpis import kpi_columns
from .seeds import BASELINE_POINT, RunSeed, run_seed
from ..policy.policyset import PolicySet, card_key
from .spec import Spec, load_spec, resolve_scenario
from .worker import RunResult, RunTask

#: most runs a sweep may plan (design points x replicates x ensemble draws, with the baseline arm);
#: checked before anything is built
MAX_RUNS = 100_000

#: pandas dtype of a factor column, by kind (nullable, so the baseline arm may lack a value)
DTYPES = {"float": "float64", "int": "Int64", "bool": "boolean", "str": "str", "json": "str"}


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    arm: str
    point: int  # design point, or BASELINE_POINT
    replicate: int
    values: dict  # factor name -> value given to the model (baseline: the scenario's own)
    seed: RunSeed


class Plan:
    """Everything decided before the first run (deterministic given the spec and scenario)."""

    def __init__(self, spec: Spec, folder: Path | None = None):
        self.spec = spec
        check_size(spec)
        self.scenario = resolve_scenario(spec, folder)
        base = read_scenario_dict(Path(self.scenario))
        self.fixed = self._fixed_overrides()
        cfg = _check(lambda: load_scenario(base, self.fixed), "fields `overrides`, `months`, `scale`, `policies`")
        self.scenario_hash = hashlib.sha256(
            json.dumps(load_scenario(base).model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
        self.base_policies = list(dict.fromkeys(list(cfg.policies) + list(spec.policies)))
        self.card_factors = [f for f in spec.factors if f.card is not None]
        self.kinds = {f.name: column_kind(f) for f in spec.factors}
        self._preflight(base)
        cities = _check(lambda: scenario_cities(cfg), "field `scenario`")
        self.provinces = list(dict.fromkeys(cities["province"]))
        self.kpi_columns = kpi_columns(spec.outputs.kpis, self.provinces)
        for name in spec.outputs.kpis:  # a region the scenario does not simulate fails now, not in every run
            if "@" in name:
                _check(lambda: region_members(parse_kpi(name)[1], cities), f"field `outputs.kpis` ({name!r})")
        clash = sorted(set(spec.factor_names()) & set(self.kpi_columns))
        if clash:
            raise ConfigError(f"spec factor name(s) {clash}: the same as KPI columns; give the factor another `name`")
        for field in ("population_kpi", "spend_kpi"):
            name = getattr(spec.analysis, field)
            if name is not None and name not in self.kpi_columns:
                raise ConfigError(f"spec field `analysis.{field}` = {name!r}: not among the KPIs kept "
                                  f"(outputs.kpis gives {self.kpi_columns})"
                                  + ("; add it to outputs.kpis or set it to null" if field == "spend_kpi" else ""))
        self.design: DesignPoints = build_design(spec)
        self.draws = None
        if spec.ensemble is not None:
            from ..ensemble import draw_parameters

            self.draws = _check(lambda: draw_parameters(spec.ensemble, spec.seed), "field `ensemble`")
        self.replicates = spec.replicates * (spec.ensemble or 1)  # runs per design point
        self.baseline_values = self._baseline_values(base) if spec.baseline else None
        self.runs = self._runs()
        self.by_id = {r.run_id: r for r in self.runs}

    # ------------------------------------------------------------ overrides
    def _fixed_overrides(self) -> dict:
        s = self.spec
        ov = dict(s.overrides)
        if s.months is not None:
            ov["months"] = s.months
        if s.scale is not None:
            ov["scale"] = s.scale
        return ov

    def overrides(self, run: PlannedRun) -> dict:
        """The overrides that build this run's model (a posterior draw first: the spec's own win)."""
        drawn = {} if self.draws is None else self.draw_overrides(run)
        if run.point == BASELINE_POINT:
            return {**drawn, **self.point_overrides({}, extra=self.spec.baseline.overrides)}
        return {**drawn, **self.point_overrides(run.values)}

    def draw_of(self, run: PlannedRun) -> int:
        """The posterior draw of a run (ensemble sweeps): replicate // replicates."""
        return run.replicate // self.spec.replicates

    def draw_overrides(self, run: PlannedRun) -> dict:
        from ..ensemble import draw_overrides

        return draw_overrides(self.draws, self.draw_of(run))

    def point_overrides(self, values: dict, extra: dict | None = None) -> dict:
        """Overrides for factor ``values`` (a factor left out keeps the scenario's setting).

        Order: the ``policies`` list first, then the fixed overrides, then ``extra``
        and the path factors.  Card factors and ``policies.<card>.<field>`` factors
        become entries of the ``policies`` list: ``card`` (on), left out (off), or
        ``card[field=value; ...]`` (on, with those fields).
        """
        ov: dict = {}
        policies = self.policy_refs(values)
        if policies is not None:
            ov["policies"] = policies
        ov.update({k: v for k, v in self.fixed.items() if k != "policies"})
        ov.update(extra or {})
        for f in self.spec.factors:
            if f.path is not None and f.name in values and not f.path.startswith("policies."):
                ov[f.path] = values[f.name]
        return ov

    def policy_refs(self, values: dict) -> list[str] | None:
        """The scenario's ``policies`` list for factor ``values`` (None: leave it as it is)."""
        field_factors = [f for f in self.spec.factors if f.path and f.path.startswith("policies.")]
        if not (self.spec.policies or self.card_factors or field_factors or "policies" in self.fixed):
            return None
        ps = PolicySet.parse(self.base_policies)
        off = set()
        for f in self.card_factors:
            if f.name not in values:
                continue
            key, v = card_key(f.card), values[f.name]
            if v is False:
                ps = ps.without(key)
                off.add(key)
            elif isinstance(v, dict):
                ps = ps.with_fields(f.card, v)
            elif key not in ps:
                ps = ps.plus([f.card])
        for f in field_factors:
            if f.name not in values:
                continue
            _, key, fld = f.path.split(".", 2)
            if key in off:
                continue  # the card is switched off at this point
            ps = ps.with_fields(key, {fld: values[f.name]})
        return ps.refs

    def _preflight(self, base: dict) -> None:
        """Every level of every factor, alone on top of the fixed overrides, makes a valid scenario
        (and, where the policy cards can be loaded, valid cards)."""
        checks = [("fields `overrides`, `months`, `scale`, `policies`", {})]
        for f in self.spec.factors:
            levels = factor_levels(f) if f.levels is not None or f.n_levels else list(f.bounds)
            checks += [(f"factor `{f.name}` ({'card' if f.card else 'path'} `{f.card or f.path}`) = {v!r}",
                        {f.name: v}) for v in levels]
        load_cards = _card_loader()
        for what, values in checks:
            ov = self.point_overrides(values)
            _check(lambda: load_scenario(base, ov), what)
            if ov.get("policies") and load_cards is not None:
                _check(lambda: load_cards(ov["policies"]), what)
        if self.spec.baseline:
            ov = self.point_overrides({}, extra=self.spec.baseline.overrides)
            _check(lambda: load_scenario(base, ov), "field `baseline.overrides`")

    def _baseline_values(self, base: dict) -> dict:
        """Factor columns of the baseline arm: the scenario's own values (cards: listed or not)."""
        data = load_scenario(base, self.point_overrides({}, extra=self.spec.baseline.overrides)).model_dump()
        listed = {card_key(r.partition("[")[0]) for r in self.base_policies}
        out = {}
        for f in self.spec.factors:
            if f.card is not None:
                out[f.name] = card_key(f.card) in listed
            elif f.path.startswith("policies."):
                out[f.name] = None
            else:
                v = _get_path(data, f.path)
                if self.kinds[f.name] == "int" and isinstance(v, float) and not v.is_integer():
                    v = None
                out[f.name] = v
        return out

    # ------------------------------------------------------------ runs
    def _runs(self) -> list[PlannedRun]:
        s = self.spec
        P, R = len(self.design), self.replicates
        pw, rw = max(4, len(str(P - 1))), max(2, len(str(R - 1)))
        runs = []
        if s.baseline:
            for r in range(R):
                runs.append(PlannedRun(f"base-r{r:0{rw}d}", s.baseline.name, BASELINE_POINT, r,
                                       self.baseline_values, run_seed(s.seed, BASELINE_POINT, r, s.common_random_numbers)))
        for p, values in enumerate(self.design.values):
            arm = self.arm_label(p, values)
            for r in range(R):
                runs.append(PlannedRun(f"p{p:0{pw}d}-r{r:0{rw}d}", arm, p, r, values,
                                       run_seed(s.seed, p, r, s.common_random_numbers)))
        return runs

    def arm_label(self, p: int, values: dict) -> str:
        if self.design.type != "factorial":
            return f"p{p:04d}"
        return values_label(self.spec.factors, values)

    def lever_label(self, values: dict) -> str:
        """The point's lever combination, e.g. ``talent_subsidy=talent_3_0, platform=off``."""
        return values_label(self.spec.levers(), values) or "(no levers)"

    def reference_levers(self) -> str | None:
        """The first lever combination with every card lever off (the frontier's reference)."""
        cards = [f.name for f in self.spec.levers() if f.card is not None]
        for values in self.design.values:
            if all(values[n] is False for n in cards):
                return self.lever_label(values)
        return self.lever_label(self.design.values[0]) if self.design.values else None

    def task(self, run: PlannedRun, threads: int | None) -> RunTask:
        s = self.spec
        return RunTask(run.run_id, self.scenario, self.overrides(run), run.seed.seed, list(s.outputs.kpis),
                       self.provinces, s.outputs.granularity, threads, parent_pid=os.getpid())

    # ------------------------------------------------------------ tables
    def id_frame(self, run: PlannedRun, n: int = 1) -> pd.DataFrame:
        """The identifying columns of a run, repeated on ``n`` rows, with fixed dtypes."""
        cols = {
            "run_id": pd.Series([run.run_id] * n, dtype="str"),
            "arm": pd.Series([run.arm] * n, dtype="str"),
            "point": pd.Series([run.point] * n, dtype="int64"),
            "replicate": pd.Series([run.replicate] * n, dtype="int64"),
        }
        if self.draws is not None:
            cols["draw"] = pd.Series([self.draw_of(run)] * n, dtype="int64")
        for name in self.design.names:
            kind = self.kinds[name]
            cols[name] = pd.Series([encode(run.values.get(name), kind)] * n, dtype=DTYPES[kind])
        cols["seed"] = pd.Series([run.seed.seed] * n, dtype="int64")
        cols["seed_entropy"] = pd.Series([str(run.seed.entropy)] * n, dtype="str")
        cols["seed_spawn_key"] = pd.Series([run.seed.spawn_key_text] * n, dtype="str")
        return pd.DataFrame(cols)

    def run_table(self, res: RunResult) -> pd.DataFrame:
        run = self.by_id[res.run_id]
        t = res.table.reset_index(drop=True)
        out = pd.concat([self.id_frame(run, len(t)), t], axis=1)
        out["model_s"] = res.model_s
        out["worker"] = pd.Series([res.worker] * len(t), dtype="str")
        return out

    def error_row(self, res: RunResult) -> pd.DataFrame:
        out = self.id_frame(self.by_id[res.run_id])
        for c in ("error_type", "error", "traceback", "worker"):
            out[c] = pd.Series([getattr(res, c)], dtype="str")
        out["model_s"] = res.model_s
        return out

    def error_columns(self) -> list[str]:
        return list(self.id_frame(self.runs[0]).columns) + ["error_type", "error", "traceback", "worker", "model_s"]

    def manifest(self, code_version: dict, extra: dict | None = None) -> dict:
        s, d = self.spec, self.design
        points = []
        for p, values in enumerate(d.values):
            row = {"point": p, "arm": self.arm_label(p, values), "levers": self.lever_label(values),
                   "values": {k: encode(v, self.kinds[k]) for k, v in values.items()}}
            if d.unit is not None:
                row["unit"] = [float(x) for x in d.unit[p]]
            points.append(row)
        return {
            "format": 1,
            "spec": s.model_dump(mode="json"),
            "spec_hash": s.hash(self.scenario_hash),
            "scenario": {"path": self.scenario, "hash": self.scenario_hash},
            "code_version": code_version,
            "root_seed": s.seed,
            "common_random_numbers": s.common_random_numbers,
            "replicates": self.replicates,
            "ensemble": (None if self.draws is None else
                         {"members": s.ensemble, "replicates_per_draw": s.replicates,
                          "draws": self.draws.to_dict("list")}),
            "design": {"type": d.type, "factors": d.names, "kinds": self.kinds, "problem": d.problem,
                       "points": points, "roles": {f.name: f.role for f in s.factors},
                       "reference_levers": self.reference_levers()},
            "baseline": ({"name": s.baseline.name, "values": {k: encode(v, self.kinds[k]) for k, v in
                                                                self.baseline_values.items()}} if s.baseline else None),
            "provinces": self.provinces,
            "kpi_columns": self.kpi_columns,
            "runs": [{"run_id": r.run_id, "point": r.point, "replicate": r.replicate, "seed": r.seed.seed,
                      "seed_entropy": str(r.seed.entropy), "seed_spawn_key": list(r.seed.spawn_key)}
                     for r in self.runs],
            **(extra or {}),
        }


def check_size(spec: Spec) -> int:
    """The number of runs the spec plans, refused (ConfigError saying the size) beyond ``MAX_RUNS``,
    counted from the spec alone so that nothing is built for a spec that asks for too much."""
    points = expected_points(spec)
    per_point = spec.replicates * (spec.ensemble or 1)
    total = (points + (1 if spec.baseline else 0)) * per_point
    if total > MAX_RUNS:
        d = spec.design
        what = {"factorial": "the product of the factors' level counts",
                "lhs": "samples (x lever combinations)", "sobol": "samples x (factors + 2), or x (2 factors + 2) "
                "with second_order", "morris": "samples x (factors + 1)"}[d.type]
        raise ConfigError(f"spec {spec.name}: plans {total:,} runs ({points:,} design points from {what}, "
                          f"x {per_point:,} replicates{' and ensemble draws' if spec.ensemble else ''}); "
                          f"expected at most {MAX_RUNS:,}: lower `replicates`, `design.samples` or the levels")
    return total


def _card_loader():
    """``load_cards`` of the policy package, where the package has it (cards are then checked before any run)."""
    try:
        from ..policies import load_cards
    except ImportError:  # pragma: no cover - a core without policy cards
        return None
    return load_cards


def make_plan(spec: Spec | str | Path | dict, folder: Path | None = None) -> Plan:
    if not isinstance(spec, Spec):
        spec, folder = load_spec(spec)
    return Plan(spec, folder)


def level_text(f, v) -> str:
    """How a factor's value reads in an arm's name: its label, on/off for a card, 0.5 for a float."""
    if f.labels is not None:
        return f.labels[[json.dumps(x, sort_keys=True) for x in f.levels].index(json.dumps(v, sort_keys=True))]
    if f.card is not None:
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:.4g}"
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def values_label(factors, values: dict) -> str:
    return ", ".join(f"{f.name}={level_text(f, values[f.name])}" for f in factors)


def _check(fn, what: str):
    try:
        return fn()
    except ConfigError as e:
        raise ConfigError(f"spec {what}: {e}") from None


def _get_path(data: dict, path: str):
    node = data
    for k in path.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    if isinstance(node, dict) and "value" in node and "basis" in node:
        return node["value"]
    return node


