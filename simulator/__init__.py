"""condlaunch: a conditional-launch risk evaluation simulator.

Models Intune app protection policies that use the Microsoft Defender for Endpoint device
threat level on iOS (*Max allowed device threat level*), a fleet of devices and their
threat signals, and reports how much risky access gets through and at what friction.

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from simulator.diff import flip_counts, flipped_launches
from simulator.durations import Minutes, format_duration, parse_duration
from simulator.errors import InputError
from simulator.experiment import SweepResult, load_sweep, run_sweep
from simulator.metrics import HEADLINE_METRICS, compute_metrics, episode_outcomes
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
from simulator.scenario import Scenario, load_scenario
from simulator.simulation import RunResult, simulate
from simulator.tables import check_cases, decision_table, load_cases

__version__ = "0.1.0"

__all__ = [
    "HEADLINE_METRICS",
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
    "RunResult",
    "Scenario",
    "SweepResult",
    "TargetManagement",
    "ThreatLevel",
    "UnresponsiveBehavior",
    "__version__",
    "check_cases",
    "compute_metrics",
    "covers",
    "decide",
    "decision_table",
    "effective_policy",
    "episode_outcomes",
    "flip_counts",
    "flipped_launches",
    "format_duration",
    "load_cases",
    "load_policies",
    "load_policy_files",
    "load_scenario",
    "load_sweep",
    "merge",
    "parse_duration",
    "policies_to_toml",
    "run_sweep",
    "simulate",
]
