"""Scenario files as data: the pydantic models of every table, their defaults and limits.

A scenario file is TOML, validated here with pydantic (unknown fields are errors, every
error names the file and the field path). Two kinds of scenario exist:

* **random** — a ``[fleet]`` with shares and rates; the world is drawn from ``seed``;
* **scripted** — ``[script]`` lists devices and timed events explicitly (no randomness),
  for regression tests of policy semantics.

Defaults marked *illustrative* are plausible numbers chosen for this tool, not measured
figures: replace them with your own telemetry. Every behaviour parameter lives in
``[behavior]`` and is echoed in each run's ``manifest.json``.
"""

from __future__ import annotations

import difflib
import math
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from simulator._validation import AwareDatetime, Duration, FileModel, Name, parse_aware_datetime
from simulator.durations import DurationError, format_duration, parse_duration
from simulator.policy.behavior import (
    Behavior,
)
from simulator.policy.files import (
    InputNote,
    PolicyModel,
    policy_model_notes,
)
from simulator.policy.levels import ConnectorState, DefenderState, Management

Share = Annotated[float, Field(ge=0.0, le=1.0)]
LevelName = Literal["secured", "low", "medium", "high"]
ThreatKind = Literal["phishing", "network", "jailbreak", "os_vulnerability", "malware"]
WEB_KINDS: frozenset[str] = frozenset({"phishing", "network"})
"""Kinds that Defender detects only while its on-device VPN (web protection) is on."""
THREAT_KIND_BASIS: dict[str, str] = {
    "phishing": "Source: [S15] Defender on iOS 'offers protection against phishing and unsafe "
    "network connections from websites, emails, and apps'; [S17] Web Protection "
    "'Anti-phishing'. A web kind (needs the VPN, [S14]).",
    "network": "Source: [S17] Network Protection 'Protection against rogue Wi-Fi related "
    "threats and rogue certificates'; [S14] network protection. A web kind (Assumption: "
    "needs the VPN).",
    "jailbreak": "Source: [S17] 'Jailbreak Detection (iOS-only)'; [S14] a High-risk alert.",
    "os_vulnerability": "Source: [S14]/[S17] OS vulnerability assessment on iOS, MDM and MAM "
    "(Assumption: that a finding raises the device risk level).",
    "malware": "Assumption: not a documented Defender for Endpoint detection on iOS — [S17] "
    "lists 'Malware Protection (Android-only)'. Kept for what-if studies of a generic "
    "alert that needs no VPN; loading it gives a note.",
}
"""Why each kind exists: a documented Defender-for-iOS detection, or an assumption
(docs/semantics.md 3.3). Every :data:`ThreatKind` is listed."""
SCRIPTED_DEFAULT_KIND: ThreatKind = "phishing"
"""Kind of a scripted threat event that names none: the most documented iOS detection."""


class Dist(FileModel):
    """A distribution of durations.

    ``fixed`` (``value``), ``exponential`` (``mean``), ``uniform`` (``low``, ``high``),
    ``lognormal`` (``median`` and ``p90``), or ``never`` (infinite: the thing never happens).
    A bare duration (``"10m"``, ``"PT10M"``, or a number of minutes) is a fixed value:
    ``"10m"`` reads as ``{ dist = "fixed", value = "10m" }``.
    """

    @model_validator(mode="before")
    @classmethod
    def _bare_duration(cls, data: Any) -> Any:
        if isinstance(data, dict | Dist):
            return data
        try:
            minutes = parse_duration(data)
        except DurationError as exc:
            raise ValueError(
                f"{exc}; a distribution is a duration (a fixed value) or a table such as "
                '{ dist = "lognormal", median = "15m", p90 = "2h" }'
            ) from None
        return {"dist": "fixed", "value": minutes}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        table = handler.resolve_ref_schema(handler(core_schema))
        return {
            "description": table.get("description", ""),
            "anyOf": [
                {"type": "string", "description": 'A fixed duration: "10m", "12h", "PT30M".'},
                {"type": "number", "minimum": 0, "description": "A fixed number of minutes."},
                {k: v for k, v in table.items() if k != "description"},
            ],
        }

    dist: Literal["fixed", "exponential", "uniform", "lognormal", "never"] = "fixed"
    value: Duration | None = None
    mean: Duration | None = None
    low: Duration | None = None
    high: Duration | None = None
    median: Duration | None = None
    p90: Duration | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Dist:
        needed = {
            "fixed": ("value",),
            "exponential": ("mean",),
            "uniform": ("low", "high"),
            "lognormal": ("median", "p90"),
            "never": (),
        }[self.dist]
        for name in needed:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.dist} distribution needs '{name}'")
        extra = {"value", "mean", "low", "high", "median", "p90"} - set(needed)
        for name in sorted(extra):
            if getattr(self, name) is not None:
                raise ValueError(f"'{name}' does not apply to a {self.dist} distribution")
        if (
            self.dist == "uniform"
            and self.low is not None
            and self.high is not None
            and self.high < self.low
        ):
            raise ValueError("uniform: 'high' must be >= 'low'")
        if (
            self.dist == "lognormal"
            and self.median is not None
            and self.p90 is not None
            and (self.median <= 0 or self.p90 < self.median)
        ):
            raise ValueError("lognormal: need 0 < median <= p90")
        return self

    def mean_minutes(self) -> float:
        """The distribution's mean in minutes (inf for ``never``)."""
        if self.dist == "fixed":
            return float(self.value or 0.0)
        if self.dist == "exponential":
            return float(self.mean or 0.0)
        if self.dist == "uniform":
            return (float(self.low or 0.0) + float(self.high or 0.0)) / 2
        if self.dist == "lognormal":
            sigma = math.log(float(self.p90 or 1.0) / float(self.median or 1.0)) / 1.2815515655
            return float(self.median or 0.0) * math.exp(sigma**2 / 2)
        return math.inf


def fixed(value: str) -> Dist:
    """A fixed-duration distribution (for defaults)."""
    return Dist(dist="fixed", value=value)  # type: ignore[arg-type]


def lognormal(median: str, p90: str) -> Dist:
    """A lognormal duration distribution given its median and 90th percentile."""
    return Dist(dist="lognormal", median=median, p90=p90)  # type: ignore[arg-type]


def exponential(mean: str) -> Dist:
    """An exponential duration distribution given its mean."""
    return Dist(dist="exponential", mean=mean)  # type: ignore[arg-type]


def uniform(low: str, high: str) -> Dist:
    """A uniform duration distribution on [low, high]."""
    return Dist(dist="uniform", low=low, high=high)  # type: ignore[arg-type]


class GroupModel(FileModel):
    """A user group and the share of users in it (drawn independently per group)."""

    name: Name
    share: Share = 1.0


class ManagementShares(FileModel):
    """Shares of primary devices per management set-up; must sum to 1."""

    mdm: Share = 0.6
    mam_we: Share = 0.3
    emm: Share = 0.1

    @model_validator(mode="after")
    def _sums_to_one(self) -> ManagementShares:
        total = self.mdm + self.mam_we + self.emm
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"management shares must sum to 1, got {total:g} "
                f"(mdm {self.mdm:g} + mam_we {self.mam_we:g} + emm {self.emm:g})"
            )
        return self


class FleetModel(FileModel):
    """Who and what is in the fleet."""

    users: int = Field(
        default=1000,
        ge=1,
        description="Number of users (what fits is checked against memory and time before "
        "a run starts).",
    )
    management: ManagementShares = Field(
        default_factory=ManagementShares,
        description="Shares of each user's primary device by management set-up.",
    )
    second_device_share: Share = Field(
        default=0.0,
        description="Share of users who also use a personal device under MAM-WE "
        "(the BYOD case: company phone + personal tablet, same user).",
    )
    emm_passes_upn: Share = Field(
        default=0.0,
        description="Share of emm devices whose EMM passes IntuneMAMUPN, so apps see them "
        "as managed ([doc] 'may or may not'; default: does not).",
    )
    mdm_passes_upn: Share = Field(
        default=1.0,
        description="Share of Intune MDM devices whose apps get the IntuneMAMUPN app "
        "configuration, so they see the device as managed ([doc] the admin deploys it; "
        "default: all do).",
    )
    groups: list[GroupModel] = Field(
        default_factory=lambda: [GroupModel(name="all-users", share=1.0)],
        description="User groups with the share of users in each.",
    )


class AppModel(FileModel):
    """A protected app, how many devices use it and how often."""

    name: Name
    share: Share = Field(default=1.0, description="Share of devices that use this app.")
    sessions_per_day: float = Field(
        default=6.0, ge=0.0, le=500.0, description="Mean sessions per user-day (illustrative)."
    )
    session_length: Dist = Field(
        default_factory=lambda: lognormal("3m", "15m"),
        description="Length of one session of use (illustrative).",
    )


class LaunchesModel(FileModel):
    """When sessions happen: a working-hours profile."""

    working_hours: tuple[int, int] = Field(
        default=(8, 18), description="Working hours [start, end) as hours of the day."
    )
    working_share: Share = Field(
        default=0.8, description="Share of a weekday's sessions inside working hours."
    )
    weekend_factor: float = Field(
        default=0.3, ge=0.0, description="Weekend day activity relative to a weekday."
    )

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, end = value
        if not 0 <= start < end <= 24:
            raise ValueError("working_hours must be [start, end) with 0 <= start < end <= 24")
        return value


class SeverityShares(FileModel):
    """Shares of an episode's severity; must sum to 1."""

    low: Share = 0.0
    medium: Share = 0.0
    high: Share = 0.0

    @model_validator(mode="after")
    def _sums_to_one(self) -> SeverityShares:
        total = self.low + self.medium + self.high
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"severity shares must sum to 1, got {total:g}")
        return self


class ThreatModel(FileModel):
    """One kind of threat: how often, how severe, how detected, how long.

    All numbers are illustrative defaults; jailbreaks are always high severity [doc].
    """

    kind: ThreatKind = Field(
        description="phishing, network, jailbreak or os_vulnerability (Defender for iOS); "
        "malware loads with a note (not a documented iOS detection)."
    )
    rate_per_device_year: float = Field(
        ge=0.0, le=10_000.0, description="Mean episodes per device-year (Poisson)."
    )
    severity: SeverityShares = Field(default_factory=lambda: SeverityShares(medium=1.0))
    detection_probability: Share = Field(
        default=0.9, description="Probability Defender detects an episode it can see."
    )
    detection_delay: Dist = Field(
        default_factory=lambda: lognormal("5m", "1h"),
        description="Onset (or activation, if later) → detection.",
    )
    natural_duration: Dist = Field(
        default_factory=lambda: lognormal("1d", "7d"),
        description="Onset → end without any nudge (remediated or auto-resolved).",
    )
    nudged_remediation: Dist = Field(
        default_factory=lambda: lognormal("2h", "1d"),
        description="First threat-level denial → remediation by the prompted user.",
    )
    alert_resolve_delay: Dist = Field(
        default_factory=lambda: fixed("0m"),
        description="End of the threat → Defender resolves its alert.",
    )
    campaign: tuple[Duration, Duration] | None = Field(
        default=None,
        description="If set, episodes of this kind only start in [start, end) "
        "(a campaign wave); the rate applies within the window.",
    )
    sdk_detection_probability: Share = Field(
        default=0.9,
        description="jailbreak only: probability the Intune SDK's own jailbreak check sees "
        "the episode (the Jailbroken/rooted devices condition; illustrative).",
    )

    @model_validator(mode="after")
    def _jailbreak_is_high(self) -> ThreatModel:
        if self.kind == "jailbreak" and self.severity.high != 1.0:
            raise ValueError("jailbreak episodes are always high severity [doc]: severity.high = 1")
        if self.campaign is not None and self.campaign[1] <= self.campaign[0]:
            raise ValueError("campaign window must have end > start")
        return self


class SignalsModel(FileModel):
    """The Defender → Intune signal path."""

    defender_to_intune: Dist = Field(
        default_factory=lambda: lognormal("15m", "2h"),
        description="Delay before a Defender level change is visible to Intune [param; "
        "undocumented, the services sync at least daily]. Drawn per change.",
    )


class ConnectorInterval(FileModel):
    """An interval in which the connector is not simply enabled."""

    state: Literal["disabled", "unresponsive"]
    start: Duration
    end: Duration

    @model_validator(mode="after")
    def _ordered(self) -> ConnectorInterval:
        if self.end <= self.start:
            raise ValueError("connector interval must have end > start")
        return self


class OfflineModel(FileModel):
    """How often and how long devices are offline."""

    episodes_per_device_month: float = Field(
        default=1.0, ge=0.0, le=1000.0, description="Mean offline periods per device-month."
    )
    duration: Dist = Field(
        default_factory=lambda: lognormal("2h", "2d"), description="Length of an offline period."
    )
    reauth_failure_share: Share = Field(
        default=0.02,
        description="Share of devices whose user fails to re-authenticate when back online "
        "after the offline wipe period (e.g. the account was disabled while away); only "
        "they are wiped, with offline_wipe = on_failed_reauth (illustrative).",
    )


class OnboardingModel(FileModel):
    """How Defender gets installed and activated (SEMANTICS.md §6). Illustrative defaults."""

    mdm_zero_touch_share: Share = Field(
        default=0.85,
        description="mdm devices onboarded silently (zero-touch) within ~5 min of the start; "
        "the rest have Defender pushed but need a manual sign-in.",
    )
    preinstalled_share: Share = Field(
        default=0.3,
        description="mam_we and emm devices whose users activated Defender before the start.",
    )
    install_after_redirect_share: Share = Field(
        default=0.85,
        description="Users not yet onboarded who install Defender after an app redirects them; "
        "the others give up.",
    )
    install_delay: Dist = Field(
        default_factory=lambda: lognormal("30m", "1d"),
        description="First redirect → Defender installed.",
    )
    account_mismatch_share: Share = Field(
        default=0.05,
        description="Installs registered to Authenticator under another account; they stay "
        "not activated until fixed.",
    )
    mismatch_fix_delay: Dist = Field(
        default_factory=lambda: lognormal("2d", "14d"),
        description="Installed with the wrong account → activated.",
    )
    vpn_on_share: Share = Field(
        default=0.9,
        description="Devices whose Defender VPN (web protection) is on; phishing and network "
        "threats are invisible to Defender otherwise.",
    )


class ScriptDevice(FileModel):
    """An explicit device of a scripted timeline."""

    id: str = Field(min_length=1)
    user: str | None = Field(default=None, description="User id; defaults to the device id.")
    management: Management = Management.MAM_WE
    passes_upn: bool | None = Field(
        default=None,
        description="mdm/emm: the MDM passes IntuneMAMUPN to the apps (default: true for "
        "mdm, false for emm; a mam_we device never has it).",
    )
    emm_passes_upn: bool | None = Field(default=None, description="Older name of passes_upn.")
    defender: DefenderState = DefenderState.ACTIVATED
    groups: list[str] = Field(default_factory=list)
    vpn_on: bool = Field(
        default=True,
        description="Defender's VPN is on; with it off, phishing and network threats are "
        "never detected.",
    )
    reauth_fails: bool = Field(
        default=False,
        description="The user fails to re-authenticate when back online after the offline "
        "wipe period (offline_wipe = on_failed_reauth): the app wipes.",
    )

    @property
    def upn(self) -> bool:
        """Whether the device's MDM passes IntuneMAMUPN (resolved default)."""
        if self.management is Management.MAM_WE:
            return False
        given = self.passes_upn
        if given is None and self.management is Management.EMM:
            given = self.emm_passes_upn  # the older name applies to emm devices only
        return given if given is not None else self.management is Management.MDM


EventType = Literal["threat", "remediate", "launch", "offline", "online", "connector", "defender"]


class ScriptEvent(FileModel):
    """A timed event of a scripted timeline. Which fields apply depends on ``type``."""

    at: Duration
    type: EventType
    device: str | None = None
    id: str | None = None
    kind: ThreatKind = Field(
        default=SCRIPTED_DEFAULT_KIND,
        description="threat events: phishing (default), network, jailbreak or "
        "os_vulnerability; malware loads with a note (not a documented iOS detection).",
    )
    severity: LevelName | None = None
    detected_after: Duration | None = None
    remediate_after_denial: Duration | None = None
    threat: str | None = None
    app: str | None = None
    duration: Duration | None = None
    state: str | None = None
    sdk_detects: bool = Field(
        default=True,
        description="jailbreak threats: the Intune SDK's jailbreak check sees it from onset.",
    )

    @model_validator(mode="after")
    def _fields_for_type(self) -> ScriptEvent:
        need: dict[str, tuple[str, ...]] = {
            "threat": ("device", "id", "severity"),
            "remediate": ("device", "threat"),
            "launch": ("device", "app", "duration"),
            "offline": ("device",),
            "online": ("device",),
            "connector": ("state",),
            "defender": ("device", "state"),
        }
        for name in need[self.type]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.type} event needs '{name}'")
        if self.type == "threat" and self.kind == "jailbreak" and self.severity != "high":
            raise ValueError("a jailbreak is always high severity [doc]: severity = 'high'")
        if self.type == "connector" and self.state not in {s.value for s in ConnectorState}:
            raise ValueError("connector state must be enabled, disabled or unresponsive")
        if self.type == "defender" and self.state not in {s.value for s in DefenderState}:
            raise ValueError("defender state must be absent, installed or activated")
        return self


class ScriptModel(FileModel):
    """A scripted timeline: explicit devices and events, no randomness."""

    devices: list[ScriptDevice] = Field(min_length=1)
    events: list[ScriptEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ScriptModel:
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError("device ids must be unique")
        threats: set[tuple[str, str]] = set()
        onsets: dict[tuple[str, str], float] = {}
        for index, event in enumerate(self.events):
            if event.device is not None and event.device not in ids:
                raise ValueError(f"events[{index}]: unknown device {event.device!r}")
            if event.type == "threat":
                key = (str(event.device), str(event.id))
                if key in threats:
                    raise ValueError(f"events[{index}]: duplicate threat id {event.id!r}")
                threats.add(key)
                onsets[key] = event.at
            if event.type == "remediate" and (str(event.device), str(event.threat)) not in threats:
                raise ValueError(
                    f"events[{index}]: remediate names threat {event.threat!r}, "
                    "which no earlier threat event on that device defines"
                )
            if event.type == "remediate":
                onset = onsets[(str(event.device), str(event.threat))]
                if event.at <= onset:
                    raise ValueError(
                        f"events[{index}]: remediation at {format_duration(event.at)} is earlier "
                        f"than (or at) its threat {event.threat!r} at {format_duration(onset)}"
                    )
        return self


def _default_threats() -> list[ThreatModel]:
    return [
        ThreatModel(
            kind="phishing",
            rate_per_device_year=4.0,
            severity=SeverityShares(low=0.3, medium=0.6, high=0.1),
            natural_duration=lognormal("4h", "2d"),
        ),
        ThreatModel(
            kind="network",
            rate_per_device_year=1.0,
            severity=SeverityShares(low=0.5, medium=0.5),
            natural_duration=lognormal("2h", "12h"),
        ),
        ThreatModel(
            kind="os_vulnerability",
            rate_per_device_year=1.0,
            severity=SeverityShares(low=0.4, medium=0.4, high=0.2),
            detection_probability=1.0,
            detection_delay=lognormal("1h", "1d"),
            natural_duration=lognormal("7d", "30d"),
            nudged_remediation=lognormal("1d", "5d"),
        ),
        ThreatModel(
            kind="jailbreak",
            rate_per_device_year=0.02,
            severity=SeverityShares(high=1.0),
            detection_probability=0.95,
            detection_delay=uniform("0m", "4h"),
            natural_duration=Dist(dist="never"),
            nudged_remediation=lognormal("1d", "7d"),
        ),
    ]


class VariantModel(FileModel):
    """A policy variant: policies deployed together (they merge per user and app)."""

    name: Name
    policies: list[str] = Field(min_length=1, description="Names of the policies deployed.")


SWEEPABLE: tuple[str, ...] = (
    "max_threat_level",
    "threat_action",
    "recheck_after",
    "checkin_interval",
    "offline_block_after",
    "offline_wipe_after",
    "target_management",
)
"""Policy fields a ``[sweep]`` grid may vary."""

_SHORT: dict[str, str] = {
    "max_threat_level": "max",
    "threat_action": "",
    "recheck_after": "recheck",
    "checkin_interval": "check-in",
    "offline_block_after": "offline block",
    "offline_wipe_after": "offline wipe",
    "target_management": "target",
}


class SweepModel(FileModel):
    """A grid of policy variants: every combination of the listed values, applied to one
    base policy, all played on the same world per replication (common random numbers).

    Example::

        [sweep]
        base_policy = "Level 3 - Secured + block"
        baseline = { max_threat_level = "secured", threat_action = "block" }
        [sweep.grid]
        max_threat_level = ["secured", "low", "medium", "high"]
        threat_action = ["block", "wipe"]
    """

    base_policy: str | None = Field(
        default=None, description="Name of the policy to vary; default: the first policy."
    )
    grid: dict[str, list[Any]] = Field(
        min_length=1, description="Policy field → values to try (" + ", ".join(SWEEPABLE) + ")."
    )
    baseline: dict[str, Any] | None = Field(
        default=None,
        description="The grid point paired comparisons are made against; default: the "
        "first value of every field.",
    )
    replications: int = Field(default=10, ge=1, le=10_000)

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if key not in SWEEPABLE:
                raise ValueError(f"cannot sweep {key!r}; sweepable fields: " + ", ".join(SWEEPABLE))
            if not values:
                raise ValueError(f"grid.{key} needs at least one value")
            if len(set(map(str, values))) != len(values):
                raise ValueError(f"grid.{key} repeats a value")
        return grid


_SEVERITY_NAMES: Final = ("low", "medium", "high")
APPETITE_METRICS: Final = (
    *(f"exposed_minutes_{s}" for s in _SEVERITY_NAMES),
    *(f"exposed_launches_{s}" for s in _SEVERITY_NAMES),
    *(f"never_enforced_{s}" for s in _SEVERITY_NAMES),
    *("undetected_episodes", "never_restored"),
    *("unneeded_denials", "unneeded_blocks", "unneeded_wipes", "onboarding_blocks"),
    *("wipes", "devices_wiped", "users_affected"),
    *("blocked_user_minutes", "blocked_user_minutes_threat", "blocked_user_minutes_onboarding"),
    *("blocked_user_minutes_offline", "blocked_working_minutes", "blocked_working_minutes_threat"),
    *("time_to_protect_median_min", "time_to_protect_p95_min"),
)
"""Metrics an ``[appetite]`` may name: those where lower is better (the catalogue's
definitions; a test keeps this list inside it)."""


def _known_metrics(values: dict[str, float], what: str) -> dict[str, float]:
    """Metric names of an appetite table, checked against :data:`APPETITE_METRICS`."""
    for name in values:
        if name not in APPETITE_METRICS:
            close = difflib.get_close_matches(name, APPETITE_METRICS, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"{what}: {name!r} is not a metric an appetite can state{hint} "
                f"(one of: {', '.join(APPETITE_METRICS)})"
            )
    return values


class AppetiteModel(FileModel):
    """A stated risk appetite: the sweep recommends a variant from it.

    Values are **rates**: per 1,000 users per month (30 days), sums of minutes in
    **hours** (``exposed_minutes_medium = 40``: at most 40 exposed session-hours at ≥ medium
    per 1,000 users per month); ``users_affected`` per 1,000 users over the run;
    ``time_to_protect_*`` in hours, not scaled. Example::

        [appetite]
        limits = { exposed_minutes_medium = 40, blocked_working_minutes_threat = 800 }
        weights = { exposed_minutes_medium = 10, blocked_working_minutes_threat = 1 }
    """

    limits: dict[str, Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Metric → at most this rate; a variant meets the appetite when the "
        "upper end of every limited metric's 95% interval is at or under its limit.",
    )
    weights: dict[str, Annotated[float, Field(gt=0.0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Metric → cost of one unit of its rate; the recommendation is the "
        "variant with the lowest weighted sum among those meeting every limit (default: "
        "the lowest sum of each limited metric's share of its limit).",
    )

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, float]) -> dict[str, float]:
        return _known_metrics(value, "limits")

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _known_metrics(value, "weights")

    @model_validator(mode="after")
    def _something(self) -> AppetiteModel:
        if not self.limits and not self.weights:
            raise ValueError("an [appetite] needs limits, weights, or both")
        return self


def _monday_before(moment: datetime) -> datetime:
    """Midnight of the Monday on or before ``moment``, in its own offset."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


MAX_HORIZON: Final = 5 * 365 * 1440.0
"""The longest horizon a scenario may have (5 years): longer is a typo, not a study."""


class ScenarioModel(FileModel):
    """A whole scenario file. See the module docstring and ``scenarios/*.toml``."""

    name: Name
    description: str = ""
    seed: int = Field(default=0, ge=0, description="Root of every random stream.")
    horizon: Duration = Field(
        default=30 * 1440.0, description="Simulated time span (more than 0, at most 5 years)."
    )
    start: AwareDatetime | None = Field(
        default=None,
        description="Optional wall-clock time of minute 0: a Monday 00:00 in the users' "
        'time zone, ISO 8601 with that offset (e.g. "2026-11-02T00:00:00Z" or '
        '"2026-11-02T00:00:00+01:00"; the offset is kept, outputs are in UTC). When set, '
        "the decision log and episodes gain UTC timestamp columns (time_utc; onset_utc, "
        "detected_utc, end_utc) beside the minute columns, to join with other telemetry. "
        "It changes no result.",
    )

    @field_validator("start", mode="before")
    @classmethod
    def _monday_midnight(cls, value: Any) -> Any:
        """Day 0 of the simulation is a Monday and working hours are the users' local
        hours: a start elsewhere in the week would put the timestamps on other days."""
        if value is None:
            return value
        local = parse_aware_datetime(value)
        if local.weekday() != 0 or local.time() != time(0, 0):
            raise ValueError(
                f"must be a Monday 00:00 in the users' time zone (day 0 of the simulation is "
                f"a Monday and working hours are local), got {local:%A %H:%M} "
                f"({local.isoformat()}); use the Monday before, e.g. "
                f"{_monday_before(local).isoformat()}"
            )
        return value

    chunk_size: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Users simulated per chunk: bounds memory and is the unit of work "
        "handed to worker processes. Does not change results.",
    )
    fleet: FleetModel | None = None
    apps: list[AppModel] = Field(
        default_factory=lambda: [
            AppModel(name="outlook", sessions_per_day=8.0),
            AppModel(name="teams", sessions_per_day=6.0),
        ]
    )
    launches: LaunchesModel = Field(default_factory=LaunchesModel)
    threats: list[ThreatModel] = Field(default_factory=_default_threats)
    signals: SignalsModel = Field(default_factory=SignalsModel)
    connector: list[ConnectorInterval] = Field(default_factory=list)
    offline: OfflineModel = Field(default_factory=OfflineModel)
    onboarding: OnboardingModel = Field(default_factory=OnboardingModel)
    behavior: Behavior = Field(
        default_factory=Behavior,
        description="Behaviour parameters the documentation leaves open (see docs/semantics.md).",
    )
    policies: list[PolicyModel] = Field(default_factory=list)
    policy_files: list[str] = Field(
        default_factory=list,
        description="Policy files (TOML or Graph JSON), relative to this file.",
    )
    variants: list[VariantModel] = Field(
        default_factory=list,
        description="Policy variants to compare; omitted: each policy is a variant of its own.",
    )
    sweep: SweepModel | None = None
    appetite: AppetiteModel | None = Field(
        default=None,
        description="A stated risk appetite (limits and/or weights on rates per 1,000 "
        "users per month): sweeps open with a recommendation from it.",
    )
    script: ScriptModel | None = None

    @model_validator(mode="after")
    def _shape(self) -> ScenarioModel:
        if self.script is None and self.fleet is None:
            raise ValueError("a scenario needs either [fleet] (random) or [script] (scripted)")
        if self.script is not None and self.fleet is not None:
            raise ValueError("a scenario has either [fleet] or [script], not both")
        names = [a.name for a in self.apps]
        if len(set(names)) != len(names):
            raise ValueError("app names must be unique")
        if self.fleet is not None:
            groups = [g.name for g in self.fleet.groups]
            if len(set(groups)) != len(groups):
                raise ValueError("group names must be unique")
        if not 0 < self.horizon <= MAX_HORIZON:
            raise ValueError(
                f"horizon must be more than 0 and at most 5 years, got "
                f"{format_duration(self.horizon)}"
            )
        for interval in self.connector:
            if interval.start >= self.horizon:
                raise ValueError("a connector interval starts after the horizon")
        for index, threat in enumerate(self.threats):
            if threat.campaign is not None and threat.campaign[0] >= self.horizon:
                raise ValueError(
                    f"threats[{index}].campaign starts at {format_duration(threat.campaign[0])}, "
                    f"at or after the horizon ({format_duration(self.horizon)}): it would "
                    "never happen"
                )
        if self.script is not None:
            for index, event in enumerate(self.script.events):
                if event.at >= self.horizon:
                    raise ValueError(
                        f"script.events[{index}] at {format_duration(event.at)} is at or "
                        f"after the horizon ({format_duration(self.horizon)}): it would "
                        "never happen"
                    )
        if (
            self.script is not None
            and "signals" in self.model_fields_set
            and self.signals.defender_to_intune.dist != "fixed"
        ):
            raise ValueError(
                "a scripted timeline needs a fixed signals.defender_to_intune delay "
                '(e.g. { dist = "fixed", value = "10m" }); omitted, it is 0'
            )
        if self.sweep is not None and self.variants:
            raise ValueError("a scenario has either [[variants]] or [sweep], not both")
        return self


MALWARE_NOTE = (
    "malware is not a documented Defender for Endpoint detection on iOS ([S17]: Malware "
    "Protection is Android-only); it is simulated as a generic alert that needs no VPN "
    "(an assumption, docs/semantics.md 3.3)"
)


def scenario_notes(
    model: ScenarioModel, source: str | Path | None = None, *, inline_policies: bool = True
) -> list[InputNote]:
    """Notes on a valid scenario that the documentation does not back (see
    :class:`~simulator.policy.files.InputNote`): ``malware`` threat kinds, and inline
    policies with ``recheck_after = 0`` (unless ``inline_policies`` is False: replaced by
    ``--policy``). Notes of ``policy_files`` come from their loader."""
    where = "" if source is None else str(source)
    notes = [
        InputNote(where, f"threats[{index}].kind", MALWARE_NOTE)
        for index, threat in enumerate(model.threats)
        if threat.kind == "malware"
    ]
    if model.script is not None:
        notes += [
            InputNote(where, f"script.events[{index}].kind", MALWARE_NOTE)
            for index, event in enumerate(model.script.events)
            if event.type == "threat" and event.kind == "malware"
        ]
    return notes + (policy_model_notes(model.policies, source) if inline_policies else [])
