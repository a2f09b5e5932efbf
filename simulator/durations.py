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
from collections.abc import Iterable
from fractions import Fraction
from typing import Final

import numpy as np

Minutes = float
"""A point on the simulation clock or a time span, in minutes."""

MINUTES_PER_HOUR: Final = 60.0
MINUTES_PER_DAY: Final = 1440.0
MAX_DURATION: Final[Minutes] = 100 * 365 * MINUTES_PER_DAY
"""The longest duration accepted anywhere (100 years): past it a value is a typo, and a
bare number and the same number with a unit are held to the same limit."""

_UNIT_MINUTES: Final = {
    "s": Fraction(1, 60),
    "m": Fraction(1),
    "min": Fraction(1),
    "h": Fraction(60),
    "d": Fraction(1440),
    "w": Fraction(7 * 1440),
}
"""Exact unit sizes: parts are added as fractions and rounded to a float once."""
_NUMBER = r"\d+(?:\.\d+)?(?:e[+-]?\d+)?"
_HUMAN_PART = re.compile(rf"({_NUMBER})\s*(min|s|m|h|d|w)(?![a-z])", re.IGNORECASE)
_HUMAN_FULL = re.compile(rf"^(?:\s*{_NUMBER}\s*(?:min|s|m|h|d|w)(?![a-z])\s*)+$", re.IGNORECASE)
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
        if isinstance(value, int) and value > MAX_DURATION:
            raise DurationError(f"{_short(value)} minutes is longer than 100 years: is it a typo?")
        minutes = float(value)
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
            minutes = _to_minutes(
                (Fraction(v) * _UNIT_MINUTES[k] for k, v in match.groupdict().items() if v),
                value,
            )
        else:
            try:
                minutes = float(text)  # a bare number: minutes (may overflow to inf)
            except ValueError:
                if not _HUMAN_FULL.match(text):
                    raise DurationError(
                        f"{value!r} is not a duration; write e.g. '30m', '12h', '90d', "
                        "'1h30m' or ISO-8601 'PT30M'"
                    ) from None
                minutes = _to_minutes(
                    (
                        Fraction(num) * _UNIT_MINUTES[unit.lower()]
                        for num, unit in _HUMAN_PART.findall(text)
                    ),
                    value,
                )
    else:
        raise DurationError(f"expected a duration string, got {type(value).__name__}")
    if not math.isfinite(minutes) or minutes < 0:
        raise DurationError(f"a duration must be finite and >= 0, got {_short(value)}")
    if minutes > MAX_DURATION:
        raise DurationError(f"{_short(value)} is longer than 100 years: is it a typo?")
    return minutes


def _to_minutes(parts: Iterable[Fraction], value: object) -> Minutes:
    """Add exact parts and round once; a sum too large for a float is refused."""
    total = sum(parts, Fraction(0))
    if total > MAX_DURATION:
        raise DurationError(f"{_short(value)} is longer than 100 years: is it a typo?")
    return float(total)


def _short(value: object, width: int = 40) -> str:
    """``repr(value)``, cut to ``width`` characters (a 400-digit number is not a message)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


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


_HUMAN_BANDS: Final = ((0, ""), (1, " min"), (100, " h"), (600, " d"))
"""Bands of :func:`humanize_codes`: (offset of its keys, unit): nan (no text), minutes
(keys 0–90), hours (tenths, 15–480), days (tenths, up to :data:`MAX_DURATION`)."""
_HUMAN_OFFSETS: Final = np.array([offset for offset, _ in _HUMAN_BANDS], dtype=np.int64)
_HUMAN_DIVISOR: Final = np.array([1.0, 1.0, MINUTES_PER_HOUR, MINUTES_PER_DAY])
_HUMAN_TENTHS: Final = np.array([0.0, 1.0, 10.0, 10.0])
_HUMAN_ODD: Final = 600 + int(MAX_DURATION / MINUTES_PER_DAY * 10) + 2
"""Keys from here on: values formatted one by one."""


_HUMAN_TEXTS: dict[int, str] = {}
"""The text of each (band, rounded value) key met so far (:func:`_key_text`)."""


def _key_text(value: int) -> str:
    """The text of a key of :func:`humanize_codes` below :data:`_HUMAN_ODD` (remembered)."""
    if value == 0:
        text = ""
    else:
        which = 1 if value < 100 else 2 if value < 600 else 3
        offset, unit = _HUMAN_BANDS[which]
        number = value - offset
        whole, tenth = divmod(number, 10) if which > 1 else (number, 0)
        text = f"{whole}{unit}" if tenth == 0 else f"{whole}.{tenth}{unit}"
    _HUMAN_TEXTS[value] = text
    return text


def humanize_codes(minutes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """:func:`humanize_minutes` of an array, as (codes, texts): ``texts[codes[i]]`` is
    ``humanize_minutes(minutes[i])``, or ``""`` where it is nan; each text once.

    Mostly zero spans (a decision log's offline minutes: zero while online) are written
    from the others alone, every exact zero sharing the text of ``0.0``
    (:func:`_humanize_codes` does the work).
    """
    values = np.asarray(minutes, dtype=np.float64).ravel()
    zero = values.view(np.int64) == 0  # +0.0 only: -0.0 is written "-0 min"
    zeros = int(np.count_nonzero(zero))
    if zeros * 4 < values.size:  # splitting pays when a quarter or more are zero
        return _humanize_codes(values)
    rest = ~zero
    some, texts = _humanize_codes(values[rest])
    zero_text = humanize_minutes(0.0)
    if zero_text not in texts:
        texts.append(zero_text)
    codes = np.full(values.size, texts.index(zero_text), dtype=np.int64)
    codes[rest] = some
    return codes, texts


def _humanize_codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """:func:`humanize_codes` of a flat float array, in whole-array operations.

    The text depends on a span only through its band (minutes below 90, hours below two
    days, days) and its value rounded half-even to 0 or 1 decimal, which NumPy computes
    for the whole array; the distinct (band, rounded value) keys are small integers,
    counted rather than sorted. Python's formatting rounds the exact binary value, so a
    value whose scaled product lands within a few ulps of a half (where the float product
    could round the other way) is formatted by :func:`humanize_minutes` itself, as are
    negative, infinite and huge values.
    """
    nan = np.isnan(values)
    band = (values >= 90).view(np.int8) + (values >= 2 * MINUTES_PER_DAY).view(np.int8)
    band += 1
    band[nan] = 0
    # minutes: v / 1 * 1 (exactly v); hours and days: (v / 60) * 10, (v / 1440) * 10
    scaled = values / _HUMAN_DIVISOR[band]
    scaled *= _HUMAN_TENTHS[band]
    scaled[nan] = 0.0
    # inf - inf, and the spacing of the largest float: such values are formatted alone
    with np.errstate(invalid="ignore", over="ignore"):
        distance = scaled - np.floor(scaled)
        distance -= 0.5
        np.abs(distance, out=distance)
        tolerance = np.spacing(np.abs(scaled))
        tolerance *= 8
        safe = distance > tolerance
    safe |= band == 1
    safe &= ~np.signbit(values)  # Python writes -0.0 as "-0"
    safe &= values <= MAX_DURATION
    safe |= nan
    np.rint(scaled, out=scaled)
    scaled[~safe] = 0.0
    key = _HUMAN_OFFSETS[band] + scaled.astype(np.int64)
    odd = np.flatnonzero(~safe)
    own: dict[str, int] = {}
    if odd.size:  # each text formatted one by one gets its own key
        texts = [humanize_minutes(float(v)) for v in values[odd].tolist()]
        key[odd] = [_HUMAN_ODD + own.setdefault(t, len(own)) for t in texts]
    present = np.flatnonzero(np.bincount(key))
    odd_texts = list(own)
    out: dict[str, int] = {}
    code_of = np.full(int(present[-1]) + 1 if present.size else 0, -1, dtype=np.int64)
    for value in present.tolist():
        if value >= _HUMAN_ODD:
            text = odd_texts[value - _HUMAN_ODD]
        else:
            text = _HUMAN_TEXTS.get(value) or _key_text(value)
        code_of[value] = out.setdefault(text, len(out))
    return code_of[key], list(out)
