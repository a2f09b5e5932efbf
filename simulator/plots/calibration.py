"""Figures of a calibration: each fit drawn against the data it came from.

* :func:`delay_fits` — per threat kind, the empirical distribution of detection delays
  (``createdDateTime − firstActivityDateTime``) and the fitted lognormal;
* :func:`duration_fits` — per kind, alert durations: the Kaplan–Meier estimate (unresolved
  alerts right-censored) and the fitted lognormal;
* :func:`launch_profile` — weekday sessions by hour of day and the fitted profile (the
  working-hours share spread evenly inside and outside the hours), and sessions per
  weekday and weekend day;
* :func:`fleet_mix` — apps per device, and the severity mix per kind.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from simulator.plots.run import _duration_ticks, _log_limits, _new_figure, note_figure
from simulator.tenant.calibrate import Calibration, KindEvidence, LognormalFit, duration_text

_DATA = "#1f77b4"
_FIT = "#d62728"
_SEVERITY_COLORS = {"low": "#f2c14e", "medium": "#f78154", "high": "#b5172b"}


def _grid(count: int) -> tuple[int, int]:
    cols = min(count, 2)
    return math.ceil(count / cols), cols


def _ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(np.maximum(values, 1 / 60))
    return x, np.arange(1, x.size + 1) / x.size


def kaplan_meier(observed: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times and the Kaplan–Meier distribution function (1 − survival) at them."""
    times = np.concatenate([observed, censored])
    events = np.concatenate([np.ones(observed.size), np.zeros(censored.size)])
    order = np.argsort(times, kind="stable")
    times, events = times[order], events[order]
    at_risk = times.size - np.arange(times.size)
    survival = np.cumprod(np.where(events == 1, 1 - 1 / at_risk, 1.0))
    keep = events == 1
    return np.maximum(times[keep], 1 / 60), 1 - survival[keep]


def _fit_label(fit: LognormalFit) -> str:
    return f"fitted lognormal: median {duration_text(fit.median)}, p90 {duration_text(fit.p90)}"


def _distribution_panels(calibration: Calibration, title: str, pick: str, xlabel: str) -> Figure:
    kinds = {
        k: e
        for k, e in calibration.kinds.items()
        if (e.delays if pick == "delay" else e.durations).size
    }
    if not kinds:
        return note_figure(title, "no alerts with enough data to fit")
    rows, cols = _grid(len(kinds))
    fig, axes = _new_figure(rows, cols, figsize=(5.2 * cols, 3.4 * rows))
    for ax, (kind, evidence) in zip(axes, kinds.items(), strict=False):
        x, y, fit, label = _series(evidence, pick)
        lo, hi = _log_limits(x)
        ax.set_xscale("log")
        ax.step(x, y, where="post", color=_DATA, label=label)
        if fit is not None:
            grid = np.geomspace(lo, hi, 200)
            ax.plot(grid, fit.cdf(grid), color=_FIT, linestyle="--", label=_fit_label(fit))
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 1.02)
        _duration_ticks(ax, lo, hi)
        ax.set_title(f"{kind} (n = {evidence.delays.size})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("share of alerts ≤ x")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    for ax in axes[len(kinds) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    return fig


def _series(
    evidence: KindEvidence, pick: str
) -> tuple[np.ndarray, np.ndarray, LognormalFit | None, str]:
    if pick == "delay":
        x, y = _ecdf(evidence.delays)
        return x, y, evidence.delay_fit, "alerts (empirical)"
    x, y = kaplan_meier(evidence.durations, evidence.censored)
    label = f"alerts (Kaplan–Meier, {evidence.censored.size} unresolved)"
    return x, y, evidence.duration_fit, label


def delay_fits(calibration: Calibration) -> Figure:
    """Detection delay per kind: data vs fit."""
    return _distribution_panels(
        calibration,
        "Detection delay: alert created − first activity",
        "delay",
        "detection delay",
    )


def duration_fits(calibration: Calibration) -> Figure:
    """Alert duration per kind: data (censoring-aware) vs fit."""
    return _distribution_panels(
        calibration,
        "Threat duration: alert resolved − first activity (as observed under today's policy)",
        "duration",
        "duration",
    )


def launch_profile(calibration: Calibration) -> Figure:
    """Weekday sessions by hour vs the fitted profile; weekday vs weekend rates."""
    counts = calibration.weekday_hours
    total = float(counts.sum())
    if total == 0:
        return note_figure("App sessions", "no sign-ins: app use keeps its defaults")
    fig, (ax, bx) = _new_figure(1, 2, figsize=(11.0, 3.6))
    h0, h1 = calibration.working_hours
    share = float(calibration.get("launches.working_share").value)
    inside = np.zeros(24, dtype=bool)
    inside[h0:h1] = True
    fitted = np.where(inside, share / max(h1 - h0, 1), (1 - share) / max(24 - (h1 - h0), 1))
    hours = np.arange(24)
    ax.bar(hours, counts / total, width=0.8, color=_DATA, label="sessions from sign-ins")
    ax.step(
        np.arange(25) - 0.5,
        np.append(fitted, fitted[-1]),
        where="post",
        color=_FIT,
        linestyle="--",
        label=f"fitted: {share:.0%} inside {h0}:00–{h1}:00",
    )
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlabel("hour of day (local time)")
    ax.set_ylabel("share of weekday sessions")
    ax.set_title("Weekday sessions by hour")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, axis="y")
    rates = calibration.day_rates
    if rates:
        factor = float(calibration.get("launches.weekend_factor").value)
        bx.bar(["weekday", "weekend day"], [rates["weekday"], rates["weekend"]], color=_DATA)
        bx.set_title(f"Sessions per day, fleet (weekend factor {factor:.2f})")
        bx.set_ylabel("sessions per day")
        bx.grid(alpha=0.3, axis="y")
    else:
        bx.set_axis_off()
    fig.suptitle("App use derived from sign-ins")
    return fig


def fleet_mix(calibration: Calibration) -> Figure:
    """Apps per device, and each kind's severity mix."""
    fig, (ax, bx) = _new_figure(1, 2, figsize=(11.0, 4.0))
    apps = calibration.apps_per_device
    if apps:
        keys = sorted(apps)
        ax.bar([str(k) for k in keys], [apps[k] for k in keys], color=_DATA)
        ax.set_xlabel("protected apps on the device")
        ax.set_ylabel("devices")
        ax.set_title("Apps per device")
        ax.grid(alpha=0.3, axis="y")
    else:
        ax.set_axis_off()
    kinds = [k for k, e in calibration.kinds.items() if sum(e.severities.values())]
    if kinds:
        left = np.zeros(len(kinds))
        for severity, color in _SEVERITY_COLORS.items():
            shares = np.array(
                [
                    calibration.kinds[k].severities[severity]
                    / max(sum(calibration.kinds[k].severities.values()), 1)
                    for k in kinds
                ]
            )
            bx.barh(kinds, shares, left=left, color=color, label=severity)
            left += shares
        bx.set_xlim(0, 1)
        bx.set_xlabel("share of alerts")
        bx.set_title("Severity mix per kind (alerts)")
        bx.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    else:
        bx.set_axis_off()
    fig.suptitle("Fleet and alerts")
    return fig
