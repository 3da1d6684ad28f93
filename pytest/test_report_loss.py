"""test_report_loss.py - the report's goodput-against-loss plot and the impair suite
(results/resultkit/lossplot.py, python/tcplab/bench/suite.py; issue 16 part 3).

The result sets are built here from the recorded stream_send runs of results/fixtures/base/
(five kernel runs): each copy gets a backend, a topology, the version string its backend
would report, a params.impair and a goodput of its own (the recorded one times a factor
per backend and loss rate, so the five runs keep their recorded spread). The expected
points are computed here from the files written, independently of resultkit. The
synthetic Linux runs at a loss rate above 0 cannot be recorded on this VM (a kernel side is
impaired through netem on a veth link end, and this kernel has no netem), but the report
must draw them where they exist.

The suite is run against a fake tcplab (a script: `list --json` names the four scenarios,
two backends and three topologies; `run` writes a result, or refuses an impaired kernel
side off veth the way the harness does on loopback), so no lab is made.
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from resultkit.lossplot import NotPlainLoss, read_loss, y_axis
from tcplab.proc import module_argv, module_env

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "results" / "fixtures" / "base"
RESULTS_CLI = ROOT / "results" / "tcplab_results.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LINUX = ("kernel", "loopback", None)	# None: keep the recorded versions.stack ("linux ...")
STACKS = {"stk_a": ("memif", "stk_a 2.1.3, dpdk 22.11"), "stk_b": ("memif", "stk_b 0.1"),
          # a plug-in over Linux sockets (like stack/example), named to sort before the
          # kernel: not the baseline, and not first
          "asock": ("loopback", "asock 1 (linux sockets)")}
# goodput factor per loss rate (of the recorded runs), per backend
FACTOR = {"kernel": {"0": 1.0, "0.1": 0.9, "1": 0.6, "5": 0.2},
          "stk_a": {"0": 0.5, "0.1": 0.4, "1": 0.1, "5": 0.01},
          "stk_b": {"0": 0.3, "0.1": 0.25, "1": 0.05, "5": 0.002},
          "asock": {"0": 0.8, "1": 0.5}}
SCENARIO = {"0": "stream_send", "0.1": "stream_send_loss01", "1": "stream_send_loss1",
            "5": "stream_send_loss5"}
# the spec each rate's scenario carries; the kernel's 1% run is placed on its SUT side (one
# stage each way as well: the same placement as engine:)
SPEC = {"0": None, "0.1": "engine:loss=0.1%", "1": "engine:loss=1%", "5": "engine:loss=5%;seed=3"}
# runs that are not on the main plot: other kinds, Gilbert-Elliott, another placement
OTHERS = [("stk_a", "stream_send_delay", "engine:loss=1%,delay=1ms", "delay (not loss)"),
          ("stk_a", "stream_send_ge", "engine:loss=ge(p=1%,r=25%)", "Gilbert-Elliott loss"),
          ("stk_b", "stream_send_mixed", "engine:tx:loss=1%;sut:rx:loss=2%",
           "loss rates differ between sides or directions")]
BOTH_SIDES = ("stk_a", "stream_send_both", "loss=1%")	# two stages each way: its own plot


def template(rep: int) -> dict[str, Any]:
    return json.loads((BASE / f"stream_send.kernel.r{rep:02d}.json").read_text())


def write_run(d: Path, backend: str, scenario: str, spec: str | None, factor: float,
              rep: int, vars_: dict[str, str] | None = None,
              stack_opts: list[str] | None = None) -> Path:
    doc = template(rep)
    topology, version = (LINUX[1], LINUX[2]) if backend == "kernel" else STACKS[backend]
    doc.update(scenario=scenario, backend=backend, sut_backend=backend, topology=topology)
    if version is not None:
        doc["versions"]["stack"] = version
    if spec is not None:
        doc["params"]["impair"] = spec
    elif rep % 2:	# loss 0: the field absent (older results) or null
        doc["params"]["impair"] = None
    if vars_ is not None:
        doc["params"]["vars"] = vars_
    if stack_opts is not None:
        doc["params"]["stack_opts"] = stack_opts
    doc["metrics"]["throughput_bps"] = doc["metrics"]["throughput_bps"] * factor
    path = d / f"{scenario}.{backend}.r{rep:02d}{'.opts' if stack_opts else ''}.json"
    path.write_text(json.dumps(doc))
    return path


def build_set(d: Path, with_linux: bool = True, manifest: dict | None = None) -> Path:
    d.mkdir(parents=True)
    for backend, rates in FACTOR.items():
        if backend == "kernel" and not with_linux:
            continue
        for rate, f in rates.items():
            spec = SPEC[rate]
            if backend == "kernel" and rate == "1":
                spec = "sut:loss=1%"
            for rep in range(1, 6):
                write_run(d, backend, SCENARIO[rate], spec, f, rep)
    for backend, scenario, spec, _ in OTHERS:
        for rep in range(1, 4):
            write_run(d, backend, scenario, spec, 0.3, rep)
    backend, scenario, spec = BOTH_SIDES
    for rep in range(1, 4):
        write_run(d, backend, scenario, spec, 0.07, rep)
    for rep in range(1, 4):	# another workload (16k writes) at 1%: its own plot
        write_run(d, "stk_a", "stream_send_16k", "engine:loss=1%", 0.05, rep, {"write": "16k"})
    if manifest is not None:
        (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def expected_points(d: Path) -> dict[tuple[str, float], dict[str, Any]]:
    """(backend, loss %) -> median, min, max, sources: from the files, for the main plot."""
    by: dict[tuple[str, float], list[tuple[str, float]]] = {}
    names = {s: r for r, s in SCENARIO.items()}
    for f in sorted(d.glob("*.json")):
        doc = json.loads(f.read_text())
        if doc.get("schema") != "tcplab.result/1" or doc["scenario"] not in names:
            continue
        rate = float(names[doc["scenario"]])
        by.setdefault((doc["backend"], rate), []).append(
            (str(f), doc["metrics"]["throughput_bps"] * 1e-9))
    return {k: {"median": statistics.median(v for _, v in runs),
                "min": min(v for _, v in runs), "max": max(v for _, v in runs),
                "sources": sorted(s for s, _ in runs)} for k, runs in by.items()}


def report(procs: Any, out: Path, *dirs: Path) -> dict[str, Any]:
    done = procs.run([sys.executable, str(RESULTS_CLI), "report", *map(str, dirs),
                      "--out", str(out)], 120.0)
    assert done.rc == 0, done.stderr
    return json.loads((out / "plots.json").read_text())


def loss_plots(sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in sidecar["plots"] if p["kind"] == "loss"]


def main_plot(plots: list[dict[str, Any]]) -> dict[str, Any]:
    [p] = [p for p in plots if p["placement"] == [1, 1] and p["workload"]["vars"] ==
           {"write": "64k"}]
    return p


@pytest.fixture(scope="module")
def with_linux(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A set with every backend, and its report (drawn once: matplotlib)."""
    import subprocess
    tmp = tmp_path_factory.mktemp("loss")
    d = build_set(tmp / "set")
    done = subprocess.run([sys.executable, str(RESULTS_CLI), "report", str(d), "--out",
                           str(tmp / "out")], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return d, tmp / "out"


@pytest.fixture(scope="module")
def sidecar(with_linux: tuple[Path, Path]) -> dict[str, Any]:
    return json.loads((with_linux[1] / "plots.json").read_text())


# ---- reading params.impair -------------------------------------------------------------------

@pytest.mark.parametrize("spec,loss,placement", [
    (None, "0", None), ("", "0", None), ("seed=7", "0", None), ("engine:loss=0%", "0", None),
    ("engine:loss=1%", "1", (1, 1)), ("sut:loss=1%", "1", (1, 1)),
    ("engine:tx:loss=0.1%;seed=3", "0.1", (1, 0)), ("sut:rx:loss=0.10%", "0.1", (1, 0)),
    ("engine:rx:loss=5%", "5", (0, 1)), ("loss=5%", "5", (2, 2)),
    ("engine:tx:loss=1%;sut:tx:loss=1%", "1", (1, 1)), ("tx:loss=2%", "2", (1, 1)),
])
def test_read_loss(spec: str | None, loss: str, placement: tuple[int, int] | None) -> None:
    assert read_loss(spec) == (Decimal(loss), placement)


@pytest.mark.parametrize("spec,why", [
    ("engine:loss=1%,delay=5ms~1ms", "delay"), ("sut:rx:dup=1%", "dup"),
    ("loss=ge(p=1%,r=25%,h=10%)", "Gilbert-Elliott"), ("rate=100mbit", "rate"),
    ("engine:tx:loss=1%;sut:rx:loss=2%", "differ"), ("loss=1", "cannot read"),
    ("engine:sut:loss=1%", "cannot read"), ("loss=101%", "cannot read"),
])
def test_read_loss_refuses_what_is_not_plain_loss(spec: str, why: str) -> None:
    with pytest.raises(NotPlainLoss, match=why):
        read_loss(spec)


def test_goodput_axis() -> None:
    assert y_axis([3.0, 0.2, 0.04]) == {"y_scale": "log"}
    assert y_axis([3.0, 0.0, 0.04]) == {"y_scale": "symlog", "y_linthresh": 0.01}
    assert y_axis([0.0, 0.0]) == {"y_scale": "linear"}


# ---- the plot ----------------------------------------------------------------------------------

def test_points_are_the_median_and_spread_of_the_runs(with_linux: tuple[Path, Path],
                                                       sidecar: dict[str, Any]) -> None:
    d, _ = with_linux
    plot = main_plot(loss_plots(sidecar))
    assert plot["loss_pct"] == [0, 0.1, 1, 5] and plot["x_axis"] == "categorical"
    want = expected_points(d)
    seen = set()
    for curve in plot["curves"]:
        rates = [p["loss_pct"] for p in curve["points"]]
        assert rates == sorted(rates), curve["label"]
        assert rates == [float(r) for r in FACTOR[curve["backend"]]]
        for p in curve["points"]:
            w = want[(curve["backend"], p["loss_pct"])]
            assert sorted(p["sources"]) == w["sources"]
            assert p["median"] == pytest.approx(w["median"])
            assert p["min"] == pytest.approx(w["min"]) and p["max"] == pytest.approx(w["max"])
            seen.add((curve["backend"], p["loss_pct"]))
    assert seen == set(want)	# every run of the family is on it, once


def test_linux_is_the_reference_and_first(sidecar: dict[str, Any]) -> None:
    plot = main_plot(loss_plots(sidecar))
    labels = [c["label"] for c in plot["curves"]]
    assert labels == ["kernel/loopback", "asock/loopback", "stk_a/memif", "stk_b/memif"]
    assert [c["reference"] for c in plot["curves"]] == [True, False, False, False]
    assert plot["reference"] == ["kernel/loopback"]
    assert "Reference: kernel/loopback, the Linux baseline" in plot["caption"]
    assert "no reference" not in plot["caption"] and "has no runs at" not in plot["caption"]


def test_other_impairments_are_left_out_and_named(with_linux: tuple[Path, Path],
                                                  sidecar: dict[str, Any]) -> None:
    d, _ = with_linux
    plots = loss_plots(sidecar)
    on_a_plot = {s for p in plots for c in p["curves"] for pt in c["points"]
                 for s in pt["sources"]}
    for backend, scenario, spec, why in OTHERS:
        files = {str(f) for f in d.glob(f"{scenario}.{backend}.r*.json")}
        assert files and not files & on_a_plot, scenario
        excl = [e for e in main_plot(plots)["excluded"] if e["source"] in files]
        assert len(excl) == len(files) and {e["why"] for e in excl} == {why}
        assert all(e["impair"] == spec for e in excl)
    assert "Left out: 9 run(s)" in main_plot(plots)["caption"]


def test_placement_and_workload_make_their_own_plots(sidecar: dict[str, Any]) -> None:
    plots = loss_plots(sidecar)
    assert len(plots) == 3
    both = next(p for p in plots if p["placement"] == [2, 2])
    assert both["loss_pct"] == [0, 1]
    stk_a = next(c for c in both["curves"] if c["backend"] == "stk_a")
    assert [pt["scenarios"] for pt in stk_a["points"]] == [["stream_send"],
                                                          ["stream_send_both"]]
    assert both["curves"][0]["label"] == "kernel/loopback"	# loss 0 joins every placement
    k16 = next(p for p in plots if p["workload"]["vars"] == {"write": "16k"})
    assert [c["label"] for c in k16["curves"]] == ["stk_a/memif"] and k16["loss_pct"] == [1]
    assert k16["reference"] == [] and "No Linux baseline runs" in k16["caption"]
    assert len({p["file"] for p in plots}) == 3


def test_a_configuration_is_a_curve_of_its_own(procs: Any, tmp_path: Path) -> None:
    """A --stack-opt makes another configuration (resultset.config_of), as in compare."""
    d = build_set(tmp_path / "set")
    want = expected_points(d)
    for rep in range(1, 4):
        write_run(d, "stk_a", SCENARIO["1"], SPEC["1"], 0.2, rep, stack_opts=["checksum=on"])
    plot = main_plot(loss_plots(report(procs, tmp_path / "out", d)))
    labels = [c["label"] for c in plot["curves"]]
    assert labels[:2] == ["kernel/loopback", "asock/loopback"] and labels[-1] == "stk_b/memif"
    plain, opts = plot["curves"][2:4]	# "" sorts first: the fixture records no configuration
    assert plain["config"] == "" and plain["label"] == "stk_a/memif [no configuration recorded]"
    assert opts["config"] == "opts checksum=on"
    assert opts["label"] == "stk_a/memif [opts checksum=on]"
    assert sorted(plain["points"][2]["sources"]) == want[("stk_a", 1.0)]["sources"]
    assert [p["loss_pct"] for p in opts["points"]] == [1] and len(opts["points"][0]["sources"]) == 3


def test_the_png_and_the_page(with_linux: tuple[Path, Path], sidecar: dict[str, Any]) -> None:
    import matplotlib.image
    out = with_linux[1]
    page = (out / "report.html").read_text()
    assert "<h2>Goodput against loss rate</h2>" in page
    for plot in loss_plots(sidecar):
        data = (out / plot["file"]).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
        assert matplotlib.image.imread(out / plot["file"]).std() > 0.01
        m = re.search(r'id="' + re.escape(plot["file"]) + r'".*?<figcaption>(.*?)</figcaption>',
                      page, re.S)
        assert m and "Goodput (throughput_bps)" in m.group(1), plot["file"]
    kinds = [p["kind"] for p in sidecar["plots"]]
    assert kinds == sorted(kinds, key=["spectrum", "bars", "loss"].index)	# the page's order


def test_caption_says_when_the_baseline_is_missing(procs: Any, tmp_path: Path) -> None:
    manifest = {"schema": "tcplab.manifest/1", "skipped_runs": [], "skipped_backends": [
        {"backend": "kernel", "reason": "tcplab run: kernel: not today"}]}
    d = build_set(tmp_path / "set", with_linux=False, manifest=manifest)
    plot = main_plot(loss_plots(report(procs, tmp_path / "out", d)))
    assert plot["reference"] == [] and not any(c["reference"] for c in plot["curves"])
    assert [c["label"] for c in plot["curves"]] == ["asock/loopback", "stk_a/memif",
                                                     "stk_b/memif"]
    assert "No Linux baseline runs in this set" in plot["caption"]
    assert "kernel (all): tcplab run: kernel: not today" in plot["caption"]


def test_baseline_missing_at_some_rates(procs: Any, tmp_path: Path) -> None:
    d = build_set(tmp_path / "set")
    for f in d.glob("stream_send_loss*.kernel.*.json"):
        f.unlink()
    plot = main_plot(loss_plots(report(procs, tmp_path / "out", d)))
    ref = plot["curves"][0]
    assert ref["reference"] and [p["loss_pct"] for p in ref["points"]] == [0]
    assert "it has no runs at 0.1%, 1%, 5%" in plot["caption"]


def test_no_loss_plot_without_a_lossy_run(procs: Any, tmp_path: Path) -> None:
    sidecar = report(procs, tmp_path / "out", BASE)
    assert loss_plots(sidecar) == []
    assert "Goodput against loss" not in (tmp_path / "out" / "report.html").read_text()


def test_one_plot_per_set(procs: Any, tmp_path: Path) -> None:
    a = build_set(tmp_path / "a")
    b = build_set(tmp_path / "b", with_linux=False)
    plots = [p for p in loss_plots(report(procs, tmp_path / "out", a, b))
             if p["placement"] == [1, 1] and p["workload"]["vars"] == {"write": "64k"}]
    assert [p["set"].split(":")[0] for p in plots] == ["1", "2"]
    assert [bool(p["reference"]) for p in plots] == [True, False]
    assert len({p["file"] for p in plots}) == 2


# ---- the impair suite, against a fake tcplab -----------------------------------------------

FAKE = '''#!{python}
import json, sys
from pathlib import Path
SPECS = {specs!r}
argv = sys.argv[1:]
if argv[:2] == ["list", "--json"]:
    print(json.dumps({{"scenarios": [{{"name": n, "description": n, "program": "sink",
                                       "path": n}} for n in SPECS],
                      "backends": [{{"name": "kernel", "attach": "sockets"}},
                                   {{"name": "stk_a", "attach": "dpdk"}}],
                      "topologies": [{{"name": n}} for n in ("loopback", "memif", "veth")]}}))
    sys.exit(0)
name, backend = argv[1], argv[argv.index("--backend") + 1]
out = Path(argv[argv.index("--out") + 1])
topology = argv[argv.index("--topology") + 1] if "--topology" in argv else None
if backend == "kernel" and SPECS[name] and topology != "veth":	# netem: a link end
    print("tcplab run: impair: the engine side is kernel sockets, impaired with netem on "
          "its own link end, and topology loopback gives it none", file=sys.stderr)
    sys.exit(2)
doc = json.loads(Path({template!r}).read_text())
doc.update(scenario=name, backend=backend, topology=topology or ("loopback" if backend ==
           "kernel" else "memif"))
if backend != "kernel":
    doc["versions"]["stack"] = "stk_a 1"
doc["params"]["impair"] = SPECS[name]
(out / (name + ".json")).write_text(json.dumps(doc))
'''


def test_impair_suite_skips_what_the_harness_refuses(procs: Any, tmp_path: Path) -> None:
    from tcplab.bench.suite import SUITES
    names = SUITES["impair"].scenarios
    assert names == tuple(SCENARIO.values())
    fake = tmp_path / "tcplab"
    fake.write_text(FAKE.format(python=sys.executable, template=str(BASE /
                                "stream_send.kernel.r01.json"),
                                specs={n: SPEC[r] for r, n in SCENARIO.items()}))
    fake.chmod(0o755)
    env = module_env({"TCPLAB_BIN": str(fake), "TCPLAB_COMMIT": "e" * 40,
                      "TCPLAB_DIRTY": "0"})
    done = procs.run(module_argv("bench", "impair", "--reps", "2", "--runs-dir",
                                 str(tmp_path / "runs")), 60.0, env)
    assert done.rc == 0, done.stderr
    run_dir = Path(done.stdout.strip())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["suite"] == "impair" and manifest["failures"] == []
    assert manifest["backends"] == ["kernel", "stk_a"] and manifest["complete"] is True
    assert sorted((s["scenario"], s["backend"]) for s in manifest["skipped_runs"]) == \
        sorted((n, "kernel") for n in names[1:])
    assert all("gives it none" in s["reason"] for s in manifest["skipped_runs"])
    tried = [(r["scenario"], r["backend"], r["rep"]) for r in manifest["runs"]]
    assert len(tried) == 4 * 2 + 1 * 2 + 3	# stk_a all; kernel stream_send x2, refused x1 each
    assert sorted(f.name for f in run_dir.glob("*.r*.json")) == sorted(
        [f"{n}.stk_a.r{r:02d}.json" for n in names for r in (1, 2)]
        + [f"stream_send.kernel.r{r:02d}.json" for r in (1, 2)])
    plot = main_plot(loss_plots(report(procs, tmp_path / "out", run_dir)))
    assert [c["label"] for c in plot["curves"]] == ["kernel/loopback", "stk_a/memif"]
    assert plot["loss_pct"] == [0, 0.1, 1, 5]
    assert "it has no runs at 0.1%, 1%, 5%" in plot["caption"]
    assert "gives it none" in plot["caption"]


def test_impair_suite_on_one_topology(procs: Any, tmp_path: Path) -> None:
    """--topology veth: every run there; where a kernel side can be impaired (netem, faked
    here), the Linux curve has every loss rate and nothing is skipped."""
    fake = tmp_path / "tcplab"
    fake.write_text(FAKE.format(python=sys.executable, template=str(BASE /
                                "stream_send.kernel.r01.json"),
                                specs={n: SPEC[r] for r, n in SCENARIO.items()}))
    fake.chmod(0o755)
    env = module_env({"TCPLAB_BIN": str(fake), "TCPLAB_COMMIT": "e" * 40,
                      "TCPLAB_DIRTY": "0"})
    done = procs.run(module_argv("bench", "impair", "--reps", "1", "--topology", "nosuch"),
                     60.0, env)
    assert done.rc == 2 and "unknown topology nosuch" in done.stderr, done.stderr
    done = procs.run(module_argv("bench", "impair", "--reps", "1", "--topology", "veth",
                                 "--runs-dir", str(tmp_path / "runs")), 60.0, env)
    assert done.rc == 0, done.stderr
    run_dir = Path(done.stdout.strip())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["topology"] == "veth" and manifest["skipped_runs"] == []
    plot = main_plot(loss_plots(report(procs, tmp_path / "out", run_dir)))
    assert [c["label"] for c in plot["curves"]] == ["kernel/veth", "stk_a/veth"]
    assert [[p["loss_pct"] for p in c["points"]] for c in plot["curves"]] == [[0, 0.1, 1, 5]] * 2


def test_outside_the_impair_suite_a_refusal_fails(procs: Any, tmp_path: Path) -> None:
    """quick keeps its rule: a run refused after the backend's first is a failure."""
    fake = tmp_path / "tcplab"
    specs = {"echo_rr": None, "rr_many": "loss=1%"}	# quick's names, so quick can pick them
    fake.write_text(FAKE.format(python=sys.executable, template=str(BASE /
                                "stream_send.kernel.r01.json"), specs=specs))
    fake.chmod(0o755)
    env = module_env({"TCPLAB_BIN": str(fake), "TCPLAB_COMMIT": "e" * 40,
                      "TCPLAB_DIRTY": "0"})
    done = procs.run(module_argv("bench", "quick", "--reps", "1", "--scenario", "echo_rr",
                                 "--scenario", "rr_many", "--backend", "kernel",
                                 "--runs-dir", str(tmp_path / "runs")), 60.0, env)
    assert done.rc == 1, done.stderr
    manifest = json.loads((Path(done.stdout.strip()) / "manifest.json").read_text())
    assert manifest["skipped_runs"] == [] and len(manifest["failures"]) == 1


def test_a_suite_with_a_scenario_not_listed_is_refused(procs: Any, tmp_path: Path) -> None:
    fake = tmp_path / "tcplab"
    fake.write_text(FAKE.format(python=sys.executable, template="", specs={"stream_send": None}))
    fake.chmod(0o755)
    done = procs.run(module_argv("bench", "impair", "--dry-run"), 60.0,
                     module_env({"TCPLAB_BIN": str(fake)}))
    assert done.rc == 2 and "stream_send_loss01" in done.stderr, done.stderr
    assert "not in tcplab list" in done.stderr and "Traceback" not in done.stderr
