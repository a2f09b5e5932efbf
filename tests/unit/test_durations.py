"""Exact cases for duration parsing and formatting (human strings and ISO-8601)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.durations import (
    MAX_DURATION,
    DurationError,
    format_duration,
    format_iso_duration,
    humanize_codes,
    humanize_minutes,
    parse_duration,
)

DAY = 1440.0


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30.0),
        ("30min", 30.0),
        ("45s", 0.75),
        ("12h", 720.0),
        ("90d", 90 * DAY),
        ("2w", 14 * DAY),
        ("1h30m", 90.0),
        ("1h 30m", 90.0),
        ("1d12h", 1.5 * DAY),
        ("1.5h", 90.0),
        ("  30m  ", 30.0),
        ("30M", 30.0),
        ("1440m", DAY),
        ("15", 15.0),
        ("0", 0.0),
        ("0m", 0.0),
        ("PT30M", 30.0),
        ("pt30m", 30.0),
        ("PT12H", 720.0),
        ("PT45S", 0.75),
        ("PT1H30M", 90.0),
        ("P90D", 90 * DAY),
        ("P1DT2H", 1560.0),
        ("P1W", 7 * DAY),
        ("P1.5D", 1.5 * DAY),
        ("PT0S", 0.0),
    ],
)
def test_parse_duration_strings(text: str, minutes: float) -> None:
    """Human and ISO-8601 strings parse to the documented number of minutes."""
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(("value", "minutes"), [(30, 30.0), (12.5, 12.5), (0, 0.0)])
def test_bare_numbers_are_minutes(value: float, minutes: float) -> None:
    """A bare int or float is a number of minutes, returned as a float."""
    result = parse_duration(value)
    assert result == minutes
    assert isinstance(result, float)


@pytest.mark.parametrize(
    "value",
    [
        "P",
        "PT",
        "P1Y",
        "P1M",
        "P1DT",
        "PT1H30",
        "-5m",
        "-5",
        -5,
        -0.5,
        "abc",
        "",
        "   ",
        "30 minutes please",
        "30 minutes",
        "1m30",
        "m",
        "5 fortnights",
        "nan",
        "inf",
        "1e999",
        True,
        False,
        math.nan,
        math.inf,
        -math.inf,
        None,
        [30],
    ],
    ids=repr,
)
def test_parse_duration_rejects(value: object) -> None:
    """Malformed, ambiguous (years, months), negative, non-finite and non-string input fail.

    The error is a :class:`DurationError`, itself a ``ValueError`` so pydantic reports it
    as a field error.
    """
    with pytest.raises(DurationError):
        parse_duration(value)  # type: ignore[arg-type]
    assert issubclass(DurationError, ValueError)


def test_rejection_message_shows_how_to_write_a_duration() -> None:
    """The message quotes the bad value and gives examples of good ones."""
    with pytest.raises(DurationError, match=r"'30 minutes please' is not a duration; write e\.g\."):
        parse_duration("30 minutes please")
    with pytest.raises(DurationError, match="years and months are ambiguous"):
        parse_duration("P1Y")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0.0, "0m"),
        (1.0, "1m"),
        (30.0, "30m"),
        (60.0, "1h"),
        (90.0, "90m"),
        (720.0, "12h"),
        (DAY, "1d"),
        (1.5 * DAY, "36h"),
        (90 * DAY, "90d"),
        (0.75, "45s"),
        (0.5, "30s"),
    ],
)
def test_format_duration(minutes: float, text: str) -> None:
    """Minutes format as the largest unit that divides them exactly."""
    assert format_duration(minutes) == text
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0.0, "PT0S"),
        (0.75, "PT45S"),
        (30.0, "PT30M"),
        (90.0, "PT1H30M"),
        (720.0, "PT12H"),
        (DAY, "P1D"),
        (1560.0, "P1DT2H"),
        (90 * DAY, "P90D"),
        (DAY + 0.5, "P1DT30S"),
    ],
)
def test_format_iso_duration(minutes: float, text: str) -> None:
    """Minutes format as ISO-8601 the way Graph writes them."""
    assert format_iso_duration(minutes) == text
    assert parse_duration(text) == minutes


def test_format_iso_duration_refuses_fractions_of_a_second() -> None:
    """ISO output is exact: a span that is not whole seconds is an error."""
    with pytest.raises(DurationError, match="not a whole number of seconds"):
        format_iso_duration(0.001)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0.0, "0 min"),
        (42.0, "42 min"),
        (89.0, "89 min"),
        (90.0, "1.5 h"),
        (120.0, "2 h"),
        (DAY, "24 h"),
        (2 * DAY, "2 d"),
        (3.5 * DAY, "3.5 d"),
        (90 * DAY, "90 d"),
    ],
)
def test_humanize_minutes(minutes: float, text: str) -> None:
    """Spans are rounded for people: minutes below 90, hours below 2 days, then days."""
    assert humanize_minutes(minutes) == text


def _humanized(values: list[float]) -> list[str]:
    codes, texts = humanize_codes(np.array(values, dtype=np.float64))
    assert len(set(texts)) == len(texts), "each text once"
    assert codes.shape == (len(values),)
    return [texts[c] for c in codes.tolist()]


def _one_by_one(values: list[float]) -> list[str]:
    return ["" if math.isnan(v) else humanize_minutes(v) for v in values]


# spans near the band edges and the rounding halves, where a float product could round
# the other way from Python's exact formatting
_EDGES = st.sampled_from(
    [0.5, 1.5, 2.5, 89.5, 89.99, 90.0, 93.0, 2879.94, 2879.95, 2880.0, 3 * DAY + 72.0]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=0, max_value=MAX_DURATION * 1.1),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(0, 5_000).map(lambda n: n * 0.05),  # tenths of hours and days
            st.integers(0, 100_000).map(lambda n: n * 14.4),  # hundredths of days
            _EDGES.flatmap(lambda e: st.floats(e - 1e-9, e + 1e-9)),
        ),
        max_size=60,
    )
)
def test_humanize_codes_matches_humanize_minutes(values: list[float]) -> None:
    """The array version writes every span exactly as the scalar one does ("" for nan),
    including negative zero, infinities and values past 100 years."""
    assert _humanized(values) == _one_by_one(values)


def test_humanize_codes_exact_cases() -> None:
    """Hand-checked texts, ties of the rounding included (93 min is 1.55 h in decimal but
    1.5500000000000000444 h in binary, so Python writes 1.6 h)."""
    values = [math.nan, 0.0, -0.0, 89.5, 90.5, 90.0, 93.0, 2880.0, 5040.0, math.inf]
    assert _humanized(values) == [
        "",
        "0 min",
        "-0 min",
        "90 min",
        "1.5 h",
        "1.5 h",
        "1.6 h",
        "2 d",
        "3.5 d",
        "inf d",
    ]
    assert _humanized([]) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0])),
        max_size=30,
    ),
    st.integers(0, 90),
    st.randoms(use_true_random=False),
)
def test_humanize_codes_of_mostly_zero_spans(values: list[float], zeros: int, rnd: Any) -> None:
    """Mostly zero spans (written from the others alone) get the same texts as one by
    one; negative zero keeps its own "-0 min"."""
    mixed = values + [0.0] * zeros
    rnd.shuffle(mixed)
    assert _humanized(mixed) == _one_by_one(mixed)


def test_humanize_codes_all_zero_and_empty() -> None:
    """Only zeros: one text; no spans: no codes."""
    assert _humanized([0.0, 0.0, 0.0]) == ["0 min"] * 3
    codes, texts = humanize_codes(np.array([0.0, 0.0]))
    assert texts == ["0 min"] and codes.tolist() == [0, 0]
    assert humanize_codes(np.empty(0))[0].size == 0


def test_humanize_codes_of_the_largest_floats() -> None:
    """The largest floats are written one by one, without a warning (the suite turns
    warnings into errors; the spacing of the largest float overflows)."""
    values = [-1.7976931348623157e308, 1.7976931348623157e308]
    assert _humanized(values) == _one_by_one(values)
