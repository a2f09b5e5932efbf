"""The one error type for bad input: it names the file and the field.

Every loader (policy files, Graph JSON, scenario files, case tables) raises
:class:`InputError`; the CLI prints ``str(error)`` on one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input, located as precisely as we can: file, field path, message.

    ``str(error)`` reads ``"policies.toml: policies[0].max_threat_level: unknown …"``.
    """

    def __init__(self, message: str, *, source: str | Path | None = None, field: str = "") -> None:
        self.source = str(source) if source is not None else None
        self.field = field
        self.message = message
        parts = [p for p in (self.source, field) if p]
        super().__init__(": ".join([*parts, message]))

    def located(self, source: str | Path | None = None, prefix: str = "") -> InputError:
        """The same error with a file and/or a field-path prefix added."""
        field = ".".join(p for p in (prefix, self.field) if p).replace(".[", "[")
        return InputError(
            self.message, source=source if source is not None else self.source, field=field
        )
