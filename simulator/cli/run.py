"""``condlaunch`` commands that simulate: run, validate, schema, explain.

Thin like the rest of the CLI: parse, call the library (:mod:`simulator.sim.run`,
:mod:`simulator.analysis.metrics`, :mod:`simulator.plots.run`, :mod:`simulator.folders`), print. The
subparsers are added by :func:`add_commands`, which :mod:`simulator.cli.main` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.durations import DurationError, Minutes, format_duration, parse_duration
from simulator.errors import InputError
from simulator.policy.behavior import parameter_values
from simulator.policy.files import load_policy_files
from simulator.policy.levels import max_level_label
from simulator.scenario.load import Scenario, load_scenario, scenario_json_schema, variant_policies
from simulator.sim.log import explain_device
from simulator.sim.run import DEFAULT_ENGINE, ENGINES
from simulator.sim.world import chunk_bounds, n_users

DEFAULT_RUNS = Path("runs")

SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("launches", "launches"),
    ("exposed_launches_medium", "exposed launches ≥med"),
    ("exposed_minutes_high", "exposed min ≥high"),
    ("time_to_protect_median_min", "protect median min"),
    ("never_enforced", "never enforced"),
    ("unneeded_denials", "unneeded denials"),
    ("onboarding_blocks", "onboarding blocks"),
    ("blocked_user_minutes_threat", "blocked user-min threat"),
    ("blocked_user_minutes", "blocked user-min"),
    ("wipes", "wipes"),
)
"""Metric column → header of the terminal summary (one row per variant)."""


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
        help="simulation engine: fast (default) or reference (the SimPy definition); "
        "outputs are identical, so the manifest does not record it",
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
    explain.set_defaults(func=cmd_explain)


def _scenario(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario, require_policies=not args.policies)
    if args.policies:
        scenario = scenario.with_policies(load_policy_files(args.policies))
    if getattr(args, "seed", None) is not None:
        if args.seed < 0:
            raise InputError("must be >= 0", field="--seed")
        scenario = scenario.with_changes(seed=args.seed)
    return scenario


def cmd_validate(args: argparse.Namespace) -> int:
    """Print what a scenario will simulate."""
    scenario = _scenario(args)
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

    run = load_run(args.run_dir)
    at: Minutes | None = None
    if args.at is not None:
        try:
            at = parse_duration(args.at)
        except DurationError as exc:
            raise InputError(str(exc), field="--at") from None
    try:
        lines = explain_device(run.decisions, args.device, at=at, variant=args.variant)
    except KeyError as exc:
        raise InputError(str(exc.args[0]), source=args.run_dir, field="--device") from None
    print("\n".join(lines))
    return 0


def _workers(requested: int, chunks: int) -> int:
    if requested < 0:
        raise InputError("must be >= 0 (0 = one per core)", field="--workers")
    if requested == 0:
        requested = os.cpu_count() or 1
    return max(1, min(requested, chunks))


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate, compute metrics, write the run folder atomically, print a summary."""
    from tqdm import tqdm

    from simulator.analysis.metrics import check_consistency, compute_metrics, episode_outcomes
    from simulator.folders import staged_output, write_frame, write_json
    from simulator.sim.run import run_manifest as manifest
    from simulator.sim.run import simulate

    scenario = _scenario(args)
    out = args.out or DEFAULT_RUNS / args.scenario.stem
    if args.replication < 0:
        raise InputError("must be >= 0", field="--replication")
    chunks = len(chunk_bounds(scenario))
    workers = _workers(args.workers, chunks)
    variants = variant_policies(scenario)
    users = n_users(scenario)
    print(
        f"Simulating {scenario.name!r}: {users} {'devices' if scenario.scripted else 'users'}, "
        f"{format_duration(scenario.model.horizon)}, {len(variants)} variant(s), "
        f"{workers} worker(s), {args.engine} engine"
    )
    started = time.perf_counter()
    with tqdm(
        total=users,
        unit="user",
        desc="simulating",
        disable=True if args.quiet else None,
        delay=2.0,
        leave=False,
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = simulate(
            scenario,
            replication=args.replication,
            workers=workers,
            engine=args.engine,
            progress=progress,
        )
    elapsed = time.perf_counter() - started
    metrics = compute_metrics(result)
    problems = check_consistency(result)
    outcomes = episode_outcomes(result.decisions, result.episodes, scenario.model.horizon)
    with staged_output(out) as folder:
        write_json(
            manifest(
                scenario,
                replication=args.replication,
                extra={"variants": {k: [p.name for p in v] for k, v in variants.items()}},
            ),
            folder / "manifest.json",
        )
        write_frame(metrics, folder / "metrics.csv")  # full precision
        decisions_path = write_frame(result.decisions, folder / "decisions.parquet")
        write_frame(result.episodes, folder / "episodes.csv")
        write_frame(result.devices, folder / "devices.csv")
        plots = [] if args.no_plots else _write_plots(result, metrics, outcomes, folder)
    print(
        f"Simulated {len(result.decisions)} decisions in {elapsed:.1f} s "
        f"({len(result.decisions) / max(elapsed, 1e-9):,.0f} decisions/s)"
    )
    print()
    print(summary_table(metrics))
    print()
    print(
        "Exposure counts launches/minutes granted while the device's TRUE level was at least "
        "that severity; unneeded = threat-level denials (blocks + wipes) after the device was "
        "already within the policy's max (stale signal); blocked user-min threat = the part of "
        "blocked user-min due to the threat-level condition (the rest: Defender onboarding, "
        "offline)."
    )
    if problems:
        print("\nWARNING: decision-log invariants violated (please report):")
        for problem in problems:
            print(f"  - {problem}")
    print(
        f"\nWrote {out}/: manifest.json, metrics.csv, {decisions_path.name}, episodes.csv, "
        f"devices.csv" + (", " + ", ".join(plots) if plots else "")
    )
    print(f"Explain one device: condlaunch explain {out} --device <id>")
    return 0


def summary_table(metrics: pd.DataFrame) -> str:
    """The terminal summary: one row per variant (segment all), headline metrics."""
    rows = metrics[(metrics["segment_by"] == "all")]
    header = ["variant", *(label for _, label in SUMMARY_COLUMNS)]
    body = []
    for record in rows.to_dict("records"):
        cells = [str(record["variant"])]
        for column, _ in SUMMARY_COLUMNS:
            value = record.get(column)
            cells.append(_cell(value))
        body.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    if body:
        lines = [
            "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            ),
            "  ".join("-" * w for w in widths),
        ]
        for r in body:
            lines.append(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        return "\n".join(lines)
    return "(no variants)"


def _cell(value: object) -> str:
    if value is None:
        return "–"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if number != number:  # NaN
        return "–"
    if number == int(number) and abs(number) < 1e12:
        return f"{int(number):,}"
    return f"{number:,.1f}"


def _write_plots(
    result: Any, metrics: pd.DataFrame, outcomes: pd.DataFrame, folder: Path
) -> list[str]:
    from simulator.plots import run as plots

    written = []
    figure = plots.exposure_friction(metrics)
    plots.save_figure(figure, folder / "exposure_friction.png")
    written.append("exposure_friction.png")
    figure = plots.time_to_protect(outcomes)
    plots.save_figure(figure, folder / "time_to_protect.png")
    written.append("time_to_protect.png")
    first = next(iter(result.variants))
    device = plots.pick_interesting_device(result.decisions, result.episodes, first)
    horizon = result.scenario.model.horizon
    figure = plots.device_timeline(
        result.decisions, result.episodes, device, first, horizon_min=horizon
    )
    plots.save_figure(figure, folder / "device_timeline.png")
    written.append("device_timeline.png")
    return written
