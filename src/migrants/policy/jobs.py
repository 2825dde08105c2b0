"""Jobs programmes (seeds 001, 002, 004): cluster jobs, campus job fairs, minimum wage, wage arrears.

Cluster jobs
    ``jobs_per_year / 12`` jobs a month are added to the sector in each target
    city while the card is in force (they appear as vacancies and are filled
    by matching; unfilled posts expire like any vacancy).  Cost:
    ``cost_cny_per_job`` for each job added.
Campus job fairs ("百校千企", 900 fairs by 2025 in Shenyang)
    An unemployed graduate of the last ``graduated_within_months`` months in a
    target city finds a job with probability ``min(1, f x p_c)`` instead of the
    city's ``p_c`` (``f = matching_factor``): those the local round missed get a
    second chance ``(min(1, f p_c) - p_c) / (1 - p_c)`` (own stream), then a job
    in a sector with vacancies, as in local matching.  Cost:
    ``fairs_per_year / 12 x cost_cny_per_fair`` a month per target city.
Minimum wage
    While in force, the target cities' minimum wage is ``factor x`` the
    scenario's (or ``cny_month``); it floors offers, incumbents' wages and the
    city wage level.  Several cards on one city: the highest.  No fiscal cost.
Wage arrears clearing (根治欠薪)
    Low-skilled workers (education up to ``max_education``) expect
    ``arrears_share x cleared_share`` more of the expected wage in the target
    cities (destination utility and staying).  Cost:
    ``enforcement_cost_cny_month`` per target city.

A budget cap stops the programme in the month its costs would exceed it.
"""

from __future__ import annotations

import numpy as np

from .. import labour
from ..decisions import type_table
from ..population import EDU_PREMIUM
from .base import Lever
from .cards import EDUCATION_CODES, SECTOR_CODES
from .eligibility import uniforms_at


class JobsLever(Lever):
    kind = "jobs_programme"

    changes = ("status", "wage")  # job-fair hires

    def monthly_cost(self) -> np.ndarray:
        card, C = self.card, self.C
        cost = np.zeros(C)
        for cj in card.cluster_jobs:
            cost += cj.jobs_per_year / 12.0 * cj.cost_cny_per_job
        if card.job_fairs:
            cost += card.job_fairs.fairs_per_year / 12.0 * card.job_fairs.cost_cny_per_fair
        if card.wage_arrears:
            cost += card.wage_arrears.enforcement_cost_cny_month
        return cost * self.target

    def add_jobs(self, ctx, jobs: np.ndarray) -> None:
        """Cluster jobs added to ``jobs`` (C, 4) persons, and the month's programme costs."""
        if not self.in_force(ctx.t):
            return
        cost = self.monthly_cost()
        if cost.sum() > self.budget_left:
            self.halted = True
            return
        added = np.zeros(self.C)
        for cj in self.card.cluster_jobs:
            n = cj.jobs_per_year / 12.0 * self.target
            jobs[:, SECTOR_CODES[cj.sector]] += n
            added += n
        fairs = (self.card.job_fairs.fairs_per_year / 12.0 * self.target) if self.card.job_fairs else 0.0
        self.book(spend_cny=cost, units=added + fairs)

    def minimum_wage(self, ctx) -> np.ndarray | None:
        """(C,) the card's floor in its target cities (NaN elsewhere), or None."""
        mw = self.card.minimum_wage
        if mw is None or not self.in_force(ctx.t):
            return None
        base = ctx.statutory_min_wage
        value = base * mw.factor if mw.factor is not None else np.full_like(base, mw.cny_month)
        return np.where(self.target, value, np.nan)

    def second_chance(self, ctx, vacancies, sector_wage, p_meet) -> np.ndarray | None:
        """Job fairs: a second chance for recent graduates; returns hires (C, 4) by city (agents)
        and takes the posts from ``vacancies``."""
        jf = self.card.job_fairs
        P, C = ctx.people, self.C
        if jf is None or not self.in_force(ctx.t):
            return None
        f = jf.matching_factor.value
        p = np.clip(p_meet, 0.0, 1.0)
        p2 = np.where(p < 1.0, (np.minimum(1.0, f * p) - p) / np.maximum(1.0 - p, 1e-12), 0.0)
        g = P.grad_month.astype(np.int64)
        cand = np.flatnonzero((P.status == -1) & self.lut[P.city] & (g >= 0) & (ctx.month - g < jf.graduated_within_months))
        if cand.size == 0:
            return np.zeros((C, 4), np.int64)
        rows = cand[uniforms_at(self.key(ctx, "fair"), cand) < p2[P.city[cand]]]
        hires = labour.assign_jobs(rows, P.city, P.status, P.wage, P.education, vacancies, sector_wage,
                                   ctx.min_wage, self.key(ctx, "fair_hire"))
        self.book(beneficiaries=hires.sum(1) * ctx.scale)
        return hires

    def wage_value(self, ctx, S: np.ndarray, p_emp: np.ndarray) -> None:
        """Wage arrears cleared: low-skilled types expect more of the wage in the target cities."""
        wa = self.card.wage_arrears
        if wa is None or not self.in_force(ctx.t):
            return
        C, wage_level = self.C, ctx.wage_level
        edu = type_table()[0]
        low = (edu <= EDUCATION_CODES[wa.max_education]).astype(float)
        gain = wa.arrears_share.value * wa.cleared_share
        S[:, :C] += (low * EDU_PREMIUM[edu].astype(float))[:, None] * (gain * wage_level * p_emp * self.target)[None, :]
