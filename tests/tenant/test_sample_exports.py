"""The synthetic exports bundled in ``scenarios/tenant-sample/`` (notebook 01 calibrates
from them): they calibrate through the public API, and the documented command
regenerates them byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simulator
from tests.generate_exports import main

SAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "tenant-sample"
ARGUMENTS = ["--users", "150", "--days", "14", "--outlook-sessions", "1", "--teams-sessions", "0.5"]
"""The command line of ``python -m tests.generate_exports`` that wrote the sample (its
README says so; :func:`test_the_readme_gives_the_regeneration_command` keeps them equal)."""
MAX_BYTES = 2_000_000


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.suffix in (".json", ".toml")
    }


def test_regenerating_reproduces_the_committed_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generator is deterministic and the sample is what it writes today."""
    assert main([str(tmp_path), *ARGUMENTS]) == 0
    capsys.readouterr()
    committed, regenerated = _files(SAMPLE), _files(tmp_path)
    assert sorted(committed) == sorted(regenerated)
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert not changed, f"regenerate the sample (see {SAMPLE / 'README.md'}): {changed} differ"


def test_the_sample_stays_small() -> None:
    total = sum(len(data) for data in _files(SAMPLE).values())
    assert total < MAX_BYTES, f"scenarios/tenant-sample/ holds {total:,} bytes"


def test_the_readme_gives_the_regeneration_command() -> None:
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    command = " ".join(["python -m tests.generate_exports scenarios/tenant-sample", *ARGUMENTS])
    assert command in readme


def test_the_sample_calibrates_onto_a_base_scenario() -> None:
    """Fleet and apps come from the exports; policies and the sweep stay the base's."""
    base = simulator.load_scenario(SAMPLE.parent / "threshold_sweep.toml")
    fitted = simulator.calibrate_scenario(
        alerts=sorted(SAMPLE.glob("alerts-page*.json")),
        devices=SAMPLE / "devices.json",
        app_registrations=SAMPLE / "app-registrations.json",
        signins=SAMPLE / "signins.json",
        mapping=SAMPLE / "mapping.toml",
        base=base,
    )
    devices = json.loads((SAMPLE / "devices.json").read_text(encoding="utf-8"))["value"]
    registrations = json.loads((SAMPLE / "app-registrations.json").read_text(encoding="utf-8"))
    users = {d["userId"] for d in devices if d["operatingSystem"] == "iOS"}
    users |= {
        r["userId"]
        for r in registrations["value"]
        if r["@odata.type"] == "#microsoft.graph.iosManagedAppRegistration"
    }
    assert fitted.model.fleet is not None
    assert fitted.model.fleet.users == len(users) == 150
    assert fitted.model.horizon == 14 * 1440
    assert [app.name for app in fitted.model.apps] == ["outlook", "teams"]
    assert {t.kind for t in fitted.model.threats} >= {"phishing", "network", "os_vulnerability"}
    assert fitted.policies == base.policies
    assert fitted.model.sweep == base.model.sweep
    assert fitted.model.seed == base.model.seed


def test_the_sample_calibrates_without_a_base() -> None:
    """Without a base: condlaunch's defaults and a level-3 style policy over the apps."""
    fitted = simulator.calibrate_scenario(signins=SAMPLE / "signins.json")
    [policy] = fitted.policies
    assert policy.max_threat_level is simulator.ThreatLevel.SECURED
    assert policy.threat_action is simulator.Action.BLOCK
    assert sorted(policy.apps) == ["outlook", "teams"]


def test_calibrating_needs_an_export() -> None:
    with pytest.raises(simulator.InputError, match="at least one export"):
        simulator.calibrate_scenario()
