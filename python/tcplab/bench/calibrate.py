"""tcplab bench calibrate: the host's state now, in four figures a suite takes before and
after its runs and records in its manifest and every result (results/README.md, "Host
state"), so that compare can tell a slower host from a slower commit.

  memif_floor_p50_us     raw 64-byte frames bounced over a memif pair (memif_pingpong): the
                         DPDK floor, which moves 0.32 -> 1.5 us when these VMs turn slow
  loopback_p50_us        echo_rr on kernel loopback through tcplab (21-77 us between VMs)
  memcpy_gbps            a 16 MiB memcpy into a reused destination, median of 20
  cpu_loop_ms            a fixed integer loop in the interpreter, the fastest of 5

Each is the median (or the fastest, for the loop) of a short measurement; a figure that could
not be taken (DPDK not built, no hugepages, a kernel run refused) is null with its reason in
"missing". About 5 s in all.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..topology import LINUX
from .bio import memcpy_floor_ms
from .common import log, run_scenario

FIGURES = ("memif_floor_p50_us", "loopback_p50_us", "memcpy_gbps", "cpu_loop_ms")
MEMIF_SECONDS = 1.0
LOOPBACK_SECONDS = 1.0
CPU_LOOP_N = 2_000_000
MIB16 = 16 << 20


def cpu_loop_ms(reps: int = 5) -> float:
    """The fastest of @reps runs of one fixed loop: the CPU's speed, not the scheduler's."""
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        acc = 0
        for i in range(CPU_LOOP_N):
            acc ^= i * 2654435761 & 0xFFFFFFFF
        best = min(best, (time.perf_counter() - t) * 1e3)
    return best


def memif_floor_us() -> float:
    from .stack import floor	# DPDK's part: imported only when taken
    return float(floor(MEMIF_SECONDS, 0.2)["p50_ns"]) / 1e3


def loopback_us() -> float:
    doc = run_scenario("echo_rr", "--backend", LINUX, "--duration", str(LOOPBACK_SECONDS),
                       "--warmup", "0.2")
    return float(doc["metrics"]["latency_ns"]["p50"]) / 1e3


def measure() -> dict[str, Any]:
    """The four figures now; each that failed is None, its reason in "missing"."""
    takers = {
        "memif_floor_p50_us": memif_floor_us,
        "loopback_p50_us": loopback_us,
        "memcpy_gbps": lambda: MIB16 * 8 / (memcpy_floor_ms() / 1e3) / 1e9,
        "cpu_loop_ms": cpu_loop_ms,
    }
    out: dict[str, Any] = {"taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "missing": {}}
    for name, take in takers.items():
        try:
            out[name] = round(take(), 4)
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            out[name] = None
            out["missing"][name] = str(e).splitlines()[0] if str(e) else type(e).__name__
            log(f"calibrate: {name} not taken: {out['missing'][name]}")
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench calibrate",
                                 description="the host's state: four short figures")
    ap.add_argument("--json", action="store_true", help="print them as one JSON object")
    args = ap.parse_args(argv)
    cal = measure()
    if args.json:
        print(json.dumps(cal))
        return 0
    for name in FIGURES:
        value = cal[name]
        print(f"{name:20s} {value if value is not None else 'n/a (' + cal['missing'][name] + ')'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
