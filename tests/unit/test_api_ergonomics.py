"""Notebook and API ergonomics: exports, the installed version, HTML reprs."""

from __future__ import annotations

import subprocess
import sys
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


def test_plots_is_a_public_namespace_loaded_on_first_use() -> None:
    """``simulator.plots`` exists after ``import simulator`` (a LazyLoader module) but runs,
    with matplotlib, only when an attribute is read; ``calibrate_scenario`` imports the
    tenant readers only when called. A fresh interpreter, so no other test's import hides
    an eager one."""
    code = (
        "import sys, types, simulator\n"
        "assert 'plots' in simulator.__all__ and 'calibrate_scenario' in simulator.__all__\n"
        "assert isinstance(simulator.plots, types.ModuleType)\n"
        "assert simulator.plots is sys.modules['simulator.plots']\n"
        "assert 'matplotlib' not in sys.modules and 'simulator.plots.run' not in sys.modules\n"
        "assert 'simulator.tenant.inventory' not in sys.modules\n"
        "from simulator import plots\n"
        "assert 'matplotlib' not in sys.modules\n"
        "assert callable(plots.frontier) and 'matplotlib' in sys.modules\n"
        "import simulator.plots.run\n"
        "from simulator.plots import pareto_efficient, time_to_protect\n"
        "assert time_to_protect is simulator.plots.run.time_to_protect\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


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


def test_run_result_has_an_escaped_notebook_view() -> None:
    """``RunResult._repr_html_``: the scenario and a per-variant count table whose numbers
    are the decision log's, with names escaped (a name is data, not markup)."""
    from simulator import load_scenario, simulate

    root = Path(__file__).resolve().parents[2]
    scenario = load_scenario(root / "scenarios" / "baseline.toml").with_changes(
        fleet={"users": 12}, name="Fleet <script>alert(1)</script>"
    )
    result = simulate(scenario, workers=1)
    html = result._repr_html_()
    assert "<script>" not in html
    assert "Fleet &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"{len(result.decisions):,} decisions" in html
    first = next(iter(result.variants))
    rows = result.decisions[result.decisions["variant"] == first]
    blocks = int((rows["outcome"] == "block").sum())
    cells = html.split(f"<th>{first}</th>", 1)[1].split("</tr>", 1)[0]
    assert f"<td>{len(rows)}</td>" in cells
    assert f"<td>{blocks}</td>" in cells
