"""Judge metrics with bootstrap intervals, downstream best-of-N, tables and figures."""
