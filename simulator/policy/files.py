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

A ``.json`` file is read as Microsoft Graph ``iosManagedAppProtection`` output
(see :mod:`simulator.policy.graph`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from simulator._validation import Duration, FileModel, input_error
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


class PolicyModel(FileModel):
    """One ``[[policies]]`` table. Durations: "30m", "12h", "90d" or ISO-8601 "PT30M"."""

    name: str = Field(min_length=1, description="Display name; must be unique in a file.")
    apps: list[str] = Field(
        min_length=1, description='Apps the policy protects, e.g. ["outlook", "teams"].'
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
        default="secured",
        description="Max allowed device threat level; not_configured turns the check off.",
    )
    threat_action: Action = Field(
        default=Action.BLOCK,
        description="Action when the device is riskier than allowed: block or wipe "
        "(warn is not valid for threat level).",
    )
    recheck_after: Duration = Field(
        default=DEFAULT_RECHECK_AFTER,
        description="Recheck the access requirements after (periodOnlineBeforeAccessCheck).",
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
        default=DEFAULT_OFFLINE_WIPE_AFTER,
        description="Offline grace period before data is wiped "
        "(periodOfflineBeforeWipeIsEnforced).",
    )

    @field_validator("apps", "include_groups", "exclude_groups")
    @classmethod
    def _non_empty_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not v.strip() for v in value):
            raise ValueError("names must not be empty")
        return value

    @field_validator("checkin_interval", "recheck_after")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than zero")
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


def policies_from_data(data: Any, source: str | Path | None = None) -> list[Policy]:
    """Validate a parsed ``{"policies": [...]}`` mapping into policies."""
    try:
        model = PolicyFileModel.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, source) from None
    policies = [p.to_policy() for p in model.policies]
    check_unique_names(policies, source)
    return policies


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O and syntax errors into :class:`InputError`."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", source=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=path) from None


def read_json(path: Path) -> Any:
    """Read a JSON file, turning I/O and syntax errors into :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=path
        ) from None


def load_policies(path: str | Path) -> list[Policy]:
    """Load policies from a TOML policy file or a Graph JSON export.

    Raises
    ------
    InputError
        Naming the file and the field for any problem.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        from simulator.policy.graph import policies_from_graph

        return policies_from_graph(read_json(path), source=path)
    return policies_from_data(read_toml(path), source=path)


def load_policy_files(paths: Sequence[str | Path]) -> list[Policy]:
    """Load several policy files in order; names must be unique across all of them."""
    policies: list[Policy] = []
    for path in paths:
        policies.extend(load_policies(path))
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
