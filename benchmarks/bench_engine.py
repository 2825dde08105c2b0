"""Speed and memory of the engine.  Run: ``.venv/bin/python benchmarks/bench_engine.py``.

(a) Decision step, time per agent-month, every agent choosing among 32
    destinations: the one-object-per-agent Mesa reference at N = 1e4 and 1e5,
    the numba engine at N = 1e5 and 1e6 (2 threads, and 1 for reference); the
    ratio at N = 1e5 measured in this run.
(b) The baseline at the default scale for 120 months: wall time and peak memory.
(c) A full-scale run (scale = 1) for 12 months: time per month, peak memory
    and bytes per agent.
Where a month's time goes, by submodel: ``benchmarks/bench_month.py``.
Medians over repeats with min-max.  (b) and (c) run in child processes so
their peak memory is their own.  ``--quick`` skips (c); ``--only a`` etc.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def stats(xs):
    xs = np.asarray(xs, float)
    return float(np.median(xs)), float(xs.min()), float(xs.max())


def fmt(label, per, unit="ns"):
    med, lo, hi = per
    return f"{label:<44} {med:10.1f} {unit}  (min {lo:.1f}, max {hi:.1f})"


def bench_decisions(repeats: int) -> dict:
    import numba

    from mesa_reference import ReferenceModel, engine_inputs, params_dict, run_engine, synthetic_inputs
    from migrants.config import load_scenario

    p = load_scenario("baseline").decisions
    out = {}
    J = 32
    for n in (10_000, 100_000):
        inp = synthetic_inputs(n, J=J, seed=1)
        ref = ReferenceModel(**inp, params=params_dict(p), rng=1)
        times = []
        for r in range(max(1, repeats if n <= 10_000 else min(repeats, 3))):
            t = time.perf_counter()
            ref.step()
            times.append((time.perf_counter() - t) / n * 1e9)
        out[f"mesa_reference_N{n}"] = stats(times)
        print(fmt(f"Mesa reference, N={n:.0e}, per agent-month", stats(times)), flush=True)
        del ref
    for threads in (numba.config.NUMBA_NUM_THREADS, 1):
        numba.set_num_threads(threads)
        for n in (100_000, 1_000_000):
            e = engine_inputs(synthetic_inputs(n, J=J, seed=1), p)
            run_engine(e, 0)  # compile / warm
            times = []
            for r in range(repeats):
                t = time.perf_counter()
                run_engine(e, r + 1)
                times.append((time.perf_counter() - t) / n * 1e9)
            out[f"engine_N{n}_threads{threads}"] = stats(times)
            print(fmt(f"engine, N={n:.0e}, {threads} thread(s), per agent-month", stats(times)), flush=True)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    ratio = out["mesa_reference_N100000"][0] / out[f"engine_N100000_threads{numba.config.NUMBA_NUM_THREADS}"][0]
    out["speedup_N1e5"] = ratio
    print(f"speed-up at N=1e5 (medians, same run): {ratio:.0f}x", flush=True)
    return out


CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from migrants import MigrationModel
m = MigrationModel(scenario=sys.argv[1], scale=int(sys.argv[2]), rng=1)
t1 = time.perf_counter()
months = int(sys.argv[3])
step_times = []
for i in range(months):
    t = time.perf_counter(); m.step(); step_times.append(time.perf_counter() - t)
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"init_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0, "agents": int(m.people.n),
                  "month_s_median": sorted(step_times)[len(step_times)//2] if step_times else None,
                  "month_s_max": max(step_times) if step_times else None,
                  "peak_bytes": peak, "population_bytes": int(m.people.nbytes)}))
"""


def bench_run(scenario: str, scale: int, months: int, repeats: int) -> dict:
    res = []
    for _ in range(repeats):
        r = subprocess.run([sys.executable, "-c", CHILD, scenario, str(scale), str(months)], capture_output=True,
                           text=True, check=True)
        res.append(json.loads(r.stdout.strip().splitlines()[-1]))
    out = {k: stats([x[k] for x in res]) for k in ("init_s", "run_s", "total_s", "peak_bytes", "month_s_median")}
    out["agents"] = res[0]["agents"]
    out["bytes_per_agent_peak"] = stats([x["peak_bytes"] / x["agents"] for x in res])
    out["bytes_per_agent_columns"] = res[0]["population_bytes"] / res[0]["agents"]
    label = f"{scenario} scale={scale} {months} months"
    print(fmt(f"{label}: total", out["total_s"], "s"))
    print(fmt(f"{label}: run (excl. init)", out["run_s"], "s"))
    print(fmt(f"{label}: per month", out["month_s_median"], "s"))
    print(fmt(f"{label}: peak RSS", tuple(x / 2**30 for x in out["peak_bytes"]), "GiB"))
    print(fmt(f"{label}: peak bytes per agent ({out['agents']:,} agents)", out["bytes_per_agent_peak"], "B"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="skip the full-scale run")
    ap.add_argument("--only", choices=["a", "b", "c"])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    out = {}
    if a.only in (None, "a"):
        out["decisions"] = bench_decisions(a.repeats)
    if a.only in (None, "b"):
        out["baseline_default_120"] = bench_run("baseline", 100, 120, max(1, min(a.repeats, 3)))
    if a.only == "c" or (a.only is None and not a.quick):
        out["full_scale_12"] = bench_run("baseline", 1, 12, 1)
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
