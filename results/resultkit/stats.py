"""stats.py - the statistics of compare: medians and the two-sided Mann-Whitney U (rank-sum)
test, exact for small samples (ties included), normal approximation above EXACT_MAX_N.

Why a rank test: the repetitions of a benchmark are few (5 by default) and their spread is
heavy-tailed (one run disturbed by the machine is an outlier, not a Gaussian). A rank test
assumes no distribution, is not moved by one wild value, and for small samples its p-value
is exact, computed here by counting every way the pooled runs could have been split.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXACT_MAX_N = 24


@dataclass(frozen=True)
class RankTest:
    """Outcome of mann_whitney: U of the first sample, two-sided p, exact or approximate."""
    u: float
    p: float
    exact: bool


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def doubled_midranks(pooled: Sequence[float]) -> list[int]:
    """2 x the midrank of each value (ranks 1..N, ties share their mean rank): integers, so
    that the exact distribution can be counted without fractions."""
    order = sorted(range(len(pooled)), key=lambda i: pooled[i])
    ranks = [0] * len(pooled)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and pooled[order[j + 1]] == pooled[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + 1) + (j + 1)	# 2 * mean of ranks i+1..j+1
        i = j + 1
    return ranks


def subset_sum_counts(values: Sequence[int], k: int) -> dict[int, int]:
    """How many k-element subsets of @values have each sum."""
    dp: list[dict[int, int]] = [dict() for _ in range(k + 1)]
    dp[0][0] = 1
    for v in values:
        for size in range(min(k, len(values)) - 1, -1, -1):
            for s, c in dp[size].items():
                dp[size + 1][s + v] = dp[size + 1].get(s + v, 0) + c
    return dp[k]


def min_two_sided_p(n: int, m: int) -> float:
    """The smallest p-value an exact test can give with samples of n and m (no ties):
    both extreme splits out of C(n+m, n)."""
    if n == 0 or m == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n + m, n))


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """Two-sided Mann-Whitney U test of x against y."""
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError("mann_whitney needs two non-empty samples")
    ranks = doubled_midranks(list(x) + list(y))
    w = sum(ranks[:n])	# doubled rank sum of x
    mu = n * (n + m + 1)	# its doubled mean under H0
    u = w / 2.0 - n * (n + 1) / 2.0
    if n + m <= EXACT_MAX_N:
        counts = subset_sum_counts(ranks, n)
        dist = abs(w - mu)
        extreme = sum(c for s, c in counts.items() if abs(s - mu) >= dist)
        return RankTest(u, min(1.0, extreme / math.comb(n + m, n)), True)
    return RankTest(u, _normal_p(ranks, n, m, w), False)


def _normal_p(ranks: list[int], n: int, m: int, w: int) -> float:
    """Normal approximation with the tie correction and a continuity correction."""
    big_n = n + m
    ties: dict[int, int] = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    tie_term = sum(t ** 3 - t for t in ties.values()) / (big_n * (big_n - 1))
    var = n * m / 12.0 * ((big_n + 1) - tie_term)
    if var <= 0:
        return 1.0
    z = max(abs(w / 2.0 - n * (big_n + 1) / 2.0) - 0.5, 0.0) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2.0)))


@dataclass(frozen=True)
class MedianInterval:
    """A distribution-free interval of the median: order statistics lo..hi of the sample,
    which hold the true median with probability confidence."""
    lo: float
    hi: float
    confidence: float


def median_interval(values: Sequence[float], level: float = 0.95) -> MedianInterval:
    """The narrowest pair of order statistics x(j)..x(n+1-j) whose coverage of the median,
    1 - 2 P(Binomial(n, 1/2) < j), is at least @level; with too few values for that (n < 6
    at 95 %) the whole range, with the coverage it has (1 - 2^(1-n))."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median interval of no values")
    tail, j = 0.0, 1		# P(B < j), for the j of the interval
    best = 1
    while j < n + 1 - j:
        tail += math.comb(n, j - 1) / 2.0 ** n
        if 1.0 - 2.0 * tail < level:
            break
        best = j
        j += 1
    below = sum(math.comb(n, i) for i in range(best)) / 2.0 ** n
    return MedianInterval(float(s[best - 1]), float(s[n - best]), 1.0 - 2.0 * below)
