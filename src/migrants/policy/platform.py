"""The metro-wide shared-employment platform (共享用工, seeds 001 and 004).

Member cities are the card's targets (the Shenyang metropolitan area).  Three
mechanisms, each with its own random stream:

Faster matching (the "two-hour response")
    The matching efficiency of member cities is ``mu_c x (1 + matching_speedup)``.
Metro-wide matching
    After local matching, job-seekers still unemployed in member city c meet
    vacancies in the other member cities through a pooled matching function,
    ``M_c = platform_efficiency x mu_c x U_c^a x V_(-c)^(1-a)`` (capped by
    U_c and V_(-c), the vacancies left in the other members).  A seeker who
    meets takes a job in city j (drawn in proportion to the vacancies they
    qualify for) and commutes if the travel time c-j is at most
    ``commute_max_hours``, else moves to j (a recorded migration, children
    included).
Lending idle workers
    Where a member city-sector has more workers than jobs, a share
    ``lending_share`` of the excess is lent to the same sector in member cities
    with vacancies within ``lending_max_hours`` (in proportion to their
    vacancies, never more than they have) instead of being laid off; the lent
    workers commute.

Commuters live in one city and work in another (``commute_to`` = work city +
1).  Labour-market counts (jobs, vacancies, lay-offs) use the workplace;
population and unemployment use the residence.  A commute ends when the
person loses the job, moves, or moves to the work city.  Recorded:
``commuters_out`` / ``commuters_in`` per city in city_month, platform matches
and lent workers as the card's beneficiaries, commuters in policy_month.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..labour import hire, offer_noise, qualifies, relocate
from ..rng import SALT_PLATFORM_OFFER, uniform
from .base import Lever, by_city
from .cards import PlatformCard
from .eligibility import uniforms_at


class PlatformLever(Lever):
    kind = "shared_employment"

    changes = ("commute_to", "status", "wage", "city", "months_in_city", "housing")  # lent and matched workers
    makes_commutes = True
    lends = True

    def __init__(self, card: PlatformCard, idx, cards, places):
        super().__init__(card, idx, cards, places)
        C = self.C
        h = places.hours[:C, :C]
        member = self.target
        self.pair = member[:, None] & member[None, :] & ~np.eye(C, dtype=bool)
        self.lend_pair = self.pair & (h <= card.lending_max_hours)
        self.commute_pair = self.pair & (h <= card.commute_max_hours)

    def matching_factor(self, ctx) -> np.ndarray | None:
        """The "two-hour response": (C,) factor on matching efficiency in member cities."""
        if not self.in_force(ctx.t):
            return None
        return np.where(self.target, 1.0 + self.card.matching_speedup.value, 1.0)

    # ------------------------------------------------------------ lending
    def lend(self, ctx, employed: np.ndarray, jobs_agents: np.ndarray) -> None:
        """Lend idle workers: they commute to member cities' vacancies (``commute_to``), and
        ``employed`` (C, 4) agents by workplace changes in place."""
        if not self.in_force(ctx.t):
            return
        P, C = ctx.people, self.C
        excess = np.maximum(employed - jobs_agents, 0.0) * self.target[:, None]
        vac = np.maximum(jobs_agents - employed, 0.0) * self.target[:, None]
        if not excess.any() or not vac.any():
            return
        share = self.card.lending_share.value
        # desired loans D[c, j, s] in proportion to vacancies reachable from c, capped by j's vacancies
        reach = self.lend_pair[:, :, None] * vac[None, :, :]
        tot = reach.sum(1)
        D = np.where(tot[:, None, :] > 0, share * excess[:, None, :] * reach / np.maximum(tot[:, None, :], 1e-12), 0.0)
        inflow = D.sum(0)
        D *= np.where(inflow > vac, vac / np.maximum(inflow, 1e-12), 1.0)[None, :, :]
        want = D.sum(1)  # (C, 4) agents to lend from each city-sector
        if want.sum() < 1e-9:
            return
        # who: employed residents working at home in that city-sector, thinned at want / count
        cand = np.flatnonzero((P.status >= 0) & (P.commute_to == 0) & self.lut[P.city])
        c, s = P.city[cand].astype(np.int64), P.status[cand].astype(np.int64)
        count = np.zeros((C, 4))
        np.add.at(count, (c, s), 1.0)
        p = np.where(count > 0, want / np.maximum(count, 1.0), 0.0)
        pick = uniforms_at(self.key(ctx, "lend"), cand) < p[c, s]
        rows, c, s = cand[pick], c[pick], s[pick]
        if rows.size == 0:
            return
        cum = np.cumsum(D[c, :, s], axis=1)
        u = uniforms_at(self.key(ctx, "lend_to"), rows) * cum[:, -1]
        j = np.minimum((cum <= u[:, None]).sum(1), C - 1)
        P.commute_to[rows] = (j + 1).astype(np.int16)
        np.add.at(employed, (c, s), -1.0)
        np.add.at(employed, (j, s), 1.0)
        self.book(beneficiaries=by_city(c, C) * ctx.scale)

    # ----------------------------------------------------------- matching
    def metro_round(self, ctx, seekers_left, vacancies, sector_wage, mu):
        """Metro-wide round for seekers left after local matching; takes posts from ``vacancies``.

        Returns (found (C,) agents by residence, hires (C, 4) agents by workplace, moves (J, J)
        persons of those who relocate, children included), or None when not in force.
        """
        if not self.in_force(ctx.t):
            return None
        P, scale, alpha = ctx.people, ctx.scale, ctx.matching_elasticity
        V = np.maximum(vacancies, 0.0).sum(1)
        V_other = (self.pair * V[None, :]).sum(1)
        U = np.maximum(seekers_left, 0.0) * self.target
        m = self.card.platform_efficiency.value * mu * U ** alpha * V_other ** (1 - alpha)
        m = np.minimum(m, np.minimum(U, V_other))
        p = np.where(U > 0, m / np.maximum(U, 1e-12), 0.0)
        cand = np.flatnonzero((P.status == -1) & self.lut[P.city])
        rows = cand[uniforms_at(self.key(ctx, "meet"), cand) < p[P.city[cand]]]
        found, hires, moves, kids, _ = platform_assign(
            rows, P.columns(), vacancies, sector_wage, ctx.min_wage, self.pair, self.commute_pair, scale,
            self.key(ctx, "hire"))
        f = None
        if moves.any():
            f = moves * scale + ctx.move_children(kids)
            np.fill_diagonal(f, 0)
        cost = found * scale * self.card.cost_cny_per_match
        self.book(beneficiaries=found * scale, spend_cny=cost)
        return found, hires, f


    @classmethod
    def pay_all(cls, ctx, levers, births) -> None:
        """Book the month's commuters of each member city (the platform's own cost is per match)."""
        out, _, hws = commuters(ctx.people, levers[0].C)
        for lv in levers:
            if lv.in_force(ctx.t) or out.any():
                lv.book(commuters=(hws * lv.target[None, :, None]).sum((1, 2)) * ctx.scale)


@njit(cache=True)
def platform_assign(rows, people, vacancies, sector_wage, min_wage, pair, commute_pair, scale, key):
    """Give each selected seeker a job in another member city (row order, vacancies decremented).

    Returns found (C,) by residence, hires (C, 4) by workplace, moves (C+1, C+1)
    agents and children (C+1, C+1) persons of those who relocate, commuters (C,).
    """
    city, status, wage, education = people.city, people.status, people.wage, people.education
    months_in_city, housing, children, commute_to = people.months_in_city, people.housing, people.children, people.commute_to
    C = vacancies.shape[0]
    found = np.zeros(C, np.int64)
    hires = np.zeros((C, 4), np.int64)
    moves = np.zeros((C + 1, C + 1), np.int64)
    kids = np.zeros((C + 1, C + 1), np.int64)
    commuting = np.zeros(C, np.int64)
    for t in range(rows.size):
        i = rows[t]
        c = city[i]
        tot = 0.0
        for j in range(C):
            if pair[c, j]:
                for s in range(4):
                    if qualifies(education[i], s) and vacancies[j, s] >= 1.0:
                        tot += vacancies[j, s]
        if tot < 1.0:
            continue
        u = uniform(key, i) * tot
        acc = 0.0
        jj = -1
        ss = -1
        for j in range(C):
            if pair[c, j]:
                for s in range(4):
                    if qualifies(education[i], s) and vacancies[j, s] >= 1.0:
                        acc += vacancies[j, s]
                        jj = j
                        ss = s
                        if u < acc:
                            break
                if u < acc:
                    break
        hire(i, jj, ss, status, wage, education, vacancies, sector_wage, min_wage,
             offer_noise(key ^ SALT_PLATFORM_OFFER, i))
        hires[jj, ss] += 1
        found[c] += 1
        if commute_pair[c, jj]:
            commute_to[i] = jj + 1
            commuting[c] += 1
        else:
            moves[c, jj] += 1
            kids[c, jj] += children[i] * scale
            relocate(i, jj, city, months_in_city, housing)
    return found, hires, moves, kids, commuting


def commuters(P, C: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(out (C,), in (C,), by (home, work, sector) (C, C, 4)) commuting agents."""
    rows = np.flatnonzero(P.commute_to > 0)
    home = P.city[rows].astype(np.int64)
    work = P.commute_to[rows].astype(np.int64) - 1
    sec = P.status[rows].astype(np.int64)
    ok = (home >= 0) & (home < C) & (sec >= 0)
    home, work, sec = home[ok], work[ok], sec[ok]
    hws = np.zeros((C, C, 4))
    np.add.at(hws, (home, work, sec), 1.0)
    return np.bincount(home, minlength=C)[:C], np.bincount(work, minlength=C)[:C], hws
