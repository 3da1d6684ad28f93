"""history_html.py - `tcplab history --html DIR`: history.html and one PNG per (scenario,
backend/topology), drawn with the report's matplotlib helpers (draw.py) and laid out with
its page pieces (html.py): self-contained, the PNGs embedded as data: URIs, the numbers as
JSON (the same tcplab.history/1 document as --json, plus the plots).

A plot has a line per metric, each divided by its series' median (so latency, rates and
counts share one axis; a series whose median is 0 by its largest value), x the run number
with its commit, and each change point marked: a dashed line in the metric's colour between
the last run before and the first run after it, a ring on the first run after, and the
relative change of the medians written along the dashed line.
"""
from __future__ import annotations

import html as htmllib
import json
from pathlib import Path
from typing import Any

from . import stats
from .errors import BadInput
from .history import History, Series
from .history_text import changes_cell, document, summary_line
from .plotdata import _slug
from .render import fmt_value

MAX_TICKS = 30

PAGE_STYLE = """
td.worse { color: #a31515; font-weight: bold; } td.better { color: #176117; }
"""


def _scale(s: Series) -> tuple[float, str]:
    med = stats.median(s.values)
    if med != 0:
        return abs(med), f"1 = median {fmt_value(med, s.metric.unit)}"
    top = max(abs(v) for v in s.values)
    if top == 0:
        return 1.0, "0 in every run"
    return top, f"1 = largest {fmt_value(top, s.metric.unit)}"


def plots(h: History) -> list[dict[str, Any]]:
    """One plot per (scenario, backend, topology): what it draws, as numbers."""
    commit_of = {r.number: r.label() for r in h.runs}
    out: list[dict[str, Any]] = []
    by_key: dict[Any, list[Series]] = {}
    for s in h.series:
        by_key.setdefault(s.key, []).append(s)
    for key, group in by_key.items():
        lines = []
        for s in group:
            scale, scale_text = _scale(s)
            lines.append({
                "metric": s.metric.name, "unit": s.metric.unit, "scale": scale,
                "scale_text": scale_text, "runs": s.runs, "values": s.values,
                "too_short": s.too_short,
                "change_points": [{"run": c.run, "previous_run": c.previous_run,
                                   "text": f"{s.metric.name} "
                                           + ("from 0" if c.change_pct is None
                                              else f"{c.change_pct:+.0f}%"),
                                   "direction": c.direction} for c in s.changes]})
        numbers = sorted({n for s in group for n in s.runs})
        found = [f"{s.metric.name} at run {c.run}" for s in group for c in s.changes]
        out.append({"kind": "history", "file": f"history-{_slug(key)}.png",
                    "title": f"history: {key} (value / its series' median)",
                    "key": {"scenario": key.scenario, "backend": key.backend,
                            "topology": key.topology},
                    "runs": numbers, "ticks": [f"{n}\n{commit_of[n][:7]}" for n in numbers],
                    "change_points": found, "lines": lines})
    return out


def draw_history(plot: dict[str, Any], path: Path) -> None:
    from . import draw	# matplotlib only when a page is asked for
    plt = draw.plt
    colors = draw._colors([ln["metric"] for ln in plot["lines"]])
    n = len(plot["runs"])
    fig, ax = plt.subplots(figsize=(min(max(8.0, 0.45 * n + 3), 20.0), 4.8))
    at_x: dict[float, int] = {}	# change points already marked at an x: labels side by side
    for ln in plot["lines"]:
        color = colors[ln["metric"]]
        ys = [v / ln["scale"] for v in ln["values"]]
        label = f"{ln['metric']} ({ln['scale_text']})" + (", too short" if ln["too_short"]
                                                           else "")
        ax.plot(ln["runs"], ys, marker="o", markersize=3, linewidth=1.3, color=color,
                label=label)
        y_of = dict(zip(ln["runs"], ys))
        for cp in ln["change_points"]:
            x = (cp["run"] + cp["previous_run"]) / 2
            ax.axvline(x, color=color, linestyle="--", linewidth=1.2, alpha=0.85)
            ax.plot([cp["run"]], [y_of[cp["run"]]], marker="o", markersize=10,
                    markerfacecolor="none", markeredgewidth=1.8, color=color)
            k = at_x[x] = at_x.get(x, -1) + 1
            ax.annotate(cp["text"], xy=(x, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3 + 10 * k, -4), textcoords="offset points", rotation=90,
                        va="top", ha="left", fontsize="small", color=color,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.75})
    step = max(1, -(-n // MAX_TICKS))
    ax.set_xticks(plot["runs"][::step])
    ax.set_xticklabels(plot["ticks"][::step], fontsize="x-small")
    if n == 1:
        ax.set_xlim(plot["runs"][0] - 1, plot["runs"][0] + 1)
    ax.set_xlabel("run (commit)")
    ax.set_ylabel("value / the series' median")
    ax.set_title(plot["title"], fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="best")
    draw._save(fig, path)


def _esc(text: Any) -> str:
    return htmllib.escape(str(text), quote=True)


def runs_table(h: History) -> str:
    rows = ["<table id=runs><tr><th>run</th><th>commit</th><th>started_at</th>"
            "<th>directory</th></tr>"]
    for r in h.runs:
        rows.append(f"<tr><td class=num>{r.number}</td><td title=\"{_esc(', '.join(r.commits))}"
                    f"\">{_esc(r.label())}</td><td>{_esc(r.started_at)}</td>"
                    f"<td>{_esc(r.path)}</td></tr>")
    return "\n".join(rows) + "</table>"


def changes_table(h: History) -> str:
    rows = ["<table id=changes><tr><th>scenario</th><th>backend</th><th>metric</th>"
            "<th>runs</th><th>change points</th></tr>"]
    for s in h.series:
        cls = ("worse" if any(c.direction == "worse" for c in s.changes)
               else "better" if s.changes else "")
        rows.append(f"<tr><td>{_esc(s.key.scenario)}</td>"
                    f"<td>{_esc(s.key.backend)}/{_esc(s.key.topology)}</td>"
                    f"<td>{_esc(s.metric.name)}</td><td class=num>{len(s.values)}</td>"
                    f"<td class=\"{cls}\">{_esc(changes_cell(s))}</td></tr>")
    return "\n".join(rows) + "</table>"


def write(h: History, out: Path) -> Path:
    """history.html and its PNGs in @out; the page's path."""
    from . import html	# the report's page pieces
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--html {out}: cannot create: {e.strerror}") from None
    ps = plots(h)
    for p in ps:
        draw_history(p, out / p["file"])
    doc = {**document(h), "plots": ps}
    data = json.dumps(doc).replace("</", "<\\/")
    title = f"tcplab history: {len(h.runs)} runs"
    parts = [
        "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
        f"<title>{_esc(title)}</title><style>{html.STYLE}{PAGE_STYLE}</style>",
        f"<script>{html.SCRIPT}</script></head><body>", f"<h1>{_esc(title)}</h1>",
        f"<h2>Runs</h2><p>Ordered {_esc(h.order_text)}.</p>", runs_table(h),
        "<h2>Change points</h2>", f"<p>{_esc(doc['method']['text'])}.</p>",
        f"<p>{_esc(summary_line(h))}</p>", changes_table(h),
        *[f"<p>note: {_esc(n)}</p>" for n in h.notes],
        "<h2>Series</h2>",
        "<p>One plot per scenario and backend, a line per metric divided by its series' "
        "median; a change point is a dashed line in the metric's colour before the first "
        "run after it (ringed), labelled with the change of the medians.</p>",
        *[html.plot_figure(p, out / p["file"]) for p in ps],
        f'<script type="application/json" id="plot-data">{data}</script>', "</body></html>"]
    page = out / "history.html"
    page.write_text("\n".join(parts) + "\n")
    return page
