"""``migrants backtest``: the history against the record, beside naive forecasts."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError
from .base import app, check_counts, fail, parse_sets


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

    from ..backtest import format_summary, run_backtest

    check_counts(seeds=seeds, scale=scale, jobs=jobs)
    if out.exists() and not out.is_dir():
        fail(f"--out {out}: is a file; expected a folder")
    t0 = time.perf_counter()
    try:
        from ..config import load_scenario

        ov = parse_sets(set_)
        used = None
        if calibration is not None:
            from ..calibration import point_estimate

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
        typer.echo(f"wrote {out}/backtest.parquet, summary.parquet, backtest.png, backtest.json  "
                   f"({time.perf_counter() - t0:.1f} s)")
