"""The report: one self-contained HTML page about a run or a sweep folder.

:func:`write_report` reads a folder written by ``condlaunch run`` (one replication: values
only) or ``condlaunch sweep`` (replications: means with confidence intervals and paired
differences against the baseline) and writes one HTML file a person opens in a browser:

1. a recommendation line naming the Pareto-efficient variants (exposure against friction,
   :func:`simulator.analysis.pareto.pareto_efficient`), worded as what it is — a
   statement about this model under these assumptions;
2. the scenario in words, the variants and the policy settings each deploys;
3. the headline metrics per variant (± CI for sweeps), by management set-up too, and the
   paired differences against the baseline with the distinguishable ones highlighted;
4. figures: the exposure/friction frontier, time to protect, exposure per episode;
5. every assumption in force (each SEMANTICS.md [param] with its value and whether it is
   a built-in, illustrative default) and the run's provenance.

The page is assembled here from :mod:`simulator.report.inputs` (the inputs in words),
:mod:`simulator.report.tables` (the metric tables) and :mod:`simulator.report.html`
(escaping and markup). It embeds its figures as PNG ``data:`` URIs and its CSS inline;
it loads nothing from anywhere. All user-supplied text is HTML-escaped. The same folder
always gives the same bytes (no timestamps, no absolute paths), and the file is written
atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from simulator.analysis import catalogue
from simulator.analysis.pareto import (
    DEFAULT_EXPOSURE,
    DEFAULT_FRICTION,
    dominated_by,
    pareto_efficient,
)
from simulator.errors import InputError
from simulator.folders import ResultsFolder, check_output_file, read_results, write_text_atomic
from simulator.plots.frontier import frontier
from simulator.plots.run import time_to_protect, variant_colors
from simulator.plots.sweep import exceedance
from simulator.report.html import (
    Html,
    definition_list,
    escape,
    figure_html,
    join,
    page,
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
def _recommendation(
    data: ResultsFolder,
    variants: Sequence[str],
    efficient: Sequence[str],
    beaten: dict[str, list[str]],
) -> Html:
    friction = ", ".join(catalogue.label(m) for m in DEFAULT_FRICTION)
    if len(variants) == 1:
        return tag(
            "div",
            tag(
                "p",
                f"Only one variant (“{variants[0]}”) was simulated: there is nothing to compare "
                "it with. Add variants (or a sweep) to the scenario to compare settings.",
            ),
            cls="recommendation",
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
            f"Judged on means over {replications} replications; the paired differences "
            "below show which gaps are distinguishable from simulation noise."
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
    return tag("div", join(lines), cls="recommendation")


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
def _figures(data: ResultsFolder, colors: Mapping[str, str]) -> Html:
    parts = []
    table_for_frontier = data.summary if data.summary is not None else data.metrics
    how = (
        "Points are means over replications; bars are confidence intervals."
        if data.kind == "sweep"
        else "One replication: points only, no intervals."
    )
    parts.append(
        figure_html(
            frontier(table_for_frontier, colors=colors),
            "Exposure against friction per variant, with the Pareto frontier",
            f"Exposure (x) against each friction metric (y); lower-left is better. Filled: "
            f"Pareto-efficient on exposure and all three friction metrics; hollow: another "
            f"variant is at least as good on all of them and better on one. The dashed step "
            f"line is each panel's own frontier. {how}",
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
    return join(parts)


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
def render_report(folder: str | os.PathLike[str]) -> str:
    """The report of a run or sweep folder as an HTML string (see the module docstring).

    Parameters
    ----------
    folder
        A folder written by ``condlaunch run`` or ``condlaunch sweep``.

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    InputError
        If ``folder`` is not a run or sweep folder, or a table in it is unreadable.
    """
    data = read_results(Path(folder))
    manifest = data.manifest
    scenario = manifest["scenario"]
    listed = list((manifest.get("variants") or {}).keys())
    variants = list(dict.fromkeys([*map(str, listed), *ordered(data.metrics["variant"])]))
    colors = variant_colors(variants)
    overall = segment_rows(data.metrics, "all", "all")
    try:
        efficient = pareto_efficient(overall, DEFAULT_EXPOSURE, DEFAULT_FRICTION)
        beaten = dominated_by(overall, DEFAULT_EXPOSURE, DEFAULT_FRICTION)
    except ValueError as exc:
        raise InputError(f"cannot compare variants: {exc}", source=str(folder)) from None
    baseline = str(manifest.get("baseline")) if data.kind == "sweep" else None
    badges = {
        v: Html(
            (tag("span", "baseline", cls="badge base") if v == baseline else "")
            + (
                tag("span", "Pareto-efficient", cls="badge")
                if v in efficient and len(variants) > 1
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
    note = f"{confidence_text(manifest)} interval"
    metrics = [m for m in HEADLINE if m in data.metrics.columns]
    management_metrics = [m for m in metrics if m in MANAGEMENT_METRICS]
    name = str(scenario.get("name", manifest.get("scenario_name", "scenario")))
    sections = [
        tag("h1", f"Policy comparison: {name}"),
        tag(
            "p",
            f"condlaunch report of a {'sweep' if is_sweep else 'run'}: {len(variants)} "
            f"policy variant(s), {replications}.",
            cls="muted",
        ),
        Html(
            "<nav>"
            + "".join(
                f'<a href="#{anchor}">{escape(text)}</a>'
                for anchor, text in (
                    ("scenario", "Scenario"),
                    ("variants", "Variants"),
                    ("results", "Results"),
                    ("figures", "Figures"),
                    ("assumptions", "Assumptions"),
                    ("provenance", "Provenance"),
                )
            )
            + "</nav>"
        ),
        _recommendation(data, variants, efficient, beaten),
        Html('<h2 id="scenario">What was simulated</h2>'),
        scenario_section(manifest, replications),
        Html('<h2 id="variants">Variants and their policies</h2>'),
        policies_section(variant_policy_settings(manifest), colors, badges, manifest),
        Html('<h2 id="results">Results</h2>'),
        tag(
            "p",
            "Whole fleet, per run"
            + (
                f" (mean ± half-width of the {note}; hover for the interval; ± ?: too few "
                "replications with a value for an interval)"
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
        tag("h3", "By management set-up"),
        results_table(
            by_management(data.metrics, variants),
            management_metrics,
            colors,
            {},
            note,
            with_segment=True,
        ),
        tag("h3", "Paired differences against the baseline"),
        paired_section(data.kind, data.paired, data.manifest, colors, badges),
        Html('<h2 id="figures">Figures</h2>'),
        _figures(data, colors),
        Html('<h2 id="assumptions">Assumptions in force</h2>'),
        assumptions_section(manifest),
        Html('<h2 id="provenance">Provenance</h2>'),
        _provenance(manifest),
    ]
    return page(f"condlaunch report — {name}", join(sections, "\n"))


def write_report(folder: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of a run or sweep folder as one self-contained HTML file.

    Parameters
    ----------
    folder
        A folder written by ``condlaunch run`` or ``condlaunch sweep``.
    out
        The HTML file to write (its folder is created if missing); default
        ``folder/report.html``. Written atomically: a temporary file in the same folder,
        renamed over ``out`` once complete.

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
    text = render_report(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror}", source=target) from None
    return target
