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
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from simulator.analysis.sweep import PrecisionOutcome, SweepResult
from simulator.errors import InputError
from simulator.sim.log import DECISION_COLUMNS, EPISODE_COLUMNS

MANIFEST = "manifest.json"


def have_pyarrow() -> bool:
    """Whether parquet output is available."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def staged_output(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it atomically becomes ``out_dir``.

    An existing ``out_dir`` is replaced only after the new one is complete. On any
    exception the temporary folder is removed and ``out_dir`` is left as it was.
    """
    target = Path(out_dir)
    parent = target.parent if str(target.parent) else Path(".")
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a folder", source=target)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=parent))
    try:
        yield staging
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
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


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table: parquet when the suffix says so and pyarrow exists, else CSV."""
    if path.suffix == ".parquet":
        if have_pyarrow():
            frame.to_parquet(path, index=False)
            return path
        path = path.with_suffix(".csv")
    frame.to_csv(path, index=False)  # full float precision: times are join keys
    return path


@dataclass(frozen=True)
class LoadedRun:
    """A run folder read back."""

    path: Path
    manifest: dict[str, Any]
    decisions: pd.DataFrame
    metrics: pd.DataFrame | None
    episodes: pd.DataFrame | None


def load_run(path: str | Path) -> LoadedRun:
    """Read a run folder written by ``condlaunch run``.

    Raises
    ------
    InputError
        If the folder or its manifest or decision log is missing.
    """
    folder = Path(path)
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
    if parquet.is_file():
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
        episodes=_read_csv(episodes_path) if episodes_path.is_file() else None,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    """A run table: only empty cells are missing, so a variant or device named "NA",
    "null" or "nan" stays that name."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# -- sweep folders ---------------------------------------------------------------------------------
FLOAT_FORMAT: Final = "%.10g"
"""How floats are written to the sweep's CSV files (10 significant digits)."""
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
    with staged_output(out_dir) as folder:
        write_json(result.manifest, folder / "manifest.json")
        for name, frame in (
            ("results.csv", result.results),
            ("summary.csv", result.summary),
            ("paired.csv", result.paired),
            ("episode_outcomes.csv", result.outcomes),
        ):
            frame.to_csv(folder / name, index=False, float_format=FLOAT_FORMAT)
        written += [Path(name) for name in SWEEP_FILES]
        if result.manifest.get("decisions_replication") is not None:
            log = write_frame(result.decisions, folder / "decisions.parquet")
            result.episodes.to_csv(folder / "episodes.csv", index=False, float_format="%.6g")
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
    if not folder.is_dir():
        raise InputError("no such sweep folder", source=folder)
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
            episodes = pd.read_csv(folder / "episodes.csv", keep_default_na=False, na_values=[""])
    precision = info.get("precision")
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
    )
