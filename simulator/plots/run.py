"""Figures for comparing policy variants: exposure vs friction, time to protect, one
device's story, and Defender onboarding.

Every function takes tidy DataFrames (the run tables of :mod:`simulator.sim.log`, or the
metric tables of :mod:`simulator.analysis.metrics`) and returns a :class:`matplotlib.figure.Figure`
built with the object API on an Agg canvas. Nothing here touches pyplot's global state,
selects a backend, or needs a display, so figures can be made in tests, in a CLI and in
notebooks alike; :func:`save_figure` writes one to a PNG file atomically.

A variant keeps one colour in every figure (:func:`variant_colors`): colours follow the
order in which variants first appear, which is the scenario's declaration order in every
table a run produces.

Times on the simulation clock are minutes (:data:`simulator.durations.Minutes`); axes
show them as minutes, hours or days and say which.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, TextArea, VPacker
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)
from matplotlib.transforms import Bbox

from simulator.durations import MINUTES_PER_DAY, MINUTES_PER_HOUR, Minutes
from simulator.policy.levels import Management, Outcome, Reason, ThreatLevel
from simulator.sim.log import Trigger

__all__ = [
    "DEFAULT_FRICTION",
    "device_timeline",
    "exposure_friction",
    "metric_label",
    "onboarding_funnel",
    "pick_interesting_device",
    "save_figure",
    "time_to_protect",
    "variant_colors",
]

Color = str
"""A colour as a hex string (``"#0072b2"``)."""

DEFAULT_DPI: Final = 120
"""Resolution :func:`save_figure` writes PNGs at, in dots per inch."""

# Colour-blind-safe first (Okabe–Ito, without the yellow that is unreadable as text),
# then tab10's remaining hues; cycles beyond that.
_VARIANT_PALETTE: Final = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#555555",
    "#8c564b",
    "#9467bd",
    "#bcbd22",
)

_OUTCOME_COLORS: Final = {
    Outcome.ALLOW.value: "#2ca02c",
    Outcome.BLOCK.value: "#ff7f0e",
    Outcome.WIPE.value: "#d62728",
}
_TRIGGER_MARKERS: Final = {Trigger.LAUNCH.value: "^", Trigger.CHECKIN.value: "o"}

# Episode shading: one hue (not used for outcomes), darker for more severe.
_SEVERITY_SHADES: Final = {
    ThreatLevel.LOW.label: "#e3dcef",
    ThreatLevel.MEDIUM.label: "#c9b6e2",
    ThreatLevel.HIGH.label: "#a17fcf",
}

_MANAGEMENT_NAMES: Final = {
    Management.MDM.value: "mdm (Intune MDM)",
    Management.MAM_WE.value: "mam_we (app protection only)",
    Management.EMM.value: "emm (third-party EMM)",
}
_MANAGEMENT_COLORS: Final = {
    Management.MDM.value: "#0072b2",
    Management.MAM_WE.value: "#d55e00",
    Management.EMM.value: "#009e73",
}

DEFAULT_FRICTION: Final = ("unneeded_denials", "blocked_user_minutes_threat", "wipes")
"""Default friction metrics of :func:`exposure_friction` (and of the frontier in
:mod:`simulator.plots.sweep`): those the threshold itself causes. Total
``blocked_user_minutes`` is mostly Defender onboarding, the same under every threshold."""

_MAX_DIRECT_LABELS: Final = 8
"""Above this many variants, :func:`exposure_friction` uses a legend, not labels."""

_PANEL_SIZE: Final = (4.8, 4.4)
"""Width and height of one small-multiple panel, in inches."""
_SINGLE_PANEL_WIDTH: Final = 6.4
"""Width of a one-panel exposure/friction figure, in inches."""
_POINT_MARKERS: Final = ("o", "s", "D", "^", "v", "P")
"""Point shapes; the next one is used each time the colour palette wraps around."""

_TIME_TICKS: Final = (
    (1.0, "1m"),
    (5.0, "5m"),
    (30.0, "30m"),
    (2 * MINUTES_PER_HOUR, "2h"),
    (6 * MINUTES_PER_HOUR, "6h"),
    (MINUTES_PER_DAY, "1d"),
    (2 * MINUTES_PER_DAY, "2d"),
    (7 * MINUTES_PER_DAY, "7d"),
    (30 * MINUTES_PER_DAY, "30d"),
    (90 * MINUTES_PER_DAY, "90d"),
)
"""Tick positions (minutes) and labels for log-scaled duration axes."""

_TICK_STEPS: Final = (1, 2, 2.5, 5, 10)
"""Tick steps for count/minute axes: few enough that "15,000" labels never touch."""

_TTP_FLOOR_MIN: Final = 0.5
"""Times to protect below this (minutes) are drawn at it: a log axis cannot show 0."""


# ---------------------------------------------------------------------------------------
# Shared helpers


def variant_colors(variants: Iterable[str]) -> dict[str, Color]:
    """One colour per variant, stable across figures.

    Parameters
    ----------
    variants
        Variant names in a fixed order (e.g. ``list(result.variants)``); duplicates are
        ignored. The same order always gives the same colours.

    Returns
    -------
    dict[str, Color]
        Variant name → hex colour; colour-blind-safe hues first, cycling after ten.
    """
    names = list(dict.fromkeys(str(v) for v in variants))
    return {
        name: to_hex(_VARIANT_PALETTE[i % len(_VARIANT_PALETTE)]) for i, name in enumerate(names)
    }


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` as a PNG, atomically.

    The image goes to a temporary file in the target folder first and is renamed over
    ``path`` only once complete, so a reader never sees a half-written file.

    Parameters
    ----------
    fig
        The figure (from this module or any :class:`~matplotlib.figure.Figure`).
    path
        Target file; its folder is created if missing. Written as PNG whatever the suffix.
    dpi
        Resolution in dots per inch.

    Returns
    -------
    Path
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            fig.savefig(stream, format="png", dpi=dpi)
        os.chmod(temp_name, 0o644)  # mkstemp makes it owner-only; a figure is for sharing
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    figsize: tuple[float, float],
    sharex: bool = False,
    height_ratios: Sequence[float] | None = None,
) -> tuple[Figure, list[Axes]]:
    """A figure on its own Agg canvas (no pyplot), constrained layout, and its axes."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(
        nrows,
        ncols,
        sharex=sharex,
        squeeze=False,
        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None,
    )
    return fig, [ax for row in grid for ax in row]


def _colors_for(names: Sequence[str], colors: Mapping[str, Color] | None) -> dict[str, Color]:
    """``colors`` completed with :func:`variant_colors` for names it does not cover."""
    chosen = variant_colors(names)
    if colors:
        chosen.update({k: v for k, v in colors.items() if k in chosen})
    return chosen


def _ordered_unique(values: pd.Series) -> list[str]:
    """Distinct values as strings, in order of first appearance."""
    return [str(v) for v in dict.fromkeys(values.tolist())]


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {', '.join(missing)}; it has: {', '.join(map(str, frame))}"
        )


def _level_index(values: pd.Series) -> np.ndarray:
    """Threat level names → 0 (secured) … 3 (high); anything else → NaN."""
    ranks = {level.label: float(level.value - ThreatLevel.SECURED) for level in ThreatLevel}
    return np.array([ranks.get(str(v), np.nan) for v in values], dtype=float)


def _thousands(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.1f}"


# ---------------------------------------------------------------------------------------
# 1. Exposure vs friction

_METRIC_LABELS: Final = {
    "launches": "launches (count)",
    "unneeded_blocks": "unneeded blocks (threat-level blocks, true level within max)",
    "unneeded_wipes": "unneeded wipes (threat-level wipes, true level within max)",
    "unneeded_denials": "unneeded denials (threat-level blocks + wipes, true level within max)",
    "onboarding_blocks": "onboarding blocks (count)",
    "blocked_user_minutes": "blocked user-minutes",
    "blocked_user_minutes_threat": "user-minutes blocked for threat level",
    "blocked_user_minutes_onboarding": "user-minutes blocked for Defender onboarding",
    "blocked_user_minutes_offline": "user-minutes blocked for being offline",
    "wipes": "wipes (count)",
    "time_to_protect_median_min": "median time to protect (minutes)",
    "time_to_protect_p95_min": "95th-percentile time to protect (minutes)",
    "never_enforced": "episodes above max never enforced",
}


def metric_label(metric: str) -> str:
    """An axis label with units for a metric column (``exposed_minutes_medium`` → …).

    Parameters
    ----------
    metric
        A column of :func:`simulator.analysis.metrics.compute_metrics`.

    Returns
    -------
    str
        E.g. ``"exposed minutes at ≥ medium (device-minutes of granted sessions)"``;
        unknown metrics get their name, with ``(minutes)`` if it ends in ``_min``.
    """
    for prefix, unit in (
        ("exposed_minutes_", "device-minutes of granted sessions"),
        ("exposed_launches_", "granted launches"),
    ):
        if metric.startswith(prefix):
            return f"{prefix[:-1].replace('_', ' ')} at ≥ {metric[len(prefix) :]} ({unit})"
    if metric in _METRIC_LABELS:
        return _METRIC_LABELS[metric]
    if metric.endswith("_min"):
        return f"{metric[:-4].replace('_', ' ')} (minutes)"
    return metric.replace("_", " ")


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
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    # A little room below the lowest value, so markers at 0 are not cut by the axis.
    return lo - 0.04 * span, hi + room * span


class _Point(NamedTuple):
    """A point to label, with the variants drawn on it (several when they coincide)."""

    x: float
    y: float
    members: list[tuple[str, Color]]


def _error_bar(
    ax: Axes,
    i: int,
    x: np.ndarray,
    y: np.ndarray,
    xerr: np.ndarray | None,
    yerr: np.ndarray | None,
    color: Color,
) -> None:
    """Variant ``i``'s confidence-interval bars (nothing when neither axis has any)."""
    if xerr is None and yerr is None:
        return
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


def _step_curve(
    ax: Axes, xs: np.ndarray, ys: np.ndarray, color: Color, index: int, label: str
) -> None:
    """One variant's step curve. Earlier curves thicker and solid, later ones thinner and
    dashed: identical curves (common when variants differ only in action) stay visible."""
    ax.step(
        xs,
        ys,
        where="post",
        color=color,
        linewidth=max(1.2, 3.4 - 0.7 * index),
        linestyle=_LINESTYLES[index % len(_LINESTYLES)],
        label=label,
    )


def exposure_friction(
    metrics: pd.DataFrame,
    *,
    exposure: str = "exposed_minutes_medium",
    friction: str | Sequence[str] = DEFAULT_FRICTION,
    segment: tuple[str, str] = ("all", "all"),
    colors: Mapping[str, Color] | None = None,
    include_zero: bool = True,
) -> Figure:
    """Exposure (x) against friction (y), one point per policy variant.

    Parameters
    ----------
    metrics
        One row per variant × segment, as :func:`simulator.analysis.metrics.compute_metrics`
        returns: columns ``variant``, ``segment_by``, ``segment``, ``exposure`` and every
        ``friction`` metric. Optional ``<metric>_ci_low`` / ``<metric>_ci_high`` columns
        (replicated runs) are drawn as error bars.
    exposure
        The exposure metric for the x axis (risk that got through; per run).
    friction
        One friction metric, or several for small multiples: one panel each, shared x.
        Default :data:`DEFAULT_FRICTION`: unneeded denials, user-minutes blocked for
        threat level, wipes — the friction the threshold itself causes.
    segment
        ``(segment_by, segment)`` to plot, e.g. ``("management", "mam_we")``.
    colors
        Variant → colour; default :func:`variant_colors` in order of appearance.
    include_zero
        Start both axes at 0 (default), so distances to the best corner compare honestly;
        False zooms onto the points, for variants that differ little.

    Returns
    -------
    Figure
        One panel per friction metric. Points are labelled with the variant name (points
        that coincide share one label listing each variant); with more than eight
        variants a legend replaces the labels. Lower-left is better on every panel.

    Raises
    ------
    ValueError
        If a column is missing, the segment has no rows, or a variant has several rows.
    """
    frictions = [friction] if isinstance(friction, str) else list(friction)
    if not frictions:
        raise ValueError("friction: give at least one metric")
    _require_columns(metrics, ["variant", "segment_by", "segment", exposure, *frictions], "metrics")
    by, name = segment
    rows = metrics[(metrics["segment_by"] == by) & (metrics["segment"] == name)]
    if rows.empty:
        present = sorted(
            {
                (str(a), str(b))
                for a, b in zip(metrics["segment_by"], metrics["segment"], strict=True)
            }
        )
        raise ValueError(f"no metrics rows for segment {segment}; present: {present}")
    if rows["variant"].duplicated().any():
        raise ValueError(
            "metrics has several rows per variant for this segment; aggregate replications "
            "first (with _ci_low/_ci_high columns for their interval)"
        )
    rows = rows.reset_index(drop=True)
    variants = _ordered_unique(rows["variant"])
    palette = _colors_for(variants, colors)
    use_legend = len(variants) > _MAX_DIRECT_LABELS

    n = len(frictions)
    width = _PANEL_SIZE[0] * n + 0.3 if n > 1 else _SINGLE_PANEL_WIDTH
    legend_columns = max(1, min(4, int(width / _legend_entry_width(variants))))
    legend_rows = math.ceil(len(variants) / legend_columns) if use_legend else 0
    fig, axes = _new_figure(1, n, figsize=(width, _PANEL_SIZE[1] + 0.2 * legend_rows), sharex=True)
    x = pd.to_numeric(rows[exposure]).to_numpy(dtype=float)
    xerr = _errors(rows, exposure)
    x_limits = _axis_limits(x, xerr, room=0.3, include_zero=include_zero)
    points_per_axis: list[list[_Point]] = []
    segments_per_axis: list[list[tuple[float, float, float, float]]] = []
    for ax, metric in zip(axes, frictions, strict=True):
        y = pd.to_numeric(rows[metric]).to_numpy(dtype=float)
        yerr = _errors(rows, metric)
        segments_per_axis.append(_error_segments(x, y, xerr, yerr))
        for i, variant in enumerate(variants):
            color = palette[variant]
            _error_bar(ax, i, x, y, xerr, yerr, color)
            ax.scatter(
                [x[i]],
                [y[i]],
                s=60,
                marker=_POINT_MARKERS[(i // len(_VARIANT_PALETTE)) % len(_POINT_MARKERS)],
                color=color,
                edgecolors="white",
                linewidths=0.8,
                zorder=3,
                label=variant,
            )
        ax.set_xlim(*x_limits)
        ax.set_ylim(*_axis_limits(y, yerr, room=0.2, include_zero=include_zero))
        ax.set_ylabel(_wrap_label(metric_label(metric)))
        ax.set_xlabel(_wrap_label(metric_label(exposure)))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=_TICK_STEPS))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(True, color="#e5e5e5", linewidth=0.8, zorder=0)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelbottom=True)
        points_per_axis.append(_coincident_points(x, y, variants, palette))

    where = "" if segment == ("all", "all") else f" — {by} = {name}"
    title = f"Exposure vs friction per policy variant{where}"
    fits = len(title) + 23 < width * 72 / 7.0  # characters at the title's ~12 pt size
    fig.suptitle(f"{title}: lower-left is better" if fits else f"{title}\n(lower-left is better)")
    if use_legend:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=legend_columns,
            fontsize="small",
            frameon=False,
        )
    else:
        fig.draw_without_rendering()  # the layout gives the axes their final place
        for ax, points, segments in zip(axes, points_per_axis, segments_per_axis, strict=True):
            _place_labels(ax, points, segments)
    return fig


def _legend_entry_width(labels: Sequence[str]) -> float:
    """Rough width (inches) of a small-font legend entry for the longest label."""
    return 0.45 + 0.075 * max((len(label) for label in labels), default=0)


def _wrap_label(label: str) -> str:
    """Put a long label's parenthesised unit on its own line, so it fits one panel."""
    head, paren, unit = label.partition(" (")
    return f"{head}\n({unit}" if paren and len(label) > 40 else label


def _error_segments(
    x: np.ndarray, y: np.ndarray, xerr: np.ndarray | None, yerr: np.ndarray | None
) -> list[tuple[float, float, float, float]]:
    """The error bars as data-space segments (x0, y0, x1, y1), for label placement."""
    segments: list[tuple[float, float, float, float]] = []
    for i in range(x.size):
        if xerr is not None:
            segments.append((x[i] - xerr[0, i], y[i], x[i] + xerr[1, i], y[i]))
        if yerr is not None:
            segments.append((x[i], y[i] - yerr[0, i], x[i], y[i] + yerr[1, i]))
    return segments


def _coincident_points(
    x: np.ndarray, y: np.ndarray, variants: Sequence[str], palette: Mapping[str, Color]
) -> list[_Point]:
    """Group variants whose points are equal (to 1e-9 relative) so they share a label."""
    points: list[_Point] = []
    for i, variant in enumerate(variants):
        if not (math.isfinite(x[i]) and math.isfinite(y[i])):
            continue
        for point in points:
            if math.isclose(point.x, x[i], rel_tol=1e-9, abs_tol=1e-12) and math.isclose(
                point.y, y[i], rel_tol=1e-9, abs_tol=1e-12
            ):
                point.members.append((variant, palette[variant]))
                break
        else:
            points.append(_Point(float(x[i]), float(y[i]), [(variant, palette[variant])]))
    return points


# Label offsets from the point (points: right/up positive), best first; the far ring gets
# a leader line.
_NEAR: Final = ((7, 5), (7, -5), (-7, 5), (-7, -5), (0, 9), (0, -9), (9, 0), (-9, 0))
_RINGS: Final = (1.0, 2.6, 4.5)


def _place_labels(
    ax: Axes, points: Sequence[_Point], segments: Sequence[tuple[float, float, float, float]]
) -> None:
    """Label each point next to it, greedily choosing offsets that overlap nothing.

    Candidates ring the point, near first, then further out with a leader line. A
    candidate's cost is its overlap with labels already placed and with markers (heavy),
    with error bars (``segments``: x0, y0, x1, y1 in data space; light, as labels have a
    translucent background), any part outside the axes, and a penalty per ring out; the
    cheapest wins (ties: the first tried). Call after the layout has run.
    """
    fig = ax.get_figure()
    assert fig is not None
    scale = fig.dpi / 72.0
    half = 6.0 * scale
    to_display = ax.transData.transform
    anchors = [to_display((p.x, p.y)) for p in points]
    obstacles = [
        (Bbox.from_bounds(px - half, py - half, 2 * half, 2 * half), _HARD) for px, py in anchors
    ]
    for x0, y0, x1, y1 in segments:
        (a, b), (c, d) = to_display((x0, y0)), to_display((x1, y1))
        bar = Bbox([[min(a, c) - 1, min(b, d) - 1], [max(a, c) + 1, max(b, d) + 1]])
        obstacles.append((bar, _SOFT))
    frame = ax.get_window_extent()
    order = sorted(range(len(points)), key=lambda i: (points[i].x, points[i].y))
    for i in order:
        point, (px, py) = points[i], anchors[i]
        probe = _label_box(point, 0.0, 0.0, leader=False)
        ax.add_artist(probe)
        width, height = probe.get_window_extent().size
        probe.remove()
        best: tuple[float, float, float, float, Bbox] | None = None
        for ring in _RINGS:
            for dx, dy in _NEAR:
                ox, oy = dx * ring, dy * ring
                box = Bbox.from_bounds(
                    px + ox * scale - _alignment(ox) * width,
                    py + oy * scale - _alignment(oy) * height,
                    width,
                    height,
                )
                cost = sum(weight * _overlap(box, other) for other, weight in obstacles)
                cost += _HARD * (width * height - _overlap(box, frame))
                cost += _RING_PENALTY * (ring - 1.0) * width * height
                if best is None or cost < best[0]:
                    best = (cost, ox, oy, ring, box)
        assert best is not None
        _, ox, oy, ring, box = best
        ax.add_artist(_label_box(point, ox, oy, leader=ring > 1.0))
        obstacles.append((box, _HARD))


_HARD: Final = 10.0
"""Cost weight of overlapping a label or marker, or leaving the axes (per pixel²)."""
_SOFT: Final = 0.25
"""Cost weight of a label lying over an error bar (per pixel²)."""
_RING_PENALTY: Final = 0.15
"""Cost of moving a label one ring further out, as a share of its area."""


def _alignment(offset: float) -> float:
    """Box alignment for an offset: left/bottom edge at the anchor when positive."""
    return 0.0 if offset > 0 else 1.0 if offset < 0 else 0.5


def _label_box(point: _Point, dx: float, dy: float, *, leader: bool) -> AnnotationBbox:
    """The variant names of ``point`` in their colours, offset by (dx, dy) points."""
    lines: list[Artist] = [
        TextArea(name, textprops={"color": color, "fontsize": 8, "fontweight": "bold"})
        for name, color in point.members
    ]
    box = VPacker(children=lines, align="left", pad=0, sep=1)
    label = AnnotationBbox(
        box,
        (point.x, point.y),
        xybox=(dx, dy),
        xycoords="data",
        boxcoords="offset points",
        box_alignment=(_alignment(dx), _alignment(dy)),
        frameon=True,
        pad=0.15,
        bboxprops={"facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.6} if leader else None,
        annotation_clip=False,
        zorder=4,
    )
    label.set_in_layout(False)
    return label


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area of the intersection of two display-space boxes (0 if disjoint)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return float(max(width, 0.0) * max(height, 0.0))


# ---------------------------------------------------------------------------------------
# 2. Time to protect


def time_to_protect(
    outcomes: pd.DataFrame,
    *,
    management: str | None = None,
    colors: Mapping[str, Color] | None = None,
) -> Figure:
    """How fast each variant protects: an ECDF of time to protect per variant.

    Only episodes above the variant's max allowed level count (``over_max``). Each curve
    is the share of those episodes protected (onset → first threat-level denial on the
    device) within a time; it ends at 1 − the share never enforced, which the legend
    states. The x axis is logarithmic, ticked in minutes, hours and days.

    Parameters
    ----------
    outcomes
        One row per variant × episode, as :func:`simulator.analysis.metrics.episode_outcomes`
        returns: columns ``variant``, ``over_max`` (bool), ``time_to_protect_min`` (NaN
        when never enforced) and ``never_enforced`` (bool); ``management`` if filtering.
    management
        Only episodes on devices of this management set-up (default: all).
    colors
        Variant → colour; default :func:`variant_colors` in order of appearance.

    Returns
    -------
    Figure
        One axes; a variant with no episode above its max is listed in the legend with no
        curve, one whose episodes were never enforced gets a flat line at 0.
    """
    _require_columns(
        outcomes, ["variant", "over_max", "time_to_protect_min", "never_enforced"], "outcomes"
    )
    variants = _ordered_unique(outcomes["variant"])
    palette = _colors_for(variants, colors)
    rows = outcomes
    if management is not None:
        _require_columns(outcomes, ["management"], "outcomes")
        rows = rows[rows["management"] == management]
    rows = rows[rows["over_max"].astype(bool).to_numpy()]

    curves: list[tuple[str, int, float, np.ndarray]] = []
    for variant in variants:
        sub = rows[rows["variant"] == variant]
        never = sub["never_enforced"].astype(bool).to_numpy()
        ttp = pd.to_numeric(sub["time_to_protect_min"]).to_numpy(dtype=float)
        enforced = np.sort(np.clip(ttp[~never & np.isfinite(ttp)], _TTP_FLOOR_MIN, None))
        share = float(never.mean()) if len(sub) else math.nan
        curves.append((variant, len(sub), share, enforced))
    lo, hi = _log_limits(np.concatenate([c[3] for c in curves]))
    labels = [
        f"{variant} (n={n}, never enforced: {never_share:.0%})"
        if n
        else f"{variant} (no episodes above its max)"
        for variant, n, never_share, _ in curves
    ]
    columns, height = _legend_layout(labels)

    fig, (ax,) = _new_figure(figsize=(8.0, height))
    for index, ((variant, n, _, times), label) in enumerate(zip(curves, labels, strict=True)):
        color = palette[variant]
        if n == 0:
            ax.plot([], [], color=color, linewidth=2.0, label=label)
            continue
        xs = np.concatenate([[lo], times, [hi]])
        ys = np.concatenate([[0.0], np.arange(1, times.size + 1) / n, [times.size / n]])
        _step_curve(ax, xs, ys, color, index, label)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    _duration_ticks(ax, lo, hi)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlabel("time to protect: threat onset → first threat-level denial (log scale)")
    ax.set_ylabel("episodes above max allowed level\nprotected (cumulative share)")
    where = "" if management is None else f" — {management} devices"
    fig.suptitle(f"Time to protect per policy variant{where}: higher and further left is better")
    fig.legend(loc="outside lower center", ncols=columns, fontsize="small", frameon=False)
    return fig


def _legend_layout(labels: Sequence[str]) -> tuple[int, float]:
    """Legend columns for a one-axes figure 8 inches wide (two when labels are short)
    and the figure height (inches) that keeps the axes as tall whatever the legend."""
    longest = max((len(label) for label in labels), default=0)
    columns = 1 if longest > 45 or len(labels) < 2 else 2
    rows = math.ceil(len(labels) / columns)
    return columns, _ONE_AXES_HEIGHT + _LEGEND_ROW_HEIGHT * rows


_ONE_AXES_HEIGHT: Final = 4.9
"""Height (inches) of a one-axes figure without its legend: title, axes, x label."""
_LEGEND_ROW_HEIGHT: Final = 0.18
"""Height (inches) of one row of a small-font legend."""


_LINESTYLES: Final = ("-", (0, (5, 2)), (0, (3, 1.5, 1, 1.5)), (0, (1, 1.2)))


def _log_limits(times: np.ndarray) -> tuple[Minutes, Minutes]:
    """Round log-axis limits (minutes) around ``times``, on tick values where possible."""
    ticks = [t for t, _ in _TIME_TICKS]
    if times.size == 0:
        return ticks[0], 30 * MINUTES_PER_DAY
    low, high = float(times.min()), float(times.max()) * 1.3
    lo = max((t for t in ticks if t <= low), default=low / 1.5)
    hi = min((t for t in ticks if t >= high), default=high * 1.5)
    return lo, max(hi, lo * 10)


def _duration_ticks(ax: Axes, lo: Minutes, hi: Minutes) -> None:
    """Readable major ticks (5m, 30m, 2h, 1d, 7d …) on a log axis in minutes."""
    chosen = [(t, text) for t, text in _TIME_TICKS if lo <= t <= hi]
    if len(chosen) < 2:
        chosen = [(lo, _format_minutes(lo)), (hi, _format_minutes(hi))]
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in chosen]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _format_minutes(v)))
    ax.xaxis.set_minor_locator(NullLocator())


def _format_minutes(value: Minutes) -> str:
    """A tick label: ``45s``, ``30m``, ``2h``, ``1.5d``."""
    for size, unit in ((MINUTES_PER_DAY, "d"), (MINUTES_PER_HOUR, "h"), (1.0, "m")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value * 60:.3g}s"


# ---------------------------------------------------------------------------------------
# 3. One device's story

_LEVEL_NAMES: Final = [level.label for level in ThreatLevel]
_SHORT_WINDOW_MIN: Final = 2 * MINUTES_PER_DAY
"""Windows up to this long (minutes) get an x axis in hours, longer ones in days."""


def pick_interesting_device(decisions: pd.DataFrame, episodes: pd.DataFrame, variant: str) -> str:
    """A device worth a :func:`device_timeline` under ``variant``, chosen deterministically.

    Prefers devices that had a threat episode *and* at least one threat-level denial
    (most such denials first); otherwise the device with most decision-log rows. Ties go
    to the smallest device name.

    Parameters
    ----------
    decisions
        The decision log (:data:`simulator.sim.log.DECISION_COLUMNS`).
    episodes
        Threat episodes (:data:`simulator.sim.log.EPISODE_COLUMNS`).
    variant
        The policy variant.

    Raises
    ------
    ValueError
        If ``variant`` has no decision-log rows.
    """
    rows = decisions[decisions["variant"] == variant]
    if rows.empty:
        raise ValueError(
            f"no decision-log rows for variant {variant!r}; variants: "
            + ", ".join(_ordered_unique(decisions["variant"]))
        )
    with_episode = set(map(str, episodes.loc[episodes["variant"] == variant, "device"]))
    denials = rows[
        (rows["reason"] == Reason.THREAT_LEVEL_EXCEEDED.value)
        & (rows["outcome"] != Outcome.ALLOW.value)
    ]
    counts = denials["device"].astype(str).value_counts()
    candidates = [(-int(c), str(d)) for d, c in counts.items() if str(d) in with_episode]
    if not candidates:
        candidates = [
            (-int(c), str(d)) for d, c in rows["device"].astype(str).value_counts().items()
        ]
    return min(candidates)[1]


def device_timeline(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    device: str,
    variant: str,
    *,
    start_min: Minutes | None = None,
    end_min: Minutes | None = None,
    horizon_min: Minutes | None = None,
) -> Figure:
    """One device's story under one variant: threat levels, episodes, launches, decisions.

    The top panel shows four threat levels as step lines, slightly offset so that equal
    levels stay visible: the device's **true** level, reconstructed from its episodes
    (highest severity among those with onset ≤ t < end); and the level **Defender**
    reported, the level **Intune** held and the level each **app knew**, as recorded on
    the device's decision-log rows — step functions *sampled at rows*, so a change
    between two rows shows only at the next row. Threat episodes are shaded from onset
    to end, labelled with kind and severity, with Defender's detection marked.

    The bottom panel has one lane per app: launches (▲) and check-ins (●) coloured by
    outcome (allow green, block orange, wipe red; a denial is filled when it was for threat
    level, hollow for another reason such as offline or Defender not activated), and
    granted sessions as thin bars.

    Parameters
    ----------
    decisions
        The decision log (:data:`simulator.sim.log.DECISION_COLUMNS`), any variants.
    episodes
        Threat episodes (:data:`simulator.sim.log.EPISODE_COLUMNS`).
    device
        Device name (e.g. from :func:`pick_interesting_device`).
    variant
        The policy variant.
    start_min, end_min
        Window on the simulation clock, minutes; default from 0 to the device's last
        event (decision row, session end, episode onset or finite episode end), never past
        the horizon. Windows up to two days are drawn in hours, longer ones in days.
    horizon_min
        End of the simulated time, minutes (the scenario's horizon): the default window
        stops there, although an episode's recorded end may lie beyond it. Without it the
        default window stops at the device's last decision row or session end, or its last
        episode onset, whichever is later (episode ends count only up to that point).

    Raises
    ------
    ValueError
        If the device has no rows under the variant, or the window is empty.
    """
    rows = decisions[(decisions["device"] == device) & (decisions["variant"] == variant)]
    if rows.empty:
        raise ValueError(f"no decision-log rows for device {device!r} under variant {variant!r}")
    rows = rows.sort_values("time_min", kind="stable")
    eps = episodes[(episodes["device"] == device) & (episodes["variant"] == variant)]
    eps = eps.sort_values("onset_min", kind="stable")
    start = 0.0 if start_min is None else float(start_min)
    if end_min is None:
        last = max(rows["time_min"].max(), rows["session_end_min"].max(), *eps["onset_min"])
        limit = float(last) if horizon_min is None else float(horizon_min)
        ends = [last, *(e for e in eps["end_min"] if math.isfinite(e))]
        end = min(float(max(ends)), limit)
    else:
        end = float(end_min)
    if not end > start:
        raise ValueError(f"empty window: start_min={start} ≥ end_min={end}")
    scale, unit = (
        (MINUTES_PER_HOUR, "hours")
        if end - start <= _SHORT_WINDOW_MIN
        else (MINUTES_PER_DAY, "days")
    )
    apps = sorted(_ordered_unique(rows["app"]))

    fig, (top, bottom) = _new_figure(
        2, 1, figsize=(12.0, 6.4), sharex=True, height_ratios=(2.2, 0.5 + 0.45 * len(apps))
    )
    _level_lines(top, rows, eps, apps, start, end, scale)
    _shade_episodes(top, bottom, eps, start, end, scale)
    _activity_lanes(bottom, rows, apps, start, end, scale)
    bottom.set_xlim(start / scale, end / scale)
    if unit == "hours":
        day = int(start // MINUTES_PER_DAY)
        hint = f"; day {day} starts at {day * 24:g} h" if day > 0 else ""
        bottom.set_xlabel(f"time since scenario start (hours{hint})")
    else:
        bottom.set_xlabel("time since scenario start (days)")
    steps = [1, 2, 3, 6, 10] if unit == "hours" else [1, 2, 5, 7, 10]
    bottom.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=steps))
    management = str(rows["management"].iloc[0])
    fig.suptitle(f"Device {device} ({management}) under “{variant}”")
    top.set_title(
        "True level reconstructed from threat episodes; Defender, Intune and app levels as "
        "recorded on decision-log rows (sampled at rows)",
        fontsize="small",
        loc="left",
        color="#444444",
    )
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    bottom.legend(
        handles=_activity_legend(),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
        frameon=False,
    )
    return fig


def _level_lines(
    ax: Axes,
    rows: pd.DataFrame,
    eps: pd.DataFrame,
    apps: Sequence[str],
    start: Minutes,
    end: Minutes,
    scale: float,
) -> None:
    """Step lines: true level (from episodes), then Defender, Intune and each app's."""
    series: list[tuple[str, np.ndarray, np.ndarray, Color, float]] = [
        ("true level (from episodes)", *_true_level(eps, start, end), "#111111", 2.4),
        ("Defender reported", *_sampled(rows, "defender_level", end), "#0072b2", 1.6),
        ("Intune held", *_sampled(rows, "intune_level", end), "#cc79a7", 1.6),
    ]
    app_colors = ("#009e73", "#8c564b", "#e69f00", "#56b4e9")
    for i, app in enumerate(apps):
        app_rows = rows[rows["app"] == app]
        series.append(
            (f"{app} knew", *_sampled(app_rows, "known_level", end), app_colors[i % 4], 1.3)
        )
    offsets = np.linspace(0.15, -0.15, len(series))
    for (label, times, levels, color, width), offset in zip(series, offsets, strict=True):
        ax.step(
            times / scale,
            levels + offset,
            where="post",
            color=color,
            linewidth=width,
            label=label,
            zorder=3,
        )
    ax.set_yticks(range(len(_LEVEL_NAMES)), _LEVEL_NAMES)
    ax.set_ylim(-0.45, len(_LEVEL_NAMES) - 0.1 + 0.45)
    ax.set_ylabel("threat level")
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)


def _true_level(eps: pd.DataFrame, start: Minutes, end: Minutes) -> tuple[np.ndarray, np.ndarray]:
    """The true level as a step function: change times (minutes) and level indices."""
    onsets = eps["onset_min"].to_numpy(dtype=float)
    stops = eps["end_min"].to_numpy(dtype=float)
    severity = _level_index(eps["severity"])
    times = np.unique(np.concatenate([[min(start, 0.0)], onsets, stops[np.isfinite(stops)]]))
    times = times[times <= end]
    levels = np.zeros(times.size)
    for onset, stop, level in zip(onsets, stops, severity, strict=True):
        active = (times >= onset) & (times < stop)
        levels[active] = np.fmax(levels[active], level)
    return np.append(times, end), np.append(levels, levels[-1])


def _sampled(rows: pd.DataFrame, column: str, end: Minutes) -> tuple[np.ndarray, np.ndarray]:
    """A level column of decision-log rows as a step function held until the next row."""
    times = rows["time_min"].to_numpy(dtype=float)
    levels = _level_index(rows[column])
    if times.size == 0:
        return np.array([]), np.array([])
    keep = np.ones(times.size, dtype=bool)
    keep[1:] = levels[1:] != levels[:-1]
    times, levels = times[keep], levels[keep]
    return np.append(times, max(end, times[-1])), np.append(levels, levels[-1])


def _shade_episodes(
    top: Axes, bottom: Axes, eps: pd.DataFrame, start: Minutes, end: Minutes, scale: float
) -> None:
    """Shade each episode (onset → end) on both panels; label kind and severity on top."""
    seen: set[str] = set()
    last_label_x = -math.inf
    stagger = 0
    for kind, severity, onset, stop, detected in zip(
        eps["kind"].astype(str),
        eps["severity"].astype(str),
        eps["onset_min"].to_numpy(dtype=float),
        eps["end_min"].to_numpy(dtype=float),
        eps["detected_min"].to_numpy(dtype=float),
        strict=True,
    ):
        if stop < start or onset > end:
            continue
        shade = _SEVERITY_SHADES.get(severity, "#dddddd")
        label = None if severity in seen else f"{severity} threat episode"
        seen.add(severity)
        left, right = max(onset, start) / scale, min(stop, end) / scale
        top.axvspan(left, right, color=shade, alpha=0.7, linewidth=0, label=label, zorder=1)
        bottom.axvspan(left, right, color=shade, alpha=0.7, linewidth=0, zorder=1)
        # Stagger labels of episodes that start close together.
        near = (left - last_label_x) < 0.06 * (end - start) / scale
        stagger = (stagger + 1) % 3 if near else 0
        last_label_x = left
        top.annotate(
            f"{kind} ({severity})",
            (left, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -3 - 10 * stagger),
            textcoords="offset points",
            fontsize=7,
            color="#4b3a6b",
            va="top",
            ha="left",
            annotation_clip=True,
        )
        if start <= detected <= end and detected <= stop:
            top.axvline(
                detected / scale,
                color="#0072b2",
                linestyle=":",
                linewidth=1.0,
                zorder=2,
                label=None if "detected" in seen else "Defender detected the episode",
            )
            seen.add("detected")


def _activity_lanes(
    ax: Axes, rows: pd.DataFrame, apps: Sequence[str], start: Minutes, end: Minutes, scale: float
) -> None:
    """Per app lane: granted sessions as bars, launches and check-ins as markers."""
    window = rows[(rows["time_min"] <= end) & (rows["session_end_min"] >= start)]
    for lane, app in enumerate(apps):
        app_rows = window[window["app"] == app]
        launches = app_rows[app_rows["trigger"] == Trigger.LAUNCH.value]
        granted = launches[launches["outcome"] == Outcome.ALLOW.value]
        ax.hlines(
            np.full(len(granted), lane),
            granted["time_min"].to_numpy(dtype=float) / scale,
            granted["session_end_min"].to_numpy(dtype=float) / scale,
            color="#7f7f7f",
            linewidth=2.5,
            alpha=0.6,
            zorder=2,
        )
        # The y axis is inverted: launches above the session bar, check-ins below.
        for trigger, dy in ((Trigger.LAUNCH.value, -0.22), (Trigger.CHECKIN.value, 0.22)):
            events = app_rows[app_rows["trigger"] == trigger]
            threat = (events["reason"] == Reason.THREAT_LEVEL_EXCEEDED.value).to_numpy()
            for outcome, color in _OUTCOME_COLORS.items():
                is_outcome = (events["outcome"] == outcome).to_numpy()
                denial = outcome != Outcome.ALLOW.value
                for filled in (True, False) if denial else (True,):
                    chosen = events[is_outcome & (threat == filled if denial else True)]
                    if chosen.empty:
                        continue
                    ax.scatter(
                        chosen["time_min"].to_numpy(dtype=float) / scale,
                        np.full(len(chosen), lane + dy),
                        marker=_TRIGGER_MARKERS[trigger],
                        s=30 if denial else 14,
                        facecolors=color if filled else "white",
                        edgecolors=("black" if filled else color) if denial else "none",
                        linewidths=0.5 if filled else 1.1,
                        zorder=4 if denial else 3,
                    )
    ax.set_yticks(range(len(apps)), list(apps))
    ax.set_ylim(-0.6, len(apps) - 0.4)
    ax.invert_yaxis()
    ax.set_ylabel("app")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.6g}"))


def _activity_legend() -> list[Line2D | Patch]:
    """Proxy handles: shape = trigger, colour = outcome, fill = reason, grey bar = session."""
    handles: list[Line2D | Patch] = [
        Line2D([], [], marker="^", linestyle="none", color="#555555", label="launch"),
        Line2D(
            [], [], marker="o", linestyle="none", color="#555555", markersize=5, label="check-in"
        ),
        Line2D([], [], color="#7f7f7f", linewidth=2.5, alpha=0.6, label="granted session"),
    ]
    handles += [Patch(color=color, label=outcome) for outcome, color in _OUTCOME_COLORS.items()]
    block = _OUTCOME_COLORS[Outcome.BLOCK.value]
    handles += [
        Line2D(
            [],
            [],
            marker="s",
            linestyle="none",
            markerfacecolor=block,
            markeredgecolor="black",
            markeredgewidth=0.5,
            label="filled: threat-level denial",
        ),
        Line2D(
            [],
            [],
            marker="s",
            linestyle="none",
            markerfacecolor="white",
            markeredgecolor=block,
            markeredgewidth=1.1,
            label="hollow: denied for another reason\n(offline, Defender not activated…)",
        ),
    ]
    return handles


# ---------------------------------------------------------------------------------------
# 4. Onboarding


def onboarding_funnel(
    devices: pd.DataFrame,
    horizon_min: Minutes,
    *,
    variant: str | None = None,
    log_time: bool = True,
) -> Figure:
    """Share of devices with Defender activated over time, one line per management set-up.

    Parameters
    ----------
    devices
        One row per device (per variant), as :data:`simulator.sim.log.DEVICE_COLUMNS`:
        ``management`` and ``activated_min`` (minutes; ``inf`` = never activated;
        0 = activated before the start), and ``variant`` if several variants are present.
    horizon_min
        End of the run, minutes (the x axis ends there).
    variant
        The variant whose devices to count (onboarding can depend on the policy, which
        redirects users to Defender); default: the first variant in ``devices``.
    log_time
        Logarithmic time axis from 1 minute (default): onboarding happens mostly in the
        first hours, which a linear axis over weeks squeezes against the left edge.
        Devices activated before 1 minute count from the left edge. False: linear, in days.

    Returns
    -------
    Figure
        One axes, y as a share; the legend gives each set-up's device count and the share
        activated by the end.
    """
    _require_columns(devices, ["management", "activated_min"], "devices")
    if not horizon_min > 0:
        raise ValueError(f"horizon_min must be > 0, got {horizon_min}")
    rows = devices
    if "variant" in devices.columns and len(devices):
        chosen = variant if variant is not None else _ordered_unique(devices["variant"])[0]
        rows = devices[devices["variant"] == chosen]
        if rows.empty:
            raise ValueError(f"no devices for variant {chosen!r}")
        variant = chosen
    managements = _ordered_unique(rows["management"])
    known = [m.value for m in Management]
    managements.sort(key=lambda m: (known.index(m) if m in known else len(known), m))

    fig, (ax,) = _new_figure(figsize=(8.0, 5.0))
    left = min(1.0, horizon_min / 10) if log_time else 0.0
    unit = 1.0 if log_time else MINUTES_PER_DAY
    horizon_text = _format_minutes(horizon_min)
    extra = variant_colors(managements)
    for management in managements:
        times = rows.loc[rows["management"] == management, "activated_min"].to_numpy(dtype=float)
        n = times.size
        done = np.sort(np.clip(times[times <= horizon_min], left, None))
        xs = np.concatenate([[left], done, [horizon_min]]) / unit
        ys = np.concatenate([[0.0], np.arange(1, done.size + 1) / n, [done.size / n]])
        name = _MANAGEMENT_NAMES.get(management, management)
        ax.step(
            xs,
            ys,
            where="post",
            linewidth=2.0,
            color=_MANAGEMENT_COLORS.get(management, extra[management]),
            label=f"{name}: {n} devices, {done.size / n:.0%} activated by {horizon_text}",
        )
    if log_time:
        ax.set_xscale("log")
        ax.set_xlim(left, horizon_min)
        _duration_ticks(ax, left, horizon_min)
        ax.set_xlabel("time since scenario start (log scale)")
    else:
        ax.set_xlim(0.0, horizon_min / unit)
        ax.set_xlabel("time since scenario start (days)")
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_ylabel("devices with Defender activated (share)")
    ax.legend(loc="lower right", fontsize="small")
    suffix = "" if variant is None else f" — under “{variant}”"
    fig.suptitle(f"Defender onboarding by management set-up{suffix}")
    return fig
