"""test_history.py - tcplab history (results/, issue 17 part 3): change points over the
runs of a series of commits.

The method (resultkit/history_cpd.py, e-divisive with a permutation test) is tested on
synthetic series: its statistic against the paper's formula computed directly, steps at
known runs (found there, +-1), two steps, pure noise of several shapes (nothing found), a
series too short. The command is tested on run directories written here from a recorded
result (results/fixtures/base/), with known steps in chosen metrics, run in a git history
made here (the order of the runs), its one-line errors and its HTML page.
"""
from __future__ import annotations

import copy
import json
import math
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from resultkit import history_cpd as cpd

ROOT = Path(__file__).resolve().parent.parent
RESULTS_CLI = ROOT / "results" / "tcplab_results.py"
TEMPLATES = ROOT / "results" / "fixtures" / "base"
CLI_TIMEOUT_S = 120.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---- synthetic series --------------------------------------------------------------------

def noise(shape: str, n: int, seed: int) -> list[float]:
    """@n values of stationary noise of @shape around 100."""
    rng = random.Random(seed)
    if shape == "normal":
        return [rng.gauss(100, 5) for _ in range(n)]
    if shape == "heavy":	# Student's t with 2 degrees of freedom: infinite variance
        return [100 + 3 * rng.gauss(0, 1) / math.sqrt((rng.gauss(0, 1) ** 2
                                                       + rng.gauss(0, 1) ** 2) / 2)
                for _ in range(n)]
    if shape == "skewed":	# a latency-like right tail
        return [100 * rng.lognormvariate(0, 0.3) for _ in range(n)]
    if shape == "outliers":	# one run in ten disturbed by the machine: 3x
        return [rng.gauss(100, 2) * (3 if rng.random() < 0.1 else 1) for _ in range(n)]
    if shape == "counts":	# an errors-like count: mostly 0
        return [float(rng.choice((0, 0, 0, 0, 1, 2))) for _ in range(n)]
    if shape == "constant":
        return [100.0] * n
    raise ValueError(shape)


def with_steps(n: int, steps: dict[int, float], seed: int, sd: float = 1.0) -> list[float]:
    """Normal noise (@sd) around 100, plus each step of @steps (index: size) from its index on."""
    rng = random.Random(seed)
    return [100 + rng.gauss(0, sd) + sum(size for at, size in steps.items() if i >= at)
            for i in range(n)]


def found(values: list[float]) -> list[int]:
    return [c.index for c in cpd.detect(values).change_points]


def q_by_definition(x: list[float], y: list[float]) -> float:
    """Q(X, Y) of Matteson & James (2014) with exponent 1, straight from the formula."""
    n, m = len(x), len(y)
    between = sum(abs(a - b) for a in x for b in y)
    wx = sum(abs(x[i] - x[k]) for i in range(n) for k in range(i + 1, n))
    wy = sum(abs(y[j] - y[k]) for j in range(m) for k in range(j + 1, m))
    e = 2 * between / (n * m) - wx / math.comb(n, 2) - wy / math.comb(m, 2)
    return n * m / (n + m) * e


# ---- the method --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_statistic_is_the_papers_definition(seed: int) -> None:
    rng = random.Random(seed)
    z = [rng.choice((rng.gauss(0, 1), rng.gauss(3, 2), float(rng.randint(0, 3))))
         for _ in range(rng.randint(6, 13))]
    m = cpd.MIN_SIZE
    best, at = -math.inf, -1
    for tau in range(m, len(z) - m + 1):
        for kappa in range(tau + m, len(z) + 1):
            q = q_by_definition(z[:tau], z[tau:kappa])
            if q > best + 1e-12:
                best, at = q, tau
    got, got_at = cpd.best_split(z)
    assert got == pytest.approx(best, rel=1e-9, abs=1e-12)
    assert got_at == at


def test_fewest_runs_is_where_a_perfect_step_can_first_be_found() -> None:
    assert cpd.min_runs() == 14	# 2 / C(13, 6) = 0.0012 > 0.001 >= 2 / C(14, 7) = 0.0006
    assert cpd.min_runs(0.01, 3) == 10 and cpd.min_runs(0.05, 3) == 8
    step = [1.0 + 0.01 * i for i in range(7)] + [5.0 + 0.01 * i for i in range(7)]
    assert found(step) == [7]	# a perfect step between halves of 14 runs: found
    short = step[1:]	# 13 runs: too short, whatever they hold
    det = cpd.detect(short)
    assert det.too_short and det.change_points == [] and det.candidates_tested == 0


@pytest.mark.parametrize("n,at,size,seed", [
    (20, 10, 6.0, 1), (20, 10, -6.0, 2), (20, 14, 6.0, 3), (20, 15, -8.0, 4),
    (30, 5, 6.0, 5), (30, 22, 4.0, 6), (40, 20, 3.0, 7), (40, 34, -8.0, 8)])
def test_one_step_is_found_at_its_run(n: int, at: int, size: float, seed: int) -> None:
    got = found(with_steps(n, {at: size}, seed))
    assert len(got) == 1, f"step of {size} sd at {at} of {n}: found {got}"
    assert abs(got[0] - at) <= 1, f"step at {at}, found at {got[0]}"


@pytest.mark.parametrize("steps,seed", [({10: 6.0, 20: 6.0}, 1), ({10: 6.0, 20: -6.0}, 2),
                                        ({8: -5.0, 25: 8.0}, 3), ({12: 4.0, 24: -8.0}, 4)])
def test_two_steps_are_both_found(steps: dict[int, float], seed: int) -> None:
    got = found(with_steps(32, steps, seed))
    assert len(got) == 2, f"steps {steps}: found {got}"
    for want, have in zip(sorted(steps), got):
        assert abs(have - want) <= 1, f"steps {steps}: found {got}"


@pytest.mark.parametrize("shape", ["normal", "heavy", "skewed", "outliers", "counts",
                                   "constant"])
@pytest.mark.parametrize("n", [14, 30])
def test_pure_noise_has_no_change_point(shape: str, n: int) -> None:
    """Seeds 1..5 of each shape, the first five, not chosen. At P0 = 0.001 about one
    pure-noise series in a thousand shows a change point (the next test checks that
    rate), so these 60 have about a 6% chance to hold one between them."""
    for seed in range(1, 6):
        det = cpd.detect(noise(shape, n, seed))
        assert not det.too_short
        assert det.change_points == [], (f"{shape} noise, n={n}, seed {seed}: change "
                                         f"points {det.change_points}")


def test_false_alarms_stay_near_the_significance_level() -> None:
    """600 series of noise (normal and heavy-tailed): about P0 * 600 = 0.6 false alarms
    expected; more than 4 has a probability below 0.5% if the test holds its level."""
    alarms = sum(bool(found(noise(shape, 16, seed))) for shape in ("normal", "heavy")
                 for seed in range(100, 400))
    assert alarms <= 4, f"{alarms} of 600 pure-noise series had a change point"


def test_detection_is_deterministic() -> None:
    z = with_steps(24, {12: 2.5}, 11)
    first = cpd.detect(z)
    cpd.detect(noise("normal", 30, 3))	# another series between does not change it
    assert cpd.detect(z) == first


# ---- the command: run directories made here ----------------------------------------------

def template(scenario: str) -> dict[str, Any]:
    return json.loads((TEMPLATES / f"{scenario}.kernel.r01.json").read_text())


Effect = Callable[[str, int], dict[str, float]]	# (scenario, run index) -> metric factors


def write_runs(store: Path, commits: list[str], started: list[str], effect: Effect,
               scenarios: tuple[str, ...] = ("echo_rr", "stream_send"), reps: int = 3,
               seed: int = 1, host: dict[str, Any] | None = None) -> list[Path]:
    """One run directory per commit, results/runs style (<commit>/<time>/), @reps
    repetitions of each scenario with 2% noise on every metric times @effect's factors."""
    rng = random.Random(seed)
    dirs = []
    for i, (commit, when) in enumerate(zip(commits, started)):
        d = store / commit / re.sub(r"[-:]", "", when)
        d.mkdir(parents=True)
        for scen in scenarios:
            factors = effect(scen, i)
            for rep in range(1, reps + 1):
                r = copy.deepcopy(template(scen))
                r.update(commit=commit, dirty=False, started_at=when)
                if host is not None:
                    r["host"] = host
                lat, m = r["metrics"]["latency_ns"], r["metrics"]
                for name, field in (("p50", "p50"), ("p99", "p99"), ("p99.9", "p99_9")):
                    lat[field] = int(lat[field] * factors.get(name, 1.0) * rng.gauss(1, 0.02))
                for name, field in (("tps", "tps"), ("throughput", "throughput_bps")):
                    m[field] = m[field] * factors.get(name, 1.0) * rng.gauss(1, 0.02)
                (d / f"{scen}.kernel.r{rep:02d}.json").write_text(json.dumps(r))
        dirs.append(d)
    return dirs


def times(n: int) -> list[str]:
    return [f"2026-12-{1 + i // 20:02d}T{i % 20:02d}:00:00Z" for i in range(n)]


def fake_commits(n: int) -> list[str]:
    return [f"{i:04x}" + "c0ffee" * 6 for i in range(n)]


def cli(procs: Any, *args: str, root: Path | None = None) -> Any:
    env = {"TCPLAB_ROOT": str(root)} if root is not None else None
    return procs.run([sys.executable, str(RESULTS_CLI), "history", *args], CLI_TIMEOUT_S, env)


def cli_json(procs: Any, *args: str, root: Path | None = None) -> dict[str, Any]:
    done = cli(procs, *args, "--json", root=root)
    assert done.rc == 0, f"history exit {done.rc}: {done.stderr}"
    doc = json.loads(done.stdout)
    assert doc["schema"] == "tcplab.history/1"
    return doc


def series(doc: dict[str, Any], scenario: str, metric: str) -> dict[str, Any]:
    hits = [s for s in doc["series"] if s["scenario"] == scenario and s["metric"] == metric]
    assert len(hits) == 1, f"{scenario} {metric}: {len(hits)} series"
    return hits[0]


def steps_effect(scen: str, i: int) -> dict[str, float]:
    """From run 11 (index 10) echo_rr's latency 1.5x and its tps 0.7x (both worse); from
    run 7 stream_send's throughput 1.4x (better). 20 runs."""
    if scen == "echo_rr" and i >= 10:
        return {"p50": 1.5, "p99": 1.5, "p99.9": 1.5, "tps": 0.7}
    if scen == "stream_send" and i >= 6:
        return {"throughput": 1.4}
    return {}


def test_cli_latency_step_up_is_worse_throughput_step_up_is_better(procs: Any,
                                                                  tmp_path: Path) -> None:
    store = tmp_path / "runs"
    write_runs(store, fake_commits(20), times(20), steps_effect)
    doc = cli_json(procs, str(store), root=tmp_path)
    assert doc["order"] == "time"	# the fake commits are in no git history
    assert [r["run"] for r in doc["runs"]] == list(range(1, 21))
    for metric in ("p50", "p99", "p99.9"):
        s = series(doc, "echo_rr", metric)
        assert len(s["change_points"]) == 1, s["change_points"]
        cp = s["change_points"][0]
        assert abs(cp["run"] - 11) <= 1 and cp["direction"] == "worse"
        assert 40 < cp["change_pct"] < 60
    tps = series(doc, "echo_rr", "tps")["change_points"]
    assert len(tps) == 1 and abs(tps[0]["run"] - 11) <= 1 and tps[0]["direction"] == "worse"
    assert -35 < tps[0]["change_pct"] < -25
    thr = series(doc, "stream_send", "throughput")["change_points"]
    assert len(thr) == 1 and abs(thr[0]["run"] - 7) <= 1 and thr[0]["direction"] == "better"
    for scen, metric in (("stream_send", "p50"), ("echo_rr", "throughput"),
                         ("echo_rr", "errors"), ("stream_send", "tps")):
        assert series(doc, scen, metric)["change_points"] == [], (scen, metric)
    assert doc["counts"]["worse"] == 4 and doc["counts"]["better"] == 1
    # the same as a Markdown table on stdout, exit 0
    done = cli(procs, str(store), root=tmp_path)
    assert done.rc == 0, done.stderr
    row = next(ln for ln in done.stdout.splitlines()
               if ln.startswith("| echo_rr | kernel/loopback | p50 | 20 |"))
    assert re.search(r"run (10|11|12) \([0-9a-f]{10}\): \S+ -> \S+ \(\+\d+\.\d%, worse", row), row
    assert "| stream_send | kernel/loopback | p50 | 20 | none |" in done.stdout
    assert "5 change point(s): 4 worse, 1 better" in done.stdout


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                                           "PATH": "/usr/bin:/bin", "HOME": str(repo)})
    return done.stdout.strip()


def make_repo(repo: Path, n: int) -> list[str]:
    """A git history of @n empty commits; their hashes, oldest first."""
    repo.mkdir()
    git(repo, "init", "-q")
    out = []
    for i in range(n):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"c{i}")
        out.append(git(repo, "rev-parse", "HEAD"))
    return out


def test_cli_orders_runs_by_the_git_history(procs: Any, tmp_path: Path) -> None:
    """The runs were made newest commit first (started_at runs against the history): the
    git order puts the step where the history has it; --order time reverses it."""
    repo = tmp_path / "tree"
    commits = make_repo(repo, 16)
    store = tmp_path / "runs"

    def effect(scen: str, i: int) -> dict[str, float]:	# 2x from the 7th commit on
        return {"p50": 2.0} if scen == "echo_rr" and i >= 6 else {}
    write_runs(store, commits, list(reversed(times(16))), effect, scenarios=("echo_rr",))
    doc = cli_json(procs, str(store), "--metric", "p50", root=repo)
    assert doc["order"] == "git" and doc["notes"] == []
    assert [r["commit"] for r in doc["runs"]] == commits
    cps = series(doc, "echo_rr", "p50")["change_points"]
    assert len(cps) == 1 and abs(cps[0]["run"] - 7) <= 1 and cps[0]["direction"] == "worse"
    assert cps[0]["commit"] == commits[cps[0]["run"] - 1]

    doc = cli_json(procs, str(store), "--metric", "p50", "--order", "time", root=repo)
    assert doc["order"] == "time"
    assert [r["commit"] for r in doc["runs"]] == list(reversed(commits))
    cps = series(doc, "echo_rr", "p50")["change_points"]	# runs 1..10 high, then low
    assert len(cps) == 1 and abs(cps[0]["run"] - 11) <= 1 and cps[0]["direction"] == "better"

    # a run of a commit outside the history: every run by started_at, and a note says so
    write_runs(store, ["feedface" * 5], ["2026-12-09T00:00:00Z"], effect,
               scenarios=("echo_rr",))
    doc = cli_json(procs, str(store), "--metric", "p50", root=repo)
    assert doc["order"] == "time"
    assert any("not in the history of HEAD" in n and "feedfacefeed" in n for n in doc["notes"])
    done = cli(procs, str(store), "--order", "git", root=repo)
    assert_one_line_exit2(done, "--order git", "feedfacefeed")


def test_cli_says_a_series_is_too_short(procs: Any, tmp_path: Path) -> None:
    store = tmp_path / "runs"
    write_runs(store, fake_commits(4), times(4),
               lambda s, i: {"p50": 3.0} if i >= 2 else {}, scenarios=("echo_rr",))
    done = cli(procs, str(store), "--metric", "p50", root=tmp_path)
    assert done.rc == 0, done.stderr
    assert "| echo_rr | kernel/loopback | p50 | 4 | too short: 4 run(s), 14 needed |" \
        in done.stdout
    assert "1 series (1 too short), 0 change point(s)" in done.stdout


def assert_one_line_exit2(done: Any, *needles: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.rc == 2, f"exit {done.rc}, expected 2; stderr: {done.stderr!r}"
    assert len(lines) == 1, f"expected one line on stderr, got: {lines}"
    assert lines[0].startswith("tcplab history: "), lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in the message {lines[0]!r}"
    assert done.stdout == ""


def test_cli_bad_input_is_one_line_and_exit_2(procs: Any, tmp_path: Path) -> None:
    store = tmp_path / "runs"
    dirs = write_runs(store, fake_commits(3), times(3), lambda s, i: {},
                      scenarios=("echo_rr",))
    assert_one_line_exit2(cli(procs, str(tmp_path / "nowhere"), root=tmp_path),
                          "nowhere", "no such directory")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert_one_line_exit2(cli(procs, str(tmp_path / "empty"), root=tmp_path), "no runs")
    assert_one_line_exit2(cli(procs, root=tmp_path / "nowhere"), "no runs", "does not exist")
    assert_one_line_exit2(cli(procs, str(store), "--metric", "p42", root=tmp_path),
                          "unknown metric 'p42'", "p50")
    assert_one_line_exit2(cli(procs, str(store), "--scenario", "nope", root=tmp_path),
                          "no runs of scenario 'nope'")
    assert_one_line_exit2(cli(procs, str(store), "--order", "git", root=tmp_path),
                          "--order git", "no git history")
    assert_one_line_exit2(cli(procs, str(store), "--frobnicate", root=tmp_path),
                          "--frobnicate")

    bad = dirs[1] / "echo_rr.kernel.r09.json"
    bad.write_bytes(b"\xff\xfe not text")	# unreadable as text
    assert_one_line_exit2(cli(procs, str(store), root=tmp_path), str(bad), "cannot read")
    bad.write_text('{"schema": ')
    assert_one_line_exit2(cli(procs, str(store), root=tmp_path), str(bad), "not JSON")
    bad.write_text(json.dumps({"schema": "tcplab.other/1"}))
    assert_one_line_exit2(cli(procs, str(store), root=tmp_path), str(bad), "schema")
    bad.unlink()

    other = dict(template("echo_rr")["host"], cpu_model="Another CPU")
    write_runs(store, ["beef" * 10], ["2026-12-09T00:00:00Z"], lambda s, i: {},
               scenarios=("echo_rr",), host=other)
    assert_one_line_exit2(cli(procs, str(store), root=tmp_path), "different host kinds",
                          "Another CPU", "--force")
    doc = cli_json(procs, str(store), "--force", root=tmp_path)
    assert any(n.startswith("forced: runs from different host kinds") for n in doc["notes"])


def test_cli_passes_over_a_run_that_made_no_result(procs: Any, tmp_path: Path) -> None:
    store = tmp_path / "runs"
    write_runs(store, fake_commits(3), times(3), lambda s, i: {}, scenarios=("echo_rr",))
    stopped = store / "dead" / "20261209T000000Z"
    stopped.mkdir(parents=True)
    (stopped / "manifest.json").write_text(json.dumps({"schema": "tcplab.manifest/1"}))
    doc = cli_json(procs, str(store), root=tmp_path)
    assert len(doc["runs"]) == 3
    assert f"passed over {stopped}: no result files in it" in doc["notes"]


def test_cli_html_page_marks_the_change_points(procs: Any, tmp_path: Path) -> None:
    store = tmp_path / "runs"
    write_runs(store, fake_commits(20), times(20), steps_effect)
    out = tmp_path / "page"
    done = cli(procs, str(store), "--html", str(out), "--json", root=tmp_path)
    assert done.rc == 0, done.stderr
    doc = json.loads(done.stdout)
    page = out / "history.html"
    assert page.is_file() and done.stderr.strip() == f"tcplab history: wrote {page}"
    text = page.read_text()
    data = json.loads(re.search(r'<script type="application/json" id="plot-data">(.*?)'
                                r"</script>", text, re.S).group(1))
    assert data["schema"] == "tcplab.history/1" and data["series"] == doc["series"]
    files = {p["file"] for p in data["plots"]}
    assert files == {"history-echo_rr-kernel-loopback.png",
                     "history-stream_send-kernel-loopback.png"}
    for f in files:
        png = (out / f).read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
        assert f'data-file="{f}"' in text
    # every change point is named in the page's table (run, commit) and in its plot's data
    for s in doc["series"]:
        plot = next(p for p in data["plots"] if p["key"]["scenario"] == s["scenario"])
        for cp in s["change_points"]:
            assert f"run {cp['run']} ({cp['commit'][:10]})" in text
            assert f"{s['metric']} at run {cp['run']}" in plot["change_points"]
    echo = next(p for p in data["plots"] if p["key"]["scenario"] == "echo_rr")
    assert len(echo["change_points"]) == 4
    assert '<td class="worse">run ' in text and '<td class="better">run ' in text
