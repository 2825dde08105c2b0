"""Fixtures for browser tests: Debian's headless chromium driven by Playwright, and
Solara servers that serve every front-end asset themselves (no CDN).

Prerequisites (installed by the project's scripts, not here):
  * scripts/install_browser.sh          -> /usr/bin/chromium (never `playwright install`:
                                           it downloads a browser build, which fails here)
  * scripts/install_solara_assets.py    -> Solara's CDN-proxy cache filled from npm

Fixtures:
  browser        session-scoped Playwright Browser
  network_log    records every request/websocket of the page to a non-loopback host
  page           a fresh context+page whose non-loopback requests are recorded and aborted
  solara_server  callable: solara_server(app_path, port=None) -> base URL; servers are
                 stopped (whole process group) at the end of the test
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root, where chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # keep chromium's own phoning home (updates, sync, field trials) off the network
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
SERVER_START_TIMEOUT = 90.0  # s; a cold `solara run` imports a lot on a 2-core machine


def pytest_collection_modifyitems(config, items):
    # skip (locally) rather than error when the browser is absent; under CI it must fail
    if IN_CI or os.path.exists(CHROMIUM):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found: run `bash scripts/install_browser.sh` (under CI=true this fails instead)")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        # only reached under CI=true (see pytest_collection_modifyitems)
        pytest.fail(f"{CHROMIUM} is missing; CI must install it with scripts/install_browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch() (not launch_persistent_context) gives a fresh temporary profile each run
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def is_loopback_url(url: str) -> bool:
    """True for http(s)/ws(s) URLs on 127.0.0.0/8, ::1 or localhost; data:, blob: etc. count as local."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return True  # data:, blob:, about:, chrome-extension: never touch the network
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a DNS name: would leave the machine


class NetworkLog:
    """The page's requests to non-loopback hosts (e.g. a CDN). Tests assert it stays empty."""

    def __init__(self) -> None:
        self.external: list[str] = []
        self.all: list[str] = []

    def attach(self, context) -> None:
        def on_route(route):
            url = route.request.url
            if is_loopback_url(url):
                route.continue_()
            else:
                # record, and abort so nothing actually leaves the machine
                self.external.append(f"{route.request.method} {url}")
                route.abort("blockedbyclient")

        context.route("**/*", on_route)
        context.on("request", lambda req: self.all.append(req.url))
        # websockets do not pass through route(): record them from the page events
        context.on("page", self._watch_page)

    def _watch_page(self, page) -> None:
        page.on("websocket", lambda ws: None if is_loopback_url(ws.url) else self.external.append(f"WS {ws.url}"))


@pytest.fixture
def network_log() -> NetworkLog:
    return NetworkLog()


@pytest.fixture
def page(browser, network_log):
    context = browser.new_context()
    network_log.attach(context)
    p = context.new_page()  # fires the context's "page" event, so websockets are watched too
    try:
        yield p
    finally:
        context.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _solara_command() -> list[str]:
    # the solara of the python running pytest (the project's .venv), not whatever is on PATH
    exe = Path(sys.executable).parent / "solara"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "solara"]


class _Server:
    def __init__(self, app_path, port: int | None, log_dir: Path) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"solara-{self.port}.log"
        env = dict(os.environ)
        env.update(
            # serve /_solara/cdn/... from the local cache (filled by install_solara_assets.py)
            SOLARA_ASSETS_PROXY="true",
            # a cache miss must fail at once on loopback instead of trying the public CDN
            # (port 9 = discard: connection refused), so a missing asset shows up as a 404/500
            SOLARA_ASSETS_CDN="http://127.0.0.1:9/npm/",
            # server-side usage telemetry would call a third-party host
            SOLARA_TELEMETRY_MIXPANEL_ENABLE="false",
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            *_solara_command(),
            "run",
            str(app_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--production",
            "--no-open",  # default is to open a desktop browser
        ]
        self._log = open(self.log_path, "wb")
        # own session/process group, so teardown can stop solara and anything it spawned
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"solara exited with {self.proc.returncode} before serving:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"solara did not answer on {self.url} within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


@pytest.fixture
def solara_server():
    """solara_server(app_path, port=None, timeout=SERVER_START_TIMEOUT) -> base URL."""
    servers: list[_Server] = []
    log_dir = Path(tempfile.mkdtemp(prefix="solara-test-logs-"))

    def start(app_path, port: int | None = None, timeout: float = SERVER_START_TIMEOUT) -> str:
        srv = _Server(app_path, port, log_dir)
        servers.append(srv)
        srv.wait_ready(timeout)
        return srv.url

    start.servers = servers  # tests may read srv.log_tail() in their failure messages
    yield start
    for srv in servers:
        srv.stop()
    shutil.rmtree(log_dir, ignore_errors=True)
