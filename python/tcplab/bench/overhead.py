"""tcplab bench overhead: what the harness itself costs.

In one run, side by side and interleaved (A B A B ...) so drift hits both alike:
  - echo_rr on the kernel loopback through tcplab (engine and echo SUT) and through sockperf
    (ping-pong, TCP, 64 B, --full-rtt), each pair of processes pinned the same way
    (server on one CPU, client on another); the figure is the ratio of their p50 round trips;
  - the histogram's record cost in ns per value (build/harness/test/bench_hist).
Targets (issue 2): tcplab p50 / sockperf p50 <= 1.10, record cost < 20 ns.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
from pathlib import Path

from .common import build_dir, free_port, log, median, percentile, run_scenario, stop, wait_port

P50_RATIO_TARGET = 1.10
RECORD_NS_TARGET = 20.0


def sockperf_p50_us(seconds: float, server_cpu: int, client_cpu: int) -> float:
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", str(server_cpu), "sockperf", "sr", "--tcp", "-i", "127.0.0.1",
         "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, server)
        with tempfile.TemporaryDirectory(prefix="tcplab-sockperf-") as tmp:
            log_csv = Path(tmp) / "full.csv"
            subprocess.run(
                ["taskset", "-c", str(client_cpu), "sockperf", "pp", "--tcp", "-i",
                 "127.0.0.1", "-p", str(port), "-m", "64", "-t", str(int(seconds)),
                 "--full-rtt", "--full-log", str(log_csv)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rtts = read_rtts(log_csv)
    finally:
        stop(server)
    if not rtts:
        raise RuntimeError("sockperf logged no round trips")
    return percentile(rtts, 50)


def read_rtts(path: Path) -> list[float]:
    """The rtt(usec) column of sockperf's --full-log CSV, below its header row."""
    rtts: list[float] = []
    with open(path) as f:
        rows = csv.reader(f)
        for row in rows:
            if row and row[0].strip() == "packet":
                break
        for row in rows:
            if len(row) == 4:
                rtts.append(float(row[3]))
    return rtts


def tcplab_p50_us(seconds: float, server_cpu: int, client_cpu: int) -> float:
    res = run_scenario("echo_rr", "--backend", "kernel", "--duration", f"{seconds}s",
                       "--warmup", "0.4s", "--sut-cpu", str(server_cpu),
                       "--engine-cpu", str(client_cpu))
    if not res["passed"]:
        raise RuntimeError("echo_rr failed its checks: "
                           + json.dumps([c for c in res["checks"] if not c["ok"]]))
    return res["metrics"]["latency_ns"]["p50"] / 1000.0


def record_cost_ns() -> float:
    tool = build_dir() / "harness" / "test" / "bench_hist"
    out = subprocess.run([str(tool)], check=True, stdout=subprocess.PIPE, text=True).stdout
    return float(json.loads(out)["record_ns"])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench overhead", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5, help="per measurement (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="A/B pairs (default 3)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.seconds < 1 or args.rounds < 1:
        ap.error("--seconds must be >= 1 and --rounds >= 1")
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) > 1 else (cpus[0], cpus[0])

    ours, theirs = [], []
    for i in range(args.rounds):
        log(f"round {i + 1}/{args.rounds}: sockperf ping-pong, then tcplab echo_rr "
            f"({args.seconds:g}s each, server cpu {server_cpu}, client cpu {client_cpu})")
        theirs.append(sockperf_p50_us(args.seconds, server_cpu, client_cpu))
        ours.append(tcplab_p50_us(args.seconds, server_cpu, client_cpu))
    record_ns = record_cost_ns()
    ratio = median(ours) / median(theirs)
    figures = {
        "tcplab_p50_us": ours, "sockperf_p50_us": theirs, "p50_ratio": ratio,
        "p50_ratio_target": P50_RATIO_TARGET, "record_ns": record_ns,
        "record_ns_target": RECORD_NS_TARGET,
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print("overhead benchmark (kernel loopback, 64 B request/response, p50 round trip)")
    print(f"  tcplab echo_rr p50   {' '.join(f'{v:7.1f}' for v in ours)}  us  "
          f"(median {median(ours):.1f})")
    print(f"  sockperf pp p50      {' '.join(f'{v:7.1f}' for v in theirs)}  us  "
          f"(median {median(theirs):.1f})")
    print(f"  ratio tcplab/sockperf {ratio:.3f}   target <= {P50_RATIO_TARGET:.2f}: "
          f"{'met' if ratio <= P50_RATIO_TARGET else 'MISSED'}")
    print(f"  histogram record     {record_ns:.2f} ns/value   target < {RECORD_NS_TARGET:.0f}: "
          f"{'met' if record_ns < RECORD_NS_TARGET else 'MISSED'}")
    return 0
