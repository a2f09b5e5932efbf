"""Figures drawn in a forked child (:mod:`simulator.cli._background`): they land in the
folder given to ``begin`` (and nowhere else), the work given as ``before_wait`` runs in the
parent while the child draws, a failure in the child is raised in the parent with its
traceback, and without ``begin`` the figures are drawn in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.cli._background import figures_in_background


def _draw_two(folder: Path) -> list[str]:
    (folder / "a.txt").write_text(str(os.getpid()))
    (folder / "b.txt").write_text("second")
    return ["a.txt", "b.txt"]


def test_a_child_draws_into_the_staging_folder(tmp_path: Path) -> None:
    ran: list[str] = []
    with figures_in_background(_draw_two, lambda: ran.append("checked")) as figures:
        figures.begin(tmp_path)
        names = figures(tmp_path)
    assert names == ["a.txt", "b.txt"]
    assert ran == ["checked"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() != str(os.getpid())  # drawn in another process


def test_without_begin_the_figures_are_drawn_here(tmp_path: Path) -> None:
    with figures_in_background(_draw_two) as figures:
        assert figures(tmp_path) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == str(os.getpid())


def _draw_fails(folder: Path) -> list[str]:
    raise ValueError("no such metric: exposed_hours")


def test_a_failure_in_the_child_is_raised_with_its_message(tmp_path: Path) -> None:
    failing = figures_in_background(_draw_fails)
    with pytest.raises(RuntimeError, match="no such metric: exposed_hours"), failing as figures:
        figures.begin(tmp_path)
        figures(tmp_path)


def _draw_exits(folder: Path) -> list[str]:
    os._exit(3)


def test_a_child_that_dies_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    dying = figures_in_background(_draw_exits)
    with pytest.raises(RuntimeError, match="exited with code 3"), dying as figures:
        figures.begin(tmp_path)
        figures(tmp_path)


def _draw_slowly(folder: Path) -> list[str]:
    import time

    time.sleep(30)
    return []


def test_leaving_early_stops_the_child(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), figures_in_background(_draw_slowly) as figures:
        figures.begin(tmp_path)
        child = figures._child
        raise KeyboardInterrupt
    assert child is not None and not child.is_alive()
