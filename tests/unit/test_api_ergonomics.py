"""Notebook and API ergonomics: exports, the installed version, HTML reprs."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import simulator
from simulator import load_scenario
from simulator.scenario.load import scenario_from_data


def test_public_api_exports_the_folder_and_report_functions() -> None:
    """write_report, write_sweep and load_run are part of the curated API, and the
    version is the installed distribution's (importlib.metadata), not a second copy."""
    for name in ("write_report", "write_sweep", "load_run", "recommend", "Appetite"):
        assert name in simulator.__all__ and callable(getattr(simulator, name))
    assert simulator.__version__ == version("condlaunch")


def test_scenario_html_repr_escapes_names_and_shows_the_appetite() -> None:
    """A scenario shows itself in a notebook as a small table; user text is escaped and a
    stated appetite is listed."""
    scenario = scenario_from_data(
        {
            "name": "<script>x</script>",
            "fleet": {"users": 10},
            "policies": [{"name": "P", "apps": ["outlook"], "max_threat_level": "low"}],
            "appetite": {"limits": {"exposed_minutes_medium": 5}},
        }
    )
    html = scenario._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "exposed_minutes_medium ≤ 5" in html
    root = Path(__file__).resolve().parents[2]
    bundled = load_scenario(root / "scenarios" / "threshold_sweep.toml")._repr_html_()
    assert "300 users" in bundled and "max low · block" in bundled
