"""``condlaunch calibrate`` and ``condlaunch replay``: a tenant's Microsoft Graph exports in.

Thin like the rest of the CLI: read the exports (:mod:`simulator.tenant.inventory`), fit
(:mod:`simulator.tenant.calibrate`) or replay (:mod:`simulator.tenant.replay`), write
(:mod:`simulator.folders`), print. Bad input is one line naming the file and record, exit 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.cli._common import cell, compile_engine_first, format_table
from simulator.durations import DurationError, format_duration, parse_duration
from simulator.errors import InputError
from simulator.policy.decide import Policy
from simulator.scenario.load import Scenario, load_scenario, variant_policies
from simulator.scenario.models import FleetModel, ScenarioModel
from simulator.sim.run import DEFAULT_ENGINE, ENGINES
from simulator.tenant import DEFAULT_SESSION_GAP

if TYPE_CHECKING:  # the readers load on first use: `condlaunch --help` stays quick
    from simulator.sim.run import RunResult
    from simulator.tenant.inventory import Exports, Tenant

GRAPH_CALLS = (
    "inputs (each optional, each one or more files: a Graph page {'value': [...]} or a list):\n"
    "  --alerts             GET /security/alerts_v2\n"
    "  --devices            GET /deviceManagement/managedDevices\n"
    "  --app-registrations  GET /deviceAppManagement/managedAppRegistrations\n"
    "  --signins            GET /auditLogs/signIns\n"
)


def add_commands(commands: Any, policy_option: Callable[..., None]) -> None:
    """Add calibrate and replay to the ``condlaunch`` subparsers."""
    formatter = argparse.RawDescriptionHelpFormatter
    calibrate = commands.add_parser(
        "calibrate",
        help="fit a scenario to a tenant's Graph exports (Defender, Intune, Entra)",
        description="Fit fleet, app use and threats to Microsoft Graph exports and write a\n"
        "scenario TOML (each field commented with its source, sample size and 95% interval)\n"
        "plus a calibration page (report.html + PNGs) that shows each fit against the data.\n\n"
        + GRAPH_CALLS,
        epilog="example:\n  condlaunch calibrate --alerts alerts*.json --devices devices.json \\\n"
        "      --app-registrations app-registrations.json --signins signins*.json \\\n"
        "      --mapping mapping.toml --out fitted.toml",
        formatter_class=formatter,
    )
    _add_inputs(calibrate, policy_option)
    calibrate.add_argument("--out", type=Path, required=True, metavar="FILE.toml")
    calibrate.add_argument(
        "--page",
        type=Path,
        metavar="DIR",
        help="calibration page folder (default: OUT-calibration)",
    )
    calibrate.add_argument("--no-page", action="store_true", help="write no calibration page")
    calibrate.add_argument(
        "--utc-offset",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="the fleet's time zone for the working-hours profile (default 0 = UTC)",
    )
    calibrate.set_defaults(func=cmd_calibrate)

    replay = commands.add_parser(
        "replay",
        help="replay a tenant's Graph exports under candidate policies (a run folder)",
        description="Turn the exports into a scripted world — the tenant's devices, its alerts\n"
        "with their observed onset, detection and resolution, app sessions from sign-ins —\n"
        "and play each --policy on it with the compiled engine. Writes the same folder as\n"
        "`condlaunch run` (metrics.csv, decisions, episodes, devices, manifest, plots).\n\n"
        + GRAPH_CALLS,
        epilog="example:\n  condlaunch replay --alerts alerts*.json --devices devices.json \\\n"
        "      --app-registrations app-registrations.json --signins signins*.json \\\n"
        "      --policy scenarios/policies/level3-secured-block.toml --out runs/replay",
        formatter_class=formatter,
    )
    _add_inputs(replay, policy_option)
    replay.add_argument("--out", type=Path, required=True, metavar="DIR")
    replay.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    replay.add_argument(
        "--chunk-size",
        type=int,
        default=500,
        metavar="N",
        help="devices per chunk, about (memory; a user's devices stay together); results "
        "do not depend on it",
    )
    replay.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="K",
        help="worker processes playing chunks (0: one per core; default 1); results do not "
        "depend on it",
    )
    replay.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=DEFAULT_ENGINE,
        help=f"simulation engine (default {DEFAULT_ENGINE}); outputs are identical",
    )
    replay.add_argument(
        "--no-log",
        action="store_true",
        help="keep no decision log: metrics are computed chunk by chunk and the folder's "
        "decisions and episodes are empty (memory: one chunk per worker; no plots)",
    )
    replay.set_defaults(func=cmd_replay)


def _add_inputs(parser: argparse.ArgumentParser, policy_option: Callable[..., None]) -> None:
    for flag in ("--alerts", "--devices", "--app-registrations", "--signins"):
        parser.add_argument(flag, nargs="+", action="extend", type=Path, default=[], metavar="FILE")
    parser.add_argument(
        "--mapping", type=Path, metavar="FILE.toml", help="alert-kind, app and EMM tables"
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="BASE.toml",
        help="base scenario: what the exports cannot identify (default: condlaunch's defaults)",
    )
    policy_option(parser, required=False)
    parser.add_argument(
        "--session-gap",
        default=f"{DEFAULT_SESSION_GAP:g}m",
        metavar="DURATION",
        help="sign-ins of one app closer than this are one session (default %(default)s)",
    )
    parser.add_argument("--start", metavar="DATE", help="window start (ISO 8601, UTC)")
    parser.add_argument("--end", metavar="DATE", help="window end (ISO 8601, UTC), exclusive")


def _exports(args: argparse.Namespace) -> Exports:
    from simulator.tenant.inventory import Exports

    exports = Exports(args.alerts, args.devices, args.app_registrations, args.signins)
    if not exports.all_files():
        raise InputError(
            "give at least one export: --alerts, --devices, --app-registrations or --signins"
        )
    return exports


def _moment(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not an ISO 8601 date", field=flag) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / 60.0


def _gap(args: argparse.Namespace) -> float:
    try:
        gap = parse_duration(args.session_gap)
    except DurationError as exc:
        raise InputError(str(exc), field="--session-gap") from None
    return gap


def _base(args: argparse.Namespace) -> Scenario:
    if args.scenario is None:
        return Scenario(ScenarioModel(name="condlaunch defaults", fleet=FleetModel()), ())
    base = load_scenario(args.scenario, require_policies=False)
    if base.scripted:
        raise InputError(
            "is a scripted scenario; a base scenario needs [fleet]", source=args.scenario
        )
    return base


def _tenant(args: argparse.Namespace) -> Tenant:
    from simulator.tenant.inventory import load_tenant
    from simulator.tenant.mapping import load_mapping

    start, end = _moment(args.start, "--start"), _moment(args.end, "--end")
    mapping = load_mapping(args.mapping)
    started = time.perf_counter()
    tenant = load_tenant(
        _exports(args),
        mapping,
        start=start,
        end=end,
    )
    elapsed = time.perf_counter() - started
    window = f"{_stamp(tenant.start)} – {_stamp(tenant.end)} ({format_duration(tenant.horizon)})"
    print(f"Read the exports in {elapsed:.1f} s; window {window}")
    for line in tenant.stats.lines():
        print(f"  {line}")
    for note in tenant.notes:
        print(f"condlaunch: note: {note}", file=sys.stderr)
    managements = [d.management for d in tenant.devices.values()]
    print(
        f"  fleet: {len(tenant.devices):,} iOS devices of {len(tenant.users()):,} users ("
        + ", ".join(f"{m} {managements.count(m):,}" for m in ("mdm", "mam_we", "emm"))
        + f"); {len(tenant.alerts):,} alert episodes; {tenant.signins.count():,} sign-ins"
    )
    return tenant


def _stamp(minutes: float) -> str:
    return datetime.fromtimestamp(minutes * 60.0, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _inputs(args: argparse.Namespace) -> list[Path]:
    extra = [p for p in (args.mapping, args.scenario) if p is not None]
    return [*_exports(args).all_files(), *extra, *(Path(p) for p in args.policies or ())]


def _policies(args: argparse.Namespace, base: Scenario) -> list[Policy]:
    from simulator.cli._notes import reporting_notes
    from simulator.policy.files import load_policy_files

    if args.policies:
        with reporting_notes():
            return load_policy_files(args.policies)
    return list(base.policies)


# -------------------------------------------------------------------------------- calibrate


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Read, fit, write the scenario (validated by loading it back) and the page."""
    from simulator.folders import check_output_file, check_output_folder, write_text_atomic
    from simulator.tenant.calibrate import CalibrationSettings, calibrate
    from simulator.tenant.write import scenario_toml

    inputs = _inputs(args)
    out = check_output_file(args.out, inputs=inputs)
    page = None if args.no_page else (args.page or out.with_name(out.stem + "-calibration"))
    if page is not None:
        check_output_folder(page, inputs=[*inputs, out])
    settings = CalibrationSettings(utc_offset_hours=args.utc_offset, session_gap=_gap(args))
    base = _base(args)
    policies = _policies(args, base)
    tenant = _tenant(args)
    fitted = calibrate(tenant, base.model, settings)
    text = scenario_toml(
        fitted,
        base.model,
        inputs=[str(p) for p in _exports(args).all_files()],
        stats=tenant.stats,
        policy_lines=policy_toml(policies, [a["name"] for a in fitted.apps]),
    )
    write_text_atomic(out, text)
    try:
        scenario = load_scenario(out)
    except InputError as exc:  # a bug of ours: say so, keep the file for the report
        raise InputError(f"the written scenario does not load ({exc}); please report") from None
    print()
    print("\n".join(fit_table(fitted)))
    print(f"\nWrote {out} (loads with `condlaunch validate {out}`)")
    if page is not None:
        from simulator.report.calibration import write_calibration_page

        written = write_calibration_page(fitted, tenant, scenario, page)
        print(f"Wrote {page}/: " + ", ".join(written))
    return 0


def fit_table(fitted: Any) -> list[str]:
    """The fits as a terminal table: field, value, sample size, 95% interval, source."""
    rows: list[list[object]] = []
    for fit in fitted.fits:
        rows.append(_fit_row(fit.field, fit))
    for entry in fitted.apps:
        for key in ("share", "sessions_per_day"):
            rows.append(_fit_row(f"apps.{entry['name']}.{key}", entry[key]))
    for entry in fitted.threats:
        for key in ("rate_per_device_year", "detection_delay", "natural_duration"):
            if key in entry:
                rows.append(
                    _fit_row(f"threats.{entry.get('label', entry['kind'])}.{key}", entry[key])
                )
    return format_table(["field", "value", "n", "95% interval"], rows, text_columns=2)


def _fit_row(name: str, fit: Any) -> list[object]:
    from simulator.scenario.models import Dist
    from simulator.tenant.calibrate import duration_text

    value = fit.value
    if isinstance(value, Dist):
        if value.dist == "lognormal":
            median, p90 = float(value.median or 0.0), float(value.p90 or 0.0)
            shown = f"lognormal {duration_text(median)}/{duration_text(p90)}"
        else:
            shown = value.dist
    elif isinstance(value, float) and name == "horizon":
        shown = format_duration(value)
    else:
        shown = cell(value) if not isinstance(value, float) else f"{value:.4g}"
    if not fit.fitted:
        return [name, f"{shown} (default)", "–", "not fitted"]
    interval = fit.interval_text or "–"
    if fit.interval is not None and not fit.interval_text:
        lo, hi = fit.interval
        interval = f"{lo:.3g} – {hi:.3g}"
    return [name, shown, "–" if fit.n is None else f"{fit.n:,}", interval]


def policy_toml(policies: Sequence[Policy], apps: Sequence[str]) -> list[str]:
    """``[[policies]]`` tables (the given policies, or a Level 3 Secured + block default
    over the fitted apps) and a ``[sweep]`` over the max threat level."""
    from simulator.policy.files import PolicyModel
    from simulator.tenant.write import value_toml

    lines: list[str] = []
    if not policies:
        lines += [
            "",
            "# No --policy given: Microsoft's level 3 style default over the fitted apps.",
            "[[policies]]",
            'name = "Level 3 - Secured + block"',
            f"apps = {value_toml(list(apps) or ['outlook'])}",
            'max_threat_level = "secured"',
            'threat_action = "block"',
        ]
        first = "Level 3 - Secured + block"
    else:
        first = policies[0].name
        for policy in policies:
            data = PolicyModel.from_policy(policy).model_dump(mode="json", exclude_none=True)
            lines += ["", "[[policies]]"]
            lines += [f"{key} = {value_toml(value)}" for key, value in data.items()]
    lines += [
        "",
        "# `condlaunch sweep` compares the max threat levels on the fitted fleet.",
        "[sweep]",
        f"base_policy = {value_toml(first)}",
        "replications = 5",
        "[sweep.grid]",
        'max_threat_level = ["secured", "low", "medium", "high"]',
    ]
    return lines


# ----------------------------------------------------------------------------------- replay


def _check_replay_size(tenant: Tenant, variants: int) -> None:
    """Refuse a replay whose decision log cannot fit in memory (about one row per sign-in
    session and check-in per variant), before playing anything."""
    from simulator.sim.estimate import LOG_BYTES_PER_DECISION, physical_memory

    decisions = tenant.signins.count() * 1.15 * variants
    memory = physical_memory()
    if memory is not None and decisions * LOG_BYTES_PER_DECISION > 0.8 * memory:
        raise InputError(
            f"about {decisions:,.3g} decisions ({tenant.signins.count():,} sign-ins × "
            f"{variants} variants): keeping the decision log would need about "
            f"{decisions * LOG_BYTES_PER_DECISION / 2**30:,.0f} GiB of memory, more than this "
            f"machine's {memory / 2**30:,.0f} GiB (estimate); replay fewer policies at a time "
            "or a shorter window (--start/--end)",
            field="--policy",
        )


def cmd_replay(args: argparse.Namespace) -> int:
    """Read, build the world, play every policy, write a run folder."""
    from simulator.analysis.metrics import run_metrics
    from simulator.cli.run import _write_plots, summary_table, workers_for
    from simulator.folders import check_output_folder, write_run
    from simulator.policy.behavior import parameter_values
    from simulator.tenant.replay import (
        ReplaySettings,
        replay,
        replay_chunks,
        replay_metrics,
        replay_scenario,
    )

    inputs = _inputs(args)
    check_output_folder(args.out, inputs=inputs)
    if args.chunk_size < 1:
        raise InputError("must be >= 1", field="--chunk-size")
    base = _base(args)
    policies = _policies(args, base)
    if not policies:
        raise InputError("no policies: give --policy FILE (one variant each)", field="--policy")
    variants: dict[str, tuple[Policy, ...]] = (
        {p.name: (p,) for p in policies} if args.policies else variant_policies(base)
    )
    gap = _gap(args)
    tenant = _tenant(args)
    if not args.no_log:
        _check_replay_size(tenant, len(variants))
    workers = workers_for(args.workers, len(replay_chunks(tenant, args.chunk_size)))
    settings = ReplaySettings.from_base(base.model, policies, gap)
    scenario = replay_scenario(tenant, base, policies)
    compile_engine_first(args.engine, metrics=args.no_log)
    started = time.perf_counter()
    options: dict[str, Any] = {
        "chunk_size": args.chunk_size,
        "engine": args.engine,
        "workers": workers,
    }
    if args.no_log:
        metrics, outcomes = replay_metrics(tenant, scenario, variants, settings, **options)
        result = _empty_run(scenario, variants)
        every = metrics[metrics["segment_by"] == "all"]
        decisions = int(every["launches"].sum() + every["checkins"].sum())  # log rows
    else:
        result = replay(tenant, scenario, variants, settings, **options)
        metrics, outcomes = run_metrics(result)
        decisions = len(result.decisions)
    elapsed = time.perf_counter() - started

    def figures(folder: Path) -> list[str]:
        return _write_plots(result, metrics, outcomes, folder)

    record = {
        "kind_detail": "replay",
        "decision_log_kept": not args.no_log,
        "exports": {k: v for k, v in tenant.stats.record().items()},
        "window_utc": [_stamp(tenant.start), _stamp(tenant.end)],
        "settings": {
            "session_gap_min": settings.session_gap,
            "session_min": dict(settings.session_minutes),
            "defender_to_intune_min": settings.defender_to_intune,
            "mdm_passes_upn": settings.mdm_passes_upn,
            "emm_passes_upn": settings.emm_passes_upn,
            "groups": sorted(settings.groups),
        },
        "notes": tenant.notes,
        "behavior": parameter_values(scenario.model.behavior),
    }
    written = write_run(
        result,
        args.out,
        metrics=metrics,
        figures=None if args.no_plots or args.no_log else figures,
        extra={"replay": record, "input_notes": []},
        inputs=inputs,
    )
    rate = decisions / max(elapsed, 1e-9)
    print(
        f"Replayed {len(tenant.devices):,} devices × {len(variants)} variant(s): "
        f"{decisions:,} decisions in {elapsed:.1f} s ({rate:,.0f} decisions/s, "
        f"{args.engine} engine, {workers} worker(s) of {os.cpu_count() or 1} cores"
        + ("; no log kept" if args.no_log else "")
        + ")"
    )
    print()
    print(summary_table(metrics))
    print(f"\nWrote {args.out}/: " + ", ".join(str(name) for name in written))
    if not args.no_log:
        names = list(variants)
        if len(names) >= 2:
            print(
                f"Compare two variants: condlaunch diff {shlex.quote(str(args.out))} "
                f"{shlex.quote(str(args.out))} --variants {shlex.quote(names[0])} "
                f"{shlex.quote(names[1])}"
            )
    return 0


def _empty_run(scenario: Scenario, variants: dict[str, tuple[Policy, ...]]) -> RunResult:
    """A run without its log (``--no-log``): the folder's tables are empty."""
    import pandas as pd

    from simulator.sim.log import DECISION_COLUMNS, DEVICE_COLUMNS, EPISODE_COLUMNS
    from simulator.sim.run import RunResult

    def empty(columns: Sequence[str]) -> pd.DataFrame:
        return pd.DataFrame(columns=list(columns))

    return RunResult(
        scenario,
        0,
        variants,
        empty(DECISION_COLUMNS),
        empty(EPISODE_COLUMNS),
        empty(DEVICE_COLUMNS),
    )
