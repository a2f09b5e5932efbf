"""The report's tables: headline metrics per variant (± CI), by management set-up, and the
paired differences against a sweep's baseline.

Cells are built with :mod:`simulator.report.html` (escaped text); headers, units and the
glossary come from the metric catalogue (:mod:`simulator.analysis.catalogue`). For sweeps
a value reads ``mean ± half-width`` — both to the decimals that show the half-width to two
significant digits — with the interval as a tooltip; a paired difference reads
``+diff [low, high]``, green when distinguishable and better than the baseline (by the
metric's direction), red when distinguishable and worse, grey otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd

from simulator.analysis.catalogue import Direction, header_lines, label_with_unit, metric
from simulator.policy.levels import Management
from simulator.report.html import (
    Cell,
    Html,
    definition_list,
    escape,
    join,
    number,
    percent,
    swatch,
    table,
    tag,
)

EXPOSURE_METRICS: Final = (
    "exposed_minutes_medium",
    "exposed_minutes_high",
    "exposed_launches_medium",
    "time_to_protect_median_min",
    "time_to_protect_p95_min",
    "never_enforced_medium",
)
"""The exposure and protection columns of the report's tables."""
FRICTION_METRICS: Final = (
    "unneeded_denials",
    "blocked_user_minutes_threat",
    "wipes",
    "onboarding_blocks",
    "blocked_user_minutes",
)
"""The friction columns: what users pay."""
HEADLINE: Final = (*EXPOSURE_METRICS, *FRICTION_METRICS)
"""Every column of the report's tables."""
GROUPS: Final = (
    ("Exposure and protection", EXPOSURE_METRICS),
    ("Friction", FRICTION_METRICS),
)
MANAGEMENT_METRICS: Final = (
    "exposed_minutes_medium",
    "never_enforced_medium",
    "unneeded_denials",
    "blocked_user_minutes_threat",
    "onboarding_blocks",
)
"""The columns of the table by management set-up."""


def segment_rows(frame: pd.DataFrame, by: str, name: str | None = None) -> pd.DataFrame:
    """Rows of one ``segment_by`` (and one ``segment``, if given) of a wide metrics table."""
    rows = frame[frame["segment_by"] == by]
    return rows if name is None else rows[rows["segment"] == name]


def value_cell(row: Mapping[Any, Any], metric: str, note: str) -> Cell:
    """A metric's value; for sweeps ``mean ± half-width`` with the interval as tooltip."""
    value = row.get(metric, float("nan"))
    low, high = row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if low is None or high is None or pd.isna(value):
        return Cell(number(value))
    if pd.isna(low) or pd.isna(high):  # defined in fewer than two replications
        return Cell(f"{number(value)} ± ?", title=f"no {note}: too few replications with a value")
    half = row.get(f"{metric}_half_width")
    half = (float(high) - float(low)) / 2 if half is None or pd.isna(half) else float(half)
    digits = _digits(half)
    return Cell(
        f"{number(value, digits=digits)} ± {number(half, digits=digits)}",
        title=f"{note} [{number(low, digits=digits)}, {number(high, digits=digits)}]",
    )


def _digits(half_width: float) -> int:
    """Decimals that show a half-width to two significant digits (0–2 decimals)."""
    if not half_width > 0 or math.isinf(half_width):
        return 0
    return int(min(2, max(0, 1 - math.floor(math.log10(half_width)))))


def variant_name(variant: str, colors: Mapping[str, str], badges: Mapping[str, Html]) -> Html:
    """A variant's name (escaped) after its figure colour, then its badges."""
    return Html(swatch(colors.get(variant, "")) + escape(variant) + badges.get(variant, ""))


def results_table(
    rows: pd.DataFrame,
    metrics: Sequence[str],
    colors: Mapping[str, str],
    badges: Mapping[str, Html],
    note: str,
    *,
    with_segment: bool = False,
    headers: Mapping[str, Html] | None = None,
) -> Html:
    """A table of metrics, one row per variant (per management set-up with
    ``with_segment``).

    Parameters
    ----------
    rows
        Wide metrics rows (means, with ``_ci_low`` / ``_ci_high`` columns for sweeps).
    metrics
        The metric columns (headers and units from the catalogue).
    colors, badges
        Variant → figure colour, and → badges shown after its name.
    note
        What the interval is, for tooltips (``"95% confidence interval"``).
    with_segment
        Start with a management column; a line separates set-ups.
    headers
        Metric → header markup, instead of the catalogue's label and unit (for rates).
    """
    header: list[object] = ["management"] if with_segment else []
    named = headers or {}
    header += ["variant", *(named.get(m) or _header(m) for m in metrics)]
    body: list[list[Cell]] = []
    previous = None
    for row in rows.to_dict("records"):
        cells: list[Cell] = []
        starts_group = False
        if with_segment:
            starts_group = row["segment"] != previous and bool(body)
            cells.append(Cell(row["segment"] if row["segment"] != previous else ""))
            previous = row["segment"]
        cells.append(Cell(variant_name(str(row["variant"]), colors, badges)))
        cells += [value_cell(row, metric, note) for metric in metrics]
        if starts_group:  # a line between management set-ups
            cells = [c._replace(cls=f"{c.cls} group".strip()) for c in cells]
        body.append(cells)
    numeric_from = 2 if with_segment else 1
    return tag("div", table(header, body, numeric_from=numeric_from, cls="results"), cls="wide")


def _header(name: str) -> Html:
    """A column header: the metric's label, then its unit on a line of its own."""
    label, unit = header_lines(name)
    return Html(escape(label) + ("<br>" + tag("span", unit, cls="unit") if unit else ""))


def _signed(value: Any, digits: int) -> str:
    """A difference with its sign (``+12.5``, ``−3``; ``0`` unsigned)."""
    text = number(value, digits=digits)
    zero = text.strip("0.,") == ""
    return f"+{text}" if not zero and text != "–" and not text.startswith("−") else text


def paired_section(
    kind: str,
    paired: pd.DataFrame | None,
    manifest: Mapping[str, Any],
    colors: Mapping[str, str],
    badges: Mapping[str, Html],
) -> Html:
    """Each variant minus the baseline (sweeps), coloured where distinguishable; for a
    run, a note that one replication has no intervals."""
    if kind != "sweep":
        return tag(
            "p",
            "One replication: no confidence intervals and no paired differences. Run "
            "condlaunch sweep (several replications of the same variants on common random "
            "numbers) to see which differences are distinguishable from simulation noise.",
            cls="note",
        )
    if paired is None or paired.empty:
        return tag("p", "This sweep folder has no paired.csv.", cls="note")
    baseline = str(manifest.get("baseline", paired["baseline"].iloc[0]))
    rows = paired[(paired["segment_by"] == "all") & (paired["segment"] == "all")]
    level = confidence_text(manifest)
    parts = [
        tag(
            "p",
            f"Each variant minus the baseline “{baseline}”, replication by replication "
            f"(same simulated world), mean difference and {level} interval. Green: "
            "distinguishable and better than the baseline (lower, for a metric where lower "
            "is better); red: distinguishable and worse; grey: the interval includes 0, so "
            "these replications cannot tell the two apart; [?]: too few replications with "
            "a value for an interval.",
        )
    ]
    present = set(rows["metric"])
    for title, group in GROUPS:
        metrics = [m for m in group if m in present]
        header = ["variant", *(_header(m) for m in metrics)]
        body = []
        for variant in ordered(rows["variant"]):
            of = rows[rows["variant"] == variant].set_index("metric")
            cells: list[object] = [variant_name(variant, colors, badges)]
            for name in metrics:
                found = of[of.index == name]
                cells.append(_paired_cell(found.iloc[0], name) if len(found) else Cell("–"))
            body.append(cells)
        parts += [tag("h4", title), tag("div", table(header, body, cls="results"), cls="wide")]
    return join(parts)


def _paired_cell(row: pd.Series, name: str) -> Cell:
    """``+diff [low, high]`` coloured by the metric's direction when distinguishable; the
    unpaired half-width as tooltip."""
    diff, low, high = row["mean_diff"], row["ci_low"], row["ci_high"]
    if pd.isna(diff):
        return Cell("–")
    if pd.isna(low) or pd.isna(high):  # fewer than two replications have both values
        return Cell(
            f"{_signed(diff, 1)} [?]", cls="same", title="no interval: too few paired replications"
        )
    digits = _digits((float(high) - float(low)) / 2)
    text = f"{_signed(diff, digits)} [{_signed(low, digits)}, {_signed(high, digits)}]"
    distinguishable = str(row["distinguishable"]).strip().lower() in ("true", "1")
    cls = "same" if not distinguishable else _judgement(name, float(diff))
    title = ""
    if "unpaired_half_width" in row.index and not pd.isna(row["unpaired_half_width"]):
        half = (float(high) - float(low)) / 2
        title = (
            f"paired ± {number(half)}; unpaired it would be ± {number(row['unpaired_half_width'])}"
        )
    return Cell(text, cls=cls, title=title)


def _judgement(name: str, diff: float) -> str:
    """CSS class of a distinguishable difference: better, worse, or (neutral) differs."""
    direction = metric(name).direction
    if direction is Direction.NEUTRAL:
        return "differs"
    lower = direction is Direction.LOWER_IS_BETTER
    return "better" if (diff < 0) == lower else "worse"


def confidence_text(manifest: Mapping[str, Any]) -> str:
    """``"95% confidence"`` from a sweep manifest's level (``"confidence"`` if absent)."""
    level = manifest.get("confidence")
    if isinstance(level, int | float) and 0 < level < 1:
        return f"{percent(level)} confidence"
    return "confidence"


def ordered(values: pd.Series) -> list[str]:
    """Distinct values as text, in order of first appearance."""
    return [str(v) for v in dict.fromkeys(values.tolist())]


def by_management(metrics: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """Management rows, set-up by set-up (mdm, mam_we, emm, others), variants in order."""
    rows = segment_rows(metrics, "management")
    known = [m.value for m in Management]
    segments = sorted(
        ordered(rows["segment"]), key=lambda m: (known.index(m) if m in known else len(known), m)
    )
    rank = {v: i for i, v in enumerate(variants)}
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            segments.index(str(rows["segment"].iloc[i])),
            rank.get(str(rows["variant"].iloc[i]), len(rank)),
        ),
    )
    return rows.iloc[order]


def glossary(metrics: Sequence[str]) -> Html:
    """What each metric column means, from the catalogue: label (unit), its definition,
    which way is better, and whether it is per event or time-weighted."""
    return definition_list((label_with_unit(name), _definition(name)) for name in metrics)


def _definition(name: str) -> str:
    """The catalogue's sentence, then ``Lower is better; per event.`` and the like."""
    found = metric(name)
    direction = found.direction.value.capitalize()
    return f"{found.description} {direction}; {found.aggregation.value}."
