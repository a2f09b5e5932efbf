"""Tables of a sweep: per-replication metrics → intervals, paired differences, precision.

Pure functions of pandas DataFrames (no simulation, no files), so that notebooks can apply
them to any per-replication table — e.g. :attr:`simulator.analysis.sweep.SweepResult.results`
or ``results.csv`` read back.

Input: a *results* table, one row per variant × replication × segment_by × segment, with
``variant, replication, segment_by, segment`` and metric columns
(:data:`~simulator.analysis.metrics.METRIC_COLUMNS`, or any subset). A metric that is NaN in a
replication (e.g. a median over no episodes) is left out of that metric's interval, and
``n`` says how many replications were used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from simulator.analysis.metrics import (
    COUNT_COLUMNS,
    DEVICE_LEVEL_METRICS,
    HEADLINE_METRICS,
    METRIC_COLUMNS,
)
from simulator.analysis.stats import (
    DEFAULT_CONFIDENCE,
    half_widths,
    non_negative,
    welch_half_widths,
)
from simulator.policy.levels import Management

__all__ = [
    "PAIRED_COLUMNS",
    "RESULT_KEYS",
    "ROUNDING",
    "SUMMARY_COLUMNS",
    "PrecisionCheck",
    "complete_results",
    "metric_columns",
    "paired_differences",
    "precision_check",
    "summarize_replications",
]

RESULT_KEYS: Final = ("variant", "replication", "segment_by", "segment")
"""Key columns of a results table."""
_SEGMENT_KEYS: Final = ["segment_by", "segment"]
SUMMARY_COLUMNS: Final = (
    *("variant", "segment_by", "segment", "metric"),
    *("mean", "sd", "ci_low", "ci_high", "half_width", "n"),
)
"""Columns of :func:`summarize_replications`: mean, sample standard deviation and the
Student-t interval over replications, in the metric's unit
(:func:`simulator.analysis.catalogue.unit`); ``n`` replications used. Every metric of
:data:`METRIC_COLUMNS` is a count, a sum of minutes or a duration, so its ``ci_low`` is
clipped at 0 (:func:`~simulator.analysis.stats.non_negative`); ``half_width`` stays the
t interval's."""
PAIRED_COLUMNS: Final = (
    *("variant", "baseline", "segment_by", "segment", "metric"),
    *("mean_diff", "sd_diff", "ci_low", "ci_high", "half_width", "n", "distinguishable"),
    "unpaired_half_width",
)
"""Columns of :func:`paired_differences`, in the metric's unit
(:func:`simulator.analysis.catalogue.unit`); ``n`` replications paired."""
ROUNDING: Final = 1e-9
"""Paired differences within this fraction of the values are float rounding (sums of
minutes added in another order) and count as exactly 0."""
_SEGMENT_BY_ORDER: Final = {"all": 0, "management": 1, "app": 2}
_MANAGEMENT_ORDER: Final = {m.value: i for i, m in enumerate(Management)}


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The metric columns of ``frame``: known metrics in their canonical order, then any
    other non-key column in the frame's order."""
    known = [m for m in METRIC_COLUMNS if m in frame.columns]
    other = [c for c in frame.columns if c not in RESULT_KEYS and c not in METRIC_COLUMNS]
    return [*known, *other]


def _segment_rank(segment_by: pd.Series, segment: pd.Series) -> np.ndarray:
    """Canonical segment order: all; managements in :class:`Management` order; apps A–Z."""
    by = segment_by.map(_SEGMENT_BY_ORDER).fillna(len(_SEGMENT_BY_ORDER)).to_numpy(dtype=int)
    names = segment.astype(str)
    management = names.map(_MANAGEMENT_ORDER).fillna(len(_MANAGEMENT_ORDER))
    within = np.where(by == 1, management.to_numpy(dtype=float), 0.0)
    alphabetical = pd.Series(names).rank(method="dense").to_numpy(dtype=float)
    within = np.where(by >= 2, alphabetical, within)
    return np.lexsort((within, by))


def complete_results(results: pd.DataFrame, variants: Sequence[str] | None = None) -> pd.DataFrame:
    """Every variant × replication × segment, in canonical order.

    A segment with no device, row or episode in one replication (a tiny fleet without
    ``emm`` devices, say) has no row in that replication's metrics; here it gets one with
    zero counts (per-episode counts stay NaN for ``app`` segments; quantiles NaN), so that
    means and intervals are over all replications.

    Parameters
    ----------
    results
        A results table (see the module docstring).
    variants
        Variant order; default: as first seen.

    Returns
    -------
    pandas.DataFrame
        Rows ordered by variant, replication, then segment (all, managements, apps A–Z).
    """
    names = list(variants) if variants is not None else list(pd.unique(results["variant"]))
    segments = results[_SEGMENT_KEYS].drop_duplicates()
    segments = segments.iloc[_segment_rank(segments["segment_by"], segments["segment"])]
    replications = sorted(int(r) for r in pd.unique(results["replication"]))
    grid = pd.MultiIndex.from_tuples(
        [
            (v, r, by, s)
            for v in names
            for r in replications
            for by, s in zip(segments["segment_by"], segments["segment"], strict=True)
        ],
        names=list(RESULT_KEYS),
    )
    indexed = results.set_index(list(RESULT_KEYS))
    full = indexed.reindex(grid)
    missing = ~grid.isin(indexed.index)
    if missing.any():
        app = full.index.get_level_values("segment_by") == "app"
        for column in full.columns:
            if column in COUNT_COLUMNS and column not in DEVICE_LEVEL_METRICS:
                full.loc[missing, column] = 0
            elif column in DEVICE_LEVEL_METRICS and column in COUNT_COLUMNS:
                full.loc[missing & ~app, column] = 0
        for name in full.columns:
            if not full[name].isna().any():
                full[name] = full[name].astype(results.dtypes[name])
    return full.reset_index()


def _long(results: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Results in long form: variant, replication, segment_by, segment, metric, value.

    Ordered by the input's rows, then ``metrics`` — so a groupby without sorting sees
    variants, segments and metrics in the input's order.
    """
    names = list(metrics)
    n = len(results)
    long = {k: np.repeat(results[k].to_numpy(), len(names)) for k in RESULT_KEYS}
    long["metric"] = np.tile(np.asarray(names, dtype=object), n)
    long["value"] = results[names].to_numpy(dtype=np.float64).reshape(-1)
    return pd.DataFrame(long)


def summarize_replications(
    results: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Mean and Student-t interval over replications, per variant × segment × metric.

    Parameters
    ----------
    results
        A results table (see the module docstring), one row per replication.
    metrics
        Metric columns to summarize; default: all of them.
    confidence
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`; ``half_width = t(½ + confidence/2, n − 1) · sd / √n`` over
        the ``n`` replications where the metric is defined, NaN when ``n < 2``; a known
        metric's ``ci_low`` never below 0.
    """
    names = list(metrics) if metrics is not None else metric_columns(results)
    long = _long(results, names)
    grouped = long.groupby(["variant", *_SEGMENT_KEYS, "metric"], sort=False)["value"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    table = table.rename(columns={"std": "sd", "count": "n"})
    n = table["n"].to_numpy(dtype=np.int64)
    half = half_widths(table["sd"].to_numpy(dtype=float), n, confidence)
    low = (table["mean"] - half).to_numpy(dtype=float)
    bounded = table["metric"].isin(list(METRIC_COLUMNS)).to_numpy(dtype=bool)
    table["ci_low"] = np.where(bounded, non_negative(low), low)
    table["ci_high"] = table["mean"] + half
    table["half_width"] = half
    table["n"] = n
    return table[list(SUMMARY_COLUMNS)]


def paired_differences(
    results: pd.DataFrame,
    baseline: str,
    metrics: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Each variant minus the baseline, replication by replication, with intervals.

    Variants of one replication share its world (common random numbers), so the
    per-replication difference removes the world's variation; its Student-t interval is
    the paired interval. ``unpaired_half_width`` is Welch's half-width for the same
    difference of means, treating the two variants' replications as independent samples:
    shown for comparison only (it ignores the pairing and is usually much wider).

    Parameters
    ----------
    results
        A results table (see the module docstring) with the baseline among its variants.
    baseline
        The variant to subtract.
    metrics
        Metric columns to compare; default: all of them.
    confidence
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        :data:`PAIRED_COLUMNS`, one row per non-baseline variant × segment × metric;
        a per-replication difference within :data:`ROUNDING` of the values counts as 0;
        ``distinguishable`` is True when the paired interval excludes 0 (a difference
        that is exactly the same non-zero number in every replication counts); ``n`` is the
        number of replications where both values are defined.

    Raises
    ------
    KeyError
        If ``baseline`` is not a variant of ``results``.
    """
    if baseline not in set(results["variant"]):
        raise KeyError(f"baseline {baseline!r} is not a variant of the results")
    names = list(metrics) if metrics is not None else metric_columns(results)
    long = _long(results, names)
    keys = ["replication", *_SEGMENT_KEYS, "metric"]
    base = long.loc[long["variant"] == baseline, [*keys, "value"]]
    pairs = long[long["variant"] != baseline].merge(
        base, on=keys, how="left", suffixes=("", "_base"), validate="many_to_one"
    )
    diff = pairs["value"] - pairs["value_base"]
    scale = np.maximum(pairs["value"].abs(), pairs["value_base"].abs())
    pairs["diff"] = diff.mask(diff.abs() <= ROUNDING * scale, 0.0)
    both = pairs["diff"].notna()
    pairs["value_paired"] = pairs["value"].where(both)
    pairs["base_paired"] = pairs["value_base"].where(both)
    table = (
        pairs.groupby(["variant", *_SEGMENT_KEYS, "metric"], sort=False)
        .agg(
            mean_diff=("diff", "mean"),
            sd_diff=("diff", "std"),
            n=("diff", "count"),
            var_variant=("value_paired", "var"),
            var_base=("base_paired", "var"),
        )
        .reset_index()
    )
    n = table["n"].to_numpy(dtype=np.int64)
    half = half_widths(table["sd_diff"].to_numpy(dtype=float), n, confidence)
    table["ci_low"] = table["mean_diff"] - half
    table["ci_high"] = table["mean_diff"] + half
    table["half_width"] = half
    table["n"] = n
    table["distinguishable"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    table["unpaired_half_width"] = welch_half_widths(
        table["var_variant"].to_numpy(dtype=float),
        n,
        table["var_base"].to_numpy(dtype=float),
        n,
        confidence,
    )
    table.insert(1, "baseline", baseline)
    return table[list(PAIRED_COLUMNS)]


@dataclass(frozen=True)
class PrecisionCheck:
    """The precision criterion evaluated on one summary (see :func:`precision_check`).

    Attributes
    ----------
    replications
        The largest ``n`` among the checked cells (the replications run).
    target
        The relative half-width asked for.
    cells
        ``(variant, metric, relative half-width)`` of every checked cell, in summary order;
        the ratio is 0 for cells met by rule (all zero, or undefined everywhere) and
        ``inf`` when no interval exists or the mean is 0 with some spread.
    """

    replications: int
    target: float
    cells: tuple[tuple[str, str, float], ...]

    @property
    def unmet(self) -> tuple[tuple[str, str, float], ...]:
        """Cells above the target, worst first (ties in summary order)."""
        return tuple(sorted((c for c in self.cells if c[2] > self.target), key=lambda c: -c[2]))

    @property
    def met(self) -> bool:
        """Whether every checked cell meets the target."""
        return not self.unmet

    @property
    def worst(self) -> tuple[str, str, float] | None:
        """The cell with the largest relative half-width (None if nothing was checked)."""
        return max(self.cells, key=lambda c: c[2], default=None)


def precision_check(
    summary: pd.DataFrame,
    target: float,
    metrics: Sequence[str] = HEADLINE_METRICS,
) -> PrecisionCheck:
    """Evaluate the precision criterion on a :func:`summarize_replications` table.

    For each variant and each of ``metrics`` in segment ``all``, with ``h`` the interval's
    half-width and ``m`` the mean (over the replications where the metric is defined):

    * met if ``h ≤ target × |m|`` (needs ``n ≥ 2``);
    * met if ``h = 0``, e.g. ``m = 0`` in every replication: nothing left to estimate;
    * met if the metric is undefined (NaN) in every replication (``n = 0``: e.g. a median
      time to protect when no episode was ever enforced);
    * otherwise unmet — in particular with one defined value (no interval), or ``m = 0``
      with spread.

    Parameters
    ----------
    summary
        A :func:`summarize_replications` table.
    target
        Relative half-width, > 0 (0.05: within 5 % of the mean).
    metrics
        The metrics the criterion covers.
    """
    rows = summary[(summary["segment_by"] == "all") & summary["metric"].isin(list(metrics))]
    mean = rows["mean"].to_numpy(dtype=float)
    half = rows["half_width"].to_numpy(dtype=float)
    n = rows["n"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half == 0.0, 0.0, half / np.abs(mean))
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    ratio = np.where(n == 0, 0.0, ratio)
    cells = tuple(
        (str(v), str(m), float(r))
        for v, m, r in zip(rows["variant"], rows["metric"], ratio, strict=True)
    )
    return PrecisionCheck(int(n.max()) if n.size else 0, target, cells)


def invariant_metrics(
    paired: pd.DataFrame, others: Sequence[str], metrics: Sequence[str]
) -> list[str]:
    """The ``metrics`` whose paired difference (segment all) is exactly 0 for every
    variant of ``others`` in every replication — the same under every variant (e.g.
    launches, or onboarding blocks under a threat-threshold sweep). Tables show these on
    one line instead of as columns of equal numbers. Empty when ``others`` is empty."""
    if not others or paired.empty:
        return []
    rows = paired[paired["segment_by"] == "all"]
    out = []
    for metric in metrics:
        cells = rows[rows["metric"] == metric].set_index("variant")
        if not all(v in cells.index for v in others):
            continue
        chosen = cells.loc[list(others)]
        diff = pd.to_numeric(chosen["mean_diff"], errors="coerce")
        half = pd.to_numeric(chosen["half_width"], errors="coerce")
        if bool((diff == 0).all() and (half == 0).all()):
            out.append(metric)
    return out
