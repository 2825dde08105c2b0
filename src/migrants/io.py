"""Atomic output: a file is either complete or absent, never half-written."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .errors import ConfigError, DiskFull

#: free space a run needs in its --out before it starts (a baseline run writes about 10 MB)
MIN_FREE_BYTES = 64 * 2 ** 20
#: errno values meaning the disk (or the user's quota) is full
FULL = (errno.ENOSPC, errno.EDQUOT)


def free_bytes(path: Path) -> int:
    """Free space for an unprivileged user on the file system that holds (or will hold) ``path``."""
    path = Path(path).absolute()
    ancestor = next(p for p in [path, *path.parents] if p.exists())
    return shutil.disk_usage(ancestor).free


def check_free_space(path: Path, need: int = MIN_FREE_BYTES, what: str = "--out") -> None:
    """ConfigError before anything runs if ``path``'s file system has less than ``need`` bytes free."""
    free = free_bytes(path)
    if free < need:
        raise ConfigError(f"{what} {path}: {free / 2 ** 20:,.1f} MB free on its disk; expected at least "
                          f"{need / 2 ** 20:,.0f} MB: free some space or choose another {what}")


def _full(e: BaseException) -> bool:
    """Is ``e`` a full disk (also as pyarrow reports it, an OSError without errno)?"""
    return isinstance(e, OSError) and (e.errno in FULL or "No space left on device" in str(e)
                                       or "Disk quota exceeded" in str(e))


def _disk_full(path: Path) -> DiskFull:
    err = DiskFull(f"{path}: the disk is full (no space left on device); nothing of it was written")
    err.path = Path(path)
    return err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        if _full(e):
            raise _disk_full(path) from None
        raise
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if _full(e):
            raise _disk_full(path) from None
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
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as e:
        if _full(e):
            raise DiskFull(f"--out {out}: the disk is full; nothing was written") from None
        raise
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
    except DiskFull as e:
        shutil.rmtree(stage, ignore_errors=True)
        kept = " (the earlier run there is kept whole)" if out.exists() else ""
        raise DiskFull(f"--out {out}: the disk is full (writing {getattr(e, 'path', Path('?')).name}); "
                       f"nothing was written{kept}: free some space and run again") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


class FolderLock:
    """An exclusive lock on a result folder for the life of a command (``with FolderLock(out):``).

    The lock is ``fcntl.flock`` on a sibling file ``.<name>.lock`` (the folder itself may not
    exist yet, and must stay free of other files).  The holder removes the file when it lets go,
    however the command ends (done, exit 2, Ctrl-C); only a killed holder leaves it, and the
    kernel has dropped its flock, so the next command takes the file over.  A second command on
    the same folder gets ConfigError at once instead of running the same runs twice.
    """

    def __init__(self, out: Path, what: str = "--out"):
        self.out, self.what = Path(out), what
        self.path = self.out.parent / f".{self.out.name}.lock"
        self._fh = None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fh = open(self.path, "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise ConfigError(f"{self.what} {self.out}: in use by {holder}; wait for it to finish, "
                                  "or choose another folder") from None
            # a holder that let go in between removed the file we opened: lock the one now there
            try:
                same = os.stat(self.path).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()
        self._fh = fh
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        return self

    def __exit__(self, *exc):
        import fcntl

        if self._fh is None:
            return False
        self.path.unlink(missing_ok=True)  # while still held, so nobody locks a file about to go
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None
        return False


def folder_in_use(out: Path) -> bool:
    """Does a live command hold ``out`` (``FolderLock``)?  A killed one holds nothing."""
    if not (Path(out).parent / f".{Path(out).name}.lock").exists():
        return False
    try:
        with FolderLock(out):
            return False
    except ConfigError:
        return True
