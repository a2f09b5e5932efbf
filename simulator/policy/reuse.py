"""When a launch re-evaluates, and what a launch that does not re-evaluate is told.

``docs/semantics.md`` §4: a launch triggers a recheck (a check-in, when online, and an
evaluation) when the app has been inactive for at least *Recheck the access requirements
after* (Graph ``periodOnlineBeforeAccessCheck``); otherwise the previous *allow* stands
without evaluation. A previous *denial* is re-evaluated at every launch when the user
retries (behaviour parameter ``retry_denied_at_launch``, default true); otherwise it stands.
A wiped app always re-evaluates (the user signs in again), and so does a launch when the
check-in interval has passed since the app's last check-in (the check-in falls due as the
app comes to the foreground, so the launch is decided with what it fetches).

Both engines call these two functions, so the rule is written once. They are pure: no
clock, no state — the engines pass what the app remembers.
"""

from __future__ import annotations

from typing import Final

from simulator.durations import Minutes
from simulator.policy.behavior import DEFAULT_RECHECK_AFTER
from simulator.policy.decide import Decision, EffectivePolicy
from simulator.policy.levels import OUTCOME_VERB, Outcome, Reason

PREVIOUS_ALLOW_TEXT = "allowed — launched within the recheck window, previous allow stands"
"""The explanation of a launch that reuses a previous allow."""


def recheck_period(eff: EffectivePolicy | None) -> Minutes:
    """Minutes of inactivity after which a launch re-evaluates (the merged policy's
    *Recheck the access requirements after*; the Intune default when not targeted)."""
    return eff.recheck_after if eff is not None else DEFAULT_RECHECK_AFTER


OFFLINE_FLOOR_MIN: Final[Minutes] = 1e-9
"""The least ``offline_min`` an offline evaluation reports: at the very instant a device
goes offline it is offline, and ``offline_min = 0`` would read as online."""


def checkin_due(eff: EffectivePolicy | None, last_checkin: Minutes | None, t: Minutes) -> bool:
    """Whether the check-in interval has passed at ``t`` since the app's last check-in."""
    if eff is None or last_checkin is None:
        return False
    return t - last_checkin >= eff.checkin_interval


def launch_rechecks(
    previous: Outcome | None,
    *,
    wiped: bool,
    inactive_min: Minutes,
    recheck_after: Minutes,
    retry_denied: bool,
    checkin_due: bool = False,
) -> bool:
    """Whether a launch checks in and evaluates (True) or reuses the previous decision.

    Parameters
    ----------
    previous
        Outcome of the app's last decision, ``None`` before its first launch.
    wiped
        The app's organisation data was wiped by its last evaluation.
    inactive_min
        Minutes since the app was last in use (end of its last session or block screen).
    recheck_after
        The recheck period (:func:`recheck_period`), minutes.
    retry_denied
        Behaviour parameter ``retry_denied_at_launch``: a denied user's next launch
        re-evaluates.
    checkin_due
        The check-in interval has passed since the last check-in (:func:`checkin_due`).
    """
    return (
        previous is None
        or wiped
        or checkin_due
        or inactive_min >= recheck_after
        or (retry_denied and previous is not Outcome.ALLOW)
    )


def reused_decision(previous: Decision, eff: EffectivePolicy | None) -> Decision:
    """What a launch that does not re-evaluate is told: the previous allow stands
    (reason ``previous_allow``), or the previous denial does (``previous_denial``)."""
    if previous.outcome is Outcome.ALLOW:
        return previous_allow(eff)
    return Decision(
        previous.outcome,
        Reason.PREVIOUS_DENIAL,
        previous.policies,
        f"{OUTCOME_VERB[previous.outcome]} — launched within the recheck window; the "
        f"previous denial ({previous.reason.value}) stands without a check-in",
    )


def previous_allow(eff: EffectivePolicy | None) -> Decision:
    """The decision of a launch within the recheck window after an allow."""
    policies = eff.policies if eff is not None else ()
    return Decision(Outcome.ALLOW, Reason.PREVIOUS_ALLOW, policies, PREVIOUS_ALLOW_TEXT)
