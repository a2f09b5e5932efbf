"""``python -m simulator``: the ``condlaunch`` command line."""

from __future__ import annotations

from simulator.cli.main import main

raise SystemExit(main())
