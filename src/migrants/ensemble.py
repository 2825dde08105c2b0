"""Parameter ensembles: K parameter sets drawn from the calibration's posterior.

A projection or a policy effect from one parameter set hides how little the
record pins the behaviour down.  ``--ensemble K`` (``run``, ``compare``, and
``ensemble: K`` in a sweep spec) draws K rows of the shipped posterior
(``configs/calibration/posterior.parquet``, written by ``migrants calibrate``)
by their weights, and run ``k`` uses draw ``k`` and its own seed, so the spread
of the K results carries both the parameter uncertainty and the seed noise.

The draws depend only on the ensemble seed: :func:`draw_parameters` with the
same posterior, K and seed gives the same rows in the same order.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .config import CONFIG_DIR
from .errors import ConfigError
from .kernels import default_threads, set_threads

POSTERIOR = CONFIG_DIR / "calibration" / "posterior.parquet"
#: columns of a posterior file that are not parameters
NOT_PARAMETERS = ("weight", "distance")
#: columns of a draws frame that are not parameters
DRAW_COLUMNS = ("draw", "posterior_row", "seed")


def load_posterior(path: str | Path | None = None) -> pd.DataFrame:
    """The posterior draws (one row each): a column per parameter path, ``weight`` (sums to 1)."""
    p = Path(path) if path is not None else POSTERIOR
    if not p.exists():
        raise ConfigError(f"posterior {p}: no such file; expected a posterior.parquet from `migrants calibrate`")
    try:
        df = pd.read_parquet(p)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise ConfigError(f"posterior {p}: not a readable parquet file ({type(e).__name__})") from None
    params = parameter_columns(df)
    if "weight" not in df.columns or not params or df.empty:
        raise ConfigError(f"posterior {p}: expected a `weight` column, one column per parameter path and at "
                          f"least one row; found columns {list(df.columns)} and {len(df)} rows")
    vals = df[params + ["weight"]].to_numpy(float)
    if not np.isfinite(vals).all() or (df["weight"] < 0).any() or df["weight"].sum() <= 0:
        raise ConfigError(f"posterior {p}: parameter values and weights must be finite, weights >= 0, "
                          f"not all zero")
    return df


def parameter_columns(posterior: pd.DataFrame) -> list[str]:
    return [c for c in posterior.columns if c not in NOT_PARAMETERS]


def draw_parameters(k: int, seed: int, posterior: pd.DataFrame | None = None) -> pd.DataFrame:
    """K parameter sets (rows ``draw`` 0..K-1, a column per parameter path) drawn by weight.

    Systematic resampling: K evenly spaced points on the weights' cumulative sum with one
    random offset, so a row of weight w is taken floor(K w) or ceil(K w) times and the K draws
    spread over the posterior; their order is then shuffled.
    """
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"--ensemble {k!r}: expected a whole number of parameter draws >= 1")
    post = load_posterior() if posterior is None else posterior
    w = post["weight"].to_numpy(float)
    w = w / w.sum()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x656E73]))  # "ens"
    # systematic resampling: one uniform offset, K evenly spaced points on the weights' CDF
    u = (rng.random() + np.arange(k)) / k
    rows = np.minimum(np.searchsorted(np.cumsum(w), u, side="right"), len(w) - 1)
    rows = rng.permutation(rows)  # draw k is not tied to the CDF order
    out = post.iloc[rows][parameter_columns(post)].reset_index(drop=True)
    out.insert(0, "posterior_row", rows.astype(np.int64))
    out.insert(0, "draw", np.arange(k, dtype=np.int64))
    return out


def draw_overrides(draws: pd.DataFrame, k: int) -> dict:
    """The overrides (parameter path -> value) of draw ``k``."""
    row = draws.iloc[k]
    return {c: float(row[c]) for c in draws.columns if c not in DRAW_COLUMNS}


def spread(values: np.ndarray, level: float = 0.9) -> tuple[float, float, float]:
    """(mean, lower, upper): the mean over draws and the central ``level`` range of the draws."""
    v = np.asarray(values, float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


def sign_holds(differences: np.ndarray) -> float:
    """Share of draws whose difference has the sign of the mean difference (1: always)."""
    d = np.asarray(differences, float)
    if d.size == 0 or d.mean() == 0:
        return math.nan
    m = d.mean()
    return float(np.mean(np.sign(d) == np.sign(m)))


# ------------------------------------------------------------------ runs
def _ensemble_run(args):
    """One member: (draw, seed, city_month frame, flows frame)."""
    scenario, draw, seed, overrides, threads = args
    set_threads(threads)
    from .model import MigrationModel

    m = MigrationModel(scenario=scenario, rng=seed, overrides=overrides)
    m.run()
    return draw, seed, m.city_frame(), m.flows_frame()


def member_seeds(seed: int, k: int) -> list[int]:
    """Seed of member k: ``seed + k``, like the replicates of ``compare``."""
    return [int(seed) + i for i in range(k)]


def run_ensemble(scenario: str, k: int, overrides: dict | None = None, seed: int | None = None,
                 jobs: int = 1, posterior: pd.DataFrame | None = None, progress=None, threads: int | None = None):
    """Run K members of ``scenario``: member i with posterior draw i and seed ``seed + i``.

    ``overrides`` apply to every member, after the draw (so ``--set`` wins over the
    posterior).  The draws are taken with the ensemble seed (the scenario's seed by
    default).  ``threads``: numba threads per member (default: one each when ``jobs`` > 1).
    Returns (draws frame, {draw: city_month}, {draw: flows}), whatever ``jobs``.
    """
    from .config import load_scenario
    from .experiments.backends import open_backend

    ov = dict(overrides or {})
    cfg = load_scenario(scenario, ov)
    seed0 = cfg.seed if seed is None else int(seed)
    draws = draw_parameters(k, seed0, posterior)
    seeds = member_seeds(seed0, k)
    args = []
    for i in range(k):
        member_ov = {**draw_overrides(draws, i), **ov}
        load_scenario(scenario, member_ov)  # a draw outside the schema fails here, before any run
        args.append((scenario, i, seeds[i], member_ov, threads or default_threads(jobs)))
    draws.insert(1, "seed", np.array(seeds, np.int64))
    cms, fls = {}, {}
    with open_backend("loky", jobs) as imap:
        for draw, _, cm, fl in imap(_ensemble_run, args):
            cms[draw], fls[draw] = cm, fl
            if progress:
                progress(len(cms), k)
    return draws, cms, fls


def stack(frames: dict[int, pd.DataFrame], draws: pd.DataFrame) -> pd.DataFrame:
    """All members' rows with their ``draw`` and ``seed`` first, in draw order."""
    seeds = dict(zip(draws["draw"], draws["seed"]))
    return pd.concat([f.assign(draw=np.int64(d), seed=np.int64(seeds[d]))[["draw", "seed", *f.columns]]
                      for d, f in sorted(frames.items())], ignore_index=True)


def member_mean(frames: dict[int, pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """The mean over members of every numeric column, by ``keys`` (rows absent in a member count 0)."""
    allrows = stack(frames, pd.DataFrame({"draw": list(frames), "seed": 0}))
    num = [c for c in allrows.columns if c not in (*keys, "draw", "seed") and pd.api.types.is_numeric_dtype(allrows[c])]
    total = allrows.groupby(keys, sort=False)[num].sum() / len(frames)
    return total.reset_index()


def ensemble_table(frames: dict[int, pd.DataFrame], level: float = 0.9) -> pd.DataFrame:
    """End-of-run population and the run's net migration per city and province: mean and the
    central ``level`` range over members."""
    rows = []
    for d, f in sorted(frames.items()):
        last = f[f["month"] == f["month"].max()]
        g = f[f["month"] > f["month"].min()]
        for kind, by in (("city", "city"), ("province", "province")):
            pop = last.groupby(by, sort=False)["population"].sum()
            net = g.groupby(by, sort=False)["net_migration"].sum()
            for name in pop.index:
                rows.append((kind, name, d, float(pop[name]), float(net.get(name, 0.0))))
    df = pd.DataFrame(rows, columns=["region_type", "region", "draw", "population_end", "net_migration"])
    out = []
    for (kind, name), g in df.groupby(["region_type", "region"], sort=False):
        rec = {"region_type": kind, "region": name, "members": len(g)}
        for col in ("population_end", "net_migration"):
            rec[f"{col}_mean"], rec[f"{col}_low"], rec[f"{col}_high"] = spread(g[col].to_numpy(), level)
        out.append(rec)
    return pd.DataFrame(out)


def write_ensemble(out, cfg, k: int, draws: pd.DataFrame, cms: dict, fls: dict, wall_s: float | None = None):
    """Write an ensemble's folder as one unit: the members' mean as city_month/flows, every
    member's city_month, the draws, the summary with intervals, and run.json.
    Returns (mean city_month, ensemble summary)."""
    from .io import write_folder
    from .provenance import versions

    mean_cm = member_mean(cms, ["month", "date", "city", "province"])
    mean_fl = member_mean(fls, [c for c in next(iter(fls.values())).columns if c != "movers"])
    table = ensemble_table(cms)
    meta = {"scenario": cfg.name, "config": cfg.model_dump(mode="json"), "seed": int(draws["seed"].iloc[0]),
            "scale": cfg.scale, "months": cfg.months, "start": cfg.start, "versions": versions(),
            "timings": {"wall_s": wall_s},
            "ensemble": {"members": k, "posterior": str(POSTERIOR), "seeds": draws["seed"].tolist(),
                         "rule": "member k: posterior draw k (systematic resampling by weight, seeded by the "
                                 "ensemble seed) and seed + k; city_month/flows are the members' means; "
                                 "intervals are the central 90% of the members"}}
    write_folder(out, {"city_month.parquet": mean_cm, "flows.parquet": mean_fl,
                       "ensemble_city_month.parquet": stack(cms, draws), "ensemble_draws.parquet": draws,
                       "ensemble_summary.parquet": table, "run.json": meta})
    return mean_cm, table
