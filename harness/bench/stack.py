"""tcplab bench stack: lwIP on DPDK (memif) against its floor and against the kernel.

In one invocation, side by side:
  - the floor: raw 64-byte frames bounced between two DPDK processes over a memif pair
    (build/stack/lwip/memif_pingpong: same EAL and port code as the backend, no TCP/IP);
  - echo_rr, stream_send and crr on lwip/memif and on kernel/loopback.
Prints the four ratios of issue 3 with their targets:
  lwip echo_rr p50 / floor p50                     <= 3
  kernel echo_rr p50 / lwip echo_rr p50            >= 50
  lwip stream_send throughput / kernel's           >= 1.3
  lwip crr connections/s / kernel's                >= 2
Runs are short (--duration, default 2 s): the machine is shared. A benchmark, never a test:
a missed target is reported, not failed; exit 2 only when something could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import time
from pathlib import Path

from common import ROOT, log, run_scenario, stop

READY_TIMEOUT_S = 60.0
TARGETS = [
    # (label, numerator, denominator, target, at_least)
    ("lwip echo_rr p50 / raw memif p50", "lwip_rr_p50", "floor_p50", 3.0, False),
    ("kernel echo_rr p50 / lwip echo_rr p50", "kernel_rr_p50", "lwip_rr_p50", 50.0, True),
    ("lwip stream / kernel stream (bit/s)", "lwip_stream_bps", "kernel_stream_bps", 1.3, True),
    ("lwip crr / kernel crr (conn/s)", "lwip_crr_cps", "kernel_crr_cps", 2.0, True),
]


def pingpong_bin() -> Path:
    build = Path(os.environ.get("TCPLAB_BUILD", ROOT / "build"))
    return build / "stack" / "lwip" / "memif_pingpong"


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"{proc.args[0]}: no line within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{proc.args[0]} exited {proc.wait()} before its ready line")
    return line


def floor(duration: float, warmup: float) -> dict:
    """Raw memif round trips: server (ready line), then the client's one JSON line."""
    binary = pingpong_bin()
    if not binary.is_file():
        raise RuntimeError(f"{binary} is not built (stack/lwip/meson.build)")
    run_id = f"tcplabpp{os.getpid()}"
    server = subprocess.Popen([str(binary), "server", "--run-id", run_id],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        read_line(server, READY_TIMEOUT_S)
        done = subprocess.run([str(binary), "client", "--run-id", run_id, "--duration",
                               str(duration), "--warmup", str(warmup)],
                              capture_output=True, text=True, timeout=READY_TIMEOUT_S + 60)
        if done.returncode != 0:
            raise RuntimeError(f"memif_pingpong client exited {done.returncode}: "
                               f"{done.stderr.strip()}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if server.stdin is not None:
            server.stdin.close()	# end of stdin: the server's signal to stop
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stop(server)


def scenario(name: str, backend: str, duration: float, warmup: float) -> dict:
    topo = ["--topology", "memif"] if backend == "lwip" else []
    doc = run_scenario(name, "--backend", backend, *topo, "--duration", str(duration),
                       "--warmup", str(warmup))
    if doc["metrics"]["errors"]:
        log(f"{name} on {backend}: {doc['metrics']['errors']} errors "
            f"{doc['metrics']['errors_by_reason']}")
    return doc["metrics"]


def measure(duration: float, warmup: float) -> tuple[dict, list[str]]:
    f: dict = {}
    rows = []
    log("raw memif ping-pong")
    pp = floor(duration, warmup)
    f["floor_p50"] = pp["p50_ns"]
    rows.append(f"raw memif 64 B round trip      p50 {pp['p50_ns'] / 1e3:9.2f} us   "
                f"p99 {pp['p99_ns'] / 1e3:9.2f} us   ({pp['count']} round trips)")
    for backend in ("lwip", "kernel"):
        log(f"echo_rr, stream_send, crr on {backend}")
        rr = scenario("echo_rr", backend, duration, warmup)
        st = scenario("stream_send", backend, duration, warmup)
        crr = scenario("crr", backend, duration, warmup)
        f[f"{backend}_rr_p50"] = rr["latency_ns"]["p50"]
        f[f"{backend}_stream_bps"] = st["throughput_bps"]
        f[f"{backend}_crr_cps"] = crr["connections_per_s"]
        rows.append(f"{backend:6} echo_rr                 p50 {rr['latency_ns']['p50'] / 1e3:9.2f}"
                    f" us   p99 {rr['latency_ns']['p99'] / 1e3:9.2f} us   "
                    f"{rr['tps']:10.0f} tps")
        rows.append(f"{backend:6} stream_send             {st['throughput_bps'] / 1e9:9.2f} Gbit/s")
        rows.append(f"{backend:6} crr                     {crr['connections_per_s']:9.0f} conn/s  "
                    f"p50 {crr['latency_ns']['p50'] / 1e3:9.2f} us")
    return f, rows


def report(f: dict, rows: list[str]) -> None:
    print("\n".join(rows))
    print()
    for label, num, den, target, at_least in TARGETS:
        ratio = f[num] / f[den] if f[den] else float("inf")
        ok = ratio >= target if at_least else ratio <= target
        print(f"{label:42} {ratio:8.2f}   target {'>=' if at_least else '<='} {target:<5g} "
              f"{'ok' if ok else 'MISSED'}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench stack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per run (2)")
    ap.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds (0.5)")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        f, rows = measure(args.duration, args.warmup)
    except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as e:
        log(f"stack: {e}")
        return 2
    report(f, rows)
    if args.json:
        print(json.dumps(f, indent=1))
    log(f"stack: done in {time.monotonic() - t0:.0f} s")
    return 0
