"""condlaunch: a conditional-launch risk evaluation simulator.

Models Intune app protection policies that use the Microsoft Defender for Endpoint device
threat level on iOS (*Max allowed device threat level*), a fleet of devices and their
threat signals, and reports how much risky access gets through and at what friction.

The public API is listed in ``__all__``; everything else is internal, except two public
sub-namespaces: :mod:`simulator.testing` (case tables as pytest tests) and
:mod:`simulator.plots` (the figures). ``plots`` is bound here lazily
(:class:`importlib.util.LazyLoader`): the module object exists after ``import simulator``,
but it — and matplotlib — is loaded only on the first attribute access, so
``import simulator`` never loads plotting.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from simulator.analysis.appetite import Appetite, Recommendation, recommend
from simulator.analysis.diff import flip_counts, flipped_launches
from simulator.analysis.metrics import HEADLINE_METRICS, compute_metrics, episode_outcomes
from simulator.analysis.sweep import SweepResult, SweepSettings, run_sweep
from simulator.durations import Minutes, format_duration, parse_duration
from simulator.errors import InputError
from simulator.folders import LoadedRun, load_run, load_sweep, write_sweep
from simulator.policy.behavior import (
    Behavior,
    ConnectorOffBehavior,
    MultiPolicyMerge,
    PreOnboardingAction,
    UnresponsiveBehavior,
)
from simulator.policy.decide import (
    Decision,
    EffectivePolicy,
    EvaluationContext,
    Policy,
    covers,
    decide,
    effective_policy,
    merge,
)
from simulator.policy.files import load_policies, load_policy_files, policies_to_toml
from simulator.policy.levels import (
    Action,
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    TargetManagement,
    ThreatLevel,
)
from simulator.policy.tables import (
    check_cases,
    compare_tables,
    decision_table,
    lattice_shape,
    load_cases,
    summarize_table,
)
from simulator.scenario.load import Scenario, load_scenario, scenario_from_data
from simulator.sim.log import explain_device
from simulator.sim.run import RunResult, simulate

try:
    __version__ = version("condlaunch")
    """The installed distribution's version (one source of truth: ``pyproject.toml``)."""
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def _lazy_module(name: str) -> types.ModuleType:
    """The module ``name``, registered in :data:`sys.modules` but executed only when one of
    its attributes is first read (:class:`importlib.util.LazyLoader`)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


plots = _lazy_module("simulator.plots")
"""The figures (:mod:`simulator.plots`: ``frontier``, ``time_to_protect``,
``device_timeline``, ``onboarding_funnel``, ``exceedance``, ``pareto_efficient``,
``dominated_by``, …), loaded — with matplotlib — on first use."""


_PathArg = str | os.PathLike[str]
_Export = _PathArg | Sequence[_PathArg] | None
"""One Graph export: a file, the files of its pages, or nothing."""

_FITTED_FIELDS = ("horizon", "fleet", "apps", "launches", "threats")
"""The scenario fields calibration sets; every other field is the base scenario's."""


def _export_paths(export: _Export) -> list[Path]:
    if export is None:
        return []
    if isinstance(export, str | os.PathLike):
        return [Path(export)]
    return [Path(page) for page in export]


def calibrate_scenario(
    *,
    alerts: _Export = None,
    devices: _Export = None,
    app_registrations: _Export = None,
    signins: _Export = None,
    mapping: _PathArg | None = None,
    base: Scenario | None = None,
    utc_offset_hours: float = 0.0,
) -> Scenario:
    """A scenario fitted to a tenant's Microsoft Graph exports, as ``condlaunch calibrate``
    fits it (``docs/tenant.md``).

    Each export is a JSON file, or the list of its pages: ``alerts`` from
    ``GET /security/alerts_v2``, ``devices`` from ``GET /deviceManagement/managedDevices``,
    ``app_registrations`` from ``GET /deviceAppManagement/managedAppRegistrations``,
    ``signins`` from ``GET /auditLogs/signIns`` (README, "Use your own tenant's data"); give
    at least one. ``mapping`` is the optional mapping file (alert → threat kind, bundle ids,
    the third-party EMM's device ids). The export window (``horizon``), ``fleet``,
    ``apps``, ``launches`` and ``threats`` are fitted; everything else — seed, policies,
    ``[sweep]``, signals, offline periods, onboarding, behaviour — is ``base``'s. Without
    ``base``: condlaunch's defaults and Microsoft's level-3 style policy (Secured + block)
    over the fitted apps. ``utc_offset_hours`` is the time zone of the working hours.

    Raises
    ------
    InputError
        For no export, a bad export (naming the file and record) or a scripted ``base``.
    """
    import tomllib

    from simulator.scenario.models import FleetModel, ScenarioModel
    from simulator.tenant.calibrate import CalibrationSettings, calibrate
    from simulator.tenant.inventory import Exports, load_tenant
    from simulator.tenant.mapping import load_mapping
    from simulator.tenant.write import scenario_toml

    exports = Exports(
        _export_paths(alerts),
        _export_paths(devices),
        _export_paths(app_registrations),
        _export_paths(signins),
    )
    if not exports.all_files():
        raise InputError("give at least one export: alerts, devices, app_registrations or signins")
    if base is not None and base.scripted:
        raise InputError(
            "is a scripted scenario; a base scenario needs [fleet]", source=base.source
        )
    tenant = load_tenant(exports, load_mapping(None if mapping is None else Path(mapping)))
    model = base.model if base else ScenarioModel(name="condlaunch defaults", fleet=FleetModel())
    fitted = calibrate(tenant, model, CalibrationSettings(utc_offset_hours=utc_offset_hours))
    apps = [entry["name"] for entry in fitted.apps] or ["outlook"]
    default_policy = [
        "[[policies]]",
        'name = "Level 3 - Secured + block"',
        f"apps = {json.dumps(apps)}",
        'max_threat_level = "secured"',
        'threat_action = "block"',
    ]
    text = scenario_toml(
        fitted,
        model,
        inputs=[str(path) for path in exports.all_files()],
        stats=tenant.stats,
        policy_lines=[] if base else default_policy,
    )
    data = tomllib.loads(text)
    if base is None:
        return scenario_from_data(data, source="(calibrated from tenant exports)")
    changes = {key: data[key] for key in _FITTED_FIELDS}
    return base.with_changes(name=f"{base.name} (calibrated)", **changes)


def write_report(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    banner: str | None = None,
    logo: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the self-contained HTML report of a run or sweep folder
    (:func:`simulator.report.page.write_report`). The report layer — and matplotlib —
    is loaded only when called, by name, so that the core never imports presentation."""
    page = importlib.import_module("simulator.report.page")
    written: Path = page.write_report(
        Path(folder), None if out is None else Path(out), banner=banner, logo=logo
    )
    return written


__all__ = [
    "HEADLINE_METRICS",
    "Action",
    "Appetite",
    "Behavior",
    "ConnectorOffBehavior",
    "ConnectorState",
    "Decision",
    "DefenderState",
    "EffectivePolicy",
    "EvaluationContext",
    "InputError",
    "LoadedRun",
    "Management",
    "Minutes",
    "MultiPolicyMerge",
    "Outcome",
    "Policy",
    "PreOnboardingAction",
    "Reason",
    "Recommendation",
    "RunResult",
    "Scenario",
    "SweepResult",
    "SweepSettings",
    "TargetManagement",
    "ThreatLevel",
    "UnresponsiveBehavior",
    "__version__",
    "calibrate_scenario",
    "check_cases",
    "compare_tables",
    "compute_metrics",
    "covers",
    "decide",
    "decision_table",
    "effective_policy",
    "episode_outcomes",
    "explain_device",
    "flip_counts",
    "flipped_launches",
    "format_duration",
    "lattice_shape",
    "load_cases",
    "load_policies",
    "load_policy_files",
    "load_run",
    "load_scenario",
    "load_sweep",
    "merge",
    "parse_duration",
    "plots",
    "policies_to_toml",
    "recommend",
    "run_sweep",
    "scenario_from_data",
    "simulate",
    "summarize_table",
    "write_report",
    "write_sweep",
]
