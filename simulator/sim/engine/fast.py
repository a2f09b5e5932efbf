"""The fast engine: the reference engine's semantics without SimPy, row for row.

:func:`simulate_chunk_fast` returns exactly what
:func:`simulator.sim.engine.reference.simulate_chunk` returns for the same inputs — the same
:class:`~simulator.sim.log.DecisionRow`, :class:`~simulator.sim.log.EpisodeRow` and
:class:`~simulator.sim.log.DeviceRow` values, float for float and string for string — only
faster. The reference stays the definition; ``tests/property/test_engines_agree.py``
checks the two against each other on random and bundled scenarios.

Approach
--------
Devices never interact (the connector timeline they share is read-only), so each device
is played on its own, with its own tiny event loop instead of one SimPy environment:

* **Processes.** As in the reference, one process per protected app walks the app's
  launches and the granted session's check-ins. Here a process is a plain generator that
  yields the time it wants to wake at; a per-device heap orders the wake-ups.
* **Time arithmetic.** SimPy wakes a process at ``now + (target - now)``, which is not
  always ``target`` in floating point; rows carry these times, so the loop computes wake
  times the same way (and every other time with the reference's expression, in the
  reference's order of operations).
* **The start.** The reference starts SimPy's clock at the float ``0.0`` (SimPy's default
  is the int ``0``, which leaked into rows at the very start); the loop does the same.
* **Ties.** SimPy runs events at equal times by priority, then in the order they were
  scheduled (an event id). The heap keys are the same ``(time, priority, id)``: the app
  processes start at time 0 in sorted app order (SimPy's urgent ``Initialize`` events,
  which run before anything else), and every later wake-up gets the next id when it is
  scheduled. Ids only need to increase in scheduling order *within a device*: a device's
  events are ordered among themselves exactly as in the shared SimPy queue. So when two
  apps of a device act at the same instant, shared device state — nudged episode ends,
  the Defender onboarding a redirect schedules — is read and changed in the reference's
  order.
* **Device state.** What the reference recomputes at each evaluation from the episodes
  (detection time, alert resolution, when Intune sees the alert come and go) depends only
  on an episode's current end and on the Defender activation time. It is computed once
  per episode and recomputed whenever a nudge or a redirect changes one of those, with
  the reference's expressions. The level queries then only compare times. Devices without
  episodes, offline periods or connector outages skip that work; past its last scheduled
  change, the Defender state is that change's, without a scan.
* **Feedback.** As in the reference, a denial's nudge or redirect is applied before the
  row's levels are read, so the row of a denial whose nudge ends the episode at once
  (a zero remediation delay) shows the device already secured.
* **Decisions.** Every evaluation's :class:`~simulator.policy.Decision` comes from the
  pure :func:`simulator.policy.decide_effective`, memoized on the whole
  :class:`~simulator.policy.EvaluationContext`: one memo per app and device profile
  (management, UPN, groups — which also fix the merged policy), keyed on the other
  fields (Defender state, known level, its age, connector state, offline minutes).
  Online evaluations fetch first, so age and offline minutes are both 0 and the memo
  almost always hits; offline evaluations key on the exact floats. (Keys equal as
  numbers give equal decisions: the function only compares and formats them.)
* **Rows.** Built directly as tuples; a granted launch's row is completed with its
  session end when the session ends, as the reference does with ``_replace``.

Row order inside the returned lists differs from the reference (device by device rather
than interleaved in time); :func:`simulator.sim.run.assemble` sorts rows canonically
and rows that tie on the sort keys come from the same app process, whose rows are
recorded in the reference's order.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Generator, Sequence
from operator import itemgetter
from typing import Final

from simulator.durations import Minutes
from simulator.policy.behavior import Behavior
from simulator.policy.decide import (
    Decision,
    EvaluationContext,
    Policy,
    decide_effective,
    effective_policy,
)
from simulator.policy.levels import (
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    ThreatLevel,
    max_level_label,
)
from simulator.policy.reuse import (
    launch_rechecks,
    previous_allow,
    recheck_period,
    reused_decision,
)
from simulator.sim.engine.types import ChunkResult, EngineSettings
from simulator.sim.log import DecisionRow, DeviceRow, EpisodeRow
from simulator.sim.world import ConnectorTimeline, DeviceWorld

INF: Final = math.inf
_SECURED: Final = int(ThreatLevel.SECURED)
_LABELS: Final = ("", *(level.label for level in sorted(ThreatLevel)))
"""Level labels by integer value."""
_ALL_SECURED: Final = (_SECURED, _SECURED, _SECURED)
_ENABLED: Final = ConnectorState.ENABLED
_ACTIVATED: Final = DefenderState.ACTIVATED
_VERB: Final = {Outcome.ALLOW: "allowed", Outcome.BLOCK: "blocked", Outcome.WIPE: "wiped"}
_LAUNCH: Final = "launch"
_CHECKIN: Final = "checkin"
_NO_EFFECT, _NUDGE, _REDIRECT = 0, 1, 2
_by_time = itemgetter(0)
_make_row = tuple.__new__

Key = tuple[DefenderState, int, Minutes, ConnectorState, Minutes]
"""What a memoized decision is keyed on: defender, known level, age, connector, offline."""
Head = tuple[object, ...]
"""A decision row without its last two fields (session end, explanation)."""


class _Verdict:
    """A :class:`Decision` with what the loops need from it precomputed."""

    __slots__ = (
        "_repeat",
        "decision",
        "deny",
        "effect",
        "explanation",
        "outcome",
        "reason",
        "wipe",
    )

    def __init__(self, decision: Decision) -> None:
        outcome = decision.outcome
        self.decision = decision
        self.outcome: str = outcome.value
        self.reason: str = decision.reason.value
        self.explanation = decision.explanation
        self.deny = outcome is not Outcome.ALLOW
        self.wipe = outcome is Outcome.WIPE
        self.effect = _NO_EFFECT
        if self.deny:
            if decision.reason is Reason.THREAT_LEVEL_EXCEEDED:
                self.effect = _NUDGE
            elif decision.reason is Reason.MTD_NOT_ACTIVATED:
                self.effect = _REDIRECT
        self._repeat: _Verdict | None = None

    def repeat(self) -> _Verdict:
        """The ``previous_denial`` verdict repeating this denial without a check-in."""
        if self._repeat is None:
            self._repeat = _Verdict(reused_decision(self.decision, None))
        return self._repeat


class _Protection:
    """How one app is protected on the devices of one profile (management, UPN, groups).

    Holds the merged policy's settings and labels, and memoizes
    :func:`~simulator.policy.decide_effective`: the profile and the app fix four fields of
    the :class:`~simulator.policy.EvaluationContext`, the memo key holds the other five,
    so the whole context — everything the pure function is given besides the merged
    policy and the behaviour, both fixed — is the key.
    """

    __slots__ = (
        "_behavior",
        "_context",
        "_eff",
        "action",
        "interval",
        "max_allowed",
        "memo",
        "name",
        "policy",
        "recheck",
        "reuse",
    )

    def __init__(
        self, app: str, world: DeviceWorld, policies: Sequence[Policy], behavior: Behavior
    ) -> None:
        self._context = EvaluationContext(
            app=app,
            management=world.management,
            emm_passes_upn=world.emm_passes_upn,
            groups=world.groups,
        )
        eff = effective_policy(policies, self._context, behavior.multi_policy_merge)
        self._eff = eff
        self._behavior = behavior
        self.memo: dict[Key, _Verdict] = {}
        self.name = app
        self.recheck: Minutes = recheck_period(eff)
        self.interval: Minutes | None = eff.checkin_interval if eff else None
        self.policy = "; ".join(eff.policies) if eff else ""
        self.max_allowed = max_level_label(eff.max_threat_level) if eff else ""
        self.action: str = eff.threat_action.value if eff else ""
        self.reuse = _Verdict(previous_allow(eff))

    def decide(self, key: Key) -> _Verdict:
        """The verdict of ``decide_effective`` for the context completed by ``key``
        (look in :attr:`memo` first: this fills it)."""
        defender, known, age, connector, offline = key
        context = self._context._replace(
            defender=defender,
            known_level=ThreatLevel(known),
            known_level_age_min=age,
            connector=connector,
            offline_min=offline,
        )
        verdict = _Verdict(decide_effective(self._eff, context, self._behavior))
        self.memo[key] = verdict
        return verdict


def _wake_all(processes: list[Generator[Minutes, Minutes, None]]) -> None:
    """Run a device's app processes in SimPy's order: by (time, priority, scheduling id).

    Each process yields the time it wants to wake at and is sent the clock when it does.
    """
    queue: list[tuple[Minutes, int, int, Generator[Minutes, Minutes, None]]] = []
    eid = 0
    for process in processes:  # Initialize events: time 0, urgent, in creation order
        target = next(process, None)
        if target is not None:
            queue.append((0 + (target - 0), 1, eid, process))
            eid += 1
    if len(queue) == 1:  # one process: nothing to interleave
        now, _, _, process = queue[0]
        try:
            while True:
                target = process.send(now)
                now = now + (target - now)
        except StopIteration:
            return
    heapq.heapify(queue)
    pop, push = heapq.heappop, heapq.heappush
    while queue:
        now, _, _, process = pop(queue)
        try:
            target = process.send(now)
        except StopIteration:
            continue
        push(queue, (now + (target - now), 1, eid, process))
        eid += 1


class _ChunkRunner:
    """Plays devices against one policy variant; caches what devices share."""

    def __init__(
        self,
        policies: Sequence[Policy],
        variant: str,
        connector: ConnectorTimeline,
        horizon: Minutes,
        settings: EngineSettings,
    ) -> None:
        self.policies = tuple(policies)
        self.variant = variant
        self.connector = connector
        self.horizon = horizon
        self.settings = settings
        self._protections: dict[tuple[str, Management, bool, frozenset[str]], _Protection] = {}

    def protection(self, world: DeviceWorld, app: str) -> _Protection:
        """The protection of ``app`` on ``world``'s profile (shared by devices alike)."""
        key = (app, world.management, world.emm_passes_upn, world.groups)
        found = self._protections.get(key)
        if found is None:
            found = _Protection(app, world, self.policies, self.settings.behavior)
            self._protections[key] = found
        return found

    # -- one device ----------------------------------------------------------------------
    def run_device(self, world: DeviceWorld, result: ChunkResult) -> None:
        """Play one device; append its decision, episode and device rows to ``result``."""
        horizon = self.horizon
        variant = self.variant
        retry = self.settings.retry_denied_at_launch
        midsession = self.settings.midsession_enforcement
        record = result.decisions.append
        index, device, user = world.index, world.device, world.user
        management = world.management.value
        labels = _LABELS

        # Offline intervals ------------------------------------------------------------
        offline = world.offline
        offline_starts = [start for start, _ in offline]

        def online(t: Minutes) -> bool:
            if not offline_starts:
                return True
            i = bisect_right(offline_starts, t) - 1
            return not (i >= 0 and offline[i][0] <= t < offline[i][1])

        # Connector ----------------------------------------------------------------------
        connector = self.connector
        outages = bool(connector.intervals)
        state_at = connector.state_at
        deliver = connector.deliver

        # Defender onboarding (mutable: a first redirect schedules changes) ---------------
        initial = world.defender_initial
        changes = sorted(world.defender_changes, key=_by_time)
        first_redirect = INF

        def defender_at(t: Minutes) -> DefenderState:
            state = initial
            for at, new in changes:
                if at <= t:
                    state = new
            return state

        def first_activation() -> Minutes:
            if initial is _ACTIVATED:
                return 0.0
            for at, new in changes:
                if new is _ACTIVATED:
                    return at
            return INF

        activation = first_activation()
        # From the last change on, the state is the last change's: no need to scan.
        settled_at, settled = changes[-1] if changes else (-INF, initial)

        # Episodes (mutable: ends move when a denial nudges the user) ---------------------
        episodes = world.episodes
        count = len(episodes)
        ends = [e.natural_end for e in episodes]
        nudged = [False] * count
        first_denial = [INF] * count
        detected = [INF] * count
        # Per episode: onset, severity, end, detected, resolved, Intune up, Intune down.
        spans: list[tuple[Minutes, int, Minutes, Minutes, Minutes, Minutes, Minutes]] = [
            (0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ] * count

        def refresh(i: int) -> None:
            """Recompute episode ``i``'s derived times from its end and the activation."""
            e = episodes[i]
            end = ends[i]
            detected_at = INF
            if e.detect_delay != INF:
                detected_at = max(e.onset, activation) + e.detect_delay
                if not detected_at < end:
                    detected_at = INF
            detected[i] = detected_at
            resolved = end + e.resolve_delay
            up = down = INF
            if detected_at != INF:
                if outages:
                    up = deliver(detected_at + e.intune_up_delay)
                    down = deliver(resolved + e.intune_down_delay)
                else:
                    up = detected_at + e.intune_up_delay
                    down = resolved + e.intune_down_delay
            spans[i] = (e.onset, int(e.severity), end, detected_at, resolved, up, down)

        for i in range(count):
            refresh(i)

        def levels(t: Minutes) -> tuple[int, int, int]:
            """(true, Defender, Intune) levels at ``t``, as ``DeviceState.levels``."""
            true = defender = intune = _SECURED
            for onset, severity, end, detected_at, resolved, up, down in spans:
                if onset > t:
                    break  # episodes are sorted by onset
                if t < end and severity > true:
                    true = severity
                if detected_at > t:
                    continue
                if t < resolved and severity > defender:
                    defender = severity
                if severity > intune and up <= t < down:
                    intune = severity
            return true, defender, intune

        def intune_level(t: Minutes) -> int:
            """The level a check-in fetches, as ``DeviceState.intune_level``."""
            level = _SECURED
            for _onset, severity, _end, detected_at, _resolved, up, down in spans:
                if detected_at == INF:
                    continue
                if up <= t < down and severity > level:
                    level = severity
            return level

        def nudge(t: Minutes) -> None:
            """``DeviceState.nudge``: remediation prompted by a threat-level denial."""
            for i in range(count):
                if nudged[i] or not (episodes[i].onset <= t < ends[i]):
                    continue
                if detected[i] > t:
                    continue
                nudged[i] = True
                first_denial[i] = t
                ends[i] = min(ends[i], t + episodes[i].nudge_delay)
                refresh(i)

        def redirect(t: Minutes) -> None:
            """``DeviceState.redirect``: a first redirect starts Defender onboarding."""
            nonlocal first_redirect, activation, settled_at, settled
            if first_redirect < INF:
                return
            first_redirect = t
            if defender_at(t) is _ACTIVATED:
                return
            install = t + world.redirect_install_delay
            activate = t + world.redirect_activate_delay
            if install < INF and defender_at(t) is DefenderState.ABSENT and install < activate:
                changes.append((install, DefenderState.INSTALLED))
            if activate < INF:
                changes.append((activate, _ACTIVATED))
            changes.sort(key=_by_time)
            if changes:
                settled_at, settled = changes[-1]
            activation = first_activation()
            for i in range(count):
                refresh(i)

        # Evaluation and rows ------------------------------------------------------------
        def evaluate(
            app: _Protection,
            t: Minutes,
            known: int,
            last_checkin: Minutes,
            trigger: str,
            fetched: bool,
        ) -> tuple[_Verdict, Head]:
            """Decide after a check-in attempt (``fetched`` = online at ``t``); apply the
            denial's feedback; the row's head, levels read after the feedback."""
            age = t - last_checkin
            offline_min = 0.0 if fetched else age
            defender = settled if t >= settled_at else defender_at(t)
            conn = state_at(t) if outages else _ENABLED
            key = (defender, known, age, conn, offline_min)
            verdict = app.memo.get(key) or app.decide(key)
            effect = verdict.effect
            if effect:
                if effect == _NUDGE:
                    nudge(t)
                else:
                    redirect(t)
            true, defender_level, intune = levels(t) if count else _ALL_SECURED
            return verdict, (
                t,
                index,
                device,
                user,
                app.name,
                management,
                trigger,
                verdict.outcome,
                verdict.reason,
                variant,
                app.policy,
                app.max_allowed,
                app.action,
                labels[known],
                age,
                labels[intune],
                labels[defender_level],
                labels[true],
                defender._value_,
                conn._value_,
                offline_min,
                fetched,
            )

        def reused(
            app: _Protection, verdict: _Verdict, t: Minutes, known: int, last: Minutes
        ) -> Head:
            """The row's head of a launch that reuses the previous decision (no check-in)."""
            age = t - last
            offline_min = 0.0 if online(t) else age
            defender = settled if t >= settled_at else defender_at(t)
            conn = state_at(t) if outages else _ENABLED
            true, defender_level, intune = levels(t) if count else _ALL_SECURED
            return (
                t,
                index,
                device,
                user,
                app.name,
                management,
                _LAUNCH,
                verdict.outcome,
                verdict.reason,
                variant,
                app.policy,
                app.max_allowed,
                app.action,
                labels[known],
                age,
                labels[intune],
                labels[defender_level],
                labels[true],
                defender._value_,
                conn._value_,
                offline_min,
                False,
            )

        def process(
            app: _Protection, launches: list[tuple[Minutes, Minutes]]
        ) -> Generator[Minutes, Minutes, None]:
            """``DeviceSimulation.app_sessions`` with ``in_session_checkins`` inlined."""
            now: Minutes = 0.0  # as the reference's Environment(initial_time=0.0)
            known = _SECURED
            last_checkin = 0.0
            last_active_end = -INF
            previous: _Verdict | None = None
            wiped = False
            recheck = app.recheck
            interval = app.interval
            for start, duration in launches:
                if start > now:
                    now = yield start
                t = now
                evaluated = launch_rechecks(
                    None if previous is None else previous.decision.outcome,
                    wiped=wiped,
                    inactive_min=t - last_active_end,
                    recheck_after=recheck,
                    retry_denied=retry,
                )
                if evaluated:
                    fetched = online(t)
                    if fetched:
                        known = intune_level(t) if count else _SECURED
                        last_checkin = t
                    verdict, head = evaluate(app, t, known, last_checkin, _LAUNCH, fetched)
                    previous = verdict
                    if verdict.deny:
                        if verdict.wipe:
                            wiped = True
                    else:
                        wiped = False
                else:
                    assert previous is not None
                    verdict = previous.repeat() if previous.deny else app.reuse
                    head = reused(app, verdict, t, known, last_checkin)
                if verdict.deny:
                    last_active_end = t  # the user saw the block screen: the app was used
                    record(_make_row(DecisionRow, (*head, t, verdict.explanation)))
                    continue
                end = min(t + duration, horizon)
                cut = end
                if interval is not None:
                    next_due = max(last_checkin + interval, now + (interval if evaluated else 0.0))
                    while next_due < end:
                        if next_due > now:
                            now = yield next_due
                        t = now
                        fetched = online(t)
                        if fetched:
                            known = intune_level(t) if count else _SECURED
                            last_checkin = t
                        check, check_head = evaluate(app, t, known, last_checkin, _CHECKIN, fetched)
                        previous = check
                        if check.deny:
                            if check.wipe:
                                wiped = True
                        else:
                            wiped = False
                        record(_make_row(DecisionRow, (*check_head, t, check.explanation)))
                        if check.deny and midsession:
                            cut = t
                            break
                        next_due = (last_checkin if fetched else t) + interval
                last_active_end = cut
                record(_make_row(DecisionRow, (*head, cut, verdict.explanation)))

        # Run the app processes ------------------------------------------------------------
        by_app: dict[str, list[tuple[Minutes, Minutes]]] = {}
        for launch in world.launches:
            if launch.start < horizon:
                by_app.setdefault(launch.app, []).append((launch.start, launch.duration))
        # One process per app in sorted order, as the reference creates them (an app
        # without launches before the horizon would end at once, touching nothing).
        _wake_all(
            [
                process(self.protection(world, app_name), by_app[app_name])
                for app_name in sorted(by_app)
            ]
        )

        # End-of-run rows ------------------------------------------------------------------
        for i, e in enumerate(episodes):
            result.episodes.append(
                EpisodeRow(
                    device_index=index,
                    device=device,
                    variant=variant,
                    episode=e.id,
                    kind=e.kind,
                    severity=e.severity.label,
                    onset_min=e.onset,
                    detected_min=detected[i],
                    natural_end_min=e.natural_end,
                    end_min=ends[i],
                    nudged=nudged[i],
                    first_threat_denial_min=first_denial[i],
                )
            )
        sees_managed = EvaluationContext(
            app="", management=world.management, emm_passes_upn=world.emm_passes_upn
        ).app_sees_managed
        result.devices.append(
            DeviceRow(
                device_index=index,
                device=device,
                user=user,
                variant=variant,
                management=management,
                app_sees_managed=sees_managed,
                apps=",".join(world.apps),
                defender_initial=initial.value,
                first_redirect_min=first_redirect,
                activated_min=activation,
            )
        )


def simulate_chunk_fast(
    devices: Sequence[DeviceWorld],
    policies: Sequence[Policy],
    variant: str,
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
) -> ChunkResult:
    """Simulate a chunk of devices; the same rows as the reference ``simulate_chunk``.

    Parameters
    ----------
    devices
        The chunk's device worlds.
    policies
        The policies of one variant (deployed together; they merge per user and app).
    variant
        The variant's name, written on every row.
    connector
        The fleet-wide connector timeline.
    horizon
        End of the run, minutes; sessions are cut there.
    settings
        Engine behaviour parameters.

    Returns
    -------
    ChunkResult
        Decision, episode and device rows, equal to the reference engine's up to the
        order of rows of different devices.
    """
    runner = _ChunkRunner(policies, variant, connector, horizon, settings)
    result = ChunkResult()
    for world in devices:
        runner.run_device(world, result)
    return result
