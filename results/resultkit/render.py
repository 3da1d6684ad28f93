"""render.py - a Comparison as a terminal table, Markdown or JSON (tcplab.compare/1)."""
from __future__ import annotations

import json
from typing import Any

from .compare import Comparison, Row
from .metrics import ALPHA, SINGLE_RUN_FACTOR
from .resultset import ResultSet

COMPARE_SCHEMA = "tcplab.compare/1"
COLUMNS = ("scenario", "backend", "metric", "base", "new", "change", "verdict", "how")


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ns":
        for div, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
            if value >= div:
                return f"{value / div:.3g}{suffix}"
        return f"{value:.0f}ns"
    if unit == "bit/s":
        return f"{value / 1e9:.3g} Gbit/s"
    if unit == "1/s":
        return f"{value / 1e3:.3g}k/s" if value >= 1000 else f"{value:.3g}/s"
    return f"{value:g}"


def fmt_change(row: Row) -> str:
    if row.change_pct is None:
        return "-" if row.base is None or row.new is None else "new"
    return f"{row.change_pct:+.1f}%"


def fmt_how(row: Row) -> str:
    if row.method == "rank test":
        return f"p={row.p_value:.3f} thr {row.threshold_pct:g}%"
    if row.method in ("single run", "few runs", "floor ratio"):
        return f"{row.method}, thr {row.threshold_pct:g}%"
    if row.method == "count":
        return "count, any rise"
    return row.note


def cells(row: Row) -> tuple[str, ...]:
    verdict = row.verdict + (" (within noise)" if row.note == "within noise" else "")
    scenario = f"{row.scenario} [{row.config}]" if row.config else row.scenario
    return (scenario, f"{row.backend}/{row.topology}", row.metric,
            fmt_value(row.base, row.unit), fmt_value(row.new, row.unit), fmt_change(row),
            verdict, fmt_how(row))


def describe(rs: ResultSet) -> str:
    commits = ", ".join(c[:12] + ("-dirty" if c.endswith("-dirty") else "")
                        for c in rs.commits())
    kinds = " | ".join(sorted(rs.host_kinds()))
    return f"{rs.path} (commit {commits}; {rs.repetitions()} run(s) per scenario; {kinds})"


def method_line() -> str:
    return (f"verdict: worse/better when the median moved beyond the metric's threshold and "
            f"the two-sided Mann-Whitney U test on the repetitions gives p < {ALPHA:g}; "
            f"with too few runs for the test (a single run) the threshold is "
            f"{SINGLE_RUN_FACTOR:g}x wider and the change alone decides; errors: any rise")


def summary_line(cmp: Comparison) -> str:
    c = cmp.counts()
    host = f", {c['host differs']} host differs" if c["host differs"] else ""
    return (f"{c['worse']} worse, {c['better']} better, {c['same']} same{host}, {c['n/a']} n/a: "
            + ("REGRESSION" if cmp.exit_status() else "no regression"))


def terminal(cmp: Comparison) -> str:
    table = [COLUMNS] + [cells(r) for r in cmp.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [f"base: {describe(cmp.base)}", f"new:  {describe(cmp.new)}", method_line(), ""]
    last = None
    for i, row in enumerate(table):
        group = row[:2]
        if i > 1 and group != last:
            lines.append("")
        last = group
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    lines += [""] + [f"note: {n}" for n in cmp.notes] + [summary_line(cmp)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(cmp: Comparison) -> str:
    lines = ["## tcplab compare", "", f"- base: `{describe(cmp.base)}`",
             f"- new: `{describe(cmp.new)}`", f"- {method_line()}", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in cmp.rows:
        c = list(cells(r))
        if r.verdict in ("worse", "better"):
            c[6] = f"**{c[6]}**"
        lines.append("| " + " | ".join(_md(x) for x in c) + " |")
    lines.append("")
    lines += [f"- note: {_md(n)}" for n in cmp.notes]
    lines.append(f"**{summary_line(cmp)}**")
    return "\n".join(lines) + "\n"


def _set_json(rs: ResultSet) -> dict[str, Any]:
    return {"path": str(rs.path), "commits": rs.commits(), "host_kinds": sorted(rs.host_kinds()),
            "repetitions": rs.repetitions()}


def as_json(cmp: Comparison) -> str:
    doc = {"schema": COMPARE_SCHEMA, "base": _set_json(cmp.base), "new": _set_json(cmp.new),
           "method": {"test": "mann-whitney-u two-sided", "alpha": ALPHA,
                      "single_run_factor": SINGLE_RUN_FACTOR, "text": method_line()},
           "rows": cmp.rows_as_dicts(), "notes": cmp.notes, "counts": cmp.counts(),
           "exit": cmp.exit_status()}
    return json.dumps(doc, indent=1) + "\n"
