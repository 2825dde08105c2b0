"""``migrants sweep`` and ``migrants report``.

A sweep in which some runs failed still writes its summary and exits with code 1 (the
failures are in ``OUT/errors.parquet``); an interrupted sweep exits with 130 and can be
finished with ``--resume``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from .base import app, check_counts, fail


@app.command()
def sweep(
    spec: Path = typer.Argument(..., help="Sweep spec (YAML), e.g. experiments/tiny.yaml."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel runs (loky processes, or Dask local workers)."),
    backend: str = typer.Option("loky", "--backend", help="loky (default), dask, or ray (optional extra)."),
    address: Optional[str] = typer.Option(None, "--address", help="Dask scheduler tls://HOST:PORT (with --tls-*) "
                                          "or tcp://HOST:PORT (unauthenticated), or a Ray address; none: a local "
                                          "cluster."),
    tls_ca: Optional[Path] = typer.Option(None, "--tls-ca", help="tls:// only: the CA certificate (PEM) that "
                                          "signed the scheduler's."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="tls:// only: this client's certificate "
                                            "(PEM; with its key, unless --tls-key)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="tls:// only: this client's private key (PEM)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Result folder (default results/<spec name>)."),
    resume: bool = typer.Option(False, "--resume", metavar="", help="Finish an interrupted sweep in --out (same spec only)."),
    threads_per_run: Optional[int] = typer.Option(None, "--threads-per-run",
                                                  help="numba threads in each run (default: cores / jobs)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar="", help="No progress bar or messages."),
):
    """Run every design point of a sweep spec with its replicates, in parallel, resumably."""
    from ..experiments.backends import BACKENDS
    from ..experiments.runner import run_sweep

    check_counts(jobs=jobs, threads_per_run=threads_per_run)
    if backend not in BACKENDS:
        fail(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not spec.exists():
        fail(f"spec {spec}: no such file; expected a YAML sweep spec such as experiments/tiny.yaml")
    echo = None if quiet else (lambda m: typer.echo(m, err=True))
    try:
        res = run_sweep(spec, out, jobs=jobs, backend=backend, address=address, resume=resume,
                        threads_per_run=threads_per_run, progress=not quiet, echo=echo,
                        tls={"ca": tls_ca, "cert": tls_cert, "key": tls_key})
    except ConfigError as e:
        fail(str(e))
    except KeyboardInterrupt:
        typer.echo(f"interrupted; finished runs are kept: rerun with --resume to finish "
                   f"({out or 'results/<spec name>'})", err=True)
        raise typer.Exit(130)
    if not quiet:
        typer.echo(f"{res.finished} of {res.total} runs finished ({res.ran} ran now in {res.wall_s:.1f} s), "
                   f"{res.failed} failed; wrote {res.out}/summary.parquet", err=True)
        if res.failed:
            typer.echo(f"failed runs, with tracebacks: {res.out}/errors.parquet", err=True)
    if res.failed:
        raise typer.Exit(1)


@app.command()
def report(
    folder: Path = typer.Argument(..., help="Result folder of a sweep (its --out)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default FOLDER/report)."),
):
    """Plots, an HTML page and tables from a sweep's results."""
    from ..experiments.report import write_report

    try:
        page = write_report(folder, out)
    except ConfigError as e:
        fail(str(e))
    typer.echo(f"wrote {page} (plots, and tables in {page.parent / 'tables'})")
