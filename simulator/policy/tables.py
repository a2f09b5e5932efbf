"""Decision tables and case tables: the policy semantics laid out row by row.

Two views of the same pure function, :func:`simulator.policy.decide`:

**Decision table** — what the policies decide everywhere. :func:`decision_table` evaluates
every combination of a small, finite *condition lattice*::

    groups      "(none)", plus one representative group set per assignment pattern
    management  mdm · mam_we · emm + IntuneMAMUPN passed ("emm+upn") · emm without
    app         every app the policies name (sorted)
    defender    absent · installed · activated
    level       secured · low · medium · high           (the level the app knows)
    connector   enabled · disabled · unresponsive
    offline     online · offline_block · offline_wipe   (one per distinct period; see
                :func:`offline_buckets`)

and returns one row per combination (a tidy :class:`pandas.DataFrame`, in that nesting
order), with the decision and the behaviour parameters it was computed under. A policy
engineer reads it, diffs it against a golden copy (:func:`compare_tables`), or summarises
it (:func:`summarize_table`).

*Groups.* With no group in the context, a policy with ``include_groups`` never applies.
So when any policy names groups, the ``groups`` dimension varies over candidate
memberships — no group, each included group alone, each included group together with an
excluded group of the same policy, each excluded group alone — and keeps the first
candidate of each distinct *assignment pattern* (for every policy: included, not
included, or excluded). Every way the policies' assignments can treat a user is then shown
once, with the smallest membership that produces it. Policies without groups give the
single value ``"(none)"``.

**Case table** — what a person expects in a few chosen situations. Each row is one
evaluation context and the expected outcome (and, optionally, reason); :func:`load_cases`
reads CSV or TOML, :func:`check_cases` runs them and explains every mismatch in one
readable line. :mod:`simulator.testing` turns a case table into pytest tests.

CSV columns (a header row; lines starting with ``#`` are comments; empty cells take the
default)::

    name            optional id, shown in reports and used as the pytest id
    app             required, e.g. outlook
    management      required: mdm | mam_we | emm
    passes_upn      true | false: the MDM passes IntuneMAMUPN (default true for mdm, false
                    for emm; ignored for mam_we); ``emm_passes_upn`` is accepted too
    groups          the user's groups, comma or semicolon separated (default none)
    defender        absent | installed | activated (default activated)
    level           required: the level the app knows, secured | low | medium | high
    level_age       how old that level is, e.g. 42m (optional; only used in explanations)
    connector       enabled | disabled | unresponsive (default enabled)
    offline         time offline since the last check-in, e.g. 13h (default 0 = online)
    checked_in      false: the app has never checked in (default true)
    jailbroken      true: the Intune SDK detects a jailbreak (default false)
    reauth          not_required | succeeded | failed: back online after the offline wipe
                    period (default not_required)
    expect_outcome  required: allow | block | wipe
    expect_reason   optional, e.g. threat_level_exceeded

A TOML case file has ``[[cases]]`` tables with the same keys, and may name the policies
(``policy_files = [...]``, relative to the case file) and the behaviour parameters
(``[behavior]``: the decision's behaviour parameters, e.g. ``connector_off_behavior``,
``offline_wipe``).
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, NamedTuple

import pandas as pd
from pydantic import BeforeValidator, Field, ValidationError, field_validator

from simulator._validation import Duration, FileModel, input_error, read_input_text
from simulator.durations import Minutes, format_duration, humanize_minutes
from simulator.errors import InputError
from simulator.policy.behavior import (
    Behavior,
    OfflineWipe,
    decision_fields,
    decision_parameters,
)
from simulator.policy.decide import Decision, EvaluationContext, Policy, covers, decide
from simulator.policy.files import expect_kind, load_policy_files, read_toml
from simulator.policy.levels import (
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    Reauth,
    ThreatLevel,
)

# --------------------------------------------------------------------------- decision tables

NO_GROUPS: Final = "(none)"
"""How tables spell a user in no group."""

_DEFAULT_BEHAVIOR: Final = Behavior()

JUST_PAST: Final[Minutes] = 1.0
"""How far past a grace period the offline buckets sit, minutes."""

MANAGEMENT_VARIANTS: Final[tuple[tuple[Management, bool], ...]] = (
    (Management.MDM, True),
    (Management.MDM, False),
    (Management.MAM_WE, False),
    (Management.EMM, True),
    (Management.EMM, False),
)
"""The management dimension: (management, passes_upn). An MDM passes ``IntuneMAMUPN`` to
the app when the admin deploys that app configuration (Intune MDM: usually; a third-party
EMM: sometimes); an unenrolled (mam_we) device never has an MDM to pass it."""

_DEVICE_LABELS: Final = ("mdm+upn", "mdm", "mam_we", "emm+upn", "emm")
"""How summaries name the management variants (``+upn``: the MDM passes IntuneMAMUPN)."""

CONTEXT_COLUMNS: Final = (
    "groups",
    "management",
    "passes_upn",
    "app_sees_managed",
    "app",
    "defender",
    "level",
    "connector",
    "jailbroken",
    "offline",
    "offline_min",
)
"""Columns describing the evaluation context (``app_sees_managed`` is derived)."""

DECISION_COLUMNS: Final = ("targeted", "outcome", "reason", "policies", "explanation")
"""Columns describing the decision."""

BEHAVIOR_COLUMNS: Final = tuple(p.name for p in decision_parameters())
"""The behaviour parameters the table was computed under (constant within one table)."""

TABLE_COLUMNS: Final = CONTEXT_COLUMNS + DECISION_COLUMNS + BEHAVIOR_COLUMNS

_KEY_COLUMNS: Final = (
    "groups",
    "management",
    "passes_upn",
    "app",
    "defender",
    "level",
    "connector",
    "jailbroken",
    "offline",
)
"""Columns identifying a row of a decision table."""

DIMENSIONS: Final = (
    "groups",
    "management",
    "app",
    "defender",
    "level",
    "connector",
    "jailbroken",
    "offline",
)
"""The lattice dimensions, outermost first (``management`` includes the UPN variant;
``jailbroken`` takes both values only when a policy configures *Jailbroken/rooted
devices*)."""


class OfflineBucket(NamedTuple):
    """One value of the offline dimension: a name, the minutes offline it stands for, and
    for the buckets after reconnection, the re-authentication outcome."""

    name: str
    minutes: Minutes
    reauth: Reauth = Reauth.NOT_REQUIRED
    checked_in: bool = True


def offline_buckets(
    policies: Sequence[Policy], behavior: Behavior = _DEFAULT_BEHAVIOR
) -> tuple[OfflineBucket, ...]:
    """The offline dimension of a decision table, derived from the policies' periods.

    ``online`` is 0 min; ``offline_block`` is :data:`JUST_PAST` past the offline block
    period; ``offline_wipe`` the same past the offline wipe period. When the policies'
    periods differ, there is one bucket per distinct period, named with it
    (``offline_block_12h``, ``offline_block_1d``), so that every policy's grace period
    shows in the table. A bucket names the minutes offline; the ``outcome`` column says
    what happens then (a user covered only by a policy with a longer period is still
    allowed in the shorter period's bucket).

    Two more buckets always: ``offline_first_use`` (:data:`JUST_PAST` offline before the
    app's first check-in); and with ``offline_wipe = on_failed_reauth``, two buckets back
    online after the wipe period: ``reauth_ok`` and ``reauth_failed``.
    """
    if not policies:
        raise ValueError("offline_buckets() needs at least one policy")
    buckets = [OfflineBucket("online", 0.0)]
    buckets.append(OfflineBucket("offline_first_use", JUST_PAST, checked_in=False))
    for name, periods in (
        ("offline_block", {p.offline_block_after for p in policies}),
        ("offline_wipe", {p.offline_wipe_after for p in policies}),
    ):
        for period in sorted(periods):
            label = name if len(periods) == 1 else f"{name}_{format_duration(period)}"
            buckets.append(OfflineBucket(label, period + JUST_PAST))
    if behavior.offline_wipe is OfflineWipe.ON_FAILED_REAUTH:
        buckets.append(OfflineBucket("reauth_ok", 0.0, Reauth.SUCCEEDED))
        buckets.append(OfflineBucket("reauth_failed", 0.0, Reauth.FAILED))
    return tuple(buckets)


def _assignment(policy: Policy, groups: frozenset[str]) -> str:
    if policy.exclude_groups & groups:
        return "excluded"
    if policy.include_groups is not None and not (policy.include_groups & groups):
        return "not_included"
    return "included"


def group_variants(policies: Sequence[Policy]) -> tuple[frozenset[str], ...]:
    """The ``groups`` dimension: one membership per distinct assignment pattern.

    Candidates, in order: no group; each included group alone; each included group with
    each excluded group of the same policy; each excluded group alone. A candidate is kept
    when its pattern (per policy: included, not included or excluded) is new.
    """
    if not any(p.include_groups is not None or p.exclude_groups for p in policies):
        return (frozenset(),)
    candidates: list[frozenset[str]] = [frozenset()]
    for p in policies:
        candidates.extend(frozenset({g}) for g in sorted(p.include_groups or ()))
    for p in policies:
        for g in sorted(p.include_groups or ()):
            candidates.extend(frozenset({g, x}) for x in sorted(p.exclude_groups))
    for p in policies:
        candidates.extend(frozenset({x}) for x in sorted(p.exclude_groups))
    seen: set[tuple[str, ...]] = set()
    variants: list[frozenset[str]] = []
    for groups in candidates:
        pattern = tuple(_assignment(p, groups) for p in policies)
        if pattern not in seen:
            seen.add(pattern)
            variants.append(groups)
    return tuple(variants)


def groups_label(groups: Collection[str]) -> str:
    """``"a; b"`` (sorted), or ``"(none)"`` for no group."""
    return "; ".join(sorted(groups)) if groups else NO_GROUPS


def behavior_fields(behavior: Behavior) -> dict[str, str]:
    """The decision's behaviour parameters as ``{name: value}``, in :data:`BEHAVIOR_COLUMNS`
    order."""
    return decision_fields(behavior)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def decision_table(
    policies: Sequence[Policy],
    behavior: Behavior = _DEFAULT_BEHAVIOR,
    *,
    apps: Iterable[str] | None = None,
    groups: Iterable[Collection[str]] | None = None,
) -> pd.DataFrame:
    """Decide every combination of the condition lattice (see the module docstring).

    Parameters
    ----------
    policies
        The policies in force, in file order (order matters for ``first_listed``).
    behavior
        The behaviour parameters; echoed in the table's last columns.
    apps
        Apps to vary over (in the order given); default: every app a policy names, sorted.
    groups
        Group memberships to vary over (each a collection of group names; empty means no
        group); default: :func:`group_variants`.

    Returns
    -------
    pandas.DataFrame
        One row per combination, columns :data:`TABLE_COLUMNS`, rows in lattice order
        (:data:`DIMENSIONS`, outermost first). ``offline_min`` is in minutes.
    """
    policies = tuple(policies)
    if not policies:
        raise ValueError("decision_table() needs at least one policy")
    app_values = (
        _unique(apps) if apps is not None else sorted(set().union(*(p.apps for p in policies)))
    )
    group_values = (
        tuple(dict.fromkeys(frozenset(g) for g in groups))
        if groups is not None
        else group_variants(policies)
    )
    echo = behavior_fields(behavior)
    jailbroken = (False, True) if any(p.jailbroken_action for p in policies) else (False,)
    lattice = itertools.product(
        group_values,
        MANAGEMENT_VARIANTS,
        app_values,
        DefenderState,
        ThreatLevel,
        ConnectorState,
        jailbroken,
        offline_buckets(policies, behavior),
    )
    rows: list[dict[str, object]] = []
    for member_of, (management, upn), app, defender, level, connector, jb, bucket in lattice:
        context = upn_context(
            EvaluationContext(
                app=app,
                management=management,
                groups=member_of,
                defender=defender,
                known_level=level,
                connector=connector,
                offline_min=bucket.minutes,
                checked_in=bucket.checked_in,
                jailbroken=jb,
                reauth=bucket.reauth,
            ),
            upn,
        )
        decision = decide(policies, context, behavior)
        rows.append(
            {
                "groups": groups_label(member_of),
                "management": management.value,
                "passes_upn": upn,
                "app_sees_managed": context.app_sees_managed,
                "app": app,
                "defender": defender.value,
                "level": level.label,
                "connector": connector.value,
                "jailbroken": jb,
                "offline": bucket.name,
                "offline_min": bucket.minutes,
                "targeted": any(covers(p, context) for p in policies),
                "outcome": decision.outcome.value,
                "reason": decision.reason.value,
                "policies": "; ".join(decision.policies),
                "explanation": decision.explanation,
                **echo,
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def table_to_csv(table: pd.DataFrame) -> str:
    """The table as CSV text with ``\\n`` line ends (the format of golden files)."""
    return table.to_csv(index=False, lineterminator="\n")


def upn_context(context: EvaluationContext, passes_upn: bool) -> EvaluationContext:
    """``context`` with its MDM's ``IntuneMAMUPN`` set for its management set-up."""
    if context.management is Management.MDM:
        return context._replace(mdm_passes_upn=passes_upn)
    if context.management is Management.EMM:
        return context._replace(emm_passes_upn=passes_upn)
    return context


def _device(table: pd.DataFrame) -> pd.Series[str]:
    """``management``, with mdm and emm split into ``+upn`` (passes IntuneMAMUPN) and not."""
    upn = table["passes_upn"].astype(str).str.lower().eq("true")
    has_mdm = table["management"].isin([Management.MDM.value, Management.EMM.value])
    management = table["management"].astype(str)
    return management.where(~(has_mdm & upn), management + "+upn")


def _dimension_frame(table: pd.DataFrame) -> pd.DataFrame:
    frame = table[list(DIMENSIONS)].astype(str)
    frame["management"] = _device(table)
    return frame


def lattice_shape(table: pd.DataFrame) -> dict[str, int]:
    """Number of distinct values per dimension (``{"groups": 1, "management": 4, …}``)."""
    frame = _dimension_frame(table)
    return {dim: int(frame[dim].nunique()) for dim in DIMENSIONS}


def summarize_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (outcome, reason): row counts by management, and when it happens.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``reason``, one count column per management variant
        (:data:`_DEVICE_LABELS` — those present), ``total``, ``when``
        and ``exact``. ``when`` lists, for each dimension that does not take all its
        values, the values it takes (``"level=low,medium,high · connector=enabled"``);
        ``exact`` is true when those rows are exactly the combinations ``when`` describes
        (otherwise ``when`` over-approximates them). Rows ordered allow < block < wipe,
        then by :class:`~simulator.policy.Reason` order.
    """
    dims = _dimension_frame(table)
    universe = {dim: _unique(dims[dim]) for dim in DIMENSIONS}
    devices = [label for label in _DEVICE_LABELS if label in universe["management"]]
    reason_order = {r.value: i for i, r in enumerate(Reason)}
    outcome_rank = {o.value: o.rank for o in Outcome}
    keys = table[["outcome", "reason"]].astype(str).drop_duplicates()
    ordered = sorted(
        keys.itertuples(index=False, name=None),
        key=lambda k: (outcome_rank.get(k[0], 9), reason_order.get(k[1], 99), k),
    )
    rows: list[dict[str, object]] = []
    for outcome, reason in ordered:
        mask = table["outcome"].astype(str).eq(outcome) & table["reason"].astype(str).eq(reason)
        sub = dims[mask]
        row: dict[str, object] = {"outcome": outcome, "reason": reason}
        for device in devices:
            row[device] = int(sub["management"].eq(device).sum())
        row["total"] = len(sub)
        parts: list[str] = []
        combinations = 1
        for dim in DIMENSIONS:
            present = set(sub[dim])
            combinations *= len(present)
            if len(present) < len(universe[dim]):
                values = [v for v in universe[dim] if v in present]
                parts.append(f"{dim}=" + ",".join(values))
        row["when"] = " · ".join(parts) if parts else "always"
        row["exact"] = combinations == len(sub)
        rows.append(row)
    return pd.DataFrame(rows, columns=["outcome", "reason", *devices, "total", "when", "exact"])


def _as_text(table: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(table_to_csv(table)), dtype=str, keep_default_na=False)


def compare_tables(expected: pd.DataFrame, actual: pd.DataFrame, *, limit: int = 10) -> str:
    """Explain how two decision tables differ, or return ``""`` when they are equal.

    Values are compared as their CSV text, so a table read back from a golden CSV compares
    equal to the table it was written from. Rows are matched on the lattice dimensions, so
    a changed grace period shows as changed ``offline_min`` values, not as new rows.

    Parameters
    ----------
    expected, actual
        Decision tables (from :func:`decision_table` or read from CSV).
    limit
        How many differing rows to list.
    """
    exp, act = _as_text(expected), _as_text(actual)
    if list(exp.columns) != list(act.columns):
        return f"columns differ: expected {list(exp.columns)}, got {list(act.columns)}"
    keys = [c for c in _KEY_COLUMNS if c in exp.columns]
    values = [c for c in exp.columns if c not in keys]
    merged = exp.merge(act, on=keys, how="outer", suffixes=("~exp", "~act"), indicator=True)
    both = merged["_merge"] == "both"
    differs = ~both
    for column in values:
        differs |= both & (merged[column + "~exp"] != merged[column + "~act"])
    lines: list[str] = []
    for _, row in merged[differs].iterrows():
        where = " ".join(f"{k}={row[k]}" for k in keys)
        if row["_merge"] == "left_only":
            lines.append(f"  missing  {where}")
        elif row["_merge"] == "right_only":
            lines.append(f"  new      {where}")
        else:
            changed = [
                f"{c}: {row[c + '~exp']!r} → {row[c + '~act']!r}"
                for c in values
                if row[c + "~exp"] != row[c + "~act"]
            ]
            lines.append(f"  changed  {where}\n           " + "\n           ".join(changed))
    if not lines:
        if not exp.equals(act):
            return "same rows, in a different order"
        return ""
    shown = lines[:limit]
    more = len(lines) - len(shown)
    head = f"{len(lines)} of {max(len(exp), len(act))} rows differ (expected → actual):"
    tail = [f"  … and {more} more"] if more else []
    return "\n".join([head, *shown, *tail])


# ------------------------------------------------------------------------------ case tables

LevelName = Literal["secured", "low", "medium", "high"]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _group_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", NO_GROUPS):
            return []
        return [g.strip() for g in re.split(r"[,;]", text) if g.strip()]
    return value


_Lower = BeforeValidator(_lower)


class CaseModel(FileModel):
    """One case: an evaluation context and the expected decision."""

    name: str | None = Field(default=None, description="Optional id (pytest id, reports).")
    app: str = Field(min_length=1, description="The app evaluated, e.g. outlook.")
    management: Annotated[Management, _Lower] = Field(description="mdm, mam_we or emm.")
    passes_upn: bool | None = Field(
        default=None,
        description="mdm/emm: the MDM passes IntuneMAMUPN to the app (default: true for "
        "mdm, false for emm).",
    )
    emm_passes_upn: bool | None = Field(
        default=None, description="Older name of passes_upn, for emm devices."
    )
    groups: Annotated[list[str], BeforeValidator(_group_list)] = Field(
        default_factory=list, description="The user's groups (comma or semicolon separated)."
    )
    defender: Annotated[DefenderState, _Lower] = Field(
        default=DefenderState.ACTIVATED, description="absent, installed or activated."
    )
    level: Annotated[LevelName, _Lower] = Field(description="The threat level the app knows.")
    level_age: Duration | None = Field(
        default=None, description="How long ago the app fetched that level (explanations only)."
    )
    connector: Annotated[ConnectorState, _Lower] = Field(
        default=ConnectorState.ENABLED, description="enabled, disabled or unresponsive."
    )
    offline: Duration = Field(default=0.0, description="Time offline; 0 means online.")
    checked_in: bool = Field(
        default=True, description="false: the app has never checked in (first use)."
    )
    jailbroken: bool = Field(
        default=False, description="The Intune SDK detects a jailbreak on the device."
    )
    reauth: Annotated[Reauth, _Lower] = Field(
        default=Reauth.NOT_REQUIRED,
        description="Back online after the offline wipe period: succeeded or failed.",
    )
    expect_outcome: Annotated[Outcome, _Lower] = Field(description="allow, block or wipe.")
    expect_reason: Annotated[Reason, _Lower] | None = Field(
        default=None, description="Optional expected reason, e.g. threat_level_exceeded."
    )

    @field_validator("expect_reason")
    @classmethod
    def _decidable(cls, value: Reason | None) -> Reason | None:
        if value in (Reason.PREVIOUS_ALLOW, Reason.PREVIOUS_DENIAL):
            raise ValueError(f"{value} comes from the engine; decide() never returns it")
        return value

    def to_case(self, where: str, source: Path) -> Case:
        """The frozen case."""
        upn = self.passes_upn
        if upn is None and self.management is Management.EMM:
            # The older column speaks of emm devices only (ignored for mdm, as it was).
            upn = self.emm_passes_upn
        if upn is None:
            upn = self.management is Management.MDM
        context = upn_context(
            EvaluationContext(
                app=self.app.strip(),
                management=self.management,
                groups=frozenset(g.strip() for g in self.groups),
                defender=self.defender,
                known_level=ThreatLevel.parse(self.level),
                known_level_age_min=self.level_age,
                connector=self.connector,
                offline_min=self.offline,
                checked_in=self.checked_in,
                jailbroken=self.jailbroken,
                reauth=self.reauth,
            ),
            upn,
        )
        return Case(
            context=context,
            expect_outcome=self.expect_outcome,
            expect_reason=self.expect_reason,
            name=self.name.strip() if self.name and self.name.strip() else None,
            where=where,
            source=str(source),
        )


class _CaseFileModel(FileModel):
    """A TOML case file."""

    policy_files: list[str] = Field(default_factory=list)
    behavior: Behavior = Field(default_factory=Behavior)
    cases: list[CaseModel] = Field(min_length=1)

    @field_validator("behavior", mode="before")
    @classmethod
    def _lower_values(cls, value: Any) -> Any:
        """Enumerated values are case-insensitive, as in the CSV columns."""
        if isinstance(value, dict):
            return {k: _lower(v) for k, v in value.items()}
        return value


CASE_COLUMNS: Final = tuple(CaseModel.model_fields)
"""The columns (CSV) or keys (TOML) of a case."""

REQUIRED_CASE_COLUMNS: Final = tuple(
    n for n, f in CaseModel.model_fields.items() if f.is_required()
)


@dataclass(frozen=True, slots=True)
class Case:
    """One row of a case table.

    Attributes
    ----------
    context
        The evaluation context.
    expect_outcome, expect_reason
        The expected decision (``expect_reason`` ``None``: any reason).
    name
        The row's name, if it has one.
    where
        Its location: ``"row 4"`` (CSV line number) or ``"cases[3]"`` (TOML).
    source
        The case file.
    """

    context: EvaluationContext
    expect_outcome: Outcome
    expect_reason: Reason | None = None
    name: str | None = None
    where: str = ""
    source: str | None = None

    @property
    def id(self) -> str:
        """The name, or the location as an id (``"row-4"``, ``"cases-3"``)."""
        return self.name or re.sub(r"\W+", "-", self.where).strip("-") or "case"

    @property
    def label(self) -> str:
        """``row 4 "jailbroken mam_we"`` (or just ``row 4``)."""
        return f'{self.where} "{self.name}"' if self.name else self.where or "case"

    @property
    def expected(self) -> str:
        """``wipe/threat_level_exceeded`` (or just ``wipe``)."""
        if self.expect_reason is None:
            return self.expect_outcome.value
        return f"{self.expect_outcome.value}/{self.expect_reason.value}"


@dataclass(frozen=True, slots=True)
class CaseTable:
    """A loaded case table: the cases, and the policies and behaviour it names (if any)."""

    source: Path
    cases: tuple[Case, ...]
    policy_files: tuple[Path, ...] = ()
    behavior: Behavior = _DEFAULT_BEHAVIOR


def describe_context(context: EvaluationContext) -> str:
    """One line: ``outlook · mam_we (unmanaged) · groups (none) · Defender activated · …``."""
    seen = "managed" if context.app_sees_managed else "unmanaged"
    management = context.management.value
    if context.management is Management.EMM:
        management += " with UPN" if context.emm_passes_upn else " without UPN"
    elif context.management is Management.MDM and not context.mdm_passes_upn:
        management += " without UPN"
    age = (
        ""
        if context.known_level_age_min is None
        else f" ({humanize_minutes(context.known_level_age_min)} ago)"
    )
    offline = (
        "online" if context.offline_min <= 0 else f"offline {humanize_minutes(context.offline_min)}"
    )
    if not context.checked_in:
        offline += " (never checked in)"
    extra = " · SDK sees a jailbreak" if context.jailbroken else ""
    if context.reauth is not Reauth.NOT_REQUIRED:
        extra += f" · re-authentication {context.reauth.value}"
    return (
        f"{context.app} · {management} ({seen}) · groups {groups_label(context.groups)} · "
        f"Defender {context.defender.value} · knew {context.known_level.label}{age} · "
        f"connector {context.connector.value} · {offline}{extra}"
    )


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of checking one case.

    Attributes
    ----------
    case
        The case.
    decision
        What :func:`~simulator.policy.decide` returned.
    passed
        Whether the decision matches the expected outcome (and reason, if given).
    """

    case: Case
    decision: Decision
    passed: bool

    @property
    def got(self) -> str:
        """``block/threat_level_exceeded``."""
        return f"{self.decision.outcome.value}/{self.decision.reason.value}"

    @property
    def diff(self) -> str:
        """A readable mismatch (two lines: verdict, then context), or ``""`` when passed."""
        if self.passed:
            return ""
        return (
            f"{self.case.label}: expected {self.case.expected}, got {self.got} — "
            f"{self.decision.explanation}\n    context: {describe_context(self.case.context)}"
        )


def check_case(
    policies: Sequence[Policy], case: Case, behavior: Behavior = _DEFAULT_BEHAVIOR
) -> CaseResult:
    """Decide one case and compare with its expectation."""
    decision = decide(policies, case.context, behavior)
    passed = decision.outcome is case.expect_outcome and (
        case.expect_reason is None or decision.reason is case.expect_reason
    )
    return CaseResult(case, decision, passed)


def check_cases(
    policies: Sequence[Policy], cases: Iterable[Case], behavior: Behavior = _DEFAULT_BEHAVIOR
) -> list[CaseResult]:
    """Decide every case; one :class:`CaseResult` per case, in order."""
    return [check_case(policies, case, behavior) for case in cases]


def load_cases(path: str | Path) -> CaseTable:
    """Load a case table from ``.csv`` or ``.toml`` (see the module docstring).

    Raises
    ------
    InputError
        Naming the file, the row (CSV ``row 3`` = line 3; TOML ``cases[2]``) and the column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = CaseTable(source=path, cases=_read_case_csv(path))
    elif suffix == ".toml":
        table = _read_case_toml(path)
    else:
        raise InputError("expected a .csv or .toml case table", source=path)
    _check_unique_names(table)
    return table


def case_policies(
    table: CaseTable, policy_files: Sequence[str | Path] | None = None
) -> list[Policy]:
    """The policies a case table runs against.

    ``policy_files``, when given and non-empty, replace the files the table names; this
    lets the same cases run against a candidate policy.
    """
    paths: Sequence[str | Path] = policy_files or table.policy_files
    if not paths:
        raise InputError(
            "no policies to check against: pass --policy FILE, or list policy_files in a "
            "TOML case table",
            source=table.source,
        )
    return load_policy_files(paths)


def _check_unique_names(table: CaseTable) -> None:
    seen: dict[str, str] = {}
    for case in table.cases:
        if case.name is None:
            continue
        if case.name in seen:
            field = (
                f"{case.where}, column name"
                if case.where.startswith("row")
                else f"{case.where}.name"
            )
            raise InputError(
                f"duplicate case name {case.name!r} (also {seen[case.name]})",
                source=table.source,
                field=field,
            )
        seen[case.name] = case.where


def _read_text(path: Path) -> str:
    return read_input_text(path)


def _check_header(header: list[str], line: int, path: Path) -> None:
    where = f"row {line}"
    for index, column in enumerate(header):
        if column in header[:index]:
            raise InputError(f"column {column!r} appears twice", source=path, field=where)
        if column not in CASE_COLUMNS:
            missing_first = [c for c in REQUIRED_CASE_COLUMNS if c not in header]
            close = difflib.get_close_matches(column, missing_first, n=1) or (
                difflib.get_close_matches(column, CASE_COLUMNS, n=1)
            )
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"unknown column {column!r}; {hint}columns are: " + ", ".join(CASE_COLUMNS),
                source=path,
                field=where,
            )
    missing = [c for c in REQUIRED_CASE_COLUMNS if c not in header]
    if missing:
        raise InputError(
            "missing required column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            source=path,
            field=where,
        )


def _read_case_csv(path: Path) -> tuple[Case, ...]:
    text = _read_text(path)
    # Comment lines become empty lines, so line numbers stay those of the file.
    lines = [
        "\n" if line.lstrip().startswith("#") else line for line in text.splitlines(keepends=True)
    ]
    reader = csv.reader(lines)
    header: list[str] | None = None
    cases: list[Case] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                _check_header(header, line, path)
                continue
            if len(cells) > len(header):
                raise InputError(
                    f"{len(cells)} cells but the header has {len(header)} columns",
                    source=path,
                    field=f"row {line}",
                )
            data = {
                col: cell.strip() for col, cell in zip(header, cells, strict=False) if cell.strip()
            }
            try:
                model = CaseModel.model_validate(data)
            except ValidationError as exc:
                error = input_error(exc, None)
                column = f"row {line}, column {error.field}" if error.field else f"row {line}"
                raise InputError(error.message, source=path, field=column) from None
            cases.append(model.to_case(where=f"row {line}", source=path))
    except csv.Error as exc:
        raise InputError(
            f"not valid CSV: {exc}", source=path, field=f"row {reader.line_num}"
        ) from None
    if not cases:
        raise InputError("no cases: expected a header row and at least one case row", source=path)
    return tuple(cases)


def _read_case_toml(path: Path) -> CaseTable:
    data = read_toml(path)
    expect_kind(data, "cases", path)
    try:
        model = _CaseFileModel.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, path) from None
    return CaseTable(
        source=path,
        cases=tuple(m.to_case(where=f"cases[{i}]", source=path) for i, m in enumerate(model.cases)),
        policy_files=tuple(Path(os.path.normpath(path.parent / p)) for p in model.policy_files),
        behavior=model.behavior,
    )
