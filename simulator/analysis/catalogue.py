"""The metric catalogue: what every metric column means, in one place.

Each column of :data:`simulator.analysis.metrics.METRIC_COLUMNS` has one :class:`Metric`
in :data:`METRICS`: a short label for table headers, axes and sentences; its unit, from
the one vocabulary :data:`UNITS`; whether lower or higher is better; its kind (a count, a
sum of minutes, or a quantile of durations); whether it is per event or time-weighted; and
one sentence defining it (from :mod:`simulator.analysis.metrics` and SEMANTICS.md §8.3).
The CLI tables, the figures and the report take labels, units and definitions from here,
so a metric reads the same everywhere.

Two units differ only in what is summed: **session-minutes** are minutes of granted app
sessions (two apps in use at once count twice), **user-minutes** are minutes a user was
kept out of an app (two apps blocked at once count twice); plain **minutes** are
durations of one episode.

Pure data and lookups: no plotting, no files.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

from simulator.policy.levels import Outcome, Reason, ThreatLevel

__all__ = [
    "METRICS",
    "UNITS",
    "Aggregation",
    "Direction",
    "Kind",
    "Metric",
    "UnknownMetricError",
    "header_lines",
    "label",
    "label_with_unit",
    "metric",
    "unit",
]


class Direction(Enum):
    """Which way a metric is better, all else equal."""

    LOWER_IS_BETTER = "lower is better"
    HIGHER_IS_BETTER = "higher is better"
    NEUTRAL = "neutral"
    """Describes the fleet or the decisions (launches, reasons); not a goal in itself."""


class Kind(Enum):
    """What a metric's value is."""

    COUNT = "count"
    """A number of events (rows, episodes, devices); additive across chunks of devices."""
    MINUTES = "minutes"
    """A sum of durations in minutes; additive across chunks of devices."""
    QUANTILE = "quantile"
    """A median or 95th percentile of per-episode durations, in minutes; not additive."""


class Aggregation(Enum):
    """How a metric summarises the run (salabim's tally vs level)."""

    PER_EVENT = "per event"
    """Each event (row, episode, device) counts once, whatever its duration."""
    TIME_WEIGHTED = "time-weighted"
    """Each event counts by its duration: minutes summed over sessions or denial streaks."""


UNITS: Final = frozenset(
    {
        "devices",
        "users",
        "launches",
        "check-ins",
        "evaluations",
        "decisions",
        "episodes",
        "session-minutes",
        "user-minutes",
        "minutes",
    }
)
"""The unit vocabulary: every :attr:`Metric.unit` is one of these.

``decisions`` are decision-log rows (evaluations and launches that reuse a previous
decision); ``evaluations`` are rows that are not such reuses."""


@dataclass(frozen=True)
class Metric:
    """One metric column: how to name it, its unit, and what it means.

    Attributes
    ----------
    name
        The column name (``exposed_minutes_medium``).
    label
        Short words for headers, axes and sentences (``exposed minutes ≥ medium``).
    unit
        What is counted or summed, from :data:`UNITS`.
    direction
        Whether lower or higher is better.
    kind
        Count, minutes, or quantile.
    aggregation
        Per event or time-weighted.
    description
        One sentence defining the metric.
    """

    name: str
    label: str
    unit: str
    direction: Direction
    kind: Kind
    aggregation: Aggregation
    description: str


_LOWER, _HIGHER, _NEUTRAL = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER, Direction.NEUTRAL


def _count(name: str, label: str, unit: str, direction: Direction, description: str) -> Metric:
    return Metric(name, label, unit, direction, Kind.COUNT, Aggregation.PER_EVENT, description)


def _minutes(name: str, label: str, unit: str, direction: Direction, description: str) -> Metric:
    return Metric(
        name, label, unit, direction, Kind.MINUTES, Aggregation.TIME_WEIGHTED, description
    )


def _quantile(name: str, label: str, description: str) -> Metric:
    return Metric(name, label, "minutes", _LOWER, Kind.QUANTILE, Aggregation.PER_EVENT, description)


_SEVERITIES: Final = tuple(level.label for level in ThreatLevel)[1:]
"""Severities exposure is measured at: low, medium, high."""


def _decision_counts() -> list[Metric]:
    """Counts of decision-log rows: by trigger, by outcome, by reason."""
    found = [
        _count("devices", "devices", "devices", _NEUTRAL, "Devices in the segment."),
        _count(
            "users",
            "users",
            "users",
            _NEUTRAL,
            "Distinct users with a device in the segment (per app: users with the app).",
        ),
        _count(
            "launches",
            "launches",
            "launches",
            _NEUTRAL,
            "App launches: decision rows triggered by a launch, reuses of a previous "
            "decision included.",
        ),
        _count(
            "checkins",
            "check-ins",
            "check-ins",
            _NEUTRAL,
            "Periodic check-ins of a running app (decision rows triggered by a check-in).",
        ),
        _count(
            "evaluations",
            "evaluations",
            "evaluations",
            _NEUTRAL,
            "Decision rows that evaluated the policy: those whose reason is neither "
            "previous_allow nor previous_denial (which reuse an earlier decision).",
        ),
    ]
    found += [
        _count(
            f"evaluations_{o.value}",
            f"evaluations: {o.value}",
            "evaluations",
            _NEUTRAL,
            f"Evaluations whose outcome was {o.value}.",
        )
        for o in Outcome
    ]
    found += [
        _count(
            f"reason_{r.value}",
            f"reason {r.value}",
            "decisions",
            _NEUTRAL,
            f"Decision rows, reuses included, with reason {r.value}.",
        )
        for r in Reason
    ]
    return found


def _exposure_and_friction() -> list[Metric]:
    """Exposure (granted access at a true level) and the friction counts."""
    found = [
        _count(
            f"exposed_launches_{s}",
            f"exposed launches ≥ {s}",
            "launches",
            _LOWER,
            f"Launches granted (any reason, reuses and untargeted apps included) while the "
            f"device's true threat level was at least {s}.",
        )
        for s in _SEVERITIES
    ]
    found += [
        _count(
            "unneeded_blocks",
            "unneeded blocks",
            "evaluations",
            _LOWER,
            "Threat-level blocks (reason threat_level_exceeded, at launch or check-in) "
            "while the true level was already within the max allowed: a stale signal.",
        ),
        _count(
            "unneeded_wipes",
            "unneeded wipes",
            "evaluations",
            _LOWER,
            "Threat-level wipes while the true level was already within the max allowed: "
            "a stale signal.",
        ),
        _count(
            "unneeded_denials",
            "unneeded denials",
            "evaluations",
            _LOWER,
            "Unneeded blocks plus unneeded wipes: threat-level denials while the true "
            "level was already within the max allowed.",
        ),
        _count(
            "onboarding_blocks",
            "onboarding blocks",
            "evaluations",
            _LOWER,
            "Denials with reason mtd_not_activated: Defender was not activated on the device.",
        ),
        _count(
            "wipe_events",
            "wipe decisions",
            "evaluations",
            _LOWER,
            "Evaluations whose outcome was a selective wipe of the app's organisation data, "
            "every one (a user retrying during one threat counts each time).",
        ),
        _count(
            "wipes",
            "wipes",
            "evaluations",
            _LOWER,
            "Wipes that removed data: an app's first wipe, or its first after a later "
            "granted access (a user retrying during one threat is wiped once).",
        ),
        _count(
            "devices_wiped",
            "devices wiped",
            "devices",
            _LOWER,
            "Devices with at least one wipe that removed data (per app: devices whose app "
            "was wiped, so app segments do not add up to all).",
        ),
        _count(
            "users_affected",
            "users affected",
            "users",
            _LOWER,
            "Distinct users blocked for threat level for more than one working hour over "
            "the run (working hours: the scenario's launches.working_hours, Monday–Friday).",
        ),
    ]
    return found


def _durations() -> list[Metric]:
    """Minutes summed over granted sessions and over denial streaks."""
    found = [
        _minutes(
            "granted_minutes",
            "granted minutes",
            "session-minutes",
            _HIGHER,
            "Minutes of granted app sessions, launch to session end (natural, or cut "
            "by a mid-session denial), summed over sessions.",
        ),
    ]
    found += [
        _minutes(
            f"exposed_minutes_{s}",
            f"exposed minutes ≥ {s}",
            "session-minutes",
            _LOWER,
            f"Minutes of granted app sessions while the device's true threat level "
            f"was at least {s}, summed over sessions.",
        )
        for s in _SEVERITIES
    ]
    found += [
        _minutes(
            "blocked_user_minutes",
            "blocked, any reason",
            "user-minutes",
            _LOWER,
            "Per device and app, each streak of denials from its first denial to the "
            "next granted access (or the horizon), summed, whatever the reason: "
            "threat level, Defender onboarding or offline.",
        ),
        _minutes(
            "blocked_user_minutes_threat",
            "blocked for threat level",
            "user-minutes",
            _LOWER,
            "The part of the blocked user-minutes whose denial was for the "
            "threat-level condition (threat_level_exceeded, connector_disabled, "
            "partner_unresponsive): the friction the threshold itself causes.",
        ),
        _minutes(
            "blocked_user_minutes_onboarding",
            "blocked for onboarding",
            "user-minutes",
            _LOWER,
            "The part of the blocked user-minutes whose denial was for "
            "mtd_not_activated: Defender not yet activated on the device.",
        ),
        _minutes(
            "blocked_user_minutes_offline",
            "blocked for being offline",
            "user-minutes",
            _LOWER,
            "The part of the blocked user-minutes whose denial was for being "
            "offline too long (offline_block, offline_wipe).",
        ),
        _minutes(
            "blocked_working_minutes",
            "blocked in working hours, any reason",
            "user-minutes",
            _LOWER,
            "The blocked user-minutes that fell inside working hours (the scenario's "
            "launches.working_hours, Monday–Friday): the friction people notice at work.",
        ),
        _minutes(
            "blocked_working_minutes_threat",
            "blocked in working hours for threat level",
            "user-minutes",
            _LOWER,
            "The threat-level part of the blocked user-minutes that fell inside working "
            "hours (Monday–Friday, the scenario's launches.working_hours).",
        ),
    ]
    return found


def _episode_metrics() -> list[Metric]:
    """Per threat episode: counts, then quantiles of time to protect and restore."""
    found = [
        _count(
            "episodes",
            "episodes",
            "episodes",
            _NEUTRAL,
            "Threat episodes on the segment's devices (NaN for app segments).",
        ),
        _count(
            "undetected_episodes",
            "undetected episodes",
            "episodes",
            _LOWER,
            "Threat episodes Defender never detected.",
        ),
        _count(
            "episodes_over_max",
            "episodes above max",
            "episodes",
            _NEUTRAL,
            "Threat episodes whose severity was above the strictest max allowed level in "
            "force on the device: those the policy is meant to stop.",
        ),
        _count(
            "episodes_enforced",
            "episodes enforced",
            "episodes",
            _NEUTRAL,
            "Episodes above the max with a threat-level denial on the device during the episode.",
        ),
    ]
    found += [
        _count(
            f"never_enforced_{s}",
            f"never enforced ≥ {s}",
            "episodes",
            _LOWER,
            f"Episodes of at least {s} severity that ended before the horizon without any "
            "threat-level denial on the device while they lasted: one yardstick for every "
            "variant, whatever its max.",
        )
        for s in _SEVERITIES
    ]
    found += [
        _count(
            "episodes_active_at_horizon",
            "episodes active at horizon",
            "episodes",
            _NEUTRAL,
            "Threat episodes not ended at the horizon, left out of never_enforced_*.",
        ),
        _count(
            "never_restored",
            "never restored",
            "episodes",
            _LOWER,
            "Enforced episodes with no granted access to a targeted app from the "
            "episode's end to the horizon.",
        ),
        _quantile(
            "time_to_protect_median_min",
            "time to protect, median",
            "Median over enforced episodes of the time from onset to the first "
            "threat-level denial on the device.",
        ),
        _quantile(
            "time_to_protect_p95_min",
            "time to protect, p95",
            "95th percentile over enforced episodes of the time from onset to the "
            "first threat-level denial on the device.",
        ),
        _quantile(
            "time_to_restore_median_min",
            "time to restore, median",
            "Median over restored episodes of the time from the episode's end to the "
            "next granted access of a targeted app.",
        ),
        _quantile(
            "time_to_restore_p95_min",
            "time to restore, p95",
            "95th percentile over restored episodes of the time from the episode's "
            "end to the next granted access of a targeted app.",
        ),
    ]
    return found


METRICS: Final[Mapping[str, Metric]] = MappingProxyType(
    {
        m.name: m
        for m in (
            *_decision_counts(),
            *_exposure_and_friction(),
            *_durations(),
            *_episode_metrics(),
        )
    }
)
"""Every metric column → its :class:`Metric` (read-only), grouped as in
:mod:`~simulator.analysis.metrics`."""


class UnknownMetricError(KeyError):
    """A name that is not a metric column; the message lists close names."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


def metric(name: str) -> Metric:
    """The :class:`Metric` of a column name.

    Raises
    ------
    UnknownMetricError
        (a :class:`KeyError`) if ``name`` is not in :data:`METRICS`; the message names the
        closest metric columns.
    """
    try:
        return METRICS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(METRICS), n=4, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownMetricError(f"unknown metric {name!r}{hint}") from None


def label(name: str) -> str:
    """The metric's short label (``"exposed minutes ≥ medium"``)."""
    return metric(name).label


def unit(name: str) -> str:
    """The metric's unit, from :data:`UNITS` (``"session-minutes"``)."""
    return metric(name).unit


def _says_unit(found: Metric) -> bool:
    """Whether the label already names the unit (``exposed launches ≥ medium``)."""
    return found.unit in found.label.replace(":", " ").replace(",", " ").split()


def label_with_unit(name: str) -> str:
    """Label and unit for an axis or a sentence: ``"wipes (evaluations)"``; the unit is
    left out when the label names it (``"launches"``, not ``"launches (launches)"``)."""
    found = metric(name)
    return found.label if _says_unit(found) else f"{found.label} ({found.unit})"


def header_lines(name: str) -> tuple[str, str]:
    """A table header of two lines: the label, and ``(unit)`` (empty when the label names
    its unit)."""
    found = metric(name)
    return found.label, "" if _says_unit(found) else f"({found.unit})"
