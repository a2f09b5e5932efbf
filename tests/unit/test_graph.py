"""Microsoft Graph ``iosManagedAppProtection`` import/export (:mod:`simulator.policy.graph`)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cli.main import main
from simulator.errors import InputError
from simulator.policy.behavior import (
    DEFAULT_CHECKIN_INTERVAL,
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    DEFAULT_RECHECK_AFTER,
)
from simulator.policy.decide import EvaluationContext, Policy, covers
from simulator.policy.files import EVERY_APP, InputNote, collect_notes, load_policies
from simulator.policy.graph import (
    ALL_USERS_TARGET,
    APP_IDENTIFIER_TYPE,
    BUNDLE_IDS,
    CORE_MICROSOFT_APPS,
    DEFAULT_APPS,
    EXCLUSION_TARGET,
    GROUP_TARGET,
    POLICY_TYPE,
    policies_from_graph,
    policies_to_graph,
    policy_to_graph,
)
from simulator.policy.levels import Action, Management, TargetManagement, ThreatLevel
from simulator.scenario.load import scenario_from_data
from simulator.sim.run import simulate

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
            {"mobileThreatDefenseRemediationAction": "notify"},
            "mobileThreatDefenseRemediationAction",
            "expected block, wipe or blockWhenSettingIsSupported",
        ),
        (
            {"@odata.type": "#microsoft.graph.defaultManagedAppProtection"},
            "@odata.type",
            "only #microsoft.graph.iosManagedAppProtection",
        ),
        (
            {"mobileThreatDefensePartnerPriority": "unknownFutureValue"},
            "mobileThreatDefensePartnerPriority",
            "placeholder",
        ),
        (
            {"mobileThreatDefensePartnerPriority": "defenderFirst"},
            "mobileThreatDefensePartnerPriority",
            "expected null, defenderOverThirdPartyPartner or thirdPartyPartnerOverDefender",
        ),
        (
            {"appGroupType": "allMyApps"},
            "appGroupType",
            "expected selectedPublicApps, allCoreMicrosoftApps, allMicrosoftApps or allApps",
        ),
        (
            {"periodOfflineBeforeWipeIsEnforced": "P0D"},
            "periodOfflineBeforeWipeIsEnforced",
            "must be longer than the offline block period periodOfflineBeforeAccessCheck",
        ),
        (
            {
                "periodOfflineBeforeAccessCheck": "PT12H",
                "periodOfflineBeforeWipeIsEnforced": "PT12H",
            },
            "periodOfflineBeforeWipeIsEnforced",
            "(PT12H)",
        ),
        (
            {"periodOfflineBeforeAccessCheck": "P100D"},
            "periodOfflineBeforeWipeIsEnforced",
            "P100D",
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
        "deviceComplianceRequired": False,
        "appActionIfDeviceComplianceRequired": "block",
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
_NAMES = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=30
).filter(lambda s: bool(s.strip()))
"""Display names: any text a file may give (control characters are refused, see test_names)."""
_DAYS = st.integers(min_value=0, max_value=365).map(lambda d: d * 1440.0)


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    block = float(draw(st.integers(min_value=0, max_value=30 * 1440)))
    apps = st.frozensets(_APP_NAMES, min_size=1) | st.sampled_from(
        [frozenset({EVERY_APP}), CORE_MICROSOFT_APPS]
    )
    return Policy(
        name=draw(_NAMES),
        apps=draw(apps),
        include_groups=draw(st.none() | st.frozensets(_GROUPS, max_size=3)),
        exclude_groups=draw(st.frozensets(_GROUPS, max_size=3)),
        target_management=draw(st.sampled_from(TargetManagement)),
        max_threat_level=draw(st.sampled_from([None, *ThreatLevel])),
        threat_action=draw(st.sampled_from(Action)),
        recheck_after=float(draw(st.integers(min_value=0, max_value=7 * 1440))),
        offline_block_after=block,
        offline_wipe_after=block
        + draw(_DAYS | st.integers(min_value=0, max_value=10**6).map(float))
        + 1.0,
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
            {"outlook", "teams", "onedrive", "edge", "word", "excel", "powerpoint", "todo"}
        ),
        include_groups=frozenset({"9c1d7e42-5a8b-4f3e-b6d0-7e2a4c9f8d11"}),
        exclude_groups=frozenset({"4b6e0a93-1f2c-4d87-a5e9-3c7b8d2f6e40"}),
        target_management=TargetManagement.UNMANAGED,
        max_threat_level=ThreatLevel.SECURED,
        threat_action=Action.BLOCK,
        recheck_after=30.0,
        offline_block_after=720.0,
        offline_wipe_after=90 * 1440.0,
        jailbroken_action=Action.BLOCK,  # deviceComplianceRequired + block
    )
    assert level2.name == "iOS - Level 2 - MDM - Defender"
    assert level2.include_groups is None
    assert level2.target_management is TargetManagement.MANAGED
    assert level2.max_threat_level is ThreatLevel.LOW
    assert level2.offline_block_after == 1440.0


# --- real export shapes (tests/fixtures/graph) ---------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "graph"
FULL = FIXTURES / "ios-export-full.json"
MIXED = FIXTURES / "managed-app-policies-mixed.json"
PT0S = FIXTURES / "ios-baseline-pt0s.json"
G_BYOD = "5f0c2a7e-93d1-4b8a-8e26-1c4d7f9a0b31"
G_CORP = "a83e6d15-2c4f-47b9-9d02-6e1f3b8c5a74"
G_EXEC = "0d9b4c62-7e18-4a35-b1f0-93c2e5d7a846"
G_PILOT = "e21f7a90-4b6c-4d83-a5e7-2f08c1d9b365"
CORE_NAMES = frozenset(
    {"edge", "excel", "m365", "onedrive", "onenote", "outlook", "powerpoint", "sharepoint"}
    | {"teams", "todo", "word"}
)


def _fixture(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _imported(data: Any, source: str = "export.json") -> tuple[list[Policy], list[InputNote]]:
    notes: list[InputNote] = []
    return policies_from_graph(data, source=source, notes=notes), notes


def test_core_microsoft_apps_are_the_eleven_documented_ones() -> None:
    """*Core Microsoft Apps*: Edge, Excel, Office, OneDrive, OneNote, Outlook, PowerPoint,
    SharePoint, Teams, To Do and Word ([S5]), under condlaunch's short names."""
    assert CORE_MICROSOFT_APPS == CORE_NAMES
    assert BUNDLE_IDS["todo"] == "com.microsoft.to-do"
    assert BUNDLE_IDS["m365"] == "com.microsoft.officemobile"


def test_full_export_imports_every_policy() -> None:
    """A $expand=apps,assignments export: groups, apps per appGroupType, actions, periods."""
    (byod, corp, every), notes = _imported(_fixture(FULL))
    assert byod == Policy(
        name="iOS - Contoso - BYOD - Defender secured",
        apps=frozenset(
            {"outlook", "teams", "onedrive", "edge", "word", "excel", "powerpoint", "todo"}
            | {"com.contoso.expenses"}
        ),
        include_groups=frozenset({G_BYOD}),
        exclude_groups=frozenset({G_EXEC}),
        target_management=TargetManagement.UNMANAGED,
        max_threat_level=ThreatLevel.SECURED,
        threat_action=Action.BLOCK,
        recheck_after=30.0,
        offline_block_after=720.0,
        offline_wipe_after=90 * 1440.0,
        jailbroken_action=Action.BLOCK,  # deviceComplianceRequired + block
    )
    assert corp.apps == CORE_NAMES
    assert corp.threat_action is Action.BLOCK  # blockWhenSettingIsSupported
    assert (corp.target_management, corp.max_threat_level) == (
        TargetManagement.MANAGED,
        ThreatLevel.LOW,
    )
    assert (corp.offline_block_after, corp.offline_wipe_after) == (1440.0, 60 * 1440.0)
    assert every.apps == {EVERY_APP}  # allMicrosoftApps
    assert every.include_groups == {G_EXEC, G_PILOT}
    assert every.exclude_groups == {G_BYOD}
    assert (every.threat_action, every.max_threat_level) == (Action.WIPE, ThreatLevel.HIGH)
    assert [(n.field, n.level) for n in notes] == [
        ("value[1].mobileThreatDefenseRemediationAction", "note"),
        ("value[2].appGroupType", "note"),
    ]
    assert "imported as block" in notes[0].message
    assert "every app in the scenario" in notes[1].message


def test_export_round_trips_what_it_imported() -> None:
    """policies → Graph JSON → policies gives back every imported policy, appGroupType too."""
    for path in (FULL, MIXED, PT0S):
        imported, _ = _imported(_fixture(path))
        exported = json.loads(json.dumps(policies_to_graph(imported)))
        again, _ = _imported(exported)
        assert again == imported, path
    (_, corp, every), _ = _imported(_fixture(FULL))
    assert policy_to_graph(corp)["appGroupType"] == "allCoreMicrosoftApps"
    assert len(policy_to_graph(corp)["apps"]) == 11
    assert policy_to_graph(every)["appGroupType"] == "allApps"
    assert "apps" not in policy_to_graph(every)


def test_pt0s_recheck_means_every_launch_with_one_note() -> None:
    """periodOnlineBeforeAccessCheck = PT0S → recheck_after 0 (every launch is evaluated),
    and exactly one note says how it was read."""
    [policy], notes = _imported(_fixture(PT0S), source="baseline.json")
    assert policy.recheck_after == 0.0
    assert policy.apps == {EVERY_APP}  # allApps
    assert policy.max_threat_level is ThreatLevel.MEDIUM
    [note] = notes
    assert (note.source, note.field, note.level) == (
        "baseline.json",
        "periodOnlineBeforeAccessCheck",
        "note",
    )
    assert "PT0S" in note.message
    assert "every launch" in note.message
    assert "docs/semantics.md" in note.message


def test_zero_recheck_is_evaluated_at_every_launch() -> None:
    """With recheck 0 no launch reuses an earlier allow: each is a full evaluation."""
    [policy], _ = _imported(_fixture(PT0S))
    text = f"""
name = "every launch"
horizon = "1d"
[signals]
defender_to_intune = "0m"
[[policies]]
name = "placeholder"
apps = ["outlook"]
[[script.devices]]
id = "d1"
groups = ["{G_BYOD}"]
[[script.events]]
at = "1h"
device = "d1"
type = "launch"
app = "outlook"
duration = "5m"
[[script.events]]
at = "1h6m"
device = "d1"
type = "launch"
app = "outlook"
duration = "5m"
"""
    scenario = scenario_from_data(tomllib.loads(text), source="s.toml").with_policies([policy])
    reasons = [r["reason"] for r in simulate(scenario).decisions.to_dict("records")]
    assert reasons == ["compliant", "compliant"]
    thirty = scenario.with_policies([policy.with_changes(recheck_after=30.0)])
    reasons = [r["reason"] for r in simulate(thirty).decisions.to_dict("records")]
    assert reasons == ["compliant", "previous_allow"]


def test_managed_app_policies_collection_skips_other_platforms_with_one_note() -> None:
    """A managedAppPolicies export mixes platforms: Android and Windows objects are skipped
    (one note counting them by type); the iOS policies are read."""
    policies, notes = _imported(_fixture(MIXED), source="all.json")
    assert [p.name for p in policies] == [
        "iOS - Level 1 - Basic",
        "iOS - Level 2 - Defender medium",
    ]
    assert policies[0].apps == CORE_NAMES  # allCoreMicrosoftApps, not expanded
    assert policies[0].max_threat_level is None
    assert policies[1].apps == {EVERY_APP}  # allApps
    assert policies[0].include_groups is None  # assignments not expanded: everyone
    [note] = notes
    assert (note.source, note.field) == ("all.json", "value")
    assert note.message == (
        "skipped 5 objects this iOS tool does not model: 2 "
        "#microsoft.graph.androidManagedAppProtection, 1 "
        "#microsoft.graph.mdmWindowsInformationProtectionPolicy, 1 "
        "#microsoft.graph.targetedManagedAppConfiguration, 1 "
        "#microsoft.graph.windowsManagedAppProtection"
    )


def test_a_collection_without_ios_policies_is_an_error_naming_the_file() -> None:
    """Only when nothing iOS remains is the file refused."""
    data = _fixture(MIXED)
    data["value"] = [v for v in data["value"] if "ios" not in v["@odata.type"].casefold()]
    error = _error(data)
    assert (error.source, error.field) == ("f.json", "value")
    assert "no iOS app protection policy" in error.message
    assert "skipped 5 objects" in error.message


def test_block_when_setting_is_supported_is_block_with_a_note() -> None:
    """blockWhenSettingIsSupported is imported as block: the modelled apps support it."""
    data = _fixture(FULL)["value"][0]
    data["mobileThreatDefenseRemediationAction"] = "blockWhenSettingIsSupported"
    [policy], [note] = _imported(data)
    assert policy.threat_action is Action.BLOCK
    assert note.field == "mobileThreatDefenseRemediationAction"
    assert "Intune SDK" in note.message


def test_warn_in_a_real_export_stays_an_error_naming_the_field() -> None:
    """Graph rejects warn for the threat-level action; so does the importer."""
    data = _fixture(FULL)
    data["value"][2]["mobileThreatDefenseRemediationAction"] = "warn"
    error = _error(data)
    assert error.field == "value[2].mobileThreatDefenseRemediationAction"
    assert "warn is not valid for the threat-level action" in error.message


def test_third_party_partner_priority_imports_with_a_warning() -> None:
    """thirdPartyPartnerOverDefender: imported, with a warning that the simulation assumes
    Defender's signal; Defender-first values are silent."""
    data = _fixture(FULL)
    data["value"][0]["mobileThreatDefensePartnerPriority"] = "thirdPartyPartnerOverDefender"
    data["value"][2]["mobileThreatDefensePartnerPriority"] = "defenderOverThirdPartyPartner"
    policies, notes = _imported(data)
    assert len(policies) == 3
    warning = [n for n in notes if n.level == "warning"]
    assert [n.field for n in warning] == ["value[0].mobileThreatDefensePartnerPriority"]
    assert "assumes Microsoft Defender for Endpoint's signal" in warning[0].message


@pytest.mark.parametrize(
    ("group", "apps", "expected", "noted"),
    [
        ("selectedPublicApps", [_app("com.microsoft.office.outlook")], {"outlook"}, False),
        ("selectedPublicApps", None, CORE_NAMES, True),
        ("allCoreMicrosoftApps", None, CORE_NAMES, False),
        ("allCoreMicrosoftApps", [_app("com.microsoft.skype.teams")], CORE_NAMES, False),
        ("allMicrosoftApps", None, {EVERY_APP}, True),
        ("allApps", None, {EVERY_APP}, False),
        ("allApps", [_app("com.microsoft.scmx")], {EVERY_APP}, False),
        (None, None, CORE_NAMES, True),
    ],
)
def test_app_group_type_maps_to_app_sets(
    group: str | None, apps: list[dict[str, Any]] | None, expected: set[str], noted: bool
) -> None:
    """appGroupType decides the apps: the listed ones, the 11 core apps, or every app."""
    data: dict[str, Any] = {"displayName": "p", "maximumAllowedDeviceThreatLevel": "low"}
    if group is not None:
        data["appGroupType"] = group
    if apps is not None:
        data["apps"] = apps
    [policy], notes = _imported(data)
    assert policy.apps == expected
    assert bool(notes) is noted
    assert all(n.field in ("apps", "appGroupType") for n in notes)


def test_the_wildcard_covers_every_app() -> None:
    """apps = {"*"} covers any app, while groups and device targeting still apply."""
    [policy], _ = _imported(_fixture(PT0S))
    byod = frozenset({G_BYOD})
    for app in ("outlook", "teams", "com.contoso.expenses"):
        assert covers(policy, EvaluationContext(app=app, groups=byod))
    assert not covers(policy, EvaluationContext(app="outlook", groups=frozenset({G_EXEC})))
    assert not covers(
        policy, EvaluationContext(app="outlook", groups=byod, management=Management.MDM)
    )


def test_collect_notes_gathers_graph_notes_from_load_policies(tmp_path: Path) -> None:
    """Loading a Graph file inside collect_notes() collects its notes, naming the file."""
    path = tmp_path / "baseline.json"
    path.write_text(PT0S.read_text())
    with collect_notes() as notes:
        load_policies(path)
    assert [(n.source, n.field) for n in notes] == [(str(path), "periodOnlineBeforeAccessCheck")]


# --- end to end: the command line ------------------------------------------------------------

TINY = f"""
# Covers: a tiny fleet whose groups are the fixture export's groups.
name = "tiny graph"
seed = 3
horizon = "1d"
[fleet]
users = 6
groups = [
  {{ name = "{G_BYOD}", share = 0.5 }},
  {{ name = "{G_CORP}", share = 0.5 }},
  {{ name = "{G_EXEC}", share = 0.3 }},
]
[[threats]]
kind = "phishing"
rate_per_device_year = 300
severity = {{ medium = 0.5, high = 0.5 }}
"""


def _notes_on_stderr(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("condlaunch: note: ")]


def test_full_export_runs_through_whatif_table_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The full export works with whatif, table and run; its notes print once on stderr as
    ``condlaunch: note: FILE: field: message`` and run records them in the manifest."""
    export = tmp_path / "export.json"
    export.write_text(FULL.read_text())
    expected = [
        f"condlaunch: note: {export}: value[1].mobileThreatDefenseRemediationAction: ",
        f"condlaunch: note: {export}: value[2].appGroupType: ",
    ]

    def check_notes(err: str) -> None:
        lines = _notes_on_stderr(err)
        assert len(lines) == len(expected), err
        for line, start in zip(lines, expected, strict=True):
            assert line.startswith(start), line

    whatif = [
        "whatif",
        "--policy",
        str(export),
        "--app",
        "outlook",
        "--management",
        "mam_we",
        "--groups",
        G_BYOD,
        "--level",
        "low",
    ]
    assert main(whatif) == 0
    out, err = capsys.readouterr()
    assert "iOS - Contoso - BYOD - Defender secured" in out
    assert "BLOCK" in out.upper()
    check_notes(err)

    assert main(["table", "--policy", str(export), "--out", str(tmp_path / "t.csv")]) == 0
    check_notes(capsys.readouterr().err)

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out_dir = tmp_path / "run"
    argv = ["run", str(scenario), "--policy", str(export), "--out", str(out_dir)]
    assert main([*argv, "--workers", "1", "-q", "--no-plots"]) == 0
    out, err = capsys.readouterr()
    check_notes(err)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert [n["field"] for n in manifest["input_notes"]] == [
        "value[1].mobileThreatDefenseRemediationAction",
        "value[2].appGroupType",
    ]
    decisions = pd.read_parquet(out_dir / "decisions.parquet")
    assert (decisions["reason"] != "not_targeted").any()


def test_pt0s_baseline_runs_and_prints_one_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``condlaunch run SCENARIO --policy PT0S-EXPORT``: one note, every launch evaluated."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out_dir = tmp_path / "run"
    argv = ["run", str(scenario), "--policy", str(PT0S), "--out", str(out_dir)]
    assert main([*argv, "--workers", "1", "-q", "--no-plots"]) == 0
    lines = _notes_on_stderr(capsys.readouterr().err)
    assert len(lines) == 1
    assert lines[0].startswith(f"condlaunch: note: {PT0S}: periodOnlineBeforeAccessCheck: PT0S ")
    policy_name = _fixture(PT0S)["displayName"]
    decisions = pd.read_parquet(out_dir / "decisions.parquet")
    covered = decisions[decisions["policy"] == policy_name]
    assert not covered.empty
    assert "previous_allow" not in set(covered["reason"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mobileThreatDefenseRemediationAction": "warn"}, "mobileThreatDefenseRemediationAction"),
        ({"periodOfflineBeforeWipeIsEnforced": "P0D"}, "periodOfflineBeforeWipeIsEnforced"),
    ],
)
def test_bad_export_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], field: str
) -> None:
    """warn as the threat action, or a wipe period no longer than the block period: exit 2,
    one line naming the file and the field."""
    data = _fixture(FULL)
    data["value"][1].update(change)
    export = tmp_path / "bad.json"
    export.write_text(json.dumps(data))
    assert main(["table", "--policy", str(export)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"condlaunch: error: {export}: value[1].{field}: ")
    assert err.count("\n") == 1


def test_collection_without_ios_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A managedAppPolicies export with no iOS policy: exit 2 naming the file."""
    data = _fixture(MIXED)
    data["value"] = [v for v in data["value"] if "ios" not in v["@odata.type"].casefold()]
    export = tmp_path / "android.json"
    export.write_text(json.dumps(data))
    argv = ["whatif", "--policy", str(export), "--app", "outlook", "--management", "mam_we"]
    assert main([*argv, "--level", "low"]) == 2
    assert capsys.readouterr().err.startswith(f"condlaunch: error: {export}: value: no iOS")


def test_warning_notes_say_so_on_their_line() -> None:
    """A warning-level note's stderr line reads ``condlaunch: note: FILE: field: warning: …``."""
    from simulator.cli._notes import note_line

    data = _fixture(FULL)["value"][0]
    data["mobileThreatDefensePartnerPriority"] = "thirdPartyPartnerOverDefender"
    _, [note] = _imported(data, source="x.json")
    assert note_line(note).startswith(
        "condlaunch: note: x.json: mobileThreatDefensePartnerPriority: warning: "
        "thirdPartyPartnerOverDefender"
    )


def test_jailbroken_condition_imports_and_exports() -> None:
    """deviceComplianceRequired + appActionIfDeviceComplianceRequired is the Jailbroken/
    rooted devices condition: block or wipe import as jailbroken_action, warn (the user
    may continue) as no condition with a note, false as not configured; export writes it
    back."""
    base = {
        "@odata.type": "#microsoft.graph.iosManagedAppProtection",
        "displayName": "j",
        "apps": [_app("com.microsoft.Office.Outlook")],
    }
    for required, action, expected in (
        (True, "wipe", Action.WIPE),
        (True, "block", Action.BLOCK),
        (True, None, Action.BLOCK),
        (False, "wipe", None),
        (None, "wipe", None),
    ):
        data = {**base, "deviceComplianceRequired": required}
        if action is not None:
            data["appActionIfDeviceComplianceRequired"] = action
        [policy] = policies_from_graph(data, source="t.json")
        assert policy.jailbroken_action is expected, (required, action)
        assert policies_from_graph(policy_to_graph(policy), source="t.json")[0] == policy
    notes: list[InputNote] = []
    warn = {**base, "deviceComplianceRequired": True, "appActionIfDeviceComplianceRequired": "warn"}
    [policy] = policies_from_graph(warn, source="t.json", notes=notes)
    assert policy.jailbroken_action is None
    assert any("warn" in n.message for n in notes)
