"""tcplab - the project's Python: the commands `./tcplab conform`, `./tcplab packets`,
`./tcplab kill` and `./tcplab bench` (run as `python3 -m tcplab.X` with PYTHONPATH naming
python/), and what the pytest suite imports. One job a module:

    proc        processes: the one tcplab_bin(), managed processes, JSON-line processes
    binary      the tcplab binary for tests: its commands, its listing, a served program
    topology    backends and topologies as `tcplab list --json` prints them; the pick rule
    stacks      the DPDK stacks built, and the one table of the stacks expected and why
    namespaces  network namespaces and links made from one topology entry
    verdicts    traces compared with the kernel's: first difference, verdict, summary
    cases       socket-level conformance cases: both sides of one case, signals relayed
    conform     the `tcplab conform` command and its parity table
    wire        scapy's end of the link: frames, one TCP connection, a check's trace
    checks      the packet-level checks
    fuzz        the fuzz run's frames, and the run
    peer        the wire process (inside the engine's namespace): serves checks and fuzz
    lab         a packet lab: namespaces, the SUT serving echo, the wire process
    packets     the `tcplab packets` command: packet checks as parity records, fuzz run
    leftovers   what a run left behind: DPDK files, memif sockets, namespaces, processes
    kill        the `tcplab kill` command: either side of runs killed at seeded points
    percentile  tcplab's percentile definition, exactly; median
    soak        the `tcplab soak` command: long-lived SUTs, samples, the flatness rule
    schema      the result schema and validation against it
    bench/      the benchmarks and suites of `tcplab bench`
"""


class UsageError(Exception):
    """Bad input or a missing privilege: one line, exit 2."""
