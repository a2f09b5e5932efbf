"""Analysis: from decision logs to numbers a person can compare.

- :mod:`~simulator.analysis.metrics` — decision log → tidy metric tables;
- :mod:`~simulator.analysis.stats` — confidence intervals over replications;
- :mod:`~simulator.analysis.sweep` — variants × replications on common random numbers;
- :mod:`~simulator.analysis.sweep_tables` — intervals, paired differences, precision;
- :mod:`~simulator.analysis.diff` — which launches flip between two policy choices.

No matplotlib, no argparse, no files (folders are :mod:`simulator.folders`' business).
"""
