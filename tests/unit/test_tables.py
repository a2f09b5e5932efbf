"""Decision tables, case tables and the pytest helper (simulator.policy.tables, .testing)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.policy.behavior import (
    Behavior,
    ConnectorOffBehavior,
    OfflineWipe,
    PreOnboardingAction,
)
from simulator.policy.decide import EvaluationContext, Policy
from simulator.policy.files import load_policies
from simulator.policy.levels import (
    Action,
    Management,
    Outcome,
    Reason,
    Reauth,
    TargetManagement,
    ThreatLevel,
)
from simulator.policy.tables import (
    BEHAVIOR_COLUMNS,
    TABLE_COLUMNS,
    Case,
    case_policies,
    check_case,
    check_cases,
    compare_tables,
    decision_table,
    group_variants,
    lattice_shape,
    load_cases,
    offline_buckets,
    summarize_table,
    table_to_csv,
)
from simulator.testing import assert_case, bind_cases, case_table_params

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "scenarios" / "policies"
GOLDEN_DIR = ROOT / "tests" / "golden"
LEVEL3 = POLICY_DIR / "level3-secured-block.toml"
STRICT = POLICY_DIR / "strict-secured-wipe.toml"
CASES_CSV = ROOT / "scenarios" / "cases" / "level3-cases.csv"
CASES_TOML = ROOT / "scenarios" / "cases" / "level3-cases.toml"
DIMENSION_KEY = ["groups", "management", "passes_upn", "app", "defender", "level"]
DIMENSION_KEY += ["connector", "jailbroken", "offline"]
MANAGEMENT = [("mdm", True), ("mdm", False), ("mam_we", False), ("emm", True), ("emm", False)]
OFFLINE = ["online", "offline_first_use", "offline_block", "offline_wipe"]
OFFLINE += ["reauth_ok", "reauth_failed"]
APPS = frozenset({"outlook", "teams", "onedrive", "edge"})


@pytest.fixture(scope="module")
def level3_table() -> pd.DataFrame:
    return decision_table(load_policies(LEVEL3))


def _row(table: pd.DataFrame, **where: object) -> dict[str, Any]:
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column] == value
    rows = table[mask]
    assert len(rows) == 1, f"{len(rows)} rows match {where}"
    return dict(rows.iloc[0])


# ------------------------------------------------------------------------- decision tables


def test_lattice_size_and_columns(level3_table: pd.DataFrame) -> None:
    """One policy, 4 apps, no groups, no jailbroken condition:
    1 × 5 × 4 × 3 × 4 × 3 × 1 × 6 = 4320 rows, fixed columns."""
    assert len(level3_table) == 1 * 5 * 4 * 3 * 4 * 3 * 1 * 6
    assert list(level3_table.columns) == list(TABLE_COLUMNS)
    assert lattice_shape(level3_table) == {
        "groups": 1,
        "management": 5,
        "app": 4,
        "defender": 3,
        "level": 4,
        "connector": 3,
        "jailbroken": 1,
        "offline": 6,
    }


def test_every_combination_exactly_once(level3_table: pd.DataFrame) -> None:
    """The rows are exactly the cross product of the dimensions, each combination once."""
    keys = list(level3_table[DIMENSION_KEY].itertuples(index=False, name=None))
    assert len(keys) == len(set(keys))
    expected = {
        ("(none)", management, upn, app, defender, level, connector, False, offline)
        for (management, upn), app, defender, level, connector, offline in itertools.product(
            MANAGEMENT,
            ["edge", "onedrive", "outlook", "teams"],
            ["absent", "installed", "activated"],
            ["secured", "low", "medium", "high"],
            ["enabled", "disabled", "unresponsive"],
            OFFLINE,
        )
    }
    assert set(keys) == expected


def test_row_order_is_lattice_order_and_deterministic(level3_table: pd.DataFrame) -> None:
    """Rows come in nesting order (offline innermost) and a second run is identical."""
    first = level3_table.iloc[0]
    assert (
        first["management"],
        bool(first["passes_upn"]),
        first["app"],
        first["defender"],
        first["level"],
    ) == ("mdm", True, "edge", "absent", "secured")
    assert list(level3_table["offline"].iloc[:6]) == OFFLINE
    assert list(level3_table["connector"].iloc[:18:6]) == ["enabled", "disabled", "unresponsive"]
    again = decision_table(load_policies(LEVEL3))
    assert table_to_csv(again) == table_to_csv(level3_table)


def test_hand_checked_rows(level3_table: pd.DataFrame) -> None:
    """Rows worked out by hand from docs/semantics.md §6 for the level 3 policy (secured +
    block, offline block after 12h, wipe after 90d; default behaviour: on_failed_reauth)."""
    common = {"groups": "(none)", "passes_upn": False, "jailbroken": False}
    threat = _row(
        level3_table,
        **common,
        management="mam_we",
        app="outlook",
        defender="activated",
        level="medium",
        connector="enabled",
        offline="online",
    )
    assert (threat["outcome"], threat["reason"]) == ("block", "threat_level_exceeded")
    assert threat["policies"] == "Level 3 - Secured + block"
    assert bool(threat["targeted"]) is True
    assert bool(threat["app_sees_managed"]) is False
    assert threat["explanation"] == (
        "blocked — app knew medium > max allowed secured; action block"
    )

    fail_open = _row(
        level3_table,
        **{**common, "passes_upn": True},
        management="mdm",
        app="teams",
        defender="activated",
        level="high",
        connector="disabled",
        offline="online",
    )
    assert (fail_open["outcome"], fail_open["reason"]) == ("allow", "connector_disabled")
    assert bool(fail_open["app_sees_managed"]) is True

    onboarding = _row(
        level3_table,
        **common,
        management="emm",
        app="edge",
        defender="absent",
        level="secured",
        connector="enabled",
        offline="online",
    )
    assert (onboarding["outcome"], onboarding["reason"]) == ("block", "mtd_not_activated")

    # Known level high (> secured): the threat block loses to every earlier condition.
    for offline, minutes, outcome, reason in (
        ("online", 0.0, "block", "threat_level_exceeded"),
        # Offline 1 min before the app's first check-in: its first use needs the network.
        ("offline_first_use", 1.0, "block", "offline_block"),
        ("offline_block", 721.0, "block", "offline_block"),
        # Past the wipe period, still offline: denied until the user signs in again.
        ("offline_wipe", 90 * 1440.0 + 1, "block", "offline_reauth"),
        # Back online, signed in again: the offline interval resets, normal rules.
        ("reauth_ok", 0.0, "block", "threat_level_exceeded"),
        # Back online, sign-in failed: selective wipe.
        ("reauth_failed", 0.0, "wipe", "offline_wipe"),
    ):
        row = _row(
            level3_table,
            **common,
            management="mam_we",
            app="outlook",
            defender="activated",
            level="high",
            connector="enabled",
            offline=offline,
        )
        assert row["offline_min"] == minutes
        assert (row["outcome"], row["reason"]) == (outcome, reason), offline
    reauth_ok = _row(
        level3_table,
        **common,
        management="emm",
        app="teams",
        defender="activated",
        level="secured",
        connector="enabled",
        offline="reauth_ok",
    )
    assert (reauth_ok["outcome"], reauth_ok["reason"]) == ("allow", "compliant")
    first_use = _row(
        level3_table,
        **common,
        management="mam_we",
        app="edge",
        defender="activated",
        level="secured",
        connector="enabled",
        offline="offline_first_use",
    )
    assert first_use["explanation"] == (
        "blocked — the app has never checked in and the device is offline; its first use "
        "needs the network"
    )
    failed = _row(
        level3_table,
        **common,
        management="mam_we",
        app="edge",
        defender="absent",
        level="secured",
        connector="disabled",
        offline="reauth_failed",
    )
    assert failed["explanation"] == (
        "wiped — back online after the offline wipe period of 90d, the user failed to "
        "re-authenticate"
    )
    # An MDM without IntuneMAMUPN is unmanaged to the app, still covered by an any policy.
    no_upn = _row(
        level3_table,
        **common,
        management="mdm",
        app="outlook",
        defender="activated",
        level="low",
        connector="enabled",
        offline="online",
    )
    assert bool(no_upn["app_sees_managed"]) is False
    assert (bool(no_upn["targeted"]), no_upn["outcome"]) == (True, "block")


def _managed_only_table() -> pd.DataFrame:
    managed = Policy(
        name="Managed only",
        apps=frozenset({"outlook"}),
        target_management=TargetManagement.MANAGED,
        max_threat_level=ThreatLevel.SECURED,
    )
    return decision_table([managed])


def test_hand_checked_rows_mdm_without_upn_on_a_managed_policy() -> None:
    """A managed-only policy covers Intune MDM only when it passes IntuneMAMUPN (§1.3)."""
    table = _managed_only_table()
    where = {
        "groups": "(none)",
        "jailbroken": False,
        "app": "outlook",
        "defender": "activated",
        "level": "medium",
        "connector": "enabled",
        "offline": "online",
    }
    with_upn = _row(table, **where, management="mdm", passes_upn=True)
    assert (bool(with_upn["app_sees_managed"]), bool(with_upn["targeted"])) == (True, True)
    assert (with_upn["outcome"], with_upn["reason"]) == ("block", "threat_level_exceeded")
    without = _row(table, **where, management="mdm", passes_upn=False)
    assert (bool(without["app_sees_managed"]), bool(without["targeted"])) == (False, False)
    assert (without["outcome"], without["reason"], without["policies"]) == (
        "allow",
        "not_targeted",
        "",
    )
    assert without["explanation"] == (
        "allowed — no policy protects outlook for this user and device"
    )
    # Not targeted at all: even past the wipe period with a failed sign-in nothing happens.
    gone = _row(table, **{**where, "offline": "reauth_failed"}, management="mdm", passes_upn=False)
    assert (gone["outcome"], gone["reason"]) == ("allow", "not_targeted")


JAILBREAK_WIPE = Policy(
    name="Level 3 + jailbroken wipe",
    apps=APPS,
    max_threat_level=ThreatLevel.SECURED,
    offline_block_after=720.0,
    jailbroken_action=Action.WIPE,
)
JAILBREAK_BLOCK = JAILBREAK_WIPE.with_changes(
    name="Not configured + jailbroken block", max_threat_level=None, jailbroken_action=Action.BLOCK
)


@pytest.mark.parametrize(
    ("policy", "where", "outcome", "reason"),
    [
        # The SDK's check wins over a compliant device, whatever Defender says.
        (JAILBREAK_WIPE, {"level": "secured"}, "wipe", "jailbroken_device"),
        # Connector disabled (fail-open for the threat check): the jailbreak still wipes.
        (
            JAILBREAK_WIPE,
            {"level": "high", "connector": "disabled"},
            "wipe",
            "jailbroken_device",
        ),
        # A jailbroken wipe outranks the offline-reauth block and the offline block.
        (JAILBREAK_WIPE, {"offline": "offline_wipe"}, "wipe", "jailbroken_device"),
        (JAILBREAK_WIPE, {"offline": "offline_block"}, "wipe", "jailbroken_device"),
        # A failed sign-in (the offline-wipe condition, checked first) is the wipe named.
        (JAILBREAK_WIPE, {"offline": "reauth_failed"}, "wipe", "offline_wipe"),
        # Max level not configured: the jailbroken condition applies on its own.
        (JAILBREAK_BLOCK, {"level": "high", "defender": "absent"}, "block", "jailbroken_device"),
        (JAILBREAK_BLOCK, {"offline": "offline_first_use"}, "block", "jailbroken_device"),
        # The offline-reauth block is checked before the jailbroken block.
        (JAILBREAK_BLOCK, {"offline": "offline_wipe"}, "block", "offline_reauth"),
        (JAILBREAK_BLOCK, {"offline": "reauth_failed"}, "wipe", "offline_wipe"),
    ],
    ids=[
        "wipe-compliant",
        "wipe-connector-off",
        "wipe-over-reauth-block",
        "wipe-over-offline-block",
        "reauth-failed-first",
        "block-not-configured",
        "block-before-first-use",
        "reauth-block-first",
        "reauth-failed-over-block",
    ],
)
def test_hand_checked_jailbroken_rows(
    policy: Policy, where: dict[str, str], outcome: str, reason: str
) -> None:
    """With a jailbroken action the table has both jailbroken values; rows by hand."""
    table = decision_table([policy])
    assert lattice_shape(table)["jailbroken"] == 2
    assert len(table) == 1 * 5 * 4 * 3 * 4 * 3 * 2 * 6
    full = {
        "groups": "(none)",
        "management": "mam_we",
        "passes_upn": False,
        "app": "outlook",
        "defender": "activated",
        "level": "secured",
        "connector": "enabled",
        "offline": "online",
        **where,
    }
    row = _row(table, **full, jailbroken=True)
    assert (row["outcome"], row["reason"]) == (outcome, reason)
    assert row["policies"] == policy.name
    clean = _row(table, **full, jailbroken=False)
    assert clean["reason"] != "jailbroken_device"


def test_behavior_is_echoed_and_applied() -> None:
    """Behaviour parameters fill the last columns and change the decision they govern."""
    fail_closed = Behavior(connector_off_behavior=ConnectorOffBehavior.BLOCK)
    table = decision_table(load_policies(LEVEL3), fail_closed)
    assert set(table["connector_off_behavior"]) == {"block"}
    assert list(table.columns[-len(BEHAVIOR_COLUMNS) :]) == list(BEHAVIOR_COLUMNS)
    online_disabled = table[(table["connector"] == "disabled") & (table["offline"] == "online")]
    assert set(online_disabled["outcome"]) == {"block"}
    assert set(online_disabled["reason"]) == {"connector_disabled"}


def test_offline_buckets_follow_the_periods() -> None:
    """Buckets sit 1 min past the periods; distinct periods each get a named bucket; first
    use offline, and with on_failed_reauth the two sign-in outcomes back online."""
    level3 = load_policies(LEVEL3)
    ok, failed, required = Reauth.SUCCEEDED, Reauth.FAILED, Reauth.NOT_REQUIRED
    assert [(b.name, b.minutes, b.reauth, b.checked_in) for b in offline_buckets(level3)] == [
        ("online", 0.0, required, True),
        ("offline_first_use", 1.0, required, False),
        ("offline_block", 721.0, required, True),
        ("offline_wipe", 129601.0, required, True),
        ("reauth_ok", 0.0, ok, True),
        ("reauth_failed", 0.0, failed, True),
    ]
    longer = Policy(name="b", apps=frozenset({"outlook"}), offline_block_after=1440.0)
    names = [b.name for b in offline_buckets([*level3, longer])]
    assert names == [
        "online",
        "offline_first_use",
        "offline_block_12h",
        "offline_block_1d",
        "offline_wipe",
        "reauth_ok",
        "reauth_failed",
    ]
    immediate = Behavior(offline_wipe=OfflineWipe.IMMEDIATE)
    assert [b.name for b in offline_buckets(level3, immediate)] == OFFLINE[:4]


def test_immediate_offline_wipe_table() -> None:
    """With offline_wipe immediate there are no sign-in buckets and the wipe bucket wipes."""
    table = decision_table(load_policies(LEVEL3), Behavior(offline_wipe=OfflineWipe.IMMEDIATE))
    assert len(table) == 1 * 5 * 4 * 3 * 4 * 3 * 1 * 4
    assert set(table["offline_wipe"]) == {"immediate"}
    wipe_bucket = table[table["offline"] == "offline_wipe"]
    assert set(zip(wipe_bucket["outcome"], wipe_bucket["reason"], strict=True)) == {
        ("wipe", "offline_wipe")
    }
    assert "offline_reauth" not in set(table["reason"])


def test_group_dimension_shows_each_assignment_pattern() -> None:
    """Included/excluded groups give (none), each included group, and include+exclude."""
    policy = Policy(
        name="execs",
        apps=frozenset({"outlook"}),
        include_groups=frozenset({"execs"}),
        exclude_groups=frozenset({"break-glass"}),
    )
    assert group_variants([policy]) == (
        frozenset(),
        frozenset({"execs"}),
        frozenset({"execs", "break-glass"}),
    )
    table = decision_table([policy])
    targeted = table.groupby("groups")["targeted"].agg(["min", "max"])
    assert targeted.loc["(none)"].tolist() == [False, False]
    assert targeted.loc["execs"].tolist() == [True, True]
    assert targeted.loc["break-glass; execs"].tolist() == [False, False]
    no_groups = Policy(name="all", apps=frozenset({"outlook"}))
    assert group_variants([no_groups]) == (frozenset(),)


def test_target_management_drives_targeted_column() -> None:
    """An unmanaged-only policy covers mam_we and mdm/emm without UPN, never mdm+UPN or
    emm+UPN; a managed-only policy the reverse."""
    policy = Policy(
        name="byod", apps=frozenset({"outlook"}), target_management=TargetManagement.UNMANAGED
    )
    table = decision_table([policy])
    by_device = table.groupby(["management", "passes_upn"])["targeted"].agg(["min", "max"])
    assert by_device.loc[("mdm", True)].tolist() == [False, False]
    assert by_device.loc[("mdm", False)].tolist() == [True, True]
    assert by_device.loc[("emm", True)].tolist() == [False, False]
    assert by_device.loc[("mam_we", False)].tolist() == [True, True]
    assert by_device.loc[("emm", False)].tolist() == [True, True]
    assert set(table.loc[~table["targeted"], "reason"]) == {"not_targeted"}
    managed = _managed_only_table()
    by_device = managed.groupby(["management", "passes_upn"])["targeted"].agg(["min", "max"])
    assert by_device.loc[("mdm", True)].tolist() == [True, True]
    assert by_device.loc[("mdm", False)].tolist() == [False, False]
    assert by_device.loc[("emm", True)].tolist() == [True, True]
    assert by_device.loc[("mam_we", False)].tolist() == [False, False]
    assert by_device.loc[("emm", False)].tolist() == [False, False]


def test_explicit_apps_and_groups() -> None:
    """apps= and groups= replace the derived dimensions, in the order given."""
    table = decision_table(load_policies(LEVEL3), apps=["word", "outlook"], groups=[["sales"], []])
    assert list(dict.fromkeys(table["app"])) == ["word", "outlook"]
    assert list(dict.fromkeys(table["groups"])) == ["sales", "(none)"]
    assert set(table.loc[table["app"] == "word", "reason"]) == {"not_targeted"}


def test_summary_counts_and_conditions(level3_table: pd.DataFrame) -> None:
    """The summary counts each (outcome, reason) and states exactly when it happens."""
    summary = summarize_table(level3_table).set_index(["outcome", "reason"])
    assert summary["total"].sum() == len(level3_table)
    # activated × secured × enabled × (online, reauth_ok) × 4 apps × 5 management variants
    assert int(summary.loc[("allow", "compliant"), "total"]) == 2 * 4 * 5
    # activated × (low, medium, high) × enabled × (online, reauth_ok) × 4 apps
    assert int(summary.loc[("block", "threat_level_exceeded"), "mam_we"]) == 3 * 2 * 4
    assert int(summary.loc[("block", "threat_level_exceeded"), "mdm"]) == 3 * 2 * 4
    exceeded = summary.loc[("block", "threat_level_exceeded")]
    assert exceeded["when"] == (
        "defender=activated · level=low,medium,high · connector=enabled · offline=online,reauth_ok"
    )
    assert bool(exceeded["exact"]) is True
    # Each row of the offline_wipe bucket waits for a sign-in; each of reauth_failed wipes;
    # first use and the offline_block bucket block (no wipe action in this policy).
    reauth = summary.loc[("block", "offline_reauth")]
    assert (int(reauth["total"]), reauth["when"]) == (5 * 4 * 3 * 4 * 3, "offline=offline_wipe")
    wiped = summary.loc[("wipe", "offline_wipe")]
    assert (int(wiped["total"]), wiped["when"]) == (5 * 4 * 3 * 4 * 3, "offline=reauth_failed")
    assert int(summary.loc[("block", "offline_block"), "total"]) == 2 * 5 * 4 * 3 * 4 * 3
    assert list(summary.columns[:5]) == ["mdm+upn", "mdm", "mam_we", "emm+upn", "emm"]
    assert list(summary.index.get_level_values("outcome")) == sorted(
        summary.index.get_level_values("outcome"), key=lambda o: Outcome(o).rank
    )


def test_compare_tables_reports_changed_rows(level3_table: pd.DataFrame) -> None:
    """Equal tables (also after a CSV round trip) compare as ""; a change names the row."""
    from io import StringIO

    round_trip = pd.read_csv(StringIO(table_to_csv(level3_table)), dtype=str, keep_default_na=False)
    assert compare_tables(round_trip, level3_table) == ""
    changed = level3_table.copy()
    changed.loc[0, "outcome"] = "allow"
    message = compare_tables(level3_table, changed)
    assert message.startswith("1 of 4320 rows differ")
    assert "outcome: 'block' → 'allow'" in message
    assert "management=mdm" in message
    assert compare_tables(level3_table, level3_table.iloc[::-1]) == (
        "same rows, in a different order"
    )


POLICY_FILES = sorted(POLICY_DIR.glob("*.toml"))


@pytest.mark.parametrize("policy_file", POLICY_FILES, ids=[p.stem for p in POLICY_FILES])
def test_golden_decision_table(policy_file: Path, request: pytest.FixtureRequest) -> None:
    """Each shipped policy's decision table equals its golden file (--update-golden rewrites)."""
    golden = GOLDEN_DIR / f"decision-table-{policy_file.stem}.csv"
    table = decision_table(load_policies(policy_file))
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(table_to_csv(table), encoding="utf-8", newline="")
        return
    hint = (
        "if the change is intended, run: python -m pytest tests/unit/test_tables.py --update-golden"
    )
    assert golden.exists(), f"no golden file {golden.relative_to(ROOT)}; {hint}"
    expected = pd.read_csv(golden, dtype=str, keep_default_na=False)
    diff = compare_tables(expected, table)
    if diff:
        pytest.fail(
            f"decision table of {policy_file.name} differs from {golden.name}:\n{diff}\n{hint}",
            pytrace=False,
        )


# ---------------------------------------------------------------------------- case tables


def test_load_example_csv_applies_defaults() -> None:
    """The example CSV loads with defaults filled in and line numbers as locations."""
    table = load_cases(CASES_CSV)
    assert len(table.cases) == 22
    assert table.policy_files == ()
    first = table.cases[0]
    assert first.where == "row 8"  # six comment lines and the header come first
    assert first.name == "clean byod"
    assert first.context == EvaluationContext(app="outlook", management=Management.MAM_WE)
    second = table.cases[1]
    assert second.context.known_level is ThreatLevel.LOW
    assert second.context.known_level_age_min == 42.0
    groups = next(c for c in table.cases if c.name == "groups do not matter")
    assert groups.context.groups == frozenset({"sales", "contractors"})
    emm = next(c for c in table.cases if c.name == "medium alert emm passing upn")
    assert emm.context.emm_passes_upn is True
    assert emm.context.app_sees_managed is True
    by_name = {c.name: c.context for c in table.cases}
    assert by_name["defender jailbreak alert mdm"].app_sees_managed is True  # default: UPN
    no_upn = by_name["mdm without upn is still covered by an any policy"]
    assert (no_upn.mdm_passes_upn, no_upn.app_sees_managed) == (False, False)
    assert by_name["back online re-authentication failed"].reauth is Reauth.FAILED
    assert by_name["back online re-authenticated"].reauth is Reauth.SUCCEEDED
    first_use = by_name["first use offline needs the network"]
    assert (first_use.checked_in, first_use.offline_min) == (False, 5.0)
    assert by_name["sdk jailbreak without the jailbroken condition"].jailbroken is True


@pytest.mark.parametrize(
    ("columns", "row", "managed"),
    [
        # The older column name still works for emm devices …
        ("emm_passes_upn", "emm,true", True),
        ("emm_passes_upn", "emm,false", False),
        # … and, as before, is ignored for mdm devices (they pass the UPN by default).
        ("emm_passes_upn", "mdm,false", True),
        ("passes_upn", "mdm,false", False),
        ("passes_upn", "mdm,true", True),
        ("passes_upn", "emm,true", True),
        ("passes_upn", "mam_we,true", False),
    ],
)
def test_upn_columns(tmp_path: Path, columns: str, row: str, managed: bool) -> None:
    """passes_upn sets the UPN for mdm and emm; emm_passes_upn is its older, emm-only name."""
    path = tmp_path / "cases.csv"
    path.write_text(
        f"app,management,{columns},level,expect_outcome\noutlook,{row},low,block\n",
        encoding="utf-8",
    )
    (case,) = load_cases(path).cases
    assert case.context.app_sees_managed is managed


def test_new_columns_in_toml_cases(tmp_path: Path) -> None:
    """checked_in, jailbroken, reauth and passes_upn are TOML keys too, and offline_wipe a
    [behavior] key; wrong values name the field."""
    path = tmp_path / "cases.toml"
    path.write_text(
        '[behavior]\noffline_wipe = "Immediate"\n'
        '[[cases]]\napp = "outlook"\nmanagement = "mdm"\npasses_upn = false\n'
        'level = "low"\nchecked_in = false\njailbroken = true\nreauth = "Failed"\n'
        'expect_outcome = "wipe"\n',
        encoding="utf-8",
    )
    table = load_cases(path)
    assert table.behavior == Behavior(offline_wipe=OfflineWipe.IMMEDIATE)
    (case,) = table.cases
    assert case.context == EvaluationContext(
        app="outlook",
        management=Management.MDM,
        mdm_passes_upn=False,
        known_level=ThreatLevel.LOW,
        checked_in=False,
        jailbroken=True,
        reauth=Reauth.FAILED,
    )
    path.write_text(
        '[[cases]]\napp = "outlook"\nmanagement = "mdm"\nlevel = "low"\n'
        'reauth = "maybe"\nexpect_outcome = "wipe"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"cases\[0\]\.reauth: Input should be"):
        load_cases(path)


def test_load_example_toml_names_policies_and_behavior() -> None:
    """A TOML case table resolves policy_files relative to itself and reads [behavior]."""
    table = load_cases(CASES_TOML)
    assert table.policy_files == (LEVEL3,) or [p.resolve() for p in table.policy_files] == [LEVEL3]
    assert table.behavior == Behavior()
    assert table.cases[6].context.offline_min == 720.0
    assert len(table.cases) == 14
    assert table.cases[2].context.app_sees_managed is True  # passes_upn = true (emm)
    assert table.cases[0].where == "cases[0]"
    assert [p.name for p in case_policies(table)] == ["Level 3 - Secured + block"]


def test_example_cases_pass_against_their_policy() -> None:
    """Every example case holds for the level 3 policy, in both file formats."""
    for path in (CASES_CSV, CASES_TOML):
        table = load_cases(path)
        results = check_cases(load_policies(LEVEL3), table.cases, table.behavior)
        assert [r.diff for r in results if not r.passed] == []


def test_mismatch_diff_is_readable() -> None:
    """A failing case explains itself: location, name, expected, got, explanation, context."""
    table = load_cases(CASES_CSV)
    results = check_cases(load_policies(STRICT), table.cases)
    failed = [r for r in results if not r.passed]
    # The threat blocks (now wipes), incl. the one after a successful re-authentication.
    assert len(failed) == 7
    assert failed[0].diff == (
        'row 9 "low alert byod": expected block/threat_level_exceeded, got '
        "wipe/threat_level_exceeded — wiped — app knew low (fetched 42 min ago) > max allowed "
        "secured; action wipe\n    context: outlook · mam_we (unmanaged) · groups (none) · "
        "Defender activated · knew low (42 min ago) · connector enabled · online"
    )
    no_upn = next(r for r in failed if r.case.name.startswith("mdm without upn"))
    assert no_upn.diff.endswith(
        "context: onedrive · mdm without UPN (unmanaged) · groups (none) · Defender activated "
        "· knew medium · connector enabled · online"
    )
    signed_in = next(r for r in failed if r.case.name == "re-authenticated with a medium alert")
    assert signed_in.diff.endswith("connector enabled · online · re-authentication succeeded")
    assert all(r.diff == "" for r in results if r.passed)


def test_mismatch_context_names_the_new_fields() -> None:
    """The context line shows a first use, a jailbreak the SDK sees and a failed sign-in."""
    table = load_cases(CASES_CSV)
    behavior = Behavior(offline_wipe=OfflineWipe.IMMEDIATE)
    jailbreak_wipe = Policy(name="jb", apps=APPS, jailbroken_action=Action.WIPE)
    results = {r.case.name: r for r in check_cases([jailbreak_wipe], table.cases, behavior)}
    first_use = results["first use offline needs the network"]
    assert first_use.passed
    jailbroken = results["sdk jailbreak without the jailbroken condition"]
    assert jailbroken.diff == (
        'row 27 "sdk jailbreak without the jailbroken condition": expected allow/compliant, '
        "got wipe/jailbroken_device — wiped — the Intune SDK detected a jailbroken device; "
        "action wipe\n    context: outlook · mam_we (unmanaged) · groups (none) · Defender "
        "activated · knew secured · connector enabled · online · SDK sees a jailbreak"
    )
    reauth = results["offline past wipe period waits for re-authentication"]
    assert reauth.got == "wipe/offline_wipe"  # immediate: wiped while offline
    assert "(offline_wipe immediate)" in reauth.diff


def test_expected_reason_is_optional() -> None:
    """Without expect_reason only the outcome is compared."""
    case = Case(
        context=EvaluationContext(app="outlook", known_level=ThreatLevel.HIGH),
        expect_outcome=Outcome.BLOCK,
    )
    assert check_case(load_policies(LEVEL3), case).passed
    wrong = Case(
        context=case.context, expect_outcome=Outcome.BLOCK, expect_reason=Reason.OFFLINE_BLOCK
    )
    assert not check_case(load_policies(LEVEL3), wrong).passed


HEADER = "app,management,level,expect_outcome"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{HEADER}\noutlook,mam_we,low,block\noutlook,byod,low,block\n",
            "cases.csv: row 3, column management: Input should be 'mdm', 'mam_we' or 'emm' "
            "(got 'byod')",
        ),
        (
            f"{HEADER},offline\noutlook,mam_we,low,block,3x\n",
            "cases.csv: row 2, column offline: '3x' is not a duration",
        ),
        (
            f"{HEADER}\noutlook,mam_we,hgh,block\n",
            "cases.csv: row 2, column level: Input should be 'secured', 'low', 'medium' or "
            "'high' (got 'hgh')",
        ),
        (
            "app,management,level,expected\noutlook,mam_we,low,block\n",
            "cases.csv: row 1: unknown column 'expected'; did you mean 'expect_outcome'?",
        ),
        (
            "app,management,expect_outcome\noutlook,mdm,block\n",
            "row 1: missing required column level",
        ),
        (
            f"name,{HEADER}\na,outlook,mdm,low,block\na,outlook,mdm,low,block\n",
            "cases.csv: row 3, column name: duplicate case name 'a' (also row 2)",
        ),
        (f"{HEADER}\noutlook,mdm,low,block,extra\n", "row 2: 5 cells but the header has 4"),
        (f"{HEADER}\n", "cases.csv: no cases"),
        (
            f"{HEADER},emm_passes_upn\noutlook,emm,low,block,maybe\n",
            "row 2, column emm_passes_upn: Input should be a valid boolean",
        ),
        (
            f"{HEADER},expect_reason\noutlook,mdm,low,block,previous_allow\n",
            "row 2, column expect_reason: previous_allow comes from the engine",
        ),
        (
            f"# a comment\n\n{HEADER}\noutlook,mdm,low,nope\n",
            "cases.csv: row 4, column expect_outcome",
        ),
    ],
)
def test_csv_errors_name_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    """Bad CSV input raises InputError naming the file, the row (line number) and column."""
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_cases(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[cases]]\napp = "outlook"\nmanagement = "mdm"\nlevel = "low"\n'
            'expect_outcome = "block"\nofline = "3h"\n',
            "cases.toml: cases[0].ofline: unknown field",
        ),
        (
            '[behavior]\nmulti_policy_merge = "union"\n[[cases]]\napp = "outlook"\n'
            'management = "mdm"\nlevel = "low"\nexpect_outcome = "block"\n',
            "cases.toml: behavior.multi_policy_merge: Input should be",
        ),
        ("policy_files = []\n", "cases.toml: cases: Field required"),
        ("[[cases]\n", "cases.toml: not valid TOML"),
    ],
)
def test_toml_errors_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    """Bad TOML case files raise InputError naming the file and the field path."""
    path = tmp_path / "cases.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="^" + str(path).replace("\\", "\\\\")) as caught:
        load_cases(path)
    assert message in str(caught.value)


def test_case_table_file_errors(tmp_path: Path) -> None:
    """A missing file, a wrong suffix and a table without policies are InputErrors."""
    with pytest.raises(InputError, match="file not found"):
        load_cases(tmp_path / "missing.csv")
    other = tmp_path / "cases.xlsx"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"expected a \.csv or \.toml case table"):
        load_cases(other)
    with pytest.raises(InputError, match="no policies to check against"):
        case_policies(load_cases(CASES_CSV))


# ---------------------------------------------------------------------------- pytest helper


def test_params_have_one_id_per_row() -> None:
    """case_table_params yields one param per row, named after the row or its location."""
    params = case_table_params(CASES_CSV, policies=LEVEL3)
    ids = [p.id for p in params]
    assert len(ids) == 22
    assert len(set(ids)) == 22
    assert ids[0] == "clean byod"
    unnamed = bind_cases(CASES_CSV, LEVEL3)[0].case
    assert Case(unnamed.context, unnamed.expect_outcome, where="row 9").id == "row-9"
    assert [p.id for p in case_table_params(CASES_TOML)][:2] == [
        "clean byod",
        "stale low alert blocks",
    ]


@pytest.mark.parametrize("case", case_table_params(CASES_CSV, policies=LEVEL3))
def test_example_case_table_via_helper(case: object) -> None:
    """The documented usage: each example row is its own passing test."""
    from simulator.testing import BoundCase

    assert isinstance(case, BoundCase)
    assert assert_case(case).passed


def test_assert_case_raises_with_the_diff() -> None:
    """assert_case fails with the readable diff when the policy disagrees with the row."""
    bound = bind_cases(CASES_CSV, [STRICT])
    failing = next(b for b in bound if b.case.name == "defender jailbreak alert mdm")
    with pytest.raises(
        AssertionError, match='row 10 "defender jailbreak alert mdm": expected block/'
    ):
        assert_case(failing)


def test_bind_accepts_policy_objects_and_behavior() -> None:
    """Policies may be given as objects; an explicit behavior overrides the file's."""
    apps = frozenset({"outlook", "teams", "onedrive", "edge"})
    wipe = Policy(name="wipe", apps=apps, threat_action=Action.WIPE)
    bound = bind_cases(CASES_TOML, [wipe])
    assert {b.policies for b in bound} == {(wipe,)}
    assert bound[2].check().decision.outcome is Outcome.WIPE  # jailbroken: wiped, not blocked
    harsh = Behavior(pre_onboarding_action=PreOnboardingAction.WIPE)
    onboarding = bind_cases(CASES_TOML, behavior=harsh)[3]
    assert onboarding.behavior == harsh
    assert onboarding.check().decision.outcome is Outcome.WIPE
    immediate = Behavior(offline_wipe=OfflineWipe.IMMEDIATE)
    offline = next(
        b
        for b in bind_cases(CASES_TOML, behavior=immediate)
        if b.case.name == ("offline past wipe period")
    )
    assert offline.check().got == "wipe/offline_wipe"
    assert not offline.check().passed
