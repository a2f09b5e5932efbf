"""The recommendation from a stated risk appetite, on hand-built per-replication results.

Rates are per 1,000 users per month: with 1,000 users and a 30-day horizon a count's rate is
the count itself and a sum of minutes' rate is the minutes ÷ 60, so the numbers below read
directly as rates.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from simulator.analysis.appetite import Appetite, Status, recommend
from simulator.analysis.rates import rate_factor, rate_unit, rates_of_summary
from simulator.scenario.models import APPETITE_METRICS, AppetiteModel

HORIZON = 30 * 1440.0
EXPOSED = "exposed_minutes_medium"
BLOCKED = "blocked_working_minutes_threat"


def results(values: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Per variant, per replication: (exposed hours, blocked working hours) as a results
    table in minutes, 1,000 users, segment all."""
    rows = [
        {
            "variant": variant,
            "replication": rep,
            "segment_by": "all",
            "segment": "all",
            "users": 1000,
            EXPOSED: exposed * 60.0,
            BLOCKED: blocked * 60.0,
        }
        for variant, reps in values.items()
        for rep, (exposed, blocked) in enumerate(reps)
    ]
    return pd.DataFrame(rows)


def test_rates_are_per_thousand_users_per_month_in_hours() -> None:
    """Counts scale by 1,000/users × 30 d/horizon, minute sums also ÷ 60, quantiles are
    hours, users_affected per 1,000 users; devices have no rate."""
    assert rate_factor("wipes", 500, 60 * 1440.0) == pytest.approx(1.0)
    assert rate_factor(EXPOSED, 1000, HORIZON) == pytest.approx(1 / 60)
    assert rate_factor("time_to_protect_median_min", 10, HORIZON) == pytest.approx(1 / 60)
    assert rate_factor("users_affected", 250, 7 * 1440.0) == pytest.approx(4.0)
    assert math.isnan(rate_factor("devices", 1000, HORIZON))
    assert rate_unit(EXPOSED) == "session-hours per 1,000 users per month"


def test_rate_summary_scales_every_interval_column() -> None:
    """rates_of_summary multiplies mean, ends and half-width by the factor and names the
    unit; rows without a rate are dropped."""
    summary = pd.DataFrame(
        {
            "variant": ["A", "A"],
            "segment_by": ["all", "all"],
            "segment": ["all", "all"],
            "metric": [EXPOSED, "devices"],
            "mean": [600.0, 10.0],
            "ci_low": [300.0, 10.0],
            "ci_high": [900.0, 10.0],
            "half_width": [300.0, 0.0],
        }
    )
    out = rates_of_summary(summary, 1000, HORIZON)
    assert list(out["metric"]) == [EXPOSED]
    assert out.loc[0, ["mean", "ci_low", "ci_high", "half_width"]].tolist() == [10, 5, 15, 5]


def test_variant_meeting_every_limit_is_recommended_with_the_trade() -> None:
    """Only B's intervals lie under both limits: B is recommended, and the trade against
    the baseline A says B removes ~100 blocked working-hours and leaves exposure unchanged."""
    table = results(
        {
            "A": [(10, 300), (11, 310), (9, 290), (10, 300)],
            "B": [(10, 200), (11, 211), (9, 189), (10, 200)],
            "C": [(50, 10), (52, 11), (48, 9), (50, 10)],
        }
    )
    appetite = Appetite(limits={EXPOSED: 20, BLOCKED: 250})
    rec = recommend(table, appetite, "A", HORIZON)
    assert rec.recommended == "B"
    assert rec.by_status(Status.MEETS) == ["B"]
    assert rec.by_status(Status.FAILS) == ["A", "C"]
    assert not rec.too_few and rec.tied == ()
    exposure, blocked = rec.trades
    assert not exposure.distinguishable
    assert blocked.distinguishable and blocked.mean == pytest.approx(-100, abs=1)
    text = rec.paragraph()
    assert "Recommended: ‘B’" in text and "removes 100 user-hours per 1,000 users" in text


def test_no_variant_meets_the_limits() -> None:
    """Every variant is clearly above a limit: no recommendation, the closest is named and
    the appetite may need restating; no call for more replications."""
    table = results({"A": [(30, 300), (31, 301), (29, 299)], "B": [(40, 100), (41, 101), (39, 99)]})
    rec = recommend(table, Appetite(limits={EXPOSED: 20, BLOCKED: 50}), "A", HORIZON)
    assert rec.recommended is None
    assert rec.by_status(Status.FAILS) == ["A", "B"]
    assert not rec.too_few
    assert "No variant meets every limit" in rec.paragraph()
    assert "Closest" in rec.paragraph()


def test_an_interval_straddling_a_limit_asks_for_more_replications() -> None:
    """A variant whose interval contains the limit is unsure, not failing: the verdict
    could change with more replications, and the paragraph suggests --precision."""
    table = results({"A": [(5, 100), (35, 100), (15, 100)], "B": [(50, 10), (60, 10), (55, 10)]})
    rec = recommend(table, Appetite(limits={EXPOSED: 25}), "A", HORIZON)
    assert rec.by_status(Status.UNSURE) == ["A"]
    assert rec.recommended is None and rec.too_few
    assert "--precision" in rec.paragraph()


def test_a_tie_within_noise_is_said_out_loud() -> None:
    """B and C both meet the limits and their paired score difference straddles 0: the
    recommendation names the tie and asks for more replications."""
    table = results(
        {
            "A": [(10, 100), (10, 100), (10, 100), (10, 100)],
            "B": [(10, 50), (10, 60), (10, 40), (10, 52)],
            "C": [(10, 55), (10, 50), (10, 45), (10, 51)],
        }
    )
    rec = recommend(table, Appetite(limits={EXPOSED: 20, BLOCKED: 90}), "A", HORIZON)
    assert rec.recommended in {"B", "C"}
    assert rec.tied == (({"B", "C"} - {rec.recommended}).pop(),)
    assert rec.too_few
    assert "tied within simulation noise" in rec.paragraph()


def test_weights_choose_among_those_that_meet_the_limits() -> None:
    """With weights the lowest weighted sum wins among the variants meeting every limit;
    a cheaper variant that fails a limit is not recommended."""
    table = results(
        {
            "A": [(10, 100), (10.5, 101), (9.5, 99)],
            "B": [(15, 20), (15.5, 21), (14.5, 19)],
            "C": [(40, 0), (40.5, 0), (39.5, 0)],
        }
    )
    heavy_exposure = Appetite(limits={EXPOSED: 30}, weights={EXPOSED: 100, BLOCKED: 1})
    assert recommend(table, heavy_exposure, "A", HORIZON).recommended == "A"
    light_exposure = Appetite(limits={EXPOSED: 30}, weights={EXPOSED: 1, BLOCKED: 1})
    assert recommend(table, light_exposure, "A", HORIZON).recommended == "B"


def test_appetite_file_model_names_the_bad_metric_and_suggests_one() -> None:
    """A typo'd metric in [appetite] is refused with the closest metric name; an empty
    appetite and a negative limit are refused; every allowed metric is in the catalogue."""
    from simulator.analysis.catalogue import METRICS, Direction

    with pytest.raises(ValidationError, match="did you mean exposed_minutes_medium"):
        AppetiteModel(limits={"exposed_minute_medium": 3})
    with pytest.raises(ValidationError, match="needs limits, weights"):
        AppetiteModel()
    with pytest.raises(ValidationError):
        AppetiteModel(limits={EXPOSED: -1})
    assert all(METRICS[m].direction is Direction.LOWER_IS_BETTER for m in APPETITE_METRICS)


def test_paired_pareto_does_not_mark_noise_as_dominated() -> None:
    """On means B beats A on one metric by less than the noise of the paired differences:
    the means-only judgement calls A dominated, the paired one does not; a clear paired
    improvement (C over D) still dominates."""
    from simulator.analysis.pareto import dominated_by, paired_dominated_by

    rows = []
    noise = [3.0, -2.0, 4.0, -5.5]
    for rep, e in enumerate(noise):
        rows += [
            {"variant": "A", "replication": rep, "x": 10.0, "f": 100.0},
            {"variant": "B", "replication": rep, "x": 10.0, "f": 99.9 + e},
            {"variant": "C", "replication": rep, "x": 5.0, "f": 50.0 + rep},
            {"variant": "D", "replication": rep, "x": 5.0, "f": 60.0 + rep},
        ]
    table = pd.DataFrame(rows)
    means = table.groupby("variant", sort=False)[["x", "f"]].mean().reset_index()
    assert "B" in dominated_by(means, "x", ["f"])["A"]
    paired = paired_dominated_by(table, "x", ["f"])
    assert "B" not in paired["A"]
    assert "C" in paired["D"]


def test_terminal_output_is_plain_when_piped_or_no_color(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sweep's output goes through rich (the decision in bold) only on a terminal
    without NO_COLOR; piped, or with NO_COLOR set, it is plain text without escapes."""
    import sys

    from simulator.cli.sweep import emit

    emit(["Recommended: X", "", "table"], lead=1)
    assert capsys.readouterr().out == "Recommended: X\n\ntable\n"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    emit(["Recommended: X"], lead=1)
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.delenv("NO_COLOR")
    emit(["Recommended: X", "table"], lead=1)
    out = capsys.readouterr().out
    assert "Recommended: X" in out and "table" in out
