"""``migrants backtest``: the history (2010-11 to 2020-11) set against the record.

Targets live in ``configs/targets/`` (one CSV per kind: ``city.csv``,
``province.csv``), one row per (entity, date, target) with its source and
``in_fit`` (whether calibration may use it).  Figures dated 2021 or later are
refused: they are kept for an out-of-sample check of the calibrated model.

What the model's number is, per target:

* city ``population`` at a date: the simulated residents that month;
* province ``population``: the simulated cities of the province, scaled by the
  province's 2010 census total over theirs (for most provinces only some
  cities are simulated; Liaoning, Beijing and Tianjin are whole);
* province ``births_per_1000`` / ``deaths_per_1000`` of year Y: the
  province's simulated births (deaths) in Y per 1,000 mean residents.

Three naive forecasts stand beside it, each from the 2010 census value
``x0`` of the entity at the fraction ``t`` of the decade elapsed (geometric):
``naive_no_change`` = x0; ``naive_region_trend`` = x0 times the 31 cities'
2010-2020 census change; ``naive_province_trend`` = x0 times the province's
2010-2020 census change (it already knows the province totals; for a city, the
change of its province's simulated cities together, as in the issue's 7.9%).  For the
rates, x0 is the province's first recorded year, the region trend is the
provinces' mean rate relative to theirs, and the province trend is the
province's own straight line between its first and last recorded years.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import CONFIG_DIR, MONTH, month_index, read_table
from .errors import ConfigError
from .kernels import default_threads, set_threads

TARGET_KINDS = ("city", "province", "region")
TARGETS = ("population", "births_per_1000", "deaths_per_1000", "unemployment_rate")
#: the entity of ``region`` targets: all the simulated cities together
REGION = "simulated cities"
#: kinds whose file may be absent from a targets folder
OPTIONAL_KINDS = ("region",)
HELD_OUT_FROM = "2021-01"
COLUMNS = ["entity", "kind", "date", "target", "observed", "model", "model_lo", "model_hi", "naive_no_change",
           "naive_region_trend", "naive_province_trend", "in_fit", "source"]
NAIVE = {"naive_no_change": "no change", "naive_region_trend": "region trend",
         "naive_province_trend": "province trend"}


# ------------------------------------------------------------------ targets
def load_targets(folder: Path, cities: pd.DataFrame) -> pd.DataFrame:
    """All targets of ``folder`` (configs/targets), checked: one frame with a ``kind`` column."""
    frames = []
    known = {"city": set(cities["name_en"]), "province": set(cities["province"]), "region": {REGION}}
    for kind in TARGET_KINDS:
        path = Path(folder) / f"{kind}.csv"
        if kind in OPTIONAL_KINDS and not path.exists():
            continue
        df = read_table(path, f"{kind} targets")
        need = ["entity", "date", "target", "observed", "in_fit", "source"]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise ConfigError(f"{kind} targets file {path}: column(s) {missing} missing; expected {need}")
        for i, row in df.iterrows():
            where = f"{kind} targets file {path}: line {i + 2}"
            date = str(row["date"])
            if not MONTH.fullmatch(date):
                raise ConfigError(f"{where}, column `date`: {row['date']!r}; expected a month as YYYY-MM")
            if date >= HELD_OUT_FROM:
                raise ConfigError(f"{where}, column `date`: {date!r}; figures dated 2021 or later are held out "
                                  f"for the out-of-sample check and may not be targets (expected a date before "
                                  f"{HELD_OUT_FROM})")
            if row["entity"] not in known[kind]:
                raise ConfigError(f"{where}, column `entity`: {row['entity']!r}; expected one of "
                                  f"{sorted(known[kind])}")
            if row["target"] not in TARGETS:
                raise ConfigError(f"{where}, column `target`: {row['target']!r}; expected one of {list(TARGETS)}")
            v = pd.to_numeric(pd.Series([row["observed"]]), errors="coerce").iloc[0]
            if not np.isfinite(v) or v < 0:
                raise ConfigError(f"{where}, column `observed`: {row['observed']!r}; expected a number >= 0")
            if str(row["in_fit"]).lower() not in ("true", "false"):
                raise ConfigError(f"{where}, column `in_fit`: {row['in_fit']!r}; expected true or false")
            if not isinstance(row["source"], str) or len(row["source"].strip()) < 3:
                raise ConfigError(f"{where}, column `source`: {row['source']!r}; expected where the figure comes from")
        df = df.assign(kind=kind, observed=pd.to_numeric(df["observed"]),
                       in_fit=df["in_fit"].astype(str).str.lower() == "true")
        frames.append(df[["entity", "kind", "date", "target", "observed", "in_fit", "source"]])
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ runs
def run_once(args) -> tuple[int, pd.DataFrame]:
    """One run of ``(scenario, seed, scale, overrides, threads)``: its seed and the city_month
    columns the targets are read from."""
    scenario, seed, scale, overrides, threads = args
    set_threads(threads)  # one each when the seeds run side by side
    from .model import MigrationModel

    m = MigrationModel(scenario=scenario, rng=seed, scale=scale, overrides=overrides)
    m.run()
    return seed, m.city_frame()[["month", "date", "city", "province", "population", "births", "deaths", "employed",
                                 "unemployed"]]


def simulate(scenario: str, seeds: list[int], scale: int | None, jobs: int = 1, overrides=None, progress=None):
    """One city_month frame per seed (in seed order, whatever ``jobs``), on the sweep runner's
    loky backend (``experiments.backends``)."""
    from .experiments.backends import open_backend

    threads = default_threads(jobs)
    args = [(scenario, s, scale, dict(overrides or {}), threads) for s in seeds]
    frames = {}
    with open_backend("loky", jobs) as imap:
        for seed, frame in imap(run_once, args):  # in completion order
            frames[seed] = frame
            if progress:
                progress(len(frames), len(args))
    return [frames[s] for s in seeds]


# ------------------------------------------------------------------ model values
def model_values(targets: pd.DataFrame, frame: pd.DataFrame, cities: pd.DataFrame,
                 province_2010: pd.Series) -> np.ndarray:
    """The model's figure (n_targets,) for each target row from one run's city_month frame."""
    sim_share = cities.groupby("province")["pop2010"].sum() / province_2010  # share of the province simulated
    city_pop = frame.pivot(index="date", columns="city", values="population")
    prov = {t: frame.groupby(["date", "province"])[t].sum().unstack() for t in ("population", "births", "deaths")}
    year = pd.Index(prov["population"].index.str[:4].astype(int), name="year")
    region = frame.groupby("date")[["employed", "unemployed"]].sum() if "unemployed" in frame else None
    out = np.full(len(targets), np.nan)
    for i, row in enumerate(targets.itertuples()):
        if row.kind == "region":  # unemployment_rate: the simulated cities' unemployed over their labour force
            if region is not None and row.date in region.index:
                u, e = region.at[row.date, "unemployed"], region.at[row.date, "employed"]
                out[i] = u / (u + e) if u + e > 0 else np.nan
        elif row.kind == "city":
            if row.date in city_pop.index:
                out[i] = city_pop.at[row.date, row.entity]
        elif row.target == "population":
            if row.date in prov["population"].index:
                out[i] = prov["population"].at[row.date, row.entity] / sim_share[row.entity]
        else:
            y = int(row.date[:4])
            sel = (year == y)
            if sel.sum() == 12:  # whole years only
                what = "births" if row.target == "births_per_1000" else "deaths"
                events = prov[what][row.entity].to_numpy()[sel].sum()
                mean_pop = prov["population"][row.entity].to_numpy()[sel].mean()
                out[i] = 1000.0 * events / mean_pop
    return out


# ------------------------------------------------------------------ naive forecasts
def naive_forecasts(targets: pd.DataFrame, cities: pd.DataFrame, province_2010: pd.Series,
                    start: str = "2010-11", end: str = "2020-11") -> pd.DataFrame:
    """The three naive forecasts for every target row (columns of ``NAIVE``)."""
    c = cities.set_index("name_en")
    region = c["pop2020"].sum() / c["pop2010"].sum()
    census20 = targets[(targets.kind == "province") & (targets.target == "population") & (targets.date == end)]
    prov_change = census20.set_index("entity")["observed"] / province_2010  # whole provinces
    sums = c.groupby("province")[["pop2010", "pop2020"]].sum()
    sim_change = sums["pop2020"] / sums["pop2010"]  # the province's simulated cities together
    span = month_index(end) - month_index(start)
    out = pd.DataFrame(np.nan, index=targets.index, columns=list(NAIVE))
    rates = targets[targets.target != "population"]
    for i, row in targets.iterrows():
        if row.target == "population":
            t = (month_index(row.date) - month_index(start)) / span
            if row.kind == "city":
                x0, change = c.at[row.entity, "pop2010"], sim_change[c.at[row.entity, "province"]]
            else:
                x0, change = province_2010[row.entity], prov_change.get(row.entity, np.nan)
            out.loc[i] = [x0, x0 * region ** t, x0 * change ** t]
            continue
        own = rates[(rates.entity == row.entity) & (rates.target == row.target)].sort_values("date")
        first, last = own.iloc[0], own.iloc[-1]
        x0, y0, y1, y = first.observed, int(first.date[:4]), int(last.date[:4]), int(row.date[:4])
        same = rates[rates.target == row.target]
        base = same.sort_values("date").groupby("entity").first()
        now = same[same.date.str[:4].astype(int) == y].set_index("entity")["observed"]
        both = now.index.intersection(base.index)
        region_ratio = (now[both] / base.loc[both, "observed"]).mean() if len(both) else np.nan
        trend = x0 + (last.observed - x0) * (y - y0) / (y1 - y0) if y1 > y0 else x0
        if row.kind == "region":  # the region is its own trend: only "no change" is a forecast of it
            region_ratio, trend = np.nan, np.nan
        out.loc[i] = [x0, x0 * region_ratio, trend]
    return out


# ------------------------------------------------------------------ the table
def backtest_table(targets, frames, cities, province_2010) -> pd.DataFrame:
    """``backtest.parquet``: one row per target with the model's mean and range and the naive forecasts."""
    runs = np.column_stack([model_values(targets, f, cities, province_2010) for f in frames])
    df = targets.copy()
    df["model"] = runs.mean(1)
    df["model_lo"] = runs.min(1)
    df["model_hi"] = runs.max(1)
    df = pd.concat([df, naive_forecasts(targets, cities, province_2010)], axis=1)
    return df[COLUMNS].reset_index(drop=True)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Errors by group (kind, target): MAPE of levels, mean absolute error of the change since the
    base (percentage points) and the share of rows whose change has the observed sign;
    for the model and each naive forecast."""
    rows = []
    df = df.assign(target=np.where((df.kind == "province") & (df.target == "population"),
                                   np.where(df.date == "2020-11", "population (census 2020)",
                                            "population (year-end)"), df.target))
    for (kind, target), g in df.groupby(["kind", "target"], sort=False):
        g = g[np.isfinite(g["model"])]
        if g.empty:
            continue
        base = g["naive_no_change"]
        obs_change = (g["observed"] / base - 1) * 100
        for col, label in [("model", "model"), *NAIVE.items()]:
            v = g[col]
            ok = np.isfinite(v)
            if not ok.any():
                continue
            change = (v[ok] / base[ok] - 1) * 100
            rows.append({
                "kind": kind, "target": target, "forecast": label, "n": int(ok.sum()),
                "mape_pct": float((np.abs(v[ok] / g["observed"][ok] - 1)).mean() * 100),
                "change_error_pp": float(np.abs(change - obs_change[ok]).mean()),
                "sign_agreement": (float((np.sign(change.round(6)) == np.sign(obs_change[ok].round(6))).mean())
                                   if col != "naive_no_change" else np.nan),
            })
    return pd.DataFrame(rows)


def format_summary(s: pd.DataFrame) -> str:
    lines = [f"{'kind':<9}{'target':<26}{'forecast':<16}{'n':>4}{'MAPE %':>9}{'change err pp':>15}{'sign agree':>12}"]
    for r in s.itertuples():
        sign = "-" if not np.isfinite(r.sign_agreement) else f"{r.sign_agreement:.0%}"
        lines.append(f"{r.kind:<9}{r.target:<26}{r.forecast:<16}{r.n:>4}{r.mape_pct:>9.1f}{r.change_error_pp:>15.1f}"
                     f"{sign:>12}")
    return "\n".join(lines)


# ------------------------------------------------------------------ the plot
def plot(df: pd.DataFrame, frames, cities, province_2010, path: Path) -> None:
    """Observed vs simulated province paths, and the cities' 2020 levels (``backtest.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    provinces = list(dict.fromkeys(cities["province"]))
    sim_share = cities.groupby("province")["pop2010"].sum() / province_2010
    n = len(provinces) + 1
    ncol = 3
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    for ax, p in zip(axes.flat, provinces):
        paths = np.column_stack([f[f.province == p].groupby("month")["population"].sum().to_numpy()
                                 for f in frames]) / sim_share[p] / 1e6
        dates = frames[0][frames[0].province == p].groupby("month")["date"].first().to_numpy()
        x = pd.to_datetime(dates)
        ax.fill_between(x, paths.min(1), paths.max(1), color="tab:blue", alpha=0.25, lw=0)
        ax.plot(x, paths.mean(1), color="tab:blue", lw=1.5, label="model (range over seeds)")
        obs = df[(df.kind == "province") & (df.target == "population") & (df.entity == p)]
        yearly = obs[obs.date != "2020-11"]
        ax.plot(pd.to_datetime(yearly.date), yearly.observed / 1e6, "o", ms=3.5, color="k",
                label="year-end (bulletins)")
        cen = obs[obs.date == "2020-11"]
        ax.plot(pd.to_datetime(cen.date), cen.observed / 1e6, "s", ms=6, color="tab:red", label="2020 census")
        ax.plot([x[0]], [province_2010[p] / 1e6], "s", ms=6, color="tab:red")
        ax.set_title(f"{p}" + ("" if sim_share[p] > 0.999 else f" ({sim_share[p]:.0%} simulated, scaled)"),
                     fontsize=10)
        ax.set_ylabel("residents, million", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="best")
    ax = axes.flat[len(provinces)]
    c = df[(df.kind == "city") & (df.target == "population")]
    ax.errorbar(c.observed / 1e6, c.model / 1e6, yerr=[(c.model - c.model_lo) / 1e6, (c.model_hi - c.model) / 1e6],
                fmt="o", ms=3.5, color="tab:blue", lw=0.8, label="model")
    ax.plot(c.observed / 1e6, c.naive_no_change / 1e6, "x", ms=4, color="grey", label="no change (2010)")
    lim = [0.3, max(c.observed.max(), c.model.max()) / 1e6 * 1.3]
    ax.plot(lim, lim, "k--", lw=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("2020 census, million", fontsize=8)
    ax.set_ylabel("simulated 2020-11, million", fontsize=8)
    ax.set_title("31 cities, 2020 level", fontsize=10)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    for extra in list(axes.flat)[n:]:
        extra.set_visible(False)
    fig.tight_layout()
    from .io import _atomic

    _atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def scenario_targets(cfg, targets_dir: Path | None = None):
    """(cities, targets, province 2010 totals) of a scenario: the target rows about its cities and
    their provinces (the files are checked against every city of the cities file first)."""
    from .cities import load_cities, scenario_cities

    all_cities = load_cities(cfg.resolve(cfg.data.cities))
    cities = scenario_cities(cfg, all_cities)
    targets = load_targets(targets_dir or CONFIG_DIR / "targets", all_cities)
    targets = targets[targets["entity"].isin(set(cities["name_en"]) | set(cities["province"]) | {REGION})
                      ].reset_index(drop=True)
    prov2010 = read_table(cfg.resolve(cfg.data.provinces_2010), "census provinces").set_index("province")["population"]
    return cities, targets, prov2010.astype(float)


def held_out_rows(df: pd.DataFrame, cities: pd.DataFrame, province: str) -> pd.DataFrame:
    """The rows about ``province`` and its cities."""
    held = set(cities.loc[cities["province"] == province, "name_en"]) | {province}
    return df[df["entity"].isin(held)]


def run_backtest(out: Path, seeds: int = 3, scale: int | None = None, jobs: int = 1, scenario: str = "history",
                 overrides=None, progress=None, targets_dir: Path | None = None,
                 holdout: str | None = None, calibration: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``scenario`` for ``seeds`` seeds and write ``out``/backtest.parquet, summary.parquet, backtest.png.

    ``holdout``: also ``summary_holdout.parquet``, the errors of that province's rows only (the
    calibration whose estimate is in ``overrides`` left them out).  ``calibration``: what to record
    in backtest.json about the estimate used."""
    from .config import load_scenario
    from .io import write_parquet

    cfg = load_scenario(scenario, dict(overrides or {}))
    cities, targets, prov2010 = scenario_targets(cfg, targets_dir)
    seed_list = [cfg.seed + k for k in range(seeds)]
    frames = simulate(scenario, seed_list, scale, jobs, overrides, progress)
    df = backtest_table(targets, frames, cities, prov2010)
    s = summary(df)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(df, out / "backtest.parquet")
    write_parquet(s, out / "summary.parquet")
    if holdout is not None:
        write_parquet(summary(held_out_rows(df, cities, holdout)), out / "summary_holdout.parquet")
    plot(df, frames, cities, prov2010, out / "backtest.png")
    from .provenance import versions
    from .io import write_json

    v = versions()
    write_json({"scenario": cfg.name, "start": cfg.start, "months": cfg.months, "seeds": seed_list,
                "scale": int(scale or cfg.scale), "targets": int(len(df)), "versions": v,
                "holdout": holdout, "calibration": calibration,
                "commit": v.get("git_commit")}, out / "backtest.json")
    return df, s
