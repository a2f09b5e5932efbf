"""Which launches change fate between two policy choices on the same simulated world.

Under common random numbers (DESIGN.md) every policy variant of one replication sees the
same devices, threats and app launches; only the decisions differ. A *flip* is a launch
whose outcome (allow, block, wipe) differs between side A and side B. This module lines the
two decision logs up launch by launch and lists the flips, with both sides' explanations
(:func:`simulator.sim.log.explain_row`), and counts them by transition × reason × management.

Alignment
    Launch rows (``trigger == "launch"``) are keyed by ``(device, app, time_min)``; should a
    key repeat within one side, its occurrences are paired in order. Check-in rows are not
    launches: :class:`LaunchDiff` only counts each side's mid-session check-in denials.
Same world
    :func:`same_world` compares two run manifests: seed, replication and the resolved
    scenario, apart from what does not shape the world (policies, variants, the sweep grid,
    names, descriptions, the number of replications and the chunk size).
Reason of a flip
    In the counts, the reason of the side that denies; when both deny (block → wipe), the
    two reasons joined by an arrow if they differ (``offline_block→threat_level_exceeded``).

Pure functions of DataFrames and dictionaries: no files, no printing
(:mod:`simulator.cli.diff` is the command line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from simulator.errors import InputError
from simulator.policy.levels import Management, Outcome, Reason, ThreatLevel
from simulator.sim.log import Trigger, describe_time, explain_row

__all__ = [
    "ARROW",
    "COUNT_COLUMNS",
    "FLIP_COLUMNS",
    "FRICTION_ADDED",
    "FRICTION_REMOVED",
    "RISK_ACCEPTED",
    "RISK_REMOVED",
    "LaunchDiff",
    "NotComparableError",
    "checkin_denials",
    "diff_launches",
    "flip_counts",
    "flip_kind",
    "flip_reasons",
    "flipped_launches",
    "same_world",
    "select_variant",
    "transition",
    "variants_in",
]

ARROW: Final = "→"
"""Joins the two sides of a transition: ``allow→block``."""

LAUNCH_KEY: Final = ("device", "app", "time_min")
"""What identifies a launch across the two sides."""

FLIP_COLUMNS: Final = (
    "time_min",
    "device",
    "app",
    "management",
    "outcome_a",
    "outcome_b",
    "reason_a",
    "reason_b",
    "transition",
    "explanation_a",
    "explanation_b",
    "true_level",
    "true_level_b",
    "max_allowed_a",
    "max_allowed_b",
    "kind",
)
"""Columns of :func:`flipped_launches`.

``management`` and ``true_level`` are side A's; ``true_level_b`` is side B's, which can
differ: a denial prompts the user to remediate sooner (SEMANTICS.md §2), so the same device
may already be secured under one policy and not under the other. ``max_allowed_*`` is
each side's max allowed level at that launch; ``kind`` is :func:`flip_kind`'s.
"""

FRICTION_REMOVED: Final = "friction removed"
"""A threat-level denial becomes an allow, and the device's true level was already within
the denying side's max: the denial came from a stale signal."""
RISK_ACCEPTED: Final = "risk accepted"
"""A threat-level denial becomes an allow while the true level was above the denying
side's max: the allowing side lets a real risk through."""
FRICTION_ADDED: Final = "friction added"
"""An allow becomes a threat-level denial while the true level was within the denying
side's max (stale signal)."""
RISK_REMOVED: Final = "risk removed"
"""An allow becomes a threat-level denial of a device truly above the denying side's max."""

COUNT_COLUMNS: Final = ("transition", "reason", "management", "count")
"""Columns of :func:`flip_counts`."""

_NOT_WORLD: Final = frozenset(
    {
        "name",
        "description",
        "policies",
        "policy_files",
        "variants",
        "sweep",
        "replications",
        "chunk_size",
        "seed",  # compared once, at the top of the manifest
    }
)
"""Keys of a resolved scenario that do not shape the simulated world."""

_OUTCOME_ORDER: Final = tuple(o.value for o in Outcome)
_MANAGEMENT_ORDER: Final = tuple(m.value for m in Management)


class NotComparableError(InputError):
    """The two sides do not hold the same launches (not the same simulated world)."""


@dataclass(frozen=True)
class LaunchDiff:
    """The launch-by-launch comparison of two decision logs.

    Attributes
    ----------
    variant_a, variant_b
        The variants compared.
    flips
        One row per launch whose outcome differs (:data:`FLIP_COLUMNS`), in time order.
    launches
        Launches compared: those present on both sides.
    only_a, only_b
        Launches present on one side only (0 unless the comparison was forced).
    checkin_denials_a, checkin_denials_b
        Mid-session check-in denials per side, by outcome (``{"block": 3, "wipe": 1}``).
    """

    variant_a: str
    variant_b: str
    flips: pd.DataFrame = field(repr=False)
    launches: int
    only_a: int
    only_b: int
    checkin_denials_a: dict[str, int]
    checkin_denials_b: dict[str, int]


def variants_in(decisions: pd.DataFrame) -> list[str]:
    """The variant names of a decision log, in the order they first appear."""
    return [str(v) for v in pd.unique(decisions["variant"].astype(str))]


def select_variant(decisions: pd.DataFrame, variant: str | None = None) -> tuple[str, pd.DataFrame]:
    """One variant's rows of a decision log.

    Parameters
    ----------
    decisions
        A decision log with a ``variant`` column.
    variant
        The variant's exact name, or a part of it that matches exactly one variant, ignoring
        case and punctuation (``"secured block"`` finds ``"max secured · block"``). ``None``
        is allowed when the log holds a single variant.

    Returns
    -------
    tuple of (str, pandas.DataFrame)
        The variant's full name and its rows.

    Raises
    ------
    InputError
        If the log is empty, if ``variant`` names no variant or several, or if it is
        ``None`` and the log holds several variants; the message lists the variants.
    """
    names = variants_in(decisions)
    if not names:
        raise InputError("the decision log has no rows")
    if variant is None:
        if len(names) > 1:
            raise InputError(f"holds {len(names)} variants, name one: {_listing(names)}")
        chosen = names[0]
    elif variant in names:
        chosen = variant
    else:
        wanted = _loose(variant)
        matches = [n for n in names if wanted and wanted in _loose(n)]
        if len(matches) != 1:
            problem = "matches several variants" if matches else "is not a variant here"
            raise InputError(f"{variant!r} {problem}; variants: {_listing(matches or names)}")
        chosen = matches[0]
    if len(names) == 1:
        return chosen, decisions
    return chosen, decisions[decisions["variant"].astype(str) == chosen]


def _loose(name: str) -> str:
    """A name for loose matching: lower case, punctuation runs as one space."""
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def transition(outcome_a: str, outcome_b: str) -> str:
    """``"allow→block"``: side A's outcome, an arrow, side B's."""
    return f"{outcome_a}{ARROW}{outcome_b}"


def checkin_denials(decisions: pd.DataFrame) -> dict[str, int]:
    """Mid-session check-in denials of a decision log, by outcome (block, wipe; no zeros)."""
    checkins = decisions[
        (decisions["trigger"].astype(str) == Trigger.CHECKIN)
        & (decisions["outcome"].astype(str) != Outcome.ALLOW)
    ]
    counts = checkins["outcome"].astype(str).value_counts()
    return {o: int(counts[o]) for o in _OUTCOME_ORDER if o in counts.index}


def _launch_keys(decisions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A side's launch rows (positionally indexed) and their keys with row numbers."""
    rows = decisions[decisions["trigger"].astype(str) == Trigger.LAUNCH].reset_index(drop=True)
    keys = pd.DataFrame(
        {
            "device": rows["device"].astype(str),
            "app": rows["app"].astype(str),
            "time_min": rows["time_min"].astype(float),
            "outcome": rows["outcome"].astype(str),
        }
    )
    keys["_occurrence"] = keys.groupby(list(LAUNCH_KEY), sort=False).cumcount()
    keys["_row"] = np.arange(len(keys))
    return rows, keys


def diff_launches(
    decisions_a: pd.DataFrame,
    decisions_b: pd.DataFrame,
    variant_a: str | None = None,
    variant_b: str | None = None,
    *,
    force: bool = False,
) -> LaunchDiff:
    """Compare two decision logs launch by launch.

    Parameters
    ----------
    decisions_a, decisions_b
        Decision logs (:data:`simulator.sim.log.DECISION_COLUMNS`); they may be the same log.
    variant_a, variant_b
        The variant of each side (see :func:`select_variant`); ``None`` when that log holds
        a single variant.
    force
        Compare on the launches both sides share even if their launch sets differ.

    Returns
    -------
    LaunchDiff
        The flips, how many launches were compared and left out, and check-in denials.

    Raises
    ------
    InputError
        If a variant cannot be selected.
    NotComparableError
        If the launch sets differ and ``force`` is false.
    """
    name_a, side_a = select_variant(decisions_a, variant_a)
    name_b, side_b = select_variant(decisions_b, variant_b)
    rows_a, keys_a = _launch_keys(side_a)
    rows_b, keys_b = _launch_keys(side_b)
    merged = keys_a.merge(
        keys_b,
        on=[*LAUNCH_KEY, "_occurrence"],
        how="outer",
        suffixes=("_a", "_b"),
        indicator=True,
        sort=False,
    )
    side = merged["_merge"].astype(str)
    only_a = int((side == "left_only").sum())
    only_b = int((side == "right_only").sum())
    if (only_a or only_b) and not force:
        raise NotComparableError(_mismatch_message(merged, only_a, only_b))
    both = merged[side == "both"]
    changed = both[both["outcome_a"] != both["outcome_b"]]
    flips = _flip_frame(
        rows_a.iloc[changed["_row_a"].to_numpy(dtype=np.int64)],
        rows_b.iloc[changed["_row_b"].to_numpy(dtype=np.int64)],
        changed["_occurrence"].to_numpy(dtype=np.int64),
    )
    return LaunchDiff(
        variant_a=name_a,
        variant_b=name_b,
        flips=flips,
        launches=len(both),
        only_a=only_a,
        only_b=only_b,
        checkin_denials_a=checkin_denials(side_a),
        checkin_denials_b=checkin_denials(side_b),
    )


def _mismatch_message(merged: pd.DataFrame, only_a: int, only_b: int) -> str:
    lonely = merged[merged["_merge"].astype(str) != "both"].sort_values(
        ["time_min", "device", "app"], kind="stable"
    )
    first = lonely.iloc[0]
    where = "A" if str(first["_merge"]) == "left_only" else "B"
    return (
        f"not the same launches: {only_a} only in A, {only_b} only in B (first: "
        f"{first['device']} {first['app']} at {describe_time(float(first['time_min']))}, "
        f"only in {where})"
    )


def _flip_frame(
    rows_a: pd.DataFrame, rows_b: pd.DataFrame, occurrence: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """The flips table from the paired launch rows of both sides."""
    outcome_a = rows_a["outcome"].astype(str).to_numpy()
    outcome_b = rows_b["outcome"].astype(str).to_numpy()
    records_a = rows_a.to_dict("records")
    records_b = rows_b.to_dict("records")
    frame = pd.DataFrame(
        {
            "time_min": rows_a["time_min"].astype(float).to_numpy(),
            "device": rows_a["device"].astype(str).to_numpy(),
            "app": rows_a["app"].astype(str).to_numpy(),
            "management": rows_a["management"].astype(str).to_numpy(),
            "outcome_a": outcome_a,
            "outcome_b": outcome_b,
            "reason_a": rows_a["reason"].astype(str).to_numpy(),
            "reason_b": rows_b["reason"].astype(str).to_numpy(),
            "transition": [transition(a, b) for a, b in zip(outcome_a, outcome_b, strict=True)],
            "explanation_a": [explain_row(r) for r in records_a],
            "explanation_b": [explain_row(r) for r in records_b],
            "true_level": rows_a["true_level"].astype(str).to_numpy(),
            "true_level_b": rows_b["true_level"].astype(str).to_numpy(),
            "max_allowed_a": rows_a["max_allowed"].astype(str).to_numpy(),
            "max_allowed_b": rows_b["max_allowed"].astype(str).to_numpy(),
            "kind": "",
            "_occurrence": occurrence,
        },
        columns=[*FLIP_COLUMNS, "_occurrence"],
    )
    frame["kind"] = flip_kind(frame).to_numpy()
    frame = frame.sort_values(["time_min", "device", "app", "_occurrence"], kind="stable")
    return frame.drop(columns="_occurrence").reset_index(drop=True)


def _rank(levels: pd.Series) -> npt.NDArray[np.int64]:
    """Threat levels as ranks (secured 0 … high 3); -1 for no level (no threat check)."""
    order = {level.label: i for i, level in enumerate(ThreatLevel)}
    return np.asarray([order.get(str(v), -1) for v in levels], dtype=np.int64)


def flip_kind(flips: pd.DataFrame) -> pd.Series:
    """What each flip means for risk and friction.

    A threat-level denial (``threat_level_exceeded``) that becomes an allow is
    :data:`FRICTION_REMOVED` when the device's true level was within the denying side's
    max allowed (a stale signal), else :data:`RISK_ACCEPTED`; an allow that becomes such a
    denial is :data:`FRICTION_ADDED` or :data:`RISK_REMOVED` by the same test. Other
    flips (block↔wipe, other reasons) are ``""``.
    """
    allow = Outcome.ALLOW.value
    a_allows = flips["outcome_a"].astype(str) == allow
    b_allows = flips["outcome_b"].astype(str) == allow
    threat = Reason.THREAT_LEVEL_EXCEEDED.value
    a_threat = flips["reason_a"].astype(str) == threat
    b_threat = flips["reason_b"].astype(str) == threat
    true_a, true_b = _rank(flips["true_level"]), _rank(flips["true_level_b"])
    max_a, max_b = _rank(flips["max_allowed_a"]), _rank(flips["max_allowed_b"])
    opened = (~a_allows & a_threat & b_allows).to_numpy()  # A denied, B allows
    closed = (a_allows & ~b_allows & b_threat).to_numpy()  # A allowed, B denies
    within_a, within_b = true_a <= max_a, true_b <= max_b
    kind = np.full(len(flips), "", dtype=object)
    kind[opened & within_a] = FRICTION_REMOVED
    kind[opened & ~within_a] = RISK_ACCEPTED
    kind[closed & within_b] = FRICTION_ADDED
    kind[closed & ~within_b] = RISK_REMOVED
    return pd.Series(kind, index=flips.index, name="kind")


def flipped_launches(
    decisions_a: pd.DataFrame,
    decisions_b: pd.DataFrame,
    variant_a: str | None = None,
    variant_b: str | None = None,
    *,
    force: bool = False,
) -> pd.DataFrame:
    """The launches whose outcome differs between two decision logs, in time order.

    Parameters
    ----------
    decisions_a, decisions_b
        Decision logs of the same simulated world (they may be the same log).
    variant_a, variant_b
        The variant of each side; ``None`` when that log holds a single variant.
    force
        Compare on the shared launches even if the launch sets differ.

    Returns
    -------
    pandas.DataFrame
        One row per flipped launch, columns :data:`FLIP_COLUMNS`: ``time_min`` (minutes
        from the scenario start), ``device``, ``app``, ``management``, each side's
        ``outcome_*`` and ``reason_*``, ``transition`` (``"allow→block"``), each side's
        ``explanation_*`` (:func:`simulator.sim.log.explain_row`), and the device's true level
        under A (``true_level``) and under B (``true_level_b``).

    Raises
    ------
    InputError
        If a variant cannot be selected.
    NotComparableError
        If the launch sets differ and ``force`` is false.
    """
    return diff_launches(decisions_a, decisions_b, variant_a, variant_b, force=force).flips


def flip_reasons(flips: pd.DataFrame) -> pd.Series:
    """The reason of each flip: the denying side's, or both reasons when both deny."""
    allow = Outcome.ALLOW.value
    reason_a = flips["reason_a"].astype(str)
    reason_b = flips["reason_b"].astype(str)
    both_deny = (flips["outcome_a"].astype(str) != allow) & (
        flips["outcome_b"].astype(str) != allow
    )
    joined = reason_a + ARROW + reason_b
    reason = reason_b.where(flips["outcome_a"].astype(str) == allow, reason_a)
    return joined.where(both_deny & (reason_a != reason_b), reason).rename("reason")


def flip_counts(flips: pd.DataFrame) -> pd.DataFrame:
    """Flips counted by transition × reason × management.

    Parameters
    ----------
    flips
        A table from :func:`flipped_launches`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COUNT_COLUMNS`, one row per combination that occurs (``count`` ≥ 1,
        in flips), ordered by transition (allow→block … wipe→block), reason, then
        management (mdm, mam_we, emm). ``reason`` is :func:`flip_reasons`'.
    """
    if flips.empty:
        return pd.DataFrame(
            {"transition": [], "reason": [], "management": [], "count": []},
            columns=list(COUNT_COLUMNS),
        ).astype({"count": np.int64})
    table = pd.DataFrame(
        {
            "transition": flips["transition"].astype(str),
            "reason": flip_reasons(flips),
            "management": flips["management"].astype(str),
        }
    )
    counts = table.value_counts(sort=False).rename("count").reset_index()
    counts["count"] = counts["count"].astype(np.int64)
    order = counts.assign(
        _t=counts["transition"].map(_transition_rank),
        _m=counts["management"].map(_management_rank),
    ).sort_values(["_t", "transition", "reason", "_m", "management"], kind="stable")
    return order[list(COUNT_COLUMNS)].reset_index(drop=True)


def _transition_rank(text: str) -> int:
    before, _, after = text.partition(ARROW)
    rank = {o: i for i, o in enumerate(_OUTCOME_ORDER)}
    n = len(_OUTCOME_ORDER)
    return rank.get(before, n) * (n + 1) + rank.get(after, n)


def _management_rank(text: str) -> int:
    return _MANAGEMENT_ORDER.index(text) if text in _MANAGEMENT_ORDER else len(_MANAGEMENT_ORDER)


# ------------------------------------------------------------------------------ same world


def same_world(manifest_a: Mapping[str, Any], manifest_b: Mapping[str, Any]) -> list[str]:
    """What keeps two runs from being the same simulated world.

    Parameters
    ----------
    manifest_a, manifest_b
        Run manifests (``manifest.json`` of a run or sweep folder, see
        :func:`simulator.folders.manifest`). A sweep folder's decision log is replication 0.

    Returns
    -------
    list of str
        One human-readable difference per item, such as ``"seed: 7 ≠ 8"`` or
        ``"fleet.users: 30 ≠ 40"`` (scenario field paths); empty when the runs are
        comparable. Policies, variants, the sweep grid, names, descriptions, the number of
        replications and the chunk size are not compared (they do not shape the world).
    """
    differences: list[str] = []
    for key, value_a, value_b in (
        ("seed", _seed(manifest_a), _seed(manifest_b)),
        ("replication", _replication(manifest_a), _replication(manifest_b)),
    ):
        if value_a != value_b:
            differences.append(f"{key}: {_recorded(value_a)} ≠ {_recorded(value_b)}")
    scenario_a, scenario_b = manifest_a.get("scenario"), manifest_b.get("scenario")
    missing = [s for s, m in (("A", scenario_a), ("B", scenario_b)) if not isinstance(m, Mapping)]
    if missing:
        differences.append(f"the resolved scenario is not recorded in {' and '.join(missing)}")
        return differences
    assert isinstance(scenario_a, Mapping) and isinstance(scenario_b, Mapping)
    world_a = {k: v for k, v in scenario_a.items() if k not in _NOT_WORLD}
    world_b = {k: v for k, v in scenario_b.items() if k not in _NOT_WORLD}
    _compare(world_a, world_b, "", differences)
    return differences


def _seed(manifest: Mapping[str, Any]) -> Any:
    if "seed" in manifest:
        return manifest["seed"]
    scenario = manifest.get("scenario")
    return scenario.get("seed") if isinstance(scenario, Mapping) else None


def _replication(manifest: Mapping[str, Any]) -> Any:
    if "replication" in manifest:
        return manifest["replication"]
    return 0 if manifest.get("kind") == "sweep" else None


def _compare(a: Any, b: Any, path: str, out: list[str]) -> None:
    """Append a line per differing leaf of two JSON-like values."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in [*a, *(k for k in b if k not in a)]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(f"{sub}: {_show(a[key])} ≠ (absent)")
            elif key not in a:
                out.append(f"{sub}: (absent) ≠ {_show(b[key])}")
            else:
                _compare(a[key], b[key], sub, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items ≠ {len(b)} items")
        else:
            for index, (item_a, item_b) in enumerate(zip(a, b, strict=True)):
                _compare(item_a, item_b, f"{path}[{index}]", out)
    elif a != b:
        out.append(f"{path}: {_show(a)} ≠ {_show(b)}")


def _recorded(value: Any) -> str:
    return "not recorded" if value is None else _show(value)


def _show(value: Any, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
