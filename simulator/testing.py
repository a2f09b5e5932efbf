"""pytest helpers: pin policy semantics with case tables, one test per row.

A policy engineer writes the decisions they expect in a case table (CSV or TOML; columns in
:mod:`simulator.policy.tables`) and lets pytest run every row as its own test::

    # tests/test_level3_policy.py
    from pathlib import Path

    import pytest

    from simulator.testing import assert_case, case_table_params

    HERE = Path(__file__).parent


    @pytest.mark.parametrize(
        "case", case_table_params(HERE / "level3-cases.csv", policies=HERE / "level3.toml")
    )
    def test_level3_policy(case):
        assert_case(case)

Each test is named after the row (its ``name`` column, or ``row-7`` for line 7 of a CSV,
``cases-2`` for the third ``[[cases]]`` of a TOML file), so ``pytest -k jailbroken`` selects
rows by name. A failing row reads::

    AssertionError: row 7 "jailbroken mam_we": expected wipe/threat_level_exceeded, got
    block/threat_level_exceeded — blocked — app knew high > max allowed secured; action block
        context: outlook · mam_we (unmanaged) · groups (none) · Defender activated · …

``policies`` may be omitted for a TOML case table that lists ``policy_files``; when given
it replaces them. Relative paths are resolved against the current directory, hence the
``Path(__file__).parent`` above. A case table that cannot be read fails at collection with
an :class:`~simulator.errors.InputError` naming the file, row and column.

This module imports pytest only when :func:`case_table_params` is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.policy.behavior import Behavior
from simulator.policy.decide import Policy
from simulator.policy.tables import Case, CaseResult, case_policies, check_case, load_cases

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

PolicySource = str | Path | Policy
"""A policy file, or a policy object."""


@dataclass(frozen=True, slots=True)
class BoundCase:
    """A case with the policies and behaviour it is checked against (one pytest param)."""

    case: Case
    policies: tuple[Policy, ...]
    behavior: Behavior

    def check(self) -> CaseResult:
        """Decide the case and compare with its expectation."""
        return check_case(self.policies, self.case, self.behavior)

    def __repr__(self) -> str:
        return f"<case {self.case.label}>"


def bind_cases(
    path: str | Path,
    policies: PolicySource | Sequence[PolicySource] | None = None,
    *,
    behavior: Behavior | None = None,
) -> list[BoundCase]:
    """Load a case table and bind each case to its policies and behaviour.

    Parameters
    ----------
    path
        The case table (``.csv`` or ``.toml``).
    policies
        A policy file, a policy, or a sequence of either. Default: the TOML's
        ``policy_files``.
    behavior
        The behaviour parameters. Default: the TOML's ``[behavior]``, else the defaults.

    Raises
    ------
    InputError
        For an unreadable case table or policy file, or when no policies are given.
    """
    table = load_cases(path)
    if isinstance(policies, str | Path | Policy):
        policies = [policies]
    given = list(policies or [])
    objects = [p for p in given if isinstance(p, Policy)]
    files = [p for p in given if not isinstance(p, Policy)]
    loaded = case_policies(table, files) if files or not objects else []
    bound = (*objects, *loaded)
    in_force = behavior if behavior is not None else table.behavior
    return [BoundCase(case, bound, in_force) for case in table.cases]


def case_table_params(
    path: str | Path,
    policies: PolicySource | Sequence[PolicySource] | None = None,
    *,
    behavior: Behavior | None = None,
) -> list[ParameterSet]:
    """One ``pytest.param`` per case, with the row's name (or ``row-N``) as its id.

    Arguments as for :func:`bind_cases`. Use with ``@pytest.mark.parametrize("case", …)``
    and :func:`assert_case`.
    """
    import pytest

    return [
        pytest.param(bound, id=bound.case.id)
        for bound in bind_cases(path, policies, behavior=behavior)
    ]


def assert_case(case: BoundCase) -> CaseResult:
    """Check one bound case; raise :class:`AssertionError` with the readable diff if it fails.

    Returns the :class:`~simulator.policy.tables.CaseResult` so a test can assert more
    (e.g. on ``result.decision.policies``).
    """
    __tracebackhide__ = True
    result = case.check()
    if not result.passed:
        raise AssertionError(result.diff)
    return result
