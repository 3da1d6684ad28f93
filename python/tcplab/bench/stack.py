"""tcplab bench stack: lwIP on DPDK (memif) against its floor and against the kernel.

In one invocation, side by side:
  - the floor: raw 64-byte frames bounced between two DPDK processes over a memif pair
    (build/stack/dpdk/memif_pingpong: same EAL and port code as the backend, no TCP/IP);
  - echo_rr, stream_send and crr on lwip/memif and on kernel/loopback.
Prints the ratios of issue 3 that have targets:
  lwip echo_rr p50 / floor p50                     <= 2
  lwip stream_send throughput / kernel's           >= 1.3
  lwip crr connections/s / kernel's                >= 2
and, with no target, the host's reach: kernel echo_rr p50 / lwip echo_rr p50, and kernel
echo_rr p50 / floor p50, the most that ratio can be (lwIP at the floor itself). Both depend
on the host kernel's loopback round trip, which varies between hosts far more than the floor
does (77 us where issue 3's targets were set, 21 us on another VM of the same kind).
Every figure is taken --rounds times (default 5), a round being all of them back to back,
and each ratio is computed within a round, so a machine whose speed drifts between rounds
moves numerator and denominator together; the median ratio is judged. Runs are short
(--duration, default 2 s): the machine is shared. A benchmark, never a test: a missed
target is reported, not failed; exit 2 only when something could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..topology import LINUX
from .common import build_dir, log, median, run_scenario, stop

READY_TIMEOUT_S = 60.0
STACK = "lwip"		# the DPDK stack measured, on the memif topology
STACK_FLAGS = ("--topology", "memif")
TARGETS = [
    # (label, numerator, denominator, target, at_least)
    ("lwip echo_rr p50 / raw memif p50", "lwip_rr_p50", "floor_p50", 2.0, False),
    ("lwip stream / kernel stream (bit/s)", "lwip_stream_bps", "kernel_stream_bps", 1.3, True),
    ("lwip crr / kernel crr (conn/s)", "lwip_crr_cps", "kernel_crr_cps", 2.0, True),
]
REACH = [
    # (label, numerator, denominator): the host's, no target
    ("kernel echo_rr p50 / lwip echo_rr p50", "kernel_rr_p50", "lwip_rr_p50"),
    ("kernel rr / floor (the kernel ratio's ceiling)", "kernel_rr_p50", "floor_p50"),
]


def pingpong_bin() -> Path:
    """The raw memif floor program (stack/dpdk/meson.build builds it)."""
    return build_dir() / "stack" / "dpdk" / "memif_pingpong"


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
        raise RuntimeError(f"{binary} is not built (stack/dpdk/meson.build)")
    run_id = f"tcplabpp{os.getpid()}"
    # the server's stderr is kept for an error message, like every other run's: DPDK 22.11's
    # memif close after the client has gone says "EAL: Error: Invalid memory" now and then
    with tempfile.TemporaryFile("w+") as server_err:
        server = subprocess.Popen([str(binary), "server", "--run-id", run_id],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=server_err, text=True)
        try:
            return floor_client(binary, server, run_id, duration, warmup)
        except RuntimeError as e:
            server_err.seek(0)
            raise RuntimeError(f"{e}; memif_pingpong server: {server_err.read().strip()}") \
                from None


def floor_client(binary: Path, server: subprocess.Popen, run_id: str, duration: float,
                 warmup: float) -> dict:
    """The client's round trips against a started server, which is stopped afterwards."""
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


def scenario(name: str, backend: str, duration: float, warmup: float,
             flags: list[str]) -> dict:
    doc = run_scenario(name, "--backend", backend, *flags, "--duration", str(duration),
                       "--warmup", str(warmup))
    if doc["metrics"]["errors"]:
        log(f"{name} on {backend}: {doc['metrics']['errors']} errors "
            f"{doc['metrics']['errors_by_reason']}")
    return {**doc["metrics"], "stack_counters": doc.get("stack_counters") or {}}


NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")


def hugetlbfs_mounted() -> bool:
    with open("/proc/mounts") as f:
        return any(line.split()[2] == "hugetlbfs" for line in f if len(line.split()) > 2)


def meminfo(key: str) -> int:
    """A count from /proc/meminfo, e.g. HugePages_Free."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def interrupted(sig: int, frame: object) -> None:
    raise RuntimeError(f"interrupted by signal {sig}")


@contextmanager
def hugepages(n: int):
    """Reserve @n more 2 MiB hugepages (and mount a hugetlbfs if none is) for the run; the
    count and the mount are put back however the run ends. DPDK (huge=auto) then runs on
    them, in --in-memory mode, leaving no files there."""
    if n == 0:
        yield
        return
    if os.geteuid() != 0:
        raise RuntimeError("--hugepages needs root (it writes /proc/sys/vm/nr_hugepages)")
    # SIGTERM, SIGHUP and SIGINT unwind through the finally below (Python's default for the
    # first two ends the process where it stands; a background start ignores SIGINT)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, interrupted)
    before = int(NR_HUGEPAGES.read_text())
    mnt = None
    try:
        NR_HUGEPAGES.write_text(str(before + n))
        if meminfo("HugePages_Free") < n:
            raise RuntimeError(f"--hugepages {n}: the kernel reserved only "
                               f"{meminfo('HugePages_Free')} free pages")
        if not hugetlbfs_mounted():
            mnt = Path(f"/run/tcplab/hugepages-{os.getpid()}")
            mnt.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev",
                            str(mnt)], check=True, capture_output=True)
        log(f"hugepages: {n} reserved" + (f", mounted at {mnt}" if mnt else ""))
        yield
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], capture_output=True)
            mnt.rmdir()
        give_back_hugepages(before)


def give_back_hugepages(before: int) -> None:
    """Back to @before pages. Pages a DPDK process still held when the count was written
    stay as surplus: write again once it is gone (bounded: 5 s)."""
    deadline = time.monotonic() + 5.0
    while True:
        NR_HUGEPAGES.write_text(str(before))
        if meminfo("HugePages_Total") <= before or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if meminfo("HugePages_Total") > before:
        log(f"hugepages: {meminfo('HugePages_Total') - before} still held by a process; "
            f"write {before} to {NR_HUGEPAGES} once it has ended")


def one_round(duration: float, warmup: float, stack_opts: list[str]) -> dict:
    """Every figure once, back to back: the floor, then each scenario on both backends."""
    f: dict = {}
    pp = floor(duration, warmup)
    f["floor_p50"], f["floor_p99"] = pp["p50_ns"], pp["p99_ns"]
    sides = ((STACK, [*STACK_FLAGS, *(a for o in stack_opts for a in ("--stack-opt", o))]),
             (LINUX, []))
    for name in ("echo_rr", "stream_send", "crr"):
        for backend, flags in sides:
            m = scenario(name, backend, duration, warmup, flags)
            if name == "echo_rr":
                f[f"{backend}_rr_p50"] = m["latency_ns"]["p50"]
                if backend == STACK:
                    f["lwip_hugepages"] = m["stack_counters"].get("hugepages", 0)
                f[f"{backend}_rr_p99"] = m["latency_ns"]["p99"]
                f[f"{backend}_rr_tps"] = m["tps"]
            elif name == "stream_send":
                f[f"{backend}_stream_bps"] = m["throughput_bps"]
            else:
                f[f"{backend}_crr_cps"] = m["connections_per_s"]
    return f


def ratios(f: dict) -> dict:
    return {label: (f[num] / f[den] if f[den] else float("inf"))
            for label, num, den, _, _ in TARGETS}


def reach(f: dict) -> dict:
    """The kernel ratio on this host, and its ceiling (lwIP at the raw floor itself): no
    targets, they say how fast this host's kernel loopback is."""
    return {label: (f[num] / f[den] if f[den] else float("inf"))
            for label, num, den in REACH}


def measure(rounds: int, duration: float, warmup: float, stack_opts: list[str]) -> list[dict]:
    out = []
    for i in range(rounds):
        log(f"round {i + 1}/{rounds}: raw memif ping-pong, echo_rr, stream_send, crr "
            f"(lwip, kernel)")
        out.append(one_round(duration, warmup, stack_opts))
    return out


def spread(values: list[float], scale: float, fmt: str) -> str:
    """median, and the range over the rounds when there are several"""
    text = format(median(values) / scale, fmt)
    if len(values) > 1:
        text += f" ({format(min(values) / scale, fmt)}..{format(max(values) / scale, fmt)})"
    return text


def report(per_round: list[dict]) -> None:
    col = {k: [r[k] for r in per_round] for k in per_round[0]}
    us, gbit = 1e3, 1e9
    huge = sorted({r.get("lwip_hugepages", 0) for r in per_round})
    pages = 'hugepages' if huge == [1] else '4 KiB pages (--no-huge)' if huge == [0] else \
        'mixed pages'
    print(f"figures: median of {len(per_round)} round(s), (min..max) over rounds; lwip on "
          f"{pages}")
    print(f"raw memif 64 B round trip   p50 {spread(col['floor_p50'], us, '.2f')} us   "
          f"p99 {spread(col['floor_p99'], us, '.2f')} us")
    for b in (STACK, LINUX):	# the figures' keys start with the backend's name
        print(f"{b:6} echo_rr              p50 {spread(col[f'{b}_rr_p50'], us, '.2f')} us   "
              f"p99 {spread(col[f'{b}_rr_p99'], us, '.2f')} us")
        print(f"{b:6} stream_send          {spread(col[f'{b}_stream_bps'], gbit, '.2f')} Gbit/s")
        print(f"{b:6} crr                  {spread(col[f'{b}_crr_cps'], 1, '.0f')} conn/s")
    print()
    print("ratios: each round's figures divided within that round; median (min..max)")
    per = [ratios(r) for r in per_round]
    for label, _, _, target, at_least in TARGETS:
        vals = [p[label] for p in per]
        ok = median(vals) >= target if at_least else median(vals) <= target
        print(f"{label:42} {spread(vals, 1, '8.2f'):24} target {'>=' if at_least else '<='} "
              f"{target:<5g} {'ok' if ok else 'MISSED'}")
    print()
    print("the kernel ratio on this host (no target: it is the host kernel's loopback "
          "speed), per round: median (min..max)")
    per = [reach(r) for r in per_round]
    for label in per[0]:
        print(f"{label:48} {spread([p[label] for p in per], 1, '8.2f')}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench stack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of every figure, back to back (5); ratios are per round")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per run (2)")
    ap.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds (0.5)")
    ap.add_argument("--stack-opt", action="append", default=[], metavar="K=V",
                    help="a backend setting for the lwip runs, e.g. mtu=1500 (repeatable)")
    ap.add_argument("--hugepages", type=int, default=0, metavar="N",
                    help="reserve N more 2 MiB hugepages for the run, given back after (root; "
                         "320 covers both DPDK processes); default 0: whatever the host has")
    ap.add_argument("--json", action="store_true", help="also print every round as JSON")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0 or args.hugepages < 0:
        ap.error("--rounds must be >= 1, --duration > 0, --warmup >= 0 and --hugepages >= 0")
    for o in args.stack_opt:
        if "=" not in o:
            ap.error(f"--stack-opt {o}: expected KEY=VALUE")
    t0 = time.monotonic()
    try:
        with hugepages(args.hugepages):
            per_round = measure(args.rounds, args.duration, args.warmup, args.stack_opt)
    except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError,
            subprocess.CalledProcessError) as e:
        log(f"stack: {e}")
        return 2
    report(per_round)
    if args.json:
        print(json.dumps({"rounds": per_round, "ratios": [ratios(r) for r in per_round],
                          "reach": [reach(r) for r in per_round]}, indent=1))
    log(f"stack: done in {time.monotonic() - t0:.0f} s")
    return 0
