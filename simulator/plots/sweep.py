"""Figures for choosing a variant: the exposure/friction frontier and exposure tails.

Two questions an architect asks of a run or a sweep:

* *Which variants are worth considering at all?* :func:`frontier`
  (:mod:`simulator.plots.frontier`) draws exposure against each friction metric, the
  Pareto-efficient variants filled; the efficiency itself is computed by
  :mod:`simulator.analysis.pareto` (:func:`pareto_efficient`, :func:`dominated_by`,
  :func:`summary_to_wide`), re-exported here for notebooks.
* *How bad can one episode get?* :func:`exceedance` draws, per variant, the share of
  threat episodes whose exposed minutes (granted-session minutes during the episode,
  :func:`simulator.analysis.metrics.episode_outcomes`) exceed *x*, on a logarithmic *x* axis.

Figures follow the conventions of :mod:`simulator.plots.run` (object API on an Agg canvas,
one colour per variant, units on every axis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simulator.analysis.pareto import (
    DEFAULT_EXPOSURE,
    DEFAULT_FRICTION,
    dominated_by,
    pareto_efficient,
    summary_to_wide,
)
from simulator.plots.frontier import axis_label, frontier
from simulator.plots.run import (
    Color,
    _colors_for,
    _duration_ticks,
    _format_minutes,
    _legend_layout,
    _log_limits,
    _new_figure,
    _ordered_unique,
    _require_columns,
    _step_curve,
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
    what = axis_label(metric) if metric != "exposed_minutes" else _EXPOSED_LABEL
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
