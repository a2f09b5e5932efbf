"""The report's tables: headline metrics per variant (± CI), by management set-up, and the
paired differences against a sweep's baseline.

Cells are built with :mod:`simulator.report.html` (escaped text). For sweeps a value reads
``mean ± half-width`` — both to the decimals that show the half-width to two significant
digits — with the interval as a tooltip; a paired difference reads ``+diff [low, high]``,
green when distinguishable and lower than the baseline, red when distinguishable and
higher (every metric here is lower-is-better), grey otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd

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
    ("exposed_minutes_medium", "exposed min ≥ medium", "session-min"),
    ("exposed_minutes_high", "exposed min ≥ high", "session-min"),
    ("exposed_launches_medium", "exposed launches ≥ medium", "count"),
    ("time_to_protect_median_min", "time to protect, median", "min"),
    ("time_to_protect_p95_min", "time to protect, p95", "min"),
    ("never_enforced", "never enforced", "episodes"),
)
"""Metric, short header, unit: the exposure and protection columns (lower is better)."""
FRICTION_METRICS: Final = (
    ("unneeded_denials", "unneeded denials", "count"),
    ("blocked_user_minutes_threat", "blocked for threat level", "user-min"),
    ("wipes", "wipes", "count"),
    ("onboarding_blocks", "onboarding blocks", "count"),
    ("blocked_user_minutes", "blocked, any reason", "user-min"),
)
"""The friction columns: what users pay (lower is better)."""
HEADLINE: Final = (*EXPOSURE_METRICS, *FRICTION_METRICS)
"""Every column of the report's tables."""
GROUPS: Final = (
    ("Exposure and protection", EXPOSURE_METRICS),
    ("Friction", FRICTION_METRICS),
)

_DEFINITIONS: Final = {
    "exposed_minutes_medium": "Minutes of granted app sessions while the device's true "
    "threat level was medium or high (summed over sessions; per run).",
    "exposed_minutes_high": "The same, while the true level was high.",
    "exposed_launches_medium": "App launches granted while the true level was at least medium.",
    "time_to_protect_median_min": "For threat episodes above the variant's max allowed level: "
    "onset → first threat-level denial on the device, median over enforced episodes.",
    "time_to_protect_p95_min": "The same, 95th percentile.",
    "never_enforced": "Episodes above the max allowed level that ended with no threat-level "
    "denial on the device.",
    "unneeded_denials": "Threat-level blocks and wipes while the true level was already "
    "within the max (a stale signal, e.g. after remediation).",
    "blocked_user_minutes_threat": "The part of the blocked user-minutes due to the "
    "threat-level condition (level above the max, connector disabled, partner "
    "unresponsive): the friction the threshold itself causes.",
    "onboarding_blocks": "Denials because Defender was not activated on the device.",
    "blocked_user_minutes": "Per device and app, from the first denial of a streak to the "
    "next granted access (or the end of the run), summed, whatever the reason: threat "
    "level, Defender not activated (onboarding) or offline too long.",
    "wipes": "Evaluations whose outcome was a selective wipe of the app's organisation data.",
}
MANAGEMENT_METRICS: Final = (
    "exposed_minutes_medium",
    "never_enforced",
    "unneeded_denials",
    "blocked_user_minutes_threat",
    "onboarding_blocks",
)


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
    metrics: Sequence[tuple[str, str, str]],
    colors: Mapping[str, str],
    badges: Mapping[str, Html],
    note: str,
    *,
    with_segment: bool = False,
) -> Html:
    """A table of metrics, one row per variant (per management set-up with
    ``with_segment``).

    Parameters
    ----------
    rows
        Wide metrics rows (means, with ``_ci_low`` / ``_ci_high`` columns for sweeps).
    metrics
        (metric, header, unit) of each column.
    colors, badges
        Variant → figure colour, and → badges shown after its name.
    note
        What the interval is, for tooltips (``"95% confidence interval"``).
    with_segment
        Start with a management column; a line separates set-ups.
    """
    header: list[object] = ["management"] if with_segment else []
    header += ["variant", *(_header(label, unit) for _, label, unit in metrics)]
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
        cells += [value_cell(row, metric, note) for metric, _, _ in metrics]
        if starts_group:  # a line between management set-ups
            cells = [c._replace(cls=f"{c.cls} group".strip()) for c in cells]
        body.append(cells)
    numeric_from = 2 if with_segment else 1
    return tag("div", table(header, body, numeric_from=numeric_from, cls="results"), cls="wide")


def _header(label: str, unit: str) -> Html:
    """A column header: the metric, then its unit on a line of its own."""
    return Html(escape(label) + "<br>" + tag("span", f"({unit})", cls="unit"))


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
            "distinguishable and lower than the baseline (better, as every metric here "
            "is lower-is-better); red: distinguishable and higher (worse); grey: the "
            "interval includes 0, so these replications cannot tell the two apart; [?]: "
            "too few replications with a value for an interval.",
        )
    ]
    present = set(rows["metric"])
    for title, group in GROUPS:
        metrics = [m for m in group if m[0] in present]
        header = ["variant", *(_header(label, unit) for _, label, unit in metrics)]
        body = []
        for variant in ordered(rows["variant"]):
            of = rows[rows["variant"] == variant].set_index("metric")
            cells: list[object] = [variant_name(variant, colors, badges)]
            for metric, _, _ in metrics:
                found = of[of.index == metric]
                cells.append(_paired_cell(found.iloc[0]) if len(found) else Cell("–"))
            body.append(cells)
        parts += [tag("h4", title), tag("div", table(header, body, cls="results"), cls="wide")]
    return join(parts)


def _paired_cell(row: pd.Series) -> Cell:
    """``+diff [low, high]`` coloured by direction when distinguishable; the unpaired
    half-width as tooltip."""
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
    cls = "same" if not distinguishable else "better" if float(diff) < 0 else "worse"
    title = ""
    if "unpaired_half_width" in row.index and not pd.isna(row["unpaired_half_width"]):
        half = (float(high) - float(low)) / 2
        title = (
            f"paired ± {number(half)}; unpaired it would be ± {number(row['unpaired_half_width'])}"
        )
    return Cell(text, cls=cls, title=title)


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


def glossary(metrics: Sequence[tuple[str, str, str]]) -> Html:
    """What each metric column means, as a definition list."""
    return definition_list(
        (f"{label} ({unit})", _DEFINITIONS.get(metric, "")) for metric, label, unit in metrics
    )
