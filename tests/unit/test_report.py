"""The HTML report (:mod:`simulator.report.page`) and ``condlaunch report``.

A small real run folder (made by ``condlaunch run`` on a tiny scenario whose names are
hostile HTML) and a sweep folder written by hand from made-up numbers (so these tests do
not depend on the sweep code) are rendered; the checks are about what a reader and a
browser get: escaped user text, every assumption with its value, embedded figures and no
external resources, identical bytes on every rendering, and the CLI's exit codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.analysis import catalogue
from simulator.analysis.metrics import OUTCOME_COLUMNS
from simulator.analysis.pareto import DEFAULT_EXPOSURE, DEFAULT_FRICTION
from simulator.cli.main import main
from simulator.errors import InputError
from simulator.folders import write_json
from simulator.policy.behavior import parameters
from simulator.report.html import escape
from simulator.report.inputs import value_text, variant_policy_settings
from simulator.report.page import render_report, write_report
from simulator.report.tables import HEADLINE
from simulator.scenario.load import load_scenario
from simulator.scenario.variants import sweep_variants
from simulator.sim.run import run_manifest as manifest

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert(1)</script>"

RUN_SCENARIO = f"""
# Covers: a tiny fleet whose names are hostile HTML, for report tests.
name = "{EVIL}"
description = "Fleet & <b>bold</b> claims"
seed = 11
horizon = "5d"
[fleet]
users = 30
second_device_share = 0.2
groups = [{{ name = "<i>staff</i>", share = 1.0 }}]
[[apps]]
name = "<img src=x onerror=alert(2)>"
sessions_per_day = 10
[[threats]]
kind = "phishing"
rate_per_device_year = 150
severity = {{ medium = 0.5, high = 0.5 }}
[behavior]
midsession_enforcement = false
partner_unresponsive_days = 3
[[policies]]
name = "strict <b>block</b>"
apps = ["<img src=x onerror=alert(2)>"]
include_groups = ["<i>staff</i>"]
max_threat_level = "secured"
[[policies]]
name = "lenient & \\"quoted\\""
apps = ["<img src=x onerror=alert(2)>"]
max_threat_level = "medium"
"""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder of a tiny scenario with hostile names (made once per module)."""
    base = tmp_path_factory.mktemp("run")
    scenario = base / "evil.toml"
    scenario.write_text(RUN_SCENARIO)
    out = base / "run"
    args = ["run", str(scenario), "--out", str(out), "-q", "--no-plots", "--workers", "1"]
    assert main(args) == 0
    return out


# -- a sweep folder from made-up numbers -----------------------------------------------------
LEVELS = ("secured", "low", "medium", "high")
SEGMENTS = (("all", "all", 1.0), ("management", "mdm", 0.55), ("management", "mam_we", 0.35))
SEGMENTS += (("management", "emm", 0.10),)


def _metrics_for(level: int, wipe: bool) -> dict[str, float]:
    """Plausible headline metrics of a variant (max level index, action)."""
    return {
        "launches": 177_134.0,
        "exposed_minutes_medium": [3200, 3400, 17000, 27000][level],
        "exposed_minutes_high": [1100, 1100, 1100, 11500][level],
        "exposed_launches_medium": [450, 480, 2080, 3145][level],
        "time_to_protect_median_min": [158, 160, 170, np.nan][level],
        "time_to_protect_p95_min": [4000, 4100, 4400, np.nan][level],
        "never_enforced_medium": [166, 150, 9, 0][level],
        "unneeded_blocks": 0 if wipe else [120, 60, 16, 0][level],
        "unneeded_wipes": [123, 61, 15, 0][level] if wipe else 0,
        "unneeded_denials": [123, 61, 15, 0][level] if wipe else [120, 60, 16, 0][level],
        "onboarding_blocks": 11631 + 130 * (level >= 2),
        "blocked_user_minutes": [5.6e6, 5.4e6, 5.05e6, 4.98e6][level] + 2e4 * wipe,
        "blocked_user_minutes_threat": [6.2e5, 4.2e5, 7e4, 0][level] + 2e4 * wipe,
        "wipes": [1198, 700, 200, 0][level] if wipe else 0,
    }


def _summarize(frame: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    long = frame.melt(id_vars=[*keys, "replication"], value_vars=metrics, var_name="metric")
    grouped = long.groupby([*keys, "metric"], sort=False)["value"]
    table = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    table["half_width"] = 2.0 * table["sd"] / np.sqrt(table["n"])
    table["ci_low"] = table["mean"] - table["half_width"]
    table["ci_high"] = table["mean"] + table["half_width"]
    return table


def make_sweep_folder(
    folder: Path, *, name: str = "Threshold sweep", replications: int = 3
) -> Path:
    """Write a sweep folder (manifest, results, summary, paired, episode outcomes) from
    made-up numbers; the manifest is a real one of ``scenarios/threshold_sweep.toml``."""
    scenario = load_scenario(ROOT / "scenarios" / "threshold_sweep.toml")
    variants, baseline = sweep_variants(scenario)
    names = list(variants)
    rng = np.random.default_rng(7)
    world = 1 + 0.03 * rng.standard_normal(replications)  # shared by all variants (CRN)
    rows = []
    for index, variant in enumerate(names):
        level, wipe = index // 2, index % 2 == 1
        base = _metrics_for(level, wipe)
        for r in range(replications):
            own = 1 + 0.05 * rng.standard_normal()  # noise of this variant: protection only
            for segment_by, segment, share in SEGMENTS:
                values = {k: v * share * world[r] for k, v in base.items()}
                for k in ("time_to_protect_median_min", "time_to_protect_p95_min"):
                    values[k] = base[k] * own
                values["launches"] = base["launches"] * share
                rows.append(
                    {"variant": variant, "replication": r, "segment_by": segment_by}
                    | {"segment": segment, **values}
                )
    results = pd.DataFrame(rows)
    metrics = list(_metrics_for(0, False))
    keys = ["variant", "segment_by", "segment"]
    summary = _summarize(results, keys, metrics)
    summary = summary[[*keys, "metric", "mean", "sd", "ci_low", "ci_high", "half_width", "n"]]

    base_rows = results[results["variant"] == baseline]
    merged = results[results["variant"] != baseline].merge(
        base_rows, on=["replication", "segment_by", "segment"], suffixes=("", "_base")
    )
    for metric in metrics:
        merged[metric] = merged[metric] - merged[f"{metric}_base"]
    paired = _summarize(merged[[*keys, "replication", *metrics]], keys, metrics)
    paired = paired.rename(columns={"mean": "mean_diff", "sd": "sd_diff"})
    paired.insert(1, "baseline", baseline)
    paired["distinguishable"] = (paired["ci_low"] > 0) | (paired["ci_high"] < 0)
    paired["unpaired_half_width"] = paired["half_width"] * 4

    outcome_rows = []
    severities = ("low", "medium", "high")
    for r in range(replications):
        for e in range(60):
            severity = severities[e % 3]
            base_exposure = float(rng.lognormal(3.0, 1.5)) if e % 4 else 0.0
            for index, variant in enumerate(names):
                level = index // 2
                over = severities.index(severity) + 1 > level
                exposure = base_exposure * (0.2 if over else 1.0)
                never = over and e % 7 == 0
                ttp = np.nan if (not over or never) else 10.0 + 30 * (e % 5)
                outcome_rows.append(
                    {
                        "variant": variant,
                        "device_index": e,
                        "device": f"d{e:07d}",
                        "episode": f"phishing-{e}",
                        "management": ("mdm", "mam_we", "emm")[e % 3],
                        "kind": "phishing",
                        "severity": severity,
                        "onset_min": 100.0 * e,
                        "end_min": 100.0 * e + 50,
                        "detected": True,
                        "over_max": over,
                        "enforced": over and not never,
                        "never_enforced": never,
                        "threat_denied": over and not never,
                        "active_at_horizon": False,
                        **{
                            f"never_enforced_{s}": severities.index(severity) >= k and never
                            for k, s in enumerate(severities)
                        },
                        "time_to_protect_min": ttp,
                        "never_restored": False,
                        "time_to_restore_min": np.nan,
                        "exposed_minutes": exposure,
                        "replication": r,
                    }
                )
    outcomes = pd.DataFrame(outcome_rows)
    assert set(OUTCOME_COLUMNS) <= set(outcomes.columns)

    folder.mkdir(parents=True, exist_ok=True)
    info = manifest(scenario, replication=0)
    del info["replication"]
    info |= {
        "kind": "sweep",
        "replications": replications,
        "baseline": baseline,
        "variants": {n: [p.name for p in v] for n, v in variants.items()},
        "confidence": 0.95,
    }
    info["scenario"]["name"] = name
    write_json(info, folder / "manifest.json")
    for file, frame in (
        ("results.csv", results),
        ("summary.csv", summary),
        ("paired.csv", paired),
        ("episode_outcomes.csv", outcomes),
    ):
        frame.to_csv(folder / file, index=False)
    return folder


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made sweep folder whose scenario name is hostile HTML."""
    return make_sweep_folder(tmp_path_factory.mktemp("sweep") / "sweep", name=EVIL)


@pytest.fixture(scope="module")
def run_html(run_folder: Path) -> str:
    """The run folder's report."""
    return write_report(run_folder).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sweep_html(sweep_folder: Path) -> str:
    """The sweep folder's report."""
    return write_report(sweep_folder).read_text(encoding="utf-8")


@pytest.fixture(params=["run", "sweep"])
def report(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each folder kind's report in turn."""
    yield request.getfixturevalue(f"{request.param}_html")


# -- escaping and self-containment -----------------------------------------------------------
def test_user_text_is_escaped(report: str) -> None:
    """A scenario named <script>alert(1)</script> shows as text: the page has no script
    element at all, and the name appears escaped."""
    assert "<script" not in report.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_policy_app_and_group_names_are_escaped(run_html: str) -> None:
    """Policy, variant, app and group names and the description are escaped wherever they
    appear: the only <img> elements are the embedded figures, no <b>/<i> come from names."""
    for raw in ("<b>", "<i>", "<img src=x", '"quoted"'):
        assert raw not in run_html
    for escaped in (
        "strict &lt;b&gt;block&lt;/b&gt;",
        "lenient &amp; &quot;quoted&quot;",
        "&lt;img src=x onerror=alert(2)&gt;",
        "&lt;i&gt;staff&lt;/i&gt;",
        "Fleet &amp; &lt;b&gt;bold&lt;/b&gt; claims",
    ):
        assert escaped in run_html
    images = re.findall(r"<img [^>]*>", run_html)
    assert images and all(tag.startswith('<img src="data:image/svg+xml;base64,') for tag in images)


def test_figures_are_data_uris_and_nothing_is_external(report: str) -> None:
    """Figures are embedded SVGs (sharp in print); every src is a data: URI, every link an
    in-page anchor, and no URL, stylesheet link, @import or url() appears anywhere."""
    sources = re.findall(r'\bsrc="([^"]*)"', report)
    assert len(sources) >= 3
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'\bhref="([^"]*)"', report))
    for external in ("http://", "https://", "<link", "@import", "url(", "<script", "<iframe"):
        assert external not in report.lower()


def test_behavior_parameters_are_listed_with_their_values(run_folder: Path, run_html: str) -> None:
    """Every [behavior] parameter appears in the assumptions table next to the value the run
    used; the two the scenario changed are marked as set by it."""
    assumptions = json.loads((run_folder / "manifest.json").read_text())["assumptions"]
    assert set(assumptions) == {p.name for p in parameters()}
    for name, value in assumptions.items():
        row = f"<td><code>behavior.{name}</code></td><td>{value_text(value)}</td><td"
        assert row in run_html, name
    for changed in ("midsession_enforcement", "partner_unresponsive_days"):
        row = re.search(rf"behavior\.{changed}</code>.*?</tr>", run_html)
        assert row is not None and "set by this scenario" in row.group(0)
    assert "built-in default — docs/semantics.md §4" in run_html  # retry_denied_at_launch


def test_signal_onboarding_and_offline_parameters_are_listed(run_html: str) -> None:
    """The signal-path, onboarding, offline, EMM and threat [param]s are all in the
    assumptions, with built-in numeric defaults flagged as illustrative."""
    for name in (
        "signals.defender_to_intune",
        "onboarding.mdm_zero_touch_share",
        "onboarding.preinstalled_share",
        "onboarding.install_after_redirect_share",
        "onboarding.install_delay",
        "onboarding.account_mismatch_share",
        "onboarding.mismatch_fix_delay",
        "onboarding.vpn_on_share",
        "offline.episodes_per_device_month",
        "offline.duration",
        "fleet.emm_passes_upn",
        "threats[phishing]",
    ):
        assert f"<code>{name}</code>" in run_html, name
    assert "built-in default — illustrative" in run_html
    assert "lognormal, median 15m, 90th percentile 2h" in run_html  # the default signal delay


def test_same_folder_gives_identical_bytes(run_folder: Path, run_html: str, tmp_path: Path) -> None:
    """Writing the same folder's report again gives the same bytes (no timestamps, no
    paths), and the write leaves no temporary file behind."""
    again = write_report(run_folder, tmp_path / "again.html").read_bytes()
    assert again == (run_folder / "report.html").read_bytes()
    assert again.decode("utf-8") == run_html
    assert str(run_folder) not in run_html
    assert [p.name for p in tmp_path.iterdir()] == ["again.html"]


def test_sweep_report_is_deterministic(sweep_folder: Path, sweep_html: str) -> None:
    """The sweep report renders to the same text again, and was written by default to
    RUN_DIR/report.html."""
    assert render_report(sweep_folder) == sweep_html
    assert (sweep_folder / "report.html").read_text(encoding="utf-8") == sweep_html


# -- content -------------------------------------------------------------------------------
def test_run_report_sections_and_recommendation(run_html: str) -> None:
    """A run's report describes the scenario, lists the variants, says there are no
    intervals, and words its recommendation as a statement about this model."""
    for heading in (
        "What was simulated",
        "Variants and their policies",
        "Results",
        "Figures",
        "Assumptions in force",
        "Provenance",
    ):
        assert heading in run_html
    assert "On this model and these assumptions" in run_html
    assert "Pareto-efficient" in run_html
    assert "30 users" in run_html and "5 days" in run_html
    assert "One replication: no confidence intervals" in run_html
    assert "enabled throughout (no outages)" in run_html


def test_sweep_report_has_intervals_and_highlighted_paired_differences(sweep_html: str) -> None:
    """A sweep's report shows means ± half-widths with the interval, the paired differences
    against the baseline with distinguishable ones coloured, and the baseline badge."""
    assert " ± " in sweep_html and "95% confidence interval [" in sweep_html
    assert "Each variant minus the baseline “max secured · block”" in sweep_html
    assert 'class="num better"' in sweep_html
    assert 'class="num worse"' in sweep_html
    assert 'class="badge base"' in sweep_html
    assert "A sweep: every combination of max_threat_level" in sweep_html
    assert "pooled over" not in sweep_html  # that is figure text, inside the PNG


def test_sweep_recommendation_names_efficient_and_dominated_variants(sweep_html: str) -> None:
    """In the made-up numbers, max high · wipe does everything max high · block does, with
    more blocked minutes: it is named as dominated by it; max secured · block is efficient."""
    box = re.search(r'<div class="recommendation">(.*?)</div>', sweep_html, re.S)
    assert box is not None
    text = box.group(1)
    assert "“max high · wipe” (beaten by “max high · block”)" in text
    efficient = text.split("are:")[1].split("</p>")[0]
    assert "“max secured · block”" in efficient and "“max high · wipe”" not in efficient
    assert "means over 3 replications" in text


def test_friction_is_the_thresholds_own(report: str) -> None:
    """The comparison and the friction columns use the friction the threshold causes —
    unneeded denials, user-minutes blocked for threat level, wipes — named by their
    catalogue labels, and the tables still show total blocked minutes (mostly onboarding)
    beside them."""
    box = re.search(r'<div class="recommendation">(.*?)</div>', report, re.S)
    assert box is not None
    friction = ", ".join(catalogue.label(m) for m in DEFAULT_FRICTION)
    assert friction == "unneeded denials, blocked for threat level, wipes"
    assert f"exposure ({catalogue.label(DEFAULT_EXPOSURE)}) and friction ({friction})" in (
        box.group(1)
    )
    for header in ("unneeded denials", "blocked for threat level", "blocked, any reason"):
        assert header in report, header
    assert "unneeded blocks" not in report


def test_headers_and_glossary_use_the_catalogue(report: str) -> None:
    """Every column header of the results tables is a catalogue label with its unit below,
    and the glossary defines each with the catalogue's label (unit) and sentence."""
    glossary = re.search(r"What each metric means</summary>(.*?)</details>", report, re.S)
    assert glossary is not None
    for name in HEADLINE:
        found = catalogue.metric(name)
        header = escape(found.label) + (
            f'<br><span class="unit">({escape(found.unit)})</span>'
            if catalogue.label_with_unit(name) != found.label
            else ""
        )
        assert f"<th>{header}</th>" in report or f'<th class="num">{header}</th>' in report
        term = f"<dt>{escape(catalogue.label_with_unit(name))}</dt>"
        assert term in glossary.group(1), name
        assert escape(found.description) in glossary.group(1), name
    for old in ("(session-min)", "(user-min)", "device-minutes"):
        assert old not in report


def test_policy_settings_survive_an_older_manifest(sweep_folder: Path) -> None:
    """Each sweep variant's policy settings are rebuilt from the manifest, even when its
    scenario carries a top-level field this version no longer knows; a manifest whose
    scenario cannot be rebuilt still lists the variants by name."""
    info = json.loads((sweep_folder / "manifest.json").read_text())
    info["scenario"]["retired_field"] = 10
    settings = variant_policy_settings(info)
    assert list(settings) == list(info["variants"])
    wipe = settings["max low · wipe"][0]
    assert (wipe["max_threat_level"], wipe["threat_action"]) == ("low", "wipe")
    info["scenario"]["sweep"] = {"grid": "not a grid"}
    fallback = variant_policy_settings(info)
    assert list(fallback) == list(info["variants"])
    assert fallback["max low · wipe"][0]["name"].endswith("[max low · wipe]")


# -- errors and the CLI ----------------------------------------------------------------------
def test_not_a_folder_is_an_input_error(tmp_path: Path) -> None:
    """A missing folder, a folder without manifest, and a run folder without metrics.csv
    are input errors naming the problem."""
    with pytest.raises(InputError, match="no such folder"):
        write_report(tmp_path / "missing")
    with pytest.raises(InputError, match=r"no manifest\.json"):
        write_report(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"scenario": {"name": "x"}}))
    with pytest.raises(InputError, match=r"without metrics\.csv"):
        write_report(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "sweep", "scenario": {}}))
    with pytest.raises(InputError, match=r"without summary\.csv"):
        write_report(tmp_path)


def test_cli_writes_the_report_and_prints_its_path(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`condlaunch report DIR --out FILE` exits 0, creates FILE's folder, prints its path."""
    out = tmp_path / "nested" / "r.html"
    assert main(["report", str(run_folder), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("setup", ["missing", "empty", "bad-json"])
def test_cli_bad_folder_exits_2_with_one_line(
    setup: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that is not a run or sweep folder: exit 2, one error line, nothing written."""
    folder = tmp_path / "f"
    if setup != "missing":
        folder.mkdir()
    if setup == "bad-json":
        (folder / "manifest.json").write_text("{not json")
    assert main(["report", str(folder)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("condlaunch: error: ")
    assert captured.out == ""
    assert not (folder / "report.html").exists()


def test_sweep_report_opens_with_the_appetites_recommendation(tmp_path: Path) -> None:
    """With an appetite in the manifest (and users in the results), the decision box opens
    with the recommendation paragraph in rates per 1,000 users per month and a verdict per
    variant and limit; the rates table comes first in Results and warns when an interval is
    wider than its value; banner text is escaped and a logo is embedded as a data: URI."""
    folder = make_sweep_folder(tmp_path / "sweep", name="appetite")
    results = pd.read_csv(folder / "results.csv")
    results["users"] = 30
    results.to_csv(folder / "results.csv", index=False)
    summary = pd.read_csv(folder / "summary.csv")
    noisy = (summary["metric"] == "wipes") & (summary["mean"] > 0)
    summary.loc[noisy, "half_width"] = summary.loc[noisy, "mean"] * 3  # interval > value
    summary.to_csv(folder / "summary.csv", index=False)
    info = json.loads((folder / "manifest.json").read_text())
    info["appetite"] = {"limits": {"exposed_minutes_medium": 1e9}, "weights": {}}
    write_json(info, folder / "manifest.json")
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    html = write_report(folder, tmp_path / "r.html", banner="<b>Contoso</b>", logo=logo)
    text = html.read_text(encoding="utf-8")
    box = re.search(r'<div class="recommendation">(.*?)</div>', text, re.S)
    assert box is not None
    assert "Recommendation." in box.group(1) and "per 1,000 users per month" in box.group(1)
    assert 'class="verdict"' in box.group(1) and "meets" in box.group(1)
    assert "Per 1,000 users per month (sums of minutes in hours)" in text
    assert "Too few replications:" in text and "--precision 0.05" in text
    assert "&lt;b&gt;Contoso&lt;/b&gt;" in text and "<b>Contoso</b>" not in text
    assert 'class="logo" src="data:image/svg+xml;base64,' in text


def test_sweep_report_without_appetite_says_what_to_state(sweep_html: str) -> None:
    """Without a stated appetite the report says so, shows an example of what to state, and
    keeps the frontier comparison."""
    assert "No risk appetite stated" in sweep_html
    assert "blocked_working_minutes_threat" in sweep_html
    assert "Pareto-efficient" in sweep_html


def test_metrics_no_variant_changes_are_one_line_under_the_rates_table(tmp_path: Path) -> None:
    """As under the CLI's table: in a real threshold sweep, launches and onboarding blocks
    (the threshold changes neither) are named once on a line, with their value; the
    metrics that vary are not on it."""
    from simulator import SweepSettings, run_sweep, write_report, write_sweep
    from simulator.analysis.rates import rate_label
    from simulator.report.page import RATE_HEADLINE

    scenario = load_scenario(ROOT / "scenarios" / "threshold_sweep.toml").with_changes(
        fleet={"users": 30}, horizon="7d"
    )
    result = run_sweep(scenario, SweepSettings(replications=2, keep_log=False), workers=1)
    write_sweep(result, tmp_path / "sweep")
    html = write_report(tmp_path / "sweep", tmp_path / "report.html").read_text()
    line = html.split("Same under every variant (not in the table): ", 1)[1].split("</p>")[0]
    named = {part.rsplit(" ", 3)[0] for part in line.rstrip(".").split("; ")}
    assert {"launches", "onboarding blocks"} <= named
    # every metric of the table is on the line exactly when no variant changes it in any
    # replication (checked here on the paired table directly)
    paired = result.paired[result.paired["segment_by"] == "all"]
    for metric in (*RATE_HEADLINE, "launches", "onboarding_blocks"):
        rows = paired[paired["metric"] == metric]
        zero = (rows["mean_diff"] == 0) & (rows["half_width"] == 0)
        same = bool(len(rows)) and bool(zero.all())
        assert (rate_label(metric) in named) == same, metric
    assert rate_label("blocked_working_minutes_threat") not in named  # varies: in the table


def test_invariant_metrics_needs_exactly_zero_for_every_variant() -> None:
    from simulator.analysis.sweep_tables import invariant_metrics

    def row(variant: str, metric: str, diff: float, half: float) -> dict[str, object]:
        return {
            "variant": variant,
            "segment_by": "all",
            "metric": metric,
            "mean_diff": diff,
            "half_width": half,
        }

    paired = pd.DataFrame(
        [
            row("B", "launches", 0.0, 0.0),
            row("C", "launches", 0.0, 0.0),
            row("B", "wipes", 0.0, 0.0),
            row("C", "wipes", 0.0, 1.5),  # same mean, but differs in some replication
            row("B", "onboarding_blocks", 0.0, 0.0),  # C has no row: not known to be equal
            row("B", "unneeded_denials", 0.0, float("nan")),  # one replication: unknown
            row("C", "unneeded_denials", 0.0, 0.0),
        ]
    )
    metrics = ["launches", "wipes", "onboarding_blocks", "unneeded_denials"]
    assert invariant_metrics(paired, ["B", "C"], metrics) == ["launches"]
    assert invariant_metrics(paired, [], metrics) == []


def test_every_figure_is_drawn_no_wider_than_the_content_column(sweep_html: str) -> None:
    """Drawn at the size it is shown: an SVG wider than the column would be scaled down on
    the page, text and all. The frontier (three panels and a legend, 17 in at its natural
    size) is narrowed to the column; the CSS column and the constant are one number."""
    import base64
    import re

    from simulator.report.html import CONTENT_WIDTH_PX, CSS, FIGURE_WIDTH_IN

    assert f"max-width: {CONTENT_WIDTH_PX + 64}px" in CSS
    widths = []
    for data in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", sweep_html):
        head = base64.b64decode(data)[:2000].decode("utf-8", "replace")
        found = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', head)
        assert found is not None
        widths.append(float(found.group(1)))
    assert widths and max(widths) <= FIGURE_WIDTH_IN * 72 + 0.5
    assert max(widths) >= FIGURE_WIDTH_IN * 72 - 0.5  # the frontier uses the whole column
