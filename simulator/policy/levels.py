"""Threat levels and the other named values of policy semantics (SEMANTICS §1, §2, §5).

The small grammar conditional launch is stated in::

    ThreatLevel      secured < low < medium < high            (Graph: 1..4)
    policy max       a ThreatLevel, or None = notConfigured    (the check is off)
    Action           block | wipe                              (warn is not valid here)
    Outcome          allow < block < wipe                      (wipe outranks block)
    Reason           why a decision came out as it did
    Management       mdm | mam_we | emm; TargetManagement managed | unmanaged | any
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final, Self


class ThreatLevel(IntEnum):
    """Device threat level as Defender reports it; ordered, values as in Graph."""

    SECURED = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4

    @property
    def label(self) -> str:
        """Lower-case name used in files and on the CLI (``"medium"``)."""
        return _LEVEL_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> ThreatLevel:
        """Parse ``"secured"`` … ``"high"`` (case-insensitive)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown threat level {text!r}; expected one of "
                + ", ".join(level.label for level in cls)
            ) from None


_LEVEL_LABELS: Final = {level: level.name.lower() for level in ThreatLevel}

NOT_CONFIGURED: Final = "not_configured"
"""How files spell a policy maximum of ``None`` (Graph ``notConfigured``): no threat check."""

MaxThreatLevel = ThreatLevel | None
"""A policy's *Max allowed device threat level*; ``None`` means not configured."""


def parse_max_level(text: str) -> MaxThreatLevel:
    """Parse a policy maximum: a threat level or ``"not_configured"``."""
    if text.strip().lower() in (NOT_CONFIGURED, "notconfigured"):
        return None
    return ThreatLevel.parse(text)


def max_level_label(level: MaxThreatLevel) -> str:
    """The file spelling of a policy maximum."""
    return NOT_CONFIGURED if level is None else level.label


def max_level_rank(level: MaxThreatLevel) -> int:
    """Permissiveness rank: secured=1 … high=4, not configured=5 (higher allows more)."""
    return 5 if level is None else int(level)


class _Labelled(StrEnum):
    """A string enum whose value is the spelling used in files and on the CLI."""

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown {cls.__name__} {text!r}; expected one of "
                + ", ".join(member.value for member in cls)
            ) from None


class Action(_Labelled):
    """What a policy does when the device is riskier than allowed."""

    BLOCK = "block"
    WIPE = "wipe"


class Outcome(_Labelled):
    """Result of one evaluation. :attr:`rank` orders them: allow < block < wipe."""

    ALLOW = "allow"
    BLOCK = "block"
    WIPE = "wipe"

    @property
    def rank(self) -> int:
        """0 for allow, 1 for block, 2 for wipe."""
        return _OUTCOME_RANK[self]

    @property
    def denies(self) -> bool:
        """True for block and wipe."""
        return self is not Outcome.ALLOW


_OUTCOME_RANK: Final = {Outcome.ALLOW: 0, Outcome.BLOCK: 1, Outcome.WIPE: 2}

OUTCOME_VERB: Final = {Outcome.ALLOW: "allowed", Outcome.BLOCK: "blocked", Outcome.WIPE: "wiped"}
"""How explanations start: "blocked — …"."""


class Reason(_Labelled):
    """Why an evaluation ended as it did (SEMANTICS.md §5)."""

    NOT_TARGETED = "not_targeted"
    COMPLIANT = "compliant"
    THREAT_LEVEL_EXCEEDED = "threat_level_exceeded"
    MTD_NOT_ACTIVATED = "mtd_not_activated"
    OFFLINE_BLOCK = "offline_block"
    """Offline past the offline block period, or offline before the app's first check-in."""
    OFFLINE_REAUTH = "offline_reauth"
    """Offline past the offline wipe period: access denied until the user reconnects and
    re-authenticates (``offline_wipe = on_failed_reauth``)."""
    OFFLINE_WIPE = "offline_wipe"
    """Wiped after the offline wipe period: re-authentication failed at reconnection (or at
    once, with ``offline_wipe = immediate``)."""
    JAILBROKEN_DEVICE = "jailbroken_device"
    """The Intune SDK's own jailbreak detection (*Jailbroken/rooted devices* condition)."""
    CONNECTOR_DISABLED = "connector_disabled"
    PARTNER_UNRESPONSIVE = "partner_unresponsive"
    PREVIOUS_ALLOW = "previous_allow"
    """A launch inside the recheck window reused the previous allow (engine only)."""
    PREVIOUS_DENIAL = "previous_denial"
    """With ``retry_denied_at_launch`` off, a launch inside the recheck window repeated the
    previous denial without a check-in (engine only)."""


class Reauth(_Labelled):
    """Re-authentication at the first online evaluation after the offline wipe period."""

    NOT_REQUIRED = "not_required"
    """The app was not offline past its wipe period (or ``offline_wipe = immediate``)."""
    SUCCEEDED = "succeeded"
    """The user signed in again: access continues and the offline interval resets."""
    FAILED = "failed"
    """Sign-in failed (e.g. the account was disabled while away): selective wipe."""


THREAT_REASONS: Final = frozenset(
    {
        Reason.THREAT_LEVEL_EXCEEDED,
        Reason.MTD_NOT_ACTIVATED,
        Reason.CONNECTOR_DISABLED,
        Reason.PARTNER_UNRESPONSIVE,
    }
)
"""Reasons that come from the threat-level condition (not from offline periods)."""


class Management(_Labelled):
    """How the device is managed (SEMANTICS.md §1)."""

    MDM = "mdm"
    MAM_WE = "mam_we"
    EMM = "emm"


class TargetManagement(_Labelled):
    """Which devices a policy targets: those the app sees as managed, unmanaged, or any."""

    UNMANAGED = "unmanaged"
    MANAGED = "managed"
    ANY = "any"


class DefenderState(_Labelled):
    """Defender for Endpoint on the device: absent, installed but not activated, activated."""

    ABSENT = "absent"
    INSTALLED = "installed"
    ACTIVATED = "activated"


class ConnectorState(_Labelled):
    """State of the Defender ↔ Intune connection as the service sees it (SEMANTICS.md §3)."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    UNRESPONSIVE = "unresponsive"
