"""Policy cards: the YAML schema, loading, overrides and composition.

A card is one YAML file in ``configs/policies/`` (or any path) describing one
lever of one government: who is targeted (cities, the metro area, a province),
from when to when, who is eligible, the benefit, an optional budget cap and
quota, and the ``source`` of every amount.  The ``lever`` field picks the
schema of the benefit:

==================== =====================================================
``talent_subsidy``    living subsidy by degree for N months, home-purchase
                      subsidy by degree, talent apartments
``affordable_housing`` a stock of subsidised rental units with a queue
``shared_employment`` metro-wide matching, commuting, lending idle workers
``hukou``             settlement rule and public services (schools, childcare)
``family``            birth-related allowances and their effect on births
``jobs_programme``    cluster jobs, campus job fairs, minimum wage, arrears
==================== =====================================================

Scenarios list cards by name or path (``policies: [shenyang_talent_3_0]``);
a name may carry field overrides in brackets, e.g.
``shenyang_third_child_allowance[births.fertility_elasticity=0.3]`` (used by sweeps).  Cards
compose: they are sorted by name, so the order of the list never matters; a
card with ``enabled: false`` is dropped; a card listed in another's
``supersedes`` stops when that card starts.  Errors are
:class:`~migrants.errors.ConfigError` naming the file, the field, the value and
what was expected.
"""

from __future__ import annotations


import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import CONFIG_DIR, MONTH, Param, apply_overrides, format_validation_error, month_index, read_yaml
from ..errors import ConfigError
from ..population import EDUCATION, SECTORS

POLICY_DIR = CONFIG_DIR / "policies"

EDUCATION_CODES = {name: code for code, name in enumerate(EDUCATION)}  # the person columns' codes
EduName = Literal["below_high_school", "high_school", "college", "bachelor", "master", "phd"]
SECTOR_CODES = {name: code for code, name in enumerate(SECTORS)}
SectorName = Literal["manufacturing", "services", "public", "hightech"]


def _p(value: float, basis: str, source: str) -> Param:
    return Param(value=value, basis=basis, source=source)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_month(v):
    if v is None:
        return v
    v = str(v)
    if not MONTH.fullmatch(v):
        raise ValueError("expected a month as YYYY-MM, e.g. 2021-08")
    return v


class Schedule(_Strict):
    """A quantity over time: ``{YYYY-MM: value}``, linear between points, flat outside."""

    points: dict[str, float]

    @field_validator("points")
    @classmethod
    def _check(cls, v):
        if not v:
            raise ValueError("expected at least one YYYY-MM: value point")
        for k, x in v.items():
            _check_month(k)
            if x < 0:
                raise ValueError(f"value {x} at {k} is negative; expected >= 0")
        return dict(sorted(v.items()))

    def at(self, index: int) -> float:
        """Value at an absolute month index (``month_index`` scale)."""
        xs = [month_index(k) for k in self.points]
        ys = list(self.points.values())
        if index <= xs[0]:
            return ys[0]
        if index >= xs[-1]:
            return ys[-1]
        for a, b, ya, yb in zip(xs, xs[1:], ys, ys[1:]):
            if a <= index <= b:
                return ya + (yb - ya) * (index - a) / (b - a)
        return ys[-1]  # pragma: no cover


def _schedule(v):
    """A schedule may be written as a bare number or as a mapping of months to numbers."""
    if isinstance(v, Schedule):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"points": {"1900-01": float(v)}}
    if isinstance(v, dict) and "points" not in v:
        return {"points": {str(k): x for k, x in v.items()}}
    return v


class Eligibility(_Strict):
    """Who qualifies.  Every given condition must hold (AND); a card may list
    several blocks, of which any one suffices (OR)."""

    education: list[EduName] | None = None
    age: tuple[int, int] | None = None
    hukou: Literal["any", "local", "nonlocal"] = "any"
    new_arrival_months: int | None = Field(None, ge=1)
    graduated_within_months: int | None = Field(None, ge=1)
    graduation_years: tuple[int, int] | None = None
    employed: bool | None = None
    has_children: bool | None = None
    min_children: int | None = Field(None, ge=0)
    female: bool | None = None

    @field_validator("age", "graduation_years")
    @classmethod
    def _range(cls, v):
        if v is not None and v[0] > v[1]:
            raise ValueError(f"expected [low, high] with low <= high, got {list(v)}")
        return v


class CardBase(_Strict):
    """Fields every card has."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    source: str = Field(min_length=3)
    notes: str = ""
    enabled: bool = True
    target: str | list[str] = Field(min_length=1)
    start: str | None = None
    end: str | None = None
    eligibility: Eligibility | list[Eligibility] | None = None
    budget_cap_cny: float | None = Field(None, ge=0)
    quota: int | None = Field(None, ge=0)
    supersedes: list[str] = []

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v):
        return _check_month(v)

    @model_validator(mode="after")
    def _order(self):
        if self.start and self.end and month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def eligibility_blocks(self) -> list[Eligibility]:
        if self.eligibility is None:
            return []
        return self.eligibility if isinstance(self.eligibility, list) else [self.eligibility]



def _amounts_by_degree(v: dict) -> dict:
    """Subsidy amounts by degree must be CNY >= 0."""
    for k, x in v.items():
        if x < 0:
            raise ValueError(f"amount for {k} is {x}; expected CNY >= 0")
    return v


class LivingSubsidy(_Strict):
    """A monthly payment by degree for up to ``months`` months (paid while living,
    and if ``require_employed`` working, in a target city)."""

    by_degree: dict[EduName, float]
    months: int = Field(36, ge=1, le=600)
    require_employed: bool = True

    _nonneg = field_validator("by_degree")(classmethod(lambda cls, v: _amounts_by_degree(v)))


class HomePurchase(_Strict):
    """A lump sum by degree paid when an eligible person becomes an owner in a target city."""

    by_degree: dict[EduName, float]
    purchase_elasticity: Param = _p(
        2.0, "assumption", "relative rise of the monthly purchase hazard per unit of subsidy / home price "
        "(a subsidy of 10% of the price raises it by 20%)")
    home_size_m2: Param = _p(90.0, "assumption", "floor area of a first home bought by a young household")
    value_months: Param = _p(
        120.0, "assumption", "a lump sum enters the destination utility spread over this many months")

    _nonneg = field_validator("by_degree")(classmethod(lambda cls, v: _amounts_by_degree(v)))


class Units(_Strict):
    """A stock of subsidised rental units in each target city, allocated by queue."""

    units: Schedule
    rent_discount: float = Field(ge=0, le=1)
    max_tenancy_months: int | None = Field(None, ge=1)
    tenants_per_unit: Param = _p(
        1.5, "assumption", "working-age tenants per unit (Yuhuan: 14,000 units house 36,000 people incl. "
        "children, seed 003)")
    apply_month: Param = _p(0.1, "assumption", "share of eligible market renters who join the queue each month")
    adds_to_stock: bool = True
    capital_cost_cny_per_unit: float = Field(0.0, ge=0)

    @field_validator("units", mode="before")
    @classmethod
    def _units(cls, v):
        return _schedule(v)


class TalentCard(CardBase):
    lever: Literal["talent_subsidy"]
    living_subsidy: LivingSubsidy | None = None
    home_purchase: HomePurchase | None = None
    talent_apartments: Units | None = None

    @model_validator(mode="after")
    def _some(self):
        if not (self.living_subsidy or self.home_purchase or self.talent_apartments):
            raise ValueError("expected at least one of living_subsidy, home_purchase, talent_apartments")
        return self


class HousingCard(CardBase, Units):
    lever: Literal["affordable_housing"]


class PlatformCard(CardBase):
    lever: Literal["shared_employment"]
    commute_max_hours: float = Field(1.0, ge=0)
    matching_speedup: Param = _p(
        0.2, "assumption", "rise of matching efficiency in member cities from pooled registration and the "
        "two-hour response to hiring requests (seed 004, 2.)")
    platform_efficiency: Param = _p(
        0.1, "assumption", "matching efficiency of the cross-city platform round relative to local matching "
        "(low: a minority of seekers and firms register on the platform)")
    lending_share: Param = _p(
        0.5, "assumption", "share of a city-sector's excess workers lent to member cities with vacancies "
        "instead of being laid off")
    lending_max_hours: float = Field(1.5, ge=0)
    operating_cost_cny_month: float = Field(0.0, ge=0)
    cost_cny_per_match: float = Field(0.0, ge=0)


class Points(_Strict):
    """Points for settlement: ``sum(weight x attribute) >= threshold``."""

    per_year_in_city: float = 1.0
    per_education_level: float = 1.0
    employed: float = 2.0
    owner: float = 3.0
    threshold: float = Field(10.0, ge=0)


class HukouCard(CardBase):
    lever: Literal["hukou"]
    rule: Literal["zero_threshold", "points", "closed"] | None = None
    points: Points | None = None
    take_up_month: Param = _p(
        0.01, "assumption", "monthly share of qualifying residents who do settle; low, since 'zero threshold "
        "but weak willingness to settle' (seed 003, 二.三)")
    migrant_school_access: Schedule | None = None
    childcare_places_per_1000: Schedule | None = None
    cost_cny_per_settler: float = Field(0.0, ge=0)
    school_cost_cny_per_pupil_month: float = Field(0.0, ge=0)
    childcare_cost_cny_per_place_month: float = Field(0.0, ge=0)

    @field_validator("migrant_school_access", "childcare_places_per_1000", mode="before")
    @classmethod
    def _schedules(cls, v):
        return None if v is None else _schedule(v)

    @model_validator(mode="after")
    def _rule(self):
        if self.rule is None and self.migrant_school_access is None and self.childcare_places_per_1000 is None:
            raise ValueError("expected at least one of rule, migrant_school_access, childcare_places_per_1000")
        if self.rule == "points" and self.points is None:
            raise ValueError("rule 'points' needs a `points` block (per_year_in_city, ..., threshold)")
        if self.migrant_school_access is not None and max(self.migrant_school_access.points.values()) > 1:
            raise ValueError("migrant_school_access is a share; expected values between 0 and 1")
        return self


class Births(_Strict):
    fertility_elasticity: Param = _p(
        0.5, "assumption", "relative change in births per unit of (benefit per birth / cost of raising a "
        "child); uncertain: small in most evaluations (Gauthier 2007 review), about 1-2 in Milligan (2005, "
        "Quebec allowance)")
    child_cost_cny: Param = _p(
        485000.0, "literature", "cost of raising a child to 18 in China, about 485,000 CNY (YuWa Population "
        "Research, 2022)")
    third_child_share: Param = _p(
        0.05, "assumption", "fallback share of births that are third or later children (used when no "
        "mother has two children in the model)")


class FamilyCard(CardBase):
    lever: Literal["family"]
    childcare_allowance_cny_month: float = Field(0.0, ge=0)
    allowance_from_child: int = Field(3, ge=1)
    allowance_months: int = Field(36, ge=1)
    maternity_allowance_cny: float = Field(0.0, ge=0)
    assisted_reproduction_cny_per_birth: float = Field(0.0, ge=0)
    assisted_reproduction_share: Param = _p(
        0.02, "assumption", "share of births conceived with assisted reproduction (order of 1-3% in China)")
    births: Births = Births()


class ClusterJobs(_Strict):
    sector: SectorName
    jobs_per_year: float = Field(ge=0)
    cost_cny_per_job: float = Field(0.0, ge=0)


class JobFairs(_Strict):
    matching_factor: Param = _p(
        1.5, "assumption", "job-finding of recent graduates in target cities relative to other seekers")
    graduated_within_months: int = Field(12, ge=1)
    fairs_per_year: float = Field(0.0, ge=0)
    cost_cny_per_fair: float = Field(0.0, ge=0)


class MinimumWage(_Strict):
    factor: float | None = Field(None, gt=0)
    cny_month: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self):
        if (self.factor is None) == (self.cny_month is None):
            raise ValueError("expected exactly one of factor, cny_month")
        return self


class WageArrears(_Strict):
    arrears_share: Param = _p(
        0.03, "assumption", "share of low-skilled migrant workers' pay withheld as arrears before clearing")
    cleared_share: float = Field(1.0, ge=0, le=1)
    max_education: EduName = "high_school"
    enforcement_cost_cny_month: float = Field(0.0, ge=0)


class JobsCard(CardBase):
    lever: Literal["jobs_programme"]
    cluster_jobs: list[ClusterJobs] = []
    job_fairs: JobFairs | None = None
    minimum_wage: MinimumWage | None = None
    wage_arrears: WageArrears | None = None

    @model_validator(mode="after")
    def _some(self):
        if not (self.cluster_jobs or self.job_fairs or self.minimum_wage or self.wage_arrears):
            raise ValueError("expected at least one of cluster_jobs, job_fairs, minimum_wage, wage_arrears")
        return self




# ------------------------------------------------------------------ loading
_OVERRIDE_RE = re.compile(r"^(?P<ref>[^\[\]]+?)\s*(\[(?P<ov>.*)\])?$")


def split_reference(text: str) -> tuple[str, dict[str, Any]]:
    """``"shenyang_third_child_allowance[births.fertility_elasticity=0.3; enabled=false]"`` -> name and overrides."""
    m = _OVERRIDE_RE.match(str(text).strip())
    if not m:
        raise ConfigError(f"policy {text!r}: expected a card name or path, optionally with [field=value; ...]")
    overrides = {}
    if m.group("ov"):
        from ..config import parse_override

        for part in re.split(r"[;,]", m.group("ov")):
            if part.strip():
                try:
                    k, v = parse_override(part.strip())
                except ConfigError as e:
                    raise ConfigError(f"policy {text!r}: {e}") from None
                overrides[k] = v
    return m.group("ref").strip(), overrides


def card_path(ref: str) -> Path:
    """A card given as a path, or as the name of a file in ``configs/policies``."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml"):
        if p.exists() or p.is_absolute():
            return p
        alt = POLICY_DIR / p.name
        return alt if alt.exists() else p
    return POLICY_DIR / f"{ref}.yaml"


def available_cards() -> list[str]:
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))


def build_card(data: dict, origin: str) -> CardBase:
    """Validate one card's fields (``data``) with its lever's schema."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of fields, got {type(data).__name__}")
    from .registry import FAMILIES  # the registry imports the schemas above

    lever = data.get("lever")
    if lever is None:
        raise ConfigError(f"{origin}: field `lever` is missing; expected one of {', '.join(FAMILIES)}")
    if not isinstance(lever, str) or lever not in FAMILIES:
        raise ConfigError(f"{origin}: field `lever` = {lever!r}: expected one of {', '.join(FAMILIES)}")
    cls = FAMILIES[lever].card
    try:
        card = cls.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format(e, origin)) from None
    bad = _non_finite(card.model_dump())
    if bad:
        raise ConfigError(f"{origin}: field `{bad[0]}` = {bad[1]!r}: expected a finite number of at most "
                          f"{CARD_NUMBER_MAX:,.0f} in size")
    return card


#: largest magnitude of any number on a card (CNY, units, persons): beyond it the spend of a run
#: overflows its 64-bit counters
CARD_NUMBER_MAX = 1e12


def _non_finite(node, path: str = ""):
    """The first (dotted path, value) of a non-finite number in a card's fields, or None."""
    if isinstance(node, dict):
        for k, v in node.items():
            hit = _non_finite(v, f"{path}.{k}" if path else str(k))
            if hit:
                return hit
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            hit = _non_finite(v, f"{path}.{i}")
            if hit:
                return hit
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and not abs(node) <= CARD_NUMBER_MAX:
        return path, node
    return None


def _format(err: ValidationError, origin: str) -> str:
    """Like the scenario's messages; a whole-card rule names the card rather than dumping it."""
    parts = []
    for e in err.errors():
        if not e["loc"]:
            parts.append(e["msg"].removeprefix("Value error, "))
        else:
            parts.append(format_validation_error(_One(e), "").removeprefix(": "))
    return f"{origin}: " + "; ".join(parts)


class _One:
    """Wraps one pydantic error dict so ``format_validation_error`` can format it."""

    def __init__(self, e):
        self.e = e

    def errors(self):
        return [self.e]


def load_card(reference: str) -> CardBase:
    """A card from a name (``configs/policies/NAME.yaml``) or a path, with bracket overrides applied."""
    ref, overrides = split_reference(reference)
    path = card_path(ref)
    if not path.exists():
        raise ConfigError(f"policy card {ref!r}: no such file ({path}); expected a YAML path or one of "
                          f"{', '.join(available_cards()) or '(none in configs/policies)'}")
    data = read_yaml(path, "policy card")
    origin = f"policy card {path}"
    return apply_overrides(data, overrides, build_card, origin, prefix=f"{origin}: ")


def load_cards(references: list[str]) -> list[CardBase]:
    """Load, drop disabled cards, check names are unique; sorted by name (order-independent)."""
    cards: dict[str, tuple[CardBase, str]] = {}
    for ref in references:
        card = load_card(ref)
        if card.name in cards:
            other, oref = cards[card.name]
            if other.model_dump() == card.model_dump():
                continue  # listed twice: once is enough
            raise ConfigError(f"policies: {oref!r} and {ref!r} are different cards with the same name "
                              f"{card.name!r}; expected unique card names")
        cards[card.name] = (card, ref)
    out = [c for c, _ in sorted(cards.values(), key=lambda t: t[0].name) if c.enabled]
    for c in out:
        for s in c.supersedes:
            if s == c.name:
                raise ConfigError(f"policy card {c.name}: field `supersedes` names the card itself")
    return out


def effective_end(card: CardBase, cards: list[CardBase]) -> int | None:
    """Absolute end month of a card: its ``end``, or earlier if a listed card supersedes it."""
    end = month_index(card.end) if card.end else None
    for other in cards:
        if card.name in other.supersedes and other.start:
            stop = month_index(other.start) - 1
            end = stop if end is None else min(end, stop)
    return end
