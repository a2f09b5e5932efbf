"""Point labels that overlap nothing: variant names placed next to their markers.

:func:`coincident_points` groups variants drawn on the same spot, so that they share one
label; :func:`place_labels` puts each label beside its point, greedily choosing, from a
ring of offsets around it, the one that overlaps no other label, no marker and as little
of the error bars as possible (a leader line when it had to move further out). Call it
after the figure's layout has run (``fig.draw_without_rendering()``): placement works in
display space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.offsetbox import AnnotationBbox, TextArea, VPacker
from matplotlib.transforms import Bbox

from simulator.plots.run import Color

__all__ = ["Point", "Segment", "coincident_points", "place_labels"]

Segment = tuple[float, float, float, float]
"""A line segment in data space: x0, y0, x1, y1 (an error bar, for placement)."""


class Point(NamedTuple):
    """A point to label, with the variants drawn on it (several when they coincide)."""

    x: float
    y: float
    members: list[tuple[str, Color]]


def coincident_points(
    x: np.ndarray, y: np.ndarray, variants: Sequence[str], palette: Mapping[str, Color]
) -> list[Point]:
    """Group variants whose points are equal (to 1e-9 relative) so they share a label."""
    points: list[Point] = []
    for i, variant in enumerate(variants):
        if not (math.isfinite(x[i]) and math.isfinite(y[i])):
            continue
        for point in points:
            if math.isclose(point.x, x[i], rel_tol=1e-9, abs_tol=1e-12) and math.isclose(
                point.y, y[i], rel_tol=1e-9, abs_tol=1e-12
            ):
                point.members.append((variant, palette[variant]))
                break
        else:
            points.append(Point(float(x[i]), float(y[i]), [(variant, palette[variant])]))
    return points


# Label offsets from the point (points: right/up positive), best first; the far ring gets
# a leader line.
_NEAR: Final = ((7, 5), (7, -5), (-7, 5), (-7, -5), (0, 9), (0, -9), (9, 0), (-9, 0))
_RINGS: Final = (1.0, 2.6, 4.5)


def place_labels(ax: Axes, points: Sequence[Point], segments: Sequence[Segment]) -> None:
    """Label each point next to it, greedily choosing offsets that overlap nothing.

    Candidates ring the point, near first, then further out with a leader line. A
    candidate's cost is its overlap with labels already placed and with markers (heavy),
    with error bars (``segments``: x0, y0, x1, y1 in data space; light, as labels have a
    translucent background), any part outside the axes, and a penalty per ring out; the
    cheapest wins (ties: the first tried). Call after the layout has run.
    """
    fig = ax.get_figure()
    assert fig is not None
    scale = fig.dpi / 72.0
    half = 6.0 * scale
    to_display = ax.transData.transform
    anchors = [to_display((p.x, p.y)) for p in points]
    obstacles = [
        (Bbox.from_bounds(px - half, py - half, 2 * half, 2 * half), _HARD) for px, py in anchors
    ]
    for x0, y0, x1, y1 in segments:
        (a, b), (c, d) = to_display((x0, y0)), to_display((x1, y1))
        bar = Bbox([[min(a, c) - 1, min(b, d) - 1], [max(a, c) + 1, max(b, d) + 1]])
        obstacles.append((bar, _SOFT))
    frame = ax.get_window_extent()
    order = sorted(range(len(points)), key=lambda i: (points[i].x, points[i].y))
    for i in order:
        point, (px, py) = points[i], anchors[i]
        probe = _label_box(point, 0.0, 0.0, leader=False)
        ax.add_artist(probe)
        width, height = probe.get_window_extent().size
        probe.remove()
        best: tuple[float, float, float, float, Bbox] | None = None
        for ring in _RINGS:
            for dx, dy in _NEAR:
                ox, oy = dx * ring, dy * ring
                box = Bbox.from_bounds(
                    px + ox * scale - _alignment(ox) * width,
                    py + oy * scale - _alignment(oy) * height,
                    width,
                    height,
                )
                cost = sum(weight * _overlap(box, other) for other, weight in obstacles)
                cost += _HARD * (width * height - _overlap(box, frame))
                cost += _RING_PENALTY * (ring - 1.0) * width * height
                if best is None or cost < best[0]:
                    best = (cost, ox, oy, ring, box)
        assert best is not None
        _, ox, oy, ring, box = best
        ax.add_artist(_label_box(point, ox, oy, leader=ring > 1.0))
        obstacles.append((box, _HARD))


_HARD: Final = 10.0
"""Cost weight of overlapping a label or marker, or leaving the axes (per pixel²)."""
_SOFT: Final = 0.25
"""Cost weight of a label lying over an error bar (per pixel²)."""
_RING_PENALTY: Final = 0.15
"""Cost of moving a label one ring further out, as a share of its area."""


def _alignment(offset: float) -> float:
    """Box alignment for an offset: left/bottom edge at the anchor when positive."""
    return 0.0 if offset > 0 else 1.0 if offset < 0 else 0.5


def _label_box(point: Point, dx: float, dy: float, *, leader: bool) -> AnnotationBbox:
    """The variant names of ``point`` in their colours, offset by (dx, dy) points."""
    lines: list[Artist] = [
        TextArea(name, textprops={"color": color, "fontsize": 8, "fontweight": "bold"})
        for name, color in point.members
    ]
    box = VPacker(children=lines, align="left", pad=0, sep=1)
    label = AnnotationBbox(
        box,
        (point.x, point.y),
        xybox=(dx, dy),
        xycoords="data",
        boxcoords="offset points",
        box_alignment=(_alignment(dx), _alignment(dy)),
        frameon=True,
        pad=0.15,
        bboxprops={"facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.6} if leader else None,
        annotation_clip=False,
        zorder=4,
    )
    label.set_in_layout(False)
    return label


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area of the intersection of two display-space boxes (0 if disjoint)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return float(max(width, 0.0) * max(height, 0.0))
