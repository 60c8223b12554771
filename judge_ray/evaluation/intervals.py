"""95% intervals for the proportions a judge is measured by (agreement, accuracy, consistency).

Why: a figure without its n misleads — 25% on 2 pairs and 25% on 2,000 pairs read the same in a table.
Every such figure is reported with its n and a Wilson score interval, which stays inside [0, 1] and is
sensible at n = 1 and at 0% or 100% (where the normal approximation collapses to a point). The proportion
may be fractional (agreement with half credit): the interval is computed on the mean credit as on a rate.
"""
from __future__ import annotations

import math
from typing import Optional

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """(low, high) of the Wilson score interval for an observed proportion `p` over `n` items."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, p))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if p == 0 else low), (1.0 if p == 1 else high)  # exact at the edges, not 1 - 1e-16


def interval(p: Optional[float], n: int) -> dict:
    """{"n", "low", "high", "method"} for a proportion; n = 0 gives the uninformative [0, 1]."""
    low, high = wilson(p or 0.0, n)
    return {"n": n, "low": low, "high": high, "method": "wilson95"}


def pct_with_interval(p: Optional[float], ci: Optional[dict]) -> str:
    """'41.7% [29.6, 54.9] n=60' for tables; '-' when there is no figure."""
    if p is None:
        return "-"
    if not ci:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.1f}% [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}] n={ci['n']}"


def excludes(ci: dict, value: float) -> bool:
    """True when `value` lies outside the interval (e.g. the seed judge's figure)."""
    return value < ci["low"] or value > ci["high"]
