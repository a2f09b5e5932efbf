"""Read Microsoft Graph exports incrementally: alerts, devices, app registrations, sign-ins.

Each input is one or more files as Graph returns them — an object with ``value: [...]``
and ``@odata.*`` fields (one file per page of a paged export), or a bare list of records.
Records are parsed one at a time with ``ijson`` (its C backend), so a file of tens of
millions of sign-ins is never held whole in memory; only the few fields condlaunch uses
are kept.

What is read, per export (every other field is ignored):

=====================  ===========================================================
``--alerts``           ``GET /security/alerts_v2``: ``id``, ``severity``, ``title``,
                       ``category``, ``serviceSource``, ``detectionSource``,
                       ``firstActivityDateTime``, ``createdDateTime``,
                       ``resolvedDateTime``, ``status``, ``evidence[]`` of type
                       ``#microsoft.graph.security.deviceEvidence`` (``azureAdDeviceId``,
                       ``mdeDeviceId``, ``osPlatform``)
``--devices``          ``GET /deviceManagement/managedDevices``: ``operatingSystem``,
                       ``managementAgent``, ``azureADDeviceId``, ``userId``,
                       ``userPrincipalName``, ``enrolledDateTime``, ``jailBroken``
``--app-registrations``  ``GET /deviceAppManagement/managedAppRegistrations``:
                       ``@odata.type``, ``appIdentifier.bundleId``, ``azureADDeviceId``,
                       ``userId``, ``createdDateTime``
``--signins``          ``GET /auditLogs/signIns``: ``createdDateTime``,
                       ``appDisplayName``, ``userPrincipalName``, ``userId``,
                       ``deviceDetail.deviceId``, ``deviceDetail.operatingSystem``,
                       ``status.errorCode``
=====================  ===========================================================

Bad input is one :class:`~simulator.errors.InputError` naming the file and the record
(``value[12]``): a file of another export type, truncated or invalid JSON, a record
without a field condlaunch needs. Records that are valid but out of scope (not iOS, an
app outside the app table, a failed sign-in, an informational alert…) are *ignored* and
counted per reason in :class:`ReadStats`, never dropped silently.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

import ijson

from simulator.errors import InputError
from simulator.tenant.mapping import Mapping

IOS_NAMES: Final = frozenset({"ios", "ipados"})
"""Operating-system names that count as iOS (case-insensitive), in every export."""
ZERO_ID: Final = "00000000-0000-0000-0000-000000000000"
"""Graph's "no id" (e.g. ``azureADDeviceId`` of a device not registered in Entra)."""


@dataclass(frozen=True)
class ExportKind:
    """One export type: its option, its Graph call, and how to recognise its records."""

    name: str
    option: str
    call: str
    context: str
    """A piece of the ``@odata.context`` URL of this export."""
    signature: frozenset[str]
    """Fields that records of this export have and the others do not."""


ALERTS: Final = ExportKind(
    "alerts",
    "--alerts",
    "GET /security/alerts_v2",
    "security/alerts_v2",
    frozenset({"evidence", "serviceSource", "detectionSource", "alertWebUrl", "incidentId"}),
)
DEVICES: Final = ExportKind(
    "devices",
    "--devices",
    "GET /deviceManagement/managedDevices",
    "managedDevices",
    frozenset({"managementAgent", "operatingSystem", "enrolledDateTime", "complianceState"}),
)
APP_REGISTRATIONS: Final = ExportKind(
    "app registrations",
    "--app-registrations",
    "GET /deviceAppManagement/managedAppRegistrations",
    "managedAppRegistrations",
    frozenset({"appIdentifier", "managementSdkVersion", "deviceTag", "platformVersion"}),
)
SIGNINS: Final = ExportKind(
    "sign-ins",
    "--signins",
    "GET /auditLogs/signIns",
    "auditLogs/signIns",
    frozenset({"appDisplayName", "deviceDetail", "clientAppUsed", "conditionalAccessStatus"}),
)
KINDS: Final = (ALERTS, DEVICES, APP_REGISTRATIONS, SIGNINS)


@dataclass
class ReadStats:
    """What was read and what was ignored (per export and reason), and the files' hashes."""

    read: Counter[str] = field(default_factory=Counter)
    ignored: Counter[tuple[str, str]] = field(default_factory=Counter)
    files: dict[str, list[str]] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    more_pages: list[str] = field(default_factory=list)
    """Options all of whose files have ``@odata.nextLink``: a page is missing."""

    def ignore(self, kind: ExportKind, reason: str, count: int = 1) -> None:
        """Count ``count`` records of ``kind`` ignored for ``reason``."""
        self.ignored[(kind.name, reason)] += count

    def lines(self) -> list[str]:
        """A readable account: records read and ignored per export, paging notes."""
        out = []
        for kind in KINDS:
            if kind.name not in self.files:
                continue
            files = self.files[kind.name]
            out.append(f"{kind.option}: {self.read[kind.name]:,} records from {len(files)} file(s)")
            for (name, reason), count in sorted(self.ignored.items()):
                if name == kind.name:
                    out.append(f"    ignored {count:,}: {reason}")
        for option in self.more_pages:
            out.append(
                f"note: every {option} file has @odata.nextLink, so more pages follow: "
                "pass every page file"
            )
        return out

    def record(self) -> dict[str, Any]:
        """The same as JSON-able data (for manifests)."""
        return {
            "read": dict(self.read),
            "ignored": [
                {"export": k, "reason": r, "records": n}
                for (k, r), n in sorted(self.ignored.items())
            ],
            "files": self.files,
            "more_pages": list(self.more_pages),
        }


class _HashingReader:
    """A binary file that hashes what is read from it (so exports are read once)."""

    def __init__(self, stream: IO[bytes], digest: Any) -> None:
        self._stream = stream
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        return data


_HEAD_BYTES: Final = 1 << 16
_NEXT_LINK: Final = re.compile(rb'"@odata\.nextLink"\s*:')


def _head(path: Path) -> tuple[bytes, bytes]:
    """The first non-blank byte and the ``@odata`` fields before ``value`` (or b'')."""
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(max(0, size - 4096))
        tail = stream.read()
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError("is empty: expected a Graph export (JSON)", source=path)
    return text[:1], tail


def _check_context(path: Path, kind: ExportKind, first: bytes) -> tuple[str, bool]:
    """The ``@odata.context`` of an object export, and whether it has ``@odata.nextLink``
    before its records; refuse a context that names another export."""
    context, next_link = "", False
    if first != b"{":
        return context, next_link
    with path.open("rb") as stream:
        try:
            for prefix, event, value in ijson.parse(stream):
                if prefix == "@odata.context" and event == "string":
                    context = str(value)
                elif prefix == "@odata.nextLink":
                    next_link = True
                elif prefix == "value" and event == "start_array":
                    break
        except ijson.JSONError:
            pass  # reported with the record index by the main pass
    for other in KINDS:
        if other is not kind and other.context.lower() in context.lower():
            raise InputError(
                f"is a {other.name} export ({other.call}; @odata.context {context!r}), "
                f"not {kind.name} ({kind.call}): give it as {other.option}",
                source=path,
            )
    return context, next_link


def _check_type(path: Path, kind: ExportKind, where: str, record: dict[str, Any]) -> None:
    """Refuse a first record that looks like another export's."""
    keys = set(record)
    if keys & kind.signature:
        return
    for other in KINDS:
        if other is not kind and len(keys & other.signature) >= 2:
            raise InputError(
                f"looks like a {other.name} export ({other.call}: it has "
                + ", ".join(sorted(keys & other.signature))
                + f"), not {kind.name} ({kind.call}); give it as {other.option}",
                source=path,
                field=where,
            )


def iter_records(
    paths: list[Path], kind: ExportKind, stats: ReadStats
) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Yield ``(file, where, record)`` for every record of every file, incrementally.

    ``where`` names the record (``value[12]``, or ``[12]`` in a bare list).

    Raises
    ------
    InputError
        For a missing, empty, truncated or invalid file, one of another export type, or a
        record that is not an object.
    """
    stats.files.setdefault(kind.name, [])
    paged = 0
    for path in paths:
        if not path.is_file():
            raise InputError("not found (or not a file)", source=path, field=kind.option)
        stats.files[kind.name].append(str(path))
        first, tail = _head(path)
        if first not in (b"{", b"["):
            raise InputError(
                "is not a Graph export: expected a JSON object with 'value' or a list",
                source=path,
            )
        _, next_link = _check_context(path, kind, first)
        after = tail.rsplit(b"]", 1)[-1]
        if next_link or _NEXT_LINK.search(after):
            paged += 1
        yield from _records(path, kind, first, stats)
    if paths and paged == len(paths):  # N pages have N - 1 nextLinks: one is missing
        stats.more_pages.append(kind.option)


def _records(
    path: Path, kind: ExportKind, first: bytes, stats: ReadStats
) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    prefix, label = ("item", "") if first == b"[" else ("value.item", "value")
    digest = hashlib.sha256()
    index = -1
    try:
        with path.open("rb") as raw:
            for index, record in enumerate(
                ijson.items(_HashingReader(raw, digest), prefix, buf_size=1 << 16)
            ):
                where = f"{label}[{index}]"
                if not isinstance(record, dict):
                    raise InputError("is not a JSON object", source=path, field=where)
                if index == 0:
                    _check_type(path, kind, where, record)
                stats.read[kind.name] += 1
                yield path, where, record
            raw.read()  # hash what follows the last record too
    except ijson.JSONError as exc:
        after = f"after {label}[{index}]" if index >= 0 else "before the first record"
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid JSON"
        raise InputError(f"truncated or invalid JSON {after} ({problem})", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    if index < 0 and first == b"{":
        _check_has_value(path)
    stats.sha256[str(path)] = digest.hexdigest()


def _check_has_value(path: Path) -> None:
    """An object export without records must at least have a ``value`` list."""
    with path.open("rb") as stream:
        for prefix, event, _ in ijson.parse(stream):
            if prefix == "value" and event == "start_array":
                return
    raise InputError("has no 'value' list: not a Graph collection export", source=path)


# ----------------------------------------------------------------------------- fields


def get(record: dict[str, Any], dotted: str) -> Any:
    """``record["a"]["b"]`` for ``"a.b"``; None when any part is missing or null."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def need(record: dict[str, Any], dotted: str, path: Path, where: str) -> Any:
    """A field condlaunch needs: missing or null is an :class:`InputError`."""
    value = get(record, dotted)
    if value is None or value == "":
        raise InputError(f"has no {dotted!r}, which condlaunch needs", source=path, field=where)
    return value


def minutes(text: Any, path: Path, where: str, name: str) -> float:
    """A Graph ``DateTimeOffset`` as minutes since the Unix epoch (UTC)."""
    try:
        stamp = datetime.fromisoformat(str(text))
    except ValueError:
        raise InputError(
            f"{name} {text!r} is not an ISO 8601 date-time", source=path, field=where
        ) from None
    if stamp.tzinfo is None:
        raise InputError(f"{name} {text!r} has no time zone", source=path, field=where)
    return stamp.timestamp() / 60.0


def device_id(value: Any) -> str | None:
    """A normalised Entra device id (lower case), None for missing or the zero id."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    return None if text == ZERO_ID else text


def is_ios(value: Any) -> bool:
    """Whether an operating-system field names iOS or iPadOS."""
    return isinstance(value, str) and value.strip().lower() in IOS_NAMES


# ----------------------------------------------------------------------------- exports


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """An iOS device of the Intune inventory (``managedDevice``)."""

    device_id: str
    user_id: str | None
    upn: str | None
    management: str
    """``mdm``, or ``emm`` when the mapping names its management agent or id."""
    enrolled: float | None
    jailbroken: bool


def read_devices(paths: list[Path], mapping: Mapping, stats: ReadStats) -> dict[str, DeviceRecord]:
    """iOS devices of ``managedDevices`` exports, by Entra device id."""
    devices: dict[str, DeviceRecord] = {}
    for path, where, record in iter_records(paths, DEVICES, stats):
        if not is_ios(need(record, "operatingSystem", path, where)):
            stats.ignore(DEVICES, "not iOS/iPadOS")
            continue
        ident = device_id(record.get("azureADDeviceId"))
        if ident is None:
            stats.ignore(DEVICES, "no azureADDeviceId (not registered in Entra)")
            continue
        agent = str(record.get("managementAgent") or "").lower()
        emm = agent in mapping.emm_management_agents or ident in mapping.emm_device_ids
        enrolled = record.get("enrolledDateTime")
        devices[ident] = DeviceRecord(
            device_id=ident,
            user_id=_lower(record.get("userId")),
            upn=_lower(record.get("userPrincipalName")),
            management="emm" if emm else "mdm",
            enrolled=minutes(enrolled, path, where, "enrolledDateTime") if enrolled else None,
            jailbroken=str(record.get("jailBroken") or "").lower() == "true",
        )
    return devices


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class AppRegistration:
    """A protected app registered on an iOS device (``iosManagedAppRegistration``)."""

    device_id: str
    user_id: str
    app: str
    created: float | None


_IOS_REGISTRATION: Final = "#microsoft.graph.iosmanagedappregistration"


def read_app_registrations(
    paths: list[Path], mapping: Mapping, stats: ReadStats
) -> list[AppRegistration]:
    """iOS app registrations of apps in the mapping's app table."""
    out: list[AppRegistration] = []
    for path, where, record in iter_records(paths, APP_REGISTRATIONS, stats):
        odata_type = str(record.get("@odata.type") or "").lower()
        if odata_type and odata_type != _IOS_REGISTRATION:
            stats.ignore(APP_REGISTRATIONS, "not iOS (another @odata.type)")
            continue
        bundle = str(need(record, "appIdentifier.bundleId", path, where))
        user = str(need(record, "userId", path, where)).lower()
        ident = device_id(record.get("azureADDeviceId"))
        if ident is None:
            stats.ignore(APP_REGISTRATIONS, "no azureADDeviceId")
            continue
        app = mapping.app_for_bundle(bundle)
        if app is None:
            stats.ignore(APP_REGISTRATIONS, "app not in the app table")
            continue
        created = record.get("createdDateTime")
        out.append(
            AppRegistration(
                ident,
                user,
                app,
                minutes(created, path, where, "createdDateTime") if created else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A Defender alert on an iOS device, with its observed times (epoch minutes)."""

    alert_id: str
    device_id: str
    kind: str
    severity: str
    onset: float
    detected: float
    resolved: float | None
    title: str


_SEVERITIES: Final = frozenset({"low", "medium", "high"})
_DEVICE_EVIDENCE: Final = "#microsoft.graph.security.deviceevidence"


def read_alerts(paths: list[Path], mapping: Mapping, stats: ReadStats) -> list[AlertRecord]:
    """Alerts with iOS device evidence; one :class:`AlertRecord` per alert and device."""
    out: list[AlertRecord] = []
    for path, where, record in iter_records(paths, ALERTS, stats):
        alert_id = str(need(record, "id", path, where))
        severity = str(need(record, "severity", path, where)).lower()
        detected = minutes(
            need(record, "createdDateTime", path, where), path, where, "createdDateTime"
        )
        evidence = record.get("evidence")
        if not isinstance(evidence, list):
            raise InputError(
                "has no 'evidence' list, which condlaunch needs", source=path, field=where
            )
        ios = [
            e
            for e in evidence
            if isinstance(e, dict)
            and str(e.get("@odata.type") or "").lower() == _DEVICE_EVIDENCE
            and is_ios(e.get("osPlatform"))
        ]
        if not ios:
            stats.ignore(ALERTS, "no iOS/iPadOS device evidence")
            continue
        if severity not in _SEVERITIES:
            stats.ignore(ALERTS, f"severity {severity!r} (only low, medium, high raise the level)")
            continue
        first = record.get("firstActivityDateTime")
        onset = minutes(first, path, where, "firstActivityDateTime") if first else detected
        resolved_text = record.get("resolvedDateTime")
        resolved = (
            minutes(resolved_text, path, where, "resolvedDateTime") if resolved_text else None
        )
        kind = mapping.kind_for(record)
        for evidence_item in ios:
            ident = device_id(evidence_item.get("azureAdDeviceId"))
            if ident is None:
                stats.ignore(ALERTS, "iOS device evidence without azureAdDeviceId")
                continue
            out.append(
                AlertRecord(
                    alert_id,
                    ident,
                    kind,
                    severity,
                    min(onset, detected),
                    detected,
                    resolved,
                    str(record.get("title") or ""),
                )
            )
    return out


@dataclass
class SignIns:
    """Successful iOS sign-ins per (device, app), epoch minutes, unsorted (compact arrays)."""

    times: dict[tuple[str, str], array[float]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    """Device id → the user (UPN) of its sign-ins."""

    def add(self, device: str, app: str, at: float, user: str | None) -> None:
        """Record one sign-in."""
        times = self.times.get((device, app))
        if times is None:
            times = self.times[(device, app)] = array("d")
            if user is not None:
                self.users.setdefault(device, user)
        times.append(at)

    def count(self) -> int:
        """Sign-ins recorded."""
        return sum(len(t) for t in self.times.values())


def read_signins(
    paths: list[Path],
    mapping: Mapping,
    stats: ReadStats,
    keep: Callable[[str], bool] | None = None,
) -> SignIns:
    """Successful iOS sign-ins of apps in the app table (``keep``: only these devices)."""
    out = SignIns()
    ignored: Counter[str] = Counter()
    ios, zero, app_for = IOS_NAMES, ZERO_ID, mapping.app_for_sign_in
    for path, where, record in iter_records(paths, SIGNINS, stats):
        # The hot loop of a large export: plain dict look-ups, no helpers on the way.
        created, name = record.get("createdDateTime"), record.get("appDisplayName")
        if not created or not name:
            need(record, "appDisplayName" if created else "createdDateTime", path, where)
        detail = record.get("deviceDetail")
        system = detail.get("operatingSystem") if isinstance(detail, dict) else None
        if not isinstance(system, str) or system.strip().lower() not in ios:
            ignored["not iOS/iPadOS"] += 1
            continue
        status = record.get("status")
        code = status.get("errorCode") if isinstance(status, dict) else None
        if code not in (None, 0, "0"):
            ignored["failed (status.errorCode ≠ 0)"] += 1
            continue
        ident = detail.get("deviceId")  # type: ignore[union-attr]
        ident = ident.strip().lower() if isinstance(ident, str) else ""
        if not ident or ident == zero:
            ignored["no deviceDetail.deviceId (device not registered)"] += 1
            continue
        app = app_for(str(name))
        if app is None:
            ignored["app not in the app table"] += 1
            continue
        if keep is not None and not keep(ident):
            ignored["device has no app registration or Intune record"] += 1
            continue
        at = minutes(created, path, where, "createdDateTime")
        out.add(ident, app, at, _lower(record.get("userPrincipalName")))
    for reason, count in ignored.items():
        stats.ignore(SIGNINS, reason, count)
    return out
