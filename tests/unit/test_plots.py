"""Figures of :mod:`simulator.plots`, built from small hand-made tables.

Each figure is checked for the content a reader relies on (axes, labels with units, one
label per variant, legend entries, where an ECDF ends), and for staying off pyplot's
global state.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from simulator import plots as plots_package
from simulator.analysis import pareto
from simulator.analysis.catalogue import label_with_unit
from simulator.plots import run as plots
from simulator.plots import sweep as pe
from simulator.plots.frontier import axis_label, coinciding_actions, frontier, merged_label
from simulator.sim.log import DECISION_COLUMNS, DEVICE_COLUMNS, EPISODE_COLUMNS

VARIANTS = ["Level 3", "Strict wipe", "Lenient"]
FRICTIONS = ("unneeded_blocks", "unneeded_wipes", "blocked_user_minutes")


@pytest.fixture(autouse=True)
def _no_pyplot_figures() -> Any:
    """Every test must leave pyplot without figures: plotting never goes through it."""
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == []


# ---------------------------------------------------------------------------------------
# Hand-made tables


def metrics_frame(
    points: dict[str, tuple[float, float]] | None = None, *, ci: bool = False
) -> pd.DataFrame:
    """Metrics rows for segment all/all (and mdm), exposure and friction per variant."""
    points = points or {
        "Level 3": (200.0, 11.0),
        "Strict wipe": (200.0, 0.0),
        "Lenient": (1500.0, 1.0),
    }
    rows = []
    for segment_by, segment in (("all", "all"), ("management", "mdm")):
        for variant, (x, y) in points.items():
            row: dict[str, Any] = {
                "variant": variant,
                "segment_by": segment_by,
                "segment": segment,
                "launches": 1000,
                "exposed_minutes_medium": x,
                "unneeded_blocks": y,
                "unneeded_wipes": y / 2,
                "blocked_user_minutes": 100 * y + 5,
                "unneeded_denials": 1.5 * y,
                "blocked_user_minutes_threat": 10 * y,
                "wipes": y / 2,
            }
            if ci:
                row["exposed_minutes_medium_ci_low"] = 0.9 * x
                row["exposed_minutes_medium_ci_high"] = 1.1 * x
                row["blocked_user_minutes_ci_low"] = 0.8 * row["blocked_user_minutes"]
                row["blocked_user_minutes_ci_high"] = 1.2 * row["blocked_user_minutes"]
            rows.append(row)
    return pd.DataFrame(rows)


def outcomes_frame() -> pd.DataFrame:
    """Level 3: 4 episodes above max, 3 protected (10 min, 2 h, 1 d), 1 never.
    Lenient: 2 above max, both never enforced. Reporting: nothing above its max."""
    rows = [
        ("Level 3", "d1", "mdm", "medium", True, 10.0, False),
        ("Level 3", "d2", "mam_we", "low", True, 120.0, False),
        ("Level 3", "d3", "mdm", "high", True, 1440.0, False),
        ("Level 3", "d4", "mdm", "medium", True, math.nan, True),
        ("Lenient", "d3", "mdm", "high", True, math.nan, True),
        ("Lenient", "d5", "mam_we", "high", True, math.nan, True),
        ("Lenient", "d1", "mdm", "medium", False, math.nan, True),
        ("Reporting", "d3", "mdm", "high", False, math.nan, True),
    ]
    columns = [
        "variant",
        "device",
        "management",
        "severity",
        "over_max",
        "time_to_protect_min",
        "never_enforced",
    ]
    return pd.DataFrame(rows, columns=columns)


_DECISION_DEFAULTS: dict[str, Any] = {
    "time_min": 0.0,
    "device_index": 0,
    "device": "d1",
    "user": "u1",
    "app": "outlook",
    "management": "mdm",
    "trigger": "launch",
    "outcome": "allow",
    "reason": "compliant",
    "variant": "Level 3",
    "policy": "Level 3",
    "max_allowed": "secured",
    "action": "block",
    "known_level": "secured",
    "known_level_age_min": 0.0,
    "intune_level": "secured",
    "defender_level": "secured",
    "true_level": "secured",
    "defender_state": "activated",
    "connector": "enabled",
    "offline_min": 0.0,
    "fetched": True,
    "session_end_min": 0.0,
    "explanation": "",
}


def decision(**changes: Any) -> dict[str, Any]:
    """One decision-log row with the real schema; a granted launch by default."""
    row = {**_DECISION_DEFAULTS, **changes}
    if "session_end_min" not in changes:
        row["session_end_min"] = row["time_min"] + (5.0 if row["outcome"] == "allow" else 0.0)
    return row


def device_story() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Device d1 (outlook, teams) with a medium episode 1000 → 4000 min: threat-level
    blocks at 1100, 3900 and 4100 (stale signal), an offline block at 5000. Device d2 is
    busier (20 rows) but has no episode."""
    rows = [
        decision(time_min=100.0),
        decision(time_min=130.0, trigger="checkin"),
        decision(time_min=200.0, app="teams"),
        decision(
            time_min=1100.0,
            outcome="block",
            reason="threat_level_exceeded",
            known_level="medium",
            intune_level="medium",
            defender_level="medium",
            true_level="medium",
        ),
        decision(
            time_min=3900.0,
            app="teams",
            outcome="block",
            reason="threat_level_exceeded",
            known_level="medium",
            intune_level="medium",
            defender_level="medium",
            true_level="medium",
        ),
        decision(
            time_min=4100.0,
            intune_level="medium",
            known_level="medium",
            outcome="block",
            reason="threat_level_exceeded",
        ),
        decision(time_min=5000.0, outcome="block", reason="offline_block"),
        decision(time_min=6000.0),
    ]
    rows += [decision(time_min=10.0 * i, device="d2", device_index=1) for i in range(20)]
    rows += [decision(time_min=50.0, device="d1", variant="Lenient")]
    decisions = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    episodes = pd.DataFrame(
        [
            (
                0,
                "d1",
                "Level 3",
                "phishing-0",
                "phishing",
                "medium",
                1000.0,
                1010.0,
                5000.0,
                4000.0,
                True,
                1100.0,
            ),
            (
                0,
                "d1",
                "Lenient",
                "phishing-0",
                "phishing",
                "medium",
                1000.0,
                1010.0,
                5000.0,
                5000.0,
                False,
                math.inf,
            ),
        ],
        columns=EPISODE_COLUMNS,
    )
    return decisions, episodes


def devices_frame() -> pd.DataFrame:
    """Four mdm devices (one never activated), two mam_we (one after the horizon)."""
    rows = [
        (0, "d0", "u0", "Level 3", "mdm", True, "outlook", "absent", math.inf, 2.0),
        (1, "d1", "u1", "Level 3", "mdm", True, "outlook", "activated", math.inf, 0.0),
        (2, "d2", "u2", "Level 3", "mdm", True, "outlook", "absent", math.inf, 300.0),
        (3, "d3", "u3", "Level 3", "mdm", True, "outlook", "absent", math.inf, math.inf),
        (4, "d4", "u4", "Level 3", "mam_we", False, "outlook", "absent", 10.0, 60.0),
        (5, "d5", "u5", "Level 3", "mam_we", False, "outlook", "absent", 10.0, 99_999.0),
        (4, "d4", "u4", "Lenient", "mam_we", False, "outlook", "absent", 10.0, math.inf),
    ]
    return pd.DataFrame(rows, columns=DEVICE_COLUMNS)


# ---------------------------------------------------------------------------------------
# Helpers


def texts(artist: Any) -> list[str]:
    """Every text string drawn under an artist (axes, annotation box, figure)."""
    return [t.get_text() for t in artist.findobj(Text)]


def label_boxes(fig: Figure) -> list[AnnotationBbox]:
    return [a for ax in fig.axes for a in ax.artists if isinstance(a, AnnotationBbox)]


def line(ax: Any, label_start: str) -> Any:
    (found,) = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith(label_start)]
    return found


# ---------------------------------------------------------------------------------------
# Colours and saving


def test_variant_colors_are_stable_and_distinct() -> None:
    """The same variant order gives the same hex colours; ten variants get ten colours."""
    names = [f"v{i}" for i in range(10)]
    first, again = plots.variant_colors(names), plots.variant_colors(list(names))
    assert first == again
    assert len(set(first.values())) == 10
    assert all(c.startswith("#") and len(c) == 7 for c in first.values())
    assert plots.variant_colors(["a", "b", "a"]) == plots.variant_colors(["a", "b"])


def test_variant_keeps_its_colour_across_figures() -> None:
    """A variant is drawn in the same colour in the trade-off and time-to-protect figures."""
    ef = frontier(metrics_frame({"Level 3": (1, 2), "Lenient": (5, 1)}), friction="unneeded_blocks")
    ttp = plots.time_to_protect(outcomes_frame())
    expected = plots.variant_colors(["Level 3", "Lenient"])
    scatters = [c for c in ef.axes[0].collections if isinstance(c, PathCollection)]
    drawn = {c.get_label(): c.get_facecolor()[0] for c in scatters}
    for variant in ("Level 3", "Lenient"):
        assert tuple(drawn[variant][:3]) == pytest.approx(_rgb(expected[variant]))
        assert line(ttp.axes[0], variant).get_color() == expected[variant]


def _rgb(hex_color: str) -> tuple[float, float, float]:
    red, green, blue = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return red, green, blue


def test_save_figure_writes_png_atomically(tmp_path: Path) -> None:
    """save_figure writes a PNG (magic bytes), replaces an existing file, leaves no temp."""
    target = tmp_path / "sub" / "figure.png"
    fig = plots.onboarding_funnel(devices_frame(), 1440.0)
    assert plots.save_figure(fig, target) == target
    first = target.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    plots.save_figure(fig, target)
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in target.parent.iterdir()] == ["figure.png"]


def test_save_figure_failure_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If rendering fails, the previous file is untouched and the temp file removed."""
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")
    fig = plots.onboarding_funnel(devices_frame(), 1440.0)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.save_figure(fig, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_importing_plots_does_not_import_pyplot() -> None:
    """Importing simulator.plots.run neither imports pyplot nor selects a backend."""
    code = (
        "import sys, matplotlib; import simulator.plots.run; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------
# 1. The trade-off figure of a run: frontier (exposure_friction is its former name)


def test_frontier_of_a_run_small_multiples_with_catalogue_labels() -> None:
    """One panel per friction metric, shared x; every axis label is the catalogue's label
    and unit; the title says lower-left is better and that a run has no intervals."""
    fig = frontier(metrics_frame(), friction=FRICTIONS)
    assert len(fig.axes) == 3
    xlabels = {" ".join(ax.get_xlabel().split()) for ax in fig.axes}  # unwrapped
    assert xlabels == {label_with_unit("exposed_minutes_medium")}
    assert "(session-minutes)" in fig.axes[0].get_xlabel()
    ylabels = [" ".join(ax.get_ylabel().split()) for ax in fig.axes]
    assert ylabels == [label_with_unit(m) for m in FRICTIONS]
    assert fig.axes[0].get_shared_x_axes().joined(fig.axes[0], fig.axes[2])
    title = " ".join(str(fig.get_suptitle()).split())
    assert "lower-left is better" in title and "one run, no confidence intervals" in title


def test_frontier_labels_each_variant_once_per_panel() -> None:
    """Every variant's name appears exactly once in each panel; coincident points
    (Level 3 and Strict have the same exposure and friction) share one label box listing
    both, and each variant has one marker."""
    points = {"Level 3": (200.0, 3.0), "Strict wipe": (200.0, 3.0), "Lenient": (1500.0, 1.0)}
    fig = frontier(metrics_frame(points), friction="unneeded_blocks")
    (ax,) = fig.axes
    drawn = [t for t in texts(ax) if t in points]
    assert sorted(drawn) == sorted(points)
    boxes = label_boxes(fig)
    assert len(boxes) == 2
    assert any(set(points) - {"Lenient"} <= set(texts(box)) for box in boxes)
    assert all(len(c.get_offsets()) == 1 for c in ax.collections if isinstance(c, PathCollection))


def _action_pairs(wipe_low: tuple[float, float]) -> pd.DataFrame:
    """A sweep-like table: Secured and Low, each with block and wipe; Low's wipe at
    ``wipe_low`` (the block variant is at (300, 4))."""
    return metrics_frame(
        {
            "max Secured · block": (100.0, 9.0),
            "max Secured · wipe": (100.0, 12.0),
            "max Low · block": (300.0, 4.0),
            "max Low · wipe": wipe_low,
        },
        ci=True,
    )


def _marker_names(fig: Figure) -> list[list[str]]:
    return [
        [str(c.get_label()) for c in ax.collections if isinstance(c, PathCollection)]
        for ax in fig.axes
    ]


def test_frontier_draws_a_coinciding_block_wipe_pair_once_with_a_note() -> None:
    """Low + block and Low + wipe have the same value on every metric shown: one marker
    per panel, one label naming both ("max Low (block = wipe)"), and the title says why;
    Secured's pair differs (wipes differ) and keeps two markers and two names."""
    table = _action_pairs((300.0, 4.0))
    friction = ["unneeded_blocks", "blocked_user_minutes"]
    fig = frontier(table, friction=friction)
    for names in _marker_names(fig):
        assert sorted(names) == sorted(
            ["max Secured · block", "max Secured · wipe", "max Low (block = wipe)"]
        )
    drawn = [t for box in label_boxes(fig) for t in texts(box)]
    assert drawn.count("max Low (block = wipe)") == len(fig.axes)
    assert "max Low · block" not in drawn and "max Low · wipe" not in drawn
    title = " ".join(str(fig.get_suptitle()).split())
    assert "“block = wipe”" in title and "made no difference" in title
    assert coinciding_actions(table, friction=friction) == [("max Low · block", "max Low · wipe")]


def test_frontier_keeps_block_and_wipe_apart_when_they_differ() -> None:
    """A pair that differs on one metric of the figure (here only in an interval end,
    or a y value) is two markers and no note; the same pair is merged in a figure whose
    metrics it agrees on."""
    shifted = _action_pairs((300.0, 4.0))
    low_wipe = (shifted["variant"] == "max Low · wipe") & (shifted["segment"] == "all")
    shifted.loc[low_wipe, "exposed_minutes_medium_ci_high"] = 400.0
    apart = _action_pairs((300.0, 5.0))
    for table in (shifted, apart):
        fig = frontier(table, friction="blocked_user_minutes")
        (names,) = _marker_names(fig)
        assert len(names) == 4 and "max Low (block = wipe)" not in names
        assert "block = wipe" not in str(fig.get_suptitle())
        assert coinciding_actions(table, friction="blocked_user_minutes") == []
        plt.close(fig)
    merged = frontier(apart, exposure="launches", friction="launches")
    (names,) = _marker_names(merged)
    assert sorted(names) == ["max Low (block = wipe)", "max Secured (block = wipe)"]


def test_merged_labels() -> None:
    """The label of a pair drawn once names both actions."""
    assert merged_label("max High · block") == "max High (block = wipe)"
    assert merged_label("Level 3 - Secured + block") == "Level 3 - Secured (block = wipe)"
    assert merged_label("block at low") == "block = wipe at low"


def test_frontier_of_a_run_labels_do_not_overlap() -> None:
    """Labels of a tight cluster of points (where every label at the same offset would
    collide) are placed so that no two label boxes overlap."""
    points = {
        f"Variant {name}": (1000.0 + 40 * i, 500.0 + 30 * (i % 3))
        for i, name in enumerate("ABCDEF")
    }
    fig = frontier(metrics_frame(points), friction="blocked_user_minutes")
    fig.draw_without_rendering()
    extents = [box.patch.get_window_extent() for box in label_boxes(fig)]
    assert len(extents) == 6
    for a, b in itertools.combinations(extents, 2):
        assert not a.overlaps(b), (a, b)


def test_frontier_error_bars_only_with_ci_columns() -> None:
    """A wide table with <metric>_ci_low/_ci_high columns gets error bars for each
    variant (and a title saying so); without them, none."""
    with_ci = frontier(metrics_frame(ci=True), friction="blocked_user_minutes")
    bars = [c for c in with_ci.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == len(VARIANTS)
    assert all(c.has_xerr and c.has_yerr for c in bars)
    title = " ".join(str(with_ci.get_suptitle()).split()).lower()
    assert "means with confidence intervals" in title
    plain = frontier(metrics_frame(), friction="blocked_user_minutes")
    assert not plain.axes[0].containers


def test_frontier_segment_selection_and_errors() -> None:
    """A segment selects its rows; an absent segment (the message lists those present),
    duplicate rows per variant, a missing column and no friction at all are refused."""
    fig = frontier(metrics_frame(), friction="unneeded_blocks", segment=("management", "mdm"))
    assert "management = mdm" in str(fig.get_suptitle())
    with pytest.raises(ValueError, match=r"mam_we.*present.*mdm"):
        frontier(metrics_frame(), segment=("management", "mam_we"))
    doubled = pd.concat([metrics_frame(), metrics_frame()])
    with pytest.raises(ValueError, match="several rows per variant"):
        frontier(doubled, friction="unneeded_blocks")
    with pytest.raises(ValueError, match="never_enforced"):
        frontier(metrics_frame(), friction="never_enforced")
    with pytest.raises(ValueError, match="at least one metric"):
        frontier(metrics_frame(), friction=[])


def test_frontier_defaults_to_the_thresholds_own_friction() -> None:
    """By default the panels are unneeded denials, minutes blocked for threat level and
    wipes (not total blocked minutes, mostly onboarding), each with its catalogue label."""
    fig = frontier(metrics_frame())
    assert pareto.DEFAULT_FRICTION == ("unneeded_denials", "blocked_user_minutes_threat", "wipes")
    assert pe.DEFAULT_FRICTION == pareto.DEFAULT_FRICTION
    labels = [" ".join(ax.get_ylabel().split()) for ax in fig.axes]  # unwrapped
    assert labels == [axis_label(m) for m in pareto.DEFAULT_FRICTION]
    assert "threat level" in labels[1]


def test_frontier_of_one_variant_has_nothing_to_compare() -> None:
    """One variant: one filled marker per panel, no frontier line and no Pareto key, and
    the title says there is nothing to compare it with."""
    fig = frontier(metrics_frame({"Level 3": (200.0, 11.0)}), friction=FRICTIONS[:2])
    for ax in fig.axes:
        marker = scatter_of(ax, "Level 3")
        assert marker.get_facecolors().size  # filled
        assert not [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "")]
    assert not fig.legends
    assert "One variant (Level 3): nothing to compare it with" in str(fig.get_suptitle())


def test_frontier_with_all_zero_values() -> None:
    """Every variant at (0, 0): all efficient (filled), one shared label, finite axes
    above 0 with distinct whole-number ticks on a count axis (no "0.1, 0.1")."""
    zeros = {"A": (0.0, 0.0), "B": (0.0, 0.0), "C": (0.0, 0.0)}
    fig = frontier(metrics_frame(zeros), friction="unneeded_blocks")
    (ax,) = fig.axes
    for variant in zeros:
        assert scatter_of(ax, variant).get_facecolors().size
    assert "Pareto-efficient (filled): A, B, C" in str(fig.get_suptitle())
    (box,) = label_boxes(fig)
    assert set(zeros) <= set(texts(box))
    low, high = ax.get_ylim()
    assert low < 0.0 < high and math.isfinite(high)
    fig.draw_without_rendering()
    ticks = [t.get_text() for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]
    assert len(ticks) == len(set(ticks)) >= 2
    assert all(float(t.replace(",", "")) == int(float(t.replace(",", ""))) for t in ticks)


def test_frontier_without_pareto_marking() -> None:
    """pareto=False draws every variant filled, with no frontier line and no key."""
    fig = frontier(metrics_frame(), friction="unneeded_blocks", pareto=False)
    (ax,) = fig.axes
    assert all(scatter_of(ax, v).get_facecolors().size for v in VARIANTS)
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "")]
    assert "Pareto-efficient" not in str(fig.get_suptitle())


def test_exposure_friction_is_the_frontier() -> None:
    """The former name draws the same figure: same title, panels and axis labels."""
    old = plots_package.exposure_friction(metrics_frame(), friction=FRICTIONS)
    new = frontier(metrics_frame(), friction=FRICTIONS)
    assert old.get_suptitle() == new.get_suptitle()
    assert [a.get_ylabel() for a in old.axes] == [a.get_ylabel() for a in new.axes]


def test_axis_label_from_the_catalogue() -> None:
    """Axis labels are the catalogue's label and unit; the unit is not repeated when the
    label names it; a column outside the catalogue keeps its name, spaced."""
    assert axis_label("exposed_minutes_high") == "exposed minutes ≥ high (session-minutes)"
    assert axis_label("blocked_user_minutes") == "blocked, any reason (user-minutes)"
    assert axis_label("launches") == "launches"
    assert axis_label("time_to_restore_median_min") == "time to restore, median (minutes)"
    assert axis_label("my_own_column") == "my own column"


# ---------------------------------------------------------------------------------------
# 2. Time to protect


def test_time_to_protect_ecdf_ends_at_enforced_share() -> None:
    """Each curve ends at 1 − never-enforced share of over-max episodes; the legend says
    the share; a variant without over-max episodes is listed without a curve."""
    fig = plots.time_to_protect(outcomes_frame())
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    level3 = line(ax, "Level 3")
    assert level3.get_ydata()[-1] == pytest.approx(0.75)
    assert "never enforced: 25%" in level3.get_label()
    assert "n=4" in level3.get_label()
    lenient = line(ax, "Lenient")
    assert np.all(np.asarray(lenient.get_ydata()) == 0.0)
    assert "never enforced: 100%" in lenient.get_label()
    reporting = line(ax, "Reporting")
    assert len(reporting.get_xdata()) == 0
    assert "no episodes above its max" in reporting.get_label()
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 3
    assert "log scale" in ax.get_xlabel()


def test_time_to_protect_ecdf_steps_at_each_protected_episode() -> None:
    """The Level 3 curve rises by 1/4 at 10 min, 2 h and 1 d, and nowhere else."""
    ax = plots.time_to_protect(outcomes_frame()).axes[0]
    xs = np.asarray(line(ax, "Level 3").get_xdata(), dtype=float)
    ys = np.asarray(line(ax, "Level 3").get_ydata(), dtype=float)
    rises = xs[1:][np.diff(ys) > 0]
    assert rises.tolist() == [10.0, 120.0, 1440.0]
    assert ys.max() == pytest.approx(0.75)


def test_time_to_protect_ticks_are_readable_durations() -> None:
    """Major ticks on the log axis are labelled as durations (5m, 30m, 2h, 1d …)."""
    fig = plots.time_to_protect(outcomes_frame())
    fig.draw_without_rendering()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert {"30m", "2h", "1d"} <= set(labels)
    assert all(label[-1] in "smhd" for label in labels)


def test_time_to_protect_without_enforced_episodes() -> None:
    """If no variant protected any episode, the figure still builds with flat curves."""
    outcomes = outcomes_frame()
    outcomes["never_enforced"] = True
    outcomes["time_to_protect_min"] = math.nan
    ax = plots.time_to_protect(outcomes).axes[0]
    assert np.all(np.asarray(line(ax, "Level 3").get_ydata()) == 0.0)
    assert ax.get_xlim()[0] > 0


def test_time_to_protect_management_filter() -> None:
    """management= keeps only episodes on such devices (Level 3 on mam_we: 1 of 1)."""
    ax = plots.time_to_protect(outcomes_frame(), management="mam_we").axes[0]
    assert line(ax, "Level 3").get_ydata()[-1] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# 3. Device timeline


def test_device_timeline_panels_lines_and_markers() -> None:
    """Two panels; level lines for true, Defender, Intune and each app; the episode
    shaded; one marker per decision row, denials in outcome colours; days on x."""
    decisions, episodes = device_story()
    fig = plots.device_timeline(decisions, episodes, "d1", "Level 3")
    top, bottom = fig.axes
    labels = [ln.get_label() for ln in top.get_lines()]
    for start in ("true level", "Defender", "Intune", "outlook knew", "teams knew"):
        assert any(label.startswith(start) for label in labels), start
    assert "days" in bottom.get_xlabel()
    assert "sampled at rows" in top.get_title(loc="left")
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["outlook", "teams"]
    spans = [p for p in top.patches if isinstance(p, Rectangle) and "medium" in str(p.get_label())]
    assert len(spans) == 1
    assert any("phishing (medium)" in t for t in texts(top))
    markers = [c for c in bottom.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in markers) == 8
    hollow_orange = [
        c
        for c in markers
        if len(c.get_edgecolor())
        and np.allclose(c.get_edgecolor()[0][:3], _rgb("#ff7f0e"))
        and np.allclose(c.get_facecolor()[0][:3], (1.0, 1.0, 1.0))
    ]
    assert sum(len(c.get_offsets()) for c in hollow_orange) == 1  # the offline block


def test_device_timeline_true_level_follows_episodes() -> None:
    """The true-level line is medium from onset to end of the episode, secured outside."""
    decisions, episodes = device_story()
    top = plots.device_timeline(decisions, episodes, "d1", "Level 3").axes[0]
    true = line(top, "true level")
    xs = np.asarray(true.get_xdata(), dtype=float) * 1440.0
    ys = np.asarray(true.get_ydata(), dtype=float)
    offset = ys.min()  # secured (0) plus the line's small vertical offset

    def level_at(t: float) -> float:
        return float(ys[np.searchsorted(xs, t, side="right") - 1] - offset)

    assert level_at(500.0) == pytest.approx(0.0)
    assert level_at(1000.0) == pytest.approx(2.0)
    assert level_at(3999.0) == pytest.approx(2.0)
    assert level_at(4000.0) == pytest.approx(0.0)


def test_device_timeline_short_window_in_hours() -> None:
    """A window of up to two days is drawn in hours and clipped to the window."""
    decisions, episodes = device_story()
    fig = plots.device_timeline(
        decisions, episodes, "d1", "Level 3", start_min=900.0, end_min=1500.0
    )
    bottom = fig.axes[1]
    assert "hours" in bottom.get_xlabel()
    assert bottom.get_xlim() == pytest.approx((15.0, 25.0))


def test_device_timeline_stops_at_the_horizon() -> None:
    """An episode whose recorded end lies past the horizon (20000 min; another never
    ends) does not stretch the x axis: it stops at horizon_min when given, else at the
    device's last decision row or session end (about 6000 min)."""
    decisions, episodes = device_story()
    late = episodes.iloc[[0, 0]].assign(
        episode=["late-0", "late-1"],
        onset_min=[5500.0, 5800.0],
        natural_end_min=[20000.0, math.inf],
        end_min=[20000.0, math.inf],
    )
    episodes = pd.concat([episodes, late], ignore_index=True)
    fig = plots.device_timeline(decisions, episodes, "d1", "Level 3", horizon_min=8000.0)
    assert fig.axes[1].get_xlim() == pytest.approx((0.0, 8000.0 / 1440.0))
    fig = plots.device_timeline(decisions, episodes, "d1", "Level 3")
    own = decisions[(decisions["device"] == "d1") & (decisions["variant"] == "Level 3")]
    last = max(own["time_min"].max(), own["session_end_min"].max())
    assert 6000.0 <= last < 6100.0
    assert fig.axes[1].get_xlim() == pytest.approx((0.0, last / 1440.0))


def test_device_timeline_refuses_unknown_device_and_empty_window() -> None:
    """An unknown device or an empty window is refused with a ValueError."""
    decisions, episodes = device_story()
    with pytest.raises(ValueError, match="d9"):
        plots.device_timeline(decisions, episodes, "d9", "Level 3")
    with pytest.raises(ValueError, match="empty window"):
        plots.device_timeline(decisions, episodes, "d1", "Level 3", start_min=10, end_min=10)


def test_pick_interesting_device_prefers_threat_denials() -> None:
    """A device with an episode and a threat-level denial wins over a busier device;
    without such a device the busiest one is chosen; the choice is deterministic."""
    decisions, episodes = device_story()
    assert plots.pick_interesting_device(decisions, episodes, "Level 3") == "d1"
    assert plots.pick_interesting_device(decisions, episodes.iloc[:0], "Level 3") == "d2"
    shuffled = decisions.sample(frac=1.0, random_state=3)
    assert plots.pick_interesting_device(shuffled, episodes, "Level 3") == "d1"
    with pytest.raises(ValueError, match="Nope"):
        plots.pick_interesting_device(decisions, episodes, "Nope")


# ---------------------------------------------------------------------------------------
# 4. Onboarding


def test_onboarding_funnel_one_line_per_management() -> None:
    """One line per management set-up, ending at the share activated by the horizon;
    never-activated (inf) and late devices do not count; the first variant is used."""
    for log_time in (True, False):
        fig = plots.onboarding_funnel(devices_frame(), 1440.0, log_time=log_time)
        (ax,) = fig.axes
        mdm, mam_we = line(ax, "mdm"), line(ax, "mam_we")
        assert mdm.get_ydata()[-1] == pytest.approx(0.75)
        assert mam_we.get_ydata()[-1] == pytest.approx(0.5)
        assert "4 devices" in mdm.get_label()
        assert "share" in ax.get_ylabel()
        assert "Level 3" in str(fig.get_suptitle())
    assert ax.get_xscale() == "linear" and "days" in ax.get_xlabel()
    lenient = plots.onboarding_funnel(devices_frame(), 1440.0, variant="Lenient").axes[0]
    assert line(lenient, "mam_we").get_ydata()[-1] == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------
# 5. Choosing a variant: Pareto efficiency, the frontier, exposure tails


def pareto_table(points: dict[str, tuple[float, ...]]) -> pd.DataFrame:
    """One row per variant: exposure ``x``, then frictions ``f1``, ``f2`` … (wide table)."""
    rows = []
    for variant, (x, *frictions) in points.items():
        rows.append(
            {"variant": variant, "x": x, **{f"f{i + 1}": f for i, f in enumerate(frictions)}}
        )
    return pd.DataFrame(rows)


def test_pareto_efficient_two_metrics_by_hand() -> None:
    """(x, f) per variant, lower is better on both. C (3, 4) is beaten by B (2, 3); E (1, 6)
    by A and D (1, 5: as good on x, better on f); A and D tie, so both stay efficient."""
    table = pareto_table(
        {"A": (1, 5), "B": (2, 3), "C": (3, 4), "D": (1, 5), "E": (1, 6), "F": (4, 1)}
    )
    assert pe.pareto_efficient(table, "x", ["f1"]) == ["A", "B", "D", "F"]
    beaten = pe.dominated_by(table, "x", ["f1"])
    assert beaten == {"A": [], "B": [], "C": ["B"], "D": [], "E": ["A", "D"], "F": []}


def test_pareto_ignores_rounding_noise() -> None:
    """Means equal in theory but apart by summation noise (~1e-11 relative) count as equal:
    Block (10; 5, 0) and Wipe (10 + 1e-7; 5, 1) — the wipe's extra exposure is rounding —
    so Wipe is dominated (worse on f2), and two near-copies both stay efficient. A real
    gap (1e-6 relative) still counts."""
    x = 5_603_498.7
    table = pareto_table(
        {
            "Block": (x, 5, 0),
            "Wipe": (x + 1e-7, 5, 1),
            "Copy": (x - 1e-8, 5 + 1e-12, 0),
            "Real": (x * (1 - 1e-6), 7, 1),
        }
    )
    assert pe.pareto_efficient(table, "x", ["f1", "f2"]) == ["Block", "Copy", "Real"]
    beaten = pe.dominated_by(table, "x", ["f1", "f2"])
    assert beaten == {"Block": [], "Wipe": ["Block", "Copy"], "Copy": [], "Real": []}


def test_pareto_efficient_several_frictions_and_missing_values() -> None:
    """With two friction metrics a variant must be matched on all three metrics to be
    dominated: C (1; 5, 1) is beaten by A (1; 5, 0), B (2; 3, 1) is not (better on f1).
    N has a missing exposure: not judged (not efficient) and beats nobody."""
    table = pareto_table({"A": (1, 5, 0), "B": (2, 3, 1), "C": (1, 5, 1), "N": (math.nan, 0, 0)})
    assert pe.pareto_efficient(table, "x", ["f1", "f2"]) == ["A", "B"]
    assert pe.dominated_by(table, "x", ["f1", "f2"]) == {"A": [], "B": [], "C": ["A"], "N": []}
    # On f2 alone, B (2, 1) is beaten by A (1, 0), and C (1, 1) too.
    assert pe.pareto_efficient(table, "x", ["f2"]) == ["A"]


def test_pareto_follows_each_metrics_direction() -> None:
    """A higher-is-better metric (granted minutes) counts the other way round: with equal
    exposure, A (more granted minutes) dominates B; the same numbers under a
    lower-is-better metric (wipes) make B dominate A."""
    table = pd.DataFrame(
        {"variant": ["A", "B"], "x": [1.0, 1.0], "granted_minutes": [100.0, 50.0]}
    ).assign(wipes=lambda t: t["granted_minutes"])
    assert pareto.dominated_by(table, "x", ["granted_minutes"]) == {"A": [], "B": ["A"]}
    assert pareto.dominated_by(table, "x", ["wipes"]) == {"A": ["B"], "B": []}


def test_pareto_functions_are_re_exported_for_notebooks() -> None:
    """simulator.plots and simulator.plots.sweep keep offering the analysis functions."""
    assert plots_package.pareto_efficient is pareto.pareto_efficient
    assert plots_package.dominated_by is pareto.dominated_by
    assert pe.summary_to_wide is pareto.summary_to_wide
    assert pe.frontier is frontier is plots_package.frontier


def summary_frame(points: dict[str, tuple[float, float]], *, half: float = 0.1) -> pd.DataFrame:
    """A sweep's long summary: exposure and unneeded blocks per variant, segments all and
    mdm (mdm: the friction ordering reversed), CI ± ``half`` × value."""
    rows = []
    for segment_by, segment in (("all", "all"), ("management", "mdm")):
        for variant, (x, y) in points.items():
            y_here = y if segment == "all" else 100 - y
            for metric, value in (("exposed_minutes_medium", x), ("unneeded_blocks", y_here)):
                rows.append(
                    {
                        "variant": variant,
                        "segment_by": segment_by,
                        "segment": segment,
                        "metric": metric,
                        "mean": value,
                        "ci_low": value * (1 - half),
                        "ci_high": value * (1 + half),
                        "half_width": value * half,
                        "n": 10,
                    }
                )
    return pd.DataFrame(rows)


def test_summary_to_wide_and_pareto_on_a_long_summary() -> None:
    """A long summary becomes one row per variant × segment with mean and CI columns, in
    order; pareto_efficient reads it directly, segment by segment."""
    points = {"A": (100.0, 10.0), "B": (200.0, 5.0), "C": (300.0, 20.0)}
    summary = summary_frame(points)
    wide = pe.summary_to_wide(summary)
    assert list(wide["variant"]) == ["A", "B", "C", "A", "B", "C"]
    assert list(wide.columns[:5]) == [
        "variant",
        "segment_by",
        "segment",
        "exposed_minutes_medium",
        "exposed_minutes_medium_ci_low",
    ]
    assert wide.loc[1, "unneeded_blocks_ci_high"] == pytest.approx(5.5)
    friction = ["unneeded_blocks"]
    assert pe.pareto_efficient(summary, "exposed_minutes_medium", friction) == ["A", "B"]
    mdm = ("management", "mdm")  # frictions 90, 95, 80: C is efficient there, B is not
    assert pe.pareto_efficient(summary, "exposed_minutes_medium", friction, segment=mdm) == [
        "A",
        "C",
    ]
    with pytest.raises(ValueError, match="several rows per variant"):
        pe.pareto_efficient(wide.drop(columns=["segment_by"]), "exposed_minutes_medium", friction)
    with pytest.raises(ValueError, match="no rows for segment"):
        pe.pareto_efficient(wide, "exposed_minutes_medium", friction, segment=("app", "x"))


def scatter_of(ax: Any, variant: str) -> PathCollection:
    (found,) = [
        c for c in ax.collections if isinstance(c, PathCollection) and c.get_label() == variant
    ]
    return found


def test_frontier_one_marker_per_variant_filled_when_efficient() -> None:
    """Each panel has exactly one marker per variant, filled with its colour when the
    variant is Pareto-efficient on all metrics shown and hollow (no face) otherwise; axes
    carry units; the title names the efficient variants."""
    points = {"Level 3": (200.0, 11.0), "Strict wipe": (200.0, 0.0), "Lenient": (100.0, 1.0)}
    fig = pe.frontier(metrics_frame(points), friction=FRICTIONS)
    colors = plots.variant_colors(points)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        for variant in points:
            marker = scatter_of(ax, variant)
            assert len(marker.get_offsets()) == 1
        assert "(session-minutes)" in ax.get_xlabel()
        assert ax.get_ylabel()
    # (exposure; unneeded blocks, unneeded wipes, blocked minutes): Strict wipe (200; 0, 0, 5)
    # beats Level 3 (200; 11, 5.5, 1105); Lenient (100; 1, 0.5, 105) has the least exposure.
    strict = scatter_of(fig.axes[0], "Strict wipe").get_facecolors()[0]
    assert tuple(strict[:3]) == pytest.approx(_rgb(colors["Strict wipe"]), abs=1e-3)
    assert scatter_of(fig.axes[0], "Level 3").get_facecolors().size == 0  # hollow ring
    title = str(fig.get_suptitle())
    assert "Pareto-efficient (filled): Strict wipe, Lenient" in title
    assert "Level 3" not in title.split("Pareto-efficient")[1]


def test_frontier_step_line_runs_through_the_panel_frontier() -> None:
    """The dashed step line visits the points efficient on the panel's two metrics, in
    order of exposure: (100, 10) then (200, 5); (300, 20) is above it."""
    points = {"A": (100.0, 10.0), "B": (200.0, 5.0), "C": (300.0, 20.0)}
    fig = pe.frontier(summary_frame(points), friction="unneeded_blocks")
    (ax,) = fig.axes
    (step,) = [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "")]
    xs, ys = (np.asarray(v, dtype=float) for v in step.get_data())
    assert list(xs[1:3]) == [100.0, 200.0]
    assert list(ys[1:3]) == [10.0, 5.0]
    assert ys[0] > 20.0  # from the top edge …
    assert xs[-1] > 300.0  # … to the right edge


def test_frontier_error_bars_from_a_summary_only() -> None:
    """A sweep summary (mean, ci_low, ci_high) gives each variant x and y error bars; a
    plain metrics table gives points only, and the title says which."""
    points = {"A": (100.0, 10.0), "B": (200.0, 5.0), "C": (300.0, 20.0)}
    fig = pe.frontier(summary_frame(points), friction="unneeded_blocks")
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3 and all(c.has_xerr and c.has_yerr for c in bars)
    assert "confidence intervals" in str(fig.get_suptitle())
    plain = pe.frontier(metrics_frame(), friction="unneeded_blocks")
    assert not plain.axes[0].containers
    assert "no confidence intervals" in " ".join(str(plain.get_suptitle()).split())


def test_frontier_labels_do_not_overlap_and_legend_for_many_variants() -> None:
    """Up to six variants are labelled next to their points without overlaps; with more,
    a legend lists each variant once and no point labels are drawn."""
    few = {f"Variant {c}": (1000.0 + 40 * i, 5.0 + 3 * (i % 3)) for i, c in enumerate("ABCDEF")}
    fig = pe.frontier(metrics_frame(few), friction="unneeded_blocks")
    fig.draw_without_rendering()
    extents = [box.patch.get_window_extent() for box in label_boxes(fig)]
    assert len(extents) == len(few)
    for a, b in itertools.combinations(extents, 2):
        assert not a.overlaps(b), (a, b)
    many = {f"Sweep {i:02d}": (float(i), float(i % 4)) for i in range(8)}
    fig = pe.frontier(metrics_frame(many), friction="unneeded_blocks")
    assert not label_boxes(fig)
    named = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert [n for n in named if n in many] == list(many)


def exposures_frame() -> pd.DataFrame:
    """Exposed minutes per episode: V 0, 0, 10, 100 (medium, high, medium, high; the two
    high ones over max); W 5 on one low episode."""
    rows = [
        ("V", "medium", False, 0.0),
        ("V", "high", True, 0.0),
        ("V", "medium", False, 10.0),
        ("V", "high", True, 100.0),
        ("W", "low", True, 5.0),
    ]
    return pd.DataFrame(rows, columns=["variant", "severity", "over_max", "exposed_minutes"])


def test_exceedance_survival_curve_by_hand() -> None:
    """V's curve is P(exposed > x): 50% (two of four episodes exposed) up to 10 minutes,
    25% up to 100, then 0; the x axis is logarithmic in minutes and the legend gives n and
    the share exposed."""
    fig = pe.exceedance(exposures_frame())
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert "exposed minutes per episode" in ax.get_xlabel() and "log scale" in ax.get_xlabel()
    assert "share of episodes" in ax.get_ylabel()
    v = line(ax, "V (")
    xs, ys = (np.asarray(a, dtype=float) for a in v.get_data())
    assert list(ys) == [0.5, 0.25, 0.0, 0.0]
    assert list(xs[1:3]) == [10.0, 100.0]
    assert "n=4, any exposure: 50%" in str(v.get_label())
    assert len([ln for ln in ax.get_lines() if str(ln.get_label()).startswith(("V", "W"))]) == 2


def test_exceedance_filters_and_errors() -> None:
    """over_max keeps the episodes above each variant's max; min_severity those at least
    that severe (a variant left with none is listed as such); bad choices are refused."""
    over = pe.exceedance(exposures_frame(), episodes="over_max")
    assert "n=2, any exposure: 50%" in str(line(over.axes[0], "V (").get_label())
    assert "above each variant's max" in str(over.get_suptitle())
    high = pe.exceedance(exposures_frame(), min_severity="medium")
    assert "W (no such episodes)" in [str(ln.get_label()) for ln in high.axes[0].get_lines()]
    with pytest.raises(ValueError, match="episodes"):
        pe.exceedance(exposures_frame(), episodes="some")
    with pytest.raises(ValueError, match="min_severity"):
        pe.exceedance(exposures_frame(), min_severity="severe")
    with pytest.raises(ValueError, match="exposed_minutes"):
        pe.exceedance(exposures_frame().drop(columns="exposed_minutes"))


def test_blocked_hours_per_user_figure_counts_affected_users_only() -> None:
    """The who-gets-hurt figure has one row per variant, names how many users each affects
    (more than one working hour) and says so when a variant affects nobody."""
    from simulator.plots.hurt import blocked_hours_per_user_figure

    per_user = pd.DataFrame(
        {
            "variant": ["A", "A", "A", "B"],
            "user": ["u1", "u2", "u3", "u1"],
            "blocked_working_hours_threat": [5.0, 12.0, 0.5, 0.2],
            "affected": [True, True, False, False],
        }
    )
    fig = blocked_hours_per_user_figure(per_user, variants=["A", "B"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("2 users, median 8.5 h") for t in texts)
    assert any("no user affected" in t for t in texts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["B", "A"]


def test_frontier_count_axes_have_whole_number_ticks() -> None:
    """A count metric's axis (wipes) never shows fractional ticks, even for small values."""
    from simulator.plots.frontier import frontier

    table = pd.DataFrame(
        {
            "variant": ["A", "B", "C"],
            "exposed_minutes_medium": [10.0, 20.0, 30.0],
            "wipes": [0.0, 1.0, 3.0],
        }
    )
    fig = frontier(table, friction="wipes")
    ticks = fig.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)
