"""Names from input files are safe to show: control and bidi-control characters are
refused at the file boundary, and long names are cut where space is short."""

from __future__ import annotations

import pytest

from simulator._text import display_name, isolate_bidi
from simulator.errors import InputError
from simulator.scenario.load import scenario_from_data

BASE = {
    "name": "n",
    "fleet": {"users": 1},
    "policies": [{"name": "p", "apps": ["outlook"], "max_threat_level": "low"}],
}


@pytest.mark.parametrize(
    ("where", "data"),
    [
        ("name", {**BASE, "name": "evil\u202eelif"}),
        ("policies[0].name", {**BASE, "policies": [{**BASE["policies"][0], "name": "a\x1bb"}]}),
        ("apps[0].name", {**BASE, "apps": [{"name": "out\u2066look"}]}),
    ],
    ids=["scenario-rlo", "policy-escape", "app-isolate"],
)
def test_control_characters_in_names_are_refused_naming_the_field(
    where: str, data: dict[str, object]
) -> None:
    """A bidi override, an escape or an isolate in a name is one error naming the field."""
    with pytest.raises(InputError, match="control character") as caught:
        scenario_from_data(data)
    assert caught.value.field == where


def test_a_name_longer_than_200_characters_is_refused() -> None:
    """Names are shown in tables, legends and titles: 201 characters is an error."""
    with pytest.raises(InputError, match="at most 200"):
        scenario_from_data({**BASE, "name": "x" * 201})


def test_display_name_escapes_controls_and_cuts_with_an_ellipsis() -> None:
    """display_name shows U+202E as an escape and cuts to the width, marking the cut."""
    assert display_name("a\u202eb") == "a\\u202eb"
    assert display_name("x" * 100, 10) == "x" * 9 + "…"
    assert display_name("short") == "short"
    assert isolate_bidi("a\u2067b\nc") == "a\\u2067b\nc"  # line breaks kept
