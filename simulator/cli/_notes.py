"""Input notes on the command line: how a command tells the user what it read, and how.

A loader reads some valid inputs one documented way where the documentation leaves their
meaning open (Graph ``periodOnlineBeforeAccessCheck = "PT0S"``, a ``malware`` threat kind …)
and says so in an :class:`~simulator.policy.files.InputNote`. Commands print each once on
stderr, before their own output::

    condlaunch: note: FILE: field: message
    condlaunch: note: FILE: field: warning: message      (level "warning")

and ``run`` records them in ``manifest.json`` under ``input_notes``
(:func:`notes_record`). Use it like this::

    with reporting_notes():                 # policy files only
        policies = load_policy_files(args.policies)

    scenario, notes = scenario_with_notes(args)   # SCENARIO [--policy FILE …] [--seed N]
    manifest(..., extra={"input_notes": notes_record(notes)})
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TextIO

from simulator.policy.files import InputNote, collect_notes

if TYPE_CHECKING:
    from simulator.scenario.load import Scenario

__all__ = ["note_line", "notes_record", "print_notes", "reporting_notes", "scenario_with_notes"]

PREFIX: Final = "condlaunch: note: "


def note_line(note: InputNote) -> str:
    """One stderr line: ``condlaunch: note: FILE: field: [warning: ]message``."""
    message = f"warning: {note.message}" if note.level == "warning" else note.message
    return PREFIX + str(InputNote(note.source, note.field, message))


def print_notes(notes: Iterable[InputNote], stream: TextIO | None = None) -> None:
    """Print each note on one line (stderr by default)."""
    out = stream if stream is not None else sys.stderr
    for note in notes:
        print(note_line(note), file=out)


def notes_record(notes: Iterable[InputNote]) -> list[dict[str, Any]]:
    """The notes as ``manifest.json``'s ``input_notes``: source, field, level, message."""
    return [note.as_record() for note in notes]


@contextmanager
def reporting_notes(stream: TextIO | None = None) -> Iterator[list[InputNote]]:
    """Collect every note the loaders make in the block (add your own to the list), and
    print them when the block ends without an error (an error ends the command anyway)."""
    with collect_notes() as notes:
        yield notes
    print_notes(notes, stream)


def scenario_with_notes(args: argparse.Namespace) -> tuple[Scenario, list[InputNote]]:
    """:func:`~simulator.cli._common.scenario_from_args`, with the notes of its policy
    files and of the scenario itself printed; returns both, for the manifest."""
    from simulator.cli._common import scenario_from_args
    from simulator.scenario.models import scenario_notes

    with reporting_notes() as notes:
        scenario = scenario_from_args(args)
        notes.extend(
            scenario_notes(scenario.model, args.scenario, inline_policies=not args.policies)
        )
        notes.extend(unused_policy_notes(scenario, args.scenario))
    return scenario, notes


def unused_policy_notes(scenario: Scenario, source: object) -> list[InputNote]:
    """A note for each policy that protects only apps no device of the scenario runs: it
    cannot change a decision, which is worth knowing (a typo'd app name, often)."""
    model = scenario.model
    if model.script is not None:
        used = {str(e.app) for e in model.script.events if e.type == "launch"}
    else:
        used = {app.name for app in model.apps if app.share > 0}
    idle = [p for p in scenario.policies if "*" not in p.apps and not p.apps & used]
    if not idle:
        return []
    apps = sorted(set().union(*(p.apps for p in idle)))
    names = ", ".join(repr(p.name) for p in idle)
    notes = [
        InputNote(
            str(source),
            "policies",
            f"{names} protect{'s' if len(idle) == 1 else ''} only {', '.join(apps)}, which no "
            f"device in this scenario runs (apps: {', '.join(sorted(used)) or 'none'}): "
            "they change no decision",
        )
    ]
    return notes
