"""Microsoft Graph ``iosManagedAppProtection`` import/export (:mod:`simulator.policy.graph`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import InputError
from simulator.policy.behavior import (
    DEFAULT_CHECKIN_INTERVAL,
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    DEFAULT_RECHECK_AFTER,
)
from simulator.policy.decide import Policy
from simulator.policy.files import load_policies
from simulator.policy.graph import (
    ALL_USERS_TARGET,
    APP_IDENTIFIER_TYPE,
    BUNDLE_IDS,
    DEFAULT_APPS,
    EXCLUSION_TARGET,
    GROUP_TARGET,
    POLICY_TYPE,
    policies_from_graph,
    policies_to_graph,
    policy_to_graph,
)
from simulator.policy.levels import Action, TargetManagement, ThreatLevel

SAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "policies" / "graph-level3.json"


def _one(**fields: Any) -> Policy:
    """Import a single Graph object made of ``displayName`` plus ``fields``."""
    (policy,) = policies_from_graph({"displayName": "p", **fields}, source="f.json")
    return policy


def _app(bundle_id: str, odata_type: str = APP_IDENTIFIER_TYPE) -> dict[str, Any]:
    return {"mobileAppIdentifier": {"@odata.type": odata_type, "bundleId": bundle_id}}


def _target(odata_type: str, group: str | None = None, **extra: Any) -> dict[str, Any]:
    target: dict[str, Any] = {"@odata.type": odata_type, **extra}
    if group is not None:
        target["groupId"] = group
    return {"target": target}


def _error(data: Any) -> InputError:
    with pytest.raises(InputError) as info:
        policies_from_graph(data, source="f.json")
    return info.value


# --- mappings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "level"),
    [
        ("notConfigured", None),
        ("secured", ThreatLevel.SECURED),
        ("low", ThreatLevel.LOW),
        ("medium", ThreatLevel.MEDIUM),
        ("high", ThreatLevel.HIGH),
        ("Medium", ThreatLevel.MEDIUM),
    ],
)
def test_threat_level_mapping(graph: str, level: ThreatLevel | None) -> None:
    """Each managedAppDeviceThreatLevel maps to the policy maximum; notConfigured is None."""
    assert _one(maximumAllowedDeviceThreatLevel=graph).max_threat_level == level


@pytest.mark.parametrize(("graph", "action"), [("block", Action.BLOCK), ("wipe", Action.WIPE)])
def test_action_mapping(graph: str, action: Action) -> None:
    """mobileThreatDefenseRemediationAction block/wipe map to the policy's threat action."""
    assert _one(mobileThreatDefenseRemediationAction=graph).threat_action is action


def test_periods_are_iso_durations_in_minutes() -> None:
    """The three Graph periods are read as ISO-8601 durations into minutes."""
    policy = _one(
        periodOnlineBeforeAccessCheck="PT30M",
        periodOfflineBeforeAccessCheck="PT12H",
        periodOfflineBeforeWipeIsEnforced="P90D",
    )
    assert (policy.recheck_after, policy.offline_block_after, policy.offline_wipe_after) == (
        30.0,
        720.0,
        90 * 1440.0,
    )


@pytest.mark.parametrize("absent", [{}, {"periodOnlineBeforeAccessCheck": None}])
def test_missing_fields_take_documented_defaults(absent: dict[str, Any]) -> None:
    """Absent (or null) fields give Policy period defaults and Graph's enum defaults."""
    policy = _one(**absent)
    assert policy.recheck_after == DEFAULT_RECHECK_AFTER
    assert policy.offline_block_after == DEFAULT_OFFLINE_BLOCK_AFTER
    assert policy.offline_wipe_after == DEFAULT_OFFLINE_WIPE_AFTER
    assert policy.checkin_interval == DEFAULT_CHECKIN_INTERVAL
    assert policy.max_threat_level is None  # Graph default notConfigured
    assert policy.threat_action is Action.BLOCK
    assert policy.target_management is TargetManagement.ANY
    assert policy.apps == DEFAULT_APPS
    assert policy.include_groups is None
    assert policy.exclude_groups == frozenset()


@pytest.mark.parametrize(
    ("graph", "target"),
    [
        ("unspecified", TargetManagement.ANY),
        ("unmanaged", TargetManagement.UNMANAGED),
        ("mdm", TargetManagement.MANAGED),
        ("unmanaged,mdm", TargetManagement.ANY),
        ("mdm, unmanaged", TargetManagement.ANY),
        ("unspecified,mdm", TargetManagement.MANAGED),
    ],
)
def test_management_level_flags(graph: str, target: TargetManagement) -> None:
    """targetedAppManagementLevels is a flags enum: one of unmanaged/mdm, or any device."""
    assert _one(targetedAppManagementLevels=graph).target_management is target


@pytest.mark.parametrize(("app", "bundle"), sorted(BUNDLE_IDS.items()))
def test_known_bundle_ids_map_to_short_names(app: str, bundle: str) -> None:
    """Well-known Microsoft bundle IDs map to short names, whatever their case."""
    assert _one(apps=[_app(bundle)]).apps == {app}
    assert _one(apps=[_app(bundle.lower())]).apps == {app}


def test_unknown_bundle_id_is_kept_as_app_name() -> None:
    """An app outside the table keeps its bundle ID as its name."""
    assert _one(apps=[_app("com.contoso.Expenses"), _app("com.microsoft.msedge")]).apps == {
        "com.contoso.Expenses",
        "edge",
    }


def test_assignments_map_to_include_and_exclude_groups() -> None:
    """Group targets include, exclusion targets exclude, all-licensed-users means everyone."""
    groups = _one(
        assignments=[_target(GROUP_TARGET, "g1"), _target(EXCLUSION_TARGET, "g2")],
    )
    assert (groups.include_groups, groups.exclude_groups) == (frozenset({"g1"}), frozenset({"g2"}))
    everyone = _one(
        assignments=[
            _target(ALL_USERS_TARGET),
            _target(GROUP_TARGET, "g1"),
            _target(EXCLUSION_TARGET, "g2", deviceAndAppManagementAssignmentFilterType="none"),
        ]
    )
    assert (everyone.include_groups, everyone.exclude_groups) == (None, frozenset({"g2"}))


def test_empty_assignment_list_assigns_nobody() -> None:
    """Expanded assignments with no inclusion target cover nobody (not everyone)."""
    assert _one(assignments=[]).include_groups == frozenset()
    only_excluded = _one(assignments=[_target(EXCLUSION_TARGET, "g2")], isAssigned=False)
    assert only_excluded.include_groups == frozenset()


def test_collection_annotations_and_unmodelled_settings_are_ignored() -> None:
    """A list response reads every policy; @odata annotations and other settings are ignored."""
    data = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#x",
        "value": [
            {"@odata.type": POLICY_TYPE, "displayName": "a", "pinRequired": True, "id": "T_1"},
            {"displayName": "b", "minimumRequiredOsVersion": "16.0", "apps@odata.context": "x"},
        ],
    }
    assert [p.name for p in policies_from_graph(data)] == ["a", "b"]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        (
            {"mobileThreatDefenseRemediationAction": "warn"},
            "mobileThreatDefenseRemediationAction",
            "warn is not valid for the threat-level",
        ),
        (
            {"mobileThreatDefenseRemediationAction": "blockWhenSettingIsSupported"},
            "mobileThreatDefenseRemediationAction",
            "expected block or wipe",
        ),
        (
            {"maximumAllowedDeviceThreatLevel": "severe"},
            "maximumAllowedDeviceThreatLevel",
            "unknown threat level",
        ),
        (
            {"maximumAllowedDeviceThreatLevel": 3},
            "maximumAllowedDeviceThreatLevel",
            "expected a string",
        ),
        (
            {"periodOnlineBeforeAccessCheck": "PT30X"},
            "periodOnlineBeforeAccessCheck",
            "not an ISO-8601 duration",
        ),
        (
            {"periodOfflineBeforeAccessCheck": "12h"},
            "periodOfflineBeforeAccessCheck",
            "expected an ISO-8601 duration",
        ),
        (
            {"periodOfflineBeforeWipeIsEnforced": "P3M"},
            "periodOfflineBeforeWipeIsEnforced",
            "ISO-8601",
        ),
        (
            {"periodOnlineBeforeAccessCheck": "PT0S"},
            "periodOnlineBeforeAccessCheck",
            "longer than zero",
        ),
        (
            {"targetedAppManagementLevels": "androidEnterprise"},
            "targetedAppManagementLevels",
            "Android-only",
        ),
        (
            {"targetedAppManagementLevels": "unmanaged,androidOpenSourceProjectUserless"},
            "targetedAppManagementLevels",
            "Android-only",
        ),
        (
            {"targetedAppManagementLevels": "unknownFutureValue"},
            "targetedAppManagementLevels",
            "unknown management level",
        ),
        ({"apps": []}, "apps", "protects no apps"),
        (
            {
                "apps": [
                    _app(
                        "com.microsoft.office.outlook",
                        "#microsoft.graph.androidMobileAppIdentifier",
                    )
                ]
            },
            "apps[0].mobileAppIdentifier.@odata.type",
            "iOS",
        ),
        (
            {"apps": [{"mobileAppIdentifier": {"bundleId": " "}}]},
            "apps[0].mobileAppIdentifier.bundleId",
            "empty",
        ),
        (
            {"assignments": [_target("#microsoft.graph.allDevicesAssignmentTarget")]},
            "assignments[0].target.@odata.type",
            "unsupported assignment target",
        ),
        ({"assignments": [_target(GROUP_TARGET)]}, "assignments[0].target", "groupId is required"),
        (
            {
                "assignments": [
                    _target(GROUP_TARGET, "g", deviceAndAppManagementAssignmentFilterType="include")
                ]
            },
            "assignments[0].target.deviceAndAppManagementAssignmentFilterType",
            "filters are not modelled",
        ),
        ({"isAssigned": True, "assignments": []}, "assignments", "not read completely"),
        (
            {"@odata.type": "#microsoft.graph.androidManagedAppProtection"},
            "@odata.type",
            "only #microsoft.graph.iosManagedAppProtection",
        ),
    ],
)
def test_bad_modelled_field_names_file_and_path(
    policy: dict[str, Any], field: str, words: str
) -> None:
    """Every bad modelled value is one InputError line naming file, JSON path and cause."""
    error = _error({"value": [{"displayName": "ok"}, {"displayName": "p", **policy}]})
    assert error.source == "f.json"
    assert error.field == f"value[1].{field}"
    assert words in error.message
    assert str(error).startswith(f"f.json: value[1].{field}: ")
    assert "\n" not in str(error)


def test_warn_error_reads_clearly() -> None:
    """The warn rejection names the field and says warn is not valid for threat level."""
    error = _error(
        {"value": [{"displayName": "p", "mobileThreatDefenseRemediationAction": "warn"}]}
    )
    assert str(error) == (
        "f.json: value[0].mobileThreatDefenseRemediationAction: warn is not valid for the "
        "threat-level action (Graph rejects it); use block or wipe (got 'warn')"
    )


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"value": [{"description": "no name"}]}, "value[0].displayName", "required"),
        ({"value": [{"displayName": "  "}]}, "value[0].displayName", "must not be empty"),
        ({"description": "no name"}, "displayName", "required"),
        (
            {"value": [{"displayName": "a"}, {"displayName": "a"}]},
            "value[1].displayName",
            "duplicate",
        ),
        ({"value": []}, "value", "no policies"),
        (
            {"value": [{"displayName": "a"}], "@odata.nextLink": "https://x"},
            "@odata.nextLink",
            "one page",
        ),
        ([{"displayName": "a"}], "", "got a JSON list"),
    ],
)
def test_structural_errors_name_file_and_path(data: Any, field: str, words: str) -> None:
    """Missing names, duplicates, empty or paged collections and non-objects are refused."""
    error = _error(data)
    assert (error.source, error.field) == ("f.json", field)
    assert words in error.message


def test_load_policies_reports_the_json_file(tmp_path: Path) -> None:
    """Through load_policies, a bad Graph file's error names that file and the field path."""
    path = tmp_path / "export.json"
    path.write_text(
        json.dumps(
            {"value": [{"displayName": "p", "mobileThreatDefenseRemediationAction": "warn"}]}
        )
    )
    with pytest.raises(InputError) as info:
        load_policies(path)
    assert str(info.value).startswith(f"{path}: value[0].mobileThreatDefenseRemediationAction: ")


# --- export -----------------------------------------------------------------------------


def test_export_shape() -> None:
    """A policy exports as an iosManagedAppProtection with ISO periods, bundle IDs, targets."""
    policy = Policy(
        name="iOS - Level 3",
        apps=frozenset({"outlook", "com.contoso.Expenses"}),
        include_groups=frozenset({"g1"}),
        exclude_groups=frozenset({"g2"}),
        target_management=TargetManagement.UNMANAGED,
        max_threat_level=ThreatLevel.SECURED,
        threat_action=Action.WIPE,
        recheck_after=30.0,
        offline_block_after=720.0,
        offline_wipe_after=90 * 1440.0,
    )
    assert policy_to_graph(policy) == {
        "@odata.type": POLICY_TYPE,
        "displayName": "iOS - Level 3",
        "periodOnlineBeforeAccessCheck": "PT30M",
        "periodOfflineBeforeAccessCheck": "PT12H",
        "periodOfflineBeforeWipeIsEnforced": "P90D",
        "maximumAllowedDeviceThreatLevel": "secured",
        "mobileThreatDefenseRemediationAction": "wipe",
        "targetedAppManagementLevels": "unmanaged",
        "appGroupType": "selectedPublicApps",
        "apps": [_app("com.contoso.Expenses"), _app("com.microsoft.Office.Outlook")],
        "assignments": [_target(GROUP_TARGET, "g1"), _target(EXCLUSION_TARGET, "g2")],
    }
    assert policies_to_graph([policy]) == {"value": [policy_to_graph(policy)]}


def test_export_of_everyone_and_not_configured() -> None:
    """include_groups None exports as all licensed users; None max as notConfigured; any as
    unspecified."""
    graph = policy_to_graph(Policy(name="p", apps=frozenset({"teams"}), max_threat_level=None))
    assert graph["assignments"] == [_target(ALL_USERS_TARGET)]
    assert graph["maximumAllowedDeviceThreatLevel"] == "notConfigured"
    assert graph["targetedAppManagementLevels"] == "unspecified"


# --- round trip -------------------------------------------------------------------------

_APP_NAMES = st.sampled_from([*BUNDLE_IDS, "com.contoso.expenses", "com.Contoso.CRM", "slack"])
_GROUPS = st.one_of(st.uuids().map(str), st.sampled_from(["all-staff", "pilot", "Execs"]))
_NAMES = st.text(min_size=1, max_size=30).filter(lambda s: bool(s.strip()))
_DAYS = st.integers(min_value=0, max_value=365).map(lambda d: d * 1440.0)


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    return Policy(
        name=draw(_NAMES),
        apps=draw(st.frozensets(_APP_NAMES, min_size=1)),
        include_groups=draw(st.none() | st.frozensets(_GROUPS, max_size=3)),
        exclude_groups=draw(st.frozensets(_GROUPS, max_size=3)),
        target_management=draw(st.sampled_from(TargetManagement)),
        max_threat_level=draw(st.sampled_from([None, *ThreatLevel])),
        threat_action=draw(st.sampled_from(Action)),
        recheck_after=float(draw(st.integers(min_value=1, max_value=7 * 1440))),
        offline_block_after=float(draw(st.integers(min_value=0, max_value=30 * 1440))),
        offline_wipe_after=draw(_DAYS | st.integers(min_value=0, max_value=10**6).map(float)),
    )


@given(st.lists(_policies(), min_size=1, max_size=4, unique_by=lambda p: p.name))
def test_import_of_export_is_identity(policies: list[Policy]) -> None:
    """policies_from_graph ∘ policies_to_graph is the identity (also through JSON text)."""
    exported = json.loads(json.dumps(policies_to_graph(policies)))
    assert policies_from_graph(exported) == policies


# --- bundled sample ---------------------------------------------------------------------


def test_bundled_sample_loads_through_policyfile() -> None:
    """scenarios/policies/graph-level3.json loads via load_policies into the expected policies."""
    level3, level2 = load_policies(SAMPLE)
    assert level3 == Policy(
        name="iOS - Level 3 - Defender",
        apps=frozenset(
            {"outlook", "teams", "onedrive", "edge", "word", "excel", "powerpoint"}
            | {"com.microsoft.to-do"}
        ),
        include_groups=frozenset({"9c1d7e42-5a8b-4f3e-b6d0-7e2a4c9f8d11"}),
        exclude_groups=frozenset({"4b6e0a93-1f2c-4d87-a5e9-3c7b8d2f6e40"}),
        target_management=TargetManagement.UNMANAGED,
        max_threat_level=ThreatLevel.SECURED,
        threat_action=Action.BLOCK,
        recheck_after=30.0,
        offline_block_after=720.0,
        offline_wipe_after=90 * 1440.0,
    )
    assert level2.name == "iOS - Level 2 - MDM - Defender"
    assert level2.include_groups is None
    assert level2.target_management is TargetManagement.MANAGED
    assert level2.max_threat_level is ThreatLevel.LOW
    assert level2.offline_block_after == 1440.0
