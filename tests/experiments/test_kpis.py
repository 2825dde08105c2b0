"""KPIs of one run from its city_month table, checked by hand on a small table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from migrants.experiments.kpis import KPI_GROUPS, compute_kpis, kpi_columns
from migrants.outcomes import metro_flags, period_months

CITIES = pd.DataFrame({"name_en": ["Shenyang", "Dalian", "Harbin"], "province": ["Liaoning", "Liaoning", "Heilongjiang"],
                       "in_shenyang_metro": [True, False, False]})


def city_month(months=26):
    rows = []
    for m in range(months + 1):
        for city, prov, pop in (("Shenyang", "Liaoning", 1000), ("Dalian", "Liaoning", 500), ("Harbin", "Heilongjiang", 800)):
            rows.append({
                "month": m, "date": f"M{m:02d}", "city": city, "province": prov,
                "population": pop + m * (1 if city == "Shenyang" else -1),
                "net_migration": 0 if m == 0 else (1 if city == "Shenyang" else -1),
                "graduates": 10 if m % 12 == 8 else 0, "graduates_stayed": 6 if m % 12 == 8 else 0,
                "subsidy_spend_cny": 0 if m == 0 else 100, "employed": 90, "births": 0 if m == 0 else 2,
                "unemployed": 10 if m <= 12 else 30,
            })
    return pd.DataFrame(rows)


def test_final_kpis():
    cm = city_month()
    k = compute_kpis(cm, CITIES, list(KPI_GROUPS), ["Liaoning", "Heilongjiang", "Jilin"])
    assert len(k) == 1
    r = k.iloc[0]
    assert r["month"] == 26 and r["date"] == "M26"
    assert r["population_liaoning"] == 1026 + 474 and r["population_heilongjiang"] == 774
    assert np.isnan(r["population_jilin"])  # not simulated in this run
    assert r["population_shenyang_metro"] == 1026 and r["population_total"] == 1026 + 474 + 774
    assert r["net_migration_total"] == 26 * (1 - 1 - 1) and r["net_migration_shenyang_metro"] == 26
    assert r["graduates"] == 2 * 30 and r["graduates_stayed"] == 2 * 18  # months 8 and 20
    assert r["graduate_retention"] == pytest.approx(0.6)
    assert r["unemployment_rate_last12"] == pytest.approx(0.25)  # months 15..26: 90 unemployed / 360
    assert r["subsidy_spend_cny"] == 26 * 300
    assert list(k.columns) == ["month", "date"] + kpi_columns(list(KPI_GROUPS), ["Liaoning", "Heilongjiang", "Jilin"])


def test_yearly_and_monthly_rows():
    cm = city_month()
    y = compute_kpis(cm, CITIES, ["population_total", "unemployment_rate_last12", "graduate_retention"],
                     [], "yearly")
    assert list(y["month"]) == [12, 24, 26]
    assert y["unemployment_rate_last12"].iloc[0] == pytest.approx(0.1)  # months 1..12
    assert y["unemployment_rate_last12"].iloc[1] == pytest.approx(0.25)  # months 13..24
    m = compute_kpis(cm, CITIES, ["graduate_retention", "subsidy_spend_cny"], [], "monthly")
    assert list(m["month"]) == list(range(1, 27))
    assert m["graduate_retention"].isna().sum() == 7  # months 1..7: no graduates yet
    assert m["subsidy_spend_cny"].iloc[0] == 300
    assert period_months(0, "yearly") == [0] and period_months(5, "yearly") == [5]


def test_metro_flag_as_text_or_bool():
    c = pd.DataFrame({"name_en": ["A", "B"], "in_shenyang_metro": ["true", "false"]})
    assert metro_flags(c).tolist() == [True, False]
    c["in_shenyang_metro"] = [False, True]
    assert metro_flags(c).tolist() == [False, True]


def test_any_kpi_at_any_region_named_as_written():
    cm = city_month()
    names = ["population@Dalian", "net_migration@Liaoning", "graduate_retention@Harbin", "births@shenyang_metro",
             "population@province:Heilongjiang", "unemployment_rate", "population_total"]
    k = compute_kpis(cm, CITIES, names, ["Liaoning", "Heilongjiang"]).iloc[0]
    assert list(k.index) == ["month", "date", *names]
    assert k["population@Dalian"] == 474 and k["population@province:Heilongjiang"] == 774
    assert k["net_migration@Liaoning"] == 26 * (1 - 1)  # Shenyang gains what Dalian loses: it cancels
    assert k["graduate_retention@Harbin"] == pytest.approx(0.6)
    assert k["population_total"] == 1026 + 474 + 774
    assert k["unemployment_rate"] == pytest.approx(0.25)
    assert k["births@shenyang_metro"] == 26 * 2


@pytest.mark.parametrize("name, words", [("residents@Dalian", ["residents", "population"]),
                                         ("population@", ["no region"])])
def test_a_bad_kpi_name_says_what_exists(name, words):
    from migrants.experiments.kpis import check_kpi

    with pytest.raises(ValueError) as e:
        check_kpi(name)
    for w in words:
        assert w in str(e.value)


def test_a_region_the_scenario_does_not_simulate_is_refused():
    from migrants.errors import ConfigError

    with pytest.raises(ConfigError, match="Qiqihar.*expected one of Shenyang"):
        compute_kpis(city_month(), CITIES, ["population@Qiqihar"], [])


def test_kpis_of_a_real_run(tiny_run):
    """On the core's own tiny run: totals agree with the city table."""
    cm = tiny_run.city_frame()
    k = compute_kpis(cm, tiny_run.cities, list(KPI_GROUPS), ["Liaoning", "Jilin", "Heilongjiang", "Beijing"])
    last = cm[cm["month"] == cm["month"].max()]
    assert k["population_total"].iloc[0] == last["population"].sum()
    assert k["population_liaoning"].iloc[0] == last.loc[last["province"] == "Liaoning", "population"].sum()
    assert k["net_migration_total"].iloc[0] == cm.loc[cm["month"] > 0, "net_migration"].sum()
    assert 0 < k["graduate_retention"].iloc[0] <= 1
