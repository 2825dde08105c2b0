"""``migrants viz [SCENARIO] [--host H] [--port P]``: serve the browser page.

Runs ``solara run viz/app.py`` with the scenario passed in the environment
variable ``MIGRANTS_VIZ_SCENARIO`` (a name in ``configs/scenarios`` or
``configs/teaching``, or a YAML path).  The scenario is checked first, so a bad
one ends with the usual one-paragraph message and exit code 2 instead of a
broken page.

The page's front-end files come from Solara's local asset cache (filled by
``scripts/install_solara_assets.py``), so it works without internet access.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import ConfigError

ENV_SCENARIO = "MIGRANTS_VIZ_SCENARIO"
APP = Path(__file__).resolve().parents[2] / "viz" / "app.py"


def resolve_scenario(scenario: str | None) -> str | None:
    """The scenario as the page will get it: a known name, a teaching preset's name, or an absolute path.

    Raises ConfigError for a scenario that does not load.
    """
    from .config import available_scenarios, load_scenario, scenario_path

    if scenario is None:
        return None
    p = Path(scenario)
    if p.suffix in (".yaml", ".yml") or p.exists():
        load_scenario(p)
        return str(p.resolve())
    if scenario_path(scenario).exists():  # a scenario or a teaching preset of that name
        load_scenario(scenario_path(scenario))
        return scenario
    raise ConfigError(f"scenario {scenario!r}: no such file, and no scenario or teaching preset of that name "
                      f"(known: {', '.join(available_scenarios())})")


def cdn_cache_only() -> None:
    """Make Solara's CDN proxy (``/_solara/cdn/<path>``, on with ``SOLARA_ASSETS_PROXY``) serve only
    the files already in its local cache (filled by ``scripts/install_solara_assets.py``): a path
    that is not cached is a 404, never fetched from the CDN nor stored.  Unpatched, the proxy fetches
    any path a client names from the CDN and writes it into the cache, so any visitor could make
    the server download, and keep, whatever the CDN serves.  Called where the page is imported
    (viz/app.py), so it holds in the server's process however it was started."""
    try:
        from solara.server import cdn_helper
    except ImportError:  # pragma: no cover - no solara: nothing to guard
        return

    def refuse(url, *args, **kwargs):
        raise PermissionError(f"{url}: not in the local asset cache; migrants viz fetches nothing "
                              "(scripts/install_solara_assets.py fills the cache)")

    cdn_helper.fetch_from_cdn = refuse


def port_free(host: str, port: int) -> bool:
    """Can a server bind ``host:port`` now (no other page, or other program, serving there)?"""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: old connections do not count
        try:
            sock.bind((host if host != "localhost" else "127.0.0.1", port))
        except OSError:
            return False
    return True


def solara_command() -> list[str]:
    exe = Path(sys.executable).parent / "solara"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "solara"]


def register(app: typer.Typer) -> None:
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
        try:
            resolved = resolve_scenario(scenario)
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
        if not (1 <= port <= 65535):
            typer.echo(f"error: --port {port}: expected a port number from 1 to 65535", err=True)
            raise typer.Exit(2)
        if not port_free(host, port):
            typer.echo(f"error: --port {port}: {host}:{port} is already in use (another `migrants viz`, or another "
                       "program); stop it or choose another --port", err=True)
            raise typer.Exit(2)
        if not APP.exists():
            typer.echo(f"error: the page {APP} is missing (is this a full checkout of the project?)", err=True)
            raise typer.Exit(2)
        env = dict(os.environ)
        env.pop(ENV_SCENARIO, None)
        if resolved:
            env[ENV_SCENARIO] = resolved
        # serve the front end from the local cache (the default, said here so an environment cannot turn it off)
        env.setdefault("SOLARA_ASSETS_PROXY", "true")
        env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
        cmd = [*solara_command(), "run", str(APP), "--host", host, "--port", str(port)]
        cmd.append("--open" if open_browser else "--no-open")
        if not dev:
            cmd.append("--production")
        typer.echo(f"migrants viz: serving {resolved or 'baseline'} on http://{host}:{port}/  (Ctrl+C stops)", err=True)
        proc = subprocess.Popen(cmd, env=env)

        def stop(signum, _frame):  # SIGTERM or SIGHUP to this command stops the server it started
            raise KeyboardInterrupt

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            code = 0
        raise typer.Exit(code)
