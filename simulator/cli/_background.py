"""Draw a run's figures in a forked process while the parent writes the tables.

``condlaunch run`` spends about as long drawing its three figures (matplotlib, one core)
as it does checking invariants and writing Parquet and CSV. The figures need only the
finished result and metrics, so when :func:`~simulator.folders.write_run` has made its
staging folder it calls :meth:`BackgroundFigures.begin`, which forks a child that draws
into that folder while the parent writes the tables; the writer's usual ``figures(folder)``
call then waits for the child. Everything lands in the staging folder, so the run folder
still appears complete or not at all, and nothing is written anywhere else. Where ``fork``
is not available the figures are drawn in this process when the writer asks for them,
exactly as before.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

Draw = Callable[[Path], list[str]]
"""Draws figures into a folder and returns the file names written."""


def _child(draw: Draw, folder: Path, pipe: Connection, parent: int) -> None:
    from simulator.sim.run import _worker_start  # Ctrl-C left to the parent; die with it

    _worker_start(parent)
    try:
        names = draw(folder)
    except BaseException:  # reported to the parent, which raises
        pipe.send(("error", traceback.format_exc()))
    else:
        pipe.send(("ok", names))
    finally:
        pipe.close()


def can_fork() -> bool:
    """Whether figures can be drawn in a forked child here."""
    return sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods()


class BackgroundFigures:
    """The ``figures`` callback of :func:`~simulator.folders.write_run`, drawing in a child.

    ``begin(folder)`` starts the child on the staging folder; calling the object waits for
    it and returns the file names (or draws in-process when ``begin`` was never called or
    fork is unavailable). ``before_wait`` runs in the parent just before it waits — work
    that overlaps with the drawing.
    """

    def __init__(self, draw: Draw, before_wait: Callable[[], None] | None = None) -> None:
        self._draw = draw
        self._before_wait = before_wait
        self._child: BaseProcess | None = None
        self._pipe: Connection | None = None

    def begin(self, folder: Path) -> None:
        if not can_fork() or self._child is not None:
            return
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_child, args=(self._draw, folder, send, os.getpid()), name="condlaunch-figures"
        )
        child.start()
        send.close()
        self._child, self._pipe = child, receive

    def __call__(self, folder: Path) -> list[str]:
        if self._before_wait is not None:
            self._before_wait()
        child, pipe = self._child, self._pipe
        if child is None or pipe is None:
            return self._draw(folder)
        try:
            status, payload = pipe.recv()
        except EOFError:
            child.join()
            raise RuntimeError(
                f"drawing the figures failed (the drawing process exited with code "
                f"{child.exitcode})"
            ) from None
        child.join()
        if status != "ok":
            raise RuntimeError(f"drawing the figures failed:\n{payload}")
        return list(payload)

    def stop(self) -> None:
        """Stop the child if it still runs (an error or Ctrl-C in the parent)."""
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
        if self._pipe is not None:
            self._pipe.close()


@contextlib.contextmanager
def figures_in_background(
    draw: Draw, before_wait: Callable[[], None] | None = None
) -> Iterator[BackgroundFigures]:
    """A :class:`BackgroundFigures` that is stopped when the block is left, however."""
    figures = BackgroundFigures(draw, before_wait)
    try:
        yield figures
    finally:
        figures.stop()
