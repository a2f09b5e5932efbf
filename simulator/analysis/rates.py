"""Rates: metrics in the units people use — per 1,000 users per month, hours not minutes.

A sweep's counts and sums grow with the fleet and the horizon, so a CISO cannot read
"41,327 session-minutes" without doing arithmetic. Here every count or sum of a metric is
also given as a **rate**:

* counts and sums: ``value × 1,000 / users × 30 days / horizon`` — per 1,000 users per
  month (``users``: the run's ``users`` metric, segment ``all``);
* sums of minutes also ÷ 60: **hours** (session-hours, user-hours);
* ``users_affected``: per 1,000 users over the run (a distinct-user count has no per-month
  reading);
* quantiles of durations (``time_to_protect_median_min`` …): hours, not scaled.

Metrics that describe the fleet rather than an outcome (``devices``, ``users``) have no
rate. The factor is the same in every replication, so a rate's interval is the metric's
interval times the factor. Pure functions: no files, no plotting.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from simulator.analysis.catalogue import METRICS, Kind, label
from simulator.durations import Minutes

__all__ = [
    "MONTH_MIN",
    "PER_USERS",
    "has_rate",
    "rate_factor",
    "rate_label",
    "rate_unit",
    "rates_of_results",
    "rates_of_summary",
    "users_of",
]

MONTH_MIN: Final = 30 * 1440.0
"""A month, for rates: 30 days, in minutes."""
PER_USERS: Final = 1000.0
"""Rates are per this many users."""
_NO_RATE: Final = frozenset({"devices", "users"})
_VALUE_COLUMNS: Final = ("mean", "ci_low", "ci_high", "half_width", "sd")


def has_rate(metric: str) -> bool:
    """Whether ``metric`` is shown as a rate (a catalogue metric other than devices/users)."""
    return metric in METRICS and metric not in _NO_RATE


def rate_factor(metric: str, users: float, horizon: Minutes) -> float:
    """What a metric's value is multiplied by to give its rate (NaN: no rate).

    Parameters
    ----------
    metric
        A metric column (:data:`~simulator.analysis.catalogue.METRICS`).
    users
        Users in the run (segment ``all``), > 0.
    horizon
        The run's simulated time, minutes, > 0.
    """
    if not has_rate(metric) or not users > 0 or not horizon > 0:
        return math.nan
    kind = METRICS[metric].kind
    if kind is Kind.QUANTILE:
        return 1.0 / 60.0
    per_users = PER_USERS / users
    if metric == "users_affected":
        return per_users
    per_month = per_users * MONTH_MIN / horizon
    return per_month / 60.0 if kind is Kind.MINUTES else per_month


def _hours_unit(unit: str) -> str:
    return unit.replace("minutes", "hours")


def rate_unit(metric: str) -> str:
    """The unit of a metric's rate: ``"session-hours per 1,000 users per month"``."""
    found = METRICS[metric]
    if found.kind is Kind.QUANTILE:
        return "hours"
    if metric == "users_affected":
        return "per 1,000 users"
    return f"{_hours_unit(found.unit)} per 1,000 users per month"


def rate_label(metric: str) -> str:
    """A metric's label in its rate's terms (minutes → hours)."""
    return label(metric).replace("minutes", "hours")


def users_of(results: pd.DataFrame) -> float:
    """Users of a results or metrics table: the ``users`` metric of segment ``all`` (the
    first row; the world, hence the fleet, is the same in every replication), NaN if the
    table has none."""
    if "users" not in results.columns:
        return math.nan
    rows = results[(results["segment_by"] == "all") & results["users"].notna()]
    return float(rows["users"].iloc[0]) if len(rows) else math.nan


def rates_of_results(results: pd.DataFrame, horizon: Minutes) -> pd.DataFrame:
    """A results (or metrics) table with every metric that has a rate in rate units.

    Same rows and columns; columns without a rate (``devices``, ``users``, unknown names)
    are left as they are. ``users`` comes from the table itself (:func:`users_of`).
    """
    users = users_of(results)
    out = results.copy()
    for column in results.columns:
        factor = rate_factor(str(column), users, horizon)
        if math.isfinite(factor):
            out[column] = results[column].astype(float) * factor
    return out


def rates_of_summary(summary: pd.DataFrame, users: float, horizon: Minutes) -> pd.DataFrame:
    """A sweep's summary or paired table in rate units, with a ``unit`` column.

    Rows of metrics without a rate are dropped; ``mean``/``mean_diff``, ``ci_low``,
    ``ci_high``, ``half_width``, ``sd``/``sd_diff`` and ``unpaired_half_width`` are scaled.
    """
    keep = summary["metric"].map(lambda m: has_rate(str(m))).to_numpy(dtype=bool)
    out = summary[keep].copy()
    factors = np.array([rate_factor(str(m), users, horizon) for m in out["metric"]])
    for column in (*_VALUE_COLUMNS, "mean_diff", "sd_diff", "unpaired_half_width"):
        if column in out.columns:
            out[column] = out[column].astype(float) * factors
    out["unit"] = [rate_unit(str(m)) for m in out["metric"]]
    return out.reset_index(drop=True)
