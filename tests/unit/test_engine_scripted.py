"""Hand-computed scripted timelines that pin the rules of SEMANTICS.md §4-§5 in the engine.

Every expectation below was worked out by hand from the rules; the timeline in each
docstring is the calculation. Times are minutes from the scenario start.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.log import explain_row
from simulator.sim.run import RunResult, simulate

POLICY: dict[str, Any] = {
    "name": "P",
    "apps": ["outlook"],
    "max_threat_level": "secured",
    "threat_action": "block",
    "recheck_after": "30m",
    "checkin_interval": "30m",
    "offline_block_after": "720m",
    "offline_wipe_after": "90d",
}


def scripted(
    events: list[dict[str, Any]],
    *,
    device: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    behavior: dict[str, Any] | None = None,
    horizon: str = "1d",
) -> Scenario:
    """A one-device scripted scenario (signal delay 10 min) with one policy."""
    spec = {"id": "d1", "management": "mam_we", "defender": "activated"}
    spec.update(device or {})
    data: dict[str, Any] = {
        "name": "scripted test",
        "horizon": horizon,
        "signals": {"defender_to_intune": {"dist": "fixed", "value": "10m"}},
        "policies": [{**POLICY, **(policy or {})}],
        "behavior": behavior or {},
        "script": {
            "devices": [spec],
            "events": [{"device": "d1", **e} for e in events],
        },
    }
    return scenario_from_data(data, source="<test>")


def run(scenario: Scenario) -> RunResult:
    """Simulate and return the result."""
    return simulate(scenario)


def rows(result: RunResult) -> list[dict[str, Any]]:
    """Decision rows as dicts, in log order."""
    return result.decisions.to_dict("records")  # type: ignore[return-value]


def summary(result: RunResult) -> list[tuple[float, str, str, str]]:
    """(time, trigger, outcome, reason) per row."""
    return [(r["time_min"], r["trigger"], r["outcome"], r["reason"]) for r in rows(result)]


def launch(at: float, duration: float = 5, app: str = "outlook") -> dict[str, Any]:
    """A launch event."""
    return {"at": at, "type": "launch", "app": app, "duration": duration}


def threat(
    at: float, severity: str = "high", detected_after: float | None = 5, **kw: Any
) -> dict[str, Any]:
    """A threat event with id t1 unless given."""
    event: dict[str, Any] = {
        "at": at,
        "type": "threat",
        "id": kw.pop("id", "t1"),
        "severity": severity,
    }
    if detected_after is not None:
        event["detected_after"] = detected_after
    event.update(kw)
    return event


def test_recheck_window_reuses_previous_allow() -> None:
    """A launch less than recheck_after after the app was last active reuses the allow
    without a check-in; one after the window evaluates with a check-in.

    60: first launch → evaluate (allow), session to 65. 70: inactive 5 < 30 → previous
    allow, not fetched; session to 75. 120: inactive 45 ≥ 30 → evaluate, fetched.
    """
    result = run(scripted([launch(60), launch(70), launch(120)]))
    got = [(r["time_min"], r["reason"], r["fetched"]) for r in rows(result)]
    assert got == [
        (60.0, "compliant", True),
        (70.0, "previous_allow", False),
        (120.0, "compliant", True),
    ]
    assert [r["session_end_min"] for r in rows(result)] == [65.0, 75.0, 125.0]


def test_defender_to_intune_delay_and_levels_on_the_row() -> None:
    """A detection reaches the app only after the Defender → Intune delay.

    Threat (high) at 60, detected at 65, visible to Intune at 75. Launch at 70: Intune
    still secured → allow while the true level is high (exposed). Launch at 110: check-in
    fetches high → block, threat_level_exceeded.
    """
    result = run(scripted([threat(60), launch(70, 1), launch(110)]))
    first, second = rows(result)
    assert (first["outcome"], first["reason"]) == ("allow", "compliant")
    assert (first["true_level"], first["defender_level"], first["intune_level"]) == (
        "high",
        "high",
        "secured",
    )
    assert first["known_level"] == "secured"
    assert (second["outcome"], second["reason"]) == ("block", "threat_level_exceeded")
    assert second["known_level"] == "high"
    assert second["known_level_age_min"] == 0.0
    assert second["explanation"].startswith("blocked — app knew high")


def test_launch_just_before_intune_sees_the_change_is_allowed() -> None:
    """Boundary of the signal delay: Intune holds the level from detection + delay on.

    Detected at 65 → Intune from 75. Launch at 74.9 allows; a fresh launch at 75 blocks.
    """
    allowed = run(scripted([threat(60), launch(74.9, 0.05)]))
    blocked = run(scripted([threat(60), launch(75, 1)]))
    assert summary(allowed)[0][2:] == ("allow", "compliant")
    assert summary(blocked)[0][2:] == ("block", "threat_level_exceeded")


def test_midsession_checkin_ends_the_session() -> None:
    """While in use the app checks in every 30 min; a denial then ends the session.

    Launch at 60 for 120 min (check-in at 60). Threat at 70, detected 75, Intune 85.
    Check-in due at 90 → fetch high → block (checkin); the session is cut at 90.
    """
    result = run(scripted([launch(60, 120), threat(70)]))
    assert summary(result) == [
        (60.0, "launch", "allow", "compliant"),
        (90.0, "checkin", "block", "threat_level_exceeded"),
    ]
    assert rows(result)[0]["session_end_min"] == 90.0


def test_midsession_enforcement_off_lets_the_session_run() -> None:
    """With midsession_enforcement = false the in-session denial is logged but the
    session runs to its natural end (180); check-ins continue every 30 min."""
    result = run(
        scripted([launch(60, 120), threat(70)], behavior={"midsession_enforcement": False})
    )
    assert [r[0] for r in summary(result)] == [60.0, 90.0, 120.0, 150.0]
    assert rows(result)[0]["session_end_min"] == 180.0


def test_denial_is_retried_with_a_checkin_at_every_launch() -> None:
    """A previous denial is re-evaluated at the next launch even inside the recheck
    window. Blocked at 110; launch at 115 (5 min later) → evaluated again, fetched."""
    result = run(scripted([threat(60), launch(110), launch(115)]))
    got = [(r["time_min"], r["outcome"], r["fetched"]) for r in rows(result)]
    assert got == [(110.0, "block", True), (115.0, "block", True)]


def test_denial_not_retried_when_the_parameter_is_off() -> None:
    """With retry_denied_at_launch = false a launch inside the recheck window repeats
    the previous denial without a check-in."""
    result = run(
        scripted([threat(60), launch(110), launch(115)], behavior={"retry_denied_at_launch": False})
    )
    got = [(r["time_min"], r["outcome"], r["reason"], r["fetched"]) for r in rows(result)]
    assert got == [
        (110.0, "block", "threat_level_exceeded", True),
        (115.0, "block", "previous_denial", False),
    ]


def test_offline_block_after_the_grace_period_then_online_again() -> None:
    """Offline, the app counts minutes since its last check-in (60 here).

    Offline from 100. Launch at 700: 640 min < 720 → allowed (not fetched). Launch at
    800: 740 ≥ 720 → offline_block. Online at 900; launch at 910 → fetch, compliant.
    """
    events = [
        launch(60),
        {"at": 100, "type": "offline"},
        launch(700),
        launch(800),
        {"at": 900, "type": "online"},
        launch(910),
    ]
    result = run(scripted(events, horizon="2d"))
    got = [(r["time_min"], r["reason"], r["offline_min"], r["fetched"]) for r in rows(result)]
    assert got == [
        (60.0, "compliant", 0.0, True),
        (700.0, "compliant", 640.0, False),
        (800.0, "offline_block", 740.0, False),
        (910.0, "compliant", 0.0, True),
    ]


def test_offline_wipe_after_the_wipe_period_immediate() -> None:
    """offline_wipe = immediate (the conservative bound): offline past the wipe period
    (2 d here) → wipe at once, which outranks the block.

    Check-in at 60, offline from 100; launch at 60 + 2880 + 1 = 2941 → offline_wipe.
    """
    events = [launch(60), {"at": 100, "type": "offline"}, launch(2941)]
    scenario = scripted(
        events,
        policy={"offline_wipe_after": "2d"},
        behavior={"offline_wipe": "immediate"},
        horizon="3d",
    )
    last = rows(run(scenario))[-1]
    assert (last["outcome"], last["reason"], last["offline_min"]) == (
        "wipe",
        "offline_wipe",
        2881.0,
    )


def test_offline_past_the_wipe_period_waits_for_reauthentication() -> None:
    """offline_wipe = on_failed_reauth (the documented default): still offline past the
    wipe period → block (offline_reauth), not a wipe: the user must reconnect first."""
    events = [launch(60), {"at": 100, "type": "offline"}, launch(2941)]
    last = rows(run(scripted(events, policy={"offline_wipe_after": "2d"}, horizon="3d")))[-1]
    assert (last["outcome"], last["reason"]) == ("block", "offline_reauth")


def test_connector_disabled_has_no_effect_then_changes_arrive_when_enabled() -> None:
    """Connector disabled at 50: threat conditions have no effect (allow,
    connector_disabled) and level changes queue. Enabled at 200: the detection (65)
    would have reached Intune at 75; it arrives at 200. Launch at 210 → block."""
    events = [
        {"at": 50, "type": "connector", "state": "disabled"},
        threat(60),
        launch(120),
        {"at": 200, "type": "connector", "state": "enabled"},
        launch(210),
    ]
    result = run(scripted(events))
    got = [(r["time_min"], r["outcome"], r["reason"], r["intune_level"]) for r in rows(result)]
    assert got == [
        (120.0, "allow", "connector_disabled", "secured"),
        (210.0, "block", "threat_level_exceeded", "high"),
    ]


def test_connector_disabled_fail_closed_parameter() -> None:
    """connector_off_behavior = block denies every threat-checked launch while disabled."""
    events = [{"at": 50, "type": "connector", "state": "disabled"}, launch(120)]
    result = run(scripted(events, behavior={"connector_off_behavior": "block"}))
    assert summary(result) == [(120.0, "launch", "block", "connector_disabled")]


def test_partner_unresponsive_only_after_the_threshold() -> None:
    """An unresponsive partner is ignored only after partner_unresponsive_days (0.1 d =
    144 min here). From 0: launch at 100 is still checked normally; at 200 the service
    ignores threat data (allow, partner_unresponsive)."""
    events = [
        {"at": 0, "type": "connector", "state": "unresponsive"},
        launch(100),
        launch(200),
    ]
    result = run(scripted(events, behavior={"partner_unresponsive_days": 0.1}))
    assert [r[3] for r in summary(result)] == ["compliant", "partner_unresponsive"]


def test_defender_not_activated_blocks_until_activated() -> None:
    """Defender absent → block (mtd_not_activated); activated at 100 → launch at 110
    is allowed."""
    events = [launch(60), {"at": 100, "type": "defender", "state": "activated"}, launch(110)]
    result = run(scripted(events, device={"defender": "absent"}))
    got = [(r["time_min"], r["outcome"], r["reason"], r["defender_state"]) for r in rows(result)]
    assert got == [
        (60.0, "block", "mtd_not_activated", "absent"),
        (110.0, "allow", "compliant", "activated"),
    ]


def test_nudged_remediation_and_stale_signal() -> None:
    """A threat denial nudges the user: the episode ends 20 min after it.

    Detected 65, Intune 75. Block at 110 → episode ends at 130; the alert resolves at
    130 and Intune sees it at 140. Launch at 135: Intune still high → block although
    the true level is secured (an unneeded, stale-signal block). Launch at 145 → allow.
    """
    events = [threat(60, remediate_after_denial="20m"), launch(110), launch(135), launch(145)]
    result = run(scripted(events))
    got = [(r["time_min"], r["outcome"], r["true_level"]) for r in rows(result)]
    assert got == [
        (110.0, "block", "high"),
        (135.0, "block", "secured"),
        (145.0, "allow", "secured"),
    ]
    episode = result.episodes.iloc[0]
    assert episode["end_min"] == 130.0
    assert bool(episode["nudged"]) is True
    assert episode["first_threat_denial_min"] == 110.0
    assert "stale signal" in explain_row(rows(result)[1])


def test_without_nudge_the_episode_runs_to_its_natural_end() -> None:
    """With nudged_remediation = false the episode keeps its natural (scripted) end."""
    events = [
        threat(60, remediate_after_denial="20m"),
        launch(110),
        {"at": 500, "type": "remediate", "threat": "t1"},
    ]
    result = run(scripted(events, behavior={"nudged_remediation": False}))
    assert result.episodes.iloc[0]["end_min"] == 500.0


def test_wipe_forces_a_new_sign_in_and_is_evaluated_again() -> None:
    """With action wipe, a threat denial wipes; the next launch (even 5 min later) is
    evaluated again since the app holds no organisation data."""
    events = [threat(60), launch(110), launch(115)]
    result = run(scripted(events, policy={"threat_action": "wipe"}))
    assert [(r[2], r[3]) for r in summary(result)] == [
        ("wipe", "threat_level_exceeded"),
        ("wipe", "threat_level_exceeded"),
    ]


def test_undetected_threat_is_never_enforced() -> None:
    """A threat Defender never detects never changes the levels the app sees."""
    result = run(scripted([threat(60, detected_after=None), launch(110)]))
    only = rows(result)[0]
    assert (only["outcome"], only["true_level"], only["defender_level"]) == (
        "allow",
        "high",
        "secured",
    )
    assert math.isinf(result.episodes.iloc[0]["detected_min"])


@pytest.mark.parametrize(
    ("management", "upn", "target", "reason"),
    [
        ("emm", False, "managed", "not_targeted"),
        ("emm", True, "managed", "threat_level_exceeded"),
        ("mdm", False, "unmanaged", "not_targeted"),
        ("mam_we", False, "unmanaged", "threat_level_exceeded"),
    ],
)
def test_targeting_by_management(management: str, upn: bool, target: str, reason: str) -> None:
    """Policies target devices the app sees as managed (IntuneMAMUPN passed) or not."""
    result = run(
        scripted(
            [threat(60), launch(110)],
            device={"management": management, "emm_passes_upn": upn},
            policy={"target_management": target},
        )
    )
    assert summary(result)[0][3] == reason


def test_scripted_runs_are_deterministic() -> None:
    """Running the same scripted scenario twice gives identical logs."""
    events = [threat(60, remediate_after_denial="20m"), launch(70, 100), launch(200)]
    first = run(scripted(events)).decisions
    second = run(scripted(events)).decisions
    pd.testing.assert_frame_equal(first, second)


def test_relaunch_during_a_session_is_the_same_session() -> None:
    """A scripted launch of an app while its previous session is still running is part of
    that session (as in random worlds): launch at 0 for 2 h, relaunch at 1 h → one row."""
    result = run(scripted([launch(0, 120), launch(60, 10)]))
    assert [(r[0], r[1]) for r in summary(result)] == [(0.0, "launch")] + [
        (t, "checkin") for t in (30.0, 60.0, 90.0)
    ]


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_time_columns_are_floats_even_at_time_zero(engine: str) -> None:
    """The clock starts at 0.0: a log whose only row is at the start still has float
    time columns (SimPy's default int clock leaked an int64 column)."""
    result = simulate(scripted([launch(0, 5)]), engine=engine)
    assert result.decisions["time_min"].dtype == "float64"
    assert result.decisions["known_level_age_min"].dtype == "float64"
    assert isinstance(rows(result)[0]["time_min"], float)
