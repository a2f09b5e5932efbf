"""From tables to a decision: a recommendation from a stated risk appetite.

An :class:`Appetite` states **limits** (at most so much of a metric's rate: per 1,000 users
per month, minutes in hours — :mod:`simulator.analysis.rates`) and/or **weights** (the cost
of one unit of a rate). :func:`recommend` reads a sweep's per-replication results and says:

* which variants **meet** every limit with 95 % confidence — the upper end of the metric's
  interval over replications is at or under the limit —, which **fail** one (the lower end
  is above it) and which cannot be told yet (**unsure**: the interval straddles the limit);
* which one it **recommends**: among those that meet every limit, the lowest mean *score* —
  the weighted sum of rates, or without weights the sum of each limited metric's share of
  its limit (how much of the appetite a variant uses);
* whether a runner-up is **tied** with it: the paired interval (same world per
  replication) of the runner-up's score minus the recommendation's contains 0;
* the **trade** against the baseline, metric by metric, from the paired intervals;
* whether the replications are **too few** for the verdict (an unsure variant, or a tie):
  then the advice is to rerun with ``--precision``.

:meth:`Recommendation.paragraph` words it for the CLI and the report. Pure functions of
DataFrames: no files, no plotting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from simulator.analysis.rates import rate_label, rate_unit, rates_of_results
from simulator.analysis.stats import DEFAULT_CONFIDENCE, mean_interval
from simulator.durations import Minutes

__all__ = [
    "PRECISION_HINT",
    "Appetite",
    "LimitCheck",
    "Recommendation",
    "Status",
    "Trade",
    "VariantCheck",
    "recommend",
]

PRECISION_HINT: Final = "--precision 0.05"
"""The option suggested when the replications are too few."""


class Status(Enum):
    """Where a variant stands against a limit (or all of them)."""

    MEETS = "meets"
    UNSURE = "unsure"
    FAILS = "fails"


@dataclass(frozen=True)
class Appetite:
    """Limits and weights on rates (see the module docstring).

    Attributes
    ----------
    limits
        Metric → at most this rate.
    weights
        Metric → cost of one unit of its rate.
    """

    limits: Mapping[str, float] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the mappings (the appetite is a value)."""
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the appetite names: limits first, then weights, each once."""
        return tuple(dict.fromkeys([*self.limits, *self.weights]))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Appetite | None:
        """The appetite of a scenario's ``[appetite]`` table (or a manifest's record)."""
        if data is None:
            return None
        return cls(dict(data.get("limits") or {}), dict(data.get("weights") or {}))

    def to_dict(self) -> dict[str, dict[str, float]]:
        """JSON-able form (``manifest.json``)."""
        return {"limits": dict(self.limits), "weights": dict(self.weights)}

    def describe(self) -> str:
        """The appetite in words: ``at most 40 exposed hours ≥ medium (session-hours per
        1,000 users per month)``; weights after the limits."""
        parts = [
            f"at most {_number(v)} {rate_label(m)} ({rate_unit(m)})" for m, v in self.limits.items()
        ]
        if self.weights:
            parts.append(
                "weights "
                + ", ".join(f"{rate_label(m)} × {_number(w)}" for m, w in self.weights.items())
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class LimitCheck:
    """One variant against one limit, in rate units."""

    metric: str
    limit: float
    mean: float
    low: float
    high: float
    status: Status


@dataclass(frozen=True)
class VariantCheck:
    """One variant against the whole appetite.

    ``score`` is the mean of the per-replication scores (lower is better).
    """

    variant: str
    checks: tuple[LimitCheck, ...]
    score: float

    @property
    def status(self) -> Status:
        """Fails if any limit fails, else unsure if any is unsure, else meets."""
        statuses = {c.status for c in self.checks}
        for status in (Status.FAILS, Status.UNSURE):
            if status in statuses:
                return status
        return Status.MEETS


@dataclass(frozen=True)
class Trade:
    """The recommendation minus the baseline on one metric, in rate units (paired)."""

    metric: str
    mean: float
    low: float
    high: float

    @property
    def distinguishable(self) -> bool:
        """Whether the paired interval excludes 0."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` found (see the module docstring)."""

    appetite: Appetite
    baseline: str
    variants: tuple[VariantCheck, ...]
    recommended: str | None
    tied: tuple[str, ...]
    trades: tuple[Trade, ...]
    replications: int
    confidence: float = DEFAULT_CONFIDENCE

    def by_status(self, status: Status) -> list[str]:
        """Variants with that overall status, in sweep order."""
        return [v.variant for v in self.variants if v.status is status]

    @property
    def too_few(self) -> bool:
        """Whether more replications could change the verdict: a variant is unsure about
        a limit, or the recommendation is tied with a runner-up."""
        return bool(self.by_status(Status.UNSURE)) or bool(self.tied)

    def paragraph(self) -> str:
        """The recommendation in one paragraph of plain words (CLI and report)."""
        return " ".join(_sentences(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "appetite": self.appetite.to_dict(),
            "baseline": self.baseline,
            "recommended": self.recommended,
            "tied": list(self.tied),
            "too_few_replications": self.too_few,
            "variants": {v.variant: v.status.value for v in self.variants},
            "paragraph": self.paragraph(),
        }


def _limit_status(low: float, high: float, limit: float) -> Status:
    if math.isnan(high) or math.isnan(low):
        return Status.UNSURE
    if high <= limit:
        return Status.MEETS
    if low > limit:
        return Status.FAILS
    return Status.UNSURE


def _scores(rates: pd.DataFrame, appetite: Appetite) -> pd.Series:
    """Per row (variant × replication): the weighted sum of rates, or the sum of each
    limited metric's share of its limit."""
    if appetite.weights:
        terms = [rates[m] * w for m, w in appetite.weights.items()]
    else:
        terms = [rates[m] / (lim if lim > 0 else 1.0) for m, lim in appetite.limits.items()]
    total: pd.Series = sum(terms[1:], terms[0])
    return total


def _variant_checks(
    rates: pd.DataFrame, appetite: Appetite, variants: Sequence[str], confidence: float
) -> list[VariantCheck]:
    checks = []
    for variant in variants:
        rows = rates[rates["variant"] == variant]
        limits = []
        for metric, limit in appetite.limits.items():
            interval = mean_interval(rows[metric].to_numpy(dtype=float), confidence)
            low = max(interval.low, 0.0) if not math.isnan(interval.low) else interval.low
            high = interval.high
            if interval.n == 1 or interval.half_width == 0:
                low = high = interval.mean
            status = _limit_status(low, high, limit)
            limits.append(LimitCheck(metric, limit, interval.mean, low, high, status))
        score = float(rows["score"].mean())
        checks.append(VariantCheck(variant, tuple(limits), score))
    return checks


def _paired(rates: pd.DataFrame, a: str, b: str, column: str, confidence: float) -> Trade:
    """``a − b`` on ``column``, replication by replication, with its interval."""
    left = rates[rates["variant"] == a].set_index("replication")[column]
    right = rates[rates["variant"] == b].set_index("replication")[column]
    diff = (left - right).dropna().to_numpy(dtype=float)
    values = np.abs(np.r_[left.to_numpy(dtype=float), right.to_numpy(dtype=float)])
    scale = float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
    diff = np.where(np.abs(diff) <= 1e-9 * scale, 0.0, diff)
    interval = mean_interval(diff, confidence)
    if interval.n < 2:
        return Trade(column, interval.mean, interval.mean, interval.mean)
    return Trade(column, interval.mean, interval.low, interval.high)


def recommend(
    results: pd.DataFrame,
    appetite: Appetite,
    baseline: str,
    horizon: Minutes,
    *,
    variants: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Recommendation:
    """Judge every variant against ``appetite`` and recommend one.

    Parameters
    ----------
    results
        A sweep's per-replication results (``variant, replication, segment_by, segment``
        and metric columns, with ``users``); only segment ``all`` is read.
    appetite
        Limits and/or weights on rates.
    baseline
        The variant the trade is stated against.
    horizon
        The run's simulated time, minutes (for the per-month rates).
    variants
        Variant order; default: as first seen.
    confidence
        Two-sided level of every interval.

    Raises
    ------
    KeyError
        If a metric the appetite names is not a column of ``results``.
    """
    rows = results[results["segment_by"] == "all"]
    missing = [m for m in appetite.metrics if m not in rows.columns]
    if missing:
        raise KeyError(f"results lack the appetite's metric(s) {', '.join(missing)}")
    rates = rates_of_results(rows, horizon)
    rates = rates.assign(score=_scores(rates, appetite))
    names = list(variants) if variants is not None else [str(v) for v in pd.unique(rows["variant"])]
    checks = _variant_checks(rates, appetite, names, confidence)
    meeting = sorted(
        (c for c in checks if c.status is Status.MEETS), key=lambda c: (c.score, c.variant)
    )
    recommended = meeting[0].variant if meeting else None
    tied: list[str] = []
    trades: list[Trade] = []
    if recommended is not None:
        for other in meeting[1:]:
            gap = _paired(rates, other.variant, recommended, "score", confidence)
            if not gap.distinguishable:
                tied.append(other.variant)
        if baseline in names and baseline != recommended:
            trades = [
                _paired(rates, recommended, baseline, m, confidence) for m in appetite.metrics
            ]
    return Recommendation(
        appetite=appetite,
        baseline=baseline,
        variants=tuple(checks),
        recommended=recommended,
        tied=tuple(tied),
        trades=tuple(trades),
        replications=int(rows["replication"].nunique()),
        confidence=confidence,
    )


# -- words -----------------------------------------------------------------------------------
def _number(value: float) -> str:
    """A rate for a sentence: thousands separated, three significant digits at most."""
    if not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 100 or magnitude == 0:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}".removesuffix(".0")
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _listing(names: Sequence[str]) -> str:
    quoted = [f"‘{n}’" for n in names]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _trade_words(trade: Trade) -> str:
    name = f"‘{rate_label(trade.metric)}’"
    if not trade.distinguishable:
        return f"leaves {name} unchanged within simulation noise ({_number(trade.mean)})"
    verb = "adds" if trade.mean > 0 else "removes"
    return f"{verb} {_number(abs(trade.mean))} {rate_unit(trade.metric)} of {name}"


def _failed_on(check: VariantCheck) -> str:
    over = [c for c in check.checks if c.status is not Status.MEETS]
    return ", ".join(
        f"{rate_label(c.metric)} {_number(c.mean)} vs {_number(c.limit)}" for c in over
    )


def _sentences(rec: Recommendation) -> list[str]:
    share = round(rec.confidence * 100)
    total = len(rec.variants)
    meets, unsure = rec.by_status(Status.MEETS), rec.by_status(Status.UNSURE)
    out = [f"Appetite: {rec.appetite.describe()}."]
    if rec.appetite.limits:
        if meets:
            verb = "meets" if len(meets) == 1 else "meet"
            out.append(
                f"{len(meets)} of {total} variants {verb} every limit with {share}% "
                f"confidence: {_listing(meets)}."
            )
        else:
            out.append(f"No variant meets every limit with {share}% confidence.")
    if rec.recommended is None:
        if unsure:
            out.append(
                f"{_listing(unsure)} might: the interval straddles a limit "
                f"({'; '.join(_failed_on(c) for c in rec.variants if c.status is Status.UNSURE)})."
            )
        else:
            closest = min(rec.variants, key=lambda c: c.score, default=None)
            if closest is not None:
                out.append(
                    f"Closest: ‘{closest.variant}’ ({_failed_on(closest)}); the appetite may "
                    "need restating."
                )
    else:
        chosen = next(c for c in rec.variants if c.variant == rec.recommended)
        why = (
            "the lowest weighted cost"
            if rec.appetite.weights
            else "the least of the appetite used (sum of each metric's share of its limit)"
        )
        qualifier = "meets every limit and has " if rec.appetite.limits else "has "
        out.append(f"Recommended: ‘{chosen.variant}’ — it {qualifier}{why}.")
        if rec.tied:
            out.append(
                f"It is tied within simulation noise with {_listing(rec.tied)}: the paired "
                "difference in score could be zero."
            )
        if rec.trades:
            words = [_trade_words(t) for t in rec.trades]
            joined = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
            out.append(f"Against the baseline ‘{rec.baseline}’ it {joined}.")
        elif rec.recommended == rec.baseline:
            out.append("It is the baseline: nothing to change.")
    if rec.recommended is not None and unsure:
        out.append(
            f"Not yet told apart from a limit (the interval straddles it): {_listing(unsure)}."
        )
    if rec.too_few:
        out.append(
            f"{rec.replications} replications are too few to settle this: rerun with "
            f"{PRECISION_HINT} (or more --replications)."
        )
    return out
