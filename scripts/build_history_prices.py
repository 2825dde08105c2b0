"""Build configs/history/city_wages.csv, city_gdp.csv, city_house_prices.csv and rest_of_china.csv from S3.

S3 (configs/SOURCES.md) is the GitHub repository andyhsi2023-cq/urban-investment-aggregation-trap,
file 02-data/processed/china_city_panel_real.csv (China City Database 6.0: avg_wage = average wage
of on-post employees in urban non-private units, CNY a year; gdp_100m = gross regional product at
current prices, 100 million CNY, as the city yearbooks published it; house_price = mean listing price,
CNY per m2, from 58.com (58tc) and Anjuke).  Run it with the path of that file:

    python scripts/build_history_prices.py PATH/china_city_panel_real.csv

Rules (each row's `source` says which applied):
- wages: S3 for every city and year 2010-2020 (complete); Yuhuan: its prefecture, Taizhou (as in
  configs/cities.csv).
- GDP: S3 for every city and year 2010-2020 (complete); Yuhuan: Taizhou.  The series keep the
  revisions as published (Liaoning's 2016-2017 restatement, the fourth economic census of 2018
  restating 2019 in Jilin, Heilongjiang and Tianjin): a level break shows up in one year.
- house prices: S3 where present; a gap between two observed years is filled log-linearly
  (`interpolated`); a year before the city's first observation is back-cast from that observation
  with the mean year-on-year change of the cities observed in both years in the same group
  (Northeast: Liaoning, Jilin, Heilongjiang, Inner Mongolia; other) (`back-cast`).  Yingkou's 2016
  value (1,754, its first; 4,578 in 2017) is rejected as a data error and back-cast instead.
- rest of China: the basket of configs/rest_of_china.yaml, weighted by 2021 residents; Ningbo's
  missing 2010 price is back-cast like a city.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
YEARS = range(2010, 2021)  # inputs dated 2021 or later stay out of the history tables
NORTHEAST = {"Liaoning", "Jilin", "Heilongjiang", "Inner Mongolia"}
REJECT = {("营口市", 2016)}
S3 = "S3 (china_city_panel_real.csv"


def main(panel_path: str) -> None:
    panel = pd.read_csv(panel_path)
    cities = pd.read_csv(ROOT / "configs" / "cities.csv")
    roc = yaml.safe_load((ROOT / "configs" / "rest_of_china.yaml").read_text())
    zh = dict(zip(cities.name_en, cities.name_zh))
    zh_cities = set(zh)
    zh["Yuhuan"] = "台州市"  # proxy, as in cities.csv
    group = {c: ("Northeast" if p in NORTHEAST else "other") for c, p in zip(cities.name_en, cities.province)}
    basket = {b["city"]: b["name_zh"] for b in roc["basket"]}
    weights = {b["city"]: b["resident_pop_10k_2021"] for b in roc["basket"]}
    for city, name in basket.items():
        zh[city] = name
        group[city] = "basket"
    panel = panel[panel.year.isin(YEARS)]
    wage = panel.pivot_table(index="city", columns="year", values="avg_wage")
    gdp = panel.pivot_table(index="city", columns="year", values="gdp_100m")
    price = panel.pivot_table(index="city", columns="year", values="house_price")
    psrc = panel.pivot_table(index="city", columns="year", values="price_source", aggfunc="first")
    for city, year in REJECT:
        price.loc[city, year] = np.nan

    wage_rows, gdp_rows, price_rows = [], [], []
    prices = {}
    log_p = np.log(price)
    for name, z in zh.items():
        proxy = " (Taizhou prefecture figure, proxy for Yuhuan: assumption)" if name == "Yuhuan" else ""
        for y in YEARS if name in zh_cities else ():
            wage_rows.append({"city": name, "year": y, "avg_wage_cny": round(float(wage.loc[z, y])),
                              "source": f"{S3}, city {z}, avg_wage {y}){proxy}"})
            gdp_rows.append({"city": name, "year": y, "gdp_100m_cny": round(float(gdp.loc[z, y]), 2),
                             "source": f"{S3}, city {z}, gdp_100m {y}){proxy}"})
        obs = log_p.loc[z]
        seen = [y for y in YEARS if np.isfinite(obs[y])]
        vals, srcs = {}, {}
        for y in seen:
            vals[y] = obs[y]
            srcs[y] = f"{S3}, city {z}, house_price {y}, {psrc.loc[z, y]}){proxy}"
        for y in YEARS:
            if y in vals or y < seen[0]:
                continue
            lo = max(s for s in seen if s < y)
            hi = min((s for s in seen if s > y), default=None)
            if hi is None:
                vals[y], srcs[y] = vals[lo], f"assumption: held at {lo} (no later S3 value)"
            else:
                t = (y - lo) / (hi - lo)
                vals[y] = (1 - t) * vals[lo] + t * vals[hi]
                srcs[y] = f"interpolated: log-linear between S3 {lo} and {hi}" + (
                    " (S3 value rejected as a data error)" if (z, y) in REJECT else "")
        prices[name] = (vals, srcs)
    # back-cast, latest year first, with the mean change of the group's cities observed in both years
    for name in zh:
        vals, srcs = prices[name]
        for y in sorted((y for y in YEARS if y not in vals), reverse=True):
            peers = [log_p.loc[zh[o], [y, y + 1]] for o in zh
                     if group[o] == group[name] or (group[name] == "basket" and group[o] != "Northeast")]
            d = [p[y + 1] - p[y] for p in peers if np.isfinite(p[y]) and np.isfinite(p[y + 1])]
            vals[y] = vals[y + 1] - float(np.mean(d))
            srcs[y] = (f"back-cast: {y + 1} value / mean {y}-{y + 1} change of {len(d)} "
                       f"{group[name] if group[name] != 'basket' else 'non-Northeast'} cities observed in S3"
                       + (" (S3 value rejected as a data error)" if (zh[name], y) in REJECT else ""))
    for name in cities.name_en:
        vals, srcs = prices[name]
        for y in YEARS:
            price_rows.append({"city": name, "year": y, "house_price_cny_m2": round(float(np.exp(vals[y]))),
                               "source": srcs[y]})
    roc_rows = []
    w = np.array([weights[b] for b in basket], float)
    for y in YEARS:
        ww = np.array([wage.loc[basket[b], y] for b in basket])
        pp = np.array([np.exp(prices[b][0][y]) for b in basket])
        est = [b for b in basket if not prices[b][1][y].startswith("S3")]
        roc_rows.append({"year": y, "wage_cny_year": round(float(w @ ww / w.sum())),
                         "house_price_cny_m2": round(float(w @ pp / w.sum())),
                         "source": f"derived: mean of the rest_of_china.yaml basket weighted by 2021 residents, "
                                   f"{S3}, avg_wage and house_price {y})"
                                   + (f"; price of {', '.join(est)} estimated (see city rules)" if est else "")})
    out = ROOT / "configs" / "history"
    for fname, rows in (("city_wages.csv", wage_rows), ("city_gdp.csv", gdp_rows),
                        ("city_house_prices.csv", price_rows),
                        ("rest_of_china.csv", roc_rows)):
        with open(out / fname, "w", newline="", encoding="utf-8") as f:
            wr = csv.DictWriter(f, fieldnames=list(rows[0]))
            wr.writeheader()
            wr.writerows(rows)
        print(f"wrote configs/history/{fname} ({len(rows)} rows)")


if __name__ == "__main__":
    main(sys.argv[1])
