"""Student-t intervals of replicate means: the one implementation that compare, sweeps and
the lever rankings use."""

from __future__ import annotations

import numpy as np


def t_quantile(confidence: float, n: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t with ``n - 1`` degrees of freedom
    (NaN for fewer than 2 values)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, n - 1)) if n > 1 else float("nan")


def t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float, float, int]:
    """mean, sd, low, high, n of a sample's finite values (NaN interval with fewer than 2)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, np.nan, np.nan, np.nan, n
    sd = float(x.std(ddof=1))
    half = t_quantile(confidence, n) * sd / np.sqrt(n)
    return mean, sd, mean - half, mean + half, n
