"""Fixtures of the experiment-runner tests: the shipped tiny spec, spec variants,
the ``migrants`` console script, and a reference sweep run once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "experiments" / "tiny.yaml"
MIGRANTS = Path(sys.executable).parent / "migrants"  # .venv/bin/migrants


def tiny_dict() -> dict:
    return yaml.safe_load(TINY.read_text())


def write_spec(folder: Path, name: str = "spec.yaml", **changes) -> Path:
    """The tiny spec with top-level fields replaced; returns its path."""
    data = tiny_dict()
    data.update(changes)
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def migrants_cli(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    """Run the installed console script (a new process, as a user would)."""
    return subprocess.run([str(MIGRANTS), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, **kw)


@pytest.fixture(scope="session")
def reference_sweep(tmp_path_factory):
    """experiments/tiny.yaml run uninterrupted, serially, in this process (one numba thread per
    run: the results do not depend on it, and it keeps the tests fast on a busy machine)."""
    from migrants.experiments import run_sweep

    out = tmp_path_factory.mktemp("ref") / "tiny"
    res = run_sweep(TINY, out, jobs=1, threads_per_run=1, progress=False, echo=None)
    assert res.failed == 0 and res.finished == res.total == 10
    return out
