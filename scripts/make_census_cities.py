"""Build configs/census_cities.csv: each city's persons by sex and age band, and by education, at the 2010 and 2020 censuses.

Source (S8 in configs/SOURCES.md): the county-level census yearbooks as
digitised by Lei Dong et al., "Mapping Evolving Population Geography in
China" (GitHub leiii/census, data/census/census_county_2010_v1.xlsx from
第六次全国人口普查分县资料 and census_county_2020_v1.xlsx from
中国人口普查分县资料-2020).  The prefecture's own row is used (Beijing and
Tianjin: the province row; Yuhuan: the county row, 玉环县 in 2010, 玉环市 in 2020).

Boundaries follow configs/cities.csv (2020 boundaries): 公主岭市 (Gongzhuling,
code 220381 in 2010) moved from Siping to Changchun in 2020's yearbook, so its
2010 row is added to Changchun and taken from Siping; the totals then equal
``pop2010`` of configs/cities.csv.

Usage (needs pandas and openpyxl, which the model itself does not)::

    python scripts/make_census_cities.py CENSUS_REPO_DIR [--out configs/census_cities.csv]

where CENSUS_REPO_DIR/data/census holds the two xlsx files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BANDS = ["0", "1_4"] + [f"{i}_{i + 4}" for i in range(5, 85, 5)] + ["85_plus"]
EDUCATION = {"college": ("大学专科", "大学本科及以上", "本科及以上"), "high_school": ("高中",)}
SOURCE = {
    2010: "S8: 第六次全国人口普查分县资料 via leiii/census census_county_2010_v1.xlsx, row {row}",
    2020: "S8: 中国人口普查分县资料-2020 via leiii/census census_county_2020_v1.xlsx, row {row}",
}
GONGZHULING_2010 = 220381


def _bands_2010(row, sex):
    s = "男" if sex == "m" else "女"
    labels = ["0", "1-4"] + [f"{i}-{i + 4}" for i in range(5, 85, 5)]
    return [float(row[f"{x}岁（{s}）"]) for x in labels] + [float(row[f"85岁及以上（{s}）"])]


def _bands_2020(row, sex):
    s = "男" if sex == "m" else "女"
    labels = ["0岁", "1到4岁"] + [f"{i}到{i + 4}岁" for i in range(5, 85, 5)] + ["85岁以上"]
    return [float(row[f"{s}_{x}"]) for x in labels]


def _education(row, sex, year):
    s = "男" if sex == "m" else "女"
    sep = "-" if year == 2010 else "_"
    out = {}
    for key, names in EDUCATION.items():
        out[key] = sum(float(row[f"{n}{sep}{s}"]) for n in names if f"{n}{sep}{s}" in row.index)
    return out


def _row(table, year, name_zh):
    if year == 2010:
        if name_zh in ("北京市", "天津市"):
            m = table[table["区划代码"] == (110000 if name_zh == "北京市" else 120000)]
        else:
            m = table[table["地区"].astype(str).str.strip() == {"玉环市": "玉环县"}.get(name_zh, name_zh)]
    else:
        if name_zh in ("北京市", "天津市"):
            m = table[table["区划代码"] == (110000 if name_zh == "北京市" else 120000)]
        elif name_zh == "玉环市":
            m = table[table["区划代码"] == 331083]
        else:
            m = table[(table["市"] == name_zh) & (table["区县"] == name_zh)]
    if len(m) != 1:
        raise SystemExit(f"census {year}: {len(m)} rows for {name_zh}; expected one")
    return m.iloc[0]


def build(repo: Path) -> pd.DataFrame:
    cities = pd.read_csv(ROOT / "configs" / "cities.csv")
    t2010 = pd.read_excel(repo / "data" / "census" / "census_county_2010_v1.xlsx")
    t2010.columns = [c.replace("（女)", "（女）") for c in t2010.columns]  # one header lacks its full-width bracket
    t2020 = pd.read_excel(repo / "data" / "census" / "census_county_2020_v1.xlsx")
    gzl = t2010[t2010["区划代码"] == GONGZHULING_2010].iloc[0]
    rows = []
    for _, city in cities.iterrows():
        for year, table in ((2010, t2010), (2020, t2020)):
            row = _row(table, year, city["name_zh"])
            code = int(row["区划代码"])
            for sex in ("m", "f"):
                get = _bands_2010 if year == 2010 else _bands_2020
                bands = get(row, sex)
                edu = _education(row, sex, year)
                note = ""
                if year == 2010 and city["name_zh"] in ("长春市", "四平市"):
                    sign = 1 if city["name_zh"] == "长春市" else -1
                    bands = [b + sign * g for b, g in zip(bands, _bands_2010(gzl, sex))]
                    g_edu = _education(gzl, sex, year)
                    edu = {k: v + sign * g_edu[k] for k, v in edu.items()}
                    note = f"; {'plus' if sign > 0 else 'minus'} 公主岭市 (row {GONGZHULING_2010}) for the 2020 boundary"
                rec = {"city": city["name_en"], "census": year, "sex": sex}
                rec.update({f"age_{b}": int(round(v)) for b, v in zip(BANDS, bands)})
                rec.update({k: int(round(v)) for k, v in edu.items()})
                rec["source"] = SOURCE[year].format(row=code) + note
                rows.append(rec)
    out = pd.DataFrame(rows)
    ages = [f"age_{b}" for b in BANDS]
    totals = out.groupby(["city", "census"])[ages].sum().sum(axis=1)
    for _, city in cities.iterrows():
        for year in (2010, 2020):
            got, want = totals[(city["name_en"], year)], city[f"pop{year}"]
            if abs(got - want) > 0.001 * want:
                raise SystemExit(f"{city['name_en']} {year}: census bands sum to {got}, cities.csv has {want}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "configs" / "census_cities.csv")
    a = ap.parse_args()
    df = build(a.repo)
    tmp = a.out.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(a.out)
    print(f"wrote {a.out} ({len(df)} rows)")


if __name__ == "__main__":
    main()
