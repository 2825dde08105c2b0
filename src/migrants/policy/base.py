"""What every lever shares: target cities, the months it is in force, its own
random streams, its budget and quota, and its line in the fiscal accounts."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..outcomes import metro_flags
from ..rng import stream_key
from .cards import CardBase, effective_end, month_index
from .eligibility import city_lookup, person_mask

METRO_TOKENS = ("shenyang_metro", "metro")

#: per-city quantities a lever books each month (policy_month columns)
LEDGER = ("beneficiaries", "spend_cny", "units", "capacity_units", "queue", "allocated", "wait_months_sum",
          "commuters")


def resolve_target(card: CardBase, all_cities, model_cities) -> np.ndarray:
    """(C,) bool over the scenario's cities from ``target`` tokens.

    Tokens: a city (``name_en`` of cities.csv), ``shenyang_metro``,
    ``province:NAME`` or ``all``.  A city of cities.csv that the scenario does
    not simulate is simply not targeted; an unknown name is an error.
    """
    tokens = card.target if isinstance(card.target, list) else [card.target]
    names = list(model_cities["name_en"])
    out = np.zeros(len(names), bool)
    known = set(all_cities["name_en"])
    provinces = set(all_cities["province"])
    for tok in tokens:
        t = str(tok).strip()
        if t == "all":
            out[:] = True
        elif t in METRO_TOKENS:
            out |= metro_flags(model_cities)
        elif t.startswith("province:"):
            p = t.split(":", 1)[1].strip()
            if p not in provinces:
                raise ConfigError(f"policy card {card.name}: field `target` = {t!r}: unknown province {p!r}; "
                                  f"expected one of {', '.join(sorted(provinces))}")
            out |= (model_cities["province"] == p).to_numpy()
        elif t in known:
            out |= np.array([n == t for n in names])
        else:
            raise ConfigError(f"policy card {card.name}: field `target` = {t!r}: not a city of cities.csv; "
                              f"expected a city name (e.g. Shenyang), 'shenyang_metro', 'province:NAME' or 'all'")
    return out


class Places(NamedTuple):
    """What a lever is built on: the scenario's cities, every city of the file (targets may
    name others) and the (J, J) travel hours at the start."""

    cities: pd.DataFrame
    all_cities: pd.DataFrame
    hours: np.ndarray


class MonthContext:
    """What a lever may read in the month, and the two changes it may ask the model for.

    A read-only view of the model (``policy.engine.PolicyEngine`` makes one): levers hold no
    reference to the model, and every change a hook makes is either returned to ``model.step``,
    made to the person columns the lever family owns (listed in each module's docstring), or
    asked for here by name (:meth:`add_housing_stock`, :meth:`move_children`).
    """

    def __init__(self, model):
        self._m = model

    # ---- when and who
    @property
    def month(self) -> int:
        """Months since the start (``grad_month`` and ``unit_since`` are on this scale)."""
        return self._m.month

    @property
    def t(self) -> int:
        """Absolute month index of the current month (year * 12 + month - 1)."""
        return self._m.start_index + self._m.month

    @property
    def start_index(self) -> int:
        return self._m.start_index

    @property
    def seed(self) -> int:
        return self._m.seed

    @property
    def scale(self) -> int:
        """Persons per agent."""
        return self._m.scale

    @property
    def people(self):
        """The person columns (``population.Population``)."""
        return self._m.people

    @property
    def cities(self):
        """The simulated cities (C rows; ``house_price_cny_m2`` of the start year)."""
        return self._m.cities

    @property
    def hours(self) -> np.ndarray:
        """(J, J) fastest travel time, hours, over the links open this month."""
        return self._m.hours

    # ---- markets this month
    @property
    def rent(self) -> np.ndarray:
        """(C,) market rent, CNY a month (last month's until rents update in step 6)."""
        return self._m.housing_market.rent

    @property
    def wage_level(self) -> np.ndarray:
        """(C,) city wage level, CNY a month."""
        return self._m.labour_market.wage_level

    @property
    def min_wage(self) -> np.ndarray:
        """(C,) minimum wage in force, CNY a month (after the job programmes of step 2)."""
        return self._m.labour_market.min_wage

    @property
    def statutory_min_wage(self) -> np.ndarray:
        """(C,) the record's (or the scenario's) minimum wage, before any card."""
        return self._m.labour_market.statutory_min_wage

    @property
    def matching_elasticity(self) -> float:
        return self._m.config.labour.matching_elasticity.value

    @property
    def buy_hazard_month(self) -> float:
        """Monthly hazard that an employed renter buys a home (housing.buy_hazard_month)."""
        return self._m.config.housing.buy_hazard_month.value

    @property
    def school_access(self) -> np.ndarray:
        """(J,) share of migrants' children in public schools this month (after the cards)."""
        return self._m.services.school_access

    @property
    def childcare(self) -> np.ndarray:
        """(J,) childcare places per 1,000 residents this month (after the cards)."""
        return self._m.services.childcare

    @property
    def base_school_access(self) -> np.ndarray:
        """(J,) the scenario's school access, before any card."""
        return np.full(self._m.J, self._m.config.decisions.migrant_school_access.value)

    @property
    def base_childcare(self) -> np.ndarray:
        """(J,) the scenario's childcare places per 1,000, before any card."""
        return np.full(self._m.J, self._m.config.decisions.childcare_places_per_1000.value)

    def date_of(self, months):
        """``YYYY-MM`` of model months (array)."""
        return self._m.recorder.date_of(months)

    @property
    def last_month(self) -> dict:
        """Last month's city record (``population``, ``employed``, ``unemployed``, ...), (C,) persons."""
        return self._m.month_record

    # ---- the two changes a lever may ask for
    def add_housing_stock(self, dwellings: np.ndarray) -> None:
        """Add (C,) dwellings (in persons housed) to the cities' housing stock: lowers rents."""
        self._m.housing_market.stock += dwellings

    def move_children(self, kids_od: np.ndarray) -> np.ndarray:
        """Move the minors of relocating parents (``kids_od`` (J, J) persons) between cities;
        returns the persons moved (J, J) (``demography.transfer_children``)."""
        from .. import demography

        return demography.transfer_children(self._m.cohorts.minors, kids_od)


class Lever:
    """One card at work in one model.

    Every hook is a no-op here; a lever family implements the ones it needs.  The engine
    calls each hook on every lever, in card-name order, at its point of the month::

        1 demography     fertility_factor(ctx)                 (C,) factor on births per woman, or None
        2 labour demand  add_jobs(ctx, jobs)                   jobs (C, 4) persons added in place
                         minimum_wage(ctx)                     (C,) floor (NaN: none), or None
                         lend(ctx, employed, jobs_agents)      platform: lend idle workers
        4 matching       matching_factor(ctx)                  (C,) factor on matching efficiency, or None
                         second_chance(ctx, vac, wage, p)      job fairs: hires (C, 4), or None
                         metro_round(ctx, left, vac, ...)      platform: (found, hires, flows), or None
        5 migration      services(ctx, school, childcare)      public services (J,) set in place
                         income_value / housing_value /
                         wage_value(ctx, S)                    expected monthly value added to S (K, J)
                         settle(ctx)                           hukou settlement
        6 housing        subsidy_purchases(ctx)                purchases a subsidy brings forward
                         housing_step(ctx)                     subsidised units: queues, allocation
        8 payments       pay(ctx, births)                      the month's payments, booked

    A family whose rule spans several cards (the most generous of several talent cards)
    overrides the class-level ``pay_all`` / ``subsidy_purchases_all`` / ``settle_all`` instead.
    """

    kind = ""
    #: the person columns a family changes (for the reader; every other change is returned)
    changes: tuple[str, ...] = ()
    #: subsidised rental units of the card (``units.UnitProgramme``), if it has any
    units = None
    #: the family creates commutes (``commute_to``): the engine then keeps commuters' accounts
    makes_commutes = False
    #: the family lends idle workers (``lend``)
    lends = False

    def __init__(self, card: CardBase, idx: int, cards: list[CardBase], places: Places):
        self.card = card
        self.name = card.name
        self.idx = idx
        self.code = idx + 1  # stored in int8 agent columns; 0 means none
        self.C = len(places.cities)
        self.target = resolve_target(card, places.all_cities, places.cities)
        self.lut = city_lookup(self.target)
        self.start_abs = month_index(card.start) if card.start else -math.inf
        end = effective_end(card, cards)
        self.end_abs = math.inf if end is None else end
        self.blocks = card.eligibility_blocks
        self.spent = 0.0
        self.newly = 0  # persons who newly received the benefit (quota)
        self.halted = False  # budget exhausted for a programme
        self.booked = {k: np.zeros(self.C) for k in LEDGER}
        self.touched = False

    # ---- hooks (no-ops)
    def fertility_factor(self, ctx):
        return None

    def add_jobs(self, ctx, jobs) -> None:
        pass

    def minimum_wage(self, ctx):
        return None

    def lend(self, ctx, employed, jobs_agents) -> None:
        pass

    def matching_factor(self, ctx):
        return None

    def second_chance(self, ctx, vacancies, sector_wage, p_meet):
        return None

    def metro_round(self, ctx, seekers_left, vacancies, sector_wage, mu):
        return None

    def services(self, ctx, school, childcare) -> None:
        pass

    def income_value(self, ctx, S, p_emp) -> None:
        pass

    def housing_value(self, ctx, S) -> None:
        pass

    def wage_value(self, ctx, S, p_emp) -> None:
        pass

    def settle(self, ctx) -> None:
        pass

    def housing_step(self, ctx) -> None:
        pass

    def pay(self, ctx, births) -> None:
        pass

    @classmethod
    def check_all(cls, levers, city_names) -> None:
        """Refuse cards of the family that contradict each other (ConfigError)."""

    @classmethod
    def subsidy_purchases_all(cls, ctx, levers) -> None:
        pass

    @classmethod
    def settle_all(cls, ctx, levers) -> None:
        for lv in levers:
            lv.settle(ctx)

    @classmethod
    def pay_all(cls, ctx, levers, births) -> None:
        for lv in levers:
            lv.pay(ctx, births)

    # ---- time
    def in_force(self, t: int) -> bool:
        """In force in absolute month ``t`` (between start and end, budget left for programmes)."""
        return (not self.halted) and self.start_abs <= t <= self.end_abs

    # ---- randomness: every card has its own named streams
    def key(self, ctx, what: str):
        return stream_key(ctx.seed, ctx.month, f"policy:{self.name}:{what}")

    # ---- budget and quota
    @property
    def budget_left(self) -> float:
        cap = self.card.budget_cap_cny
        return math.inf if cap is None else max(cap - self.spent, 0.0)

    def quota_left_agents(self, scale: int) -> int | float:
        q = self.card.quota
        return math.inf if q is None else max(q - self.newly, 0) // scale

    # ---- eligibility
    def eligible(self, ctx, rows=None) -> np.ndarray:
        return person_mask(self.blocks, ctx.people, ctx.month, ctx.start_index, rows)

    def in_target(self, P, rows=None) -> np.ndarray:
        c = P.city if rows is None else P.city[rows]
        return self.lut[c]

    # ---- accounts
    def book(self, **cols) -> None:
        """Add (C,) arrays to this month's accounts of the card (persons, CNY, units)."""
        for k, v in cols.items():
            self.booked[k] += v
        if "spend_cny" in cols:
            self.spent += float(np.sum(cols["spend_cny"]))
        self.touched = True

    def take_month(self, t: int) -> dict | None:
        """This month's accounts (or None if the card neither acted nor was in force)."""
        if not (self.touched or self.in_force(t)):
            return None
        out = {k: v.copy() for k, v in self.booked.items()}
        for v in self.booked.values():
            v[:] = 0.0
        self.touched = False
        return out


def by_city(cities: np.ndarray, C: int, weights=None) -> np.ndarray:
    """Counts (or sums of ``weights``) per simulated city (C,), ignoring other codes."""
    cities = np.asarray(cities)
    ok = (cities >= 0) & (cities < C)
    if weights is None:
        return np.bincount(cities[ok], minlength=C)[:C].astype(float)
    return np.bincount(cities[ok], weights=np.asarray(weights, float)[ok], minlength=C)[:C]
