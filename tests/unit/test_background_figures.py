"""Figures drawn in a forked child (:mod:`simulator.cli._background`): the files arrive in
the folder the writer names, a failure in the child is raised in the parent with its
traceback, and no temporary folder is left behind either way."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from simulator.cli._background import figures_in_background


def _scratch_folders() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("condlaunch-figures-")}


def _draw_two(folder: Path) -> list[str]:
    (folder / "a.txt").write_text(f"drawn by {os.getpid()}")
    (folder / "b.txt").write_text("second")
    return ["a.txt", "b.txt"]


def test_files_move_into_the_writers_folder(tmp_path: Path) -> None:
    before = _scratch_folders()
    with figures_in_background(_draw_two) as collect:
        names = collect(tmp_path)
    assert names == ["a.txt", "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    # drawn in another process (fork), not in this one
    assert (tmp_path / "a.txt").read_text() != f"drawn by {os.getpid()}"
    assert _scratch_folders() == before


def _draw_fails(folder: Path) -> list[str]:
    raise ValueError("no such metric: exposed_hours")


def test_a_failure_in_the_child_is_raised_with_its_message(tmp_path: Path) -> None:
    before = _scratch_folders()
    failing = figures_in_background(_draw_fails)
    with pytest.raises(RuntimeError, match="no such metric: exposed_hours"), failing as collect:
        collect(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert _scratch_folders() == before


def _draw_exits(folder: Path) -> list[str]:
    os._exit(3)


def test_a_child_that_dies_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    dying = figures_in_background(_draw_exits)
    with pytest.raises(RuntimeError, match="exited with code 3"), dying as collect:
        collect(tmp_path)


def test_leaving_early_stops_the_child_and_cleans_up() -> None:
    before = _scratch_folders()
    with pytest.raises(KeyboardInterrupt), figures_in_background(_draw_two):
        raise KeyboardInterrupt
    assert _scratch_folders() == before
