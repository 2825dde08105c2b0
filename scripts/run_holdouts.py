"""Leave-one-province-out: recalibrate without each northeastern province, then backtest it.

    .venv/bin/python scripts/run_holdouts.py                    # the four provinces, --jobs 2
    .venv/bin/python scripts/run_holdouts.py --provinces Jilin  # one

For each province P: ``migrants calibrate experiments/calibrate_history.yaml --holdout P
--out results/holdout/P --resume`` (P's cities and P itself out of the fit; P's amenity tied to
the mean of the other provinces'), then ``migrants backtest --calibration results/holdout/P
--holdout P --out results/holdout/P/backtest``.  Resumable: a finished step is not redone.
``scripts/make_validation.py`` reads the results into docs/validation.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIGRANTS = str(Path(sys.executable).with_name("migrants"))
NORTHEAST = ["Liaoning", "Jilin", "Heilongjiang", "Inner Mongolia"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provinces", nargs="*", default=NORTHEAST)
    ap.add_argument("--spec", default="experiments/calibrate_history.yaml")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "holdout")
    ap.add_argument("--waves", type=int, default=None, help="fewer waves than the spec's (time); same otherwise")
    a = ap.parse_args()
    spec = a.spec
    if a.waves is not None:  # the same spec with fewer waves, written beside the results
        import yaml

        data = yaml.safe_load((ROOT / a.spec).read_text())
        data["method"]["waves"] = a.waves
        data["name"] = f"{data['name']}_w{a.waves}"
        a.out.mkdir(parents=True, exist_ok=True)
        spec = str(a.out / "spec.yaml")
        Path(spec).write_text(yaml.safe_dump(data, sort_keys=False))
    for p in a.provinces:
        folder = a.out / p.replace(" ", "_")
        if not (folder / "fit.json").exists():
            subprocess.run([MIGRANTS, "calibrate", spec, "--holdout", p, "--jobs", str(a.jobs), "--out",
                            str(folder), "--resume"], check=True, cwd=ROOT)
        if not (folder / "backtest" / "summary_holdout.parquet").exists():
            subprocess.run([MIGRANTS, "backtest", "--calibration", str(folder), "--holdout", p, "--seeds",
                            str(a.seeds), "--jobs", str(a.jobs), "--out", str(folder / "backtest")], check=True,
                           cwd=ROOT)


if __name__ == "__main__":
    main()
