"""The decision log and the other per-run tables the engines write, and their schemas.

One row of the decision log per evaluation, and per launch that reuses a previous allow
(SEMANTICS.md §7). Engines only *record* rows; metrics are computed afterwards by pure
functions (:mod:`simulator.analysis.metrics`). Column names carry units (``_min`` = minutes on
the simulation clock or a span in minutes).

Tables
------
decisions
    :data:`DECISION_COLUMNS` — see :class:`DecisionRow`.
episodes
    :data:`EPISODE_COLUMNS` — one row per threat episode as it played out under the
    variant (its end may be earlier than the natural end when a denial nudged the user).
devices
    :data:`DEVICE_COLUMNS` — one row per device: management, apps, onboarding times.

When the scenario has a ``start`` (the wall-clock time of minute 0), the decision log and
the episodes also carry UTC timestamps beside their minute columns (:data:`UTC_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd

from simulator.durations import Minutes, humanize_minutes
from simulator.policy.levels import (
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    ThreatLevel,
)


class Trigger(StrEnum):
    """What caused a decision-log row."""

    LAUNCH = "launch"
    CHECKIN = "checkin"


class DecisionRow(NamedTuple):
    """One row of the decision log.

    ``known_level`` is what the app held when it decided; ``intune_level`` what the service
    held at that moment; ``defender_level`` what Defender reported on the device;
    ``true_level`` the device's actual state (what exposure is measured against).
    ``session_end_min`` is, on a granted launch, when the granted session ended (natural
    end, or cut by a mid-session denial); on a denied launch it equals ``time_min``.
    """

    time_min: Minutes
    device_index: int
    device: str
    user: str
    app: str
    management: str
    trigger: str
    outcome: str
    reason: str
    variant: str
    policy: str
    max_allowed: str
    action: str
    known_level: str
    known_level_age_min: Minutes
    intune_level: str
    defender_level: str
    true_level: str
    defender_state: str
    connector: str
    offline_min: Minutes
    fetched: bool
    session_end_min: Minutes
    explanation: str


DECISION_COLUMNS: Final = list(DecisionRow._fields)


class EpisodeRow(NamedTuple):
    """One threat episode as it played out under one variant."""

    device_index: int
    device: str
    variant: str
    episode: str
    kind: str
    severity: str
    onset_min: Minutes
    detected_min: Minutes
    natural_end_min: Minutes
    end_min: Minutes
    nudged: bool
    first_threat_denial_min: Minutes


EPISODE_COLUMNS: Final = list(EpisodeRow._fields)


class DeviceRow(NamedTuple):
    """One device under one variant: who, how managed, and its Defender onboarding."""

    device_index: int
    device: str
    user: str
    variant: str
    management: str
    app_sees_managed: bool
    apps: str
    defender_initial: str
    first_redirect_min: Minutes
    activated_min: Minutes


DEVICE_COLUMNS: Final = list(DeviceRow._fields)

_CATEGORICAL: Final = (
    "device",
    "user",
    "app",
    "management",
    "trigger",
    "outcome",
    "reason",
    "variant",
    "policy",
    "max_allowed",
    "action",
    "known_level",
    "intune_level",
    "defender_level",
    "true_level",
    "defender_state",
    "connector",
    "episode",
    "kind",
    "severity",
    "defender_initial",
    "apps",
    "explanation",
)
"""Columns stored as pandas categoricals (dictionary-encoded in Parquet)."""

LEVEL_CATEGORIES: Final = tuple(level.label for level in sorted(ThreatLevel))
"""Threat levels in order: the categories of the level columns (ordered categoricals, so
``<``, ``max()`` and sorting follow secured < low < medium < high)."""

_ORDERED: Final = frozenset(
    {"known_level", "intune_level", "defender_level", "true_level", "severity"}
)
_FIXED: Final[dict[str, tuple[str, ...]]] = {
    "trigger": tuple(t.value for t in Trigger),
    "outcome": tuple(o.value for o in Outcome),
    "reason": tuple(r.value for r in Reason),
    "management": tuple(m.value for m in Management),
    "defender_state": tuple(d.value for d in DefenderState),
    "defender_initial": tuple(d.value for d in DefenderState),
    "connector": tuple(c.value for c in ConnectorState),
}
"""Columns whose categories are an enum's values, in the enum's order."""


def to_frame(rows: Sequence[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows → a DataFrame with the given columns (strings as categoricals, floats as f8)."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    return unify_categories([frame])[0]


_LEVEL_DTYPE: Final = pd.CategoricalDtype(list(LEVEL_CATEGORIES), ordered=True)
_FIXED_DTYPES: Final = {name: pd.CategoricalDtype(list(values)) for name, values in _FIXED.items()}


def fixed_dtype(name: str) -> pd.CategoricalDtype | None:
    """The canonical categorical type of a level or enum column (None for the others):
    one object, so frames built on it need no remapping when they are joined."""
    return _LEVEL_DTYPE if name in _ORDERED else _FIXED_DTYPES.get(name)


def _same_codes(dtype: Any, other: pd.CategoricalDtype) -> bool:
    """Whether ``dtype`` is categorical with ``other``'s categories in the same order (``==``
    would not do: unordered dtypes compare equal as sets)."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        and dtype.ordered == other.ordered
        and dtype.categories.equals(other.categories)
    )


def _categories(name: str, frames: Sequence[pd.DataFrame]) -> pd.CategoricalDtype:
    """The canonical categories of column ``name`` across ``frames``."""
    fixed = fixed_dtype(name)
    if fixed is not None:
        return fixed
    columns = [frame[name] for frame in frames]
    first = columns[0].dtype
    if isinstance(first, pd.CategoricalDtype) and all(_same_codes(c.dtype, first) for c in columns):
        # one set of categories (a chunk's variants): count the codes, keep the dtype
        # itself when its sorted categories are all used
        categories = first.categories
        counts = np.zeros(len(categories), dtype=np.int64)
        for column in columns:
            codes = np.asarray(column.cat.codes.to_numpy())
            counts += np.bincount(codes[codes >= 0], minlength=len(categories))
        used = counts > 0
        if used.all() and not first.ordered and categories.is_monotonic_increasing:
            return first
        return pd.CategoricalDtype(sorted(categories[used].tolist()))
    seen: set[str] = set()
    for column in columns:
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = np.asarray(column.cat.codes.to_numpy())
            counts = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories))
            seen.update(column.cat.categories[np.flatnonzero(counts)].tolist())
        else:
            seen.update(column.dropna().unique().tolist())
    return pd.CategoricalDtype(sorted(seen))


def unify_categories(frames: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    """``frames`` with every categorical column on one canonical set of categories.

    Levels are ordered categoricals (secured < low < medium < high); enum columns carry
    all of the enum's values in its order; the others their sorted values. Frames built
    by any engine, chunking or worker count thus come out identical, and concatenate
    without falling back to object columns.
    """
    if not frames:
        return []
    names = [c for c in frames[0].columns if c in _CATEGORICAL]
    dtypes = {name: _categories(name, frames) for name in names}
    out = []
    for frame in frames:
        frame = frame.copy(deep=False)
        for name, dtype in dtypes.items():
            column = frame[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                # astype() would keep the old order: unordered dtypes compare equal as sets
                converted = column.cat.set_categories(dtype.categories, ordered=dtype.ordered)
            else:
                converted = column.astype(dtype)
            if converted.isna().sum() != column.isna().sum():
                unknown = set(column.dropna().astype(str)) - set(dtype.categories)
                raise ValueError(f"column {name!r} has values outside its categories: {unknown}")
            frame[name] = converted
        out.append(frame)
    return out


def concat_frames(
    frames: Sequence[pd.DataFrame],
    columns: list[str],
    order: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Concatenate tables of one kind, categoricals unified (empty frames skipped).

    Column by column on the arrays — each categorical's codes remapped onto the canonical
    categories (:func:`unify_categories`) and joined — without pandas' generic concat.
    ``order``, when given, maps the joined frame to the row permutation to apply: one take
    per column array instead of a sort of the finished frame.
    """
    kept = [f for f in frames if not f.empty]
    if not kept:
        return to_frame([], columns)
    if len(kept) == 1 and order is None:
        return unify_categories(kept)[0]
    names = list(kept[0].columns)
    arrays: dict[str, np.ndarray] = {}
    dtypes: dict[str, pd.CategoricalDtype] = {}
    for name in names:
        parts = [f[name] for f in kept]
        if name in _CATEGORICAL:
            dtypes[name] = _categories(name, kept)
            arrays[name] = np.concatenate([_codes_on(p, dtypes[name], name) for p in parts])
        elif all(isinstance(p.dtype, np.dtype) and p.dtype == parts[0].dtype for p in parts):
            arrays[name] = np.concatenate([p.to_numpy() for p in parts])
        else:
            arrays[name] = pd.concat(parts, ignore_index=True).to_numpy()

    def frame() -> pd.DataFrame:
        return pd.DataFrame(
            {
                name: pd.Categorical.from_codes(arrays[name], dtype=dtypes[name])
                if name in dtypes
                else arrays[name]
                for name in names
            },
            columns=names,
        )

    if order is None:
        return frame()
    permutation = order(frame())
    arrays = {name: values[permutation] for name, values in arrays.items()}
    return frame()


def code_dtype(categories: int) -> np.dtype[Any]:
    """The smallest signed integer type for codes of ``categories`` categories and -1
    (what pandas itself stores), so that joining and reordering move fewer bytes."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _codes_on(column: pd.Series, dtype: pd.CategoricalDtype, name: str) -> np.ndarray:
    """The codes of ``column`` on ``dtype``'s categories (which hold all its values)."""
    categories = dtype.categories
    code_type = code_dtype(len(categories))
    if isinstance(column.dtype, pd.CategoricalDtype):
        own = np.asarray(column.cat.codes.to_numpy())
        if column.cat.categories.equals(categories):
            return own.astype(code_type, copy=False)
        mapping = np.asarray(categories.get_indexer(column.cat.categories), dtype=code_type)
        # -1 (a missing value) indexes past the mapping's end, where it stays -1
        codes = np.append(mapping, code_type.type(-1))[own]
        missing = codes[own >= 0] < 0
    else:
        codes = np.asarray(categories.get_indexer(pd.Index(column)), dtype=code_type)
        missing = (codes < 0) & ~np.asarray(column.isna())
    if missing.any():
        unknown = set(column.dropna().astype(str)) - set(categories)
        raise ValueError(f"column {name!r} has values outside its categories: {unknown}")
    return codes


def _sort_key(column: pd.Series) -> np.ndarray:
    """Values that sort as the column's strings do (codes of sorted categories)."""
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        and column.cat.categories.is_monotonic_increasing
    ):
        return np.asarray(column.cat.codes.to_numpy())
    return np.asarray(column.to_numpy(dtype=object))


def sort_decisions(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order: time, device, app, then trigger (launch before check-in).

    Independent of chunking and of the order devices were simulated in.
    """
    if frame.empty:
        return frame.reset_index(drop=True)
    return frame.iloc[decision_order(frame)].reset_index(drop=True)


def decision_order(frame: pd.DataFrame, first: np.ndarray | None = None) -> np.ndarray:
    """The row permutation of :func:`sort_decisions` (stable), optionally after a more
    significant integer key ``first`` (one value per row)."""
    return order_of(
        np.asarray(frame["trigger"] != "launch"),
        _sort_key(frame["app"]),
        frame["device_index"].to_numpy(),
        frame["time_min"].to_numpy(),
        first,
    )


def order_of(
    checkin: np.ndarray,
    app: np.ndarray,
    device_index: np.ndarray,
    time_min: np.ndarray,
    first: np.ndarray | None = None,
) -> np.ndarray:
    """The canonical row permutation from the key columns: ``first`` (when given), then
    time, device, app (values that sort as the names do) and launch before check-in
    (``checkin``: whether the row is a check-in); stable."""
    keys = [checkin, app, device_index, time_min]
    if first is not None:
        keys.append(first)
    return np.lexsort(tuple(keys))


UTC_COLUMNS: Final[dict[str, str]] = {
    "time_min": "time_utc",
    "onset_min": "onset_utc",
    "detected_min": "detected_utc",
    "end_min": "end_utc",
}
"""Minute column → the UTC timestamp column placed right after it when the scenario has a
``start`` (:func:`with_utc_times`)."""


def utc_times(minutes: pd.Series | np.ndarray, start: datetime) -> pd.Series:
    """Minutes on the simulation clock as UTC timestamps (``datetime64[ns, UTC]``), minute
    0 being ``start``; "never" (``inf``) and missing values become ``NaT``."""
    values = np.asarray(minutes, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    origin = pd.Timestamp(start).tz_convert("UTC")
    stamps = origin + pd.to_timedelta(values, unit="min")
    index = minutes.index if isinstance(minutes, pd.Series) else None
    return pd.Series(stamps, index=index).astype("datetime64[ns, UTC]")


def with_utc_times(frame: pd.DataFrame, start: datetime | None) -> pd.DataFrame:
    """``frame`` with a UTC timestamp column after each minute column of
    :data:`UTC_COLUMNS` it has (``time_min`` → ``time_utc``); unchanged when ``start``
    is None, so a scenario without a start gives exactly the tables it always did."""
    if start is None:
        return frame
    out = frame.copy(deep=False)
    for minutes, stamp in UTC_COLUMNS.items():
        if minutes in out.columns and stamp not in out.columns:
            out.insert(list(out.columns).index(minutes) + 1, stamp, utc_times(out[minutes], start))
    return out


def explain_row(row: pd.Series | Mapping[Any, Any]) -> str:
    """One sentence that says why a decision-log row came out as it did.

    The decision's own explanation, plus what the device's true level was, so that a
    stale signal is visible: "blocked — app knew medium (fetched 42 min ago) > max
    allowed low; action block; true level was already secured (stale signal)".
    """
    get = row.__getitem__
    text = str(get("explanation"))
    true_level = str(get("true_level"))
    known = str(get("known_level"))
    outcome = str(get("outcome"))
    reason = str(get("reason"))
    if reason == "threat_level_exceeded" and outcome in ("block", "wipe"):
        max_allowed = str(get("max_allowed"))
        if _rank(true_level) <= _rank(max_allowed):
            text += f"; true level was already {true_level} (stale signal)"
        else:
            text += f"; true level {true_level}"
    elif outcome == "allow" and _rank(true_level) > _rank(known) and true_level != "secured":
        text += f"; true level was {true_level}"
        intune = str(get("intune_level"))
        defender = str(get("defender_level"))
        if _rank(defender) < _rank(true_level):
            text += f" but Defender reported {defender} (undetected)"
        elif _rank(intune) < _rank(defender):
            text += f"; Intune still held {intune} (signal in transit)"
    return text


_RANKS: Final = {"secured": 1, "low": 2, "medium": 3, "high": 4, "not_configured": 5}


def _rank(level: str) -> int:
    return _RANKS.get(level, 0)


def describe_time(minutes: Minutes) -> str:
    """Simulation time as 'day 3 14:05' for people."""
    day, rest = divmod(minutes, 1440.0)
    hour, minute = divmod(rest, 60.0)
    return f"day {int(day)} {int(hour):02d}:{int(minute):02d}"


def describe_span(minutes: Minutes) -> str:
    """A span for people (re-exported for report code)."""
    return humanize_minutes(minutes)


def explain_device(
    decisions: pd.DataFrame,
    device: str,
    *,
    at: Minutes | None = None,
    variant: str | None = None,
) -> list[str]:
    """One sentence per decision-log row of ``device``, in time order.

    Parameters
    ----------
    decisions
        A decision log.
    device
        Device id (``d0000042`` or a scripted id).
    at
        If given, only the row at or closest before this time (per variant and app).
    variant
        If given, only this variant's rows.

    Raises
    ------
    KeyError
        If the device (or variant) has no rows.
    """
    rows = decisions[decisions["device"].astype(str) == device]
    if rows.empty:
        raise KeyError(f"no decision-log rows for device {device!r}")
    if variant is not None:
        rows = rows[rows["variant"].astype(str) == variant]
        if rows.empty:
            raise KeyError(f"no rows for device {device!r} under variant {variant!r}")
    if at is not None:
        before = rows[rows["time_min"] <= at]
        if before.empty:
            raise KeyError(f"device {device!r} has no decision at or before {at:g} min")
        rows = before.groupby(["variant", "app"], sort=False).tail(1)
    lines = []
    for record in rows.sort_values("time_min", kind="stable").to_dict("records"):
        lines.append(
            f"{describe_time(float(record['time_min']))}  [{record['variant']}]  "
            f"{record['app']} {record['trigger']}: {explain_row(record)}"
        )
    return lines
