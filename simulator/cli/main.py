"""The ``condlaunch`` command line: thin wrappers that parse, call the library and print.

Commands (``condlaunch COMMAND --help`` for each)::

    whatif   decide one evaluation context against policy files
    table    the decision table of policy files (CSV with --out, else a summary)
    check    run a case table (CSV or TOML) against policy files
    run      simulate a scenario; write metrics, decision log, plots (simulator.cli.run)
    validate check a scenario file and describe it
    schema   JSON Schema of scenario files
    explain  one sentence per decision of a device in a run folder
    sweep    variants × replications on a shared world: CIs, paired differences
    diff     which launches flip between two runs or variants
    report   a self-contained HTML report of a run or sweep folder

Exit codes: 0 success; 1 ``check`` found failing cases; 2 bad input or usage, reported as
one line ``condlaunch: error: <file>: <field>: <message>`` on stderr.

Simulation commands live in ``simulator/cli_run.py``, ``cli_experiment.py``, ``cli_diff.py``
and ``cli_report.py``, each exposing ``add_commands(commands, policy_option)``.

Adding a policy command here: write ``_add_<name>(commands)`` (its subparser, ending with
``set_defaults(func=_cmd_<name>)``) and ``_cmd_<name>(args) -> int``, and list the adder in
:data:`_COMMANDS`. Commands raise :class:`~simulator.errors.InputError` for bad input;
:func:`main` turns it into the one-line error. No decision logic lives here.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NoReturn

from simulator import __version__
from simulator.cli._common import app_hint, format_table
from simulator.cli._notes import reporting_notes
from simulator.durations import (
    DurationError,
    Minutes,
    format_duration,
    humanize_minutes,
    parse_duration,
)
from simulator.errors import InputError
from simulator.policy.behavior import Behavior, decision_parameters
from simulator.policy.decide import (
    Decision,
    EffectivePolicy,
    EvaluationContext,
    Policy,
    decide,
    effective_policy,
)
from simulator.policy.files import load_policy_files
from simulator.policy.levels import (
    Action,
    ConnectorState,
    DefenderState,
    Management,
    Reauth,
    ThreatLevel,
    max_level_label,
)
from simulator.policy.tables import (
    JUST_PAST,
    behavior_fields,
    case_policies,
    check_cases,
    decision_table,
    groups_label,
    lattice_shape,
    load_cases,
    offline_buckets,
    summarize_table,
    table_to_csv,
    upn_context,
)

PROG = "condlaunch"

_WIDTH = 100
"""Width the terminal output wraps at."""


class _UsageError(Exception):
    """A command-line usage error (argparse's, reported on one line)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, handled by :func:`main`."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _values(enum: type[StrEnum]) -> list[str]:
    """The file/CLI spellings of an enum's members (argparse ``choices``)."""
    return [member.value for member in enum]


def _duration_arg(text: str) -> Minutes:
    """argparse type for durations: ``42m``, ``3h``, ``90d``, ``PT30M``."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_policy_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--policy",
        dest="policies",
        action="append",
        metavar="FILE",
        required=required,
        help="policy file: TOML [[policies]] or a Graph JSON export (repeat for several)",
    )


def _add_behavior_options(parser: argparse.ArgumentParser) -> None:
    """One flag per parameter of the decision function, from its single declaration
    (:class:`~simulator.policy.behavior.Behavior`): choices, meaning and default."""
    group = parser.add_argument_group(
        "behaviour parameters", "what the documentation leaves open (docs/semantics.md)"
    )
    for param in decision_parameters():
        assert param.flag is not None
        group.add_argument(
            param.flag,
            dest=param.name,
            choices=list(param.choices),
            help=f"{param.meaning} (default: {param.default_text})",
        )


def _behavior(args: argparse.Namespace, base: Behavior | None = None) -> Behavior:
    """``base`` (default: the defaults) with the behaviour flags given on the command line."""
    changes: dict[str, Any] = {}
    for param in decision_parameters():
        value = getattr(args, param.name)
        if value is not None:
            changes[param.name] = type(param.default)(value)
    return replace(base or Behavior(), **changes)


def _wrap_parts(
    parts: Sequence[str], width: int, indent: str, sep: str = " · ", prefix: str = ""
) -> list[str]:
    """Join ``parts`` with ``sep`` into lines of at most ``width`` (never splitting a part).

    Lines after the first start with ``indent``; the first with ``prefix``.
    """
    lines: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{sep}{part}" if current else part
        if current and len(indent) + len(candidate) > width:
            lines.append(current)
            current = part
        else:
            current = candidate
    lines.append(current)
    return [(indent if i else prefix) + line for i, line in enumerate(lines)]


def _behavior_lines(behavior: Behavior, label: str = "  behaviour: ") -> list[str]:
    parts = [f"{k}={v}" for k, v in behavior_fields(behavior).items()]
    return _wrap_parts(parts, _WIDTH, " " * len(label), prefix=label)


def _policy_names(policies: Sequence[Policy]) -> str:
    return "; ".join(p.name for p in policies)


def _plural(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _aligned(pairs: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = max(len(key) for key, _ in pairs)
    return [f"{indent}{key:<{width}}  {value}" for key, value in pairs]


# ------------------------------------------------------------------------------------ whatif


def _add_whatif(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "whatif",
        help="decide one evaluation context against policy files",
        description="Decide one conditional-launch evaluation: which policies apply, the\n"
        "outcome, the reason and the settings in force.",
        epilog="example:\n"
        "  condlaunch whatif --policy scenarios/policies/level3-secured-block.toml \\\n"
        "      --app outlook --management mam_we --level medium --level-age 42m",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_policy_option(parser, required=True)
    context = parser.add_argument_group("evaluation context")
    context.add_argument(
        "--app", required=True, type=_app_name, help="the protected app, e.g. outlook"
    )
    context.add_argument(
        "--management",
        required=True,
        choices=_values(Management),
        help="Intune MDM, MAM without enrolment, or a third-party EMM",
    )
    context.add_argument(
        "--passes-upn",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mdm or emm: whether the MDM passes IntuneMAMUPN to the app, so that it sees "
        "the device as managed (default: yes for mdm, no for emm; mam_we never)",
    )
    context.add_argument(
        "--emm-passes-upn",
        action="store_true",
        help="emm only: the same as --passes-upn (older spelling)",
    )
    context.add_argument(
        "--groups", default="", metavar="A,B", help="the user's groups, comma separated"
    )
    context.add_argument(
        "--defender",
        choices=_values(DefenderState),
        default=DefenderState.ACTIVATED.value,
        help="Defender for Endpoint on the device (default: activated)",
    )
    context.add_argument(
        "--level",
        required=True,
        choices=[level.label for level in ThreatLevel],
        help="the threat level the app last fetched from Intune",
    )
    context.add_argument(
        "--level-age",
        type=_duration_arg,
        metavar="DURATION",
        help="how old that level is, e.g. 42m",
    )
    context.add_argument(
        "--connector",
        choices=_values(ConnectorState),
        default=ConnectorState.ENABLED.value,
        help="the Defender ↔ Intune connection (default: enabled)",
    )
    context.add_argument(
        "--offline",
        type=_duration_arg,
        default=0.0,
        metavar="DURATION",
        help="time since the last check-in while offline, e.g. 3h (default: online)",
    )
    context.add_argument(
        "--never-checked-in",
        action="store_true",
        help="the app has never checked in: offline, its first use needs the network",
    )
    context.add_argument(
        "--jailbroken",
        action="store_true",
        help="the Intune SDK's own check detects a jailbreak (Jailbroken/rooted devices)",
    )
    context.add_argument(
        "--reauth",
        choices=[Reauth.SUCCEEDED.value, Reauth.FAILED.value],
        help="back online after the offline wipe period: the user's sign-in succeeded "
        "or failed (default: no re-authentication; not with --offline)",
    )
    _add_behavior_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_cmd_whatif)


def _app_name(text: str) -> str:
    """argparse type for --app: a non-empty name (surrounding spaces dropped)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected an app name, e.g. outlook")
    return text.strip()


def _split_groups(text: str) -> frozenset[str]:
    return frozenset(g.strip() for g in text.replace(";", ",").split(",") if g.strip())


def _whatif_upn(args: argparse.Namespace) -> bool:
    """Whether the device's MDM passes IntuneMAMUPN, from --passes-upn / --emm-passes-upn
    (default: yes for mdm, no for emm); refuses contradictory or meaningless flags."""
    management = Management(args.management)
    if management is Management.MAM_WE and args.passes_upn:
        raise _UsageError("--passes-upn: a mam_we device has no MDM to pass IntuneMAMUPN")
    if management is Management.EMM and args.emm_passes_upn and args.passes_upn is False:
        raise _UsageError("--emm-passes-upn contradicts --no-passes-upn")
    if args.passes_upn is not None:
        return bool(args.passes_upn)
    if management is Management.EMM:
        return bool(args.emm_passes_upn)
    return management is Management.MDM


def _cmd_whatif(args: argparse.Namespace) -> int:
    with reporting_notes():
        policies = load_policy_files(args.policies)
    behavior = _behavior(args)
    if args.reauth is not None and args.offline > 0:
        raise _UsageError(
            "--reauth is the sign-in back online after the offline wipe period; "
            "it cannot be combined with --offline"
        )
    context = upn_context(
        EvaluationContext(
            app=args.app,
            management=Management(args.management),
            emm_passes_upn=args.emm_passes_upn,
            groups=_split_groups(args.groups),
            defender=DefenderState(args.defender),
            known_level=ThreatLevel.parse(args.level),
            known_level_age_min=args.level_age,
            connector=ConnectorState(args.connector),
            offline_min=args.offline,
            checked_in=not args.never_checked_in,
            jailbroken=args.jailbroken,
            reauth=Reauth.NOT_REQUIRED if args.reauth is None else Reauth(args.reauth),
        ),
        _whatif_upn(args),
    )
    for warning in app_hint([args.app], policies):
        print(warning, file=sys.stderr)
    decision = decide(policies, context, behavior)
    eff = effective_policy(policies, context, behavior.multi_policy_merge)
    if args.json:
        print(
            json.dumps(
                _decision_record(decision, context, eff, behavior), indent=2, ensure_ascii=False
            )
        )
    else:
        print("\n".join(_decision_text(decision, context, eff, behavior)))
    return 0


def _effective_fields(eff: EffectivePolicy) -> list[tuple[str, str]]:
    return [
        ("max threat level", max_level_label(eff.max_threat_level)),
        ("threat action", eff.threat_action.value),
        ("recheck after", format_duration(eff.recheck_after)),
        ("check-in interval", format_duration(eff.checkin_interval)),
        ("offline block after", format_duration(eff.offline_block_after)),
        ("offline wipe after", format_duration(eff.offline_wipe_after)),
        ("jailbroken devices", _jailbroken_label(eff.jailbroken_action)),
    ]


def _jailbroken_label(action: Action | None) -> str:
    return "not configured" if action is None else action.value


def _passes_upn(context: EvaluationContext) -> bool:
    """Whether the device's MDM passes IntuneMAMUPN (false for mam_we: no MDM)."""
    if context.management is Management.MDM:
        return context.mdm_passes_upn
    if context.management is Management.EMM:
        return context.emm_passes_upn
    return False


_REAUTH_TEXT: Final = {
    Reauth.NOT_REQUIRED: "not required",
    Reauth.SUCCEEDED: "succeeded (back online after the offline wipe period)",
    Reauth.FAILED: "failed (back online after the offline wipe period)",
}


def _decision_text(
    decision: Decision, context: EvaluationContext, eff: EffectivePolicy | None, behavior: Behavior
) -> list[str]:
    seen = "managed" if context.app_sees_managed else "unmanaged"
    age = (
        ""
        if context.known_level_age_min is None
        else f" (fetched {humanize_minutes(context.known_level_age_min)} ago)"
    )
    offline = (
        "no"
        if context.offline_min <= 0
        else f"{humanize_minutes(context.offline_min)} since the last check-in"
    )
    lines = [
        f"{decision.outcome.value.upper()}  ({decision.reason.value})",
        f"  {decision.explanation}",
        "",
        "Policies applied",
        *(f"  {name}" for name in decision.policies),
    ]
    if not decision.policies:
        lines.append("  none — no policy covers this app, user and device")
    management = context.management.value
    if context.management is not Management.MAM_WE:
        management += " with" if _passes_upn(context) else " without"
        management += " IntuneMAMUPN"
    lines += [
        "",
        "Context",
        *_aligned(
            [
                ("app", context.app),
                ("management", f"{management} (the app sees the device as {seen})"),
                ("groups", groups_label(context.groups)),
                ("Defender", context.defender.value),
                ("known level", f"{context.known_level.label}{age}"),
                ("connector", context.connector.value),
                ("offline", offline),
                (
                    "checked in",
                    "yes" if context.checked_in else "never (its first use needs the network)",
                ),
                (
                    "jailbroken",
                    "yes (the Intune SDK detects a jailbreak)" if context.jailbroken else "no",
                ),
                ("re-auth", _REAUTH_TEXT[context.reauth]),
            ]
        ),
    ]
    if eff is not None:
        lines += ["", f"Effective settings ({behavior.multi_policy_merge.value} merge)"]
        lines += _aligned(_effective_fields(eff))
    lines += ["", "Behaviour parameters", *_aligned(list(behavior_fields(behavior).items()))]
    return lines


def _decision_record(
    decision: Decision, context: EvaluationContext, eff: EffectivePolicy | None, behavior: Behavior
) -> dict[str, Any]:
    return {
        "outcome": decision.outcome.value,
        "reason": decision.reason.value,
        "policies": list(decision.policies),
        "explanation": decision.explanation,
        "context": {
            "app": context.app,
            "management": context.management.value,
            "passes_upn": _passes_upn(context),
            "mdm_passes_upn": context.mdm_passes_upn,
            "emm_passes_upn": context.emm_passes_upn,
            "app_sees_managed": context.app_sees_managed,
            "groups": sorted(context.groups),
            "defender": context.defender.value,
            "level": context.known_level.label,
            "level_age_min": context.known_level_age_min,
            "connector": context.connector.value,
            "offline_min": context.offline_min,
            "checked_in": context.checked_in,
            "jailbroken": context.jailbroken,
            "reauth": context.reauth.value,
        },
        "effective_policy": None
        if eff is None
        else {
            "policies": list(eff.policies),
            "max_threat_level": max_level_label(eff.max_threat_level),
            "threat_action": eff.threat_action.value,
            "recheck_after_min": eff.recheck_after,
            "checkin_interval_min": eff.checkin_interval,
            "offline_block_after_min": eff.offline_block_after,
            "offline_wipe_after_min": eff.offline_wipe_after,
            "jailbroken_action": None
            if eff.jailbroken_action is None
            else eff.jailbroken_action.value,
        },
        "behavior": behavior_fields(behavior),
    }


# ------------------------------------------------------------------------------------- table


def _add_table(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "table",
        help="the decision table of policy files (CSV with --out, else a summary)",
        description="Decide every combination of groups × management × app × Defender state\n"
        "× known level × connector state × offline bucket. With --out, write one CSV row\n"
        "per combination; otherwise print a summary.",
        epilog="examples:\n"
        "  condlaunch table --policy scenarios/policies/level3-secured-block.toml\n"
        "  condlaunch table --policy scenarios/policies/level3-secured-block.toml "
        "--out table.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_policy_option(parser, required=True)
    parser.add_argument("--out", type=Path, metavar="FILE.csv", help="write the full table here")
    _add_behavior_options(parser)
    parser.set_defaults(func=_cmd_table)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` atomically, with the mode the umask gives new files."""
    from simulator.folders import write_text_atomic

    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", source=path) from None


def _cmd_table(args: argparse.Namespace) -> int:
    if args.out is not None:
        from simulator.folders import check_output_file

        check_output_file(args.out, inputs=args.policies)
    with reporting_notes():
        policies = load_policy_files(args.policies)
    behavior = _behavior(args)
    table = decision_table(policies, behavior)
    shape = lattice_shape(table)
    buckets = offline_buckets(policies, behavior)
    header = [
        f"Decision table for {_plural(len(policies), 'policy', 'policies')}: "
        f"{_policy_names(policies)}",
        f"  {len(table)} rows = " + " × ".join(f"{dim} {n}" for dim, n in shape.items()),
        *_wrap_parts(
            [
                f"{b.name} {format_duration(b.minutes)}"
                + (f" ({format_duration(b.minutes - JUST_PAST)} + 1m)" if b.minutes else "")
                for b in buckets
            ],
            _WIDTH,
            " " * 19,
            prefix="  offline buckets: ",
        ),
        *_behavior_lines(behavior),
        "  management: emm+upn = an EMM that passes IntuneMAMUPN; emm = one that does not",
    ]
    if args.out is not None:
        _write_atomic(args.out, table_to_csv(table))
        print("\n".join(header))
        print(f"Wrote {len(table)} rows to {args.out}")
        return 0
    summary = summarize_table(table)
    counts = [c for c in summary.columns if c not in ("outcome", "reason", "when", "exact")]
    rows = [
        [str(r["outcome"]).upper(), r["reason"], *(int(r[c]) for c in counts)]
        for _, r in summary.iterrows()
    ]
    when: list[list[object]] = []
    for _, r in summary.iterrows():
        parts = str(r["when"]).split(" · ") + ([] if r["exact"] else ["(some of these)"])
        key = [str(r["outcome"]).upper(), str(r["reason"])]
        for i, line in enumerate(_wrap_parts(parts, _WIDTH - 32, "  ")):
            when.append([*key, line] if i == 0 else ["", "", line])
    lines = [
        *header,
        "",
        "Rows by outcome, reason and management",
        *format_table(["outcome", "reason", *counts], rows, text_columns=2),
        "",
        "When each happens (a dimension not listed takes all its values)",
        *format_table(["outcome", "reason", "when"], when, text_columns=3),
        "",
        f"Write all {len(table)} rows with --out FILE.csv.",
    ]
    print("\n".join(lines))
    return 0


# ------------------------------------------------------------------------------------- check


def _add_check(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "check",
        help="run a case table (CSV or TOML) against policy files",
        description="Decide every case of a case table and compare with the expected outcome\n"
        "(and reason). Exit 0 when all pass, 1 when any fails, 2 for bad input.\n\n"
        "CSV columns: name, app*, management*, passes_upn (or emm_passes_upn), groups,\n"
        "defender, level*, level_age, connector, offline, checked_in, jailbroken, reauth,\n"
        "expect_outcome*, expect_reason (* required).\n"
        "A TOML case table has [[cases]] with the same keys, and may set policy_files\n"
        "and [behavior]; --policy replaces its policy_files.",
        epilog="examples:\n  condlaunch check scenarios/cases/level3-cases.toml\n"
        "  condlaunch check scenarios/cases/level3-cases.csv \\\n"
        "      --policy scenarios/policies/level3-secured-block.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cases", type=Path, metavar="CASES", help="case table, .csv or .toml")
    _add_policy_option(parser, required=False)
    _add_behavior_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    parser.set_defaults(func=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    with reporting_notes():
        table = load_cases(args.cases)
        policies = case_policies(table, args.policies)
    behavior = _behavior(args, table.behavior)
    for warning in app_hint([c.context.app for c in table.cases], policies):
        print(warning, file=sys.stderr)
    results = check_cases(policies, table.cases, behavior)
    print(f"Checking {_plural(len(results), 'case')} in {table.source}")
    print(f"  policies: {_policy_names(policies)}")
    print("\n".join(_behavior_lines(behavior)))
    print()
    for result in results:
        if not result.passed:
            print(f"FAIL {result.diff}\n")
        elif args.verbose:
            print(f"ok   {result.case.label}: {result.got}")
    failed = sum(not r.passed for r in results)
    if args.verbose:
        print()
    print(f"{len(results)} cases, {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


# -------------------------------------------------------------------------------------- main

_COMMANDS: tuple[Callable[[argparse._SubParsersAction[_Parser]], None], ...] = (
    _add_whatif,
    _add_table,
    _add_check,
)
"""Subcommand adders, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The ``condlaunch`` parser: one subparser per command."""
    parser = _Parser(
        prog=PROG,
        description="condlaunch: simulate Intune app protection policies that use the "
        "Microsoft Defender for Endpoint device threat level on iOS.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for add in _COMMANDS:
        add(commands)
    # Simulation commands live in their own modules, each with add_commands().
    from simulator.cli import diff, report, run, sweep, tenant

    for module in (run, sweep, diff, report, tenant):
        module.add_commands(commands, _add_policy_option)
    return parser


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``condlaunch``; returns the exit code (0 ok, 1 failing cases or output that could
    not be written, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        command: Callable[[argparse.Namespace], int] = args.func
        code = command(args)
        sys.stdout.flush()  # a full disk or closed pipe shows here, not at interpreter exit
        return code
    except (_UsageError, InputError) as exc:
        return _fail(str(exc))
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt as exc:  # a command may say what it kept (sweep checkpoints)
        _silence_stdout()
        kept = str(exc.args[0]) if exc.args else "nothing written"
        print(f"{PROG}: interrupted; {kept}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and friends
        _silence_stdout()
        return 128 + 13  # as a process killed by SIGPIPE
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        _silence_stdout()
        where = f" to {exc.filename}" if exc.filename else ""
        print(
            f"{PROG}: error: the output could not be written{where}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1


_WRITE_ERRORS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS})
"""Errors that mean "could not write the output", reported in one line."""


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout closed or not a real file (tests capture it)
        pass
