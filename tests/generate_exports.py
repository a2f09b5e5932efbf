"""Write Microsoft Graph exports of a simulated tenant whose parameters are known.

The truth is a random scenario (:data:`TRUTH_TOML`, written beside the exports as
``truth.toml``); its world — devices, app use, threat episodes — is drawn by the simulator
and written in the shapes Graph returns, with the fields condlaunch ignores, ``@odata``
fields, paging (``@odata.nextLink``) and records condlaunch must ignore (Android and
Windows devices, failed sign-ins, informational alerts):

* ``alerts-page1.json``, ``alerts-page2.json`` — ``GET /security/alerts_v2``
* ``devices.json`` — ``GET /deviceManagement/managedDevices`` (the MDM devices)
* ``app-registrations.json`` — ``GET /deviceAppManagement/managedAppRegistrations``
* ``signins-page1.json`` … — ``GET /auditLogs/signIns``, one interactive sign-in per
  session and, for some, a non-interactive one seconds later (the same session)
* ``mapping.toml`` — names the third-party EMM's devices (they have no Intune record)

Run it to get example exports::

    python -m tests.generate_exports examples/tenant --users 300   # add --full for every field

The export window starts on Monday 2 November 2026, 00:00 UTC (the world's day 0).
"""

from __future__ import annotations

import argparse
import functools
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from simulator.durations import format_duration
from simulator.policy.levels import Management
from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.world import DeviceWorld, World, generate_world

START = datetime(2026, 11, 2, tzinfo=UTC)
"""The window's start: a Monday, like the world's day 0."""
NAMESPACE = uuid.UUID("6f1c4d0e-8f7a-4c55-9a43-1e0b8c5d2a10")
GRAPH = "https://graph.microsoft.com/v1.0/"

TRUTH_TOML = """\
# The known truth behind tests/generate_exports.py: what calibrate must recover.
name = "Generator truth"
seed = 20261102
horizon = "{horizon}"
chunk_size = 500

[fleet]
users = {users}
second_device_share = 0.2
management = {{ mdm = 0.5, mam_we = 0.35, emm = 0.15 }}

[[apps]]
name = "outlook"
share = 1.0
sessions_per_day = {outlook_sessions:g}
session_length = "3m"

[[apps]]
name = "teams"
share = 0.7
sessions_per_day = {teams_sessions:g}
session_length = "3m"

[launches]
working_hours = [8, 18]
working_share = 0.75
weekend_factor = 0.25

[[threats]]
kind = "phishing"
rate_per_device_year = 6.0
severity = {{ low = 0.3, medium = 0.5, high = 0.2 }}
detection_delay = {{ dist = "lognormal", median = "10m", p90 = "2h" }}
natural_duration = {{ dist = "lognormal", median = "6h", p90 = "3d" }}

[[threats]]
kind = "network"
rate_per_device_year = 2.0
severity = {{ low = 0.6, medium = 0.4 }}
detection_delay = {{ dist = "lognormal", median = "5m", p90 = "30m" }}
natural_duration = {{ dist = "lognormal", median = "2h", p90 = "12h" }}

[[threats]]
kind = "os_vulnerability"
rate_per_device_year = 1.5
severity = {{ low = 0.5, medium = 0.3, high = 0.2 }}
detection_probability = 1.0
detection_delay = {{ dist = "lognormal", median = "1h", p90 = "1d" }}
natural_duration = {{ dist = "lognormal", median = "5d", p90 = "20d" }}

[[threats]]
kind = "jailbreak"
rate_per_device_year = 0.05
severity = {{ high = 1.0 }}
sdk_detection_probability = 0.0
natural_duration = {{ dist = "never" }}

[signals]
defender_to_intune = "10m"

[offline]
episodes_per_device_month = 0

[onboarding]
mdm_zero_touch_share = 1.0
preinstalled_share = 1.0

[behavior]
nudged_remediation = false

[[policies]]
name = "Level 3 - Secured + block"
apps = ["outlook", "teams"]
max_threat_level = "secured"
threat_action = "block"
"""
"""The truth (users, horizon and the two apps' sessions per day are filled in, see
:func:`truth_text`). Offline periods, onboarding and nudged
remediation are off: the exports carry none of them, so a replay can reproduce the
world's decisions."""

SELECT = {
    "alerts": "id,severity,title,category,serviceSource,detectionSource,status,"
    "firstActivityDateTime,createdDateTime,resolvedDateTime,evidence",
    "devices": "id,operatingSystem,managementAgent,azureADDeviceId,userId,userPrincipalName,"
    "enrolledDateTime,jailBroken",
    "app-registrations": "id,appIdentifier,azureADDeviceId,userId,createdDateTime",
    "signins": "id,createdDateTime,appDisplayName,userPrincipalName,userId,deviceDetail,status",
}
"""The ``$select`` of each Graph call (README "Use your own tenant's data")."""

BUNDLES = {"outlook": "com.microsoft.Office.Outlook", "teams": "com.microsoft.skype.teams"}
SIGN_IN_NAMES = {"outlook": "Outlook Mobile", "teams": "Microsoft Teams"}
TITLES = {
    "phishing": ("Phishing site blocked", "InitialAccess"),
    "network": ("Rogue Wi-Fi network detected", "CredentialAccess"),
    "os_vulnerability": ("Vulnerable iOS version in use", "Vulnerability"),
    "jailbreak": ("Jailbroken device detected", "PrivilegeEscalation"),
}


def truth_text(
    users: int, horizon: str = "28d", outlook_sessions: float = 8, teams_sessions: float = 5
) -> str:
    """:data:`TRUTH_TOML` filled in: ``users`` over ``horizon`` (the export window), with
    Outlook and Teams sessions per day."""
    return TRUTH_TOML.format(
        users=users,
        horizon=horizon,
        outlook_sessions=outlook_sessions,
        teams_sessions=teams_sessions,
    )


def truth_scenario(
    users: int = 2000, horizon: str = "28d", outlook_sessions: float = 8, teams_sessions: float = 5
) -> Scenario:
    """The truth scenario for ``users`` users over ``horizon`` (see :func:`truth_text`)."""
    import tomllib

    text = truth_text(users, horizon, outlook_sessions, teams_sessions)
    return scenario_from_data(tomllib.loads(text))


@functools.cache
def entra_id(name: str) -> str:
    """A stable Entra-style id for a world's device or user name."""
    return str(uuid.uuid5(NAMESPACE, name))


@functools.cache
def _day(day: int) -> str:
    return (START + timedelta(days=day)).strftime("%Y-%m-%dT")


def stamp(minutes: float) -> str:
    """A Graph DateTimeOffset (7 fractional digits, ``Z``) for a world time."""
    micro = round(minutes * 60_000_000)
    day, micro = divmod(micro, 86_400_000_000)
    seconds, micro = divmod(micro, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    return f"{_day(day)}{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}.{micro:06d}0Z"


def upn(user: str) -> str:
    """The user principal name of a world user."""
    return f"{user}@contoso.example"


@dataclass(frozen=True)
class Written:
    """The files written, per input."""

    alerts: list[Path]
    devices: list[Path]
    app_registrations: list[Path]
    signins: list[Path]
    mapping: Path
    truth: Path


def _write_pages(
    folder: Path,
    stem: str,
    context: str,
    records: Iterable[dict[str, Any]],
    page: int,
    select: bool = False,
) -> list[Path]:
    """Write records as Graph pages of ``page`` records, each but the last with a nextLink;
    with ``select``, only the ``$select`` fields (and ``@odata.type``), as Graph returns them."""
    chunks: list[list[dict[str, Any]]] = [[]]
    keep = {"@odata.type", *SELECT[stem].split(",")}
    for record in records:
        if select:
            record = {k: v for k, v in record.items() if k in keep}
        if len(chunks[-1]) == page:
            chunks.append([])
        chunks[-1].append(record)
    paths = []
    for number, chunk in enumerate(chunks, start=1):
        body: dict[str, Any] = {"@odata.context": GRAPH + context}
        if number < len(chunks):
            body["@odata.nextLink"] = f"{GRAPH}{context.split('$')[0]}?$skiptoken=page{number + 1}"
        body["value"] = chunk
        name = f"{stem}.json" if len(chunks) == 1 else f"{stem}-page{number}.json"
        path = folder / name
        text = json.dumps(body, separators=(",", ":")) if select else json.dumps(body, indent=1)
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _device_record(device: DeviceWorld) -> dict[str, Any]:
    ident = entra_id(device.device)
    return {
        "id": str(uuid.uuid5(NAMESPACE, "intune-" + device.device)),
        "userId": entra_id(device.user),
        "deviceName": f"iPhone of {device.user}",
        "managedDeviceOwnerType": "company",
        "enrolledDateTime": "2026-03-01T09:00:00Z",
        "lastSyncDateTime": stamp(20000.0),
        "operatingSystem": "iOS",
        "complianceState": "compliant",
        "jailBroken": "False",
        "managementAgent": "mdm",
        "osVersion": "18.1",
        "easActivated": False,
        "azureADRegistered": True,
        "deviceEnrollmentType": "appleBulkWithUser",
        "azureADDeviceId": ident,
        "deviceRegistrationState": "registered",
        "userPrincipalName": upn(device.user),
        "model": "iPhone 15",
        "manufacturer": "Apple",
        "serialNumber": device.device.upper(),
        "partnerReportedThreatState": "unknown",
    }


def _other_devices() -> Iterator[dict[str, Any]]:
    for k, system in enumerate(("Android", "Windows")):
        yield {
            "id": f"other-{k}",
            "userId": entra_id(f"other-user-{k}"),
            "operatingSystem": system,
            "managementAgent": "mdm",
            "azureADDeviceId": entra_id(f"other-device-{k}"),
            "userPrincipalName": f"other{k}@contoso.example",
            "enrolledDateTime": "2026-01-01T00:00:00Z",
            "complianceState": "compliant",
        }


def _registrations(world: World) -> Iterator[dict[str, Any]]:
    for device in world.devices:
        for app in device.apps:
            yield {
                "@odata.type": "#microsoft.graph.iosManagedAppRegistration",
                "id": str(uuid.uuid5(NAMESPACE, f"reg-{device.device}-{app}")),
                "createdDateTime": "2026-06-01T10:00:00Z",
                "lastSyncDateTime": stamp(30000.0),
                "applicationVersion": "4.2450.0",
                "managementSdkVersion": "19.7.0",
                "platformVersion": "18.1",
                "deviceType": "iPhone",
                "deviceTag": str(uuid.uuid5(NAMESPACE, "tag-" + device.device)),
                "deviceName": f"iPhone of {device.user}",
                "managedDeviceId": None,
                "azureADDeviceId": entra_id(device.device),
                "deviceModel": "iPhone 15",
                "deviceManufacturer": "Apple",
                "flaggedReasons": [],
                "userId": entra_id(device.user),
                "appIdentifier": {
                    "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
                    "bundleId": BUNDLES[app],
                },
                "version": "1",
            }
    yield {
        "@odata.type": "#microsoft.graph.androidManagedAppRegistration",
        "id": "android-reg",
        "userId": entra_id("other-user-0"),
        "azureADDeviceId": entra_id("other-device-0"),
        "appIdentifier": {
            "@odata.type": "#microsoft.graph.androidMobileAppIdentifier",
            "packageId": "com.microsoft.office.outlook",
        },
    }


def _alerts(world: World) -> Iterator[dict[str, Any]]:
    horizon = world.horizon
    for device in world.devices:
        for episode in device.episodes:
            detected = episode.onset + episode.detect_delay
            if detected >= horizon:
                continue
            resolved = episode.natural_end + episode.resolve_delay
            done = resolved < horizon
            title, category = TITLES[episode.kind]
            yield _alert(
                f"da{uuid.uuid5(NAMESPACE, device.device + episode.id).hex[:24]}",
                severity=episode.severity.label,
                title=title,
                category=category,
                onset=stamp(episode.onset),
                created=stamp(detected),
                resolved=stamp(resolved) if done else None,
                evidence=[_device_evidence(device), _user_evidence(device.user)],
            )
    yield _alert(  # a Windows alert: ignored
        "da-windows",
        severity="high",
        title="Suspicious PowerShell command line",
        category="Execution",
        onset=stamp(100.0),
        created=stamp(101.0),
        resolved=None,
        evidence=[{**_device_evidence(world.devices[0]), "osPlatform": "Windows11"}],
    )
    yield _alert(  # informational: maps to secured, ignored
        "da-info",
        severity="informational",
        title="Phishing site blocked",
        category="InitialAccess",
        onset=stamp(200.0),
        created=stamp(201.0),
        resolved=stamp(260.0),
        evidence=[_device_evidence(world.devices[0])],
    )


def _alert(
    ident: str,
    *,
    severity: str,
    title: str,
    category: str,
    onset: str,
    created: str,
    resolved: str | None,
    evidence: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": ident,
        "providerAlertId": ident[2:],
        "incidentId": "1001",
        "status": "resolved" if resolved else "new",
        "severity": severity,
        "classification": None,
        "determination": None,
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "microsoftDefenderForEndpoint",
        "detectorId": "mobile-threat-defense",
        "tenantId": "0f6c5e52-aaaa-bbbb-cccc-1234567890ab",
        "title": title,
        "description": f"{title} on a mobile device.",
        "recommendedActions": "Ask the user to remediate.",
        "category": category,
        "assignedTo": None,
        "alertWebUrl": f"https://security.microsoft.com/alerts/{ident}",
        "incidentWebUrl": "https://security.microsoft.com/incidents/1001",
        "actorDisplayName": None,
        "threatDisplayName": None,
        "threatFamilyName": None,
        "mitreTechniques": [],
        "createdDateTime": created,
        "lastUpdateDateTime": resolved or created,
        "resolvedDateTime": resolved,
        "firstActivityDateTime": onset,
        "lastActivityDateTime": resolved or created,
        "comments": [],
        "evidence": evidence,
        "systemTags": [],
    }


def _device_evidence(device: DeviceWorld) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.security.deviceEvidence",
        "createdDateTime": stamp(0.0),
        "verdict": "suspicious",
        "remediationStatus": "none",
        "remediationStatusDetails": None,
        "roles": [],
        "tags": [],
        "firstSeenDateTime": "2026-03-01T09:00:00Z",
        "mdeDeviceId": uuid.uuid5(NAMESPACE, "mde-" + device.device).hex,
        "azureAdDeviceId": entra_id(device.device),
        "deviceDnsName": f"iphone-{device.device}",
        "hostName": f"iphone-{device.device}",
        "osPlatform": "iOS",
        "osBuild": None,
        "version": "18.1",
        "healthStatus": "active",
        "riskScore": "medium",
        "rbacGroupId": 0,
        "rbacGroupName": None,
        "onboardingStatus": "onboarded",
        "defenderAvStatus": "notSupported",
        "ipInterfaces": [],
        "loggedOnUsers": [],
        "vmMetadata": None,
    }


def _user_evidence(user: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.security.userEvidence",
        "verdict": "unknown",
        "userAccount": {"accountName": user, "userPrincipalName": upn(user)},
    }


def _signins(world: World, seed: int) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,)))
    for device in world.devices:
        for number, launch in enumerate(device.launches):
            base = _signin(device, launch.app, launch.start, interactive=True, code=0)
            base["id"] = f"{device.device}-{number}"
            yield base
            if rng.random() < 0.3:  # a token for another resource, seconds later
                extra = _signin(device, launch.app, launch.start + 0.2, interactive=False, code=0)
                extra["id"] = f"{device.device}-{number}-b"
                yield extra
        if device.launches and rng.random() < 0.1:  # a failed sign-in: ignored
            failed = _signin(device, "outlook", device.launches[0].start + 0.5, True, 50126)
            failed["id"] = f"{device.device}-failed"
            yield failed
    windows = _signin(world.devices[0], "outlook", 300.0, interactive=True, code=0)
    windows["deviceDetail"] = {**windows["deviceDetail"], "operatingSystem": "Windows 11"}
    windows["id"] = "windows-signin"
    yield windows


def _signin(
    device: DeviceWorld, app: str, minutes: float, interactive: bool, code: int
) -> dict[str, Any]:
    managed = device.management is Management.MDM
    return {
        "id": "",
        "createdDateTime": stamp(minutes),
        "userDisplayName": device.user,
        "userPrincipalName": upn(device.user),
        "userId": entra_id(device.user),
        "appId": entra_id("app-" + app),
        "appDisplayName": SIGN_IN_NAMES[app],
        "ipAddress": "203.0.113.7",
        "clientAppUsed": "Mobile Apps and Desktop clients",
        "correlationId": entra_id(device.device)[:24] + f"{round(minutes * 600):012d}",
        "conditionalAccessStatus": "success",
        "isInteractive": interactive,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "status": {
            "errorCode": code,
            "failureReason": None if code == 0 else "Invalid username or password.",
            "additionalDetails": None,
        },
        "deviceDetail": {
            "deviceId": entra_id(device.device),
            "displayName": f"iPhone of {device.user}",
            "operatingSystem": "Ios",
            "browser": "",
            "isCompliant": managed,
            "isManaged": managed,
            "trustType": "",
        },
        "location": {
            "city": "Zurich",
            "state": "Zurich",
            "countryOrRegion": "CH",
            "geoCoordinates": {"altitude": None, "latitude": 47.37, "longitude": 8.54},
        },
        "appliedConditionalAccessPolicies": [],
    }


def write_exports(
    folder: Path, scenario: Scenario, *, signin_page: int = 50_000, select: bool = False
) -> Written:
    """Draw the scenario's world (replication 0) and write its exports into ``folder``;
    ``select``: only the fields of each call's ``$select`` (:data:`SELECT`), compact JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    world = generate_world(scenario)
    mdm = [d for d in world.devices if d.management is Management.MDM]
    emm = [entra_id(d.device) for d in world.devices if d.management is Management.EMM]
    devices = _write_pages(
        folder,
        "devices",
        "$metadata#deviceManagement/managedDevices",
        [*map(_device_record, mdm), *_other_devices()],
        10**9,
        select,
    )
    registrations = _write_pages(
        folder,
        "app-registrations",
        "$metadata#deviceAppManagement/managedAppRegistrations",
        _registrations(world),
        10**9,
        select,
    )
    alert_records = list(_alerts(world))
    alerts = _write_pages(
        folder,
        "alerts",
        "$metadata#security/alerts_v2",
        alert_records,
        max(1, len(alert_records) // 2 + 1),
        select,
    )
    signins = _write_pages(
        folder, "signins", "$metadata#auditLogs/signIns", _signins(world, 5), signin_page, select
    )
    mapping = folder / "mapping.toml"
    mapping.write_text(
        "# Devices of the third-party EMM (no Intune record): condlaunch counts them as emm.\n"
        "[management]\nemm_device_ids = [\n"
        + "".join(f'    "{ident}",\n' for ident in emm)
        + "]\n",
        encoding="utf-8",
    )
    truth = folder / "truth.toml"
    users = scenario.model.fleet.users if scenario.model.fleet else 0
    sessions = {app.name: app.sessions_per_day for app in scenario.model.apps}
    text = truth_text(
        users, format_duration(scenario.model.horizon), sessions["outlook"], sessions["teams"]
    )
    truth.write_text(text, encoding="utf-8")
    return Written(alerts, devices, registrations, signins, mapping, truth)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.generate_exports OUT [--users N] [--days D] [--full] …``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the exports into")
    parser.add_argument("--users", type=int, default=300, help="users of the truth (default 300)")
    parser.add_argument(
        "--days", type=int, default=28, help="days of the export window (default 28)"
    )
    parser.add_argument(
        "--outlook-sessions", type=float, default=8, help="Outlook sessions per day (default 8)"
    )
    parser.add_argument(
        "--teams-sessions", type=float, default=5, help="Teams sessions per day (default 5)"
    )
    parser.add_argument(
        "--full", action="store_true", help="every field Graph returns, not just each $select"
    )
    args = parser.parse_args(argv)
    truth = truth_scenario(args.users, f"{args.days}d", args.outlook_sessions, args.teams_sessions)
    written = write_exports(args.out, truth, select=not args.full)
    for name in ("alerts", "devices", "app_registrations", "signins"):
        print(f"{name}: " + " ".join(str(p) for p in getattr(written, name)))
    print(f"mapping: {written.mapping}\ntruth: {written.truth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
