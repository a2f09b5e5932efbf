"""The report: one self-contained HTML page about a run or a sweep folder.

:func:`write_report` reads a folder written by ``condlaunch run`` (one replication: values
only) or ``condlaunch sweep`` (replications: means with confidence intervals and paired
differences against the baseline) and writes one HTML file a person opens in a browser:

1. the decision: for a sweep with a stated risk appetite, the recommendation paragraph
   (:mod:`simulator.analysis.appetite`) with each variant's verdict per limit, in rates
   per 1,000 users per month; without one, what to state. Then the Pareto-efficient
   variants (exposure against friction; for sweeps judged on paired differences, so noise
   does not make a variant dominated — :func:`simulator.analysis.pareto.paired_dominated_by`),
   worded as what it is — a statement about this model under these assumptions;
2. the scenario in words, the variants and the policy settings each deploys;
3. the headline metrics per variant (± CI for sweeps), by management set-up too, and the
   paired differences against the baseline with the distinguishable ones highlighted;
4. figures: the exposure/friction frontier, time to protect, exposure per episode;
5. every assumption in force (each SEMANTICS.md [param] with its value and whether it is
   a built-in, illustrative default) and the run's provenance.

The page is a Jinja2 template (``templates/report.html.j2``, autoescape on) filled here
from :mod:`simulator.report.inputs` (the inputs in words), :mod:`simulator.report.tables`
(the metric tables) and :mod:`simulator.report.html` (escaping and markup). It embeds its
figures as SVG ``data:`` URIs (sharp in print and PDF), an optional organisation logo the
same way, and its CSS inline; it loads nothing from anywhere. All user-supplied text is
HTML-escaped. The same folder
always gives the same bytes (no timestamps, no absolute paths), and the file is written
atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from simulator._text import display_name
from simulator.analysis import catalogue
from simulator.analysis.appetite import Recommendation
from simulator.analysis.pareto import (
    DEFAULT_EXPOSURE,
    DEFAULT_FRICTION,
    dominated_by,
    paired_dominated_by,
    pareto_efficient,
)
from simulator.analysis.rates import rate_label, rate_unit
from simulator.analysis.sweep_tables import invariant_metrics
from simulator.durations import DurationError, parse_duration
from simulator.errors import InputError
from simulator.folders import ResultsFolder, check_output_file, read_results, write_text_atomic
from simulator.plots.frontier import COINCIDE_NOTE, coinciding_actions, frontier
from simulator.plots.run import time_to_protect, variant_colors
from simulator.plots.sweep import exceedance
from simulator.report.html import (
    CSS,
    FIGURE_WIDTH_IN,
    Cell,
    Html,
    definition_list,
    escape,
    figure_html,
    join,
    logo_uri,
    number,
    table,
    tag,
)
from simulator.report.inputs import (
    assumptions_section,
    policies_section,
    scenario_section,
    variant_policy_settings,
)
from simulator.report.tables import (
    GROUPS,
    HEADLINE,
    MANAGEMENT_METRICS,
    by_management,
    confidence_text,
    glossary,
    ordered,
    paired_section,
    results_table,
    segment_rows,
)

__all__ = ["REPORT_NAME", "render_report", "write_report"]

REPORT_NAME: Final = "report.html"
"""The file :func:`write_report` writes inside the folder by default."""

_KEYS: Final = ("variant", "segment_by", "segment")
_SEVERITY_FOR_TAILS: Final = "medium"


# -- recommendation ------------------------------------------------------------------------
def _appetite_block(data: ResultsFolder) -> Html:
    """The decision from the stated appetite, or what to state to get one."""
    rec = data.recommendation
    if data.kind != "sweep":
        return Html("")
    if rec is None:
        return tag(
            "p",
            Html(
                tag("strong", "No risk appetite stated")
                + escape(
                    ", so no variant is recommended. State one in the scenario's [appetite] "
                    "(or with sweep --limit/--weight), for example limits = "
                    "{ exposed_minutes_medium = 40, blocked_working_minutes_threat = 800 }: "
                    "at most 40 exposed session-hours at ≥ medium and 800 blocked working "
                    "user-hours per 1,000 users per month. Until then, the frontier below "
                    "shows the trade-offs."
                )
            ),
        )
    parts = [tag("p", Html(tag("strong", "Recommendation. ") + escape(rec.paragraph())))]
    if rec.appetite.limits:
        parts.append(_verdict_table(rec))
    if rec.too_few:
        parts.append(
            tag(
                "p",
                f"{rec.replications} replications are too few for this verdict: rerun the "
                "sweep with --precision 0.05 to add replications until the intervals settle.",
                cls="warning",
            )
        )
    return join(parts)


def _verdict_table(rec: Recommendation) -> Html:
    """Each variant against each limit: mean [interval] and meets / unsure / fails."""
    limits = list(rec.appetite.limits)
    header = [
        "variant",
        *(
            Html(
                f"{escape(rate_label(m))} ≤ {escape(number(rec.appetite.limits[m]))}"
                f'<br><span class="unit">{escape(rate_unit(m))}</span>'
            )
            for m in limits
        ),
        "verdict",
    ]
    rows = []
    for check in rec.variants:
        cells: list[object] = [check.variant]
        for found in check.checks:
            cells.append(
                Cell(
                    f"{number(found.mean)} [{number(found.low)}, {number(found.high)}]",
                    cls=found.status.value,
                    title=f"{found.status.value}: 95% interval vs limit {number(found.limit)}",
                )
            )
        label = check.status.value + (" — recommended" if check.variant == rec.recommended else "")
        cells.append(Cell(label, cls=check.status.value))
        rows.append(cells)
    return table(header, rows, cls="verdict")


def _recommendation(
    data: ResultsFolder,
    variants: Sequence[str],
    efficient: Sequence[str],
    beaten: dict[str, list[str]],
) -> Html:
    friction = ", ".join(catalogue.label(m) for m in DEFAULT_FRICTION)
    if len(variants) == 1:
        return tag(
            "p",
            f"Only one variant (“{variants[0]}”) was simulated: there is nothing to compare "
            "it with. Add variants (or a sweep) to the scenario to compare settings.",
        )
    names = _names(efficient) if efficient else "none could be judged (missing values)"
    lines = [
        tag(
            "p",
            Html(
                tag("strong", "On this model and these assumptions")
                + escape(
                    f", the Pareto-efficient variants — those no other variant matches or "
                    f"beats on exposure ({catalogue.label(DEFAULT_EXPOSURE)}) and friction "
                    f"({friction}) at once — are: {names}."
                )
            ),
        )
    ]
    dominated = [v for v in variants if beaten.get(v)]
    if dominated:
        lines.append(
            tag(
                "p",
                "Dominated — another variant is at least as good on all of these metrics "
                "and better on one: "
                + "; ".join(f"“{v}” (beaten by {_names(beaten[v])})" for v in dominated)
                + ".",
            )
        )
    elif len(efficient) == len(variants) > 1:
        lines.append(
            tag(
                "p",
                "No variant beats another on all of these at once: each trades exposure "
                "against friction differently, so the choice is a judgement of how much "
                "exposure a given amount of user friction is worth.",
            )
        )
    unjudged = [v for v in variants if v not in efficient and not beaten.get(v)]
    if unjudged:
        lines.append(tag("p", f"Not judged (a metric is missing): {_names(unjudged)}."))
    if data.kind == "sweep":
        replications = data.manifest.get("replications", "several")
        basis = (
            f"Judged on means over {replications} replications, and a variant counts as "
            "dominated only when the paired difference (same world per replication) shows "
            "it worse beyond simulation noise; the paired differences below show which "
            "gaps are distinguishable."
        )
    else:
        basis = (
            "Judged on a single replication without confidence intervals: small gaps may "
            "be noise — run a sweep with replications before relying on them."
        )
    lines.append(
        tag(
            "p",
            f"{basis} Time to protect, never-enforced episodes, onboarding blocks and "
            "blocked minutes for other reasons (onboarding, offline) are in the tables but "
            "not part of this comparison. Rates, delays and shares are "
            "illustrative unless the scenario replaced them (see Assumptions): this compares "
            "policy settings under a model; it does not measure your fleet.",
            cls="note",
        )
    )
    return join([_appetite_block(data), *lines])


def _directions(metrics: Sequence[str]) -> str:
    """Which way the table's metrics are better, from the catalogue."""
    others = [
        m
        for m in metrics
        if catalogue.metric(m).direction is not catalogue.Direction.LOWER_IS_BETTER
    ]
    if not others:
        return "Every metric is lower-is-better."
    listed = ", ".join(
        f"{catalogue.label(m)} ({catalogue.metric(m).direction.value})" for m in others
    )
    return f"Lower is better, except for {listed}."


def _names(names: Sequence[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# -- figures -------------------------------------------------------------------------------
def _figures(
    data: ResultsFolder,
    colors: Mapping[str, str],
    efficient: Sequence[str] | None = None,
    hurt: Html | None = None,
) -> Html:
    parts = []
    table_for_frontier = data.summary if data.summary is not None else data.metrics
    how = (
        "Points are means over replications; bars are confidence intervals."
        if data.kind == "sweep"
        else "One replication: points only, no intervals."
    )
    pairs = coinciding_actions(table_for_frontier)
    once = (
        f" Drawn once: {_names([b for b, _ in pairs])} with {'its' if len(pairs) == 1 else 'their'}"
        f" wipe counterpart{'' if len(pairs) == 1 else 's'}. {COINCIDE_NOTE}"
        if pairs
        else ""
    )
    parts.append(
        figure_html(
            frontier(
                table_for_frontier, colors=colors, efficient=efficient, max_width=FIGURE_WIDTH_IN
            ),
            "Exposure against friction per variant, with the Pareto frontier",
            f"Exposure (x) against each friction metric (y); lower-left is better. Filled: "
            f"Pareto-efficient on exposure and all three friction metrics; hollow: another "
            f"variant is at least as good on all of them and better on one. The dashed step "
            f"line is each panel's own frontier. {how}{once}",
        )
    )
    outcomes = data.outcomes
    if outcomes is None or outcomes.empty:
        parts.append(
            tag("p", "No episode outcomes in this folder: no per-episode figures.", cls="note")
        )
        return join(parts)
    pair: list[Html] = []
    needed = {"over_max", "time_to_protect_min", "never_enforced"}
    if needed <= set(outcomes.columns):
        pair.append(
            figure_html(
                time_to_protect(outcomes, colors=colors),
                "Time to protect per variant",
                "Share of threat episodes above each variant's max allowed level that were "
                "protected (first threat-level denial on the device) within a given time of "
                "onset; curves end below 100% by the share never enforced."
                + (" Pooled over replications." if data.kind == "sweep" else ""),
            )
        )
    if "exposed_minutes" in outcomes.columns and "severity" in outcomes.columns:
        pair.append(
            figure_html(
                exceedance(outcomes, min_severity=_SEVERITY_FOR_TAILS, colors=colors),
                "Exposure per threat episode per variant",
                f"For threat episodes of severity ≥ {_SEVERITY_FOR_TAILS} (the same episodes "
                "under every variant): the share whose exposed minutes — granted-session "
                "minutes on the device during the episode — exceed x. The curve's start is "
                "the share with any exposure; its tail shows the worst episodes.",
            )
        )
    else:
        pair.append(
            tag("p", "Episode outcomes lack exposed_minutes: no exposure-tail figure.", cls="note")
        )
    parts += pair
    if hurt:
        parts.append(hurt)
    return join(parts)


def _hurt_figure(folder: Path, data: ResultsFolder, variants: Sequence[str], colors: Any) -> Html:
    """Blocked working hours per affected user, from the folder's decision log (a sweep's
    replication 0), or nothing when the folder has no log."""
    from simulator.analysis.metrics import DEFAULT_WORKING_HOURS, blocked_hours_per_user
    from simulator.folders import iter_decision_log, read_run_table
    from simulator.plots.hurt import blocked_hours_per_user_figure

    has_log = (folder / "decisions.parquet").is_file() or (folder / "decisions.csv").is_file()
    if not has_log:
        return Html("")
    scenario = data.manifest["scenario"]
    try:
        horizon = parse_duration(str(scenario["horizon"]))
    except (KeyError, DurationError):
        return Html("")
    hours = tuple((scenario.get("launches") or {}).get("working_hours", DEFAULT_WORKING_HOURS))
    episodes_path = folder / "episodes.csv"
    episodes = read_run_table(episodes_path) if episodes_path.is_file() else pd.DataFrame()
    if episodes.empty:
        return Html("")
    episodes = episodes.assign(variant=episodes["variant"].astype(str))
    pieces = []  # a streamed log chunk by chunk (users never span chunks), else whole
    for decisions in iter_decision_log(folder):
        if "user" not in decisions.columns:
            return Html("")
        pieces.append(
            blocked_hours_per_user(
                decisions.assign(variant=decisions["variant"].astype(str)),
                episodes,
                horizon,
                (int(hours[0]), int(hours[1])),
            )
        )
    per_user = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()
    which = " (replication 0)" if data.kind == "sweep" else ""
    return figure_html(
        blocked_hours_per_user_figure(per_user, variants=variants, colors=colors),
        "Blocked working hours per affected user, per variant",
        f"Who gets hurt{which}: for each user blocked for threat level for more than one "
        "working hour, the working hours (Monday–Friday, the scenario's working hours) they "
        "were kept out of their apps. Box: quartiles; line: 5th to 95th percentile; dots: "
        "users. The same total reads differently when it falls on a few people for days and "
        "on many for an hour.",
    )


# -- provenance ----------------------------------------------------------------------------
def _provenance(manifest: Mapping[str, Any]) -> Html:
    items: list[tuple[object, object]] = []
    for key, label in (
        ("scenario_file", "scenario file"),
        ("seed", "seed"),
        ("replication", "replication"),
        ("replications", "replications"),
        ("confidence", "confidence level"),
        ("engine", "engine"),
        ("format_version", "folder format"),
    ):
        if manifest.get(key) is not None:
            items.append((label, str(manifest[key])))
    versions = manifest.get("versions") or {}
    if versions:
        items.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    hashes = manifest.get("input_sha256") or {}
    for name, digest in hashes.items():
        items.append((f"sha256 {name}", Html(tag("code", digest))))
    return definition_list(items)


# -- the page ------------------------------------------------------------------------------
def _judge(data: ResultsFolder, overall: Any) -> tuple[list[str], dict[str, list[str]]]:
    """Efficient and dominated variants: on paired differences when the folder has a
    sweep's per-replication results, else on means."""
    results = data.results
    if (
        results is not None
        and len(results)
        and all(m in results.columns for m in (DEFAULT_EXPOSURE, *DEFAULT_FRICTION))
    ):
        confidence = float(data.manifest.get("confidence", 0.95))
        beaten = paired_dominated_by(
            results, DEFAULT_EXPOSURE, DEFAULT_FRICTION, confidence=confidence
        )
        finite = set(pareto_efficient(overall, DEFAULT_EXPOSURE, DEFAULT_FRICTION))
        finite |= {v for v, by in dominated_by(overall).items() if by}
        return [v for v, by in beaten.items() if not by and v in finite], beaten
    efficient = pareto_efficient(overall, DEFAULT_EXPOSURE, DEFAULT_FRICTION)
    return efficient, dominated_by(overall, DEFAULT_EXPOSURE, DEFAULT_FRICTION)


_NAV: Final = (
    ("scenario", "Scenario"),
    ("variants", "Variants"),
    ("results", "Results"),
    ("figures", "Figures"),
    ("assumptions", "Assumptions"),
    ("provenance", "Provenance"),
)


def _template() -> Any:
    """The page template, autoescaping every value that is not :class:`Html`."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("simulator.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("report.html.j2")


def render_report(
    folder: str | os.PathLike[str], *, banner: str | None = None, logo: str | None = None
) -> str:
    """The report of a run or sweep folder as an HTML string (see the module docstring).

    Parameters
    ----------
    folder
        A folder written by ``condlaunch run`` or ``condlaunch sweep``.
    banner
        Optional text at the top of the page (an organisation's name, a classification).
    logo
        Optional logo file (PNG, SVG or JPEG), embedded at the top of the page.

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    InputError
        If ``folder`` is not a run or sweep folder, a table in it is unreadable, or the
        logo cannot be read.
    """
    data = read_results(Path(folder))
    manifest = data.manifest
    scenario = manifest["scenario"]
    listed = list((manifest.get("variants") or {}).keys())
    variants = list(dict.fromkeys([*map(str, listed), *ordered(data.metrics["variant"])]))
    colors = variant_colors(variants)
    overall = segment_rows(data.metrics, "all", "all")
    try:
        efficient, beaten = _judge(data, overall)
    except ValueError as exc:
        raise InputError(f"cannot compare variants: {exc}", source=str(folder)) from None
    try:
        logo_data = None if logo is None else logo_uri(logo)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot embed the logo: {exc}", source=logo) from None
    baseline = str(manifest.get("baseline")) if data.kind == "sweep" else None
    badges = {
        v: Html(
            (tag("span", "baseline", cls="badge base") if v == baseline else "")
            + (
                tag("span", "Pareto-efficient", cls="badge")
                if v in efficient and len(variants) > 1
                else ""
            )
            + (
                tag("span", "recommended", cls="badge")
                if data.recommendation is not None and v == data.recommendation.recommended
                else ""
            )
        )
        for v in variants
    }
    is_sweep = data.kind == "sweep"
    replications = (
        f"{manifest.get('replications', '?')} replications, {confidence_text(manifest)} intervals"
        if is_sweep
        else f"one replication (index {manifest.get('replication', 0)})"
    )
    name = str(scenario.get("name", manifest.get("scenario_name", "scenario")))
    context = {
        "title": display_name(f"condlaunch report — {name}", 80),
        "css": Html(CSS),
        "banner": banner,
        "logo": logo_data,
        "name": name,
        "subtitle": f"condlaunch report of a {'sweep' if is_sweep else 'run'}: "
        f"{len(variants)} policy variant(s), {replications}.",
        "nav": _NAV,
        "decision": _recommendation(data, variants, efficient, beaten),
        "sections": _sections(
            data,
            variants,
            colors,
            badges,
            replications,
            efficient,
            _hurt_figure(Path(folder), data, variants, colors),
        ),
    }
    return str(_template().render(**context))


RATE_HEADLINE: Final = (
    "exposed_minutes_medium",
    "exposed_minutes_high",
    "never_enforced_medium",
    "time_to_protect_median_min",
    "blocked_working_minutes_threat",
    "users_affected",
    "unneeded_denials",
    "wipes",
)
"""The metrics of the report's first table, in rates a CISO reads."""
_SAME_ALSO: Final = ("launches", "onboarding_blocks")
"""Not in that table, but named on its "same under every variant" line when no variant
changes them (as the CLI does)."""


def _rates_table(
    data: ResultsFolder, colors: Mapping[str, str], badges: Mapping[str, Html], note: str
) -> Html:
    """Headline metrics per 1,000 users per month (sums in hours), or nothing when the
    folder does not record users."""
    from simulator.analysis.pareto import summary_to_wide
    from simulator.analysis.rates import rates_of_summary, users_of

    summary = data.summary
    if summary is None or data.results is None:
        return Html("")
    users = users_of(data.results)
    if not users > 0:
        return Html("")
    try:
        horizon = parse_duration(str(data.manifest["scenario"]["horizon"]))
    except (KeyError, DurationError):
        return Html("")
    present = set(summary["metric"])
    shown = [m for m in RATE_HEADLINE if m in present]
    # as under the CLI's table: metrics no variant changes are one line, not columns
    fixed = _same_everywhere(data, [*shown, *(m for m in _SAME_ALSO if m in present)])
    rated = rates_of_summary(summary[summary["metric"].isin([*shown, *fixed])], users, horizon)
    shown = [m for m in shown if m not in fixed]
    rows = segment_rows(summary_to_wide(rated.drop(columns=["unit"])), "all", "all")
    headers = {
        m: Html(
            tag("abbr", rate_label(m), title=catalogue.metric(m).description)
            + "<br>"
            + tag("span", rate_unit(m).replace(" per 1,000 users per month", ""), cls="unit")
        )
        for m in shown
    }
    wide = rated[
        (rated["segment_by"] == "all")
        & (rated["half_width"] > rated["mean"].abs())
        & (rated["mean"].abs() > 0)
    ]
    warning = (
        tag(
            "p",
            f"Too few replications: {len(wide)} of these interval(s) are wider than the value "
            f"they qualify (e.g. {rate_label(str(wide['metric'].iloc[0]))} of "
            f"“{wide['variant'].iloc[0]}”); rerun the sweep with --precision 0.05.",
            cls="warning",
        )
        if len(wide)
        else Html("")
    )
    return join(
        [
            tag("h4", "Per 1,000 users per month (sums of minutes in hours)"),
            warning,
            results_table(rows, shown, colors, badges, note, headers=headers),
            _same_line(rated, fixed),
            tag(
                "p",
                "Hover a header for its definition; the tables below give every metric "
                "in its own unit, over the whole fleet and run. users affected: per 1,000 "
                "users over the run; time to protect: hours.",
                cls="note",
            ),
        ]
    )


def _same_everywhere(data: ResultsFolder, metrics: Sequence[str]) -> list[str]:
    """The ``metrics`` the same under every variant in every replication (paired
    difference exactly 0), as the CLI's line under its table."""
    paired = data.paired
    if paired is None or paired.empty:
        return []
    others = sorted(set(paired["variant"].astype(str)))
    return invariant_metrics(paired, others, metrics)


def _same_line(rated: pd.DataFrame, fixed: Sequence[str]) -> Html:
    """One line naming the metrics left out of the table because no variant changes them,
    with their value (the first variant's mean ± half-width)."""
    if not fixed:
        return Html("")
    rows = rated[rated["segment_by"] == "all"]
    parts = []
    for metric in fixed:
        row = rows[rows["metric"] == metric].iloc[0]
        half = float(row["half_width"])
        value = f"{float(row['mean']):,.0f}" + (f" ± {half:,.0f}" if half == half else "")
        parts.append(f"{rate_label(metric)} {value}")
    return tag(
        "p", "Same under every variant (not in the table): " + "; ".join(parts) + ".", cls="note"
    )


def _sections(
    data: ResultsFolder,
    variants: Sequence[str],
    colors: Mapping[str, str],
    badges: Mapping[str, Html],
    replications: str,
    efficient: Sequence[str],
    hurt: Html | None = None,
) -> list[dict[str, object]]:
    """The page's sections after the decision: anchor (h2) or none (h3), title, body."""
    manifest = data.manifest
    is_sweep = data.kind == "sweep"
    note = f"{confidence_text(manifest)} interval"
    overall = segment_rows(data.metrics, "all", "all")
    metrics = [m for m in HEADLINE if m in data.metrics.columns]
    management_metrics = [m for m in metrics if m in MANAGEMENT_METRICS]
    results = join(
        [
            tag(
                "p",
                "Whole fleet, per run"
                + (
                    f" (mean ± half-width of the {note}; hover for the interval; ± ?: too "
                    "few replications with a value for an interval)"
                    if is_sweep
                    else ""
                )
                + f". {_directions(metrics)}",
            ),
            *(
                join([tag("h4", title), results_table(overall, shown, colors, badges, note)])
                for title, group in GROUPS
                if (shown := [m for m in group if m in data.metrics.columns])
            ),
            tag("details", Html(tag("summary", "What each metric means") + glossary(metrics))),
        ]
    )
    rates = _rates_table(data, colors, badges, note)
    if rates:
        results = join([rates, results])
    management = results_table(
        by_management(data.metrics, variants),
        management_metrics,
        colors,
        {},
        note,
        with_segment=True,
    )
    return [
        {
            "anchor": "scenario",
            "title": "What was simulated",
            "body": scenario_section(manifest, replications),
        },
        {
            "anchor": "variants",
            "title": "Variants and their policies",
            "body": policies_section(variant_policy_settings(manifest), colors, badges, manifest),
        },
        {"anchor": "results", "title": "Results", "body": results},
        {"anchor": "", "title": "By management set-up", "body": management},
        {
            "anchor": "",
            "title": "Paired differences against the baseline",
            "body": paired_section(data.kind, data.paired, data.manifest, colors, badges),
        },
        {
            "anchor": "figures",
            "title": "Figures",
            "body": _figures(data, colors, efficient, hurt),
        },
        {
            "anchor": "assumptions",
            "title": "Assumptions in force",
            "body": assumptions_section(manifest),
        },
        {"anchor": "provenance", "title": "Provenance", "body": _provenance(manifest)},
    ]


def write_report(
    folder: Path | str,
    out: Path | str | None = None,
    *,
    banner: str | None = None,
    logo: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the report of a run or sweep folder as one self-contained HTML file.

    Parameters
    ----------
    folder
        A folder written by ``condlaunch run`` or ``condlaunch sweep``.
    out
        The HTML file to write (its folder is created if missing); default
        ``folder/report.html``. Written atomically: a temporary file in the same folder,
        renamed over ``out`` once complete.
    banner, logo
        Optional text and logo file (PNG, SVG, JPEG) at the top of the page, e.g. an
        organisation's name and logo.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        If ``folder`` is not a run or sweep folder, or ``out`` cannot be written.
    """
    source = Path(folder)
    target = Path(out) if out is not None else source / REPORT_NAME
    check_output_file(target, folders=[source], allowed_inside=frozenset({REPORT_NAME}))
    text = render_report(source, banner=banner, logo=None if logo is None else str(logo))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror}", source=target) from None
    return target
