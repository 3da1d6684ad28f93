"""test_pkt_runner.py - the .pkt runner (`tcplab pkt`, tcplab.pktrun/pktplay/pktcase): the
corpus under scenarios/pkt on Linux and on each stack, a wrong expectation named by its
field, a stack that never answers failing at the deadline with nothing left behind, bad
input exiting 2, and the translation of calls into the case language (no root needed).

Each corpus script must pass on Linux (the oracle). On any other backend it must pass too,
but for the differences scenarios/conformance/divergences.txt lists for that stack
(`BACKEND NAME.pkt @sut:LINE:FIELD: reason`, the first mismatch's line and field): those
are expected failures, judged as `tcplab conform` judges them (pkt.judge). A mismatch
elsewhere, another field, a run that breaks, or a listed one that now passes, fails.
"""
from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tcplab import namespaces, pkt, pktcase, pktplay, pktrun, pktscript
from tcplab.lab import PREFIX
from tcplab.proc import (ROOT, children, first_stderr_line, module_argv, module_env,
                         running)
from tcplab.topology import LINUX, Table
from tcplab import verdicts
from tcplab.verdicts import Listed, divergences_of, load_divergences

CORPUS = ROOT / "scenarios" / "pkt"
SCRIPTS = sorted(p.name for p in CORPUS.glob("*.pkt"))

HANDSHAKE = """// --tolerance_usecs=20000
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0     bind(3, ..., ...) = 0
+0     listen(3, 1) = 0
+0.05  < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>
"""


def run(tcplab_bin: Path, table: Table, path: Path, backend: str, logs: Path) -> \
        pktrun.Outcome:
    script = pktscript.load(path)
    return pktrun.run_script(script, backend, table, str(tcplab_bin),
                             pktrun.tolerance_of(script, None), logs)


@pytest.fixture(scope="module")
def linux_outcomes() -> dict[str, pktrun.Outcome]:
    """Linux's outcome per script, filled by whichever test runs a script there first."""
    return {}


# ---- the corpus, per backend --------------------------------------------------------------

@pytest.mark.root
@pytest.mark.netns
@pytest.mark.parametrize("script", SCRIPTS)
def test_corpus_script(any_backend: str, script: str, tcplab_bin: Path, table: Table,
                       linux_outcomes: dict[str, pktrun.Outcome], tmp_path: Path) -> None:
    if script not in linux_outcomes:
        linux_outcomes[script] = run(tcplab_bin, table, CORPUS / script, LINUX,
                                     tmp_path / LINUX)
    oracle = linux_outcomes[script]
    assert oracle.verdict == "pass", f"{script} is a bad script: {oracle.message}"
    if any_backend == LINUX:
        return
    got = run(tcplab_bin, table, CORPUS / script, any_backend, tmp_path / any_backend)
    listed = divergences_of(table.backend(any_backend).name)
    verdict, reason = pkt.judge(script, pktrun.outcome_dict(got), listed)
    assert verdict != "divergence", f"{script} on {any_backend}: {reason}"
    assert not (verdict == "match" and reason), f"{script} now passes on {any_backend}: " \
        "its line in divergences.txt can go"
    if verdict == "listed-divergence":
        pytest.xfail(f"{any_backend}: {reason} ({got.message})")


def test_corpus_size() -> None:
    assert len(SCRIPTS) >= 40
    listed = {case for d in load_divergences().values() for case in d
              if case.endswith(".pkt")}
    assert listed <= set(SCRIPTS), f"divergences.txt lists scripts that are not in " \
        f"scenarios/pkt: {sorted(listed - set(SCRIPTS))}"
    for name in SCRIPTS:
        head = (CORPUS / name).read_text().split("\n", 1)[0]
        assert head.startswith("// "), f"{name}: no header comment"
        assert "RFC" in (CORPUS / name).read_text().split("\n\n", 1)[0], \
            f"{name}: its header names no RFC section"


# ---- a wrong expectation, a silent stack -------------------------------------------------

@pytest.mark.root
@pytest.mark.netns
def test_wrong_expectation_names_the_field(tcplab_bin: Path, table: Table,
                                           tmp_path: Path) -> None:
    path = tmp_path / "wrong_mss.pkt"
    path.write_text(HANDSHAKE + "+0     > S. 0:0(0) ack 1 <mss 1400,nop,nop,sackOK,nop,"
                                "wscale ...>\n")
    got = run(tcplab_bin, table, path, LINUX, tmp_path / "logs")
    assert (got.verdict, got.line, got.field, got.expected, got.seen) == \
        ("fail", 7, "mss", "1400", "1460"), got.text()
    assert "line 7" in got.message and "mss: expected 1400, seen 1460" in got.message


@pytest.mark.root
@pytest.mark.netns
def test_wrong_return_value_names_the_call(tcplab_bin: Path, table: Table,
                                           tmp_path: Path) -> None:
    path = tmp_path / "wrong_listen.pkt"
    path.write_text(HANDSHAKE.replace("listen(3, 1) = 0", "listen(3, 1) = -1 EINVAL"))
    got = run(tcplab_bin, table, path, LINUX, tmp_path / "logs")
    assert (got.verdict, got.line, got.field) == ("fail", 5, "return value"), got.text()


@pytest.mark.root
@pytest.mark.netns
def test_silent_stack_fails_at_deadline_leaving_nothing(tcplab_bin: Path,
                                                         tmp_path: Path) -> None:
    """The SYN-ACK expected here never comes (no SYN was sent): the script fails once the
    stated time plus the tolerance has passed, and the run removes all it made."""
    path = tmp_path / "silent.pkt"
    path.write_text("// --tolerance_usecs=20000\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                    "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
                    "+0.3 > S. 0:0(0) ack 1 <...>\n")
    start = time.monotonic()
    proc = subprocess.Popen(module_argv("pkt", str(path), "--backend", LINUX),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))
    try:
        kids = watch_children(proc, lambda: proc.poll() is not None, 120)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    took = time.monotonic() - start
    assert proc.returncode == 1, (out, err)
    assert "line 5" in out and "segment: expected > S. 0:0(0) ack 1 <...>, seen nothing by " \
        "0.3" in out, out
    assert took < 60, f"took {took:.1f} s"	# the lab's start and stop, plus 0.32 s
    assert namespaces.made_by(PREFIX, proc.pid) == []
    assert kids, "the SUT and the wire ran as its children"
    assert not [k for k in kids if running(k)], "a process of the run outlived it"


@pytest.mark.root
@pytest.mark.netns
def test_sigterm_mid_script_removes_everything(tcplab_bin: Path, tmp_path: Path) -> None:
    """TERM while a script pauses: the run exits 1 and its namespaces and processes go."""
    path = tmp_path / "long.pkt"
    path.write_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n"
                    "+0 listen(3, 1) = 0\n+30 close(3) = 0\n")
    proc = subprocess.Popen(module_argv("pkt", str(path), "--backend", LINUX),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))
    try:
        assert "[1/1]" in first_stderr_line(proc, 30)
        kids = watch_children(proc, lambda: len(lab_children(proc.pid)) == 2, 30)
        assert len(lab_children(proc.pid)) == 2, "the SUT and the wire run as its children"
        assert namespaces.made_by(PREFIX, proc.pid), "its lab is up"
    finally:
        proc.send_signal(signal.SIGTERM)	# also when an assert failed: never SIGKILL first
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert namespaces.made_by(PREFIX, proc.pid) == []
    deadline = time.monotonic() + 10
    while [k for k in kids if running(k)] and time.monotonic() < deadline:
        time.sleep(0.05)	# polling a condition with a deadline, not a guess
    assert not [k for k in kids if running(k)], "a process of the run outlived it"




def watch_children(proc: subprocess.Popen, until: Callable[[], bool],
                   timeout: float) -> set[int]:
    """Every child of @proc seen (polled) until @until() holds or @timeout passes."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.update(children(proc.pid))
        if until():
            break
        time.sleep(0.02)	# polling a condition with a deadline, not a guess
    return seen



def lab_children(pid: int) -> list[int]:
    """Its children that are the SUT (`tcplab case`) or the wire (tcplab.peer)."""
    found = []
    for k in children(pid):
        try:
            cmd = Path(f"/proc/{k}/cmdline").read_bytes()
        except OSError:
            continue
        if b"tcplab.peer" in cmd or b"\0case\0" in cmd:
            found.append(k)
    return found



# ---- bad input ---------------------------------------------------------------------------

def run_cli(tcplab_bin: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(module_argv("pkt", *args), capture_output=True, text=True,
                          timeout=60, env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))


def test_malformed_script_exits_2(tcplab_bin: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pkt"
    bad.write_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3, 4) = 0\n")
    done = run_cli(tcplab_bin, str(bad))
    assert done.returncode == 2
    assert done.stderr == f"tcplab pkt: {bad}:2: close takes 1 argument, not 2\n"
    assert done.stdout == ""


def test_unknown_backend_exits_2(tcplab_bin: Path) -> None:
    done = run_cli(tcplab_bin, str(CORPUS), "--backend", "nosuch")
    assert done.returncode == 2
    assert done.stderr.startswith("tcplab pkt: unknown backend 'nosuch' (valid: ")
    assert done.stderr.count("\n") == 1


def test_missing_path_exits_2(tcplab_bin: Path, tmp_path: Path) -> None:
    done = run_cli(tcplab_bin, str(tmp_path / "none.pkt"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "none.pkt: no such file or directory" in done.stderr


# ---- translation and checks, without a lab -----------------------------------------------

def translated(text: str) -> str:
    case, _ = pktcase.translate(pktscript.parse(text, "t.pkt"), pktcase.Ports(8080, 20080),
                                4000)
    return "\n".join(line.strip() for line in case.splitlines()
                     if not line.strip().startswith("wait"))


def test_calls_translate_to_the_case_language() -> None:
    case = translated(
        "0 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3\n"
        "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n"
        "+0 bind(3, ..., ...) = 0\n+0 listen(3, 5) = 0\n+0 accept(3, ..., ...) = 4\n"
        "+0 fcntl(4, F_GETFL) = 0x2 (flags O_RDWR)\n"
        "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
        "+0 send(4, ..., 100, MSG_DONTWAIT) = 100\n+0 recv(4, ..., 10, MSG_PEEK) = 10\n"
        "+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n"
        "+0 shutdown(4, SHUT_WR) = 0\n+0.1...0.3 read(4, ..., 5) = 0\n+0 close(4) = 0\n")
    assert case.splitlines()[2:] == [
        "f3 = socket nonblock", "setsockopt f3 SO_LINGER 0", "bind f3 sut:8080",
        "listen f3 5", "f4 = accept f3", "getfl f4", "nonblock f4 on", "send f4 100 dontwait",
        "recv f4 10 peek", "poll f4 in+out 0", "shutdown f4 wr",
        "recv f4 5 took 196 204", "close f4", "}"]


def test_call_without_case_form_is_not_supported() -> None:
    script = pktscript.parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                             "+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, \"reno\", 4) = 0\n",
                             "t.pkt")
    text, out = pktrun.prepare(script, 4000)
    assert text is None and out is not None
    assert (out.verdict, out.line) == ("not supported", 2)
    assert "TCP_CONGESTION" in out.message


def test_fcntl_flags_outside_the_known_ones_are_not_supported() -> None:
    script = pktscript.parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                             "+0 fcntl(3, F_GETFL) = O_RDWR|O_APPEND\n", "t.pkt")
    text, out = pktrun.prepare(script, 4000)
    assert text is None and out is not None and (out.verdict, out.line) == \
        ("not supported", 2)
    assert "O_APPEND" in out.message


def test_unsupported_line_is_reported_not_run() -> None:
    script = pktscript.parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                             "+0 `sysctl -q net.ipv4.tcp_sack=0`\n", "t.pkt")
    out = pktrun.run_script(script, LINUX, None, None, 4000)	# type: ignore[arg-type]
    assert (out.verdict, out.line) == ("not supported", 2)
    assert out.message == "line 2: shell command"


def call(text: str) -> pktscript.Syscall:
    e = pktscript.parse(text, "t.pkt").events[0]
    assert isinstance(e, pktscript.Syscall)
    return e


@pytest.mark.parametrize("text, got, field", [
    ("0 read(4, ..., 10) = 10", {"ret": 10, "data_ok": True}, None),
    ("0 read(4, ..., 10) = 10", {"ret": 4, "data_ok": True}, "return value"),
    ("0 read(4, ..., 10) = 10", {"ret": 10, "data_ok": False}, "data"),
    ("0 accept(3, ..., ...) = 4", {"ret": "handle"}, None),
    ("0 write(4, ..., 1000) = 500", {"ret": "partial"}, None),
    ("0 read(4, ..., 1) = -1 EAGAIN (x)", {"ret": -1, "err": "EAGAIN"}, None),
    ("0 read(4, ..., 1) = -1 EAGAIN", {"ret": -1, "err": "ECONNRESET"}, "errno"),
    ("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0",
     {"ret": 0, "value": "ECONNREFUSED"}, None),
    ("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [111], [4]) = 0",
     {"ret": 0, "value": "ECONNREFUSED"}, None),
    ("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0",
     {"ret": 0, "value": "ECONNRESET"}, "option value"),
    ("0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1",
     {"ret": 1, "revents": ["POLLIN"]}, None),
    ("0 poll([{fd=4, events=POLLIN, revents=POLLIN|POLLHUP}], 1, 0) = 1",
     {"ret": 1, "revents": ["POLLIN"]}, "revents"),
    ("0 fcntl(4, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)", {"ret": 2050}, None),
    ("0 fcntl(4, F_GETFL) = O_RDWR|O_NONBLOCK", {"ret": 2050}, None),
    ("0 fcntl(4, F_GETFL) = O_RDWR", {"ret": 2050}, "return value"),
    ("0...0.1 accept(3, ..., ...) = 4", {"ret": "handle", "took": "300 ms, not 96-104"},
     "return time"),
])
def test_call_results(text: str, got: dict[str, Any], field: str | None) -> None:
    if field is None:
        pktplay.check_call(call(text), got)
        return
    with pytest.raises(pktplay.Mismatch) as e:
        pktplay.check_call(call(text), got)
    assert e.value.field == field and e.value.line == 1


# ---- verdicts against divergences.txt, and rows of the parity table ----------------------

MISMATCH = {"verdict": "fail", "line": 17, "field": "return value", "expected": "0",
            "seen": "-1", "message": "line 17: close: return value: expected 0, seen -1"}


def listing(where: str) -> dict[str, Listed]:
    return {"close_active.pkt": Listed(where, "because")}


@pytest.mark.parametrize("result, where, verdict", [
    ({"verdict": "pass"}, None, "match"),
    ({"verdict": "pass"}, "sut:17:return_value", "match"),	# listed, but now passes
    (MISMATCH, None, "divergence"),
    (MISMATCH, "sut:17:return_value", "listed-divergence"),
    (MISMATCH, "sut:17:errno", "divergence"),		# listed elsewhere: not excused
    (MISMATCH, "sut:18:return_value", "divergence"),
    ({"verdict": "error", "message": "the SUT ended"}, "sut:17:return_value", "divergence"),
])
def test_a_script_is_judged_against_its_listing(result: dict[str, Any], where: str | None,
                                                verdict: str) -> None:
    got, reason = pkt.judge("close_active.pkt", result, listing(where) if where else {})
    assert got == verdict
    assert (reason == "because") == (where is not None and where.startswith("sut:17:ret")
                                     and result["verdict"] != "error")


def test_only_the_corpus_can_be_listed(tmp_path: Path) -> None:
    """A script outside scenarios/pkt that shares a corpus script's name is not excused by
    the corpus script's listing."""
    assert pkt.corpus_name(CORPUS / "close_active.pkt") == "close_active.pkt"
    assert pkt.corpus_name(tmp_path / "close_active.pkt") is None
    got, _ = pkt.judge(pkt.corpus_name(tmp_path / "close_active.pkt"), MISMATCH,
                       listing("sut:17:return_value"))
    assert got == "divergence"


def test_rows_of_the_parity_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_all's records become conform rows: Linux passes (else the row is a bad script),
    each stack's verdict, the first difference at the script's line and field."""
    monkeypatch.setattr(pkt, "load_divergences", lambda: {"stk": listing(
        "sut:17:return_value")})
    table = Table.parse({"topologies": [], "backends": [
        {"name": LINUX, "attach": "sockets", "origin": "built-in"},
        {"name": "stk", "attach": "dpdk", "origin": "plug-in", "path": "/x/stk.so"}]})
    good = {"path": str(CORPUS / "close_active.pkt"),
            "results": {LINUX: {"verdict": "pass"}, "stk": MISMATCH}}
    bad = {"path": str(CORPUS / "close_passive.pkt"),
           "results": {LINUX: {"verdict": "bad script", "message": "line 9: ..."},
                       "stk": {"verdict": "not run"}}}
    rows = pkt.conform_records([good, bad], table)
    assert [r["name"] for r in rows] == ["close_active.pkt", "close_passive.pkt"]
    assert rows[0]["description"].startswith("Active close: close() sends a FIN")
    (o,) = rows[0]["others"]
    assert (rows[0]["verdict"], o["verdict"], o["reason"]) == \
        ("match", "listed-divergence", "because")
    assert o["first_difference"] == {"side": "sut", "line": 17, "field": "return_value",
                                     "kernel": "0", "other": "-1"}
    assert o["summary"] == MISMATCH["message"]
    assert (rows[1]["verdict"], rows[1]["others"]) == ("bad-script", [])
    assert verdicts.unexpected(rows) == ["close_passive.pkt"]


class FakePopen:
    def __init__(self, rc: int) -> None:
        self.returncode = rc

    def wait(self, timeout: float) -> int:
        return self.returncode


class FakeScriptLab:
    """The wire answers the script's verdict at once; the SUT has ended with @rc."""
    def __init__(self, verdict: dict[str, Any], rc: int) -> None:
        self.verdict = verdict
        self.wire = self
        self.sut = self
        self.popen = FakePopen(rc)

    def send(self, line: str) -> None:
        pass

    def read(self, timeout: float) -> dict[str, Any]:
        return {"pkt": self.verdict}


@pytest.mark.parametrize("rc, verdict", [(0, "fail"), (1, "fail"), (-11, "error"),
                                         (-6, "error")])
def test_a_sut_killed_by_a_signal_is_an_error_not_a_verdict(rc: int, verdict: str) -> None:
    """A script's mismatch where the SUT then died of a signal is an error (a divergence
    whatever is listed), not the listed failure."""
    script = pktscript.load(CORPUS / "close_active.pkt")
    out = pktrun.play(FakeScriptLab(MISMATCH, rc), script, 20000)	# type: ignore[arg-type]
    assert out.verdict == verdict, out
    got, _ = pkt.judge("close_active.pkt", pktrun.outcome_dict(out),
                       listing("sut:17:return_value"))
    assert got == ("listed-divergence" if verdict == "fail" else "divergence")
