"""report.py - `tcplab report DIR...`: report.html, one PNG per plot and plots.json (the
numbers each plot shows, tcplab.report/1) in one output directory."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import draw, html, plotdata
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
    for plot in plots:
        draw.draw(plot, labels, out)
    sidecar = {"schema": REPORT_SCHEMA,
               "sets": [{"label": lb, "path": str(rs.path), "commits": rs.commits(),
                         "host_kinds": sorted(rs.host_kinds())} for rs, lb in zip(sets, labels)],
               "conformance": str(conformance_path) if conformance is not None else None,
               "plots": plots}
    (out / "plots.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    title = "tcplab report: " + ", ".join(labels)
    page = out / "report.html"
    page.write_text(html.page(title, sets, labels, plots, out, sidecar, conformance))
    return page
