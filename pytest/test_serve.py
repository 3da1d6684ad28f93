"""test_serve.py - `tcplab serve PROGRAM`, the SUT side, driven with plain Python sockets:
the ready line, what each program does with the bytes, the stats/quit control channel on
stdin, exit at end of stdin; and that open-loop pacing keeps its rate in a full run.
"""
from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from tcplab.binary import EXIT_PASS, Listing, Server, Tcplab

PATTERN_PERIOD = 251
SOCKET_TIMEOUT_S = 10.0


def pattern(offset: int, length: int) -> bytes:
    """The stream every tcplab sender writes: the byte at offset o is o % 251."""
    period = bytes(range(PATTERN_PERIOD))
    start = offset % PATTERN_PERIOD
    reps = (start + length) // PATTERN_PERIOD + 1
    return (period * reps)[start:start + length]


def connect(sv: Server) -> socket.socket:
    s = socket.create_connection(sv.address, timeout=SOCKET_TIMEOUT_S)
    s.settimeout(SOCKET_TIMEOUT_S)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        assert chunk, f"connection closed after {len(buf)} of {n} bytes"
        buf += chunk
    return bytes(buf)


def test_ready_line(tcplab: Tcplab, listing: Listing, backend: str) -> None:
    for program in listing.programs:
        with tcplab.serve(program, backend=backend) as sv:
            r = sv.ready
            assert r["event"] == "ready"
            assert r["program"] == program and r["backend"] == backend
            assert r["pid"] == sv.proc.pid
            assert 0 < r["port"] < 65536
            socket.inet_aton(r["addr"])
            # listening already: a connection is accepted without waiting
            connect(sv).close()


@pytest.mark.parametrize("sizes", [[1], [64, 64, 64], [100_000], [1, 1500, 65536, 7, 300_000]],
                         ids=["1", "3x64", "100k", "mixed"])
def test_echo_returns_every_byte(tcplab: Tcplab, backend: str, sizes: list[int]) -> None:
    rng = random.Random(sum(sizes))
    with tcplab.serve("echo", backend=backend) as sv:
        with connect(sv) as s:
            for n in sizes:
                msg = rng.randbytes(n)
                s.sendall(msg)
                assert recv_exact(s, n) == msg
        stats = sv.stats()
        assert stats["event"] == "stats"
        assert stats["bytes_in"] == stats["bytes_out"] == sum(sizes)
        assert stats["accepted"] == 1 and stats["open"] == 0
        assert stats["resets"] == 0


def test_echo_serves_connections_concurrently(tcplab: Tcplab, backend: str) -> None:
    with tcplab.serve("echo", backend=backend) as sv:
        socks = [connect(sv) for _ in range(8)]
        for i, s in enumerate(socks):
            s.sendall(bytes([i]) * 1000)
        for i, s in enumerate(reversed(socks)):
            assert recv_exact(s, 1000) == bytes([len(socks) - 1 - i]) * 1000
        for s in socks:
            s.close()
        stats = sv.stats()
        assert stats["accepted"] == 8 and stats["bytes_out"] == 8000 and stats["open"] == 0


def test_sink_counts_and_verifies(tcplab: Tcplab, backend: str) -> None:
    with tcplab.serve("sink", backend=backend) as sv:
        sent = 0
        for n in (1, 70_000, 1_000_003):
            with connect(sv) as s:
                s.sendall(pattern(0, n))
            sent += n
        stats = sv.stats()
        assert stats["event"] == "stats"
        assert stats["bytes_in"] == sent
        assert stats["bytes_out"] == 0
        assert stats["mismatches"] == 0
        assert stats["accepted"] == 3 and stats["open"] == 0

        with connect(sv) as s:
            s.sendall(pattern(0, 1000) + b"\xff" + pattern(1001, 1000))
        stats = sv.stats()
        assert stats["bytes_in"] == sent + 2001
        assert stats["mismatches"] >= 1, "a byte off the pattern went unnoticed"


def test_source_streams_the_pattern(tcplab: Tcplab, backend: str) -> None:
    n = 3_000_000
    with tcplab.serve("source", backend=backend) as sv:
        with connect(sv) as s:
            got = recv_exact(s, n)
        assert got == pattern(0, n), f"first difference at offset " \
            f"{next(i for i, (a, b) in enumerate(zip(got, pattern(0, n))) if a != b)}"
        stats = sv.stats()
        assert stats["event"] == "stats" and stats["open"] == 0
        assert stats["bytes_out"] >= n
        assert stats["accepted"] == 1


def test_stats_then_quit(tcplab: Tcplab, backend: str) -> None:
    with tcplab.serve("echo", backend=backend) as sv:
        with connect(sv) as s:
            s.sendall(b"x" * 10)
            assert recv_exact(s, 10) == b"x" * 10
        stats = sv.stats()
        assert stats["event"] == "stats" and stats["bytes_in"] == 10
        # stats again: the same counters, nothing new
        assert sv.stats() == stats
        end = sv.quit()
        assert end["event"] == "exit"
        assert {k: v for k, v in end.items() if k != "event"} == \
            {k: v for k, v in stats.items() if k != "event"}
        assert sv.proc.wait(10) == EXIT_PASS
        assert sv.proc.rest_of_stdout(5) == []


IDLE_CONNS = 300
ROUND_TRIPS = 300


def test_idle_connections_cost_a_wait_set_nothing(tcplab: Tcplab, listing: Listing,
                                                  backend: str) -> None:
    """Where the stack offers a wait set (backends[].wait_set), serve registers each
    connection once and a wait returns only what is ready: round trips beside idle
    connections go through a few sockets a wait, not every one. Counted, not timed: without
    a wait set each of these waits would go through all of the idle connections."""
    offers = {b["name"]: b["wait_set"] for b in listing.doc["backends"]}[backend]
    with tcplab.serve("echo", backend=backend) as sv:
        assert sv.ready["wait"] == ("wait_set" if offers else "poll"), sv.ready
        idle = [connect(sv) for _ in range(IDLE_CONNS)]
        with connect(sv) as s:
            for i in range(ROUND_TRIPS):
                s.sendall(bytes([i % 256]) * 64)
                assert recv_exact(s, 64) == bytes([i % 256]) * 64
        for c in idle:
            c.close()
        stats = sv.stats()
    assert stats["accepted"] == IDLE_CONNS + 1 and stats["open"] == 0, stats
    if not offers:
        assert stats["wait"] == "poll" and stats["wait_entries"] >= ROUND_TRIPS * IDLE_CONNS
        return
    # each round trip, accept and close is an event or two, however many are open
    assert stats["wait"] == "wait_set", stats
    assert stats["wait_entries"] <= 4 * (ROUND_TRIPS + 2 * IDLE_CONNS), stats
    assert stats["ready_waits"] > 0, stats


def test_stats_waits_for_open_connections(tcplab: Tcplab, backend: str) -> None:
    """stats is answered once the connections have closed, so it counts all they sent."""
    with tcplab.serve("sink", backend=backend) as sv:
        s = connect(sv)
        s.sendall(pattern(0, 5000))
        sv.proc.send("stats")
        s.sendall(pattern(5000, 5000))
        s.close()
        stats = sv.read_event()
        assert stats["event"] == "stats"
        assert stats["bytes_in"] == 10_000 and stats["open"] == 0


def test_exit_at_end_of_stdin(tcplab: Tcplab, backend: str) -> None:
    with tcplab.serve("echo", backend=backend) as sv:
        with connect(sv) as s:
            s.sendall(b"abc")
            assert recv_exact(s, 3) == b"abc"
        sv.proc.close_stdin()
        end = sv.read_event()
        assert end["event"] == "exit" and end["bytes_in"] == 3
        assert sv.proc.wait(10) == EXIT_PASS


def test_listen_on_a_given_port(tcplab: Tcplab, backend: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tcplab.serve("echo", "--listen", f"127.0.0.1:{port}", backend=backend) as sv:
        assert sv.address == ("127.0.0.1", port)
        with connect(sv) as s:
            s.sendall(b"ping")
            assert recv_exact(s, 4) == b"ping"


def test_open_loop_keeps_its_rate(tcplab: Tcplab, backend: str, tmp_path: Path) -> None:
    rate = 2000
    run = tcplab.run("echo_rr_open", "--rate", str(rate), "--duration", "1", "--warmup",
                     "0.2", backend=backend, out=tmp_path / "out")
    rc = run.rc
    assert rc == EXIT_PASS, f"exit {rc}: {run.completed.stderr.strip()}"
    doc = run.result
    assert doc["params"]["pacing"] == "open"
    assert doc["params"]["rate"] == rate
    assert doc["metrics"]["tps"] == pytest.approx(rate, rel=0.10)
    assert doc["metrics"]["errors"] == 0


def test_control_sets_options_and_opens_connections(tcplab: Tcplab, backend: str) -> None:
    """`sockopt` and `connect` (what the packet checks use): answered with ret 0, or -EINVAL
    for what is not taken; a connection the SUT opens is served like an accepted one."""
    with tcplab.serve("echo", backend=backend) as sv:
        for command, ret in (("sockopt TCP_NODELAY 0", 0), ("sockopt TCP_NOPE 1", -22),
                             ("sockopt TCP_KEEPCNT -1", -22), ("sockopt reset", 0),
                             ("connect nowhere", -22)):
            sv.proc.send(command)
            arg = command.split(" ", 1)[1]
            key = "addr" if command.startswith("connect") else "arg"
            assert sv.read_event() == {"event": command.split()[0], key: arg, "ret": ret}
        with socket.create_server(("127.0.0.1", 0)) as lsock:
            lsock.settimeout(10)
            port = lsock.getsockname()[1]
            sv.proc.send(f"connect 127.0.0.1:{port}")
            assert sv.read_event() == {"event": "connect", "addr": f"127.0.0.1:{port}",
                                       "ret": 0}
            conn, _ = lsock.accept()
            with conn:
                conn.sendall(b"opened by the SUT")
                assert recv_exact(conn, 17) == b"opened by the SUT"
