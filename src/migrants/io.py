"""Atomic output: a file is either complete or absent, never half-written."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` atomically (temp file in the same folder, then rename)."""
    return _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_json(obj, path: Path) -> Path:
    """Write ``obj`` as indented JSON atomically."""

    def w(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, default=str)

    return _atomic(path, w)


def write_text(text: str, path: Path) -> Path:
    def w(tmp):
        Path(tmp).write_text(text, encoding="utf-8")

    return _atomic(path, w)


def write_folder(out: Path, files: dict) -> Path:
    """Write a run's files as one unit: all of them into a hidden sibling folder, then that
    folder into place with one rename (an earlier folder at ``out`` is moved aside first and
    removed after), so ``out`` holds either the earlier run or the whole new one, never a mix.

    files : {name: DataFrame (parquet), dict/list (JSON) or str (text)}.
    """
    import shutil

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, obj in files.items():
            if isinstance(obj, pd.DataFrame):
                write_parquet(obj, stage / name)
            elif isinstance(obj, str):
                write_text(obj, stage / name)
            else:
                write_json(obj, stage / name)
        os.chmod(stage, 0o777 & ~_umask())
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
