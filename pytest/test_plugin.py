"""test_plugin.py - bring your own stack (issue 12): the example plug-in (stack/example/),
built out of tree against the installed header and tcplab-stack.pc only, runs a scenario,
is listed, and goes through the conformance suite like a built-in backend; bad plug-ins are
refused with exit 2 and one line on stderr naming the problem, and leave no process behind.

The bad plug-ins are built here from pytest/plugins/*.c, each linked with the example built
with its entry symbol renamed (example_entry), so every one is a working stack broken in one
way. Standard library and pytest only; the binary is $TCPLAB_BIN (ci/test.sh sets it).

Tests marked `needs_harness` state what the harness does not do yet on this branch; they are
strict xfails, so the change that makes one pass also makes it fail until its mark goes.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "stack" / "example"
FIXTURES = Path(__file__).resolve().parent / "plugins"
STACK_INCLUDE = ROOT / "stack" / "include"
CASES = sorted(p.stem for p in (ROOT / "scenarios" / "conformance").glob("*.case"))
RUN_TIMEOUT_S = 60.0
CC = os.environ.get("CC", "cc")
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-fPIC", "-Wall", "-Wextra", "-Werror"]
RUN_ARGS = ["echo_rr", "--duration", "1", "--warmup", "0"]


def needs_harness(why: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"harness change pending: {why}")


# ---- the binary, its build, and running it ----

@dataclass
class Done:
    rc: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def binary() -> Path:
    path = os.environ.get("TCPLAB_BIN")
    if not path:
        pytest.fail("TCPLAB_BIN is not set (ci/test.sh sets it to build/harness/tcplab)")
    return Path(path).resolve()


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = RUN_TIMEOUT_S) -> Done:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)
    return Done(done.returncode, done.stdout, done.stderr)


def ok(done: Done, what: str) -> Done:
    assert done.rc == 0, f"{what}: exit {done.rc}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def abi_version() -> int:
    """TCPLAB_STACK_ABI_VERSION as the header defines it."""
    header = (STACK_INCLUDE / "tcplab" / "stack.h").read_text()
    return int(re.search(r"#define TCPLAB_STACK_ABI_VERSION (\d+)u", header).group(1))


def pids_mentioning(marker: str) -> list[int]:
    """Processes (not this one) whose command line or environment holds @marker: what a run
    left behind. Processes of other users, unreadable, are none of ours."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            seen = (d / "cmdline").read_bytes() + b"\0" + (d / "environ").read_bytes()
        except OSError:
            continue	# gone meanwhile, or not ours
        if marker.encode() in seen:
            found.append(int(d.name))
    return found


# ---- the example, installed header, out-of-tree build ----

@dataclass
class Installed:
    destdir: Path
    pkgconfig_dir: Path


@pytest.fixture(scope="session")
def installed(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The build's development files (header, .pc) installed into a staging folder."""
    build = binary.parent.parent
    if not (build / "build.ninja").is_file():
        pytest.fail(f"{build} is not a meson build folder (TCPLAB_BIN={binary})")
    destdir = tmp_path_factory.mktemp("destdir")
    ok(run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--tags", "devel",
            "--destdir", destdir]), "meson install --tags devel")
    pcs = list(destdir.rglob("tcplab-stack.pc"))
    headers = list(destdir.rglob("tcplab/stack.h"))
    assert len(pcs) == 1 and len(headers) == 1, \
        f"installed {sorted(str(p) for p in destdir.rglob('*') if p.is_file())}"
    assert pcs[0].parent.name == "pkgconfig"
    return Installed(destdir, pcs[0].parent)


@pytest.fixture(scope="session")
def example(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tcplab-stack-example.so, made by stack/example/Makefile against the installed files."""
    if shutil.which("make") is None or shutil.which("pkg-config") is None:
        pytest.fail("building the example needs make and pkg-config (ci/packages.txt)")
    out = tmp_path_factory.mktemp("example")
    env = {"PKG_CONFIG_PATH": str(installed.pkgconfig_dir),
           "PKG_CONFIG_SYSROOT_DIR": str(installed.destdir)}
    cflags = ok(run(["pkg-config", "--cflags", "tcplab-stack"], env=env), "pkg-config").stdout
    assert cflags.split() == [f"-I{h.parent.parent}" for h in
                              installed.destdir.rglob("tcplab/stack.h")], \
        f"pkg-config --cflags tcplab-stack gave {cflags!r}: not the staged header's folder"
    ok(run(["make", "-f", EXAMPLE / "Makefile"], env=env, cwd=out), "make (stack/example)")
    so = out / "tcplab-stack-example.so"
    assert so.is_file()
    return so


def run_result(binary: Path, backend: str, out: Path, env: dict[str, str] | None = None) -> dict:
    done = ok(run([binary, "run", *RUN_ARGS, "--backend", backend, "--out", out], env=env),
              f"tcplab run --backend {backend}")
    result = json.loads((out / "echo_rr.json").read_text())
    assert result["passed"] is True, f"checks: {result['checks']}; stderr {done.stderr}"
    return result


def test_example_runs_echo_rr_by_path(binary: Path, example: Path, tmp_path: Path) -> None:
    result = run_result(binary, str(example), tmp_path)
    assert result["versions"]["stack"] == "example 1 (linux sockets)"
    assert result["metrics"]["transactions"] > 0
    # the plug-in's own counters reach the result: the engine's socket, the SUT's listener
    # and accepted socket (tl_ops.counters)
    assert result["stack_counters"]["sockets_opened"] == 1, result["stack_counters"]
    assert result["sut"]["stack"]["sockets_opened"] == 2, result["sut"]
    # no wait set (tl_ops.ws_* NULL): the SUT polls the listener and its connection
    assert result["sut"]["wait"] == "poll", result["sut"]
    assert result["sut"]["wait_entries"] >= result["sut"]["ready_waits"] > 0, result["sut"]
    # and the engine's one connection waits inside its calls (TL_F_BLOCKING_WAIT), as on
    # the kernel: no pass hands the stack a socket
    loop = result["metrics"]["loop"]
    assert loop["wait"] == "blocking" and loop["handed_per_pass"] == 0, loop


def test_without_a_wait_set_a_pass_hands_the_stack_every_waiting_socket(
        binary: Path, example: Path, tmp_path: Path) -> None:
    """The engine polls a stack without a wait set (results/README.md, "metrics.loop"): at
    50 connections each pass hands tl_poll all that wait, most of them; the kernel's wait
    set takes next to nothing per pass, each socket registered once."""
    loops = {}
    for backend in (str(example), "kernel"):
        done = ok(run([binary, "run", *RUN_ARGS, "--conns", "50", "--backend", backend,
                       "--out", tmp_path / Path(backend).name], env=None),
                  f"tcplab run --backend {backend} --conns 50")
        result = json.loads((tmp_path / Path(backend).name / "echo_rr.json").read_text())
        assert result["passed"] is True, f"checks: {result['checks']}; {done.stderr}"
        loops[Path(backend).name] = result["metrics"]["loop"]
        summary = [ln for ln in done.stdout.splitlines() if ln.startswith("  loop: ")]
        assert len(summary) == 1, done.stdout
        loops[Path(backend).name]["summary"] = summary[0]
    example_loop, kernel_loop = loops[example.name], loops["kernel"]
    assert example_loop["wait"] == "poll", example_loop
    assert example_loop["summary"].startswith("  loop: poll, "), example_loop
    assert 25 < example_loop["handed_per_pass"] <= 50, example_loop
    assert kernel_loop["wait"] == "wait_set", kernel_loop
    assert kernel_loop["summary"].startswith("  loop: the stack's wait set, "), kernel_loop
    assert kernel_loop["handed_per_pass"] < 1, kernel_loop


def test_example_by_path_records_its_name(binary: Path, example: Path, tmp_path: Path) -> None:
    result = run_result(binary, str(example), tmp_path)
    assert result["backend"] == "example"
    assert result["sut_backend"] == "example"


def test_example_runs_by_name_from_stack_path(binary: Path, example: Path,
                                              tmp_path: Path) -> None:
    result = run_result(binary, "example", tmp_path,
                        env={"TCPLAB_STACK_PATH": str(example.parent)})
    assert result["backend"] == "example"
    assert result["versions"]["stack"] == "example 1 (linux sockets)"


def test_list_shows_the_plugin(binary: Path, example: Path) -> None:
    done = ok(run([binary, "list", "--json"], env={"TCPLAB_STACK_PATH": str(example.parent)}),
              "tcplab list --json")
    listed = {b["name"]: b for b in json.loads(done.stdout)["backends"]}
    assert "example" in listed, f"backends: {sorted(listed)}"
    assert listed["example"]["origin"] == "plug-in"
    assert listed["example"]["path"] == str(example)
    assert listed["example"]["attach"] == "sockets"
    assert listed["kernel"]["origin"] == "built-in"
    # the example offers no wait set (tl_ops.ws_* NULL): the loops poll it; the kernel's is epoll
    assert listed["example"]["wait_set"] is False
    assert listed["kernel"]["wait_set"] is True


def test_list_shows_the_limits_a_plugin_states(binary: Path, example: Path,
                                               tmp_path: Path) -> None:
    """The example states its limits (backends[].limits); one whose tl_ops.limits is NULL
    is listed with null, and still loads."""
    none = build_fixture(tmp_path, "no-limits", "no_limits.c")
    done = ok(run([binary, "list", "--json", "--backend", none],
                  env={"TCPLAB_STACK_PATH": str(example.parent)}), "tcplab list --json")
    listed = {b["name"]: b for b in json.loads(done.stdout)["backends"]}
    assert listed["no-limits"]["limits"] is None, listed["no-limits"]
    lim = listed["example"]["limits"]
    assert lim is not None and set(lim) == {"sockets", "conn_bytes", "syn_rcvd", "idle",
                                            "slack"}, lim
    assert lim["conn_bytes"]["min"] <= lim["conn_bytes"]["max"], lim
    assert all(part["reason"].strip() for part in lim.values()), lim
    text = ok(run([binary, "list", "--backend", none],
                  env={"TCPLAB_STACK_PATH": str(example.parent)}), "tcplab list").stdout
    assert "limits: none stated" in text, text


def test_list_without_stack_path_has_no_example(binary: Path) -> None:
    """The example is not part of the main build: it shows only where it is put on the path."""
    env = {k: v for k, v in os.environ.items() if k != "TCPLAB_STACK_PATH"}
    done = subprocess.run([str(binary), "list", "--json"], capture_output=True, text=True,
                          check=True, timeout=RUN_TIMEOUT_S, env=env)
    assert "example" not in [b["name"] for b in json.loads(done.stdout)["backends"]]


# A sockets plug-in takes the kernel's place in the conformance topology (veth: the rule of
# python/tcplab/topology.py), so every case must match the kernel oracle through it.
def test_example_matches_the_kernel_in_every_conformance_case(example: Path,
                                                              tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("netns: needs root")
    md, js = tmp_path / "c.md", tmp_path / "c.json"
    done = run([ROOT / "tcplab", "conform", "--backend", example, "--no-packets",
                "--no-scripts", "--md", md, "--json", js], timeout=1200)
    assert done.rc == 0, f"tcplab conform: exit {done.rc}\n{done.stdout}\n{done.stderr}"
    cases = json.loads(js.read_text())["cases"]
    assert sorted(c["name"] for c in cases) == CASES
    verdicts = {c["name"]: [(o["backend"], o["verdict"]) for o in c["others"]] for c in cases}
    wrong = {n: v for n, v in verdicts.items() if v != [(str(example), "match")]
             and v != [("example", "match")]}
    assert wrong == {}, f"cases where the example is not the kernel: {wrong}"
    assert all(c["verdict"] == "match" for c in cases), "the kernel oracle was not stable"
    assert md.read_text().strip()


# ---- bad plug-ins: exit 2, one line naming the problem, nothing left running ----

def build_fixture(tmp: Path, name: str, source: str | None, *defines: str) -> Path:
    """tcplab-stack-NAME.so from pytest/plugins/SOURCE linked with the renamed example."""
    obj = tmp / "example_renamed.o"
    inc = f"-I{STACK_INCLUDE}"
    if not obj.exists():
        ok(run([CC, *CFLAGS, inc, "-Dtcplab_stack_entry=example_entry", "-c",
                EXAMPLE / "example.c", "-o", obj]), "cc example.c")
    so = tmp / f"tcplab-stack-{name}.so"
    sources = [FIXTURES / source] if source is not None else []
    ok(run([CC, *CFLAGS, inc, *defines, "-shared", *sources, obj, "-o", so]), f"cc {source}")
    return so


def refused(binary: Path, backend: str, marker: str, tmp: Path,
            env: dict[str, str] | None = None) -> str:
    """Run with a bad @backend: exit 2, one stderr line, no output, nothing left running
    (@marker: a string only this test's processes have on their command line)."""
    out = tmp / "out"
    done = run([binary, "run", *RUN_ARGS, "--backend", backend, "--out", out], env=env)
    left = pids_mentioning(marker)
    assert left == [], f"processes left behind: {left}"
    assert done.rc == 2, f"exit {done.rc}; stderr {done.stderr!r}"
    assert done.stdout == "", f"something ran: stdout {done.stdout!r}"
    assert not out.exists(), "a result was written"
    return done.stderr


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and stderr.endswith("\n"), \
        f"expected exactly one line on stderr, got {stderr!r}"
    return lines[0]


def test_a_file_that_is_not_a_shared_object(binary: Path, tmp_path: Path) -> None:
    junk = tmp_path / "tcplab-stack-junk.so"
    junk.write_text("this is a text file named like a plug-in, not a shared object\n" * 4)
    line = one_line(refused(binary, str(junk), str(tmp_path), tmp_path))
    assert "cannot load plug-in" in line and str(junk) in line, line


def test_a_shared_object_without_the_entry_symbol(binary: Path, tmp_path: Path) -> None:
    so = build_fixture(tmp_path, "no-entry", None)	# the example alone: example_entry only
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert "tcplab_stack_entry" in line and str(so) in line, line


def test_an_abi_version_mismatch_says_both_versions(binary: Path, tmp_path: Path) -> None:
    ours = abi_version()
    theirs = ours + 1
    so = build_fixture(tmp_path, "abi-mismatch", "abi_mismatch.c", f"-DBAD_ABI={theirs}u")
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert f"version {theirs}" in line and f"version {ours}" in line, line


def test_an_ops_table_with_a_missing_op(binary: Path, tmp_path: Path) -> None:
    so = build_fixture(tmp_path, "missing-op", "missing_op.c")
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert "recvv" in line and str(so) in line, line


def test_an_ops_table_with_part_of_a_wait_set(binary: Path, tmp_path: Path) -> None:
    so = build_fixture(tmp_path, "partial-ws", "partial_ws.c")
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert "ws_wait" in line and "wait set" in line and str(so) in line, line


@pytest.mark.parametrize("broken,field", [
    ("(l).conn_bytes_min=(l).conn_bytes_max+1", "limits.conn_bytes_min"),
    ("(l).idle_reason=\"\"", "limits.idle_reason"),
    ("(l).slack_reason=0", "limits.slack_reason"),
])
def test_limits_that_contradict_themselves_are_refused(binary: Path, tmp_path: Path,
                                                       broken: str, field: str) -> None:
    so = build_fixture(tmp_path, "bad-limits", "bad_limits.c", f"-DBREAK(l)={broken}")
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert field in line and str(so) in line, line


CREATE_REASON = "example-fail: cannot start: no device tlx0 (this plug-in never does)"


def test_a_failing_create_passes_its_reason_on(binary: Path, tmp_path: Path) -> None:
    so = build_fixture(tmp_path, "example-fail", "create_fails.c")
    stderr = refused(binary, str(so), str(tmp_path), tmp_path)
    assert CREATE_REASON in stderr, stderr


def test_a_failing_create_is_one_line(binary: Path, tmp_path: Path) -> None:
    so = build_fixture(tmp_path, "example-fail", "create_fails.c")
    line = one_line(refused(binary, str(so), str(tmp_path), tmp_path))
    assert CREATE_REASON in line, line


def test_a_broken_plugin_named_from_the_path_says_why(binary: Path, tmp_path: Path) -> None:
    ours = abi_version()
    build_fixture(tmp_path, "abi-mismatch", "abi_mismatch.c", f"-DBAD_ABI={ours + 1}u")
    line = one_line(refused(binary, "abi-mismatch", str(tmp_path), tmp_path,
                            env={"TCPLAB_STACK_PATH": str(tmp_path)}))
    assert f"version {ours + 1}" in line and f"version {ours}" in line, line


def test_the_leak_check_sees_a_process_left_running(tmp_path: Path) -> None:
    """refused()'s check for processes left behind can fail: it finds one that is."""
    p = subprocess.Popen(["sleep", "30"], env={**os.environ, "TL_TEST_MARK": str(tmp_path)})
    try:
        # Popen returns once the child's exec has begun; its new environment can be read a
        # moment later (seen empty once in CI), so the check gets up to 2 s to see it
        deadline = time.monotonic() + 2
        while pids_mentioning(str(tmp_path)) != [p.pid] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pids_mentioning(str(tmp_path)) == [p.pid]
    finally:
        p.kill()
        p.wait()
    assert pids_mentioning(str(tmp_path)) == []
