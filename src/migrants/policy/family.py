"""Family policy (seeds 000 and 001): allowances that change birth rates, and their cost.

Benefit per birth in city c (CNY)::

    V_c = maternity_allowance
        + childcare_allowance_month x allowance_months x third_c
        + assisted_reproduction_per_birth x assisted_reproduction_share

where ``third_c`` is the share of eligible women aged 20-44 with at least
``allowance_from_child - 1`` children (the births that qualify for the
allowance; the Param ``third_child_share`` if there are none).  Births per
woman in the city are multiplied by::

    1 + fertility_elasticity x V_c / child_cost x eligible_c

with ``eligible_c`` the share of women aged 20-44 in the city who meet the
card's eligibility (e.g. local hukou, as in Shenyang's third-child allowance,
seed 000 一(一)1).  The elasticity is an explicit, uncertain Param (vary it in
sweeps: ``shenyang_third_child_allowance[births.fertility_elasticity=1.0]``).

Cost booked each month: maternity allowance and assisted-reproduction
coverage for eligible births (``births_c x eligible_c``), plus the monthly
allowance for every qualifying child born in the last ``allowance_months``
months (children counted where born).  A budget cap scales the month's
payments down to what is left and then stops the card.
"""

from __future__ import annotations

import numpy as np

from .base import Lever
from .cards import FamilyCard


class FamilyLever(Lever):
    kind = "family"

    changes = ()  # reads the person columns; its effect is the factor on births it returns

    def __init__(self, card: FamilyCard, idx, cards, places):
        super().__init__(card, idx, cards, places)
        C = self.C
        self.ring = np.zeros((card.allowance_months, C))  # qualifying children by month of birth
        self.eligible_share = np.zeros(C)
        self.third_share = np.zeros(C)

    def fertility_factor(self, ctx) -> np.ndarray | None:
        """(C,) factor on births per woman this month; also remembers the eligible shares."""
        if not self.in_force(ctx.t):
            return None
        P, C, card = ctx.people, self.C, self.card
        rows = np.flatnonzero((P.female == 1) & (P.age >= 20) & (P.age <= 44) & self.lut[P.city])
        c = P.city[rows].astype(np.int64)
        women = np.bincount(c, minlength=C)[:C].astype(float)
        ok = self.eligible(ctx, rows)
        elig = np.bincount(c[ok], minlength=C)[:C].astype(float)
        third = np.bincount(c[ok & (P.children[rows] >= card.allowance_from_child - 1)], minlength=C)[:C]
        self.eligible_share = np.where(women > 0, elig / np.maximum(women, 1), 0.0) * self.target
        self.third_share = np.where(elig > 0, third / np.maximum(elig, 1), card.births.third_child_share.value)
        value = (card.maternity_allowance_cny
                 + card.childcare_allowance_cny_month * card.allowance_months * self.third_share
                 + card.assisted_reproduction_cny_per_birth * card.assisted_reproduction_share.value)
        b = card.births
        return 1.0 + b.fertility_elasticity.value * value / b.child_cost_cny.value * self.eligible_share

    def pay(self, ctx, births: np.ndarray) -> None:
        card = self.card
        if not self.in_force(ctx.t):
            return
        eligible_births = births * self.eligible_share
        self.ring = np.roll(self.ring, 1, axis=0)
        self.ring[0] = eligible_births * self.third_share
        children = self.ring.sum(0) if card.childcare_allowance_cny_month > 0 else np.zeros_like(births, float)
        spend = (eligible_births * (card.maternity_allowance_cny
                                    + card.assisted_reproduction_cny_per_birth * card.assisted_reproduction_share.value)
                 + children * card.childcare_allowance_cny_month)
        total = float(spend.sum())
        share = 1.0
        if total > self.budget_left:
            share = self.budget_left / total if total > 0 else 0.0
            self.halted = True
        self.book(beneficiaries=(eligible_births + children) * share, spend_cny=spend * share, units=children * share)
