"""The ``condlaunch`` command line: thin commands over the library (:func:`main`)."""

from __future__ import annotations

from simulator.cli.main import main

__all__ = ["main"]
