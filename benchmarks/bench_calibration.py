"""Throughput of calibration runs.  Run: ``.venv/bin/python benchmarks/bench_calibration.py``.

Simulated decades (the history, 2010-11 to 2020-11, all 31 cities) per hour at the coarse
scales a calibration uses, on the calibration's own task function and the loky backend with
``--jobs`` workers, after one warm-up run per worker; where the time goes (model build,
the months) from one run in this process.  Issue 10's target: 2,000 decades in 2 hours
(1,000 an hour) on 2 cores.  Medians over repeats with min-max.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1000, 2000])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from migrants.calibration import CalTask, run_cal_task
    from migrants.backtest import load_targets
    from migrants.cities import load_cities
    from migrants.config import CONFIG_DIR
    from migrants.experiments.backends import open_backend
    import pandas as pd

    cities = load_cities(CONFIG_DIR / "cities.csv")
    targets = load_targets(CONFIG_DIR / "targets", cities)
    p2010 = pd.read_csv(CONFIG_DIR / "provinces_2010.csv").set_index("province")["population"].astype(float)
    for scale in a.scales:
        from migrants.model import MigrationModel

        t0 = time.perf_counter()
        m = MigrationModel(scenario="history", scale=scale)
        init = time.perf_counter() - t0
        m.run()
        months = m.timings["step_s"]
        rates = []
        with open_backend("loky", a.jobs) as imap:
            tasks = lambda k: [CalTask(f"r{k}_{i}", 1, i, 0, "history", {"scale": scale}, 1000 * k + i, targets,  # noqa: E731
                                       cities, p2010, 1 if a.jobs > 1 else None) for i in range(a.runs)]
            list(imap(run_cal_task, tasks(0)[: a.jobs]))  # warm the workers (imports, compiled kernels)
            for k in range(1, a.repeats + 1):
                t0 = time.perf_counter()
                list(imap(run_cal_task, tasks(k)))
                rates.append(a.runs / (time.perf_counter() - t0) * 3600)
        r = np.array(rates)
        print(f"scale {scale:>5}: {np.median(r):7.0f} decades/hour (min {r.min():.0f}, max {r.max():.0f}; "
              f"{a.jobs} jobs, {a.runs} runs x {a.repeats}); one run here: build {init:.2f} s, 120 months {months:.2f} s")
    emulator_cost(a.repeats)


def emulator_cost(repeats: int, n: int = 400, d: int = 17, t: int = 78, candidates: int = 100_000) -> None:
    """The emulators between waves: fit on ``n`` points of ``d`` parameters and ``t`` targets (the
    history's sizes, emulator_points 400), then predict a wave's ``candidates`` with their sd."""
    from migrants.calibration import Emulators, lhs

    rng = np.random.default_rng(0)
    fit, pred = [], []
    for k in range(repeats):
        u = lhs(d, n, [k, 1])
        z = np.sin(3 * u[:, :3].sum(1))[:, None] * rng.normal(1, 0.1, t)[None, :] + rng.normal(0, 0.02, (n, t))
        t0 = time.perf_counter()
        emu = Emulators(u, z, k)
        fit.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emu.predict(lhs(d, candidates, [k, 2]))
        pred.append(time.perf_counter() - t0)
    f, p = np.array(fit), np.array(pred)
    print(f"emulators ({n} points, {d} parameters, {t} targets): fit {np.median(f):.1f} s (min {f.min():.1f}, "
          f"max {f.max():.1f}); predict {candidates:,} candidates {np.median(p):.1f} s (min {p.min():.1f}, "
          f"max {p.max():.1f}); medians of {repeats}")


if __name__ == "__main__":
    main()
