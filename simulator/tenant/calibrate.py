"""Fit a scenario to a tenant's exports: every fitted number with its source, sample size
and 95% interval; every number the exports cannot identify kept at its default, saying so.

What is fitted from what (``docs/tenant.md`` gives the derivations):

==========================  =================================================================
``fleet.users``              distinct users of the iOS fleet (devices + app registrations)
``fleet.management``         each user's primary device: Intune MDM record → mdm; registrations
                             only → mam_we; named by the mapping → emm (Wilson intervals)
``fleet.second_device_share``  users with two or more iOS devices
``apps[].share``             devices with the app registered or signed in to
``apps[].sessions_per_day``  sessions from sign-ins (``replay.session_starts``)
                             per device-day, weekend days weighted by the weekend factor
``launches.working_share``   weekday sessions inside the working hours (local time)
``launches.weekend_factor``  sessions per weekend day / per weekday
``threats[]``                per kind (alert → kind table): detected episodes per device-year,
                             divided by the default detection probability (and VPN share for
                             web kinds); severity mix; detection delay (``createdDateTime`` −
                             ``firstActivityDateTime``) and duration (``resolvedDateTime`` −
                             onset; unresolved alerts right-censored) as lognormal fits
``horizon``                  the export window
==========================  =================================================================

Not identifiable from these exports, and kept at the base scenario's values: detection
probability, VPN share, Defender → Intune delay, session length, nudged remediation,
alert-resolve delay, offline periods, onboarding, IntuneMAMUPN shares, working hours.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from simulator.scenario.models import (
    WEB_KINDS,
    Dist,
    ScenarioModel,
    ThreatModel,
    _default_threats,
)
from simulator.tenant import DEFAULT_SESSION_GAP
from simulator.tenant.inventory import DAY_MIN, Tenant
from simulator.tenant.mapping import OTHER_AS, OTHER_KIND
from simulator.tenant.replay import session_starts

Z95: Final = 1.959963984540054
Z90: Final = 1.2815515655446004
YEAR_MIN: Final = 365.0 * DAY_MIN
MIN_SAMPLE: Final = 5
"""Fewer observations than this keep the default (a fit would say nothing)."""


# ------------------------------------------------------------------------------- statistics


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a share ``k / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def poisson_interval(k: int) -> tuple[float, float]:
    """Approximate 95% interval of a Poisson count (Wilson–Hilferty, close to exact)."""
    lower = 0.0 if k == 0 else k * (1 - 1 / (9 * k) - Z95 / (3 * math.sqrt(k))) ** 3
    upper = (k + 1) * (1 - 1 / (9 * (k + 1)) + Z95 / (3 * math.sqrt(k + 1))) ** 3
    return (max(0.0, lower), upper)


@dataclass(frozen=True)
class LognormalFit:
    """A lognormal fit (``mu``, ``sigma`` of the log, minutes) with approximate intervals."""

    mu: float
    sigma: float
    observed: int
    censored: int

    @property
    def median(self) -> float:
        """Median, minutes."""
        return math.exp(self.mu)

    @property
    def p90(self) -> float:
        """90th percentile, minutes."""
        return math.exp(self.mu + Z90 * self.sigma)

    def intervals(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Approximate 95% intervals of the median and the p90 (normal theory on the log
        scale, with the observed count as the sample size)."""
        n = max(self.observed, 2)
        se_mu = self.sigma / math.sqrt(n)
        se_q = math.sqrt(self.sigma**2 / n + Z90**2 * self.sigma**2 / (2 * (n - 1)))
        q = self.mu + Z90 * self.sigma
        return (
            (math.exp(self.mu - Z95 * se_mu), math.exp(self.mu + Z95 * se_mu)),
            (math.exp(q - Z95 * se_q), math.exp(q + Z95 * se_q)),
        )

    def cdf(self, minutes: np.ndarray) -> np.ndarray:
        """The fitted distribution function at ``minutes``."""
        x = np.maximum(np.asarray(minutes, dtype=float), 1e-12)
        return 1 - normal_sf((np.log(x) - self.mu) / max(self.sigma, 1e-9))


def normal_sf(z: np.ndarray) -> np.ndarray:
    """Standard normal survival function, vectorised (Abramowitz & Stegun 7.1.26 for erfc,
    absolute error below 1.5e-7: ample for a likelihood)."""
    x = np.abs(z) / math.sqrt(2)
    t = 1 / (1 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    upper = 0.5 * poly * np.exp(-x * x)  # P(Z > |z|)
    return np.asarray(np.where(z >= 0, upper, 1 - upper))


def fit_lognormal(observed: np.ndarray, censored: np.ndarray | None = None) -> LognormalFit:
    """Maximum-likelihood lognormal fit; ``censored`` are right-censored times (still
    running at the end of the window). Values are floored at 1 second."""
    x = np.log(np.maximum(np.asarray(observed, dtype=float), 1 / 60))
    c = np.log(np.maximum(np.asarray(censored if censored is not None else [], float), 1 / 60))
    mu = float(x.mean()) if x.size else float(c.mean())
    sigma = max(float(x.std()) if x.size > 1 else 1.0, 0.05)
    if c.size == 0:
        return LognormalFit(mu, sigma, int(x.size), 0)
    width_mu, width_s = 3.0 * sigma + 2.0, 0.9
    for _ in range(6):  # grid search, narrowing around the best point
        mus = np.linspace(mu - width_mu, mu + width_mu, 41)
        sigmas = np.exp(np.linspace(math.log(sigma) - width_s, math.log(sigma) + width_s, 41))
        best = (-math.inf, mu, sigma)
        for s in sigmas:
            zx = (x[:, None] - mus[None, :]) / s
            zc = (c[:, None] - mus[None, :]) / s
            ll = (-0.5 * zx**2 - math.log(s)).sum(axis=0)
            ll = ll + np.log(np.maximum(normal_sf(zc), 1e-300)).sum(axis=0)
            j = int(np.argmax(ll))
            if ll[j] > best[0]:
                best = (float(ll[j]), float(mus[j]), float(s))
        _, mu, sigma = best
        width_mu, width_s = width_mu / 5, width_s / 5
    return LognormalFit(mu, sigma, int(x.size), int(c.size))


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fit:
    """One parameter of the written scenario and where its value comes from."""

    field: str
    value: Any
    source: str
    n: int | None = None
    interval: tuple[Any, Any] | None = None
    fitted: bool = True
    note: str = ""
    interval_text: str = ""
    """The interval as people read it, when it is not two plain numbers (durations)."""

    def comment(self) -> str:
        """The TOML comment of this field: source, sample size, 95% interval or why not."""
        if not self.fitted:
            return f"not fitted: {self.note}" if self.note else "not fitted: default kept"
        parts = [self.source]
        if self.n is not None:
            parts.append(f"n = {self.n:,}")
        if self.interval is not None:
            lo, hi = self.interval
            parts.append(f"95% interval {_show(lo)} – {_show(hi)}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


@dataclass
class KindEvidence:
    """What the page shows for one threat kind."""

    delays: np.ndarray
    durations: np.ndarray
    censored: np.ndarray
    delay_fit: LognormalFit | None
    duration_fit: LognormalFit | None
    severities: Counter[str]


@dataclass
class Calibration:
    """The fitted scenario (as fields), and the evidence behind it."""

    fits: list[Fit] = field(default_factory=list)
    threats: list[dict[str, Any]] = field(default_factory=list)
    """One table per ``[[threats]]`` entry: ``kind`` and field → :class:`Fit`."""
    apps: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, KindEvidence] = field(default_factory=dict)
    alert_kinds: Counter[str] = field(default_factory=Counter)
    weekday_hours: np.ndarray = field(default_factory=lambda: np.zeros(24))
    day_rates: dict[str, float] = field(default_factory=dict)
    apps_per_device: Counter[int] = field(default_factory=Counter)
    working_hours: tuple[int, int] = (8, 18)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> Fit:
        """The fit of a top-level field."""
        return next(f for f in self.fits if f.field == name)


@dataclass(frozen=True)
class CalibrationSettings:
    """Choices the user makes: time zone of the working hours, the session gap."""

    utc_offset_hours: float = 0.0
    session_gap: float = DEFAULT_SESSION_GAP


def calibrate(
    tenant: Tenant, base: ScenarioModel, settings: CalibrationSettings | None = None
) -> Calibration:
    """Fit what the exports identify (module docstring); the rest comes from ``base``."""
    settings = settings or CalibrationSettings()
    out = Calibration(working_hours=base.launches.working_hours)
    days = tenant.horizon / DAY_MIN
    out.fits.append(Fit("horizon", tenant.horizon, "export window", n=None, note=f"{days:g} days"))
    _fit_fleet(tenant, base, out)
    _fit_apps(tenant, base, settings, out)
    _fit_threats(tenant, base, out)
    return out


def _fit_fleet(tenant: Tenant, base: ScenarioModel, out: Calibration) -> None:
    inventory = bool(tenant.exports.devices or tenant.exports.app_registrations)
    source = "devices + app registrations" if inventory else "sign-ins + alerts"
    users = tenant.users()
    n = len(users)
    if n == 0 or not (inventory or tenant.exports.signins):
        out.notes.append(
            "no device inventory (--devices, --app-registrations) or sign-ins: the fleet "
            "keeps its defaults"
        )
        return
    out.fits.append(Fit("fleet.users", n, source, n=n, note="distinct users"))
    order = {"mdm": 0, "emm": 1, "mam_we": 2}
    primary = Counter(
        min((d.management for d in ds), key=order.__getitem__) for ds in users.values()
    )
    shares = _shares({m: primary[m] for m in ("mdm", "mam_we", "emm")})
    for name in ("mdm", "mam_we", "emm"):
        if inventory:
            out.fits.append(
                Fit(
                    f"fleet.management.{name}",
                    shares[name],
                    "primary device per user: " + source,
                    n=n,
                    interval=wilson(primary[name], n),
                )
            )
        else:
            default = getattr((base.fleet or _fleet_default()).management, name)
            out.fits.append(
                Fit(
                    f"fleet.management.{name}",
                    default,
                    source,
                    fitted=False,
                    note="no Intune inventory given: default kept",
                )
            )
    two = sum(1 for ds in users.values() if len(ds) > 1)
    out.fits.append(
        Fit(
            "fleet.second_device_share",
            two / n,
            source + ": users with 2+ iOS devices",
            n=n,
            interval=wilson(two, n),
        )
    )
    fleet = base.fleet or _fleet_default()
    for name in ("emm_passes_upn", "mdm_passes_upn"):
        out.fits.append(
            Fit(
                f"fleet.{name}",
                getattr(fleet, name),
                "",
                fitted=False,
                note="not in these exports (an app configuration): default kept",
            )
        )
    out.apps_per_device = Counter(len(d.apps) for d in tenant.devices.values())


def _fleet_default() -> Any:
    from simulator.scenario.models import FleetModel

    return FleetModel()


def _shares(counts: dict[str, int]) -> dict[str, float]:
    """Shares rounded to 4 decimals that still sum to exactly 1 (the largest absorbs it)."""
    total = sum(counts.values())
    if total == 0:
        return {k: 1.0 / len(counts) for k in counts}
    shares = {k: round(v / total, 4) for k, v in counts.items()}
    largest = max(shares, key=lambda k: shares[k])
    shares[largest] = round(1.0 - sum(v for k, v in shares.items() if k != largest), 4)
    return shares


def _local_days(tenant: Tenant, offset_min: float) -> tuple[int, int]:
    """Weekdays and weekend days in the window (local time)."""
    first = math.floor((tenant.start + offset_min) / DAY_MIN)
    last = math.ceil((tenant.end + offset_min) / DAY_MIN)
    weekday = sum(1 for d in range(first, last) if (d + 3) % 7 < 5)  # epoch day 0: Thursday
    return weekday, (last - first) - weekday


def _fit_apps(
    tenant: Tenant, base: ScenarioModel, settings: CalibrationSettings, out: Calibration
) -> None:
    offset = settings.utc_offset_hours * 60.0
    h0, h1 = base.launches.working_hours
    per_app: dict[str, list[int]] = {}
    weekday_hours = np.zeros(24)
    weekend_sessions = weekday_sessions = 0
    for (_device, app), times in tenant.signins.times.items():
        starts = session_starts(times, settings.session_gap) + offset
        per_app.setdefault(app, []).append(int(starts.size))
        day = np.floor(starts / DAY_MIN).astype(int)
        weekday = (day + 3) % 7 < 5
        hours = np.floor((starts - day * DAY_MIN) / 60).astype(int) % 24
        weekday_hours += np.bincount(hours[weekday], minlength=24)
        weekday_sessions += int(weekday.sum())
        weekend_sessions += int((~weekday).sum())
    n_weekdays, n_weekend = _local_days(tenant, offset)
    out.weekday_hours = weekday_hours
    signins = bool(tenant.exports.signins) and weekday_sessions > 0
    factor = base.launches.weekend_factor
    if signins and n_weekdays and n_weekend:
        a = weekend_sessions / n_weekend
        b = weekday_sessions / n_weekdays
        factor = a / b
        se = math.sqrt(1 / max(weekend_sessions, 1) + 1 / weekday_sessions)
        out.day_rates = {"weekday": b, "weekend": a}
        out.fits.append(
            Fit(
                "launches.weekend_factor",
                round(factor, 4),
                "sign-ins: sessions per weekend day / per weekday",
                n=weekday_sessions + weekend_sessions,
                interval=(factor * math.exp(-Z95 * se), factor * math.exp(Z95 * se)),
            )
        )
    else:
        out.fits.append(
            Fit(
                "launches.weekend_factor",
                factor,
                "",
                fitted=False,
                note="no sign-ins on both weekdays and weekend days: default kept",
            )
        )
    if signins:
        inside = int(weekday_hours[h0:h1].sum())
        out.fits.append(
            Fit(
                "launches.working_share",
                round(inside / weekday_sessions, 4),
                f"sign-ins: weekday sessions in {h0}:00–{h1}:00 "
                f"(UTC{settings.utc_offset_hours:+g})",
                n=weekday_sessions,
                interval=wilson(inside, weekday_sessions),
            )
        )
    else:
        out.fits.append(
            Fit(
                "launches.working_share",
                base.launches.working_share,
                "",
                fitted=False,
                note="no sign-ins: default kept",
            )
        )
    _fit_app_table(tenant, base, per_app, n_weekdays + factor * n_weekend, settings, out)


def _fit_app_table(
    tenant: Tenant,
    base: ScenarioModel,
    per_app: dict[str, list[int]],
    effective_days: float,
    settings: CalibrationSettings,
    out: Calibration,
) -> None:
    defaults = {a.name: a for a in base.apps}
    seen = sorted({app for d in tenant.devices.values() for app in d.apps})
    n_devices = len(tenant.devices)
    for name in seen or [a.name for a in base.apps]:
        default = defaults.get(name) or base.apps[0].model_copy(update={"name": name})
        users = [d for d in tenant.devices.values() if name in d.apps]
        entry: dict[str, Any] = {"name": name}
        if n_devices and seen:
            entry["share"] = Fit(
                "share",
                round(len(users) / n_devices, 4),
                "devices with the app registered or signed in",
                n=n_devices,
                interval=wilson(len(users), n_devices),
            )
        else:
            entry["share"] = Fit("share", default.share, "", fitted=False)
        counts = np.array(per_app.get(name, []) + [0] * (len(users) - len(per_app.get(name, []))))
        if counts.size and counts.sum() > 0 and effective_days > 0:
            rate = counts.mean() / effective_days
            se = (
                counts.std(ddof=1) / math.sqrt(counts.size) / effective_days
                if counts.size > 1
                else rate
            )
            entry["sessions_per_day"] = Fit(
                "sessions_per_day",
                round(rate, 3),
                f"sign-ins: sessions per device-weekday (gap {settings.session_gap:g} min "
                "joins a burst)",
                n=int(counts.size),
                interval=(max(0.0, rate - Z95 * se), rate + Z95 * se),
                note="a lower bound where apps reuse tokens across launches (docs/tenant.md)",
            )
        else:
            entry["sessions_per_day"] = Fit(
                "sessions_per_day",
                default.sessions_per_day,
                "",
                fitted=False,
                note="no sign-ins: default kept",
            )
        entry["session_length"] = Fit(
            "session_length",
            default.session_length,
            "",
            fitted=False,
            note="sign-ins say when, not how long: default kept",
        )
        out.apps.append(entry)


def _threat_defaults(base: ScenarioModel, kind: str) -> ThreatModel:
    for threat in base.threats:
        if threat.kind == kind:
            return threat
    for threat in _default_threats():
        if threat.kind == kind:
            return threat
    return ThreatModel(kind=kind, rate_per_device_year=0.0)  # type: ignore[arg-type]


def _fit_threats(tenant: Tenant, base: ScenarioModel, out: Calibration) -> None:
    if not tenant.exports.alerts:
        out.notes.append("no --alerts: threats keep the base scenario's values")
        out.threats = [{"kind": t.kind, "model": t} for t in base.threats]
        return
    joined = {key: tenant.present_from(d) for key, d in tenant.devices.items()}
    in_window = [
        a for a in tenant.alerts if joined.get(a.device_id, tenant.start) <= a.onset < tenant.end
    ]
    out.alert_kinds = Counter(a.kind for a in tenant.alerts)
    device_years = tenant.device_years()  # each device from its enrolment (enrolledDateTime)
    kinds = sorted({a.kind for a in in_window} | {t.kind for t in base.threats})
    for kind in kinds:
        alerts = [a for a in in_window if a.kind == kind]
        scenario_kind = OTHER_AS if kind == OTHER_KIND else kind
        default = _threat_defaults(base, scenario_kind)
        out.threats.append(
            _fit_kind(kind, scenario_kind, alerts, default, base, device_years, tenant, out)
        )


def _fit_kind(
    kind: str,
    scenario_kind: str,
    alerts: list[Any],
    default: ThreatModel,
    base: ScenarioModel,
    device_years: float,
    tenant: Tenant,
    out: Calibration,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": scenario_kind, "model": default, "label": kind}
    k = len(alerts)
    seen = default.detection_probability
    web = scenario_kind in WEB_KINDS
    if web:
        seen *= base.onboarding.vpn_on_share
    lo, hi = poisson_interval(k)
    scale = 1.0 / (max(device_years, 1e-12) * max(seen, 1e-9))
    what = "detection probability" + (" × VPN share" if web else "")
    if not (tenant.exports.devices or tenant.exports.app_registrations or tenant.exports.signins):
        entry["rate_per_device_year"] = Fit(
            "rate_per_device_year",
            default.rate_per_device_year,
            "",
            fitted=False,
            note="no device inventory or sign-ins: the number of devices is unknown",
        )
    else:
        entry["rate_per_device_year"] = Fit(
            "rate_per_device_year",
            round(k * scale, 4),
            f"alerts: {k} episodes with onset in the window / {device_years:.4g} device-years / "
            f"{what} {seen:g} (assumed)",
            n=k,
            interval=(lo * scale, hi * scale),
        )
    severities = Counter(a.severity for a in alerts)
    if scenario_kind == "jailbreak":
        entry["severity"] = Fit(
            "severity", {"high": 1.0}, "", fitted=False, note="a jailbreak is always high [doc]"
        )
    elif k >= MIN_SAMPLE:
        shares = _shares({s: severities[s] for s in ("low", "medium", "high")})
        intervals = {s: wilson(severities[s], k) for s in ("low", "medium", "high")}
        entry["severity"] = Fit(
            "severity",
            shares,
            "alerts: severity",
            n=k,
            note="95% intervals "
            + ", ".join(f"{s} {a:.2f}–{b:.2f}" for s, (a, b) in intervals.items()),
        )
    else:
        entry["severity"] = Fit(
            "severity",
            default.severity.model_dump(),
            "",
            fitted=False,
            note=f"{k} alerts (< {MIN_SAMPLE}): default kept",
        )
    delays = np.array([a.detected - a.onset for a in alerts])
    ended = [a.resolved is not None and a.resolved <= tenant.end for a in alerts]
    durations = np.array(
        [a.resolved - a.onset for a, done in zip(alerts, ended, strict=True) if done]
    )
    # right-censored: still open at the window's end (a membership test per alert was
    # quadratic: 98 s of calibrate at 50,000 devices)
    censored = np.array(
        [tenant.end - a.onset for a, done in zip(alerts, ended, strict=True) if not done]
    )
    delay_fit = fit_lognormal(delays) if delays.size >= MIN_SAMPLE else None
    duration_fit = fit_lognormal(durations, censored) if durations.size >= MIN_SAMPLE else None
    entry["detection_delay"] = _dist_fit(
        "detection_delay",
        delay_fit,
        default.detection_delay,
        "alerts: createdDateTime − firstActivityDateTime",
        k,
    )
    entry["natural_duration"] = _dist_fit(
        "natural_duration",
        duration_fit,
        default.natural_duration,
        f"alerts: resolvedDateTime − onset, {censored.size} unresolved right-censored "
        "(as observed under the tenant's current policy)",
        k,
    )
    out.kinds[kind] = KindEvidence(delays, durations, censored, delay_fit, duration_fit, severities)
    return entry


def _dist_fit(name: str, fit: LognormalFit | None, default: Dist, source: str, k: int) -> Fit:
    if fit is None:
        return Fit(
            name,
            default,
            "",
            fitted=False,
            note=f"{k} alerts (< {MIN_SAMPLE} usable): default kept",
        )
    (m_lo, m_hi), (p_lo, p_hi) = fit.intervals()
    if fit.sigma < 0.01:
        return Fit(
            name,
            Dist(dist="fixed", value=nice_minutes(fit.median)),
            source,
            n=fit.observed,
            interval=(m_lo, m_hi),
            note="all equal: fixed",
        )
    value = Dist(
        dist="lognormal",
        median=nice_minutes(fit.median),
        p90=max(nice_minutes(fit.p90), nice_minutes(fit.median)),
    )
    return Fit(
        name,
        value,
        source + " (lognormal MLE)",
        n=fit.observed,
        note=f"95% intervals median {duration_text(m_lo)}–{duration_text(m_hi)}, "
        f"p90 {duration_text(p_lo)}–{duration_text(p_hi)}",
    )


def nice_minutes(minutes: float) -> float:
    """A fitted duration rounded to what a person writes (s, m, 0.1 h, 0.1 d)."""
    if minutes < 1:
        return max(round(minutes * 60), 1) / 60
    if minutes < 120:
        return float(round(minutes))
    if minutes < 3 * DAY_MIN:
        return round(minutes / 60, 1) * 60
    return round(minutes / DAY_MIN, 1) * DAY_MIN


def duration_text(minutes: float) -> str:
    """A duration as the TOML files write it (``"45s"``, ``"12m"``, ``"1.5h"``, ``"3.4d"``)."""
    if math.isinf(minutes):
        return "never"
    if minutes < 1:
        return f"{round(minutes * 60)}s"
    if minutes < 120:
        return f"{minutes:.3g}m"
    if minutes < 3 * DAY_MIN:
        return f"{minutes / 60:.3g}h"
    return f"{minutes / DAY_MIN:.3g}d"
