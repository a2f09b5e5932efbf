"""The compiled engine: the reference engine's decision log from a Numba loop over arrays.

:func:`simulate_chunk_compiled` gives exactly the tables the SimPy reference
(:mod:`simulator.sim.engine.reference`) gives for the same inputs — row for row, float for
float, string for string — as DataFrames built from typed arrays, without a Python object
per row. ``tests/property/test_engines_agree.py`` checks it against the reference on
random, scripted and bundled worlds.

How
---
1. **Pack** (:func:`_pack`): the chunk's device worlds become structure-of-arrays tables —
   per device its Defender onboarding, episodes and offline periods, per app process
   (one per app with launches before the horizon, in sorted app order, as the reference
   creates them) its launches — each a CSR table (offsets, then columns).
2. **Protections**: each (app, device profile) merges the variant's policies once
   (:func:`~simulator.policy.effective_policy`); the merged policy's decisions are
   compiled into a lookup table (:func:`decision_table`) by calling the pure
   :func:`~simulator.policy.decide_effective` on every discrete state — Defender state ×
   known level × connector × checked in × SDK jailbreak × re-authentication × an offline
   bucket. The decision depends on offline minutes only through ``offline > 0`` and the
   two comparisons with the policy's block and wipe periods, which the bucket encodes;
   the age of the known level only enters the explanation.
3. **Run** :func:`simulator.sim.engine._kernel.run_chunk` (``@njit(cache=True)``, no
   ``fastmath``): the fast engine's per-device loop as state machines, same float
   expressions, same tie order.
4. **Frames**: the decision log as categoricals and numbers straight from the output
   codes; explanations are computed once per distinct (protection, state, age, offline)
   by the same pure function, then mapped back to rows. :func:`play_variants_coded`
   hands each variant's rows over as :class:`CodedDecisions` and builds the log only
   when it is read: a sweep's chunk metrics read the codes
   (:func:`simulator.analysis.metrics.coded_counts_and_outcomes`) and never build it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd

from simulator.durations import Minutes, humanize_codes
from simulator.policy.behavior import Behavior, OfflineWipe
from simulator.policy.decide import (
    Decision,
    EffectivePolicy,
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
    Reauth,
    ThreatLevel,
    max_level_label,
)
from simulator.policy.reuse import PREVIOUS_ALLOW_TEXT, recheck_period, reused_decision
from simulator.sim.engine import _kernel as k
from simulator.sim.engine.types import EngineSettings
from simulator.sim.log import (
    DECISION_COLUMNS,
    DEVICE_COLUMNS,
    EPISODE_COLUMNS,
    code_dtype,
    fixed_dtype,
    order_of,
    to_frame,
)
from simulator.sim.world import ConnectorTimeline, DeviceWorld, Launch, LaunchTable

INF: Final = math.inf
_DEFENDER: Final = list(DefenderState)
_CONNECTOR: Final = list(ConnectorState)
_REAUTH: Final = list(Reauth)
_OUTCOME: Final = list(Outcome)
_REASON: Final = list(Reason)
_TRIGGERS: Final = ("launch", "checkin")
_MANAGEMENTS: Final = list(Management)
_MANAGEMENT_VALUES: Final = [m.value for m in _MANAGEMENTS]


def _check_codes() -> None:
    """The kernel's integer codes are the enums' list positions: check, once, at import."""
    expected = {
        (k.ABSENT, k.INSTALLED, k.ACTIVATED): (
            _DEFENDER.index(DefenderState.ABSENT),
            _DEFENDER.index(DefenderState.INSTALLED),
            _DEFENDER.index(DefenderState.ACTIVATED),
        ),
        (k.ENABLED, k.DISABLED, k.UNRESPONSIVE): (
            _CONNECTOR.index(ConnectorState.ENABLED),
            _CONNECTOR.index(ConnectorState.DISABLED),
            _CONNECTOR.index(ConnectorState.UNRESPONSIVE),
        ),
        (k.NOT_REQUIRED, k.SUCCEEDED, k.FAILED): (
            _REAUTH.index(Reauth.NOT_REQUIRED),
            _REAUTH.index(Reauth.SUCCEEDED),
            _REAUTH.index(Reauth.FAILED),
        ),
        (k.ALLOW, k.BLOCK, k.WIPE): (
            _OUTCOME.index(Outcome.ALLOW),
            _OUTCOME.index(Outcome.BLOCK),
            _OUTCOME.index(Outcome.WIPE),
        ),
        (k.R_THREAT, k.R_MTD, k.R_PREVIOUS_ALLOW, k.R_PREVIOUS_DENIAL): (
            _REASON.index(Reason.THREAT_LEVEL_EXCEEDED),
            _REASON.index(Reason.MTD_NOT_ACTIVATED),
            _REASON.index(Reason.PREVIOUS_ALLOW),
            _REASON.index(Reason.PREVIOUS_DENIAL),
        ),
        (k.SECURED,): (int(ThreatLevel.SECURED),),
    }
    for ours, theirs in expected.items():
        if ours != theirs:
            raise AssertionError(f"kernel codes {ours} do not match the enums {theirs}")
    if len(_REASON) >= k.REASONS:
        raise AssertionError("too many reasons for the table encoding")
    coded = {  # the frames' fixed types list the values in the order of the codes
        "trigger": list(_TRIGGERS),
        "outcome": [o.value for o in _OUTCOME],
        "reason": [r.value for r in _REASON],
        "management": _MANAGEMENT_VALUES,
        "defender_state": [d.value for d in _DEFENDER],
        "connector": [c.value for c in _CONNECTOR],
        "known_level": [t.label for t in sorted(ThreatLevel)],  # ThreatLevel 1-4, less one
    }
    for name, values in coded.items():
        dtype = fixed_dtype(name)
        if dtype is None or list(dtype.categories) != values:
            raise AssertionError(f"the {name} column's categories do not follow the codes")


_check_codes()


# -- decision tables -------------------------------------------------------------------------
def _offline_for(bucket: int, block_after: Minutes, wipe_after: Minutes) -> Minutes | None:
    """An offline duration that falls in ``bucket``, or None when none can."""
    if bucket == 0:
        return 0.0
    ge_block, ge_wipe = bool((bucket - 1) & 1), bool((bucket - 1) & 2)
    candidates = [1e-9, block_after, wipe_after, max(block_after, wipe_after), 1e15]
    candidates += [min(block_after, wipe_after) / 2]
    for value in candidates:
        finite = value > 0 and math.isfinite(value)
        if finite and (value >= block_after) == ge_block and (value >= wipe_after) == ge_wipe:
            return value
    return None


def _context_for(index: int, app: str, offline: Minutes, age: Minutes | None) -> EvaluationContext:
    """The evaluation context a table index stands for (app, offline and age given)."""
    rest, _bucket = divmod(index, 5)
    rest, reauth = divmod(rest, 3)
    rest, jailbroken = divmod(rest, 2)
    rest, checked = divmod(rest, 2)
    rest, connector = divmod(rest, 3)
    defender, known = divmod(rest, 4)
    return EvaluationContext(
        app=app,
        management=Management.MDM,
        defender=_DEFENDER[defender],
        known_level=ThreatLevel(known + 1),
        known_level_age_min=(age if age is not None else 0.0) if checked else None,
        connector=_CONNECTOR[connector],
        offline_min=offline,
        checked_in=bool(checked),
        jailbroken=bool(jailbroken),
        reauth=_REAUTH[reauth],
    )


@lru_cache(maxsize=4096)
def decision_table(eff: EffectivePolicy | None, behavior: Behavior) -> np.ndarray:
    """Every decision of ``eff`` as ``outcome * REASONS + reason``, by table index.

    Entries no evaluation can reach (an offline bucket no duration falls in) are -1.
    """
    block_after = eff.offline_block_after if eff is not None else INF
    wipe_after = eff.offline_wipe_after if eff is not None else INF
    table = np.full(k.TABLE_SIZE, -1, dtype=np.int64)
    for index in range(k.TABLE_SIZE):
        offline = _offline_for(index % 5, block_after, wipe_after)
        if offline is None:
            continue
        decision = decide_effective(eff, _context_for(index, "app", offline, 0.0), behavior)
        table[index] = _OUTCOME.index(decision.outcome) * k.REASONS + _REASON.index(decision.reason)
    return table


@dataclass(frozen=True, slots=True)
class _Protection:
    """One app on one device profile under the variant: merged policy and labels."""

    app: str
    eff: EffectivePolicy | None
    policy: str
    max_allowed: str
    action: str


@dataclass
class _Protections:
    """The variant's protections, by (app, profile), and their arrays for the kernel."""

    policies: tuple[Policy, ...]
    behavior: Behavior
    index: dict[tuple[Any, ...], int] = field(default_factory=dict)
    items: list[_Protection] = field(default_factory=list)

    def of(self, world: DeviceWorld, app: str) -> int:
        """The protection id of ``app`` on ``world``'s profile (merging on first use)."""
        key = (app, world.management, world.emm_passes_upn, world.mdm_passes_upn, world.groups)
        found = self.index.get(key)
        if found is None:
            context = EvaluationContext(
                app=app,
                management=world.management,
                emm_passes_upn=world.emm_passes_upn,
                groups=world.groups,
                mdm_passes_upn=world.mdm_passes_upn,
            )
            eff = effective_policy(self.policies, context, self.behavior.multi_policy_merge)
            found = self.index[key] = len(self.items)
            self.items.append(
                _Protection(
                    app=app,
                    eff=eff,
                    policy="; ".join(eff.policies) if eff else "",
                    max_allowed=max_level_label(eff.max_threat_level) if eff else "",
                    action=eff.threat_action.value if eff else "",
                )
            )
        return found

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The kernel's protection table (recheck, interval, re-auth on, wipe after, block
        after per protection; nan interval: none) and the decision tables."""
        effs = [p.eff for p in self.items]
        reauth_on = self.behavior.offline_wipe is OfflineWipe.ON_FAILED_REAUTH
        settings = np.array(
            [
                [
                    recheck_period(e),
                    e.checkin_interval if e else math.nan,
                    1.0 if reauth_on and e is not None else 0.0,
                    e.offline_wipe_after if e else INF,
                    e.offline_block_after if e else INF,
                ]
                for e in effs
            ],
            dtype=np.float64,
        ).reshape(len(effs), k.N_P)
        tables = [decision_table(eff, self.behavior) for eff in effs]
        table = np.stack(tables) if tables else np.zeros((0, k.TABLE_SIZE), dtype=np.int64)
        return settings, table


# -- packing ---------------------------------------------------------------------------------
@dataclass
class _World:
    """A chunk of device worlds as the kernel's CSR tables: everything but the policies,
    so packed once and played under every variant."""

    worlds: Sequence[DeviceWorld]
    devices: tuple[np.ndarray, ...]
    changes: tuple[np.ndarray, ...]
    episodes: tuple[np.ndarray, ...]
    offline: tuple[np.ndarray, ...]
    launches: tuple[np.ndarray, ...]
    process_offsets: np.ndarray
    """Per device, where its processes start (CSR offsets)."""
    process_device: np.ndarray
    process_app: list[str]

    # the frames' per-device columns, built once per chunk for every variant
    @cached_property
    def device_index(self) -> np.ndarray:
        return np.array([w.index for w in self.worlds], dtype=np.int64)

    @cached_property
    def device_codes(self) -> tuple[np.ndarray, list[str]]:
        return _factorized([w.device for w in self.worlds])

    @cached_property
    def user_codes(self) -> tuple[np.ndarray, list[str]]:
        return _factorized([w.user for w in self.worlds])

    @cached_property
    def management_codes(self) -> np.ndarray:
        return np.array([_MANAGEMENTS.index(w.management) for w in self.worlds], dtype=np.int8)

    @cached_property
    def episode_columns(self) -> dict[str, Any]:
        return _episode_columns(self.worlds)

    @cached_property
    def device_columns(self) -> dict[str, Any]:
        return _device_columns(self.worlds)


@dataclass
class _Packed:
    """A packed chunk under one variant: the world, each process's protection, and a
    bound on the rows the kernel can write."""

    world: _World
    processes: tuple[np.ndarray, ...]
    rows_bound: int


def _csr(lengths: list[int]) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _f8(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _pack_world(worlds: Sequence[DeviceWorld], horizon: Minutes) -> _World:
    """Structure-of-arrays form of ``worlds`` (see the module docstring)."""
    ch_n: list[int] = []
    ch_t: list[float] = []
    ch_s: list[float] = []
    ep_n: list[int] = []
    ep_cols: list[list[Any]] = [[] for _ in range(9)]
    off_n: list[int] = []
    off_s: list[float] = []
    off_e: list[float] = []
    pr_n: list[int] = []
    pr_device: list[int] = []
    pr_app: list[str] = []
    la_n: list[int] = []
    la_s: list[np.ndarray] = []
    la_d: list[np.ndarray] = []
    for d, world in enumerate(worlds):
        changes = sorted(world.defender_changes, key=lambda c: c[0])
        ch_n.append(len(changes))
        ch_t.extend(at for at, _ in changes)
        ch_s.extend(_DEFENDER.index(state) for _, state in changes)
        ep_n.append(len(world.episodes))
        for e in world.episodes:
            for column, value in zip(ep_cols, _episode_fields(e), strict=True):
                column.append(value)
        off_n.append(len(world.offline))
        off_s.extend(start for start, _ in world.offline)
        off_e.extend(end for _, end in world.offline)
        start, which, duration, names = _launch_arrays(world.launches, horizon)
        counts = np.bincount(which, minlength=len(names))
        order = np.argsort(which, kind="stable")  # by app name, each app's in time order
        la_s.append(start[order])
        la_d.append(duration[order])
        used = np.flatnonzero(counts)
        pr_n.append(used.size)
        for a in used.tolist():
            pr_device.append(d)
            pr_app.append(names[a])
            la_n.append(int(counts[a]))
    return _World(
        worlds=worlds,
        devices=(
            np.array([_DEFENDER.index(w.defender_initial) for w in worlds], dtype=np.int64),
            _f8([w.redirect_install_delay for w in worlds]),
            _f8([w.redirect_activate_delay for w in worlds]),
            np.array([w.reauth_fails for w in worlds], dtype=np.bool_),
        ),
        changes=(_csr(ch_n), _rows(_f8(ch_t), _f8(ch_s))),
        episodes=(_csr(ep_n), _rows(*(_f8(c) for c in ep_cols))),
        offline=(_csr(off_n), _rows(_f8(off_s), _f8(off_e))),
        launches=(_csr(la_n), _rows(_joined(la_s), _joined(la_d))),
        process_offsets=_csr(pr_n),
        process_device=np.array(pr_device, dtype=np.int64),
        process_app=pr_app,
    )


def _pack(world: _World, protections: _Protections) -> _Packed:
    """``world`` under the variant's protections: each process's protection, and the
    rows bound (two per launch, plus every check-in a whole session could hold)."""
    worlds = world.worlds
    prot = np.array(
        [
            protections.of(worlds[d], app)
            for d, app in zip(world.process_device.tolist(), world.process_app, strict=True)
        ],
        dtype=np.int64,
    )
    interval = np.array(
        [p.eff.checkin_interval if p.eff is not None else 0.0 for p in protections.items],
        dtype=np.float64,
    )
    offsets, rows = world.launches
    per_launch = np.repeat(interval[prot], np.diff(offsets)) if prot.size else np.empty(0)
    checks = per_launch > 0
    bound = int(np.floor(rows[checks, 1] / per_launch[checks]).sum()) + 2 * rows.shape[0]
    return _Packed(world=world, processes=(world.process_offsets, prot), rows_bound=bound)


def _rows(*columns: np.ndarray) -> np.ndarray:
    """Columns side by side: a C-ordered 2-D float table (the kernel's row tables)."""
    return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float64)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.float64) if parts else np.empty(0)


def _launch_arrays(
    launches: Sequence[Launch], horizon: Minutes
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """(start, app index, duration, sorted app names) of the launches before the horizon."""
    if isinstance(launches, LaunchTable):
        start, which, duration = launches.start, launches.app_index, launches.duration
        names = launches.names
    else:
        names = tuple(sorted({launch.app for launch in launches}))
        start = _f8([launch.start for launch in launches])
        which = np.array([names.index(launch.app) for launch in launches], dtype=np.int64)
        duration = _f8([launch.duration for launch in launches])
    before = start < horizon
    return start[before], which[before], duration[before], names


def _episode_fields(e: Any) -> tuple[Any, ...]:
    return (
        e.onset,
        int(e.severity),
        e.natural_end,
        e.detect_delay,
        e.nudge_delay,
        e.resolve_delay,
        e.intune_up_delay,
        e.intune_down_delay,
        e.sdk_detects,
    )


def _connector(connector: ConnectorTimeline) -> np.ndarray:
    """The connector intervals as rows (state code, start, end)."""
    return np.array(
        [[_CONNECTOR.index(state), start, end] for state, start, end in connector.intervals],
        dtype=np.float64,
    ).reshape(len(connector.intervals), 3)


# -- running ---------------------------------------------------------------------------------
@dataclass
class ChunkArrays:
    """What the kernel wrote for one chunk under one variant (before frames are built)."""

    rows_f: np.ndarray
    rows_i: np.ndarray
    episodes: tuple[np.ndarray, ...]
    devices: tuple[np.ndarray, ...]


def _run(
    packed: _Packed,
    protections: _Protections,
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
) -> ChunkArrays:
    """Call the kernel, growing the row buffers if the bound was too small."""
    settings_table, table = protections.arrays()
    intervals = _connector(connector)
    flags = (
        float(horizon),
        settings.retry_denied_at_launch,
        settings.midsession_enforcement,
        float(connector.partner_unresponsive_min),
    )
    world = packed.world
    n_episodes = int(world.episodes[0][-1])
    n_devices = world.devices[0].size
    capacity = max(packed.rows_bound, 1)
    while True:
        rows_f = np.empty((capacity, k.N_F), dtype=np.float64)
        rows_i = np.empty((capacity, k.N_I), dtype=np.int32)  # codes; half the bytes to move
        count = np.array([0, capacity, 0], dtype=np.int64)
        played = np.empty((n_episodes, k.N_T))
        onboarded = np.empty((n_devices, 2))
        k.run_chunk(
            world.devices,
            world.changes,
            world.episodes,
            world.offline,
            packed.processes,
            world.launches,
            settings_table,
            table,
            intervals,
            flags,
            (rows_f, rows_i, count),
            played,
            onboarded,
        )
        ep_out = (
            played[:, k.T_DET],
            played[:, k.T_END],
            played[:, k.T_NUDGED] != 0.0,
            played[:, k.T_FIRST],
        )
        dev_out = (onboarded[:, 0], onboarded[:, 1])
        if count[2]:
            raise AssertionError(
                "the compiled engine reached a decision-table entry "
                "the table builder found unreachable"
            )
        if count[0] <= capacity:
            return ChunkArrays(rows_f[: count[0]], rows_i[: count[0]], ep_out, dev_out)
        capacity = int(count[0])


def simulate_chunk_compiled(
    devices: Sequence[DeviceWorld],
    policies: Sequence[Policy],
    variant: str,
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
    *,
    explain: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate a chunk of devices under one variant: (decisions, episodes, devices).

    The same tables as the reference engine's rows (:func:`simulator.sim.log.to_frame`)
    up to row order, which :func:`simulator.sim.run.assemble` makes canonical. With
    ``explain=False`` the ``explanation`` column is empty strings (metrics never read it).
    """
    return simulate_variants_compiled(
        devices, {variant: policies}, connector, horizon, settings, explain=explain
    )[0]


def simulate_variants_compiled(
    devices: Sequence[DeviceWorld],
    variants: Mapping[str, Sequence[Policy]],
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
    *,
    explain: bool = True,
) -> list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """:func:`simulate_chunk_compiled` under each variant, in order: the chunk is packed
    into arrays, and its per-device columns built, once for all of them."""
    return [
        (coded.frame(), episodes, devices_frame)
        for coded, episodes, devices_frame in play_variants_coded(
            devices, variants, connector, horizon, settings, explain=explain
        )
    ]


def play_variants_coded(
    devices: Sequence[DeviceWorld],
    variants: Mapping[str, Sequence[Policy]],
    connector: ConnectorTimeline,
    horizon: Minutes,
    settings: EngineSettings,
    *,
    explain: bool = True,
) -> list[tuple[CodedDecisions, pd.DataFrame, pd.DataFrame]]:
    """Per variant, in order: its decision rows as codes (the log's DataFrame is built
    only when asked for: :meth:`CodedDecisions.frame`), its episodes and its devices."""
    world = _pack_world(devices, horizon)
    app_codes, apps = _factorized(world.process_app)
    out = []
    for variant, policies in variants.items():
        protections = _Protections(tuple(policies), settings.behavior)
        packed = _pack(world, protections)
        arrays = _run(packed, protections, connector, horizon, settings)
        coded = CodedDecisions(
            variant=variant,
            arrays=arrays,
            packed=packed,
            protections=protections,
            explain=explain,
            app_codes=app_codes,
            apps=tuple(apps),
        )
        episodes = _episode_frame(arrays, world, variant)
        out.append((coded, episodes, _device_frame(arrays, world, variant)))
    return out


_LEVEL_RANK: Final = {level.label: rank for rank, level in enumerate(ThreatLevel)}
_LAYOUT: Final = np.array(
    [
        *(k.I_DEVICE, k.I_PROCESS, k.I_TRIGGER, k.I_OUTCOME, k.I_REASON, k.I_TRUE),
        *(k.SECURED, k.F_TIME, k.F_END),
    ],
    dtype=np.int64,
)
"""Where :class:`CodedDecisions`' readers find each column (see its ``layout``)."""


class CodedDecisions:
    """One variant's decision rows of a chunk as the kernel wrote them, for metrics that
    read codes (:func:`simulator.analysis.metrics.coded_counts_and_outcomes`) and for the
    decision log's DataFrame, built from them on first use of :meth:`frame`.

    ``rows_i``/``rows_f`` are the kernel's row tables; ``layout`` gives their columns
    (device position, process, trigger, outcome, reason, true level; the true level's
    code for secured; time, session end); ``process_app`` (index into ``apps``) and
    ``process_max_rank`` (-1: no threat check) are per process.
    """

    def __init__(
        self,
        *,
        variant: str,
        arrays: ChunkArrays,
        packed: _Packed,
        protections: _Protections,
        explain: bool,
        app_codes: np.ndarray,
        apps: tuple[str, ...],
    ) -> None:
        self.variant = variant
        self.apps = apps
        self.rows_i, self.rows_f = arrays.rows_i, arrays.rows_f
        self.layout = _LAYOUT
        self.process_app = app_codes
        ranks = [_LEVEL_RANK.get(p.max_allowed, -1) for p in protections.items]
        self.process_max_rank = np.array(ranks or [-1], dtype=np.int64)[packed.processes[1]]
        self._arrays, self._packed, self._protections = arrays, packed, protections
        self._explain = explain
        self._frame: pd.DataFrame | None = None

    def frame(self) -> pd.DataFrame:
        """The decision log of these rows (:data:`~simulator.sim.log.DECISION_COLUMNS`),
        built once."""
        if self._frame is None:
            self._frame = _decision_frame(
                self._arrays, self._packed, self._protections, self.variant, self._explain
            )
        return self._frame

    def columns(self) -> dict[str, Column]:
        """The decision log's columns, categoricals as codes
        (:func:`joined_decision_frame` joins several parts' without building theirs)."""
        return _decision_columns(
            self._arrays, self._packed, self._protections, self.variant, self._explain
        )


# -- frames ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Coded:
    """A categorical column as codes: into ``categories`` (distinct strings), or, when
    that is None, into the column's canonical type (:func:`~simulator.sim.log.fixed_dtype`:
    a level or enum column, whose categories are the enum's values in the kernel's order)."""

    codes: np.ndarray
    categories: Sequence[str] | None = None


Column = np.ndarray | _Coded
"""A decision-log column before it is a pandas column: numbers, or codes."""


def _categorical(codes: np.ndarray, categories: Sequence[str], ordered: bool = False) -> Any:
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(categories)), ordered=ordered)


def _pandas(name: str, column: Column) -> Any:
    """``column`` as the log's pandas column ``name``."""
    if not isinstance(column, _Coded):
        return column
    if column.categories is None:
        return pd.Categorical.from_codes(column.codes, dtype=fixed_dtype(name), validate=False)
    return _categorical(column.codes, column.categories)


def _factorized(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Codes of ``values`` (which may repeat) and the distinct values they index."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return np.asarray(codes, dtype=np.int64), list(uniques)


def _narrow(codes: np.ndarray, categories: Sequence[str]) -> np.ndarray:
    """``codes`` in the smallest integer type for ``categories`` (pandas' own): a lookup
    cast before it is gathered row by row, so the rows' codes take 1–2 bytes, not 8."""
    return codes.astype(code_dtype(len(categories)), copy=False)


def _by_code(values: Sequence[str], index: np.ndarray) -> _Coded:
    """The column of ``values[index]`` (values may repeat)."""
    codes, uniques = _factorized(values)
    return _Coded(_narrow(codes, uniques)[index], uniques)


def _explanations(
    rows_i: np.ndarray, rows_f: np.ndarray, prot: np.ndarray, protections: _Protections
) -> _Coded:
    """Each row's explanation, computed once per distinct decision and mapped back."""
    kind = rows_i[:, k.I_KIND]
    codes = np.zeros(kind.size, dtype=np.int32)  # 0: the previous allow stands
    texts = [PREVIOUS_ALLOW_TEXT]
    repeat = kind == k.KIND_REPEAT
    if repeat.any():
        combo = rows_i[repeat, k.I_OUTCOME] * k.REASONS + rows_i[repeat, k.I_ORIGINAL]
        unique, inverse = np.unique(combo, return_inverse=True)
        codes[repeat] = len(texts) + inverse
        for c in unique.tolist():
            original = Decision(_OUTCOME[c // k.REASONS], _REASON[c % k.REASONS], (), "")
            texts.append(reused_decision(original, None).explanation)
    evaluated = np.flatnonzero(kind == k.KIND_EVALUATED)
    if evaluated.size:
        _explain_evaluated(rows_i, rows_f, prot, protections, evaluated, codes, texts)
    text_codes, uniques = pd.factorize(pd.Series(texts, dtype=object))
    categories = list(uniques)
    return _Coded(_narrow(np.asarray(text_codes), categories)[codes], categories)


def _first_seen(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each key, index of each code's first row), codes numbered in order of
    first appearance: a hash pass, where ``np.unique`` would sort."""
    inverse = np.asarray(pd.factorize(keys)[0], dtype=np.int64)
    before = np.maximum.accumulate(np.concatenate(([-1], inverse[:-1])))
    return inverse, np.flatnonzero(inverse > before)


_TEXTS: dict[tuple[Any, ...], str] = {}
"""Explanations already computed, by (class, table index, age text, offline text), the
class standing for (merged policy, app if untargeted, behaviour) (:data:`_CLASSES`):
shared by chunks and variants of this process."""
_CLASSES: dict[tuple[Any, ...], int] = {}
"""A small number per (merged policy, app if untargeted, behaviour), so that the cache's
keys hash and compare as integers and strings, not as policy dataclasses."""
_TEXTS_MAX: Final = 200_000


def _explain_evaluated(
    rows_i: np.ndarray,
    rows_f: np.ndarray,
    prot: np.ndarray,
    protections: _Protections,
    rows: np.ndarray,
    codes: np.ndarray,
    texts: list[str],
) -> None:
    """Explanations of evaluated rows, one call of the decision function per distinct one.

    A decision's explanation depends on the merged policy (and, untargeted, the app), the
    table entry's state, and the known level's age and the offline minutes only through
    :func:`~simulator.durations.humanize_minutes`; so rows that agree on those share one
    explanation, computed from the first such row's exact values (and remembered).
    """
    age_text, ages = humanize_codes(rows_f[rows, k.F_AGE])
    offline_text, offlines = humanize_codes(rows_f[rows, k.F_OFFLINE])
    behavior = protections.behavior
    if len(_TEXTS) > _TEXTS_MAX:
        _TEXTS.clear()
        _CLASSES.clear()
    class_of = np.array(
        [
            _CLASSES.setdefault(
                (item.eff, item.app if item.eff is None else "", behavior), len(_CLASSES)
            )
            for item in protections.items
        ],
        dtype=np.int64,
    )
    state = class_of[prot[rows]] * k.TABLE_SIZE + rows_i[rows, k.I_KEY]
    combo = (state * len(ages) + age_text) * len(offlines) + offline_text
    inverse, first = _first_seen(combo)
    codes[rows] = len(texts) + inverse
    first_rows = rows[first]
    states = state[first].tolist()
    for at, row, state_code in zip(first.tolist(), first_rows.tolist(), states, strict=True):
        item = protections.items[int(prot[row])]
        index = state_code % k.TABLE_SIZE  # the row's table entry
        cache_key = (state_code, ages[age_text[at]], offlines[offline_text[at]])
        text = _TEXTS.get(cache_key)
        if text is None:
            row_age = float(rows_f[row, k.F_AGE])
            context = _context_for(
                index,
                item.app,
                float(rows_f[row, k.F_OFFLINE]),
                None if math.isnan(row_age) else row_age,
            )
            text = _TEXTS[cache_key] = decide_effective(item.eff, context, behavior).explanation
        texts.append(text)


def _level_codes(levels: np.ndarray) -> np.ndarray:
    """The kernel's level codes (``ThreatLevel`` values, 1-4) as the level type's codes
    (0-3), one byte each."""
    codes = np.empty(levels.shape, np.int8)
    np.subtract(levels, 1, out=codes, casting="unsafe")
    return codes


def _decision_columns(
    arrays: ChunkArrays,
    packed: _Packed,
    protections: _Protections,
    variant: str,
    explain: bool = True,
) -> dict[str, Column]:
    """The chunk's decision-log columns (:data:`~simulator.sim.log.DECISION_COLUMNS`), the
    categorical ones as codes."""
    ri, rf = arrays.rows_i, arrays.rows_f
    world = packed.world
    # converted once: NumPy would turn the int32 column into a fresh index at every gather
    dev = ri[:, k.I_DEVICE].astype(np.intp)
    proc = ri[:, k.I_PROCESS].astype(np.intp)
    prot = packed.processes[1][proc]
    items = protections.items
    device_codes, devices = world.device_codes
    user_codes, users = world.user_codes
    return {
        "time_min": rf[:, k.F_TIME],
        "device_index": world.device_index[dev],
        "device": _Coded(_narrow(device_codes, devices)[dev], devices),
        "user": _Coded(_narrow(user_codes, users)[dev], users),
        "app": _by_code(world.process_app, proc),
        "management": _Coded(world.management_codes[dev]),
        "trigger": _Coded(ri[:, k.I_TRIGGER]),
        "outcome": _Coded(ri[:, k.I_OUTCOME]),
        "reason": _Coded(ri[:, k.I_REASON]),
        "variant": _Coded(np.zeros(len(ri), dtype=np.int8), [variant]),
        "policy": _by_code([p.policy for p in items], prot),
        "max_allowed": _by_code([p.max_allowed for p in items], prot),
        "action": _by_code([p.action for p in items], prot),
        "known_level": _Coded(_level_codes(ri[:, k.I_KNOWN])),
        "known_level_age_min": rf[:, k.F_AGE],
        "intune_level": _Coded(_level_codes(ri[:, k.I_INTUNE])),
        "defender_level": _Coded(_level_codes(ri[:, k.I_DEFENDER_LEVEL])),
        "true_level": _Coded(_level_codes(ri[:, k.I_TRUE])),
        "defender_state": _Coded(ri[:, k.I_DEFENDER]),
        "connector": _Coded(ri[:, k.I_CONNECTOR]),
        "offline_min": rf[:, k.F_OFFLINE],
        "fetched": ri[:, k.I_FETCHED].astype(np.bool_),
        "session_end_min": rf[:, k.F_END],
        "explanation": _explanations(ri, rf, prot, protections)
        if explain
        else _Coded(np.zeros(len(ri), dtype=np.int8), [""]),
    }


def _decision_frame(
    arrays: ChunkArrays,
    packed: _Packed,
    protections: _Protections,
    variant: str,
    explain: bool = True,
) -> pd.DataFrame:
    """The decision log of the chunk, columns as :data:`~simulator.sim.log.DECISION_COLUMNS`."""
    columns = _decision_columns(arrays, packed, protections, variant, explain)
    return pd.DataFrame({name: _pandas(name, columns[name]) for name in DECISION_COLUMNS})


_LAUNCH: Final = _TRIGGERS.index("launch")
"""The trigger code of a launch (check-ins sort after launches at the same moment)."""


def joined_decision_frame(parts: Sequence[CodedDecisions], rank: Mapping[str, int]) -> pd.DataFrame:
    """The decision log of coded parts (a run's chunks × variants, in that order) joined
    in canonical order: variant in ``rank``'s order, then time, device, app, and launch
    before check-in.

    The same frame, categories and row order as joining the parts' own frames
    (:func:`~simulator.sim.log.concat_frames` ordered by
    :func:`~simulator.sim.log.decision_order` after the variant's rank), built once from
    the codes: each categorical's categories are the sorted values the parts use, and its
    codes are remapped as integers, so no per-part frame exists. Only the sort keys are
    joined and reordered; every other column is written by each part straight to its
    rows' places in the finished array (:func:`_placed`), so no joined copy of it is
    made, and the frame takes the arrays as they are (``copy=False``).
    """
    sizes = [len(part.rows_i) for part in parts]
    if not any(sizes):
        return to_frame([], DECISION_COLUMNS)  # as joining no rows gives
    columns = [part.columns() for part in parts]
    given: dict[str, list[np.ndarray]] = {}
    dtypes: dict[str, pd.CategoricalDtype] = {}
    for name in DECISION_COLUMNS:
        values = [c[name] for c in columns]
        first = values[0]
        if not isinstance(first, _Coded):
            given[name] = values  # type: ignore[assignment]
            continue
        coded = [c for c in values if isinstance(c, _Coded)]
        fixed = fixed_dtype(name) if first.categories is None else None
        if fixed is not None:
            dtypes[name], given[name] = fixed, [c.codes for c in coded]
        else:
            dtypes[name], given[name] = _joined_codes(coded)
    keys = {
        name: np.concatenate(given[name], dtype=np.int8 if name == "trigger" else None)
        for name in _KEYS
    }
    variant = np.repeat(
        np.array([rank[part.variant] for part in parts], dtype=code_dtype(len(rank))), sizes
    )  # a narrow key: NumPy sorts it by radix
    order = order_of(
        keys["trigger"] != _LAUNCH,
        keys["app"],  # codes of sorted categories: the names' order
        keys["device_index"],
        keys["time_min"],
        variant,
    )
    position = np.empty(order.size, dtype=np.intp)
    position[order] = np.arange(order.size)
    out: dict[str, Any] = {}
    for name in DECISION_COLUMNS:
        if name in keys:
            column = keys[name][order]
        else:
            dtype = np.int8 if name in dtypes and fixed_dtype(name) is not None else None
            column = _placed(given[name], position, sizes, dtype)
        out[name] = (
            pd.Categorical.from_codes(column, dtype=dtypes[name], validate=False)
            if name in dtypes
            else column
        )
    return pd.DataFrame(out, columns=DECISION_COLUMNS, copy=False)


_KEYS: Final = ("trigger", "app", "device_index", "time_min")
"""The sort keys of :func:`joined_decision_frame` (with the variant's rank)."""


def _placed(
    parts: Sequence[np.ndarray], position: np.ndarray, sizes: Sequence[int], dtype: Any = None
) -> np.ndarray:
    """One array of the parts' values, each joined row at ``position[row]``: a scatter
    per part into the finished array (in ``dtype``, default the first part's)."""
    out = np.empty(position.size, dtype=parts[0].dtype if dtype is None else dtype)
    start = 0
    for size, values in zip(sizes, parts, strict=True):
        out[position[start : start + size]] = values
        start += size
    return out


def _joined_codes(columns: Sequence[_Coded]) -> tuple[pd.CategoricalDtype, list[np.ndarray]]:
    """One type for several parts' coded columns, the sorted values they use (as
    :func:`~simulator.sim.log.concat_frames` gives), and each part's codes on it."""
    used: set[str] = set()
    for column in columns:
        assert column.categories is not None
        counts = np.bincount(column.codes, minlength=len(column.categories))
        used.update(np.asarray(column.categories, dtype=object)[counts > 0].tolist())
    categories = pd.Index(sorted(used))
    code_type = code_dtype(len(categories))
    codes = [
        categories.get_indexer(pd.Index(list(column.categories or ()))).astype(code_type)[
            column.codes
        ]
        for column in columns
    ]
    return pd.CategoricalDtype(categories), codes


def _episode_frame(arrays: ChunkArrays, world: _World, variant: str) -> pd.DataFrame:
    """The chunk's episodes as they played out (:data:`~simulator.sim.log.EPISODE_COLUMNS`)."""
    detected, end, nudged, first = arrays.episodes
    columns: dict[str, Any] = {
        **world.episode_columns,
        "variant": pd.Categorical([variant] * len(end)),
        "detected_min": detected,
        "end_min": end,
        "nudged": nudged,
        "first_threat_denial_min": first,
    }
    return pd.DataFrame({name: columns[name] for name in EPISODE_COLUMNS})


def _device_frame(arrays: ChunkArrays, world: _World, variant: str) -> pd.DataFrame:
    """The chunk's devices and their onboarding (:data:`~simulator.sim.log.DEVICE_COLUMNS`)."""
    first_redirect, activated = arrays.devices
    columns: dict[str, Any] = {
        **world.device_columns,
        "variant": pd.Categorical([variant] * len(first_redirect)),
        "first_redirect_min": first_redirect,
        "activated_min": activated,
    }
    return pd.DataFrame({name: columns[name] for name in DEVICE_COLUMNS})


def _episode_columns(worlds: Sequence[DeviceWorld]) -> dict[str, Any]:
    """The columns of the episode frame that no variant changes."""
    episodes = [(w, e) for w in worlds for e in w.episodes]
    return {
        "device_index": np.array([w.index for w, _ in episodes], dtype=np.int64),
        "device": pd.Categorical([w.device for w, _ in episodes]),
        "episode": pd.Categorical([e.id for _, e in episodes]),
        "kind": pd.Categorical([e.kind for _, e in episodes]),
        "severity": pd.Categorical([e.severity.label for _, e in episodes]),
        "onset_min": np.array([e.onset for _, e in episodes], dtype=np.float64),
        "natural_end_min": np.array([e.natural_end for _, e in episodes], dtype=np.float64),
    }


def _device_columns(worlds: Sequence[DeviceWorld]) -> dict[str, Any]:
    """The columns of the device frame that no variant changes."""
    return {
        "device_index": np.array([w.index for w in worlds], dtype=np.int64),
        "device": pd.Categorical([w.device for w in worlds]),
        "user": pd.Categorical([w.user for w in worlds]),
        "management": pd.Categorical([w.management.value for w in worlds]),
        "app_sees_managed": np.array([_sees_managed(w) for w in worlds], dtype=np.bool_),
        "apps": pd.Categorical([",".join(w.apps) for w in worlds]),
        "defender_initial": pd.Categorical([w.defender_initial.value for w in worlds]),
    }


def _sees_managed(world: DeviceWorld) -> bool:
    return EvaluationContext(
        app="",
        management=world.management,
        emm_passes_upn=world.emm_passes_upn,
        mdm_passes_upn=world.mdm_passes_upn,
    ).app_sees_managed
