"""Run and sweep folders: what ``run``/``sweep`` write (atomically), and how to read them.

A run folder holds::

    manifest.json        scenario as resolved (every default), seed, versions, input hashes
    metrics.csv          one row per variant × segment (simulator.analysis.metrics)
    decisions.parquet    the decision log (decisions.csv when pyarrow is not installed)
    episodes.csv         threat episodes as they played out, per variant
    devices.csv          devices and their Defender onboarding, per variant
    *.png                plots

Everything is first written to a hidden sibling folder, which replaces the target only
when complete: an interrupted or failed run leaves no partial folder that looks complete.

A sweep checkpoints every finished replication in ``checkpoints/`` of its folder while it
runs (:class:`SweepCheckpoints`), so that an interrupted sweep can be resumed
(``condlaunch sweep … --resume``); the finished folder replaces them.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from simulator.analysis.appetite import Appetite, Recommendation, recommend
from simulator.analysis.explain import explain_candidate, timeline_candidate
from simulator.analysis.metrics import episode_outcomes, log_violations, metric_violations
from simulator.analysis.pareto import summary_to_wide
from simulator.analysis.sweep import (
    PrecisionOutcome,
    ReplicationRecord,
    SweepChunk,
    SweepContext,
    SweepPart,
    SweepResult,
    combine_parts,
    run_sweep_chunk,
)
from simulator.durations import DurationError, parse_duration
from simulator.errors import InputError
from simulator.scenario.load import Scenario, variant_policies
from simulator.sim.log import DECISION_COLUMNS, EPISODE_COLUMNS
from simulator.sim.run import (
    DEFAULT_ENGINE,
    FORMAT_VERSION,
    ChunkFrames,
    RunResult,
    as_executor,
    assemble,
    check_engine,
    order_tables,
    run_manifest,
    run_tasks,
)
from simulator.sim.world import chunk_bounds, n_users

MANIFEST = "manifest.json"


def have_pyarrow() -> bool:
    """Whether parquet output is available."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


RUN_KIND: Final = "run"
SWEEP_KIND: Final = "sweep"

_OURS: Final = frozenset(
    {
        MANIFEST,
        "metrics.csv",
        "decisions.parquet",
        "decisions.csv",
        "episodes.csv",
        "devices.csv",
        "device_apps.csv",
        "results.csv",
        "summary.csv",
        "paired.csv",
        "episode_outcomes.csv",
        "report.html",
        "checkpoints",
    }
)
"""Entries a folder condlaunch wrote may hold (besides ``*.png`` figures)."""

_PARTIAL: Final = ".partial-"
_OLD: Final = ".old-"


def current_umask() -> int:
    """The process umask (read without changing it for longer than a moment)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_like_any_output(path: Path) -> None:
    """Give ``path`` (and, for a folder, everything in it) the modes the umask allows:
    ``mkdtemp``/``mkstemp`` create owner-only entries, outputs are for sharing."""
    mask = current_umask()
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
    if path.is_dir():
        for entry in path.rglob("*"):
            if not entry.is_symlink():
                os.chmod(entry, (0o777 if entry.is_dir() else 0o666) & ~mask)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a text file atomically (a sibling temp file renamed over ``path``), with the
    mode the umask gives new files."""
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        share_like_any_output(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def is_partial(path: str | Path) -> bool:
    """Whether ``path`` is the hidden staging folder of an unfinished (or killed) write."""
    name = Path(path).name
    return name.startswith(".") and (_PARTIAL in name or _OLD in name)


def is_our_folder(folder: Path) -> bool:
    """A folder condlaunch wrote: its manifest is ours and it holds nothing else unexpected."""
    manifest = folder / MANIFEST
    if not manifest.exists() and [e.name for e in folder.iterdir()] == [CHECKPOINTS]:
        return _is_checkpoint_info(folder / CHECKPOINTS / _CHECKPOINT_INFO)
    try:
        info = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not (isinstance(info, dict) and "format_version" in info and "scenario_name" in info):
        return False
    return all(
        entry.name in _OURS or (entry.suffix == ".png" and entry.is_file())
        for entry in folder.iterdir()
    )


def _is_checkpoint_info(path: Path) -> bool:
    """Whether ``path`` is the ``sweep.json`` of checkpoints condlaunch wrote."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(info, dict) and info.get("kind") == _CHECKPOINT_KIND


def _refuse_unfinished(folder: Path) -> None:
    """A folder holding only the checkpoints of an interrupted sweep is not a result yet."""
    if not (folder / MANIFEST).exists() and (folder / CHECKPOINTS).is_dir():
        raise InputError(
            "an unfinished sweep (only checkpoints); finish it with "
            f"'condlaunch sweep SCENARIO --resume --out {folder}'",
            source=folder,
        )


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_folder(out_dir: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Check, before any work, that ``out_dir`` may become (or replace) an output folder.

    Refused, with an :class:`~simulator.errors.InputError` naming ``--out``: an empty
    path; the file-system root, the current directory or any parent of it; a folder that
    holds one of ``inputs``; an existing file; an existing folder condlaunch did not write
    (no manifest of ours, or other files beside it); a place where no folder can be made.

    Returns
    -------
    pathlib.Path
        The resolved target.
    """
    if str(out_dir).strip() == "":
        raise InputError("is empty; name the folder to write", field="--out")
    target = Path(out_dir).expanduser().resolve()
    cwd = Path.cwd().resolve()
    if target == Path(target.anchor):
        raise InputError(f"{target} is the file-system root; choose a new folder", field="--out")
    if _within(cwd, target):
        raise InputError(
            f"{target} is the current folder or one of its parents; condlaunch replaces its "
            "output folder whole, so choose a new folder (e.g. runs/NAME)",
            field="--out",
        )
    for source in inputs:
        resolved = Path(source).expanduser().resolve()
        if _within(resolved, target):
            raise InputError(
                f"{target} holds an input file ({resolved.name}); condlaunch replaces its "
                "output folder whole, so choose a new folder",
                field="--out",
            )
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise InputError(f"{target} exists and is not a folder", field="--out")
        if any(target.iterdir()) and not is_our_folder(target):
            raise InputError(
                f"{target} exists and is not a folder condlaunch wrote (it holds files of "
                "yours); condlaunch replaces its output folder whole, so choose a new folder "
                "or remove it yourself",
                field="--out",
            )
    _check_creatable(target)
    return target


def check_output_file(
    out: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    folders: Iterable[str | Path] = (),
    allowed_inside: frozenset[str] = frozenset(),
    flag: str = "--out",
) -> Path:
    """Check, before any work, that ``out`` may be written as a file.

    Refused, with an :class:`~simulator.errors.InputError` naming ``flag``: an empty
    path; a folder; one of ``inputs``; a file inside one of ``folders`` (run or sweep
    folders the command reads) unless its name is in ``allowed_inside`` (``report.html``);
    a place where no file can be made.
    """
    if str(out).strip() == "":
        raise InputError("is empty; name the file to write", field=flag)
    target = Path(out).expanduser().resolve()
    if target.is_dir():
        raise InputError(f"{target} is a folder; name a file to write", field=flag)
    for source in inputs:
        if Path(source).expanduser().resolve() == target:
            raise InputError(
                f"{target} is one of this command's inputs; writing it would destroy it",
                field=flag,
            )
    for folder in folders:
        resolved = Path(folder).expanduser().resolve()
        if _within(target, resolved) and target != resolved:
            if target.parent == resolved and target.name in allowed_inside:
                continue
            raise InputError(
                f"{target} is inside {resolved}, a folder this command reads; write it elsewhere",
                field=flag,
            )
    _check_creatable(target)
    return target


_PSEUDO_FILE_SYSTEMS: Final = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Kernel file systems: no place for an output folder (and root may seem to write there)."""


def _check_creatable(target: Path) -> None:
    """Say why no folder can be made at ``target``, without writing anything: the nearest
    existing ancestor must be a writable folder on a writable, ordinary file system."""
    if any(_within(target, pseudo) for pseudo in _PSEUDO_FILE_SYSTEMS):
        raise InputError(f"{target} is inside a kernel file system; choose a folder", field="--out")
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"cannot make a folder at {target}: {ancestor} is a file", field="--out")
    read_only = bool(os.statvfs(ancestor).f_flag & os.ST_RDONLY)
    if read_only or not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot make a folder at {target}: {ancestor} is not writable", field="--out"
        )


def _clean_stale(parent: Path, name: str) -> None:
    """Remove the staging/backup folders an earlier, killed write to ``name`` left."""
    for prefix in (f".{name}{_PARTIAL}", f".{name}{_OLD}"):
        for entry in parent.glob(glob.escape(prefix) + "*"):
            if entry.is_dir() and not entry.is_symlink() and not _owner_alive(entry.name):
                shutil.rmtree(entry, ignore_errors=True)


def _owner_alive(name: str) -> bool:
    """Whether the process that made a staging folder (its pid is in the name) still runs."""
    pid_text = name.rsplit("-pid", 1)[-1].split("-", 1)[0] if "-pid" in name else ""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def staged_output(out_dir: str | Path, *, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder; on success it atomically becomes ``out_dir``.

    ``out_dir`` is checked first (:func:`check_output_folder`): it is replaced only if it
    is a folder condlaunch wrote. The new folder is complete before it replaces the old
    one; on any exception the temporary folder is removed and ``out_dir`` is left as it
    was. Staging folders left by a killed earlier write are removed; the result gets the
    modes the umask allows.
    """
    target = check_output_folder(out_dir, inputs=inputs)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(parent, target.name)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}{_PARTIAL}pid{os.getpid()}-", dir=parent)
    )
    try:
        yield staging
        share_like_any_output(staging)
        if target.exists():
            backup = Path(
                tempfile.mkdtemp(prefix=f".{target.name}{_OLD}pid{os.getpid()}-", dir=parent)
            )
            backup.rmdir()
            os.replace(target, backup)
            os.replace(staging, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(data: Any, path: Path) -> None:
    """Write JSON with sorted, stable formatting."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return None
    return str(value)


PARQUET_ROW_GROUP: Final = 1_000_000
"""Rows per Parquet row group: a reader can take one group at a time."""


def _log_metadata(manifest: dict[str, Any]) -> dict[str, str]:
    """What a decision log file says about where it came from (Parquet key-value metadata)."""
    return {
        "condlaunch.scenario_name": str(manifest.get("scenario_name")),
        "condlaunch.seed": str(manifest.get("seed")),
        "condlaunch.input_sha256": json.dumps(manifest.get("input_sha256"), sort_keys=True),
        "condlaunch.format_version": str(manifest.get("format_version")),
    }


def write_frame(frame: pd.DataFrame, path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a table: parquet when the suffix says so and pyarrow exists, else CSV.

    In Parquet, categorical columns are dictionary-encoded (ordered levels stay ordered
    when read back with pandas) and ``metadata`` is added to the file's key-value
    metadata (e.g. the scenario's input hashes), beside pandas' own.
    """
    if path.suffix == ".parquet":
        if have_pyarrow():
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata:
                merged = dict(table.schema.metadata or {})
                merged.update({k.encode(): v.encode() for k, v in metadata.items()})
                table = table.replace_schema_metadata(merged)
            pq.write_table(table, path, row_group_size=PARQUET_ROW_GROUP)
            return path
        path = path.with_suffix(".csv")
    # full float precision: times are join keys
    _iso_timestamps(frame).to_csv(path, index=False)
    return path


def _iso_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    """Time-zone-aware timestamp columns as ISO 8601 UTC text, ``Z``-suffixed, to the
    microsecond (``2026-11-02T08:15:30.000000Z``); a missing time is an empty cell."""
    stamps = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not stamps:
        return frame
    out = frame.copy(deep=False)
    for column in stamps:
        text = out[column].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out[column] = text.astype(object).where(out[column].notna(), None)
    return out


CSV_DECIMALS: Final = 3
"""Decimal places of the floats in the CSV files written here (minutes to 0.001 min);
``metrics.csv`` keeps full precision (it must equal the library's table)."""
CSV_CONVENTIONS: Final = {
    "float_decimals": CSV_DECIMALS,
    "metrics_csv": "full precision",
    "counts": "integers",
    "never": "empty cell (a time that never came, e.g. an undetected episode)",
    "lists": "one row per item: devices.csv's apps are in device_apps.csv",
    "timestamps": "*_utc columns (with a scenario start): ISO 8601 in UTC, e.g. "
    "2026-11-02T08:15:30.000000Z",
}
"""How the CSV files are written; recorded in ``manifest.json`` under ``csv``."""
_TIME_COLUMNS_WITH_NEVER: Final = (
    "detected_min",
    "first_threat_denial_min",
    "first_redirect_min",
    "activated_min",
)


def csv_ready(frame: pd.DataFrame, decimals: int | None = CSV_DECIMALS) -> pd.DataFrame:
    """A table as other tools should read it from CSV: a float column whose values are all
    whole numbers becomes an integer column (nullable: a missing value stays an empty
    cell), other floats are rounded to ``decimals`` places (None: as they are), and
    infinite values — "never" — become empty cells; UTC timestamps are ISO 8601 text."""
    out = _iso_timestamps(frame).copy()
    for column in out.columns:
        values = out[column]
        if not pd.api.types.is_float_dtype(values):
            continue
        numbers = values.to_numpy(dtype=float, copy=True)
        numbers[np.isinf(numbers)] = np.nan
        finite = numbers[~np.isnan(numbers)]
        if finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
            out[column] = pd.array(
                [None if np.isnan(v) else int(v) for v in numbers], dtype="Int64"
            )
        else:
            out[column] = numbers if decimals is None else np.round(numbers, decimals)
    return out


def write_csv(frame: pd.DataFrame, path: Path, decimals: int | None = CSV_DECIMALS) -> Path:
    """Write ``frame`` as CSV by :func:`csv_ready`'s conventions."""
    csv_ready(frame, decimals).to_csv(path, index=False)
    return path


def device_apps(devices: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The devices table without its packed ``apps`` list, and that list one row per
    variant × device × app (``variant, device_index, device, app``)."""
    if "apps" not in devices.columns:
        return devices, pd.DataFrame(columns=["variant", "device_index", "device", "app"])
    listed = devices.assign(app=devices["apps"].fillna("").astype(str).str.split(","))
    long = listed.explode("app")
    long = long[long["app"] != ""][["variant", "device_index", "device", "app"]]
    return devices.drop(columns=["apps"]), long.reset_index(drop=True)


def _never_back(frame: pd.DataFrame) -> pd.DataFrame:
    """Times written as empty cells ("never") read back as ``inf``, as the library has them."""
    for column in _TIME_COLUMNS_WITH_NEVER:
        if column in frame.columns:
            frame[column] = frame[column].astype(float).fillna(np.inf)
    return frame


RUN_FILES: Final = (
    *("manifest.json", "metrics.csv", "decisions", "episodes.csv", "devices.csv"),
    "device_apps.csv",
)
"""What every run folder holds (``decisions.parquet``, or ``.csv`` without pyarrow), plus
the figures the caller draws."""

FigureWriter = Callable[[Path], list[str]]
"""Draws figures into a folder; returns the file names written. If it also has a
``begin(folder)`` method, :func:`write_run` calls that as soon as the staging folder
exists, before writing the tables, so the figures can be drawn alongside (the CLI draws
them in a forked process); the call itself, after the tables, then collects them."""


def write_run(
    result: RunResult,
    out_dir: str | Path,
    *,
    metrics: pd.DataFrame | None = None,
    figures: FigureWriter | None = None,
    extra: dict[str, Any] | None = None,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Write a run folder; it appears complete or not at all (:func:`staged_output`).

    Parameters
    ----------
    result
        What :func:`simulator.simulate` returned.
    out_dir
        The folder to write. An existing folder is replaced only if condlaunch wrote it;
        a folder holding one of the scenario's input files is refused.
    metrics
        :func:`simulator.compute_metrics` of ``result``, if already computed.
    figures
        Optional callback that draws figures into the staging folder (the CLI passes the
        plots; the library writes no figures by itself).
    extra
        More manifest fields.
    inputs
        More input files the folder must not hold (e.g. policy files given on the command
        line), besides the scenario's own.

    Returns
    -------
    list of pathlib.Path
        The files written, relative to ``out_dir``, in writing order.
    """
    scenario = result.scenario
    if metrics is None:
        from simulator.analysis.metrics import compute_metrics

        metrics = compute_metrics(result)
    variants = {name: [p.name for p in policies] for name, policies in result.variants.items()}
    info = run_manifest(
        scenario,
        replication=result.replication,
        extra={"kind": RUN_KIND, "variants": variants, "csv": CSV_CONVENTIONS, **(extra or {})},
    )
    written: list[Path] = []
    with staged_output(out_dir, inputs=[*input_files(scenario), *inputs]) as folder:
        begin = getattr(figures, "begin", None)
        if callable(begin):
            begin(folder)
        write_json(info, folder / MANIFEST)
        written.append(Path(MANIFEST))
        written.append(Path(write_frame(metrics, folder / "metrics.csv").name))
        log = write_frame(result.decisions, folder / "decisions.parquet", _log_metadata(info))
        written.append(Path(log.name))
        devices, apps = device_apps(result.devices)
        for frame, name in (
            (result.episodes, "episodes.csv"),
            (devices, "devices.csv"),
            (apps, "device_apps.csv"),
        ):
            written.append(Path(write_csv(frame, folder / name).name))
        if figures is not None:
            written += [Path(name) for name in figures(folder)]
    return written


# -- streamed runs ---------------------------------------------------------------------------
STREAMED_LOG: Final = "one row group per chunk of users, each in canonical order"
"""How a streamed run's decision log is laid out (the manifest's ``log.order``)."""


@dataclass(frozen=True)
class StreamContext:
    """What every chunk task of a streamed run shares: the sweep context (scenario,
    variants, engine), the replication, and the folder the workers write their logs to."""

    sweep: SweepContext
    replication: int
    parts: Path


@dataclass(frozen=True)
class StreamPart:
    """What a streamed chunk sends back: its log is in a file, the rest is small.

    ``timeline`` and ``explain`` rank the chunk's candidates for the device timeline and
    the device to explain (:func:`~simulator.analysis.explain.timeline_candidate`,
    :func:`~simulator.analysis.explain.explain_candidate`): the least over chunks is the
    pick for the run.
    """

    first: int
    users: int
    rows: int
    path: str
    counts: pd.DataFrame
    outcomes: pd.DataFrame
    episodes: pd.DataFrame
    devices: pd.DataFrame
    problems: tuple[str, ...]
    timeline: tuple[int, int, str] | None
    explain: tuple[int, float, int, str] | None


def stream_chunk(context: StreamContext, chunk: SweepChunk) -> StreamPart:
    """Simulate one chunk, count its metrics, check its rows and write its log (canonical
    order, explanations filled) to a file of its own; runs in a worker."""
    sweep = context.sweep
    part = run_sweep_chunk(sweep, chunk)
    assert part.frames is not None  # keep_log is set
    run = assemble(sweep.scenario, context.replication, sweep.variants, [part.frames])
    path = write_frame(run.decisions, context.parts / f"chunk-{chunk.first:012d}.parquet")
    first = next(iter(sweep.variants))
    rows = run.decisions[run.decisions["variant"].astype(str) == first]
    return StreamPart(
        first=chunk.first,
        users=part.users,
        rows=len(run.decisions),
        path=str(path),
        counts=part.counts,
        outcomes=part.outcomes,
        episodes=part.frames.episodes,
        devices=part.frames.devices,
        problems=tuple(log_violations(run)),
        timeline=timeline_candidate(run.decisions, run.episodes, first),
        explain=explain_candidate(rows) if len(rows) else None,
    )


class _LogAppender:
    """Appends chunk log files to one decision log: Parquet row groups (one per chunk,
    categoricals as dictionaries with 32-bit indices, so that every chunk's schema is the
    same), or CSV without pyarrow."""

    def __init__(self, folder: Path, metadata: dict[str, str]) -> None:
        self.folder = folder
        self.metadata = metadata
        self.path: Path | None = None
        self._writer: Any = None
        self._schema: Any = None

    def append(self, part: Path) -> None:
        if part.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pq.read_table(part)
            if self._writer is None:
                fields = [
                    pa.field(f.name, pa.dictionary(pa.int32(), f.type.value_type, f.type.ordered))
                    if pa.types.is_dictionary(f.type)
                    else f
                    for f in table.schema
                ]
                merged = dict(table.schema.metadata or {})
                merged.update({k.encode(): v.encode() for k, v in self.metadata.items()})
                self._schema = pa.schema(fields, metadata=merged)
                self.path = self.folder / "decisions.parquet"
                self._writer = pq.ParquetWriter(self.path, self._schema)
            if table.num_rows:
                table = table.cast(self._schema)
                self._writer.write_table(table, row_group_size=table.num_rows)
        else:
            text = part.read_text(encoding="utf-8")
            if self.path is None:
                self.path = self.folder / "decisions.csv"
                self.path.write_text(text, encoding="utf-8")
            else:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(text.split("\n", 1)[1] if "\n" in text else "")
        part.unlink()

    def close(self) -> Path:
        if self._writer is not None:
            self._writer.close()
        assert self.path is not None, "a streamed run writes at least one chunk"
        return self.path


@dataclass(frozen=True)
class StreamedRun:
    """What :func:`write_streamed_run` wrote and computed (all but the decision log).

    ``timeline_device``/``explain_device``: the device the run's timeline figure shows and
    the one the CLI suggests explaining (None without decisions)."""

    written: list[Path]
    metrics: pd.DataFrame
    outcomes: pd.DataFrame
    episodes: pd.DataFrame
    devices: pd.DataFrame
    decisions: int
    problems: list[str]
    timeline_device: str | None
    explain_device: str | None


StreamFigures = Callable[[Path, "StreamedRun"], list[str]]
"""Draws a streamed run's figures into the staging folder (its log is there to read)."""


def write_streamed_run(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    replication: int = 0,
    workers: int = 1,
    engine: str = DEFAULT_ENGINE,
    progress: Callable[[int, int], None] | None = None,
    figures: StreamFigures | None = None,
    extra: dict[str, Any] | None = None,
    inputs: Iterable[str | Path] = (),
) -> StreamedRun:
    """Simulate and write a run folder whose decision log never sits in memory.

    Each chunk of users is simulated, counted, checked and written to its own file by a
    worker; this process appends the files to ``decisions.parquet`` in user order (one row
    group per chunk, each in canonical order: :data:`STREAMED_LOG`), keeps the additive
    counts, the episodes and the devices (a few rows per device), and at the end writes
    the metrics (:func:`~simulator.analysis.sweep.combine_parts`, as a sweep's
    replication), the other tables and the figures. Memory is bounded by a chunk's log,
    whatever the fleet. The folder appears complete or not at all.

    The rows are those of :func:`simulator.simulate` of the same scenario and
    replication; only their order differs (chunk first), and the metrics' sums are taken
    per chunk, so they equal :func:`~simulator.analysis.metrics.compute_metrics` to
    floating-point rounding.
    """
    variants = {name: tuple(policies) for name, policies in variant_policies(scenario).items()}
    if not variants:
        raise ValueError("no policy variants to simulate")
    check_engine(engine, also=("metrics",))
    names = {name: [p.name for p in policies] for name, policies in variants.items()}
    info = run_manifest(
        scenario,
        replication=replication,
        extra={
            "kind": RUN_KIND,
            "variants": names,
            "csv": CSV_CONVENTIONS,
            "log": {"streamed": True, "order": STREAMED_LOG},
            **(extra or {}),
        },
    )
    tasks = [SweepChunk(replication, a, b, keep_log=True) for a, b in chunk_bounds(scenario)]
    total = n_users(scenario)
    with staged_output(out_dir, inputs=[*input_files(scenario), *inputs]) as folder:
        parts_folder = folder / ".chunks"
        parts_folder.mkdir()
        context = StreamContext(SweepContext(scenario, variants, engine), replication, parts_folder)
        log = _LogAppender(folder, _log_metadata(info))
        waiting: dict[int, StreamPart] = {}
        order = [task.first for task in tasks]
        kept: list[StreamPart] = []
        done = 0
        for _, part in run_tasks(as_executor(None, workers), stream_chunk, context, tasks):
            waiting[part.first] = part
            while len(kept) < len(order) and order[len(kept)] in waiting:
                ready = waiting.pop(order[len(kept)])  # appended in user order, always
                log.append(Path(ready.path))
                kept.append(ready)
            done += part.users
            if progress is not None:
                progress(min(done, total), total)
        log_path = log.close()
        parts_folder.rmdir()
        metrics, outcomes = combine_parts(
            [SweepPart(replication, p.first, p.users, p.counts, p.outcomes) for p in kept],
            list(variants),
        )
        episodes, devices = order_tables(
            scenario, variants, [p.episodes for p in kept], [p.devices for p in kept]
        )
        timelines = [p.timeline for p in kept if p.timeline is not None]
        explains = [p.explain for p in kept if p.explain is not None]
        streamed = StreamedRun(
            written=[],
            metrics=metrics,
            outcomes=outcomes,
            episodes=episodes,
            devices=devices,
            decisions=sum(p.rows for p in kept),
            problems=[problem for p in kept for problem in p.problems] + metric_violations(metrics),
            timeline_device=min(timelines)[2] if timelines else None,
            explain_device=min(explains)[3] if explains else None,
        )
        written = streamed.written
        write_json(info, folder / MANIFEST)
        written.append(Path(MANIFEST))
        written.append(Path(write_frame(metrics, folder / "metrics.csv").name))
        written.append(Path(log_path.name))
        device_table, apps = device_apps(devices)
        for frame, name in (
            (episodes, "episodes.csv"),
            (device_table, "devices.csv"),
            (apps, "device_apps.csv"),
        ):
            written.append(Path(write_csv(frame, folder / name).name))
        if figures is not None:
            written += [Path(name) for name in figures(folder, streamed)]
    return streamed


def iter_decision_log(folder: str | Path) -> Iterator[pd.DataFrame]:
    """A run folder's decision log in pieces that each hold whole devices: a streamed
    log's row groups (one per chunk of users) one at a time, else the whole log."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    parquet = folder / "decisions.parquet"
    streamed = bool((manifest.get("log") or {}).get("streamed"))
    if streamed and parquet.is_file() and have_pyarrow():
        import pyarrow.parquet as pq

        log = pq.ParquetFile(parquet)
        for group in range(log.num_row_groups):
            yield log.read_row_group(group).to_pandas()
        return
    yield load_run(folder).decisions


def read_device_log(folder: str | Path, device: str) -> pd.DataFrame:
    """One device's rows of a run folder's decision log, without reading the rest into
    memory (Parquet row groups are filtered as they are read; CSV in blocks)."""
    folder = Path(folder)
    parquet, csv = folder / "decisions.parquet", folder / "decisions.csv"
    if parquet.is_file():
        if not have_pyarrow():
            raise InputError("reading decisions.parquet needs pyarrow", source=parquet)
        return pd.read_parquet(parquet, filters=[("device", "==", device)])
    if csv.is_file():
        rows = [
            block[block["device"].astype(str) == device]
            for block in pd.read_csv(csv, keep_default_na=False, na_values=[""], chunksize=500_000)
        ]
        frame = pd.concat(rows, ignore_index=True)
        for column in frame.columns:
            if str(column).endswith("_utc"):
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame
    raise InputError("no decision log (decisions.parquet or decisions.csv)", source=folder)


def input_files(scenario: Scenario | None) -> list[Path]:
    """The files a scenario was read from (the scenario and its policy files)."""
    if scenario is None or scenario.source is None:
        return []
    source = Path(scenario.source)
    return [source, *(source.parent / name for name in scenario.model.policy_files)]


def _refuse_partial(folder: Path) -> None:
    if is_partial(folder):
        raise InputError(
            "an unfinished or interrupted write (a staging folder), not a finished run or "
            "sweep folder",
            source=folder,
        )


@dataclass(frozen=True)
class LoadedRun:
    """A run folder read back."""

    path: Path
    manifest: dict[str, Any]
    decisions: pd.DataFrame
    metrics: pd.DataFrame | None
    episodes: pd.DataFrame | None


def load_run(path: str | Path, *, device: str | None = None) -> LoadedRun:
    """Read a run folder written by ``condlaunch run``; with ``device``, only that
    device's decision-log rows (:func:`read_device_log`: a log of any size).

    Raises
    ------
    InputError
        If the folder or its manifest or decision log is missing.
    """
    folder = Path(path)
    _refuse_partial(folder)
    if not folder.is_dir():
        raise InputError("no such run folder", source=folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"not a run folder (no {MANIFEST})", source=folder)
    try:
        info = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"unreadable manifest: {exc.msg}", source=manifest_path) from None
    parquet, csv = folder / "decisions.parquet", folder / "decisions.csv"
    if device is not None:
        decisions = read_device_log(folder, device)
    elif parquet.is_file():
        if not have_pyarrow():
            raise InputError("reading decisions.parquet needs pyarrow", source=parquet)
        decisions = pd.read_parquet(parquet)
    elif csv.is_file():
        decisions = _read_csv(csv)
    else:
        raise InputError("no decision log (decisions.parquet or decisions.csv)", source=folder)
    missing = [c for c in DECISION_COLUMNS if c not in decisions.columns]
    if missing:
        raise InputError(f"decision log lacks columns {missing}", source=folder)
    metrics_path = folder / "metrics.csv"
    episodes_path = folder / "episodes.csv"
    return LoadedRun(
        path=folder,
        manifest=info,
        decisions=decisions,
        metrics=_read_csv(metrics_path) if metrics_path.is_file() else None,
        episodes=_never_back(_read_csv(episodes_path)) if episodes_path.is_file() else None,
    )


def read_run_table(path: Path) -> pd.DataFrame:
    """A run folder's CSV table (episodes, devices) as :func:`load_run` reads it."""
    return _never_back(_read_csv(path))


def _read_csv(path: Path) -> pd.DataFrame:
    """A run table: only empty cells are missing, so a variant or device named "NA",
    "null" or "nan" stays that name; ``*_utc`` columns are read as UTC timestamps."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for column in frame.columns:
        if str(column).endswith("_utc"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
                "datetime64[ns, UTC]"
            )
    return frame


# -- sweep folders ---------------------------------------------------------------------------------
SWEEP_FILES: Final = (
    "manifest.json",
    "results.csv",
    "summary.csv",
    "paired.csv",
    "episode_outcomes.csv",
)
"""Files every sweep folder has; ``decisions.parquet`` (or ``.csv``) and ``episodes.csv``
(replication 0) when the decision log was kept."""


def write_sweep(result: SweepResult, out_dir: str | Path) -> list[Path]:
    """Write a sweep folder; it appears complete or not at all (see
    :func:`~simulator.folders.staged_output`). An existing folder is replaced whole.

    Returns
    -------
    list of pathlib.Path
        The files written, relative to ``out_dir``, in writing order.
    """
    written: list[Path] = []
    with staged_output(out_dir, inputs=input_files(result.scenario)) as folder:
        write_json({**result.manifest, "csv": CSV_CONVENTIONS}, folder / "manifest.json")
        for name, frame in (
            ("results.csv", result.results),
            ("summary.csv", result.summary),
            ("paired.csv", result.paired),
            ("episode_outcomes.csv", result.outcomes),
        ):
            write_csv(frame, folder / name)
        written += [Path(name) for name in SWEEP_FILES]
        if result.manifest.get("decisions_replication") is not None:
            log = write_frame(
                result.decisions, folder / "decisions.parquet", _log_metadata(result.manifest)
            )
            write_csv(result.episodes, folder / "episodes.csv")
            written += [Path(log.name), Path("episodes.csv")]
    return written


def load_sweep(path: str | Path) -> SweepResult:
    """Read a sweep folder written by :func:`write_sweep` (or ``condlaunch sweep``).

    Raises
    ------
    InputError
        If the folder, its manifest or one of its tables is missing, or it is not a sweep.
    """
    folder = Path(path)
    _refuse_partial(folder)
    if not folder.is_dir():
        raise InputError("no such sweep folder", source=folder)
    _refuse_unfinished(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError("not a sweep folder (no manifest.json)", source=folder)
    try:
        info = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"unreadable manifest: {exc.msg}", source=manifest_path) from None
    if not isinstance(info, dict) or info.get("kind") != "sweep":
        raise InputError("not a sweep folder (manifest kind is not 'sweep')", source=folder)
    tables = {}
    for name in SWEEP_FILES[1:]:
        if not (folder / name).is_file():
            raise InputError(f"missing {name}", source=folder)
        tables[name] = pd.read_csv(folder / name, keep_default_na=False, na_values=[""])
    decisions = pd.DataFrame(columns=DECISION_COLUMNS)
    episodes = pd.DataFrame(columns=EPISODE_COLUMNS)
    if info.get("decisions_replication") is not None:
        decisions = load_run(folder).decisions
        if (folder / "episodes.csv").is_file():
            episodes = _never_back(
                pd.read_csv(folder / "episodes.csv", keep_default_na=False, na_values=[""])
            )
    precision = info.get("precision")
    recommendation = _recommendation(info, tables["results.csv"])
    return SweepResult(
        results=tables["results.csv"],
        summary=tables["summary.csv"],
        paired=tables["paired.csv"],
        outcomes=tables["episode_outcomes.csv"],
        decisions=decisions,
        episodes=episodes,
        baseline=str(info["baseline"]),
        variants={str(k): tuple(map(str, v)) for k, v in info["variants"].items()},
        replications=int(info["replications"]),
        precision=None if precision is None else PrecisionOutcome.from_dict(precision),
        manifest=info,
        recommendation=recommendation,
    )


def _recommendation(
    manifest: Mapping[str, Any], results: pd.DataFrame | None
) -> Recommendation | None:
    """The recommendation of a sweep's recorded appetite, from its per-replication results
    (None without an appetite, or when the results lack a metric it names)."""
    appetite = Appetite.from_dict(manifest.get("appetite"))
    if appetite is None or results is None:
        return None
    if not all(m in results.columns for m in [*appetite.metrics, "users"]):
        return None
    try:
        horizon = parse_duration(str(manifest["scenario"]["horizon"]))
    except (KeyError, DurationError):
        return None
    return recommend(
        results.assign(
            variant=results["variant"].astype(str), segment_by=results["segment_by"].astype(str)
        ),
        appetite,
        str(manifest.get("baseline")),
        horizon,
        variants=[str(v) for v in manifest.get("variants") or {}] or None,
        confidence=float(manifest.get("confidence", 0.95)),
    )


@dataclass(frozen=True)
class ResultsFolder:
    """What a run or sweep folder holds, read back for reports: its kind (``run`` or
    ``sweep``), manifest, metrics (a sweep's summary made wide), and for sweeps the
    summary and paired tables; episode outcomes when the folder has them; a sweep's
    per-replication results and the recommendation of its stated appetite, if any."""

    kind: str
    manifest: dict[str, Any]
    metrics: pd.DataFrame
    summary: pd.DataFrame | None
    paired: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    results: pd.DataFrame | None = None
    recommendation: Recommendation | None = None


# -- results, for reports ------------------------------------------------------------------
_KEYS: Final = ("variant", "segment_by", "segment")


def _read_table(path: Path, required: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV with key text kept as written (``"NA"`` stays a name), keys as strings."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable table: {exc}", source=path) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"lacks column(s) {', '.join(missing)}", source=path)
    for key in ("variant", "baseline", "segment_by", "segment"):
        if key in frame.columns:
            frame[key] = frame[key].astype(str)
    return frame


def read_results(folder: Path) -> ResultsFolder:
    """Read a run or sweep folder; :class:`InputError` naming the file if it is not one."""
    if is_partial(folder):
        raise InputError(
            "an unfinished or interrupted write (a staging folder), not a finished run or "
            "sweep folder",
            source=folder,
        )
    if not folder.is_dir():
        raise InputError("no such folder", source=folder)
    _refuse_unfinished(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"not a run or sweep folder (no {MANIFEST})", source=folder)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable manifest: {exc}", source=manifest_path) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("scenario"), dict):
        raise InputError("manifest has no resolved scenario", source=manifest_path)
    if manifest.get("kind") == "sweep":
        summary_path = folder / "summary.csv"
        if not summary_path.is_file():
            raise InputError("sweep folder without summary.csv", source=folder)
        summary = _read_table(summary_path, [*_KEYS, "metric", "mean", "ci_low", "ci_high"])
        paired_path = folder / "paired.csv"
        paired = (
            _read_table(
                paired_path, [*_KEYS, "metric", "mean_diff", "ci_low", "ci_high", "distinguishable"]
            )
            if paired_path.is_file()
            else None
        )
        outcomes_path = folder / "episode_outcomes.csv"
        outcomes = _read_table(outcomes_path, ["variant"]) if outcomes_path.is_file() else None
        results_path = folder / "results.csv"
        results = _read_table(results_path, _KEYS) if results_path.is_file() else None
        return ResultsFolder(
            "sweep",
            manifest,
            summary_to_wide(summary),
            summary,
            paired,
            outcomes,
            results,
            _recommendation(manifest, results),
        )
    metrics_path = folder / "metrics.csv"
    if not metrics_path.is_file():
        raise InputError("run folder without metrics.csv", source=folder)
    metrics = _read_table(metrics_path, _KEYS)
    return ResultsFolder("run", manifest, metrics, None, None, _run_outcomes(folder, manifest))


def _run_outcomes(folder: Path, manifest: Mapping[str, Any]) -> pd.DataFrame | None:
    """Episode outcomes of a run, computed from its decision log, episodes and devices."""
    if not (folder / "episodes.csv").is_file():
        return None
    try:
        horizon = parse_duration(manifest["scenario"]["horizon"])
    except (KeyError, DurationError):
        raise InputError("manifest scenario has no valid horizon", source=folder) from None
    run = load_run(folder)
    episodes = _never_back(_read_table(folder / "episodes.csv"))
    devices = _read_table(folder / "devices.csv") if (folder / "devices.csv").is_file() else None
    if devices is not None:
        devices = _never_back(devices)
    decisions = run.decisions.assign(variant=run.decisions["variant"].astype(str))
    return episode_outcomes(decisions, episodes, horizon, devices)


# -- sweep checkpoints ---------------------------------------------------------------------
CHECKPOINTS: Final = "checkpoints"
"""The sub-folder of a sweep folder that holds the replications of an unfinished sweep."""
_CHECKPOINT_KIND: Final = "sweep-checkpoints"
_CHECKPOINT_INFO: Final = "sweep.json"
_LOG_TABLES: Final = ("decisions", "episodes", "devices")
_NOT_HASHED: Final = ("description", "chunk_size", "start")
"""Scenario fields results do not depend on (``start`` only adds timestamp columns when
the tables are assembled, after the checkpoints)."""
"""Scenario fields that cannot change a replication's results (left out of the hash)."""


def input_digest(scenario: Scenario) -> str:
    """SHA-256 of the scenario as resolved (every default, policies inline, the seed):
    what a replication's results depend on. The description, chunk size and start are
    left out."""
    data = {k: v for k, v in scenario.resolved().items() if k not in _NOT_HASHED}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """A table as JSON-able data that reads back identical (Python's float repr
    round-trips; dtypes are recorded)."""
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [frame[c].tolist() for c in frame.columns],
    }


def _frame_from_json(data: Mapping[str, Any]) -> pd.DataFrame:
    """The table :func:`_frame_to_json` recorded."""
    columns = {
        name: pd.Series(values, dtype=dtype)
        for name, dtype, values in zip(data["columns"], data["dtypes"], data["data"], strict=True)
    }
    return pd.DataFrame(columns, columns=list(data["columns"]))


class SweepCheckpoints:
    """The ``checkpoints/`` folder of a sweep folder: one entry per finished replication.

    Each replication is written to a hidden temporary folder first and renamed into
    place when complete (``replication-000003/``), so that a checkpoint is there whole or
    not at all, whenever the sweep is stopped. ``sweep.json`` records the hash of the
    scenario (:func:`input_digest`): :meth:`load` refuses checkpoints of another scenario
    or seed. Replication 0's decision log is kept as parquet when pyarrow is installed
    (else replication 0 is run again on resume). Writing the finished sweep folder
    (:func:`write_sweep`) replaces the folder whole, checkpoints included.

    Parameters
    ----------
    out_dir
        The sweep folder (checked by :func:`check_output_folder` first).
    scenario
        The scenario being swept.
    """

    def __init__(self, out_dir: str | Path, scenario: Scenario) -> None:
        self.folder = Path(out_dir)
        self.path = self.folder / CHECKPOINTS
        self.scenario = scenario
        self.digest = input_digest(scenario)
        self.saved = 0

    def _info(self) -> dict[str, Any] | None:
        """``sweep.json``, or None when there are no checkpoints."""
        info_path = self.path / _CHECKPOINT_INFO
        if not self.path.exists():
            return None
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            info = None
        if not isinstance(info, dict) or info.get("kind") != _CHECKPOINT_KIND:
            raise InputError(
                f"{self.path} is not a checkpoint folder condlaunch wrote (no valid "
                f"{_CHECKPOINT_INFO}); remove it yourself or choose another folder",
                field="--out",
            )
        return info

    def load(self) -> dict[int, ReplicationRecord]:
        """The replications checkpointed so far (none if there are no checkpoints).

        Raises
        ------
        InputError
            If the checkpoints are of another scenario or seed (naming ``--resume``), or
            unreadable.
        """
        info = self._info()
        if info is None:
            return {}
        if info.get("input_digest") != self.digest:
            theirs = str(info.get("input_digest"))[:12]
            raise InputError(
                f"{self.folder} holds checkpoints of a different sweep (another scenario, "
                f"policy or seed: input hash {theirs}… there, {self.digest[:12]}… here); "
                "run without --resume to start over, or choose another --out",
                field="--resume",
            )
        records = {}
        for entry in sorted(self.path.glob("replication-*")):
            if entry.is_dir() and not entry.name.startswith("."):
                record = self._read(entry)
                records[record.replication] = record
        return records

    def _read(self, entry: Path) -> ReplicationRecord:
        """One checkpointed replication."""
        try:
            data = json.loads((entry / "record.json").read_text(encoding="utf-8"))
            log = None
            if all((entry / f"{name}.parquet").is_file() for name in _LOG_TABLES):
                tables = {n: pd.read_parquet(entry / f"{n}.parquet") for n in _LOG_TABLES}
                log = ChunkFrames(
                    int(data["log_users"]),
                    tables["decisions"],
                    tables["episodes"],
                    tables["devices"],
                )
            return ReplicationRecord(
                replication=int(data["replication"]),
                metrics=_frame_from_json(data["metrics"]),
                outcomes=_frame_from_json(data["outcomes"]),
                log=log,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"unreadable checkpoint: {exc}", source=entry) from None

    def clear(self) -> None:
        """Remove the checkpoints (of an earlier sweep into the same folder), and the
        folder itself if nothing else is left in it."""
        if self._info() is None:
            return
        shutil.rmtree(self.path)
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # only if empty: a folder holding only checkpoints

    def save(self, record: ReplicationRecord) -> None:
        """Checkpoint one finished replication, atomically."""
        if not self.path.is_dir():
            self.path.mkdir(parents=True, exist_ok=True)
            info = {
                "kind": _CHECKPOINT_KIND,
                "format_version": FORMAT_VERSION,
                "scenario_name": self.scenario.name,
                "seed": self.scenario.model.seed,
                "input_digest": self.digest,
                "input_sha256": self.scenario.input_hashes,
            }
            write_text_atomic(self.path / _CHECKPOINT_INFO, json.dumps(info, indent=2) + "\n")
        final = self.path / f"replication-{record.replication:06d}"
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=self.path))
        try:
            data = {
                "replication": record.replication,
                "metrics": _frame_to_json(record.metrics),
                "outcomes": _frame_to_json(record.outcomes),
                "log_users": record.log.users if record.log is not None else None,
            }
            (staging / "record.json").write_text(json.dumps(data) + "\n", encoding="utf-8")
            if record.log is not None and have_pyarrow():
                for name in _LOG_TABLES:
                    getattr(record.log, name).to_parquet(staging / f"{name}.parquet")
            share_like_any_output(staging)
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.saved += 1


def checkpoint_count(out_dir: str | Path) -> int:
    """How many replications the folder's checkpoints hold (0 if none)."""
    path = Path(out_dir) / CHECKPOINTS
    if not path.is_dir():
        return 0
    return sum(1 for e in path.glob("replication-*") if e.is_dir())
