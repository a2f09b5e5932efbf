"""The reference engine: SimPy processes that play a world against one policy variant.

This is the executable definition of SEMANTICS.md §2-§5. For each device, one process
per protected app (:func:`app_sessions`) walks the app's launches; a launch that
triggers a recheck checks in (when online) and evaluates; a granted session checks in
every ``checkin_interval`` while in use (:func:`in_session_checkins`). Every
evaluation calls the pure :func:`simulator.policy.decide_effective`.

The device's levels are functions of its episodes and of the clock
(:class:`DeviceState`): the *true* level (episodes active), the *Defender* level
(detected, unresolved alerts), the *Intune* level (Defender's changes delivered after the
signal delay, and after connector outages end). Denials feed back into the world only
through the delays drawn in advance: a threat-level denial nudges active, detected
episodes to end ``nudge_delay`` later; a first ``mtd_not_activated`` redirect starts
Defender onboarding after the drawn install/activate delays.

Processes only record rows (:mod:`simulator.sim.log`); metrics come later.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import simpy

from simulator.durations import Minutes
from simulator.policy.decide import (
    Decision,
    EffectivePolicy,
    EvaluationContext,
    Policy,
    decide_effective,
    effective_policy,
    reauthentication,
)
from simulator.policy.levels import (
    DefenderState,
    Outcome,
    Reason,
    Reauth,
    ThreatLevel,
    max_level_label,
)
from simulator.policy.reuse import (
    OFFLINE_FLOOR_MIN,
    checkin_due,
    launch_rechecks,
    recheck_period,
    reused_decision,
)
from simulator.sim.engine.types import ChunkResult, EngineSettings
from simulator.sim.log import DecisionRow, DeviceRow, EpisodeRow, Trigger
from simulator.sim.world import ConnectorTimeline, DeviceWorld, Episode

INF: Final = math.inf
_LEVEL_LABEL: Final = {level: level.label for level in ThreatLevel}
_ALLOW: Final = Outcome.ALLOW.value


@dataclass(slots=True)
class _EpisodeState:
    episode: Episode
    end: Minutes
    nudged: bool = False
    first_denial: Minutes = INF


@dataclass(slots=True)
class DeviceState:
    """What changes on a device during a run: episode ends and Defender onboarding."""

    world: DeviceWorld
    connector: ConnectorTimeline
    episodes: list[_EpisodeState] = field(default_factory=list)
    first_redirect: Minutes = INF
    _changes: list[tuple[Minutes, DefenderState]] = field(default_factory=list)
    _activation: Minutes = INF
    _deliveries: list[tuple[Minutes, Minutes]] | None = None
    """(arrival at Intune, Defender time) of each level change, arrivals non-decreasing;
    ``None``: to be recomputed (episode ends or onboarding changed)."""

    def __post_init__(self) -> None:
        self.episodes = [_EpisodeState(e, e.natural_end) for e in self.world.episodes]
        self._changes = sorted(self.world.defender_changes, key=lambda c: c[0])
        self._activation = self._first_activation()

    # -- Defender onboarding -------------------------------------------------------
    def defender_at(self, t: Minutes) -> DefenderState:
        """Defender state at ``t`` (scheduled changes, then redirect-driven onboarding)."""
        state = self.world.defender_initial
        for at, new in self._changes:
            if at <= t:
                state = new
        return state

    def activation_time(self) -> Minutes:
        """The first time Defender is activated (inf if not yet scheduled)."""
        return self._activation

    def _first_activation(self) -> Minutes:
        if self.world.defender_initial is DefenderState.ACTIVATED:
            return 0.0
        for at, new in self._changes:
            if new is DefenderState.ACTIVATED:
                return at
        return INF

    def redirect(self, t: Minutes) -> None:
        """A first ``mtd_not_activated`` denial sends the user to install Defender."""
        if self.first_redirect < INF:
            return
        self.first_redirect = t
        if self.defender_at(t) is DefenderState.ACTIVATED:
            return
        install = t + self.world.redirect_install_delay
        activate = t + self.world.redirect_activate_delay
        if install < INF and self.defender_at(t) is DefenderState.ABSENT and install < activate:
            self._changes.append((install, DefenderState.INSTALLED))
        if activate < INF:
            self._changes.append((activate, DefenderState.ACTIVATED))
        self._changes.sort(key=lambda c: c[0])
        self._activation = self._first_activation()
        self._deliveries = None

    def activated_from(self, t: Minutes) -> Minutes:
        """The first time at or after ``t`` at which Defender is activated (inf: never)."""
        if self.defender_at(t) is DefenderState.ACTIVATED:
            return t
        for at, new in self._changes:
            if at > t and new is DefenderState.ACTIVATED:
                return at
        return INF

    # -- Levels ------------------------------------------------------------------
    def _detected_at(self, st: _EpisodeState) -> Minutes:
        """Defender detects an episode only once activated: no earlier than the first
        activation at or after its onset, plus the detection delay."""
        episode = st.episode
        if episode.detect_delay == INF:
            return INF
        detected = self.activated_from(episode.onset) + episode.detect_delay
        return detected if detected < st.end else INF

    def deliveries(self) -> list[tuple[Minutes, Minutes]]:
        """Each Defender level change (an alert raised at detection, cleared at
        resolution) with the time it reaches Intune: its own delay, but never before an
        earlier change (the service applies changes in order), and not during an outage."""
        if self._deliveries is None:
            changes: list[tuple[Minutes, Minutes]] = []
            for st in self.episodes:
                detected = self._detected_at(st)
                if detected == INF:
                    continue
                episode = st.episode
                resolved = st.end + episode.resolve_delay
                changes.append((detected, detected + episode.intune_up_delay))
                if resolved < INF:
                    changes.append((resolved, resolved + episode.intune_down_delay))
            changes.sort()
            out: list[tuple[Minutes, Minutes]] = []
            latest = -INF
            for at, due in changes:
                latest = max(latest, due)
                out.append((self.connector.deliver(latest), at))
            self._deliveries = out
        return self._deliveries

    def sdk_jailbroken(self, t: Minutes) -> bool:
        """Whether the Intune SDK's own check sees a jailbreak at ``t``."""
        return any(
            st.episode.sdk_detects and st.episode.onset <= t < st.end for st in self.episodes
        )

    def true_level(self, t: Minutes) -> ThreatLevel:
        """Highest severity among episodes active at ``t``; secured if none."""
        level = ThreatLevel.SECURED
        for st in self.episodes:
            if st.episode.onset <= t < st.end and st.episode.severity > level:
                level = st.episode.severity
        return level

    def defender_level(self, t: Minutes) -> ThreatLevel:
        """Highest severity among detected, unresolved alerts at ``t`` (risk_from_alerts)."""
        level = ThreatLevel.SECURED
        for st in self.episodes:
            detected = self._detected_at(st)
            if detected <= t < st.end + st.episode.resolve_delay:
                level = max(level, st.episode.severity)
        return level

    def intune_level(self, t: Minutes) -> ThreatLevel:
        """The level the service holds at ``t``: Defender's level as of the latest change
        that has reached Intune (:meth:`deliveries`); secured before any."""
        latest: Minutes | None = None
        for arrival, at in self.deliveries():
            if arrival > t:
                break
            latest = at
        return ThreatLevel.SECURED if latest is None else self.defender_level(latest)

    def levels(self, t: Minutes) -> tuple[ThreatLevel, ThreatLevel, ThreatLevel]:
        """(true, Defender, Intune) levels at ``t``."""
        true = ThreatLevel.SECURED
        for st in self.episodes:
            if st.episode.onset > t:
                break  # episodes are sorted by onset
            if t < st.end and st.episode.severity > true:
                true = st.episode.severity
        return true, self.defender_level(t), self.intune_level(t)

    def nudge(self, t: Minutes) -> None:
        """A threat-level denial at ``t`` prompts the user to remediate what Defender shows."""
        for st in self.episodes:
            if st.nudged or not (st.episode.onset <= t < st.end):
                continue
            if self._detected_at(st) > t:
                continue
            st.nudged = True
            st.first_denial = t
            st.end = min(st.end, t + st.episode.nudge_delay)
            self._deliveries = None


@dataclass(slots=True)
class _AppState:
    """What one protected app holds on the device."""

    known_level: ThreatLevel = ThreatLevel.SECURED
    last_checkin: Minutes | None = None
    """The app's last successful check-in; ``None`` before its first (first use needs the
    network)."""
    reauth: Reauth = Reauth.NOT_REQUIRED
    """Re-authentication due at the evaluation after the latest check-in."""
    last_active_end: Minutes = -INF
    last_decision: Decision | None = None
    wiped: bool = False
    in_session_until: Minutes = -INF


class DeviceSimulation:
    """One device's processes and records under one variant."""

    def __init__(
        self,
        env: simpy.Environment,
        world: DeviceWorld,
        policies: Sequence[Policy],
        variant: str,
        connector: ConnectorTimeline,
        settings: EngineSettings,
        horizon: Minutes,
        record: Callable[[DecisionRow], None],
    ) -> None:
        self.env = env
        self.world = world
        self.variant = variant
        self.settings = settings
        self.horizon = horizon
        self.record = record
        self.state = DeviceState(world, connector)
        self.connector = connector
        self._offline_starts = [start for start, _ in world.offline]
        self.apps: dict[str, _AppState] = {}
        self.effective: dict[str, EffectivePolicy | None] = {}
        self._labels: dict[str, tuple[str, str, str]] = {}
        for app in sorted({launch.app for launch in world.launches}):
            context = self._context(app, _AppState(), 0.0)
            self.effective[app] = effective_policy(
                policies, context, settings.behavior.multi_policy_merge
            )
            self.apps[app] = _AppState()
            eff = self.effective[app]
            self._labels[app] = (
                "; ".join(eff.policies) if eff else "",
                max_level_label(eff.max_threat_level) if eff else "",
                eff.threat_action._value_ if eff else "",
            )
            env.process(self.app_sessions(app))

    # -- helpers -----------------------------------------------------------------
    def online(self, t: Minutes) -> bool:
        """False inside one of the device's offline intervals."""
        if not self._offline_starts:
            return True
        i = bisect.bisect_right(self._offline_starts, t) - 1
        return not (i >= 0 and self.world.offline[i][0] <= t < self.world.offline[i][1])

    def offline_since(self, t: Minutes) -> Minutes:
        """Start of the offline interval holding ``t`` (``t`` itself if online)."""
        i = bisect.bisect_right(self._offline_starts, t) - 1
        return self.world.offline[i][0] if i >= 0 else t

    def _context(
        self, app: str, state: _AppState, t: Minutes, fetched: bool = False
    ) -> EvaluationContext:
        last = state.last_checkin
        offline = 0.0
        if not self.online(t):
            since = last if last is not None else self.offline_since(t)
            offline = max(t - since, OFFLINE_FLOOR_MIN)
        return EvaluationContext(
            app=app,
            management=self.world.management,
            emm_passes_upn=self.world.emm_passes_upn,
            groups=self.world.groups,
            defender=self.state.defender_at(t),
            known_level=state.known_level,
            known_level_age_min=None if last is None else t - last,
            connector=self.connector.state_at(t),
            offline_min=offline,
            mdm_passes_upn=self.world.mdm_passes_upn,
            checked_in=last is not None,
            jailbroken=self.state.sdk_jailbroken(t),
            reauth=state.reauth if fetched else Reauth.NOT_REQUIRED,
        )

    def _checkin(self, app: str, state: _AppState, t: Minutes) -> bool:
        """Fetch the service's level when online; returns whether a fetch happened. Past
        the offline wipe period the user must re-authenticate (``state.reauth``)."""
        if not self.online(t):
            return False
        previous = state.last_checkin
        state.reauth = reauthentication(
            0.0 if previous is None else t - previous,
            self.effective[app],
            self.settings.behavior,
            fails=self.world.reauth_fails,
        )
        state.known_level = self.state.intune_level(t)
        state.last_checkin = t
        return True

    def _evaluate(self, app: str, state: _AppState, trigger: Trigger, fetched: bool) -> DecisionRow:
        t = self.env.now
        context = self._context(app, state, t, fetched)
        decision = decide_effective(self.effective[app], context, self.settings.behavior)
        state.last_decision = decision
        outcome = decision.outcome
        if outcome is not Outcome.ALLOW:
            if decision.reason is Reason.THREAT_LEVEL_EXCEEDED:
                self.state.nudge(t)
            elif decision.reason is Reason.MTD_NOT_ACTIVATED:
                self.state.redirect(t)
        if outcome is Outcome.WIPE:
            state.wiped = True
        elif outcome is Outcome.ALLOW:
            state.wiped = False
        return self._row(app, state, trigger, decision, fetched, context)

    def _row(
        self,
        app: str,
        state: _AppState,
        trigger: Trigger,
        decision: Decision,
        fetched: bool,
        context: EvaluationContext,
    ) -> DecisionRow:
        t = self.env.now
        policy, max_allowed, action = self._labels[app]
        true, defender, intune = self.state.levels(t)
        return DecisionRow(
            time_min=t,
            device_index=self.world.index,
            device=self.world.device,
            user=self.world.user,
            app=app,
            management=self.world.management._value_,
            trigger=trigger._value_,
            outcome=decision.outcome._value_,
            reason=decision.reason._value_,
            variant=self.variant,
            policy=policy,
            max_allowed=max_allowed,
            action=action,
            known_level=_LEVEL_LABEL[state.known_level],
            known_level_age_min=math.nan if state.last_checkin is None else t - state.last_checkin,
            intune_level=_LEVEL_LABEL[intune],
            defender_level=_LEVEL_LABEL[defender],
            true_level=_LEVEL_LABEL[true],
            defender_state=context.defender._value_,
            connector=context.connector._value_,
            offline_min=context.offline_min,
            fetched=fetched,
            session_end_min=t,
            explanation=decision.explanation,
        )

    # -- processes ---------------------------------------------------------------
    def app_sessions(self, app: str) -> Generator[simpy.Event, Any, None]:
        """Walk the app's launches: recheck or reuse, then run the granted session."""
        state = self.apps[app]
        eff = self.effective[app]
        recheck_after = recheck_period(eff)
        for launch in (x for x in self.world.launches if x.app == app and x.start < self.horizon):
            if launch.start > self.env.now:
                yield self.env.timeout(launch.start - self.env.now)
            t = self.env.now
            previous = state.last_decision
            evaluated = launch_rechecks(
                None if previous is None else previous.outcome,
                wiped=state.wiped,
                inactive_min=t - state.last_active_end,
                recheck_after=recheck_after,
                retry_denied=self.settings.retry_denied_at_launch,
                checkin_due=checkin_due(eff, state.last_checkin, t),
            )
            if evaluated:
                fetched = self._checkin(app, state, t)
                row = self._evaluate(app, state, Trigger.LAUNCH, fetched)
            else:
                assert previous is not None
                decision = reused_decision(previous, eff)
                context = self._context(app, state, t)
                row = self._row(app, state, Trigger.LAUNCH, decision, False, context)
            if row.outcome != _ALLOW:
                state.last_active_end = t  # the user saw the block screen: the app was used
                self.record(row)
                continue
            end = min(t + launch.duration, self.horizon)
            cut = yield from self.in_session_checkins(app, state, end, evaluated)
            state.last_active_end = cut
            self.record(row._replace(session_end_min=cut))

    def in_session_checkins(
        self, app: str, state: _AppState, end: Minutes, evaluated: bool
    ) -> Generator[simpy.Event, Any, Minutes]:
        """While the app is in use, check in every ``checkin_interval``; returns the session end.

        Offline, a due check-in cannot fetch; the app evaluates what it holds (the offline
        timer applies) and tries again one interval later.
        """
        eff = self.effective[app]
        if eff is None:
            return end
        interval = eff.checkin_interval
        last = state.last_checkin if state.last_checkin is not None else self.env.now
        next_due = max(last + interval, self.env.now + (interval if evaluated else 0.0))
        while next_due < end:
            if next_due > self.env.now:
                yield self.env.timeout(next_due - self.env.now)
            t = self.env.now
            fetched = self._checkin(app, state, t)
            row = self._evaluate(app, state, Trigger.CHECKIN, fetched)
            self.record(row)
            if row.outcome != _ALLOW and self.settings.midsession_enforcement:
                return t
            next_due = t + interval  # fetched: from this check-in; offline: retry later
        # Nothing happens to this app between its last check-in and the session end, and
        # its next launch is later still: no need to wake the process at the end.
        return end

    # -- end-of-run tables -----------------------------------------------------------
    def episode_rows(self) -> list[EpisodeRow]:
        """The device's episodes as they played out."""
        rows = []
        for st in self.state.episodes:
            e = st.episode
            rows.append(
                EpisodeRow(
                    device_index=self.world.index,
                    device=self.world.device,
                    variant=self.variant,
                    episode=e.id,
                    kind=e.kind,
                    severity=e.severity.label,
                    onset_min=e.onset,
                    detected_min=self.state._detected_at(st),
                    natural_end_min=e.natural_end,
                    end_min=st.end,
                    nudged=st.nudged,
                    first_threat_denial_min=st.first_denial,
                )
            )
        return rows

    def device_row(self) -> DeviceRow:
        """The device and its onboarding as it played out."""
        context = self._context("", _AppState(), 0.0)
        return DeviceRow(
            device_index=self.world.index,
            device=self.world.device,
            user=self.world.user,
            variant=self.variant,
            management=self.world.management.value,
            app_sees_managed=context.app_sees_managed,
            apps=",".join(self.world.apps),
            defender_initial=self.world.defender_initial.value,
            first_redirect_min=self.state.first_redirect,
            activated_min=self.state.activation_time(),
        )


def simulate_chunk(
    devices: Sequence[DeviceWorld],
    policies: Sequence[Policy],
    variant: str,
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
) -> ChunkResult:
    """Simulate a chunk of devices in one SimPy environment (devices are independent)."""
    env = simpy.Environment(initial_time=0.0)  # a float clock: time columns stay float
    result = ChunkResult()
    sims = [
        DeviceSimulation(
            env, device, policies, variant, connector, settings, horizon, result.decisions.append
        )
        for device in devices
    ]
    env.run()  # every process ends: launches stop before the horizon, sessions at it
    for sim in sims:
        result.episodes.extend(sim.episode_rows())
        result.devices.append(sim.device_row())
    return result
