"""The HTML report: one self-contained page about a run or a sweep folder.

- :mod:`~simulator.report.page` — :func:`write_report`, the page's sections;
- :mod:`~simulator.report.html` — escaping and HTML building blocks;
- :mod:`~simulator.report.inputs` — the scenario, policies and assumptions in words;
- :mod:`~simulator.report.tables` — result tables with intervals.
"""
