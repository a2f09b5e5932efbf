"""Hand-computed scripted timelines for the documented behaviour the fidelity work added,
run on both engines (the reference is the definition; the fast engine must agree).

Times are minutes from the scenario start; the signal delay is 10 min. Each docstring is
the calculation behind its expectations.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.policy.levels import ConnectorState
from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.run import RunResult, simulate
from simulator.sim.world import ConnectorTimeline
from tests.unit.test_engine_scripted import POLICY, launch, threat

ENGINES = ("reference", "fast")


def scripted(
    events: list[dict[str, Any]],
    *,
    device: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    behavior: dict[str, Any] | None = None,
    horizon: str = "1d",
) -> Scenario:
    """One device d1 (mam_we, Defender activated), one policy P, signal delay 10 min."""
    spec = {"id": "d1", "management": "mam_we", "defender": "activated", **(device or {})}
    return scenario_from_data(
        {
            "name": "fidelity",
            "horizon": horizon,
            "signals": {"defender_to_intune": "10m"},
            "policies": [{**POLICY, **(policy or {})}],
            "behavior": behavior or {},
            "script": {"devices": [spec], "events": [{"device": "d1", **e} for e in events]},
        },
        source="<test>",
    )


def outcomes(result: RunResult) -> list[tuple[float, str, str, str]]:
    """(time, trigger, outcome, reason) per row, in log order."""
    rows = result.decisions
    return list(
        zip(
            rows["time_min"].astype(float),
            rows["trigger"].astype(str),
            rows["outcome"].astype(str),
            rows["reason"].astype(str),
            strict=True,
        )
    )


OFFLINE_2D = [launch(60), {"at": 100, "type": "offline"}, launch(3000)]
"""Checked in at 60; offline from 100; at 3000 offline for 2940 min > the 2-day wipe period."""


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("fails", "back"), [(False, "allow"), (True, "wipe")])
def test_offline_wipe_period_ends_in_reauthentication(engine: str, fails: bool, back: str) -> None:
    """offline_wipe = on_failed_reauth: at 3000, still offline past the 2 d wipe period →
    block (offline_reauth). Back online at 3100; the launch at 3200 checks in 3140 min
    after the last check-in, past the wipe period, so the user re-authenticates: success →
    allowed (compliant; the offline interval reset), failure → wipe (offline_wipe). The
    next launch (3300) is an ordinary evaluation either way: allowed."""
    events = [*OFFLINE_2D, {"at": 3100, "type": "online"}, launch(3200), launch(3300)]
    scenario = scripted(
        events,
        device={"reauth_fails": fails},
        policy={"offline_block_after": "1d", "offline_wipe_after": "2d"},
        horizon="3d",
    )
    got = outcomes(simulate(scenario, engine=engine))
    assert got[1] == (3000.0, "launch", "block", "offline_reauth")
    assert got[2][2:] == ((back, "compliant") if back == "allow" else ("wipe", "offline_wipe"))
    assert got[3][2:] == ("allow", "compliant")


@pytest.mark.parametrize("engine", ENGINES)
def test_offline_wipe_immediate_is_the_conservative_bound(engine: str) -> None:
    """offline_wipe = immediate: the launch at 3000 (offline 2940 min > 2 d) wipes at once."""
    scenario = scripted(
        OFFLINE_2D,
        policy={"offline_block_after": "1d", "offline_wipe_after": "2d"},
        behavior={"offline_wipe": "immediate"},
        horizon="3d",
    )
    assert outcomes(simulate(scenario, engine=engine))[1] == (
        3000.0,
        "launch",
        "wipe",
        "offline_wipe",
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("sdk_detects", "expected"), [(True, "block"), (False, "allow")])
def test_the_sdk_jailbreak_check_works_without_a_threat_level(
    engine: str, sdk_detects: bool, expected: str
) -> None:
    """A policy with no threat level configured but Jailbroken/rooted devices = block: a
    jailbreak at 60 that the SDK sees blocks the launch at 70 (jailbroken_device) — no
    Defender detection needed (detected_after omitted); unseen by the SDK, it is allowed."""
    events = [
        threat(60, kind="jailbreak", detected_after=None, sdk_detects=sdk_detects),
        launch(70),
    ]
    scenario = scripted(
        events, policy={"max_threat_level": "not_configured", "jailbroken_action": "block"}
    )
    (row,) = outcomes(simulate(scenario, engine=engine))
    reason = "jailbroken_device" if sdk_detects else "compliant"
    assert row == (70.0, "launch", expected, reason)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("upn", "reason"), [(True, "threat_level_exceeded"), (False, "not_targeted")]
)
def test_an_mdm_device_is_managed_only_with_intune_mam_upn(
    engine: str, upn: bool, reason: str
) -> None:
    """A policy for managed devices covers an Intune MDM device only if the MDM passes
    IntuneMAMUPN: threat at 60 (Intune at 75), launch at 110 → block, or not targeted."""
    scenario = scripted(
        [threat(60), launch(110)],
        device={"management": "mdm", "passes_upn": upn},
        policy={"target_management": "managed"},
    )
    assert outcomes(simulate(scenario, engine=engine))[0][3] == reason


@pytest.mark.parametrize("engine", ENGINES)
def test_first_use_needs_the_network(engine: str) -> None:
    """Offline from the start: the first launch (10) is blocked (offline_block: the app
    never checked in). Online at 20: the launch at 30 checks in and is allowed."""
    events = [{"at": 0, "type": "offline"}, launch(10), {"at": 20, "type": "online"}, launch(30)]
    got = outcomes(simulate(scripted(events), engine=engine))
    assert got == [
        (10.0, "launch", "block", "offline_block"),
        (30.0, "launch", "allow", "compliant"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_launch_when_a_checkin_is_due_is_decided_with_it(engine: str) -> None:
    """recheck_after 60, checkin_interval 30. Launch 0–5 checks in at 0. Threat at 20,
    detected 25, at Intune 35. The launch at 40 is inside the recheck window (inactive 35
    min) but 40 min after the last check-in: the check-in is due, so the launch itself is
    decided with the fetched level → blocked, not granted and then cut by a check-in."""
    scenario = scripted(
        [launch(0), threat(20), launch(40, duration=20)], policy={"recheck_after": "60m"}
    )
    assert outcomes(simulate(scenario, engine=engine)) == [
        (0.0, "launch", "allow", "compliant"),
        (40.0, "launch", "block", "threat_level_exceeded"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_web_threats_are_invisible_with_defender_vpn_off(engine: str) -> None:
    """vpn_on = false: a phishing threat is never detected (web protection needs the VPN),
    so the launch at 110 is allowed while the true level is high; an OS vulnerability on
    the same device is seen (no VPN needed)."""
    for kind, expected in (("phishing", "allow"), ("os_vulnerability", "block")):
        scenario = scripted([threat(60, kind=kind), launch(110)], device={"vpn_on": False})
        result = simulate(scenario, engine=engine)
        assert outcomes(result)[0][2] == expected, kind
        assert result.decisions["true_level"].iloc[0] == "high"


@pytest.mark.parametrize("engine", ENGINES)
def test_defender_detects_only_after_it_is_reactivated(engine: str) -> None:
    """Defender removed at 50 (absent), threat at 60, re-activated at 200: detection =
    re-activation + 5 = 205, Intune 215. The launch at 100 is blocked for Defender not
    activated; the one at 230 for the threat."""
    events = [
        {"at": 50, "type": "defender", "state": "absent"},
        threat(60),
        launch(100),
        {"at": 200, "type": "defender", "state": "activated"},
        launch(230),
    ]
    result = simulate(scripted(events), engine=engine)
    assert [r[3] for r in outcomes(result)] == ["mtd_not_activated", "threat_level_exceeded"]
    assert result.episodes["detected_min"].iloc[0] == 205.0


def test_back_to_back_outages_hold_changes_until_the_connector_is_enabled() -> None:
    """Disabled [50, 100), then unresponsive [100, 200): a change due at 60 flows at 200,
    when the connector is enabled again, not at 100 when the first outage ends."""
    timeline = ConnectorTimeline(
        intervals=(
            (ConnectorState.DISABLED, 50.0, 100.0),
            (ConnectorState.UNRESPONSIVE, 100.0, 200.0),
        ),
        partner_unresponsive_min=7 * 1440.0,
    )
    assert timeline.deliver(60.0) == 200.0
    assert timeline.deliver(120.0) == 200.0
    assert timeline.deliver(250.0) == 250.0
