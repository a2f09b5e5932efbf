"""Microsoft Graph import and export of iOS app protection policies.

Intune stores an iOS app protection policy as a Graph (beta) ``iosManagedAppProtection``
object. Administrators export them with ``GET /deviceAppManagement/iosManagedAppProtections``
(optionally ``?$expand=apps,assignments``); this module turns such an export into the
:class:`~simulator.policy.Policy` objects the simulator evaluates, and writes policies back
in the same shape.

Only the settings conditional launch on device threat level uses are read::

    Graph property                          Policy field
    displayName                             name
    maximumAllowedDeviceThreatLevel         max_threat_level   (notConfigured -> None)
    mobileThreatDefenseRemediationAction    threat_action      (block | wipe;
                                                blockWhenSettingIsSupported -> block, noted)
    mobileThreatDefensePartnerPriority      (none: thirdPartyPartnerOverDefender is a warning)
    periodOnlineBeforeAccessCheck           recheck_after      (ISO-8601, e.g. PT30M;
                                                PT0S -> 0 = every launch, noted)
    periodOfflineBeforeAccessCheck          offline_block_after
    periodOfflineBeforeWipeIsEnforced       offline_wipe_after (longer than the block period)
    targetedAppManagementLevels             target_management  (flags: unmanaged, mdm)
    appGroupType + apps[]                   apps               (see below)
    assignments[].target                    include_groups / exclude_groups

``appGroupType`` decides the apps: ``selectedPublicApps`` (Graph's default) — the listed
``apps[].mobileAppIdentifier.bundleId`` (well-known IDs -> short names, others kept);
``allCoreMicrosoftApps`` — the eleven core apps (:data:`CORE_MICROSOFT_APPS`);
``allApps`` and ``allMicrosoftApps`` — every app (:data:`~simulator.policy.files.EVERY_APP`,
``"*"``; for ``allMicrosoftApps`` this assumes every scenario app is a Microsoft app, and a
note says so). Exports write ``"*"`` as ``allApps`` and the exact core set as
``allCoreMicrosoftApps``, so an import of an export gives the same policies.

Every other Graph property (``pinRequired``, ``minimumRequiredOsVersion`` and dozens more)
is ignored: they do not affect the threat-level decision. A modelled property with a wrong
type or value is an :class:`~simulator.errors.InputError` naming the file and the JSON path
(``value[0].mobileThreatDefenseRemediationAction``). In a ``managedAppPolicies`` collection,
Android and Windows objects (:data:`OTHER_PLATFORM_TYPES`) are skipped with one note; a file
with no iOS policy left is an error. Readings the documentation leaves open are reported as
:class:`~simulator.policy.files.InputNote` (docs/semantics.md 2.2, 5.2, 6). ``checkin_interval``
is service behaviour, not a Graph property: imports keep its default and exports drop it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from simulator._validation import Name, input_error
from simulator.durations import DurationError, format_iso_duration, parse_duration
from simulator.errors import InputError
from simulator.policy.behavior import (
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    DEFAULT_RECHECK_AFTER,
)
from simulator.policy.decide import Policy
from simulator.policy.files import (
    EVERY_APP,
    RECHECK_ZERO_NOTE,
    InputNote,
    NoteLevel,
    add_note,
)
from simulator.policy.levels import Action, TargetManagement, ThreatLevel

POLICY_TYPE: Final = "#microsoft.graph.iosManagedAppProtection"
APP_IDENTIFIER_TYPE: Final = "#microsoft.graph.iosMobileAppIdentifier"
GROUP_TARGET: Final = "#microsoft.graph.groupAssignmentTarget"
EXCLUSION_TARGET: Final = "#microsoft.graph.exclusionGroupAssignmentTarget"
ALL_USERS_TARGET: Final = "#microsoft.graph.allLicensedUsersAssignmentTarget"

BUNDLE_IDS: Final[dict[str, str]] = {
    "outlook": "com.microsoft.Office.Outlook",
    "teams": "com.microsoft.skype.teams",
    "onedrive": "com.microsoft.skydrive",
    "edge": "com.microsoft.msedge",
    "word": "com.microsoft.Office.Word",
    "excel": "com.microsoft.Office.Excel",
    "powerpoint": "com.microsoft.Office.Powerpoint",
    "m365": "com.microsoft.officemobile",
    "sharepoint": "com.microsoft.sharepoint",
    "onenote": "com.microsoft.onenote",
    "todo": "com.microsoft.to-do",
}
"""Short app name -> iOS bundle ID of the well-known Microsoft apps.

Matching on import ignores case: Graph returns bundle IDs lower-cased
(``com.microsoft.office.outlook``). Any other bundle ID is kept as the app name.
"""

_APP_BY_BUNDLE: Final = {bundle.casefold(): app for app, bundle in BUNDLE_IDS.items()}

CORE_MICROSOFT_APPS: Final = frozenset(
    {"edge", "excel", "m365", "onedrive", "onenote", "outlook", "powerpoint", "sharepoint"}
    | {"teams", "todo", "word"}
)
"""``appGroupType = allCoreMicrosoftApps``: "Microsoft Edge, Excel, Office, OneDrive,
OneNote, Outlook, PowerPoint, SharePoint, Teams, To Do, and Word" ([S5]; bundle IDs from
Microsoft's iOS framework templates, docs/fidelity-research.md (c)). Office is ``m365``."""

DEFAULT_APPS: Final = CORE_MICROSOFT_APPS
"""Apps of a ``selectedPublicApps`` policy exported without ``apps`` (no ``$expand=apps``):
assumed to be the core apps, with a note. Export with ``$expand=apps`` for the real list."""

OTHER_PLATFORM_TYPES: Final = (
    "#microsoft.graph.androidManagedAppProtection",
    "#microsoft.graph.windowsManagedAppProtection",
    "#microsoft.graph.mdmWindowsInformationProtectionPolicy",
    "#microsoft.graph.windowsInformationProtectionPolicy",
    "#microsoft.graph.targetedManagedAppConfiguration",
)
"""``managedAppPolicies`` members that are not iOS app protection (Android, Windows, and app
configuration policies): skipped, with one note counting them."""
_OTHER_PLATFORMS: Final = {t.casefold(): t for t in OTHER_PLATFORM_TYPES}

_APP_GROUPS: Final = {
    "selectedpublicapps": "selectedPublicApps",
    "allcoremicrosoftapps": "allCoreMicrosoftApps",
    "allmicrosoftapps": "allMicrosoftApps",
    "allapps": "allApps",
}
_PARTNER_PRIORITIES: Final = ("defenderoverthirdpartypartner", "thirdpartypartneroverdefender")

_THREAT_LEVELS: Final = ("notConfigured", "secured", "low", "medium", "high")
_MANAGEMENT_FLAGS: Final = {
    "unmanaged": TargetManagement.UNMANAGED,
    "mdm": TargetManagement.MANAGED,
}
_MANAGEMENT_EXPORT: Final = {
    TargetManagement.ANY: "unspecified",
    TargetManagement.UNMANAGED: "unmanaged",
    TargetManagement.MANAGED: "mdm",
}
_ANDROID_LEVELS: Final = frozenset(
    {
        "androidenterprise",
        "androidenterprisededicateddeviceswithazureadsharedmode",
        "androidopensourceprojectuserassociated",
        "androidopensourceprojectuserless",
    }
)
_TARGET_KINDS: Final = {
    GROUP_TARGET.casefold(): "include",
    EXCLUSION_TARGET.casefold(): "exclude",
    ALL_USERS_TARGET.casefold(): "all",
}


def _same_type(value: str, expected: str) -> bool:
    """OData type names compare case-insensitively, with or without the leading ``#``."""
    return "#" + value.removeprefix("#").casefold() == expected.casefold()


class _GraphModel(BaseModel):
    """Graph objects carry many properties we do not model: ignore them, validate ours."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel)


class _AppIdentifier(_GraphModel):
    odata_type: str | None = Field(default=None, alias="@odata.type")
    bundle_id: str

    @field_validator("odata_type")
    @classmethod
    def _ios_only(cls, value: str | None) -> str | None:
        if value is not None and not _same_type(value, APP_IDENTIFIER_TYPE):
            raise ValueError(f"this tool models iOS apps; expected {APP_IDENTIFIER_TYPE}")
        return value

    @field_validator("bundle_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class _App(_GraphModel):
    mobile_app_identifier: _AppIdentifier


class _Target(_GraphModel):
    odata_type: str = Field(alias="@odata.type")
    group_id: str | None = None
    device_and_app_management_assignment_filter_type: str | None = None

    @field_validator("odata_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if "#" + value.removeprefix("#").casefold() not in _TARGET_KINDS:
            raise ValueError(
                "unsupported assignment target; expected one of "
                f"{GROUP_TARGET}, {EXCLUSION_TARGET}, {ALL_USERS_TARGET}"
            )
        return value

    @field_validator("device_and_app_management_assignment_filter_type")
    @classmethod
    def _no_filter(cls, value: str | None) -> str | None:
        if value is not None and value.casefold() != "none":
            raise ValueError("assignment filters are not modelled; express the scope with groups")
        return value

    @model_validator(mode="after")
    def _group_needs_id(self) -> _Target:
        if self.kind != "all" and not (self.group_id or "").strip():
            raise ValueError(f"groupId is required for {self.odata_type}")
        return self

    @property
    def kind(self) -> str:
        """``include``, ``exclude`` or ``all`` (every licensed user)."""
        return _TARGET_KINDS["#" + self.odata_type.removeprefix("#").casefold()]


class _Assignment(_GraphModel):
    target: _Target


class _GraphPolicy(_GraphModel):
    odata_type: str | None = Field(default=None, alias="@odata.type")
    display_name: Name
    maximum_allowed_device_threat_level: ThreatLevel | None = None
    mobile_threat_defense_remediation_action: str = "block"
    mobile_threat_defense_partner_priority: str | None = None
    device_compliance_required: StrictBool | None = None
    app_action_if_device_compliance_required: str | None = None
    period_online_before_access_check: float = DEFAULT_RECHECK_AFTER
    period_offline_before_access_check: float = DEFAULT_OFFLINE_BLOCK_AFTER
    period_offline_before_wipe_is_enforced: float = DEFAULT_OFFLINE_WIPE_AFTER
    targeted_app_management_levels: TargetManagement = TargetManagement.ANY
    app_group_type: str | None = None
    apps: list[_App] | None = None
    is_assigned: StrictBool | None = None
    assignments: list[_Assignment] | None = None

    @field_validator("odata_type")
    @classmethod
    def _ios_policy(cls, value: str | None) -> str | None:
        if value is not None and not _same_type(value, POLICY_TYPE):
            raise ValueError(f"only {POLICY_TYPE} objects can be read")
        return value

    @field_validator("display_name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("maximum_allowed_device_threat_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> ThreatLevel | None:
        text = _enum_text(value)
        if text is None or text == "notconfigured":
            return None
        if text not in {level.label for level in ThreatLevel}:
            raise ValueError("unknown threat level; expected one of " + ", ".join(_THREAT_LEVELS))
        return ThreatLevel.parse(text)

    @field_validator("app_action_if_device_compliance_required", mode="before")
    @classmethod
    def _jailbroken_action(cls, value: Any) -> str | None:
        text = _enum_text(value)
        if text is not None and text not in {"block", "wipe", "warn"}:
            raise ValueError(f"expected block, wipe or warn, got {value!r}")
        return text

    @field_validator("mobile_threat_defense_remediation_action", mode="before")
    @classmethod
    def _action(cls, value: Any) -> str:
        text = _enum_text(value)
        if text is None:
            return "block"
        if text == "warn":
            raise ValueError(
                "warn is not valid for the threat-level action (Graph rejects it); "
                "use block or wipe"
            )
        if text not in {"block", "wipe", "blockwhensettingissupported"}:
            raise ValueError(
                "unsupported threat-level action; expected block, wipe or "
                "blockWhenSettingIsSupported"
            )
        return text

    @field_validator("mobile_threat_defense_partner_priority", mode="before")
    @classmethod
    def _partner(cls, value: Any) -> str | None:
        text = _enum_text(value)
        if text == "unknownfuturevalue":
            raise ValueError(
                "unknownFutureValue is Graph's placeholder for values added later ('Do not "
                "use'); expected null, defenderOverThirdPartyPartner or "
                "thirdPartyPartnerOverDefender"
            )
        if text is not None and text not in _PARTNER_PRIORITIES:
            raise ValueError(
                "unknown partner priority; expected null, defenderOverThirdPartyPartner or "
                "thirdPartyPartnerOverDefender"
            )
        return text

    @field_validator("app_group_type", mode="before")
    @classmethod
    def _app_group(cls, value: Any) -> str | None:
        text = _enum_text(value)
        if text is not None and text not in _APP_GROUPS:
            raise ValueError(
                "unknown appGroupType; expected selectedPublicApps, allCoreMicrosoftApps, "
                "allMicrosoftApps or allApps"
            )
        return text

    @field_validator(
        "period_online_before_access_check",
        "period_offline_before_access_check",
        "period_offline_before_wipe_is_enforced",
        mode="before",
    )
    @classmethod
    def _period(cls, value: Any, info: ValidationInfo) -> float:
        if value is None:
            return float(cls.model_fields[str(info.field_name)].default)
        if not isinstance(value, str) or not value.strip().upper().startswith("P"):
            raise ValueError("expected an ISO-8601 duration such as 'PT30M', 'PT12H' or 'P90D'")
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("targeted_app_management_levels", mode="before")
    @classmethod
    def _management(cls, value: Any) -> TargetManagement:
        text = _enum_text(value)
        if text is None:
            return TargetManagement.ANY
        flags = {part.strip() for part in text.split(",")} - {"unspecified"}
        if "" in flags:
            raise ValueError("empty flag; expected e.g. 'unmanaged', 'mdm' or 'unspecified'")
        if flags & _ANDROID_LEVELS:
            raise ValueError("Android-only management level; this tool models iOS")
        if flags - set(_MANAGEMENT_FLAGS):
            raise ValueError("unknown management level; expected unspecified, unmanaged or mdm")
        if len(flags) == 1:
            return _MANAGEMENT_FLAGS[flags.pop()]
        return TargetManagement.ANY  # none or both: every device

    @field_validator("apps")
    @classmethod
    def _protects_something(
        cls, value: list[_App] | None, info: ValidationInfo
    ) -> list[_App] | None:
        listed = info.data.get("app_group_type") in (None, "selectedpublicapps")
        if value is not None and not value and listed:
            raise ValueError("the policy protects no apps (empty list)")
        return value

    @field_validator("assignments")
    @classmethod
    def _read_assignments(
        cls, value: list[_Assignment] | None, info: ValidationInfo
    ) -> list[_Assignment] | None:
        includes = any(a.target.kind != "exclude" for a in value or [])
        if value is not None and not includes and info.data.get("is_assigned") is True:
            raise ValueError(
                "has no inclusion target but isAssigned is true: the assignments were not "
                "read completely (export with $expand=assignments)"
            )
        return value

    def to_policy(
        self,
        where: str = "",
        source: str | Path | None = None,
        notes: list[InputNote] | None = None,
    ) -> Policy:
        """The domain policy (see the module docstring for the mapping).

        ``where`` prefixes field paths (``value[2].``); notes go to ``notes`` and any active
        :func:`~simulator.policy.files.collect_notes`.

        Raises
        ------
        InputError
            If the offline wipe period is not longer than the offline block period.
        """

        def note(field: str, message: str, level: NoteLevel = "note") -> None:
            add_note(notes, InputNote(str(source or ""), where + field, message, level))

        block = self.period_offline_before_access_check
        wipe = self.period_offline_before_wipe_is_enforced
        if wipe <= block:
            raise InputError(
                f"{format_iso_duration(wipe)} must be longer than the offline block period "
                f"periodOfflineBeforeAccessCheck ({format_iso_duration(block)}): past the "
                "wipe period access is denied first, so the block period would never apply",
                source=source,
                field=where + "periodOfflineBeforeWipeIsEnforced",
            )
        if self.period_online_before_access_check == 0:
            note("periodOnlineBeforeAccessCheck", f"PT0S {RECHECK_ZERO_NOTE}")
        configured = self.maximum_allowed_device_threat_level is not None
        action = self.mobile_threat_defense_remediation_action
        if action == "blockwhensettingissupported":
            action = "block"
            if configured:
                note(
                    "mobileThreatDefenseRemediationAction",
                    "blockWhenSettingIsSupported imported as block: the simulated apps are "
                    "assumed to support the setting (Intune SDK 12.0.15 or later, [S1])",
                )
        if configured and self.mobile_threat_defense_partner_priority == (
            "thirdpartypartneroverdefender"
        ):
            note(
                "mobileThreatDefensePartnerPriority",
                "thirdPartyPartnerOverDefender: this policy prefers a non-Microsoft MTD "
                "partner, but the simulation assumes Microsoft Defender for Endpoint's signal "
                "drives the threat level; results describe Defender, not that partner",
                "warning",
            )
        jailbroken: Action | None = None
        if self.device_compliance_required:
            chosen = self.app_action_if_device_compliance_required or "block"
            if chosen == "warn":
                note(
                    "appActionIfDeviceComplianceRequired",
                    "warn on jailbroken devices lets the user continue: imported as no "
                    "denial (the Jailbroken/rooted devices condition is not applied)",
                )
            else:
                jailbroken = Action(chosen)
        include: frozenset[str] | None = None
        exclude: frozenset[str] = frozenset()
        if self.assignments is not None:
            targets = [a.target for a in self.assignments]
            exclude = frozenset(str(t.group_id) for t in targets if t.kind == "exclude")
            if not any(t.kind == "all" for t in targets):
                include = frozenset(str(t.group_id) for t in targets if t.kind == "include")
        return Policy(
            name=self.display_name,
            apps=self._apps(note),
            include_groups=include,
            exclude_groups=exclude,
            target_management=self.targeted_app_management_levels,
            max_threat_level=self.maximum_allowed_device_threat_level,
            threat_action=Action(action),
            recheck_after=self.period_online_before_access_check,
            offline_block_after=block,
            offline_wipe_after=wipe,
            jailbroken_action=jailbroken,
        )

    def _apps(self, note: Callable[[str, str], None]) -> frozenset[str]:
        """The app set ``appGroupType`` and ``apps`` describe (module docstring)."""
        group = self.app_group_type
        if group in (None, "selectedpublicapps"):
            if self.apps is not None:
                return frozenset(_app_name(a.mobile_app_identifier.bundle_id) for a in self.apps)
            note(
                "apps",
                "not exported (export with $expand=apps): assuming the 11 core Microsoft apps "
                "(" + ", ".join(sorted(DEFAULT_APPS)) + ")",
            )
            return DEFAULT_APPS
        if group == "allcoremicrosoftapps":
            return CORE_MICROSOFT_APPS
        if group == "allmicrosoftapps":
            note(
                "appGroupType",
                f"allMicrosoftApps read as every app in the scenario ('{EVERY_APP}'): assumes "
                "each simulated app is a Microsoft app with the Intune SDK; list the apps "
                "(selectedPublicApps) to be exact",
            )
        return frozenset({EVERY_APP})


class _GraphCollection(_GraphModel):
    value: list[Any]
    odata_next_link: str | None = Field(default=None, alias="@odata.nextLink")

    @field_validator("value")
    @classmethod
    def _not_empty(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("the collection holds no policies")
        return value

    @field_validator("odata_next_link")
    @classmethod
    def _complete(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("this is one page of a paged response; follow it and merge pages")
        return value


def _enum_text(value: Any) -> str | None:
    """A Graph enum value as lower-case text; ``None`` for null; error for non-strings."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value.strip().casefold()


def _app_name(bundle_id: str) -> str:
    return _APP_BY_BUNDLE.get(bundle_id.strip().casefold(), bundle_id)


def _json_kind(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words (``null``, not ``NoneType``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else type(value).__name__


def _other_platform(item: Any) -> str | None:
    """The canonical ``@odata.type`` of a non-iOS ``managedAppPolicies`` member, else None."""
    kind = item.get("@odata.type") if isinstance(item, dict) else None
    if not isinstance(kind, str):
        return None
    return _OTHER_PLATFORMS.get("#" + kind.strip().removeprefix("#").casefold())


def _skipped_text(skipped: Counter[str]) -> str:
    total = sum(skipped.values())
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
    plural = "s" if total != 1 else ""
    return f"skipped {total} object{plural} this iOS tool does not model: {counts}"


def policies_from_graph(
    data: Any, source: str | Path | None = None, *, notes: list[InputNote] | None = None
) -> list[Policy]:
    """Read Graph ``iosManagedAppProtection`` JSON into policies.

    Parameters
    ----------
    data
        Parsed JSON: one ``iosManagedAppProtection`` object, or a collection
        ``{"value": [...]}`` as Graph list responses return it (``@odata.context`` and
        other annotations allowed; a response with ``@odata.nextLink`` is refused because
        it is incomplete). A ``managedAppPolicies`` collection may mix platforms: its
        Android and Windows members (:data:`OTHER_PLATFORM_TYPES`) are skipped.
    source
        The file the data came from, for error messages and notes.
    notes
        Receives an :class:`~simulator.policy.files.InputNote` per reading the
        documentation leaves open (module docstring); active
        :func:`~simulator.policy.files.collect_notes` blocks receive them too.

    Returns
    -------
    list[Policy]
        One policy per iOS Graph object, in order. Defaults where Graph leaves things out:

        - no ``apps`` (not expanded) with ``selectedPublicApps`` or no ``appGroupType``:
          :data:`DEFAULT_APPS`, with a note;
        - no ``assignments`` (not expanded): every user (``include_groups=None``); an
          ``allLicensedUsersAssignmentTarget`` also means every user; an assignment list
          without inclusion targets means nobody (``frozenset()``), as in Intune;
        - no period: the :class:`~simulator.policy.Policy` default;
        - no ``maximumAllowedDeviceThreatLevel`` / ``mobileThreatDefenseRemediationAction``
          / ``targetedAppManagementLevels``: Graph's own default (``notConfigured`` /
          ``block`` / ``unspecified``); ``null`` counts as absent;
        - ``checkin_interval`` (not a Graph property): its default.

    Raises
    ------
    InputError
        On the first problem, naming ``source`` and the JSON path, e.g. ``warn`` as the
        threat-level action, an unknown level, a malformed ISO-8601 period, an offline
        wipe period not longer than the offline block period (``P0D``), an Android-only
        management level, ``apps: []``, a missing ``displayName``, an assignment filter,
        duplicate display names, or no iOS policy left after skipping other platforms.
    """
    if not isinstance(data, dict):
        raise InputError(
            "expected an iosManagedAppProtection object or a Graph collection "
            f'{{"value": [...]}}, got a JSON {_json_kind(data)}',
            source=source,
        )
    collection = "value" in data
    if collection:
        try:
            members = _GraphCollection.model_validate(data).value
        except ValidationError as exc:
            raise input_error(exc, source) from None
        entries = [(f"value[{index}].", item) for index, item in enumerate(members)]
    else:
        entries = [("", data)]
    skipped: Counter[str] = Counter()
    policies: list[Policy] = []
    seen: set[str] = set()
    for where, item in entries:
        other = _other_platform(item)
        if other is not None:
            skipped[other] += 1
            continue
        try:
            model = _GraphPolicy.model_validate(item)
        except ValidationError as exc:
            raise input_error(exc, source, prefix=where.rstrip(".")) from None
        policy = model.to_policy(where, source, notes)
        if policy.name in seen:
            raise InputError(
                f"duplicate policy name {policy.name!r}",
                source=source,
                field=where + "displayName",
            )
        seen.add(policy.name)
        policies.append(policy)
    field = "value" if collection else "@odata.type"
    if not policies:
        raise InputError(
            f"no iOS app protection policy ({POLICY_TYPE}) in this file; " + _skipped_text(skipped),
            source=source,
            field=field,
        )
    if skipped:
        add_note(notes, InputNote(str(source or ""), field, _skipped_text(skipped)))
    return policies


def policy_to_graph(policy: Policy) -> dict[str, Any]:
    """One policy as a Graph ``iosManagedAppProtection`` object (with apps and assignments).

    Known app names are written as their bundle IDs (:data:`BUNDLE_IDS`), other names as
    they are; every app (``"*"``) as ``appGroupType`` ``allApps`` (no ``apps`` list), the
    exact core set as ``allCoreMicrosoftApps`` (apps listed, as an expanded export has
    them), anything else as ``selectedPublicApps``. ``include_groups=None`` becomes an
    ``allLicensedUsersAssignmentTarget``. ``checkin_interval`` has no Graph property and is
    dropped.

    Raises
    ------
    ValueError
        If a period is not a whole number of seconds (Graph durations cannot carry it).
    """
    targets: list[dict[str, str]] = []
    if policy.include_groups is None:
        targets.append({"@odata.type": ALL_USERS_TARGET})
    else:
        targets += [
            {"@odata.type": GROUP_TARGET, "groupId": g} for g in sorted(policy.include_groups)
        ]
    targets += [
        {"@odata.type": EXCLUSION_TARGET, "groupId": g} for g in sorted(policy.exclude_groups)
    ]
    level = policy.max_threat_level
    data: dict[str, Any] = {
        "@odata.type": POLICY_TYPE,
        "displayName": policy.name,
        "periodOnlineBeforeAccessCheck": format_iso_duration(policy.recheck_after),
        "periodOfflineBeforeAccessCheck": format_iso_duration(policy.offline_block_after),
        "periodOfflineBeforeWipeIsEnforced": format_iso_duration(policy.offline_wipe_after),
        "maximumAllowedDeviceThreatLevel": "notConfigured" if level is None else level.label,
        "mobileThreatDefenseRemediationAction": policy.threat_action.value,
        "deviceComplianceRequired": policy.jailbroken_action is not None,
        "appActionIfDeviceComplianceRequired": (policy.jailbroken_action or Action.BLOCK).value,
        "targetedAppManagementLevels": _MANAGEMENT_EXPORT[policy.target_management],
        "appGroupType": "selectedPublicApps",
    }
    if EVERY_APP in policy.apps:
        data["appGroupType"] = "allApps"
    else:
        if policy.apps == CORE_MICROSOFT_APPS:
            data["appGroupType"] = "allCoreMicrosoftApps"
        data["apps"] = [
            {"mobileAppIdentifier": {"@odata.type": APP_IDENTIFIER_TYPE, "bundleId": bundle}}
            for bundle in sorted(BUNDLE_IDS.get(app, app) for app in policy.apps)
        ]
    data["assignments"] = [{"target": target} for target in targets]
    return data


def policies_to_graph(policies: Sequence[Policy]) -> dict[str, Any]:
    """Policies as a Graph collection ``{"value": [...]}`` of ``iosManagedAppProtection``.

    :func:`policies_from_graph` reads it back to the same policies whenever their
    ``checkin_interval`` is the default (Graph cannot carry it), their periods are whole
    seconds, no app name is itself a well-known bundle ID (``com.microsoft.skydrive``
    would come back as ``onedrive``), and ``"*"`` is not listed with other apps.
    """
    return {"value": [policy_to_graph(policy) for policy in policies]}
