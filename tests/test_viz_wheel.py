"""A wheel of the project runs scenarios and serves the page from any folder (no source tree).

Builds the wheel without build isolation (setuptools from the [dev] extra: no download), installs it with
--no-deps into a fresh virtual environment whose dependencies are those of the running interpreter (a .pth
line to its site-packages: the same packages, without a second download), then, from an empty folder and
with no PYTHONPATH: ``migrants run tiny`` writes its tables, and ``migrants viz tiny`` serves the page
(with its map data and its Chinese font) until SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                        "-w", str(tmp / "dist")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("migrants-*.whl")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies of the running interpreter, after the venv's own site-packages (where the wheel goes)
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # what those packages installed beside their code: jupyter's nbextension config, Solara's asset cache
    for d in ("etc", "share"):
        if (Path(sys.prefix) / d).is_dir() and not (env_dir / d).exists():
            (env_dir / d).symlink_to(Path(sys.prefix) / d)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "no such option: --python" in r.stderr:
        pytest.skip("pip too old for --python")
    assert r.returncode == 0, r.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    where = tmp / "elsewhere"
    where.mkdir()
    return env_dir, env, where, site


def test_the_wheel_is_what_runs(venv):
    env_dir, env, where, site = venv
    r = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                        "import migrants, migrants.config as c, migrants.viz.geo as g; "
                        "print(migrants.__file__); print(c.CONFIG_DIR); print(g.geodata_path())"],
                       cwd=where, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert all(line.startswith(str(site)) for line in lines), lines  # nothing from the source tree


def test_run_tiny_from_another_folder(venv):
    env_dir, env, where, _ = venv
    r = subprocess.run([str(env_dir / "bin" / "migrants"), "run", "tiny", "--months", "3", "--out", "out"],
                       cwd=where, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (where / "out" / "city_month.parquet").exists() and (where / "out" / "run.json").exists()


def test_viz_serves_the_page_from_another_folder(venv):
    env_dir, env, where, site = venv
    port = _free_port()
    env = dict(env, SOLARA_ASSETS_PROXY="true", SOLARA_ASSETS_CDN="http://127.0.0.1:9/npm/")
    proc = subprocess.Popen([str(env_dir / "bin" / "migrants"), "viz", "tiny", "--host", "127.0.0.1", "--port",
                             str(port)], cwd=where, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as resp:
                    body = resp.read().decode("utf-8", "replace")
                    break
            except urllib.error.HTTPError as e:
                body = f"HTTP {e.code}"
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        assert body and not body.startswith("HTTP "), body or proc.stdout.read().decode(errors="replace")[-3000:] if proc.poll() is not None else "no answer"
        fonts = site / "migrants" / "viz" / "public" / "fonts" / "noto-sans-sc.css"
        if fonts.exists():  # made at set-up: then it travels in the wheel and is served
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/assets/fonts/noto-sans-sc.css",
                                        timeout=10) as resp:
                assert b"Noto Sans SC" in resp.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    with socket.socket() as s:  # nothing left on the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
