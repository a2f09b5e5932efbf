"""Confidence intervals over replications: Student-t and Welch intervals, without scipy.

A sweep reports every metric as a mean over independent replications with a two-sided
confidence interval ``mean ± t(1 - α/2, n - 1) · s / √n`` (Student t, ``s`` the sample
standard deviation), and compares two policy variants either *paired* — the interval of the
per-replication differences, valid because the variants share each replication's world
(common random numbers) — or *unpaired* (Welch: separate variances, Welch–Satterthwaite
degrees of freedom), which ignores the pairing and is shown for comparison only.

The t quantile is computed here (scipy is not a dependency): the upper-tail probability
``P(T > t) = I_x(ν/2, 1/2) / 2`` with ``x = ν / (ν + t²)`` uses the regularized incomplete
beta function (continued fraction, modified Lentz), and the quantile solves it by
safeguarded Newton steps from a Cornish–Fisher start. Error about 1e-10 × max(1, |t|)
for real ``ν ≥ 1``; closed forms for ν = 1 and ν = 2, the Cornish–Fisher expansion alone
above ν = 10⁴ (where its O(ν⁻⁴) error is negligible).

Conventions: ``NaN`` values are dropped (a metric undefined in a replication, e.g. a
median over no episodes); with fewer than two values the half-width is ``NaN``; with no
spread it is 0. Pure functions: no pandas, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from statistics import NormalDist
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_CONFIDENCE",
    "Interval",
    "half_widths",
    "mean_interval",
    "t_quantile",
    "welch_half_widths",
    "welch_interval",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_CONFIDENCE: Final = 0.95
"""Two-sided confidence level of every interval unless told otherwise."""

_EPS: Final = 1e-15
_TINY: Final = 1e-300
_MAX_TERMS: Final = 500
_LARGE_DF: Final = 1e4
"""Above this many degrees of freedom the Cornish–Fisher expansion is used as is."""


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


# -- the t distribution ----------------------------------------------------------------------
def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz method)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)``, given ``x`` and ``y = 1 − x``
    (both computed by the caller, so that neither loses precision near 0 or 1)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def _t_upper_tail(t: float, df: float) -> float:
    """``P(T > t)`` for ``t ≥ 0`` and ``df`` degrees of freedom."""
    t2 = t * t
    return 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def _t_density(t: float, df: float) -> float:
    """The density of Student's t with ``df`` degrees of freedom at ``t``."""
    log_norm = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: float) -> float:
    """A first guess of the t quantile from the normal quantile ``z`` (Cornish–Fisher)."""
    z2 = z * z
    return z * (
        1.0
        + (z2 + 1.0) / (4.0 * df)
        + (5.0 * z2**2 + 16.0 * z2 + 3.0) / (96.0 * df**2)
        + (3.0 * z2**3 + 19.0 * z2**2 + 17.0 * z2 - 15.0) / (384.0 * df**3)
    )


@lru_cache(maxsize=4096)
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
        ``t`` such that ``P(T ≤ t) = p``; agrees with ``scipy.stats.t.ppf`` to about
        1e-10 × max(1, |t|) for ``df ≥ 1``.

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
    sign = 1.0 if p > 0.5 else -1.0
    return sign * _upper_quantile(1.0 - p if p > 0.5 else p, df)


def _upper_quantile(tail: float, df: float) -> float:
    """The ``t ≥ 0`` with ``P(T > t) = tail`` (``0 < tail < ½``), ``df`` degrees of freedom.

    Takes the tail probability itself, so that ``1 − p`` is never formed for small tails.
    """
    z = -NormalDist().inv_cdf(tail)
    if df > _LARGE_DF:  # the expansion's error, O(df⁻⁴), is below rounding there
        return _cornish_fisher(z, df)
    if df == 1.0:
        return 1.0 / math.tan(math.pi * tail)
    if df == 2.0:
        return (1.0 - 2.0 * tail) / math.sqrt(2.0 * tail * (1.0 - tail))
    guess = _cornish_fisher(z, df)
    low, high = 0.0, max(1.0, 2.0 * guess)
    while _t_upper_tail(high, df) > tail:  # widen the bracket until it holds the root
        low, high = high, 2.0 * high
    t = guess if low < guess < high else 0.5 * (low + high)
    for _ in range(200):
        excess = _t_upper_tail(t, df) - tail  # decreasing in t
        if excess > 0.0:
            low = t
        else:
            high = t
        candidate = t + excess / _t_density(t, df)
        if not low < candidate < high:
            candidate = 0.5 * (low + high)
        if abs(candidate - t) <= 1e-13 * max(1.0, t):
            return candidate
        t = candidate
    return t


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
    for i, (s, k) in enumerate(zip(sds, counts, strict=True)):
        if k >= 2 and not math.isnan(s):
            out[i] = 0.0 if s == 0.0 else t_quantile(q, float(k - 1)) * s / math.sqrt(k)
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
