"""Confidence intervals over replications: Student-t and Welch intervals (``scipy.stats``).

A sweep reports every metric as a mean over independent replications with a two-sided
confidence interval ``mean ± t(1 - α/2, n - 1) · s / √n`` (Student t, ``s`` the sample
standard deviation), and compares two policy variants either *paired* — the interval of the
per-replication differences, valid because the variants share each replication's world
(common random numbers) — or *unpaired* (Welch: separate variances, Welch–Satterthwaite
degrees of freedom), which ignores the pairing and is shown for comparison only.

The t quantile is :func:`scipy.stats.t.ppf` (a well-kept implementation, rather than the
incomplete-beta inversion this module used to carry).

A quantity that cannot be negative (a count, a sum of minutes, a duration) gets an interval
that cannot be either: :func:`non_negative` clips the lower end at 0 — the intersection of
the t interval with the quantity's possible values, which keeps its coverage.

Conventions: ``NaN`` values are dropped (a metric undefined in a replication, e.g. a
median over no episodes); with fewer than two values the half-width is ``NaN``; with no
spread it is 0. Pure functions: no pandas, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_CONFIDENCE",
    "Interval",
    "half_widths",
    "mean_interval",
    "non_negative",
    "t_quantile",
    "welch_half_widths",
    "welch_interval",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_CONFIDENCE: Final = 0.95
"""Two-sided confidence level of every interval unless told otherwise."""


class Interval(NamedTuple):
    """A mean (or mean difference) with its two-sided confidence interval.

    Attributes
    ----------
    mean
        The sample mean, in the unit of the values (NaN with no values).
    low, high
        ``mean ∓ half_width`` (NaN when the half-width is).
    half_width
        The interval's half-width (NaN with fewer than two values; 0 with no spread).
    n
        Number of values used (NaN values are not counted).
    """

    mean: float
    low: float
    high: float
    half_width: float
    n: int


def _t_ppf(p: float, df: Any) -> Any:
    """``scipy.stats.t.ppf``, imported on first use: ``import simulator`` stays light (scipy
    loads argparse and takes a noticeable moment)."""
    from scipy import stats

    return stats.t.ppf(p, df)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom.

    Parameters
    ----------
    p
        Lower-tail probability, ``0 < p < 1`` (0.975 for a two-sided 95 % interval).
    df
        Degrees of freedom, ``df > 0`` (real; ``inf`` gives the normal quantile).

    Returns
    -------
    float
        ``t`` such that ``P(T ≤ t) = p`` (:func:`scipy.stats.t.ppf`).

    Raises
    ------
    ValueError
        If ``p`` is not in (0, 1) or ``df`` is not positive.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0.0:
        raise ValueError(f"df must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    return float(_t_ppf(p, df))


def non_negative(low: FloatArray) -> FloatArray:
    """Lower interval ends of a quantity that cannot be negative: clipped at 0 (NaN kept)."""
    clipped: FloatArray = np.where(np.isnan(low), low, np.maximum(low, 0.0))
    return clipped


# -- intervals -------------------------------------------------------------------------------
def _clean(values: Iterable[float]) -> FloatArray:
    """The values as a float array, NaN dropped."""
    array: FloatArray = np.asarray(
        values if isinstance(values, np.ndarray) else list(values), dtype=np.float64
    )
    return array[~np.isnan(array)]


def _two_sided(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return 0.5 + confidence / 2.0


def mean_interval(values: Iterable[float], confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The mean of ``values`` with its Student-t confidence interval.

    Parameters
    ----------
    values
        One value per replication (any unit); NaN values are dropped.
    confidence
        Two-sided confidence level in (0, 1).

    Returns
    -------
    Interval
        ``half_width = t(½ + confidence/2, n − 1) · s / √n``; NaN with fewer than two values.
    """
    data = _clean(values)
    n = int(data.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(data.mean())
    sd = float(data.std(ddof=1)) if n > 1 else math.nan
    half = float(half_widths([sd], [n], confidence)[0])
    return Interval(mean, mean - half, mean + half, half, n)


def half_widths(
    sd: Iterable[float] | FloatArray,
    n: Iterable[int] | npt.NDArray[np.int64],
    confidence: float = DEFAULT_CONFIDENCE,
) -> FloatArray:
    """Student-t half-widths ``t(½ + confidence/2, n − 1) · sd / √n``, element-wise.

    Parameters
    ----------
    sd
        Sample standard deviations (``ddof=1``), in the unit of the values.
    n
        Numbers of values; half-widths are NaN where ``n < 2``.
    confidence
        Two-sided confidence level in (0, 1).
    """
    q = _two_sided(confidence)
    sds = np.asarray(sd, dtype=float)
    counts = np.asarray(n, dtype=np.int64)
    out = np.full(sds.shape, np.nan)
    ok = (counts >= 2) & ~np.isnan(sds)
    if ok.any():
        t = np.asarray(_t_ppf(q, counts[ok] - 1), dtype=float)
        out[ok] = np.where(sds[ok] == 0.0, 0.0, t * sds[ok] / np.sqrt(counts[ok]))
    return out


def welch_half_widths(
    var_a: Iterable[float] | FloatArray,
    n_a: Iterable[int] | npt.NDArray[np.int64],
    var_b: Iterable[float] | FloatArray,
    n_b: Iterable[int] | npt.NDArray[np.int64],
    confidence: float = DEFAULT_CONFIDENCE,
) -> FloatArray:
    """Half-widths of Welch's interval for a difference of two means, element-wise.

    ``t(½ + confidence/2, ν) · √(va/na + vb/nb)`` with the Welch–Satterthwaite
    ``ν = (va/na + vb/nb)² / ((va/na)²/(na − 1) + (vb/nb)²/(nb − 1))``.

    Parameters
    ----------
    var_a, var_b
        Sample variances (``ddof=1``) of the two groups, in the squared unit of the values.
    n_a, n_b
        Group sizes; NaN where either is below 2.
    confidence
        Two-sided confidence level in (0, 1).
    """
    q = _two_sided(confidence)
    va, vb = np.asarray(var_a, dtype=float), np.asarray(var_b, dtype=float)
    na, nb = np.asarray(n_a, dtype=np.int64), np.asarray(n_b, dtype=np.int64)
    out = np.full(va.shape, np.nan)
    for i in range(va.size):
        if na[i] < 2 or nb[i] < 2 or math.isnan(va[i]) or math.isnan(vb[i]):
            continue
        sa, sb = va[i] / na[i], vb[i] / nb[i]
        se2 = sa + sb
        if se2 == 0.0:
            out[i] = 0.0
            continue
        df = se2**2 / (sa**2 / (na[i] - 1) + sb**2 / (nb[i] - 1))
        out[i] = t_quantile(q, float(df)) * math.sqrt(se2)
    return out


def welch_interval(
    a: Iterable[float], b: Iterable[float], confidence: float = DEFAULT_CONFIDENCE
) -> Interval:
    """``mean(a) − mean(b)`` with Welch's (unpaired) confidence interval.

    Parameters
    ----------
    a, b
        The two samples (NaN dropped), same unit.
    confidence
        Two-sided confidence level in (0, 1).

    Returns
    -------
    Interval
        ``n`` is the smaller sample size; the half-width is NaN if either has fewer than
        two values.
    """
    xa, xb = _clean(a), _clean(b)
    n = int(min(xa.size, xb.size))
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, n)
    diff = float(xa.mean() - xb.mean())
    var_a = float(xa.var(ddof=1)) if xa.size > 1 else math.nan
    var_b = float(xb.var(ddof=1)) if xb.size > 1 else math.nan
    half = float(welch_half_widths([var_a], [xa.size], [var_b], [xb.size], confidence)[0])
    return Interval(diff, diff - half, diff + half, half, n)
