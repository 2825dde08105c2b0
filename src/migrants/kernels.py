"""Helpers shared by the numba kernels: the fixed chunking of rows.

Kernels split the rows into ``NCHUNK`` fixed chunks (not one per thread), sum
per-chunk partial counts in chunk order, and fill selections chunk by chunk,
so every result is the same whatever the number of threads.
"""

import numpy as np
from numba import njit

NCHUNK = 64


@njit(cache=True)
def chunk_starts(counts):
    """Offsets (NCHUNK+1,) where each chunk's selected rows go, from per-chunk counts."""
    start = np.zeros(counts.size + 1, np.int64)
    for ch in range(counts.size):
        start[ch + 1] = start[ch] + counts[ch]
    return start
