"""``migrants compare``: a policy against a base with common random numbers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError
from .base import app, check_counts, fail, parse_sets


@app.command("compare")
def compare_cmd(
    base: str = typer.Argument(..., help="Base scenario (name in configs/scenarios or YAML path)."),
    policy: str = typer.Argument(..., help="Policy scenario, or policy card(s) to add to BASE (a+b+c)."),
    replicates: int = typer.Option(5, "--replicates", "-r", help="Replicates per arm (seeds seed..seed+R-1)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for compare.parquet and compare.json."),
    months: Optional[int] = typer.Option(None, "--months", help="Months to simulate (default: the scenario's)."),
    scale: Optional[int] = typer.Option(None, "--scale", help="Persons per agent (default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="First seed (default: BASE's seed)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field in both arms: path=value."),
    jobs: int = typer.Option(1, "--jobs", help="Runs in parallel (joblib)."),
    ensemble: Optional[int] = typer.Option(None, "--ensemble", help="K replicates, replicate k with posterior "
                                           "draw k (parameter uncertainty); replaces --replicates."),
    by: Optional[str] = typer.Option(None, "--by", help="Print every city or province (city|province) instead "
                                     "of the policy's targets, the metro area and all cities; the file has all."),
    threads: Optional[int] = typer.Option(None, "--threads", help="numba threads per run (default: 1 per run "
                                          "when --jobs > 1, else the idle cores)."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress or table."),
):
    """Compare a policy with a base: differences per city, province and metro area, with 95% CIs."""
    from tqdm import tqdm

    from ..compare import compare, format_table
    from ..io import write_json, write_parquet

    check_counts(replicates=replicates, months=months, scale=scale, seed=seed, jobs=jobs, ensemble=ensemble,
                 threads=threads)
    if by is not None and by not in ("city", "province"):
        fail(f"--by {by!r}: expected city or province")
    try:
        n_runs = 2 * (ensemble or replicates)
        with tqdm(total=n_runs, unit="run", disable=quiet, file=sys.stderr) as bar:
            table, meta, reps = compare(base, policy, replicates, months, scale, seed, parse_sets(set_), jobs,
                                        progress=lambda i, n: bar.update(1), ensemble=ensemble, threads=threads)
    except ConfigError as e:
        fail(str(e))
    if out is not None:
        write_parquet(reps, out / "compare_replicates.parquet")
        write_json(meta, out / "compare.json")
        write_parquet(table, out / "compare.parquet")
    if not quiet:
        typer.echo(format_table(table, meta, by))
        if out is not None:
            typer.echo(f"wrote {out}/compare.parquet, compare_replicates.parquet, compare.json")
