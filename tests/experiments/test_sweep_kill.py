"""Killing a sweep's parent process (SIGKILL: no handler runs) stops its workers: loky's (our
parent watch, worker.watch_parent) and a local Dask cluster's (distributed's own: each worker
process exits when the pipe from the process that started it closes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from migrants.experiments.worker import watch_parent

from .conftest import ROOT, TINY


def live_children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` and that are not zombies (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == pid and state != "Z":
            out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def sweep_until_a_run_is_done(out: Path, *backend: str) -> subprocess.Popen:
    """Start ``migrants sweep`` of the tiny spec into ``out`` (its own session) and return once its
    first run file is written."""
    proc = subprocess.Popen([sys.executable, "-m", "migrants.cli", "sweep", str(TINY), *backend, "--jobs", "2",
                             "--threads-per-run", "1", "--out", str(out), "--quiet"], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not ((out / "runs").exists() and any((out / "runs").glob("*.parquet"))):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.05)
    except BaseException:  # never leave the sweep behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc


def test_sigkill_of_the_parent_stops_its_workers(tmp_path):
    proc = sweep_until_a_run_is_done(tmp_path / "sweep")
    workers: list[int] = []
    try:
        workers = live_children(proc.pid)
        assert len(workers) >= 2, workers  # the loky workers (and loky's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
        proc.wait()
        deadline = time.monotonic() + 30  # a hang bound: they go within about a second
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [w for w in workers if alive(w)], "workers outlived the sweep"
    finally:
        for w in workers:  # never leave them behind, whatever failed above
            if alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children, ...)."""
    found, grew = {pid}, True
    while grew:
        grew = False
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) in found:
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
            if int(ppid) in found and state != "Z":
                found.add(int(d.name))
                grew = True
    return sorted(found - {pid})


def test_sigkill_of_a_dask_sweeps_parent_stops_its_local_cluster(tmp_path):
    proc = sweep_until_a_run_is_done(tmp_path / "sweep", "--backend", "dask")
    started: list[int] = []
    try:
        started = descendants(proc.pid)  # the workers (the scheduler and nannies live in the parent)
        cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in started]
        assert sum(b"spawn_main" in c for c in cmdlines) >= 2, cmdlines
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30  # a hang bound: they go within a second
        while any(alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in started if alive(p)], "Dask workers outlived the sweep"
    finally:
        for p in started:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_sweeps_own_process_and_remote_workers_watch_nothing():
    import migrants.experiments.worker as w

    before = set(w._watched)
    watch_parent(os.getpid())  # --jobs 1: the run is in the sweep's own process
    watch_parent(os.getppid() + 10 ** 6)  # not our parent: a remote worker
    watch_parent(None)
    assert w._watched == before
