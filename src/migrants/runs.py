"""A run's folder: where a run writes, and its tables written as one unit.

>>> from migrants import MigrationModel
>>> from migrants.runs import write_run
>>> m = MigrationModel(scenario="tiny", rng=1).run(12)
>>> write_run(m, "results/my_tiny")            # city_month, flows, policy_month, run.json
PosixPath('results/my_tiny')

``migrants run`` writes the same folder the same way.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import ConfigError
from .io import write_folder
from .provenance import versions

RUN_FILES = ("city_month.parquet", "flows.parquet", "policy_month.parquet", "run.json")


def holds_run(folder: Path) -> bool:
    """Does ``folder`` hold an earlier run?"""
    return (folder / "run.json").exists() or (folder / "city_month.parquet").exists()


def run_folder(out: str | Path | None, name: str, force: bool = False) -> Path:
    """Where a run writes: ``out``, refused if it holds an earlier run (unless ``force``); by
    default ``results/<name>``, or the first of ``results/<name>-2``, ``-3``, ... that holds none.

    Raises ConfigError for an ``out`` that is a file, cannot be written, or holds a run.
    """
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: is a file; expected a folder")
        ancestor = next(p for p in [out, *out.parents] if p.exists())
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out}: {ancestor} cannot be written to; expected a folder you can write in")
        if holds_run(out) and not force:
            raise ConfigError(f"--out {out}: holds an earlier run (run.json); use --force to replace it, "
                              "or another --out")
        return out
    base = Path("results") / re.sub(r"[^A-Za-z0-9_.+-]", "_", name)  # one folder inside results/
    folder, k = base, 1
    while holds_run(folder) and not force:
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    return folder


def run_metadata(model, *, name: str | None = None, overrides: dict | None = None, wall_s: float | None = None,
                 command: list[str] | None = None) -> dict:
    """run.json of a model that has run: scenario and config, seed, scale, months, versions,
    timings, the policy cards' totals and warnings."""
    cfg = model.config
    return {
        "run": name or cfg.name, "command": command if command is not None else ["python", *sys.argv],
        "overrides": dict(overrides or {}), "scenario": cfg.name, "config": cfg.model_dump(mode="json"),
        "seed": cfg.seed, "scale": model.scale, "months": model.month, "start": cfg.start, "end": model.date,
        "versions": versions(), "timings": {"wall_s": wall_s, **model.timings}, "agents_end": int(model.people.n),
        "policy_totals": model.policy_totals(), "warnings": list(model.policy.warnings),
    }


def write_run(model, out: str | Path, **meta) -> Path:
    """Write a run's tables (city_month, flows, policy_month) and run.json into ``out`` as one
    unit: a reader sees the earlier complete set or the new one, never a mix.  ``meta``:
    ``name``, ``overrides``, ``wall_s``, ``command`` for run.json (``run_metadata``)."""
    out = Path(out)
    write_folder(out, {"city_month.parquet": model.city_frame(), "flows.parquet": model.flows_frame(),
                       "policy_month.parquet": model.policy_frame(), "run.json": run_metadata(model, **meta)})
    return out
