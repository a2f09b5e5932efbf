"""Metrics (SEMANTICS.md §7): hand-computed cases, scripted runs, and properties.

Three kinds of checks:

* small decision / episode / device tables written by hand, each metric compared with a
  figure computed on paper (the arithmetic is in the test's comments);
* scripted timelines run through the reference engine, metrics compared with the story;
* Hypothesis properties: metrics add up to the log, are additive over chunks of devices,
  are monotone in severity, and exposed minutes equal a brute-force interval computation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.analysis.metrics import (
    COUNT_COLUMNS,
    DEVICE_LEVEL_METRICS,
    HEADLINE_METRICS,
    KEY_COLUMNS,
    METRIC_COLUMNS,
    OUTCOME_COLUMNS,
    _by_key_time,
    _first_of_groups,
    _group_ids,
    check_consistency,
    combine_counts,
    compute_metrics,
    count_metrics,
    episode_outcomes,
    summarize,
    to_long,
)
from simulator.policy.levels import Reason
from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.log import (
    DECISION_COLUMNS,
    DEVICE_COLUMNS,
    EPISODE_COLUMNS,
    DecisionRow,
    DeviceRow,
    EpisodeRow,
    to_frame,
)
from simulator.sim.run import RunResult, simulate

INF = math.inf
HORIZON = 1000.0


# -- hand-built tables -----------------------------------------------------------------------
def decision(
    time: float,
    *,
    device: int = 0,
    app: str = "outlook",
    trigger: str = "launch",
    outcome: str = "allow",
    reason: str = "compliant",
    variant: str = "V",
    management: str = "mam_we",
    max_allowed: str = "secured",
    true_level: str = "secured",
    session_end: float | None = None,
) -> DecisionRow:
    """A decision-log row; ``session_end`` defaults to ``time`` (a denial or a check-in)."""
    return DecisionRow(
        time_min=time,
        device_index=device,
        device=f"d{device}",
        user=f"u{device}",
        app=app,
        management=management,
        trigger=trigger,
        outcome=outcome,
        reason=reason,
        variant=variant,
        policy="P" if reason != "not_targeted" else "",
        max_allowed=max_allowed if reason != "not_targeted" else "",
        action="block",
        known_level="secured",
        known_level_age_min=0.0,
        intune_level="secured",
        defender_level="secured",
        true_level=true_level,
        defender_state="activated",
        connector="enabled",
        offline_min=0.0,
        fetched=True,
        session_end_min=time if session_end is None else session_end,
        explanation="",
    )


def episode(
    device: int,
    severity: str,
    onset: float,
    end: float,
    *,
    detected: float | None = None,
    variant: str = "V",
    name: str = "e",
) -> EpisodeRow:
    """A threat episode; detected at onset unless ``detected`` says otherwise."""
    return EpisodeRow(
        device_index=device,
        device=f"d{device}",
        variant=variant,
        episode=name,
        kind="malware",
        severity=severity,
        onset_min=onset,
        detected_min=onset if detected is None else detected,
        natural_end_min=end,
        end_min=end,
        nudged=False,
        first_threat_denial_min=INF,
    )


def device_rows(decisions: Sequence[DecisionRow]) -> list[DeviceRow]:
    """One device row per (variant, device) of the decisions, with the apps it used."""
    apps: dict[tuple[str, int], tuple[str, set[str]]] = {}
    for row in decisions:
        entry = apps.setdefault((row.variant, row.device_index), (row.management, set()))
        entry[1].add(row.app)
    return [
        DeviceRow(
            index,
            f"d{index}",
            f"u{index}",
            variant,
            management,
            False,
            ",".join(sorted(used)),
            "activated",
            INF,
            0.0,
        )
        for (variant, index), (management, used) in apps.items()
    ]


def frames(
    decisions: Sequence[DecisionRow],
    episodes: Sequence[EpisodeRow] = (),
    devices: Sequence[DeviceRow] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables as the simulation returns them."""
    decision_rows: list[NamedTuple] = [*decisions]
    episode_rows: list[NamedTuple] = [*episodes]
    device_list: list[NamedTuple] = [*(device_rows(decisions) if devices is None else devices)]
    return (
        to_frame(decision_rows, DECISION_COLUMNS),
        to_frame(episode_rows, EPISODE_COLUMNS),
        to_frame(device_list, DEVICE_COLUMNS),
    )


def metrics_of(
    decisions: Sequence[DecisionRow],
    episodes: Sequence[EpisodeRow] = (),
    devices: Sequence[DeviceRow] | None = None,
    horizon: float = HORIZON,
) -> pd.DataFrame:
    """summarize(count_metrics, episode_outcomes) of hand-built tables."""
    dec, eps, dev = frames(decisions, episodes, devices)
    outcomes = episode_outcomes(dec, eps, horizon, dev)
    return summarize(count_metrics(dec, eps, dev, horizon), outcomes)


def pick(
    metrics: pd.DataFrame, segment_by: str = "all", segment: str = "all", variant: str = "V"
) -> pd.Series:
    """The metrics row of one variant and segment."""
    rows = metrics[
        (metrics["variant"] == variant)
        & (metrics["segment_by"] == segment_by)
        & (metrics["segment"] == segment)
    ]
    assert len(rows) == 1, f"no single row for {variant}/{segment_by}/{segment}"
    return rows.iloc[0]


def test_counts_by_trigger_outcome_and_reason() -> None:
    """launches/checkins by trigger; evaluations exclude previous_allow rows; every Reason
    has a reason_ column (zeros included); wipe_events count rows with outcome wipe."""
    rows = [
        decision(0, session_end=10),
        decision(20, reason="previous_allow", session_end=25),
        decision(40, trigger="checkin", outcome="block", reason="threat_level_exceeded"),
        decision(100, outcome="wipe", reason="offline_wipe"),
        decision(200, outcome="block", reason="mtd_not_activated"),
        decision(300, app="teams", reason="not_targeted", session_end=301),
    ]
    m = pick(metrics_of(rows))
    assert (m["launches"], m["checkins"], m["evaluations"]) == (5, 1, 5)
    assert (m["evaluations_allow"], m["evaluations_block"], m["evaluations_wipe"]) == (2, 2, 1)
    expected = {reason.value: 0 for reason in Reason}
    expected |= {"compliant": 1, "previous_allow": 1, "threat_level_exceeded": 1}
    expected |= {"offline_wipe": 1, "mtd_not_activated": 1, "not_targeted": 1}
    assert {r: m[f"reason_{r}"] for r in expected} == expected
    assert (m["wipe_events"], m["wipes"], m["devices_wiped"]) == (1, 1, 1)
    assert m["onboarding_blocks"] == 1
    assert m["granted_minutes"] == 10 + 5 + 1


def test_exposed_launches_count_granted_launches_by_true_level() -> None:
    """exposed_launches_X counts granted launches (previous_allow included) whose true
    level is ≥ X; denied launches and check-ins never count."""
    rows = [
        decision(0, true_level="secured"),
        decision(10, true_level="low"),
        decision(20, true_level="medium", reason="previous_allow"),
        decision(30, true_level="high"),
        decision(40, true_level="high", outcome="block", reason="threat_level_exceeded"),
        decision(50, true_level="high", trigger="checkin"),
    ]
    m = pick(metrics_of(rows))
    # low: 10, 20, 30 → 3; medium: 20, 30 → 2; high: 30 → 1
    assert (m["exposed_launches_low"], m["exposed_launches_medium"]) == (3, 2)
    assert m["exposed_launches_high"] == 1


def test_exposed_minutes_overlap_merged_episode_intervals() -> None:
    """exposed_minutes_X is the exact overlap of granted sessions with the union of the
    device's episodes of severity ≥ X (overlaps not double-counted, inf ends clipped)."""
    episodes = [
        episode(0, "low", 0, 100, name="a"),
        episode(0, "high", 50, 80, name="b"),
        episode(0, "high", 60, 85, name="c"),  # overlaps b: the union is [50, 85)
        episode(0, "medium", 90, INF, name="d"),  # clipped at the horizon
        episode(1, "high", 0, INF, name="other-device"),
    ]
    rows = [
        decision(40, session_end=120),  # [40, 120)
        decision(995, session_end=1000),  # [995, 1000)
        decision(130, outcome="block", reason="threat_level_exceeded"),  # denied: no minutes
        decision(10, device=2, session_end=20),  # a device without episodes
    ]
    m = pick(metrics_of(rows, episodes))
    # ≥ low: [0, 100) ∪ [90, 1000) = [0, 1000) → 80 + 5
    # ≥ medium: [50, 85) ∪ [90, 1000) → [40,120): 35 + 30 = 65; [995, 1000): 5
    # ≥ high: [50, 85) → 35
    assert m["exposed_minutes_low"] == pytest.approx(85.0)
    assert m["exposed_minutes_medium"] == pytest.approx(70.0)
    assert m["exposed_minutes_high"] == pytest.approx(35.0)
    assert m["granted_minutes"] == pytest.approx(80 + 5 + 10)


def test_time_to_protect_uses_the_strictest_max_and_denials_within_the_episode() -> None:
    """An episode is over max when its severity exceeds the strictest max allowed level on
    the device's rows; time to protect = first threat-level denial in [onset, end); median
    and p95 interpolate linearly; episodes without such a denial are never_enforced."""
    deny: dict[str, Any] = {
        "outcome": "block",
        "reason": "threat_level_exceeded",
        "max_allowed": "low",
    }
    rows = [
        decision(0, app="outlook", max_allowed="medium"),
        decision(1, app="teams", max_allowed="low"),  # strictest on device 0: low
        decision(5, **deny),  # before onset of e1: does not count
        decision(110, **deny),  # e1: 110 - 100 = 10
        decision(320, app="teams", **deny),  # e2: 320 - 300 = 20
        decision(560, **deny),  # e3: 560 - 500 = 60
        decision(0, device=1, max_allowed="not_configured"),
        decision(0, device=2, reason="not_targeted"),
    ]
    episodes = [
        episode(0, "high", 100, 200, name="e1"),
        episode(0, "medium", 300, 400, name="e2"),
        episode(0, "medium", 500, 600, name="e3"),
        episode(0, "low", 700, 800, name="within-max"),
        episode(0, "high", 850, 900, name="never"),  # no denial in [850, 900)
        episode(0, "high", 0, 5, name="denial-at-end"),  # denial at 5 = end: not within
        episode(1, "high", 0, 50, name="check-off"),
        episode(2, "high", 0, 50, name="untargeted"),
        episode(3, "high", 0, 50, name="no-rows"),
    ]
    metrics = metrics_of(rows, episodes)
    m = pick(metrics)
    assert (m["episodes"], m["episodes_over_max"], m["episodes_enforced"]) == (9, 5, 3)
    # Same yardstick for every variant: ended episodes of at least that severity with no
    # threat-level denial while they lasted (whatever the max): never, denial-at-end,
    # check-off, untargeted and no-rows are high; within-max is low.
    assert (m["never_enforced_low"], m["never_enforced_medium"], m["never_enforced_high"]) == (
        6,
        5,
        5,
    )
    assert m["episodes_active_at_horizon"] == 0
    assert m["time_to_protect_median_min"] == pytest.approx(20.0)
    assert m["time_to_protect_p95_min"] == pytest.approx(20 + 0.9 * (60 - 20))
    dec, eps, dev = frames(rows, episodes)
    outcomes = episode_outcomes(dec, eps, HORIZON, dev).set_index("episode")
    assert list(episode_outcomes(dec, eps, HORIZON, dev).columns) == list(OUTCOME_COLUMNS)
    assert outcomes.loc["e1", "time_to_protect_min"] == 10
    assert not outcomes.loc["within-max", "over_max"]
    assert outcomes.loc["denial-at-end", "never_enforced"]
    assert not outcomes.loc[["check-off", "untargeted", "no-rows"], "over_max"].any()


def test_unneeded_denials_are_threat_denials_within_the_max() -> None:
    """unneeded_blocks / unneeded_wipes: threat-level denials while the true level is ≤ the
    max allowed (stale signal); other denials and needed ones do not count."""
    threat: dict[str, Any] = {"reason": "threat_level_exceeded"}
    rows = [
        decision(0, outcome="block", true_level="secured", **threat),  # unneeded
        decision(10, outcome="block", true_level="high", **threat),  # needed
        decision(20, outcome="wipe", true_level="low", max_allowed="low", **threat),  # unneeded
        decision(30, outcome="wipe", true_level="medium", max_allowed="low", **threat),  # needed
        decision(40, outcome="block", reason="offline_block"),  # not a threat denial
    ]
    m = pick(metrics_of(rows))
    assert (m["unneeded_blocks"], m["unneeded_wipes"], m["wipe_events"]) == (1, 1, 2)
    assert m["wipes"] == 1  # the second wipe follows the first with no granted access between
    assert m["unneeded_denials"] == 2


def test_wipes_count_data_removed_once_per_retry_streak() -> None:
    """wipe_events counts every wipe decision; wipes only those that removed data — an
    app's first wipe, or its first after a later granted access; devices_wiped counts
    devices (once across apps in ``all``, once per app in app segments)."""
    wipe: dict[str, Any] = {"outcome": "wipe", "reason": "threat_level_exceeded"}
    rows = [
        decision(0, session_end=5),
        decision(10, **wipe),  # removes data
        decision(20, **wipe),  # the user retries: nothing left to remove
        decision(30, **wipe),
        decision(40, reason="previous_denial", outcome="wipe"),  # a reuse: no decision
        decision(50, session_end=55),  # granted again: data is back
        decision(60, **wipe),  # removes data
        decision(70, app="teams", **wipe),  # another app: removes its data
        decision(80, device=1, outcome="block", reason="threat_level_exceeded"),
        decision(90, device=1, reason="offline_wipe", outcome="wipe"),  # device 1: removes
        decision(95, device=1, reason="offline_wipe", outcome="wipe"),
    ]
    m = pick(metrics_of(rows))
    assert (m["wipe_events"], m["wipes"], m["devices_wiped"]) == (7, 4, 2)
    outlook, teams = (
        pick(metrics_of(rows), "app", "outlook"),
        pick(metrics_of(rows), "app", "teams"),
    )
    assert (outlook["wipes"], outlook["devices_wiped"]) == (3, 2)
    assert (teams["wipes"], teams["devices_wiped"]) == (1, 1)


def test_never_enforced_excludes_episodes_active_at_the_horizon() -> None:
    """An episode still running at the horizon is not counted as never enforced (it might
    still be); it is counted in episodes_active_at_horizon instead."""
    rows = [decision(0)]
    episodes = [
        episode(0, "high", 100, 200, name="ended"),
        episode(0, "medium", 900, HORIZON + 50, name="running"),
        episode(0, "high", 950, HORIZON, name="ends-at-horizon"),
    ]
    m = pick(metrics_of(rows, episodes))
    assert (m["never_enforced_low"], m["never_enforced_high"]) == (1, 1)
    assert m["episodes_active_at_horizon"] == 2


def test_a_denial_in_a_session_that_goes_on_blocks_only_after_it() -> None:
    """With midsession_enforcement = false a check-in denial does not end the session: the
    user is blocked from the session's end (120) to the next allow (180), so no minute is
    counted both granted and blocked."""
    deny: dict[str, Any] = {"trigger": "checkin", "outcome": "block"}
    rows = [
        decision(0, session_end=120),
        decision(60, reason="threat_level_exceeded", **deny),
        decision(90, reason="threat_level_exceeded", **deny),
        decision(180, session_end=185),
    ]
    m = pick(metrics_of(rows))
    assert m["granted_minutes"] == 120 + 5
    assert m["blocked_user_minutes"] == 60
    assert m["blocked_user_minutes_threat"] == 60


def test_onboarding_blocks_count_mtd_not_activated_denials() -> None:
    """onboarding_blocks counts denials (block or wipe) for mtd_not_activated, not allows."""
    mtd: dict[str, Any] = {"reason": "mtd_not_activated"}
    rows = [
        decision(0, outcome="block", **mtd),
        decision(10, outcome="wipe", **mtd),
        decision(20, outcome="allow", **mtd),  # pre_onboarding_action = allow
    ]
    assert pick(metrics_of(rows))["onboarding_blocks"] == 2


def test_blocked_user_minutes_run_from_first_denial_to_next_allow_per_app() -> None:
    """Each streak of denials of one device+app lasts from its first denial to the next allow
    of that device+app, or the horizon; another app's allow does not end it."""
    rows = [
        decision(10, outcome="block", reason="threat_level_exceeded"),
        decision(20, outcome="block", reason="threat_level_exceeded"),
        decision(50),  # outlook streak 1: 10 → 50 = 40
        decision(70, trigger="checkin", outcome="wipe", reason="threat_level_exceeded"),
        decision(60, app="teams", outcome="block", reason="offline_block"),
        decision(65, app="teams"),  # teams streak: 60 → 65 = 5
        decision(80, app="teams"),
        decision(90, app="teams", outcome="block", reason="mtd_not_activated"),
        decision(95, device=1, outcome="block", reason="mtd_not_activated"),
    ]
    # outlook streak 2: 70 → horizon 1000 = 930; teams 90 → 1000 = 910; device 1: 905
    metrics = metrics_of(rows)
    assert pick(metrics, "app", "outlook")["blocked_user_minutes"] == 40 + 930 + 905
    assert pick(metrics, "app", "teams")["blocked_user_minutes"] == 5 + 910
    assert pick(metrics)["blocked_user_minutes"] == 40 + 930 + 905 + 5 + 910


def test_blocked_user_minutes_split_by_the_cause_of_each_piece() -> None:
    """Each denial row starts a piece of its streak, up to the next row of that device+app
    (or the horizon), counted under its own cause; previous_denial inherits the cause of
    the evaluation it repeats (threat when there is none); the three causes sum exactly
    to blocked_user_minutes."""
    rows = [
        decision(10, outcome="block", reason="threat_level_exceeded"),  # threat 10 → 20
        decision(20, outcome="block", reason="offline_block"),  # offline 20 → 25
        decision(25, outcome="block", reason="previous_denial"),  # offline again 25 → 50
        decision(50),
        decision(70, trigger="checkin", outcome="wipe", reason="connector_disabled"),  # 930
        decision(60, app="teams", outcome="block", reason="mtd_not_activated"),  # 60 → 65
        decision(65, app="teams"),
        decision(90, app="teams", outcome="block", reason="mtd_not_activated"),  # 90 → 95
        decision(95, app="teams", outcome="block", reason="previous_denial"),  # 95 → 1000
        decision(95, device=1, outcome="block", reason="previous_denial"),  # no origin: 905
    ]
    metrics = metrics_of(rows)
    causes = ["blocked_user_minutes_threat", "blocked_user_minutes_onboarding"]
    causes.append("blocked_user_minutes_offline")
    assert pick(metrics, "app", "outlook")[causes].tolist() == [10 + 930 + 905, 0, 5 + 25]
    assert pick(metrics, "app", "teams")[causes].tolist() == [0, 5 + 5 + 905, 0]
    whole = pick(metrics)
    assert whole[causes].tolist() == [1845, 915, 30]
    assert whole["blocked_user_minutes"] == 40 + 930 + 5 + 910 + 905
    totals = metrics[causes[0]] + metrics[causes[1]] + metrics[causes[2]]
    assert (totals == metrics["blocked_user_minutes"]).all()


def test_time_to_restore_from_episode_end_to_next_targeted_allow() -> None:
    """For enforced episodes, end → next allow of a targeted app on the device (an
    untargeted app's allow does not restore); none before the horizon → never_restored."""
    deny: dict[str, Any] = {"outcome": "block", "reason": "threat_level_exceeded"}
    rows = [
        decision(0),
        decision(110, **deny),
        decision(210, app="teams", reason="not_targeted"),  # not a restore
        decision(230),  # e1 ends 200: restored after 30
        decision(310, **deny),  # e2 ends 400, nothing granted after
        decision(0, device=1),
        decision(20, device=1, **deny),  # e3 never ends
    ]
    episodes = [
        episode(0, "high", 100, 200, name="e1"),
        episode(0, "high", 300, 400, name="e2"),
        episode(1, "high", 10, INF, name="e3"),
        episode(1, "high", 500, 600, name="e4", detected=INF),  # never enforced
    ]
    m = pick(metrics_of(rows, episodes))
    assert (m["episodes_enforced"], m["never_restored"], m["undetected_episodes"]) == (3, 2, 1)
    assert m["time_to_restore_median_min"] == 30
    assert m["time_to_restore_p95_min"] == 30


def test_episode_exposed_minutes_sum_granted_sessions_inside_the_episode() -> None:
    """exposed_minutes of an episode: granted-session minutes of any app on its device
    (targeted or not) inside [onset, end), sessions and episode clipped to the horizon;
    overlapping sessions of two apps both count; denials, other devices and other
    variants add nothing."""
    horizon = 1000.0
    rows = [
        decision(40, session_end=60),  # e1 [50, 150): 10
        decision(55, app="teams", session_end=70),  # overlaps outlook: 15
        decision(100, app="edge", reason="not_targeted", session_end=110),  # untargeted: 10
        decision(120, outcome="block", reason="threat_level_exceeded"),  # denied: 0
        decision(140, reason="previous_allow", session_end=200),  # e1: 10; e2 [180, inf): 20
        decision(990, session_end=1200),  # e2, clipped at the horizon: 10
        decision(60, device=1, session_end=90),  # another device: not e1's
        decision(60, variant="W", session_end=90),  # another variant: e1 under W only
    ]
    episodes = [
        episode(0, "medium", 50, 150, name="e1"),
        episode(0, "low", 180, INF, name="e2"),
        episode(0, "high", 400, 420, name="e3"),  # no session inside: 0
        episode(0, "medium", 50, 150, name="e1", variant="W"),
    ]
    dec, eps, dev = frames(rows, episodes)
    outcomes = episode_outcomes(dec, eps, horizon, dev).set_index(["variant", "episode"])
    exposed = outcomes["exposed_minutes"]
    assert exposed[("V", "e1")] == pytest.approx(10 + 15 + 10 + 10)
    assert exposed[("V", "e2")] == pytest.approx(20 + 10)
    assert exposed[("V", "e3")] == 0
    assert exposed[("W", "e1")] == pytest.approx(90 - 60)  # [60, 90) ∩ [50, 150)


def test_segments_order_and_device_level_nan_for_apps() -> None:
    """Rows: variants in order of first appearance, then all, management (mdm, mam_we,
    emm), apps sorted; per-episode metrics are NaN for app segments and only there."""
    rows = [
        decision(0, variant="B", management="emm", app="teams"),
        decision(0, variant="B", device=1, management="mdm", app="outlook"),
        decision(0, variant="A", management="emm", app="teams"),
        decision(0, variant="A", device=1, management="mdm", app="outlook"),
    ]
    metrics = metrics_of(rows, [episode(1, "high", 0, 10, variant="B")])
    keys = list(metrics[list(KEY_COLUMNS)].itertuples(index=False, name=None))
    per_variant = [
        ("all", "all"),
        ("management", "mdm"),
        ("management", "emm"),
        ("app", "outlook"),
        ("app", "teams"),
    ]
    assert keys == [(v, *k) for v in ("B", "A") for k in per_variant]
    app_rows = metrics["segment_by"] == "app"
    assert metrics.loc[app_rows, list(DEVICE_LEVEL_METRICS)].isna().all().all()
    counts = [c for c in DEVICE_LEVEL_METRICS if not c.endswith("_min")]
    assert metrics.loc[~app_rows, counts].notna().all().all()
    assert pick(metrics, "management", "mdm", "B")["episodes"] == 1
    assert pick(metrics, "management", "emm", "B")["episodes"] == 0
    assert pick(metrics, "app", "teams", "B")["devices"] == 1
    assert list(metrics.columns) == [*KEY_COLUMNS, *METRIC_COLUMNS]


def test_to_long_and_headline() -> None:
    """to_long has one row per (row, metric) with the same values; the headline metrics
    are metric columns."""
    metrics = metrics_of([decision(0, session_end=5)])
    long = to_long(metrics)
    assert list(long.columns) == [*KEY_COLUMNS, "metric", "value"]
    assert len(long) == len(metrics) * len(METRIC_COLUMNS)
    value = long[(long["segment_by"] == "all") & (long["metric"] == "granted_minutes")]["value"]
    assert value.tolist() == [5.0]
    assert set(HEADLINE_METRICS) <= set(METRIC_COLUMNS)


def test_counts_of_disjoint_chunks_add_up() -> None:
    """combine_counts of two disjoint device sets equals count_metrics of the union."""
    rows = [
        decision(0, device=0, management="mdm", session_end=10, true_level="high"),
        decision(5, device=1, outcome="block", reason="threat_level_exceeded"),
        decision(9, device=1, app="teams", session_end=12),
    ]
    episodes = [episode(0, "high", 0, 4), episode(1, "low", 0, INF, detected=INF)]
    whole = count_metrics(*frames(rows, episodes), HORIZON)
    parts = [
        count_metrics(
            *frames(
                [r for r in rows if r.device_index == d],
                [e for e in episodes if e.device_index == d],
            ),
            HORIZON,
        )
        for d in (0, 1)
    ]
    pd.testing.assert_frame_equal(combine_counts(parts), whole)


# -- scripted runs through the engine --------------------------------------------------------
def scripted(
    events: list[dict[str, Any]],
    *,
    devices: list[dict[str, Any]] | None = None,
    policies: list[dict[str, Any]] | None = None,
    horizon: str = "6h",
    signal: str = "10m",
    behavior: dict[str, Any] | None = None,
) -> RunResult:
    """Run a scripted timeline (default: one mam_we device, Secured + block on outlook)."""
    data: dict[str, Any] = {
        "name": "metrics",
        "horizon": horizon,
        "signals": {"defender_to_intune": {"dist": "fixed", "value": signal}},
        "behavior": behavior or {},
        "policies": policies or [{"name": "P", "apps": ["outlook"], "max_threat_level": "secured"}],
        "script": {"devices": devices or [{"id": "d1"}], "events": events},
    }
    return simulate(scenario_from_data(data))


def launch(at: str, duration: str, device: str = "d1", app: str = "outlook") -> dict[str, Any]:
    """A scripted launch event."""
    return {"at": at, "type": "launch", "device": device, "app": app, "duration": duration}


def test_scripted_threat_blocked_then_restored() -> None:
    """High threat at 60 min, detected after 5 (Intune knows at 75); launches at 62 (20 min,
    allowed: exposed), 120 (blocked), 180 (allowed). Remediated 30 min after the denial."""
    result = scripted(
        [
            {
                "at": "1h",
                "type": "threat",
                "device": "d1",
                "id": "t",
                "severity": "high",
                "detected_after": "5m",
                "remediate_after_denial": "30m",
            },
            launch("62m", "20m"),
            launch("2h", "10m"),
            launch("3h", "10m"),
        ]
    )
    assert check_consistency(result) == []
    m = pick(compute_metrics(result), variant="P")
    assert (m["launches"], m["evaluations_allow"], m["evaluations_block"]) == (3, 2, 1)
    assert m["exposed_launches_high"] == 1  # the launch at 62 min
    assert m["exposed_minutes_high"] == 20  # [62, 82) inside [60, 150)
    assert m["granted_minutes"] == 30
    assert m["time_to_protect_median_min"] == 60  # 60 → denial at 120
    assert m["time_to_restore_median_min"] == 30  # end 120 + 30 = 150 → allow at 180
    assert m["blocked_user_minutes"] == 60  # 120 → 180
    assert (m["unneeded_blocks"], m["never_enforced_low"], m["never_restored"]) == (0, 0, 0)


def test_scripted_midsession_checkin_cuts_the_session() -> None:
    """Session [0, 2h); threat at 35 min seen by Intune at 45; the check-in at 30 allows,
    the one at 60 blocks and ends the session (exposed 35 → 60). Nudged remediation 20 min
    later (end 80, Intune 90); the launch at 120 is allowed again."""
    result = scripted(
        [
            launch("0m", "2h"),
            {
                "at": "35m",
                "type": "threat",
                "device": "d1",
                "id": "t",
                "severity": "medium",
                "detected_after": "0m",
                "remediate_after_denial": "20m",
            },
            launch("2h", "10m"),
        ]
    )
    assert check_consistency(result) == []
    m = pick(compute_metrics(result), variant="P")
    assert (m["launches"], m["checkins"], m["evaluations_block"]) == (2, 2, 1)
    assert m["granted_minutes"] == 60 + 10
    assert (m["exposed_minutes_medium"], m["exposed_minutes_high"]) == (25, 0)
    assert m["exposed_launches_low"] == 0  # the threat came after the launch
    assert m["time_to_protect_median_min"] == 25
    assert m["blocked_user_minutes"] == 60  # check-in denial at 60 → allow at 120
    assert m["time_to_restore_median_min"] == 40  # end 80 → 120


def test_scripted_stale_signal_gives_unneeded_denials() -> None:
    """Threat [0, 60) remediated before any launch; Intune still holds high until 60 + 30:
    the launch at 70 is denied although the device is secured (unneeded), the one at 100
    allowed. The episode was never enforced (no denial during it)."""
    events = [
        {
            "at": "0m",
            "type": "threat",
            "device": "d1",
            "id": "t",
            "severity": "high",
            "detected_after": "0m",
        },
        {"at": "1h", "type": "remediate", "device": "d1", "threat": "t"},
        launch("70m", "5m"),
        launch("100m", "5m"),
    ]
    policies = [
        {"name": "block", "apps": ["outlook"], "max_threat_level": "secured"},
        {
            "name": "wipe",
            "apps": ["outlook"],
            "max_threat_level": "secured",
            "threat_action": "wipe",
        },
    ]
    result = scripted(events, policies=policies, signal="30m")
    assert check_consistency(result) == []
    metrics = compute_metrics(result)
    block, wipe = pick(metrics, variant="block"), pick(metrics, variant="wipe")
    assert (block["unneeded_blocks"], block["unneeded_wipes"], block["wipes"]) == (1, 0, 0)
    assert (wipe["unneeded_blocks"], wipe["unneeded_wipes"], wipe["wipes"]) == (0, 1, 1)
    assert (wipe["wipe_events"], wipe["devices_wiped"]) == (1, 1)
    assert block["blocked_user_minutes"] == wipe["blocked_user_minutes"] == 30
    assert block["episodes_over_max"] == 1
    assert block["never_enforced_medium"] == 1  # the only denial came after it ended (stale)
    assert math.isnan(block["time_to_protect_median_min"])


def test_scripted_onboarding_and_undetected_threat() -> None:
    """A device without Defender is blocked (mtd_not_activated) until it is activated; an
    undetected medium threat on a second device is never enforced and its granted launch is
    exposed. Management segments split the figures."""
    result = scripted(
        [
            launch("10m", "5m"),
            {"at": "20m", "type": "defender", "device": "d1", "state": "activated"},
            launch("50m", "5m"),
            {"at": "0m", "type": "threat", "device": "d2", "id": "t", "severity": "medium"},
            launch("30m", "10m", device="d2"),
        ],
        devices=[{"id": "d1", "defender": "absent"}, {"id": "d2", "management": "mdm"}],
    )
    assert check_consistency(result) == []
    metrics = compute_metrics(result)
    d1, d2 = pick(metrics, "management", "mam_we", "P"), pick(metrics, "management", "mdm", "P")
    assert (d1["onboarding_blocks"], d1["blocked_user_minutes"]) == (1, 40)  # 10 → 50
    assert (d2["undetected_episodes"], d2["exposed_minutes_medium"]) == (1, 10)
    # never remediated, so still active at the horizon: not (yet) "never enforced"
    assert (d2["never_enforced_medium"], d2["episodes_active_at_horizon"]) == (0, 1)
    assert d2["exposed_launches_medium"] == 1
    assert pick(metrics, variant="P")["episodes"] == 1


# -- properties ------------------------------------------------------------------------------
def small_scenario(seed: int, users: int, days: int, level: str, action: str) -> Scenario:
    """A tiny random fleet with high threat rates and two policy variants."""
    data: dict[str, Any] = {
        "name": "metrics-property",
        "seed": seed,
        "horizon": f"{days}d",
        "fleet": {
            "users": users,
            "second_device_share": 0.3,
            "management": {"mdm": 0.4, "mam_we": 0.4, "emm": 0.2},
        },
        "apps": [
            {"name": "outlook", "sessions_per_day": 8},
            {"name": "teams", "share": 0.6, "sessions_per_day": 4},
        ],
        "threats": [
            {
                "kind": "phishing",
                "rate_per_device_year": 150.0,
                "severity": {"low": 0.3, "medium": 0.4, "high": 0.3},
                "natural_duration": {"dist": "lognormal", "median": "3h", "p90": "1d"},
            },
            {
                "kind": "os_vulnerability",
                "rate_per_device_year": 30.0,
                "detection_probability": 0.5,
                "severity": {"low": 0.5, "high": 0.5},
            },
        ],
        "offline": {"episodes_per_device_month": 5},
        "policies": [
            {"name": "strict", "apps": ["outlook", "teams"], "max_threat_level": "secured"},
            {
                "name": "chosen",
                "apps": ["outlook"],
                "max_threat_level": level,
                "threat_action": action,
            },
        ],
    }
    return scenario_from_data(data, source="<metrics-property>")


runs = st.builds(
    lambda scenario: simulate(scenario),
    st.builds(
        small_scenario,
        seed=st.integers(0, 2**32 - 1),
        users=st.integers(1, 6),
        days=st.integers(1, 3),
        level=st.sampled_from(["secured", "low", "medium", "high", "not_configured"]),
        action=st.sampled_from(["block", "wipe"]),
    ),
)


@settings(max_examples=25)
@given(result=runs)
def test_metrics_add_up_to_the_log(result: RunResult) -> None:
    """On random runs: no invariant is violated (outcomes and reasons sum to rows, segments
    add up, exposure monotone in severity …) and the counts match the log directly."""
    metrics = compute_metrics(result)
    assert check_consistency(result, metrics) == []
    log = result.decisions
    for variant, rows in log.groupby("variant", sort=False):
        m = pick(metrics, variant=str(variant))
        assert m["launches"] == (rows["trigger"] == "launch").sum()
        assert m["evaluations"] == (rows["reason"] != "previous_allow").sum()
        evaluations = rows[~rows["reason"].isin(["previous_allow", "previous_denial"])]
        assert m["wipe_events"] == (evaluations["outcome"] == "wipe").sum()
        assert m["wipes"] == data_wipes(rows)
        for lower, higher in (("low", "medium"), ("medium", "high")):
            assert m[f"exposed_launches_{higher}"] <= m[f"exposed_launches_{lower}"]
            assert m[f"exposed_minutes_{higher}"] <= m[f"exposed_minutes_{lower}"] + 1e-9
        by_cause = blocked_by_cause(rows, result.scenario.model.horizon)
        for cause, minutes in by_cause.items():
            assert m[f"blocked_user_minutes_{cause}"] == pytest.approx(minutes, abs=1e-6)
    assert_blocked_causes_add_up(metrics)
    assert (
        metrics["unneeded_denials"] == metrics["unneeded_blocks"] + metrics["unneeded_wipes"]
    ).all()


def data_wipes(rows: pd.DataFrame) -> int:
    """Wipes that removed data, by a plain loop over each device+app in time order."""
    count = 0
    for _, group in rows.sort_values("time_min", kind="stable").groupby(["device", "app"]):
        has_data = True
        for outcome, reason in zip(group["outcome"], group["reason"], strict=True):
            if reason in ("previous_allow", "previous_denial"):
                continue
            if outcome == "wipe" and has_data:
                count += 1
                has_data = False
            elif outcome == "allow":
                has_data = True
    return count


_CAUSES = {
    "threat_level_exceeded": "threat",
    "connector_disabled": "threat",
    "partner_unresponsive": "threat",
    "mtd_not_activated": "onboarding",
    "offline_block": "offline",
    "offline_wipe": "offline",
}


def blocked_by_cause(rows: pd.DataFrame, horizon: float) -> dict[str, float]:
    """Blocked minutes by cause, row by row: each denial → the next row of its device+app
    (or the horizon) under its reason's cause; a previous_denial under the cause of the
    last earlier evaluation of that device+app."""
    out = dict.fromkeys(("threat", "onboarding", "offline"), 0.0)
    ordered = rows.sort_values("time_min", kind="stable")
    for _, group in ordered.groupby(["device_index", "app"], sort=False):
        records = group.to_dict("records")
        cause = "threat"
        for i, row in enumerate(records):
            if row["reason"] not in ("previous_allow", "previous_denial"):
                cause = _CAUSES.get(row["reason"], "threat")
            if row["outcome"] != "allow":
                stop = records[i + 1]["time_min"] if i + 1 < len(records) else horizon
                out[cause] += max(stop - row["time_min"], 0.0)
    return out


def assert_blocked_causes_add_up(metrics: pd.DataFrame) -> None:
    """threat + onboarding + offline == blocked_user_minutes, exactly, on every row."""
    total = (
        metrics["blocked_user_minutes_threat"]
        + metrics["blocked_user_minutes_onboarding"]
        + metrics["blocked_user_minutes_offline"]
    )
    assert (total == metrics["blocked_user_minutes"]).all()


@settings(max_examples=15)
@given(result=runs, cut=st.integers(0, 12))
def test_counts_are_additive_over_chunks_of_devices(result: RunResult, cut: int) -> None:
    """count_metrics of two disjoint sets of users' devices (the way runs are chunked),
    combined, equals count_metrics of the whole (distinct-user counts included); episode
    outcomes of the parts concatenate to those of the whole."""
    horizon = result.scenario.model.horizon
    tables = (result.decisions, result.episodes, result.devices)
    whole = count_metrics(*tables, horizon=horizon)
    owner = dict(zip(result.devices["device_index"], result.devices["user"], strict=False))
    first = {owner[i] for i in result.devices["device_index"] if i < cut}

    def side_of(t: pd.DataFrame) -> pd.Series:
        return t["device_index"].map(owner).isin(first)

    parts = [[t[side_of(t) == side] for t in tables] for side in (True, False)]
    combined = combine_counts(count_metrics(d, e, v, horizon) for d, e, v in parts)
    pd.testing.assert_frame_equal(
        combined.sort_values(list(KEY_COLUMNS)).reset_index(drop=True),
        whole.sort_values(list(KEY_COLUMNS)).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
    )
    key = ["variant", "device_index", "episode"]
    outcomes = pd.concat([episode_outcomes(d, e, horizon, v) for d, e, v in parts])
    expected = episode_outcomes(tables[0], tables[1], horizon, tables[2])
    pd.testing.assert_frame_equal(
        outcomes.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
    )
    summarized = summarize(
        pd.concat([count_metrics(d, e, v, horizon) for d, e, v in parts]), outcomes
    )
    pd.testing.assert_frame_equal(summarized, compute_metrics(result), check_exact=False)
    for table in (whole, combined, summarized):
        assert_blocked_causes_add_up(table)


intervals = st.lists(
    st.tuples(
        st.sampled_from(["low", "medium", "high"]),
        st.integers(0, 100),
        st.one_of(st.integers(0, 60), st.just(10_000)),
    ),
    max_size=6,
)
sessions = st.lists(st.tuples(st.integers(0, 120), st.integers(0, 40)), max_size=6)


@settings(max_examples=80)
@given(eps=intervals, spans=sessions)
def test_exposed_minutes_match_brute_force(
    eps: list[tuple[str, int, int]], spans: list[tuple[int, int]]
) -> None:
    """exposed_minutes_X equals, minute by minute, the granted session time during which
    some episode of severity ≥ X was active (integer grid, horizon 150); and it is
    monotone: high ≤ medium ≤ low ≤ granted."""
    horizon = 150.0
    episodes = [
        episode(0, sev, onset, onset + length, name=f"e{i}")
        for i, (sev, onset, length) in enumerate(eps)
    ]
    rows = [decision(start, session_end=min(start + length, horizon)) for start, length in spans]
    rows.append(decision(149, outcome="block", reason="offline_block"))  # so the device exists
    counts = count_metrics(*frames(rows, episodes), horizon)
    m = counts[counts["segment_by"] == "all"].iloc[0]
    order = {"low": 1, "medium": 2, "high": 3}
    for name, rank in order.items():
        active = np.zeros(int(horizon), dtype=bool)
        for sev, onset, length in eps:
            if order[sev] >= rank:
                active[onset : min(onset + length, int(horizon))] = True
        expected = sum(
            int(active[start : min(start + length, int(horizon))].sum()) for start, length in spans
        )
        assert m[f"exposed_minutes_{name}"] == pytest.approx(expected)
    chain = ["granted_minutes", "exposed_minutes_low", "exposed_minutes_medium"]
    values = [m[c] for c in [*chain, "exposed_minutes_high"]]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(values))


@settings(max_examples=60)
@given(eps=intervals, spans=sessions)
def test_episode_exposed_minutes_match_brute_force(
    eps: list[tuple[str, int, int]], spans: list[tuple[int, int]]
) -> None:
    """Each episode's exposed_minutes equals, minute by minute, the granted session time
    inside the episode (sessions may overlap and each counts; integer grid, horizon 150)."""
    horizon = 150
    episodes = [
        episode(0, sev, onset, onset + length, name=f"e{i}")
        for i, (sev, onset, length) in enumerate(eps)
    ]
    rows = [decision(start, session_end=min(start + length, horizon)) for start, length in spans]
    rows.append(decision(149, outcome="block", reason="offline_block"))
    outcomes = episode_outcomes(*frames(rows, episodes)[:2], float(horizon))
    for (_, onset, length), got in zip(eps, outcomes["exposed_minutes"], strict=True):
        inside = np.zeros(horizon, dtype=int)
        inside[onset : min(onset + length, horizon)] = 1
        expected = sum(int(inside[a : min(a + n, horizon)].sum()) for a, n in spans)
        assert got == pytest.approx(expected)


def test_count_columns_are_the_additive_ones() -> None:
    """count_metrics returns the key columns then COUNT_COLUMNS, counts as integers."""
    counts = count_metrics(*frames([decision(0)]), HORIZON)
    assert list(counts.columns) == [*KEY_COLUMNS, *COUNT_COLUMNS]
    assert counts["launches"].dtype == np.int64


def test_check_consistency_reports_broken_logs() -> None:
    """check_consistency names each broken invariant: a true level that contradicts the
    episodes table, a launch recorded twice, a denial with a session, an unknown reason."""
    result = scripted(
        [
            {
                "at": "1h",
                "type": "threat",
                "device": "d1",
                "id": "t",
                "severity": "high",
                "detected_after": "0m",
            },
            launch("10m", "5m"),
            launch("2h", "5m"),  # blocked
        ]
    )
    assert check_consistency(result) == []
    log = result.decisions.copy()
    assert log["outcome"].tolist() == ["allow", "block"]
    log.loc[0, "true_level"] = "high"  # the threat starts at 60 min, this row is at 10
    log.loc[1, "session_end_min"] = log.loc[1, "time_min"] + 5  # a denial has no session
    log = pd.concat([log, log.iloc[[0]]], ignore_index=True)  # the launch at 10 twice
    log["reason"] = log["reason"].astype(object)  # a categorical refuses a new value
    log.loc[len(log) - 1, "reason"] = "because"
    problems = check_consistency(replace(result, decisions=log))
    text = "\n".join(problems)
    assert "true_level disagrees with episodes at low" in text
    assert "repeating a launch" in text
    assert "session_end_min != time_min" in text
    assert "without a valid reason" in text
    assert "rows by reason do not sum to rows" in text

    metrics = compute_metrics(result)
    metrics.loc[0, "blocked_user_minutes_offline"] += 7.0
    metrics.loc[0, "unneeded_denials"] += 1
    text = "\n".join(check_consistency(result, metrics))
    assert "blocked_user_minutes by cause do not sum to blocked_user_minutes" in text
    assert "unneeded_denials != unneeded_blocks + unneeded_wipes" in text


# -- the metrics' own orderings and groupings ----------------------------------------------
_TIMES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 30.0, 43_199.5]),  # ties, and a zero of either sign
    st.floats(min_value=0, max_value=130_000, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), _TIMES, st.booleans()), max_size=120),
    st.sampled_from(["rows", "device_major", "time_major"]),
)
def test_by_key_time_is_lexsort_on_every_layout(
    rows: list[tuple[int, float, bool]], layout: str
) -> None:
    """The (key, time) order the metrics sort by equals np.lexsort((time, key)), ties in
    row order, whichever layout the rows come in (the engines' device-major order with
    some times out of order, the canonical time-major order, or none)."""
    key = np.array([r[0] for r in rows], dtype=np.int64)
    time = np.array([r[1] for r in rows], dtype=np.float64)
    if layout == "device_major":  # grouped by key, a few times swapped with the next
        order = np.lexsort((time, key))
        key, time = key[order], time[order]
        swap = np.flatnonzero([r[2] for r in rows][:-1])
        time[swap], time[swap + 1] = time[swap + 1], time[swap].copy()
    elif layout == "time_major":
        order = np.argsort(time, kind="stable")
        key, time = key[order], time[order]
    got = _by_key_time(key, time)
    assert got.tolist() == np.lexsort((time, key)).tolist()


def test_by_key_time_with_nan_times_is_lexsort() -> None:
    """NaN times (never in a log) fall back to lexsort, which puts them last in their key."""
    key = np.array([1, 0, 1, 0, 1], dtype=np.int64)
    time = np.array([np.nan, 5.0, 2.0, np.nan, 1.0])
    assert _by_key_time(key, time).tolist() == np.lexsort((time, key)).tolist() == [1, 3, 4, 2, 0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 5), st.integers(-1, 9)), max_size=80))
def test_group_ids_number_combinations_in_order_of_first_appearance(
    rows: list[tuple[int, int, int]],
) -> None:
    """Equal code combinations share an id, different ones do not, ids count up from 0 in
    order of first appearance, any -1 code gives -1; _first_of_groups marks each group's
    first row."""
    columns = [np.array([r[i] for r in rows], dtype=np.int64) for i in range(3)]
    ids = _group_ids(*columns)
    expected: dict[tuple[int, int, int], int] = {}
    for row, got in zip(rows, ids.tolist(), strict=True):
        if min(row) < 0:
            assert got == -1
        else:
            assert got == expected.setdefault(row, len(expected))
    first = _first_of_groups(ids)
    seen: set[int] = set()
    for got, is_first in zip(ids.tolist(), first.tolist(), strict=True):
        assert is_first == (got >= 0 and got not in seen)
        seen.add(got)
