"""Pareto efficiency of policy variants: which are worth considering at all.

A variant is **Pareto-efficient** when no other variant is at least as good on every
metric considered and strictly better on one. "Good" follows each metric's
:class:`~simulator.analysis.catalogue.Direction` (the exposure and friction metrics are
lower-is-better; a higher-is-better metric is compared the other way round; names outside
the catalogue count as lower-is-better). Means that differ only by rounding — within
:data:`REL_TOLERANCE` of the larger magnitude plus :data:`ABS_TOLERANCE` — count as equal.

Tables come in two shapes, both accepted wherever a "table" is asked for: the **wide**
metrics table of a run (one row per variant × segment, a column per metric, optional
``<metric>_ci_low`` / ``<metric>_ci_high``), or the **long** summary of a sweep (columns
``metric``, ``mean``, ``ci_low``, ``ci_high``), which :func:`summary_to_wide` turns into
the wide shape.

**Paired** judgement (:func:`paired_dominated_by`, :func:`paired_efficient`): with a
sweep's per-replication results, ``w`` dominates ``v`` only if it does on means *and* is
better on at least one metric by more than simulation noise — the paired interval (same
world per replication) of ``w − v`` on that metric excludes 0. A difference inside the
noise never makes a variant "dominated".

Pure pandas / numpy: no plotting, no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from simulator.analysis.catalogue import METRICS, Direction

__all__ = [
    "ABS_TOLERANCE",
    "DEFAULT_EXPOSURE",
    "DEFAULT_FRICTION",
    "REL_TOLERANCE",
    "dominance",
    "dominated_by",
    "efficient_points",
    "paired_dominated_by",
    "paired_efficient",
    "pareto_efficient",
    "summary_to_wide",
    "variant_rows",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_EXPOSURE: Final = "exposed_minutes_medium"
"""The exposure metric variants are compared on by default (risk that got through)."""
DEFAULT_FRICTION: Final = ("unneeded_denials", "blocked_user_minutes_threat", "wipes")
"""The friction metrics compared by default: those the threshold itself causes. Total
``blocked_user_minutes`` is mostly Defender onboarding, the same under every threshold."""
REL_TOLERANCE: Final = 1e-9
"""Means within this share of the larger magnitude (plus :data:`ABS_TOLERANCE`) count as
equal when judging dominance: sums of equal figures differ by rounding (~1e-11)."""
ABS_TOLERANCE: Final = 1e-9
"""Absolute part of the tolerance of :data:`REL_TOLERANCE`."""

_KEYS: Final = ("variant", "segment_by", "segment")
_STATS: Final = (
    ("mean", ""),
    ("ci_low", "_ci_low"),
    ("ci_high", "_ci_high"),
    ("half_width", "_half_width"),
)


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {', '.join(missing)}; it has: {', '.join(map(str, frame))}"
        )


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
    metrics = [str(m) for m in dict.fromkeys(summary["metric"].tolist())]
    columns: dict[str, FloatArray] = {}
    for metric in metrics:
        part = text[text["metric"] == metric].set_index(keys)
        for stat, suffix in _STATS:
            if stat in part.columns:
                columns[f"{metric}{suffix}"] = part[stat].reindex(order).to_numpy(dtype=float)
    wide = pd.DataFrame(columns)  # metric by metric, each with its statistics
    return pd.concat([order.to_frame(index=False), wide], axis=1)


def variant_rows(
    table: pd.DataFrame, metrics: Sequence[str], segment: tuple[str, str] = ("all", "all")
) -> pd.DataFrame:
    """One row per variant of ``segment``, with each metric (mean) and its CI columns.

    Parameters
    ----------
    table
        A wide metrics table or a sweep's long summary (see the module docstring).
    metrics
        Metric columns the rows must have.
    segment
        ``(segment_by, segment)`` rows to use, when the table has segments.

    Raises
    ------
    ValueError
        If a column is missing, the segment has no rows (the message lists those
        present), or a variant has several rows.
    """
    if "metric" in table.columns and "mean" in table.columns:
        table = summary_to_wide(table)
    _require_columns(table, ["variant", *metrics], "table")
    rows = table
    if "segment_by" in table.columns and "segment" in table.columns:
        by, name = segment
        rows = table[(table["segment_by"] == by) & (table["segment"] == name)]
        if rows.empty:
            present = sorted(
                {
                    (str(a), str(b))
                    for a, b in zip(table["segment_by"], table["segment"], strict=True)
                }
            )
            raise ValueError(f"no rows for segment {segment}; present: {present}")
    if rows["variant"].duplicated().any():
        raise ValueError(
            "several rows per variant: give one segment, and means over replications "
            "(a sweep's summary) rather than one row per replication"
        )
    return rows.reset_index(drop=True)


def _oriented(rows: pd.DataFrame, metrics: Sequence[str]) -> FloatArray:
    """The metric columns as floats, negated where higher is better (so lower is better)."""
    values = rows[list(metrics)].to_numpy(dtype=float, copy=True)
    for j, name in enumerate(metrics):
        known = METRICS.get(name)
        if known is not None and known.direction is Direction.HIGHER_IS_BETTER:
            values[:, j] = -values[:, j]
    return values


def dominance(values: FloatArray) -> BoolArray:
    """``[w, v]``: row ``w`` dominates row ``v`` (lower is better on every column).

    Values within :data:`REL_TOLERANCE` of the larger magnitude plus
    :data:`ABS_TOLERANCE` count as equal; a row with a NaN neither dominates nor is
    dominated.
    """
    w, v = values[:, None, :], values[None, :, :]
    tolerance = REL_TOLERANCE * np.maximum(np.abs(w), np.abs(v)) + ABS_TOLERANCE
    no_worse = (w <= v + tolerance).all(axis=2)
    better = (w < v - tolerance).any(axis=2)
    finite = np.asarray(np.isfinite(values).all(axis=1), dtype=np.bool_)
    dominates: BoolArray = no_worse & better & finite[:, None] & finite[None, :]
    return dominates


def dominated_by(
    table: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    segment: tuple[str, str] = ("all", "all"),
) -> dict[str, list[str]]:
    """For each variant, the variants that dominate it on means.

    ``w`` dominates ``v`` when ``w`` is at least as good as ``v`` on the exposure and
    every friction metric, and strictly better on at least one (see the module docstring
    for "good" and the rounding tolerance). A variant with a missing (NaN) value neither
    dominates nor is dominated: it cannot be judged.

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
    rows = variant_rows(table, metrics, segment)
    names = [str(v) for v in rows["variant"]]
    dominates = dominance(_oriented(rows, metrics))
    return {
        name: [names[w] for w in np.flatnonzero(dominates[:, v])] for v, name in enumerate(names)
    }


def pareto_efficient(
    table: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    segment: tuple[str, str] = ("all", "all"),
) -> list[str]:
    """The Pareto-efficient variants on means: no other variant is at least as good on
    every metric and strictly better on one.

    Variants with equal values on every metric (within the tolerance of
    :func:`dominated_by`) are all efficient (or all dominated). A variant with a missing
    (NaN) value is left out: it cannot be judged.

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
    rows = variant_rows(table, metrics, segment)
    finite = np.isfinite(rows[metrics].to_numpy(dtype=float)).all(axis=1)
    dominators = dominated_by(rows, exposure, friction_metrics, segment=segment)
    return [
        str(name)
        for name, ok in zip(rows["variant"], finite, strict=True)
        if ok and not dominators[str(name)]
    ]


def efficient_points(x: FloatArray, y: FloatArray) -> npt.NDArray[np.intp]:
    """Indices of the points efficient on (x, y), both lower-is-better, sorted by x then
    y (points with a NaN left out): the vertices of the two metrics' frontier."""
    values = np.column_stack([x, y])
    finite = np.isfinite(values).all(axis=1)
    dominated = dominance(values).any(axis=0)
    chosen = np.flatnonzero(finite & ~dominated)
    order: npt.NDArray[np.intp] = chosen[np.lexsort((y[chosen], x[chosen]))]
    return order


def _paired_better(
    results: pd.DataFrame, metrics: Sequence[str], names: Sequence[str], confidence: float
) -> BoolArray:
    """``[w, v]``: on some metric, ``w`` is better than ``v`` beyond noise (the paired
    interval of the per-replication difference lies on the better side of 0)."""
    from simulator.analysis.stats import half_widths

    rows = results[results["segment_by"] == "all"] if "segment_by" in results else results
    values = np.stack(
        [
            rows[rows["variant"] == name].sort_values("replication")[list(metrics)].to_numpy(float)
            for name in names
        ]
    )  # variant × replication × metric
    for j, name in enumerate(metrics):
        known = METRICS.get(name)
        if known is not None and known.direction is Direction.HIGHER_IS_BETTER:
            values[:, :, j] = -values[:, :, j]
    diff = values[:, None, :, :] - values[None, :, :, :]  # w × v × replication × metric
    scale = np.maximum(np.abs(values[:, None]), np.abs(values[None, :]))
    diff = np.where(np.abs(diff) <= REL_TOLERANCE * scale + ABS_TOLERANCE, 0.0, diff)
    n = diff.shape[2]
    mean = diff.mean(axis=2)
    sd = diff.std(axis=2, ddof=1) if n > 1 else np.full(mean.shape, np.nan)
    half = half_widths(sd.reshape(-1), np.full(sd.size, n), confidence).reshape(sd.shape)
    better: BoolArray = np.asarray(((mean + half) < 0).any(axis=2), dtype=np.bool_)
    return better


def paired_dominated_by(
    results: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    confidence: float = 0.95,
) -> dict[str, list[str]]:
    """For each variant, the variants that dominate it beyond simulation noise.

    ``w`` dominates ``v`` when it does on means (:func:`dominance`) and, on at least one
    of the metrics, the paired interval of ``w − v`` over replications lies entirely on
    the better side of 0.

    Parameters
    ----------
    results
        A sweep's per-replication results (``variant``, ``replication``, metric columns;
        segment ``all`` is used when there is ``segment_by``), every variant with the same
        replications.
    exposure, friction_metrics
        The metric columns compared.
    confidence
        Two-sided level of the paired intervals.
    """
    metrics = [exposure, *friction_metrics]
    rows = results[results["segment_by"] == "all"] if "segment_by" in results else results
    names = [str(v) for v in pd.unique(rows["variant"])]
    means = rows.groupby("variant", sort=False)[metrics].mean().reindex(names)
    finite = np.isfinite(means.to_numpy(dtype=float)).all(axis=1)
    on_means = dominance(_oriented(means.reset_index(), metrics))
    beyond_noise = _paired_better(rows, metrics, names, confidence)
    dominates = on_means & beyond_noise & finite[:, None] & finite[None, :]
    return {
        name: [names[w] for w in np.flatnonzero(dominates[:, v])] for v, name in enumerate(names)
    }


def paired_efficient(
    results: pd.DataFrame,
    exposure: str = DEFAULT_EXPOSURE,
    friction_metrics: Sequence[str] = DEFAULT_FRICTION,
    *,
    confidence: float = 0.95,
) -> list[str]:
    """The variants no other dominates beyond simulation noise
    (:func:`paired_dominated_by`), in results order."""
    beaten = paired_dominated_by(results, exposure, friction_metrics, confidence=confidence)
    return [name for name, by in beaten.items() if not by]
