"""metrics.py - what compare compares, where each value sits in a tcplab.result/1 file,
which direction is better, and the smallest change that counts (its threshold).

Thresholds are minimum effect sizes: a change below them is "same" even when the rank test
finds it significant. The tail percentiles get wider thresholds because they rest on fewer
samples. Single runs have no spread to test, so their thresholds are SINGLE_RUN_FACTOR times
wider. Errors are a correctness count, not a noisy measurement: any increase is worse.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SINGLE_RUN_FACTOR = 2.5
ALPHA = 0.05


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str	# "ns", "1/s", "bit/s", "count"
    lower_is_better: bool
    threshold_pct: float	# 0 for counts: any change counts
    get: Callable[[dict[str, Any]], float | None]
    rate: bool = False	# a rate that is 0 where the scenario does not measure it


def _latency(field: str) -> Callable[[dict[str, Any]], float | None]:
    def get(r: dict[str, Any]) -> float | None:
        lat = r["metrics"]["latency_ns"]
        if not lat.get("count") or lat.get(field) is None:
            return None	# no transaction measured: no percentile
        return float(lat[field])
    return get


def _metric(field: str) -> Callable[[dict[str, Any]], float | None]:
    def get(r: dict[str, Any]) -> float | None:
        v = r["metrics"].get(field)
        return None if v is None else float(v)
    return get


METRICS: tuple[Metric, ...] = (
    Metric("p50", "ns", True, 10.0, _latency("p50")),
    Metric("p99", "ns", True, 20.0, _latency("p99")),
    Metric("p99.9", "ns", True, 30.0, _latency("p99_9")),
    Metric("tps", "1/s", False, 10.0, _metric("tps"), rate=True),
    Metric("throughput", "bit/s", False, 10.0, _metric("throughput_bps"), rate=True),
    Metric("connections/s", "1/s", False, 10.0, _metric("connections_per_s"), rate=True),
    Metric("errors", "count", True, 0.0, _metric("errors")),
)


def by_name(name: str) -> Metric:
    for m in METRICS:
        if m.name == name:
            return m
    raise KeyError(name)
