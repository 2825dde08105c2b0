"""``migrants validate``: check a scenario, its data files and its cards without running it."""

from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import ConfigError, loading
from .base import app, fail, parse_sets


@app.command()
def validate(
    scenario: str = typer.Argument("baseline", help="Scenario name or YAML path."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a field (path=value)."),
):
    """Check a scenario and its data files without running it."""
    from ..config import iter_params
    from ..model import check_scenario

    try:
        with loading(f"scenario {scenario}"):
            cfg, n_cities = check_scenario(scenario, parse_sets(set_))
    except ConfigError as e:
        fail(str(e))
    typer.echo(f"ok: scenario {cfg.name}: {n_cities} cities, {len(list(iter_params(cfg)))} parameters with sources")
