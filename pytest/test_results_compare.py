"""test_results_compare.py - tcplab compare, baseline and bench suites (results/, issue 6).

Deterministic tests run on the recorded fixtures of results/fixtures/ (README there: base/
and same/ are two halves of one interleaved recording, latency2x/ and throughput70/ are
transformed copies of same/). One test runs the quick suite twice for real, with tiny runs,
and checks the comparison is consistent without gating on the machine's timings.
"""
from __future__ import annotations

import itertools
import json
import random
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from resultkit import stats
from tcplab.proc import module_argv, module_env

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "results" / "fixtures"
RESULTS_CLI = ROOT / "results" / "tcplab_results.py"
LATENCY = ("p50", "p99", "p99.9")
RATES = ("tps", "throughput", "connections/s")
FIELD = {"p50": ("latency_ns", "p50"), "p99": ("latency_ns", "p99"),
         "p99.9": ("latency_ns", "p99_9"), "tps": ("tps",), "throughput": ("throughput_bps",),
         "connections/s": ("connections_per_s",), "errors": ("errors",)}
CLI_TIMEOUT_S = 60.0


# ---- helpers -----------------------------------------------------------------------------

def results_cli(procs: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    return procs.run([sys.executable, str(RESULTS_CLI), *args], CLI_TIMEOUT_S, env)


def compare_json(procs: Any, base: Path | str, new: Path | str, *extra: str) -> tuple[int, dict]:
    done = results_cli(procs, "compare", str(base), str(new), "--json", *extra)
    assert done.rc in (0, 1), f"compare exit {done.rc}: {done.stderr}"
    doc = json.loads(done.stdout)
    assert doc["schema"] == "tcplab.compare/1"
    assert doc["exit"] == done.rc
    return done.rc, doc


def verdicts(doc: dict, metrics: tuple[str, ...]) -> dict[tuple[str, str], str]:
    return {(r["scenario"], r["metric"]): r["verdict"] for r in doc["rows"]
            if r["metric"] in metrics}


def metric_value(result: dict, metric: str) -> float | None:
    v: Any = result["metrics"]
    for k in FIELD[metric]:
        v = v.get(k)
    if metric in LATENCY and not result["metrics"]["latency_ns"]["count"]:
        return None
    return None if v is None else float(v)


def load_dir(d: Path) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for f in sorted(d.glob("*.json")):
        doc = json.loads(f.read_text())
        if doc.get("schema") == "tcplab.result/1":
            out.setdefault((doc["scenario"], doc["backend"]), []).append(doc)
    return out


def assert_one_line_exit2(done: Any, *needles: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.rc == 2, f"exit {done.rc}, expected 2; stderr: {done.stderr!r}"
    assert len(lines) == 1, f"expected one line on stderr, got: {lines}"
    for n in needles:
        assert n in lines[0], f"{n!r} not in the message {lines[0]!r}"
    assert "Traceback" not in done.stderr


def copy_set(src: Path, dst: Path, limit: int | None = None) -> Path:
    dst.mkdir(parents=True)
    files = sorted(src.glob("*.json"))
    for f in files if limit is None else files[:limit]:
        shutil.copy(f, dst / f.name)
    return dst


def edit_all(d: Path, fn: Any) -> None:
    for f in d.glob("*.json"):
        doc = json.loads(f.read_text())
        fn(doc)
        f.write_text(json.dumps(doc))


# ---- the statistics ----------------------------------------------------------------------

def brute_force_p(x: list[float], y: list[float]) -> float:
    """Exact two-sided rank-sum p by enumerating every split (independent of stats.py)."""
    pooled = x + y
    srt = sorted(pooled)
    rank = {v: (srt.index(v) + 1 + len(srt) - srt[::-1].index(v)) / 2 for v in pooled}
    mean = len(x) * (len(pooled) + 1) / 2
    obs = abs(sum(rank[v] for v in x) - mean)
    splits = list(itertools.combinations(range(len(pooled)), len(x)))
    extreme = sum(1 for s in splits if abs(sum(rank[pooled[i]] for i in s) - mean) >= obs - 1e-9)
    return extreme / len(splits)


@pytest.mark.parametrize("seed", range(12))
def test_rank_test_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n, m = rng.randint(1, 7), rng.randint(1, 7)
    x = [float(rng.randint(0, 6)) for _ in range(n)]	# small range: many ties
    y = [float(rng.randint(0, 6) + rng.choice((0, 2))) for _ in range(m)]
    got = stats.mann_whitney(x, y)
    assert got.exact
    assert got.p == pytest.approx(brute_force_p(x, y), abs=1e-12), (x, y)


def test_rank_test_extremes_and_approximation() -> None:
    sep = stats.mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert sep.p == pytest.approx(2 / 252) and sep.u == 0
    assert stats.mann_whitney([3, 3, 3], [3, 3, 3]).p == 1.0
    assert stats.min_two_sided_p(3, 3) > 0.05 > stats.min_two_sided_p(5, 5)
    rng = random.Random(7)
    x = [rng.gauss(0, 1) for _ in range(13)]
    y = [rng.gauss(0.8, 1) for _ in range(13)]
    approx = stats.mann_whitney(x, y)
    assert not approx.exact
    exact = stats.mann_whitney(x[:12], y[:12])	# 24 values: still exact
    assert exact.exact and 0 < approx.p < 1
    assert stats.median([5, 1, 3]) == 3 and stats.median([4, 1, 3, 2]) == 2.5


# ---- verdicts on the recorded fixtures -----------------------------------------------------

def test_two_runs_of_one_commit_are_same_within_noise(procs: Any) -> None:
    rc, doc = compare_json(procs, FIXTURES / "base", FIXTURES / "same")
    assert rc == 0
    assert doc["rows"], "no rows"
    bad = [(r["scenario"], r["metric"], r["verdict"]) for r in doc["rows"]
           if r["verdict"] != "same"]
    assert not bad, f"two halves of one recording differ: {bad}"
    assert {r["method"] for r in doc["rows"] if r["metric"] != "errors"} == {"rank test"}


def expected_verdict(row: dict, lower_is_better: bool) -> str:
    """What the row must say, computed here: beyond the threshold and separated by the
    (brute-force) rank test, in the bad direction."""
    moved = abs(row["change_pct"]) > row["threshold_pct"]
    separated = brute_force_p(row["base_values"], row["new_values"]) < 0.05
    if not (moved and separated):
        return "same"
    return "worse" if (row["new"] > row["base"]) == lower_is_better else "better"


def test_injected_2x_latency_is_worse(procs: Any) -> None:
    """latency2x/ is base/ with every latency doubled. A latency is flagged wherever the
    recorded repetitions leave the doubled set separable (all but a few rows: some tails
    of the recording spread over more than 2x); every scenario has some worse latency."""
    rc, doc = compare_json(procs, FIXTURES / "base", FIXTURES / "latency2x")
    assert rc == 1
    rows = [r for r in doc["rows"] if r["metric"] in LATENCY]
    for r in rows:
        assert r["change_pct"] > 60, r	# the injection itself
        assert r["verdict"] == expected_verdict(r, True), r
    worse = {r["scenario"] for r in rows if r["verdict"] == "worse"}
    assert worse == {r["scenario"] for r in doc["rows"]}, f"no latency flagged in some: {worse}"
    assert sum(r["verdict"] == "worse" for r in rows) >= len(rows) * 2 // 3
    assert set(verdicts(doc, RATES).values()) == {"same"}


def test_injected_30pct_throughput_drop_is_worse(procs: Any) -> None:
    rc, doc = compare_json(procs, FIXTURES / "base", FIXTURES / "throughput70")
    assert rc == 1
    rates = verdicts(doc, RATES)
    assert rates and set(rates.values()) == {"worse"}, rates
    assert set(verdicts(doc, LATENCY).values()) == {"same"}
    assert any(m == "connections/s" for _, m in rates), "crr's connections/s not compared"


def test_the_reverse_is_better_and_passes(procs: Any) -> None:
    rc, doc = compare_json(procs, FIXTURES / "latency2x", FIXTURES / "base")
    assert rc == 0
    rows = [r for r in doc["rows"] if r["metric"] in LATENCY]
    assert all(r["verdict"] == expected_verdict(r, True) for r in rows)
    assert {r["verdict"] for r in rows} <= {"better", "same"}
    assert sum(r["verdict"] == "better" for r in rows) >= len(rows) * 2 // 3


def test_rows_recompute_from_the_result_files(procs: Any) -> None:
    """Every row's values are the metric read from the files, base/new their medians."""
    _, doc = compare_json(procs, FIXTURES / "base", FIXTURES / "throughput70")
    base, new = load_dir(FIXTURES / "base"), load_dir(FIXTURES / "throughput70")
    assert {(r["scenario"], r["backend"]) for r in doc["rows"]} == set(base)
    for r in doc["rows"]:
        key = (r["scenario"], r["backend"])
        bv = [metric_value(x, r["metric"]) for x in base[key]]
        nv = [metric_value(x, r["metric"]) for x in new[key]]
        assert r["base_values"] == bv and r["new_values"] == nv
        if r["metric"] == "errors":
            assert r["base"] == sum(bv) / len(bv)
            continue
        assert r["base"] == stats.median(bv) and r["new"] == stats.median(nv)
        if r["base"]:
            assert r["change_pct"] == pytest.approx((r["new"] - r["base"]) / r["base"] * 100)


def test_single_runs_compare_with_a_wider_stated_threshold(procs: Any, tmp_path: Path) -> None:
    one_base = copy_set(FIXTURES / "base", tmp_path / "b", limit=1)
    one_slow = tmp_path / "n"
    one_slow.mkdir()
    name = next(one_base.glob("*.json")).name
    shutil.copy(FIXTURES / "latency2x" / name, one_slow / name)
    rc, doc = compare_json(procs, one_base, one_slow)
    assert rc == 1
    factor = doc["method"]["single_run_factor"]
    assert factor > 1
    for r in doc["rows"]:
        if r["metric"] in LATENCY:
            assert r["method"] == "single run" and r["verdict"] == "worse"
            assert r["threshold_pct"] == pytest.approx(
                {"p50": 10, "p99": 20, "p99.9": 30}[r["metric"]] * factor)
    terminal = results_cli(procs, "compare", str(one_base), str(one_slow))
    assert "single run, thr" in terminal.stdout and f"{factor:g}x wider" in terminal.stdout
    # a 20% slower p50 is inside the widened threshold of a single run
    shutil.copy(one_base / name, one_slow / name)
    edit_all(one_slow, lambda d: d["metrics"]["latency_ns"].update(
        p50=int(d["metrics"]["latency_ns"]["p50"] * 1.2)))
    rc, doc = compare_json(procs, one_base, one_slow)
    assert rc == 0 and verdicts(doc, ("p50",)) and set(verdicts(doc, ("p50",)).values()) == {"same"}


def test_errors_any_rise_is_worse(procs: Any, tmp_path: Path) -> None:
    new = copy_set(FIXTURES / "same", tmp_path / "new")
    f = sorted(new.glob("echo_rr*.json"))[0]
    doc = json.loads(f.read_text())
    doc["metrics"]["errors"] = 3
    doc["metrics"]["errors_by_reason"] = {"reset": 3}
    f.write_text(json.dumps(doc))
    rc, out = compare_json(procs, FIXTURES / "base", new)
    assert rc == 1
    assert verdicts(out, ("errors",))[("echo_rr", "errors")] == "worse"


def test_terminal_and_markdown_tables(procs: Any) -> None:
    _, doc = compare_json(procs, FIXTURES / "base", FIXTURES / "latency2x")
    term = results_cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "latency2x"))
    md = results_cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "latency2x"),
                     "--markdown")
    assert term.rc == md.rc == 1
    for text in (term.stdout, md.stdout):
        assert "Mann-Whitney" in text and "REGRESSION" in text
    md_rows = [ln for ln in md.stdout.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert len(md_rows) == len(doc["rows"]) + 1	# the header
    assert md_rows[0].split("|")[1].strip() == "scenario"
    assert md.stdout.count("**worse**") == sum(r["verdict"] == "worse" for r in doc["rows"])
    term_rows = [ln for ln in term.stdout.splitlines()
                 if ln.split()[:1] and ln.split()[0] in {r["scenario"] for r in doc["rows"]}]
    assert len(term_rows) == len(doc["rows"])


def test_one_sided_scenario_is_listed_not_failed(procs: Any, tmp_path: Path) -> None:
    new = copy_set(FIXTURES / "same", tmp_path / "new")
    for f in new.glob("crr*.json"):
        f.unlink()
    rc, doc = compare_json(procs, FIXTURES / "base", new)
    assert rc == 0
    missing = [r for r in doc["rows"] if r["scenario"] == "crr"]
    assert len(missing) == 1 and missing[0]["verdict"] == "n/a"
    assert any("crr" in n and "only in base" in n for n in doc["notes"])


# ---- host kinds ----------------------------------------------------------------------------

def test_different_host_kinds_refused_unless_forced(procs: Any, tmp_path: Path) -> None:
    other = copy_set(FIXTURES / "same", tmp_path / "other")
    edit_all(other, lambda d: d["host"].update(cpu_model="Other CPU", cpus=64))
    done = results_cli(procs, "compare", str(FIXTURES / "base"), str(other))
    assert_one_line_exit2(done, "different host kinds", "--force")
    rc, doc = compare_json(procs, FIXTURES / "base", other, "--force")
    assert rc == 0 and any(n.startswith("forced:") for n in doc["notes"])


def test_mixed_host_kinds_in_one_set_refused(procs: Any, tmp_path: Path) -> None:
    mixed = copy_set(FIXTURES / "same", tmp_path / "mixed")
    f = sorted(mixed.glob("*.json"))[0]
    doc = json.loads(f.read_text())
    doc["host"]["cpus"] = 96
    f.write_text(json.dumps(doc))
    assert_one_line_exit2(results_cli(procs, "compare", str(FIXTURES / "base"), str(mixed)),
                          "mixes host kinds")


# ---- bad input -----------------------------------------------------------------------------

def _bad_set(tmp_path: Path, what: str) -> Path:
    d = tmp_path / what
    if what == "missing":
        return d
    d.mkdir()
    if what == "empty":
        return d
    src = sorted((FIXTURES / "base").glob("*.json"))[0]
    doc = json.loads(src.read_text())
    if what == "not_json":
        (d / "x.json").write_text("{ this is not json")
    elif what == "wrong_schema":
        doc["schema"] = "tcplab.result/2"
        (d / "x.json").write_text(json.dumps(doc))
    elif what == "array":
        (d / "x.json").write_text("[1, 2]")
    elif what == "no_metrics":
        del doc["metrics"]
        (d / "x.json").write_text(json.dumps(doc))
    elif what == "bad_manifest":
        shutil.copy(src, d / src.name)
        (d / "manifest.json").write_text(json.dumps({"schema": "other/9"}))
    return d


BAD_SETS = {"missing": "no such directory", "empty": "no tcplab.result/1 result files",
            "not_json": "not JSON", "wrong_schema": "mismatched schema",
            "array": "expected a tcplab.result/1 object", "no_metrics": "'metrics'",
            "bad_manifest": "expected 'tcplab.manifest/1'"}


@pytest.mark.parametrize("what", sorted(BAD_SETS))
@pytest.mark.parametrize("side", ["base", "new"])
def test_bad_result_sets_exit_2(procs: Any, tmp_path: Path, what: str, side: str) -> None:
    bad = _bad_set(tmp_path, what)
    args = (str(bad), str(FIXTURES / "base")) if side == "base" else (str(FIXTURES / "base"),
                                                                        str(bad))
    done = results_cli(procs, "compare", *args)
    assert_one_line_exit2(done, BAD_SETS[what], "BASE" if side == "base" else "NEW")


@pytest.mark.parametrize("argv,needle", [
    (["compare", str(FIXTURES / "base")], "required"),
    (["compare", "a", "b", "--json", "--markdown"], "not allowed"),
    (["compare", "a", "b", "--bogus"], "unrecognized"),
    (["compare", str(FIXTURES / "base"), "no-such-baseline-or-commit"], "no baseline"),
    (["frobnicate"], "invalid choice"),
    (["baseline", "save", "bad/name", str(FIXTURES / "base")], "baseline name"),
])
def test_bad_command_lines_exit_2(procs: Any, argv: list[str], needle: str) -> None:
    assert_one_line_exit2(results_cli(procs, *argv), needle)


# ---- commits and baselines -----------------------------------------------------------------

def make_runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    copy_set(FIXTURES / "base", runs / ("ab12" + "0" * 36) / "20260101T000000Z")
    copy_set(FIXTURES / "latency2x", runs / ("ab12" + "0" * 36) / "20260102T000000Z")
    copy_set(FIXTURES / "same", runs / ("cd34" + "0" * 36 + "-dirty") / "20260103T000000Z")
    return runs


def test_commits_resolve_to_their_newest_run(procs: Any, tmp_path: Path) -> None:
    runs = make_runs(tmp_path)
    rc, doc = compare_json(procs, "cd34", "ab12", "--runs-dir", str(runs))
    assert doc["base"]["path"].endswith("20260103T000000Z")	# the -dirty run of cd34
    assert doc["new"]["path"].endswith("20260102T000000Z")	# the newest of ab12
    assert rc == 1	# same/ against latency2x/
    assert_one_line_exit2(results_cli(procs, "compare", "cd34", "abXX", "--runs-dir",
                                      str(runs)), "'abXX'", "no runs of such a commit")
    assert_one_line_exit2(results_cli(procs, "compare", "cd34", "ab", "--runs-dir",
                                      str(runs)), "'ab'")	# too short for a commit prefix


def test_ambiguous_commit_prefix_exit_2(procs: Any, tmp_path: Path) -> None:
    runs = make_runs(tmp_path)
    copy_set(FIXTURES / "same", runs / ("ab13" + "0" * 36) / "20260105T000000Z")
    done = results_cli(procs, "compare", "ab1", "cd34", "--runs-dir", str(runs))
    assert_one_line_exit2(done, "ambiguous")


def test_baseline_save_list_compare(procs: Any, tmp_path: Path) -> None:
    runs, bl = make_runs(tmp_path), tmp_path / "baselines"
    where = ["--runs-dir", str(runs), "--baselines-dir", str(bl)]
    done = results_cli(procs, "baseline", "save", "vm-quick", *where)	# newest run: cd34
    assert done.rc == 0, done.stderr
    meta = json.loads((bl / "vm-quick" / "baseline.json").read_text())
    assert meta["schema"] == "tcplab.baseline/1" and meta["host_kind"].startswith("x86_64")
    assert meta["source"].endswith("20260103T000000Z")	# the newest run directory
    assert sorted(p.name for p in (bl / "vm-quick").glob("*.r*.json")) == \
        sorted(p.name for p in (FIXTURES / "same").glob("*.json"))
    again = results_cli(procs, "baseline", "save", "vm-quick", *where)
    assert_one_line_exit2(again, "exists", "--force")
    assert results_cli(procs, "baseline", "save", "vm-quick", "ab12", "--force", *where).rc == 0
    listed = results_cli(procs, "baseline", "list", "--json", *where)
    entries = json.loads(listed.stdout)
    assert [e["name"] for e in entries] == ["vm-quick"]
    assert entries[0]["source"].endswith("20260102T000000Z")
    rc, doc = compare_json(procs, "vm-quick", FIXTURES / "base", *where)
    assert doc["base"]["path"] == str(bl / "vm-quick") and rc == 0	# ab12's newest = 2x
    plain = results_cli(procs, "baseline", "list", *where)
    assert plain.stdout.startswith("vm-quick\t")


def test_baseline_save_without_runs_exit_2(procs: Any, tmp_path: Path) -> None:
    done = results_cli(procs, "baseline", "save", "x", "--runs-dir", str(tmp_path / "none"),
                       "--baselines-dir", str(tmp_path / "bl"))
    assert_one_line_exit2(done, "no runs yet")


def test_committed_baselines_are_loadable(procs: Any) -> None:
    for meta in (ROOT / "results" / "baselines").glob("*/baseline.json"):
        doc = json.loads(meta.read_text())
        assert doc["schema"] == "tcplab.baseline/1" and doc["host_kind"]
        rc, _ = compare_json(procs, meta.parent, meta.parent)
        assert rc == 0


# ---- the bench suite -------------------------------------------------------------------------

def bench(procs: Any, *args: str, env: dict[str, str] | None = None,
          timeout: float = 120.0) -> Any:
    return procs.run(module_argv("bench", *args), timeout, module_env(env))


@pytest.mark.parametrize("argv,needle", [
    (["nosuchsuite"], "unknown benchmark or suite"),
    (["quick", "--reps", "0"], "--reps"),
    (["quick", "--backend", "nosuchbackend"], "unknown backend"),
    (["quick", "--scenario", "nosuchscenario"], "unknown scenario"),
    (["quick", "--reps", "1000"], "exceeds the budget"),
])
def test_bench_bad_usage_exit_2(procs: Any, tcplab_bin: Path, argv: list[str],
                                needle: str) -> None:
    done = bench(procs, *argv, env={"TCPLAB_BIN": str(tcplab_bin)})
    assert done.rc == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr


def test_bench_lists_suites(procs: Any) -> None:
    done = bench(procs, "--suites")
    assert done.rc == 0 and "quick" in done.stdout and "full" in done.stdout


def test_bench_skips_a_backend_that_cannot_start(procs: Any, tcplab_bin: Path,
                                                 tmp_path: Path) -> None:
    """A backend whose runs exit 2 is reported and skipped; the others still run."""
    fake = tmp_path / "tcplab"
    fake.write_text(f"""#!/bin/sh
if [ "$1" = list ]; then
  exec {sys.executable} -c 'import json,subprocess,sys; d=json.loads(subprocess.run(["{tcplab_bin}","list","--json"],capture_output=True,text=True).stdout); d["backends"]=[b for b in d["backends"] if b["name"]=="kernel"]+[{{"name":"nostack","description":"x"}}]; print(json.dumps(d))'
fi
case " $* " in *" --backend nostack "*) echo "tcplab run: nostack: no DPDK here" >&2; exit 2;; esac
exec {tcplab_bin} "$@"
""")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    runs = tmp_path / "runs"
    done = bench(procs, "quick", "--scenario", "echo_rr", "--reps", "1", "--duration", "0.2s",
                 "--warmup", "0.1s", "--runs-dir", str(runs), env={"TCPLAB_BIN": str(fake)})
    assert done.rc == 0, done.stderr
    assert "skipped backend nostack: tcplab run: nostack: no DPDK here" in done.stderr
    manifest = json.loads((Path(done.stdout.strip()) / "manifest.json").read_text())
    assert manifest["skipped_backends"] == [{"backend": "nostack",
                                             "reason": "tcplab run: nostack: no DPDK here"}]
    assert manifest["backends"] == ["kernel"] and manifest["complete"] is True


def test_bench_quick_twice_compares(procs: Any, tcplab_bin: Path, tmp_path: Path,
                                    result_schema: Any) -> None:
    """Run the quick suite twice (tiny runs, kernel only) and compare: exercises the noise
    model on live data; asserts consistency, never the machine's timings."""
    runs = tmp_path / "runs"
    env = {"TCPLAB_BIN": str(tcplab_bin), "TCPLAB_COMMIT": "f" * 40, "TCPLAB_DIRTY": "0"}
    args = ["quick", "--backend", "kernel", "--scenario", "echo_rr", "--scenario", "crr",
            "--reps", "5", "--duration", "0.2s", "--warmup", "0.1s", "--runs-dir", str(runs)]
    dirs = []
    for _ in range(2):
        done = bench(procs, *args, env=env)
        assert done.rc in (0, 1), done.stderr
        dirs.append(Path(done.stdout.strip()))
    for d in dirs:
        assert d.parent == runs / ("f" * 40)
        manifest = json.loads((d / "manifest.json").read_text())
        assert manifest["schema"] == "tcplab.manifest/1" and manifest["suite"] == "quick"
        assert manifest["repetitions"] == 5 and manifest["commit"] == "f" * 40
        assert manifest["host_kind"] and manifest["complete"] is True
        assert len(manifest["runs"]) == 10
        for run in manifest["runs"]:
            assert run["file"], f"no result: {run}"
            doc = json.loads((d / run["file"]).read_text())
            errs = sorted(e.message for e in result_schema.iter_errors(doc))
            assert not errs, f"{run['file']}: {errs}"
            assert doc["params"]["overrides"]["duration"] in ("0.2s", "0.2")
    rc, doc = compare_json(procs, dirs[0], dirs[1])
    assert rc == (1 if any(r["verdict"] == "worse" for r in doc["rows"]) else 0)
    assert {r["scenario"] for r in doc["rows"]} == {"echo_rr", "crr"}
    # the host's state (bench calibrate, before and after each set) may differ between the
    # two sets on a busy machine: then latencies are judged as ratios to the floor
    host_differs = any(n.startswith("host differs") for n in doc["notes"])
    methods = {r["method"] for r in doc["rows"] if r["metric"] != "errors"}
    assert methods <= ({"rank test", "floor ratio"} if host_differs else {"rank test"}), methods
    for r in doc["rows"]:
        assert r["n_base"] == r["n_new"] == 5 and 0 <= (r["p_value"] or 0) <= 1
        if r["verdict"] in ("worse", "better") and r["method"] == "rank test":
            assert r["p_value"] < 0.05 and abs(r["change_pct"]) > r["threshold_pct"]
    rc, same = compare_json(procs, dirs[0], dirs[0])	# a set against itself
    assert rc == 0 and {r["verdict"] for r in same["rows"]} == {"same"}
    rc, by_commit = compare_json(procs, "f" * 12, dirs[0], "--runs-dir", str(runs))
    assert by_commit["base"]["path"] == str(dirs[1])	# the newest run of the commit
