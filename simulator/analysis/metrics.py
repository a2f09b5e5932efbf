"""Metrics: from the decision log, episodes and devices to tidy tables (SEMANTICS.md §7).

Pure functions of the tables a run records (:mod:`simulator.sim.log`); no plotting, no files.
Every figure is per policy variant and per *segment*: ``segment_by`` is ``"all"``
(``segment`` ``"all"``), ``"management"`` (``mdm``, ``mam_we``, ``emm``) or ``"app"``
(``outlook`` …). Exposure is measured against the device's **true** level, so that
thresholds can be compared with each other. Levels are ordered secured < low < medium < high.

Counts (per event; additive across chunks of devices)
    ``devices``; ``launches``, ``checkins`` (decision rows by trigger); ``evaluations``
    (rows whose reason is neither ``previous_allow`` nor ``previous_denial``: those reuse an
    earlier decision) and ``evaluations_{allow,block,wipe}``; ``reason_<r>`` for every
    :class:`~simulator.policy.Reason` (rows, reuses included);
    ``exposed_launches_{low,medium,high}`` (granted launches while the true level was at
    least that severity); ``unneeded_blocks`` / ``unneeded_wipes``
    (threat-level denials while the true level was within the max allowed: stale signal)
    and ``unneeded_denials`` (their sum); ``onboarding_blocks`` (denials for
    ``mtd_not_activated``); ``wipe_events`` (every evaluation with outcome wipe) and
    ``wipes`` (wipes that removed data: an app's first wipe, or its first after a later
    granted access — a user retrying during one threat is wiped once);
    ``devices_wiped`` (devices with at least one such wipe; per app: devices whose app was
    wiped, so app segments do not add up to ``all``).
Durations summed over events (minutes; additive)
    ``granted_minutes`` (granted sessions, launch to session end);
    ``exposed_minutes_{low,medium,high}`` (granted-session minutes while the true level was
    at least that severity); ``blocked_user_minutes`` (per device+app, each streak of
    denials from its first denial to the next allow, or the horizon; two apps blocked at
    once count twice).
    It is split by cause into ``blocked_user_minutes_threat`` (the threat-level condition:
    ``threat_level_exceeded``, ``connector_disabled``, ``partner_unresponsive``),
    ``blocked_user_minutes_onboarding`` (``mtd_not_activated``: Defender not activated)
    and ``blocked_user_minutes_offline`` (``offline_block``, ``offline_wipe``): each
    denial row starts a piece of its streak that runs to the next row of that device+app
    (or to the horizon), and the piece goes to that row's cause; a ``previous_denial``
    row takes the cause of the evaluation it repeats (the latest earlier row of that
    device+app that is not a reuse). ``blocked_user_minutes`` is kept as the sum of the
    three (threat + onboarding + offline, in that order), so they add up exactly in every
    table :func:`count_metrics`, :func:`combine_counts` and :func:`summarize` return.
Per threat episode (segments ``all`` and ``management`` only; NaN for ``app`` segments,
since an episode belongs to a device, not an app)
    ``episodes``, ``undetected_episodes`` (never detected), ``episodes_over_max`` (severity
    above the strictest max allowed level in force on the device), ``episodes_enforced``
    (those with a threat-level denial on the device during the episode),
    ``never_enforced_{low,medium,high}`` (episodes of at least that severity that ended
    before the horizon without any threat-level denial on the device while they lasted:
    one yardstick for every variant, whatever its max), ``episodes_active_at_horizon``
    (not ended at the horizon: excluded from ``never_enforced_*``), ``never_restored``
    (enforced, but no granted access from the episode's end to the horizon) — counts;
    ``time_to_protect_{median,p95}_min`` (onset → first threat-level
    denial, over enforced episodes) and ``time_to_restore_{median,p95}_min`` (end → next
    granted access of a targeted app, over restored episodes) — durations in minutes.
    :func:`episode_outcomes` also gives each episode's ``exposed_minutes``: granted-session
    minutes on its device during the episode.

Chunked use: for each chunk of devices keep :func:`episode_outcomes` (one row per episode)
and :func:`count_metrics` (additive); :func:`summarize` adds up the counts and takes the
quantiles from the concatenated outcomes. :func:`compute_metrics` does it for a whole run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from simulator.durations import Minutes
from simulator.policy.levels import Management, Outcome, Reason, ThreatLevel
from simulator.sim import jit

if TYPE_CHECKING:
    from simulator.sim.run import RunResult

__all__ = [
    "AFFECTED_AFTER_MIN",
    "BLOCKED_BY_CAUSE",
    "BLOCKED_WORKING",
    "COUNT_COLUMNS",
    "DEFAULT_WORKING_HOURS",
    "DEVICE_LEVEL_METRICS",
    "HEADLINE_METRICS",
    "KEY_COLUMNS",
    "METRIC_COLUMNS",
    "OUTCOME_COLUMNS",
    "USER_COUNTS",
    "blocked_hours_per_user",
    "check_consistency",
    "combine_counts",
    "compute_metrics",
    "count_metrics",
    "episode_outcomes",
    "log_violations",
    "metric_violations",
    "run_metrics",
    "summarize",
    "to_long",
    "working_minutes",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LEVELS: Final = tuple(level.label for level in ThreatLevel)
"""Threat levels in order: secured, low, medium, high."""
SEVERITIES: Final = LEVELS[1:]
"""The severities exposure is measured at: low, medium, high."""
KEY_COLUMNS: Final = ("variant", "segment_by", "segment")
SEGMENT_BYS: Final = ("all", "management", "app")
_OUTCOMES: Final = tuple(outcome.value for outcome in Outcome)
_REASONS: Final = tuple(reason.value for reason in Reason)
_MANAGEMENTS: Final = tuple(m.value for m in Management)

DECISION_COUNTS: Final = (
    *("launches", "checkins", "evaluations"),
    *(f"evaluations_{o}" for o in _OUTCOMES),
    *(f"reason_{r}" for r in _REASONS),
    *(f"exposed_launches_{s}" for s in SEVERITIES),
    *("unneeded_blocks", "unneeded_wipes", "unneeded_denials", "onboarding_blocks"),
    *("wipe_events", "wipes"),
)
DEVICE_COUNTS: Final = ("devices_wiped",)
"""Distinct devices: additive across chunks and management segments, not across apps."""
BLOCKED_CAUSES: Final = ("threat", "onboarding", "offline")
"""Causes :data:`BLOCKED_BY_CAUSE` splits ``blocked_user_minutes`` into."""
BLOCKED_BY_CAUSE: Final = tuple(f"blocked_user_minutes_{c}" for c in BLOCKED_CAUSES)
"""``blocked_user_minutes_{threat,onboarding,offline}``: they sum to blocked_user_minutes."""
BLOCKED_WORKING: Final = ("blocked_working_minutes", "blocked_working_minutes_threat")
"""The blocked user-minutes that fell in working hours: any reason, and the threat part."""
DECISION_MINUTES: Final = (
    "granted_minutes",
    *(f"exposed_minutes_{s}" for s in SEVERITIES),
    "blocked_user_minutes",
    *BLOCKED_BY_CAUSE,
    *BLOCKED_WORKING,
)
USER_COUNTS: Final = ("users", "users_affected")
"""Distinct users: additive across chunks (a chunk holds whole users), not across segments."""
AFFECTED_AFTER_MIN: Final = 60.0
"""A user is *affected* when blocked for threat level for more than this many working
minutes (one working hour) over the run."""
DEFAULT_WORKING_HOURS: Final = (8, 18)
"""Working hours [start, end) of Monday–Friday when a caller does not say (the scenario's
``launches.working_hours`` default)."""
EPISODE_COUNTS: Final = (
    *("episodes", "undetected_episodes", "episodes_over_max", "episodes_enforced"),
    *(f"never_enforced_{s}" for s in SEVERITIES),
    *("episodes_active_at_horizon", "never_restored"),
)
EPISODE_QUANTILES: Final = (
    *("time_to_protect_median_min", "time_to_protect_p95_min"),
    *("time_to_restore_median_min", "time_to_restore_p95_min"),
)
COUNT_COLUMNS: Final = (
    *("devices", *USER_COUNTS, *DECISION_COUNTS, *DEVICE_COUNTS),
    *(*DECISION_MINUTES, *EPISODE_COUNTS),
)
"""The additive columns of :func:`count_metrics`, after :data:`KEY_COLUMNS`."""
METRIC_COLUMNS: Final = (*COUNT_COLUMNS, *EPISODE_QUANTILES)
"""Every metric column of :func:`summarize`, in order."""
DEVICE_LEVEL_METRICS: Final = (*EPISODE_COUNTS, *EPISODE_QUANTILES)
"""Per-episode metrics: NaN for ``app`` segments."""
HEADLINE_METRICS: Final = (
    *("launches", "exposed_launches_medium", "exposed_minutes_high"),
    *("time_to_protect_median_min", "never_enforced_medium", "unneeded_denials"),
    *("onboarding_blocks", "blocked_user_minutes_threat", "blocked_working_minutes_threat"),
    *("users_affected", "blocked_user_minutes", "wipes"),
)
"""The few metrics a summary table shows (``unneeded_denials``: blocks and wipes together;
``wipes`` tells which)."""
OUTCOME_COLUMNS: Final = (
    *("variant", "device_index", "device", "episode", "management", "kind", "severity"),
    *("onset_min", "end_min", "detected", "over_max", "enforced", "never_enforced"),
    *("threat_denied", "active_at_horizon"),
    *(f"never_enforced_{s}" for s in SEVERITIES),
    *("time_to_protect_min", "never_restored", "time_to_restore_min", "exposed_minutes"),
)
"""Columns of :func:`episode_outcomes`."""
_OUTCOME_TEXT: Final = ("variant", "device", "episode", "kind", "severity")


# -- encoding and lookups --------------------------------------------------------------------
Encoded = tuple[IntArray, list[str]]
"""A string column as integer codes (-1: missing) and its distinct values, first seen first."""


def _encode(values: pd.Series) -> Encoded:
    """Factorize once (fast for Arrow strings and categoricals); map to vocabularies after."""
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


def _recode(encoded: Encoded, vocabulary: Sequence[str]) -> IntArray:
    """Codes in ``vocabulary`` (-1: missing, or not in it)."""
    codes, uniques = encoded
    position = {name: i for i, name in enumerate(vocabulary)}
    table = np.array([position.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    recoded: IntArray = table[codes]
    return recoded


def _codes(values: pd.Series, vocabulary: Sequence[str]) -> IntArray:
    """Codes of a column in ``vocabulary`` (-1: missing, or not in it)."""
    return _recode(_encode(values), vocabulary)


def _first_seen(*uniques: Iterable[str]) -> list[str]:
    """Distinct values in order of first appearance across the lists."""
    return list(dict.fromkeys(itertools.chain(*uniques)))


def _managements(values: Iterable[str]) -> list[str]:
    """Management set-ups in their documented order (mdm, mam_we, emm), others sorted."""
    present = set(values)
    return [m for m in _MANAGEMENTS if m in present] + sorted(present - set(_MANAGEMENTS))


def _stride(*frames: pd.DataFrame) -> int:
    """One more than the largest device index: device keys are variant × stride + index."""
    top = [int(f["device_index"].max()) for f in frames if len(f)]
    return max(top, default=0) + 1


def _device_keys(frame: pd.DataFrame, variants: Sequence[str], stride: int) -> IntArray:
    """One integer per (variant, device) of each row."""
    index = frame["device_index"].to_numpy(dtype=np.int64)
    keys: IntArray = _codes(frame["variant"], variants) * stride + index
    return keys


def _lookup(
    item_key: IntArray,
    item_time: FloatArray,
    key: IntArray,
    time: FloatArray,
    *,
    after: bool,
    slices: tuple[IntArray, IntArray] | None = None,
) -> IntArray:
    """Per query (key, time), the index of the first item of that key at or after ``time``
    (``after``), or of the last one at or before it; -1 if none.

    Items must be sorted by (key, time). A binary search within each key's slice, run for all
    queries at once: O(queries × log(items per key)). ``slices`` (:func:`_slices`) may be
    passed when several lookups share the queries' keys.
    """
    first, limit = _slices(item_key, key) if slices is None else slices
    lo, hi = first.copy(), limit.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        right = item_time[mid] < time[active] if after else item_time[mid] <= time[active]
        lo[active] = np.where(right, mid + 1, lo[active])
        hi[active] = np.where(right, hi[active], mid)
        active = active[lo[active] < hi[active]]
    found: IntArray = np.where(lo < limit, lo, -1) if after else np.where(lo > first, lo - 1, -1)
    return found


def _slices(item_key: IntArray, key: IntArray) -> tuple[IntArray, IntArray]:
    """Per query key, the items [first, limit) with that key (items sorted by key)."""
    return np.searchsorted(item_key, key, "left"), np.searchsorted(item_key, key, "right")


def _quantiles(values: pd.Series) -> tuple[float, float]:
    """Median and 95th percentile (linear interpolation), NaN when empty."""
    data = values.dropna().to_numpy(dtype=np.float64)
    if data.size == 0:
        return (np.nan, np.nan)
    median, p95 = np.quantile(data, [0.5, 0.95])
    return (float(median), float(p95))


_WEEK_MIN: Final = 7 * 1440.0
WorkingHours = tuple[int, int]
"""Working hours [start, end) as hours of the day, Monday to Friday (day 0 is a Monday)."""


def _working_before(t: FloatArray, hours: WorkingHours) -> FloatArray:
    """Working minutes from time 0 to each ``t`` (minutes on the simulation clock)."""
    start, end = hours[0] * 60.0, hours[1] * 60.0
    length = end - start
    weeks = np.floor(t / _WEEK_MIN)
    rest = t - weeks * _WEEK_MIN
    day = np.floor(rest / 1440.0)
    within = rest - day * 1440.0
    today = np.where(day < 5, np.clip(within - start, 0.0, length), 0.0)
    done: FloatArray = weeks * 5 * length + np.minimum(day, 5) * length + today
    return done


def working_minutes(start: FloatArray, stop: FloatArray, hours: WorkingHours) -> FloatArray:
    """Minutes of each ``[start, stop)`` inside working hours (Monday–Friday, ``hours``).

    Parameters
    ----------
    start, stop
        Interval ends, minutes on the simulation clock (day 0 is a Monday, as in the world's
        launch profile); an empty or reversed interval has 0 working minutes.
    hours
        Working hours ``[start, end)`` as hours of the day (the scenario's
        ``launches.working_hours``).
    """
    a = np.asarray(start, dtype=np.float64)
    b = np.maximum(np.asarray(stop, dtype=np.float64), a)
    minutes: FloatArray = _working_before(b, hours) - _working_before(a, hours)
    return minutes


def _by_key_time(key: IntArray, time: FloatArray) -> IntArray:
    """The rows ordered by (key, time), ties in row order: ``np.lexsort((time, key))``,
    faster on the layouts the log comes in.

    A stable sort of the integer keys comes first; when that leaves every key's times in
    order (a log in canonical, time-major order), it is the answer. Otherwise the times
    are nearly in order within each key (an engine's device-major rows), and NumPy's
    stable sort of complex numbers — lexicographic on (real, imaginary), a timsort that
    runs fast on nearly sorted input — orders (key, time) exactly: keys are integers far
    below 2**53, so they are exact as floats. Times with a NaN take ``lexsort``.
    """
    order = np.argsort(key, kind="stable")
    if key.size < 2:
        return order
    k, t = key[order], time[order]
    if np.isnan(t).any():
        return np.lexsort((time, key))
    if ((k[1:] == k[:-1]) & (t[1:] < t[:-1])).any():
        order = order[np.argsort(k.astype(np.float64) + 1j * t, kind="stable")]
    return order


class _Periods:
    """Per device key, the union of intervals [start, end) as sorted, disjoint intervals."""

    def __init__(self, key: IntArray, start: FloatArray, end: FloatArray) -> None:
        keep = end > start
        order = _by_key_time(key[keep], start[keep])
        key, start, end = key[keep][order], start[keep][order], end[keep][order]
        reach = pd.Series(end).groupby(key).cummax().to_numpy(dtype=np.float64)
        new_key = np.r_[True, key[1:] != key[:-1]] if key.size else np.zeros(0, dtype=bool)
        new_block = new_key.copy()
        new_block[1:] |= start[1:] > reach[:-1]
        firsts = np.flatnonzero(new_block)
        self.key, self.start = key[firsts], start[firsts]
        self.end = np.maximum.reduceat(end, firsts) if firsts.size else end
        lengths = self.end - self.start
        before = np.cumsum(lengths) - lengths
        key_first = np.maximum.accumulate(np.where(new_key[firsts], np.arange(firsts.size), 0))
        self._before = before - before[key_first]  # length of the key's earlier intervals

    def overlap(self, key: IntArray, start: FloatArray, stop: FloatArray) -> FloatArray:
        """Minutes of [start, stop) inside the key's union (queries sorted by key run faster)."""
        slices = _slices(self.key, key)
        return self._covered(key, stop, slices) - self._covered(key, start, slices)

    def _covered(
        self, key: IntArray, t: FloatArray, slices: tuple[IntArray, IntArray]
    ) -> FloatArray:
        """Minutes of the key's union before ``t``."""
        idx = _lookup(self.key, self.start, key, t, after=False, slices=slices)
        ok = idx >= 0
        i = idx[ok]
        out = np.zeros(key.size)
        out[ok] = self._before[i] + np.minimum(t[ok], self.end[i]) - self.start[i]
        return out

    def contains(self, key: IntArray, t: FloatArray) -> BoolArray:
        """Whether ``t`` lies in the key's union."""
        idx = _lookup(self.key, self.start, key, t, after=False)
        inside = np.zeros(key.size, dtype=bool)
        inside[idx >= 0] = t[idx >= 0] < self.end[idx[idx >= 0]]
        return inside


def _at_least(
    episodes: pd.DataFrame, variants: Sequence[str], stride: int, horizon: Minutes
) -> dict[str, _Periods]:
    """Per severity, when each device's true level was at least that severity."""
    key = _device_keys(episodes, variants, stride)
    severity = _codes(episodes["severity"], LEVELS)
    start = episodes["onset_min"].to_numpy(dtype=np.float64)
    end = np.minimum(episodes["end_min"].to_numpy(dtype=np.float64), horizon)
    return {
        name: _Periods(key[severity >= rank], start[severity >= rank], end[severity >= rank])
        for rank, name in enumerate(LEVELS)
        if rank
    }


class _Log:
    """The decision log as arrays: each string column encoded once, rows indexed by device."""

    def __init__(
        self, decisions: pd.DataFrame, episodes: pd.DataFrame, variants: Sequence[str] = ()
    ) -> None:
        self.variant, self.management, self.app = (
            _encode(decisions[name]) for name in ("variant", "management", "app")
        )
        self.variants = _first_seen(variants, self.variant[1], _encode(episodes["variant"])[1])
        self.stride = _stride(decisions, episodes)
        index = decisions["device_index"].to_numpy(dtype=np.int64)
        self.key = _recode(self.variant, self.variants) * self.stride + index
        self.time = decisions["time_min"].to_numpy(dtype=np.float64)
        self.session_end = decisions["session_end_min"].to_numpy(dtype=np.float64)
        self.launch = _codes(decisions["trigger"], ("launch",)) == 0
        self.checkin = _codes(decisions["trigger"], ("checkin",)) == 0
        self.outcome = _codes(decisions["outcome"], _OUTCOMES)
        self.reason = _codes(decisions["reason"], _REASONS)
        self.true_rank = _codes(decisions["true_level"], LEVELS)
        self.max_rank = _codes(decisions["max_allowed"], LEVELS)  # -1: no threat check
        self.by_device = _by_key_time(self.key, self.time)  # rows by (device, time)
        self._by_device_app: IntArray | None = None

    @property
    def group(self) -> IntArray:
        """Per row, one integer per (variant, device, app)."""
        group: IntArray = self.key * (len(self.app[1]) + 1) + self.app[0]
        return group

    @property
    def by_device_app(self) -> IntArray:
        """Rows ordered by (device, app, time, row): :attr:`by_device` stably sorted by
        app within each device (computed once; two metrics walk it)."""
        if self._by_device_app is None:
            order = np.argsort(self.group[self.by_device], kind="stable")
            self._by_device_app = self.by_device[order]
        return self._by_device_app

    def first_row(self, mask: BoolArray, key: IntArray, at: FloatArray) -> FloatArray:
        """Per query, the time of the device's first ``mask`` row at or after ``at`` (inf: none)."""
        rows = self.by_device[mask[self.by_device]]
        idx = _lookup(self.key[rows], self.time[rows], key, at, after=True)
        times = np.full(key.size, np.inf)
        times[idx >= 0] = self.time[rows[idx[idx >= 0]]]
        return times


class _SessionTime:
    """Per device key, the minutes of given sessions before any time (sessions may overlap).

    With sessions [s, e) of one device, the minutes before t are
    Σ_{s ≤ t} (t − s) − Σ_{e ≤ t} (t − e): per device, sorted starts and ends with running
    sums answer every query by binary search. Running sums restart at each device, so
    their size stays that of one device's session time.
    """

    def __init__(self, log: _Log, rows: BoolArray, horizon: Minutes) -> None:
        # in the log's (device, time) order the starts are sorted already, and the stops
        # nearly; equal stops may swap, which changes no running sum
        chosen = log.by_device[rows[log.by_device]]
        key, start = log.key[chosen], log.time[chosen]
        stop = np.maximum(np.minimum(log.session_end[chosen], horizon), start)
        self._starts = self._running(key, start)
        order = _by_key_time(key, stop)
        self._stops = self._running(key[order], stop[order])

    @staticmethod
    def _running(key: IntArray, time: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
        """Items sorted by (key, time), with each key's running sum of the times."""
        running = np.asarray(pd.Series(time).groupby(key).cumsum(), dtype=np.float64)
        return key, time, running

    @staticmethod
    def _sum_until(
        items: tuple[IntArray, FloatArray, FloatArray], key: IntArray, t: FloatArray
    ) -> FloatArray:
        """Σ (t − item) over the key's items at or before t."""
        item_key, item_time, running = items
        slices = _slices(item_key, key)
        first = slices[0]
        idx = _lookup(item_key, item_time, key, t, after=False, slices=slices)
        found = idx >= 0
        out = np.zeros(key.size)
        i = idx[found]
        out[found] = (i - first[found] + 1) * t[found] - running[i]
        return out

    def before(self, key: IntArray, t: FloatArray) -> FloatArray:
        """Per query, the session minutes of device ``key`` before time ``t``."""
        return self._sum_until(self._starts, key, t) - self._sum_until(self._stops, key, t)


# -- per episode ---------------------------------------------------------------------------
def episode_outcomes(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    horizon: Minutes,
    devices: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What happened to each threat episode under each variant (concatenable across chunks).

    Parameters
    ----------
    decisions, episodes
        The decision log and episodes table of the same devices (all variants).
    horizon
        End of the simulated time, minutes.
    devices
        The devices table, for each episode's ``management`` (else taken from the
        device's decision rows; missing if it has none).

    Returns
    -------
    pandas.DataFrame
        One row per variant × episode, columns :data:`OUTCOME_COLUMNS`. ``over_max``: the
        severity exceeds the strictest max allowed level of the device's decision rows
        (devices with no targeted row, or only ``not_configured``, have none).
        ``enforced``: over max, and a ``threat_level_exceeded`` row on the device in
        [onset, end); ``time_to_protect_min`` = that row's time − onset, minutes (NaN if
        not enforced). ``time_to_restore_min``: for enforced episodes, end → the first
        allow row of a targeted app (reason not ``not_targeted``) on the device at or after
        the end, minutes (NaN, and ``never_restored``, if none before the horizon).
        ``exposed_minutes``: minutes of granted sessions (launch to session end, any app
        on the device, targeted or not) inside [onset, end), both clipped to the horizon;
        summed over sessions, so two apps in use at once count twice, as in
        ``exposed_minutes_{low,medium,high}``.
    """
    return _episode_outcomes(_Log(decisions, episodes), episodes, decisions, devices, horizon)


def _episode_outcomes(
    log: _Log,
    episodes: pd.DataFrame,
    decisions: pd.DataFrame,
    devices: pd.DataFrame | None,
    horizon: Minutes,
) -> pd.DataFrame:
    key = _device_keys(episodes, log.variants, log.stride)
    onset = episodes["onset_min"].to_numpy(dtype=np.float64)
    end = episodes["end_min"].to_numpy(dtype=np.float64)
    limited = log.max_rank >= 0
    strictest = pd.Series(log.max_rank[limited]).groupby(log.key[limited]).min()
    device_max = strictest.reindex(key).to_numpy(dtype=np.float64)  # NaN: no threat check
    over_max = _codes(episodes["severity"], LEVELS) > device_max

    denial = log.first_row(log.reason == _REASONS.index(Reason.THREAT_LEVEL_EXCEEDED), key, onset)
    granted = (log.outcome == _OUTCOMES.index(Outcome.ALLOW)) & (
        log.reason != _REASONS.index(Reason.NOT_TARGETED)
    )
    restore = log.first_row(granted, key, end)

    granted_rows = log.launch & (log.outcome == _OUTCOMES.index(Outcome.ALLOW))
    sessions = _SessionTime(log, granted_rows, horizon)
    stop = np.maximum(np.minimum(end, horizon), onset)
    exposed = sessions.before(key, stop) - sessions.before(key, onset)
    exposed[exposed < _TOLERANCE_MIN] = 0.0  # rounding residue of the running sums

    source = devices if devices is not None and len(devices) else decisions
    management = _episode_managements(episodes, source, log.variants, log.stride)
    return _outcome_frame(episodes, management, over_max, denial, restore, exposed, horizon)


def _episode_managements(
    episodes: pd.DataFrame, source: pd.DataFrame, variants: Sequence[str], stride: int
) -> npt.NDArray[np.object_]:
    """Each episode's management, from its device's first row in ``source`` (devices or
    decisions; missing if it has none)."""
    key = _device_keys(episodes, variants, stride)
    source_key = _device_keys(source, variants, stride)
    unique = ~pd.Index(source_key).duplicated()
    managements = pd.Series(
        source["management"].to_numpy(dtype=object)[unique], index=source_key[unique]
    )
    found: npt.NDArray[np.object_] = managements.reindex(key).to_numpy(dtype=object)
    return found


def _outcome_frame(
    episodes: pd.DataFrame,
    management: npt.NDArray[np.object_],
    over_max: BoolArray,
    denial: FloatArray,
    restore: FloatArray,
    exposed: FloatArray,
    horizon: Minutes,
) -> pd.DataFrame:
    """:func:`episode_outcomes`' table from its per-episode inputs: whether the severity is
    over the device's strictest max, the first threat denial at or after the onset and the
    first targeted allow at or after the end (inf: none), and the exposed minutes."""
    onset = episodes["onset_min"].to_numpy(dtype=np.float64)
    end = episodes["end_min"].to_numpy(dtype=np.float64)
    severity = _codes(episodes["severity"], LEVELS)
    threat_denied = denial < end
    enforced = over_max & threat_denied
    active = end >= horizon
    restored = enforced & (restore < horizon)
    time_to_restore = np.full(end.size, np.nan)
    time_to_restore[restored] = restore[restored] - end[restored]
    text = {name: episodes[name].to_numpy(dtype=object) for name in _OUTCOME_TEXT}
    text["management"] = management
    frame = pd.DataFrame(
        {
            **text,
            "device_index": episodes["device_index"].to_numpy(dtype=np.int64),
            "onset_min": onset,
            "end_min": end,
            "detected": episodes["detected_min"].to_numpy(dtype=np.float64) < np.inf,
            "over_max": over_max,
            "enforced": enforced,
            "never_enforced": over_max & ~enforced,
            "threat_denied": threat_denied,
            "active_at_horizon": active,
            **{
                f"never_enforced_{s}": (severity >= rank) & ~threat_denied & ~active
                for rank, s in enumerate(LEVELS)
                if rank
            },
            "time_to_protect_min": np.where(enforced, denial - onset, np.nan),
            "never_restored": enforced & ~restored,
            "time_to_restore_min": time_to_restore,
            "exposed_minutes": exposed,
        },
        columns=list(OUTCOME_COLUMNS),
    )
    return frame.astype(dict.fromkeys([*_OUTCOME_TEXT, "management"], "str"))


# -- per decision row ----------------------------------------------------------------------
def _row_figures(
    log: _Log, episodes: pd.DataFrame, horizon: Minutes, hours: WorkingHours
) -> dict[str, FloatArray | BoolArray]:
    """Per decision row, its contribution to every additive decision metric."""
    outcome, reason = log.outcome, log.reason
    allow = outcome == _OUTCOMES.index(Outcome.ALLOW)
    wipe = outcome == _OUTCOMES.index(Outcome.WIPE)
    deny = (outcome >= 0) & ~allow
    evaluation = (reason != _REASONS.index(Reason.PREVIOUS_ALLOW)) & (
        reason != _REASONS.index(Reason.PREVIOUS_DENIAL)
    )
    threat = reason == _REASONS.index(Reason.THREAT_LEVEL_EXCEEDED)
    unneeded = threat & (log.true_rank <= log.max_rank)
    granted = log.launch & allow
    figures: dict[str, FloatArray | BoolArray] = {
        "launches": log.launch,
        "checkins": log.checkin,
        "evaluations": evaluation,
    }
    for code, name in enumerate(_OUTCOMES):
        figures[f"evaluations_{name}"] = evaluation & (outcome == code)
    for code, name in enumerate(_REASONS):
        figures[f"reason_{name}"] = reason == code
    for rank, name in enumerate(LEVELS):
        if rank:
            figures[f"exposed_launches_{name}"] = granted & (log.true_rank >= rank)
    unneeded_blocks = unneeded & (outcome == _OUTCOMES.index(Outcome.BLOCK))
    figures["unneeded_blocks"] = unneeded_blocks
    figures["unneeded_wipes"] = unneeded & wipe
    figures["unneeded_denials"] = unneeded_blocks | (unneeded & wipe)
    figures["onboarding_blocks"] = deny & (reason == _REASONS.index(Reason.MTD_NOT_ACTIVATED))
    figures["wipe_events"] = wipe & evaluation  # a repeated denial is not a new decision
    figures["wipes"] = _data_wipes(log, wipe & evaluation, allow)[0]

    rows = log.by_device[granted[log.by_device]]  # sorted by device: faster lookups
    start = log.time[rows]
    stop = np.maximum(np.minimum(log.session_end[rows], horizon), start)
    figures["granted_minutes"] = _spread(rows, stop - start, log.time.size)
    for name, periods in _at_least(episodes, log.variants, log.stride, horizon).items():
        minutes = periods.overlap(log.key[rows], start, stop)
        figures[f"exposed_minutes_{name}"] = _spread(rows, np.maximum(minutes, 0.0), log.time.size)
    # blocked_user_minutes itself is the sum of these, formed per table (_as_counts)
    figures.update(_blocked_minutes(log, deny, horizon, hours))
    return figures


def _data_wipes(log: _Log, wipe: BoolArray, allow: BoolArray) -> tuple[BoolArray, BoolArray]:
    """Per row: a wipe that removed data, and the first such wipe of its device+app.

    Per device+app in time order, a wipe removes data if it is the first wipe or if a
    granted access (an allow row) came after the previous wipe; a wipe that repeats while
    the user retries removes nothing new.
    """
    size = log.time.size
    order = log.by_device_app
    rows = order[(wipe | allow)[order]]  # by (device, app, time, row)
    group = log.group[rows]
    same = np.zeros(rows.size, dtype=bool)
    same[1:] = group[1:] == group[:-1]
    after_wipe = np.zeros(rows.size, dtype=bool)
    after_wipe[1:] = wipe[rows[:-1]]
    removes = wipe[rows] & ~(same & after_wipe)
    data = np.zeros(size, dtype=bool)
    data[rows[removes]] = True
    first = np.zeros(size, dtype=bool)
    wiped = rows[removes]
    if wiped.size:
        _, at = np.unique(group[removes], return_index=True)
        first[wiped[at]] = True
    return data, first


def _devices_wiped(log: _Log) -> tuple[BoolArray, BoolArray]:
    """Rows that count a wiped device: its first data-removing wipe (any app), and its
    first per app."""
    wipe = (log.outcome == _OUTCOMES.index(Outcome.WIPE)) & (
        log.reason != _REASONS.index(Reason.PREVIOUS_DENIAL)
    )
    allow = log.outcome == _OUTCOMES.index(Outcome.ALLOW)
    data, per_app = _data_wipes(log, wipe, allow)
    per_device = np.zeros(log.time.size, dtype=bool)
    rows = np.flatnonzero(data)
    if rows.size:
        order = np.lexsort((rows, log.time[rows], log.key[rows]))
        rows = rows[order]
        _, at = np.unique(log.key[rows], return_index=True)
        per_device[rows[at]] = True
    return per_device, per_app


def _spread(rows: IntArray, values: FloatArray, size: int) -> FloatArray:
    out = np.zeros(size)
    out[rows] = values
    return out


_CAUSE_OF_REASON: Final = {
    Reason.THREAT_LEVEL_EXCEEDED: 0,
    Reason.CONNECTOR_DISABLED: 0,
    Reason.PARTNER_UNRESPONSIVE: 0,
    Reason.MTD_NOT_ACTIVATED: 1,
    Reason.OFFLINE_BLOCK: 2,
    Reason.OFFLINE_WIPE: 2,
}
"""Reason → index in :data:`BLOCKED_CAUSES`; ``previous_denial`` inherits (see below)."""


def _blocked_minutes(
    log: _Log, deny: BoolArray, horizon: Minutes, hours: WorkingHours
) -> dict[str, FloatArray]:
    """Per row and cause (:data:`BLOCKED_BY_CAUSE`): at a denial, the minutes until the next
    row of that device+app, or the horizon, under the denial's cause; 0 elsewhere. A denial
    during a granted session that continues (``midsession_enforcement = false``) counts from
    the session's end.

    Summed over a streak of denials the pieces run from its first denial to the next
    allow (or the horizon). A ``previous_denial`` row takes the cause of the latest earlier
    row of its device+app that is not a reuse (the evaluation it repeats); without one,
    and for a denial with any other reason, the cause is threat. :data:`BLOCKED_WORKING`
    are the same pieces' minutes inside working hours (``hours``, Monday–Friday).
    """
    order = log.by_device_app
    group, denied, time = log.group[order], deny[order], log.time[order]
    n = order.size
    new_group = np.r_[True, group[1:] != group[:-1]] if n else np.zeros(0, dtype=bool)
    last_in_group = np.r_[new_group[1:], True] if n else np.zeros(0, dtype=bool)
    stop = np.where(last_in_group, horizon, np.r_[time[1:], horizon] if n else time)
    # A denial inside a granted session that goes on (midsession_enforcement = false) blocks
    # the user only once that session ends: no minute is both granted and blocked.
    granted = log.launch[order] & (log.outcome[order] == _OUTCOMES.index(Outcome.ALLOW))
    ends = np.where(granted, log.session_end[order], -np.inf)
    granted_until = pd.Series(ends).groupby(group).cummax().to_numpy() if n else ends
    start = np.maximum(time, np.minimum(granted_until, horizon))
    piece = np.where(denied, np.maximum(stop - start, 0.0), 0.0)

    by_reason = np.zeros(len(_REASONS) + 1, dtype=np.int64)  # last slot: invalid (-1)
    for reason, cause_code in _CAUSE_OF_REASON.items():
        by_reason[_REASONS.index(reason)] = cause_code
    for reuse in (Reason.PREVIOUS_ALLOW, Reason.PREVIOUS_DENIAL):
        by_reason[_REASONS.index(reuse)] = -1
    own = by_reason[log.reason[order]]
    source = np.where((own >= 0) | new_group, np.arange(n), 0)
    cause = own[np.maximum.accumulate(source)] if n else own
    cause = np.where(cause < 0, 0, cause)  # a group that opens with a reuse

    out: dict[str, FloatArray] = {}
    for code, name in enumerate(BLOCKED_BY_CAUSE):
        values = np.zeros(n)
        values[order] = np.where(cause == code, piece, 0.0)
        out[name] = values
    working = np.where(denied, working_minutes(start, np.maximum(stop, start), hours), 0.0)
    for name, keep in zip(BLOCKED_WORKING, (np.ones(n, dtype=bool), cause == 0), strict=True):
        values = np.zeros(n)
        values[order] = np.where(keep, working, 0.0)
        out[name] = values
    return out


# -- per segment ---------------------------------------------------------------------------
class _Segments:
    """Sums of figures per variant × segment, for each ``segment_by``.

    Rows are first summed per (variant, management, app) cell — every segment is a union of
    cells — with one more slot per dimension for a missing value (counted in ``all`` only).
    """

    def __init__(self, variants: list[str], managements: list[str], apps: list[str]) -> None:
        self.names = {"all": ["all"], "management": managements, "app": apps}
        self.variants = variants
        self.shape = (len(variants), len(managements) + 1, len(apps) + 1)
        self.sums: dict[str, dict[str, FloatArray]] = {by: {} for by in SEGMENT_BYS}

    @property
    def vocabularies(self) -> tuple[list[str], list[str], list[str]]:
        """The variants, managements and apps the cells are numbered by."""
        return self.variants, self.names["management"], self.names["app"]

    def cells(
        self, variant: IntArray, management: IntArray | None = None, app: IntArray | None = None
    ) -> IntArray:
        """Each row's cell (-1: no variant); a dimension not given is the missing slot."""
        _, nm, na = self.shape
        m = np.full(variant.size, nm - 1) if management is None else management
        a = np.full(variant.size, na - 1) if app is None else app
        cell = (variant * nm + np.where(m < 0, nm - 1, m)) * na + np.where(a < 0, na - 1, a)
        found: IntArray = np.where(variant < 0, -1, cell)
        return found

    def add(
        self,
        name: str,
        cells: IntArray,
        weights: FloatArray | BoolArray | None = None,
        into: Sequence[str] = SEGMENT_BYS,
    ) -> None:
        """Count rows (bool ``weights``: the rows flagged) or sum ``weights`` per segment."""
        if weights is not None and weights.dtype == np.bool_:
            cells, weights = cells[weights], None
        ok = cells >= 0
        w = None if weights is None else weights[ok]
        size = self.shape[0] * self.shape[1] * self.shape[2]
        fine = np.bincount(cells[ok], weights=w, minlength=size).reshape(self.shape)
        self.add_cells(name, fine, into)

    def add_cells(
        self, name: str, fine: npt.NDArray[Any], into: Sequence[str] = SEGMENT_BYS
    ) -> None:
        """Sum per segment a figure already summed per cell (C-contiguous, :attr:`shape`)."""
        sums = {
            "all": fine.sum(axis=(1, 2))[:, None],
            "management": fine.sum(axis=2)[:, :-1],
            "app": fine.sum(axis=1)[:, :-1],
        }
        for segment_by in into:
            self.sums[segment_by][name] = sums[segment_by].astype(np.float64)

    def frame(self) -> pd.DataFrame:
        """:data:`KEY_COLUMNS` and :data:`COUNT_COLUMNS` (NaN where not added), one row
        per segment with a row, a device or an episode in it."""
        keys: list[list[npt.NDArray[np.object_]]] = [[], [], []]
        blocks = []
        for segment_by, names in self.names.items():
            sums = self.sums[segment_by]
            blank = np.full((len(self.variants), len(names)), np.nan)
            seen = sums["rows"] + sums["devices"] + np.nan_to_num(sums.get("episodes", blank))
            keep = seen.reshape(-1) > 0
            block = np.stack([sums.get(c, blank).reshape(-1) for c in COUNT_COLUMNS], axis=1)
            blocks.append(block[keep])
            variants = np.repeat(np.asarray(self.variants, dtype=object), len(names))
            keys[0].append(variants[keep])
            keys[1].append(np.full(int(keep.sum()), segment_by, dtype=object))
            segments = np.tile(np.asarray(names, dtype=object), len(self.variants))
            keys[2].append(segments[keep])
        values = np.concatenate(blocks)
        columns: dict[str, npt.NDArray[Any]] = {
            name: np.concatenate(parts) for name, parts in zip(KEY_COLUMNS, keys, strict=True)
        }
        columns |= {name: values[:, i] for i, name in enumerate(COUNT_COLUMNS)}
        return _as_counts(pd.DataFrame(columns))


def count_metrics(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    devices: pd.DataFrame,
    horizon: Minutes,
    *,
    outcomes: pd.DataFrame | None = None,
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
) -> pd.DataFrame:
    """Additive metrics per variant × segment, for one chunk of devices or a whole run.

    Parameters
    ----------
    decisions, episodes, devices
        The three tables of the same devices (:mod:`simulator.sim.log` schemas).
    horizon
        End of the simulated time, minutes.
    outcomes
        :func:`episode_outcomes` of the same tables, if already computed.
    working_hours
        Working hours [start, end) of Monday–Friday (the scenario's
        ``launches.working_hours``), for :data:`BLOCKED_WORKING` and ``users_affected``.

    Returns
    -------
    pandas.DataFrame
        :data:`KEY_COLUMNS` then :data:`COUNT_COLUMNS`: counts (per event) and summed
        durations (minutes). Rows with the same keys add up across disjoint chunks
        (:func:`combine_counts`); per-episode counts are NaN for ``app`` segments. There is
        a row for each segment with a device, a decision row or an episode in it.
    """
    return _counts(decisions, episodes, devices, horizon, outcomes, working_hours)[0]


def counts_and_outcomes(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    devices: pd.DataFrame,
    horizon: Minutes,
    *,
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`count_metrics` and :func:`episode_outcomes` of the same tables, reading (and
    sorting) the log once instead of twice — what a sweep keeps of each chunk."""
    return _counts(decisions, episodes, devices, horizon, None, working_hours)


class CodedRows(Protocol):
    """One variant's decision rows of a chunk as the compiled engine writes them
    (:class:`simulator.sim.engine.compiled.CodedDecisions`): integer codes and floats."""

    variant: str
    rows_i: npt.NDArray[np.integer[Any]]
    """Integer columns per row (rows device by device, in the devices table's order)."""
    rows_f: FloatArray
    """Float columns per row."""
    layout: IntArray
    """Columns of :attr:`rows_i`: device position, process, trigger (0 launch, 1 check-in),
    outcome, reason (enum positions), true level; then the true level's code for
    secured; then the columns of :attr:`rows_f`: time, session end."""
    process_app: IntArray
    """Per process, its app (index into :attr:`apps`)."""
    process_max_rank: IntArray
    """Per process, its max allowed level's rank (-1: no threat check)."""
    apps: tuple[str, ...]


_KERNEL_FIGURES: Final = (
    *("rows", "launches", "checkins", "evaluations"),
    *(f"evaluations_{o}" for o in _OUTCOMES),
    *(f"exposed_launches_{s}" for s in SEVERITIES),
    *("unneeded_blocks", "unneeded_wipes", "unneeded_denials", "onboarding_blocks"),
    *("wipe_events", "wipes", "granted_minutes"),
    *(f"exposed_minutes_{s}" for s in SEVERITIES),
    *BLOCKED_BY_CAUSE,
    *BLOCKED_WORKING,
    *("devices_wiped", "devices_wiped_app"),
    *(f"reason_{r}" for r in _REASONS),
)
"""The figures :func:`simulator.analysis._counts_kernel.row_figures` sums per cell, in
the order of its ``G_*`` indices."""


def _kernel_entry_points() -> tuple[Any, ...]:
    from simulator.analysis import _counts_kernel

    return (_counts_kernel.row_figures,)


jit.register("metrics", _kernel_entry_points, "simulator.analysis._counts_kernel")
"""The compiled metrics' first compile runs in the engine warm-up's helper process."""


def _kernel_settings(horizon: Minutes, working_hours: WorkingHours) -> tuple[Any, ...]:
    """The compiled pass's settings: horizon, working hours as :func:`_working_before`
    forms them, each reason's blocked-minutes cause (-1: a reuse, which inherits), and the
    reason codes it tests."""
    cause_of = np.zeros(len(_REASONS) + 1, dtype=np.int64)
    for reason, cause_code in _CAUSE_OF_REASON.items():
        cause_of[_REASONS.index(reason)] = cause_code
    for reuse in (Reason.PREVIOUS_ALLOW, Reason.PREVIOUS_DENIAL):
        cause_of[_REASONS.index(reuse)] = -1
    reason_codes = np.array(
        [
            _REASONS.index(r)
            for r in (
                Reason.THREAT_LEVEL_EXCEEDED,
                Reason.MTD_NOT_ACTIVATED,
                Reason.PREVIOUS_ALLOW,
                Reason.PREVIOUS_DENIAL,
                Reason.NOT_TARGETED,
            )
        ],
        dtype=np.int64,
    )
    start, end = working_hours[0] * 60.0, working_hours[1] * 60.0
    return (float(horizon), start, end - start, cause_of, reason_codes)


def _episode_inputs(
    episodes: pd.DataFrame, rows: IntArray, dev_index: IntArray
) -> tuple[IntArray, tuple[IntArray, FloatArray, FloatArray, IntArray]]:
    """A variant's episodes (``rows`` of the table) grouped by device position, as the
    compiled pass reads them: their rows in that order, and (offsets per device
    position, onset, end, severity rank)."""
    position = np.full(int(dev_index.max(initial=-1)) + 2, -1, dtype=np.int64)
    position[dev_index] = np.arange(dev_index.size)
    index = episodes["device_index"].to_numpy(dtype=np.int64)[rows]
    ep_pos = position[np.minimum(index, position.size - 1)]
    if np.any(ep_pos < 0):
        raise ValueError("every episode's device must be in the devices table")
    order = rows[np.argsort(ep_pos, kind="stable")]
    offsets = np.searchsorted(np.sort(ep_pos), np.arange(dev_index.size + 1), "left")
    return order, (
        offsets.astype(np.int64),
        episodes["onset_min"].to_numpy(dtype=np.float64)[order],
        episodes["end_min"].to_numpy(dtype=np.float64)[order],
        _codes(episodes["severity"], LEVELS)[order],
    )


def coded_counts_and_outcomes(
    parts: Sequence[CodedRows],
    episodes: pd.DataFrame,
    devices: pd.DataFrame,
    horizon: Minutes,
    *,
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`counts_and_outcomes` of a chunk whose decision log is given as the compiled
    engine's coded rows (one part per variant, in order), without building the log.

    The same tables, float for float: the per-row figures come from a compiled pass
    (:mod:`simulator.analysis._counts_kernel`) that repeats the NumPy definitions'
    arithmetic, and the tables are assembled by the same code.
    """
    from simulator.analysis import _counts_kernel as kern

    if len(parts) != len(_first_seen(p.variant for p in parts)):
        raise ValueError("coded parts must be one per variant")
    row_apps: list[str] = []
    for part in parts:
        processes = part.rows_i[:, part.layout[1]]
        played = np.flatnonzero(np.bincount(processes, minlength=1))  # processes with rows
        row_apps.extend(part.apps[a] for a in np.unique(part.process_app[played]))
    device_variants = _encode(devices["variant"])[1]
    variants = _first_seen(
        device_variants,
        [p.variant for p in parts if len(p.rows_i)],
        _encode(episodes["variant"])[1],
    )
    stride = _stride(devices, episodes)
    management = _episode_managements(episodes, devices, variants, stride)
    # inputs of each part, and the per-episode results in the episodes' row order
    n_ep = len(episodes)
    over_max = np.zeros(n_ep, dtype=bool)
    denial, restore, exposed = np.full(n_ep, np.inf), np.full(n_ep, np.inf), np.zeros(n_ep)
    episode_text = pd.DataFrame(
        {"variant": episodes["variant"].to_numpy(dtype=object), "management": management}
    ).astype("str")  # as in the outcomes table
    segments = _segments_for(devices, episode_text, variants, (), row_apps)
    variants, managements, apps = segments.vocabularies
    nv, nm1, na1 = segments.shape
    fine = np.zeros((nv, nm1, na1, len(_KERNEL_FIGURES)))
    affected_all = np.zeros(nv)
    affected_mgmt, affected_app = np.zeros((nv, nm1 - 1)), np.zeros((nv, na1 - 1))
    acc = np.zeros(3)
    ep_variant = _codes(episodes["variant"], variants)
    dev_variant = _codes(devices["variant"], variants)
    settings = _kernel_settings(horizon, working_hours)
    by_variant = {p.variant: p for p in parts}
    for v, name in enumerate(variants):
        given = by_variant.get(name)
        on = np.flatnonzero(dev_variant == v)
        dev_index = devices["device_index"].to_numpy(dtype=np.int64)[on]
        if given is None:
            if np.any(ep_variant == v):
                raise ValueError(f"no coded rows for variant {name!r}")
            continue
        app_of = np.array([apps.index(a) for a in given.apps] or [0], dtype=np.int64)
        rows = (
            given.rows_i,
            given.rows_f,
            np.asarray(given.layout, dtype=np.int64),
            app_of[np.asarray(given.process_app, dtype=np.int64)],
            np.asarray(given.process_max_rank, dtype=np.int64),
        )
        dev_mgmt = _codes(devices["management"].iloc[on], managements)
        dev_user = np.asarray(pd.factorize(devices["user"].iloc[on])[0], dtype=np.int64)
        order = np.argsort(dev_index, kind="stable").astype(np.int64)
        if np.any(dev_mgmt < 0):
            raise ValueError("every device's management must be a known one")
        ep_order, ep_inputs = _episode_inputs(episodes, np.flatnonzero(ep_variant == v), dev_index)
        out_over = np.zeros(ep_order.size, dtype=np.bool_)
        out_denial, out_restore, out_exposed = (np.empty(ep_order.size) for _ in range(3))
        done = kern.row_figures(
            rows,
            (dev_mgmt, dev_user, order),
            ep_inputs,
            settings,
            (
                acc,
                fine[v],
                affected_all[v : v + 1],
                affected_mgmt[v],
                affected_app[v],
                out_over,
                out_denial,
                out_restore,
                out_exposed,
            ),
        )
        if not done:
            raise ValueError("coded rows must come device by device, in the devices' order")
        over_max[ep_order] = out_over
        denial[ep_order], restore[ep_order], exposed[ep_order] = (
            out_denial,
            out_restore,
            out_exposed,
        )
    outcomes = _outcome_frame(episodes, management, over_max, denial, restore, exposed, horizon)
    for f, name in enumerate(_KERNEL_FIGURES):
        cells = np.ascontiguousarray(fine[..., f])
        if name == "devices_wiped":
            segments.add_cells(name, cells, into=("all", "management"))
        elif name == "devices_wiped_app":
            segments.add_cells("devices_wiped", cells, into=("app",))
        else:
            segments.add_cells(name, cells)
    segments.sums["all"]["users_affected"] = affected_all[:, None]
    segments.sums["management"]["users_affected"] = affected_mgmt
    segments.sums["app"]["users_affected"] = affected_app
    _add_devices_and_episodes(segments, devices, outcomes)
    return segments.frame(), outcomes


def _first_of_groups(group: IntArray, qualifies: BoolArray | None = None) -> BoolArray:
    """Per row: the first row of its group (-1: no group), where the group qualifies.

    ``group`` numbers its groups in order of first appearance (:func:`_group_ids`), so a
    group's first row is where its id exceeds every id before it: one pass, no sort.
    """
    first = np.zeros(group.size, dtype=bool)
    valid = np.flatnonzero(group >= 0)
    if valid.size:
        ids = group[valid]
        before = np.maximum.accumulate(np.concatenate(([-1], ids[:-1])))
        first[valid[ids > before]] = True
    if qualifies is not None:
        first &= qualifies
    return first


def _group_ids(*codes: IntArray) -> IntArray:
    """One id per distinct combination of the code columns (-1 where any code is -1).

    Ids number the combinations in order of first appearance (what
    :func:`_first_of_groups` relies on). The columns are combined into one integer (mixed
    radix), which a hash table numbers in one pass (``pd.factorize``), much faster than
    making rows of a 2-D array unique.
    """
    n = codes[0].size
    columns = [np.asarray(c, dtype=np.int64) for c in codes]
    missing = np.zeros(n, dtype=bool)
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for column in columns:
        missing |= column < 0
        base = int(column.max()) + 2 if n else 1
        span *= base
        key = key * base + (column + 1)
    grouped: IntArray = np.full(n, -1, dtype=np.int64)
    valid = ~missing
    if span >= 2**62:  # too many combinations for one integer: rows of a 2-D array
        rows = np.column_stack(columns)[valid]
        _, at, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        rank = np.empty(at.size, dtype=np.int64)
        rank[np.argsort(at, kind="stable")] = np.arange(at.size)  # first-appearance order
        grouped[valid] = rank[np.asarray(inverse).reshape(-1)]
    else:
        grouped[valid] = pd.factorize(key[valid])[0]
    return grouped


def _add_users(
    segments: _Segments,
    codes: tuple[IntArray, IntArray, IntArray],
    user: IntArray,
    into_app: tuple[IntArray, IntArray, IntArray] | None = None,
    *,
    name: str = "users",
    minutes: FloatArray | None = None,
) -> None:
    """Count distinct users per segment (rows coded variant, management, app, user).

    With ``minutes`` (per row), only users whose rows in the segment sum to more than
    :data:`AFFECTED_AFTER_MIN` count. ``into_app`` codes the app segments' rows when they
    come from another table (devices × apps); by default the same rows.
    """
    variant, management, app = codes
    for segment_by, parts in (("all", (variant,)), ("management", (variant, management))):
        group = _group_ids(*parts, user)
        qualifies = None
        if minutes is not None:
            total = np.bincount(np.maximum(group, 0), weights=np.where(group >= 0, minutes, 0))
            qualifies = total[np.maximum(group, 0)] > AFFECTED_AFTER_MIN
        cells = segments.cells(variant, management if segment_by != "all" else None)
        segments.add(name, cells, _first_of_groups(group, qualifies), into=(segment_by,))
    v, a, u = into_app if into_app is not None else (variant, app, user)
    group = _group_ids(v, a, u)
    qualifies = None
    if minutes is not None:
        total = np.bincount(np.maximum(group, 0), weights=np.where(group >= 0, minutes, 0))
        qualifies = total[np.maximum(group, 0)] > AFFECTED_AFTER_MIN
    segments.add(name, segments.cells(v, app=a), _first_of_groups(group, qualifies), into=("app",))


def _counts(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    devices: pd.DataFrame,
    horizon: Minutes,
    outcomes: pd.DataFrame | None,
    hours: WorkingHours = DEFAULT_WORKING_HOURS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`count_metrics` and :func:`episode_outcomes`, reading the log once."""
    device_variant = _encode(devices["variant"])
    log = _Log(decisions, episodes, device_variant[1])
    if outcomes is None:
        outcomes = _episode_outcomes(log, episodes, decisions, devices, horizon)
    segments = _segments_for(devices, outcomes, log.variants, log.management[1], log.app[1])
    variants, managements, apps = segments.vocabularies

    row_codes = (
        _recode(log.variant, variants),
        _recode(log.management, managements),
        _recode(log.app, apps),
    )
    cells = segments.cells(*row_codes)
    segments.add("rows", cells)
    figures = _row_figures(log, episodes, horizon, hours)
    for name, values in figures.items():
        segments.add(name, cells, values)
    per_device, per_app = _devices_wiped(log)
    segments.add("devices_wiped", cells, per_device, into=("all", "management"))
    segments.add("devices_wiped", cells, per_app, into=("app",))
    users = _first_seen(_encode(devices["user"])[1], _encode(decisions["user"])[1])
    threat_working = np.asarray(figures["blocked_working_minutes_threat"], dtype=np.float64)
    _add_users(
        segments,
        row_codes,
        _codes(decisions["user"], users),
        name="users_affected",
        minutes=threat_working,
    )
    _add_devices_and_episodes(segments, devices, outcomes)
    return segments.frame(), outcomes


def _segments_for(
    devices: pd.DataFrame,
    outcomes: pd.DataFrame,
    variants: Sequence[str],
    managements: Iterable[str],
    apps: Iterable[str],
) -> _Segments:
    """The segments of a chunk: its variants, managements and apps (those of the log's
    rows given, and of the devices and episode outcomes)."""
    outcome_variant, outcome_management = (
        _encode(outcomes[name]) for name in ("variant", "management")
    )
    device_management = _encode(devices["management"])[1]
    return _Segments(
        _first_seen(variants, outcome_variant[1]),
        _managements(_first_seen(managements, device_management, outcome_management[1])),
        sorted(_first_seen(apps, _listed_apps(devices))),
    )


def _listed_apps(devices: pd.DataFrame) -> pd.Series:
    """Each device's apps (its ``apps`` list split), indexed by the device's position."""
    listed = pd.Series(devices["apps"].fillna("").to_numpy(dtype=str)).str.split(",").explode()
    return listed[listed != ""]


def _add_devices_and_episodes(
    segments: _Segments, devices: pd.DataFrame, outcomes: pd.DataFrame
) -> None:
    """The counts that come from the devices table (devices, users) and the episode
    outcomes (episodes and their flags)."""
    variants, managements, apps = segments.vocabularies
    device_variant, device_management = (
        _encode(devices[name]) for name in ("variant", "management")
    )
    device_apps = _listed_apps(devices)
    device_variants = _recode(device_variant, variants)
    by_device = segments.cells(device_variants, _recode(device_management, managements))
    segments.add("devices", by_device, into=("all", "management"))
    owners = device_variants[device_apps.index.to_numpy(dtype=np.int64)]
    by_app = segments.cells(owners, app=_codes(device_apps, apps))
    segments.add("devices", by_app, into=("app",))
    device_users = _codes(devices["user"], _encode(devices["user"])[1])
    app_rows = device_apps.index.to_numpy(dtype=np.int64)
    _add_users(
        segments,
        (device_variants, _recode(device_management, managements), np.full(device_users.size, -1)),
        device_users,
        (owners, _codes(device_apps, apps), device_users[app_rows]),
    )

    outcome_variant, outcome_management = (
        _encode(outcomes[name]) for name in ("variant", "management")
    )
    by_episode = segments.cells(
        _recode(outcome_variant, variants), _recode(outcome_management, managements)
    )
    device_level = ("all", "management")
    segments.add("episodes", by_episode, into=device_level)
    undetected = ~outcomes["detected"].to_numpy(dtype=bool)
    segments.add("undetected_episodes", by_episode, undetected, into=device_level)
    for name in EPISODE_COUNTS[2:]:
        flags = outcomes[name.removeprefix("episodes_")].to_numpy(dtype=bool)  # over_max, …
        segments.add(name, by_episode, flags, into=device_level)


_COUNT_TYPES: Final = {
    **dict.fromkeys(KEY_COLUMNS, "str"),
    **dict.fromkeys(("devices", *USER_COUNTS, *DECISION_COUNTS, *DEVICE_COUNTS), "int64"),
}


def _as_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Keys as text, counts as integers; minutes and NaN-bearing columns stay float;
    ``blocked_user_minutes`` the sum of its causes (so that they add up exactly)."""
    threat, onboarding, offline = (frame[name] for name in BLOCKED_BY_CAUSE)
    frame = frame.assign(blocked_user_minutes=threat + onboarding + offline)
    return frame.astype(_COUNT_TYPES).reset_index(drop=True)


def combine_counts(counts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up :func:`count_metrics` tables of disjoint chunks (same keys add; NaN stays NaN)."""
    frame = pd.concat(list(counts), ignore_index=True)
    summed = frame.groupby(list(KEY_COLUMNS), sort=False).sum(min_count=1).reset_index()
    return _as_counts(_ordered(summed[[*KEY_COLUMNS, *COUNT_COLUMNS]]))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in canonical order: variants as first seen; all, management, app; segments in
    management order / sorted."""
    variants = _first_seen(frame["variant"])
    managements = _managements(frame.loc[frame["segment_by"] == "management", "segment"])
    seg_rank = {("all", "all"): 0}
    seg_rank |= {("management", m): 1 + i for i, m in enumerate(managements)}
    apps = sorted(frame.loc[frame["segment_by"] == "app", "segment"].astype(str))
    seg_rank |= {("app", a): 1 + len(managements) + i for i, a in enumerate(apps)}
    rank = [
        seg_rank[(b, str(s))] for b, s in zip(frame["segment_by"], frame["segment"], strict=True)
    ]
    order = np.lexsort((np.asarray(rank), _codes(frame["variant"], variants)))
    return frame.iloc[order].reset_index(drop=True)


def summarize(counts: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The final metrics table: one row per variant × segment_by × segment.

    Parameters
    ----------
    counts
        :func:`count_metrics` of one run, or of its chunks concatenated (same keys add).
    outcomes
        :func:`episode_outcomes` of the same devices (chunks concatenated).

    Returns
    -------
    pandas.DataFrame
        :data:`KEY_COLUMNS` then :data:`METRIC_COLUMNS`; the quantile columns are durations
        in minutes (median and 95th percentile over enforced / restored episodes), NaN when
        there are none and for ``app`` segments.
    """
    table = combine_counts([counts])
    for name in EPISODE_QUANTILES:
        table[name] = np.nan
    groups = {
        "all": outcomes.assign(segment="all").groupby(["variant", "segment"], sort=False),
        "management": outcomes.groupby(["variant", "management"], sort=False),
    }
    for segment_by, grouped in groups.items():
        for (variant, segment), part in grouped:
            row = (table["variant"] == variant) & (table["segment_by"] == segment_by)
            row &= table["segment"] == segment
            protect = _quantiles(part["time_to_protect_min"])
            restore = _quantiles(part["time_to_restore_min"])
            table.loc[row, list(EPISODE_QUANTILES)] = [*protect, *restore]
    return table


def blocked_hours_per_user(
    decisions: pd.DataFrame,
    episodes: pd.DataFrame,
    horizon: Minutes,
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
) -> pd.DataFrame:
    """Who gets hurt: per variant and user, the working hours blocked for threat level.

    Parameters
    ----------
    decisions, episodes
        A run's decision log and episodes (all variants, or one).
    horizon
        End of the simulated time, minutes.
    working_hours
        Working hours [start, end) of Monday–Friday.

    Returns
    -------
    pandas.DataFrame
        ``variant, user, blocked_working_hours_threat, affected`` — one row per variant ×
        user with a decision row; ``affected``: more than :data:`AFFECTED_AFTER_MIN`
        working minutes (the ``users_affected`` metric counts these).
    """
    columns = ["variant", "user", "blocked_working_hours_threat", "affected"]
    if decisions.empty:
        return pd.DataFrame(columns=columns)
    log = _Log(decisions, episodes)
    deny = (log.outcome >= 0) & (log.outcome != _OUTCOMES.index(Outcome.ALLOW))
    minutes = _blocked_minutes(log, deny, horizon, working_hours)["blocked_working_minutes_threat"]
    frame = pd.DataFrame(
        {
            "variant": decisions["variant"].astype(str).to_numpy(),
            "user": decisions["user"].astype(str).to_numpy(),
            "minutes": minutes,
        }
    )
    table = frame.groupby(["variant", "user"], sort=False)["minutes"].sum().reset_index()
    table["blocked_working_hours_threat"] = table.pop("minutes") / 60.0
    table["affected"] = table["blocked_working_hours_threat"] * 60.0 > AFFECTED_AFTER_MIN
    return table[columns]


def compute_metrics(result: RunResult) -> pd.DataFrame:
    """:func:`summarize` of a whole run (see the module docstring for every metric)."""
    return run_metrics(result)[0]


def run_metrics(result: RunResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's metrics table and its :func:`episode_outcomes`, reading the log once."""
    model = result.scenario.model
    counts, outcomes = _counts(
        result.decisions,
        result.episodes,
        result.devices,
        model.horizon,
        None,
        model.launches.working_hours,
    )
    return summarize(counts, outcomes), outcomes


def to_long(metrics: pd.DataFrame) -> pd.DataFrame:
    """The metrics table in long form: variant, segment_by, segment, metric, value.

    One row per metric of each input row, in the input's row order then metric order;
    ``value`` is float (NaN where a metric does not apply).
    """
    names = [m for m in METRIC_COLUMNS if m in metrics.columns]
    n = len(metrics)
    long = {k: np.repeat(metrics[k].to_numpy(), len(names)) for k in KEY_COLUMNS}
    long["metric"] = np.tile(np.asarray(names, dtype=object), n)
    long["value"] = metrics[names].to_numpy(dtype=np.float64).reshape(-1)
    return pd.DataFrame(long)


# -- invariants ----------------------------------------------------------------------------
_TOLERANCE_MIN: Final = 1e-6


def check_consistency(result: RunResult, metrics: pd.DataFrame | None = None) -> list[str]:
    """Violations of the decision log's invariants, one readable sentence each (empty: fine).

    Checks the rows (valid trigger, outcome and reason; one row per launch; previous-allow
    rows are granted launches; session ends within [time, horizon], equal to the time for
    denials and check-ins; the recorded true level agrees with the episodes table), the
    episodes (onset ≤ end ≤ natural end) and the metrics (outcomes and reasons add up to
    rows; exposure monotone in severity and bounded by launches / granted minutes;
    management segments add up to ``all``; launches equal across variants, which share a
    world). ``metrics``: :func:`compute_metrics` of ``result``, if already computed.
    """
    problems = log_violations(result)
    problems.extend(metric_violations(compute_metrics(result) if metrics is None else metrics))
    return problems


def log_violations(result: RunResult) -> list[str]:
    """The row and episode checks of :func:`check_consistency` alone: they hold for any
    set of whole devices, so a streamed run checks each chunk as it comes."""
    horizon = result.scenario.model.horizon
    rows, episodes = result.decisions, result.episodes
    problems: list[str] = []

    def flag(mask: BoolArray | pd.Series, what: str, frame: pd.DataFrame = rows) -> None:
        bad = np.asarray(mask, dtype=bool)
        if bad.any():
            first = frame[bad].iloc[0]
            where = f"variant {first['variant']!r}, device {first['device']!r}"
            problems.append(f"{int(bad.sum())} row(s) {what} (first: {where})")

    log = _Log(rows, episodes)
    time, end = log.time, log.session_end
    granted = log.launch & (log.outcome == _OUTCOMES.index(Outcome.ALLOW))
    flag(~(log.launch | log.checkin), "with a trigger other than launch/checkin")
    flag(log.outcome < 0, "without a valid outcome")
    flag(log.reason < 0, "without a valid reason")
    launches = pd.DataFrame({"key": log.key, "app": log.app[0], "time": time})[log.launch]
    flag(
        _spread(np.flatnonzero(log.launch), launches.duplicated().to_numpy(), time.size) > 0,
        "repeating a launch (one row per launch)",
    )
    flag(
        (log.reason == _REASONS.index(Reason.PREVIOUS_ALLOW)) & ~granted,
        "with reason previous_allow that are not granted launches",
    )
    flag(
        (log.reason == _REASONS.index(Reason.PREVIOUS_DENIAL))
        & ~(log.launch & (log.outcome != _OUTCOMES.index(Outcome.ALLOW))),
        "with reason previous_denial that are not denied launches",
    )
    flag(granted & ((end < time) | (end > horizon)), "whose session ends outside [time, horizon]")
    flag(~granted & (end != time), "denied or check-in with session_end_min != time_min")
    for rank, (name, periods) in enumerate(
        _at_least(episodes, log.variants, log.stride, horizon).items(), start=1
    ):
        inside = periods.contains(log.key, time)
        flag(
            inside != (log.true_rank >= rank), f"whose true_level disagrees with episodes at {name}"
        )

    onset, stop = episodes["onset_min"], episodes["end_min"]
    flag(
        ((stop < onset) | (stop > episodes["natural_end_min"])).to_numpy(bool),
        "of episodes ending before onset or after the natural end",
        episodes,
    )
    return problems


def metric_violations(metrics: pd.DataFrame) -> list[str]:
    """The metric checks of :func:`check_consistency` alone: relations between the
    metrics of each row and across segments (a streamed run checks its combined table)."""
    problems: list[str] = []
    eps = _TOLERANCE_MIN

    def check(ok: pd.Series | BoolArray, text: str) -> None:
        for _, row in metrics[~np.asarray(ok, dtype=bool)].iterrows():
            problems.append(
                f"variant {row['variant']!r}, {row['segment_by']}={row['segment']}: {text}"
            )

    m = metrics
    rows = m["launches"] + m["checkins"]
    outcomes = m[[f"evaluations_{o}" for o in _OUTCOMES]].sum(axis=1)
    reasons = m[[f"reason_{r}" for r in _REASONS]].sum(axis=1)
    check(outcomes == m["evaluations"], "evaluations by outcome do not sum to evaluations")
    check(reasons == rows, "rows by reason do not sum to rows")
    reuses = m["reason_previous_allow"] + m["reason_previous_denial"]
    check(m["evaluations"] + reuses == rows, "evaluations + reuses != rows")
    check(m["wipe_events"] == m["evaluations_wipe"], "wipe_events != evaluations_wipe")
    check(m["wipes"] <= m["wipe_events"], "wipes > wipe_events")
    check(m["devices_wiped"] <= m["wipes"], "devices_wiped > wipes")
    check(m["devices_wiped"] <= m["devices"], "devices_wiped > devices")
    chain = ["launches", *(f"exposed_launches_{s}" for s in SEVERITIES)]
    minutes = ["granted_minutes", *(f"exposed_minutes_{s}" for s in SEVERITIES)]
    for lower, higher in itertools.pairwise(chain):
        check(m[higher] <= m[lower], f"{higher} > {lower}")
    for lower, higher in itertools.pairwise(minutes):
        check(m[higher] <= m[lower] + eps, f"{higher} > {lower}")
    check(
        m["unneeded_blocks"] + m["unneeded_wipes"] <= m["reason_threat_level_exceeded"],
        "more unneeded denials than threat-level denials",
    )
    check(m["onboarding_blocks"] <= m["reason_mtd_not_activated"], "onboarding_blocks too many")
    check(m["blocked_user_minutes"] >= 0, "negative blocked_user_minutes")
    causes = m[list(BLOCKED_BY_CAUSE)]
    check((causes >= 0).all(axis=1), "negative blocked_user_minutes by cause")
    check(
        np.isclose(causes.sum(axis=1), m["blocked_user_minutes"], rtol=1e-9, atol=eps),
        "blocked_user_minutes by cause do not sum to blocked_user_minutes",
    )
    check(
        m["unneeded_denials"] == m["unneeded_blocks"] + m["unneeded_wipes"],
        "unneeded_denials != unneeded_blocks + unneeded_wipes",
    )
    per_app = m["segment_by"] == "app"  # per-episode metrics are NaN there by definition
    check(per_app | (m["undetected_episodes"] <= m["episodes"]), "undetected_episodes > episodes")
    check(per_app | (m["episodes_over_max"] <= m["episodes"]), "episodes_over_max > episodes")
    check(
        per_app | (m["episodes_enforced"] <= m["episodes_over_max"]),
        "episodes_enforced > episodes_over_max",
    )
    never = [f"never_enforced_{s}" for s in SEVERITIES]
    for lower, higher in itertools.pairwise(never):
        check(per_app | (m[higher] <= m[lower]), f"{higher} > {lower}")
    check(
        per_app | (m[never[0]] + m["episodes_active_at_horizon"] <= m["episodes"]),
        "never_enforced_low + episodes_active_at_horizon > episodes",
    )
    check(
        per_app | (m["never_restored"] <= m["episodes_enforced"]),
        "never_restored > episodes_enforced",
    )
    for name in EPISODE_QUANTILES:
        check(~(m[name] < 0), f"negative {name}")  # NaN: no such episode

    whole = m[m["segment_by"] == "all"].set_index("variant")
    for segment_by, columns in (
        ("management", (*DECISION_COUNTS, *DEVICE_COUNTS, *DECISION_MINUTES, *EPISODE_COUNTS)),
        ("app", (*DECISION_COUNTS, *DECISION_MINUTES)),
    ):
        parts = m[m["segment_by"] == segment_by].groupby("variant", sort=False)
        sums = parts[list(columns)].sum()
        expected = whole.loc[sums.index, list(columns)].to_numpy(dtype=np.float64)
        close = np.isclose(sums.to_numpy(dtype=np.float64), expected, rtol=1e-9, atol=eps)
        for i, j in zip(*np.nonzero(~close), strict=True):
            variant, name = sums.index[i], columns[j]
            problems.append(f"variant {variant!r}: {segment_by} segments do not add up: {name}")
    launches = whole["launches"]
    if (launches != launches.iloc[0]).any():
        problems.append(
            "launches differ between variants that share a world: " + launches.to_string()
        )
    return problems
