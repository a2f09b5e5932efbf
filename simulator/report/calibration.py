"""The calibration page: every fitted field, its evidence, and each fit drawn on the data.

``condlaunch calibrate`` writes a folder (atomically, like a run folder) with
``report.html`` (self-contained: figures embedded), the same figures as PNGs, and a
``manifest.json`` naming the inputs, their hashes and what was read and ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.folders import staged_output, write_json
from simulator.plots import calibration as plots
from simulator.plots.run import save_figure
from simulator.report.html import Html, figure_html, join, page, table, tag
from simulator.scenario.load import Scenario
from simulator.scenario.models import Dist
from simulator.sim.run import FORMAT_VERSION, versions
from simulator.tenant.calibrate import Calibration, Fit, duration_text
from simulator.tenant.inventory import Tenant

FIGURES = (
    ("detection_delay.png", plots.delay_fits, "Detection delay: empirical vs fitted"),
    ("duration.png", plots.duration_fits, "Alert duration: Kaplan–Meier vs fitted"),
    ("launch_profile.png", plots.launch_profile, "Sessions by hour and day vs fitted profile"),
    ("fleet_mix.png", plots.fleet_mix, "Apps per device; severity mix"),
)


def _value(value: Any) -> str:
    if isinstance(value, Dist):
        if value.dist == "lognormal":
            return (
                f"lognormal, median {duration_text(float(value.median or 0))}, "
                f"p90 {duration_text(float(value.p90 or 0))}"
            )
        if value.dist == "fixed":
            return f"fixed {duration_text(float(value.value or 0))}"
        return value.dist
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" for k, v in value.items() if v)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _rows(calibration: Calibration) -> list[tuple[str, Fit]]:
    rows = [(fit.field, fit) for fit in calibration.fits]
    for entry in calibration.apps:
        rows += [
            (f"apps.{entry['name']}.{k}", entry[k])
            for k in ("share", "sessions_per_day", "session_length")
        ]
    for entry in calibration.threats:
        label = entry.get("label", entry["kind"])
        for key in ("rate_per_device_year", "severity", "detection_delay", "natural_duration"):
            if key in entry:
                rows.append((f"threats.{label}.{key}", entry[key]))
    return rows


def _fits_table(calibration: Calibration) -> Html:
    body = []
    for name, fit in _rows(calibration):
        interval = "–"
        if fit.interval is not None:
            lo, hi = fit.interval
            interval = f"{lo:.3g} – {hi:.3g}"
        shown = duration_text(fit.value) if name == "horizon" else _value(fit.value)
        if fit.interval_text:
            interval = fit.interval_text
        body.append(
            [
                name,
                shown,
                "fitted" if fit.fitted else "default kept",
                "–" if fit.n is None else f"{fit.n:,}",
                interval,
                fit.source if fit.fitted else fit.note,
                fit.note if fit.fitted else "",
            ]
        )
    return table(
        ["field", "value", "status", "n", "95% interval", "source", "note"], body, numeric_from=None
    )


def calibration_html(calibration: Calibration, tenant: Tenant, scenario: Scenario) -> Html:
    """The page (figures embedded)."""
    read = [tag("li", line) for line in tenant.stats.lines()]
    kinds = calibration.alert_kinds
    mapped = [
        tag("li", f"{kind}: {count:,} alert episodes") for kind, count in sorted(kinds.items())
    ]
    parts = [
        tag("h1", "Calibration from tenant exports"),
        tag(
            "p",
            f"Scenario {scenario.name!r}: {len(tenant.devices):,} iOS devices, "
            f"{len(tenant.users()):,} users, window {duration_text(tenant.horizon)}. "
            "Each fitted field is drawn against its data below; fields the exports cannot "
            "identify keep their defaults and say so.",
        ),
        tag("h2", "What was read"),
        Html("<ul>" + join(read) + "</ul>"),
        tag("h2", "Alerts per threat kind (alert → kind table)"),
        Html("<ul>" + join(mapped or [tag("li", "no alerts")]) + "</ul>"),
        tag("h2", "Fitted fields"),
        _fits_table(calibration),
        *[tag("p", f"note: {n}") for n in [*calibration.notes, *tenant.notes]],
    ]
    for _name, draw, caption in FIGURES:
        parts.append(tag("h2", caption))
        parts.append(figure_html(draw(calibration), caption, caption))
    return page("condlaunch calibration", join(parts, "\n"))


def write_calibration_page(
    calibration: Calibration, tenant: Tenant, scenario: Scenario, folder: str | Path
) -> list[str]:
    """Write the page folder atomically; returns the names written."""
    written = ["manifest.json", "report.html"]
    with staged_output(folder, inputs=tenant.exports.all_files()) as staging:
        write_json(
            {
                "format_version": FORMAT_VERSION,
                "scenario_name": scenario.name,
                "kind": "calibration",
                "scenario_file": str(scenario.source) if scenario.source else None,
                "versions": versions(),
                "input_sha256": tenant.stats.sha256,
                "exports": tenant.stats.record(),
            },
            staging / "manifest.json",
        )
        (staging / "report.html").write_text(
            calibration_html(calibration, tenant, scenario), encoding="utf-8"
        )
        for name, draw, _caption in FIGURES:
            save_figure(draw(calibration), staging / name)
            written.append(name)
    return written


__all__ = ["calibration_html", "write_calibration_page"]
