"""Subsidised rental units: affordable rental housing (保障性租赁住房) and talent apartments.

Each programme has, in every target city, a stock of ``U_c(t)`` units (the
card's schedule, linear between the given months) housing
``tenants_per_unit`` working-age persons each, so at most
``floor(U_c x tenants_per_unit / scale)`` agents.  Each month, in this order:

1. tenants who moved away (their housing was reset) leave; tenancies older
   than ``max_tenancy_months`` end; a programme out of force ends all tenancies;
2. new units are added to the city's housing stock (``adds_to_stock``), which
   lowers market rents;
3. queued applicants who no longer qualify (moved, bought, no longer
   eligible) leave the queue; eligible market renters in a target city who are
   in no queue join this one at ``apply_month`` a month (own stream);
4. free units go to the queue in order of application month (first come,
   first served; ties by a random draw of the programme's stream) up to the
   capacity and the ``quota`` (persons allocated over the card's life);
5. tenants pay ``(1 - rent_discount)`` of the market rent; the discount is the
   programme's spend: ``rent_c x rent_discount x tenants x scale``.  If a
   ``budget_cap_cny`` cannot cover the month, the newest tenancies end.

Recorded per city and month: occupied units, capacity, queue, allocations and
the mean wait (months) of those allocated.  In the destination utility, a
qualifying type expects ``coverage_c x rent_discount x rent_c`` a month, with
``coverage_c = capacity / (capacity + queue)`` of the previous month.
"""

from __future__ import annotations

import numpy as np

from ..population import RENTER, SUBSIDISED
from .base import Lever, by_city
from .cards import HousingCard, Units
from .eligibility import ration, type_mask, uniforms_at


class UnitProgramme:
    """Units of one card (``lever``) in its target cities."""

    def __init__(self, lever: Lever, spec: Units):
        self.lv = lever
        self.spec = spec
        self.code = lever.code
        C = lever.C
        self.units = np.zeros(C)  # units in the stock now
        self.cap_agents = np.zeros(C, np.int64)
        self.queue_agents = np.zeros(C)
        self.tmask = type_mask(lever.blocks)

    @property
    def tenants_per_unit(self) -> float:
        return self.spec.tenants_per_unit.value

    def coverage(self) -> np.ndarray:
        cap = self.cap_agents.astype(float)
        return np.where(cap > 0, cap / np.maximum(cap + self.queue_agents, 1.0), 0.0)

    def expected_benefit(self, ctx, S: np.ndarray) -> None:
        """Add the expected monthly rent discount (K, J) of qualifying types to ``S``."""
        if not self.lv.in_force(ctx.t):
            return
        C, rent = self.lv.C, ctx.rent
        S[:, :C] += self.tmask[:, None] * (self.coverage() * self.spec.rent_discount * rent * self.lv.target)[None, :]

    def step(self, ctx) -> None:
        lv, spec = self.lv, self.spec
        P, scale, C, month = ctx.people, ctx.scale, lv.C, ctx.month
        uc, since = P.unit_card, P.unit_since
        code = self.code
        # 1. tenants who left, tenancies that end
        housed = np.flatnonzero(uc == -code)
        gone = housed[(P.housing[housed] != SUBSIDISED) | (P.city[housed] < 0)]  # moved away, or died / retired
        uc[gone] = 0
        housed = housed[(P.housing[housed] == SUBSIDISED) & (P.city[housed] >= 0)]
        if not lv.in_force(ctx.t):
            self._end(P, housed)
            waiting = np.flatnonzero(uc == code)
            uc[waiting] = 0
            self.cap_agents[:] = 0
            self.queue_agents[:] = 0
            return
        if spec.max_tenancy_months is not None:
            over = housed[(month - since[housed].astype(np.int64)) >= spec.max_tenancy_months]
            self._end(P, over)
            housed = np.setdiff1d(housed, over, assume_unique=True)
        # 2. the stock
        now = spec.units.at(ctx.t) * lv.target
        added = np.maximum(now - self.units, 0.0)
        if spec.adds_to_stock and added.any():
            ctx.add_housing_stock(added * self.tenants_per_unit)
        if spec.capital_cost_cny_per_unit and added.any():
            lv.book(spend_cny=added * spec.capital_cost_cny_per_unit)
        self.units = now
        self.cap_agents = np.floor(now * self.tenants_per_unit / scale + 1e-9).astype(np.int64)
        # capacity can shrink (a falling schedule): the newest tenancies end
        tenants = by_city(P.city[housed], C).astype(np.int64)
        if (tenants > self.cap_agents).any():
            order = np.lexsort((-since[housed].astype(np.int64), P.city[housed]))
            h = housed[order]
            rank = _rank_in_group(P.city[h])
            over = h[rank >= self.cap_agents[P.city[h]]]
            self._end(P, over)
            housed = np.setdiff1d(housed, over)
            tenants = by_city(P.city[housed], C).astype(np.int64)
        # 3. the queue
        waiting = np.flatnonzero(uc == code)
        stay = lv.in_target(P, waiting) & (P.housing[waiting] == RENTER)
        stay[stay] &= lv.eligible(ctx, waiting[stay])
        uc[waiting[~stay]] = 0
        waiting = waiting[stay]
        cand = np.flatnonzero((uc == 0) & (P.housing == RENTER) & lv.lut[P.city])
        if cand.size:
            cand = cand[lv.eligible(ctx, cand)]
            join = cand[uniforms_at(lv.key(ctx, "apply"), cand) < spec.apply_month.value]
            uc[join] = code
            since[join] = month
            waiting = np.sort(np.concatenate([waiting, join]))
        # 4. allocation: first come, first served, per city
        free = np.maximum(self.cap_agents - tenants, 0)
        allocated = np.zeros(C)
        wait_sum = np.zeros(C)
        if waiting.size and free.any():
            tie = uniforms_at(lv.key(ctx, "queue"), waiting)
            order = np.lexsort((tie, since[waiting].astype(np.int64), P.city[waiting]))
            w = waiting[order]
            rank = _rank_in_group(P.city[w])
            got = w[rank < free[P.city[w]]]
            q = lv.quota_left_agents(scale)
            if got.size > q:  # queue order: the first in line
                got = got[: int(q)]
            waited = month - since[got].astype(np.int64)
            P.housing[got] = SUBSIDISED
            uc[got] = -code
            since[got] = month
            lv.newly += got.size * scale
            allocated = by_city(P.city[got], C) * scale
            wait_sum = by_city(P.city[got], C, waited) * scale
            housed = np.concatenate([housed, got])
            waiting = np.setdiff1d(waiting, got)
        # 5. the rent discount, within the budget (the newest tenancies end first)
        rent = ctx.rent  # this month's, after step 6's update
        cost = rent[P.city[housed]] * spec.rent_discount * scale
        ok = ration(cost, _age_priority(since[housed], housed), lv.budget_left)
        if not ok.all():
            self._end(P, housed[~ok])
            housed, cost = housed[ok], cost[ok]
        c = P.city[housed]
        persons = by_city(c, C) * scale
        self.queue_agents = by_city(P.city[waiting], C)
        lv.book(beneficiaries=persons, spend_cny=by_city(c, C, cost), units=persons / self.tenants_per_unit,
                capacity_units=self.units.copy(), queue=self.queue_agents * scale, allocated=allocated,
                wait_months_sum=wait_sum)

    @staticmethod
    def _end(P, rows) -> None:
        P.housing[rows] = RENTER
        P.unit_card[rows] = 0


def _age_priority(since, rows):
    """Budget rationing keeps the oldest tenancies: rank by month housed, then row."""
    prio = np.empty(rows.size)
    prio[np.lexsort((rows, since.astype(np.int64)))] = np.arange(rows.size)
    return prio


def _rank_in_group(groups: np.ndarray) -> np.ndarray:
    """Rank of each element within runs of equal ``groups`` (already sorted by group)."""
    n = groups.size
    if n == 0:
        return np.zeros(0, np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, n]))
    return np.arange(n) - first


class HousingLever(Lever):
    """Affordable rental housing: one card, one unit programme."""

    kind = "affordable_housing"

    changes = ("housing", "unit_card", "unit_since")

    def __init__(self, card: HousingCard, idx, cards, places):
        super().__init__(card, idx, cards, places)
        self.units = UnitProgramme(self, card)

    def housing_value(self, ctx, S: np.ndarray) -> None:
        self.units.expected_benefit(ctx, S)

    def housing_step(self, ctx) -> None:
        self.units.step(ctx)
