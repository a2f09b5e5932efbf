"""What the ``condlaunch`` commands share: loading a scenario, and text tables.

:func:`scenario_from_args` is the one way a command turns ``SCENARIO [--policy FILE …]
[--seed N]`` into a :class:`~simulator.scenario.load.Scenario`. :func:`format_table` lays
out every terminal table (a header, a rule, aligned rows, split into column blocks when a
width is given); :func:`metric_headers` names metric columns with the catalogue's labels
and units (:mod:`simulator.analysis.catalogue`), so a metric reads the same in the
terminal, the figures and the report; :func:`cell` writes one number.
:func:`compile_engine_first` says on stderr when a first run compiles the engine.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import Final

from simulator._text import display_name
from simulator.analysis.catalogue import header_lines
from simulator.errors import InputError
from simulator.policy.decide import Policy
from simulator.policy.files import load_policy_files
from simulator.scenario.load import Scenario, load_scenario

__all__ = [
    "app_hint",
    "cell",
    "compile_engine_first",
    "format_table",
    "metric_headers",
    "scenario_from_args",
]

HEADER_WIDTH: Final = 16
"""Metric labels wrap onto several header lines at this many characters."""
_KEEP: Final = "\u00a0"
"""Joins words a header never splits (``≥ medium``); a space again once wrapped."""


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario a command was given: ``args.scenario``, its policies replaced by
    ``args.policies`` (``--policy`` files) if any, its seed by ``args.seed`` if set.

    Raises
    ------
    InputError
        For an invalid scenario or policy file, or a negative ``--seed``.
    """
    scenario = load_scenario(args.scenario, require_policies=not args.policies)
    if args.policies:
        scenario = scenario.with_policies(load_policy_files(args.policies))
    seed = getattr(args, "seed", None)
    if seed is not None:
        if seed < 0:
            raise InputError("must be >= 0", field="--seed")
        scenario = scenario.with_changes(seed=seed)
    return scenario


def compile_engine_first(engine: str, *, metrics: bool = False) -> None:
    """For the compiled engine, compile its Numba functions now if they are not cached,
    saying so on stderr (a fresh install's first run is otherwise silent for 15-20 s);
    ``metrics``: the command reduces chunks with the compiled metrics too (a sweep, a
    replay, a streamed run)."""
    if engine != "compiled":
        return
    from simulator.analysis import metrics as _registers_the_compiled_metrics  # noqa: F401
    from simulator.sim.jit import ensure_compiled

    spent = ensure_compiled(
        notify=lambda line: print(f"condlaunch: {line}...", file=sys.stderr, flush=True),
        also=("metrics",) if metrics else (),
    )
    if spent is not None:
        print(f"condlaunch: engine compiled in {spent:.1f} s", file=sys.stderr, flush=True)


def app_hint(apps: Iterable[str], policies: Sequence[Policy]) -> list[str]:
    """Warnings for apps no policy names (each with the closest app a policy does name):
    a typo'd app is otherwise silently "not targeted". Empty when a policy targets every
    app (``*``) or every app is named."""
    named = sorted({a for p in policies for a in p.apps})
    if "*" in named:
        return []
    warnings = []
    for app in dict.fromkeys(apps):
        if app in named:
            continue
        close = difflib.get_close_matches(app, named, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(named) if named else "none"
        warnings.append(
            f"warning: no policy names the app {app!r}{hint} (apps the policies name: "
            f"{listing}); it is decided as not targeted"
        )
    return warnings


def cell(value: object) -> str:
    """A number for a terminal table: whole numbers with thousands separators, others to
    one decimal; ``–`` when missing (None or NaN); text as it is."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return display_name(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    if number == int(number) and abs(number) < 1e12:
        return f"{int(number):,}"
    return f"{number:,.1f}"


def metric_headers(metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    """Column headers of metrics: each label wrapped to :data:`HEADER_WIDTH` (lines joined
    by newlines), and each ``(unit)`` (empty when the label names it)."""
    labels, units = [], []
    for name in metrics:
        label, unit = header_lines(name)
        kept = label.replace("≥ ", f"≥{_KEEP}")
        lines = textwrap.wrap(kept, HEADER_WIDTH, break_long_words=False)
        labels.append("\n".join(line.replace(_KEEP, " ") for line in lines))
        units.append(unit)
    return labels, units


TABLE_WIDTH: Final = 100
"""Width of terminal tables when the output is not a terminal (piped, in files, in tests)."""


def terminal_width() -> int:
    """Width the tables and sentences fit: the terminal's on a terminal,
    :data:`TABLE_WIDTH` when piped (so files and tests see the same text)."""
    import shutil
    import sys

    if sys.stdout.isatty():
        return max(60, shutil.get_terminal_size((TABLE_WIDTH, 24)).columns)
    return TABLE_WIDTH


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    units: Sequence[str] | None = None,
    text_columns: int = 1,
    width: int | None = None,
) -> list[str]:
    """Rows as aligned text lines: the header (a cell may span lines, split at newlines;
    then the ``units`` line, if given), a rule, then one line per row.

    Parameters
    ----------
    header
        One title per column.
    rows
        The cells; each goes through :func:`cell` (numbers formatted, text kept).
    units
        A second header line, one entry per column ('' for none).
    text_columns
        The first columns are text, left-aligned; the others right-aligned.
    width
        If given, the columns after the text columns are split into blocks of at most
        this many characters, each repeating the text columns, separated by a blank line.

    Returns
    -------
    list[str]
        The lines, without trailing spaces.
    """
    cells = [[cell(c) for c in row] for row in rows]
    titles = [str(h).split("\n") for h in header]
    below = [str(u) for u in units] if units is not None else [""] * len(titles)
    widths = [
        max(len(line) for line in [*titles[i], below[i], *(r[i] for r in cells)])
        for i in range(len(titles))
    ]
    lines: list[str] = []
    for block in _blocks(widths, text_columns, width):
        if lines:
            lines.append("")
        columns = [*range(min(text_columns, len(widths))), *block]
        depth = max(len(titles[i]) for i in columns)
        head = [[t[k] if k < len(t) else "" for t in titles] for k in range(depth)]
        if any(below[i] for i in columns):
            head.append(below)

        def line(row: Sequence[str], columns: Sequence[int] = columns) -> str:
            return "  ".join(
                row[i].ljust(widths[i]) if i < text_columns else row[i].rjust(widths[i])
                for i in columns
            ).rstrip()

        lines += [line(r) for r in head]
        lines.append("  ".join("-" * widths[i] for i in columns))
        lines += [line(r) for r in cells]
    return lines


def _blocks(widths: Sequence[int], text_columns: int, width: int | None) -> list[list[int]]:
    """The non-text columns in blocks whose lines (text columns included) fit ``width``."""
    first = min(text_columns, len(widths))
    rest = list(range(first, len(widths)))
    if width is None or not rest:
        return [rest]
    fixed = sum(widths[:first]) + 2 * max(first - 1, 0)
    blocks: list[list[int]] = [[]]
    used = fixed
    for i in rest:
        if blocks[-1] and used + 2 + widths[i] > width:
            blocks.append([])
            used = fixed
        blocks[-1].append(i)
        used += 2 + widths[i]
    return blocks
