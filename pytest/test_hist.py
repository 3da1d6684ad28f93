"""test_hist.py - the latency histogram (harness/engine/hist.c, through the hist_tool helper) against
exact nearest-rank percentiles of known distributions.

For each percentile p the exact value is the sample of rank ceil(p/100 * count) in exact
arithmetic; the histogram must report at least that and at most one bucket width more
(exact <= reported <= exact + exact/1024 + 1), and precisely the top of that sample's bucket
clamped to [min, max] (lib/percentile.py). Distributions come from fixed seeds.
"""
from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tcplab import percentile

PERCENTILES = ("1", "10", "50", "75", "90", "99", "99.5", "99.9", "99.99", "100")


def uniform_small(rng: random.Random) -> list[int]:
    """Below 2048 every value has its own bucket: percentiles must be exact."""
    return [rng.randint(0, 2047) for _ in range(20000)]


def uniform(rng: random.Random) -> list[int]:
    return [rng.randint(1_000, 10_000_000) for _ in range(100_000)]


def bimodal(rng: random.Random) -> list[int]:
    """90% fast around 20 us, 10% slow around 5 ms."""
    fast = [max(1, round(rng.gauss(20_000, 1_000))) for _ in range(45_000)]
    slow = [max(1, round(rng.gauss(5_000_000, 200_000))) for _ in range(5_000)]
    values = fast + slow
    rng.shuffle(values)
    return values


def outlier_1000(rng: random.Random) -> list[int]:
    """999 transactions at about 30 us and a single stall of 1000 s: only p100 (and
    nothing below p99.95) may show the stall."""
    values = [rng.randint(29_000, 31_000) for _ in range(999)] + [1_000_000_000_000]
    rng.shuffle(values)
    return values


def outlier_10001(rng: random.Random) -> list[int]:
    values = [rng.randint(29_000, 31_000) for _ in range(10_000)] + [1_000_000_000_000]
    rng.shuffle(values)
    return values


def exponential(rng: random.Random) -> list[int]:
    """Mean 50 us: a long tail, so the high percentiles fall in sparse buckets."""
    return [round(rng.expovariate(1 / 50_000)) for _ in range(100_000)]


def constant(rng: random.Random) -> list[int]:
    return [123_456_789] * 1000


DISTRIBUTIONS: dict[str, Callable[[random.Random], list[int]]] = {
    "uniform_small": uniform_small,
    "uniform": uniform,
    "bimodal": bimodal,
    "outlier_1000": outlier_1000,
    "outlier_10001": outlier_10001,
    "exponential": exponential,
    "constant": constant,
}


def run_hist_tool(tool: Path, values: list[int], pcts: tuple[str, ...]) -> dict:
    done = subprocess.run([str(tool), *pcts], input="".join(f"{v}\n" for v in values),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"hist_tool exit {done.returncode}: {done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_percentiles_match_exact_nearest_rank(hist_tool: Path, dist: str) -> None:
    values = DISTRIBUTIONS[dist](random.Random(f"tcplab-{dist}"))
    out = run_hist_tool(hist_tool, values, PERCENTILES)
    s = sorted(values)

    assert out["count"] == len(s)
    assert out["min"] == s[0]
    assert out["max"] == s[-1]
    assert out["mean"] == pytest.approx(sum(s) / len(s), rel=1e-9)
    assert set(out["percentiles"]) == set(PERCENTILES)
    wrong = []
    for p in PERCENTILES:
        got = out["percentiles"][p]
        want = percentile.exact(s, p)
        if not want <= got <= want + want // 1024 + 1:
            wrong.append(f"p{p}: reported {got}, exact {want} (rank "
                         f"{percentile.nearest_rank(len(s), p)} of {len(s)}), allowed "
                         f"[{want}, {want + want // 1024 + 1}]")
        elif got != percentile.reported(s, p):
            wrong.append(f"p{p}: reported {got}, expected the top of its bucket "
                         f"{percentile.reported(s, p)} (exact {want})")
    assert not wrong, f"{dist}: " + "; ".join(wrong)


def test_p100_is_max_and_small_values_exact(hist_tool: Path) -> None:
    values = [5, 7, 7, 9, 2047, 2048, 2049]
    out = run_hist_tool(hist_tool, values, ("100", "50", "1"))
    assert out["percentiles"] == {"100": 2049, "50": 9, "1": 5}


def test_empty_histogram_reports_zero(hist_tool: Path) -> None:
    out = run_hist_tool(hist_tool, [], ("50", "100"))
    assert out == {"count": 0, "min": 0, "max": 0, "mean": 0, "percentiles": {"50": 0,
                                                                               "100": 0}}
