"""test_bench_adaptive.py - a suite's adaptive repetition and host state (issue 17, parts 1
and 2): tiny kernel runs, so the verdicts are about the mechanism, not this machine; and the
median's interval on known samples."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resultkit.stats import median_interval
from tcplab.proc import module_argv, module_env
from tcplab.topology import LINUX

TINY = ("--backend", LINUX, "--scenario", "echo_rr", "--duration", "0.2s", "--warmup", "0.1s")


def suite(procs: Any, tmp_path: Path, *args: str) -> tuple[dict[str, Any], list[dict]]:
    done = procs.run(module_argv("bench", "quick", *TINY, "--runs-dir", str(tmp_path), *args),
                     300.0, module_env())
    assert done.rc == 0, done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    results = [json.loads(f.read_text()) for f in sorted(run_dir.glob("echo_rr.*.json"))]
    return json.loads((run_dir / "manifest.json").read_text()), results


def test_median_interval_is_the_order_statistics() -> None:
    assert median_interval(range(1, 11)) == median_interval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    ci = median_interval(range(1, 11))
    assert (ci.lo, ci.hi) == (2.0, 9.0) and round(ci.confidence, 4) == 0.9785
    ci = median_interval(range(1, 21))
    assert (ci.lo, ci.hi) == (6.0, 15.0) and ci.confidence >= 0.95
    five = median_interval([3, 1, 2, 5, 4])	# too few for 95 %: the range, 93.75 %
    assert (five.lo, five.hi, five.confidence) == (1.0, 5.0, 0.9375)


def test_narrow_enough_stops_at_the_minimum(procs: Any, tmp_path: Path) -> None:
    manifest, results = suite(procs, tmp_path, "--reps", "2", "--max-reps", "4",
                              "--ci-width", "900", "--no-calibrate")
    (pair,) = manifest["repetition"]
    assert pair["reps"] == 2 and pair["why"] == "within", pair
    assert len(results) == 2 and manifest["host_state"] is None
    assert "host_state" not in results[0]


def test_too_wide_runs_to_the_ceiling_and_says_so(procs: Any, tmp_path: Path) -> None:
    manifest, results = suite(procs, tmp_path, "--reps", "2", "--max-reps", "4",
                              "--ci-width", "0.0001")
    (pair,) = manifest["repetition"]
    assert pair["reps"] == 4 and pair["why"] == "max reached", pair
    assert set(pair["widths_pct"]) >= {"p50", "p99", "tps"}, pair["widths_pct"]
    assert all(w > 0.0001 for w, _ in pair["widths_pct"].values())
    assert len(results) == 4 and manifest["max_repetitions"] == 4
    host = manifest["host_state"]
    assert set(host) == {"before", "after"}, host
    for when in host.values():
        assert when["loopback_p50_us"] > 0 and when["cpu_loop_ms"] > 0, when
    assert all(r["host_state"] == host for r in results)


def test_reps_alone_runs_exactly_those(procs: Any, tmp_path: Path) -> None:
    manifest, results = suite(procs, tmp_path, "--reps", "3", "--no-calibrate",
                              "--ci-width", "0.0001")
    assert len(results) == 3 and manifest["repetition"][0]["why"] == "max reached"
