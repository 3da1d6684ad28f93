#!/usr/bin/python3
"""tcplab conform [CASE...]: socket-behaviour conformance, the kernel as the oracle.

Each case (scenarios/conformance/NAME.case) has a `peer` script, run on Linux in its own
network namespace, and a `sut` script, run through the backend under test in another; both
are `tcplab case FILE --side ...` processes whose JSON trace lines this orchestrator
collects, passing `signal` lines from one side to the other's stdin. The kernel run is the
oracle: a backend's traces (both sides: what the SUT saw and what the peer saw) must equal
the kernel's, or the case must be listed in scenarios/conformance/divergences.txt with a
reason.

Topologies: the kernel SUT sits behind a veth pair (peer namespace 10.99.0.1, SUT namespace
10.99.0.2); any other backend (lwip) runs with `topology=tap` in a third namespace, where its
DPDK tap port's netdev appears: the backend gives that netdev the peer's address
(`tap_addr=10.99.0.1/24`) while it starts, and the Linux peer runs in the same namespace.
The SUT side starts first; the peer starts once the SUT prints {"event": "ready"}, so the
peer's address exists before the peer binds it.

Flow: make namespaces + veth + tap namespace (removed on every exit path) -> for each case:
kernel run, kernel run again (the oracle must be deterministic), each other backend ->
verdicts -> results/conformance.json and results/conformance.md (the parity table).
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import Namespaces, ip  # noqa: E402
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "scenarios" / "conformance"
DIVERGENCES = CASES / "divergences.txt"
PEER_ADDR = "10.99.0.1"
SUT_ADDR = "10.99.0.2"
CASE_TIMEOUT_S = 20.0


def tcplab_bin() -> str:
    return os.environ.get("TCPLAB_BIN", str(ROOT / "build" / "harness" / "tcplab"))


class UsageError(Exception):
    """Bad input: one line, exit 2."""


# ---- topology ------------------------------------------------------------------------

class Veth(Namespaces):
    """Two namespaces joined by a veth pair: peer PEER_ADDR, sut SUT_ADDR."""

    def __init__(self, tag: str) -> None:
        self.peer_ns = f"tcplab-cp{tag}"
        self.sut_ns = f"tcplab-cs{tag}"
        super().__init__(self.peer_ns, self.sut_ns)

    def setup(self) -> None:
        ip("link", "add", "tlc-p", "netns", self.peer_ns, "type", "veth", "peer", "name",
           "tlc-s", "netns", self.sut_ns)
        ip("addr", "add", f"{PEER_ADDR}/24", "dev", "tlc-p", ns=self.peer_ns)
        ip("addr", "add", f"{SUT_ADDR}/24", "dev", "tlc-s", ns=self.sut_ns)
        ip("link", "set", "tlc-p", "up", ns=self.peer_ns)
        ip("link", "set", "tlc-s", "up", ns=self.sut_ns)


class TapNs(Namespaces):
    """One namespace for a tap backend's runs, made only when @p needed: the backend makes
    its tap netdev here and the Linux peer (PEER_ADDR on that netdev) runs here too; a tap
    dies with the process that owns it."""

    def __init__(self, tag: str, needed: bool) -> None:
        self.ns = f"tcplab-ct{tag}"
        super().__init__(*((self.ns,) if needed else ()))


@dataclass
class Where:
    """The namespaces one run's two sides use."""
    peer_ns: str
    sut_ns: str


def where(backend: str, veth: Veth, tap: TapNs) -> Where:
    if backend == "kernel":
        return Where(veth.peer_ns, veth.sut_ns)
    return Where(tap.ns, tap.ns)


# ---- one run of one case ---------------------------------------------------------------

@dataclass
class Run:
    sut: list[dict] = field(default_factory=list)
    peer: list[dict] = field(default_factory=list)
    error: str | None = None


def side_cmd(ns: str, case: Path, side: str, backend: str, opts: list[str],
             run_id: str) -> list[str]:
    cmd = ["ip", "netns", "exec", ns, tcplab_bin(), "case", str(case), "--side", side,
           "--backend", backend, "--sut-addr", SUT_ADDR, "--peer-addr", PEER_ADDR,
           "--run-id", run_id]
    for o in opts:
        cmd += ["--stack-opt", o]
    return cmd


def spawn(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def run_case(case: Path, at: Where, backend: str, opts: list[str], run_id: str) -> Run:
    """Run both sides, relaying signals; the peer starts when the SUT is ready; bounded by
    CASE_TIMEOUT_S; processes end by PID."""
    procs = {"sut": spawn(side_cmd(at.sut_ns, case, "sut", backend, opts, run_id))}
    run = Run()
    try:
        relay(procs, run,
              lambda: spawn(side_cmd(at.peer_ns, case, "peer", "kernel", [], run_id)))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
    for side, p in procs.items():
        if p.returncode != 0 and run.error is None:
            err = p.stderr.read().decode(errors="replace").strip() if p.stderr else ""
            run.error = f"{side} exited {p.returncode}" + (f": {err}" if err else "")
    return run


def relay(procs: dict[str, subprocess.Popen], run: Run,
          start_peer: Callable[[], subprocess.Popen]) -> None:
    """Pass each side's signals to the other; procs starts with the SUT alone and gains the
    peer when the SUT's {"event": "ready"} line arrives."""
    other = {"peer": "sut", "sut": "peer"}
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytes] = {}
    open_sides: set[str] = set()

    def watch(side: str, p: subprocess.Popen) -> None:
        assert p.stdout is not None
        os.set_blocking(p.stdout.fileno(), False)
        sel.register(p.stdout, selectors.EVENT_READ, side)
        bufs[side] = b""
        open_sides.add(side)

    watch("sut", procs["sut"])
    deadline = time.monotonic() + CASE_TIMEOUT_S
    while open_sides:
        left = deadline - time.monotonic()
        if left <= 0:
            run.error = f"timed out after {CASE_TIMEOUT_S:.0f}s (still running: " \
                        f"{', '.join(sorted(open_sides))})"
            return
        for key, _ in sel.select(timeout=left):
            side = key.data
            chunk = key.fileobj.read()  # type: ignore[union-attr]
            if not chunk:
                sel.unregister(key.fileobj)
                open_sides.discard(side)
                continue
            bufs[side] += chunk
            while b"\n" in bufs[side]:
                line, bufs[side] = bufs[side].split(b"\n", 1)
                rec = json.loads(line)
                if rec.get("event") == "ready":
                    if side == "sut" and "peer" not in procs:
                        procs["peer"] = start_peer()
                        watch("peer", procs["peer"])
                    continue
                handle_line(rec, side, procs.get(other[side]), run)


def handle_line(rec: dict, side: str, peer_proc: subprocess.Popen | None, run: Run) -> None:
    if "signal" in rec:
        if peer_proc is None:
            return
        if peer_proc.poll() is None and peer_proc.stdin is not None:
            try:
                peer_proc.stdin.write((rec["signal"] + "\n").encode())
                peer_proc.stdin.flush()
            except BrokenPipeError:
                pass
        return
    getattr(run, side).append(rec)
    if rec.get("err") in ("timeout", "no orchestrator") and "waited" in rec:
        run.error = f"{side} waited for '{rec['waited']}' in vain"


# ---- comparison ------------------------------------------------------------------------

def first_difference(oracle: Run, other: Run) -> dict | None:
    for side in ("sut", "peer"):
        a, b = getattr(oracle, side), getattr(other, side)
        for i in range(max(len(a), len(b))):
            ea = a[i] if i < len(a) else None
            eb = b[i] if i < len(b) else None
            if ea != eb:
                return {"side": side, "step": i,
                        "line": (ea or eb or {}).get("line"),
                        "kernel": ea, "other": eb}
    return None


def load_divergences(path: Path = DIVERGENCES) -> dict[str, dict[str, str]]:
    """divergences.txt: 'BACKEND CASE: reason' per line; '#' comments."""
    out: dict[str, dict[str, str]] = {}
    if not path.exists():
        return out
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, sep, reason = line.partition(":")
        words = head.split()
        if not sep or len(words) != 2 or not reason.strip():
            raise UsageError(f"{path}:{n}: expected 'BACKEND CASE: reason'")
        out.setdefault(words[0], {})[words[1]] = reason.strip()
    return out


def describe(case: Path) -> str:
    for line in case.read_text().splitlines():
        if line.startswith("description"):
            return line[len("description"):].strip()
    return ""


def summarize(trace: list[dict], limit: int = 4) -> str:
    """A short human form of a trace for the parity table: the calls that failed, or for a
    packet-level check (steps with a "reply") what came back."""
    if trace and "reply" in trace[0]:
        return load_packets().summarize(trace).replace("|", "\\|")
    bits = [f"{e['op']}={e['err']}" for e in trace if "err" in e and "op" in e]
    return ", ".join(bits[:limit]) + (" ..." if len(bits) > limit else "") or "all ok"


def classify(name: str, backend: str, error: str | None, diff: dict | None, differs: str,
             listed: dict[str, dict[str, str]]) -> tuple[str, str]:
    """The verdict of one case or packet check on one backend, and its reason: a match, a
    difference listed in divergences.txt (its reason), or a divergence (what went wrong)."""
    reason = listed.get(backend, {}).get(name)
    if error is None and diff is None:
        return "match", reason or ""
    if reason:
        return "listed-divergence", reason
    return "divergence", error or differs


def verdict_for(name: str, backend: str, oracle: Run, other: Run,
                listed: dict[str, dict[str, str]]) -> dict:
    diff = None if other.error else first_difference(oracle, other)
    verdict, reason = classify(name, backend, other.error, diff, "differs", listed)
    return {"backend": backend, "verdict": verdict, "reason": reason,
            "first_difference": diff, "trace": {"sut": other.sut, "peer": other.peer}}


# ---- reports ---------------------------------------------------------------------------

def write_markdown(results: list[dict], path: Path) -> None:
    rows = ["# Conformance: the kernel vs the stack under test", "",
            "Generated by `tcplab conform`; one row per case and backend. *Linux* is what",
            "the kernel's SUT side did (failed calls shown), *stack* what the backend did.",
            "", "| case | backend | Linux | stack | verdict | why |",
            "|---|---|---|---|---|---|"]
    for r in results:
        for o in r["others"]:
            why = o["reason"].replace("|", "\\|")
            if o["first_difference"] and o["verdict"] != "match":
                d = o["first_difference"]
                where = f"line {d['line']}" if d.get("line") is not None else \
                    f"{d.get('op')} {d.get('field', '')}".strip()
                why += f" (first difference: {d.get('side', 'wire')} {where})"
            rows.append(f"| {r['name']} | {o['backend']} | {summarize(r['kernel']['sut'])} | "
                        f"{summarize(o['trace']['sut'])} | {o['verdict']} | {why} |")
        if not r["others"]:
            rows.append(f"| {r['name']} | (kernel only) | {summarize(r['kernel']['sut'])} | | "
                        f"{r['verdict']} | {r['reason']} |")
    path.write_text("\n".join(rows) + "\n")


# ---- command ---------------------------------------------------------------------------

def built_backends() -> list[str]:
    """Every backend but the kernel that the binary has (tcplab list --json)."""
    out = subprocess.run([tcplab_bin(), "list", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise UsageError(f"tcplab list --json: {out.stderr.strip()}")
    return [b["name"] for b in json.loads(out.stdout)["backends"] if b["name"] != "kernel"]


def load_packets():
    """harness/packets.py: the packet-level checks, whose records have this file's shape."""
    import importlib.util

    name = "tcplab_packets"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("packets.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def split_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Socket cases and packet checks (pkt_*) among the names given; none given: all."""
    if not names:
        return [], list(load_packets().CHECK_NAMES)
    checks = [n for n in names if n.startswith("pkt_")]
    known = set(load_packets().CHECK_NAMES)
    unknown = [n for n in checks if n not in known]
    if unknown:
        raise UsageError(f"unknown packet check '{unknown[0]}' (valid: {', '.join(sorted(known))})")
    return [n for n in names if not n.startswith("pkt_")], checks


def pick_cases(names: list[str]) -> list[Path]:
    available = sorted(CASES.glob("*.case"))
    if not names:
        return available
    by_name = {p.stem: p for p in available}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"unknown case '{unknown[0]}' (valid: {', '.join(sorted(by_name))})")
    return [by_name[n] for n in names]


def check_syntax(cases: list[Path]) -> None:
    for case in cases:
        for side in ("peer", "sut"):
            p = subprocess.run([tcplab_bin(), "case", str(case), "--side", side, "--check"],
                               stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise UsageError(p.stderr.strip())


def conform(cases: list[Path], backends: list[str], progress: bool = True) -> list[dict]:
    listed = load_divergences()
    results = []
    tag = str(os.getpid())
    with Veth(tag) as veth, TapNs(tag, any(b != "kernel" for b in backends)) as tap:
        for i, case in enumerate(cases, 1):
            if progress:
                print(f"tcplab conform: [{i}/{len(cases)}] {case.stem}", file=sys.stderr)
            run_id = f"conform{tag}-{i}"
            kernel_at = where("kernel", veth, tap)
            oracle = run_case(case, kernel_at, "kernel", [], run_id)
            again = run_case(case, kernel_at, "kernel", [], run_id)
            res = {"name": case.stem, "description": describe(case),
                   "kernel": {"sut": oracle.sut, "peer": oracle.peer},
                   "verdict": "match", "reason": "", "others": []}
            if oracle.error or first_difference(oracle, again):
                res["verdict"] = "oracle-unstable"
                res["reason"] = oracle.error or again.error or \
                    f"two kernel runs differ: {json.dumps(first_difference(oracle, again))}"
            else:
                for b in backends:
                    other = run_case(case, where(b, veth, tap), b, backend_opts(b), run_id)
                    res["others"].append(verdict_for(case.stem, b, oracle, other, listed))
            results.append(res)
    return results


def backend_opts(backend: str) -> list[str]:
    if backend == "kernel":
        return []
    return ["topology=tap", f"ip={SUT_ADDR}", f"tap_addr={PEER_ADDR}/24"]


def outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Where the JSON and the table go: where --json/--md say; otherwise, for a run of every
    case, the stored parity table in results/. A run of named cases writes no default: it
    would replace the whole table with its few rows."""
    whole = not args.cases
    stored = ROOT / "results"
    return (Path(args.json) if args.json else stored / "conformance.json" if whole else None,
            Path(args.md) if args.md else stored / "conformance.md" if whole else None)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab conform", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", metavar="CASE")
    ap.add_argument("--backend", action="append", default=[],
                    help="backend to compare with the kernel (repeatable; default: every "
                         "backend built in but the kernel)")
    ap.add_argument("--json", metavar="OUT",
                    help="the verdicts as JSON (default, for a run of every case: "
                         "results/conformance.json)")
    ap.add_argument("--md", metavar="OUT",
                    help="the parity table (default, for a run of every case: "
                         "results/conformance.md)")
    ap.add_argument("--no-packets", action="store_true",
                    help="leave out the packet-level checks (pkt_*, harness/packets.py)")
    args = ap.parse_args(argv)
    try:
        if os.geteuid() != 0:
            raise UsageError("tcplab conform needs root (it creates network namespaces)")
        if not args.backend:
            args.backend = built_backends()
        case_names, checks = split_names(args.cases)
        cases = pick_cases(case_names) if case_names or not args.cases else []
        check_syntax(cases)
        load_divergences()
        results = conform(cases, args.backend) if cases else []
        if checks and not args.no_packets:
            print(f"tcplab conform: {len(checks)} packet-level checks", file=sys.stderr)
            results += load_packets().packet_records(checks, args.backend)
    except UsageError as e:
        print(f"tcplab conform: {e}" if not str(e).startswith("/") else str(e),
              file=sys.stderr)
        return 2
    tag = str(os.getpid())	# conform() names its namespaces after it
    json_out, md_out = outputs(args)
    if json_out is not None:
        json_out.write_text(json.dumps({"schema": "tcplab.conformance/1",
                                        "namespaces": [Veth(tag).peer_ns, Veth(tag).sut_ns,
                                                       TapNs(tag, True).ns],
                                        "cases": results}, indent=1) + "\n")
    if md_out is not None:
        write_markdown(results, md_out)
    bad = [r["name"] for r in results if r["verdict"] != "match"
           or any(o["verdict"] == "divergence" for o in r["others"])]
    counts = {}
    for r in results:
        for o in r["others"] or [{"verdict": r["verdict"]}]:
            counts[o["verdict"]] = counts.get(o["verdict"], 0) + 1
    n_pkt = sum(1 for r in results if r["name"].startswith("pkt_"))
    print(f"{len(results) - n_pkt} cases and {n_pkt} packet checks: "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    written = [str(p) for p in (md_out, json_out) if p is not None]
    print(f"wrote {' and '.join(written)}" if written else
          "named cases only: results/conformance.md and .json, the stored parity table of "
          "every case, are left as they are (--md/--json OUT write these)")
    if bad:
        print(f"unexpected: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: namespaces removed
    sys.exit(main(sys.argv[1:]))
