"""``migrants run``: one scenario (or a parameter ensemble of it), its tables written as one unit."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError, loading
from .base import app, check_counts, fail, parse_sets


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
    threads: Optional[int] = typer.Option(None, "--threads", help="numba threads (default: the idle cores; with "
                                          "--ensemble --jobs N, one per member)."),
    ensemble: Optional[int] = typer.Option(None, "--ensemble", help="Run K members, each with a parameter set "
                                           "drawn from the calibration's posterior and its own seed."),
    jobs: int = typer.Option(1, "--jobs", help="Ensemble members run in parallel (processes)."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bar or summary."),
):
    """Run one scenario and write its tables."""
    from tqdm import tqdm

    from ..model import MigrationModel
    from ..policy.policyset import PolicySet
    from ..runs import run_folder, write_run
    from ..summary import format_summary

    check_counts(months=months, scale=scale, seed=seed, jobs=jobs, threads=threads, ensemble=ensemble)
    with ExitStack() as held:
        try:
            ov = parse_sets(set_)
            if months is not None:
                ov["months"] = months
            if policy:
                with loading(f"scenario {scenario}"):
                    ov["policies"] = PolicySet.of(scenario, ov).plus(policy).refs
            if scale is not None:
                ov["scale"] = scale
            from ..config import load_scenario

            with loading(f"scenario {scenario}"):  # an input no check foresaw: one line, exit 2
                name = load_scenario(scenario, ov).name + "".join(f"+{p}" for p in policy or [])
            out = run_folder(out, name, force)
            from ..io import FolderLock, check_free_space

            check_free_space(out)  # before the simulation, not after it

            held.enter_context(FolderLock(out))  # let go (and its file removed) however the command ends
            if ensemble is not None:
                _run_ensemble(scenario, ensemble, ov, seed, jobs, out, quiet, threads)
                return
            from ..kernels import compiled_before, idle_cores, set_threads

            set_threads(threads if threads is not None else idle_cores())
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
        write_run(model, out, name=name, overrides=ov, wall_s=wall, command=["migrants", *sys.argv[1:]])
        if not quiet:
            typer.echo(format_summary(model.city_frame(), f"Run {name}: {cfg.start} to {model.date}", model.cities))
            typer.echo(f"wrote {out}/city_month.parquet, flows.parquet, run.json  ({wall:.1f} s)")


def _run_ensemble(scenario, k, ov, seed, jobs, out, quiet, threads=None) -> None:
    """``run --ensemble K``: the members' mean as city_month/flows, every member beside it."""
    from tqdm import tqdm

    from .. import ensemble as ens
    from ..cities import scenario_cities
    from ..config import load_scenario
    from ..summary import format_summary

    cfg = load_scenario(scenario, ov)
    t0 = time.perf_counter()
    if not quiet:
        typer.echo(f"migrants: scenario {cfg.name}, ensemble of {k} parameter draws from {ens.POSTERIOR.name}, "
                   f"{cfg.months} months from {cfg.start}, scale {cfg.scale}, seeds {cfg.seed if seed is None else seed}+k",
                   err=True)
    with tqdm(total=k, unit="member", disable=quiet, file=sys.stderr) as bar:
        draws, cms, fls = ens.run_ensemble(scenario, k, ov, seed, jobs, progress=lambda i, n: bar.update(1),
                                           threads=threads)
    mean_cm, table = ens.write_ensemble(out, cfg, k, draws, cms, fls, wall_s=time.perf_counter() - t0)
    if not quiet:
        typer.echo(format_summary(mean_cm, f"Scenario {cfg.name}: mean of {k} members", scenario_cities(cfg)))
        prov = table[table["region_type"] == "province"]
        typer.echo("\nPopulation at the end, mean [central 90% of members] (parameter and seed uncertainty):")
        for r in prov.itertuples():
            typer.echo(f"  {r.region:16s} {r.population_end_mean:>14,.0f}  [{r.population_end_low:,.0f}, "
                       f"{r.population_end_high:,.0f}]")
        typer.echo(f"wrote {out}/city_month.parquet, flows.parquet, ensemble_city_month.parquet, "
                   f"ensemble_draws.parquet, ensemble_summary.parquet, run.json  ({time.perf_counter() - t0:.1f} s)")
