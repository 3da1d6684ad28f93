"""test_flood.py - the floods of `tcplab packets --flood` (flood.py): a SYN flood from made-up
hosts of the lab's subnet and a flood of connections that never send, at the kernel and at
every DPDK stack (conftest.py, any_backend). During each, echo_rr through the SUT must pass;
the SUT process's RSS growth at the peak must stay within the bound flood.bound makes of the
limits its stack states (`tcplab list --json`); after the resets no connection is open, a
DPDK stack's mbufs, sockets and active pcbs are back at their start, and no namespace is
left.

The counts are smaller than the command's defaults (50,000 SYNs, 1,000 connections) so that
a case takes well under a minute; the pure parts (frames, the plan, the bounds, the verdict)
are checked without root.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tcplab import flood, namespaces
from tcplab.binary import Listing
from tcplab.lab import PREFIX
from tcplab.proc import module_argv, module_env, run_module
from tcplab.topology import DPDK, Limits, Table

COUNTS = {"syn": 10000, "idle": 300}
SEED = 3
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
# addresses of no lab: TEST-NET-1 (RFC 5737)
SRC, DST = bytes([192, 0, 2, 9]), bytes([192, 0, 2, 2])


def test_a_syn_frame_is_what_scapy_reads_with_right_checksums() -> None:
    from scapy.layers.inet import IP, TCP  # noqa: PLC0415 (scapy is slow to load)
    from scapy.layers.l2 import Ether  # noqa: PLC0415
    f = flood.tcp_frame(MAC_A, MAC_B, SRC, DST, 30001, 7007, 0xFFFFFFFF, 0, flood.SYN,
                        flood.MSS_OPTION)
    p = Ether(f)
    assert p[TCP].flags == "S" and p[TCP].sport == 30001 and p[TCP].dport == 7007
    assert p[TCP].seq == 0xFFFFFFFF and p[TCP].options == [("MSS", 1460)]
    assert p[IP].src == "192.0.2.9" and p[IP].dst == "192.0.2.2" and p[IP].len == 44
    again = Ether(bytes(p))
    del again[IP].chksum, again[TCP].chksum	# scapy computes both again
    assert bytes(Ether(bytes(again))) == f
    assert flood.parse_tcp(f) == (SRC, DST, 30001, 7007, 0xFFFFFFFF, 0, flood.SYN)
    rst = flood.tcp_frame(MAC_A, MAC_B, SRC, DST, 30001, 7007, 1 << 32, 0, flood.RST)
    assert flood.parse_tcp(rst) == (SRC, DST, 30001, 7007, 0, 0, flood.RST)


def test_parse_tcp_skips_what_is_not_tcp() -> None:
    f = flood.tcp_frame(MAC_A, MAC_B, SRC, DST, 1, 2, 3, 4, flood.ACK)
    assert flood.parse_tcp(f[:40]) is None
    assert flood.parse_tcp(f[:23] + b"\x11" + f[24:]) is None	# UDP
    assert flood.parse_tcp(f[:12] + b"\x08\x06" + f[14:]) is None


def test_arp_is_answered_for_our_hosts_only() -> None:
    asker_mac, asker_ip = bytes.fromhex("02aabbccddee"), bytes([192, 0, 2, 2])
    req = b"\xff" * 6 + asker_mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" + \
        asker_mac + asker_ip + b"\x00" * 6 + SRC
    r = flood.arp_reply(req, MAC_A, {SRC})
    assert r == asker_mac + MAC_A + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02" + MAC_A + \
        SRC + asker_mac + asker_ip
    assert flood.arp_reply(req, MAC_A, {DST}) is None
    assert flood.arp_reply(req[:20] + b"\x00\x02" + req[22:], MAC_A, {SRC}) is None


class FakeSock:
    """The Wire's socket as FloodWire uses it: what is sent is kept."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, frame: bytes) -> int:
        self.sent.append(frame)
        return len(frame)


def fake_wire() -> SimpleNamespace:
    sock = FakeSock()
    return SimpleNamespace(sock=SimpleNamespace(ins=sock, outs=sock), mac="02:00:00:00:00:01",
                           sut_mac="02:00:00:00:00:02", sut_addr="192.0.2.2",
                           peer_addr="192.0.2.3", prefix_len=24, sut_port=7007)


def test_the_idle_flood_completes_a_handshake_its_syn_ack_acknowledges() -> None:
    w = fake_wire()
    fw = flood.FloodWire(w, flood.Plan("idle", 4, SEED, 2))
    host, port, iss = flood.Plan("idle", 4, SEED, 2).conns()[1]
    ours = fw.hosts[host]
    isns = {(ours, port): iss}
    synack = flood.tcp_frame(MAC_B, MAC_A, DST, ours, 7007, port, 1000, iss + 1, flood.SYNACK)
    fw.count(flood.parse_tcp(synack), isns)
    assert fw.established == {(ours, port): iss} and fw.seen["synack"] == 1
    assert flood.parse_tcp(w.sock.outs.sent[-1]) == (ours, DST, port, 7007, (iss + 1) % (1 << 32),
                                                1001, flood.ACK)
    wrong = flood.tcp_frame(MAC_B, MAC_A, DST, ours, 7007, port + 1, 1000, iss + 1,
                            flood.SYNACK)
    fw.count(flood.parse_tcp(wrong), isns)	# not one of ours: counted, never answered
    rst = flood.tcp_frame(MAC_B, MAC_A, DST, ours, 7007, port, 0, 0, flood.RST)
    fw.count(flood.parse_tcp(rst), isns)
    assert len(w.sock.outs.sent) == 1 and fw.seen == {"synack": 2, "rst": 1, "other_tcp": 0,
                                                 "arp_answered": 0}
    fw.count(flood.parse_tcp(synack), None)	# the SYN flood answers none
    assert len(w.sock.outs.sent) == 1


def test_the_end_resets_every_connection_at_its_isn_plus_one() -> None:
    w = fake_wire()
    plan = flood.Plan("syn", 300, SEED, flood.SOURCES["syn"])
    fw = flood.FloodWire(w, plan)
    fw.drain = lambda *a, **k: 0	# type: ignore[method-assign] (no socket to read)
    fw.hold = lambda *a, **k: None	# type: ignore[method-assign]
    assert fw.reset_all() == 300 * flood.RESET_PASSES
    got = [flood.parse_tcp(f) for f in w.sock.outs.sent]
    assert got == [(fw.hosts[h], DST, p, 7007, (iss + 1) % (1 << 32), 0, flood.RST)
                   for h, p, iss in plan.conns()] * flood.RESET_PASSES


def test_the_plan_is_reproducible_distinct_and_inside_the_subnet() -> None:
    plan = flood.Plan("syn", 5000, SEED, flood.SOURCES["syn"])
    conns = plan.conns()
    assert conns == flood.Plan("syn", 5000, SEED, flood.SOURCES["syn"]).conns()
    assert conns != flood.Plan("syn", 5000, SEED + 1, flood.SOURCES["syn"]).conns()
    assert len({(h, p) for h, p, _ in conns}) == 5000
    hosts = plan.hosts("10.99.0.3/24")
    assert hosts[0] == bytes([10, 99, 0, 4]) and len(hosts) == flood.SOURCES["syn"]
    assert all(h[:3] == bytes([10, 99, 0]) and 4 <= h[3] < 255 for h in hosts)
    for kind in flood.KINDS:	# the largest count still has ports to come from
        last = flood.Plan(kind, flood.MAX_COUNT[kind], 1, flood.SOURCES[kind])
        assert flood.FLOOD_PORTS[0] + (last.count - 1) // last.sources <= flood.FLOOD_PORTS[1]


@pytest.mark.parametrize("kind,count,message", [
    ("ack", 10, "unknown flood 'ack' (valid: syn, idle)"),
    ("syn", 0, "--count 0: the syn flood takes 1 to 1000000"),
    ("idle", 20001, "--count 20001: the idle flood takes 1 to 20000"),
])
def test_a_flood_out_of_bounds_is_refused(kind: str, count: int, message: str) -> None:
    with pytest.raises(ValueError) as e:
        flood.check_plan(kind, count)
    assert str(e.value) == message
    flood.check_plan("syn", 50000)


def test_a_bad_flood_argument_is_a_one_line_usage_error() -> None:
    for args in (["--flood", "ack"], ["--flood", "syn", "--count", "0"],
                 ["--flood", "idle", "--count", "x"]):
        done = subprocess.run(module_argv("packets", *args), capture_output=True, text=True,
                              env=module_env(), timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        if args[-1] != "x":	# argparse's own type error is its usage and one line
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_status_memory_is_read_in_bytes() -> None:
    text = "Name:\ttcplab\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t3\n"
    assert flood.parse_status(text) == {"VmHWM": 20480 * 1024, "VmRSS": 10240 * 1024}


def limits(over_backlog: int | None, syn_bytes: int, idle_bytes: int = 16384,
           slack: int = 8 * flood.MiB) -> Limits:
    return Limits(max_sockets=None, max_sockets_reason="r", conn_bytes=(0, 1),
                  conn_bytes_reason="r", syn_over_backlog=over_backlog,
                  syn_rcvd_bytes=syn_bytes, syn_rcvd_reason="syn r", idle_bytes=idle_bytes,
                  idle_reason="idle r", slack_bytes=slack, slack_reason="r")


def test_a_bound_follows_the_stated_cap() -> None:
    capped = limits(1, 32768)
    g = flood.bound("s", capped, "syn", 50000)
    assert g.held_max == flood.LISTEN_BACKLOG + 1 and g.backlog == flood.LISTEN_BACKLOG
    assert g.bytes == (flood.LISTEN_BACKLOG + 1) * 32768 + 8 * flood.MiB
    assert g.cap.startswith("syn r")
    assert flood.bound("s", capped, "syn", 100).held_max == 100
    # where the kernel listens, somaxconn clamps serve's backlog
    assert flood.bound("s", capped, "syn", 50000, {"net.core.somaxconn": 128}).held_max == 129
    assert flood.bound("s", capped, "syn", 50000,
                       {"net.core.somaxconn": 4096}).held_max == flood.LISTEN_BACKLOG + 1
    in_kernel = flood.bound("s", limits(1, 0), "syn", 50000)
    assert in_kernel.bytes == in_kernel.slack	# request socks are kernel memory
    uncapped = flood.bound("s", limits(None, 2048), "syn", 50000)
    assert uncapped.held_max == 50000 and uncapped.bytes == 50000 * 2048 + 8 * flood.MiB
    assert uncapped.backlog is None and uncapped.cap == "syn r"
    idle = flood.bound("s", capped, "idle", 1000)
    assert (idle.held_max, idle.per_conn, idle.cap) == (1000, 16384, "idle r")


def test_a_stack_that_states_no_limits_gets_the_generic_bound() -> None:
    b = flood.bound("mine", None, "syn", 50000)
    assert b == flood.Bound("no bound stated for stack 'mine'", 50000,
                            flood.NO_LIMITS_PER_CONN, flood.NO_LIMITS_SLACK)


def test_every_listed_stack_has_a_bound_of_its_own(table: Table) -> None:
    """The bound of each backend the binary lists comes from the figures it states."""
    for b in table.backends:
        for kind in flood.KINDS:
            got = flood.bound(b.name, b.limits, kind, 1000)
            if b.limits is None:
                assert got.cap.startswith("no bound stated"), (b.name, got)
                continue
            assert got.slack == b.limits.slack_bytes and not got.cap.startswith("no bound")
            assert got.per_conn == (b.limits.syn_rcvd_bytes if kind == "syn"
                                    else b.limits.idle_bytes), (b.name, kind, got)


def good_run(**over: Any) -> dict[str, Any]:
    stack = {"mbufs_in_use": 10, "mbufs_in_use_start": 10, "sockets_open": 1, "tcp_active": 0}
    res = {"backend": "lwip", "kind": "idle", "count": 100, "sut_alive": True,
           "flood": {"frames": 100, "established": 100},
           "baseline": {"passed": True}, "during": {"passed": True, "spans_flood": True},
           "before": {"mem": {"VmRSS": 50 * flood.MiB}, "stats": {"open": 0, "stack": stack}},
           "peak": {"rss": 52 * flood.MiB, "stats": {"open": 101}},
           "bound": {"stack": "lwip", "rss_growth_max": 4 * flood.MiB, "cap": "c"},
           "after": {"stats": {"open": 0, "stack": dict(stack)}, "sockets": None}}
    res.update(over)
    return res


def test_a_good_run_has_no_problems() -> None:
    assert flood.flood_problems(good_run()) == []


@pytest.mark.parametrize("over,message", [
    ({"during": {"passed": False}}, "echo_rr during the flood did not pass"),
    ({"during": {"passed": True, "spans_flood": False}}, "echo_rr did not run for the whole"),
    ({"peak": {"rss": 60 * flood.MiB, "stats": {"open": 101}}},
     "the SUT's RSS grew by 10485760 bytes at the peak, past the bound of 4194304"),
    ({"peak": {"rss": 0}}, "no RSS samples"),
    ({"flood": {"frames": 100, "established": 40}}, "40 of 100 idle connections"),
    ({"peak": {"rss": 51 * flood.MiB, "stats": {"open": 3}}}, "the SUT held 3 connections"),
    ({"after": {"stats": {"open": 2, "stack": {"mbufs_in_use": 10, "sockets_open": 1,
                                              "tcp_active": 0}}}},
     "the SUT still holds 2 connection(s) open"),
    ({"after": {"stats": {"open": 0, "stack": {"mbufs_in_use": 90, "sockets_open": 1,
                                              "tcp_active": 0}}}},
     "the SUT stack's mbufs_in_use is 90 after the flood, 10 at its start"),
    ({"after": {"stats": {"open": 0, "stack": {"mbufs_in_use": 10, "sockets_open": 1,
                                              "tcp_active": 7}}}},
     "the SUT stack's tcp_active is 7"),
    ({"after": {"stats": {"open": 0, "stack": {"mbufs_in_use": 10, "sockets_open": 1}}}},
     "the SUT stack reports no tcp_active counter after the flood"),
    ({"after": {"stats": {"open": 0}, "sockets": {"LISTEN": 1, "SYN-RECV": 4}}},
     "kernel sockets left in the SUT after the flood: {'SYN-RECV': 4}"),
    ({"sut_alive": False, "sut_exit": -11}, "the SUT process died (exit status -11)"),
])
def test_each_failure_is_named(over: dict[str, Any], message: str) -> None:
    problems = flood.flood_problems(good_run(**over))
    assert any(message in p for p in problems), problems


def test_a_kernel_syn_queue_past_the_stated_cap_fails() -> None:
    res = good_run(backend="kernel", kind="syn", flood={"frames": 100},
                   bound={"stack": "kernel", "rss_growth_max": 4 * flood.MiB,
                          "held_max": 1025, "backlog": 1024,
                          "limits": {"net.core.somaxconn": 4096}},
                   peak={"rss": 50 * flood.MiB, "half_open": 1500, "stats": {}},
                   before={"mem": {"VmRSS": 50 * flood.MiB}, "stats": {"open": 0}},
                   after={"stats": {"open": 0}, "sockets": {"LISTEN": 1}})
    assert flood.flood_problems(res) == [
        "1500 SYN-RECV sockets at the peak, past the 1025 the stack holds at most (listen "
        "backlog 1024)"]
    res["peak"]["half_open"] = 1025
    assert flood.flood_problems(res) == []


@pytest.mark.root
@pytest.mark.netns
@pytest.mark.parametrize("kind", flood.KINDS)
def test_flood_leaves_the_sut_serving_bounded_and_clean(tcplab_bin: Path, table: Table,
                                                        listing: Listing, tmp_path: Path,
                                                        any_backend: str, kind: str) -> None:
    sut, count = any_backend, COUNTS[kind]
    out = tmp_path / "flood.json"
    run = run_module("packets", ["--flood", kind, "--count", str(count),
                                                "--seed", str(SEED), "--backend", sut,
                                                "--json", str(out)], tcplab_bin, 170)
    stdout, stderr = run.stdout, run.stderr
    print(stdout, end="")	# the figures, in the report with -rA or -s
    doc = json.loads(out.read_text())
    assert doc["schema"] == flood.SCHEMA and [r["backend"] for r in doc["runs"]] == [sut]
    (res,) = doc["runs"]
    assert res["problems"] == [] and run.rc == 0, (res["problems"], stderr[-2000:])
    assert res["flood"]["frames"] >= count
    assert res["during"]["passed"] and res["during"]["transactions"] > 0, res["during"]
    assert res["during"]["p99_us"] is not None and res["baseline"]["p99_us"] is not None
    assert res["peak"]["rss"] - res["before"]["mem"]["VmRSS"] <= \
        res["bound"]["rss_growth_max"], (res["peak"], res["bound"])
    if kind == "idle":	# the connections were there, held by the SUT, at the peak
        assert res["peak"]["stats"]["open"] >= count, res["peak"]["stats"]
    offers = {b["name"]: b["wait_set"] for b in listing.doc["backends"]}[sut]
    if kind == "idle" and offers:
        # echo_rr's round trips beside the held connections: a few sockets a wait on the
        # stack's wait set, where polling goes through every held one each time
        st = res["after"]["stats"]
        assert st["wait"] == "wait_set", st
        assert st["wait_entries"] <= 16 * st["ready_waits"], st
    assert res["after"]["stats"]["open"] == 0, res["after"]["stats"]
    if table.backend(sut).attach == DPDK:
        c, c0 = res["after"]["stats"]["stack"], res["before"]["stats"]["stack"]
        assert c["mbufs_in_use"] <= c0["mbufs_in_use_start"], c
        assert c["sockets_open"] == c0["sockets_open"] == 1, c
        assert c["tcp_active"] == c0["tcp_active"] == 0, c
    else:
        assert res["after"]["sockets"].get("SYN-RECV", 0) == 0, res["after"]["sockets"]
        assert res["after"]["sockets"].get("ESTAB", 0) == 0, res["after"]["sockets"]
    left = namespaces.made_by(PREFIX, run.pid)
    assert left == [], left
