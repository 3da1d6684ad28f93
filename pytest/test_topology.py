"""test_topology.py - the topology table (harness/topology.c) as `tcplab list` prints it, held
to README.md's ("Topologies"), and what run and serve do with it: unknown names and side
pairs the table does not join exit 2 with one line, a run records its topology and removes
its namespaces, a sockets SUT in a namespaced topology listens on its role's address, and a
DPDK SUT gets the table's settings before the user's --stack-opt.

Topologies are picked from the listing by rule wherever a test does not check a name."""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tcplab import namespaces as netns
from tcplab.binary import EXIT_PASS, EXIT_USAGE, Server, Tcplab
from tcplab.proc import Completed, ProcessManager

TIMEOUT_S = 8.0
FIELDS = {"name", "description", "engine", "sut", "mix", "default", "namespaces", "link",
          "addresses", "settings"}
KINDS = ("sockets", "dpdk")
SIDES = ("engine", "sut")
NET = {"prefix_len": 24, "engine": "10.99.0.1", "sut": "10.99.0.2", "spare": "10.99.0.3"}

# README.md's table ("Topologies"), every field but the description.
CONTRACT: dict[str, dict[str, Any]] = {
    "loopback": {
        "engine": ["sockets"], "sut": ["sockets"], "mix": "any",
        "default": {"engine": "sockets", "sut": "sockets"}, "namespaces": "none",
        "link": None,
        "addresses": {"prefix_len": 8, "engine": "127.0.0.1", "sut": "127.0.0.1",
                      "spare": None},
        "settings": {"engine": [], "sut": []}},
    "memif": {
        "engine": ["dpdk"], "sut": ["dpdk"], "mix": "any",
        "default": {"engine": "dpdk", "sut": "dpdk"}, "namespaces": "none",
        "link": {"kind": "memif"}, "addresses": NET,
        "settings": {"engine": ["port=memif", "ip=10.99.0.1"],
                     "sut": ["port=memif", "ip=10.99.0.2"]}},
    "tap": {
        "engine": ["sockets", "dpdk"], "sut": ["sockets", "dpdk"], "mix": "one-dpdk",
        "default": {"engine": "dpdk", "sut": "sockets"}, "namespaces": "shared",
        "link": {"kind": "tap"}, "addresses": NET,
        "settings": {"engine": ["port=tap", "ip=10.99.0.1", "tap_addr=10.99.0.2/24"],
                     "sut": ["port=tap", "ip=10.99.0.2", "tap_addr=10.99.0.1/24"]}},
    "veth": {
        "engine": ["sockets", "dpdk"], "sut": ["sockets", "dpdk"], "mix": "any",
        "default": {"engine": "dpdk", "sut": "dpdk"}, "namespaces": "per-side",
        "link": {"kind": "veth", "engine_if": "tlv-c", "sut_if": "tlv-s"}, "addresses": NET,
        "settings": {"engine": ["port=af_packet", "iface=tlv-c", "ip=10.99.0.1"],
                     "sut": ["port=af_packet", "iface=tlv-s", "ip=10.99.0.2"]}},
    "pci": {
        "engine": ["dpdk"], "sut": ["sockets", "dpdk"], "mix": "any",
        "default": {"engine": "dpdk", "sut": "dpdk"}, "namespaces": "none",
        "link": {"kind": "pci"}, "addresses": None,
        "settings": {"engine": ["port=pci"], "sut": ["port=pci"]}},
}


def listed(tcplab: Tcplab) -> dict[str, Any]:
    done = tcplab.cmd("list", "--json", timeout=TIMEOUT_S)
    assert done.rc == EXIT_PASS, done.stderr
    return json.loads(done.stdout)


def allows(t: dict[str, Any], engine: str, sut: str) -> bool:
    """The table's rule: each side's kind listed, and the mix."""
    if engine not in t["engine"] or sut not in t["sut"]:
        return False
    return t["mix"] == "any" or (engine == "dpdk") != (sut == "dpdk")


def rejected(done: Completed, procs: ProcessManager, *names: str) -> str:
    """Exit 2, one line on stderr naming every one of @names, nothing ran."""
    assert done.rc == EXIT_USAGE, f"exit {done.rc}; stderr {done.stderr!r}"
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and done.stderr.endswith("\n"), done.stderr
    missing = [n for n in names if n not in lines[0]]
    assert not missing, f"the message does not name {missing}: {lines[0]!r}"
    assert done.stdout == "" and procs.tagged_pids() == []
    return lines[0]


def namespaces() -> set[str]:
    return netns.listed("tcplab-r") if shutil.which("ip") else set()


# ---- the listing ----

def test_list_json_topologies_follow_the_contract(tcplab: Tcplab) -> None:
    topologies = listed(tcplab)["topologies"]
    names = [t["name"] for t in topologies]
    assert names == list(CONTRACT), names
    for t in topologies:
        assert set(t) == FIELDS, (t["name"], sorted(t))
        assert isinstance(t["description"], str) and t["description"], t
        want = dict(CONTRACT[t["name"]])
        assert {k: t[k] for k in want} == want, t["name"]


def test_every_entry_is_consistent(tcplab: Tcplab) -> None:
    """What any entry must satisfy, whatever the table holds: its defaults are a pair it
    joins, a namespaced one has an address plan, a DPDK side's settings name its port and its
    role's address, and every planned topology beyond loopback shares the one plan."""
    plans = []
    for t in listed(tcplab)["topologies"]:
        name = t["name"]
        assert t["engine"] and t["sut"] and set(t["engine"] + t["sut"]) <= set(KINDS), name
        assert t["mix"] in ("any", "one-dpdk") and t["namespaces"] in ("none", "shared",
                                                                       "per-side"), name
        assert allows(t, t["default"]["engine"], t["default"]["sut"]), name
        if t["namespaces"] != "none":
            assert t["addresses"] is not None, name
        plan = t["addresses"]
        if plan is not None:
            for side in SIDES:
                ipaddress.ip_address(plan[side])
            if plan["prefix_len"] != 8:
                plans.append(plan)
        for side in SIDES:
            got = t["settings"][side]
            if "dpdk" not in t[side]:
                assert got == [], (name, side, got)
                continue
            assert got and got[0].startswith("port="), (name, side, got)
            if plan is not None:
                assert f"ip={plan[side]}" in got, (name, side, got)
            if t["link"] is not None and f"{side}_if" in t["link"]:
                assert f"iface={t['link'][side + '_if']}" in got, (name, side, got)
    assert plans and all(p == plans[0] for p in plans), plans


def test_list_text_names_every_topology(tcplab: Tcplab) -> None:
    doc = listed(tcplab)
    done = tcplab.cmd("list", timeout=TIMEOUT_S)
    assert done.rc == EXIT_PASS, done.stderr
    section = done.stdout.split("topologies", 1)
    assert len(section) == 2, done.stdout
    for t in doc["topologies"]:
        assert f"  {t['name']} " in section[1], (t["name"], section[1])


# ---- bad names and pairs ----

@pytest.mark.parametrize("command", [["run", "echo_rr"], ["serve", "echo"]])
def test_unknown_topology_exits_2(tcplab: Tcplab, procs: ProcessManager, tmp_path: Path,
                                  command: list[str]) -> None:
    names = [t["name"] for t in listed(tcplab)["topologies"]]
    extra = ["--out", str(tmp_path / "out")] if command[0] == "run" else []
    done = tcplab.cmd(*command, *extra, "--topology", "nosuch", timeout=TIMEOUT_S)
    rejected(done, procs, "nosuch", *names)
    assert not (tmp_path / "out").exists()


def disallowed_runs(doc: dict[str, Any]) -> list[list[str]]:
    """`run` flags for every side the table refuses with the backends listed: a backend of a
    kind a side does not take, and a pair of kinds the mix does not join."""
    kinds = {b["name"]: b["attach"] for b in doc["backends"]}
    cases = []
    for t in doc["topologies"]:
        name = t["name"]
        peer = ["--peer", "127.0.0.1:9"] if t["namespaces"] == "none" else []
        for b, k in kinds.items():
            if k not in t["engine"]:
                cases.append(["--topology", name, "--backend", b, *peer])
        mixed = any(len(t[s]) > 1 for s in SIDES) and t["namespaces"] != "none"
        if not mixed:
            continue
        for e, ek in kinds.items():
            for s, sk in kinds.items():
                if ek in t["engine"] and not allows(t, ek, sk):
                    cases.append(["--topology", name, "--backend", e, "--sut-backend", s])
    return cases


def test_disallowed_sides_exit_2(tcplab: Tcplab, procs: ProcessManager,
                                 tmp_path: Path) -> None:
    doc = listed(tcplab)
    cases = disallowed_runs(doc)
    assert cases, "the table refuses nothing the listed backends could ask for"
    before = namespaces()
    for flags in cases:
        out = tmp_path / "out"
        done = tcplab.cmd("run", "echo_rr", "--out", str(out), *flags, timeout=TIMEOUT_S)
        names = [f for f in flags if not f.startswith("-") and ":" not in f]
        rejected(done, procs, *names)
        assert not out.exists(), flags
    assert namespaces() == before


def test_sut_backend_only_where_the_sides_may_differ(tcplab: Tcplab, procs: ProcessManager,
                                                     tmp_path: Path) -> None:
    doc = listed(tcplab)
    sockets = next(b["name"] for b in doc["backends"] if b["attach"] == "sockets")
    for t in doc["topologies"]:
        if any(len(t[s]) > 1 for s in SIDES):
            continue
        done = tcplab.cmd("run", "echo_rr", "--out", str(tmp_path / "out"), "--topology",
                          t["name"], "--sut-backend", sockets, timeout=TIMEOUT_S)
        rejected(done, procs, "--sut-backend")


def test_serve_refuses_a_backend_the_sut_side_does_not_take(tcplab: Tcplab,
                                                            procs: ProcessManager) -> None:
    doc = listed(tcplab)
    cases = [(t["name"], b["name"]) for t in doc["topologies"] for b in doc["backends"]
             if b["attach"] not in t["sut"]]
    assert cases
    for topology, backend in cases:
        done = tcplab.cmd("serve", "echo", "--backend", backend, "--topology", topology,
                          timeout=TIMEOUT_S)
        rejected(done, procs, topology, backend)


# ---- runs ----

def test_a_run_records_the_backends_own_topology(tcplab: Tcplab, tmp_path: Path) -> None:
    doc = listed(tcplab)
    own = next(t["name"] for t in doc["topologies"]
               if t["default"] == {"engine": "sockets", "sut": "sockets"})
    done = tcplab.run("echo_rr", "--duration", "0.3", "--warmup", "0", out=tmp_path)
    assert done.rc == EXIT_PASS, done.completed.stderr
    assert (done.result["backend"], done.result["topology"]) == ("kernel", own)


@pytest.mark.root
@pytest.mark.netns
def test_a_namespaced_kernel_run_records_it_and_cleans_up(tcplab: Tcplab,
                                                          tmp_path: Path) -> None:
    """Both sides sockets, in namespaces of the run's own: the SUT listens on its role's
    address there (the engine reaches it nowhere else), and the namespaces go."""
    doc = listed(tcplab)
    t = next(t for t in doc["topologies"]
             if t["namespaces"] == "per-side" and allows(t, "sockets", "sockets"))
    before = namespaces()
    done = tcplab.run("echo_rr", "--topology", t["name"], "--sut-backend", "kernel",
                      "--duration", "0.5", "--warmup", "0.1", out=tmp_path, timeout=60)
    assert done.rc == EXIT_PASS, done.completed.stderr
    r = done.result
    assert (r["backend"], r["sut_backend"], r["topology"]) == ("kernel", "kernel", t["name"])
    assert r["passed"] and r["metrics"]["transactions"] > 0
    assert namespaces() <= before, "the run's namespaces are left behind"


@pytest.mark.root
@pytest.mark.netns
def test_a_stop_while_a_namespace_is_made_ends_as_a_stop(tcplab: Tcplab, tcplab_bin: Path,
                                                         tmp_path: Path) -> None:
    """SIGINT while `ip netns add` runs (a ^C during the setup): the run lets ip finish,
    then stops as it would have a moment later: exit 130, an interrupted result, nothing
    left. An `ip` first on PATH holds `netns add` until the signal is sent, so the timing
    is sure."""
    doc = listed(tcplab)
    t = next(t for t in doc["topologies"]
             if t["namespaces"] == "per-side" and allows(t, "sockets", "sockets"))
    real_ip = shutil.which("ip")
    assert real_ip is not None
    held, go = tmp_path / "held", tmp_path / "go"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "netns add" ] && [ ! -e {go} ]; then\n'
        f"  touch {held}; while [ ! -e {go} ]; do sleep 0.01; done\n"
        "fi\n"
        f'exec {real_ip} "$@"\n')
    (bin_dir / "ip").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    before = namespaces()
    proc = subprocess.Popen([str(tcplab_bin), "run", "echo_rr", "--topology", t["name"],
                             "--sut-backend", "kernel", "--duration", "5", "--quiet", "--out",
                             str(tmp_path / "out")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not held.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)	# delivered while ip still runs
        go.touch()
        _, err = proc.communicate(timeout=30)
    finally:
        go.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGINT, err
    assert json.loads((tmp_path / "out" / "echo_rr.json").read_text())["interrupted"] is True
    assert namespaces() <= before, "the run's namespaces are left behind"


@pytest.mark.root
@pytest.mark.netns
def test_a_sockets_sut_listens_on_its_roles_address(tcplab_bin: Path,
                                                    procs: ProcessManager) -> None:
    """serve --topology T with a sockets backend, in a namespace of its own (unshare -n:
    gone with the process) that has the address: the ready line says the plan's."""
    doc = json.loads(procs.run([str(tcplab_bin), "list", "--json"], TIMEOUT_S).stdout)
    t = next(t for t in doc["topologies"]
             if t["namespaces"] != "none" and "sockets" in t["sut"])
    plan = t["addresses"]
    script = (f"ip link set lo up && ip addr add {plan['sut']}/{plan['prefix_len']} dev lo "
              f"&& exec {tcplab_bin} serve echo --topology {t['name']}")
    with Server(procs.start(["unshare", "-n", "sh", "-c", script]), TIMEOUT_S) as sv:
        assert sv.address[0] == plan["sut"], sv.ready


@pytest.mark.root
@pytest.mark.dpdk
def test_a_dpdk_sut_takes_the_tables_settings_then_the_users(dpdk_stack: str,
                                                             tcplab_bin: Path,
                                                             procs: ProcessManager) -> None:
    """The table's ip= for the SUT side, unless --stack-opt ip= says otherwise (last wins):
    on every DPDK stack (conftest.py, dpdk_stack)."""
    doc = json.loads(procs.run([str(tcplab_bin), "list", "--json"], TIMEOUT_S).stdout)
    t = next(t for t in doc["topologies"] if t["default"] == {"engine": "dpdk", "sut": "dpdk"}
             and t["namespaces"] == "none" and t["addresses"] is not None)
    plan = t["addresses"]
    for extra, want in (([], plan["sut"]), (["--stack-opt", f"ip={plan['spare']}"],
                                            plan["spare"])):
        argv = [str(tcplab_bin), "serve", "echo", "--backend", dpdk_stack, "--topology",
                t["name"], "--run-id", f"topo{len(extra)}", *extra]
        with Server(procs.start(argv), 30.0) as sv:
            assert sv.address[0] == want, sv.ready


@pytest.mark.root
@pytest.mark.netns
def test_conformance_builds_the_tables_namespaces(tcplab_bin: Path, procs: ProcessManager) -> None:
    """The conformance tool's places (python/tcplab/conform.py) come from `list --json`: for
    each backend the topology the rule picks, a Linux peer on the engine side holding the
    table's engine address in its namespace and a sockets SUT the SUT address in its own;
    a DPDK SUT given the table's settings for the SUT side. No second plan."""
    from tcplab.conform import Places
    from tcplab.topology import Table

    doc = json.loads(procs.run([str(tcplab_bin), "list", "--json"], TIMEOUT_S).stdout)
    table = Table.parse(doc)
    backends = [b["name"] for b in doc["backends"] if b["name"] != "kernel"]
    with Places(table, backends, "t") as places:
        for name, place in places.by_backend.items():
            attach = next(b["attach"] for b in doc["backends"] if b["name"] == name)
            t = next(t for t in doc["topologies"] if t["namespaces"] != "none"
                     and "sockets" in t["engine"] and attach in t["sut"]
                     and (t["mix"] != "one-dpdk" or attach == "dpdk"))
            plan = t["addresses"]
            if attach == "sockets":
                assert netns.iface_with(place.peer_ns, plan["engine"]), (name, t["name"])
                assert netns.iface_with(place.sut_ns, plan["sut"]), (name, t["name"])
            else:	# the SUT's port makes the link and addresses the peer's end
                assert list(place.sut_opts) == t["settings"]["sut"], (name, place)
