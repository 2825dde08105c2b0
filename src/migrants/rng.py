"""Counter-based random numbers: a draw is a pure function of (key, index).

Agent-level draws come from ``uniform(key, i)``, a SplitMix64 hash of a 64-bit
stream key and the agent's row.  A draw therefore does not depend on how many
threads run a kernel or in which order rows are visited, which is what makes a
run identical on one core or two, and lets kernels run in parallel without
sharing a generator.  Stream keys are derived from the scenario seed, the month
and a stream name (``stream_key``), so every random decision of the model has
its own independent stream.

City-level draws (a handful of numbers a month) use ``numpy.random.Generator``
objects spawned from the same root ``SeedSequence``.
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix_py(z: int) -> int:
    """SplitMix64 finaliser on Python ints (bit-identical to ``_mix``)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, month: int, stream: str) -> np.uint64:
    """64-bit key of one named random stream in one month.

    Parameters
    ----------
    seed : int
        Root seed of the run (any non-negative int; reduced mod 2**64).
    month : int
        Month index of the simulation (0 = initialisation).
    stream : str
        Name of the decision that draws (``"death"``, ``"consider"``, ...).
    """
    z = _mix_py(int(seed) ^ zlib.crc32(stream.encode()) * _GOLDEN)
    z = _mix_py(z + (int(month) + 1) * _GOLDEN)
    return np.uint64(z)


#: Sub-streams: a second draw of one stream for the same row is ``uniform(key ^ SALT, i)``.
#: Every salt of the model is here, named by the draw it makes (numba reads them as constants).
SALT_NOISE_PAIR = np.uint64(0x5A5A5A5A)     # labour.offer_noise: the second uniform of Box-Muller
SALT_OJS_OFFER = np.uint64(0x0FF)           # labour.separate: the noise of an on-the-job offer
SALT_HIRE_OFFER = np.uint64(0xA5A5A5A5)     # labour.assign_jobs: the noise of a local offer
SALT_MOVE_SECTOR = np.uint64(0x1234567)     # decisions.apply_moves: the sector of a job found from afar
SALT_MOVE_SPEC = np.uint64(0x7654321)       # decisions.apply_moves: an employed mover moves on spec
SALT_MOVE_OFFER = np.uint64(0xABCDEF)       # decisions.apply_moves: the noise of the offer from afar
SALT_PLATFORM_OFFER = np.uint64(0xC0FFEE)   # policy.platform: the noise of a metro-wide offer
SALT_BIRTH_ORDER = np.uint64(0x5BD1E995)    # demography.deaths_and_births: which mother's birth counts


@njit(inline="always", cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=True)
def uniform(key, i):
    """Uniform double in [0, 1) for row ``i`` of stream ``key``."""
    z = _mix(key + np.uint64(i + 1) * np.uint64(_GOLDEN))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def uniforms(key, n):
    """Array of ``n`` uniforms of stream ``key`` (rows 0..n-1), for tests and small draws."""
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = uniform(key, i)
    return out


def choice(rng: np.random.Generator, p, size: int) -> np.ndarray:
    """``rng.choice(len(p), size=size, p=p)``: the same random numbers, the same picks, faster.

    numpy draws ``size`` uniforms and binary-searches its normalised CDF (``searchsorted``, about
    100 ns a draw for the 202 age-sex cells of a census pyramid); ``pick_from_cdf`` finds the same
    index from a guide table in one or two comparisons.  Returns int64 indices, shape (size,).
    """
    cdf = np.asarray(p, np.float64).cumsum()
    cdf /= cdf[-1]
    return pick_from_cdf(cdf, rng.random(size))


GUIDE_CELLS = 1024  # a power of two, so ``int(u * GUIDE_CELLS) / GUIDE_CELLS <= u`` exactly


@njit(cache=True)
def pick_from_cdf(cdf, u):
    """``cdf.searchsorted(u, side="right")`` by a guide table (Chen & Asau 1974; Devroye 1986, III.2.4).

    cdf : (k,) non-decreasing, last entry 1.0; u : (n,) uniforms in [0, 1).  ``guide[j]`` is the
    first index whose CDF exceeds ``j / GUIDE_CELLS``; a uniform in cell j starts its search there.
    """
    k = cdf.size
    m = GUIDE_CELLS
    guide = np.empty(m, np.int64)
    i = 0
    for j in range(m):
        x = j / m
        while i < k and cdf[i] <= x:
            i += 1
        guide[j] = i
    out = np.empty(u.size, np.int64)
    for r in range(u.size):
        x = u[r]
        i = guide[int(x * m)]
        while i < k and cdf[i] <= x:
            i += 1
        out[r] = i
    return out
