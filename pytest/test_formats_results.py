"""test_formats_results.py - results in the formats CI reads (issue 17, parts 4 and 5):
`tcplab junit` (a run's checks as JUnit XML), `tcplab compare --junit` (the verdicts as
JUnit XML), `tcplab csv` (one row per result file), the Markdown compare with its verdict
first, and `--changed-only`.

On the recorded fixtures of results/fixtures/ (base/ and same/ are halves of one recording,
latency2x/ has every latency doubled, throughput70/ the rates at 70 %) and copies of them
edited here. Every file written is read back with the standard library's parser
(xml.etree.ElementTree, csv.DictReader) and checked against the result files and against
`tcplab compare --json`.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "results" / "fixtures"
RESULTS_CLI = ROOT / "results" / "tcplab_results.py"
CLI_TIMEOUT_S = 60.0
CALM = {"memif_floor_p50_us": 0.32, "loopback_p50_us": 20.0, "memcpy_gbps": 190.0,
        "cpu_loop_ms": 100.0}
METRIC_FIELDS = {"p50": ("latency_ns", "p50"), "p99": ("latency_ns", "p99"),
                 "p99.9": ("latency_ns", "p99_9"), "tps": ("tps",),
                 "throughput": ("throughput_bps",), "connections/s": ("connections_per_s",),
                 "errors": ("errors",)}
CSV_HEADER = ["scenario", "backend", "topology", "config", "commit", "dirty", "started_at",
              "p50", "p99", "p99.9", "tps", "throughput", "connections/s", "errors", "passed",
              "file"]


def cli(procs: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    return procs.run([sys.executable, str(RESULTS_CLI), *args], CLI_TIMEOUT_S, env)


def one_line_exit2(done: Any, *needles: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.rc == 2, f"exit {done.rc}, expected 2: {done.stderr!r}"
    assert len(lines) == 1 and "Traceback" not in done.stderr, lines
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


def results(d: Path) -> dict[str, dict]:
    return {f.name: json.loads(f.read_text()) for f in sorted(d.glob("*.json"))
            if json.loads(f.read_text()).get("schema") == "tcplab.result/1"}


def copy_set(name: str, dest: Path, edit: Any = None) -> Path:
    shutil.copytree(FIXTURES / name, dest)
    for f in dest.glob("*.json"):
        doc = json.loads(f.read_text())
        if edit is not None:
            edit(f.name, doc)
        f.write_text(json.dumps(doc))
    return dest


def compare_json(procs: Any, base: Path, new: Path, *extra: str) -> dict:
    done = cli(procs, "compare", str(base), str(new), "--json", *extra)
    assert done.rc in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert doc["exit"] == done.rc
    return doc


def suites(root: ET.Element) -> list[ET.Element]:
    assert root.tag == "testsuites"
    return root.findall("testsuite")


def assert_counts_add_up(root: ET.Element) -> None:
    """Every testsuite's tests/failures/errors/skipped are its testcases', the root's
    their sums: what a reporter shows."""
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites(root):
        cases = s.findall("testcase")
        n = {"tests": len(cases),
             "failures": sum(c.find("failure") is not None for c in cases),
             "errors": sum(c.find("error") is not None for c in cases),
             "skipped": sum(c.find("skipped") is not None for c in cases)}
        for k, v in n.items():
            assert s.get(k) == str(v), (s.get("name"), k)
            total[k] += v
        float(s.get("time"))
    for k, v in total.items():
        assert root.get(k) == str(v), k


# ---- tcplab junit: a run's checks ---------------------------------------------------------

def test_junit_of_a_set_a_suite_per_result(procs: Any, tmp_path: Path) -> None:
    out = tmp_path / "checks.xml"
    done = cli(procs, "junit", str(FIXTURES / "base"), "-o", str(out))
    assert done.rc == 0 and done.stdout == "", done.stderr
    root = ET.parse(out).getroot()
    assert_counts_add_up(root)
    want = results(FIXTURES / "base")
    got = suites(root)
    assert len(got) == len(want)
    for suite, (name, doc) in zip(got, sorted(want.items())):
        # five repetitions of each: the file tells them apart
        assert suite.get("name") == f"{doc['scenario']} {doc['backend']}/{doc['topology']} " \
                                    f"({name})"
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["file"] == str(FIXTURES / "base" / name)
        assert props["commit"] == doc["commit"] and props["passed"] == "true"
        assert float(suite.get("time")) == pytest.approx(doc["metrics"]["window_s"])
        assert suite.get("timestamp") == doc["started_at"].removesuffix("Z")
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == [c["name"] for c in doc["checks"]]
        assert {c.get("classname") for c in cases} == {suite.get("name")}	# unique
    assert root.get("failures") == root.get("errors") == "0"
    assert int(root.get("tests")) == sum(len(d["checks"]) for d in want.values())


def failing_result(tmp_path: Path) -> Path:
    """One echo_rr result whose p99 check failed (a name that needs escaping) and whose run
    was interrupted."""
    src = sorted((FIXTURES / "base").glob("echo_rr.*.json"))[0]
    doc = json.loads(src.read_text())
    doc["checks"].append({"name": 'p99 < 100us & "tight"', "ok": False,
                          "value": doc["metrics"]["latency_ns"]["p99"], "limit": 100000})
    doc["interrupted"], doc["passed"] = True, False
    f = tmp_path / "echo_rr.json"
    f.write_text(json.dumps(doc))
    return f


def test_junit_failed_check_and_interrupted_run(procs: Any, tmp_path: Path) -> None:
    f = failing_result(tmp_path)
    doc = json.loads(f.read_text())
    done = cli(procs, "junit", str(f))	# no -o: stdout
    assert done.rc == 0, done.stderr
    root = ET.fromstring(done.stdout.encode())
    assert_counts_add_up(root)
    (suite,) = suites(root)
    assert suite.get("name") == "echo_rr kernel/loopback"	# one result: no file suffix
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    assert int(suite.get("tests")) == len(doc["checks"]) + 1
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    failed = cases['p99 < 100us & "tight"']	# escaped on the way out, back as written
    msg = failed.find("failure").get("message")
    p99 = doc["metrics"]["latency_ns"]["p99"]
    assert msg == f'p99 < 100us & "tight" failed: value {p99}, limit 100000'
    assert all(c.find("failure") is None for n, c in cases.items() if n != failed.get("name"))
    err = cases["run completed"].find("error")
    assert err is not None and "interrupted" in err.get("message")
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["passed"] == "false"


def test_junit_takes_files_and_directories_in_order(procs: Any, tmp_path: Path) -> None:
    f = failing_result(tmp_path)
    done = cli(procs, "junit", str(f), str(FIXTURES / "latency2x"), "-o", "-")
    assert done.rc == 0, done.stderr
    root = ET.fromstring(done.stdout.encode())
    names = [s.get("name") for s in suites(root)]
    assert len(names) == 1 + len(results(FIXTURES / "latency2x"))
    assert names[0] == "echo_rr kernel/loopback (echo_rr.json)"	# echo_rr twice over
    assert root.get("failures") == "1" and root.get("errors") == "1"


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    not_json = tmp_path / "x.json"
    not_json.write_text("{ not json")
    wrong = tmp_path / "w.json"
    wrong.write_text(json.dumps({"schema": "tcplab.result/9"}))
    empty = tmp_path / "empty"
    empty.mkdir()
    return {"missing_file": ([str(tmp_path / "nope.json")], "no such file"),
            "missing_dir": ([str(tmp_path / "nope")], "no such directory"),
            "not_json": ([str(not_json)], "not JSON"),
            "wrong_schema": ([str(wrong)], "mismatched schema"),
            "empty_dir": ([str(empty)], "no tcplab.result/1 result files"),
            "unwritable": ([str(FIXTURES / "base"), "-o", str(tmp_path / "no" / "x")],
                           "cannot write"),
            "no_input": ([], "required")}


@pytest.mark.parametrize("command", ["junit", "csv"])
@pytest.mark.parametrize("what", ["missing_file", "missing_dir", "not_json", "wrong_schema",
                                  "empty_dir", "unwritable", "no_input"])
def test_bad_input_exit_2(procs: Any, tmp_path: Path, command: str, what: str) -> None:
    args, needle = bad_inputs(tmp_path)[what]
    one_line_exit2(cli(procs, command, *args), needle, f"tcplab {command}")


# ---- tcplab compare --junit: the verdicts --------------------------------------------------

def worse_cases(root: ET.Element) -> list[tuple[str, str, str]]:
    return [(c.get("classname"), c.get("name"), c.find("failure").get("message"))
            for s in suites(root) for c in s.findall("testcase") if c.find("failure") is not None]


def test_compare_junit_a_testcase_per_row(procs: Any, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.xml"
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "latency2x"),
               "--junit", str(out))
    assert done.rc == 1 and "REGRESSION" in done.stdout	# its normal output, as before
    doc = compare_json(procs, FIXTURES / "base", FIXTURES / "latency2x")
    root = ET.parse(out).getroot()
    assert_counts_add_up(root)
    assert int(root.get("tests")) == len(doc["rows"])
    assert root.get("skipped") == "0" and root.get("errors") == "0"
    rows = [(f"{r['scenario']} {r['backend']}/{r['topology']}", r["metric"])
            for r in doc["rows"]]
    assert [(c.get("classname"), c.get("name")) for s in suites(root)
            for c in s.findall("testcase")] == rows
    worse = [r for r in doc["rows"] if r["verdict"] == "worse"]
    got = worse_cases(root)
    assert len(got) == len(worse) == int(root.get("failures")) > 0
    for (cls, name, msg), r in zip(got, worse):
        assert (cls, name) == (f"{r['scenario']} {r['backend']}/{r['topology']}", r["metric"])
        assert msg.startswith(f"{r['metric']} worse: ") and f"{r['change_pct']:+.1f}%" in msg
        assert f"p={r['p_value']:.3f}" in msg


def test_compare_junit_skips_na_and_host_differs(procs: Any, tmp_path: Path) -> None:
    """crr only in base: n/a; the new host's loopback twice as slow and its rates at 70 %:
    host differs. Both <skipped> with the note, neither a failure; exit 0."""
    base = copy_set("base", tmp_path / "b")
    new = copy_set("throughput70", tmp_path / "n")
    for f in new.glob("crr.*.json"):
        f.unlink()
    (base / "manifest.json").write_text(json.dumps(
        {"schema": "tcplab.manifest/1", "host_state": {"before": CALM, "after": CALM}}))
    slow = dict(CALM, loopback_p50_us=40.0)
    (new / "manifest.json").write_text(json.dumps(
        {"schema": "tcplab.manifest/1", "host_state": {"before": slow, "after": slow}}))
    out = tmp_path / "v.xml"
    done = cli(procs, "compare", str(base), str(new), "--junit", str(out), "--markdown")
    assert done.rc == 0, done.stderr
    doc = compare_json(procs, base, new)
    root = ET.parse(out).getroot()
    assert_counts_add_up(root)
    assert root.get("failures") == "0"
    skipped = {(c.get("classname"), c.get("name")): c.find("skipped")
               for s in suites(root) for c in s.findall("testcase")
               if c.find("skipped") is not None}
    want = {r["verdict"] for r in doc["rows"] if r["verdict"] in ("n/a", "host differs")}
    assert want == {"n/a", "host differs"}
    assert len(skipped) == sum(r["verdict"] in want for r in doc["rows"])
    na = skipped[("crr kernel/loopback", "all metrics")]
    assert na.get("message") == "n/a: not in new"
    host = skipped[("echo_rr kernel/loopback", "throughput")]
    assert host.get("message").startswith("host differs: would be worse")
    assert "host differs: loopback_p50_us" in host.text


def test_compare_junit_changed_only(procs: Any, tmp_path: Path) -> None:
    out = tmp_path / "v.xml"
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "throughput70"),
               "--junit", str(out), "--changed-only")
    assert done.rc == 1
    doc = compare_json(procs, FIXTURES / "base", FIXTURES / "throughput70")
    root = ET.parse(out).getroot()
    assert int(root.get("tests")) == sum(r["verdict"] != "same" for r in doc["rows"])
    assert root.get("tests") == root.get("failures")	# only the worse rates are left


def test_compare_junit_unwritable_prints_nothing(procs: Any, tmp_path: Path) -> None:
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "same"), "--junit",
               str(tmp_path / "no" / "v.xml"))
    one_line_exit2(done, "cannot write")
    assert done.stdout == ""


# ---- the Markdown verdict first, --changed-only ---------------------------------------------

def test_markdown_puts_the_verdict_first(procs: Any) -> None:
    doc = compare_json(procs, FIXTURES / "base", FIXTURES / "latency2x")
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "latency2x"),
               "--markdown")
    assert done.rc == 1
    lines = done.stdout.splitlines()
    c = doc["counts"]
    summary = next(i for i, ln in enumerate(lines) if ln.startswith("**"))
    assert lines[summary].startswith(f"**{c['worse']} worse, {c['better']} better")
    assert lines[summary].endswith("REGRESSION**")
    heading = lines.index(f"### worse ({c['worse']})")
    table = next(i for i, ln in enumerate(lines) if ln.startswith("| scenario |"))
    assert summary < heading < table
    assert all(not ln.startswith("|") for ln in lines[:table])	# no table above the verdict
    items = [ln for ln in lines[heading + 1:table] if ln.startswith("- `")]
    worse = [r for r in doc["rows"] if r["verdict"] == "worse"]
    assert len(items) == len(worse)
    for ln, r in zip(items, worse):
        assert ln.startswith(f"- `{r['scenario']}` {r['backend']}/{r['topology']} "
                             f"{r['metric']}: ")
        assert f"({r['change_pct']:+.1f}%" in ln
    assert "### better" not in done.stdout	# none to list
    body = [ln for ln in lines[table + 2:] if ln.startswith("| ")]
    assert len(body) == len(doc["rows"])	# the full table follows


def test_markdown_when_nothing_moved(procs: Any) -> None:
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "same"), "--markdown")
    assert done.rc == 0
    top = done.stdout.split("| scenario |")[0]
    assert "no regression" in top and "No row is worse, better or host differs." in top


@pytest.mark.parametrize("fmt", ["terminal", "--markdown", "--json"])
def test_changed_only_leaves_out_same_rows(procs: Any, fmt: str) -> None:
    full = compare_json(procs, FIXTURES / "base", FIXTURES / "latency2x")
    same = sum(r["verdict"] == "same" for r in full["rows"])
    changed = [(r["scenario"], r["metric"]) for r in full["rows"] if r["verdict"] != "same"]
    assert same > 0 and changed
    args = ["compare", str(FIXTURES / "base"), str(FIXTURES / "latency2x"), "--changed-only"]
    done = cli(procs, *args, *([] if fmt == "terminal" else [fmt]))
    assert done.rc == full["exit"] == 1
    if fmt == "--json":
        doc = json.loads(done.stdout)
        assert [(r["scenario"], r["metric"]) for r in doc["rows"]] == changed
        assert doc["left_out"] == same and doc["changed_only"] is True
        assert doc["counts"] == full["counts"]	# the verdict still counts every row
        assert full["left_out"] == 0 and full["changed_only"] is False
        return
    assert f"left out: {same} same rows (--changed-only)" in done.stdout
    if fmt == "terminal":
        rows = [ln.split() for ln in done.stdout.splitlines()
                if ln.split()[:1] and ln.split()[0] in {s for s, _ in changed}]
    else:
        rows = [ln.split("|")[1:-1] for ln in done.stdout.splitlines()
                if ln.startswith("| ") and "scenario" not in ln]
        rows = [[c.strip() for c in r] for r in rows]
    assert [(r[0], r[2]) for r in rows] == changed
    assert not any("same" in " ".join(r) for r in rows)
    assert f"{same} same" in done.stdout	# the summary still says how many


def test_changed_only_with_nothing_changed(procs: Any) -> None:
    doc = compare_json(procs, FIXTURES / "base", FIXTURES / "same", "--changed-only")
    assert doc["rows"] == [] and doc["left_out"] == doc["counts"]["same"] > 0
    done = cli(procs, "compare", str(FIXTURES / "base"), str(FIXTURES / "same"),
               "--changed-only")
    assert done.rc == 0 and f"left out: {doc['left_out']} same rows" in done.stdout


# ---- tcplab csv ------------------------------------------------------------------------------

def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    rd = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(rd)
    return list(rd.fieldnames or []), rows


def expected_cell(doc: dict, metric: str) -> float | None:
    v: Any = doc["metrics"]
    for k in METRIC_FIELDS[metric]:
        v = v.get(k)
    if metric.startswith("p") and not doc["metrics"]["latency_ns"]["count"]:
        return None
    return None if v is None else float(v)


def check_rows(rows: list[dict[str, str]], files: dict[Path, dict]) -> None:
    assert [Path(r["file"]) for r in rows] == list(files)
    for r, (f, doc) in zip(rows, files.items()):
        for k in ("scenario", "backend", "topology", "commit", "started_at"):
            assert r[k] == doc[k], (f, k)
        assert r["dirty"] == ("true" if doc["dirty"] else "false")
        assert r["passed"] == ("true" if doc["passed"] else "false")
        for metric in METRIC_FIELDS:
            want = expected_cell(doc, metric)
            if want is None:
                assert r[metric] == "", (f, metric)
            else:
                assert float(r[metric]) == pytest.approx(want, rel=1e-12), (f, metric)


def test_csv_a_row_per_result_file(procs: Any, tmp_path: Path) -> None:
    out = tmp_path / "base.csv"
    done = cli(procs, "csv", str(FIXTURES / "base"), "-o", str(out))
    assert done.rc == 0 and done.stdout == "", done.stderr
    text = out.read_bytes().decode()
    assert text.startswith(",".join(CSV_HEADER) + "\r\n")	# the header first
    header, rows = read_csv(text)
    assert header == CSV_HEADER
    files = {FIXTURES / "base" / n: d for n, d in results(FIXTURES / "base").items()}
    assert len(rows) == len(files) == 15
    check_rows(rows, files)
    assert {r["config"] for r in rows} == {""}	# these record no configuration
    assert rows[0]["p50"] == str(files[FIXTURES / "base" / "crr.kernel.r01.json"]
                                 ["metrics"]["latency_ns"]["p50"])	# an integer as written


def test_csv_to_stdout_several_sets_config_and_no_latency(procs: Any, tmp_path: Path) -> None:
    """Two sets and a file, to stdout; one copy records a configuration (a comma in it: the
    cell is quoted) and measured no transaction (no latency: empty cells)."""
    def edit(name: str, doc: dict) -> None:
        doc["params"]["stack_opts"] = ["mtu=9000", "rx=2"]
        if name == "echo_rr.kernel.r01.json":
            doc["metrics"]["latency_ns"].update(count=0, buckets=[])
            doc["passed"] = False
    edited = copy_set("same", tmp_path / "edited", edit)
    single = sorted((FIXTURES / "latency2x").glob("*.json"))[0]
    for out in ([], ["-o", "-"]):
        done = cli(procs, "csv", str(FIXTURES / "base"), str(edited), str(single), *out)
        assert done.rc == 0, done.stderr
        header, rows = read_csv(done.stdout)
        assert header == CSV_HEADER
        files = {FIXTURES / "base" / n: d for n, d in results(FIXTURES / "base").items()}
        files.update({edited / n: d for n, d in results(edited).items()})
        files[single] = json.loads(single.read_text())
        check_rows(rows, files)
        assert {r["config"] for r in rows if r["file"].startswith(str(edited))} == {
            "opts mtu=9000,rx=2"}
        blank = next(r for r in rows if r["file"] == str(edited / "echo_rr.kernel.r01.json"))
        assert blank["p50"] == blank["p99"] == blank["p99.9"] == ""
        assert blank["passed"] == "false" and blank["tps"] != ""
    assert '"opts mtu=9000,rx=2"' in done.stdout	# quoted: it holds the separator


# ---- through ./tcplab, without the build ----------------------------------------------------

@pytest.mark.parametrize("args", [["junit", "{F}/base"], ["csv", "{F}/base"]],
                         ids=["junit", "csv"])
def test_the_wrapper_runs_them_without_setup(tmp_path: Path, args: list[str]) -> None:
    """./tcplab dispatches junit and csv to the results tools: no ci/setup.sh (made to fail
    here, as pytest/test_install.py does), no build."""
    import subprocess
    env = {**os.environ, "TCPLAB_PACKAGES": str(tmp_path / "no-such-list.txt")}
    argv = [a.replace("{F}", str(FIXTURES)) for a in args]
    done = subprocess.run([str(ROOT / "tcplab"), *argv], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert "cannot read the package list" not in done.stderr, "the wrapper ran ci/setup.sh"
    assert done.returncode == 0, done.stderr
    if args[0] == "junit":
        assert len(suites(ET.fromstring(done.stdout.encode()))) == 15
    else:
        assert read_csv(done.stdout)[0] == CSV_HEADER
