"""PolicyEngine: the cards of a scenario at work inside the month.

``MigrationModel`` owns one engine (``model.policy``) and calls it at the points of the
month where a lever acts (see ``model.step``).  Each call says in its name what it
changes, and returns what ``step`` then applies::

    1 demography     fertility(table)                  births per woman, times family-policy factors
    2 labour demand  end_commutes_of_the_departed()    commutes of the dead and retired end
                     by_workplace(employed)            employed counted where they work
                     labour_demand(jobs)               -> jobs, minimum wage (job programmes)
                     lend_idle_workers(employed, ...)  -> employed, lay-off rates (platform lends)
    3 separations    work_city()                       lay-offs hit commuters' workplaces
    4 matching       end_commutes_of_job_losers()      -> seekers at home instead of at work
                     matching_efficiency(mu)           -> faster matching (platform)
                     search(...)                       -> hires, flows (job fairs, metro-wide round)
    5 migration      decision_terms()                  -> subsidy (K, J), school access, childcare
                     rent_share(rows)                  subsidised tenants pay the discounted rent
                     end_commutes_of_movers()          movers' commutes end
                     settle_hukou()                    hukou settlement
    6 housing        subsidy_purchases()               home purchases a subsidy brings forward
                     subsidised_housing()              affordable rental housing, talent apartments
    8 policies       pay(births)                       -> spend per city, booked per card
    9 record         city_record()                     commuters, subsidised tenants

The engine knows no lever family: it calls each hook of ``policy.base.Lever`` on every
lever, in card-name order (``policy.registry`` maps a card's ``lever`` to its class).
A lever reads the month through a ``MonthContext`` and holds no reference to the model.

With no card every call returns its input (or zeros) without drawing a random number or
touching any state, so the output is identical to a run without the engine.  Each card
draws only from its own streams (``stream_key(seed, month, "policy:<card>:<what>")``), so
adding or removing one card never changes another decision's random numbers, and cards are
applied in name order, so the order in which they are listed never matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..decisions import N_TYPES
from ..errors import ConfigError
from ..population import SUBSIDISED
from .base import LEDGER, MonthContext, Places, by_city
from .cards import CardBase, load_cards
from .platform import commuters
from .registry import FAMILIES

POLICY_COLUMNS = ("month", "date", "policy", "lever", "city", "beneficiaries", "spend_cny", "units",
                  "capacity_units", "queue", "allocated", "mean_wait_months", "commuters")


def build_levers(cards: list[CardBase], places: Places) -> tuple[list, list[str]]:
    """The levers of ``cards`` (in card-name order) and the warnings about them; ConfigError for
    cards that contradict each other (``Lever.check_all`` of each family)."""
    if len(cards) > 120:
        raise ConfigError(f"policies: {len(cards)} cards; expected at most 120 in one scenario")
    levers = [FAMILIES[card.lever].lever(card, idx, cards, places) for idx, card in enumerate(cards)]
    names = list(places.cities["name_en"])
    warnings = [f"policy card {lv.name}: its target {lv.card.target!r} has no city this scenario simulates "
                f"({', '.join(names)}): it does nothing" for lv in levers if not lv.target.any()]
    for cls, group in families(levers):
        cls.check_all(group, names)
    return levers, warnings


def families(levers: list) -> list[tuple[type, list]]:
    """The levers of each family together (registry order), for rules that span cards."""
    out = [(f.lever, [lv for lv in levers if type(lv) is f.lever]) for f in FAMILIES.values()]
    return [(cls, group) for cls, group in out if group]


class PolicyEngine:
    """The scenario's policy cards, their levers and their accounts."""

    def __init__(self, model, cards: list[CardBase] | None = None):
        self.ctx = MonthContext(model)
        self.C, self.J, self.scale = model.C, model.J, model.scale
        self._names = model.cities["name_en"]
        cfg = model.config
        self.cards = cards if cards is not None else (load_cards(list(cfg.policies)) if cfg.policies else [])
        self.on = bool(self.cards)
        places = Places(model.cities, model.geography.all_cities, model.hours)
        self.levers, self.warnings = build_levers(self.cards, places)  # warnings: said by `migrants run`
        self.families = families(self.levers)
        self.records: list[dict] = []
        self._city_before = None
        self._zero = np.zeros(self.C)
        self.units = [lv.units for lv in self.levers if lv.units is not None]
        self.discount = np.zeros(len(self.cards) + 1)
        for u in self.units:
            self.discount[u.code] = u.spec.rent_discount
        self.commutes = any(lv.makes_commutes for lv in self.levers)

    # ------------------------------------------------------------ helpers
    @property
    def P(self):
        return self.ctx.people

    def _in_force(self) -> list:
        t = self.ctx.t
        return [lv for lv in self.levers if lv.in_force(t)]

    def _p_emp(self) -> np.ndarray:
        rec = self.ctx.last_month
        lf = rec["employed"] + rec["unemployed"]
        return np.where(lf > 0, rec["employed"] / np.maximum(lf, 1), 0.95)

    def _commuting(self) -> bool:
        return self.commutes and bool(self.P.commute_to.any())

    def _factor(self, hook) -> np.ndarray | None:
        """The product over levers of a (C,) factor hook (None where no lever has one)."""
        out = None
        for lv in self.levers:
            f = getattr(lv, hook)(self.ctx)
            if f is not None:
                out = (np.ones(self.C) if out is None else out) * f
        return out

    # -------------------------------------------------------- 1 demography
    def fertility(self, table: np.ndarray) -> np.ndarray:
        """Births per woman (C, 128) this month: ``table``, times family-policy factors."""
        mult = self._factor("fertility_factor")
        return table if mult is None else table * mult[:, None]

    # ----------------------------------------------------- 2 labour demand
    def end_commutes_of_the_departed(self) -> None:
        """Commutes of those who died or retired this month end (``commute_to``)."""
        if self._commuting():
            P = self.P
            P.commute_to[(P.commute_to > 0) & (P.city < 0)] = 0  # rows kept until compaction

    def by_workplace(self, employed: np.ndarray) -> np.ndarray:
        """Employed (C, 4) agents counted where they work (differs only with commuters)."""
        if not self._commuting():
            return employed
        _, _, hws = commuters(self.P, self.C)
        return employed - hws.sum(1) + hws.sum(0)

    def labour_demand(self, jobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Job programmes: returns (jobs (C, 4) persons with the cluster jobs added, the minimum
        wage (C,) CNY a month: the highest of the cards' floors and the statutory one)."""
        jobs = jobs.copy()
        for lv in self.levers:
            lv.add_jobs(self.ctx, jobs)
        mw = self.ctx.statutory_min_wage.copy()
        floors = [v for v in (lv.minimum_wage(self.ctx) for lv in self.levers) if v is not None]
        if floors:
            top = np.fmax.reduce(np.vstack(floors), axis=0)
            mw = np.where(np.isnan(top), mw, top)
        return jobs, mw

    def lend_idle_workers(self, employed: np.ndarray, jobs_agents: np.ndarray,
                          layoff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shared employment: lend excess workers to member cities (they commute) instead of
        laying them off; returns (employed (C, 4) by workplace, lay-off rates (C, 4))."""
        lending = [lv for lv in self.levers if lv.lends and lv.in_force(self.ctx.t)]
        if not lending:
            return employed, layoff
        employed = employed.copy()
        for lv in lending:
            lv.lend(self.ctx, employed, jobs_agents)
        excess = np.maximum(employed - jobs_agents, 0)
        return employed, np.where(employed > 0, excess / np.maximum(employed, 1), 0.0)

    # ------------------------------------------------------ 3 separations
    def work_city(self) -> np.ndarray:
        """City whose lay-offs and offers apply to each agent: the workplace of commuters."""
        P = self.P
        if not self._commuting():
            return P.city
        return np.where(P.commute_to > 0, P.commute_to - 1, P.city).astype(P.city.dtype)

    # --------------------------------------------------------- 4 matching
    def end_commutes_of_job_losers(self) -> np.ndarray:
        """Commuters who lost their job this month end their commute and search at home:
        returns the (C,) correction of seekers by city."""
        z = np.zeros(self.C, np.int64)
        if not self.commutes:
            return z
        P = self.P
        rows = np.flatnonzero((P.commute_to > 0) & (P.status < 0))
        if rows.size == 0:
            return z
        home, work = P.city[rows], P.commute_to[rows].astype(np.int64) - 1
        P.commute_to[rows] = 0
        return (by_city(home, self.C) - by_city(work, self.C)).astype(np.int64)

    def matching_efficiency(self, mu: np.ndarray) -> np.ndarray:
        f = self._factor("matching_factor")
        return mu if f is None else mu * f

    def search(self, seekers_left, vacancies, sector_wage, p_meet, mu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Job fairs for graduates, then the metro-wide platform round, for the seekers local
        matching left; the posts they take come off ``vacancies``.

        Returns (found (C,) agents by residence, hires (C, 4) agents by workplace, flows (J, J)
        persons who relocate for a platform job).
        """
        C, J = self.C, self.J
        found = np.zeros(C, np.int64)
        hires = np.zeros((C, 4), np.int64)
        flows = np.zeros((J, J), np.int64)
        if not self.on:
            return found, hires, flows
        left = np.asarray(seekers_left, float).copy()
        for lv in self.levers:
            h = lv.second_chance(self.ctx, vacancies, sector_wage, p_meet)
            if h is not None:
                hires += h
                found += h.sum(1)
                left -= h.sum(1)
        mu = self.matching_efficiency(mu)
        for lv in self.levers:
            got = lv.metro_round(self.ctx, left, vacancies, sector_wage, mu)
            if got is not None:
                f, h, moved = got
                hires += h
                found += f
                left -= f
                if moved is not None:
                    flows += moved
        return found, hires, flows

    # -------------------------------------------------------- 5 migration
    def decision_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This month's (subsidy (K, J) CNY a month by person type and place, school access (J,),
        childcare places per 1,000 (J,)) as the cards in force make them."""
        ctx = self.ctx
        school, care = ctx.base_school_access, ctx.base_childcare
        S = np.zeros((N_TYPES, self.J))
        if not self.on:
            return S, school, care
        self._city_before = self.P.city.copy() if self._commuting() else None
        for lv in self.levers:
            lv.services(ctx, school, care)
        p_emp = self._p_emp()
        for lv in self.levers:  # income first, then housing, then wages: one order of the sums
            lv.income_value(ctx, S, p_emp)
        for lv in self.levers:
            lv.housing_value(ctx, S)
        for lv in self.levers:
            lv.wage_value(ctx, S, p_emp)
        return S, school, care

    def rent_share(self, rows: np.ndarray):
        """Share of the market rent each considerer pays (None: everyone pays it all)."""
        if not self.units:
            return None
        P = self.P
        uc = P.unit_card[rows].astype(np.int64)
        share = np.ones(rows.size)
        housed = (uc < 0) & (P.housing[rows] == SUBSIDISED)
        share[housed] = 1.0 - self.discount[-uc[housed]]
        return share

    def end_commutes_of_movers(self) -> None:
        """Commutes end for those who moved this month, who lost their job, or who now live
        where they work (``commute_to``)."""
        P = self.P
        if self._city_before is not None:
            k = self._city_before.size  # rows appended since (newcomers from outside) have no commute
            moved = P.city[:k] != self._city_before
            P.commute_to[:k][moved] = 0
            self._city_before = None
        if self.commutes:
            c = P.commute_to
            end = (c > 0) & ((P.city == c - 1) | (P.status < 0))
            c[end] = 0

    def settle_hukou(self) -> None:
        """Hukou cards: residents who qualify settle (``hukou_city``)."""
        for cls, group in self.families:  # one family settles (hukou): card-name order within it
            cls.settle_all(self.ctx, group)

    # ---------------------------------------------------------- 6 housing
    def subsidy_purchases(self) -> None:
        """Home-purchase subsidies: the month's candidates, and the purchases they bring forward."""
        for cls, group in self.families:
            cls.subsidy_purchases_all(self.ctx, group)

    def subsidised_housing(self) -> None:
        """Affordable rental housing and talent apartments: tenancies, stock, queues, allocation."""
        for lv in self.levers:
            lv.housing_step(self.ctx)

    # --------------------------------------------------------- 8 payments
    def pay(self, births: np.ndarray) -> np.ndarray:
        """Payments of the month, booked per card and city; returns spend per city (C,) CNY."""
        spend = np.zeros(self.C)
        if not self.on:
            return spend
        for cls, group in self.families:
            cls.pay_all(self.ctx, group, births)
        t = self.ctx.t
        for lv in self.levers:
            acc = lv.take_month(t)
            if acc is not None:
                spend += acc["spend_cny"]
                self._keep(lv, acc)
        return spend

    def _keep(self, lv, acc: dict) -> None:
        show = lv.target | (np.abs(np.vstack([acc[k] for k in LEDGER])).sum(0) > 0)
        idx = np.flatnonzero(show)
        self.records.append({"month": self.ctx.month, "policy": lv.name, "lever": lv.kind, "cities": idx,
                             **{k: acc[k][idx] for k in LEDGER}})

    # ---------------------------------------------------------- 9 record
    def city_record(self) -> dict:
        """Extra city_month columns: commuters out / in, subsidised tenants (persons)."""
        C, s = self.C, self.scale
        if not self.on:
            z = self._zero
            return {"commuters_out": z, "commuters_in": z, "subsidised_tenants": z}
        P = self.P
        if self.commutes:
            out, inn, _ = commuters(P, C)
        else:
            out = inn = self._zero
        ten = by_city(P.city[P.housing == SUBSIDISED], C) if self.units else self._zero
        return {"commuters_out": out * s, "commuters_in": inn * s, "subsidised_tenants": ten * s}

    # ---------------------------------------------------------- outputs
    def frame(self) -> pd.DataFrame:
        """``policy_month``: one row per (month, card, city) where the card was in force or paid."""
        names = np.array(self._names, dtype=object)
        if not self.records:
            df = pd.DataFrame({c: [] for c in POLICY_COLUMNS})
            return df.astype({"month": np.int32, "beneficiaries": np.int64, "spend_cny": float, "units": float})
        n = [len(r["cities"]) for r in self.records]
        month = np.repeat([r["month"] for r in self.records], n).astype(np.int32)
        cat = lambda k: np.concatenate([r[k] for r in self.records])  # noqa: E731
        allocated, wait = cat("allocated"), cat("wait_months_sum")
        return pd.DataFrame({
            "month": month,
            "date": self.ctx.date_of(month),
            "policy": np.repeat([r["policy"] for r in self.records], n).astype(object),
            "lever": np.repeat([r["lever"] for r in self.records], n).astype(object),
            "city": names[cat("cities")],
            "beneficiaries": np.rint(cat("beneficiaries")).astype(np.int64),
            "spend_cny": cat("spend_cny"),
            "units": cat("units"),
            "capacity_units": cat("capacity_units"),
            "queue": np.rint(cat("queue")).astype(np.int64),
            "allocated": np.rint(allocated).astype(np.int64),
            "mean_wait_months": np.where(allocated > 0, wait / np.maximum(allocated, 1), np.nan),
            "commuters": np.rint(cat("commuters")).astype(np.int64),
        })

    def totals(self) -> dict:
        """Run totals per card (for run.json): spend, beneficiary-months, spend by city."""
        out = {"total_spend_cny": 0.0, "policies": {}}
        if not self.on:
            return out
        df = self.frame()
        for lv in self.levers:
            d = df[df["policy"] == lv.name]
            by = d.groupby("city", sort=False)["spend_cny"].sum()
            out["policies"][lv.name] = {
                "lever": lv.kind, "source": lv.card.source, "start": lv.card.start, "end": lv.card.end,
                "budget_cap_cny": lv.card.budget_cap_cny, "quota": lv.card.quota,
                "spend_cny": float(d["spend_cny"].sum()),
                "beneficiary_months": int(d["beneficiaries"].sum()),
                "new_beneficiaries": int(lv.newly),
                "spend_by_city_cny": {k: float(v) for k, v in by.items() if v},
            }
            out["total_spend_cny"] += float(d["spend_cny"].sum())
        return out


def format_totals(totals: dict) -> str:
    """Plain-text lines for the end-of-run summary: spend and beneficiaries per card."""
    pols = totals.get("policies", {})
    if not pols:
        return "Policies: none in force"
    w = max(len(n) for n in pols)
    lines = [f"Policies (spend over the run, CNY; beneficiary-months, persons): total {totals['total_spend_cny']:,.0f}"]
    for name, t in pols.items():
        lines.append(f"  {name:<{w}}  {t['lever']:<18} {t['spend_cny']:>18,.0f}  {t['beneficiary_months']:>14,}")
    return "\n".join(lines)
