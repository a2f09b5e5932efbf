"""Figures of one run's tables: time to protect, one device's story, and Defender
onboarding; and the conventions every figure of :mod:`simulator.plots` shares.

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

import io
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from simulator.analysis.explain import timeline_candidate
from simulator.durations import MINUTES_PER_DAY, MINUTES_PER_HOUR, Minutes
from simulator.policy.levels import Management, Outcome, Reason, ThreatLevel
from simulator.sim.log import Trigger

__all__ = [
    "device_timeline",
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


def png_bytes(fig: Figure, *, dpi: int = DEFAULT_DPI) -> bytes:
    """``fig`` rendered as a PNG in memory (what :func:`save_figure` would write)."""
    stream = io.BytesIO()
    fig.savefig(stream, format="png", dpi=dpi)
    return stream.getvalue()


def save_figure(
    fig: Figure | bytes, path: str | os.PathLike[str], *, dpi: int = DEFAULT_DPI
) -> Path:
    """Write ``fig`` as a PNG, atomically.

    The image goes to a temporary file in the target folder first and is renamed over
    ``path`` only once complete, so a reader never sees a half-written file.

    Parameters
    ----------
    fig
        The figure (from this module or any :class:`~matplotlib.figure.Figure`), or a PNG
        already rendered (:func:`png_bytes`), written as it is.
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
            if isinstance(fig, bytes):
                stream.write(fig)
            else:
                fig.savefig(stream, format="png", dpi=dpi)
        os.chmod(temp_name, 0o644)  # mkstemp makes it owner-only; a figure is for sharing
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def note_figure(title: str, note: str, *, figsize: tuple[float, float] = (8.0, 3.0)) -> Figure:
    """An empty panel that says why there is nothing to draw (a degenerate world: no
    launches, no threats), so that a run folder always has its figures."""
    fig, (ax,) = _new_figure(figsize=figsize)
    ax.set_axis_off()
    ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="#59636e")
    fig.suptitle(title)
    return fig


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
# 1. Time to protect


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
    lo, hi = _log_limits(np.concatenate([np.empty(0), *(c[3] for c in curves)]))
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
    if not any(n for _, n, _, _ in curves):
        ax.text(
            0.5,
            0.5,
            "no threat episode above any variant's max allowed level:\nnothing to protect",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#59636e",
        )
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
    if curves:
        fig.legend(loc="outside lower center", ncols=columns, fontsize="small", frameon=False)
    return fig


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
# 2. One device's story

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
    pick = timeline_candidate(decisions, episodes, variant)
    if pick is None:
        raise ValueError(
            f"no decision-log rows for variant {variant!r}; variants: "
            + ", ".join(_ordered_unique(decisions["variant"]))
        )
    return pick[2]


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
# 3. Onboarding


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
