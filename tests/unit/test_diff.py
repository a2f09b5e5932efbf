"""``condlaunch diff`` and simulator.analysis.diff: which launches change fate between variants.

Run folders come from the real CLI on a small scenario (30 users, 4 days, frequent
phishing so that the policies disagree), written once per module; a hand-made decision log
pins the flips table exactly.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from itertools import permutations
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simulator.analysis.diff import (
    COUNT_COLUMNS,
    FLIP_COLUMNS,
    NotComparableError,
    diff_launches,
    flip_counts,
    flipped_launches,
    same_world,
    select_variant,
)
from simulator.cli.main import main
from simulator.errors import InputError
from simulator.folders import load_run
from simulator.sim.log import DECISION_COLUMNS

SCENARIO = """\
# Small world for the diff tests: frequent phishing so that the policies disagree.
name = "diff test"
seed = 7
horizon = "4d"

[fleet]
users = 30
management = { mdm = 0.5, mam_we = 0.3, emm = 0.2 }

[[threats]]
kind = "phishing"
rate_per_device_year = 80
severity = { low = 0.3, medium = 0.5, high = 0.2 }
natural_duration = { dist = "lognormal", median = "6h", p90 = "2d" }

[[policies]]
name = "secured-block"
apps = ["outlook", "teams"]
max_threat_level = "secured"
threat_action = "block"

[[policies]]
name = "secured-wipe"
apps = ["outlook", "teams"]
max_threat_level = "secured"
threat_action = "wipe"

[[policies]]
name = "medium-block"
apps = ["outlook", "teams"]
max_threat_level = "medium"
threat_action = "block"
"""

WIPE_POLICY = """\
[[policies]]
name = "secured-wipe"
apps = ["outlook", "teams"]
max_threat_level = "secured"
threat_action = "wipe"
"""

VARIANTS = ("secured-block", "secured-wipe", "medium-block")


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Run folders: all three policies; secured-wipe alone; secured-wipe alone, seed 8."""
    root = tmp_path_factory.mktemp("diff")
    scenario = root / "scenario.toml"
    scenario.write_text(SCENARIO)
    wipe = root / "wipe.toml"
    wipe.write_text(WIPE_POLICY)
    folders = {name: root / name for name in ("three", "wipe_only", "seed8")}
    common = ["--no-plots", "-q", "--workers", "1"]
    assert _cli("run", str(scenario), "--out", str(folders["three"]), *common)[0] == 0
    assert (
        _cli(
            "run", str(scenario), "--out", str(folders["wipe_only"]), "--policy", str(wipe), *common
        )[0]
        == 0
    )
    assert (
        _cli(
            "run",
            *(str(scenario), "--out", str(folders["seed8"]), "--policy", str(wipe), "--seed", "8"),
            *common,
        )[0]
        == 0
    )
    yield folders


@pytest.fixture(scope="module")
def three(runs: dict[str, Path]) -> pd.DataFrame:
    """The decision log of the three-variant run."""
    return load_run(runs["three"]).decisions


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("condlaunch: error: ")
    for fragment in fragments:
        assert fragment in err, err


# ------------------------------------------------------------------------- simulated runs


def test_a_run_against_itself_has_no_flips(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], three: pd.DataFrame
) -> None:
    """Every variant compared with itself flips nothing, in the library and on the CLI."""
    for variant in VARIANTS:
        assert flipped_launches(three, three, variant, variant).empty
    folder = str(runs["wipe_only"])
    code, out, err = run(capsys, folder, folder)
    assert (code, err) == (0, "")
    assert "No launch changes fate" in out
    assert "a variant with itself" in out


def test_secured_block_vs_wipe_flips_only_block_to_wipe_for_threat_level(
    three: pd.DataFrame,
) -> None:
    """Block vs wipe at the same max level: every flip is block→wipe, the wipe for threat level.

    The block side denied either for the threat level or for being offline past the block
    period (where the wipe action outranks the offline block, SEMANTICS.md §5).
    """
    flips = flipped_launches(three, three, "secured-block", "secured-wipe")
    assert len(flips) > 0, "the scenario should make these policies disagree"
    assert set(flips["transition"]) == {"block→wipe"}
    assert set(flips["reason_b"]) == {"threat_level_exceeded"}
    assert set(flips["reason_a"]) <= {"threat_level_exceeded", "offline_block"}
    assert list(flips.columns) == list(FLIP_COLUMNS)
    assert flips["time_min"].is_monotonic_increasing


def test_flips_match_an_independent_pandas_count(three: pd.DataFrame) -> None:
    """For every ordered pair of variants, the flips are exactly the launch keys whose
    outcomes differ, as computed here with a plain pandas pivot."""
    launches = three[three["trigger"] == "launch"]
    key = ["device", "app", "time_min"]
    assert not launches.duplicated([*key, "variant"]).any()
    outcomes = launches.pivot_table(
        index=key, columns="variant", values="outcome", aggfunc="first", observed=True
    )
    assert not outcomes.isna().any().any(), "every variant has every launch"
    for a, b in permutations(VARIANTS, 2):
        differ = outcomes[outcomes[a] != outcomes[b]]
        flips = flipped_launches(three, three, a, b)
        assert len(flips) == len(differ), (a, b)
        assert set(map(tuple, flips[key].to_numpy().tolist())) == set(differ.index), (a, b)


def test_flip_counts_add_up_to_the_flips(three: pd.DataFrame) -> None:
    """Counts by transition × reason × management sum to the flips, per transition too."""
    for a, b in permutations(VARIANTS, 2):
        flips = flipped_launches(three, three, a, b)
        counts = flip_counts(flips)
        assert list(counts.columns) == list(COUNT_COLUMNS)
        assert int(counts["count"].sum()) == len(flips)
        assert (counts["count"] >= 1).all()
        assert not counts.duplicated(["transition", "reason", "management"]).any()
        by_transition = counts.groupby("transition")["count"].sum().to_dict()
        assert by_transition == flips["transition"].value_counts().to_dict()


def test_two_folders_give_the_same_flips_as_one(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    """secured-wipe run alone is the same world: diffing across folders (the single-variant
    side needs no name) writes the same CSV as diffing two variants of one folder."""
    across, within = tmp_path / "across.csv", tmp_path / "within.csv"
    code, out, err = run(
        capsys,
        str(runs["three"]),
        str(runs["wipe_only"]),
        "--variant-a",
        "secured-block",
        "--csv",
        str(across),
    )
    assert (code, err) == (0, "")
    assert "the same world (seed 7, replication 0)" in out
    code, out, err = run(
        capsys, str(runs["three"]), "--variants", "secured-block", "wipe", "--csv", str(within)
    )
    assert (code, err) == (0, "")
    assert across.read_bytes() == within.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["across.csv", "within.csv"]
    table = pd.read_csv(across)
    assert list(table.columns) == ["time_min", "time", *FLIP_COLUMNS[1:]]
    assert f"Wrote {len(table):,} flipped launches" in out


def test_variants_of_one_folder(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], three: pd.DataFrame
) -> None:
    """--variants compares two variants of one folder: headline count, limited listing."""
    flips = flipped_launches(three, three, "secured-block", "medium-block")
    assert len(flips) > 3
    code, out, err = run(
        capsys, str(runs["three"]), "--variants", "secured-block", "medium-block", "--limit", "3"
    )
    assert (code, err) == (0, "")
    assert f"{len(flips):,} of " in out
    assert "First 3 flips, in time order" in out
    assert f"… and {len(flips) - 3:,} more" in out
    assert out.count("\n  A  blocked") + out.count("\n  A  wiped") == 3
    assert "Flips by transition × reason × management" in out
    assert "Mid-session check-in denials" in out


def test_different_seeds_are_refused_unless_forced(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path]
) -> None:
    """Different seeds: one-line error naming the seed (exit 2); --force compares anyway and
    says how many launches were left out."""
    a, b = str(runs["three"]), str(runs["seed8"])
    names = ["--variant-a", "secured-wipe"]
    code, out, err = run(capsys, a, b, *names)
    assert_one_line_error(code, out, err, "not the same simulated world", "seed: 7 ≠ 8", "--force")
    code, out, err = run(capsys, a, b, *names, "--force", "--limit", "0")
    assert (code, err) == (0, "")
    assert "NOT the same world" in out
    assert "left out" in out


def test_unknown_variant_lists_the_available_ones(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path]
) -> None:
    """An unknown variant name is a one-line error listing every variant of the folder."""
    code, out, err = run(capsys, str(runs["three"]), "--variants", "secured-block", "nope")
    assert_one_line_error(code, out, err, "'nope'", *VARIANTS)


def test_unnamed_variants_of_a_multi_variant_folder_are_refused(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path]
) -> None:
    """Several variants and none named: the error lists them (one folder and two)."""
    code, out, err = run(capsys, str(runs["three"]))
    assert_one_line_error(code, out, err, "--variants A B", *VARIANTS)
    code, out, err = run(capsys, str(runs["three"]), str(runs["wipe_only"]))
    assert_one_line_error(code, out, err, "--variant-a", *VARIANTS)


def test_a_variant_may_be_named_by_a_unique_part(three: pd.DataFrame) -> None:
    """A unique part selects a variant, ignoring case and punctuation; an ambiguous part is
    refused."""
    name, rows = select_variant(three, "WIPE")
    assert name == "secured-wipe"
    assert select_variant(three, "Secured · Block")[0] == "secured-block"
    assert set(rows["variant"]) == {"secured-wipe"}
    with pytest.raises(InputError, match="matches several variants"):
        select_variant(three, "secured")


def test_csv_into_a_missing_folder_fails_before_printing(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    """An unwritable --csv is a one-line error and leaves nothing behind."""
    target = tmp_path / "missing" / "flips.csv"
    code, out, err = run(
        capsys, str(runs["three"]), "--variants", "secured-block", "wipe", "--csv", str(target)
    )
    assert_one_line_error(code, out, err, "cannot write")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_folder_is_replication_zero(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    """A sweep folder (manifest kind "sweep", no replication) diffs by --variants, and is the
    same world as a replication-0 run of the same scenario."""
    sweep = tmp_path / "sweep"
    shutil.copytree(runs["three"], sweep)
    manifest = json.loads((sweep / "manifest.json").read_text())
    del manifest["replication"]
    manifest["kind"] = "sweep"
    (sweep / "manifest.json").write_text(json.dumps(manifest))
    assert same_world(manifest, load_run(runs["wipe_only"]).manifest) == []
    code, out, err = run(capsys, str(sweep), "--variants", "secured-block", "medium-block")
    assert (code, err) == (0, "")
    code, out, err = run(capsys, str(sweep), str(runs["wipe_only"]), "--variant-a", "medium")
    assert (code, err) == (0, "")
    assert "the same world (seed 7, replication 0)" in out


# ------------------------------------------------------------------------------ same_world


def test_same_world_ignores_policies_and_names_what_differs() -> None:
    """Policies, variants, names and chunk size do not matter; seed, replication and world
    fields do, each named once with both values; a missing scenario is reported."""
    scenario: dict[str, Any] = {
        "name": "x",
        "seed": 1,
        "chunk_size": 100,
        "fleet": {"users": 30},
        "apps": [{"name": "outlook"}],
        "policies": [{"name": "p"}],
    }
    base = {"seed": 1, "replication": 0, "scenario": scenario}
    other_policies = {
        "seed": 1,
        "replication": 0,
        "scenario": {**scenario, "name": "y", "chunk_size": 7, "policies": [], "variants": []},
    }
    assert same_world(base, other_policies) == []
    changed = {
        "seed": 2,
        "replication": 1,
        "scenario": {**scenario, "seed": 2, "fleet": {"users": 40}, "apps": []},
    }
    assert same_world(base, changed) == [
        "seed: 1 ≠ 2",
        "replication: 0 ≠ 1",
        "fleet.users: 30 ≠ 40",
        "apps: 1 items ≠ 0 items",
    ]
    assert same_world(base, {"seed": 1, "replication": 0}) == [
        "the resolved scenario is not recorded in B"
    ]


# -------------------------------------------------------------------------- hand-made log


def _row(variant: str, time_min: float, device: str, app: str, **fields: Any) -> dict[str, Any]:
    """A decision-log row with neutral defaults."""
    row: dict[str, Any] = dict.fromkeys(DECISION_COLUMNS, "")
    row.update(
        time_min=time_min,
        device_index=int(device[1:]),
        device=device,
        user="u" + device[1:],
        app=app,
        management="mdm",
        trigger="launch",
        outcome="allow",
        reason="compliant",
        variant=variant,
        max_allowed="secured",
        action="block",
        known_level="secured",
        known_level_age_min=0.0,
        intune_level="secured",
        defender_level="secured",
        true_level="secured",
        offline_min=0.0,
        fetched=True,
        session_end_min=time_min,
        explanation=f"{fields.get('outcome', 'allow')} #{variant}{time_min:g}",
    )
    row.update(fields)
    return row


def _log(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


THREAT = {"reason": "threat_level_exceeded"}

SIDE_A = _log(
    [
        _row("A", 10, "d1", "outlook"),
        _row("A", 10, "d1", "outlook", trigger="checkin", outcome="block", **THREAT),
        _row("A", 20, "d1", "teams"),
        _row("A", 5, "d2", "outlook", management="mam_we", outcome="block", reason="offline_block"),
        _row("A", 30, "d2", "outlook", management="mam_we", outcome="wipe", **THREAT),
        _row("A", 40, "d3", "teams", management="emm", outcome="block", **THREAT),
        _row("A", 50, "d3", "teams", management="emm"),
        _row(
            "A", 50, "d3", "teams", management="emm", outcome="block", true_level="high", **THREAT
        ),
    ]
)
SIDE_B = _log(
    [
        _row("B", 10, "d1", "outlook"),
        _row(
            "B", 20, "d1", "teams", outcome="block", true_level="low", known_level="low", **THREAT
        ),
        _row(
            "B",
            5,
            "d2",
            "outlook",
            management="mam_we",
            outcome="wipe",
            true_level="medium",
            **THREAT,
        ),
        _row("B", 30, "d2", "outlook", management="mam_we", reason="previous_allow"),
        _row("B", 40, "d3", "teams", management="emm", outcome="block", **THREAT),
        _row("B", 50, "d3", "teams", management="emm"),
        _row("B", 50, "d3", "teams", management="emm", true_level="high", known_level="high"),
    ]
)


def test_hand_made_flips_table_is_exact() -> None:
    """A tiny log pins the flips table (with each flip's kind: a stale-signal denial lifted
    is friction removed, a real threat let through is risk accepted): time order,
    occurrence pairing of a repeated launch
    key, check-ins ignored, unchanged outcomes left out, explanations from explain_row."""
    expected = pd.DataFrame(
        [
            [5.0, "d2", "outlook", "mam_we", "block", "wipe", "offline_block",
             "threat_level_exceeded", "block→wipe", "block #A5",
             "wipe #B5; true level medium", "secured", "medium", "secured", "secured", ""],
            [20.0, "d1", "teams", "mdm", "allow", "block", "compliant",
             "threat_level_exceeded", "allow→block", "allow #A20",
             "block #B20; true level low", "secured", "low", "secured", "secured",
             "risk removed"],
            [30.0, "d2", "outlook", "mam_we", "wipe", "allow", "threat_level_exceeded",
             "previous_allow", "wipe→allow",
             "wipe #A30; true level was already secured (stale signal)", "allow #B30",
             "secured", "secured", "secured", "secured", "friction removed"],
            [50.0, "d3", "teams", "emm", "block", "allow", "threat_level_exceeded",
             "compliant", "block→allow", "block #A50; true level high", "allow #B50",
             "high", "high", "secured", "secured", "risk accepted"],
        ],
        columns=list(FLIP_COLUMNS),
    )  # fmt: skip
    flips = flipped_launches(SIDE_A, SIDE_B)
    pd.testing.assert_frame_equal(flips, expected, check_dtype=False)
    result = diff_launches(SIDE_A, SIDE_B)
    assert (result.launches, result.only_a, result.only_b) == (7, 0, 0)
    assert (result.checkin_denials_a, result.checkin_denials_b) == ({"block": 1}, {})
    assert flip_counts(flips).to_numpy().tolist() == [
        ["allow→block", "threat_level_exceeded", "mdm", 1],
        ["block→allow", "threat_level_exceeded", "emm", 1],
        ["block→wipe", "offline_block→threat_level_exceeded", "mam_we", 1],
        ["wipe→allow", "threat_level_exceeded", "mam_we", 1],
    ]


def test_variants_of_one_combined_log_are_selected_by_name() -> None:
    """One log holding both variants gives the same flips once each side is named, and
    refuses to guess when no name is given."""
    both = pd.concat([SIDE_A, SIDE_B], ignore_index=True)
    pd.testing.assert_frame_equal(
        flipped_launches(both, both, "A", "B"), flipped_launches(SIDE_A, SIDE_B)
    )
    with pytest.raises(InputError, match="holds 2 variants, name one: 'A', 'B'"):
        flipped_launches(both, SIDE_B)


def test_different_launches_are_refused_unless_forced() -> None:
    """A launch missing on one side is refused with a message naming it; forced, the
    comparison runs on the shared launches and counts the one left out."""
    short_b = SIDE_B[~((SIDE_B["device"] == "d1") & (SIDE_B["app"] == "teams"))]
    with pytest.raises(NotComparableError, match=r"1 only in A, 0 only in B .*d1 teams"):
        flipped_launches(SIDE_A, short_b)
    result = diff_launches(SIDE_A, short_b, force=True)
    assert (result.launches, result.only_a, result.only_b) == (6, 1, 0)
    assert "d1" not in set(result.flips["device"])
    assert len(result.flips) == 3
