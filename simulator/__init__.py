"""condlaunch: a conditional-launch risk evaluation simulator.

Models Intune app protection policies that use the Microsoft Defender for Endpoint device
threat level on iOS (*Max allowed device threat level*), a fleet of devices and their
threat signals, and reports how much risky access gets through and at what friction.

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from simulator.durations import Minutes, format_duration, parse_duration
from simulator.errors import InputError
from simulator.policy import (
    Action,
    Behavior,
    ConnectorOffBehavior,
    ConnectorState,
    Decision,
    DefenderState,
    EffectivePolicy,
    EvaluationContext,
    Management,
    MultiPolicyMerge,
    Outcome,
    Policy,
    PreOnboardingAction,
    Reason,
    TargetManagement,
    ThreatLevel,
    UnresponsiveBehavior,
    covers,
    decide,
    effective_policy,
    merge,
)
from simulator.policyfile import load_policies, load_policy_files, policies_to_toml

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Behavior",
    "ConnectorOffBehavior",
    "ConnectorState",
    "Decision",
    "DefenderState",
    "EffectivePolicy",
    "EvaluationContext",
    "InputError",
    "Management",
    "Minutes",
    "MultiPolicyMerge",
    "Outcome",
    "Policy",
    "PreOnboardingAction",
    "Reason",
    "TargetManagement",
    "ThreatLevel",
    "UnresponsiveBehavior",
    "__version__",
    "covers",
    "decide",
    "effective_policy",
    "format_duration",
    "load_policies",
    "load_policy_files",
    "merge",
    "parse_duration",
    "policies_to_toml",
]
