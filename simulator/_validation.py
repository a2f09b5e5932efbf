"""Shared pydantic plumbing for the file boundary: durations, enums, error formatting.

pydantic is used only here and in the modules that load files; after validation,
models are converted to the frozen dataclasses of :mod:`simulator.policy` and friends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError

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
]
"""A duration field: accepts "30m", "12h", "90d", "PT30M", a number of minutes; holds minutes."""


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
