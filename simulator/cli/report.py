"""``condlaunch report``: a self-contained HTML report of a run or sweep folder.

Thin like the rest of the CLI: parse, call :func:`simulator.report.page.write_report`, print
the path written. A folder that is not a run or sweep folder is an
:class:`~simulator.errors.InputError`: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_commands(commands: Any, policy_option: Callable[..., None]) -> None:
    """Add ``report`` to the ``condlaunch`` subparsers (``policy_option`` is not needed)."""
    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report of a run or sweep folder",
        description="Write one HTML file (figures embedded, no external resources) about\n"
        "RUN_DIR, a folder from `condlaunch run` or `condlaunch sweep`: the scenario in\n"
        "words, the variants' policies, the metrics (with confidence intervals and paired\n"
        "differences for sweeps), the exposure/friction frontier and the assumptions in\n"
        "force. Prints the path written.",
        epilog="examples:\n  condlaunch report runs/baseline\n"
        "  condlaunch report runs/threshold_sweep --out threshold-report.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "run_dir", type=Path, metavar="RUN_DIR", help="a run or sweep folder (with manifest.json)"
    )
    report.add_argument(
        "--out",
        type=Path,
        metavar="FILE.html",
        help="the HTML file to write (default: RUN_DIR/report.html); replaced atomically",
    )
    report.add_argument(
        "--banner", metavar="TEXT", help="text at the top of the page, e.g. your organisation"
    )
    report.add_argument(
        "--logo", type=Path, metavar="FILE", help="a logo (.png, .svg, .jpg) shown at the top"
    )
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    from simulator.report.page import write_report

    print(write_report(args.run_dir, args.out, banner=args.banner, logo=args.logo))
    return 0
