"""Talent subsidies: monthly living subsidies and home-purchase subsidies by degree.

Living subsidy (per card, per degree ``a_e`` CNY a month, ``N`` months)
    *Enrolment*: a person who has never been enrolled (``subsidy_months_left ==
    0``), lives in a target city, meets the card's eligibility and, if
    ``require_employed``, works, is enrolled while the card is in force.  A
    person qualifying under several cards takes the one paying most for their
    degree (ties: the card first by name).  ``quota`` caps the persons enrolled
    over the card's life.
    *Payment*: each month an enrolled person living in one of the card's target
    cities (and working, if required) is paid ``a_e`` (x scale persons) and one
    of their ``N`` months is used; leaving the target cities forfeits the rest.
    Enrolled persons keep being paid after the card's end (grandfathered).  A
    person gets at most one living-subsidy programme in their life.
Home-purchase subsidy (per degree ``L_e`` CNY, once)
    Paid when an eligible market renter in a target city becomes an owner this
    month (first purchase while eligible).  The subsidy also makes buying more
    likely: eligible employed renters buy at the extra monthly hazard
    ``buy_hazard x elasticity x L_e / (price_c x home_size)`` (own stream), on
    top of the baseline purchases (which they also make).  Several cards: the
    largest amount.  ``quota`` caps payments, ``budget_cap_cny`` the total.
Utility: a type (degree, recent graduate) that qualifies sees ``a_e`` (x the
city's employment rate if work is required) plus ``L_e / value_months`` a
month in the target cities.
"""

from __future__ import annotations

import numpy as np

from ..decisions import type_table
from ..population import OWNER, RENTER
from .base import Lever, by_city
from .cards import EDUCATION_CODES, TalentCard
from .eligibility import coded_positive, ration, take_first, type_mask, uniforms_at, zero_in
from .units import UnitProgramme

HOME_SUBSIDY_USED = 1  # bit of ``policy_flags``


def by_degree(table: dict) -> np.ndarray:
    out = np.zeros(6)
    for k, v in table.items():
        out[EDUCATION_CODES[k]] = v
    return out


class TalentLever(Lever):
    kind = "talent_subsidy"

    changes = ("subsidy_months_left", "subsidy_card", "policy_flags", "housing", "unit_card", "unit_since")

    def __init__(self, card: TalentCard, idx, cards, places):
        super().__init__(card, idx, cards, places)
        self.living = card.living_subsidy
        self.home = card.home_purchase
        self.living_amount = by_degree(self.living.by_degree) if self.living else np.zeros(6)
        self.home_amount = by_degree(self.home.by_degree) if self.home else np.zeros(6)
        self.tmask = type_mask(self.blocks)
        self.units = UnitProgramme(self, card.talent_apartments) if card.talent_apartments else None
        self.home_candidates = None  # (rows, card code, amount) of the month: set in step 6, paid in step 8

    # ------------------------------------------------------------- utility
    def income_value(self, ctx, S: np.ndarray, p_emp: np.ndarray) -> None:
        """Add this card's expected monthly value to the (K, J) subsidy table."""
        if not self.in_force(ctx.t):
            return
        edu = type_table()[0]
        C = self.C
        if self.living:
            a = self.living_amount[edu] * self.tmask
            col = self.target * (p_emp if self.living.require_employed else 1.0)
            S[:, :C] += a[:, None] * col[None, :]
        if self.home:
            a = self.home_amount[edu] * self.tmask / self.home.value_months.value
            S[:, :C] += a[:, None] * self.target[None, :]

    def housing_value(self, ctx, S: np.ndarray) -> None:
        if self.units is not None:
            self.units.expected_benefit(ctx, S)

    def housing_step(self, ctx) -> None:
        if self.units is not None:
            self.units.step(ctx)

    @classmethod
    def subsidy_purchases_all(cls, ctx, levers) -> None:
        subsidy_purchases(ctx, levers)

    @classmethod
    def pay_all(cls, ctx, levers, births) -> None:
        pay_living(ctx, levers)
        pay_home(ctx, levers)


# ----------------------------------------------------------------- living
def pay_living(ctx, levers: list[TalentLever]) -> None:
    """Enrol and pay monthly living subsidies (all living-subsidy cards together)."""
    L = [lv for lv in levers if lv.living is not None]
    if not L:
        return
    P, scale = ctx.people, ctx.scale
    left, card = P.subsidy_months_left, P.subsidy_card
    # enrolment: the most generous card in force for each qualifying person
    act = [lv for lv in L if lv.in_force(ctx.t)]
    if act:
        # only people in some active card's cities can enrol: filter by the cities first,
        # so the candidates are a few per cent of the rows, not everyone never enrolled
        in_any = np.logical_or.reduce([lv.lut for lv in act])
        free = zero_in(in_any, P.city, left)  # in an active card's city, never enrolled
        best = np.zeros(free.size, np.int16)
        best_amt = np.zeros(free.size)
        for lv in act:
            amt = lv.living_amount[P.education[free]]
            ok = lv.in_target(P, free) & (amt > best_amt)
            if lv.living.require_employed:
                ok &= P.status[free] >= 0
            ok[ok] &= lv.eligible(ctx, free[ok])
            best[ok] = lv.code
            best_amt[ok] = amt[ok]
        for lv in act:
            rows = free[best == lv.code]
            if rows.size == 0:
                continue
            q = lv.quota_left_agents(scale)
            if rows.size > q:
                rows = rows[take_first(int(q), uniforms_at(lv.key(ctx, "quota"), rows))]
            left[rows] = lv.living.months
            card[rows] = lv.code
            lv.newly += rows.size * scale
    # payments
    for lv in L:
        rows = coded_positive(card, lv.code, left)  # enrolled in this card, months left
        if rows.size == 0:
            continue
        inside = lv.in_target(P, rows)
        gone = rows[~inside]
        left[gone] = -1  # left the paying cities: the rest is forfeited
        card[gone] = 0
        rows = rows[inside]
        if lv.living.require_employed:
            rows = rows[P.status[rows] >= 0]
        amount = lv.living_amount[P.education[rows]] * scale
        ok = ration(amount, uniforms_at(lv.key(ctx, "budget"), rows), lv.budget_left)
        rows, amount = rows[ok], amount[ok]
        left[rows] -= 1
        done = rows[left[rows] == 0]
        left[done] = -1  # used up: no second programme
        card[done] = 0
        c = P.city[rows]
        lv.book(beneficiaries=by_city(c, lv.C) * scale, spend_cny=by_city(c, lv.C, amount))


# ------------------------------------------------------------ home purchase
def subsidy_purchases(ctx, levers: list[TalentLever]) -> None:
    """Remember eligible market renters (the month's candidates, on the levers) and make the
    purchases the subsidy brings forward (``housing`` becomes owner)."""
    H = [lv for lv in levers if lv.home is not None and lv.in_force(ctx.t)]
    for lv in levers:
        lv.home_candidates = None
    if not H:
        return
    P, C = ctx.people, H[0].C
    rows = np.flatnonzero((P.housing == RENTER) & ((P.policy_flags & HOME_SUBSIDY_USED) == 0)
                          & (P.city >= 0) & (P.city < C))
    best = np.zeros(rows.size, np.int16)
    best_amt = np.zeros(rows.size)
    for lv in H:
        amt = lv.home_amount[P.education[rows]]
        ok = lv.in_target(P, rows) & (amt > best_amt)
        ok[ok] &= lv.eligible(ctx, rows[ok])
        best[ok] = lv.code
        best_amt[ok] = amt[ok]
    keep = best > 0
    rows, best, best_amt = rows[keep], best[keep], best_amt[keep]
    levers[0].home_candidates = (rows, best, best_amt)  # paid in step 8 if they bought (pay_home)
    hazard0 = ctx.buy_hazard_month
    price = ctx.cities["house_price_cny_m2"].to_numpy(float)
    for lv in H:
        sel = (best == lv.code) & (P.status[rows] >= 0)
        r = rows[sel]
        if r.size == 0:
            continue
        value = best_amt[sel] / (price[P.city[r]] * lv.home.home_size_m2.value)
        hazard = hazard0 * lv.home.purchase_elasticity.value * value
        buy = r[uniforms_at(lv.key(ctx, "buy"), r) < hazard]
        P.housing[buy] = OWNER


def pay_home(ctx, levers: list[TalentLever]) -> None:
    """Pay the candidates who became owners this month (once per person)."""
    if levers[0].home_candidates is None:
        return
    P, scale = ctx.people, ctx.scale
    rows, best, amt = levers[0].home_candidates
    levers[0].home_candidates = None
    bought = P.housing[rows] == OWNER
    rows, best, amt = rows[bought], best[bought], amt[bought]
    P.policy_flags[rows] |= HOME_SUBSIDY_USED
    for lv in levers:
        sel = best == lv.code
        if not sel.any():
            continue
        r, a = rows[sel], amt[sel] * scale
        q = lv.quota_left_agents(scale)
        if r.size > q:
            ok = take_first(int(q), uniforms_at(lv.key(ctx, "quota"), r))
            r, a = r[ok], a[ok]
        ok = ration(a, uniforms_at(lv.key(ctx, "budget"), r), lv.budget_left)
        r, a = r[ok], a[ok]
        lv.newly += r.size * scale
        c = P.city[r]
        lv.book(beneficiaries=by_city(c, lv.C) * scale, spend_cny=by_city(c, lv.C, a))
