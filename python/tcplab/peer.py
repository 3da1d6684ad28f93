"""peer.py - the wire process: `python3 -m tcplab.peer --iface DEV ...`, started by a packet lab
(lab.py) inside the engine's namespace. Without --iface it loads scapy first and then reads
the rest of its setup as one stdin line, {"setup": {"iface", "sut_mac", "seed", "peer_addr",
"sut_addr", "prefix_len", "sut_port"}}: the lab starts it that way beside the SUT, so that
loading scapy (a third of a second) overlaps the SUT's start, whose netdev (a DPDK SUT's
tap) the wire then takes. It prints {"event": "ready", "mac": ...}, then
answers one JSON request per stdin line with one JSON line: {"check": NAME} runs a check
(checks.py), {"fuzz": {"count": N, "seed": S}} a fuzz run (fuzz.py), {"flood": {"kind",
"count", "seed"}} sends a flood and {"flood_end": {the same}} resets what it opened
(flood.py), {"pkt": {"path": ...}}
plays a .pkt script (pktplay.py: its calls go to the SUT as control commands `call N ...`
and `result N ...`, which `tcplab pkt` answers). End of stdin ends it.
A check that needs the SUT to act (set a socket option on its connections, open one to
us) prints {"sut": COMMAND} first and reads the SUT's reply on stdin; the lab relays.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any

from .checks import run_check
from .flood import flood_wire
from .fuzz import fuzz
from .pktplay import play
from .wire import Wire, scapy


def serve_request(w: Wire, req: dict[str, Any]) -> dict[str, Any]:
    """One request's answer; a failure (even a bug here) is an answer, not a dead wire."""
    try:
        if "check" in req:
            return run_check(w, req["check"])
        if "fuzz" in req:
            return {"fuzz": fuzz(w, int(req["fuzz"]["count"]), int(req["fuzz"]["seed"]))}
        if "flood" in req or "flood_end" in req:
            return flood_wire(w, req)
        if "pkt" in req and w.sut_control is not None:
            return {"pkt": play(w, req["pkt"], w.sut_control)}
        return {"error": f"unknown request {req}"}
    except Exception as e:	# noqa: BLE001 (reported to the orchestrator, with its trace)
        tb = traceback.format_exc(limit=4)
        if "check" in req:
            return {"check": req["check"], "trace": [], "error": f"{e!r}: {tb}"}
        if "pkt" in req:
            return {"pkt": {"verdict": "error", "message": f"{e!r}: {tb}"}}
        if "flood" in req or "flood_end" in req:
            return {k: {"frames": 0, "error": f"{e!r}: {tb}"} for k in req}
        return {"fuzz": {"frames": 0, "error": f"{e!r}: {tb}"}}


def sut_control(command: str) -> dict[str, Any]:
    """A control command for the SUT, through the lab: {"sut": COMMAND} out, the SUT's JSON
    reply back on stdin (lab.py relays it)."""
    print(json.dumps({"sut": command}), flush=True)
    line = sys.stdin.readline()
    if not line:
        return {"ret": -1, "error": "stdin closed"}
    return json.loads(line)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tcplab.peer")
    ap.add_argument("--iface", help="the netdev (none: the setup comes on stdin)")
    ap.add_argument("--sut-mac", help='the SUT\'s MAC, or "arp" to learn it')
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peer-addr", help="scapy's address (no kernel owns it)")
    ap.add_argument("--sut-addr")
    ap.add_argument("--prefix-len", type=int)
    ap.add_argument("--sut-port", type=int, help="the SUT's echo server")
    args = vars(ap.parse_args(argv))
    if args["iface"] is None:
        scapy()		# loaded while the lab starts the SUT
        line = sys.stdin.readline()
        if not line:
            return 0	# the lab gave up before the SUT was ready
        args.update(json.loads(line)["setup"])
    missing = [k for k in ("sut_mac", "peer_addr", "sut_addr", "prefix_len", "sut_port")
               if args[k] is None]
    if missing:
        ap.error(f"no {missing[0]} given")
    w = Wire(args["iface"], args["sut_mac"].lower(), args["seed"], args["peer_addr"],
             args["sut_addr"], args["prefix_len"], args["sut_port"], sut_control)
    print(json.dumps({"event": "ready", "mac": w.mac}), flush=True)
    for line in sys.stdin:
        print(json.dumps(serve_request(w, json.loads(line))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
