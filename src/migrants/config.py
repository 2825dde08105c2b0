"""Scenario files: schema, loading, ``--set`` overrides and readable errors.

A scenario is a YAML file (``configs/scenarios/*.yaml``).  Every behavioural
parameter is a :class:`Param` with its ``value``, its ``basis`` (``data``,
``literature``, ``calibrated`` or ``assumption``) and a ``source`` line, so a
reader always knows where a number comes from.  Facts about the world (census
counts, wages, prices) live in the CSV files next to the scenarios, each row
with its sources.

Errors are raised as :class:`migrants.errors.ConfigError` with the file, the
dotted field path, the bad value and what was expected.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, clip

def _config_root() -> Path:
    """configs/: the package's copy (``migrants/configs``: package data of a wheel; in the source tree a
    link to the repository's ``configs/``), else the source tree's ``configs/``."""
    packaged = Path(__file__).resolve().parent / "configs"
    if packaged.is_dir():
        return packaged.resolve()
    return Path(__file__).resolve().parents[2] / "configs"


CONFIG_DIR = _config_root()
SCENARIO_DIR = CONFIG_DIR / "scenarios"


#: a name that becomes part of an output path (a scenario's, a sweep's, a calibration's)
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def check_name(v: str) -> str:
    """``v`` if it is safe as a folder name (``SAFE_NAME``, not ``.`` or ``..``), else ValueError."""
    if not isinstance(v, str) or not SAFE_NAME.fullmatch(v) or set(v) == {"."}:
        raise ValueError("expected a name of letters, digits, _ . - (at most 100, not only dots): "
                         "it names the result folder")
    return v


#: a calendar month, ``YYYY-MM``
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month_index(date: str) -> int:
    """``"2021-08"`` -> ``year * 12 + month - 1``: months since year 0 (the model's ``start_index`` scale)."""
    y, m = map(int, date.split("-"))
    return y * 12 + m - 1


def month_label(index: int) -> str:
    """``year * 12 + month - 1`` -> ``"2021-08"`` (the inverse of ``month_index``)."""
    index = int(index)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def read_table(path: Path, what: str):
    """A CSV input file as a DataFrame; a missing or unreadable file is a ConfigError naming it."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - any parse failure is the user's file
        raise ConfigError(f"{what} file {path}: cannot be read as CSV ({e})") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Param(_Strict):
    """A number with its provenance.

    ``basis: override`` marks a value set over the scenario's own (``--set``, a card's or a
    sweep's override, a scenario that extends another and writes the value alone): its
    ``source`` then says what set it and what it was.  A bare number where a Param is
    expected is read as ``{value: x, basis: assumption}`` with a source saying so.
    """

    value: float
    basis: Literal["data", "literature", "calibrated", "assumption", "override"]
    source: str = Field(min_length=3)

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, data):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"value": data, "basis": "assumption", "source": "value given alone, without a source"}
        return data


class DataFiles(_Strict):
    """Input data files, relative to the ``configs/`` folder (or absolute)."""

    cities: str = "cities.csv"
    provinces: str = "provinces.csv"
    transport_links: str = "transport_links.csv"
    rest_of_china: str = "rest_of_china.yaml"
    vital_rates: str = "history/vital_rates.csv"
    history: str = "history"  # folder of the time-varying inputs (migrants.history)
    provinces_2010: str = "provinces_2010.csv"  # age and education structure at the 2010 census
    # each city's persons by sex, age band and schooling at both censuses (S8); null: its province's
    # shares on a stylised pyramid (the steady-state audit)
    census_cities: str | None = "census_cities.csv"


class Demography(_Strict):
    mortality_q30: Param
    mortality_gompertz_slope: Param
    male_mortality_factor: Param
    retirement_age_men: Param
    retirement_age_women: Param
    tertiary_entry_rate: Param
    study_home_city_weight: Param
    study_home_province_weight: Param
    study_rest_of_china_share: Param
    university_intake_growth_year: Param
    inactive_share_women: Param
    inactive_share_men: Param
    vocational_share_of_non_tertiary: Param
    fertility_change_after_table_year: Param
    mortality_change_after_table_year: Param
    city_fertility_weight: Param


class Labour(_Strict):
    initial_unemployment_rate: Param
    initial_vacancy_rate: Param
    vacancy_adjustment_month: Param
    local_jobs_population_elasticity: Param
    separation_rate_month: Param
    matching_elasticity: Param
    job_trend_manufacturing_year: Param
    job_trend_services_year: Param
    job_trend_public_year: Param
    job_trend_hightech_year: Param
    job_shock_sd_month: Param
    job_shock_persistence: Param
    job_output_elasticity: Param
    wage_growth_year: Param
    wage_tightness_elasticity_year: Param
    wage_dispersion_sd: Param
    on_the_job_search_month: Param
    remote_search_efficiency: Param
    employed_speculative_move_share: Param


class Housing(_Strict):
    rental_yield_year: Param
    floor_area_m2_per_person: Param
    rent_demand_elasticity: Param
    rent_adjustment_month: Param
    housing_stock_growth_year: Param
    initial_vacancy_share: Param
    ownership_rate_settled: Param
    ownership_rate_young_or_migrant: Param
    buy_hazard_month: Param


class Decisions(_Strict):
    consider_base_month: Param
    consider_unemployed_factor: Param
    consider_young_factor: Param
    consider_old_factor: Param
    consider_children_factor: Param
    consider_owner_factor: Param
    beta_income: Param
    beta_network: Param
    beta_size: Param
    beta_school: Param
    beta_childcare: Param
    hukou_value: Param
    move_cost_fixed: Param
    move_cost_per_log_hour: Param
    move_cost_province: Param
    return_bonus: Param
    income_floor_share: Param
    rest_of_china_return_month: Param
    rest_of_china_residents: Param
    rest_of_china_constant: Param
    seat_amenity: Param
    province_amenity: dict[str, Param] = {}  # key: province_key(province); absent: 0
    outside_residents: Param
    outside_working_age_share: Param
    outside_college_per_100k: Param
    outside_high_school_per_100k: Param
    outside_consider_factor: Param
    migrant_school_access: Param
    childcare_places_per_1000: Param


class Scenario(_Strict):
    """A complete scenario: what to simulate, from when, with which parameters."""

    name: str = Field(min_length=1)
    description: str = ""
    start: str = "2020-11"
    months: int = Field(120, ge=0, le=1200, strict=True)  # strict: `true` is not 1 month
    seed: int = Field(20201101, ge=0, strict=True)
    scale: int = Field(100, ge=1, le=10_000_000, strict=True)  # at most 10 M persons an agent (a city or two)
    cities: list[str] | None = Field(None, min_length=2)  # null: every city of the cities file (one city
    # alone has nowhere to move to: its migrants' home cities would be drawn from nothing)
    census: Literal[2010, 2020] = 2020  # the census the synthetic population is built from
    time_varying_inputs: bool = True  # read configs/history by date; false: inputs held at their start
    data: DataFiles = DataFiles()
    demography: Demography
    labour: Labour
    housing: Housing
    decisions: Decisions
    policies: list[str] = []

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("cities")
    @classmethod
    def _check_cities(cls, v):
        if v is not None:
            dup = sorted({c for c in v if v.count(c) > 1})
            if dup:
                raise ValueError(f"names {clip(dup)} more than once; expected each city once")
        return v

    @field_validator("start")
    @classmethod
    def _check_start(cls, v: str) -> str:
        if not MONTH.fullmatch(v):
            raise ValueError("expected a month as YYYY-MM, e.g. 2020-11")
        return v

    def resolve(self, relpath: str) -> Path:
        """Path of a data file named in the scenario."""
        p = Path(relpath)
        return p if p.is_absolute() else CONFIG_DIR / p


TEACHING_DIR = CONFIG_DIR / "teaching"


def scenario_path(name_or_path: str | Path) -> Path:
    """A scenario given as a path, or as the name of a file in ``configs/scenarios``, or of a
    teaching preset in ``configs/teaching`` (as ``migrants viz`` finds them)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    named = SCENARIO_DIR / f"{name_or_path}.yaml"
    teaching = TEACHING_DIR / f"{name_or_path}.yaml"
    return teaching if not named.exists() and teaching.exists() and p.name != "lessons" else named


def available_scenarios() -> list[str]:
    """Names a scenario can be given by: configs/scenarios, then the teaching presets."""
    names = [q.stem for q in sorted(SCENARIO_DIR.glob("*.yaml"))]
    return names + [q.stem for q in sorted(TEACHING_DIR.glob("*.yaml")) if q.stem != "lessons" and q.stem not in names]


#: largest YAML input file read (scenarios, cards and specs are a few kB)
MAX_YAML_BYTES = 1_000_000
#: deepest nesting of YAML mappings and lists (the shipped files nest 4 deep)
MAX_YAML_DEPTH = 50
#: most nodes a YAML document may hold with its aliases expanded (a billion-laughs file holds 10**9)
MAX_YAML_NODES = 200_000


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with nesting depth and alias expansion capped (``MAX_YAML_DEPTH``,
    ``MAX_YAML_NODES``): a hostile file fails fast with a YAMLError instead of exhausting the
    recursion limit, the memory or the time of whatever walks the loaded data."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(f"nested more than {MAX_YAML_DEPTH} levels deep "
                                     f"(line {self.peek_event().start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root) -> None:
    """Count the nodes of ``root`` with every alias expanded (shared nodes counted each time they are
    used, memoised per node), refusing more than ``MAX_YAML_NODES`` and an alias inside itself."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted (a path from the root)
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        kids = ([x for kv in node.value for x in kv] if isinstance(node, yaml.MappingNode)
                else node.value if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            if any(id(k) in open_ or k is node for k in kids):
                raise yaml.YAMLError(f"an alias is used inside its own anchor (line {node.start_mark.line + 1}): "
                                     "the value would be infinite")
            todo = [k for k in kids if id(k) not in size]
            if todo:
                open_.add(id(node))
                stack.append((node, True))
                stack.extend((k, False) for k in todo)
                continue
        open_.discard(id(node))
        size[id(node)] = n = 1 + sum(size.get(id(k), 0) for k in kids)
        if n > MAX_YAML_NODES:
            raise yaml.YAMLError(f"expands to more than {MAX_YAML_NODES:,} values (aliases repeated "
                                 f"inside aliases, line {node.start_mark.line + 1})")


def yaml_error_text(e: Exception) -> str:
    """A PyYAML error on one line: the problem and where (``found ... at line 3, column 7``)."""
    if isinstance(e, yaml.MarkedYAMLError):
        where = e.problem_mark or e.context_mark
        text = " ".join(x for x in (e.context, e.problem) if x) or "syntax error"
        if where is not None:
            text += f" at line {where.line + 1}, column {where.column + 1}"
        return text
    if isinstance(e, RecursionError):
        return f"nested too deeply (more than {MAX_YAML_DEPTH} levels)"
    from .errors import describe

    return describe(e) if not isinstance(e, yaml.YAMLError) else str(e)


def yaml_load(text: str, what: str):
    """``yaml.safe_load`` with depth, alias expansion and number length bounded; any problem is a
    one-line ConfigError naming ``what``."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError, TypeError) as e:
        # ValueError: an integer of more than 4300 digits; TypeError: e.g. an unhashable mapping key
        raise ConfigError(f"{what}: not valid YAML ({yaml_error_text(e)})") from None


def read_yaml(path: Path, what: str = "file") -> dict:
    """Read a YAML mapping, turning I/O and syntax problems into ConfigError (at most
    ``MAX_YAML_BYTES``; nesting and aliases bounded, see ``yaml_load``)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"{what} {path}: cannot be read (it is a folder); expected a YAML file")
        with open(path, "rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)  # a FIFO or /dev/zero cannot make this read forever
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{what} {path}: cannot be read ({e.__class__.__name__}: {e})") from None
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{what} {path}: larger than {MAX_YAML_BYTES:,} bytes; expected a YAML file of a few kB")
    data = yaml_load(text, f"{what} {path}")
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif isinstance(out.get(k), dict) and "value" in out[k] and isinstance(v, (int, float)) \
                and not isinstance(v, bool):  # a parameter's value written alone over the parent's
            out[k] = overridden(out[k], v, f"`{k}: {v}` in the extending scenario")
        else:
            out[k] = v
    return out


#: longest chain of scenarios extending one another
MAX_EXTENDS = 20


def read_scenario_dict(path: Path, seen: tuple = ()) -> dict:
    """A scenario file as a dict, with ``extends: NAME`` resolved (the named scenario below this one)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"scenario {path}: no such file; expected a YAML path or one of "
                          f"{', '.join(available_scenarios())}")
    data = read_yaml(path, "scenario")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ConfigError(f"scenario {path}: field `extends` = {clip(parent)}: expected the name or path of a "
                          "scenario (text)")
    if len(seen) >= MAX_EXTENDS:
        raise ConfigError(f"scenario {path}: field `extends`: more than {MAX_EXTENDS} scenarios extend one another")
    ppath = scenario_path(parent) if not Path(str(parent)).is_absolute() else Path(parent)
    if not ppath.exists() and not Path(str(parent)).suffix:
        ppath = path.parent / f"{parent}.yaml"
    if ppath.resolve() in seen:
        raise ConfigError(f"scenario {path}: field `extends` = {parent!r} makes a cycle")
    if not ppath.exists():
        raise ConfigError(f"scenario {path}: field `extends` = {parent!r}: no scenario of that name or path")
    return deep_merge(read_scenario_dict(ppath, seen + (path.resolve(),)), data)


def _set_path(data: dict, path: str, value: Any, origin: str) -> None:
    """Set a dotted ``path`` in nested dicts; a Param is set through its ``value``."""
    keys = path.split(".")
    node = data
    for depth, k in enumerate(keys[:-1]):
        if not isinstance(node, dict) or k not in node:
            done = ".".join(keys[:depth]) or "<top>"
            raise ConfigError(
                f"{origin}: unknown path `{path}`: `{k}` is not a field of `{done}`"
                + (f" (fields: {', '.join(sorted(node))})" if isinstance(node, dict) else "")
            )
        node = node[k]
    last = keys[-1]
    if not isinstance(node, dict) or last not in node:
        raise ConfigError(
            f"{origin}: unknown path `{path}`"
            + (f" (fields of `{'.'.join(keys[:-1]) or '<top>'}`: {', '.join(sorted(node))})" if isinstance(node, dict) else "")
        )
    if isinstance(node[last], dict) and "value" in node[last] and not isinstance(value, dict):
        node[last] = overridden(node[last], value, origin)
    else:
        node[last] = value


def overridden(param: dict, value: Any, origin: str) -> dict:
    """A Param dict with a new value set by ``origin``: basis ``override``, the old value in its source."""
    if param.get("value") == value:
        return param
    was = f"{param.get('value')!r} ({param.get('basis')}: {str(param.get('source', ''))[:120]})"
    return {**param, "value": value, "basis": "override", "source": f"{origin}; before: {was}"}


def apply_overrides(data: dict, overrides: dict | None, build, origin: str, prefix: str):
    """Validate ``data`` with ``build(data, origin)``, set the dotted-path overrides, validate again.

    Validating first means an override can only touch fields the schema has
    (scenarios and policy cards share this).
    """
    if overrides:
        full = build(data, origin).model_dump()
        for k, v in overrides.items():
            _set_path(full, k, v, f"{prefix}override {k}={clip(v)}")
        data, origin = full, origin + " (with overrides)"
    return build(data, origin)


def province_key(province: str) -> str:
    """A province's key in scenario mappings and dotted paths: ``Inner Mongolia`` -> ``Inner_Mongolia``."""
    return province.replace(" ", "_")


def parse_override(text: str) -> tuple[str, Any]:
    """``"decisions.beta_income=1.5"`` -> ``("decisions.beta_income", 1.5)``."""
    if "=" not in text:
        raise ConfigError(f"--set {clip(text)}: expected path=value, e.g. --set decisions.beta_income=1.5")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9]+)*", path):
        raise ConfigError(f"--set {clip(text)}: `{clip(path)}` is not a dotted field path")
    if not raw.strip():
        return path, ""
    try:
        value = yaml_load(raw, f"--set {path}")
    except ConfigError:
        if any(c in raw for c in "[]{}&*"):  # meant as a list, mapping or alias: say what is wrong
            raise
        value = raw
    return path, value


def format_validation_error(err: ValidationError, origin: str) -> str:
    """One readable paragraph from a pydantic error: field, value, expectation."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])[:120] or "<top>"
        if e["type"] == "missing":
            parts.append(f"field `{loc}` is missing")
        elif e["type"] == "extra_forbidden":
            parts.append(f"field `{loc}` is not a known field (value {clip(e.get('input'))})")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            parts.append(f"field `{loc}` = {clip(e.get('input'))}: {msg}")
        if len(parts) == 5 and len(err.errors()) > 5:
            parts.append(f"and {len(err.errors()) - 5} more")
            break
    return f"{origin}: " + "; ".join(parts)


#: name endings of parameters that are probabilities or shares (a month's hazard, a rate, a share): 0 to 1
UNIT_INTERVAL = ("_month", "_share", "_rate", "_probability")


#: domains of parameters by name ending (the first that matches): (low, high, what); any other
#: parameter (a coefficient, an elasticity, a trend) lies within +-``COEFFICIENT_MAX``
DOMAINS = (
    ("_residents", 0.0, 1e10, "a number of persons from 0 to 10,000,000,000"),
    ("_per_100k", 0.0, 1e5, "a count per 100,000 from 0 to 100,000"),
    ("_per_1000", 0.0, 1e3, "a count per 1,000 from 0 to 1,000"),
    ("_m2_per_person", 1.0, 1e3, "a floor area from 1 to 1,000 m2 a person"),
    ("_factor", 0.0, 100.0, "a multiplying factor from 0 to 100"),
    ("_sd", 0.0, 100.0, "a standard deviation from 0 to 100"),
    ("_sd_month", 0.0, 1.0, "a monthly standard deviation from 0 to 1"),
    ("_weight", 0.0, 1.0, "a weight from 0 to 1"),
)
#: domains by name start (checked before DOMAINS): a moving cost may be made prohibitive (1,000:
#: nobody moves) without overflowing anything, since it only lowers a utility
PREFIX_DOMAINS = (("move_cost", -1e6, 1e6, "a moving cost from -1,000,000 to 1,000,000 (utility units)"),)
#: parameters that split one whole: their sum is at most 1 (the rest goes elsewhere)
SUMS = (("demography.study_home_city_weight", "demography.study_home_province_weight"),)
#: largest magnitude of a behavioural coefficient (the calibrations search within +-6; beyond
#: about 100, exp() and powers of the utilities overflow and the runs give NaN)
COEFFICIENT_MAX = 100.0


def check_params(cfg: "Scenario", origin: str) -> None:
    """Every parameter finite and within its domain: probabilities and shares (``UNIT_INTERVAL``)
    from 0 to 1, retirement ages from 40 to 80, counts and factors by ``DOMAINS``, any other
    coefficient within +-``COEFFICIENT_MAX``."""
    for path, prm in iter_params(cfg):
        v = prm.value
        name = path.rsplit(".", 1)[-1]
        if not math.isfinite(v):
            raise ConfigError(f"{origin}: field `{path}` = {v!r}: expected a finite number")
        domain = next((d for d in PREFIX_DOMAINS if name.startswith(d[0])), None) or \
            next((d for d in DOMAINS if name.endswith(d[0])), None)
        if domain is not None and not domain[1] <= v <= domain[2]:
            raise ConfigError(f"{origin}: field `{path}` = {v!r}: expected {domain[3]}")
        if (domain is None and not name.startswith("retirement_age") and not name.endswith(UNIT_INTERVAL)
                and "_share_" not in name and not abs(v) <= COEFFICIENT_MAX):
            raise ConfigError(f"{origin}: field `{path}` = {v!r}: expected a coefficient from "
                              f"-{COEFFICIENT_MAX:g} to {COEFFICIENT_MAX:g}")
        if (name.endswith(UNIT_INTERVAL) or "_share_" in name) and not 0.0 <= v <= 1.0:
            raise ConfigError(f"{origin}: field `{path}` = {v!r}: expected a probability or share from 0 to 1")
        if name.startswith("retirement_age") and not 40 <= v <= 80:
            raise ConfigError(f"{origin}: field `{path}` = {v!r}: expected a retirement age in years from 40 to 80")
    values = dict(iter_params(cfg))
    for group in SUMS:
        if all(p in values for p in group) and sum(values[p].value for p in group) > 1 + 1e-9:
            given = " + ".join(f"`{p}` = {values[p].value!r}" for p in group)
            raise ConfigError(f"{origin}: fields {given}: expected a sum of at most 1 (shares of one whole)")


def build_scenario(data: dict, origin: str) -> Scenario:
    try:
        cfg = Scenario.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, origin)) from None
    check_params(cfg, origin)
    return cfg


def load_scenario(
    scenario: str | Path | dict | Scenario = "baseline",
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """Load and validate a scenario, then apply dotted-path overrides.

    Parameters
    ----------
    scenario : name, path, dict or Scenario
        ``"baseline"`` names ``configs/scenarios/baseline.yaml``; a path is read
        as is; a dict is validated; a Scenario is copied.
    overrides : {dotted path: value}
        E.g. ``{"decisions.beta_income": 1.5, "months": 24}``.  A path that
        ends at a :class:`Param` sets its ``value``.
    """
    if isinstance(scenario, Scenario):
        data, origin = scenario.model_dump(), f"scenario {scenario.name}"
    elif isinstance(scenario, dict):
        data, origin = copy.deepcopy(scenario), "scenario (dict)"
    else:
        path = scenario_path(scenario)
        data, origin = read_scenario_dict(path), f"scenario {path}"
    return apply_overrides(data, overrides, build_scenario, origin, prefix="")


def iter_params(obj: BaseModel, prefix: str = ""):
    """Yield ``(dotted path, Param)`` for every behavioural parameter."""
    for name in type(obj).model_fields:
        v = getattr(obj, name)
        path = f"{prefix}{name}"
        if isinstance(v, Param):
            yield path, v
        elif isinstance(v, BaseModel):
            yield from iter_params(v, path + ".")
