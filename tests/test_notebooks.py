"""The notebooks in ``notebooks/``: they run, top to bottom, and are committed clean.

Each notebook is executed with nbclient in its quick mode (``CONDLAUNCH_QUICK=1``: a small
fleet, a short horizon), from the ``notebooks/`` folder, on a headless matplotlib backend,
with every warning turned into an error inside the kernel (as pytest does here). A cell
that raises fails its notebook's test with the cell's source and traceback; the notebooks
also ``assert`` the semantics they demonstrate, so a change in behaviour fails too.

Committed notebooks carry no outputs and no execution counts: results belong to runs,
not to the repository, and a stale output would contradict the code beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300
"""Longest any one cell may run, seconds (quick mode needs a few)."""

QUICK_SWITCH = 'QUICK = os.environ.get("CONDLAUNCH_QUICK") == "1"'
"""The line every notebook's first code cell has, so that the suite can shrink it."""

WARNINGS_AS_ERRORS = """\
import warnings

warnings.simplefilter("error")
# ipykernel itself warns, when the kernel shuts down, that its do_shutdown is not a
# coroutine: not the notebook's code, and nothing a notebook can change.
warnings.filterwarnings(
    "ignore", "For consistency across implementations", PendingDeprecationWarning
)
"""
"""Run first in the kernel (not saved): a warning from notebook code fails the cell."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _notebook_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_runs_in_quick_mode(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without an error or a warning in quick mode, from notebooks/."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(WARNINGS_AS_ERRORS))
    monkeypatch.setenv("CONDLAUNCH_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        failure = f"{path.name}: a cell failed\n{_ANSI.sub('', str(error))}"
    if failure is not None:  # outside the except: no chained, colour-coded traceback
        pytest.fail(failure, pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    """A valid nbformat 4 file whose code cells have no outputs and no execution counts."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them "
        "(e.g. `jupyter nbconvert --clear-output --inplace`) before committing"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_has_quick_switch(path: Path) -> None:
    """The first code cell holds the parameters, including the quick-mode switch."""
    notebook = nbformat.read(path, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert QUICK_SWITCH in first.source, (
        f"{path.name}: the first code cell should set `{QUICK_SWITCH}` and size the run by it"
    )
