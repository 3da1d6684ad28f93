"""test_pkt_parser.py - the .pkt parser (python/tcplab/pktscript.py), alone: pure Python, no
build, no network. Every construct of scenarios/pkt/README.md read into its AST node, what
the runner must report as not supported read into Unsupported (never dropped), describe()
read back to the same AST, and each malformed form rejected as `file:line: message` naming
what was expected. The scripts are small and written here."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from tcplab import UsageError
from tcplab.pktscript import (ANY, SOCKOPTS, SYSCALLS, Array, Call, Eol, Int, Mss, Nop,
                              Option, Or, Ref, Sack, SackOK, Script, Segment, Str, Struct,
                              Sym, Syscall, Timestamp, Timing, Unsupported, WScale, describe,
                              load, parse)
from tcplab.proc import ROOT

BAD = "bad.pkt"
README = ROOT / "scenarios" / "pkt" / "README.md"


def one(text: str) -> Syscall | Segment | Unsupported:
    """The one event of a script."""
    script = parse(text, "t.pkt")
    assert len(script.events) == 1, script.events
    return script.events[0]


def call(text: str) -> Syscall:
    ev = one(text)
    assert isinstance(ev, Syscall), ev
    return ev


def seg(text: str) -> Segment:
    ev = one(text)
    assert isinstance(ev, Segment), ev
    return ev


def unsupported(text: str) -> Unsupported:
    ev = one(text)
    assert isinstance(ev, Unsupported), ev
    return ev


def error(text: str, line: int) -> str:
    """The message of the UsageError that text raises, checked to be `bad.pkt:LINE: ...`."""
    with pytest.raises(UsageError) as e:
        parse(text, BAD)
    msg = str(e.value)
    assert re.match(rf"{re.escape(BAD)}:{line}: \S", msg), msg
    assert "\n" not in msg, msg
    return msg


def round_trip(script: Script) -> Script:
    again = parse(describe(script), "again.pkt")
    assert again == script, describe(script)
    assert describe(again) == describe(script)
    return again


# --- timing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("0", Timing("abs", 0)),
    ("0.100", Timing("abs", 100_000)),
    ("2", Timing("abs", 2_000_000)),
    ("+0", Timing("rel", 0)),
    ("+.1", Timing("rel", 100_000)),
    ("+0.000001", Timing("rel", 1)),
    ("1.5", Timing("abs", 1_500_000)),
    ("0.1~0.2", Timing("abs", 100_000, 200_000)),
    ("+0.1~+0.25", Timing("rel", 100_000, 250_000)),
    ("*", Timing("any")),
])
def test_timing(text: str, want: Timing) -> None:
    assert call(f"{text} close(3) = 0").time == want


def test_blocking_call_has_its_return_time() -> None:
    c = call("+0...0.25 read(4, ..., 1000) = 1000")
    assert (c.time, c.end) == (Timing("rel", 0), 250_000)
    assert call("0.1...0.3 accept(3, ..., ...) = 4").end == 300_000


def test_times_are_exact_microseconds() -> None:
    # 0.3 is not a binary fraction: a float would make it 299999
    assert call("0.3 close(3) = 0").time.usecs == 300_000


# --- system calls ---------------------------------------------------------------------------

SCRIPT_CALLS = {
    "socket": "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
    "bind": "bind(3, ..., ...) = 0",
    "listen": "listen(3, 1) = 0",
    "accept": "accept(3, ..., ...) = 4",
    "connect": "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
    "read": "read(4, ..., 1000) = 1000",
    "write": "write(4, ..., 1000) = 1000",
    "send": "send(4, ..., 100, 0) = 100",
    "recv": "recv(4, ..., 100, MSG_PEEK) = 100",
    "sendto": "sendto(4, ..., 100, 0, ..., ...) = 100",
    "recvfrom": "recvfrom(4, ..., 100, 0, ..., ...) = 100",
    "setsockopt": "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
    "getsockopt": "getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0",
    "fcntl": "fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
    "poll": "poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1",
    "shutdown": "shutdown(4, SHUT_WR) = 0",
    "close": "close(4) = 0",
}


def test_every_supported_call_has_a_script_here() -> None:
    assert set(SCRIPT_CALLS) == set(SYSCALLS)


@pytest.mark.parametrize("name", sorted(SCRIPT_CALLS))
def test_syscall(name: str) -> None:
    c = call(f"+0 {SCRIPT_CALLS[name]}")
    assert c.name == name
    assert len(c.args) in SYSCALLS[name]


def test_syscall_arguments() -> None:
    c = call('0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0')
    assert c.args == (Int(3), Sym("SOL_SOCKET"), Sym("SO_LINGER"),
                      Struct((("l_onoff", Int(1)), ("l_linger", Int(0)))), Int(8))
    c = call("0 poll([{fd=4, events=POLLIN|POLLOUT, revents=0}], 1, 0) = 0")
    assert c.args[0] == Array((Struct((("fd", Int(4)),
                                       ("events", Or((Sym("POLLIN"), Sym("POLLOUT")))),
                                       ("revents", Int(0)))),))
    c = call('0 connect(3, {sa_family=AF_INET, sin_port=htons(8080)}, 16) = 0')
    assert c.args[1] == Struct((("sa_family", Sym("AF_INET")),
                                ("sin_port", Call("htons", (Int(8080),)))))
    c = call('0 accept(3, &addr, &addrlen) = 4')
    assert c.args[1:] == (Ref("addr"), Ref("addrlen"))
    c = call('0 write(4, "hello", 5) = 5')
    assert c.args[1] == Str("hello")
    c = call('0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [0x218], 4) = 0')
    assert c.args[3] == Array((Int(536),))
    assert call("0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [], ...) = 0").args[3:] == \
        (Array(()), ANY)
    c = call("0 getsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=..., l_linger=...}, [8]) = 0")
    assert c.args[3] == Struct((("l_onoff", ANY), ("l_linger", ANY)))


def test_syscall_results() -> None:
    c = call("0 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)")
    assert (c.ret, c.errno, c.note) == (Int(-1), "ECONNREFUSED", "Connection refused")
    c = call("0 read(4, ..., 10) = -1 EAGAIN")
    assert (c.ret, c.errno, c.note) == (Int(-1), "EAGAIN", None)
    c = call("0 fcntl(4, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)")
    assert (c.args, c.ret, c.errno, c.note) == \
        ((Int(4), Sym("F_GETFL")), Int(0x802), None, "flags O_RDWR|O_NONBLOCK")
    c = call("0 fcntl(4, F_GETFL) = O_RDWR|O_NONBLOCK")
    assert c.ret == Or((Sym("O_RDWR"), Sym("O_NONBLOCK")))
    c = call("0 write(4, ..., 10) = ...")
    assert c.ret is ANY
    c = call("0 shutdown(4, SHUT_RDWR) = -1 ENOTCONN (Transport endpoint isn't connected)")
    assert c.note == "Transport endpoint isn't connected"
    assert call("0 close(3) = -1 EBADF (a (nested) note)").note == "a (nested) note"


@pytest.mark.parametrize("level, opt", sorted((lv, o) for lv, opts in SOCKOPTS.items()
                                              for o in opts))
def test_socket_option_names(level: str, opt: str) -> None:
    c = call(f"0 setsockopt(3, {level}, {opt}, [1], 4) = 0")
    assert c.args[1:3] == (Sym(level), Sym(opt))


def test_call_spans_lines() -> None:
    c = call("0 setsockopt(3, SOL_SOCKET, SO_LINGER,\n"
             "               {l_onoff=1,\n"
             "                l_linger=0}, 8) = 0\n")
    assert c.name == "setsockopt" and c.line == 1


# --- segments -------------------------------------------------------------------------------

@pytest.mark.parametrize("written, flags", [
    ("S", "S"), (".", "."), ("S.", "S."), ("P.", "P."), ("F.", "F."), ("R.", "R."),
    ("R", "R"), ("FP.", "FP."), ("PF.", "FP."), (".S", "S."), ("SEW", "SEW"), ("S.E", "SE."),
    ("U.", "U."), ("N.", "N."),
])
def test_flags(written: str, flags: str) -> None:
    assert seg(f"0 < {written} 0:0(0) win 1000").flags == flags


def test_segment_fields() -> None:
    g = seg("+0 > P. 1:1001(1000) ack 1 win 502 urg 3")
    assert (g.direction, g.seq, g.end, g.length, g.ack, g.win, g.urg, g.options) == \
        (">", 1, 1001, 1000, 1, 502, 3, ())
    g = seg("0 < S 0:0(0) win 65535")
    assert (g.direction, g.ack, g.urg, g.ecn) == ("<", None, None, None)


def test_segment_any_values() -> None:
    g = seg("0 > . ... ack ... win ... <...>")
    assert (g.seq, g.end, g.length, g.ack, g.win, g.options) == (ANY,) * 6
    g = seg("0 > P. ...:1001(1000) ack 1")
    assert (g.seq, g.end) == (ANY, 1001)


def test_sequence_wraps_modulo_2_32() -> None:
    g = seg("0 < P. 4294967290:10(16) ack 1 win 100")
    assert (g.seq, g.end, g.length) == (4294967290, 10, 16)


def test_tcp_options() -> None:
    g = seg("0 < S 0:0(0) win 32792 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7,eol>")
    assert g.options == (Mss(1460), SackOK(), Timestamp(100, 0), Nop(), WScale(7), Eol())
    g = seg("0 < . 1:1(0) ack 1001 win 257 <nop, nop, sack 1:100 200:300>")
    assert g.options == (Nop(), Nop(), Sack(((1, 100), (200, 300))))
    g = seg("0 > S. 0:0(0) ack 1 <mss ...,TS val ... ecr 100,wscale ...>")
    assert g.options == (Mss(ANY), Timestamp(ANY, 100), WScale(ANY))


@pytest.mark.parametrize("ecn", ["noecn", "ect0", "ect1", "ect01", "ce"])
def test_ecn_field(ecn: str) -> None:
    assert seg(f"0 < [{ecn}] . 1:1(0) ack 1 win 100").ecn == ecn


# --- not supported: kept, with what and where -----------------------------------------------

@pytest.mark.parametrize("text, what", [
    ("0 `sysctl -q net.ipv4.tcp_timestamps=0`", "shell command"),
    ("+0 %{ assert tcpi_rto == 3000000 }%", "inline Python"),
    ("+0 > udp (1000)", "udp packet"),
    ("+0 < icmp unreachable port_unreachable", "icmp packet"),
    ("+0 < [tos 0x4] S 0:0(0) win 100", "IP header fields [tos"),
    ("+0 < S 0:0(0) win 100 <mss 1460,FO 0123456789abcdef,nop,nop>", "(FO)"),
    ("+0 < S 0:0(0) win 100 <FOEXP>", "(FOEXP)"),
    ("+0 send(4, ..., 100, MSG_ZEROCOPY) = 100", "MSG_ZEROCOPY"),
    ("+0 setsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0", "SO_ZEROCOPY"),
    ("+0 sendto(3, ..., 100, MSG_FASTOPEN, ..., ...) = 100", "TCP Fast Open"),
    ("+0 setsockopt(3, IPPROTO_TCP, TCP_FASTOPEN, [1], 4) = 0", "TCP Fast Open"),
    ("+0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 3", "IPv6"),
    ("+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, \"reno\", 4) = 0", "TCP_CONGESTION"),
    ("+0 getsockopt(3, SOL_RAW, X, [1], [4]) = 0", "level SOL_RAW"),
    ("+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{...}]}, 0) = 10", "system call sendmsg"),
    ("+0 ioctl(4, SIOCINQ, [1000]) = 0", "system call ioctl"),
    ("+0 sokcet(..., SOCK_STREAM, IPPROTO_TCP) = 3", "system call sokcet"),
])
def test_unsupported(text: str, what: str) -> None:
    u = unsupported(text)
    assert what in u.what
    assert u.text == text and u.line == 1 and u.time is not None


def test_unsupported_untimed_and_multiline() -> None:
    s = parse("`../common/defaults.sh`\n"
              "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
              "+0 %{\n"
              "import os  // not a comment in Python's world\n"
              "}%\n"
              "+0 close(3) = 0\n", "u.pkt")
    u = s.unsupported()
    assert [(x.line, x.what, x.time) for x in u] == [
        (1, "shell command", None), (3, "inline Python (%{ }%)", Timing("rel", 0))]
    assert "// not a comment" in u[1].text
    assert [type(e) for e in s.events] == [Unsupported, Syscall, Unsupported, Syscall]
    assert s.events[3].line == 6


def test_ipv6_option_is_unsupported_but_kept() -> None:
    s = parse("--ip_version=ipv6\n0 close(3) = 0\n", "v6.pkt")
    assert s.option("ip_version") == "ipv6"
    assert [(u.line, u.what) for u in s.unsupported()] == \
        [(1, "IP version ipv6 (--ip_version)")]
    assert parse("--ip_version=ipv4\n0 close(3) = 0\n").unsupported() == ()


# --- options and comments -------------------------------------------------------------------

def test_options_lines_and_header_comments() -> None:
    s = parse("// Passive open with an MSS option (RFC 9293 3.7.1).\n"
              "// --tolerance_usecs=25000\n"
              "/*\n"
              " * --mss=1000 --no_cleanup\n"
              " */\n"
              "--ip_version=ipv4\n"
              "0 close(3) = 0  // --not_an_option=1\n", "o.pkt")
    assert [(o.line, o.name, o.value) for o in s.options] == [
        (2, "tolerance_usecs", "25000"), (4, "mss", "1000"), (4, "no_cleanup", None),
        (6, "ip_version", "ipv4")]
    assert s.tolerance_usecs() == 25000
    s = parse("--a=x(y  // a comment\n--b={\n0 close(3) = 0\n", "o.pkt")
    assert [(o.line, o.name, o.value) for o in s.options] == [(1, "a", "x(y"), (2, "b", "{")]
    assert s.option("no_cleanup") is None and s.option("absent") is None


def test_comments() -> None:
    s = parse("/* one */ 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 /* two */\n"
              "/* three\n"
              "   lines */\n"
              "+0 write(3, \"// kept\", 7) = 7 // gone\n"
              "+0 `echo // kept too`\n", "c.pkt")
    assert [e.line for e in s.events] == [1, 4, 5]
    assert s.events[1].args[1] == Str("// kept")  # type: ignore[union-attr]
    assert s.events[2].text == "+0 `echo // kept too`"  # type: ignore[union-attr]


def test_empty_script() -> None:
    s = parse("// nothing\n\n/* at all */\n", "e.pkt")
    assert (s.options, s.events, s.unsupported()) == ((), (), ())


# --- describe and round trips ---------------------------------------------------------------

HANDSHAKE = """\
// --tolerance_usecs=10000
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0    > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
+.1   < . 1:1(0) ack 1 win 257
+0    accept(3, ..., ...) = 4
+0    fcntl(4, F_GETFL) = 0x2 (flags O_RDWR)
+0    fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
+0    poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
0.2~0.3 write(4, ..., 1000) = 1000
*     > P. 1:1001(1000) ack 1 <nop,nop,TS val ... ecr 100,sack 1:100 200:300>
+0    < [ect0] . 1:1(0) ack 1001 win 257 urg 0
+0...0.1 read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
+0    connect(5, {sa_family=AF_INET, sin_port=htons(80)}, 16) = -1 ECONNREFUSED (x)
+0    accept(3, &addr, &len) = 6
+0    write(6, "abc", 3) = 3
+0    > F. ... ack ... <...>
+0    `echo hi`
+0    %{
print("hi")
}%
+0    > udp (1000)
"""


def test_describe_one_line_per_event() -> None:
    s = parse(HANDSHAKE, "h.pkt")
    text = describe(s)
    lines = text.splitlines()
    assert lines[0] == "--tolerance_usecs=10000"
    assert lines[1] == "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"
    assert "+0.1 < . 1:1(0) ack 1 win 257" in lines
    assert "0.2~0.3 write(4, ..., 1000) = 1000" in lines
    assert "+0 fcntl(4, F_GETFL) = 2 (flags O_RDWR)" in lines
    assert "* > P. 1:1001(1000) ack 1 <nop,nop,TS val ... ecr 100,sack 1:100 200:300>" \
        in lines
    assert "+0 > F. ... ack ... <...>" in lines
    # one line per event, but for the inline Python that spans three
    assert len(lines) == 1 + len(s.events) + 2


def test_round_trip() -> None:
    s = parse(HANDSHAKE, "h.pkt")
    again = round_trip(s)
    assert [e.line for e in again.events][:3] == [2, 3, 4]


@pytest.mark.parametrize("text", [
    "0 < [ce] SEW 0:0(0) win 0 <eol>",
    "+0.000001~+1.5 > R 1:1(0)",
    "0 recv(4, ..., 100, MSG_PEEK|MSG_DONTWAIT) = -1 EAGAIN",
    "--no_flag\n0 close(-1) = -1 EBADF (Bad file descriptor)",
])
def test_round_trip_small(text: str) -> None:
    round_trip(parse(text, "s.pkt"))


def test_round_trip_would_catch_a_change() -> None:
    a, b = parse("0 < S 0:0(0) win 100"), parse("0 < S 0:0(0) win 101")
    assert a != b and describe(a) != describe(b)


def test_load(tmp_path: Path) -> None:
    p = tmp_path / "x.pkt"
    p.write_text("0 close(3) = 0\n+0 garbage\n")
    with pytest.raises(UsageError, match=rf"^{re.escape(str(p))}:2: "):
        load(p)
    p.write_text(HANDSHAKE)
    assert load(p) == parse(HANDSHAKE)
    with pytest.raises(UsageError, match="cannot read"):
        load(tmp_path / "missing.pkt")


# --- malformed scripts: file:line: message ---------------------------------------------------

ERRORS = [
    # (script, line of the error, what the message says)
    ('0 close(3) = 0\n0 write(4, "abc, 3) = 3\n', 2, "unterminated string"),
    ("0 close(3) = 0\n/* no end\n0 close(4) = 0\n", 2, "unterminated /* comment"),
    ("0 `echo\n", 1, "unterminated `"),
    ("0 %{ x = 1\n\n", 1, "unterminated %{"),
    ("close(3) = 0", 1, "expected a time (seconds, as 0.1 or .1), found 'close'"),
    ("0x10 close(3) = 0", 1, "expected a time"),
    ("0.0000001 close(3) = 0", 1, "finer than a microsecond"),
    ("+0.1~0.2 close(3) = 0", 1, "expected '+' after '~'"),
    ("0.1~+0.2 close(3) = 0", 1, "expected an absolute end"),
    ("0.2~0.1 close(3) = 0", 1, "the time range ends before it starts"),
    ("0 hello", 1, "expected a segment (< or >), a system call"),
    ("0 close(3) = 0\n+0 ???", 2, "expected a segment"),
    ("0...0.1 < S 0:0(0) win 1", 1, "expected a system call after a blocking time range"),
    ("0 accept(3, &3, ...) = 4", 1, "expected a name after '&', found '3'"),
    ("0 write(4, , 10) = 10", 1, "expected a value"),
    ("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {1=2}, 8) = 0", 1, "expected a field name"),
    ("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff 1}, 8) = 0", 1,
     "expected '=' after field l_onoff"),
    ("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {a=1 b=2}, 8) = 0", 1, "expected ',' or '}'"),
    ("0 close(3 4) = 0", 1, "expected ',' or ')', found '4'"),
    ("0 close(3, 4) = 0", 1, "close takes 1 argument, not 2"),
    ("0 fcntl(3) = 0", 1, "fcntl takes 2 or 3 arguments, not 1"),
    ("0 close(3)", 1, "expected '= result' after the call, found end of line"),
    ("0 close(3) = 0 (oops", 1, "expected ')' closing the note"),
    ("0 close(3) = 0 junk", 1, "expected end of line after the expected result, found 'junk'"),
    ("0 close(3) = -1 EBADF (a (b) c) d", 1, "expected end of line after the expected result"),
    ("0 close(3) = 0 (x)[\n+0 close(4) = 0 (y)\n]", 1, "expected end of line after the"),
    ("0 setsockopt(3, SOL_SOCKET, SO_LINGER,\n {l_onoff=1,\n l_linger=0 x}, 8) = 0", 3,
     "expected ',' or '}', found 'x'"),
    ("0 < 0:0(0) win 1", 1, "expected TCP flags"),
    ("0 < X 0:0(0) win 1", 1, "expected TCP flags"),
    ("0 < SS 0:0(0) win 1", 1, "repeat a letter"),
    ("0 < S 0 win 1", 1, "expected ':' in start:end(length)"),
    ("0 < S 0:0 win 1", 1, "expected '(' in start:end(length)"),
    ("0 < S 0:0(0 win 1", 1, "expected ')' in start:end(length)"),
    ("0 < S x:0(0) win 1", 1, "expected the sequence start:end(length) (an integer)"),
    ("0 < P. 1:11(5) ack 1 win 1", 1, "1:11 spans 10 bytes, not the length 5"),
    ("0 < S 4294967296:0(0) win 1", 1, "out of range (0..4294967295)"),
    ("0 < . 1:1(0) ack 1 foo 3", 1, "expected ack N, win N, urg N or <options>, found 'foo'"),
    ("0 < . 1:1(0) ack 1 ack 2", 1, "ack is given twice"),
    ("0 < . 1:1(0) ack x", 1, "expected ack (an integer), found 'x'"),
    ("0 < . 1:1(0) ack 1 win 65536", 1, "win 65536 is out of range (0..65535)"),
    ("0 < . 1:1(0) ack 1 win 1.5", 1, "expected win (an integer)"),
    ("0 < [ect0 S 0:0(0) win 1", 1, "expected ']' after the ECN field"),
    ("0 < S 0:0(0) win 1 <... win", 1, "expected '>' after <..."),
    ("0 < S 0:0(0) win 1 <mss 1460 nop>", 1, "expected ',' or '>' in the TCP options"),
    ("0 < S 0:0(0) win 1 <mss 1460,", 1, "expected a TCP option"),
    ("0 < S 0:0(0) win 1 <foo>", 1, "expected a TCP option (nop, eol, mss N"),
    ("0 < S 0:0(0) win 1 <mss 65536>", 1, "mss 65536 is out of range"),
    ("0 < S 0:0(0) win 1 <wscale 256>", 1, "wscale 256 is out of range (0..255)"),
    ("0 < S 0:0(0) win 1 <TS 1 2>", 1, "expected 'val' after TS"),
    ("0 < S 0:0(0) win 1 <TS val 1 2>", 1, "expected 'ecr' after TS val N"),
    ("0 < S 0:0(0) win 1 <sack>", 1, "expected SACK blocks L:R after sack"),
    ("0 < S 0:0(0) win 1 <sack 1 2>", 1, "expected ':' in a SACK block"),
    ("--tolerance_usecs=1 x\n0 close(3) = 0", 1, "expected an option --name=value, found 'x'"),
    ("0 close(3) = 0\n--tolerance_usecs=1\n", 2, "must come before the first event"),
    ("// --tolerance_usecs=ten\n0 close(3) = 0", 1, "--tolerance_usecs takes a number"),
]


@pytest.mark.parametrize("text, line, message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_malformed(text: str, line: int, message: str) -> None:
    assert message in error(text, line)


def test_error_is_usage_error_for_exit_2() -> None:
    # the CLI maps UsageError to exit 2, as for the scenario language
    with pytest.raises(UsageError):
        parse("0 bogus", BAD)
    assert Option(1, "a", None) == Option(9, "a", None)	# lines never decide equality


# --- the reference agrees with the parser ---------------------------------------------------

def test_readme_example_parses() -> None:
    blocks = re.findall(r"```\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if b.startswith("//"))
    s = parse(example, str(README))
    assert s.tolerance_usecs() == 20000 and s.unsupported() == ()
    assert [type(e) for e in s.events].count(Segment) == 6


def test_readme_lists_every_socket_option_and_call() -> None:
    text = README.read_text()
    for name in {o for opts in SOCKOPTS.values() for o in opts} | set(SOCKOPTS):
        assert f"`{name}`" in text, name
    for name in SYSCALLS:
        assert f"`{name}`" in text, name


def test_mutated_scripts_parse_or_fail_cleanly() -> None:
    """Seeded random edits of HANDSHAKE (with comments, strings and unsupported lines):
    each one either parses and round trips, or is a UsageError naming the file; never
    another exception (an IndexError would be a parser bug, not a message)."""
    base = "/* header\n   --mss=1000 */\n" + HANDSHAKE + '+0 write(6, "a // b", 6) = 6 // end\n'
    rng = random.Random(15)
    alphabet = "()[]{}<>:.,=|&~+*-`%\"/\n 0123456789SEW.x_"
    parsed = 0
    for _ in range(1000):
        text = list(base)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text))
            op = rng.random()
            if op < 0.4:
                text[i] = rng.choice(alphabet)
            elif op < 0.7:
                del text[i]
            else:
                text.insert(i, rng.choice(alphabet))
        try:
            script = parse("".join(text), "m.pkt")
        except UsageError as e:
            assert str(e).startswith("m.pkt:"), e
            continue
        round_trip(script)
        parsed += 1
    assert 50 < parsed < 1000		# both outcomes were exercised
