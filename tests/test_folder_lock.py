"""The result-folder lock (io.FolderLock) leaves no file beside --out however a command ends (done,
exit 2 before or after the lock was taken, refused by another holder, Ctrl-C); only a killed holder
leaves it, and the next command takes it over."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from migrants.cli import main
from migrants.errors import ConfigError
from migrants.io import FolderLock, folder_in_use

ROOT = Path(__file__).resolve().parents[1]
TINY_SPEC = ROOT / "experiments" / "tiny.yaml"


def left(tmp_path: Path) -> list[str]:
    """Everything in tmp_path but the inputs a test wrote (*.yaml, *.csv)."""
    return sorted(p.name for p in tmp_path.iterdir() if p.suffix not in (".yaml", ".csv"))


def cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_a_run_leaves_no_lock_when_done_or_refused_before_or_after_taking_it(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = cli(capsys, "run", "tiny", "--months", "1", "--quiet", "--out", out)
    assert code == 0, err
    assert left(tmp_path) == ["run"]
    # refused before the lock: a bad override
    code, err = cli(capsys, "run", "tiny", "--set", "decisions.beta_income=abc", "--out", tmp_path / "bad")
    assert code == 2 and left(tmp_path) == ["run"]
    # refused after it: a data file read when the model is built
    (tmp_path / "cities.csv").write_text("name_en\nAtlantis\n")
    code, err = cli(capsys, "run", "tiny", "--months", "1", "--quiet", "--set",
                    f"data.cities={tmp_path / 'cities.csv'}", "--out", tmp_path / "late")
    assert code == 2 and "Traceback" not in err and left(tmp_path) == ["run"], err


def test_a_command_refused_by_a_held_lock_leaves_the_holders_lock_alone(tmp_path, capsys):
    out = tmp_path / "busy"
    with FolderLock(out) as lock:
        for args in (["run", "tiny", "--months", "1", "--quiet"], ["sweep", TINY_SPEC, "--quiet"]):
            code, err = cli(capsys, *args, "--out", out)
            assert code == 2 and "in use by pid" in err
            assert lock.path.read_text().startswith("pid") and folder_in_use(out)
    assert left(tmp_path) == []


def test_ctrl_c_releases_the_lock_and_removes_its_file(tmp_path, capsys, monkeypatch):
    import migrants.experiments.runner as runner
    import migrants.model

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(migrants.model.MigrationModel, "run", interrupted)
    code, _ = cli(capsys, "run", "tiny", "--months", "1", "--quiet", "--out", tmp_path / "run")
    assert code == 130 and left(tmp_path) == []
    monkeypatch.setattr(runner, "open_backend", interrupted)
    code, err = cli(capsys, "sweep", TINY_SPEC, "--quiet", "--out", tmp_path / "sweep")
    assert code == 130 and "--resume" in err
    assert left(tmp_path) == []


def test_calibrate_and_ensemble_leave_no_lock_on_a_failure_after_taking_it(tmp_path, capsys, monkeypatch):
    import migrants.ensemble as ens
    import migrants.experiments.backends as backends

    def broken(*a, **k):
        raise ConfigError("--backend loky: cannot start (a test)")

    monkeypatch.setattr(backends, "open_backend", broken)  # both open the backend after the lock
    monkeypatch.setattr(ens, "run_ensemble", broken)
    spec = tmp_path / "cal.yaml"
    spec.write_text(yaml.safe_dump({**yaml.safe_load((ROOT / "experiments" / "calibrate_tiny.yaml").read_text()),
                                    "name": "cal"}))
    code, err = cli(capsys, "calibrate", spec, "--quiet", "--out", tmp_path / "cal")
    assert code == 2 and "cannot start" in err
    code, err = cli(capsys, "run", "tiny", "--ensemble", "2", "--quiet", "--out", tmp_path / "ens")
    assert code == 2 and "cannot start" in err
    assert left(tmp_path) == []


HOLD = "import sys, time; from migrants.io import FolderLock; held = FolderLock(sys.argv[1]).__enter__(); print('held', flush=True); time.sleep(60)"


def test_a_killed_holders_lock_is_taken_over_and_then_removed(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"in use by pid {holder.pid}"):
            with FolderLock(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    lock = tmp_path / ".run.lock"
    assert lock.read_text() == f"pid {holder.pid}"  # SIGKILL runs no cleanup: the file stays, but the
    t0 = time.monotonic()                             # kernel dropped the lock: the next command takes it
    with FolderLock(out) as mine:
        assert mine.path.read_text().startswith("pid ") and mine.path.read_text() != f"pid {holder.pid}"
    assert time.monotonic() - t0 < 5 and not lock.exists() and not folder_in_use(out)
