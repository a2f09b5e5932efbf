"""The metric catalogue (:mod:`simulator.analysis.catalogue`) and where it is used.

The catalogue must cover every metric column, in one unit vocabulary, with directions
that match what the metrics mean; the CLI summary table and the report take their names
from it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from simulator.analysis.catalogue import (
    METRICS,
    UNITS,
    Aggregation,
    Direction,
    Kind,
    UnknownMetricError,
    header_lines,
    label,
    label_with_unit,
    metric,
    unit,
)
from simulator.analysis.metrics import (
    EPISODE_QUANTILES,
    HEADLINE_METRICS,
    METRIC_COLUMNS,
)
from simulator.cli._common import format_table
from simulator.cli.run import summary_table
from simulator.report.tables import HEADLINE, glossary


def test_every_metric_column_has_an_entry() -> None:
    """METRICS covers exactly METRIC_COLUMNS (a new metric column needs an entry), each
    keyed by its name."""
    missing = [c for c in METRIC_COLUMNS if c not in METRICS]
    extra = [name for name in METRICS if name not in METRIC_COLUMNS]
    assert not missing and not extra, (missing, extra)
    assert all(m.name == name for name, m in METRICS.items())


def test_labels_units_and_descriptions_are_filled_from_one_vocabulary() -> None:
    """Every label and description is non-empty, every unit is from UNITS, every label is
    distinct, and each description is one sentence."""
    labels = [m.label for m in METRICS.values()]
    assert all(labels) and len(set(labels)) == len(labels)
    assert {m.unit for m in METRICS.values()} <= UNITS
    for m in METRICS.values():
        assert m.description.endswith(".") and not m.description[0].islower(), m.name
        assert ". " not in m.description.rstrip("."), f"{m.name}: one sentence"


def test_units_kinds_and_aggregations_match_the_column_names() -> None:
    """``*_minutes*`` columns are time-weighted sums in session- or user-minutes, the
    quantiles are per-event durations in minutes, everything else a per-event count."""
    for name, m in METRICS.items():
        if name in EPISODE_QUANTILES:
            assert (m.kind, m.aggregation, m.unit) == (
                Kind.QUANTILE,
                Aggregation.PER_EVENT,
                "minutes",
            )
        elif "minutes" in name:
            assert (m.kind, m.aggregation) == (Kind.MINUTES, Aggregation.TIME_WEIGHTED), name
            expected = "user-minutes" if name.startswith("blocked_") else "session-minutes"
            assert m.unit == expected, name
        else:
            assert (m.kind, m.aggregation) == (Kind.COUNT, Aggregation.PER_EVENT), name
    assert unit("launches") == "launches" and unit("exposed_launches_high") == "launches"
    assert unit("never_enforced_medium") == "episodes" and unit("devices") == "devices"
    assert unit("wipes") == "evaluations" and unit("reason_compliant") == "decisions"


def test_directions_match_the_meaning_of_hand_checked_metrics() -> None:
    """Exposure, friction and slow protection are lower-is-better; granted access is
    higher-is-better; counts that describe the fleet or the decisions are neutral."""
    lower = [
        *(f"exposed_{what}_{s}" for what in ("launches", "minutes") for s in ("low", "high")),
        *("unneeded_denials", "wipes", "onboarding_blocks", "blocked_user_minutes_threat"),
        *("never_enforced_medium", "never_restored", "time_to_protect_median_min"),
        *("wipe_events", "devices_wiped", "undetected_episodes"),
        "time_to_restore_p95_min",
    ]
    for name in lower:
        assert metric(name).direction is Direction.LOWER_IS_BETTER, name
    assert metric("granted_minutes").direction is Direction.HIGHER_IS_BETTER
    neutral = ("devices", "launches", "checkins", "evaluations_allow", "reason_compliant")
    for name in (*neutral, "episodes", "episodes_active_at_horizon"):
        assert metric(name).direction is Direction.NEUTRAL, name


def test_metrics_are_frozen() -> None:
    """A Metric cannot be changed, nor the mapping."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric("wipes").label = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        METRICS["x"] = metric("wipes")  # type: ignore[index]


@pytest.mark.parametrize("lookup", [metric, label, unit, label_with_unit, header_lines])
def test_lookup_error_names_close_matches(lookup: object) -> None:
    """An unknown name raises a KeyError whose message names the closest metrics."""
    with pytest.raises(KeyError) as raised:
        lookup("exposed_minute_medium")  # type: ignore[operator]
    assert isinstance(raised.value, UnknownMetricError)
    text = str(raised.value)
    assert text.startswith("unknown metric 'exposed_minute_medium'; did you mean")
    assert "exposed_minutes_medium" in text
    with pytest.raises(UnknownMetricError, match=r"^unknown metric 'zzz'$"):
        metric("zzz")


def test_label_with_unit_does_not_repeat_the_unit() -> None:
    """The unit is shown unless the label names it."""
    assert label_with_unit("exposed_minutes_medium") == "exposed minutes ≥ medium (session-minutes)"
    assert label_with_unit("exposed_launches_medium") == "exposed launches ≥ medium"
    assert label_with_unit("launches") == "launches"
    assert label_with_unit("unneeded_denials") == "unneeded denials (evaluations)"
    assert header_lines("wipes") == ("wipes", "(evaluations)")
    assert header_lines("episodes") == ("episodes", "")


def test_cli_summary_header_uses_the_catalogue() -> None:
    """The run summary has one column per headline metric whose header reads the
    catalogue's label (wrapped over lines) then its unit, and one row per variant of
    segment all."""
    rows = [
        {"variant": v, "segment_by": "all", "segment": "all", **dict.fromkeys(HEADLINE_METRICS, 1)}
        for v in ("strict", "lenient")
    ]
    rows.append({**rows[0], "segment_by": "management", "segment": "mdm"})
    lines = summary_table(pd.DataFrame(rows), one_block=True).splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans, start = [], 0
    for dashes in lines[rule].split("  "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    columns = [
        " ".join(w for line in lines[:rule] for w in line.ljust(end)[begin:end].split())
        for begin, end in spans
    ]
    expected = [" ".join(w for w in header_lines(m) if w) for m in HEADLINE_METRICS]
    assert columns == ["variant", *expected]
    assert [line.split()[0] for line in lines[rule + 1 :]] == ["strict", "lenient"]


def test_report_glossary_uses_the_catalogue() -> None:
    """The glossary lists each metric as its catalogue label (unit) with its description
    and direction."""
    html = glossary(list(HEADLINE))
    for name in HEADLINE:
        m = metric(name)
        assert f"<dt>{label_with_unit(name)}</dt>" in html.replace("&#x27;", "'"), name
        assert m.description in html.replace("&#x27;", "'"), name
    assert "Lower is better; time-weighted." in html
    assert "Lower is better; per event." in html


def test_format_table_aligns_splits_and_handles_empty_cells() -> None:
    """Text columns left, numbers right (thousands separated, NaN as –); a units line
    under the header; with a width, column blocks that repeat the text column."""
    lines = format_table(
        ["variant", "a\nlong", "b"],
        [["x", 1234, float("nan")], ["yy", 1.26, 3]],
        units=["", "(u)", ""],
    )
    assert lines == [
        "variant      a  b",
        "          long",
        "           (u)",
        "-------  -----  -",
        "x        1,234  –",
        "yy         1.3  3",
    ]
    split = format_table(["v", "aaaa", "bbbb"], [["x", 1, 2]], width=8)
    assert split == ["v  aaaa", "-  ----", "x     1", "", "v  bbbb", "-  ----", "x     2"]
    # Each block has as many header lines as its own columns need: no blank line.
    deep = format_table(["v", "aa\naa", "bbbb"], [["x", 1, 2]], units=["", "", "(u)"], width=8)
    assert deep == [
        "v  aa",
        "   aa",
        "-  --",
        "x   1",
        "",
        "v  bbbb",
        "    (u)",
        "-  ----",
        "x     2",
    ]
