"""Serving the browser page (``migrants viz [SCENARIO] [--host H] [--port P]``, ``migrants.cli.viz``).

Runs ``solara run <package>/viz/app.py`` with the scenario passed in the environment
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

from .errors import ConfigError

ENV_SCENARIO = "MIGRANTS_VIZ_SCENARIO"
APP = Path(__file__).resolve().with_name("viz") / "app.py"


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


def serve(scenario: str | None = None, *, host: str = "localhost", port: int = 8765, open_browser: bool = False,
          dev: bool = False, echo=print) -> int:
    """Serve the page until stopped (Ctrl+C, SIGTERM or SIGHUP stop the server it starts);
    returns the server's exit code.  Raises ConfigError for a bad scenario, port or checkout."""
    resolved = resolve_scenario(scenario)
    if not (1 <= port <= 65535):
        raise ConfigError(f"--port {port}: expected a port number from 1 to 65535")
    if not port_free(host, port):
        raise ConfigError(f"--port {port}: {host}:{port} is already in use (another `migrants viz`, or another "
                          "program); stop it or choose another --port")
    if not APP.exists():
        raise ConfigError(f"the page {APP} is missing (is this a full checkout of the project?)")
    env = dict(os.environ)
    env.pop(ENV_SCENARIO, None)
    if resolved:
        env[ENV_SCENARIO] = resolved
    # serve the front end from the local cache (the default, said here so an environment cannot turn it off)
    env.setdefault("SOLARA_ASSETS_PROXY", "true")
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    from .kernels import idle_cores

    env.setdefault("NUMBA_NUM_THREADS", str(idle_cores()))  # a busy core slows every parallel pass of a Step
    cmd = [*solara_command(), "run", str(APP), "--host", host, "--port", str(port)]
    cmd.append("--open" if open_browser else "--no-open")
    if not dev:
        cmd.append("--production")
    echo(f"migrants viz: serving {resolved or 'baseline'} on http://{host}:{port}/  (Ctrl+C stops)")
    proc = subprocess.Popen(cmd, env=env)

    def stop(signum, _frame):  # SIGTERM or SIGHUP to this command stops the server it started
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
