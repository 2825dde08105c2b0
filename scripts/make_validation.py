"""Write docs/validation.md (and docs/img/backtest*.png) from backtests of the history.

    .venv/bin/python scripts/make_validation.py                 # runs the backtest (3 seeds, default scale)
    .venv/bin/python scripts/make_validation.py --from results/backtest   # uses a finished one

The calibrated model (the shipped scenario) is set beside the uncalibrated one (``--before``,
a backtest run with the assumptions the calibration replaced, ``configs/calibration/uncalibrated.yaml``;
run here if ``results/validation_uncalibrated`` holds none)
and beside the leave-one-province-out fits of ``scripts/run_holdouts.py`` (``--holdouts``).

Every number in the page comes from ``backtest.parquet``; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from migrants.backtest import run_backtest, summary  # noqa: E402
from migrants.io import _atomic  # noqa: E402


def md_table(df: pd.DataFrame, floatfmt: dict | None = None) -> str:
    floatfmt = floatfmt or {}
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                cells.append("-" if not np.isfinite(v) else format(v, floatfmt.get(c, ",.1f")))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """MAPE and sign of the model before and after calibration, and the best naive forecast, per group."""
    b, a = summary(before), summary(after)
    key = ["kind", "target"]
    mb = b[b.forecast == "model"].set_index(key)
    ma = a[a.forecast == "model"].set_index(key)
    naive = a[a.forecast != "model"].sort_values("mape_pct").groupby(key, sort=False).first()
    rows = []
    for k in ma.index:
        rows.append({"kind": k[0], "target": k[1], "n": int(ma.at[k, "n"]),
                     "uncalibrated MAPE %": mb.at[k, "mape_pct"] if k in mb.index else np.nan,
                     "calibrated MAPE %": ma.at[k, "mape_pct"],
                     "best naive": f"{naive.at[k, 'forecast']} {naive.at[k, 'mape_pct']:.1f}%",
                     "sign right, uncalibrated": _pct(mb.at[k, "sign_agreement"]) if k in mb.index else "-",
                     "sign right, calibrated": _pct(ma.at[k, "sign_agreement"])})
    return pd.DataFrame(rows)


def _pct(v) -> str:
    return "-" if not np.isfinite(v) else f"{v:.0%}"


def holdout_table(full: pd.DataFrame, cities: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Per held-out province: its rows' errors when the fit left it out, when it did not, and the
    province-trend forecast (which knows the 2020 census)."""
    from migrants.backtest import held_out_rows

    rows = []
    for sub in sorted(p for p in folder.glob("*/backtest") if (p / "backtest.parquet").exists()):
        meta = __import__("json").loads((sub / "backtest.json").read_text())
        prov = meta["holdout"]
        fit = __import__("json").loads((sub.parent / "fit.json").read_text())
        waves = fit["method"]["waves"]
        held = held_out_rows(pd.read_parquet(sub / "backtest.parquet"), cities, prov)
        mine = held_out_rows(full, cities, prov)
        for label, frame in ((f"left out of the fit ({waves} waves)", held), ("in the fit", mine)):
            s = summary(frame)
            for kind, target in (("city", "population"), ("province", "population (census 2020)")):
                g = s[(s.kind == kind) & (s.target == target)].set_index("forecast")
                if "model" not in g.index:
                    continue
                rows.append({"province": prov, "fit": label, "rows": f"{kind} {target}", "n": int(g.at["model", "n"]),
                             "MAPE %": g.at["model", "mape_pct"], "sign right": _pct(g.at["model", "sign_agreement"]),
                             "province trend MAPE %": g.at["province trend", "mape_pct"]})
    return pd.DataFrame(rows)


def page(df: pd.DataFrame, meta: dict, before: pd.DataFrame | None = None, holdouts: pd.DataFrame | None = None,
         calibration: dict | None = None) -> str:
    s = summary(df)
    s = s.assign(sign_agreement=s.sign_agreement.map(lambda v: "-" if not np.isfinite(v) else f"{v:.0%}"))
    s = s.rename(columns={"mape_pct": "MAPE of levels %", "change_error_pp": "error of change, pp",
                          "sign_agreement": "sign of change right"})
    city = df[df.kind == "city"].copy()
    city["observed change %"] = (city.observed / city.naive_no_change - 1) * 100
    city["model change %"] = (city.model / city.naive_no_change - 1) * 100
    city["model range"] = [f"{lo:,.0f} - {hi:,.0f}" for lo, hi in zip(city.model_lo, city.model_hi)]
    city["error %"] = (city.model / city.observed - 1) * 100
    city["province trend error %"] = (city.naive_province_trend / city.observed - 1) * 100
    ct = city[["entity", "naive_no_change", "observed", "model", "model range", "observed change %", "model change %",
               "error %", "province trend error %"]].rename(columns={"entity": "city", "naive_no_change": "2010 census",
                                                                     "observed": "2020 census", "model": "model 2020-11"})
    worst = city.assign(abs_err=city["error %"].abs()).sort_values("abs_err", ascending=False).head(5)
    grew = city[city.observed > city.naive_no_change]
    err = s.set_index(["kind", "forecast"])["MAPE of levels %"]
    diff = err["city", "model"] - err["city", "province trend"]
    versus = "level with" if abs(diff) < 0.5 else ("above" if diff > 0 else "below")
    gap = city["model change %"] - city["observed change %"]
    too_high = list(city.entity[gap > 5])
    too_low = list(city.entity[gap < -5])
    hl = df[(df.entity == "Heilongjiang") & (df.target == "population")].set_index("date")["observed"] / 1e6
    hlj19, hlj20 = hl.get("2019-12", np.nan), hl.get("2020-11", np.nan)
    if calibration:
        calibration_text = (f"Its behavioural parameters are the calibration's "
                            f"(`experiments/{calibration['name']}.yaml`, {calibration['runs']['total']} simulated "
                            f"decades, `configs/calibration/fit.json`; see docs/calibration.md): the tables below are "
                            f"the calibrated model's record, with the uncalibrated one beside it.")
    else:
        calibration_text = "No behavioural parameter has been fitted to these targets: this is the uncalibrated model."
    before_text = ""
    if before is not None:
        before_text = f"""
## Before and after calibration

{md_table(before_after(before, df))}

Uncalibrated: the assumptions and literature values the calibration replaced (same code, same
seeds and scale). The best naive forecast is the one with the lowest MAPE in the group (the
trend forecasts know the 2020 census). The uncalibrated paths are in
`img/backtest_uncalibrated.png`.
"""
    holdout_text = ""
    if holdouts is not None and len(holdouts):
        holdout_text = f"""
## Leave one province out

Each northeastern province in turn was left out of the fit (`migrants calibrate
experiments/calibrate_history.yaml --holdout P`: its cities' and its own targets dropped, its
amenity set to the mean of the other provinces'), and the backtest of that fit's estimate
(`migrants backtest --calibration DIR --holdout P`) reports the province's rows; beside them,
the same rows under the full fit. Run by `scripts/run_holdouts.py`; a holdout fit may run fewer
waves than the full fit's 8 (`--waves`, for time: the number is in the table), and so may be the worse
fit for it.

{md_table(holdouts)}
"""
    return f"""# Validation: the history from the 2010 census against the record

*Generated by `scripts/make_validation.py` from `migrants backtest` ({meta['seeds']} seeds, {meta['scale']} persons
per agent, code {meta['commit']}). Do not edit by hand: run the script again.*

The `history` scenario (`configs/scenarios/history.yaml`) starts from the 2010 census
(November 2010: every city at its census count, the provinces' 2010 age and education
structure) and runs 120 months to November 2020 with the inputs recorded for those years
(`configs/history/`: wages, house prices, minimum wages, the rest of China's wage and price,
rail openings, Beijing's 2017 population cap, national graduates, births and deaths by
province). {calibration_text}
{before_text}{holdout_text}
## Targets and where they come from

| kind | target | dates | rows | source | used for fitting |
|---|---|---|---|---|---|
| city | resident population | 2020-11 | {int((df.kind == 'city').sum())} | 7th national census, city counts (configs/cities.csv `pop2020`, S1) | yes |
| province | year-end resident population | 2010-12 to 2019-12 | {int(((df.kind == 'province') & (df.target == 'population') & (df.date != '2020-11')).sum())} | provinces' statistical communiqués / China Statistical Yearbook, as first published (configs/targets/PROVINCE_POPULATION.md) | yes |
| province | resident population | 2020-11 | {int(((df.kind == 'province') & (df.target == 'population') & (df.date == '2020-11')).sum())} | 7th census communiqué No. 3 | yes |
| province | births, deaths per 1,000 | 2011 to 2019 | {int(df.target.isin(['births_per_1000', 'deaths_per_1000']).sum())} | configs/history/vital_rates.csv (yearbook, communiqués) | no: they are inputs |
| region | surveyed unemployment rate | 2018-12, 2019-12, 2020-11 | {int((df.kind == 'region').sum())} | NBS: the national urban surveyed rate (configs/targets/region.csv); no city series is published for the decade | no: a check (the labour closure holds each city near its normal rate, an input) |

Every row of `configs/targets/*.csv` names its source. Figures dated 2021 or later are
refused as targets (`migrants backtest` exits with an error): they are held out for an
independent check of the calibrated model.

How the model's figure is read: a city's simulated residents in the month; a province's
simulated cities scaled by the province's 2010 census total over theirs (Liaoning, Beijing
and Tianjin are simulated whole; Zhejiang only through Yuhuan, 1%); births and deaths of a
whole calendar year per 1,000 mean residents; the region's unemployment rate, the 31 cities'
unemployed over their labour force together, against the national surveyed rate.

Naive forecasts, each from the 2010 census value at the fraction of the decade elapsed:
**no change**; **region trend** (the 31 cities' 2010-2020 census change); **province trend**
(the province's 2010-2020 census change; for a city, its province's simulated cities
together). The two trend forecasts know the 2020 census, which the model does not.

## Summary

{md_table(s[['kind', 'target', 'forecast', 'n', 'MAPE of levels %', 'error of change, pp', 'sign of change right']])}

MAPE: mean absolute percentage error of the level. Error of change: mean absolute
difference, in percentage points, between the simulated and the observed change since the
2010 value. Sign: share of rows whose change has the observed direction.

![observed and simulated paths](img/backtest.png)

## What it shows

- The 31 cities in 2020: the model's error ({s[(s.kind == 'city') & (s.forecast == 'model')]['MAPE of levels %'].iloc[0]:.1f}%) is
  below the no-change ({s[(s.kind == 'city') & (s.forecast == 'no change')]['MAPE of levels %'].iloc[0]:.1f}%) and region-trend
  ({s[(s.kind == 'city') & (s.forecast == 'region trend')]['MAPE of levels %'].iloc[0]:.1f}%) forecasts and {versus} the
  province trend ({s[(s.kind == 'city') & (s.forecast == 'province trend')]['MAPE of levels %'].iloc[0]:.1f}%), which knows the 2020
  province totals. Of the {len(grew)} cities that grew, the model has {int((grew.model > grew.naive_no_change).sum())} growing.
- Largest errors: {', '.join(f"{r.entity} ({r['error %']:+.1f}%)" for _, r in worst.iterrows())}.
  The model's change is more than 5 points too high in {', '.join(too_high) or 'no city'}, and more than 5 points
  too low in {', '.join(too_low) or 'no city'}.
- The provinces' year-end series were estimated between censuses and revised after the 2020 census (Heilongjiang's
  2019 figure was {hlj19:.1f} million as first published, against {hlj20:.1f} million counted in 2020): the bulletins' paths and the
  2020 census do not join, most visibly for Jilin, Heilongjiang, Inner Mongolia, Tianjin and Zhejiang. The backtest
  keeps the figures as published; the calibration declares their error growing with the years since 2010 (2% for
  2011 to 16% for 2019), so the censuses weigh most.
- Births and deaths follow the recorded rates, since the model reads them (`configs/history/vital_rates.csv`); the
  small residual error comes from the age structure and the month the rates change (January).
{unemployment_text(df)}
## The cities

{md_table(ct, {'2010 census': ',.0f', '2020 census': ',.0f', 'model 2020-11': ',.0f'})}
"""


def unemployment_text(df: pd.DataFrame) -> str:
    """The bullet on the region's unemployment against the national surveyed rate (empty if none)."""
    u = df[(df.kind == "region") & (df.target == "unemployment_rate")]
    if u.empty:
        return ""
    pairs = ", ".join(f"{r.date} {r.model:.1%} ({r.model_lo:.1%} - {r.model_hi:.1%}) against {r.observed:.1%}"
                      for r in u.itertuples())
    gap = float((u.model - u.observed).mean() * 100)
    return ("- Unemployment (a check, not fitted): the 31 cities' rate together was " + pairs + " surveyed "
            f"nationally, {abs(gap):.1f} points {'below' if gap < 0 else 'above'} on average. The labour closure "
            "returns each city towards its normal rate (an input); a shrinking city's employed, whose own wage beats "
            "a newcomer's expected income, stay, while its unemployed leave.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", type=Path, help="folder of a finished backtest")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scale", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--before", type=Path, default=ROOT / "results" / "validation_uncalibrated",
                    help="folder of a backtest of the uncalibrated model")
    ap.add_argument("--holdouts", type=Path, default=ROOT / "results" / "holdout",
                    help="folder of scripts/run_holdouts.py")
    a = ap.parse_args()
    out = a.src or ROOT / "results" / "validation"
    if a.src is None:
        run_backtest(out, seeds=a.seeds, scale=a.scale, jobs=a.jobs)
    df = pd.read_parquet(out / "backtest.parquet")
    import json

    meta = json.loads((out / "backtest.json").read_text()) if (out / "backtest.json").exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    seeds = meta.get("seeds", a.seeds)
    meta = {"seeds": len(seeds) if isinstance(seeds, list) else seeds, "scale": meta.get("scale", a.scale or 100),
            "commit": (meta.get("commit") or commit)[:7]}
    (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "backtest.png", ROOT / "docs" / "img" / "backtest.png")
    if not (a.before / "backtest.parquet").exists():  # the uncalibrated model: configs/calibration/uncalibrated.yaml
        import yaml

        values = yaml.safe_load((ROOT / "configs" / "calibration" / "uncalibrated.yaml").read_text())
        run_backtest(a.before, seeds=a.seeds, scale=a.scale, jobs=a.jobs, overrides=values)
    before = pd.read_parquet(a.before / "backtest.parquet")
    shutil.copyfile(a.before / "backtest.png", ROOT / "docs" / "img" / "backtest_uncalibrated.png")
    from migrants.cities import load_cities
    from migrants.config import CONFIG_DIR

    cities = load_cities(CONFIG_DIR / "cities.csv")
    holdouts = holdout_table(df, cities, a.holdouts) if a.holdouts.exists() else None
    fit_path = CONFIG_DIR / "calibration" / "fit.json"
    calibration = json.loads(fit_path.read_text()) if fit_path.exists() else None
    text = page(df, meta, before, holdouts, calibration)
    _atomic(ROOT / "docs" / "validation.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    print(f"wrote docs/validation.md and docs/img/backtest.png from {out}")


if __name__ == "__main__":
    main()
