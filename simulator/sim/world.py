"""The world: every random draw of a run, made before any policy is applied.

A :class:`World` is a scenario turned into per-device timelines — threat episodes,
app sessions, offline periods, Defender onboarding — plus the fleet-wide connector
timeline. Nothing here depends on a policy, so every policy variant of a replication
plays against the same world (common random numbers) and both engines see identical
inputs.

Policy-dependent behaviour is drawn *in advance* as delays: how long after a first
threat-level denial the user remediates (``nudge_delay``), how long after a first
redirect the user installs and activates Defender. The engine applies them.

Streams: each user's draws come from ``SeedSequence(seed, spawn_key=(replication,
user_index, purpose))``, one stream per purpose (devices, threats, sessions, offline,
onboarding). A user's timeline therefore depends on nothing but the seed, the
replication and the user's index — not on chunk size, worker count, or the order in
which users are generated. A chunk makes its users' streams from one vectorised copy of
NumPy's seed hashing (:mod:`simulator.sim._streams`) and draws launches in Numba
(:mod:`simulator.sim._sessions`): the same generators and the same numbers, only cheaper.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Final, NamedTuple, overload

import numpy as np

from simulator.durations import MINUTES_PER_DAY, Minutes
from simulator.policy.levels import ConnectorState, DefenderState, Management, ThreatLevel
from simulator.scenario.load import Scenario
from simulator.scenario.models import WEB_KINDS, Dist, ScenarioModel
from simulator.sim._streams import stream_from_state, stream_states

INF: Final = math.inf
YEAR_MIN: Final = 365.0 * MINUTES_PER_DAY
MONTH_MIN: Final = 30.0 * MINUTES_PER_DAY
ZERO_TOUCH_WINDOW_MIN: Final = 5.0
"""Zero-touch onboarding completes within ~5 minutes [doc]."""

_DEVICES, _THREATS, _SESSIONS, _OFFLINE, _ONBOARDING, _ACCESS = range(6)
"""Purposes of the per-user streams; ``_ACCESS`` (UPN, re-authentication, SDK jailbreak
detection) came last, so adding it left every earlier stream, and so every earlier
world, unchanged."""
_Z90: Final = 1.2815515655446004


@dataclass(frozen=True, slots=True)
class Episode:
    """One threat episode on one device; every time is minutes from the scenario start.

    ``inf`` means "never": an undetected episode has ``detect_delay = inf``.
    """

    id: str
    kind: str
    severity: ThreatLevel
    onset: Minutes
    natural_end: Minutes
    detect_delay: Minutes
    """Onset (or Defender activation, if later) → detection; inf: never detected."""
    nudge_delay: Minutes
    """First threat-level denial → remediation by the user; inf: not nudged."""
    resolve_delay: Minutes
    """Threat end → Defender resolves the alert."""
    intune_up_delay: Minutes
    """Detection → visible to Intune (before connector outages push it later)."""
    intune_down_delay: Minutes
    """Alert resolution → visible to Intune."""
    sdk_detects: bool = False
    """jailbreak: the Intune SDK's own jailbreak check sees it while it lasts."""


@dataclass(frozen=True, slots=True)
class Launch:
    """A session of use of one app: the user launches it at ``start`` for ``duration``."""

    start: Minutes
    app: str
    duration: Minutes


class LaunchTable(Sequence[Launch]):
    """A device's launches as arrays, in (start, app) order; reads as a sequence of
    :class:`Launch` (equal to the tuple of the same launches).

    Random worlds keep launches this way — hundreds per device — so that the compiled
    engine reads the arrays and no Python object is made per launch; the other engines
    iterate it like the tuple a scripted world has.
    """

    __slots__ = ("app_index", "duration", "names", "start")

    def __init__(
        self, start: np.ndarray, app_index: np.ndarray, duration: np.ndarray, names: tuple[str, ...]
    ) -> None:
        self.start = start
        self.app_index = app_index
        self.duration = duration
        self.names = names
        """App names by ``app_index``, sorted."""

    @classmethod
    def sorted(
        cls,
        starts: list[np.ndarray],
        which: list[np.ndarray],
        durations: list[np.ndarray],
        names: tuple[str, ...],
    ) -> LaunchTable:
        """Concatenate per-app arrays and order them by (start, app name)."""
        if not starts:
            empty = np.empty(0)
            return cls(empty, np.empty(0, dtype=np.int64), empty, names)
        start = np.concatenate(starts)
        app_index = np.concatenate(which)
        duration = np.concatenate(durations)
        order = np.lexsort((app_index, start))  # names are sorted: index order = name order
        return cls(start[order], app_index[order], duration[order], names)

    def __len__(self) -> int:
        return int(self.start.size)

    @overload
    def __getitem__(self, i: int) -> Launch: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Launch, ...]: ...

    def __getitem__(self, i: int | slice) -> Launch | tuple[Launch, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        return Launch(
            float(self.start[i]), self.names[int(self.app_index[i])], float(self.duration[i])
        )

    def __iter__(self) -> Iterator[Launch]:
        names = self.names
        for start, index, duration in zip(
            self.start.tolist(), self.app_index.tolist(), self.duration.tolist(), strict=True
        ):
            yield Launch(start, names[index], duration)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"LaunchTable({len(self)} launches of {', '.join(self.names) or 'no app'})"


@dataclass(frozen=True, slots=True)
class DeviceWorld:
    """Everything the engine needs about one device, fixed before any policy applies."""

    index: int
    device: str
    user: str
    management: Management
    emm_passes_upn: bool
    groups: frozenset[str]
    apps: tuple[str, ...]
    vpn_on: bool
    defender_initial: DefenderState
    defender_changes: tuple[tuple[Minutes, DefenderState], ...]
    """Scheduled Defender state changes (zero-touch onboarding, scripted events)."""
    redirect_install_delay: Minutes
    """First redirect → Defender installed; inf: the user never installs."""
    redirect_activate_delay: Minutes
    """First redirect → Defender activated (>= install delay); inf: never."""
    episodes: tuple[Episode, ...]
    launches: Sequence[Launch]
    """In (start, app) order: a :class:`LaunchTable` in random worlds, a tuple in scripted."""
    offline: tuple[tuple[Minutes, Minutes], ...]
    """Sorted, disjoint offline intervals [start, end)."""
    mdm_passes_upn: bool = True
    """mdm: Intune MDM passes IntuneMAMUPN to the apps (they see the device as managed)."""
    reauth_fails: bool = False
    """Back online after the offline wipe period, the user fails to re-authenticate."""


@dataclass(frozen=True, slots=True)
class ConnectorTimeline:
    """Fleet-wide connector intervals that are not simply *enabled*."""

    intervals: tuple[tuple[ConnectorState, Minutes, Minutes], ...]
    partner_unresponsive_min: Minutes

    def state_at(self, t: Minutes) -> ConnectorState:
        """Connector state as the service applies it at ``t``.

        An unresponsive partner only counts as such once it has been unresponsive longer
        than ``partner_unresponsive_days``; before that the service keeps its last data.
        """
        for state, start, end in self.intervals:
            if start <= t < end:
                if state is ConnectorState.UNRESPONSIVE:
                    if t - start >= self.partner_unresponsive_min:
                        return ConnectorState.UNRESPONSIVE
                    return ConnectorState.ENABLED
                return state
        return ConnectorState.ENABLED

    def deliver(self, t: Minutes) -> Minutes:
        """When a level change that would reach Intune at ``t`` actually does.

        Changes cannot flow while the connector is disabled or the partner unresponsive;
        they reach the service when the outage ends — when the connector is enabled again,
        after back-to-back outages (disabled, then unresponsive) too.
        """
        moved = True
        while moved:
            moved = False
            for _state, start, end in self.intervals:
                if start <= t < end:
                    t, moved = end, True
        return t


@dataclass(frozen=True, slots=True)
class World:
    """A scenario's world for one replication: the horizon, the connector, the devices."""

    horizon: Minutes
    connector: ConnectorTimeline
    devices: tuple[DeviceWorld, ...]


def _stream(seed: int, replication: int, user: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(replication, user, purpose))
    )


class _Streams:
    """The per-user streams of one replication: ``streams(user, purpose)`` is
    ``_stream(seed, replication, user, purpose)``. For users ``first`` … ``last - 1`` (a
    chunk) the seed words come from one vectorised hash per purpose
    (:mod:`simulator.sim._streams`) — the same generators, about 7× cheaper to make."""

    __slots__ = ("_states", "_users", "first", "last", "replication", "seed")

    def __init__(self, seed: int, replication: int, first: int = 0, last: int = 0) -> None:
        self.seed, self.replication, self.first, self.last = seed, replication, first, last
        self._users = np.arange(first, last, dtype=np.int64)
        self._states: dict[int, np.ndarray] = {}

    def __call__(self, user: int, purpose: int) -> np.random.Generator:
        if not self.first <= user < self.last:
            return _stream(self.seed, self.replication, user, purpose)
        states = self._states.get(purpose)
        if states is None:
            states = stream_states(self.seed, self.replication, self._users, purpose)
            self._states[purpose] = states
        return stream_from_state(states[user - self.first])


def draw(dist: Dist, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` durations (minutes). Always consumes the same numbers of the stream
    for a given distribution and size, whatever values come out."""
    if dist.dist == "fixed":
        return np.full(size, float(dist.value or 0.0))
    if dist.dist == "never":
        return np.full(size, INF)
    if dist.dist == "exponential":
        return rng.exponential(float(dist.mean or 0.0), size)
    if dist.dist == "uniform":
        return rng.uniform(float(dist.low or 0.0), float(dist.high or 0.0), size)
    median = float(dist.median or 1.0)
    sigma = math.log(float(dist.p90 or median) / median) / _Z90
    return np.asarray(median * np.exp(sigma * rng.standard_normal(size)))


def connector_timeline(model: ScenarioModel) -> ConnectorTimeline:
    """The connector timeline of a scenario (from ``[[connector]]`` or scripted events)."""
    minutes = model.behavior.partner_unresponsive_days * MINUTES_PER_DAY
    intervals: list[tuple[ConnectorState, float, float]] = [
        (ConnectorState(c.state), c.start, c.end) for c in model.connector
    ]
    if model.script is not None:
        events = sorted(
            (
                (e.at, ConnectorState(str(e.state)))
                for e in model.script.events
                if e.type == "connector"
            ),
            key=lambda pair: pair[0],
        )
        for i, (at, state) in enumerate(events):
            end = events[i + 1][0] if i + 1 < len(events) else INF
            if state is not ConnectorState.ENABLED and end > at:
                intervals.append((state, at, end))
    intervals.sort(key=lambda item: item[1])
    return ConnectorTimeline(tuple(intervals), minutes)


def generate_world(scenario: Scenario, replication: int = 0) -> World:
    """The whole world of one replication (all users). See :func:`iter_world_chunks`."""
    devices = tuple(d for chunk in iter_world_chunks(scenario, replication) for d in chunk)
    return World(scenario.model.horizon, connector_timeline(scenario.model), devices)


def iter_world_chunks(
    scenario: Scenario, replication: int = 0, chunk_size: int | None = None
) -> Iterator[list[DeviceWorld]]:
    """Yield the devices of the world in chunks of users (memory bound by the chunk)."""
    model = scenario.model
    if model.script is not None:
        yield _scripted_devices(model)
        return
    for first, last in chunk_bounds(scenario, chunk_size):
        yield world_chunk(scenario, replication, first, last)


def chunk_bounds(scenario: Scenario, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """``[first, last)`` user ranges of the chunks (one chunk for a scripted scenario)."""
    total = n_users(scenario)
    if scenario.model.script is not None:
        return [(0, total)]
    size = chunk_size or scenario.model.chunk_size
    return [(first, min(first + size, total)) for first in range(0, total, size)]


def chunk_count(scenario: Scenario, chunk_size: int | None = None) -> int:
    """``len(chunk_bounds(...))`` without building the list (a huge fleet has many)."""
    if scenario.model.script is not None:
        return 1
    size = chunk_size or scenario.model.chunk_size
    return -(-n_users(scenario) // size)


def world_chunk(scenario: Scenario, replication: int, first: int, last: int) -> list[DeviceWorld]:
    """The devices of users ``first`` … ``last - 1`` (all devices of a scripted scenario)."""
    model = scenario.model
    if model.script is not None:
        return _scripted_devices(model)
    chunk: list[DeviceWorld] = []
    plan = _launch_plan(model)
    streams = _Streams(model.seed, replication, first, last)
    for user in range(first, last):
        chunk.extend(user_devices(model, replication, user, plan, streams))
    return chunk


def n_users(scenario: Scenario) -> int:
    """Number of users (random scenarios) or scripted devices."""
    model = scenario.model
    if model.script is not None:
        return len(model.script.devices)
    assert model.fleet is not None
    return model.fleet.users


_MANAGEMENTS: Final = (Management.MDM, Management.MAM_WE, Management.EMM)


def user_devices(
    model: ScenarioModel,
    replication: int,
    user: int,
    plan: _LaunchPlan | None = None,
    streams: _Streams | None = None,
) -> list[DeviceWorld]:
    """The one or two devices of one user, drawn from that user's own streams (``plan``,
    ``streams``: the chunk's shared launch parameters and streams, made here when not
    given)."""
    streams = streams or _Streams(model.seed, replication)
    fleet = model.fleet
    assert fleet is not None
    rng = streams(user, _DEVICES)
    shares = fleet.management
    u = rng.random(5 + len(fleet.groups) + 2 * len(model.apps))
    cut1, cut2 = shares.mdm, shares.mdm + shares.mam_we
    primary = _MANAGEMENTS[0 if u[0] < cut1 else 1 if u[0] < cut2 else 2]
    passes_upn = bool(u[1] < fleet.emm_passes_upn) and primary is Management.EMM
    has_second = bool(u[2] < fleet.second_device_share)
    vpn = (bool(u[3] < model.onboarding.vpn_on_share), bool(u[4] < model.onboarding.vpn_on_share))
    groups = frozenset(g.name for g, x in zip(fleet.groups, u[5:], strict=False) if x < g.share)
    app_u = u[5 + len(fleet.groups) :]
    user_id = f"u{user:07d}"
    specs = [(0, primary, passes_upn)]
    if has_second:
        specs.append((1, Management.MAM_WE, False))
    devices: list[DeviceWorld] = []
    for k, management, upn in specs:
        apps = tuple(a.name for a, x in zip(model.apps, app_u[k::2], strict=False) if x < a.share)
        purpose_offset = 10 * k
        access_rng = streams(user, _ACCESS + purpose_offset)
        access = access_rng.random(2)
        episodes = _sdk_detection(
            model,
            _episodes(model, vpn[k], streams, user, _THREATS + purpose_offset, k),
            access_rng,
        )
        devices.append(
            DeviceWorld(
                index=2 * user + k,
                device=f"d{user:07d}" + ("-b" if k else ""),
                user=user_id,
                management=management,
                emm_passes_upn=upn,
                groups=groups,
                apps=apps,
                vpn_on=vpn[k],
                **_onboarding(
                    model, management, streams, user, _ONBOARDING + purpose_offset
                )._asdict(),
                episodes=episodes,
                launches=_launches(model, apps, streams, user, _SESSIONS + purpose_offset, plan),
                offline=_offline(model, streams, user, _OFFLINE + purpose_offset),
                mdm_passes_upn=bool(access[0] < fleet.mdm_passes_upn),
                reauth_fails=bool(access[1] < model.offline.reauth_failure_share),
            )
        )
    return devices


class _Onboarding(NamedTuple):
    defender_initial: DefenderState
    defender_changes: tuple[tuple[float, DefenderState], ...]
    redirect_install_delay: float
    redirect_activate_delay: float


def _onboarding(
    model: ScenarioModel, management: Management, streams: _Streams, user: int, purpose: int
) -> _Onboarding:
    rng = streams(user, purpose)
    ob = model.onboarding
    u = rng.random(4)
    install = float(draw(ob.install_delay, rng, 1)[0])
    fix = float(draw(ob.mismatch_fix_delay, rng, 1)[0])
    installs = bool(u[1] < ob.install_after_redirect_share)
    mismatch = bool(u[2] < ob.account_mismatch_share)
    changes: tuple[tuple[float, DefenderState], ...] = ()
    if management is Management.MDM:
        if u[0] < ob.mdm_zero_touch_share:
            initial = DefenderState.ABSENT
            changes = ((float(u[3]) * ZERO_TOUCH_WINDOW_MIN, DefenderState.ACTIVATED),)
        else:
            initial = DefenderState.INSTALLED  # pushed by MDM, needs a manual sign-in
    else:
        initial = DefenderState.ACTIVATED if u[0] < ob.preinstalled_share else DefenderState.ABSENT
    install_delay = install if installs else INF
    activate_delay = install_delay + (fix if mismatch else 0.0)
    return _Onboarding(initial, changes, install_delay, activate_delay)


def _episodes(
    model: ScenarioModel, vpn_on: bool, streams: _Streams, user: int, purpose: int, k: int
) -> tuple[Episode, ...]:
    rng = streams(user, purpose)
    horizon = model.horizon
    episodes: list[Episode] = []
    for t_index, threat in enumerate(model.threats):
        start, end = threat.campaign if threat.campaign is not None else (0.0, horizon)
        end = min(end, horizon)
        window = max(end - start, 0.0)
        count = int(rng.poisson(threat.rate_per_device_year * window / YEAR_MIN))
        if not count:  # the zero-size draws below would consume nothing of the stream
            continue
        onset = np.sort(rng.uniform(start, end, count))
        sev_u = rng.random(count)
        det_u = rng.random(count)
        detect = draw(threat.detection_delay, rng, count)
        natural = draw(threat.natural_duration, rng, count)
        nudge = draw(threat.nudged_remediation, rng, count)
        resolve = draw(threat.alert_resolve_delay, rng, count)
        up = draw(model.signals.defender_to_intune, rng, count)
        down = draw(model.signals.defender_to_intune, rng, count)
        sev = threat.severity
        visible = vpn_on or threat.kind not in WEB_KINDS
        for i in range(count):
            level = (
                ThreatLevel.LOW
                if sev_u[i] < sev.low
                else ThreatLevel.MEDIUM
                if sev_u[i] < sev.low + sev.medium
                else ThreatLevel.HIGH
            )
            detected = visible and det_u[i] < threat.detection_probability
            episodes.append(
                Episode(
                    id=f"{threat.kind}-{k}{t_index}-{i}",
                    kind=threat.kind,
                    severity=level,
                    onset=float(onset[i]),
                    natural_end=float(onset[i] + natural[i]),
                    detect_delay=float(detect[i]) if detected else INF,
                    nudge_delay=float(nudge[i]) if model.behavior.nudged_remediation else INF,
                    resolve_delay=float(resolve[i]),
                    intune_up_delay=float(up[i]),
                    intune_down_delay=float(down[i]),
                )
            )
    episodes.sort(key=lambda e: (e.onset, e.id))
    return tuple(episodes)


def _sdk_detection(
    model: ScenarioModel, episodes: tuple[Episode, ...], rng: np.random.Generator
) -> tuple[Episode, ...]:
    """Mark the jailbreaks the Intune SDK's own check sees (one draw per jailbreak, in
    episode order, from the device's access stream)."""
    probability = {t.kind: t.sdk_detection_probability for t in model.threats}
    out = []
    for episode in episodes:
        if episode.kind == "jailbreak":
            seen = bool(rng.random() < probability.get("jailbreak", 0.0))
            episode = replace(episode, sdk_detects=seen)
        out.append(episode)
    return tuple(out)


def _day_profile(model: ScenarioModel, days: int) -> np.ndarray:
    """Relative activity per day (weekdays 1, weekends ``weekend_factor``); day 0 = Monday."""
    weekday = (np.arange(days) % 7) < 5
    return np.where(weekday, 1.0, model.launches.weekend_factor)


class _LaunchPlan(NamedTuple):
    """What every device's launch draws share: per app (scenario order) the daily
    Poisson rates and the session-length distribution, coded for
    :func:`~simulator.sim._sessions.device_launches`. Made once per chunk."""

    lam_work: np.ndarray
    lam_off: np.ndarray
    work_start: float
    work_len: float
    off_len: float
    length_kind: np.ndarray
    length_a: np.ndarray
    length_b: np.ndarray
    lognormal: tuple[tuple[int, float, float], ...]
    """(app, median, sigma) of each lognormal app: its draws are scaled in NumPy."""


def _launch_plan(model: ScenarioModel) -> _LaunchPlan:
    from simulator.sim._sessions import (  # Numba: loaded when a world is first drawn
        LENGTH_EXPONENTIAL,
        LENGTH_FIXED,
        LENGTH_LOGNORMAL,
        LENGTH_NEVER,
        LENGTH_UNIFORM,
    )

    days = max(1, math.ceil(model.horizon / MINUTES_PER_DAY))
    profile = _day_profile(model, days)
    h0, h1 = model.launches.working_hours
    work_len = (h1 - h0) * 60.0
    off_len = MINUTES_PER_DAY - work_len
    share = model.launches.working_share if off_len > 0 else 1.0
    codes = {
        "fixed": LENGTH_FIXED,
        "never": LENGTH_NEVER,
        "exponential": LENGTH_EXPONENTIAL,
        "uniform": LENGTH_UNIFORM,
    }
    lengths: list[tuple[int, float, float]] = []  # (kind, a, b) per app, as device_launches
    lognormal = []
    for i, app in enumerate(model.apps):
        dist = app.session_length
        kind = codes.get(dist.dist, LENGTH_LOGNORMAL)
        if kind == LENGTH_FIXED:
            lengths.append((kind, float(dist.value or 0.0), 0.0))
        elif kind == LENGTH_EXPONENTIAL:
            lengths.append((kind, float(dist.mean or 0.0), 0.0))
        elif kind == LENGTH_UNIFORM:
            lengths.append((kind, float(dist.low or 0.0), float(dist.high or 0.0)))
        else:  # never, or lognormal: its normal draws are scaled as in draw()
            lengths.append((kind, 0.0, 0.0))
        if kind == LENGTH_LOGNORMAL:
            median = float(dist.median or 1.0)
            lognormal.append((i, median, math.log(float(dist.p90 or median) / median) / _Z90))
    n_apps = len(model.apps)
    lam_work = np.empty((n_apps, days))
    lam_off = np.empty((n_apps, days))
    for i, app in enumerate(model.apps):
        lam_work[i] = app.sessions_per_day * share * profile
        lam_off[i] = app.sessions_per_day * (1 - share) * profile
    return _LaunchPlan(
        lam_work,
        lam_off,
        h0 * 60.0,
        work_len,
        off_len,
        np.array([kind for kind, _, _ in lengths], dtype=np.int64),
        np.array([a for _, a, _ in lengths], dtype=np.float64),
        np.array([b for _, _, b in lengths], dtype=np.float64),
        tuple(lognormal),
    )


def _launches(
    model: ScenarioModel,
    apps: tuple[str, ...],
    streams: _Streams,
    user: int,
    purpose: int,
    plan: _LaunchPlan | None = None,
) -> LaunchTable:
    """The device's sessions: every app draws its launches and lengths (used or not, so
    streams stay aligned); a launch during the app's previous session is that session."""
    from simulator.sim._sessions import device_launches, sessions

    plan = plan or _launch_plan(model)
    rng = streams(user, purpose)
    starts, lengths, offsets = device_launches(
        rng,
        plan.lam_work,
        plan.lam_off,
        plan.work_start,
        plan.work_len,
        plan.off_len,
        plan.length_kind,
        plan.length_a,
        plan.length_b,
    )
    for i, median, sigma in plan.lognormal:
        z = lengths[offsets[i] : offsets[i + 1]]
        lengths[offsets[i] : offsets[i + 1]] = median * np.exp(sigma * z)
    names = tuple(sorted(apps))
    kept_starts: list[np.ndarray] = []
    durations: list[np.ndarray] = []
    which: list[np.ndarray] = []
    horizon = float(model.horizon)
    for i, app in enumerate(model.apps):
        if app.name not in apps:
            continue
        app_starts = starts[offsets[i] : offsets[i + 1]]
        keep, kept_durations = sessions(app_starts, lengths[offsets[i] : offsets[i + 1]], horizon)
        kept_starts.append(app_starts[keep])
        durations.append(kept_durations[keep])
        which.append(np.full(int(keep.sum()), names.index(app.name), dtype=np.int64))
    return LaunchTable.sorted(kept_starts, which, durations, names)


def _offline(
    model: ScenarioModel, streams: _Streams, user: int, purpose: int
) -> tuple[tuple[float, float], ...]:
    rng = streams(user, purpose)
    horizon = model.horizon
    count = int(rng.poisson(model.offline.episodes_per_device_month * horizon / MONTH_MIN))
    starts = np.sort(rng.uniform(0, horizon, count))
    lengths = draw(model.offline.duration, rng, count)
    merged: list[tuple[float, float]] = []
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        end = min(start + length, horizon)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return tuple(merged)


def _scripted_devices(model: ScenarioModel) -> list[DeviceWorld]:
    script = model.script
    assert script is not None
    horizon = model.horizon
    # Scripted timelines are deterministic: a fixed signal delay, or 0 when [signals] is
    # omitted (the scenario model refuses a random one).
    signal = model.signals.defender_to_intune
    fixed_delay = "signals" in model.model_fields_set and signal.value is not None
    delay = float(signal.value) if fixed_delay and signal.value is not None else 0.0
    devices: list[DeviceWorld] = []
    for index, spec in enumerate(script.devices):
        events = sorted(
            (e for e in script.events if e.device == spec.id),
            key=lambda e: e.at,
        )
        remediations = {e.threat: e.at for e in events if e.type == "remediate"}
        episodes = tuple(
            Episode(
                id=str(e.id),
                kind=e.kind,
                severity=ThreatLevel.parse(str(e.severity)),
                onset=e.at,
                natural_end=remediations.get(e.id, INF),
                detect_delay=e.detected_after
                if e.detected_after is not None and (spec.vpn_on or e.kind not in WEB_KINDS)
                else INF,
                nudge_delay=e.remediate_after_denial
                if e.remediate_after_denial is not None and model.behavior.nudged_remediation
                else INF,
                resolve_delay=0.0,
                intune_up_delay=delay,
                intune_down_delay=delay,
                sdk_detects=e.kind == "jailbreak" and e.sdk_detects,
            )
            for e in events
            if e.type == "threat"
        )
        launches = _without_overlaps(
            [
                Launch(e.at, str(e.app), float(e.duration or 0.0))
                for e in events
                if e.type == "launch"
            ]
        )
        offline: list[tuple[float, float]] = []
        went_offline: float | None = None
        for e in events:
            if e.type == "offline" and went_offline is None:
                went_offline = e.at
            elif e.type == "online" and went_offline is not None:
                offline.append((went_offline, e.at))
                went_offline = None
        if went_offline is not None:
            offline.append((went_offline, max(horizon, went_offline) + 1.0))
        changes = tuple((e.at, DefenderState(str(e.state))) for e in events if e.type == "defender")
        apps = tuple(sorted({launch.app for launch in launches}))
        devices.append(
            DeviceWorld(
                index=index,
                device=spec.id,
                user=spec.user or spec.id,
                management=spec.management,
                emm_passes_upn=spec.upn and spec.management is Management.EMM,
                groups=frozenset(spec.groups),
                apps=apps,
                vpn_on=spec.vpn_on,
                defender_initial=spec.defender,
                defender_changes=changes,
                redirect_install_delay=INF,
                redirect_activate_delay=INF,
                episodes=episodes,
                launches=launches,
                offline=tuple(offline),
                mdm_passes_upn=spec.upn or spec.management is not Management.MDM,
                reauth_fails=spec.reauth_fails,
            )
        )
    return devices


def _without_overlaps(launches: list[Launch]) -> tuple[Launch, ...]:
    """Drop launches of an app that start during that app's previous session.

    As in random worlds, relaunching an app that is still in use is the same session.
    """
    kept: list[Launch] = []
    busy_until: dict[str, float] = {}
    for launch in sorted(launches, key=lambda x: (x.start, x.app)):
        if launch.start < busy_until.get(launch.app, -INF):
            continue
        kept.append(launch)
        busy_until[launch.app] = launch.start + launch.duration
    return tuple(kept)
