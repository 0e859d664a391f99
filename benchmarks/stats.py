"""Small, dependency-free statistics for benchmark samples."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    Returns NaN for no samples.
    """
    if not samples:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Count, p50, p90, mean, min and max of ``samples``."""
    if not samples:
        return {"n": 0, "p50": math.nan, "p90": math.nan, "mean": math.nan}
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p90": percentile(samples, 90),
        "mean": sum(samples) / len(samples),
        "min": min(samples),
        "max": max(samples),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing, NaN or the divisor is 0."""
    if numerator is None or denominator is None:
        return None
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return None
    return numerator / denominator


def approx_tokens(chars: int) -> int:
    """A rough token count: characters / 4 (the fake upstream's count_tokens rule).

    Only ever shown labelled as an approximation.
    """
    return max(0, round(chars / 4))
