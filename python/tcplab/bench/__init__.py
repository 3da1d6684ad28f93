"""bench - the benchmarks (bio, overhead, stack) and suites (quick, full) of `tcplab bench`;
__main__.py dispatches by name, common.py holds what they share."""
