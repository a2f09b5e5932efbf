"""Policy files: the bundled examples, a new user's mistakes, and writing files back.

A bad policy file must fail with one :class:`InputError` line that names the file and the
exact field path, so the user can fix it without reading a traceback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given

from simulator.errors import InputError
from simulator.policy.decide import EvaluationContext, Policy, covers, decide
from simulator.policy.files import (
    EVERY_APP,
    InputNote,
    collect_notes,
    load_policies,
    load_policy_files,
    policies_from_data,
    policies_to_toml,
)
from simulator.policy.levels import Action, Outcome, TargetManagement, ThreatLevel
from tests.property import strategies as cst

POLICY_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "policies"
BUNDLED = sorted(POLICY_DIR.glob("*.toml"))
APPS = frozenset({"outlook", "teams", "onedrive", "edge"})
DAY = 1440.0

# --- the bundled files -------------------------------------------------------------------

EXPECTED = {
    # file stem: (name, max level, action, offline block period in minutes)
    "lenient-medium-block": ("Lenient - Medium + block", ThreatLevel.MEDIUM, Action.BLOCK, 720.0),
    "level3-secured-block": ("Level 3 - Secured + block", ThreatLevel.SECURED, Action.BLOCK, 720.0),
    "reporting-high": ("Reporting - High", ThreatLevel.HIGH, Action.BLOCK, 720.0),
    "strict-secured-wipe": ("Strict - Secured + wipe", ThreatLevel.SECURED, Action.WIPE, 720.0),
}


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_bundled_policy_settings(stem: str) -> None:
    """Each bundled file holds one policy with the settings its header comment promises."""
    name, level, action, offline_block = EXPECTED[stem]
    [policy] = load_policies(POLICY_DIR / f"{stem}.toml")
    assert policy == Policy(
        name=name,
        apps=APPS,
        include_groups=None,
        exclude_groups=frozenset(),
        target_management=TargetManagement.ANY,
        max_threat_level=level,
        threat_action=action,
        recheck_after=30.0,
        checkin_interval=30.0,
        offline_block_after=offline_block,
        offline_wipe_after=90 * DAY,
    )


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_policy_file_loads_and_says_what_it_covers(path: Path) -> None:
    """Every ``scenarios/policies/*.toml`` loads, opens with a comment, and round-trips."""
    assert path.read_text(encoding="utf-8").startswith("#"), "open with a comment (STYLE.md)"
    policies = load_policies(path)
    assert policies
    assert policies_from_data(tomllib.loads(policies_to_toml(policies))) == policies


def test_the_four_documented_policy_files_are_bundled() -> None:
    """The examples the docs refer to exist (new files are welcome, these must stay)."""
    assert {p.stem for p in BUNDLED} >= set(EXPECTED)


def test_bundled_files_load_together_with_unique_names() -> None:
    """All bundled files can be compared in one run: their names are unique."""
    policies = load_policy_files(BUNDLED)
    assert len({p.name for p in policies}) == len(policies) >= len(BUNDLED)


# --- a new user's mistakes ---------------------------------------------------------------

GOOD = '[[policies]]\nname = "Mine"\napps = ["outlook"]\n'

MISTAKES = [
    # (id, file text, field path, words the message must contain)
    (
        "misspelt-level",
        GOOD + 'max_threat_level = "meduim"\n',
        "policies[0].max_threat_level",
        "'meduim'",
    ),
    ("warn-action", GOOD + 'threat_action = "warn"\n', "policies[0].threat_action", "'warn'"),
    (
        "bad-target",
        GOOD + 'target_management = "byod"\n',
        "policies[0].target_management",
        "'byod'",
    ),
    (
        "malformed-duration",
        GOOD + 'recheck_after = "30 minutes please"\n',
        "policies[0].recheck_after",
        "'30 minutes please' is not a duration",
    ),
    ("iso-years", GOOD + 'offline_wipe_after = "P1Y"\n', "policies[0].offline_wipe_after", "P1Y"),
    (
        "negative-duration",
        GOOD + 'offline_block_after = "-5m"\n',
        "policies[0].offline_block_after",
        "-5m",
    ),
    (
        "zero-checkin",
        GOOD + 'checkin_interval = "0m"\n',
        "policies[0].checkin_interval",
        "longer than zero",
    ),
    (
        "wipe-not-after-block",
        GOOD + 'offline_block_after = "12h"\noffline_wipe_after = "720m"\n',
        "policies[0].offline_wipe_after",
        "must be longer than offline_block_after (12h)",
    ),
    (
        "wipe-before-default-block",
        GOOD + 'offline_wipe_after = "1h"\n',
        "policies[0].offline_wipe_after",
        "must be longer than offline_block_after (1d)",
    ),
    (
        "zero-wipe",
        GOOD + 'offline_block_after = 0\noffline_wipe_after = "0d"\n',
        "policies[0].offline_wipe_after",
        "must be longer than offline_block_after (0m)",
    ),
    (
        "block-past-default-wipe",
        GOOD + 'offline_block_after = "100d"\n',
        "policies[0].offline_wipe_after",
        "must be longer than offline_block_after (100d)",
    ),
    (
        "wildcard-with-names",
        '[[policies]]\nname = "Mine"\napps = ["*", "outlook"]\n',
        "policies[0].apps",
        "'*' (every app) stands alone",
    ),
    (
        "boolean-duration",
        GOOD + "checkin_interval = true\n",
        "policies[0].checkin_interval",
        "True",
    ),
    (
        "unknown-field",
        GOOD + 'max_threat_levle = "low"\n',
        "policies[0].max_threat_levle",
        "unknown field",
    ),
    ("missing-apps", '[[policies]]\nname = "Mine"\n', "policies[0].apps", "required"),
    ("missing-name", '[[policies]]\napps = ["outlook"]\n', "policies[0].name", "required"),
    ("empty-apps", '[[policies]]\nname = "Mine"\napps = []\n', "policies[0].apps", "at least 1"),
    ("blank-app", '[[policies]]\nname = "Mine"\napps = ["  "]\n', "policies[0].apps", "empty"),
    (
        "apps-not-a-list",
        '[[policies]]\nname = "Mine"\napps = "outlook"\n',
        "policies[0].apps",
        "list",
    ),
    ("duplicate-names", GOOD + GOOD, "policies[1].name", "duplicate policy name 'Mine'"),
    (
        "error-in-second-policy",
        GOOD + '[[policies]]\nname = "Two"\napps = ["teams"]\nthreat_action = "block-all"\n',
        "policies[1].threat_action",
        "'block-all'",
    ),
    ("no-policies", 'name = "Mine"\n', "policies", "required"),
    ("top-level-typo", GOOD + "[settings]\nx = 1\n", "settings", "unknown field"),
]


@pytest.mark.parametrize(
    ("text", "field", "words"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_bad_policy_file_names_file_and_field_on_one_line(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    """The error is ``<file>: <field path>: <message>`` on one line, message explaining it."""
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_policies(path)
    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: "), message
    assert words.lower() in message.lower(), message
    assert (error.source, error.field) == (str(path), field)


def test_several_mistakes_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    """Two bad fields: the first is named, the other counted, still on one line."""
    path = tmp_path / "two.toml"
    path.write_text(GOOD + 'max_threat_level = "meduim"\nthreat_action = "warn"\n')
    with pytest.raises(InputError) as caught:
        load_policies(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: policies[0].max_threat_level: ")
    assert message.endswith("[and 1 more error]")


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist: ``<file>: file not found``."""
    path = tmp_path / "nope.toml"
    with pytest.raises(InputError) as caught:
        load_policies(path)
    assert str(caught.value) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A directory given as a policy file is refused by name."""
    with pytest.raises(InputError, match="is a directory"):
        load_policies(tmp_path)


def test_invalid_toml(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line, on one line."""
    path = tmp_path / "broken.toml"
    path.write_text('[[policies]\nname = "Mine"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_policies(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in message


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    """Two files with the same policy name cannot be loaded together; both files named."""
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(GOOD)
    second.write_text(GOOD)
    with pytest.raises(InputError) as caught:
        load_policy_files([first, second])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{first}, {second}: policies[1].name: duplicate policy name")


def test_defaults_of_a_minimal_policy(tmp_path: Path) -> None:
    """Only name and apps: every other setting takes the documented default — and no
    max_threat_level means no threat-level condition, as in Intune and the Graph import."""
    path = tmp_path / "minimal.toml"
    path.write_text(GOOD)
    assert load_policies(path) == [
        Policy(name="Mine", apps=frozenset({"outlook"}), max_threat_level=None)
    ]


def test_omitted_max_threat_level_is_not_configured(tmp_path: Path) -> None:
    """A policy without max_threat_level never denies for threat level (not_configured)."""
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    [policy] = load_policies(path)
    high = EvaluationContext(app="outlook", known_level=ThreatLevel.HIGH)
    assert policy.max_threat_level is None
    assert decide([policy], high).outcome is Outcome.ALLOW


def _inline_policy_tables() -> list[tuple[str, dict[str, object]]]:
    tables = []
    for path in [*BUNDLED, *sorted(POLICY_DIR.parent.glob("*.toml"))]:
        for index, table in enumerate(tomllib.loads(path.read_text()).get("policies", [])):
            tables.append((f"{path.name}: policies[{index}]", table))
    return tables


@pytest.mark.parametrize(
    "table", [t for _, t in _inline_policy_tables()], ids=[i for i, _ in _inline_policy_tables()]
)
def test_bundled_policies_state_their_threat_level(table: dict[str, object]) -> None:
    """Bundled policies say their max level explicitly, so the default never decides."""
    assert "max_threat_level" in table


def test_zero_recheck_means_every_launch_with_a_note(tmp_path: Path) -> None:
    """recheck_after = 0 loads (every launch is evaluated) and says so in a note."""
    path = tmp_path / "p.toml"
    path.write_text(GOOD + "recheck_after = 0\n")
    notes: list[InputNote] = []
    [policy] = load_policies(path, notes=notes)
    assert policy.recheck_after == 0.0
    [note] = notes
    assert (note.source, note.field, note.level) == (str(path), "policies[0].recheck_after", "note")
    assert "every launch" in note.message
    assert str(note) == f"{path}: policies[0].recheck_after: {note.message}"
    assert note.as_record() == {
        "source": str(path),
        "field": "policies[0].recheck_after",
        "level": "note",
        "message": note.message,
    }


def test_notes_reach_explicit_lists_and_active_collectors(tmp_path: Path) -> None:
    """``notes=`` collects one call's notes; ``collect_notes()`` every note made inside it,
    including loads that pass no list (a scenario's policy_files)."""
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(GOOD + "recheck_after = 0\n")
    second.write_text(GOOD.replace("Mine", "Other"))
    explicit: list[InputNote] = []
    with collect_notes() as collected:
        load_policy_files([first, second], notes=explicit)
        load_policies(first)
    assert [n.source for n in explicit] == [str(first)]
    assert [n.source for n in collected] == [str(first), str(first)]
    assert load_policies(first) == load_policies(first, notes=[])  # no collector: dropped


def test_the_every_app_wildcard(tmp_path: Path) -> None:
    """apps = ["*"] covers every app (docs/semantics.md 2.2), and round-trips."""
    path = tmp_path / "p.toml"
    path.write_text('[[policies]]\nname = "All"\napps = ["*"]\nmax_threat_level = "low"\n')
    [policy] = load_policies(path)
    assert policy.apps == {EVERY_APP}
    for app in ("outlook", "com.contoso.expenses"):
        assert covers(policy, EvaluationContext(app=app))
    assert policies_from_data(tomllib.loads(policies_to_toml([policy]))) == [policy]


def test_durations_accept_human_iso_and_numbers(tmp_path: Path) -> None:
    """ "12h", ISO "PT30M", a bare number of minutes and "90d" all load."""
    path = tmp_path / "durations.toml"
    path.write_text(
        GOOD + 'recheck_after = "PT30M"\ncheckin_interval = 45\n'
        'offline_block_after = "12h"\noffline_wipe_after = "P30D"\n'
        'max_threat_level = "not_configured"\ninclude_groups = []\n'
    )
    [policy] = load_policies(path)
    assert (
        policy.recheck_after,
        policy.checkin_interval,
        policy.offline_block_after,
        policy.offline_wipe_after,
    ) == (30.0, 45.0, 720.0, 30 * DAY)
    assert policy.max_threat_level is None
    assert policy.include_groups == frozenset()


# --- writing files back --------------------------------------------------------------------


def _wipe_after_block(policies: list[Policy]) -> list[Policy]:
    """Files require the offline wipe period to be longer than the block period."""
    return [
        p.with_changes(offline_wipe_after=p.offline_block_after + p.offline_wipe_after + 1)
        if p.offline_wipe_after <= p.offline_block_after
        else p
        for p in policies
    ]


@given(cst.file_policy_lists().map(_wipe_after_block))
def test_policies_to_toml_round_trips(policies: list[Policy]) -> None:
    """``policies_from_data(toml(policies_to_toml(ps))) == ps`` for file-expressible policies.

    Names with quotes, backslashes and non-ASCII text, not-configured maxima, empty and
    absent group lists, and whole-minute durations all survive the trip.
    """
    text = policies_to_toml(policies)
    assert policies_from_data(tomllib.loads(text)) == policies
