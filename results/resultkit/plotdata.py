"""plotdata.py - the numbers each report plot shows, computed from result sets without
matplotlib, so that the report can write them next to the PNGs (plots.json) and a test can
check them against the result files they came from.

Spectrum: the latency at a ladder of percentiles (HdrHistogram's percentile distribution),
from each run's buckets with the harness's own definition (results/README.md, latency_ns):
nearest rank ceil(p/100 * count) in exact decimal arithmetic, reported as the bucket's
highest value clamped to [min, max]. Bars: one plot per scenario, a small panel per rate on
its own scale; median of the repetitions, min and max as the error bar (no distribution
assumed, the same spirit as compare's rank test), and the ratio to the first set's
median. Loss: goodput against loss rate, one curve per backend, the Linux baseline as the
reference (lossplot.py).
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import hlog, lossplot
from .resultset import Key, ResultSet

ANCHORS = ("50", "90", "99", "99.9", "99.99", "99.999")
BAR_METRICS = (("throughput_bps", "throughput", "Gbit/s", 1e-9),
               ("tps", "transactions/s", "1/s", 1.0),
               ("connections_per_s", "connections/s", "1/s", 1.0))


def ladder(count: int) -> list[str]:
    """Percentiles (as decimal strings) from 0 to the deepest one @count samples resolve:
    ten per decade of 1/(1-p), plus the usual anchors."""
    out = {"0"} | {a for a in ANCHORS if 1 / (1 - float(a) / 100) <= count}
    k = 1
    while 10 ** (k / 10) <= count and k <= 60:
        out.add(f"{100 * (1 - 10 ** (-k / 10)):.6f}".rstrip("0").rstrip("."))
        k += 1
    return sorted(out, key=Fraction)


def percentile_from_buckets(lat: dict[str, Any], p: str) -> int:
    """The percentile @p of a latency_ns object, as the harness defines it."""
    buckets = lat["buckets"]
    count = sum(c for _, c in buckets)
    rank = min(max(math.ceil(Fraction(p) * count / 100), 1), count)
    seen = 0
    for value, c in buckets:
        seen += c
        if seen >= rank:
            return int(min(max(value, lat["min"]), lat["max"]))
    raise ValueError("bucket counts do not reach the rank")


def spectrum(result: dict[str, Any]) -> dict[str, Any] | None:
    lat = result["metrics"]["latency_ns"]
    if not lat.get("count") or not lat.get("buckets"):
        return None
    pcts = ladder(sum(c for _, c in lat["buckets"]))
    return {"percentiles": pcts, "latency_ns": [percentile_from_buckets(lat, p) for p in pcts]}


def set_label(rs: ResultSet, index: int) -> str:
    commits = rs.commits()
    short = commits[0][:10] + ("-dirty" if commits[0].endswith("-dirty") else "")
    if len(commits) > 1:
        short += f"+{len(commits) - 1}"
    return f"{index + 1}: {short} {rs.path.name}"


def spectrum_plots(sets: list[ResultSet], labels: list[str]) -> list[dict[str, Any]]:
    """One plot per (scenario, backend, topology): every run of every set."""
    keys = sorted({k for rs in sets for k in rs.runs})
    plots = []
    for key in keys:
        series = []
        for rs, label in zip(sets, labels):
            for fname, result in zip(rs.files.get(key, []), rs.runs.get(key, [])):
                sp = spectrum(result)
                if sp is not None:
                    series.append({"set": label, "source": str(rs.path / fname), **sp})
        if series:
            plots.append({"kind": "spectrum", "file": f"spectrum-{_slug(key)}.png",
                          "title": f"latency spectrum: {key}", "key": _key_dict(key),
                          "series": series})
    return plots


def timeline_plots(sets: list[ResultSet], labels: list[str]) -> list[dict[str, Any]]:
    """One plot per (scenario, backend, topology) whose runs left an interval log beside
    their result (NAME.hlog: hlog.py): each set's first such run, p50 and p99 a second over
    the whole run (warm-up and drain included)."""
    keys = sorted({k for rs in sets for k in rs.runs})
    plots = []
    for key in keys:
        series = []
        for rs, label in zip(sets, labels):
            for fname in rs.files.get(key, []):
                log = rs.path / (Path(fname).stem + ".hlog")
                if log.is_file():
                    series.append({"set": label, "source": str(log),
                                   "intervals": hlog.read(log)})
                    break
        if series:
            plots.append({"kind": "timeline", "file": f"timeline-{_slug(key)}.png",
                          "title": f"latency over time: {key}", "key": _key_dict(key),
                          "series": series})
    return plots


def bar_plots(sets: list[ResultSet], labels: list[str]) -> list[dict[str, Any]]:
    """One plot per scenario, a small panel per rate it measured (throughput,
    transactions/s, connections/s), each on its own scale: a bar per set for each
    backend/topology and configuration. With two sets or more, a later set's bar has its
    ratio to the first set's (the base) median."""
    keys = sorted({k for rs in sets for k in rs.runs})
    plots = []
    for scenario in sorted({k.scenario for k in keys}):
        panels = []
        for field, title, unit, scale in BAR_METRICS:
            groups = []
            for key in (k for k in keys if k.scenario == scenario):
                bars = [_bar(rs, label, key, field, scale) for rs, label in zip(sets, labels)]
                bars = [b for b in bars if b is not None]
                if any(b["median"] for b in bars):
                    _ratios(bars, labels[0])
                    groups.append({"key": _key_dict(key), "bars": bars})
            if groups:
                panels.append({"metric": field, "title": title, "unit": unit, "scale": scale,
                               "groups": groups})
        if panels:
            plots.append({"kind": "bars", "file": f"bars-{_slug_part(scenario)}.png",
                          "scenario": scenario,
                          "title": f"{scenario}: median of the runs, min..max",
                          "panels": panels})
    return plots


def _ratios(bars: list[dict[str, Any]], base_label: str) -> None:
    """Each bar's median over the base set's (None without a base bar or with a 0 one)."""
    base = next((b for b in bars if b["set"] == base_label), None)
    for b in bars:
        b["ratio"] = b["median"] / base["median"] if base and base["median"] else None


def _bar(rs: ResultSet, label: str, key: Key, field: str,
         scale: float) -> dict[str, Any] | None:
    runs = rs.runs.get(key, [])
    vals = [float(r["metrics"][field]) * scale for r in runs
            if r["metrics"].get(field) is not None]
    if not vals:
        return None
    s = sorted(vals)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"set": label, "values": vals, "median": med, "min": s[0], "max": s[-1],
            "sources": [str(rs.path / f) for f in rs.files.get(key, [])]}


def _key_dict(key: Key) -> dict[str, str]:
    return {"scenario": key.scenario, "backend": key.backend, "topology": key.topology,
            "config": key.config}


def _slug_part(text: str) -> str:
    return text.replace("/", "_")


def _slug(key: Key) -> str:
    return "-".join(_slug_part(p) for p in (key.scenario, key.backend, key.topology))


def all_plots(sets: list[ResultSet]) -> tuple[list[str], list[dict[str, Any]]]:
    labels = [set_label(rs, i) for i, rs in enumerate(sets)]
    return labels, (spectrum_plots(sets, labels) + timeline_plots(sets, labels)
                    + bar_plots(sets, labels) + lossplot.loss_plots(sets, labels))


def relative(path: str, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return path
