"""Speed of the history and the backtest.  Run: ``.venv/bin/python benchmarks/bench_history.py``.

(a) ``migrants run history`` at the default scale (120 months from 2010-11): wall time
    of a fresh process (imports and cached kernels included) and the model's own
    time (``run.json`` timings: init + steps).  Target: under 60 s.
(b) ``migrants backtest --seeds 3`` at the default scale with ``--jobs 1`` and
    ``--jobs 2``: wall time.  Target: under 5 minutes.
Medians over ``--repeats`` runs with min-max, all measured in this run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIGRANTS = str(Path(sys.executable).with_name("migrants"))


def stats(xs):
    xs = np.asarray(xs, float)
    return f"median {np.median(xs):6.1f} s  (min {xs.min():.1f}, max {xs.max():.1f}, n={len(xs)})"


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-backtest", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([MIGRANTS, "run", "tiny", "--quiet", "--out", f"{tmp}/warm"], check=True)  # warm the cache
        wall, model = [], []
        for k in range(a.repeats):
            out = f"{tmp}/h{k}"
            wall.append(timed([MIGRANTS, "run", "history", "--quiet", "--out", out]))
            t = json.loads(Path(out, "run.json").read_text())["timings"]
            model.append(t["init_s"] + t["step_s"])
        print(f"(a) history, default scale, 120 months  wall  {stats(wall)}")
        print(f"                                         model {stats(model)}")
        if a.skip_backtest:
            return
        for jobs in (1, 2):
            ts = [timed([MIGRANTS, "backtest", "--seeds", "3", "--jobs", str(jobs), "--quiet", "--out",
                         f"{tmp}/b{jobs}{k}"]) for k in range(max(1, a.repeats - 1))]
            print(f"(b) backtest, 3 seeds, --jobs {jobs}             wall  {stats(ts)}")


if __name__ == "__main__":
    main()
