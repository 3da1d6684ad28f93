"""compare.py - two result sets in, one row per (scenario, backend, topology, metric) out,
each with a verdict: better, worse, same (within noise), or n/a.

The verdict of a measured metric, with n and m repetitions:
  - both sides large enough for the rank test to reach ALPHA (n, m >= 4 with no ties;
    5 and 5 by default): worse/better when the median moved beyond the metric's threshold
    in that direction AND the two-sided Mann-Whitney U test gives p < ALPHA; else same;
  - fewer runs (a single run on either side, or 3 and 3): no usable spread, so the change
    alone decides against the threshold widened SINGLE_RUN_FACTOR times.
Errors: worse when the mean per run rose at all, better when it fell.
A key present on one side only is listed (verdict n/a) and does not fail the comparison.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import stats
from .errors import BadInput
from .metrics import ALPHA, METRICS, SINGLE_RUN_FACTOR, Metric
from .resultset import Key, ResultSet

WORSE, BETTER, SAME, NA = "worse", "better", "same", "n/a"


@dataclass
class Row:
    scenario: str
    backend: str
    topology: str
    metric: str
    unit: str
    base: float | None
    new: float | None
    change_pct: float | None
    verdict: str
    method: str	# "rank test", "single run", "count", "missing"
    threshold_pct: float
    p_value: float | None
    n_base: int
    n_new: int
    base_values: list[float] = field(default_factory=list)
    new_values: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Comparison:
    base: ResultSet
    new: ResultSet
    rows: list[Row]
    notes: list[str]

    def counts(self) -> dict[str, int]:
        out = {WORSE: 0, BETTER: 0, SAME: 0, NA: 0}
        for r in self.rows:
            out[r.verdict] += 1
        return out

    def exit_status(self) -> int:
        return 1 if any(r.verdict == WORSE for r in self.rows) else 0

    def rows_as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rows]


def check_hosts(base: ResultSet, new: ResultSet, force: bool) -> list[str]:
    """Refuse results from different host kinds (BadInput) unless @force; notes else."""
    notes = []
    for rs in (base, new):
        kinds = rs.host_kinds()
        if len(kinds) > 1:
            msg = f"{rs.label} mixes host kinds: {' | '.join(sorted(kinds))}"
            if not force:
                raise BadInput(msg + " (use --force to compare anyway)")
            notes.append("forced: " + msg)
    bk, nk = sorted(base.host_kinds()), sorted(new.host_kinds())
    if bk != nk:
        msg = f"results from different host kinds: base {' | '.join(bk)}, new {' | '.join(nk)}"
        if not force:
            raise BadInput(msg + " (refused: timings do not compare across hosts; "
                                 "--force to compare anyway)")
        notes.append("forced: " + msg)
    bkern = {r["host"].get("kernel") for r in base.all_results()}
    nkern = {r["host"].get("kernel") for r in new.all_results()}
    if bkern != nkern:
        notes.append(f"kernel differs: base {', '.join(sorted(map(str, bkern)))}, "
                     f"new {', '.join(sorted(map(str, nkern)))}")
    return notes


def compare(base: ResultSet, new: ResultSet, force: bool = False) -> Comparison:
    notes = check_hosts(base, new, force)
    rows: list[Row] = []
    for key in sorted(set(base.runs) | set(new.runs)):
        b, n = base.runs.get(key, []), new.runs.get(key, [])
        if not b or not n:
            side = "new" if not n else "base"
            notes.append(f"{key}: only in {'base' if side == 'new' else 'new'}")
            rows.append(_missing_row(key, len(b), len(n), f"not in {side}"))
            continue
        if _params(b) != _params(n):
            notes.append(f"{key}: parameters differ (duration, conns, vars, ...): "
                         "the comparison may not be like for like")
        for metric in METRICS:
            row = compare_metric(key, metric, b, n)
            if row is not None:
                rows.append(row)
    return Comparison(base, new, rows, notes)


def _params(runs: list[dict[str, Any]]) -> set[str]:
    out = set()
    for r in runs:
        p = dict(r.get("params") or {})
        p.pop("overrides", None)
        out.add(repr(sorted(p.items())))
    return out


def _missing_row(key: Key, nb: int, nn: int, note: str) -> Row:
    return Row(key.scenario, key.backend, key.topology, "-", "", None, None, None, NA,
               "missing", 0.0, None, nb, nn, note=note)


def _values(metric: Metric, runs: list[dict[str, Any]]) -> list[float]:
    return [v for v in (metric.get(r) for r in runs) if v is not None]


def change_pct(base: float, new: float) -> float | None:
    if base == 0:
        return 0.0 if new == 0 else None
    return (new - base) / abs(base) * 100.0


def compare_metric(key: Key, metric: Metric, b_runs: list[dict[str, Any]],
                   n_runs: list[dict[str, Any]]) -> Row | None:
    """The row of one metric; None for a rate the scenario does not measure (0 on both)."""
    bv, nv = _values(metric, b_runs), _values(metric, n_runs)
    if metric.rate and not any(bv) and not any(nv):
        return None
    row = Row(key.scenario, key.backend, key.topology, metric.name, metric.unit, None, None,
              None, NA, "missing", metric.threshold_pct, None, len(bv), len(nv), bv, nv)
    if not bv or not nv:
        row.note = "no value on " + ("either side" if not bv and not nv
                                     else "base" if not bv else "new")
        return row
    if metric.unit == "count":
        return _count_verdict(row, bv, nv)
    row.base, row.new = stats.median(bv), stats.median(nv)
    row.change_pct = change_pct(row.base, row.new)
    if stats.min_two_sided_p(len(bv), len(nv)) < ALPHA:
        return _rank_verdict(row, metric, bv, nv)
    return _single_verdict(row, metric)


def _direction(metric: Metric, base: float, new: float) -> int:
    """+1 when new is better than base, -1 when worse, 0 when equal."""
    if new == base:
        return 0
    return 1 if (new < base) == metric.lower_is_better else -1


def _beyond(row: Row, threshold: float) -> bool:
    assert row.base is not None and row.new is not None
    return row.change_pct is None or abs(row.change_pct) > threshold


def _rank_verdict(row: Row, metric: Metric, bv: list[float], nv: list[float]) -> Row:
    test = stats.mann_whitney(bv, nv)
    row.method, row.p_value = "rank test", test.p
    assert row.base is not None and row.new is not None
    d = _direction(metric, row.base, row.new)
    if d != 0 and _beyond(row, metric.threshold_pct) and test.p < ALPHA:
        row.verdict = BETTER if d > 0 else WORSE
    else:
        row.verdict = SAME
        row.note = ("within noise" if test.p >= ALPHA else "below threshold")
    return row


def _single_verdict(row: Row, metric: Metric) -> Row:
    row.method = "single run" if min(row.n_base, row.n_new) == 1 else "few runs"
    row.threshold_pct = metric.threshold_pct * SINGLE_RUN_FACTOR
    assert row.base is not None and row.new is not None
    d = _direction(metric, row.base, row.new)
    if d != 0 and _beyond(row, row.threshold_pct):
        row.verdict = BETTER if d > 0 else WORSE
    else:
        row.verdict = SAME
        row.note = "within the widened threshold"
    return row


def _count_verdict(row: Row, bv: list[float], nv: list[float]) -> Row:
    row.method = "count"
    row.base, row.new = sum(bv) / len(bv), sum(nv) / len(nv)
    row.change_pct = change_pct(row.base, row.new)
    row.verdict = WORSE if row.new > row.base else BETTER if row.new < row.base else SAME
    return row
