"""``condlaunch`` commands that simulate: run, validate, schema, explain.

Thin like the rest of the CLI: parse, call the library (:mod:`simulator.sim.run`,
:mod:`simulator.analysis.metrics`, :mod:`simulator.plots.run`, :mod:`simulator.folders`), print. The
subparsers are added by :func:`add_commands`, which :mod:`simulator.cli.main` calls.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pandas as pd

from simulator.analysis.explain import denial_rows, device_summary, device_to_explain
from simulator.analysis.metrics import HEADLINE_METRICS
from simulator.cli._common import (
    compile_engine_first,
    format_table,
    metric_headers,
    terminal_width,
)
from simulator.cli._notes import notes_record, scenario_with_notes
from simulator.durations import DurationError, Minutes, format_duration, parse_duration
from simulator.errors import InputError
from simulator.policy.behavior import parameter_values
from simulator.policy.levels import max_level_label
from simulator.scenario.load import Scenario, scenario_json_schema, variant_policies
from simulator.sim.estimate import STREAMED_BYTES_PER_DECISION, estimate, physical_memory
from simulator.sim.log import describe_time, explain_device
from simulator.sim.run import DEFAULT_ENGINE, ENGINES
from simulator.sim.world import chunk_count, n_users

DEFAULT_RUNS = Path("runs")


def add_commands(commands: Any, policy_option: Callable[..., None]) -> None:
    """Add run, validate, schema and explain to the ``condlaunch`` subparsers."""
    formatter = argparse.RawDescriptionHelpFormatter
    run = commands.add_parser(
        "run",
        help="simulate a scenario and write metrics, the decision log and plots",
        description="Simulate SCENARIO under each policy variant on the same world and write\n"
        "metrics.csv, decisions.parquet (CSV without pyarrow), episodes.csv, devices.csv,\n"
        "manifest.json and PNG plots to --out (default runs/<scenario>).",
        epilog="examples:\n  condlaunch run scenarios/baseline.toml\n"
        "  condlaunch run scenarios/baseline.toml --policy my-policy.toml --out runs/mine",
        formatter_class=formatter,
    )
    run.add_argument("scenario", type=Path, metavar="SCENARIO", help="scenario file (.toml)")
    run.add_argument("--out", type=Path, metavar="DIR", help="output folder (replaced whole)")
    policy_option(run, required=False)
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--replication", type=int, default=0, help="replication index (default 0)")
    run.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes (default: one per core, at most one per chunk); "
        "results do not depend on it",
    )
    run.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=DEFAULT_ENGINE,
        help="simulation engine: compiled (default, Numba), fast (pure Python) or reference "
        "(the SimPy definition); outputs are identical, so the manifest does not record it",
    )
    run.add_argument(
        "--log",
        choices=("auto", "memory", "stream"),
        default="auto",
        help="memory: hold the decision log in memory and write it as one sorted table; "
        "stream: write it chunk by chunk (memory bounded by a chunk of users, rows grouped "
        "by chunk); auto (default): stream when holding it would need more than "
        f"{MEMORY_BUDGET / 2**30:g} GiB or half this machine's memory (estimate)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    validate = commands.add_parser(
        "validate",
        help="check a scenario file and describe what it will simulate",
        formatter_class=formatter,
    )
    validate.add_argument("scenario", type=Path, metavar="SCENARIO")
    policy_option(validate, required=False)
    validate.set_defaults(func=cmd_validate)

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of scenario files (for editors)"
    )
    schema.set_defaults(func=cmd_schema)

    explain = commands.add_parser(
        "explain",
        help="explain every decision for one device of a run, in time order",
        epilog="example:\n  condlaunch explain runs/baseline --device d0000042 --at 3d",
        formatter_class=formatter,
    )
    explain.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    explain.add_argument("--device", required=True, help="device id, e.g. d0000042")
    explain.add_argument("--at", help="only the decision in force at this time (e.g. 3d4h)")
    explain.add_argument("--variant", help="only this policy variant")
    explain.add_argument(
        "--denials", action="store_true", help="only the decisions that denied access"
    )
    explain.add_argument(
        "--json",
        action="store_true",
        help="print JSON (summary per variant, then every decision) instead of sentences",
    )
    explain.set_defaults(func=cmd_explain)


def cmd_validate(args: argparse.Namespace) -> int:
    """Print what a scenario will simulate."""
    scenario, _ = scenario_with_notes(args)
    model = scenario.model
    print(f"{args.scenario}: valid")
    print(f"  name      {scenario.name}")
    if model.description:
        print(f"  about     {model.description}")
    if scenario.scripted:
        assert model.script is not None
        kind = f"scripted: {len(model.script.devices)} devices, {len(model.script.events)} events"
    else:
        assert model.fleet is not None
        kind = f"random: {model.fleet.users} users, seed {model.seed}"
    print(f"  kind      {kind}")
    print(f"  horizon   {format_duration(model.horizon)}")
    print("  variants")
    for name, policies in variant_policies(scenario).items():
        settings = ", ".join(
            f"{p.name}: max {max_level_label(p.max_threat_level)} + {p.threat_action.value}"
            for p in policies
        )
        print(f"    {name}  ({settings})")
    if model.sweep is not None:
        from simulator.scenario.variants import sweep_variants

        _, baseline = sweep_variants(scenario)
        print(f"  sweep     {model.sweep.replications} replications; baseline {baseline!r}")
    print("  behaviour " + json.dumps(parameter_values(model.behavior)))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of scenario files."""
    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Print one sentence per decision of a device."""
    from simulator.folders import load_run

    run = load_run(args.run_dir, device=args.device)  # only its rows: a log of any size
    at: Minutes | None = None
    if args.at is not None:
        try:
            at = parse_duration(args.at)
        except DurationError as exc:
            raise InputError(str(exc), field="--at") from None
    declared = run.manifest.get("variants")
    variants = (
        [str(v) for v in declared]
        if isinstance(declared, dict) and declared
        else [str(v) for v in dict.fromkeys(run.decisions["variant"].astype(str))]
    )
    if args.variant is not None and args.variant not in variants:
        raise InputError(
            f"no variant {args.variant!r} in this run; choose one of: "
            + ", ".join(repr(v) for v in variants),
            source=args.run_dir,
            field="--variant",
        )
    decisions = run.decisions
    if args.variant is not None:
        decisions = decisions[decisions["variant"].astype(str) == args.variant]
    try:
        summary = device_summary(decisions, args.device)
        if args.denials:
            decisions = decisions[denial_rows(decisions)]
        lines = (
            explain_device(decisions, args.device, at=at, variant=args.variant)
            if len(decisions[decisions["device"].astype(str) == args.device])
            else []
        )
    except KeyError as exc:
        raise InputError(str(exc.args[0]), source=args.run_dir, field="--device") from None
    if args.json:
        rows = decisions[decisions["device"].astype(str) == args.device]
        print(
            json.dumps(
                {
                    "device": args.device,
                    "summary": json.loads(summary.to_json(orient="records")),
                    "decisions": json.loads(
                        rows.sort_values("time_min", kind="stable").to_json(
                            orient="records", date_format="iso"
                        )
                    ),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print("\n".join([*_summary_lines(summary), ""]))
    print("\n".join(lines) if lines else "No decision denied access." if args.denials else "")
    return 0


def _summary_lines(summary: pd.DataFrame) -> list[str]:
    """One line per variant: what happened to the device, before the decisions."""
    lines = []
    for row in summary.to_dict("records"):
        first = row["first_threat_denial_min"]
        when = (
            f"; first threat-level denial at {describe_time(float(first))}"
            if first == first
            else ""
        )
        lines.append(
            f"[{row['variant']}] {row['decisions']} decisions ({row['launches']} launches): "
            f"{row['granted']} granted, {row['denied']} denied — {row['denied_threat_level']} "
            f"for threat level, {row['denied_onboarding']} onboarding, "
            f"{row['denied_offline']} offline; {row['wipes']} wipe(s){when}"
        )
    return lines


def workers_for(requested: int, chunks: int) -> int:
    """Worker processes for ``--workers`` (0: one per core), capped at the core count
    (more would only compete for the same cores) with a note, and at the chunk count."""
    if requested < 0:
        raise InputError("must be >= 0 (0 = one per core)", field="--workers")
    cores = os.cpu_count() or 1
    if requested == 0:
        requested = cores
    elif requested > cores:
        print(
            f"condlaunch: note: --workers {requested} capped at {cores}, this machine's cores",
            file=sys.stderr,
        )
        requested = cores
    return max(1, min(requested, chunks))


def cmd_run(args: argparse.Namespace) -> int:
    """Check the output folder, simulate, compute metrics once, write the run folder
    (:func:`~simulator.folders.write_run`), print a summary."""
    from simulator.analysis.metrics import check_consistency, run_metrics
    from simulator.cli._background import figures_in_background
    from simulator.folders import check_output_folder, input_files, write_run
    from simulator.sim.run import simulate

    scenario, notes = scenario_with_notes(args)
    out = Path(args.out) if args.out is not None else DEFAULT_RUNS / args.scenario.stem
    if args.replication < 0:
        raise InputError("must be >= 0", field="--replication")
    policy_inputs = [Path(p) for p in args.policies or ()]
    check_output_folder(out, inputs=[*input_files(scenario), *policy_inputs])
    workers = workers_for(args.workers, chunk_count(scenario))
    stream = streams_log(scenario, args.log, args.engine)
    check_size(scenario, workers, keeps_log=not stream, engine=args.engine)
    if stream:
        check_disk(scenario, out)
    variants = variant_policies(scenario)
    users = n_users(scenario)
    print(
        f"Simulating {scenario.name!r}: {users} {'devices' if scenario.scripted else 'users'}, "
        f"{format_duration(scenario.model.horizon)}, {len(variants)} variant(s), "
        f"{workers} worker(s), {args.engine} engine"
        + (f", decision log streamed in {chunk_count(scenario)} chunk(s)" if stream else "")
    )
    compile_engine_first(args.engine, metrics=stream)
    if stream:
        return _run_streamed(args, scenario, out, workers, notes, policy_inputs)
    # matplotlib loads while the workers simulate (this process mostly waits for them),
    # so the figures' child process, forked later, starts with it loaded
    preload = threading.Thread(target=_import_plots, name="condlaunch-import-plots")
    if not args.no_plots:
        preload.start()
    started = time.perf_counter()
    with _progress_bar(users, args.quiet) as progress:
        result = simulate(
            scenario,
            replication=args.replication,
            workers=workers,
            engine=args.engine,
            progress=progress,
        )
    elapsed = time.perf_counter() - started
    if preload.is_alive() or preload.ident is not None:
        preload.join()  # before the fork: no thread is mid-import in the child
    problems: list[str] = []

    def check() -> None:
        problems.extend(check_consistency(result, metrics))

    with contextlib.ExitStack() as stack:
        # the figures draw on the other core: the device timeline (it needs only the
        # simulation) while the metrics are computed, the others while the tables are
        # written and the invariants checked
        figures = (
            None
            if args.no_plots
            else stack.enter_context(
                figures_in_background(_draw_metric_figures, check, lambda: _timeline(result))
            )
        )
        if figures is not None:
            figures.start()
        metrics, outcomes = run_metrics(result)
        if figures is not None:
            figures.give((metrics, outcomes))
        written = write_run(
            result,
            out,
            metrics=metrics,
            figures=figures,
            extra={"input_notes": notes_record(notes)},
            inputs=policy_inputs,
        )
        if figures is None:
            check()
    _report(
        len(result.decisions),
        elapsed,
        metrics,
        problems,
        out,
        written,
        device_to_explain(result.decisions),
    )
    return 0


def _run_streamed(
    args: argparse.Namespace,
    scenario: Scenario,
    out: Path,
    workers: int,
    notes: Any,
    policy_inputs: list[Path],
) -> int:
    """``condlaunch run`` with the decision log streamed (:func:`~simulator.folders.
    write_streamed_run`): the figures are drawn at the end, the timeline's device read
    back from the written log."""
    from simulator.folders import read_device_log, write_streamed_run

    started = time.perf_counter()

    def draw(folder: Path, streamed: Any) -> list[str]:
        if args.no_plots:
            return []
        device = streamed.timeline_device
        log = read_device_log(folder, device) if device is not None else None
        return _draw_figures(
            scenario, log, streamed.episodes, streamed.metrics, streamed.outcomes, folder, device
        )

    with _progress_bar(n_users(scenario), args.quiet) as progress:
        streamed = write_streamed_run(
            scenario,
            out,
            replication=args.replication,
            workers=workers,
            engine=args.engine,
            progress=progress,
            figures=draw,
            extra={"input_notes": notes_record(notes)},
            inputs=policy_inputs,
        )
    elapsed = time.perf_counter() - started
    _report(
        streamed.decisions,
        elapsed,
        streamed.metrics,
        streamed.problems,
        out,
        streamed.written,
        streamed.explain_device,
        wrote_in=True,
    )
    return 0


def _report(
    decisions: int,
    elapsed: float,
    metrics: pd.DataFrame,
    problems: list[str],
    out: Path,
    written: list[Path],
    device: str | None,
    *,
    wrote_in: bool = False,
) -> None:
    """What ``condlaunch run`` prints once the folder is written."""
    what = "Simulated and wrote" if wrote_in else "Simulated"
    rate = decisions / max(elapsed, 1e-9)
    print(f"{what} {decisions} decisions in {elapsed:.1f} s ({rate:,.0f} decisions/s)")
    print()
    print(summary_table(metrics))
    print()
    print_wrapped(
        "Exposure counts launches/minutes granted while the device's TRUE level was at least "
        "that severity; never enforced = ended episodes of at least medium severity that met "
        "no threat-level denial; unneeded denials = threat-level denials after the device was "
        "already within the policy's max (stale signal); blocked for threat level = the part "
        "of blocked, any reason, due to the threat-level condition (the rest: Defender "
        "onboarding, offline); wipes = wipes that removed data."
    )
    if problems:
        print("\nWARNING: decision-log invariants violated (please report):")
        for problem in problems:
            print(f"  - {problem}")
    print(f"\nWrote {out}/: " + ", ".join(str(name) for name in written))
    if device is not None:
        print(f"Explain one device: condlaunch explain {out} --device {device}")


MEMORY_BUDGET: Final = 2 * 2**30
"""``--log auto`` streams the decision log when an in-memory run would need more than
this (or half the machine's memory, if less)."""


def streams_log(scenario: Scenario, choice: str, engine: str = DEFAULT_ENGINE) -> bool:
    """Whether ``condlaunch run`` streams the decision log (``--log``): always, never, or
    (auto) when holding it would need more than :data:`MEMORY_BUDGET` or half the memory."""
    if choice != "auto":
        return choice == "stream"
    memory = physical_memory()
    budget = MEMORY_BUDGET if memory is None else min(MEMORY_BUDGET, 0.5 * memory)
    return estimate(scenario, engine).log_bytes > budget


def check_disk(scenario: Scenario, out: Path) -> None:
    """Refuse a streamed run whose decision log would not fit on the output's disk."""
    decisions = estimate(scenario).decisions
    size = decisions * STREAMED_BYTES_PER_DECISION
    existing = next((p for p in (out, *out.resolve().parents) if p.exists()), Path("."))
    free = shutil.disk_usage(existing).free
    if size > 0.9 * free:
        raise InputError(
            f"about {decisions:,.3g} decisions ({_size_words(scenario)}): "
            f"the decision log would take about {size / 2**30:,.1f} GiB on disk, more than "
            f"the {free / 2**30:,.1f} GiB free where {out} goes (estimate); simulate fewer "
            "users or a shorter horizon, or use condlaunch sweep, which keeps no log",
            source=scenario.source,
            field="fleet.users",
        )


def check_size(
    scenario: Scenario,
    workers: int,
    *,
    keeps_log: bool,
    runs: int = 1,
    engine: str = DEFAULT_ENGINE,
) -> None:
    """Refuse a run that cannot fit in this machine's memory (when the decision log is
    held in memory) or would take more than a week; note the estimate of one over a
    minute."""
    size = estimate(scenario, engine)
    decisions = size.decisions * runs
    hours = size.seconds * runs / workers / 3600
    what = f"about {decisions:,.3g} decisions ({_size_words(scenario)})"
    memory = physical_memory()
    if keeps_log and memory is not None and size.log_bytes > 0.8 * memory:
        raise InputError(
            f"{what}: keeping the decision log would need about "
            f"{size.log_bytes / 2**30:,.0f} GiB of memory, more than this machine's "
            f"{memory / 2**30:,.0f} GiB (estimate); stream it (--log stream), simulate fewer "
            "users or a shorter horizon, or use condlaunch sweep, which keeps no log",
            source=scenario.source,
            field="fleet.users",
        )
    if hours > 7 * 24:
        raise InputError(
            f"{what}: would take about {hours / 24:,.0f} days with {workers} worker(s) "
            "(estimate); simulate fewer users or a shorter horizon",
            source=scenario.source,
            field="fleet.users",
        )
    if hours * 60 > 1:
        print(
            f"condlaunch: note: {what}; estimated time about {hours * 60:,.0f} min with "
            f"{workers} worker(s)",
            file=sys.stderr,
        )


def _size_words(scenario: Scenario) -> str:
    model = scenario.model
    who = f"{n_users(scenario):,} devices" if scenario.scripted else f"{n_users(scenario):,} users"
    return f"{who} × {format_duration(model.horizon)} × {len(variant_policies(scenario))} variants"


@contextlib.contextmanager
def _progress_bar(users: int, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar over users (shown on a terminal after 2 s; silent with -q or when piped)."""
    from tqdm import tqdm

    with tqdm(
        total=users,
        unit="user",
        desc="simulating",
        disable=True if quiet else None,
        delay=2.0,
        leave=False,
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        yield progress


def summary_table(metrics: pd.DataFrame, *, one_block: bool = False) -> str:
    """The terminal summary: one row per variant (segment all), the headline metrics
    (:data:`~simulator.analysis.metrics.HEADLINE_METRICS`), headers from the catalogue;
    split into column blocks at the terminal's width unless ``one_block``."""
    rows = metrics[metrics["segment_by"] == "all"]
    if rows.empty:
        return "(no variants)"
    labels, units = metric_headers(HEADLINE_METRICS)
    body = [
        [str(record["variant"]), *(record.get(name) for name in HEADLINE_METRICS)]
        for record in rows.to_dict("records")
    ]
    width = None if one_block else terminal_width()
    table = format_table(["variant", *labels], body, units=["", *units], width=width)
    return "\n".join(table)


def print_wrapped(text: str) -> None:
    """A paragraph wrapped at the tables' width (the terminal's, 100 when piped)."""
    print(textwrap.fill(text, terminal_width()))


def _import_plots() -> None:
    importlib.import_module("simulator.plots.run")
    importlib.import_module("simulator.plots.frontier")


TIMELINE_PNG = "device_timeline.png"


def _timeline_device(result: Any) -> str | None:
    """The device the timeline of a run held in memory (a
    :class:`~simulator.sim.run.RunResult`) shows; None when its first variant decided
    nothing."""
    from simulator.plots.run import pick_interesting_device

    first = next(iter(result.variants))
    rows = result.decisions
    if not (rows["variant"].astype(str) == first).any():
        return None
    return pick_interesting_device(rows, result.episodes, first)


def _timeline(result: Any) -> dict[str, bytes]:
    """The device timeline of a run held in memory, rendered: it needs no metrics, so it
    is drawn while they are computed."""
    from simulator.plots.run import png_bytes

    device = _timeline_device(result)
    figure = _timeline_figure(result.scenario, result.decisions, result.episodes, device)
    return {TIMELINE_PNG: png_bytes(figure)}


def _write_plots(
    result: Any, metrics: pd.DataFrame, outcomes: pd.DataFrame, folder: Path
) -> list[str]:
    """The three figures of a run held in memory, drawn here (``tenant replay``)."""
    device = _timeline_device(result)
    return _draw_figures(
        result.scenario, result.decisions, result.episodes, metrics, outcomes, folder, device
    )


def _draw_figures(
    scenario: Scenario,
    decisions: pd.DataFrame | None,
    episodes: pd.DataFrame,
    metrics: pd.DataFrame,
    outcomes: pd.DataFrame,
    folder: Path,
    device: str | None,
) -> list[str]:
    """The run's three figures; ``decisions`` needs only ``device``'s rows, the device the
    timeline shows (None: no decisions in the run)."""
    from simulator.plots.run import save_figure

    written = _draw_metric_figures(folder, (metrics, outcomes))
    save_figure(_timeline_figure(scenario, decisions, episodes, device), folder / TIMELINE_PNG)
    return [*written, TIMELINE_PNG]


def _draw_metric_figures(folder: Path, inputs: tuple[pd.DataFrame, pd.DataFrame]) -> list[str]:
    """The two figures drawn from a run's metrics and episode outcomes."""
    from simulator.plots import run as plots
    from simulator.plots.frontier import frontier

    metrics, outcomes = inputs
    plots.save_figure(frontier(metrics), folder / "exposure_friction.png")
    plots.save_figure(plots.time_to_protect(outcomes), folder / "time_to_protect.png")
    return ["exposure_friction.png", "time_to_protect.png"]


def _timeline_figure(
    scenario: Scenario, decisions: pd.DataFrame | None, episodes: pd.DataFrame, device: str | None
) -> Any:
    """The device timeline under the first variant, or a note when nothing was decided."""
    from simulator.plots import run as plots

    first = next(iter(variant_policies(scenario)))
    if device is not None and decisions is not None:
        return plots.device_timeline(
            decisions, episodes, device, first, horizon_min=scenario.model.horizon
        )
    return plots.note_figure(
        f"Device timeline — {first}",
        "no launches in this run, so no decisions to show",
    )
