"""history.py - `tcplab history DIR...`: the runs of a series of commits, per scenario,
backend/topology and metric the series of per-run values, and its change points
(history_cpd: e-divisive with a permutation test).

A run is one run directory (a `tcplab bench` suite run, a baseline, `tcplab run --out`
output); its value of a metric is the median of its repetitions (errors: the mean per run),
as compare takes them. The runs are put in the order of their commits in the git history of
the source tree (`git rev-list --topo-order --reverse HEAD`, runs of one commit by
started_at); when a run's commit is not in that history (or there is no git), every run is
ordered by started_at instead and a note says why.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history_cpd as cpd
from . import stats
from .compare import change_pct
from .errors import BadInput
from .metrics import METRICS, Metric, by_name
from .places import Places, is_run_dir, resolve
from .resultset import META_FILES, Key, ResultSet, host_kind, load

HISTORY_SCHEMA = "tcplab.history/1"
SEARCH_DEPTH = 3	# results/runs/<commit>/<time>/ lies two levels below results/runs


@dataclass
class Run:
    """One run directory of the history; @number counts from 1 in the order used."""
    path: Path
    rs: ResultSet
    commits: list[str]	# as the results say, "-dirty" appended where dirty
    started_at: str
    number: int = 0
    position: int | None = None	# index in the git history, oldest first

    @property
    def commit(self) -> str:
        """The commit the run stands for: its newest in the order used (the last listed)."""
        return self.commits[-1]

    def label(self) -> str:
        c = self.commit
        short = c[:10] + ("-dirty" if c.endswith("-dirty") else "")
        return short + (f"+{len(self.commits) - 1}" if len(self.commits) > 1 else "")


@dataclass
class Change:
    """A change point of a series, ready to print."""
    run: int	# the number of the first run after the change
    commit: str
    previous_run: int
    previous_commit: str
    before: float
    after: float
    change_pct: float | None
    direction: str	# worse, better, changed (the medians are equal)
    p_value: float
    statistic: float


@dataclass
class Series:
    key: Key
    metric: Metric
    runs: list[int]	# run numbers with a value, in order
    values: list[float]
    reps: list[int]
    too_short: bool = False
    min_runs: int = 0
    changes: list[Change] = field(default_factory=list)


@dataclass
class History:
    runs: list[Run]
    series: list[Series]
    order: str	# "git" or "time"
    order_text: str
    notes: list[str]


# ---- finding and ordering the runs -------------------------------------------------------

def _run_dirs(path: Path, depth: int) -> list[Path]:
    if is_run_dir(path):
        return [path]
    if depth == 0:
        return []
    try:
        subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as e:
        raise BadInput(f"DIR {path}: cannot list: {e.strerror}") from None
    return [r for d in subdirs for r in _run_dirs(d, depth - 1)]


def collect(specs: list[str], places: Places, notes: list[str]) -> list[Path]:
    """The run directories @specs name: a run directory itself, every run directory at most
    SEARCH_DEPTH levels below a directory (results/runs, results/runs/<commit>,
    results/baselines), or what a baseline name or commit means to compare. No @specs: the
    run store (results/runs). A run directory found below another that holds no result
    (a suite run that made none) is passed over with a note in @notes."""
    if not specs:
        if not places.runs.is_dir():
            raise BadInput(f"no runs: {places.runs} does not exist (run `tcplab bench quick` "
                           "on some commits, or name run directories)")
        specs = [str(places.runs)]
    out: list[Path] = []
    seen: set[Path] = set()
    empty: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = _run_dirs(path, SEARCH_DEPTH)
            if not found:
                raise BadInput(f"DIR {spec}: no runs: no result files (*.json) in it or in "
                               f"the directories below it")
            if found != [path]:	# found by the walk: a run that made no result is passed over
                empty += [d for d in found if not _has_results(d)]
                found = [d for d in found if _has_results(d)]
        else:
            found = [resolve(spec, places, "DIR")]
        for d in found:
            if d.resolve() not in seen:
                seen.add(d.resolve())
                out.append(d)
    if not out:
        raise BadInput(f"no runs: the {len(empty)} run directories found hold no result "
                       f"files, only {', '.join(META_FILES)} (such as {empty[0]})")
    notes.extend(f"passed over {d}: no result files in it" for d in empty)
    return out


def _has_results(d: Path) -> bool:
    return any(f.name not in META_FILES for f in d.glob("*.json"))


def _started_at(rs: ResultSet) -> str:
    if rs.manifest and rs.manifest.get("started_at"):
        return str(rs.manifest["started_at"])
    times = [str(r["started_at"]) for r in rs.all_results() if r.get("started_at")]
    return min(times, default="")


def load_runs(paths: list[Path]) -> list[Run]:
    runs = []
    for p in paths:
        rs = load(p, "run")
        runs.append(Run(p, rs, rs.commits(), _started_at(rs)))
    return runs


def check_hosts(runs: list[Run], force: bool) -> list[str]:
    """Runs of different host kinds do not make one series: refused unless @force."""
    kinds: dict[str, int] = {}
    for run in runs:
        for kind in {host_kind(r) for r in run.rs.all_results()}:
            kinds[kind] = kinds.get(kind, 0) + 1
    if len(kinds) <= 1:
        return []
    msg = ("runs from different host kinds: "
           + " | ".join(f"{k} ({n} run{'s' if n > 1 else ''})" for k, n in sorted(kinds.items())))
    if not force:
        raise BadInput(msg + " (refused: timings do not compare across hosts; --force to "
                             "use them anyway)")
    return ["forced: " + msg]


def git_history(root: Path) -> list[str] | None:
    """Every commit of HEAD's history, oldest first (topological); None without git."""
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-list", "--topo-order", "--reverse",
                               "HEAD"], capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.split()


def _position(commit: str, index: dict[str, int], hashes: list[str]) -> int | None:
    c = commit.removesuffix("-dirty").lower()
    if c in index:
        return index[c]
    if len(c) >= 7:	# an abbreviated hash
        hits = [i for i, h in enumerate(hashes) if h.startswith(c)]
        if len(hits) == 1:
            return hits[0]
    return None


def order_runs(runs: list[Run], root: Path, mode: str = "auto") -> tuple[str, str, list[str]]:
    """Sort @runs in place and number them; return the order used ("git" or "time"), its
    description, and notes."""
    notes: list[str] = []
    order = "time"
    if mode != "time":
        hashes = git_history(root)
        if hashes is None:
            why = f"no git history at {root}"
        else:
            index = {h: i for i, h in enumerate(hashes)}
            unknown = []
            for run in runs:
                pos = [_position(c, index, hashes) for c in run.commits]
                if any(p is None for p in pos):
                    unknown.append(run)
                    continue
                order_pos = sorted(zip(pos, run.commits))
                run.position = order_pos[-1][0]
                run.commits = [c for _, c in order_pos]
            why = "" if not unknown else (
                f"{len(unknown)} run(s) of commits not in the history of HEAD at {root}, "
                f"such as {unknown[0].commit[:12]} ({unknown[0].path})")
        if not why:
            order = "git"
        elif mode == "git":
            raise BadInput(f"--order git: {why}")
        else:
            notes.append(f"ordered by started_at: {why}")
    if order == "git":
        runs.sort(key=lambda r: (r.position, r.started_at, str(r.path)))
        text = ("by the commits' order in the git history (git rev-list --topo-order "
                "HEAD), runs of one commit by started_at")
    else:
        runs.sort(key=lambda r: (r.started_at, str(r.path)))
        text = "by started_at (the manifest's, else the earliest result's)"
    for i, run in enumerate(runs):
        run.number = i + 1
        if len(run.commits) > 1:
            notes.append(f"run {run.number} ({run.path}) mixes commits "
                         f"{', '.join(c[:12] for c in run.commits)}: it stands for the last")
    return order, text, notes


# ---- the series and their change points --------------------------------------------------

def pick_metrics(names: list[str] | None) -> list[Metric]:
    if not names:
        return list(METRICS)
    out = []
    for name in names:
        try:
            metric = by_name(name)
        except KeyError:
            raise BadInput(f"unknown metric {name!r} (known: "
                           f"{', '.join(m.name for m in METRICS)})") from None
        if metric not in out:
            out.append(metric)
    return out


def per_run_value(metric: Metric, results: list[dict[str, Any]]) -> tuple[float, int] | None:
    """The run's value of @metric and how many repetitions gave one: the median, or the
    mean for the errors count (compare's choice), None when no repetition has a value."""
    vals = [v for v in (metric.get(r) for r in results) if v is not None]
    if not vals:
        return None
    if metric.unit == "count":
        return sum(vals) / len(vals), len(vals)
    return stats.median(vals), len(vals)


def build_series(runs: list[Run], metrics: list[Metric], scenarios: list[str] | None,
                 backends: list[str] | None) -> list[Series]:
    keys = sorted({k for run in runs for k in run.rs.runs})
    for what, wanted, have in (("scenario", scenarios, {k.scenario for k in keys}),
                               ("backend", backends, {k.backend for k in keys})):
        for w in wanted or []:
            if w not in have:
                raise BadInput(f"no runs of {what} {w!r} (the runs have: "
                               f"{', '.join(sorted(have))})")
    keys = [k for k in keys if (not scenarios or k.scenario in scenarios)
            and (not backends or k.backend in backends)]
    out = []
    for key in keys:
        for metric in metrics:
            s = Series(key, metric, [], [], [])
            for run in runs:
                got = per_run_value(metric, run.rs.runs.get(key, []))
                if got is not None:
                    s.runs.append(run.number)
                    s.values.append(got[0])
                    s.reps.append(got[1])
            if not s.values or (metric.rate and not any(s.values)):
                continue	# never measured, or a rate this scenario does not have
            out.append(s)
    return out


def _direction(metric: Metric, before: float, after: float) -> str:
    if after == before:
        return "changed"
    return "worse" if (after > before) == metric.lower_is_better else "better"


def find_changes(s: Series, runs: list[Run]) -> None:
    """Run the change-point method on @s and describe what it found."""
    det = cpd.detect(s.values)
    s.too_short, s.min_runs = det.too_short, cpd.min_runs()
    cuts = [c.index for c in det.change_points]
    bounds = [0] + cuts + [len(s.values)]
    by_number = {r.number: r for r in runs}
    for j, cp in enumerate(det.change_points):
        before = stats.median(s.values[bounds[j]:bounds[j + 1]])
        after = stats.median(s.values[bounds[j + 1]:bounds[j + 2]])
        at, prev = s.runs[cp.index], s.runs[cp.index - 1]
        s.changes.append(Change(at, by_number[at].commit, prev, by_number[prev].commit,
                                before, after, change_pct(before, after),
                                _direction(s.metric, before, after), cp.p_value, cp.statistic))


def history(specs: list[str], places: Places, metrics: list[str] | None = None,
            scenarios: list[str] | None = None, backends: list[str] | None = None,
            order: str = "auto", force: bool = False) -> History:
    chosen = pick_metrics(metrics)
    notes: list[str] = []
    runs = load_runs(collect(specs, places, notes))
    notes += check_hosts(runs, force)
    used, text, more = order_runs(runs, places.root, order)
    notes += more
    series = build_series(runs, chosen, scenarios, backends)
    if not series:
        raise BadInput("no series: none of the metrics asked for has a value in these runs")
    for s in series:
        find_changes(s, runs)
    return History(runs, series, used, text, notes)


def method_doc() -> dict[str, Any]:
    return {"name": "e-divisive", "paper": "Matteson & James 2014, JASA 109(505)",
            "exponent": cpd.EXPONENT, "permutations": cpd.PERMUTATIONS, "p0": cpd.P0,
            "min_size": cpd.MIN_SIZE, "seed": cpd.SEED, "min_runs": cpd.min_runs()}


def method_line() -> str:
    return (f"change points: e-divisive (Matteson & James 2014), exponent {cpd.EXPONENT:g}, "
            f"permutation test of {cpd.PERMUTATIONS} shuffles (seed {cpd.SEED}), p <= "
            f"{cpd.P0:g}, at least {cpd.MIN_SIZE} runs on each side; a series of fewer than "
            f"{cpd.min_runs()} runs is too short; a run's value is the median of its "
            "repetitions (errors: the mean)")
