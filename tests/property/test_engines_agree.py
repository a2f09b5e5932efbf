"""Differential tests: the fast and compiled engines write exactly the reference's rows.

The reference engine (SimPy, :mod:`simulator.sim.engine.reference`) is the definition of the
semantics; the fast engine (:mod:`simulator.sim.engine.fast`) must give the same decision log,
episodes and devices — identical floats and strings, not approximately equal ones — on
any world. Three sources of worlds:

* random small scenarios (Hypothesis) with high threat and offline rates, connector
  outages with a short ``partner_unresponsive_days``, Defender onboarding by redirect,
  and every behaviour flag, action, level and interval varied;
* every bundled scenario in ``scenarios/`` (random ones shrunk to at most 30 users and
  7 days, their dated windows scaled into the shorter horizon);
* scripted timelines: random ones on a coarse time grid, where events of several apps
  coincide to the minute, the hand-computed ones of ``tests/unit/test_engine_scripted.py``,
  and simultaneous events on two apps of one device, where the order in which the
  reference runs them decides the outcome.

Tables are compared with :func:`pandas.testing.assert_frame_equal` (``check_exact``) after
``simulate``'s canonical sort; on scripted timelines the engines' rows are also compared
as Python values, type included (SimPy's clock starts at the int ``0``, which a float
column of a DataFrame would hide).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.durations import MINUTES_PER_DAY
from simulator.scenario.load import Scenario, load_scenario, scenario_from_data, variant_policies
from simulator.sim.engine.fast import simulate_chunk_fast
from simulator.sim.engine.reference import simulate_chunk
from simulator.sim.log import DecisionRow
from simulator.sim.run import RunResult, engine_settings, simulate
from simulator.sim.world import generate_world
from tests.unit.test_engine_scripted import POLICY, launch, scripted, threat

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))
LEVELS = ["secured", "low", "medium", "high", "not_configured"]
TABLES = ("decisions", "episodes", "devices")
NUDGE_DELAYS: list[dict[str, Any]] = [
    {"dist": "lognormal", "median": "20m", "p90": "4h"},
    {"dist": "fixed", "value": "0m"},  # the nudge ends the episode at the denial itself
]
OFFLINE_WIPE_AFTER: dict[str, list[str]] = {
    "30m": ["1h", "2h", "2d", "90d"],
    "720m": ["2d", "90d"],
    "1d": ["2d", "90d"],
}
"""Offline block period → the wipe periods drawn with it (a policy's wipe period must be
longer than its block period)."""
INSTALL_DELAYS: list[dict[str, Any]] = [
    {"dist": "lognormal", "median": "30m", "p90": "6h"},
    {"dist": "fixed", "value": "0m"},  # Defender installed at the redirect itself
]


def assert_engines_agree(scenario: Scenario, **options: Any) -> RunResult:
    """Run ``scenario`` under both engines; assert the three tables are exactly equal.

    Both other engines (``fast``, pure Python; ``compiled``, Numba) are compared with the
    reference. Returns the reference engine's result, for further checks.
    """
    reference = simulate(scenario, engine="reference", **options)
    for engine in ("fast", "compiled"):
        other = simulate(scenario, engine=engine, **options)
        for table in TABLES:
            pd.testing.assert_frame_equal(
                getattr(other, table),
                getattr(reference, table),
                check_exact=True,
                obj=f"{table} ({engine} engine)",
            )
    return reference


def _typed(rows: Sequence[tuple[Any, ...]]) -> list[tuple[tuple[type, Any], ...]]:
    return [tuple((type(value), value) for value in row) for row in rows]


def _canonical(rows: list[DecisionRow]) -> list[DecisionRow]:
    """Decision rows in :func:`simulator.sim.log.sort_decisions` order (stable)."""
    return sorted(rows, key=lambda r: (r.time_min, r.device_index, r.app, r.trigger != "launch"))


def assert_rows_identical(scenario: Scenario) -> None:
    """Both engines on the scenario's whole world: identical row values *and types*, per
    variant (decision rows in canonical order; episode and device rows as returned)."""
    world = generate_world(scenario)
    settings_ = engine_settings(scenario)
    for name, policies in variant_policies(scenario).items():
        args = (world.devices, policies, name, world.connector, world.horizon, settings_)
        reference, fast = simulate_chunk(*args), simulate_chunk_fast(*args)
        assert _typed(_canonical(fast.decisions)) == _typed(_canonical(reference.decisions))
        assert _typed(fast.episodes) == _typed(reference.episodes)
        assert _typed(fast.devices) == _typed(reference.devices)


# -- random scenarios ------------------------------------------------------------------------
def _policy(index: int, draw: st.DrawFn) -> dict[str, Any]:
    block = draw(st.sampled_from(sorted(OFFLINE_WIPE_AFTER)))
    policy: dict[str, Any] = {
        "name": f"P{index}",
        "apps": draw(st.sampled_from([["outlook", "teams"], ["outlook"], ["teams", "edge"]])),
        "max_threat_level": draw(st.sampled_from(LEVELS)),
        "threat_action": draw(st.sampled_from(["block", "wipe"])),
        "recheck_after": draw(st.sampled_from(["1m", "30m", "4h"])),
        "checkin_interval": draw(st.sampled_from(["5m", "30m", "2h"])),
        "offline_block_after": block,
        "offline_wipe_after": draw(st.sampled_from(OFFLINE_WIPE_AFTER[block])),
        "target_management": draw(st.sampled_from(["any", "any", "managed", "unmanaged"])),
    }
    if draw(st.booleans()):
        policy["include_groups"] = ["pilot"]
    return policy


def _connector(draw: st.DrawFn, horizon: float) -> list[dict[str, Any]]:
    intervals = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.floats(0.0, horizon - 1.0))
        length = draw(st.sampled_from([30.0, 200.0, 720.0, 2000.0]))
        state = draw(st.sampled_from(["disabled", "unresponsive"]))
        intervals.append({"state": state, "start": start, "end": start + length})
    return intervals


@st.composite
def random_scenarios(draw: st.DrawFn) -> Scenario:
    """A tiny random scenario in which most of the model's paths are taken."""
    days = draw(st.integers(1, 4))
    mdm = draw(st.sampled_from([0.0, 0.3, 0.6, 1.0]))
    mam = round((1 - mdm) * 0.6, 6)
    threat_rate = draw(st.sampled_from([30.0, 150.0, 400.0]))
    policies = [_policy(i, draw) for i in range(draw(st.integers(1, 3)))]
    variants = [{"name": p["name"], "policies": [p["name"]]} for p in policies]
    if len(policies) > 1:
        variants.append({"name": "together", "policies": [p["name"] for p in policies]})
    data: dict[str, Any] = {
        "name": "engines agree",
        "seed": draw(st.integers(0, 2**32 - 1)),
        "horizon": f"{days}d",
        "fleet": {
            "users": draw(st.integers(1, 8)),
            "second_device_share": 0.3,
            "management": {"mdm": mdm, "mam_we": mam, "emm": round(1 - mdm - mam, 6)},
            "emm_passes_upn": 0.5,
            "groups": [{"name": "pilot", "share": 0.5}],
        },
        "apps": [
            {"name": "outlook", "sessions_per_day": 8},
            {"name": "teams", "share": 0.7, "sessions_per_day": 5},
            {
                "name": "edge",
                "share": 0.5,
                "sessions_per_day": 3,
                "session_length": {"dist": "lognormal", "median": "30m", "p90": "3h"},
            },
        ],
        "threats": [
            {
                "kind": "phishing",
                "rate_per_device_year": threat_rate,
                "severity": {"low": 0.3, "medium": 0.4, "high": 0.3},
                "detection_delay": {"dist": "lognormal", "median": "5m", "p90": "1h"},
                "natural_duration": {"dist": "lognormal", "median": "6h", "p90": "2d"},
                "nudged_remediation": draw(st.sampled_from(NUDGE_DELAYS)),
            },
            {
                "kind": "jailbreak",
                "rate_per_device_year": threat_rate / 10,
                "severity": {"high": 1.0},
            },
        ],
        "signals": {
            "defender_to_intune": draw(
                st.sampled_from(
                    [
                        {"dist": "fixed", "value": "0m"},
                        {"dist": "fixed", "value": "10m"},
                        {"dist": "lognormal", "median": "15m", "p90": "2h"},
                    ]
                )
            )
        },
        "connector": _connector(draw, days * MINUTES_PER_DAY),
        "offline": {
            "episodes_per_device_month": draw(st.sampled_from([0.0, 5.0, 30.0])),
            "duration": {"dist": "lognormal", "median": "3h", "p90": "2d"},
        },
        "onboarding": {
            "mdm_zero_touch_share": draw(st.sampled_from([0.0, 0.5, 1.0])),
            "preinstalled_share": draw(st.sampled_from([0.0, 0.5, 1.0])),
            "install_after_redirect_share": 0.8,
            "install_delay": draw(st.sampled_from(INSTALL_DELAYS)),
            "account_mismatch_share": 0.3,
            "mismatch_fix_delay": {"dist": "lognormal", "median": "2h", "p90": "1d"},
        },
        "behavior": {
            "midsession_enforcement": draw(st.booleans()),
            "retry_denied_at_launch": draw(st.booleans()),
            "nudged_remediation": draw(st.sampled_from([True, True, False])),
            "pre_onboarding_action": draw(st.sampled_from(["block", "wipe", "allow"])),
            "connector_off_behavior": draw(st.sampled_from(["no_effect", "block"])),
            "unresponsive_behavior": draw(st.sampled_from(["ignore", "last_known", "block"])),
            "partner_unresponsive_days": draw(st.sampled_from([0.0, 0.1, 0.5])),
            "multi_policy_merge": draw(st.sampled_from(["most_restrictive", "first_listed"])),
        },
        "policies": policies,
        "variants": variants,
    }
    return scenario_from_data(data, source="<engines agree>")


@settings(max_examples=30)
@given(random_scenarios(), st.sampled_from([1, 3, 1000]))
def test_random_scenarios_give_identical_tables(scenario: Scenario, chunk_size: int) -> None:
    """On random small worlds — denials and nudges, offline blocks and wipes, redirects and
    Defender onboarding, connector outages, every behaviour flag — ``simulate`` with
    ``engine="fast"`` and ``engine="compiled"`` return exactly the reference's decisions,
    episodes and devices."""
    assert_engines_agree(scenario, chunk_size=chunk_size)


# -- random scripted timelines: many simultaneous events --------------------------------------
def _at(draw: st.DrawFn, horizon: int, grid: int) -> int:
    """A time on a coarse grid before the horizon, so that events of different apps
    often coincide."""
    return grid * draw(st.integers(0, (horizon - 1) // grid))


@st.composite
def scripted_scenarios(draw: st.DrawFn) -> Scenario:
    """A random scripted timeline on a coarse time grid with zero or short delays.

    Launches of several apps, check-ins, detections, nudged remediations, offline periods
    and connector or Defender changes land on the same minutes all the time. Half of the
    examples are *crowded*: a 15-minute grid, zero signal and remediation delays, one
    strict policy on every app and Defender active, so that a threat denial of one app
    clears the Intune level at that very instant and an app evaluating at the same instant
    after it is allowed — the order of simultaneous evaluations shows in the log.
    """
    crowded = draw(st.booleans())
    horizon, grid = (3 * 60, 15) if crowded else (8 * 60, 5)

    def zero_or(*values: int | None) -> st.SearchStrategy[int | None]:
        return st.just(0) if crowded else st.sampled_from(values)

    apps = ["outlook", "teams", "edge"]
    devices: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for d in range(draw(st.integers(1, 2))):
        device = f"d{d}"
        devices.append(
            {
                "id": device,
                "management": draw(st.sampled_from(["mdm", "mam_we", "emm"])),
                "emm_passes_upn": draw(st.booleans()),
                "defender": "activated"
                if crowded
                else draw(st.sampled_from(["activated", "activated", "installed", "absent"])),
                "groups": draw(st.sampled_from([[], ["pilot"]])),
            }
        )
        for _ in range(draw(st.integers(1, 12))):
            events.append(
                {
                    "at": _at(draw, horizon, grid),
                    "device": device,
                    "type": "launch",
                    "app": draw(st.sampled_from(apps)),
                    "duration": draw(st.sampled_from([0, 5, 10, 30, 60, 150])),
                }
            )
        threats = []
        for k in range(draw(st.integers(int(crowded), 3))):
            kind = draw(st.sampled_from(["malware", "phishing", "jailbreak"]))
            threat_event: dict[str, Any] = {
                "at": _at(draw, horizon, grid),
                "device": device,
                "type": "threat",
                "id": f"t{k}",
                "kind": kind,
                # a jailbreak is always high severity
                "severity": "high" if kind == "jailbreak" else draw(st.sampled_from(LEVELS[1:4])),
                "remediate_after_denial": draw(zero_or(None, 0, 5, 30)),
            }
            delay = draw(st.sampled_from([None, 0, 5, 10]))
            if delay is not None or crowded:
                threat_event["detected_after"] = delay or 0
            threats.append(threat_event)
        events.extend(threats)
        for threat_event in threats:
            if draw(st.booleans()):
                events.append(
                    {
                        # after the threat: a remediation at its onset is invalid
                        "at": threat_event["at"] + grid * draw(st.integers(1, 24)),
                        "device": device,
                        "type": "remediate",
                        "threat": threat_event["id"],
                    }
                )
        for _ in range(draw(st.integers(0, 2))):
            start = _at(draw, horizon, grid)
            events.append({"at": start, "device": device, "type": "offline"})
            events.append(
                {"at": start + 5 * draw(st.integers(1, 60)), "device": device, "type": "online"}
            )
        if not crowded and draw(st.booleans()):
            state = draw(st.sampled_from(["absent", "installed", "activated"]))
            events.append(
                {
                    "at": _at(draw, horizon, grid),
                    "device": device,
                    "type": "defender",
                    "state": state,
                }
            )
    for _ in range(draw(st.integers(0, 0 if crowded else 2))):
        state = draw(st.sampled_from(["enabled", "disabled", "unresponsive"]))
        events.append({"at": _at(draw, horizon, grid), "type": "connector", "state": state})
    if crowded:
        policies = [{**POLICY, "name": "P0", "apps": apps, "checkin_interval": "15m"}]
    else:
        policies = [_policy(i, draw) for i in range(draw(st.integers(1, 2)))]
    data: dict[str, Any] = {
        "name": "scripted, simultaneous events",
        "horizon": horizon,
        "signals": {"defender_to_intune": {"dist": "fixed", "value": draw(zero_or(0, 5, 10))}},
        "behavior": {
            "midsession_enforcement": draw(st.booleans()),
            "retry_denied_at_launch": draw(st.booleans()),
            "nudged_remediation": crowded or draw(st.booleans()),
            "pre_onboarding_action": draw(st.sampled_from(["block", "wipe", "allow"])),
            "connector_off_behavior": draw(st.sampled_from(["no_effect", "block"])),
            "unresponsive_behavior": draw(st.sampled_from(["ignore", "last_known", "block"])),
            "partner_unresponsive_days": draw(st.sampled_from([0.0, 0.05])),
        },
        "policies": policies,
        # Events at or after the horizon would never happen (and are refused): a
        # remediation or an end of offline drawn past it is left out.
        "script": {"devices": devices, "events": [e for e in events if e["at"] < horizon]},
    }
    return scenario_from_data(data, source="<scripted engines agree>")


@settings(max_examples=70)
@given(scripted_scenarios())
def test_random_scripted_timelines_give_identical_tables(scenario: Scenario) -> None:
    """On scripted timelines where launches, check-ins, detections and zero-delay nudges
    of several apps coincide to the minute, both engines give the same tables: the fast
    engine runs simultaneous events in the reference's order."""
    assert_engines_agree(scenario)
    assert_rows_identical(scenario)


# -- bundled scenarios -----------------------------------------------------------------------
MAX_USERS = 30
MAX_HORIZON = 7 * MINUTES_PER_DAY


def shrink(scenario: Scenario) -> Scenario:
    """A random scenario cut to ≤ 30 users and ≤ 7 days; dated windows (connector outages,
    threat campaigns, ``partner_unresponsive_days``) scaled into the shorter horizon, so the
    outage and the campaign still happen. Scripted scenarios are returned as they are."""
    model = scenario.model
    if model.fleet is None:
        return scenario
    scale = min(1.0, MAX_HORIZON / model.horizon)
    data = model.model_dump(mode="python")
    data["fleet"]["users"] = min(model.fleet.users, MAX_USERS)
    data["horizon"] = model.horizon * scale
    data["connector"] = [
        {"state": c.state, "start": c.start * scale, "end": c.end * scale} for c in model.connector
    ]
    for dumped, threat_model in zip(data["threats"], model.threats, strict=True):
        if threat_model.campaign is not None:
            dumped["campaign"] = [t * scale for t in threat_model.campaign]
    data["behavior"]["partner_unresponsive_days"] *= scale
    return scenario.with_changes(**data)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_scenarios_give_identical_tables(path: Path) -> None:
    """Every bundled scenario (shrunk to ≤ 30 users and ≤ 7 days; scripted ones as they are)
    gives exactly the same tables under both engines, for every one of its variants."""
    result = assert_engines_agree(shrink(load_scenario(path)))
    assert not result.decisions.empty


# -- scripted timelines ----------------------------------------------------------------------
OFFLINE_EVENTS: list[dict[str, Any]] = [
    launch(60),
    {"at": 100, "type": "offline"},
    launch(700),
    launch(800),
    {"at": 900, "type": "online"},
    launch(910),
]
SCRIPTED: dict[str, Scenario] = {
    "recheck window": scripted([launch(60), launch(70), launch(120)]),
    "signal delay": scripted([threat(60), launch(70, 1), launch(110)]),
    "midsession cut": scripted([launch(60, 120), threat(70)]),
    "midsession off": scripted(
        [launch(60, 120), threat(70)], behavior={"midsession_enforcement": False}
    ),
    "no retry": scripted(
        [threat(60), launch(110), launch(115)], behavior={"retry_denied_at_launch": False}
    ),
    "offline block": scripted(OFFLINE_EVENTS, horizon="2d"),
    "offline wipe": scripted(
        [launch(60), {"at": 100, "type": "offline"}, launch(2941)],
        policy={"offline_wipe_after": "2d"},
        horizon="3d",
    ),
    "connector disabled": scripted(
        [
            {"at": 50, "type": "connector", "state": "disabled"},
            threat(60),
            launch(120),
            {"at": 200, "type": "connector", "state": "enabled"},
            launch(210),
        ]
    ),
    "partner unresponsive": scripted(
        [{"at": 0, "type": "connector", "state": "unresponsive"}, launch(100), launch(200)],
        behavior={"partner_unresponsive_days": 0.1, "unresponsive_behavior": "last_known"},
    ),
    "defender activated later": scripted(
        [launch(60), {"at": 100, "type": "defender", "state": "activated"}, launch(110)],
        device={"defender": "absent"},
    ),
    "nudge and stale signal": scripted(
        [threat(60, remediate_after_denial="20m"), launch(110), launch(135), launch(145)]
    ),
    "wipe": scripted([threat(60), launch(110), launch(115)], policy={"threat_action": "wipe"}),
    "relaunch in session": scripted([launch(0, 120), launch(60, 10)]),
    "only a launch at the start": scripted([launch(0)]),  # SimPy's clock: the int 0
}


@pytest.mark.parametrize("name", list(SCRIPTED))
def test_scripted_timelines_give_identical_tables(name: str) -> None:
    """The hand-computed timelines of ``tests/unit/test_engine_scripted.py`` give the same
    tables, and the same rows, under both engines."""
    assert_engines_agree(SCRIPTED[name])
    assert_rows_identical(SCRIPTED[name])


_ZERO_NUDGE: dict[str, Any] = {"remediate_after_denial": "0m"}


def two_app_script(events: list[dict[str, Any]]) -> Scenario:
    """One mam_we device, a policy on outlook and teams, and zero signal delays: a nudge
    with a zero remediation delay then clears the Intune level at the very instant of the
    denial, so the order of simultaneous evaluations shows in the log."""
    data: dict[str, Any] = {
        "name": "simultaneous events",
        "horizon": "1d",
        "signals": {"defender_to_intune": {"dist": "fixed", "value": "0m"}},
        "policies": [{**POLICY, "apps": ["outlook", "teams"]}],
        "script": {
            "devices": [{"id": "d1", "management": "mam_we", "defender": "activated"}],
            "events": [{"device": "d1", **e} for e in events],
        },
    }
    return scenario_from_data(data, source="<test>")


def _outcomes(result: RunResult) -> list[tuple[float, str, str, str]]:
    frame = result.decisions
    return list(
        zip(frame["time_min"], frame["app"], frame["trigger"], frame["outcome"], strict=True)
    )


def test_simultaneous_launches_run_in_app_order() -> None:
    """Two apps launched at the same instant start in sorted app order (SimPy's initial
    events): outlook checks in first, is blocked and nudges the episode to end at once;
    teams, an instant later on the same clock, fetches secured and is allowed. The fast
    engine reproduces that order."""
    events = [launch(100, 5, "outlook"), launch(100, 5, "teams"), threat(60, **_ZERO_NUDGE)]
    result = assert_engines_agree(two_app_script(events))
    assert _outcomes(result) == [
        (100.0, "outlook", "launch", "block"),
        (100.0, "teams", "launch", "allow"),
    ]


def test_simultaneous_events_run_in_scheduling_order() -> None:
    """At equal times SimPy runs events in the order they were scheduled, not by app:
    teams' launch at 90 was scheduled at time 0, outlook's check-in at 90 only at 60, so
    teams evaluates first (blocked, nudge) and outlook's check-in then fetches secured.
    The fast engine orders its wake-ups by the same (time, priority, id) keys."""
    events = [launch(0, 200, "outlook"), launch(90, 5, "teams"), threat(60, **_ZERO_NUDGE)]
    result = assert_engines_agree(two_app_script(events))
    at_90 = [row for row in _outcomes(result) if row[0] == 90.0]
    assert at_90 == [
        (90.0, "outlook", "checkin", "allow"),
        (90.0, "teams", "launch", "block"),
    ]
