"""pkt.py - `tcplab pkt`: scripts in packetdrill's syntax (.pkt) run against Linux (the
oracle) and each stack, with a verdict per script and per backend.

    tcplab pkt FILE|DIR... [--backend B]... [--json OUT] [--tolerance-usecs N]

A DIR stands for the .pkt files under it. Every script is parsed before anything runs (a
malformed one: `file:line: message`, exit 2). Then each runs on Linux in a packet lab of its
own (pktrun.py); a script that fails there is a bad script, and the stacks do not run it.
Each --backend (default: every backend the binary lists but the kernel) runs the scripts
Linux passes; a failure there is a difference from Linux: the first mismatch, naming the
line, the field, what was expected and what was seen. A script with a line the runner does
not support is "not supported" on that line, on every backend, and runs nowhere.

A stack's failure on a script of scenarios/pkt that divergences.txt lists for it (`BACKEND
NAME.pkt @sut:LINE:FIELD: reason`) is shown as listed, with the reason, and is no failure.
conform_records() makes the same verdicts rows of `tcplab conform`'s parity table.

Exit status: 0 every script that ran passed everywhere, 1 a failure (a bad script, a stack
that differs unlisted, a run that broke), 2 bad input (a script, a backend, no root).
Progress goes to stderr, the table to stdout, --json OUT gets {"schema": "tcplab.pkt/1",
"scripts": [...]}.
Everything created is removed on every exit path, SIGTERM included.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from . import UsageError, pktscript
from .pktrun import Outcome, outcome_dict, run_script, tolerance_of
from .proc import ROOT, tcplab_bin
from .topology import LINUX, Table
from .verdicts import Listed, classify, load_divergences

BAD_SCRIPT = "bad script"
CORPUS = ROOT / "scenarios" / "pkt"	# tcplab's own scripts: rows of the parity table


def corpus_name(path: str | Path) -> str | None:
    """The name a script of the corpus has in the parity table and in divergences.txt (its
    file name); None for a script elsewhere, which no listed divergence can excuse."""
    p = Path(path).resolve()
    return p.name if p.parent == CORPUS.resolve() else None


def difference(o: dict[str, Any]) -> dict[str, Any] | None:
    """A failed script's first mismatch as verdicts.py places differences: the SUT side, the
    script's line, the field (lower case, `_` for spaces: `sut:12:return_value`)."""
    if o["verdict"] != "fail":
        return None
    return {"side": "sut", "line": o["line"], "field": o["field"].lower().replace(" ", "_"),
            "kernel": o.get("expected"), "other": o.get("seen")}


def judge(name: str | None, o: dict[str, Any], listed: dict[str, Listed]) -> tuple[str, str]:
    """A stack's outcome on a script Linux passed, as conform's verdicts: match, the
    listed divergence (its reason) or a divergence (what differed, or why the run broke)."""
    error = None if o["verdict"] in ("pass", "fail") else f"{o['verdict']}: {o.get('message')}"
    return classify(name or "", error, difference(o), o.get("message", ""),
                    listed if name else {})


def find_scripts(paths: list[str]) -> list[Path]:
    """The files named, and the .pkt files under each directory named, in order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.rglob("*.pkt"))
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    if not found:
        raise UsageError(f"no .pkt scripts in {', '.join(paths)}")
    return found


def progress(text: str, label: str = "tcplab pkt") -> None:
    print(f"{label}: {text}", file=sys.stderr, flush=True)


def run_all(scripts: list[pktscript.Script], backends: list[str], table: Table,
            tolerance: int | None, label: str = "tcplab pkt") -> list[dict[str, Any]]:
    """Linux first, then each backend on the scripts Linux passes; a stack's result carries
    `listed` (the reason) where divergences.txt lists its difference."""
    listed = load_divergences()
    records = []
    for i, s in enumerate(scripts, 1):
        tol = tolerance_of(s, tolerance)
        rec: dict[str, Any] = {"path": s.path, "tolerance_usecs": tol, "results": {}}
        progress(f"[{i}/{len(scripts)}] {s.path} on {LINUX}", label)
        oracle = run_script(s, LINUX, table, None, tol)
        if oracle.verdict == "fail":
            oracle.verdict = BAD_SCRIPT
        rec["results"][LINUX] = outcome_dict(oracle)
        for b in backends:
            if oracle.verdict != "pass":
                out = Outcome(oracle.verdict if oracle.verdict == "not supported" else
                              "not run", message=oracle.message if oracle.verdict ==
                              "not supported" else f"{LINUX}: {oracle.verdict}")
            else:
                progress(f"[{i}/{len(scripts)}] {s.path} on {b}", label)
                out = run_script(s, b, table, None, tol)
            res = rec["results"][b] = outcome_dict(out)
            if oracle.verdict == "pass":
                verdict, reason = judge(corpus_name(s.path), res,
                                        listed.get(table.backend(b).name, {}))
                if verdict == "listed-divergence" or verdict == "match" and reason:
                    res["listed"] = reason
        records.append(rec)
    return records


def table_text(records: list[dict[str, Any]], backends: list[str]) -> str:
    cols = [LINUX, *backends]
    width = max(len(Path(r["path"]).name) for r in records)
    lines = [f"{'script':<{width}}  " + "  ".join(f"{c:<14}" for c in cols)]
    notes = []
    for r in records:
        name = Path(r["path"]).name
        cells = []
        for c in cols:
            res = r["results"][c]
            cells.append(f"{res['verdict'] + (' (listed)' if 'listed' in res else ''):<14}")
            if res["verdict"] != "pass" and res.get("message"):
                notes.append(f"{name} on {c}: {res['message']}"
                             + (f" (listed: {res['listed']})" if "listed" in res else ""))
            elif "listed" in res:
                notes.append(f"{name} on {c}: passes, but divergences.txt lists it: the "
                             "entry can go")
        lines.append(f"{name:<{width}}  " + "  ".join(cells))
    return "\n".join(lines + notes)


def failed(records: list[dict[str, Any]]) -> bool:
    """A bad script, a run that broke, or a stack that differs where nothing lists it."""
    return any(res["verdict"] not in ("pass", "not supported", "not run")
               and not (res["verdict"] == "fail" and "listed" in res)
               for r in records for res in r["results"].values())


# ---- rows of the parity table (tcplab conform) --------------------------------------------

def header(path: str | Path) -> str:
    """A script's header comment (its leading // lines, options left out) as one line."""
    words = []
    for line in Path(path).read_text().splitlines():
        if not line.startswith("//"):
            break
        text = line[2:].strip()
        if not text.startswith("--"):
            words.append(text)
    return " ".join(words)


def conform_records(records: list[dict[str, Any]], table: Table) -> list[dict[str, Any]]:
    """run_all's records in the shape of conform's case results: one row per script, Linux
    (the script passes, or the row is a bad script), each stack's verdict against the
    divergences listed for it; the first difference is the script's line and field."""
    listed = load_divergences()
    rows = []
    for r in records:
        name = corpus_name(r["path"]) or str(r["path"])
        linux = r["results"][LINUX]
        row = {"name": name, "kind": "pkt", "description": header(r["path"]),
               "kernel": {"sut": [], "peer": []}, "verdict": "match", "reason": "",
               "summary": "pass", "others": []}
        if linux["verdict"] != "pass":
            row["verdict"] = linux["verdict"].replace(" ", "-")
            row["reason"] = linux.get("message", "")
            rows.append(row)
            continue
        for b, o in r["results"].items():
            if b == LINUX:
                continue
            verdict, reason = judge(corpus_name(r["path"]), o,
                                    listed.get(table.backend(b).name, {}))
            row["others"].append({"backend": b, "verdict": verdict, "reason": reason,
                                  "first_difference": difference(o),
                                  "summary": "pass" if o["verdict"] == "pass" else
                                  o.get("message", o["verdict"]),
                                  "trace": {"sut": [], "peer": []}})
        rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tcplab pkt", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="FILE|DIR")
    ap.add_argument("--backend", action="append", default=[],
                    help="a backend compared with Linux (repeatable; default every one "
                         "but the kernel)")
    ap.add_argument("--json", metavar="OUT", help="write the verdicts there")
    ap.add_argument("--tolerance-usecs", type=int, default=None,
                    help="for scripts that give none (default packetdrill's, 4000)")
    args = ap.parse_args(argv)
    try:
        scripts = [pktscript.load(p) for p in find_scripts(args.paths)]
        table = Table.load(tcplab_bin(), backends=args.backend)
        for b in args.backend:
            table.peer_topology(table.backend(b).attach)
        # as given (a plug-in by path stays a path for `tcplab case`); Linux always runs
        backends = [b for b in args.backend if table.backend(b).name != LINUX] \
            if args.backend else [b.name for b in table.backends if b.name != LINUX]
        if os.geteuid() != 0:
            raise UsageError("needs root (it creates network namespaces)")
    except UsageError as e:
        print(f"tcplab pkt: {e}", file=sys.stderr)
        return 2
    records = run_all(scripts, backends, table, args.tolerance_usecs)
    print(table_text(records, backends))
    if args.json:
        Path(args.json).write_text(json.dumps({"schema": "tcplab.pkt/1", "backends":
                                               [LINUX, *backends], "scripts": records},
                                              indent=1) + "\n")
    return 1 if failed(records) else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: namespaces removed
    sys.exit(main(sys.argv[1:]))
