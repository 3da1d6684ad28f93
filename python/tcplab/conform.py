"""tcplab conform [CASE...]: socket-behaviour conformance, the kernel as the oracle.

Each case (scenarios/conformance/NAME.case) has a `peer` script, run on Linux, and a `sut`
script, run through the backend under test (cases.py runs both sides). The kernel run is the
oracle: a backend's traces (both sides: what the SUT saw and what the peer saw) must equal
the kernel's, or the case must be listed in scenarios/conformance/divergences.txt with a
reason (verdicts.py). The packet-level checks (pkt_*, `tcplab packets`) join the same table.

Topologies come from the binary's table (`tcplab list --json`): each SUT, the kernel's and
every backend's, runs on the first topology with a Linux engine side, the SUT's attach kind
and namespaces (a kernel SUT behind a veth pair, a DPDK SUT on a tap whose kernel end the
Linux peer uses, today); the namespaces and link are made from the table's entry, a DPDK SUT
gets the entry's settings for the SUT role.

Flow: make each topology's namespaces (removed on every exit path) -> for each case: kernel
run, kernel run again (the oracle must be deterministic), each other backend -> verdicts ->
results/conformance.json and results/conformance.md (the parity table).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from . import UsageError
from .cases import Place, check_syntax, describe, pick_cases, run_case
from .checks import CHECK_NAMES
from .namespaces import TopologyNamespaces
from .packets import packet_records
from .proc import ROOT
from .topology import SOCKETS, Table
from .verdicts import (ORACLE, counts, first_difference, load_divergences, summarize,
                       unexpected, verdict_for)

PREFIX = "tcplab-c"	# the run's namespaces: PREFIX + e|s|b + pid-index


class Places(contextlib.ExitStack):
    """The namespaces of every topology the run's SUTs need, made once each up front."""

    def __init__(self, table: Table, backends: list[str], tag: str) -> None:
        super().__init__()
        self.table = table
        self.backends = backends
        self.tag = tag
        self.by_backend: dict[str, Place] = {}
        self.names: list[str] = []

    def __enter__(self) -> "Places":
        super().__enter__()
        try:
            made: dict[tuple[str, str], TopologyNamespaces] = {}
            for b in [ORACLE, *self.backends]:
                attach = self.table.backend(b).attach
                topo = self.table.peer_topology(attach)
                if (topo.name, attach) not in made:
                    made[topo.name, attach] = self.enter_context(TopologyNamespaces(
                        topo, {"engine": SOCKETS, "sut": attach}, PREFIX,
                        f"{self.tag}-{len(made)}"))
                    self.names += made[topo.name, attach].names
                ns = made[topo.name, attach].ns
                assert topo.addresses is not None
                self.by_backend[b] = Place(ns["engine"], ns["sut"], topo.addresses,
                                           tuple(topo.stack_opts("sut", attach)))
        except BaseException:
            self.close()
            raise
        return self


def conform(cases: list[Path], backends: list[str], table: Table,
            progress: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """Every case on the kernel (twice) and on each backend; the records, and the names of
    the namespaces the run made (and removed)."""
    listed = load_divergences()
    results = []
    tag = str(os.getpid())
    with Places(table, backends, tag) as places:
        for i, case in enumerate(cases, 1):
            if progress:
                print(f"tcplab conform: [{i}/{len(cases)}] {case.stem}", file=sys.stderr)
            run_id = f"conform{tag}-{i}"
            kernel_at = places.by_backend[ORACLE]
            oracle = run_case(case, kernel_at, ORACLE, run_id)
            again = run_case(case, kernel_at, ORACLE, run_id)
            res = {"name": case.stem, "description": describe(case),
                   "kernel": {"sut": oracle.sut, "peer": oracle.peer},
                   "verdict": "match", "reason": "", "others": []}
            if oracle.error or first_difference(oracle, again):
                res["verdict"] = "oracle-unstable"
                res["reason"] = oracle.error or again.error or \
                    f"two kernel runs differ: {json.dumps(first_difference(oracle, again))}"
            else:
                for b in backends:
                    other = run_case(case, places.by_backend[b], b, run_id)
                    res["others"].append(verdict_for(case.stem, b, oracle, other, listed))
            results.append(res)
    return results, places.names


# ---- reports ---------------------------------------------------------------------------

def cell(trace: list[dict[str, Any]]) -> str:
    return summarize(trace).replace("|", "\\|")


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
            rows.append(f"| {r['name']} | {o['backend']} | {cell(r['kernel']['sut'])} | "
                        f"{cell(o['trace']['sut'])} | {o['verdict']} | {why} |")
        if not r["others"]:
            rows.append(f"| {r['name']} | (kernel only) | {cell(r['kernel']['sut'])} | | "
                        f"{r['verdict']} | {r['reason']} |")
    path.write_text("\n".join(rows) + "\n")


# ---- command ---------------------------------------------------------------------------

def split_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Socket cases and packet checks (pkt_*) among the names given; none given: all."""
    if not names:
        return [], list(CHECK_NAMES)
    checks = [n for n in names if n.startswith("pkt_")]
    unknown = [n for n in checks if n not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown packet check '{unknown[0]}' "
                         f"(valid: {', '.join(sorted(CHECK_NAMES))})")
    return [n for n in names if not n.startswith("pkt_")], checks


def outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Where the JSON and the table go: where --json/--md say; otherwise, for a run of every
    case, the stored parity table in results/. A run of named cases writes no default: it
    would replace the whole table with its few rows."""
    whole = not args.cases
    stored = ROOT / "results"
    return (Path(args.json) if args.json else stored / "conformance.json" if whole else None,
            Path(args.md) if args.md else stored / "conformance.md" if whole else None)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="tcplab conform", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", metavar="CASE")
    ap.add_argument("--backend", action="append", default=[],
                    help="backend to compare with the kernel (repeatable; default: every "
                         "backend the binary has but the kernel)")
    ap.add_argument("--json", metavar="OUT",
                    help="the verdicts as JSON (default, for a run of every case: "
                         "results/conformance.json)")
    ap.add_argument("--md", metavar="OUT",
                    help="the parity table (default, for a run of every case: "
                         "results/conformance.md)")
    ap.add_argument("--no-packets", action="store_true",
                    help="leave out the packet-level checks (pkt_*, tcplab packets)")
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of every case and check asked for, and the namespaces made for them."""
    if os.geteuid() != 0:
        raise UsageError("tcplab conform needs root (it creates network namespaces)")
    case_names, checks = split_names(args.cases)
    cases = pick_cases(case_names) if case_names or not args.cases else []
    check_syntax(cases)
    load_divergences()
    table = Table.load(backends=args.backend)
    if not args.backend:
        args.backend = [b.name for b in table.backends if b.name != ORACLE]
    for b in args.backend:
        table.peer_topology(table.backend(b).attach)
    results, names = conform(cases, args.backend, table) if cases else ([], [])
    if checks and not args.no_packets:
        print(f"tcplab conform: {len(checks)} packet-level checks", file=sys.stderr)
        results += packet_records(checks, args.backend, table=table)
    return results, names


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        results, names = run(args)
    except UsageError as e:
        print(f"tcplab conform: {e}" if not str(e).startswith("/") else str(e),
              file=sys.stderr)
        return 2
    json_out, md_out = outputs(args)
    if json_out is not None:
        json_out.write_text(json.dumps({"schema": "tcplab.conformance/1", "namespaces": names,
                                        "cases": results}, indent=1) + "\n")
    if md_out is not None:
        write_markdown(results, md_out)
    bad = unexpected(results)
    n_pkt = sum(1 for r in results if r["name"].startswith("pkt_"))
    print(f"{len(results) - n_pkt} cases and {n_pkt} packet checks: "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts(results).items())))
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
