"""The month as a whole: conservation of people, outputs, determinism, known limits."""

import numpy as np
import pandas as pd

from migrants import MigrationModel
from migrants.metrics import MODEL_REPORTERS

from conservation import assert_people_conserved


def test_people_are_conserved_every_month_in_every_city(tiny_run):
    """start + births + arrivals = end + deaths + departures, per city and in total
    (arrivals and departures include the rest of China)."""
    cf = tiny_run.city_frame()
    assert_people_conserved(cf)
    tot = cf.groupby("month")[["population", "births", "deaths", "arrivals_from_outside",
                               "departures_to_outside"]].sum()
    change = tot["population"].diff().iloc[1:]
    flow = (tot["births"] - tot["deaths"] + tot["arrivals_from_outside"] - tot["departures_to_outside"]).iloc[1:]
    assert np.array_equal(change.to_numpy(), flow.to_numpy())


def test_flows_table_agrees_with_city_counts(tiny_run):
    cf, fl = tiny_run.city_frame(), tiny_run.flows_frame()
    assert (fl["movers"] > 0).all() and (fl["origin"] != fl["destination"]).all()
    inflow = fl.groupby(["month", "destination"])["movers"].sum()
    outflow = fl.groupby(["month", "origin"])["movers"].sum()
    for _, r in cf[cf.month > 0].iterrows():
        assert r["in_migrants"] == inflow.get((r["month"], r["city"]), 0)
        assert r["out_migrants"] == outflow.get((r["month"], r["city"]), 0)


def test_initial_population_is_the_2020_census(tiny_run):
    cf = tiny_run.city_frame()
    start = cf[cf.month == 0].set_index("city")["population"]
    census = tiny_run.cities.set_index("name_en")["pop2020"]
    assert (start == census.loc[start.index]).all()


def test_initial_months_in_city_follow_the_rule():
    """Locals have lived in their city since 18, migrants 0 to 120 months (``build_population``):
    an int8 product once wrapped the locals aged 29 and over to negative months."""
    P = MigrationModel(scenario="tiny", rng=3).people
    age, months = P.age.astype(int), P.months_in_city.astype(int)
    local = P.hukou_city == P.city
    assert np.array_equal(months[local], (age[local] - 18) * 12)
    assert months[~local].min() >= 0 and months[~local].max() <= 120 and (~local).sum() > 0


def test_city_month_has_the_contract_columns(tiny_run):
    cf = tiny_run.city_frame()
    for col in ["month", "date", "city", "province", "population", "working_age", "employed", "unemployed",
                "unemployment_rate", "mean_wage", "rent", "in_migrants", "out_migrants", "net_migration",
                "graduates", "graduates_stayed", "births", "deaths", "subsidy_spend_cny"]:
        assert col in cf.columns, col
    assert len(cf) == 15 * tiny_run.C
    assert cf["date"].iloc[0] == "2020-11" and cf["date"].iloc[-1] == "2022-01"
    assert (cf["employed"] + cf["unemployed"] <= cf["working_age"]).all()
    assert cf["unemployment_rate"].between(0, 1).all()
    fl = tiny_run.flows_frame()
    assert list(fl.columns[:1]) == ["month"] and {"origin", "destination", "movers"} <= set(fl.columns)


def test_graduates_arrive_in_july_and_some_stay(tiny_run):
    cf = tiny_run.city_frame()
    by_date = cf.groupby("date")[["graduates", "graduates_stayed"]].sum()
    assert set(by_date.index[by_date["graduates"] > 0]) == {"2021-07"}
    july = by_date.loc["2021-07"]
    # the cities' graduates a year (Liaoning 370,000 shared by institutions), less
    # less a remainder of fewer than `scale` persons per university that waits a year
    per_year = tiny_run.cities["graduates_per_year"].sum()
    assert 0.9 * per_year < july["graduates"] <= per_year
    assert 0 < july["graduates_stayed"] < july["graduates"]


def test_school_leavers_move_to_university_in_september(tiny_run):
    fl = tiny_run.flows_frame()
    by_date = fl.groupby("date")["movers"].sum()
    assert by_date["2021-09"] > 3 * by_date.drop(["2021-09", "2021-07"]).median()


def test_same_seed_same_output_and_different_seed_differs():
    a = MigrationModel(scenario="tiny", rng=11, months=6).run()
    b = MigrationModel(scenario="tiny", rng=11, months=6).run()
    c = MigrationModel(scenario="tiny", rng=12, months=6).run()
    pd.testing.assert_frame_equal(a.city_frame(), b.city_frame())
    pd.testing.assert_frame_equal(a.flows_frame(), b.flows_frame())
    assert not a.city_frame().equals(c.city_frame())


def test_output_does_not_depend_on_thread_count(tmp_path):
    """Counter-based draws: one thread or two give byte-identical tables."""
    import subprocess
    import sys

    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}"
        env = {"NUMBA_NUM_THREADS": threads, "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-m", "migrants.cli", "run", "tiny", "--months", "8", "--quiet", "--out",
                        str(out)], check=True, env=env, timeout=300)
        outs.append(out)
    for name in ("city_month.parquet", "flows.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_no_moves_when_nobody_considers_and_no_school_or_graduation():
    m = MigrationModel(scenario="tiny", rng=1, overrides={"decisions.consider_base_month": 0.0,
                                                          "decisions.rest_of_china_return_month": 0.0})
    m.run(5)  # Dec 2020 - Apr 2021: no graduation, no school year
    assert m.flows_frame()["movers"].sum() == 0


def test_working_age_bounds_and_retirement(tiny_run):
    P = tiny_run.people
    live = P.city >= 0
    assert P.age[live].min() >= 18
    assert P.age[live & (P.female == 1)].max() < 55 + 1
    assert P.age[live & (P.female == 0)].max() < 60 + 1


def test_scale_one_agent_per_person_works():
    m = MigrationModel(scenario="tiny", rng=1, scale=1, overrides={"cities": ["Benxi", "Fushun"], "months": 1})
    m.run()
    cf = m.city_frame()
    assert m.people.n > 1_000_000
    assert (cf[cf.month == 0]["population"].to_numpy() == [1861372, 1326018]).all()


def test_mesa_batch_run_drives_the_model_and_reads_its_reporters():
    """mesa.batch_run: one row per collected step with the model reporters, identical per seed."""
    import mesa

    rows = mesa.batch_run(MigrationModel, parameters={"scenario": "tiny", "scale": 2000}, rng=[1, 2],
                          max_steps=3, number_processes=1, data_collection_period=1, display_progress=False)
    df = pd.DataFrame(rows)
    assert len(df) == 2 * 4  # months 0 (the census) to 3, two seeds
    assert sorted(df["month"].unique()) == [0, 1, 2, 3]
    assert set(MODEL_REPORTERS) <= set(df.columns)
    one = MigrationModel(scenario="tiny", rng=2, scale=2000).run(3)
    mv = one.datacollector.get_model_vars_dataframe()
    got = df[df["rng"] == 2].set_index("month")["population"]
    assert np.allclose(got.to_numpy(), mv["population"].to_numpy())
    assert not np.allclose(got.to_numpy(), df[df["rng"] == 1]["population"].to_numpy())  # the seed is used
    assert np.allclose(mv["population"], one.city_frame().groupby("month")["population"].sum())


def test_running_turns_false_after_the_scenarios_months():
    m = MigrationModel(scenario="tiny", scale=20000)
    steps = 0
    while m.running:
        m.step()
        steps += 1
    assert steps == m.config.months == m.month
    m.step()  # a user may go on stepping past the scenario's end
    assert m.month == m.config.months + 1 and not m.running
