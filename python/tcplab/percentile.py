"""percentile.py - the reference for tcplab's latency percentiles, computed exactly (tests), and
the nearest-rank percentile and median of a list (benchmarks).

Definition (harness/engine/hist.h): nearest rank, rank = ceil(p/100 * count) in exact arithmetic,
clamped to [1, count]; the reported value is the highest value of the histogram bucket that
holds the sample of that rank, clamped to [min, max]. Buckets: values below 2048 each have
their own; every range [2^k, 2^(k+1)) above is split into 1024 equal buckets.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TypeVar

SUB_BITS = 10
Value = TypeVar("Value", int, float)


def nearest_rank(count: int, p: float | str) -> int:
    """1-based rank of percentile @p among @count samples, in exact arithmetic (p as given
    in decimal: 99.9 means 999/1000, not the nearest binary double)."""
    rank = math.ceil(Fraction(str(p)) * count / 100)
    return min(max(rank, 1), count)


def exact(sorted_values: Sequence[Value], p: float | str) -> Value:
    """The nearest-rank sample itself."""
    return sorted_values[nearest_rank(len(sorted_values), p) - 1]


def bucket_hi(value: int) -> int:
    """Highest value of the bucket that holds @value."""
    if value < 2 << SUB_BITS:
        return value
    shift = value.bit_length() - 1 - SUB_BITS
    return ((value >> shift) << shift) + (1 << shift) - 1


def reported(sorted_values: Sequence[int], p: float | str) -> int:
    """What the histogram must report for @p over these samples."""
    v = bucket_hi(exact(sorted_values, p))
    return min(max(v, sorted_values[0]), sorted_values[-1])


def from_buckets(buckets: Sequence[Sequence[int]], lo: int, hi: int, p: float | str) -> int:
    """The percentile a result's [bucket_hi, count] list implies, clamped to [lo, hi]."""
    count = sum(c for _, c in buckets)
    rank = nearest_rank(count, p)
    seen = 0
    for value, c in buckets:
        seen += c
        if seen >= rank:
            return min(max(value, lo), hi)
    raise ValueError("empty bucket list")


def median(values: Sequence[float]) -> float:
    """The middle value, or the mean of the two middle ones."""
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
