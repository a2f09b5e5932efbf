"""Replay a tenant's history under candidate policies: the exports as a scripted world.

"What would last month have looked like under this policy?" The tenant's real devices,
their real threat episodes and their app use become :class:`~simulator.sim.world.DeviceWorld`
timelines, which the compiled engine (by default; any of ``condlaunch run``'s engines)
plays against each policy variant — the same decision log and the same run folder as
``condlaunch run``.

What each part of the world is made of (``docs/tenant.md`` says why):

* **Devices** — the fleet of :mod:`simulator.tenant.inventory`, ``index`` in device-id order.
  Defender is taken as activated on every device and its VPN as on (the exports do not say
  otherwise: a device's detections are what they are); no offline periods; re-authentication
  never fails; the app sees an MDM device as managed and an EMM device as unmanaged unless
  the base scenario's fleet says most do (``mdm_passes_upn``/``emm_passes_upn`` ≥ 0.5).
  Group memberships are not in these exports: every device is in every group a policy
  includes, and in none it excludes.
* **Episodes** — one per alert and device: onset ``firstActivityDateTime`` (or
  ``createdDateTime``), detection ``createdDateTime``, end ``resolvedDateTime`` (never,
  while unresolved). The alert's end is as observed under the tenant's *actual* policy: a
  stricter candidate does not shorten it (no nudged remediation). Defender → Intune delay:
  the base scenario's ``signals.defender_to_intune`` (its value when fixed, else its
  median), the same for every change, since the exports cannot identify it. The Intune
  SDK's own jailbreak check sees a jailbreak episode only on a device Intune lists as
  ``jailBroken``.
* **Launches** — sessions derived from successful sign-ins (:func:`session_starts`), each
  lasting the app's ``session_length`` from the base scenario (its median when random).

Chunks of devices — whole users, so that users are counted once — are built from the
compact sign-in arrays in the process that plays them (this one, or ``workers`` processes
through the :class:`~simulator.sim.run.Executor` seam). :func:`replay` keeps the decision
log; :func:`replay_metrics` reduces each chunk to additive counts as a sweep does, so
memory is bounded by a chunk's rows. Neither result depends on the chunk size, the worker
count or the engine.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from simulator.analysis.sweep import SweepPart, chunk_counts, combine_parts
from simulator.policy.decide import Policy
from simulator.policy.levels import DefenderState, Management, ThreatLevel
from simulator.scenario.load import Scenario
from simulator.scenario.models import AppModel, Dist, FleetModel, ScenarioModel
from simulator.sim.run import (
    DEFAULT_ENGINE,
    ChunkFrames,
    Executor,
    RunResult,
    as_executor,
    assemble,
    check_engine,
    engine_settings,
    play_chunk,
    run_tasks,
)
from simulator.sim.world import ConnectorTimeline, DeviceWorld, Episode, Launch
from simulator.tenant import DEFAULT_SESSION_GAP
from simulator.tenant.inventory import Exports, Tenant, TenantDevice
from simulator.tenant.mapping import OTHER_AS, OTHER_KIND
from simulator.tenant.readers import ReadStats, SignIns

INF: Final = math.inf

_LEVELS: Final = {"low": ThreatLevel.LOW, "medium": ThreatLevel.MEDIUM, "high": ThreatLevel.HIGH}


def session_starts(times: Sequence[float] | array[float], gap: float) -> np.ndarray:
    """Session start times from sign-in times: sorted, and a sign-in less than ``gap``
    minutes after the previous one continues that session."""
    values = np.sort(np.asarray(times, dtype=float))
    if values.size == 0:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    keep[1:] = np.diff(values) >= gap
    return values[keep]


def typical_minutes(dist: Dist) -> float:
    """One number for a duration distribution: its value when fixed, else its median."""
    if dist.dist == "fixed":
        return float(dist.value or 0.0)
    if dist.dist == "lognormal":
        return float(dist.median or 0.0)
    if dist.dist == "uniform":
        return (float(dist.low or 0.0) + float(dist.high or 0.0)) / 2
    if dist.dist == "exponential":
        return float(dist.mean or 0.0) * math.log(2.0)
    return INF


@dataclass(frozen=True)
class ReplaySettings:
    """How exports become a world (module docstring); defaults from a base scenario."""

    session_gap: float = DEFAULT_SESSION_GAP
    session_minutes: tuple[tuple[str, float], ...] = ()
    default_session_minutes: float = 3.0
    defender_to_intune: float = 15.0
    mdm_passes_upn: bool = True
    emm_passes_upn: bool = False
    groups: frozenset[str] = frozenset()

    @classmethod
    def from_base(
        cls, base: ScenarioModel, policies: Sequence[Policy], session_gap: float
    ) -> ReplaySettings:
        """Settings taken from a base scenario (or the defaults) and the policies."""
        fleet = base.fleet or FleetModel()
        groups = frozenset(g for p in policies for g in (p.include_groups or ()))
        return cls(
            session_gap=session_gap,
            session_minutes=tuple((a.name, typical_minutes(a.session_length)) for a in base.apps),
            default_session_minutes=typical_minutes(AppModel(name="x").session_length),
            defender_to_intune=typical_minutes(base.signals.defender_to_intune),
            mdm_passes_upn=fleet.mdm_passes_upn >= 0.5,
            emm_passes_upn=fleet.emm_passes_upn >= 0.5,
            groups=groups,
        )

    def session_length(self, app: str) -> float:
        """Minutes one session of ``app`` lasts."""
        return dict(self.session_minutes).get(app, self.default_session_minutes)


def device_world(
    index: int, device: TenantDevice, tenant: Tenant, settings: ReplaySettings
) -> DeviceWorld:
    """One device's timeline, from its records (clock: minutes from the window's start)."""
    horizon = tenant.horizon
    launches: list[Launch] = []
    for app in sorted(device.apps):
        times = tenant.signins.times.get((device.device_id, app))
        if times is None:
            continue
        length = settings.session_length(app)
        busy = -INF
        for start in (session_starts(times, settings.session_gap) - tenant.start).tolist():
            if start < busy:  # a sign-in during the previous session is the same session
                continue
            launches.append(Launch(start, app, min(length, horizon - start)))
            busy = start + length
    launches.sort(key=lambda launch: (launch.start, launch.app))
    management = Management(device.management)
    return DeviceWorld(
        index=index,
        device=device.device_id,
        user=device.user,
        management=management,
        emm_passes_upn=settings.emm_passes_upn and management is Management.EMM,
        groups=settings.groups,
        apps=tuple(sorted(device.apps)),
        vpn_on=True,
        defender_initial=DefenderState.ACTIVATED,
        defender_changes=(),
        redirect_install_delay=INF,
        redirect_activate_delay=INF,
        episodes=_episodes(device, tenant, settings),
        launches=tuple(launches),
        offline=(),
        mdm_passes_upn=settings.mdm_passes_upn,
        reauth_fails=False,
    )


def _episodes(
    device: TenantDevice, tenant: Tenant, settings: ReplaySettings
) -> tuple[Episode, ...]:
    out = []
    for alert in tenant.alerts_by_device().get(device.device_id, ()):
        onset = max(alert.onset - tenant.start, 0.0)
        detected = max(alert.detected - tenant.start, onset)
        end = INF if alert.resolved is None else max(alert.resolved - tenant.start, detected)
        kind = OTHER_AS if alert.kind == OTHER_KIND else alert.kind
        out.append(
            Episode(
                id=alert.alert_id,
                kind=kind,
                severity=_LEVELS[alert.severity],
                onset=onset,
                natural_end=end,
                detect_delay=detected - onset,
                nudge_delay=INF,
                resolve_delay=0.0,
                intune_up_delay=settings.defender_to_intune,
                intune_down_delay=settings.defender_to_intune,
                sdk_detects=kind == "jailbreak" and device.jailbroken,
            )
        )
    out.sort(key=lambda e: (e.onset, e.id))
    return tuple(out)


def replay_scenario(tenant: Tenant, base: Scenario, policies: Sequence[Policy]) -> Scenario:
    """The scenario a replay's manifest records: the base scenario's behaviour, apps and
    signal path, the tenant's fleet size and window, the candidate policies."""
    model = base.model
    data: dict[str, Any] = model.model_dump(mode="python")
    data.update(
        name=f"Replay of {len(tenant.devices)} devices",
        description="Replay of a tenant's exports (condlaunch replay): devices, episodes and "
        "sessions come from the exports, not from [fleet] or [[threats]].",
        horizon=tenant.horizon,
        fleet=(model.fleet or FleetModel())
        .model_copy(update={"users": max(1, len(tenant.users()))})
        .model_dump(mode="python"),
        script=None,
        sweep=None,
        variants=[],
        policy_files=[],
        policies=[],
    )
    replay_model = ScenarioModel.model_validate(data)
    hashes = {k: v for k, v in tenant.stats.sha256.items()}
    return Scenario(replay_model, policies, None, hashes)


ProgressCallback = Callable[[int, int], None]
"""Called with (devices done, devices in all) after each chunk."""


@dataclass(frozen=True)
class ReplayContext:
    """What every chunk of a replay shares (sent to the workers with each task)."""

    scenario: Scenario
    variants: dict[str, tuple[Policy, ...]]
    settings: ReplaySettings
    engine: str = DEFAULT_ENGINE
    keep_log: bool = True


@dataclass(frozen=True)
class ReplayChunk:
    """Whole users' devices with their global ``indices`` (device-id order) and the part
    of the tenant they need — small and picklable, so a worker can build their worlds."""

    indices: tuple[int, ...]
    tenant: Tenant


def replay_chunks(tenant: Tenant, chunk_size: int) -> list[ReplayChunk]:
    """The tenant cut into chunks of about ``chunk_size`` devices that never split a user
    (users are counted per chunk), users in the order of their first device."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    by_user: dict[str, list[int]] = {}
    devices = list(tenant.devices.values())
    for index, device in enumerate(devices):
        by_user.setdefault(device.user, []).append(index)
    chunks: list[ReplayChunk] = []
    pending: list[int] = []
    for indices in by_user.values():
        pending.extend(indices)
        if len(pending) >= chunk_size:
            chunks.append(_chunk(tenant, devices, pending))
            pending = []
    if pending:
        chunks.append(_chunk(tenant, devices, pending))
    return chunks


def _chunk(tenant: Tenant, devices: list[TenantDevice], indices: list[int]) -> ReplayChunk:
    """The part of ``tenant`` that devices ``indices`` need."""
    mine = [devices[i] for i in indices]
    by_device = tenant.alerts_by_device()
    times = tenant.signins.times
    signins = SignIns(
        times={
            (d.device_id, app): times[(d.device_id, app)]
            for d in mine
            for app in d.apps
            if (d.device_id, app) in times
        }
    )
    part = Tenant(
        start=tenant.start,
        end=tenant.end,
        devices={d.device_id: d for d in mine},
        alerts=[a for d in mine for a in by_device.get(d.device_id, ())],
        signins=signins,
        stats=ReadStats(),
        exports=Exports(),
    )
    return ReplayChunk(tuple(indices), part)


def play_replay_chunk(context: ReplayContext, chunk: ReplayChunk) -> ChunkFrames | SweepPart:
    """Build one chunk's worlds and play every variant: its tables when the log is kept,
    else only its additive counts and episode outcomes (module level: any executor can
    ship it)."""
    scenario, tenant = context.scenario, chunk.tenant
    worlds = [
        device_world(index, device, tenant, context.settings)
        for index, device in zip(chunk.indices, tenant.devices.values(), strict=True)
    ]
    connector = ConnectorTimeline((), scenario.model.behavior.partner_unresponsive_days * 1440.0)
    frames = play_chunk(
        worlds,
        context.variants,
        engine_settings(scenario),
        connector,
        tenant.horizon,
        engine=context.engine,
        explain=context.keep_log,
    )
    if context.keep_log:
        return frames
    counts, outcomes = chunk_counts(frames, scenario)
    return SweepPart(0, chunk.indices[0], frames.users, counts, outcomes)


def _play(
    tenant: Tenant,
    context: ReplayContext,
    chunk_size: int,
    workers: int,
    executor: Executor | Any | None,
    progress: ProgressCallback | None,
) -> list[Any]:
    """Every chunk's result (in the order chunks finish)."""
    check_engine(context.engine, also=("metrics",))
    chunks = replay_chunks(tenant, chunk_size)
    runner = as_executor(executor, min(workers, max(1, len(chunks))))
    total, done = len(tenant.devices), 0
    parts = []
    for _, part in run_tasks(runner, play_replay_chunk, context, chunks):
        parts.append(part)
        done += part.users
        if progress is not None:
            progress(min(done, total), total)
    return parts


def replay(
    tenant: Tenant,
    scenario: Scenario,
    variants: dict[str, tuple[Policy, ...]],
    settings: ReplaySettings,
    *,
    chunk_size: int = 500,
    progress: ProgressCallback | None = None,
    engine: str = DEFAULT_ENGINE,
    workers: int = 1,
    executor: Executor | Any | None = None,
) -> RunResult:
    """Play the tenant's world against every variant; the whole decision log.

    Parameters
    ----------
    tenant
        The joined exports (:func:`~simulator.tenant.inventory.load_tenant`).
    scenario
        What the run records (:func:`replay_scenario`); its behaviour parameters apply.
    variants
        Policy sets to compare, by name.
    settings
        How the exports become a world (:class:`ReplaySettings`).
    chunk_size
        Devices built and played at a time, about (a chunk never splits a user's
        devices); results do not depend on it.
    progress
        Called with (devices done, devices) after each chunk.
    engine
        ``"compiled"`` (default), ``"fast"`` or ``"reference"``
        (:data:`~simulator.sim.run.ENGINES`): the same rows either way.
    workers, executor
        Where chunks run (as :func:`~simulator.sim.run.simulate`); results do not depend
        on it.
    """
    context = ReplayContext(scenario, variants, settings, engine, keep_log=True)
    parts = _play(tenant, context, chunk_size, workers, executor, progress)
    return assemble(scenario, 0, variants, parts)


def replay_metrics(
    tenant: Tenant,
    scenario: Scenario,
    variants: dict[str, tuple[Policy, ...]],
    settings: ReplaySettings,
    *,
    chunk_size: int = 500,
    progress: ProgressCallback | None = None,
    engine: str = DEFAULT_ENGINE,
    workers: int = 1,
    executor: Executor | Any | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`replay` without keeping the decision log: the metrics table and the
    episode outcomes (:func:`~simulator.analysis.metrics.run_metrics`' pair), reduced
    chunk by chunk as a sweep reduces its tasks (:func:`~simulator.analysis.sweep.
    chunk_counts`), so memory holds one chunk's log per worker. Parameters as
    :func:`replay`; results do not depend on ``chunk_size``, ``workers`` or ``engine``.
    """
    context = ReplayContext(scenario, variants, settings, engine, keep_log=False)
    parts = _play(tenant, context, chunk_size, workers, executor, progress)
    return combine_parts(parts, list(variants))
