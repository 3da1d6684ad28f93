#!/usr/bin/python3
"""tcplab compare|report|baseline|history|junit|csv: results across commits (./tcplab
runs this file).

    tcplab compare BASE NEW [--markdown | --json] [--changed-only] [--junit FILE] [--force]
    tcplab report DIR [DIR ...] [--out OUTDIR] [--conformance FILE]
    tcplab baseline save NAME [RUN_DIR] [--force]
    tcplab baseline list [--json]
    tcplab history [DIR ...] [--metric M]... [--scenario S]... [--backend B]...
                   [--order auto|git|time] [--html OUTDIR] [--json] [--force]
    tcplab junit RESULT.json|DIR ... [-o FILE]
    tcplab csv DIR|RESULT.json ... [-o FILE]

BASE, NEW and DIR are run directories, commits (newest run under results/runs/<commit>*/)
or baseline names (results/baselines/NAME); history also takes directories of run
directories (results/runs, results/baselines: every run below). Exit status: compare 1 when
a metric is worse beyond its threshold, else 0; history 0 whatever it finds; junit and csv 0
once written; every command 2 on bad input, with a one-line message.
See results/README.md, "Comparing results across commits".
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# resultkit sits beside this file: Python puts a script's own folder first on its path
from resultkit import baseline, csvout, junit, render
from resultkit.compare import compare
from resultkit.errors import BadInput
from resultkit.inputs import results_of
from resultkit.places import Places, newest_run, resolve
from resultkit.resultset import load


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(f"{message} (see {self.prog} --help)")


def add_places(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", help="where run directories live (default results/runs)")
    p.add_argument("--baselines-dir", help="the baseline store (default results/baselines)")


def build_parser() -> Parser:
    ap = Parser(prog="tcplab", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", parser_class=Parser, required=True)
    c = sub.add_parser("compare", help="compare two result sets",
                       description="Compare two result sets; exit 1 on a regression.")
    c.add_argument("base")
    c.add_argument("new")
    fmt = c.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="Markdown table")
    fmt.add_argument("--json", action="store_true", help="JSON (tcplab.compare/1)")
    c.add_argument("--changed-only", action="store_true",
                   help="leave out the rows whose verdict is same (and say how many)")
    c.add_argument("--junit", metavar="FILE",
                   help="also write the verdicts as JUnit XML to FILE (worse: a failure; "
                        "n/a, host differs: skipped)")
    c.add_argument("--force", action="store_true",
                   help="compare results from different host kinds anyway")
    add_places(c)
    r = sub.add_parser("report", help="HTML report with plots",
                       description="Write report.html and PNG plots for result sets.")
    r.add_argument("dirs", nargs="+", metavar="DIR")
    r.add_argument("--out", help="output directory (default DIR/report, or "
                                 "results/out/report-<time> for a baseline)")
    r.add_argument("--conformance", help="conformance results (default "
                                         "results/conformance.json when it exists)")
    add_places(r)
    b = sub.add_parser("baseline", help="save or list baselines")
    bsub = b.add_subparsers(dest="action", parser_class=Parser, required=True)
    s = bsub.add_parser("save", help="save a run directory as baseline NAME")
    s.add_argument("name")
    s.add_argument("run_dir", nargs="?", help="default: the newest run under results/runs")
    s.add_argument("--force", action="store_true", help="replace an existing baseline")
    add_places(s)
    ls = bsub.add_parser("list", help="list saved baselines")
    ls.add_argument("--json", action="store_true")
    add_places(ls)
    h = sub.add_parser("history", help="change points over the runs of many commits",
                       description="Per scenario, backend and metric: the series of the "
                                   "runs' medians in commit order and its change points "
                                   "(e-divisive, results/README.md).")
    h.add_argument("dirs", nargs="*", metavar="DIR",
                   help="run directories or directories of them (default results/runs)")
    h.add_argument("--metric", action="append", help="only this metric (repeatable)")
    h.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    h.add_argument("--backend", action="append", help="only this backend (repeatable)")
    h.add_argument("--order", choices=("auto", "git", "time"), default="auto",
                   help="git: by the commits' git order; time: by started_at; auto (default): "
                        "git when every commit is in HEAD's history, else time")
    h.add_argument("--html", metavar="OUTDIR", help="write OUTDIR/history.html and its plots")
    h.add_argument("--json", action="store_true", help="JSON (tcplab.history/1)")
    h.add_argument("--force", action="store_true", help="use runs of different host kinds")
    add_places(h)
    j = sub.add_parser("junit", help="a run's checks as JUnit XML",
                       description="Write the checks of results as JUnit XML: a testsuite "
                                   "per result, a testcase per check.")
    j.add_argument("inputs", nargs="+", metavar="RESULT.json|DIR")
    j.add_argument("-o", "--out", metavar="FILE", help="the XML file (default, or -: stdout)")
    add_places(j)
    v = sub.add_parser("csv", help="results as CSV, one row per result file",
                       description="Write results as CSV: the header, then one row per "
                                   "result file.")
    v.add_argument("inputs", nargs="+", metavar="DIR|RESULT.json")
    v.add_argument("-o", "--out", metavar="FILE", help="the CSV file (default, or -: stdout)")
    add_places(v)
    return ap


def cmd_compare(args: argparse.Namespace, places: Places) -> int:
    base = load(resolve(args.base, places, "BASE"), "BASE")
    new = load(resolve(args.new, places, "NEW"), "NEW")
    result = compare(base, new, force=args.force)
    only = args.changed_only
    out = (render.as_json(result, only) if args.json
           else render.markdown(result, only) if args.markdown
           else render.terminal(result, only))
    if args.junit is not None:	# first: a file it cannot write is bad input, nothing printed
        junit.write(junit.compare_document(result, render.shown(result, only)[0]),
                    args.junit)
    sys.stdout.write(out)
    return result.exit_status()


def cmd_report(args: argparse.Namespace, places: Places) -> int:
    from resultkit import report	# matplotlib only when a report is asked for
    sets = [load(resolve(d, places, f"DIR {d}"), f"DIR {d}") for d in args.dirs]
    out = report.default_out(sets[0].path, places) if args.out is None else Path(args.out)
    conf = (Path(args.conformance) if args.conformance
            else places.root / "results" / "conformance.json")
    page = report.write(sets, out, conf, conformance_given=args.conformance is not None)
    print(page)
    return 0


def cmd_baseline(args: argparse.Namespace, places: Places) -> int:
    if args.action == "save":
        source = Path(args.run_dir) if args.run_dir else newest_run(places)
        if args.run_dir:
            source = resolve(args.run_dir, places, "RUN_DIR")
        dest = baseline.save(args.name, source, places, force=args.force)
        print(f"baseline {args.name}: {dest} (from {source})")
        return 0
    entries = baseline.listing(places)
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    for e in entries:
        commits = ",".join(c[:12] for c in e.get("commits", []))
        print(f"{e.get('name')}\t{e.get('host_kind')}\t{commits}\tsuite={e.get('suite')}"
              f"\t{e.get('results')} results\tsaved {e.get('saved_at')}")
    if not entries:
        print(f"no baselines in {places.baselines}", file=sys.stderr)
    return 0


def cmd_history(args: argparse.Namespace, places: Places) -> int:
    from resultkit import history, history_text
    h = history.history(args.dirs, places, args.metric, args.scenario, args.backend,
                        args.order, args.force)
    if args.html:
        from resultkit import history_html	# matplotlib only when a page is asked for
        page = history_html.write(h, Path(args.html))
        print(f"tcplab history: wrote {page}", file=sys.stderr)
    sys.stdout.write(history_text.as_json(h) if args.json else history_text.markdown(h))
    return 0


def cmd_junit(args: argparse.Namespace, places: Places) -> int:
    junit.write(junit.checks_document(results_of(args.inputs, places, "RESULT")), args.out)
    return 0


def cmd_csv(args: argparse.Namespace, places: Places) -> int:
    csvout.write(results_of(args.inputs, places, "DIR"), args.out)
    return 0


COMMANDS = {"compare": cmd_compare, "report": cmd_report, "baseline": cmd_baseline,
            "history": cmd_history, "junit": cmd_junit, "csv": cmd_csv}


def main(argv: list[str]) -> int:
    prog = "tcplab " + (argv[0] if argv and argv[0] in COMMANDS else "")
    try:
        args = build_parser().parse_args(argv)
        places = Places.from_env(args.runs_dir, args.baselines_dir)
        return COMMANDS[args.cmd](args, places)
    except BadInput as e:
        print(f"{prog.strip()}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
