"""Benchmark of the experiment runner.

1. Parallel efficiency of ``migrants sweep --jobs 2`` against ``--jobs 1`` on a
   fixed small sweep (the ``tiny`` scenario, 4 design points x replicates),
   every run single-threaded (``--threads-per-run 1``) so that the two cores
   are the runner's to use: E = T(1 job) / (2 x T(2 jobs)).  Reported for the
   sweep's own wall time (from the manifest: planning, worker start-up, runs,
   writes, summary) and for the whole command (with the interpreter start).
2. The runner's overhead per run on ``experiments/tiny.yaml`` with ``--jobs 1``:
   (sweep wall time - sum of the runs' model build + run times) / runs.

Medians over ``--repeats`` with the range (min-max).  Jobs 1 and 2 alternate
within each repeat so that load from other processes hits both alike, and each
repeat starts with a control: the efficiency of two plain CPU-bound processes
at once, which is what the machine can give at that moment (about 100% idle,
about 50% when other work takes a core); the sweep's efficiency is also given
relative to it.

    .venv/bin/python benchmarks/bench_sweep.py [--repeats 3] [--replicates 10] [--months 60]

The machine should be otherwise idle: the load average before and after is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MIGRANTS = Path(sys.executable).parent / "migrants"


def sweep(spec: Path, out: Path, jobs: int, threads: int | None = 1) -> dict:
    args = [str(MIGRANTS), "sweep", str(spec), "--jobs", str(jobs), "--out", str(out), "--quiet"]
    if threads:
        args += ["--threads-per-run", str(threads)]
    t0 = time.perf_counter()
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        detail = r.stderr
        if (out / "errors.parquet").exists():
            import pandas as pd

            err = pd.read_parquet(out / "errors.parquet")
            detail += f"{len(err)} failed runs; first traceback:\n{err['traceback'].iloc[0] if len(err) else ''}"
        raise SystemExit(f"sweep failed ({r.returncode}):\n{detail}")
    m = json.loads((out / "manifest.json").read_text())
    s = m["last_session"]
    return {"cli_s": wall, "sweep_s": s["wall_s"], "model_s": s["model_s"], "runs": s["ran"]}


SPIN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(15_000_000): x += i\nprint(time.perf_counter() - t)"


def machine_efficiency() -> float:
    """What 2 cores give right now: one CPU-bound process alone against two at once (1.0 on an idle
    2-core machine, about 0.5 when other work takes a core).  A control for a shared machine."""
    alone = float(subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = [float(p.communicate()[0]) for p in procs]
    return alone / max(both)


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3g} ({min(xs):.3g}-{max(xs):.3g})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=10, help="replicates of each of the 4 design points")
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()

    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    spec = {
        "name": "bench", "scenario": "tiny", "months": a.months, "seed": 1, "replicates": a.replicates,
        "factors": [{"path": "decisions.beta_income", "levels": [1.0, 2.0]},
                    {"path": "decisions.move_cost_fixed", "levels": [2.0, 4.0]}],
        "outputs": {"kpis": ["population_total", "population_shenyang_metro", "subsidy_spend_cny"]},
    }
    spec_path = tmp / "bench.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    n_runs = 4 * a.replicates
    res: dict[int, list[dict]] = {1: [], 2: []}
    control = []
    for rep in range(a.repeats):
        control.append(machine_efficiency())
        print(f"  repeat {rep + 1}: two CPU-bound processes at once run at {100 * control[-1]:.0f}% "
              "of one alone", file=sys.stderr)
        for jobs in ((1, 2) if rep % 2 == 0 else (2, 1)):
            res[jobs].append(sweep(spec_path, tmp / f"eff_{jobs}_{rep}", jobs))
            r = res[jobs][-1]
            print(f"  repeat {rep + 1}, --jobs {jobs}: sweep {r['sweep_s']:.2f} s, command {r['cli_s']:.2f} s, "
                  f"sum of runs {r['model_s']:.2f} s", file=sys.stderr)
    eff_sweep = [r1["sweep_s"] / (2 * r2["sweep_s"]) for r1, r2 in zip(res[1], res[2])]
    eff_cli = [r1["cli_s"] / (2 * r2["cli_s"]) for r1, r2 in zip(res[1], res[2])]
    per_run = [r["model_s"] / r["runs"] for r in res[1]]

    over, over_cli, tiny_wall = [], [], []
    for rep in range(a.repeats):
        r = sweep(ROOT / "experiments" / "tiny.yaml", tmp / f"tiny_{rep}", 1, threads=None)
        over.append((r["sweep_s"] - r["model_s"]) / r["runs"])
        over_cli.append((r["cli_s"] - r["model_s"]) / r["runs"])
        tiny_wall.append(r["cli_s"])

    print(f"\nParallel efficiency, {n_runs} runs of the tiny scenario x {a.months} months, 1 thread per run; "
          f"median (min-max) over {a.repeats} repeats")
    print(f"  model time per run (serial)        {med(per_run)} s")
    print(f"  --jobs 1 sweep wall                {med([r['sweep_s'] for r in res[1]])} s")
    print(f"  --jobs 2 sweep wall                {med([r['sweep_s'] for r in res[2]])} s")
    print(f"  efficiency, sweep wall             {med([100 * e for e in eff_sweep])} %")
    print(f"  --jobs 1 command wall              {med([r['cli_s'] for r in res[1]])} s")
    print(f"  --jobs 2 command wall              {med([r['cli_s'] for r in res[2]])} s")
    print(f"  efficiency, whole command          {med([100 * e for e in eff_cli])} %")
    print(f"  control: 2 plain processes at once {med([100 * c for c in control])} % of one alone")
    print(f"  sweep efficiency / control         {med([100 * e / c for e, c in zip(eff_sweep, control)])} %")
    print("\nRunner overhead on experiments/tiny.yaml (10 runs, --jobs 1)")
    print(f"  command wall                       {med(tiny_wall)} s")
    print(f"  overhead per run, sweep            {med([1000 * x for x in over])} ms")
    print(f"  overhead per run, incl. start-up   {med([1000 * x for x in over_cli])} ms")
    print(f"\nload average (1, 5, 15 min): before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          "after {:.2f} {:.2f} {:.2f}; cores {}".format(*os.getloadavg(), os.cpu_count()))
    if a.json:
        a.json.write_text(json.dumps({"efficiency_sweep": eff_sweep, "efficiency_command": eff_cli, "control": control,
                                      "jobs1": res[1], "jobs2": res[2], "overhead_per_run_s": over,
                                      "overhead_per_run_with_startup_s": over_cli}, indent=2))


if __name__ == "__main__":
    main()
