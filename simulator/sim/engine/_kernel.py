"""The compiled engine's inner loop: the fast engine's semantics in Numba, over arrays.

Everything here is ``@njit(cache=True)`` without ``fastmath``, so every float is computed
with the same IEEE operations, in the same order, as in :mod:`simulator.sim.engine.fast`
(and so as in the SimPy reference). The Python side (:mod:`simulator.sim.engine.compiled`)
packs a chunk of device worlds into structure-of-arrays form, compiles each protection's
decisions into a lookup table, calls :func:`run_chunk` and turns the output arrays into
the decision log.

Conventions
-----------
* ``nan`` stands for ``None`` (an app's last check-in; a protection's check-in interval).
* Integer codes are the list positions of the enums of :mod:`simulator.policy.levels`
  (``ThreatLevel`` by value, 1-4); :mod:`~simulator.sim.engine.compiled` asserts them.
* A process (one per app of a device with launches before the horizon, in sorted app
  order) is a state machine: :func:`_step` runs it from where it stopped until it wants to
  wait, and returns the time it wants to wake at; :func:`_play_device` runs a device's
  processes in SimPy's order, by (wake time, scheduling id).
* Rows are written at evaluation time into ``rows_f`` (floats) and ``rows_i`` (integers);
  a granted launch's session end is filled in when the session ends. Row order within a
  device-app is the fast engine's recording order up to rows that differ in trigger, which
  the canonical sort orders anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

INF = np.inf

# enum codes (checked against simulator.policy.levels by the compiled module)
ABSENT, INSTALLED, ACTIVATED = 0, 1, 2
ENABLED, DISABLED, UNRESPONSIVE = 0, 1, 2
NOT_REQUIRED, SUCCEEDED, FAILED = 0, 1, 2
ALLOW, BLOCK, WIPE = 0, 1, 2
R_THREAT, R_MTD, R_PREVIOUS_ALLOW, R_PREVIOUS_DENIAL = 2, 3, 10, 11
SECURED = 1
REASONS = 32
"""A table entry is ``outcome * REASONS + reason``."""
TABLE_SIZE = 3 * 4 * 3 * 2 * 2 * 3 * 5
"""defender × known level × connector × checked in × SDK jailbreak × re-auth × offline bucket."""

# float row fields
F_TIME, F_AGE, F_OFFLINE, F_END = 0, 1, 2, 3
N_F = 4
# integer row fields
I_DEVICE, I_PROCESS, I_TRIGGER, I_OUTCOME, I_REASON, I_KIND, I_KEY = 0, 1, 2, 3, 4, 5, 6
I_KNOWN, I_INTUNE, I_DEFENDER_LEVEL, I_TRUE, I_DEFENDER, I_CONNECTOR, I_FETCHED = (
    7,
    8,
    9,
    10,
    11,
    12,
    13,
)
I_ORIGINAL = 14
N_I = 15
KIND_EVALUATED, KIND_REPEAT, KIND_REUSE = 0, 1, 2

# process phases
PH_LAUNCH, PH_LAUNCH_EVAL, PH_CHECKIN_LOOP, PH_CHECKIN_EVAL, PH_DONE = 0, 1, 2, 3, 4


def table_index(
    defender: int,
    known: int,
    connector: int,
    checked: int,
    jailbroken: int,
    reauth: int,
    bucket: int,
) -> int:
    """Position of a decision in a protection's table (the kernel inlines the same sum)."""
    return (
        (((((defender * 4 + (known - 1)) * 3 + connector) * 2 + checked) * 2 + jailbroken) * 3)
        + reauth
    ) * 5 + bucket


_table_index = njit(cache=True)(table_index)


# -- connector -------------------------------------------------------------------------------
@njit(cache=True)
def _connector_at(cn_state: Any, cn_start: Any, cn_end: Any, partner: float, t: float) -> int:
    for k in range(cn_state.size):
        if cn_start[k] <= t < cn_end[k]:
            if cn_state[k] == UNRESPONSIVE:
                if t - cn_start[k] >= partner:
                    return UNRESPONSIVE
                return ENABLED
            return int(cn_state[k])
    return ENABLED


@njit(cache=True)
def _deliver(cn_start: Any, cn_end: Any, t: float) -> float:
    moved = True
    while moved:
        moved = False
        for k in range(cn_start.size):
            if cn_start[k] <= t < cn_end[k]:
                t = cn_end[k]
                moved = True
    return t


# -- onboarding (ob_f: settled_at, activation, first_redirect; ob_i: initial, settled, n) ----
@njit(cache=True)
def _ob_at(ob_f: Any, ob_i: Any, ob_t: Any, ob_s: Any, t: float) -> int:
    if t >= ob_f[0]:
        return int(ob_i[1])
    state = ob_i[0]
    for k in range(ob_i[2]):
        if ob_t[k] <= t:
            state = ob_s[k]
    return int(state)


@njit(cache=True)
def _ob_settle(ob_f: Any, ob_i: Any, ob_t: Any, ob_s: Any) -> None:
    n = ob_i[2]
    if n > 0:
        ob_f[0] = ob_t[n - 1]
        ob_i[1] = ob_s[n - 1]
    else:
        ob_f[0] = -INF
        ob_i[1] = ob_i[0]
    if ob_i[0] == ACTIVATED:
        ob_f[1] = 0.0
    else:
        ob_f[1] = INF
        for k in range(n):
            if ob_s[k] == ACTIVATED:
                ob_f[1] = ob_t[k]
                break


@njit(cache=True)
def _ob_activated_from(ob_f: Any, ob_i: Any, ob_t: Any, ob_s: Any, t: float) -> float:
    if _ob_at(ob_f, ob_i, ob_t, ob_s, t) == ACTIVATED:
        return t
    for k in range(ob_i[2]):
        if ob_t[k] > t and ob_s[k] == ACTIVATED:
            return float(ob_t[k])
    return INF


@njit(cache=True)
def _ob_insert(ob_i: Any, ob_t: Any, ob_s: Any, at: float, state: int) -> None:
    """Append (at, state) and keep the changes sorted by time, stably (list.sort)."""
    k = ob_i[2]
    while k > 0 and ob_t[k - 1] > at:
        ob_t[k] = ob_t[k - 1]
        ob_s[k] = ob_s[k - 1]
        k -= 1
    ob_t[k] = at
    ob_s[k] = state
    ob_i[2] += 1


@njit(cache=True)
def _ob_redirect(
    ob_f: Any,
    ob_i: Any,
    ob_t: Any,
    ob_s: Any,
    t: float,
    install_delay: float,
    activate_delay: float,
) -> bool:
    if ob_f[2] < INF:
        return False
    ob_f[2] = t
    if _ob_at(ob_f, ob_i, ob_t, ob_s, t) == ACTIVATED:
        return False
    install = t + install_delay
    activate = t + activate_delay
    if install < INF and _ob_at(ob_f, ob_i, ob_t, ob_s, t) == ABSENT and install < activate:
        _ob_insert(ob_i, ob_t, ob_s, install, INSTALLED)
    if activate < INF:
        _ob_insert(ob_i, ob_t, ob_s, activate, ACTIVATED)
    _ob_settle(ob_f, ob_i, ob_t, ob_s)
    return True


# -- timeline --------------------------------------------------------------------------------
@njit(cache=True)
def _tl_refresh(i: int, ep: Any, tl: Any, ob: Any) -> None:
    onset, _sev, _nat, detd, _nud, resd, _up, _down, _sdk = ep
    ends, _nudged, _first, detected, resolved, _dl_arr, _dl_at, _dl_n = tl
    ob_f, ob_i, ob_t, ob_s = ob
    end = ends[i]
    detected_at = INF
    if detd[i] != INF:
        detected_at = _ob_activated_from(ob_f, ob_i, ob_t, ob_s, onset[i]) + detd[i]
        if not detected_at < end:
            detected_at = INF
    detected[i] = detected_at
    resolved[i] = end + resd[i]


@njit(cache=True)
def _tl_order(ep: Any, tl: Any, conn: Any) -> None:
    """Deliveries: each level change with when it reaches Intune (``order_deliveries``)."""
    _onset, _sev, _nat, _detd, _nud, _resd, up, down, _sdk = ep
    _ends, _nudged, _first, detected, resolved, dl_arr, dl_at, dl_n = tl
    cn_start, cn_end = conn[1], conn[2]
    outages = cn_start.size > 0
    n = 0
    ch_at = np.empty(2 * detected.size)
    ch_due = np.empty(2 * detected.size)
    for i in range(detected.size):
        if detected[i] == INF:
            continue
        ch_at[n] = detected[i]
        ch_due[n] = detected[i] + up[i]
        n += 1
        if resolved[i] < INF:
            ch_at[n] = resolved[i]
            ch_due[n] = resolved[i] + down[i]
            n += 1
    for a in range(1, n):  # insertion sort by (at, due): list.sort of tuples
        at, due = ch_at[a], ch_due[a]
        b = a
        while b > 0 and (ch_at[b - 1] > at or (ch_at[b - 1] == at and ch_due[b - 1] > due)):
            ch_at[b] = ch_at[b - 1]
            ch_due[b] = ch_due[b - 1]
            b -= 1
        ch_at[b] = at
        ch_due[b] = due
    latest = -INF
    for k in range(n):
        if ch_due[k] > latest:
            latest = ch_due[k]
        dl_arr[k] = _deliver(cn_start, cn_end, latest) if outages else latest
        dl_at[k] = ch_at[k]
    dl_n[0] = n


@njit(cache=True)
def _defender_level(sev: Any, detected: Any, resolved: Any, t: float) -> int:
    """Highest severity of detected, unresolved alerts at ``t``."""
    level = SECURED
    for i in range(sev.size):
        if detected[i] <= t < resolved[i] and sev[i] > level:
            level = sev[i]
    return int(level)


@njit(cache=True)
def _intune_level(
    sev: Any, detected: Any, resolved: Any, dl_arr: Any, dl_at: Any, n: int, t: float
) -> int:
    """Defender's level as of the latest change that has reached Intune by ``t``."""
    found = False
    latest = 0.0
    for k in range(n):
        if dl_arr[k] > t:
            break
        latest = dl_at[k]
        found = True
    return _defender_level(sev, detected, resolved, latest) if found else SECURED


@njit(cache=True)
def _levels(
    onset: Any,
    sev: Any,
    ends: Any,
    detected: Any,
    resolved: Any,
    dl_arr: Any,
    dl_at: Any,
    n: int,
    t: float,
) -> tuple[int, int, int]:
    """(true, Defender, Intune) levels at ``t``."""
    true = SECURED
    for i in range(onset.size):
        if onset[i] > t:
            break  # episodes are sorted by onset
        if t < ends[i] and sev[i] > true:
            true = sev[i]
    defender = _defender_level(sev, detected, resolved, t)
    return int(true), defender, _intune_level(sev, detected, resolved, dl_arr, dl_at, n, t)


@njit(cache=True)
def _jailbroken(onset: Any, sdk: Any, ends: Any, t: float) -> bool:
    """The Intune SDK's own check sees a jailbreak at ``t``."""
    for i in range(onset.size):  # noqa: SIM110  (a generator is slower in Numba)
        if sdk[i] and onset[i] <= t < ends[i]:
            return True
    return False


@njit(cache=True)
def _tl_nudge(ep: Any, tl: Any, ob: Any, conn: Any, t: float) -> None:
    onset, nud = ep[0], ep[4]
    ends, nudged, first, detected = tl[0], tl[1], tl[2], tl[3]
    changed = False
    for i in range(onset.size):
        if nudged[i] or not (onset[i] <= t < ends[i]):
            continue
        if detected[i] > t:
            continue
        nudged[i] = True
        first[i] = t
        candidate = t + nud[i]
        if candidate < ends[i]:
            ends[i] = candidate
        _tl_refresh(i, ep, tl, ob)
        changed = True
    if changed:
        _tl_order(ep, tl, conn)


@njit(cache=True)
def _tl_refresh_all(ep: Any, tl: Any, ob: Any, conn: Any) -> None:
    for i in range(ep[0].size):
        _tl_refresh(i, ep, tl, ob)
    _tl_order(ep, tl, conn)


# -- offline ---------------------------------------------------------------------------------
@njit(cache=True)
def _online(off_start: Any, off_end: Any, t: float) -> bool:
    if off_start.size == 0:
        return True
    i = np.searchsorted(off_start, t, side="right") - 1
    return not (i >= 0 and off_start[i] <= t < off_end[i])


@njit(cache=True)
def _offline_since(off_start: Any, t: float) -> float:
    i = np.searchsorted(off_start, t, side="right") - 1
    return float(off_start[i]) if i >= 0 else t


# -- evaluation ------------------------------------------------------------------------------
@njit(cache=True)
def _evaluate(
    out: Any,
    dev: Any,
    ep: Any,
    tl: Any,
    ob: Any,
    conn: Any,
    prot: Any,
    row_ids: Any,
    t: float,
    known: int,
    last: float,
    trigger: int,
    fetched: bool,
    kind: int,
    reused: int,
    original: int,
    reauth: int,
) -> int:
    """Decide (or repeat ``reused`` when ``kind`` is not evaluated), apply the denial's
    feedback, write the row; return its table entry (``outcome * REASONS + reason``)."""
    rows_f, rows_i, count = out
    off_start, off_end, install_delay, activate_delay = dev[0], dev[1], dev[2], dev[3]
    device, process, p = row_ids
    ob_f, ob_i, ob_t, ob_s = ob
    cn_state, cn_start, cn_end, partner = conn
    table, block_after, wipe_after = prot[5], prot[4], prot[3]
    checked = not np.isnan(last)
    offline = 0.0
    on = fetched if kind == KIND_EVALUATED else _online(off_start, off_end, t)
    if not on:
        since = last if checked else _offline_since(off_start, t)
        offline = t - since
        if offline < 1e-9:
            offline = 1e-9
    defender = int(ob_i[1]) if t >= ob_f[0] else _ob_at(ob_f, ob_i, ob_t, ob_s, t)
    connector = _connector_at(cn_state, cn_start, cn_end, partner, t) if cn_state.size else ENABLED
    key = -1
    code = reused
    if kind == KIND_EVALUATED:
        jailbroken = _jailbroken(ep[0], ep[8], tl[0], t) if ep[0].size else False
        bucket = 0
        if offline != 0.0:
            bucket = (
                1 + (1 if offline >= block_after[p] else 0) + (2 if offline >= wipe_after[p] else 0)
            )
        key = _table_index(
            defender,
            known,
            connector,
            1 if checked else 0,
            1 if jailbroken else 0,
            reauth if fetched else NOT_REQUIRED,
            bucket,
        )
        code = table[p, key]
        if code < 0:  # an entry the table builder found unreachable: a bug, stop loudly
            count[2] = 1
        outcome, reason = code // REASONS, code % REASONS
        if outcome != ALLOW:
            if reason == R_THREAT:
                _tl_nudge(ep, tl, ob, conn, t)
            elif reason == R_MTD and _ob_redirect(
                ob_f, ob_i, ob_t, ob_s, t, install_delay, activate_delay
            ):
                _tl_refresh_all(ep, tl, ob, conn)
    true, defender_level, intune = SECURED, SECURED, SECURED
    if ep[0].size:
        true, defender_level, intune = _levels(
            ep[0], ep[1], tl[0], tl[3], tl[4], tl[5], tl[6], tl[7][0], t
        )
    n = count[0]
    if n < count[1]:
        rows_f[n, F_TIME] = t
        rows_f[n, F_AGE] = t - last if checked else np.nan
        rows_f[n, F_OFFLINE] = offline
        rows_f[n, F_END] = t
        ints = rows_i[n]
        ints[I_DEVICE] = device
        ints[I_PROCESS] = process
        ints[I_TRIGGER] = trigger
        ints[I_OUTCOME] = code // REASONS
        ints[I_REASON] = code % REASONS
        ints[I_KIND] = kind
        ints[I_KEY] = key
        ints[I_KNOWN] = known
        ints[I_INTUNE] = intune
        ints[I_DEFENDER_LEVEL] = defender_level
        ints[I_TRUE] = true
        ints[I_DEFENDER] = defender
        ints[I_CONNECTOR] = connector
        ints[I_FETCHED] = 1 if fetched else 0
        ints[I_ORIGINAL] = original
    count[0] = n + 1
    return int(code)


# process state: floats and integers per process of the device
S_NOW, S_LAST, S_LAE, S_END, S_CUT, S_NEXT, S_WAKE = 0, 1, 2, 3, 4, 5, 6
S_PHASE, S_LI, S_KNOWN, S_REAUTH, S_PREV_OUT, S_PREV_REASON, S_WIPED, S_PEND, S_EVAL = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
)
S_EID, S_ACTIVE, S_PROT, S_LEND = 9, 10, 11, 12


@njit(cache=True)
def _check_in(
    sf: Any, si: Any, dev: Any, ep: Any, tl: Any, prot: Any, p: int, fails: bool, t: float
) -> bool:
    """A check-in attempt at ``t``: when online, re-authenticate if due, fetch the level."""
    fetched = _online(dev[0], dev[1], t)
    if fetched:
        last = sf[S_LAST]
        gap = 0.0 if np.isnan(last) else t - last
        reauth = NOT_REQUIRED
        if prot[2][p] and gap >= prot[3][p]:
            reauth = FAILED if fails else SUCCEEDED
        si[S_REAUTH] = reauth
        if ep[0].size:
            si[S_KNOWN] = _intune_level(ep[1], tl[3], tl[4], tl[5], tl[6], tl[7][0], t)
        else:
            si[S_KNOWN] = SECURED
        sf[S_LAST] = t
    return fetched


@njit(cache=True)
def _remember(si: Any, code: int) -> bool:
    """Keep a decision as the app's previous one; return whether it denies."""
    outcome = code // REASONS
    si[S_PREV_OUT] = outcome
    si[S_PREV_REASON] = code % REASONS
    if outcome != ALLOW:
        if outcome == WIPE:
            si[S_WIPED] = 1
        return True
    si[S_WIPED] = 0
    return False


@njit(cache=True)
def _launch(
    j: int,
    sf: Any,
    si: Any,
    out: Any,
    dev: Any,
    ep: Any,
    tl: Any,
    ob: Any,
    conn: Any,
    prot: Any,
    lau: Any,
    settings: Any,
    row_ids: Any,
) -> None:
    """A launch at the process's clock: recheck or reuse, then deny or open a session."""
    horizon, retry, fails = settings[0], settings[1], settings[3]
    la_dur = lau[1]
    p = si[S_PROT]
    t = sf[S_NOW]
    recheck, interval = prot[0][p], prot[1][p]
    last = sf[S_LAST]
    prev = si[S_PREV_OUT]
    due = (not np.isnan(interval)) and (not np.isnan(last)) and t - last >= interval
    evaluated = (
        prev < 0 or si[S_WIPED] == 1 or due or t - sf[S_LAE] >= recheck or (retry and prev != ALLOW)
    )
    si[S_EVAL] = 1 if evaluated else 0
    si[S_PEND] = out[2][0]
    if evaluated:
        fetched = _check_in(sf, si, dev, ep, tl, prot, p, fails, t)
        code = _evaluate(
            out,
            dev,
            ep,
            tl,
            ob,
            conn,
            prot,
            row_ids,
            t,
            si[S_KNOWN],
            sf[S_LAST],
            0,
            fetched,
            KIND_EVALUATED,
            0,
            -1,
            si[S_REAUTH],
        )
        deny = _remember(si, code)
    elif prev != ALLOW:
        _evaluate(
            out,
            dev,
            ep,
            tl,
            ob,
            conn,
            prot,
            row_ids,
            t,
            si[S_KNOWN],
            last,
            0,
            False,
            KIND_REPEAT,
            prev * REASONS + R_PREVIOUS_DENIAL,
            si[S_PREV_REASON],
            NOT_REQUIRED,
        )
        deny = True
    else:
        _evaluate(
            out,
            dev,
            ep,
            tl,
            ob,
            conn,
            prot,
            row_ids,
            t,
            si[S_KNOWN],
            last,
            0,
            False,
            KIND_REUSE,
            ALLOW * REASONS + R_PREVIOUS_ALLOW,
            -1,
            NOT_REQUIRED,
        )
        deny = False
    if deny:
        sf[S_LAE] = t
        si[S_LI] += 1
        si[S_PHASE] = PH_LAUNCH
        return
    li = si[S_LI]
    end = t + la_dur[li]
    if horizon < end:
        end = horizon
    sf[S_END] = end
    sf[S_CUT] = end
    if np.isnan(interval):
        _finish(sf, si, out)
        return
    now = sf[S_NOW]
    last = sf[S_LAST]
    next_due = (last if not np.isnan(last) else now) + interval
    soonest = now + (interval if evaluated else 0.0)
    if soonest > next_due:
        next_due = soonest
    sf[S_NEXT] = next_due
    si[S_PHASE] = PH_CHECKIN_LOOP


@njit(cache=True)
def _finish(sf: Any, si: Any, out: Any) -> None:
    """End a granted session at its cut: the launch row gets its session end."""
    sf[S_LAE] = sf[S_CUT]
    pend = si[S_PEND]
    if pend < out[2][1]:
        out[0][pend, F_END] = sf[S_CUT]
    si[S_LI] += 1
    si[S_PHASE] = PH_LAUNCH


@njit(cache=True)
def _checkin_eval(
    sf: Any,
    si: Any,
    out: Any,
    dev: Any,
    ep: Any,
    tl: Any,
    ob: Any,
    conn: Any,
    prot: Any,
    settings: Any,
    row_ids: Any,
) -> None:
    """A check-in during a granted session; a denial cuts the session (mid-session)."""
    midsession, fails = settings[2], settings[3]
    p = si[S_PROT]
    t = sf[S_NOW]
    fetched = _check_in(sf, si, dev, ep, tl, prot, p, fails, t)
    code = _evaluate(
        out,
        dev,
        ep,
        tl,
        ob,
        conn,
        prot,
        row_ids,
        t,
        si[S_KNOWN],
        sf[S_LAST],
        1,
        fetched,
        KIND_EVALUATED,
        0,
        -1,
        si[S_REAUTH],
    )
    deny = _remember(si, code)
    if deny and midsession:
        sf[S_CUT] = t
        _finish(sf, si, out)
        return
    sf[S_NEXT] = t + prot[1][p]
    si[S_PHASE] = PH_CHECKIN_LOOP


@njit(cache=True)
def _step(
    j: int,
    resume: bool,
    clock: float,
    sf: Any,
    si: Any,
    out: Any,
    dev: Any,
    ep: Any,
    tl: Any,
    ob: Any,
    conn: Any,
    prot: Any,
    lau: Any,
    settings: Any,
    row_ids: Any,
) -> float:
    """Run process ``j`` until it waits; return its wake time (nan: it has ended).

    ``resume``: the process was waiting and is woken at ``clock`` (the generator's
    ``now = yield target``); otherwise it starts (SimPy's Initialize).
    """
    if resume:
        sf[S_NOW] = clock
    la_start = lau[0]
    while True:
        phase = si[S_PHASE]
        if phase == PH_LAUNCH:
            li = si[S_LI]
            if li >= si[S_LEND]:
                si[S_PHASE] = PH_DONE
                return np.nan
            si[S_PHASE] = PH_LAUNCH_EVAL
            start = la_start[li]
            if start > sf[S_NOW]:
                return float(start)
        elif phase == PH_LAUNCH_EVAL:
            _launch(j, sf, si, out, dev, ep, tl, ob, conn, prot, lau, settings, row_ids)
        elif phase == PH_CHECKIN_LOOP:
            next_due = sf[S_NEXT]
            if next_due < sf[S_END]:
                si[S_PHASE] = PH_CHECKIN_EVAL
                if next_due > sf[S_NOW]:
                    return float(next_due)
            else:
                _finish(sf, si, out)
        elif phase == PH_CHECKIN_EVAL:
            _checkin_eval(sf, si, out, dev, ep, tl, ob, conn, prot, settings, row_ids)
        else:
            return np.nan


@njit(cache=True)
def _next_process(sf: Any, si: Any, n: int) -> int:
    """The waiting process to wake next: least (wake time, scheduling id); -1: none."""
    best = -1
    for j in range(n):
        if si[j, S_ACTIVE] == 0:
            continue
        if (
            best < 0
            or sf[j, S_WAKE] < sf[best, S_WAKE]
            or (sf[j, S_WAKE] == sf[best, S_WAKE] and si[j, S_EID] < si[best, S_EID])
        ):
            best = j
    return best


@njit(cache=True)
def _play_processes(
    d: int,
    p0: int,
    n: int,
    sf: Any,
    si: Any,
    out: Any,
    dev: Any,
    ep: Any,
    tl: Any,
    ob: Any,
    conn: Any,
    prot: Any,
    lau: Any,
    settings: Any,
) -> None:
    """Run the device's ``n`` processes (global ids ``p0`` …) in SimPy's order."""
    eid = 0
    for j in range(n):  # Initialize: time 0, in creation order
        ids = (d, p0 + j, si[j, S_PROT])
        target = _step(
            j, False, 0.0, sf[j], si[j], out, dev, ep, tl, ob, conn, prot, lau, settings, ids
        )
        if not np.isnan(target):
            sf[j, S_WAKE] = 0.0 + (target - 0.0)
            si[j, S_EID] = eid
            si[j, S_ACTIVE] = 1
            eid += 1
    while True:
        j = _next_process(sf, si, n)
        if j < 0:
            return
        now = sf[j, S_WAKE]
        ids = (d, p0 + j, si[j, S_PROT])
        target = _step(
            j, True, now, sf[j], si[j], out, dev, ep, tl, ob, conn, prot, lau, settings, ids
        )
        if np.isnan(target):
            si[j, S_ACTIVE] = 0
        else:
            sf[j, S_WAKE] = now + (target - now)
            si[j, S_EID] = eid
            eid += 1


@njit(cache=True)
def run_chunk(
    devices: Any,
    changes: Any,
    episodes: Any,
    offline: Any,
    processes: Any,
    launches: Any,
    prot: Any,
    conn: Any,
    flags: Any,
    out: Any,
    ep_out: Any,
    dev_out: Any,
) -> None:
    """Play every device of a chunk under one variant.

    ``devices``: (defender initial, install delay, activate delay, re-auth fails) per
    device. ``changes``, ``episodes``, ``offline``, ``processes``: per-device CSR tables
    (offsets first). ``launches``: per-process CSR (offsets, start, duration). ``out``:
    (row floats, row ints, [rows, capacity, error]); ``ep_out``: per episode (detected,
    end, nudged, first threat denial); ``dev_out``: per device (first redirect,
    activation). ``flags``: (horizon, retry denied at launch, mid-session enforcement).
    """
    initial, install_d, activate_d, fails = devices
    ch_off, ch_t, ch_s = changes
    ep_off = episodes[0]
    off_off, off_start, off_end = offline
    pr_off, pr_prot = processes
    la_off, la_start, la_dur = launches
    horizon, retry, midsession = flags
    lau = (la_start, la_dur)
    ep_det, ep_end, ep_nudged, ep_first = ep_out
    max_changes = 2
    max_proc = 1
    for d in range(initial.size):
        max_changes = max(max_changes, ch_off[d + 1] - ch_off[d] + 2)
        max_proc = max(max_proc, pr_off[d + 1] - pr_off[d])
    ob_t = np.empty(max_changes)
    ob_s = np.empty(max_changes, np.int64)
    ob_f = np.empty(3)
    ob_i = np.empty(3, np.int64)
    sf = np.empty((max_proc, 7))
    si = np.empty((max_proc, 13), np.int64)
    dl_n = np.zeros(1, np.int64)
    for d in range(initial.size):
        c0, c1 = ch_off[d], ch_off[d + 1]
        ob_t[: c1 - c0] = ch_t[c0:c1]
        ob_s[: c1 - c0] = ch_s[c0:c1]
        ob_i[0] = initial[d]
        ob_i[2] = c1 - c0
        ob_f[2] = INF
        _ob_settle(ob_f, ob_i, ob_t, ob_s)
        ob = (ob_f, ob_i, ob_t, ob_s)
        e0, e1 = ep_off[d], ep_off[d + 1]
        ep = (
            episodes[1][e0:e1],
            episodes[2][e0:e1],
            episodes[3][e0:e1],
            episodes[4][e0:e1],
            episodes[5][e0:e1],
            episodes[6][e0:e1],
            episodes[7][e0:e1],
            episodes[8][e0:e1],
            episodes[9][e0:e1],
        )
        ne = e1 - e0
        ends = ep_end[e0:e1]
        ends[:] = episodes[3][e0:e1]
        nudged = ep_nudged[e0:e1]
        nudged[:] = False
        first = ep_first[e0:e1]
        first[:] = INF
        tl = (
            ends,
            nudged,
            first,
            ep_det[e0:e1],
            np.empty(ne),
            np.empty(2 * ne),
            np.empty(2 * ne),
            dl_n,
        )
        _tl_refresh_all(ep, tl, ob, conn)
        o0, o1 = off_off[d], off_off[d + 1]
        dev = (off_start[o0:o1], off_end[o0:o1], install_d[d], activate_d[d])
        settings = (horizon, retry, midsession, fails[d])
        p0, p1 = pr_off[d], pr_off[d + 1]
        for j in range(p1 - p0):
            sf[j, S_NOW] = 0.0
            sf[j, S_LAST] = np.nan
            sf[j, S_LAE] = -INF
            si[j, :] = 0
            si[j, S_PHASE] = PH_LAUNCH
            si[j, S_LI] = la_off[p0 + j]
            si[j, S_LEND] = la_off[p0 + j + 1]
            si[j, S_KNOWN] = SECURED
            si[j, S_REAUTH] = NOT_REQUIRED
            si[j, S_PREV_OUT] = -1
            si[j, S_PROT] = pr_prot[p0 + j]
        _play_processes(d, p0, p1 - p0, sf, si, out, dev, ep, tl, ob, conn, prot, lau, settings)
        dev_out[0][d] = ob_f[2]
        dev_out[1][d] = ob_f[1]
