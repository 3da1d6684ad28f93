"""tcplab bench capture: what the DPDK capture ring and an idle impairment stage cost.

In one run, echo_rr on a DPDK stack over memif (default: the stack `tcplab run` takes when
none is named; --backend picks another) three ways, interleaved in rounds:
  A  --pcap never                     the baseline: no ring, no stage
  B  --pcap on-failure                the capture ring on both sides, recording every frame,
                                      not written out (the run passes)
  C  --pcap never --impair loss=0%    the impairment stage on every direction of both
                                      sides, deciding nothing (the port skips it: one
                                      branch a burst) and dropping none
A round runs each once, in an order rotated round by round (A B C, B C A, C A B, ...), so a
machine whose speed drifts, and the place in a round, weigh on all three alike. Each run's
result is checked for what it is meant to have: B's ring on both sides (`captures`), C's
stage on both directions of both sides (impair_tx_dropped and impair_rx_dropped in both
sides' counters, all 0), A and B with no stage; a run that fails its checks, or lacks what
it is meant to have, ends the benchmark (exit 2): its figure would measure something else.
Judged (issue 16), each ratio taken within a round and the median over the rounds taken:
  B p50 / A p50  at most 1.03      C p50 / A p50  at most 1.02
and the p99 ratios, for information. Each ratio comes with the 95 % interval of its median
over the rounds taken (order statistics: resultkit.stats.median_interval); the verdict is
"pass" when the whole interval is within the target, "over target" when all of it is over,
and "not resolved" when the interval holds the target: more rounds narrow it. This VM flips between a fast and a slow state for
seconds at a time (the memif round trip 0.7 or 2 us here), so a ratio of two runs in
different states measures the VM: the median is over the rounds whose three p50s lie within
STATE_SPREAD of each other (one state), when at least half of them do; else over them all,
and the report says which. A benchmark, never a test: a ratio over its target is
reported, not failed; exit 2 only when something could not run. CPUs: as in `tcplab bench
stack`, the harness's own pick (cpu=auto: the SUT's polling lcore on the highest allowed
CPU, the engine's on the lowest; stack/dpdk/README.md, "Settings").
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

from resultkit import stats

from .. import UsageError, stacks
from ..topology import Table
from .common import log, median, run_scenario, tcplab_bin
from .stack import pick_stacks, stack_flags

IMPAIR_SPEC = "loss=0%"
# key -> (what it is, the flags of its run after the common ones)
CONFIGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "A": ("--pcap never: the baseline", ("--pcap", "never")),
    "B": ("--pcap on-failure: the capture ring on, not written", ("--pcap", "on-failure")),
    "C": (f"--pcap never --impair '{IMPAIR_SPEC}': the stage on, idle",
          ("--pcap", "never", "--impair", IMPAIR_SPEC)),
}
# ratio -> (label, numerator config, denominator config, percentile, target or None)
RATIOS: dict[str, tuple[str, str, str, str, float | None]] = {
    "capture_p50": ("B/A p50 (capture ring)", "B", "A", "p50", 1.03),
    "impair_p50": ("C/A p50 (impairment stage)", "C", "A", "p50", 1.02),
    "capture_p99": ("B/A p99 (capture ring)", "B", "A", "p99", None),
    "impair_p99": ("C/A p99 (impairment stage)", "C", "A", "p99", None),
}
SIDES = ("engine", "sut")
STAGE_COUNTERS = ("impair_tx_dropped", "impair_rx_dropped")
RING_ON = "the run passed (--pcap on-failure)"	# captures.not_kept of a side with the ring
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "": 1.0}


def seconds(text: str) -> float:
    """A time flag: seconds, or a number with ns, us, ms or s (as `tcplab run` takes)."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s)?", text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"'{text}': expected seconds, e.g. 5 or 5s or 500ms")
    return float(m.group(1)) * TIME_UNITS[m.group(2) or ""]


def order(i: int) -> list[str]:
    """Round @i's order (0-based): the configs rotated by i."""
    keys = list(CONFIGS)
    k = i % len(keys)
    return keys[k:] + keys[:k]


def side_counters(doc: dict) -> dict[str, dict]:
    return {"engine": doc.get("stack_counters") or {},
            "sut": (doc.get("sut") or {}).get("stack") or {}}


def check_run(key: str, doc: dict) -> None:
    """RuntimeError unless the run passed and had what config @key is meant to have."""
    if not doc.get("passed"):
        raise RuntimeError(f"run {key} failed its checks: "
                           + json.dumps([c for c in doc.get("checks", []) if not c["ok"]]))
    counters = side_counters(doc)
    staged = {s: {k: v for k, v in c.items() if k.startswith("impair_")}
              for s, c in counters.items()}
    if key == "C":
        for s in SIDES:
            got = {k: staged[s].get(k) for k in STAGE_COUNTERS}
            if any(v != 0 for v in got.values()):
                raise RuntimeError(
                    f"run C (--impair '{IMPAIR_SPEC}'): the {s} side's stage was not there on "
                    f"both directions, or dropped frames: {got} (want each present and 0)")
    elif any(staged.values()):
        raise RuntimeError(f"run {key} (no --impair) has impairment counters: {staged}")
    caps = doc.get("captures") or {}
    want_mode = "on-failure" if key == "B" else "never"
    if caps.get("mode") != want_mode:
        raise RuntimeError(f"run {key}: captures.mode is {caps.get('mode')!r}, not "
                           f"{want_mode!r}: {caps}")
    if key == "B":
        not_kept = caps.get("not_kept") or {}
        off = {s: not_kept.get(s) for s in SIDES if not_kept.get(s) != RING_ON}
        if off:
            raise RuntimeError(f"run B: the capture ring was not on both sides: {off}")


def run_one(key: str, backend: str, duration: float, warmup: float,
            topology: list[str]) -> dict:
    """One echo_rr run of config @key, checked: {p50, p99} in ns. Its --pcap comes after
    run_scenario's NO_CAPTURE, and the last one given wins; check_run reads it back."""
    doc = run_scenario("echo_rr", "--backend", backend, *topology, "--duration",
                       f"{duration:g}s", "--warmup", f"{warmup:g}s", *CONFIGS[key][1])
    check_run(key, doc)
    lat = doc["metrics"]["latency_ns"]
    return {"p50": lat["p50"], "p99": lat["p99"]}


def measure(backend: str, rounds: int, duration: float, warmup: float,
            topology: list[str]) -> list[dict]:
    """Every round: {"order": [...], "A": {p50, p99}, "B": ..., "C": ...}."""
    out = []
    for i in range(rounds):
        keys = order(i)
        log(f"capture: round {i + 1}/{rounds}: {' '.join(keys)} ({backend}, echo_rr "
            f"{duration:g} s each)")
        r: dict = {"order": keys}
        for key in keys:
            r[key] = run_one(key, backend, duration, warmup, topology)
        log(f"capture: round {i + 1}/{rounds}: p50 "
            + "  ".join(f"{k} {r[k]['p50'] / 1e3:.2f} us" for k in CONFIGS))
        out.append(r)
    return out


STATE_SPREAD = 1.5	# the fast and the slow state differ 2.5-3x; runs of one, by less


def one_state(rounds: list[dict]) -> list[dict]:
    """The rounds whose runs' p50s all lie within STATE_SPREAD of each other, when at least
    half the rounds do; else all of them."""
    same = [r for r in rounds
            if max(r[k]["p50"] for k in CONFIGS) <= STATE_SPREAD * min(r[k]["p50"] for k in CONFIGS)]
    return same if 2 * len(same) >= len(rounds) else rounds


def round_ratios(rounds: list[dict]) -> dict[str, list[float]]:
    """Each ratio within each one-state round."""
    used = one_state(rounds)
    return {name: [r[num][q] / r[den][q] if r[den][q] else float("inf") for r in used]
            for name, (_, num, den, q, _) in RATIOS.items()}


def ratios(rounds: list[dict]) -> dict[str, float]:
    """Each ratio: the median over the one-state rounds of the ratio within the round."""
    return {name: median(v) for name, v in round_ratios(rounds).items()}


def verdict(interval: stats.MedianInterval, target: float | None) -> str:
    """Pass, over target or not resolved, by where the median's interval lies."""
    if target is None:
        return "for information"
    if interval.hi <= target:
        return f"target <= {target:.2f}: pass"
    if interval.lo > target:
        return f"target <= {target:.2f}: over target"
    return f"target <= {target:.2f}: not resolved (the interval holds it)"


def report(backend: str, rounds: list[dict], duration: float, warmup: float) -> None:
    print(f"capture benchmark: echo_rr on {backend} over memif, {len(rounds)} round(s) of "
          f"{duration:g} s runs (+{warmup:g} s warm-up), order rotated per round")
    for key, (what, _) in CONFIGS.items():
        print(f"  {key}  {what}")
    print(f"checked in every run: B's capture ring on both sides; C's stage on both "
          f"directions of both sides ({', '.join(STAGE_COUNTERS)} present and 0): "
          f"stage check passed")
    print()
    print("round  order   p50 us:    A        B        C    p99 us:    A        B        C")
    for i, r in enumerate(rounds):
        print(f"{i + 1:5}  {' '.join(r['order'])}          "
              + " ".join(f"{r[k]['p50'] / 1e3:8.2f}" for k in CONFIGS) + "           "
              + " ".join(f"{r[k]['p99'] / 1e3:8.2f}" for k in CONFIGS))
    print("median                "
          + " ".join(f"{median([r[k]['p50'] for r in rounds]) / 1e3:8.2f}" for k in CONFIGS)
          + "           "
          + " ".join(f"{median([r[k]['p99'] for r in rounds]) / 1e3:8.2f}" for k in CONFIGS))
    print()
    used = one_state(rounds)
    print(f"ratios: within each round, the median over {len(used)} of {len(rounds)} rounds "
          + ("(those in one state: p50s within "
             f"{STATE_SPREAD:g}x)" if len(used) < len(rounds) else "(all)"))
    each = round_ratios(rounds)
    for name, (label, _, _, _, target) in RATIOS.items():
        iv = stats.median_interval(each[name])
        print(f"  {label:30} {median(each[name]):7.3f}  [{iv.lo:.3f}, {iv.hi:.3f}] "
              f"{iv.confidence:.0%}   {verdict(iv, target)}")


def pick(wanted: str | None, table: Table) -> str:
    """The DPDK stack to measure: --backend's, else the default stack under test."""
    if wanted is not None:
        return pick_stacks([wanted], table)[0]
    name = stacks.default_stack(table, tcplab_bin())
    if name is None:
        pick_stacks([], table)	# raises, saying why there is none
        raise UsageError("no DPDK stack built here")
    return name


class Parser(argparse.ArgumentParser):
    """A bad flag is one line on stderr, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        log(f"capture: {message} (tcplab bench capture --help)")
        sys.exit(2)


def main(argv: list[str]) -> int:
    ap = Parser(prog="tcplab bench capture", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", metavar="NAME",
                    help="the DPDK stack (default: the one `tcplab run` takes)")
    ap.add_argument("--rounds", type=int, default=12,
                    help="rounds of A, B and C (12: each order four times)")
    ap.add_argument("--duration", type=seconds, default=5.0, metavar="TIME",
                    help="each run's measured time (5s)")
    ap.add_argument("--warmup", type=seconds, default=0.5, metavar="TIME",
                    help="each run's warm-up (0.5s)")
    ap.add_argument("--json", action="store_true", help="also print every round as JSON")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.duration <= 0:
        ap.error("--rounds must be >= 1 and --duration > 0")
    try:
        table = Table.load()
        backend = pick(args.backend, table)
        topology = stack_flags(table)
    except UsageError as e:
        log(f"capture: {e}")
        return 2
    t0 = time.monotonic()
    try:
        per_round = measure(backend, args.rounds, args.duration, args.warmup, topology)
    except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as e:
        log(f"capture: {e}")
        return 2
    report(backend, per_round, args.duration, args.warmup)
    if args.json:
        print(json.dumps({"backend": backend, "impair": IMPAIR_SPEC,
                          "targets": {n: r[4] for n, r in RATIOS.items() if r[4] is not None},
                          "rounds": per_round, "ratios": ratios(per_round)}, indent=1))
    log(f"capture: done in {time.monotonic() - t0:.0f} s")
    return 0
