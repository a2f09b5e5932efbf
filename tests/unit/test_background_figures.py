"""Figures drawn in a forked child (:mod:`simulator.cli._background`): they land in the
folder given to ``begin`` (and nowhere else), the work given as ``before_wait`` runs in the
parent while the child draws, a failure in the child is raised in the parent with its
traceback, and without ``begin`` the figures are drawn in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.cli._background import figures_in_background


def _draw_two(folder: Path, inputs: object = None) -> list[str]:
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


def _draw_fails(folder: Path, inputs: object = None) -> list[str]:
    raise ValueError("no such metric: exposed_hours")


def test_a_failure_in_the_child_is_raised_with_its_message(tmp_path: Path) -> None:
    failing = figures_in_background(_draw_fails)
    with pytest.raises(RuntimeError, match="no such metric: exposed_hours"), failing as figures:
        figures.begin(tmp_path)
        figures(tmp_path)


def _draw_exits(folder: Path, inputs: object = None) -> list[str]:
    os._exit(3)


def test_a_child_that_dies_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    dying = figures_in_background(_draw_exits)
    with pytest.raises(RuntimeError, match="exited with code 3"), dying as figures:
        figures.begin(tmp_path)
        figures(tmp_path)


def _draw_slowly(folder: Path, inputs: object = None) -> list[str]:
    import time

    time.sleep(30)
    return []


def test_leaving_early_stops_the_child(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), figures_in_background(_draw_slowly) as figures:
        figures.begin(tmp_path)
        child = figures._child
        raise KeyboardInterrupt
    assert child is not None and not child.is_alive()


def _render_early() -> dict[str, bytes]:
    return {"early.png": f"rendered in {os.getpid()}".encode()}


def _draw_given(folder: Path, inputs: object) -> list[str]:
    (folder / "late.txt").write_text(repr(inputs))
    return ["late.txt"]


def test_a_child_started_early_renders_first_and_draws_with_what_it_is_given(
    tmp_path: Path,
) -> None:
    with figures_in_background(_draw_given, early=_render_early) as figures:
        figures.start()
        assert not any(tmp_path.iterdir())  # nothing is written before begin
        figures.give({"metrics": [1, 2]})
        figures.begin(tmp_path)
        names = figures(tmp_path)
    assert names == ["late.txt", "early.png"]
    assert (tmp_path / "late.txt").read_text() == "{'metrics': [1, 2]}"
    early = (tmp_path / "early.png").read_text()
    assert early.startswith("rendered in ") and early != f"rendered in {os.getpid()}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["early.png", "late.txt"]


def test_a_child_started_but_never_begun_is_stopped_and_the_figures_drawn_here(
    tmp_path: Path,
) -> None:
    with figures_in_background(_draw_given, early=_render_early) as figures:
        figures.start()
        child = figures._child
        figures.give(7)
        names = figures(tmp_path)
    assert names == ["late.txt", "early.png"]
    assert (tmp_path / "early.png").read_text() == f"rendered in {os.getpid()}"
    assert child is not None and not child.is_alive()


def _early_fails() -> dict[str, bytes]:
    raise ValueError("no device to show")


def test_a_failing_early_figure_is_raised_in_the_parent(tmp_path: Path) -> None:
    failing = figures_in_background(_draw_given, early=_early_fails)
    with pytest.raises(RuntimeError, match="no device to show"), failing as figures:
        figures.start()
        figures.begin(tmp_path)
        figures(tmp_path)
    assert not any(tmp_path.iterdir())


def test_leaving_before_begin_stops_a_waiting_child(tmp_path: Path) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        figures_in_background(_draw_given, early=_render_early) as figures,
    ):
        figures.start()
        child = figures._child
        raise KeyboardInterrupt
    assert child is not None and not child.is_alive()
    assert not any(tmp_path.iterdir())


def _early_waiting_for(signal_file: Path) -> Callable[[], dict[str, bytes]]:
    def early() -> dict[str, bytes]:
        import time

        deadline = time.monotonic() + 20
        while not signal_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"early.png": b"parent went on" if signal_file.exists() else b"parent waited"}

    return early


def _draw_size(folder: Path, inputs: bytes) -> list[str]:
    (folder / "late.txt").write_text(str(len(inputs)))
    return ["late.txt"]


def test_begin_does_not_wait_for_a_busy_child_to_read_large_inputs(tmp_path: Path) -> None:
    """The inputs (metrics: more than a pipe holds) are sent while the child still renders
    its early figures, which here end only once the parent has got past ``begin``."""
    signal_file = tmp_path / "went-on"
    folder = tmp_path / "staging"
    folder.mkdir()
    early = _early_waiting_for(signal_file)
    with figures_in_background(_draw_size, early=early) as figures:
        figures.start()
        figures.give(b"x" * 1_000_000)
        figures.begin(folder)
        signal_file.touch()
        names = figures(folder)
    assert names == ["late.txt", "early.png"]
    assert (folder / "early.png").read_bytes() == b"parent went on"
    assert (folder / "late.txt").read_text() == "1000000"
