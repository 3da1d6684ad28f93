"""report.py - `tcplab report DIR...`: report.html, one PNG per plot and plots.json (the
numbers each plot shows, tcplab.report/1) in one output directory. With two sets or more
the page opens with compare's verdict on the first two (where compare refuses them, e.g.
other host kinds, the page says why instead: the report is still written)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import draw, html, plotdata, render
from .compare import Comparison, compare
from .errors import BadInput
from .places import Places
from .resultset import ResultSet

REPORT_SCHEMA = "tcplab.report/1"
CONFORMANCE_SCHEMA = "tcplab.conformance/1"


def default_out(first: Path, places: Places) -> Path:
    """DIR/report for a run directory; results/out/report-<time> for a baseline (kept clean)."""
    try:
        first.resolve().relative_to(places.baselines.resolve())
    except ValueError:
        return first / "report"
    return places.root / "results" / "out" / time.strftime("report-%Y%m%dT%H%M%SZ",
                                                           time.gmtime())


def load_conformance(path: Path, given: bool) -> dict[str, Any] | None:
    if not path.exists():
        if given:
            raise BadInput(f"--conformance {path}: no such file")
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BadInput(f"conformance {path}: not readable JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("schema") != CONFORMANCE_SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise BadInput(f"conformance {path}: schema {got!r}, expected {CONFORMANCE_SCHEMA!r}")
    return doc


def write(sets: list[ResultSet], out: Path, conformance_path: Path,
          conformance_given: bool = False) -> Path:
    conformance = load_conformance(conformance_path, conformance_given)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {out}: cannot create: {e.strerror}") from None
    labels, plots = plotdata.all_plots(sets)
    verdict = first_two(sets)
    for plot in plots:
        draw.draw(plot, labels, out)
    sidecar = {"schema": REPORT_SCHEMA,
               "sets": [{"label": lb, "path": str(rs.path), "commits": rs.commits(),
                         "host_kinds": sorted(rs.host_kinds())} for rs, lb in zip(sets, labels)],
               "conformance": str(conformance_path) if conformance is not None else None,
               "verdict": verdict_json(verdict, labels), "plots": plots}
    (out / "plots.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    title = "tcplab report: " + ", ".join(labels)
    page = out / "report.html"
    page.write_text(html.page(title, sets, labels, plots, out, sidecar, conformance,
                              verdict))
    return page


def first_two(sets: list[ResultSet]) -> Comparison | str | None:
    """compare of the first two sets; the refusal's message when compare refuses them;
    None with one set."""
    if len(sets) < 2:
        return None
    try:
        return compare(sets[0], sets[1])
    except BadInput as e:
        return str(e)


def verdict_json(verdict: Comparison | str | None, labels: list[str]) -> dict[str, Any] | None:
    if verdict is None:
        return None
    doc: dict[str, Any] = {"base": labels[0], "new": labels[1]}
    if isinstance(verdict, str):
        return {**doc, "refused": verdict}
    return {**doc, "refused": None, "summary": render.summary_line(verdict),
            "counts": verdict.counts(), "exit": verdict.exit_status(),
            "changed": [{"scenario": r.scenario, "backend": r.backend,
                         "topology": r.topology, "config": r.config, "metric": r.metric,
                         "verdict": r.verdict, "change_pct": r.change_pct}
                        for r in verdict.rows if r.verdict != "same"]}
