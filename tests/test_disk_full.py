"""A full disk: a run or sweep that hits ENOSPC ends with exit 2 and one line, nothing partial left;
--out is checked for free space before the simulation starts.  (No small file system can be mounted
here, so the writes are made to fail the way a full disk makes them fail.)"""

from __future__ import annotations

import errno
import json
from collections import namedtuple
from pathlib import Path

import pandas as pd
import pytest

import migrants.io as mio
from migrants.cli import main
from migrants.errors import ConfigError, DiskFull

ROOT = Path(__file__).resolve().parents[1]
TINY_SPEC = ROOT / "experiments" / "tiny.yaml"


def full_after(monkeypatch, n_ok: int):
    """Make every parquet write after the first ``n_ok`` fail as a full disk does (half a file written)."""
    calls = {"n": 0}
    orig = pd.DataFrame.to_parquet

    def to_parquet(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] > n_ok:
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
        return orig(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    return calls


def one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def hidden_or_partial(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.name
            or p.name.startswith(".old")]


def test_a_run_that_fills_the_disk_leaves_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    full_after(monkeypatch, 1)  # city_month lands, flows.parquet does not
    code = main(["run", "tiny", "--months", "1", "--quiet", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "disk is full" in line and "nothing was written" in line
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no lock file either


def test_a_run_that_fills_the_disk_keeps_the_earlier_run_whole(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    mio.write_folder(out, {"run.json": {"seed": 1}, "city_month.parquet": pd.DataFrame({"a": [1]})})
    full_after(monkeypatch, 0)
    with pytest.raises(DiskFull, match="earlier run there is kept whole"):
        mio.write_folder(out, {"run.json": {"seed": 2}, "city_month.parquet": pd.DataFrame({"a": [2]})})
    assert json.loads((out / "run.json").read_text()) == {"seed": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert hidden_or_partial(tmp_path) == []


def test_a_sweep_that_fills_the_disk_stops_with_one_line_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "sweep"
    calls = full_after(monkeypatch, 3)
    code = main(["sweep", str(TINY_SPEC), "--quiet", "--threads-per-run", "1", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "disk is full" in line and "--resume" in line and "3 finished runs" in line
    assert hidden_or_partial(out) == []
    runs = sorted((out / "runs").glob("*.parquet"))
    assert len(runs) == 3 and all(len(pd.read_parquet(p)) for p in runs)  # whole files only
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    calls["n"] = -10 ** 9  # space freed
    code = main(["sweep", str(TINY_SPEC), "--quiet", "--threads-per-run", "1", "--out", str(out), "--resume"])
    assert code == 0, capsys.readouterr().err
    assert len(pd.read_parquet(out / "summary.parquet")) == 10


Usage = namedtuple("Usage", "total used free")


def test_out_without_free_space_is_refused_before_the_simulation(tmp_path, capsys, monkeypatch):
    import migrants.model

    monkeypatch.setattr(mio.shutil, "disk_usage", lambda p: Usage(10 ** 12, 10 ** 12 - 5 * 2 ** 20, 5 * 2 ** 20))

    def never(*a, **k):
        raise AssertionError("the model was built")

    monkeypatch.setattr(migrants.model.MigrationModel, "__init__", never)
    out = tmp_path / "run"
    code = main(["run", "tiny", "--months", "1", "--quiet", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "5.0 MB free" in line and "at least 64 MB" in line
    assert not out.exists()
    code = main(["sweep", str(TINY_SPEC), "--quiet", "--out", str(tmp_path / "sweep")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "MB free" in line
    assert not (tmp_path / "sweep").exists()


def test_other_write_errors_are_not_called_a_full_disk(tmp_path, monkeypatch):
    def denied(self, path, *a, **k):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", denied)
    with pytest.raises(OSError) as e:
        mio.write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "x.parquet")
    assert not isinstance(e.value, ConfigError)
    assert list(tmp_path.iterdir()) == []


SMALL_CALIBRATION = {
    "name": "small", "scenario": "history", "seed": 7, "replicates": 1,
    "overrides": {"scale": 20000, "cities": ["Shenyang", "Anshan", "Fushun", "Benxi", "Fuxin", "Liaoyang", "Tieling",
                                             "Dalian", "Changchun", "Harbin", "Beijing"]},
    "free": [{"path": "decisions.consider_base_month", "bounds": [0.004, 0.02], "log": True}],
    "targets": [{"kind": "city", "target": "population", "sd_pct": 3.0}],
    "method": {"waves": 1, "points_per_wave": 4, "candidates": 100, "posterior_draws": 100, "leaders": 1,
               "leader_seeds": 1},
}


def test_a_calibration_that_fills_the_disk_stops_with_one_line_and_resumes(tmp_path, capsys, monkeypatch):
    import yaml

    spec = tmp_path / "small.yaml"
    spec.write_text(yaml.safe_dump(SMALL_CALIBRATION))
    out = tmp_path / "cal"
    calls = full_after(monkeypatch, 3)  # three runs land, the fourth does not
    code = main(["calibrate", str(spec), "--quiet", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "disk is full" in line and "3 finished runs" in line and "--resume" in line
    assert hidden_or_partial(tmp_path) == [] and not (tmp_path / ".cal.lock").exists()
    runs = sorted((out / "runs").glob("*.parquet"))
    assert len(runs) == 3 and all(len(pd.read_parquet(p)) == 1 for p in runs)  # whole files only
    kept = {p.name: p.read_bytes() for p in runs}
    assert not (out / "posterior.parquet").exists()
    calls["n"] = -10 ** 9  # space freed
    code = main(["calibrate", str(spec), "--quiet", "--out", str(out), "--resume"])
    assert code == 0, capsys.readouterr().err
    fit = json.loads((out / "fit.json").read_text())
    assert fit["runs"]["total"] == 4 + 1 + 1 and (out / "posterior.parquet").exists()
    assert {p.name: p.read_bytes() for p in runs} == kept  # the finished runs were kept, not redone


def test_an_ensemble_that_fills_the_disk_leaves_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ens"
    full_after(monkeypatch, 2)  # the members' mean lands, their stacked rows do not
    code = main(["run", "tiny", "--months", "1", "--ensemble", "2", "--quiet", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "disk is full" in line and "nothing was written" in line
    assert list(tmp_path.iterdir()) == []  # no folder, no stage, no lock
