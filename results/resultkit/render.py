"""render.py - a Comparison as a terminal table, Markdown or JSON (tcplab.compare/1).

Markdown puts the verdict first (the summary line, then the rows that are worse, better or
host differs, one line each), then the full table. changed_only (--changed-only, every
format) leaves out the rows whose verdict is same and says how many; the counts and the
exit status still cover every row."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .compare import BETTER, HOST, SAME, WORSE, Comparison, Row
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


def shown(cmp: Comparison, changed_only: bool) -> tuple[list[Row], int]:
    """The rows to list, and how many same rows changed_only left out."""
    if not changed_only:
        return list(cmp.rows), 0
    rows = [r for r in cmp.rows if r.verdict != SAME]
    return rows, len(cmp.rows) - len(rows)


def left_out_line(n: int) -> str:
    return f"left out: {n} same row{'s' if n != 1 else ''} (--changed-only)"


def terminal(cmp: Comparison, changed_only: bool = False) -> str:
    rows, left_out = shown(cmp, changed_only)
    table = [COLUMNS] + [cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [f"base: {describe(cmp.base)}", f"new:  {describe(cmp.new)}", method_line(), ""]
    last = None
    for i, row in enumerate(table):
        group = row[:2]
        if i > 1 and group != last:
            lines.append("")
        last = group
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    lines += [""] + [f"note: {n}" for n in cmp.notes]
    if changed_only:
        lines.append(left_out_line(left_out))
    lines.append(summary_line(cmp))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def headline(row: Row) -> str:
    """One row as a line of the Markdown verdict: what, the values, how; the note."""
    scenario = f"{row.scenario} [{row.config}]" if row.config else row.scenario
    how = fmt_how(row)
    text = (f"`{scenario}` {row.backend}/{row.topology} {row.metric}: "
            f"{fmt_value(row.base, row.unit)} -> {fmt_value(row.new, row.unit)} "
            f"({fmt_change(row)}")
    text += f", {how})" if how and how != row.note else ")"
    return text + (f": {row.note}" if row.note else "")


def markdown(cmp: Comparison, changed_only: bool = False) -> str:
    rows, left_out = shown(cmp, changed_only)
    lines = ["## tcplab compare", "", f"**{summary_line(cmp)}**", ""]
    moved = False
    for verdict in (WORSE, BETTER, HOST):
        these = [r for r in cmp.rows if r.verdict == verdict]
        if these:
            moved = True
            lines += [f"### {verdict} ({len(these)})", ""]
            lines += [f"- {headline(r)}" for r in these] + [""]
    if not moved:
        lines += ["No row is worse, better or host differs.", ""]
    lines += [f"- base: `{describe(cmp.base)}`", f"- new: `{describe(cmp.new)}`",
              f"- {method_line()}", ""]
    title = "Every row" if not changed_only else "Every row but the same ones"
    lines += [f"### {title} ({len(rows)})", ""]
    if changed_only:
        lines += [_md(left_out_line(left_out)), ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        c = list(cells(r))
        if r.verdict in ("worse", "better"):
            c[6] = f"**{c[6]}**"
        lines.append("| " + " | ".join(_md(x) for x in c) + " |")
    lines.append("")
    lines += [f"- note: {_md(n)}" for n in cmp.notes]
    return "\n".join(lines) + "\n"


def _set_json(rs: ResultSet) -> dict[str, Any]:
    return {"path": str(rs.path), "commits": rs.commits(), "host_kinds": sorted(rs.host_kinds()),
            "repetitions": rs.repetitions()}


def as_json(cmp: Comparison, changed_only: bool = False) -> str:
    rows, left_out = shown(cmp, changed_only)
    doc = {"schema": COMPARE_SCHEMA, "base": _set_json(cmp.base), "new": _set_json(cmp.new),
           "method": {"test": "mann-whitney-u two-sided", "alpha": ALPHA,
                      "single_run_factor": SINGLE_RUN_FACTOR, "text": method_line()},
           "rows": [asdict(r) for r in rows], "changed_only": changed_only,
           "left_out": left_out, "notes": cmp.notes, "counts": cmp.counts(),
           "exit": cmp.exit_status()}
    return json.dumps(doc, indent=1) + "\n"
