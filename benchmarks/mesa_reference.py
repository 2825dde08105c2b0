"""Reference implementation of the migration decision: one Mesa agent per person.

Each ``Person`` is a ``mesa.Agent`` whose ``step`` writes out the utility of
every destination from the module docstring of ``migrants.decisions`` term by
term (numpy over the destinations; no tables, no factorisation) and picks the
best with Gumbel taste shocks (argmax of U + Gumbel noise), the textbook
multinomial logit.  The
vectorised engine (table products, inverse-CDF sampling, numba) must give the
same destination shares within sampling error; ``bench_engine.py`` times both.
"""

from __future__ import annotations

import mesa
import numpy as np

from migrants.population import EDU_PREMIUM


class Person(mesa.Agent):
    """One person weighing a move this month."""

    def __init__(self, model, education, children, city, hukou, origin, stay_income):
        super().__init__(model)
        self.education = int(education)
        self.children = int(children)
        self.city = int(city)
        self.hukou = int(hukou)
        self.origin = int(origin)
        self.stay_income = stay_income  # own net income if staying (None: expected)
        self.destination = self.city

    def utilities(self) -> np.ndarray:
        """U of every destination (J,), written out term by term for this person."""
        m, p = self.model, self.model.p
        J = m.J
        exp_inc = m.wage * m.premium[self.education] * m.p_emp
        net = np.maximum(exp_inc + m.subsidy - m.rent, p["income_floor_share"] * exp_inc)
        if self.stay_income is not None:
            floor = p["income_floor_share"] * max(self.stay_income + m.rent[self.city], 1.0)
            net[self.city] = max(self.stay_income, floor)
        kids = 1.0 if self.children > 0 else 0.0
        u = p["beta_income"] * np.log(net)
        u += kids * (p["beta_school"] * m.school_access + p["beta_childcare"] * m.childcare)
        u[J - 1] += p["rest_of_china_constant"]  # the last place is the rest of China
        net_term = p["beta_network"] * np.log(1 + m.origin_share[self.origin] / 0.01)
        net_term[self.origin] = 0.0  # home: the pull is in the hukou and return terms
        u += net_term
        u[self.hukou] += p["hukou_value"] + kids * p["beta_school"] * (1 - m.school_access[self.hukou])
        away = np.arange(J) != self.city
        u[away] -= (p["move_cost_fixed"] + p["move_cost_per_log_hour"] * np.log1p(m.hours[self.city])
                    + p["move_cost_province"] * m.cross[self.city])[away]
        for j in {self.hukou, self.origin}:
            if j != self.city:
                u[j] += p["return_bonus"]
        return u

    def step(self):
        # textbook multinomial logit: the best of U + Gumbel taste shocks
        u = self.utilities() + self.model.rng.gumbel(size=self.model.J)
        self.destination = int(np.argmax(u))


class ReferenceModel(mesa.Model):
    """Holds the city inputs and the persons; ``step`` lets every person choose."""

    def __init__(self, *, persons: dict, wage, p_emp, rent, subsidy, school_access, childcare, hours, cross,
                 origin_share, params: dict, rng=None):
        super().__init__(rng=rng)
        self.J = len(wage)
        arr = lambda x: np.asarray(x, dtype=float)  # noqa: E731
        self.wage, self.p_emp, self.rent = arr(wage), arr(p_emp), arr(rent)
        self.subsidy, self.school_access, self.childcare = arr(subsidy), arr(school_access), arr(childcare)
        self.hours, self.cross, self.origin_share = arr(hours), arr(cross), arr(origin_share)
        self.premium = EDU_PREMIUM.astype(float)
        self.p = params
        n = len(persons["education"])
        for i in range(n):
            s = persons["stay_income"][i]
            Person(self, persons["education"][i], persons["children"][i], persons["city"][i], persons["hukou"][i],
                   persons["origin"][i], None if np.isnan(s) else float(s))

    def step(self):
        self.agents.do("step")

    def destinations(self) -> np.ndarray:
        return np.array([a.destination for a in self.agents], dtype=np.int64)


def synthetic_inputs(n: int, J: int = 32, seed: int = 0) -> dict:
    """A month's city inputs and ``n`` persons (all choosing), shared by both implementations."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(38, 48, J), rng.uniform(118, 130, J)
    d = np.hypot(lat[:, None] - lat[None, :], lon[:, None] - lon[None, :]) * 111 * 1.25
    hours = d / 200.0
    np.fill_diagonal(hours, 0.0)
    prov = rng.integers(0, 6, J)
    cross = (prov[:, None] != prov[None, :]).astype(float)
    origin_share = rng.dirichlet(np.full(J, 0.3), J)
    persons = {
        "education": rng.integers(0, 6, n), "children": rng.integers(0, 3, n) * (rng.random(n) < 0.4),
        "city": rng.integers(0, J - 1, n), "origin": rng.integers(0, J - 1, n),
    }
    persons["hukou"] = np.where(rng.random(n) < 0.8, persons["city"], persons["origin"])
    persons["stay_income"] = np.where(rng.random(n) < 0.6, rng.uniform(3000, 15000, n), np.nan)
    return dict(
        persons=persons, wage=rng.uniform(6000, 16000, J), p_emp=rng.uniform(0.9, 0.97, J),
        rent=rng.uniform(200, 2500, J), subsidy=np.where(rng.random(J) < 0.2, 1500.0, 0.0),
        school_access=rng.uniform(0.5, 1.0, J), childcare=rng.uniform(2, 5, J), hours=hours, cross=cross,
        origin_share=origin_share,
    )


def engine_inputs(inp: dict, decisions_params):
    """The same month for the vectorised engine: tables, rows, types and stay factors."""
    from migrants import decisions

    J = len(inp["wage"])
    K = decisions.N_TYPES
    subsidy = np.broadcast_to(inp["subsidy"][None, :], (K, J)).copy()
    EA, EB, EN, EH, ret, net = decisions.utility_tables(
        decisions_params, inp["wage"], inp["p_emp"], inp["rent"], subsidy, inp["school_access"], inp["childcare"],
        inp["hours"], inp["cross"], inp["origin_share"])
    P = inp["persons"]
    n = len(P["education"])
    ktype = (P["education"] * 4 + (P["children"] > 0) * 2).astype(np.int64)
    c = P["city"]
    s = P["stay_income"]
    floor = decisions_params.income_floor_share.value * np.maximum(np.nan_to_num(s) + inp["rent"][c], 1.0)
    own = np.maximum(np.nan_to_num(s, nan=1.0), floor)
    stay = np.where(np.isnan(s), 1.0, (own / net[ktype, c]) ** decisions_params.beta_income.value)
    return dict(rows=np.arange(n, dtype=np.int64), ktype=ktype, city=c.astype(np.int16),
                hukou=P["hukou"].astype(np.int16), origin=P["origin"].astype(np.int16), stay=stay,
                EA=EA, pair=decisions.pair_table(EB, EN), EH=EH, ret=ret)


def run_engine(e: dict, key) -> np.ndarray:
    from migrants import decisions

    return decisions.choose_destinations(e["rows"], e["ktype"], e["city"], e["hukou"], e["origin"], e["stay"],
                                         e["EA"], e["pair"], e["EH"], e["ret"], np.uint64(key))


def params_dict(decisions_params) -> dict:
    return {k: v.value for k, v in decisions_params if hasattr(v, "value")}  # the Params (amenities: none here)
