"""Running a scenario: world chunks × policy variants → decision log, episodes, devices.

:func:`simulate` is the library entry point behind ``condlaunch run``. For each chunk of
users it draws the chunk's world once and plays it against every policy variant (common
random numbers), so memory is bounded by the chunk and variants differ only by policy.
Chunks are independent tasks: an :class:`Executor` runs them in this process or in
worker processes, and rows are put in a canonical order afterwards, so results do not
depend on the chunk size or the number of workers.
"""

from __future__ import annotations

import ctypes
import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import numpy as np
import pandas as pd

from simulator.policy.decide import Policy
from simulator.scenario.load import Scenario, variant_policies
from simulator.sim.engine.types import ChunkResult, EngineSettings
from simulator.sim.log import (
    DECISION_COLUMNS,
    DEVICE_COLUMNS,
    EPISODE_COLUMNS,
    concat_frames,
    decision_order,
    to_frame,
    with_utc_times,
)
from simulator.sim.world import (
    ConnectorTimeline,
    DeviceWorld,
    chunk_bounds,
    connector_timeline,
    n_users,
    world_chunk,
)

if TYPE_CHECKING:
    from simulator.sim.engine.compiled import CodedDecisions

ProgressCallback = Callable[[int, int], None]
"""Called with (users done, users in all) after each chunk."""

ENGINES: Final = ("compiled", "fast", "reference")
"""Engines by name: ``compiled`` (the default: Numba over arrays, the same rows as the
reference), ``fast`` (pure Python, the same rows) and ``reference`` (SimPy, the readable
definition of the semantics). Results never depend on the engine; the differential tests
keep it so."""

DEFAULT_ENGINE: Final = "compiled"
"""The engine :func:`simulate`, :func:`~simulator.analysis.sweep.run_sweep` and the CLI use."""

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


class Executor(Protocol):
    """Runs independent tasks and yields their results *in task order*.

    The seam for parallel back-ends: :class:`InProcess`, :class:`LocalProcesses`, and
    :class:`simulator.sim.cluster.DaskExecutor` (Dask distributed) implement this one
    method. A back-end may also have ``map_shared(fn, shared, tasks)``, yielding
    ``(task index, fn(shared, task))`` *as tasks finish*, with ``shared`` sent to the
    workers once rather than with every task (:func:`run_tasks` uses it when present).
    """

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every task; results in the order of ``tasks``."""
        ...


def run_tasks(
    executor: Executor, fn: Callable[[S, T], R], shared: S, tasks: Sequence[T]
) -> Iterator[tuple[int, R]]:
    """``(index, fn(shared, task))`` for every task, in the order tasks finish.

    ``shared`` (the scenario, say) goes to the workers once if the executor has a
    ``map_shared`` method (Dask scatters it); otherwise it travels with each task through
    :meth:`Executor.map` and results come in task order. ``fn`` must be a module-level
    function so that any executor can ship it.
    """
    map_shared = getattr(executor, "map_shared", None)
    if map_shared is not None:
        yield from map_shared(fn, shared, tasks)
    else:
        yield from enumerate(executor.map(functools.partial(fn, shared), tasks))


class InProcess:
    """Run tasks one after another in this process."""

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every task, lazily, in order."""
        return map(fn, tasks)


class LocalProcesses:
    """Run tasks in ``workers`` local processes (results still in task order).

    Workers ignore Ctrl-C (the parent handles it and stops them) and, on Linux, are
    killed by the kernel when their parent dies, so a killed run leaves no process behind.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every task in a process pool; yields results in order."""
        pool = multiprocessing.Pool(
            self.workers, initializer=_worker_start, initargs=(os.getpid(),)
        )
        try:
            yield from pool.imap(fn, tasks)
        except BaseException:
            pool.terminate()  # interrupted or failed: stop the workers now, not after their task
            raise
        else:
            pool.close()
        finally:
            pool.join()


def _worker_start(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent, and die with it (Linux: PDEATHSIG)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # no prctl: the parent's terminate() still runs
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def executor_for(workers: int) -> Executor:
    """In-process for one worker, a local process pool for more."""
    return InProcess() if workers <= 1 else LocalProcesses(workers)


def is_dask_client(value: object) -> bool:
    """Whether ``value`` is a ``distributed.Client`` (checked without importing Dask)."""
    kind = type(value)
    return kind.__name__ == "Client" and kind.__module__.partition(".")[0] == "distributed"


def as_executor(executor: object | None, workers: int = 1) -> Executor:
    """The executor to run tasks with: ``executor`` itself, a
    :class:`~simulator.sim.cluster.DaskExecutor` around a ``distributed.Client``, or
    :func:`executor_for` ``(workers)`` when None."""
    if executor is None:
        return executor_for(workers)
    if is_dask_client(executor):
        from simulator.sim.cluster import DaskExecutor

        return DaskExecutor(executor)
    if not callable(getattr(executor, "map", None)):
        raise TypeError(f"not an executor (no map method): {executor!r}")
    return executor  # type: ignore[return-value]


@dataclass(frozen=True)
class RunResult:
    """Everything one replication of a scenario produced.

    Attributes
    ----------
    scenario
        The scenario that was run.
    replication
        The replication index (the world depends on seed and replication).
    variants
        Variant names, in order; each maps to the policies deployed together.
    decisions
        The decision log (:data:`simulator.sim.log.DECISION_COLUMNS`), all variants;
        with ``time_utc`` after ``time_min`` when the scenario has a ``start``.
    episodes
        Threat episodes as they played out, per variant; with ``onset_utc``,
        ``detected_utc`` and ``end_utc`` when the scenario has a ``start``.
    devices
        Devices and their onboarding, per variant.
    """

    scenario: Scenario
    replication: int
    variants: dict[str, tuple[Policy, ...]]
    decisions: pd.DataFrame
    episodes: pd.DataFrame
    devices: pd.DataFrame = field(repr=False)

    def _repr_html_(self) -> str:
        """A notebook's view: what was simulated, then per variant the decision-log
        counts by outcome (metrics: :func:`simulator.compute_metrics`)."""
        from html import escape

        model = self.scenario.model
        log = self.decisions
        who = "devices" if self.scenario.scripted else "users"
        size = n_users(self.scenario)
        head = (
            f"<p><b>Run</b> of {escape(self.scenario.name)!s}: {size:,} {who}, "
            f"{model.horizon / 1440.0:g} days, seed {model.seed}, replication "
            f"{self.replication}; {len(self.variants)} variant(s), {len(log):,} decisions. "
            "Metrics: <code>compute_metrics(result)</code>; one device: "
            "<code>explain_device(result.decisions, …)</code>.</p>"
        )
        names = list(self.variants)
        if log.empty:
            return head
        variant = log["variant"].astype(str)
        counts = pd.crosstab(variant, log["outcome"].astype(str)).reindex(index=names).fillna(0)
        counts = counts.astype(np.int64)
        counts.insert(0, "launches", (log["trigger"] == "launch").groupby(variant).sum())
        counts.insert(0, "decisions", variant.value_counts())
        counts.index.name = "variant"
        counts.columns.name = None
        return head + counts.to_html(escape=True)  # escapes the variant names


def engine_settings(scenario: Scenario) -> EngineSettings:
    """The engine's behaviour parameters from the scenario's ``[behavior]``."""
    behavior = scenario.model.behavior
    return EngineSettings(
        behavior=scenario.behavior,
        midsession_enforcement=behavior.midsession_enforcement,
        retry_denied_at_launch=behavior.retry_denied_at_launch,
    )


@dataclass(frozen=True)
class ChunkTask:
    """One unit of work: users ``first`` … ``last - 1`` of one replication, all variants."""

    scenario: Scenario
    replication: int
    first: int
    last: int
    variants: dict[str, tuple[Policy, ...]]
    engine: str = DEFAULT_ENGINE
    explain: bool = True
    """Fill the decision log's ``explanation`` column. Metrics never read it; without it
    the compiled engine skips that work and leaves the column empty."""


class ChunkFrames:
    """A chunk's rows as DataFrames (cheap to send between processes).

    The decision log may be given as its variants' parts (``decision_parts``): they are
    joined on first use of :attr:`decisions`, and :func:`assemble` joins every chunk's
    parts at once instead, so that a run's log is concatenated (and its categories
    unified) once, not once per chunk and again for the run. The compiled engine gives
    its parts as coded rows (``coded``, one per variant): metrics read the codes
    (:func:`simulator.analysis.metrics.coded_counts_and_outcomes`) and the parts'
    DataFrames are built only when the log is read, or the frames pickled.
    """

    def __init__(
        self,
        users: int,
        decisions: pd.DataFrame | None = None,
        episodes: pd.DataFrame | None = None,
        devices: pd.DataFrame | None = None,
        *,
        decision_parts: Sequence[pd.DataFrame] = (),
        coded: Sequence[CodedDecisions] = (),
    ) -> None:
        given = (decisions is not None) + bool(decision_parts) + bool(coded)
        if given != 1 or episodes is None or devices is None:
            raise TypeError(
                "ChunkFrames needs episodes, devices and one of decisions, their parts "
                "or their coded parts"
            )
        self.users = users
        self.episodes = episodes
        self.devices = devices
        self._decisions = decisions
        self._parts = tuple(decision_parts)
        self.coded: tuple[CodedDecisions, ...] = tuple(coded)

    @property
    def decisions(self) -> pd.DataFrame:
        """The chunk's decision log (its parts joined, once)."""
        if self._decisions is None:
            self._decisions = concat_frames(list(self.decision_parts), DECISION_COLUMNS)
            self._parts = ()
        return self._decisions

    @property
    def coded_only(self) -> bool:
        """Whether the log is held as coded rows alone (no frame of it built yet)."""
        return bool(self.coded) and self._decisions is None and not self._parts

    @property
    def decision_parts(self) -> tuple[pd.DataFrame, ...]:
        """The decision log as it was given: its parts, or the joined log alone."""
        if self._decisions is not None:
            return (self._decisions,)
        if not self._parts:
            self._parts = tuple(part.frame() for part in self.coded)
        return self._parts

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the log's DataFrames, not the engine's arrays it was coded from."""
        parts = self.decision_parts
        state = dict(self.__dict__)
        state["_parts"] = parts if self._decisions is None else ()
        state["coded"] = ()
        return state


def run_chunk(task: ChunkTask) -> ChunkFrames:
    """Draw one chunk of the world and play it against every variant."""
    scenario = task.scenario
    devices = world_chunk(scenario, task.replication, task.first, task.last)
    return play_chunk(
        devices,
        task.variants,
        engine_settings(scenario),
        connector_timeline(scenario.model),
        scenario.model.horizon,
        engine=task.engine,
        explain=task.explain,
        users=task.last - task.first,
    )


def play_chunk(
    devices: Sequence[DeviceWorld],
    variants: dict[str, tuple[Policy, ...]],
    settings: EngineSettings,
    connector: ConnectorTimeline,
    horizon: float,
    *,
    engine: str = DEFAULT_ENGINE,
    explain: bool = True,
    users: int | None = None,
) -> ChunkFrames:
    """Play a chunk of device worlds (drawn, or scripted from a tenant's exports) against
    every variant with ``engine``; ``users`` is what the frames count (default: devices)."""
    if engine == "compiled":
        from simulator.sim.engine.compiled import play_variants_coded

        played = play_variants_coded(
            devices, variants, connector, horizon, settings, explain=explain
        )
        return ChunkFrames(
            users=len(devices) if users is None else users,
            coded=[p[0] for p in played],
            episodes=concat_frames([p[1] for p in played], EPISODE_COLUMNS),
            devices=concat_frames([p[2] for p in played], DEVICE_COLUMNS),
        )
    tables: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    play = _engine(engine)
    for name, policies in variants.items():
        part = play(devices, policies, name, connector, horizon, settings)
        tables.append(
            (
                to_frame(part.decisions, DECISION_COLUMNS),
                to_frame(part.episodes, EPISODE_COLUMNS),
                to_frame(part.devices, DEVICE_COLUMNS),
            )
        )
    return ChunkFrames(
        users=len(devices) if users is None else users,
        decision_parts=[t[0] for t in tables],
        episodes=concat_frames([t[1] for t in tables], EPISODE_COLUMNS),
        devices=concat_frames([t[2] for t in tables], DEVICE_COLUMNS),
    )


def _engine(name: str) -> Callable[..., ChunkResult]:
    """The row-returning chunk function of engine ``fast`` or ``reference``, imported on
    first use (so the fast path never loads SimPy)."""
    if name == "fast":
        from simulator.sim.engine.fast import simulate_chunk_fast

        return simulate_chunk_fast
    if name == "reference":
        from simulator.sim.engine.reference import simulate_chunk

        return simulate_chunk
    raise ValueError(f"unknown engine {name!r}; expected one of " + ", ".join(ENGINES))


def check_engine(name: str, *, also: Sequence[str] = ()) -> None:
    """Fail fast on an unknown engine name; for the compiled engine, load it (it needs
    Numba) and compile its functions now if they are not cached yet, on both cores and
    before any worker starts (:func:`simulator.sim.jit.ensure_compiled`; ``also``: the
    registered parts the caller uses too, such as ``"metrics"``)."""
    if name == "compiled":
        from simulator.sim.engine import compiled  # noqa: F401
        from simulator.sim.jit import ensure_compiled

        ensure_compiled(also=also)
    else:
        _engine(name)


def chunk_tasks(
    scenario: Scenario,
    replication: int,
    variants: dict[str, tuple[Policy, ...]],
    chunk_size: int | None = None,
    engine: str = DEFAULT_ENGINE,
) -> list[ChunkTask]:
    """The chunk tasks of one replication."""
    return [
        ChunkTask(scenario, replication, first, last, variants, engine)
        for first, last in chunk_bounds(scenario, chunk_size)
    ]


def simulate(
    scenario: Scenario,
    *,
    replication: int = 0,
    variants: dict[str, Sequence[Policy]] | None = None,
    chunk_size: int | None = None,
    workers: int = 1,
    executor: Executor | Any | None = None,
    progress: ProgressCallback | None = None,
    engine: str = DEFAULT_ENGINE,
) -> RunResult:
    """Simulate one replication of ``scenario`` under each policy variant.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`simulator.scenario.load_scenario`).
    replication
        Replication index; with the scenario's seed it fixes the world.
    variants
        Policy sets to compare; default: the scenario's variants (one per policy unless
        ``[[variants]]`` says otherwise).
    chunk_size
        Users per chunk (default: the scenario's ``chunk_size``). Does not change results.
    workers
        Local worker processes (ignored when ``executor`` is given). Does not change results.
    executor
        Where chunks run: an :class:`Executor` or a ``distributed.Client``; default
        :func:`executor_for` ``(workers)``.
    progress
        Optional callback after each chunk.
    engine
        ``"compiled"`` (default, Numba), ``"fast"`` (pure Python) or ``"reference"``
        (SimPy, the definition of the semantics): the same rows whichever
        (:data:`ENGINES`).
    """
    chosen = {k: tuple(v) for k, v in (variants or variant_policies(scenario)).items()}
    if not chosen:
        raise ValueError("no policy variants to simulate")
    check_engine(engine)
    tasks = chunk_tasks(scenario, replication, chosen, chunk_size, engine)
    runner = as_executor(executor, workers)
    total = n_users(scenario)
    done = 0
    parts: list[ChunkFrames] = []
    for part in runner.map(run_chunk, tasks):
        parts.append(part)
        done += part.users
        if progress is not None:
            progress(min(done, total), total)
    return assemble(scenario, replication, chosen, parts)


def assemble(
    scenario: Scenario,
    replication: int,
    variants: dict[str, tuple[Policy, ...]],
    parts: Sequence[ChunkFrames],
) -> RunResult:
    """Concatenate chunk results into one :class:`RunResult` in canonical order.

    When every chunk still holds the compiled engine's coded rows (it ran in this
    process), the log is built once from the codes
    (:func:`~simulator.sim.engine.compiled.joined_decision_frame`), not from each part's
    frame: the same log, without building and joining a frame per chunk and variant.
    """
    if parts and all(p.coded_only for p in parts):
        from simulator.sim.engine.compiled import joined_decision_frame

        rank = {name: i for i, name in enumerate(variants)}
        decisions = joined_decision_frame([c for p in parts for c in p.coded], rank)
    else:
        decisions = concat_frames(
            [frame for p in parts for frame in p.decision_parts],
            DECISION_COLUMNS,
            order=lambda frame: decision_order(frame, first=_variant_rank(frame, variants)),
        )
    episodes, devices = order_tables(
        scenario, variants, [p.episodes for p in parts], [p.devices for p in parts]
    )
    return RunResult(
        scenario=scenario,
        replication=replication,
        variants=variants,
        decisions=with_utc_times(decisions, scenario.model.start),
        episodes=episodes,
        devices=devices,
    )


def order_tables(
    scenario: Scenario,
    variants: dict[str, tuple[Policy, ...]],
    episodes: Sequence[pd.DataFrame],
    devices: Sequence[pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chunks' episode and device tables joined in canonical order (variant, device, then
    onset and episode), episodes with their UTC times (as :func:`assemble` returns them;
    a streamed run joins them so, chunk by chunk)."""
    joined_episodes = concat_frames(episodes, EPISODE_COLUMNS).sort_values(
        ["device_index", "onset_min", "episode"], kind="stable"
    )
    joined_devices = concat_frames(devices, DEVICE_COLUMNS).sort_values(
        ["device_index"], kind="stable"
    )
    return (
        with_utc_times(
            _order_variants(joined_episodes.reset_index(drop=True), variants),
            scenario.model.start,
        ),
        _order_variants(joined_devices.reset_index(drop=True), variants),
    )


def _order_variants(frame: pd.DataFrame, variants: dict[str, tuple[Policy, ...]]) -> pd.DataFrame:
    """Group rows by variant in declaration order, keeping each variant's row order."""
    if frame.empty:
        return frame.reset_index(drop=True)
    key = _variant_rank(frame, variants)
    return frame.iloc[key.argsort(kind="stable")].reset_index(drop=True)


def _variant_rank(frame: pd.DataFrame, variants: dict[str, tuple[Policy, ...]]) -> np.ndarray:
    """Each row's variant's position in declaration order."""
    rank = {name: i for i, name in enumerate(variants)}
    column = frame["variant"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        by_code = np.array([rank[str(c)] for c in column.cat.categories], dtype=np.int64)
        return np.asarray(by_code[column.cat.codes.to_numpy()])
    return np.asarray(column.map(rank).to_numpy())


FORMAT_VERSION: Final = 1
"""Version of the run/sweep folder layout, recorded in every manifest."""


def versions() -> dict[str, str]:
    """Versions of condlaunch and the libraries that shape its results."""
    out = {"python": sys.version.split()[0]}
    for name in ("condlaunch", "numpy", "pandas", "simpy", "pydantic"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def run_manifest(
    scenario: Scenario, *, replication: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The manifest of a run: enough to reproduce it and to know what was assumed."""
    return {
        "format_version": FORMAT_VERSION,
        "scenario_name": scenario.name,
        "scenario_file": str(scenario.source) if scenario.source else None,
        "seed": scenario.model.seed,
        "replication": replication,
        "versions": versions(),
        "input_sha256": scenario.input_hashes,
        "assumptions": scenario.resolved()["behavior"],
        "scenario": scenario.resolved(),
        **(extra or {}),
    }
