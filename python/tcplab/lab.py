"""lab.py - a packet lab: the namespaces and link of the topology picked for the backend (a
Linux engine side, the backend as SUT: topology.peer_topology), the SUT serving echo in its
namespace, and the wire process (peer.py: scapy) in the engine's, at the table's spare
address. The kernel there owns the engine's address, for `tcplab run echo_rr --peer` after a
fuzz run. Everything is torn down in reverse on exit, on every path.

Flow: PacketLab (root namespace) -> TopologyNamespaces -> `tcplab serve echo` in the SUT's
namespace (a DPDK SUT with the table's settings for the SUT role; its JSON ready line) ->
`ip netns exec ENGINE_NS python3 -m tcplab.peer ...` on the engine side's netdev: one JSON
request per line on stdin ({"check": NAME} or {"fuzz": {...}}), one JSON answer per line;
a check's requests for the SUT ({"sut": COMMAND}: `tcplab serve`'s control channel) are
relayed to the SUT's stdin and its reply back.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import UsageError
from .namespaces import TopologyNamespaces, iface_with, link_mac
from .proc import LineProc, module_argv, module_env, tcplab_bin
from .topology import LINUX, SOCKETS, Table
from .wire import REPLY_S

SUT_PORT = 7007
PEER_MAC = "02:99:01:00:00:fe"	# scapy's, where the link's netdev has none of its own
PREFIX = "tcplab-p"		# the lab's namespaces: PREFIX + e|s|b + tag
READY_S = 15.0			# a started process prints its ready line within this
REQUEST_S = 120.0		# one wire request (a check, a fuzz run) ends within this


class PacketLab:
    """Topology + the SUT (backend) + the wire process, torn down in reverse on exit."""

    def __init__(self, backend: str, binary: str | None = None, log_dir: Path | None = None,
                 seed: int = 1, tag: str | None = None, table: Table | None = None) -> None:
        self.binary = binary or str(tcplab_bin())
        self.table = table or Table.load(Path(self.binary), [backend])
        self.attach = self.table.backend(backend).attach
        self.topo = self.table.peer_topology(self.attach)
        if self.topo.addresses is None or self.topo.addresses.spare is None:
            raise UsageError(f"topology {self.topo.name} has no spare address for scapy")
        self.addrs = self.topo.addresses
        self.backend = backend
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
            self.ns = self.stack.enter_context(TopologyNamespaces(
                self.topo, {"engine": SOCKETS, "sut": self.attach}, PREFIX, self.tag,
                quiet=True))
            # the wire first, loading scapy while the SUT starts; its setup once the SUT's
            # netdev exists (a DPDK SUT makes its tap)
            self.wire = self.start("wire", self.ns.ns["engine"], module_argv("peer"),
                                   module_env())
            self.sut = self.start(f"sut-{self.backend}", self.ns.ns["sut"], self.sut_argv())
            self.ready = self.sut.read(READY_S)
            if self.ready.get("event") != "ready":
                raise RuntimeError(f"SUT's first line is not its ready event: {self.ready}")
            self.sut_mac = self.find_sut_mac()
            self.wire.send(json.dumps({"setup": {
                "iface": self.ns.peer_netdev(PEER_MAC), "sut_mac": self.sut_mac,
                "seed": self.seed, "peer_addr": str(self.addrs.spare),
                "sut_addr": self.addrs.sut, "prefix_len": self.addrs.prefix_len,
                "sut_port": SUT_PORT}}))
            self.wire.read(READY_S)
        except BaseException:
            self.stack.close()
            raise
        return self

    def sut_argv(self) -> list[str]:
        """`tcplab serve echo` on the SUT's address; a DPDK SUT gets the table's settings."""
        opts = self.topo.stack_opts("sut", self.attach)
        return [self.binary, "serve", "echo", "--listen", f"{self.addrs.sut}:{SUT_PORT}",
                "--backend", self.backend, *(a for o in opts for a in ("--stack-opt", o))]

    def find_sut_mac(self) -> str:
        """A kernel SUT's MAC is its netdev's; a DPDK SUT's scapy learns by ARP ("arp")."""
        if self.attach != SOCKETS:
            return "arp"
        sut_ns = self.ns.ns["sut"]
        return link_mac(sut_ns, iface_with(sut_ns, self.addrs.sut))

    def start(self, name: str, ns: str, argv: list[str],
              env: dict[str, str] | None = None) -> LineProc:
        assert self.log_dir is not None
        proc = LineProc(name, ["ip", "netns", "exec", ns, *argv], self.log_dir, env)
        self.stack.callback(proc.stop)
        return proc

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def check(self, name: str) -> dict[str, Any]:
        """One check's answer: {"check", "trace", "error"}. On the way, the wire may ask for
        SUT control commands ({"sut": COMMAND}): each goes to the SUT's stdin, its reply
        back to the wire."""
        self.wire.send(json.dumps({"check": name}))
        while "sut" in (line := self.wire.read(REQUEST_S)):
            self.sut.send(line["sut"])
            self.wire.send(json.dumps(self.sut.read(REPLY_S + 5)))
        return line

    def fuzz(self, count: int, seed: int) -> dict[str, Any]:
        return self.wire.request({"fuzz": {"count": count, "seed": seed}}, REQUEST_S)["fuzz"]

    def stats(self) -> dict[str, Any]:
        """The SUT's stats line (it comes once its connections have closed, or after 3 s)."""
        self.sut.send("stats")
        return self.sut.read(REPLY_S + 5)

    def sut_sockets(self) -> dict[str, int] | None:
        """A kernel SUT's TCP sockets by state; None where the kernel cannot see them."""
        return self.ns.sockets("sut") if self.attach == SOCKETS else None

    def echo_rr(self, duration: str, out: Path) -> tuple[int, dict[str, Any] | None, str]:
        """`tcplab run echo_rr --peer SUT` from the engine namespace's kernel."""
        argv = ["ip", "netns", "exec", self.ns.ns["engine"], self.binary, "run", "echo_rr",
                "--peer", f"{self.addrs.sut}:{SUT_PORT}", "--duration", duration, "--backend",
                LINUX, "--out", str(out), "--quiet"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        path = out / "echo_rr.json"
        result = json.loads(path.read_text()) if path.is_file() else None
        return done.returncode, result, done.stderr.strip()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} stderr\n{p.stderr_tail()}"
                         for p in (getattr(self, "sut", None), getattr(self, "wire", None))
                         if p is not None)
