"""``run_sweep``: plan the runs, skip finished ones, execute the rest, store each result.

>>> from migrants.experiments import run_sweep
>>> out = run_sweep("experiments/tiny.yaml", out="results/tiny", jobs=2)   # doctest: +SKIP
>>> out.summary.groupby("arm")["population_total"].mean()                  # doctest: +SKIP

The parent process writes every file (workers only return small tables), so
a remote Dask cluster needs no shared output folder.  A progress bar on
stderr shows runs done, failed and the ETA.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from .backends import TCP_WARNING, check_backend, open_backend
from ..errors import ConfigError, DiskFull, loading
from ..io import MIN_FREE_BYTES, FolderLock, check_free_space
from ..kernels import default_threads
from ..provenance import code_version
from .plan import Plan, make_plan
from .spec import Spec
from .store import Store, now
from .worker import run_task


#: free space a sweep asks for per planned run (a run file of the shipped specs is 10 to 40 kB)
RUN_FILE_BYTES = 64 * 2 ** 10


@dataclass
class SweepOutcome:
    out: Path
    total: int  # runs in the plan
    finished: int  # runs with a file, incl. earlier sessions
    ran: int  # runs executed in this session (ok or failed)
    failed: int  # runs without a file, with an error recorded
    wall_s: float  # this session, from start to summary written
    model_s: float  # sum over this session's runs of model build + run time
    summary: pd.DataFrame
    warnings: list[str]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def run_sweep(spec: Spec | str | Path | dict, out: str | Path | None = None, *, jobs: int = 1,
              backend: str = "loky", address: str | None = None, resume: bool = False,
              threads_per_run: int | None = None, progress: bool = True,
              echo: Callable[[str], None] | None = _stderr, tls: dict | None = None) -> SweepOutcome:
    """Run (or finish, with ``resume``) a sweep into ``out`` (default ``results/<spec name>``).

    Raises :class:`migrants.errors.ConfigError` for a bad spec, option or
    result folder, before any run starts.  A run that raises is recorded in
    ``errors.parquet`` and the sweep goes on.  ``tls``: {ca, cert, key} certificate files for a
    Dask scheduler at ``tls://`` (``backends.dask_security``).
    """
    t0 = time.perf_counter()
    echo = echo or (lambda _m: None)
    check_backend(backend, jobs, address, tls)
    if backend == "dask" and address and not address.startswith("tls://"):
        echo(f"warning: {TCP_WARNING.format(address=address)}")
    with loading(f"spec {spec if not isinstance(spec, (Spec, dict)) else getattr(spec, 'name', '(dict)')}"):
        plan: Plan = make_plan(spec)
    out = Path(out) if out is not None else Path("results") / plan.spec.name
    threads = threads_per_run if threads_per_run is not None else default_threads(jobs, backend)
    with FolderLock(out):  # one command per folder: a second sweep or --resume on it is refused
        store = Store(out)
        manifest = plan.manifest(code_version(), {"created": now(), "status": "running", "backend": backend,
                                                  "jobs": jobs, "threads_per_run": threads})
        manifest, warnings = store.check(manifest, resume)
        check_free_space(out, MIN_FREE_BYTES + RUN_FILE_BYTES * len(plan.runs))  # before any run
        for w in warnings:
            echo(f"warning: {w}")
        failed, ran, model_s = 0, 0, 0.0
        from tqdm import tqdm

        with open_backend(backend, jobs, address, tls) as imap:  # a backend that cannot start leaves OUT untouched
            store.start(manifest)
            moved = store.quarantine(plan.kpi_columns)
            for w in moved:
                echo(f"warning: {w}")
            warnings = [*warnings, *moved]
            planned = [r.run_id for r in plan.runs]
            done = store.done_ids() & set(planned)
            store.load_errors(set(planned))
            pending = [r for r in plan.runs if r.run_id not in done]
            if done:
                echo(f"resuming {out}: {len(done)} of {len(planned)} runs already done, {len(pending)} to run")
            try:
                with tqdm(total=len(planned), initial=len(done), unit="run", file=sys.stderr, disable=not progress,
                          dynamic_ncols=True, desc=plan.spec.name, postfix={"failed": 0}) as bar:
                    for res in imap(run_task, (plan.task(r, threads) for r in pending)):
                        ran += 1
                        model_s += res.model_s
                        store.forget_errors([res.run_id])
                        if res.ok:
                            store.write_run(res.run_id, plan.run_table(res))
                        else:
                            failed += 1
                            store.add_error(plan.error_row(res))
                        bar.update(1)
                        bar.set_postfix(failed=failed)
            except BaseException as e:
                try:
                    store.update_manifest(status="interrupted", updated=now())
                except (OSError, ConfigError):  # the disk that stopped the sweep may refuse this too
                    pass
                if isinstance(e, DiskFull):
                    raise DiskFull(f"--out {out}: the disk is full (writing {getattr(e, 'path', Path('?')).name}); the {len(store.done_ids() & set(planned))} "
                                   "finished runs are kept, no file is partial: free some space, then rerun with "
                                   "--resume") from None
                raise
        summary = store.rebuild_summary(planned)
        errors = store.write_errors(plan.error_columns())
        wall = time.perf_counter() - t0
        status = "complete" if len(summary) == len(planned) else "incomplete"
        store.update_manifest(status=status, updated=now(), finished_runs=len(summary), failed_runs=len(errors),
                              last_session={"ran": ran, "failed": failed, "wall_s": wall, "model_s": model_s,
                                            "backend": backend, "jobs": jobs, "threads_per_run": threads})
        return SweepOutcome(out, len(planned), len(summary), ran, len(errors), wall, model_s, summary, warnings)
