#!/usr/bin/python3
"""packets.py - packet-level conformance checks and a fuzz run, scapy playing the peer at the
wire; the kernel's replies are the oracle, the same way harness/conform.py compares traces.

Topology (WireTopo): two network namespaces joined by a veth pair on 10.99.1.0/24 (conform.py
uses 10.99.0.0/24, so both can run at once). The SUT namespace holds the stack under test
serving `tcplab serve echo` on SUT_ADDR:SUT_PORT; a SutSpec in SUTS says how each backend's
namespace is set up and its server started (today: "kernel"). The peer namespace holds scapy
on a raw L2 socket as PEER_ADDR. That address is configured on no kernel: the peer
namespace's kernel drops what the SUT sends to it (forwarding is off), so it never resets
scapy's connections, and scapy answers ARP for it itself. The peer kernel owns
KERNEL_PEER_ADDR on the same veth, for `tcplab run echo_rr --peer` after the fuzz run.

Flow: PacketLab (root namespace) -> WireTopo -> the SUT in its namespace (its JSON ready
line) -> the wire process, `ip netns exec PEER_NS python3 packets.py wire ...`: one JSON
request per line on stdin ({"check": NAME} or {"fuzz": {...}}), one JSON answer per line on
stdout -> a check answers a trace, one step per stimulus: {line, op, reply fields}. Sequence
numbers are relative (ack to our ISN, seq to the SUT's), so two correct runs give equal traces.

Records (`--packets`, results/packets.json) have the shape of conform.py's case results, so
its parity table can list them: {name, description, kernel: {sut: TRACE, peer: []}, verdict,
reason, others: [{backend, verdict, reason, first_difference, trace: {sut, peer}}]}; the
first difference names the step and the field. Every wait is for an event (a sniffed frame)
with a deadline; a "dropped" step is no reply within SILENCE_S, followed by proof that the
connection still works. Everything created is removed on every exit path.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import json
import os
import random
import select
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import Namespaces, ip as run_ip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUBNET_BITS = 24
PEER_ADDR = "10.99.1.1"		# scapy (no kernel owns it)
SUT_ADDR = "10.99.1.2"
KERNEL_PEER_ADDR = "10.99.1.3"	# the peer namespace's kernel (echo_rr after the fuzz run)
PEER_IF = "tlp-p"
SUT_IF = "tlp-s"
SUT_PORT = 7007
CLOSED_PORT = 9			# nothing listens there
WIRE_PORTS = (20000, 29999)	# scapy's source ports for the checks' connections

REPLY_S = 2.0			# an expected reply arrives within this
SILENCE_S = 0.5			# "no reply" means none within this
READY_S = 15.0			# a started process prints its ready line within this
REQUEST_S = 120.0		# one wire request (a check, a fuzz run) ends within this
STOP_S = 5.0
M32 = 1 << 32
OUR_WINDOW = 65535
DRAIN_MAX = 4096		# frames read per drain, at most


def tcplab_bin() -> str:
    return os.environ.get("TCPLAB_BIN", str(ROOT / "build" / "harness" / "tcplab"))


class UsageError(Exception):
    """Bad input or missing privileges: one line, exit 2."""


class CheckError(Exception):
    """A check could not go on (e.g. no SYN-ACK to a connect): its trace ends there."""


# ==== topology (root namespace) =========================================================

def ns_sysctl(ns: str, key: str, value: str) -> None:
    done = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}"],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"sysctl {key}={value} in {ns}: {done.stderr.strip()}")


def link_mac(ns: str, ifname: str) -> str:
    return json.loads(run_ip("-j", "link", "show", "dev", ifname, ns=ns))[0]["address"]


class WireTopo(Namespaces):
    """Peer and SUT namespaces joined by a veth pair; the peer side configured, the SUT side
    left to the SutSpec."""

    def __init__(self, tag: str) -> None:
        self.peer_ns = f"tcplab-pp{tag}"
        self.sut_ns = f"tcplab-ps{tag}"
        super().__init__(self.peer_ns, self.sut_ns)

    def setup(self) -> None:
        for ns in self.created:
            # IPv6 off: no router solicitations or DAD frames on the wire under test
            ns_sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
            ns_sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
        # a new namespace may inherit forwarding=1; the peer kernel must drop, never route,
        # what the SUT sends to PEER_ADDR
        ns_sysctl(self.peer_ns, "net.ipv4.conf.all.forwarding", "0")
        run_ip("link", "add", PEER_IF, "netns", self.peer_ns, "type", "veth", "peer",
               "name", SUT_IF, "netns", self.sut_ns)
        run_ip("addr", "add", f"{KERNEL_PEER_ADDR}/{SUBNET_BITS}", "dev", PEER_IF,
               ns=self.peer_ns)
        run_ip("link", "set", PEER_IF, "up", ns=self.peer_ns)


# ==== SUTs: what differs per backend ====================================================

@dataclass(frozen=True)
class SutSpec:
    """One backend as the SUT: set up the SUT namespace's veth end, the server's argv, what
    to join once it is ready, the MAC its frames carry (None: scapy asks by ARP). Adding a
    SUT is adding an entry to SUTS."""
    name: str
    setup: Callable[[WireTopo], None]
    argv: Callable[[str], list[str]]
    mac: Callable[[WireTopo], str] | None
    sockets: Callable[[WireTopo], dict[str, int]] | None = None	# TCP states, if visible
    after_ready: Callable[[WireTopo], None] | None = None


def kernel_setup(topo: WireTopo) -> None:
    run_ip("addr", "add", f"{SUT_ADDR}/{SUBNET_BITS}", "dev", SUT_IF, ns=topo.sut_ns)
    run_ip("link", "set", SUT_IF, "up", ns=topo.sut_ns)


def kernel_argv(binary: str) -> list[str]:
    return [binary, "serve", "echo", "--listen", f"{SUT_ADDR}:{SUT_PORT}", "--backend", "kernel"]


def kernel_sockets(topo: WireTopo) -> dict[str, int]:
    """The TCP sockets of the SUT namespace, counted by state (ss)."""
    done = subprocess.run(["ip", "netns", "exec", topo.sut_ns, "ss", "-Htan"],
                          capture_output=True, text=True, timeout=30)
    states: dict[str, int] = {}
    for line in done.stdout.splitlines():
        if line.split():
            states[line.split()[0]] = states.get(line.split()[0], 0) + 1
    return states


LWIP_TAP = "tlp-tap"
BRIDGE = "tlp-br"


def lwip_setup(topo: WireTopo) -> None:
    """No kernel address in the SUT namespace: lwIP owns SUT_ADDR behind its DPDK tap port.
    The bridge must not validate IP headers (br_netfilter would drop a bad IP checksum
    before lwIP sees it)."""
    for key in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-arptables"):
        with contextlib.suppress(RuntimeError):	# absent where br_netfilter is not loaded
            ns_sysctl(topo.sut_ns, key, "0")
    run_ip("link", "set", SUT_IF, "up", ns=topo.sut_ns)


def lwip_argv(binary: str) -> list[str]:
    opts = ["topology=tap", f"ip={SUT_ADDR}", "tap_addr=none", f"tap_name={LWIP_TAP}"]
    return [binary, "serve", "echo", "--listen", f"{SUT_ADDR}:{SUT_PORT}", "--backend",
            "lwip", *[a for o in opts for a in ("--stack-opt", o)]]


def lwip_join(topo: WireTopo) -> None:
    """The tap's netdev exists once lwIP is ready: bridge it with the veth end. DPDK's tap
    port gives its netdev the MAC lwIP uses; a bridge would take frames to its port's own
    MAC as its own, so the netdev gets another (frames pass through it unchanged)."""
    run_ip("link", "set", LWIP_TAP, "address", "02:99:01:00:00:fe", ns=topo.sut_ns)
    run_ip("link", "add", BRIDGE, "type", "bridge", ns=topo.sut_ns)
    for dev in (SUT_IF, LWIP_TAP):
        run_ip("link", "set", dev, "master", BRIDGE, ns=topo.sut_ns)
    run_ip("link", "set", BRIDGE, "up", ns=topo.sut_ns)


SUTS: dict[str, SutSpec] = {
    "kernel": SutSpec("kernel", kernel_setup, kernel_argv,
                      lambda topo: link_mac(topo.sut_ns, SUT_IF), kernel_sockets),
    "lwip": SutSpec("lwip", lwip_setup, lwip_argv, None, after_ready=lwip_join),
}


# ==== processes (root namespace) ========================================================

class LineProc:
    """A process in a namespace speaking JSON lines on stdin/stdout, stderr to a log file.
    Reads wait on the pipe with a deadline; stop() ends it by PID."""

    def __init__(self, name: str, argv: list[str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.stderr"
        self.buf = b""
        with open(self.log, "wb") as err:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=err)

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no line within {timeout:.0f} s; "
                                       f"stderr: {self.stderr_tail()}")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError(f"{self.name} ended (exit {self.popen.poll()}); "
                                   f"stderr: {self.stderr_tail()}")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send(self, text: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(text.encode() + b"\n")
        self.popen.stdin.flush()

    def request(self, req: dict[str, Any], timeout: float = REQUEST_S) -> dict[str, Any]:
        self.send(json.dumps(req))
        return self.read(timeout)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rest(self, timeout: float = 1.0, limit: int = 4000) -> str:
        """What an ended process left on stdout (an assertion message, say)."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while len(self.buf) < limit and select.select([fd], [], [], max(
                deadline - time.monotonic(), 0))[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.buf += chunk
        return self.buf.decode(errors="replace")[-limit:]

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:].strip()

    def stop(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.popen.stdin.close()	# end of stdin: both our processes exit
        try:
            self.popen.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class PacketLab:
    """Topology + the SUT (backend) + the wire process, torn down in reverse on exit."""

    def __init__(self, backend: str, binary: str | None = None, log_dir: Path | None = None,
                 seed: int = 1, tag: str | None = None) -> None:
        if backend not in SUTS:
            raise UsageError(f"no packet-level SUT for backend '{backend}' "
                             f"(available: {', '.join(SUTS)})")
        self.spec = SUTS[backend]
        self.backend = backend
        self.binary = binary or tcplab_bin()
        self.seed = seed
        self.tag = tag or f"{os.getpid()}{random.Random().randrange(1 << 20):05x}"
        self.log_dir = log_dir
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> "PacketLab":
        try:
            if self.log_dir is None:
                self.log_dir = Path(self.stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="tcplab-packets-")))
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.topo = self.stack.enter_context(WireTopo(self.tag))
            self.spec.setup(self.topo)
            self.sut = self.start(f"sut-{self.backend}", self.topo.sut_ns,
                                  self.spec.argv(self.binary))
            self.ready = self.sut.read(READY_S)
            if self.ready.get("event") != "ready":
                raise RuntimeError(f"SUT's first line is not its ready event: {self.ready}")
            if self.spec.after_ready is not None:
                self.spec.after_ready(self.topo)
            self.sut_mac = self.spec.mac(self.topo) if self.spec.mac else "arp"
            self.wire = self.start("wire", self.topo.peer_ns, [
                "/usr/bin/python3", str(Path(__file__).resolve()), "wire", "--iface", PEER_IF,
                "--sut-mac", self.sut_mac, "--seed", str(self.seed)])
            self.wire.read(READY_S)
        except BaseException:
            self.stack.close()
            raise
        return self

    def start(self, name: str, ns: str, argv: list[str]) -> LineProc:
        assert self.log_dir is not None
        proc = LineProc(name, ["ip", "netns", "exec", ns, *argv], self.log_dir)
        self.stack.callback(proc.stop)
        return proc

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def check(self, name: str) -> dict[str, Any]:
        """One check's answer: {"check", "trace", "error"}."""
        return self.wire.request({"check": name})

    def fuzz(self, count: int, seed: int) -> dict[str, Any]:
        return self.wire.request({"fuzz": {"count": count, "seed": seed}})["fuzz"]

    def stats(self) -> dict[str, Any]:
        """The SUT's stats line (it comes once its connections have closed, or after 3 s)."""
        self.sut.send("stats")
        return self.sut.read(REPLY_S + 5)

    def echo_rr(self, duration: str, out: Path) -> tuple[int, dict[str, Any] | None, str]:
        """`tcplab run echo_rr --peer SUT` from the peer namespace's kernel."""
        argv = ["ip", "netns", "exec", self.topo.peer_ns, self.binary, "run", "echo_rr",
                "--peer", f"{SUT_ADDR}:{SUT_PORT}", "--duration", duration, "--backend",
                "kernel", "--out", str(out), "--quiet"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        path = out / "echo_rr.json"
        result = json.loads(path.read_text()) if path.is_file() else None
        return done.returncode, result, done.stderr.strip()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} stderr\n{p.stderr_tail()}"
                         for p in (getattr(self, "sut", None), getattr(self, "wire", None))
                         if p is not None)


# ==== wire side (runs inside the peer namespace) =======================================
# scapy is imported there only: the orchestrator and the tests' collection stay fast.

def scapy() -> Any:
    import scapy.all as sc	# noqa: PLC0415 (deliberately lazy)
    return sc


def rel(value: int, base: int) -> int:
    """value - base in sequence space, as a signed offset."""
    d = (value - base) % M32
    return d - M32 if d >= 1 << 31 else d


def flag_str(bits: int) -> str:
    """TCP flags as letters in a fixed order, PSH left out (where it is set is a choice)."""
    return "".join(ch for ch, bit in (("S", 0x02), ("F", 0x01), ("R", 0x04), ("A", 0x10),
                                      ("U", 0x20), ("E", 0x40), ("C", 0x80)) if bits & bit)


NO_REPLY = {"reply": "none"}


class Wire:
    """scapy's end of the veth: one L2 socket, our MAC, the SUT's; answers ARP for PEER_ADDR
    whenever it reads."""

    def __init__(self, iface: str, sut_mac: str, seed: int) -> None:
        sc = scapy()
        sc.conf.verb = 0
        self.sc = sc
        self.iface = iface
        self.sock = sc.conf.L2socket(iface=iface)
        self.mac = Path(f"/sys/class/net/{iface}/address").read_text().strip()
        self.rng = random.Random(seed)
        self.sut_mac = sut_mac if sut_mac != "arp" else self.learn_mac()
        self.next_port = WIRE_PORTS[0] + self.rng.randrange(0, 5000)
        self.arp_answered = 0

    def learn_mac(self, tries: int = 5) -> str:
        """The SUT's MAC from its answer to who-has SUT_ADDR."""
        sc = self.sc
        for _ in range(tries):
            self.send(sc.Ether(src=self.mac, dst="ff:ff:ff:ff:ff:ff") /
                      sc.ARP(op=1, hwsrc=self.mac, psrc=PEER_ADDR, pdst=SUT_ADDR))
            r = self.wait(lambda p: sc.ARP in p and p[sc.ARP].op == 2 and
                          p[sc.ARP].psrc == SUT_ADDR, 1.0)
            if r is not None:
                return str(r[sc.ARP].hwsrc).lower()
        raise RuntimeError(f"no ARP answer for {SUT_ADDR} in {tries} tries")

    def port(self) -> int:
        self.next_port += 1
        if self.next_port > WIRE_PORTS[1]:
            self.next_port = WIRE_PORTS[0]
        return self.next_port

    def send(self, frame: Any) -> None:
        self.sock.send(frame)

    def eth(self) -> Any:
        return self.sc.Ether(src=self.mac, dst=self.sut_mac)

    def ip(self, **kw: Any) -> Any:
        return self.eth() / self.sc.IP(src=PEER_ADDR, dst=SUT_ADDR, **kw)

    def frame(self, deadline: float) -> Any | None:
        """The next frame received before @deadline (ARP for us answered and skipped)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.sock], [], [], left)[0]:
                return None
            pkt = self.sock.recv()
            if pkt is None or self.answer_arp(pkt):
                continue	# our own outgoing frame, or an ARP request we answered
            return pkt

    def answer_arp(self, pkt: Any) -> bool:
        sc = self.sc
        if sc.ARP not in pkt or pkt[sc.ARP].op != 1 or pkt[sc.ARP].pdst != PEER_ADDR:
            return False
        a = pkt[sc.ARP]
        self.send(sc.Ether(src=self.mac, dst=a.hwsrc) /
                  sc.ARP(op=2, hwsrc=self.mac, psrc=PEER_ADDR, hwdst=a.hwsrc, pdst=a.psrc))
        self.arp_answered += 1
        return True

    def wait(self, match: Callable[[Any], bool], timeout: float) -> Any | None:
        deadline = time.monotonic() + timeout
        while (pkt := self.frame(deadline)) is not None:
            if match(pkt):
                return pkt
        return None

    def drain(self, on_frame: Callable[[Any], None] | None = None) -> int:
        """Read what is queued now (bounded), without waiting."""
        n = 0
        while n < DRAIN_MAX and select.select([self.sock], [], [], 0)[0]:
            pkt = self.sock.recv()
            n += 1
            if pkt is not None and not self.answer_arp(pkt) and on_frame is not None:
                on_frame(pkt)
        return n


def tcp_payload(pkt: Any, sc: Any) -> bytes:
    """The TCP payload by the IP header's length (Ethernet padding left out)."""
    ip, tcp = pkt[sc.IP], pkt[sc.TCP]
    n = max(ip.len - ip.ihl * 4 - tcp.dataofs * 4, 0)
    return bytes(tcp)[tcp.dataofs * 4:tcp.dataofs * 4 + n]


class Conn:
    """One TCP connection played by scapy: what we sent (snd_nxt), what the SUT sent and we
    acknowledged (rcv_nxt), the bytes it echoed. Every segment of it that is read passes
    through absorb(), which acknowledges the SUT's data and FIN like a plain receiver."""

    def __init__(self, w: Wire, dport: int = SUT_PORT) -> None:
        self.w = w
        self.sc = w.sc
        self.dport = dport
        self.sport = w.port()
        self.iss = w.rng.randrange(M32)
        self.snd_nxt = self.iss
        self.snd_una_seen = self.iss	# the highest ACK the SUT sent
        self.irs: int | None = None
        self.rcv_nxt = 0
        self.echo = b""
        self.fin_seen = False
        self.reset_seen = False
        self.tsval = 0

    # -- building ---------------------------------------------------------------------
    def seg(self, flags: str, seq: int | None = None, ack: int | None = None,
            data: bytes = b"", options: list | None = None, raw_options: bytes = b"",
            window: int = OUR_WINDOW) -> Any:
        sc = self.sc
        if ack is None:
            ack = self.rcv_nxt if "A" in flags else 0
        tcp = sc.TCP(sport=self.sport, dport=self.dport,
                     seq=(self.snd_nxt if seq is None else seq) % M32, ack=ack % M32,
                     flags=flags, window=window, options=options or [])
        if raw_options:
            assert len(raw_options) % 4 == 0 and not options
            tcp.dataofs = 5 + len(raw_options) // 4
        body = raw_options + data
        return self.w.ip() / tcp / sc.Raw(body) if body else self.w.ip() / tcp

    def ours(self, pkt: Any) -> bool:
        sc = self.sc
        return (sc.TCP in pkt and sc.IP in pkt and pkt[sc.IP].src == SUT_ADDR and
                pkt[sc.IP].dst == PEER_ADDR and pkt[sc.TCP].sport == self.dport and
                pkt[sc.TCP].dport == self.sport)

    # -- receiving --------------------------------------------------------------------
    def absorb(self, pkt: Any) -> None:
        t = pkt[self.sc.TCP]
        if t.flags & 0x04:
            self.reset_seen = True
            return
        if self.irs is None:
            return
        data = tcp_payload(pkt, self.sc)
        need_ack = bool(data)
        if data and t.seq == self.rcv_nxt:
            self.echo += data
            self.rcv_nxt = (self.rcv_nxt + len(data)) % M32
        if t.flags & 0x01 and (t.seq + len(data)) % M32 == self.rcv_nxt:
            self.rcv_nxt = (self.rcv_nxt + 1) % M32
            self.fin_seen = need_ack = True
        if t.flags & 0x10 and rel(t.ack, self.snd_una_seen) > 0:
            self.snd_una_seen = t.ack
        if need_ack:
            self.w.send(self.seg("A"))

    def wait(self, match: Callable[[Any], bool], timeout: float = REPLY_S) -> Any | None:
        """The first segment of this connection that @match accepts, each one absorbed."""
        def on(pkt: Any) -> bool:
            if not self.ours(pkt):
                return False
            self.absorb(pkt)
            return match(pkt)
        return self.w.wait(on, timeout)

    def silence(self, timeout: float = SILENCE_S) -> Any | None:
        """None when the SUT sends nothing on this connection for @timeout seconds."""
        return self.wait(lambda p: True, timeout)

    # -- doing ------------------------------------------------------------------------
    def syn(self, options: list | None = None, raw_options: bytes = b"") -> Any | None:
        """Send our SYN; the SYN-ACK (or whatever answers first), or None."""
        self.w.send(self.seg("S", seq=self.iss, options=options, raw_options=raw_options))
        self.snd_nxt = (self.iss + 1) % M32
        reply = self.wait(lambda p: True)
        if reply is not None and flag_str(int(reply[self.sc.TCP].flags)) == "SA":
            self.irs = reply[self.sc.TCP].seq
            self.rcv_nxt = (self.irs + 1) % M32
        return reply

    def connect(self) -> None:
        """Three-way handshake with MSS and SACK permitted (no timestamps, no scaling)."""
        reply = self.syn(options=[("MSS", 1460), ("SAckOK", b"")])
        if reply is None or self.irs is None:
            raise CheckError(f"no SYN-ACK from {SUT_ADDR}:{self.dport} within {REPLY_S} s "
                             f"(got {reply and reply.summary()})")
        self.w.send(self.seg("A"))

    def send_data(self, data: bytes, **kw: Any) -> None:
        self.w.send(self.seg("PA", data=data, **kw))
        if "seq" not in kw:
            self.snd_nxt = (self.snd_nxt + len(data)) % M32

    def acked(self, upto: int) -> Callable[[Any], bool]:
        return lambda p: bool(p[self.sc.TCP].flags & 0x10) and rel(p[self.sc.TCP].ack, upto) >= 0

    def abort(self) -> None:
        """End it with a RST at exactly the SUT's expected sequence number."""
        self.w.send(self.seg("RA"))

    def exchange(self, data: bytes, timeout: float = REPLY_S,
                 raw_options: bytes = b"") -> tuple[bool, bytes]:
        """Send @data; wait for its ACK and its echo; (acked, the bytes echoed meanwhile)."""
        start = len(self.echo)
        self.send_data(data, raw_options=raw_options)
        end = self.snd_nxt
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rel(self.snd_una_seen, end) >= 0 and len(self.echo) - start >= len(data):
                break
            self.wait(lambda p: True, deadline - time.monotonic())
        return rel(self.snd_una_seen, end) >= 0, self.echo[start:]

    def works(self, data: bytes = b"still-works", raw_options: bytes = b"") -> dict[str, Any]:
        """The step that proves the connection carries data: its ACK and its echo."""
        acked, echoed = self.exchange(data, raw_options=raw_options)
        return {"reply": "tcp" if acked or echoed else "none", "ack": rel(self.snd_una_seen,
                self.iss), "echo": echoed.decode("latin-1")}


def tcp_fields(pkt: Any, c: Conn, *keys: str) -> dict[str, Any]:
    """The named fields of a TCP reply, relative numbers where the stacks' ISNs differ."""
    sc = c.sc
    t = pkt[sc.TCP]
    every = {
        "flags": lambda: flag_str(int(t.flags)),
        "seq": lambda: t.seq if c.irs is None else rel(t.seq, c.irs),
        "ack": lambda: rel(t.ack, c.iss),
        "win": lambda: t.window,
        "len": lambda: len(tcp_payload(pkt, sc)),
        "options": lambda: tcp_options(t, c),
    }
    return {"reply": "tcp", **{k: every[k]() for k in keys}}


def tcp_options(t: Any, c: Conn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, val in t.options:
        if name in ("NOP", "EOL"):
            continue
        if name == "MSS":
            out["mss"] = val
        elif name == "WScale":
            out["wscale"] = val
        elif name == "SAckOK":
            out["sack_permitted"] = True
        elif name == "Timestamp":
            tsval, tsecr = val	# tsval: a per-connection random offset on Linux
            out["timestamp"] = {"tsval": "set" if tsval else 0,
                                "tsecr": "echo" if tsecr == c.tsval else tsecr}
        elif name == "SAck":
            out["sack"] = [rel(v, c.iss) for v in val]
        else:
            out[str(name)] = val.hex() if isinstance(val, bytes) else str(val)
    return out


class Trace:
    """The steps of one check, kept even when the check stops half-way."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def add(self, op: str, fields: dict[str, Any]) -> None:
        self.steps.append({"line": len(self.steps), "op": op, **fields})

    def reply(self, op: str, pkt: Any | None, c: Conn, *keys: str) -> None:
        self.add(op, NO_REPLY if pkt is None else tcp_fields(pkt, c, *keys))


# ---- the checks: each one sends its stimuli and records the SUT's replies --------------

def corrupt(frame: Any, where: str) -> bytes:
    """The frame's bytes with its TCP or IP checksum inverted."""
    raw = bytearray(bytes(frame))
    ihl = (raw[14] & 0x0F) * 4
    off = 14 + 10 if where == "ip" else 14 + ihl + 16
    raw[off] ^= 0xFF
    raw[off + 1] ^= 0xFF
    return bytes(raw)


def pkt_syn_closed_port(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.1: a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>."""
    c = Conn(w, CLOSED_PORT)
    w.send(c.seg("S", seq=c.iss, options=[("MSS", 1460)]))
    tr.reply("syn", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")


def pkt_synack_options(w: Wire, tr: Trace) -> None:
    """The SYN-ACK's answer to MSS, window scale, SACK permitted and timestamps (RFC 7323:
    TSecr echoes our TSval; the TSval itself is random on Linux, so only "set" is kept)."""
    c = Conn(w)
    c.tsval = w.rng.randrange(1, M32)
    r = c.syn(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (c.tsval, 0)),
                       ("NOP", None), ("WScale", 7)])
    tr.reply("syn_all_options", r, c, "flags", "ack", "options")
    c.w.send(c.seg("R", seq=c.snd_nxt))


def dropped_then_works(w: Wire, tr: Trace, where: str) -> None:
    c = Conn(w)
    c.connect()
    w.send(corrupt(c.seg("PA", data=b"bad-checksum"), where))	# snd_nxt stays
    tr.reply(f"data_bad_{where}_checksum", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_bad_tcp_checksum(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1: a segment whose checksum fails is discarded, no reply; the same bytes
    with a good checksum are then new data (acked, echoed once)."""
    dropped_then_works(w, tr, "tcp")


def pkt_bad_ip_checksum(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.1.2: a datagram whose header checksum fails is silently discarded."""
    dropped_then_works(w, tr, "ip")


def pkt_rst_out_of_window(w: Wire, tr: Trace) -> None:
    """RFC 5961 3.2: a RST outside the window is dropped silently; one inside it but not at
    RCV.NXT gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>; the connection lives on."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("RA", seq=c.snd_nxt + (1 << 30)))
    tr.reply("rst_outside_window", c.silence(), c, "flags", "seq", "ack", "len")
    w.send(c.seg("RA", seq=c.snd_nxt + 1))
    tr.reply("rst_in_window_not_exact", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_rst_in_window(w: Wire, tr: Trace) -> None:
    """RFC 5961 3.2: a RST at exactly RCV.NXT resets the connection; a segment sent on it
    afterwards meets no connection: <SEQ=SEG.ACK><RST> (RFC 9293 3.10.7.1)."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("RA"))
    tr.reply("rst_exact", c.silence(), c, "flags", "seq", "ack", "len")
    w.send(c.seg("PA", data=b"after-reset"))
    tr.reply("data_after_rst", c.wait(lambda p: True), c, "flags", "seq", "len")


def pkt_syn_on_established(w: Wire, tr: Trace) -> None:
    """RFC 5961 4.2: a SYN on a synchronized connection, whatever its sequence number, gets
    a challenge ACK; the connection lives on."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("S", seq=c.snd_nxt + 100))
    tr.reply("syn_in_window", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_data_beyond_window(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4: a segment beyond the receive window is not acceptable: an ACK
    <SEQ=SND.NXT><ACK=RCV.NXT> and the data dropped (never echoed)."""
    c = Conn(w)
    c.connect()
    c.send_data(b"beyond-the-window", seq=c.snd_nxt + (1 << 20))
    tr.reply("data_beyond_window", c.wait(lambda p: True), c, "flags", "seq", "ack", "len",
             "options")
    tr.add("data_after", c.works(b"in-window"))
    c.abort()


def pkt_zero_window_probe(w: Wire, tr: Trace) -> None:
    """A window probe as Linux sends it (SEQ=SND.UNA-1, no data) is answered with an ACK
    carrying RCV.NXT and the window (RFC 9293 3.8.6.1)."""
    c = Conn(w)
    c.connect()
    tr.add("data", c.works(b"probe-me"))
    w.send(c.seg("A", seq=c.snd_nxt - 1))
    r = c.wait(lambda p: True)
    tr.reply("window_probe", r, c, "flags", "seq", "ack", "len")
    if r is not None:
        tr.steps[-1]["window_open"] = r[c.sc.TCP].window > 0
    c.abort()


def pkt_duplicate_data(w: Wire, tr: Trace) -> None:
    """A segment received twice is acknowledged again at once (RFC 9293 3.10.7.4), with a
    D-SACK block naming it (RFC 2883) when SACK was agreed; it is not delivered twice."""
    c = Conn(w)
    c.connect()
    data = b"duplicate"
    tr.add("data", c.works(data))
    w.send(c.seg("PA", seq=c.snd_nxt - len(data), data=data))
    tr.reply("same_segment_again", c.wait(lambda p: True), c, "flags", "seq", "ack", "len",
             "options")
    tr.reply("no_second_delivery", c.silence(), c, "flags", "seq", "ack", "len")
    c.abort()


def pkt_fin_acked(w: Wire, tr: Trace) -> None:
    """Our FIN is acknowledged (ACK = its sequence number + 1); the echo program then
    closes, so the SUT's own FIN follows. Whether the ACK rides on that FIN is the stack's
    choice (delayed ACK), so the first step keeps only the ACK number."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("FA"))
    c.snd_nxt = (c.snd_nxt + 1) % M32
    tr.reply("fin", c.wait(c.acked(c.snd_nxt)), c, "ack")
    fin = c.wait(lambda p: bool(p[c.sc.TCP].flags & 0x01)) if not c.fin_seen else True
    tr.add("sut_fin", {"reply": "tcp", "fin": c.fin_seen} if fin else NO_REPLY)
    if fin:
        tr.steps[-1].update({"fin_seq": rel(c.rcv_nxt - 1, c.irs or 0)})


def pkt_ack_unsent_data(w: Wire, tr: Trace) -> None:
    """RFC 5961 5.2 / RFC 9293 3.10.7.4: a segment acknowledging data never sent
    (SEG.ACK > SND.NXT) is discarded (its data too); the same data with a valid ACK is then
    new data."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("PA", data=b"acks-unsent", ack=c.rcv_nxt + 100000))
    tr.reply("ack_beyond_snd_nxt", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works(b"acks-unsent"))
    c.abort()


def pkt_icmp_echo(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.2.6: an echo request is answered with the same identifier, sequence
    number and data."""
    sc = w.sc
    ident, seq = w.rng.randrange(1, 65536), w.rng.randrange(1, 65536)
    payload = bytes(w.rng.randrange(256) for _ in range(56))
    w.send(w.ip() / sc.ICMP(type=8, id=ident, seq=seq) / sc.Raw(payload))

    def match(p: Any) -> bool:
        return sc.ICMP in p and p[sc.IP].src == SUT_ADDR and p[sc.IP].dst == PEER_ADDR

    r = w.wait(match, REPLY_S)
    if r is None:
        tr.add("echo_request", NO_REPLY)
        return
    i = r[sc.ICMP]
    tr.add("echo_request", {"reply": "icmp", "type": i.type, "code": i.code,
                            "id": "same" if i.id == ident else i.id,
                            "seq": "same" if i.seq == seq else i.seq,
                            "data": "same" if bytes(i.payload)[:len(payload)] == payload
                            else "differs"})


def pkt_arp_request(w: Wire, tr: Trace) -> None:
    """RFC 826: a request for the SUT's address is answered, unicast to the asker, with the
    SUT's MAC (the MAC its frames carry)."""
    sc = w.sc
    w.send(sc.Ether(src=w.mac, dst="ff:ff:ff:ff:ff:ff") /
           sc.ARP(op=1, hwsrc=w.mac, psrc=PEER_ADDR, pdst=SUT_ADDR))

    def match(p: Any) -> bool:
        return sc.ARP in p and p[sc.ARP].op == 2 and p[sc.ARP].psrc == SUT_ADDR

    r = w.wait(match, REPLY_S)
    if r is None:
        tr.add("who_has_sut", NO_REPLY)
        return
    a = r[sc.ARP]

    def mac(v: str) -> str:
        return {w.mac: "peer", w.sut_mac: "sut"}.get(v.lower(), v)

    tr.add("who_has_sut", {"reply": "arp", "arp_op": a.op, "hwsrc": mac(a.hwsrc), "psrc": a.psrc,
                           "hwdst": mac(a.hwdst), "pdst": a.pdst, "eth_dst": mac(r.dst),
                           "eth_src": mac(r.src)})


def pkt_bad_option_length(w: Wire, tr: Trace) -> None:
    """Options with a bad length (RFC 9293 3.1, 3.10.7.x: options must be parsed safely):
    an MSS option of length 0 before SACK-permitted; SACK-permitted then a timestamp option
    whose length runs past the header; and a data segment whose option has length 0. Linux
    stops parsing at the bad option and keeps what it parsed before it."""
    c = Conn(w)
    r = c.syn(raw_options=bytes([2, 0, 4, 2]))
    tr.reply("syn_option_length_0", r, c, "flags", "ack", "options")
    w.send(c.seg("R", seq=c.snd_nxt))
    c = Conn(w)
    r = c.syn(raw_options=bytes([4, 2, 8, 40]))
    tr.reply("syn_option_past_header", r, c, "flags", "ack", "options")
    w.send(c.seg("R", seq=c.snd_nxt))
    c = Conn(w)
    c.connect()
    tr.add("data_option_length_0", c.works(b"bad-option-data", raw_options=bytes([1, 1, 5, 0])))
    tr.add("data_after", c.works())
    c.abort()


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Wire, Trace], None]

    @property
    def description(self) -> str:
        return " ".join((self.run.__doc__ or "").split())


CHECKS: tuple[Check, ...] = tuple(Check(f.__name__, f) for f in (
    pkt_syn_closed_port, pkt_synack_options, pkt_bad_tcp_checksum, pkt_bad_ip_checksum,
    pkt_rst_out_of_window, pkt_rst_in_window, pkt_syn_on_established, pkt_data_beyond_window,
    pkt_zero_window_probe, pkt_duplicate_data, pkt_fin_acked, pkt_ack_unsent_data,
    pkt_icmp_echo, pkt_arp_request, pkt_bad_option_length))
CHECK_NAMES = tuple(c.name for c in CHECKS)


def run_check(w: Wire, name: str) -> dict[str, Any]:
    check = next((c for c in CHECKS if c.name == name), None)
    if check is None:
        return {"check": name, "trace": [], "error": f"unknown check '{name}'"}
    w.drain()	# what earlier checks left queued must not answer this one
    tr = Trace()
    try:
        check.run(w, tr)
    except CheckError as e:
        return {"check": name, "trace": tr.steps, "error": str(e)}
    return {"check": name, "trace": tr.steps, "error": None}


# ---- the fuzz run ------------------------------------------------------------------------

@dataclass(frozen=True)
class FuzzTarget:
    """Where fuzz frames go, and a live connection whose numbers some of them reuse."""
    src_mac: str
    dst_mac: str
    port: int = SUT_PORT
    conn_sport: int = WIRE_PORTS[0]
    conn_seq: int = 0
    conn_ack: int = 0


FUZZ_WEIGHTS = {"tcp_fields": 25, "ip_fields": 20, "truncated": 15, "tcp_options": 15,
                "conn": 15, "icmp": 5, "ipv4_garbage": 5}


def rbytes(rng: random.Random, n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def fuzz_port(rng: random.Random) -> int:
    """A source port outside the checks' range (their connections are scapy's own)."""
    return rng.choice((rng.randrange(1024, WIRE_PORTS[0]), rng.randrange(WIRE_PORTS[1] + 1,
                                                                          65536)))


def random_options(rng: random.Random) -> bytes:
    """Up to 40 bytes of options, kinds and lengths random (lengths often wrong)."""
    out = b""
    while len(out) < 40 and rng.random() < 0.8:
        kind = rng.choice((0, 1, 2, 3, 4, 5, 8, 28, 29, 30, 34, 253, 254, rng.randrange(256)))
        if kind in (0, 1):
            out += bytes([kind])
            continue
        length = rng.choice((0, 1, 2, 3, 4, 10, 18, 40, 255, rng.randrange(256)))
        out += bytes([kind, length]) + rbytes(rng, rng.randrange(0, 12))
    out = out[:40]
    return out + b"\x00" * (-len(out) % 4)


def fz_tcp_fields(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    tcp = sc.TCP(sport=fuzz_port(rng),
                 dport=t.port if rng.random() < 0.8 else rng.randrange(65536),
                 seq=rng.randrange(M32), ack=rng.randrange(M32), flags=rng.randrange(256),
                 window=rng.randrange(65536), urgptr=rng.randrange(65536))
    if rng.random() < 0.2:
        tcp.dataofs = rng.randrange(16)
    if rng.random() < 0.1:
        tcp.chksum = rng.randrange(65536)
    return sc.IP(src=PEER_ADDR, dst=SUT_ADDR) / tcp / sc.Raw(rbytes(rng, rng.randrange(0, 64)))


def ip_checksum(header: bytes) -> int:
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header) - 1, 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def fz_ip_fields(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    """A TCP segment whose IP header has one to three fields random (sometimes random
    options too); the header checksum stays valid unless it is the field chosen."""
    seg = bytes(sc.TCP(sport=fuzz_port(rng), dport=t.port, seq=rng.randrange(M32),
                       flags=rng.choice(("S", "A", "PA", "R", "F"))) /
                sc.Raw(rbytes(rng, rng.randrange(0, 32))))
    opts = rbytes(rng, 4 * rng.randrange(1, 11)) if rng.random() < 0.2 else b""
    h = bytearray(bytes(sc.IP(src=PEER_ADDR, dst=SUT_ADDR, proto=6, len=20 + len(opts) +
                              len(seg), ihl=5 + len(opts) // 4))[:20] + opts)
    mutations: dict[str, Callable[[], None]] = {
        "version": lambda: h.__setitem__(0, rng.randrange(16) << 4 | (h[0] & 0x0F)),
        "ihl": lambda: h.__setitem__(0, (h[0] & 0xF0) | rng.randrange(16)),
        "tos": lambda: h.__setitem__(1, rng.randrange(256)),
        "len": lambda: h.__setitem__(slice(2, 4), rbytes(rng, 2)),
        "id": lambda: h.__setitem__(slice(4, 6), rbytes(rng, 2)),
        "flags_frag": lambda: h.__setitem__(slice(6, 8), rbytes(rng, 2)),
        "ttl": lambda: h.__setitem__(8, rng.randrange(256)),
        "proto": lambda: h.__setitem__(9, rng.choice((1, 6, 17, rng.randrange(256)))),
        "src": lambda: h.__setitem__(slice(12, 16), bytes([10, 99, 1, rng.randrange(4, 255)])),
    }
    for name in rng.sample(sorted(mutations), rng.randrange(1, 4)):
        mutations[name]()
    h[10:12] = ip_checksum(bytes(h[:10]) + bytes(h[12:])).to_bytes(2, "big")
    if rng.random() < 0.15:
        h[10:12] = rbytes(rng, 2)
    return bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac, type=0x0800)) + bytes(h) + seg


def fz_truncated(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    base = fz_tcp_options(rng, sc, t) if rng.random() < 0.5 else fz_tcp_fields(rng, sc, t)
    raw = bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac) / base)
    return raw[:rng.randrange(14, len(raw))]


def fz_tcp_options(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    opts = random_options(rng)
    tcp = sc.TCP(sport=fuzz_port(rng), dport=t.port, seq=rng.randrange(M32),
                 ack=rng.randrange(M32), flags=rng.choice(("S", "S", "A", "PA", "SA")))
    tcp.dataofs = 5 + len(opts) // 4 if rng.random() < 0.7 else rng.randrange(16)
    return sc.IP(src=PEER_ADDR, dst=SUT_ADDR) / tcp / sc.Raw(opts + rbytes(rng,
                                                                          rng.randrange(0, 16)))


def fz_conn(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    """A segment on the live connection, numbers near its own: the established paths."""
    tcp = sc.TCP(sport=t.conn_sport, dport=t.port,
                 seq=(t.conn_seq + rng.randrange(-70000, 70000)) % M32,
                 ack=(t.conn_ack + rng.randrange(-70000, 70000)) % M32,
                 flags=rng.choice(("A", "PA", "PA", "FA", "RA", "R", "S", "SA", "UA", "FPA")),
                 window=rng.choice((0, rng.randrange(65536))), urgptr=rng.randrange(65536))
    if rng.random() < 0.3:
        opts = random_options(rng)
        tcp.dataofs = 5 + len(opts) // 4
        return sc.IP(src=PEER_ADDR, dst=SUT_ADDR) / tcp / sc.Raw(opts + rbytes(rng, 8))
    return sc.IP(src=PEER_ADDR, dst=SUT_ADDR) / tcp / sc.Raw(rbytes(rng, rng.randrange(0, 200)))


def fz_icmp(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    """Any type and code, the rest of the header random, a body that is noise or quotes
    (part of) a TCP header of the live connection, as an ICMP error would."""
    kind = rng.choice((0, 3, 4, 5, 8, 11, 12, 13, 17, rng.randrange(256)))
    quoted = bytes(sc.IP(src=SUT_ADDR, dst=PEER_ADDR) /
                   sc.TCP(sport=t.port, dport=t.conn_sport, seq=rng.randrange(M32)))
    body = quoted[:rng.randrange(0, len(quoted) + 1)] if rng.random() < 0.5 else \
        rbytes(rng, rng.randrange(0, 64))
    head = bytes([kind, rng.randrange(16), 0, 0]) + rbytes(rng, 4)
    csum = sc.checksum(head + body) if rng.random() < 0.9 else rng.randrange(65536)
    icmp = head[:2] + csum.to_bytes(2, "big") + head[4:] + body
    return sc.IP(src=PEER_ADDR, dst=SUT_ADDR, proto=1) / sc.Raw(icmp)


def fz_ipv4_garbage(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    return bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac, type=0x0800)) + \
        rbytes(rng, rng.randrange(0, 80))


FUZZERS: dict[str, Callable[[random.Random, Any, FuzzTarget], Any]] = {
    "tcp_fields": fz_tcp_fields, "ip_fields": fz_ip_fields, "truncated": fz_truncated,
    "tcp_options": fz_tcp_options, "conn": fz_conn, "icmp": fz_icmp,
    "ipv4_garbage": fz_ipv4_garbage,
}


def fuzz_frames(rng: random.Random, count: int, t: FuzzTarget) -> list[tuple[str, bytes]]:
    """@count (kind, frame bytes), reproducible from @rng's seed."""
    sc = scapy()
    kinds, weights = list(FUZZ_WEIGHTS), list(FUZZ_WEIGHTS.values())
    out = []
    for kind in rng.choices(kinds, weights, k=count):
        frame = FUZZERS[kind](rng, sc, t)
        if not isinstance(frame, bytes):
            frame = bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac) / frame)
        out.append((kind, frame))
    return out


def send_counting(w: Wire, frame: bytes, stats: dict[str, int]) -> None:
    """Send one frame; a full veth backlog (ENOBUFS) is retried a bounded number of times."""
    for _ in range(100):
        try:
            w.sock.outs.send(frame)
            return
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                stats[f"send_{errno.errorcode.get(e.errno, e.errno)}"] = \
                    stats.get(f"send_{errno.errorcode.get(e.errno, e.errno)}", 0) + 1
                return
            stats["enobufs_retries"] = stats.get("enobufs_retries", 0) + 1
            time.sleep(0.001)	# back-off for the receiving softirq, not a synchronization
    stats["dropped_enobufs"] = stats.get("dropped_enobufs", 0) + 1


def fuzz(w: Wire, count: int, seed: int, batch: int = 500) -> dict[str, Any]:
    """Send @count mutated frames (seeded) at the SUT in batches, answering between batches
    what a real peer would (ARP; a RST to a SYN-ACK for a port it never opened); then end
    the live connection it used. Counts per kind, errors, time."""
    started = time.monotonic()
    rng = random.Random(seed)
    c = Conn(w)
    c.connect()
    target = FuzzTarget(w.mac, w.sut_mac, SUT_PORT, c.sport, c.snd_nxt, c.rcv_nxt)
    stats: dict[str, int] = {}
    kinds: dict[str, int] = {}
    replies = {"frames_seen": 0, "synack_reset": 0}

    def on_frame(pkt: Any) -> None:
        replies["frames_seen"] += 1
        sc = w.sc
        if c.ours(pkt):
            c.absorb(pkt)
        elif (sc.TCP in pkt and sc.IP in pkt and pkt[sc.IP].src == SUT_ADDR and
              flag_str(int(pkt[sc.TCP].flags)) == "SA"):
            t = pkt[sc.TCP]
            w.send(w.ip() / sc.TCP(sport=t.dport, dport=t.sport, seq=t.ack, flags="R"))
            replies["synack_reset"] += 1

    sent = 0
    built_s = 0.0
    while sent < count:
        t0 = time.monotonic()
        frames = fuzz_frames(rng, min(batch, count - sent), target)
        built_s += time.monotonic() - t0
        for kind, frame in frames:
            send_counting(w, frame, stats)
            kinds[kind] = kinds.get(kind, 0) + 1
        sent += len(frames)
        w.drain(on_frame)
    w.wait(lambda p: (on_frame(p), False)[1], SILENCE_S)	# let the last replies come in
    closed = close_fuzzed(c)
    return {"frames": sent, "seed": seed, "by_kind": kinds, "send": stats,
            "replies": replies, "arp_answered": w.arp_answered, "conn_closed": closed,
            "build_s": round(built_s, 2), "seconds": round(time.monotonic() - started, 2)}


def close_fuzzed(c: Conn, tries: int = 4) -> str:
    """End the connection the fuzz run mutated. Its numbers may have moved, so ask the SUT:
    a window probe is answered with its RCV.NXT (or a RST when the connection is gone);
    then a RST exactly there. Per-socket rate limits (Linux: one out-of-window reply per
    500 ms) may swallow a probe, hence a few tries."""
    for _ in range(tries):
        c.w.send(c.seg("A", seq=c.snd_nxt - 1))
        r = c.wait(lambda p: True, 0.7)
        if r is None:
            continue
        t = r[c.sc.TCP]
        if t.flags & 0x04:
            return "gone"	# reset by the fuzz run itself
        c.w.send(c.seg("R", seq=t.ack))
        return "reset"
    return "unknown"


def wire_main(argv: list[str]) -> int:
    """Inside the peer namespace: serve check and fuzz requests, JSON lines."""
    ap = argparse.ArgumentParser(prog="packets.py wire")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--sut-mac", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    w = Wire(args.iface, args.sut_mac.lower(), args.seed)
    print(json.dumps({"event": "ready", "mac": w.mac}), flush=True)
    for line in sys.stdin:
        print(json.dumps(serve_request(w, json.loads(line))), flush=True)
    return 0


def serve_request(w: Wire, req: dict[str, Any]) -> dict[str, Any]:
    """One request's answer; a failure (even a bug here) is an answer, not a dead wire."""
    try:
        if "check" in req:
            return run_check(w, req["check"])
        if "fuzz" in req:
            return {"fuzz": fuzz(w, int(req["fuzz"]["count"]), int(req["fuzz"]["seed"]))}
        return {"error": f"unknown request {req}"}
    except Exception as e:	# noqa: BLE001 (reported to the orchestrator, with its trace)
        tb = traceback.format_exc(limit=4)
        if "check" in req:
            return {"check": req["check"], "trace": [], "error": f"{e!r}: {tb}"}
        return {"fuzz": {"frames": 0, "error": f"{e!r}: {tb}"}}


# ==== comparison and records (root namespace) ===========================================

def first_difference(kernel: list[dict], other: list[dict]) -> dict[str, Any] | None:
    """The first step and field where two traces differ, or None."""
    for i in range(max(len(kernel), len(other))):
        a = kernel[i] if i < len(kernel) else {}
        b = other[i] if i < len(other) else {}
        if a == b:
            continue
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                return {"side": "sut", "step": i, "line": i, "op": a.get("op", b.get("op")),
                        "field": key, "kernel": a.get(key), "other": b.get(key)}
    return None


def short(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(k if v is True else f"{k}:{short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "/".join(short(v) for v in value)
    return str(value)


def summarize(trace: list[dict], limit: int = 3) -> str:
    """A short human form of a trace for the parity table: each step's reply."""
    bits = []
    for s in trace:
        fields = [f"{k}={short(v)}" for k, v in s.items() if k not in ("line", "op", "reply")]
        what = "no reply" if s.get("reply") == "none" else \
            f"{s.get('reply', '?')} {' '.join(fields)}".strip()
        bits.append(f"{s['op']}: {what}")
    return "; ".join(bits[:limit]) + (" ..." if len(bits) > limit else "")


def load_conform() -> Any:
    """harness/conform.py, for its list of accepted divergences (one file for both)."""
    spec = importlib.util.spec_from_file_location("tcplab_conform", ROOT / "harness" /
                                                  "conform.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)
    spec.loader.exec_module(mod)
    return mod


def verdict_for(name: str, backend: str, kernel: dict[str, Any], other: dict[str, Any],
                listed: dict[str, dict[str, str]]) -> dict[str, Any]:
    diff = first_difference(kernel["trace"], other["trace"])
    differs = "" if diff is None else f"step {diff['step']} ({diff['op']}) field {diff['field']}"
    verdict, reason = load_conform().classify(name, backend, other["error"], diff, differs,
                                              listed)
    return {"backend": backend, "verdict": verdict, "reason": reason,
            "first_difference": diff, "trace": {"sut": other["trace"], "peer": []}}


def run_backend(backend: str, names: list[str], seed: int, label: str,
                progress: bool) -> dict[str, dict[str, Any]]:
    out = {}
    with PacketLab(backend, seed=seed) as lab:
        for i, name in enumerate(names, 1):
            if progress:
                print(f"tcplab packets: {label} [{i}/{len(names)}] {name}", file=sys.stderr,
                      flush=True)
            out[name] = lab.check(name)
    return out


def packet_records(names: list[str], backends: list[str], seed: int = 1,
                   progress: bool = True) -> list[dict[str, Any]]:
    """The kernel run twice (the oracle must be deterministic), then each backend: records
    in the shape of conform.py's case results."""
    listed = load_conform().load_divergences()
    oracle = run_backend("kernel", names, seed, "kernel", progress)
    again = run_backend("kernel", names, seed + 1, "kernel again", progress)
    others = {b: run_backend(b, names, seed + 2 + i, b, progress)
              for i, b in enumerate(backends)}
    by_name = {c.name: c for c in CHECKS}
    records = []
    for name in names:
        k = oracle[name]
        rec = {"name": name, "kind": "packet", "description": by_name[name].description,
               "kernel": {"sut": k["trace"], "peer": []}, "verdict": "match", "reason": "",
               "summary": summarize(k["trace"]), "others": []}
        unstable = first_difference(k["trace"], again[name]["trace"])
        if k["error"] or again[name]["error"] or unstable:
            rec["verdict"] = "oracle-unstable"
            rec["reason"] = k["error"] or again[name]["error"] or \
                f"two kernel runs differ: {json.dumps(unstable)}"
        else:
            for b in backends:
                rec["others"].append(verdict_for(name, b, k, others[b][name], listed))
        records.append(rec)
    return records


MBUF_SETTLE_S = 30.0	# lwIP holds fragments for IP_REASS_MAXAGE (15 s) before freeing them


def settled_stats(lab: "PacketLab") -> tuple[dict[str, Any] | None, float | None]:
    """The SUT's stats once a DPDK stack has every mbuf back (fuzzed fragments sit in IP
    reassembly until it gives up on them), bounded by MBUF_SETTLE_S; with the time it took."""
    t0 = time.monotonic()
    while lab.sut.alive():
        st = lab.stats()
        stack = st.get("stack", {})
        if "mbufs_in_use" not in stack:
            return st, None
        if stack["mbufs_in_use"] <= stack["mbufs_in_use_start"] or \
                time.monotonic() - t0 > MBUF_SETTLE_S:
            return st, round(time.monotonic() - t0, 1)
        time.sleep(1.0)	# polling a counter, not synchronizing: each round asks again
    return None, None


def fuzz_run(backend: str, count: int, seed: int, out_dir: Path) -> dict[str, Any]:
    """The fuzz run and its aftermath: SUT alive, its stats, echo_rr through it."""
    with PacketLab(backend, seed=seed) as lab:
        res = lab.fuzz(count, seed)
        res["sut_alive"] = lab.sut.alive()
        rc, result, err = lab.echo_rr("1", out_dir) if res["sut_alive"] else (None, None, "")
        res["echo_rr"] = {"rc": rc, "passed": bool(result and result.get("passed")),
                          "transactions": (result or {}).get("metrics", {}).get("transactions"),
                          "stderr": err[-500:]}
        res["sut_stats"], res["mbufs_settle_s"] = settled_stats(lab)
        res["sut_alive_after"] = lab.sut.alive()
        if not res["sut_alive_after"]:
            res["sut_exit"] = lab.sut.popen.returncode	# negative: the signal that ended it
            res["sut_stderr"] = lab.sut.stderr_tail(1500)
            res["sut_stdout"] = lab.sut.rest()
        if lab.spec.sockets is not None:
            res["sut_sockets"] = lab.spec.sockets(lab.topo)
    problems = fuzz_problems(res, count)
    res.update({"backend": backend, "outcome": "fail" if problems else "pass",
                "problems": problems})
    return res


def fuzz_problems(res: dict[str, Any], count: int) -> list[str]:
    out = []
    if res.get("error"):
        out.append(res["error"])
    if res.get("frames", 0) < count:
        out.append(f"sent {res.get('frames', 0)} of {count} frames")
    if not res.get("sut_alive") or not res.get("sut_alive_after"):
        out.append(f"the SUT process died (exit status {res.get('sut_exit')}): "
                   f"{(res.get('sut_stderr', '') + res.get('sut_stdout', ''))[-300:]}")
    if not res.get("echo_rr", {}).get("passed"):
        out.append(f"echo_rr after the fuzz run did not pass: {res.get('echo_rr')}")
    st = res.get("sut_stats") or {}
    if st.get("open", 1) != 0:
        out.append(f"the SUT still holds {st.get('open')} connection(s) open")
    if (res.get("sut_sockets") or {}).get("ESTAB", 0):
        out.append(f"established TCP sockets left in the SUT: {res['sut_sockets']}")
    return out


# ==== command ===========================================================================

def pick_checks(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown check '{unknown[0]}' (valid: {', '.join(CHECK_NAMES)})")
    return names or list(CHECK_NAMES)


def main(argv: list[str]) -> int:
    if argv[:1] == ["wire"]:
        return wire_main(argv[1:])
    ap = argparse.ArgumentParser(prog="packets.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--packets", action="store_true",
                      help="run the packet-level checks and write --json")
    mode.add_argument("--fuzz", action="store_true", help="the fuzz run, then echo_rr")
    mode.add_argument("--list", action="store_true", help="list the checks")
    ap.add_argument("checks", nargs="*", metavar="CHECK")
    ap.add_argument("--backend", action="append", default=[],
                    help="--packets: backend compared with the kernel (repeatable); "
                         "--fuzz: the SUT (default kernel)")
    ap.add_argument("--json", metavar="OUT", help="default results/packets.json (--packets)")
    ap.add_argument("--count", type=int, default=10000, help="fuzz frames (default 10000)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        if args.list:
            for c in CHECKS:
                print(f"{c.name}\t{c.description}")
            return 0
        names = pick_checks(args.checks)
        for b in args.backend:
            if b not in SUTS:
                raise UsageError(f"no packet-level SUT for backend '{b}' "
                                 f"(available: {', '.join(SUTS)})")
        if os.geteuid() != 0:
            raise UsageError("needs root (it creates network namespaces)")
        if args.fuzz:
            return fuzz_command(args)
        return packets_command(args, names)
    except UsageError as e:
        print(f"packets.py: {e}", file=sys.stderr)
        return 2


def packets_command(args: argparse.Namespace, names: list[str]) -> int:
    records = packet_records(names, args.backend, args.seed)
    path = Path(args.json or ROOT / "results" / "packets.json")
    path.write_text(json.dumps({"schema": "tcplab.packets/1", "cases": records}, indent=1)
                    + "\n")
    counts: dict[str, int] = {}
    for r in records:
        for o in r["others"] or [{"verdict": r["verdict"]}]:
            counts[o["verdict"]] = counts.get(o["verdict"], 0) + 1
    print(f"{len(records)} packet checks: " +
          ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    print(f"wrote {path}")
    bad = [r["name"] for r in records if r["verdict"] != "match"
           or any(o["verdict"] == "divergence" for o in r["others"])]
    if bad:
        print(f"unexpected: {', '.join(bad)}")
    return 1 if bad else 0


def fuzz_command(args: argparse.Namespace) -> int:
    backend = (args.backend or ["kernel"])[0]
    with tempfile.TemporaryDirectory(prefix="tcplab-fuzz-") as tmp:
        res = fuzz_run(backend, args.count, args.seed, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(f"fuzz: {res.get('frames', 0)} frames (seed {args.seed}) at the {backend} SUT in "
          f"{res.get('seconds')} s: {res['outcome']}; echo_rr after: "
          f"{'passed' if res['echo_rr']['passed'] else 'FAILED'} "
          f"({res['echo_rr']['transactions']} transactions); SUT stats: {res['sut_stats']}")
    for p in res["problems"]:
        print(f"  problem: {p}")
    return 0 if res["outcome"] == "pass" else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: namespaces removed
    sys.exit(main(sys.argv[1:]))
