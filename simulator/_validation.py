"""Shared pydantic plumbing for the file boundary: durations, enums, error formatting.

pydantic is used only here and in the modules that load files; after validation,
models are converted to the frozen dataclasses of :mod:`simulator.policy` and friends.
"""

from __future__ import annotations

import codecs
import json
import stat
import tomllib
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)

from simulator.durations import DurationError, format_duration, parse_duration
from simulator.errors import InputError


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": 'e.g. "30m", "12h", "90d" or "PT30M"'},
                {"type": "number", "minimum": 0, "description": "minutes"},
            ]
        },
        mode="validation",
    ),
]
"""A duration field: accepts "30m", "12h", "90d", "PT30M", a number of minutes; holds minutes."""


def parse_aware_datetime(value: Any) -> datetime:
    """An ISO 8601 string (or a ``datetime``) with a time zone, as an aware ``datetime``
    in its own offset; raises ValueError for anything else, naive times included."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                'is not an ISO 8601 date and time, e.g. "2026-11-02T08:00:00Z" or '
                '"2026-11-02T09:00:00+01:00"'
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(
            'must be an ISO 8601 date and time with a time zone, e.g. "2026-11-02T08:00:00Z"'
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            'has no time zone: add one ("Z" for UTC, or an offset such as "+01:00") so '
            "that the time is unambiguous"
        )
    return value


def format_datetime(value: datetime) -> str:
    """An aware date and time as ISO 8601, ``Z`` for UTC: ``2026-11-02T00:00:00Z``,
    ``2026-11-02T00:00:00+01:00``."""
    return value.isoformat().replace("+00:00", "Z")


AwareDatetime = Annotated[
    datetime,
    BeforeValidator(parse_aware_datetime),
    PlainSerializer(format_datetime, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": 'ISO 8601 with a time zone, e.g. "2026-11-02T00:00:00Z"',
        },
        mode="validation",
    ),
]
"""A point in time: ISO 8601 with a time zone (or a TOML offset date-time), kept with its
offset (``.astimezone(UTC)`` for UTC). A time without a zone is refused: it would mean
different instants on different machines."""


MAX_NAME_LENGTH = 200
"""The longest name (policy, variant, scenario, app, group) a file may give."""


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"is {len(value)} characters long; at most {MAX_NAME_LENGTH}")
    bad = [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
    if bad:
        raise ValueError(
            f"contains the control character U+{ord(bad[0]):04X}: names are shown in tables, "
            "plots and reports, where it would hide or reorder text"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A name shown to people: 1–200 characters, no control or bidi-control characters."""


class FileModel(BaseModel):
    """Base of every file model: unknown fields are errors, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def field_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic location into ``policies[0].max_threat_level``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def input_error(exc: ValidationError, source: str | Path | None, prefix: str = "") -> InputError:
    """The first validation error as an :class:`InputError` naming file and field.

    pydantic reports every error; users fix them one at a time, and one clear line beats
    a wall of text. The count of further errors is appended.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = field_path(loc)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
        path = path.replace(".[", "[")
    message = str(first["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if first["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        message = "unknown field (check the spelling; see `condlaunch schema`)"
    elif "input" in first and first["type"] not in ("missing",):
        shown = first["input"]
        if not isinstance(shown, dict | list):
            message = f"{message} (got {shown!r})"
    more = len(errors) - 1
    if more:
        message += f" [and {more} more error{'s' if more > 1 else ''}]"
    return InputError(message, source=source, field=path)


MAX_INPUT_BYTES = 1 << 30
"""The largest scenario, policy or case file read whole (1 GiB)."""


def read_input_text(path: str | Path) -> str:
    """The text of an input file, or one :class:`InputError` that says what is wrong.

    Refuses what is not a regular file (a folder, a FIFO, a device: reading one could
    hang), files over :data:`MAX_INPUT_BYTES`, binary files and text that is not UTF-8
    (naming the encoding when a byte-order mark gives it away). A UTF-8 byte-order mark
    is accepted and dropped.
    """
    source = Path(path)
    try:
        info = source.stat()
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=source) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError("is a directory, expected a file", source=source)
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
        raise InputError(f"is {kind}, expected a regular file", source=source)
    if info.st_size > MAX_INPUT_BYTES:
        raise InputError(f"is {info.st_size / 2**20:,.0f} MiB, too large to read", source=source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=source) from None
    return decode_input(data, source)


def decode_input(data: bytes, source: Path | None) -> str:
    """UTF-8 text of ``data`` (a leading BOM dropped), or an :class:`InputError`."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("is UTF-16 text; save it as UTF-8", source=source)
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError("is UTF-32 text; save it as UTF-8", source=source)
    if b"\x00" in data[:8192]:
        raise InputError("is a binary file, not text", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            source=source,
        ) from None


def parse_toml(text: str, source: Path | None) -> dict[str, Any]:
    """Parse TOML text; syntax errors and absurd nesting become one :class:`InputError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    except RecursionError:
        raise InputError("not valid TOML: nested too deeply", source=source) from None


def parse_json(text: str, source: Path | None) -> Any:
    """Parse JSON text; syntax errors and absurd nesting become one :class:`InputError`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=source
        ) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", source=source) from None
