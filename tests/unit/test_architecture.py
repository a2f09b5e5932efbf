"""Architecture rules of STYLE.md and docs/architecture.md, checked by reading the source.

Every ``simulator/**/*.py`` file is found by globbing, so a module added later is checked
without editing this file. The rules:

* **Layers.** The subpackages are ranked (:data:`LAYERS`: policy → scenario → sim →
  analysis → folders → plots → report → cli); a module never imports one of a higher rank.
  The decision semantics (``policy.levels``/``behavior``/``decide``) import nothing from
  the package but ``durations`` and ``errors``; every module has a layer; at most eight
  modules sit at the top of ``simulator/``; the fast path never loads SimPy.
* **No presentation in the core.** Every module outside plots, report and cli
  (:data:`PRESENTATION`) never imports matplotlib, argparse, or a presentation module.
* **Pure core.** ``sim``, ``analysis`` and the decision semantics use neither pydantic nor
  files (:data:`SIMULATION_CORE`).
* **No global random state.** No ``random`` module, no ``*.seed(...)`` call, and from
  ``numpy.random`` only ``default_rng``, ``Generator``, ``SeedSequence`` and bit generators.
* **Data, never code.** No ``eval``/``exec``/``__import__``, no pickle (or its cousins).
* **A curated API.** ``simulator/__init__.py`` has a literal ``__all__`` whose names all
  exist; no module uses star imports.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGE_DIR: Final = ROOT / "simulator"

LAYERS: Final = {
    # rank: a module may import modules of its own rank or lower, never higher. The
    # longest prefix names the rank: ``simulator.sim.engine.fast`` has the rank of
    # ``simulator.sim.engine``.
    "simulator.durations": 0,
    "simulator.errors": 0,
    "simulator._validation": 1,
    "simulator._text": 0,
    "simulator.policy.levels": 2,
    "simulator.policy.behavior": 3,
    "simulator.policy.decide": 4,
    "simulator.policy.reuse": 4,
    "simulator.policy": 5,  # files, graph, tables: the file side of policies
    "simulator.scenario": 6,
    "simulator.sim.world": 7,
    "simulator.sim.log": 7,
    "simulator.sim._sessions": 7,
    "simulator.sim._streams": 7,
    "simulator.sim.engine": 8,
    "simulator.sim.run": 9,
    "simulator.sim": 9,
    "simulator.analysis.stats": 10,
    "simulator.analysis": 11,
    "simulator.folders": 12,
    "simulator.testing": 12,
    "simulator.tenant": 12,  # Graph exports → calibrated scenario, replayed world (file side)
    "simulator.plots": 13,
    "simulator.report": 14,
    "simulator.cli": 15,
    "simulator.__main__": 15,
}
"""Layer rank of every part of the package, by longest module-name prefix (see :func:`_rank`).

The subpackages are the layers of ``docs/architecture.md``: policy → scenario → sim →
analysis → folders → plots → report → cli. A module without a rank (none today) would
fail :func:`test_every_module_has_a_layer`.
"""

PRESENTATION: Final = ("simulator.plots", "simulator.report", "simulator.cli", "simulator.__main__")
"""Parts allowed to import matplotlib / argparse and each other."""

FORBIDDEN_LIBRARIES: Final = ("matplotlib", "argparse")


SIMULATION_CORE: Final = (
    "simulator.policy.levels",
    "simulator.policy.behavior",
    "simulator.policy.decide",
    "simulator.policy.reuse",
    "simulator.durations",
    "simulator.sim",
    "simulator.analysis",
)
"""The pure core: no pydantic (that is the file boundary) and no file I/O. Files are read
by ``policy.files``, ``policy.tables``, ``scenario`` and written by ``folders``."""

PURE_POLICY: Final = (
    "simulator.policy.levels",
    "simulator.policy.behavior",
    "simulator.policy.decide",
    "simulator.policy.reuse",
)
"""The decision semantics: standard library plus durations/errors and each other only."""

NUMPY_RANDOM_ALLOWED: Final = frozenset(
    {
        "default_rng",
        "Generator",
        "SeedSequence",
        "BitGenerator",
        "PCG64",
        "PCG64DXSM",
        "Philox",
        "SFC64",
    }
)
PICKLE_MODULES: Final = ("pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "marshal")
FILE_IO_METHODS: Final = frozenset(
    {
        "open",
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "to_csv",
        "to_parquet",
        "to_json",
        "to_pickle",
        "savefig",
        "mkdir",
        "unlink",
    }
)


@dataclass(frozen=True)
class Module:
    """One source file of the package, parsed."""

    name: str
    path: Path
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> tuple[Module, ...]:
    paths = sorted(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    return tuple(
        Module(_module_name(p), p, ast.parse(p.read_text(encoding="utf-8"), filename=str(p)))
        for p in paths
    )


MODULES: Final = _modules()
IDS: Final = [m.name for m in MODULES]


def _imports(module: Module) -> list[tuple[str, ast.AST]]:
    """Every module name imported anywhere in the file (top level or inside functions).

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule); relative
    imports are resolved against the module's package.
    """
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.append((source, node))
            found += [(f"{source}.{alias.name}", node) for alias in node.names if alias.name != "*"]
    return found


def _is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rank(name: str) -> int | None:
    """The layer of a ``simulator`` module name (longest matching prefix), else None."""
    best: tuple[int, int] | None = None
    for prefix, rank in LAYERS.items():
        if _is_within(name, prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), rank)
    return None if best is None else best[1]


def _is_presentation(name: str) -> bool:
    return any(_is_within(name, p) for p in PRESENTATION)


def _is_core(module: Module) -> bool:
    return not _is_presentation(module.name)


CORE: Final = [m for m in MODULES if _is_core(m)]
RANKED: Final = [m for m in MODULES if _rank(m.name) is not None]


def test_every_module_has_a_layer() -> None:
    """Every module but the package root belongs to a layer of :data:`LAYERS`."""
    unranked = [m.name for m in MODULES if m.name != "simulator" and _rank(m.name) is None]
    assert not unranked, unranked


def test_at_most_eight_modules_at_the_top() -> None:
    """The tree shows the architecture: few modules beside the subpackages."""
    top = sorted(p.name for p in PACKAGE_DIR.glob("*.py"))
    assert len(top) <= 8, top


def test_the_fast_path_never_imports_simpy() -> None:
    """Running with the fast engine never loads SimPy (the reference engine's library)."""
    code = (
        "import sys\n"
        "import simulator.sim.engine.fast, simulator.sim.run, simulator.analysis.sweep\n"
        "assert 'simpy' not in sys.modules, 'simpy imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_package_is_found() -> None:
    """The glob sees the package and the modules every other rule relies on."""
    names = {m.name for m in MODULES}
    assert {"simulator", "simulator.policy.decide", "simulator.sim.engine.fast"} <= names


@pytest.mark.parametrize("module", CORE, ids=[m.name for m in CORE])
def test_core_never_imports_presentation(module: Module) -> None:
    """Core modules import no matplotlib, argparse, cli, plots or report (directly)."""
    bad = [
        f"{module.where(node)} imports {name}"
        for name, node in _imports(module)
        if any(_is_within(name, lib) for lib in FORBIDDEN_LIBRARIES) or _is_presentation(name)
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", RANKED, ids=[m.name for m in RANKED])
def test_dependencies_point_one_way(module: Module) -> None:
    """A ranked module never imports a module of a higher layer (see LAYERS)."""
    own = _rank(module.name)
    assert own is not None
    bad = []
    for name, node in _imports(module):
        other = _rank(name)
        if other is not None and other > own:
            bad.append(f"{module.where(node)}: layer {own} imports {name} (layer {other})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", PURE_POLICY)
def test_policy_depends_only_on_the_standard_library_durations_and_errors(name: str) -> None:
    """The decision semantics are pure: stdlib plus durations / errors / each other only."""
    [policy] = [m for m in MODULES if m.name == name]
    allowed = ("simulator.durations", "simulator.errors", *PURE_POLICY)
    bad = []
    for imported, node in _imports(policy):
        top = imported.partition(".")[0]
        if top == "simulator":
            if imported == "simulator" or not any(_is_within(imported, a) for a in allowed):
                bad.append(f"{policy.where(node)} imports {imported}")
        elif top not in sys.stdlib_module_names and top != "__future__":
            bad.append(f"{policy.where(node)} imports third-party {imported}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if any(_is_within(m.name, c) for c in SIMULATION_CORE)],
    ids=lambda m: m.name,
)
def test_simulation_core_has_no_pydantic_and_no_file_io(module: Module) -> None:
    """policy, durations, world and engine use neither pydantic nor files (STYLE.md)."""
    bad = [
        f"{module.where(node)} imports {name}"
        for name, node in _imports(module)
        if _is_within(name, "pydantic") or _is_within(name, "tomllib")
    ]
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            bad.append(f"{module.where(node)} calls open()")
        elif isinstance(func, ast.Attribute) and func.attr in FILE_IO_METHODS:
            bad.append(f"{module.where(node)} calls .{func.attr}()")
    assert not bad, "\n".join(bad)


def _aliases(module: Module) -> tuple[set[str], set[str]]:
    """Names bound to the numpy module and to the numpy.random module."""
    numpy_names: set[str] = set()
    random_names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "numpy":
                    numpy_names.add(alias.asname or "numpy")
                elif alias.name == "numpy.random":
                    if alias.asname:
                        random_names.add(alias.asname)
                    else:
                        numpy_names.add("numpy")
        elif isinstance(node, ast.ImportFrom) and node.module == "numpy":
            random_names |= {a.asname or a.name for a in node.names if a.name == "random"}
    return numpy_names, random_names


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_no_global_random_state(module: Module) -> None:
    """No stdlib ``random``, no ``.seed()``, no legacy ``numpy.random`` global functions."""
    bad = [
        f"{module.where(node)} imports {name}"
        for name, node in _imports(module)
        if _is_within(name, "random")
    ]
    numpy_names, random_names = _aliases(module)
    bad += [
        f"{module.where(node)} imports numpy.random.{alias.name}"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ImportFrom) and node.module == "numpy.random"
        for alias in node.names
        if alias.name not in NUMPY_RANDOM_ALLOWED
    ]
    for node in ast.walk(module.tree):
        is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if is_call and node.func.attr == "seed":
            bad.append(f"{module.where(node)} calls .seed()")
        if not isinstance(node, ast.Attribute):
            continue
        value = node.value
        via_numpy = (
            isinstance(value, ast.Attribute)
            and value.attr == "random"
            and isinstance(value.value, ast.Name)
            and value.value.id in numpy_names
        )
        via_alias = isinstance(value, ast.Name) and value.id in random_names
        if (via_numpy or via_alias) and node.attr not in NUMPY_RANDOM_ALLOWED:
            bad.append(f"{module.where(node)} uses numpy.random.{node.attr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_no_code_execution_or_pickle(module: Module) -> None:
    """Data, never code: no eval/exec/__import__, no pickle-family modules or methods."""
    bad = [
        f"{module.where(node)} imports {name}"
        for name, node in _imports(module)
        if any(_is_within(name, p) for p in PICKLE_MODULES)
    ]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__"):
                bad.append(f"{module.where(node)} calls {func.id}()")
            for keyword in node.keywords:
                if (
                    keyword.arg == "allow_pickle"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is True
                ):
                    bad.append(f"{module.where(node)} passes allow_pickle=True")
        if isinstance(node, ast.Attribute) and node.attr in ("read_pickle", "to_pickle"):
            bad.append(f"{module.where(node)} uses .{node.attr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_no_star_imports(module: Module) -> None:
    """``from x import *`` hides where names come from (STYLE.md: curated API)."""
    bad = [
        module.where(node)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
    ]
    assert not bad, bad


def _root() -> Module:
    [root] = [m for m in MODULES if m.name == "simulator"]
    return root


def test_package_root_defines_a_literal_all() -> None:
    """``simulator/__init__.py`` assigns ``__all__`` a literal list of unique strings."""
    assignments = [
        node
        for node in _root().tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert len(assignments) == 1, "define __all__ exactly once"
    value = ast.literal_eval(assignments[0].value)
    assert isinstance(value, list | tuple)
    assert all(isinstance(name, str) for name in value)
    assert len(set(value)) == len(value), "duplicate names in __all__"


def test_every_name_in_all_exists_and_no_plotting_at_the_root() -> None:
    """Every public name resolves, and ``import simulator`` loads no plotting or argparse.

    Run in a fresh interpreter so other tests' imports do not hide a heavy import.
    """
    code = (
        "import sys, simulator\n"
        "missing = [n for n in simulator.__all__ if not hasattr(simulator, n)]\n"
        "assert not missing, missing\n"
        "heavy = sorted(m for m in ('matplotlib', 'argparse', 'simulator.plots.run',"
        " 'simulator.report.page', 'simulator.cli.main') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_core_modules_do_not_load_matplotlib_transitively() -> None:
    """Importing every core module in a fresh interpreter never loads matplotlib."""
    names = [m.name for m in CORE if m.name != "simulator.__main__"]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'matplotlib' not in sys.modules, name\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


MAX_FUNCTION_LINES: Final = 120


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_functions_fit_in_a_readers_head(module: Module) -> None:
    """No function or method is longer than 120 lines (split it into named steps)."""
    long = [
        f"{module.where(node)} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)
