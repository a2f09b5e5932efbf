"""Draw a run's figures in a forked process while the parent works on the tables.

``condlaunch run`` spends about as long drawing its three figures (matplotlib, one core)
as it does computing metrics, checking invariants and writing Parquet and CSV. So the child
is forked as soon as the simulation has finished: it first renders, in memory, the figures
that need only the simulation (the device timeline: ``early``), then waits. When
:func:`~simulator.folders.write_run` has made its staging folder it calls
:meth:`BackgroundFigures.begin`, which sends the child that folder and the inputs the other
figures need (the metrics, given with :meth:`~BackgroundFigures.give`); the child writes
its early figures there and draws the rest while the parent writes the tables, and the
writer's usual ``figures(folder)`` call then waits for it. Everything lands in the staging
folder, so the run folder still appears complete or not at all, and nothing is written
anywhere else. Where ``fork`` is not available everything is drawn in this process when
the writer asks for it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

Draw = Callable[[Path, Any], list[str]]
"""Draws figures into a folder, given the inputs passed to :meth:`BackgroundFigures.give`,
and returns the file names written."""

Early = Callable[[], Mapping[str, bytes]]
"""Renders figures before any folder exists: file name → PNG bytes."""


def _write_early(rendered: Mapping[str, bytes], folder: Path) -> list[str]:
    from simulator.plots.run import save_figure

    for name, png in rendered.items():
        save_figure(png, folder / name)
    return list(rendered)


def _child(
    draw: Draw, early: Early | None, orders: Connection, pipe: Connection, parent: int
) -> None:
    from simulator.sim.run import _worker_start  # Ctrl-C left to the parent; die with it

    _worker_start(parent)
    try:
        rendered = early() if early is not None else {}
        try:
            folder, inputs = orders.recv()
        except EOFError:  # the parent gave up before making a folder
            return
        names = draw(folder, inputs) + _write_early(rendered, folder)
    except BaseException:  # reported to the parent, which raises
        pipe.send(("error", traceback.format_exc()))
    else:
        pipe.send(("ok", names))
    finally:
        pipe.close()
        orders.close()


def _send_and_close(pipe: Connection, message: Any) -> None:
    try:
        pipe.send(message)
    except OSError:  # the child has already failed or was stopped; __call__ reports how
        pass
    finally:
        pipe.close()


def can_fork() -> bool:
    """Whether figures can be drawn in a forked child here."""
    return sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods()


class BackgroundFigures:
    """The ``figures`` callback of :func:`~simulator.folders.write_run`, drawing in a child.

    ``start()`` forks the child now, which renders ``early`` at once; ``begin(folder)``
    starts it if needed and sends it the staging folder with the inputs given to
    ``give``; calling the object waits for it and returns the file names, ``draw``'s
    first, then the early ones (or draws everything in-process when ``begin`` was never
    called or fork is unavailable). ``before_wait`` runs in the parent just before it
    waits — work that overlaps with the drawing.
    """

    def __init__(
        self,
        draw: Draw,
        before_wait: Callable[[], None] | None = None,
        early: Early | None = None,
    ) -> None:
        self._draw = draw
        self._early = early
        self._before_wait = before_wait
        self._inputs: Any = None
        self._child: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._orders: Connection | None = None
        self._sender: threading.Thread | None = None

    def give(self, inputs: Any) -> None:
        """What ``draw`` receives besides the folder (sent to the child by ``begin``)."""
        self._inputs = inputs

    def start(self) -> None:
        """Fork the child now (it renders the early figures, then waits for ``begin``)."""
        if not can_fork() or self._child is not None:
            return
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        orders, order_sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child,
            args=(self._draw, self._early, orders, send, os.getpid()),
            name="condlaunch-figures",
        )
        child.start()
        send.close()
        orders.close()
        self._child, self._pipe, self._orders = child, receive, order_sender

    def begin(self, folder: Path) -> None:
        self.start()
        if self._orders is None:
            return
        orders, self._orders = self._orders, None
        # sent from a thread: a pipe holds 64 KiB, and the child reads only once its
        # early work is done, which the parent need not wait for
        self._sender = threading.Thread(
            target=_send_and_close, args=(orders, (folder, self._inputs)), daemon=True
        )
        self._sender.start()

    def __call__(self, folder: Path) -> list[str]:
        if self._before_wait is not None:
            self._before_wait()
        child, pipe = self._child, self._pipe
        if child is None or pipe is None or self._orders is not None:
            self.stop()
            rendered = self._early() if self._early is not None else {}
            return self._draw(folder, self._inputs) + _write_early(rendered, folder)
        try:
            status, payload = pipe.recv()
        except EOFError:
            child.join()
            raise RuntimeError(
                f"drawing the figures failed (the drawing process exited with code "
                f"{child.exitcode})"
            ) from None
        child.join()
        self.stop()  # the sender's thread, the pipes
        if status != "ok":
            raise RuntimeError(f"drawing the figures failed:\n{payload}")
        return list(payload)

    def stop(self) -> None:
        """Stop the child if it still runs (an error or Ctrl-C in the parent)."""
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._child = None
        if self._sender is not None:  # the child is gone: its end of the pipe is closed
            self._sender.join()
            self._sender = None
        for end in (self._pipe, self._orders):
            if end is not None:
                end.close()
        self._pipe = self._orders = None


@contextlib.contextmanager
def figures_in_background(
    draw: Draw,
    before_wait: Callable[[], None] | None = None,
    early: Early | None = None,
) -> Iterator[BackgroundFigures]:
    """A :class:`BackgroundFigures` that is stopped when the block is left, however."""
    figures = BackgroundFigures(draw, before_wait, early)
    try:
        yield figures
    finally:
        figures.stop()
