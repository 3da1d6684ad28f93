"""html.py - the report page: one self-contained HTML file (PNGs embedded as data: URIs,
the plotted numbers embedded as JSON), no network access, no external script.

In order: with two sets or more, the verdict (compare of the first two: the summary, the
rows that are not same, every row folded away, the notes); the sets; the latency spectra;
a small throughput plot per scenario side by side; the loss plots; the conformance table.

The inline script only reports what the browser did: on load it marks <body> with how many
plots decoded (data-plots-loaded), how many failed (data-plots-failed) and script errors
(data-errors), so a headless browser's DOM dump shows whether the page rendered.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from . import render
from .compare import SAME, Comparison
from .resultset import ResultSet

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.plot { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.panels { display: flex; flex-wrap: wrap; gap: 0 1em; align-items: flex-start; }
.panels figure { margin: 0; max-width: 100%; }
tr.worse td.verdict { color: #a31515; font-weight: bold; }
tr.better td.verdict { color: #176117; font-weight: bold; }
tr.host-differs td.verdict, tr.na td.verdict { color: #8a6d00; }
p.summary { font-size: 1.1em; font-weight: bold; }
.match { color: #176117; } .divergence, .oracle-unstable { color: #a31515; font-weight: bold; }
.listed-divergence { color: #8a6d00; }
"""

SCRIPT = """
window.__errors = 0;
window.addEventListener('error', function () { window.__errors += 1; }, true);
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.plot'), ok = 0, bad = 0;
  imgs.forEach(function (im) { if (im.complete && im.naturalWidth > 0) ok++; else bad++; });
  var data = JSON.parse(document.getElementById('plot-data').textContent);
  document.body.dataset.plotsExpected = String(data.plots.length);
  document.body.dataset.plotsLoaded = String(ok);
  document.body.dataset.plotsFailed = String(bad);
  document.body.dataset.errors = String(window.__errors);
  document.body.dataset.rendered = 'yes';
});
"""


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def sets_table(sets: list[ResultSet], labels: list[str]) -> str:
    rows = ["<table><tr><th>set</th><th>directory</th><th>commit</th><th>host kind</th>"
            "<th>runs per scenario</th></tr>"]
    for rs, label in zip(sets, labels):
        rows.append(f"<tr><td>{esc(label)}</td><td>{esc(rs.path)}</td>"
                    f"<td>{esc(', '.join(rs.commits()))}</td>"
                    f"<td>{esc(' | '.join(sorted(rs.host_kinds())))}</td>"
                    f"<td class=num>{rs.repetitions()}</td></tr>")
    return "\n".join(rows) + "</table>"


def plot_figure(plot: dict[str, Any], png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    caption = f'<br>{esc(plot["caption"])}' if plot.get("caption") else ""
    return (f'<figure><img class="plot" id="{esc(plot["file"])}" data-file="{esc(plot["file"])}"'
            f' alt="{esc(plot["title"])}" src="data:image/png;base64,{data}">'
            f'<figcaption>{esc(plot["title"])} (<a href="{esc(plot["file"])}">'
            f'{esc(plot["file"])}</a>){caption}</figcaption></figure>')


def _summarize(trace: list[dict[str, Any]] | None, limit: int = 4) -> str:
    bits = [f"{e.get('op')}={e.get('err')}" for e in trace or []
            if isinstance(e, dict) and "err" in e and "op" in e]
    return ", ".join(bits[:limit]) + (" ..." if len(bits) > limit else "") or "all ok"


def conformance_columns(doc: dict[str, Any]) -> list[str]:
    """The stacks compared: the document's own list, else (older documents) the backends of
    its records in the order they first appear."""
    if doc.get("stacks") is not None:
        return [str(b) for b in doc["stacks"]]
    return list(dict.fromkeys(str(o.get("backend")) for case in doc.get("cases", [])
                              for o in case.get("others") or []))


def conformance_cell(o: dict[str, Any] | None) -> str:
    """One stack's verdict on one case: its class colours it, its reason is the tooltip;
    where it is not a match, what the stack did follows."""
    if o is None:
        return "<td></td>"
    verdict = str(o.get("verdict"))
    did = "" if verdict == "match" or o.get("trace") is None else \
        f": {_summarize(o['trace'].get('sut'))}"
    return (f"<td class=\"{esc(verdict)}\" title=\"{esc(o.get('reason') or '')}\">"
            f"{esc(verdict)}{esc(did)}</td>")


def conformance_table(doc: dict[str, Any]) -> str:
    """tcplab.conformance/1 (python/tcplab/conform.py): one row per case, a column for Linux
    (the oracle) and one per stack."""
    names = conformance_columns(doc)
    rows = ["<table id=conformance><tr><th>case</th><th>Linux</th>"
            + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"]
    for case in doc.get("cases", []):
        linux = _summarize((case.get("kernel") or {}).get("sut"))
        if case.get("verdict") != "match":
            linux = f"{case.get('verdict')}: {case.get('reason')}"
        by = {str(o.get("backend")): o for o in case.get("others") or []}
        rows.append(f"<tr><td title=\"{esc(case.get('description', ''))}\">"
                    f"{esc(case.get('name'))}</td><td>{esc(linux)}</td>"
                    + "".join(conformance_cell(by.get(n)) for n in names) + "</tr>")
    return "\n".join(rows) + "</table>"


def _verdict_rows(rows: list[Any], table_id: str) -> str:
    out = [f"<table id={table_id}><tr>" + "".join(f"<th>{esc(c)}</th>"
                                                  for c in render.COLUMNS) + "</tr>"]
    for r in rows:
        c = render.cells(r)
        klass = {"host differs": "host-differs", "n/a": "na"}.get(r.verdict, r.verdict)
        tds = "".join(f"<td class=verdict>{esc(x)}</td>" if i == 6 else
                      f"<td class=num>{esc(x)}</td>" if 3 <= i <= 5 else f"<td>{esc(x)}</td>"
                      for i, x in enumerate(c))
        note = f' title="{esc(r.note)}"' if r.note else ""
        out.append(f"<tr class={klass}{note}>{tds}</tr>")
    return "\n".join(out) + "</table>"


def verdict_section(cmp: Comparison | str, labels: list[str]) -> str:
    """compare of the first two sets (a str: why it was not compared)."""
    head = (f'<section id=verdict><h2>Verdict: {esc(labels[1])} against {esc(labels[0])}'
            f'</h2>')
    more = (f"<p>Sets {esc(', '.join(labels[2:]))} are drawn below, not compared.</p>"
            if len(labels) > 2 else "")
    if isinstance(cmp, str):
        return (f"{head}<p class=refused>Not compared: {esc(cmp)}</p>{more}"
                "</section>")
    changed = [r for r in cmp.rows if r.verdict != SAME]
    parts = [head, f"<p class=summary>{esc(render.summary_line(cmp))}</p>",
             f"<p>base: {esc(render.describe(cmp.base))}<br>new: {esc(render.describe(cmp.new))}"
             f"<br>{esc(render.method_line())}</p>", more]
    if changed:
        parts.append(_verdict_rows(changed, "verdict-changed"))
    else:
        parts.append("<p>Every row is same.</p>")
    parts.append(f"<details><summary>Every row ({len(cmp.rows)})</summary>"
                 f"{_verdict_rows(cmp.rows, 'verdict-all')}</details>")
    if cmp.notes:
        parts.append("<ul class=notes>" + "".join(f"<li>{esc(n)}</li>" for n in cmp.notes)
                     + "</ul>")
    return "\n".join(parts + ["</section>"])


def page(title: str, sets: list[ResultSet], labels: list[str], plots: list[dict[str, Any]],
         out_dir: Path, sidecar: dict[str, Any], conformance: dict[str, Any] | None,
         verdict: Comparison | str | None = None) -> str:
    spectra = [plot_figure(p, out_dir / p["file"]) for p in plots if p["kind"] == "spectrum"]
    bars = [plot_figure(p, out_dir / p["file"]) for p in plots if p["kind"] == "bars"]
    timeline = [plot_figure(p, out_dir / p["file"]) for p in plots if p["kind"] == "timeline"]
    loss = [plot_figure(p, out_dir / p["file"]) for p in plots if p["kind"] == "loss"]
    data = json.dumps(sidecar).replace("</", "<\\/")
    ratio = (f" A later set's bar is labelled with its ratio to the median of set "
             f"{esc(labels[0])}." if len(labels) > 1 else "")
    parts = [
        "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
        f"<title>{esc(title)}</title><style>{STYLE}</style>",
        f"<script>{SCRIPT}</script></head><body>", f"<h1>{esc(title)}</h1>"]
    if verdict is not None:
        parts.append(verdict_section(verdict, labels))
    parts += [
        "<h2>Result sets</h2>", sets_table(sets, labels),
        "<h2>Latency percentile spectrum</h2>",
        "<p>Each line is one run; colour is the result set. The x axis is 1/(1-p) on a "
        "log scale, so the tail (99%, 99.9%, ...) gets as much room as the median.</p>",
        *spectra]
    if timeline:
        parts += ["<h2>Latency over time</h2>",
                  "<p>From each set's first run that left its interval log (NAME.hlog, "
                  "HdrHistogram's format): the p50 (solid) and p99 (dashed) of each second "
                  "of the run, warm-up and drain included.</p>", *timeline]
    parts += [
        "<h2>Throughput, transactions/s and connections/s</h2>",
        "<p>One plot per scenario, a panel per rate it measured, each on its own scale. "
        "Bars are the median of the repetitions; error bars span the slowest and the "
        f"fastest run.{ratio}</p>", "<div class=panels id=rates>", *bars, "</div>"]
    if loss:
        parts += ["<h2>Goodput against loss rate</h2>",
                  "<p>One plot per workload run at several loss rates (params.impair, plain "
                  "loss only), one curve per backend: the median of the runs, error bars "
                  "from the slowest to the fastest. The black curve is the Linux baseline, "
                  "the reference. The loss axis is categorical.</p>", *loss]
    if conformance is not None:
        parts += ["<h2>Conformance: the kernel vs each stack</h2>",
                  conformance_table(conformance)]
    parts += [f'<script type="application/json" id="plot-data">{data}</script>',
              "</body></html>"]
    return "\n".join(parts) + "\n"
