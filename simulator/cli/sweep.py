"""``condlaunch sweep``: every policy variant × replications, with intervals and paired diffs.

Thin like the rest of the CLI: parse, call :func:`simulator.analysis.sweep.run_sweep` and
:func:`simulator.folders.write_sweep`, print. The subparser is added by
:func:`add_commands`, which :mod:`simulator.cli.main` calls.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import sys
import textwrap
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from simulator.analysis.appetite import PRECISION_HINT, Appetite
from simulator.analysis.catalogue import METRICS, label
from simulator.analysis.metrics import HEADLINE_METRICS
from simulator.analysis.rates import has_rate, rate_label, rate_unit, rates_of_summary
from simulator.analysis.sweep import (
    DEFAULT_BATCH,
    DEFAULT_MAX_REPLICATIONS,
    PrecisionOutcome,
    ReplicationRecord,
    SweepResult,
    SweepSettings,
    initial_replications,
    run_sweep,
)
from simulator.analysis.sweep_tables import invariant_metrics
from simulator.cli._common import (
    TABLE_WIDTH,
    compile_engine_first,
    format_table,
    scenario_from_args,
    terminal_width,
)
from simulator.cli.run import check_size, workers_for
from simulator.durations import format_duration
from simulator.errors import InputError
from simulator.folders import (
    SweepCheckpoints,
    check_output_folder,
    checkpoint_count,
    input_files,
    write_sweep,
)
from simulator.scenario.load import Scenario, variant_policies
from simulator.sim.cluster import ClusterError, connect, quiet_dask_logs
from simulator.sim.run import DEFAULT_ENGINE, ENGINES, executor_for
from simulator.sim.world import chunk_count, n_users

DEFAULT_SWEEPS: Final = Path("runs")
EXECUTORS: Final = ("local", "dask")
"""``--executor`` choices: this machine's processes, or Dask (a LocalCluster or --scheduler)."""
WIDTH: Final = TABLE_WIDTH
"""Width the tables and sentences wrap at (characters)."""
MARK: Final = "*"
"""Marks a paired difference whose 95 % interval excludes 0."""


def add_commands(commands: Any, policy_option: Callable[..., None]) -> None:
    """Add ``sweep`` to the ``condlaunch`` subparsers."""
    parser = commands.add_parser(
        "sweep",
        help="run every policy variant over replications: intervals and paired differences",
        description="Run every policy variant of SCENARIO (its [sweep] grid, its [[variants]],\n"
        "or one variant per policy) on the same simulated world in each replication, and\n"
        "write results.csv (per replication), summary.csv (mean and 95% interval),\n"
        "paired.csv (each variant minus the baseline, paired by replication),\n"
        "episode_outcomes.csv, decisions.parquet (replication 0) and manifest.json.\n\n"
        "With --precision P, replications are added in batches until every headline\n"
        "metric's interval half-width (segment all, every variant) is at most P × |mean|\n"
        "(a metric that is 0 in every replication, or undefined in all, counts as met),\n"
        "or --max-replications is reached.",
        epilog="examples:\n  condlaunch sweep scenarios/threshold_sweep.toml --workers 2\n"
        "  condlaunch sweep scenarios/threshold_sweep.toml --precision 0.05 "
        "--max-replications 60\n"
        "  condlaunch sweep scenarios/threshold_sweep.toml --scheduler tcp://HOST:8786\n"
        "  condlaunch sweep scenarios/threshold_sweep.toml --resume   (after an interruption)\n\n"
        "Every finished replication is checkpointed in DIR/checkpoints/ while the sweep\n"
        "runs; --resume skips those and ends with the same files as an uninterrupted sweep.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="scenario file (.toml)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (replaced whole; default runs/<scenario>-sweep)",
    )
    policy_option(parser, required=False)
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--replications",
        type=int,
        metavar="N",
        help="replications 0..N-1 (default: [sweep].replications, else 10); with "
        "--precision, the initial number",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="K",
        help="worker processes (default: one per core); results do not depend on it",
    )
    parser.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help="target relative half-width, e.g. 0.05 for ±5%% of the mean",
    )
    parser.add_argument(
        "--max-replications",
        type=int,
        default=None,
        metavar="M",
        help=f"with --precision: stop at M replications (default {DEFAULT_MAX_REPLICATIONS})",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        metavar="B",
        help=f"with --precision: replications added per step (default {DEFAULT_BATCH})",
    )
    parser.add_argument("--baseline", metavar="VARIANT", help="variant to compare the others with")
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="risk appetite: at most VALUE of METRIC per 1,000 users per month (sums of "
        "minutes in hours), e.g. exposed_minutes_medium=40; replaces the scenario's "
        "[appetite] (repeatable)",
    )
    parser.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="risk appetite: cost of one unit of METRIC's rate (repeatable)",
    )
    parser.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=DEFAULT_ENGINE,
        help="simulation engine: compiled (default, Numba), fast (pure Python) or reference "
        "(the SimPy definition); outputs are identical, so the manifest does not record it",
    )
    parser.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default=None,
        help="where tasks run: local (this process or --workers processes; the default) or "
        "dask (a Dask LocalCluster of --workers processes, or the cluster of --scheduler); "
        "results do not depend on it",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the tasks on the Dask cluster of this scheduler (implies --executor dask; "
        "needs the 'distributed' extra)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the replications an interrupted sweep into the same --out checkpointed, "
        "run the rest (refused if the scenario or seed differ)",
    )
    parser.add_argument(
        "--report", action="store_true", help="also write the HTML report into the folder"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_sweep)


def _check_options(args: argparse.Namespace) -> None:
    """Option ranges, before anything is simulated or written."""
    if args.replications is not None and args.replications < 1:
        raise InputError(f"must be >= 1, got {args.replications}", field="--replications")
    if args.workers < 0:
        raise InputError("must be >= 0 (0 = one per core)", field="--workers")
    if args.seed is not None and args.seed < 0:
        raise InputError("must be >= 0", field="--seed")
    if args.scheduler is not None:
        if args.executor == "local":
            raise InputError(
                "runs on the local machine; drop it to use --scheduler", field="--executor"
            )
        if args.workers:
            raise InputError(
                "does not apply with --scheduler (the cluster's workers run the tasks)",
                field="--workers",
            )
        args.executor = "dask"
    if args.precision is None:
        if args.max_replications is not None:
            raise InputError(
                "only applies with --precision (the sweep runs --replications otherwise)",
                field="--max-replications",
            )
        return
    if not (math.isfinite(args.precision) and args.precision > 0):
        raise InputError(f"must be a number > 0, got {args.precision:g}", field="--precision")
    if args.max_replications is None:
        args.max_replications = DEFAULT_MAX_REPLICATIONS
    if args.max_replications < 1:
        raise InputError("must be >= 1", field="--max-replications")
    if args.batch < 1:
        raise InputError("must be >= 1", field="--batch")


def _pairs(values: Sequence[str], option: str) -> dict[str, float]:
    """``METRIC=VALUE`` options as a mapping (InputError naming the option if malformed)."""
    found: dict[str, float] = {}
    for text in values:
        name, sep, number = text.partition("=")
        try:
            found[name.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"expected METRIC=VALUE, got {text!r}", field=option)
    return found


def appetite_from_args(args: argparse.Namespace) -> Appetite | None:
    """The appetite of ``--limit``/``--weight`` (None if neither is given), checked like a
    scenario's ``[appetite]``."""
    from pydantic import ValidationError

    from simulator.scenario.models import AppetiteModel

    limits, weights = _pairs(args.limit, "--limit"), _pairs(args.weight, "--weight")
    if not limits and not weights:
        return None
    try:
        model = AppetiteModel(limits=limits, weights=weights)
    except ValidationError as exc:
        error = exc.errors()[0]
        option = "--limit" if error["loc"] and error["loc"][0] == "limits" else "--weight"
        raise InputError(str(error["msg"]).removeprefix("Value error, "), field=option) from None
    return Appetite.from_dict(model.model_dump())


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep (checkpointing each replication), write its folder atomically, print
    the tables."""
    _check_options(args)
    appetite = appetite_from_args(args)
    scenario = scenario_from_args(args)
    variants = variant_policies(scenario)
    if not variants:
        raise InputError("no policy variants to sweep", source=args.scenario)
    if args.baseline is not None and args.baseline not in variants:
        raise InputError(
            f"no variant named {args.baseline!r}; variants: " + ", ".join(variants),
            field="--baseline",
        )
    start = initial_replications(scenario, args.replications)
    if args.precision is not None and args.max_replications < start:
        raise InputError(
            f"must be >= the initial replications ({start})", field="--max-replications"
        )
    out = Path(args.out) if args.out is not None else DEFAULT_SWEEPS / f"{args.scenario.stem}-sweep"
    check_output_folder(
        out, inputs=[*input_files(scenario), *(Path(p) for p in args.policies or ())]
    )
    checkpoints = SweepCheckpoints(out, scenario)
    completed = checkpoints.load() if args.resume else {}  # refused here if another sweep's
    workers = 0 if args.scheduler else workers_for(args.workers, chunk_count(scenario) * start)
    if not args.scheduler:  # on a cluster: checked once its worker count is known
        check_size(scenario, workers, keeps_log=False, runs=start)
    settings = SweepSettings(
        replications=start,
        precision=args.precision,
        max_replications=args.max_replications or DEFAULT_MAX_REPLICATIONS,
        batch=args.batch,
        baseline=args.baseline,
        engine=args.engine,
        appetite=appetite,
    )
    users = n_users(scenario)
    with _executor(args, workers) as (executor, where, count):
        if args.scheduler:
            check_size(scenario, count, keeps_log=False, runs=start)
        _keep_or_discard(args, checkpoints, out, completed)
        print(
            f"Sweeping {scenario.name!r}: {users} {'devices' if scenario.scripted else 'users'}, "
            f"{format_duration(scenario.model.horizon)}, {len(variants)} variants × {start} "
            f"replications{' (initially)' if args.precision else ''}, {where}"
        )
        if not args.scheduler:  # a cluster's workers compile on their own machines
            compile_engine_first(args.engine, metrics=True)
        started = time.perf_counter()
        try:
            result = _run(args, scenario, settings, executor, completed, checkpoints)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(_interrupted(out)) from None
        except ClusterError as exc:
            raise InputError(f"{exc.message}; {_interrupted(out)}", field="--executor") from None
    elapsed = time.perf_counter() - started
    files = write_sweep(result, out)
    print(
        f"Simulated {len(variants)} variants × {result.replications} replications in "
        f"{elapsed:.1f} s"
    )
    print()
    emit(report_lines(result, terminal_width()), lead=len(recommendation_lines(result)))
    print(f"\nWrote {out}/: " + ", ".join(str(f) for f in files))
    if args.report:
        print(_write_report(out))
    return 0


def _keep_or_discard(
    args: argparse.Namespace,
    checkpoints: SweepCheckpoints,
    out: Path,
    completed: dict[int, ReplicationRecord],
) -> None:
    """Say what --resume kept; without it, discard the checkpoints of an earlier sweep into
    ``out`` (with a note). Called once the executor is up, so that a failed start leaves
    the folder as it was."""
    if args.resume:
        if completed:
            print(f"Resuming: {len(completed)} replication(s) checkpointed in {out}/ are kept")
        else:
            print(f"Nothing to resume in {out}/ (no checkpoints): running every replication")
        return
    left = checkpoint_count(out)
    if left:
        print(
            f"condlaunch: note: discarding {left} checkpointed replication(s) of an earlier, "
            "unfinished sweep in this folder (--resume keeps them)",
            file=sys.stderr,
        )
    checkpoints.clear()


@contextlib.contextmanager
def _executor(args: argparse.Namespace, workers: int) -> Iterator[tuple[Any, str, int]]:
    """The executor the options ask for, a few words saying where tasks run, and how many
    workers run them."""
    if args.executor != "dask":
        yield executor_for(workers), f"{workers} worker(s)", workers
        return
    quiet_dask_logs()
    try:
        with connect(args.scheduler, workers=workers) as executor:
            count = len(executor.client.scheduler_info().get("workers", {}))
            place = f"Dask cluster at {args.scheduler}" if args.scheduler else "Dask LocalCluster"
            if not count:
                print(
                    f"condlaunch: note: the scheduler at {args.scheduler} has no workers yet; "
                    "the sweep waits until one joins (start one with 'dask worker ADDRESS')",
                    file=sys.stderr,
                )
            yield executor, f"{place} ({count} worker(s))", max(count, 1)
    except ClusterError as exc:
        flag = "--scheduler" if exc.field == "scheduler" else "--executor"
        raise InputError(exc.message, field=flag) from None


def _run(
    args: argparse.Namespace,
    scenario: Scenario,
    settings: SweepSettings,
    executor: Any,
    completed: dict[int, ReplicationRecord],
    checkpoints: SweepCheckpoints,
) -> SweepResult:
    """The sweep itself, under a progress bar of tasks done (wherever they ran)."""
    from tqdm import tqdm

    users = n_users(scenario)
    with tqdm(
        total=users * (settings.replications or 1),
        unit="user",
        desc="simulating",
        disable=True if args.quiet else None,
        delay=2.0,
        leave=False,
    ) as bar:

        def progress(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        return run_sweep(
            scenario,
            settings,
            executor=executor,
            progress=progress,
            completed=completed,
            checkpoint=checkpoints.save,
        )


def _interrupted(out: Path) -> str:
    """What the one line after Ctrl-C says: what was kept, and how to go on."""
    kept = checkpoint_count(out)
    if not kept:
        return "nothing written"
    return (
        f"{kept} finished replication(s) checkpointed in {out}/; run the same command with "
        "--resume to finish the sweep"
    )


def _write_report(folder: Path) -> str:
    """Ask :mod:`simulator.report.page` for the HTML report, if that module exists."""
    try:
        report = importlib.import_module("simulator.report.page")
    except ModuleNotFoundError as exc:
        if exc.name != "simulator.report.page":
            raise
        return "HTML report: not available in this installation (no simulator.report.page)."
    path = report.write_report(folder)
    return f"HTML report: {path}"


# -- terminal tables -------------------------------------------------------------------------
def _rate_metrics() -> tuple[str, ...]:
    return tuple(m for m in HEADLINE_METRICS if has_rate(m))


def _rated(result: SweepResult, frame: pd.DataFrame) -> pd.DataFrame:
    """A summary or paired table in rates (per 1,000 users per month, hours); the table
    as it is if the results do not record users (an older folder)."""
    users = result.users
    if not math.isfinite(users):
        return frame
    return rates_of_summary(frame, users, result.horizon)


def emit(lines: Sequence[str], *, lead: int = 0) -> None:
    """Print lines: through ``rich`` on a terminal (the first ``lead`` lines — the decision
    — in bold), plain text when piped or when ``NO_COLOR`` is set (no-color.org)."""
    import os
    import sys

    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        print("\n".join(lines))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    text = Text()
    text.append("\n".join(lines[:lead]), style="bold")
    if lead and len(lines) > lead:
        text.append("\n")
    text.append("\n".join(lines[lead:]))
    console.print(text)


def recommendation_lines(result: SweepResult, width: int = WIDTH) -> list[str]:
    """The decision first: the recommendation paragraph, or what to state to get one."""
    if result.recommendation is not None:
        return textwrap.wrap(result.recommendation.paragraph(), width)
    text = (
        "No risk appetite stated, so no recommendation: add an [appetite] to the scenario "
        "(or --limit METRIC=VALUE / --weight METRIC=VALUE), e.g. limits = "
        "{ exposed_minutes_medium = 40, blocked_working_minutes_threat = 800 } — at most 40 "
        "exposed session-hours at ≥ medium and 800 blocked working user-hours per 1,000 "
        "users per month. Until then, compare the variants on the frontier (--report)."
    )
    return textwrap.wrap(text, width)


def report_lines(result: SweepResult, width: int = WIDTH) -> list[str]:
    """What ``condlaunch sweep`` prints after running: the recommendation, intervals in
    rates, paired differences, and warnings when the replications are too few."""
    n = result.replications
    summary, paired = _rated(result, result.summary), _rated(result, result.paired)
    unit = "per 1,000 users per month, sums in hours" if "unit" in summary.columns else "totals"
    others = [v for v in result.variants if v != result.baseline]
    fixed = _invariant(paired, others) if others else []
    shown = [m for m in _rate_metrics() if m not in fixed]
    lines = [
        *recommendation_lines(result, width),
        "",
        *textwrap.wrap(
            f"Metrics over {n} replications, segment all ({unit}): mean ± half-width of the "
            "95% interval",
            width,
        ),
        *_metric_table(_summary_rows(result, summary, shown), shown, width),
    ]
    cells = _headline(summary)
    if fixed:
        lines += textwrap.wrap(
            "Same under every variant (not in the table): "
            + "; ".join(f"{rate_label(m)} {_pm(cells, result.baseline, m)}" for m in fixed)
            + ".",
            width,
        )
    if any(int(r["n"]) == 1 for r in cells.values()):
        lines.append("A figure without ± is defined in one replication only (no interval).")
    lines += _too_few_lines(cells, width)
    if result.precision is not None:
        lines += ["", *_precision_lines(result.precision)]
    if not others:
        return lines
    lines += [
        "",
        *textwrap.wrap(
            f"Paired differences vs the baseline {result.baseline!r} (variant − baseline, "
            f"same world per replication; {MARK} = 95% interval excludes 0)",
            width,
        ),
        *_metric_table(_paired_rows(paired, others, shown), shown, width),
        "",
        *_paired_words(paired, others, shown, width),
    ]
    return lines


Cells = dict[tuple[str, str], dict[Hashable, Any]]
"""(variant, metric) → the row of a summary or paired table (segment all)."""


def _headline(frame: pd.DataFrame) -> Cells:
    rows = frame[(frame["segment_by"] == "all") & frame["metric"].isin(list(HEADLINE_METRICS))]
    return {(str(r["variant"]), str(r["metric"])): r for r in rows.to_dict("records")}


def _invariant(paired: pd.DataFrame, others: Sequence[str]) -> list[str]:
    """Headline rate metrics the same under every variant
    (:func:`~simulator.analysis.sweep_tables.invariant_metrics`)."""
    return invariant_metrics(paired, others, _rate_metrics())


def _too_few_lines(cells: Cells, width: int) -> list[str]:
    """A warning when an interval is wider than the value it qualifies."""
    wide = [
        (variant, metric)
        for (variant, metric), row in cells.items()
        if has_rate(metric)
        and math.isfinite(float(row["half_width"]))
        and float(row["half_width"]) > abs(float(row["mean"])) > 0
    ]
    if not wide:
        return []
    variant, metric = wide[0]
    text = (
        f"Too few replications: {len(wide)} interval(s) are wider than the value they qualify "
        f"(e.g. {rate_label(metric)} of {variant!r}: {_pm(cells, variant, metric)}); rerun "
        f"with {PRECISION_HINT} to add replications until they are narrow."
    )
    return textwrap.wrap(text, width)


def _distinguishable(cells: Cells, variant: str, metric: str) -> bool:
    row = cells.get((variant, metric))
    return row is not None and bool(row["distinguishable"])


def _summary_rows(
    result: SweepResult, summary: pd.DataFrame, metrics: Sequence[str]
) -> list[list[str]]:
    cells = _headline(summary)
    return [
        [variant, *(_pm(cells, variant, metric) for metric in metrics)]
        for variant in result.variants
    ]


def _paired_rows(
    paired: pd.DataFrame, others: Sequence[str], metrics: Sequence[str]
) -> list[list[str]]:
    cells = _headline(paired)
    body = []
    for variant in others:
        row = [variant]
        for metric in metrics:
            text = _pm(cells, variant, metric, mean="mean_diff", signed=True)
            if _distinguishable(cells, variant, metric):
                text += f" {MARK}"
            row.append(text)
        body.append(row)
    return body


def _paired_words(
    paired: pd.DataFrame, others: Sequence[str], metrics: Sequence[str], width: int
) -> list[str]:
    """Which differences are distinguishable from zero, in words, and what pairing buys."""
    cells = _headline(paired)
    lines = []
    for variant in others:
        found = [
            f"{rate_label(m)} {_pm(cells, variant, m, mean='mean_diff', signed=True)}"
            for m in metrics
            if _distinguishable(cells, variant, m)
        ]
        text = (
            f"{variant}: distinguishable from zero — " + "; ".join(found) + "."
            if found
            else f"{variant}: no headline difference is distinguishable from zero."
        )
        lines += textwrap.wrap(text, width, subsequent_indent="    ")
    lines.append("Every other headline difference is within noise (its interval contains 0).")
    best = max(
        (
            (float(r["unpaired_half_width"]) / float(r["half_width"]), key)
            for key, r in cells.items()
            if float(r["half_width"]) > 0 and math.isfinite(float(r["unpaired_half_width"]))
        ),
        key=lambda item: item[0],
        default=None,
    )
    if best is not None and best[0] > 1:
        ratio, (variant, metric) = best
        row = cells[(variant, metric)]
        lines += textwrap.wrap(
            f"Pairing on the same world narrows these intervals by up to {ratio:,.0f}× "
            f"({rate_label(metric)} of {variant!r}: ±{_number(row['half_width'])} paired vs "
            f"±{_number(row['unpaired_half_width'])} unpaired, Welch); where one side never "
            "varies (say 0 wipes under block) it cannot help.",
            width,
        )
    return lines


def _precision_lines(outcome: PrecisionOutcome) -> list[str]:
    target = f"{outcome.target:.1%}"
    steps = ", ".join(str(r) for r, _ in outcome.history)
    if outcome.last is None:
        return [f"Precision {target}: nothing to check after {outcome.replications} replications."]
    variant, metric, ratio = outcome.last
    share = "no interval" if not math.isfinite(ratio) else f"±{ratio:.1%}"
    if outcome.converged:
        text = (
            f"Precision: every headline half-width is within {target} of its mean after "
            f"{outcome.replications} replications (checked at {steps}); the last to get "
            f"there: {_name(metric)} of {variant!r} ({share})."
        )
    else:
        unmet = outcome.history[-1][1]
        text = (
            f"Precision: NOT reached — stopped at the cap of {outcome.replications} "
            f"replications (checked at {steps}) with {unmet} headline metric(s) above "
            f"{target}; worst: {_name(metric)} of {variant!r} ({share})."
        )
    return textwrap.wrap(text, WIDTH)


def _pm(
    cells: Cells, variant: str, metric: str, *, mean: str = "mean", signed: bool = False
) -> str:
    """``mean ± half-width``, the half-width to two significant digits; "0" for exactly 0
    in every replication, the mean alone without an interval, "–" when undefined."""
    row = cells.get((variant, metric))
    if row is None:
        return "–"
    value, half = float(row[mean]), float(row["half_width"])
    if math.isnan(value):
        return "–"
    if value == 0 and half == 0:
        return "0"
    if math.isfinite(half) and half > 0:
        decimals = min(3, max(0, 1 - math.floor(math.log10(half))))
    else:
        decimals = 0 if value == int(value) or abs(value) >= 100 else 1
    sign = "+" if signed else ""
    text = f"{value:{sign},.{decimals}f}".replace("-", "−")
    if math.isnan(half):
        return text
    return f"{text} ± {half:,.{decimals}f}"


def _number(value: float) -> str:
    """Two significant digits, thousands separated."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = min(3, max(0, 1 - math.floor(math.log10(abs(value)))))
    return f"{round(value, decimals):,.{decimals}f}"


def _name(metric: str) -> str:
    """A metric's catalogue label (its column name if it has none)."""
    return label(metric) if metric in METRICS else metric


def _short_unit(metric: str) -> str:
    """A rate's unit for a table header (the table's title says per 1,000 users per month)."""
    unit = rate_unit(metric)
    if unit == "hours" or unit.startswith("per "):
        return f"({unit.replace('1,000', '1k')})"
    return "(" + unit.removesuffix(" per 1,000 users per month").replace("-hours", "-h") + ")"


def _metric_table(body: list[list[str]], metrics: Sequence[str], width: int) -> list[str]:
    """Rows of variant × metric as aligned text, headers the rates' labels and units,
    split into column blocks that fit ``width`` (the variant column repeats in each)."""
    labels = ["\n".join(textwrap.wrap(rate_label(m), 16, break_long_words=False)) for m in metrics]
    units = [_short_unit(m) for m in metrics]
    return format_table(["variant", *labels], body, units=["", *units], width=width)
