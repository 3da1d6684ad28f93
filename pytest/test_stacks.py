"""test_stacks.py - tcplab.stacks, the one table of the DPDK stacks: which ones a binary has,
which ones this tree expects and why, the reason a missing one is given (a skip where a
package is missing, a failure where everything it needs is installed: a broken build), and
the default stack; `python3 -m tcplab.stacks`, the first step of `./tcplab test`, printing
the stacks built and failing on a broken build. On made-up listings (a fake binary), so it
needs neither root nor DPDK."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tcplab import stacks
from tcplab.proc import ROOT
from tcplab.topology import LINUX, Table


def table(*dpdk: str, sockets: tuple[str, ...] = ()) -> Table:
    return Table.parse({"topologies": [], "backends": [
        {"name": LINUX, "attach": "sockets", "origin": "built-in"},
        *({"name": s, "attach": "sockets", "origin": "plug-in", "path": f"/x/{s}.so"}
          for s in sockets),
        *({"name": s, "attach": "dpdk", "origin": "plug-in", "path": f"/x/{s}.so"}
          for s in dpdk)]})


def test_the_table_names_each_stack_once_with_its_folder() -> None:
    names = [e.name for e in stacks.EXPECTED]
    assert len(names) == len(set(names)) and stacks.LWIP in names
    for e in stacks.EXPECTED:
        assert e.folder == f"stack/{e.name}" and e.packages, e
        assert set(e.targets) <= {"floor", "stream", "crr"}, e


def test_built_is_every_dpdk_backend_in_the_binarys_order() -> None:
    t = table("zeta", "alpha", sockets=("example",))
    assert stacks.built(t) == ["zeta", "alpha"]


def test_a_stack_not_in_the_tree_is_absent_for_that_reason(tmp_path: Path) -> None:
    exp = stacks.Expected("stk", "stack/stk", ("coreutils",))
    p = stacks.absence(exp, tmp_path, {"coreutils"})
    assert (p.built, p.broken, p.why) == (False, False,
                                          "stk: stack/stk/ is not in this source tree")


def test_missing_packages_are_named_and_not_a_broken_build(tmp_path: Path) -> None:
    (tmp_path / "stack" / "stk").mkdir(parents=True)
    (tmp_path / "stack" / "stk" / "meson.build").write_text("")
    exp = stacks.Expected("stk", "stack/stk", ("libdpdk-dev", "golang-go",
                                               "golang-gvisor-gvisor-dev"))
    p = stacks.absence(exp, tmp_path, {"libdpdk-dev"})
    assert not p.broken
    assert p.why == "stk: golang-go / golang-gvisor-gvisor-dev not installed"
    broken = stacks.absence(exp, tmp_path, set(exp.packages))
    assert broken.broken and "the build broke" in broken.why, broken


def test_installed_asks_dpkg() -> None:
    if not Path("/usr/bin/dpkg-query").exists():
        pytest.skip("no dpkg-query here")
    assert "dpkg" in stacks.installed(["dpkg", "no-such-package-tcplab"])
    assert "no-such-package-tcplab" not in stacks.installed(["no-such-package-tcplab"])


def test_survey_lists_the_built_then_the_expected_it_lacks() -> None:
    survey = stacks.survey(table("mine"), ROOT)
    assert survey[0] == stacks.Presence("mine", True)
    assert [p.name for p in survey[1:]] == [e.name for e in stacks.EXPECTED]
    assert all(not p.built and p.why.startswith(f"{p.name}: ") for p in survey[1:])
    built = [e.name for e in stacks.EXPECTED]
    assert [p.name for p in stacks.survey(table(*built), ROOT)] == built


def test_targets_come_from_the_table() -> None:
    for e in stacks.EXPECTED:
        assert stacks.targets(e.name) == e.targets
    assert stacks.targets("nobodys-stack") == {}


def test_default_stack_is_the_build_option_where_built(tmp_path: Path) -> None:
    binary = tmp_path / "build" / "harness" / "tcplab"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    info = tmp_path / "build" / "meson-info"
    info.mkdir()
    assert stacks.default_stack(table("a", "b"), binary) == "a"	# no introspection: first
    (info / "intro-buildoptions.json").write_text(json.dumps(
        [{"name": "default_stack", "value": "b"}]))
    assert stacks.default_stack(table("a", "b"), binary) == "b"
    assert stacks.default_stack(table("a"), binary) == "a"	# not built: the first
    assert stacks.default_stack(table(), binary) is None


def test_report_names_versions_and_a_broken_build() -> None:
    survey = [stacks.Presence("lwip", True),
              stacks.Presence("gvisor", False, "gvisor: golang-go not installed"),
              stacks.Presence("stk", False, "stk: not built, though ... the build broke",
                              broken=True)]
    lines, broken = stacks.report(survey, {"liblwip-dev": "2.1.3", "libdpdk-dev": "22.11"})
    assert lines == ["stack lwip: built (libdpdk-dev 22.11, liblwip-dev 2.1.3)",
                     "stack gvisor: absent, its tests skip: gvisor: golang-go not installed",
                     "stack stk: NOT BUILT (build broken)"]
    assert broken == ["tcplab test: stack stk: not built, though ... the build broke"]
    assert stacks.report(survey[:2], {})[1] == []


def fake_build(tmp_path: Path, *dpdk: str) -> Path:
    """A build dir whose harness/tcplab lists the kernel and @dpdk (tcplab list --json)."""
    doc = {"scenarios": [], "programs": [], "steps": [], "metrics": [], "topologies": [],
           "backends": [{"name": LINUX, "attach": "sockets", "origin": "built-in",
                         "path": None},
                        *({"name": s, "attach": "dpdk", "origin": "plug-in",
                           "path": f"/x/{s}.so"} for s in dpdk)]}
    binary = tmp_path / "build" / "harness" / "tcplab"
    binary.parent.mkdir(parents=True)
    (tmp_path / "list.json").write_text(json.dumps(doc))
    binary.write_text(f"#!/bin/sh\ncat {tmp_path / 'list.json'}\n")
    binary.chmod(0o755)
    return tmp_path / "build"


def lacking_with_packages() -> list[stacks.Expected]:
    """The expected stacks whose packages are all installed here."""
    have = stacks.installed({p for e in stacks.EXPECTED for p in e.packages})
    return [e for e in stacks.EXPECTED if set(e.packages) <= have]


def test_ci_fails_first_thing_when_an_installable_stack_did_not_build(tmp_path: Path) -> None:
    """`./tcplab test` (ci/test.sh) with a build that lacks a stack whose packages are here:
    exit 1 at its first step, one line naming the stack and the missing build, and the
    stacks it has printed first."""
    lacking = lacking_with_packages()
    if not lacking:
        pytest.skip("no expected stack has its packages installed here")
    built = [e.name for e in stacks.EXPECTED if e is not lacking[0]]
    done = subprocess.run([str(ROOT / "ci" / "test.sh")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TCPLAB_BUILD": str(
                              fake_build(tmp_path, *built))})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("== stacks\nstacks of "), done.stdout
    assert "== unit tests" not in done.stdout
    for name in built:
        assert f"stack {name}: built (" in done.stdout, done.stdout
    assert f"stack {lacking[0].name}: NOT BUILT" in done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"tcplab test: stack {lacking[0].name}: not built, though "
                           f"{lacking[0].folder}/ is here") and "the build broke" in line


def test_the_stacks_step_passes_with_every_installable_stack_built(tmp_path: Path) -> None:
    build = fake_build(tmp_path, *(e.name for e in lacking_with_packages()))
    done = subprocess.run([sys.executable, "-m", "tcplab.stacks"], capture_output=True,
                          text=True, timeout=60, env={
                              **os.environ, "TCPLAB_BIN": str(build / "harness" / "tcplab"),
                              "PYTHONPATH": str(ROOT / "python")})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "NOT BUILT" not in done.stdout
