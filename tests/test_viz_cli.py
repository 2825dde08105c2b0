"""``migrants viz``: scenario checks, and the server it starts (loopback only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrants.cli import app
from migrants.errors import ConfigError
from migrants.viz_cli import ENV_SCENARIO, resolve_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_resolve_scenario_names_and_paths(tmp_path):
    assert resolve_scenario(None) is None
    assert resolve_scenario("tiny") == "tiny"
    assert resolve_scenario("wage_gap") == "wage_gap"  # a teaching preset
    p = tmp_path / "mine.yaml"
    p.write_text("extends: tiny\nname: mine\ncities: [Shenyang, Dalian]\n")
    assert resolve_scenario(str(p)) == str(p.resolve())
    with pytest.raises(ConfigError, match="no such file"):
        resolve_scenario("no_such_scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: tiny\nname: bad\nmonths: -3\n")
    with pytest.raises(ConfigError, match="months"):
        resolve_scenario(str(bad))


def test_bad_scenario_exits_2_without_traceback():
    r = CliRunner().invoke(app, ["viz", "no_such_scenario"])
    assert r.exit_code == 2
    assert "no_such_scenario" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["viz", "tiny", "--port", "0"])
    assert r.exit_code == 2 and "--port" in r.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def _recording_cdn():
    """A stand-in CDN on 127.0.0.1 that records every request it gets (it must get none)."""
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"fetched from the cdn")

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_the_asset_proxy_serves_the_cache_only(tmp_path, monkeypatch):
    from solara.server import cdn_helper

    from migrants.viz_cli import cdn_cache_only

    server, seen = _recording_cdn()
    monkeypatch.setattr(cdn_helper, "fetch_from_cdn", cdn_helper.fetch_from_cdn)  # restored after the test
    monkeypatch.setattr("solara.settings.assets.cdn", f"http://127.0.0.1:{server.server_port}/npm/")
    (tmp_path / "pkg@1.0.0").mkdir()
    (tmp_path / "pkg@1.0.0" / "a.js").write_text("cached")
    cdn_cache_only()
    try:
        assert cdn_helper.get_path(tmp_path, "pkg@1.0.0/a.js").read_text() == "cached"  # the cache still serves
        with pytest.raises(PermissionError, match="not in the local asset cache"):
            cdn_helper.get_path(tmp_path, "other@2.0.0/b.js")
        with pytest.raises(PermissionError):
            cdn_helper.get_data(tmp_path, "other@2.0.0/b.js")
    finally:
        server.shutdown()
    assert seen == [] and not (tmp_path / "other@2.0.0").exists()  # nothing fetched, nothing stored


def test_viz_serves_the_page(tmp_path):
    port = _free_port()
    exe = Path(sys.executable).parent / "migrants"
    cmd = [str(exe), "viz", "wage_gap", "--host", "127.0.0.1", "--port", str(port)]
    cdn, fetched = _recording_cdn()
    env = dict(os.environ, SOLARA_ASSETS_CDN=f"http://127.0.0.1:{cdn.server_port}/npm/",
               SOLARA_TELEMETRY_MIXPANEL_ENABLE="false")
    env.pop(ENV_SCENARIO, None)
    log = open(tmp_path / "viz.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "viz.log").read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "migrants viz did not serve within 120 s"
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert r.status == 200 and b"solara" in r.read().lower()
        # the asset proxy serves what is cached and fetches nothing a client asks for
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_solara/cdn/requirejs@2.3.6/require.js",
                                    timeout=30) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_solara/cdn/migrants-probe@0.0.1/x.js", timeout=30)
        assert e.value.code == 404 and fetched == []
        # a second page on the same port says so at once, instead of failing 12 s later
        again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert again.returncode == 2 and "already in use" in again.stderr
        # SIGTERM to `migrants viz` alone (not its group) stops the server it started: the port is free again
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds
                try:
                    probe.bind(("127.0.0.1", port))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the solara server outlived `migrants viz`"
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # nothing of the group may be left
        except ProcessLookupError:
            pass
        log.close()
        cdn.shutdown()
    assert "serving wage_gap on http://127.0.0.1" in (tmp_path / "viz.log").read_text(errors="replace")
