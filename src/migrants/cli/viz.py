"""``migrants viz``: serve the browser page (the server itself: ``migrants.viz_cli.serve``)."""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import ConfigError
from .base import app, fail


@app.command()
def viz(
    scenario: Optional[str] = typer.Argument(
        None, help="Scenario or teaching preset to open with (name or YAML path); default: baseline."),
    host: str = typer.Option("localhost", "--host", help="Address to serve on."),
    port: int = typer.Option(8765, "--port", help="Port to serve on."),
    open_browser: bool = typer.Option(False, "--open/--no-open", metavar="", help="Open a browser tab."),
    dev: bool = typer.Option(False, "--dev", metavar="", help="Reload the page when viz/ files change (development)."),
):
    """Serve the browser page: watch and steer one run (Solara, Mesa's SolaraViz)."""
    from ..viz_cli import serve

    try:
        code = serve(scenario, host=host, port=port, open_browser=open_browser, dev=dev,
                     echo=lambda m: typer.echo(m, err=True))
    except ConfigError as e:
        fail(str(e))
    raise typer.Exit(code)
