"""packets.py - `tcplab packets`: packet-level conformance checks and a fuzz run, scapy playing
the peer at the wire; the kernel's replies are the oracle, the same way `tcplab conform`
compares socket traces (verdicts.py). `tcplab conform` runs the checks too (pkt_* rows).

    tcplab packets --list                                      the checks
    tcplab packets --packets [CHECK...] [--backend B]... [--json OUT]
    tcplab packets --fuzz [--count 10000] [--seed 1] [--backend B]... [--json OUT]
    tcplab packets --flood syn|idle [--count N] [--seed 1] [--backend B]... [--json OUT]

--packets compares with the kernel each backend --backend names, by default every backend the
binary lists but the kernel (each DPDK stack built, tcplab.stacks), as `tcplab conform` does.
--fuzz runs at each SUT in turn: those --backend names, by default the kernel and every DPDK
stack built; its JSON is {"schema": "tcplab.fuzz/1", "runs": [one per SUT]}.
--flood runs a SYN flood (default 50,000 SYNs) or an idle flood (default 1,000 silent
connections) at the same SUTs with echo_rr through each meanwhile (flood.py); its JSON is
{"schema": "tcplab.flood/1", "runs": [one per SUT]}.

Each backend runs in a packet lab (lab.py) on the topology the table gives a Linux peer and
that backend as SUT. Records (`--packets`, results/packets.json) have the shape of
conform's case results, so its parity table can list them: {name, kind, description,
kernel: {sut: TRACE, peer: []}, verdict, reason, summary, others: [{backend, verdict,
reason, first_difference, trace: {sut, peer}}]}; the first difference names the step and
the field. Everything created is removed on every exit path (SIGTERM included).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import UsageError, stacks
from .checks import CHECK_NAMES, CHECKS
from .flood import DEFAULT_COUNT, check_plan, flood_run, summary_line, write_doc
from .fuzz import fuzz_run
from .lab import PacketLab
from .proc import ROOT
from .topology import LINUX, Table
from .verdicts import (Run, counts, first_difference, load_divergences, summarize,
                       unexpected, verdict_for)


def run_backend(backend: str, names: list[str], seed: int, label: str, progress: bool,
                table: Table) -> dict[str, Run]:
    """Each check on @backend's SUT. A SUT that dies makes the check it died in, and every
    later one, a failed run; one whose exit status is not 0 (at the end of its stdin, say:
    serve.c) makes them all failed runs: a crash is never the behaviour a listed reason describes."""
    out = {}
    with PacketLab(backend, seed=seed, table=table) as lab:
        for i, name in enumerate(names, 1):
            if progress:
                print(f"tcplab packets: {label} [{i}/{len(names)}] {name}", file=sys.stderr,
                      flush=True)
            got = lab.check(name) if lab.sut.alive() else {"trace": [], "error": None}
            error = got["error"] or (None if lab.sut.alive() else
                                     f"the SUT ended (exit status {lab.sut.popen.returncode})")
            out[name] = Run(sut=got["trace"], peer=[], error=error)
    rc = lab.sut.popen.returncode
    if rc != 0:
        out = {n: r if r.error else Run(sut=r.sut, peer=[], error=f"the SUT's exit status "
                                        f"was {rc}, not 0") for n, r in out.items()}
    return out


def packet_records(names: list[str], backends: list[str], seed: int = 1,
                   progress: bool = True, table: Table | None = None) -> list[dict[str, Any]]:
    """The kernel run twice (the oracle must be deterministic), then each backend: records
    in the shape of conform's case results."""
    table = table or Table.load()
    listed = load_divergences()
    oracle = run_backend(LINUX, names, seed, LINUX, progress, table)
    again = run_backend(LINUX, names, seed + 1, f"{LINUX} again", progress, table)
    others = {b: run_backend(b, names, seed + 2 + i, b, progress, table)
              for i, b in enumerate(backends)}
    by_name = {c.name: c for c in CHECKS}
    records = []
    for name in names:
        k = oracle[name]
        rec = {"name": name, "kind": "packet", "description": by_name[name].description,
               "kernel": {"sut": k.sut, "peer": []}, "verdict": "match", "reason": "",
               "summary": summarize(k.sut), "others": []}
        unstable = first_difference(k, again[name])
        if k.error or again[name].error or unstable:
            rec["verdict"] = "oracle-unstable"
            rec["reason"] = k.error or again[name].error or \
                f"two kernel runs differ: {json.dumps(unstable)}"
        else:
            for b in backends:
                rec["others"].append(verdict_for(name, b, k, others[b][name],
                                                 listed.get(table.backend(b).name, {})))
        records.append(rec)
    return records


def pick_checks(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown check '{unknown[0]}' (valid: {', '.join(CHECK_NAMES)})")
    return names or list(CHECK_NAMES)


def check_backends(backends: list[str], table: Table) -> None:
    """Each one known to the binary and given a topology with a Linux peer (UsageError)."""
    for b in backends:
        table.peer_topology(table.backend(b).attach)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab packets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--packets", action="store_true",
                      help="run the packet-level checks and write --json")
    mode.add_argument("--fuzz", action="store_true", help="the fuzz run, then echo_rr")
    mode.add_argument("--flood", metavar="syn|idle",
                      help="a SYN flood or an idle-connection flood, echo_rr meanwhile")
    mode.add_argument("--list", action="store_true", help="list the checks")
    ap.add_argument("checks", nargs="*", metavar="CHECK")
    ap.add_argument("--backend", action="append", default=[],
                    help="--packets: backend compared with the kernel (repeatable; default "
                         "every one but the kernel); "
                         f"--fuzz: a SUT (repeatable; default {LINUX} and every DPDK stack "
                         "built)")
    ap.add_argument("--json", metavar="OUT", help="default results/packets.json (--packets)")
    ap.add_argument("--count", type=int, help="fuzz frames (default 10000); flood SYNs or "
                    f"connections (default {DEFAULT_COUNT['syn']} syn, "
                    f"{DEFAULT_COUNT['idle']} idle)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        if args.list:
            for c in CHECKS:
                print(f"{c.name}\t{c.description}")
            return 0
        names = pick_checks(args.checks)
        table = Table.load(backends=args.backend)
        check_backends(args.backend, table)
        if args.flood:
            args.count = DEFAULT_COUNT.get(args.flood, 1) if args.count is None else args.count
            try:
                check_plan(args.flood, args.count)
            except ValueError as e:
                raise UsageError(str(e)) from None
        elif args.count is None:
            args.count = 10000
        elif args.count < 1:
            raise UsageError(f"--count {args.count}: at least 1 frame")
        if os.geteuid() != 0:
            raise UsageError("needs root (it creates network namespaces)")
        if args.fuzz:
            return fuzz_command(args, args.backend or [LINUX, *stacks.built(table)])
        if args.flood:
            return flood_command(args, args.backend or [LINUX, *stacks.built(table)])
        return packets_command(args, names, table)
    except UsageError as e:
        print(f"tcplab packets: {e}", file=sys.stderr)
        return 2


def packets_command(args: argparse.Namespace, names: list[str], table: Table) -> int:
    backends = args.backend or [b.name for b in table.backends if b.name != LINUX]
    records = packet_records(names, backends, args.seed, table=table)
    path = Path(args.json or ROOT / "results" / "packets.json")
    path.write_text(json.dumps({"schema": "tcplab.packets/1", "cases": records}, indent=1)
                    + "\n")
    print(f"{len(records)} packet checks on {', '.join(backends) or 'the kernel alone'}: " +
          ", ".join(f"{v} {k}" for k, v in sorted(counts(records).items())))
    print(f"wrote {path}")
    bad = unexpected(records)
    if bad:
        print(f"unexpected: {', '.join(bad)}")
    return 1 if bad else 0


def fuzz_command(args: argparse.Namespace, backends: list[str]) -> int:
    """The fuzz run at each SUT in turn; exit 1 when any of them did not pass."""
    runs = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="tcplab-fuzz-") as tmp:
            res = fuzz_run(backend, args.count, args.seed, Path(tmp))
        runs.append(res)
        print(f"fuzz: {res.get('frames', 0)} frames (seed {args.seed}) at the {backend} SUT "
              f"in {res.get('seconds')} s: {res['outcome']}; echo_rr after: "
              f"{'passed' if res['echo_rr']['passed'] else 'FAILED'} "
              f"({res['echo_rr']['transactions']} transactions); SUT stats: "
              f"{res['sut_stats']}", flush=True)
        d = res.get("delivery") or {}
        print(f"  delivery: {d.get('sent')} frames sent, {d.get('rx_frames')} received by the "
              f"SUT; reached its TCP input: {d.get('tcp_input', 'unknown')} (share "
              f"{d.get('tcp_input_share')}; well-formed TCP to it: "
              f"{d.get('well_formed_tcp_share')})", flush=True)
        for p in res["problems"]:
            print(f"  problem: {p}")
        if args.json:	# after each SUT: a later one's trouble leaves the earlier ones
            Path(args.json).write_text(json.dumps({"schema": "tcplab.fuzz/1", "runs": runs},
                                                  indent=1) + "\n")
    return 0 if all(r["outcome"] == "pass" for r in runs) else 1


def flood_command(args: argparse.Namespace, backends: list[str]) -> int:
    """The flood at each SUT in turn; one line each; exit 1 when any of them did not pass."""
    runs = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="tcplab-flood-") as tmp:
            res = flood_run(backend, args.flood, args.count, args.seed, Path(tmp))
        runs.append(res)
        print(summary_line(res), flush=True)
        for p in res["problems"]:
            print(f"  problem: {p}")
        if args.json:	# after each SUT, as --fuzz does
            write_doc(Path(args.json), runs)
    return 0 if all(r["outcome"] == "pass" for r in runs) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: namespaces removed
    sys.exit(main(sys.argv[1:]))
