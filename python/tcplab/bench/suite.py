"""tcplab bench SUITE: run a named suite of scenarios on every backend `tcplab list` shows (the
kernel and every DPDK stack built, tcplab.stacks), each repeated N times, into
results/runs/<commit>[-dirty]/<UTC timestamp>/: one tcplab.result/1 JSON per run
(<scenario>.<backend>.rNN.json, with its .hgrm and .hlog beside it) and manifest.json
(tcplab.manifest/1).

    tcplab bench quick             the CI suite: 9 core scenarios, 1.5 s each, 5 repetitions
    tcplab bench full              every scenario, 10 s each, 7 repetitions
    tcplab bench impair            stream_send at loss 0, 0.1, 1 and 5 %, 3 s each, 5 repetitions
                                   (the report's goodput against loss rate)
    tcplab bench --suites          list the suites
    tcplab bench quick --help      the options (repetitions, duration, backends, budget)

Why 5 repetitions by default: compare's verdict is a two-sided Mann-Whitney U test on the
repetitions at p < 0.05. With 3 and 3 runs the smallest p it can give is 0.1 (it can never
call anything); with 4 and 4 it is 0.029, so one disturbed run out of eight hides any
change; 5 and 5 reach 0.008 and still find a change when two of the 25 base/new pairs are
out of order. Repetitions run interleaved (every scenario once, then again), so a slow drift
of the machine spreads over all scenarios instead of landing on one.

A backend whose first run fails to start (exit 2: not built, no DPDK, no hugepages...) is
reported and skipped. In a suite that allows it (impair, full), a scenario the harness refuses on
a backend that ran the suite's others (exit 2 and no result, on the scenario's first
repetition there: an impaired scenario on a kernel side, which netem impairs only on a
link end, none on loopback) is skipped on that backend, named in the manifest's
skipped_runs with the harness's reason, and is not a failure; its later repetitions are not
tried. --topology NAME puts every backend on one topology (e.g. veth, where netem can work).

Adaptive repetition: after its repetitions (the minimum), a scenario on a backend runs again,
round after round, while the confidence interval of the median (95 %, distribution-free:
order statistics, resultkit.stats.median_interval) of a metric compare judges it by (p50,
p99, and the rates it measures) is wider than that metric's compare threshold (p50 10 %, p99
20 %, rates 10 %; --ci-width P sets one width for all), until --max-reps. The manifest's
"repetition" says, for each pair, how many runs it took and why it stopped ("within": every
interval narrow enough; "max reached", with the widths). --reps N alone runs exactly N.

Host state: `tcplab bench calibrate` (four short figures of the host, about 5 s) is taken
before the first run and after the last, and recorded in the manifest and in every result as
host_state {before, after}: compare uses it to tell a slower host from a slower commit
(results/README.md, "Host state"). --no-calibrate leaves it out.

The total time is bounded: the suite refuses to start when its
estimate exceeds --budget (default: the suite's budget per backend, times the backends, so
a stack built is never the reason a suite will not start), and stops before a run that would
end past it. Progress goes to
stderr; the run directory is printed on stdout. Exit 0 when every run passed, 1 when a run
failed its checks, failed or the budget cut the suite short, 2 on bad usage or when no
backend could run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from resultkit import stats
from resultkit.metrics import METRICS
from resultkit.resultset import MANIFEST_SCHEMA, host_kind

from . import calibrate
from .common import NO_CAPTURE, ROOT, log, tcplab_bin

RUN_OVERHEAD_S = 2.0	# start, SUT spawn, drain, result: ~0.1 s kernel, ~2 s a DPDK stack here
RUN_GRACE_MIN_S = 15.0	# a run past duration + warm-up + its grace is killed: the grace is
RUN_GRACE_FACTOR = 4.0	# 4x the run's length, at least 15 s (DPDK start-up included)
CALIBRATE_S = 8.0	# bench calibrate, before and after: ~5 s here, DPDK start-up included


class Suite(NamedTuple):
    name: str
    description: str
    scenarios: tuple[str, ...] | None	# None: every scenario tcplab list shows
    repetitions: int
    duration_s: float
    warmup_s: float
    budget_s: float		# per backend
    max_repetitions: int	# adaptive repetition's ceiling (module doc)
    # a run refused (exit 2, no result) on its scenario's first repetition on a backend that
    # ran others is that pair's skip, not a failure (module doc)
    skip_refused: bool = False


SUITES = {
    # quick: the transport scenarios and one of each buffered-I/O kind, so it stays a few
    # minutes a backend as scenarios are added (full runs them all)
    "quick": Suite("quick", "the core scenarios, short runs: CI and a first look",
                   ("echo_rr", "echo_rr_open", "rr_many", "stream_send", "stream_recv", "crr",
                    "read_full_4m", "write_once_4m", "seek_in_buffer"), 5, 1.5, 0.5, 300.0,
                   10),
    # full: every scenario, also those a backend refuses here (an impaired one on a kernel
    # with no netem): skipped there, named in the manifest
    "full": Suite("full", "every scenario at its own length, more repetitions: lab hosts",
                  None, 7, 10.0, 1.0, 1800.0, 15, skip_refused=True),
    # impair: one workload at four loss rates (the scenarios differ only in their impair
    # line), for the report's goodput-against-loss plot; longer runs than quick, since a
    # lost frame's recovery (an RTO of 200 ms or more) must be a small part of a run
    "impair": Suite("impair", "stream_send at loss 0, 0.1, 1 and 5 %: goodput against loss",
                    ("stream_send", "stream_send_loss01", "stream_send_loss1",
                     "stream_send_loss5"), 5, 3.0, 1.0, 300.0, 5, skip_refused=True),
}


class Plan(NamedTuple):
    suite: Suite
    scenarios: list[str]
    backends: list[str]
    repetitions: int
    duration_s: float
    warmup_s: float
    budget_s: float
    pin: tuple[str, ...]	# extra `tcplab run` flags: --impair, --engine-cpu, --sut-cpu
    topology: str | None	# every run's --topology; None: each backend's own
    max_repetitions: int = 0	# adaptive repetition's ceiling; <= repetitions: off
    ci_width_pct: float | None = None	# one width for every metric; None: its threshold
    calibrate: bool = True

    def run_seconds(self) -> float:
        return self.duration_s + self.warmup_s + RUN_OVERHEAD_S

    def estimate_s(self) -> float:
        runs = self.run_seconds() * len(self.scenarios) * len(self.backends) * self.repetitions
        return runs + (2 * CALIBRATE_S if self.calibrate else 0.0)


class Progress:
    """What the suite has done so far; becomes the manifest."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.skipped_backends: dict[str, str] = {}
        self.skipped_runs: dict[tuple[str, str], str] = {}	# (scenario, backend): why
        self.failures: list[str] = []
        self.first_result: dict[str, Any] | None = None
        self.stopped: str | None = None
        self.host_state: dict[str, Any] = {}	# before, after: bench calibrate
        self.repetition: list[dict[str, Any]] = []	# adaptive repetition's outcome


def parse_seconds(text: str) -> float:
    """'2', '2s', '500ms', '1m' -> seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (e.g. 2s, 500ms)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    return float(m.group(1)) * scale


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        log(f"{message} (see tcplab bench {self.prog.split()[-1]} --help)")
        sys.exit(2)


def build_parser(suite: Suite) -> Parser:
    ap = Parser(prog=f"tcplab bench {suite.name}", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=positive_int,
                    help=f"repetitions of each scenario (default {suite.repetitions}, then "
                         f"more up to --max-reps while noisy; --reps alone: exactly these)")
    ap.add_argument("--max-reps", type=positive_int,
                    help=f"most repetitions while a median's interval is too wide (default "
                         f"{suite.max_repetitions}; --reps's value when only it is given)")
    ap.add_argument("--ci-width", type=float, metavar="PCT",
                    help="the widest 95%% interval of a median, in %% of it, for every metric "
                         "(default: each metric's compare threshold)")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="no host state before and after (bench calibrate)")
    ap.add_argument("--duration", type=parse_seconds, default=suite.duration_s,
                    help=f"measured time of each run (default {suite.duration_s:g}s)")
    ap.add_argument("--warmup", type=parse_seconds, default=suite.warmup_s,
                    help=f"warm-up of each run (default {suite.warmup_s:g}s)")
    ap.add_argument("--backend", action="append", help="only this backend (repeatable)")
    ap.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    ap.add_argument("--budget", type=parse_seconds,
                    help=f"most seconds the suite may take (default {suite.budget_s:g} per "
                         "backend)")
    ap.add_argument("--runs-dir", default=str(ROOT / "results" / "runs"),
                    help="where run directories go (default results/runs)")
    ap.add_argument("--topology", help="run every backend on this topology (tcplab list; "
                    "default each backend's own): e.g. veth, where a kernel side's impair "
                    "goes through netem")
    ap.add_argument("--impair", metavar="SPEC",
                    help="every run under this impairment (tcplab run --impair): a bad link, "
                         "or a regression injected on purpose to see compare find it")
    ap.add_argument("--engine-cpu", type=int, help="pin the engine side of every run")
    ap.add_argument("--sut-cpu", type=int, help="pin the SUT side of every run")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    return ap


def listing() -> dict[str, Any]:
    done = subprocess.run([str(tcplab_bin()), "list", "--json"], capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"tcplab bench: tcplab list --json exited {done.returncode}: "
                         f"{done.stderr.strip()}")
    return json.loads(done.stdout)


def pick(wanted: list[str] | None, available: list[str], what: str) -> list[str]:
    if not wanted:
        return available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        log(f"unknown {what} {', '.join(unknown)} (valid: {', '.join(available)})")
        sys.exit(2)
    return [a for a in available if a in wanted]


def make_plan(suite: Suite, args: argparse.Namespace) -> Plan:
    lst = listing()
    listed = [s["name"] for s in lst["scenarios"]]
    scenarios = pick(args.scenario, list(suite.scenarios or listed), "scenario")
    absent = [s for s in scenarios if s not in listed]
    if absent:	# a suite's scenario not in this tree: not a run that failed
        log(f"suite {suite.name}: scenario {', '.join(absent)} not in tcplab list (no "
            f"scenarios/NAME.scn)")
        sys.exit(2)
    backends = pick(args.backend, [b["name"] for b in lst["backends"]], "backend")
    if args.topology is not None:
        pick([args.topology], [t["name"] for t in lst.get("topologies", [])], "topology")
    pin: list[str] = []
    if args.impair is not None:
        pin += ["--impair", args.impair]
    if args.engine_cpu is not None:
        pin += ["--engine-cpu", str(args.engine_cpu)]
    if args.sut_cpu is not None:
        pin += ["--sut-cpu", str(args.sut_cpu)]
    budget = args.budget if args.budget is not None else suite.budget_s * len(backends)
    reps = args.reps if args.reps is not None else suite.repetitions
    most = (args.max_reps if args.max_reps is not None
            else reps if args.reps is not None else suite.max_repetitions)
    if most < reps:
        log(f"--max-reps {most} is below the repetitions {reps}")
        sys.exit(2)
    if args.ci_width is not None and not 0 < args.ci_width < 1000:
        log(f"--ci-width {args.ci_width:g}: expected a percentage above 0")
        sys.exit(2)
    return Plan(suite, scenarios, backends, reps, args.duration, args.warmup, budget,
                tuple(pin), args.topology, most, args.ci_width, not args.no_calibrate)


def commit_label() -> tuple[str, bool]:
    commit = os.environ.get("TCPLAB_COMMIT")
    if not commit:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=False)
        commit = done.stdout.strip() if done.returncode == 0 else "unknown"
    return commit, os.environ.get("TCPLAB_DIRTY") == "1"


def new_run_dir(runs_dir: Path, commit: str, dirty: bool) -> Path:
    parent = runs_dir / (commit + ("-dirty" if dirty else ""))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(100):
        d = parent / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            d.mkdir(parents=True)
            return d
        except FileExistsError:
            continue
    raise SystemExit(f"tcplab bench: cannot make a run directory under {parent}")


def run_one(plan: Plan, scenario: str, backend: str, dest: Path) -> tuple[int, str]:
    """One `tcplab run`, its result moved to @dest; (exit status, last stderr line).
    The run gets its own process group so that on a timeout or an interrupt it and the SUT
    it started are ended by that group's id, which is the PID of the child we started."""
    with tempfile.TemporaryDirectory(prefix="tcplab-suite-") as tmp:
        cmd = [str(tcplab_bin()), "run", scenario, "--backend", backend, "--quiet",
               "--out", tmp, "--duration", f"{plan.duration_s:g}s",
               "--warmup", f"{plan.warmup_s:g}s", *NO_CAPTURE, *plan.pin,
               *(("--topology", plan.topology) if plan.topology else ())]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        length = plan.duration_s + plan.warmup_s
        limit = length + max(RUN_GRACE_MIN_S, RUN_GRACE_FACTOR * length)
        try:
            _, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            end_group(proc)
            return 124, f"killed after {limit:g}s (hung?)"
        except BaseException:
            end_group(proc)
            raise
        produced = Path(tmp) / f"{scenario}.json"
        if produced.is_file():
            dest.write_text(produced.read_text())
            for ext in (".hgrm", ".hlog"):	# its latencies for HdrHistogram's tools
                side = produced.with_suffix(ext)
                if side.is_file():
                    dest.with_suffix(ext).write_text(side.read_text())
        lines = [ln for ln in err.splitlines() if ln.strip()]
        return proc.returncode, lines[-1] if lines else ""


def end_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def fmt_ns(ns: float) -> str:
    return f"{ns / 1e6:.2f}ms" if ns >= 1e6 else f"{ns / 1e3:.1f}us"


def summary(result: dict[str, Any]) -> str:
    m = result["metrics"]
    lat = m["latency_ns"]
    return (f"{m.get('tps') or 0:.0f} tps  {(m.get('throughput_bps') or 0) / 1e9:.3f} Gbit/s  "
            f"p99 {fmt_ns(lat.get('p99') or 0)}  errors {m.get('errors')}")


def over_budget(plan: Plan, prog: Progress, started: float, what: str) -> bool:
    """Whether one more run would end past the budget; then the suite stops, saying @what."""
    elapsed = time.monotonic() - started
    if elapsed + plan.run_seconds() <= plan.budget_s:
        return False
    prog.stopped = f"budget of {plan.budget_s:g}s reached after {elapsed:.0f}s: {what}"
    log(prog.stopped)
    return True


def execute(plan: Plan, run_dir: Path, prog: Progress, write: Any) -> None:
    total = len(plan.scenarios) * len(plan.backends) * plan.repetitions
    started = time.monotonic()
    i = 0
    for rep in range(1, plan.repetitions + 1):
        for backend in plan.backends:
            for scenario in plan.scenarios:
                i += 1
                if backend in prog.skipped_backends or (scenario, backend) in prog.skipped_runs:
                    continue
                if over_budget(plan, prog, started, f"{total - i + 1} runs not started"):
                    return
                step(plan, run_dir, prog, (scenario, backend, rep), f"[{i:3d}/{total}]")
                left = (time.monotonic() - started) / i * (total - i)
                log(f"  eta {left:.0f}s")
                write()
    more_rounds(plan, run_dir, prog, write, started)


# ---- adaptive repetition ----

def judged(results: list[dict[str, Any]]) -> list[Any]:
    """The metrics compare judges these runs by that repetition can narrow: p50, p99 and the
    rates the scenario measures (p99.9 rests on too few samples a run; errors are counts)."""
    out = []
    for m in METRICS if results else ():
        if m.name in ("p99.9", "errors"):
            continue
        values = [m.get(r) for r in results]
        if all(v is not None for v in values) and (not m.rate or any(values)):
            out.append(m)
    return out


def widths(plan: Plan, results: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Each judged metric's (interval width in % of its median, the width allowed)."""
    out = {}
    for m in judged(results):
        values = [float(m.get(r)) for r in results]
        mid = stats.median(values)
        ci = stats.median_interval(values)
        width = (ci.hi - ci.lo) / abs(mid) * 100.0 if mid else 0.0
        out[m.name] = (round(width, 2), plan.ci_width_pct or m.threshold_pct)
    return out


def pair_results(run_dir: Path, prog: Progress, scenario: str, backend: str
                 ) -> list[dict[str, Any]]:
    return [json.loads((run_dir / r["file"]).read_text()) for r in prog.runs
            if r["scenario"] == scenario and r["backend"] == backend and r["file"]]


def more_rounds(plan: Plan, run_dir: Path, prog: Progress, write: Any, started: float) -> None:
    """Rounds past the minimum for the pairs whose intervals are too wide (module doc)."""
    pairs = [(s, b) for b in plan.backends for s in plan.scenarios
             if b not in prog.skipped_backends and (s, b) not in prog.skipped_runs]
    outcome: dict[tuple[str, str], dict[str, Any]] = {}
    rep = plan.repetitions
    while True:
        wide = []
        for sc, b in pairs:
            results = pair_results(run_dir, prog, sc, b)
            w = widths(plan, results)
            narrow = all(width <= allowed for width, allowed in w.values())
            why = ("no results" if not results else "within" if narrow
                   else "max reached" if rep >= plan.max_repetitions else "")
            outcome[(sc, b)] = {"scenario": sc, "backend": b, "reps": len(results),
                                "why": why or "running", "widths_pct": w}
            if not why:
                wide.append((sc, b))
        prog.repetition = list(outcome.values())
        if not wide or prog.stopped:
            return
        rep += 1
        log(f"round {rep}: {len(wide)} scenario(s) with a median's interval wider than "
            f"allowed: " + ", ".join(f"{sc} {b}" for sc, b in wide))
        for i, (sc, b) in enumerate(wide, 1):
            if over_budget(plan, prog, started, f"in round {rep} of adaptive repetition"):
                return
            step(plan, run_dir, prog, (sc, b, rep), f"[+{i}/{len(wide)}]")
            write()


def step(plan: Plan, run_dir: Path, prog: Progress, what: tuple[str, str, int],
         tag: str) -> None:
    scenario, backend, rep = what
    name = f"{scenario}.{backend}.r{rep:02d}.json"
    t0 = time.monotonic()
    rc, last = run_one(plan, scenario, backend, run_dir / name)
    wall = time.monotonic() - t0
    entry: dict[str, Any] = {"file": name, "scenario": scenario, "backend": backend,
                             "rep": rep, "exit": rc, "wall_s": round(wall, 3)}
    label = (f"{tag} {scenario} {backend} rep {rep}/"
             f"{plan.repetitions if rep <= plan.repetitions else plan.max_repetitions}")
    if (run_dir / name).is_file():
        result = json.loads((run_dir / name).read_text())
        prog.first_result = prog.first_result or result
        entry["passed"] = result.get("passed")
        log(f"{label}: {summary(result)}{'' if rc == 0 else f'  FAILED checks (exit {rc})'}"
            f" ({wall:.1f}s)")
    else:
        entry["file"] = None
        first_on_backend = not any(r["backend"] == backend and r["file"] for r in prog.runs)
        first_of_pair = not any(r["backend"] == backend and r["scenario"] == scenario
                                for r in prog.runs)
        if rc == 2 and first_on_backend:
            prog.skipped_backends[backend] = last or "exit 2"
            log(f"{label}: backend {backend} cannot run here, skipped: {last}")
        elif rc == 2 and first_of_pair and plan.suite.skip_refused:
            prog.skipped_runs[(scenario, backend)] = last or "exit 2"
            log(f"{label}: refused on {backend}, skipped there: {last}")
        else:
            log(f"{label}: no result (exit {rc}): {last}")
    if rc != 0 and backend not in prog.skipped_backends and \
            (scenario, backend) not in prog.skipped_runs:
        prog.failures.append(f"{scenario} {backend} rep {rep}: exit {rc}"
                             + (f": {last}" if last else ""))
    prog.runs.append(entry)


def manifest(plan: Plan, commit: str, dirty: bool, started_at: str, prog: Progress,
             complete: bool) -> dict[str, Any]:
    first = prog.first_result or {}
    return {
        "schema": MANIFEST_SCHEMA, "suite": plan.suite.name, "commit": commit, "dirty": dirty,
        "started_at": started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) if complete else None,
        "complete": complete, "host": first.get("host"),
        "host_kind": host_kind(first) if first else None, "versions": first.get("versions"),
        "repetitions": plan.repetitions, "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s, "budget_s": plan.budget_s, "pin": list(plan.pin),
        "topology": plan.topology,
        "scenarios": plan.scenarios,
        "backends": [b for b in plan.backends if b not in prog.skipped_backends],
        "skipped_backends": [{"backend": b, "reason": r}
                             for b, r in prog.skipped_backends.items()],
        "skipped_runs": [{"scenario": sc, "backend": b, "reason": r}
                         for (sc, b), r in prog.skipped_runs.items()],
        "max_repetitions": plan.max_repetitions,
        "ci_width_pct": plan.ci_width_pct, "repetition": prog.repetition,
        "host_state": prog.host_state or None,
        "runs": prog.runs, "failures": prog.failures, "stopped": prog.stopped,
    }


def stamp_results(run_dir: Path, prog: Progress) -> None:
    """Each result of the suite gets the host state taken around it (compare reads it)."""
    for r in prog.runs:
        if r["file"]:
            path = run_dir / r["file"]
            doc = json.loads(path.read_text())
            doc["host_state"] = prog.host_state
            path.write_text(json.dumps(doc, indent=1) + "\n")


def list_suites() -> int:
    for s in SUITES.values():
        which = ", ".join(s.scenarios) if s.scenarios else "every scenario of tcplab list"
        print(f"{s.name:6s} {s.description}: {which}; {s.repetitions} repetitions of "
              f"{s.duration_s:g}s + {s.warmup_s:g}s warm-up; budget {s.budget_s:g}s a "
              "backend")
    print("usage: tcplab bench SUITE [--reps N] [--max-reps N] [--ci-width PCT] "
          "[--no-calibrate] [--duration T] [--warmup T] [--backend B] "
          "[--scenario S] [--budget T] [--runs-dir DIR] [--topology NAME] [--impair SPEC] "
          "[--engine-cpu N] "
          "[--sut-cpu N] [--dry-run]")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("--suites", "--list", "suites", "-h", "--help"):
        return list_suites()
    if argv[0] not in SUITES:
        log(f"unknown benchmark or suite '{argv[0]}' (suites: {', '.join(SUITES)}; "
            "tcplab bench --suites)")
        return 2
    suite = SUITES[argv[0]]
    args = build_parser(suite).parse_args(argv[1:])
    plan = make_plan(suite, args)
    log(f"{suite.name}: {len(plan.scenarios)} scenarios x {len(plan.backends)} backends x "
        f"{plan.repetitions} repetitions, {plan.duration_s:g}s + {plan.warmup_s:g}s each: "
        f"about {plan.estimate_s():.0f}s (budget {plan.budget_s:g}s)")
    if plan.estimate_s() > plan.budget_s:
        log(f"the estimate {plan.estimate_s():.0f}s exceeds the budget {plan.budget_s:g}s: "
            "lower --reps or --duration, or raise --budget")
        return 2
    if args.dry_run:
        return 0
    return run_suite(plan, Path(args.runs_dir))


def run_suite(plan: Plan, runs_dir: Path) -> int:
    commit, dirty = commit_label()
    run_dir = new_run_dir(runs_dir, commit, dirty)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    prog = Progress()

    def write(complete: bool = False) -> None:
        doc = manifest(plan, commit, dirty, started_at, prog, complete)
        (run_dir / "manifest.json").write_text(json.dumps(doc, indent=1) + "\n")

    write()
    try:
        if plan.calibrate:
            log("host state before (bench calibrate)")
            prog.host_state["before"] = calibrate.measure()
        execute(plan, run_dir, prog, write)
        if plan.calibrate:
            log("host state after (bench calibrate)")
            prog.host_state["after"] = calibrate.measure()
            stamp_results(run_dir, prog)
    except KeyboardInterrupt:
        prog.stopped = "interrupted"
        write()
        log(f"interrupted; partial results in {run_dir}")
        return 130
    write(complete=prog.stopped is None)
    for p in prog.repetition:
        if p["reps"] > plan.repetitions or p["why"] == "max reached":
            log(f"{p['scenario']} {p['backend']}: {p['reps']} runs, {p['why']} "
                + ", ".join(f"{m} {w:g}% (<= {a:g}%)" for m, (w, a) in p["widths_pct"].items()))
    for b, why in prog.skipped_backends.items():
        log(f"skipped backend {b}: {why}")
    for (sc, b), why in prog.skipped_runs.items():
        log(f"skipped {sc} on {b}: {why}")
    for f in prog.failures:
        log(f"failed: {f}")
    print(run_dir)
    if not any(r["file"] for r in prog.runs):
        log("no backend could run: no results")
        return 2
    return 1 if prog.failures or prog.stopped else 0
