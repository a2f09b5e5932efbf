"""A chunk's additive metrics in one compiled pass over the compiled engine's coded rows.

:func:`row_figures` computes, for one variant's decision rows of one chunk, what
:mod:`simulator.analysis.metrics` computes from the decision log's DataFrame: every row's
contribution to the additive decision metrics, summed per (management, app) cell, the
users affected, and each episode's outcome inputs. It is a second implementation of
the same definitions, written to give **the same floats**: every per-row value is formed
by the same IEEE operations in the same order as the NumPy code, and the sums add rows in
row order, as ``np.bincount`` does. ``tests/unit/test_counts_kernel.py`` checks the
tables for equality, float for float, against
:func:`~simulator.analysis.metrics.counts_and_outcomes`.

Two sums reach across devices in the NumPy code and are carried here as they are there:
the periods' length prefix (:class:`~simulator.analysis.metrics._Periods` subtracts a
running sum over the whole chunk, in (variant, device index) order), passed in and out as
``acc``; and the cells, which add the rows of every device in row order.

``@njit(cache=True)``, no ``fastmath``. Rows come device by device (the engine writes a
device's rows together, in the chunk's device order); within a device they are sorted
here by time (stable) and by (app, time) as the NumPy code sorts the whole log.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

ALLOW, BLOCK, WIPE = 0, 1, 2
LAUNCH = 0

# figure rows of ``fine`` (see :data:`simulator.analysis.metrics._KERNEL_FIGURES`)
(
    G_ROWS,
    G_LAUNCHES,
    G_CHECKINS,
    G_EVALUATIONS,
    G_EVAL_ALLOW,
    G_EVAL_BLOCK,
    G_EVAL_WIPE,
    G_EXPOSED_LOW,
    G_EXPOSED_MEDIUM,
    G_EXPOSED_HIGH,
    G_UNNEEDED_BLOCKS,
    G_UNNEEDED_WIPES,
    G_UNNEEDED_DENIALS,
    G_ONBOARDING,
    G_WIPE_EVENTS,
    G_WIPES,
    G_GRANTED_MIN,
    G_EXPOSED_MIN_LOW,
    G_EXPOSED_MIN_MEDIUM,
    G_EXPOSED_MIN_HIGH,
    G_BLOCKED_THREAT,
    G_BLOCKED_ONBOARDING,
    G_BLOCKED_OFFLINE,
    G_WORKING,
    G_WORKING_THREAT,
    G_DEVICES_WIPED,
    G_DEVICES_WIPED_APP,
    G_REASONS,
) = range(28)
"""Figure indices; ``reason_<r>`` counts follow from ``G_REASONS`` in reason-code order."""

_WEEK_MIN = 7 * 1440.0


@njit(cache=True)
def _working_before(t: float, start: float, length: float) -> float:
    """:func:`simulator.analysis.metrics._working_before` for one time (same operations)."""
    weeks: float = np.floor(t / _WEEK_MIN)
    rest = t - weeks * _WEEK_MIN
    day: float = np.floor(rest / 1440.0)
    within = rest - day * 1440.0
    today = 0.0
    if day < 5:
        today = min(max(within - start, 0.0), length)
    return weeks * 5 * length + min(day, 5.0) * length + today


@njit(cache=True)
def _covered(t: float, b0: int, b1: int, bs: Any, be: Any, bb: Any) -> float:
    """Minutes of the blocks [b0, b1) (sorted, disjoint) before ``t``: the last block that
    starts at or before ``t`` (a binary search, as ``_lookup``) and what precedes it."""
    lo, hi = b0, b1
    while lo < hi:
        mid = (lo + hi) // 2
        if bs[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    if lo == b0:
        return 0.0
    i = lo - 1
    covered: float = bb[i] + min(t, be[i]) - bs[i]
    return covered


@njit(cache=True)
def _stable_order(values: Any, n: int) -> Any:
    """The first ``n`` values' indices sorted by value, ties in index order (a stable
    argsort). An insertion sort, linear on the nearly sorted times a device's rows come
    in; past a budget of moves, NumPy's merge sort."""
    order = np.arange(n)
    moves = 0
    for i in range(1, n):
        j = i
        v = values[i]
        while j > 0 and values[order[j - 1]] > v:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
        moves += i - j
        if moves > 8 * n + 64:
            return _merge_order(values, n)
    return order


@njit(cache=True)
def _merge_order(values: Any, n: int) -> Any:
    """The first ``n`` values' indices sorted by value, ties in index order: a bottom-up
    merge sort (what ``np.argsort(kind="mergesort")`` returns; written out, it compiles
    in a fraction of the time)."""
    order = np.arange(n)
    spare = np.empty(n, np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, out = lo, mid, lo
            while i < mid and j < hi:
                if values[order[j]] < values[order[i]]:
                    spare[out] = order[j]
                    j += 1
                else:
                    spare[out] = order[i]
                    i += 1
                out += 1
            while i < mid:
                spare[out] = order[i]
                i += 1
                out += 1
            while j < hi:
                spare[out] = order[j]
                j += 1
                out += 1
        order, spare = spare, order
        width *= 2
    return order


@njit(cache=True)
def _by_app(by_time: Any, app: Any, n: int, n_codes: int) -> Any:
    """``by_time`` stably sorted by app code (a counting sort)."""
    count = np.zeros(n_codes + 1, np.int64)
    for x in range(n):
        count[app[by_time[x]] + 1] += 1
    for c in range(n_codes):
        count[c + 1] += count[c]
    out = np.empty(n, np.int64)
    for x in range(n):
        j = by_time[x]
        a = app[j]
        out[count[a]] = j
        count[a] += 1
    return out


@njit(cache=True)
def _kahan(values: Any, out: Any, n: int) -> None:
    """Running sums of the first ``n`` values with pandas' compensated (Kahan) summation,
    step for step: ``_SessionTime`` takes them from ``groupby(...).cumsum()``."""
    total = 0.0
    compensation = 0.0
    for i in range(n):
        y = values[i] - compensation
        t = total + y
        compensation = t - total - y
        total = t
        out[i] = t


@njit(cache=True)
def _sum_until(t: float, times: Any, running: Any, n: int) -> float:
    """Σ (t − item) over the first ``n`` sorted ``times`` at or before ``t``."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0.0
    total: float = lo * t - running[lo - 1]
    return total


@njit(cache=True)
def _periods(order: Any, episodes: Any, horizon: float, acc: Any) -> Any:
    """Per severity (1-3) and device, the union of the periods its true level was at
    least that severity, as ``_Periods`` builds it: sorted disjoint blocks in device-index
    order, each with its minutes before it within its device, from a running sum over the
    chunk (``acc``, carried across variants as the NumPy code's one ``cumsum`` runs on)."""
    ep_off, ep_onset, ep_end, ep_sev = episodes
    n_dev = order.size
    n_ep = ep_onset.size
    blk_off = np.zeros((3, n_dev + 1), np.int64)
    blk_n = np.zeros((3, n_dev), np.int64)
    blk_start = np.empty((3, max(n_ep, 1)))
    blk_end = np.empty((3, max(n_ep, 1)))
    blk_before = np.empty((3, max(n_ep, 1)))
    for s in range(3):
        rank = s + 1
        nb = 0
        for q in range(n_dev):
            d = order[q]
            blk_off[s, d] = nb
            e0, e1 = ep_off[d], ep_off[d + 1]
            m = 0
            starts = np.empty(e1 - e0)
            ends = np.empty(e1 - e0)
            for e in range(e0, e1):
                end = min(ep_end[e], horizon)
                if ep_sev[e] >= rank and end > ep_onset[e]:
                    starts[m] = ep_onset[e]
                    ends[m] = end
                    m += 1
            if m == 0:
                continue
            idx = _stable_order(starts, m)
            first = nb
            reach = -np.inf
            for j in range(m):
                st, en = starts[idx[j]], ends[idx[j]]
                if j == 0 or st > reach:
                    blk_start[s, nb] = st
                    blk_end[s, nb] = en
                    nb += 1
                elif en > blk_end[s, nb - 1]:
                    blk_end[s, nb - 1] = en
                reach = en if j == 0 else max(reach, en)
            base = 0.0
            for b in range(first, nb):
                length = blk_end[s, b] - blk_start[s, b]
                total = acc[s] + length
                before = total - length
                acc[s] = total
                if b == first:
                    base = before
                blk_before[s, b] = before - base
            blk_n[s, d] = nb - first

    return blk_off, blk_n, blk_start, blk_end, blk_before


@njit(cache=True)
def _walk(n: int, by_app: Any, local: Any, settings: Any, out: Any) -> None:
    """Per device+app in (time, row) order: each denial's blocked minutes, their cause and
    working minutes (``_blocked_minutes``), the wipes that removed data (``_data_wipes``)
    and, for devices wiped, each app's first one."""
    l_app, l_trig, l_out, l_why, l_time, l_end = local
    horizon, w_start, w_length, cause_of, r_prev_allow, r_prev_denial = settings
    cause, piece, working, data_wipe, first_app_wipe, dev_wipe = out
    g = 0
    while g < n:
        a = l_app[by_app[g]]
        h = g
        while h < n and l_app[by_app[h]] == a:
            h += 1
        granted_until = -np.inf
        current = -1
        prev_wipe = False
        prev_wipe2 = False
        seen_data2 = False
        for x in range(g, h):
            j = by_app[x]
            o, why = l_out[j], l_why[j]
            if l_trig[j] == LAUNCH and o == ALLOW:
                granted_until = max(granted_until, l_end[j])
            start = max(l_time[j], min(granted_until, horizon))
            stop = horizon if x == h - 1 else l_time[by_app[x + 1]]
            own = cause_of[why]
            if x == g or own >= 0:
                current = own
            c = 0 if current < 0 else current
            cause[j] = c
            if o != ALLOW and o >= 0:
                piece[j] = max(stop - start, 0.0)
                b = max(max(stop, start), start)
                working[j] = _working_before(b, w_start, w_length) - _working_before(
                    start, w_start, w_length
                )
            else:
                piece[j] = 0.0
                working[j] = 0.0
            # wipes that removed data (evaluations only) ...
            wipe = o == WIPE and why != r_prev_allow and why != r_prev_denial
            data_wipe[j] = False
            if wipe or o == ALLOW:
                data_wipe[j] = wipe and not prev_wipe
                prev_wipe = wipe
            # ... and the same for devices wiped (any wipe but a repeated denial)
            wipe2 = o == WIPE and why != r_prev_denial
            first_app_wipe[j] = False
            dev_wipe[j] = False
            if wipe2 or o == ALLOW:
                removes = wipe2 and not prev_wipe2
                prev_wipe2 = wipe2
                if removes:
                    dev_wipe[j] = True
                    if not seen_data2:
                        first_app_wipe[j] = True
                        seen_data2 = True
        g = h


@njit(cache=True)
def _device_episodes(
    d: int, n: int, local: Any, sessions: Any, episodes: Any, settings: Any, out: Any
) -> None:
    """The outcome inputs of device ``d``'s episodes (see :func:`row_figures`)."""
    l_out, l_why, l_time = local
    starts, run_start, sorted_stops, run_stop, ns, strictest = sessions
    ep_off, ep_onset, ep_end, ep_sev = episodes
    horizon, r_threat, r_not_targeted = settings
    ep_over, ep_denial, ep_restore, ep_exposed = out
    for e in range(ep_off[d], ep_off[d + 1]):
        onset, end = ep_onset[e], ep_end[e]
        ep_over[e] = strictest < 99 and ep_sev[e] > strictest
        denial = np.inf
        restore = np.inf
        for j in range(n):
            t = l_time[j]
            if l_why[j] == r_threat and t >= onset and t < denial:
                denial = t
            targeted_allow = l_out[j] == ALLOW and l_why[j] != r_not_targeted
            if targeted_allow and t >= end and t < restore:
                restore = t
        ep_denial[e] = denial
        ep_restore[e] = restore
        stop = max(min(end, horizon), onset)
        after = _sum_until(stop, starts, run_start, ns) - _sum_until(
            stop, sorted_stops, run_stop, ns
        )
        before = _sum_until(onset, starts, run_start, ns) - _sum_until(
            onset, sorted_stops, run_stop, ns
        )
        exposed = after - before
        ep_exposed[e] = 0.0 if exposed < 1e-6 else exposed


@njit(cache=True)
def _row_offsets(rows_i: Any, c_dev: int, n_dev: int) -> Any:
    """Where each device position's rows start (and the last one's end); a length-0 array
    when the rows do not come device by device."""
    row_off = np.zeros(n_dev + 1, np.int64)
    for r in range(rows_i.shape[0]):
        dv = rows_i[r, c_dev]
        if dv < 0 or dv >= n_dev or (r > 0 and dv < rows_i[r - 1, c_dev]):
            return np.zeros(0, np.int64)
        row_off[dv + 1] += 1
    for d in range(n_dev):
        row_off[d + 1] += row_off[d]
    return row_off


@njit(cache=True)
def _load(rows: Any, r0: int, n: int, local: Any, floats: Any) -> None:
    """A device's ``n`` rows from ``r0`` into the local columns: app, max rank, trigger,
    outcome, reason, true rank (0 secured); time, session end."""
    rows_i, rows_f, layout, proc_app, proc_max = rows
    l_app, l_mr, l_trig, l_out, l_why, l_tr = local
    l_time, l_end = floats
    secured = layout[6]
    for j in range(n):
        r = r0 + j
        proc = rows_i[r, layout[1]]
        l_app[j] = proc_app[proc]
        l_mr[j] = proc_max[proc]
        l_trig[j] = rows_i[r, layout[2]]
        l_out[j] = rows_i[r, layout[3]]
        l_why[j] = rows_i[r, layout[4]]
        l_tr[j] = rows_i[r, layout[5]] - secured
        l_time[j] = rows_f[r, layout[7]]
        l_end[j] = rows_f[r, layout[8]]


@njit(cache=True)
def _device_sessions(n: int, by_time: Any, local: Any, horizon: float, scratch: Any) -> Any:
    """A device's granted sessions in time order with their running sums, and their stops
    sorted with theirs (``_SessionTime``): (sorted stops, how many)."""
    l_trig, l_out, l_time, l_end = local
    starts, stops, run_start, run_stop = scratch
    ns = 0
    for x in range(n):
        j = by_time[x]
        if l_trig[j] == LAUNCH and l_out[j] == ALLOW:
            st = l_time[j]
            starts[ns] = st
            stops[ns] = max(min(l_end[j], horizon), st)
            ns += 1
    _kahan(starts, run_start, ns)
    sorted_stops = stops[:ns][_stable_order(stops, ns)]
    _kahan(sorted_stops, run_stop, ns)
    return sorted_stops, ns


@njit(cache=True)
def _add_rows(
    d: int, n: int, local: Any, per_row: Any, blocks: Any, settings: Any, sums: Any
) -> int:
    """Device ``d``'s rows, in row order, into its management's cells and its user's
    threat working minutes; returns the device's strictest max allowed rank (99: none)."""
    l_app, l_mr, l_trig, l_out, l_why, l_tr, l_time, l_end = local
    cause, piece, working, data_wipe, first_app_wipe, first_dev_wipe = per_row
    blk_off, blk_n, blk_start, blk_end, blk_before = blocks
    horizon, r_threat, r_mtd, r_prev_allow, r_prev_denial = settings
    cells, tot_all, tot_mgmt, tot_app, mgmt, user = sums
    strictest = 99
    for j in range(n):
        a = l_app[j]
        o, why, tr, mr = l_out[j], l_why[j], l_tr[j], l_mr[j]
        if mr >= 0:
            strictest = min(strictest, mr)
        cell = cells[mgmt, a]
        cell[G_ROWS] += 1.0
        launch = l_trig[j] == LAUNCH
        if launch:
            cell[G_LAUNCHES] += 1.0
        else:
            cell[G_CHECKINS] += 1.0
        if why != r_prev_allow and why != r_prev_denial:  # an evaluation
            cell[G_EVALUATIONS] += 1.0
            cell[G_EVAL_ALLOW + o] += 1.0
            if o == WIPE:
                cell[G_WIPE_EVENTS] += 1.0
        cell[G_REASONS + why] += 1.0
        granted = launch and o == ALLOW
        if granted:
            for s in range(3):
                if tr >= s + 1:
                    cell[G_EXPOSED_LOW + s] += 1.0
        if why == r_threat and tr <= mr:
            if o == BLOCK:
                cell[G_UNNEEDED_BLOCKS] += 1.0
                cell[G_UNNEEDED_DENIALS] += 1.0
            elif o == WIPE:
                cell[G_UNNEEDED_WIPES] += 1.0
                cell[G_UNNEEDED_DENIALS] += 1.0
        if o != ALLOW and why == r_mtd:
            cell[G_ONBOARDING] += 1.0
        if data_wipe[j]:
            cell[G_WIPES] += 1.0
        if granted:
            st = l_time[j]
            sp = max(min(l_end[j], horizon), st)
            cell[G_GRANTED_MIN] += sp - st
            for s in range(3):
                b0 = blk_off[s, d]
                b1 = b0 + blk_n[s, d]
                bs, be, bb = blk_start[s], blk_end[s], blk_before[s]
                minutes = _covered(sp, b0, b1, bs, be, bb) - _covered(st, b0, b1, bs, be, bb)
                cell[G_EXPOSED_MIN_LOW + s] += max(minutes, 0.0)
        c = cause[j]
        cell[G_BLOCKED_THREAT + c] += piece[j]
        cell[G_WORKING] += working[j]
        threat_working = working[j] if c == 0 else 0.0
        cell[G_WORKING_THREAT] += threat_working
        if j == first_dev_wipe:
            cell[G_DEVICES_WIPED] += 1.0
        if first_app_wipe[j]:
            cell[G_DEVICES_WIPED_APP] += 1.0
        tot_all[user] += threat_working
        tot_mgmt[user, mgmt] += threat_working
        tot_app[user, a] += threat_working
    return strictest


@njit(cache=True)
def _tally_affected(totals: Any, affected: Any) -> None:
    """Users whose threat working minutes in a segment exceed one hour, per segment."""
    tot_all, tot_mgmt, tot_app = totals
    aff_all, aff_mgmt, aff_app = affected
    for u in range(tot_all.size):
        if tot_all[u] > 60.0:
            aff_all[0] += 1.0
        for m in range(aff_mgmt.size):
            if tot_mgmt[u, m] > 60.0:
                aff_mgmt[m] += 1.0
        for a in range(aff_app.size):
            if tot_app[u, a] > 60.0:
                aff_app[a] += 1.0


@njit(cache=True)
def row_figures(
    rows: Any,
    devices: Any,
    episodes: Any,
    settings: Any,
    out: Any,
) -> bool:
    """One variant's rows of one chunk → cell sums, users affected, episode inputs.

    ``rows``: the engine's integer and float row tables (rows device by device), the
    ``layout`` of their columns (device position, process, trigger, outcome, reason,
    true level, the true level's code for secured; time, session end), and per process
    its app (cell code) and max allowed rank (-1: none). ``devices``:
    (management code, user code, positions in device-index order) per device position;
    ``episodes``: (offsets per device position, onset, end, severity rank); ``settings``:
    (horizon, working start, working length, reason → cause, reason codes: threat,
    mtd, previous allow, previous denial, not targeted); ``out``: (acc, fine[management,
    app, figure], affected (all; per management; per app), per episode: over max,
    first threat denial at or after onset, first targeted allow at or after end,
    exposed minutes). False (and nothing done) when the rows do not come device by device.
    """
    dev_mgmt, dev_user, order = devices
    horizon, w_start, w_length, cause_of, codes = settings
    r_threat, r_mtd, r_prev_allow, r_prev_denial, r_not_targeted = (
        codes[0],
        codes[1],
        codes[2],
        codes[3],
        codes[4],
    )
    acc, fine, aff_all, aff_mgmt, aff_app, ep_over, ep_denial, ep_restore, ep_exposed = out
    n_dev = order.size
    row_off = _row_offsets(rows[0], rows[2][0], n_dev)
    if row_off.size == 0:
        return False
    n_mgmt, n_app = aff_mgmt.size, aff_app.size
    # periods of at-least-severity, per severity and device
    blocks = _periods(order, episodes, horizon, acc)
    users_n = 0
    for d in range(n_dev):
        users_n = max(users_n, dev_user[d] + 1)
    totals = (np.zeros(users_n), np.zeros((users_n, n_mgmt)), np.zeros((users_n, n_app)))
    most = 1
    for d in range(n_dev):
        most = max(most, row_off[d + 1] - row_off[d])
    piece, working = np.empty(most), np.empty(most)
    cause = np.empty(most, np.int64)
    data_wipe = np.empty(most, np.bool_)
    first_app_wipe = np.empty(most, np.bool_)
    dev_wipe = np.empty(most, np.bool_)
    scratch = (np.empty(most), np.empty(most), np.empty(most), np.empty(most))
    l_app, l_mr, l_trig = (
        np.empty(most, np.int64),
        np.empty(most, np.int64),
        np.empty(most, np.int64),
    )
    l_out, l_why, l_tr = (
        np.empty(most, np.int64),
        np.empty(most, np.int64),
        np.empty(most, np.int64),
    )
    l_time, l_end = np.empty(most), np.empty(most)
    for d in range(n_dev):
        r0 = row_off[d]
        n = row_off[d + 1] - r0
        _load(rows, r0, n, (l_app, l_mr, l_trig, l_out, l_why, l_tr), (l_time, l_end))
        by_time = _stable_order(l_time, n)
        by_app = _by_app(by_time, l_app, n, n_app + 1)
        # blocked minutes, their causes and working minutes; data wipes (per device+app)
        _walk(
            n,
            by_app,
            (l_app, l_trig, l_out, l_why, l_time, l_end),
            (horizon, w_start, w_length, cause_of, r_prev_allow, r_prev_denial),
            (cause, piece, working, data_wipe, first_app_wipe, dev_wipe),
        )
        first_dev_wipe = -1  # the device's first data-removing wipe (by time, then row)
        for x in range(n):
            if dev_wipe[by_time[x]]:
                first_dev_wipe = by_time[x]
                break
        # granted sessions, in time order, for the episodes' exposed minutes
        sorted_stops, ns = _device_sessions(
            n, by_time, (l_trig, l_out, l_time, l_end), horizon, scratch
        )
        strictest = _add_rows(
            d,
            n,
            (l_app, l_mr, l_trig, l_out, l_why, l_tr, l_time, l_end),
            (cause, piece, working, data_wipe, first_app_wipe, first_dev_wipe),
            blocks,
            (horizon, r_threat, r_mtd, r_prev_allow, r_prev_denial),
            (fine, totals[0], totals[1], totals[2], dev_mgmt[d], dev_user[d]),
        )
        _device_episodes(
            d,
            n,
            (l_out, l_why, l_time),
            (scratch[0], scratch[2], sorted_stops, scratch[3], ns, strictest),
            episodes,
            (horizon, r_threat, r_not_targeted),
            (ep_over, ep_denial, ep_restore, ep_exposed),
        )
    _tally_affected(totals, (aff_all, aff_mgmt, aff_app))
    return True


class _WarmPart:
    """Two coded rows of one device, of the types a run passes (:func:`warm`)."""

    variant: str = "v"
    rows_i: Any = np.array([[0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 2, 4]], dtype=np.int32)
    rows_f: Any = np.array([[1.0, 5.0], [10.0, 10.0]])
    layout: Any = np.array([0, 1, 2, 3, 4, 5, 1, 0, 1], dtype=np.int64)
    process_app: Any = np.zeros(1, dtype=np.int64)
    process_max_rank: Any = np.zeros(1, dtype=np.int64)
    apps: tuple[str, ...] = ("outlook",)


def warm() -> None:
    """Compile (or load) :func:`row_figures` by reading a two-row chunk as a sweep does
    (:func:`simulator.sim.jit.ensure_compiled` calls it, in its helper process)."""
    import pandas as pd

    from simulator.analysis.metrics import coded_counts_and_outcomes

    devices = pd.DataFrame(
        {
            "variant": ["v"],
            "device_index": [0],
            "device": ["d"],
            "user": ["u"],
            "management": ["mdm"],
            "apps": ["outlook"],
        }
    )
    episodes = pd.DataFrame(
        {
            "variant": ["v"],
            "device_index": [0],
            "device": ["d"],
            "episode": ["e"],
            "kind": ["phishing"],
            "severity": ["high"],
            "onset_min": [8.0],
            "end_min": [20.0],
            "detected_min": [9.0],
        }
    )
    coded_counts_and_outcomes([_WarmPart()], episodes, devices, 60.0)
