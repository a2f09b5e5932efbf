"""Fixtures of the issue #12 CLI tests: every test runs with the write guard on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli._support import guarded


@pytest.fixture(autouse=True)
def _writes_stay_in_tmp_path(tmp_path: Path) -> Iterator[None]:
    """In-process condlaunch calls may write only under tmp_path (see _support._Guard)."""
    with guarded(tmp_path):
        yield
