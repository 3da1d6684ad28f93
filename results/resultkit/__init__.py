"""resultkit - tcplab's results across commits: load result sets, compare them with a
noise-aware verdict, render tables, draw the report, keep baselines.

One module per job: errors (the bad-input exception), resultset (load a directory of
tcplab.result/1 files), places (resolve BASE/NEW to a directory), stats (medians and the
Mann-Whitney U test), metrics (what is compared and how), compare (rows and verdicts),
render (terminal, Markdown, JSON), plotdata (the series a plot shows), lossplot (goodput
against loss rate, the Linux baseline as the reference), draw (matplotlib), html (the
report page), report (all of it for `tcplab report`), baseline (the store), inputs (the
result files a format command reads), junit (checks and verdicts as JUnit XML), csvout
(results as CSV).
"""
