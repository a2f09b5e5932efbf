"""Who gets hurt: how the friction of a variant is spread over the people it falls on.

:func:`blocked_hours_per_user_figure` draws, per variant, the distribution of the working
hours each *affected* user (blocked for threat level for more than one working hour,
:data:`simulator.analysis.metrics.AFFECTED_AFTER_MIN`) spent blocked — from
:func:`simulator.analysis.metrics.blocked_hours_per_user` — as a horizontal box (quartiles,
whiskers at the 5th and 95th percentiles, every user a dot), with the number affected and
the median beside it. A total of "2,400 blocked hours" reads very differently when it is
two people stuck for a week and when it is 400 people losing an afternoon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from simulator.plots.run import Color, _colors_for, _new_figure

__all__ = ["blocked_hours_per_user_figure"]


def blocked_hours_per_user_figure(
    per_user: pd.DataFrame,
    *,
    variants: Sequence[str] | None = None,
    colors: Mapping[str, Color] | None = None,
) -> Figure:
    """Blocked working hours per affected user, one row per variant.

    Parameters
    ----------
    per_user
        :func:`~simulator.analysis.metrics.blocked_hours_per_user` (``variant``, ``user``,
        ``blocked_working_hours_threat``, ``affected``).
    variants
        Row order (top to bottom); default: as first seen.
    colors
        Variant → colour.
    """
    names = list(variants) if variants is not None else list(dict.fromkeys(per_user["variant"]))
    palette = _colors_for(names, colors)
    height = 1.3 + 0.42 * len(names)
    fig, (ax,) = _new_figure(figsize=(7.2, height))
    affected = per_user[per_user["affected"].astype(bool)]
    top = float(affected["blocked_working_hours_threat"].max()) if len(affected) else 1.0
    for row, name in enumerate(names):
        y = len(names) - 1 - row
        hours = affected.loc[affected["variant"] == name, "blocked_working_hours_threat"]
        values = hours.to_numpy(dtype=float)
        if values.size == 0:
            ax.text(0.0, y, "  no user affected", va="center", fontsize="small", color="0.35")
            continue
        q05, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        color = palette[name]
        ax.plot([q05, q95], [y, y], color=color, linewidth=1.2)
        ax.add_patch(
            _box(q25, q75, y, color),
        )
        ax.plot([q50, q50], [y - 0.3, y + 0.3], color="black", linewidth=1.5)
        jitter = (np.arange(values.size) % 5 - 2) * 0.05
        ax.scatter(values, y + jitter, s=6, color=color, alpha=0.5, linewidths=0)
        ax.text(
            top * 1.06,
            y,
            f"{values.size:,} users, median {q50:,.1f} h",
            va="center",
            fontsize="small",
        )
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlim(0, top * 1.5)
    ax.set_xlabel("working hours blocked for threat level, per affected user (hours)")
    ax.set_title(
        "Who gets hurt: blocked working hours per affected user (> 1 working hour)",
        fontsize="medium",
    )
    ax.grid(axis="x", alpha=0.3)
    return fig


def _box(low: float, high: float, y: float, color: Color) -> Rectangle:
    return Rectangle(
        (low, y - 0.25), max(high - low, 1e-9), 0.5, facecolor=color, alpha=0.35, edgecolor=color
    )
