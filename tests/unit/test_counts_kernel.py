"""The coded-rows metrics equal the NumPy definitions, float for float.

:func:`simulator.analysis.metrics.coded_counts_and_outcomes` is a second implementation of
a chunk's additive metrics: it reads the compiled engine's coded rows
(:class:`simulator.sim.engine.compiled.CodedDecisions`, one per variant) in a Numba pass
(:mod:`simulator.analysis._counts_kernel`) instead of the decision log's DataFrame. It is
only correct if it returns exactly what
:func:`simulator.analysis.metrics.counts_and_outcomes` returns for the same chunk — both
the counts table and the episode outcomes, compared with ``check_exact`` — because
:func:`simulator.analysis.sweep.chunk_counts` now takes it for every compiled chunk, and
runs of the two engines must give the same tables.

Worlds come from:

* every bundled scenario (fleets cut to 100 users and 14 days in chunks of 50, their dated
  windows scaled into the shorter horizon; scripted ones as they are), every chunk;
* random scenarios (the Hypothesis strategies of ``tests/property``): random fleets and
  behaviours with several variants and chunk sizes, random scripted timelines where events
  coincide, and random policy sets of :mod:`tests.property.strategies` on a fixed world;
* rare branches, in bundled fleets and scripted timelines (wipes, offline blocks,
  re-authentication and wipes, onboarding blocks, repeated denials, denials inside a
  running session, connector outages, episodes active at the horizon or remediated,
  devices without rows, a chunk without rows, a variant that targets nothing), each
  asserted to be in the chunk before the tables are compared, so no test passes on a
  chunk that lacks its branch;
* several working hours.

Also: the errors for coded rows that are not device by device, not one part per variant
or missing for a variant;
``chunk_counts``' dispatch (a compiled chunk never builds its log, a fast-engine chunk
gives the same tables); and a pickled ``ChunkFrames`` carrying its log, not its codes.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.analysis import metrics, sweep
from simulator.analysis.metrics import (
    DEFAULT_WORKING_HOURS,
    CodedRows,
    WorkingHours,
    coded_counts_and_outcomes,
    counts_and_outcomes,
)
from simulator.analysis.sweep import chunk_counts
from simulator.durations import MINUTES_PER_DAY
from simulator.policy.decide import Policy
from simulator.scenario.load import Scenario, load_scenario, scenario_from_data, variant_policies
from simulator.sim.engine.compiled import CodedDecisions
from simulator.sim.run import ChunkFrames, ChunkTask, chunk_tasks, run_chunk
from tests.property import strategies as cst
from tests.property.test_engines_agree import random_scenarios, scripted_scenarios
from tests.unit.test_engine_scripted import POLICY, launch, threat

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))
USERS = 100
DAYS = 14
CHUNK = 50
Tables = tuple[pd.DataFrame, pd.DataFrame]


# -- helpers ---------------------------------------------------------------------------------
def reduced(scenario: Scenario, users: int = USERS, days: float = DAYS) -> Scenario:
    """A fleet scenario cut to ``users`` users and ``days`` days in chunks of
    :data:`CHUNK`; dated windows (connector outages, campaigns, the partner threshold)
    scaled into the shorter horizon. Scripted scenarios are returned as they are."""
    model = scenario.model
    if model.fleet is None:
        return scenario
    scale = min(1.0, days * MINUTES_PER_DAY / model.horizon)
    data = model.model_dump(mode="python")
    data["fleet"]["users"] = min(model.fleet.users, users)
    data["chunk_size"] = CHUNK
    data["horizon"] = model.horizon * scale
    data["connector"] = [
        {"state": c.state, "start": c.start * scale, "end": c.end * scale} for c in model.connector
    ]
    for dumped, threat_model in zip(data["threats"], model.threats, strict=True):
        if threat_model.campaign is not None:
            dumped["campaign"] = [t * scale for t in threat_model.campaign]
    data["behavior"]["partner_unresponsive_days"] *= scale
    return scenario.with_changes(**data)


def tasks_of(
    scenario: Scenario,
    variants: dict[str, tuple[Policy, ...]] | None = None,
    chunk_size: int | None = None,
) -> list[ChunkTask]:
    """The chunk tasks of replication 0 (compiled engine), the scenario's variants by default."""
    chosen = variant_policies(scenario) if variants is None else variants
    return chunk_tasks(scenario, 0, chosen, chunk_size)


def numpy_tables(
    frames: ChunkFrames, scenario: Scenario, hours: WorkingHours | None = None
) -> Tables:
    """The NumPy definition's tables of a chunk, from its decision log."""
    model = scenario.model
    return counts_and_outcomes(
        frames.decisions,
        frames.episodes,
        frames.devices,
        model.horizon,
        working_hours=model.launches.working_hours if hours is None else hours,
    )


def coded_tables(
    frames: ChunkFrames,
    scenario: Scenario,
    hours: WorkingHours | None = None,
    parts: Sequence[CodedRows] | None = None,
) -> Tables:
    """The coded path's tables of a chunk (its own coded parts unless ``parts``)."""
    model = scenario.model
    return coded_counts_and_outcomes(
        frames.coded if parts is None else parts,
        frames.episodes,
        frames.devices,
        model.horizon,
        working_hours=model.launches.working_hours if hours is None else hours,
    )


def assert_tables_equal(got: Tables, expected: Tables, what: str = "") -> None:
    """Counts and outcomes equal, float for float, dtypes and order included."""
    for name, left, right in zip(("counts", "outcomes"), got, expected, strict=True):
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=f"{name} {what}")


def assert_coded_agrees(
    frames: ChunkFrames, scenario: Scenario, hours: WorkingHours | None = None
) -> Tables:
    """The chunk is a compiled one (one coded part per variant) and the coded path gives
    the NumPy tables exactly; returns the NumPy tables."""
    assert frames.coded, "not a compiled chunk: nothing coded to compare"
    assert len({p.variant for p in frames.coded}) == len(frames.coded)
    expected = numpy_tables(frames, scenario, hours)
    assert_tables_equal(coded_tables(frames, scenario, hours), expected)
    return expected


def assert_every_chunk_agrees(
    scenario: Scenario,
    variants: dict[str, tuple[Policy, ...]] | None = None,
    chunk_size: int | None = None,
) -> list[ChunkFrames]:
    """Every chunk of the scenario: coded == NumPy; returns the chunks' frames."""
    tasks = tasks_of(scenario, variants, chunk_size)
    played = [run_chunk(task) for task in tasks]
    for frames in played:
        assert len(frames.coded) == len(tasks[0].variants)
        assert_coded_agrees(frames, scenario)
    return played


# -- bundled scenarios -----------------------------------------------------------------------
@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_scenarios_every_chunk(path: Path) -> None:
    """Every bundled scenario (fleets cut to 100 users, 14 days, chunks of 50; scripted
    ones whole): every chunk's coded tables equal the NumPy ones exactly."""
    scenario = reduced(load_scenario(path))
    played = assert_every_chunk_agrees(scenario)
    if scenario.model.fleet is not None:
        assert len(played) == USERS // CHUNK
    assert sum(len(frames.decisions) for frames in played) > 0


# -- random scenarios ------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(random_scenarios(), st.sampled_from([1, 3, 1000]))
def test_random_scenarios(scenario: Scenario, chunk_size: int) -> None:
    """Random small fleets (denials, nudges, offline blocks and wipes, onboarding,
    connector outages, every behaviour flag; one to four variants), cut into chunks of 1,
    3 or all users: every chunk's coded tables equal the NumPy ones."""
    assert_every_chunk_agrees(scenario, chunk_size=chunk_size)


@settings(max_examples=12, deadline=None)
@given(scripted_scenarios())
def test_random_scripted_timelines(scenario: Scenario) -> None:
    """Random scripted timelines on a coarse grid, where launches, check-ins, detections
    and zero-delay nudges of several apps coincide: coded == NumPy."""
    assert_every_chunk_agrees(scenario)


_POLICY_WORLD = load_scenario(ROOT / "scenarios" / "baseline.toml").with_changes(
    fleet={"users": 12},
    chunk_size=12,
    horizon="4d",
    apps=[
        {"name": "outlook", "sessions_per_day": 6},
        {"name": "teams", "share": 0.7, "sessions_per_day": 4},
        {"name": "edge", "share": 0.5, "sessions_per_day": 3},
    ],
    threats=[
        {
            "kind": "phishing",
            "rate_per_device_year": 300.0,
            "severity": {"low": 0.3, "medium": 0.4, "high": 0.3},
            "natural_duration": {"dist": "lognormal", "median": "6h", "p90": "2d"},
        },
        {"kind": "jailbreak", "rate_per_device_year": 30.0, "severity": {"high": 1.0}},
    ],
    offline={"episodes_per_device_month": 30.0},
)
"""A small fleet whose apps are the strategies' app universe (:data:`cst.APPS`), with
frequent threats and offline periods."""


@settings(max_examples=12, deadline=None)
@given(st.lists(cst.policy_lists(max_size=3), min_size=1, max_size=4))
def test_random_policy_sets(policy_sets: list[list[Policy]]) -> None:
    """Random policy sets of :mod:`tests.property.strategies` (any periods, levels,
    actions, targeting, jailbreak actions; empty sets target nothing) as the variants of
    one world: coded == NumPy."""
    variants = {f"v{i}": tuple(policies) for i, policies in enumerate(policy_sets)}
    assert_every_chunk_agrees(_POLICY_WORLD, variants)


# -- rare branches ---------------------------------------------------------------------------
def _on(device: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"device": device, **event}


def _script(
    devices: list[dict[str, Any]],
    events: list[dict[str, Any]],
    *,
    policies: list[dict[str, Any]] | None = None,
    variants: list[dict[str, Any]] | None = None,
    behavior: dict[str, Any] | None = None,
    horizon: str = "4d",
) -> Scenario:
    """A scripted scenario (Defender → Intune delay 10 min), one policy on outlook and
    teams by default."""
    data: dict[str, Any] = {
        "name": "coded rare branches",
        "horizon": horizon,
        "signals": {"defender_to_intune": {"dist": "fixed", "value": "10m"}},
        "behavior": behavior or {},
        "policies": policies or [{**POLICY, "apps": ["outlook", "teams"]}],
        "script": {"devices": devices, "events": events},
    }
    if variants is not None:
        data["variants"] = variants
    return scenario_from_data(data, source="<coded rare branches>")


def _device(name: str, management: str = "mam_we", **extra: Any) -> dict[str, Any]:
    return {"id": name, "management": management, "defender": "activated", **extra}


def _many_branches() -> Scenario:
    """Seven devices under a wipe policy with repeated denials (no retry) and sessions that
    run on through denials (no midsession enforcement); a second variant targets nobody.

    wipe: threat at 60 → wipes, on two apps. offline: offline from 100 → offline blocks,
    then past the 2-day wipe period → re-authentication. onboard: Defender absent →
    onboarding blocks, then a repeated denial. silent: no launches, but a threat (an
    episode on a device without rows). active: a long session, then a threat late in the
    run, never remediated (active at the horizon). jb: a jailbreak → jailbroken_device.
    session: a threat during a five-hour session, whose check-ins deny while it goes on.
    """
    devices = [
        _device("wipe"),
        _device("offline"),
        _device("onboard", defender="absent"),
        _device("silent", "mdm"),
        _device("active", "emm", emm_passes_upn=True),
        _device("jb"),
        _device("session", "mdm"),
    ]
    late = 3 * MINUTES_PER_DAY
    events = [
        *(_on("wipe", e) for e in (threat(60, id="w1"), launch(110), launch(112))),
        *(_on("wipe", e) for e in (launch(130, 5, "teams"), launch(300), launch(302))),
        _on("offline", launch(60)),
        {"device": "offline", "at": 100, "type": "offline"},
        *(_on("offline", launch(t)) for t in (900, 905, 3000, 3003)),
        _on("offline", launch(3500, 5, "teams")),
        *(_on("onboard", e) for e in (launch(30), launch(40), launch(400, 50, "teams"))),
        _on("silent", threat(500, id="s1")),
        _on("active", launch(100, 600)),
        _on("active", threat(late + 600, id="a1")),
        _on("active", launch(late + 700)),
        _on("active", launch(late + 705, 30, "teams")),
        *(_on("jb", e) for e in (threat(200, id="j1", kind="jailbreak"), launch(300))),
        _on("jb", launch(301)),
        *(_on("session", e) for e in (launch(60, 300), threat(70, "medium", id="x1"))),
    ]
    strict = {
        **POLICY,
        "apps": ["outlook", "teams"],
        "threat_action": "wipe",
        "offline_wipe_after": "2d",
        "jailbroken_action": "wipe",
    }
    nobody = {**POLICY, "name": "Q", "include_groups": ["nobody"]}
    return _script(
        devices,
        events,
        policies=[strict, nobody],
        variants=[{"name": "strict", "policies": ["P"]}, {"name": "nobody", "policies": ["Q"]}],
        behavior={"retry_denied_at_launch": False, "midsession_enforcement": False},
    )


def _offline_wipe() -> Scenario:
    """Offline past the block period (blocks), then past the wipe period with
    ``offline_wipe = immediate`` (a wipe), then online again."""
    events = [
        _on("d1", launch(60)),
        {"device": "d1", "at": 100, "type": "offline"},
        *(_on("d1", launch(t)) for t in (800, 2941)),
        {"device": "d1", "at": 3000, "type": "online"},
        _on("d1", launch(3100)),
    ]
    return _script(
        [_device("d1")],
        events,
        policies=[{**POLICY, "offline_wipe_after": "2d"}],
        behavior={"offline_wipe": "immediate"},
        horizon="3d",
    )


def _remediated() -> Scenario:
    """Threats that end (remediation events) before the horizon and are restored, one
    that ends but is never restored, and one still active at the horizon."""
    events = [
        *(_on("d1", e) for e in (threat(60, id="t1"), launch(110), launch(200))),
        {"device": "d1", "at": 300, "type": "remediate", "threat": "t1"},
        *(_on("d1", launch(t, 30)) for t in (400, 1000)),
        *(_on("d2", e) for e in (threat(60, "medium", id="t2"), launch(90))),
        {"device": "d2", "at": 150, "type": "remediate", "threat": "t2"},
        _on("d3", threat(1200, "low", id="t3")),
        *(_on("d3", launch(t)) for t in (1230, 1300)),
    ]
    return _script(
        [_device("d1"), _device("d2", "mdm"), _device("d3", "emm", emm_passes_upn=True)],
        events,
        behavior={"nudged_remediation": False},
        horizon="1d",
    )


def _connector_off() -> Scenario:
    """The connector disabled and then unresponsive, failing closed: connector and
    partner denials (threat-caused blocked minutes) between allows."""
    events = [
        {"at": 50, "type": "connector", "state": "disabled"},
        _on("d1", launch(60)),
        _on("d1", launch(120, 5, "teams")),
        {"at": 200, "type": "connector", "state": "enabled"},
        _on("d1", launch(210)),
        {"at": 300, "type": "connector", "state": "unresponsive"},
        *(_on("d1", launch(t)) for t in (400, 600)),
    ]
    return _script(
        [_device("d1")],
        events,
        behavior={
            "connector_off_behavior": "block",
            "unresponsive_behavior": "block",
            "partner_unresponsive_days": 0.1,
        },
    )


def _repeated_denials() -> Scenario:
    """Retry off: launches inside the recheck window repeat a connector denial and a
    threat denial (twice) without a check-in."""
    events = [
        {"at": 50, "type": "connector", "state": "disabled"},
        *(_on("d1", launch(t)) for t in (60, 70)),
        _on("d1", launch(75, 5, "teams")),
        {"at": 200, "type": "connector", "state": "enabled"},
        _on("d1", threat(300, id="t1")),
        *(_on("d1", launch(t)) for t in (400, 405, 415)),
    ]
    return _script(
        [_device("d1")],
        events,
        behavior={"connector_off_behavior": "block", "retry_denied_at_launch": False},
        horizon="1d",
    )


def _no_rows() -> Scenario:
    """Two devices and a threat, but no launch: a chunk without a single decision row."""
    return _script(
        [_device("d1"), _device("d2", "mdm")], [_on("d1", threat(60, id="t1"))], horizon="1d"
    )


def _reuse_after(frames: ChunkFrames, reason: str) -> bool:
    """Some previous_denial row comes right after a row with ``reason`` on its device+app."""
    log = frames.decisions.sort_values(["variant", "device", "app", "time_min"], kind="stable")
    keys = [log[c].astype(str) for c in ("variant", "device", "app")]
    earlier = log.groupby(keys, observed=True)["reason"].shift().astype(object)
    return bool(((log["reason"] == "previous_denial") & (earlier == reason)).any())


def _denied_in_session(frames: ChunkFrames) -> bool:
    """Some denial falls inside an earlier granted session of its device+app."""
    log = frames.decisions
    for _, rows in log.groupby(["variant", "device", "app"], observed=True):
        granted = rows[(rows["trigger"] == "launch") & (rows["outcome"] == "allow")]
        for _, denial in rows[rows["outcome"] != "allow"].iterrows():
            earlier = granted[granted["time_min"] < denial["time_min"]]
            if (earlier["session_end_min"] > denial["time_min"]).any():
                return True
    return False


def _has(frames: ChunkFrames, outcome: str | None = None, reason: str | None = None) -> bool:
    log = frames.decisions
    mask = np.ones(len(log), dtype=bool)
    if outcome is not None:
        mask &= (log["outcome"] == outcome).to_numpy()
    if reason is not None:
        mask &= (log["reason"] == reason).to_numpy()
    return bool(mask.any())


def _nobody_targeted(frames: ChunkFrames) -> bool:
    """The 'nobody' variant has rows, all allowed and none of a targeted app."""
    rows = frames.decisions[frames.decisions["variant"] == "nobody"]
    return (
        len(rows) > 0
        and bool((rows["outcome"] == "allow").all())
        and bool((rows["reason"] == "not_targeted").any())
        and bool(rows["reason"].isin(["not_targeted", "previous_allow"]).all())
    )


def _rowless_devices(frames: ChunkFrames) -> bool:
    """Some device (with an episode) has no decision row."""
    with_rows = set(frames.decisions["device"].astype(str))
    episodes = set(frames.episodes["device"].astype(str))
    return bool(episodes - with_rows)


def _bundled(name: str, users: int = 60, days: float = 10) -> Scenario:
    return reduced(load_scenario(ROOT / "scenarios" / f"{name}.toml"), users, days)


Check = Callable[[ChunkFrames, Tables], bool]
RARE: dict[str, tuple[Callable[[], Scenario], Check]] = {
    "jailbreak_wipe wipes": (
        lambda: _bundled("jailbreak_wipe"),
        lambda f, t: _has(f, "wipe", "threat_level_exceeded"),
    ),
    "baseline offline blocks": (
        lambda: _bundled("baseline"),
        lambda f, t: _has(f, "block", "offline_block"),
    ),
    "mam_we_rollout onboarding blocks": (
        lambda: _bundled("mam_we_rollout"),
        lambda f, t: _has(f, "block", "mtd_not_activated"),
    ),
    "fleet episodes active at the horizon": (
        lambda: _bundled("phishing_campaign"),
        lambda f, t: bool(t[1]["active_at_horizon"].any() and (~t[1]["active_at_horizon"]).any()),
    ),
    "scripted wipes on two apps": (
        _many_branches,
        lambda f, t: (
            _has(f, "wipe", "threat_level_exceeded")
            and f.decisions.loc[f.decisions["outcome"] == "wipe", "app"].nunique() == 2
        ),
    ),
    "scripted offline block and re-authentication": (
        _many_branches,
        lambda f, t: _has(f, "block", "offline_block") and _has(f, "block", "offline_reauth"),
    ),
    "scripted onboarding block then repeated denial": (
        _many_branches,
        lambda f, t: _has(f, "block", "mtd_not_activated") and _reuse_after(f, "mtd_not_activated"),
    ),
    "scripted jailbroken device": (
        _many_branches,
        lambda f, t: _has(f, "wipe", "jailbroken_device"),
    ),
    "scripted device without rows": (_many_branches, lambda f, t: _rowless_devices(f)),
    "scripted denial inside a running session": (
        _many_branches,
        lambda f, t: _denied_in_session(f),
    ),
    "scripted active at the horizon": (
        _many_branches,
        lambda f, t: bool(t[1]["active_at_horizon"].all() and t[1]["enforced"].any()),
    ),
    "variant targeting nobody": (_many_branches, lambda f, t: _nobody_targeted(f)),
    "offline wipe": (
        _offline_wipe,
        lambda f, t: _has(f, "block", "offline_block") and _has(f, "wipe", "offline_wipe"),
    ),
    "repeated connector and threat denials": (
        _repeated_denials,
        lambda f, t: (
            _reuse_after(f, "connector_disabled")
            and _reuse_after(f, "threat_level_exceeded")
            and _reuse_after(f, "previous_denial")
        ),
    ),
    "remediated, restored and never restored": (
        _remediated,
        lambda f, t: bool(
            t[1]["time_to_restore_min"].notna().any()
            and (t[1]["enforced"] & t[1]["never_restored"] & ~t[1]["active_at_horizon"]).any()
            and t[1]["active_at_horizon"].any()
        ),
    ),
    "chunk without rows": (
        _no_rows,
        lambda f, t: f.decisions.empty and not f.episodes.empty and len(f.devices) == 2,
    ),
    "connector disabled and partner unresponsive": (
        _connector_off,
        lambda f, t: (
            _has(f, "block", "connector_disabled") and _has(f, "block", "partner_unresponsive")
        ),
    ),
}


@pytest.mark.parametrize("name", list(RARE))
def test_rare_branches(name: str) -> None:
    """Chunks that contain a rare branch (asserted first, so the comparison is not
    vacuous): coded == NumPy on every chunk."""
    build, contains = RARE[name]
    scenario = build()
    tasks = tasks_of(scenario)
    played = [run_chunk(task) for task in tasks]
    expected = [numpy_tables(frames, scenario) for frames in played]
    assert any(contains(f, t) for f, t in zip(played, expected, strict=True)), name
    for frames, tables in zip(played, expected, strict=True):
        assert_tables_equal(coded_tables(frames, scenario), tables, name)


# -- working hours ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet_chunk() -> tuple[Scenario, ChunkFrames]:
    """One compiled chunk of the baseline (60 users, 10 days, four variants)."""
    scenario = _bundled("baseline")
    return scenario, run_chunk(tasks_of(scenario, chunk_size=60)[0])


HOURS: list[WorkingHours] = [(0, 24), (9, 17), (22, 23), (0, 1), DEFAULT_WORKING_HOURS]


@pytest.mark.parametrize("hours", HOURS, ids=[f"{h[0]}-{h[1]}h" for h in HOURS])
def test_working_hours(fleet_chunk: tuple[Scenario, ChunkFrames], hours: WorkingHours) -> None:
    """Blocked working minutes (and users affected) under other working hours: coded ==
    NumPy, and the working minutes are not all zero."""
    scenario, frames = fleet_chunk
    counts, _ = assert_coded_agrees(frames, scenario, hours)
    assert counts["blocked_working_minutes"].sum() > 0


def test_working_hours_from_the_scenario() -> None:
    """Working hours set in the scenario (which also shape the launches) reach both paths
    through ``chunk_counts``: the same tables as the NumPy definition."""
    scenario = _bundled("baseline").with_changes(launches={"working_hours": (22, 23)})
    assert scenario.model.launches.working_hours == (22, 23)
    frames = run_chunk(tasks_of(scenario, chunk_size=60)[0])
    assert_tables_equal(chunk_counts(frames, scenario), numpy_tables(frames, scenario))


# -- errors ----------------------------------------------------------------------------------
@dataclasses.dataclass
class FakePart:
    """Coded rows satisfying :class:`simulator.analysis.metrics.CodedRows`."""

    variant: str
    rows_i: npt.NDArray[np.integer[Any]]
    rows_f: npt.NDArray[np.float64]
    layout: npt.NDArray[np.int64]
    process_app: npt.NDArray[np.int64]
    process_max_rank: npt.NDArray[np.int64]
    apps: tuple[str, ...]

    @classmethod
    def of(
        cls, part: CodedDecisions, rows: slice | npt.NDArray[np.int64] = slice(None)
    ) -> FakePart:
        """A copy of ``part`` with its rows taken in the order ``rows``."""
        return cls(
            variant=part.variant,
            rows_i=part.rows_i[rows].copy(),
            rows_f=part.rows_f[rows].copy(),
            layout=np.asarray(part.layout, dtype=np.int64),
            process_app=np.asarray(part.process_app, dtype=np.int64),
            process_max_rank=np.asarray(part.process_max_rank, dtype=np.int64),
            apps=tuple(part.apps),
        )


def test_fake_parts_are_read_like_the_engines(fleet_chunk: tuple[Scenario, ChunkFrames]) -> None:
    """Plain copies of the coded parts give the same tables (so the errors below come
    from what was changed, not from the fake)."""
    scenario, frames = fleet_chunk
    fakes = [FakePart.of(part) for part in frames.coded]
    assert_tables_equal(coded_tables(frames, scenario, parts=fakes), numpy_tables(frames, scenario))


def test_rows_not_device_by_device_are_refused(fleet_chunk: tuple[Scenario, ChunkFrames]) -> None:
    """A part whose rows are reversed (devices in descending order) → ``ValueError``."""
    scenario, frames = fleet_chunk
    first = frames.coded[0]
    assert np.unique(first.rows_i[:, first.layout[0]]).size > 1  # several devices
    fakes = [FakePart.of(first, np.arange(len(first.rows_i))[::-1])]
    fakes += [FakePart.of(part) for part in frames.coded[1:]]
    with pytest.raises(ValueError, match="device by device"):
        coded_tables(frames, scenario, parts=fakes)


def test_duplicate_variant_parts_are_refused(fleet_chunk: tuple[Scenario, ChunkFrames]) -> None:
    """Two parts for one variant → ``ValueError``."""
    scenario, frames = fleet_chunk
    with pytest.raises(ValueError, match="one per variant"):
        coded_tables(frames, scenario, parts=[*frames.coded, frames.coded[0]])


def test_missing_variant_part_is_refused(fleet_chunk: tuple[Scenario, ChunkFrames]) -> None:
    """No part for a variant that has episodes → ``ValueError``."""
    scenario, frames = fleet_chunk
    missing = frames.coded[0].variant
    assert (frames.episodes["variant"] == missing).any()
    with pytest.raises(ValueError, match="no coded rows"):
        coded_tables(frames, scenario, parts=frames.coded[1:])


# -- chunk_counts ----------------------------------------------------------------------------
def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the NumPy path was taken")


def test_chunk_counts_reads_codes_of_a_compiled_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """``chunk_counts`` of a compiled chunk works with the NumPy path and the decision
    log's construction disabled, and gives the NumPy tables; a fast-engine chunk of the
    same task takes the NumPy path (refused here)."""
    scenario = _bundled("jailbreak_wipe")
    task = tasks_of(scenario, chunk_size=60)[0]
    compiled = run_chunk(task)
    expected = numpy_tables(run_chunk(task), scenario)  # another chunk: this one's log unbuilt
    fast = run_chunk(dataclasses.replace(task, engine="fast"))
    assert compiled.coded and not fast.coded
    for target, name in (
        (sweep, "counts_and_outcomes"),
        (metrics, "counts_and_outcomes"),
        (metrics, "_counts"),
        (metrics, "_Log"),
        (metrics, "_row_figures"),
        (CodedDecisions, "frame"),
    ):
        monkeypatch.setattr(target, name, _refuse)
    assert_tables_equal(chunk_counts(compiled, scenario), expected)
    with pytest.raises(AssertionError, match="NumPy path"):
        chunk_counts(fast, scenario)


@pytest.mark.parametrize("name", ["baseline", "jailbreak_wipe", "connector_outage"])
def test_chunk_counts_fast_engine_equals_compiled(name: str) -> None:
    """A chunk played by the fast engine (NumPy path) and by the compiled engine (coded
    path) gives the same tables, float for float."""
    scenario = _bundled(name, users=40, days=7)
    task = tasks_of(scenario, chunk_size=40)[0]
    compiled = run_chunk(task)
    fast = run_chunk(dataclasses.replace(task, engine="fast"))
    assert compiled.coded and not fast.coded
    assert_tables_equal(chunk_counts(fast, scenario), chunk_counts(compiled, scenario), name)


# -- pickling --------------------------------------------------------------------------------
def test_pickled_frames_carry_the_log_not_the_codes(
    fleet_chunk: tuple[Scenario, ChunkFrames],
) -> None:
    """A pickled compiled chunk comes back with no coded parts and the same decision
    log, episodes and devices; its tables (NumPy path) equal the original's (coded path),
    and pickling leaves the original's coded parts in place."""
    scenario, frames = fleet_chunk
    back = pickle.loads(pickle.dumps(frames))
    assert back.coded == ()
    assert len(frames.coded) == len(variant_policies(scenario))
    assert back.users == frames.users
    for table in ("decisions", "episodes", "devices"):
        pd.testing.assert_frame_equal(
            getattr(back, table), getattr(frames, table), check_exact=True, obj=table
        )
    assert_tables_equal(chunk_counts(back, scenario), chunk_counts(frames, scenario))
