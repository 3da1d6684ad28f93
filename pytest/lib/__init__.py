"""Helpers of the tcplab pytest suite: one module per job (proc, tcplab, percentile, schema)."""
