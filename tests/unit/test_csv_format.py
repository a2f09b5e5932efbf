"""CSV files that other tools read right: integer counts, stated precision, "never" empty,
no packed lists."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.folders import CSV_DECIMALS, csv_ready, device_apps


def test_counts_are_integers_floats_rounded_and_never_is_an_empty_cell() -> None:
    """Whole-number float columns (counts that went through NaN) are written as integers
    with empty cells for missing; other floats are rounded to CSV_DECIMALS; inf ("never")
    becomes an empty cell, not the text inf."""
    frame = pd.DataFrame(
        {
            "wipes": [3.0, np.nan, 12.0],
            "minutes": [1.23456789, 2.0, 3.5],
            "detected_min": [10.0, np.inf, 12.25],
            "name": ["a", "b", "c"],
        }
    )
    text = csv_ready(frame).to_csv(index=False)
    lines = text.splitlines()
    assert lines[1].startswith("3,1.235,10.0,a") or lines[1].startswith("3,1.235,10,a")
    assert lines[2].split(",")[0] == "" and lines[2].split(",")[2] == ""
    assert "inf" not in text
    assert round(1.23456789, CSV_DECIMALS) == 1.235
    back = pd.read_csv(pd.io.common.StringIO(text))
    assert back["wipes"].dtype.kind in "if" and math.isnan(back["wipes"][1])


def test_device_apps_are_one_row_per_app_not_a_packed_cell() -> None:
    """devices.csv loses its comma-packed apps column; device_apps.csv has one row per
    variant × device × app, and a device without apps has none."""
    devices = pd.DataFrame(
        {
            "variant": ["V", "V"],
            "device_index": [0, 1],
            "device": ["d0", "d1"],
            "apps": ["outlook,teams", ""],
        }
    )
    without, apps = device_apps(devices)
    assert "apps" not in without.columns
    assert apps.to_dict("records") == [
        {"variant": "V", "device_index": 0, "device": "d0", "app": "outlook"},
        {"variant": "V", "device_index": 0, "device": "d0", "app": "teams"},
    ]
