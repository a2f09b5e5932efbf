"""Figures (matplotlib only). Each function returns a :class:`matplotlib.figure.Figure`.

One run (:mod:`~simulator.plots.run`): :func:`exposure_friction`, :func:`time_to_protect`,
:func:`device_timeline`, :func:`onboarding_funnel`. A sweep (:mod:`~simulator.plots.sweep`):
:func:`frontier` (the exposure/friction trade-off with the Pareto-efficient variants
marked) and :func:`exceedance` (exposure tails). ``import simulator`` does not import this
package, so the library core never loads matplotlib.
"""

from __future__ import annotations

from simulator.plots.run import (
    device_timeline,
    exposure_friction,
    onboarding_funnel,
    save_figure,
    time_to_protect,
    variant_colors,
)
from simulator.plots.sweep import dominated_by, exceedance, frontier, pareto_efficient

__all__ = [
    "device_timeline",
    "dominated_by",
    "exceedance",
    "exposure_friction",
    "frontier",
    "onboarding_funnel",
    "pareto_efficient",
    "save_figure",
    "time_to_protect",
    "variant_colors",
]
