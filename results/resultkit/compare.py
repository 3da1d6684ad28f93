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

Configurations (resultset.config_of): runs made with other settings (stack options, CPUs,
build) are other rows, listed as n/a against each other; a result that records no
configuration (older tcplab) is paired with the one configuration on the other side.

Host state (bench calibrate: figures taken before and after a suite): when a figure moved
between the two sets by more than its noise (the larger of either set's before/after spread
and HOST_NOISE_PCT), the host differs. Then a latency is judged by its ratio to the floor the
same set measured (the memif floor for a result with stack counters, a DPDK side; the kernel
loopback otherwise), where that floor is one that moved and held still within each set (a
floor that itself jumped between before and after says nothing of the runs between); what
would still be worse or better by no more than HOST_EXPLAINS times the host's largest move
is "host differs", with the figures in the notes, never a regression; a larger change keeps
its verdict (a host 30 % slower does not explain a round trip 20 times longer).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import stats
from .errors import BadInput
from .metrics import ALPHA, METRICS, SINGLE_RUN_FACTOR, Metric
from .resultset import Key, ResultSet

WORSE, BETTER, SAME, NA, HOST = "worse", "better", "same", "n/a", "host differs"
VERDICTS = (WORSE, BETTER, SAME, HOST, NA)
HOST_NOISE_PCT = 10.0
HOST_EXPLAINS = 2.0	# a change past this many times the host's largest move is the code's
# calibrate's figures, and whether a larger value is a slower host
HOST_FIGURES = {"memif_floor_p50_us": True, "loopback_p50_us": True, "memcpy_gbps": False,
                "cpu_loop_ms": True}


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
    config: str = ""	# the configuration compared (resultset.config_of)


@dataclass
class Comparison:
    base: ResultSet
    new: ResultSet
    rows: list[Row]
    notes: list[str]

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
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


def pairs(base: ResultSet, new: ResultSet) -> tuple[list[tuple[Key, Key]], list[str]]:
    """(base key, new key) to compare, by place (scenario, backend, topology) and
    configuration; a key with no partner is paired with itself on the side that lacks it."""
    out, notes = [], []
    places = sorted({k.place() for k in base.runs} | {k.place() for k in new.runs})
    for place in places:
        b = sorted(k for k in base.runs if k.place() == place)
        n = sorted(k for k in new.runs if k.place() == place)
        for k in [k for k in b if k in n]:
            out.append((k, k))
        b, n = [k for k in b if k not in n], [k for k in n if k not in b]
        if len(b) == 1 and len(n) == 1 and "" in (b[0].config, n[0].config):
            side = "base" if not b[0].config else "new"
            notes.append(f"{n[0] if side == 'base' else b[0]}: {side} records no configuration"
                         " (an older result): compared as the same one")
            out.append((b[0], n[0]))
            continue
        out += [(k, k) for k in b + n]
        if b and n:
            notes.append(f"{' '.join(place)}: configurations differ: base "
                         f"{' | '.join(k.config or '-' for k in b)}, new "
                         f"{' | '.join(k.config or '-' for k in n)}")
    return out, notes


def compare(base: ResultSet, new: ResultSet, force: bool = False) -> Comparison:
    notes = check_hosts(base, new, force)
    floors, host_notes = host_floors(base, new)
    pairing, pair_notes = pairs(base, new)
    notes += pair_notes + host_notes
    rows: list[Row] = []
    for bk, nk in pairing:
        b, n = base.runs.get(bk, []), new.runs.get(nk, [])
        if not b or not n:
            side = "new" if not n else "base"
            notes.append(f"{bk}: only in {'base' if side == 'new' else 'new'}")
            rows.append(_missing_row(bk, len(b), len(n), f"not in {side}"))
            continue
        if _params(b) != _params(n):
            notes.append(f"{bk}: parameters differ (duration, conns, vars, ...): "
                         "the comparison may not be like for like")
        for metric in METRICS:
            row = compare_metric(bk, metric, b, n)
            if row is not None:
                if bk != nk:
                    row.config = f"{bk.config or '-'} / {nk.config or '-'}"
                rows.append(row if floors is None else judge_host(row, metric, b, n, floors))
    return Comparison(base, new, rows, notes)


# ---- host state ----

def _spread_pct(values: list[float]) -> float:
    m = stats.median(values)
    return (max(values) - min(values)) / m * 100.0 if m else 0.0


def host_floors(base: ResultSet, new: ResultSet
                ) -> tuple[dict[str, tuple[float, float]] | None, list[str]]:
    """None when the hosts' states agree (or are not recorded on both sides); else the
    floors a latency may be judged against, (base, new) medians: the figures that moved
    beyond their noise while steady within each set (before and after within
    HOST_NOISE_PCT); and the notes that say which moved and by how much."""
    b, n = base.host_state(), new.host_state()
    if not b or not n:
        return None, ([] if not b and not n else
                      [f"host state recorded in {'base' if b else 'new'} only: not compared"])
    figures: dict[str, Any] = {}
    notes: list[str] = []
    moved: list[tuple[float, float]] = []
    for name, slower_up in HOST_FIGURES.items():
        bv = [c[name] for c in b if c.get(name) is not None]
        nv = [c[name] for c in n if c.get(name) is not None]
        if not bv or not nv:
            continue
        bm, nm = stats.median(bv), stats.median(nv)
        noise = max(HOST_NOISE_PCT, _spread_pct(bv), _spread_pct(nv))
        change = change_pct(bm, nm)
        if change is not None and abs(change) > noise:
            slower = (change > 0) == slower_up
            notes.append(f"host differs: {name} base {bm:g}, new {nm:g} ({change:+.0f}%, "
                         f"noise {noise:.0f}%): the new host was {'slower' if slower else 'faster'}")
            moved.append((bm, nm))
            if noise <= HOST_NOISE_PCT:	# a floor only where it held still in each set
                figures[name] = (bm, nm)
    figures["_moved"] = moved	# type: ignore[assignment]
    return (figures if notes else None), notes


def _floor(runs: list[dict[str, Any]], figures: dict[str, tuple[float, float]]
           ) -> tuple[float, float] | None:
    """The floor a result's latency rests on: a DPDK side's (its stack counters), the
    memif floor; a kernel side's, the loopback round trip."""
    dpdk = any(r.get("stack_counters") for r in runs)
    return figures.get("memif_floor_p50_us" if dpdk else "loopback_p50_us")


def judge_host(row: Row, metric: Metric, b_runs: list[dict[str, Any]],
               n_runs: list[dict[str, Any]], figures: dict[str, tuple[float, float]]) -> Row:
    """A row again, the hosts' states having differed (module docstring)."""
    floor = _floor(b_runs, figures) if metric.unit == "ns" else None
    if floor and row.base and row.new is not None and floor[0] and floor[1]:
        ratio_change = change_pct(row.base / floor[0], row.new / floor[1])
        d = _direction(metric, row.base / floor[0], row.new / floor[1])
        row.method = "floor ratio"
        row.change_pct = ratio_change
        beyond = ratio_change is not None and abs(ratio_change) > row.threshold_pct
        row.verdict = (BETTER if d > 0 else WORSE) if d != 0 and beyond else SAME
        row.note = f"as a ratio to the floor ({floor[0]:g} -> {floor[1]:g} us)"
    elif row.verdict in (WORSE, BETTER):
        moved = max(abs(change_pct(b, n) or 0.0) for b, n in figures["_moved"])
        if row.change_pct is None or abs(row.change_pct) > HOST_EXPLAINS * moved:
            row.note = (f"beyond what the host's move ({moved:.0f}%) explains "
                        f"({HOST_EXPLAINS:g}x)")
            return row
        row.note = f"would be {row.verdict}: the host's state moved (notes)"
        row.verdict = HOST
    return row


def _params(runs: list[dict[str, Any]]) -> set[str]:
    out = set()
    for r in runs:
        p = dict(r.get("params") or {})
        p.pop("overrides", None)
        out.add(repr(sorted(p.items())))
    return out


def _missing_row(key: Key, nb: int, nn: int, note: str) -> Row:
    return Row(key.scenario, key.backend, key.topology, "-", "", None, None, None, NA,
               "missing", 0.0, None, nb, nn, note=note, config=key.config)


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
              None, NA, "missing", metric.threshold_pct, None, len(bv), len(nv), bv, nv,
              config=key.config)
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
