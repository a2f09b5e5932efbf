"""Figures for choosing a variant: the exposure/friction Pareto frontier and exposure tails.

Two questions an architect asks of a run or a sweep:

* *Which variants are worth considering at all?* A variant is **Pareto-efficient** when no
  other variant is at least as good on every metric considered and strictly better on
  one (all metrics here are lower-is-better; means that differ only by rounding, within a
  relative 1e-9, count as equal). :func:`pareto_efficient` computes the set
  from a table of means; :func:`frontier` draws exposure against each friction metric,
  efficient variants filled, dominated ones hollow, each panel's efficient frontier as a
  step line.
* *How bad can one episode get?* :func:`exceedance` draws, per variant, the share of
  threat episodes whose exposed minutes (granted-session minutes during the episode,
  :func:`simulator.analysis.metrics.episode_outcomes`) exceed *x*, on a logarithmic *x* axis.

Tables come in two shapes, both accepted wherever a "table" is asked for: the **wide**
metrics table of a run (one row per variant × segment, a column per metric, optional
``<metric>_ci_low`` / ``<metric>_ci_high``), or the **long** summary of a sweep (columns
``metric``, ``mean``, ``ci_low``, ``ci_high``), which :func:`summary_to_wide` turns into
the wide shape. Figures follow the conventions of :mod:`simulator.plots.run` (object API on an
Agg canvas, one colour per variant, units on every axis).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from simulator.plots.run import (
    _PANEL_SIZE,
    _POINT_MARKERS,
    _SINGLE_PANEL_WIDTH,
    _TICK_STEPS,
    _VARIANT_PALETTE,
    DEFAULT_FRICTION,
    Color,
    _axis_limits,
    _coincident_points,
    _colors_for,
    _duration_ticks,
    _error_bar,
    _error_segments,
    _errors,
    _format_minutes,
    _legend_layout,
    _log_limits,
    _new_figure,
    _ordered_unique,
    _place_labels,
    _require_columns,
    _step_curve,
    _thousands,
    _wrap_label,
    metric_label,
)
from simulator.policy.levels import ThreatLevel

__all__ = [
    "DEFAULT_EXPOSURE",
    "DEFAULT_FRICTION",
    "dominated_by",
    "exceedance",
    "frontier",
    "pareto_efficient",
    "summary_to_wide",
]

DEFAULT_EXPOSURE: Final = "exposed_minutes_medium"
"""The exposure metric the frontier is drawn against by default. The default friction
metrics, one panel each, are :data:`DEFAULT_FRICTION` (re-exported from
:mod:`simulator.plots.run`): unneeded denials, user-minutes blocked for threat level, wipes."""
REL_TOLERANCE: Final = 1e-9
"""Means within this share of the larger magnitude (plus :data:`ABS_TOLERANCE`) count as
equal when judging dominance: sums of equal figures differ by rounding (~1e-11)."""
ABS_TOLERANCE: Final = 1e-9
"""Absolute part of the tolerance of :data:`REL_TOLERANCE`."""

_MAX_FRONTIER_LABELS: Final = 6
"""Above this many variants, :func:`frontier` names them in a legend, not next to points:
frontier points crowd along the axes (many variants have no unneeded blocks or wipes)."""
_KEYS: Final = ("variant", "segment_by", "segment")
_STATS: Final = (("mean", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"))
_FRONTIER_COLOR: Final = "#333333"


# ---------------------------------------------------------------------------------------
# Tables


def summary_to_wide(summary: pd.DataFrame) -> pd.DataFrame:
    """A sweep's long summary as a wide table: a column per metric (its mean) and its CI.

    Parameters
    ----------
    summary
        Columns ``variant``, ``segment_by``, ``segment``, ``metric``, ``mean`` and
        optionally ``ci_low``, ``ci_high``, ``half_width`` (one row per metric of each
        variant × segment).

    Returns
    -------
    pandas.DataFrame
        One row per variant × segment in order of first appearance; for each metric ``m``
        (in order of first appearance) the columns ``m`` (the mean), and ``m_ci_low``,
        ``m_ci_high``, ``m_half_width`` when the summary has them.
    """
    _require_columns(summary, [*_KEYS, "metric", "mean"], "summary")
    keys = list(_KEYS)
    text = summary.assign(**{k: summary[k].astype(str) for k in keys})
    order = pd.MultiIndex.from_frame(text[keys].drop_duplicates())
    metrics = _ordered_unique(summary["metric"])
    stats = [*_STATS, ("half_width", "_half_width")]
    columns: dict[str, np.ndarray] = {}
    for metric in metrics:
        part = text[text["metric"] == metric].set_index(keys)
        for stat, suffix in stats:
            if stat in part.columns:
                values = part[stat].reindex(order).to_numpy(dtype=float)
                columns[f"{metric}{suffix}"] = values
    wide = pd.DataFrame(columns)  # metric by metric, each with its statistics
    return pd.concat([order.to_frame(index=False), wide], axis=1)


def _segment_rows(
    table: pd.DataFrame, metrics: Sequence[str], segment: tuple[str, str]
) -> pd.DataFrame:
    """One row per variant of ``segment`` with each metric (mean) and its CI columns."""
    if "metric" in table.columns and "mean" in table.columns:
        table = summary_to_wide(table)
    _require_columns(table, ["variant", *metrics], "table")
    rows = table
    if "segment_by" in table.columns and "segment" in table.columns:
        by, name = segment
        rows = table[(table["segment_by"] == by) & (table["segment"] == name)]
        if rows.empty:
            raise ValueError(f"no rows for segment {segment}")
    if rows["variant"].duplicated().any():
        raise ValueError(
            "several rows per variant: give one segment, and means over replications "
            "(a sweep's summary) rather than one row per replication"
        )
    return rows.reset_index(drop=True)


def dominated_by(
    table: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    segment: tuple[str, str] = ("all", "all"),
) -> dict[str, list[str]]:
    """For each variant, the variants that dominate it on means (all lower-is-better).

    ``w`` dominates ``v`` when ``w`` is at least as good (≤) as ``v`` on the exposure and
    every friction metric, and strictly better (<) on at least one. Values within
    :data:`REL_TOLERANCE` × the larger magnitude + :data:`ABS_TOLERANCE` count as equal
    (sums of figures equal in theory differ by rounding). A variant with a missing (NaN)
    value neither dominates nor is dominated: it cannot be judged.

    Parameters
    ----------
    table
        A wide metrics table or a sweep's long summary (see the module docstring).
    exposure, friction_metrics
        The metric columns compared.
    segment
        ``(segment_by, segment)`` rows to use, when the table has segments.

    Returns
    -------
    dict[str, list[str]]
        Variant → the variants dominating it, both in table order; empty list: efficient
        (or not judged, see :func:`pareto_efficient`).
    """
    metrics = [exposure, *friction_metrics]
    rows = _segment_rows(table, metrics, segment)
    names = [str(v) for v in rows["variant"]]
    dominates = _dominates(rows[metrics].to_numpy(dtype=float))
    return {
        name: [names[w] for w in np.flatnonzero(dominates[:, v])] for v, name in enumerate(names)
    }


def _dominates(values: np.ndarray) -> np.ndarray:
    """``[w, v]``: row ``w`` dominates row ``v`` (lower is better on every column).

    Values within :data:`REL_TOLERANCE` of the larger magnitude plus
    :data:`ABS_TOLERANCE` count as equal; a row with a NaN neither dominates nor is
    dominated.
    """
    w, v = values[:, None, :], values[None, :, :]
    tolerance = REL_TOLERANCE * np.maximum(np.abs(w), np.abs(v)) + ABS_TOLERANCE
    no_worse = (w <= v + tolerance).all(axis=2)
    better = (w < v - tolerance).any(axis=2)
    finite = np.isfinite(values).all(axis=1)
    dominates: np.ndarray = no_worse & better & finite[:, None] & finite[None, :]
    return dominates


def pareto_efficient(
    table: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    segment: tuple[str, str] = ("all", "all"),
) -> list[str]:
    """The Pareto-efficient variants on means: no other variant is at least as good on
    every metric and strictly better on one (lower is better on every metric).

    Variants with equal values on every metric (within the tolerance of
    :func:`dominated_by`) are all efficient (or all dominated).
    A variant with a missing (NaN) value is left out: it cannot be judged.

    Parameters
    ----------
    table
        A wide metrics table (one row per variant, or per variant × segment) or a sweep's
        long summary (``metric``/``mean`` columns): see the module docstring.
    exposure
        The exposure metric (risk that got through).
    friction_metrics
        The friction metrics (cost to users).
    segment
        ``(segment_by, segment)`` rows to use, when the table has segments.

    Returns
    -------
    list[str]
        Efficient variants, in table order.

    Raises
    ------
    ValueError
        If a column is missing, the segment has no rows, or a variant has several rows.
    """
    metrics = [exposure, *friction_metrics]
    rows = _segment_rows(table, metrics, segment)
    finite = np.isfinite(rows[metrics].to_numpy(dtype=float)).all(axis=1)
    dominators = dominated_by(rows, exposure, friction_metrics, segment=segment)
    return [
        str(name)
        for name, ok in zip(rows["variant"], finite, strict=True)
        if ok and not dominators[str(name)]
    ]


# ---------------------------------------------------------------------------------------
# Frontier


def frontier(
    summary_or_metrics: pd.DataFrame,
    *,
    exposure: str = DEFAULT_EXPOSURE,
    friction: str | Sequence[str] = DEFAULT_FRICTION,
    segment: tuple[str, str] = ("all", "all"),
    colors: Mapping[str, Color] | None = None,
    include_zero: bool = True,
) -> Figure:
    """Exposure (x) against each friction metric (y): the Pareto frontier of the variants.

    Each panel has one marker per variant, **filled** when the variant is Pareto-efficient
    on the exposure and *all* friction metrics of the figure (:func:`pareto_efficient`,
    on means), **hollow** when another variant beats it. A dashed step line traces the
    efficient frontier of the panel's own two metrics: every point above and to the right
    of it is dominated on that pair. Lower-left is better everywhere.

    Parameters
    ----------
    summary_or_metrics
        A sweep's long summary (``metric``, ``mean``, ``ci_low``, ``ci_high``: error
        bars drawn from the CI) or a run's wide metrics table (points only, unless it has
        ``<metric>_ci_low`` / ``<metric>_ci_high`` columns).
    exposure
        The exposure metric for the x axis.
    friction
        One friction metric or several (one panel each, shared x axis).
    segment
        ``(segment_by, segment)`` to plot.
    colors
        Variant → colour; default :func:`simulator.plots.run.variant_colors` in table order.
    include_zero
        Start both axes at 0 (default), so distances to the best corner compare honestly.

    Returns
    -------
    Figure
        One panel per friction metric. Variants are named next to their points (points
        that coincide share a label); with more than six variants, in a legend. The
        suptitle names the efficient variants.

    Raises
    ------
    ValueError
        If a column is missing, the segment has no rows, or a variant has several rows.
    """
    frictions = [friction] if isinstance(friction, str) else list(friction)
    if not frictions:
        raise ValueError("friction: give at least one metric")
    rows = _segment_rows(summary_or_metrics, [exposure, *frictions], segment)
    variants = [str(v) for v in rows["variant"]]
    palette = _colors_for(variants, colors)
    efficient = set(pareto_efficient(rows, exposure, frictions, segment=segment))
    use_legend = len(variants) > _MAX_FRONTIER_LABELS

    n = len(frictions)
    width = _PANEL_SIZE[0] * n + 0.3 if n > 1 else _SINGLE_PANEL_WIDTH
    fig, axes = _new_figure(1, n, figsize=(width, _PANEL_SIZE[1] + 1.1), sharex=True)
    x = rows[exposure].to_numpy(dtype=float)
    xerr = _errors(rows, exposure)
    x_limits = _axis_limits(x, _upper_only(x, xerr), room=0.3, include_zero=include_zero)
    placements = []
    for ax, metric in zip(axes, frictions, strict=True):
        y = rows[metric].to_numpy(dtype=float)
        yerr = _errors(rows, metric)
        for i, variant in enumerate(variants):
            _draw_variant(ax, i, variant, x, y, xerr, yerr, palette[variant], variant in efficient)
        ax.set_xlim(*x_limits)
        ax.set_ylim(*_axis_limits(y, _upper_only(y, yerr), room=0.2, include_zero=include_zero))
        _draw_frontier(ax, x, y)
        ax.set_ylabel(_wrap_label(metric_label(metric)))
        ax.set_xlabel(_wrap_label(metric_label(exposure)))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=_TICK_STEPS))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(True, color="#e5e5e5", linewidth=0.8, zorder=0)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelbottom=True)
        segments = _error_segments(x, y, xerr, yerr)
        placements.append((ax, _coincident_points(x, y, variants, palette), segments))

    where = "" if segment == ("all", "all") else f" — {segment[0]} = {segment[1]}"
    has_ci = _errors(rows, exposure) is not None or any(
        _errors(rows, m) is not None for m in frictions
    )
    how = "means with confidence intervals" if has_ci else "one run, no confidence intervals"
    names = ", ".join(v for v in variants if v in efficient) or "none (missing values)"
    chars = max(40, int(width * 72 / 7.5))
    fig.suptitle(
        textwrap.fill(f"Exposure vs friction per policy variant{where} ({how})", chars)
        + "\n"
        + textwrap.fill(f"Pareto-efficient (filled): {names}", chars),
        fontsize="medium",
    )
    handles = _key_handles(n > 1)
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=max(1, min(len(handles), int(width / 3.2))),
        fontsize="small",
        frameon=False,
    )
    if use_legend:
        fig.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    marker=_POINT_MARKERS[(i // len(_VARIANT_PALETTE)) % len(_POINT_MARKERS)],
                    linestyle="none",
                    color=palette[v],
                    label=v,
                )
                for i, v in enumerate(variants)
            ],
            loc="outside right upper",
            title="variant",
            fontsize="small",
            frameon=False,
        )
    if not use_legend:
        fig.draw_without_rendering()  # the layout gives the axes their final place
        for ax, points, segments in placements:
            _place_labels(ax, points, segments)
    return fig


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
) -> None:
    """One variant's error bars (if any) and marker: filled if efficient, else hollow."""
    _error_bar(ax, i, x, y, xerr, yerr, color)
    # A hollow ring has no face and is drawn larger, above the filled markers: a dominated
    # variant never hides an efficient one at the same place (common when variants
    # differ only in an action that never triggers).
    ax.scatter(
        [x[i]],
        [y[i]],
        s=60 if filled else 120,
        marker=_POINT_MARKERS[(i // len(_VARIANT_PALETTE)) % len(_POINT_MARKERS)],
        facecolors=color if filled else "none",
        edgecolors="white" if filled else color,
        linewidths=0.8 if filled else 1.8,
        zorder=3 if filled else 3.5,
        label=variant,
    )


def _upper_only(values: np.ndarray, errors: np.ndarray | None) -> np.ndarray | None:
    """Error lengths for axis limits: when no mean is negative (counts, minutes), the
    part of an interval below 0 does not stretch the axis; the bar runs off the edge."""
    if errors is None or (values[np.isfinite(values)] < 0).any():
        return errors
    return np.vstack([np.zeros_like(errors[0]), errors[1]])


def _panel_efficient(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points efficient on (x, y), sorted by x then y (NaN left out)."""
    values = np.column_stack([x, y])
    finite = np.isfinite(values).all(axis=1)
    dominated = _dominates(values).any(axis=0)
    chosen = np.flatnonzero(finite & ~dominated)
    return chosen[np.lexsort((y[chosen], x[chosen]))]


def _draw_frontier(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """The panel's efficient frontier as a step line, from the top edge to the right edge."""
    chosen = _panel_efficient(x, y)
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


def _key_handles(several: bool) -> list[Line2D]:
    """Legend entries explaining filled / hollow markers and the step line."""
    pair = "this panel's pair of metrics" if several else "these two metrics"
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="#777777",
            markeredgecolor="white",
            color="#777777",
            label="filled: Pareto-efficient (no variant as good on every metric and better on one)",
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
            label="hollow: dominated by another variant",
        ),
        Line2D(
            [],
            [],
            color=_FRONTIER_COLOR,
            linestyle=(0, (4, 3)),
            linewidth=1.0,
            label=f"efficient frontier of {pair}",
        ),
    ]


# ---------------------------------------------------------------------------------------
# Exceedance


def exceedance(
    outcomes: pd.DataFrame,
    *,
    metric: str = "exposed_minutes",
    episodes: str = "all",
    min_severity: str | None = None,
    management: str | None = None,
    colors: Mapping[str, Color] | None = None,
) -> Figure:
    """Tail of exposure per episode: share of episodes whose ``metric`` exceeds *x*.

    One curve per variant, P(``metric`` > *x*) against *x* on a logarithmic axis in
    minutes. A curve starts at the share of episodes with any exposure at all and drops
    to 0 at the largest value; lower and further left is better.

    Parameters
    ----------
    outcomes
        :func:`simulator.analysis.metrics.episode_outcomes` rows (several replications may be
        pooled; a ``replication`` column is then counted in the title): columns
        ``variant``, ``metric``, and ``over_max`` / ``severity`` / ``management`` when
        filtering on them.
    metric
        A per-episode duration in minutes (default ``exposed_minutes``: granted-session
        minutes on the device during the episode).
    episodes
        ``"all"`` (default: every variant is judged on the same episodes) or
        ``"over_max"`` (only episodes above each variant's max allowed level: those its
        policy is meant to stop; variants then differ in which episodes count).
    min_severity
        Only episodes of at least this severity (``"low"``, ``"medium"``, ``"high"``).
    management
        Only episodes on devices of this management set-up.
    colors
        Variant → colour; default :func:`simulator.plots.run.variant_colors` in table order.

    Returns
    -------
    Figure
        One axes; the legend gives each variant's episode count, the share with any
        exposure, and the largest value.

    Raises
    ------
    ValueError
        If a column is missing or ``episodes`` / ``min_severity`` is not a valid choice.
    """
    _require_columns(outcomes, ["variant", metric], "outcomes")
    variants = _ordered_unique(outcomes["variant"])
    palette = _colors_for(variants, colors)
    rows, chosen = _chosen_episodes(outcomes, episodes, min_severity, management)

    curves: list[tuple[str, np.ndarray, int]] = []
    for variant in variants:
        values = rows.loc[rows["variant"] == variant, metric].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        positive = np.clip(values[values > 0], _EXPOSURE_FLOOR_MIN, None)
        curves.append((variant, np.sort(positive), values.size))
    lo, hi = _log_limits(np.concatenate([[_EXPOSURE_FLOOR_MIN], *(c[1] for c in curves)]))

    labels = [_curve_label(variant, values, n) for variant, values, n in curves]
    columns, height = _legend_layout(labels)
    fig, (ax,) = _new_figure(figsize=(8.0, height))
    top = 0.0
    for index, ((variant, values, n), label) in enumerate(zip(curves, labels, strict=True)):
        color = palette[variant]
        if n == 0:
            ax.plot([], [], color=color, linewidth=2.0, label=label)
            continue
        k = values.size
        top = max(top, k / n)
        xs = np.concatenate([[lo], values, [hi]])
        ys = np.concatenate([[k], k - np.arange(1, k + 1), [0]]) / n
        _step_curve(ax, xs, ys, color, index, label)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    _duration_ticks(ax, lo, hi)
    ax.set_ylim(0.0, _share_limit(top))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if top > 0.03 else None))
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    what = metric_label(metric) if metric != "exposed_minutes" else _EXPOSED_LABEL
    ax.set_xlabel(f"{what}, log scale")
    ax.set_ylabel("episodes exceeding x (share of episodes)")
    replications = len(pd.unique(rows["replication"])) if "replication" in rows.columns else 1
    pooled = f"pooled over {replications} replications" if replications > 1 else ""
    detail = "; ".join(note for note in (chosen, pooled) if note)
    fig.suptitle(
        "Exposure per threat episode: share of episodes with more than x exposed minutes\n"
        f"({detail + ' — ' if detail else ''}lower and further left is better)",
        fontsize="medium",
    )
    fig.legend(loc="outside lower center", ncols=columns, fontsize="small", frameon=False)
    return fig


def _curve_label(variant: str, values: np.ndarray, n: int) -> str:
    """Legend text of an exceedance curve: episodes, share exposed, largest exposure."""
    if n == 0:
        return f"{variant} (no such episodes)"
    largest = f", largest {_format_minutes(float(values[-1]))}" if values.size else ""
    return f"{variant} (n={n:,}, any exposure: {values.size / n:.0%}{largest})"


_EXPOSURE_FLOOR_MIN: Final = 0.5
"""Exposures between 0 and this (minutes) are drawn at it, so a few seconds of overlap do
not stretch the log axis; the curve's first level is still the share with any exposure."""
_EXPOSED_LABEL: Final = (
    "x = exposed minutes per episode (granted-session minutes on the device during the episode)"
)


def _chosen_episodes(
    outcomes: pd.DataFrame, episodes: str, min_severity: str | None, management: str | None
) -> tuple[pd.DataFrame, str]:
    """The episodes :func:`exceedance` counts, and a phrase naming them."""
    rows = outcomes
    words = []
    if episodes == "over_max":
        _require_columns(outcomes, ["over_max"], "outcomes")
        rows = rows[rows["over_max"].astype(bool).to_numpy()]
        words.append("episodes above each variant's max allowed level")
    elif episodes != "all":
        raise ValueError(f"episodes must be 'all' or 'over_max', got {episodes!r}")
    if min_severity is not None:
        ranks = {level.label: int(level) for level in ThreatLevel}
        if min_severity not in ranks:
            raise ValueError(
                f"min_severity must be one of {', '.join(ranks)}; got {min_severity!r}"
            )
        _require_columns(outcomes, ["severity"], "outcomes")
        rank = rows["severity"].astype(str).map(ranks).fillna(0).to_numpy(dtype=float)
        rows = rows[rank >= ranks[min_severity]]
        words.append(f"severity ≥ {min_severity}")
    if management is not None:
        _require_columns(outcomes, ["management"], "outcomes")
        rows = rows[rows["management"] == management]
        words.append(f"{management} devices")
    return rows, "; ".join(words)


def _share_limit(top: float) -> float:
    """A y limit a little above ``top`` (a share), on a round 10 % (or 1 %) step."""
    if top <= 0:
        return 1.0
    step = 0.1 if top > 0.1 else 0.01
    return float(min(1.02, math.ceil(top * 1.08 / step) * step))
