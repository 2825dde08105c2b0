"""The history from the 2010 census: initialisation, time-varying inputs by date, backtest.

Runs use a coarse scale (persons per agent) so that a decade takes seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from migrants import demography
from migrants.backtest import load_targets, naive_forecasts
from migrants.cities import load_cities
from migrants.config import CONFIG_DIR
from migrants.errors import ConfigError
from migrants.model import MigrationModel

from conservation import assert_people_conserved

SCALE = 5000
CITIES = load_cities(CONFIG_DIR / "cities.csv")
MIGRANTS = [str(Path(sys.executable).with_name("migrants"))]


def month_of(model, date: str) -> int:
    y, m = map(int, date.split("-"))
    return y * 12 + m - 1 - model.start_index


@pytest.fixture(scope="module")
def history_run():
    return MigrationModel(scenario="history", scale=SCALE, months=30).run()


def test_month_0_is_the_2010_census(history_run):
    m0 = history_run.city_frame().query("month == 0").set_index("city")["population"]
    census = CITIES.set_index("name_en")["pop2010"]
    assert history_run.config.start == "2010-11"
    assert np.allclose(m0[census.index], census, rtol=0.01)
    # the 2010 age structure (configs/census_cities.csv), not 2020's: Liaoning had 15.4% aged 60+
    # in 2010 and 25.7% in 2020; retirees are 55+ (women) / 60+ (men), so compare with both
    # (plus the women aged 55-59, about 4%): about 19.5% retired in 2010 against 29% with 2020's
    liaoning = (CITIES["province"] == "Liaoning").to_numpy()
    at_start = MigrationModel(scenario="history", scale=SCALE)
    old = at_start.cohorts.retirees[liaoning].sum() / census[CITIES[liaoning].name_en].sum()
    assert 0.17 < old < 0.22


def test_each_city_starts_with_its_own_census_pyramid_and_schooling():
    """configs/census_cities.csv (S8): Fushun was old in 2010 (16.6% aged 60+), Daqing young (11.5%);
    Shenyang had 20,391 college graduates per 100,000 residents, Tieling 5,665."""
    m = MigrationModel(scenario="history", scale=SCALE)
    names = list(CITIES["name_en"])
    census = CITIES.set_index("name_en")["pop2010"]
    over_60 = {c: m.cohorts.retirees[names.index(c), 5:].sum() / census[c] for c in ("Fushun", "Daqing")}
    assert over_60["Fushun"] == pytest.approx(0.1655, abs=0.01)
    assert over_60["Daqing"] == pytest.approx(0.1147, abs=0.01)
    P = m.people
    tertiary = {c: (P.education[P.city == names.index(c)] >= 2).mean() for c in ("Shenyang", "Tieling")}
    assert tertiary["Shenyang"] > 2.5 * tertiary["Tieling"]


def test_census_pyramid_keeps_every_band_and_spreads_it_over_its_years():
    from migrants.population import census_pyramid

    bands = np.arange(1, 20, dtype=float) * 1000
    ages = census_pyramid(bands)
    assert ages.shape == (101,)
    assert ages.sum() == pytest.approx(bands.sum())
    assert ages[1:5].sum() == pytest.approx(bands[1]) and np.allclose(ages[1:5], ages[1])
    assert ages[85:].sum() == pytest.approx(bands[-1]) and np.all(np.diff(ages[85:]) < 0)


def test_a_city_missing_from_the_census_file_is_named(tmp_path):
    from migrants.errors import ConfigError
    from migrants.inputs import load_census_cities

    df = pd.read_csv(CONFIG_DIR / "census_cities.csv")
    df[df["city"] != "Benxi"].to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ConfigError, match="Benxi.*census_cities: null"):
        load_census_cities(tmp_path / "c.csv", CITIES["name_en"], 2010)


def test_people_are_conserved_every_month_from_2010(history_run):
    assert_people_conserved(history_run.city_frame())


def test_rail_opening_shortens_travel_from_its_month_and_not_before():
    """Harbin-Dalian HSR opened 2012-12 (configs/history/rail_openings.csv)."""
    m = MigrationModel(scenario="history", scale=200000)
    h, d = m.names.index("Harbin"), m.names.index("Dalian")
    opening = month_of(m, "2012-12")
    before = None
    for month in range(1, opening + 1):
        m.step()
        if month == opening - 1:
            before = m.hours[h, d]
    after = m.hours[h, d]
    assert before > 5.0 and after == pytest.approx(3.5)
    # and the link is in the table of every run from 2020 (baseline): open from the start
    b = MigrationModel(scenario="baseline", scale=200000)
    assert b.hours[h, d] == pytest.approx(3.5)


def test_minimum_wage_changes_in_its_month():
    """Liaoning's first tier went from 900 to 1,100 CNY in 2011-07."""
    m = MigrationModel(scenario="history", scale=200000)
    s = m.names.index("Shenyang")
    seen = {}
    for _ in range(month_of(m, "2011-07")):
        m.step()
        seen[m.date] = m.labour_market.min_wage[s]
    assert seen["2011-06"] == 900 and seen["2011-07"] == 1100


def test_recorded_wage_growth_sets_the_trend_each_january():
    m = MigrationModel(scenario="history", scale=200000)
    wages = pd.read_csv(CONFIG_DIR / "history" / "city_wages.csv").set_index(["city", "year"])["avg_wage_cny"]
    assert m.cities.loc[0, "avg_wage_cny"] == wages["Shenyang", 2010]  # the start year's wage
    for _ in range(month_of(m, "2013-01")):
        m.step()
    assert m.labour_market.wage_growth[0] == pytest.approx(wages["Shenyang", 2013] / wages["Shenyang", 2012] - 1)
    # after the table (2020), the scenario's assumption
    b = MigrationModel(scenario="baseline", scale=200000)
    for _ in range(month_of(b, "2021-01")):
        b.step()
    assert np.allclose(b.labour_market.wage_growth, b.config.labour.wage_growth_year.value)


def test_recorded_gdp_moves_tradable_jobs_against_the_province_each_january():
    """configs/history/city_gdp.csv: in 2016 Benxi's GDP fell by more than Liaoning's cities'
    together (the restatement hit it hardest), so its tradable jobs shrink that year; Beijing,
    its province's only city, never moves apart; after the table (2020) nothing does."""
    m = MigrationModel(scenario="history", scale=200000)
    gdp = pd.read_csv(CONFIG_DIR / "history" / "city_gdp.csv").set_index(["city", "year"])["gdp_100m_cny"]
    assert m.labour_market.output_trend is None  # 2010: the table's first year has no growth
    for _ in range(month_of(m, "2016-01")):
        m.step()
    liaoning = [c for c, p in zip(m.names, m.cities["province"]) if p == "Liaoning"]
    g_p = np.log(sum(gdp[c, 2016] for c in liaoning) / sum(gdp[c, 2015] for c in liaoning))
    bx, bj = m.names.index("Benxi"), m.names.index("Beijing")
    e = m.config.labour.job_output_elasticity.value
    assert m.labour_market.output_trend[bx] * 12 == pytest.approx(e * (np.log(gdp["Benxi", 2016] / gdp["Benxi", 2015]) - g_p))
    assert m.labour_market.output_trend[bx] < 0 and m.labour_market.output_trend[bj] == 0.0
    b = MigrationModel(scenario="baseline", scale=200000)
    for _ in range(month_of(b, "2021-01")):
        b.step()
    assert b.labour_market.output_trend is None


def test_beijing_cap_stops_its_housing_stock_from_2017_09():
    m = MigrationModel(scenario="history", scale=200000)
    bj = m.names.index("Beijing")
    grow = m.config.housing.housing_stock_growth_year.value
    for _ in range(month_of(m, "2017-08")):
        m.step()
    assert m.housing_market.stock_growth[bj] == grow
    m.step()
    assert m.date == "2017-09" and m.housing_market.stock_growth[bj] == 0.0
    assert MigrationModel(scenario="baseline", scale=200000).housing_market.stock_growth[bj] == 0.0  # in force by 2020


@pytest.mark.parametrize("limit, window_k, window_k1", [(60.0, range(0, 12), range(0, 1)),  # 61: past it, at once
                                                          (60.25, range(3, 12), range(0, 3))])
def test_retirement_is_spread_over_the_year_at_the_statutory_age(limit, window_k, window_k1):
    """Birthdays are spread over the year: with a statutory age of k years and d months, men
    counted k (age counted up in January) retire evenly in months d..11 and those counted k+1
    (born late in the year) evenly in months 0..d-1, so each retires at exactly k + d/12;
    nobody younger retires, and nobody is left working past their window."""
    n = 36000
    age = np.r_[np.full(n // 3, 59), np.full(n // 3, 60), np.full(n // 3, 61)].astype(np.int8)
    city = np.zeros(n, np.int16)
    female = np.zeros(n, np.int8)
    by_month = np.zeros((12, 3))
    for m in range(12):
        before = city.copy()
        demography.retire(city, age, female, limit, 55.0, m, 1, np.uint64(100 + m))
        gone = (before >= 0) & (city < 0)
        by_month[m] = [gone[k * n // 3:(k + 1) * n // 3].sum() for k in range(3)]
    assert by_month[:, 0].sum() == 0  # counted 59: too young all year
    for col, window in ((1, window_k), (2, window_k1)):
        assert by_month[:, col].sum() == n // 3  # everyone of the group retires within the year
        if len(window):
            expected = n // 3 / len(window)
            assert np.all(np.abs(by_month[list(window), col] - expected) < 5 * np.sqrt(expected))
        outside = [m for m in range(12) if m not in window]
        assert by_month[outside, col].sum() == 0


def test_retirement_ages_follow_the_2025_reform():
    b = MigrationModel(scenario="baseline", scale=200000)
    assert (b.retirement_age_men, b.retirement_age_women) == (60, 55)
    for _ in range(month_of(b, "2026-01")):
        b.step()
    assert 60 < b.retirement_age_men < 61 and 55 < b.retirement_age_women < 56


def test_same_seed_same_history():
    a = MigrationModel(scenario="history", scale=SCALE, months=14).run().city_frame()
    b = MigrationModel(scenario="history", scale=SCALE, months=14).run().city_frame()
    pd.testing.assert_frame_equal(a, b)


def test_naive_forecasts_reproduce_the_reference_errors():
    """The issue's reference: on the 31 cities' 2010-2020 change the naive forecasts err by
    12.0% (no change), 11.5% (all-region change) and 7.9% (province change)."""
    targets = load_targets(CONFIG_DIR / "targets", CITIES)
    prov2010 = pd.read_csv(CONFIG_DIR / "provinces_2010.csv").set_index("province")["population"].astype(float)
    city = targets[targets.kind == "city"]
    naive = naive_forecasts(targets, CITIES, prov2010).loc[city.index]
    mape = {k: round(float((abs(naive[k] / city.observed - 1)).mean() * 100), 1) for k in naive}
    assert mape == {"naive_no_change": 12.0, "naive_region_trend": 11.5, "naive_province_trend": 7.9}


def test_the_regions_unemployment_is_its_cities_unemployed_over_their_labour_force(tmp_path):
    """A region target reads sum(unemployed) / sum(employed + unemployed) over the simulated cities
    in its month (not the mean of the cities' rates); a targets folder without region.csv is fine."""
    from migrants.backtest import REGION, model_values

    cities = load_cities(CONFIG_DIR / "cities.csv").iloc[:2]
    frame = pd.DataFrame({"month": [0, 0], "date": ["2019-12"] * 2, "city": list(cities["name_en"]),
                          "province": list(cities["province"]), "population": [1e6, 1e6], "births": [0, 0],
                          "deaths": [0, 0], "employed": [900.0, 90.0], "unemployed": [100.0, 0.0]})
    targets = pd.DataFrame({"entity": [REGION], "kind": ["region"], "date": ["2019-12"],
                            "target": ["unemployment_rate"], "observed": [0.052]})
    prov2010 = pd.Series({p: 1e7 for p in cities["province"]})
    assert model_values(targets, frame, cities, prov2010)[0] == pytest.approx(100 / 1090)
    folder = tmp_path / "targets"
    shutil.copytree(CONFIG_DIR / "targets", folder)
    assert (load_targets(folder, load_cities(CONFIG_DIR / "cities.csv")).kind == "region").sum() == 3
    (folder / "region.csv").unlink()
    assert "region" not in set(load_targets(folder, load_cities(CONFIG_DIR / "cities.csv")).kind)


def test_no_target_is_dated_2021_or_later(tmp_path):
    targets = load_targets(CONFIG_DIR / "targets", CITIES)
    assert (targets.date < "2021-01").all() and len(targets[targets.kind == "city"]) == 31
    bad = tmp_path / "targets"
    shutil.copytree(CONFIG_DIR / "targets", bad)
    rows = pd.read_csv(bad / "city.csv")
    rows.loc[0, "date"] = "2023-12"
    rows.to_csv(bad / "city.csv", index=False)
    with pytest.raises(ConfigError, match=r"city.csv: line 2, column `date`: '2023-12'.*held out"):
        load_targets(bad, CITIES)


def test_backtest_end_to_end(tmp_path):
    out = tmp_path / "bt"
    r = subprocess.run(MIGRANTS + ["backtest", "--seeds", "2", "--scale", "20000", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "MAPE" in r.stdout and "province trend" in r.stdout
    df = pd.read_parquet(out / "backtest.parquet")
    assert list(df.columns[:12]) == ["entity", "kind", "date", "target", "observed", "model", "model_lo", "model_hi",
                                     "naive_no_change", "naive_region_trend", "naive_province_trend", "in_fit"]
    assert (df.date < "2021-01").all()
    city = df[df.kind == "city"]
    assert len(city) == 31 and city.model.notna().all() and (city.model_lo <= city.model_hi).all()
    prov = df[(df.kind == "province") & (df.target == "population")]
    assert set(prov.entity) == set(CITIES.province) and prov.model.notna().all()
    assert not df[df.target != "population"].in_fit.any()  # vital rates are inputs
    assert (out / "backtest.png").stat().st_size > 10000
    # the same numbers whatever the number of processes
    r2 = subprocess.run(MIGRANTS + ["backtest", "--seeds", "2", "--scale", "20000", "--jobs", "2", "--quiet",
                                    "--out", str(tmp_path / "bt2")], capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr
    pd.testing.assert_frame_equal(df, pd.read_parquet(tmp_path / "bt2" / "backtest.parquet"))


def _corrupt(tmp_path, fname, edit):
    folder = tmp_path / "history"
    shutil.copytree(CONFIG_DIR / "history", folder)
    df = pd.read_csv(folder / fname, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(folder / fname, index=False)
    return folder


@pytest.mark.parametrize("fname, edit, message", [
    ("city_wages.csv", lambda d: d[~((d.city == "Dalian") & (d.year == "2014"))],
     r"city_wages.csv: Dalian: year 2014 missing"),
    ("city_gdp.csv", lambda d: d.assign(gdp_100m_cny=d.gdp_100m_cny.where(d.index != 6, "0")),
     r"city_gdp.csv: line 8, column `gdp_100m_cny`: 0(\.0)?; expected a number"),
    ("minimum_wages.csv", lambda d: d.assign(min_wage_cny_month=d.min_wage_cny_month.where(d.index != 3, "-5")),
     r"minimum_wages.csv: line 5, column `min_wage_cny_month`: -5; expected a number >= 1"),
    ("rail_openings.csv", lambda d: d.assign(a=d.a.where(d.index != 0, "Atlantis")),
     r"rail_openings.csv: line 2, column `a`: 'Atlantis'"),
    ("minimum_wages.csv", lambda d: d.assign(province=d.province.where(d.index != 0, "Narnia")),
     r"minimum_wages.csv: line 2, column `province`: 'Narnia'"),
    ("events.csv", lambda d: d.assign(date="2017-13"), r"events.csv: line 2, column `date`: '2017-13'"),
])
def test_bad_history_input_exits_2_naming_file_line_and_value(tmp_path, fname, edit, message):
    folder = _corrupt(tmp_path, fname, edit)
    out = tmp_path / "out"
    r = subprocess.run(MIGRANTS + ["run", "history", "--months", "2", "--scale", "100000", "--set",
                                   f"data.history={folder}", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    import re

    assert re.search(message, r.stderr), r.stderr
    assert not out.exists()


def test_backtest_of_a_holdout_calibration_reports_the_held_out_province(tmp_path):
    """`backtest --calibration DIR --holdout P` runs the fit's best point (with the held-out
    province's tied amenity) and reports P's rows apart; a mismatched holdout is refused."""
    cal = tmp_path / "cal"
    cal.mkdir()
    fit = {"name": "x", "holdout": "Jilin",
           "free": [{"path": "decisions.province_amenity.Liaoning"}, {"path": "decisions.province_amenity.Heilongjiang"}],
           "best_run": {"decisions.province_amenity.Liaoning": -0.2, "decisions.province_amenity.Heilongjiang": -0.6},
           "tied": {"decisions.province_amenity.Jilin": {"rule": "mean of", "of": [
               "decisions.province_amenity.Liaoning", "decisions.province_amenity.Heilongjiang"]}}}
    (cal / "fit.json").write_text(json.dumps(fit))
    out = tmp_path / "bt"
    r = subprocess.run(MIGRANTS + ["backtest", "--seeds", "1", "--scale", "20000", "--calibration", str(cal),
                                   "--holdout", "Jilin", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Held out of the fit: Jilin" in r.stdout
    held = pd.read_parquet(out / "summary_holdout.parquet")
    assert set(held.kind) == {"city", "province"} and held[held.kind == "city"].n.max() == 4  # Jilin's four cities
    meta = json.loads((out / "backtest.json").read_text())
    assert meta["calibration"]["estimate"]["decisions.province_amenity.Jilin"] == pytest.approx(-0.4)
    bad = subprocess.run(MIGRANTS + ["backtest", "--calibration", str(cal), "--holdout", "Liaoning", "--out",
                                     str(tmp_path / "bad")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "left out 'Jilin'" in bad.stderr and not (tmp_path / "bad").exists()
    lone = subprocess.run(MIGRANTS + ["backtest", "--holdout", "Jilin", "--out", str(tmp_path / "bad")],
                          capture_output=True, text=True, timeout=120)
    assert lone.returncode == 2 and "needs --calibration" in lone.stderr
