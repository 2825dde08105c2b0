"""MigrationModel: one simulated month, top to bottom.

Read ``step`` to see the order of events (DESIGN.md, "The month"):

1. demography: ageing and retirement (January), deaths and births (every
   month), school leavers (September), graduate cohorts (July);
2. labour demand: jobs follow trend and shocks;
3. separations (and on-the-job search within the city);
4. search and matching in each city;
5. migration decisions and moves (incl. returns from the rest of China);
6. housing: rents respond to demand, renters buy homes;
7. wages respond to tightness, above the minimum wage;
8. policies: subsidies paid and booked per card (levers act inside the month
   through the `self.policy` hooks, see `migrants.policy.engine`);
9. record the month.

People are columns of numpy arrays (``population.Population``); cities are
Mesa agents on a ``mesa.discrete_space.Network``.  Every count reported is in
persons (agents x ``scale``).
"""

from __future__ import annotations

import time
import zlib

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario
import pandas as pd

from . import cities as cities_mod
from . import decisions, demography, history, housing, labour
from .config import Scenario, load_scenario, month_index, month_label, province_key
from .metrics import Headcount, MonthTally, Recorder, take_census
from .policy.engine import PolicyEngine
from .inputs import census_inputs
from .population import EDU_PREMIUM, SECTOR_PREMIUM, build_population, education_shares
from .rng import choice, stream_key
from .vital_rates import VitalRates, load_vital_rates


class MigrationModel(mesa.Model):
    """Labour migration among the cities of Northeast China and their competitors.

    Parameters (keyword only)
    ----------
    scenario : str, path, dict or Scenario
        A name in ``configs/scenarios`` (default ``"baseline"``), a YAML path,
        or an already built scenario.
    rng : int or None
        Seed; ``None`` takes the scenario's ``seed``.
    scale : int or None
        Persons per agent; ``None`` takes the scenario's ``scale``.
    months : int or None
        Months ``run()`` simulates; ``None`` takes the scenario's ``months``.
    overrides : dict
        Dotted-path overrides, e.g. ``{"decisions.beta_income": 1.2}``.
    **params
        More overrides, with ``__`` for dots: ``decisions__beta_income=1.2``.
    """

    def __init__(self, *, scenario="baseline", rng=None, scale=None, months=None, overrides=None, **params):
        if isinstance(scenario, MesaScenario):  # Mesa's own tools (SolaraViz reset) pass one
            rng = scenario.rng if rng is None else rng
            scenario = "baseline"
        ov = dict(overrides or {})
        ov.update({k.replace("__", "."): v for k, v in params.items()})
        if scale is not None:
            ov["scale"] = int(scale)
        if months is not None:
            ov["months"] = int(months)
        if rng is not None and not isinstance(rng, (int, np.integer)):
            rng = int(np.random.default_rng(rng).integers(2**63))
        if rng is not None:
            ov["seed"] = int(rng)
        self.config: Scenario = load_scenario(scenario, ov)
        cfg = self.config
        super().__init__(rng=cfg.seed)
        self.seed = cfg.seed
        self.scale = cfg.scale
        self.month = 0
        t0 = time.perf_counter()

        # --- cities, transport network, data: every input file, read once --------
        self.start_index = month_index(cfg.start)
        start_y = self.start_index // 12
        self.geography = geo = cities_mod.load_geography(cfg)
        # the model's state besides the people, in four named parts (shapes and units in their docstrings)
        self.labour_market = labour.LabourMarket()
        self.housing_market = housing.HousingMarket()
        self.services = decisions.Services()
        self.outside = decisions.Outside()
        self.C = C = geo.n_cities
        self.J = J = C + 1
        cities, provinces, self.links, self._roc_raw = geo.cities, geo.provinces, geo.links, geo.rest_of_china
        roc = {"name_en": geo.rest_of_china["name_en"], "name_zh": geo.rest_of_china["name_zh"],
               **{k: geo.rest_of_china[k]["value"]
                  for k in ("wage_cny_year", "house_price_cny_m2", "employment_probability")}}
        # the world's record by date (configs/history), or None: inputs held at their start values
        self.record = history.record_of(cfg, geo)
        self.graph = geo.graph  # every link, for the map
        self.hours = self._travel_hours()  # the links open at the start
        self.cross_province = geo.cross_province.astype(float)
        self.network, self.city_agents = cities_mod.place_cities(self, self.graph)
        prov = provinces.loc[cities["province"]].reset_index(drop=True)
        self.labour_market.statutory_min_wage = prov["min_wage_cny_month"].to_numpy(float)
        # the start year's wages, house prices and minimum wages, where the record has them
        cities = cities.copy()
        cities["census_population"] = cities[f"pop{cfg.census}"]
        r = self.record
        if r is not None:
            if r.wage(start_y) is not None:
                cities["avg_wage_cny"] = r.wage(start_y)
            if r.house_price(start_y) is not None:
                cities["house_price_cny_m2"] = r.house_price(start_y)
            if r.roc(start_y) is not None:
                roc["wage_cny_year"], roc["house_price_cny_m2"] = r.roc(start_y)
            if r.min_wage(self.start_index) is not None:
                self.labour_market.statutory_min_wage = r.min_wage(self.start_index).copy()
        self.labour_market.min_wage = self.labour_market.statutory_min_wage.copy()  # policy cards may raise it (PolicyEngine)
        self.cities = cities
        self.rest_of_china = roc
        amen = cfg.decisions.province_amenity
        self.amenity = np.array([amen[k].value if k in amen else 0.0
                                 for k in map(province_key, cities["province"])])  # (C,) utils
        if "admin_level" in cities:  # provincial-level cities, capitals and sub-provincial cities
            seat = cities["admin_level"].isin(cities_mod.SEAT_LEVELS).to_numpy()
            self.amenity = self.amenity + cfg.decisions.seat_amenity.value * seat
        self.names = list(cities["name_en"]) + [roc["name_en"]]

        # --- synthetic population (the census of cfg.census) -----------------
        # the cities' universities: 2020 graduates (configs/cities.csv), by the national trend
        self.graduates_per_year = cities["graduates_per_year"].fillna(0).to_numpy(float)
        init_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0]))
        pyramid, education = census_inputs(cfg, geo)
        self.people, self.cohorts, base = build_population(
            cities, pyramid, education, cfg, self.graduates_per_year * self._intake_index(start_y), init_rng,
            self.hours)
        dem = cfg.demography
        self.vital_rates = VitalRates(load_vital_rates(cfg.resolve(cfg.data.vital_rates)), cities["province"],
                                      prov["tfr_2020"], dem.fertility_change_after_table_year.value,
                                      dem.mortality_change_after_table_year.value,
                                      demography.relative_fertility(pyramid, cities["province"],
                                                                    dem.city_fertility_weight.value))

        # --- labour market ----------------------------------------------------
        cen = take_census(self.people, 0, C)
        lab = cfg.labour
        employed = cen["employed"].astype(float)
        self.labour_market.jobs = employed * self.scale / (1 - lab.initial_vacancy_rate.value)  # persons
        self.labour_market.job_shock = np.zeros(C)
        self.labour_market.wage_level = base["wage_level"].copy()
        vac0 = self.labour_market.jobs.sum(1) / self.scale - employed.sum(1)
        lf0 = employed.sum(1) + cen["unemployed"][:C]
        # the rate firms return unemployment to: the surveyed rate, not the start's sampling noise;
        # matching efficiency and the tightness reference are set at it (a steady state there)
        self.labour_market.normal_unemployment = np.full(C, lab.initial_unemployment_rate.value)
        u_normal = np.maximum(self.labour_market.normal_unemployment * lf0, 1)  # agents
        self.labour_market.mu = labour.calibrate_matching_efficiency(
            lab.separation_rate_month.value, employed.sum(1), u_normal, vac0, lab.matching_elasticity.value)
        self.labour_market.tight0 = vac0 / u_normal
        self.labour_market.job_finding = lab.separation_rate_month.value * employed.sum(1) / u_normal

        # --- housing ---------------------------------------------------------
        pop0 = self.city_population(cen)
        self.housing_market.rent0 = housing.initial_rent(cities["house_price_cny_m2"].to_numpy(float), cfg.housing)
        self.housing_market.rent = self.housing_market.rent0.copy()
        self.housing_market.stock0 = housing.initial_stock(pop0, cfg.housing)
        self.housing_market.stock = self.housing_market.stock0.copy()
        self.housing_market.demand0 = pop0.astype(float)
        self.labour_market.jobs_population = pop0.astype(float)  # local jobs follow it (labour.follow_population)
        self.outside.rent = housing.initial_rent(np.array([roc["house_price_cny_m2"]]), cfg.housing)[0]
        self.outside.wage_level = roc["wage_cny_year"] / 12.0
        self.housing_market.stock_growth = np.full(C, cfg.housing.housing_stock_growth_year.value)  # events may change it
        self._year_inputs(start_y)  # the start year's recorded growth rates
        for month, city, name, value in (r.events_until(self.start_index) if r is not None else []):
            self._event(city, name, value)  # events dated before the start are in force

        # --- public services and policies (the scenario's policy cards) -------
        dec = cfg.decisions
        self.services.school_access = np.full(J, dec.migrant_school_access.value)
        self.services.childcare = np.full(J, dec.childcare_places_per_1000.value)
        self.services.subsidy = np.zeros((decisions.N_TYPES, J))
        self.services.subsidy_spend = np.zeros(C)
        self.policy = PolicyEngine(self)  # no cards: every hook is a no-op

        # --- records ---------------------------------------------------------
        self._set_vital_rates()  # births and deaths of the start year
        self.recorder = Recorder(cities["name_en"], cities["province"], self.names, self.start_index)
        self.datacollector = self.recorder  # Mesa's name: mesa.batch_run and the page read it
        z = np.zeros(C, np.int64)
        self.recorder.record(self, MonthTally(self, cen, np.zeros((J, J), np.int64), z, z, z, z))  # month 0
        self._update_city_agents()
        self.timings = {"init_s": time.perf_counter() - t0, "step_s": 0.0}

    # ------------------------------------------------------------------ month
    def step(self) -> None:
        """Advance one month."""
        t0 = time.perf_counter()
        self.month += 1
        cfg, P, C, J, scale = self.config, self.people, self.C, self.J, self.scale
        L, H = self.labour_market, self.housing_market  # the markets' state (labour.LabourMarket, housing.HousingMarket)
        calendar_month = (self.start_index + self.month) % 12 + 1
        key = lambda name: stream_key(self.seed, self.month, name)  # noqa: E731
        flows = np.zeros((J, J), np.int64)  # persons, [from, to]
        births = np.zeros(C, np.int64)
        deaths = np.zeros(C, np.int64)
        graduates = np.zeros(C, np.int64)

        # 0. the world's record (configs/history): what changed outside the model this month
        if calendar_month == 1:
            self._year_inputs(self.year)  # wage growth, house prices, retirement ages of the year
        self._month_inputs()  # minimum wages, rail openings, policy events from their month

        # 1. demography -------------------------------------------------------
        if calendar_month == 1:
            demography.age_one_year(P.city, P.age, P.children, key("children_age_out"))
            demography.age_cohorts(self.cohorts)
            self._set_vital_rates()  # the new year's birth and death rates, per province
        retired = demography.retire(P.city, P.age, P.female, self.retirement_age_men, self.retirement_age_women,
                                    calendar_month - 1, C, key("retire"))  # birthdays spread over the year
        self.cohorts.retirees += retired[:C] * scale  # retire where they live
        fertility = self.policy.fertility(self.fertility)  # family policy: births per woman
        # deaths and births, and in the same pass the headcount of the survivors (the month's counts below)
        dead, born, counts = demography.deaths_births_headcount(
            P.columns(), self.mortality, fertility, scale, key("death"), key("birth"), C)
        n_counted = P.n
        deaths += dead[:C] + demography.cohort_deaths(self.cohorts, cfg.demography, self.city_rng("cohort_deaths"),
                                                      self.vital_rates.mortality)
        births += born
        self.cohorts.minors[:, 0] += born
        if calendar_month == 9:
            flows += self._school_leavers()
        counted = flows.copy()  # moves already in the census below
        if calendar_month == 7:
            cols, graduates = demography.graduate_cohort(
                self.cohorts, scale, self.city_rng("graduates"), self.month,
                demography.mean_inactive_share(cfg.demography))
            P.append(**cols)
        # the month's counts (agents by place, status and origin): taken in the deaths' pass, unless agents
        # have joined since (September, July: then a census)
        cen = Headcount(*counts) if P.n == n_counted else take_census(P, self.month, C)

        # 2. labour demand ----------------------------------------------------
        lab = cfg.labour
        self.policy.end_commutes_of_the_departed()
        employed = self.policy.by_workplace(cen["employed"].astype(float))  # commuters count where they work
        population = self.city_population(cen).astype(float)
        labour.follow_population(L.jobs, population, L.jobs_population, lab.local_jobs_population_elasticity.value)
        L.jobs_population = population
        labour.post_vacancies(L.jobs, employed * scale, cen["unemployed"][:C] * scale, L.normal_unemployment,
                              lab.vacancy_adjustment_month.value)  # jobs follow people
        labour.update_jobs(L.jobs, L.job_shock, lab, self.city_rng("job_shocks"), L.output_trend)
        L.jobs, L.min_wage = self.policy.labour_demand(L.jobs)  # job programmes: cluster jobs, wage floors
        excess = np.maximum(employed - L.jobs / scale, 0)
        layoff = np.where(employed > 0, excess / np.maximum(employed, 1), 0.0)
        employed, layoff = self.policy.lend_idle_workers(employed, L.jobs / scale, layoff)  # lend, not lay off

        # 3. separations ------------------------------------------------------
        sector_wage = labour.sector_wage_levels(L.wage_level)
        sep = labour.separate(self.policy.work_city(), P.status, P.wage, P.education, layoff,  # commuters: workplace
                              lab.separation_rate_month.value, lab.on_the_job_search_month.value, sector_wage, C,
                              key("separation"), key("ojs"))
        employed -= sep

        # 4. search and matching ---------------------------------------------
        seekers = cen["unemployed"][:C] + sep.sum(1) + self.policy.end_commutes_of_job_losers()
        vacancies = np.maximum(L.jobs / scale - employed, 0)
        mu = self.policy.matching_efficiency(L.mu)  # shared-employment platform: faster matching
        hires_expected = labour.matches(mu, seekers, vacancies.sum(1), lab.matching_elasticity.value)
        p_meet = np.where(seekers > 0, hires_expected / np.maximum(seekers, 1), 0.0)
        rows = labour.select_seekers(P.city, P.status, p_meet, C, key("meet"))
        hires = labour.assign_jobs(rows, P.city, P.status, P.wage, P.education, vacancies, sector_wage,
                                   L.min_wage, key("hire"))
        employed += hires
        more_found, more_hires, platform_moves = self.policy.search(  # campus job fairs, metro-wide platform
            seekers - hires.sum(1), vacancies, sector_wage, p_meet, L.mu)
        employed += more_hires
        flows += platform_moves
        found = hires.sum(1) + more_found
        L.job_finding = np.where(seekers > 0, found / np.maximum(seekers, 1), 0.0)
        unemployed = np.maximum(seekers - found, 0)

        # 5. migration decisions ---------------------------------------------
        # the cards' subsidies, subsidised-housing chances and public services in the utilities
        self.services.subsidy, self.services.school_access, self.services.childcare = self.policy.decision_terms()
        move_flows, jobled = self._migrate(cen, employed, unemployed, vacancies, sector_wage)
        flows += move_flows
        self.policy.end_commutes_of_movers()
        self.policy.settle_hukou()

        # 6. housing ----------------------------------------------------------
        hou = cfg.housing
        H.stock *= (1 + H.stock_growth) ** (1 / 12)
        # residents after this month's moves: the census before them plus net arrivals
        after = flows - counted
        demand = (self.city_population(cen) + after[:, :C].sum(0) - after[:C, :].sum(1)).astype(float)
        H.rent = housing.update_rents(H.rent, H.rent0, demand, H.stock, H.demand0, H.stock0, hou)
        self.policy.subsidy_purchases()  # home-purchase subsidies: who qualifies, purchases brought forward
        housing.buy_homes(P.city, P.status, P.housing, P.age, P.months_in_city, hou.buy_hazard_month.value, C,
                          key("buy"))
        self.policy.subsidised_housing()  # affordable rental housing, talent apartments: queues, allocation

        # 7. wages ------------------------------------------------------------
        tight = vacancies.sum(1) / np.maximum(unemployed, 1)
        new_level = labour.wage_level_update(L.wage_level, tight, L.tight0, L.wage_growth, lab,
                                             L.min_wage)
        wage_factor = new_level / L.wage_level  # incumbents' wages follow, at month end (step 9)
        L.wage_level = new_level
        self.outside.wage_level *= (1 + self.outside.wage_growth) ** (1 / 12)

        # 8. policies: payments booked per card and city ---------------------
        self.services.subsidy_spend = self.policy.pay(births)

        # 9. month end and record ----------------------------------------------
        P.compact(min_share=0.02)  # dead rows (city -1) are skipped until they are 2%
        # one pass: incumbents' wages follow the city's level (labour.index_wage), then the census
        cen = take_census(P, self.month, C, wage_factor=wage_factor, wage_floor=L.min_wage)
        self.recorder.record(self, MonthTally(self, cen, flows, births, deaths, graduates, jobled))
        self._update_city_agents()
        self.running = self.month < self.config.months  # the scenario's months are done; step() still works
        self.timings["step_s"] += time.perf_counter() - t0

    # ------------------------------------------------------------- sub-steps
    def city_rng(self, stream: str) -> np.random.Generator:
        """A generator for one city-level draw of this month (job shocks, cohort deaths, ...).

        Each use has its own stream, seeded by (seed, month, name), so a policy
        that changes one draw leaves every other draw as it was: common random
        numbers between a policy run and its baseline.
        """
        return np.random.default_rng([self.seed, self.month, zlib.crc32(stream.encode())])

    def _year_inputs(self, year: int) -> None:
        """January (and the start): the year's recorded wage growth, house-price change and
        statutory retirement ages; after a table ends, the scenario's assumptions."""
        cfg, r = self.config, self.record
        g = cfg.labour.wage_growth_year.value
        growth = r.wage_growth(year) if r is not None else None
        self.labour_market.wage_growth = np.full(self.C, g) if growth is None else growth  # (C,) a year
        gdp, gdp_before = (r.gdp(year), r.gdp(year - 1)) if r is not None else (None, None)
        self.labour_market.output_trend = (  # tradable jobs follow the city's output against its province's
            None if gdp is None or gdp_before is None else
            labour.output_trend(gdp, gdp_before, self.cities["province"], cfg.labour.job_output_elasticity.value))
        roc_now, roc_before = (r.roc(year), r.roc(year - 1)) if r is not None else (None, None)
        self.outside.wage_growth = g if roc_now is None or roc_before is None else roc_now[0] / roc_before[0] - 1
        if year * 12 > self.start_index:  # not at the start: prices there are the year's already
            ratio = r.house_price_ratio(year) if r is not None else None
            if ratio is not None:
                self.housing_market.rent0 *= ratio  # the rent anchor follows recorded prices; rents adjust to it
            if roc_now is not None and roc_before is not None:
                self.outside.rent *= roc_now[1] / roc_before[1]
        ages = r.retirement_ages(year) if r is not None else None
        dem = cfg.demography
        self.retirement_age_men, self.retirement_age_women = (
            (dem.retirement_age_men.value, dem.retirement_age_women.value) if ages is None else ages)

    def _month_inputs(self) -> None:
        """Inputs dated to this month: a new minimum wage, a rail link's opening, a policy event."""
        r = self.record
        if r is None:
            return
        now = self.start_index + self.month
        if r.min_wage_changes_at(now):
            self.labour_market.statutory_min_wage[:] = r.min_wage(now)
            self.labour_market.min_wage[:] = self.labour_market.statutory_min_wage  # cards that raise it apply again in step 2
        if r.links_open_at(now):
            self.hours = self._travel_hours()
        for _, city, name, value in r.events_at(now):
            self._event(city, name, value)

    def _event(self, city: int, name: str, value: float) -> None:
        """A dated change of one city input (configs/history/events.csv)."""
        if name == "housing_stock_growth_year":
            self.housing_market.stock_growth[city] = value  # e.g. Beijing's population cap (2017 master plan)

    def _travel_hours(self) -> np.ndarray:
        """Fastest travel time (J, J) hours over the links open this month."""
        now = self.start_index + self.month
        return cities_mod.travel_hours(self.geography, None if self.record is None else self.record.open_links(now))

    def _intake_index(self, year: int) -> float:
        """Universities' intake in ``year`` relative to 2020 (configs/cities.csv): the national
        graduates' trend where the record has it, then ``university_intake_growth_year``."""
        idx = self.record.graduates_index(year) if self.record is not None else None
        if idx is None:
            idx = (1 + self.config.demography.university_intake_growth_year.value) ** (year - 2020)
        return idx

    def _set_vital_rates(self) -> None:
        """This year's fertility and mortality per city (``vital_rates.VitalRates``): the
        province's recorded rates at the current age structure, or after the record the
        last rates carried on."""
        P, C = self.people, self.C
        counts = demography.age_sex_counts(P.city, P.age, P.female, C)
        women, expected_deaths = demography.exposures(counts, self.cohorts, self.config.demography, self.scale)
        population = counts.sum((1, 2)) * self.scale + self.cohorts.totals()  # city_population, from these counts
        self.vital_rates.update(self.year, population, women, expected_deaths)
        self.fertility = demography.fertility_table(self.vital_rates.tfr)
        self.mortality = demography.mortality_table(self.config.demography, np.append(self.vital_rates.mortality, 1.0))

    def _school_leavers(self) -> np.ndarray:
        """September: 18-year-olds go to university (here or the rest of China) or to work;
        the seats they leave are filled by students from outside (a boundary flow)."""
        cfg, C, scale = self.config, self.C, self.scale
        dem = cfg.demography
        seats = demography.university_seats(self.graduates_per_year, self._intake_index(self.year))
        study, roc_persons, workers, roc_agents, from_outside = demography.school_leavers(
            self.cohorts, self.cities["province"].to_numpy(), dem, scale, self.city_rng("school_leavers"), seats)
        flows = np.zeros((self.J, self.J), np.int64)
        flows[:C, :C] += study
        np.fill_diagonal(flows, 0)
        flows[:C, C] += roc_persons
        flows[C, :C] += from_outside
        home = np.arange(C)
        voc = dem.vocational_share_of_non_tertiary.value
        inactive = demography.mean_inactive_share(dem)
        if workers.sum():
            self.people.append(**demography.new_school_leaver_agents(workers, home, home, voc, inactive,
                                                                     self.city_rng("new_workers"), self.month))
        if roc_agents.sum():
            cols = demography.new_school_leaver_agents(roc_agents, np.full(C, C), home, voc, 0.0,
                                                       self.city_rng("students_away"),
                                                       self.month, education=3)
            self.people.append(**cols)
        return flows

    def _migrate(self, cen, employed, unemployed, vacancies, sector_wage):
        """Who considers moving, where they go, and the moves (incl. returns)."""
        cfg, P, C, scale = self.config, self.people, self.C, self.scale
        dec, lab = cfg.decisions, cfg.labour
        key = lambda name: stream_key(self.seed, self.month, name)  # noqa: E731
        labour_force = employed.sum(1) + unemployed
        p_emp = np.append(np.where(labour_force > 0, employed.sum(1) / np.maximum(labour_force, 1), 0.95),
                          self.rest_of_china["employment_probability"])
        wage_level = np.append(self.labour_market.wage_level, self.outside.wage_level)
        rent = np.append(self.housing_market.rent, self.outside.rent)
        residents = np.append(cen["agents"][:C].astype(float), dec.rest_of_china_residents.value / scale)
        origin_share = cen["origin_city"] / np.maximum(residents[None, :], 1)
        EA, EB, EN, EH, ret, net = decisions.utility_tables(
            dec, wage_level, p_emp, rent, self.services.subsidy, self.services.school_access,
            self.services.childcare, self.hours,
            self.cross_province, origin_share, residents * scale, self.amenity)
        by_age = decisions.hazard_by_age(dec.consider_base_month.value, dec.consider_young_factor.value,
                                         dec.consider_old_factor.value)
        # who weighs a move, and (in the same pass) who comes back from the rest of China, to the hukou city
        rows, back = decisions.select_considerers_and_returners(
            P.city, P.status, P.age, P.children, P.housing, P.grad_month, self.month, by_age,
            dec.consider_unemployed_factor.value, dec.consider_children_factor.value,
            dec.consider_owner_factor.value, C, key("consider"), dec.rest_of_china_return_month.value, key("return"))
        stay, ktype = decisions.stay_factors(rows, P, self.month, net, rent, self.services.subsidy, dec.beta_income.value,
                                             dec.income_floor_share.value, wage_level, p_emp,
                                             rent_share=self.policy.rent_share(rows))
        dest = decisions.choose_destinations(rows, ktype, P.city, P.hukou_city, P.origin_city, stay,
                                             EA, decisions.pair_table(EB, EN), EH, ret, key("choose"))
        # newcomers from outside the simulated cities (boundary flow), as rows in the rest of China
        new, new_dest = self._outsiders(EA, EB, EN, by_age)
        rows = np.concatenate([rows, back, new])
        dest = np.concatenate([dest, P.hukou_city[back].astype(np.int64), new_dest])
        order = np.argsort(rows, kind="stable")  # row order: same result however rows were gathered
        rows, dest = rows[order], dest[order]
        p_job = np.minimum(1.0, lab.remote_search_efficiency.value * self.labour_market.job_finding)
        agents_od, jobled, kids_od = decisions.apply_moves(
            rows, dest, P.columns(), self.month, vacancies, p_job, sector_wage, self.labour_market.min_wage,
            lab.employed_speculative_move_share.value, scale, C, key("move"))
        stayed_out = new[P.city[new] == C]
        P.city[stayed_out] = -1  # no job found from afar: they stay outside, and out of the model
        kids_moved = demography.transfer_children(self.cohorts.minors, kids_od)
        flows = agents_od * scale + kids_moved
        np.fill_diagonal(flows, 0)
        return flows, jobled[:C] * scale

    def _outsiders(self, EA, EB, EN, by_age):
        """People of the rest of the country who weigh a move into the simulated cities this month and
        choose one (``decisions.outsider_choices``): appended as rows in place C, with their chosen
        destination.  ``apply_moves`` then treats them like any mover: a job found from afar
        (job-led), else they move on spec with ``employed_speculative_move_share``, else stay outside."""
        dec, C, P = self.config.decisions, self.C, self.people
        rng = self.city_rng("outsiders")
        ages = np.arange(18, 60)
        hazard = by_age[ages] * dec.outside_consider_factor.value  # flat working-age pyramid (assumption)
        agents = dec.outside_residents.value * dec.outside_working_age_share.value * hazard.mean() / self.scale
        edu_shares = education_shares(dec.outside_college_per_100k.value, dec.outside_high_school_per_100k.value,
                                      dec.outside_working_age_share.value)
        by_edu = rng.multinomial(rng.poisson(agents), edu_shares)
        chosen = decisions.outsider_choices(EA, EB, EN, by_edu, rng)[:, :C]  # (6, C) agents moving in
        n = int(chosen.sum())
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        edu = np.repeat(np.repeat(np.arange(6), C), chosen.ravel()).astype(np.int8)
        dest = np.repeat(np.tile(np.arange(C), 6), chosen.ravel()).astype(np.int64)
        age = ages[choice(rng, hazard / hazard.sum(), n)].astype(np.int8)
        wage = (self.outside.wage_level * EDU_PREMIUM[edu] * SECTOR_PREMIUM[1]).astype(np.float32)  # employed at home (services)
        rows = P.append(age=age, female=(rng.random(n) < 0.5).astype(np.int8), education=edu,
                        status=np.ones(n, np.int8), wage=wage, city=np.full(n, C, np.int16),
                        hukou_city=np.full(n, C, np.int16), origin_city=np.full(n, C, np.int16),
                        months_in_city=np.full(n, 120, np.int16))
        return np.arange(rows.start, rows.stop, dtype=np.int64), dest

    # ------------------------------------------------------------- accounts
    def city_population(self, cen=None) -> np.ndarray:
        """Resident population per city (C,) persons: agents, minors, students, retirees."""
        cen = cen if cen is not None else take_census(self.people, self.month, self.C)
        return cen["agents"][: self.C] * self.scale + self.cohorts.totals()

    def _update_city_agents(self) -> None:
        rec = self.month_record
        for a in self.city_agents:
            if a.city_id < self.C:
                c = a.city_id
                a.population = int(rec["population"][c])
                a.unemployment_rate = float(rec["unemployment_rate"][c])
                a.mean_wage = float(rec["mean_wage"][c])
                a.rent = float(rec["rent"][c])
                a.net_migration = int(rec["net_migration"][c])

    # ------------------------------------------------------------- API
    def run(self, months: int | None = None, progress=None) -> "MigrationModel":
        """Run ``months`` months (default: the scenario's); ``progress(i, n)`` after each."""
        n = self.config.months if months is None else int(months)
        for i in range(n):
            self.step()
            if progress is not None:
                progress(i + 1, n)
        return self

    def city_frame(self) -> pd.DataFrame:
        """``city_month`` table: one row per (month, city), counts in persons."""
        return self.recorder.city_frame()

    def policy_frame(self) -> pd.DataFrame:
        """``policy_month`` table: one row per (month, policy card, city): beneficiaries
        (persons), spend_cny, units, and queue / commuting columns where they apply."""
        return self.policy.frame()

    def policy_totals(self) -> dict:
        """Spend and beneficiaries of each policy card over the run (for run.json)."""
        return self.policy.totals()

    def flows_frame(self) -> pd.DataFrame:
        """``flows`` table: one row per (month, origin, destination) with movers > 0."""
        return self.recorder.flows_frame()

    @property
    def year(self) -> int:
        """Calendar year of the current month."""
        return (self.start_index + self.month) // 12

    @property
    def date(self) -> str:
        return month_label(self.start_index + self.month)


def check_scenario(scenario="baseline", overrides: dict | None = None) -> tuple[Scenario, int]:
    """Check a scenario without running it: its fields, every data file it reads (cities,
    links, provinces, the record of the years, vital rates, the census) and its policy cards
    (targets, conflicts).  No population is built.  Returns (the scenario, C); raises ConfigError."""
    from .policy.base import Places
    from .policy.cards import load_cards
    from .policy.engine import build_levers

    cfg = load_scenario(scenario, dict(overrides or {}))
    geo = cities_mod.load_geography(cfg)
    record = history.record_of(cfg, geo)
    load_vital_rates(cfg.resolve(cfg.data.vital_rates))
    census_inputs(cfg, geo)
    if cfg.policies:
        start = month_index(cfg.start)
        hours = cities_mod.travel_hours(geo, None if record is None else record.open_links(start))
        build_levers(load_cards(list(cfg.policies)), Places(geo.cities, geo.all_cities, hours))
    return cfg, geo.n_cities
