"""Durations: the simulation clock and how people write time spans.

The simulation clock counts **minutes** from the scenario start as a float
(:data:`Minutes`). Scenario and policy files write durations either as short
human strings — ``"45s"``, ``"30m"``, ``"12h"``, ``"90d"``, ``"2w"`` or combinations such
as ``"1h30m"`` — or as ISO-8601 durations as Microsoft Graph uses them (``"PT30M"``,
``"PT12H"``, ``"P90D"``, ``"P1DT2H"``). A bare number is read as minutes.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Final

Minutes = float
"""A point on the simulation clock or a time span, in minutes."""

MINUTES_PER_HOUR: Final = 60.0
MINUTES_PER_DAY: Final = 1440.0

_UNIT_MINUTES: Final = {
    "s": Fraction(1, 60),
    "m": Fraction(1),
    "min": Fraction(1),
    "h": Fraction(60),
    "d": Fraction(1440),
    "w": Fraction(7 * 1440),
}
"""Exact unit sizes: parts are added as fractions and rounded to a float once."""
_HUMAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|s|m|h|d|w)", re.IGNORECASE)
_HUMAN_FULL = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*(?:min|s|m|h|d|w)\s*)+$", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?!$)(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


class DurationError(ValueError):
    """A duration string that is neither a human duration nor ISO-8601."""


def parse_duration(value: str | float | int) -> Minutes:
    """Parse a duration into minutes.

    Parameters
    ----------
    value
        ``"30m"``, ``"12h"``, ``"90d"``, ``"1h30m"``, ``"PT30M"``, ``"P90D"``, or a number
        of minutes. Years and months are refused: their length is ambiguous.

    Returns
    -------
    Minutes
        The span in minutes, >= 0.

    Raises
    ------
    DurationError
        If the value is malformed, negative or not finite.
    """
    if isinstance(value, bool):
        raise DurationError(f"expected a duration such as '30m' or 'PT30M', got {value!r}")
    if isinstance(value, int | float):
        try:
            minutes = float(value)
        except OverflowError:
            raise DurationError("duration is too large") from None
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise DurationError("empty duration; write e.g. '30m', '12h', '90d' or 'PT30M'")
        if text.upper().startswith("P"):
            match = _ISO.match(text)
            if match is None:
                raise DurationError(
                    f"{value!r} is not an ISO-8601 duration this tool accepts "
                    "(e.g. 'PT30M', 'PT12H', 'P90D'; years and months are ambiguous)"
                )
            minutes = float(
                sum(
                    (Fraction(v) * _UNIT_MINUTES[k] for k, v in match.groupdict().items() if v),
                    Fraction(0),
                )
            )
        else:
            try:
                minutes = float(text)
            except ValueError:
                if not _HUMAN_FULL.match(text):
                    raise DurationError(
                        f"{value!r} is not a duration; write e.g. '30m', '12h', '90d', "
                        "'1h30m' or ISO-8601 'PT30M'"
                    ) from None
                minutes = float(
                    sum(
                        (
                            Fraction(num) * _UNIT_MINUTES[unit.lower()]
                            for num, unit in _HUMAN_PART.findall(text)
                        ),
                        Fraction(0),
                    )
                )
    else:
        raise DurationError(f"expected a duration string, got {type(value).__name__}")
    if not math.isfinite(minutes) or minutes < 0:
        raise DurationError(f"a duration must be finite and >= 0, got {value!r}")
    return minutes


def format_duration(minutes: Minutes) -> str:
    """Format minutes as the shortest exact human duration (``"30m"``, ``"12h"``, ``"90d"``).

    Whole seconds use the largest unit that divides them (d, h, m, s); anything else is
    written as decimal minutes with enough digits that :func:`parse_duration` gives back
    exactly the same float.
    """
    if minutes == 0:
        return "0m"
    seconds = minutes * 60
    whole = round(seconds)
    if (
        whole > 0
        and math.isclose(seconds, whole, rel_tol=0, abs_tol=1e-9)
        and whole / 60 == minutes
    ):
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            if whole % size == 0:
                return f"{whole // size}{unit}"
    text = repr(float(minutes))
    if "e" in text or "E" in text:
        text = f"{minutes:.20f}".rstrip("0")
    return f"{text}m"


def format_iso_duration(minutes: Minutes) -> str:
    """Format minutes as an ISO-8601 duration as Graph writes them (``PT30M``, ``P90D``)."""
    whole_seconds = round(minutes * 60)
    if abs(whole_seconds - minutes * 60) > 1e-6:
        raise DurationError(f"{minutes} min is not a whole number of seconds")
    days, rest = divmod(whole_seconds, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    out = "P"
    if days:
        out += f"{days}D"
    if hours or mins or secs or not days:
        out += "T"
        if hours:
            out += f"{hours}H"
        if mins:
            out += f"{mins}M"
        if secs or not (hours or mins):
            out += f"{secs}S"
    return out


def humanize_minutes(minutes: Minutes) -> str:
    """Round a span for people: ``"42 min"``, ``"3.5 h"``, ``"12 d"``."""
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 2 * MINUTES_PER_DAY:
        return f"{minutes / MINUTES_PER_HOUR:.1f} h".replace(".0 h", " h")
    return f"{minutes / MINUTES_PER_DAY:.1f} d".replace(".0 d", " d")
