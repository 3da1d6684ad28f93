"""lossplot.py - the goodput-against-loss plot: for each workload a result set ran at more
than one loss rate, one curve per backend/topology, goodput (metrics.throughput_bps) at
each loss rate, with the Linux baseline's curve as the reference.

A run's loss rate is read from its params.impair (the SPEC of stack/dpdk/README.md, "The
impairment stage"); no impair (null, "", only seed=, or a result older than the field) is
loss 0. Only plain independent loss is on this plot: a spec with any other kind (delay,
dup, reorder, corrupt, rate) or Gilbert-Elliott loss (loss=ge(...)) says nothing about the
goodput at one loss rate, so such runs are left out, and each plot lists them with why.

The family rule (which runs share a plot): runs whose params say the same workload, that
is the same program, conns, pacing, rate, nodelay and vars (every `param` of the scenario),
whatever their scenario's name, duration or description; so stream_send and its loss
variants stream_send_loss01, _loss1 and _loss5 are one family as long as their files
differ only in their impair line, and a `tcplab run stream_send --impair loss=1%` joins
them. Within a family, the spec's placement splits it further: where the frames are lost
is counted per direction of the path, stages that lose at the rate P on the frames from
the engine to the SUT (engine:tx, sut:rx) and on those back (sut:tx, engine:rx); so
`engine:loss=1%` and `sut:loss=1%` (one stage each way) share a plot, while `loss=1%`
(both sides: two stages each way, about 2% on the path) is another. A spec whose loss
stages have different rates is left out. Loss-0 runs belong to every placement of their
workload. A family gets a plot when it has a run at a loss rate above 0. A curve is one
backend, topology and configuration (resultset.config_of: the --stack-opt list, each side's
CPUs, the build), as compare's rows are: runs made otherwise measured something else. Its
label names the configuration only where two curves of one backend/topology need it.

The reference: the Linux baseline is recognised from the result itself, not from a
backend's name: the harness writes `reference: true` when both sides ran on the sockets
backend that is built in (the Linux baseline); in a result older than that field, the
kernel backend's version op reporting `linux <release>` (versions.stack), which no stack
under test does (a plug-in over Linux sockets such as stack/example says its own name
first). Its curve is drawn first and
apart; where a set has no baseline run in a family, the caption says so.

The x axis is categorical: the loss rates the runs have, in order, evenly spaced and
labelled with their value (0%, 0.1%, 1%, 5% for `tcplab bench impair`). A log axis has no
place for 0 and a linear one crowds 0, 0.1 and 1 into a sliver beside 5; the lines between
the points show the trend, not values between the rates. The y axis is logarithmic, as
loss cuts a TCP flow's rate by orders of magnitude (the Mathis bound goes as 1/sqrt(p));
where a run had no goodput at all (a stack stalled in its retransmission timeout for the
whole window) it is symlog, linear below the smallest goodput's decade, so that run shows
at 0 instead of vanishing.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .resultset import Key, ResultSet
from .stats import median

METRIC = "throughput_bps"
UNIT, SCALE = "Gbit/s", 1e-9
WORKLOAD = ("program", "conns", "pacing", "rate", "nodelay", "vars")
SIDES, DIRS = ("engine", "sut"), ("tx", "rx")
# the direction of the path a stage's frames travel: engine->SUT (0) or SUT->engine (1)
PATH = {("engine", "tx"): 0, ("sut", "rx"): 0, ("sut", "tx"): 1, ("engine", "rx"): 1}
PCT = re.compile(r"^([0-9]*\.?[0-9]+)%$")
Curve = tuple[str, str, str]	# backend, topology, configuration (Key.config)


class NotPlainLoss(ValueError):
    """An impair spec that is not plain independent loss (the message says why)."""


def split_kinds(text: str) -> list[str]:
    """KIND (',' KIND)*, where a Gilbert-Elliott value holds commas in its parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur]


def read_loss(spec: str | None) -> tuple[Decimal, tuple[int, int] | None]:
    """(loss rate in %, placement) of a params.impair; placement is None at loss 0, else
    (stages losing on engine->SUT, stages losing on SUT->engine). NotPlainLoss otherwise."""
    stages: dict[tuple[str, str], Decimal] = {}
    for part in (p.strip() for p in (spec or "").split(";")):
        if not part or part.startswith("seed="):
            continue
        words = part.split(":")
        sides, dirs = SIDES, DIRS
        if words[0] in SIDES:
            sides, words = (words[0],), words[1:]
        if len(words) > 1 and words[0] in DIRS:
            dirs, words = (words[0],), words[1:]
        if len(words) != 1:
            raise NotPlainLoss(f"cannot read part {part!r}")
        for kind in split_kinds(words[0]):
            name, _, value = kind.partition("=")
            if name != "loss":
                raise NotPlainLoss(f"{name} (not loss)")
            if value.startswith("ge("):
                raise NotPlainLoss("Gilbert-Elliott loss")
            m = PCT.match(value)
            try:
                pct = Decimal(m.group(1)) if m else None
            except InvalidOperation:
                pct = None
            if pct is None or pct > 100:
                raise NotPlainLoss(f"cannot read {kind!r}")
            for s in sides:
                for d in dirs:
                    stages[(s, d)] = pct
    lossy = {k: v for k, v in stages.items() if v > 0}
    if not lossy:
        return Decimal(0), None
    if len(set(lossy.values())) > 1:
        raise NotPlainLoss("loss rates differ between sides or directions")
    count = [0, 0]
    for k in lossy:
        count[PATH[k]] += 1
    return next(iter(lossy.values())).normalize(), (count[0], count[1])


def placement_text(placement: tuple[int, int]) -> str:
    fwd, rev = placement
    return f"lost at {fwd} stage(s) engine->SUT, {rev} SUT->engine"


def runs_on_linux(result: dict[str, Any]) -> bool:
    """The result's backend is the Linux baseline: the result says so (`reference`); a result
    older than that field, when its version op said `linux ...`."""
    if "reference" in result:
        return bool(result["reference"])
    stack = str((result.get("versions") or {}).get("stack") or "")
    return stack.split(" ", 1)[0] == "linux"


def workload(result: dict[str, Any]) -> str:
    params = result.get("params") or {}
    return json.dumps({k: params.get(k) for k in WORKLOAD}, sort_keys=True)


def pct_text(p: float) -> str:
    return f"{p:g}%"


def _point(loss: Decimal, runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    vals = [float(r["metrics"][METRIC]) * SCALE for _, r in runs]
    return {"loss_pct": float(loss), "median": median(vals), "min": min(vals),
            "max": max(vals), "values": vals, "sources": [src for src, _ in runs],
            "scenarios": sorted({r["scenario"] for _, r in runs}),
            "impair": sorted({str((r.get("params") or {}).get("impair") or "") for _, r in runs})}


def _set_runs(rs: ResultSet) -> list[tuple[Key, str, dict[str, Any]]]:
    return [(key, str(rs.path / f), r) for key in sorted(rs.runs)
            for f, r in zip(rs.files.get(key, []), rs.runs[key])
            if (r.get("metrics") or {}).get(METRIC) is not None]


def _skipped_text(rs: ResultSet, scenarios: set[str]) -> str:
    """What the suite's manifest says it skipped among @scenarios, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for s in ((rs.manifest or {}).get("skipped_runs") or []):
        if s.get("scenario") in scenarios:
            by_reason.setdefault(str(s.get("reason")), []).append(
                f"{s.get('backend')} {s.get('scenario')}")
    for s in ((rs.manifest or {}).get("skipped_backends") or []):
        by_reason.setdefault(str(s.get("reason")), []).append(f"{s.get('backend')} (all)")
    return "; ".join(f"{', '.join(w)}: {why}" for why, w in by_reason.items())


def _caption(plot: dict[str, Any], rs: ResultSet, excluded: list[dict[str, Any]]) -> str:
    scen = sorted({s for c in plot["curves"] for p in c["points"] for s in p["scenarios"]})
    text = [f"Goodput ({METRIC}) of {', '.join(scen)}, {placement_text(plot['placement'])}: "
            "each curve a backend/topology, the median of its runs at each loss rate, the "
            "error bar from the slowest to the fastest run; the loss axis is categorical."]
    refs = [c for c in plot["curves"] if c["reference"]]
    if not refs:
        text.append("No Linux baseline runs in this set for this workload: no reference "
                    "curve.")
    for c in refs:
        have = {p["loss_pct"] for p in c["points"]}
        missing = [pct_text(x) for x in plot["loss_pct"] if x not in have]
        text.append(f"Reference: {c['label']}, the Linux baseline (versions.stack "
                    "says linux)" + (f"; it has no runs at {', '.join(missing)}" if missing
                                     else "") + ".")
    skipped = _skipped_text(rs, set(scen))
    if skipped:
        text.append(f"The suite skipped: {skipped}.")
    if excluded:
        why = sorted({e["why"] for e in excluded})
        text.append(f"Left out: {len(excluded)} run(s) of this workload whose impairment is "
                    f"not plain loss ({'; '.join(why)}).")
    return " ".join(text)


def family_plots(rs: ResultSet, label: str, index: int) -> list[dict[str, Any]]:
    """The loss plots of one result set: one per (workload, placement) with a lossy run."""
    # workload -> placement -> curve -> loss -> runs
    fam: dict[str, dict[Any, dict[Curve, dict[Decimal, list]]]] = {}
    zero: dict[str, dict[Curve, list]] = {}
    excluded: dict[str, list[dict[str, Any]]] = {}
    linux: dict[Curve, bool] = {}
    for key, src, r in _set_runs(rs):
        w = workload(r)
        spec = (r.get("params") or {}).get("impair")
        try:
            loss, placement = read_loss(spec)
        except NotPlainLoss as e:
            excluded.setdefault(w, []).append({"source": src, "impair": spec, "why": str(e)})
            continue
        curve = (key.backend, key.topology, key.config)
        linux[curve] = linux.get(curve, True) and runs_on_linux(r)
        if placement is None:
            zero.setdefault(w, {}).setdefault(curve, []).append((src, r))
        else:
            by_curve = fam.setdefault(w, {}).setdefault(placement, {})
            by_curve.setdefault(curve, {}).setdefault(loss, []).append((src, r))
    plots = []
    for w in sorted(fam):
        for placement in sorted(fam[w]):
            curves = fam[w][placement]
            for curve, runs in zero.get(w, {}).items():
                curves.setdefault(curve, {})[Decimal(0)] = runs
            plots.append(_plot(rs, label, index, w, placement, curves, linux,
                               excluded.get(w, [])))
    return plots


def _plot(rs: ResultSet, label: str, index: int, w: str, placement: tuple[int, int],
          curves: dict[Curve, dict[Decimal, list]], linux: dict[Curve, bool],
          excluded: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    places = [(b, t) for b, t, _ in curves]
    for (backend, topology, config), by_loss in curves.items():
        ref = linux[(backend, topology, config)]
        tail = f" [{config or 'no configuration recorded'}]" \
            if places.count((backend, topology)) > 1 else ""
        out.append({"backend": backend, "topology": topology, "config": config,
                    "reference": ref, "label": f"{backend}/{topology}{tail}",
                    "points": [_point(x, by_loss[x]) for x in sorted(by_loss)]})
    out.sort(key=lambda c: (not c["reference"], c["backend"], c["topology"],
                            c["config"]))
    rates = sorted({p["loss_pct"] for c in out for p in c["points"]})
    first = min((p["loss_pct"], p["scenarios"][0]) for c in out for p in c["points"])[1]
    slug = f"{first.replace('/', '_')}-{placement[0]}x{placement[1]}-set{index + 1}"
    plot = {"kind": "loss", "file": f"loss-{slug}.png",
            "set": label, "title": f"goodput against loss rate: {first} family, set {label}",
            "metric": METRIC, "unit": UNIT, "scale": SCALE, "workload": json.loads(w),
            "placement": list(placement), "x_axis": "categorical", "loss_pct": rates,
            **y_axis([v for c in out for p in c["points"] for v in p["values"]]),
            "reference": [c["label"] for c in out if c["reference"]],
            "curves": out, "excluded": excluded}
    plot["caption"] = _caption(plot, rs, excluded)
    return plot


def y_axis(values: list[float]) -> dict[str, Any]:
    """Log when every run has goodput; symlog when some have none (linear from 0 up to the
    decade below the smallest goodput, log above: a stalled run still shows, at 0); linear
    when none has any."""
    positive = [v for v in values if v > 0]
    if not positive:
        return {"y_scale": "linear"}
    if len(positive) == len(values):
        return {"y_scale": "log"}
    return {"y_scale": "symlog", "y_linthresh": 10.0 ** math.floor(math.log10(min(positive)))}


def loss_plots(sets: list[ResultSet], labels: list[str]) -> list[dict[str, Any]]:
    """Every set's loss plots, set by set; file names made unique."""
    plots = [p for i, (rs, lb) in enumerate(zip(sets, labels)) for p in family_plots(rs, lb, i)]
    seen: dict[str, int] = {}
    for p in plots:
        n = seen[p["file"]] = seen.get(p["file"], 0) + 1
        if n > 1:
            p["file"] = p["file"].replace(".png", f"-{n}.png")
    return plots
