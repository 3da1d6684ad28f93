"""test_cli.py - every bad-input path of the CLI: exit 2, one line on stderr naming the
problem (and the valid choices where there is a list of them; file:line for scenario files),
and nothing runs: no output on stdout, no result file, no process left behind.

Runs are given no --duration, so a run that wrongly started would take the scenario's full
10 s and trip the short timeout.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tcplab.proc import Completed, ProcessManager
from tcplab.binary import EXIT_USAGE, Listing, Tcplab

TIMEOUT_S = 8.0


def assert_rejected(done: Completed, procs: ProcessManager, *names: str,
                    out: Path | None = None) -> str:
    """Exit 2 with one stderr line that contains every one of @names; nothing ran."""
    assert done.rc == EXIT_USAGE, f"exit {done.rc}; stderr {done.stderr!r}"
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and done.stderr.endswith("\n"), \
        f"expected exactly one line on stderr, got {done.stderr!r}"
    msg = lines[0]
    missing = [n for n in names if n not in msg]
    assert not missing, f"the message does not name {missing}: {msg!r}"
    assert done.stdout == "", f"something ran: stdout {done.stdout!r}"
    if out is not None:
        assert not out.exists(), f"{out} was created: {list(out.rglob('*'))}"
    assert procs.tagged_pids() == [], "a process was left running"
    return msg


# ---- tcplab run: names, flags and values ----

# (id, arguments after `run`, what the message must name); "{...}" entries are filled in from
# tcplab list: {scenarios}, {backends}.
RUN_CASES: list[tuple[str, list[str], list[str]]] = [
    ("unknown-scenario", ["no_such_scenario"], ["no_such_scenario", "{scenarios}"]),
    ("no-scenario", [], ["NAME"]),
    ("two-scenarios", ["echo_rr", "crr"], ["NAME"]),
    ("unknown-flag", ["echo_rr", "--bogus"], ["--bogus", "--duration", "--backend"]),
    ("unknown-short-flag", ["echo_rr", "-z"], ["-z"]),
    ("flag-without-value", ["echo_rr", "--duration"], ["--duration"]),
    ("set-without-value", ["echo_rr", "--set"], ["--set"]),
    ("set-unknown-key", ["echo_rr", "--set", "frobs=1"], ["frobs", "duration", "conns"]),
    ("set-not-key-value", ["echo_rr", "--set", "conns"], ["conns", "KEY=VALUE"]),
    ("set-empty-key", ["echo_rr", "--set", "=3"], ["=3", "KEY=VALUE"]),
    ("set-bad-conns", ["echo_rr", "--set", "conns=lots"], ["conns", "lots"]),
    ("set-bad-param", ["echo_rr", "--set", "size=huge"], ["huge"]),
    ("set-bad-nodelay", ["echo_rr", "--set", "nodelay=maybe"], ["nodelay", "maybe"]),
    ("set-bad-program", ["echo_rr", "--set", "program=telnet"], ["telnet", "echo", "sink"]),
    ("duration-not-time", ["echo_rr", "--duration", "soon"], ["duration", "soon"]),
    ("duration-negative", ["echo_rr", "--duration", "-1"], ["duration", "-1"]),
    ("duration-zero", ["echo_rr", "--duration", "0"], ["duration"]),
    ("duration-bad-unit", ["echo_rr", "--duration", "5parsecs"], ["duration", "5parsecs"]),
    ("warmup-not-time", ["echo_rr", "--warmup", "x"], ["warmup", "'x'"]),
    ("rate-zero", ["echo_rr", "--rate", "0"], ["rate", "'0'"]),
    ("rate-not-number", ["echo_rr", "--rate", "fast"], ["rate", "fast"]),
    ("conns-zero", ["echo_rr", "--conns", "0"], ["conns", "'0'"]),
    ("unknown-backend", ["echo_rr", "--backend", "nope"], ["nope", "{backends}"]),
    ("unknown-topology", ["echo_rr", "--topology", "nope"], ["nope", "loopback"]),
    ("engine-cpu-not-number", ["echo_rr", "--engine-cpu", "x"], ["--engine-cpu", "'x'"]),
    ("peer-not-address", ["echo_rr", "--peer", "nowhere"], ["--peer", "nowhere"]),
    ("stack-opt-not-key-value", ["echo_rr", "--stack-opt", "x"], ["--stack-opt", "'x'"]),
]


def expand(names: list[str], listing: Listing) -> list[str]:
    lists = {"{scenarios}": listing.scenario_names, "{backends}": listing.backends,
             "{programs}": listing.programs}
    return [n for name in names for n in lists.get(name, [name])]


@pytest.mark.parametrize("args,names", [(a, n) for _, a, n in RUN_CASES],
                         ids=[i for i, _, _ in RUN_CASES])
def test_run_rejects(tcplab: Tcplab, procs: ProcessManager, listing: Listing,
                     tmp_path: Path, args: list[str], names: list[str]) -> None:
    out = tmp_path / "out"
    # --out goes first so that a flag missing its value stays the last word
    done = tcplab.cmd("run", "--out", str(out), *args, timeout=TIMEOUT_S)
    assert_rejected(done, procs, *expand(names, listing), out=out)


# ---- malformed scenario files, given by path ----

# (id, file text, line the message must point at or None for a whole-file problem, names)
BAD_FILES: list[tuple[str, str, int | None, list[str]]] = [
    ("unknown-directive", "description x\nprogram echo\nfrobnicate 3\nclient {\n connect\n}\n",
     3, ["frobnicate", "program"]),
    ("unknown-step", "program echo\nclient {\n connect\n jump 3\n}\n", 4, ["jump", "send"]),
    ("unclosed-block", "program echo\nclient {\n connect\n repeat {\n  send 64\n", 5,
     ["line 4", "}"]),
    ("stray-brace", "program echo\n}\nclient {\n connect\n}\n", 2, ["}"]),
    ("unknown-metric", "program echo\nclient {\n connect\n}\ncheck p42 < 1ms\n", 5,
     ["p42", "p99"]),
    ("unknown-comparison", "program echo\nclient {\n connect\n}\ncheck p99 ~ 5ms\n", 5,
     ["~", "<="]),
    ("latency-without-unit", "program echo\nclient {\n connect\n}\ncheck p99 < 5\n", 5,
     ["'5'"]),
    ("bad-size", "program echo\nclient {\n connect\n send 17q\n}\n", 4, ["17q"]),
    ("size-too-large", "program echo\nclient {\n connect\n send 1g\n}\n", 4, ["1g"]),
    ("unknown-program", "program telnet\nclient {\n connect\n}\n", 1,
     ["telnet", "{programs}"]),
    ("unknown-param", "program echo\nclient {\n connect\n send $nope\n}\n", 4, ["$nope"]),
    ("param-twice", "program echo\nparam a 1\nparam a 2\nclient {\n connect\n}\n", 3,
     ["'a'"]),
    ("bad-conns", "program echo\nconns many\nclient {\n connect\n}\n", 2, ["conns", "many"]),
    ("bad-duration", "program echo\nduration forever\nclient {\n connect\n}\n", 2,
     ["duration", "forever"]),
    ("bad-pacing", "program echo\npacing sometimes\nclient {\n connect\n}\n", 2, ["pacing"]),
    ("empty-repeat", "program echo\nclient {\n connect\n repeat {\n }\n}\n", 5, ["line 4"]),
    ("nested-measure", "program echo\nclient {\n measure {\n measure {\n }\n }\n}\n", 4,
     ["measure"]),
    ("second-client", "program echo\nclient {\n connect\n}\nclient {\n connect\n}\n", 5,
     ["client"]),
    ("bad-shutdown", "program echo\nclient {\n connect\n shutdown sideways\n}\n", 4,
     ["shutdown"]),
    ("no-program", "client {\n connect\n}\n", None, ["program"]),
    ("no-client", "program echo\n", None, ["client"]),
    ("empty-file", "", None, ["program"]),
    ("open-without-measure", "program echo\npacing open 100\nclient {\n connect\n}\n", 2,
     ["measure"]),
]


@pytest.mark.parametrize("text,line,names", [(t, ln, n) for _, t, ln, n in BAD_FILES],
                         ids=[i for i, _, _, _ in BAD_FILES])
def test_run_rejects_malformed_file(tcplab: Tcplab, procs: ProcessManager,
                                    listing: Listing, tmp_path: Path, text: str,
                                    line: int | None, names: list[str]) -> None:
    path = tmp_path / "bad.scn"
    path.write_text(text)
    out = tmp_path / "out"
    done = tcplab.cmd("run", str(path), "--out", str(out), timeout=TIMEOUT_S)
    msg = assert_rejected(done, procs, *expand(names, listing), out=out)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert msg.startswith(where), f"the message must start with {where!r}: {msg!r}"


def test_run_rejects_missing_file(tcplab: Tcplab, procs: ProcessManager,
                                  tmp_path: Path) -> None:
    path = tmp_path / "absent.scn"
    out = tmp_path / "out"
    done = tcplab.cmd("run", str(path), "--out", str(out), timeout=TIMEOUT_S)
    assert_rejected(done, procs, str(path), out=out)


def test_bad_set_value_on_a_file_names_its_line(tcplab: Tcplab, procs: ProcessManager,
                                                tmp_path: Path) -> None:
    """An override is checked like the line it replaces."""
    path = tmp_path / "ok.scn"
    path.write_text("program echo\nconns 2\nclient {\n connect\n}\n")
    out = tmp_path / "out"
    done = tcplab.cmd("run", str(path), "--out", str(out), "--set", "conns=-4",
                      timeout=TIMEOUT_S)
    msg = assert_rejected(done, procs, "conns", "-4", out=out)
    assert msg.startswith(f"{path}:2: "), msg


def test_list_reports_a_broken_scenario(tcplab: Tcplab, procs: ProcessManager,
                                        tmp_path: Path) -> None:
    """`tcplab list` parses every scenario; a broken one is named by file:line, exit 2."""
    scenarios = tmp_path / "tree" / "scenarios"
    scenarios.mkdir(parents=True)
    (scenarios / "good.scn").write_text("description fine\nprogram echo\nclient {\n connect\n}\n")
    (scenarios / "broken.scn").write_text("program echo\nclient {\n levitate\n}\n")
    done = tcplab.cmd("list", env={"TCPLAB_ROOT": str(tmp_path / "tree")}, timeout=TIMEOUT_S)
    assert done.rc == EXIT_USAGE
    assert done.stderr.splitlines() == [done.stderr.splitlines()[0]]
    assert done.stderr.startswith(f"{scenarios / 'broken.scn'}:3: "), done.stderr
    assert "levitate" in done.stderr


# ---- serve, list and the top level ----

OTHER_CASES: list[tuple[str, list[str], list[str]]] = [
    ("serve-unknown-program", ["serve", "telnet"], ["telnet", "{programs}"]),
    ("serve-no-program", ["serve"], ["{programs}"]),
    ("serve-unknown-backend", ["serve", "echo", "--backend", "nope"], ["nope", "{backends}"]),
    ("serve-bad-listen", ["serve", "echo", "--listen", "here"], ["--listen", "here"]),
    ("serve-unknown-flag", ["serve", "echo", "--bogus"], ["--bogus", "--listen"]),
    ("serve-flag-without-value", ["serve", "echo", "--listen"], ["--listen"]),
    ("serve-conns-zero", ["serve", "echo", "--conns", "0"], ["--conns", "'0'"]),
    ("serve-conns-not-number", ["serve", "echo", "--conns", "many"], ["--conns", "many"]),
    ("list-extra-argument", ["list", "extra"], ["extra"]),
    ("list-unknown-flag", ["list", "--yaml"], ["--yaml", "--json"]),
    ("unknown-command", ["frobnicate"], ["frobnicate", "run", "serve", "list"]),
]


@pytest.mark.parametrize("args,names", [(a, n) for _, a, n in OTHER_CASES],
                         ids=[i for i, _, _ in OTHER_CASES])
def test_other_commands_reject(tcplab: Tcplab, procs: ProcessManager, listing: Listing,
                               args: list[str], names: list[str]) -> None:
    done = tcplab.cmd(*args, timeout=TIMEOUT_S)
    assert_rejected(done, procs, *expand(names, listing))


def test_no_command_prints_usage(tcplab: Tcplab, procs: ProcessManager) -> None:
    done = tcplab.cmd(timeout=TIMEOUT_S)
    assert done.rc == EXIT_USAGE
    assert "usage" in done.stderr and done.stdout == ""
