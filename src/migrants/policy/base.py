"""What every lever shares: target cities, the months it is in force, its own
random streams, its budget and quota, and its line in the fiscal accounts."""

from __future__ import annotations

import math

import numpy as np

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


class Lever:
    """One card at work in one model.  Subclasses implement the hooks they need."""

    kind = ""

    def __init__(self, engine, card: CardBase, idx: int, cards: list[CardBase]):
        self.e = engine
        self.card = card
        self.name = card.name
        self.idx = idx
        self.code = idx + 1  # stored in int8 agent columns; 0 means none
        self.target = resolve_target(card, engine.all_cities, engine.m.cities)
        self.lut = city_lookup(self.target)
        self.start_abs = month_index(card.start) if card.start else -math.inf
        end = effective_end(card, cards)
        self.end_abs = math.inf if end is None else end
        self.blocks = card.eligibility_blocks
        self.spent = 0.0
        self.newly = 0  # persons who newly received the benefit (quota)
        self.halted = False  # budget exhausted for a programme
        self.booked = {k: np.zeros(engine.C) for k in LEDGER}
        self.touched = False

    # ---- time
    @property
    def active(self) -> bool:
        """In force this month (between start and end, budget left for programmes)."""
        return (not self.halted) and self.start_abs <= self.e.t <= self.end_abs

    # ---- randomness: every card has its own named streams
    def key(self, what: str):
        return stream_key(self.e.m.seed, self.e.m.month, f"policy:{self.name}:{what}")

    # ---- budget and quota
    @property
    def budget_left(self) -> float:
        cap = self.card.budget_cap_cny
        return math.inf if cap is None else max(cap - self.spent, 0.0)

    def quota_left_agents(self) -> int | float:
        q = self.card.quota
        return math.inf if q is None else max(q - self.newly, 0) // self.e.scale

    # ---- eligibility
    def eligible(self, rows=None) -> np.ndarray:
        e = self.e
        return person_mask(self.blocks, e.P, e.m.month, e.m.start_index, rows)

    def in_target(self, rows=None) -> np.ndarray:
        c = self.e.P.city if rows is None else self.e.P.city[rows]
        return self.lut[c]

    # ---- accounts
    def book(self, **cols) -> None:
        """Add (C,) arrays to this month's accounts of the card (persons, CNY, units)."""
        for k, v in cols.items():
            self.booked[k] += v
        if "spend_cny" in cols:
            self.spent += float(np.sum(cols["spend_cny"]))
        self.touched = True

    def take_month(self) -> dict | None:
        """This month's accounts (or None if the card neither acted nor was in force)."""
        if not (self.touched or self.active):
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
