"""Digests of the outputs of a fixed set of runs: a refactor must leave them byte-identical.

    python -m tests.refactor.digests            # print the digests and compare with the file
    python -m tests.refactor.digests --write    # record them (only when a change of the
                                                # outputs is meant: say why in the commit)

Each case is a small run (the ``tiny`` preset, the baseline and every policy package at a
coarse scale, the history, a compare and a sweep); its digest is a SHA-256 over the column
names, dtypes and cell values of every table it writes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

FILE = Path(__file__).with_name("digests.json")

#: scenario, months, scale (persons per agent), seed; the policy packages run to 2025, so that
#: every card (the last starts in November 2024) acts
MODEL_CASES = {
    "tiny": ("tiny", 14, None, 7),
    "baseline": ("baseline", 14, 5000, 11),
    "history": ("history", 14, 5000, 12),
    "affordable_housing_75k": ("affordable_housing_75k", 50, 3000, 13),
    "all_levers": ("all_levers", 50, 3000, 14),
    "dalian_vouchers_2024": ("dalian_vouchers_2024", 50, 3000, 15),
    "family_support": ("family_support", 50, 3000, 16),
    "jobs_programmes": ("jobs_programmes", 50, 3000, 17),
    "metro_shared_employment": ("metro_shared_employment", 50, 3000, 18),
    "shenyang_talent_3_0": ("shenyang_talent_3_0", 50, 3000, 19),
    "zero_threshold_hukou": ("zero_threshold_hukou", 50, 3000, 20),
}


def frame_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a table's columns, dtypes and values (not of a file's bytes, which
    carry library versions)."""
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df.reset_index(drop=True), index=False).to_numpy().tobytes())
    return h.hexdigest()


def model_case(scenario: str, months: int, scale: int | None, seed: int) -> dict:
    from migrants import MigrationModel

    m = MigrationModel(scenario=scenario, rng=seed, scale=scale, months=months)
    m.run()
    return {"city_month": frame_digest(m.city_frame()), "flows": frame_digest(m.flows_frame()),
            "policy_month": frame_digest(m.policy_frame())}


def compare_case() -> dict:
    from migrants.compare import compare

    table, _meta, reps = compare("tiny", "shenyang_talent_3_0", replicates=2, months=8, seed=5)
    return {"compare": frame_digest(table), "replicates": frame_digest(reps)}


def sweep_case() -> dict:
    from migrants.experiments.runner import run_sweep

    spec = Path(__file__).resolve().parents[2] / "experiments" / "tiny.yaml"
    import yaml

    doc = yaml.safe_load(spec.read_text())
    doc["months"], doc["replicates"] = 6, 1
    doc["scenario"] = "tiny"
    with tempfile.TemporaryDirectory() as tmp:
        res = run_sweep(doc, Path(tmp) / "sweep", jobs=1, progress=False, echo=None)
        summary = res.summary.sort_values("run_id").reset_index(drop=True)
        keep = [c for c in summary.columns if c not in ("wall_s", "seconds", "elapsed_s")]
        return {"summary": frame_digest(summary[keep])}


def all_digests() -> dict:
    out = {name: model_case(*case) for name, case in MODEL_CASES.items()}
    out["compare"] = compare_case()
    out["sweep"] = sweep_case()
    return out


def main(argv: list[str]) -> int:
    got = all_digests()
    if "--write" in argv:
        FILE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {FILE}")
        return 0
    want = json.loads(FILE.read_text()) if FILE.exists() else {}
    bad = [f"{c}/{t}" for c in got for t in got[c] if want.get(c, {}).get(t) != got[c][t]]
    print("identical" if not bad else "changed: " + ", ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
