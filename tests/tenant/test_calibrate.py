"""Parameter recovery: calibrate fits the truth behind generated exports within stated
tolerances, and writes a scenario that loads, with a comment on every field."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulator.scenario.load import Scenario, load_scenario
from simulator.scenario.models import FleetModel, ScenarioModel
from simulator.tenant.calibrate import (
    Calibration,
    calibrate,
    fit_lognormal,
    poisson_interval,
    wilson,
)
from simulator.tenant.inventory import Tenant
from simulator.tenant.write import scenario_toml
from tests.tenant.conftest import CALIBRATION_USERS


@pytest.fixture(scope="module")
def fitted(calibration_tenant: Tenant) -> Calibration:
    return calibrate(calibration_tenant, ScenarioModel(name="defaults", fleet={}))  # type: ignore[arg-type]


def _threat(fitted: Calibration, kind: str) -> dict[str, Any]:
    return next(t for t in fitted.threats if t["kind"] == kind)


def test_fleet_is_recovered(fitted: Calibration, calibration_truth: Scenario) -> None:
    """Users exactly; management shares within 0.06 and the second-device share within 0.05
    (about 3 standard errors at 600 users), each estimate inside its 95% interval."""
    fleet = calibration_truth.model.fleet
    assert fleet is not None
    assert fitted.get("fleet.users").value == CALIBRATION_USERS
    for name in ("mdm", "mam_we", "emm"):
        fit = fitted.get(f"fleet.management.{name}")
        truth = getattr(fleet.management, name)
        assert abs(fit.value - truth) < 0.06, name
        assert fit.interval is not None and fit.interval[0] <= fit.value <= fit.interval[1]
    second = fitted.get("fleet.second_device_share")
    assert abs(second.value - fleet.second_device_share) < 0.05


def test_app_use_is_recovered(fitted: Calibration, calibration_truth: Scenario) -> None:
    """App shares within 0.05; sessions per day within 6% (the world drops a relaunch during
    a running session, ~3% of launches); working share within 0.02; weekend factor within
    0.03."""
    for app in calibration_truth.model.apps:
        entry = next(a for a in fitted.apps if a["name"] == app.name)
        assert abs(entry["share"].value - app.share) < 0.05, app.name
        rate = entry["sessions_per_day"].value
        assert abs(rate - app.sessions_per_day) / app.sessions_per_day < 0.06, app.name
        assert not entry["session_length"].fitted
    launches = calibration_truth.model.launches
    assert abs(fitted.get("launches.working_share").value - launches.working_share) < 0.02
    assert abs(fitted.get("launches.weekend_factor").value - launches.weekend_factor) < 0.03


@pytest.mark.parametrize("kind", ["phishing", "network", "os_vulnerability"])
def test_threat_rates_and_severities_are_recovered(
    fitted: Calibration, calibration_truth: Scenario, kind: str
) -> None:
    """Rate per device-year within 25% with the truth inside its 95% interval (the default
    detection probability and VPN share equal the truth's); severity shares within 0.1."""
    truth = next(t for t in calibration_truth.model.threats if t.kind == kind)
    entry = _threat(fitted, kind)
    rate = entry["rate_per_device_year"]
    assert abs(rate.value - truth.rate_per_device_year) / truth.rate_per_device_year < 0.25
    lo, hi = rate.interval
    assert lo <= truth.rate_per_device_year <= hi
    shares = entry["severity"].value
    for level in ("low", "medium", "high"):
        assert abs(shares.get(level, 0.0) - getattr(truth.severity, level)) < 0.1, level


@pytest.mark.parametrize(
    ("kind", "median_tolerance", "p90_tolerance"),
    [("phishing", 0.3, 0.5), ("network", 0.35, 0.6), ("os_vulnerability", 0.5, 0.8)],
)
def test_delays_and_durations_are_recovered(
    fitted: Calibration,
    calibration_truth: Scenario,
    kind: str,
    median_tolerance: float,
    p90_tolerance: float,
) -> None:
    """Detection delay and natural duration (censored at the window's end) as lognormals:
    median and p90 within the stated relative tolerances of the truth (wider for the
    scarcer, longer, more censored OS vulnerabilities)."""
    truth = next(t for t in calibration_truth.model.threats if t.kind == kind)
    entry = _threat(fitted, kind)
    for name in ("detection_delay", "natural_duration"):
        got, want = entry[name].value, getattr(truth, name)
        assert got.dist == "lognormal", name
        assert abs(got.median / want.median - 1) < median_tolerance, (name, got, want)
        assert abs(got.p90 / want.p90 - 1) < p90_tolerance, (name, got, want)


def test_unidentifiable_parameters_keep_their_defaults(fitted: Calibration) -> None:
    """Detection probability, session length and IntuneMAMUPN shares are marked not fitted."""
    assert not fitted.get("fleet.mdm_passes_upn").fitted
    assert all(not a["session_length"].fitted for a in fitted.apps)


def test_written_scenario_loads_and_comments_every_field(
    fitted: Calibration, calibration_tenant: Tenant, tmp_path: Path
) -> None:
    """The TOML loads as a scenario; every key of the fitted sections has a comment above
    it (source, sample size, interval, or "not fitted" and why) — all but the names of apps
    and threat kinds."""
    tenant = calibration_tenant
    base = ScenarioModel(name="defaults", fleet=FleetModel())
    policy = ["", "[[policies]]", 'name = "p"', 'apps = ["outlook"]']
    text = scenario_toml(fitted, base, inputs=["x.json"], stats=tenant.stats, policy_lines=policy)
    path = tmp_path / "fitted.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.model.fleet is not None and scenario.model.fleet.users == CALIBRATION_USERS
    data = tomllib.loads(text)
    assert data["signals"]["defender_to_intune"]["median"] == "15m"  # the default, kept
    lines = text.splitlines()
    section = ""
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line
            continue
        key = line.split(" = ")[0]
        exempt = key in ("name", "kind") or "policies" in section or not section
        if "=" in line and not line.startswith("#") and not exempt:
            assert lines[i - 1].startswith("# "), (section, line)
    assert "95% interval" in text and "not fitted" in text


def test_interval_helpers_cover_known_cases() -> None:
    """Wilson and Poisson intervals contain the estimate and match textbook values; the
    censored lognormal fit recovers known parameters."""
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and abs(lo - 0.4038) < 1e-3
    lo, hi = poisson_interval(10)
    assert abs(lo - 4.795) < 0.05 and abs(hi - 18.39) < 0.1
    rng = np.random.default_rng(1)
    times = np.exp(rng.normal(math.log(300), 1.2, 2000))
    cut = 600.0
    fit = fit_lognormal(times[times <= cut], np.full(int((times > cut).sum()), cut))
    assert abs(fit.median / 300 - 1) < 0.1
    assert abs(fit.sigma - 1.2) < 0.1
