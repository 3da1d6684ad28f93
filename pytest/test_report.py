"""test_report.py - tcplab report (results/, issue 6): the HTML page and its PNG plots.

The report is built once per session from the recorded fixtures (results/fixtures/: base/
overlaid with latency2x/) and a conformance document written here. Checks: the files exist,
the PNGs are real non-blank images, the numbers behind each plot (plots.json, also embedded
in the page) match the result files they came from (recomputed here with the tcplab
package's percentile reference), and the page renders in headless Chromium with every plot decoded
and no script error.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tcplab.percentile import from_buckets

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "results" / "fixtures"
RESULTS_CLI = ROOT / "results" / "tcplab_results.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_TIMEOUT_S = 60.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ANCHORS = {"50": "p50", "90": "p90", "99": "p99", "99.9": "p99_9", "99.99": "p99_99"}

CONFORMANCE = {"schema": "tcplab.conformance/1", "stacks": ["stk_a", "stk_b"], "cases": [
    {"name": "recv_peek", "description": "peek leaves data queued", "verdict": "match",
     "reason": "", "kernel": {"sut": [{"op": "recv", "ret": 5}], "peer": []},
     "others": [{"backend": "stk_a", "verdict": "match", "reason": "",
                 "first_difference": None,
                 "trace": {"sut": [{"op": "recv", "ret": 5}], "peer": []}},
                {"backend": "stk_b", "verdict": "match", "reason": "",
                 "first_difference": None,
                 "trace": {"sut": [{"op": "recv", "ret": 5}], "peer": []}}]},
    {"name": "linger_zero_close", "description": "RST on close", "verdict": "match",
     "reason": "", "kernel": {"sut": [{"op": "recv", "err": "ECONNRESET"}], "peer": []},
     "others": [{"backend": "stk_a", "verdict": "divergence", "reason": "differs",
                 "first_difference": {"side": "sut", "step": 1, "line": 9},
                 "trace": {"sut": [{"op": "recv", "err": "EPIPE"}], "peer": []}},
                {"backend": "stk_b", "verdict": "listed-divergence", "reason": "stk_b lacks it",
                 "first_difference": {"side": "sut", "step": 1, "line": 9},
                 "trace": {"sut": [{"op": "recv", "err": "ENOTCONN"}], "peer": []}}]}]}


def run_cli(procs: Any, *args: str) -> Any:
    return procs.run([sys.executable, str(RESULTS_CLI), *args], 120.0)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report of base/ + latency2x/ with a conformance table (built once: matplotlib)."""
    import subprocess
    tmp = tmp_path_factory.mktemp("report")
    conf = tmp / "conformance.json"
    conf.write_text(json.dumps(CONFORMANCE))
    done = subprocess.run([sys.executable, str(RESULTS_CLI), "report", str(FIXTURES / "base"),
                           str(FIXTURES / "latency2x"), "--out", str(tmp / "out"),
                           "--conformance", str(conf)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp / "out" / "report.html")
    return tmp / "out"


@pytest.fixture(scope="module")
def sidecar(report_dir: Path) -> dict:
    doc = json.loads((report_dir / "plots.json").read_text())
    assert doc["schema"] == "tcplab.report/1"
    return doc


def fixture_results(d: Path) -> dict[str, dict]:
    return {str(f): json.loads(f.read_text()) for f in sorted(d.glob("*.json"))}


def test_every_plot_is_a_non_empty_png(report_dir: Path, sidecar: dict) -> None:
    import matplotlib.image
    kinds = [p["kind"] for p in sidecar["plots"]]
    scenarios = {json.loads(f.read_text())["scenario"] for f in (FIXTURES / "base").glob("*")}
    assert kinds.count("spectrum") == len(scenarios)
    bars = [p for p in sidecar["plots"] if p["kind"] == "bars"]
    assert sorted(p["scenario"] for p in bars) == sorted(scenarios)	# one plot a scenario
    assert {pn["metric"] for p in bars for pn in p["panels"]} == \
        {"throughput_bps", "tps", "connections_per_s"}
    for plot in sidecar["plots"]:
        png = report_dir / plot["file"]
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, png
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert pixels.std() > 0.01, f"{png} is blank"


def test_spectrum_data_matches_the_results(sidecar: dict) -> None:
    """Every run of both sets is one line; its points are the run's own histogram."""
    expected = {**fixture_results(FIXTURES / "base"), **fixture_results(FIXTURES / "latency2x")}
    seen = set()
    for plot in (p for p in sidecar["plots"] if p["kind"] == "spectrum"):
        for s in plot["series"]:
            result = expected[s["source"]]
            assert result["scenario"] == plot["key"]["scenario"]
            lat = result["metrics"]["latency_ns"]
            want = [from_buckets(lat["buckets"], lat["min"], lat["max"], p)
                    for p in s["percentiles"]]
            assert s["latency_ns"] == want, s["source"]
            for p, field in ANCHORS.items():	# the C side's own percentiles
                if p in s["percentiles"]:
                    assert s["latency_ns"][s["percentiles"].index(p)] == lat[field], (p, field)
            assert "99.9" in s["percentiles"] and s["percentiles"][0] == "0"
            seen.add(s["source"])
    assert seen == set(expected)


def test_bar_data_matches_the_results(sidecar: dict) -> None:
    expected = {**fixture_results(FIXTURES / "base"), **fixture_results(FIXTURES / "latency2x")}
    base_label = sidecar["sets"][0]["label"]
    bars = [p for p in sidecar["plots"] if p["kind"] == "bars"]
    for plot in bars:
        assert plot["file"] == f"bars-{plot['scenario']}.png"
        for panel in plot["panels"]:
            for group in panel["groups"]:
                assert group["key"]["scenario"] == plot["scenario"]
                assert len(group["bars"]) == 2	# one per set
                for bar in group["bars"]:
                    vals = [expected[src]["metrics"][panel["metric"]] * panel["scale"]
                            for src in bar["sources"]]
                    assert all(expected[src]["scenario"] == plot["scenario"]
                               for src in bar["sources"])
                    assert bar["values"] == pytest.approx(vals)
                    srt = sorted(vals)
                    assert bar["min"] == pytest.approx(srt[0])
                    assert bar["max"] == pytest.approx(srt[-1])
                    assert bar["median"] == pytest.approx(srt[len(srt) // 2])	# 5 runs: odd
                base = next(b for b in group["bars"] if b["set"] == base_label)
                for bar in group["bars"]:	# latency2x leaves the rates as they were
                    assert bar["ratio"] == pytest.approx(bar["median"] / base["median"])
                    assert bar["ratio"] == pytest.approx(1.0)
    tps = {p["scenario"] for p in bars if any(pn["metric"] == "tps" for pn in p["panels"])}
    assert tps == {r["scenario"] for r in fixture_results(FIXTURES / "base").values()}
    crr = next(p for p in bars if p["scenario"] == "crr")	# the one that measures connects
    assert [pn["metric"] for pn in crr["panels"]] == ["throughput_bps", "tps",
                                                      "connections_per_s"]
    echo = next(p for p in bars if p["scenario"] == "echo_rr")
    assert "connections_per_s" not in [pn["metric"] for pn in echo["panels"]]


def test_page_embeds_the_same_plots_and_data(report_dir: Path, sidecar: dict) -> None:
    page = (report_dir / "report.html").read_text()
    m = re.search(r'<script type="application/json" id="plot-data">(.*?)</script>', page, re.S)
    assert m, "no embedded plot data"
    assert json.loads(m.group(1).replace("<\\/", "</")) == sidecar
    images = re.findall(r'<img class="plot" id="([^"]+)" data-file="[^"]+" alt="[^"]*" '
                        r'src="data:image/png;base64,([^"]+)"', page)
    assert [f for f, _ in images] == [p["file"] for p in sidecar["plots"]]
    for fname, b64 in images:
        assert base64.b64decode(b64) == (report_dir / fname).read_bytes()
    assert "http://" not in page and "https://" not in page	# self-contained
    assert "<table id=conformance>" in page


def test_conformance_has_a_column_per_stack(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text()
    table = page[page.index("<table id=conformance>"):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert re.findall(r"<th>(.*?)</th>", rows[0]) == ["case", "Linux", "stk_a", "stk_b"]
    cells = {re.findall(r"<td[^>]*>(.*?)</td>", r)[0]: re.findall(r"<td([^>]*)>(.*?)</td>", r)
             for r in rows[1:]}
    assert [c for _, c in cells["recv_peek"]][1:] == ["all ok", "match", "match"]
    attrs, texts = zip(*cells["linger_zero_close"])
    assert texts[2:] == ("divergence: recv=EPIPE", "listed-divergence: recv=ENOTCONN")
    assert 'class="listed-divergence"' in attrs[3] and 'title="stk_b lacks it"' in attrs[3]


def chromium_argv(profile: Path, *args: str) -> list[str]:
    return [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            "--virtual-time-budget=5000", *args]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: ci/packages.txt lists chromium; run "
                    "ci/setup.sh packages (as root)")
    return CHROMIUM


def test_renders_in_headless_chromium(report_dir: Path, sidecar: dict, chromium: Path,
                                      procs: Any, tmp_path: Path) -> None:
    page = (report_dir / "report.html").as_uri()
    done = procs.run(chromium_argv(tmp_path / "profile", "--dump-dom", page),
                     CHROMIUM_TIMEOUT_S)
    assert done.rc == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, f"no <body> in the DOM dump: {done.stdout[:500]!r}"
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("rendered") == "yes", f"the load handler did not run: {attrs}"
    assert attrs["plots-expected"] == str(len(sidecar["plots"]))
    assert attrs["plots-loaded"] == str(len(sidecar["plots"])), attrs
    assert attrs["plots-failed"] == "0" and attrs["errors"] == "0", attrs
    assert "linger_zero_close" in done.stdout and "divergence" in done.stdout
    shot = tmp_path / "shot.png"
    done = procs.run(chromium_argv(tmp_path / "profile2", f"--screenshot={shot}",
                                   "--window-size=1200,1600", page), CHROMIUM_TIMEOUT_S)
    assert done.rc == 0 and shot.is_file() and shot.stat().st_size > 10000, done.stderr[-2000:]
    assert not procs.tagged_pids(), "chromium left processes behind"


def test_report_without_conformance_has_no_table(procs: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli(procs, "report", str(FIXTURES / "same"), "--out", str(out),
                   "--conformance", str(tmp_path / "absent.json"))
    assert done.rc == 2 and "no such file" in done.stderr	# named but missing: bad input
    src = tmp_path / "run"
    shutil.copytree(FIXTURES / "same", src)
    done = run_cli(procs, "report", str(src))	# default: DIR/report
    assert done.rc == 0, done.stderr
    assert Path(done.stdout.strip()) == src / "report" / "report.html"
    page = (src / "report" / "report.html").read_text()
    has_conf = (ROOT / "results" / "conformance.json").is_file()
    assert ("<table id=conformance>" in page) == has_conf


@pytest.mark.parametrize("what", ["missing_dir", "bad_conformance", "wrong_schema"])
def test_report_bad_input_exit_2(procs: Any, tmp_path: Path, what: str) -> None:
    args = [str(FIXTURES / "base"), "--out", str(tmp_path / "out")]
    needle = ""
    if what == "missing_dir":
        args[0], needle = str(tmp_path / "nope"), "no such directory"
    elif what == "bad_conformance":
        conf = tmp_path / "c.json"
        conf.write_text(json.dumps({"schema": "something/else"}))
        args += ["--conformance", str(conf)]
        needle = "tcplab.conformance/1"
    else:
        d = tmp_path / "d"
        d.mkdir()
        (d / "r.json").write_text(json.dumps({"schema": "tcplab.result/0"}))
        args[0], needle = str(d), "mismatched schema"
    done = run_cli(procs, "report", *args)
    lines = done.stderr.strip().splitlines()
    assert done.rc == 2 and len(lines) == 1 and needle in lines[0], done.stderr
    assert not (tmp_path / "out" / "report.html").exists()


# ---- the page's layout (issue 17, part 4): the verdict first, a throughput plot a scenario --

def page_index(page: str, needle: str) -> int:
    assert needle in page, f"{needle!r} not on the page"
    return page.index(needle)


def compare_doc(procs: Any, base: Path, new: Path) -> dict:
    done = run_cli(procs, "compare", str(base), str(new), "--json")
    assert done.rc in (0, 1), done.stderr
    return json.loads(done.stdout)


def verdict_rows(page: str, table_id: str) -> list[list[str]]:
    table = page[page_index(page, f"<table id={table_id}>"):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    assert re.findall(r"<th>(.*?)</th>", rows[0])[:3] == ["scenario", "backend", "metric"]
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows[1:]]


def test_the_page_opens_with_the_verdict(report_dir: Path, sidecar: dict, procs: Any) -> None:
    """Two sets: compare of the first two comes first, then the sets, the spectra, the
    throughput panels, the conformance table."""
    page = (report_dir / "report.html").read_text()
    order = [page_index(page, "<section id=verdict>"), page_index(page, "<h2>Result sets</h2>"),
             page_index(page, '<img class="plot" id="spectrum-'),
             page_index(page, "<div class=panels id=rates>"),
             page_index(page, "<table id=conformance>")]
    assert order == sorted(order), order
    assert page.index("<section id=verdict>") < page.index("<img")	# before any plot
    doc = compare_doc(procs, FIXTURES / "base", FIXTURES / "latency2x")
    c = doc["counts"]
    summary = re.search(r"<p class=summary>(.*?)</p>", page).group(1)
    assert summary.startswith(f"{c['worse']} worse, {c['better']} better, {c['same']} same")
    assert summary.endswith("REGRESSION") and c["worse"] > 0
    changed = [(r["scenario"], f"{r['backend']}/{r['topology']}", r["metric"], r["verdict"])
               for r in doc["rows"] if r["verdict"] != "same"]
    assert [(r[0], r[1], r[2], r[6]) for r in verdict_rows(page, "verdict-changed")] == changed
    assert len(verdict_rows(page, "verdict-all")) == len(doc["rows"])
    assert page.count('<tr class=worse') == 2 * c["worse"]	# in both tables
    v = sidecar["verdict"]
    assert v["counts"] == c and v["exit"] == doc["exit"] == 1 and v["refused"] is None
    assert (v["base"], v["new"]) == (sidecar["sets"][0]["label"], sidecar["sets"][1]["label"])
    assert len(v["changed"]) == len(changed)


def test_throughput_is_a_small_plot_per_scenario(report_dir: Path, sidecar: dict) -> None:
    """The rates section holds one figure per scenario, each a PNG of its own whose width
    grows with its panels (crr measures three rates, echo_rr two), not with the set."""
    import matplotlib.image
    page = (report_dir / "report.html").read_text()
    rates = page[page_index(page, "<div class=panels id=rates>"):]
    rates = rates[:rates.index("</div>")]
    bars = [p for p in sidecar["plots"] if p["kind"] == "bars"]
    assert re.findall(r'<img class="plot" id="([^"]+)"', rates) == [p["file"] for p in bars]
    assert "spectrum-" not in rates and "loss-" not in rates
    width = {p["scenario"]: matplotlib.image.imread(report_dir / p["file"]).shape[1]
             for p in bars}
    assert width["crr"] > width["echo_rr"] and max(width.values()) <= 1200, width
    assert "ratio to the median of set" in page


def test_many_scenarios_do_not_widen_a_plot(procs: Any, tmp_path: Path) -> None:
    """Twelve scenarios (copies of echo_rr renamed): twelve plots, none wider than one
    scenario's (the old single bar chart grew by 160 px a scenario)."""
    import matplotlib.image
    d = tmp_path / "many"
    d.mkdir()
    for i in range(12):
        for f in sorted((FIXTURES / "base").glob("echo_rr.*.json"))[:3]:
            doc = json.loads(f.read_text())
            doc["scenario"] = f"s{i:02d}"
            (d / f"s{i:02d}.{f.name.split('.', 1)[1]}").write_text(json.dumps(doc))
    out = tmp_path / "out"
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(CONFORMANCE))
    done = run_cli(procs, "report", str(d), "--out", str(out), "--conformance", str(conf))
    assert done.rc == 0, done.stderr
    doc = json.loads((out / "plots.json").read_text())
    bars = [p for p in doc["plots"] if p["kind"] == "bars"]
    assert [p["scenario"] for p in bars] == [f"s{i:02d}" for i in range(12)]
    widths = {matplotlib.image.imread(out / p["file"]).shape[1] for p in bars}
    assert len(widths) == 1 and widths.pop() <= 1000
    page = (out / "report.html").read_text()
    assert "<section id=verdict>" not in page and doc["verdict"] is None	# one set
    assert all(b["ratio"] == 1.0 for p in bars for pn in p["panels"] for g in pn["groups"]
               for b in g["bars"])


def test_three_sets_ratios_to_the_first(procs: Any, tmp_path: Path) -> None:
    """base, throughput70, latency2x: the verdict is base against throughput70 (the rates
    worse), the third set is drawn, not compared; each bar's ratio is to base's median."""
    out = tmp_path / "out"
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(CONFORMANCE))
    done = run_cli(procs, "report", str(FIXTURES / "base"), str(FIXTURES / "throughput70"),
                   str(FIXTURES / "latency2x"), "--out", str(out), "--conformance", str(conf))
    assert done.rc == 0, done.stderr
    doc = json.loads((out / "plots.json").read_text())
    labels = [s["label"] for s in doc["sets"]]
    assert doc["verdict"]["new"] == labels[1] and doc["verdict"]["exit"] == 1
    assert {r["metric"] for r in doc["verdict"]["changed"]} == {"tps", "throughput",
                                                                  "connections/s"}
    for p in (p for p in doc["plots"] if p["kind"] == "bars"):
        for pn in p["panels"]:
            for g in pn["groups"]:
                ratio = {b["set"]: b["ratio"] for b in g["bars"]}
                assert ratio[labels[0]] == 1.0
                assert ratio[labels[1]] == pytest.approx(0.7, abs=1e-3)
                assert ratio[labels[2]] == pytest.approx(1.0)
    page = (out / "report.html").read_text()
    section = page[page_index(page, "<section id=verdict>"):page.index("</section>")]
    assert f"Sets {labels[2]} are drawn below, not compared." in section.replace("&#x27;", "'")


def test_a_refused_verdict_is_said_and_the_report_written(procs: Any, tmp_path: Path) -> None:
    """Sets from two host kinds: compare refuses them; the report says why, exit 0."""
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "same", other)
    for f in other.glob("*.json"):
        doc = json.loads(f.read_text())
        doc["host"]["cpu_model"] = "Other CPU"
        f.write_text(json.dumps(doc))
    out = tmp_path / "out"
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(CONFORMANCE))
    done = run_cli(procs, "report", str(FIXTURES / "base"), str(other), "--out", str(out),
                   "--conformance", str(conf))
    assert done.rc == 0, done.stderr
    doc = json.loads((out / "plots.json").read_text())
    assert "different host kinds" in doc["verdict"]["refused"]
    page = (out / "report.html").read_text()
    refused = re.search(r"<p class=refused>Not compared: (.*?)</p>", page)
    assert refused and "different host kinds" in refused.group(1)
    assert page.index("<p class=refused>") < page.index("<h2>Result sets</h2>")
    assert "<table id=verdict-changed>" not in page
