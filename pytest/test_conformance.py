"""Conformance: every case of scenarios/conformance/ is its own test.

One `tcplab conform` run per session (namespaces and veth made and removed by it) compares
each case's traces on every backend this machine can drive with the kernel oracle. A match
passes; a listed divergence is an expected failure with its reason; anything else fails
with the first differing step, the kernel's value and the other's. With only the kernel
backend built, the kernel is compared with itself in a fresh run: the oracle must be
deterministic and every script must complete on both sides.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import pytest
from tcplab import UsageError, conform, verdicts
from tcplab.proc import module_argv, module_env
from tcplab.topology import Table
from tcplab.verdicts import Run

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted(p.stem for p in (ROOT / "scenarios" / "conformance").glob("*.case"))


def compared_backends(table: Table) -> list[str]:
    others = [b.name for b in table.backends if b.name != verdicts.ORACLE]
    return others or [verdicts.ORACLE]


def conform_cmd(tcplab_bin: Path, *args: str, timeout: float | None = None) -> \
        subprocess.CompletedProcess:
    """`tcplab conform ARGS` (python3 -m tcplab.conform) on this binary, to completion."""
    return subprocess.run(module_argv("conform", *args), capture_output=True, text=True,
                          env=module_env({"TCPLAB_BIN": str(tcplab_bin)}), timeout=timeout)


@pytest.fixture(scope="session")
def conformance(tcplab_bin: Path, table: Table,
                tmp_path_factory: pytest.TempPathFactory) -> dict:
    if os.geteuid() != 0:
        pytest.skip("netns: needs root")
    out = tmp_path_factory.mktemp("conform")
    # the packet-level checks and the .pkt scripts have their own tests (test_packets.py,
    # test_pkt_runner.py)
    args = ["--json", str(out / "c.json"), "--md", str(out / "c.md"), "--no-packets",
            "--no-scripts"]
    for b in compared_backends(table):
        args += ["--backend", b]
    done = conform_cmd(tcplab_bin, *args, timeout=600)
    assert done.returncode in (0, 1), f"tcplab conform exit {done.returncode}: {done.stderr}"
    doc = json.loads((out / "c.json").read_text())
    doc["markdown"] = (out / "c.md").read_text()
    return doc


@pytest.mark.netns
@pytest.mark.parametrize("case", CASES)
def test_case(conformance: dict, case: str) -> None:
    res = next(r for r in conformance["cases"] if r["name"] == case)
    assert res["verdict"] == "match", f"{case}: {res['verdict']}: {res['reason']}"
    assert res["kernel"]["sut"], f"{case}: the kernel SUT trace is empty"
    for other in res["others"]:	# a listed one that now matches fails until unlisted
        assert not (other["verdict"] == "match" and other["reason"]), (
            f"{case} now matches the kernel on {other['backend']}: its line in "
            f"scenarios/conformance/divergences.txt can go")
    for other in res["others"]:
        if other["verdict"] == "listed-divergence":
            pytest.xfail(f"{other['backend']}: {other['reason']}")
        diff = other["first_difference"]
        assert other["verdict"] == "match", (
            f"{case} on {other['backend']}: {other['reason']}; first difference: "
            f"{diff and diff['side']} step {diff and diff['step']} (line "
            f"{diff and diff['line']}): kernel {diff and diff['kernel']}, "
            f"{other['backend']} {diff and diff['other']}")


@pytest.mark.netns
def test_parity_table_has_a_row_per_case(conformance: dict) -> None:
    parity = conformance["markdown"].split("\n## ")[0]	# the requirement matrix follows
    rows = [line for line in parity.splitlines()
            if line.startswith("| ") and not line.startswith("| case ")]
    named = {row.split("|")[1].strip() for row in rows}
    assert named == set(CASES)
    assert len(CASES) >= 45


def expected_namespaces(table: Table, backends: list[str]) -> int:
    """How many namespaces the run makes: one set per topology picked (the kernel's and each
    backend's), one namespace if its sides share it, else two."""
    picked = {table.peer_topology(table.backend(b).attach).name
              for b in [verdicts.ORACLE, *backends]}
    return sum(1 if t.namespaces == "shared" else 2
               for t in table.topologies if t.name in picked)


@pytest.mark.netns
def test_no_namespace_left_behind(conformance: dict, table: Table) -> None:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    ours = conformance["namespaces"]	# this run's: other runs may be under way beside it
    assert len(ours) == expected_namespaces(table, compared_backends(table)), ours
    assert all(ns.startswith("tcplab-c") for ns in ours), ours
    assert not any(ns in listed.split() for ns in ours), listed


# ---- the comparison itself, on made-up traces ------------------------------------------

def trace(*errs: str) -> list[dict]:
    return [{"line": i, "op": "recv", "ret": -1, "err": e} for i, e in enumerate(errs)]


def test_identical_traces_match() -> None:
    a = Run(sut=trace("EAGAIN"), peer=[])
    b = Run(sut=trace("EAGAIN"), peer=[])
    assert verdicts.first_difference(a, b) is None
    assert verdicts.verdict_for("x", "stk", a, b, {})["verdict"] == "match"


def test_first_difference_names_side_step_and_values() -> None:
    a = Run(sut=trace("EAGAIN", "ECONNRESET"), peer=[])
    b = Run(sut=trace("EAGAIN", "EPIPE"), peer=[])
    d = verdicts.first_difference(a, b)
    assert d == {"side": "sut", "step": 1, "line": 1, "kernel": a.sut[1], "other": b.sut[1]}
    assert verdicts.verdict_for("x", "stk", a, b, {})["verdict"] == "divergence"


def test_peer_side_differences_count() -> None:
    a = Run(sut=[], peer=trace("ECONNRESET"))
    b = Run(sut=[], peer=[])
    assert verdicts.first_difference(a, b)["side"] == "peer"


LACKS = verdicts.Listed("sut:0", "stk lacks it")


def test_listed_divergence_carries_its_reason() -> None:
    a = Run(sut=trace("EAGAIN"), peer=[])
    b = Run(sut=trace("EINVAL"), peer=[])
    v = verdicts.verdict_for("x", "stk", a, b, {"x": LACKS})
    assert v["verdict"] == "listed-divergence" and v["reason"] == "stk lacks it"


def test_a_listed_divergence_excuses_only_its_own_difference() -> None:
    """The same case differing at another line, or failing, is a divergence, not listed."""
    a = Run(sut=trace("EAGAIN", "ECONNRESET"), peer=[])
    elsewhere = Run(sut=trace("EAGAIN", "EPIPE"), peer=[])
    v = verdicts.verdict_for("x", "stk", a, elsewhere, {"x": LACKS})
    assert v["verdict"] == "divergence", v
    assert "at sut:1, not the listed difference at sut:0" in v["reason"], v
    on_the_peer = Run(sut=a.sut, peer=trace("EINVAL"))
    assert verdicts.verdict_for("x", "stk", a, on_the_peer, {"x": LACKS})["verdict"] == \
        "divergence"
    crashed = Run(sut=trace("EINVAL"), peer=[], error="sut exited -11")
    v = verdicts.verdict_for("x", "stk", a, crashed, {"x": LACKS})
    assert v["verdict"] == "divergence" and v["reason"] == "sut exited -11", v


def test_a_failed_run_is_never_a_match() -> None:
    a = Run(sut=trace("EAGAIN"), peer=[])
    b = Run(sut=trace("EAGAIN"), peer=[], error="sut exited 2")
    assert verdicts.verdict_for("x", "stk", a, b, {})["verdict"] == "divergence"


def test_divergences_are_per_stack(tmp_path: Path) -> None:
    """A difference listed for one stack is no excuse for another."""
    listed = tmp_path / "d.txt"
    listed.write_text("# comment\nstk1 x @sut:0: stk1 lacks it\nstk2 y @peer:3: stk2 too\n")
    assert verdicts.divergences_of("stk1", listed) == {"x": verdicts.Listed("sut:0",
                                                                            "stk1 lacks it")}
    assert verdicts.divergences_of("stk3", listed) == {}
    a = Run(sut=trace("EAGAIN"), peer=[])
    b = Run(sut=trace("EINVAL"), peer=[])
    v = verdicts.verdict_for("x", "stk2", a, b, verdicts.divergences_of("stk2", listed))
    assert v["verdict"] == "divergence", v


@pytest.mark.parametrize("line", ["stk connect_ok\n", "stk connect_ok: no place\n",
                                  "stk connect_ok @here:1: bad side\n",
                                  "stk connect_ok @sut:x: bad line\n"])
def test_divergences_file_is_well_formed(tmp_path: Path, line: str) -> None:
    verdicts.load_divergences()  # the real one parses
    bad = tmp_path / "d.txt"
    bad.write_text(line)
    with pytest.raises(UsageError,
                       match=r"d.txt:1: expected 'BACKEND CASE @SIDE:LINE\[:FIELD\]: reason'"):
        verdicts.load_divergences(bad)


# ---- the parity table: a column per stack ---------------------------------------------------

def record(name: str, *others: tuple[str, str, str]) -> dict:
    """A case's record: the kernel's trace, and (stack, verdict, reason) per stack."""
    kernel = trace("ECONNRESET")
    return {"name": name, "description": "", "verdict": "match", "reason": "",
            "kernel": {"sut": kernel, "peer": []},
            "others": [{"backend": b, "verdict": v, "reason": why,
                        "first_difference": None if v == "match" else
                        {"side": "sut", "step": 0, "line": 7},
                        "trace": {"sut": kernel if v == "match" else trace("EPIPE"),
                                  "peer": []}} for b, v, why in others]}


def test_markdown_has_a_column_per_stack_and_each_stacks_divergences(tmp_path: Path) -> None:
    results = [record("x", ("stk_a", "listed-divergence", "why a"), ("stk_b", "match", "")),
               record("y", ("stk_a", "match", ""), ("stk_b", "divergence", "differs"))]
    scope = conform.Scope(["stk_a", "stk_b"], {"stk_a": {"x": verdicts.Listed("sut:7", "why a"),
                                                     "z": verdicts.Listed("peer:2", "gone")},
                                               "stk_b": {}},
                          [{"name": "stk_c", "why": "stk_c: pkg not installed"}], True)
    md = tmp_path / "c.md"
    conform.write_markdown(results, md, scope)
    text = md.read_text()
    rows = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in text.splitlines()
            if ln.startswith("| ")]
    assert rows[0] == ["case", "Linux", "stk_a", "stk_b"]
    assert rows[1] == ["x", "recv=ECONNRESET", "listed: recv=EPIPE", "match"]
    assert rows[2][:3] == ["y", "recv=ECONNRESET", "match"]
    assert rows[2][3].startswith("**DIVERGES**: recv=EPIPE (differs; first difference: sut "
                                 "line 7)"), rows[2]
    assert "Not in this run: stk_c: pkg not installed." in text
    a = text[text.index("## stk_a: listed divergences"):text.index("## stk_b")]
    assert "- **x** at sut:7 (first difference: sut line 7): why a" in a
    assert "- **z** at peer:2 (not in this run): gone" in a
    assert "## stk_b: listed divergences\n\nNone listed." in text


def fake_table(*stacks: str) -> Table:
    return Table.parse({"topologies": [], "backends": [
        {"name": verdicts.ORACLE, "attach": "sockets", "origin": "built-in"},
        *({"name": s, "attach": "dpdk", "origin": "plug-in", "path": f"/x/{s}.so"}
          for s in stacks)]})


@pytest.mark.parametrize("cases,backends,left_out,whole", [
    ([], [], "", True), ([], ["stk_a", "stk_b"], "", True), ([], ["stk_a"], "", False),
    (["so_type"], [], "", False), (["pkt_icmp_echo"], ["stk_a", "stk_b"], "", False),
    (["close_active.pkt"], [], "", False), ([], [], "no_packets", False),
    ([], [], "no_scripts", False)])
def test_only_every_case_on_every_stack_is_the_stored_table(cases: list[str],
                                                           backends: list[str],
                                                           left_out: str,
                                                           whole: bool) -> None:
    """The stored table is written by a run of the whole of it only: some cases, some
    stacks, or no packet checks or scripts would replace it with a part of it."""
    args = argparse.Namespace(cases=cases, backend=backends, json=None, md=None,
                              no_packets=left_out == "no_packets",
                              no_scripts=left_out == "no_scripts")
    scope = conform.scope_of(args, fake_table("stk_a", "stk_b"))
    assert scope.whole is whole
    assert scope.stacks == (backends or ["stk_a", "stk_b"])
    left_out = [n["name"] for n in scope.not_run
                if n["why"] == f"{n['name']}: not asked for (--backend)"]
    assert left_out == [s for s in ("stk_a", "stk_b") if backends and s not in backends]
    json_out, md_out = conform.outputs(args, scope.whole)
    stored = ROOT / "results"
    assert (json_out, md_out) == ((stored / "conformance.json", stored / "conformance.md")
                                  if whole else (None, None))


# ---- bad input ---------------------------------------------------------------------------

def test_unknown_packet_check_exits_2(tcplab_bin: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("root: needs root")
    done = conform_cmd(tcplab_bin, "pkt_nope")
    assert done.returncode == 2
    assert done.stderr.startswith("tcplab conform: unknown packet check 'pkt_nope' (valid: ")
    assert done.stderr.count("\n") == 1


def test_unknown_script_exits_2(tcplab_bin: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("root: needs root")
    done = conform_cmd(tcplab_bin, "nope.pkt")
    assert done.returncode == 2
    assert done.stderr == "tcplab conform: unknown script 'nope.pkt' (valid: the .pkt " \
        "files in scenarios/pkt)\n"


def test_unknown_case_exits_2(tcplab_bin: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("root: needs root")
    done = conform_cmd(tcplab_bin, "no_such")
    assert done.returncode == 2
    assert "unknown case 'no_such' (valid: accept_after_peer_reset," in done.stderr
    assert done.stderr.count("\n") == 1


def test_named_cases_leave_the_stored_table_alone(tcplab_bin: Path) -> None:
    """A run of a few named cases prints its verdicts but writes no default output: it once
    replaced results/conformance.md and .json, the table of every case, with its one row."""
    if os.geteuid() != 0:
        pytest.skip("root: needs root")
    stored = [ROOT / "results" / "conformance.md", ROOT / "results" / "conformance.json"]
    before = [p.read_bytes() for p in stored]
    try:
        done = conform_cmd(tcplab_bin, "--backend", "kernel", "so_type", timeout=120)
        after = [p.read_bytes() for p in stored]
    finally:
        for p, text in zip(stored, before):
            p.write_bytes(text)
    assert done.returncode == 0, done.stderr
    assert "1 cases, 0 packet checks and 0 .pkt scripts on kernel" in done.stdout, done.stdout
    assert "are left as they are" in done.stdout, done.stdout
    assert after == before, "a run of one case rewrote the stored parity table"


@pytest.mark.parametrize("text,message", [
    ("sut {\n    s = socket\n    conect s peer:1\n}\n", ":3: unknown call 'conect'"),
    ("sut {\n    connect s peer:1\n}\n", ":2: unknown socket 's'"),
    ("sut {\n    s = socket\n    bind s moon:1\n}\n", ":3: unknown host in 'moon:1'"),
    ("sut {\n    s = socket\n    getsockopt s SO_COLOUR\n}\n", ":3: unknown option 'SO_COLOUR'"),
    ("sut {\n    s = socket\n", ":2: end of file inside the 'sut' block"),
    ("peer {\n}\n", ":1: no 'sut { ... }' block"),
])
def test_malformed_case_names_file_and_line(tcplab_bin: Path, tmp_path: Path, text: str,
                                            message: str) -> None:
    case = tmp_path / "bad.case"
    case.write_text(text)
    done = subprocess.run([str(tcplab_bin), "case", str(case), "--side", "sut"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stdout == "", "nothing may run"
    assert done.stderr.startswith(str(case) + ":"), done.stderr
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
