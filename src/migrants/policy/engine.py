"""PolicyEngine: the cards of a scenario at work inside the month.

``MigrationModel`` owns one engine (``model.policy``) and calls its hooks at
the points of the month where a lever acts (see ``model.step``)::

    1 demography     fertility()                  family policy: births per woman
    2 labour demand  labour_demand()              cluster jobs, minimum wage
                     by_workplace(employed)       commuters count where they work
                     lend_idle_workers(...)       platform: lend instead of lay off
    3 separations    work_city()                  lay-offs hit commuters' workplaces
    4 matching       commuter_separations()       commuters who lost their job search at home
                     matching_efficiency(mu)      platform: faster matching
                     search(...)                  job fairs, metro-wide platform round
    5 migration      decision_terms()             subsidies, housing chances, services in utilities
                     rent_share(rows)             subsidised tenants pay the discounted rent
                     after_moves()                commutes of movers end; hukou settlement
    6 housing        before_purchases()           home-purchase subsidies: candidates, extra buyers
                     subsidised_housing()         affordable rental housing, talent apartments
    8 policies       pay(births)                  payments booked; returns spend per city
    9 record         city_record()                commuters, subsidised tenants

With no card every hook returns its input (or zeros) without drawing a random
number or touching any state, so the output is identical to a run without the
engine.  Each card draws only from its own streams
(``stream_key(seed, month, "policy:<card>:<what>")``), so adding or removing
one card never changes another decision's random numbers, and cards are
applied in name order, so the order in which they are listed never matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..decisions import N_TYPES
from ..errors import ConfigError
from ..population import SUBSIDISED
from . import talent as talent_mod
from .base import LEDGER, by_city
from .cards import CardBase, load_cards
from .family import FamilyLever
from .hukou import HukouLever, check_conflicts
from .jobs import JobsLever
from .platform import PlatformLever, commuters
from .talent import TalentLever
from .units import HousingLever

LEVER_CLASSES = {"talent_subsidy": TalentLever, "affordable_housing": HousingLever,
                 "shared_employment": PlatformLever, "hukou": HukouLever, "family": FamilyLever,
                 "jobs_programme": JobsLever}

POLICY_COLUMNS = ("month", "date", "policy", "lever", "city", "beneficiaries", "spend_cny", "units",
                  "capacity_units", "queue", "allocated", "mean_wait_months", "commuters")


class PolicyEngine:
    """The scenario's policy cards, their state and their accounts."""

    def __init__(self, model, cards: list[CardBase] | None = None):
        self.m = model
        self.C, self.J, self.scale = model.C, model.J, model.scale
        cfg = model.config
        self.cards = cards if cards is not None else (load_cards(list(cfg.policies)) if cfg.policies else [])
        self.on = bool(self.cards)
        self.base_school = model.school_access.copy()
        self.base_childcare = model.childcare.copy()
        self.base_min_wage = model.statutory_min_wage  # the record's minimum wage (the model updates it)
        self.levers: list = []
        self.warnings: list[str] = []  # said to the user by `migrants run` and kept in run.json
        self.records: list[dict] = []
        self.home_candidates = None
        self._city_before = None
        self._zero = np.zeros(self.C)
        if not self.on:
            self.talent = self.units = self.platform = self.hukou = self.family = self.jobs = []
            return
        if len(self.cards) > 120:
            raise ConfigError(f"policies: {len(self.cards)} cards; expected at most 120 in one scenario")
        self.all_cities = model.geography.all_cities  # targets may name cities the scenario does not simulate
        for idx, card in enumerate(self.cards):
            self.levers.append(LEVER_CLASSES[card.lever](self, card, idx, self.cards))
            if not self.levers[-1].target.any():
                self.warnings.append(f"policy card {card.name}: its target {card.target!r} has no city this "
                                     f"scenario simulates ({', '.join(model.cities['name_en'])}): it does nothing")
        of = lambda cls: [lv for lv in self.levers if isinstance(lv, cls)]  # noqa: E731
        self.talent, self.platform, self.hukou = of(TalentLever), of(PlatformLever), of(HukouLever)
        self.family, self.jobs = of(FamilyLever), of(JobsLever)
        self.units = [lv.units for lv in self.levers if isinstance(lv, (TalentLever, HousingLever)) and lv.units]
        self.discount = np.zeros(len(self.cards) + 1)
        for u in self.units:
            self.discount[u.code] = u.spec.rent_discount
        self.has_min_wage = any(lv.card.minimum_wage for lv in self.jobs)
        check_conflicts(self.hukou, list(model.cities["name_en"]))

    # ------------------------------------------------------------ helpers
    @property
    def P(self):
        return self.m.people

    @property
    def t(self) -> int:
        """Absolute month index of the current month (year * 12 + month - 1)."""
        return self.m.start_index + self.m.month

    def _p_emp(self) -> np.ndarray:
        rec = self.m.month_record
        lf = rec["employed"] + rec["unemployed"]
        return np.where(lf > 0, rec["employed"] / np.maximum(lf, 1), 0.95)

    def _commuting(self) -> bool:
        return bool(self.platform) and bool(self.P.commute_to.any())

    # -------------------------------------------------------- 1 demography
    def fertility(self) -> np.ndarray:
        """Births per woman (C, 128) this month: the model's table, times family-policy factors."""
        act = [lv for lv in self.family if lv.active]
        if not act:
            return self.m.fertility
        mult = np.ones(self.C)
        for lv in act:
            mult = mult * lv.multiplier()
        return self.m.fertility * mult[:, None]

    # ----------------------------------------------------- 2 labour demand
    def labour_demand(self) -> None:
        """Job programmes: cluster jobs (added to ``model.jobs``) and minimum-wage changes."""
        if not self.jobs:
            return
        for lv in self.jobs:
            lv.add_jobs(self.m.jobs)
        if self.has_min_wage:
            vals = [v for v in (lv.minimum_wage(self.base_min_wage) for lv in self.jobs) if v is not None]
            mw = self.base_min_wage.copy()
            if vals:
                top = np.fmax.reduce(np.vstack(vals), axis=0)
                mw = np.where(np.isnan(top), mw, top)
            self.m.min_wage[:] = mw

    def by_workplace(self, employed: np.ndarray) -> np.ndarray:
        """Employed (C, 4) agents counted where they work (differs only with commuters)."""
        if not self._commuting():
            return employed
        P = self.P
        P.commute_to[(P.commute_to > 0) & (P.city < 0)] = 0  # died or retired this month (rows kept until compaction)
        _, _, hws = commuters(self.P, self.C)
        return employed - hws.sum(1) + hws.sum(0)

    def lend_idle_workers(self, employed: np.ndarray, layoff: np.ndarray) -> np.ndarray:
        """Shared employment: lend excess workers to member cities; returns the new lay-off rates."""
        act = [lv for lv in self.platform if lv.active]
        if not act:
            return layoff
        jobs_agents = self.m.jobs / self.scale
        for lv in act:
            lv.lend(employed, jobs_agents)
        excess = np.maximum(employed - jobs_agents, 0)
        return np.where(employed > 0, excess / np.maximum(employed, 1), 0.0)

    # ------------------------------------------------------ 3 separations
    def work_city(self) -> np.ndarray:
        """City whose lay-offs and offers apply to each agent: the workplace of commuters."""
        P = self.P
        if not self._commuting():
            return P.city
        return np.where(P.commute_to > 0, P.commute_to - 1, P.city).astype(P.city.dtype)

    # --------------------------------------------------------- 4 matching
    def commuter_separations(self) -> np.ndarray:
        """Commuters who lost their job this month search at home: (C,) correction of seekers."""
        z = np.zeros(self.C, np.int64)
        if not self.platform:
            return z
        P = self.P
        rows = np.flatnonzero((P.commute_to > 0) & (P.status < 0))
        if rows.size == 0:
            return z
        home, work = P.city[rows], P.commute_to[rows].astype(np.int64) - 1
        P.commute_to[rows] = 0
        return (by_city(home, self.C) - by_city(work, self.C)).astype(np.int64)

    def matching_efficiency(self, mu: np.ndarray) -> np.ndarray:
        act = [lv for lv in self.platform if lv.active]
        if not act:
            return mu
        f = np.ones(self.C)
        for lv in act:
            f = f * lv.speedup()
        return mu * f

    def search(self, seekers_left, vacancies, employed, sector_wage, p_meet, flows) -> np.ndarray:
        """Job fairs for graduates, then the metro-wide platform round.

        Updates ``vacancies`` and ``employed`` (by workplace) in place and adds
        platform relocations to ``flows``; returns extra hires by residence (C,) agents.
        """
        found = np.zeros(self.C, np.int64)
        if not (self.jobs or self.platform):
            return found
        left = np.asarray(seekers_left, float).copy()
        for lv in self.jobs:
            h = lv.fairs(vacancies, sector_wage, p_meet)
            employed += h
            found += h.sum(1)
            left -= h.sum(1)
        act = [lv for lv in self.platform if lv.active]
        if act:
            mu = self.matching_efficiency(self.m.mu)
            alpha = self.m.config.labour.matching_elasticity.value
            for lv in act:
                f, h = lv.match(left, vacancies, sector_wage, mu, alpha, flows)
                employed += h
                found += f
                left -= f
        return found

    # -------------------------------------------------------- 5 migration
    def decision_terms(self) -> None:
        """Set this month's ``model.subsidy`` (K, J), ``school_access`` and ``childcare``."""
        if not self.on:
            return
        m = self.m
        self._city_before = self.P.city.copy() if self._commuting() else None
        if self.hukou:
            school, care = self.base_school.copy(), self.base_childcare.copy()
            for lv in self.hukou:
                lv.services(school, care)
            m.school_access[:] = school
            m.childcare[:] = care
        if not (self.talent or self.units or any(lv.card.wage_arrears for lv in self.jobs)):
            return
        S = np.zeros((N_TYPES, self.J))
        p_emp = self._p_emp()
        for lv in self.talent:
            lv.expected_benefit(S, p_emp)
        for u in self.units:
            u.expected_benefit(S, m.rent)
        for lv in self.jobs:
            lv.arrears_benefit(S, m.wage_level, p_emp)
        m.subsidy = S

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

    def after_moves(self) -> None:
        """Commutes of movers end; hukou settlement of residents."""
        if not self.on:
            return
        P = self.P
        if self._city_before is not None:
            k = self._city_before.size  # rows appended since (newcomers from outside) have no commute
            moved = P.city[:k] != self._city_before
            P.commute_to[:k][moved] = 0
            self._city_before = None
        if self.platform:
            c = P.commute_to
            end = (c > 0) & ((P.city == c - 1) | (P.status < 0))
            c[end] = 0
        for lv in self.hukou:
            lv.settle()

    # ---------------------------------------------------------- 6 housing
    def before_purchases(self) -> None:
        if self.talent:
            talent_mod.before_purchases(self, self.talent)

    def subsidised_housing(self) -> None:
        for u in self.units:
            u.step()

    # --------------------------------------------------------- 8 payments
    def pay(self, births: np.ndarray) -> np.ndarray:
        """Payments of the month, booked per card and city; returns spend per city (C,) CNY."""
        if not self.on:
            return np.zeros(self.C)
        if self.talent:
            talent_mod.pay_living(self, self.talent)
            talent_mod.pay_home(self, self.talent)
        for lv in self.family:
            lv.pay(births)
        if self.hukou:
            pop = np.asarray(self.m.month_record["population"], float)  # last month's residents
            for lv in self.hukou:
                lv.pay(self.m.school_access, self.m.childcare, self.base_school, self.base_childcare, pop)
        if self.platform:
            out, _, hws = commuters(self.P, self.C)
            for lv in self.platform:
                if lv.active or out.any():
                    lv.book(commuters=(hws * lv.target[None, :, None]).sum((1, 2)) * self.scale)
        spend = np.zeros(self.C)
        for lv in self.levers:
            acc = lv.take_month()
            if acc is not None:
                spend += acc["spend_cny"]
                self._keep(lv, acc)
        return spend

    def _keep(self, lv, acc: dict) -> None:
        show = lv.target | (np.abs(np.vstack([acc[k] for k in LEDGER])).sum(0) > 0)
        idx = np.flatnonzero(show)
        self.records.append({"month": self.m.month, "policy": lv.name, "lever": lv.kind, "cities": idx,
                             **{k: acc[k][idx] for k in LEDGER}})

    # ---------------------------------------------------------- 9 record
    def city_record(self) -> dict:
        """Extra city_month columns: commuters out / in, subsidised tenants (persons)."""
        C, s = self.C, self.scale
        if not self.on:
            z = self._zero
            return {"commuters_out": z, "commuters_in": z, "subsidised_tenants": z}
        P = self.P
        if self.platform:
            out, inn, _ = commuters(P, C)
        else:
            out = inn = self._zero
        ten = by_city(P.city[P.housing == SUBSIDISED], C) if self.units else self._zero
        return {"commuters_out": out * s, "commuters_in": inn * s, "subsidised_tenants": ten * s}

    # ---------------------------------------------------------- outputs
    def frame(self) -> pd.DataFrame:
        """``policy_month``: one row per (month, card, city) where the card was in force or paid."""
        names = np.array(self.m.cities["name_en"], dtype=object)
        if not self.records:
            df = pd.DataFrame({c: [] for c in POLICY_COLUMNS})
            return df.astype({"month": np.int32, "beneficiaries": np.int64, "spend_cny": float, "units": float})
        n = [len(r["cities"]) for r in self.records]
        month = np.repeat([r["month"] for r in self.records], n).astype(np.int32)
        cat = lambda k: np.concatenate([r[k] for r in self.records])  # noqa: E731
        allocated, wait = cat("allocated"), cat("wait_months_sum")
        return pd.DataFrame({
            "month": month,
            "date": self.m.recorder.date_of(month),
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
