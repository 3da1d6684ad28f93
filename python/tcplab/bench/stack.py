"""tcplab bench stack: every DPDK stack built, on memif, against its floor and the kernel.

In one invocation, side by side:
  - the floor: raw 64-byte frames bounced between two DPDK processes over a memif pair
    (build/stack/dpdk/memif_pingpong: same EAL and port code as the stacks, no TCP/IP);
  - echo_rr, stream_send and crr on each DPDK stack over memif (every one the binary has,
    tcplab.stacks, or those --backend names) and on kernel/loopback.
Per stack: echo_rr p50 and p99, stream_send Gbit/s, crr connections/s, beside the kernel's;
and its ratios (RATIOS):
  floor   stack echo_rr p50 / floor p50                  at most its target
  stream  stack stream_send throughput / kernel's        at least its target
  crr     stack crr connections/s / kernel's             at least its target
The targets are the stack's row of the one table, tcplab.stacks.EXPECTED (issue 3 set the
first); a ratio with no target, or a stack the table does not know, is reported with no
verdict. With no target either, the host's reach: kernel echo_rr p50 /
stack echo_rr p50, and kernel echo_rr p50 / floor p50, the most that ratio can be (a stack
at the floor itself). Both depend on the host kernel's loopback round trip, which varies
between hosts far more than the floor does (77 us where issue 3's targets were set, 21 us
on another VM of the same kind).
Every figure is taken --rounds times (default 5), a round being all of them back to back,
the stacks interleaved, and each ratio is computed within a round, so a machine whose speed
drifts between rounds moves numerator and denominator together; the median ratio is judged.
Runs are short (--duration, default 2 s): the machine is shared. A benchmark, never a test:
a missed target is reported, not failed; exit 2 only when something could not run.
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

from .. import UsageError, stacks
from ..topology import DPDK, LINUX, Table
from .common import build_dir, log, median, run_scenario, stop

READY_TIMEOUT_S = 60.0
FLOOR_LINK = "memif"	# the link kind the floor measures (memif_pingpong): the stacks' too
# ratio -> (label after the stack's name, numerator, denominator, at_least); a figure is
# (whose, key), whose being the stack ("stack"), the kernel or the floor
RATIOS = {
    "floor": ("echo_rr p50 / raw memif p50", ("stack", "rr_p50"), ("floor", "p50"), False),
    "stream": ("stream / kernel stream (bit/s)", ("stack", "stream_bps"),
               (LINUX, "stream_bps"), True),
    "crr": ("crr / kernel crr (conn/s)", ("stack", "crr_cps"), (LINUX, "crr_cps"), True),
}
KERNEL_CEILING = "kernel rr / floor (the kernel ratio's ceiling)"


def stack_flags(table: Table) -> list[str]:
    """`--topology` for the DPDK stacks: the table's topology whose link is the floor's
    (FLOOR_LINK) and which takes a DPDK stack on both sides; UsageError when it has none."""
    for t in table.topologies:
        if t.link is not None and t.link.kind == FLOOR_LINK and t.allows(DPDK, DPDK):
            return ["--topology", t.name]
    raise UsageError(f"no topology of the table joins two DPDK sides by a {FLOOR_LINK} "
                     "link, the floor's (tcplab list --json)")


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


def figures(m: dict) -> dict:
    """What a round keeps of echo_rr's metrics."""
    return {"rr_p50": m["latency_ns"]["p50"], "rr_p99": m["latency_ns"]["p99"],
            "rr_tps": m["tps"]}


def one_round(chosen: list[str], duration: float, warmup: float,
              stack_opts: list[str], topology: list[str]) -> dict:
    """Every figure once, back to back: the floor, then each scenario on every stack and on
    the kernel: {"floor": {p50, p99}, "kernel": {...}, "stacks": {NAME: {...}}}."""
    pp = floor(duration, warmup)
    f: dict = {"floor": {"p50": pp["p50_ns"], "p99": pp["p99_ns"]}, LINUX: {},
               "stacks": {s: {} for s in chosen}}
    opts = [a for o in stack_opts for a in ("--stack-opt", o)]
    sides = [(s, [*topology, *opts], f["stacks"][s]) for s in chosen] + \
        [(LINUX, [], f[LINUX])]
    for name in ("echo_rr", "stream_send", "crr"):
        for backend, flags, out in sides:
            m = scenario(name, backend, duration, warmup, flags)
            if name == "echo_rr":
                out.update(figures(m))
                if backend != LINUX:
                    out["hugepages"] = m["stack_counters"].get("hugepages", 0)
            elif name == "stream_send":
                out["stream_bps"] = m["throughput_bps"]
            else:
                out["crr_cps"] = m["connections_per_s"]
    return f


def figure(f: dict, stack: str, where: tuple[str, str]) -> float:
    whose, key = where
    return f["stacks"][stack][key] if whose == "stack" else f[whose][key]


def ratios(f: dict) -> dict:
    """{stack: {ratio: value}} of one round."""
    out = {}
    for s in f["stacks"]:
        out[s] = {}
        for name, (_, num, den, _) in RATIOS.items():
            d = figure(f, s, den)
            out[s][name] = figure(f, s, num) / d if d else float("inf")
    return out


def reach(f: dict) -> dict:
    """The kernel ratio on this host, per stack, and its ceiling (a stack at the raw floor
    itself): no targets, they say how fast this host's kernel loopback is."""
    k = f[LINUX]["rr_p50"]
    out = {f"kernel echo_rr p50 / {s} echo_rr p50": (k / v["rr_p50"] if v["rr_p50"] else
                                                       float("inf"))
           for s, v in f["stacks"].items()}
    out[KERNEL_CEILING] = k / f["floor"]["p50"] if f["floor"]["p50"] else float("inf")
    return out


def measure(chosen: list[str], rounds: int, duration: float, warmup: float,
            stack_opts: list[str], topology: list[str]) -> list[dict]:
    out = []
    for i in range(rounds):
        log(f"round {i + 1}/{rounds}: raw memif ping-pong, echo_rr, stream_send, crr "
            f"({', '.join([*chosen, LINUX])})")
        out.append(one_round(chosen, duration, warmup, stack_opts, topology))
    return out


def spread(values: list[float], scale: float, fmt: str) -> str:
    """median, and the range over the rounds when there are several"""
    text = format(median(values) / scale, fmt)
    if len(values) > 1:
        text += f" ({format(min(values) / scale, fmt)}..{format(max(values) / scale, fmt)})"
    return text


def pages(per_round: list[dict], stack: str) -> str:
    huge = sorted({r["stacks"][stack].get("hugepages", 0) for r in per_round})
    what = "hugepages" if huge == [1] else "4 KiB pages (--no-huge)" if huge == [0] else \
        "mixed pages"
    return f"{stack} on {what}"


def report_figures(per_round: list[dict], chosen: list[str]) -> None:
    us, gbit = 1e3, 1e9
    floor_col = {k: [r["floor"][k] for r in per_round] for k in ("p50", "p99")}
    print(f"figures: median of {len(per_round)} round(s), (min..max) over rounds; "
          + ", ".join(pages(per_round, s) for s in chosen))
    print(f"raw memif 64 B round trip   p50 {spread(floor_col['p50'], us, '.2f')} us   "
          f"p99 {spread(floor_col['p99'], us, '.2f')} us")
    width = max(len(b) for b in [*chosen, LINUX])
    for b in [*chosen, LINUX]:
        col = {k: [r[LINUX][k] if b == LINUX else r["stacks"][b][k] for r in per_round]
               for k in ("rr_p50", "rr_p99", "stream_bps", "crr_cps")}
        print(f"{b:{width}} echo_rr              p50 {spread(col['rr_p50'], us, '.2f')} us   "
              f"p99 {spread(col['rr_p99'], us, '.2f')} us")
        print(f"{b:{width}} stream_send          {spread(col['stream_bps'], gbit, '.2f')} "
              f"Gbit/s")
        print(f"{b:{width}} crr                  {spread(col['crr_cps'], 1, '.0f')} conn/s")


def verdict(vals: list[float], target: float | None, at_least: bool) -> str:
    if target is None:
        return "no target"
    ok = median(vals) >= target if at_least else median(vals) <= target
    return f"target {'>=' if at_least else '<='} {target:<5g} {'ok' if ok else 'MISSED'}"


def report(per_round: list[dict], chosen: list[str]) -> None:
    report_figures(per_round, chosen)
    print()
    print("ratios: each round's figures divided within that round; median (min..max); "
          "targets: tcplab.stacks.EXPECTED")
    per = [ratios(r) for r in per_round]
    for s in chosen:
        goals = stacks.targets(s)
        for name, (label, _, _, at_least) in RATIOS.items():
            vals = [p[s][name] for p in per]
            print(f"{s + ' ' + label:48} {spread(vals, 1, '8.2f'):24} "
                  f"{verdict(vals, goals.get(name), at_least)}")
    print()
    print("the kernel ratio on this host (no target: it is the host kernel's loopback "
          "speed), per round: median (min..max)")
    per_reach = [reach(r) for r in per_round]
    for label in per_reach[0]:
        print(f"{label:48} {spread([p[label] for p in per_reach], 1, '8.2f')}")


def pick_stacks(wanted: list[str], table: Table) -> list[str]:
    """The stacks to measure: those named (each a DPDK stack the binary has), else every one
    it has; UsageError naming what is wrong, or why there is none."""
    have = stacks.built(table)
    for w in wanted:
        if w not in have:
            raise UsageError(f"--backend {w}: not a DPDK stack built here (DPDK stacks: "
                             f"{', '.join(have) or 'none'})")
    if not have:
        why = "; ".join(p.why for p in stacks.survey(table) if not p.built)
        raise UsageError(f"no DPDK stack built here{': ' + why if why else ''}")
    return list(dict.fromkeys(wanted)) or have


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab bench stack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", default=[], metavar="NAME",
                    help="a DPDK stack to measure (repeatable; default: every one built)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of every figure, back to back (5); ratios are per round")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per run (2)")
    ap.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds (0.5)")
    ap.add_argument("--stack-opt", action="append", default=[], metavar="K=V",
                    help="a setting for every stack measured, e.g. mtu=1500 (repeatable; a "
                         "stack's own setting: measure that stack alone with --backend)")
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
    try:
        table = Table.load()
        chosen = pick_stacks(args.backend, table)
        topology = stack_flags(table)
    except UsageError as e:
        log(f"stack: {e}")
        return 2
    t0 = time.monotonic()
    try:
        with hugepages(args.hugepages):
            per_round = measure(chosen, args.rounds, args.duration, args.warmup,
                                args.stack_opt, topology)
    except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError,
            subprocess.CalledProcessError) as e:
        log(f"stack: {e}")
        return 2
    report(per_round, chosen)
    if args.json:
        print(json.dumps({"stacks": chosen, "targets": {s: stacks.targets(s) for s in chosen},
                          "rounds": per_round, "ratios": [ratios(r) for r in per_round],
                          "reach": [reach(r) for r in per_round]}, indent=1))
    log(f"stack: done in {time.monotonic() - t0:.0f} s")
    return 0
