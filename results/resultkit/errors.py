"""errors.py - the one exception for bad input (missing directory, mismatched schema,
results from different host kinds, ...). Its message is one line that names the problem;
the command line prints it and exits 2."""
from __future__ import annotations


class BadInput(Exception):
    """Input the tools refuse; str(e) is the one-line message."""
