"""The result folder of a sweep.

::

    OUT/manifest.json        spec, its hash, code version, root seed, design, run plan, status
    OUT/runs/<run_id>.parquet one file per finished run (its KPI rows), written atomically
    OUT/errors.parquet       one row per failed run: ids, factors, seed, error, traceback
    OUT/summary.parquet      one row per finished run: ids, factors, seed, final KPIs (rebuilt from runs/)

A run file is complete or absent (temp file + ``os.replace``), so a sweep may
be killed at any moment; ``--resume`` then runs exactly the runs without a
file.  ``pandas.read_parquet("OUT/runs")`` or DuckDB's
``read_parquet('OUT/runs/*.parquet')`` open every run's rows at once.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ..errors import ConfigError
from ..io import write_json, write_parquet
from .spec import HASH_EXCLUDE

#: Columns of a run file that vary from one execution to the next (left out of the summary).
TIMING_COLUMNS = ("model_s", "worker")
ERROR_COLUMNS = ("error_type", "error", "traceback", "worker")
ERRORS_EVERY_S = 2.0


class Store:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.manifest_path = self.out / "manifest.json"
        self.runs_dir = self.out / "runs"
        self.errors_path = self.out / "errors.parquet"
        self.summary_path = self.out / "summary.parquet"
        self._errors: pd.DataFrame | None = None
        self._errors_written = -float("inf")

    # ------------------------------------------------------------ manifest
    def read_manifest(self) -> dict | None:
        if not self.manifest_path.exists():
            return None
        try:
            m = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"{self.manifest_path}: cannot be read ({e}); remove the folder or choose another --out") from None
        if not isinstance(m, dict) or "spec_hash" not in m or not isinstance(m.get("runs"), list):
            raise ConfigError(f"{self.manifest_path}: holds {str(m)[:60]!r}, not a sweep manifest (expected the spec, "
                              "its hash and the run plan); remove the folder or choose another --out")
        return m

    def check(self, manifest: dict, resume: bool) -> tuple[dict, list[str]]:
        """Check ``OUT`` against this sweep; nothing is written.

        Returns the manifest to write (keeping the first session's ``created``)
        and warnings to show.  Raises ConfigError if ``OUT`` holds another
        sweep, a sweep without ``resume``, or other files.
        """
        warnings: list[str] = []
        old = self.read_manifest()
        if old is not None and not resume:
            raise ConfigError(f"--out {self.out}: already holds a sweep ({old.get('spec', {}).get('name')!r}, "
                              f"{old.get('status')}); pass --resume to finish it, or choose another --out")
        if old is None and self.out.exists() and any(
                not p.name.endswith(".tmp") and not (p == self.runs_dir and not any(p.iterdir()))
                for p in self.out.iterdir()):
            raise ConfigError(f"--out {self.out}: the folder is not empty and has no manifest.json; "
                              "expected a new or empty folder, or a sweep folder to --resume")
        if old is not None:
            if old.get("spec_hash") != manifest["spec_hash"]:
                diff = _differing_fields(old.get("spec", {}), manifest["spec"])
                if old.get("scenario", {}).get("hash") != manifest["scenario"]["hash"]:
                    diff.append("the base scenario file's content")
                raise ConfigError(
                    f"--resume {self.out}: the spec differs from the one this sweep was started with "
                    f"(hash {old.get('spec_hash', '?')[:12]} in manifest.json, {manifest['spec_hash'][:12]} now; "
                    f"differs in: {', '.join(diff) or 'unknown fields'}); resuming would mix results. "
                    "Restore the spec, or run it into another --out")
            if old.get("code_version") != manifest["code_version"]:
                warnings.append(f"code version differs from the sweep's start ({old.get('code_version')} then, "
                                f"{manifest['code_version']} now); finished runs are kept")
            manifest = {**manifest, "created": old.get("created", manifest["created"]),
                        "resumed": old.get("resumed", 0) + 1}
        return manifest, warnings

    def start(self, manifest: dict) -> None:
        """Create the folders, remove temp files of a killed write, write the manifest."""
        if self.runs_dir.exists() and not self.runs_dir.is_dir():
            raise ConfigError(f"--out {self.out}: `runs` is a file, not the folder of run results; "
                              "remove it (its runs are lost) or choose another --out")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.out.glob(".*.tmp"):  # left by a killed write
            tmp.unlink(missing_ok=True)
        for tmp in self.runs_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        write_json(manifest, self.manifest_path)

    def update_manifest(self, **fields) -> None:
        m = self.read_manifest() or {}
        m.update(fields)
        write_json(m, self.manifest_path)

    # ------------------------------------------------------------ runs
    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.parquet"

    def quarantine(self, kpi_columns: list[str]) -> list[str]:
        """Move damaged run files (unreadable, empty, without the run's columns) and an unreadable
        errors.parquet to ``OUT/damaged/``, so that ``--resume`` runs those runs again.

        Returns one warning per file moved.  A file is complete or absent when this code wrote
        it; damage comes from outside (a disk that filled up, a copy cut short, a hand edit).
        """
        warnings, damaged = [], self.out / "damaged"
        need = {"run_id", "month", *kpi_columns}

        def move(path: Path, why: str) -> None:
            damaged.mkdir(exist_ok=True)
            path.replace(damaged / path.name)
            warnings.append(f"{path.relative_to(self.out)}: {why}; moved to damaged/ (the run is done again)")

        for path in sorted(self.runs_dir.glob("*.parquet")) if self.runs_dir.is_dir() else []:
            if path.name.startswith("."):
                continue
            try:
                meta = pq.read_metadata(path)
                missing = need - set(meta.schema.names)
                if meta.num_rows == 0:
                    move(path, "holds no rows")
                elif missing:
                    move(path, f"lacks the columns {sorted(missing)}")
            except Exception as e:  # noqa: BLE001 - any unreadable file is damaged
                move(path, f"cannot be read ({type(e).__name__})")
        if self.errors_path.exists():
            try:
                pq.read_table(self.errors_path)
            except Exception as e:  # noqa: BLE001
                move(self.errors_path, f"cannot be read ({type(e).__name__}); the failed runs it listed run again")
        return warnings

    def done_ids(self) -> set[str]:
        if not self.runs_dir.exists():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.parquet") if not p.name.startswith(".")}

    def write_run(self, run_id: str, table: pd.DataFrame) -> None:
        write_parquet(table, self.run_path(run_id))

    # ------------------------------------------------------------ errors
    def load_errors(self, planned: set[str]) -> None:
        """Errors of earlier sessions, minus runs that have since finished or left the plan."""
        if self.errors_path.exists():
            df = pd.read_parquet(self.errors_path)
            done = self.done_ids()
            self._errors = df[df["run_id"].isin(planned) & ~df["run_id"].isin(done)].reset_index(drop=True)
        else:
            self._errors = None

    def forget_errors(self, run_ids) -> None:
        if self._errors is not None and len(self._errors):
            self._errors = self._errors[~self._errors["run_id"].isin(set(run_ids))].reset_index(drop=True)

    def add_error(self, row: pd.DataFrame) -> None:
        """Record one failed run (a one-row frame); errors.parquet is rewritten at most every
        ERRORS_EVERY_S seconds and at the end (a failed run has no run file, so a kill loses nothing:
        ``--resume`` runs it again)."""
        parts = [df for df in (self._errors, row) if df is not None and len(df)]
        self._errors = pd.concat(parts, ignore_index=True) if len(parts) > 1 else row.reset_index(drop=True)
        if time.monotonic() - self._errors_written >= ERRORS_EVERY_S:
            self.write_errors()

    def write_errors(self, columns: list[str] | None = None) -> pd.DataFrame:
        df = self._errors
        if df is None:
            df = pd.DataFrame({c: pd.Series(dtype="str") for c in (columns or ["run_id", *ERROR_COLUMNS])})
        df = df.sort_values("run_id").reset_index(drop=True)
        write_parquet(df, self.errors_path)
        self._errors_written = time.monotonic()
        return df

    # ------------------------------------------------------------ summary
    def rebuild_summary(self, planned: list[str] | None = None) -> pd.DataFrame:
        """summary.parquet from runs/: each run's last KPI row, sorted by run id."""
        ids = sorted(self.done_ids() if planned is None else self.done_ids() & set(planned))
        rows = []
        for rid in ids:
            t = pq.read_table(self.run_path(rid)).to_pandas()
            rows.append(t.loc[[t["month"].idxmax()]])
        if rows:
            df = pd.concat(rows, ignore_index=True)
            df = df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])
        else:
            df = pd.DataFrame({"run_id": pd.Series(dtype="str")})
        df = df.sort_values("run_id").reset_index(drop=True)
        write_parquet(df, self.summary_path)
        return df

    def read_runs(self) -> pd.DataFrame:
        """Every row of every run file (for monthly or yearly KPIs)."""
        files = sorted(self.runs_dir.glob("*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _differing_fields(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        if not prefix and k in HASH_EXCLUDE:
            continue
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differing_fields(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}")
    return out


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
