"""``enrolledDateTime``: a device that enrols in Intune during the window exists from then.

A hand-built tenant in the exports' real shapes (``@odata`` fields and the fields real
exports carry that condlaunch ignores): two iOS MDM devices over a 20-day window of
sign-ins; Adele's enrolled long before the window, Ben's on day 10 at 00:00. Ben's
device-years, sign-ins and alerts count only from his enrolment; Adele's from the start.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.scenario.load import load_scenario, variant_policies
from simulator.tenant.calibrate import calibrate
from simulator.tenant.inventory import Exports, Tenant, load_tenant
from simulator.tenant.mapping import load_mapping
from simulator.tenant.readers import ALERTS, SIGNINS
from simulator.tenant.replay import ReplaySettings, replay, replay_scenario

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 2, tzinfo=UTC)
ADELE = ("11111111-1111-1111-1111-111111111111", "adele", "2026-03-01T09:00:00Z")
BEN = ("22222222-2222-2222-2222-222222222222", "ben", "2026-11-12T00:00:00Z")


def _at(day: int, hour: int) -> str:
    return (START + timedelta(days=day, hours=hour)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _device(ident: str, who: str, enrolled: str) -> dict[str, Any]:
    return {
        "id": f"intune-{who}",
        "userId": f"user-{who}",
        "deviceName": f"{who}'s iPhone",
        "managedDeviceOwnerType": "company",
        "enrolledDateTime": enrolled,
        "lastSyncDateTime": "2026-11-21T09:00:00Z",
        "operatingSystem": "iOS",
        "complianceState": "compliant",
        "jailBroken": "False",
        "managementAgent": "mdm",
        "osVersion": "18.1",
        "azureADDeviceId": ident,
        "userPrincipalName": f"{who}@contoso.example",
        "model": "iPhone 15",
    }


def _registration(ident: str, who: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.iosManagedAppRegistration",
        "id": f"reg-{who}",
        "lastSyncDateTime": "2026-11-20T10:00:00Z",
        "applicationVersion": "4.2450.0",
        "azureADDeviceId": ident,
        "userId": f"user-{who}",
        "flaggedReasons": [],
        "appIdentifier": {
            "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
            "bundleId": "com.microsoft.Office.Outlook",
        },
    }


def _signin(ident: str, who: str, day: int) -> dict[str, Any]:
    return {
        "id": f"s-{who}-{day}",
        "createdDateTime": _at(day, 9),
        "userPrincipalName": f"{who}@contoso.example",
        "appDisplayName": "Outlook Mobile",
        "isInteractive": True,
        "status": {"errorCode": 0, "failureReason": None},
        "deviceDetail": {"deviceId": ident, "operatingSystem": "Ios", "isManaged": True},
        "location": {"city": "Zurich"},
    }


def _alert(ident: str, name: str, onset_day: int, resolved_day: int) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": name,
        "status": "resolved",
        "severity": "high",
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "microsoftDefenderForEndpoint",
        "title": "Phishing site blocked",
        "category": "InitialAccess",
        "createdDateTime": _at(onset_day, 11),
        "firstActivityDateTime": _at(onset_day, 10),
        "resolvedDateTime": _at(resolved_day, 12),
        "mitreTechniques": ["T1566"],
        "evidence": [
            {
                "@odata.type": "#microsoft.graph.security.deviceEvidence",
                "verdict": "suspicious",
                "mdeDeviceId": "mde-" + name,
                "azureAdDeviceId": ident,
                "osPlatform": "iOS",
            }
        ],
    }


def _write(folder: Path, name: str, context: str, values: list[dict[str, Any]]) -> Path:
    path = folder / f"{name}.json"
    body = {"@odata.context": f"https://graph.microsoft.com/v1.0/{context}", "value": values}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Tenant:
    folder = tmp_path_factory.mktemp("enrolment")
    both = (ADELE, BEN)
    devices = _write(
        folder,
        "devices",
        "$metadata#deviceManagement/managedDevices",
        [_device(*who) for who in both],
    )
    registrations = _write(
        folder,
        "app-registrations",
        "$metadata#deviceAppManagement/managedAppRegistrations",
        [_registration(ident, who) for ident, who, _ in both],
    )
    signins = _write(
        folder,
        "signins",
        "$metadata#auditLogs/signIns",
        [_signin(ident, who, day) for ident, who, _ in both for day in range(20)],
    )
    alerts = _write(
        folder,
        "alerts",
        "$metadata#security/alerts_v2",
        [
            _alert(BEN[0], "before-enrolment", 3, 4),  # resolved before Ben enrolled: dropped
            _alert(BEN[0], "after-enrolment", 14, 15),
            _alert(ADELE[0], "adele", 5, 6),
        ],
    )
    exports = Exports([alerts], [devices], [registrations], [signins])
    return load_tenant(exports, load_mapping(None))


def test_device_years_count_each_device_from_its_enrolment(tenant: Tenant) -> None:
    assert tenant.horizon == 20 * 1440.0  # days 0–19 of sign-ins: a 20-day window
    assert tenant.device_years() == pytest.approx((20 + 10) / 365.0, rel=1e-12)


def test_sign_ins_and_alerts_before_the_enrolment_are_counted_not_played(tenant: Tenant) -> None:
    ben = [times for (device, _app), times in tenant.signins.times.items() if device == BEN[0]]
    assert [len(t) for t in ben] == [10]  # days 10–19
    assert tenant.stats.ignored[(SIGNINS.name, "before the device's enrolment")] == 10
    assert tenant.stats.ignored[(ALERTS.name, "resolved before the device's enrolment")] == 1
    assert sorted(a.alert_id for a in tenant.alerts) == ["adele", "after-enrolment"]
    assert any("enrolled in Intune during the window" in note for note in tenant.notes)


def test_calibrated_rate_divides_by_enrolled_device_years(tenant: Tenant) -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    fitted = calibrate(tenant, base.model)
    phishing = next(t for t in fitted.threats if t["kind"] == "phishing")
    rate = phishing["rate_per_device_year"]
    # 2 episodes with onset after each device's enrolment / 30 device-days
    assert rate.n == 2
    assert "0.08219 device-years" in rate.source


def test_replay_has_no_decision_before_the_enrolment(tenant: Tenant) -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    policies = base.policies[:1]
    variants = dict(list(variant_policies(base).items())[:1])
    scenario = replay_scenario(tenant, base, policies)
    result = replay(tenant, scenario, variants, ReplaySettings.from_base(base.model, policies, 2.0))
    decisions = result.decisions
    ben = decisions[decisions["device"] == BEN[0]]
    adele = decisions[decisions["device"] == ADELE[0]]
    assert not ben.empty and not adele.empty
    assert ben["time_min"].min() >= 10 * 1440.0
    assert adele["time_min"].min() < 1440.0
