"""history_text.py - a History as a Markdown table (stdout) or JSON (tcplab.history/1)."""
from __future__ import annotations

import json
from typing import Any

from .history import HISTORY_SCHEMA, Change, History, Series, method_doc, method_line
from .render import fmt_value

COLUMNS = ("scenario", "backend", "metric", "runs", "change points")


def fmt_pct(pct: float | None) -> str:
    return "from 0" if pct is None else f"{pct:+.1f}%"


def fmt_change(c: Change, unit: str) -> str:
    return (f"run {c.run} ({c.commit[:10]}{'-dirty' if c.commit.endswith('-dirty') else ''})"
            f": {fmt_value(c.before, unit)} -> {fmt_value(c.after, unit)} "
            f"({fmt_pct(c.change_pct)}, {c.direction}, p={c.p_value:.2g})")


def changes_cell(s: Series) -> str:
    if s.too_short:
        return f"too short: {len(s.values)} run(s), {s.min_runs} needed"
    if not s.changes:
        return "none"
    return "; ".join(fmt_change(c, s.metric.unit) for c in s.changes)


def counts(h: History) -> dict[str, int]:
    ch = [c for s in h.series for c in s.changes]
    return {"series": len(h.series), "too_short": sum(s.too_short for s in h.series),
            "change_points": len(ch), "worse": sum(c.direction == "worse" for c in ch),
            "better": sum(c.direction == "better" for c in ch)}


def summary_line(h: History) -> str:
    c = counts(h)
    return (f"{c['series']} series ({c['too_short']} too short), {c['change_points']} change "
            f"point(s): {c['worse']} worse, {c['better']} better")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(h: History) -> str:
    lines = ["## tcplab history", "",
             f"- {len(h.runs)} run(s), ordered {h.order_text}", f"- {method_line()}", "",
             "| run | commit | started_at | directory |", "|---|---|---|---|"]
    for r in h.runs:
        lines.append(f"| {r.number} | {r.label()} | {r.started_at} | {_md(str(r.path))} |")
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for s in h.series:
        cells = (s.key.scenario, f"{s.key.backend}/{s.key.topology}", s.metric.name,
                 str(len(s.values)), changes_cell(s))
        lines.append("| " + " | ".join(_md(x) for x in cells) + " |")
    lines.append("")
    lines += [f"- note: {_md(n)}" for n in h.notes]
    lines.append(summary_line(h))
    return "\n".join(lines) + "\n"


def series_doc(s: Series) -> dict[str, Any]:
    return {"scenario": s.key.scenario, "backend": s.key.backend, "topology": s.key.topology,
            "metric": s.metric.name, "unit": s.metric.unit,
            "lower_is_better": s.metric.lower_is_better, "runs": s.runs, "values": s.values,
            "repetitions": s.reps, "too_short": s.too_short, "min_runs": s.min_runs,
            "change_points": [{"run": c.run, "commit": c.commit, "previous_run": c.previous_run,
                               "previous_commit": c.previous_commit, "before": c.before,
                               "after": c.after, "change_pct": c.change_pct,
                               "direction": c.direction, "p_value": c.p_value,
                               "statistic": c.statistic} for c in s.changes]}


def document(h: History) -> dict[str, Any]:
    return {"schema": HISTORY_SCHEMA, "order": h.order, "order_text": h.order_text,
            "method": {**method_doc(), "text": method_line()},
            "runs": [{"run": r.number, "commit": r.commit, "commits": r.commits,
                      "started_at": r.started_at, "path": str(r.path)} for r in h.runs],
            "series": [series_doc(s) for s in h.series], "notes": h.notes,
            "counts": counts(h)}


def as_json(h: History) -> str:
    return json.dumps(document(h), indent=1) + "\n"
