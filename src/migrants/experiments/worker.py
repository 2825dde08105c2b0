"""What a worker process does for one run: build the model, run it, return its KPIs.

The function is importable by name (``migrants.experiments.worker.run_task``),
so loky, Dask and Ray workers can unpickle it, and it returns a small table,
never a model.  Any exception is caught here and returned with its traceback,
so one failing run never stops a sweep.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass

import pandas as pd

from ..kernels import set_threads


@dataclass
class RunTask:
    run_id: str
    scenario: str  # absolute path or scenario name
    overrides: dict
    seed: int
    groups: list[str]
    provinces: list[str]
    granularity: str = "final"
    threads: int | None = None  # numba threads for this run (None: leave as is)
    parent_pid: int | None = None  # the sweep's process: a worker it started exits when it dies


#: how often a worker looks whether the sweep that started it is still alive (seconds)
PARENT_POLL_S = 0.5
_watched: set[int] = set()


def watch_parent(parent_pid: int | None) -> None:
    """In a worker process started by the sweep's process ``parent_pid`` (loky's workers are its
    children), exit as soon as that process is gone, however it ended (SIGKILL included): the
    kernel gives an orphan a new parent, which a daemon thread notices within ``PARENT_POLL_S``.
    Nothing happens in the sweep's own process (``--jobs 1``) or on a remote worker (another parent)."""
    if parent_pid is None or parent_pid in _watched or os.getpid() == parent_pid or os.getppid() != parent_pid:
        return
    _watched.add(parent_pid)
    # (not prctl PR_SET_PDEATHSIG: it fires when the *thread* that started the worker ends, and
    # loky may start workers from a thread that ends before the sweep does)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # noqa: SLF001 - the sweep is gone: nobody will read this run's result

    threading.Thread(target=watch, name="migrants-watch-parent", daemon=True).start()


@dataclass
class RunResult:
    run_id: str
    table: pd.DataFrame | None = None
    model_s: float = 0.0
    worker: str = ""
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


def run_task(task: RunTask) -> RunResult:
    """Run one (design point, replicate); never raises."""
    watch_parent(task.parent_pid)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        set_threads(task.threads)
        from migrants import MigrationModel

        from .kpis import compute_kpis

        model = MigrationModel(scenario=task.scenario, rng=task.seed, overrides=dict(task.overrides))
        model.run()
        model_s = time.perf_counter() - t0
        table = compute_kpis(model.city_frame(), model.cities, task.groups, task.provinces, task.granularity)
        return RunResult(task.run_id, table=table, model_s=model_s, worker=worker)
    except Exception as e:  # noqa: BLE001 - recorded in errors.parquet, the sweep goes on
        return RunResult(task.run_id, model_s=time.perf_counter() - t0, worker=worker,
                         error_type=type(e).__name__, error=str(e), traceback=traceback.format_exc())
