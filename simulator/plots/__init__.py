"""Figures (matplotlib only). Each function returns a :class:`matplotlib.figure.Figure`.

The trade-off of a run or a sweep (:mod:`~simulator.plots.frontier`): :func:`frontier`,
exposure against friction with the Pareto-efficient variants marked (confidence intervals
when the table has them; :func:`exposure_friction` is its former name). One run
(:mod:`~simulator.plots.run`): :func:`time_to_protect`, :func:`device_timeline`,
:func:`onboarding_funnel`. Exposure tails (:mod:`~simulator.plots.sweep`):
:func:`exceedance`. :func:`pareto_efficient` and :func:`dominated_by` are
:mod:`simulator.analysis.pareto`'s, re-exported for notebooks. ``import simulator`` binds
this package as ``simulator.plots`` lazily and does not execute it until an attribute is
read, so the library core never loads matplotlib.
"""

from __future__ import annotations

from simulator.analysis.pareto import dominated_by, pareto_efficient
from simulator.plots.frontier import exposure_friction, frontier
from simulator.plots.run import (
    device_timeline,
    onboarding_funnel,
    save_figure,
    time_to_protect,
    variant_colors,
)
from simulator.plots.sweep import exceedance

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
