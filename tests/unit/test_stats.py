"""Confidence intervals (analysis.stats): textbook t quantiles, hand-computed CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from simulator.analysis.stats import (
    half_widths,
    mean_interval,
    non_negative,
    t_quantile,
    welch_half_widths,
    welch_interval,
)


def test_non_negative_clips_lower_ends_at_zero_and_keeps_nan() -> None:
    """A count's interval never goes below 0: lower ends under 0 become 0, others and NaN
    stay as they are."""
    low = np.array([-3.5, 0.0, 2.25, math.nan])
    out = non_negative(low)
    assert out[0] == 0.0 and out[1] == 0.0 and out[2] == 2.25 and math.isnan(out[3])


def test_t_quantile_is_antisymmetric_and_zero_at_the_median() -> None:
    """t(p) = −t(1 − p) and t(½) = 0, for any df."""
    for df in (1.0, 2.0, 7.0, 33.5):
        assert t_quantile(0.5, df) == 0.0
        assert t_quantile(0.025, df) == pytest.approx(-t_quantile(0.975, df), rel=1e-12)


def test_t_quantile_textbook_values() -> None:
    """The table values everyone knows: t(0.975; 1) = 12.706, t(0.975; 4) = 2.776,
    t(0.975; 9) = 2.262, t(0.975; 30) = 2.042."""
    assert t_quantile(0.975, 1.0) == pytest.approx(12.7062047, abs=1e-6)
    assert t_quantile(0.975, 4.0) == pytest.approx(2.7764451, abs=1e-6)
    assert t_quantile(0.975, 9.0) == pytest.approx(2.2621572, abs=1e-6)
    assert t_quantile(0.975, 30.0) == pytest.approx(2.0422725, abs=1e-6)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3.0), (1.0, 3.0), (-0.1, 3.0), (0.9, 0.0), (0.9, -2)])
def test_t_quantile_rejects_bad_arguments(p: float, df: float) -> None:
    """p outside (0, 1) or df ≤ 0 is a ValueError, not a silent number."""
    with pytest.raises(ValueError):
        t_quantile(p, df)


def test_mean_interval_hand_computed() -> None:
    """1..5: mean 3, s = √2.5, half-width = t(0.975; 4) · √2.5 / √5 = 2.7764451 · √0.5."""
    interval = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(0.5)
    assert interval.mean == 3.0
    assert interval.half_width == pytest.approx(half, rel=1e-9)
    assert (interval.low, interval.high) == pytest.approx((3.0 - half, 3.0 + half), rel=1e-9)
    assert interval.n == 5


def test_mean_interval_edge_cases() -> None:
    """No spread → half-width 0; one value → NaN half-width; NaN values are dropped."""
    assert mean_interval([4.0, 4.0, 4.0]) == (4.0, 4.0, 4.0, 0.0, 3)
    single = mean_interval([7.0])
    assert (single.mean, single.n) == (7.0, 1)
    assert math.isnan(single.half_width) and math.isnan(single.low)
    assert mean_interval([1.0, math.nan, 3.0]).n == 2
    assert mean_interval([1.0, math.nan, 3.0]).mean == 2.0
    assert mean_interval([]).n == 0


def test_mean_interval_matches_scipy_t_interval() -> None:
    """Our interval equals scipy.stats.t.interval(0.9, n − 1, mean, sem)."""
    values = [12.0, 15.5, 9.25, 11.0, 20.0, 13.75]
    ours = mean_interval(values, confidence=0.9)
    low, high = scipy_stats.t.interval(
        0.9, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    assert (ours.low, ours.high) == pytest.approx((low, high), rel=1e-9)


def test_welch_interval_hand_computed() -> None:
    """a = 1,2,3; b = 2,4,6,8: va/na = 1/3, vb/nb = 5/3, se² = 2,
    ν = 4 / ((1/3)²/2 + (5/3)²/3) = 4.0755, half-width = t(0.975; ν) · √2."""
    interval = welch_interval([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0])
    df = 4.0 / ((1.0 / 3.0) ** 2 / 2.0 + (5.0 / 3.0) ** 2 / 3.0)
    assert df == pytest.approx(4.0755, abs=1e-4)
    assert interval.mean == pytest.approx(2.0 - 5.0)
    assert interval.half_width == pytest.approx(
        scipy_stats.t.ppf(0.975, df) * math.sqrt(2.0), rel=1e-9
    )
    expected = scipy_stats.ttest_ind(
        [1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0], equal_var=False
    ).confidence_interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high), rel=1e-9)


def test_vectorized_half_widths() -> None:
    """Element-wise: n < 2 → NaN, sd 0 → 0, else t · sd / √n; Welch with two zero
    variances → 0."""
    out = half_widths([1.0, 0.0, 2.0], [1, 5, 10])
    assert math.isnan(out[0]) and out[1] == 0.0
    assert out[2] == pytest.approx(scipy_stats.t.ppf(0.975, 9) * 2.0 / math.sqrt(10))
    welch = welch_half_widths([0.0, 1.0], [4, 1], [0.0, 1.0], [4, 4])
    assert welch[0] == 0.0 and math.isnan(welch[1])
