"""The compiled engine's decision tables agree with the pure decision function.

:func:`simulator.sim.engine.compiled.decision_table` calls
:func:`~simulator.policy.decide_effective` once per discrete state (Defender state, known
level, connector, checked in, SDK jailbreak, re-authentication, offline bucket) of a merged
policy; the kernel then looks decisions up by :func:`~simulator.sim.engine._kernel.table_index`
instead of calling the function. That is only right if the decision depends on offline
minutes solely through ``offline > 0`` and the comparisons with the policy's block and wipe
periods, and on the known level's age not at all: these properties check it on any policy,
context and behaviour, exact offline minutes included.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.policy.behavior import Behavior
from simulator.policy.decide import EvaluationContext, Policy, decide_effective, effective_policy
from simulator.policy.levels import ConnectorState, DefenderState, Outcome, Reason, Reauth
from simulator.sim.engine import _kernel as k
from simulator.sim.engine.compiled import decision_table
from tests.property.strategies import decide_inputs, offline_minutes

Inputs = tuple[list[Policy], EvaluationContext, Behavior]


def _bucket(offline: float, block_after: float, wipe_after: float) -> int:
    if offline == 0.0:
        return 0
    return 1 + (1 if offline >= block_after else 0) + (2 if offline >= wipe_after else 0)


@given(decide_inputs(), offline_minutes(), st.sampled_from(list(Reauth)))
def test_table_entry_is_the_decision(inputs: Inputs, offline: float, reauth: Reauth) -> None:
    """For any policies, context (offline minutes exact) and behaviour, the table entry at
    the context's index is the (outcome, reason) that ``decide_effective`` returns."""
    policies, context, behavior = inputs
    context = context._replace(offline_min=offline, reauth=reauth)
    eff = effective_policy(policies, context, behavior.multi_policy_merge)
    decision = decide_effective(eff, context, behavior)
    block = eff.offline_block_after if eff is not None else float("inf")
    wipe = eff.offline_wipe_after if eff is not None else float("inf")
    index = k.table_index(
        list(DefenderState).index(context.defender),
        int(context.known_level),
        list(ConnectorState).index(context.connector),
        1 if context.checked_in else 0,
        1 if context.jailbroken else 0,
        list(Reauth).index(context.reauth),
        _bucket(context.offline_min, block, wipe),
    )
    entry = int(decision_table(eff, behavior)[index])
    assert entry >= 0, "a reachable state was marked unreachable"
    outcome, reason = divmod(entry, k.REASONS)
    assert (list(Outcome)[outcome], list(Reason)[reason]) == (decision.outcome, decision.reason)


@given(decide_inputs(), st.floats(min_value=0.0, max_value=1e7, allow_nan=False))
def test_age_never_changes_the_decision(inputs: Inputs, age: float) -> None:
    """The known level's age enters the explanation only: outcome and reason are the same
    at any age (so the table need not be indexed by it)."""
    policies, context, behavior = inputs
    if not context.checked_in:
        return
    eff = effective_policy(policies, context, behavior.multi_policy_merge)
    a = decide_effective(eff, context._replace(known_level_age_min=age), behavior)
    b = decide_effective(eff, context._replace(known_level_age_min=0.0), behavior)
    assert (a.outcome, a.reason) == (b.outcome, b.reason)
