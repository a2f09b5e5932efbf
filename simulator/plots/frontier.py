"""The exposure/friction trade-off of the policy variants, with the Pareto frontier.

:func:`frontier` is the one trade-off figure, for a single run and for a sweep alike:
exposure (x) against each friction metric (y, one panel each), one marker per variant.
A marker is **filled** when the variant is Pareto-efficient on the exposure and *all*
friction metrics of the figure (:func:`simulator.analysis.pareto.pareto_efficient`, on
means), **hollow** when another variant beats it; a dashed step line traces each panel's
own frontier. A sweep's summary (or a wide table with ``<metric>_ci_low`` /
``<metric>_ci_high``) adds confidence-interval bars; a run's metrics give points only.
Axis labels and units come from :mod:`simulator.analysis.catalogue`.

A block variant and its wipe counterpart (names that differ only in ``block`` / ``wipe``)
with the same value on every metric of the figure — the threat action made no difference,
typically because no device went over that max — are drawn **once**, labelled for both
(``max High (block = wipe)``), with a note in the title saying why
(:func:`coinciding_actions`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.analysis.catalogue import METRICS, Kind, label_with_unit
from simulator.analysis.pareto import (
    DEFAULT_EXPOSURE,
    DEFAULT_FRICTION,
    efficient_points,
    pareto_efficient,
    variant_rows,
)
from simulator.plots._labels import Point, Segment, coincident_points, place_labels
from simulator.plots.run import (
    _TICK_STEPS,
    _VARIANT_PALETTE,
    Color,
    _colors_for,
    _new_figure,
    _thousands,
)

__all__ = [
    "COINCIDE_NOTE",
    "axis_label",
    "coinciding_actions",
    "exposure_friction",
    "frontier",
    "merged_label",
]

_MAX_DIRECT_LABELS: Final = 6
"""Above this many variants, :func:`frontier` names them in a legend, not next to points:
frontier points crowd along the axes (many variants have no unneeded blocks or wipes)."""
_PANEL_SIZE: Final = (4.8, 4.4)
"""Width and height of one panel, in inches."""
_SINGLE_PANEL_WIDTH: Final = 6.4
"""Width of a one-panel figure, in inches."""
_TITLE_LINE: Final = 0.24
"""Height of one title line (medium font), in inches."""
_KEY_LINE: Final = 0.19
"""Height of one line of the marker key (small font), in inches."""
_POINT_MARKERS: Final = ("o", "s", "D", "^", "v", "P")
"""Point shapes; the next one is used each time the colour palette wraps around."""
_FRONTIER_COLOR: Final = "#333333"
_FILLED_SIZE: Final = 60.0
"""Area of a filled marker (points²); one that shares its place with later filled
markers is drawn larger, a ring around them."""
_HOLLOW_SIZE: Final = 120.0
"""Area of a hollow ring (points²): drawn above and around the filled markers."""


def _integer_ticks(ax: Axes, y_metric: str, x_metric: str) -> None:
    """Count axes get whole-number ticks (no "2.5 wipes")."""
    from matplotlib.ticker import MaxNLocator

    from simulator.analysis.catalogue import METRICS, Kind

    for metric, axis in ((y_metric, ax.yaxis), (x_metric, ax.xaxis)):
        found = METRICS.get(metric)
        if found is not None and found.kind is Kind.COUNT:
            axis.set_major_locator(MaxNLocator(integer=True))


def axis_label(name: str) -> str:
    """A metric's label with its unit (:func:`simulator.analysis.catalogue.label_with_unit`);
    a column outside the catalogue gets its name with spaces."""
    return label_with_unit(name) if name in METRICS else name.replace("_", " ")


@dataclass(frozen=True)
class _Shared:
    """What every panel of one figure shares: the variants and the exposure axis."""

    variants: list[str]
    palette: dict[str, Color]
    efficient: frozenset[str]
    """Variants drawn filled (all of them when Pareto marking is off)."""
    judged: bool
    """Whether Pareto marking is drawn: several variants and ``pareto=True``."""
    exposure: str
    x: np.ndarray
    xerr: np.ndarray | None
    x_limits: tuple[float, float]
    include_zero: bool


def frontier(
    table: pd.DataFrame,
    *,
    exposure: str = DEFAULT_EXPOSURE,
    friction: str | Sequence[str] = DEFAULT_FRICTION,
    segment: tuple[str, str] = ("all", "all"),
    colors: Mapping[str, Color] | None = None,
    include_zero: bool = True,
    pareto: bool = True,
    efficient: Sequence[str] | None = None,
    max_width: float | None = None,
) -> Figure:
    """Exposure (x) against each friction metric (y): the trade-off between the variants.

    Each panel has one marker per variant, **filled** when the variant is Pareto-efficient
    on the exposure and *all* friction metrics of the figure (on means), **hollow** when
    another variant is at least as good on all of them and better on one. A dashed step
    line traces the efficient frontier of the panel's own two metrics. Lower-left is better
    everywhere. With one variant (or ``pareto=False``) every marker is filled and there is
    no frontier line.

    Parameters
    ----------
    table
        A run's wide metrics table (:func:`simulator.analysis.metrics.compute_metrics`:
        points only, unless it has ``<metric>_ci_low`` / ``<metric>_ci_high`` columns) or
        a sweep's long summary (``metric``, ``mean``, ``ci_low``, ``ci_high``: error bars
        drawn from the interval).
    exposure
        The exposure metric for the x axis (risk that got through).
    friction
        One friction metric or several (one panel each, shared x axis). Default: unneeded
        denials, user-minutes blocked for threat level, wipes — the friction the threshold
        itself causes.
    segment
        ``(segment_by, segment)`` to plot, e.g. ``("management", "mam_we")``.
    colors
        Variant → colour; default :func:`simulator.plots.run.variant_colors` in table order.
    include_zero
        Start both axes at 0 (default), so distances to the best corner compare honestly;
        False zooms onto the points, for variants that differ little.
    pareto
        Mark the Pareto-efficient variants and draw each panel's frontier (default).
    efficient
        The variants to draw as efficient, when judged elsewhere — e.g. on paired
        differences (:func:`simulator.analysis.pareto.paired_efficient`), so that a gap
        inside simulation noise does not make a variant hollow; default: judged on means.
    max_width
        The widest the figure may be, inches: the width it will be shown at (the HTML
        report passes its content column, so the figure's text is not scaled down on the
        page). Panels narrow to fit; default: each panel its natural width.

    Returns
    -------
    Figure
        One panel per friction metric. Variants are named next to their points (points
        that coincide share a label); with more than six variants, in a legend. The
        title says whether points are means with intervals or one run, and names the
        efficient variants.

    Raises
    ------
    ValueError
        If no friction metric is given, a column is missing, the segment has no rows, or
        a variant has several rows.
    """
    frictions = [friction] if isinstance(friction, str) else list(friction)
    if not frictions:
        raise ValueError("friction: give at least one metric")
    rows = variant_rows(table, [exposure, *frictions], segment)
    pairs = _coinciding(rows, [exposure, *frictions])
    colors = _colors_for([str(v) for v in rows["variant"]], colors)
    rows, colors, efficient = _merge_pairs(rows, pairs, colors, efficient)
    shared = _shared(
        rows,
        exposure,
        frictions,
        colors,
        include_zero=include_zero,
        pareto=pareto,
        efficient=efficient,
    )
    has_ci = any(_errors(rows, m) is not None for m in [exposure, *frictions])
    layout = _layout(
        shared, len(frictions), segment, has_ci=has_ci, merged=bool(pairs), max_width=max_width
    )
    fig, axes = _new_figure(
        1, len(frictions), figsize=(layout.width + layout.legend, layout.height), sharex=True
    )
    placements = [
        _panel(ax, rows, metric, shared) for ax, metric in zip(axes, frictions, strict=True)
    ]
    # Centred over the panels, not over the panels and the variant legend beside them.
    middle = layout.width / 2 / (layout.width + layout.legend)
    fig.suptitle(layout.title, fontsize="medium", x=middle)
    _legends(fig, shared, layout, several=len(frictions) > 1)
    if len(shared.variants) <= _MAX_DIRECT_LABELS:
        fig.draw_without_rendering()  # the layout gives the axes their final place
        for ax, points, segments in placements:
            place_labels(ax, points, segments)
    return fig


COINCIDE_NOTE: Final = (
    "“block = wipe”: the block variant and its wipe counterpart have the same value on "
    "every metric shown — the threat action made no difference there (typically no device "
    "went over that max) — so they are drawn once."
)
"""Why a block/wipe pair is one point (the figure's title and the report's caption)."""

_ACTION: Final = re.compile(r"\b(block|wipe)\b")
_COINCIDE_RTOL: Final = 1e-6
"""Values within this relative difference are the same point at any plotting size."""


def coinciding_actions(
    table: pd.DataFrame,
    *,
    exposure: str = DEFAULT_EXPOSURE,
    friction: str | Sequence[str] = DEFAULT_FRICTION,
    segment: tuple[str, str] = ("all", "all"),
) -> list[tuple[str, str]]:
    """The ``(block variant, wipe variant)`` pairs :func:`frontier` draws as one point.

    Two variants pair when their names differ only in the word ``block`` / ``wipe``
    (``max High · block`` and ``max High · wipe``) and every metric of the figure —
    its mean and, when present, both ends of its interval — is the same to plotting
    precision (1e-6 relative).
    """
    frictions = [friction] if isinstance(friction, str) else list(friction)
    rows = variant_rows(table, [exposure, *frictions], segment)
    return _coinciding(rows, [exposure, *frictions])


def merged_label(block: str) -> str:
    """The label of a block/wipe pair drawn once: ``max High · block`` →
    ``max High (block = wipe)``."""
    head = re.sub(r"\s*[·+,/|-]?\s*\bblock\b\s*$", "", block)
    if head != block and head.strip():
        return f"{head} (block = wipe)"
    return _ACTION.sub("block = wipe", block, count=1)


def _coinciding(rows: pd.DataFrame, metrics: Sequence[str]) -> list[tuple[str, str]]:
    """Block/wipe counterparts among ``rows`` with equal values on ``metrics``."""
    names = [str(v) for v in rows["variant"]]
    index = {name: i for i, name in enumerate(names)}
    columns = [c for m in metrics for c in (m, f"{m}_ci_low", f"{m}_ci_high") if c in rows.columns]
    values = rows[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    pairs = []
    for name in names:
        if len(_ACTION.findall(name)) != 1 or "block" not in _ACTION.findall(name):
            continue
        other = _ACTION.sub("wipe", name)
        if other not in index:
            continue
        a, b = values[index[name]], values[index[other]]
        same = np.isclose(a, b, rtol=_COINCIDE_RTOL, atol=1e-12) | (np.isnan(a) & np.isnan(b))
        if same.all() and np.isfinite(a).any():
            pairs.append((name, other))
    return pairs


def _merge_pairs(
    rows: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    colors: dict[str, Color],
    efficient: Sequence[str] | None,
) -> tuple[pd.DataFrame, dict[str, Color], Sequence[str] | None]:
    """Each pair as one row (the block variant's, renamed for both); colours and the
    efficient set follow the new names."""
    if not pairs:
        return rows, colors, efficient
    renamed = {block: merged_label(block) for block, _ in pairs}
    dropped = {wipe for _, wipe in pairs}
    kept = rows[~rows["variant"].astype(str).isin(dropped)].copy()
    kept["variant"] = [renamed.get(str(v), str(v)) for v in kept["variant"]]
    palette = {renamed.get(k, k): v for k, v in colors.items() if k not in dropped}
    if efficient is not None:
        efficient = [renamed.get(v, v) for v in efficient if v not in dropped]
    return kept.reset_index(drop=True), palette, efficient


def exposure_friction(
    metrics: pd.DataFrame,
    *,
    exposure: str = DEFAULT_EXPOSURE,
    friction: str | Sequence[str] = DEFAULT_FRICTION,
    segment: tuple[str, str] = ("all", "all"),
    colors: Mapping[str, Color] | None = None,
    include_zero: bool = True,
) -> Figure:
    """The former name of :func:`frontier` (same figure, same arguments)."""
    return frontier(
        metrics,
        exposure=exposure,
        friction=friction,
        segment=segment,
        colors=colors,
        include_zero=include_zero,
    )


def _shared(
    rows: pd.DataFrame,
    exposure: str,
    frictions: Sequence[str],
    colors: Mapping[str, Color] | None,
    *,
    include_zero: bool,
    pareto: bool,
    efficient: Sequence[str] | None = None,
) -> _Shared:
    """The variants, their colours and efficiency, and the exposure axis."""
    variants = [str(v) for v in rows["variant"]]
    judged = pareto and len(variants) > 1
    rows = rows.drop(columns=["segment_by", "segment"], errors="ignore")  # one segment
    if not judged:
        efficient = variants
    elif efficient is None:
        efficient = pareto_efficient(rows, exposure, frictions)
    x = rows[exposure].to_numpy(dtype=float)
    xerr = _errors(rows, exposure)
    return _Shared(
        variants=variants,
        palette=_colors_for(variants, colors),
        efficient=frozenset(efficient),
        judged=judged,
        exposure=exposure,
        x=x,
        xerr=xerr,
        x_limits=_axis_limits(x, _upper_only(x, xerr), room=0.3, include_zero=include_zero),
        include_zero=include_zero,
    )


def _panel(
    ax: Axes, rows: pd.DataFrame, metric: str, shared: _Shared
) -> tuple[Axes, list[Point], list[Segment]]:
    """One friction metric's panel; returns what its labels are placed around."""
    x, xerr = shared.x, shared.xerr
    y = rows[metric].to_numpy(dtype=float)
    yerr = _errors(rows, metric)
    points = coincident_points(x, y, shared.variants, shared.palette)
    below = _filled_below(points, shared.efficient)
    for i, variant in enumerate(shared.variants):
        filled = variant in shared.efficient
        size = _FILLED_SIZE * (1 + 0.7 * below.get(variant, 0)) if filled else _HOLLOW_SIZE
        _draw_variant(ax, i, variant, x, y, xerr, yerr, shared.palette[variant], filled, size)
    ax.set_xlim(*shared.x_limits)
    limits = _axis_limits(y, _upper_only(y, yerr), room=0.2, include_zero=shared.include_zero)
    ax.set_ylim(*limits)
    if shared.judged:
        _draw_frontier(ax, x, y)
    ax.set_ylabel(_wrap_label(axis_label(metric)))
    ax.set_xlabel(_wrap_label(axis_label(shared.exposure)))
    _integer_ticks(ax, metric, shared.exposure)
    ax.xaxis.set_major_locator(_locator(shared.exposure))
    ax.yaxis.set_major_locator(_locator(metric))
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.grid(True, color="#e5e5e5", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", labelbottom=True)
    return ax, points, _error_segments(x, y, xerr, yerr)


def _filled_below(points: Sequence[Point], efficient: frozenset[str]) -> dict[str, int]:
    """Per filled variant, how many later filled variants share its point: it is drawn
    that much larger, a ring around them, so that none hides another."""
    below: dict[str, int] = {}
    for point in points:
        filled = [name for name, _ in point.members if name in efficient]
        for rank, name in enumerate(filled):
            below[name] = len(filled) - 1 - rank
    return below


@dataclass(frozen=True)
class _Layout:
    """The figure's size and text, worked out before it is drawn."""

    width: float
    """Width of the panels, inches."""
    legend: float
    """Width added on the right for the variant legend (0 without one), inches."""
    height: float
    """Height of the figure, inches."""
    title: str
    key_columns: int
    """Columns of the marker key below the panels."""


def _layout(
    shared: _Shared,
    n: int,
    segment: tuple[str, str],
    *,
    has_ci: bool,
    merged: bool = False,
    max_width: float | None = None,
) -> _Layout:
    """Panel width, room for the title lines, the key below and the legend beside; with
    ``max_width``, the panels narrow (and shorten, less) so the whole figure fits it."""
    width = _PANEL_SIZE[0] * n + 0.3 if n > 1 else _SINGLE_PANEL_WIDTH
    many = len(shared.variants) > _MAX_DIRECT_LABELS
    legend = 0.45 + 0.075 * max(len(v) for v in shared.variants) if many else 0.0
    panel_height = _PANEL_SIZE[1]
    if max_width is not None and width + legend > max_width:
        scale = max(0.5, (max_width - legend) / width)
        width *= scale
        panel_height *= max(0.8, scale)
    title = _title(shared, segment, has_ci=has_ci, width=width, merged=merged)
    key = _key_labels(several=n > 1)
    columns = max(1, min(len(key), int(width / _text_width(key))))
    rows = [key[i : i + columns] for i in range(0, len(key), columns)]
    key_lines = sum(max(text.count("\n") + 1 for text in row) for row in rows)
    height = panel_height + 0.3 + _TITLE_LINE * (title.count("\n") + 1)
    if shared.judged:
        height += _KEY_LINE * key_lines
    return _Layout(width, legend, height, title, columns)


def _text_width(labels: Sequence[str]) -> float:
    """Rough width (inches) of a small-font legend entry for the longest line."""
    longest = max(len(line) for text in labels for line in text.split("\n"))
    return 0.5 + 0.075 * longest


def _title(
    shared: _Shared, segment: tuple[str, str], *, has_ci: bool, width: float, merged: bool = False
) -> str:
    """What is drawn, whether with intervals, and which variants are efficient."""
    where = "" if segment == ("all", "all") else f" — {segment[0]} = {segment[1]}"
    how = "means with confidence intervals" if has_ci else "one run, no confidence intervals"
    if shared.judged:
        names = ", ".join(v for v in shared.variants if v in shared.efficient)
        verdict = f"Pareto-efficient (filled): {names or 'none (missing values)'}"
    elif len(shared.variants) == 1:
        verdict = f"One variant ({shared.variants[0]}): nothing to compare it with"
    else:
        verdict = ""
    chars = max(40, int(width * 72 / 7.5))  # characters at the title's size
    first = f"Exposure vs friction per policy variant{where}"
    second = f"{how}; lower-left is better"
    joined = f"{first} — {second}"
    lines = (joined,) if len(joined) <= chars else (first, second[0].upper() + second[1:])
    note = COINCIDE_NOTE if merged else ""
    return "\n".join(textwrap.fill(line, chars) for line in (*lines, verdict, note) if line)


def _legends(fig: Figure, shared: _Shared, layout: _Layout, *, several: bool) -> None:
    """The marker key (when Pareto marking is drawn) and, for many variants, their names."""
    if shared.judged:
        fig.legend(
            handles=_key_handles(several),
            loc="outside lower center",
            ncols=layout.key_columns,
            fontsize="small",
            frameon=False,
        )
    if len(shared.variants) > _MAX_DIRECT_LABELS:
        fig.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    marker=_marker(i),
                    linestyle="none",
                    color=shared.palette[v],
                    label=v,
                )
                for i, v in enumerate(shared.variants)
            ],
            loc="outside right upper",
            title="variant",
            fontsize="small",
            frameon=False,
        )


def _locator(name: str) -> MaxNLocator:
    """Round ticks; whole numbers only for a count (no "0.5 wipes" tick)."""
    count = name in METRICS and METRICS[name].kind is Kind.COUNT
    return MaxNLocator(nbins=5, steps=_TICK_STEPS, integer=count)


def _marker(i: int) -> str:
    """Variant ``i``'s point shape: the next shape each time the palette wraps around."""
    return _POINT_MARKERS[(i // len(_VARIANT_PALETTE)) % len(_POINT_MARKERS)]


def _errors(frame: pd.DataFrame, metric: str) -> np.ndarray | None:
    """Asymmetric error bar lengths from ``<metric>_ci_low/_ci_high``, or None."""
    low, high = f"{metric}_ci_low", f"{metric}_ci_high"
    if low not in frame or high not in frame:
        return None
    value = pd.to_numeric(frame[metric]).to_numpy(dtype=float)
    below = value - pd.to_numeric(frame[low]).to_numpy(dtype=float)
    above = pd.to_numeric(frame[high]).to_numpy(dtype=float) - value
    lengths: np.ndarray = np.nan_to_num(np.clip(np.vstack([below, above]), 0.0, None))
    return lengths


def _upper_only(values: np.ndarray, errors: np.ndarray | None) -> np.ndarray | None:
    """Error lengths for axis limits: when no mean is negative (counts, minutes), the
    part of an interval below 0 does not stretch the axis; the bar runs off the edge."""
    if errors is None or (values[np.isfinite(values)] < 0).any():
        return errors
    return np.vstack([np.zeros_like(errors[0]), errors[1]])


def _axis_limits(
    values: np.ndarray, errors: np.ndarray | None, *, room: float, include_zero: bool
) -> tuple[float, float]:
    """From the lowest value (or 0) to the highest, plus ``room`` × span above."""
    upper = values + (errors[1] if errors is not None else 0.0)
    lower = values - (errors[0] if errors is not None else 0.0)
    finite_hi = upper[np.isfinite(upper)]
    finite_lo = lower[np.isfinite(lower)]
    hi = float(finite_hi.max()) if finite_hi.size else 1.0
    lo = float(finite_lo.min()) if finite_lo.size else 0.0
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not hi > lo:  # a single value (all zero, say): show one span above it
        span = max(abs(hi), 1.0)
        return lo - 0.04 * span, hi + span
    span = hi - lo
    # A little room below the lowest value, so markers at 0 are not cut by the axis.
    return lo - 0.04 * span, hi + room * span


def _error_segments(
    x: np.ndarray, y: np.ndarray, xerr: np.ndarray | None, yerr: np.ndarray | None
) -> list[Segment]:
    """The error bars as data-space segments (x0, y0, x1, y1), for label placement."""
    segments: list[Segment] = []
    for i in range(x.size):
        if xerr is not None:
            segments.append((x[i] - xerr[0, i], y[i], x[i] + xerr[1, i], y[i]))
        if yerr is not None:
            segments.append((x[i], y[i] - yerr[0, i], x[i], y[i] + yerr[1, i]))
    return segments


def _wrap_label(label: str) -> str:
    """Put a long label's parenthesised unit on its own line, so it fits one panel."""
    head, paren, unit = label.partition(" (")
    return f"{head}\n({unit}" if paren and len(label) > 40 else label


def _draw_variant(
    ax: Axes,
    i: int,
    variant: str,
    x: np.ndarray,
    y: np.ndarray,
    xerr: np.ndarray | None,
    yerr: np.ndarray | None,
    color: Color,
    filled: bool,
    size: float,
) -> None:
    """One variant's error bars (if any) and marker: filled if efficient, else hollow."""
    if xerr is not None or yerr is not None:
        ax.errorbar(
            x[i],
            y[i],
            xerr=None if xerr is None else xerr[:, i : i + 1],
            yerr=None if yerr is None else yerr[:, i : i + 1],
            fmt="none",
            ecolor=color,
            elinewidth=1.0,
            capsize=3,
            alpha=0.8,
            zorder=2,
        )
    # A hollow ring has no face and is drawn larger, above the filled markers: a dominated
    # variant never hides an efficient one at the same place (common when variants
    # differ only in an action that never triggers).
    ax.scatter(
        [x[i]],
        [y[i]],
        s=size,
        marker=_marker(i),
        facecolors=color if filled else "none",
        edgecolors="white" if filled else color,
        linewidths=0.8 if filled else 1.8,
        zorder=3 if filled else 3.5,
        label=variant,
    )


def _draw_frontier(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """The panel's efficient frontier as a step line, from the top edge to the right edge."""
    chosen = efficient_points(x, y)
    if chosen.size == 0:
        return
    (_, right), (_, top) = ax.get_xlim(), ax.get_ylim()
    xs = np.concatenate([[x[chosen[0]]], x[chosen], [right]])
    ys = np.concatenate([[top], y[chosen], [y[chosen[-1]]]])
    ax.step(
        xs,
        ys,
        where="post",
        color=_FRONTIER_COLOR,
        linestyle=(0, (4, 3)),
        linewidth=1.0,
        alpha=0.7,
        zorder=1,
    )


def _key_labels(*, several: bool) -> list[str]:
    """The marker key's texts: filled, hollow, the step line."""
    pair = "this panel's pair of metrics" if several else "these two metrics"
    return [
        "filled: Pareto-efficient (no variant is as good\non every metric and better on one)",
        "hollow: dominated by another variant",
        f"dashed: efficient frontier of {pair}",
    ]


def _key_handles(several: bool) -> list[Line2D]:
    """Legend entries explaining filled / hollow markers and the step line."""
    filled, hollow, dashed = _key_labels(several=several)
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="#777777",
            markeredgecolor="white",
            color="#777777",
            label=filled,
        ),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="none",
            markeredgecolor="#777777",
            markeredgewidth=1.8,
            color="#777777",
            label=hollow,
        ),
        Line2D(
            [],
            [],
            color=_FRONTIER_COLOR,
            linestyle=(0, (4, 3)),
            linewidth=1.0,
            label=dashed,
        ),
    ]
