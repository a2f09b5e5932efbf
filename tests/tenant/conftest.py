"""Exports of simulated tenants with known parameters, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario.load import Scenario
from simulator.tenant.inventory import Exports, Tenant, load_tenant
from simulator.tenant.mapping import load_mapping
from tests.generate_exports import Written, truth_scenario, write_exports

CALIBRATION_USERS = 600
"""Users of the truth whose exports calibrate must fit (enough alerts per kind: ~200
phishing, ~70 network, ~60 OS-vulnerability episodes)."""
REPLAY_USERS = 120
"""Users of the truth whose full-shape exports replay must reproduce."""


def exports_of(written: Written) -> Exports:
    """The four inputs of a generated tenant."""
    return Exports(written.alerts, written.devices, written.app_registrations, written.signins)


@pytest.fixture(scope="session")
def calibration_truth() -> Scenario:
    """The truth scenario of the calibration exports."""
    return truth_scenario(CALIBRATION_USERS)


@pytest.fixture(scope="session")
def calibration_exports(
    tmp_path_factory: pytest.TempPathFactory, calibration_truth: Scenario
) -> Written:
    """Exports with each call's ``$select`` (as the README has users run them)."""
    folder: Path = tmp_path_factory.mktemp("calibration-exports")
    return write_exports(folder, calibration_truth, select=True)


@pytest.fixture(scope="session")
def replay_truth() -> Scenario:
    """The truth scenario of the replay exports."""
    return truth_scenario(REPLAY_USERS)


@pytest.fixture(scope="session")
def replay_exports(tmp_path_factory: pytest.TempPathFactory, replay_truth: Scenario) -> Written:
    """Exports with every field Graph returns (most of them ignored), paged sign-ins."""
    folder: Path = tmp_path_factory.mktemp("replay-exports")
    return write_exports(folder, replay_truth, signin_page=15_000)


@pytest.fixture(scope="session")
def calibration_tenant(calibration_exports: Written) -> Tenant:
    """The calibration exports, read and joined once."""
    return load_tenant(exports_of(calibration_exports), load_mapping(calibration_exports.mapping))
