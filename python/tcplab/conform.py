"""tcplab conform [CASE...]: socket-behaviour conformance, the kernel as the oracle.

Each case (scenarios/conformance/NAME.case) has a `peer` script, run on Linux, and a `sut`
script, run through each stack under test (cases.py runs both sides): by default every
backend the binary lists but the kernel, so every DPDK stack built (tcplab.stacks) and any
plug-in loaded. The kernel run is the oracle: a stack's traces (both sides: what the SUT saw
and what the peer saw) must equal the kernel's, or the case must be listed for that stack in
scenarios/conformance/divergences.txt with a reason (verdicts.py). The packet-level checks
(pkt_*, `tcplab packets`) and the .pkt scripts of scenarios/pkt (NAME.pkt, `tcplab pkt`:
Linux must pass each, a stack's first mismatch is its difference) join the same table: one
row per case, check or script, a column for Linux and one per stack, then each stack's
listed divergences with their reasons, then the requirement matrix (requirements.py): each
RFC requirement, what tests it, and per stack whether it passes.

Topologies come from the binary's table (`tcplab list --json`): each SUT, the kernel's and
every backend's, runs on the first topology with a Linux engine side, the SUT's attach kind
and namespaces (a kernel SUT behind a veth pair, a DPDK SUT on a tap whose kernel end the
Linux peer uses, today); the namespaces and link are made from the table's entry, a DPDK SUT
gets the entry's settings for the SUT role.

Flow: make each topology's namespaces (removed on every exit path) -> for each case: kernel
run, kernel run again (the oracle must be deterministic), each stack -> verdicts ->
results/conformance.json and results/conformance.md (the parity table), written there only
by a run of every case on every stack (named cases, or some stacks: where --md/--json say).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import UsageError, pkt, pktscript, requirements, stacks
from .cases import Place, check_syntax, describe, pick_cases, run_case
from .checks import CHECK_NAMES
from .namespaces import TopologyNamespaces
from .packets import packet_records
from .proc import ROOT
from .topology import SOCKETS, Table
from .verdicts import (ORACLE, Listed, counts, first_difference, load_divergences,
                       summarize, unexpected, verdict_for)

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
                    res["others"].append(verdict_for(case.stem, b, oracle, other,
                                                     listed.get(table.backend(b).name, {})))
            results.append(res)
    return results, places.names


# ---- reports ----------------------------------------------------------------------------

@dataclass
class Scope:
    """What one run covers: its stacks (the table's columns, as --backend named them), their
    divergence lists, the DPDK stacks left out and why, and whether it is the whole table."""
    stacks: list[str]
    divergences: dict[str, dict[str, Listed]]
    not_run: list[dict[str, str]]
    whole: bool
    matrix: list[requirements.Requirement] | None = None	# the requirement matrix


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def where(diff: dict[str, Any] | None) -> str:
    """The first difference, for a reader: a wire step and its field, or a socket call's side
    and line."""
    if not diff:
        return ""
    if "field" in diff and "step" not in diff:	# a .pkt script's line
        return f"first difference: line {diff['line']} field {diff['field']}"
    if "field" in diff:
        return f"first difference: step {diff['step']} ({diff.get('op')}) field {diff['field']}"
    return f"first difference: {diff.get('side')} line {diff.get('line')}"


def stack_cell(o: dict[str, Any]) -> str:
    """A stack's verdict on one row: match, listed (what it did; the reason is below the
    table), or DIVERGES (what it did, why, where)."""
    what = o.get("summary") or summarize(o["trace"]["sut"])
    if o["verdict"] == "match":
        return "match (listed)" if o["reason"] else "match"
    if o["verdict"] == "listed-divergence":
        return f"listed: {what}"
    because = "; ".join(x for x in (o["reason"], where(o["first_difference"])) if x)
    return f"**DIVERGES**: {what} ({because})"


def linux_cell(r: dict[str, Any]) -> str:
    linux = r.get("summary") or summarize(r["kernel"]["sut"])
    return linux if r["verdict"] == "match" else f"**{r['verdict'].upper()}**: {r['reason']}"


def divergence_section(stack: str, results: list[dict[str, Any]],
                       listed: dict[str, Listed]) -> list[str]:
    """A stack's listed divergences and their reasons; those that now match are marked."""
    rows = [f"## {stack}: listed divergences", ""]
    if not listed:
        return rows + ["None listed.", ""]
    seen = {r["name"]: o for r in results for o in r["others"] if o["backend"] == stack}
    for case, known in sorted(listed.items()):
        rows.append(f"- **{case}** at {known.where}{listed_note(seen.get(case))}: "
                    f"{known.reason}")
    return rows + [""]


def listed_note(o: dict[str, Any] | None) -> str:
    """What this run saw of a listed case: not run, now a match, or where it differs."""
    if o is None:
        return " (not in this run)"
    if o["verdict"] == "match":
        return " (now matches: the entry can go)"
    return f" ({where(o['first_difference'])})" if o["first_difference"] else ""


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def write_markdown(results: list[dict], path: Path, scope: Scope | None = None) -> None:
    scope = scope or Scope(columns(results), {}, [], False)
    names = scope.stacks
    rows = ["# Conformance: the kernel vs each stack", "",
            "Generated by `tcplab conform`: one row per socket case, packet check (pkt_*) and",
            ".pkt script (NAME.pkt, scenarios/pkt), run on Linux, the oracle, and on each",
            "stack. *Linux* is what the kernel's SUT side did (failed calls shown; a script:",
            "pass); a stack's cell is its verdict: *match*, *listed* (a",
            "divergence listed for that stack in scenarios/conformance/divergences.txt, with",
            "what it did; the reasons are below the table) or **DIVERGES** (what it did, why,",
            "and the first difference)."]
    if scope.not_run:
        rows += ["", "Not in this run: " + "; ".join(n["why"] for n in scope.not_run) + "."]
    rows += ["", row(["case", "Linux", *names]), "|---" * (2 + len(names)) + "|"]
    for r in results:
        by = {o["backend"]: o for o in r["others"]}
        rows.append(row([r["name"], linux_cell(r),
                         *(stack_cell(by[n]) if n in by else "" for n in names)]))
    rows.append("")
    for n in names:
        rows += divergence_section(n, results, scope.divergences.get(n, {}))
    rows += requirements.section(results, names, scope.matrix)
    path.write_text("\n".join(rows).rstrip("\n") + "\n")


def columns(results: list[dict[str, Any]]) -> list[str]:
    """The stacks of some records, in the order they first appear."""
    return list(dict.fromkeys(o["backend"] for r in results for o in r["others"]))


# ---- command ---------------------------------------------------------------------------

def split_names(names: list[str]) -> tuple[list[str], list[str], list[Path]]:
    """Socket cases, packet checks (pkt_*) and .pkt scripts of the corpus (NAME.pkt) among
    the names given; none given: all of them."""
    scripts = sorted(pkt.CORPUS.glob("*.pkt"))
    if not names:
        return [], list(CHECK_NAMES), scripts
    checks = [n for n in names if n.startswith("pkt_")]
    unknown = [n for n in checks if n not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown packet check '{unknown[0]}' "
                         f"(valid: {', '.join(sorted(CHECK_NAMES))})")
    by_name = {p.name: p for p in scripts}
    unknown = [n for n in names if n.endswith(".pkt") and n not in by_name]
    if unknown:
        raise UsageError(f"unknown script '{unknown[0]}' (valid: the .pkt files in "
                         f"scenarios/pkt)")
    return [n for n in names if not n.startswith("pkt_") and not n.endswith(".pkt")], \
        checks, [by_name[n] for n in names if n.endswith(".pkt")]


def outputs(args: argparse.Namespace, whole: bool) -> tuple[Path | None, Path | None]:
    """Where the JSON and the table go: where --json/--md say; otherwise, for a run of the
    whole table (every case on every stack), the stored parity table in results/. Any other
    run writes no default: it would replace the whole table with its few rows or columns."""
    stored = ROOT / "results"
    return (Path(args.json) if args.json else stored / "conformance.json" if whole else None,
            Path(args.md) if args.md else stored / "conformance.md" if whole else None)


def scope_of(args: argparse.Namespace, table: Table) -> Scope:
    """The run's stacks (every backend but the kernel unless --backend names some), their
    divergence lists, the DPDK stacks it leaves out and why, and whether it is the whole
    table: every case of every stack the binary has."""
    everyone = [b.name for b in table.backends if b.name != ORACLE]
    picked = args.backend or everyone
    names = {table.backend(b).name for b in picked}
    listed = load_divergences()
    not_run = [{"name": p.name, "why": p.why} for p in stacks.survey(table) if not p.built]
    not_run += [{"name": n, "why": f"{n}: not asked for (--backend)"}
                for n in stacks.built(table) if n not in names]
    return Scope(picked, {b: listed.get(table.backend(b).name, {}) for b in picked}, not_run,
                 not args.cases and not args.no_packets and not args.no_scripts
                 and names >= set(everyone))


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="tcplab conform", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", metavar="CASE")
    ap.add_argument("--backend", action="append", default=[],
                    help="a stack to compare with the kernel (repeatable; default: every "
                         "backend the binary has but the kernel: each DPDK stack built)")
    ap.add_argument("--json", metavar="OUT",
                    help="the verdicts as JSON (default, for a run of every case on every "
                         "stack: results/conformance.json)")
    ap.add_argument("--md", metavar="OUT",
                    help="the parity table (default, for a run of every case on every "
                         "stack: results/conformance.md)")
    ap.add_argument("--no-packets", action="store_true",
                    help="leave out the packet-level checks (pkt_*, tcplab packets)")
    ap.add_argument("--no-scripts", action="store_true",
                    help="leave out the .pkt scripts of scenarios/pkt (tcplab pkt)")
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str], Scope]:
    """The records of every case and check asked for, the namespaces made for them, and
    what the run covers."""
    if os.geteuid() != 0:
        raise UsageError("tcplab conform needs root (it creates network namespaces)")
    case_names, checks, script_paths = split_names(args.cases)
    cases = pick_cases(case_names) if case_names or not args.cases else []
    check_syntax(cases)
    scripts = [pktscript.load(p) for p in script_paths]	# a bad one stops the run here
    reqs = requirements.load()	# a broken matrix stops the run before it starts
    table = Table.load(backends=args.backend)
    scope = scope_of(args, table)
    for b in scope.stacks:
        table.peer_topology(table.backend(b).attach)
    results, names = conform(cases, scope.stacks, table) if cases else ([], [])
    if checks and not args.no_packets:
        print(f"tcplab conform: {len(checks)} packet-level checks", file=sys.stderr)
        results += packet_records(checks, scope.stacks, table=table)
    if scripts and not args.no_scripts:
        print(f"tcplab conform: {len(scripts)} .pkt scripts", file=sys.stderr)
        results += pkt.conform_records(pkt.run_all(scripts, scope.stacks, table, None,
                                                   "tcplab conform"), table)
    scope.matrix = reqs
    return results, names, scope


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        results, names, scope = run(args)
    except UsageError as e:
        print(f"tcplab conform: {e}" if not str(e).startswith("/") else str(e),
              file=sys.stderr)
        return 2
    json_out, md_out = outputs(args, scope.whole)
    if json_out is not None:
        json_out.write_text(json.dumps({
            "schema": "tcplab.conformance/1", "oracle": ORACLE, "stacks": scope.stacks,
            "divergences": {b: {case: {"at": k.where, "reason": k.reason}
                                for case, k in d.items()}
                            for b, d in scope.divergences.items()},
            "not_run": scope.not_run, "namespaces": names,
            "requirements": requirements.as_json(results, scope.stacks, scope.matrix),
            "cases": results}, indent=1) + "\n")
    if md_out is not None:
        write_markdown(results, md_out, scope)
    bad = unexpected(results)
    n_pkt = sum(1 for r in results if r["name"].startswith("pkt_"))
    n_scripts = sum(1 for r in results if r.get("kind") == "pkt")
    print(f"{len(results) - n_pkt - n_scripts} cases, {n_pkt} packet checks and "
          f"{n_scripts} .pkt scripts on "
          f"{', '.join(scope.stacks) or 'the kernel alone'}: "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts(results).items())))
    for n in scope.not_run:
        print(f"not in this run: {n['why']}")
    written = [str(p) for p in (md_out, json_out) if p is not None]
    print(f"wrote {' and '.join(written)}" if written else
          "named cases or some stacks only: results/conformance.md and .json, the stored "
          "parity table of every case on every stack, are left as they are (--md/--json OUT "
          "write these)")
    if bad:
        print(f"unexpected: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: namespaces removed
    sys.exit(main(sys.argv[1:]))
