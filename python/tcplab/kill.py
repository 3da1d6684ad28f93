"""tcplab kill: one side of a run killed at a seeded point, over many runs per backend; the
other side must end with a clear error (never a signal) and the run must leave nothing.

    tcplab kill [--runs N] [--seed S] [--backend NAME]... [--json PATH]

Each run is one `tcplab run` on one of the topologies of the binary's table that take the
backend on both sides on this host (Table.local: loopback or veth for the kernel, memif or
veth with af_packet for a DPDK stack, namespaces on veth) whose topology, victim, signal,
point and delay come from the seed alone (plan()):

    point     scenario                          the kill comes, after a seeded delay, once
    connect   crr (connections open and close)  the SUT process exists (from its start up
                                                to its first connections)
    transfer  stream_send or echo_rr            the engine's first progress line
    close     crr, stream_send or echo_rr       the progress line at the end of the duration
                                                (the last closes, the SUT's stats)
    teardown  any of those                      the engine wrote its result file (then it
                                                releases its stack, stops the SUT, removes
                                                namespaces; its summary, on a pipe, comes
                                                out at its exit)

The victim is the engine or the SUT (in turn, so any 8 runs cover each pair), the signal
SIGKILL, or SIGTERM one run in four. Then (check()):

  - the engine ends within SURVIVOR_S. When the SUT was the victim, the engine is the
    survivor: never ended by a signal, and its exit is documented (README.md, `tcplab run`):
    2 with a one-line error on stderr (`tcplab ...: `), 1 with a result whose checks failed,
    0 only when its result was written before a SIGKILL (teardown), or the SUT stopped on
    SIGTERM after it had done its work (its stats answered). When the engine was the victim:
    SIGKILL ends it (-9); SIGTERM stops it with 128+15 after its result, or it was past the
    point where a stop changes anything (0, 1), or 2 with its one line.
  - the SUT never outlives its engine: gone within GONE_S of the engine's end.
  - nothing is left within GONE_S: DPDK runtime dirs and hugepage files with the run id,
    memif sockets, the run's namespaces, processes carrying the run's tag (leftovers.py).

Both sides run in the run's directory: with `ulimit -c unlimited` (and kernel.core_pattern a
plain file name) a side that crashes leaves its core there, which fails the run and is kept.
A victim that had already exited when its kill came is "missed" (counted, not a failure).
A memif burst that faulted on a vanished peer (stack/dpdk/README.md, "The burst guard") is
counted as port_vanished. A table of outcomes per backend goes to stdout, one line per run
to stderr, every run to --json (schema tcplab.kill/1). Exit: 0 every run passed its checks,
1 one did not, 2 bad input (an unknown backend, no root).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import UsageError
from .binary import EXIT_FAIL, EXIT_PASS, EXIT_USAGE
from .leftovers import everything
from .proc import (TAG_VAR, ManagedProcess, poll_until, running, suts, tagged_pids,
                   tcplab_bin)
from .topology import LINUX, Table

SCHEMA = "tcplab.kill/1"
POINTS = ("connect", "transfer", "close", "teardown")
VICTIMS = ("engine", "sut")
SCENARIOS = {"connect": ("crr",), "transfer": ("stream_send", "echo_rr"),
             "close": ("crr", "stream_send", "echo_rr"),
             "teardown": ("crr", "stream_send", "echo_rr")}
DURATION_S = {"connect": 3, "transfer": 4, "close": 2, "teardown": 1}
# the seeded delay after the point's event, up to: past the first connects; into the
# transfer; into the final closes and stats (on the kernel all done within tens of ms: a
# 0.3 s bound missed 24 of 25); into the release (a few ms on the kernel)
DELAY_S = {"connect": 1.5, "transfer": 1.0, "close": 0.02, "teardown": 0.005}
SIGTERM_SHARE = 0.25
POINT_WITHIN_S = 60.0	# the event a point waits for (a DPDK start included)
SURVIVOR_S = 30.0	# the engine's end after the kill (its own deadlines are shorter)
GONE_S = 10.0		# the SUT's end, and nothing left, after the engine's end
VANISHED = "memif unmapped its rings during a burst"	# stack/dpdk/port.c vanished()
PROGRESS = "["		# an engine progress line (harness/engine/engine.c progress())
CAPTURE_NOTE = "tcplab run: capture kept:"	# harness/cli/capture.c, after the error


@dataclass(frozen=True)
class Kill:
    """One run's plan: a function of the seed, the backend and the run's index alone."""
    index: int
    backend: str
    topology: str
    scenario: str
    point: str
    victim: str
    signal: str
    delay_s: float


@dataclass
class Outcome:
    """What one run did; ok when problems is empty."""
    seed: int
    backend: str
    index: int
    topology: str
    scenario: str
    victim: str
    signal: str
    point: str
    delay_s: float
    outcome: str = ""		# error, failed, passed, stopped, killed, missed, crash, hang
    engine_exit: int | None = None
    survivor_exit: int | None = None
    message: str = ""
    port_vanished: bool = False
    result_before_kill: bool = False	# the engine had written its result
    leftovers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def plan(seed: int, backend: str, runs: int, topologies: Sequence[str]) -> list[Kill]:
    """The kills of @runs runs on @backend: the point in turn, the victim in turn (shifted
    every 4 runs, so any 8 consecutive runs hold each pair), the rest (a topology of
    @topologies among them) drawn from a generator seeded by the seed and the backend's
    name."""
    if not topologies:
        raise UsageError(f"no topology of the table takes backend '{backend}' on both sides "
                         "on this host (tcplab list --json)")
    rng = random.Random(f"{seed}/{backend}")
    kills = []
    for i in range(runs):
        point = POINTS[i % len(POINTS)]
        victim = VICTIMS[(i + i // len(POINTS)) % len(VICTIMS)]
        sig = "SIGTERM" if rng.random() < SIGTERM_SHARE else "SIGKILL"
        scenario = rng.choice(SCENARIOS[point])
        topology = topologies[rng.randrange(len(topologies))]
        kills.append(Kill(i, backend, topology, scenario, point, victim, sig,
                          round(rng.uniform(0, DELAY_S[point]), 3)))
    return kills


class Watch:
    """A started `tcplab run`: its stderr text as it comes, its SUT, its result file."""

    def __init__(self, proc: ManagedProcess, result: Path) -> None:
        self.proc = proc
        self.result = result
        self.sut: int | None = None

    def poll(self) -> None:
        """The SUT's PID, once it runs `serve`."""
        if self.sut is None:
            self.sut = next(iter(suts(self.proc.pid)), None)

    def stderr(self) -> str:
        return self.proc.stderr_text()

    def progress(self) -> list[str]:
        return [ln for ln in self.stderr().splitlines() if ln.startswith(PROGRESS)]

    def reached(self, point: str, duration: float) -> bool:
        """Whether the event @point waits for has come."""
        if point == "connect":
            return self.sut is not None
        if point == "transfer":
            return bool(self.progress())
        if point == "close":
            return any(elapsed(ln) >= duration - 0.05 for ln in self.progress()) \
                or self.result.exists()
        return self.result.exists()


def elapsed(line: str) -> float:
    """The elapsed seconds of a progress line: `[label]  1.0/2.0s phase ...`."""
    try:
        return float(line.split("]", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return -1.0


def error_lines(stderr: str) -> list[str]:
    """stderr without progress lines, blank lines, DPDK's EAL chatter or the notes that
    follow a run's error (its captures kept: harness/cli/capture.c)."""
    return [ln for ln in stderr.splitlines()
            if ln.strip() and not ln.startswith((PROGRESS, "EAL:", CAPTURE_NOTE))]


def start(k: Kill, binary: Path, out: Path, tag: str) -> ManagedProcess:
    argv = [str(binary), "run", k.scenario, "--backend", k.backend, "--topology", k.topology,
            "--duration", str(DURATION_S[k.point]), "--warmup", "0", "--out", str(out)]
    return ManagedProcess(f"run{k.index:03d}", argv, {**os.environ, TAG_VAR: tag}, out,
                          keep_stdin=False, cwd=out)


def run_one(k: Kill, seed: int, binary: Path, work: Path) -> Outcome:
    o = Outcome(seed, k.backend, k.index, k.topology, k.scenario, k.victim, k.signal, k.point,
                k.delay_s)
    out = work / f"{k.backend}-{k.index:03d}"
    out.mkdir(parents=True)
    tag = uuid.uuid4().hex
    began = time.monotonic()
    w = Watch(start(k, binary, out, tag), out / f"{k.scenario}.json")
    try:
        kill_at_point(k, w, o)
        check(k, w, o, out, tag)
    finally:
        if w.proc.popen.poll() is None:
            w.proc.popen.kill()
            w.proc.popen.wait()
        w.proc.stop()
        for pid in (w.sut, *tagged_pids(tag)):
            if pid is not None and running(pid):
                os.kill(pid, signal.SIGKILL)
    o.seconds = round(time.monotonic() - began, 2)
    if o.ok:
        shutil.rmtree(out, ignore_errors=True)
    return o


def kill_at_point(k: Kill, w: Watch, o: Outcome) -> None:
    """Wait for the point's event, then the delay, then send the signal; the outcome says
    "missed" when the victim was gone by then."""
    engine = w.proc.popen
    duration = DURATION_S[k.point]

    def at_point() -> bool:
        w.poll()
        return w.reached(k.point, duration) or engine.poll() is not None

    if not poll_until(at_point, POINT_WITHIN_S, 0.005):
        o.problems.append(f"the {k.point} point did not come within {POINT_WITHIN_S} s")
        return
    poll_until(lambda: (w.poll(), False)[1], k.delay_s, 0.005)
    sig = signal.Signals[k.signal]
    o.result_before_kill = w.result.exists()
    if k.victim == "engine":
        if engine.poll() is None:
            engine.send_signal(sig)
            return
    elif w.sut is not None and running(w.sut):
        os.kill(w.sut, sig)
        return
    o.outcome = "missed"
    rc = engine.poll()
    if rc is not None and rc != EXIT_PASS:
        o.problems.append(f"the run ended on its own before the kill, exit {rc}")


def check(k: Kill, w: Watch, o: Outcome, out: Path, tag: str) -> None:
    engine = w.proc.popen
    try:
        rc = engine.wait(SURVIVOR_S)
    except Exception:	# subprocess.TimeoutExpired
        o.outcome = "hang"
        o.problems.append(f"the engine did not end within {SURVIVOR_S} s of the kill")
        return
    w.poll()
    o.engine_exit = rc
    errs = error_lines(w.stderr())
    o.message = errs[-1] if errs else ""
    o.port_vanished = VANISHED in w.stderr()
    if o.outcome != "missed" and not o.problems:
        judge(k, o, rc, out)
    if w.sut is not None and not poll_until(lambda: not running(w.sut), GONE_S):
        o.problems.append(f"the SUT (pid {w.sut}) outlived its engine by {GONE_S} s")
    left: list[str] = []

    def clean() -> bool:
        left[:] = everything(engine.pid, tag)
        return not left

    if not poll_until(clean, GONE_S, 0.05):
        o.leftovers = left
        o.problems.append(f"left behind after {GONE_S} s: {', '.join(left)}")
    cores = sorted(p.name for p in out.glob("core*"))
    if cores:
        o.problems.append(f"a side dumped core: {', '.join(cores)} (the engine's or the SUT's)")


def judge(k: Kill, o: Outcome, rc: int, out: Path) -> None:
    """The survivor's exit against the documented codes (see the module's text)."""
    if k.victim == "engine":
        if k.signal == "SIGKILL":
            o.outcome = "killed" if rc == -signal.SIGKILL else exit_kind(rc)
            if rc not in (-signal.SIGKILL, EXIT_PASS, EXIT_FAIL):
                o.problems.append(f"engine exit {rc} after SIGKILL")
            return
        o.outcome = "stopped" if rc == 128 + signal.SIGTERM else exit_kind(rc)
        if rc < 0:
            o.outcome = "crash"
            o.problems.append(f"the engine ended on signal {-rc} after SIGTERM")
        elif rc == EXIT_USAGE:
            clear_error(o)
        elif rc not in (128 + signal.SIGTERM, EXIT_PASS, EXIT_FAIL):
            o.problems.append(f"engine exit {rc} after SIGTERM")
        return
    o.survivor_exit = rc
    o.outcome = exit_kind(rc)
    if rc < 0 or rc > 128:
        o.outcome = "crash"
        o.problems.append(f"the engine ended on signal {rc if rc > 128 else -rc}: "
                          f"{o.message}")
    elif rc == EXIT_USAGE:
        clear_error(o)
    elif rc == EXIT_FAIL:
        failed_result(o, out)
    elif rc == EXIT_PASS and not o.result_before_kill and k.signal == "SIGKILL":
        o.problems.append("the engine passed a run whose SUT was killed before its result")


def exit_kind(rc: int) -> str:
    return {EXIT_PASS: "passed", EXIT_FAIL: "failed", EXIT_USAGE: "error"}.get(rc, f"exit {rc}")


def clear_error(o: Outcome) -> None:
    """Exit 2: its last line on stderr says what happened, `tcplab ...: reason`."""
    if not o.message.startswith("tcplab"):
        o.problems.append(f"exit 2 without a tcplab error line last: {o.message!r}")


def failed_result(o: Outcome, out: Path) -> None:
    """Exit 1: a result was written and names the checks that failed."""
    results = sorted(out.glob(f"{o.scenario}.json"))
    if not results:
        o.problems.append("exit 1 without a result")
        return
    doc = json.loads(results[0].read_text())
    bad = [c["name"] for c in doc.get("checks", []) if not c.get("ok")]
    if doc.get("passed") is not False or not bad:
        o.problems.append("exit 1 with a result that did not fail")
    o.message = "checks failed: " + ", ".join(bad)


def progress_line(o: Outcome, n: int) -> str:
    verdict = "ok" if o.ok else "FAIL " + "; ".join(o.problems)
    exit_ = "-" if o.engine_exit is None else str(o.engine_exit)
    return (f"[{o.index + 1}/{n}] {o.backend} {o.topology} {o.scenario} {o.point} "
            f"{o.victim} {o.signal} +{o.delay_s:.3f}s: {o.outcome}, engine exit {exit_}"
            f"{', port_vanished' if o.port_vanished else ''} ({o.seconds:.1f} s) {verdict}"
            + (f" | {o.message}" if o.message and not o.ok else ""))


def table(outcomes: list[Outcome]) -> str:
    """Per backend, point and victim: runs, passed its checks, and each outcome counted."""
    kinds = sorted({o.outcome for o in outcomes})
    head = ["backend", "point", "victim", "runs", "ok", *kinds, "vanished"]
    rows = []
    for b in dict.fromkeys(o.backend for o in outcomes):
        for p in POINTS:
            for v in VICTIMS:
                sel = [o for o in outcomes if (o.backend, o.point, o.victim) == (b, p, v)]
                if sel:
                    rows.append([b, p, v, len(sel), sum(o.ok for o in sel),
                                 *(sum(o.outcome == k for o in sel) for k in kinds),
                                 sum(o.port_vanished for o in sel)])
        sel = [o for o in outcomes if o.backend == b]
        rows.append([b, "all", "both", len(sel), sum(o.ok for o in sel),
                     *(sum(o.outcome == k for o in sel) for k in kinds),
                     sum(o.port_vanished for o in sel)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in [head, *rows])


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    by: dict[str, dict[str, int]] = {}
    for o in outcomes:
        s = by.setdefault(o.backend, {"runs": 0, "ok": 0, "port_vanished": 0})
        s["runs"] += 1
        s["ok"] += o.ok
        s["port_vanished"] += o.port_vanished
        s[o.outcome] = s.get(o.outcome, 0) + 1
    return by


def record(o: Outcome) -> dict[str, Any]:
    d = asdict(o)
    d["ok"] = o.ok
    return d


def backends_of(table_: Table, named: list[str]) -> list[tuple[str, list[str]]]:
    """(name, the topologies it is killed on: topologies()) of each backend named, or of
    every one the binary lists."""
    picked = [table_.backend(b) for b in named] if named else list(table_.backends)
    return [(b.name, topologies(table_, b.attach)) for b in picked]


def topologies(table_: Table, attach: str) -> list[str]:
    """Where a backend of kind @attach is killed: every topology that takes it on both sides
    on this host (Table.local)."""
    return [t.name for t in table_.local(attach)]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab kill", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100, help="runs per backend (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="the plan's seed (default 1)")
    ap.add_argument("--backend", action="append", default=[],
                    help=f"a backend (repeatable; default every one listed, {LINUX} too)")
    ap.add_argument("--json", metavar="PATH", help="every run's record there")
    args = ap.parse_args(argv)
    try:
        if args.runs < 1:
            raise UsageError(f"--runs {args.runs}: expected at least 1")
        if os.geteuid() != 0:
            raise UsageError("needs root (runs make namespaces and DPDK ports)")
        binary = tcplab_bin()
        backends = backends_of(Table.load(binary, backends=args.backend), args.backend)
        plans = [plan(args.seed, name, args.runs, topos) for name, topos in backends]
    except (UsageError, OSError) as e:
        print(f"tcplab kill: {e}", file=sys.stderr)
        return EXIT_USAGE
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="tcplab-kill-") as tmp:
        for kills in plans:
            for k in kills:
                o = run_one(k, args.seed, binary, Path(tmp))
                if not o.ok:
                    keep = Path(tmp) / f"{k.backend}-{k.index:03d}"
                    o.problems.append(f"logs: {keep_logs(keep)}")
                outcomes.append(o)
                print(progress_line(o, args.runs), file=sys.stderr, flush=True)
    print(table(outcomes))
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs passed their checks")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"schema": SCHEMA, "seed": args.seed, "runs_per_backend": args.runs,
             "binary": str(binary), "commit": os.environ.get("TCPLAB_COMMIT"),
             "summary": summary(outcomes), "runs": [record(o) for o in outcomes]},
            indent=1) + "\n")
    return EXIT_FAIL if failed else EXIT_PASS


def keep_logs(d: Path) -> str:
    """A failed run's directory (its stderr log, result), moved out of the temporary one."""
    dest = Path(tempfile.mkdtemp(prefix=f"tcplab-kill-{d.name}-"))
    for f in d.iterdir() if d.is_dir() else ():
        shutil.move(str(f), dest / f.name)
    return str(dest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
