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
* Few arrays, wide rows: a device's episodes are one table (``EP``: a row per episode),
  their state another (``TL``), the onboarding and per-device scalars one vector (``OB``).
  Each array handed to a function that is not inlined is copied as a struct and
  reference-counted; passing 15 arrays instead of 45 made the loop 2.5× faster
  (measured, with identical outputs).
* Rows are written at evaluation time into ``rows_f`` (floats) and ``rows_i`` (integers);
  a granted launch's session end is filled in when the session ends. Row order within a
  device-app is the fast engine's recording order up to rows that differ in trigger, which
  the canonical sort orders anyway.
* First-compile time (a fresh install's first run; later runs load the cache) is kept
  down by two habits, measured with Numba's compile events: constants passed to a
  jitted callee are wrapped (``np.int64(0)``, ``np.bool_(False)``), because Numba
  compiles a callee once more for every distinct literal argument (``_evaluate`` was
  compiled four times, ``_step`` and ``_recheck`` twice); and no array-to-array slice
  assignment, whose shape-mismatch error path alone took 2.6 s to compile. Together:
  19.2 s → 13.4 s cold, same machine and minutes, identical outputs.
* ``inline="always"`` (Numba inlines the function's IR at each call site) is on the
  launch and check-in steps and the helpers they call a few times each per decision (the
  check-in, the re-check, the previous-decision bookkeeping, the session's end, the level,
  offline and connector look-ups), and not on :func:`_evaluate` (four call sites: inlining it costs
  more compile than it gains) nor the process loop. Measured alternately on the same
  300-user world: the kernel 1.35× faster (0.236–0.276 s → 0.176 s for 480k rows), the
  first compile about 0.4 s longer (12.0–12.9 s → 12.6–13.2 s); inlining everything was
  1.4× faster but took 18 s to compile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

Code = Any
"""An integer code or flag passed to a jitted callee: a Python value or, where a call
site would otherwise pass a literal constant, a NumPy scalar (see the module notes)."""

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

# episode columns (EP, per device: a view of the chunk's table)
E_ONSET, E_SEV, E_NAT, E_DETD, E_NUD, E_RESD, E_UP, E_DOWN, E_SDK = range(9)
N_E = 9
# episode state columns (TL: the chunk's output table, one row per episode)
T_END, T_NUDGED, T_FIRST, T_DET, T_RES = range(5)
N_T = 5
# device scalars (OB): onboarding, deliveries, redirect delays, the connector's grace
O_SETTLED_AT, O_ACTIVATION, O_REDIRECT, O_INITIAL, O_SETTLED, O_N, O_DLN = range(7)
O_INSTALL, O_ACTIVATE, O_PARTNER = 7, 8, 9
N_O = 10
# protection columns (PR)
P_RECHECK, P_INTERVAL, P_REAUTH, P_WIPE, P_BLOCK = range(5)
N_P = 5

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


# -- connector (CN: state, start, end per interval) ------------------------------------------
@njit(cache=True, inline="always")
def _connector_at(cn: Any, partner: float, t: float) -> int:
    for k in range(cn.shape[0]):
        if cn[k, 1] <= t < cn[k, 2]:
            if cn[k, 0] == UNRESPONSIVE:
                if t - cn[k, 1] >= partner:
                    return UNRESPONSIVE
                return ENABLED
            return int(cn[k, 0])
    return ENABLED


@njit(cache=True)
def _deliver(cn: Any, t: float) -> float:
    moved = True
    while moved:
        moved = False
        for k in range(cn.shape[0]):
            if cn[k, 1] <= t < cn[k, 2]:
                t = cn[k, 2]
                moved = True
    return t


# -- onboarding (OB scalars; CH: time, state per scheduled change) -------------------------
@njit(cache=True, inline="always")
def _ob_at(ob: Any, ch: Any, t: float) -> int:
    if t >= ob[O_SETTLED_AT]:
        return int(ob[O_SETTLED])
    state = ob[O_INITIAL]
    for k in range(int(ob[O_N])):
        if ch[k, 0] <= t:
            state = ch[k, 1]
    return int(state)


@njit(cache=True)
def _ob_settle(ob: Any, ch: Any) -> None:
    n = int(ob[O_N])
    if n > 0:
        ob[O_SETTLED_AT] = ch[n - 1, 0]
        ob[O_SETTLED] = ch[n - 1, 1]
    else:
        ob[O_SETTLED_AT] = -INF
        ob[O_SETTLED] = ob[O_INITIAL]
    if ob[O_INITIAL] == ACTIVATED:
        ob[O_ACTIVATION] = 0.0
    else:
        ob[O_ACTIVATION] = INF
        for k in range(n):
            if ch[k, 1] == ACTIVATED:
                ob[O_ACTIVATION] = ch[k, 0]
                break


@njit(cache=True)
def _ob_activated_from(ob: Any, ch: Any, t: float) -> float:
    if _ob_at(ob, ch, t) == ACTIVATED:
        return t
    for k in range(int(ob[O_N])):
        if ch[k, 0] > t and ch[k, 1] == ACTIVATED:
            return float(ch[k, 0])
    return INF


@njit(cache=True)
def _ob_insert(ob: Any, ch: Any, at: float, state: Code) -> None:
    """Append (at, state) and keep the changes sorted by time, stably (list.sort)."""
    k = int(ob[O_N])
    while k > 0 and ch[k - 1, 0] > at:
        ch[k, 0] = ch[k - 1, 0]
        ch[k, 1] = ch[k - 1, 1]
        k -= 1
    ch[k, 0] = at
    ch[k, 1] = state
    ob[O_N] += 1


@njit(cache=True)
def _ob_redirect(ob: Any, ch: Any, t: float) -> bool:
    if ob[O_REDIRECT] < INF:
        return False
    ob[O_REDIRECT] = t
    if _ob_at(ob, ch, t) == ACTIVATED:
        return False
    install = t + ob[O_INSTALL]
    activate = t + ob[O_ACTIVATE]
    if install < INF and _ob_at(ob, ch, t) == ABSENT and install < activate:
        _ob_insert(ob, ch, install, np.int64(INSTALLED))
    if activate < INF:
        _ob_insert(ob, ch, activate, np.int64(ACTIVATED))
    _ob_settle(ob, ch)
    return True


# -- timeline (EP inputs, TL state, DL deliveries: arrival, at) ----------------------------
@njit(cache=True)
def _tl_refresh(i: int, ep: Any, tl: Any, ob: Any, ch: Any) -> None:
    end = tl[i, T_END]
    detected_at = INF
    if ep[i, E_DETD] != INF:
        detected_at = _ob_activated_from(ob, ch, ep[i, E_ONSET]) + ep[i, E_DETD]
        if not detected_at < end:
            detected_at = INF
    tl[i, T_DET] = detected_at
    tl[i, T_RES] = end + ep[i, E_RESD]


@njit(cache=True)
def _tl_order(ep: Any, tl: Any, dl: Any, ob: Any, cn: Any) -> None:
    """Deliveries: each level change with when it reaches Intune (``order_deliveries``)."""
    outages = cn.shape[0] > 0
    n = 0
    ch_at = np.empty(2 * tl.shape[0])
    ch_due = np.empty(2 * tl.shape[0])
    for i in range(tl.shape[0]):
        detected = tl[i, T_DET]
        if detected == INF:
            continue
        ch_at[n] = detected
        ch_due[n] = detected + ep[i, E_UP]
        n += 1
        resolved = tl[i, T_RES]
        if resolved < INF:
            ch_at[n] = resolved
            ch_due[n] = resolved + ep[i, E_DOWN]
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
        dl[k, 0] = _deliver(cn, latest) if outages else latest
        dl[k, 1] = ch_at[k]
    ob[O_DLN] = n


@njit(cache=True, inline="always")
def _defender_level(ep: Any, tl: Any, t: float) -> int:
    """Highest severity of detected, unresolved alerts at ``t``."""
    level = SECURED
    for i in range(tl.shape[0]):
        if tl[i, T_DET] <= t < tl[i, T_RES] and ep[i, E_SEV] > level:
            level = int(ep[i, E_SEV])
    return level


@njit(cache=True, inline="always")
def _intune_level(ep: Any, tl: Any, dl: Any, n: int, t: float) -> int:
    """Defender's level as of the latest change that has reached Intune by ``t``."""
    found = False
    latest = 0.0
    for k in range(n):
        if dl[k, 0] > t:
            break
        latest = dl[k, 1]
        found = True
    return _defender_level(ep, tl, latest) if found else SECURED


@njit(cache=True, inline="always")
def _true_level(ep: Any, tl: Any, t: float) -> int:
    true = SECURED
    for i in range(tl.shape[0]):
        if ep[i, E_ONSET] > t:
            break  # episodes are sorted by onset
        if t < tl[i, T_END] and ep[i, E_SEV] > true:
            true = int(ep[i, E_SEV])
    return true


@njit(cache=True, inline="always")
def _jailbroken(ep: Any, tl: Any, t: float) -> bool:
    """The Intune SDK's own check sees a jailbreak at ``t``."""
    for i in range(tl.shape[0]):
        if ep[i, E_SDK] != 0.0 and ep[i, E_ONSET] <= t < tl[i, T_END]:
            return True
    return False


@njit(cache=True)
def _tl_nudge(ep: Any, tl: Any, dl: Any, ob: Any, ch: Any, cn: Any, t: float) -> None:
    changed = False
    for i in range(tl.shape[0]):
        if tl[i, T_NUDGED] != 0.0 or not (ep[i, E_ONSET] <= t < tl[i, T_END]):
            continue
        if tl[i, T_DET] > t:
            continue
        tl[i, T_NUDGED] = 1.0
        tl[i, T_FIRST] = t
        candidate = t + ep[i, E_NUD]
        if candidate < tl[i, T_END]:
            tl[i, T_END] = candidate
        _tl_refresh(i, ep, tl, ob, ch)
        changed = True
    if changed:
        _tl_order(ep, tl, dl, ob, cn)


@njit(cache=True)
def _tl_refresh_all(ep: Any, tl: Any, dl: Any, ob: Any, ch: Any, cn: Any) -> None:
    for i in range(tl.shape[0]):
        _tl_refresh(i, ep, tl, ob, ch)
    _tl_order(ep, tl, dl, ob, cn)


# -- offline (OFF: start, end per interval, sorted) ------------------------------------------
@njit(cache=True, inline="always")
def _offline_index(off: Any, t: float) -> int:
    """Index of the last interval starting at or before ``t`` (-1: none); bisect_right - 1."""
    lo, hi = 0, off.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if t < off[mid, 0]:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


@njit(cache=True, inline="always")
def _online(off: Any, t: float) -> bool:
    if off.shape[0] == 0:
        return True
    i = _offline_index(off, t)
    return not (i >= 0 and off[i, 0] <= t < off[i, 1])


@njit(cache=True, inline="always")
def _offline_since(off: Any, t: float) -> float:
    i = _offline_index(off, t)
    return float(off[i, 0]) if i >= 0 else t


# -- evaluation ------------------------------------------------------------------------------
@njit(cache=True)
def _evaluate(
    w: Any,
    ids: Any,
    t: float,
    known: int,
    last: float,
    trigger: Code,
    fetched: Code,
    kind: Code,
    reused: Code,
    original: Code,
    reauth: Code,
) -> int:
    """Decide (or repeat ``reused`` when ``kind`` is not evaluated), apply the denial's
    feedback, write the row; return its table entry (``outcome * REASONS + reason``).

    ``w``: the device's working arrays (see :func:`run_chunk`)."""
    rows_f, rows_i, count, ep, tl, dl, ob, ch, cn, off, pr, table, _la = w
    device, process, p = ids
    checked = not np.isnan(last)
    offline = 0.0
    on = fetched if kind == KIND_EVALUATED else _online(off, t)
    if not on:
        since = last if checked else _offline_since(off, t)
        offline = t - since
        if offline < 1e-9:
            offline = 1e-9
    defender = int(ob[O_SETTLED]) if t >= ob[O_SETTLED_AT] else _ob_at(ob, ch, t)
    connector = _connector_at(cn, ob[O_PARTNER], t) if cn.shape[0] else ENABLED
    key = -1
    code = reused
    if kind == KIND_EVALUATED:
        jailbroken = _jailbroken(ep, tl, t) if tl.shape[0] else False
        bucket = 0
        if offline != 0.0:
            bucket = (
                1 + (1 if offline >= pr[p, P_BLOCK] else 0) + (2 if offline >= pr[p, P_WIPE] else 0)
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
                _tl_nudge(ep, tl, dl, ob, ch, cn, t)
            elif reason == R_MTD and _ob_redirect(ob, ch, t):
                _tl_refresh_all(ep, tl, dl, ob, ch, cn)
    true, defender_level, intune = SECURED, SECURED, SECURED
    if tl.shape[0]:
        true = _true_level(ep, tl, t)
        defender_level = _defender_level(ep, tl, t)
        intune = _intune_level(ep, tl, dl, int(ob[O_DLN]), t)
    n = count[0]
    if n < count[1]:
        rows_f[n, F_TIME] = t
        rows_f[n, F_AGE] = t - last if checked else np.nan
        rows_f[n, F_OFFLINE] = offline
        rows_f[n, F_END] = t
        rows_i[n, I_DEVICE] = device
        rows_i[n, I_PROCESS] = process
        rows_i[n, I_TRIGGER] = trigger
        rows_i[n, I_OUTCOME] = code // REASONS
        rows_i[n, I_REASON] = code % REASONS
        rows_i[n, I_KIND] = kind
        rows_i[n, I_KEY] = key
        rows_i[n, I_KNOWN] = known
        rows_i[n, I_INTUNE] = intune
        rows_i[n, I_DEFENDER_LEVEL] = defender_level
        rows_i[n, I_TRUE] = true
        rows_i[n, I_DEFENDER] = defender
        rows_i[n, I_CONNECTOR] = connector
        rows_i[n, I_FETCHED] = 1 if fetched else 0
        rows_i[n, I_ORIGINAL] = original
    count[0] = n + 1
    return int(code)


# process state: floats and integers per process of the device
S_NOW, S_LAST, S_LAE, S_END, S_CUT, S_NEXT, S_WAKE = range(7)
S_PHASE, S_LI, S_KNOWN, S_REAUTH, S_PREV_OUT, S_PREV_REASON, S_WIPED, S_PEND, S_EVAL = range(9)
S_EID, S_ACTIVE, S_PROT, S_LEND = 9, 10, 11, 12


@njit(cache=True, inline="always")
def _check_in(
    sf: Any,
    si: Any,
    off: Any,
    ep: Any,
    tl: Any,
    dl: Any,
    ob: Any,
    pr: Any,
    p: int,
    fails: bool,
    t: float,
) -> bool:
    """A check-in attempt at ``t``: when online, re-authenticate if due, fetch the level."""
    fetched = _online(off, t)
    if fetched:
        last = sf[S_LAST]
        gap = 0.0 if np.isnan(last) else t - last
        reauth = NOT_REQUIRED
        if pr[p, P_REAUTH] != 0.0 and gap >= pr[p, P_WIPE]:
            reauth = FAILED if fails else SUCCEEDED
        si[S_REAUTH] = reauth
        si[S_KNOWN] = _intune_level(ep, tl, dl, int(ob[O_DLN]), t) if tl.shape[0] else SECURED
        sf[S_LAST] = t
    return fetched


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _finish(sf: Any, si: Any, rows_f: Any, count: Any) -> None:
    """End a granted session at its cut: the launch row gets its session end."""
    sf[S_LAE] = sf[S_CUT]
    pend = si[S_PEND]
    if pend < count[1]:
        rows_f[pend, F_END] = sf[S_CUT]
    si[S_LI] += 1
    si[S_PHASE] = PH_LAUNCH


@njit(cache=True, inline="always")
def _recheck(sf: Any, si: Any, w: Any, ids: Any, fails: bool, t: float, trigger: Code) -> bool:
    """A check-in attempt and an evaluation at ``t`` (``trigger`` 0: launch, 1: check-in),
    kept as the app's previous decision; return whether it denies."""
    _rf, _ri, _c, ep, tl, dl, ob, _ch, _cn, off, pr, _t, _la = w
    fetched = _check_in(sf, si, off, ep, tl, dl, ob, pr, si[S_PROT], fails, t)
    code = _evaluate(
        w,
        ids,
        t,
        si[S_KNOWN],
        sf[S_LAST],
        trigger,
        fetched,
        np.int64(KIND_EVALUATED),
        np.int64(0),
        np.int64(-1),
        si[S_REAUTH],
    )
    return _remember(si, code)


@njit(cache=True, inline="always")
def _launch(sf: Any, si: Any, w: Any, settings: Any, ids: Any) -> None:
    """A launch at the process's clock: recheck or reuse, then deny or open a session."""
    rows_f, count, pr, la = w[0], w[2], w[10], w[12]
    horizon, retry, fails = settings[0], settings[1], settings[3]
    p = si[S_PROT]
    t = sf[S_NOW]
    recheck, interval = pr[p, P_RECHECK], pr[p, P_INTERVAL]
    last = sf[S_LAST]
    prev = si[S_PREV_OUT]
    due = (not np.isnan(interval)) and (not np.isnan(last)) and t - last >= interval
    evaluated = (
        prev < 0 or si[S_WIPED] == 1 or due or t - sf[S_LAE] >= recheck or (retry and prev != ALLOW)
    )
    si[S_EVAL] = 1 if evaluated else 0
    si[S_PEND] = count[0]
    if evaluated:
        deny = _recheck(sf, si, w, ids, fails, t, np.int64(0))
    elif prev != ALLOW:
        _evaluate(
            w,
            ids,
            t,
            si[S_KNOWN],
            last,
            np.int64(0),
            np.bool_(False),
            np.int64(KIND_REPEAT),
            prev * REASONS + R_PREVIOUS_DENIAL,
            si[S_PREV_REASON],
            np.int64(NOT_REQUIRED),
        )
        deny = True
    else:
        _evaluate(
            w,
            ids,
            t,
            si[S_KNOWN],
            last,
            np.int64(0),
            np.bool_(False),
            np.int64(KIND_REUSE),
            ALLOW * REASONS + R_PREVIOUS_ALLOW,
            np.int64(-1),
            np.int64(NOT_REQUIRED),
        )
        deny = False
    if deny:
        sf[S_LAE] = t
        si[S_LI] += 1
        si[S_PHASE] = PH_LAUNCH
        return
    end = t + la[si[S_LI], 1]
    if horizon < end:
        end = horizon
    sf[S_END] = end
    sf[S_CUT] = end
    if np.isnan(interval):
        _finish(sf, si, rows_f, count)
        return
    now = sf[S_NOW]
    last = sf[S_LAST]
    next_due = (last if not np.isnan(last) else now) + interval
    soonest = now + (interval if evaluated else 0.0)
    if soonest > next_due:
        next_due = soonest
    sf[S_NEXT] = next_due
    si[S_PHASE] = PH_CHECKIN_LOOP


@njit(cache=True, inline="always")
def _checkin_eval(sf: Any, si: Any, w: Any, settings: Any, ids: Any) -> None:
    """A check-in during a granted session; a denial cuts the session (mid-session)."""
    rows_f, count, pr = w[0], w[2], w[10]
    midsession, fails = settings[2], settings[3]
    p = si[S_PROT]
    t = sf[S_NOW]
    deny = _recheck(sf, si, w, ids, fails, t, np.int64(1))
    if deny and midsession:
        sf[S_CUT] = t
        _finish(sf, si, rows_f, count)
        return
    sf[S_NEXT] = t + pr[p, P_INTERVAL]
    si[S_PHASE] = PH_CHECKIN_LOOP


@njit(cache=True)
def _step(resume: Code, clock: float, sf: Any, si: Any, w: Any, settings: Any, ids: Any) -> float:
    """Run a process until it waits; return its wake time (nan: it has ended).

    ``resume``: the process was waiting and is woken at ``clock`` (the generator's
    ``now = yield target``); otherwise it starts (SimPy's Initialize).
    """
    if resume:
        sf[S_NOW] = clock
    la = w[12]
    while True:
        phase = si[S_PHASE]
        if phase == PH_LAUNCH:
            li = si[S_LI]
            if li >= si[S_LEND]:
                si[S_PHASE] = PH_DONE
                return np.nan
            si[S_PHASE] = PH_LAUNCH_EVAL
            start = la[li, 0]
            if start > sf[S_NOW]:
                return float(start)
        elif phase == PH_LAUNCH_EVAL:
            _launch(sf, si, w, settings, ids)
        elif phase == PH_CHECKIN_LOOP:
            next_due = sf[S_NEXT]
            if next_due < sf[S_END]:
                si[S_PHASE] = PH_CHECKIN_EVAL
                if next_due > sf[S_NOW]:
                    return float(next_due)
            else:
                _finish(sf, si, w[0], w[2])
        elif phase == PH_CHECKIN_EVAL:
            _checkin_eval(sf, si, w, settings, ids)
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
def _play_processes(d: int, p0: int, n: int, sf: Any, si: Any, w: Any, settings: Any) -> None:
    """Run the device's ``n`` processes (global ids ``p0`` …) in SimPy's order."""
    eid = 0
    for j in range(n):  # Initialize: time 0, in creation order
        target = _step(np.bool_(False), 0.0, sf[j], si[j], w, settings, (d, p0 + j, si[j, S_PROT]))
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
        target = _step(np.bool_(True), now, sf[j], si[j], w, settings, (d, p0 + j, si[j, S_PROT]))
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
    pr: Any,
    table: Any,
    cn: Any,
    flags: Any,
    out: Any,
    tl_all: Any,
    dev_out: Any,
) -> None:
    """Play every device of a chunk under one variant.

    ``devices``: (defender initial, install delay, activate delay, re-auth fails) per
    device. ``changes`` (offsets, [time, state] rows), ``episodes`` (offsets, EP rows),
    ``offline`` (offsets, [start, end] rows), ``processes`` (offsets, protection per
    process), ``launches`` (offsets per process, [start, duration] rows): CSR tables.
    ``pr``/``table``: protections' settings and decision tables; ``cn``: connector
    intervals [state, start, end]; ``flags``: (horizon, retry denied at launch,
    mid-session enforcement, partner unresponsive minutes). ``out``: (row floats, row
    ints, [rows, capacity, error]); ``tl_all``: the episodes as they played out (TL rows);
    ``dev_out``: per device [first redirect, activation].
    """
    initial, install_d, activate_d, fails = devices
    ch_off, ch_rows = changes
    ep_off, ep_rows = episodes
    off_off, off_rows = offline
    pr_off, pr_prot = processes
    la_off, la_rows = launches
    horizon, retry, midsession, partner = flags
    rows_f, rows_i, count = out
    max_changes, max_proc, max_episodes = 2, 1, 0
    for d in range(initial.size):
        max_changes = max(max_changes, ch_off[d + 1] - ch_off[d] + 2)
        max_proc = max(max_proc, pr_off[d + 1] - pr_off[d])
        max_episodes = max(max_episodes, ep_off[d + 1] - ep_off[d])
    ch = np.empty((max_changes, 2))
    ob = np.empty(N_O)
    sf = np.empty((max_proc, 7))
    si = np.empty((max_proc, 13), np.int64)
    dl_all = np.empty((2 * max_episodes, 2))
    for d in range(initial.size):
        c0, c1 = ch_off[d], ch_off[d + 1]
        for k in range(c1 - c0):  # element by element: an array-to-array slice
            ch[k, 0] = ch_rows[c0 + k, 0]  # assignment costs ~2.6 s of first compile
            ch[k, 1] = ch_rows[c0 + k, 1]  # (its shape-mismatch error path)
        ob[O_INITIAL] = initial[d]
        ob[O_N] = c1 - c0
        ob[O_REDIRECT] = INF
        ob[O_INSTALL] = install_d[d]
        ob[O_ACTIVATE] = activate_d[d]
        ob[O_PARTNER] = partner
        ob[O_DLN] = 0
        _ob_settle(ob, ch)
        e0, e1 = ep_off[d], ep_off[d + 1]
        ep = ep_rows[e0:e1]
        tl = tl_all[e0:e1]
        for i in range(e1 - e0):
            tl[i, T_END] = ep[i, E_NAT]
            tl[i, T_NUDGED] = 0.0
            tl[i, T_FIRST] = INF
        dl = dl_all[: 2 * (e1 - e0)]
        _tl_refresh_all(ep, tl, dl, ob, ch, cn)
        o0, o1 = off_off[d], off_off[d + 1]
        w = (rows_f, rows_i, count, ep, tl, dl, ob, ch, cn, off_rows[o0:o1], pr, table, la_rows)
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
        _play_processes(d, p0, p1 - p0, sf, si, w, settings)
        dev_out[d, 0] = ob[O_REDIRECT]
        dev_out[d, 1] = ob[O_ACTIVATION]
