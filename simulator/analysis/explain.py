"""What happened to one device, in a few numbers: the summary ``condlaunch explain`` opens with.

:func:`device_summary` counts one device's decision-log rows per variant — granted, denied
by cause, wipes — and when its first threat-level denial came; :func:`device_to_explain`
picks a device worth explaining in a run (one with a threat-level denial). Pure functions
of the decision log (works with object, string or categorical columns): no files.
"""

from __future__ import annotations

import math
from typing import Any, Final

import pandas as pd

from simulator.policy.levels import Outcome, Reason

__all__ = [
    "SUMMARY_COLUMNS",
    "denial_rows",
    "device_summary",
    "device_to_explain",
    "explain_candidate",
    "timeline_candidate",
]

SUMMARY_COLUMNS: Final = (
    *("variant", "decisions", "launches", "granted", "denied"),
    *("denied_threat_level", "denied_onboarding", "denied_offline", "wipes"),
    "first_threat_denial_min",
)
"""Columns of :func:`device_summary`; ``first_threat_denial_min`` is NaN when there was none."""

_THREAT: Final = frozenset(
    r.value for r in (Reason.THREAT_LEVEL_EXCEEDED, Reason.CONNECTOR_DISABLED)
) | {Reason.PARTNER_UNRESPONSIVE.value}
_OFFLINE: Final = frozenset({Reason.OFFLINE_BLOCK.value, Reason.OFFLINE_WIPE.value})


def _text(column: pd.Series) -> pd.Series:
    return column.astype(str)


def denial_rows(decisions: pd.DataFrame) -> pd.Series:
    """Per row: whether it denied access (blocked or wiped)."""
    return _text(decisions["outcome"]) != Outcome.ALLOW.value


def device_summary(decisions: pd.DataFrame, device: str) -> pd.DataFrame:
    """One row per variant of what the decision log says about ``device``.

    Raises
    ------
    KeyError
        If the device has no rows.
    """
    rows = decisions[_text(decisions["device"]) == device]
    if rows.empty:
        raise KeyError(f"no decision-log rows for device {device!r}")
    out: list[dict[str, Any]] = []
    for variant, part in rows.groupby(_text(rows["variant"]), sort=False):
        reason, outcome = _text(part["reason"]), _text(part["outcome"])
        denied = outcome != Outcome.ALLOW.value
        threat = denied & reason.isin(list(_THREAT))
        times = part.loc[threat & (reason == Reason.THREAT_LEVEL_EXCEEDED.value), "time_min"]
        out.append(
            {
                "variant": str(variant),
                "decisions": len(part),
                "launches": int((_text(part["trigger"]) == "launch").sum()),
                "granted": int((~denied).sum()),
                "denied": int(denied.sum()),
                "denied_threat_level": int(threat.sum()),
                "denied_onboarding": int(
                    (denied & (reason == Reason.MTD_NOT_ACTIVATED.value)).sum()
                ),
                "denied_offline": int((denied & reason.isin(list(_OFFLINE))).sum()),
                "wipes": int(
                    (
                        (outcome == Outcome.WIPE.value) & (reason != Reason.PREVIOUS_DENIAL.value)
                    ).sum()
                ),
                "first_threat_denial_min": float(times.min()) if len(times) else math.nan,
            }
        )
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def device_to_explain(decisions: pd.DataFrame) -> str | None:
    """A device worth explaining: the first (in log order) with a threat-level denial,
    else the first device in the log; None for an empty log."""
    if decisions.empty:
        return None
    threat = _text(decisions["reason"]) == Reason.THREAT_LEVEL_EXCEEDED.value
    chosen = decisions.loc[threat, "device"] if threat.any() else decisions["device"]
    return str(chosen.iloc[0])


def explain_candidate(decisions: pd.DataFrame) -> tuple[int, float, int, str] | None:
    """How :func:`device_to_explain` ranks its pick among a canonical log's rows: (0 for a
    threat-level denial else 1, time, device index, device) of the first row it would
    take; None for no rows. Over logs of disjoint devices (a streamed run's chunks, each
    in canonical order but one variant's rows first), the least key is the pick for their
    union, given the variant's rank first: callers pass one variant's rows."""
    if decisions.empty:
        return None
    threat = (_text(decisions["reason"]) == Reason.THREAT_LEVEL_EXCEEDED.value).to_numpy()
    rows = decisions[threat] if threat.any() else decisions
    first = rows.iloc[0]
    return (
        0 if threat.any() else 1,
        float(first["time_min"]),
        int(first["device_index"]),
        str(first["device"]),
    )


def timeline_candidate(
    decisions: pd.DataFrame, episodes: pd.DataFrame, variant: str
) -> tuple[int, int, str] | None:
    """The device worth a timeline under ``variant``, as a rank: (tier, −count, device).

    Tier 0: devices with a threat episode and threat-level denials, by most denials;
    tier 1 (when no device is in tier 0): every device, by most rows; ties go to the
    smallest name. The least rank over logs of disjoint devices (a streamed run's chunks)
    is the pick over all of them. None when ``variant`` has no rows.
    """
    rows = decisions[_text(decisions["variant"]) == variant]
    if rows.empty:
        return None
    with_episode = set(map(str, episodes.loc[_text(episodes["variant"]) == variant, "device"]))
    denials = rows[
        (_text(rows["reason"]) == Reason.THREAT_LEVEL_EXCEEDED.value)
        & (_text(rows["outcome"]) != Outcome.ALLOW.value)
    ]
    counts = _text(denials["device"]).value_counts()
    candidates = [(0, -int(c), str(d)) for d, c in counts.items() if str(d) in with_episode]
    if not candidates:
        candidates = [(1, -int(c), str(d)) for d, c in _text(rows["device"]).value_counts().items()]
    return min(candidates)
