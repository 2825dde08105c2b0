"""Sweep specs: the YAML schema (pydantic), loading and readable errors.

A spec says what to run: a base scenario, fixed overrides, the factors (each a
dotted config path or a policy card switched on/off, with levels or bounds),
the design that combines them, replicates, the root seed, an optional baseline
arm and which KPIs to keep.  See ``docs/sweeps.md`` for a worked example.

Every problem is raised as :class:`migrants.errors.ConfigError` with the spec
file, the field, the bad value and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import check_name, format_validation_error, read_yaml, scenario_path
from ..errors import ConfigError
from ..policy.policyset import card_field_value
from .kpis import KPI_GROUPS, check_kpi

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")

#: Column names the runner itself writes; a factor may not take one of them.
RESERVED = {"run_id", "arm", "point", "replicate", "seed", "seed_entropy", "seed_spawn_key", "month", "date",
            "model_s", "worker"}


#: Spec fields that do not change any run or run file: a sweep may be resumed with them changed.
HASH_EXCLUDE = {"description", "analysis"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Factor(_Strict):
    """One thing that varies across design points.

    Either ``path`` (any dotted config path: ``decisions.beta_income``,
    ``policies.<card>.<field>``, ...) or ``card`` (a policy card name or path,
    whose levels are ``false`` = off, ``true`` = on, or a mapping of card
    fields = on with those values; default ``[false, true]``).  Either ``levels`` (a
    list of values, any YAML type) or ``bounds`` ``[low, high]`` with a
    ``distribution`` for sampled designs (Latin hypercube, Sobol, Morris).

    ``role`` (EMA Workbench's distinction): a ``lever`` is something a government
    chooses (the report ranks and costs lever combinations), an ``uncertainty``
    something it does not (a behavioural parameter: the report shows how each lever
    combination does across them).  Default: ``lever`` for a card factor or a
    ``policies.<card>.<field>`` path, ``uncertainty`` for any other path.
    """

    name: str | None = None
    path: str | None = None
    card: str | None = None
    role: Literal["lever", "uncertainty"] | None = None
    levels: list[Any] | None = None
    labels: list[str] | None = None
    bounds: list[float] | None = None
    distribution: Literal["uniform", "loguniform", "integer"] = "uniform"
    n_levels: int | None = Field(None, ge=2, le=10_000, description="factorial only: evenly spaced levels within bounds")

    @field_validator("path")
    @classmethod
    def _path(cls, v):
        if v is not None and not DOTTED.fullmatch(v):
            raise ValueError("expected a dotted config path such as decisions.beta_income")
        if v == "seed":
            raise ValueError("the runner sets each run's seed from the spec's root `seed`; it cannot be a factor")
        return v

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, v):
        if v is not None and (len(v) != 2 or not all(math.isfinite(b) for b in v) or not v[0] < v[1]):
            raise ValueError("expected [low, high], two finite numbers with low < high")
        return v

    @field_validator("levels")
    @classmethod
    def _levels(cls, v):
        if v is not None:
            if len(v) == 0:
                raise ValueError("expected at least one level")
            bad = [x for x in v if isinstance(x, float) and not math.isfinite(x)]
            if bad:
                raise ValueError(f"level {bad[0]!r}: expected finite numbers")
            keys = [json.dumps(x, sort_keys=True) for x in v]
            if len(set(keys)) != len(keys):
                raise ValueError("levels repeat; expected distinct values")
        return v

    @model_validator(mode="after")
    def _shape(self):
        if (self.path is None) == (self.card is None):
            raise ValueError("give exactly one of `path` (a dotted config path) or `card` (a policy card)")
        if self.card is not None:
            if self.bounds is not None:
                raise ValueError(f"card factor `{self.card}`: expected levels such as [false, true], not bounds")
            if self.levels is None:
                self.levels = [False, True]
            for x in self.levels:
                if isinstance(x, dict):
                    for k, v in x.items():
                        card_field_value(k, v)
                elif not isinstance(x, bool):
                    raise ValueError(f"card factor `{self.card}`: level {x!r}; expected false (off), true (on) "
                                     "or a mapping of card fields to values (on, with those values)")
        if self.path is not None and self.path.startswith("policies."):
            if self.path.count(".") < 2:
                raise ValueError(f"path {self.path!r}: expected policies.<card>.<field>, e.g. "
                                 "policies.shenyang_talent_3_0.living_subsidy.months")
            for x in self.levels or []:
                card_field_value(self.path.split(".", 2)[2], x)
        if (self.levels is None) == (self.bounds is None):
            raise ValueError("give exactly one of `levels` (a list) or `bounds` ([low, high])")
        if self.labels is not None and (self.levels is None or len(self.labels) != len(self.levels)):
            raise ValueError("`labels` needs `levels` and one label per level")
        if self.distribution == "loguniform" and self.bounds is not None and self.bounds[0] <= 0:
            raise ValueError(f"bounds = {self.bounds!r}: a loguniform factor needs low > 0")
        if self.distribution == "integer" and self.bounds is not None and not all(float(b).is_integer() for b in self.bounds):
            raise ValueError(f"bounds = {self.bounds!r}: an integer factor needs whole-number bounds")
        if self.n_levels is not None and self.bounds is None:
            raise ValueError("`n_levels` goes with `bounds`")
        if self.role is None:
            self.role = "lever" if self.card is not None or self.path.startswith("policies.") else "uncertainty"
        if self.name is None:
            self.name = (self.path or "").rsplit(".", 1)[-1] if self.path else _card_name(self.card)
        if not IDENT.fullmatch(self.name):
            raise ValueError(f"name = {self.name!r}: expected an identifier (letters, digits, _)")
        if self.name in RESERVED:
            raise ValueError(f"name = {self.name!r} is used by the runner's own columns; choose another name")
        return self

    @property
    def discrete(self) -> bool:
        return self.levels is not None


def _card_name(card: str) -> str:
    stem = Path(card).stem if card.endswith((".yaml", ".yml")) else card
    return re.sub(r"\W", "_", stem)


class Design(_Strict):
    """How factors combine into design points."""

    type: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    samples: int | None = Field(None, ge=1, le=1_000_000,
                                description="lhs: points; sobol: base N (a power of 2); morris: trajectories")
    second_order: bool = False
    levels: int = Field(4, ge=2, description="morris: grid levels")
    scramble: bool = True
    optimization: Literal["random-cd", "lloyd"] | None = None
    seed: int | None = Field(None, ge=0, description="sampling seed (default: the spec's seed)")

    @model_validator(mode="after")
    def _samples(self):
        if self.type != "factorial" and self.samples is None:
            raise ValueError(f"design type {self.type!r} needs `samples`")
        if self.type == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"samples = {self.samples}: Saltelli sampling needs a power of 2 (e.g. 64, 128, 256)")
        return self


class Baseline(_Strict):
    """The comparison arm: the base scenario with every factor left as it is
    (card factors off), plus these overrides; same replicates and seeds."""

    name: str = "baseline"
    overrides: dict[str, Any] = {}


class Outputs(_Strict):
    kpis: list[str] = list(KPI_GROUPS)
    granularity: Literal["final", "yearly", "monthly"] = "final"

    @field_validator("kpis")
    @classmethod
    def _kpis(cls, v):
        for k in v:
            check_kpi(k)
        if not v:
            raise ValueError("expected at least one KPI")
        return list(dict.fromkeys(v))


class Analysis(_Strict):
    confidence: float = Field(0.95, gt=0.5, lt=1)
    population_kpi: str = "population_shenyang_metro"
    spend_kpi: str | None = "subsidy_spend_cny"  # null: no cost-effectiveness frontier


class Spec(_Strict):
    """A sweep: see the module docstring and ``docs/sweeps.md``."""

    name: str = Field(min_length=1)  # the default result folder results/<name>: check_name
    description: str = ""
    scenario: str = "baseline"
    months: int | None = Field(None, ge=1, le=1200)
    scale: int | None = Field(None, ge=1)
    seed: int = Field(ge=0, description="root seed of every run's random stream")
    replicates: int = Field(1, ge=1)
    ensemble: int | None = Field(None, ge=1, le=10000,
                                 description="K posterior draws (migrants.ensemble): each point runs K x replicates "
                                             "runs, run r with draw r // replicates")
    common_random_numbers: bool = True
    overrides: dict[str, Any] = {}
    policies: list[str] = []
    factors: list[Factor] = Field(min_length=1)
    design: Design = Design()
    baseline: Baseline | None = None
    outputs: Outputs = Outputs()
    analysis: Analysis = Analysis()

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, v):
        for k in v:
            if not DOTTED.fullmatch(k):
                raise ValueError(f"key {k!r} is not a dotted config path")
            if k == "seed":
                raise ValueError("the runner sets each run's seed from the spec's root `seed`")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        return check_name(v)

    @model_validator(mode="after")
    def _cross(self):
        names = [f.name for f in self.factors]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"factor names {dup} repeat; give each factor a distinct `name`")
        paths = [f.path for f in self.factors if f.path]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"factor paths {dup} repeat; each path can be one factor only")
        if self.design.type == "factorial":
            for f in self.factors:
                if f.bounds is not None and f.n_levels is None:
                    raise ValueError(f"factor `{f.name}`: a full factorial needs `levels`, or `bounds` with `n_levels`")
        if self.baseline is not None and self.baseline.name in self.factor_names():
            raise ValueError(f"baseline name {self.baseline.name!r} clashes with a factor name")
        return self

    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    def levers(self) -> list[Factor]:
        return [f for f in self.factors if f.role == "lever"]

    def uncertainties(self) -> list[Factor]:
        return [f for f in self.factors if f.role == "uncertainty"]

    def hash(self, scenario_hash: str) -> str:
        """Hash of everything that decides the runs and their files (not ``HASH_EXCLUDE``)."""
        body = self.model_dump(mode="json", exclude=HASH_EXCLUDE)
        text = json.dumps({"spec": body, "scenario": scenario_hash}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def load_spec(source: str | Path | dict) -> tuple[Spec, Path | None]:
    """Read and validate a spec; returns it with the folder it came from (None for a dict)."""
    if isinstance(source, dict):
        data, origin, folder = source, "spec (dict)", None
    else:
        path = Path(source)
        if path.is_dir():
            raise ConfigError(f"spec {path}: is a folder; expected a YAML sweep spec such as experiments/tiny.yaml")
        data, origin, folder = read_yaml(path, "spec"), f"spec {path}", path.resolve().parent
    try:
        return Spec.model_validate(data), folder
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, origin)) from None
    except (RecursionError, TypeError, ValueError, OverflowError) as e:  # a value no validator foresaw
        from ..errors import describe

        raise ConfigError(f"{origin}: not a usable spec ({describe(e)})") from None


def resolve_scenario(spec: Spec, folder: Path | None) -> str:
    """The spec's base scenario as an absolute path (a path relative to the spec
    file's folder or to the working directory, or a name in configs/scenarios)."""
    ref = spec.scenario
    candidates = []
    if folder is not None and Path(ref).suffix in (".yaml", ".yml") and not Path(ref).is_absolute():
        candidates.append(folder / ref)
    candidates.append(scenario_path(ref))
    for c in candidates:
        if Path(c).exists():
            return str(Path(c).resolve())
    raise ConfigError(f"spec field `scenario` = {ref!r}: no scenario of that name in configs/scenarios "
                      f"and no such file" + (f" (also looked in {folder})" if folder else ""))
