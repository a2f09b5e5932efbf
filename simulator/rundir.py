"""Run folders: what ``condlaunch run`` writes, written atomically, and how to read it back.

A run folder holds::

    manifest.json        scenario as resolved (every default), seed, versions, input hashes
    metrics.csv          one row per variant × segment (simulator.metrics)
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
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.errors import InputError
from simulator.log import DECISION_COLUMNS
from simulator.scenario import Scenario

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


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


def versions() -> dict[str, str]:
    """Versions of condlaunch and the libraries that shape its results."""
    out = {"python": sys.version.split()[0]}
    for name in ("condlaunch", "numpy", "pandas", "simpy", "pydantic"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def manifest(
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
