"""The notebooks in ``notebooks/``: they run, top to bottom, and are committed clean.

Each notebook is executed with nbclient in its quick mode (``CONDLAUNCH_QUICK=1``: a small
fleet, a short horizon), from the ``notebooks/`` folder, on a headless matplotlib backend,
with every warning turned into an error inside the kernel (as pytest does here). A cell
that raises fails its notebook's test with the cell's source and traceback; the notebooks
also ``assert`` the semantics they demonstrate, so a change in behaviour fails too.

Committed notebooks carry no outputs and no execution counts: results belong to runs,
not to the repository, and a stale output would contradict the code beside it.

The notebooks are examples of the public API, so they use nothing else: every code cell is
parsed (:func:`public_api_violations`) and may import only ``simulator`` and its public
sub-namespaces (:data:`PUBLIC_SUBPACKAGES`), and take from ``simulator`` only names of
``simulator.__all__``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import simulator

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

PUBLIC_SUBPACKAGES = frozenset({"testing", "plots"})
"""Sub-namespaces of ``simulator`` that are public (see ``simulator/__init__.py``)."""

PUBLIC_NAMES = frozenset(simulator.__all__) | PUBLIC_SUBPACKAGES
"""What a notebook may take from ``simulator`` by ``from simulator import …`` or ``.``."""


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


def _is_public_module(name: str) -> bool:
    """``simulator`` itself or one of its public sub-namespaces (not their insides)."""
    parts = name.split(".")
    if parts[0] != "simulator":
        return True  # another library: not ours to police
    return len(parts) == 1 or (len(parts) == 2 and parts[1] in PUBLIC_SUBPACKAGES)


def _cell_violations(tree: ast.AST, aliases: set[str]) -> list[str]:
    """What one parsed cell uses beyond the public API; ``aliases`` (names bound to the
    ``simulator`` module) is updated, since a later cell uses an earlier cell's import."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_public_module(alias.name):
                    found.append(f"import {alias.name}")
                if alias.name.split(".")[0] == "simulator":
                    bound = alias.asname or "simulator"
                    if alias.asname is None or alias.name == "simulator":
                        aliases.add(bound)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not _is_public_module(node.module):
                found.append(f"from {node.module} import …")
            elif node.module == "simulator":
                found += [
                    f"from simulator import {a.name}"
                    for a in node.names
                    if a.name not in PUBLIC_NAMES
                ]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in PUBLIC_NAMES
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def public_api_violations(notebook: nbformat.NotebookNode) -> list[str]:
    """Every use of a non-public ``simulator`` name in a notebook's code cells, as
    ``"cell <index>: <use>"`` (index into ``notebook.cells``). IPython magics are turned
    into Python first, as the kernel does."""
    transform = TransformerManager().transform_cell
    aliases: set[str] = set()
    found: list[str] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(transform(cell.source), filename=f"cell {index}")
        found += [f"cell {index}: {use}" for use in _cell_violations(tree, aliases)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_uses_only_the_public_api(path: Path) -> None:
    """No internal module, no name outside ``simulator.__all__`` (or a public namespace)."""
    violations = public_api_violations(nbformat.read(path, as_version=4))
    assert not violations, f"{path.name} uses internals:\n" + "\n".join(violations)


def _notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# a title")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from simulator.sim.run import simulate", "cell 1: from simulator.sim.run import …"),
        ("import simulator.sim.run", "cell 1: import simulator.sim.run"),
        ("import simulator.plots.run as run", "cell 1: import simulator.plots.run"),
        ("from simulator import folders", "cell 1: from simulator import folders"),
        ("import simulator\nsimulator.sim.run.simulate", "cell 1: simulator.sim"),
        ("import simulator as s\ns._validation", "cell 1: s._validation"),
    ],
)
def test_the_public_api_check_flags_internals(source: str, expected: str) -> None:
    """The check can fail: each internal use is reported with its cell's index."""
    assert public_api_violations(_notebook(source)) == [expected]


def test_the_public_api_check_passes_public_uses_across_cells() -> None:
    """Public names, public namespaces and magics pass; an alias carries to later cells."""
    notebook = _notebook(
        "%matplotlib inline\nimport simulator\nfrom simulator import plots, simulate",
        "from simulator.testing import assert_case\nimport simulator.plots",
        "simulator.plots.frontier\nsimulator.ThreatLevel.LOW\nsimulator.testing",
        "simulator.internal_thing",
    )
    assert public_api_violations(notebook) == ["cell 4: simulator.internal_thing"]
