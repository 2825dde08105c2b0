"""``migrants calibrate``: fit a spec's free parameters to its targets."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from .base import app, check_counts, fail


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
    from ..calibration import calibrate as run_calibration, load_spec

    check_counts(jobs=jobs)
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
