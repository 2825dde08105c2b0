"""Ship a finished calibration: its estimate into configs/scenarios/baseline.yaml, its posterior
into configs/calibration/.

    .venv/bin/python scripts/ship_calibration.py results/calibrate_history

Each free parameter's line in baseline.yaml (the `history` scenario extends it) gets the value
of the calibration's best simulated run, ``basis: calibrated`` and a ``source`` naming the spec,
the date, the targets and the posterior's 90% interval; comments and every other line stay as
they are.  ``configs/calibration/posterior.parquet`` is the posterior (``migrants run/compare
--ensemble K`` and ``ensemble: K`` in sweeps draw from it), ``fit.json`` the calibration's record.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "scenarios" / "baseline.yaml"
DEST = ROOT / "configs" / "calibration"


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def set_param(text: str, path: str, value: float, source: str) -> str:
    """Replace the one-line Param at dotted ``path`` (section.key or section.group.key)."""
    keys = path.split(".")
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line == f"{keys[0]}:")  # the section
    indent = "  "
    for depth, key in enumerate(keys[1:], start=1):
        pat = re.compile(rf"^{indent}{re.escape(key)}:")
        i = next(k for k in range(i + 1, len(lines)) if pat.match(lines[k]))
        if depth < len(keys) - 1:
            indent += "  "
    src = source.replace('"', "'")
    lines[i] = f'{indent}{keys[-1]}: {{value: {_fmt(value)}, basis: calibrated, source: "{src}"}}'
    return "\n".join(lines)


def main(folder: str) -> None:
    folder = Path(folder)
    fit = json.loads((folder / "fit.json").read_text())
    spec = json.loads((folder / "spec.json").read_text())["spec"]
    if fit.get("holdout"):
        raise SystemExit(f"{folder}: a holdout calibration (without {fit['holdout']}); ship the full one")
    groups = "; ".join(f"{g['kind']} {g['target']}" + (f" {','.join(g['dates'])}" if g.get("dates") else "")
                       + f" (sd {g['sd_pct']:g}%)" for g in fit["targets"]["groups"])
    today = date.today().isoformat()
    text = BASELINE.read_text()
    for p in fit["free"]:
        path = p["path"]
        est = fit["estimate"][path]
        how = "the polish's end point" if (fit.get("polish") or {}).get("adopted") else "the best leader"
        source = (f"experiments/{spec['name']}.yaml ({today}): {how} of {fit['runs']['total']} simulated decades "
                  f"2010-2020 (distance {fit['best_run']['distance']:.2f}); posterior 90% {_fmt(est['q05'])} to "
                  f"{_fmt(est['q95'])}; targets: {groups}; configs/calibration/fit.json")
        text = set_param(text, path, float(fit["best_run"][path]), source)
    BASELINE.write_text(text)
    DEST.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "posterior.parquet", DEST / "posterior.parquet")
    shutil.copy(folder / "fit.json", DEST / "fit.json")
    print(f"wrote {BASELINE.relative_to(ROOT)} ({len(fit['free'])} parameters), "
          f"{(DEST / 'posterior.parquet').relative_to(ROOT)}, {(DEST / 'fit.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1])
