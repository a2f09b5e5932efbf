"""A tenant's exports joined into one picture: devices, their apps, alerts, sign-ins, window.

Devices are joined by their Entra device id (``azureADDeviceId`` in Intune,
``azureAdDeviceId`` in Defender evidence, ``deviceDetail.deviceId`` in sign-ins).

* The **fleet** is every iOS device with an Intune MDM record or a protected-app
  registration. A device with registrations but no MDM record is ``mam_we``, unless the
  mapping names it as a third-party EMM's (``emm``). Given neither inventory export, the
  fleet is the iOS devices seen in sign-ins and alerts, all taken as ``mam_we`` (a note
  says so).
* A device's **apps** are its registered apps plus those it signed in to.
* Its **user** is the Entra user id of its records (the UPN when no id is given).
* The **window** is ``[start, end)``: given, or from the first to the last sign-in or
  alert, widened to whole UTC days. Records outside it are ignored and counted.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.errors import InputError
from simulator.tenant.mapping import Mapping
from simulator.tenant.readers import (
    ALERTS,
    SIGNINS,
    AlertRecord,
    ReadStats,
    SignIns,
    read_alerts,
    read_app_registrations,
    read_devices,
    read_signins,
)

DAY_MIN = 1440.0


@dataclass
class TenantDevice:
    """One iOS device of the fleet."""

    device_id: str
    user: str
    management: str
    apps: set[str] = field(default_factory=set)
    jailbroken: bool = False
    """Intune's ``jailBroken`` says "True" (MDM devices only)."""
    enrolled: float | None = None
    """Intune's ``enrolledDateTime`` (minutes since the epoch), when the export has it."""


@dataclass
class Exports:
    """The files of each input (every list may be empty)."""

    alerts: list[Path] = field(default_factory=list)
    devices: list[Path] = field(default_factory=list)
    app_registrations: list[Path] = field(default_factory=list)
    signins: list[Path] = field(default_factory=list)

    def all_files(self) -> list[Path]:
        """Every input file."""
        return [*self.alerts, *self.devices, *self.app_registrations, *self.signins]


@dataclass
class Tenant:
    """The joined exports. Times are minutes since the Unix epoch (UTC)."""

    start: float
    end: float
    devices: dict[str, TenantDevice]
    alerts: list[AlertRecord]
    signins: SignIns
    stats: ReadStats
    exports: Exports
    notes: list[str] = field(default_factory=list)
    _by_device: dict[str, list[AlertRecord]] | None = field(default=None, repr=False)

    @property
    def horizon(self) -> float:
        """Length of the window, minutes."""
        return self.end - self.start

    def alerts_by_device(self) -> dict[str, list[AlertRecord]]:
        """Alerts per device id (computed once)."""
        if self._by_device is None:
            self._by_device = {}
            for alert in self.alerts:
                self._by_device.setdefault(alert.device_id, []).append(alert)
        return self._by_device

    def present_from(self, device: TenantDevice) -> float:
        """When ``device`` joins the fleet (epoch minutes): the window's start, or its
        enrolment when it enrolled in Intune later (``enrolledDateTime``)."""
        if device.enrolled is None:
            return self.start
        return max(self.start, device.enrolled)

    def device_years(self) -> float:
        """Device-years in the window: each device counted from :meth:`present_from`."""
        minutes = sum(max(0.0, self.end - self.present_from(d)) for d in self.devices.values())
        return minutes / (365.0 * DAY_MIN)

    def users(self) -> dict[str, list[TenantDevice]]:
        """Devices per user."""
        out: dict[str, list[TenantDevice]] = {}
        for device in self.devices.values():
            out.setdefault(device.user, []).append(device)
        return out


def load_tenant(
    exports: Exports,
    mapping: Mapping,
    *,
    start: float | None = None,
    end: float | None = None,
) -> Tenant:
    """Read every export once (incrementally) and join them.

    Raises
    ------
    InputError
        For bad input (naming the file and record), or when no date can be found to set
        the window.
    """
    stats = ReadStats()
    notes: list[str] = []
    devices: dict[str, TenantDevice] = {}
    for record in read_devices(exports.devices, mapping, stats).values():
        devices[record.device_id] = TenantDevice(
            record.device_id,
            record.user_id or record.upn or record.device_id,
            record.management,
            jailbroken=record.jailbroken,
            enrolled=record.enrolled,
        )
    for reg in read_app_registrations(exports.app_registrations, mapping, stats):
        device = devices.get(reg.device_id)
        if device is None:
            emm = reg.device_id in mapping.emm_device_ids
            device = devices[reg.device_id] = TenantDevice(
                reg.device_id, reg.user_id, "emm" if emm else "mam_we"
            )
        device.apps.add(reg.app)
    inventory = bool(exports.devices or exports.app_registrations)
    signins = read_signins(
        exports.signins, mapping, stats, keep=(lambda d: d in devices) if inventory else None
    )
    alerts = read_alerts(exports.alerts, mapping, stats)
    if not inventory:
        notes.append(
            "no --devices or --app-registrations: the fleet is the iOS devices seen in "
            "sign-ins and alerts, all taken as mam_we"
        )
        for device_key, _app in signins.times:
            devices.setdefault(
                device_key,
                TenantDevice(device_key, signins.users.get(device_key, device_key), "mam_we"),
            )
        for alert in alerts:
            devices.setdefault(
                alert.device_id, TenantDevice(alert.device_id, alert.device_id, "mam_we")
            )
    for (device_key, app), _times in signins.times.items():
        devices[device_key].apps.add(app)
    start, end = _window(signins, alerts, start, end)
    alerts = _alerts_in_window(alerts, devices, stats, start, end)
    _signins_in_window(signins, stats, start, end)
    tenant = Tenant(
        start, end, dict(sorted(devices.items())), alerts, signins, stats, exports, notes
    )
    _before_enrolment(tenant)
    return tenant


def _before_enrolment(tenant: Tenant) -> None:
    """A device that enrolled in Intune during the window exists from its enrolment: its
    earlier sign-ins are not played, nor alerts resolved before it (each counted)."""
    later = {
        key: tenant.present_from(d)
        for key, d in tenant.devices.items()
        if tenant.present_from(d) > tenant.start
    }
    if not later:
        return
    stats, signins = tenant.stats, tenant.signins
    for key in list(signins.times):
        joined = later.get(key[0])
        if joined is not None:
            _keep_times(signins, stats, key, joined, math.inf, "before the device's enrolment")
    kept_alerts = []
    for alert in tenant.alerts:
        joined = later.get(alert.device_id)
        if joined is not None and alert.resolved is not None and alert.resolved <= joined:
            stats.ignore(ALERTS, "resolved before the device's enrolment")
        else:
            kept_alerts.append(alert)
    tenant.alerts = kept_alerts
    enrolled_after = sum(1 for t in later.values() if t >= tenant.end)
    tenant.notes.append(
        f"{len(later)} device(s) enrolled in Intune during the window: each counts from its "
        "enrolledDateTime (device-years, sign-ins, alerts)"
        + (f"; {enrolled_after} enrolled after it and add nothing" if enrolled_after else "")
    )


def _window(
    signins: SignIns, alerts: list[AlertRecord], start: float | None, end: float | None
) -> tuple[float, float]:
    stamps = [t for times in signins.times.values() for t in (min(times), max(times))]
    stamps += [a.detected for a in alerts]
    if start is None:
        if not stamps:
            raise InputError(
                "no sign-ins or alerts to date the window from; give --start and --end",
                field="--start",
            )
        start = math.floor(min(stamps) / DAY_MIN) * DAY_MIN
    if end is None:
        later = [s for s in stamps if s >= start]
        last = max(later) if later else start
        end = max(math.floor(last / DAY_MIN) * DAY_MIN + DAY_MIN, start + DAY_MIN)
    if end <= start:
        raise InputError("must be after --start", field="--end")
    return start, end


def _alerts_in_window(
    alerts: list[AlertRecord],
    devices: dict[str, TenantDevice],
    stats: ReadStats,
    start: float,
    end: float,
) -> list[AlertRecord]:
    kept = []
    for alert in alerts:
        if alert.device_id not in devices:
            stats.ignore(ALERTS, "device not in the inventory")
        elif alert.detected >= end or alert.onset >= end:
            stats.ignore(ALERTS, "after the window")
        elif alert.resolved is not None and alert.resolved <= start:
            stats.ignore(ALERTS, "resolved before the window")
        else:
            kept.append(alert)
    return kept


def _signins_in_window(signins: SignIns, stats: ReadStats, start: float, end: float) -> None:
    for key in list(signins.times):
        _keep_times(signins, stats, key, start, end, "outside the window")


def _keep_times(
    signins: SignIns,
    stats: ReadStats,
    key: tuple[str, str],
    low: float,
    high: float,
    reason: str,
) -> None:
    """Keep the sign-in times of ``key`` in ``[low, high)``; count the others as ignored
    for ``reason`` (and drop the key when none is left)."""
    values = np.frombuffer(signins.times[key], dtype=np.float64)
    inside = values[(values >= low) & (values < high)]
    if inside.size == values.size:
        return
    stats.ignore(SIGNINS, reason, values.size - inside.size)
    if inside.size:
        kept = array("d")
        kept.frombytes(inside.tobytes())
        signins.times[key] = kept
    else:
        del signins.times[key]
