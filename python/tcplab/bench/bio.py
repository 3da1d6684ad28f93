"""tcplab bench bio: what the buffered I/O layer costs, measured side by side in one run.

Interleaved rounds (A B A B ..., the first of each pair alternating) on one backend:
  - read_full_16m (the bio reader: one range GET, read straight into the destination) versus
    raw_read_16m (one GET, a plain recv loop into the same reused destination): the ratio of
    their median throughputs, target >= 0.9 (issue 5);
  - the copy floor: a memcpy of 16 MiB into a reused destination, and read_full_16m's median
    time as a multiple of it;
  - the default buffer size: the same 16 MiB object read in 4 KiB application reads through
    buffers of 16 KiB, 64 KiB, 256 KiB (the default) and 1 MiB, interleaved, median MB/s each.
Every run verifies every byte (outside the measured section, alike for all).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import tempfile
import time
from pathlib import Path

from .common import NO_CAPTURE, ROOT, log, median, run_scenario, tcplab_bin

RATIO_TARGET = 0.9
OBJECT = 16 << 20
BUFFERS = ("16k", "64k", "256k", "1m")
DEFAULT_BUFFER = "256k"

CHUNKED = """description read_full_16m in 4 KiB application reads (tcplab bench bio)
program objects
conns 1
duration 10s
warmup 1s
param size 16m
param buffer 256k
client {
    repeat {
        measure {
            get $size buffer $buffer chunk 4k
        }
        verify
    }
    close
}
check errors == 0
check transactions > 0
"""


def memcpy_floor_ms(reps: int = 20) -> float:
    """Median time of a 16 MiB memcpy into a reused destination (both already touched)."""
    src = (ctypes.c_char * OBJECT)()
    dst = (ctypes.c_char * OBJECT)()
    ctypes.memset(src, 1, OBJECT)
    ctypes.memmove(dst, src, OBJECT)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        ctypes.memmove(dst, src, OBJECT)
        times.append((time.perf_counter() - t) * 1e3)
    return median(times)


def throughput(doc: dict) -> float:
    """Payload bytes/s of one run (bytes in the window / window)."""
    if not doc["passed"]:
        failed = [c["name"] for c in doc["checks"] if not c["ok"]]
        raise RuntimeError(f"{doc['scenario']} failed: {failed}, "
                           f"errors {doc['metrics']['errors_by_reason']}")
    m = doc["metrics"]
    return m["bytes_received"] / m["window_s"]


def run(name: str, args: argparse.Namespace, *extra: str) -> dict:
    return run_scenario(name, "--backend", args.backend, "--duration", args.duration,
                        "--warmup", args.warmup, *extra)


def reader_vs_raw(args: argparse.Namespace) -> tuple[list[float], list[float], list[float]]:
    reader, raw, p50_ms = [], [], []
    for i in range(args.rounds):
        order = ("read_full_16m", "raw_read_16m") if i % 2 == 0 else ("raw_read_16m",
                                                                        "read_full_16m")
        for name in order:
            doc = run(name, args)
            (reader if name == "read_full_16m" else raw).append(throughput(doc))
            if name == "read_full_16m":
                p50_ms.append(doc["metrics"]["latency_ns"]["p50"] / 1e6)
        log(f"round {i + 1}: reader {reader[-1] / 1e6:.0f} MB/s, raw {raw[-1] / 1e6:.0f} MB/s")
    return reader, raw, p50_ms


def run_file(path: Path, *args: str) -> dict:
    """run_scenario for a scenario given by path (its result is named by the file's stem)."""
    with tempfile.TemporaryDirectory(prefix="tcplab-bench-") as out:
        cmd = [str(tcplab_bin()), "run", str(path), "--quiet", "--out", out, *NO_CAPTURE,
               *args]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
        return json.loads((Path(out) / f"{path.stem}.json").read_text())


def buffer_sizes(args: argparse.Namespace) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {b: [] for b in BUFFERS}
    with tempfile.TemporaryDirectory(prefix="tcplab-bench-bio-") as tmp:
        path = Path(tmp) / "read_chunked_16m.scn"
        path.write_text(CHUNKED)
        for i in range(args.buffer_rounds):
            order = BUFFERS if i % 2 == 0 else tuple(reversed(BUFFERS))
            for b in order:
                doc = run_file(path, "--backend", args.backend, "--duration",
                                   args.duration, "--warmup", args.warmup, "--set",
                                   f"buffer={b}")
                got[b].append(throughput(doc))
            log(f"buffer round {i + 1}: " + ", ".join(
                f"{b} {got[b][-1] / 1e6:.0f}" for b in BUFFERS) + " MB/s")
    return got


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench bio", description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="kernel")
    ap.add_argument("--rounds", type=int, default=5, help="reader/raw pairs (default 5)")
    ap.add_argument("--buffer-rounds", type=int, default=3,
                    help="rounds over the buffer sizes (default 3; 0 skips them)")
    ap.add_argument("--duration", default="2", help="measured seconds per run (default 2)")
    ap.add_argument("--warmup", default="0.5")
    args = ap.parse_args(argv)

    floor = memcpy_floor_ms()
    reader, raw, p50_ms = reader_vs_raw(args)
    ratio = median(reader) / median(raw)
    pair = [a / b for a, b in zip(reader, raw)]
    print(f"bio on {args.backend} ({ROOT.name}), {args.rounds} interleaved rounds of "
          f"{args.duration}s:")
    print(f"  read_full_16m (reader)  median {median(reader) / 1e6:8.0f} MB/s  "
          f"(runs: {', '.join(f'{v / 1e6:.0f}' for v in reader)})")
    print(f"  raw_read_16m (recv)     median {median(raw) / 1e6:8.0f} MB/s  "
          f"(runs: {', '.join(f'{v / 1e6:.0f}' for v in raw)})")
    print(f"  ratio reader/raw        {ratio:.3f}  (per round: "
          f"{', '.join(f'{r:.2f}' for r in pair)})  target >= {RATIO_TARGET}: "
          f"{'met' if ratio >= RATIO_TARGET else 'NOT met'}")
    print(f"  copy floor: memcpy 16 MiB {floor:.2f} ms; read_full_16m p50 {median(p50_ms):.2f} ms"
          f" = {median(p50_ms) / floor:.1f}x the floor")
    if args.buffer_rounds > 0:
        got = buffer_sizes(args)
        best = max(BUFFERS, key=lambda b: median(got[b]))
        print("  16 MiB in 4 KiB reads, by buffer size (median MB/s): " + ", ".join(
            f"{b} {median(got[b]) / 1e6:.0f}" for b in BUFFERS))
        d = median(got[DEFAULT_BUFFER]) / median(got[best])
        print(f"  default {DEFAULT_BUFFER}: {d:.2f} of the best ({best})"
              f"{'' if d >= 0.9 else ' -- reconsider the default'}")
    return 0 if ratio >= RATIO_TARGET else 1
