"""Policy files: ``[[policies]]`` tables in TOML, or Graph JSON, validated into policies.

The TOML shape is the one scenario files use too::

    [[policies]]
    name = "iOS - Defender - strict"
    apps = ["outlook", "teams"]
    include_groups = ["all-users"]      # omitted: everyone
    exclude_groups = []
    target_management = "any"           # unmanaged | managed | any
    max_threat_level = "low"            # not_configured | secured | low | medium | high
    threat_action = "block"             # block | wipe
    recheck_after = "30m"
    checkin_interval = "30m"
    offline_block_after = "1440m"
    offline_wipe_after = "90d"

``apps = ["*"]`` (:data:`EVERY_APP`, alone) protects every app — what a Graph policy with
``appGroupType`` *all apps* means. ``max_threat_level`` omitted means not configured: no
threat-level condition, as in Intune and the Graph import.

A ``.json`` file is read as Microsoft Graph ``iosManagedAppProtection`` output
(see :mod:`simulator.policy.graph`).

**Input notes.** Where an input is valid but the documentation leaves its meaning open, the
loaders read it one documented way and say so in an :class:`InputNote` (e.g. Graph
``periodOnlineBeforeAccessCheck = "PT0S"``). Notes are not errors. Pass ``notes=[]`` to a
loader to receive that call's notes, or wrap any loading in :func:`collect_notes` to receive
every note made inside it (also by callers that pass no list, such as a scenario's
``policy_files``). The command line prints them as ``condlaunch: note: FILE: field: message``
and ``run`` records them in ``manifest.json`` under ``input_notes``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from simulator._validation import (
    Duration,
    FileModel,
    Name,
    input_error,
    parse_json,
    parse_toml,
    read_input_text,
)
from simulator.durations import format_duration
from simulator.errors import InputError
from simulator.policy.behavior import (
    DEFAULT_CHECKIN_INTERVAL,
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    DEFAULT_RECHECK_AFTER,
)
from simulator.policy.decide import Policy
from simulator.policy.levels import Action, TargetManagement, max_level_label, parse_max_level

MaxLevelName = Literal["not_configured", "secured", "low", "medium", "high"]

EVERY_APP: Final = "*"
"""The app name that means *every app* (``apps = ["*"]``; Graph ``appGroupType`` ``allApps``
and ``allMicrosoftApps``). :func:`~simulator.policy.decide.covers` honours it."""

NoteLevel = Literal["note", "warning"]


@dataclass(frozen=True, slots=True)
class InputNote:
    """How a loader read a valid input whose meaning the documentation leaves open.

    Attributes
    ----------
    source
        The file (``""`` when unknown).
    field
        The field path in it, as in errors (``value[0].periodOnlineBeforeAccessCheck``).
    message
        What was read, and why.
    level
        ``note`` (an interpretation) or ``warning`` (results may not describe this input).
    """

    source: str
    field: str
    message: str
    level: NoteLevel = "note"

    def __str__(self) -> str:
        return ": ".join(part for part in (self.source, self.field, self.message) if part)

    def as_record(self) -> dict[str, str]:
        """The note as JSON-able data (for ``manifest.json``'s ``input_notes``)."""
        return {
            "source": self.source,
            "field": self.field,
            "level": self.level,
            "message": self.message,
        }


_COLLECTORS: ContextVar[tuple[list[InputNote], ...]] = ContextVar("input_notes", default=())


@contextmanager
def collect_notes() -> Iterator[list[InputNote]]:
    """Collect every :class:`InputNote` the loaders make inside the ``with`` block.

    Example::

        with collect_notes() as notes:
            scenario = load_scenario("s.toml")   # its policy_files' notes too
    """
    notes: list[InputNote] = []
    token = _COLLECTORS.set((*_COLLECTORS.get(), notes))
    try:
        yield notes
    finally:
        _COLLECTORS.reset(token)


def add_note(notes: list[InputNote] | None, note: InputNote) -> None:
    """Hand ``note`` to the caller's list (if any) and to every active collector."""
    if notes is not None:
        notes.append(note)
    for collector in _COLLECTORS.get():
        if collector is not notes:
            collector.append(note)


RECHECK_ZERO_NOTE: Final = (
    "read as 0 minutes: every launch rechecks the access requirements (with a check-in); "
    "the Intune UI takes a positive whole number of minutes and no Microsoft page says what 0 "
    "does (docs/semantics.md 5.2)"
)


class PolicyModel(FileModel):
    """One ``[[policies]]`` table. Durations: "30m", "12h", "90d" or ISO-8601 "PT30M"."""

    name: Name = Field(description="Display name; must be unique in a file.")
    apps: list[str] = Field(
        min_length=1,
        description='Apps the policy protects, e.g. ["outlook", "teams"]; ["*"] = every app.',
    )
    include_groups: list[str] | None = Field(
        default=None, description="User groups assigned; omitted means every user."
    )
    exclude_groups: list[str] = Field(
        default_factory=list, description="User groups excluded; exclusion wins."
    )
    target_management: TargetManagement = Field(
        default=TargetManagement.ANY,
        description="Devices targeted: unmanaged, managed (an MDM passes IntuneMAMUPN) or any.",
    )
    max_threat_level: MaxLevelName = Field(
        default="not_configured",
        description="Max allowed device threat level; not_configured (the default, as in "
        "Intune) means no threat-level condition.",
    )
    threat_action: Action = Field(
        default=Action.BLOCK,
        description="Action when the device is riskier than allowed: block or wipe "
        "(warn is not valid for threat level).",
    )
    recheck_after: Duration = Field(
        default=DEFAULT_RECHECK_AFTER,
        description="Recheck the access requirements after (periodOnlineBeforeAccessCheck); "
        "0 = at every launch.",
    )
    checkin_interval: Duration = Field(
        default=DEFAULT_CHECKIN_INTERVAL,
        description="Check-in interval while the app is in use ([doc] typically 30 minutes).",
    )
    offline_block_after: Duration = Field(
        default=DEFAULT_OFFLINE_BLOCK_AFTER,
        description="Offline grace period before access is blocked "
        "(periodOfflineBeforeAccessCheck; UI default 1440 min, older docs 720).",
    )
    offline_wipe_after: Duration = Field(
        default=format_duration(DEFAULT_OFFLINE_WIPE_AFTER),
        validate_default=True,
        description="Offline grace period before data is wiped "
        "(periodOfflineBeforeWipeIsEnforced); must be longer than offline_block_after.",
    )

    jailbroken_action: Action | None = Field(
        default=None,
        description="Jailbroken/rooted devices (the Intune SDK's own check): block or wipe; "
        "omitted: not configured (Graph deviceComplianceRequired + "
        "appActionIfDeviceComplianceRequired).",
    )

    @field_validator("apps", "include_groups", "exclude_groups")
    @classmethod
    def _non_empty_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not v.strip() for v in value):
            raise ValueError("names must not be empty")
        return value

    @field_validator("apps")
    @classmethod
    def _wildcard_alone(cls, value: list[str]) -> list[str]:
        if EVERY_APP in value and len(value) > 1:
            raise ValueError(f"'{EVERY_APP}' (every app) stands alone: write apps = [\"*\"]")
        return value

    @field_validator("checkin_interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than zero")
        return value

    @field_validator("offline_wipe_after")
    @classmethod
    def _wipe_after_block(cls, value: float, info: ValidationInfo) -> float:
        # The wipe rule is checked first: a wipe period no longer than the block period
        # would hide the block rule (docs/semantics.md 5.8).
        block = info.data.get("offline_block_after")
        if block is not None and value <= block:
            raise ValueError(
                f"must be longer than offline_block_after ({format_duration(block)}): past "
                "the wipe period access is denied first, so the block period would never apply"
            )
        return value

    def to_policy(self) -> Policy:
        """The frozen domain object."""
        return Policy(
            name=self.name,
            apps=frozenset(self.apps),
            include_groups=None if self.include_groups is None else frozenset(self.include_groups),
            exclude_groups=frozenset(self.exclude_groups),
            target_management=self.target_management,
            max_threat_level=parse_max_level(self.max_threat_level),
            threat_action=self.threat_action,
            recheck_after=self.recheck_after,
            checkin_interval=self.checkin_interval,
            offline_block_after=self.offline_block_after,
            offline_wipe_after=self.offline_wipe_after,
            jailbroken_action=self.jailbroken_action,
        )

    @classmethod
    def from_policy(cls, policy: Policy) -> PolicyModel:
        """The file model of a domain policy (for writing resolved scenarios)."""
        return cls(
            name=policy.name,
            apps=sorted(policy.apps),
            include_groups=None if policy.include_groups is None else sorted(policy.include_groups),
            exclude_groups=sorted(policy.exclude_groups),
            target_management=policy.target_management,
            max_threat_level=max_level_label(policy.max_threat_level),  # type: ignore[arg-type]
            threat_action=policy.threat_action,
            recheck_after=policy.recheck_after,
            checkin_interval=policy.checkin_interval,
            offline_block_after=policy.offline_block_after,
            offline_wipe_after=policy.offline_wipe_after,
            jailbroken_action=policy.jailbroken_action,
        )


class PolicyFileModel(FileModel):
    """A policy file: one or more ``[[policies]]`` tables."""

    policies: list[PolicyModel] = Field(min_length=1)


def check_unique_names(policies: Sequence[Policy], source: str | Path | None) -> None:
    """Policy names identify policies in decisions: refuse duplicates."""
    seen: set[str] = set()
    for index, policy in enumerate(policies):
        if policy.name in seen:
            raise InputError(
                f"duplicate policy name {policy.name!r}",
                source=source,
                field=f"policies[{index}].name",
            )
        seen.add(policy.name)


def policy_model_notes(
    models: Sequence[PolicyModel], source: str | Path | None, prefix: str = "policies"
) -> list[InputNote]:
    """The notes on validated ``[[policies]]`` tables (``recheck_after = 0``)."""
    return [
        InputNote(str(source or ""), f"{prefix}[{index}].recheck_after", RECHECK_ZERO_NOTE)
        for index, model in enumerate(models)
        if model.recheck_after == 0
    ]


def policies_from_data(
    data: Any, source: str | Path | None = None, *, notes: list[InputNote] | None = None
) -> list[Policy]:
    """Validate a parsed ``{"policies": [...]}`` mapping into policies.

    Notes (see the module docstring) go to ``notes`` and any active :func:`collect_notes`.
    """
    try:
        model = PolicyFileModel.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, source) from None
    policies = [p.to_policy() for p in model.policies]
    check_unique_names(policies, source)
    for note in policy_model_notes(model.policies, source):
        add_note(notes, note)
    return policies


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O, encoding and syntax errors into :class:`InputError`."""
    return parse_toml(read_input_text(path), path)


def read_json(path: Path) -> Any:
    """Read a JSON file, turning I/O, encoding and syntax errors into :class:`InputError`."""
    return parse_json(read_input_text(path), path)


def load_policies(path: str | Path, *, notes: list[InputNote] | None = None) -> list[Policy]:
    """Load policies from a TOML policy file or a Graph JSON export.

    Notes on inputs read one documented way (module docstring) are appended to ``notes``
    and handed to any active :func:`collect_notes`.

    Raises
    ------
    InputError
        Naming the file and the field for any problem.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        from simulator.policy.graph import policies_from_graph

        data = read_json(path)
        expect_kind(data, "policies", path)
        return policies_from_graph(data, source=path, notes=notes)
    data = read_toml(path)
    expect_kind(data, "policies", path)
    return policies_from_data(data, source=path, notes=notes)


_SCENARIO_KEYS: Final = frozenset({"fleet", "script", "horizon", "seed", "threats", "apps"})
_WHAT: Final = {
    "scenario": "a scenario file; pass it as the scenario (condlaunch run FILE)",
    "policies": "a policy file; pass it with --policy (or name it in a scenario's policy_files)",
    "cases": "a case table; run it with condlaunch check FILE",
    "graph": "a Microsoft Graph policy export; pass it with --policy",
}


def file_kind(data: Any) -> str | None:
    """What a parsed input file is, from its top-level keys: ``"scenario"``,
    ``"policies"`` (TOML ``[[policies]]`` only), ``"cases"``, ``"graph"`` (a Graph
    export), or ``None`` when it is none of these recognisably."""
    if not isinstance(data, dict):
        return "graph" if isinstance(data, list) else None
    keys = set(data)
    if any(str(k).startswith("@odata") for k in keys) or "value" in keys or "displayName" in keys:
        return "graph"
    if "cases" in keys:
        return "cases"
    if keys & _SCENARIO_KEYS:
        return "scenario"
    if "policies" in keys and keys <= {"policies", "policy_files"}:
        return "policies"
    return None


def expect_kind(data: Any, expected: str, path: Path) -> None:
    """Refuse a file of another kind with a message saying what it is and where it goes."""
    kind = file_kind(data)
    if expected == "policies" and kind == "graph":
        return
    if kind is not None and kind != expected:
        raise InputError(f"this is {_WHAT[kind]}", source=path)


def expect_scenario(data: Any, path: Path) -> None:
    """:func:`_expect_kind` for a scenario file."""
    expect_kind(data, "scenario", path)


def load_policy_files(
    paths: Sequence[str | Path], *, notes: list[InputNote] | None = None
) -> list[Policy]:
    """Load several policy files in order; names must be unique across all of them.

    ``notes``: as :func:`load_policies`, for every file in order.
    """
    policies: list[Policy] = []
    for path in paths:
        policies.extend(load_policies(path, notes=notes))
    check_unique_names(policies, ", ".join(str(p) for p in paths))
    return policies


def policies_to_toml(policies: Sequence[Policy]) -> str:
    """Write policies as ``[[policies]]`` TOML (the inverse of :func:`policies_from_data`)."""
    lines: list[str] = []
    for policy in policies:
        data = PolicyModel.from_policy(policy).model_dump(mode="json")
        lines.append("[[policies]]")
        for key, value in data.items():
            if value is None:
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    """A TOML literal for a string, number, bool or list of strings (JSON-like, but with
    every control character escaped, which TOML requires and JSON does not for DEL)."""
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _toml_char(char: str) -> str:
    if char == '"':
        return '\\"'
    if char == "\\":
        return "\\\\"
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char
