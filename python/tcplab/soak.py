"""soak.py - `tcplab soak`: the quick suite's client workloads in a loop for a long time (30
minutes by default) against SUTs that stay up the whole time, one per backend and server
program, sampling what a leak would make grow; not part of CI.

    tcplab soak [--minutes 30] [--interval 60] [--backend NAME]... [--scenario NAME]...
                [--json PATH] [--no-pause]

Why long-lived SUTs: `tcplab run` is a short-lived engine and its SUT child, so the memory of
separate runs says little about leaks. Here each (backend, program) pair gets one `tcplab
serve PROGRAM` in namespaces of its own, on the topology a Linux peer meets that backend
(topology.peer_topology: tap for a DPDK stack, veth for the kernel), and the scenarios run
as `tcplab run SCENARIO --peer SUT --backend kernel` from the engine's namespace, as the
packet lab's echo_rr does. What is soaked is each stack as a server; the engine is the
kernel.

A DPDK SUT spins its CPU; with four programs on each of two stacks that is eight spinners on
this 2-CPU machine, and the one being driven would get an eighth of a core. So a DPDK SUT is
paused (SIGSTOP) while the others are driven and resumed (SIGCONT) for its own runs and its
samples; --no-pause keeps them all running.

Every --interval seconds, between two runs (so nothing is in flight), one sample:
  per SUT   VmRSS, open file descriptors, connections open (serve's stats), and its stack's
            levels: mbufs_in_use, sockets_open, tcp_active, tcp_time_wait (a DPDK stack
            must report them: stacks.LEAK_COUNTERS; a missing one fails), or for the
            kernel the TCP sockets in its namespace (ss)
  host      network namespaces (ip netns list), memif sockets (/proc/net/unix), DPDK
            runtime directories, hugepage files, /dev/shm entries, tcplab processes,
            MemAvailable
  driver    this process's VmRSS and file descriptors

The rule (flat()): the first half of the soak is warm-up (an mbuf pool's pages touched for
the first time, the allocator's arenas and Go's heap reaching their size, TIME_WAIT
filling); over the second half, the least-squares slope of each series times the half's
length is its growth, which must not exceed the series' tolerance: an absolute amount plus
a share of its level (TOLERANCES, with the reason for each). A leak is a steady rate and
shows in the second half as in the first; noise around a level has a slope near zero.
Series marked as not judged (host-wide figures other processes move) are printed only.

Output: one row per sample on stdout, then a verdict per series; --json PATH writes every
sample, each run's outcome and the verdicts (schema "tcplab.soak/1"). A run that does not
pass is a finding too. Exit 0 when every judged series is flat and every run passed, 1 when
one grows, a run failed or a SUT died, 2 on bad input; Ctrl-C or SIGTERM stops after the
current run, removes everything, writes what was sampled and exits 128+N.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import UsageError, leftovers
from .bench.suite import SUITES
from .namespaces import TopologyNamespaces
from .proc import LineProc, tcplab_bin
from .stacks import LEAK_COUNTERS
from .topology import DPDK, LINUX, SOCKETS, Table

SCHEMA = "tcplab.soak/1"
PREFIX = "tcplab-k"		# the soak's namespaces: PREFIX + e|s|b + tag
SUT_PORT = 7010
READY_S = 30.0			# a SUT prints its ready line within this (DPDK start-up)
STATS_S = 10.0			# serve answers "stats" within 3 s (serve.c STATS_WAIT_NS)
RUN_GRACE_S = 30.0		# a run past its duration + warm-up + this is ended
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
QUICK = SUITES["quick"]
LEVELS = ("mbufs_in_use", "sockets_open", "tcp_active", "tcp_time_wait")
HUGE_MOUNTS = ("/dev/hugepages",)
DPDK_RUN_DIRS = ("/var/run/dpdk", "/tmp/dpdk")


@dataclass(frozen=True)
class Tolerance:
    absolute: float		# growth allowed whatever the level
    relative: float		# plus this share of the series' median level in the second half
    judged: bool = True	# False: printed, never a failure
    why: str = ""


# growth allowed over the second half, by what a series measures
TOLERANCES = {
    "kib": Tolerance(4096, 0.02, why="RSS: glibc's arenas and Go's heap move by a few MiB "
                     "around a level; a leak of 100 bytes a connection over the thousands of "
                     "connections a half drives goes past it"),
    "count": Tolerance(2, 0.0, why="fds, sockets, connections, namespaces, files, "
                       "processes: between runs nothing is in flight, so these are exact "
                       "levels; 2 allows one straggler closing at sample time"),
    "mbufs": Tolerance(32, 0.0, why="mbufs out of the pool between runs: the RX ring's "
                       "and a partly sent TX batch; one leaked mbuf a run passes it"),
    "time_wait": Tolerance(8, 0.25, why="TIME_WAIT is a level that moves with how long ago "
                           "the last close was; bounded by 2 MSL, it never climbs"),
    "host_kib": Tolerance(0, 0.0, judged=False, why="MemAvailable: host-wide, every "
                          "process moves it; shown, not judged"),
    "host_count": Tolerance(0, 0.0, judged=False, why="/dev/shm: host-wide, other programs "
                            "use it; shown, not judged"),
}


def lsq_slope(ts: list[float], vs: list[float]) -> float:
    """The least-squares slope of @vs over @ts (0 for fewer than two distinct times)."""
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return 0.0 if den == 0 else sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den


def flat(ts: list[float], vs: list[float], tol: Tolerance) -> dict[str, Any]:
    """The rule (module doc): the growth over the second half against @tol. Needs 3 samples
    or more in the second half (ValueError otherwise)."""
    if len(ts) != len(vs):
        raise ValueError(f"{len(ts)} times and {len(vs)} values")
    mid = (ts[0] + ts[-1]) / 2 if ts else 0.0
    half = [(t, v) for t, v in zip(ts, vs) if t >= mid]
    if len(half) < 3:
        raise ValueError(f"{len(half)} samples in the second half: at least 3 needed")
    ht, hv = [t for t, _ in half], [float(v) for _, v in half]
    growth = lsq_slope(ht, hv) * (ht[-1] - ht[0])
    allowed = tol.absolute + tol.relative * abs(statistics.median(hv))
    return {"first": vs[0], "last": vs[-1], "min": min(vs), "max": max(vs),
            "growth": round(growth, 3), "allowed": round(allowed, 3),
            "judged": tol.judged, "flat": growth <= allowed}


# ---- what is sampled ----

def proc_status_kib(pid: int | str, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


def fd_count(pid: int | str) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def entries(path: str) -> int:
    """The entries of directory @path (0 where it does not exist)."""
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def tcplab_processes() -> int:
    """Processes named tcplab (every SUT, and an engine run when one is on)."""
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            n += Path(f"/proc/{pid}/comm").read_text().strip() == "tcplab"
    return n


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/meminfo has no MemAvailable")


def host_sample() -> dict[str, int]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                           timeout=30).stdout
    run_dirs = [d for d in (*DPDK_RUN_DIRS, os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""),
                                                         "dpdk")) if d != "dpdk"]
    return {"namespaces": sum(1 for line in netns.splitlines() if line.strip()),
            "memif_sockets": len(leftovers.memif_sockets()),
            "dpdk_run_dirs": sum(entries(d) for d in dict.fromkeys(run_dirs)),
            "hugepage_files": sum(entries(d) for d in HUGE_MOUNTS),
            "shm_entries": entries("/dev/shm"),
            "tcplab_processes": tcplab_processes(),
            "mem_available_kib": mem_available_kib()}


# series kind of each sampled name (TOLERANCES)
KIND = {"rss_kib": "kib", "fds": "count", "conns_open": "count", "mbufs_in_use": "mbufs",
        "sockets_open": "count", "tcp_active": "count", "tcp_time_wait": "time_wait",
        "namespaces": "count", "memif_sockets": "count", "dpdk_run_dirs": "count",
        "hugepage_files": "count", "shm_entries": "host_count", "tcplab_processes": "count",
        "mem_available_kib": "host_kib"}


# ---- the SUTs ----

class Sut:
    """One `tcplab serve PROGRAM --backend B` in namespaces of its own, up for the soak."""

    def __init__(self, table: Table, binary: str, backend: str, program: str, tag: str,
                 log_dir: Path, stack: contextlib.ExitStack) -> None:
        self.backend, self.program, self.binary = backend, program, binary
        self.name = f"{backend}/{program}"
        self.attach = table.backend(backend).attach
        self.topo = table.peer_topology(self.attach)
        assert self.topo.addresses is not None
        self.addr = f"{self.topo.addresses.sut}:{SUT_PORT}"
        self.ns = stack.enter_context(TopologyNamespaces(
            self.topo, {"engine": SOCKETS, "sut": self.attach}, PREFIX, tag, quiet=True))
        opts = self.topo.stack_opts("sut", self.attach)
        argv = ["ip", "netns", "exec", self.ns.ns["sut"], binary, "serve", program,
                "--listen", self.addr, "--backend", backend,
                *(a for o in opts for a in ("--stack-opt", o))]
        self.proc = LineProc(f"sut-{backend}-{program}", argv, log_dir)
        stack.callback(self.stop)
        ready = self.proc.read(READY_S)
        if ready.get("event") != "ready":
            raise RuntimeError(f"{self.name}: first line is not the ready event: {ready}")
        self.pid = int(ready["pid"])
        self.paused = False

    @property
    def pausable(self) -> bool:
        return self.attach == DPDK

    def pause(self) -> None:
        if self.pausable and not self.paused and self.proc.alive():
            os.kill(self.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            os.kill(self.pid, signal.SIGCONT)
            self.paused = False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.resume()
        self.proc.stop()

    def died(self) -> str | None:
        if self.proc.alive():
            return None
        return (f"{self.name}: the SUT ended (exit status {self.proc.returncode}); stderr: "
                f"{self.proc.stderr_tail()}")

    def sample(self) -> dict[str, int]:
        """Its levels now (module doc); RuntimeError when a stack lacks a leak counter."""
        self.resume()
        try:
            self.proc.send("stats")
            st = self.proc.read(STATS_S)
            out = {"rss_kib": proc_status_kib(self.pid), "fds": fd_count(self.pid),
                   "conns_open": int(st["open"])}
        finally:
            self.pause()
        counters = st.get("stack", {})
        if self.attach == DPDK:
            missing = [c for c in (*LEAK_COUNTERS, "tcp_time_wait") if c not in counters]
            if missing:
                raise RuntimeError(f"{self.name}: the stack reports no {', '.join(missing)} "
                                   f"(stacks.LEAK_COUNTERS): its leaks cannot be judged")
            out.update({c: int(counters[c]) for c in LEVELS})
        else:
            states = self.ns.sockets("sut")
            out["sockets_open"] = sum(states.values())
            out["tcp_time_wait"] = states.get("TIME-WAIT", 0)
            out["tcp_active"] = out["sockets_open"] - out["tcp_time_wait"] - \
                states.get("LISTEN", 0)
        return out

    def run(self, scenario: str, duration: float, warmup: float,
            stop: "Stopper") -> dict[str, Any]:
        """One `tcplab run SCENARIO --peer SUT` from the engine's namespace: its outcome."""
        self.resume()
        try:
            return self._run(scenario, duration, warmup, stop)
        finally:
            self.pause()

    def _run(self, scenario: str, duration: float, warmup: float,
             stop: "Stopper") -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="tcplab-soak-") as tmp:
            argv = ["ip", "netns", "exec", self.ns.ns["engine"], self.binary, "run", scenario,
                    "--peer", self.addr, "--backend", LINUX, "--duration", f"{duration:g}s",
                    "--warmup", f"{warmup:g}s", "--pcap", "never", "--quiet", "--out", tmp]
            # a session of its own: a terminal's Ctrl-C reaches the soak, which ends the run
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
            deadline = time.monotonic() + duration + warmup + RUN_GRACE_S
            while proc.poll() is None:
                if stop.signum or time.monotonic() > deadline:
                    proc.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(10)
                    if proc.poll() is None:
                        proc.kill()
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.2)
            rc = proc.wait()
            err = proc.stderr.read().strip() if proc.stderr else ""
            path = Path(tmp) / f"{scenario}.json"
            result = json.loads(path.read_text()) if path.is_file() else {}
        out: dict[str, Any] = {"scenario": scenario, "backend": self.backend, "rc": rc}
        if rc != 0:
            failed = failed_checks(result)
            out["error"] = (err.splitlines()[-1] if err else f"exit {rc}") + (
                f"; checks failed: {', '.join(failed)}" if failed else "")
        return out


def failed_checks(result: dict[str, Any]) -> list[str]:
    """The result's failed checks as "NAME = VALUE (limit LIMIT)". A value is null where the
    window had nothing to measure (a run stopped by a signal at its start): "n/a"."""
    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:g}"
    return [f"{c['name']} = {num(c.get('value'))} (limit {num(c.get('limit'))})"
            for c in result.get("checks", []) if not c.get("ok", True)]


class Stopper:
    """SIGINT and SIGTERM set signum; the soak stops after the current run."""

    def __init__(self) -> None:
        self.signum = 0
        self.old: dict[int, Any] = {}

    def __enter__(self) -> "Stopper":
        for s in STOP_SIGNALS:
            self.old[s] = signal.signal(s, self.handle)
        return self

    def handle(self, signum: int, _frame: object) -> None:
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for s, h in self.old.items():
            signal.signal(s, h)


# ---- the soak ----

@dataclass
class Soak:
    backends: list[str]
    scenarios: dict[str, str]		# scenario -> its server program
    minutes: float
    interval_s: float
    pause: bool = True
    samples: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    died: str | None = None
    stopped: str | None = None
    suts: dict[str, dict[str, Any]] = field(default_factory=dict)	# name -> pid, topology

    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        """name -> (times, values), for every value every sample has."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for s in self.samples:
            flatten = {f"host {k}": v for k, v in s["host"].items()}
            flatten.update({f"driver {k}": v for k, v in s["driver"].items()})
            for name, levels in s["suts"].items():
                flatten.update({f"{name} {k}": v for k, v in levels.items()})
            for k, v in flatten.items():
                ts, vs = out.setdefault(k, ([], []))
                ts.append(s["t"])
                vs.append(v)
        return out

    def verdicts(self) -> list[dict[str, Any]]:
        out = []
        n = len(self.samples)
        for name, (ts, vs) in self.series().items():
            if len(vs) != n:
                continue
            tol = TOLERANCES[KIND[name.rsplit(" ", 1)[1]]]
            out.append({"series": name, **flat(ts, vs, tol)})
        return out


def sample(soak: Soak, suts: list[Sut], t0: float) -> dict[str, Any]:
    row = {"t": round(time.monotonic() - t0, 1),
           "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "host": host_sample(),
           "driver": {"rss_kib": proc_status_kib("self"), "fds": fd_count("self")},
           "suts": {s.name: s.sample() for s in suts}}
    soak.samples.append(row)
    return row


def row_text(row: dict[str, Any], backends: list[str]) -> str:
    """One printed line: per backend its SUTs' sums, then the host and the driver."""
    parts = [f"{row['t']:7.0f}s"]
    for b in backends:
        levels = [v for k, v in row["suts"].items() if k.split("/")[0] == b]
        tot = {k: sum(lv.get(k, 0) for lv in levels) for k in
               ("rss_kib", "fds", "mbufs_in_use", "sockets_open", "tcp_active")}
        parts.append(f"{b} rss={tot['rss_kib'] / 1024:.1f}M fds={tot['fds']} "
                     f"mbufs={tot['mbufs_in_use']} sk={tot['sockets_open']} "
                     f"act={tot['tcp_active']}")
    h, d = row["host"], row["driver"]
    parts.append(f"ns={h['namespaces']} memif={h['memif_sockets']} "
                 f"dpdk={h['dpdk_run_dirs']} huge={h['hugepage_files']} shm={h['shm_entries']} "
                 f"procs={h['tcplab_processes']} avail={h['mem_available_kib'] // 1024}M "
                 f"driver={d['rss_kib'] / 1024:.1f}M/{d['fds']}fd")
    return " | ".join(parts)


def drive(soak: Soak, suts: dict[tuple[str, str], Sut], stop: Stopper,
          duration: float, warmup: float) -> None:
    """Scenarios in a loop, each on every backend, sampling when due, until the end."""
    order = list(suts.values())
    t0 = time.monotonic()
    end = t0 + soak.minutes * 60
    due = t0
    while not stop.signum:
        for scenario, program in soak.scenarios.items():
            for b in soak.backends:
                now = time.monotonic()
                if now >= due:
                    print(row_text(sample(soak, order, t0), soak.backends), flush=True)
                    due += soak.interval_s
                    if now >= end:
                        return
                if stop.signum:
                    return
                sut = suts[(b, program)]
                res = sut.run(scenario, duration, warmup, stop)
                res["t"] = round(time.monotonic() - t0, 1)
                soak.runs.append(res)
                if "error" in res and not stop.signum:
                    log(f"{b} {scenario}: {res['error']}")
                if stop.signum:	# a terminal's Ctrl-C reached the SUTs too
                    return
                soak.died = next((d for s in order if (d := s.died())), None)
                if soak.died:
                    return


def log(msg: str) -> None:
    print(f"tcplab soak: {msg}", file=sys.stderr, flush=True)


def run_soak(soak: Soak, binary: str, table: Table, stop: Stopper, duration: float,
             warmup: float) -> None:
    tag = f"{os.getpid()}{random.Random().randrange(1 << 12):03x}"
    with contextlib.ExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tcplab-soak-")))
        suts: dict[tuple[str, str], Sut] = {}
        for i, (b, p) in enumerate((b, p) for b in soak.backends
                                   for p in dict.fromkeys(soak.scenarios.values())):
            if stop.signum:
                return
            sut = suts[(b, p)] = Sut(table, binary, b, p, f"{tag}{i:x}", log_dir, stack)
            soak.suts[sut.name] = {"pid": sut.pid, "topology": sut.topo.name,
                                   "namespaces": sorted(set(sut.ns.ns.values()))}
            if soak.pause:
                suts[(b, p)].pause()
        log(f"{len(suts)} SUTs up: {', '.join(s.name for s in suts.values())}")
        try:
            drive(soak, suts, stop, duration, warmup)
        except (RuntimeError, TimeoutError, EOFError, OSError) as e:
            soak.died = str(e)
        if soak.died:
            log(soak.died)


def report(soak: Soak) -> tuple[list[dict[str, Any]], list[str]]:
    """The verdicts and the failures (one line each)."""
    fails = []
    verdicts = soak.verdicts() if len(soak.samples) >= 6 else []
    if soak.samples and not verdicts and not soak.stopped:
        fails.append(f"{len(soak.samples)} samples: too few to judge (at least 6)")
    for v in verdicts:
        mark = "flat" if v["flat"] else "GROWS"
        if not v["judged"]:
            mark = "(not judged)"
        print(f"  {v['series']:<34} {v['first']:>10} -> {v['last']:<10} "
              f"growth {v['growth']:>10g} allowed {v['allowed']:>9g}  {mark}")
        if v["judged"] and not v["flat"]:
            fails.append(f"{v['series']} grows: {v['growth']:g} over the second half, "
                         f"allowed {v['allowed']:g}")
    bad = [r for r in soak.runs if r["rc"] != 0]
    if bad and not soak.stopped:
        fails.append(f"{len(bad)} of {len(soak.runs)} runs did not pass (first: "
                     f"{bad[0]['backend']} {bad[0]['scenario']}: {bad[0].get('error')})")
    if soak.died:
        fails.append(soak.died)
    return verdicts, fails


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            log(f"{message} (see tcplab soak --help)")
            sys.exit(2)

    ap = Parser(prog="tcplab soak", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    ap.add_argument("--interval", type=float, default=60.0,
                    help="seconds between samples (default 60)")
    ap.add_argument("--backend", action="append",
                    help="only this backend (repeatable; default every backend listed)")
    ap.add_argument("--scenario", action="append",
                    help="only this scenario of the quick suite (repeatable)")
    ap.add_argument("--json", metavar="PATH", help="write the samples and verdicts here")
    ap.add_argument("--no-pause", action="store_true",
                    help="keep every DPDK SUT running (default: paused while not driven)")
    args = ap.parse_args(argv)
    if not (args.minutes > 0 and args.interval > 0):
        ap.error("--minutes and --interval must be above 0")
    if args.minutes * 60 / args.interval < 5:
        ap.error(f"--minutes {args.minutes:g} at --interval {args.interval:g} gives fewer "
                 f"than 6 samples: too few to judge")
    return args


def plan(args: argparse.Namespace, table: Table, binary: str) -> Soak:
    listing = json.loads(subprocess.run([binary, "list", "--json"], capture_output=True,
                                        text=True, timeout=60, check=True).stdout)
    programs = {s["name"]: s["program"] for s in listing["scenarios"]}
    quick = list(QUICK.scenarios or ())
    names = args.scenario or quick
    bad = [s for s in names if s not in quick or s not in programs]
    if bad:
        raise UsageError(f"scenario {', '.join(bad)} is not in the quick suite here (valid: "
                         f"{', '.join(s for s in quick if s in programs)})")
    listed = [b.name for b in table.backends]
    backends = args.backend or listed
    unknown = [b for b in backends if b not in listed]
    if unknown:
        raise UsageError(f"unknown backend {', '.join(unknown)} (valid: {', '.join(listed)})")
    return Soak([b for b in listed if b in backends], {s: programs[s] for s in names},
                args.minutes, args.interval, pause=not args.no_pause)


def write_json(path: str, soak: Soak, verdicts: list[dict[str, Any]], fails: list[str],
               rc: int) -> None:
    doc = {"schema": SCHEMA, "commit": os.environ.get("TCPLAB_COMMIT"),
           "minutes": soak.minutes, "interval_s": soak.interval_s, "backends": soak.backends,
           "scenarios": soak.scenarios, "paused_when_idle": soak.pause,
           "duration_s": QUICK.duration_s, "warmup_s": QUICK.warmup_s,
           "rule": {"warmup": "the first half", "growth": "least-squares slope over the "
                    "second half times its length",
                    "tolerances": {k: vars(v) for k, v in TOLERANCES.items()}, "kinds": KIND},
           "suts": soak.suts, "samples": soak.samples, "runs": soak.runs, "verdicts": verdicts,
           "failures": fails, "stopped": soak.stopped, "exit": rc}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    binary = str(tcplab_bin())
    try:
        table = Table.load(Path(binary))
        soak = plan(args, table, binary)
    except (UsageError, OSError, subprocess.CalledProcessError) as e:
        log(str(e))
        return 2
    if os.geteuid() != 0:
        log("needs root (network namespaces)")
        return 2
    log(f"{soak.minutes:g} min, a sample every {soak.interval_s:g} s; backends "
        f"{', '.join(soak.backends)}; scenarios {', '.join(soak.scenarios)}")
    with Stopper() as stop:
        try:
            run_soak(soak, binary, table, stop, QUICK.duration_s, QUICK.warmup_s)
        except (UsageError, RuntimeError, TimeoutError, EOFError) as e:
            soak.died = f"setting up: {e}"
        if stop.signum:
            soak.stopped = signal.Signals(stop.signum).name
    verdicts, fails = report(soak)
    rc = 128 + stop.signum if stop.signum else (1 if fails else 0)
    for f in fails:
        log(f)
    log(f"{len(soak.samples)} samples, {len(soak.runs)} runs: " +
        (f"stopped by {soak.stopped}" if soak.stopped else "flat" if rc == 0 else "FAILED"))
    if args.json:
        write_json(args.json, soak, verdicts, fails, rc)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
