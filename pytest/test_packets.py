"""test_packets.py - the packet-level checks (tcplab.checks, `tcplab packets`): scapy plays the
peer at the wire, on the engine side of the topology the binary's table gives a Linux peer and
the SUT (a veth pair for the kernel, a tap for a DPDK stack), the SUT serving echo.

Each check is its own test. The `sut` fixture starts a SUT per backend: the kernel, every
other backend the binary lists, and every DPDK stack expected here (conftest.py,
any_backend: one the binary lacks skips with the reason, or fails where its packages are
installed). On the kernel, the replies are compared field by field with what Linux must do
per RFC (EXPECT below): only the fields that are deterministic are asserted, and each entry
says which ones it leaves out and why. On any other SUT they are compared with the kernel's
own replies recorded in the same session (the oracle); a difference listed for that stack in
scenarios/conformance/divergences.txt is an expected failure with its reason.

The end-to-end test runs `tcplab packets --packets` (the kernel twice: the oracle must be
deterministic) and merges its records into conform's parity table.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tcplab import checks, conform, namespaces, packets, verdicts, wire
from tcplab.lab import PREFIX, PacketLab
from tcplab.proc import children, first_stderr_line, module_argv, module_env, running
from tcplab.topology import Addresses, Table
from tcplab.verdicts import Run


@dataclass(frozen=True)
class Addr:
    """An address of the lab's topology, known once the lab is up: "sut", or "spare"
    (scapy's)."""
    role: str


SUT, PEER = Addr("sut"), Addr("spare")


@dataclass(frozen=True)
class Pred:
    """An expectation that is a property, not a value; `what` is what a failure prints."""
    what: str
    ok: Callable[[Any], bool]

    def __repr__(self) -> str:
        return self.what


ABSENT = Pred("absent", lambda v: v is None)

# Per check, per step: the fields that must have these values (dotted keys reach into the
# options). Sequence numbers are relative: ack to our ISN (our SYN is 0, our first data byte
# 1), seq to the SUT's ISN. Data sizes: "still-works" 11 bytes, "probe-me" 8, "duplicate" 9,
# "in-window" 9, "acks-unsent" 11, "bad-option-data" 15.
NO_REPLY = {"reply": "none"}
EXPECT: dict[str, list[dict[str, Any]]] = {
    # RFC 9293 3.1 / RFC 1122 4.2.2.7: a bad TCP checksum is silently discarded; the same
    # sequence number with a good checksum is then new data: acked (1 + 11) and echoed once.
    "pkt_bad_tcp_checksum": [
        {"op": "data_bad_tcp_checksum", **NO_REPLY},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # RFC 1122 3.2.1.2: a bad IP header checksum is silently discarded.
    "pkt_bad_ip_checksum": [
        {"op": "data_bad_ip_checksum", **NO_REPLY},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # RFC 5961 4.2: SYN in a synchronized state -> challenge ACK, connection untouched.
    "pkt_syn_on_established": [
        {"op": "syn_in_window", "reply": "tcp", "flags": "A", "seq": 1, "ack": 1, "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # RFC 9293 3.10.7.4: unacceptable segment -> <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, data
    # dropped (only the in-window data is echoed). Options (no SACK block) not asserted.
    "pkt_data_beyond_window": [
        {"op": "data_beyond_window", "reply": "tcp", "flags": "A", "seq": 1, "ack": 1,
         "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 10, "echo": "in-window"}],
    # RFC 9293 3.8.6.1 / 3.10.7.4: a true zero window. Ours closes with the 7-byte echo;
    # the SUT's once its buffers are full (Linux: about 300 KB here); Linux's own probe
    # (SND.UNA - 1, no data) gets an ACK of all, window zero; our window opening lets the
    # echo drain, and the SUT's window opens.
    "pkt_zero_window_probe": [
        {"op": "our_window_closed", "reply": "tcp", "echo": "warm-up", "our_window": 0},
        {"op": "fill_sut_window", "reply": "tcp", "sut_window": "zero"},
        {"op": "window_probe", "reply": "tcp", "flags": "A", "len": 0, "win": "zero",
         "acks_all": True},
        {"op": "our_window_opens", "reply": "tcp", "sut_window": "open"}],
    # RFC 9293 3.10.7.4: a duplicate is acknowledged at once; RFC 2883: with SACK agreed,
    # Linux (tcp_dsack=1) names it in a D-SACK block [1, 10); never delivered twice.
    "pkt_duplicate_data": [
        {"op": "data", "reply": "tcp", "ack": 10, "echo": "duplicate"},
        {"op": "same_segment_again", "reply": "tcp", "flags": "A", "seq": 10, "ack": 10,
         "len": 0, "options.sack": [1, 10]},
        {"op": "no_second_delivery", **NO_REPLY}],
    # RFC 5961 5.2 / RFC 9293 3.10.7.4: SEG.ACK > SND.NXT -> an ACK, segment (and its
    # data) discarded; the same data with a valid ACK is then new data.
    "pkt_ack_unsent_data": [
        {"op": "ack_beyond_snd_nxt", "reply": "tcp", "flags": "A", "seq": 1, "ack": 1,
         "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "acks-unsent"}],
    # RFC 792 / RFC 1122 3.2.2.6: echo reply with the same identifier, sequence and data.
    "pkt_icmp_echo": [
        {"op": "echo_request", "reply": "icmp", "type": 0, "code": 0, "id": "same",
         "seq": "same", "data": "same"}],
    # RFC 826: reply (op 2), sender = the SUT's MAC and address, unicast to the asker.
    "pkt_arp_request": [
        {"op": "who_has_sut", "reply": "arp", "arp_op": 2, "hwsrc": "sut", "psrc": SUT,
         "hwdst": "peer", "pdst": PEER, "eth_dst": "peer", "eth_src": "sut"}],
    # A bad option length must not crash or stall the handshake (RFC 9293 3.1: options
    # parsed defensively). Linux (tcp_parse_options) stops at the bad option and keeps what
    # came before it: SACK after a length-0 option is not seen, SACK before a timestamp
    # running past the header is. On an established connection the data is still taken.
    "pkt_bad_option_length": [
        {"op": "syn_option_length_0", "reply": "tcp", "flags": "SA", "ack": 1,
         "options": {"mss": 1460}},
        {"op": "syn_option_past_header", "reply": "tcp", "flags": "SA", "ack": 1,
         "options": {"mss": 1460, "sack_permitted": True}},
        {"op": "data_option_length_0", "reply": "tcp", "ack": 16, "echo": "bad-option-data"},
        {"op": "data_after", "reply": "tcp", "ack": 27, "echo": "still-works"}],
    # ---- on the wire (issue 14). Sizes, windows and times are recorded as what two
    # correct stacks agree on: bounds met, booleans, buckets; each check's docstring says
    # its tolerance. Segment sizes need the veth's offloads off (namespaces.py), so scapy
    # sees the segments the wire would carry, not one GSO packet.
    # MUST-15: no MSS option -> 536 (Linux TCP_MSS_DEFAULT).
    "pkt_default_mss": [
        {"op": "echo_3000", "reply": "tcp", "echo_ok": True, "max_len": "<=536"}],
    # MUST-65: MSS only on SYN segments.
    "pkt_mss_only_on_syn": [
        {"op": "echo_3000", "reply": "tcp", "echo_ok": True, "mss_option": False}],
    # RFC 7323 2.3: window 32 << 7 = 4096 bytes respected, the echo complete.
    "pkt_wscale_applied": [
        {"op": "echo_8000", "reply": "tcp", "echo_ok": True, "beyond_window": False,
         "window_used": "scaled"}],
    # MUST-1: 0xFFFF is 65535, not -1.
    "pkt_window_unsigned": [
        {"op": "echo_20000", "reply": "tcp", "echo_ok": True, "beyond_window": False}],
    # RFC 5681 3.2: the segment at 1 + 536 again, within 150 ms of the duplicate ACKs.
    "pkt_fast_retransmit": [
        {"op": "three_dup_acks", "reply": "tcp", "seq": 537, "fast": True}],
    # RFC 9293 3.10.7.2: without a Fast Open cookie Linux acknowledges only the SYN.
    "pkt_syn_with_data": [
        {"op": "syn_with_data", "reply": "tcp", "flags": "SA", "ack": 1},
        {"op": "handshake_done", **NO_REPLY},
        {"op": "data_again", "reply": "tcp", "ack": 9, "echo": "syn-data"}],
    # RFC 9293 3.10.7.4 SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST> (our ACK was ISN + 1 + 1000);
    # Linux (tcp_check_req) keeps the request: the right ACK completes it.
    "pkt_bad_ack_in_syn_rcvd": [
        {"op": "ack_not_sent", "reply": "tcp", "flags": "R", "seq": 1001, "len": 0},
        {"op": "right_ack_then_data", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # RFC 9293 3.10.7.4 fifth check: no ACK bit -> drop (Linux: TCP_FLAGS drop reason).
    "pkt_data_without_ack": [
        {"op": "data_without_ack", **NO_REPLY},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "no-ack-flag"}],
    # RFC 9293 3.10.7.4: old duplicate [4, 8) after [1, 11) -> ACK seq 11 ack 11, dropped.
    "pkt_old_duplicate": [
        {"op": "data", "reply": "tcp", "ack": 11, "echo": "first-data"},
        {"op": "old_duplicate", "reply": "tcp", "flags": "A", "seq": 11, "ack": 11, "len": 0,
         "win": "open"},
        {"op": "not_delivered", **NO_REPLY}],
    # RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND -> challenge ACK, data dropped (Linux
    # tcp_ack: TCP_TOO_OLD_ACK); the same 7 bytes with a valid ACK are then new.
    "pkt_old_ack_challenge": [
        {"op": "data", "reply": "tcp", "ack": 10, "echo": "some-data"},
        {"op": "ack_too_old", "reply": "tcp", "flags": "A", "seq": 10, "ack": 10, "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 17, "echo": "old-ack"}],
    # RFC 5961 7: Linux sends one challenge ACK per socket per 500 ms (tcp_oow_rate_limited).
    "pkt_challenge_ack_rate_limit": [
        {"op": "ten_syns", "reply": "tcp", "challenge_acks": "one"},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # MUST-30: all 8 bytes acknowledged; Linux without SO_OOBINLINE keeps the urgent byte
    # out of the stream (tcp_urg), so the echo reads "normal-" only.
    "pkt_urgent_data": [
        {"op": "urgent", "reply": "tcp", "ack": 9, "echo": "normal-"},
        {"op": "data_after", "reply": "tcp", "ack": 14, "echo": "after"}],
    # MUST-5/6: the unknown option is skipped by its length: MSS after it is read.
    "pkt_unknown_option": [
        {"op": "syn_unknown_option", "reply": "tcp", "flags": "SA", "ack": 1,
         "options": {"mss": 1460}},
        {"op": "data_unknown_option", "reply": "tcp", "ack": 12, "echo": "unknown-opt"}],
    # MUST-64: window scale then MSS at offset 3: the SYN-ACK answers the scale.
    "pkt_unaligned_options": [
        {"op": "syn_unaligned", "reply": "tcp", "flags": "SA", "ack": 1, "wscale": "set"},
        {"op": "data_after", "reply": "tcp", "ack": 12, "echo": "still-works"}],
    # MUST-57: Linux's tcp_v4_conn_request drops SYNs routed as broadcast.
    "pkt_syn_to_broadcast": [
        {"op": "syn_to_broadcast", **NO_REPLY},
        {"op": "syn_to_sut", "reply": "tcp", "flags": "SA", "ack": 1}],
    # MUST-63: Linux drops a multicast or limited-broadcast source as martian.
    "pkt_syn_from_multicast_source": [
        {"op": "syn_from_multicast", **NO_REPLY},
        {"op": "syn_from_broadcast", **NO_REPLY}],
    # RFC 1191: Linux (tcp_v4_mtu_reduced) resends at once in packets of at most 1000.
    "pkt_icmp_frag_needed": [
        {"op": "frag_needed", "reply": "tcp", "fits": True},
        {"op": "acked", "reply": "tcp", "echo_ok": True},
        {"op": "data_after", "reply": "tcp", "ack": 4392, "echo": "still-works"}],
    # MUST-55: source quench ignored (Linux: icmp_err_convert has no error for it).
    "pkt_icmp_source_quench": [
        {"op": "data", "reply": "tcp", "ack": 12, "echo": "before-icmp"},
        {"op": "icmp_4_0", **NO_REPLY},
        {"op": "data_after", "reply": "tcp", "ack": 23, "echo": "still-works"}],
    # MUST-56: net and host unreachable are soft errors in ESTABLISHED (sk_err_soft).
    "pkt_icmp_unreachable_soft": [
        {"op": "data", "reply": "tcp", "ack": 12, "echo": "before-icmp"},
        {"op": "icmp_3_0", **NO_REPLY},
        {"op": "icmp_3_1", **NO_REPLY},
        {"op": "data_after", "reply": "tcp", "ack": 23, "echo": "still-works"}],
    # MUST-50: NOP/EOL IP options do not stop delivery.
    "pkt_ip_options_ignored": [
        {"op": "data_with_ip_options", "reply": "tcp", "ack": 11, "echo": "ip-options"}],
    # MUST-49 (net.ipv4.ip_default_ttl 64), RFC 1191 (ip_no_pmtu_disc 0: DF set).
    "pkt_ttl_and_df": [
        {"op": "synack", "reply": "tcp", "ttl": 64, "df": True},
        {"op": "echo_segment", "reply": "tcp", "ttl": 64, "df": True}],
    # MUST-40: a pure ACK of "ack-me" (1 + 7 + 6 = 14) within 0.5 s.
    "pkt_ack_within_500ms": [
        {"op": "small_segment", "reply": "tcp", "flags": "A", "ack": 14, "len": 0,
         "within_500ms": True}],
    # RFC 9293 3.10.7.4 LAST-ACK: text after the FIN ignored, never acknowledged.
    "pkt_data_after_fin": [
        {"op": "data_after_fin", "reply": "tcp", "acked": False, "echo": ""}],
    # MUST-66: a RST at RCV.NXT is processed with the receive window zero; an ACK after it
    # meets no connection: <SEQ=SEG.ACK><RST> (3.10.7.1), no ACK flag.
    "pkt_rst_in_zero_window": [
        {"op": "fill_sut_window", "reply": "tcp", "sut_window": "zero"},
        {"op": "rst_at_rcv_nxt", **NO_REPLY},
        {"op": "ack_after_rst", "reply": "tcp", "flags": "R", "len": 0}],
    # MUST-69: nothing but zeros after an EOL in the SYN-ACK's options (Linux pads with NOP).
    "pkt_option_padding": [
        {"op": "synack", "reply": "tcp", "padding_zero": True}],
    # RFC 9293 3.7.4 (Nagle): with TCP_NODELAY off, "b" waits while "a" is unacknowledged
    # and leaves once it is acknowledged.
    "pkt_nagle_on_wire": [
        {"op": "first_small_echo", "reply": "tcp", "seq": 1, "len": 1},
        {"op": "second_while_first_unacked", **NO_REPLY},
        {"op": "after_the_ack", "reply": "tcp", "seq": 2, "len": 1},
        {"op": "echoed", "data": "ab"}],
    # MUST-17: with TCP_NODELAY on, "b" leaves though "a" is unacknowledged.
    "pkt_nodelay_on_wire": [
        {"op": "first_small_echo", "reply": "tcp", "seq": 1, "len": 1},
        {"op": "second_while_first_unacked", "reply": "tcp", "seq": 2, "len": 1},
        {"op": "after_the_ack", **NO_REPLY},
        {"op": "echoed", "data": "ab"}],
    # RFC 6298 5 / RFC 9293 3.8.1: the SYN again, same ISN; our SYN-ACK then gets the ACK
    # that completes the connection.
    "pkt_syn_retransmit": [
        {"op": "syn", "reply": "tcp", "flags": "S", "seq": 0, "len": 0},
        {"op": "syn_again", "reply": "tcp", "flags": "S", "seq": 0, "len": 0},
        {"op": "synack", "reply": "tcp", "flags": "A", "seq": 1, "ack": 1, "len": 0}],
    # RFC 9293 3.5 figure 8: our SYN in SYN-SENT -> <SEQ=ISS><ACK=our ISN+1><SYN,ACK>; our
    # SYN-ACK then makes it ESTABLISHED: 12 bytes acked (1 + 12) and echoed.
    "pkt_simultaneous_open": [
        {"op": "crossing_syn", "reply": "tcp", "flags": "SA", "seq": 0, "ack": 1, "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 13, "echo": "simultaneous"}],
    # RFC 9293 3.10.7.3: a SYN-ACK acknowledging 1001 (never sent) -> <SEQ=SEG.ACK><RST>;
    # still SYN-SENT, so the good SYN-ACK gets an ACK and the connection works.
    "pkt_synsent_bad_ack": [
        {"op": "synack_bad_ack", "reply": "tcp", "flags": "R", "seq": 1001, "len": 0},
        {"op": "good_synack", "reply": "tcp", "flags": "A", "seq": 1, "ack": 1, "len": 0},
        {"op": "data_after", "reply": "tcp", "ack": 14, "echo": "after-bad-ack"}],
}


def field(step: dict[str, Any], dotted: str) -> Any:
    value: Any = step
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def assert_expected(name: str, trace: list[dict[str, Any]], expect: list[dict[str, Any]],
                    addrs: Addresses) -> None:
    assert len(trace) == len(expect), (
        f"{name}: {len(trace)} steps, expected {len(expect)}: {json.dumps(trace)}")
    for i, (step, want) in enumerate(zip(trace, expect)):
        for key, value in want.items():
            if isinstance(value, Addr):
                value = getattr(addrs, value.role)
            seen = field(step, key)
            ok = value.ok(seen) if isinstance(value, Pred) else seen == value
            assert ok, (f"{name} step {i} ({step.get('op')}): field {key}: expected "
                        f"{value!r}, seen {seen!r}; the step: {json.dumps(step)}")


# ---- fixtures ---------------------------------------------------------------------------

def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("netns: needs root")


@contextlib.contextmanager
def term_unwinds() -> Iterator[None]:
    """While namespaces exist: SIGTERM interrupts pytest like ^C, so fixtures tear down."""
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt("SIGTERM")
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def sut(request: pytest.FixtureRequest, any_backend: str, tcplab_bin: Path,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Topology, the SUT of one backend serving echo, the wire process: one per module."""
    need_root()
    failed_before = request.session.testsfailed
    lab = PacketLab(any_backend, binary=str(tcplab_bin),
                    log_dir=tmp_path_factory.mktemp(f"packets-{any_backend}"))
    with term_unwinds(), lab:
        yield lab
        if request.session.testsfailed > failed_before:
            sys.stderr.write(f"==== packet lab ({any_backend}) logs\n{lab.logs()}\n")
        alive = lab.sut.alive()
    # the SUT's exit status, checked at teardown: alive through every check, then ending
    # with 0 at the end of its stdin (serve.c); a crash is never an expected failure
    rc = lab.sut.popen.returncode
    assert alive and rc == 0, (f"the {any_backend} SUT " + ("ended during the checks" if
                               not alive else "did not exit cleanly") + f": exit status "
                               f"{rc}; its stderr: {lab.sut.stderr_tail(1500)}")


@pytest.fixture(scope="module")
def oracle(tcplab_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The kernel's replies to every check, for comparing another SUT with."""
    need_root()
    with term_unwinds(), PacketLab(verdicts.ORACLE, binary=str(tcplab_bin),
                                   log_dir=tmp_path_factory.mktemp("packets-oracle")) as lab:
        return {name: lab.check(name) for name in checks.CHECK_NAMES}


def as_run(answer: dict[str, Any]) -> Run:
    """A check's answer ({"trace", "error"}) as a run of its SUT side."""
    return Run(sut=answer["trace"], peer=[], error=answer["error"])


# ---- one test per check ------------------------------------------------------------------

@pytest.mark.root
@pytest.mark.netns
@pytest.mark.parametrize("name", checks.CHECK_NAMES)
def test_check(sut: Any, name: str, request: pytest.FixtureRequest) -> None:
    got = sut.check(name)
    assert got["error"] is None, f"{name}: {got['error']}; steps so far: {got['trace']}"
    assert sut.sut.alive(), (f"the {sut.backend} SUT died during {name}: exit status "
                             f"{sut.sut.popen.returncode}: {sut.sut.stderr_tail(1500)}")
    if sut.backend == verdicts.ORACLE:
        assert_expected(name, got["trace"], EXPECT[name], sut.addrs)
        return
    kernel = request.getfixturevalue("oracle")[name]
    v = verdicts.verdict_for(name, sut.backend, as_run(kernel), as_run(got),
                             verdicts.divergences_of(sut.backend))
    assert not (v["verdict"] == "match" and v["reason"]), (
        f"{name} now matches the kernel on {sut.backend}: its line in "
        f"scenarios/conformance/divergences.txt can go")
    if v["verdict"] == "listed-divergence":
        pytest.xfail(f"{sut.backend}: {v['reason']}")
    d = v["first_difference"]
    assert v["verdict"] == "match", (
        f"{name} on {sut.backend}: step {d['step']} ({d['op']}) field {d['field']}: "
        f"kernel {d['kernel']!r}, {sut.backend} {d['other']!r}")


def test_every_check_has_expectations() -> None:
    assert list(EXPECT) == list(checks.CHECK_NAMES)
    assert len(checks.CHECK_NAMES) == 40


# ---- the command: records, parity table, cleanup ------------------------------------------

def run_packets(tcplab_bin: Path, *args: str, timeout: float = 120) -> \
        subprocess.CompletedProcess:
    """`tcplab packets` run to completion; .args[0] is its PID (its namespaces are named by
    it)."""
    with subprocess.Popen(module_argv("packets", *args), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=module_env({"TCPLAB_BIN": str(tcplab_bin)})) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)	# it removes its namespaces on TERM
                proc.wait(30)
    return subprocess.CompletedProcess([proc.pid], proc.returncode, out, err)



@pytest.mark.root
@pytest.mark.netns
def test_packets_command_writes_records_for_the_parity_table(tcplab_bin: Path, table: Table,
                                                              tmp_path: Path) -> None:
    """By default every backend but the kernel is compared with it (each DPDK stack built);
    the records are conform's, one row each in its table, a column per stack."""
    out = tmp_path / "packets.json"
    done = run_packets(tcplab_bin, "--packets", "--json", str(out), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    compared = [b.name for b in table.backends if b.name != verdicts.ORACLE]
    on = ", ".join(compared) or "the kernel alone"
    assert f"{len(checks.CHECK_NAMES)} packet checks on {on}: " in done.stdout
    records = json.loads(out.read_text())["cases"]
    assert [r["name"] for r in records] == list(checks.CHECK_NAMES)
    for r in records:
        assert set(r) >= {"name", "description", "kernel", "verdict", "reason", "others"}
        assert r["verdict"] == "match" and r["kernel"]["sut"] and r["kernel"]["peer"] == []
        assert r["description"], r["name"]
        assert [o["backend"] for o in r["others"]] == compared, r["name"]
    md = tmp_path / "conformance.md"
    conform.write_markdown(records, md)
    rows = [line.split(" | ") for line in md.read_text().splitlines()
            if line.startswith("| pkt_")]
    assert [r[0].strip("| ") for r in rows] == list(checks.CHECK_NAMES)
    assert all(len(r) == 2 + len(compared) for r in rows), rows
    assert namespaces.made_by(PREFIX, done.args[0]) == []


@pytest.mark.root
@pytest.mark.netns
def test_sigterm_mid_run_removes_everything(tcplab_bin: Path, table: Table) -> None:
    kernel_topo = table.peer_topology(table.backend(verdicts.ORACLE).attach)
    proc = subprocess.Popen(module_argv("packets", "--packets", "--json", os.devnull),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))
    try:
        line = first_stderr_line(proc, 30)	# the first progress line: all is up and running
        assert f"[1/{len(checks.CHECK_NAMES)}]" in line, line
        made = 1 if kernel_topo.namespaces == "shared" else 2
        assert len(namespaces.made_by(PREFIX, proc.pid)) == made
        kids = children(proc.pid)
        assert kids, "the SUT and the wire run as its children"
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
    assert not [k for k in kids if running(k)], "a child outlived its orchestrator"





def test_unknown_check_is_one_line_exit_2(tcplab_bin: Path) -> None:
    done = run_packets(tcplab_bin, "--packets", "pkt_no_such")
    assert done.returncode == 2
    assert done.stderr.startswith("tcplab packets: unknown check 'pkt_no_such' (valid: "
                                  "pkt_bad_tcp_checksum, ")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_list_names_every_check(tcplab_bin: Path) -> None:
    done = run_packets(tcplab_bin, "--list")
    assert done.returncode == 0
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == \
        list(checks.CHECK_NAMES)


# ---- the comparison, on made-up traces ----------------------------------------------------

def step(i: int, **fields: Any) -> dict[str, Any]:
    return {"line": i, "op": f"op{i}", **fields}


def test_first_difference_names_step_and_field() -> None:
    a = [step(0, reply="none"), step(1, reply="tcp", flags="A", ack=1)]
    b = [step(0, reply="none"), step(1, reply="tcp", flags="A", ack=2)]
    assert verdicts.first_difference(Run(sut=a), Run(sut=a)) is None
    assert verdicts.first_difference(Run(sut=a), Run(sut=b)) == {
        "side": "sut", "step": 1, "line": 1, "op": "op1", "field": "ack", "kernel": 1,
        "other": 2}


def test_a_missing_step_is_a_difference() -> None:
    a = [step(0, reply="tcp", flags="RA")]
    d = verdicts.first_difference(Run(sut=a), Run(sut=[]))
    assert d is not None and d["step"] == 0 and d["kernel"] == 0 and d["other"] is None


def test_verdicts() -> None:
    k = Run(sut=[step(0, reply="tcp", flags="A")])
    same = Run(sut=[step(0, reply="tcp", flags="A")])
    other = Run(sut=[step(0, reply="none")])
    failed = Run(sut=[step(0, reply="tcp", flags="A")], error="no SYN-ACK")
    listed = {"pkt_x": verdicts.Listed("sut:0:reply", "stk sends no challenge ACK")}
    assert verdicts.verdict_for("pkt_x", "stk", k, same, {})["verdict"] == "match"
    v = verdicts.verdict_for("pkt_x", "stk", k, other, {})
    assert v["verdict"] == "divergence" and v["reason"] == "step 0 (op0) field reply"
    v = verdicts.verdict_for("pkt_x", "stk", k, failed, {})
    assert v["verdict"] == "divergence" and v["reason"] == "no SYN-ACK"
    v = verdicts.verdict_for("pkt_x", "stk", k, other, listed)
    assert v["verdict"] == "listed-divergence" and v["reason"] == "stk sends no challenge ACK"
    assert v["trace"] == {"sut": other.sut, "peer": []}


def test_sequence_offsets_wrap() -> None:
    assert wire.rel(5, 2**32 - 3) == 8
    assert wire.rel(2**32 - 3, 5) == -8
    assert wire.flag_str(0x18) == "A" and wire.flag_str(0x12) == "SA"
    assert wire.flag_str(0x11) == "FA" and wire.flag_str(0x14) == "RA"


class FakeSut:
    """A SUT process that ends after @lives checks, with @rc."""
    def __init__(self, lives: int, rc: int) -> None:
        self.lives, self.rc = lives, rc
        self.popen = self

    @property
    def returncode(self) -> int | None:
        return None if self.lives > 0 else self.rc

    def alive(self) -> bool:
        return self.lives > 0


def fake_lab(lives: int, rc: int) -> Callable[..., Any]:
    class Lab:
        def __init__(self, *_: Any, **__: Any) -> None:
            self.sut = FakeSut(lives, rc)

        def __enter__(self) -> "Lab":
            return self

        def __exit__(self, *_: Any) -> None:
            self.sut.lives = 0	# the end of its stdin: it exits with rc

        def check(self, name: str) -> dict[str, Any]:
            self.sut.lives -= 1
            return {"trace": [{"op": "syn", "reply": "SA"}], "error": None}
    return Lab


@pytest.mark.parametrize("lives, rc, errors", [
    (99, 0, [None, None, None]),
    (2, -11, ["the SUT's exit status was -11, not 0", "the SUT ended (exit status -11)",
              "the SUT ended (exit status -11)"]),
    (99, 1, ["the SUT's exit status was 1, not 0"] * 3),
])
def test_a_sut_that_dies_or_exits_badly_fails_its_checks(monkeypatch: pytest.MonkeyPatch,
                                                         lives: int, rc: int,
                                                         errors: list[str | None]) -> None:
    """tcplab packets (conform's packet checks): the check a SUT died in and every later one
    are failed runs, and a SUT not exiting with 0 at teardown fails them all; a failed run
    is a divergence even where the check's difference is listed (verdicts.classify)."""
    monkeypatch.setattr(packets, "PacketLab", fake_lab(lives, rc))
    runs = packets.run_backend("stk", ["a", "b", "c"], 1, "stk", False, None)
    assert [r.error for r in runs.values()] == errors
    listed = {"b": verdicts.Listed("sut:0:reply", "stk answers otherwise")}
    k = Run(sut=[{"op": "syn", "reply": "R"}], peer=[])
    v = verdicts.verdict_for("b", "stk", k, runs["b"], listed)
    assert v["verdict"] == ("listed-divergence" if errors[1] is None else "divergence"), v
    assert verdicts.unexpected([{"name": "b", "verdict": "match", "others": [v]}]) == \
        ([] if errors[1] is None else ["b"])


def test_a_listed_check_that_matches_keeps_its_reason_so_the_test_fails() -> None:
    """test_check and test_case fail on a match that still has a listing (its reason)."""
    k = Run(sut=[{"op": "syn", "reply": "SA"}], peer=[])
    listed = {"b": verdicts.Listed("sut:0:reply", "stk answers otherwise")}
    v = verdicts.verdict_for("b", "stk", k, k, listed)
    assert (v["verdict"], v["reason"]) == ("match", "stk answers otherwise")
