"""``migrants calibrate``: fit behavioural parameters to the 2010-2020 record.

Method: **history matching with Gaussian-process emulators** (Craig et al. 1997;
Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015, PLoS Comput Biol 11(1)),
then an approximate posterior from the last wave's emulators.

1. Wave 1 runs a Latin hypercube of ``points_per_wave`` parameter sets (``free``, within
   their bounds; ``log: true`` for a log-uniform prior), each with ``replicates`` seeds,
   on the history scenario, and reads the targets (``configs/targets``, as in
   ``migrants backtest``) from every run.
2. For every target t an emulator (``sklearn.gaussian_process.GaussianProcessRegressor``,
   RBF + white noise) is fitted to ``z_t = log(model_t / observed_t)`` over all runs so far.
3. Implausibility ``I_t(x) = |m_t(x)| / sqrt(s_t(x)^2 + e_t^2)``, with m, s the emulator's
   mean and sd and e_t = log(1 + sd_pct/100) the declared error (observation error plus
   model discrepancy, per target group).  A point is not implausible if the
   ``implausibility_rank``-th largest I_t is below ``cutoff`` (3, Pukelsheim's rule).
   The next wave's points are the first ``points_per_wave`` non-implausible points of a
   large Latin hypercube (the least implausible if too few pass).
4. After the last wave (and the checks below), ``posterior_draws`` draws from the posterior under the emulated
   Gaussian likelihood ``prod_t N(0 | m_t(x), s_t(x)^2 + e_t^2)`` and the uniform prior, by
   emcee's affine-invariant ensemble sampler (Foreman-Mackey et al. 2013), seeded:
   ``posterior.parquet``, one row per draw with its ``weight`` (equal) and ``distance``
   (root mean squared standardised error).

5. The estimate: the best simulated points (``leaders``) rerun with ``leader_seeds`` new
   seeds, the lowest mean distance wins; then, if ``polish_steps`` > 0, a bounded
   least-squares descent from it on the simulated standardised errors (common random
   numbers, finite-difference Jacobians, ``scipy.optimize.least_squares``), whose end point
   replaces the winner only if it is better on ``leader_seeds`` fresh seeds.  The
   emulators find the region the record allows; in many dimensions they do not find its
   best point, which the descent, working on the model itself, does.

Why this method: each simulated decade costs seconds, so an emulator spends few runs
where the record rules the model out, the waves are a fixed plan whose runs can be
stored one by one (resume after a crash redoes nothing) and executed on the sweep
runner's backends with results that do not depend on the backend or the number of
workers (every run's seed comes from the root seed and its place in the plan; emulators
are fitted on the runs sorted by id).

Output folder::

    OUT/spec.json                the spec, its hash, code version
    OUT/runs/<run_id>.parquet    one row per finished run: ids, parameters, seed, target values
    OUT/posterior.parquet        one row per posterior draw: parameters, weight, distance
    OUT/fit.json                 point estimate, intervals, distance, targets, method, run counts, seeds
    OUT/posterior.png, fit.png, waves.png   marginal posteriors, fit of every target, distance by wave
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config import CONFIG_DIR, format_validation_error, province_key, read_yaml
from .errors import ConfigError, DiskFull


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FreeParam(_Strict):
    path: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
    bounds: tuple[float, float]
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self):
        lo, hi = self.bounds
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ValueError(f"bounds {list(self.bounds)}: expected two finite numbers, lower < upper")
        if self.log and lo <= 0:
            raise ValueError(f"bounds {list(self.bounds)}: a log-uniform prior needs a lower bound > 0")
        return self


class TargetGroup(_Strict):
    kind: Literal["city", "province", "region"]
    target: Literal["population", "births_per_1000", "deaths_per_1000", "unemployment_rate"]
    sd_pct: float = Field(gt=0, le=100)  # declared error of the group, % of the level
    dates: list[str] | None = None  # default: every date of the group


class Method(_Strict):
    type: Literal["history_matching"] = "history_matching"
    waves: int = Field(2, ge=1, le=10)
    points_per_wave: int = Field(16, ge=4, le=10000)
    cutoff: float = Field(3.0, gt=0)
    implausibility_rank: int = Field(3, ge=1)
    candidates: int = Field(20000, ge=100, le=10_000_000)
    posterior_draws: int = Field(4000, ge=100, le=1_000_000)
    # the emulators learn from the latest points only (the current non-implausible region,
    # Vernon et al. 2010): a Gaussian process costs n^3, and the early waves' points lie
    # where the record has ruled the model out already
    emulator_points: int = Field(400, ge=10, le=100_000)
    # the estimate: the best simulated points rerun with more seeds, the lowest mean distance
    # wins (the single best run of hundreds is partly luck of its seed: the winner's curse)
    leaders: int = Field(8, ge=1, le=1000)
    leader_seeds: int = Field(3, ge=1, le=100)
    # the polish: from the winning leader, a bounded least-squares descent on the simulated
    # distance itself (scipy.optimize.least_squares, trust-region reflective), with common
    # random numbers (the same polish_seeds seeds at every point) and forward-difference
    # Jacobians of polish_step on the unit cube; polish_steps: the steps tried (scipy's max_nfev), 0: none
    polish_steps: int = Field(0, ge=0, le=100)
    polish_seeds: int = Field(2, ge=1, le=20)
    polish_step: float = Field(0.04, gt=0, le=0.5)


class CalibrationSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    scenario: str = "history"
    overrides: dict = {}
    replicates: int = Field(1, ge=1, le=100)
    seed: int = Field(ge=0)
    free: list[FreeParam] = Field(min_length=1)
    targets: list[TargetGroup] = Field(min_length=1)
    targets_dir: str | None = None  # default configs/targets
    method: Method = Method()

    @field_validator("name")
    @classmethod
    def _name(cls, v):  # names the result folder results/<name>: not `..`
        from .config import check_name

        return check_name(v)

    @field_validator("free")
    @classmethod
    def _unique(cls, v):
        paths = [f.path for f in v]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"parameters {dup} are listed twice")
        return v

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def load_spec(spec: str | Path | dict) -> CalibrationSpec:
    """Read and check a calibration spec; every problem is a ConfigError naming the field (also
    one no check foresaw: ``errors.loading``)."""
    from .errors import loading

    with loading(f"calibration spec {spec if not isinstance(spec, dict) else '(dict)'}"):
        return _load_spec(spec)


def _load_spec(spec: str | Path | dict) -> CalibrationSpec:
    origin = "calibration spec"
    if not isinstance(spec, dict):
        origin = f"calibration spec {spec}"
        spec = read_yaml(Path(spec), "calibration spec")
    try:
        s = CalibrationSpec.model_validate(spec)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, origin)) from None
    # every free parameter must be a parameter of the scenario (a dotted path ending at a Param)
    from .config import load_scenario

    for f in s.free:
        mid = math.sqrt(f.bounds[0] * f.bounds[1]) if f.log else sum(f.bounds) / 2
        try:
            load_scenario(s.scenario, {**s.overrides, f.path: mid})
        except ConfigError as e:
            raise ConfigError(f"{origin}: free parameter `{f.path}`: {e}") from None
    return s


# ------------------------------------------------------------------ targets
def fit_targets(spec: CalibrationSpec, holdout: str | None = None):
    """(targets frame of the fit, error e_t (n,), cities, province 2010 totals) for a spec."""
    from .backtest import scenario_targets
    from .config import load_scenario

    cfg = load_scenario(spec.scenario, dict(spec.overrides))
    folder = Path(spec.targets_dir) if spec.targets_dir else CONFIG_DIR / "targets"
    cities, targets, p2010 = scenario_targets(cfg, folder)
    keep = targets["in_fit"].copy()
    if holdout is not None:
        if holdout not in set(cities["province"]):
            raise ConfigError(f"--holdout {holdout!r}: expected a province of the scenario's cities "
                              f"{sorted(set(cities['province']))}")
        held = set(cities.loc[cities["province"] == holdout, "name_en"]) | {holdout}
        keep &= ~targets["entity"].isin(held)
    rows = []
    for g in spec.targets:
        m = keep & (targets["kind"] == g.kind) & (targets["target"] == g.target)
        if g.dates is not None:
            m &= targets["date"].isin(g.dates)
        if not m.any():
            raise ConfigError(f"calibration spec: target group {g.kind}/{g.target}"
                              f"{' ' + str(g.dates) if g.dates else ''}: no target row in {folder} to fit")
        rows.append(targets[m].assign(_err=math.log1p(g.sd_pct / 100)))
    # a row in two groups keeps the first group's error
    fit = pd.concat(rows).drop_duplicates(subset=["entity", "kind", "date", "target"]).reset_index(drop=True)
    e = fit.pop("_err").to_numpy(float)
    return fit, e, cities, p2010


def holdout_ties(spec: CalibrationSpec, holdout: str | None):
    """The spec without the held-out province's own parameters, and how to set them.

    A free parameter whose last path key is the province (``decisions.province_amenity.Jilin``)
    cannot be fitted without the province's targets; it is tied to the mean of its free
    siblings (the other provinces' amenities), so the held-out province is predicted as a
    province like the others.  Returns (spec, {tied path: [sibling paths]}).
    """
    if holdout is None:
        return spec, {}
    key = province_key(holdout)
    own = [f.path for f in spec.free if f.path.rsplit(".", 1)[-1] == key]
    ties = {}
    for path in own:
        parent = path.rsplit(".", 1)[0]
        sib = [f.path for f in spec.free if f.path.rsplit(".", 1)[0] == parent and f.path not in own]
        if not sib:
            raise ConfigError(f"--holdout {holdout!r}: free parameter `{path}` is the held-out province's own "
                              f"and has no free sibling under `{parent}` to take its value from")
        ties[path] = sib
    if len(own) == len(spec.free):
        raise ConfigError(f"--holdout {holdout!r}: no free parameter would be left to fit")
    return spec.model_copy(update={"free": [f for f in spec.free if f.path not in ties]}), ties


def tied_values(values: dict, ties: dict) -> dict:
    """``values`` (path -> number) with each tied path set to the mean of its siblings."""
    return {**values, **{t: float(np.mean([values[s] for s in sib])) for t, sib in ties.items()}}


def point_estimate(folder: str | Path) -> tuple[dict, dict]:
    """(overrides, fit.json) of a finished calibration: its estimate (``best_run``: the leader with
    the lowest mean distance over its seeds), with any tied parameter (``--holdout``) set by its rule."""
    f = Path(folder) / "fit.json"
    if not f.exists():
        raise ConfigError(f"--calibration {folder}: no fit.json; expected the folder of a finished "
                          f"`migrants calibrate`")
    fit = json.loads(f.read_text())
    names = [p["path"] for p in fit["free"]]
    values = {n: float(fit["best_run"][n]) for n in names}
    ties = {t: rule["of"] for t, rule in fit.get("tied", {}).items()}
    return tied_values(values, ties), fit


# ------------------------------------------------------------------ runs
@dataclass
class CalTask:
    run_id: str
    wave: int
    point: int
    replicate: int
    scenario: str
    overrides: dict
    seed: int
    targets: pd.DataFrame
    cities: pd.DataFrame
    province_2010: pd.Series
    threads: int | None = None


def run_cal_task(task: CalTask):
    """One simulated decade: the target values of the run, or the error text."""
    try:
        from .backtest import model_values, run_once

        t0 = time.perf_counter()
        _, frame = run_once((task.scenario, task.seed, None, dict(task.overrides), task.threads))
        vals = model_values(task.targets, frame, task.cities, task.province_2010)
        return task.run_id, vals, time.perf_counter() - t0, None
    except Exception as e:  # noqa: BLE001 - reported, the calibration stops with a message
        return task.run_id, None, 0.0, f"{type(e).__name__}: {e}"


def run_seed(root: int, wave: int, point: int, replicate: int) -> int:
    return int(np.random.SeedSequence([root, wave, point, replicate]).generate_state(1, np.uint64)[0] >> 1)


# ------------------------------------------------------------------ the design
def _box(spec: CalibrationSpec):
    """Lower and upper bounds on the sampling scale (log for log-uniform priors), and the log flags."""
    logs = np.array([f.log for f in spec.free])
    lo = np.array([math.log(f.bounds[0]) if f.log else f.bounds[0] for f in spec.free])
    hi = np.array([math.log(f.bounds[1]) if f.log else f.bounds[1] for f in spec.free])
    return lo, hi, logs


def to_unit(spec: CalibrationSpec, x: np.ndarray) -> np.ndarray:
    lo, hi, logs = _box(spec)
    return (np.where(logs, np.log(np.maximum(x, 1e-300)), x) - lo) / (hi - lo)


def from_unit(spec: CalibrationSpec, u: np.ndarray) -> np.ndarray:
    lo, hi, logs = _box(spec)
    v = lo + u * (hi - lo)
    return np.where(logs, np.exp(v), v)


def lhs(d: int, n: int, seed_key: list[int]) -> np.ndarray:
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=d, seed=np.random.default_rng(np.random.SeedSequence(seed_key))).random(n)


class Emulators:
    """A Gaussian process over the unit cube for every target at once, on z = log(model / observed).

    The targets share one correlation kernel (RBF with a length scale per parameter, plus
    white noise for the seed noise), fitted by maximising the sum of the targets' marginal
    likelihoods; each target keeps its own mean and variance (``normalize_y``).  This is the
    separable multi-output emulator of Conti & O'Hagan (2010, J. Stat. Plan. Inference 140(3)):
    one kernel inversion serves all targets, so fitting and prediction cost what one emulator
    costs, whatever the number of targets (78 for the history).
    """

    def __init__(self, u: np.ndarray, z: np.ndarray, seed: int):
        import warnings

        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        d = u.shape[1]
        kernel = ConstantKernel(1.0, (1e-4, 1e2)) * RBF(np.full(d, 0.3), (1e-2, 1e1)) \
            + WhiteKernel(1e-2, (1e-6, 1.0))
        self.gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bounds reached on flat directions: harmless
            self.gp.fit(u, z)
        self.n_targets = z.shape[1]

    def predict(self, u: np.ndarray, chunk: int = 20000):
        """Emulated mean and sd of every target, each (n, T)."""
        means, sds = [], []
        for k in range(0, len(u), chunk):
            m, s = self.gp.predict(u[k:k + chunk], return_std=True)
            means.append(m.reshape(len(m), -1))
            sds.append(s.reshape(len(s), -1))
        return np.vstack(means), np.vstack(sds)


def implausibility(mean, sd, err, rank: int) -> np.ndarray:
    """The ``rank``-th largest |m| / sqrt(s^2 + e^2) over targets, per point (n,)."""
    imp = np.abs(mean) / np.sqrt(sd ** 2 + err[None, :] ** 2)
    k = min(rank, imp.shape[1])
    return -np.sort(-imp, axis=1)[:, k - 1]


# ------------------------------------------------------------------ the calibration
def calibrate(spec_path, out: Path, **options) -> dict:
    """Run the calibration of ``spec_path`` into ``out``; returns fit.json's content.

    ``options``: ``jobs``, ``backend``, ``address``, ``resume``, ``holdout``, ``progress``,
    ``echo``, ``tls`` (the certificate files for a Dask scheduler at tls://, as for ``run_sweep``).
    One command per folder (``io.FolderLock``: a second calibration or ``--resume`` on it is
    refused), and the folder needs free space before any run starts.
    """
    from .io import MIN_FREE_BYTES, FolderLock, check_free_space

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; expected a folder")
    holdout_ties(load_spec(spec_path), options.get("holdout"))  # a bad spec is refused before anything is written
    with FolderLock(out):
        check_free_space(out, MIN_FREE_BYTES)
        try:
            return _calibrate(spec_path, out, **options)
        except DiskFull as e:  # every file is written atomically: the finished runs are whole, resumable
            done = len(list((out / "runs").glob("*.parquet"))) if (out / "runs").is_dir() else 0
            raise DiskFull(f"--out {out}: the disk is full (writing {getattr(e, 'path', Path('?')).name}); the "
                           f"{done} finished runs are kept, no file is partial: free some space, then rerun with "
                           "--resume") from None


def _calibrate(spec_path, out: Path, *, jobs: int = 1, backend: str = "loky", address: str | None = None,
               resume: bool = False, holdout: str | None = None, progress: bool = True, echo=print,
               tls: dict | None = None) -> dict:
    from tqdm import tqdm

    from .experiments.backends import check_backend, open_backend
    from .kernels import default_threads
    from .provenance import code_version
    from .io import write_json, write_parquet

    t_start = time.perf_counter()
    check_backend(backend, jobs, address, tls)
    spec, ties = holdout_ties(load_spec(spec_path), holdout)
    targets, err, cities, p2010 = fit_targets(spec, holdout)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; expected a folder")
    meta = {"spec": spec.model_dump(mode="json"), "spec_hash": spec.hash(), "holdout": holdout,
            "code": code_version()}
    runs_dir = out / "runs"
    if (out / "spec.json").exists():
        old = json.loads((out / "spec.json").read_text())
        if not resume:
            raise ConfigError(f"--out {out}: holds a calibration already; use --resume to finish it, "
                              f"or another folder")
        if old.get("spec_hash") != meta["spec_hash"] or old.get("holdout") != holdout:
            raise ConfigError(f"--resume {out}: the folder holds a calibration of another spec or holdout "
                              f"({old.get('spec', {}).get('name')}, holdout {old.get('holdout')})")
    elif out.exists() and any(out.iterdir()) and not resume:
        raise ConfigError(f"--out {out}: not empty and not a calibration folder")
    threads = default_threads(jobs, backend)
    names = [f.path for f in spec.free]
    tcols = [f"t{i}" for i in range(len(targets))]
    z_obs = np.log(targets["observed"].to_numpy(float))
    d, M = len(names), spec.method
    waves_info = []
    emu = None

    def run_distances(runs: pd.DataFrame) -> np.ndarray:
        """Distance of every stored run (n,): the RMS of its errors over their declared sd."""
        z = np.log(np.maximum(runs[tcols].to_numpy(float), 1e-9)) - z_obs[None, :]
        return np.sqrt(np.mean((z / err[None, :]) ** 2, axis=1))

    def run_points(imap, wave, x, label, replicates=None, first_point=0):
        """Run every point of ``x`` (parameter values) with its replicates; a stored run is kept.
        Points are numbered from ``first_point``; their seeds come from the number (or, in the
        polish, from the replicate alone: common random numbers)."""
        replicates = spec.replicates if replicates is None else replicates
        common = wave == M.waves + 3
        tasks = []
        for p in range(first_point, first_point + len(x)):
            for r in range(replicates):
                rid = f"w{wave:02d}_p{p:04d}_r{r:02d}"
                if (runs_dir / f"{rid}.parquet").exists():
                    try:
                        pd.read_parquet(runs_dir / f"{rid}.parquet")
                        continue
                    except Exception:  # noqa: BLE001 - a damaged file is run again
                        pass
                ov = {**spec.overrides, **tied_values({n: float(v) for n, v in zip(names, x[p - first_point])},
                                                      ties)}
                tasks.append(CalTask(rid, wave, p, r, spec.scenario, ov,
                                     run_seed(spec.seed, wave, 0 if common else p, r), targets, cities, p2010,
                                     threads))
        total = len(x) * replicates
        with tqdm(total=total, initial=total - len(tasks), unit="run", disable=not progress, desc=label) as bar:
            by_id = {t.run_id: t for t in tasks}
            for rid, vals, secs, error in imap(run_cal_task, tasks):
                if error is not None:
                    raise ConfigError(f"calibration run {rid} failed: {error}")
                t = by_id[rid]
                row = {"run_id": rid, "wave": t.wave, "point": t.point, "replicate": t.replicate,
                       "seed": t.seed, **{n: float(v) for n, v in zip(names, x[t.point - first_point])},
                       "model_s": secs, **dict(zip(tcols, vals))}
                write_parquet(pd.DataFrame([row]), runs_dir / f"{rid}.parquet")
                bar.update(1)
        return total

    with open_backend(backend, jobs, address, tls) as imap:  # a backend that cannot start writes nothing
        runs_dir.mkdir(parents=True, exist_ok=True)
        write_json(meta, out / "spec.json")
        for wave in range(1, M.waves + 1):
            # the wave's points: a Latin hypercube, filtered by the previous wave's emulators
            if wave == 1:
                unit = lhs(d, M.points_per_wave, [spec.seed, 1])
                passed = 1.0
            else:
                cand = lhs(d, M.candidates, [spec.seed, wave])
                mean, sd = emu.predict(cand)
                imp = implausibility(mean, sd, err, M.implausibility_rank)
                ok = np.flatnonzero(imp < M.cutoff)
                passed = len(ok) / len(cand)
                pick = ok[: M.points_per_wave] if len(ok) >= M.points_per_wave else np.argsort(imp, kind="stable")[
                    : M.points_per_wave]
                unit = cand[pick]
            x = from_unit(spec, unit)
            total = run_points(imap, wave, x, f"{spec.name} wave {wave}/{M.waves}")
            runs = read_runs(runs_dir, wave)
            u_all = to_unit(spec, runs[names].to_numpy(float))
            z_all = np.log(np.maximum(runs[tcols].to_numpy(float), 1e-9)) - z_obs[None, :]
            pts = runs.groupby(["wave", "point"], sort=True)
            u_pts = np.vstack([u_all[g.index][0] for _, g in pts])
            z_pts = np.vstack([z_all[g.index].mean(0) for _, g in pts])
            emu = Emulators(u_pts[-M.emulator_points:], z_pts[-M.emulator_points:], spec.seed)
            dist = np.sqrt(np.mean((z_pts / err[None, :]) ** 2, axis=1))
            waves_info.append({"wave": wave, "points": int(len(unit)), "runs": int(total),
                               "non_implausible_share_of_candidates": float(passed),
                               "distance_median": float(np.median(dist[-len(unit):])),
                               "distance_min": float(dist.min())})
            echo(f"wave {wave}: {len(unit)} points; share of candidates not implausible {passed:.1%}; "
                 f"distance of this wave's points median {np.median(dist[-len(unit):]):.2f}, best so far "
                 f"{dist.min():.2f}")
        # the posterior: MCMC (emcee's affine-invariant ensemble) on the last emulators' likelihood
        u_post, logp_post, acc = emulated_posterior(emu, err, d, M.posterior_draws, spec.seed)
        mean, sd = emu.predict(u_post)
        # a check: the posterior's most likely draw, simulated (it may beat every wave's points)
        u_mode = u_post[int(np.argmax(logp_post))][None, :]
        run_points(imap, M.waves + 1, from_unit(spec, u_mode), f"{spec.name} posterior mode")
        # the leaders: the best simulated points so far, each rerun with leader_seeds new seeds
        runs = read_runs(runs_dir, M.waves + 1)
        lead = runs.iloc[np.argsort(run_distances(runs), kind="stable")[: M.leaders]]
        run_points(imap, M.waves + 2, lead[names].to_numpy(float), f"{spec.name} leaders", M.leader_seeds)
        leaders = leader_distances(read_runs(runs_dir, M.waves + 2), run_distances, lead, M.waves + 2)
        win = int(np.argmin([r["distance_mean"] for r in leaders]))
        polish = None
        if M.polish_steps > 0:
            polished = 0  # points asked for so far: the descent's order numbers them

            def evaluate(xs, label):
                """Standardised errors (n, T) of the points xs, mean log(model/observed) over the
                polish seeds over the declared error; stored runs are read back, not rerun."""
                nonlocal polished
                run_points(imap, M.waves + 3, xs, label, M.polish_seeds, first_point=polished)
                out_ = np.empty((len(xs), len(tcols)))
                for i in range(len(xs)):
                    mine = pd.concat([pd.read_parquet(runs_dir / f"w{M.waves + 3:02d}_p{polished + i:04d}_r{r:02d}"
                                                      ".parquet") for r in range(M.polish_seeds)])
                    out_[i] = (np.log(np.maximum(mine[tcols].to_numpy(float), 1e-9)) - z_obs[None, :]).mean(0) / err
                polished += len(xs)
                return out_

            polish = polish_estimate(spec, lead[names].to_numpy(float)[win], evaluate)
            polish["evaluations"] = polished
            x1 = np.asarray(polish["x"], float)
            run_points(imap, M.waves + 4, x1[None, :], f"{spec.name} polish check", M.leader_seeds)
            check = read_runs(runs_dir, M.waves + 4)
            polish["distance_fresh_seeds"] = float(run_distances(check[check["wave"] == M.waves + 4]).mean())
            polish["distance_leader"] = leaders[win]["distance_mean"]
            polish["adopted"] = bool(polish["distance_fresh_seeds"] < leaders[win]["distance_mean"])
    w = np.full(len(u_post), 1.0 / len(u_post))  # equal weights: draws of a Markov chain
    ess = float(len(u_post) / max(acc["tau_max"], 1.0))
    post = pd.DataFrame(from_unit(spec, u_post), columns=names)
    post["weight"] = w
    post["distance"] = np.sqrt(np.mean(mean ** 2 / err[None, :] ** 2, axis=1))
    write_parquet(post, out / "posterior.parquet")
    est = {}
    for n in names:
        v = post[n].to_numpy()
        order = np.argsort(v)
        cw = np.cumsum(w[order])
        q = lambda p: float(v[order][np.searchsorted(cw, p)])  # noqa: E731
        est[n] = {"mean": float(np.sum(w * v)), "sd": float(np.sqrt(np.sum(w * (v - np.sum(w * v)) ** 2))),
                  "q05": q(0.05), "q50": q(0.5), "q95": q(0.95)}
    runs = read_runs(runs_dir, M.waves + 4)
    run_dist = run_distances(runs)
    best = lead.iloc[win]
    best_run = {"run_id": best["run_id"], "distance": leaders[win]["distance_mean"],
                "rule": "of the leaders, the lowest mean distance over its first run and leader_seeds reruns",
                **{n: float(best[n]) for n in names}}
    if polish is not None and polish["adopted"]:
        best_run = {"run_id": f"w{M.waves + 4:02d}_p0000", "distance": polish["distance_fresh_seeds"],
                    "rule": "the polish's end point (least squares from the best leader), better than the "
                            "leader on leader_seeds fresh seeds",
                    **{n: float(v) for n, v in zip(names, polish["x"])}}
    fit = {
        "name": spec.name, "method": {**M.model_dump(mode="json"),
                                      "description": "history matching with Gaussian-process emulators "
                                                     "(scikit-learn), then MCMC (emcee) on the emulated "
                                                     "likelihood"},
        "holdout": holdout, "free": [f.model_dump(mode="json") for f in spec.free], "estimate": est,
        "tied": {t: {"rule": "mean of", "of": sib} for t, sib in ties.items()},
        "posterior_ess": ess, "mcmc": acc,
        "best_run": best_run,
        "leaders": leaders,
        "polish": polish,
        "targets": {"n": int(len(targets)),
                    "groups": [g.model_dump(mode="json") for g in spec.targets],
                    "entities": sorted(set(targets["entity"]))},
        "runs": {"total": int(len(runs)), "per_wave": waves_info, "replicates": spec.replicates},
        "posterior_mode_check": {"wave": M.waves + 1,
                                 "distance": float(run_dist[(runs["wave"] == M.waves + 1).to_numpy()].mean()),
                                 "rule": "the posterior draw of highest emulated likelihood, simulated with the "
                                         "spec's replicates"},
        "seeds": {"root": spec.seed, "rule": "SeedSequence([root, wave, point, replicate])"},
        "scenario": spec.scenario, "overrides": spec.overrides, "code": code_version(),
        "wall_s_this_session": time.perf_counter() - t_start,
    }
    write_json(fit, out / "fit.json")
    plots(spec, post, runs, targets, tcols, err, waves_info, out)
    return fit


def leader_distances(runs: pd.DataFrame, run_distances, lead: pd.DataFrame, wave: int) -> list[dict]:
    """Each leader's distance over its first run and its reruns (wave ``wave``, point = leader)."""
    run_dist = run_distances(runs)
    reruns = (runs["wave"] == wave).to_numpy()
    out = []
    for k in range(len(lead)):
        mine = reruns & (runs["point"] == k).to_numpy()
        d_all = np.append(run_dist[mine], float(run_dist[(runs["run_id"] == lead["run_id"].iloc[k]).to_numpy()][0]))
        out.append({"run_id": str(lead["run_id"].iloc[k]), "distance_first": float(d_all[-1]),
                    "distance_mean": float(d_all.mean()), "distance_sd": float(d_all.std(ddof=1)),
                    "seeds": int(len(d_all))})
    return out


def polish_estimate(spec: CalibrationSpec, x0: np.ndarray, evaluate) -> dict:
    """Bounded least squares from ``x0`` on the simulated standardised errors.

    ``evaluate(xs, label)`` returns the standardised errors (n, T) of the points ``xs``
    (n, d), each the mean over the same ``polish_seeds`` seeds at every point
    (common random numbers: a small change of a parameter then changes the errors by its
    effect, not by new luck).  The Jacobian is by forward differences of ``polish_step`` on
    the unit cube (backward at the upper bound), its d points simulated at once.  The
    points are numbered in the order the descent asks for them, which depends only on the
    results, so a resumed polish asks for the same points and finds them stored.
    """
    from scipy.optimize import least_squares

    M = spec.method
    cache: dict[bytes, np.ndarray] = {}
    history: list[dict] = []

    def fun(u):
        key = np.round(u, 12).tobytes()
        if key not in cache:
            cache[key] = evaluate(from_unit(spec, u[None, :]), f"{spec.name} polish")[0]
            history.append({"distance": float(np.sqrt(np.mean(cache[key] ** 2)))})
        return cache[key]

    def jac(u):
        r0 = fun(u)
        h = np.where(u + M.polish_step <= 1.0, M.polish_step, -M.polish_step)
        us = np.clip(u[None, :] + np.diag(h), 0.0, 1.0)
        rs = evaluate(from_unit(spec, us), f"{spec.name} polish (Jacobian)")
        return ((rs - r0[None, :]) / h[:, None]).T

    u0 = np.clip(to_unit(spec, x0), 0.0, 1.0)
    res = least_squares(fun, u0, jac=jac, bounds=(0.0, 1.0), method="trf", max_nfev=M.polish_steps,
                        x_scale=1.0)
    r = fun(res.x)
    return {"x": [float(v) for v in from_unit(spec, res.x)], "start": [float(v) for v in x0],
            "distance_start": float(np.sqrt(np.mean(fun(u0) ** 2))),
            "distance_common_seeds": float(np.sqrt(np.mean(r ** 2))),
            "iterations": int(res.nfev), "jacobians": int(res.njev), "status": str(res.message),
            "seeds": int(M.polish_seeds),
            "step": M.polish_step, "history": history,
            "rule": "scipy.optimize.least_squares (trf, bounds of the prior) on the standardised errors, "
                    "common random numbers, forward-difference Jacobians"}


def emulated_posterior(emu: Emulators, err: np.ndarray, d: int, draws: int, seed: int):
    """Posterior draws on the unit cube (uniform prior) from the emulated Gaussian likelihood
    ``prod_t N(0 | m_t(x), s_t(x)^2 + e_t^2)``, by ``emcee.EnsembleSampler`` (seeded: the draws
    depend only on the emulators and the seed).  Returns (draws (n, d), log-likelihood (n,), info)."""
    import emcee

    def logp(u):
        u = np.atleast_2d(u)
        out = np.full(len(u), -np.inf)
        inside = np.all((u >= 0.0) & (u <= 1.0), axis=1)
        if inside.any():
            m, s = emu.predict(u[inside])
            v = s ** 2 + err[None, :] ** 2
            out[inside] = -0.5 * np.sum(m ** 2 / v + np.log(v), axis=1)
        return out

    walkers = max(32, 4 * d + (4 * d) % 2)
    steps = 2 * int(math.ceil(draws / walkers))  # the first half is burn-in
    start = lhs(d, 50 * walkers, [seed, 1000])
    lp = logp(start)
    p0 = start[np.argsort(-lp, kind="stable")[:walkers]]  # the most likely points of a hypercube
    sampler = emcee.EnsembleSampler(walkers, d, logp, vectorize=True)
    sampler.random_state = np.random.RandomState(seed % 2**32).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=steps // 2, flat=True)
    lps = sampler.get_log_prob(discard=steps // 2, flat=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a walker that never moved has no autocorrelation: tau is nan
        tau = sampler.get_autocorr_time(discard=steps // 2, quiet=True, tol=0)
    info = {"sampler": f"emcee {emcee.__version__} EnsembleSampler", "walkers": walkers, "steps": steps,
            "burn_in": steps // 2, "acceptance": float(np.mean(sampler.acceptance_fraction)),
            "tau_max": float(np.nanmax(tau)) if np.isfinite(tau).any() else float(steps)}
    return chain[:draws], lps[:draws], info


def read_runs(runs_dir: Path, up_to_wave: int) -> pd.DataFrame:
    files = sorted(runs_dir.glob("w*_p*_r*.parquet"))
    frames = [pd.read_parquet(f) for f in files if int(f.name[1:3]) <= up_to_wave]
    return pd.concat(frames, ignore_index=True).sort_values("run_id").reset_index(drop=True)


def plots(spec, post, runs, targets, tcols, err, waves_info, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    from .io import _atomic

    names = [f.path for f in spec.free]
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.6 * nrow), squeeze=False)
    for ax, n, f in zip(axes.flat, names, spec.free):
        lo, hi = f.bounds
        bins = np.geomspace(lo, hi, 31) if f.log else np.linspace(lo, hi, 31)
        ax.hist(post[n], bins=bins, weights=post["weight"], color="tab:blue", alpha=0.8)
        ax.set_xlim(lo, hi)
        if f.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(n.split(".")[-1], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("marginal posteriors (MCMC draws on the emulators; x-range = the prior's bounds)", fontsize=9)
    fig.tight_layout()
    _atomic(out / "posterior.png", lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)

    z = np.log(np.maximum(runs[tcols].to_numpy(float), 1e-9)) - np.log(targets["observed"].to_numpy(float))
    dist = np.sqrt(np.mean((z / err[None, :]) ** 2, axis=1))
    best = z[int(np.argmin(dist))]
    fig, ax = plt.subplots(figsize=(max(6, 0.12 * len(tcols)), 3.2))
    ax.plot(np.arange(len(tcols)), 100 * np.expm1(z).T, color="grey", lw=0.3, alpha=0.4)
    ax.plot(np.arange(len(tcols)), 100 * np.expm1(best), "o-", color="tab:blue", ms=3, lw=1, label="best run")
    ax.fill_between(np.arange(len(tcols)), -100 * np.expm1(err), 100 * np.expm1(err), color="tab:green",
                    alpha=0.2, label="declared error")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("model / observed - 1, %")
    ax.set_xticks(np.arange(len(tcols)))
    ax.set_xticklabels([f"{e} {d}" for e, d in zip(targets["entity"], targets["date"])], rotation=90, fontsize=5)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _atomic(out / "fit.png", lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 3))
    for wv in sorted(runs["wave"].unique()):
        ax.plot(np.full((runs["wave"] == wv).sum(), wv), dist[runs["wave"].to_numpy() == wv], "o", ms=3,
                color="tab:blue", alpha=0.6)
    ax.set_xlabel("wave")
    ax.set_ylabel("distance (RMS standardised error)")
    ax.set_xticks(sorted(runs["wave"].unique()))
    fig.tight_layout()
    _atomic(out / "waves.png", lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
