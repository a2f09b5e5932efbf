"""Sweeps: policy variants × replications on common random numbers, with confidence intervals.

A *sweep* plays every policy variant of a scenario (its ``[sweep]`` grid, its
``[[variants]]``, or one variant per policy) on the **same world** in each replication —
the world depends on (seed, replication, user) only — for replications ``0 … R−1``. Each
metric of :mod:`simulator.analysis.metrics` then has one value per variant × replication × segment
(:attr:`SweepResult.results`), summarized over replications as a mean with a 95 %
Student-t interval (:func:`summarize_replications`), and each variant is compared with the
baseline by **paired** differences, replication by replication (:func:`paired_differences`);
the unpaired (Welch) half-width is given beside it to show what the pairing buys.

Scale
    The unit of work is one (replication, chunk of users) task, run through the
    :class:`~simulator.sim.run.Executor` seam (in-process, local processes, or any
    back-end with the same ``map``, such as a Dask cluster through
    :class:`~simulator.sim.cluster.DaskExecutor` or a ``distributed.Client``). The scenario
    and variants (:class:`SweepContext`) are shared by every task and sent once where the
    executor can (Dask scatters them). A task returns only the chunk's additive
    :func:`~simulator.analysis.metrics.count_metrics` and its
    :func:`~simulator.analysis.metrics.episode_outcomes`; the full decision log is kept for
    replication 0 alone (the diff command and the report read it). Tasks may finish in any
    order; results are assembled in a canonical order, so they are identical whatever the
    executor or worker count.
Resuming
    Each replication, once its last task is in, becomes a :class:`ReplicationRecord`
    handed to ``run_sweep(checkpoint=…)``; records passed back as ``completed=`` are not
    run again (:class:`simulator.folders.SweepCheckpoints` stores them), and the result is
    the same as an uninterrupted sweep's.
Precision mode
    With ``SweepSettings(precision=p)`` replications are added in batches of ``batch``
    (fixed, not tied to the worker count, so that the stopping point — and every output —
    is the same whatever the number of workers) until, for every watched metric (default
    :data:`~simulator.analysis.metrics.HEADLINE_METRICS`) of every variant in segment ``all``,
    the interval's half-width is at most ``p × |mean|`` — a metric that is 0 in every
    replication, or undefined in all, counts as met; the rule is
    :func:`~simulator.analysis.sweep_tables.precision_check` — or ``max_replications`` is
    reached. The check is made after the initial replications and after each batch, and
    the sweep stops at the first check that passes: the result holds exactly the
    replications of that check.
Folders
    :func:`simulator.folders.write_sweep` writes ``manifest.json``, ``results.csv``,
    ``summary.csv``, ``paired.csv``, ``episode_outcomes.csv`` and replication 0's
    ``decisions.parquet`` and ``episodes.csv``, atomically;
    :func:`simulator.folders.load_sweep` reads them back.

The pure table functions live in :mod:`simulator.analysis.sweep_tables`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from simulator.analysis.appetite import Appetite, Recommendation, recommend
from simulator.analysis.metrics import (
    HEADLINE_METRICS,
    METRIC_COLUMNS,
    OUTCOME_COLUMNS,
    coded_counts_and_outcomes,
    counts_and_outcomes,
    summarize,
)
from simulator.analysis.stats import DEFAULT_CONFIDENCE
from simulator.analysis.sweep_tables import (
    PAIRED_COLUMNS,
    SUMMARY_COLUMNS,
    PrecisionCheck,
    complete_results,
    paired_differences,
    precision_check,
    summarize_replications,
)
from simulator.errors import InputError
from simulator.policy.decide import Policy
from simulator.scenario.load import Scenario, variant_policies
from simulator.scenario.variants import sweep_variants
from simulator.sim.log import DECISION_COLUMNS, EPISODE_COLUMNS
from simulator.sim.run import (
    DEFAULT_ENGINE,
    ENGINES,
    ChunkFrames,
    ChunkTask,
    Executor,
    InProcess,
    LocalProcesses,
    as_executor,
    assemble,
    check_engine,
    run_chunk,
    run_manifest,
    run_tasks,
)
from simulator.sim.world import chunk_bounds, n_users

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_MAX_REPLICATIONS",
    "DEFAULT_REPLICATIONS",
    "PAIRED_COLUMNS",
    "SUMMARY_COLUMNS",
    "PrecisionCheck",
    "PrecisionOutcome",
    "RecordCallback",
    "ReplicationRecord",
    "SweepChunk",
    "SweepContext",
    "SweepPart",
    "SweepResult",
    "SweepSettings",
    "SweepTask",
    "chunk_counts",
    "combine_parts",
    "initial_replications",
    "paired_differences",
    "precision_check",
    "run_sweep",
    "run_sweep_chunk",
    "run_sweep_task",
    "summarize_replications",
]

DEFAULT_REPLICATIONS: Final = 10
"""Replications when neither the caller nor ``[sweep].replications`` says."""
DEFAULT_MAX_REPLICATIONS: Final = 100
"""Precision mode's cap on replications."""
DEFAULT_BATCH: Final = 5
"""Replications added per step in precision mode."""

ProgressCallback = Callable[[int, int], None]
"""Called with (user-replications done, user-replications planned so far)."""


# -- tasks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepTask:
    """One unit of work: a chunk of users of one replication, all variants.

    ``keep_log``: also return the chunk's decision log, episodes and devices.
    """

    chunk: ChunkTask
    keep_log: bool = False


@dataclass(frozen=True)
class SweepPart:
    """What a :class:`SweepTask` sends back: small frames, plus the log when asked.

    Attributes
    ----------
    replication, first, users
        Which replication, its first user index, and how many users the chunk has.
    counts
        :func:`~simulator.analysis.metrics.count_metrics` of the chunk (additive).
    outcomes
        :func:`~simulator.analysis.metrics.episode_outcomes` of the chunk.
    frames
        The chunk's tables when the task's ``keep_log`` is set, else None.
    """

    replication: int
    first: int
    users: int
    counts: pd.DataFrame
    outcomes: pd.DataFrame
    frames: ChunkFrames | None = None


def run_sweep_task(task: SweepTask) -> SweepPart:
    """Simulate one chunk of one replication and reduce it to counts and episode outcomes.

    A module-level function of picklable data, so that any executor can ship it to a
    worker; its result depends on the task only.
    """
    frames = run_chunk(task.chunk)
    counts, outcomes = chunk_counts(frames, task.chunk.scenario)
    return SweepPart(
        replication=task.chunk.replication,
        first=task.chunk.first,
        users=frames.users,
        counts=counts,
        outcomes=outcomes,
        frames=frames if task.keep_log else None,
    )


def chunk_counts(frames: ChunkFrames, scenario: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A chunk's additive :func:`~simulator.analysis.metrics.count_metrics` and its
    :func:`~simulator.analysis.metrics.episode_outcomes`: all a task keeps of its log.

    Additive across chunks that do not split a user (users are counted per chunk). A
    chunk of the compiled engine is read from its coded rows (the same tables, float for
    float, without building its decision log)."""
    if frames.coded:
        return coded_counts_and_outcomes(
            frames.coded,
            frames.episodes,
            frames.devices,
            scenario.model.horizon,
            working_hours=scenario.model.launches.working_hours,
        )
    return counts_and_outcomes(
        frames.decisions,
        frames.episodes,
        frames.devices,
        scenario.model.horizon,
        working_hours=scenario.model.launches.working_hours,
    )


def combine_parts(
    parts: Sequence[SweepPart], variants: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The metrics table and the episode outcomes (canonical order: variant, device,
    onset, episode) of one replication's parts, in any order."""
    rank = {name: i for i, name in enumerate(variants)}
    outcomes = pd.concat([p.outcomes for p in parts], ignore_index=True)
    metrics = summarize(pd.concat([p.counts for p in parts], ignore_index=True), outcomes)
    order = np.lexsort(
        (
            outcomes["episode"].to_numpy(dtype=str),
            outcomes["onset_min"].to_numpy(dtype=float),
            outcomes["device_index"].to_numpy(dtype=np.int64),
            outcomes["variant"].map(rank).to_numpy(dtype=np.int64),
        )
    )
    return metrics, outcomes.iloc[order].reset_index(drop=True)


@dataclass(frozen=True)
class SweepContext:
    """What every task of a sweep shares: sent to the workers once where the executor can
    (a Dask cluster scatters it), not with every task."""

    scenario: Scenario
    variants: dict[str, tuple[Policy, ...]]
    engine: str = DEFAULT_ENGINE


@dataclass(frozen=True)
class SweepChunk:
    """A task of a sweep without the shared part: users ``first … last − 1`` of one
    replication; ``keep_log`` as in :class:`SweepTask`."""

    replication: int
    first: int
    last: int
    keep_log: bool = False


def run_sweep_chunk(context: SweepContext, chunk: SweepChunk) -> SweepPart:
    """:func:`run_sweep_task` of ``chunk`` in ``context`` (module level, so any executor can
    ship it)."""
    task = ChunkTask(
        context.scenario,
        chunk.replication,
        chunk.first,
        chunk.last,
        context.variants,
        context.engine,
        explain=chunk.keep_log,  # only a kept log needs its one-sentence explanations
    )
    return run_sweep_task(SweepTask(task, keep_log=chunk.keep_log))


@dataclass(frozen=True)
class ReplicationRecord:
    """One finished replication, all variants: what a checkpoint holds.

    Attributes
    ----------
    replication
        The replication index.
    metrics
        Its metrics, one row per variant × segment: ``variant, replication, segment_by,
        segment`` then the metric columns (a slice of :attr:`SweepResult.results` before
        :func:`~simulator.analysis.sweep_tables.complete_results`).
    outcomes
        Its episode outcomes in canonical order, ``replication`` first.
    log
        Replication 0's decision log, episodes and devices when kept, else None.
    """

    replication: int
    metrics: pd.DataFrame
    outcomes: pd.DataFrame
    log: ChunkFrames | None = None


RecordCallback = Callable[[ReplicationRecord], None]
"""Called with every replication the sweep finishes (to checkpoint it, say)."""


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrecisionOutcome:
    """How precision mode ended.

    Attributes
    ----------
    target
        Relative half-width asked for (0.05: every half-width ≤ 5 % of |mean|).
    max_replications, batch
        The cap on replications and the number added per step.
    metrics
        The metrics watched (segment ``all``, every variant).
    converged
        Whether the target was met (else the cap stopped the sweep).
    replications
        Replications run: those of the last check, which is where the sweep stopped.
    last
        ``(variant, metric, relative half-width)`` at the stop. Converged: the metric that
        came within the target last — among those unmet at the previous check (all, if
        the first check passed), the one with the largest relative half-width. Not
        converged: the worst unmet metric.
    history
        ``(replications, unmet cells)`` of every check, in order.
    """

    target: float
    max_replications: int
    batch: int
    metrics: tuple[str, ...]
    converged: bool
    replications: int
    last: tuple[str, str, float] | None
    history: tuple[tuple[int, int], ...]

    @classmethod
    def from_checks(
        cls,
        checks: Sequence[PrecisionCheck],
        max_replications: int,
        batch: int,
        metrics: Sequence[str] = HEADLINE_METRICS,
    ) -> PrecisionOutcome:
        """Summarize the checks of one precision-mode sweep (the last one is the stop)."""
        final = checks[-1]
        last: tuple[str, str, float] | None
        if not final.met:
            last = final.unmet[0]
        elif len(checks) == 1:
            last = final.worst
        else:
            before = {(v, m) for v, m, _ in checks[-2].unmet}
            last = max(
                (c for c in final.cells if (c[0], c[1]) in before),
                key=lambda c: c[2],
                default=final.worst,
            )
        return cls(
            target=final.target,
            max_replications=max_replications,
            batch=batch,
            metrics=tuple(metrics),
            converged=final.met,
            replications=final.replications,
            last=last,
            history=tuple((c.replications, len(c.unmet)) for c in checks),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``manifest.json``); :meth:`from_dict` reads it back."""
        return {
            "target": self.target,
            "max_replications": self.max_replications,
            "batch": self.batch,
            "metrics": list(self.metrics),
            "converged": self.converged,
            "replications": self.replications,
            "last": None
            if self.last is None
            else {
                "variant": self.last[0],
                "metric": self.last[1],
                "relative_half_width": self.last[2] if math.isfinite(self.last[2]) else None,
            },
            "history": [{"replications": r, "unmet": u} for r, u in self.history],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrecisionOutcome:
        """The outcome recorded by :meth:`to_dict`."""
        last = data.get("last")
        ratio = None if last is None else last.get("relative_half_width")
        return cls(
            target=float(data["target"]),
            max_replications=int(data["max_replications"]),
            batch=int(data["batch"]),
            metrics=tuple(str(m) for m in data["metrics"]),
            converged=bool(data["converged"]),
            replications=int(data["replications"]),
            last=None
            if last is None
            else (str(last["variant"]), str(last["metric"]), math.inf if ratio is None else ratio),
            history=tuple((int(h["replications"]), int(h["unmet"])) for h in data["history"]),
        )


@dataclass(frozen=True)
class SweepResult:
    """A sweep's tables (see the module docstring).

    Attributes
    ----------
    results
        One row per variant × replication × segment_by × segment: ``variant,
        replication, segment_by, segment`` then every metric column of ``metrics.csv``.
    summary
        One row per variant × segment_by × segment × metric: :data:`SUMMARY_COLUMNS`.
    paired
        One row per non-baseline variant × segment_by × segment × metric:
        :data:`PAIRED_COLUMNS` (differences variant − baseline).
    outcomes
        ``replication`` then :data:`~simulator.analysis.metrics.OUTCOME_COLUMNS`: every episode
        of every replication under every variant.
    decisions, episodes
        Decision log and episodes of replication 0, all variants (empty if not kept).
    baseline
        The variant the paired differences are taken against.
    variants
        Variant name → names of its policies, in order.
    replications
        Number of replications (indices ``0 … replications − 1``).
    precision
        How precision mode ended, or None.
    manifest
        What ``manifest.json`` holds: the scenario as resolved, versions and settings.
    scenario
        The scenario, when run in this process (None when loaded from a folder).
    recommendation
        What the stated risk appetite recommends
        (:func:`~simulator.analysis.appetite.recommend`), or None without an appetite.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    outcomes: pd.DataFrame
    decisions: pd.DataFrame
    episodes: pd.DataFrame
    baseline: str
    variants: dict[str, tuple[str, ...]]
    replications: int
    precision: PrecisionOutcome | None
    manifest: dict[str, Any] = field(repr=False)
    scenario: Scenario | None = field(default=None, repr=False)
    recommendation: Recommendation | None = None

    @property
    def horizon(self) -> float:
        """The simulated time of every replication, minutes."""
        if self.scenario is not None:
            return float(self.scenario.model.horizon)
        from simulator.durations import parse_duration

        return float(parse_duration(str(self.manifest["scenario"]["horizon"])))

    @property
    def users(self) -> float:
        """Users in the fleet (the ``users`` metric of segment all; NaN if not recorded)."""
        from simulator.analysis.rates import users_of

        return users_of(self.results)

    def _repr_html_(self) -> str:
        """A notebook's view: the recommendation, then the headline means per variant."""
        from html import escape

        from simulator.analysis.catalogue import label

        rows = self.summary[
            (self.summary["segment_by"] == "all")
            & self.summary["metric"].isin(list(HEADLINE_METRICS))
        ]
        table = rows.pivot_table(index="variant", columns="metric", values="mean", sort=False)
        table = table.reindex(index=list(self.variants), columns=list(HEADLINE_METRICS))
        table.columns = [label(str(c)) for c in table.columns]
        words = (
            f"<p>{escape(self.recommendation.paragraph())}</p>"
            if self.recommendation is not None
            else "<p>No risk appetite stated: add an [appetite] to get a recommendation.</p>"
        )
        head = (
            f"<p><b>Sweep</b>: {len(self.variants)} variants × {self.replications} "
            f"replications, baseline {escape(self.baseline)!s}; means of segment all.</p>"
        )
        return head + words + table.to_html(float_format=lambda v: f"{v:,.1f}")


# -- settings --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SweepSettings:
    """What a sweep runs and how it is summarized: everything but where it runs.

    Immutable; make variants with :func:`dataclasses.replace`. Ranges are checked when
    the settings are made (:class:`~simulator.errors.InputError` naming the field), except
    what needs the scenario: ``max_replications`` against the initial replications and
    the baseline's name, checked by :func:`run_sweep`. None of these settings but
    ``replications``, ``precision`` (and what it reads) and ``confidence`` change results.

    Attributes
    ----------
    replications
        Replications to run (indices ``0 … replications − 1``), ≥ 1; default (None)
        ``[sweep].replications``, else :data:`DEFAULT_REPLICATIONS`. In precision mode,
        the initial number.
    precision
        If set (> 0), keep adding ``batch`` replications until every watched metric's
        half-width is at most ``precision`` × |mean| (rule:
        :func:`~simulator.analysis.sweep_tables.precision_check`) or ``max_replications``
        is reached.
    max_replications
        Precision mode's cap, ≥ the initial replications.
    batch
        Replications added per precision step, ≥ 1 (independent of the worker count, so
        that the stopping point is too).
    precision_metrics
        The metrics precision mode watches (segment ``all``, every variant); default the
        headline metrics (:data:`~simulator.analysis.metrics.HEADLINE_METRICS`).
    baseline
        Variant to compare the others with; default: the ``[sweep]`` baseline, else the
        first variant.
    keep_log
        Keep replication 0's decision log and episodes (:attr:`SweepResult.decisions`).
    confidence
        Two-sided confidence level of every interval, in (0, 1).
    engine
        ``"fast"`` (default) or ``"reference"`` (SimPy); see
        :data:`simulator.sim.run.ENGINES`. Does not change results.
    chunk_size
        Users per task, ≥ 1; default (None) the scenario's ``chunk_size``. Does not change
        results.
    appetite
        The risk appetite to recommend a variant from; default: the scenario's
        ``[appetite]`` (none: no recommendation). Does not change results.
    """

    replications: int | None = None
    precision: float | None = None
    max_replications: int = DEFAULT_MAX_REPLICATIONS
    batch: int = DEFAULT_BATCH
    precision_metrics: tuple[str, ...] = HEADLINE_METRICS
    baseline: str | None = None
    keep_log: bool = True
    confidence: float = DEFAULT_CONFIDENCE
    engine: str = DEFAULT_ENGINE
    chunk_size: int | None = None
    appetite: Appetite | None = None

    def __post_init__(self) -> None:
        """Check the ranges that do not depend on the scenario."""
        # A list of metrics is accepted, stored as a tuple (the settings stay hashable).
        object.__setattr__(self, "precision_metrics", tuple(self.precision_metrics))
        _check_at_least_one("replications", self.replications)
        _check_at_least_one("chunk_size", self.chunk_size)
        if self.precision is not None:
            if not (math.isfinite(self.precision) and self.precision > 0):
                raise InputError(f"must be > 0, got {self.precision:g}", field="precision")
            _check_at_least_one("batch", self.batch)
        if not 0 < self.confidence < 1:
            raise InputError(f"must be in (0, 1), got {self.confidence:g}", field="confidence")
        unknown = [m for m in self.precision_metrics if m not in METRIC_COLUMNS]
        if unknown or not self.precision_metrics:
            raise InputError(
                f"unknown metric(s) {unknown}" if unknown else "needs at least one metric",
                field="precision_metrics",
            )
        if self.engine not in ENGINES:
            raise InputError(
                f"unknown engine {self.engine!r}; expected one of " + ", ".join(ENGINES),
                field="engine",
            )


def _check_at_least_one(name: str, value: int | None) -> None:
    """An optional count setting is None or an int ≥ 1 (a bool is not a count)."""
    if value is not None and (isinstance(value, bool) or value < 1):
        raise InputError(f"must be >= 1, got {value}", field=name)


# -- running ---------------------------------------------------------------------------------
class _Replications:
    """Collects task results into per-replication records (metrics, outcomes, replication
    0's log), in whatever order the tasks finish."""

    def __init__(
        self,
        scenario: Scenario,
        variants: dict[str, tuple[Policy, ...]],
        settings: SweepSettings,
        completed: Mapping[int, ReplicationRecord] | None = None,
        on_record: RecordCallback | None = None,
    ) -> None:
        """A collection for ``scenario``'s ``variants`` under ``settings``, holding the
        ``completed`` replications already (replication 0 only if it has the log the
        settings ask for); ``on_record`` is called with each replication finished here."""
        self.context = SweepContext(scenario, variants, settings.engine)
        self.scenario = scenario
        self.variants = variants
        self.settings = settings
        self.records: dict[int, ReplicationRecord] = {
            rep: record
            for rep, record in (completed or {}).items()
            if not (rep == 0 and settings.keep_log and record.log is None)
        }
        self.on_record = on_record
        self.ran = 0

    def users_done(self, replications: range) -> int:
        """Users of the replications in ``replications`` that are already recorded."""
        return n_users(self.scenario) * sum(rep in self.records for rep in replications)

    def run(self, replications: range, runner: Executor, advance: Callable[[int], None]) -> None:
        """Run the chunks of every replication in ``replications`` not yet recorded."""
        settings = self.settings
        bounds = chunk_bounds(self.scenario, settings.chunk_size)
        tasks = [
            SweepChunk(rep, first, last, keep_log=settings.keep_log and rep == 0)
            for rep in replications
            if rep not in self.records
            for first, last in bounds
        ]
        pending: dict[int, list[SweepPart]] = {}
        for _, part in run_tasks(runner, run_sweep_chunk, self.context, tasks):
            parts = pending.setdefault(part.replication, [])
            parts.append(part)
            advance(part.users)
            if len(parts) == len(bounds):
                record = self._close(sorted(pending.pop(part.replication), key=_first))
                self.records[record.replication] = record
                if self.on_record is not None:
                    self.on_record(record)
        self.ran = max(self.ran, replications.stop)

    def _close(self, parts: list[SweepPart]) -> ReplicationRecord:
        """Reduce one replication's parts (in user order) to its record."""
        replication = parts[0].replication
        metrics, outcomes = combine_parts(parts, list(self.variants))
        metrics.insert(1, "replication", replication)
        outcomes.insert(0, "replication", replication)
        logs = [p.frames for p in parts if p.frames is not None]
        return ReplicationRecord(replication, metrics, outcomes, _join(logs) if logs else None)

    def _kept(self) -> list[ReplicationRecord]:
        """The records of replications ``0 … ran − 1``, in order."""
        return [self.records[rep] for rep in range(self.ran)]

    def results(self) -> pd.DataFrame:
        """Every replication's metrics, completed and in canonical order."""
        metrics = pd.concat([r.metrics for r in self._kept()], ignore_index=True)
        return complete_results(metrics, list(self.variants))

    def all_outcomes(self) -> pd.DataFrame:
        """Every replication's episode outcomes."""
        outcomes = [r.outcomes for r in self._kept()]
        if not outcomes:
            return pd.DataFrame(columns=["replication", *OUTCOME_COLUMNS])
        return pd.concat(outcomes, ignore_index=True)

    def log(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Replication 0's decision log and episodes, all variants (empty if not kept)."""
        first = self.records.get(0)
        if first is None or first.log is None or not self.settings.keep_log:
            return pd.DataFrame(columns=DECISION_COLUMNS), pd.DataFrame(columns=EPISODE_COLUMNS)
        run0 = assemble(self.scenario, 0, self.variants, [first.log])
        return run0.decisions, run0.episodes

    def kept_log(self) -> bool:
        """Whether replication 0's decision log is in the result."""
        first = self.records.get(0)
        return self.settings.keep_log and first is not None and first.log is not None


def _first(part: SweepPart) -> int:
    return part.first


def _join(parts: Sequence[ChunkFrames]) -> ChunkFrames:
    """Chunks of one replication (in user order) as one (as :func:`assemble` would join
    them: empty tables left out, so that dtypes do not depend on the chunk size)."""
    if len(parts) == 1:
        return parts[0]

    def join(frames: list[pd.DataFrame]) -> pd.DataFrame:
        full = [f for f in frames if not f.empty]
        if not full:
            return frames[0]
        return pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]

    return ChunkFrames(
        users=sum(p.users for p in parts),
        decisions=join([p.decisions for p in parts]),
        episodes=join([p.episodes for p in parts]),
        devices=join([p.devices for p in parts]),
    )


def _baseline(scenario: Scenario, names: Sequence[str], baseline: str | None) -> str:
    """The variant paired differences are taken against (checked: it exists)."""
    if baseline is not None:
        if baseline not in names:
            raise InputError(
                f"no variant named {baseline!r}; variants: " + ", ".join(names), field="baseline"
            )
        return baseline
    if scenario.model.sweep is not None:
        return sweep_variants(scenario)[1]
    return names[0]


def initial_replications(scenario: Scenario, replications: int | None = None) -> int:
    """Replications to run: ``replications`` if given, else ``[sweep].replications``, else
    :data:`DEFAULT_REPLICATIONS`."""
    if replications is not None:
        return replications
    if scenario.model.sweep is not None:
        return scenario.model.sweep.replications
    return DEFAULT_REPLICATIONS


def _start(scenario: Scenario, settings: SweepSettings) -> int:
    """The initial replications, checked against what the scenario says and the cap."""
    start = initial_replications(scenario, settings.replications)
    _check_at_least_one("replications", start)
    if settings.precision is not None and settings.max_replications < start:
        raise InputError(
            f"must be >= the initial replications ({start}), got {settings.max_replications}",
            field="max_replications",
        )
    return start


def _replicate(
    collected: _Replications,
    start: int,
    runner: Executor,
    progress: ProgressCallback | None,
) -> tuple[int, list[PrecisionCheck], pd.DataFrame | None]:
    """Run replications ``0 … start − 1``; in precision mode, add batches until a check
    passes or the cap is reached (the module docstring's rule).

    Returns the replications run, the precision checks made and the summary of the last
    check (no checks and None without precision).
    """
    settings = collected.settings
    users = n_users(collected.scenario)
    planned = start
    done = collected.users_done(range(planned))

    def advance(task_users: int) -> None:
        """Count a finished task's users and report progress."""
        nonlocal done
        done += task_users
        if progress is not None:
            progress(done, planned * users)

    checks: list[PrecisionCheck] = []
    ran = 0
    summary: pd.DataFrame | None = None
    while True:
        collected.run(range(ran, planned), runner, advance)
        ran = planned
        if settings.precision is None:
            break
        summary = summarize_replications(collected.results(), confidence=settings.confidence)
        checks.append(precision_check(summary, settings.precision, settings.precision_metrics))
        if checks[-1].met or ran >= settings.max_replications:
            break
        planned = min(ran + settings.batch, settings.max_replications)
        done += collected.users_done(range(ran, planned))  # resumed: already done
    return ran, checks, summary


def _sweep_manifest(
    scenario: Scenario,
    replications: int,
    baseline: str,
    variants: dict[str, tuple[str, ...]],
    settings: SweepSettings,
    precision: PrecisionOutcome | None,
    kept_log: bool,
) -> dict[str, Any]:
    """What ``manifest.json`` records of a sweep: the run manifest and the sweep's
    settings that shape its results."""
    info = run_manifest(scenario, replication=0)
    del info["replication"]
    info |= {
        "kind": "sweep",
        "replications": replications,
        "decisions_replication": 0 if kept_log else None,
        "baseline": baseline,
        "variants": {name: list(p) for name, p in variants.items()},
        "confidence": settings.confidence,
        "precision": None if precision is None else precision.to_dict(),
    }
    return info


def run_sweep(
    scenario: Scenario,
    settings: SweepSettings | None = None,
    *,
    workers: int = 1,
    executor: Executor | Any | None = None,
    progress: ProgressCallback | None = None,
    completed: Mapping[int, ReplicationRecord] | None = None,
    checkpoint: RecordCallback | None = None,
) -> SweepResult:
    """Run every policy variant of ``scenario`` on common random numbers, over replications.

    The sweep's options are one :class:`SweepSettings` value; only where it runs and how it
    reports progress are keywords. For example::

        run_sweep(scenario, SweepSettings(replications=5), workers=2)
        run_sweep(scenario, SweepSettings(precision=0.05, max_replications=60))

    Parameters
    ----------
    scenario
        A validated scenario; its variants come from
        :func:`~simulator.scenario.variant_policies`.
    settings
        Replications, precision mode, baseline, confidence, engine …; default
        ``SweepSettings()`` (the scenario's replications, no precision mode).
    workers
        Local worker processes (ignored when ``executor`` is given). Does not change results.
    executor
        Where the (replication, chunk) tasks run: an :class:`~simulator.sim.run.Executor`
        or a ``distributed.Client`` (the scenario is scattered to its workers once);
        default :func:`~simulator.sim.run.executor_for` ``(workers)``. Does not change
        results.
    progress
        Called with (user-replications done, user-replications planned) after each task,
        in the order tasks finish.
    completed
        Replications already done (by an interrupted sweep of the same scenario and seed,
        read back from its checkpoints): they are not run again, and the result is the
        same as without them. Replication 0 counts only if it holds the decision log the
        settings keep.
    checkpoint
        Called with every replication this call finishes, as soon as its last task is
        done (:class:`simulator.folders.SweepCheckpoints` saves it).

    Raises
    ------
    InputError
        For a scenario without variants, an unknown baseline, or initial replications out
        of range (naming the setting); :class:`SweepSettings` checks the other ranges.
    """
    settings = settings or SweepSettings()
    variants = variant_policies(scenario)
    if not variants:
        raise InputError("the scenario has no policy variants to sweep", field="policies")
    baseline = _baseline(scenario, list(variants), settings.baseline)
    start = _start(scenario, settings)
    runner = as_executor(executor, workers)
    if isinstance(runner, (InProcess, LocalProcesses)):  # a cluster's workers compile there
        check_engine(settings.engine, also=("metrics",))
    collected = _Replications(scenario, variants, settings, completed, checkpoint)
    ran, checks, summary = _replicate(collected, start, runner, progress)
    results = collected.results()
    if summary is None:
        summary = summarize_replications(results, confidence=settings.confidence)
    outcome = (
        PrecisionOutcome.from_checks(
            checks, settings.max_replications, settings.batch, settings.precision_metrics
        )
        if checks
        else None
    )
    decisions, episodes = collected.log()
    policy_names = {name: tuple(p.name for p in policies) for name, policies in variants.items()}
    stated = scenario.model.appetite
    appetite = settings.appetite or (
        None if stated is None else Appetite.from_dict(stated.model_dump())
    )
    recommendation = (
        None
        if appetite is None
        else recommend(
            results,
            appetite,
            baseline,
            scenario.model.horizon,
            variants=list(variants),
            confidence=settings.confidence,
        )
    )
    manifest = _sweep_manifest(
        scenario, ran, baseline, policy_names, settings, outcome, collected.kept_log()
    )
    if recommendation is not None:
        manifest["appetite"] = recommendation.appetite.to_dict()
        manifest["recommendation"] = recommendation.to_dict()
    return SweepResult(
        results=results,
        summary=summary,
        paired=paired_differences(results, baseline, confidence=settings.confidence),
        outcomes=collected.all_outcomes(),
        decisions=decisions,
        episodes=episodes,
        baseline=baseline,
        variants=policy_names,
        replications=ran,
        precision=outcome,
        manifest=manifest,
        scenario=scenario,
        recommendation=recommendation,
    )
