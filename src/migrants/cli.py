"""Command line: ``migrants run | validate | sweep | report | viz``.

Bad input (scenario, option, data file) ends with a one-paragraph message and
exit code 2, without a traceback, and leaves nothing half-written.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from .errors import ConfigError, loading

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Agent-based simulation of labour migration in Northeast China.")


def _version(value: bool) -> None:
    if value:
        from . import __version__

        v = versions()
        typer.echo(f"migrants {__version__} (git {(v['git_commit'] or 'unknown')[:10]}; python {v['python']}, "
                   f"mesa {v['mesa']}, numba {v['numba']})")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version, metavar="",
                                       help="Show the version and exit.")) -> None:
    """Agent-based simulation of labour migration in Northeast China."""


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def versions() -> dict:
    import mesa
    import numba
    import numpy
    import pandas

    from . import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"migrants": __version__, "git_commit": commit, "python": platform.python_version(),
            "numpy": numpy.__version__, "pandas": pandas.__version__, "mesa": mesa.__version__,
            "numba": numba.__version__}


def parse_sets(sets: list[str] | None) -> dict:
    from .config import parse_override

    return dict(parse_override(s) for s in (sets or []))


@app.command()
def run(
    scenario: str = typer.Argument("baseline", help="Scenario name in configs/scenarios, or a YAML path."),
    months: Optional[int] = typer.Option(None, "--months", help="Months to simulate (default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    scale: Optional[int] = typer.Option(None, "--scale", help="Persons per agent (default: the scenario's)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field: --set decisions.beta_income=1.2"),
    policy: Optional[List[str]] = typer.Option(None, "--policy", help="Add a policy card (YAML path or name)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for city_month.parquet, flows.parquet, run.json "
                                       "(default: results/<run name>, or results/<run name>-2, ... if that holds a run)."),
    force: bool = typer.Option(False, "--force", metavar="", help="Replace an earlier run in --out."),
    threads: Optional[int] = typer.Option(None, "--threads", help="numba threads (default: all cores; with "
                                          "--ensemble --jobs N, one per member)."),
    ensemble: Optional[int] = typer.Option(None, "--ensemble", help="Run K members, each with a parameter set "
                                           "drawn from the calibration's posterior and its own seed."),
    jobs: int = typer.Option(1, "--jobs", help="Ensemble members run in parallel (processes)."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bar or summary."),
):
    """Run one scenario and write its tables."""
    from tqdm import tqdm

    from .io import write_folder
    from .model import MigrationModel
    from .summary import format_summary

    try:
        ov = parse_sets(set_)
        if months is not None:
            if months < 0:
                fail(f"--months {months}: expected a whole number of months >= 0")
            ov["months"] = months
        if scale is not None and scale < 1:
            fail(f"--scale {scale}: expected a whole number of persons per agent >= 1")
        if seed is not None and seed < 0:
            fail(f"--seed {seed}: expected a non-negative integer")
        if policy:
            from .config import load_scenario

            base = load_scenario(scenario, {k: v for k, v in ov.items() if not k.startswith("policies")})
            ov["policies"] = list(base.policies) + list(policy)
        if scale is not None:
            ov["scale"] = scale
        if jobs < 1:
            fail(f"--jobs {jobs}: expected a whole number >= 1")
        if threads is not None and threads < 1:
            fail(f"--threads {threads}: expected a whole number >= 1")
        from .config import load_scenario

        with loading(f"scenario {scenario}"):  # an input no check foresaw: one line, exit 2
            name = load_scenario(scenario, ov).name + "".join(f"+{p}" for p in policy or [])
        out = run_folder(out, name, force)
        from .io import FolderLock, check_free_space

        check_free_space(out)  # before the simulation, not after it

        _held.append(FolderLock(out).__enter__())  # released when this process ends, however it ends
        if ensemble is not None:
            _run_ensemble(scenario, ensemble, ov, seed, jobs, out, quiet, threads)
            return
        from .kernels import compiled_before, set_threads

        set_threads(threads)
        if not quiet and not compiled_before():
            typer.echo("migrants: compiling the model's numerical kernels (numba; once after set-up, about 30 s; "
                       "cached for later runs)", err=True)
        t0 = time.perf_counter()
        with loading(f"scenario {scenario}"):
            model = MigrationModel(scenario=scenario, rng=seed, overrides=ov)
    except ConfigError as e:
        fail(str(e))
    cfg = model.config
    n = cfg.months
    for w in model.policy.warnings:
        typer.echo(f"warning: {w}", err=True)
    if not quiet:
        typer.echo(f"migrants: {name}, {model.C} cities, scale {model.scale} persons/agent, "
                   f"{model.people.n:,} agents, {n} months from {cfg.start}, seed {cfg.seed} -> {out}", err=True)
    with tqdm(total=n, unit="month", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(i, total):
            bar.set_postfix_str(model.date)
            bar.update(1)

        model.run(n, progress=progress)
    wall = time.perf_counter() - t0
    cm, fl = model.city_frame(), model.flows_frame()
    meta = {
        "run": name, "command": ["migrants", *sys.argv[1:]], "overrides": ov,
        "scenario": cfg.name, "config": cfg.model_dump(mode="json"), "seed": cfg.seed, "scale": model.scale,
        "months": n, "start": cfg.start, "end": model.date, "versions": versions(),
        "timings": {"wall_s": wall, **model.timings}, "agents_end": int(model.people.n),
        "policy_totals": getattr(model, "policy_totals", lambda: {})(), "warnings": list(model.policy.warnings),
    }
    write_folder(out, {"city_month.parquet": cm, "flows.parquet": fl, "policy_month.parquet": model.policy_frame(),
                       "run.json": meta})  # one unit: the whole run or the earlier one, never a mix
    if not quiet:
        typer.echo(format_summary(cm, f"Run {name}: {cfg.start} to {model.date}", model.cities))
        typer.echo(f"wrote {out}/city_month.parquet, flows.parquet, run.json  ({wall:.1f} s)")


_held: list = []  # the result-folder locks of this command (io.FolderLock)


def run_folder(out: Path | None, name: str, force: bool) -> Path:
    """Where a run writes: ``out``, refused if it holds an earlier run (unless ``force``); by
    default ``results/<name>``, or the first of ``results/<name>-2``, ``-3``, ... that holds none."""
    def taken(folder: Path) -> bool:
        return (folder / "run.json").exists() or (folder / "city_month.parquet").exists()

    if out is not None:
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: is a file; expected a folder")
        ancestor = next(p for p in [out, *out.parents] if p.exists())
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out}: {ancestor} cannot be written to; expected a folder you can write in")
        if taken(out) and not force:
            raise ConfigError(f"--out {out}: holds an earlier run (run.json); use --force to replace it, "
                              "or another --out")
        return out
    base = Path("results") / re.sub(r"[^A-Za-z0-9_.+-]", "_", name)  # one folder inside results/
    folder, k = base, 1
    while taken(folder) and not force:
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    return folder


def _run_ensemble(scenario, k, ov, seed, jobs, out, quiet, threads=None) -> None:
    """``run --ensemble K``: the members' mean as city_month/flows, every member beside it."""
    from tqdm import tqdm

    from . import ensemble as ens
    from .config import load_scenario
    from .io import write_folder
    from .summary import format_summary

    if k < 1:
        fail(f"--ensemble {k}: expected a whole number of parameter draws >= 1")
    cfg = load_scenario(scenario, ov)
    t0 = time.perf_counter()
    if not quiet:
        typer.echo(f"migrants: scenario {cfg.name}, ensemble of {k} parameter draws from {ens.POSTERIOR.name}, "
                   f"{cfg.months} months from {cfg.start}, scale {cfg.scale}, seeds {cfg.seed if seed is None else seed}+k",
                   err=True)
    with tqdm(total=k, unit="member", disable=quiet, file=sys.stderr) as bar:
        draws, cms, fls = ens.run_ensemble(scenario, k, ov, seed, jobs, progress=lambda i, n: bar.update(1),
                                           threads=threads)
    keys_cm = ["month", "date", "city", "province"]
    mean_cm = ens.member_mean(cms, keys_cm)
    mean_fl = ens.member_mean(fls, [c for c in next(iter(fls.values())).columns if c != "movers"])
    table = ens.ensemble_table(cms)
    wall = time.perf_counter() - t0
    meta = {"scenario": cfg.name, "config": cfg.model_dump(mode="json"), "seed": int(draws["seed"].iloc[0]),
            "scale": cfg.scale, "months": cfg.months, "start": cfg.start, "versions": versions(),
            "timings": {"wall_s": wall},
            "ensemble": {"members": k, "posterior": str(ens.POSTERIOR), "seeds": draws["seed"].tolist(),
                         "rule": "member k: posterior draw k (systematic resampling by weight, seeded by the "
                                 "ensemble seed) and seed + k; city_month/flows are the members' means; "
                                 "intervals are the central 90% of the members"}}
    write_folder(out, {"city_month.parquet": mean_cm, "flows.parquet": mean_fl,
                       "ensemble_city_month.parquet": ens.stack(cms, draws), "ensemble_draws.parquet": draws,
                       "ensemble_summary.parquet": table, "run.json": meta})
    if not quiet:
        from .cities import scenario_cities

        typer.echo(format_summary(mean_cm, f"Scenario {cfg.name}: mean of {k} members", scenario_cities(cfg)))
        prov = table[table["region_type"] == "province"]
        typer.echo("\nPopulation at the end, mean [central 90% of members] (parameter and seed uncertainty):")
        for r in prov.itertuples():
            typer.echo(f"  {r.region:16s} {r.population_end_mean:>14,.0f}  [{r.population_end_low:,.0f}, "
                       f"{r.population_end_high:,.0f}]")
        typer.echo(f"wrote {out}/city_month.parquet, flows.parquet, ensemble_city_month.parquet, "
                   f"ensemble_draws.parquet, ensemble_summary.parquet, run.json  ({wall:.1f} s)")


@app.command()
def validate(
    scenario: str = typer.Argument("baseline", help="Scenario name or YAML path."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field (path=value)."),
):
    """Check a scenario and its data files without running it."""
    from .model import MigrationModel

    try:
        with loading(f"scenario {scenario}"):
            m = MigrationModel(scenario=scenario, overrides=parse_sets(set_) | {"scale": 100000})
    except ConfigError as e:
        fail(str(e))
    typer.echo(f"ok: scenario {m.config.name}: {m.C} cities, {len(list(_params(m.config)))} parameters with sources")


@app.command()
def backtest(
    seeds: int = typer.Option(3, "--seeds", help="Replicates (seeds scenario seed, +1, ...)."),
    scale: Optional[int] = typer.Option(None, "--scale", help="Persons per agent (default: the scenario's)."),
    out: Path = typer.Option(Path("results/backtest"), "--out", help="Folder for backtest.parquet, summary, png."),
    jobs: int = typer.Option(1, "--jobs", help="Seeds run in parallel (processes)."),
    scenario: str = typer.Option("history", "--scenario", help="The history scenario to set against the record."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field: --set decisions.beta_income=1.2"),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="Use the estimate of this calibration "
                                               "folder (fit.json best_run) instead of the scenario's values."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Report this province's errors apart; needs "
                                          "--calibration of a calibration run with --holdout PROVINCE."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bar or summary."),
):
    """Run the history and set every simulated figure against the record, beside naive forecasts."""
    from tqdm import tqdm

    from .backtest import format_summary, run_backtest

    if seeds < 1:
        fail(f"--seeds {seeds}: expected a whole number of replicates >= 1")
    if scale is not None and scale < 1:
        fail(f"--scale {scale}: expected a whole number of persons per agent >= 1")
    if jobs < 1:
        fail(f"--jobs {jobs}: expected a whole number of processes >= 1")
    if out.exists() and not out.is_dir():
        fail(f"--out {out}: is a file; expected a folder")
    t0 = time.perf_counter()
    try:
        from .config import load_scenario

        ov = parse_sets(set_)
        used = None
        if calibration is not None:
            from .calibration import point_estimate

            est, fit = point_estimate(calibration)
            if holdout is not None and fit.get("holdout") != holdout:
                fail(f"--holdout {holdout!r}: the calibration in {calibration} left out {fit.get('holdout')!r}; "
                     f"expected one run with `migrants calibrate SPEC --holdout {holdout}`")
            ov = {**est, **ov}
            used = {"folder": str(calibration), "name": fit["name"], "holdout": fit.get("holdout"),
                    "estimate": est, "rule": "the calibration's estimate (fit.json best_run)"}
        elif holdout is not None:
            fail(f"--holdout {holdout!r}: needs --calibration DIR, the folder of `migrants calibrate SPEC "
                 f"--holdout {holdout}` (the fit that left the province out)")
        cfg = load_scenario(scenario, ov)
        with tqdm(total=seeds, unit="run", disable=quiet, file=sys.stderr, desc=f"backtest {cfg.name}") as bar:
            df, s = run_backtest(out, seeds=seeds, scale=scale, jobs=jobs, scenario=scenario, overrides=ov,
                                 progress=lambda i, n: bar.update(1), holdout=holdout, calibration=used)
    except ConfigError as e:
        fail(str(e))
    if not quiet:
        typer.echo(f"Backtest of {cfg.name}: {cfg.start} + {cfg.months} months, {seeds} seed(s); "
                   f"{len(df)} targets (none dated 2021 or later)")
        typer.echo(format_summary(s))
        if holdout is not None:
            import pandas as pd

            typer.echo(f"\nHeld out of the fit: {holdout} and its cities")
            typer.echo(format_summary(pd.read_parquet(out / "summary_holdout.parquet")))
        typer.echo(f"wrote {out}/backtest.parquet, summary.parquet, backtest.png, backtest.json  ({time.perf_counter() - t0:.1f} s)")


@app.command()
def calibrate(
    spec: Path = typer.Argument(..., help="Calibration spec (YAML), e.g. experiments/calibrate_tiny.yaml."),
    jobs: int = typer.Option(1, "--jobs", help="Runs in parallel."),
    backend: str = typer.Option("loky", "--backend", help="loky (local processes), dask or ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Dask scheduler tls://HOST:PORT (with --tls-*) "
                                          "or tcp://HOST:PORT (unauthenticated: see docs/sweeps.md)."),
    tls_ca: Optional[Path] = typer.Option(None, "--tls-ca", help="tls:// only: the CA certificate (PEM)."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="tls:// only: this client's certificate (PEM)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="tls:// only: this client's private key (PEM)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Result folder (default results/<spec name>)."),
    resume: bool = typer.Option(False, "--resume", metavar="", help="Finish an interrupted calibration in --out."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Leave this province's targets out of the fit."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bars."),
):
    """Fit the spec's free parameters to its targets (history matching with GP emulators)."""
    from .calibration import calibrate as run_calibration, load_spec

    try:
        s = load_spec(spec)
        folder = out or Path("results") / s.name
        fit = run_calibration(spec, folder, jobs=jobs, backend=backend, address=address, resume=resume,
                              holdout=holdout, progress=not quiet, echo=(lambda m: None) if quiet else typer.echo,
                              tls={"ca": tls_ca, "cert": tls_cert, "key": tls_key})
    except ConfigError as e:
        fail(str(e))
    if not quiet:
        for name, e in fit["estimate"].items():
            typer.echo(f"{name:<40} {e['q50']:.4g}  (90%: {e['q05']:.4g} - {e['q95']:.4g})")
        typer.echo(f"best run distance {fit['best_run']['distance']:.2f}; posterior ESS {fit['posterior_ess']:.0f}; "
                   f"{fit['runs']['total']} runs")
        typer.echo(f"wrote {folder}/posterior.parquet, fit.json, posterior.png, fit.png, waves.png")


def _params(cfg):
    from .config import iter_params

    return iter_params(cfg)


from .experiments.cli_commands import register as _register_experiments
_register_experiments(app)

from .viz_cli import register as _register_viz
_register_viz(app)

from .compare import register as _register_compare
_register_compare(app)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: the exit code (2 on bad input, also for usage errors, each one line)."""
    from .errors import click_exceptions, one_line, usage_message

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args, standalone_mode=False)
    except click_exceptions("NoArgsIsHelpError") as e:
        e.show()
        return 2
    except click_exceptions("UsageError") as e:  # `--months abc`: one line naming the option and the value
        typer.echo(f"error: {usage_message(e, args)}", err=True)
        return 2
    except click_exceptions("ClickException") as e:
        typer.echo(f"error: {one_line(e.format_message())}", err=True)
        return e.exit_code
    except click_exceptions("Abort"):
        typer.echo("Aborted!", err=True)
        return 1
    except ConfigError as e:  # raised outside a command's own handler
        typer.echo(f"error: {e}", err=True)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
