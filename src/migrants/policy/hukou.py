"""Hukou (household registration) rules and public services (seed 003; seed 004 for childcare).

Settlement
    ``zero_threshold``: a resident of a target city whose hukou is elsewhere and
    who meets the card's eligibility (e.g. graduates only) may settle;
    ``points``: only if ``per_year_in_city x years + per_education_level x
    education code + employed x [works] + owner x [owns] >= threshold``;
    ``closed``: nobody settles; no ``rule``: the card leaves settlement alone
    (a public-services card).  Qualifying residents settle at
    ``take_up_month`` a month (own stream): settling is a choice, and seed 003
    notes weak willingness where housing, schooling and insurance do not
    follow.  A settler's ``hukou_city`` becomes the city; from then on the
    city is their hukou city in the destination utility (``hukou_value`` and
    full schooling for their children), and hukou-gated benefits (cards with
    ``eligibility: {hukou: local}``) apply to them.  ``quota`` caps settlers.
Public services
    ``migrant_school_access`` (share of migrants' children in public schools)
    and ``childcare_places_per_1000`` replace the scenario's values in the
    target cities while the card is in force (schedules allowed, e.g. 3.2
    places in 2023 rising to 4.5 by 2025).  They enter the utility of people
    with children.  Costs: ``school_cost_cny_per_pupil_month`` for each
    migrant child newly admitted (access above the scenario's value x migrant
    children) and ``childcare_cost_cny_per_place_month`` for places above the
    scenario's value.

Two hukou cards may not set the same thing for the same city in the same
month (an error at load time), so the outcome never depends on the order of
cards.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .base import Lever, by_city
from .eligibility import migrants_in, ration, take_first, uniforms_at


class HukouLever(Lever):
    kind = "hukou"

    changes = ("hukou_city",)  # settlers

    @classmethod
    def check_all(cls, levers, city_names) -> None:
        check_conflicts(levers, city_names)

    def settles(self, t: int) -> bool:
        """Does the card settle anyone in month ``t`` (in force, with a rule that is not closed)?"""
        return self.in_force(t) and self.card.rule not in (None, "closed")

    @classmethod
    def settle_all(cls, ctx, levers) -> None:
        """The cards' settlements in card-name order (``settle``), from one pass over the columns: the
        residents of any settling card's cities whose hukou is elsewhere.  A settlement only makes
        hukou equal to city, so each card's candidates are those of them it would find itself."""
        active = [lv for lv in levers if lv.settles(ctx.t)]
        if not active:
            return
        P = ctx.people
        migrants = migrants_in(np.logical_or.reduce([lv.lut for lv in active]), P.city, P.hukou_city)
        for lv in levers:
            lv.settle(ctx, migrants)

    def settle(self, ctx, migrants=None) -> None:
        """Residents who qualify and take it up settle: their ``hukou_city`` becomes the city.
        ``migrants``: rows that include every resident of the targets with hukou elsewhere (else all rows)."""
        card = self.card
        if not self.settles(ctx.t):
            return
        P, C, scale = ctx.people, self.C, ctx.scale
        if migrants is None:
            rows = migrants_in(self.lut, P.city, P.hukou_city)  # living in a target city, hukou elsewhere
        else:
            c = P.city[migrants]
            rows = migrants[self.lut[c] & (P.hukou_city[migrants] != c)]
        if rows.size == 0:
            return
        rows = rows[self.eligible(ctx, rows)]
        if card.rule == "points":
            pt = card.points
            score = (pt.per_year_in_city * P.months_in_city[rows] / 12.0
                     + pt.per_education_level * P.education[rows]
                     + pt.employed * (P.status[rows] >= 0) + pt.owner * (P.housing[rows] == 2))
            rows = rows[score >= pt.threshold]
        rows = rows[uniforms_at(self.key(ctx, "settle"), rows) < card.take_up_month.value]
        q = self.quota_left_agents(scale)
        if rows.size > q:
            rows = rows[take_first(int(q), uniforms_at(self.key(ctx, "quota"), rows))]
        cost = np.full(rows.size, card.cost_cny_per_settler * scale)
        rows = rows[ration(cost, uniforms_at(self.key(ctx, "budget"), rows), self.budget_left)]
        P.hukou_city[rows] = P.city[rows]
        self.newly += rows.size * scale
        c = P.city[rows]
        self.book(beneficiaries=by_city(c, C) * scale, spend_cny=by_city(c, C) * scale * card.cost_cny_per_settler)

    def services(self, ctx, school: np.ndarray, childcare: np.ndarray) -> None:
        """Set this month's values in the target cities (arrays of length J)."""
        if not self.in_force(ctx.t):
            return
        C = self.C
        if self.card.migrant_school_access is not None:
            school[:C][self.target] = self.card.migrant_school_access.at(ctx.t)
        if self.card.childcare_places_per_1000 is not None:
            childcare[:C][self.target] = self.card.childcare_places_per_1000.at(ctx.t)

    def pay(self, ctx, births) -> None:
        """Cost of the school places and childcare above the scenario's, for last month's residents."""
        card = self.card
        if not self.in_force(ctx.t) or not (card.school_cost_cny_per_pupil_month
                                            or card.childcare_cost_cny_per_place_month):
            return
        C, P = self.C, ctx.people
        school, childcare = ctx.school_access, ctx.childcare
        base_school, base_childcare = ctx.base_school_access, ctx.base_childcare
        population = np.asarray(ctx.last_month["population"], float)  # last month's residents
        migrant_kids = by_city(P.city, C, np.where(P.hukou_city != P.city, P.children, 0)) * ctx.scale
        extra_pupils = np.maximum(school[:C] - base_school[:C], 0) * migrant_kids * self.target
        extra_places = np.maximum(childcare[:C] - base_childcare[:C], 0) * population / 1000.0 * self.target
        spend = (extra_pupils * card.school_cost_cny_per_pupil_month
                 + extra_places * card.childcare_cost_cny_per_place_month)
        total = spend.sum()
        if total > self.budget_left:
            spend *= self.budget_left / total
            self.halted = True
        self.book(beneficiaries=extra_pupils + extra_places, spend_cny=spend, units=extra_places)


def check_conflicts(levers: list[HukouLever], names) -> None:
    """Two hukou cards may not set the same thing (settlement rule, school access,
    childcare places) for one city in overlapping months."""
    for a_i, a in enumerate(levers):
        for b in levers[a_i + 1:]:
            both = a.target & b.target
            if not (both.any() and a.start_abs <= b.end_abs and b.start_abs <= a.end_abs):
                continue
            for field in ("rule", "migrant_school_access", "childcare_places_per_1000"):
                if getattr(a.card, field) is not None and getattr(b.card, field) is not None:
                    city = names[int(np.flatnonzero(both)[0])]
                    raise ConfigError(
                        f"policies: hukou cards {a.name!r} and {b.name!r} both set `{field}` for {city} in "
                        f"overlapping months; expected at most one per city and month (give one an `end` or a "
                        f"`start`, or list one in the other's `supersedes`)")
