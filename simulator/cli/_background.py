"""Draw a run's figures in a forked process while the parent writes the tables.

``condlaunch run`` spends about as long drawing its three figures (matplotlib, one core)
as it does checking invariants and writing Parquet and CSV. The figures need only the
finished result and metrics, so a child forked after the metrics draws them into a
private temporary folder while the parent goes on; the run folder's writer then waits for
the child and moves the files into its staging folder (so the folder still appears
complete or not at all). Where ``fork`` is not available the figures are drawn in this
process when the writer asks for them, exactly as before.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
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


@contextlib.contextmanager
def figures_in_background(draw: Draw) -> Iterator[Draw]:
    """Start drawing now; yield the ``figures`` callback :func:`~simulator.folders.write_run`
    calls with its staging folder (it waits for the drawing and moves the files in).

    Leaving the block (normally, on an error or on Ctrl-C) stops the child if it is
    still running and removes its temporary folder.
    """
    if sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods():
        yield draw
        return
    context = multiprocessing.get_context("fork")
    scratch = Path(tempfile.mkdtemp(prefix="condlaunch-figures-"))
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(draw, scratch, send, os.getpid()), name="condlaunch-figures"
    )
    child.start()
    send.close()

    def collect(folder: Path) -> list[str]:
        try:
            status, payload = receive.recv()
        except EOFError:
            child.join()
            raise RuntimeError(
                f"drawing the figures failed (the drawing process exited with code "
                f"{child.exitcode})"
            ) from None
        child.join()
        if status != "ok":
            raise RuntimeError(f"drawing the figures failed:\n{payload}")
        for name in payload:
            shutil.move(str(scratch / name), str(folder / name))
        return list(payload)

    try:
        yield collect
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        receive.close()
        shutil.rmtree(scratch, ignore_errors=True)
