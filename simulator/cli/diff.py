"""``condlaunch diff``: which launches change fate between two policy choices.

Thin like the rest of the CLI: read the run folders (:func:`simulator.folders.load_run`),
call :mod:`simulator.analysis.diff`, print readable lines and tables, optionally write every flipped
launch to a CSV file (atomically). The subparser is added by :func:`add_commands`, which
:mod:`simulator.cli.main` calls.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from simulator.analysis.diff import (
    ARROW,
    LaunchDiff,
    NotComparableError,
    diff_launches,
    flip_counts,
    same_world,
    select_variant,
    variants_in,
)
from simulator.cli._common import format_table
from simulator.errors import InputError
from simulator.folders import LoadedRun, check_output_file, load_run, write_text_atomic
from simulator.policy.levels import Management
from simulator.sim.log import describe_time

WIDTH: Final = 100
"""Width the terminal output wraps at (as the rest of the CLI)."""

DEFAULT_LIMIT: Final = 20
"""Flips listed one by one unless ``--limit`` says otherwise."""

_MAX_DIFFERENCES: Final = 4
"""World differences named in the refusal before "and N more"."""


def add_commands(commands: Any, policy_option: Callable[..., None]) -> None:
    """Add ``diff`` to the ``condlaunch`` subparsers (``policy_option`` is not needed)."""
    parser = commands.add_parser(
        "diff",
        help="list the launches whose outcome changes between two policy variants",
        description="Compare two policy variants launch by launch on the same simulated world\n"
        "(common random numbers) and list the launches that flip: allow→block, block→wipe,\n"
        "block→allow … with both sides' explanations, then count the flips by transition,\n"
        "reason (of the side that denies) and management set-up.\n\n"
        "Sides: two run folders (RUN_A RUN_B, from `condlaunch run`), or one run or sweep\n"
        "folder and two of its variants (--variants A B). A variant may be named by any\n"
        "part of its name that matches only one variant, ignoring case and punctuation.\n\n"
        "The two sides must be the same world (seed, replication, scenario apart from its\n"
        "policies) with the same launches; --force compares the launches they share.",
        epilog="examples:\n"
        "  condlaunch diff runs/baseline --variants 'Level 3' 'Strict'\n"
        "  condlaunch diff runs/secured runs/medium --limit 5 --csv flips.csv\n"
        "  condlaunch diff runs/threshold_sweep --variants 'secured block' 'medium block'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="run folder of side A")
    parser.add_argument(
        "run_b",
        type=Path,
        nargs="?",
        metavar="RUN_B",
        help="run folder of side B (default: RUN_A, with --variants)",
    )
    parser.add_argument(
        "--variants",
        nargs=2,
        metavar=("A", "B"),
        help="the variants of sides A and B (same as --variant-a A --variant-b B)",
    )
    parser.add_argument("--variant-a", metavar="NAME", help="side A's variant")
    parser.add_argument("--variant-b", metavar="NAME", help="side B's variant")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"list the first N flips in time order (default {DEFAULT_LIMIT}; 0: none)",
    )
    parser.add_argument("--csv", type=Path, metavar="OUT.csv", help="write every flip here")
    parser.add_argument(
        "--force",
        action="store_true",
        help="compare even if the runs are not the same world, on the launches both have",
    )
    parser.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare two sides launch by launch and print the flips."""
    if args.limit < 0:
        raise InputError("must be >= 0", field="--limit")
    if args.variants and (args.variant_a is not None or args.variant_b is not None):
        raise InputError("use either --variants A B or --variant-a/--variant-b", field="--variants")
    names: list[str | None] = list(args.variants or (args.variant_a, args.variant_b))
    fields = ("--variants",) * 2 if args.variants else ("--variant-a", "--variant-b")
    if args.csv is not None:
        check_output_file(
            args.csv, folders=[args.run_a, *([args.run_b] if args.run_b else [])], flag="--csv"
        )
    run_a = load_run(args.run_a)
    one_folder = args.run_b is None or _same_folder(args.run_a, args.run_b)
    run_b = run_a if one_folder else load_run(args.run_b)
    available = variants_in(run_a.decisions)
    if one_folder and None in names and len(available) > 1:
        raise InputError(
            f"name the two variants to compare with --variants A B; variants: "
            f"{_listing(available)}",
            source=run_a.path,
        )
    differences = [] if one_folder else same_world(run_a.manifest, run_b.manifest)
    if differences and not args.force:
        raise InputError(
            f"not the same simulated world as {run_b.path}: {_summary(differences)} "
            "(compare anyway with --force)",
            source=run_a.path,
        )
    variant_a, side_a = _select(run_a, names[0], fields[0])
    variant_b, side_b = _select(run_b, names[1], fields[1])
    try:
        result = diff_launches(side_a, side_b, force=args.force)
    except NotComparableError as exc:
        raise InputError(
            f"{exc.message} (compare the launches both have with --force)",
            source=run_a.path if one_folder else f"{run_a.path} vs {run_b.path}",
        ) from None
    header = _header(run_a, variant_a, run_b, variant_b, result, differences, one_folder)
    lines = [*header, "", *flip_report(result, args.limit)]
    if args.csv is not None:
        write_flips_csv(result.flips, args.csv)
        lines += ["", f"Wrote {len(result.flips):,} flipped launches to {args.csv}"]
    print("\n".join(lines))
    return 0


def _same_folder(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _select(run: LoadedRun, name: str | None, option: str) -> tuple[str, pd.DataFrame]:
    """One side's variant, with errors located at the run folder and the option."""
    try:
        return select_variant(run.decisions, name)
    except InputError as exc:
        raise InputError(exc.message, source=run.path, field=option) from None


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _summary(differences: Sequence[str]) -> str:
    shown = "; ".join(differences[:_MAX_DIFFERENCES])
    more = len(differences) - _MAX_DIFFERENCES
    return shown + (f"; and {more} more" if more > 0 else "")


def _header(
    run_a: LoadedRun,
    variant_a: str,
    run_b: LoadedRun,
    variant_b: str,
    result: LaunchDiff,
    differences: Sequence[str],
    one_folder: bool,
) -> list[str]:
    manifest = run_a.manifest
    world = f"seed {manifest.get('seed', '?')}, replication {manifest.get('replication', 0)}"
    if one_folder:
        what = "a variant with itself" if variant_a == variant_b else "two variants"
        title = f"Comparing {what} of {run_a.path} ({world})"
    elif not differences:
        title = f"Comparing two runs of the same world ({world})"
    else:
        title = f"Comparing two runs that are NOT the same world (--force): {_summary(differences)}"
    width = max(len(variant_a), len(variant_b))
    lines = [
        title,
        f"  A  {variant_a.ljust(width)}" + ("" if one_folder else f"  ({run_a.path})"),
        f"  B  {variant_b.ljust(width)}" + ("" if one_folder else f"  ({run_b.path})"),
    ]
    if result.only_a or result.only_b:
        lines.append(
            f"  Compared the {result.launches:,} launches both have; left out "
            f"{result.only_a:,} only in A and {result.only_b:,} only in B."
        )
    return [line.rstrip() for line in lines]


_KIND_ORDER: Final = ("friction removed", "risk accepted", "friction added", "risk removed")


def flip_report(result: LaunchDiff, limit: int = DEFAULT_LIMIT) -> list[str]:
    """The terminal report of a comparison: headline, first flips, counts, check-ins."""
    flips = result.flips
    n = len(flips)
    share = f" ({n / result.launches:.2%})" if result.launches else ""
    if result.launches == 0:
        lines = ["No launches in common: nothing to compare."]
    elif n == 0:
        lines = [f"No launch changes fate: all {result.launches:,} launches end the same way."]
    else:
        by_transition = flips["transition"].value_counts()
        lines = [
            f"{n:,} of {result.launches:,} launches flip{share}: "
            + ", ".join(f"{t} {c:,}" for t, c in by_transition.items())
        ]
        kinds = flips["kind"].value_counts() if "kind" in flips.columns else flips.iloc[:0, 0]
        split = [f"{k} {int(kinds[k]):,}" for k in _KIND_ORDER if k in kinds.index]
        if split:
            lines.append(
                "Threat-level flips: "
                + ", ".join(split)
                + " (friction removed: the denial came from a stale signal, the device was "
                "already within the max; risk accepted: its true level was above the max)"
            )
    if n and limit:
        shown = min(limit, n)
        lines += [
            "",
            "The flips, in time order"
            if shown == n
            else ("The first flip" if shown == 1 else f"First {shown} flips, in time order"),
        ]
        for record in flips.head(shown).to_dict("records"):
            lines += _flip_lines({str(k): v for k, v in record.items()})
        if n > shown:
            lines += ["", f"… and {n - shown:,} more (--limit N lists more, --csv FILE writes all)"]
    if n:
        lines += [
            "",
            "Flips by transition × reason × management",
            *count_table(flip_counts(flips)),
            f"reason: of the side that denies; A{ARROW}B when both deny for different reasons",
        ]
    lines += ["", _checkin_line(result)]
    return lines


def _flip_lines(record: dict[str, Any]) -> list[str]:
    head = (
        f"{describe_time(float(record['time_min']))}  {record['device']}  {record['app']}  "
        f"{record['management']}  {record['transition']}"
    )
    lines = ["", head]
    for side in ("a", "b"):
        lines += textwrap.wrap(
            str(record[f"explanation_{side}"]),
            width=WIDTH,
            initial_indent=f"  {side.upper()}  ",
            subsequent_indent="     ",
            break_on_hyphens=False,
        )
    return lines


def count_table(counts: pd.DataFrame) -> list[str]:
    """Flip counts as a terminal table: a row per transition × reason, a column per set-up."""
    order = [m.value for m in Management]
    present = set(counts["management"].astype(str))
    columns = [m for m in order if m in present] + sorted(present - set(order))
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for record in counts.to_dict("records"):
        key = (str(record["transition"]), str(record["reason"]))
        rows.setdefault(key, {})[str(record["management"])] = int(record["count"])
    body = [
        [transition, reason, *(f"{by.get(c, 0):,}" for c in columns), f"{sum(by.values()):,}"]
        for (transition, reason), by in rows.items()
    ]
    if len(body) > 1:
        totals = [int(counts.loc[counts["management"] == c, "count"].sum()) for c in columns]
        body.append(["all", "", *(f"{t:,}" for t in totals), f"{sum(totals):,}"])
    return format_table(["transition", "reason", *columns, "total"], body, text_columns=2)


def _checkin_line(result: LaunchDiff) -> str:
    def side(counts: dict[str, int]) -> str:
        total = sum(counts.values())
        if len(counts) <= 1:
            return " ".join(f"{c:,} {o}" for o, c in counts.items()) or "none"
        return f"{total:,} (" + ", ".join(f"{c:,} {o}" for o, c in counts.items()) + ")"

    return (
        "Mid-session check-in denials (not launches, not compared): "
        f"A {side(result.checkin_denials_a)} · B {side(result.checkin_denials_b)}"
    )


def write_flips_csv(flips: pd.DataFrame, path: Path) -> None:
    """Write every flipped launch to ``path`` atomically, with a readable ``time`` column."""
    table = flips.copy()
    table.insert(1, "time", [describe_time(float(t)) for t in table["time_min"]])
    try:
        write_text_atomic(path, table.to_csv(index=False))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", source=path) from None
