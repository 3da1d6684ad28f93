"""namespaces.py - network namespaces a run creates and always removes, and the link between
them, made from one topology entry of the table (topology.py): the one place that adds and
deletes namespaces for `tcplab conform` and the packet lab (removing a namespace removes the
veth ends and taps inside it).

    per-side  two namespaces (engine, SUT) joined by the entry's veth pair; a sockets side
              gets its role's address on its end, a DPDK side takes its end itself
              (af_packet). Offloads are off on both ends whatever the sides: a DPDK side
              needs frames at most MTU long with their checksums done, and a packet check
              at the wire must see the segments a wire would carry, not one GSO packet
              holding several (checks.py measures segment sizes)
    shared    one namespace for both sides; a tap link is made by the DPDK side, which gives
              its kernel end the other role's address (its settings say so)
"""
from __future__ import annotations

import json
import subprocess

from .topology import SOCKETS, Topology

# the veth ends' kernel offloads, turned off (a DPDK side cannot take them; harness/topology.c)
OFFLOADS = ("tx", "tso", "gso", "gro")
ROLE_LETTER = {"engine": "e", "sut": "s"}
SHARED_LETTER = "b"	# both sides


def ip(*args: str, ns: str | None = None) -> str:
    """`ip [-n NS] ARGS`; its stdout, or RuntimeError with its message."""
    argv = ["ip", *(("-n", ns) if ns else ()), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def ns_run(ns: str, *argv: str) -> None:
    """@argv inside namespace @ns; RuntimeError with its message when it fails."""
    done = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} in {ns}: {done.stderr.strip()}")


def ns_sysctl(ns: str, key: str, value: str) -> None:
    ns_run(ns, "sysctl", "-qw", f"{key}={value}")


def link_mac(ns: str, ifname: str) -> str:
    return json.loads(ip("-j", "link", "show", "dev", ifname, ns=ns))[0]["address"]


def iface_with(ns: str, addr: str) -> str:
    """The netdev of namespace @ns that holds address @addr (a tap's kernel end, say)."""
    for link in json.loads(ip("-j", "addr", "show", ns=ns)):
        if any(a.get("local") == addr for a in link.get("addr_info", [])):
            return link["ifname"]
    raise RuntimeError(f"no interface in {ns} holds {addr}")


def listed(prefix: str) -> set[str]:
    """The network namespaces whose names start with @prefix (tcplab run's: tcplab-r)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith(prefix)}


def made_by(prefix: str, pid: int) -> list[str]:
    """The namespaces with @prefix that process @pid made (their tag, after the prefix and a
    side letter, starts with its PID), sorted."""
    return sorted(n for n in listed(prefix) if n[len(prefix) + 1:].startswith(str(pid)))


class Namespaces:
    """Create NAMES (loopback up), remove them on exit in reverse order, also when setting
    them up fails half way. Subclasses configure more in setup()."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.created: list[str] = []

    def setup(self) -> None:
        """What comes after the namespaces exist: veth pairs, addresses, sysctls."""

    def __enter__(self):
        try:
            for ns in self.names:
                ip("netns", "add", ns)
                self.created.append(ns)
                ip("link", "set", "lo", "up", ns=ns)
            self.setup()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=30)
        self.created.clear()


class TopologyNamespaces(Namespaces):
    """The namespaces and link of topology @topo for an engine and a SUT of the given attach
    kinds (@kinds: role -> "sockets" | "dpdk"), named PREFIX + a letter + TAG (e engine,
    s SUT, b both). @quiet: IPv6 off (no router solicitations or DAD frames on the wire
    under test) and no forwarding (a kernel there drops, never routes, what is sent to an
    address it does not own: scapy's)."""

    def __init__(self, topo: Topology, kinds: dict[str, str], prefix: str, tag: str,
                 quiet: bool = False) -> None:
        if topo.namespaces == "shared":
            self.ns = {role: f"{prefix}{SHARED_LETTER}{tag}" for role in ROLE_LETTER}
        elif topo.namespaces == "per-side":
            self.ns = {role: f"{prefix}{letter}{tag}" for role, letter in ROLE_LETTER.items()}
        else:
            raise ValueError(f"topology {topo.name} makes no namespaces")
        self.topo = topo
        self.kinds = kinds
        self.quiet = quiet
        super().__init__(*dict.fromkeys(self.ns.values()))

    def setup(self) -> None:
        if self.quiet:
            for ns in self.created:
                ns_sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
                ns_sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
                ns_sysctl(ns, "net.ipv4.conf.all.forwarding", "0")
        link = self.topo.link
        if link is not None and link.kind == "veth":
            self.veth()

    def veth(self) -> None:
        link, addrs = self.topo.link, self.topo.addresses
        assert link is not None and addrs is not None
        ip("link", "add", str(link.engine_if), "netns", self.ns["engine"], "type", "veth",
           "peer", "name", str(link.sut_if), "netns", self.ns["sut"])
        for role in ROLE_LETTER:
            dev, ns = str(link.iface(role)), self.ns[role]
            if self.kinds[role] == SOCKETS:
                ip("addr", "add", f"{addrs.of(role)}/{addrs.prefix_len}", "dev", dev, ns=ns)
            ns_run(ns, "ethtool", "-K", dev, *(a for o in OFFLOADS for a in (o, "off")))
            ip("link", "set", dev, "up", ns=ns)

    def peer_netdev(self, mac: str) -> str:
        """The engine side's netdev, for a peer at the wire (scapy) once the SUT is up: the
        one that holds the engine's address. A tap's kernel end carries the DPDK port's own
        MAC, so there it first gets @mac, for the peer to be told apart from the SUT."""
        assert self.topo.addresses is not None and self.topo.link is not None
        dev = iface_with(self.ns["engine"], self.topo.addresses.engine)
        if self.topo.link.kind == "tap":
            ip("link", "set", dev, "address", mac, ns=self.ns["engine"])
        return dev

    def sockets(self, role: str) -> dict[str, int]:
        """The kernel's TCP sockets in @role's namespace, counted by state (ss)."""
        done = subprocess.run(["ip", "netns", "exec", self.ns[role], "ss", "-Htan"],
                              capture_output=True, text=True, timeout=30)
        states: dict[str, int] = {}
        for line in done.stdout.splitlines():
            if line.split():
                states[line.split()[0]] = states.get(line.split()[0], 0) + 1
        return states
