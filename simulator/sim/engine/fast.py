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
* **Rows.** An evaluation builds a row's *head* (:data:`Head`: every field but the
  session end and the explanation) as a plain tuple; the row is completed when it is
  recorded — a granted launch's when its session ends, as the reference does with
  ``_replace`` — by :data:`_new_row`, which costs no more than a tuple and is typed, so
  mypy checks every field.

Structure
---------
:func:`simulate_chunk_fast` → :class:`_ChunkRunner` (one per variant: merged policies and
decision memos per profile, :class:`_Protection`) → per device, a :class:`_DeviceRun`
(evaluation and rows, one :meth:`~_DeviceRun.app_sessions` process per app) over the
device's :class:`_Onboarding` (Defender state) and :class:`_Timeline` (episodes and
levels); :func:`_wake_all` runs the processes in SimPy's order.

Row order inside the returned lists differs from the reference (device by device rather
than interleaved in time); :func:`simulator.sim.run.assemble` sorts rows canonically
and rows that tie on the sort keys come from the same app process, whose rows are
recorded in the reference's order.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Generator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Final

from simulator.durations import Minutes
from simulator.policy.behavior import Behavior
from simulator.policy.decide import (
    Decision,
    EvaluationContext,
    Policy,
    decide_effective,
    effective_policy,
    reauthentication,
)
from simulator.policy.levels import (
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    Reauth,
    ThreatLevel,
    max_level_label,
)
from simulator.policy.reuse import (
    OFFLINE_FLOOR_MIN,
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
_LAUNCH: Final = "launch"
_CHECKIN: Final = "checkin"
_NO_EFFECT, _NUDGE, _REDIRECT = 0, 1, 2
_by_time = itemgetter(0)

Key = tuple[DefenderState, int, Minutes | None, ConnectorState, Minutes, bool, bool, Reauth]
"""What a memoized decision is keyed on: defender, known level, age, connector, offline,
checked in, SDK sees a jailbreak, re-authentication."""
_NOT_REQUIRED: Final = Reauth.NOT_REQUIRED
Head = tuple[
    Minutes,  # time_min
    int,  # device_index
    str,  # device
    str,  # user
    str,  # app
    str,  # management
    str,  # trigger
    str,  # outcome
    str,  # reason
    str,  # variant
    str,  # policy
    str,  # max_allowed
    str,  # action
    str,  # known_level
    Minutes,  # known_level_age_min
    str,  # intune_level
    str,  # defender_level
    str,  # true_level
    str,  # defender_state
    str,  # connector
    Minutes,  # offline_min
    bool,  # fetched
]
"""A :class:`~simulator.sim.log.DecisionRow` without its last two fields (session end,
explanation): what is known when the decision is made."""
RowFields = tuple[*Head, Minutes, str]
"""Every field of a :class:`~simulator.sim.log.DecisionRow`, in order: a head, the session
end and the explanation."""

_new_row: Final[Callable[[type[DecisionRow], RowFields], DecisionRow]] = tuple.__new__
"""``DecisionRow(*fields)`` at the cost of a tuple: the NamedTuple's own constructor goes
through a generated Python ``__new__`` of 24 parameters, a large part of this loop's
time per row. Typed, so mypy checks every row's fields (against :data:`RowFields`, which
:func:`_fields_agree` checks against ``DecisionRow``)."""

if TYPE_CHECKING:

    def _fields_agree(fields: RowFields, row: DecisionRow) -> tuple[DecisionRow, RowFields]:
        """Never called: makes mypy check that :data:`RowFields` and
        :class:`~simulator.sim.log.DecisionRow` have the same fields, type for type."""
        return DecisionRow(*fields), row


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
        """Precompute the flags and labels of ``decision``."""
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
        """Merge the policies that apply to ``app`` on ``world``'s profile."""
        self._context = EvaluationContext(
            app=app,
            management=world.management,
            emm_passes_upn=world.emm_passes_upn,
            groups=world.groups,
            mdm_passes_upn=world.mdm_passes_upn,
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
        defender, known, age, connector, offline, checked_in, jailbroken, reauth = key
        context = self._context._replace(
            defender=defender,
            known_level=ThreatLevel(known),
            known_level_age_min=age,
            connector=connector,
            offline_min=offline,
            checked_in=checked_in,
            jailbroken=jailbroken,
            reauth=reauth,
        )
        verdict = _Verdict(decide_effective(self._eff, context, self._behavior))
        self.memo[key] = verdict
        return verdict

    def reauth(self, gap: Minutes, fails: bool) -> Reauth:
        """Re-authentication at a check-in ``gap`` minutes after the previous one."""
        return reauthentication(gap, self._eff, self._behavior, fails=fails)


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


class _Onboarding:
    """A device's Defender state over time, as ``DeviceState.defender_at``.

    Mutable: the device's first redirect (a denial for Defender not activated) schedules
    the install and activation it prompts. The last scheduled change and the first
    activation are cached: from the last change on, the state needs no scan.
    """

    __slots__ = (
        "_world",
        "activation",
        "changes",
        "first_redirect",
        "initial",
        "settled",
        "settled_at",
    )

    def __init__(self, world: DeviceWorld) -> None:
        """The onboarding ``world`` starts with: its initial state and scheduled changes."""
        self._world = world
        self.initial = world.defender_initial
        self.changes = sorted(world.defender_changes, key=_by_time)
        self.first_redirect: Minutes = INF
        self.settled_at: Minutes = -INF
        self.settled = self.initial
        self.activation: Minutes = INF
        self._settle()

    def _settle(self) -> None:
        """Cache the last change (time and state) and the first activation time."""
        changes = self.changes
        self.settled_at, self.settled = changes[-1] if changes else (-INF, self.initial)
        if self.initial is _ACTIVATED:
            self.activation = 0.0
        else:
            self.activation = next((at for at, new in changes if new is _ACTIVATED), INF)

    def at(self, t: Minutes) -> DefenderState:
        """The Defender state at ``t``, as ``DeviceState.defender_at``."""
        if t >= self.settled_at:
            return self.settled
        state = self.initial
        for at, new in self.changes:
            if at <= t:
                state = new
        return state

    def activated_from(self, t: Minutes) -> Minutes:
        """``DeviceState.activated_from``: the first time at or after ``t`` at which
        Defender is activated (inf: never)."""
        if self.at(t) is _ACTIVATED:
            return t
        for at, new in self.changes:
            if at > t and new is _ACTIVATED:
                return at
        return INF

    def redirect(self, t: Minutes) -> bool:
        """``DeviceState.redirect``: a first redirect starts Defender onboarding.

        Returns whether onboarding was (re)scheduled — then the activation time may have
        moved, and with it the episodes' detection.
        """
        if self.first_redirect < INF:
            return False
        self.first_redirect = t
        if self.at(t) is _ACTIVATED:
            return False
        install = t + self._world.redirect_install_delay
        activate = t + self._world.redirect_activate_delay
        if install < INF and self.at(t) is DefenderState.ABSENT and install < activate:
            self.changes.append((install, DefenderState.INSTALLED))
        if activate < INF:
            self.changes.append((activate, _ACTIVATED))
        self.changes.sort(key=_by_time)
        self._settle()
        return True


class _Timeline:
    """A device's threat episodes and the levels they give over time (``DeviceState``).

    What the reference recomputes at each evaluation — detection, alert resolution, when
    Intune sees the alert come and go — depends only on an episode's current end and on
    the Defender activation time, so it is kept per episode in :attr:`spans` and
    recomputed (:meth:`refresh`) when a nudge or a redirect changes one of them. The level
    queries then only compare times. Mutable: a nudge moves episode ends.
    """

    __slots__ = (
        "_deliver",
        "_outages",
        "count",
        "deliveries",
        "detected",
        "ends",
        "episodes",
        "first_denial",
        "jailbreaks",
        "nudged",
        "spans",
    )

    def __init__(
        self, world: DeviceWorld, connector: ConnectorTimeline, onboarding: _Onboarding
    ) -> None:
        """The episodes of ``world`` at their natural ends, under ``onboarding``."""
        self.episodes = world.episodes
        count = self.count = len(self.episodes)
        self.ends = [e.natural_end for e in self.episodes]
        self.nudged = [False] * count
        self.first_denial = [INF] * count
        self.detected = [INF] * count
        self.spans: list[tuple[Minutes, int, Minutes, Minutes, Minutes, Minutes, Minutes]] = [
            (0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ] * count
        """Per episode: onset, severity, end, detected, resolved, Intune up, Intune down."""
        self._outages = bool(connector.intervals)
        self._deliver = connector.deliver
        self.deliveries: list[tuple[Minutes, Minutes]] = []
        self.jailbreaks = [i for i, e in enumerate(self.episodes) if e.sdk_detects]
        self.refresh_all(onboarding)

    def refresh(self, i: int, onboarding: _Onboarding) -> None:
        """Recompute episode ``i``'s derived times from its end and the onboarding (then
        call :meth:`order_deliveries`)."""
        e = self.episodes[i]
        end = self.ends[i]
        detected_at = INF
        if e.detect_delay != INF:
            detected_at = onboarding.activated_from(e.onset) + e.detect_delay
            if not detected_at < end:
                detected_at = INF
        self.detected[i] = detected_at
        resolved = end + e.resolve_delay
        self.spans[i] = (e.onset, int(e.severity), end, detected_at, resolved, 0.0, 0.0)

    def refresh_all(self, onboarding: _Onboarding) -> None:
        """Recompute every episode's derived times (the activation time moved)."""
        for i in range(self.count):
            self.refresh(i, onboarding)
        self.order_deliveries()

    def order_deliveries(self) -> None:
        """``DeviceState.deliveries``: each level change with the time it reaches Intune,
        never before an earlier change, and not during an outage."""
        changes: list[tuple[Minutes, Minutes]] = []
        for i, (_onset, _sev, _end, detected_at, resolved, _u, _d) in enumerate(self.spans):
            if detected_at == INF:
                continue
            e = self.episodes[i]
            changes.append((detected_at, detected_at + e.intune_up_delay))
            if resolved < INF:
                changes.append((resolved, resolved + e.intune_down_delay))
        changes.sort()
        out: list[tuple[Minutes, Minutes]] = []
        latest = -INF
        deliver, outages = self._deliver, self._outages
        for at, due in changes:
            if due > latest:
                latest = due
            out.append((deliver(latest) if outages else latest, at))
        self.deliveries = out

    def defender_level(self, t: Minutes) -> int:
        """``DeviceState.defender_level``: highest severity of detected, unresolved alerts."""
        level = _SECURED
        for _onset, severity, _end, detected_at, resolved, _u, _d in self.spans:
            if detected_at <= t < resolved and severity > level:
                level = severity
        return level

    def sdk_jailbroken(self, t: Minutes) -> bool:
        """``DeviceState.sdk_jailbroken``: the SDK's own check sees a jailbreak at ``t``."""
        episodes, ends = self.episodes, self.ends
        return any(episodes[i].onset <= t < ends[i] for i in self.jailbreaks)

    def levels(self, t: Minutes) -> tuple[int, int, int]:
        """(true, Defender, Intune) levels at ``t``, as ``DeviceState.levels``."""
        true = _SECURED
        for onset, severity, end, _det, _res, _u, _d in self.spans:
            if onset > t:
                break  # episodes are sorted by onset
            if t < end and severity > true:
                true = severity
        return true, self.defender_level(t), self.intune_level(t)

    def intune_level(self, t: Minutes) -> int:
        """The level a check-in fetches, as ``DeviceState.intune_level``: Defender's level
        as of the latest change that has reached Intune."""
        latest: Minutes | None = None
        for arrival, at in self.deliveries:
            if arrival > t:
                break
            latest = at
        return _SECURED if latest is None else self.defender_level(latest)

    def nudge(self, t: Minutes, onboarding: _Onboarding) -> None:
        """``DeviceState.nudge``: remediation prompted by a threat-level denial at ``t``."""
        ends, episodes, nudged, detected = self.ends, self.episodes, self.nudged, self.detected
        changed = False
        for i in range(self.count):
            if nudged[i] or not (episodes[i].onset <= t < ends[i]):
                continue
            if detected[i] > t:
                continue
            nudged[i] = True
            self.first_denial[i] = t
            ends[i] = min(ends[i], t + episodes[i].nudge_delay)
            self.refresh(i, onboarding)
            changed = True
        if changed:
            self.order_deliveries()

    def rows(self, world: DeviceWorld, variant: str) -> list[EpisodeRow]:
        """The device's episodes as they played out (one row each)."""
        return [
            EpisodeRow(
                device_index=world.index,
                device=world.device,
                variant=variant,
                episode=e.id,
                kind=e.kind,
                severity=e.severity.label,
                onset_min=e.onset,
                detected_min=self.detected[i],
                natural_end_min=e.natural_end,
                end_min=self.ends[i],
                nudged=self.nudged[i],
                first_threat_denial_min=self.first_denial[i],
            )
            for i, e in enumerate(self.episodes)
        ]


class _DeviceRun:
    """One device played against one variant: evaluations, rows and the app processes.

    Holds what the device's apps share — its Defender onboarding, its episode timeline,
    its offline periods — and what every row repeats (device, user, variant).
    """

    __slots__ = (
        "_offline",
        "_offline_starts",
        "_outages",
        "_state_at",
        "device",
        "horizon",
        "index",
        "management",
        "midsession",
        "onboarding",
        "record",
        "retry",
        "timeline",
        "user",
        "variant",
        "world",
    )

    def __init__(
        self,
        world: DeviceWorld,
        runner: _ChunkRunner,
        record: Callable[[DecisionRow], None],
    ) -> None:
        """Prepare ``world`` under ``runner``'s variant; rows go to ``record``."""
        self.world = world
        self.record = record
        self.horizon = runner.horizon
        self.variant = runner.variant
        self.retry = runner.settings.retry_denied_at_launch
        self.midsession = runner.settings.midsession_enforcement
        self.index, self.device, self.user = world.index, world.device, world.user
        self.management: str = world.management.value
        self._offline = world.offline
        self._offline_starts = [start for start, _ in world.offline]
        self._outages = bool(runner.connector.intervals)
        self._state_at = runner.connector.state_at
        self.onboarding = _Onboarding(world)
        self.timeline = _Timeline(world, runner.connector, self.onboarding)

    def online(self, t: Minutes) -> bool:
        """False inside one of the device's offline intervals."""
        starts = self._offline_starts
        if not starts:
            return True
        i = bisect_right(starts, t) - 1
        return not (i >= 0 and self._offline[i][0] <= t < self._offline[i][1])

    def offline_since(self, t: Minutes) -> Minutes:
        """Start of the offline interval holding ``t``."""
        i = bisect_right(self._offline_starts, t) - 1
        return self._offline[i][0] if i >= 0 else t

    def evaluate(
        self,
        app: _Protection,
        t: Minutes,
        known: int,
        last_checkin: Minutes | None,
        trigger: str,
        fetched: bool,
        reuse: _Verdict | None = None,
        reauth: Reauth = _NOT_REQUIRED,
    ) -> tuple[_Verdict, Head]:
        """Decide after a check-in attempt (``fetched`` = online at ``t``) and apply the
        denial's feedback — or, given ``reuse``, repeat that decision at a launch without
        a check-in; return the verdict and the row's head, levels read after the feedback.
        """
        age = None if last_checkin is None else t - last_checkin
        offline_min = 0.0
        if not (fetched if reuse is None else self.online(t)):
            since = last_checkin if last_checkin is not None else self.offline_since(t)
            offline_min = t - since
            if offline_min < OFFLINE_FLOOR_MIN:
                offline_min = OFFLINE_FLOOR_MIN
        onboarding = self.onboarding
        defender = onboarding.settled if t >= onboarding.settled_at else onboarding.at(t)
        conn = self._state_at(t) if self._outages else _ENABLED
        timeline = self.timeline
        if reuse is None:
            jailbroken = bool(timeline.jailbreaks) and timeline.sdk_jailbroken(t)
            key = (
                defender,
                known,
                age,
                conn,
                offline_min,
                last_checkin is not None,
                jailbroken,
                reauth if fetched else _NOT_REQUIRED,
            )
            verdict = app.memo.get(key) or app.decide(key)
            effect = verdict.effect
            if effect:
                if effect == _NUDGE:
                    timeline.nudge(t, onboarding)
                elif onboarding.redirect(t):
                    timeline.refresh_all(onboarding)
        else:
            verdict = reuse
        true, defender_level, intune = timeline.levels(t) if timeline.count else _ALL_SECURED
        return verdict, (
            t,
            self.index,
            self.device,
            self.user,
            app.name,
            self.management,
            trigger,
            verdict.outcome,
            verdict.reason,
            self.variant,
            app.policy,
            app.max_allowed,
            app.action,
            _LABELS[known],
            math.nan if age is None else age,
            _LABELS[intune],
            _LABELS[defender_level],
            _LABELS[true],
            defender._value_,
            conn._value_,
            offline_min,
            fetched,
        )

    def app_sessions(
        self, app: _Protection, launches: list[tuple[Minutes, Minutes]]
    ) -> Generator[Minutes, Minutes, None]:
        """``DeviceSimulation.app_sessions`` with ``in_session_checkins`` inlined.

        Walks the app's launches (start, duration): a launch rechecks (checks in when
        online, evaluates) or reuses the previous decision; a granted session checks in
        every ``checkin_interval`` until it ends, or until a denial cuts it. Yields the
        time it wants to wake at (:func:`_wake_all` sends the clock back) and records a
        row per evaluation and per reused launch.
        """
        online, evaluate, record = self.online, self.evaluate, self.record
        intune_level, threatened = self.timeline.intune_level, self.timeline.count > 0
        horizon, retry, midsession = self.horizon, self.retry, self.midsession
        now: Minutes = 0.0  # as the reference's Environment(initial_time=0.0)
        known = _SECURED
        last_checkin: Minutes | None = None
        reauth = _NOT_REQUIRED
        fails = self.world.reauth_fails
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
                checkin_due=interval is not None
                and last_checkin is not None
                and t - last_checkin >= interval,
            )
            if evaluated:
                fetched = online(t)
                if fetched:
                    reauth = app.reauth(0.0 if last_checkin is None else t - last_checkin, fails)
                    known = intune_level(t) if threatened else _SECURED
                    last_checkin = t
                verdict, head = evaluate(
                    app, t, known, last_checkin, _LAUNCH, fetched, reauth=reauth
                )
                previous = verdict
                if verdict.deny:
                    if verdict.wipe:
                        wiped = True
                else:
                    wiped = False
            else:
                assert previous is not None
                repeated = previous.repeat() if previous.deny else app.reuse
                verdict, head = evaluate(app, t, known, last_checkin, _LAUNCH, False, repeated)
            if verdict.deny:
                last_active_end = t  # the user saw the block screen: the app was used
                record(_new_row(DecisionRow, (*head, t, verdict.explanation)))
                continue
            # min() and max() spelled out (the same values, float for float): this runs
            # at every granted launch, where the builtins' call overhead shows.
            end = t + duration
            if horizon < end:
                end = horizon  # the session is cut at the horizon
            cut = end
            if interval is not None:
                next_due = (last_checkin if last_checkin is not None else now) + interval
                soonest = now + (interval if evaluated else 0.0)
                if soonest > next_due:
                    next_due = soonest
                while next_due < end:
                    if next_due > now:
                        now = yield next_due
                    t = now
                    fetched = online(t)
                    if fetched:
                        gap = 0.0 if last_checkin is None else t - last_checkin
                        reauth = app.reauth(gap, fails)
                        known = intune_level(t) if threatened else _SECURED
                        last_checkin = t
                    check, check_head = evaluate(
                        app, t, known, last_checkin, _CHECKIN, fetched, reauth=reauth
                    )
                    previous = check
                    if check.deny:
                        if check.wipe:
                            wiped = True
                    else:
                        wiped = False
                    record(_new_row(DecisionRow, (*check_head, t, check.explanation)))
                    if check.deny and midsession:
                        cut = t
                        break
                    next_due = t + interval  # fetched: from this check-in; else retry later
            last_active_end = cut
            record(_new_row(DecisionRow, (*head, cut, verdict.explanation)))

    def device_row(self) -> DeviceRow:
        """The device and its Defender onboarding as they played out."""
        world = self.world
        sees_managed = EvaluationContext(
            app="",
            management=world.management,
            emm_passes_upn=world.emm_passes_upn,
            mdm_passes_upn=world.mdm_passes_upn,
        ).app_sees_managed
        return DeviceRow(
            device_index=self.index,
            device=self.device,
            user=self.user,
            variant=self.variant,
            management=self.management,
            app_sees_managed=sees_managed,
            apps=",".join(world.apps),
            defender_initial=world.defender_initial.value,
            first_redirect_min=self.onboarding.first_redirect,
            activated_min=self.onboarding.activation,
        )


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
        """A runner of ``policies`` (variant ``variant``), with no profiles cached yet."""
        self.policies = tuple(policies)
        self.variant = variant
        self.connector = connector
        self.horizon = horizon
        self.settings = settings
        self._protections: dict[
            tuple[str, Management, bool, bool, frozenset[str]], _Protection
        ] = {}

    def protection(self, world: DeviceWorld, app: str) -> _Protection:
        """The protection of ``app`` on ``world``'s profile (shared by devices alike)."""
        key = (app, world.management, world.emm_passes_upn, world.mdm_passes_upn, world.groups)
        found = self._protections.get(key)
        if found is None:
            found = _Protection(app, world, self.policies, self.settings.behavior)
            self._protections[key] = found
        return found

    def run_device(self, world: DeviceWorld, result: ChunkResult) -> None:
        """Play one device; append its decision, episode and device rows to ``result``."""
        run = _DeviceRun(world, self, result.decisions.append)
        by_app: dict[str, list[tuple[Minutes, Minutes]]] = {}
        for launch in world.launches:
            if launch.start < self.horizon:
                by_app.setdefault(launch.app, []).append((launch.start, launch.duration))
        # One process per app in sorted order, as the reference creates them (an app
        # without launches before the horizon would end at once, touching nothing).
        _wake_all(
            [
                run.app_sessions(self.protection(world, name), by_app[name])
                for name in sorted(by_app)
            ]
        )
        result.episodes.extend(run.timeline.rows(world, self.variant))
        result.devices.append(run.device_row())


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
