"""Helpers shared by the numba kernels: the fixed chunking of rows.

Kernels split the rows into ``NCHUNK`` fixed chunks (not one per thread), sum
per-chunk partial counts in chunk order, and fill selections chunk by chunk,
so every result is the same whatever the number of threads.  A selection made
in one pass keeps one bit per row (``selection_bits``, n/8 bytes) and reads the
rows off the bits (``rows_of_bits``) instead of testing every row twice.
"""

from pathlib import Path

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

NCHUNK = 64


def default_threads(jobs: int, backend: str = "loky") -> int:
    """numba threads for each run: 1 when runs go side by side (``jobs`` > 1, or on Dask/Ray
    workers, which run one task per core), else the cores that are idle now (``idle_cores``).

    On a busy machine more threads than idle cores make a run several times slower (a
    parallel pass waits for the thread the other programs keep off its core: measured here,
    the monthly census of 785,000 agents took 66 ms on 2 threads against 9 ms on 1 while the
    other core was busy), and one thread per run is the fastest way to use the cores for
    many runs.  Results are the same whatever the number of threads.
    """
    return 1 if backend != "loky" or jobs > 1 else idle_cores()


def idle_cores() -> int:
    """Cores not kept busy by other programs: the cores numba may use less the one-minute load
    average (rounded), at least 1."""
    import os

    import numba

    cores = numba.config.NUMBA_NUM_THREADS
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:  # no load average on this system
        busy = 0
    return max(1, min(cores, cores - busy))


def compiled_before() -> bool:
    """Has numba compiled and cached the model's kernels in an earlier process?

    numba keeps an index file (``<module>.<function>-<line>.py<ver>.nbi``) per ``cache=True``
    function in the module's ``__pycache__`` (or ``NUMBA_CACHE_DIR``); the monthly census kernel
    (``metrics.census``) is compiled by every run, so its index tells a first run after set-up,
    which compiles for tens of seconds (``migrants run`` says so), from the others.
    """
    import sys

    import numba

    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    if numba.config.CACHE_DIR:  # numba mirrors the source folders under it
        return any(Path(numba.config.CACHE_DIR).rglob(f"metrics.census-*.{tag}.nbi"))
    return any((Path(__file__).resolve().parent / "__pycache__").glob(f"metrics.census-*.{tag}.nbi"))


def set_threads(n: int | None) -> None:
    """Use ``n`` numba threads in this process (None: leave numba's setting)."""
    if n is None:
        return
    import numba

    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


@njit(cache=True)
def chunk_starts(counts):
    """Offsets (NCHUNK+1,) where each chunk's selected rows go, from per-chunk counts."""
    start = np.zeros(counts.size + 1, np.int64)
    for ch in range(counts.size):
        start[ch + 1] = start[ch] + counts[ch]
    return start


@njit(cache=True)
def selection_bits(n, k):
    """Zeroed bits for ``k`` selections of ``n`` rows in ``NCHUNK`` chunks: (k, NCHUNK * words) uint64, the
    words of chunk ``ch`` at ``ch * words``; returns (bits, counts (k, NCHUNK), step, words)."""
    step = (n + NCHUNK - 1) // NCHUNK
    words = (step + 63) // 64
    return np.zeros((k, NCHUNK * words), np.uint64), np.zeros((k, NCHUNK), np.int64), step, words


@njit(cache=True)
def rows_of_bits(bits, counts, step, words):
    """The selected rows (ascending) of one selection's bits (``selection_bits``; ``counts`` per chunk)."""
    start = chunk_starts(counts)
    rows = np.empty(start[counts.size], np.int64)
    k = 0
    for ch in range(counts.size):
        for wi in range(words):
            w = bits[ch * words + wi]
            base = ch * step + wi * 64
            while w != 0:
                rows[k] = base + trailing_zeros(w)
                k += 1
                w &= w - np.uint64(1)
    return rows
